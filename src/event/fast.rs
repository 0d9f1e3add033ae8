//! The fast path of [`decode`](super::decode): a single forward scan that reads the fields we
//! need and checks the rest is well-formed JSON, written for the common record.
//!
//! serde_json is the authority on what is JSON and on every error message. This scanner only
//! ever says "the record is this" or "I don't know" ([`Bail`]); on the second, `decode` asks
//! serde_json, which reads the record the slow way and reports its own error when there is one.
//! So the scanner may be stricter than serde_json (it gives up on anything unusual: escapes in
//! keys, `\u` surrogates, exponents, control characters, envelopes, nesting near the limit), but
//! must never accept what serde_json refuses nor read a field differently. `tests::agrees_*`
//! and the `decode` fuzz target hold it to that.
//!
//! Why not serde: the derive-style visitors monomorphise serde_json's parser once per field type
//! and struct; with the 62 fields lineage reads that code no longer fits the instruction cache,
//! and decoding was 70% of the run time. This is one small loop.

use super::Str;
use crate::json::{self, hex4};
use std::borrow::Cow;
use std::ops::Range;

/// The scanner gives up; serde_json decides.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Bail;

/// serde_json refuses the 128th level of nesting; we give up before it.
const MAX_DEPTH: u32 = 127;

pub(crate) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
}

