//! What happens to each record after framing: dedupe, attribute, hold or release, filter, write.

use crate::config::Config;
use crate::dedupe::Dedupe;
use crate::error::Error;
use crate::event::Event;
use crate::filter::Patterns;
use crate::hold::{Held, HoldBuffer, Release};
use crate::input::batch::{Batch, BatchItem};
use crate::input::envelope::{Item, Record, Unwrapper};
use crate::input::framer::{BadReason, Frame, Framer};
use crate::output::view::{self, View};
use crate::output::{Output, Reject, Reporter};
use crate::session::creators::event_id_key;
use crate::session::evidence::Call;
use crate::session::misuse::{self, Facts, Signal};
use crate::session::node::Evidence;
use crate::session::node::{Confidence, Node};
use crate::session::persist::{HeldRec, SnapshotError};
use crate::session::resolve::Chain;
use crate::session::table::stable_id;
use crate::session::{Attribution, IdentityMatch, Lineage};
use crate::state::{self, StateError};
use crate::time::Epoch;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

/// Recent event ids `--dedupe` remembers at least (and twice this at most).
const DEDUPE_IDS: usize = 500_000;

/// Counters of this stage (`--stats`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub records_in: u64,
    pub bytes_in: u64,
    pub filtered_out: u64,
    /// Read and learned from, not written: outside `--since`/`--until`, or without an eventTime.
    pub outside_window: u64,
    /// Subscription `CONTROL_MESSAGE`s read and left out.
    pub control_messages: u64,
}

/// `--since`/`--until`: which events are written (every event is read and learned from).
#[derive(Debug, Clone, Copy)]
struct Window {
    since: Option<Epoch>,
    until: Option<Epoch>,
}

impl Window {
    /// Whether an event of this time is written. With a window, an event without a readable
    /// eventTime is in none: no shard could claim it alone, so none writes it.
    fn admits(&self, time: Option<Epoch>) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        time.is_some_and(|t| self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u))
    }
}

