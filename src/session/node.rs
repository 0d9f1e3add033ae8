//! A principal or session, and the edges (creating events) that link it to its parent.
//!
//! Nodes are shared with `Rc`: a session keeps its ancestry alive after the table forgets the
//! ancestors, so a session minted from an evicted one still knows its origin. A node with several
//! creators is a collision (§6 of CLOUDTRAIL.md): which one made a given call is decided per call.

use super::misuse::Watch;
use crate::time::Epoch;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What kind of identity a node is, as CloudTrail's `userIdentity.type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    IamUser,
    Root,
    AssumedRole,
    FederatedUser,
    SamlUser,
    WebIdentityUser,
    IdentityCenterUser,
    AwsService,
    AwsAccount,
    /// `Role`, `Directory`, `Unknown` and other opaque principals.
    Other,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::IamUser => "IAMUser",
            Kind::Root => "Root",
            Kind::AssumedRole => "AssumedRole",
            Kind::FederatedUser => "FederatedUser",
            Kind::SamlUser => "SAMLUser",
            Kind::WebIdentityUser => "WebIdentityUser",
            Kind::IdentityCenterUser => "IdentityCenterUser",
            Kind::AwsService => "AWSService",
            Kind::AwsAccount => "AWSAccount",
            Kind::Other => "Unknown",
        }
    }
}

/// The creating event behind an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    AssumeRole,
    AssumeRoleWithSaml,
    AssumeRoleWithWebIdentity,
    GetSessionToken,
    GetFederationToken,
    AssumeRoot,
    ConsoleLogin,
    SwitchRole,
    GetSigninToken,
    /// Identity Center portal hand-out matched to the member account's SAML session.
    GetRoleCredentials,
    /// Known without seeing the creating event: the log itself names the parent (an IAM user's own
    /// temporary credentials, a federated user's issuer, an EC2 instance's delivered role).
    Implied,
    /// An `AWSAccount` caller resolved through the principal id of a known session.
    PrincipalId,
    /// An `AWSAccount` caller resolved through the caller's own copy of the call (sharedEventID).
    Pair,
}

impl Via {
    pub fn as_str(self) -> Option<&'static str> {
        Some(match self {
            Via::AssumeRole => "AssumeRole",
            Via::AssumeRoleWithSaml => "AssumeRoleWithSAML",
            Via::AssumeRoleWithWebIdentity => "AssumeRoleWithWebIdentity",
            Via::GetSessionToken => "GetSessionToken",
            Via::GetFederationToken => "GetFederationToken",
            Via::AssumeRoot => "AssumeRoot",
            Via::ConsoleLogin => "ConsoleLogin",
            Via::SwitchRole => "SwitchRole",
            Via::GetSigninToken => "GetSigninToken",
            Via::GetRoleCredentials => "GetRoleCredentials",
            Via::PrincipalId => "principalId",
            Via::Pair => "sharedEventID",
            Via::Implied => return None,
        })
    }
}

/// How sure an edge (or a whole chain) is. Ordered from most to least sure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    Exact,
    Heuristic,
    Ambiguous,
    Unlinked,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Exact => "exact",
            Confidence::Heuristic => "heuristic",
            Confidence::Ambiguous => "ambiguous",
            Confidence::Unlinked => "unlinked",
        }
    }
}

/// Why a heuristic was needed: a closed set, so that the annotation's `reason` strings are a
/// contract and the state file can store them as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    SwitchFrom,
    IdentityCenterGrant,
    IdentityCenterLearned,
    PrincipalId,
    AddressAndAgent,
    SameOrigin,
    /// The call was read from OCSF, which dropped the field that would have confirmed the link.
    OcsfDropped,
    /// A root session read from OCSF, which dropped `assumedRoot`, taken for the root user's own
    /// because the record rules an AssumeRoot task session out (`Lineage::ocsf_root`).
    OcsfAssumedRoot,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Reason::SwitchFrom,
        Reason::IdentityCenterGrant,
        Reason::IdentityCenterLearned,
        Reason::PrincipalId,
        Reason::AddressAndAgent,
        Reason::SameOrigin,
        Reason::OcsfDropped,
        Reason::OcsfAssumedRoot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SwitchFrom => "SwitchRole: the console session of the SwitchFrom user at that time",
            Reason::IdentityCenterGrant => {
                "Identity Center: GetRoleCredentials for this account and permission set at that time"
            }
            Reason::IdentityCenterLearned => {
                "Identity Center: this user name was matched to this user by an earlier GetRoleCredentials"
            }
            Reason::PrincipalId => "AWSAccount caller matched to a known session by principalId",
            Reason::AddressAndAgent => "collision: source address and user agent match one creating call",
            Reason::SameOrigin => "colliding sessions share one origin",
            Reason::OcsfDropped => {
                "OCSF input: the CloudTrail-to-OCSF mapping drops the field that would confirm this link \
                 (webIdFederationData subject, onBehalfOf user or sessionIssuer)"
            }
            Reason::OcsfAssumedRoot => {
                "OCSF input: the mapping drops assumedRoot; taken for the root user's own session as \
                 no AssumeRoot task session can be it (a key that is not temporary, older than 900 s \
                 and 300 s of clock skew, or found by its key or sign-in)"
            }
        }
    }
}

