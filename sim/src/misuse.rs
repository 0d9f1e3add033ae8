//! Misuse ground truth (issue 15): stolen sessions, and the benign look-alike the base stream
//! lacks (a person who carries on from a new address with the same tool).
//!
//! Injected after everything else is simulated, from its own random stream, into sessions the
//! stream already has: a person's role session, or an instance's delivered credentials, gets a
//! few calls made with its key from another address with another tool while the owner is still
//! using it (concurrently: between the owner's second and last calls, so the session is valid);
//! a person's session switches address halfway, keeping its tool. The other look-alikes are in
//! the base stream already: services on behalf (`invokedBy`, `AWS Internal`), console sessions,
//! cross-account copies, and colliding sessions (`Config::collisions`, `Traps`). Sessions of
//! collisions and traps are never chosen, so attribution's ground truth stays as it was.

use crate::gen::Raw;
use crate::ids;
use crate::rng::Rng;
use crate::MisuseTag;
use serde_json::Value;
use std::collections::BTreeMap;

/// How much misuse to inject; all 0 by default.
#[derive(Clone, Debug, Default)]
pub struct Misuse {
    /// People's role sessions used by another party.
    pub stolen_roles: usize,
    /// Instance credentials used off the instance.
    pub stolen_instances: usize,
    /// People's sessions that move to a new address halfway, same tool.
    pub moves: usize,
}

impl Misuse {
    pub fn any(&self) -> bool {
        self.stolen_roles + self.stolen_instances + self.moves > 0
    }

    /// `n` of each.
    pub fn every(n: usize) -> Misuse {
        Misuse {
            stolen_roles: n,
            stolen_instances: n,
            moves: n,
        }
    }
}

/// Tools nobody in the simulated organisation uses (§9: python-requests, an old botocore, a
/// Windows CLI build, a Kali box).
const THIEF_AGENTS: [&str; 7] = [
    "python-requests/2.31.0",
    "Boto3/1.26.137 Python/3.11.2 Linux/6.1.0-kali9-amd64 Botocore/1.29.137",
    "aws-cli/1.29.62 Python/3.11.4 Windows/10 botocore/1.31.62",
    "Boto3/1.17.112 Python/3.8.10 Linux/5.4.0-150-generic Botocore/1.20.112",
    "aws-sdk-go/1.44.0 (go1.19.3; linux; amd64)",
    "aws-cli/2.9.19 Python/3.9.11 Windows/10 exe/AMD64 prompt/off command/sts.get-caller-identity",
    "aws-sdk-js/2.1450.0 promise",
];

/// What a thief asks first: who am I, and what is there (§9's enumeration).
const RECON: [(&str, &str); 7] = [
    ("sts.amazonaws.com", "GetCallerIdentity"),
    ("s3.amazonaws.com", "ListBuckets"),
    ("iam.amazonaws.com", "ListUsers"),
    ("iam.amazonaws.com", "GetAccountAuthorizationDetails"),
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("secretsmanager.amazonaws.com", "ListSecrets"),
    ("lambda.amazonaws.com", "ListFunctions20150331"),
];

/// One session's calls that the injection may copy: indices into the stream, time-ordered.
struct Session {
    calls: Vec<usize>,
    instance: bool,
}

/// Sessions worth stealing: role sessions with at least four plain calls of their own (no
/// service on behalf, no console, no collision, no trap) spanning two minutes or more.
fn sessions(out: &[Raw]) -> Vec<Session> {
    let mut by_key: BTreeMap<String, Session> = BTreeMap::new();
    for (i, r) in out.iter().enumerate() {
        if r.truth.collision || r.truth.trap.is_some() || r.truth.creates || r.truth.origin.is_none() {
            continue;
        }
        let v: Value = match serde_json::from_str(&r.json) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let ui = &v["userIdentity"];
        let plain = ui["type"] == "AssumedRole"
            && ui["invokedBy"].is_null()
            && v["sessionCredentialFromConsole"].is_null()
            && v["userAgent"] != "AWS Internal"
            && v["sourceIPAddress"]
                .as_str()
                .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok())
            && v["recipientAccountId"] == ui["accountId"];
        let Some(key) = ui["accessKeyId"].as_str().filter(|_| plain) else {
            continue;
        };
        let instance = !ui["sessionContext"]["ec2RoleDelivery"].is_null();
        if !instance && r.truth.person.is_none() {
            continue; // Lambda functions and other workloads: not a person's session.
        }
        by_key
            .entry(key.to_owned())
            .or_insert_with(|| Session {
                calls: Vec::new(),
                instance,
            })
            .calls
            .push(i);
    }
    by_key
        .into_values()
        .filter(|s| s.calls.len() >= 4 && out[*s.calls.last().unwrap()].t - out[s.calls[1]].t >= 120)
        .collect()
}

