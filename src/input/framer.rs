//! Cuts one input's bytes into candidate records, each with the line it started on.
//!
//! The fast path is one compact JSON value per line: a line that starts with `{` or `[` and ends
//! with `}` or `]` is handed on as it is, and the decoder validates it (so the common case costs
//! one `memchr` for the newline and no scan of its own). Everything else is rarer and slower:
//! `aws logs tail` prefixes, ANSI colour, and values pretty-printed over many lines, which are
//! gathered with a depth scan and joined onto one line.
//!
//! A multi-line value is cut short (reported as truncated) when a line that can only start a new
//! record arrives first: one whose first byte is `{`, `[` or a timestamp, at column 0. Pretty
//! printers indent nested content, so this keeps one broken record from swallowing the stream.

use super::scan::{minify_into, strip_ansi_into, DepthScan};
use std::ops::Range;

/// Why a stretch of input is not a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadReason {
    /// A line that is not JSON at all, or JSON that is not an object.
    NotJson,
    /// The input ended, or a new record began, before this value closed.
    Truncated,
    /// Longer than `--max-record-bytes`.
    TooLarge,
    /// Text after a complete value on the same line.
    TrailingGarbage,
}

impl BadReason {
    pub fn as_str(self) -> &'static str {
        match self {
            BadReason::NotJson => "not a JSON object",
            BadReason::Truncated => "truncated record",
            BadReason::TooLarge => "record larger than --max-record-bytes",
            BadReason::TrailingGarbage => "unexpected text after the record",
        }
    }
}

