//! What lineage does differently with a record read from OCSF (`Call::ocsf`): the
//! CloudTrail→OCSF mapping drops fields whose absence CloudTrail would have meant something.
//!
//! `assumedRoot` is the one that changes which node a call belongs to. From CloudTrail, a root
//! caller with temporary credentials and `assumedRoot: "true"` is an AssumeRoot task session,
//! linked by its key only (unlinked when its creator is not in the stream); without the field it
//! is the root user's own session, whose origin is certain. From OCSF both look alike, so the
//! root user is named only where the record itself rules a task session out, and never from the
//! mere absence of the field.

use super::caller::ASSUME_ROOT_LIFE;
use super::node::{Kind, Node};
use super::table::stable_id;
use super::Lineage;
use crate::event::UserIdentity;
use crate::time::{parse_time, Epoch};
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
        let created = ui
            .session_context
            .attributes
            .creation_date
            .get()
            .and_then(parse_time);
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
