//! Session lineage: which session made each call, and which session or person made that one.
//!
//! [`Lineage::process`] takes one decoded event and, in this order, records the session the event
//! mints (for SwitchRole, whose caller *is* the new session, before resolving the caller), resolves
//! the caller to a node of the table, and records any other session the event mints. The
//! [`resolve`] module then walks a node's creators up to its origin for the annotation.

pub mod caller;
pub mod creators;
pub mod doors;
pub mod evidence;
pub mod misuse;
pub mod node;
pub mod ocsf;
pub mod persist;
pub mod resolve;
pub mod table;

use crate::event::Event;
use evidence::Call;
use node::Node;
use std::rc::Rc;
use table::Table;

/// Counters reported by `--stats`.
#[derive(Debug, Default, Clone, Copy)]
pub struct LineageStats {
    /// Creating events that linked a session to its parent.
    pub edges: u64,
    /// Creating events that failed (`errorCode`, no credentials) and created nothing.
    pub failed_creations: u64,
    /// Sessions that two different creating events claim with nothing logged to tell them apart.
    pub collisions: u64,
    /// Links refused: they would make a session its own ancestor, or give it more creators than
    /// any real collision has.
    pub links_refused: u64,
    /// Sessions whose creating event arrived after some of their own events.
    pub late_links: u64,
}

/// What the engine knows about one event's caller: the one value that leaves
/// [`Lineage::process`], waits with the event in the hold buffer, and reaches the output, where
/// [`resolve::Chain::resolve`] turns it into the annotation as the graph stands then.
#[derive(Debug)]
pub struct Attribution {
    /// The node that made the call: a session, or a principal calling with long-term keys.
    /// `None` when the record names no identity at all.
    pub node: Option<Rc<Node>>,
    /// The annotation's `session` (0: none).
    pub session: u64,
    /// What the call said about its session: checked against the session's creators.
    pub call: Call,
    /// The session this event minted, if any.
    pub minted: Option<Rc<Node>>,
    /// The parent this event gave it (a collided session has others, from other events).
    pub minted_by: Option<Rc<Node>>,
}

/// Recognises identities given by `--identity`; sessions remember whether they matched.
pub trait IdentityMatch {
    fn matches(&self, value: &str) -> bool;
}

/// The session engine.
pub struct Lineage {
    pub(crate) table: Table,
    pub(crate) matcher: Option<Box<dyn IdentityMatch>>,
    pub stats: LineageStats,
    /// Collisions found since the last call to [`Lineage::take_warnings`].
    pub(crate) warnings: Vec<String>,
    /// Sessions that got their first creator since the last [`Lineage::take_linked`]: the hold
    /// buffer releases what waits for them.
    pub(crate) linked: Vec<Rc<Node>>,
    /// Holding is on: a role owner's copy of a cross-account call waits for the caller's own
    /// copy instead of being guessed by principal id at once.
    pub defer_guesses: bool,
    /// Doors closed on live sessions, and the strings misuse signals quote.
    pub(crate) doors: doors::Doors,
    pub(crate) names: misuse::Names,
}

impl Lineage {
    pub fn new(max_sessions: usize, matcher: Option<Box<dyn IdentityMatch>>) -> Self {
        Lineage {
            table: Table::new(max_sessions),
            matcher,
            stats: LineageStats::default(),
            warnings: Vec::new(),
            linked: Vec::new(),
            defer_guesses: false,
            doors: doors::Doors::default(),
            names: misuse::Names::default(),
        }
    }

    /// Attributes one event, recording the sessions it mints.
    pub fn process(&mut self, ev: &Event<'_>) -> Attribution {
        let mut call = Call::of(ev);
        if let Some(agent) = ev.user_agent.get().filter(|a| !a.is_empty()) {
            (call.facts.tool, call.facts.attack) = self.names.agent(call.look.agent, agent);
        }
        self.doors.observe(ev, call.time);
        let (now, evidence) = (call.time, call.look);
        let ui = &ev.user_identity;
        let switched = self.switch_role(ev, now, evidence);
        let (node, session) = self.caller(ev, &call);
        let minted: Option<Rc<Node>> = match switched {
            Some(n) => Some(n),
            None => self.creating(ev, node.as_ref(), evidence, now),
        };
        if let (Some(n), Some(m)) = (&node, &self.matcher) {
            // Matching starts with the first matching call: a key or source identity seen on it.
            if !n.matched.get() && ui.access_key_id.get().is_some_and(|k| m.matches(k)) {
                n.matched.set(true);
            }
            if ui
                .session_context
                .source_identity
                .get()
                .is_some_and(|s| m.matches(s))
            {
                n.matched_source_identity.set(true);
            }
        }
        if let (Some(m), Some(t)) = (&minted, now) {
            // The creating call says where the session begins: its home, before any call of it.
            let f = &call.facts;
            if f.addr != 0 && !f.behalf && m.creators.borrow().len() == 1 {
                let mut w = m.watch.get();
                w.learn(f.addr, f.tool, t);
                m.watch.set(w);
            }
        }
        let minted_by = minted.as_ref().and_then(|m| {
            let key = creators::event_key(ev);
            m.creators
                .borrow()
                .iter()
                .find(|e| e.event_key == key)
                .map(|e| Rc::clone(&e.parent))
        });
        Attribution {
            node,
            session,
            call,
            minted_by,
            minted,
        }
    }

