//! Hostile input: each bad thing sits between good events, and every good event must still come
//! out with its bytes kept and its lineage intact. A bad record is either passed through (it is a
//! valid event with strange contents) or reported on stderr as `<stdin>:LINE: reason`; the run
//! exits 0 either way. Also the regressions found by fuzzing (fuzz/README.md).

use crate::util::*;
use ctail_filter::input::framer::{Frame, Framer};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The good events: alice, two AssumeRoles into `deploy` and the sessions' calls.
fn goods() -> Vec<Vec<u8>> {
    read_lines(&fixtures().join("lineage/assume-role.ndjson"))
}

/// (eventID, confidence, origin arn or "-") for each good event, from the fixture's expectations.
fn expected_lineage() -> Vec<(String, String, String)> {
    std::fs::read_to_string(fixtures().join("lineage/assume-role.expect.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].into(), f[1].into(), f[3].into())
        })
        .collect()
}

/// The first three good events, `bad` (its own lines), then the other five.
fn sandwich(bad: &[u8]) -> Vec<u8> {
    let g = goods();
    let mut input = Vec::new();
    for l in &g[..3] {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    input.extend_from_slice(bad);
    if !bad.ends_with(b"\n") {
        input.push(b'\n');
    }
    for l in &g[3..] {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    input
}

/// Line number (1-based) of the first bad line in a [`sandwich`].
const BAD_LINE: u64 = 4;

/// Exit 0, every output line JSON with its annotation, and every good event out exactly once, in
/// order, unchanged and attributed as in the fixture. Returns the records that are not goods.
#[track_caller]
fn assert_goods_survive(run: &Run, what: &str) -> Vec<Vec<u8>> {
    assert_eq!(run.code, Some(0), "{what}: {}", first_kb(&run.stderr));
    let goods = goods();
    let json = run.json();
    let records = run.records();
    let mut seen = Vec::new();
    let mut others = Vec::new();
    for (rec, v) in records.into_iter().zip(&json) {
        match goods.iter().position(|g| *g == rec) {
            Some(i) => seen.push((i, v.clone())),
            None => others.push(rec),
        }
    }
    let order: Vec<usize> = seen.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        order,
        (0..goods.len()).collect::<Vec<_>>(),
        "{what}: good events out"
    );
    for ((_, v), (id, conf, origin)) in seen.iter().zip(expected_lineage()) {
        assert_eq!(v["eventID"], id.as_str(), "{what}");
        assert_eq!(v["ctail"]["confidence"], conf.as_str(), "{what}: {id}");
        if origin != "-" {
            assert_eq!(v["ctail"]["origin"]["arn"], origin.as_str(), "{what}: {id}");
        }
    }
    others
}

/// Runs `bad` between the goods without holding (so output keeps input order).
fn run_sandwich(bad: &[u8], extra: &[&str]) -> Run {
    let mut args = vec!["--hold", "0"];
    args.extend_from_slice(extra);
    run(&args, Some(&sandwich(bad)))
}

fn first_kb(s: &str) -> &str {
    let mut n = s.len().min(1024);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

/// stderr names `<stdin>:line:` with `reason`, exactly `times` times.
#[track_caller]
fn assert_reported(run: &Run, line: u64, reason: &str, times: usize) {
    let prefix = format!("ctail-filter: <stdin>:{line}: ");
    let n = run
        .stderr
        .lines()
        .filter(|l| l.starts_with(&prefix) && l.contains(reason))
        .count();
    assert_eq!(
        n,
        times,
        "`{prefix}{reason}` in stderr:\n{}",
        first_kb(&run.stderr)
    );
}

/// A self-contained pair of events (bob assumes role `x{n}`, the session calls S3) that touches
/// none of the goods' identities.
fn template(n: usize) -> [Value; 2] {
    let session = format!("bob-{n}");
    let key = format!("ASIAHOSTILE{n:08}");
    let creator = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAHOSTILE", "arn": "arn:aws:iam::999988887777:user/bob", "accountId": "999988887777", "accessKeyId": "AKIAHOSTILE", "userName": "bob",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAX", "arn": "arn:aws:iam::999988887777:role/x", "accountId": "999988887777", "userName": "x"}, "attributes": {"creationDate": "2024-03-12T09:00:00Z", "mfaAuthenticated": "false"}, "sourceIdentity": "bob", "ec2RoleDelivery": "2.0", "assumedRoot": "false"},
            "onBehalfOf": {"userId": "u-1", "identityStoreArn": "arn:aws:identitystore::1:identitystore/d-1"},
            "inScopeOf": {"issuerType": "AWS::EC2::Instance", "credentialsIssuedTo": "i-0123"},
            "invokedBy": "sts.amazonaws.com", "identityProvider": "idp", "credentialId": "c-1"},
        "eventTime": "2024-03-12T09:20:00Z",
        "@timestamp": "2024-03-12T09:20:00Z",
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRole",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "hostile-agent",
        "errorCode": "",
        "requestParameters": {"roleArn": format!("arn:aws:iam::999988887777:role/x{n}"), "roleSessionName": session, "sourceIdentity": "bob", "name": "fed", "durationSeconds": 3600, "targetPrincipal": "arn:aws:iam::1:root"},
        "responseElements": {
            "credentials": {"accessKeyId": key, "expiration": "Mar 12, 2024, 10:20:00 AM"},
            "assumedRoleUser": {"arn": format!("arn:aws:sts::999988887777:assumed-role/x{n}/{session}"), "assumedRoleId": format!("AROAX{n}:{session}")},
            "federatedUser": {"arn": "arn:aws:sts::1:federated-user/f", "federatedUserId": "1:f"},
            "subject": "s", "issuer": "i", "nameQualifier": "q", "subjectFromWebIdentityToken": "w", "provider": "p", "sourceIdentity": "bob",
            "ConsoleLogin": "Success", "SwitchRole": "Success", "GetSigninToken": "Success"},
        "additionalEventData": {"SwitchFrom": "arn:aws:iam::1:user/y", "RedirectTo": "https://console"},
        "serviceEventDetails": {"role_name": "r", "account_id": "1"},
        "eventID": format!("hostile-create-{n}"),
        "eventType": "AwsApiCall",
        "recipientAccountId": "999988887777",
        "sharedEventID": format!("shared-{n}"),
        "sessionCredentialFromConsole": "false",
        "detail": {"x": 1},
        "detail-type": "t",
        "payload": "p",
        "CloudTrailEvent": "c"
    });
    let call = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "principalId": format!("AROAX{n}:{session}"), "arn": format!("arn:aws:sts::999988887777:assumed-role/x{n}/{session}"), "accountId": "999988887777", "accessKeyId": key,
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": format!("AROAX{n}"), "arn": format!("arn:aws:iam::999988887777:role/x{n}"), "accountId": "999988887777", "userName": format!("x{n}")}, "attributes": {"creationDate": "2024-03-12T09:20:00Z", "mfaAuthenticated": "false"}}},
        "eventTime": "2024-03-12T09:21:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "hostile-agent",
        "eventID": format!("hostile-call-{n}"),
        "recipientAccountId": "999988887777"
    });
    [creator, call]
}

