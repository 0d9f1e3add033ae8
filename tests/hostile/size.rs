//! Records too deep or too large: a hundred thousand levels of nesting, a twenty-megabyte record,
//! records over `--max-record-bytes` (and the framer's regressions there), a megabyte-long name.

use super::{
    assert_goods_survive, assert_reported, first_kb, goods, lines_of, run_sandwich, sandwich, set, template,
    BAD_LINE,
};
use crate::util::{assert_records, run_file, scratch, sorted};
use ctail_filter::decode::{Frame, Framer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[test]
fn nesting_a_hundred_thousand_levels_deep() {
    const D: usize = 100_000;
    let arrays = format!("{}{}", "[".repeat(D), "]".repeat(D));
    let objects = format!("{}1{}", "{\"a\":".repeat(D), "}".repeat(D));
    // Pretty-printed as a printer would: nested lines indented (one space is enough).
    let pretty = format!("[\n{}{}]\n", " [\n".repeat(D - 1), " ]\n".repeat(D - 1));
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{{\"eventName\":\"Deep\",\"x\":{arrays}}}"),
            "nested too deeply",
        ),
        (
            format!("{{\"eventName\":\"Deep\",\"x\":{objects}}}"),
            "nested too deeply",
        ),
        (objects.clone(), "nested too deeply"),
        (arrays.clone(), "not a CloudTrail event"),
        (format!("{{\"Records\":[{objects}]}}"), "nested too deeply"),
        (format!("{{\"Records\":[{arrays}]}}"), "nested too deeply"),
        (
            format!("{{\"detail-type\":\"x\",\"detail\":{objects}}}"),
            "nested too deeply",
        ),
        (
            format!("{{\"payload\":\"{}\"}}", objects.replace('"', "\\\"")),
            "nested too deeply",
        ),
        (pretty.clone(), "not a CloudTrail event"),
        (
            format!("{{\n  \"eventName\": \"Deep\",\n  \"x\": {pretty}}}\n"),
            "nested too deeply",
        ),
    ];
    for (i, (bad, reason)) in cases.iter().enumerate() {
        let run = run_sandwich(bad.as_bytes(), &[]);
        let others = assert_goods_survive(&run, &format!("deep case {i}"));
        assert!(others.is_empty(), "case {i}: something deep came out");
        assert_reported(&run, BAD_LINE, reason, 1);
    }
    // Not indented (`json.dumps(indent=0)` prints it so), the lines are still one valid value: it
    // is read whole, and refused once, as the compact one is (issue 12: valid JSON is never cut).
    let flat = format!("{}{}", "[\n".repeat(D), "]\n".repeat(D));
    let run = run_sandwich(flat.as_bytes(), &["--stats"]);
    assert!(assert_goods_survive(&run, "deep, not indented").is_empty());
    assert_reported(&run, BAD_LINE, "not a CloudTrail event", 1);
    let stats: Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(stats["rejected"], 1);
    // One closer short, it is no value: cut at its second line, which with what follows is one.
    let broken = format!("{}{}", "[\n".repeat(D), "]\n".repeat(D - 1));
    let run = run_sandwich(broken.as_bytes(), &["--stats"]);
    assert!(assert_goods_survive(&run, "deep, not indented, broken").is_empty());
    assert_reported(&run, BAD_LINE, "truncated record", 1);
    assert_reported(&run, BAD_LINE + 1, "not a CloudTrail event", 1);
    let stats: Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(stats["rejected"], 2);
}

/// A valid event from alice with a `blob` of `n` bytes in requestParameters.
fn big_event(n: usize, id: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAAXHOFMPQ7SFORLGR2","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAPBKPCQX6FIPGTK2I","userName":"alice"}},"eventTime":"2024-03-12T09:14:10Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","requestParameters":{{"blob":"{}"}},"eventID":"{id}","recipientAccountId":"111122223333"}}"#,
        "x".repeat(n)
    )
}

