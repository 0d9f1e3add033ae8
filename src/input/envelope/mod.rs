//! Finds the CloudTrail records inside one framed JSON value (CLOUDTRAIL.md §7).
//!
//! A value is a record itself, or an envelope around records: S3's `{"Records":[…]}`,
//! `lookup-events`' `{"Events":[{"CloudTrailEvent":"<string>"}]}`, EventBridge's `detail`, a
//! `kcat -J` `payload` string, or a plain array of any of these. Envelopes nest a few levels at
//! most (a kcat payload holding an EventBridge event); deeper nesting is refused, so the input
//! never controls our recursion.
//!
//! CloudWatch Logs subscription payloads ([`subscription`]), what Kinesis, Firehose, SQS and SNS
//! hand their consumers ([`delivery`]), Security Lake's OCSF records ([`ocsf`]) and SIEM exports
//! that kept the raw record ([`siem`]) are read here too, on the same slow path: only a value that
//! is not a CloudTrail record itself gets this far.
//!
//! Records come out in the envelope's order, except `lookup-events`' `Events`, which the AWS CLI
//! writes newest first: they come out oldest first (see `oldest_first`), so a session's
//! creating event is read before its calls, as in every other source.

pub(crate) mod delivery;
pub mod ocsf;
pub mod siem;
pub mod subscription;

use super::scan::{self, minify_into};
use crate::event::{decode, Element, Elements, Event, Skip};
use crate::json;
use serde_json::value::RawValue;
use std::fmt;

/// How CloudTrail begins every S3 trail file.
const TRAIL_FILE: &str = "{\"Records\":[";

/// What is left of a trail file from where it breaks.
const BROKEN_TRAIL_FILE: RecordError = RecordError::BadEnvelope("Records is broken from here on");

/// Envelopes within envelopes deeper than this are not unwrapped. CloudTrail through EventBridge,
/// SNS and SQS to a Lambda's event takes five.
const MAX_LEVELS: usize = 6;

/// Why a framed value yielded no record.
#[derive(Debug)]
pub enum RecordError {
    /// The bytes are not UTF-8.
    InvalidUtf8,
    /// Not well-formed JSON: serde_json's error, with its line and column.
    Json(serde_json::Error),
    /// Well-formed JSON nested deeper than serde_json's limit (128).
    NestedTooDeeply,
    /// Well-formed JSON, but neither a CloudTrail record nor an envelope of one.
    NotCloudTrail,
    /// An array element, a `CloudTrailEvent` or a `payload` that is not what its envelope promises.
    BadEnvelope(&'static str),
    /// Envelopes inside envelopes, deeper than any upstream writes them.
    TooDeep,
    /// `awslogs.data` of a subscription payload could not be opened.
    Payload(subscription::PayloadError),
    /// A SIEM's normalised CloudTrail record without the raw one (names the SIEM).
    NoRaw(&'static str),
    /// The base64 data of a Kinesis or Firehose record (named first) could not be opened.
    Data(&'static str, subscription::PayloadError),
    /// An S3, DynamoDB (…) event notification: its eventSource (`aws:s3`).
    Notification(String),
}

impl RecordError {
    /// serde_json's refusal of `bytes`, told apart by the bytes: nesting beyond its limit, or
    /// syntax.
    fn json(error: serde_json::Error, bytes: &[u8]) -> RecordError {
        if scan::nests_deeper_than(bytes, scan::SERDE_NESTING_LIMIT) {
            RecordError::NestedTooDeeply
        } else {
            RecordError::Json(error)
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::InvalidUtf8 => f.write_str("invalid UTF-8"),
            RecordError::Json(e) => write!(f, "invalid JSON: {e}"),
            RecordError::NestedTooDeeply => f.write_str("JSON nested too deeply"),
            RecordError::NotCloudTrail => f.write_str("not a CloudTrail event"),
            RecordError::BadEnvelope(what) => write!(f, "malformed envelope: {what}"),
            RecordError::TooDeep => f.write_str("envelopes nested too deeply"),
            RecordError::Payload(e) => write!(f, "CloudWatch Logs subscription payload: awslogs.data {e}"),
            RecordError::Data(what, e) => write!(f, "{what} {e}"),
            RecordError::Notification(source) => {
                write!(f, "not a CloudTrail event: an event notification from {source}")
            }
            RecordError::NoRaw(siem) => write!(
                f,
                "{siem} export without the raw CloudTrail record (event.original or _raw)"
            ),
        }
    }
}

/// One CloudTrail record, on one line, with its decoded fields.
pub struct Record<'a, 'e> {
    /// The record's bytes as they will be written (before the annotation).
    pub text: &'a str,
    /// Where the annotation goes: the offset of the closing `}` (or of an earlier `ctail`
    /// member's comma, which is then replaced).
    pub splice: usize,
    /// The fields the session engine reads.
    pub event: &'e Event<'a>,
}

/// What a framed value holds, one item at a time.
pub enum Item<'a, 'e> {
    /// A CloudTrail record.
    Record(Record<'a, 'e>),
    /// A value, or the part of one, that holds no record: its bytes, and why.
    Bad {
        /// The bytes, as they will go to `--reject`.
        bytes: &'a [u8],
        /// Why they are not a record.
        error: RecordError,
    },
    /// Read and deliberately left out: a subscription's `CONTROL_MESSAGE` (counted, not rejected).
    Skipped,
}

/// The members that tell envelopes apart (all kept raw; each read only when its envelope is
/// the one). A type these expect that a value does not have is an error the value is told of.
#[derive(serde::Deserialize)]
struct Containers<'a> {
    #[serde(borrow, rename = "Records")]
    records: Option<Vec<&'a RawValue>>,
    #[serde(borrow, rename = "Events")]
    events: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    awslogs: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "messageType")]
    message_type: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "logEvents")]
    log_events: Option<&'a RawValue>,
    #[serde(borrow, default)]
    class_uid: Option<&'a RawValue>,
}