/// Every path to a field the engine reads (event.rs), as JSON pointers.
const ENGINE_FIELDS: &[&str] = &[
    "/eventVersion",
    "/userIdentity",
    "/userIdentity/type",
    "/userIdentity/principalId",
    "/userIdentity/arn",
    "/userIdentity/accountId",
    "/userIdentity/accessKeyId",
    "/userIdentity/userName",
    "/userIdentity/invokedBy",
    "/userIdentity/identityProvider",
    "/userIdentity/credentialId",
    "/userIdentity/sessionContext",
    "/userIdentity/sessionContext/sessionIssuer",
    "/userIdentity/sessionContext/sessionIssuer/type",
    "/userIdentity/sessionContext/sessionIssuer/principalId",
    "/userIdentity/sessionContext/sessionIssuer/arn",
    "/userIdentity/sessionContext/sessionIssuer/accountId",
    "/userIdentity/sessionContext/sessionIssuer/userName",
    "/userIdentity/sessionContext/attributes",
    "/userIdentity/sessionContext/attributes/creationDate",
    "/userIdentity/sessionContext/attributes/mfaAuthenticated",
    "/userIdentity/sessionContext/sourceIdentity",
    "/userIdentity/sessionContext/ec2RoleDelivery",
    "/userIdentity/sessionContext/assumedRoot",
    "/userIdentity/onBehalfOf",
    "/userIdentity/onBehalfOf/userId",
    "/userIdentity/onBehalfOf/identityStoreArn",
    "/userIdentity/inScopeOf",
    "/userIdentity/inScopeOf/issuerType",
    "/userIdentity/inScopeOf/credentialsIssuedTo",
    "/eventTime",
    "/@timestamp",
    "/eventSource",
    "/eventName",
    "/sourceIPAddress",
    "/userAgent",
    "/errorCode",
    "/requestParameters",
    "/requestParameters/roleArn",
    "/requestParameters/roleSessionName",
    "/requestParameters/sourceIdentity",
    "/requestParameters/name",
    "/requestParameters/durationSeconds",
    "/requestParameters/targetPrincipal",
    "/responseElements",
    "/responseElements/credentials",
    "/responseElements/credentials/accessKeyId",
    "/responseElements/credentials/expiration",
    "/responseElements/assumedRoleUser",
    "/responseElements/assumedRoleUser/arn",
    "/responseElements/assumedRoleUser/assumedRoleId",
    "/responseElements/federatedUser",
    "/responseElements/federatedUser/arn",
    "/responseElements/federatedUser/federatedUserId",
    "/responseElements/subject",
    "/responseElements/issuer",
    "/responseElements/nameQualifier",
    "/responseElements/subjectFromWebIdentityToken",
    "/responseElements/provider",
    "/responseElements/sourceIdentity",
    "/responseElements/ConsoleLogin",
    "/responseElements/SwitchRole",
    "/responseElements/GetSigninToken",
    "/additionalEventData",
    "/additionalEventData/SwitchFrom",
    "/additionalEventData/RedirectTo",
    "/serviceEventDetails",
    "/serviceEventDetails/role_name",
    "/serviceEventDetails/account_id",
    "/eventID",
    "/eventType",
    "/recipientAccountId",
    "/sharedEventID",
    "/sessionCredentialFromConsole",
    "/detail",
    "/detail-type",
    "/payload",
    "/CloudTrailEvent",
];

