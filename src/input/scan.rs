//! Byte-level JSON helpers that need no parse: structural depth across lines, whitespace
//! removal and ANSI colour stripping. (String escapes are decoded in `crate::json`.)
//!
//! None of these recurse, so no input controls the stack depth.

/// Tracks where a JSON value ends when it arrives over several lines, and enough of its grammar
/// to tell whether a value may stand next (see [`DepthScan::value_may_follow`]).
#[derive(Debug, Default, Clone)]
pub struct DepthScan {
    /// Open `{` and `[` not yet closed.
    pub depth: u64,
    /// Inside a string (a raw newline here means the record was cut).
    pub in_string: bool,
    escaped: bool,
    /// Whether the first opening bracket has been seen.
    pub started: bool,
    /// The last byte outside strings that was not whitespace (`"` for a string's end).
    last: u8,
    /// One bit per open container, set for an array: bit `d % 64` of word `d / 64` is the
    /// container opened at depth `d`. Grows only with the nesting, which `--max-record-bytes`
    /// bounds.
    arrays: Vec<u64>,
}

impl DepthScan {
    /// Scans `bytes`; returns the offset just past the byte that closes the value, if it closes.
    pub fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == b'\\' {
                    self.escaped = true;
                } else if c == b'"' {
                    self.in_string = false;
                } else {
                    // Skip ahead to the next byte that can matter inside a string.
                    match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                        Some(off) => {
                            i += off;
                            continue;
                        }
                        None => return None,
                    }
                }
            } else {
                match c {
                    b' ' | b'\t' | b'\r' | b'\n' => {
                        i += 1;
                        continue;
                    }
                    b'"' => self.in_string = true,
                    b'{' | b'[' => {
                        self.open(c == b'[');
                        self.started = true;
                    }
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.started && self.depth == 0 {
                            self.last = c;
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                self.last = c;
            }
            i += 1;
        }
        None
    }

    fn open(&mut self, array: bool) {
        let (word, bit) = ((self.depth / 64) as usize, self.depth % 64);
        if word >= self.arrays.len() {
            self.arrays.resize(word + 1, 0);
        }
        if array {
            self.arrays[word] |= 1 << bit;
        } else {
            self.arrays[word] &= !(1 << bit);
        }
        self.depth += 1;
    }

    /// Whether JSON allows a value (an object or an array, say) right after what was scanned:
    /// after `[`, after `:`, or after `,` inside an array. When it does not, a `{` that comes
    /// next cannot belong to this value, whatever came before: the value is broken there.
    pub fn value_may_follow(&self) -> bool {
        match self.last {
            b'[' | b':' => !self.in_string,
            b',' if !self.in_string && self.depth > 0 => {
                let d = self.depth - 1;
                self.arrays
                    .get((d / 64) as usize)
                    .is_some_and(|w| w & (1 << (d % 64)) != 0)
            }
            _ => false,
        }
    }
}

/// serde_json's nesting limit: a value nested deeper fails to parse, whatever else it holds.
pub const SERDE_NESTING_LIMIT: usize = 128;

/// Whether `bytes` nest `{`/`[` more than `limit` deep anywhere (brackets inside strings do not
/// count). Tells a value serde_json refused for its depth from one it refused for its syntax,
/// from the bytes themselves rather than from the wording of serde_json's message.
pub fn nests_deeper_than(bytes: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &c in bytes {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Appends `src` to `dst` without the whitespace between tokens (spaces, tabs, CR, LF outside
/// strings). String contents are copied unchanged.
pub fn minify_into(src: &[u8], dst: &mut Vec<u8>) {
    dst.reserve(src.len());
    let mut in_string = false;
    let mut escaped = false;
    for &c in src {
        if in_string {
            dst.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if !matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            if c == b'"' {
                in_string = true;
            }
            dst.push(c);
        }
    }
}

/// Appends `src` to `dst` without ANSI escape sequences (CSI `ESC [ … final`, and a lone ESC).
/// They appear around prefixes and tokens when an upstream printed to a terminal; inside a JSON
/// string a raw ESC is invalid anyway, so removing them never changes a valid record.
pub fn strip_ansi_into(src: &[u8], dst: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(off) = memchr::memchr(0x1b, &src[i..]) {
        dst.extend_from_slice(&src[i..i + off]);
        i += off + 1;
        if src.get(i) == Some(&b'[') {
            i += 1;
            // Parameter and intermediate bytes, then one final byte in 0x40..=0x7e.
            while i < src.len() && (0x20..=0x3f).contains(&src[i]) {
                i += 1;
            }
            if i < src.len() && (0x40..=0x7e).contains(&src[i]) {
                i += 1;
            }
        }
    }
    dst.extend_from_slice(&src[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scan_ignores_brackets_in_strings_and_resumes_across_calls() {
        let mut s = DepthScan::default();
        assert_eq!(s.feed(br#"{"a":"}{[\"","#), None);
        assert_eq!(s.depth, 1);
        assert_eq!(s.feed(b"\n \"b\":[1]}\n"), Some(10));
    }

    #[test]
    fn nesting_is_measured_outside_strings() {
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(nests_deeper_than(deep.as_bytes(), SERDE_NESTING_LIMIT));
        assert!(!nests_deeper_than(
            &deep.as_bytes()[1..deep.len() - 1],
            SERDE_NESTING_LIMIT
        ));
        let quoted = format!("{{\"a\":\"{}\\\"\"}}", "[".repeat(200));
        assert!(!nests_deeper_than(quoted.as_bytes(), SERDE_NESTING_LIMIT));
    }

    #[test]
    fn minify_keeps_strings_exact() {
        let mut out = Vec::new();
        minify_into(b"{\n  \"a b\": [ 1, \"x \\\" y\" ],\r\n\t\"c\" : {} }", &mut out);
        assert_eq!(out, br#"{"a b":[1,"x \" y"],"c":{}}"#);
    }

    #[test]
    fn strips_colour_codes() {
        let mut out = Vec::new();
        strip_ansi_into(
            b"\x1b[32m2024\x1b[0m \x1b[94m\"k\"\x1b[39;49;00m: 1\x1b",
            &mut out,
        );
        assert_eq!(out, b"2024 \"k\": 1");
    }

    #[test]
    fn a_value_may_follow_only_where_json_allows_one() {
        let after = |text: &str| {
            let mut s = DepthScan::default();
            s.feed(text.as_bytes());
            s.value_may_follow()
        };
        for yes in [r#"{"a": ["#, r#"{"a":"#, r#"{"a": [1,"#, r#"[{"b":[]},"#, "[[["] {
            assert!(after(yes), "{yes}");
        }
        for no in [
            r#"{"a": 1,"#,
            r#"{"a": [1]"#,
            r#"{"#,
            r#"{"a""#,
            r#"{"a": "x:"#,
            r#"{"a": "[,"#,
            r#"{"a": [{}],"#,
            "",
        ] {
            assert!(!after(no), "{no}");
        }
        // The array/object stack survives many levels.
        let deep = format!("{}{}", r#"{"a":["#.repeat(100), r#"{"b":1},"#);
        assert!(after(&deep));
        let deep = format!("{}{}", r#"{"a":["#.repeat(100), r#"{"b":{"c":1,"#);
        assert!(!after(&deep));
    }
}
