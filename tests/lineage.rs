//! Fixture streams with the expected origin and confidence of every event: one per creating path
//! (tests/fixtures/lineage), one per real-world-order rule (tests/fixtures/order), and one per
//! trap built to fool a rule (tests/fixtures/traps). A fixture may have `NAME.args` (extra flags)
//! and `NAME.stats` (a JSON object whose every member the `--stats` line must equal). An expected
//! line may name, in a fifth column, the candidates of an ambiguous answer (origin keys, comma
//! separated, in any order) and, in a sixth, flags of the annotation that must be there
//! (`truncated`, `sourceIdentityMismatch`) or not (`!truncated`).

use crate::util::*;

#[test]
fn every_creating_path() {
    check_dir("lineage", 15);
}

#[test]
fn every_order_rule() {
    check_dir("order", 6);
}

#[test]
fn every_trap() {
    check_dir("traps", 40);
}

fn check_dir(which: &str, at_least: usize) {
    let dir = fixtures().join(which);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("lineage fixtures")
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "tsv").then(|| {
                p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .trim_end_matches(".expect.tsv")
                    .to_string()
            })
        })
        .collect();
    names.sort();
    assert!(names.len() >= at_least, "only {} {which} fixtures", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let args_text = std::fs::read_to_string(dir.join(format!("{name}.args"))).unwrap_or_default();
        let mut args: Vec<&str> = args_text.split_whitespace().collect();
        args.push("--stats");
        let run = run_file(&dir.join(format!("{name}.ndjson")), &args);
        assert_eq!(run.code, Some(0), "{name}");
        if let Ok(want) = std::fs::read_to_string(dir.join(format!("{name}.stats"))) {
            let want: serde_json::Value = serde_json::from_str(&want).expect("NAME.stats is JSON");
            let stats: serde_json::Value =
                serde_json::from_str(run.stderr.lines().last().unwrap_or("")).expect("--stats line");
            for (k, v) in want.as_object().unwrap() {
                if stats[k] != *v {
                    failures.push(format!("{name}: stats {k} = {} (expected {v})", stats[k]));
                }
            }
        }
        let out = run.json();
        let expect: Vec<Vec<String>> = std::fs::read_to_string(dir.join(format!("{name}.expect.tsv")))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            // A column starting with `#` is a comment, and so is the rest of the line.
            .map(|l| {
                l.split('\t')
                    .take_while(|c| !c.starts_with('#'))
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        assert_eq!(out.len(), expect.len(), "{name}: event count");
        // Held events leave after their neighbours: match output to expectation by eventID, in
        // order among records that share one (the two copies of a cross-account call).
        let mut by_id: std::collections::HashMap<&str, std::collections::VecDeque<&serde_json::Value>> =
            Default::default();
        for ev in &out {
            by_id
                .entry(ev["eventID"].as_str().unwrap_or(""))
                .or_default()
                .push_back(ev);
        }
        for want in &expect {
            let ev = by_id
                .get_mut(want[0].as_str())
                .and_then(|q| q.pop_front())
                .unwrap_or_else(|| panic!("{name}: {} missing", want[0]));
            let c = &ev["ctail"];
            let key = origin_key(&c["origin"]);
            if let Some(want_candidates) = want.get(4).filter(|w| !w.is_empty()) {
                let mut want_candidates: Vec<&str> = want_candidates.split(',').collect();
                want_candidates.sort();
                let mut got: Vec<String> = c["candidates"]
                    .as_array()
                    .map(|a| a.iter().map(origin_key).collect())
                    .unwrap_or_default();
                got.sort();
                if got != want_candidates {
                    failures.push(format!(
                        "{name}: {} candidates {got:?}, expected {want_candidates:?}",
                        want[0]
                    ));
                }
            }
            for flag in want
                .get(5)
                .map_or("", |f| f.as_str())
                .split(',')
                .filter(|f| !f.is_empty())
            {
                let (absent, flag) = match flag.strip_prefix('!') {
                    Some(f) => (true, f),
                    None => (false, flag),
                };
                if c[flag].as_bool().unwrap_or(false) == absent {
                    failures.push(format!(
                        "{name}: {} flag {flag} should be {}",
                        want[0],
                        if absent { "absent" } else { "set" }
                    ));
                }
            }
            let got = [
                ev["eventID"].as_str().unwrap_or("").to_string(),
                c["confidence"].as_str().unwrap_or("").to_string(),
                c["origin"]["type"].as_str().unwrap_or("-").to_string(),
                key,
            ];
            if got[..] != want[..4] {
                failures.push(format!(
                    "{name}: {} expected {:?} got {:?}",
                    got[0],
                    &want[1..4],
                    &got[1..]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A record that names no identity has no session: `null`, not an id of zeros.
#[test]
fn no_identity_means_no_session() {
    let run = run_file(&fixtures().join("traps/null-identity-shapes.ndjson"), &[]);
    let out = run.json();
    assert_eq!(
        out[0]["ctail"]["session"],
        serde_json::Value::Null,
        "userIdentity null"
    );
    assert_eq!(
        out[1]["ctail"]["session"],
        serde_json::Value::Null,
        "userIdentity {{}}"
    );
    assert!(
        out[3]["ctail"]["session"].is_string(),
        "an Unknown principal is a session"
    );
    assert!(!String::from_utf8_lossy(&run.stdout).contains("0000000000000000"));
}

/// A root and an IAM user with the same placeholder ARN and key are two principals, two sessions.
#[test]
fn long_term_session_ids_include_the_principal_type() {
    let ev = |kind: &str| {
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"{kind}","principalId":"EXAMPLE","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE"}},"eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"{kind}"}}"#
        )
    };
    let input = format!("{}\n{}\n", ev("IAMUser"), ev("Root"));
    let out = run(&[], Some(input.as_bytes())).json();
    assert_ne!(out[0]["ctail"]["session"], out[1]["ctail"]["session"]);
}
