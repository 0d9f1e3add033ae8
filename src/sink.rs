//! What happens to each record after framing: dedupe, attribute, hold or release, filter, write.

use crate::config::Format;
use crate::dedupe::Dedupe;
use crate::error::Error;
use crate::event::{decode, Event};
use crate::hold::{Held, HoldBuffer, Release};
use crate::input::envelope::{Item, Record, Unwrapper};
use crate::input::framer::{Frame, Framer};
use crate::output::annotate::AnnotationCache;
use crate::output::summary::Summary;
use crate::output::text::{write_line, Palette};
use crate::output::{Output, Reject, Reporter};
use crate::session::creators::event_id_key;
use crate::session::node::{Confidence, Node};
use crate::session::resolve::Chain;
use crate::session::{Attribution, Lineage};
use crate::time::{parse_time, Epoch};
use std::io::Write;
use std::rc::Rc;
use std::time::Instant;

/// Counters of this stage (`--stats`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub records_in: u64,
    pub bytes_in: u64,
    pub filtered_out: u64,
}

/// Everything a record passes through after framing.
pub struct Sink<W: Write> {
    pub lineage: Lineage,
    pub hold: HoldBuffer,
    pub dedupe: Option<Dedupe>,
    pub out: Output<W>,
    pub reject: Option<(std::path::PathBuf, Reject)>,
    pub report: Reporter,
    pub counts: Counts,
    pub filtering: bool,
    pub strict: bool,
    /// Set by `--strict` at the first bad record.
    pub stopped: bool,
    chain: Chain,
    linked: Vec<Rc<Node>>,
    released: Vec<Held>,
    pub format: Format,
    pub palette: Palette,
    pub summary: Option<Summary>,
    annotations: AnnotationCache,
}

