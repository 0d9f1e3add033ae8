//! What a call says about the session that made it, and whether a creator of that session agrees.
//!
//! A session is found by what names it (its ARN and creationDate, its key, a principal id), and
//! those names are shared: a recycled key, a role session name two people use in the same second,
//! an instance id taken as a session name by someone else. So every creator of the session a
//! call resolves to is checked against everything the call itself says (the key its creating call
//! issued, the web identity subject, the federated user's issuer, the Identity Center user,
//! EC2's delivery marks) before it may be named. A creator that contradicts the call is not its
//! creator: when none agrees, the call belongs to another session, whose creator is unknown.

use super::misuse::{addr_code, Facts};
use super::node::{Edge, Evidence, Kind, Node, Via};
use super::table::{opt_id, stable_id};
use crate::event::Event;
use crate::time::{parse_time, Epoch};

/// One call's identity evidence. Hashes are 0 where the call does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Call {
    /// Key, source address and user agent: what tells colliding sessions apart.
    pub look: Evidence,
    /// The record's own eventTime: every match is made as of it.
    pub time: Option<Epoch>,
    /// `sessionContext.webIdFederationData.attributes.*:sub`: the web identity subject.
    pub subject: u64,
    /// `sessionContext.sessionIssuer.arn` of a federated user: the IAM user who minted it.
    pub issuer: u64,
    /// `onBehalfOf.userId`: the Identity Center user.
    pub user_id: u64,
    /// `ec2RoleDelivery` or `inScopeOf.credentialsIssuedTo`: EC2 delivered these credentials.
    pub delivered: bool,
    /// The key may differ from the one the creating call issued: console sessions rotate keys
    /// (`sessionCredentialFromConsole`), and a service calling on the principal's behalf
    /// (`invokedBy`) may show a key of its own.
    pub key_may_differ: bool,
    /// Read from OCSF (`Event::shape`): fields the CloudTrail→OCSF mapping drops are absent,
    /// not known to be absent, so the checks they feed are not made (see [`Call::unverified`]).
    pub ocsf: bool,
    /// Read from OCSF, a caller that signs with a key (not a role owner's `AWSAccount` copy, nor
    /// a service) and shows none: the export may have dropped `credential_uid`.
    pub key_dropped: bool,
    /// Read from OCSF, a root caller that may be an AssumeRoot task session: without
    /// `assumedRoot` (dropped by the mapping, unless `unmapped` kept it) root's own session and a
    /// task session look alike, and so does root's call without a key where the export dropped
    /// `credential_uid` (see `Lineage::ocsf_root`).
    pub ocsf_root_session: bool,
    /// Where from and with what, for misuse signals (the attack verdict is set by the engine).
    pub facts: Facts,
}

impl Call {
    /// Reads the evidence from a decoded record.
    pub fn of(ev: &Event<'_>) -> Call {
        let ui = &ev.user_identity;
        let ctx = &ui.session_context;
        let federated = ui.kind.get() == Some("FederatedUser");
        let ocsf = ev.shape.get() == Some(crate::input::envelope::ocsf::SHAPE);
        let agent = ev.user_agent.get();
        let addr = ev.source_ip.get().map_or(0, addr_code);
        Call {
            look: Evidence {
                key: opt_key(ui.access_key_id.get()),
                ip: opt_id(ev.source_ip.get()),
                agent: opt_id(ev.user_agent.get()),
            },
            time: ev.time_str().and_then(parse_time),
            subject: opt_id(ctx.web_id_federation_data.attributes.subject.get()),
            issuer: if federated {
                opt_id(ctx.session_issuer.arn.get())
            } else {
                0
            },
            user_id: opt_id(ui.on_behalf_of.user_id.get()),
            delivered: ctx.ec2_role_delivery.get().is_some()
                || ui.in_scope_of.credentials_issued_to.get().is_some(),
            key_may_differ: ev.session_credential_from_console.get() == Some("true")
                || ui.invoked_by.get().is_some(),
            ocsf,
            key_dropped: ocsf
                && ui.access_key_id.get().is_none()
                && matches!(
                    ui.kind.get(),
                    Some("AssumedRole" | "FederatedUser" | "IAMUser" | "Root")
                ),
            // A long-term key or a sign-in is root's own for certain: a task session has
            // neither.
            ocsf_root_session: ocsf
                && ui.kind.get() == Some("Root")
                && ctx.assumed_root.get().is_none()
                && !ui.access_key_id.get().is_some_and(|k| k.starts_with("AKIA"))
                && ev.event_source.get() != Some("signin.amazonaws.com"),
            facts: Facts {
                addr,
                tool: 0, // set by the engine, from its cache of agents
                behalf: ui.invoked_by.get().is_some() || agent == Some("AWS Internal"),
                endpoint: ev.vpc_endpoint_id.get().is_some(),
                failed: ev.error_code.get().is_some(),
                attack: 0,
            },
        }
    }

