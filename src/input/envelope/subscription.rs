//! CloudWatch Logs subscription payloads: what a Lambda, a Kinesis consumer or Firehose is given
//! when a log group that CloudTrail writes to is subscribed.
//!
//! ```text
//! {"awslogs":{"data":"<base64 of gzip>"}}                          (Lambda)
//! <gzip bytes>, several members back to back                        (Kinesis record, Firehose to S3)
//! {"messageType":"DATA_MESSAGE","owner":…,"logGroup":…,"logStream":…,
//!  "logEvents":[{"id":…,"timestamp":…,"message":"<one CloudTrail record as a JSON string>"}]}
//! ```
//!
//! Raw gzip is inflated by the reader like any gzip input; the base64 inside `awslogs.data` is
//! decoded and inflated here, on the thread that unwraps the batch (a decoding thread with
//! `--threads` 2 and more, as for every envelope), into a buffer bounded by
//! `--max-record-bytes`. Each `logEvents[].message` is the record CloudTrail wrote, so it is read
//! (and written out) exactly as if it had been given alone.

use super::{Item, RecordError, Unwrapper};
use crate::event::fast::{Bail, Scanner};
use crate::input::gzip::{inflate_all, InflateError, MAGIC as GZIP_MAGIC};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// What a Lambda function subscribed to a log group is given, up to the payload's base64.
pub const LAMBDA_EVENT: &str = r#"{"awslogs":{"data":""#;

/// How CloudWatch Logs starts every payload it writes.
pub const PREFIX: &str = r#"{"messageType":"#;

/// Where one payload ends and the next begins, when several run together on one line. JSON has
/// no `}{` inside a value and no unescaped quote inside a string, so these bytes occur only
/// between two payloads.
pub(crate) const SEAM: &[u8] = br#"}{"messageType":"#;

/// The length of the first payload of `text` when more follow it without a newline (a Firehose
/// object in S3, inflated): found with one SIMD search instead of reading the payload twice.
pub fn first_of_several(text: &str) -> Option<usize> {
    memchr::memmem::find(text.as_bytes(), SEAM).map(|i| i + 1)
}

/// What [`each_message`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Payload {
    Data,
    Control,
}

/// Reads a payload as CloudWatch Logs writes it (`messageType` first) in one pass, handing each
/// `logEvents[].message` to `f` as it is read: serde_json decodes the string into its scratch
/// buffer, so the record is neither copied out first nor scanned twice. `Err(n)` when the payload
/// is not that after all, `n` messages in (the caller reads it the general way when `n` is 0).
/// With the payload, whether more follows it on the line (Firehose objects hold payloads back to
/// back, without newlines).
pub fn each_message(text: &str, f: &mut dyn FnMut(&str)) -> Result<(Payload, bool), usize> {
    let mut seen = 0;
    let mut d = serde_json::Deserializer::from_str(text);
    let kind = serde::Deserializer::deserialize_map(&mut d, MessageVisitor { f, seen: &mut seen });
    match kind {
        Ok(Some(k)) => Ok((k, d.end().is_err())),
        _ => Err(seen),
    }
}

/// Reads a payload, handing each message to `f` once, in order: the fast scanner first, and
/// serde_json's reading for what it gives up on (which skips the messages already handed on).
/// The kind of payload and where it ends (`None`: more follows, at a place not yet known); as
/// [`each_message`] otherwise.
fn read_payload(
    text: &str,
    buf: &mut Vec<u8>,
    f: &mut dyn FnMut(&[u8]),
) -> Result<(Payload, Option<usize>), usize> {
    match each_message_fast(text, buf, f) {
        Ok(end) => Ok((Payload::Data, Some(end))),
        Err(handed_on) => {
            let mut n = 0;
            let (kind, more) = each_message(text, &mut |record| {
                n += 1;
                if n > handed_on {
                    f(record.as_bytes())
                }
            })?;
            Ok((kind, if more { None } else { Some(text.len()) }))
        }
    }
}

