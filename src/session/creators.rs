//! Creating events (CLOUDTRAIL.md §3): each links the session it mints to its caller.
//!
//! A call with `errorCode`, or without the credentials it would hand out, creates nothing. The two
//! copies of a cross-account call and plain duplicates share an event key and are one edge; two
//! *different* creating events for one session identity are a collision, kept as two creators.

use super::caller::{ASSUME_ROOT_LIFE, MAX_LIFETIME};
use super::evidence::opt_key;
use super::node::{Confidence, Edge, Evidence, Kind, Node, Reason, Via};
use super::table::{stable_id, Grant, IcName};
use super::{account_of, last_name, role_session_of, Lineage};
use crate::event::Event;
use crate::time::{parse_sts_expiration, write_iso, Epoch};
use std::rc::Rc;

/// More creators than this for one session identity is noise or an attack; the rest are refused.
const MAX_CREATORS: usize = 8;
/// How far apart an Identity Center hand-out and the member account's SAML session may be: the
/// portal's GetRoleCredentials makes that SAML call itself, within a second or two.
const GRANT_BEFORE: Epoch = 10;
const GRANT_AFTER: Epoch = 5;

impl Lineage {
    /// SwitchRole's `userIdentity` is already the new session; its parent is the console user
    /// named in `SwitchFrom`, found by name and time (a heuristic edge).
    pub(crate) fn switch_role(
        &mut self,
        ev: &Event<'_>,
        now: Option<Epoch>,
        evidence: Evidence,
    ) -> Option<Rc<Node>> {
        if ev.event_source.get() != Some("signin.amazonaws.com") || ev.event_name.get() != Some("SwitchRole")
        {
            return None;
        }
        if ev.error_code.get().is_some() || ev.response_elements.switch_role.get() == Some("Failure") {
            self.stats.failed_creations += 1;
            return None;
        }
        let ui = &ev.user_identity;
        let arn = ui.arn.get()?;
        let created = ui.session_start().or(now)?;
        let id = stable_id(&[b"session", arn.as_bytes(), &created.to_le_bytes()]);
        let child = self.child(id, Kind::AssumedRole, |n| {
            n.arn = Some(arn.into());
            n.name = last_name(arn).map(Into::into);
            n.account = ui.account_id.get().or_else(|| account_of(arn)).map(Into::into);
            n.created = created;
            n.expires.set(created + 12 * 3600);
            if let Some(p) = ui.principal_id.get() {
                let _ = n.extra_mut().principal_id.set(p.into());
            }
        });
        let parents = match ev.additional_event_data.switch_from.get() {
            Some(from) => self.switch_parents(from, created),
            None => Vec::new(),
        };
        let alternatives = parents.len() > 1;
        for parent in parents {
            // Two console sessions of that ARN alive then: one edge each, told apart by the
            // parent (the calls cannot tell them apart: they are ambiguous, or one origin).
            let key = event_key(ev);
            let edge = Edge {
                event_key: if alternatives {
                    stable_id(&[&key.to_le_bytes(), &parent.id.to_le_bytes()])
                } else {
                    key
                },
                parent,
                via: Via::SwitchRole,
                confidence: Confidence::Heuristic,
                reason: Some(Reason::SwitchFrom),
                event_id: ev.event_id.get().unwrap_or("").into(),
                issued_key: 0,
                caller: Evidence { key: 0, ..evidence },
                poor: false,
            };
            self.link_edge(&child, edge, !alternatives);
        }
        self.table.put_console(arn, &child);
        Some(child)
    }

    /// The console sessions `SwitchFrom` names at `at`: every one of that ARN alive then.
    fn switch_parents(&mut self, from: &str, at: Epoch) -> Vec<Rc<Node>> {
        let live = self.table.console_at(from, at);
        if !live.is_empty() {
            return live;
        }
        // No console session seen: the user named is still the person switching.
        if from.contains(":user/") {
            let name = last_name(from);
            let account = account_of(from);
            return vec![self.origin(Kind::IamUser, &[from], |n| {
                n.arn = Some(from.into());
                n.name = name.map(Into::into);
                n.account = account.map(Into::into);
            })];
        }
        Vec::new()
    }

