//! Property tests: over generated records and framings, output minus the annotation equals the
//! input record and every record comes out exactly once; the annotation is always valid JSON,
//! whatever the identities hold; arbitrary bytes never crash, fail or hang the run.

use crate::util::*;
use ctail_filter::Config;
use ctail_filter::Source;
use ctail_filter::{pipeline, Exit};
use proptest::prelude::*;
use std::sync::Arc;
use std::time::Duration;

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

/// A string of what breaks naive JSON writers: quotes, backslashes, control characters, slashes
/// and colons (ARN separators), and any unicode.
fn nasty() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('"'),
            Just('\\'),
            Just('/'),
            Just(':'),
            (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
            Just('\u{7f}'),
            Just('\u{2028}'),
            Just('\u{feff}'),
            any::<char>(),
        ],
        0..24,
    )
    .prop_map(String::from_iter)
}

/// A user who assumes a role and the session's call, every identity string chosen by `nasty`.
fn lineage_with(user: &str, role: &str, session: &str, source: &str, agent: &str, n: u32) -> [String; 2] {
    let key = format!("ASIAPROP{n:08}");
    let arn = format!("arn:aws:sts::111122223333:assumed-role/{role}/{session}");
    let creator = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{user}"), "arn": format!("arn:aws:iam::111122223333:user/{user}"), "accountId": "111122223333", "accessKeyId": format!("AKIA{user}"), "userName": user},
        "eventTime": "2024-05-01T00:00:00Z", "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "sourceIPAddress": agent, "userAgent": agent,
        "requestParameters": {"roleArn": format!("arn:aws:iam::111122223333:role/{role}"), "roleSessionName": session, "sourceIdentity": source},
        "responseElements": {"credentials": {"accessKeyId": key, "expiration": "May 1, 2024, 1:00:00 AM"}, "assumedRoleUser": {"assumedRoleId": format!("AROA{n}:{session}"), "arn": arn}, "sourceIdentity": source},
        "eventID": format!("c{n}"), "recipientAccountId": "111122223333"
    });
    let call = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "principalId": format!("AROA{n}:{session}"), "arn": arn, "accountId": "111122223333", "accessKeyId": key,
            "sessionContext": {"sourceIdentity": source, "sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::111122223333:role/{role}"), "userName": role}, "attributes": {"creationDate": "2024-05-01T00:00:00Z"}}},
        "eventTime": "2024-05-01T00:00:01Z", "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "userAgent": agent,
        "eventID": format!("u{n}"), "recipientAccountId": "111122223333"
    });
    [creator.to_string(), call.to_string()]
}

/// Runs the whole pipeline in process on `input`, failing if it takes longer than `limit`.
fn run_in_process(input: Vec<u8>, threads: usize, limit: Duration) -> Result<Vec<u8>, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let config = Config {
            sources: vec![Source::Bytes(Arc::from(input))],
            quiet: true,
            max_sessions: 1000,
            threads,
            ..Config::default()
        };
        let mut out = Vec::new();
        let result = pipeline::run(&config, &mut out);
        let _ = tx.send(result.map(|exit| (exit, out)).map_err(|e| e.to_string()));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok((Exit::Success, out))) => Ok(out),
        Ok(Ok((exit, _))) => Err(format!("exit {exit:?}")),
        Ok(Err(e)) => Err(e),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(format!("no end within {limit:?}")),
        Err(e) => Err(format!("the run panicked ({e})")),
    }
}

