//! `--format dot` and `--format mermaid`: the session graph, for incident reports. Origins and
//! the sessions descended from them, one edge per creating event, accounts as clusters. This file
//! keeps what the calls showed (bounded like the summary) and turns it into a [`Model`], the
//! drawing without its syntax; `dot.rs` and `mermaid.rs` write that model, each escaping every
//! string for its own language.
//!
//! Every string of the model that came from an event is already made visible (controls and
//! bidirectional characters written as escapes, as the text views do) and cut to a length; the
//! writers only have to keep it from breaking their syntax.

use super::activity::Activity;
use super::text::{push_sanitized, short_name};
use crate::event::Event;
use crate::session::node::{Confidence, Kind, Node};
use crate::session::resolve::{Chain, MAX_HOPS};
use crate::session::role_session_of;
use crate::time::{write_iso, Epoch};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// Past this many sessions, sessions of the same role (or name), account and origin are drawn
/// as one node with their count (the man page says so: keep them together).
pub const GROUP_ABOVE: usize = 50;

/// Characters of an event's string shown in a label before it is cut with `…`.
const LABEL_CHARS: usize = 96;

/// Distinct signal names kept per session; more are only counted.
const SIGNAL_NAMES: usize = 4;

/// Misuse signals (issue 15) seen on a session's calls: the names of the first few, and how
/// many calls had any.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    pub names: Vec<Box<str>>,
    pub calls: u64,
}

impl Signals {
    fn add(&mut self, names: &[&str]) {
        if names.is_empty() {
            return;
        }
        self.calls += 1;
        for n in names {
            if self.names.len() < SIGNAL_NAMES && !self.names.iter().any(|x| &**x == *n) {
                self.names.push((*n).into());
            }
        }
    }

    fn merge(&mut self, other: &Signals) {
        self.calls += other.calls;
        for n in &other.names {
            if self.names.len() < SIGNAL_NAMES && !self.names.contains(n) {
                self.names.push(n.clone());
            }
        }
    }
}

/// What one session (or an origin's own credentials) did.
struct Entry {
    node: Rc<Node>,
    activity: Activity,
    signals: Signals,
}

/// Per-node activity, bounded by the number of sessions it keeps (`--max-sessions`, as the
/// session table): the nodes themselves are the table's, shared, not copies.
pub struct Graph {
    entries: HashMap<u64, Entry>,
    cap: usize,
    /// Calls of sessions left out because the graph was full.
    left_out: u64,
}

/// A node of the drawing: an origin, a session, or a group of sessions.
#[derive(Debug)]
pub struct Vertex {
    /// `s` and the session's 16 hex digits (the annotation's `session`), or `g` and the smallest
    /// of a group's: the same on every run over the same input.
    pub id: String,
    pub origin: bool,
    /// Sessions drawn as this one node (1 unless grouped).
    pub count: u64,
    /// The title first, then details; visible text, not yet escaped for a syntax.
    pub lines: Vec<String>,
    /// Several creating events claim it (a collision).
    pub collision: bool,
    /// No creating event of it was seen.
    pub unlinked: bool,
    /// Calls with misuse signals.
    pub signals: u64,
}

/// An edge: a creating event (or several, when grouped).
#[derive(Debug)]
pub struct Link {
    pub from: String,
    pub to: String,
    pub label: Vec<String>,
    pub heuristic: bool,
    /// One of several creating events of the same session: drawn in a warning colour.
    pub collision: bool,
}

/// The origins and sessions of one account.
#[derive(Debug)]
pub struct Cluster {
    pub label: String,
    pub vertices: Vec<Vertex>,
    /// Sessions whose creating event was not seen, grouped apart.
    pub unlinked: Vec<Vertex>,
}

/// The drawing, without its syntax.
#[derive(Debug)]
pub struct Model {
    pub clusters: Vec<Cluster>,
    pub links: Vec<Link>,
    /// What is drawn, and how to read it: our own text, no event's.
    pub caption: Vec<String>,
}

/// A node being drawn, before grouping: what was recorded of it is borrowed, not copied.
struct Drawn<'a> {
    node: Rc<Node>,
    activity: Option<&'a Activity>,
    signals: Option<&'a Signals>,
}

/// A vertex's id: a node's, or a group's (its smallest member's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Vid {
    group: bool,
    id: u64,
}

