//! The stream as S3 trail files: what a backfill reads (README, Backfill).
//!
//! CloudTrail delivers each account's and region's events in files of a few minutes, named
//! `ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz` by their delivery time, under
//! `AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/` (CLOUDTRAIL.md §5). Written here uncompressed
//! (`.json`): gzip them for the real shape.

use crate::SimEvent;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Minutes of arrivals each file gathers.
const FILE_MINUTES: i64 = 5;

/// Writes `stream` ((arrival time, event), in arrival order, as [`crate::arrivals`] gives it) as
/// trail files under `dir`: one per account, region and five minutes of arrival, named by the end
/// of those minutes (no event is in a file named before it arrived). Returns the files' paths,
/// in delivery order.
pub fn write_trail_files(stream: &[(i64, &SimEvent)], dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: BTreeMap<(i64, String, String), Vec<&str>> = BTreeMap::new();
    for (at, e) in stream {
        let due = (at.div_euclid(FILE_MINUTES * 60) + 1) * FILE_MINUTES * 60;
        let account = field(&e.json, "recipientAccountId").unwrap_or("000000000000");
        let region = field(&e.json, "awsRegion").unwrap_or("us-east-1");
        files
            .entry((due, account.to_owned(), region.to_owned()))
            .or_default()
            .push(&e.json);
    }
    let mut paths = Vec::with_capacity(files.len());
    for (n, ((due, account, region), records)) in files.into_iter().enumerate() {
        let t = crate::ids::iso(due); // 2024-05-01T00:05:00Z
        let (date, time) = (&t[..10], &t[11..16]);
        let folder = dir
            .join("AWSLogs")
            .join(&account)
            .join("CloudTrail")
            .join(&region)
            .join(date.replace('-', "/"));
        std::fs::create_dir_all(&folder)?;
        let name = format!(
            "{account}_CloudTrail_{region}_{}T{}Z_sim{n:08}.json",
            date.replace('-', ""),
            time.replace(':', "")
        );
        let path = folder.join(name);
        let mut out = io::BufWriter::new(std::fs::File::create(&path)?);
        out.write_all(b"{\"Records\":[")?;
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(r.as_bytes())?;
        }
        // As CloudTrail writes them: one line, ended.
        out.write_all(b"]}\n")?;
        out.flush()?;
        paths.push(path);
    }
    Ok(paths)
}

/// A top-level string field of a record this crate wrote.
fn field<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":\"");
    let at = json.find(&key)? + key.len();
    let len = json[at..].find('"')?;
    Some(&json[at..at + len])
}
