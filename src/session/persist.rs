//! The session table as data, for `--state`: every node reachable from an index, parents before
//! children (so loading is one pass and never meets an unknown parent), and every index entry in
//! least-recently-used order (so reloading restores recency as well as content).

use super::doors::Door;
use super::misuse::Watch;
use super::node::{Confidence, Edge, Evidence, Extra, Kind, Node, Reason, Via};
use super::table::{Grant, IcName, Recent, Table};
use super::Lineage;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    /// Fingerprint of the `--identity` patterns the `matched` flags were computed for.
    pub patterns: u64,
    pub nodes: Vec<NodeRec>,
    pub sessions: Vec<(u64, u32)>,
    pub keys: Vec<(u64, u32)>,
    /// One entry per session a principal id named, oldest first (the flag is no longer used).
    pub principals: Vec<(u64, u32, bool)>,
    pub origins: Vec<(u64, u32)>,
    /// One entry per console session of an ARN, oldest first.
    pub console: Vec<(u64, u32)>,
    pub grants: Vec<(u64, u32, i64, bool)>,
    pub ic_names: Vec<(u64, u32, bool)>,
    pub pairs: Vec<(u64, u32, u64)>,
    /// Events held when a signal stopped a run with `--state`: released by the next run, linked
    /// if their creators arrive then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldRec>,
    /// Doors closed on live sessions (misuse signals).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doors: Vec<Door>,
}

/// A held event, as the state file keeps it; nodes are indices into `nodes`.
#[derive(Serialize, Deserialize)]
pub struct HeldRec {
    pub text: String,
    pub source_identity: Option<String>,
    pub node: Option<u32>,
    pub session: u64,
    /// The call's evidence: key, address, agent, subject, issuer, user id.
    pub evidence: [u64; 6],
    pub time: Option<i64>,
    pub delivered: bool,
    pub key_may_differ: bool,
    /// Read from OCSF (absent in state files written before OCSF input was read).
    #[serde(default)]
    pub ocsf: bool,
    #[serde(default)]
    pub ocsf_root_session: bool,
    #[serde(default)]
    pub key_dropped: bool,
    pub minted: Option<u32>,
    pub minted_by: Option<u32>,
    pub waits_for: u64,
    pub event_time: i64,
    pub not_before: i64,
    /// Misuse facts: address code, tool id, flag bits (absent in files of older versions).
    #[serde(default)]
    pub facts: [u64; 3],
}

#[derive(Serialize, Deserialize)]
pub struct NodeRec {
    id: u64,
    kind: u8,
    origin: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extra: Option<[Option<String>; 5]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_identity: Option<String>,
    created: i64,
    expires: i64,
    matched: bool,
    #[serde(default)]
    matched_source_identity: bool,
    released_unlinked: bool,
    edges: Vec<EdgeRec>,
    /// Where and with what the session is normally used: addresses, tools, last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    watch: Option<[u64; 5]>,
}

#[derive(Serialize, Deserialize)]
struct EdgeRec {
    parent: u32,
    via: u8,
    confidence: u8,
    reason: Option<u8>,
    event_id: String,
    event_key: u64,
    issued_key: u64,
    caller: [u64; 3],
    poor: bool,
}

/// Why a snapshot could not be loaded.
#[derive(Debug)]
pub enum SnapshotError {
    /// A node names a parent that is not before it, or an index names a node that is not there.
    BadReference,
    /// A kind, via, confidence or reason code this version does not know.
    UnknownCode,
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SnapshotError::BadReference => "a session names a parent or index entry that is not in the file",
            SnapshotError::UnknownCode => "a session kind, link or confidence this version does not know",
        })
    }
}

const KINDS: [Kind; 10] = [
    Kind::IamUser,
    Kind::Root,
    Kind::AssumedRole,
    Kind::FederatedUser,
    Kind::SamlUser,
    Kind::WebIdentityUser,
    Kind::IdentityCenterUser,
    Kind::AwsService,
    Kind::AwsAccount,
    Kind::Other,
];
const VIAS: [Via; 13] = [
    Via::AssumeRole,
    Via::AssumeRoleWithSaml,
    Via::AssumeRoleWithWebIdentity,
    Via::GetSessionToken,
    Via::GetFederationToken,
    Via::AssumeRoot,
    Via::ConsoleLogin,
    Via::SwitchRole,
    Via::GetSigninToken,
    Via::GetRoleCredentials,
    Via::Implied,
    Via::PrincipalId,
    Via::Pair,
];
const CONFIDENCES: [Confidence; 4] = [
    Confidence::Exact,
    Confidence::Heuristic,
    Confidence::Ambiguous,
    Confidence::Unlinked,
];

