//! The session-memory workload shared by `benches/session_memory.rs` and `tests/memory.rs`:
//! sessions minted by AssumeRole and used once, bytes counted by the caller's global allocator.

use ctail_filter::decode::decode;
use ctail_filter::internals::Chain;
use ctail_filter::internals::Lineage;

fn assume_role(i: usize) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"}},"eventTime":"2024-05-01T{:02}:{:02}:{:02}Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{{"roleArn":"arn:aws:iam::444455556666:role/deploy","roleSessionName":"botocore-session-{i}"}},"responseElements":{{"credentials":{{"accessKeyId":"ASIA{i:016}","expiration":"May 1, 2024, 11:00:00 PM"}},"assumedRoleUser":{{"assumedRoleId":"AROAEXAMPLEROLEID:botocore-session-{i}","arn":"arn:aws:sts::444455556666:assumed-role/deploy/botocore-session-{i}"}}}},"eventID":"{i:08x}-1111-2222-3333-444455556666","recipientAccountId":"111122223333"}}"#,
        t(i) / 3600,
        t(i) / 60 % 60,
        t(i) % 60
    )
}

/// Ten sessions a second, all within the credentials' lifetime.
fn t(i: usize) -> usize {
    i / 10
}

fn call(i: usize) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLEROLEID:botocore-session-{i}","arn":"arn:aws:sts::444455556666:assumed-role/deploy/botocore-session-{i}","accountId":"444455556666","accessKeyId":"ASIA{i:016}","sessionContext":{{"attributes":{{"creationDate":"2024-05-01T{:02}:{:02}:{:02}Z"}}}}}},"eventTime":"2024-05-01T{:02}:{:02}:{:02}Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","eventID":"{i:08x}-9999-2222-3333-444455556666","recipientAccountId":"444455556666"}}"#,
        t(i) / 3600,
        t(i) / 60 % 60,
        t(i) % 60,
        t(i) / 3600,
        t(i) / 60 % 60,
        t(i) % 60
    )
}

/// Bytes held per session with `n` sessions live in a table of room for `n`, as `live()` counts.
pub fn bytes_per_session(n: usize, live: fn() -> isize) -> f64 {
    let events: Vec<(String, String)> = (0..n).map(|i| (assume_role(i), call(i))).collect();
    let mut chain = Chain::default();
    let before = live();
    let mut lineage = Lineage::new(n, None);
    for (create, use_) in &events {
        let att = lineage.process(&decode(create).unwrap());
        drop(att);
        let att = lineage.process(&decode(use_).unwrap());
        if let Some(node) = &att.node {
            chain.resolve(node, Some(&att.call));
            assert_eq!(chain.confidence().as_str(), "exact");
        }
    }
    chain.clear();
    assert_eq!(lineage.live_sessions(), n);
    let after = live();
    let per = (after - before) as f64 / n as f64;
    drop(lineage);
    per
}