/// Reads one value of a field's type at the scanner's position.
pub(crate) trait Scan<'a>: Sized {
    fn scan(sc: &mut Scanner<'a>) -> Result<Self, Bail>;
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Scanner {
            text,
            pos: 0,
            depth: 0,
        }
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte that is not JSON whitespace, not consumed.
    #[inline(always)]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        let b = self.bytes();
        // Compact records have no whitespace: one test for the common case.
        match b.get(self.pos) {
            Some(&c) if c > b' ' => return Some(c),
            _ => {}
        }
        while let Some(&c) = b.get(self.pos) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(c);
            }
            self.pos += 1;
        }
        None
    }

    /// Whether only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// Enters an object at `{`. `Ok(false)`: it was empty, and is already left.
    pub(crate) fn enter_object(&mut self) -> Result<bool, Bail> {
        self.enter(b'}')
    }

    /// After a member: `Ok(true)` when another follows (the comma consumed), `Ok(false)` when the
    /// object closed here.
    pub(crate) fn next_member(&mut self) -> Result<bool, Bail> {
        self.next_in(b'}')
    }

    /// Enters an array at `[`. `Ok(false)`: it was empty, and is already left.
    pub(crate) fn enter_array(&mut self) -> Result<bool, Bail> {
        self.enter(b']')
    }

    /// After an element: `Ok(true)` when another follows (the comma consumed), `Ok(false)` when
    /// the array closed here.
    pub(crate) fn next_element(&mut self) -> Result<bool, Bail> {
        self.next_in(b']')
    }

    /// Enters the container at the scanner's `{` or `[`, which `close` ends.
    #[inline(always)]
    fn enter(&mut self, close: u8) -> Result<bool, Bail> {
        // An empty container counts towards serde_json's limit too.
        if self.depth + 1 >= MAX_DEPTH {
            return Err(Bail);
        }
        self.pos += 1;
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(false);
        }
        self.depth += 1;
        Ok(true)
    }

    /// After a value in the container that `close` ends: another follows, or it closed.
    #[inline(always)]
    fn next_in(&mut self, close: u8) -> Result<bool, Bail> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                self.depth -= 1;
                Ok(false)
            }
            _ => Err(Bail),
        }
    }

    /// Where the scanner is, in bytes from the start of the text.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// A string without escapes (a value compared with a known word).
    pub(crate) fn plain_string(&mut self) -> Result<&'a str, Bail> {
        if self.peek() != Some(b'"') {
            return Err(Bail);
        }
        match self.string()? {
            (s, false) => Ok(s),
            _ => Err(Bail),
        }
    }

    /// A string, its escapes decoded into `out[..len]` (see [`json::unescape_string`]): `len`.
    pub(crate) fn string_into(&mut self, out: &mut Vec<u8>) -> Result<usize, Bail> {
        if self.peek() != Some(b'"') {
            return Err(Bail);
        }
        let (end, len) = json::unescape_string(self.bytes(), self.pos + 1, out).ok_or(Bail)?;
        self.pos = end;
        Ok(len)
    }

    /// A member's key and its colon. Keys with escapes are left to serde_json.
    pub(crate) fn key(&mut self) -> Result<&'a str, Bail> {
        if self.peek() != Some(b'"') {
            return Err(Bail);
        }
        let (key, escaped) = self.string()?;
        if escaped || self.peek() != Some(b':') {
            return Err(Bail);
        }
        self.pos += 1;
        Ok(key)
    }

    /// At a `"`: the string's text as written, and whether it holds escapes (all of which are
    /// checked to be valid and not surrogates).
    #[inline(always)]
    fn string(&mut self) -> Result<(&'a str, bool), Bail> {
        let b = self.bytes();
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            i = special(b, i).ok_or(Bail)?;
            match b[i] {
                b'"' => break,
                b'\\' => {}
                _ => return Err(Bail), // a raw control character
            }
            escaped = true;
            i += match b.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                Some(b'u') => match b.get(i + 2..i + 6).and_then(hex4) {
                    Some(c) if !(0xD800..0xE000).contains(&c) => 6,
                    _ => return Err(Bail),
                },
                _ => return Err(Bail),
            };
        }
        self.pos = i + 1;
        // Both ends are ASCII quotes, so these are character boundaries.
        Ok((self.text.get(start..i).ok_or(Bail)?, escaped))
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Bail> {
        if self.bytes().get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// A number in JSON's grammar. Returns its text when it is a non-negative integer short
    /// enough to be a `u64`, the only kind a string field keeps. Exponents and very long numbers
    /// are left to serde_json, which refuses numbers out of `f64`'s range.
    fn number(&mut self) -> Result<Option<&'a str>, Bail> {
        let b = self.bytes();
        let start = self.pos;
        let mut i = start;
        let negative = b.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let int_start = i;
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return Err(Bail),
        }
        let int_digits = i - int_start;
        let mut integer = true;
        if b.get(i) == Some(&b'.') {
            integer = false;
            i += 1;
            let frac = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == frac {
                return Err(Bail);
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) || int_digits > 300 {
            return Err(Bail);
        }
        self.pos = i;
        Ok((integer && !negative && int_digits <= 19).then(|| &self.text[start..i]))
    }

    /// Skips one value, checking it. Iterative: the open containers are bits of a `u128`
    /// (1 = object), which the depth limit keeps within.
    pub(crate) fn skip(&mut self) -> Result<(), Bail> {
        let mut open: u128 = 0;
        let mut levels: u32 = 0;
        loop {
            // One value.
            match self.peek().ok_or(Bail)? {
                b'"' => {
                    self.string()?;
                }
                c @ (b'{' | b'[') => {
                    if self.depth + levels + 1 >= MAX_DEPTH {
                        return Err(Bail);
                    }
                    self.pos += 1;
                    let close = if c == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                    } else {
                        levels += 1;
                        open = open << 1 | u128::from(c == b'{');
                        if c == b'{' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => {
                    self.number()?;
                }
                _ => return Err(Bail),
            }
            // After a value: the next element, or the ends of containers.
            loop {
                if levels == 0 {
                    return Ok(());
                }
                let object = open & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if object {
                            self.key()?;
                        }
                        break;
                    }
                    Some(b'}') if object => {}
                    Some(b']') if !object => {}
                    _ => return Err(Bail),
                }
                self.pos += 1;
                open >>= 1;
                levels -= 1;
            }
        }
    }
}

/// The elements of `{"KEY":[…]}` (an S3 trail file), each decoded where it stands: one pass over
/// the bytes, where finding the elements first and decoding them after would be two.
pub(crate) struct Elements<'a> {
    sc: Scanner<'a>,
    /// An element was read: a `,` or the `]` comes next.
    after_element: bool,
    closed: bool,
}