    /// Records the session this event mints, if it is a creating event; returns it.
    pub(crate) fn creating(
        &mut self,
        ev: &Event<'_>,
        caller: Option<&Rc<Node>>,
        evidence: Evidence,
        now: Option<Epoch>,
    ) -> Option<Rc<Node>> {
        let name = ev.event_name.get()?;
        let via = match (ev.event_source.get().unwrap_or(""), name) {
            ("sts.amazonaws.com", "AssumeRole") => Via::AssumeRole,
            ("sts.amazonaws.com", "AssumeRoleWithSAML") => Via::AssumeRoleWithSaml,
            ("sts.amazonaws.com", "AssumeRoleWithWebIdentity") => Via::AssumeRoleWithWebIdentity,
            ("sts.amazonaws.com", "GetSessionToken") => Via::GetSessionToken,
            ("sts.amazonaws.com", "GetFederationToken") => Via::GetFederationToken,
            ("sts.amazonaws.com", "AssumeRoot") => Via::AssumeRoot,
            ("signin.amazonaws.com", "ConsoleLogin") => Via::ConsoleLogin,
            ("signin.amazonaws.com", "GetSigninToken") => Via::GetSigninToken,
            ("sso.amazonaws.com", "GetRoleCredentials") => Via::GetRoleCredentials,
            _ => return None,
        };
        let re = &ev.response_elements;
        if ev.error_code.get().is_some() || re.console_login.get() == Some("Failure") {
            self.stats.failed_creations += 1;
            return None;
        }
        let (Some(caller), Some(now)) = (caller, now) else {
            return None;
        };
        let issued = re.credentials.access_key_id.get();
        let expires = re.credentials.expiration.get().and_then(parse_sts_expiration);
        let mut edge = Edge {
            parent: Rc::clone(caller),
            via,
            confidence: Confidence::Exact,
            reason: None,
            event_id: ev.event_id.get().unwrap_or("").into(),
            event_key: event_key(ev),
            issued_key: opt_key(issued),
            caller: evidence,
            poor: ev.user_identity.kind.get() == Some("AWSAccount"),
        };
        let child = match via {
            Via::AssumeRole | Via::AssumeRoleWithSaml | Via::AssumeRoleWithWebIdentity => {
                match self.role_child(ev, caller, now, expires, &mut edge) {
                    Some(child) => {
                        if let Some(k) =
                            issued.filter(|_| ev.shape.get() == Some(crate::input::envelope::ocsf::SHAPE))
                        {
                            self.ocsf_minted(&child, k, now);
                        }
                        child
                    }
                    None => {
                        // OCSF without api.request.data: the session is unknown, not its key.
                        self.ocsf_blind_creation(ev, edge, now, expires);
                        return None;
                    }
                }
            }
            Via::GetSessionToken | Via::AssumeRoot | Via::GetSigninToken => {
                self.key_child(ev, via, caller, now, expires)?
            }
            Via::GetFederationToken => self.federation_child(ev, now, expires)?,
            Via::ConsoleLogin => self.console_child(caller, now)?,
            Via::GetRoleCredentials => {
                self.record_grant(ev, caller, now);
                return None;
            }
            Via::SwitchRole | Via::Implied | Via::PrincipalId | Via::Pair => return None,
        };
        if let Some(k) = issued {
            // Role sessions are found by (ARN, creationDate); the others only by their key.
            if !matches!(
                via,
                Via::AssumeRole | Via::AssumeRoleWithSaml | Via::AssumeRoleWithWebIdentity
            ) {
                self.table
                    .keys
                    .put(stable_id(&[b"key", k.as_bytes()]), Rc::clone(&child));
            }
        }
        self.link(&child, edge);
        Some(child)
    }