/// Adds the misuse of `m` to the stream (unsorted; `simulate` sorts it after).
pub fn inject(out: &mut Vec<Raw>, m: &Misuse, seed: u64) {
    let mut rng = Rng::new(seed ^ 0x6d15_05e0_0000_0015);
    let mut all = sessions(out);
    for s in &mut all {
        s.calls.sort_by_key(|&i| (out[i].t, i));
    }
    // Draw without replacement, so no session is both stolen and moved.
    let mut pick = |instance: bool, rng: &mut Rng| -> Option<Session> {
        let idx: Vec<usize> = (0..all.len()).filter(|&i| all[i].instance == instance).collect();
        (!idx.is_empty()).then(|| all.swap_remove(idx[rng.below(idx.len())]))
    };
    let mut case = 0u32;
    for k in 0..m.stolen_roles + m.stolen_instances {
        let instance = k >= m.stolen_roles;
        let Some(s) = pick(instance, &mut rng) else {
            continue;
        };
        case += 1;
        let kind = if instance {
            "stolen-instance"
        } else {
            "stolen-role"
        };
        steal(out, &s, kind, case, &mut rng);
    }
    for _ in 0..m.moves {
        let Some(s) = pick(false, &mut rng) else { break };
        case += 1;
        relocate(out, &s, case, &mut rng);
    }
}

/// A thief's address: hosting ranges, one per case (an IPv6 one now and then).
fn thief_address(rng: &mut Rng) -> String {
    if rng.chance(0.15) {
        return format!("2a03:b0c0:{:x}:d0::{:x}", rng.range(1, 9), rng.range(1, 0xffff));
    }
    let first = *rng.pick(&[45u8, 104, 146, 185, 5]);
    format!(
        "{first}.{}.{}.{}",
        rng.range(1, 254),
        rng.range(1, 254),
        rng.range(1, 254)
    )
}

/// Three to six calls of `s`'s key from elsewhere, while the owner is still at work.
fn steal(out: &mut Vec<Raw>, s: &Session, kind: &str, case: u32, rng: &mut Rng) {
    let (lo, hi) = (out[s.calls[1]].t, out[*s.calls.last().unwrap()].t);
    let address = thief_address(rng);
    let agent = *rng.pick(&THIEF_AGENTS);
    let mut t = rng.range(lo, hi);
    for _ in 0..rng.range(3, 6) {
        let src = s.calls[rng.below(s.calls.len())];
        let (source, name) = *rng.pick(&RECON);
        let mut v: Value = serde_json::from_str(&out[src].json).expect("the simulator's own JSON");
        let event_id = ids::uuid(rng);
        let o = v.as_object_mut().expect("a record");
        for gone in [
            "errorCode",
            "errorMessage",
            "vpcEndpointId",
            "sharedEventID",
            "resources",
            "additionalEventData",
            "requestParameters",
            "responseElements",
        ] {
            o.remove(gone);
        }
        o.insert("eventTime".into(), ids::iso(t).into());
        o.insert("eventSource".into(), source.into());
        o.insert("eventName".into(), name.into());
        o.insert("sourceIPAddress".into(), address.clone().into());
        o.insert("userAgent".into(), agent.into());
        o.insert("eventID".into(), event_id.clone().into());
        o.insert("requestID".into(), ids::uuid(rng).into());
        o.insert("readOnly".into(), true.into());
        let mut truth = out[src].truth.clone();
        truth.event_id = event_id;
        truth.misuse = Some(MisuseTag {
            kind: kind.into(),
            case,
        });
        out.push(Raw {
            t,
            json: serde_json::to_string(&v).expect("serialisable"),
            truth,
        });
        t = (t + rng.range(5, 240)).min(hi);
    }
}

/// The owner's calls after the middle of the session come from a new address, same tool.
fn relocate(out: &mut [Raw], s: &Session, case: u32, rng: &mut Rng) {
    let address = format!(
        "81.{}.{}.{}",
        rng.range(1, 254),
        rng.range(1, 254),
        rng.range(1, 254)
    );
    for &i in &s.calls[s.calls.len() / 2..] {
        let mut v: Value = serde_json::from_str(&out[i].json).expect("the simulator's own JSON");
        v["sourceIPAddress"] = address.clone().into();
        out[i].json = serde_json::to_string(&v).expect("serialisable");
        out[i].truth.misuse = Some(MisuseTag {
            kind: "moved".into(),
            case,
        });
    }
}
