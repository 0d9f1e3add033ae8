//! Where the data really lives (issue 18): CloudWatch Logs subscription payloads, Security Lake's
//! OCSF records and SIEM exports, recognised per record without a flag. Fixtures and how they were
//! made: tests/fixtures/streams/ (make_streams.py, ct2ocsf.py, make_layouts.py).

use crate::util::*;
use serde_json::Value;
use std::path::PathBuf;

fn streams() -> PathBuf {
    fixtures().join("streams")
}

/// The output of the same 9 BASE events given directly, one per line.
fn direct() -> Run {
    let run = run_file(&fixtures().join("shapes/lines.ndjson"), &["--hold", "0"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    run
}

/// Shapes 1 and 3 write each inner record as itself, with the very annotation it gets when given
/// directly: the whole output is byte-identical to reading the events directly.
#[test]
fn subscription_and_siem_output_equals_reading_the_events_directly() {
    let want = direct();
    assert_eq!(want.lines().len(), 9);
    let inputs = [
        "subscription-decoded.ndjson",
        "subscription-lambda.ndjson",
        "subscription-firehose.gz",
        "siem-elastic.ndjson",
        "siem-elastic-flat.ndjson",
        "siem-splunk.ndjson",
        "siem-message.ndjson",
    ];
    for name in inputs {
        for threads in ["1", "2", "4"] {
            let got = run_file(&streams().join(name), &["--hold", "0", "--threads", threads]);
            assert_eq!(got.code, Some(0), "{name}: {}", got.stderr);
            assert_eq!(got.stderr, "", "{name} reported something");
            assert_eq!(
                String::from_utf8_lossy(&got.stdout),
                String::from_utf8_lossy(&want.stdout),
                "{name} --threads {threads}"
            );
        }
        // On stdin too, and with the default hold: nothing lost, nothing duplicated.
        let data = std::fs::read(streams().join(name)).unwrap();
        let got = run(&[], Some(&data));
        assert_eq!(got.code, Some(0), "{name}: {}", got.stderr);
        assert_records(
            &sorted(got.records()),
            &sorted(read_lines(&streams().join("subscription.expected.ndjson"))),
            &format!("{name} on stdin"),
        );
    }
}

/// A Firehose object inflates to one line of payloads back to back, megabytes long. It is read
/// payload by payload: only each payload has to fit in --max-record-bytes, not the object, and
/// the payloads are decoded in parallel. (Before, such an object was one record "larger than
/// --max-record-bytes", every event in it lost.)
#[test]
fn a_firehose_object_larger_than_the_record_limit_is_read_payload_by_payload() {
    use std::io::{Read, Write};
    let mut payloads = Vec::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(streams().join("subscription-firehose.gz")).unwrap(),
    )
    .read_to_end(&mut payloads)
    .unwrap();
    assert!(!payloads.contains(&b'\n'));
    // 40 copies as members back to back: 770 kB inflated, one line, 8 times the limit given.
    let copies = 40;
    let mut object = Vec::new();
    for _ in 0..copies {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&payloads).unwrap();
        object.extend(gz.finish().unwrap());
    }
    let path = scratch("firehose-object").join("object.gz");
    std::fs::write(&path, &object).unwrap();
    let limit = (copies * payloads.len() / 8).to_string();
    let want: Vec<Value> = direct()
        .json()
        .into_iter()
        .map(|r| r["eventID"].clone())
        .collect();
    for threads in ["1", "2", "4"] {
        let got = run_file(
            &path,
            &[
                "--hold",
                "0",
                "--threads",
                threads,
                "--max-record-bytes",
                &limit,
                "--stats",
            ],
        );
        assert_eq!(got.code, Some(0), "{}", got.stderr);
        let stats: Value = serde_json::from_str(got.stderr.trim()).expect("--stats JSON on stderr");
        assert_eq!(stats["rejected"], 0, "--threads {threads}: {stats}");
        assert_eq!(stats["control_messages"], copies, "--threads {threads}");
        let ids: Vec<Value> = got.json().into_iter().map(|r| r["eventID"].clone()).collect();
        let repeated: Vec<Value> = want.iter().cycle().take(want.len() * copies).cloned().collect();
        assert_eq!(ids, repeated, "--threads {threads}");
    }
}