    /// AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity: a role session, found later
    /// by its ARN and creationDate. An Identity Center sign-in's edge is re-pointed at the user.
    fn role_child(
        &mut self,
        ev: &Event<'_>,
        caller: &Rc<Node>,
        now: Epoch,
        expires: Option<Epoch>,
        edge: &mut Edge,
    ) -> Option<Rc<Node>> {
        let re = &ev.response_elements;
        // Service-assumed roles (EC2, Lambda) log no assumedRoleUser: the session ARN follows
        // from the role and the session name asked for.
        let derived;
        let arn = match re.assumed_role_user.arn.get() {
            Some(a) => a,
            None => match assumed_role_arn(
                ev.request_parameters.role_arn.get(),
                ev.request_parameters.role_session_name.get(),
            ) {
                Some(a) if re.credentials.access_key_id.get().is_some() => {
                    derived = a;
                    &derived
                }
                _ => {
                    self.stats.failed_creations += 1;
                    return None;
                }
            },
        };
        let session_name = role_session_of(arn).map(|(_, s)| s);
        if edge.via == Via::AssumeRoleWithSaml {
            let subject = ev.user_identity.user_name.get();
            if let Some((user, reason)) = self.identity_center_user_of(arn, subject, now) {
                edge.parent = user;
                edge.via = Via::GetRoleCredentials;
                edge.confidence = Confidence::Heuristic;
                edge.reason = Some(reason);
            }
        }
        // Role chaining caps the session at one hour; the first hop may last 12.
        let life = if caller.kind == Kind::AssumedRole {
            3600
        } else {
            12 * 3600
        };
        let source_identity = re
            .source_identity
            .get()
            .or(ev.request_parameters.source_identity.get())
            .map(Into::into)
            .or_else(|| caller.source_identity.clone());
        let id = stable_id(&[b"session", arn.as_bytes(), &now.to_le_bytes()]);
        let role_id = re.assumed_role_user.assumed_role_id.get();
        let child = self.child(id, Kind::AssumedRole, |n| {
            n.arn = Some(arn.into());
            n.name = session_name.map(Into::into);
            n.account = account_of(arn).map(Into::into);
            n.created = now;
            n.expires.set(expires.unwrap_or(now + life));
            n.source_identity = source_identity;
            if let Some(r) = role_id {
                let _ = n.extra_mut().principal_id.set(r.into());
            }
        });
        if let Some(r) = role_id {
            self.table.put_principal(r, &child);
        }
        Some(child)
    }

    /// GetSessionToken, AssumeRoot, GetSigninToken: a session found later by the key it hands
    /// out (and by its start, since keys are recycled).
    fn key_child(
        &mut self,
        ev: &Event<'_>,
        via: Via,
        caller: &Rc<Node>,
        now: Epoch,
        expires: Option<Epoch>,
    ) -> Option<Rc<Node>> {
        let Some(key) = ev.response_elements.credentials.access_key_id.get() else {
            if via == Via::GetSigninToken {
                // A console session on the caller's own credentials.
                self.console_put(caller);
            } else {
                self.stats.failed_creations += 1;
            }
            return None;
        };
        // AWS recycles keys: the session is its key and its start (the id an unknown AssumeRoot
        // task session seen before its creator gets too).
        let id = stable_id(&[b"key-session", key.as_bytes(), &now.to_le_bytes()]);
        let (kind, arn, life) = match via {
            Via::AssumeRoot => {
                let target = ev.request_parameters.target_principal.get().unwrap_or("");
                (
                    Kind::Root,
                    Some(format!("arn:aws:iam::{target}:root").into_boxed_str()),
                    ASSUME_ROOT_LIFE,
                )
            }
            Via::GetSessionToken => (caller.kind, caller.arn.clone(), MAX_LIFETIME),
            _ => (caller.kind, caller.arn.clone(), 12 * 3600),
        };
        let child = self.child(id, kind, |n| {
            n.arn = arn;
            n.name = caller.name().map(Into::into);
            n.account = caller.account().map(Into::into);
            n.created = now;
            n.expires.set(expires.unwrap_or(now + life));
            n.source_identity = caller.source_identity.clone();
        });
        if via == Via::GetSigninToken {
            self.console_put(&child);
        }
        Some(child)
    }