    /// The misuse signals of a call about to be written, its lineage resolved into `chain`
    /// (`out` is cleared first; nothing is allocated unless something fires).
    pub fn signals(&mut self, att: &Attribution, chain: &resolve::Chain, out: &mut Vec<misuse::Signal>) {
        out.clear();
        let (c, f) = (&att.call, &att.call.facts);
        let Some(t) = c.time else { return };
        if let Some(session) = chain.hops.first().map(|h| &h.node) {
            misuse::judge_use(session, chain, f, c.delivered, t, &self.names, out);
            self.doors.judge(chain, t, f.failed, out);
        }
        if f.attack != 0 {
            out.push(misuse::attack_signal(f, &self.names));
        }
    }

    /// Sessions live in the table now.
    pub fn live_sessions(&self) -> usize {
        self.table.live_sessions()
    }

    pub fn table_stats(&self) -> table::TableStats {
        self.table.stats
    }

    /// Sessions linked to a creator since the last call (reuse the vector: no allocation).
    pub fn take_linked(&mut self, into: &mut Vec<Rc<Node>>) {
        into.clear();
        into.append(&mut self.linked);
    }

    /// Warnings (collisions) to print, oldest first.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Adds a new session to the table: matched against `--identity` while it still has every
    /// field, then stripped of what its ARN already says (memory per session is the budget).
    pub(crate) fn add_session(&mut self, mut n: Node) -> Rc<Node> {
        self.mark_if_matching(&n);
        n.compact();
        let n = Rc::new(n);
        self.table.insert_session(Rc::clone(&n));
        n
    }

    /// Sets the sticky `--identity` flag on a new node from its own identifying fields.
    pub(crate) fn mark_if_matching(&self, node: &Node) {
        let Some(m) = &self.matcher else { return };
        let extra = node.extra();
        let role_and_session = node.arn.as_deref().and_then(role_session_of);
        let candidates = [
            node.arn.as_deref(),
            node.name(),
            extra.and_then(|e| e.user_id.as_deref()),
            extra.and_then(|e| e.instance.as_deref()),
            extra.and_then(|e| e.principal_id.get().map(|p| &**p)),
            role_and_session.map(|(r, _)| r),
            role_and_session.map(|(_, s)| s),
        ];
        if candidates.into_iter().flatten().any(|v| m.matches(v)) {
            node.matched.set(true);
        }
        if node.source_identity.as_deref().is_some_and(|s| m.matches(s)) {
            node.matched_source_identity.set(true);
        }
    }
}

/// `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` → (ROLE, SESSION).
pub fn role_session_of(arn: &str) -> Option<(&str, &str)> {
    let rest = &arn[arn.find(":assumed-role/")? + ":assumed-role/".len()..];
    let (role, session) = rest.split_once('/')?;
    Some((role, session))
}

/// The account id inside an ARN (`arn:aws:iam::123456789012:user/x`).
pub fn account_of(arn: &str) -> Option<&str> {
    let mut it = arn.splitn(6, ':');
    let acct = it.nth(4)?;
    (!acct.is_empty()).then_some(acct)
}

/// The last path element of an ARN (`…:user/path/alice` → `alice`).
pub fn last_name(arn: &str) -> Option<&str> {
    arn.rsplit_once('/').map(|(_, n)| n).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_pieces() {
        let a = "arn:aws:sts::123456789012:assumed-role/ops/alice";
        assert_eq!(role_session_of(a), Some(("ops", "alice")));
        assert_eq!(account_of(a), Some("123456789012"));
        assert_eq!(last_name("arn:aws:iam::1:user/path/bob"), Some("bob"));
        assert_eq!(account_of("arn:aws:iam:::role/x"), None);
        assert_eq!(role_session_of("arn:aws:iam::1:user/x"), None);
    }
}