/// Bytes biased towards what framing and envelopes look at.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => any::<u8>().prop_map(|b| vec![b]),
        3 => Just(b"\n".to_vec()),
        2 => prop::sample::select(vec![
            b"{".to_vec(), b"}".to_vec(), b"[".to_vec(), b"]".to_vec(), b"\"".to_vec(),
            b"\\".to_vec(), b",".to_vec(), b":".to_vec(), b"\r\n".to_vec(), b" ".to_vec(),
        ]),
        1 => prop::sample::select(vec![
            br#"{"eventName":"A"}"#.to_vec(),
            br#"{"Records":["#.to_vec(),
            br#""detail":"#.to_vec(),
            br#"{"payload":""#.to_vec(),
            br#""CloudTrailEvent":""#.to_vec(),
            b"2024-05-01T00:00:00.000000+00:00 stream ".to_vec(),
            b"\x1b[32m".to_vec(),
            b"\xEF\xBB\xBF".to_vec(),
            br#""ctail":{"session":"x"}"#.to_vec(),
            br#""eventTime":"2024-02-30T00:00:00Z""#.to_vec(),
        ]),
    ];
    prop::collection::vec(piece, 0..600).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_annotation_is_always_valid_json(
        ids in prop::collection::vec((nasty(), nasty(), nasty(), nasty(), nasty()), 1..6),
        threads in 1usize..3,
    ) {
        let mut input = Vec::new();
        let mut want = Vec::new();
        for (n, (user, role, session, source, agent)) in ids.iter().enumerate() {
            for line in lineage_with(user, role, session, source, agent, n as u32) {
                input.extend_from_slice(line.as_bytes());
                input.push(b'\n');
                want.push(line.into_bytes());
            }
        }
        let out = run_in_process(input, threads, Duration::from_secs(20)).map_err(TestCaseError::fail)?;
        let mut got = Vec::new();
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line)
                .map_err(|e| TestCaseError::fail(format!("line not JSON ({e}): {}", String::from_utf8_lossy(line))))?;
            let ann = &v["ctail"];
            prop_assert!(ann.is_object(), "no annotation: {}", v);
            prop_assert!(ann["confidence"].is_string());
            // strip_annotation parses the annotation's own text as well.
            got.push(strip_annotation(line));
            // Identities come back as they were: the chain names the session as the record does.
            if v["eventName"] == "GetObject" {
                let arn = v["userIdentity"]["arn"].as_str().unwrap();
                let (_, role_and_session) = arn.split_once(":assumed-role/").unwrap();
                let (_, session) = role_and_session.split_once('/').unwrap();
                let hop = ann["chain"].as_array().and_then(|c| c.last()).cloned().unwrap_or_default();
                prop_assert_eq!(hop["arn"].as_str(), Some(arn));
                if !session.contains('/') {
                    prop_assert_eq!(hop["name"].as_str(), Some(session));
                }
            }
        }
        prop_assert_eq!(sorted(got), sorted(want));
    }

    #[test]
    fn arbitrary_bytes_never_fail_or_hang(junk in hostile_bytes(), threads in 1usize..3) {
        let out = run_in_process(junk, threads, Duration::from_secs(20)).map_err(TestCaseError::fail)?;
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line)
                .map_err(|e| TestCaseError::fail(format!("line not JSON ({e}): {}", String::from_utf8_lossy(line))))?;
            prop_assert!(v["ctail"]["confidence"].is_string());
        }
    }
}

/// Real records (the invictus slice and the story), one per line.
fn real_records() -> Vec<String> {
    let mut out = Vec::new();
    for path in [
        fixtures().join("real/invictus-lineage.ndjson"),
        fixtures().join("../../examples/story.ndjson"),
    ] {
        let text = std::fs::read_to_string(&path).unwrap();
        out.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned));
    }
    out
}

/// The fast decoder gives up or reads exactly what serde_json reads; it never accepts what
/// serde_json refuses.
fn fast_agrees(text: &str) -> Result<bool, TestCaseError> {
    use ctail_filter::decode::{decode_fast, decode_with_serde, field_values};
    let Some(fast) = decode_fast(text) else {
        return Ok(false);
    };
    match decode_with_serde(text) {
        Ok(slow) => prop_assert_eq!(field_values(&fast), field_values(&slow), "{:?}", text),
        Err(e) => prop_assert!(
            false,
            "fast path accepted what serde_json refuses ({}): {:?}",
            e,
            text
        ),
    }
    Ok(true)
}

