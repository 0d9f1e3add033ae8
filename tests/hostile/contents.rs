//! Valid JSON with the wrong contents: a wrong type or `null` in any field the engine reads,
//! impossible dates, duplicate keys and keys that differ only in case.

use super::{assert_goods_survive, first_kb, goods, lines_of, run_sandwich, sandwich, set, template};
use crate::util::{assert_records, sorted};
use serde_json::{json, Value};

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