impl std::fmt::Display for Vid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:016x}", if self.group { 'g' } else { 's' }, self.id)
    }
}

/// An edge being drawn, before grouping: parent and child by node id.
struct Edge {
    parent: u64,
    child: u64,
    via: &'static str,
    heuristic: bool,
    collision: bool,
}

impl Graph {
    pub fn new(cap: usize) -> Self {
        Graph {
            entries: HashMap::new(),
            cap: cap.max(1),
            left_out: 0,
        }
    }

    fn entry(&mut self, node: &Rc<Node>) -> Option<&mut Entry> {
        if !self.entries.contains_key(&node.id) && self.entries.len() >= self.cap {
            return None;
        }
        Some(self.entries.entry(node.id).or_insert_with(|| Entry {
            node: Rc::clone(node),
            activity: Activity::default(),
            signals: Signals::default(),
        }))
    }

    /// Counts one call made by `node`, with the misuse signals raised on it.
    pub fn record(&mut self, node: &Rc<Node>, ev: &Event<'_>, signals: &[&str]) {
        match self.entry(node) {
            Some(e) => {
                e.activity.add(ev);
                e.signals.add(signals);
            }
            None => self.left_out += 1,
        }
    }

    /// A session some call minted: drawn even if it never calls.
    pub fn minted(&mut self, node: &Rc<Node>) {
        let _ = self.entry(node);
    }

    /// The drawing of what was recorded so far.
    pub fn model(&self) -> Model {
        let (drawn, edges, cut) = self.walk();
        let sessions = drawn.values().filter(|d| !d.node.origin).count();
        let group_of = if sessions > GROUP_ABOVE {
            groups(&drawn)
        } else {
            HashMap::new()
        };
        let vid = |id: u64| match group_of.get(&id) {
            Some(&g) => Vid { group: true, id: g },
            None => Vid { group: false, id },
        };
        let (clusters, calls) = clusters(&drawn, &vid);
        let origins = drawn.len() - sessions;
        let mut counts = format!(
            "ctail-filter: {origins} origin{}, {sessions} session{}, {calls} call{}",
            plural(origins as u64),
            plural(sessions as u64),
            plural(calls)
        );
        if !group_of.is_empty() {
            counts +=
                &format!("; over {GROUP_ABOVE} sessions, those of one role, account and origin are one node");
        }
        if self.left_out > 0 {
            counts += &format!(
                "; {} calls of sessions past --max-sessions not drawn",
                self.left_out
            );
        }
        if cut > 0 {
            counts += &format!("; {cut} creators past twice --max-sessions not drawn");
        }
        Model {
            clusters,
            links: links(&drawn, &edges, &vid),
            caption: vec![counts, LEGEND.to_string()],
        }
    }

    /// The recorded nodes and their ancestors through every creating event, each once, at most
    /// twice `--max-sessions` of them; and how many ancestors were cut.
    fn walk(&self) -> (HashMap<u64, Drawn<'_>>, Vec<Edge>, u64) {
        let limit = self.cap.saturating_mul(2);
        let mut drawn: HashMap<u64, Drawn> = HashMap::new();
        let mut stack: Vec<Rc<Node>> = Vec::new();
        // In a fixed order (the latest first onto the stack, so the earliest are walked first):
        // what a full graph leaves out is the same on every run.
        let mut entries: Vec<&Entry> = self.entries.values().collect();
        entries.sort_by_key(|e| (std::cmp::Reverse(e.activity.first), std::cmp::Reverse(e.node.id)));
        for e in entries {
            drawn.insert(
                e.node.id,
                Drawn {
                    node: Rc::clone(&e.node),
                    activity: Some(&e.activity),
                    signals: Some(&e.signals),
                },
            );
            stack.push(Rc::clone(&e.node));
        }
        let mut edges = Vec::new();
        let mut cut = 0;
        while let Some(n) = stack.pop() {
            if n.origin {
                continue;
            }
            let creators = n.creators.borrow();
            for c in creators.iter() {
                let parent = through(&c.parent);
                if !drawn.contains_key(&parent.id) {
                    if drawn.len() >= limit {
                        cut += 1;
                        continue;
                    }
                    drawn.insert(
                        parent.id,
                        Drawn {
                            node: Rc::clone(&parent),
                            activity: None,
                            signals: None,
                        },
                    );
                    stack.push(Rc::clone(&parent));
                }
                if parent.id != n.id {
                    edges.push(Edge {
                        parent: parent.id,
                        child: n.id,
                        via: c.via.as_str().unwrap_or("named by the log"),
                        heuristic: c.confidence >= Confidence::Heuristic,
                        collision: creators.len() > 1,
                    });
                }
            }
        }
        (drawn, edges, cut)
    }
}

