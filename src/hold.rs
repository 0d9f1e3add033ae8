//! The hold buffer: events whose session is not known yet wait for its creating event.
//!
//! CloudTrail delivers late and out of order, so a session is often used before the event that
//! created it arrives. Such an event is held (a copy of its bytes) and released the moment its
//! session is linked, or `unlinked` once the window passes: in event time, against the latest
//! `eventTime` two recent records have reached (one far-off record alone never moves it), or in
//! wall time since it arrived (so an idle live stream never sits on it).
//! With `--settle`, events of young sessions also wait until a colliding creator could no longer
//! arrive. Memory is bounded by `--max-held`: on overflow the oldest goes out as it stands.
//! Nothing held is ever dropped: the end of input and shutdown release everything.

use crate::session::Attribution;
use crate::time::Epoch;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// One event waiting.
#[derive(Debug)]
pub struct Held {
    /// The record's bytes up to the splice point.
    pub text: Box<[u8]>,
    /// The call's `sourceIdentity` (borrowed from the record on the way straight out).
    pub source_identity: Option<Box<str>>,
    /// The engine's verdict on the call, resolved again when it goes out.
    pub att: Attribution,
    /// The unlinked session it waits for (0: it only waits to settle).
    pub waits_for: u64,
    pub event_time: Epoch,
    /// `--settle`: not released as certain before the largest event time seen reaches this.
    pub not_before: Epoch,
    pub arrived: Instant,
}

/// Why a held event is let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Its session was linked.
    Linked,
    /// Its window passed (event time or wall time).
    Due,
    /// The buffer was full and it was the oldest.
    Overflow,
    /// End of input or shutdown.
    Flush,
}

/// Counters for `--stats`.
#[derive(Debug, Default, Clone, Copy)]
pub struct HoldStats {
    pub held_total: u64,
    pub held_max: u64,
    pub released_linked: u64,
    pub released_unlinked: u64,
    pub overflowed: u64,
    /// The most bytes of records held at once.
    pub held_bytes_max: u64,
}

pub struct HoldBuffer {
    /// In arrival order; `None` where an event already left out of order.
    slots: VecDeque<Option<Held>>,
    /// Sequence number of `slots[0]`.
    base: u64,
    waiting: HashMap<u64, Vec<u64>>,
    live: usize,
    max_held: usize,
    /// Bytes of the records held now, and the most allowed.
    bytes: usize,
    max_bytes: usize,
    window: Epoch,
    wall: Duration,
    pub settle: Epoch,
    watermark: Epoch,
    /// The eventTimes of the latest records: the watermark is the [`AGREE`]-th largest of
    /// them, so that one or two far-off times (a broken clock, a forged record) cannot move it.
    recent: [Epoch; RECENT],
    seen: usize,
    pub stats: HoldStats,
}

/// How many recent eventTimes the watermark is taken from.
const RECENT: usize = 8;
/// How many of them must have reached a time for the watermark to reach it: one far-off time
/// alone never moves it.
const AGREE: usize = 2;

impl HoldBuffer {
    /// `window` in event time, `wall` in wall time since arrival (the same in use; tests shorten it).
    #[cfg(test)]
    pub fn new(window: Duration, wall: Duration, max_held: usize, settle: Duration) -> Self {
        Self::with_bytes(window, wall, max_held, usize::MAX, settle)
    }

    /// As [`HoldBuffer::new`], holding at most `max_bytes` of records.
    pub fn with_bytes(
        window: Duration,
        wall: Duration,
        max_held: usize,
        max_bytes: usize,
        settle: Duration,
    ) -> Self {
        HoldBuffer {
            slots: VecDeque::new(),
            base: 0,
            waiting: HashMap::new(),
            live: 0,
            max_held: max_held.max(1),
            bytes: 0,
            max_bytes,
            window: window.as_secs() as Epoch,
            wall: wall.max(settle),
            settle: settle.as_secs() as Epoch,
            watermark: Epoch::MIN,
            recent: [Epoch::MIN; RECENT],
            seen: 0,
            stats: HoldStats::default(),
        }
    }

    /// The event-time window for unlinked sessions, in seconds (0: they are not held).
    pub fn window_secs(&self) -> Epoch {
        self.window
    }

    /// Whether holding is on at all (`--hold 0` turns it off).
    pub fn enabled(&self) -> bool {
        self.window > 0 || self.settle > 0
    }

