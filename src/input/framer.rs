//! Cuts one input's bytes into candidate records, each with the line it started on.
//!
//! The fast path is one compact JSON value per line: a line that starts with `{` or `[` and ends
//! with `}` or `]` is handed on as it is, and the decoder validates it (so the common case costs
//! one `memchr` for the newline and no scan of its own). Everything else is rarer and slower:
//! `aws logs tail` prefixes, ANSI colour, and values pretty-printed over many lines, which are
//! gathered with a depth scan and joined onto one line.
//!
//! A multi-line value is cut short (reported as truncated) when a line that can only start a new
//! record arrives first: one whose first byte is `{`, `[` or a timestamp, at column 0, where JSON
//! allows no value (after a complete member, say). Most pretty printers indent nested content, so
//! this keeps one broken record from swallowing the stream.
//!
//! But valid JSON is never cut: `json.dumps(obj, indent=0)` puts every object in an array at
//! column 0. A `{` or `[` at column 0 where a value may stand (after `[`, `:`, or `,` in an array)
//! is read as part of the value, and the value is checked whole when it closes. If it never closes
//! validly, it is cut at the first such line after all, and what follows is read again from there
//! (see `Framer::fall_back`).

use super::envelope::subscription::{PREFIX, SEAM};
use super::scan::{minify_into, strip_ansi_into, DepthScan};
use std::ops::Range;

/// A line of subscription payloads longer than this (or than half the record limit) is handed on
/// a payload at a time: a Firehose object's line is tens of megabytes, one payload a few hundred
/// kilobytes.
const SPLIT_PAYLOADS_AFTER: usize = 1 << 20;

/// How many values cut one inside the other are read again before the rest of the stretch is
/// read the strict way; see `Framer::fall_back`.
const NESTED_CUTS: u32 = 8;

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
    /// The reason as messages say it.
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
    Record {
        /// The value, minified when it came over several lines.
        bytes: &'a [u8],
        /// The input line it started on, from 1.
        line: u64,
    },
    /// Input that is not a record. `continues` when more of it follows as [`Frame::BadMore`].
    Bad {
        /// The bad input (its first piece, when `continues`).
        bytes: &'a [u8],
        /// The input line it started on, from 1.
        line: u64,
        /// Why it is not a record.
        reason: BadReason,
        /// More of it follows.
        continues: bool,
    },
    /// The next piece of an oversized bad record (for `--reject`); `last` ends it.
    BadMore {
        /// The piece.
        bytes: &'a [u8],
        /// The record's last piece.
        last: bool,
    },
}

/// A value spread over several lines, being gathered.
#[derive(Debug)]
struct Gather {
    text: Vec<u8>,
    scan: DepthScan,
    line: u64,
    /// The first line read into the value although it could also start a new record: its offset
    /// in `text` and its number. Where the value is cut if it turns out not to be JSON.
    resync: Option<(usize, u64)>,
}

/// An oversized value being skipped: until the end of the line, or until its depth closes.
#[derive(Debug)]
enum Skip {
    Line,
    Value(DepthScan),
    /// A CloudWatch Logs payload too long, among others on its line: until the next one starts.
    Payload,
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
    /// `buf[pos..seam_searched]` holds no seam between subscription payloads (see
    /// `Framer::payload_end`), for the same reason. Only ever a hint: stale, it costs a search
    /// or a split, never a record.
    seam_searched: usize,
    line: u64,
    eof: bool,
    max_record: usize,
    scratch: Vec<u8>,
    gather: Option<Gather>,
    gathered: Vec<u8>,
    skip: Option<Skip>,
    queued: Option<Out>,
    /// Lines before this one were read once more after a value was cut at its resynchronisation
    /// point (0: none yet; `u64::MAX`: to the end of the input).
    reread_until: u64,
    /// Values starting before this line are cut at every line that could start a record, as
    /// if no value could span one: see `Framer::fall_back`.
    strict_until: u64,
    /// Values cut one inside the other in the stretch being read again.
    nested_cuts: u32,
    /// Bytes put back to be read again (for tests: reading stays linear).
    pub reread_bytes: u64,
}

