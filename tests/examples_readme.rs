//! Every claim `examples/README.md` makes about ctail-filter's output on `examples/story.ndjson`,
//! checked against the binary: the table of who did what (each row's confidence and origin), the
//! totals, what `--identity` prints in the collision, and reading the two accounts' S3 files one
//! after the other.

use crate::util::*;
use serde_json::Value;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn examples_readme() -> String {
    std::fs::read_to_string(root().join("examples/README.md")).unwrap()
}

fn story(args: &[&str]) -> Vec<Value> {
    let path = root().join("examples/story.ndjson");
    let mut all = args.to_vec();
    all.push("--quiet");
    let run = run_file(&path, &all);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    run.json()
}

/// One row of the table: the events it covers and what it says ctail-filter answers.
struct Row {
    line: String,
    account: &'static str,
    /// Times `HH:MM:SS`: a list, or the two ends of a range (`–`).
    times: Vec<String>,
    range: bool,
    confidence: String,
    /// The origin's name, or for an ambiguous row the candidates' names.
    names: Vec<String>,
}

fn table_rows(readme: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | time | account | event | who really | ctail-filter |
        if cells.len() != 7 || !cells[1].starts_with("0") {
            continue;
        }
        let range = cells[1].contains('–');
        let times = cells[1].split(['–', ',']).map(|t| t.trim().to_string()).collect();
        let account = match cells[2] {
            "dev" => "111122223333",
            "prod" => "444455556666",
            other => panic!("unknown account {other} in: {line}"),
        };
        let said = cells[5].replace("**", "");
        let (confidence, rest) = said.split_once(',').unwrap_or((&said, ""));
        let names = if confidence == "ambiguous" {
            let list = rest.split("candidates").nth(1).expect("candidates named");
            let list = list.split(':').next().unwrap();
            list.split(" and ").map(|n| n.trim().to_string()).collect()
        } else {
            let name = rest.trim().split([' ', ';', '(', ':', ',']).next().unwrap();
            vec![name.trim_matches('`').to_string()]
        };
        rows.push(Row {
            line: line.to_string(),
            account,
            times,
            range,
            confidence: confidence.trim().to_string(),
            names,
        });
    }
    rows
}

fn covers(row: &Row, ev: &Value) -> bool {
    let time = &ev["eventTime"].as_str().unwrap()[11..19];
    if ev["recipientAccountId"] != row.account {
        return false;
    }
    if row.range {
        row.times[0].as_str() <= time && time <= row.times[1].as_str()
    } else {
        row.times.iter().any(|t| t == time)
    }
}

fn name_of(v: &Value) -> String {
    v["name"].as_str().or(v["arn"].as_str()).unwrap_or("").to_string()
}

/// Each event of the story is covered by one row of the table, and the annotation is what that
/// row says: the confidence, and the origin's name (or the candidates' names).
#[test]
fn the_table_is_what_ctail_filter_answers() {
    let readme = examples_readme();
    let rows = table_rows(&readme);
    assert!(rows.len() >= 20, "the table was not found: {} rows", rows.len());
    let events = story(&[]);
    assert_eq!(events.len(), 35);
    for ev in &events {
        let id = ev["eventID"].as_str().unwrap();
        // Rows may overlap (a range of alice's prod calls spans the instance's): the event must
        // be what one of the rows covering it says.
        let covering: Vec<&Row> = rows.iter().filter(|r| covers(r, ev)).collect();
        assert!(!covering.is_empty(), "{id}: no row of the table covers it");
        let said: Vec<String> = covering.iter().map(|r| says(r, ev)).collect();
        assert!(said.iter().any(String::is_empty), "{id}: {}", said.join("; "));
    }
    for row in &rows {
        assert!(
            events
                .iter()
                .any(|ev| covers(row, ev) && says(row, ev).is_empty()),
            "no event is as this row says: {}",
            row.line
        );
    }
}