#[test]
fn control_messages_are_counted_not_rejected() {
    for name in [
        "subscription-decoded.ndjson",
        "subscription-lambda.ndjson",
        "subscription-firehose.gz",
    ] {
        let got = run_file(&streams().join(name), &["--stats"]);
        assert_eq!(got.code, Some(0), "{name}: {}", got.stderr);
        let stats: Value = serde_json::from_str(got.stderr.trim()).expect("--stats JSON on stderr");
        assert_eq!(stats["control_messages"], 1, "{name}");
        assert_eq!(stats["rejected"], 0, "{name}");
        assert_eq!(stats["records_out"], 9, "{name}");
    }
}

/// A payload that does not open is one bad record, reported where it was, between good ones.
#[test]
fn a_bad_payload_is_reported_where_it_is() {
    let lambda = read_lines(&streams().join("subscription-lambda.ndjson"));
    let mut input = Vec::new();
    input.extend_from_slice(&lambda[1]);
    input.extend_from_slice(b"\n{\"awslogs\":{\"data\":\"H4sI*not base64\"}}\n");
    input.extend_from_slice(&lambda[2]);
    input.push(b'\n');
    let got = run(&["--hold", "0"], Some(&input));
    assert_eq!(got.records().len(), 9, "{}", got.stderr);
    assert!(
        got.stderr.contains(
            "<stdin>:2: CloudWatch Logs subscription payload: awslogs.data is not base64 (at character 4)"
        ),
        "{}",
        got.stderr
    );
    // Inflating past --max-record-bytes stops there.
    let got = run(&["--hold", "0", "--max-record-bytes", "6000"], Some(&input));
    assert!(
        got.stderr.contains(
            "<stdin>:1: CloudWatch Logs subscription payload: awslogs.data inflates past --max-record-bytes"
        ),
        "{}",
        got.stderr
    );
}

#[test]
fn a_siem_export_without_the_raw_record_is_rejected_with_one_note() {
    let dir = scratch("siem-normalised");
    let reject = dir.join("rejected.ndjson");
    let got = run_file(
        &streams().join("siem-normalised.ndjson"),
        &["--reject", reject.to_str().unwrap()],
    );
    assert_eq!(got.stdout, b"");
    assert_eq!(
        got.stderr
            .matches("note: Elastic export without the raw CloudTrail record")
            .count(),
        1,
        "{}",
        got.stderr
    );
    assert!(got.stderr.contains("event.original"), "{}", got.stderr);
    assert_eq!(
        got.stderr
            .matches("export without the raw CloudTrail record (event.original or _raw)")
            .count(),
        3
    );
    assert_eq!(
        read_lines(&reject),
        read_lines(&streams().join("siem-normalised.ndjson"))
    );
}

/// `--quiet` silences the note too, as every other message; the records are still rejected.
#[test]
fn quiet_silences_the_siem_note() {
    let dir = scratch("siem-quiet");
    let reject = dir.join("rejected.ndjson");
    let got = run_file(
        &streams().join("siem-normalised.ndjson"),
        &["--quiet", "--reject", reject.to_str().unwrap()],
    );
    assert_eq!(got.stderr, "", "{}", got.stderr);
    assert_eq!(
        read_lines(&reject),
        read_lines(&streams().join("siem-normalised.ndjson"))
    );
}

/// Each event's origin (type and ARN or name), `None` when unlinked or ambiguous.
fn origins(run: &Run) -> Vec<Option<(String, String)>> {
    run.json()
        .iter()
        .map(|v| {
            let c = &v["ctail"];
            let o = &c["origin"];
            match c["confidence"].as_str() {
                Some("exact" | "heuristic") if o.is_object() => Some((
                    o["type"].as_str().unwrap_or("").to_string(),
                    o["arn"].as_str().or(o["name"].as_str()).unwrap_or("").to_string(),
                )),
                _ => None,
            }
        })
        .collect()
}

