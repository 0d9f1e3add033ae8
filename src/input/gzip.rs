//! gzip input inflated straight into the pipeline's chunk buffers.
//!
//! `flate2`'s `MultiGzDecoder` is a `Read`: safe Rust can only read into initialised memory, so
//! every chunk buffer had to be zeroed before each read, a cost as large as the inflating it
//! preceded (22% of a backfill's instructions). `Decompress::decompress_vec` writes into a
//! vector's spare capacity instead, and zlib-rs checks each member's CRC and length itself.
//!
//! Members back to back (a Firehose object, `cat a.gz b.gz`) are read one after another, as
//! `gzip -dc` and `MultiGzDecoder` read them. A small file (an S3 trail file is a few kilobytes of
//! gzip) comes out as one chunk, so the framer sees its one long line whole and copies nothing.

use super::{Chunk, CHUNK, HEADROOM, STOP_READING};
use flate2::{Decompress, FlushDecompress, Status};
use std::cell::Cell;
use std::io::{self, Read};
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;

/// Compressed bytes read at a time.
const INPUT: usize = 64 * 1024;

/// Inflates `raw` (gzip, its first bytes in `head`) into chunks sent on `tx`. Like
/// [`super::pump`]: `Ok(false)` when the receiver is gone or shutdown stopped the reading.
/// `waits`: a read may wait for a writer (a pipe), so what is inflated goes on before reading
/// more; a file's chunks are filled, and its end found before its last chunk goes.
pub(super) fn pump(
    head: Vec<u8>,
    raw: Box<dyn Read>,
    tx: &SyncSender<Chunk>,
    spare: &dyn Fn() -> Option<Vec<u8>>,
    stoppable: bool,
    waits: bool,
) -> io::Result<bool> {
    let mut input = Input::new(head, raw);
    let pumped = pump_members(&mut input, tx, spare, stoppable, waits);
    input.give_back();
    pumped
}

fn pump_members(
    input: &mut Input,
    tx: &SyncSender<Chunk>,
    spare: &dyn Fn() -> Option<Vec<u8>>,
    stoppable: bool,
    waits: bool,
) -> io::Result<bool> {
    let mut member = Member::new();
    loop {
        if stoppable && STOP_READING.load(Ordering::Relaxed) {
            return Ok(false); // what was read is handed on; nothing more is read
        }
        let mut buf = spare().unwrap_or_default();
        // The headroom only needs to exist (the framer writes into it before reading it): a
        // recycled buffer is only cut down to it, a new one zeroed once.
        buf.resize(HEADROOM, 0);
        // Inflating fills the capacity: a buffer the framer grew for a long record is cut back,
        // so a chunk stays within its bound.
        buf.shrink_to(HEADROOM + CHUNK);
        buf.reserve_exact((HEADROOM + CHUNK).saturating_sub(buf.len()));
        let filled = member.fill(input, &mut buf, waits);
        // What inflated before an error goes on first: a cut file's records up to the cut.
        if buf.len() > HEADROOM && tx.send(Chunk::Data(buf)).is_err() {
            return Ok(false);
        }
        if filled? {
            return Ok(true);
        }
    }
}

thread_local! {
    /// The compressed-input buffer, kept for this thread's next file: zeroed once, not once per
    /// file (a trail file is a few kilobytes; the buffer is 64 KiB).
    static INPUT_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Compressed input, read a buffer at a time.
struct Input {
    raw: Box<dyn Read>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Input {
    fn new(head: Vec<u8>, raw: Box<dyn Read>) -> Self {
        let mut buf = INPUT_BUFFER.take();
        buf.resize(INPUT.max(head.len()), 0);
        buf[..head.len()].copy_from_slice(&head);
        Input {
            raw,
            buf,
            start: 0,
            end: head.len(),
        }
    }

    /// What is buffered, reading more when nothing is; empty at the end of input.
    fn fill(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            self.start = 0;
            self.end = super::read_retrying(&mut self.raw, &mut self.buf)?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    fn buffered(&self) -> bool {
        self.start < self.end
    }

    fn give_back(&mut self) {
        INPUT_BUFFER.set(std::mem::take(&mut self.buf));
    }
}

/// The member being inflated, if one has begun.
struct Member {
    /// Made when a member's first bytes arrive: most files hold one member, and another
    /// inflater after it would cost its allocation and set-up for nothing.
    inflater: Option<Decompress>,
}

impl Member {
    fn new() -> Self {
        Member { inflater: None }
    }

    /// Inflates into `buf` until it is full, the input ends (`Ok(true)`), or (with `waits`) the
    /// input has nothing more buffered.
    fn fill(&mut self, input: &mut Input, buf: &mut Vec<u8>, waits: bool) -> io::Result<bool> {
        while buf.len() < buf.capacity() {
            if waits && !input.buffered() && buf.len() > HEADROOM {
                break;
            }
            let avail = input.fill()?;
            if avail.is_empty() {
                return match self.inflater {
                    Some(_) => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "gzip stream ended early",
                    )),
                    None => Ok(true),
                };
            }
            let inflater = self.inflater.get_or_insert_with(|| Decompress::new_gzip(15));
            let (read, written) = (inflater.total_in(), inflater.total_out());
            let status = inflater
                .decompress_vec(avail, buf, FlushDecompress::None)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let used = (inflater.total_in() - read) as usize;
            let progress = used > 0 || inflater.total_out() > written;
            input.consume(used);
            match status {
                // The member's trailer was read and checked; another may follow.
                Status::StreamEnd => self.inflater = None,
                // No progress with input there and room left: not what an inflater does; never
                // spin on it.
                Status::Ok | Status::BufError if !progress => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "gzip stream stalled"));
                }
                Status::Ok | Status::BufError => {}
            }
        }
        Ok(false)
    }
}