#[test]
fn every_real_record_takes_the_fast_path() {
    let records = real_records();
    assert!(records.len() > 150);
    for r in &records {
        assert!(fast_agrees(r).unwrap(), "left to serde_json: {r}");
    }
    // And the simulator's stream, which the benchmarks measure.
    let sim = ctail_sim::simulate(&ctail_sim::Config {
        seed: 3,
        events: 2000,
        ..Default::default()
    });
    for e in &sim {
        assert!(fast_agrees(&e.json).unwrap(), "left to serde_json: {}", e.json);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Real records with a few bytes replaced, inserted or removed, from an alphabet that breaks
    /// JSON in every way it can break (structure, strings, escapes, numbers, literals).
    #[test]
    fn fast_decoding_agrees_with_serde_json(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(
            b"{}[]\":,\\/0123456789-+.eE tfnrubx\x01\x1f\xc3\xa9 ".to_vec())), 1..5),
    ) {
        let records = real_records();
        let mut bytes = pick.get(&records).clone().into_bytes();
        edit(&mut bytes, edits);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            fast_agrees(text)?;
        }
    }

    /// Records put together from JSON's tokens, well and badly: the grammar's corners (numbers,
    /// escapes, literals, nesting, commas) come up far more often than in mutated records.
    #[test]
    fn fast_decoding_agrees_with_serde_json_on_token_soup(
        tokens in prop::collection::vec(prop::sample::select(vec![
            "{", "}", "[", "]", ",", ":", " ", "\"eventName\"", "\"userIdentity\"", "\"arn\"",
            "\"sessionContext\"", "\"attributes\"", "\"x\"", "\"a\\\"b\"", "\"\\u00e9\"", "\"\\ud800\"",
            "\"\\ud83d\\ude00\"", "\"\\q\"", "\"\u{1}\"", "\"", "0", "01", "-", "-0", "7", "1.5", "1.", ".5",
            "1e5", "-3", "18446744073709551616", "true", "tru", "false", "null", "nul",
        ]), 0..40),
    ) {
        let text = format!("{{\"eventName\":{}}}", tokens.concat());
        fast_agrees(&text)?;
        fast_agrees(&format!("{{{}}}", tokens.concat()))?;
    }
}

/// Replaces (0), removes (1) or inserts (2) a byte at each edit's place.
fn edit(bytes: &mut Vec<u8>, edits: Vec<(prop::sample::Index, u8, u8)>) {
    for (at, op, c) in edits {
        let i = at.index(bytes.len() + 1);
        match op {
            0 if i < bytes.len() => bytes[i] = c,
            1 if i < bytes.len() => {
                bytes.remove(i);
            }
            _ => bytes.insert(i, c),
        }
    }
}

/// What the unwrapper makes of `text`: each record's bytes up to its annotation and its decoded
/// fields, or each bad piece's error.
fn unwrapped(text: &str) -> Vec<String> {
    use ctail_filter::decode::{field_values, Item, Unwrapper};
    let mut out = Vec::new();
    Unwrapper::default().each(text.as_bytes(), &mut |item| match item {
        Item::Record(r) => out.push(format!("{} {:?}", &r.text[..r.splice], field_values(r.event))),
        Item::Bad { error, .. } => out.push(format!("bad: {error}")),
        Item::Skipped => out.push("skipped".into()),
    });
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// S3 trail files (`{"Records":[` first) are read in one pass of their own: on valid JSON it
    /// gives what the general way gives (the same text after a space), and on broken JSON only
    /// records that are in the file, in its order.
    #[test]
    fn trail_files_read_as_the_general_way_reads_them(
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(
            b"{}[]\":,\\/0123456789-e tfnu\x01 ".to_vec())), 0..3),
    ) {
        // Real records, and valid ones the scanner leaves to serde_json (an escaped key, an
        // earlier annotation, not an object).
        let mut records = real_records();
        records.truncate(20);
        records.extend([
            r#"{"eventVersion":"1.08","event\u004eame":"Escaped"}"#.to_string(),
            r#"{"eventVersion":"1.08","eventName":"Again","ctail":{"origin":null}}"#.to_string(),
            "[1]".to_string(),
        ]);
        let elements: Vec<&str> = picks.iter().map(|p| p.get(&records).as_str()).collect();
        let mut bytes = format!(r#"{{"Records":[{}]}}"#, elements.join(",")).into_bytes();
        edit(&mut bytes, edits);
        let Ok(text) = std::str::from_utf8(&bytes) else { return Ok(()) };
        let got = unwrapped(text);
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
            prop_assert_eq!(&got, &unwrapped(&format!(" {text}")), "{}", text);
        } else {
            // Broken: whatever comes out as a record is an element of the file, in order.
            let mut rest = text;
            for g in got.iter().filter(|g| !g.starts_with("bad: ")) {
                let record = g.split(' ').next().unwrap_or_default();
                let at = rest.find(record);
                prop_assert!(at.is_some(), "{} is not in what is left of {}", g, text);
                rest = &rest[at.unwrap_or(0) + record.len()..];
            }
        }
    }
}
