//! The bounded session table: every index an LRU of the same capacity, keyed by stable hashes.
//!
//! Keys are 64-bit SipHash values of the identifying strings (with a fixed key, so that session ids
//! stay the same across runs and builds). The LRUs hash those again with a per-process random
//! seed, so attacker-chosen session names cannot flood a bucket. A hit is checked against the
//! node's own fields where a 64-bit clash could otherwise join two different identities.

use super::node::Node;
use crate::time::Epoch;
use lru::LruCache;
use siphasher::sip::SipHasher13;
use std::hash::Hasher;
use std::num::NonZeroUsize;
use std::rc::Rc;

/// A stable 64-bit id of a tuple of strings (never 0, which means "none").
pub fn stable_id(parts: &[&[u8]]) -> u64 {
    let mut h = SipHasher13::new_with_keys(0x6374_6169_6c2d_6669, 0x6c74_6572_2d69_6473);
    for p in parts {
        h.write(p);
        h.write_u8(0xff); // a separator no UTF-8 string contains
    }
    h.finish().max(1)
}

/// Hash of an optional string, 0 when absent.
pub fn opt_id(s: Option<&str>) -> u64 {
    s.map_or(0, |s| stable_id(&[s.as_bytes()]))
}

/// A grant seen in the Identity Center home account: who got credentials for which role and when.
#[derive(Debug, Clone)]
pub struct Grant {
    pub user: Rc<Node>,
    pub at: Epoch,
    /// Another user was handed the same account and permission set within the window.
    pub contested: bool,
}

/// Identity Center: a user name (the SAML subject of member-account sessions) and the user,
/// by userId, it was matched to through GetRoleCredentials.
#[derive(Debug, Clone)]
pub struct IcName {
    pub user: Rc<Node>,
    /// The same user name was matched to two different users: never used again.
    pub contested: bool,
}

/// How long after its expiry a session still accepts calls: CloudTrail logs calls made just at
/// expiry with a later eventTime.
pub const GRACE: Epoch = 300;

/// Whether `node` was alive at `t`: created by then (to the second) and not yet expired.
pub fn live_at(node: &Node, t: Epoch) -> bool {
    node.created <= t.saturating_add(1) && t <= node.expires.get().saturating_add(GRACE)
}

/// How many sessions one index entry remembers.
const RECENT: usize = 3;

/// The few latest nodes under one key, newest first: an index entry that more than one session
/// can share over time (a role session's principal id `AROA…:NAME`, a console session's ARN).
/// A lookup is made as of a record's own time, so a session created later or expired earlier is
/// never the answer, and two sessions alive at that time are two answers, not the latest one.
#[derive(Debug, Default)]
pub struct Recent([Option<Rc<Node>>; RECENT]);

impl Recent {
    /// Remembers `node` as the latest (moving it to the front if it is there already).
    pub fn push(&mut self, node: &Rc<Node>) {
        let at = self
            .0
            .iter()
            .position(|n| n.as_ref().is_some_and(|n| Rc::ptr_eq(n, node)))
            .unwrap_or(RECENT - 1);
        self.0[..=at].rotate_right(1);
        self.0[0] = Some(Rc::clone(node));
    }

    /// The nodes alive at `t`, newest first.
    pub fn live_at(&self, t: Epoch) -> impl Iterator<Item = &Rc<Node>> {
        self.0.iter().flatten().filter(move |n| live_at(n, t))
    }

    /// Oldest first, for saving: pushing them in this order rebuilds the entry.
    pub fn oldest_first(&self) -> impl Iterator<Item = &Rc<Node>> {
        self.0.iter().rev().flatten()
    }

    /// The one node alive at `t`, if exactly one is.
    pub fn only_at(&self, t: Epoch) -> Option<Rc<Node>> {
        let mut live = self.live_at(t);
        let first = live.next()?;
        live.next().is_none().then(|| Rc::clone(first))
    }
}

/// Counters reported by `--stats`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TableStats {
    pub sessions_created: u64,
    pub evicted: u64,
    pub expired: u64,
}

/// All indices of the session table.
pub struct Table {
    /// Sessions by what identifies them in the log: (ARN or principal, creationDate) and the like.
    pub sessions: LruCache<u64, Rc<Node>>,
    /// Sessions by the access key their creating event handed out.
    pub keys: LruCache<u64, Rc<Node>>,
    /// Users and sessions by principalId (`AIDA…`, `AROA…:NAME`): resolves `AWSAccount` callers.
    /// Every session of one role and session name shares its principal id.
    pub principals: LruCache<u64, Recent>,
    /// Origins (people, services) by their identifying string.
    pub origins: LruCache<u64, Rc<Node>>,
    /// The latest console sessions of each principal ARN: the parent named by `SwitchFrom`.
    pub console: LruCache<u64, Recent>,
    /// Identity Center grants by (account, permission set).
    pub grants: LruCache<u64, Grant>,
    /// Identity Center user names learned from matched grants.
    pub ic_names: LruCache<u64, IcName>,
    /// The caller (and session id) of each call with a sharedEventID: resolves the role owner's
    /// `AWSAccount` copy of it.
    pub pairs: LruCache<u64, (Rc<Node>, u64)>,
    pub stats: TableStats,
}