/// Values of every JSON type (the wrong one for each field, whichever it is).
fn wrong_values() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(0),
        json!(-12345678901234_i64),
        json!(18446744073709551615_u64),
        json!(1.5e300),
        json!("a string"),
        json!(""),
        json!([]),
        json!([1, "two", {"three": [null]}]),
        json!({}),
        json!({"arn": {"deeper": [1, 2]}, "type": 7}),
    ]
}

/// Sets the value at a JSON pointer (the parent exists in the template).
fn set(v: &mut Value, pointer: &str, to: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = if parent.is_empty() {
        v
    } else {
        v.pointer_mut(parent).unwrap()
    };
    parent.as_object_mut().unwrap().insert(key.into(), to);
}

/// Lines of `events`, and the lines they are.
fn lines_of(events: &[Value]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut input = Vec::new();
    let mut each = Vec::new();
    for e in events {
        let l = e.to_string().into_bytes();
        input.extend_from_slice(&l);
        input.push(b'\n');
        each.push(l);
    }
    (input, each)
}

#[test]
fn a_wrong_json_type_in_any_field_the_engine_reads_costs_nothing() {
    let mut events = Vec::new();
    let mut n = 0;
    for path in ENGINE_FIELDS {
        for wrong in wrong_values() {
            for which in 0..2 {
                n += 1;
                let mut e = template(n)[which].clone();
                if e.pointer(path).is_none() && which == 1 {
                    continue;
                }
                set(&mut e, path, wrong.clone());
                events.push(e);
            }
        }
        // And the field missing.
        n += 1;
        let mut e = template(n)[0].clone();
        let (parent, key) = path.rsplit_once('/').unwrap();
        let p = if parent.is_empty() {
            &mut e
        } else {
            e.pointer_mut(parent).unwrap()
        };
        p.as_object_mut().unwrap().remove(key);
        events.push(e);
    }
    let (bad, lines) = lines_of(&events);
    for args in [&["--hold", "0"][..], &[][..]] {
        let run = crate::util::run(args, Some(&sandwich(&bad)));
        let others = if args.is_empty() {
            // Held events leave out of order: compare what came out as a whole.
            let mut want = lines.clone();
            want.extend(goods());
            assert_eq!(sorted(run.records()), sorted(want), "held run");
            continue;
        } else {
            assert_goods_survive(&run, "wrong types")
        };
        assert_records(&others, &lines, "events with a wrong type");
        assert_eq!(run.stderr, "", "nothing is reported");
    }
}

/// Every value of `v`, one at a time, replaced with `null`; then all leaves at once.
fn nulled(v: &Value) -> Vec<Value> {
    fn paths(v: &Value, at: String, out: &mut Vec<String>) {
        if let Value::Object(m) = v {
            for (k, c) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                paths(c, p, out);
            }
        } else if let Value::Array(a) = v {
            for (i, c) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                paths(c, p, out);
            }
        }
    }
    fn all_leaves(v: &mut Value) {
        match v {
            Value::Object(m) => m.values_mut().for_each(all_leaves),
            Value::Array(a) => a.iter_mut().for_each(all_leaves),
            leaf => *leaf = Value::Null,
        }
    }
    let mut ps = Vec::new();
    paths(v, String::new(), &mut ps);
    let mut out = Vec::new();
    for p in ps {
        let mut c = v.clone();
        *c.pointer_mut(&p).unwrap() = Value::Null;
        out.push(c);
    }
    let mut all = v.clone();
    all_leaves(&mut all);
    out.push(all);
    out
}

