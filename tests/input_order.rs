//! Input read in the order the events happened (issue 12): S3 trail files by the delivery time in
//! their names, whatever order the shell gave them in; `aws cloudtrail lookup-events` documents
//! (newest first) oldest first. Read the wrong way round, the hold window's event-time watermark
//! runs far ahead and calls read before their creator go out unlinked.

use crate::util::*;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/ops/alice";

/// alice's AssumeRole at `time`: the session every `call` below belongs to.
fn creator(time: &str) -> Value {
    json!({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAALICEEXAMPLE","arn":ALICE,"accountId":"111122223333","accessKeyId":"AKIAALICEEXAMPLE","userName":"alice"},
        "eventTime":time,"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.30",
        "requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/ops","roleSessionName":"alice","durationSeconds":7200},
        "responseElements":{"credentials":{"accessKeyId":"ASIAOPSALICE0001","sessionToken":"x","expiration":"May 1, 2024, 2:00:00 AM"},
            "assumedRoleUser":{"assumedRoleId":"AROAOPS:alice","arn":SESSION}},
        "requestID":"r-create","eventID":"create","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"})
}

/// A call of alice's ops session, created at `created`.
fn call(time: &str, created: &str, id: &str, region: &str) -> Value {
    json!({"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAOPS:alice","arn":SESSION,"accountId":"111122223333","accessKeyId":"ASIAOPSALICE0001",
            "sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAOPS","arn":"arn:aws:iam::111122223333:role/ops","accountId":"111122223333","userName":"ops"},
                "attributes":{"creationDate":created,"mfaAuthenticated":"false"}}},
        "eventTime":time,"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":region,"sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.30",
        "requestParameters":null,"responseElements":null,"requestID":format!("r-{id}"),"eventID":id,"readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"})
}

/// Someone else's call, to move the event-time watermark.
fn other(time: &str, id: &str, account: &str) -> Value {
    json!({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDABOBEXAMPLE","arn":format!("arn:aws:iam::{account}:user/bob"),"accountId":account,"accessKeyId":"AKIABOBEXAMPLE","userName":"bob"},
        "eventTime":time,"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userAgent":"aws-cli/2.15.30",
        "requestParameters":null,"responseElements":null,"requestID":format!("r-{id}"),"eventID":id,"readOnly":true,"eventType":"AwsApiCall","recipientAccountId":account})
}

/// A delivery of `events` as S3 writes it: gzip of `{"Records":[…]}` and a newline.
fn write_trail_file(dir: &Path, name: &str, events: &[Value]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let body = format!("{}\n", json!({ "Records": events }));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(body.as_bytes()).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    path
}

const CREATED: &str = "2024-05-01T00:01:00Z";

/// Four deliveries from two regions and two accounts. In `ls` order (account, then region, then
/// time) the eu-west-1 files holding the session's calls come before the us-east-1 one holding
/// its creator, and the 01:05 delivery pushes the watermark an hour past the first calls.
/// Returned in `ls` order.
fn deliveries(dir: &Path) -> Vec<PathBuf> {
    vec![
        write_trail_file(
            dir,
            "111122223333_CloudTrail_eu-west-1_20240501T0010Z_B7kq2Xz9LmPq4Rt1.json.gz",
            &[
                call("2024-05-01T00:06:00Z", CREATED, "call-1", "eu-west-1"),
                call("2024-05-01T00:07:00Z", CREATED, "call-2", "eu-west-1"),
            ],
        ),
        write_trail_file(
            dir,
            "111122223333_CloudTrail_eu-west-1_20240501T0105Z_C3vN8wYhJd5Fs0Ae.json.gz",
            &[
                call("2024-05-01T01:00:30Z", CREATED, "call-3", "eu-west-1"),
                other("2024-05-01T01:01:00Z", "bob-1", "111122223333"),
            ],
        ),
        write_trail_file(
            dir,
            "111122223333_CloudTrail_us-east-1_20240501T0005Z_A1bC2dE3fG4hI5jK.json.gz",
            &[
                other("2024-05-01T00:00:30Z", "bob-0", "111122223333"),
                creator(CREATED),
            ],
        ),
        write_trail_file(
            dir,
            "444455556666_CloudTrail_us-east-1_20240501T0000Z_D9eF8gH7iJ6kL5mN.json.gz",
            &[other("2024-04-30T23:58:00Z", "bob-prod", "444455556666")],
        ),
    ]
}

fn args_of(files: &[PathBuf]) -> Vec<&str> {
    files.iter().map(|p| p.to_str().unwrap()).collect()
}

