//! Doors closed on live sessions: `used-after-revocation`.
//!
//! Deleting or deactivating an access key, or deleting a user, leaves the sessions already minted
//! with them valid until they expire; a role's `AWSRevokeOlderSessions` inline policy denies its
//! sessions issued before it, but their calls are still logged (§9 of CLOUDTRAIL.md). A call of
//! such a session after the door closed is a finding: the person who closed it meant to end
//! exactly that use. Doors are remembered by hash, bounded in number (the oldest forgotten).

use super::misuse::{push_time, Signal};
use super::node::Kind;
use super::resolve::Chain;
use super::table::stable_id;
use super::{account_of, role_session_of};
use crate::event::Event;
use crate::time::Epoch;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Doors remembered at most: a clean-up deletes a handful of keys, not thousands.
const MAX_DOORS: usize = 256;

/// What was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Closed {
    /// `UpdateAccessKey` to `Inactive`, or `DeleteAccessKey`: by the key's hash.
    Key,
    /// `DeleteUser`: by account and user name.
    User,
    /// `PutRolePolicy` `AWSRevokeOlderSessions`: by account and role name.
    RoleSessions,
}

/// One closed door.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Door {
    pub what: Closed,
    pub target: u64,
    pub at: Epoch,
    /// For the `why`: the key id, user or role name, and the closing event's id.
    pub name: Box<str>,
    pub event_id: Box<str>,
}

/// Every door closed lately.
#[derive(Debug, Default)]
pub struct Doors {
    pub list: VecDeque<Door>,
}

fn target(account: &str, name: &str) -> u64 {
    stable_id(&[account.as_bytes(), name.as_bytes()])
}

impl Doors {
    /// Records the door `ev` closes, if it closes one (successful IAM calls only).
    pub fn observe(&mut self, ev: &Event<'_>, at: Option<Epoch>) {
        let Some(name) = ev.event_name.get() else { return };
        if !matches!(
            name,
            "UpdateAccessKey" | "DeleteAccessKey" | "DeleteUser" | "PutRolePolicy"
        ) || ev.event_source.get() != Some("iam.amazonaws.com")
            || ev.error_code.get().is_some()
        {
            return;
        }
        let (Some(at), rp) = (at, &ev.request_parameters) else {
            return;
        };
        let account = ev
            .recipient_account_id
            .get()
            .or(ev.user_identity.account_id.get())
            .unwrap_or("");
        let door = match name {
            "UpdateAccessKey" if rp.status.get() != Some("Inactive") => None,
            "UpdateAccessKey" | "DeleteAccessKey" => rp.access_key_id.get().map(|k| Door {
                what: Closed::Key,
                target: stable_id(&[b"key", k.as_bytes()]),
                at,
                name: k.into(),
                event_id: ev.event_id.get().unwrap_or("").into(),
            }),
            "DeleteUser" => rp.user_name.get().map(|u| Door {
                what: Closed::User,
                target: target(account, u),
                at,
                name: u.into(),
                event_id: ev.event_id.get().unwrap_or("").into(),
            }),
            _ if rp.policy_name.get() == Some("AWSRevokeOlderSessions") => rp.role_name.get().map(|r| Door {
                what: Closed::RoleSessions,
                target: target(account, r),
                at,
                name: r.into(),
                event_id: ev.event_id.get().unwrap_or("").into(),
            }),
            _ => None,
        };
        if let Some(d) = door {
            if self.list.len() == MAX_DOORS {
                self.list.pop_front();
            }
            self.list.push_back(d);
        }
    }

    /// Appends `used-after-revocation` when a call at `t`, resolved to `chain`, was made by a
    /// session older than a door that closed before `t`.
    pub fn judge(&self, chain: &Chain, t: Epoch, failed: bool, out: &mut Vec<Signal>) {
        if self.list.is_empty() {
            return;
        }
        let Some(session) = chain.hops.first().map(|h| &h.node) else {
            return;
        };
        if session.origin {
            return;
        }
        for d in self.list.iter().rev() {
            if !(d.at < t && session.created < d.at) {
                continue;
            }
            let hit = match d.what {
                // Any key on the way from the origin: the origin's own key minted the first session.
                Closed::Key => chain.hops.iter().any(|h| {
                    h.edge
                        .and_then(|i| h.node.creators.borrow().get(i).map(|e| e.caller.key))
                        .is_some_and(|k| k == d.target)
                }),
                Closed::User => chain.origin.as_ref().is_some_and(|o| {
                    o.kind == Kind::IamUser
                        && matches!((o.account(), o.name()), (Some(a), Some(n)) if target(a, n) == d.target)
                }),
                Closed::RoleSessions => session
                    .arn
                    .as_deref()
                    .and_then(|arn| Some((account_of(arn)?, role_session_of(arn)?.0)))
                    .is_some_and(|(a, r)| target(a, r) == d.target),
            };
            if hit {
                out.push(Signal {
                    name: "used-after-revocation",
                    why: why(d, session.created, t, failed),
                });
                return;
            }
        }
    }
}

fn why(d: &Door, created: Epoch, t: Epoch, failed: bool) -> String {
    let mut s = String::from("session created ");
    push_time(&mut s, created);
    s.push_str(if failed {
        ", called (and refused) at "
    } else {
        ", called successfully at "
    });
    push_time(&mut s, t);
    s.push_str(", after ");
    s.push_str(match d.what {
        Closed::Key => "its origin's access key ",
        Closed::User => "its origin, user ",
        Closed::RoleSessions => "the sessions of role ",
    });
    s.push_str(&d.name);
    s.push_str(match d.what {
        Closed::Key => " was deactivated or deleted at ",
        Closed::User => ", was deleted at ",
        Closed::RoleSessions => " issued before then were revoked (AWSRevokeOlderSessions) at ",
    });
    push_time(&mut s, d.at);
    s.push_str(" (eventID ");
    s.push_str(&d.event_id);
    s.push(')');
    s
}