/// What the framer hands on.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// One JSON value (not yet validated), on one line.
    Record { bytes: &'a [u8], line: u64 },
    /// Input that is not a record. `continues` when more of it follows as [`Frame::BadMore`].
    Bad {
        bytes: &'a [u8],
        line: u64,
        reason: BadReason,
        continues: bool,
    },
    /// The next piece of an oversized bad record (for `--reject`); `last` ends it.
    BadMore { bytes: &'a [u8], last: bool },
}

/// A value spread over several lines, being gathered.
#[derive(Debug)]
struct Gather {
    text: Vec<u8>,
    scan: DepthScan,
    line: u64,
}

/// An oversized value being skipped: until the end of the line, or until its depth closes.
#[derive(Debug)]
enum Skip {
    Line,
    Value(DepthScan),
}

#[derive(Debug, Clone)]
enum Out {
    Record(Src, u64),
    Bad(Src, u64, BadReason, bool),
    BadMore(Src, bool),
}

#[derive(Debug, Clone)]
enum Src {
    Buf(Range<usize>),
    Scratch(Range<usize>),
    Gathered,
}

/// Frames one input (file or stdin). Feed it bytes, then drain [`Framer::next`].
pub struct Framer {
    buf: Vec<u8>,
    pos: usize,
    /// `buf[pos..searched]` holds no newline: an incomplete line is not scanned again with every
    /// chunk (a long record arriving in small reads would otherwise cost quadratic time).
    searched: usize,
    line: u64,
    eof: bool,
    max_record: usize,
    scratch: Vec<u8>,
    gather: Option<Gather>,
    gathered: Vec<u8>,
    skip: Option<Skip>,
    queued: Option<Out>,
}

impl Framer {
    pub fn new(max_record: usize) -> Self {
        Framer {
            buf: Vec::with_capacity(1 << 18),
            pos: 0,
            searched: 0,
            line: 1,
            eof: false,
            max_record: max_record.max(2),
            scratch: Vec::new(),
            gather: None,
            gathered: Vec::new(),
            skip: None,
            queued: None,
        }
    }

    /// Starts a new input: a record is never glued across two files.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.searched = 0;
        self.line = 1;
        self.eof = false;
        self.gather = None;
        self.skip = None;
        self.queued = None;
    }

    /// Appends input. Frames returned earlier must be dropped by now.
    pub fn feed(&mut self, data: &[u8]) {
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos >= self.buf.len() / 2) {
            self.buf.drain(..self.pos);
            self.searched = self.searched.saturating_sub(self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Appends a chunk whose data starts at `start`, taking the chunk itself as the buffer when
    /// the unconsumed bytes fit in the room before `start` (then only they are copied, not the
    /// chunk). Returns a buffer for the reader to reuse.
    pub fn feed_owned(&mut self, mut chunk: Vec<u8>, start: usize) -> Vec<u8> {
        let pending = self.buf.len() - self.pos;
        if pending > start || start > chunk.len() {
            self.feed(chunk.get(start..).unwrap_or_default());
            return chunk;
        }
        let from = start - pending;
        chunk[from..start].copy_from_slice(&self.buf[self.pos..]);
        let scanned = self.searched.saturating_sub(self.pos);
        let old = std::mem::replace(&mut self.buf, chunk);
        self.pos = from;
        self.searched = from + scanned;
        old
    }

    /// Marks the end of this input: what is left is framed as well as it can be.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// The next frame, or `None` when more input is needed (or, after `finish`, when done).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Frame<'_>> {
        let out = self.step()?;
        Some(self.resolve(out))
    }

    fn resolve(&self, out: Out) -> Frame<'_> {
        let get = |src: &Src| -> &[u8] {
            match src {
                Src::Buf(r) => &self.buf[r.clone()],
                Src::Scratch(r) => &self.scratch[r.clone()],
                Src::Gathered => &self.gathered,
            }
        };
        match out {
            Out::Record(src, line) => Frame::Record {
                bytes: get(&src),
                line,
            },
            Out::Bad(src, line, reason, continues) => Frame::Bad {
                bytes: get(&src),
                line,
                reason,
                continues,
            },
            Out::BadMore(src, last) => Frame::BadMore {
                bytes: get(&src),
                last,
            },
        }
    }

    fn step(&mut self) -> Option<Out> {
        if let Some(out) = self.queued.take() {
            return Some(out);
        }
        loop {
            if self.pos >= self.buf.len() {
                if self.eof {
                    if let Some(g) = self.gather.take() {
                        self.gathered = g.text;
                        return Some(Out::Bad(Src::Gathered, g.line, BadReason::Truncated, false));
                    }
                    if self.skip.take().is_some() {
                        return Some(Out::BadMore(Src::Buf(self.pos..self.pos), true));
                    }
                }
                return None;
            }
            let from = self.searched.max(self.pos);
            let (end, next) = match memchr::memchr(b'\n', &self.buf[from..]) {
                Some(i) => (from + i, from + i + 1),
                None if self.eof => (self.buf.len(), self.buf.len()),
                None if self.skip.is_some() => {
                    // Still skipping an oversized record: pass on what is here, hold nothing.
                    let r = self.pos..self.buf.len();
                    if let Some(Skip::Value(scan)) = &mut self.skip {
                        if scan.feed(&self.buf[r.clone()]).is_some() {
                            // The value closed: the rest of its line goes with it.
                            self.skip = Some(Skip::Line);
                        }
                    }
                    self.pos = self.buf.len();
                    return Some(Out::BadMore(Src::Buf(r), false));
                }
                None => {
                    // An incomplete line: wait for more, unless it is already too long.
                    self.searched = self.buf.len();
                    let held = self.buf.len() - self.pos + self.gather.as_ref().map_or(0, |g| g.text.len());
                    if held <= self.max_record {
                        return None;
                    }
                    let r = self.pos..self.buf.len();
                    self.pos = self.buf.len();
                    return Some(self.start_skip_mid_line(r));
                }
            };
            let line_no = self.line;
            let mut start = self.pos;
            // A byte order mark starts a file, and files are concatenated (`cat *.json`): one at
            // the start of any line is skipped.
            if self.buf[start..end].starts_with(b"\xEF\xBB\xBF") {
                start += 3;
            }
            let mut stop = end;
            if stop > start && self.buf[stop - 1] == b'\r' {
                stop -= 1;
            }

            if let Some(skip) = &mut self.skip {
                let done = match skip {
                    Skip::Line => true,
                    Skip::Value(scan) => scan.feed(&self.buf[start..stop]).is_some(),
                };
                // The record's own line breaks go to --reject with it, all but the last.
                let r = if done { self.pos..end } else { self.pos..next };
                self.advance(next);
                if done {
                    self.skip = None;
                }
                return Some(Out::BadMore(Src::Buf(r), done));
            }

            if self.gather.is_none() && end - self.pos > self.max_record {
                // A whole line too long, arrived in one read (a file's reads are large).
                let out = Out::Bad(Src::Buf(self.pos..end), line_no, BadReason::TooLarge, false);
                self.advance(next);
                return Some(out);
            }

            // Strip colour codes first; they only ever appear outside records' strings.
            let has_esc =
                self.buf.get(start) != Some(&b'{') && memchr::memchr(0x1b, &self.buf[start..stop]).is_some();
            let line: &[u8] = if has_esc {
                self.scratch.clear();
                strip_ansi_into(&self.buf[start..stop], &mut self.scratch);
                &self.scratch
            } else {
                &self.buf[start..stop]
            };
            let src_of = |r: Range<usize>| {
                if has_esc {
                    Src::Scratch(r)
                } else {
                    Src::Buf(r)
                }
            };
            let base = if has_esc { 0 } else { start };

            if let Some(g) = &mut self.gather {
                if starts_new_record(line) {
                    // The value being gathered never closed: report it, then read this line afresh.
                    let g = self.gather.take().expect("checked");
                    self.gathered = g.text;
                    return Some(Out::Bad(Src::Gathered, g.line, BadReason::Truncated, false));
                }
                let from = g.text.len();
                g.text.extend_from_slice(line);
                g.text.push(b'\n');
                let closed = g.scan.feed(&g.text[from..]);
                let in_string = g.scan.in_string;
                let too_large = g.text.len() > self.max_record;
                self.advance(next);
                if let Some(off) = closed {
                    let g = self.gather.take().expect("checked");
                    let close = from + off;
                    if close > self.max_record {
                        // Closed on the line that took it over the limit.
                        self.gathered = g.text;
                        self.gathered.pop();
                        return Some(Out::Bad(Src::Gathered, g.line, BadReason::TooLarge, false));
                    }
                    self.gathered.clear();
                    minify_into(&g.text[..close], &mut self.gathered);
                    self.queue_junk(&g.text[close..], line_no);
                    return Some(Out::Record(Src::Gathered, g.line));
                }
                if in_string {
                    // A raw newline cannot be inside a JSON string: the record was cut here.
                    let g = self.gather.take().expect("checked");
                    self.gathered = g.text;
                    self.gathered.pop();
                    return Some(Out::Bad(Src::Gathered, g.line, BadReason::Truncated, false));
                }
                if too_large {
                    let g = self.gather.take().expect("checked");
                    self.gathered = g.text;
                    self.skip = Some(Skip::Value(g.scan));
                    return Some(Out::Bad(Src::Gathered, g.line, BadReason::TooLarge, true));
                }
                continue;
            }

            // Between records.
            let Some(first) = line.iter().position(|c| !c.is_ascii_whitespace()) else {
                self.advance(next);
                continue; // empty line
            };
            let body_start = match line[first] {
                b'{' | b'[' => Some(first),
                c if c.is_ascii_digit() && looks_like_timestamp(&line[first..]) => {
                    match memchr::memchr(b'{', &line[first..]) {
                        Some(i) => Some(first + i),
                        None if line.len() <= 1024 => {
                            // `aws logs tail --format json` header: the record follows on the next lines.
                            self.advance(next);
                            continue;
                        }
                        None => None,
                    }
                }
                _ => None,
            };
            let Some(b) = body_start else {
                let r = base..base + line.len();
                let out = Out::Bad(src_of(r), line_no, BadReason::NotJson, false);
                self.advance(next);
                return Some(out);
            };
            let body = trim_end(&line[b..]);
            if matches!(body.last(), Some(b'}' | b']')) {
                let r = base + b..base + b + body.len();
                let out = Out::Record(src_of(r), line_no);
                self.advance(next);
                return Some(out);
            }
            // The value goes on over the next lines (pretty-printed), or was cut.
            let mut g = Gather {
                text: Vec::with_capacity(4096),
                scan: DepthScan::default(),
                line: line_no,
            };
            g.text.extend_from_slice(body);
            g.text.push(b'\n');
            let closed = g.scan.feed(&g.text);
            let in_string = g.scan.in_string;
            self.advance(next);
            if let Some(close) = closed {
                // Closed on this line but followed by junk (the fast path saw no closer at the end).
                self.gathered.clear();
                self.gathered.extend_from_slice(&g.text[..close]);
                self.queue_junk(&g.text[close..], line_no);
                return Some(Out::Record(Src::Gathered, line_no));
            }
            if in_string {
                self.gathered = g.text;
                self.gathered.pop();
                return Some(Out::Bad(Src::Gathered, line_no, BadReason::Truncated, false));
            }
            self.gather = Some(g);
        }
    }

    /// Text after a complete value on its line is reported after the value itself.
    fn queue_junk(&mut self, rest: &[u8], line: u64) {
        let junk = trim_end(rest);
        if !is_blank(junk) {
            self.scratch.clear();
            self.scratch.extend_from_slice(junk.trim_ascii_start());
            self.queued = Some(Out::Bad(
                Src::Scratch(0..self.scratch.len()),
                line,
                BadReason::TrailingGarbage,
                false,
            ));
        }
    }

    fn advance(&mut self, next: usize) {
        if next > self.pos && self.buf[next - 1] == b'\n' {
            self.line += 1;
        }
        self.pos = next;
    }

    /// An over-long line with no end in sight: report what we have, skip the rest of the line.
    fn start_skip_mid_line(&mut self, r: Range<usize>) -> Out {
        if let Some(g) = self.gather.take() {
            // Part of a multi-line value: hand on what was gathered, skip by depth.
            self.gathered = g.text;
            self.gathered.extend_from_slice(&self.buf[r.clone()]);
            let mut scan = g.scan;
            if scan.feed(&self.buf[r]).is_none() {
                self.skip = Some(Skip::Value(scan));
            }
            return Out::Bad(Src::Gathered, g.line, BadReason::TooLarge, self.skip.is_some());
        }
        self.skip = Some(Skip::Line);
        Out::Bad(Src::Buf(r), self.line, BadReason::TooLarge, true)
    }
}