/// Unwraps envelopes; owns the buffers that decoded strings and joined elements live in.
pub struct Unwrapper {
    /// One buffer per envelope level, reused (taken out while in use).
    bufs: Vec<Vec<u8>>,
    /// Compressed bytes of a subscription payload, between base64 and gzip.
    scratch: Vec<u8>,
    /// `--max-record-bytes`: what a subscription payload may inflate to.
    max_record: usize,
}

impl Default for Unwrapper {
    fn default() -> Self {
        Unwrapper::new(crate::config::Config::default().max_record_bytes)
    }
}

impl Unwrapper {
    /// An unwrapper whose subscription payloads may inflate to `max_record` bytes
    /// (`--max-record-bytes`).
    pub fn new(max_record: usize) -> Self {
        Unwrapper {
            bufs: Vec::new(),
            scratch: Vec::new(),
            max_record,
        }
    }

    /// Calls `visit` for every record (and every bad piece) inside `bytes`.
    pub fn each(&mut self, bytes: &[u8], visit: &mut dyn FnMut(Item<'_, '_>)) {
        self.value(bytes, 0, visit);
    }

    /// A value the input ended inside (the framer's truncated record): when it is an S3 trail
    /// file cut short (a partial download, a damaged gzip stream), calls `visit` for each whole
    /// record before the cut and returns where the rest begins; `None`, with nothing visited,
    /// for anything else. The rest is the caller's to report, as the truncated record it is.
    pub fn truncated(&mut self, bytes: &[u8], visit: &mut dyn FnMut(Item<'_, '_>)) -> Option<usize> {
        // The cut may fall inside a character: what precedes it is text.
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok()?,
        };
        // One line (the framer may have gathered it with its line break).
        let text = text.trim_end();
        if !text.starts_with(TRAIL_FILE) || memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_some() {
            return None;
        }
        let mut elements = Elements::new(text, "Records")?;
        let mut rest = TRAIL_FILE.len();
        // Only what the scanner reads whole and is a record goes out; the first element that is
        // anything else (or is cut) is where the rest begins.
        while let Some(Element::Decoded(span, event)) = elements.next::<Event<'_>>() {
            let record = &text[span.clone()];
            if !(record.starts_with('{') && event.looks_like_cloudtrail()) {
                break;
            }
            let splice = splice_point(record, &event);
            visit(Item::Record(Record {
                text: record,
                splice,
                event: &event,
            }));
            rest = span.end;
        }
        Some(rest)
    }

    fn value(&mut self, bytes: &[u8], level: usize, visit: &mut dyn FnMut(Item<'_, '_>)) {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.text(text, level, visit),
            Err(_) => visit(Item::Bad {
                bytes,
                error: RecordError::InvalidUtf8,
            }),
        }
    }

    /// [`Unwrapper::value`] of bytes known to be UTF-8.
    fn text(&mut self, text: &str, level: usize, visit: &mut dyn FnMut(Item<'_, '_>)) {
        // What a string or a stream record holds may have spaces around the value (the framer
        // trims lines, nothing trims those): a record is written without them, as an object.
        let text = text.trim_ascii();
        let bytes = text.as_bytes();
        if level >= MAX_LEVELS {
            return visit(Item::Bad {
                bytes,
                error: RecordError::TooDeep,
            });
        }
        if text.starts_with(TRAIL_FILE) && self.trail_file(text, level, visit) {
            return;
        }
        // CloudWatch Logs writes messageType first: a payload of hundreds of records is read in
        // one pass here instead of first being scanned as a record that it is not.
        if text.starts_with(subscription::PREFIX) && self.payloads(text, level, visit) {
            return;
        }
        if self.lambda_event(text, level, visit) {
            return;
        }
        if text.starts_with('[') {
            return match serde_json::from_str::<Vec<&RawValue>>(text) {
                // An array that holds no object at all is one bad value, not many.
                Ok(items) if !items.iter().any(|i| i.get().starts_with('{')) => visit(Item::Bad {
                    bytes,
                    error: RecordError::NotCloudTrail,
                }),
                Ok(items) => self.elements(&items, level, visit),
                Err(e) => visit(Item::Bad {
                    bytes,
                    error: RecordError::json(e, bytes),
                }),
            };
        }
        let event = match decode(text) {
            Ok(e) => e,
            // Several values run together on one line: gzip members concatenated without
            // newlines (`cat *.json.gz`), or records joined by a tool. Each is read on its own.
            Err(_) if holds_several_values(text) => return self.concatenated(text, level, visit),
            Err(e) => {
                return visit(Item::Bad {
                    bytes,
                    error: RecordError::json(e, bytes),
                })
            }
        };
        if event.looks_like_cloudtrail() {
            if !text.starts_with('{') {
                return visit(Item::Bad {
                    bytes,
                    error: RecordError::NotCloudTrail,
                });
            }
            // Raw members were only skipped, and skipping checks less than reading: a lone
            // surrogate escape or a number out of range there would go out in a line strict
            // parsers refuse, while anywhere else it fails the decode. Read here as the rest was.
            let raw = [event.detail, event.payload, event.cloud_trail_event, event.ctail];
            for r in raw.into_iter().flatten() {
                if let Err(e) = serde_json::from_str::<Skip>(r.get()) {
                    return visit(Item::Bad {
                        bytes,
                        error: RecordError::json(e, r.get().as_bytes()),
                    });
                }
            }
            let splice = splice_point(text, &event);
            return visit(Item::Record(Record {
                text,
                splice,
                event: &event,
            }));
        }
        if let Some(detail) = event.detail {
            // EventBridge: the record is `detail`, written as it came.
            return self.text(detail.get(), level + 1, visit);
        }
        if let Some(lit) = event.payload.or(event.cloud_trail_event) {
            // kcat's `payload` and lookup-events' `CloudTrailEvent` hold the record as a string.
            return self.string_value(lit, level, visit);
        }
        self.container(bytes, text, &event, level, visit)
    }

    /// A value that is neither a record nor a record's EventBridge, kcat or lookup-events
    /// wrapper: S3's `Records`, a subscription payload, OCSF, a SIEM export, or nothing we read.
    fn container(
        &mut self,
        bytes: &[u8],
        text: &str,
        event: &Event<'_>,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) {
        let c = match serde_json::from_str::<Containers<'_>>(text) {
            Ok(c) => c,
            Err(_) => {
                return visit(Item::Bad {
                    bytes,
                    error: RecordError::BadEnvelope("Records or Events is not an array of objects"),
                })
            }
        };
        if let Some(items) = c.records {
            return self.elements(&items, level, visit);
        }
        if let Some(mut items) = c.events {
            oldest_first(&mut items);
            return self.elements(&items, level, visit);
        }
        if let Some(awslogs) = c.awslogs {
            return self.awslogs(bytes, awslogs, level, visit);
        }
        if let Some(kind) = c.message_type {
            return self.log_events(bytes, kind.get(), c.log_events, level, visit);
        }
        if c.class_uid.is_some() {
            return self.ocsf(bytes, text, event, level, visit);
        }
        if self.delivery(bytes, text, event, level, visit) {
            return;
        }
        let fields = serde_json::from_str::<siem::Fields<'_>>(text).unwrap_or_default();
        match fields.find() {
            siem::Found::Raw(raw) => self.string_value(raw, level, visit),
            siem::Found::NoRaw(name) => {
                siem::tell_how_to_export(name);
                visit(Item::Bad {
                    bytes,
                    error: RecordError::NoRaw(name),
                })
            }
            siem::Found::Nothing => visit(Item::Bad {
                bytes,
                error: RecordError::NotCloudTrail,
            }),
        }
    }

    /// Values one after another, each read as a value of its own; what cannot be read is one bad
    /// piece.
    fn concatenated(&mut self, text: &str, level: usize, visit: &mut dyn FnMut(Item<'_, '_>)) {
        self.concatenated_from(text, 0, level, visit);
    }

    /// [`Unwrapper::concatenated`], the first `skip` values already read (their errors keep
    /// their columns in the whole line).
    fn concatenated_from(
        &mut self,
        text: &str,
        skip: usize,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) {
        let mut values = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
        for _ in 0..skip {
            values.next();
        }
        loop {
            let at = values.byte_offset();
            match values.next() {
                None => return,
                Some(Ok(raw)) => self.text(raw.get(), level + 1, visit),
                Some(Err(e)) => {
                    let rest = text[at..].trim_start().as_bytes();
                    return visit(Item::Bad {
                        bytes: rest,
                        error: RecordError::json(e, rest),
                    });
                }
            }
        }
    }

    /// A JSON string holding a record: decoded into this level's buffer, then read as a value.
    fn string_value(&mut self, lit: &RawValue, level: usize, visit: &mut dyn FnMut(Item<'_, '_>)) {
        let what = "payload or CloudTrailEvent is not a JSON string";
        self.string_value_or(lit, what, level, visit);
    }

    /// [`Unwrapper::string_value`], saying `what` when `lit` is no string.
    fn string_value_or(
        &mut self,
        lit: &RawValue,
        what: &'static str,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) {
        let mut buf = self.take(level);
        // A raw value that starts with a quote is a whole, well-formed string: it ends with one.
        let contents = lit.get().strip_prefix('"').and_then(|s| s.strip_suffix('"'));
        if contents.is_some_and(|s| json::unescape_into(s.as_bytes(), &mut buf)) {
            self.value(&buf, level + 1, visit);
        } else {
            visit(Item::Bad {
                bytes: lit.get().as_bytes(),
                error: RecordError::BadEnvelope(what),
            });
        }
        self.put(level, buf);
    }

    fn elements(&mut self, items: &[&RawValue], level: usize, visit: &mut dyn FnMut(Item<'_, '_>)) {
        for item in items {
            self.element(item.get(), level, visit);
        }
    }

    /// One element of an envelope's array.
    fn element(&mut self, raw: &str, level: usize, visit: &mut dyn FnMut(Item<'_, '_>)) {
        if !raw.starts_with('{') {
            return visit(Item::Bad {
                bytes: raw.as_bytes(),
                error: RecordError::BadEnvelope("array element is not an object"),
            });
        }
        if memchr::memchr2(b'\n', b'\r', raw.as_bytes()).is_some() {
            // A pretty-printed container: each record is joined onto one line.
            let mut buf = self.take(level);
            minify_into(raw.as_bytes(), &mut buf);
            self.value(&buf, level + 1, visit);
            self.put(level, buf);
        } else {
            self.text(raw, level + 1, visit);
        }
    }

    /// An S3 trail file as CloudTrail writes it, `{"Records":[…]}` on one line: each record
    /// decoded where it stands, in one pass. Trail files are most of a backfill's bytes, and the
    /// general way reads each byte four times (as a record, as serde_json's envelope, the UTF-8 of
    /// each element again, then its decoding). `false`: not that shape, nothing visited.
    ///
    /// A valid file gives what the general way gives. A broken one gives its records up to the
    /// break, and the rest as one bad piece, where the general way rejects the whole file.
    fn trail_file(&mut self, text: &str, level: usize, visit: &mut dyn FnMut(Item<'_, '_>)) -> bool {
        // Two levels of room: the general way reads values run together one level deeper.
        if level + 2 >= MAX_LEVELS || memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_some() {
            return false; // pretty-printed: the general way joins each record onto one line
        }
        let Some(mut elements) = Elements::new(text, "Records") else {
            return false;
        };
        while let Some(element) = elements.next::<Event<'_>>() {
            match element {
                Element::Decoded(span, event) => {
                    let record = &text[span];
                    if record.starts_with('{') && event.looks_like_cloudtrail() {
                        // Decoded by the scanner: it holds no raw member to check (see `text`).
                        let splice = splice_point(record, &event);
                        visit(Item::Record(Record {
                            text: record,
                            splice,
                            event: &event,
                        }));
                    } else {
                        self.element(record, level, visit); // not an object, an envelope, OCSF…
                    }
                }
                Element::GaveUp(start) => match self.slow_element(text, start, level, visit) {
                    Some(len) => elements.resume(start + len),
                    None => return true,
                },
                Element::Broken(at) => return broken(&text[at..], BROKEN_TRAIL_FILE, visit),
            }
        }
        let rest = elements.rest().trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            // More values on the line (`cat *.json.gz` of files without a final newline): each
            // read on its own, as the general way reads them.
            if !after.trim().is_empty() {
                self.concatenated_from(text, 1, level, visit);
            }
        } else if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
            // Members after `Records` (never in CloudTrail's files) are ignored, as the general
            // way ignores them, when the whole is valid JSON.
            broken(rest, BROKEN_TRAIL_FILE, visit);
        }
        true
    }

    /// The element at `start` of trail file `text` that the scanner gave up on, read by
    /// serde_json: its length, or `None` when the file is broken there (the rest then visited as
    /// one bad piece).
    fn slow_element(
        &mut self,
        text: &str,
        start: usize,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) -> Option<usize> {
        let from = &text[start..];
        let error = match serde_json::Deserializer::from_str(from)
            .into_iter::<&RawValue>()
            .next()
        {
            Some(Ok(raw)) => {
                // serde_json reads a raw value past the nesting it refuses in a whole file: near
                // its limit, the file is read as the general way reads it.
                let deep = scan::nests_deeper_than(raw.get().as_bytes(), scan::SERDE_NESTING_LIMIT - 3);
                match deep.then(|| decode(text).err()).flatten() {
                    Some(e) => RecordError::json(e, text.as_bytes()),
                    None => {
                        self.element(raw.get(), level, visit);
                        return Some(raw.get().len());
                    }
                }
            }
            Some(Err(e)) => RecordError::json(e, from.as_bytes()),
            None => BROKEN_TRAIL_FILE,
        };
        broken(from, error, visit);
        None
    }

    fn take(&mut self, level: usize) -> Vec<u8> {
        if self.bufs.len() <= level {
            self.bufs.resize_with(level + 1, Vec::new);
        }
        let mut b = std::mem::take(&mut self.bufs[level]);
        b.clear();
        b
    }

    fn put(&mut self, level: usize, buf: Vec<u8>) {
        self.bufs[level] = buf;
    }
}

