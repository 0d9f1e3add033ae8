//! Resolving an event's `userIdentity` to a node of the table (CLOUDTRAIL.md §2).
//!
//! Sessions are found by what identifies them in the log: the session ARN with its
//! `creationDate` (console sessions rotate keys, so the key is an attribute, not the identity),
//! then by the access key their creating event handed out. A session seen for the first time
//! without its creator is added unlinked, unless the log itself names its parent (an IAM user's own
//! temporary credentials, a federated user's issuer, an EC2 instance's role delivery).

use super::evidence::{opt_key, Call};
use super::node::{Confidence, Edge, Evidence, Kind, Node, Reason, Via};
use super::table::{live_at, stable_id};
use super::{account_of, last_name, ocsf, Lineage};
use crate::event::{Event, UserIdentity};
use crate::time::{parse_time, Epoch};
use std::rc::Rc;

/// Longest life of credentials whose creating event we have not seen (GetSessionToken's 36 h).
pub const MAX_LIFETIME: Epoch = 36 * 3600;

/// Longest life of an AssumeRoot task session's credentials.
pub const ASSUME_ROOT_LIFE: Epoch = 900;

impl Lineage {
    /// The caller's node and the session id for the annotation.
    pub(crate) fn caller(&mut self, ev: &Event<'_>, call: &Call) -> (Option<Rc<Node>>, u64) {
        let now = call.time;
        let ui = &ev.user_identity;
        let kind = ui.kind.get();
        let node = match kind {
            Some("IAMUser") => self.user_session(ui, Kind::IamUser, now),
            Some("Root") if ui.session_context.assumed_root.get() == Some("true") => {
                self.assumed_root(ui, now)
            }
            // OCSF dropped assumedRoot: a task session and root's own look alike.
            Some("Root") if call.ocsf_root_session => self.ocsf_root(ui, now),
            Some("Root") => self.user_session(ui, Kind::Root, now),
            Some("AssumedRole") => self.role_session(ui, Kind::AssumedRole, call),
            Some("FederatedUser") => self.role_session(ui, Kind::FederatedUser, call),
            Some("AWSAccount") => self.account_caller(ev, now),
            _ if ui.on_behalf_of.user_id.get().is_some() => self.identity_center_user(ui),
            Some("AWSService") | None => match ui.invoked_by.get() {
                // OCSF: an export without api.request.data hides which instance EC2 acted for.
                Some(service) if call.ocsf && ocsf::instance_dropped(ev, service) => {
                    Some(self.ocsf_unnamed(Kind::AwsService, Some(service), None))
                }
                Some(service) => {
                    // EC2 fetching an instance profile's credentials acts for that instance, and
                    // names it as the session name.
                    let instance = (service == "ec2.amazonaws.com"
                        && ev.event_name.get() == Some("AssumeRole"))
                    .then(|| ev.request_parameters.role_session_name.get())
                    .flatten()
                    .filter(|s| s.starts_with("i-"));
                    let n = self.service_origin(service, instance);
                    let id = n.id;
                    Some((n, id))
                }
                // OCSF: an export without actor.invoked_by leaves a service's call unnamed.
                None if call.ocsf && kind == Some("AWSService") => {
                    Some(self.ocsf_unnamed(Kind::AwsService, None, None))
                }
                None => None,
            },
            Some(k @ ("SAMLUser" | "WebIdentityUser")) => {
                let kind = match k {
                    // IAM Identity Center signs users in to member accounts this way: the subject
                    // is the Identity Center user name.
                    "SAMLUser" if is_identity_center_role(ev) => Kind::IdentityCenterUser,
                    "SAMLUser" => Kind::SamlUser,
                    _ => Kind::WebIdentityUser,
                };
                match ocsf::federated_name(ev, call.ocsf) {
                    Some(subject) => Some(self.federated_subject(ui, kind, subject)),
                    None => Some(self.ocsf_unnamed(kind, None, ui.principal_id.get())),
                }
            }
            Some("IdentityCenterUser") => None,
            Some(_) => self.opaque_principal(ui),
        };
        let Some((node, session)) = node else {
            return (None, 0);
        };
        if call.ocsf && kind == Some("AssumedRole") {
            self.ocsf_blind_link(&node, ui, call);
        }
        if let Some(shared) = ev.shared_event_id.get() {
            if node.kind != Kind::AwsAccount {
                self.pair_found(shared, &node, session);
            }
        }
        (Some(node), session)
    }