/// [`each_message`] for the payload as CloudWatch Logs writes it (`messageType` first, and
/// `DATA_MESSAGE`), read by the fast scanner: each message is unescaped into `buf` and handed to
/// `f` as its bytes. Returns where the payload ends. `Err(n)` when the scanner gave up, `n`
/// messages in: on anything unusual (an escaped key, an exponent, a lone surrogate, broken JSON)
/// the serde_json reading decides, and it must not hand those `n` on again.
fn each_message_fast(text: &str, buf: &mut Vec<u8>, f: &mut dyn FnMut(&[u8])) -> Result<usize, usize> {
    let mut seen = 0;
    let mut sc = Scanner::new(text);
    let mut read = || -> Result<usize, Bail> {
        if sc.peek() != Some(b'{') || !sc.enter_object()? {
            return Err(Bail);
        }
        if sc.key()? != "messageType" || sc.plain_string()? != "DATA_MESSAGE" {
            return Err(Bail);
        }
        let mut events = false;
        while sc.next_member()? {
            match sc.key()? {
                "logEvents" if !events => {
                    events = true;
                    if sc.peek() != Some(b'[') {
                        return Err(Bail);
                    }
                    let mut more = sc.enter_array()?;
                    while more {
                        log_event(&mut sc, buf, &mut seen, f)?;
                        more = sc.next_element()?;
                    }
                }
                "messageType" | "logEvents" => return Err(Bail),
                _ => sc.skip()?,
            }
        }
        Ok(sc.pos())
    };
    read().map_err(|Bail| seen)
}

/// One `logEvents` entry: its first `message` handed to `f` (and counted in `seen`) as soon as it
/// is read, as [`each_message`] does, even if the entry then turns out to be broken; an entry
/// without one is left to serde_json.
fn log_event(
    sc: &mut Scanner<'_>,
    buf: &mut Vec<u8>,
    seen: &mut usize,
    f: &mut dyn FnMut(&[u8]),
) -> Result<(), Bail> {
    if sc.peek() != Some(b'{') || !sc.enter_object()? {
        return Err(Bail);
    }
    let mut done = false;
    loop {
        if sc.key()? == "message" && !done {
            let len = sc.string_into(buf)?;
            f(&buf[..len]);
            *seen += 1;
            done = true;
        } else {
            sc.skip()?;
        }
        if !sc.next_member()? {
            return if done { Ok(()) } else { Err(Bail) };
        }
    }
}

struct MessageVisitor<'f, 'g> {
    f: &'f mut dyn FnMut(&str),
    seen: &'g mut usize,
}

impl<'de> Visitor<'de> for MessageVisitor<'_, '_> {
    type Value = Option<Payload>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a CloudWatch Logs payload")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kind = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match (&*key, &kind) {
                ("messageType", None) => {
                    kind = match &*map.next_value::<std::borrow::Cow<'de, str>>()? {
                        "DATA_MESSAGE" => Some(Payload::Data),
                        "CONTROL_MESSAGE" => Some(Payload::Control),
                        _ => return Ok(None),
                    }
                }
                ("logEvents", Some(Payload::Data)) => map.next_value_seed(Events {
                    f: &mut *self.f,
                    seen: &mut *self.seen,
                })?,
                ("messageType" | "logEvents", _) => return Ok(None),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(kind)
    }
}

/// `logEvents`, each entry's `message` handed on as it is read.
struct Events<'f, 'g> {
    f: &'f mut dyn FnMut(&str),
    seen: &'g mut usize,
}

impl<'de> DeserializeSeed<'de> for Events<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Events<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("logEvents")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Event {
                f: &mut *self.f,
                seen: &mut *self.seen,
            })?
            .is_some()
        {}
        Ok(())
    }
}

struct Event<'f, 'g> {
    f: &'f mut dyn FnMut(&str),
    seen: &'g mut usize,
}

impl<'de> DeserializeSeed<'de> for Event<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Event<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a log event")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut done = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if &*key == "message" && !done {
                map.next_value_seed(MessageText { f: &mut *self.f })?;
                *self.seen += 1;
                done = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if done {
            Ok(())
        } else {
            Err(serde::de::Error::missing_field("message"))
        }
    }
}

struct MessageText<'f> {
    f: &'f mut dyn FnMut(&str),
}

impl<'de> DeserializeSeed<'de> for MessageText<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MessageText<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        (self.f)(v);
        Ok(())
    }
}

