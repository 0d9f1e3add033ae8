//! Misuse signals (issue 15): one fixture per signal and one per benign look-alike that must stay
//! silent (tests/fixtures/signals, written by its make_signals.py), each event with the signals
//! expected on it; and the flags that show them (`--signals-only`, `--stats`, text, summary).

use crate::util::*;
use serde_json::Value;
use std::collections::HashMap;

/// Every fixture, each event with exactly the signals its expect file names (late and shuffled
/// delivery is scored on the simulator, in `simulation::misuse`).
#[test]
fn every_signal_and_every_look_alike() {
    let dir = fixtures().join("signals");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.strip_suffix(".expect.tsv").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 8, "only {} signal fixtures", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let run = run_file(&dir.join(format!("{name}.ndjson")), &[]);
        assert_eq!(run.code, Some(0), "{name}: {}", run.stderr);
        let got: HashMap<String, Vec<String>> = run.json().iter().map(|ev| (id(ev), names_of(ev))).collect();
        let want = std::fs::read_to_string(dir.join(format!("{name}.expect.tsv"))).unwrap();
        let mut count = 0;
        for line in want.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            count += 1;
            let (eid, sigs) = line.split_once('\t').unwrap();
            let want: Vec<String> = match sigs {
                "-" => vec![],
                s => s.split(',').map(str::to_string).collect(),
            };
            match got.get(eid) {
                Some(g) if *g == want => {}
                other => failures.push(format!("{name}: {eid}: got {other:?}, expected {want:?}")),
            }
        }
        assert_eq!(got.len(), count, "{name}: event count");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn id(ev: &Value) -> String {
    ev["eventID"].as_str().unwrap().to_string()
}