    /// GetFederationToken: a federated user session, found later by its ARN and creationDate.
    fn federation_child(&mut self, ev: &Event<'_>, now: Epoch, expires: Option<Epoch>) -> Option<Rc<Node>> {
        let Some(arn) = ev.response_elements.federated_user.arn.get() else {
            self.stats.failed_creations += 1;
            return None;
        };
        let id = stable_id(&[b"session", arn.as_bytes(), &now.to_le_bytes()]);
        Some(self.child(id, Kind::FederatedUser, |n| {
            n.arn = Some(arn.into());
            n.name = last_name(arn).map(Into::into);
            n.account = account_of(arn).map(Into::into);
            n.created = now;
            n.expires.set(expires.unwrap_or(now + MAX_LIFETIME));
        }))
    }

    /// ConsoleLogin: a user's (or root's) console session; a federated sign-in runs on the
    /// caller's own session and mints nothing.
    fn console_child(&mut self, caller: &Rc<Node>, now: Epoch) -> Option<Rc<Node>> {
        if !caller.origin {
            self.console_put(caller);
            return None;
        }
        let arn = caller.arn.clone()?;
        let id = stable_id(&[b"session", arn.as_bytes(), &now.to_le_bytes()]);
        let child = self.child(id, caller.kind, |n| {
            n.arn = Some(arn.clone());
            n.name = caller.name().map(Into::into);
            n.account = caller.account().map(Into::into);
            n.created = now;
            n.expires.set(now + 12 * 3600);
        });
        self.console_put(&child);
        Some(child)
    }

    /// The node for a session id, made if new. A node already there (used before its creating
    /// event arrived, or minted by a colliding call) is returned as it is.
    fn child(&mut self, id: u64, kind: Kind, fill: impl FnOnce(&mut Node)) -> Rc<Node> {
        if let Some(n) = self.table.sessions.get(&id) {
            return Rc::clone(n);
        }
        let mut n = Node::new(id, kind, false);
        fill(&mut n);
        self.add_session(n)
    }

    /// Adds a creating edge to `child`, merging copies of one event and flagging collisions.
    pub(crate) fn link(&mut self, child: &Rc<Node>, edge: Edge) {
        self.link_edge(child, edge, true);
    }

