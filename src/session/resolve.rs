//! Walking a session's creators up to its origin, choosing among colliding creators per call.
//!
//! At each node with one creator the walk goes on. With several (a collision), the call's own
//! evidence chooses: the access key its creating call handed out (exact), else the source address
//! and user agent of exactly one creating call (heuristic). Otherwise the chain stops there and
//! every candidate's origin is listed (ambiguous). An ancestor's evidence is its creating call, as
//! recorded on the edge below it. Walks are bounded; nothing here recurses.

use super::evidence::Call;
use super::node::{Confidence, Edge, Evidence, Kind, Node, Reason};
use std::rc::Rc;

/// Chains of more sessions than this are cut (and said to be cut).
pub const MAX_HOPS: usize = 64;

/// One session on the way from the calling node up to the origin.
#[derive(Debug)]
pub struct Hop {
    pub node: Rc<Node>,
    /// Index into `node.creators` of the edge taken, `None` where the walk stopped.
    pub edge: Option<usize>,
}

/// The lineage of one call. Reused between events so the steady state allocates nothing.
#[derive(Debug, Default)]
pub struct Chain {
    /// From the calling session up (the annotation writes them origin first).
    pub hops: Vec<Hop>,
    pub origin: Option<Rc<Node>>,
    pub confidence: Option<Confidence>,
    pub reason: Option<Reason>,
    /// The origins (or topmost known sessions) a collided session may belong to.
    pub candidates: Vec<Rc<Node>>,
    pub truncated: bool,
    /// The session that made the call when the caller was a stand-in for it (the role owner's
    /// `AWSAccount` copy of a cross-account call): the annotation names the real one.
    pub session: Option<u64>,
    /// No creator of the calling session agrees with what the call says: it was made by
    /// another session of the same name, whose creator is unknown (so far).
    pub disagreed: bool,
}

enum Pick {
    One(usize, Confidence, Option<Reason>),
    Many,
    /// None of the creators can have made the call.
    None,
}

impl Chain {
    pub fn clear(&mut self) {
        self.hops.clear();
        self.origin = None;
        self.confidence = None;
        self.reason = None;
        self.candidates.clear();
        self.truncated = false;
        self.session = None;
        self.disagreed = false;
    }

    pub fn confidence(&self) -> Confidence {
        self.confidence.unwrap_or(Confidence::Unlinked)
    }

    /// Resolves the lineage of a call made by `node`, with what the call said (`None`: a
    /// session's lineage as such, for the summary).
    pub fn resolve(&mut self, node: &Rc<Node>, call: Option<&Call>) {
        self.clear();
        let mut conf = Confidence::Exact;
        let mut cur = Rc::clone(node);
        let mut look = call.map_or(Evidence::default(), |c| c.look);
        // The call's own identity fields are checked against the creators of its own session;
        // an ancestor's evidence is its creating call, recorded on the edge below it.
        let mut first = call;
        for hop in 0..=MAX_HOPS {
            if cur.origin {
                // Root's own session, read from OCSF: taken for it on what the record rules out,
                // not on assumedRoot (see `Lineage::ocsf_root`).
                let own = cur.kind == Kind::Root && cur.arn == node.arn;
                if call.is_some_and(|c| c.ocsf_root_session) && own {
                    conf = conf.max(Confidence::Heuristic);
                    self.reason = Some(Reason::OcsfAssumedRoot);
                }
                self.origin = Some(cur);
                self.confidence = Some(conf);
                return;
            }
            if hop == MAX_HOPS {
                break;
            }
            let next = {
                let edges = cur.creators.borrow();
                if edges.is_empty() || first.is_some_and(|c| c.ec2_unseen(&edges, &cur)) {
                    None
                } else {
                    match pick(&edges, look, first.map(|c| (c, &*cur))) {
                        Pick::One(i, c, r) => {
                            let (c, r) = match first {
                                Some(call) if call.unverified(&edges[i], &cur) => {
                                    (c.max(Confidence::Heuristic), Some(Reason::OcsfDropped))
                                }
                                _ => (c, r),
                            };
                            if c > conf {
                                conf = c;
                                self.reason = r.or(self.reason);
                            }
                            Some((i, Rc::clone(&edges[i].parent), edges[i].caller))
                        }
                        Pick::None => {
                            self.disagreed = true;
                            self.session = call.map(|c| c.other_session(&cur));
                            None
                        }
                        Pick::Many => {
                            let agreeing = |e: &Edge| first.is_none_or(|c| c.agrees(e, &cur));
                            for e in edges.iter().filter(|e| agreeing(e)) {
                                let top = top_of(&e.parent, e.caller);
                                if !self.candidates.iter().any(|c| Rc::ptr_eq(c, &top)) {
                                    self.candidates.push(top);
                                }
                            }
                            if self.candidates.len() == 1 && self.candidates[0].origin {
                                // Colliding sessions of one person: the origin is certain.
                                self.candidates.clear();
                                conf = conf.max(Confidence::Heuristic);
                                self.reason = self.reason.or(Some(Reason::SameOrigin));
                                let i = edges.iter().position(agreeing).unwrap_or(0);
                                Some((i, Rc::clone(&edges[i].parent), edges[i].caller))
                            } else {
                                None
                            }
                        }
                    }
                }
            };
            first = None;
            match next {
                Some((i, parent, caller_ev)) => {
                    let transparent = cur.creators.borrow()[i].via.is_transparent();
                    if !transparent {
                        self.hops.push(Hop {
                            node: cur,
                            edge: Some(i),
                        });
                        look = caller_ev;
                    } else if self.hops.is_empty() {
                        // A stand-in's evidence is the call's own.
                        self.session = Some(parent.id);
                    }
                    cur = parent;
                }
                None => {
                    let ambiguous = !self.candidates.is_empty();
                    self.hops.push(Hop {
                        node: cur,
                        edge: None,
                    });
                    self.confidence = Some(if ambiguous {
                        Confidence::Ambiguous
                    } else {
                        Confidence::Unlinked
                    });
                    return;
                }
            }
        }
        self.truncated = true;
        self.confidence = Some(Confidence::Unlinked);
    }