/// One item of input, whichever stage framed and decoded it: the one type every record, bad
/// record and input failure reaches the sink as.
pub enum Input<'a> {
    /// The next source begins (its index in the configuration's sources).
    Start(usize),
    Record(&'a Record<'a, 'a>),
    /// A bad record at `line` of the current source; `end`: its last bytes.
    Bad {
        bytes: &'a [u8],
        line: u64,
        what: &'a dyn std::fmt::Display,
        end: bool,
    },
    /// More of an oversized bad record, for `--reject`.
    BadMore {
        bytes: &'a [u8],
        last: bool,
    },
    /// The current source could not be read on.
    Failed(&'a dyn std::fmt::Display),
    /// A value read and deliberately left out (a subscription's `CONTROL_MESSAGE`).
    Skipped,
}

/// Everything a record passes through after framing.
pub struct Sink<W: Write> {
    lineage: Lineage,
    hold: HoldBuffer,
    dedupe: Option<Dedupe>,
    out: Output<W>,
    view: Box<dyn View>,
    reject: Option<(PathBuf, Reject)>,
    report: Reporter,
    counts: Counts,
    window: Window,
    filtering: bool,
    strict: bool,
    /// Set by `--strict` at the first bad record.
    stopped: bool,
    /// An input could not be read (the run fails, after the rest is read).
    failed: bool,
    /// The sources' names for messages, and the one being read.
    sources: Vec<String>,
    current: usize,
    /// `--state`, and the `--identity` patterns' fingerprint its match flags were made for.
    state: Option<PathBuf>,
    patterns: u64,
    chain: Chain,
    linked: Vec<Rc<Node>>,
    released: Vec<Held>,
    /// Held events pushed out to make room (reused).
    overflow: Vec<Held>,
    /// The misuse signals of the call being written (reused), `--signals-only`, and the counts
    /// `--stats` reports: per signal name (in [`misuse::NAMES`] order), and events flagged.
    signals: Vec<Signal>,
    signals_only: bool,
    signal_counts: [u64; misuse::NAMES.len()],
    flagged: u64,
}

impl<W: Write> Sink<W> {
    /// Builds every stage from the configuration; with `--state`, loads the session table.
    pub fn from_config(config: &Config, out: W) -> Result<Self, Error> {
        let matcher =
            Patterns::new(config.identity.iter().cloned()).map(|p| Box::new(p) as Box<dyn IdentityMatch>);
        let filtering = matcher.is_some();
        let reject = match &config.reject {
            Some(p) => Some((
                p.clone(),
                Reject::create(p).map_err(|e| Error::Reject(p.clone(), e))?,
            )),
            None => None,
        };
        let mut lineage = Lineage::new(config.max_sessions, matcher);
        lineage.defer_guesses = !config.hold.is_zero();
        let patterns = patterns_fingerprint(&config.identity);
        let mut kept = Vec::new();
        if let (Some(path), false) = (&config.state, config.fresh_state) {
            let fail = |e| Error::State(path.clone(), e);
            if let Some(mut snap) = state::load(path).map_err(fail)? {
                let held = std::mem::take(&mut snap.held);
                let built = lineage
                    .restore(snap, patterns)
                    .map_err(|e| fail(StateError::Snapshot(e)))?;
                kept = held
                    .into_iter()
                    .map(|h| unpersist(h, &built))
                    .collect::<Option<Vec<Held>>>()
                    .ok_or_else(|| fail(StateError::Snapshot(SnapshotError::BadReference)))?;
            }
        }
        let mut sink = Sink {
            lineage,
            hold: HoldBuffer::with_bytes(
                config.hold,
                config.hold,
                config.max_held,
                config.max_held_bytes,
                config.settle,
            ),
            dedupe: config.dedupe.then(|| Dedupe::new(DEDUPE_IDS)),
            out: Output::new(out, config.line_buffered),
            view: view::for_format(config.format, config.color, config.max_sessions),
            reject,
            report: Reporter {
                quiet: config.quiet,
                ..Reporter::default()
            },
            counts: Counts::default(),
            window: Window {
                since: config.since,
                until: config.until,
            },
            filtering,
            strict: config.strict,
            stopped: false,
            failed: false,
            sources: config.sources.iter().map(|s| s.display()).collect(),
            current: 0,
            state: config.state.clone(),
            patterns,
            chain: Chain::default(),
            linked: Vec::new(),
            released: Vec::new(),
            overflow: Vec::new(),
            signals: Vec::new(),
            signals_only: config.signals_only,
            signal_counts: [0; misuse::NAMES.len()],
            flagged: 0,
        };
        // Events a signal left held in the state: they wait again, for their creators.
        for h in kept {
            sink.hold_push(h)?;
        }
        Ok(sink)
    }

    /// `--strict` met a bad record: nothing more is read.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// An input could not be read.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Records taken in, and records done with (written, filtered out, dropped as duplicates):
    /// what a second signal reports as lost is the difference.
    pub fn progress(&self) -> (u64, u64) {
        let dropped = self.dedupe.as_ref().map_or(0, |d| d.dropped);
        (
            self.counts.records_in,
            self.out.records + self.counts.filtered_out + self.counts.outside_window + dropped,
        )
    }

    /// The source being read, records taken in and bytes read: for the progress line.
    pub fn position(&self) -> (usize, u64, u64) {
        (self.current, self.counts.records_in, self.counts.bytes_in)
    }

    /// Counts bytes read (`--stats`).
    pub fn bytes_in(&mut self, n: u64) {
        self.counts.bytes_in += n;
    }

    /// The one place every item of input is handled.
    pub fn take(&mut self, item: Input<'_>) -> Result<(), Error> {
        if self.stopped {
            return Ok(());
        }
        match item {
            Input::Start(n) => {
                self.current = n;
                Ok(())
            }
            Input::Record(rec) => self.record(rec),
            Input::Bad {
                bytes,
                line,
                what,
                end,
            } => self.bad(line, bytes, end, what),
            Input::BadMore { bytes, last } => self.reject_more(bytes, last),
            Input::Failed(e) => {
                let input = self.input_name();
                self.report.error(&format_args!("{input}: {e}"));
                self.failed = true;
                Ok(())
            }
            Input::Skipped => {
                self.counts.control_messages += 1;
                Ok(())
            }
        }
    }

    /// The current source's name, for messages.
    fn input_name(&self) -> &str {
        self.sources.get(self.current).map_or("", String::as_str)
    }

    /// Every record of a decoded batch (`--threads` 2 and more), in order.
    pub fn batch(&mut self, batch: &Batch) -> Result<(), Error> {
        for item in &batch.items {
            match item {
                BatchItem::Start(n) => self.take(Input::Start(*n))?,
                BatchItem::Record { text, splice, strs } => match batch.record(text, *strs) {
                    Some((text, event)) => self.take(Input::Record(&Record {
                        text,
                        splice: *splice as usize,
                        event: &event,
                    }))?,
                    // Cannot happen (the batch was built from this record); if it did, the
                    // record is reported and kept by --reject, never dropped in silence.
                    None => self.take(Input::Bad {
                        bytes: batch.raw(text),
                        line: 0,
                        what: &"internal error: a decoded record could not be rebuilt",
                        end: true,
                    })?,
                },
                BatchItem::Bad {
                    bytes,
                    line,
                    what,
                    end,
                } => self.take(Input::Bad {
                    bytes: &batch.buf[bytes.start as usize..bytes.end as usize],
                    line: *line,
                    what,
                    end: *end,
                })?,
                BatchItem::BadMore { bytes, last } => self.take(Input::BadMore {
                    bytes: &batch.buf[bytes.start as usize..bytes.end as usize],
                    last: *last,
                })?,
                BatchItem::Failed(e) => self.take(Input::Failed(e))?,
                BatchItem::Skipped => self.take(Input::Skipped)?,
            }
        }
        self.warnings();
        Ok(())
    }

    /// Every complete frame the framer has (`--threads 1`).
    pub fn frames(&mut self, framer: &mut Framer, unwrapper: &mut Unwrapper) -> Result<(), Error> {
        while let Some(frame) = framer.next() {
            if self.stopped {
                return Ok(());
            }
            match frame {
                Frame::Record { bytes, line } => {
                    let mut result = Ok(());
                    unwrapper.each(bytes, &mut |item| {
                        if result.is_err() {
                            return;
                        }
                        result = match item {
                            Item::Record(rec) => self.take(Input::Record(&rec)),
                            Item::Skipped => self.take(Input::Skipped),
                            Item::Bad { bytes, error } => self.take(Input::Bad {
                                bytes,
                                line,
                                what: &error,
                                end: true,
                            }),
                        };
                    });
                    result?;
                }
                Frame::Bad {
                    bytes,
                    line,
                    reason,
                    continues,
                } => {
                    // A trail file cut short gives its whole records first (see
                    // `Unwrapper::truncated`); the rest is the truncated record.
                    let mut rest = 0;
                    if reason == BadReason::Truncated && !continues {
                        let mut result = Ok(());
                        rest = unwrapper
                            .truncated(bytes, &mut |item| {
                                if let (Ok(()), Item::Record(rec)) = (&result, item) {
                                    result = self.take(Input::Record(&rec));
                                }
                            })
                            .unwrap_or(0);
                        result?;
                    }
                    self.take(Input::Bad {
                        bytes: &bytes[rest..],
                        line,
                        what: &reason.as_str(),
                        end: !continues,
                    })?
                }
                Frame::BadMore { bytes, last } => self.take(Input::BadMore { bytes, last })?,
            }
        }
        self.warnings();
        Ok(())
    }

    /// Prints the warnings (collisions) found since the last call.
    fn warnings(&mut self) {
        for w in self.lineage.take_warnings() {
            self.report.warning(&w);
        }
    }

    /// More of an oversized bad record, for `--reject`.
    fn reject_more(&mut self, bytes: &[u8], last: bool) -> Result<(), Error> {
        if let Some((p, r)) = &mut self.reject {
            r.write(bytes, last).map_err(|e| Error::Reject(p.clone(), e))?;
        }
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_, '_>) -> Result<(), Error> {
        self.counts.records_in += 1;
        let ev = rec.event;
        if let Some(d) = &mut self.dedupe {
            if d.seen(event_id_key(ev)) {
                return Ok(());
            }
        }
        let att = self.lineage.process(ev);
        // The engine read the record's time once; the watermark takes it from there.
        let event_time = att.call.time;
        if let Some(t) = event_time {
            self.hold.observe(t);
        }
        let source_identity = ev.user_identity.session_context.source_identity.get();
        self.resolve(&att);
        let text = &rec.text.as_bytes()[..rec.splice];
        let mut signals = std::mem::take(&mut self.signals);
        self.lineage.signals(&att, &self.chain, &mut signals);
        let hold = self
            .hold_reason(event_time)
            .or_else(|| self.hold_signal(&signals))
            .filter(|_| self.hold.fits(text.len()));
        match hold {
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
                self.hold_push(held)?;
            }
            None => self.write_judged(text, Some(ev), &att, source_identity, &signals)?,
        }
        self.signals = signals;
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
            // A creator is delivered within the window of the events of its own time: once the
            // stream has shown events more than the window after the session began (a tail that
            // starts mid-day, a session of yesterday), its creator is not coming.
            let shown = self.hold.watermark().max(event_time.unwrap_or(Epoch::MIN));
            let may_come = n.created.saturating_add(self.hold.window_secs()) >= shown;
            if !n.origin
                && (n.creators.borrow().is_empty() || self.chain.disagreed)
                && !n.released_unlinked.get()
                && self.hold.window_secs() > 0
                && may_come
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

    /// A call flagged as another party's use of a session young enough that a second creator
    /// of it (a collision: two people handed one session, each with their own address and tool)
    /// could still be on its way waits until it could no longer come, and is judged again then.
    fn hold_signal(&self, signals: &[Signal]) -> Option<(u64, Epoch)> {
        if !signals.iter().any(|s| misuse::COLLISION_PRONE.contains(&s.name)) || self.hold.window_secs() <= 0
        {
            return None;
        }
        let created = self.chain.hops.first()?.node.created;
        let settled = created.saturating_add(self.hold.window_secs());
        (self.hold.watermark() <= settled).then_some((0, settled))
    }

    /// Holds an event; what had to make room for it goes out as it stands.
    fn hold_push(&mut self, held: Held) -> Result<(), Error> {
        let mut overflow = std::mem::take(&mut self.overflow);
        self.hold.push(held, &mut overflow);
        let mut result = Ok(());
        for old in overflow.drain(..) {
            if result.is_ok() {
                result = self.release(old, Release::Overflow);
            }
        }
        self.overflow = overflow;
        result
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
                    return self.hold_push(again);
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

    /// Everything held goes out.
    fn release_all(&mut self) -> Result<(), Error> {
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
        // Judged on every call, written or not: a session's home is learned from all of them.
        let mut signals = std::mem::take(&mut self.signals);
        self.lineage.signals(att, &self.chain, &mut signals);
        let result = self.write_judged(text, ev, att, source_identity, &signals);
        self.signals = signals;
        result
    }

    fn write_judged(
        &mut self,
        text: &[u8],
        ev: Option<&Event<'_>>,
        att: &Attribution,
        source_identity: Option<&str>,
        signals: &[Signal],
    ) -> Result<(), Error> {
        // Outside the window: learned from (above), judged, held and released as usual, not
        // written.
        if !self.window.admits(att.call.time) {
            self.counts.outside_window += 1;
            return Ok(());
        }
        if !signals.is_empty() {
            self.flagged += 1;
            for s in signals {
                if let Some(i) = misuse::NAMES.iter().position(|n| *n == s.name) {
                    self.signal_counts[i] += 1;
                }
            }
        }
        if self.signals_only && signals.is_empty() {
            self.counts.filtered_out += 1;
            return Ok(());
        }
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
        let call = view::Call {
            text,
            event: ev,
            att,
            chain: &self.chain,
            session: self.chain.session.unwrap_or(att.session),
            source_identity,
            signals,
        };
        let buf = self.out.buf();
        let start = buf.len();
        if self.view.event(buf, &call) {
            let len = buf.len() - start;
            self.out.end_record(len).map_err(Error::Write)?;
        }
        Ok(())
    }

    /// SIGUSR1: what the view has so far (the summary tree), flushed.
    pub fn on_request(&mut self) -> Result<(), Error> {
        self.view.on_request(self.out.buf());
        self.out.flush().map_err(Error::Write)
    }

    /// End of input, a signal or `--strict`: everything held goes out, then what the view keeps
    /// for the end, flushed.
    pub fn finish(&mut self) -> Result<(), Error> {
        self.release_all()?;
        self.view.finish(self.out.buf());
        self.flush()
    }

    /// `--state`: saves the session table (atomically).
    pub fn save_state(&self) -> Result<(), Error> {
        match &self.state {
            Some(path) => state::save(path, &self.lineage.snapshot(self.patterns))
                .map_err(|e| Error::State(path.clone(), e)),
            None => Ok(()),
        }
    }

    /// Whether a stop can keep held events in the state file instead of releasing them.
    pub fn keeps_held(&self) -> bool {
        self.state.is_some()
    }

    /// Stopped by a signal with `--state`: flushes what was written and saves the session table
    /// with the events still held (a shipper that stops its outputs before it signals us would
    /// lose what we released now); the next run holds them again.
    pub fn finish_keeping_held(&mut self) -> Result<(), Error> {
        self.flush()?;
        let Some(path) = self.state.clone() else {
            return Ok(());
        };
        let mut held = Vec::new();
        while let Some(h) = self.hold.pop_front() {
            held.push(h);
        }
        let mut nodes: Vec<&Rc<Node>> = Vec::new();
        for h in &held {
            nodes.extend(h.att.node.iter());
            nodes.extend(h.att.minted.iter());
            nodes.extend(h.att.minted_by.iter());
        }
        let (mut snap, index) = self.lineage.snapshot_with(self.patterns, &nodes);
        let mut index = index.into_iter();
        snap.held = held.iter().map(|h| persist(h, &mut index)).collect();
        state::save(&path, &snap).map_err(|e| Error::State(path, e))
    }

    /// The closing count of bad records, when more were found than were shown.
    pub fn report_finish(&self) {
        self.report.finish();
    }

    fn bad(&mut self, line: u64, bytes: &[u8], end: bool, what: &dyn std::fmt::Display) -> Result<(), Error> {
        let input = self.sources.get(self.current).map_or("", String::as_str);
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
            "outside_window": self.counts.outside_window,
            "control_messages": self.counts.control_messages,
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
            "events_flagged": self.flagged,
            "signals": misuse::NAMES
                .iter()
                .zip(self.signal_counts)
                .map(|(n, c)| (n.to_string(), serde_json::Value::from(c)))
                .collect::<serde_json::Map<_, _>>(),
            "held_now": self.hold.len(),
            "held_max": h.held_max,
            "held_total": h.held_total,
            "released_linked": h.released_linked,
            "released_unlinked": h.released_unlinked,
            "held_overflow": h.overflowed,
            "held_bytes_now": self.hold.bytes(),
            "held_bytes_max": h.held_bytes_max,
            "elapsed_s": (secs * 1000.0).round() / 1000.0,
            "mb_per_s": if secs > 0.0 { ((self.counts.bytes_in as f64 / 1e6 / secs) * 10.0).round() / 10.0 } else { 0.0 },
        })
    }
}