#[test]
fn a_twenty_megabyte_record_comes_out_whole() {
    let big = big_event(20 << 20, "big");
    let run = run_sandwich(big.as_bytes(), &[]);
    let others = assert_goods_survive(&run, "20 MB record");
    assert_eq!(others.len(), 1);
    assert!(others[0] == big.as_bytes(), "the 20 MB record changed");
    assert_eq!(run.stderr, "");
}

#[test]
fn records_over_max_record_bytes_are_reported_once_and_rejected_whole() {
    let compact = big_event(300_000, "over");
    let mut pretty = String::from("{\n  \"eventName\": \"Pretty\",\n  \"blob\": [\n");
    for _ in 0..30_000 {
        pretty += "    \"0123456789\",\n";
    }
    pretty += "    1\n  ]\n}";
    // A pretty record whose own lines are each longer than the limit.
    let long_lines = format!(
        "{{\n  \"eventName\": \"LongLines\",\n  \"a\": \"{}\",\n  \"b\": \"{}\"\n}}",
        "y".repeat(200_000),
        "z".repeat(200_000)
    );
    let dir = scratch("hostile-oversize");
    for (name, bad) in [
        ("compact", &compact),
        ("pretty", &pretty),
        ("long-lines", &long_lines),
    ] {
        let reject = dir.join(name);
        let run = run_sandwich(
            bad.as_bytes(),
            &[
                "--max-record-bytes",
                "64K",
                "--stats",
                "--reject",
                reject.to_str().unwrap(),
            ],
        );
        let others = assert_goods_survive(&run, name);
        assert!(others.is_empty(), "{name}: the oversized record came out");
        // Reported once, however many reads it arrived in (it was once reported per 64 KiB read).
        assert_reported(&run, BAD_LINE, "larger than --max-record-bytes", 1);
        let stats: Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
        assert_eq!(stats["rejected"], 1, "{name}: {}", first_kb(&run.stderr));
        assert_eq!(stats["records_out"], 8, "{name}");
        assert!(
            std::fs::read(&reject).unwrap() == format!("{bad}\n").into_bytes(),
            "{name}: --reject does not hold the record verbatim"
        );
    }
    // Regression: a line over the limit that arrived whole in one read (a file is read 256 KiB
    // at a time, a pipe 64 KiB) went through unchecked.
    let file = dir.join("whole-line.ndjson");
    std::fs::write(&file, sandwich(big_event(100_000, "over").as_bytes())).unwrap();
    let run = run_file(&file, &["--hold", "0", "--max-record-bytes", "64K"]);
    assert!(assert_goods_survive(&run, "whole line in one read").is_empty());
    assert!(
        run.stderr.contains(&format!(
            "{}:{BAD_LINE}: record larger than --max-record-bytes",
            file.display()
        )),
        "{}",
        run.stderr
    );
    // The same record as the last one, with no newline: still reported once, goods before kept.
    let mut input = Vec::new();
    for l in goods() {
        input.extend_from_slice(&l);
        input.push(b'\n');
    }
    input.extend_from_slice(compact.as_bytes());
    let run = crate::util::run(&["--hold", "0", "--max-record-bytes", "64K"], Some(&input));
    assert_goods_survive(&run, "oversized last record");
    assert_reported(&run, 9, "larger than --max-record-bytes", 1);
}