/// A line that can only be the start of a new record, never the inside of an indented one.
fn starts_new_record(line: &[u8]) -> bool {
    match line.first() {
        Some(b'{' | b'[') => true,
        Some(c) if c.is_ascii_digit() => looks_like_timestamp(line),
        _ => false,
    }
}

/// `YYYY-MM-DD…`: the start of an `aws logs tail` prefix.
fn looks_like_timestamp(b: &[u8]) -> bool {
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn trim_end(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &b[..n]
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames `input` fed in chunks of `chunk` bytes (alternately copied and handed over with a
    /// little headroom); returns (kind, line, text) triples.
    fn frames(input: &[u8], chunk: usize, max: usize) -> Vec<(String, u64, String)> {
        let mut f = Framer::new(max);
        let mut out = Vec::new();
        let mut collect = |f: &mut Framer| {
            while let Some(fr) = f.next() {
                out.push(match fr {
                    Frame::Record { bytes, line } => {
                        ("rec".into(), line, String::from_utf8_lossy(bytes).into())
                    }
                    Frame::Bad {
                        bytes, line, reason, ..
                    } => (
                        format!("bad:{reason:?}"),
                        line,
                        String::from_utf8_lossy(bytes).into(),
                    ),
                    Frame::BadMore { bytes, last } => {
                        (format!("more:{last}"), 0, String::from_utf8_lossy(bytes).into())
                    }
                });
            }
        };
        for (i, c) in input.chunks(chunk.max(1)).enumerate() {
            if i % 2 == 0 {
                f.feed(c);
            } else {
                let mut owned = vec![0u8; 8];
                owned.extend_from_slice(c);
                f.feed_owned(owned, 8);
            }
            collect(&mut f);
        }
        f.finish();
        collect(&mut f);
        out
    }

    fn recs(v: &[(String, u64, String)]) -> Vec<(u64, &str)> {
        v.iter()
            .filter(|x| x.0 == "rec")
            .map(|x| (x.1, x.2.as_str()))
            .collect()
    }

    #[test]
    fn lines_crlf_bom_and_blank_lines() {
        for chunk in [1, 3, 1000] {
            let v = frames(
                b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n  \n{\"b\":2}\r\n{\"c\":3}",
                chunk,
                1 << 20,
            );
            assert_eq!(
                recs(&v),
                [(1, "{\"a\":1}"), (4, "{\"b\":2}"), (5, "{\"c\":3}")],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn logs_tail_prefixes_and_colour() {
        let input = b"2024-05-01T00:00:00.123000+00:00 123_CloudTrail_us-east-1 {\"a\":1}\n\
            2024-05-01T00:00:00 {\"b\":2}\n\
            \x1b[32m2024-05-01T00:00:00\x1b[0m \x1b[36ms\x1b[0m {\"c\":3}\n";
        let v = frames(input, 7, 1 << 20);
        assert_eq!(recs(&v), [(1, "{\"a\":1}"), (2, "{\"b\":2}"), (3, "{\"c\":3}")]);
    }

    #[test]
    fn pretty_records_after_headers_are_joined() {
        let input = b"2024-05-01T00:00:00.1+00:00 stream\n{\n    \"a\": \"x y\",\n    \"b\": [\n        1\n    ]\n}\n\
            2024-05-01T00:00:01.1+00:00 stream\n{\n  \"c\": {}\n}\n";
        let v = frames(input, 5, 1 << 20);
        assert_eq!(recs(&v), [(2, r#"{"a":"x y","b":[1]}"#), (9, r#"{"c":{}}"#)]);
    }

    #[test]
    fn a_cut_line_does_not_swallow_the_next() {
        let v = frames(
            b"{\"a\":1}\n{\"b\":{\"c\":1,\n{\"d\":4}\n{\"e\":\"cut\n{\"f\":6}\n",
            4,
            1 << 20,
        );
        assert_eq!(recs(&v), [(1, "{\"a\":1}"), (3, "{\"d\":4}"), (5, "{\"f\":6}")]);
        let bad: Vec<_> = v
            .iter()
            .filter(|x| x.0.starts_with("bad"))
            .map(|x| (x.0.as_str(), x.1))
            .collect();
        assert_eq!(bad, [("bad:Truncated", 2), ("bad:Truncated", 4)]);
    }

    #[test]
    fn truncated_last_record_and_junk_lines() {
        let v = frames(b"hello\n42\n{\"a\":1}\n{\"b\":", 3, 1 << 20);
        assert_eq!(recs(&v), [(3, "{\"a\":1}")]);
        let bad: Vec<_> = v
            .iter()
            .filter(|x| x.0.starts_with("bad"))
            .map(|x| (x.0.as_str(), x.1))
            .collect();
        assert_eq!(
            bad,
            [("bad:NotJson", 1), ("bad:NotJson", 2), ("bad:Truncated", 4)]
        );
    }

    #[test]
    fn oversized_lines_are_skipped_and_streamed_on() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(100));
        let input = format!("{{\"a\":1}}\n{big}\n{{\"b\":2}}\n");
        let v = frames(input.as_bytes(), 16, 40);
        assert_eq!(recs(&v), [(1, "{\"a\":1}"), (3, "{\"b\":2}")]);
        let rejected: String = v
            .iter()
            .filter(|x| !x.0.starts_with("rec"))
            .map(|x| x.2.as_str())
            .collect();
        assert_eq!(rejected.trim_end(), big);
        assert!(v.iter().any(|x| x.0 == "more:true"));
    }

    #[test]
    fn oversized_pretty_record_is_skipped_by_depth() {
        let input = "{\n \"a\": [\n  1,\n  2,\n  3,\n  4\n ]\n}\n{\"b\":2}\n";
        let v = frames(input.as_bytes(), 1000, 12);
        assert_eq!(recs(&v), [(9, "{\"b\":2}")]);
        assert_eq!(v[0].0, "bad:TooLarge");
    }
}
