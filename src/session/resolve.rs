//! Walking a session's creators up to its origin, choosing among colliding creators per call.
//!
//! At each node with one creator the walk goes on. With several (a collision), the call's own
//! evidence chooses: the access key its creating call handed out (exact), else the source address
//! and user agent of exactly one creating call (heuristic). Otherwise the chain stops there and
//! every candidate's origin is listed (ambiguous). An ancestor's evidence is its creating call, as
//! recorded on the edge below it. Walks are bounded; nothing here recurses.

use super::node::{Confidence, Edge, Evidence, Node, Reason};
use std::rc::Rc;

/// Chains longer than this are cut (and said to be cut).
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
    /// The walk chose among colliding creators: the call's own evidence shaped the result.
    pub used_evidence: bool,
}

enum Pick {
    One(usize, Confidence, Option<Reason>),
    Many,
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
        self.used_evidence = false;
    }

    pub fn confidence(&self) -> Confidence {
        self.confidence.unwrap_or(Confidence::Unlinked)
    }

    /// Resolves the lineage of a call made by `node`, with what the call looked like.
    pub fn resolve(&mut self, node: &Rc<Node>, evidence: Evidence) {
        self.clear();
        let mut conf = Confidence::Exact;
        let mut cur = Rc::clone(node);
        let mut ev = evidence;
        for _ in 0..MAX_HOPS {
            if cur.origin {
                self.origin = Some(cur);
                self.confidence = Some(conf);
                return;
            }
            let next = {
                let edges = cur.creators.borrow();
                if edges.is_empty() {
                    None
                } else {
                    self.used_evidence |= edges.len() > 1;
                    match pick(&edges, ev) {
                        Pick::One(i, c, r) => {
                            if c > conf {
                                conf = c;
                                self.reason = r.or(self.reason);
                            }
                            Some((i, Rc::clone(&edges[i].parent), edges[i].caller))
                        }
                        Pick::Many => {
                            for e in edges.iter() {
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
                                Some((0, Rc::clone(&edges[0].parent), edges[0].caller))
                            } else {
                                None
                            }
                        }
                    }
                }
            };
            match next {
                Some((i, parent, caller_ev)) => {
                    let transparent = cur.creators.borrow()[i].via.is_transparent();
                    if !transparent {
                        self.hops.push(Hop {
                            node: cur,
                            edge: Some(i),
                        });
                        // An ancestor's evidence is its creating call; a stand-in's is the call's own.
                        ev = caller_ev;
                    } else if self.hops.is_empty() {
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

    /// Every node of the chain, its candidates' chains included, for `--identity`.
    pub fn any_node(&self, mut f: impl FnMut(&Node) -> bool) -> bool {
        self.hops.iter().any(|h| f(&h.node))
            || self.origin.as_deref().is_some_and(&mut f)
            || self.candidates.iter().any(|c| f(c))
    }
}

/// Chooses among a node's creators for a call with evidence `ev`.
fn pick(edges: &[Edge], ev: Evidence) -> Pick {
    if edges.len() == 1 {
        return Pick::One(0, edges[0].confidence, edges[0].reason);
    }
    let by_key = |e: &Edge| ev.key != 0 && e.issued_key == ev.key;
    let keyed = edges.iter().filter(|e| by_key(e)).count();
    if keyed == 1 {
        let i = edges.iter().position(by_key).expect("counted");
        return Pick::One(i, edges[i].confidence, edges[i].reason);
    }
    // Among those the key does not rule out, the one whose creating call came from the same
    // address with the same user agent.
    let pool = |e: &Edge| keyed == 0 || by_key(e);
    let looks = |e: &Edge| pool(e) && ev.ip != 0 && e.caller.ip == ev.ip && e.caller.agent == ev.agent;
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
            match pick(&edges, ev) {
                Pick::One(i, _, _) if !edges.is_empty() => {
                    Some((Rc::clone(&edges[i].parent), edges[i].caller))
                }
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