    /// The caller's own copy of a call with a sharedEventID: the role owner's copy, before or
    /// after, resolves to this caller.
    fn pair_found(&mut self, shared: &str, node: &Rc<Node>, session: u64) {
        let proxy_id = stable_id(&[b"pair-proxy", shared.as_bytes()]);
        self.table.pairs.put(proxy_id, (Rc::clone(node), session));
        if let Some(proxy) = self.table.sessions.peek(&proxy_id).cloned() {
            // The owner's copy came first and waits as a proxy: link it.
            let mut edge = implied(node);
            edge.via = Via::Pair;
            self.link(&proxy, edge);
        }
    }

    /// An origin node by its identifying string, made on first sight.
    /// `ident` is what tells this origin from others of its kind (hashed, never joined into a
    /// string: this runs for every call by a principal).
    pub(crate) fn origin(&mut self, kind: Kind, ident: &[&str], fill: impl FnOnce(&mut Node)) -> Rc<Node> {
        let mut parts: [&[u8]; 4] = [b"origin", kind.as_str().as_bytes(), b"", b""];
        for (slot, p) in parts[2..].iter_mut().zip(ident) {
            *slot = p.as_bytes();
        }
        let id = stable_id(&parts[..2 + ident.len().min(2)]);
        if let Some(n) = self.table.origins.get(&id) {
            return Rc::clone(n);
        }
        let mut n = Node::new(id, kind, true);
        fill(&mut n);
        if matches!(kind, Kind::IamUser | Kind::Root) {
            // A user named before it is seen (a session's issuer, SwitchFrom) learns its
            // principal id from its own first record (see `user_origin`).
            n.extra_mut();
        }
        self.mark_if_matching(&n);
        let n = Rc::new(n);
        self.table.origins.put(id, Rc::clone(&n));
        n
    }

    /// An IAM user or root: the origin itself, or one of its temporary-credential sessions.
    pub(super) fn user_session(
        &mut self,
        ui: &UserIdentity<'_>,
        kind: Kind,
        now: Option<Epoch>,
    ) -> Option<(Rc<Node>, u64)> {
        // No ARN (some sign-in records): the principal id still names a user seen before.
        let known = match (ui.arn.get(), ui.principal_id.get()) {
            (None, Some(p)) => self
                .table
                .principal(p, now)
                .filter(|n| n.origin && n.kind == kind),
            _ => None,
        };
        let arn = ui.arn.get().or(ui.principal_id.get())?;
        let user = match known {
            Some(u) => u,
            None => self.user_origin(ui, kind, arn),
        };
        let held = Rc::clone(&user);
        let arn: &str = held.arn.as_deref().unwrap_or(arn);
        let key = ui.access_key_id.get();
        let created = ui.session_start();
        let Some(created) = created else {
            // Long-term credentials: the user is the session. (The kind is part of the id
            // for all but IAM users, whose ids predate it: a root and a user with the same
            // placeholder ARN and key are two principals.)
            let key = key.unwrap_or("").as_bytes();
            let session = match kind {
                Kind::IamUser => stable_id(&[b"key", arn.as_bytes(), key]),
                _ => stable_id(&[b"key", kind.as_str().as_bytes(), arn.as_bytes(), key]),
            };
            return Some((user, session));
        };
        // GetSessionToken credentials are found by their key; console sessions by their start.
        if let Some(n) = self.by_key(key, Some(arn), Some(created), now) {
            return Some((Rc::clone(&n), n.id));
        }
        let id = stable_id(&[b"session", arn.as_bytes(), &created.to_le_bytes()]);
        if let Some(n) = self.table.session(id, now) {
            return Some((n, id));
        }
        // The user's own temporary credentials, minted by an event we have not seen: the origin is
        // still certain.
        let mut n = Node::new(id, kind, false);
        n.arn = Some(arn.into());
        n.name = user.name().map(Into::into);
        n.account = user.account().map(Into::into);
        n.created = created;
        n.expires.set(created + MAX_LIFETIME);
        n.push_creator(implied(&user));
        let n = self.add_session(n);
        Some((n, id))
    }