#[test]
fn null_everywhere() {
    let mut events = Vec::new();
    for (i, line) in goods().iter().enumerate() {
        let v: Value = serde_json::from_slice(line).unwrap();
        for (j, mut e) in nulled(&v).into_iter().enumerate() {
            // Their own identities: a nulled copy of a good creator must not collide with it.
            let text = e
                .to_string()
                .replace("111122223333", &format!("{:012}", i * 1000 + j));
            e = serde_json::from_str(&text).unwrap();
            events.push(e);
        }
    }
    let (mut bad, lines) = lines_of(&events);
    // Whole values that are null or hold only nulls.
    bad.extend_from_slice(b"null\n[null]\n{\"Records\":null}\n{\"Records\":[null]}\n{\"Events\":[{\"CloudTrailEvent\":null}]}\n{\"detail-type\":null,\"detail\":null}\n{\"payload\":null}\n");
    let run = run_sandwich(&bad, &[]);
    let others = assert_goods_survive(&run, "nulls");
    // Each event with one null comes out as it was; one that no longer names an event (its every
    // leaf null) is reported, and so are the null envelopes.
    let want: Vec<Vec<u8>> = lines
        .iter()
        .filter(|l| {
            let v: Value = serde_json::from_slice(l).unwrap();
            ["eventName", "eventSource", "eventID", "eventVersion", "eventTime"]
                .iter()
                .any(|k| v[k].as_str().is_some_and(|s| !s.is_empty()))
        })
        .cloned()
        .collect();
    assert_records(&others, &want, "nulled events");
    let reported = run.stderr.lines().filter(|l| l.contains("<stdin>:")).count();
    assert_eq!(
        reported,
        lines.len() - want.len() + 7,
        "{}",
        first_kb(&run.stderr)
    );
    assert!(run.stderr.contains("not a CloudTrail event"));
}

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
fn invalid_utf8() {
    let cases: &[&[u8]] = &[
        b"{\"eventName\":\"A\xff\xfeB\",\"eventID\":\"u1\"}",
        b"{\"eventName\":\"A\",\"\xc0\xaf\":1}",
        b"{\"eventName\":\"\xed\xa0\x80\"}",
        b"{\"eventName\":\"\xf4\x90\x80\x80\"}",
        b"{\"eventName\":\"cut \xe2\x82\"}",
        b"\xff\xfe{\x00\"\x00",
        b"{\"Records\":[{\"eventName\":\"\x80\"}]}",
    ];
    for (i, bad) in cases.iter().enumerate() {
        let run = run_sandwich(bad, &[]);
        let others = assert_goods_survive(&run, &format!("utf-8 case {i}"));
        assert!(others.is_empty());
        assert_eq!(
            run.stderr
                .lines()
                .filter(|l| l.contains(&format!("<stdin>:{BAD_LINE}: ")))
                .count(),
            1,
            "case {i}: {}",
            run.stderr
        );
    }
}

#[test]
fn lone_surrogates_and_huge_numbers_are_refused_everywhere_alike() {
    // Regression (fuzz target `envelope`): `\ud987` with no low half in a raw member (`payload`,
    // `detail`, `CloudTrailEvent`, `ctail`) of a record went out in a line serde_json refuses,
    // while the same escape in any other member got the record reported.
    let bad = [
        r#"{"eventName":"A","eventID":"s1","payload":"\ud987x"}"#,
        r#"{"eventName":"A","eventID":"s2","detail":{"k":["\udc00"]}}"#,
        r#"{"eventName":"A","eventID":"s3","CloudTrailEvent":"\ud800\u0041"}"#,
        r#"{"eventName":"A","eventID":"s4","ctail":{"session":"\ud800"}}"#,
        r#"{"eventName":"A","eventID":"s5","requestParameters":{"x":"\ud800"}}"#,
        r#"{"eventName":"A","eventID":"s6","userAgent":"\udfff"}"#,
        // The same for numbers beyond f64 (found the same way, in `detail`).
        r#"{"eventName":"A","eventID":"n1","detail":{"durationSeconds":86e400}}"#,
        r#"{"eventName":"A","eventID":"n2","requestParameters":{"durationSeconds":-1e999}}"#,
    ];
    for (i, b) in bad.iter().enumerate() {
        let run = run_sandwich(b.as_bytes(), &[]);
        assert!(
            assert_goods_survive(&run, &format!("surrogate case {i}")).is_empty(),
            "case {i}"
        );
        assert_reported(&run, BAD_LINE, "invalid JSON", 1);
    }
    // Paired surrogates are fine anywhere.
    let good = r#"{"eventName":"A","eventID":"s7","payload":"\ud83d\ude00","userAgent":"\ud83d\ude00"}"#;
    let run = run_sandwich(good.as_bytes(), &[]);
    assert_eq!(
        assert_goods_survive(&run, "paired surrogates"),
        [good.as_bytes().to_vec()]
    );
}