    /// As [`Lineage::link`]; `collision: false` for the alternatives of one event, which are
    /// no collision of two creating events.
    fn link_edge(&mut self, child: &Rc<Node>, edge: Edge, collision: bool) {
        if edge.parent.has_ancestor(child) {
            self.stats.links_refused += 1;
            return;
        }
        let mut creators = child.creators.borrow_mut();
        if edge.event_key != 0 {
            if let Some(e) = creators.iter_mut().find(|e| e.event_key == edge.event_key) {
                // The same event seen twice: one edge. The caller's own copy says more than the
                // role owner's `AWSAccount` copy, never the reverse.
                if e.poor && !edge.poor {
                    *e = edge;
                    child.changed();
                }
                return;
            }
        }
        if creators
            .iter()
            .any(|e| Rc::ptr_eq(&e.parent, &edge.parent) && e.issued_key == edge.issued_key)
        {
            // The same parent minting the same identity twice (two sign-ins in one second): one
            // lineage, nothing to tell apart.
            return;
        }
        let was_unlinked = creators.is_empty();
        // A parent the log implied is replaced by the creating event of that parent, which names
        // more (another parent's is a second claim on the session); a principalId guess by the
        // caller's own copy of the call.
        let replaced = |e: &Edge| {
            (e.via == Via::Implied && Rc::ptr_eq(&e.parent, &edge.parent))
                || (e.via == Via::PrincipalId && edge.via == Via::Pair)
        };
        creators.retain(|e| !replaced(e));
        if let Some(first) = creators.first() {
            if creators.len() >= MAX_CREATORS {
                self.stats.links_refused += 1;
                return;
            }
            let indistinct = creators
                .iter()
                .any(|e| e.issued_key == edge.issued_key || e.issued_key == 0 || edge.issued_key == 0);
            if indistinct && collision {
                self.stats.collisions += 1;
                let mut when = Vec::with_capacity(20);
                write_iso(&mut when, child.created);
                self.warnings.push(format!(
                    "session {} created at {} is claimed by two creating events ({} and {}) that the log cannot tell apart; its calls are ambiguous unless source address and user agent single one out",
                    child.arn.as_deref().unwrap_or("?"),
                    String::from_utf8_lossy(&when),
                    first.event_id,
                    edge.event_id,
                ));
            }
        }
        if was_unlinked && child.released_unlinked.get() {
            self.stats.late_links += 1;
        }
        // Almost every session has one creator: room for exactly that (a Vec would take four).
        creators.reserve_exact(1);
        // The stand-in links of a role owner's copy are not creating events of their own.
        if !edge.via.is_transparent() {
            self.stats.edges += 1;
        }
        creators.push(edge);
        child.changed();
        // What waits for this session goes out now: it was unlinked, or a call that none of
        // its creators could have made may be this creator's.
        self.linked.push(Rc::clone(child));
    }

    fn console_put(&mut self, session: &Rc<Node>) {
        if let Some(arn) = session.arn.as_deref() {
            self.table.put_console(arn, session);
        }
    }

    /// sso GetRoleCredentials in the Identity Center home account: remember who was handed which
    /// account and permission set, for the member account's SAML session that follows.
    fn record_grant(&mut self, ev: &Event<'_>, user: &Rc<Node>, now: Epoch) {
        let d = &ev.service_event_details;
        let (Some(account), Some(role)) = (d.account_id.get(), d.role_name.get()) else {
            return;
        };
        let id = stable_id(&[b"grant", account.as_bytes(), role.as_bytes()]);
        let contested =
            self.table.grants.peek(&id).is_some_and(|g| {
                !Rc::ptr_eq(&g.user, user) && (now - g.at).abs() <= GRANT_BEFORE + GRANT_AFTER
            });
        self.table.grants.put(
            id,
            Grant {
                user: Rc::clone(user),
                at: now,
                contested,
            },
        );
    }

    /// The Identity Center user (by userId) behind an `AWSReservedSSO_<PermissionSet>_<hash>`
    /// session of user name `subject`: the one handed that account and permission set within
    /// seconds, unless that contradicts what was learned before; else the one this user name was
    /// matched to before. `None` leaves the session to its user name.
    fn identity_center_user_of(
        &mut self,
        arn: &str,
        subject: Option<&str>,
        now: Epoch,
    ) -> Option<(Rc<Node>, Reason)> {
        let (role, _) = role_session_of(arn)?;
        let set = role.strip_prefix("AWSReservedSSO_")?;
        let set = set.rsplit_once('_').map_or(set, |(s, _)| s);
        let account = account_of(arn)?;
        let name_id = subject.map(|s| stable_id(&[b"ic-name", s.as_bytes()]));
        let learned = name_id
            .and_then(|id| self.table.ic_names.get(&id))
            .filter(|n| !n.contested)
            .map(|n| Rc::clone(&n.user));
        let grant = self
            .table
            .grants
            .get(&stable_id(&[b"grant", account.as_bytes(), set.as_bytes()]))
            .filter(|g| !g.contested && (-GRANT_AFTER..=GRANT_BEFORE).contains(&(now - g.at)))
            .map(|g| Rc::clone(&g.user));
        if let Some(user) = grant {
            let same_as_learned = learned.as_ref().is_none_or(|l| Rc::ptr_eq(l, &user));
            let alias_agrees = match (user.alias().as_deref(), subject) {
                (Some(a), Some(s)) => a == s,
                _ => true,
            };
            if same_as_learned && alias_agrees {
                if let (Some(id), Some(s)) = (name_id, subject) {
                    self.learn_ic_name(id, s, &user);
                }
                return Some((user, Reason::IdentityCenterGrant));
            }
        }
        learned.map(|u| (u, Reason::IdentityCenterLearned))
    }

