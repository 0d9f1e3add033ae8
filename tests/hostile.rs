//! Hostile input: each bad thing sits between good events, and every good event must still come
//! out with its bytes kept and its lineage intact. A bad record is either passed through (it is a
//! valid event with strange contents) or reported on stderr as `<stdin>:LINE: reason`; the run
//! exits 0 either way. Also the regressions found by fuzzing (fuzz/README.md).
//!
//! This module holds what the themes share: the good events, the [`sandwich`] a bad record is
//! put in, the assertions on what comes out, and a [`template`] pair of events to spoil.

mod encoding; // not JSON, or at its edges: UTF-8, NUL, CRLF, BOM, cut and blank lines
mod contents; // valid JSON, wrong contents: wrong types, nulls, impossible dates, duplicate keys
mod size; // records too deep or too large: nesting, megabytes, --max-record-bytes, the framer
mod scale; // many records and sessions: tiny records, a long role chain, memory kept flat

use crate::util::*;
use serde_json::{json, Value};

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