fn run_files(extra: &[&str], files: &[PathBuf]) -> Run {
    let mut args = extra.to_vec();
    args.extend(args_of(files));
    run(&args, None)
}

fn event_ids(run: &Run) -> Vec<String> {
    run.json()
        .iter()
        .map(|v| v["eventID"].as_str().unwrap().to_string())
        .collect()
}

/// Every call of alice's session names alice, exactly.
#[track_caller]
fn assert_calls_exact(run: &Run, calls: usize) {
    let mut seen = 0;
    for v in run.json() {
        if v["userIdentity"]["arn"] == SESSION {
            assert_eq!(v["ctail"]["confidence"], "exact", "{}", v["ctail"]);
            assert_eq!(v["ctail"]["origin"]["arn"], ALICE, "{}", v["ctail"]);
            seen += 1;
        }
    }
    assert_eq!(seen, calls);
}

#[test]
fn trail_files_in_ls_order_give_the_output_of_delivery_order() {
    let dir = scratch("ls-order");
    let ls = deliveries(&dir);
    let delivery = vec![ls[3].clone(), ls[2].clone(), ls[0].clone(), ls[1].clone()];
    let reversed: Vec<PathBuf> = ls.iter().rev().cloned().collect();
    let sorted_run = run_files(&[], &delivery);
    assert_eq!(sorted_run.code, Some(0), "{}", sorted_run.stderr);
    assert_eq!(
        sorted_run.stderr, "",
        "no notice when the order was already right"
    );
    assert_calls_exact(&sorted_run, 3);
    for (given, what) in [(&ls, "ls order"), (&reversed, "reversed")] {
        for threads in ["1", "2", "4"] {
            let run = run_files(&["--threads", threads], given);
            assert_eq!(run.code, Some(0), "{}", run.stderr);
            assert!(
                String::from_utf8_lossy(&run.stdout) == String::from_utf8_lossy(&sorted_run.stdout),
                "{what}, --threads {threads}: the output differs from delivery order's"
            );
            assert_eq!(
                run.stderr,
                "ctail-filter: notice: reading the 4 S3 trail files in delivery-time order (the time in their names), not in the order given\n",
                "{what}"
            );
        }
    }
    // --quiet: the same, silently.
    let quiet = run_files(&["--quiet"], &ls);
    assert_eq!(quiet.stderr, "");
    assert_eq!(quiet.stdout, sorted_run.stdout);
    // With --hold 0 the output order is the reading order: delivery time, ties by name.
    let held_off = run_files(&["--hold", "0"], &ls);
    assert_eq!(
        event_ids(&held_off),
        ["bob-prod", "bob-0", "create", "call-1", "call-2", "call-3", "bob-1"]
    );
    assert_calls_exact(&held_off, 3);
}

/// Only trail-named files move; any other FILE, and `-`, keeps its place in the list, and the
/// trail files fill the places trail files had, in delivery order.
#[test]
fn other_files_keep_their_place_among_trail_files() {
    let dir = scratch("mixed-order");
    let ls = deliveries(&dir);
    let extra = dir.join("extra.ndjson");
    std::fs::write(
        &extra,
        format!("{}\n", other("2024-05-01T00:30:00Z", "extra", "111122223333")),
    )
    .unwrap();
    let stdin = format!("{}\n", other("2024-05-01T00:31:00Z", "stdin", "111122223333"));
    // given: 0010Z, extra, 0105Z, -, 0005Z, 0000Z  →  read: 0000Z, extra, 0005Z, -, 0010Z, 0105Z
    let mut args: Vec<&str> = vec!["--hold", "0"];
    let files = args_of(&ls);
    args.extend([
        files[0],
        extra.to_str().unwrap(),
        files[1],
        "-",
        files[2],
        files[3],
    ]);
    let run = run(&args, Some(stdin.as_bytes()));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        event_ids(&run),
        ["bob-prod", "extra", "bob-0", "create", "stdin", "call-1", "call-2", "call-3", "bob-1"]
    );
    assert!(
        run.stderr.contains("notice: reading the 4 S3 trail files"),
        "{}",
        run.stderr
    );
    // A bad record is still reported under its own file's name.
    let bad = dir.join("111122223333_CloudTrail_us-east-1_20240501T0000Z_Zz0000000000000.json");
    std::fs::write(&bad, "{\"Records\":[\n").unwrap();
    let mut with_bad = ls.clone();
    with_bad.push(bad.clone());
    let run = run_files(&["--hold", "0"], &with_bad);
    assert!(
        run.stderr
            .contains(&format!("{}:1: truncated record", bad.display())),
        "{}",
        run.stderr
    );
}