/// One step through [`Elements`].
pub(crate) enum Element<T> {
    /// An element, decoded, and where it is.
    Decoded(Range<usize>, T),
    /// The scanner gave up on the element that starts here: the caller reads it its own way and
    /// then calls [`Elements::resume`] after it (or stops, when it is broken).
    GaveUp(usize),
    /// No element, `,` nor `]` where one must be: the array is broken from here on.
    Broken(usize),
}

impl<'a> Elements<'a> {
    /// At the first element of `text`'s `"KEY":[`, when `text` starts so.
    pub(crate) fn new(text: &'a str, key: &str) -> Option<Self> {
        let mut sc = Scanner::new(text);
        if sc.peek() != Some(b'{') || !sc.enter_object().ok()? || sc.key().ok()? != key {
            return None;
        }
        if sc.peek() != Some(b'[') {
            return None;
        }
        sc.pos += 1;
        sc.depth += 1;
        Some(Elements {
            sc,
            after_element: false,
            closed: false,
        })
    }

    /// The next element, or `None` once the array has closed.
    pub(crate) fn next<T: Scan<'a>>(&mut self) -> Option<Element<T>> {
        if self.closed {
            return None;
        }
        let sc = &mut self.sc;
        match sc.peek() {
            Some(b']') => {
                sc.pos += 1;
                sc.depth -= 1;
                self.closed = true;
                return None;
            }
            Some(b',') if self.after_element => sc.pos += 1,
            _ if self.after_element => return Some(Element::Broken(sc.pos)),
            _ => {}
        }
        if sc.peek().is_none() {
            return Some(Element::Broken(sc.pos));
        }
        let start = sc.pos;
        self.after_element = true;
        let depth = sc.depth;
        match T::scan(sc) {
            Ok(value) => Some(Element::Decoded(start..sc.pos, value)),
            Err(Bail) => {
                sc.depth = depth;
                Some(Element::GaveUp(start))
            }
        }
    }

    /// Goes on after an element the caller read itself, which ended at `end`.
    pub(crate) fn resume(&mut self, end: usize) {
        self.sc.pos = end;
    }

    /// What follows the array's `]`: `}` and whitespace in a trail file.
    pub(crate) fn rest(&self) -> &'a str {
        &self.sc.text[self.sc.pos..]
    }
}