/// A stand-in (the role owner's `AWSAccount` copy of a call) is drawn as the session it
/// stands for.
fn through(node: &Rc<Node>) -> Rc<Node> {
    let mut cur = Rc::clone(node);
    for _ in 0..MAX_HOPS {
        let next = {
            let creators = cur.creators.borrow();
            match creators.as_slice() {
                [only] if only.via.is_transparent() => Rc::clone(&only.parent),
                _ => break,
            }
        };
        cur = next;
    }
    cur
}

const LEGEND: &str =
    "solid: exact, dashed: heuristic, orange: one of several creating events, red border: misuse signals";

/// Where a vertex goes in its cluster: origins first, then by when it enters the story.
type Placed = ((bool, Epoch), Vertex);

/// The vertices (each node alone, or added into its group's) by account, the accounts not
/// logged last; and the calls they made.
fn clusters(drawn: &HashMap<u64, Drawn<'_>>, vid: &dyn Fn(u64) -> Vid) -> (Vec<Cluster>, u64) {
    let mut vertices: BTreeMap<Vid, Vec<&Drawn>> = BTreeMap::new();
    for d in drawn.values() {
        vertices.entry(vid(d.node.id)).or_default().push(d);
    }
    let mut clusters: BTreeMap<(bool, String), (Vec<Placed>, Vec<Placed>)> = BTreeMap::new();
    let mut calls = 0;
    for (id, mut members) in vertices {
        members.sort_by_key(|d| d.node.id);
        let v = vertex(id.to_string(), &members);
        calls += members
            .iter()
            .filter_map(|d| d.activity)
            .map(|a| a.calls)
            .sum::<u64>();
        let account = members[0].node.account().map(visible);
        let c = clusters
            .entry((account.is_none(), account.unwrap_or_default()))
            .or_default();
        let order = (!v.origin, members.iter().map(|d| start(d)).min().unwrap_or(0));
        if v.unlinked { &mut c.1 } else { &mut c.0 }.push((order, v));
    }
    let clusters = clusters
        .into_iter()
        .map(|((none, account), (vertices, unlinked))| Cluster {
            label: if none {
                "no account logged".to_string()
            } else {
                format!("account {account}")
            },
            vertices: sorted(vertices),
            unlinked: sorted(unlinked),
        })
        .collect();
    (clusters, calls)
}

/// An edge between vertices, and how it is drawn: what merges when its ends were grouped.
#[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
struct LinkKey {
    from: Vid,
    to: Vid,
    via: &'static str,
    heuristic: bool,
    collision: bool,
}

/// The edges between vertices, in time order: one per creating event, or one per kind of
/// creating event between two groups, with their count and the earliest time.
fn links(drawn: &HashMap<u64, Drawn<'_>>, edges: &[Edge], vid: &dyn Fn(u64) -> Vid) -> Vec<Link> {
    let mut merged: HashMap<LinkKey, (Epoch, u64)> = HashMap::new();
    for e in edges {
        let t = drawn[&e.child].node.created;
        let key = LinkKey {
            from: vid(e.parent),
            to: vid(e.child),
            via: e.via,
            heuristic: e.heuristic,
            collision: e.collision,
        };
        let m = merged.entry(key).or_insert((t, 0));
        m.0 = m.0.min(t);
        m.1 += 1;
    }
    let mut links: Vec<_> = merged.into_iter().collect();
    links.sort_by(|a, b| (a.1 .0, &a.0).cmp(&(b.1 .0, &b.0)));
    links
        .into_iter()
        .map(|(k, (t, n))| {
            let mut label = vec![match n {
                1 => k.via.to_string(),
                n => format!("{} ×{n}", k.via),
            }];
            if t > 0 {
                label.push(format!("{}{}", if n > 1 { "first " } else { "" }, iso(t)));
            }
            Link {
                from: k.from.to_string(),
                to: k.to.to_string(),
                label,
                heuristic: k.heuristic,
                collision: k.collision,
            }
        })
        .collect()
}

