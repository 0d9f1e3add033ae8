//! Every README recipe, run against the bundled example data. The recipe's text must stand in
//! README.md as written here, so the two cannot drift apart. Parts that need jq run when jq is
//! installed and are skipped with a notice otherwise (no test installs anything).

use crate::util::*;
use std::path::Path;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// Runs `script` with sh in the repository root, with ctail-filter first on the PATH.
fn sh(script: &str) -> (String, i32) {
    let out = sh_in_root(script);
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn jq_available() -> bool {
    let ok = Command::new("jq")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("notice: jq is not installed; skipping the jq part of the README recipes");
    }
    ok
}

fn event_ids(ndjson: &str) -> Vec<String> {
    let mut ids: Vec<String> = ndjson
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{}/{}",
                v["eventID"].as_str().unwrap(),
                v["recipientAccountId"].as_str().unwrap_or("")
            )
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn logs_tail_in_every_format() {
    let readme = readme();
    for recipe in [
        "ctail-filter --identity alice -- aws logs tail /aws/cloudtrail --follow",
        "PYTHONUNBUFFERED=1 aws logs tail /aws/cloudtrail --follow --format short | ctail-filter --format text",
        "PYTHONUNBUFFERED=1 aws logs tail /aws/cloudtrail --follow --format json | ctail-filter --state ~/.ctail-state",
        "ctail-filter --identity alice < examples/logs-tail-detailed.txt",
    ] {
        assert!(readme.contains(recipe), "README lacks: {recipe}");
    }
    let (direct, code) = sh("ctail-filter --quiet --identity alice examples/story.ndjson");
    assert_eq!(code, 0);
    let want = event_ids(&direct);
    assert!(want.len() >= 10, "alice's events: {}", want.len());
    for format in ["detailed", "short", "json"] {
        let (out, code) = sh(&format!(
            "ctail-filter --quiet --identity alice < examples/logs-tail-{format}.txt"
        ));
        assert_eq!(code, 0);
        assert_eq!(event_ids(&out), want, "logs tail --format {format}");
    }
    let (text, code) = sh("ctail-filter --quiet --format text < examples/logs-tail-short.txt");
    assert_eq!(code, 0);
    assert_eq!(text.lines().count(), 35);
    assert!(text.contains("alice ⇒ ops ⇒ 444455556666:admin"), "{text}");
}

#[test]
fn s3_backfill() {
    let readme = readme();
    assert!(readme.contains("ctail-filter --settle 15m $(find trail -name '*.json.gz') > annotated.ndjson"));
    assert!(readme.contains("ctail-filter --settle 15m examples/s3/*.json.gz"));
    let (out, code) = sh("ctail-filter --quiet --settle 15m examples/s3/*.json.gz");
    assert_eq!(code, 0);
    let (direct, _) = sh("ctail-filter --quiet examples/story.ndjson");
    assert_eq!(event_ids(&out), event_ids(&direct));
    // alice's prod calls are linked through her cross-account chain.
    let prod_admin: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| {
            v["userIdentity"]["arn"]
                .as_str()
                .is_some_and(|a| a.contains(":assumed-role/admin/"))
        })
        .collect();
    assert!(!prod_admin.is_empty());
    for v in prod_admin {
        assert_eq!(v["ctail"]["origin"]["name"], "alice", "{v}");
        assert_eq!(v["ctail"]["confidence"], "exact");
    }
}

#[test]
fn eventbridge_through_kafka() {
    assert!(readme().contains(
        "kcat -C -b broker:9092 -t cloudtrail -J -u | ctail-filter --state /var/lib/ctail/state.json"
    ));
    let (out, code) = sh("ctail-filter --quiet < examples/kcat-eventbridge.ndjson");
    assert_eq!(code, 0);
    let (direct, _) = sh("ctail-filter --quiet examples/story.ndjson");
    assert_eq!(event_ids(&out), event_ids(&direct));
}

#[test]
fn jq_questions() {
    let readme = readme();
    let writes = "ctail-filter --identity alice examples/story.ndjson | jq -c 'select(.readOnly == false) | [.eventTime, .eventName, .recipientAccountId]'";
    let ambiguous = r#"ctail-filter examples/story.ndjson | jq -c 'select(.ctail.confidence == "ambiguous") | {eventID, candidates: [.ctail.candidates[] | .arn // .name]}'"#;
    let key = "ctail-filter examples/story.ndjson | jq -c --arg key ASIAAOCNWJ3SV6ZPAF2O 'select(.userIdentity.accessKeyId == $key) | .ctail.origin' | sort -u";
    for recipe in [writes, ambiguous, key] {
        assert!(readme.contains(recipe), "README lacks: {recipe}");
    }
    if !jq_available() {
        return;
    }
    let quiet = |r: &str| r.replacen("ctail-filter", "ctail-filter --quiet", 1);
    let (out, code) = sh(&quiet(writes));
    assert_eq!(code, 0);
    let names: Vec<&str> = out.lines().collect();
    assert!(names.iter().any(|l| l.contains("PutBucketVersioning")), "{out}");
    assert!(names.iter().any(|l| l.contains("UpdateFunctionCode")), "{out}");
    assert!(!out.contains("GetSecretValue"), "mallory's call kept: {out}");
    let (out, _) = sh(&quiet(ambiguous));
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines()
            .all(|l| l.contains("user/alice") && l.contains("user/mallory")),
        "{out}"
    );
    let (out, _) = sh(&quiet(key));
    let origins: Vec<&str> = out.lines().collect();
    assert_eq!(origins.len(), 1, "{out}");
    assert!(origins[0].contains("\"name\":\"alice\""), "{out}");
}