/// Why [`inflate_all`] stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// Not gzip, or a member is broken or cut short.
    Broken,
    /// More than the limit.
    TooLarge,
}

/// How a gzip stream begins: what input is recognised as gzip by, whatever its name.
pub(crate) const MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Inflates the gzip members of `gz`, back to back, into `out` (cleared first), at most `max`
/// bytes: what a CloudWatch Logs payload holds. Straight into `out`'s spare capacity, as the
/// reader does, rather than through a `Read` that zeroes what it reads into.
pub(crate) fn inflate_all(mut gz: &[u8], max: usize, out: &mut Vec<u8>) -> Result<(), InflateError> {
    out.clear();
    while !gz.is_empty() {
        let mut inflater = Decompress::new_gzip(15);
        loop {
            if out.len() == out.capacity() {
                if out.len() > max {
                    return Err(InflateError::TooLarge);
                }
                // One byte past the limit tells "exactly max" from "more".
                let room = (out.len().max(gz.len() * 4).max(4096)).min(max + 1 - out.len());
                out.reserve_exact(room);
            }
            let (read, written) = (inflater.total_in(), inflater.total_out());
            let status = inflater
                .decompress_vec(gz, out, FlushDecompress::None)
                .map_err(|_| InflateError::Broken)?;
            let used = (inflater.total_in() - read) as usize;
            gz = &gz[used..];
            match status {
                Status::StreamEnd => break,
                // Room to write and nothing done: the member is cut short (or the inflater
                // stalled, which must not spin).
                _ if used == 0 && inflater.total_out() == written && out.len() < out.capacity() => {
                    return Err(InflateError::Broken)
                }
                _ => {}
            }
        }
        if out.len() > max {
            return Err(InflateError::TooLarge);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;
    use std::sync::mpsc::sync_channel;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Everything `pump` hands on, and how it ended.
    fn inflate(bytes: Vec<u8>) -> (Vec<u8>, io::Result<bool>) {
        let (tx, rx) = sync_channel(1 << 16);
        let head = bytes[..2].to_vec();
        let rest: Box<dyn Read> = Box::new(io::Cursor::new(bytes[2..].to_vec()));
        let end = pump(head, rest, &tx, &|| None, false, false);
        drop(tx);
        let mut out = Vec::new();
        for chunk in rx {
            if let Chunk::Data(b) = chunk {
                out.extend_from_slice(&b[HEADROOM..]);
            }
        }
        (out, end)
    }

    #[test]
    fn members_back_to_back_inflate_as_one_stream() {
        let big: Vec<u8> = (0..600_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let mut both = gzip(b"first\n");
        both.extend(gzip(&big));
        both.extend(gzip(b""));
        both.extend(gzip(b"last\n"));
        let (out, end) = inflate(both);
        assert!(end.unwrap());
        let mut want = b"first\n".to_vec();
        want.extend(&big);
        want.extend(b"last\n");
        assert_eq!(out, want);
    }

    #[test]
    fn a_cut_or_corrupt_stream_is_an_error_after_what_inflated() {
        let whole = gzip(&b"0123456789\n".repeat(10_000));
        let (out, end) = inflate(whole[..whole.len() / 2].to_vec());
        assert_eq!(end.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert!(!out.is_empty() && b"0123456789\n".repeat(10_000).starts_with(&out));

        let mut bad = whole.clone();
        let n = bad.len();
        bad[n - 6] ^= 0xff; // the CRC
        assert_eq!(inflate(bad).1.unwrap_err().kind(), io::ErrorKind::InvalidData);

        let mut trailing = whole;
        trailing.extend(b"not gzip");
        assert_eq!(
            inflate(trailing).1.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
