//! `--threads`: framing, envelope unwrapping and decoding on a thread of their own, while the
//! session engine runs in order on the main thread.
//!
//! The decoding stage hands over batches: the bytes of each record, and where each of its
//! decoded strings lies (in those bytes, or in a small arena for the strings that held escapes).
//! The engine rebuilds the borrowed event from those places without parsing again. Batches are
//! recycled, so the steady state allocates nothing; input order is kept (one stage, one queue).

use super::envelope::{Item, Unwrapper};
use super::framer::{Frame, Framer};
use super::{Chunk, HEADROOM};
use crate::event::{Event, Str, StrFields};
use std::borrow::Cow;
use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};

/// A batch is handed on once its bytes pass this, or as soon as input goes idle.
const BATCH_BYTES: usize = 256 * 1024;
/// Marks a string that lives in the arena rather than in the record's bytes.
const ARENA: u32 = 1 << 31;
const NONE: (u32, u32) = (u32::MAX, 0);

/// What the engine is handed, in input order.
#[derive(Debug)]
pub enum BatchItem {
    /// Input number `n` starts.
    Start(usize),
    /// A record: its bytes in `buf`, where the annotation goes, and its strings from `strs`.
    Record {
        text: Range<u32>,
        splice: u32,
        strs: u32,
    },
    /// Not a record: its bytes in `buf`, the line it started on, why.
    Bad {
        bytes: Range<u32>,
        line: u64,
        what: String,
        end: bool,
    },
    /// More of an oversized bad record (for `--reject`).
    BadMore { bytes: Range<u32>, last: bool },
    /// The current input could not be read.
    Failed(String),
}

#[derive(Debug, Default)]
pub struct Batch {
    /// Input bytes read for this batch (for `--stats`).
    pub bytes_in: u64,
    /// Records' text, back to back. Only [`Batch::push_record`] writes here, and only from
    /// `&str`: the whole buffer is UTF-8 (what [`Batch::record`] relies on).
    text: String,
    /// Bad records' bytes, which may be anything.
    pub buf: Vec<u8>,
    arena: String,
    strs: Vec<(u32, u32)>,
    pub items: Vec<BatchItem>,
}

impl Batch {
    fn clear(&mut self) {
        self.bytes_in = 0;
        self.text.clear();
        self.buf.clear();
        self.arena.clear();
        self.strs.clear();
        self.items.clear();
    }

    /// The bytes the batch holds: records' and bad records'.
    fn len(&self) -> usize {
        self.text.len() + self.buf.len() + self.arena.len()
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Range<u32> {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(bytes);
        start..self.buf.len() as u32
    }

    /// Adds a decoded record: its bytes, and the place of every string field.
    fn push_record(&mut self, text: &str, splice: usize, event: &Event<'_>) {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        let range = start..self.text.len() as u32;
        let strs = self.strs.len() as u32;
        let base = text.as_ptr() as usize;
        event.each_str(&mut |s: &Str<'_>| {
            let place = match &s.0 {
                None => NONE,
                Some(Cow::Borrowed(b))
                    if (b.as_ptr() as usize) >= base
                        && b.as_ptr() as usize + b.len() <= base + text.len() =>
                {
                    (range.start + (b.as_ptr() as usize - base) as u32, b.len() as u32)
                }
                Some(other) => {
                    let at = self.arena.len() as u32 | ARENA;
                    self.arena.push_str(other);
                    (at, other.len() as u32)
                }
            };
            self.strs.push(place);
        });
        self.items.push(BatchItem::Record {
            text: range,
            splice: splice as u32,
            strs,
        });
    }

    /// The record `item` names, rebuilt: its text, where the annotation goes, and its event.
    /// `None` if the bytes are not what the decoding stage wrote (they always are).
    pub fn record(&self, text: &Range<u32>, strs: u32) -> Option<(&str, Event<'_>)> {
        let all = self.text.as_str();
        let text = all.get(text.start as usize..text.end as usize)?;
        let mut event = Event::default();
        let mut i = strs as usize;
        let mut ok = true;
        event.fill_strs(&mut || {
            let (at, len) = self.strs.get(i).copied().unwrap_or(NONE);
            i += 1;
            if (at, len) == NONE {
                return Str(None);
            }
            let s = if at & ARENA != 0 {
                let a = (at & !ARENA) as usize;
                self.arena.get(a..a + len as usize)
            } else {
                let a = at as usize;
                all.get(a..a + len as usize)
            };
            match s {
                Some(s) => Str(Some(Cow::Borrowed(s))),
                None => {
                    ok = false;
                    Str(None)
                }
            }
        });
        ok.then_some((text, event))
    }
}

