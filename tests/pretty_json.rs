//! Valid JSON is never cut, however it is laid out (issue 12): a document pretty-printed with
//! `json.dumps(obj, indent=0)` has `{` at column 0 inside its records, which the framer's
//! resynchronisation rule took for the start of a new record. And broken input still recovers:
//! a broken record is reported as FILE:LINE and the good records after it come out.
//! Fixtures and how they were made: tests/fixtures/pretty/make_pretty.py.

use crate::util::*;
use std::path::PathBuf;

struct Case {
    input: PathBuf,
    expected: PathBuf,
    count: usize,
    bad_lines: Vec<u64>,
    what: String,
}

fn cases() -> Vec<Case> {
    let dir = fixtures().join("pretty");
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("manifest");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Case {
                input: dir.join(f[0]),
                expected: dir.join(f[1]),
                count: f[2].parse().expect("count"),
                bad_lines: match f[3] {
                    "-" => vec![],
                    s => s.split(',').map(|n| n.parse().expect("line")).collect(),
                },
                what: f[4].to_string(),
            }
        })
        .collect()
}

/// The reports about `input` on stderr, as line numbers.
fn reported_lines(stderr: &str, input: &str) -> Vec<u64> {
    let prefix = format!("ctail-filter: {input}:");
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest.split(':').next().unwrap().parse().expect("a line number"))
        .collect()
}

#[test]
fn every_valid_layout_comes_out_whole_in_order() {
    let mut checked = 0;
    for case in cases().into_iter().filter(|c| c.bad_lines.is_empty()) {
        let want = read_lines(&case.expected);
        assert_eq!(want.len(), case.count);
        for threads in ["1", "2"] {
            let run = run_file(&case.input, &["--hold", "0", "--threads", threads]);
            let name = format!("{} ({}), --threads {threads}", case.input.display(), case.what);
            assert_eq!(run.code, Some(0), "{name}: {}", run.stderr);
            assert_eq!(run.stderr, "", "{name} reported something");
            assert_records(&run.records(), &want, &name);
        }
        let data = std::fs::read(&case.input).unwrap();
        let run = run(&["--hold", "0"], Some(&data));
        assert_eq!(run.stderr, "", "{} on stdin", case.what);
        assert_records(&run.records(), &want, &format!("{} on stdin", case.what));
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} layouts checked");
}

#[test]
fn a_broken_record_is_reported_and_the_good_ones_after_it_come_out() {
    let mut checked = 0;
    for case in cases().into_iter().filter(|c| !c.bad_lines.is_empty()) {
        let want = read_lines(&case.expected);
        assert_eq!(want.len(), case.count);
        let shown = case.input.display().to_string();
        for threads in ["1", "2"] {
            let run = run_file(&case.input, &["--hold", "0", "--threads", threads]);
            let name = format!("{shown} ({}), --threads {threads}", case.what);
            assert_eq!(run.code, Some(0), "{name}: {}", run.stderr);
            assert_records(&run.records(), &want, &name);
            // Each broken record once, where it starts; nothing else (no piece of a good
            // record, no separator left over) is reported.
            assert_eq!(
                reported_lines(&run.stderr, &shown),
                case.bad_lines,
                "{name}: {}",
                run.stderr
            );
        }
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} broken inputs checked");
}

/// `--max-record-bytes` still bounds what a pretty-printed document may hold: an indent=0 S3
/// document over the limit is rejected whole, like a compact one, and what follows survives.
#[test]
fn an_indent0_document_over_max_record_bytes_is_rejected_whole() {
    let doc = std::fs::read(fixtures().join("pretty/s3-indent0.json")).unwrap();
    let base = read_lines(&fixtures().join("shapes/base.ndjson"));
    assert!(doc.len() > 16 * 1024 && base.iter().all(|r| r.len() < 8 * 1024));
    let mut input = doc.clone();
    for r in &base[6..] {
        input.extend_from_slice(r);
        input.push(b'\n');
    }
    let run = run(&["--hold", "0", "--max-record-bytes", "8K"], Some(&input));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_records(&run.records(), &base[6..], "after the oversized document");
    assert_eq!(reported_lines(&run.stderr, "<stdin>"), [1], "{}", run.stderr);
    assert!(
        run.stderr.contains("larger than --max-record-bytes"),
        "{}",
        run.stderr
    );
}

/// A document pretty-printed with indent=0 that a speculative reading must give up on (an
/// unclosed array of arrays, each `[` at column 0 and each a place where a value may stand) is
/// framed in time linear in its size: giving up re-reads a stretch a bounded number of times.
#[test]
fn giving_up_on_a_long_speculation_costs_linear_time() {
    let base = read_lines(&fixtures().join("shapes/base.ndjson"));
    let mut input = b"{\"Records\": [\n".to_vec();
    for _ in 0..200_000 {
        input.extend_from_slice(b"[\n");
    }
    input.extend_from_slice(&base[0]);
    input.push(b'\n');
    let started = std::time::Instant::now();
    let run = run(&["--hold", "0", "--quiet", "--stats"], Some(&input));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_records(&run.records(), &base[..1], "the record after the unclosed arrays");
}
