//! What lineage does differently with a record read from OCSF (`Call::ocsf`): the
//! CloudTrail→OCSF mapping drops fields whose absence CloudTrail would have meant something.
//!
//! `assumedRoot` is the one that changes which node a call belongs to. From CloudTrail, a root
//! caller with temporary credentials and `assumedRoot: "true"` is an AssumeRoot task session,
//! linked by its key only (unlinked when its creator is not in the stream); without the field it
//! is the root user's own session, whose origin is certain. From OCSF both look alike, so the
//! root user is named only where the record itself rules a task session out, and never from the
//! mere absence of the field.
//!
//! `ec2RoleDelivery` is another: from CloudTrail it tells an instance's calls from those of a
//! session someone else named after the instance. From OCSF, a session named after an instance
//! whose creators seen include no EC2 is not linked (`Call::ec2_unseen`).
//!
//! Exporters drop more than the mapping does, and lineage never fills the gap with a guess:
//! - without `actor.invoked_by`, a service's call names no service: its caller is an unnamed
//!   service that is no origin ([`Lineage::ocsf_unnamed`]), so a session it creates is still
//!   claimed by it (a collision stays a collision) and its calls name nobody;
//! - without `actor.user.name`, a SAML or web identity user is named from its creating call's
//!   response (`subject`, `subjectFromWebIdentityToken`: the same assertion's subject), else not
//!   at all: the principal id is another identifier of that person, so an origin named after it
//!   would be another origin than CloudTrail's;
//! - without `api.request.data`, EC2's AssumeRole names neither the instance nor the session it
//!   mints, only the key it issued and when: a call with that key, in a session started then, is
//!   claimed by it too ([`Lineage::ocsf_blind_creation`]).

use super::caller::{ASSUME_ROOT_LIFE, MAX_LIFETIME};
use super::evidence::Call;
use super::node::{Edge, Kind, Node};
use super::table::stable_id;
use super::Lineage;
use crate::event::{Event, UserIdentity};
use crate::input::envelope::ocsf::SHAPE;
use crate::time::Epoch;
use std::rc::Rc;

/// SigV4 accepts requests signed up to 5 minutes off the server's clock: a task session's call
/// may be logged that much after its credentials' 900 s.
const CLOCK_SKEW: Epoch = 300;

impl Lineage {
    /// A root caller read from OCSF that may be a task session (`Call::ocsf_root_session`).
    ///
    /// Found by its key (the GetSessionToken or AssumeRoot call that issued it), it is that
    /// session, as from CloudTrail. Otherwise it is the root user's own only where a task session
    /// cannot be it: a key that is there and not temporary (AssumeRoot issues ASIA keys), a
    /// session older than a task session lives, or a session of the root user already known by
    /// its start (its console sign-in, or an earlier call that proved it). Else an unknown
    /// session, unlinked: what CloudTrail gives a task session whose creator is not in the
    /// stream. (A root call with neither key nor start, not a sign-in, may be a task session
    /// whose export dropped both.)
    pub(crate) fn ocsf_root(&mut self, ui: &UserIdentity<'_>, now: Option<Epoch>) -> Option<(Rc<Node>, u64)> {
        let arn = ui.arn.get().or(ui.principal_id.get())?;
        let key = ui.access_key_id.get();
        let created = ui.session_start();
        if let Some(n) = self.by_key(key, Some(arn), created, now) {
            return Some((Rc::clone(&n), n.id));
        }
        let temporary_key = key.is_none_or(|k| k.starts_with("ASIA"));
        let young = match (created, now) {
            (Some(c), Some(t)) => t.saturating_sub(c) <= ASSUME_ROOT_LIFE + CLOCK_SKEW,
            _ => true,
        };
        if !(temporary_key && young) {
            return self.user_session(ui, Kind::Root, now);
        }
        if let Some(c) = created {
            let id = stable_id(&[b"session", arn.as_bytes(), &c.to_le_bytes()]);
            if let Some(n) = self.table.session(id, now) {
                return Some((n, id));
            }
        }
        Some(self.task_session(ui, created, now))
    }
}

/// Whether EC2's AssumeRole, read from OCSF, lacks the session name that names the instance it
/// acted for (an export without `api.request.data`).
pub(crate) fn instance_dropped(ev: &Event<'_>, service: &str) -> bool {
    service == "ec2.amazonaws.com"
        && ev.event_name.get() == Some("AssumeRole")
        && ev.request_parameters.role_session_name.get().is_none()
}

/// The subject a SAML or web identity caller is named by: `userName`, else (read from OCSF, an
/// export without `actor.user.name`) what its creating call's response says of the same
/// assertion or token. Nothing, from OCSF, where neither says it: the principal id would name
/// another origin. From CloudTrail, the principal id where there is no `userName` (as before).
pub(crate) fn federated_name<'e>(ev: &'e Event<'_>, ocsf: bool) -> Option<&'e str> {
    let ui = &ev.user_identity;
    if let Some(name) = ui.user_name.get() {
        return Some(name);
    }
    if !ocsf {
        return Some(ui.principal_id.get().unwrap_or(""));
    }
    let re = &ev.response_elements;
    match (ev.event_source.get(), ev.event_name.get()) {
        (Some("sts.amazonaws.com"), Some("AssumeRoleWithSAML")) => re.subject.get(),
        (Some("sts.amazonaws.com"), Some("AssumeRoleWithWebIdentity")) => {
            re.subject_from_web_identity_token.get()
        }
        _ => None,
    }
}