/// Identifies a set of `--identity` patterns, so a state file's match flags are reused only for
/// the same patterns.
fn patterns_fingerprint(patterns: &[String]) -> u64 {
    let mut sorted: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
    sorted.sort();
    stable_id(&sorted)
}

/// A held event as the state file keeps it; `index` yields the snapshot indices of its nodes, in
/// the order [`Sink::finish_keeping_held`] listed them.
fn persist(h: &Held, index: &mut impl Iterator<Item = u32>) -> HeldRec {
    let att = &h.att;
    let mut next = |present: bool| if present { index.next() } else { None };
    let node = next(att.node.is_some());
    let minted = next(att.minted.is_some());
    let minted_by = next(att.minted_by.is_some());
    let c = &att.call;
    HeldRec {
        text: String::from_utf8_lossy(&h.text).into_owned(),
        source_identity: h.source_identity.as_deref().map(str::to_owned),
        node,
        session: att.session,
        evidence: [
            c.look.key,
            c.look.ip,
            c.look.agent,
            c.subject,
            c.issuer,
            c.user_id,
        ],
        time: c.time,
        delivered: c.delivered,
        key_may_differ: c.key_may_differ,
        ocsf: c.ocsf,
        ocsf_root_session: c.ocsf_root_session,
        key_dropped: c.key_dropped,
        minted,
        minted_by,
        waits_for: h.waits_for,
        event_time: h.event_time,
        not_before: h.not_before,
        facts: [c.facts.addr, u64::from(c.facts.tool), c.facts.bits()],
    }
}

