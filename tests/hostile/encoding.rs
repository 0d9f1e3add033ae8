//! Bytes that are not JSON or sit at its edges: invalid UTF-8, lone surrogates and huge numbers,
//! NUL bytes, CRLF line ends, byte order marks, a truncated last record, blank lines.

use super::{
    assert_goods_survive, assert_reported, first_kb, goods, lines_of, run_sandwich, sandwich, set, template,
    BAD_LINE,
};
use crate::util::{assert_records, scratch};
use serde_json::json;

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