#[test]
fn nul_bytes() {
    // Raw NUL is not allowed in JSON: inside a string, between tokens, alone on a line.
    let raw: &[&[u8]] = &[
        b"{\"eventName\":\"A\x00B\"}",
        b"{\"eventName\":\"A\",\x00\"x\":1}",
        b"\x00\x00\x00",
        b"\x00{\"eventName\":\"A\"}",
    ];
    for (i, bad) in raw.iter().enumerate() {
        let run = run_sandwich(bad, &[]);
        let others = assert_goods_survive(&run, &format!("NUL case {i}"));
        assert!(others.is_empty());
        assert_eq!(
            run.stderr
                .lines()
                .filter(|l| l.contains(&format!("<stdin>:{BAD_LINE}: ")))
                .count(),
            1,
            "case {i}: {}",
            run.stderr
        );
    }
    // Escaped NULs are fine, in identities too: out unchanged, annotation still JSON.
    let [mut creator, mut call] = template(1);
    set(
        &mut creator,
        "/requestParameters/roleSessionName",
        json!("nul\u{0}name"),
    );
    let arn = "arn:aws:sts::999988887777:assumed-role/x1/nul\u{0}name";
    set(&mut creator, "/responseElements/assumedRoleUser/arn", json!(arn));
    set(&mut call, "/userIdentity/arn", json!(arn));
    set(&mut call, "/userAgent", json!("\u{0}\u{0}"));
    let (bad, lines) = lines_of(&[creator, call]);
    assert!(bad.windows(6).any(|w| w == b"\\u0000"));
    let run = run_sandwich(&bad, &[]);
    assert_records(&assert_goods_survive(&run, "escaped NUL"), &lines, "escaped NULs");
    let out = run.json();
    let call_out = out.iter().find(|v| v["eventID"] == "hostile-call-1").unwrap();
    assert_eq!(call_out["ctail"]["chain"][1]["name"], "nul\u{0}name");
}