/// The decoding stage: chunks in, batches out, until the input ends or the engine stops.
pub fn decode_stage(
    chunks: Receiver<Chunk>,
    recycle_chunks: SyncSender<Vec<u8>>,
    batches: SyncSender<Batch>,
    free: Receiver<Batch>,
    max_record: usize,
) {
    let mut framer = Framer::new(max_record);
    let mut unwrapper = Unwrapper::default();
    let mut batch = Batch::default();
    loop {
        // Wait for input only when there is nothing to hand on.
        let chunk = match chunks.try_recv() {
            Ok(c) => c,
            Err(TryRecvError::Empty) => {
                if !batch.items.is_empty() && !hand_on(&mut batch, &batches, &free) {
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
                batch.items.push(BatchItem::Start(n));
            }
            Chunk::Data(buf) => {
                batch.bytes_in += (buf.len() - HEADROOM) as u64;
                let spare = framer.feed_owned(buf, HEADROOM);
                let _ = recycle_chunks.try_send(spare);
                frames(&mut framer, &mut unwrapper, &mut batch);
            }
            Chunk::End => {
                framer.finish();
                frames(&mut framer, &mut unwrapper, &mut batch);
            }
            Chunk::Failed(e) => {
                framer.finish();
                frames(&mut framer, &mut unwrapper, &mut batch);
                batch.items.push(BatchItem::Failed(e.to_string()));
            }
        }
        if batch.len() >= BATCH_BYTES && !hand_on(&mut batch, &batches, &free) {
            return;
        }
    }
    if !batch.items.is_empty() {
        let _ = batches.send(batch);
    }
}

/// Sends the batch and takes a recycled one (or a new one) in its place. `false`: the engine
/// stopped listening.
fn hand_on(batch: &mut Batch, to: &SyncSender<Batch>, free: &Receiver<Batch>) -> bool {
    let mut next = free.try_recv().unwrap_or_default();
    next.clear();
    to.send(std::mem::replace(batch, next)).is_ok()
}

fn frames(framer: &mut Framer, unwrapper: &mut Unwrapper, batch: &mut Batch) {
    while let Some(frame) = framer.next() {
        match frame {
            Frame::Record { bytes, line } => unwrapper.each(bytes, &mut |item| match item {
                Item::Record(rec) => batch.push_record(rec.text, rec.splice, rec.event),
                Item::Bad { bytes, error } => {
                    let bytes = batch.push_bytes(bytes);
                    batch.items.push(BatchItem::Bad {
                        bytes,
                        line,
                        what: error.to_string(),
                        end: true,
                    });
                }
            }),
            Frame::Bad {
                bytes,
                line,
                reason,
                continues,
            } => {
                let bytes = batch.push_bytes(bytes);
                batch.items.push(BatchItem::Bad {
                    bytes,
                    line,
                    what: reason.as_str().into(),
                    end: !continues,
                });
            }
            Frame::BadMore { bytes, last } => {
                let bytes = batch.push_bytes(bytes);
                batch.items.push(BatchItem::BadMore { bytes, last });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

    /// A reader that is always ahead (a file in the page cache) never lets the chunk queue run
    /// dry: batches must still be handed on by size, or the whole input piles up in one.
    #[test]
    fn batches_are_handed_on_by_size_when_input_never_idles() {
        use std::sync::mpsc::sync_channel;
        let record = r#"{"eventVersion":"1.08","eventName":"GetObject","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}"#;
        let (chunk_tx, chunk_rx) = sync_channel(1000);
        let (recycle_tx, _recycle_rx) = sync_channel(1000);
        let (batch_tx, batch_rx) = sync_channel(1000);
        let (_free_tx, free_rx) = sync_channel(1);
        chunk_tx.send(Chunk::Start(0)).unwrap();
        let mut sent = 0;
        for _ in 0..200 {
            let mut buf = vec![0; HEADROOM];
            while buf.len() < HEADROOM + 16 * 1024 {
                buf.extend_from_slice(record.as_bytes());
                buf.push(b'\n');
                sent += 1;
            }
            chunk_tx.send(Chunk::Data(buf)).unwrap();
        }
        chunk_tx.send(Chunk::End).unwrap();
        drop(chunk_tx);
        decode_stage(chunk_rx, recycle_tx, batch_tx, free_rx, 1 << 20);
        let batches: Vec<Batch> = batch_rx.try_iter().collect();
        assert!(batches.len() >= 10, "{} batches for 3 MiB", batches.len());
        let mut records = 0;
        for b in &batches {
            assert!(b.len() < BATCH_BYTES + 20 * 1024, "a batch of {} bytes", b.len());
            records += b
                .items
                .iter()
                .filter(|i| matches!(i, BatchItem::Record { .. }))
                .count();
        }
        assert_eq!(records, sent);
    }

    #[test]
    fn a_record_crosses_as_places_and_comes_back_equal() {
        let text = r#"{"eventName":"Assume\u0052ole","userIdentity":{"type":"IAMUser","arn":"arn:x","accountId":123},"eventTime":null}"#;
        let ev = decode(text).unwrap();
        let mut b = Batch::default();
        b.push_record(text, text.len() - 1, &ev);
        let BatchItem::Record { text: r, strs, .. } = &b.items[0] else {
            panic!()
        };
        let (back_text, back) = b.record(r, *strs).unwrap();
        assert_eq!(back_text, text);
        let (mut a, mut z) = (Vec::new(), Vec::new());
        ev.each_str(&mut |s| a.push(s.0.clone()));
        back.each_str(&mut |s| z.push(s.0.clone()));
        assert_eq!(a, z);
        assert_eq!(back.event_name.get(), Some("AssumeRole"));
        assert_eq!(back.user_identity.account_id.get(), Some("123"));
    }
}
