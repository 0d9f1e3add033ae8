//! `--threads`: a decoded batch of records, as it crosses from a decoding thread to the engine.
//!
//! A batch holds the bytes of each record and where each of its decoded strings lies (in those
//! bytes, or in a small arena for the strings that held escapes). The engine rebuilds the
//! borrowed event from those places without parsing again. Batches are recycled, so the steady
//! state allocates nothing. The threads around them are in [`super::parallel`].

use crate::event::{Event, Str, StrFields};
use std::borrow::Cow;
use std::ops::Range;

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
    /// A value read and deliberately left out (a subscription's `CONTROL_MESSAGE`).
    Skipped,
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
    /// Whether the batch's buffers grew well past `usual` (doubling takes a usual batch to twice
    /// it; a megabyte record takes it further). Such a batch is dropped rather than pooled, so
    /// memory settles back after the record.
    pub(crate) fn oversized(&self, usual: usize) -> bool {
        self.text.capacity() + self.buf.capacity() + self.arena.capacity() > 4 * usual
    }

    pub(crate) fn clear(&mut self) {
        self.bytes_in = 0;
        self.text.clear();
        self.buf.clear();
        self.arena.clear();
        self.strs.clear();
        self.items.clear();
    }

    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) -> Range<u32> {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(bytes);
        start..self.buf.len() as u32
    }

    /// Adds a decoded record: its bytes, and the place of every string field.
    pub(crate) fn push_record(&mut self, text: &str, splice: usize, event: &Event<'_>) {
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
    /// The bytes of a record's text range (empty if the range is not in this batch).
    pub fn raw(&self, text: &Range<u32>) -> &[u8] {
        self.text
            .as_bytes()
            .get(text.start as usize..text.end as usize)
            .unwrap_or(&[])
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

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