    pub(crate) fn user_origin(&mut self, ui: &UserIdentity<'_>, kind: Kind, arn: &str) -> Rc<Node> {
        let principal = ui.principal_id.get();
        let account = ui.account_id.get().or_else(|| account_of(arn));
        let name = ui.user_name.get().or_else(|| last_name(arn));
        let mut fresh = false;
        let user = self.origin(kind, &[arn], |n| {
            fresh = true;
            n.arn = Some(arn.into());
            n.name = name.filter(|_| kind == Kind::IamUser).map(Into::into);
            n.account = account.map(Into::into);
            if let Some(p) = principal {
                let _ = n.extra_mut().principal_id.set(p.into());
            }
        });
        // A user first named without its principal id (a session's issuer, SwitchFrom) learns it
        // from its first record that has it, so what the annotation says of a user depends on
        // the records since it was first seen with it, not on which came first. Indexed when
        // learned, not on every call: a user's principal id never changes.
        let learned = principal.filter(|p| {
            let late = !fresh
                && user.extra().is_some_and(|x| {
                    x.principal_id.get().is_none() && x.principal_id.set((*p).into()).is_ok()
                });
            if late {
                // Annotations cached before do not show it.
                user.changed();
            }
            fresh || late
        });
        if let Some(p) = learned {
            self.table.put_principal(p, &user);
        }
        user
    }

    /// An AssumeRoot task session: linked by its key only, never taken for the root user.
    fn assumed_root(&mut self, ui: &UserIdentity<'_>, now: Option<Epoch>) -> Option<(Rc<Node>, u64)> {
        let key = ui.access_key_id.get();
        let created = ui.session_start();
        if let Some(n) = self.by_key(key, None, created, now) {
            return Some((Rc::clone(&n), n.id));
        }
        Some(self.task_session(ui, created, now))
    }

    /// A task session whose creating call is not known: unlinked until it comes. Keys are
    /// recycled, so it is its key and its start.
    pub(super) fn task_session(
        &mut self,
        ui: &UserIdentity<'_>,
        created: Option<Epoch>,
        now: Option<Epoch>,
    ) -> (Rc<Node>, u64) {
        let key = ui.access_key_id.get();
        let start = created.or(now).unwrap_or(0);
        let id = stable_id(&[b"key-session", key.unwrap_or("").as_bytes(), &start.to_le_bytes()]);
        if let Some(n) = self.table.session(id, now) {
            return (n, id);
        }
        let mut n = Node::new(id, Kind::Root, false);
        n.arn = ui.arn.get().map(Into::into);
        n.account = ui.account_id.get().map(Into::into);
        n.created = start;
        n.expires.set(n.created + ASSUME_ROOT_LIFE);
        (self.add_session(n), id)
    }