    /// Everything an annotation of this chain depends on, as numbers: each node by its serial
    /// (never reused) and version (bumped on every change), the edges taken and the verdict.
    /// Chains with equal fingerprints write equal annotations for the same session and source
    /// identity.
    pub fn fingerprint(&self, out: &mut Vec<u64>) {
        out.clear();
        let node = |out: &mut Vec<u64>, n: &Node| {
            out.push(n.serial);
            out.push(u64::from(n.version.get()));
        };
        out.push(self.session.unwrap_or(0));
        out.push(
            self.confidence() as u64
                | u64::from(self.truncated) << 8
                | u64::from(self.disagreed) << 9
                | self.reason.map_or(0xff, |r| r as u64) << 16,
        );
        for h in &self.hops {
            node(out, &h.node);
            out.push(h.edge.map_or(u64::MAX, |i| i as u64));
        }
        // Separators: a serial is never u64::MAX, so the parts cannot run into each other.
        out.push(u64::MAX);
        if let Some(o) = &self.origin {
            node(out, o);
        }
        out.push(u64::MAX);
        for c in &self.candidates {
            node(out, c);
        }
    }

    /// Every node of the chain, its candidates' chains included, for `--identity`.
    pub fn any_node(&self, mut f: impl FnMut(&Node) -> bool) -> bool {
        self.hops.iter().any(|h| f(&h.node))
            || self.origin.as_deref().is_some_and(&mut f)
            || self.candidates.iter().any(|c| f(c))
    }
}

/// Chooses among a node's creators for a call that looked like `look`; for the calling session
/// itself, only among the creators that agree with everything the call says.
fn pick(edges: &[Edge], look: Evidence, call: Option<(&Call, &Node)>) -> Pick {
    let agrees = |e: &Edge| call.is_none_or(|(c, n)| c.agrees(e, n));
    let pool = edges.iter().filter(|e| agrees(e)).count();
    if pool == 0 {
        return Pick::None;
    }
    if pool == 1 {
        let i = edges.iter().position(agrees).expect("counted");
        return Pick::One(i, edges[i].confidence, edges[i].reason);
    }
    let by_key = |e: &Edge| agrees(e) && look.key != 0 && e.issued_key == look.key;
    let keyed = edges.iter().filter(|e| by_key(e)).count();
    if keyed == 1 {
        let i = edges.iter().position(by_key).expect("counted");
        return Pick::One(i, edges[i].confidence, edges[i].reason);
    }
    // A call read from OCSF lacks what would have told these creators apart (a web identity
    // subject, an Identity Center user): address and agent would be a guess between them.
    if let Some((c, n)) = call {
        if c.ocsf && edges.iter().any(|e| agrees(e) && c.needs_dropped(e, n)) {
            return Pick::Many;
        }
    }
    // Among those the key does not rule out, the one whose creating call came from the same
    // address with the same user agent.
    let in_pool = |e: &Edge| if keyed == 0 { agrees(e) } else { by_key(e) };
    let looks =
        |e: &Edge| in_pool(e) && look.ip != 0 && e.caller.ip == look.ip && e.caller.agent == look.agent;
    if edges.iter().filter(|e| looks(e)).count() == 1 {
        let i = edges.iter().position(looks).expect("counted");
        return Pick::One(
            i,
            edges[i].confidence.max(Confidence::Heuristic),
            Some(Reason::AddressAndAgent),
        );
    }
    Pick::Many
}

/// The origin above `node` when the way up is unique, else the topmost node reached.
fn top_of(node: &Rc<Node>, evidence: Evidence) -> Rc<Node> {
    let mut cur = Rc::clone(node);
    let mut ev = evidence;
    for _ in 0..MAX_HOPS {
        if cur.origin {
            break;
        }
        let next = {
            let edges = cur.creators.borrow();
            match pick(&edges, ev, None) {
                Pick::One(i, _, _) => Some((Rc::clone(&edges[i].parent), edges[i].caller)),
                _ => None,
            }
        };
        match next {
            Some((p, e)) => {
                cur = p;
                ev = e;
            }
            None => break,
        }
    }
    cur
}