/// The first byte from `i` on that ends or interrupts a string's plain text: a quote, a
/// backslash, or a control character (which JSON strings may not hold raw). Eight bytes at a
/// time, as serde_json does: most strings in a record are short, too short for a call into
/// `memchr` to pay for its setup.
#[inline]
fn special(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(chunk) = b.get(i..i + 8) {
        let hits = json::specials(u64::from_le_bytes(chunk.try_into().ok()?));
        if hits != 0 {
            return Some(i + hits.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    b.get(i..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|n| i + n)
}

/// Decodes a string's escapes (already checked by [`Scanner::string`]).
fn unescape(raw: &str) -> Result<String, Bail> {
    let mut out = Vec::with_capacity(raw.len());
    if !json::unescape_into(raw.as_bytes(), &mut out) {
        return Err(Bail);
    }
    // Text between escapes is copied from a `&str` and escapes decode to chars: always UTF-8.
    String::from_utf8(out).map_err(|_| Bail)
}

impl<'a> Scan<'a> for Str<'a> {
    /// Not inlined: one copy for every string field keeps the decoder small.
    #[inline(never)]
    fn scan(sc: &mut Scanner<'a>) -> Result<Self, Bail> {
        match sc.peek().ok_or(Bail)? {
            b'"' => {
                let (s, escaped) = sc.string()?;
                Ok(Str(Some(if escaped {
                    Cow::Owned(unescape(s)?)
                } else {
                    Cow::Borrowed(s)
                })))
            }
            b'n' => sc.literal(b"null").map(|()| Str(None)),
            b't' => sc.literal(b"true").map(|()| Str::from_static("true")),
            b'f' => sc.literal(b"false").map(|()| Str::from_static("false")),
            b'-' | b'0'..=b'9' => match sc.number()? {
                Some(digits) => Ok(Str(Some(Cow::Borrowed(digits)))),
                // Negative integers and fractions: rare, and serde_json's reading is the rule.
                None => Err(Bail),
            },
            b'{' | b'[' => sc.skip().map(|()| Str(None)),
            _ => Err(Bail),
        }
    }
}

/// Envelope members and an earlier annotation are handed back as raw text, which only serde_json
/// can make; records that have them take the slow path.
impl<'a> Scan<'a> for Option<&'a serde_json::value::RawValue> {
    fn scan(_: &mut Scanner<'a>) -> Result<Self, Bail> {
        Err(Bail)
    }
}

/// The whole record: an object, then nothing but whitespace.
pub(crate) fn decode<'a, T: Scan<'a>>(text: &'a str) -> Result<T, Bail> {
    let mut sc = Scanner::new(text);
    if sc.peek() != Some(b'{') {
        return Err(Bail);
    }
    let value = T::scan(&mut sc)?;
    if sc.at_end() {
        Ok(value)
    } else {
        Err(Bail)
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{decode_fast, decode_with_serde, field_values};

    /// The fast path gives up or agrees with serde_json exactly. Returns whether it read `text`.
    fn agrees(text: &str) -> bool {
        let Some(fast) = decode_fast(text) else {
            return false;
        };
        let slow = decode_with_serde(text)
            .unwrap_or_else(|e| panic!("fast path accepted what serde_json refuses ({e}): {text:?}"));
        assert_eq!(field_values(&fast), field_values(&slow), "{text:?}");
        true
    }

    const BASE: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::111122223333:assumed-role/r/s","accountId":"111122223333","accessKeyId":"ASIAX","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/r"},"attributes":{"creationDate":"2024-05-01T00:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-05-01T00:00:01Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{"roleArn":"arn:aws:iam::444455556666:role/x","roleSessionName":"n","durationSeconds":3600,"policy":"{\"a\":[1,2]}"},"responseElements":{"credentials":{"accessKeyId":"ASIAY","expiration":"May 1, 2024, 1:00:00 AM"},"assumedRoleUser":{"arn":"arn:aws:sts::444455556666:assumed-role/x/n","assumedRoleId":"AROB:n"}},"resources":[{"ARN":"a","type":"t"},{}],"readOnly":true,"eventID":"e1","recipientAccountId":111122223333,"x":[[],{},null,false,-1.5e0,0,-0.25]}"#;

    #[test]
    fn reads_a_plain_record_as_serde_json_does() {
        // Everything here is ordinary except the exponent, which is left to serde_json...
        assert!(!agrees(BASE));
        // ... and without it the fast path reads the record.
        let plain = BASE.replace("-1.5e0", "-1.5");
        assert!(agrees(&plain));
        let e = decode_fast(&plain).unwrap();
        assert_eq!(e.request_parameters.duration_seconds.get(), Some("3600"));
        assert_eq!(e.recipient_account_id.get(), Some("111122223333"));
        assert_eq!(
            e.user_identity.session_context.session_issuer.arn.get(),
            Some("arn:aws:iam::111122223333:role/r")
        );
        assert_eq!(e.response_elements.credentials.access_key_id.get(), Some("ASIAY"));
    }

    #[test]
    fn escapes_are_read_or_left_to_serde_json() {
        assert!(agrees(
            r#"{"eventName":"a\"b\\c\/d\n\t\u00e9\u0041","userAgent":"x\\"}"#
        ));
        assert_eq!(
            decode_fast(r#"{"eventName":"\u00e9\n"}"#)
                .unwrap()
                .event_name
                .get(),
            Some("é\n")
        );
        // Surrogates, escaped keys, unknown escapes, raw control characters.
        for text in [
            r#"{"eventName":"\ud83d\ude00"}"#,
            r#"{"eventName":"\ud800"}"#,
            r#"{"x":"\udc00"}"#,
            r#"{"event\u004eame":"A"}"#,
            r#"{"eventName":"\x"}"#,
            r#"{"eventName":"\u12"}"#,
            "{\"eventName\":\"a\u{1}b\"}",
            "{\"x\":\"tab\there\"}",
        ] {
            assert!(!agrees(text), "{text}");
        }
    }

    #[test]
    fn numbers_follow_the_grammar() {
        for ok in [
            r#"{"x":0}"#,
            r#"{"x":-0.5}"#,
            r#"{"x":12.25,"y":-7}"#,
            r#"{"eventName":18446744073}"#,
        ] {
            assert!(agrees(ok), "{ok}");
        }
        for bad in [
            r#"{"x":01}"#,
            r#"{"x":1.}"#,
            r#"{"x":-}"#,
            r#"{"x":.5}"#,
            r#"{"x":+1}"#,
            r#"{"x":1e400}"#,
            r#"{"eventName":-5}"#,
            r#"{"eventName":1.5}"#,
            r#"{"x":1E5}"#,
        ] {
            assert!(!agrees(bad), "{bad}");
        }
        let long = format!("{{\"x\":{}}}", "9".repeat(400));
        assert!(!agrees(&long));
    }

    #[test]
    fn structure_errors_are_never_accepted() {
        for bad in [
            "",
            "{",
            "}",
            "[]",
            "\"x\"",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{\"a\":1 \"b\":2}",
            "{\"a\":[1,]}",
            "{\"a\":[1 2]}",
            "{\"a\":{\"b\"}}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":1}x",
            "{\"a\":1}{}",
            "{\"a\":\"unterminated}",
            "{\"a\":[}",
            "{\"a\":{]}",
            "{,}",
            "{\"a\":1}}",
            "{\"a\":[1]]}",
        ] {
            assert!(!agrees(bad), "{bad:?}");
        }
        assert!(agrees(
            " {\"a\" : [ 1 , { } , [ ] ] , \"b\" : { \"c\" : null } }\r\n"
        ));
        assert!(agrees("{}"));
    }

    #[test]
    fn wrong_types_and_duplicates_read_as_serde_json_reads_them() {
        for text in [
            r#"{"userIdentity":"x","eventName":true}"#,
            r#"{"userIdentity":[1,{"a":[]}],"eventName":null}"#,
            r#"{"userIdentity":5,"requestParameters":false,"responseElements":null}"#,
            r#"{"userIdentity":{"sessionContext":[]},"eventName":{"a":"b"},"eventSource":["s"]}"#,
            r#"{"eventName":"A","EventName":"B","eventName":"C"}"#,
            r#"{"userIdentity":{"arn":"a"},"userIdentity":{"type":"Root"}}"#,
        ] {
            assert!(agrees(text), "{text}");
        }
    }

    #[test]
    fn nesting_near_the_limit_is_left_to_serde_json() {
        for depth in [1, 50, 120, 125, 126, 127, 128, 129, 200] {
            for (open, close, empty) in [("[", "]", ""), ("{\"k\":", "}", "{}"), ("[", "]", "[]")] {
                let text = format!("{{\"x\":{}{}{}}}", open.repeat(depth), empty, close.repeat(depth));
                let read = agrees(&text);
                if depth <= 120 {
                    assert!(read, "depth {depth} {open}");
                }
            }
        }
    }

    #[test]
    fn envelopes_and_old_annotations_take_the_slow_path() {
        for text in [
            r#"{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"X"}}"#,
            r#"{"payload":"{}"}"#,
            r#"{"CloudTrailEvent":"{}"}"#,
            r#"{"eventName":"X","ctail":{"origin":"a"}}"#,
        ] {
            assert!(!agrees(text), "{text}");
            assert!(crate::event::decode(text).is_ok());
        }
    }
}
