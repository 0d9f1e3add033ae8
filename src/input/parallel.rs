//! `--threads N`: records decoded in parallel, handed to the session engine in input order.
//!
//! ```text
//! reader ─chunks─▶ framer ─raw batches (numbered)─▶ N-1 decoders ─batches─▶ engine (in order)
//!                                        └──────────── and the engine itself, when idle ──┘
//! ```
//!
//! The framer (cheap: it finds line ends) cuts input into numbered raw batches of whole records.
//! Decoding threads take them from one shared queue, decode them into [`Batch`]es and send them on;
//! the engine puts them back in order. When the next batch in order is not ready, the engine
//! decodes a waiting raw batch itself instead of sitting idle: on two cores, one decoding thread
//! and the engine share the decoding between them whatever the balance of the two stages is.
//!
//! Bounded: the framer needs a credit for every batch it hands on, and the engine gives one back
//! for every batch it takes in order, so however the decoders are scheduled no more than
//! [`Parallel::window`] batches are anywhere between the two (raw, decoding, or decoded and
//! waiting for their turn).

use super::batch::{Batch, BatchItem};
use super::envelope::{Item, Unwrapper};
use super::framer::{BadReason, Frame, Framer};
use super::{Chunk, HEADROOM};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A raw batch is handed on once its bytes pass this, or as soon as input goes idle.
pub(crate) const BATCH_BYTES: usize = 256 * 1024;
/// Raw batches waiting for a decoder.
const RAW_QUEUE: usize = 4;

/// Framed records, not yet decoded.
#[derive(Debug, Default)]
pub(crate) struct RawBatch {
    seq: u64,
    bytes_in: u64,
    buf: Vec<u8>,
    items: Vec<RawItem>,
}

#[derive(Debug)]
enum RawItem {
    Start(usize),
    Record {
        bytes: Range<u32>,
        line: u64,
    },
    Bad {
        bytes: Range<u32>,
        line: u64,
        what: &'static str,
        end: bool,
    },
    BadMore {
        bytes: Range<u32>,
        last: bool,
    },
    Failed(String),
}

impl RawBatch {
    fn push(&mut self, bytes: &[u8]) -> Range<u32> {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(bytes);
        start..self.buf.len() as u32
    }

    fn bytes(&self, r: &Range<u32>) -> &[u8] {
        &self.buf[r.start as usize..r.end as usize]
    }

    /// See [`Batch::oversized`].
    fn oversized(&self) -> bool {
        self.buf.capacity() > 4 * BATCH_BYTES
    }

    fn clear(&mut self) {
        self.bytes_in = 0;
        self.buf.clear();
        self.items.clear();
    }

    /// Unwraps and decodes every record into `out` (cleared first).
    fn decode_into(&self, unwrapper: &mut Unwrapper, out: &mut Batch) {
        out.clear();
        out.bytes_in = self.bytes_in;
        for item in &self.items {
            match item {
                RawItem::Start(n) => out.items.push(BatchItem::Start(*n)),
                RawItem::Record { bytes, line } => {
                    unwrapper.each(self.bytes(bytes), &mut |item| match item {
                        Item::Record(rec) => out.push_record(rec.text, rec.splice, rec.event),
                        Item::Skipped => out.items.push(BatchItem::Skipped),
                        Item::Bad { bytes, error } => {
                            let bytes = out.push_bytes(bytes);
                            out.items.push(BatchItem::Bad {
                                bytes,
                                line: *line,
                                what: error.to_string(),
                                end: true,
                            });
                        }
                    })
                }
                RawItem::Bad {
                    bytes,
                    line,
                    what,
                    end,
                } => {
                    // A trail file cut short gives its whole records first, as on one thread.
                    let mut rest = 0;
                    if *what == BadReason::Truncated.as_str() && *end {
                        rest = unwrapper
                            .truncated(self.bytes(bytes), &mut |item| {
                                if let Item::Record(rec) = item {
                                    out.push_record(rec.text, rec.splice, rec.event);
                                }
                            })
                            .unwrap_or(0);
                    }
                    let bytes = out.push_bytes(&self.bytes(bytes)[rest..]);
                    out.items.push(BatchItem::Bad {
                        bytes,
                        line: *line,
                        what: (*what).into(),
                        end: *end,
                    });
                }
                RawItem::BadMore { bytes, last } => {
                    let bytes = out.push_bytes(self.bytes(bytes));
                    out.items.push(BatchItem::BadMore { bytes, last: *last });
                }
                RawItem::Failed(e) => out.items.push(BatchItem::Failed(e.clone())),
            }
        }
    }
}