fn code<T: PartialEq>(all: &[T], v: &T) -> u8 {
    all.iter()
        .position(|x| x == v)
        .expect("every value is in its table") as u8
}

fn decode<T: Copy>(all: &[T], c: u8) -> Result<T, SnapshotError> {
    all.get(c as usize).copied().ok_or(SnapshotError::UnknownCode)
}

fn s(v: &Option<Box<str>>) -> Option<String> {
    v.as_deref().map(str::to_owned)
}

impl Lineage {
    /// Everything attribution needs across a restart.
    pub fn snapshot(&self, patterns: u64) -> Snapshot {
        self.snapshot_with(patterns, &[]).0
    }

    /// As [`Lineage::snapshot`], with `extra` nodes (those held events name) kept too; returns
    /// their indices, in order.
    pub fn snapshot_with(&self, patterns: u64, extra: &[&Rc<Node>]) -> (Snapshot, Vec<u32>) {
        let t = &self.table;
        let mut index: HashMap<*const Node, u32> = HashMap::new();
        let mut nodes = Vec::new();
        // Post-order over creators, iteratively: a node is written after all its parents.
        let mut visit = |root: &Rc<Node>, nodes: &mut Vec<NodeRec>| -> u32 {
            let mut stack: Vec<(Rc<Node>, bool)> = vec![(Rc::clone(root), false)];
            while let Some((n, parents_done)) = stack.pop() {
                let key = Rc::as_ptr(&n);
                if index.contains_key(&key) {
                    continue;
                }
                if !parents_done {
                    stack.push((Rc::clone(&n), true));
                    for e in n.creators.borrow().iter() {
                        if !index.contains_key(&Rc::as_ptr(&e.parent)) {
                            stack.push((Rc::clone(&e.parent), false));
                        }
                    }
                    continue;
                }
                let edges = n
                    .creators
                    .borrow()
                    .iter()
                    .map(|e| EdgeRec {
                        parent: index[&Rc::as_ptr(&e.parent)],
                        via: code(&VIAS, &e.via),
                        confidence: code(&CONFIDENCES, &e.confidence),
                        reason: e.reason.map(|r| code(&Reason::ALL, &r)),
                        event_id: e.event_id.to_string(),
                        event_key: e.event_key,
                        issued_key: e.issued_key,
                        caller: [e.caller.key, e.caller.ip, e.caller.agent],
                        poor: e.poor,
                    })
                    .collect();
                let extra = n.extra().map(|x| {
                    [
                        s(&x.provider),
                        s(&x.user_id),
                        s(&x.instance),
                        x.principal_id.get().map(|p| p.to_string()),
                        x.alias.borrow().as_deref().map(str::to_owned),
                    ]
                });
                nodes.push(NodeRec {
                    id: n.id,
                    kind: code(&KINDS, &n.kind),
                    origin: n.origin,
                    arn: s(&n.arn),
                    name: s(&n.name),
                    account: s(&n.account),
                    extra,
                    source_identity: s(&n.source_identity),
                    created: n.created,
                    expires: n.expires.get(),
                    matched: n.matched.get(),
                    matched_source_identity: n.matched_source_identity.get(),
                    released_unlinked: n.released_unlinked.get(),
                    watch: {
                        let w = n.watch.get();
                        (w != Watch::default()).then_some([
                            u64::from(w.addrs[0]),
                            u64::from(w.addrs[1]),
                            u64::from(w.tools[0]),
                            u64::from(w.tools[1]),
                            u64::from(w.first) << 32 | u64::from(w.seen),
                        ])
                    },
                    edges,
                });
                index.insert(key, nodes.len() as u32 - 1);
            }
            index[&Rc::as_ptr(root)]
        };
        // LRU order, least recent first: `iter()` yields the most recent first.
        macro_rules! entries {
            ($lru:expr, |$k:ident, $v:ident| $make:expr) => {{
                let items: Vec<_> = $lru.iter().collect();
                items
                    .into_iter()
                    .rev()
                    .map(|($k, $v)| $make)
                    .collect::<Vec<_>>()
            }};
        }
        let sessions = entries!(t.sessions, |k, n| (*k, visit(n, &mut nodes)));
        let keys = entries!(t.keys, |k, n| (*k, visit(n, &mut nodes)));
        let principals: Vec<(u64, u32, bool)> = entries!(t.principals, |k, v| v
            .oldest_first()
            .map(|n| (*k, visit(n, &mut nodes), false))
            .collect::<Vec<_>>())
        .into_iter()
        .flatten()
        .collect();
        let origins = entries!(t.origins, |k, n| (*k, visit(n, &mut nodes)));
        let console: Vec<(u64, u32)> = entries!(t.console, |k, v| v
            .oldest_first()
            .map(|n| (*k, visit(n, &mut nodes)))
            .collect::<Vec<_>>())
        .into_iter()
        .flatten()
        .collect();
        let grants = entries!(t.grants, |k, g| (
            *k,
            visit(&g.user, &mut nodes),
            g.at,
            g.contested
        ));
        let ic_names = entries!(t.ic_names, |k, v| (*k, visit(&v.user, &mut nodes), v.contested));
        let pairs = entries!(t.pairs, |k, v| (*k, visit(&v.0, &mut nodes), v.1));
        let extra = extra.iter().map(|n| visit(n, &mut nodes)).collect();
        let snap = Snapshot {
            patterns,
            nodes,
            sessions,
            keys,
            principals,
            origins,
            console,
            grants,
            ic_names,
            pairs,
            held: Vec::new(),
            doors: self.doors.list.iter().cloned().collect(),
        };
        (snap, extra)
    }

