//! Every trap of tests/fixtures/traps read from Security Lake OCSF (tests/fixtures/streams/ocsf-traps,
//! made by make_ocsf_traps.py with ct2ocsf.py): the OCSF reading of an event may lose what the
//! CloudTrail reading finds (unlinked, ambiguous, or the same origin at a weaker confidence), but
//! never names another origin, at any confidence, and is never `exact` where the CloudTrail reading
//! is not exact about the same origin. The traps are what fools lineage; OCSF takes fields away,
//! and exporters take more (the changes below), or put them elsewhere.

use crate::util::*;
use serde_json::{json, Value};
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

/// The eventID of an output record: CloudTrail `eventID`, OCSF `metadata.uid`.
fn event_id(ev: &Value) -> String {
    ev["eventID"]
        .as_str()
        .or(ev["metadata"]["uid"].as_str())
        .unwrap_or("")
        .to_string()
}

/// Each output event's verdict, keyed by eventID and its rank among events sharing it: held
/// events may leave after their neighbours.
fn verdicts(run: &Run) -> HashMap<(String, usize), Verdict> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = HashMap::new();
    for ev in run.json() {
        let id = event_id(&ev);
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

/// Flags a trap runs with: `NAME.args` beside it, or beside the trap it was made from.
fn args_of(name: &str, sub: &Path) -> Vec<String> {
    let own = std::fs::read_to_string(sub.join(format!("{name}.args")));
    let text = own
        .or_else(|_| std::fs::read_to_string(fixtures().join(format!("traps/{name}.args"))))
        .unwrap_or_default();
    let mut args: Vec<String> = text.split_whitespace().map(String::from).collect();
    args.push("--quiet".into());
    args
}

/// Reads trap `name` as CloudTrail (`raw`) and as OCSF (`ocsf`), and adds each event's
/// comparison to `tally`; what breaks the rule goes to `failures`.
fn compare(
    name: &str,
    args: &[String],
    raw: &Path,
    ocsf: &Run,
    tally: &mut Tally,
    failures: &mut Vec<String>,
) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let a = run_file(raw, &args);
    assert_eq!((a.code, ocsf.code), (Some(0), Some(0)), "{name}: {}", ocsf.stderr);
    let (a, mut b) = (verdicts(&a), verdicts(ocsf));
    assert_eq!(a.len(), b.len(), "{name}: event count");
    let mut keys: Vec<_> = a.keys().collect();
    keys.sort();
    for key in keys {
        let ra = &a[key];
        let Some(rb) = b.remove(key) else {
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

/// Where `NAME.expect.tsv` is beside an OCSF trap: each event's answer from OCSF is the one
/// written there (eventID, confidence, origin type, origin key).
fn check_expected(name: &str, sub: &Path, ocsf: &Run, failures: &mut Vec<String>) {
    let Ok(text) = std::fs::read_to_string(sub.join(format!("{name}.expect.tsv"))) else {
        return;
    };
    let got: HashMap<String, Value> = ocsf.json().into_iter().map(|ev| (event_id(&ev), ev)).collect();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let want: Vec<&str> = line.split('\t').collect();
        let Some(ev) = got.get(want[0]) else {
            failures.push(format!("{name}: {} missing", want[0]));
            continue;
        };
        let c = &ev["ctail"];
        let have = [
            c["confidence"].as_str().unwrap_or(""),
            c["origin"]["type"].as_str().unwrap_or("-"),
            &origin_key(&c["origin"]),
        ]
        .map(String::from);
        if have[..] != want[1..4] {
            failures.push(format!(
                "{name}: {} expected {:?} got {have:?}",
                want[0],
                &want[1..4]
            ));
        }
    }
}

/// Every `*.ndjson` trap of `sub` (a folder of OCSF conversions), changed by `change`, against
/// its CloudTrail original; `NAME.expect.tsv` where there is one.
fn check(sub: &Path, at_least: usize, change: Change) -> Tally {
    let (tally, failures) = survey(sub, at_least, change);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    tally
}

/// [`check`]'s counts and failures, without failing.
fn survey(sub: &Path, at_least: usize, change: Change) -> (Tally, Vec<String>) {
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
        let args = args_of(name, sub);
        let ocsf_args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ocsf = run(
            &ocsf_args,
            Some(&changed(&sub.join(format!("{name}.ndjson")), change)),
        );
        compare(name, &args, &raw, &ocsf, &mut tally, &mut failures);
        check_expected(name, sub, &ocsf, &mut failures);
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
    (tally, failures)
}

/// Each record of an OCSF file, changed by `change`, as JSON lines.
fn changed(path: &Path, change: Change) -> Vec<u8> {
    let mut out = Vec::new();
    for line in read_lines(path) {
        let mut v: Value = serde_json::from_slice(&line).expect("OCSF fixture line");
        change(&mut v);
        serde_json::to_writer(&mut out, &v).unwrap();
        out.push(b'\n');
    }
    out
}

/// A change an exporter makes to each OCSF record.
type Change = fn(&mut Value);

fn as_is(_: &mut Value) {}

/// The traps through the published mapping, as Security Lake stores them.
#[test]
fn no_trap_gets_another_origin_from_ocsf() {
    let t = check(&dir(), 45, as_is);
    // Losing everything would pass the rule: most origins survive the mapping.
    assert!(t.same * 10 >= t.with_origin * 9, "{t:?}");
}

/// The same without `unmapped` (an export of the OCSF columns only): sharedEventID,
/// recipientAccountId and sessionCredentialFromConsole are gone too.
#[test]
fn no_trap_gets_another_origin_from_ocsf_without_unmapped() {
    let t = check(&dir().join("bare"), 40, as_is);
    assert!(t.same * 10 >= t.with_origin * 8, "{t:?}");
}

/// OCSF inputs built to fool the OCSF reading, each with the answer expected from it.
#[test]
fn ocsf_attacks_get_their_expected_answers() {
    check(&dir().join("attacks"), 4, as_is);
}

fn actor(v: &mut Value) -> &mut Value {
    &mut v["actor"]
}

/// The 1.0.0-rc.2 id layout: the principal id in `uid`, the ARN in `uuid`, `account_uid`.
fn rc2_ids(v: &mut Value) {
    let user = &mut actor(v)["user"];
    if let Some(u) = user.as_object_mut() {
        let (arn, principal) = (u.remove("uid"), u.remove("uid_alt"));
        if let Some(a) = arn {
            u.insert("uuid".into(), a);
        }
        if let Some(p) = principal {
            u.insert("uid".into(), p);
        }
        if let Some(acct) = u.remove("account") {
            u.insert("account_uid".into(), acct["uid"].clone());
        }
    }
}

/// ARN and principal id the other way round: each is taken by what it looks like.
fn swapped_ids(v: &mut Value) {
    if let Some(u) = actor(v)["user"].as_object_mut() {
        let (a, b) = (u.remove("uid"), u.remove("uid_alt"));
        if let Some(a) = a {
            u.insert("uid_alt".into(), a);
        }
        if let Some(b) = b {
            u.insert("uid".into(), b);
        }
    }
}

fn no_credential_uid(v: &mut Value) {
    if let Some(u) = actor(v)["user"].as_object_mut() {
        u.remove("credential_uid");
    }
}

fn no_principal_id(v: &mut Value) {
    if let Some(u) = actor(v)["user"].as_object_mut() {
        u.remove("uid_alt");
    }
}

fn no_type(v: &mut Value) {
    if let Some(u) = actor(v)["user"].as_object_mut() {
        u.remove("type");
    }
}

fn no_session(v: &mut Value) {
    if let Some(a) = actor(v).as_object_mut() {
        a.remove("session");
    }
}

/// `created_time: 0` (a pipeline's "not set") in place of the session start.
fn created_time_zero(v: &mut Value) {
    if let Some(s) = actor(v)["session"].as_object_mut() {
        if s.remove("created_time_dt").is_some() {
            s.insert("created_time".into(), json!(0));
        }
    }
}

/// Seconds where OCSF wants milliseconds, and no `time_dt`: no usable time at all.
fn times_in_seconds(v: &mut Value) {
    let o = v.as_object_mut().unwrap();
    o.remove("time_dt");
    if let Some(ms) = o.get("time").and_then(Value::as_i64) {
        o.insert("time".into(), json!(ms / 1000));
    }
    if let Some(s) = o.get_mut("actor").and_then(|a| a["session"].as_object_mut()) {
        if let Some(t) = s.remove("created_time_dt") {
            let secs = t
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
            if let Some(secs) = secs {
                s.insert("created_time".into(), json!(secs.timestamp()));
            }
        }
    }
}

/// Athena's timestamp text (`2024-06-11 08:00:00.000`) and no epoch `time`.
fn athena_times(v: &mut Value) {
    let athena = |t: &Value| {
        t.as_str()
            .map(|t| Value::String(t.replace('T', " ").replace('Z', ".000")))
    };
    let o = v.as_object_mut().unwrap();
    o.remove("time");
    if let Some(t) = o.get("time_dt").and_then(athena) {
        o.insert("time_dt".into(), t);
    }
    if let Some(s) = o.get_mut("actor").and_then(|a| a["session"].as_object_mut()) {
        if let Some(t) = s.get("created_time_dt").and_then(athena) {
            s.insert("created_time_dt".into(), t);
        }
    }
}

/// `unmapped` as nested objects rather than dotted keys.
fn nested_unmapped(v: &mut Value) {
    let Some(Value::Object(flat)) = v.as_object_mut().and_then(|o| o.remove("unmapped")) else {
        return;
    };
    let mut nested = json!({});
    for (k, val) in flat {
        let mut slot = &mut nested;
        let parts: Vec<&str> = k.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            if !slot[*p].is_object() && !slot[*p].is_null() {
                break;
            }
            slot = &mut slot[*p];
        }
        if slot.is_object() || slot.is_null() {
            slot[parts[parts.len() - 1]] = val;
        }
    }
    v["unmapped"] = nested;
}

/// Request and response data as objects rather than JSON strings.
fn data_as_objects(v: &mut Value) {
    for part in ["request", "response"] {
        let slot = &mut v["api"][part]["data"];
        if let Some(parsed) = slot.as_str().and_then(|s| serde_json::from_str::<Value>(s).ok()) {
            *slot = parsed;
        }
    }
}

fn no_invoked_by(v: &mut Value) {
    if let Some(a) = actor(v).as_object_mut() {
        a.remove("invoked_by");
    }
}

fn no_user_name(v: &mut Value) {
    if let Some(u) = actor(v)["user"].as_object_mut() {
        u.remove("name");
    }
}

fn no_request_data(v: &mut Value) {
    if let Some(r) = v["api"]["request"].as_object_mut() {
        r.remove("data");
    }
}

/// Both: EC2's AssumeRole then names neither the service nor the session.
fn no_invoked_by_nor_request_data(v: &mut Value) {
    no_invoked_by(v);
    no_request_data(v);
}

/// What exporters do to OCSF records besides the mapping: ids laid out otherwise, fields left
/// out, times in other units and formats, `unmapped` nested. None of it may make another origin.
#[test]
fn no_exporter_change_makes_another_origin() {
    let changes: [(&str, Change); 16] = [
        ("1.0.0-rc.2 ids", rc2_ids),
        ("swapped ids", swapped_ids),
        ("no credential_uid", no_credential_uid),
        ("no principal id", no_principal_id),
        ("no actor.user.type", no_type),
        ("no actor.session", no_session),
        ("created_time 0", created_time_zero),
        ("times in seconds", times_in_seconds),
        ("Athena times", athena_times),
        ("nested unmapped", nested_unmapped),
        ("data as objects", data_as_objects),
        ("no actor.invoked_by", no_invoked_by),
        ("no actor.user.name", no_user_name),
        ("no api.request.data", no_request_data),
        ("neither", no_invoked_by_nor_request_data),
        ("as is", as_is),
    ];
    let mut failures = Vec::new();
    for (what, change) in changes {
        eprintln!("{what}:");
        let (_, f) = survey(&dir(), 45, change);
        failures.extend(f.into_iter().map(|f| format!("{what}: {f}")));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The OCSF fixtures are what their generators make of the traps as they are now: a new trap gets
/// its OCSF copies, or this fails (`python3 tests/fixtures/streams/make_ocsf_traps.py` rewrites them).
#[test]
fn ocsf_fixtures_are_current() {
    for script in ["make_ocsf_traps.py", "make_layouts.py", "make_streams.py"] {
        let out = std::process::Command::new("python3")
            .arg(fixtures().join("streams").join(script))
            .arg("--check")
            .output();
        match out {
            Err(e) => return skipped(&format!("python3 is not available ({e})")),
            Ok(out) => assert!(
                out.status.success(),
                "{script} --check: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
}