/// The rest of a value, from where it breaks, as one bad piece. Returns `true`: it was visited.
fn broken(rest: &str, error: RecordError, visit: &mut dyn FnMut(Item<'_, '_>)) -> bool {
    visit(Item::Bad {
        bytes: rest.trim().as_bytes(),
        error,
    });
    true
}

/// `lookup-events`' `Events` in the order they happened. The CLI merges its pages into one
/// document newest first, so the document is read backwards; and when every event has an
/// `EventTime` that reads (an ISO time in any zone, or epoch seconds: `cli_timestamp_format`),
/// stably by it, so pages merged in another order come out oldest first too. Events of one second
/// keep the reverse of the document's order.
fn oldest_first(items: &mut [&RawValue]) {
    items.reverse();
    #[derive(serde::Deserialize)]
    struct When<'a> {
        #[serde(borrow, rename = "EventTime")]
        time: Option<&'a RawValue>,
    }
    let when = |item: &RawValue| -> Option<crate::time::Epoch> {
        let raw = serde_json::from_str::<When<'_>>(item.get()).ok()?.time?;
        match serde_json::from_str::<serde_json::Value>(raw.get()).ok()? {
            serde_json::Value::String(s) => crate::time::parse_time(&s),
            serde_json::Value::Number(n) => n.as_f64().map(|f| f.floor() as i64),
            _ => None,
        }
    };
    let Some(times) = items.iter().map(|i| when(i)).collect::<Option<Vec<_>>>() else {
        return;
    };
    if !times.is_sorted() {
        let mut timed: Vec<_> = times.into_iter().zip(items.iter().copied()).collect();
        timed.sort_by_key(|(t, _)| *t);
        for (slot, (_, item)) in items.iter_mut().zip(timed) {
            *slot = item;
        }
    }
}