#[test]
fn the_framer_reports_an_oversized_line_once_whatever_the_reads() {
    // Regression (fuzz target `framer`): while an oversized line was being skipped, every read
    // without a newline was held until it was too large again and reported as a new bad record.
    let line = format!("{{\"eventName\":\"{}\"}}", "x".repeat(1000));
    let input = format!("{{\"a\":1}}\n{line}\n{{\"b\":2}}\n");
    for chunk in [1, 7, 16, 100, 5000] {
        let mut f = Framer::new(40);
        let mut bad = 0;
        let mut records = Vec::new();
        let mut rejected = Vec::new();
        let mut continuing = false;
        let mut drain = |f: &mut Framer| {
            while let Some(fr) = f.next() {
                match fr {
                    Frame::Record { bytes, .. } => {
                        assert!(!continuing);
                        records.push(bytes.to_vec());
                    }
                    Frame::Bad { bytes, continues, .. } => {
                        assert!(!continuing, "a second report while skipping (chunk {chunk})");
                        bad += 1;
                        continuing = continues;
                        rejected.extend_from_slice(bytes);
                    }
                    Frame::BadMore { bytes, last } => {
                        assert!(continuing);
                        continuing = !last;
                        rejected.extend_from_slice(bytes);
                    }
                }
            }
        };
        for c in input.as_bytes().chunks(chunk) {
            f.feed(c);
            drain(&mut f);
        }
        f.finish();
        drain(&mut f);
        assert_eq!(bad, 1, "chunk {chunk}");
        assert_eq!(
            records,
            [b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()],
            "chunk {chunk}"
        );
        assert!(
            rejected == line.as_bytes(),
            "chunk {chunk}: rejected bytes differ"
        );
    }
}

#[test]
fn a_long_line_in_small_reads_costs_linear_time() {
    // Regression: an incomplete line was searched for its newline from its start again with
    // every read, so a long record arriving in small reads took quadratic time.
    let line = format!("{{\"eventName\":\"{}\"}}\n", "x".repeat(32 << 20));
    let mut f = Framer::new(64 << 20);
    let started = Instant::now();
    let mut n = 0;
    for c in line.as_bytes().chunks(4096) {
        f.feed(c);
        while f.next().is_some() {
            n += 1;
        }
    }
    f.finish();
    while f.next().is_some() {
        n += 1;
    }
    assert_eq!(n, 1);
    let took = started.elapsed();
    // Linear: tens of milliseconds; quadratic: tens of seconds in a debug build.
    assert!(
        took < Duration::from_secs(5),
        "32 MB line in 4 KiB reads took {took:?}"
    );
}

#[test]
fn a_megabyte_long_session_name() {
    let name = "n".repeat(1 << 20);
    let [mut creator, mut call] = template(7);
    set(&mut creator, "/requestParameters/roleSessionName", json!(name));
    let arn = format!("arn:aws:sts::999988887777:assumed-role/x7/{name}");
    set(&mut creator, "/responseElements/assumedRoleUser/arn", json!(arn));
    set(
        &mut creator,
        "/responseElements/assumedRoleUser/assumedRoleId",
        json!(format!("AROAX7:{name}")),
    );
    set(&mut call, "/userIdentity/arn", json!(arn));
    set(
        &mut call,
        "/userIdentity/principalId",
        json!(format!("AROAX7:{name}")),
    );
    set(&mut call, "/userAgent", json!(name));
    let mut events = vec![creator];
    for i in 0..4 {
        let mut c = call.clone();
        set(&mut c, "/eventID", json!(format!("long-{i}")));
        events.push(c);
    }
    let (bad, lines) = lines_of(&events);
    for args in [&["--hold", "0"][..], &["--max-sessions", "1"][..]] {
        let run = crate::util::run(args, Some(&sandwich(&bad)));
        if args[0] == "--hold" {
            let others = assert_goods_survive(&run, "1 MB session name");
            assert_records(&others, &lines, "calls of the long-named session");
            for v in run
                .json()
                .iter()
                .filter(|v| v["eventID"].as_str().unwrap().starts_with("long-"))
            {
                assert_eq!(v["ctail"]["confidence"], "exact");
                assert_eq!(v["ctail"]["origin"]["arn"], "arn:aws:iam::999988887777:user/bob");
                assert_eq!(
                    v["ctail"]["chain"][1]["name"].as_str().map(str::len),
                    Some(1 << 20)
                );
            }
        } else {
            // One session kept at most: everything still comes out, once.
            assert_eq!(run.code, Some(0));
            let mut want = lines.clone();
            want.extend(goods());
            assert_eq!(sorted(run.records()), sorted(want));
        }
    }
}