/// The README's backfill recipes: `find` lists a tree in no useful order, and the answers are
/// those of the files read in delivery order; so are the pipe's, for more files than a command
/// line holds.
#[test]
fn the_readme_backfill_recipes_give_the_answers_of_delivery_order() {
    let recipe = "ctail-filter --settle 15m $(find trail -name '*.json.gz') > annotated.ndjson";
    let pipe = "find trail -name '*.json.gz' | sort -t_ -k4 | xargs zcat | ctail-filter --settle 15m > annotated.ndjson";
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for r in [recipe, pipe] {
        assert!(readme.contains(r), "README lacks: {r}");
    }
    let dir = scratch("backfill-tree");
    let flat = scratch("backfill-flat");
    let ls = deliveries(&flat);
    for f in &ls {
        let name = f.file_name().unwrap().to_str().unwrap();
        let parts: Vec<&str> = name.split('_').collect();
        let day = &parts[3][..8];
        let sub = format!(
            "trail/AWSLogs/{}/CloudTrail/{}/{}/{}/{}",
            parts[0],
            parts[2],
            &day[..4],
            &day[4..6],
            &day[6..]
        );
        std::fs::create_dir_all(dir.join(&sub)).unwrap();
        std::fs::copy(f, dir.join(&sub).join(name)).unwrap();
    }
    let bin_dir = Path::new(bin()).parent().unwrap();
    let sh = |script: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&dir)
            .env(
                "PATH",
                format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap();
        assert!(out.status.success(), "{script}");
        std::fs::read(dir.join("annotated.ndjson")).unwrap()
    };
    let quiet = |r: &str| r.replacen("ctail-filter", "ctail-filter --quiet", 1);
    let as_found = sh(&quiet(recipe));
    let delivery = run_files(
        &["--quiet", "--settle", "15m"],
        &[ls[3].clone(), ls[2].clone(), ls[0].clone(), ls[1].clone()],
    );
    assert!(
        as_found == delivery.stdout,
        "{recipe}: not the output of delivery order"
    );
    for order in ["sort", "sort -r"] {
        let given = quiet(recipe).replace("-name '*.json.gz')", &format!("-name '*.json.gz' | {order})"));
        assert!(sh(&given) == as_found, "{given}");
    }
    assert!(sh(&quiet(pipe)) == as_found, "{pipe}");
    assert_calls_exact(&delivery, 3);
}

/// The man page's example, a glob over one account's files (by region first), answers as the
/// files read in delivery order do.
#[test]
fn the_man_page_example_gives_the_answers_of_delivery_order() {
    let example = "ctail\\-filter 111122223333_CloudTrail_*.json.gz > annotated.ndjson";
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/ctail-filter.1")).unwrap();
    assert!(page.contains(example), "the man page lacks: {example}");
    let dir = scratch("man-example");
    let ls = deliveries(&dir);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' --quiet 111122223333_CloudTrail_*.json.gz", bin()))
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let delivery = run_files(&["--quiet"], &[ls[2].clone(), ls[0].clone(), ls[1].clone()]);
    assert!(
        out.stdout == delivery.stdout,
        "the glob's output differs from delivery order's"
    );
    assert_calls_exact(&delivery, 3);
}

/// `aws cloudtrail lookup-events` as the CLI writes it: one document, newest first, `EventTime`
/// in the local zone. The creator comes after its calls in the document, and the newest event
/// first pushes the watermark 40 minutes ahead.
fn lookup_events_document() -> String {
    let created = "2024-05-01T00:00:00Z";
    let events = [
        other("2024-05-01T00:40:00Z", "bob-late", "111122223333"),
        call("2024-05-01T00:03:00Z", created, "call-3", "us-east-1"),
        call("2024-05-01T00:02:00Z", created, "call-2", "us-east-1"),
        call("2024-05-01T00:01:00Z", created, "call-1", "us-east-1"),
        creator(created),
    ];
    let entries: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({"EventId": e["eventID"], "EventName": e["eventName"], "ReadOnly": "true",
                "EventTime": in_plus_two(e["eventTime"].as_str().unwrap()), "EventSource": e["eventSource"],
                "Resources": [], "CloudTrailEvent": e.to_string()})
        })
        .collect();
    serde_json::to_string_pretty(&json!({ "Events": entries })).unwrap()
}