/// Group ids for sessions that share role (or name), account, origin and linkedness, when
/// more than one does.
fn groups(drawn: &HashMap<u64, Drawn<'_>>) -> HashMap<u64, u64> {
    let mut chain = Chain::default();
    let mut by_key: HashMap<(String, Option<String>, u64, bool), Vec<u64>> = HashMap::new();
    for d in drawn.values().filter(|d| !d.node.origin) {
        chain.resolve(&d.node, None);
        let origin = chain.origin.as_ref().map_or(0, |o| o.id);
        let unlinked = d.node.creators.borrow().is_empty();
        let key = (
            short_name(&d.node),
            d.node.account().map(str::to_owned),
            origin,
            unlinked,
        );
        by_key.entry(key).or_default().push(d.node.id);
    }
    let mut group_of = HashMap::new();
    for ids in by_key.into_values().filter(|ids| ids.len() > 1) {
        let gid = ids.iter().min().copied().unwrap_or(0);
        group_of.extend(ids.into_iter().map(|id| (id, gid)));
    }
    group_of
}

/// When a node enters the story: its first call, else its creation.
fn start(d: &Drawn) -> Epoch {
    match d.activity {
        Some(a) if a.calls > 0 => a.first,
        _ => d.node.created,
    }
}

fn sorted(mut v: Vec<Placed>) -> Vec<Vertex> {
    v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    v.into_iter().map(|(_, v)| v).collect()
}

