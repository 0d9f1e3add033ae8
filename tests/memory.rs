//! Memory per tracked session stays under 512 bytes (issue: session lineage). Its own test
//! binary: the counting allocator is process-wide. Byte counts are deterministic, not timed.

#[path = "support/session_memory.rs"]
mod workload;

#[path = "support/counting_alloc.rs"]
mod counting;
use counting::{calls, live, Counting};

#[global_allocator]
static A: Counting = Counting;

/// The counters are process-wide: the tests of this binary take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn memory_per_tracked_session_is_under_512_bytes() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let per = workload::bytes_per_session(20_000, live);
    eprintln!("{per:.0} bytes per session");
    assert!(per < 512.0, "{per:.0} bytes per session");
}

/// Allocation calls made by a whole in-process run over `events` calls of known sessions.
fn allocations_for(events: usize, threads: usize) -> isize {
    use ctail_filter::Config;
    use ctail_filter::Source;
    let mut input = String::new();
    input += r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2024-05-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/ops","roleSessionName":"botocore-session-1"},"responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLE","expiration":"May 1, 2024, 11:00:00 PM"},"assumedRoleUser":{"assumedRoleId":"AROAEXAMPLE:botocore-session-1","arn":"arn:aws:sts::111122223333:assumed-role/ops/botocore-session-1"}},"eventID":"create","recipientAccountId":"111122223333"}"#;
    input.push('\n');
    for i in 0..events {
        let (who, key) = if i % 3 == 0 {
            (
                r#""type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice""#,
                "",
            )
        } else {
            (
                r#""type":"AssumedRole","principalId":"AROAEXAMPLE:botocore-session-1","arn":"arn:aws:sts::111122223333:assumed-role/ops/botocore-session-1","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/ops"},"attributes":{"creationDate":"2024-05-01T00:00:00Z","mfaAuthenticated":"false"}}"#,
                "",
            )
        };
        input += &format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{{who}}},"eventTime":"2024-05-01T{:02}:{:02}:{:02}Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0{key}","requestParameters":{{"bucketName":"b","key":"k/{i}"}},"responseElements":null,"requestID":"r{i}","eventID":"e{i}","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333"}}"#,
            1 + i / 3600 % 20,
            i / 60 % 60,
            i % 60
        );
        input.push('\n');
    }
    let config = Config {
        sources: vec![Source::Bytes(std::sync::Arc::from(input.into_bytes()))],
        threads,
        ..Config::default()
    };
    let before = calls();
    ctail_filter::pipeline::run(&config, std::io::sink()).unwrap();
    calls() - before
}

/// No allocation per event in the steady state: a run over six times as many events makes
/// (almost) no more allocation calls. Counted in calls, not time.
#[test]
fn no_allocation_per_event_in_the_steady_state() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // One thread, and decoding threads (whose batches are pooled and reused).
    for threads in [1, 2] {
        let small = allocations_for(5_000, threads);
        let large = allocations_for(30_000, threads);
        let per_event = (large - small) as f64 / 25_000.0;
        eprintln!(
            "--threads {threads}: allocation calls: {small} for 5k events, {large} for 30k: \
             {per_event:.4} per extra event"
        );
        assert!(
            per_event < 0.01,
            "--threads {threads}: {per_event} allocations per event"
        );
    }
}