/// Why an `awslogs.data` payload could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    /// Not a JSON string of base64 (the byte offset of the first bad character in it).
    Base64(usize),
    /// The decoded bytes are not gzip, or the gzip stream is broken.
    Gzip,
    /// Inflates past `--max-record-bytes`.
    TooLarge,
}

/// Says what is wrong with the field it follows (`awslogs.data is not base64 …`).
impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayloadError::Base64(at) => write!(f, "is not base64 (at character {at})"),
            PayloadError::Gzip => f.write_str("is not gzip, or its gzip stream is broken"),
            PayloadError::TooLarge => f.write_str("inflates past --max-record-bytes"),
        }
    }
}

/// Decodes `data` (the raw JSON string `"…"`, as written) from base64 and inflates it into `out`,
/// at most `max` bytes. `scratch` holds the compressed bytes.
pub fn open(data: &str, max: usize, scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<(), PayloadError> {
    unbase64(data, scratch)?;
    if !scratch.starts_with(&GZIP_MAGIC) {
        return Err(PayloadError::Gzip);
    }
    inflate(scratch, max, out)
}

/// [`open`] for a record of a stream, which holds whatever its producer put there: inflated if
/// it is gzip (CloudWatch Logs gzips what it sends), as decoded otherwise.
pub fn open_any(
    data: &str,
    max: usize,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), PayloadError> {
    unbase64(data, scratch)?;
    if scratch.starts_with(&GZIP_MAGIC) {
        return inflate(scratch, max, out);
    }
    if scratch.len() > max {
        return Err(PayloadError::TooLarge);
    }
    out.clear();
    out.extend_from_slice(scratch);
    Ok(())
}

/// The bytes of a JSON string of base64 (`"…"`, as written), into `out` (cleared first).
fn unbase64(data: &str, out: &mut Vec<u8>) -> Result<(), PayloadError> {
    let inner = data
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or(PayloadError::Base64(0))?;
    out.clear();
    base64_into(inner.as_bytes(), out)
}

fn inflate(gz: &[u8], max: usize, out: &mut Vec<u8>) -> Result<(), PayloadError> {
    inflate_all(gz, max, out).map_err(|e| match e {
        InflateError::Broken => PayloadError::Gzip,
        InflateError::TooLarge => PayloadError::TooLarge,
    })
}

/// The value of each base64 character (either alphabet); 0xff for any other byte.
const BASE64: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        if i < 10 {
            t[b'0' as usize + i] = 52 + i as u8;
        }
        i += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t
};