impl<W: Write> Sink<W> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        lineage: Lineage,
        hold: HoldBuffer,
        dedupe: Option<Dedupe>,
        out: Output<W>,
        reject: Option<(std::path::PathBuf, Reject)>,
        report: Reporter,
        filtering: bool,
        strict: bool,
    ) -> Self {
        Sink {
            lineage,
            hold,
            dedupe,
            out,
            reject,
            report,
            counts: Counts::default(),
            filtering,
            strict,
            stopped: false,
            chain: Chain::default(),
            linked: Vec::new(),
            released: Vec::new(),
            format: Format::Json,
            palette: Palette::PLAIN,
            summary: None,
            annotations: AnnotationCache::default(),
        }
    }

    /// Handles every complete frame the framer has.
    pub fn drain(
        &mut self,
        framer: &mut Framer,
        unwrapper: &mut Unwrapper,
        input: &str,
    ) -> Result<(), Error> {
        while let Some(frame) = framer.next() {
            if self.stopped {
                return Ok(());
            }
            match frame {
                Frame::Record { bytes, line } => {
                    let mut result = Ok(());
                    unwrapper.each(bytes, &mut |item| {
                        if result.is_err() || self.stopped {
                            return;
                        }
                        result = match item {
                            Item::Record(rec) => self.record(&rec),
                            Item::Bad { bytes, error } => self.bad(input, line, bytes, true, &error),
                        };
                    });
                    result?;
                }
                Frame::Bad {
                    bytes,
                    line,
                    reason,
                    continues,
                } => self.bad(input, line, bytes, !continues, &reason.as_str())?,
                Frame::BadMore { bytes, last } => {
                    if let Some((p, r)) = &mut self.reject {
                        r.write(bytes, last).map_err(|e| Error::Reject(p.clone(), e))?;
                    }
                }
            }
        }
        self.warnings();
        Ok(())
    }

    /// Prints the warnings (collisions) found since the last call.
    pub fn warnings(&mut self) {
        for w in self.lineage.take_warnings() {
            self.report.warning(&w);
        }
    }

    /// More of an oversized bad record, for `--reject`.
    pub fn reject_more(&mut self, bytes: &[u8], last: bool) -> Result<(), Error> {
        if let Some((p, r)) = &mut self.reject {
            r.write(bytes, last).map_err(|e| Error::Reject(p.clone(), e))?;
        }
        Ok(())
    }

    pub fn record(&mut self, rec: &Record<'_, '_>) -> Result<(), Error> {
        self.counts.records_in += 1;
        let ev = rec.event;
        if let Some(d) = &mut self.dedupe {
            if d.seen(event_id_key(ev)) {
                return Ok(());
            }
        }
        let event_time = ev.time_str().and_then(parse_time);
        if let Some(t) = event_time {
            self.hold.observe(t);
        }
        let att = self.lineage.process(ev);
        let source_identity = ev.user_identity.session_context.source_identity.get();
        self.resolve(&att);
        let text = &rec.text.as_bytes()[..rec.splice];
        match self.hold_reason(event_time) {
            Some((waits_for, not_before)) => {
                let held = Held {
                    text: text.into(),
                    source_identity: source_identity.map(Into::into),
                    att,
                    waits_for,
                    event_time: event_time.unwrap_or(self.hold.watermark()),
                    not_before,
                    arrived: Instant::now(),
                };
                if let Some(old) = self.hold.push(held) {
                    self.release(old, Release::Overflow)?;
                }
            }
            None => self.write(text, Some(ev), &att, source_identity)?,
        }
        // The sessions this event linked: what waited for them goes out now, after it.
        self.lineage.take_linked(&mut self.linked);
        if !self.linked.is_empty() {
            let mut released = std::mem::take(&mut self.released);
            for node in self.linked.drain(..) {
                self.hold.take_waiting(node.id, &mut released);
            }
            for h in released.drain(..) {
                self.release(h, Release::Linked)?;
            }
            self.released = released;
        }
        self.release_due(Instant::now())
    }

    fn resolve(&mut self, att: &Attribution) {
        match &att.node {
            Some(node) => self.chain.resolve(node, Some(&att.call)),
            None => self.chain.clear(),
        }
    }

    /// Whether the call just resolved must wait: (the unlinked session it waits for, or 0; the
    /// event time before which it may not be released as certain).
    fn hold_reason(&self, event_time: Option<Epoch>) -> Option<(u64, Epoch)> {
        if !self.hold.enabled() || self.chain.truncated {
            return None;
        }
        let top = self.chain.hops.last()?;
        let mut waits_for = 0;
        if self.chain.confidence() == Confidence::Unlinked {
            let n = &top.node;
            if !n.origin
                && (n.creators.borrow().is_empty() || self.chain.disagreed)
                && !n.released_unlinked.get()
                && self.hold.window_secs() > 0
            {
                waits_for = n.id;
            }
        }
        let mut not_before = Epoch::MIN;
        if self.hold.settle > 0 {
            // A colliding creator of any session on the chain could still arrive.
            let youngest = self
                .chain
                .hops
                .iter()
                .map(|h| h.node.created)
                .max()
                .unwrap_or(Epoch::MIN);
            let settled = youngest.saturating_add(self.hold.settle);
            if self.hold.watermark() <= settled && event_time.is_some() {
                not_before = settled;
            }
        }
        (waits_for != 0 || not_before != Epoch::MIN).then_some((waits_for, not_before))
    }

    /// Lets one held event go: attributed as well as it can be now.
    fn release(&mut self, h: Held, why: Release) -> Result<(), Error> {
        self.resolve(&h.att);
        if why != Release::Linked && self.chain.confidence() == Confidence::Unlinked {
            // Waiting is over: a role owner's copy whose pair never came is guessed now, as of
            // the call's own time.
            if let Some(top) = self.chain.hops.last().map(|h| Rc::clone(&h.node)) {
                self.lineage.guess_proxy(&top, h.att.call.time);
                self.resolve(&h.att);
            }
        }
        let unlinked = self.chain.confidence() == Confidence::Unlinked;
        if why == Release::Linked {
            // Linked, but it may still have to wait: for a parent that is itself unknown, for
            // a creator that agrees with it, or, with --settle, for a colliding creator that
            // could still arrive.
            if let Some((waits_for, not_before)) = self.hold_reason(Some(h.event_time)) {
                if waits_for != 0 || not_before != Epoch::MIN {
                    let again = Held {
                        waits_for,
                        not_before,
                        ..h
                    };
                    if let Some(old) = self.hold.push(again) {
                        self.release(old, Release::Overflow)?;
                    }
                    return Ok(());
                }
            }
        }
        if unlinked {
            self.hold.stats.released_unlinked += 1;
            // Its later events go straight out; a late creator still links them.
            if let Some(top) = self.chain.hops.last() {
                top.node.released_unlinked.set(true);
            }
        } else {
            self.hold.stats.released_linked += 1;
        }
        self.write(&h.text, None, &h.att, h.source_identity.as_deref())
    }

    /// Releases what the event-time window or the wall clock let go.
    pub fn release_due(&mut self, now: Instant) -> Result<(), Error> {
        while let Some(h) = self.hold.pop_due(now) {
            self.release(h, Release::Due)?;
        }
        Ok(())
    }

    /// End of input or shutdown: everything held goes out.
    pub fn release_all(&mut self) -> Result<(), Error> {
        while let Some(h) = self.hold.pop_front() {
            self.release(h, Release::Flush)?;
        }
        Ok(())
    }

    /// Filters and writes the call just resolved into `self.chain`.
    fn write(
        &mut self,
        text: &[u8],
        ev: Option<&Event<'_>>,
        att: &Attribution,
        source_identity: Option<&str>,
    ) -> Result<(), Error> {
        if self.filtering {
            // A creating event is kept when the session it minted matches, or descends from a
            // match through the edge this very event made (its parent may be a matched person
            // whom the call's own caller names differently; a colliding session's other parents
            // come from other people's events).
            let keep = self.chain.any_node(Node::follows)
                || att.minted.as_ref().is_some_and(|m| m.follows())
                || att.minted_by.as_ref().is_some_and(|p| p.lineage_matches());
            if !keep {
                self.counts.filtered_out += 1;
                return Ok(());
            }
        }
        let session = self.chain.session.unwrap_or(att.session);
        if self.format != Format::Json {
            return self.write_for_people(text, ev, session, att);
        }
        let buf = self.out.buf();
        let start = buf.len();
        buf.extend_from_slice(text);
        buf.push(b',');
        self.annotations.write(buf, session, &self.chain, source_identity);
        buf.extend_from_slice(b"}\n");
        let len = buf.len() - start;
        self.out.end_record(len).map_err(Error::Write)
    }

    /// `--format text` and `summary`. A held event kept only its bytes: it is decoded again.
    fn write_for_people(
        &mut self,
        text: &[u8],
        ev: Option<&Event<'_>>,
        session: u64,
        att: &Attribution,
    ) -> Result<(), Error> {
        let owned = ev.is_none().then(|| {
            let mut record = text.to_vec();
            record.push(b'}');
            String::from_utf8(record).unwrap_or_default()
        });
        let decoded = owned.as_deref().map(decode);
        let blank = Event::default();
        let ev = match (ev, &decoded) {
            (Some(ev), _) => ev,
            (None, Some(Ok(ev))) => ev,
            // It decoded once before it was held, so this does not happen; if it did, the line
            // still goes out, with its lineage and without the event's own fields.
            (None, _) => &blank,
        };
        match self.format {
            Format::Text => {
                let buf = self.out.buf();
                let start = buf.len();
                write_line(buf, ev, &self.chain, &self.palette);
                let len = buf.len() - start;
                self.out.end_record(len).map_err(Error::Write)
            }
            Format::Summary => {
                if let (Some(node), Some(summary)) = (&att.node, &mut self.summary) {
                    summary.record(node, session, ev);
                }
                Ok(())
            }
            Format::Json => unreachable!("JSON is written by write()"),
        }
    }

    /// `--format summary`: the tree so far (end of input, SIGUSR1).
    pub fn write_summary(&mut self) -> Result<(), Error> {
        if let Some(summary) = &self.summary {
            let palette = self.palette;
            summary.write(self.out.buf(), &palette);
        }
        self.out.flush().map_err(Error::Write)
    }

    pub fn bad(
        &mut self,
        input: &str,
        line: u64,
        bytes: &[u8],
        end: bool,
        what: &dyn std::fmt::Display,
    ) -> Result<(), Error> {
        self.report.bad_record(input, line, what);
        if let Some((p, r)) = &mut self.reject {
            r.write(bytes, end).map_err(|e| Error::Reject(p.clone(), e))?;
        }
        if self.strict {
            self.stopped = true;
            self.report
                .error(&format_args!("{input}:{line}: stopping (--strict)"));
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), Error> {
        if let Some((p, r)) = &mut self.reject {
            r.flush().map_err(|e| Error::Reject(p.clone(), e))?;
        }
        self.out.flush().map_err(Error::Write)
    }

    /// One JSON object of counters.
    pub fn stats_json(&self, elapsed: std::time::Duration) -> serde_json::Value {
        let t = self.lineage.table_stats();
        let l = self.lineage.stats;
        let h = self.hold.stats;
        let secs = elapsed.as_secs_f64();
        serde_json::json!({
            "records_in": self.counts.records_in,
            "records_out": self.out.records,
            "bytes_in": self.counts.bytes_in,
            "bytes_out": self.out.bytes,
            "rejected": self.report.bad_records,
            "filtered_out": self.counts.filtered_out,
            "duplicates_dropped": self.dedupe.as_ref().map_or(0, |d| d.dropped),
            "sessions_live": self.lineage.live_sessions(),
            "sessions_created": t.sessions_created,
            "sessions_evicted": t.evicted,
            "sessions_expired": t.expired,
            "edges": l.edges,
            "failed_creations": l.failed_creations,
            "collisions": l.collisions,
                        "late_links": l.late_links,
            "links_refused": l.links_refused,
            "held_now": self.hold.len(),
            "held_max": h.held_max,
            "held_total": h.held_total,
            "released_linked": h.released_linked,
            "released_unlinked": h.released_unlinked,
            "held_overflow": h.overflowed,
            "elapsed_s": (secs * 1000.0).round() / 1000.0,
            "mb_per_s": if secs > 0.0 { ((self.counts.bytes_in as f64 / 1e6 / secs) * 10.0).round() / 10.0 } else { 0.0 },
        })
    }
}