    /// Whether creator `e` of `node`, which [`Call::agrees`] let through, would have been checked
    /// against a field this call lacks because OCSF dropped it: then the link is a heuristic
    /// ([`super::node::Reason::OcsfDropped`]), never exact. A key the creator issued and the
    /// call used confirms the link whatever else is missing.
    pub fn unverified(&self, e: &Edge, node: &Node) -> bool {
        !(self.look.key != 0 && e.issued_key == self.look.key) && self.needs_dropped(e, node)
    }

    /// Whether telling creator `e` of `node` apart from others needs a field this call lacks
    /// because OCSF dropped it (whatever the key says: colliding creators may share one).
    pub fn needs_dropped(&self, e: &Edge, node: &Node) -> bool {
        if !self.ocsf {
            return false;
        }
        let p = &e.parent;
        (e.via == Via::AssumeRoleWithWebIdentity && self.subject == 0)
            || (p.kind == Kind::IdentityCenterUser && self.user_id == 0)
            || (node.kind == Kind::FederatedUser && p.origin && self.issuer == 0)
    }

    /// Read from OCSF, a call of a session named after an EC2 instance none of whose creators is
    /// EC2 (or a service the export left unnamed): the mapping drops `ec2RoleDelivery`, which would say whether EC2 delivered these
    /// credentials in an AssumeRole not in the input (then no creator seen made the session the
    /// call belongs to, as [`Call::agrees`] rules from CloudTrail). Not linked.
    pub fn ec2_unseen(&self, edges: &[Edge], node: &Node) -> bool {
        self.ocsf
            && !self.delivered
            && node.kind == Kind::AssumedRole
            && node.name().is_some_and(instance_like)
            && !edges
                .iter()
                .any(|e| is_ec2(&e.parent) || unnamed_service(&e.parent))
    }

    /// Whether creator `e` of `node` (the session this call resolved to) can have made it.
    pub fn agrees(&self, e: &Edge, node: &Node) -> bool {
        let p = &e.parent;
        if p.origin && p.arn.is_some() && p.arn == node.arn {
            // The user's (or root's) own temporary credentials: the ARN names the person,
            // whichever of their sessions this is.
            return true;
        }
        let key_matches = self.look.key != 0 && e.issued_key == self.look.key;
        if self.look.key != 0 && e.issued_key != 0 && !key_matches && !self.key_may_differ {
            return false;
        }
        if self.key_dropped && e.issued_key != 0 && !self.key_may_differ {
            // An OCSF record without `credential_uid`: the key that tells this creator's session
            // from a recycled key's or a same-named one is not there to compare. Not linked.
            return false;
        }
        if self.subject != 0 && e.via == Via::AssumeRoleWithWebIdentity && opt_id(p.name()) != self.subject {
            return false;
        }
        if self.issuer != 0
            && node.kind == Kind::FederatedUser
            && p.origin
            && opt_id(p.arn.as_deref()) != self.issuer
        {
            return false;
        }
        if self.user_id != 0
            && p.kind == Kind::IdentityCenterUser
            && opt_id(p.extra().and_then(|x| x.user_id.as_deref())) != self.user_id
        {
            return false;
        }
        let ec2 = is_ec2(p);
        if self.delivered && !ec2 {
            // EC2 says it delivered these credentials: nobody else's AssumeRole made them.
            return false;
        }
        if !self.delivered && ec2 && !key_matches {
            // An instance's session used without EC2's marks and without its key: someone
            // who took the instance id as a session name, or the credentials off the instance.
            return false;
        }
        true
    }

    /// The annotation's session id for a call that no creator of `node` agrees with: another
    /// session, told apart by its key.
    pub fn other_session(&self, node: &Node) -> u64 {
        stable_id(&[
            b"other-session",
            &node.id.to_le_bytes(),
            &self.look.key.to_le_bytes(),
        ])
    }
}

fn is_ec2(p: &Node) -> bool {
    p.kind == Kind::AwsService && p.name() == Some("ec2.amazonaws.com")
}

/// A service an export left unnamed (no `invoked_by`, see `Lineage::ocsf_unnamed`): EC2 perhaps.
fn unnamed_service(p: &Node) -> bool {
    p.kind == Kind::AwsService && !p.origin && p.name().is_none()
}

/// An EC2 instance id (`i-` and 8 or 17 hex digits), as EC2 names an instance's role session.
fn instance_like(name: &str) -> bool {
    name.strip_prefix("i-")
        .is_some_and(|h| matches!(h.len(), 8 | 17) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The key index hash for an access key id (0 when none).
pub(crate) fn opt_key(key: Option<&str>) -> u64 {
    key.map_or(0, |k| stable_id(&[b"key", k.as_bytes()]))
}
