//! Input read in the order the events happened (issue 12): S3 trail files by the delivery time in
//! their names, whatever order the shell gave them in; `aws cloudtrail lookup-events` documents
//! (newest first) oldest first. Read the wrong way round, the hold window's event-time watermark
//! runs far ahead and calls read before their creator go out unlinked.

use crate::util::*;
use serde_json::{json, Value};

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