    pub fn len(&self) -> usize {
        self.live
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The largest event time seen so far.
    pub fn watermark(&self) -> Epoch {
        self.watermark
    }

    /// Takes one record's eventTime into the watermark: the largest time that at least
    /// [`AGREE`] of the latest [`RECENT`] records have reached. A single record from a broken
    /// clock or a forger cannot let every held call go out unlinked; a real jump (a gap in a
    /// backfill) is followed after [`AGREE`] records.
    pub fn observe(&mut self, event_time: Epoch) {
        self.recent[self.seen % RECENT] = event_time;
        self.seen += 1;
        // The AGREE-th largest: count, for each, how many are at least as late.
        let agreed = self
            .recent
            .iter()
            .copied()
            .filter(|&t| self.recent.iter().filter(|&&u| u >= t).count() >= AGREE)
            .max()
            .unwrap_or(Epoch::MIN);
        self.watermark = self.watermark.max(agreed);
    }

    /// Bytes of the records held now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a record of `len` bytes may be held at all (one larger than the byte bound is not).
    pub fn fits(&self, len: usize) -> bool {
        len <= self.max_bytes
    }

    /// Holds an event; returns the oldest ones that had to go out to make room (by count or by
    /// bytes), oldest first, into `overflow`.
    pub fn push(&mut self, held: Held, overflow: &mut Vec<Held>) {
        while self.live > 0 && (self.live >= self.max_held || self.bytes + held.text.len() > self.max_bytes) {
            self.stats.overflowed += 1;
            match self.pop_front() {
                Some(h) => overflow.push(h),
                None => break,
            }
        }
        let seq = self.base + self.slots.len() as u64;
        if held.waits_for != 0 {
            self.waiting.entry(held.waits_for).or_default().push(seq);
        }
        self.bytes += held.text.len();
        self.slots.push_back(Some(held));
        self.live += 1;
        self.stats.held_total += 1;
        self.stats.held_max = self.stats.held_max.max(self.live as u64);
        self.stats.held_bytes_max = self.stats.held_bytes_max.max(self.bytes as u64);
    }

    /// Every event waiting for session `id`, in arrival order.
    pub fn take_waiting(&mut self, id: u64, out: &mut Vec<Held>) {
        let Some(seqs) = self.waiting.remove(&id) else {
            return;
        };
        for seq in seqs {
            if let Some(slot) = seq
                .checked_sub(self.base)
                .and_then(|i| self.slots.get_mut(i as usize))
            {
                if let Some(h) = slot.take() {
                    self.live -= 1;
                    self.bytes -= h.text.len();
                    out.push(h);
                }
            }
        }
        self.trim();
    }

    /// The oldest event if its time is up (by event time or wall time).
    pub fn pop_due(&mut self, now: Instant) -> Option<Held> {
        self.trim();
        let h = self.slots.front()?.as_ref()?;
        let by_event = if h.waits_for != 0 {
            self.watermark.saturating_sub(h.event_time) >= self.window
        } else {
            // Strictly past: a creator delayed by exactly the window may still be on its way.
            self.watermark > h.not_before
        };
        let by_wall = now.saturating_duration_since(h.arrived) >= self.wall;
        if by_event || by_wall {
            self.pop_front()
        } else {
            None
        }
    }

    /// The oldest event, whatever its time (end of input, shutdown, overflow).
    pub fn pop_front(&mut self) -> Option<Held> {
        self.trim();
        let h = self.slots.pop_front()??;
        self.base += 1;
        self.live -= 1;
        self.bytes -= h.text.len();
        if h.waits_for != 0 {
            if let Some(seqs) = self.waiting.get_mut(&h.waits_for) {
                seqs.retain(|&s| s != self.base - 1);
                if seqs.is_empty() {
                    self.waiting.remove(&h.waits_for);
                }
            }
        }
        Some(h)
    }

    /// Drops released slots from the front.
    fn trim(&mut self) {
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::evidence::Call;
    use crate::session::node::{Kind, Node};
    use std::rc::Rc;

    fn held(waits_for: u64, event_time: Epoch) -> Held {
        Held {
            text: Box::new(*b"{}"),
            source_identity: None,
            att: Attribution {
                node: Some(Rc::new(Node::new(waits_for, Kind::AssumedRole, false))),
                session: waits_for,
                call: Call::default(),
                minted: None,
                minted_by: None,
            },
            waits_for,
            event_time,
            not_before: 0,
            arrived: Instant::now(),
        }
    }

    /// Holds `h`, returning what had to go out to make room.
    fn push(buf: &mut HoldBuffer, h: Held) -> Vec<Held> {
        let mut over = Vec::new();
        buf.push(h, &mut over);
        over
    }

    #[test]
    fn released_by_link_by_event_time_and_by_overflow() {
        let mut h = HoldBuffer::new(
            Duration::from_secs(900),
            Duration::from_secs(900),
            3,
            Duration::ZERO,
        );
        h.observe(1000);
        h.observe(1000);
        assert!(push(&mut h, held(1, 1000)).is_empty());
        assert!(push(&mut h, held(2, 1001)).is_empty());
        assert!(push(&mut h, held(1, 1002)).is_empty());
        let mut out = Vec::new();
        h.take_waiting(1, &mut out);
        assert_eq!(out.iter().map(|x| x.event_time).collect::<Vec<_>>(), [1000, 1002]);
        assert_eq!(h.len(), 1);
        assert!(h.pop_due(Instant::now()).is_none());
        h.observe(1901);
        h.observe(1901);
        assert_eq!(h.pop_due(Instant::now()).map(|x| x.event_time), Some(1001));
        assert!(h.is_empty());
        for t in 0..4 {
            let over = push(&mut h, held(9, 2000 + t));
            assert_eq!(
                over.iter().map(|x| x.event_time).collect::<Vec<_>>(),
                if t == 3 { vec![2000] } else { vec![] }
            );
        }
        assert_eq!(h.stats.overflowed, 1);
        // Waiting lists stay in step after an overflow.
        let mut out = Vec::new();
        h.take_waiting(9, &mut out);
        assert_eq!(out.len(), 3);
        assert!(h.is_empty());
    }

    #[test]
    fn bounded_in_bytes() {
        let mut h = HoldBuffer::with_bytes(
            Duration::from_secs(900),
            Duration::from_secs(900),
            100,
            10,
            Duration::ZERO,
        );
        let big = |w: u64, t: Epoch| Held {
            text: vec![b'x'; 4].into_boxed_slice(),
            ..held(w, t)
        };
        assert!(push(&mut h, big(1, 1)).is_empty());
        assert!(push(&mut h, big(2, 2)).is_empty());
        assert_eq!(h.bytes(), 8);
        // A third 4-byte record would make 12: the oldest goes.
        let over = push(&mut h, big(3, 3));
        assert_eq!(over.iter().map(|x| x.event_time).collect::<Vec<_>>(), [1]);
        assert_eq!(h.bytes(), 8);
        assert_eq!(h.stats.held_bytes_max, 8);
        assert!(!h.fits(11) && h.fits(10));
        let mut out = Vec::new();
        h.take_waiting(2, &mut out);
        assert_eq!(h.bytes(), 4, "a record taken out is no longer counted");
    }

    #[test]
    fn one_far_off_time_does_not_move_the_watermark() {
        let mut h = HoldBuffer::new(
            Duration::from_secs(900),
            Duration::from_secs(900),
            10,
            Duration::ZERO,
        );
        h.observe(1_000_000_000);
        h.observe(1000);
        assert_eq!(h.watermark(), 1000, "the far one, first, is outvoted");
        for t in 1001..1010 {
            h.observe(t);
        }
        h.observe(2_000_000_000);
        assert_eq!(h.watermark(), 1009, "and so is a far one later");
        h.observe(1010);
        assert_eq!(h.watermark(), 1010);
        // A real jump (a gap in a backfill): the watermark follows once two records agree.
        let mut h = HoldBuffer::new(
            Duration::from_secs(900),
            Duration::from_secs(900),
            10,
            Duration::ZERO,
        );
        h.observe(1000);
        h.observe(1001);
        h.observe(100_000);
        assert_eq!(h.watermark(), 1001);
        h.observe(100_001);
        assert_eq!(h.watermark(), 100_000);
    }

    #[test]
    fn wall_clock_releases_an_idle_stream() {
        let mut h = HoldBuffer::new(
            Duration::from_secs(900),
            Duration::from_millis(1),
            10,
            Duration::ZERO,
        );
        h.observe(1000);
        push(&mut h, held(1, 1000));
        assert!(h.pop_due(Instant::now() - Duration::from_secs(1)).is_none());
        std::thread::sleep(Duration::from_millis(5));
        assert!(h.pop_due(Instant::now()).is_some());
    }
}