/// Standard base64 (with or without padding; JSON's `\/` escape of `/` accepted, as some
/// encoders write it). Whole groups of four plain characters take the fast loop; the rest (the
/// padded end, an escaped slash, a bad character) the careful one.
fn base64_into(text: &[u8], out: &mut Vec<u8>) -> Result<(), PayloadError> {
    out.reserve(text.len() / 4 * 3 + 3);
    let mut i = 0;
    while let Some(q) = text.get(i..i + 4) {
        let [a, b, c, d] = [q[0], q[1], q[2], q[3]].map(|x| BASE64[x as usize]);
        if (a | b | c | d) & 0xc0 != 0 {
            break;
        }
        let n = (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(c) << 6) | u32::from(d);
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        i += 4;
    }
    let (mut acc, mut bits) = (0u32, 0u32);
    while i < text.len() {
        let c = text[i];
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'\\' if text.get(i + 1) == Some(&b'/') => {
                i += 1;
                63
            }
            b'=' if text[i..].iter().all(|&b| b == b'=') && text.len() - i <= 2 => break,
            _ => return Err(PayloadError::Base64(i)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
        i += 1;
    }
    Ok(())
}

type Opener = fn(&str, usize, &mut Vec<u8>, &mut Vec<u8>) -> Result<(), PayloadError>;

/// The subscription shapes, as the unwrapper reads them.
impl Unwrapper {
    /// `{"awslogs":{"data":"<base64 of gzip>"}}`: the payload, opened into this level's buffer,
    /// is read as a value (a `DATA_MESSAGE`).
    pub(super) fn awslogs(
        &mut self,
        bytes: &[u8],
        awslogs: &RawValue,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) {
        #[derive(serde::Deserialize)]
        struct AwsLogs<'a> {
            #[serde(borrow)]
            data: &'a RawValue,
        }
        let Ok(AwsLogs { data }) = serde_json::from_str::<AwsLogs<'_>>(awslogs.get()) else {
            return visit(Item::Bad {
                bytes,
                error: RecordError::BadEnvelope("awslogs has no data"),
            });
        };
        let mut buf = self.take(level);
        let opened = self.open(data.get(), &mut buf);
        match opened {
            Ok(()) => self.value(&buf, level + 1, visit),
            Err(e) => visit(Item::Bad {
                bytes,
                error: RecordError::Payload(e),
            }),
        }
        self.put(level, buf);
    }

    /// [`open`] with this unwrapper's limit and scratch buffer.
    fn open(&mut self, data: &str, buf: &mut Vec<u8>) -> Result<(), PayloadError> {
        self.open_with(open, data, buf)
    }

    /// [`open_any`] with this unwrapper's limit and scratch buffer.
    pub(super) fn open_any(&mut self, data: &str, buf: &mut Vec<u8>) -> Result<(), PayloadError> {
        self.open_with(open_any, data, buf)
    }

    fn open_with(&mut self, open: Opener, data: &str, buf: &mut Vec<u8>) -> Result<(), PayloadError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let opened = open(data, self.max_record, &mut scratch, buf);
        if scratch.capacity() > 4 << 20 {
            scratch = Vec::new(); // one huge payload does not stay allocated
        }
        self.scratch = scratch;
        opened
    }

    /// `{"awslogs":{"data":"<base64>"}}` exactly as a Lambda is given it: the payload is opened
    /// and read without first reading the line as a record and then as an envelope (two passes
    /// over a base64 string of hundreds of kilobytes). `false` (nothing visited) for anything
    /// else, and for a payload that does not open, for the general path to word the error.
    pub(super) fn lambda_event(
        &mut self,
        text: &str,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) -> bool {
        let Some(rest) = text.strip_prefix(LAMBDA_EVENT) else {
            return false;
        };
        // Base64 holds no quote; the data's closing quote is the first one.
        let Some(end) = memchr::memchr(b'"', rest.as_bytes()) else {
            return false;
        };
        if rest[end + 1..].trim_ascii_end() != "}}" {
            return false;
        }
        let data = &text[LAMBDA_EVENT.len() - 1..LAMBDA_EVENT.len() + end + 1];
        let mut buf = self.take(level);
        let opened = self.open(data, &mut buf);
        if opened.is_ok() {
            self.value(&buf, level + 1, visit);
        }
        self.put(level, buf);
        opened.is_ok()
    }

    /// Subscription payloads, one or several back to back (a Firehose object, inflated), each
    /// read in one pass as it comes: no pass over the text first to find where each ends.
    /// `false` (nothing visited) when the text is one value that is not a payload after all,
    /// for the general path to read and word the error. A broken payload among several is one
    /// bad piece up to the next, which is read on its own.
    pub(super) fn payloads(&mut self, text: &str, level: usize, visit: &mut dyn FnMut(Item<'_, '_>)) -> bool {
        let mut rest = text;
        loop {
            let mut buf = self.take(level);
            let read = read_payload(rest, &mut buf, &mut |record| self.value(record, level + 1, visit));
            self.put(level, buf);
            let end = match read {
                Ok((kind, end)) => {
                    if kind == Payload::Control {
                        visit(Item::Skipped);
                    }
                    end.unwrap_or_else(|| {
                        // serde_json's reading says more follows, not where: read again.
                        let mut values =
                            serde_json::Deserializer::from_str(rest).into_iter::<serde::de::IgnoredAny>();
                        let _ = values.next();
                        values.byte_offset()
                    })
                }
                Err(handed_on) => {
                    let cut = first_of_several(rest).unwrap_or(rest.len());
                    if handed_on > 0 {
                        // Records before the fault were handed on; the rest is one bad piece.
                        visit(Item::Bad {
                            bytes: &rest.as_bytes()[..cut],
                            error: RecordError::BadEnvelope(
                                "a logEvents entry has no message, or the payload ends early",
                            ),
                        });
                    } else if rest.len() == text.len() && cut == rest.len() {
                        return false; // one value, and not a payload
                    } else {
                        self.text(&rest[..cut], level, visit); // holds no seam: no recursion
                    }
                    cut
                }
            };
            rest = rest[end..].trim_ascii_start();
            if rest.is_empty() {
                return true;
            }
            if !rest.starts_with(PREFIX) {
                self.concatenated(rest, level, visit);
                return true;
            }
        }
    }

    /// A decoded subscription payload: each of `logEvents`' messages is a record, as a string.
    pub(super) fn log_events(
        &mut self,
        bytes: &[u8],
        kind: &str,
        events: Option<&RawValue>,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) {
        if kind == "\"CONTROL_MESSAGE\"" {
            return visit(Item::Skipped);
        }
        #[derive(serde::Deserialize)]
        struct LogEvent<'a> {
            #[serde(borrow)]
            message: &'a RawValue,
        }
        let Some(events) = events.and_then(|e| serde_json::from_str::<Vec<&RawValue>>(e.get()).ok()) else {
            return visit(Item::Bad {
                bytes,
                error: RecordError::BadEnvelope("logEvents is not an array"),
            });
        };
        for e in events {
            match serde_json::from_str::<LogEvent<'_>>(e.get()) {
                Ok(LogEvent { message }) => self.string_value(message, level, visit),
                Err(_) => visit(Item::Bad {
                    bytes: e.get().as_bytes(),
                    error: RecordError::BadEnvelope("a logEvents entry has no message"),
                }),
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Write;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    pub(in crate::input::envelope) fn b64(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in bytes.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                if k <= c.len() {
                    s.push(A[(n >> (18 - 6 * k)) as usize & 63] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    /// What a reading hands on, and how it ends: `Ok(more follows)` or `Err(messages in)`.
    fn handed_on(
        read: impl FnOnce(&mut dyn FnMut(&[u8])) -> Result<bool, usize>,
    ) -> (Vec<String>, Result<bool, usize>) {
        let mut messages = Vec::new();
        let end = read(&mut |m| messages.push(String::from_utf8(m.to_vec()).unwrap()));
        (messages, end)
    }

    /// The fast reading, with serde_json's after it where it gives up, hands on exactly what
    /// serde_json's reading alone does: each message once, in order, and the same ending. Traps
    /// for the hand-over: an entry the scanner gives up on before or after its message, at each
    /// place in the array, and every payload cut short.
    #[test]
    fn the_fast_reading_hands_on_what_serde_json_does() {
        let message = |k: usize| format!(r#""{{\"eventName\":\"E{k}\",\"p\":\"a\\\\\\\"b\\u00e9\\n\"}}""#);
        let odd_entries: [&dyn Fn(usize) -> String; 12] = [
            &|k| format!(r#"{{"id":"{k}","timestamp":1e3,"message":{}}}"#, message(k)),
            &|k| format!(r#"{{"id":"{k}","message":{},"timestamp":1e3}}"#, message(k)),
            &|k| format!(r#"{{"id":"{k}","\u006dessage":{}}}"#, message(k)),
            &|k| format!(r#"{{"i\u0064":"{k}","message":{}}}"#, message(k)),
            &|k| format!(r#"{{"id":"{k}","message":"{{\"eventName\":\"\ud800\"}}"}}"#),
            &|k| format!(r#"{{"id":"{k}","message":{k}}}"#),
            &|k| format!(r#"{{"id":"{k}"}}"#),
            &|k| format!(r#"{{"message":{},"message":"second"}}"#, message(k)),
            &|k| {
                format!(
                    r#"{{"x":{}{}, "message":{}}}"#,
                    "[".repeat(130),
                    "]".repeat(130),
                    message(k)
                )
            },
            &|k| format!("{{ \"id\" : \"{k}\" ,\n \"message\" :\t{} }}", message(k)),
            &|k| format!(r#"{{"id":"{k}","message":"{}"}}"#, "\\\"x".repeat(40)),
            &|k| format!(r#"[{k}]"#),
        ];
        let head = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logEvents":["#;
        let mut payloads = vec![
            r#"{"messageType":"DATA\u005fMESSAGE","logEvents":[{"message":"x"}]}"#.to_string(),
            r#"{"messageType":"DATA_MESSAGE","logEvents":[{"message":"x"}],"logEvents":[]}"#.to_string(),
            r#"{"owner":"1","messageType":"DATA_MESSAGE","logEvents":[{"message":"x"}]}"#.to_string(),
            r#"{"messageType":"CONTROL_MESSAGE","logEvents":[{"message":"x"}]}"#.to_string(),
            r#"{"messageType":"DATA_MESSAGE","logEvents":[]}{"messageType":"DATA_MESSAGE","logEvents":[]}"#
                .to_string(),
        ];
        for odd in odd_entries {
            for at in 0..4 {
                let entries: Vec<String> = (0..4)
                    .map(|k| {
                        if k == at {
                            odd(k)
                        } else {
                            format!(r#"{{"id":"{k}","timestamp":1,"message":{}}}"#, message(k))
                        }
                    })
                    .collect();
                payloads.push(format!("{head}{}]}}", entries.join(",")));
            }
        }
        let whole = payloads.len();
        for i in 0..whole {
            let p = payloads[i].clone();
            payloads.extend((1..p.len()).filter_map(|cut| p.get(..cut)).map(str::to_string));
            payloads.push(format!("{p} \n{p}"));
        }
        let mut gave_up = 0;
        let mut whole = 0;
        for text in &payloads {
            let mut buf = Vec::new();
            let fast = handed_on(|f| {
                read_payload(text, &mut buf, f)
                    .map(|(_, end)| end.is_none_or(|e| !text[e..].trim_ascii_start().is_empty()))
            });
            let slow = handed_on(|f| each_message(text, &mut |m| f(m.as_bytes())).map(|(_, more)| more));
            assert_eq!(fast, slow, "{text}");
            let fast = each_message_fast(text, &mut buf, &mut |_| {});
            gave_up += usize::from(fast.is_err_and(|n| n > 0));
            whole += usize::from(fast.is_ok());
        }
        // The traps do make the scanner give up after handing messages on, and the scanner does
        // read the ordinary payloads whole (else this test would only hold serde_json to itself).
        assert!(gave_up > 100, "{gave_up}");
        assert!(whole > 20, "{whole}");
    }

    #[test]
    fn base64_of_gzip_opens() {
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        for text in ["", "a", "ab", "abc", r#"{"messageType":"DATA_MESSAGE"}"#] {
            let data = format!("\"{}\"", b64(&gz(text.as_bytes())));
            open(&data, 1 << 20, &mut scratch, &mut out).unwrap();
            assert_eq!(out, text.as_bytes());
            let escaped = data.replace('/', "\\/");
            open(&escaped, 1 << 20, &mut scratch, &mut out).unwrap();
            assert_eq!(out, text.as_bytes());
        }
    }

    #[test]
    fn bad_payloads_say_why() {
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        assert_eq!(
            open("\"ab*c\"", 100, &mut scratch, &mut out),
            Err(PayloadError::Base64(2))
        );
        assert_eq!(
            open("5", 100, &mut scratch, &mut out),
            Err(PayloadError::Base64(0))
        );
        let not_gzip = format!("\"{}\"", b64(b"hello"));
        assert_eq!(
            open(&not_gzip, 100, &mut scratch, &mut out),
            Err(PayloadError::Gzip)
        );
        let mut cut = gz(b"hello world hello world");
        cut.truncate(cut.len() - 6);
        let cut = format!("\"{}\"", b64(&cut));
        assert_eq!(open(&cut, 100, &mut scratch, &mut out), Err(PayloadError::Gzip));
        // A bomb stops at the limit.
        let bomb = format!("\"{}\"", b64(&gz(&vec![b' '; 1 << 20])));
        assert_eq!(
            open(&bomb, 1000, &mut scratch, &mut out),
            Err(PayloadError::TooLarge)
        );
        assert!(out.len() <= 1001);
        let exact = format!("\"{}\"", b64(&gz(&[b'x'; 1000])));
        assert!(open(&exact, 1000, &mut scratch, &mut out).is_ok());
    }
}