    /// A role or federated-user session, by (ARN, creationDate), then by key.
    fn role_session(&mut self, ui: &UserIdentity<'_>, kind: Kind, call: &Call) -> Option<(Rc<Node>, u64)> {
        let now = call.time;
        let ctx = &ui.session_context;
        let arn = ui.arn.get().or(ui.principal_id.get())?;
        let key = ui.access_key_id.get();
        let created = ctx.attributes.creation_date.get().and_then(parse_time);
        let mut id = match created {
            Some(c) => stable_id(&[b"session", arn.as_bytes(), &c.to_le_bytes()]),
            None => stable_id(&[b"session-key", arn.as_bytes(), key.unwrap_or("").as_bytes()]),
        };
        let names_parent = match kind {
            Kind::FederatedUser => ctx.session_issuer.arn.get().is_some(),
            _ => call.delivered || call.user_id != 0,
        };
        if let Some(n) = self.table.session(id, now) {
            let creators = n.creators.borrow();
            if !names_parent || creators.is_empty() || creators.iter().any(|e| call.agrees(e, &n)) {
                drop(creators);
                return Some((n, id));
            }
            // The call names its parent, and no creator of the session of that name agrees
            // with it: another session, whose parent the log names.
            id = call.other_session(&n);
            drop(creators);
            if let Some(n) = self.table.session(id, now) {
                return Some((n, id));
            }
        } else if let Some(n) = self.by_key(key, Some(arn), created, now) {
            return Some((Rc::clone(&n), n.id));
        }
        // First sight of a session whose creating event we have not seen (yet).
        let mut n = Node::new(id, kind, false);
        n.arn = Some(arn.into());
        n.name = last_name(arn).map(Into::into);
        n.account = ui.account_id.get().or_else(|| account_of(arn)).map(Into::into);
        n.source_identity = ctx.source_identity.get().map(Into::into);
        n.created = created.or(now).unwrap_or(0);
        n.expires.set(n.created.saturating_add(MAX_LIFETIME));
        if let Some(p) = ui.principal_id.get() {
            let _ = n.extra_mut().principal_id.set(p.into());
        }
        let parent = match kind {
            // EC2 delivered these credentials to an instance: the log names it.
            Kind::AssumedRole
                if ctx.ec2_role_delivery.get().is_some()
                    || ui.in_scope_of.credentials_issued_to.get().is_some() =>
            {
                let instance = ui
                    .in_scope_of
                    .credentials_issued_to
                    .get()
                    .and_then(last_name)
                    .or_else(|| arn.rsplit('/').next().filter(|s| s.starts_with("i-")));
                Some(self.service_origin("ec2.amazonaws.com", instance))
            }
            // An Identity Center identity-enhanced session names its user.
            Kind::AssumedRole if ui.on_behalf_of.user_id.get().is_some() => {
                self.identity_center_user(ui).map(|(n, _)| n)
            }
            // GetFederationToken's caller is named as the session issuer.
            Kind::FederatedUser => {
                let issuer = &ctx.session_issuer;
                issuer.arn.get().map(|iarn| {
                    // OCSF keeps only the issuer's ARN, and root's ARN says root.
                    let root = match issuer.kind.get() {
                        Some(k) => k == "Root",
                        None => iarn.ends_with(":root"),
                    };
                    let ikind = if root { Kind::Root } else { Kind::IamUser };
                    let name = issuer.user_name.get().or_else(|| last_name(iarn));
                    let account = issuer.account_id.get().or_else(|| account_of(iarn));
                    self.origin(ikind, &[iarn], |u| {
                        u.arn = Some(iarn.into());
                        u.name = name.filter(|_| ikind == Kind::IamUser).map(Into::into);
                        u.account = account.map(Into::into);
                    })
                })
            }
            _ => None,
        };
        if let Some(p) = parent {
            let mut edge = implied(&p);
            if p.kind == Kind::AwsService && ui.session_context.ec2_role_delivery.get().is_some() {
                // The key EC2 delivered: a call with another key is not the instance's.
                edge.issued_key = opt_key(key);
            }
            n.push_creator(edge);
        }
        let n = self.add_session(n);
        if let Some(p) = ui.principal_id.get() {
            self.table.put_principal(p, &n);
        }
        Some((n, id))
    }