/// Hashes of what a call looked like from outside: its access key, source address and user agent.
/// Compared between a session's creating call and later calls to tell colliding sessions apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence {
    pub key: u64,
    pub ip: u64,
    pub agent: u64,
}

/// One creating event: `parent` minted the node that holds this edge.
#[derive(Debug, Clone)]
pub struct Edge {
    pub parent: Rc<Node>,
    pub via: Via,
    pub confidence: Confidence,
    /// Why a heuristic edge was taken.
    pub reason: Option<Reason>,
    pub event_id: Box<str>,
    /// sharedEventID (else eventID) hash: the two copies of a cross-account call, and duplicates,
    /// are one edge, never a collision.
    pub event_key: u64,
    /// The access key the creating call handed out (0 when none).
    pub issued_key: u64,
    /// The creating call as made by the parent: evidence for resolving the parent's own collisions.
    pub caller: Evidence,
    /// Taken from the role owner's `AWSAccount` copy: the caller's own copy replaces it.
    pub poor: bool,
}

/// Descriptive fields of an origin that most sessions do not need.
#[derive(Debug, Default)]
pub struct Extra {
    pub provider: Option<Box<str>>,
    pub user_id: Option<Box<str>>,
    pub instance: Option<Box<str>>,
    /// Set once, by the first record that names it (an origin first seen without it learns it
    /// from a later record: its annotation then no longer depends on which came first).
    pub principal_id: std::cell::OnceCell<Box<str>>,
    /// A name learned after the node was made (an Identity Center user's user name, matched
    /// from the SAML subject of its sessions).
    pub alias: RefCell<Option<Box<str>>>,
}

/// A principal (an origin) or a session.
#[derive(Debug)]
pub struct Node {
    /// Stable id, the same across runs: the `session` field of the annotation.
    pub id: u64,
    /// Unique in this process and never reused (unlike an address, or the stable id, which a
    /// session made again after eviction shares): what cached annotations are keyed on.
    pub serial: u64,
    /// Bumped whenever what an annotation says of this node changes (a creator added, replaced
    /// or dropped, a name learned).
    pub version: Cell<u32>,
    pub kind: Kind,
    /// Whether this node is the first identity of a chain (a person or service), not a session.
    pub origin: bool,
    pub arn: Option<Box<str>>,
    /// User name, SAML/OIDC subject, service name, or session name.
    pub name: Option<Box<str>>,
    pub account: Option<Box<str>>,
    pub extra: Option<Box<Extra>>,
    pub source_identity: Option<Box<str>>,
    pub created: Epoch,
    pub expires: Cell<Epoch>,
    pub creators: RefCell<Vec<Edge>>,
    /// `--identity`: this node or any call it made matched a pattern (sticky).
    pub matched: Cell<bool>,
    /// `--identity` matched the source identity this session carries. Kept apart: two colliding
    /// sessions share a node but not their source identity, so on a collided node it says nothing.
    pub matched_source_identity: Cell<bool>,
    /// Released `unlinked` once: its later events are not held again.
    pub released_unlinked: Cell<bool>,
    /// Where and with what this session is normally used (misuse signals).
    pub watch: Cell<Watch>,
}

impl Via {
    /// Edges that only stand for the other copy of one call: the walk passes through them
    /// without a hop of its own.
    pub fn is_transparent(self) -> bool {
        matches!(self, Via::Pair | Via::PrincipalId)
    }
}

impl Node {
    /// Adds a creator without the spare room a growing Vec would take.
    pub fn push_creator(&mut self, edge: Edge) {
        let creators = self.creators.get_mut();
        creators.reserve_exact(1);
        creators.push(edge);
    }

    pub fn new(id: u64, kind: Kind, origin: bool) -> Self {
        static SERIAL: AtomicU64 = AtomicU64::new(1);
        Node {
            id,
            serial: SERIAL.fetch_add(1, Ordering::Relaxed),
            version: Cell::new(0),
            kind,
            origin,
            arn: None,
            name: None,
            account: None,
            extra: None,
            source_identity: None,
            created: 0,
            expires: Cell::new(Epoch::MAX),
            creators: RefCell::new(Vec::new()),
            matched: Cell::new(false),
            matched_source_identity: Cell::new(false),
            released_unlinked: Cell::new(false),
            watch: Cell::new(Watch::default()),
        }
    }

