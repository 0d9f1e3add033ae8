//! deliver(): keeps every event, adds duplicates later, reorders within the delay bound; the CLI.

use ctail_sim::{deliver, simulate, Config, Delivery, SimEvent};
use std::collections::HashMap;

fn time(e: &SimEvent) -> String {
    let v: serde_json::Value = serde_json::from_str(&e.json).unwrap();
    v["eventTime"].as_str().unwrap().to_owned()
}

fn secs(t: &str) -> i64 {
    // Good enough for one month of 2024: day, hour, minute, second.
    let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap();
    ((n(8..10) * 24 + n(11..13)) * 60 + n(14..16)) * 60 + n(17..19)
}

#[test]
fn delivery_keeps_everything_and_reorders() {
    let evs = simulate(&Config {
        events: 10_000,
        ..Config::default()
    });
    let d = Delivery {
        seed: 9,
        max_delay_secs: 900,
        duplicate_rate: 0.01,
    };
    let out = deliver(&evs, &d);
    assert_eq!(out, deliver(&evs, &d), "deterministic");

    let key = |e: &SimEvent| (e.truth.event_id.clone(), e.truth.recipient_account.clone());
    let mut count: HashMap<_, usize> = HashMap::new();
    for e in &out {
        *count.entry(key(e)).or_default() += 1;
    }
    assert_eq!(count.len(), evs.len(), "every event delivered");
    let dups = out.len() - evs.len();
    assert!((40..=200).contains(&dups), "{dups} duplicates for 1%");
    assert!(count.values().all(|&c| c <= 2));

    // Reordered, but never by more than the maximum delay.
    assert_ne!(out[..evs.len()], evs[..]);
    let mut latest = 0;
    let mut inversions = 0;
    for e in &out {
        let t = secs(&time(e));
        assert!(latest <= t + 900, "event more than 900 s late");
        inversions += usize::from(t < latest);
        latest = latest.max(t);
    }
    assert!(
        inversions > evs.len() / 10,
        "only {inversions} out-of-order arrivals"
    );

    // Cross-account copies arrive in either order.
    let mut first_is_owner = [0usize; 2];
    let mut seen: HashMap<&str, bool> = HashMap::new();
    for e in &out {
        let owner = e.json.contains("\"type\":\"AWSAccount\"");
        if e.json.contains("\"sharedEventID\"") && e.json.contains("\"eventName\":\"AssumeRole\"") {
            if let Some(&was_owner) = seen.get(e.truth.event_id.as_str()) {
                if was_owner != owner {
                    first_is_owner[usize::from(was_owner)] += 1;
                }
            } else {
                seen.insert(&e.truth.event_id, owner);
            }
        }
    }
    assert!(
        first_is_owner[0] > 0 && first_is_owner[1] > 0,
        "{first_is_owner:?}"
    );
}

#[test]
fn cli_writes_stream_and_truth_in_the_same_order() {
    let dir = std::env::temp_dir().join(format!("ctail-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let truth = dir.join("truth.ndjson");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ctail-sim"))
        .args([
            "--seed",
            "5",
            "--events",
            "3000",
            "--collisions",
            "1",
            "--late",
            "900",
            "--dup",
            "0.02",
        ])
        .arg("--truth")
        .arg(&truth)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stream = String::from_utf8(out.stdout).unwrap();
    let truth = std::fs::read_to_string(&truth).unwrap();
    let (s, t): (Vec<&str>, Vec<&str>) = (stream.lines().collect(), truth.lines().collect());
    assert_eq!(s.len(), t.len());
    assert!(s.len() > 3000);
    for (e, tr) in s.iter().zip(&t) {
        let e: serde_json::Value = serde_json::from_str(e).unwrap();
        let tr: ctail_sim::Truth = serde_json::from_str(tr).unwrap();
        assert_eq!(e["eventID"], tr.event_id.as_str());
    }
    std::fs::remove_dir_all(&dir).ok();
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_ctail-sim"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