/// One vertex for `members` (one node, or a group of sessions).
fn vertex(id: String, members: &[&Drawn]) -> Vertex {
    let n = &members[0].node;
    let count = members.len() as u64;
    let creators = n.creators.borrow().len();
    let mut lines = vec![visible(&short_name(n))];
    if count > 1 {
        lines.push(format!("{count} sessions"));
    } else if let Some((_, session)) = n.arn.as_deref().and_then(role_session_of) {
        lines.push(format!("session {}", visible(session)));
    } else if n.origin {
        lines.push(n.kind.as_str().to_string());
    } else if n.kind != Kind::AssumedRole {
        // An IAM user's console or GetSessionToken session, a federated user's…
        lines.push(format!("{} session", n.kind.as_str()));
    }
    if creators > 1 {
        lines.push(format!("collision: {creators} creating events"));
    } else if creators == 0 && !n.origin {
        lines.push("unlinked: creating event not seen".to_string());
    }
    let activity = Activity::sum(members.iter().filter_map(|d| d.activity));
    if activity.calls == 0 {
        if !n.origin {
            lines.push("no calls seen".to_string());
        }
    } else {
        let own = if n.origin { "own credentials: " } else { "" };
        let mut calls = format!("{own}{} call{}", activity.calls, plural(activity.calls));
        if activity.errors > 0 {
            calls += &format!(", {} error{}", activity.errors, plural(activity.errors));
        }
        lines.push(calls);
        lines.push(format!("first {}", iso(activity.first)));
        lines.push(format!("last {}", iso(activity.last)));
        let shown = activity.services.len().min(8);
        let mut services: Vec<String> = activity.services[..shown].iter().map(|s| visible(s)).collect();
        let more = activity.more_services + (activity.services.len() - shown) as u64;
        if more > 0 {
            services.push(format!("+{more}"));
        }
        lines.push(services.join(" "));
    }
    let mut signals = Signals::default();
    for s in members.iter().filter_map(|d| d.signals) {
        signals.merge(s);
    }
    if signals.calls > 0 {
        let names: Vec<String> = signals.names.iter().map(|s| visible(s)).collect();
        lines.push(format!(
            "signals: {} ({} call{})",
            names.join(", "),
            signals.calls,
            plural(signals.calls)
        ));
    }
    Vertex {
        id,
        origin: n.origin,
        count,
        lines,
        collision: creators > 1,
        unlinked: creators == 0 && !n.origin,
        signals: signals.calls,
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn iso(t: Epoch) -> String {
    let mut out = Vec::new();
    write_iso(&mut out, t);
    String::from_utf8(out).unwrap_or_default()
}

/// An event's string as it may be shown: at most [`LABEL_CHARS`] characters, controls and
/// bidirectional characters written as escapes (as the text views write them), and the
/// noncharacters that XML (so SVG) refuses as well.
pub fn visible(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len().min(LABEL_CHARS * 4));
    let mut buf = [0u8; 4];
    for (i, c) in s.chars().enumerate() {
        if i == LABEL_CHARS {
            out.extend_from_slice("…".as_bytes());
            break;
        }
        let u = c as u32;
        if (0xfdd0..=0xfdef).contains(&u) || u & 0xfffe == 0xfffe {
            out.extend_from_slice(format!("\\u{{{u:04x}}}").as_bytes());
        } else {
            push_sanitized(&mut out, c.encode_utf8(&mut buf));
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::node::{Edge as Creator, Evidence, Via};

    /// alice's `ops/alice` session, made by AssumeRole.
    fn session() -> Rc<Node> {
        let mut alice = Node::new(1, Kind::IamUser, true);
        alice.arn = Some("arn:aws:iam::111122223333:user/alice".into());
        let mut s = Node::new(2, Kind::AssumedRole, false);
        s.arn = Some("arn:aws:sts::111122223333:assumed-role/ops/alice".into());
        s.push_creator(Creator {
            parent: Rc::new(alice),
            via: Via::AssumeRole,
            confidence: Confidence::Exact,
            reason: None,
            event_id: "e1".into(),
            event_key: 1,
            issued_key: 0,
            caller: Evidence::default(),
            poor: false,
        });
        Rc::new(s)
    }

    /// Issue 15 lands signals per call: the session that made such calls gets a red border.
    #[test]
    fn signals_mark_their_session() {
        let s = session();
        let mut g = Graph::new(10);
        g.record(&s, &Event::default(), &[]);
        g.record(&s, &Event::default(), &["console-without-mfa", "new-region"]);
        let m = g.model();
        let v = &m.clusters[0].vertices[1];
        assert_eq!((v.id.as_str(), v.signals), ("s0000000000000002", 1));
        assert!(v
            .lines
            .contains(&"signals: console-without-mfa, new-region (1 call)".to_string()));
        let mut dot = Vec::new();
        super::super::dot::write(&mut dot, &m);
        let dot = String::from_utf8(dot).unwrap();
        assert!(dot.contains("color=\"#dc2626\", penwidth=3"), "{dot}");
        let mut mmd = Vec::new();
        super::super::mermaid::write(&mut mmd, &m);
        let mmd = String::from_utf8(mmd).unwrap();
        assert!(mmd.contains("class s0000000000000002 signal"), "{mmd}");
        // Without signals, no mark.
        let mut g = Graph::new(10);
        g.record(&s, &Event::default(), &[]);
        assert_eq!(g.model().clusters[0].vertices[1].signals, 0);
    }

    #[test]
    fn a_full_graph_counts_what_it_leaves_out() {
        let s = session();
        let mut g = Graph::new(1);
        g.record(&s, &Event::default(), &[]);
        let other = Rc::new(Node::new(3, Kind::IamUser, true));
        g.record(&other, &Event::default(), &[]);
        g.record(&other, &Event::default(), &[]);
        let m = g.model();
        assert!(
            m.caption[0].contains("2 calls of sessions past --max-sessions"),
            "{:?}",
            m.caption
        );
        assert!(!format!("{m:?}").contains("s0000000000000003"));
    }

    #[test]
    fn visible_cuts_and_escapes() {
        assert_eq!(visible("ok"), "ok");
        assert_eq!(visible("a\nb\\"), "a\\x0ab\\\\");
        assert_eq!(visible("x\u{ffff}\u{fdd0}"), "x\\u{ffff}\\u{fdd0}");
        let long = "é".repeat(500);
        assert_eq!(visible(&long).chars().count(), LABEL_CHARS + 1);
    }

    #[test]
    fn signals_keep_a_few_names_and_count_every_call() {
        let mut s = Signals::default();
        s.add(&[]);
        assert_eq!(s.calls, 0);
        for names in [&["a", "b"][..], &["a", "c", "d", "e", "f"]] {
            s.add(names);
        }
        assert_eq!(s.calls, 2);
        assert_eq!(s.names.len(), SIGNAL_NAMES);
    }
}