    /// Remembers that user name `subject` belongs to `user`; a second user for it contests it.
    fn learn_ic_name(&mut self, id: u64, subject: &str, user: &Rc<Node>) {
        match self.table.ic_names.get_mut(&id) {
            Some(n) if !Rc::ptr_eq(&n.user, user) => n.contested = true,
            Some(_) => {}
            None => {
                self.table.ic_names.put(
                    id,
                    IcName {
                        user: Rc::clone(user),
                        contested: false,
                    },
                );
            }
        }
        let Some(x) = user.extra() else { return };
        if x.alias.borrow().is_none() {
            user.changed();
            *x.alias.borrow_mut() = Some(subject.into());
            if self.matcher.as_ref().is_some_and(|m| m.matches(subject)) {
                user.matched.set(true);
            }
        }
    }
}

/// What identifies one record: eventID with the recipient account (the two copies of a
/// cross-account call are two records). 0 when there is no eventID.
pub fn event_id_key(ev: &Event<'_>) -> u64 {
    match ev.event_id.get() {
        Some(e) => stable_id(&[
            b"event",
            e.as_bytes(),
            ev.recipient_account_id.get().unwrap_or("").as_bytes(),
        ]),
        None => 0,
    }
}

/// `arn:aws:iam::ACCT:role/path/NAME` + SESSION → `arn:aws:sts::ACCT:assumed-role/NAME/SESSION`.
fn assumed_role_arn(role_arn: Option<&str>, session: Option<&str>) -> Option<String> {
    let (role_arn, session) = (role_arn?, session?);
    let (head, path) = role_arn.split_once(":role/")?;
    let partition = head.strip_prefix("arn:")?.split(':').next()?;
    let account = account_of(role_arn)?;
    let name = path.rsplit('/').next().filter(|n| !n.is_empty())?;
    Some(format!(
        "arn:{partition}:sts::{account}:assumed-role/{name}/{session}"
    ))
}

/// What makes two records the same event: sharedEventID (both copies of a cross-account call),
/// else eventID with the recipient account.
pub(crate) fn event_key(ev: &Event<'_>) -> u64 {
    match (ev.shared_event_id.get(), ev.event_id.get()) {
        (Some(s), _) => stable_id(&[b"shared", s.as_bytes()]),
        (None, Some(e)) => stable_id(&[
            b"event",
            e.as_bytes(),
            ev.recipient_account_id.get().unwrap_or("").as_bytes(),
        ]),
        (None, None) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_arn_from_role_and_session_name() {
        assert_eq!(
            assumed_role_arn(
                Some("arn:aws:iam::123837392027:role/aws-service-role/x.amazonaws.com/Svc"),
                Some("i-1")
            )
            .as_deref(),
            Some("arn:aws:sts::123837392027:assumed-role/Svc/i-1")
        );
        assert_eq!(
            assumed_role_arn(Some("arn:aws-cn:iam::1:role/r"), Some("s")).as_deref(),
            Some("arn:aws-cn:sts::1:assumed-role/r/s")
        );
        assert_eq!(assumed_role_arn(Some("arn:aws:iam::1:user/r"), Some("s")), None);
        assert_eq!(assumed_role_arn(Some("arn:aws:iam::1:role/r"), None), None);
    }
}