/// The id of what an AssumeRole without its session issued: key `key` at `at`.
fn blind_id(key: &str, at: Epoch) -> u64 {
    stable_id(&[b"ocsf-blind", key.as_bytes(), &at.to_le_bytes()])
}

/// The id, in the key index, of the role session a creating call read from OCSF minted with key
/// `key` at `at` (never an `opt_key` hash: other lookups by key do not find it).
fn issued_id(key: &str, at: Epoch) -> u64 {
    stable_id(&[b"ocsf-issued", key.as_bytes(), &at.to_le_bytes()])
}

impl Lineage {
    /// A caller read from OCSF that the export left without the field naming it: a node of that
    /// kind that is no origin and has no creator, so what it makes or does is unlinked, and a
    /// session it creates has it among its creators (a collision stays one). `service` names a
    /// service that the record still names; `principal` is the principal id, kept as such (never
    /// as a name: it is not the one CloudTrail gives).
    pub(crate) fn ocsf_unnamed(
        &mut self,
        kind: Kind,
        service: Option<&str>,
        principal: Option<&str>,
    ) -> (Rc<Node>, u64) {
        let ident = service.or(principal).unwrap_or("");
        let id = stable_id(&[b"ocsf-unnamed", kind.as_str().as_bytes(), ident.as_bytes()]);
        if let Some(n) = self.table.session(id, None) {
            return (n, id);
        }
        let mut n = Node::new(id, kind, false);
        n.name = service.map(Into::into);
        if let Some(p) = principal {
            let _ = n.extra_mut().principal_id.set(p.into());
        }
        (self.add_session(n), id)
    }

    /// A role-assuming call read from OCSF whose session cannot be told (no `roleArn` and
    /// `roleSessionName`, no `assumedRoleUser`): what it issued is kept by key and time, for
    /// [`Lineage::ocsf_blind_link`].
    pub(crate) fn ocsf_blind_creation(
        &mut self,
        ev: &Event<'_>,
        edge: Edge,
        now: Epoch,
        expires: Option<Epoch>,
    ) {
        if ev.shape.get() != Some(SHAPE) {
            return;
        }
        let Some(key) = ev.response_elements.credentials.access_key_id.get() else {
            return;
        };
        let id = blind_id(key, now);
        let node = match self.table.session(id, Some(now)) {
            Some(n) => n,
            None => {
                let mut n = Node::new(id, Kind::AssumedRole, false);
                n.created = now;
                n.expires.set(expires.unwrap_or(now + MAX_LIFETIME));
                self.add_session(n)
            }
        };
        // A session another creating call minted with this key that second, already known.
        let minted = self.table.keys.get(&issued_id(key, now)).cloned();
        self.link(&node, edge);
        if let Some(child) = minted {
            self.join_blind(&child, &node);
        }
    }

    /// A role session minted with key `key` at `at` by a creating call read from OCSF: an
    /// AssumeRole without its session that issued the same key then may have minted it too. Both
    /// are its creators before any call of it is released (a held call never sees only one).
    pub(crate) fn ocsf_minted(&mut self, child: &Rc<Node>, key: &str, at: Epoch) {
        self.table.keys.put(issued_id(key, at), Rc::clone(child));
        if let Some(blind) = self.table.session(blind_id(key, at), Some(at)) {
            self.join_blind(child, &blind);
        }
    }

    /// Adds the creators of `blind` (an AssumeRole without its session) to `node`'s.
    fn join_blind(&mut self, node: &Rc<Node>, blind: &Rc<Node>) {
        if Rc::ptr_eq(blind, node) {
            return;
        }
        let edges: Vec<Edge> = blind.creators.borrow().iter().cloned().collect();
        for e in edges {
            let known = node.creators.borrow().iter().any(|x| x.event_key == e.event_key);
            if !known {
                self.link(node, e);
            }
        }
    }

    /// A role session's call read from OCSF, made with a key that an AssumeRole without its
    /// session issued when this session started: that AssumeRole may have created it, so it is
    /// one of its creators. It never makes a link stronger: its caller is no origin or a
    /// collision with it is ambiguous unless the key or address sets them apart.
    pub(crate) fn ocsf_blind_link(&mut self, node: &Rc<Node>, ui: &UserIdentity<'_>, call: &Call) {
        let Some(key) = ui.access_key_id.get() else {
            return;
        };
        let id = blind_id(key, node.created);
        if let Some(blind) = self.table.session(id, call.time) {
            self.join_blind(node, &blind);
        }
    }
}