/// OCSF made from the BASE events and from examples/story.ndjson (ct2ocsf.py): every output line is
/// the OCSF record with the annotation appended, and every event has the origin the raw record
/// gives it.
#[test]
fn ocsf_records_keep_their_origins() {
    let story = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/story.ndjson");
    let pairs = [
        (
            fixtures().join("shapes/lines.ndjson"),
            streams().join("ocsf-base.ndjson"),
            9,
        ),
        (story, streams().join("ocsf-story.ndjson"), 33),
    ];
    for (raw, ocsf, with_origin) in pairs {
        for threads in ["1", "2"] {
            let a = run_file(&raw, &["--hold", "0", "--quiet", "--threads", threads]);
            let b = run_file(&ocsf, &["--hold", "0", "--quiet", "--threads", threads]);
            assert_eq!(b.code, Some(0));
            assert_records(
                &b.records(),
                &read_lines(&ocsf),
                "OCSF records written as they came",
            );
            let (oa, ob) = (origins(&a), origins(&b));
            assert_eq!(oa.len(), ob.len());
            assert_eq!(oa.iter().flatten().count(), with_origin, "{}", raw.display());
            assert_eq!(oa, ob, "{} from OCSF", raw.display());
        }
    }
}

/// A link that a field OCSF drops would have confirmed is heuristic, with a reason naming OCSF.
#[test]
fn ocsf_weakens_what_it_cannot_confirm() {
    let raw = run_file(
        &streams().join("ocsf-trap-web-identity.raw.ndjson"),
        &["--hold", "0"],
    );
    let ocsf = run_file(&streams().join("ocsf-trap-web-identity.ndjson"), &["--hold", "0"]);
    let (a, b) = (raw.json(), ocsf.json());
    assert_eq!(a[1]["ctail"]["confidence"], "exact");
    assert_eq!(b[1]["ctail"]["confidence"], "heuristic");
    assert!(b[1]["ctail"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("OCSF input:"));
    assert_eq!(a[1]["ctail"]["origin"], b[1]["ctail"]["origin"]);
    // Two web identity jobs collide on one session: without the subject, address and agent would
    // be a guess between them, so the OCSF reading is ambiguous (the raw one picks by subject).
    let trap = fixtures().join("traps/c5-web-identity-subject-wins.ndjson");
    let converted = convert(&trap);
    let Some(converted) = converted else { return };
    let b = run(&["--quiet"], Some(&converted));
    let conf: Vec<String> = b
        .json()
        .iter()
        .map(|v| v["ctail"]["confidence"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(conf, ["exact", "exact", "ambiguous", "ambiguous", "ambiguous"]);
}

/// ct2ocsf.py on a file (None, and a note, where python3 is absent).
fn convert(path: &std::path::Path) -> Option<Vec<u8>> {
    let script = streams().join("ct2ocsf.py");
    let input = std::fs::File::open(path).unwrap();
    match std::process::Command::new("python3")
        .arg(script)
        .stdin(input)
        .output()
    {
        Ok(out) if out.status.success() => Some(out.stdout),
        Ok(out) => panic!("ct2ocsf.py failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => {
            skipped(&format!("python3 is not available ({e})"));
            None
        }
    }
}

/// OCSF records in the layouts exporters write (tests/fixtures/streams/layouts, written for this
/// repository by make_layouts.py): both id layouts are read, and the annotation of each equals that
/// of the CloudTrail record it was made from.
#[test]
fn ocsf_record_layouts() {
    let dir = streams().join("layouts");
    for v in ["v1.0.0-rc.2", "v1.1.0"] {
        for f in ["generic_api_activity", "account_change", "authentication"] {
            let a = run_file(&dir.join(format!("{f}.raw")), &[]);
            let b = run_file(&dir.join(format!("{v}-{f}.ocsf")), &[]);
            assert_eq!((a.code, b.code), (Some(0), Some(0)), "{v}-{f}: {}", b.stderr);
            let (a, b) = (a.json(), b.json());
            assert_eq!(b.len(), 1);
            // The IAM user's calls have an origin; the role session's creator is not there.
            let named = a[0]["ctail"]["origin"].is_object();
            assert_eq!(named, f != "account_change", "{f}: {}", a[0]["ctail"]);
            assert_eq!(a[0]["ctail"], b[0]["ctail"], "{v}-{f}");
        }
    }
    // An exporter's `created_time: 0` is "not set", not 1970: the IAM user is still the origin.
    let b = run_file(&dir.join("bloblang-v1.1.0-generic_api_activity.ocsf"), &[]).json();
    assert_eq!(
        b[0]["ctail"]["origin"]["arn"],
        "arn:aws:iam::111122223333:user/mei"
    );
    assert_eq!(b[0]["ctail"]["confidence"], "exact");
}

/// The real data: OCSF made from every ../shared/data event by ct2ocsf.py gives each event the origin
/// the raw record gives it, or none; never another (measure.py prints the full table).
#[test]
#[ignore = "needs ../shared/data and python3"]
fn ocsf_from_the_real_data() {
    let data = shared_data();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path().join("events.ndjson")))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let out = std::process::Command::new("python3")
        .arg(streams().join("measure.py"))
        .arg(bin())
        .args(&files)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => return skipped(&format!("python3 is not available ({e})")),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let total = text
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .expect("a TOTAL line");
    let counts: Value = serde_json::from_str(total.split('\t').nth(1).unwrap()).unwrap();
    assert_eq!(counts["wrong"], 0, "{text}");
    assert_eq!(counts["missing"], 0, "{text}");
    let share = counts["same"].as_f64().unwrap() / counts["with_origin"].as_f64().unwrap();
    assert!(share >= 0.99, "{text}");
}

/// What AWS's delivery services hand a consumer (CLOUDTRAIL.md §7; issue 18's "what a Lambda, a
/// Kinesis consumer or Firehose sees"): a Kinesis-triggered Lambda's event, `aws kinesis
/// get-records`' output (indented, as the CLI writes it), Firehose's transformation event, and
/// SQS and SNS events carrying EventBridge events; and what the AWS CLI prints for the log group
/// (`aws logs filter-log-events`, `get-log-events`) and the queue (`aws sqs receive-message`).
/// Each record inside is written as itself,
/// byte-identical to reading the events directly. (Before, a Kinesis event's records went out as
/// if they were CloudTrail records, and the nine events in them were lost without a word.)
#[test]
fn deliveries_output_equals_reading_the_events_directly() {
    let want = direct();
    for (name, controls) in [
        ("delivery-kinesis-lambda.json", 1),
        ("delivery-kinesis-get-records.json", 1),
        ("delivery-firehose-transform.json", 1),
        ("delivery-sqs-sns.ndjson", 0),
        ("cli-filter-log-events.json", 0),
        ("cli-get-log-events.json", 0),
        ("cli-sqs-receive-message.json", 0),
        ("cli-logs-insights.json", 0),
        ("cli-logs-insights-ascending.json", 0),
    ] {
        for threads in ["1", "2", "4"] {
            let got = run_file(
                &streams().join(name),
                &["--hold", "0", "--threads", threads, "--stats"],
            );
            assert_eq!(got.code, Some(0), "{name}: {}", got.stderr);
            let stats: Value = serde_json::from_str(got.stderr.trim())
                .unwrap_or_else(|_| panic!("{name}: only --stats on stderr: {}", got.stderr));
            assert_eq!(stats["rejected"], 0, "{name}");
            assert_eq!(stats["control_messages"], controls, "{name}");
            assert_eq!(
                String::from_utf8_lossy(&got.stdout),
                String::from_utf8_lossy(&want.stdout),
                "{name} --threads {threads}"
            );
        }
        let data = std::fs::read(streams().join(name)).unwrap();
        let got = run(&["--hold", "0"], Some(&data));
        assert_eq!(got.stdout, want.stdout, "{name} on stdin: {}", got.stderr);
    }
}

/// Trap: S3 and DynamoDB notifications have eventVersion, eventSource, eventName and eventTime,
/// the S3 one even a userIdentity with a real principal's id. They are no CloudTrail records:
/// rejected, saying what they are, never annotated as events of that principal.
#[test]
fn event_notifications_are_not_taken_for_cloudtrail_records() {
    let dir = scratch("notifications");
    let reject = dir.join("rejected.ndjson");
    let input = streams().join("delivery-notifications.ndjson");
    let got = run_file(&input, &["--hold", "0", "--reject", reject.to_str().unwrap()]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert_eq!(String::from_utf8_lossy(&got.stdout), "");
    for (line, source) in [(1, "aws:s3"), (2, "aws:dynamodb")] {
        let want = format!(
            "delivery-notifications.ndjson:{line}: not a CloudTrail event: an event notification from {source}"
        );
        assert!(got.stderr.contains(&want), "{want}\n{}", got.stderr);
    }
    // Once, how to read what S3's notifications name; not at all with --quiet.
    let note = "note: S3 event notifications name the files CloudTrail wrote, not the events in them: \
                read the objects (aws s3 cp s3://trail/AWSLogs/x.json.gz - | ctail-filter)";
    assert_eq!(got.stderr.matches(note).count(), 1, "{}", got.stderr);
    let quiet = run_file(&input, &["--quiet"]);
    assert_eq!(quiet.stderr, "");
    // What is rejected is each notification, as it came.
    let rejected: Vec<Value> = read_lines(&reject)
        .iter()
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let sources: Vec<&str> = rejected
        .iter()
        .map(|r| r["eventSource"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["aws:s3", "aws:dynamodb"]);
}

/// A Kinesis record whose data does not open is one bad record, reported where it is; the
/// records around it in the same event come out.
#[test]
fn a_delivery_record_that_does_not_open_is_reported_between_good_ones() {
    for (name, field, what) in [
        (
            "delivery-kinesis-lambda.json",
            "\"data\":\"",
            "Kinesis record: kinesis.data",
        ),
        (
            "delivery-kinesis-get-records.json",
            "\"Data\": \"",
            "Kinesis record: Data",
        ),
        (
            "delivery-firehose-transform.json",
            "\"data\":\"",
            "Firehose record: data",
        ),
    ] {
        let text = std::fs::read_to_string(streams().join(name)).unwrap();
        // The second record's data (BASE 1-4) is broken at its fifth character.
        let second = text.match_indices(field).nth(1).unwrap().0 + field.len();
        let broken = format!("{}H4sI*{}", &text[..second], &text[second + 5..]);
        let got = run(&["--hold", "0", "--stats"], Some(broken.as_bytes()));
        assert_eq!(got.code, Some(0), "{name}: {}", got.stderr);
        let ids: Vec<Value> = got.json().into_iter().map(|r| r["eventID"].clone()).collect();
        let want: Vec<Value> = direct().json()[4..]
            .iter()
            .map(|r| r["eventID"].clone())
            .collect();
        assert_eq!(ids, want, "{name}: BASE 5-9 from the third record");
        let message = format!(": {what} is not base64 (at character 4)");
        assert!(got.stderr.contains(&message), "{name}: {message}\n{}", got.stderr);
    }
}

/// `scripts/check-aws-cli-reads`: the real AWS CLI (v1 or v2) against a local mock (moto) holding
/// the story: `aws logs filter-log-events`, `get-log-events` and a Logs Insights query's
/// `get-query-results`, `aws sqs receive-message` of
/// EventBridge events and `aws kinesis get-records` of subscription payloads, each read as
/// story.ndjson is. Needs `aws`, `moto_server` and boto3 (`.ci/run` installs them where it can):
/// otherwise the script and this test say they are skipped.
#[test]
fn the_real_aws_cli_output_of_logs_queues_and_streams() {
    check_script("check-aws-cli-reads", 5);
}

/// Trap: a Logs Insights query without `fields @message` has no record in its rows, only fields
/// Logs Insights parsed. Nothing is guessed from them: each row is rejected, saying what to add.
#[test]
fn logs_insights_rows_without_the_message_are_rejected_saying_why() {
    let got = run_file(
        &streams().join("cli-logs-insights-no-message.json"),
        &["--hold", "0"],
    );
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert_eq!(String::from_utf8_lossy(&got.stdout), "");
    let why = "a Logs Insights row without @message (add `fields @message` to the query)";
    assert_eq!(got.stderr.matches(why).count(), 2, "{}", got.stderr);
}
