//! The injected hard cases (issue 12): off by default without changing a thing, deterministic,
//! and each building the shape it promises, checked on the records alone.

use ctail_sim::{simulate, Config, SimEvent, Traps};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

fn with(traps: Traps, events: usize) -> Config {
    Config {
        seed: 5,
        events,
        traps,
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

fn kind(e: &SimEvent) -> Option<&str> {
    e.truth.trap.as_ref().map(|t| t.kind.as_str())
}

/// (arn, creationDate, accessKeyId) of the caller's session.
fn session(v: &Value) -> Option<(String, String, String)> {
    let ui = &v["userIdentity"];
    Some((
        s(ui, &["arn"])?.to_owned(),
        s(ui, &["sessionContext", "attributes", "creationDate"])?.to_owned(),
        s(ui, &["accessKeyId"])?.to_owned(),
    ))
}

#[test]
fn no_traps_by_default_and_every_trap_deterministic() {
    let plain = simulate(&with(Traps::default(), 8000));
    assert!(plain.iter().all(|e| e.truth.trap.is_none()));
    let every = with(Traps::every(2), 8000);
    let (a, b) = (simulate(&every), simulate(&every));
    assert_eq!(a, b);
    assert!(a.iter().any(|e| e.truth.trap.is_some()));
    // The traps come on top of the same organisation and background: the instances' events
    // (made before any trap) are the same.
    let instances = |evs: &[SimEvent]| -> Vec<String> {
        evs.iter()
            .filter(|e| e.truth.person.as_deref().is_some_and(|p| p.starts_with("i-")))
            .map(|e| e.json.clone())
            .collect()
    };
    assert!(!instances(&plain).is_empty());
    assert_eq!(instances(&plain), instances(&a));
}

#[test]
fn every_trap_kind_appears_and_names_its_cases() {
    let evs = simulate(&with(Traps::every(4), 20_000));
    let mut kinds: HashMap<&str, HashSet<u32>> = HashMap::new();
    for e in &evs {
        if let Some(t) = &e.truth.trap {
            kinds.entry(t.kind.as_str()).or_default().insert(t.case);
            assert!(e.truth.origin.is_some(), "{}", e.json);
        }
    }
    for k in [
        "saml-collision",
        "ci-collision",
        "irsa-collision",
        "cognito-collision",
        "federation-collision",
        "switch-collision",
        "session-token-collision",
        "spoofed-collision",
        "recycled-root",
        "recycled-federation",
        "recycled-ci",
        "recycled-session-token",
        "root-beside-assume-root",
        "owner-only",
        "spoofed-source-identity",
        "juggling",
        "mfa-across",
        "console-shared",
    ] {
        assert!(kinds.contains_key(k), "no {k}: {kinds:?}");
    }
    assert_eq!(kinds["saml-collision"].len(), 4);
    assert_eq!(kinds["recycled-root"], HashSet::from([0]));
}

#[test]
fn collisions_share_every_logged_attribute_but_the_person() {
    let traps = Traps {
        saml: 3,
        web: 6,
        federation: 3,
        switch: 3,
        spoofed_collision: 2,
        ..Traps::default()
    };
    let evs = simulate(&with(traps, 20_000));
    let vals = parsed(&evs);
    let mut people: HashMap<(String, String, String), HashSet<String>> = HashMap::new();
    let mut first_key: HashMap<(String, String), String> = HashMap::new();
    for (e, v) in evs.iter().zip(&vals) {
        if !e.truth.collision {
            continue;
        }
        let k = session(v).unwrap_or_else(|| panic!("collided call without a session: {}", e.json));
        let person = format!("{:?}", e.truth.origin);
        if v["sessionCredentialFromConsole"] != "true" {
            // Console keys rotate; the key the session was handed is shared.
            first_key.entry((k.0.clone(), k.1.clone())).or_insert(k.2.clone());
        }
        people
            .entry((k.0, k.1, String::new()))
            .or_default()
            .insert(person);
    }
    let kinds: HashSet<&str> = evs
        .iter()
        .filter(|e| e.truth.collision)
        .filter_map(kind)
        .collect();
    for k in [
        "saml-collision",
        "ci-collision",
        "irsa-collision",
        "cognito-collision",
        "federation-collision",
        "switch-collision",
        "spoofed-collision",
    ] {
        assert!(kinds.contains(k), "no collided calls of {k}");
    }
    assert!(people.len() >= 15, "{} collided sessions", people.len());
    for (k, who) in &people {
        assert_eq!(who.len(), 2, "session {k:?} is used by {who:?}");
    }
    // Spoofed collisions: both sessions carry the first person's name as sourceIdentity.
    let spoofed: Vec<&Value> = evs
        .iter()
        .zip(&vals)
        .filter(|(e, _)| e.truth.collision && kind(e) == Some("spoofed-collision"))
        .map(|(_, v)| v)
        .collect();
    assert!(spoofed
        .iter()
        .all(|v| s(&v["userIdentity"], &["sessionContext", "sourceIdentity"]).is_some()));
    // Cognito calls name their own identity: what the engine may use to tell them apart.
    for (e, v) in evs.iter().zip(&vals) {
        if e.truth.collision && kind(e) == Some("cognito-collision") {
            let sub = s(
                &v["userIdentity"]["sessionContext"]["webIdFederationData"]["attributes"],
                &["cognito-identity.amazonaws.com:sub"],
            );
            assert_eq!(sub, e.truth.origin.as_ref().unwrap().name.as_deref());
        }
    }
}

#[test]
fn recycled_keys_come_back_after_the_first_session_expired() {
    let evs = simulate(&with(
        Traps {
            recycled: 8,
            ..Traps::default()
        },
        20_000,
    ));
    let vals = parsed(&evs);
    // Per recycled key: the creation dates of the sessions using it, and who used them.
    let mut uses: HashMap<String, HashMap<String, HashSet<String>>> = HashMap::new();
    for (e, v) in evs.iter().zip(&vals) {
        if !kind(e).is_some_and(|k| k.starts_with("recycled-")) || e.truth.creates {
            continue;
        }
        let (_, created, key) = session(v).unwrap_or_else(|| panic!("{}", e.json));
        uses.entry(key)
            .or_default()
            .entry(created)
            .or_default()
            .insert(format!("{:?}", e.truth.origin));
    }
    assert_eq!(uses.len(), 8, "one key per recycled case");
    for (key, sessions) in &uses {
        assert_eq!(sessions.len(), 2, "{key}: {sessions:?}");
        let mut dates: Vec<&String> = sessions.keys().collect();
        dates.sort();
        let t = |d: &str| {
            let n = |r: std::ops::Range<usize>| d[r].parse::<i64>().unwrap();
            ((n(8..10) * 24 + n(11..13)) * 60 + n(14..16)) * 60 + n(17..19)
        };
        assert!(t(dates[1]) - t(dates[0]) >= 1200, "{key}: {dates:?}");
        assert_ne!(sessions[dates[0]], sessions[dates[1]], "{key}: one person");
    }
}

#[test]
fn assume_root_and_root_sign_in_share_one_arn() {
    let evs = simulate(&with(
        Traps {
            root: 4,
            ..Traps::default()
        },
        10_000,
    ));
    let vals = parsed(&evs);
    let (mut task, mut console, mut shared_keys) = (0, 0, 0);
    let mut console_keys: HashSet<&str> = HashSet::new();
    for (e, v) in evs.iter().zip(&vals) {
        if kind(e) != Some("root-beside-assume-root") || v["userIdentity"]["type"] != "Root" {
            continue;
        }
        let origin = e.truth.origin.as_ref().unwrap();
        if v["userIdentity"]["sessionContext"]["assumedRoot"] == "true" {
            assert_eq!(origin.kind, "IAMUser", "a task session is not the root user");
            task += 1;
            shared_keys +=
                usize::from(console_keys.contains(s(v, &["userIdentity", "accessKeyId"]).unwrap()));
        } else {
            assert_eq!(origin.kind, "Root");
            console += 1;
            if let Some(k) = s(v, &["userIdentity", "accessKeyId"]) {
                console_keys.insert(k);
            }
        }
    }
    assert!(
        task > 0 && console > 0 && shared_keys > 0,
        "{task} {console} {shared_keys}"
    );
}

#[test]
fn owner_only_copies_name_a_principal_id_two_people_used() {
    let evs = simulate(&with(
        Traps {
            owner_only: 6,
            ..Traps::default()
        },
        20_000,
    ));
    let vals = parsed(&evs);
    let mut copies: HashMap<&str, usize> = HashMap::new();
    for v in &vals {
        if let Some(sh) = s(v, &["sharedEventID"]) {
            *copies.entry(sh).or_default() += 1;
        }
    }
    let mut by_principal: HashMap<&str, HashSet<String>> = HashMap::new();
    for (e, v) in evs.iter().zip(&vals) {
        let lone = s(v, &["sharedEventID"]).is_some_and(|sh| copies[sh] == 1);
        if kind(e) == Some("owner-only") && lone && v["eventName"] == "AssumeRole" {
            assert_eq!(v["userIdentity"]["type"], "AWSAccount", "{}", e.json);
            let p = s(v, &["userIdentity", "principalId"]).unwrap();
            assert!(p.ends_with(":botocore-session"), "{p}");
            by_principal
                .entry(p)
                .or_default()
                .insert(format!("{:?}", e.truth.origin));
        }
    }
    assert!(!by_principal.is_empty());
    assert!(
        by_principal.values().any(|who| who.len() >= 2),
        "no principal id reused by two people: {by_principal:?}"
    );
}

#[test]
fn juggling_chains_go_past_the_hop_limit() {
    let evs = simulate(&with(
        Traps {
            juggling: 4,
            ..Traps::default()
        },
        20_000,
    ));
    let vals = parsed(&evs);
    let mut hops: HashMap<u32, usize> = HashMap::new();
    for (e, v) in evs.iter().zip(&vals) {
        let caller_copy = v["userIdentity"]["type"] != "AWSAccount";
        if kind(e) == Some("juggling") && e.truth.creates && caller_copy {
            *hops.entry(e.truth.trap.as_ref().unwrap().case).or_default() += 1;
        }
    }
    let mut counts: Vec<usize> = hops.into_values().collect();
    counts.sort_unstable();
    assert_eq!(counts, [63, 64, 65, 70]);
}

#[test]
fn spoofed_source_identity_names_someone_else() {
    let evs = simulate(&with(
        Traps {
            spoofed_source_identity: 4,
            ..Traps::default()
        },
        20_000,
    ));
    let mut spoofed = 0;
    for (e, v) in evs.iter().zip(parsed(&evs)) {
        if kind(e) != Some("spoofed-source-identity") {
            continue;
        }
        if let Some(si) = s(&v["userIdentity"], &["sessionContext", "sourceIdentity"]) {
            let o = e.truth.origin.as_ref().unwrap();
            assert_ne!(o.name.as_deref(), Some(si), "{}", e.json);
            spoofed += 1;
        }
    }
    assert!(spoofed > 10, "{spoofed}");
}

#[test]
fn shared_names_reuse_role_session_names_across_people() {
    let evs = simulate(&with(
        Traps {
            shared_names: 0.5,
            ..Traps::default()
        },
        20_000,
    ));
    let mut who: HashMap<String, HashSet<String>> = HashMap::new();
    let mut minted: HashSet<(String, String)> = HashSet::new();
    for (e, v) in evs.iter().zip(parsed(&evs)) {
        let Some(arn) = s(&v, &["responseElements", "assumedRoleUser", "arn"]) else {
            continue;
        };
        if v["userIdentity"]["type"] == "AWSAccount" {
            continue;
        }
        let t = s(&v, &["eventTime"]).unwrap().to_owned();
        assert!(
            minted.insert((arn.to_owned(), t)),
            "accidental collision on {arn}"
        );
        who.entry(arn.to_owned())
            .or_default()
            .insert(format!("{:?}", e.truth.origin));
    }
    assert!(who.values().filter(|p| p.len() > 1).count() >= 5);
}