/// The framing stage: chunks in, numbered raw batches out, until the input ends or no decoder
/// listens any more.
pub(crate) fn frame_stage(
    chunks: Receiver<Chunk>,
    recycle_chunks: SyncSender<Vec<u8>>,
    raw: SyncSender<RawBatch>,
    free: Receiver<RawBatch>,
    credits: Receiver<()>,
    max_record: usize,
) {
    let mut framer = Framer::new(max_record);
    let mut batch = RawBatch::default();
    let mut seq = 0;
    let mut hand_on = |batch: &mut RawBatch| {
        if credits.recv().is_err() {
            return false;
        }
        let mut next = free.try_recv().unwrap_or_default();
        next.clear();
        batch.seq = seq;
        seq += 1;
        raw.send(std::mem::replace(batch, next)).is_ok()
    };
    loop {
        // Wait for input only when there is nothing to hand on.
        let chunk = match chunks.try_recv() {
            Ok(c) => c,
            Err(TryRecvError::Empty) => {
                if !batch.items.is_empty() && !hand_on(&mut batch) {
                    return;
                }
                match chunks.recv() {
                    Ok(c) => c,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        match chunk {
            Chunk::Start(n) => {
                framer.reset();
                batch.items.push(RawItem::Start(n));
            }
            Chunk::Data(buf) => {
                batch.bytes_in += (buf.len() - HEADROOM) as u64;
                let spare = framer.feed_owned(buf, HEADROOM);
                let _ = recycle_chunks.try_send(spare);
                frames(&mut framer, &mut batch);
            }
            Chunk::End => {
                framer.finish();
                frames(&mut framer, &mut batch);
            }
            Chunk::Failed(e) => {
                framer.finish();
                frames(&mut framer, &mut batch);
                batch.items.push(RawItem::Failed(e.to_string()));
            }
        }
        if batch.buf.len() >= BATCH_BYTES && !hand_on(&mut batch) {
            return;
        }
    }
    if !batch.items.is_empty() {
        hand_on(&mut batch);
    }
}

fn frames(framer: &mut Framer, batch: &mut RawBatch) {
    while let Some(frame) = framer.next() {
        let item = match frame {
            Frame::Record { bytes, line } => RawItem::Record {
                bytes: batch.push(bytes),
                line,
            },
            Frame::Bad {
                bytes,
                line,
                reason,
                continues,
            } => RawItem::Bad {
                bytes: batch.push(bytes),
                line,
                what: reason.as_str(),
                end: !continues,
            },
            Frame::BadMore { bytes, last } => RawItem::BadMore {
                bytes: batch.push(bytes),
                last,
            },
        };
        batch.items.push(item);
    }
}

type RawQueue = Arc<Mutex<Receiver<RawBatch>>>;

/// A decoding thread: raw batches from the shared queue, decoded batches out.
fn decode_stage(
    raw: RawQueue,
    done: SyncSender<(u64, Batch)>,
    spent: SyncSender<RawBatch>,
    free: Arc<Mutex<Vec<Batch>>>,
    max_record: usize,
) {
    let mut unwrapper = Unwrapper::new(max_record);
    loop {
        // The lock is held while waiting: the other decoders wait for it instead, and the
        // engine, which only ever tries it, decodes nothing then (there is nothing to decode).
        let next = raw
            .lock()
            .map_err(|_| ())
            .and_then(|rx| rx.recv().map_err(|_| ()));
        let Ok(rb) = next else { return };
        let mut batch = free.lock().ok().and_then(|mut f| f.pop()).unwrap_or_default();
        rb.decode_into(&mut unwrapper, &mut batch);
        let seq = rb.seq;
        if !rb.oversized() {
            let _ = spent.try_send(rb);
        }
        if done.send((seq, batch)).is_err() {
            return;
        }
    }
}

/// The engine's side: decoded batches in input order.
pub struct Parallel {
    raw: RawQueue,
    done: Receiver<(u64, Batch)>,
    /// Decoded ahead of their turn.
    waiting: BTreeMap<u64, Batch>,
    next: u64,
    spent: SyncSender<RawBatch>,
    free: Arc<Mutex<Vec<Batch>>>,
    /// One back to the framer for every batch taken in order.
    credits: SyncSender<()>,
    #[cfg_attr(not(test), allow(dead_code))]
    window: usize,
    unwrapper: Unwrapper,
    threads: Vec<JoinHandle<()>>,
}

impl Parallel {
    /// Starts the framer and `decoders` decoding threads on `chunks`.
    pub fn start(
        chunks: Receiver<Chunk>,
        recycle_chunks: SyncSender<Vec<u8>>,
        decoders: usize,
        max_record: usize,
    ) -> Parallel {
        let (raw_tx, raw_rx) = sync_channel(RAW_QUEUE);
        let (spent_tx, spent_rx) = sync_channel(RAW_QUEUE + decoders + 2);
        let (done_tx, done_rx) = sync_channel(decoders + 1);
        let raw: RawQueue = Arc::new(Mutex::new(raw_rx));
        let free = Arc::new(Mutex::new(Vec::new()));
        let window = RAW_QUEUE + decoders + 1;
        let (credits_tx, credits_rx) = sync_channel(window);
        for _ in 0..window {
            let _ = credits_tx.send(());
        }
        let mut threads = vec![std::thread::Builder::new()
            .name("ctail-frame".into())
            .spawn(move || frame_stage(chunks, recycle_chunks, raw_tx, spent_rx, credits_rx, max_record))
            .expect("spawning the framing thread")];
        for i in 0..decoders {
            let (raw, done, spent, free) = (raw.clone(), done_tx.clone(), spent_tx.clone(), free.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("ctail-decode-{i}"))
                    .spawn(move || decode_stage(raw, done, spent, free, max_record))
                    .expect("spawning a decoding thread"),
            );
        }
        Parallel {
            raw,
            done: done_rx,
            waiting: BTreeMap::new(),
            next: 0,
            spent: spent_tx,
            free,
            credits: credits_tx,
            window,
            unwrapper: Unwrapper::new(max_record),
            threads,
        }
    }

    /// The next batch in order, if it is ready or the engine can decode it now.
    pub fn try_next(&mut self) -> Result<Batch, TryRecvError> {
        loop {
            if let Some(b) = self.waiting.remove(&self.next) {
                self.next += 1;
                let _ = self.credits.try_send(());
                return Ok(b);
            }
            let decoders_gone = match self.done.try_recv() {
                Ok((seq, b)) => {
                    self.waiting.insert(seq, b);
                    continue;
                }
                Err(TryRecvError::Empty) => false,
                Err(TryRecvError::Disconnected) => true,
            };
            // Not ready: decode a waiting raw batch here rather than wait. `try_lock`: a decoder
            // holding the queue is waiting on an empty one.
            let taken = match self.raw.try_lock() {
                Ok(rx) => rx.try_recv(),
                Err(_) => Err(TryRecvError::Empty),
            };
            match taken {
                Ok(rb) => {
                    let mut batch = self
                        .free
                        .lock()
                        .ok()
                        .and_then(|mut f| f.pop())
                        .unwrap_or_default();
                    rb.decode_into(&mut self.unwrapper, &mut batch);
                    self.waiting.insert(rb.seq, batch);
                    if !rb.oversized() {
                        let _ = self.spent.try_send(rb);
                    }
                }
                Err(TryRecvError::Disconnected) if decoders_gone => return Err(TryRecvError::Disconnected),
                Err(_) => return Err(TryRecvError::Empty),
            }
        }
    }

    /// As [`Parallel::try_next`], waiting up to `wait` for a decoder.
    pub fn next_timeout(&mut self, wait: Duration) -> Result<Batch, RecvTimeoutError> {
        let deadline = Instant::now() + wait;
        loop {
            match self.try_next() {
                Ok(b) => return Ok(b),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.done.recv_timeout(left) {
                Ok((seq, b)) => {
                    self.waiting.insert(seq, b);
                }
                Err(RecvTimeoutError::Timeout) => return Err(RecvTimeoutError::Timeout),
                // Every decoder has ended (so has the framer, or one panicked): whatever is left,
                // the engine decodes in try_next.
                Err(RecvTimeoutError::Disconnected) => {
                    if left.is_zero() {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    std::thread::sleep(left.min(Duration::from_millis(1)));
                }
            }
        }
    }

    /// The most batches in flight between the framer and the engine (a bound the tests check).
    #[cfg(test)]
    pub fn window(&self) -> usize {
        self.window
    }

    /// A batch's buffers go back to the decoders.
    pub fn recycle(&mut self, batch: Batch) {
        if batch.oversized(BATCH_BYTES) {
            return;
        }
        if let Ok(mut free) = self.free.lock() {
            if free.len() < RAW_QUEUE + self.threads.len() {
                free.push(batch);
            }
        }
    }

    /// At the end of input every stage has finished: wait for them, so a program that runs the
    /// pipeline many times leaves no threads behind.
    pub fn finish(&mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An input already queued in full, as from a reader that is always ahead: `chunks` chunks
    /// of about `size` bytes of lines `line(0)`, `line(1)`, …. Returns the queue and how many lines.
    fn queued_chunks(
        chunks: usize,
        size: usize,
        line: impl Fn(usize) -> String,
    ) -> (Receiver<Chunk>, SyncSender<Vec<u8>>, usize) {
        let (chunk_tx, chunk_rx) = sync_channel(chunks + 2);
        let (recycle_tx, _) = sync_channel(chunks);
        chunk_tx.send(Chunk::Start(0)).unwrap();
        let mut n = 0;
        for _ in 0..chunks {
            let mut buf = vec![0; HEADROOM];
            while buf.len() < HEADROOM + size {
                buf.extend_from_slice(line(n).as_bytes());
                buf.push(b'\n');
                n += 1;
            }
            chunk_tx.send(Chunk::Data(buf)).unwrap();
        }
        chunk_tx.send(Chunk::End).unwrap();
        (chunk_rx, recycle_tx, n)
    }

    /// A reader that is always ahead (a file in the page cache) never lets the chunk queue run
    /// dry: raw batches must still be handed on by size, or the whole input piles up in one.
    #[test]
    fn batches_are_handed_on_by_size_when_input_never_idles() {
        let record = r#"{"eventVersion":"1.08","eventName":"GetObject","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}"#;
        let (raw_tx, raw_rx) = sync_channel(1000);
        let (_free_tx, free_rx) = sync_channel(1);
        let (chunk_rx, recycle_tx, sent) = queued_chunks(200, 16 * 1024, |_| record.to_string());
        let (credit_tx, credit_rx) = sync_channel(1000);
        for _ in 0..1000 {
            credit_tx.send(()).unwrap();
        }
        frame_stage(chunk_rx, recycle_tx, raw_tx, free_rx, credit_rx, 1 << 20);
        let batches: Vec<RawBatch> = raw_rx.try_iter().collect();
        assert!(batches.len() >= 10, "{} batches for 3 MiB", batches.len());
        let mut records = 0;
        for (i, b) in batches.iter().enumerate() {
            assert_eq!(b.seq, i as u64);
            assert!(
                b.buf.len() < BATCH_BYTES + 20 * 1024,
                "a batch of {} bytes",
                b.buf.len()
            );
            records += b
                .items
                .iter()
                .filter(|i| matches!(i, RawItem::Record { .. }))
                .count();
        }
        assert_eq!(records, sent);
    }

    /// Many decoders finishing in any order, and the engine decoding some batches itself: the
    /// engine still sees every record once, in input order.
    #[test]
    fn batches_come_back_in_input_order() {
        let line = |n: usize| {
            format!(
                r#"{{"eventName":"E","eventID":"{n}","userAgent":"{}"}}"#,
                "x".repeat(n % 700)
            )
        };
        let (chunk_rx, recycle_tx, n) = queued_chunks(120, 64 * 1024, line);
        let mut p = Parallel::start(chunk_rx, recycle_tx, 3, 1 << 20);
        let mut want = 0;
        loop {
            let batch = match p.next_timeout(Duration::from_secs(10)) {
                Ok(b) => b,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("no batch in 10 s"),
            };
            assert!(
                p.waiting.len() < p.window(),
                "{} batches waiting",
                p.waiting.len()
            );
            for item in &batch.items {
                if let BatchItem::Record { text, strs, .. } = item {
                    let (_, event) = batch.record(text, *strs).unwrap();
                    assert_eq!(event.event_id.get(), Some(want.to_string().as_str()));
                    want += 1;
                }
            }
            p.recycle(batch);
        }
        assert_eq!(want, n);
        p.finish();
    }
}