/// `2024-05-01T00:01:00Z` as the CLI prints it in a +02:00 zone: `2024-05-01T02:01:00+02:00`.
fn in_plus_two(utc: &str) -> String {
    let hour: u32 = utc[11..13].parse().unwrap();
    assert!(hour < 22);
    format!("{}{:02}{}+02:00", &utc[..11], hour + 2, &utc[13..19])
}

#[test]
fn lookup_events_are_read_oldest_first() {
    let doc = lookup_events_document();
    for extra in [&["--hold", "0"][..], &[], &["--threads", "2"]] {
        let run = run(extra, Some(doc.as_bytes()));
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_calls_exact(&run, 3);
        if extra.first() == Some(&"--hold") {
            assert_eq!(
                event_ids(&run),
                ["create", "call-1", "call-2", "call-3", "bob-late"]
            );
        }
    }
}

/// The real S3 deliveries of ../shared/data/invictus, given backwards: the output is byte for
/// byte that of the files in delivery order.
#[test]
#[ignore = "needs ../shared/data"]
fn real_deliveries_given_backwards_give_the_output_of_delivery_order() {
    let data = shared_data();
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("invictus/s3"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 55);
    let in_order = run_files(&[], &files);
    assert_eq!(in_order.code, Some(0));
    assert_eq!(in_order.stderr, "");
    files.reverse();
    let backwards = run_files(&[], &files);
    assert!(backwards
        .stderr
        .contains("reading the 55 S3 trail files in delivery-time order"));
    assert!(backwards.stdout == in_order.stdout, "the output differs");
    assert!(in_order.lines().len() > 2000);
}

/// A trail file cut short (a partial download: its gzip stream ends early) gives the records
/// before the cut, exactly as the whole file gives them, then one truncated record for the rest;
/// the files around it are read whole, with one thread or several. Before, the cut file's
/// records were all rejected with it.
#[test]
fn a_trail_file_cut_short_keeps_its_whole_records() {
    let dir = scratch("cut-short");
    let story: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/s3"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let whole = story
        .iter()
        .find(|p| p.to_string_lossy().contains("444455556666"))
        .unwrap();
    let other = story
        .iter()
        .find(|p| p.to_string_lossy().contains("111122223333"))
        .unwrap();
    let gz = std::fs::read(whole).unwrap();
    let mut json = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut json).unwrap();
    let records = serde_json::from_slice::<Value>(&json).unwrap()["Records"]
        .as_array()
        .unwrap()
        .len();
    assert!(records >= 4, "the fixture holds {records} records");
    // Cut inside the third record: the first two are whole.
    let starts: Vec<usize> = (0..json.len())
        .filter(|&i| json[i..].starts_with(b"{\"eventVersion\":\""))
        .collect();
    let cut_at = starts[2] + 40;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&json).unwrap();
    let full = e.finish().unwrap();
    // A gzip stream cut where the inflated text is past the cut: find the shortest prefix of the
    // compressed bytes that inflates beyond `cut_at`, and not to the end.
    let cut = (1..full.len())
        .find(|&n| {
            let mut out = Vec::new();
            let _ = std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&full[..n]), &mut out);
            out.len() > cut_at
        })
        .unwrap();
    let cut_file = dir.join(whole.file_name().unwrap());
    std::fs::write(&cut_file, &full[..cut]).unwrap();
    let want_whole = run_files(&["--hold", "0"], std::slice::from_ref(whole)).records();
    let others = run_files(&["--hold", "0"], std::slice::from_ref(other))
        .records()
        .len();
    for threads in ["1", "2", "4"] {
        let alone = run_files(
            &["--hold", "0", "--threads", threads],
            std::slice::from_ref(&cut_file),
        );
        assert_eq!(alone.code, Some(1), "{}", alone.stderr);
        let got = alone.records();
        assert!(
            got.len() >= 2 && got.len() < records,
            "--threads {threads}: {} of {records} records of the cut file",
            got.len()
        );
        assert!(
            got == want_whole[..got.len()],
            "--threads {threads}: the records before the cut are not what the whole file gives"
        );
        assert!(
            alone
                .stderr
                .contains(&format!("{}:1: truncated record", cut_file.display())),
            "{}",
            alone.stderr
        );
        // Beside another file: both read, the other whole.
        let both = run_files(
            &["--hold", "0", "--threads", threads],
            &[cut_file.clone(), other.clone()],
        );
        assert_eq!(both.code, Some(1), "{}", both.stderr);
        assert_eq!(both.records().len(), got.len() + others, "--threads {threads}");
    }
}