fn names_of(ev: &Value) -> Vec<String> {
    ev["ctail"]["signals"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["signal"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The `why` names the evidence compared: both addresses, the other tool, the times.
#[test]
fn why_names_the_addresses_agents_and_times() {
    let run = run_file(&fixtures().join("signals/stolen-role-session.ndjson"), &[]);
    let out = run.json();
    let ev = out.iter().find(|e| id(e) == "sr-0004").unwrap();
    let why = |name: &str| -> String {
        ev["ctail"]["signals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["signal"] == name)
            .unwrap()["why"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let w = why("another-user");
    for part in [
        "198.51.100.66",
        "python-requests/2.31.0",
        "203.0.113.10",
        "aws-cli/2.15.30",
        "09:00:00Z",
    ] {
        assert!(w.contains(part), "another-user why lacks {part}: {w}");
    }
    let w = why("two-places-at-once");
    // Held until a colliding creator could no longer come, it is judged after alice's 09:08
    // call: the nearest use from home, a minute away.
    for part in [
        "198.51.100.66",
        "203.0.113.10",
        "09:07:00Z",
        "09:08:00Z",
        "60 s apart",
    ] {
        assert!(w.contains(part), "two-places-at-once why lacks {part}: {w}");
    }
    let run = run_file(&fixtures().join("signals/used-after-revocation.ndjson"), &[]);
    for ev in run.json() {
        if let Some(s) = ev["ctail"]["signals"].as_array() {
            let w = s[0]["why"].as_str().unwrap();
            assert!(w.contains("09:1"), "the door's time: {w}");
            assert!(w.contains("dc-00"), "the door's eventID: {w}");
        }
    }
}

/// Signals are per call: the annotation cache (keyed on the chain) must not serve one call's
/// signals to another call of the same session, nor drop them.
#[test]
fn signals_are_not_cached_per_chain() {
    let run = run_file(&fixtures().join("signals/stolen-role-session.ndjson"), &[]);
    let flagged: Vec<String> = run
        .json()
        .iter()
        .filter(|e| !names_of(e).is_empty())
        .map(id)
        .collect();
    assert_eq!(flagged, ["sr-0004", "sr-0006", "sr-0007"]);
}

#[test]
fn signals_only_keeps_flagged_events_and_stats_count_them() {
    let path = fixtures().join("signals/stolen-role-session.ndjson");
    let run = run_file(&path, &["--signals-only", "--stats"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let ids: Vec<String> = run.json().iter().map(id).collect();
    assert_eq!(ids, ["sr-0004", "sr-0006", "sr-0007"]);
    let stats: Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(stats["events_flagged"], 3, "{stats}");
    assert_eq!(stats["signals"]["another-user"], 3, "{stats}");
    assert_eq!(stats["signals"]["two-places-at-once"], 2, "{stats}");
    assert_eq!(stats["filtered_out"], 4, "{stats}");
}

#[test]
fn text_view_marks_flagged_events() {
    let path = fixtures().join("signals/stolen-role-session.ndjson");
    let run = run_file(&path, &["--format", "text"]);
    let text = String::from_utf8(run.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7);
    for l in &lines {
        // The other party's calls, and only they, are marked (a flagged call of a young session
        // is held, so lines are not in input order).
        assert_eq!(l.contains("!another-user"), l.contains("198.51.100.66"), "{l}");
    }
    assert!(lines
        .iter()
        .any(|l| l.contains("!another-user,two-places-at-once")));
}

#[test]
fn summary_shows_signals_under_their_session() {
    let path = fixtures().join("signals/stolen-role-session.ndjson");
    let run = run_file(&path, &["--format", "summary"]);
    let text = String::from_utf8(run.stdout).unwrap();
    let at = text.find("alice").expect("alice in the tree");
    let below = &text[at..];
    assert!(below.contains("another-user ×3"), "{text}");
    assert!(below.contains("two-places-at-once ×2"), "{text}");
}

/// `--state` keeps what signals need: a session's home and the doors closed, across a restart
/// between the calls that set them and the calls they judge.
#[test]
fn state_file_keeps_homes_and_doors() {
    for (name, split) in [("stolen-role-session", 3), ("used-after-revocation", 9)] {
        let lines = read_lines(&fixtures().join(format!("signals/{name}.ndjson")));
        let state = scratch(&format!("signals-{name}")).join("state");
        let st = state.to_str().unwrap();
        let join = |ls: &[Vec<u8>]| {
            ls.iter()
                .flat_map(|l| l.iter().copied().chain([b'\n']))
                .collect::<Vec<u8>>()
        };
        let first = run(&["--state", st], Some(&join(&lines[..split])));
        assert_eq!(first.code, Some(0), "{}", first.stderr);
        let second = run(&["--state", st], Some(&join(&lines[split..])));
        assert_eq!(second.code, Some(0), "{}", second.stderr);
        let fresh = run(&[], Some(&join(&lines)));
        let flagged = |r: &Run| -> Vec<(String, Vec<String>)> {
            r.json()
                .iter()
                .filter(|e| !names_of(e).is_empty())
                .map(|e| (id(e), names_of(e)))
                .collect()
        };
        assert!(!flagged(&fresh).is_empty());
        assert_eq!(flagged(&second), flagged(&fresh), "{name}");
    }
}

/// The public data: `attack-tool` on every Stratus Red Team call and nothing else (no stream
/// there has both an owner's and another party's calls of one session; the rest is ordinary use,
/// and none of it may look like another user).
#[test]
#[ignore = "needs ../shared/data (run by .ci/run when it is there)"]
fn shared_data_flags_the_attack_detonations_only() {
    let data = shared_data();
    for set in ["invictus", "stratus", "otrf", "panther", "awsdocs", "permiso"] {
        let run = run_file(
            &data.join(set).join("events.ndjson"),
            &["--quiet", "--signals-only"],
        );
        assert_eq!(run.code, Some(0), "{set}");
        for ev in run.json() {
            let agent = ev["userAgent"].as_str().unwrap_or("");
            assert_eq!(names_of(&ev), ["attack-tool"], "{set}: {ev}");
            assert!(agent.contains("stratus-red-team"), "{set}: {agent}");
        }
    }
    let run = run_file(
        &data.join("stratus/events.ndjson"),
        &["--quiet", "--signals-only"],
    );
    assert_eq!(run.json().len(), 308);
}