    /// Rebuilds the table from a snapshot. `matched` flags are kept only when the patterns are
    /// the same as when they were set; otherwise they are computed afresh from each node.
    /// Returns the nodes built, by index (held events name theirs by index).
    pub fn restore(&mut self, snap: Snapshot, patterns: u64) -> Result<Vec<Rc<Node>>, SnapshotError> {
        let same_patterns = snap.patterns == patterns;
        let mut built: Vec<Rc<Node>> = Vec::with_capacity(snap.nodes.len());
        let get =
            |built: &Vec<Rc<Node>>, i: u32| built.get(i as usize).cloned().ok_or(SnapshotError::BadReference);
        for r in snap.nodes {
            let mut n = Node::new(r.id, decode(&KINDS, r.kind)?, r.origin);
            n.arn = r.arn.map(Into::into);
            n.name = r.name.map(Into::into);
            n.account = r.account.map(Into::into);
            n.source_identity = r.source_identity.map(Into::into);
            n.created = r.created;
            n.expires.set(r.expires);
            n.released_unlinked.set(r.released_unlinked);
            if let Some([a0, a1, t0, t1, seen]) = r.watch {
                n.watch.set(Watch {
                    addrs: [a0 as u32, a1 as u32],
                    tools: [t0 as u16, t1 as u16],
                    first: (seen >> 32) as u32,
                    seen: seen as u32,
                });
            }
            if let Some([provider, user_id, instance, principal_id, alias]) = r.extra {
                n.extra = Some(Box::new(Extra {
                    provider: provider.map(Into::into),
                    user_id: user_id.map(Into::into),
                    instance: instance.map(Into::into),
                    principal_id: principal_id
                        .map(|p| std::cell::OnceCell::from(Box::<str>::from(p)))
                        .unwrap_or_default(),
                    alias: std::cell::RefCell::new(alias.map(Into::into)),
                }));
            }
            for e in r.edges {
                n.push_creator(Edge {
                    parent: get(&built, e.parent)?,
                    via: decode(&VIAS, e.via)?,
                    confidence: decode(&CONFIDENCES, e.confidence)?,
                    reason: e.reason.map(|c| decode(&Reason::ALL, c)).transpose()?,
                    event_id: e.event_id.into(),
                    event_key: e.event_key,
                    issued_key: e.issued_key,
                    caller: Evidence {
                        key: e.caller[0],
                        ip: e.caller[1],
                        agent: e.caller[2],
                    },
                    poor: e.poor,
                });
            }
            if same_patterns {
                n.matched.set(r.matched);
                n.matched_source_identity.set(r.matched_source_identity);
            } else {
                self.mark_if_matching(&n);
            }
            built.push(Rc::new(n));
        }
        let t: &mut Table = &mut self.table;
        for (k, i) in snap.sessions {
            t.sessions.put(k, get(&built, i)?);
        }
        for (k, i) in snap.keys {
            t.keys.put(k, get(&built, i)?);
        }
        for (k, i, _) in snap.principals {
            t.principals
                .get_or_insert_mut(k, Recent::default)
                .push(&get(&built, i)?);
        }
        for (k, i) in snap.origins {
            t.origins.put(k, get(&built, i)?);
        }
        for (k, i) in snap.console {
            t.console
                .get_or_insert_mut(k, Recent::default)
                .push(&get(&built, i)?);
        }
        for (k, i, at, contested) in snap.grants {
            t.grants.put(
                k,
                Grant {
                    user: get(&built, i)?,
                    at,
                    contested,
                },
            );
        }
        for (k, i, contested) in snap.ic_names {
            t.ic_names.put(
                k,
                IcName {
                    user: get(&built, i)?,
                    contested,
                },
            );
        }
        for (k, i, s) in snap.pairs {
            t.pairs.put(k, (get(&built, i)?, s));
        }
        self.doors.list = snap.doors.into_iter().collect();
        Ok(built)
    }
}