    /// The role owner's copy of a cross-account call: the caller shows only as account and
    /// principalId. Resolved through the caller's own copy (same sharedEventID), which may arrive
    /// later: until then it is a proxy node, linked by a known principal id (heuristic) or not
    /// at all (unlinked, so the hold buffer waits for the pair).
    fn account_caller(&mut self, ev: &Event<'_>, now: Option<Epoch>) -> Option<(Rc<Node>, u64)> {
        let ui = &ev.user_identity;
        let principal = ui.principal_id.get();
        let account = ui.account_id.get();
        let shared = ev.shared_event_id.get();
        let id = match shared {
            Some(sh) => {
                let proxy_id = stable_id(&[b"pair-proxy", sh.as_bytes()]);
                if let Some((n, session)) = self.table.pairs.get(&proxy_id) {
                    return Some((Rc::clone(n), *session));
                }
                proxy_id
            }
            None => 0,
        };
        let known = principal.and_then(|p| self.table.principal(p, now));
        // Without a sharedEventID, every call of one principal id shares a stand-in, as long as
        // the principal id names the same session: a later one of that name gets its own.
        let id = match id {
            0 => stable_id(&[
                b"account",
                account.unwrap_or("").as_bytes(),
                principal.unwrap_or("").as_bytes(),
                &known.as_ref().map_or(0, |n| n.id).to_le_bytes(),
            ]),
            id => id,
        };
        if let Some(n) = self.table.session(id, now) {
            return Some((n, id));
        }
        if let Some(n) = &known {
            if n.origin {
                // A user's principal id (AIDA…) names exactly one user.
                let session = stable_id(&[b"principal", principal.unwrap_or("").as_bytes()]);
                return Some((Rc::clone(n), session));
            }
        }
        let mut proxy = Node::new(id, Kind::AwsAccount, false);
        proxy.account = account.map(Into::into);
        proxy.created = now.unwrap_or(0);
        proxy.expires.set(proxy.created.saturating_add(MAX_LIFETIME));
        if let Some(p) = principal {
            let _ = proxy.extra_mut().principal_id.set(p.into());
        }
        if !self.defer_guesses {
            if let Some(n) = known {
                proxy.push_creator(principal_guess(&n));
            }
        }
        let proxy = self.add_session(proxy);
        Some((proxy, id))
    }

    /// An AWS service, or an EC2 instance (the service plus the instance id).
    pub(crate) fn service_origin(&mut self, service: &str, instance: Option<&str>) -> Rc<Node> {
        self.origin(Kind::AwsService, &[service, instance.unwrap_or("")], |n| {
            n.name = Some(service.into());
            if let Some(i) = instance {
                n.extra_mut().instance = Some(i.into());
            }
        })
    }

    /// A SAML or OIDC subject, as the caller of AssumeRoleWithSAML / WithWebIdentity.
    pub(crate) fn federated_subject(
        &mut self,
        ui: &UserIdentity<'_>,
        kind: Kind,
        subject: &str,
    ) -> (Rc<Node>, u64) {
        let provider = ui.identity_provider.get();
        let n = self.origin(kind, &[provider.unwrap_or(""), subject], |n| {
            n.name = Some(subject.into());
            n.account = ui.account_id.get().map(Into::into);
            if let Some(p) = provider {
                n.extra_mut().provider = Some(p.into());
            }
            if let Some(p) = ui.principal_id.get() {
                let _ = n.extra_mut().principal_id.set(p.into());
            }
        });
        let id = n.id;
        (n, id)
    }

    fn identity_center_user(&mut self, ui: &UserIdentity<'_>) -> Option<(Rc<Node>, u64)> {
        let user_id = ui.on_behalf_of.user_id.get()?;
        let store = ui.on_behalf_of.identity_store_arn.get();
        let n = self.origin(Kind::IdentityCenterUser, &[user_id], |n| {
            n.extra_mut().user_id = Some(user_id.into());
            if let Some(s) = store {
                n.extra_mut().provider = Some(s.into());
            }
            n.name = ui.user_name.get().map(Into::into);
        });
        let id = n.id;
        Some((n, id))
    }

