//! The order FILE arguments are read in: S3 trail files by the delivery time in their names.
//!
//! CloudTrail names each file it delivers to S3
//! `ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz` (CLOUDTRAIL.md §5). A shell glob
//! or `find` lists them by account, then region, then time (or in directory order): read so, a
//! later region's or account's files come before an earlier one's, the hold window's event-time
//! watermark runs hours ahead, and calls read before their creator go out unlinked. So trail
//! files are read by the time in their names, whatever order they were given in.
//!
//! Only trail files move. Any other FILE, and `-`, keeps its place in the list, and the trail
//! files fill the places trail files had, in delivery order: `extra.ndjson` named first is still
//! read first, and nothing is read out of an order the user could not have meant otherwise.

use super::Source;
use std::cmp::Ordering;
use std::ffi::OsStr;
use std::path::Path;

/// The parts of a trail file's name that order it: its delivery time, `YYYYMMDDTHHMM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delivery<'a> {
    pub time: &'a str,
}

/// The delivery time in `path`'s file name, if it is named as CloudTrail names the files it
/// delivers to S3 (plain `.json` too, as after `gunzip`). Digest and Insights files
/// (`CloudTrail-Digest`, `CloudTrail-Insight`) are not trail files.
pub fn delivery(path: &Path) -> Option<Delivery<'_>> {
    let name = path.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".json.gz")
        .or_else(|| name.strip_suffix(".json"))?;
    let mut parts = stem.splitn(5, '_');
    let (account, kind, region, time, unique) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let t = time.as_bytes();
    let ok = account.len() == 12
        && digits(account.as_bytes())
        && kind == "CloudTrail"
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && t.len() == 14
        && digits(&t[..8])
        && t[8] == b'T'
        && digits(&t[9..13])
        && t[13] == b'Z'
        && !unique.is_empty()
        && unique.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| Delivery { time: &time[..13] })
}

/// Puts the trail files among `sources` in delivery order (ties: by file name, then by path, so
/// the result is the same whatever order they came in), in the places trail files had. Returns
/// how many trail files there are if that changed their order, else 0.
pub fn delivery_order(sources: &mut [Source]) -> usize {
    fn key(s: &Source) -> Option<(Delivery<'_>, Option<&OsStr>, &OsStr)> {
        match s {
            Source::File(p) => delivery(p).map(|d| (d, p.file_name(), p.as_os_str())),
            _ => None,
        }
    }
    let places: Vec<usize> = (0..sources.len())
        .filter(|&i| key(&sources[i]).is_some())
        .collect();
    let mut trail: Vec<Source> = places.iter().map(|&i| sources[i].clone()).collect();
    let by_delivery = |a: &Source, b: &Source| key(a).cmp(&key(b));
    if trail.is_sorted_by(|a, b| by_delivery(a, b) != Ordering::Greater) {
        return 0;
    }
    trail.sort_by(by_delivery);
    for (&i, source) in places.iter().zip(trail) {
        sources[i] = source;
    }
    places.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn trail_names() {
        fn time(n: &str) -> Option<&str> {
            delivery(Path::new(n)).map(|d| d.time)
        }
        for (name, want) in [
            ("111122223333_CloudTrail_us-east-1_20240501T0005Z_A1bC2dE3fG4hI5jK.json.gz", "20240501T0005"),
            ("trail/AWSLogs/o-abc/111122223333/CloudTrail/eu-west-1/2024/05/01/111122223333_CloudTrail_eu-west-1_20240501T2355Z_x.json", "20240501T2355"),
            ("218007301253_CloudTrail_us-gov-west-1_20230710T1145Z_7xgocspSowgK0Gto.json.gz", "20230710T1145"),
        ] {
            assert_eq!(time(name), Some(want), "{name}");
        }
        for name in [
            "111122223333_CloudTrail-Digest_us-east-1_20240501T0005Z_A1b.json.gz",
            "111122223333_CloudTrail-Insight_us-east-1_20240501T0005Z_A1b.json.gz",
            "11112222333_CloudTrail_us-east-1_20240501T0005Z_A1b.json.gz",
            "111122223333_CloudTrail_us-east-1_20240501T0005_A1b.json.gz",
            "111122223333_CloudTrail_us-east-1_2024-05-01T0005Z_A1b.json.gz",
            "111122223333_CloudTrail_us-east-1_20240501T0005Z_.json.gz",
            "111122223333_CloudTrail_us-east-1_20240501T0005Z_A1b.ndjson",
            "111122223333_CloudTrail_us-east-1_20240501T0005Z_A1b_c.json.gz",
            "111122223333_CloudTrail_US_EAST_20240501T0005Z_A1b.json.gz",
            "events.json.gz",
            "-",
        ] {
            assert_eq!(time(name), None, "{name}");
        }
    }

    fn file(name: &str) -> Source {
        Source::File(PathBuf::from(name))
    }

    #[test]
    fn only_trail_files_move_into_the_places_trail_files_had() {
        let late = "a/111122223333_CloudTrail_eu-west-1_20240501T0105Z_C.json.gz";
        let mid = "a/111122223333_CloudTrail_eu-west-1_20240501T0010Z_B.json.gz";
        let early = "b/444455556666_CloudTrail_us-east-1_20240501T0000Z_D.json.gz";
        let tie = "a/111122223333_CloudTrail_us-east-1_20240501T0000Z_A.json.gz";
        let mut given = vec![
            file(late),
            file("extra.ndjson"),
            file(mid),
            Source::Stdin,
            file(early),
            file(tie),
        ];
        assert_eq!(delivery_order(&mut given), 4);
        assert_eq!(
            given,
            [
                file(tie),
                file("extra.ndjson"),
                file(early),
                Source::Stdin,
                file(mid),
                file(late)
            ]
        );
        // Already in order: nothing to say.
        assert_eq!(delivery_order(&mut given), 0);
        // The same name in two folders (a copy): by path.
        let mut copies = vec![
            file("z/x/111122223333_CloudTrail_us-east-1_20240501T0000Z_A.json.gz"),
            file(tie),
        ];
        assert_eq!(delivery_order(&mut copies), 2);
        assert_eq!(copies[0], file(tie));
        let mut none = vec![file("b.ndjson"), file("a.ndjson")];
        assert_eq!(delivery_order(&mut none), 0);
        assert_eq!(none, [file("b.ndjson"), file("a.ndjson")]);
    }
}