impl Table {
    pub fn new(max_sessions: usize) -> Self {
        let cap = NonZeroUsize::new(max_sessions.max(1)).expect("non-zero");
        // People, services and the secondary indices need less room than sessions.
        let small = NonZeroUsize::new((max_sessions / 4).max(64)).expect("non-zero");
        Table {
            sessions: LruCache::new(cap),
            // Only sessions found by key alone (GetSessionToken, AssumeRoot, sign-in tokens,
            // federation tokens) and principal ids for role owners' copies: fewer than sessions.
            keys: LruCache::new(small),
            principals: LruCache::new(small),
            origins: LruCache::new(small),
            console: LruCache::new(small),
            grants: LruCache::new(small),
            ic_names: LruCache::new(small),
            pairs: LruCache::new(small),
            stats: TableStats::default(),
        }
    }

    /// A live session by id, forgetting it (and counting it expired) when `now` is past its end.
    pub fn session(&mut self, id: u64, now: Option<Epoch>) -> Option<Rc<Node>> {
        let node = self.sessions.get(&id)?;
        if let Some(now) = now {
            // A grace period: CloudTrail logs calls made just at expiry with a later eventTime.
            if now > node.expires.get().saturating_add(GRACE) {
                self.sessions.pop(&id);
                self.stats.expired += 1;
                return None;
            }
        }
        Some(Rc::clone(node))
    }

    /// Inserts a session, counting the entry it pushes out.
    pub fn insert_session(&mut self, node: Rc<Node>) {
        self.stats.sessions_created += 1;
        if let Some((old_id, _)) = self.sessions.push(node.id, node) {
            // `push` also returns the replaced entry for an existing key; only a different key
            // was evicted.
            if self.sessions.peek(&old_id).is_none() {
                self.stats.evicted += 1;
            }
        }
    }

    /// Records that `node` goes by principal id `p`.
    pub fn put_principal(&mut self, p: &str, node: &Rc<Node>) {
        let id = stable_id(&[b"principal", p.as_bytes()]);
        self.principals.get_or_insert_mut(id, Recent::default).push(node);
    }

    /// The user or session principal id `p` named at time `at`, if it named exactly one then
    /// (without a time: if it ever named only one).
    pub fn principal(&mut self, p: &str, at: Option<Epoch>) -> Option<Rc<Node>> {
        let recent = self.principals.get(&stable_id(&[b"principal", p.as_bytes()]))?;
        match at {
            Some(t) => recent.only_at(t),
            None => {
                let mut all = recent.oldest_first();
                let only = all.next()?;
                all.next().is_none().then(|| Rc::clone(only))
            }
        }
    }

    /// Records a console session of the principal (or role session) ARN `arn`.
    pub fn put_console(&mut self, arn: &str, node: &Rc<Node>) {
        let id = stable_id(&[b"console", arn.as_bytes()]);
        self.console.get_or_insert_mut(id, Recent::default).push(node);
    }

    /// The console sessions of `arn` alive at `at`, newest first.
    pub fn console_at(&mut self, arn: &str, at: Epoch) -> Vec<Rc<Node>> {
        match self.console.get(&stable_id(&[b"console", arn.as_bytes()])) {
            Some(r) => r.live_at(at).cloned().collect(),
            None => Vec::new(),
        }
    }

    pub fn live_sessions(&self) -> usize {
        self.sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::node::Kind;

    #[test]
    fn stable_ids_do_not_change() {
        // Pinned: session ids are a contract across runs and versions.
        assert_eq!(stable_id(&[b"a", b"b"]), stable_id(&[b"a", b"b"]));
        assert_ne!(stable_id(&[b"ab", b""]), stable_id(&[b"a", b"b"]));
        assert_eq!(
            format!("{:016x}", stable_id(&[b"role", b"arn:x"])),
            "22487f8ff6a6a8ed"
        );
    }

    #[test]
    fn eviction_is_counted_and_bounded() {
        let mut t = Table::new(3);
        for i in 1..=10 {
            t.insert_session(Rc::new(Node::new(i, Kind::AssumedRole, false)));
        }
        assert_eq!(t.live_sessions(), 3);
        assert_eq!(t.stats.evicted, 7);
        // Re-inserting a live id replaces, it does not evict.
        t.insert_session(Rc::new(Node::new(10, Kind::AssumedRole, false)));
        assert_eq!(t.stats.evicted, 7);
    }

    #[test]
    fn expired_sessions_are_forgotten() {
        let mut t = Table::new(3);
        let n = Node::new(5, Kind::AssumedRole, false);
        n.expires.set(1000);
        t.insert_session(Rc::new(n));
        assert!(t.session(5, Some(1200)).is_some());
        assert!(t.session(5, Some(1400)).is_none());
        assert_eq!(t.stats.expired, 1);
    }
}