    /// `Role`, `Directory`, `Unknown` and other shapes: their own origin, named as well as we can.
    fn opaque_principal(&mut self, ui: &UserIdentity<'_>) -> Option<(Rc<Node>, u64)> {
        let ident = ui.arn.get().or(ui.principal_id.get()).or(ui.user_name.get())?;
        let n = self.origin(Kind::Other, &[ident], |n| {
            n.arn = ui.arn.get().map(Into::into);
            n.name = ui.user_name.get().map(Into::into);
            n.account = ui.account_id.get().map(Into::into);
            if let Some(p) = ui.principal_id.get() {
                let _ = n.extra_mut().principal_id.set(p.into());
            }
        });
        let id = n.id;
        Some((n, id))
    }
}

/// A role owner's proxy linked to the latest session of its principal id: the role session's
/// principal id (AROA…:NAME) names the latest session of that name, which need not be the one that
/// made the call.
fn principal_guess(n: &Rc<Node>) -> Edge {
    let mut edge = implied(n);
    edge.via = Via::PrincipalId;
    edge.confidence = Confidence::Heuristic;
    edge.reason = Some(Reason::PrincipalId);
    edge
}

impl Lineage {
    /// The hold buffer gave up waiting for the caller's own copy of a cross-account call: link
    /// the role owner's proxy by its principal id, if that named exactly one session at the
    /// call's time `at`.
    pub fn guess_proxy(&mut self, proxy: &Rc<Node>, at: Option<Epoch>) {
        if proxy.kind != Kind::AwsAccount || !proxy.creators.borrow().is_empty() {
            return;
        }
        let principal = proxy
            .extra()
            .and_then(|x| x.principal_id.get().map(|p| &**p))
            .map(str::to_owned);
        if let Some(n) = principal.and_then(|p| self.table.principal(&p, at)) {
            if !n.origin && !n.has_ancestor(proxy) {
                proxy.changed();
                proxy.creators.borrow_mut().push(principal_guess(&n));
            }
        }
    }
}

/// An AssumeRoleWithSAML into an `AWSReservedSSO_…` role: an Identity Center sign-in.
fn is_identity_center_role(ev: &Event<'_>) -> bool {
    let role = ev
        .request_parameters
        .role_arn
        .get()
        .or(ev.response_elements.assumed_role_user.arn.get());
    role.is_some_and(|r| r.contains("/AWSReservedSSO_"))
}

/// An edge to a parent the log itself names, with no creating event behind it.
pub(crate) fn implied(parent: &Rc<Node>) -> Edge {
    Edge {
        parent: Rc::clone(parent),
        via: Via::Implied,
        confidence: Confidence::Exact,
        reason: None,
        event_id: "".into(),
        event_key: 0,
        issued_key: 0,
        caller: Evidence::default(),
        poor: false,
    }
}

impl Lineage {
    /// The session a key names, if it is the one this call's session can be: the same ARN (when
    /// the call names one), the same start (AWS recycles keys), alive at the call's time.
    pub(super) fn by_key(
        &mut self,
        key: Option<&str>,
        arn: Option<&str>,
        created: Option<Epoch>,
        now: Option<Epoch>,
    ) -> Option<Rc<Node>> {
        let n = self.table.keys.get(&opt_key(Some(key?)))?;
        let same_arn = arn.is_none_or(|a| n.arn.as_deref() == Some(a));
        let same_start = created.is_none_or(|c| (c - n.created).abs() <= 1);
        let alive = now.is_none_or(|t| live_at(n, t));
        (same_arn && same_start && alive).then(|| Rc::clone(n))
    }
}
