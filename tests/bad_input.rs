//! Bad input never stops the stream: each bad record is left out, reported as FILE:LINE on
//! stderr, written verbatim to --reject, and every good record around it still comes out.

use crate::util::*;

/// (fixture, bad line numbers)
fn bad_fixtures() -> Vec<(String, Vec<u64>)> {
    let dir = fixtures().join("shapes/bad");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("bad fixtures") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bad") {
            let lines = std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .map(|l| l.split('\t').next().unwrap().parse().unwrap())
                .collect();
            out.push((path.file_stem().unwrap().to_str().unwrap().to_string(), lines));
        }
    }
    out.sort();
    assert!(out.len() >= 8, "bad fixtures missing");
    out
}

#[test]
fn each_bad_record_is_reported_rejected_and_survived() {
    let dir = fixtures().join("shapes/bad");
    let scratch = scratch("bad");
    for (name, bad_lines) in bad_fixtures() {
        let input = dir.join(format!("{name}.ndjson"));
        let reject = scratch.join(format!("{name}.rejected"));
        let run = run_file(&input, &["--reject", reject.to_str().unwrap()]);
        assert_eq!(run.code, Some(0), "{name}: {}", run.stderr);
        assert_eq!(
            run.records(),
            read_lines(&dir.join(format!("{name}.expected.ndjson"))),
            "{name}: good records"
        );
        let shown = input.display().to_string();
        for line in &bad_lines {
            assert!(
                run.stderr.contains(&format!("ctail-filter: {shown}:{line}: ")),
                "{name}: line {line} not reported in {:?}",
                run.stderr
            );
        }
        // The rejected bytes are the bad lines of the input, verbatim.
        let raw = std::fs::read(&input).unwrap();
        let input_lines: Vec<&[u8]> = raw.split(|&b| b == b'\n').collect();
        let rejected = std::fs::read(&reject).unwrap();
        for line in &bad_lines {
            let original = input_lines[*line as usize - 1];
            assert!(
                rejected.windows(original.len().max(1)).any(|w| w == original),
                "{name}: line {line} not in --reject output"
            );
        }
    }
}

#[test]
fn strict_stops_at_the_first_bad_record() {
    let dir = fixtures().join("shapes/bad");
    let run = run_file(&dir.join("badjson.ndjson"), &["--strict"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.records(),
        read_lines(&dir.join("badjson.expected.ndjson"))[..3].to_vec()
    );
    assert!(run.stderr.contains("--strict"), "{}", run.stderr);
}

#[test]
fn records_over_max_record_bytes_are_rejected_whole() {
    let good = read_lines(&fixtures().join("shapes/base.ndjson"));
    let big = format!(
        r#"{{"eventVersion":"1.08","eventName":"Big","eventID":"big","requestParameters":{{"blob":"{}"}}}}"#,
        "x".repeat(300_000)
    );
    let mut input = Vec::new();
    for l in &good[..2] {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    input.extend_from_slice(big.as_bytes());
    input.push(b'\n');
    for l in &good[2..4] {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    let reject = scratch("oversize").join("rejected");
    let run = run(
        &["--max-record-bytes", "100K", "--reject", reject.to_str().unwrap()],
        Some(&input),
    );
    assert_eq!(run.code, Some(0));
    assert_eq!(run.records(), good[..4].to_vec());
    assert!(
        run.stderr
            .contains("<stdin>:3: record larger than --max-record-bytes"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&reject).unwrap(), format!("{big}\n").into_bytes());
    // With room for it, the same record passes.
    let run2 = crate::util::run(&["--max-record-bytes", "1M"], Some(&input));
    assert_eq!(run2.records().len(), 5);
}

#[test]
fn an_unreadable_file_fails_the_run_but_not_the_other_files() {
    let lines = fixtures().join("shapes/lines.ndjson");
    let run = run(&["/nonexistent/ctail-input", lines.to_str().unwrap()], None);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("/nonexistent/ctail-input"), "{}", run.stderr);
    assert_eq!(run.records().len(), 9);
}

#[test]
fn messages_are_rate_limited_and_counted() {
    let input = "not json\n".repeat(500);
    let run = run(&["--stats"], Some(input.as_bytes()));
    assert_eq!(run.code, Some(0));
    let reported = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("ctail-filter: <stdin>:"))
        .count();
    assert_eq!(reported, 20, "{}", run.stderr);
    assert!(run.stderr.contains("500 bad records in all"), "{}", run.stderr);
    let stats: serde_json::Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(stats["rejected"], 500);
    // --quiet: no messages, the stats line still printed.
    let quiet = crate::util::run(&["--quiet"], Some(input.as_bytes()));
    assert_eq!(quiet.stderr, "");
}

#[test]
fn usage_errors_exit_2() {
    let run = run(&["--max-sessions", "0"], Some(b""));
    assert_eq!(run.code, Some(2));
    let run = crate::util::run(&["--no-such-flag"], Some(b""));
    assert_eq!(run.code, Some(2));
    // A thread each: a huge count is refused up front rather than failing to spawn.
    let run = crate::util::run(&["--threads", "100000"], Some(b""));
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("0..=64"), "{}", run.stderr);
    let run = crate::util::run(&["--threads", "64", "--quiet"], Some(b"{\"eventName\":\"A\"}\n"));
    assert_eq!((run.code, run.records().len()), (Some(0), 1));
}

/// `--max-record-bytes` is capped at 1 GiB (record offsets are 32-bit): more is a usage error.
#[test]
fn max_record_bytes_above_one_gib_is_a_usage_error() {
    let over = run(&["--max-record-bytes", "1025M"], Some(b""));
    assert_eq!(over.code, Some(2), "{}", over.stderr);
    assert!(over.stderr.contains("1G"), "{}", over.stderr);
    let at = run(&["--max-record-bytes", "1G"], Some(b""));
    assert_eq!(at.code, Some(0), "{}", at.stderr);
}