/// Where `,"ctail":{…}` goes: before the closing brace, or in place of the annotation a previous
/// run of ctail-filter left as the last member (so a second pass replaces it, never duplicates it).
fn splice_point(text: &str, event: &Event<'_>) -> usize {
    let close = text.trim_end().len() - 1;
    if let Some(old) = event.ctail {
        let start = old.get().as_ptr() as usize - text.as_ptr() as usize;
        let end = start + old.get().len();
        let before = text[..start].trim_end();
        if text[end..].trim() == "}" {
            if let Some(key) = before
                .strip_suffix(':')
                .map(str::trim_end)
                .and_then(|b| b.strip_suffix("\"ctail\""))
            {
                if let Some(comma) = key.trim_end().strip_suffix(',') {
                    return comma.len();
                }
            }
        }
    }
    close
}

/// Whether `text` starts with a complete JSON value followed by more than whitespace: values run
/// together on one line (`cat *.json.gz` of members without a final newline, records joined by a
/// tool), each to be read on its own.
fn holds_several_values(text: &str) -> bool {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    matches!(values.next(), Some(Ok(_))) && !text[values.byte_offset()..].trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str) -> Vec<String> {
        let mut u = Unwrapper::default();
        let mut out = Vec::new();
        u.each(input.as_bytes(), &mut |item| match item {
            Item::Record(r) => out.push(format!(
                "{}|{}",
                &r.text[..r.splice],
                r.event.event_name.get().unwrap_or("")
            )),
            Item::Bad { error, .. } => out.push(format!("bad: {error}")),
            Item::Skipped => out.push("skipped".into()),
        });
        out
    }

    #[test]
    fn subscription_payloads() {
        let data = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1,"message":"{\"eventName\":\"A\"}"},{"id":"2","timestamp":2,"message":"{\"eventName\":\"B\"}"}]}"#;
        assert_eq!(records(data), [r#"{"eventName":"A"|A"#, r#"{"eventName":"B"|B"#]);
        let control = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        assert_eq!(records(control), ["skipped"]);
        // Firehose: payloads back to back on one line; a message holding the seam's text (its
        // quotes escaped) is not cut.
        let tricky = r#"{"messageType":"DATA_MESSAGE","logEvents":[{"message":"{\"eventName\":\"C\",\"x\":\"}{\\\"messageType\\\":\"}"}]}"#;
        assert_eq!(
            records(&format!("{data}{control}{tricky}{data}")),
            [
                r#"{"eventName":"A"|A"#,
                r#"{"eventName":"B"|B"#,
                "skipped",
                r#"{"eventName":"C","x":"}{\"messageType\":"|C"#,
                r#"{"eventName":"A"|A"#,
                r#"{"eventName":"B"|B"#
            ]
        );
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data.as_bytes()).unwrap();
        let b64 = super::subscription::tests::b64(&gz.finish().unwrap());
        let lambda = format!(r#"{{"awslogs":{{"data":"{b64}"}}}}"#);
        assert_eq!(
            records(&lambda),
            [r#"{"eventName":"A"|A"#, r#"{"eventName":"B"|B"#]
        );
        assert_eq!(
            records(r#"{"awslogs":{"data":"!!"}}"#),
            ["bad: CloudWatch Logs subscription payload: awslogs.data is not base64 (at character 0)"]
        );
        assert_eq!(
            records(r#"{"messageType":"DATA_MESSAGE","logEvents":5}"#),
            ["bad: malformed envelope: logEvents is not an array"]
        );
    }

    /// A Lambda event as Lambda gives it is read without the general path's two passes; any
    /// other spelling of it takes the general path. Both read the same records, and a payload
    /// that does not open is worded by the general path either way.
    #[test]
    fn lambda_events_read_alike_whichever_path_takes_them() {
        use std::io::Write;
        let data = r#"{"messageType":"DATA_MESSAGE","logEvents":[{"message":"{\"eventName\":\"A\"}"},{"message":"{\"eventName\":\"B\"}"}]}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data.as_bytes()).unwrap();
        let b64 = super::subscription::tests::b64(&gz.finish().unwrap());
        let want = [r#"{"eventName":"A"|A"#, r#"{"eventName":"B"|B"#];
        for line in [
            format!(r#"{{"awslogs":{{"data":"{b64}"}}}}"#),
            format!("{{\"awslogs\":{{\"data\":\"{b64}\"}}}} \t"),
            format!(r#"{{ "awslogs" : {{ "data" : "{b64}" }} }}"#),
            format!(r#"{{"awslogs":{{"data":"{b64}"}},"x":1}}"#),
            format!(r#"{{"awslogs":{{"data":"{}"}}}}"#, b64.replace('/', "\\/")),
        ] {
            assert_eq!(records(&line), want, "{line}");
        }
        // Only the spelling Lambda uses takes the one-pass path (the others read alike above).
        let takes_fast_path = |line: &str| Unwrapper::default().lambda_event(line, 0, &mut |_| {});
        assert!(takes_fast_path(&format!(r#"{{"awslogs":{{"data":"{b64}"}}}}"#)));
        assert!(!takes_fast_path(&format!(
            r#"{{ "awslogs" : {{ "data" : "{b64}" }} }}"#
        )));
        assert!(!takes_fast_path(&format!(
            r#"{{"awslogs":{{"data":"{b64}"}},"x":1}}"#
        )));
        let not_gzip = format!(
            r#"{{"awslogs":{{"data":"{}"}}}}"#,
            super::subscription::tests::b64(b"hello")
        );
        assert_eq!(
            records(&not_gzip),
            ["bad: CloudWatch Logs subscription payload: awslogs.data is not gzip, or its gzip stream is broken"]
        );
        let control = format!("{{\"awslogs\":{{\"data\":\"{b64}\u{1}\"}}}}");
        assert!(
            records(&control)[0].starts_with("bad: invalid JSON"),
            "{:?}",
            records(&control)
        );
    }

    #[test]
    fn siem_exports() {
        let want = [r#"{"eventName":"A"|A"#];
        assert_eq!(
            records(r#"{"@timestamp":"x","event":{"original":"{\"eventName\":\"A\"}"}}"#),
            want
        );
        assert_eq!(records(r#"{"event.original":"{\"eventName\":\"A\"}"}"#), want);
        assert_eq!(
            records(r#"{"_raw":"{\"eventName\":\"A\"}","sourcetype":"aws:cloudtrail"}"#),
            want
        );
        assert_eq!(
            records(r#"{"preview":false,"result":{"_raw":"{\"eventName\":\"A\"}"}}"#),
            want
        );
        assert_eq!(records(r#"{"message":"{\"eventName\":\"A\"}","host":"h"}"#), want);
        // Plain text in message is not a record.
        assert_eq!(records(r#"{"message":"hello"}"#), ["bad: not a CloudTrail event"]);
        assert_eq!(
            records(
                r#"{"event":{"dataset":"aws.cloudtrail"},"aws":{"cloudtrail":{"event_version":"1.08"}}}"#
            ),
            ["bad: Elastic export without the raw CloudTrail record (event.original or _raw)"]
        );
        assert_eq!(
            records(r#"{"result":{"sourcetype":"aws:cloudtrail","eventName":"A"}}"#),
            ["bad: Splunk export without the raw CloudTrail record (event.original or _raw)"]
        );
    }

    #[test]
    fn ocsf_records_are_written_as_themselves() {
        let text =
            r#"{"class_uid":6003,"metadata":{"product":{"name":"CloudTrail"}},"api":{"operation":"A"}}"#;
        assert_eq!(records(text), [format!("{}|A", &text[..text.len() - 1])]);
        let mut u = Unwrapper::default();
        u.each(text.as_bytes(), &mut |item| {
            let Item::Record(r) = item else { panic!() };
            assert_eq!(r.event.shape.get(), Some("ocsf"));
        });
        assert_eq!(records(r#"{"class_uid":4001}"#), ["bad: not a CloudTrail event"]);
    }

    #[test]
    fn plain_record() {
        assert_eq!(
            records(r#"{"eventName":"A","x":1}"#),
            [r#"{"eventName":"A","x":1|A"#]
        );
    }

    #[test]
    fn envelopes() {
        assert_eq!(
            records(r#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#),
            [r#"{"eventName":"A"|A"#, r#"{"eventName":"B"|B"#]
        );
        assert_eq!(
            records(r#"{"version":"0","detail-type":"x","detail":{"eventName":"A"}}"#),
            [r#"{"eventName":"A"|A"#]
        );
        assert_eq!(
            records(r#"{"topic":"t","payload":"{\"eventName\":\"A\"}"}"#),
            [r#"{"eventName":"A"|A"#]
        );
        // lookup-events: newest first, read backwards.
        assert_eq!(
            records(
                r#"{"Events":[{"EventId":"1","CloudTrailEvent":"{\"eventName\":\"B\"}"},{"CloudTrailEvent":"{\"eventName\":\"A\"}"}]}"#
            ),
            [r#"{"eventName":"A"|A"#, r#"{"eventName":"B"|B"#]
        );
        // kcat carrying EventBridge.
        assert_eq!(
            records(r#"{"payload":"{\"detail-type\":\"x\",\"detail\":{\"eventName\":\"A\"}}"}"#),
            [r#"{"eventName":"A"|A"#]
        );
        assert_eq!(
            records("[{\n \"eventName\": \"A\"\n}, 5]"),
            [
                r#"{"eventName":"A"|A"#,
                "bad: malformed envelope: array element is not an object"
            ]
        );
    }

    #[test]
    fn concatenated_values_on_one_line() {
        assert_eq!(
            records(r#"{"Records":[{"eventName":"A"}]}{"Records":[{"eventName":"B"}]} {"eventName":"C"}"#),
            [
                r#"{"eventName":"A"|A"#,
                r#"{"eventName":"B"|B"#,
                r#"{"eventName":"C"|C"#
            ]
        );
        let r = records(r#"{"eventName":"A"}{"eventName":"#);
        assert_eq!(r[0], r#"{"eventName":"A"|A"#);
        assert!(r[1].starts_with("bad: invalid JSON"), "{r:?}");
    }

    /// Found by `cargo fuzz run envelope`: an OCSF record with a space before it went out with
    /// the space. A string's record may have spaces around it; it is written without them.
    #[test]
    fn spaces_around_a_value_are_not_part_of_its_record() {
        assert_eq!(
            records(r#"{"topic":"t","payload":" {\"eventName\":\"A\"}\n "}"#),
            [r#"{"eventName":"A"|A"#]
        );
        let ocsf = r#"{"class_uid":6003,"api":{"operation":"ListBuckets","service":{"name":"s3.amazonaws.com"}},"actor":{"user":{"type":"IAMUser","uid":"arn:aws:iam::1:user/a"}},"metadata":{"uid":"e1"},"time":1718092830000}"#;
        let spaced = records(&format!(" {ocsf} "));
        assert_eq!(spaced, records(ocsf));
        assert!(spaced[0].starts_with("{\"class_uid\""), "{spaced:?}");
    }

    /// Found on the last read of the change: the delivery envelopes' members, read in the one
    /// serde pass that fails on a duplicate key, made a SIEM line with two `status` members (or
    /// `data`, `body`, …) lose its record. Those members are read in a pass that only says
    /// whether the value is a delivery envelope.
    #[test]
    fn a_duplicate_member_that_a_delivery_envelope_would_use_loses_nothing() {
        for key in ["status", "data", "body", "events", "Message", "results"] {
            let line = format!(r#"{{"{key}":1,"{key}":2,"message":"{{\"eventName\":\"A\"}}"}}"#);
            assert_eq!(records(&line), [r#"{"eventName":"A"|A"#], "{line}");
        }
    }

    #[test]
    fn bad_values() {
        assert_eq!(records(r#"{"foo":1}"#), ["bad: not a CloudTrail event"]);
        assert_eq!(records(r#"{"eventName":"#)[0].split(':').next(), Some("bad"));
        assert!(records(&format!("{}{}", "[".repeat(1000), "]".repeat(1000)))[0].starts_with("bad"));
        assert!(records(&format!(
            "{{\"eventName\":{}{}}}",
            "[".repeat(1000),
            "]".repeat(1000)
        ))[0]
            .contains("nested too deeply"));
        let mut u = Unwrapper::default();
        let mut n = 0;
        u.each(b"{\"eventName\":\"\xff\"}", &mut |i| {
            assert!(matches!(
                i,
                Item::Bad {
                    error: RecordError::InvalidUtf8,
                    ..
                }
            ));
            n += 1;
        });
        assert_eq!(n, 1);
    }

    #[test]
    fn a_previous_annotation_is_replaced() {
        assert_eq!(
            records(r#"{"eventName":"A" , "ctail" : {"session":"x"} }"#),
            [r#"{"eventName":"A" |A"#]
        );
        // Not the last member: left alone, the new annotation is added at the end.
        assert_eq!(
            records(r#"{"ctail":{},"eventName":"A"}"#),
            [r#"{"ctail":{},"eventName":"A"|A"#]
        );
    }

    /// `lookup-events` entries named by their event names, with the given `EventTime`s.
    fn lookup(entries: &[(&str, &str)]) -> String {
        let events: Vec<String> = entries
            .iter()
            .map(|(name, time)| {
                let time = if time.is_empty() {
                    String::new()
                } else {
                    format!(r#""EventTime":{time},"#)
                };
                format!(r#"{{"EventName":"{name}",{time}"CloudTrailEvent":"{{\"eventName\":\"{name}\"}}"}}"#)
            })
            .collect();
        format!(r#"{{"Events":[{}],"NextToken":null}}"#, events.join(","))
    }

    fn names(input: &str) -> Vec<String> {
        records(input)
            .iter()
            .map(|r| r.rsplit('|').next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn lookup_events_come_out_oldest_first() {
        // As the CLI writes it: newest first, in its local zone; two events in one second.
        let cli = lookup(&[
            ("D", r#""2024-05-01T02:03:00+02:00""#),
            ("C2", r#""2024-05-01T02:02:00+02:00""#),
            ("C1", r#""2024-05-01T02:02:00+02:00""#),
            ("B", r#""2024-05-01T00:01:00Z""#),
            ("A", r#""2024-05-01T02:00:00+02:00""#),
        ]);
        assert_eq!(names(&cli), ["A", "B", "C1", "C2", "D"]);
        // Two pages merged oldest page first (jq '.Events += …'): still oldest first.
        let merged = lookup(&[
            ("B", "1714521660"),
            ("A", "1714521600.5"),
            ("D", "1714521780"),
            ("C", "1714521720"),
        ]);
        assert_eq!(names(&merged), ["A", "B", "C", "D"]);
        // An event without a time that reads: the document's order, backwards.
        for odd in ["", r#""yesterday""#, "null", "{}"] {
            let doc = lookup(&[("B", "1714521660"), ("X", odd), ("A", "1714521720")]);
            assert_eq!(names(&doc), ["A", "X", "B"], "EventTime {odd:?}");
        }
        // Not an object: reported where it stands, backwards.
        let doc = r#"{"Events":[{"CloudTrailEvent":"{\"eventName\":\"B\"}"},7,{"CloudTrailEvent":"{\"eventName\":\"A\"}"}]}"#;
        assert_eq!(
            records(doc),
            [
                r#"{"eventName":"A"|A"#,
                "bad: malformed envelope: array element is not an object",
                r#"{"eventName":"B"|B"#
            ]
        );
        // S3's Records keep their order.
        assert_eq!(
            names(
                r#"{"Records":[{"eventName":"B","eventTime":"2024-05-01T00:02:00Z"},{"eventName":"A","eventTime":"2024-05-01T00:01:00Z"}]}"#
            ),
            ["B", "A"]
        );
    }

    /// The trail-file path (`{"Records":[` first) against the general way (the same text after a
    /// space): on valid JSON they agree, record for record.
    #[test]
    fn trail_files_read_as_the_general_way_reads_them() {
        let a = r#"{"eventVersion":"1.08","eventName":"A"}"#;
        let b = r#"{"eventVersion":"1.08","eventName":"B","ctail":{"old":1}}"#;
        for text in [
            format!(r#"{{"Records":[{a},{b}]}}"#),
            r#"{"Records":[]}"#.to_string(),
            format!(r#"{{"Records":[{a},5,"x",[],{a}]}}"#),
            // An escaped key: the scanner gives up on that element, serde_json reads it.
            format!(r#"{{"Records":[{{"event\u004eame":"E"}},{a}]}}"#),
            format!(r#"{{"Records":[{a}],"Other":[1,{{}}]}}"#),
            format!(r#"{{"Records":[{{"Records":[{a}]}},{{"detail":{b}}}]}}"#),
            format!(r#"{{"Records":[ {a} , {b} ] }}  "#),
            // Nesting just within serde_json's limit.
            format!(
                r#"{{"Records":[{a},{{"eventName":"D","x":{}{}}}]}}"#,
                "[".repeat(124),
                "]".repeat(124)
            ),
            format!(r#"{{"Records":[{a}]}}{{"Records":[{b}]}} {a}"#),
        ] {
            assert_eq!(records(&text), records(&format!(" {text}")), "{text}");
        }
        // An error after values run together keeps its column in the whole line.
        let cut = format!(r#"{{"Records":[{a}]}}{{"Records":[{b}]}} {{"#);
        assert_eq!(
            records(&cut).last().unwrap(),
            &format!(
                "bad: invalid JSON: EOF while parsing an object at line 1 column {}",
                cut.len()
            )
        );
    }

    /// A broken trail file gives its records up to the break, and the rest as one bad piece
    /// (the general way rejects the whole value).
    #[test]
    fn a_broken_trail_file_keeps_its_records_before_the_break() {
        // Record names, and each bad piece as its error and its bytes.
        fn read(text: &str) -> Vec<String> {
            let mut out = Vec::new();
            Unwrapper::default().each(text.as_bytes(), &mut |item| match item {
                Item::Record(r) => out.push(r.event.event_name.get().unwrap_or("").to_string()),
                Item::Bad { bytes, error } => {
                    out.push(format!("bad: {error}: {}", String::from_utf8_lossy(bytes)))
                }
                Item::Skipped => out.push("skipped".into()),
            });
            out
        }
        let a = r#"{"eventName":"A"}"#;
        let broken = "bad: malformed envelope: Records is broken from here on";
        assert_eq!(
            read(&format!(r#"{{"Records":[{a},{{"eventName":"B",}},{a}]}}"#)),
            [
                "A".to_string(),
                format!(
                    r#"bad: invalid JSON: key must be a string at line 1 column 18: {{"eventName":"B",}},{a}]}}"#
                )
            ]
        );
        assert_eq!(
            read(&format!(r#"{{"Records":[{a} {a}]}}"#)),
            ["A".to_string(), format!("{broken}: {a}]}}")]
        );
        // Nesting past serde_json's limit: its error, as for the whole file.
        let deep = format!(
            r#"{{"eventName":"D","x":{}{}}}"#,
            "[".repeat(125),
            "]".repeat(125)
        );
        assert_eq!(
            read(&format!(r#"{{"Records":[{a},{deep},{a}]}}"#)),
            [
                "A".to_string(),
                format!("bad: invalid JSON: recursion limit exceeded at line 1 column 176: {deep},{a}]}}")
            ]
        );
        assert_eq!(
            read(&format!(r#"{{"Records":[{a}],"x":}}"#)),
            ["A".to_string(), format!(r#"{broken}: ,"x":}}"#)]
        );
    }
}
