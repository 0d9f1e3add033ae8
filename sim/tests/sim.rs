//! Properties of the simulated stream: determinism, shape, lineage, cross-account pairs, collisions.

use ctail_sim::{simulate, Config, SimEvent};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

fn cfg(events: usize, collisions: usize) -> Config {
    Config {
        events,
        collisions,
        ..Config::default()
    }
}

fn parsed(evs: &[SimEvent]) -> Vec<Value> {
    evs.iter()
        .map(|e| serde_json::from_str(&e.json).expect("valid JSON"))
        .collect()
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// (session ARN, creationDate) a creating event mints, derived from the record alone.
fn minted(v: &Value) -> Option<(String, String)> {
    if v.get("errorCode").is_some() || v.get("errorMessage").is_some() {
        return None;
    }
    let time = s(v, &["eventTime"])?.to_owned();
    let resp = v.get("responseElements")?;
    match s(v, &["eventName"])? {
        "SwitchRole" => Some((s(v, &["userIdentity", "arn"])?.to_owned(), time)),
        // A federated sign-in runs the console on the role session it names: it mints nothing.
        "ConsoleLogin" if v["userIdentity"]["type"] == "AssumedRole" => None,
        "ConsoleLogin" => Some((s(v, &["userIdentity", "arn"])?.to_owned(), time)),
        "AssumeRoot" => Some((s(resp, &["credentials", "accessKeyId"])?.to_owned(), time)),
        "GetFederationToken" => Some((s(resp, &["federatedUser", "arn"])?.to_owned(), time)),
        "GetSessionToken" => Some((s(resp, &["credentials", "accessKeyId"])?.to_owned(), time)),
        "AssumeRole" | "AssumeRoleWithSAML" | "AssumeRoleWithWebIdentity" => {
            if let Some(arn) = s(resp, &["assumedRoleUser", "arn"]) {
                return Some((arn.to_owned(), time));
            }
            // EC2 / Lambda records carry credentials only: rebuild the ARN from the request.
            let role = s(v, &["requestParameters", "roleArn"])?;
            let (acct, name) = (role.split(':').nth(4)?, role.rsplit('/').next()?);
            let sess = s(v, &["requestParameters", "roleSessionName"])?;
            Some((format!("arn:aws:sts::{acct}:assumed-role/{name}/{sess}"), time))
        }
        _ => None,
    }
}

/// The session a record was made by, as the key `minted` would give its creating event.
fn session_of(v: &Value) -> Option<(String, String)> {
    let ui = v.get("userIdentity")?;
    let created = s(ui, &["sessionContext", "attributes", "creationDate"])?.to_owned();
    match s(ui, &["type"])? {
        "AssumedRole" | "FederatedUser" => Some((s(ui, &["arn"])?.to_owned(), created)),
        "IAMUser" | "Root" if v.get("sessionCredentialFromConsole").is_some() => {
            Some((s(ui, &["arn"])?.to_owned(), created))
        }
        "Root" if ui["sessionContext"]["assumedRoot"] == "true" => {
            Some((s(ui, &["accessKeyId"])?.to_owned(), created))
        }
        "IAMUser" => Some((s(ui, &["accessKeyId"])?.to_owned(), created)),
        _ => None,
    }
}

#[test]
fn deterministic_for_a_seed() {
    let c = cfg(4000, 3);
    let (a, b) = (simulate(&c), simulate(&c));
    assert_eq!(a, b);
    let other = simulate(&Config { seed: 2, ..c });
    assert_ne!(a[0].json, other[0].json);
}

#[test]
fn events_are_single_line_json_with_matching_truth() {
    let evs = simulate(&cfg(20_000, 2));
    assert!((19_000..22_000).contains(&evs.len()), "{} events", evs.len());
    let vals = parsed(&evs);
    let mut last = String::new();
    for (e, v) in evs.iter().zip(&vals) {
        assert!(!e.json.contains('\n') && v.is_object());
        assert_eq!(s(v, &["eventID"]), Some(e.truth.event_id.as_str()));
        assert_eq!(
            s(v, &["recipientAccountId"]),
            Some(e.truth.recipient_account.as_str())
        );
        let t = s(v, &["eventTime"]).unwrap().to_owned();
        assert!(t >= last, "out of order: {t} after {last}");
        last = t;
        let nobody = v["eventType"] == "AwsServiceEvent"
            && v["userIdentity"].get("type").is_none()
            && v["eventSource"] != "sso.amazonaws.com";
        assert_eq!(e.truth.origin.is_none(), nobody, "{}", e.json);
        if e.truth.person.is_none() && !nobody {
            assert_eq!(
                e.truth.origin.as_ref().unwrap().name.as_deref(),
                Some("lambda.amazonaws.com")
            );
        }
    }
    // (eventID, recipientAccountId) identifies an event.
    let ids: HashSet<_> = evs
        .iter()
        .map(|e| (&e.truth.event_id, &e.truth.recipient_account))
        .collect();
    assert_eq!(ids.len(), evs.len());
}

#[test]
fn every_session_is_minted_before_use() {
    minted_before_use(&cfg(20_000, 4));
    // The hard cases too: recycled keys, owner-only copies, federated console sign-ins.
    minted_before_use(&Config {
        traps: ctail_sim::Traps::every(3),
        ..cfg(20_000, 4)
    });
}

fn minted_before_use(c: &Config) {
    let evs = simulate(c);
    let mut made: HashSet<(String, String)> = HashSet::new();
    let mut used = 0;
    for (e, v) in evs.iter().zip(parsed(&evs)) {
        let m = minted(&v);
        assert_eq!(
            e.truth.creates,
            m.is_some() || v["eventName"] == "GetRoleCredentials",
            "{}",
            e.json
        );
        if let Some(k) = m {
            made.insert(k);
        }
        if let Some(k) = session_of(&v) {
            assert!(
                made.contains(&k),
                "session {k:?} used before it was minted: {}",
                e.json
            );
            used += 1;
        }
    }
    assert!(used > evs.len() / 2);
}

#[test]
fn cross_account_calls_are_logged_twice() {
    let evs = simulate(&cfg(20_000, 0));
    let vals = parsed(&evs);
    let mut by_id: HashMap<&str, Vec<&Value>> = HashMap::new();
    for v in &vals {
        by_id.entry(s(v, &["eventID"]).unwrap()).or_default().push(v);
    }
    let mut pairs = 0;
    for copies in by_id.values().filter(|c| c.len() > 1) {
        assert_eq!(copies.len(), 2);
        let (a, b) = (copies[0], copies[1]);
        assert_eq!(a["eventName"], "AssumeRole");
        assert_eq!(a["sharedEventID"], b["sharedEventID"]);
        assert_eq!(a["eventTime"], b["eventTime"]);
        assert_eq!(b["userIdentity"]["type"], "AWSAccount");
        assert_eq!(b["userIdentity"]["accountId"], a["recipientAccountId"]);
        assert_ne!(a["recipientAccountId"], b["recipientAccountId"]);
        let role_acct = s(a, &["requestParameters", "roleArn"])
            .unwrap()
            .split(':')
            .nth(4)
            .unwrap();
        assert_eq!(b["recipientAccountId"], role_acct);
        pairs += 1;
    }
    assert!(pairs > 20, "only {pairs} cross-account pairs");
}

/// (arn, creationDate, accessKeyId) of a session.
type SessionKey = (String, String, String);
/// (sourceIPAddress, userAgent) of a call.
type Client = (String, String);

#[test]
fn collisions_share_everything_but_the_person() {
    let evs = simulate(&cfg(20_000, 6));
    let vals = parsed(&evs);
    // Sessions by (arn, creationDate, key), with the origins and clients that used them.
    let mut sessions: HashMap<SessionKey, (HashSet<String>, HashSet<Client>)> = HashMap::new();
    for (e, v) in evs.iter().zip(&vals) {
        if !e.truth.collision {
            continue;
        }
        let ui = &v["userIdentity"];
        let key = (
            s(ui, &["arn"]).unwrap().to_owned(),
            s(ui, &["sessionContext", "attributes", "creationDate"])
                .unwrap()
                .to_owned(),
            s(ui, &["accessKeyId"]).unwrap().to_owned(),
        );
        let entry = sessions.entry(key).or_default();
        entry.0.insert(e.truth.person.clone().unwrap());
        let client = (
            s(v, &["sourceIPAddress"]).unwrap().to_owned(),
            s(v, &["userAgent"]).unwrap().to_owned(),
        );
        entry.1.insert(client);
    }
    assert_eq!(sessions.len(), 6, "one shared session per pair");
    let mut indistinguishable = 0;
    for (people, clients) in sessions.values() {
        assert_eq!(people.len(), 2, "two different people behind each collision");
        indistinguishable += usize::from(clients.len() == 1);
    }
    assert_eq!(
        indistinguishable, 2,
        "every third pair has identical IP and user agent"
    );

    // Without injection, no two minting events share a session ARN and second.
    let clean = simulate(&cfg(20_000, 0));
    let mut seen = HashSet::new();
    for (e, v) in clean.iter().zip(parsed(&clean)) {
        assert!(!e.truth.collision);
        if let (Some(k), false) = (minted(&v), v["userIdentity"]["type"] == "AWSAccount") {
            assert!(seen.insert(k.clone()), "accidental collision {k:?}");
        }
    }
}

#[test]
fn typical_event_is_one_to_two_kilobytes() {
    let evs = simulate(&cfg(10_000, 0));
    let mut sizes: Vec<usize> = evs.iter().map(|e| e.json.len()).collect();
    sizes.sort_unstable();
    let (p10, p50, p90) = (
        sizes[sizes.len() / 10],
        sizes[sizes.len() / 2],
        sizes[sizes.len() * 9 / 10],
    );
    assert!(
        p10 >= 700 && (1000..=2000).contains(&p50) && p90 <= 2600,
        "{p10} {p50} {p90}"
    );
}

#[test]
fn every_identity_path_appears() {
    let evs = simulate(&Config::default());
    let vals = parsed(&evs);
    let names: HashSet<&str> = vals.iter().filter_map(|v| s(v, &["eventName"])).collect();
    for n in [
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "GetSessionToken",
        "GetFederationToken",
        "ConsoleLogin",
        "SwitchRole",
        "GetRoleCredentials",
    ] {
        assert!(names.contains(n), "no {n}");
    }
    let types: HashSet<&str> = vals
        .iter()
        .filter_map(|v| s(v, &["userIdentity", "type"]))
        .collect();
    for t in [
        "IAMUser",
        "AssumedRole",
        "FederatedUser",
        "AWSAccount",
        "AWSService",
        "SAMLUser",
        "WebIdentityUser",
        "IdentityCenterUser",
        "Root",
    ] {
        assert!(types.contains(t), "no userIdentity type {t}");
    }
    let origins: HashSet<&str> = evs
        .iter()
        .filter_map(|e| e.truth.origin.as_ref())
        .map(|o| o.kind.as_str())
        .collect();
    assert_eq!(origins.len(), 6, "{origins:?}");
    let has = |f: &dyn Fn(&Value) -> bool| vals.iter().any(f);
    assert!(has(
        &|v| v["errorCode"] == "AccessDenied" && v["eventName"] == "AssumeRole"
    ));
    assert!(has(&|v| v["responseElements"]["ConsoleLogin"] == "Failure"));
    assert!(has(
        &|v| v["userIdentity"]["sessionContext"]["sourceIdentity"].is_string()
    ));
    assert!(has(
        &|v| v["userIdentity"]["inScopeOf"]["credentialsIssuedTo"].is_string()
    ));
    // Console keys rotate: one console session shows several keys.
    let mut keys: HashMap<(&str, &str), HashSet<&str>> = HashMap::new();
    for v in vals
        .iter()
        .filter(|v| v["sessionCredentialFromConsole"] == "true")
    {
        let ui = &v["userIdentity"];
        let k = (
            s(ui, &["arn"]).unwrap(),
            s(ui, &["sessionContext", "attributes", "creationDate"]).unwrap(),
        );
        keys.entry(k)
            .or_default()
            .insert(s(ui, &["accessKeyId"]).unwrap());
    }
    assert!(keys.values().any(|k| k.len() > 2));
    // Identity Center: GetRoleCredentials is followed within 2 s by the member's AssumeRoleWithSAML.
    let sso: Vec<&Value> = vals
        .iter()
        .filter(|v| v["eventName"] == "GetRoleCredentials")
        .collect();
    assert!(sso.iter().all(|g| vals.iter().any(|v| {
        v["eventName"] == "AssumeRoleWithSAML"
            && v["recipientAccountId"] == g["serviceEventDetails"]["account_id"]
            && s(v, &["eventTime"]) >= s(g, &["eventTime"])
            && s(v, &["requestParameters", "roleArn"]).is_some_and(|r| r.contains("AWSReservedSSO_"))
    })));
}

#[test]
fn ids_are_unique_where_they_should_be() {
    let evs = simulate(&cfg(20_000, 0));
    let vals = parsed(&evs);
    let mut keys = HashSet::new();
    for v in &vals {
        if v["userIdentity"]["type"] == "AWSAccount" {
            continue;
        }
        if let Some(k) = s(v, &["responseElements", "credentials", "accessKeyId"]) {
            assert!(keys.insert(k.to_owned()), "key {k} issued twice");
        }
    }
    let req: HashSet<&str> = vals
        .iter()
        .filter(|v| v["userIdentity"]["type"] != "AWSAccount")
        .filter_map(|v| s(v, &["requestID"]))
        .collect();
    let n = vals
        .iter()
        .filter(|v| v["userIdentity"]["type"] != "AWSAccount" && v.get("requestID").is_some())
        .count();
    assert_eq!(req.len(), n);
}

#[test]
fn truth_serialises_with_the_agreed_field_names() {
    let evs = simulate(&cfg(3000, 0));
    let ic = evs
        .iter()
        .find(|e| {
            e.truth
                .origin
                .as_ref()
                .is_some_and(|o| o.kind == "IdentityCenterUser")
        })
        .unwrap();
    let v: Value = serde_json::to_value(&ic.truth).unwrap();
    assert!(v["origin"]["userId"].is_string() && v["origin"]["name"].is_string());
    assert!(v["origin"].get("arn").is_none() && v["origin"].get("instance").is_none());
    let back: ctail_sim::Truth = serde_json::from_value(v).unwrap();
    assert_eq!(back, ic.truth);
}
