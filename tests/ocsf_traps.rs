//! Every trap of tests/fixtures/traps read from Security Lake OCSF (tests/fixtures/streams/ocsf-traps,
//! made by make_ocsf_traps.py with ct2ocsf.py): the OCSF reading of an event may lose what the
//! CloudTrail reading finds (unlinked, ambiguous, or the same origin at a weaker confidence), but
//! never names another origin, at any confidence, and is never `exact` where the CloudTrail reading
//! is not exact about the same origin. The traps are what fools lineage; OCSF takes fields away.

use crate::util::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    fixtures().join("streams/ocsf-traps")
}

/// What one reading says of one event.
#[derive(Debug, PartialEq)]
struct Verdict {
    confidence: String,
    /// Type and key of the origin, where exact or heuristic.
    origin: Option<String>,
}

fn verdict(ctail: &Value) -> Verdict {
    let confidence = ctail["confidence"].as_str().unwrap_or("").to_string();
    let named = matches!(confidence.as_str(), "exact" | "heuristic") && ctail["origin"].is_object();
    let origin = named.then(|| {
        let o = &ctail["origin"];
        format!("{} {}", o["type"].as_str().unwrap_or(""), origin_key(o))
    });
    Verdict { confidence, origin }
}

/// Each output event's verdict, keyed by eventID (CloudTrail `eventID`, OCSF `metadata.uid`) and
/// its rank among events sharing it: held events may leave after their neighbours.
fn verdicts(run: &Run) -> HashMap<(String, usize), Verdict> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = HashMap::new();
    for ev in run.json() {
        let id = ev["eventID"]
            .as_str()
            .or(ev["metadata"]["uid"].as_str())
            .unwrap_or("")
            .to_string();
        let rank = seen.entry(id.clone()).or_default();
        out.insert((id, *rank), verdict(&ev["ctail"]));
        *rank += 1;
    }
    out
}

#[derive(Debug, Default)]
struct Tally {
    events: usize,
    with_origin: usize,
    same: usize,
    same_exact: usize,
    lost: usize,
    wrong: usize,
}

/// Reads trap `name` as CloudTrail (`raw`) and as OCSF (`ocsf`) with its flags, and adds each
/// event's comparison to `tally`; what breaks the rule goes to `failures`.
fn compare(name: &str, raw: &Path, ocsf: &Path, tally: &mut Tally, failures: &mut Vec<String>) {
    let args_text =
        std::fs::read_to_string(fixtures().join(format!("traps/{name}.args"))).unwrap_or_default();
    let mut args: Vec<&str> = args_text.split_whitespace().collect();
    args.push("--quiet");
    let (a, b) = (run_file(raw, &args), run_file(ocsf, &args));
    assert_eq!((a.code, b.code), (Some(0), Some(0)), "{name}: {}", b.stderr);
    let (a, mut b) = (verdicts(&a), verdicts(&b));
    assert_eq!(a.len(), b.len(), "{name}: event count");
    let mut keys: Vec<_> = a.keys().collect();
    keys.sort();
    for key in keys {
        let (ra, rb) = (&a[key], b.remove(key));
        let Some(rb) = rb else {
            failures.push(format!("{name}: {} not in the OCSF output", key.0));
            continue;
        };
        tally.events += 1;
        tally.with_origin += usize::from(ra.origin.is_some());
        match (&ra.origin, &rb.origin) {
            (_, None) => tally.lost += usize::from(ra.origin.is_some()),
            (Some(x), Some(y)) if x == y => {
                tally.same += 1;
                if rb.confidence == "exact" {
                    tally.same_exact += 1;
                    if ra.confidence != "exact" {
                        failures.push(format!(
                            "{name}: {} exact from OCSF, {} from CloudTrail",
                            key.0, ra.confidence
                        ));
                    }
                }
            }
            _ => {
                tally.wrong += 1;
                failures.push(format!("{name}: {} WRONG: CloudTrail {ra:?}, OCSF {rb:?}", key.0));
            }
        }
    }
}

/// Every `*.ndjson` trap of `sub` (a folder of OCSF conversions) against its CloudTrail original.
fn check(sub: &Path, at_least: usize) -> Tally {
    let mut names: Vec<String> = std::fs::read_dir(sub)
        .expect("OCSF traps")
        .filter_map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name()?.to_str()?.strip_suffix(".ndjson")?.to_string();
            (!name.ends_with(".raw")).then_some(name)
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= at_least,
        "only {} OCSF traps in {}",
        names.len(),
        sub.display()
    );
    let (mut tally, mut failures) = (Tally::default(), Vec::new());
    for name in &names {
        let own_raw = sub.join(format!("{name}.raw.ndjson"));
        let raw = if own_raw.is_file() {
            own_raw
        } else {
            fixtures().join(format!("traps/{name}.ndjson"))
        };
        compare(
            name,
            &raw,
            &sub.join(format!("{name}.ndjson")),
            &mut tally,
            &mut failures,
        );
    }
    let t = &tally;
    eprintln!(
        "{}: {} events, {} with an origin from CloudTrail; from OCSF {} the same ({} exact), {} lost, {} wrong",
        sub.display(),
        t.events,
        t.with_origin,
        t.same,
        t.same_exact,
        t.lost,
        t.wrong
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    tally
}

/// The traps through the published mapping, as Security Lake stores them.
#[test]
fn no_trap_gets_another_origin_from_ocsf() {
    let t = check(&dir(), 45);
    // Losing everything would pass the rule: most origins survive the mapping.
    assert!(t.same * 10 >= t.with_origin * 9, "{t:?}");
}

/// The same without `unmapped` (an export of the OCSF columns only): sharedEventID,
/// recipientAccountId and sessionCredentialFromConsole are gone too.
#[test]
fn no_trap_gets_another_origin_from_ocsf_without_unmapped() {
    let t = check(&dir().join("bare"), 40);
    assert!(t.same * 10 >= t.with_origin * 8, "{t:?}");
}