/// A held event from the state file, its nodes taken from those the snapshot built.
fn unpersist(r: HeldRec, built: &[Rc<Node>]) -> Option<Held> {
    let node = |i: Option<u32>| -> Option<Option<Rc<Node>>> {
        match i {
            Some(i) => built.get(i as usize).cloned().map(Some),
            None => Some(None),
        }
    };
    let [key, ip, agent, subject, issuer, user_id] = r.evidence;
    Some(Held {
        text: r.text.into_bytes().into_boxed_slice(),
        source_identity: r.source_identity.map(Into::into),
        att: Attribution {
            node: node(r.node)?,
            session: r.session,
            call: Call {
                look: Evidence { key, ip, agent },
                time: r.time,
                subject,
                issuer,
                user_id,
                delivered: r.delivered,
                key_may_differ: r.key_may_differ,
                ocsf: r.ocsf,
                ocsf_root_session: r.ocsf_root_session,
                key_dropped: r.key_dropped,
                facts: Facts {
                    addr: r.facts[0],
                    tool: r.facts[1] as u32,
                    ..Facts::default()
                }
                .with_bits(r.facts[2]),
            },
            minted: node(r.minted)?,
            minted_by: node(r.minted_by)?,
        },
        waits_for: r.waits_for,
        event_time: r.event_time,
        not_before: r.not_before,
        arrived: Instant::now(),
    })
}