impl Framer {
    /// A framer that refuses records longer than `max_record` bytes.
    pub fn new(max_record: usize) -> Self {
        Framer {
            buf: Vec::with_capacity(1 << 18),
            pos: 0,
            searched: 0,
            seam_searched: 0,
            line: 1,
            eof: false,
            max_record: max_record.max(2),
            scratch: Vec::new(),
            gather: None,
            gathered: Vec::new(),
            skip: None,
            queued: None,
            reread_until: 0,
            strict_until: 0,
            nested_cuts: 0,
            reread_bytes: 0,
        }
    }

    /// Starts a new input: a record is never glued across two files.
    pub fn reset(&mut self) {
        // Everything read so far counts as consumed. The buffer keeps its length: it goes back
        // to the reader, and a buffer cut to nothing would have to be zeroed again (safe Rust
        // reads only into initialised memory).
        self.pos = self.buf.len();
        self.searched = self.pos;
        self.seam_searched = self.pos;
        self.line = 1;
        self.eof = false;
        self.gather = None;
        self.skip = None;
        self.queued = None;
        self.reread_until = 0;
        self.strict_until = 0;
        self.nested_cuts = 0;
    }

    /// Appends input. Frames returned earlier must be dropped by now.
    pub fn feed(&mut self, data: &[u8]) {
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos >= self.buf.len() / 2) {
            self.buf.drain(..self.pos);
            self.searched = self.searched.saturating_sub(self.pos);
            self.seam_searched = self.seam_searched.saturating_sub(self.pos);
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
        let seam_scanned = self.seam_searched.saturating_sub(self.pos);
        let old = std::mem::replace(&mut self.buf, chunk);
        self.pos = from;
        self.searched = from + scanned;
        self.seam_searched = from + seam_scanned;
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
                        if g.resync.is_some() {
                            return Some(self.fall_back(g));
                        }
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
                None if matches!(self.skip, Some(Skip::Payload)) => return self.skip_payload(self.buf.len()),
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
                    if self.splits_payloads() {
                        let seam_from = self.seam_searched.saturating_sub(SEAM.len() - 1).max(self.pos);
                        let payload_end = self.payload_end(seam_from);
                        self.seam_searched = payload_end.unwrap_or(self.buf.len());
                        if let Some(end) = payload_end {
                            return Some(self.payload(end, self.line));
                        }
                    }
                    let held = self.buf.len() - self.pos + self.gather.as_ref().map_or(0, |g| g.text.len());
                    // A payload as long as the limit is told from a longer one by the next
                    // payload's start, the seam's bytes after it.
                    let seam = if self.on_payloads() { SEAM.len() - 1 } else { 0 };
                    if held <= self.max_record + seam {
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

            if matches!(self.skip, Some(Skip::Payload)) {
                if let Some(out) = self.skip_payload(end) {
                    return Some(out);
                }
                self.skip = Some(Skip::Line); // no other payload on the line: the line ends it
            }
            if let Some(skip) = &mut self.skip {
                let done = match skip {
                    Skip::Payload => unreachable!("handled above"),
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
                // Payloads back to back go on one by one, as while their line was arriving.
                let payload_end = self
                    .splits_payloads()
                    .then(|| self.payload_end(self.pos))
                    .flatten();
                if let Some(cut) = payload_end.filter(|&cut| cut < end) {
                    return Some(self.payload(cut, line_no));
                }
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
                    let may_be_inside = matches!(line[0], b'{' | b'[')
                        && g.scan.value_may_follow()
                        && g.line >= self.strict_until;
                    if !may_be_inside {
                        // The value being gathered never closed: report it, then read this line
                        // afresh.
                        let g = self.gather.take().expect("checked");
                        if g.resync.is_some() {
                            return Some(self.fall_back(g));
                        }
                        self.gathered = g.text;
                        return Some(Out::Bad(Src::Gathered, g.line, BadReason::Truncated, false));
                    }
                    // `indent=0`, or a broken value followed by a record: the whole decides.
                    g.resync.get_or_insert((g.text.len(), line_no));
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
                    if g.resync.is_some() && !is_json(&self.gathered) {
                        return Some(self.fall_back(g));
                    }
                    let rest = off..g.text.len() - 1 - from;
                    self.after_value(rest, !has_esc, start, end, line_no, g.line);
                    return Some(Out::Record(Src::Gathered, g.line));
                }
                if in_string {
                    // A raw newline cannot be inside a JSON string: the record was cut here.
                    let g = self.gather.take().expect("checked");
                    if g.resync.is_some() {
                        return Some(self.fall_back(g));
                    }
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
            let mut scan = DepthScan::default();
            if let Some(close) = scan.feed(body) {
                // Closed before the end of its line (the fast path saw no closer at the end).
                self.gathered.clear();
                self.gathered.extend_from_slice(&body[..close]);
                let rest = b + close..line.len();
                self.advance(next);
                self.after_value(rest, !has_esc, start, end, line_no, line_no);
                return Some(Out::Record(Src::Gathered, line_no));
            }
            let mut g = Gather {
                text: Vec::with_capacity(4096),
                scan,
                line: line_no,
                resync: None,
            };
            g.text.extend_from_slice(body);
            g.text.push(b'\n');
            let in_string = g.scan.in_string;
            self.advance(next);
            if in_string {
                self.gathered = g.text;
                self.gathered.pop();
                return Some(Out::Bad(Src::Gathered, line_no, BadReason::Truncated, false));
            }
            self.gather = Some(g);
        }
    }

    /// What follows a complete value on line `line` (the value began on `began`): `rest`, in the
    /// line's coordinates, which start at `line_start` in `buf` (`in_buf`) or in `scratch` (its
    /// colour codes stripped). Another value is read from there as if it began a line (documents
    /// written back to back, `}{`), without copying, so a line of many values is read once;
    /// anything else is reported after the value itself.
    fn after_value(
        &mut self,
        rest: Range<usize>,
        in_buf: bool,
        line_start: usize,
        line_end: usize,
        line: u64,
        began: u64,
    ) {
        let (from, text) = if in_buf {
            let r = line_start + rest.start..line_start + rest.end;
            (r.start, &self.buf[r])
        } else {
            (rest.start, &self.scratch[rest])
        };
        let lead = text.len() - text.trim_ascii_start().len();
        let junk = from + lead..from + lead + trim_end(&text[lead..]).len();
        match text.get(lead) {
            None => {}
            // The separator after an element of an array that was cut before its end, read again.
            Some(b',') if junk.len() == 1 && began < self.reread_until => {}
            Some(b'{' | b'[') if in_buf => {
                self.pos = junk.start;
                self.searched = line_end;
                self.line = line;
            }
            Some(_) => {
                if in_buf {
                    self.scratch.clear();
                    self.scratch.extend_from_slice(&self.buf[junk.clone()]);
                } else {
                    self.scratch.copy_within(junk.clone(), 0);
                }
                self.scratch.truncate(junk.len());
                self.queued = Some(Out::Bad(
                    Src::Scratch(0..junk.len()),
                    line,
                    BadReason::TrailingGarbage,
                    false,
                ));
            }
        }
    }

    /// A value that read lines which could also start a record (`{` or `[` at column 0 where a
    /// value may stand) did not turn out to be JSON: it is cut at the first of them and reported
    /// as truncated, and everything from that line on is read again.
    ///
    /// Reading again is bounded. A value that began in the stretch being read again and fails
    /// too fails where the first one did: both read the same bytes from the later one's start,
    /// with its brackets innermost. So each such cut is one bracket further in, a broken record
    /// cut a few levels deep costs a few readings, and after [`NESTED_CUTS`] of them the rest of
    /// the stretch is read the strict way (every line that could start a record does): an
    /// input of nothing but `[` lines is not read again once per line.
    fn fall_back(&mut self, g: Gather) -> Out {
        let (at, line) = g.resync.expect("only a value that read such a line falls back");
        let end = if self.eof && self.pos >= self.buf.len() {
            u64::MAX
        } else {
            self.line
        };
        if g.line < self.reread_until {
            self.nested_cuts += 1;
            if self.nested_cuts >= NESTED_CUTS {
                self.strict_until = end;
            }
        } else {
            self.nested_cuts = 0;
        }
        self.reread_until = end;
        self.reread_bytes += (g.text.len() - at) as u64;
        self.put_back(&[&g.text[at..]], line);
        self.gathered = g.text;
        self.gathered.truncate(at.saturating_sub(1)); // without the line break before the cut
        Out::Bad(Src::Gathered, g.line, BadReason::Truncated, false)
    }

    /// Puts `parts` back before the unread input, to be read from line `line` on.
    fn put_back(&mut self, parts: &[&[u8]], line: u64) {
        let rest = &self.buf[self.pos..];
        let mut buf = Vec::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + rest.len());
        for p in parts {
            buf.extend_from_slice(p);
        }
        buf.extend_from_slice(rest);
        self.buf = buf;
        self.pos = 0;
        self.searched = 0;
        self.seam_searched = 0;
        self.line = line;
    }

    /// Whether the line being read is CloudWatch Logs payloads back to back, long enough to be
    /// handed on a payload at a time (see [`Framer::payload_end`]). A line of one payload (what
    /// a consumer logs) is short of that and costs no search.
    fn splits_payloads(&self) -> bool {
        self.buf.len() - self.pos > SPLIT_PAYLOADS_AFTER.min(self.max_record / 2) && self.on_payloads()
    }

    /// Whether the line being read starts as a CloudWatch Logs payload (outside a gathered value).
    fn on_payloads(&self) -> bool {
        self.gather.is_none() && self.buf[self.pos..].starts_with(PREFIX.as_bytes())
    }

    /// The payload from `pos` to `end`, handed on: a record, or too large when it is longer than
    /// the limit (one read can bring a whole payload and the seam after it at once).
    fn payload(&mut self, end: usize, line: u64) -> Out {
        let r = self.pos..end;
        self.pos = end;
        if r.len() > self.max_record {
            Out::Bad(Src::Buf(r), line, BadReason::TooLarge, false)
        } else {
            Out::Record(Src::Buf(r), line)
        }
    }

    /// Where the first of several CloudWatch Logs payloads back to back ends, in a line still
    /// arriving (a Firehose object inflates to one line of megabytes, with no newline in it): each
    /// goes on as soon as it has arrived, as a record of the same line, so the payloads of one
    /// object are decoded in parallel and the object need not fit in `--max-record-bytes`. The
    /// seam `}{"messageType":` can only be between two values (a string holds no bare quote).
    /// `from`: where the seam is yet to be looked for.
    fn payload_end(&self, from: usize) -> Option<usize> {
        memchr::memmem::find(&self.buf[from..], SEAM).map(|i| from + i + 1)
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
        if self.buf[r.clone()].starts_with(PREFIX.as_bytes()) {
            // A payload among others: skipped up to the next one. The last bytes, which may be
            // the start of the seam before it, are kept to be searched with what follows.
            let keep = SEAM.len() - 1;
            self.pos = r.end - keep;
            self.skip = Some(Skip::Payload);
            return Out::Bad(
                Src::Buf(r.start..r.end - keep),
                self.line,
                BadReason::TooLarge,
                true,
            );
        }
        self.skip = Some(Skip::Line);
        Out::Bad(Src::Buf(r), self.line, BadReason::TooLarge, true)
    }

    /// Skipping a payload too long (see [`Skip::Payload`]), its line known up to `end`: its end,
    /// if the next payload starts before `end`; else what can be passed on already, keeping the
    /// bytes that may be the start of the seam. `None`: nothing to pass on before `end`.
    fn skip_payload(&mut self, end: usize) -> Option<Out> {
        if let Some(cut) = self.payload_end(self.pos).filter(|&cut| cut < end) {
            let r = self.pos..cut;
            self.pos = cut;
            self.skip = None;
            return Some(Out::BadMore(Src::Buf(r), true));
        }
        let keep = (SEAM.len() - 1).min(end - self.pos);
        if end < self.buf.len() || end - self.pos == keep {
            // The line ends at `end`, or there is too little to pass on yet.
            return None;
        }
        let r = self.pos..end - keep;
        self.pos = r.end;
        Some(Out::BadMore(Src::Buf(r), false))
    }
}

/// Whether a value read speculatively (see `Framer::fall_back`) is JSON after all. Nesting
/// too deep to check is not proof of a cut: the decoder reports it for what it is.
fn is_json(minified: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(minified).is_ok()
        || super::scan::nests_deeper_than(minified, super::scan::SERDE_NESTING_LIMIT)
}

/// A line that could start a new record: never the inside of an indented one, and inside a value
/// printed without indentation only where [`DepthScan::value_may_follow`].
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames `input` fed in chunks of `chunk` bytes (alternately copied and handed over with a
    /// little headroom); returns (kind, line, text) triples.
    fn frames(input: &[u8], chunk: usize, max: usize) -> Vec<(String, u64, String)> {
        frames_counted(input, chunk, max).0
    }

    /// As [`frames`], with the bytes the framer read twice.
    fn frames_counted(input: &[u8], chunk: usize, max: usize) -> (Vec<(String, u64, String)>, u64) {
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
        (out, f.reread_bytes)
    }

    fn recs(v: &[(String, u64, String)]) -> Vec<(u64, &str)> {
        v.iter()
            .filter(|x| x.0 == "rec")
            .map(|x| (x.1, x.2.as_str()))
            .collect()
    }

    /// A Firehose object inflates to payloads back to back on one line: while the line is still
    /// arriving, each payload goes on as its own record of that line, as soon as the next one
    /// starts; the object need not fit in the limit, only each payload. Traps: the seam's text
    /// inside a message (its quotes escaped), a line that is not payloads, every chunking.
    #[test]
    fn payloads_back_to_back_go_on_one_by_one() {
        let payload = |n: usize| {
            format!(
                r#"{{"messageType":"DATA_MESSAGE","logEvents":[{{"message":"{{\"eventName\":\"E{n}\",\"x\":\"}}{{\\\"messageType\\\":{}\"}}"}}]}}"#,
                "y".repeat(40)
            )
        };
        let line = format!("{}{}{}", payload(1), payload(2), payload(3));
        let input = format!("{line}\n{{\"eventName\":\"next\"}}\n");
        for chunk in [1, 7, 64, 200, line.len() + 1] {
            for max in [1 << 20, payload(1).len()] {
                let got = frames(input.as_bytes(), chunk, max);
                let (last, first) = got.split_last().unwrap();
                assert_eq!(last, &("rec".into(), 2, r#"{"eventName":"next"}"#.into()));
                assert!(
                    first.iter().all(|(kind, line, _)| kind == "rec" && *line == 1),
                    "{got:?}"
                );
                assert_eq!(first.iter().map(|f| f.2.as_str()).collect::<String>(), line);
                if chunk < payload(1).len() && max < 1 << 20 {
                    assert_eq!(first.len(), 3, "chunk {chunk}: {got:?}");
                    assert_eq!(first[1].2, payload(2));
                }
            }
        }
        // One payload longer than the limit, arriving whole with the next: only it is too large.
        let long = payload(1).replace("yyyy", &"y".repeat(200));
        let got = frames(
            format!("{}{long}{}\n", payload(2), payload(3)).as_bytes(),
            1 << 16,
            payload(1).len(),
        );
        let kinds: Vec<&str> = got.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(kinds, ["rec", "bad:TooLarge", "rec"], "{got:?}");
        assert_eq!(
            (got[1].2.as_str(), got[2].2.as_str()),
            (long.as_str(), payload(3).as_str())
        );
        // The same, arriving in pieces: it is skipped up to the next payload, not to the end of
        // the line, and goes to --reject whole.
        for chunk in [1, 7, 64, 200] {
            let input = format!("{}{long}{}\n{{\"eventName\":\"next\"}}\n", payload(2), payload(3));
            let got = frames(input.as_bytes(), chunk, payload(1).len());
            let records: Vec<(u64, &str)> = recs(&got);
            assert_eq!(
                records,
                [
                    (1, payload(2).as_str()),
                    (1, payload(3).as_str()),
                    (2, r#"{"eventName":"next"}"#)
                ],
                "chunk {chunk}: {got:?}"
            );
            let skipped: String = got
                .iter()
                .filter(|f| f.0 != "rec")
                .map(|f| f.2.as_str())
                .collect();
            assert_eq!(skipped, long, "chunk {chunk}");
            assert_eq!(got.iter().filter(|f| f.0 == "bad:TooLarge").count(), 1);
            assert_eq!(got.iter().filter(|f| f.0 == "more:true").count(), 1, "{got:?}");
        }
        // Not payloads: one line, and too long for the limit.
        let other = format!(r#"{{"a":1}}{}"#, payload(1));
        let got = frames(format!("{other}\n").as_bytes(), 7, 1 << 20);
        assert_eq!(got, [("rec".into(), 1, other.clone())]);
        let got = frames(format!("{other}\n").as_bytes(), 7, 50);
        assert_eq!(got[0].0, "bad:TooLarge", "{got:?}");
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

    fn bads(v: &[(String, u64, String)]) -> Vec<(&str, u64)> {
        v.iter()
            .filter(|x| x.0.starts_with("bad"))
            .map(|x| (x.0.as_str(), x.1))
            .collect()
    }

    /// `json.dumps(obj, indent=0)`: every element of an array at column 0, `[` as well as `{`.
    #[test]
    fn valid_json_with_no_indentation_is_read_whole() {
        let input = b"{\n\"a\": [\n{\n\"b\": 1\n},\n{\n\"c\": [\n[\n2\n],\n[]\n]\n}\n],\n\"d\": {}\n}\n{\n\"e\": 5\n}\n";
        for chunk in [1, 2, 7, 1000] {
            let v = frames(input, chunk, 1 << 20);
            assert_eq!(
                recs(&v),
                [
                    (1, r#"{"a":[{"b":1},{"c":[[2],[]]}],"d":{}}"#),
                    (17, r#"{"e":5}"#)
                ],
                "chunk {chunk}"
            );
            assert_eq!(bads(&v), [], "chunk {chunk}");
        }
    }

    /// A broken record is cut where the first line that could start a record stood, and read
    /// again from there: the records after it come out, with their own line numbers.
    #[test]
    fn a_broken_value_is_cut_at_its_first_column_0_line_and_read_again() {
        // Cut after `[`: `{"b":1}` could be its element; `{"c":2}` after it cannot.
        let input = b"{\n\"a\": [\n{\"b\":1}\n{\n\"c\": [\n{\n\"d\": 3\n}\n]\n}\n";
        for chunk in [1, 3, 1000] {
            let v = frames(input, chunk, 1 << 20);
            assert_eq!(
                recs(&v),
                [(3, r#"{"b":1}"#), (4, r#"{"c":[{"d":3}]}"#)],
                "chunk {chunk}"
            );
            assert_eq!(bads(&v), [("bad:Truncated", 1)], "chunk {chunk}");
            assert_eq!(
                v[0].2, "{\n\"a\": [",
                "what is reported is what came before the cut"
            );
        }
        // Balanced brackets that are no JSON: checked whole, then cut.
        let v = frames(b"{\n\"a\": [\n{\"b\":1}\n}\n}\n{\"e\":5}\n", 4, 1 << 20);
        assert_eq!(recs(&v), [(3, r#"{"b":1}"#), (6, r#"{"e":5}"#)]);
        assert_eq!(
            bads(&v),
            [("bad:Truncated", 1), ("bad:NotJson", 4), ("bad:NotJson", 5)]
        );
        // Cut inside a string after such a line: the same.
        let v = frames(b"{\n\"a\": [\n{\"b\":1}\n\"cut\n{\"e\":5}\n", 1000, 1 << 20);
        assert_eq!(recs(&v), [(3, r#"{"b":1}"#), (5, r#"{"e":5}"#)]);
        assert_eq!(bads(&v), [("bad:Truncated", 1), ("bad:NotJson", 4)]);
    }

    /// An S3 document cut short: its complete records come out, the separators between them are
    /// no error, and the cut one is reported where it starts.
    #[test]
    fn a_truncated_document_gives_up_its_complete_records() {
        let input = b"{\n\"Records\": [\n{\n\"a\": 1\n},\n{\n\"b\": [\n{}\n]\n},\n{\n\"c\": ";
        for chunk in [1, 5, 1000] {
            let v = frames(input, chunk, 1 << 20);
            assert_eq!(
                recs(&v),
                [(3, r#"{"a":1}"#), (6, r#"{"b":[{}]}"#)],
                "chunk {chunk}"
            );
            assert_eq!(
                bads(&v),
                [("bad:Truncated", 1), ("bad:Truncated", 11)],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn documents_written_back_to_back() {
        let input = b"{\n\"a\": 1\n}{\n\"b\": 2\n}{}[1]{\n\"c\": 3\n} x\n";
        for chunk in [1, 4, 1000] {
            let v = frames(input, chunk, 1 << 20);
            assert_eq!(
                recs(&v),
                [
                    (1, r#"{"a":1}"#),
                    (3, r#"{"b":2}"#),
                    (5, "{}"),
                    (5, "[1]"),
                    (5, r#"{"c":3}"#)
                ],
                "chunk {chunk}"
            );
            assert_eq!(bads(&v), [("bad:TrailingGarbage", 7)], "chunk {chunk}");
        }
    }

    /// A line of many values, or of many opening brackets at column 0, is not read once per
    /// value or per line.
    #[test]
    fn reading_again_stays_linear() {
        let mut line = b"{}".repeat(200_000);
        line.extend_from_slice(b"{\n");
        let started = std::time::Instant::now();
        let (v, reread) = frames_counted(&line, 1 << 16, 1 << 20);
        assert_eq!(recs(&v).len(), 200_000);
        assert_eq!(reread, 0);
        let mut nested = b"{\"a\": [\n".to_vec();
        nested.extend_from_slice(&b"[\n".repeat(100_000));
        nested.extend_from_slice(b"{\"b\":1}\n");
        let (v, reread) = frames_counted(&nested, 1 << 16, 1 << 30);
        assert_eq!(recs(&v), [(100_002, r#"{"b":1}"#)]);
        assert!(
            reread <= 10 * nested.len() as u64,
            "{reread} bytes read again of {}",
            nested.len()
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::Value;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            "[a-z{}\\[\\],:\" \\\\\n\t]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(("[a-z]{1,3}", inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// A document: an object or an array, as records and envelopes are.
    fn document() -> impl Strategy<Value = Value> {
        json_value().prop_map(|v| match v {
            Value::Array(_) | Value::Object(_) => v,
            other => Value::Array(vec![other]),
        })
    }

    fn pretty(v: &Value, indent: &[u8], crlf: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(
            &mut out,
            serde_json::ser::PrettyFormatter::with_indent(indent),
        );
        v.serialize(&mut ser).unwrap();
        if crlf {
            out = String::from_utf8(out).unwrap().replace('\n', "\r\n").into_bytes();
        }
        out
    }

    /// The values each record holds, compact (a line may hold several written back to back).
    fn values(v: &[(String, u64, String)]) -> Vec<String> {
        let mut out = Vec::new();
        for (_, _, text) in v.iter().filter(|x| x.0 == "rec") {
            for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
                out.push(value.expect("a framed record is JSON").to_string());
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Valid JSON is never cut, however it is laid out.
        #[test]
        fn valid_documents_come_out_whole(
            docs in prop::collection::vec(document(), 1..5),
            indent in prop::sample::select(vec!["", " ", "\t", "    "]),
            crlf in any::<bool>(),
            back_to_back in any::<bool>(),
            chunk in 1usize..200,
        ) {
            let mut input = Vec::new();
            for d in &docs {
                input.extend(pretty(d, indent.as_bytes(), crlf));
                if !back_to_back {
                    input.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
            }
            let v = frames(&input, chunk, 1 << 20);
            prop_assert_eq!(bads(&v), vec![]);
            prop_assert_eq!(values(&v), docs.iter().map(Value::to_string).collect::<Vec<_>>());
        }

        /// A document cut anywhere, then good ones: the good ones all come out, and reading again
        /// stays within a few times the input.
        #[test]
        fn good_documents_after_a_cut_one_come_out(
            cut_doc in document(),
            cut_at in any::<prop::sample::Index>(),
            docs in prop::collection::vec(document(), 1..4),
            indents in prop::collection::vec(prop::sample::select(vec!["", " ", "\t"]), 5),
            chunk in 1usize..200,
        ) {
            let whole = pretty(&cut_doc, indents[4].as_bytes(), false);
            prop_assume!(whole.len() > 1);
            let mut input = whole[..cut_at.index(whole.len() - 1).max(1)].to_vec();
            input.push(b'\n');
            for (d, indent) in docs.iter().zip(&indents) {
                input.extend(pretty(d, indent.as_bytes(), false));
                input.push(b'\n');
            }
            let (v, reread) = frames_counted(&input, chunk, 1 << 20);
            prop_assert!(!bads(&v).is_empty());
            let got = values(&v);
            let want: Vec<String> = docs.iter().map(Value::to_string).collect();
            prop_assert!(got.len() >= want.len(), "{:?}", got);
            prop_assert_eq!(&got[got.len() - want.len()..], &want[..]);
            prop_assert!(reread <= 4 * input.len() as u64, "{} read again of {}", reread, input.len());
        }
    }
}
