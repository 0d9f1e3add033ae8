//! Property tests: over generated records and framings, output minus the annotation equals the
//! input record and every record comes out exactly once; arbitrary bytes never crash the run.

use crate::util::*;
use proptest::prelude::*;

/// A CloudTrail-like record with arbitrary strings (escapes, unicode, control characters).
fn record() -> impl Strategy<Value = String> {
    (any::<String>(), any::<String>(), any::<String>(), 0u32..1000, prop::bool::ANY).prop_map(|(agent, name, extra, n, role)| {
        let ui = if role {
            serde_json::json!({"type":"AssumedRole","arn":format!("arn:aws:sts::111122223333:assumed-role/r/{name}"),"accessKeyId":format!("ASIA{n}"),"sessionContext":{"attributes":{"creationDate":"2024-05-01T00:00:00Z"}}})
        } else {
            serde_json::json!({"type":"IAMUser","arn":format!("arn:aws:iam::111122223333:user/{name}"),"userName":name,"accessKeyId":format!("AKIA{n}")})
        };
        serde_json::json!({"eventVersion":"1.08","userIdentity":ui,"eventTime":"2024-05-01T00:00:01Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userAgent":agent,"requestParameters":{"x":extra,"n":n},"eventID":format!("e{n}")})
        .to_string()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn output_minus_annotation_is_the_input(records in prop::collection::vec(record(), 1..40), crlf in any::<bool>()) {
        let mut input = Vec::new();
        for r in &records {
            input.extend_from_slice(r.as_bytes());
            input.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        // In input order without holding...
        let run = run(&["--hold", "0"], Some(&input));
        prop_assert_eq!(run.code, Some(0));
        let got = run.records();
        prop_assert_eq!(got.len(), records.len());
        for (g, r) in got.iter().zip(&records) {
            prop_assert_eq!(g.as_slice(), r.as_bytes());
        }
        // ...and each exactly once with it.
        let held = crate::util::run(&[], Some(&input));
        let want: Vec<Vec<u8>> = records.iter().map(|r| r.as_bytes().to_vec()).collect();
        prop_assert_eq!(sorted(held.records()), sorted(want));
    }

    #[test]
    fn arbitrary_bytes_never_crash_and_good_neighbours_survive(junk in prop::collection::vec(any::<u8>(), 0..2000)) {
        let good = read_lines(&fixtures().join("shapes/base.ndjson"));
        let mut input = Vec::new();
        input.extend_from_slice(&good[0]);
        input.push(b'\n');
        input.extend_from_slice(&junk);
        input.push(b'\n');
        input.extend_from_slice(&good[1]);
        input.push(b'\n');
        let run = run(&["--quiet", "--hold", "0"], Some(&input));
        prop_assert_eq!(run.code, Some(0));
        let got = run.records();
        // Junk with a newline may be cut into several bad pieces, and junk that happens to hold a
        // record is one; the good records either side always come out.
        prop_assert!(got.first() == Some(&good[0]));
        prop_assert!(got.last() == Some(&good[1]));
    }
}