/// How `ev` differs from what `row` says of it (empty: not at all).
fn says(row: &Row, ev: &Value) -> String {
    let ctail = &ev["ctail"];
    if ctail["confidence"] != row.confidence.as_str() {
        return format!("{} where the row says {}", ctail["confidence"], row.line);
    }
    if row.confidence == "ambiguous" {
        let mut got: Vec<String> = ctail["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(name_of)
            .collect();
        got.sort();
        let mut want = row.names.clone();
        want.sort();
        if got != want {
            return format!("candidates {got:?} where the row says {}", row.line);
        }
    } else if origin_name(ev) != row.names[0] {
        return format!("origin {} where the row says {}", origin_name(ev), row.line);
    }
    String::new()
}

fn origin_name(ev: &Value) -> String {
    name_of(&ev["ctail"]["origin"])
}

/// "Totals: 23 exact, 10 heuristic, 2 ambiguous, 0 unlinked (`--stats`: `edges` 7, `collisions`
/// 1, `failed_creations` 1)."
#[test]
fn the_totals_are_what_ctail_filter_counts() {
    let readme = examples_readme();
    let at = readme.find("Totals:").expect("a Totals paragraph");
    let totals = readme[at..].split("\n\n").next().unwrap().replace('\n', " ");
    let events = story(&[]);
    for confidence in ["exact", "heuristic", "ambiguous", "unlinked"] {
        let n = events
            .iter()
            .filter(|e| e["ctail"]["confidence"] == confidence)
            .count();
        assert!(
            totals.contains(&format!("{n} {confidence}")),
            "{n} {confidence}: {totals}"
        );
    }
    let path = root().join("examples/story.ndjson");
    let run = run_file(&path, &["--stats"]);
    let stats: Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    for field in ["edges", "collisions", "failed_creations"] {
        let n = stats[field].as_u64().unwrap();
        assert!(
            totals.contains(&format!("`{field}` {n}")),
            "{field} {n}: {totals}"
        );
    }
}

/// "`--identity alice` prints alice's 14 events and the two ambiguous calls … `--identity
/// mallory` prints mallory's six events and the same two ambiguous calls."
#[test]
fn identity_in_the_collision() {
    let readme = examples_readme();
    assert!(readme.contains("prints\n  alice's 14 events and the two ambiguous calls"));
    assert!(
        readme.contains("`--identity mallory` prints mallory's six events and the same two ambiguous calls")
    );
    for (who, own) in [("alice", 14), ("mallory", 6)] {
        let events = story(&["--identity", who]);
        let mine = events.iter().filter(|e| origin_name(e) == who).count();
        let ambiguous = events
            .iter()
            .filter(|e| e["ctail"]["confidence"] == "ambiguous")
            .count();
        assert_eq!(
            (mine, ambiguous, events.len()),
            (own, 2, own + 2),
            "--identity {who}"
        );
    }
}

/// "The two accounts' trail files, in any order": piped prod first, 2 unlinked and `late_links`
/// 1; with `--hold 2h`, or named as FILEs prod first, as story.ndjson.
#[test]
fn two_accounts_in_any_order() {
    let prod_then_dev = "examples/s3/444455556666_*.gz examples/s3/111122223333_*.gz";
    let counts = |command: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", command])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}");
        let mut counts = std::collections::BTreeMap::new();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let ev: Value = serde_json::from_str(line).unwrap();
            *counts
                .entry(ev["ctail"]["confidence"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
        let stderr = String::from_utf8(out.stderr).unwrap();
        let stats: Option<Value> = stderr.lines().last().and_then(|l| serde_json::from_str(l).ok());
        (counts, stats)
    };
    let bin = bin();
    let (piped, stats) = counts(&format!("zcat {prod_then_dev} | {bin} --quiet --stats"));
    assert_eq!(piped.get("unlinked"), Some(&2), "{piped:?}");
    assert_eq!(stats.unwrap()["late_links"], 1);
    let mut direct = std::collections::BTreeMap::new();
    for ev in story(&[]) {
        *direct
            .entry(ev["ctail"]["confidence"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    let (held, _) = counts(&format!("zcat {prod_then_dev} | {bin} --quiet --hold 2h"));
    assert_eq!(held, direct);
    let (ordered, _) = counts(&format!("{bin} --quiet {prod_then_dev}"));
    assert_eq!(ordered, direct);
}

/// "`--identity 'i-0abc*'` … the instance's AssumeRole and its three calls".
#[test]
fn identity_of_the_instance() {
    let readme = examples_readme();
    assert!(readme.contains("--identity 'i-0abc*' examples/story.ndjson | jq -r .eventName     # the instance's AssumeRole and its three calls"));
    let names: Vec<String> = story(&["--identity", "i-0abc*"])
        .iter()
        .map(|e| e["eventName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names[0], "AssumeRole");
    assert_eq!(names.len(), 4, "{names:?}");
}

/// `scripts/check-aws-cli`: the real AWS CLI v2 against a local CloudWatch Logs mock, every
/// format of `aws logs tail` and `start-live-tail` read as story.ndjson is. It needs the CLI v2
/// and moto on the PATH, which a fresh machine does not have (the CLI v2 is not on PyPI): then
/// the script says it is skipped, and so does this test.
#[test]
fn the_real_aws_cli() {
    check_script("check-aws-cli", 8);
}