#[test]
fn crlf_line_ends() {
    let g = goods();
    let mut input = Vec::new();
    for (i, l) in g.iter().enumerate() {
        input.extend_from_slice(l);
        input.extend_from_slice(if i % 2 == 0 { b"\r\n" } else { b"\n" });
        input.extend_from_slice(b"\r\n \r\n");
    }
    // A pretty record with CRLF inside it.
    input.extend_from_slice(b"{\r\n  \"eventName\": \"Pretty\",\r\n  \"eventID\": \"crlf\"\r\n}\r\n");
    let run = crate::util::run(&["--hold", "0"], Some(&input));
    let others = assert_goods_survive(&run, "CRLF");
    assert_eq!(others, [br#"{"eventName":"Pretty","eventID":"crlf"}"#.to_vec()]);
    assert_eq!(run.stderr, "");
}

#[test]
fn byte_order_marks() {
    let g = goods();
    let bom = b"\xEF\xBB\xBF";
    // At the start of the input.
    let mut input = bom.to_vec();
    input.extend_from_slice(&sandwich(b""));
    let run = crate::util::run(&["--hold", "0"], Some(&input));
    assert_goods_survive(&run, "BOM at start");
    // Also at the start of a later line: files concatenated with `cat` each bring their own.
    let mut input = Vec::new();
    for l in &g {
        input.extend_from_slice(bom);
        input.extend_from_slice(l);
        input.extend_from_slice(b"\r\n");
    }
    let run = crate::util::run(&["--hold", "0"], Some(&input));
    assert_goods_survive(&run, "BOM on every line");
    assert_eq!(run.stderr, "");
    // And at the start of each of several files.
    let dir = scratch("hostile-bom");
    let mut args = vec!["--hold".to_string(), "0".to_string()];
    for (i, l) in g.iter().enumerate() {
        let p = dir.join(format!("{i}.json"));
        let mut bytes = bom.to_vec();
        bytes.extend_from_slice(l);
        std::fs::write(&p, bytes).unwrap();
        args.push(p.to_str().unwrap().into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = crate::util::run(&args, None);
    assert_goods_survive(&run, "BOM per file");
    // Regression (fuzz target `framer`): an input that is nothing but a byte order mark panicked
    // (index out of bounds), with or without events before it.
    for input in [
        &b"\xEF\xBB\xBF"[..],
        b" \xEF\xBB\xBF",
        &[&sandwich(b"")[..], bom].concat(),
    ] {
        let run = crate::util::run(&["--hold", "0"], Some(input));
        assert_eq!(run.code, Some(0), "{}", first_kb(&run.stderr));
    }
    // A UTF-16 BOM is not ours to read: reported, the goods survive.
    let run = run_sandwich(b"\xFF\xFE{\x00}\x00", &[]);
    assert_goods_survive(&run, "UTF-16");
    assert_reported(&run, BAD_LINE, "", 1);
}

#[test]
fn impossible_dates_and_creation_dates() {
    let impossible = [
        "2023-02-30T00:00:00Z",
        "2023-02-29T12:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-05-00T00:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T23:60:00Z",
        "2024-05-01T23:59:61Z",
        "0000-00-00T00:00:00Z",
        "9999-99-99T99:99:99Z",
        "-001-01-01T00:00:00Z",
        "+275760-09-13T00:00:00Z",
        "2024-05-01T00:00:00+99:99",
        "2024-05-01T00:00:00.99999999999999999999999999Z",
        "2024-05-01 00:00:00.",
        "20240230T000000Z",
        "Feb 30, 2024, 1:00:00 PM",
        "Jan 1, 99999, 13:61:61 PM",
        "2024-05-01T00:00:00Z\u{0}",
        "२०२४-०५-०१T00:00:00Z",
        "",
        " ",
    ];
    let mut events = Vec::new();
    let mut n = 1000;
    for s in impossible {
        for path in [
            "/eventTime",
            "/userIdentity/sessionContext/attributes/creationDate",
            "/responseElements/credentials/expiration",
        ] {
            for which in 0..2 {
                n += 1;
                let mut e = template(n)[which].clone();
                if path.contains("credentials") && which == 1 {
                    continue;
                }
                set(&mut e, path, json!(s));
                events.push(e);
            }
        }
        // A session created at an impossible time, then used.
        n += 1;
        let [mut c, mut u] = template(n);
        set(&mut c, "/eventTime", json!(s));
        set(
            &mut u,
            "/userIdentity/sessionContext/attributes/creationDate",
            json!(s),
        );
        events.push(c);
        events.push(u);
    }
    // Numbers where dates belong: the smallest and largest, and epoch seconds.
    for t in [
        json!(i64::MIN),
        json!(u64::MAX),
        json!(-1),
        json!(1_700_000_000),
        json!(1e308),
    ] {
        n += 1;
        let [mut c, mut u] = template(n);
        set(&mut c, "/eventTime", t.clone());
        set(&mut u, "/userIdentity/sessionContext/attributes/creationDate", t);
        events.push(c);
        events.push(u);
    }
    let (bad, lines) = lines_of(&events);
    let run = run_sandwich(&bad, &[]);
    let others = assert_goods_survive(&run, "impossible dates");
    assert_records(&others, &lines, "events with impossible dates");
    assert_eq!(run.stderr, "");
    // With holding on, nothing is lost either.
    let held = crate::util::run(&["--settle", "15m"], Some(&sandwich(&bad)));
    assert_eq!(held.code, Some(0));
    let mut want = lines;
    want.extend(goods());
    assert_eq!(sorted(held.records()), sorted(want));
}

#[test]
fn duplicate_keys_and_keys_differing_only_in_case() {
    let g = goods();
    let call = std::str::from_utf8(&g[2]).unwrap();
    let inner = &call[1..call.len() - 1];
    let cases = [
        // Every member twice: the last wins, as in jq.
        format!("{{{inner},{inner}}}"),
        r#"{"eventName":"A","eventName":"B","eventName":5,"eventID":"dup-1"}"#.to_string(),
        format!(r#"{{"userIdentity":null,{inner},"userIdentity":{{"type":"IAMUser"}}}}"#),
        // The same keys in other cases are other keys.
        format!(
            "{{{}}}",
            inner
                .replace("\"userIdentity\"", "\"UserIdentity\"")
                .replace("\"eventID\"", "\"EVENTID\"")
                .replace("\"arn\"", "\"ARN\"")
        ),
        r#"{"eventname":"a","EventName":"b","EVENTNAME":"c","eventID":"case-1"}"#.to_string(),
        // A `ctail` member that is not the last is left alone.
        r#"{"ctail":1,"eventName":"A","eventID":"ctail-first"}"#.to_string(),
    ];
    let mut bad = Vec::new();
    for c in &cases {
        bad.extend_from_slice(c.as_bytes());
        bad.push(b'\n');
    }
    let run = run_sandwich(&bad, &[]);
    let others = assert_goods_survive(&run, "duplicate keys");
    let want: Vec<Vec<u8>> = cases.iter().map(|c| c.as_bytes().to_vec()).collect();
    assert_records(&others, &want, "duplicate-key events");
    assert_eq!(run.stderr, "");
    // Every annotation parses and there is one `ctail` member per line.
    for l in run.lines() {
        let t = std::str::from_utf8(l).unwrap();
        assert_eq!(t.matches("\"ctail\":{\"session\"").count(), 1, "{t}");
    }
    // Two annotations from earlier passes: the last is replaced, the first left as it was.
    let twice = br#"{"eventName":"A","eventID":"ctail-dup","ctail":{"x":1},"ctail":{"y":2}}"#;
    let run = run_sandwich(twice, &[]);
    let others = assert_goods_survive(&run, "two ctail members");
    assert_eq!(
        others,
        [br#"{"eventName":"A","eventID":"ctail-dup","ctail":{"x":1}}"#.to_vec()]
    );
}

#[test]
fn a_truncated_final_record() {
    let g = goods();
    let last = &g[3];
    let mut base = Vec::new();
    for l in &g {
        base.extend_from_slice(l);
        base.push(b'\n');
    }
    for cut in [1, 2, last.len() / 2, last.len() - 1] {
        let mut input = base.clone();
        input.extend_from_slice(&last[..cut]);
        let run = crate::util::run(&["--hold", "0"], Some(&input));
        assert_goods_survive(&run, &format!("cut at {cut}"));
        assert_reported(&run, 9, "", 1);
    }
    // Pretty, cut in the middle of a line and between lines.
    let pretty = "{\n  \"eventName\": \"Pretty\",\n  \"userIdentity\": {\n    \"type\": \"IAM";
    for cut in [pretty.len(), pretty.len() - 12, 3] {
        let mut input = base.clone();
        input.extend_from_slice(&pretty.as_bytes()[..cut]);
        let run = crate::util::run(&["--hold", "0"], Some(&input));
        assert_goods_survive(&run, &format!("pretty cut at {cut}"));
        assert_reported(&run, 9, "truncated", 1);
    }
}

#[test]
fn empty_lines() {
    let g = goods();
    let mut input = b"\n\n\r\n   \n\t\n".to_vec();
    for l in &g {
        input.extend_from_slice(l);
        input.extend_from_slice(b"\n\n \t \r\n\x0c\n");
    }
    input.extend_from_slice(&b"\n".repeat(100_000));
    let run = crate::util::run(&["--hold", "0"], Some(&input));
    let others = assert_goods_survive(&run, "empty lines");
    assert!(others.is_empty());
    // A form feed is JSON whitespace in no sense: reported; blank lines are not.
    assert!(
        run.stderr.lines().all(|l| l.contains("not a JSON object")),
        "{}",
        run.stderr
    );
    let empty = run_sandwich(b"", &[]);
    assert_goods_survive(&empty, "nothing");
    assert_eq!(empty.stderr, "");
    let nothing = crate::util::run(&[], Some(b""));
    assert_eq!((nothing.code, nothing.stdout.len()), (Some(0), 0));
}

#[test]
fn hundreds_of_thousands_of_tiny_records() {
    const N: usize = 300_000;
    let mut bad = Vec::with_capacity(N * 24);
    for i in 0..N {
        writeln!(bad, "{{\"eventID\":\"{i}\"}}").unwrap();
    }
    let run = run_sandwich(&bad, &["--stats"]);
    let others = assert_goods_survive(&run, "tiny records");
    assert_eq!(others.len(), N);
    for (i, r) in others.iter().enumerate().step_by(997) {
        assert_eq!(r, format!("{{\"eventID\":\"{i}\"}}").as_bytes());
    }
    let stats: Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(stats["records_out"], N as u64 + 8);
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

#[test]
fn a_role_chain_a_hundred_thousand_sessions_long() {
    // Each session assumes the next role: ancestry as deep as the input likes. Walks are bounded,
    // dropping the chain does not recurse, and --max-sessions still bounds what is kept. The
    // filter matches nothing, so the long chains' annotations are computed but not written.
    const N: usize = 100_000;
    let t = |i: usize| {
        let s = 1_714_521_600 + i as i64;
        let mut out = Vec::new();
        ctail_filter::time::write_iso(&mut out, s);
        String::from_utf8(out).unwrap()
    };
    let mut input = Vec::with_capacity(N * 700);
    for i in 0..N {
        let caller = if i == 0 {
            r#"{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::1:user/alice","accountId":"1","accessKeyId":"AKIAX","userName":"alice"}"#.to_string()
        } else {
            format!(
                r#"{{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s{i}","accessKeyId":"ASIA{i:016}","sessionContext":{{"attributes":{{"creationDate":"{}"}}}}}}"#,
                t(i - 1)
            )
        };
        let j = i + 1;
        writeln!(
            input,
            r#"{{"eventVersion":"1.08","userIdentity":{caller},"eventTime":"{}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{{"roleArn":"arn:aws:iam::1:role/r","roleSessionName":"s{j}"}},"responseElements":{{"credentials":{{"accessKeyId":"ASIA{j:016}","expiration":"May 9, 2024, 11:00:00 PM"}},"assumedRoleUser":{{"assumedRoleId":"AROAX:s{j}","arn":"arn:aws:sts::1:assumed-role/r/s{j}"}}}},"eventID":"e{i}","recipientAccountId":"1"}}"#,
            t(i)
        )
        .unwrap();
    }
    let run = crate::util::run(
        &["--max-sessions", "100", "--identity", "nobody", "--stats"],
        Some(&input),
    );
    assert_eq!(run.code, Some(0), "{}", first_kb(&run.stderr));
    let stats: Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(stats["records_in"], N as u64);
    assert_eq!(stats["filtered_out"], N as u64);
    assert!(stats["sessions_live"].as_u64().unwrap() <= 100, "{stats}");
    assert!(stats["edges"].as_u64().unwrap() > 1000, "{stats}");
}

fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Streams `sessions` calls, each from a session never seen before and never created in the
/// stream (so each is also held), with attacker-chosen names and user agents; every `long_every`th
/// session name is a megabyte long. Returns the resident size samples, first and second half max.
fn stream_distinct_sessions(sessions: usize, long_every: usize, threads: &str) -> (u64, u64) {
    let mut child = Command::new(bin())
        .args([
            "--max-sessions",
            "100",
            "--max-held",
            "1000",
            "--stats",
            "--threads",
            threads,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let long = "L".repeat(1 << 20);
        let mut chunk = String::new();
        for i in 0..sessions {
            let t = format!(
                "2024-05-01T{:02}:{:02}:{:02}Z",
                i / 36000 % 24,
                i / 600 % 60,
                i / 10 % 60
            );
            let name = if i % long_every == long_every - 1 {
                long.as_str()
            } else {
                "s"
            };
            chunk += &format!(
                r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/{name}{i}","accessKeyId":"ASIA{i:016}","sessionContext":{{"attributes":{{"creationDate":"{t}"}}}}}},"eventTime":"{t}","eventName":"GetObject","userAgent":"ua-{i}","eventID":"{i}"}}"#
            );
            chunk.push('\n');
            if chunk.len() > 1 << 16 {
                stdin.write_all(chunk.as_bytes()).unwrap();
                chunk.clear();
            }
        }
        stdin.write_all(chunk.as_bytes()).unwrap();
    });
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match std::io::Read::read(&mut out, &mut buf) {
                Ok(0) | Err(_) => break lines,
                Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count(),
            }
        }
    });
    let mut samples = Vec::new();
    while !writer.is_finished() {
        if let Some(kb) = rss_kb(pid) {
            samples.push(kb);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    writer.join().unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = reader.join().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(lines, sessions);
    let stats: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stderr).lines().last().unwrap()).unwrap();
    assert_eq!(stats["records_out"], sessions as u64);
    assert!(stats["sessions_live"].as_u64().unwrap() <= 100, "{stats}");
    assert!(samples.len() >= 10, "{} samples", samples.len());
    let half = samples.len() / 2;
    let first = *samples[..half].iter().max().unwrap();
    let second = *samples[half..].iter().max().unwrap();
    eprintln!(
        "resident max: first half {} MB, second half {} MB",
        first / 1024,
        second / 1024
    );
    (first, second)
}

#[test]
fn distinct_sessions_against_a_small_max_sessions_keep_memory_flat() {
    let (first, second) = stream_distinct_sessions(200_000, usize::MAX, "0");
    assert!(second < 64 * 1024, "resident {second} KB");
    assert!(
        second <= first + 4 * 1024,
        "memory grew: {first} KB then {second} KB"
    );
}

#[test]
fn megabyte_long_session_names_keep_memory_flat() {
    let (first, second) = stream_distinct_sessions(200_000, 5_000, "1");
    assert!(
        second <= first + 8 * 1024,
        "memory grew: {first} KB then {second} KB"
    );
    // Decoding threads keep a few batches in flight and pooled; one that held a megabyte record
    // is dropped rather than pooled, and the allocator settles a little more slowly (measured:
    // 37, 38 and 41 MB resident after 100k, 200k and 400k calls, against 21, 23 and 24 MB with
    // one thread).
    let (first, second) = stream_distinct_sessions(200_000, 5_000, "2");
    assert!(second < 96 * 1024, "resident {second} KB");
    assert!(
        second <= first + 16 * 1024,
        "memory grew: {first} KB then {second} KB"
    );
}
