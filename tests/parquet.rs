//! Amazon Security Lake's Parquet objects read directly (feature `parquet`): every row comes out
//! as its OCSF JSON record with the annotation the same record gets as a JSON line; bad files are
//! reported by name without losing the good ones around them. Without the feature, a Parquet file
//! is an error that says how to build with it.
//!
//! Fixtures: tests/fixtures/streams/*.parquet, written by make_parquet.py (pyarrow) from the OCSF
//! JSON-lines fixtures beside them.

use crate::util::{fixtures, run, Run};
use std::path::{Path, PathBuf};

fn streams() -> PathBuf {
    fixtures().join("streams")
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// No panic, no death by signal: an exit status of 0 (all read) or 1 (an input failed).
fn assert_orderly(r: &Run, what: &str) {
    assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
    assert!(
        matches!(r.code, Some(0 | 1)),
        "{what}: exit {:?}: {}",
        r.code,
        r.stderr
    );
}

#[cfg(feature = "parquet")]
mod with_the_feature {
    use super::*;
    use crate::util::{read_lines, run_file, scratch};
    use serde_json::Value;

    /// A JSON value with its null members left out (a Parquet row has a null where JSON left a
    /// member out or wrote null).
    fn without_nulls(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(_, x)| !x.is_null())
                    .map(|(k, x)| (k.clone(), without_nulls(x)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
            other => other.clone(),
        }
    }

    /// Each output line split into the record and its annotation.
    fn split(r: &Run) -> Vec<(Value, Value)> {
        r.json()
            .into_iter()
            .map(|mut v| {
                let ann = v
                    .as_object_mut()
                    .and_then(|m| m.remove("ctail"))
                    .expect("annotated");
                (v, ann)
            })
            .collect()
    }

    /// The story and the BASE events, from Parquet (GZIP as Security Lake writes it, in five row
    /// groups; SNAPPY) and from JSON lines: the same records, and every annotation the same
    /// (session, origin, chain, confidence, reason), one thread or two.
    #[test]
    fn parquet_rows_are_annotated_as_their_json_lines() {
        for (parquet, ndjson, rows) in [
            ("ocsf-story.gz.parquet", "ocsf-story.ndjson", 35),
            ("ocsf-base.snappy.parquet", "ocsf-base.ndjson", 9),
        ] {
            for threads in ["1", "2"] {
                let flags = ["--hold", "0", "--quiet", "--threads", threads];
                let a = run_file(&streams().join(ndjson), &flags);
                let b = run_file(&streams().join(parquet), &flags);
                assert_eq!(b.code, Some(0), "{parquet}: {}", b.stderr);
                let (a, b) = (split(&a), split(&b));
                assert_eq!(b.len(), rows, "{parquet}");
                assert_eq!(a.len(), rows, "{ndjson}");
                let input = read_lines(&streams().join(ndjson));
                for (i, ((ra, aa), (rb, ab))) in a.iter().zip(&b).enumerate() {
                    let line: Value = serde_json::from_slice(&input[i]).unwrap();
                    assert_eq!(*rb, without_nulls(&line), "{parquet} row {}: the record", i + 1);
                    assert_eq!(without_nulls(ra), *rb);
                    assert_eq!(ab, aa, "{parquet} row {}: the annotation", i + 1);
                }
                // Not a test of nothing: the story has origins, chains and every confidence.
                let anns: Vec<&Value> = b.iter().map(|(_, a)| a).collect();
                if parquet.starts_with("ocsf-story") {
                    let chained = |a: &&Value| a["chain"].as_array().is_some_and(|c| c.len() > 1);
                    assert!(anns.iter().any(chained));
                    for c in ["exact", "heuristic", "ambiguous"] {
                        assert!(anns.iter().any(|a| a["confidence"] == c), "{c}");
                    }
                }
            }
        }
    }

    /// The trap: `time` and `actor.session.created_time` typed as Parquet timestamps (in
    /// milliseconds and in nanoseconds), with no `*_dt` strings beside them. OCSF's
    /// `timestamp_t` is epoch milliseconds: written as a string (what a generic Parquet-to-JSON
    /// writer does) or as nanoseconds (what the record reader hands on for them), `time` would
    /// not be read, nor the session's creation, and lineage would lose its times. Written as
    /// milliseconds, the story gets exactly the annotations it gets from JSON lines.
    #[test]
    fn timestamps_come_out_as_ocsf_writes_them() {
        let a = split(&run_file(
            &streams().join("ocsf-story.ndjson"),
            &["--hold", "0", "--quiet"],
        ));
        let r = run_file(
            &streams().join("ocsf-trap-timestamps.parquet"),
            &["--hold", "0", "--quiet"],
        );
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let b = split(&r);
        assert_eq!(b.len(), a.len());
        let mut sessions = 0;
        for ((ra, aa), (rb, ab)) in a.iter().zip(&b) {
            assert!(rb["time"].is_i64(), "time as epoch ms: {}", rb["time"]);
            assert_eq!(rb["time"], ra["time"]);
            assert!(rb.get("time_dt").is_none());
            if let Some(s) = ra["actor"]["session"].get("created_time_dt") {
                let want = chrono::DateTime::parse_from_rfc3339(s.as_str().unwrap()).unwrap();
                let got = &rb["actor"]["session"]["created_time"];
                assert_eq!(got.as_i64(), Some(want.timestamp_millis()), "{got}");
                sessions += 1;
            }
            assert_eq!(ab, aa, "{}", ra["metadata"]["uid"]);
        }
        assert!(sessions > 10, "the story's role sessions carry their creation");
        // The `*_dt` fields of the other fixtures are RFC 3339 strings, as OCSF's datetime_t.
        let story = split(&run_file(
            &streams().join("ocsf-story.gz.parquet"),
            &["--hold", "0"],
        ));
        assert_eq!(story[0].0["time_dt"], "2024-05-01T08:59:40Z");
    }

    /// Parquet is recognised by its content, not its name: a Parquet object called `.json` is
    /// read as Parquet, a JSON-lines file called `.parquet` as JSON lines; and through
    /// `--files-from` as on the command line.
    #[test]
    fn recognised_by_content_and_listed_in_files_from() {
        let dir = scratch("parquet-names");
        let disguised = dir.join("events.json");
        std::fs::copy(streams().join("ocsf-base.snappy.parquet"), &disguised).unwrap();
        let json = dir.join("events.parquet");
        std::fs::copy(streams().join("ocsf-base.ndjson"), &json).unwrap();
        let list = dir.join("list");
        std::fs::write(&list, format!("{}\n", disguised.display())).unwrap();
        let a = run(&["--hold", "0", "--files-from", arg(&list)], None);
        let b = run_file(&json, &["--hold", "0"]);
        assert_eq!((a.code, b.code), (Some(0), Some(0)), "{}{}", a.stderr, b.stderr);
        let a: Vec<(Value, Value)> = split(&a)
            .iter()
            .map(|(r, c)| (without_nulls(r), c.clone()))
            .collect();
        let b: Vec<(Value, Value)> = split(&b)
            .iter()
            .map(|(r, c)| (without_nulls(r), c.clone()))
            .collect();
        assert_eq!(a.len(), 9);
        assert!(a == b, "the same 9 records and annotations either way");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A truncated Parquet file between two good ones: reported with its name, the others read
    /// whole; read in turn (one file) and ahead on worker threads (several).
    #[test]
    fn a_broken_file_is_named_and_loses_nothing_around_it() {
        let dir = scratch("parquet-broken");
        let story = std::fs::read(streams().join("ocsf-story.gz.parquet")).unwrap();
        let broken = dir.join("broken.parquet");
        std::fs::write(&broken, &story[..story.len() / 2]).unwrap();
        let base = streams().join("ocsf-base.snappy.parquet");
        for threads in ["1", "2"] {
            let r = run(
                &[
                    "--hold",
                    "0",
                    "--quiet",
                    "--threads",
                    threads,
                    arg(&base),
                    arg(&broken),
                    arg(&base),
                ],
                None,
            );
            assert_orderly(&r, "broken");
            assert_eq!(r.code, Some(1), "a failed input is a failed run");
            assert_eq!(r.json().len(), 18, "both good files, whole");
            assert!(
                r.stderr.contains(&format!("{}: Parquet: ", broken.display())),
                "{}",
                r.stderr
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// An empty Parquet file (the schema, no rows) is an input with nothing in it.
    #[test]
    fn an_empty_parquet_file() {
        let r = run_file(&streams().join("ocsf-empty.parquet"), &[]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(r.stdout.is_empty());
        assert!(r.stderr.is_empty(), "{}", r.stderr);
    }

    /// Rows of another schema are JSON objects that are not OCSF records of CloudTrail events:
    /// each is rejected, by row number, as a JSON line would be.
    #[test]
    fn rows_of_another_schema_are_rejected_one_by_one() {
        let path = streams().join("other-schema.parquet");
        let r = run_file(&path, &[]);
        assert_orderly(&r, "other schema");
        assert!(r.stdout.is_empty());
        for row in 1..=3 {
            let want = format!("{}:{row}: not a CloudTrail event", path.display());
            assert!(r.stderr.contains(&want), "{want} in {}", r.stderr);
        }
    }

    /// ZSTD pages are not read by this build: said once, naming the codec and what is read.
    #[test]
    fn a_codec_not_built_in_is_named() {
        let r = run_file(&streams().join("ocsf-base.zstd.parquet"), &[]);
        assert_orderly(&r, "zstd");
        assert_eq!(r.code, Some(1));
        assert!(r.stdout.is_empty());
        assert!(r.stderr.contains("compressed with ZSTD"), "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }

    /// Fuzz-ish: the story truncated at many offsets, and with bytes overwritten at many offsets
    /// (pages, page headers, the footer): never a panic, a hang or a death; a truncated file is
    /// always an error naming it; every line written is an annotated JSON record.
    #[test]
    fn damaged_files_never_panic() {
        let dir = scratch("parquet-damaged");
        let story = std::fs::read(streams().join("ocsf-story.gz.parquet")).unwrap();
        let path = dir.join("damaged.parquet");
        let name = format!("{}: ", path.display());
        let mut errors = 0;
        for cut in (4..story.len()).step_by(331).chain(story.len() - 12..story.len()) {
            std::fs::write(&path, &story[..cut]).unwrap();
            let r = run_file(&path, &["--hold", "0", "--quiet"]);
            assert_orderly(&r, &format!("cut at {cut}"));
            assert_eq!(r.code, Some(1), "cut at {cut}");
            assert!(r.stderr.contains(&name), "cut at {cut}: {}", r.stderr);
        }
        let mut seed = 0x9e37_79b9_u32;
        for at in (4..story.len() - 4).step_by(97) {
            let mut damaged = story.clone();
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            damaged[at..at + 4].copy_from_slice(&seed.to_le_bytes());
            std::fs::write(&path, &damaged).unwrap();
            let r = run_file(&path, &["--hold", "0", "--quiet"]);
            assert_orderly(&r, &format!("damaged at {at}"));
            if r.code == Some(1) {
                assert!(r.stderr.contains(&name), "damaged at {at}: {}", r.stderr);
                errors += 1;
            }
            for v in r.json() {
                assert!(v.get("ctail").is_some());
            }
        }
        assert!(errors > 50, "damage is found: {errors}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Built without the feature, a Parquet file is an error that names the feature and how to
/// build with it; the files after it are read as usual.
#[cfg(not(feature = "parquet"))]
#[test]
fn without_the_feature_parquet_says_how_to_build_it() {
    let parquet = streams().join("ocsf-base.snappy.parquet");
    let json = streams().join("ocsf-base.ndjson");
    let r = run(&["--hold", "0", "--quiet", arg(&parquet), arg(&json)], None);
    assert_orderly(&r, "without the feature");
    assert_eq!(r.code, Some(1));
    assert_eq!(r.json().len(), 9, "the JSON lines after it");
    let want = format!(
        "{}: a Parquet file: this ctail-filter was built without the `parquet` feature",
        parquet.display()
    );
    assert!(r.stderr.contains(&want), "{}", r.stderr);
    assert!(r.stderr.contains("--features parquet"), "{}", r.stderr);
}