    /// Marks a change that annotations written before do not show.
    pub fn changed(&self) {
        self.version.set(self.version.get().wrapping_add(1));
    }

    /// Whether this is an EC2 instance (the service with an instance id), the origin of the
    /// sessions EC2 delivers to it.
    pub fn is_instance(&self) -> bool {
        self.kind == Kind::AwsService && self.extra().is_some_and(|x| x.instance.is_some())
    }

    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Default::default)
    }

    pub fn extra(&self) -> Option<&Extra> {
        self.extra.as_deref()
    }

    /// User name, subject, service or session name: stored, else the last element of the ARN
    /// (a session's name).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().or_else(|| {
            self.arn
                .as_deref()
                .filter(|_| !self.origin)
                .and_then(super::last_name)
        })
    }

    /// A name learned after the node was made, if any.
    pub fn alias(&self) -> Option<std::cell::Ref<'_, str>> {
        let x = self.extra.as_deref()?;
        std::cell::Ref::filter_map(x.alias.borrow(), |a| a.as_deref()).ok()
    }

    /// The account: stored, else the one in the ARN.
    pub fn account(&self) -> Option<&str> {
        self.account
            .as_deref()
            .or_else(|| self.arn.as_deref().and_then(super::account_of))
    }

    /// Drops what the ARN already says, and a session's principal id (its index entry keeps it).
    pub fn compact(&mut self) {
        if !self.origin {
            if self.name.is_some() && self.name.as_deref() == self.arn.as_deref().and_then(super::last_name) {
                self.name = None;
            }
            if self.kind != Kind::AwsAccount {
                if let Some(x) = &mut self.extra {
                    x.principal_id = std::cell::OnceCell::new();
                    if x.provider.is_none() && x.user_id.is_none() && x.instance.is_none() {
                        self.extra = None;
                    }
                }
            }
        }
        if self.account.is_some()
            && self.account.as_deref() == self.arn.as_deref().and_then(super::account_of)
        {
            self.account = None;
        }
    }

    /// Whether `--identity` follows this node: it matched, or its source identity did and it is
    /// one session, not a collision of several.
    pub fn follows(&self) -> bool {
        self.matched.get() || (self.matched_source_identity.get() && self.creators.borrow().len() <= 1)
    }

    /// Whether this node or any ancestor matched `--identity` (bounded walk over every creator).
    pub fn lineage_matches(self: &Rc<Self>) -> bool {
        let mut stack = vec![Rc::clone(self)];
        let mut seen = 0;
        while let Some(n) = stack.pop() {
            if n.follows() {
                return true;
            }
            seen += 1;
            if seen > 256 {
                return false;
            }
            stack.extend(n.creators.borrow().iter().map(|e| Rc::clone(&e.parent)));
        }
        false
    }

    /// Whether `other` is this node or one of its ancestors (bounded walk): linking would loop.
    pub fn has_ancestor(self: &Rc<Self>, other: &Rc<Node>) -> bool {
        let mut stack = vec![Rc::clone(self)];
        let mut seen = 0;
        while let Some(n) = stack.pop() {
            if Rc::ptr_eq(&n, other) {
                return true;
            }
            seen += 1;
            if seen > 256 {
                return true; // refuse rather than walk an unbounded graph
            }
            stack.extend(n.creators.borrow().iter().map(|e| Rc::clone(&e.parent)));
        }
        false
    }
}

impl Drop for Node {
    /// Drops long chains iteratively: a recursive drop of a chain as long as an input can make
    /// would overflow the stack.
    fn drop(&mut self) {
        let mut stack: Vec<Rc<Node>> = self.creators.get_mut().drain(..).map(|e| e.parent).collect();
        while let Some(n) = stack.pop() {
            if let Ok(mut inner) = Rc::try_unwrap(n) {
                stack.extend(inner.creators.get_mut().drain(..).map(|e| e.parent));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_a_very_long_chain_does_not_overflow() {
        let mut cur = Rc::new(Node::new(0, Kind::IamUser, true));
        for i in 1..1_000_000u64 {
            let n = Node::new(i, Kind::AssumedRole, false);
            n.creators.borrow_mut().push(Edge {
                parent: cur,
                via: Via::AssumeRole,
                confidence: Confidence::Exact,
                reason: None,
                event_id: "".into(),
                event_key: i,
                issued_key: 0,
                caller: Evidence::default(),
                poor: false,
            });
            cur = Rc::new(n);
        }
        drop(cur);
    }
}
