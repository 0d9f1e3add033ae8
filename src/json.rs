//! JSON string escapes, decoded in one place: for the fast decoder ([`crate::event`]) and for the
//! records that envelopes carry as strings ([`crate::input::envelope`]).

/// Appends the contents `s` of a JSON string (between its quotes) to `dst` with its escapes
/// decoded. `false` if an escape is malformed or a surrogate is not half of a pair; `dst` then
/// holds a partial result the caller discards.
pub(crate) fn unescape_into(s: &[u8], dst: &mut Vec<u8>) -> bool {
    dst.reserve(s.len());
    let mut i = 0;
    while i < s.len() {
        let Some(off) = memchr::memchr(b'\\', &s[i..]) else {
            dst.extend_from_slice(&s[i..]);
            return true;
        };
        dst.extend_from_slice(&s[i..i + off]);
        i += off + 1;
        let Some(&e) = s.get(i) else { return false };
        i += 1;
        let simple = match e {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let Some(hi) = s.get(i..i + 4).and_then(hex4) else {
                    return false;
                };
                i += 4;
                let cp = if (0xD800..0xDC00).contains(&hi) {
                    // A surrogate pair: the low half must follow as another \u escape.
                    let lo = match (s.get(i..i + 2), s.get(i + 2..i + 6).and_then(hex4)) {
                        (Some(b"\\u"), Some(lo)) if (0xDC00..0xE000).contains(&lo) => lo,
                        _ => return false,
                    };
                    i += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                let Some(ch) = char::from_u32(cp) else {
                    return false;
                };
                let mut buf = [0u8; 4];
                dst.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return false,
        };
        dst.push(simple);
    }
    true
}

/// The value of the four hex digits of a `\u` escape.
#[inline]
pub(crate) fn hex4(h: &[u8]) -> Option<u32> {
    h.iter()
        .try_fold(0u32, |v, &c| Some(v << 4 | (c as char).to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `unescape_into` makes of `lit`'s contents, or `None` where it refuses them.
    fn unescaped(lit: &str) -> Option<String> {
        let mut out = Vec::new();
        unescape_into(&lit.as_bytes()[1..lit.len() - 1], &mut out)
            .then(|| String::from_utf8(out).expect("UTF-8 out of UTF-8 in"))
    }

    #[test]
    fn reads_every_escape_as_serde_json_does() {
        let lit = r#""{\"a\":\"\u00e9\ud83d\ude00\\n\/\t\"}\b\f\r\u0000\uFFFF\uE000""#;
        assert_eq!(unescaped(lit), Some(serde_json::from_str(lit).unwrap()));
        for bad in [
            r#""\x""#,
            r#""\ud83d""#,
            r#""\ud83dx""#,
            r#""\ud83d\u0041""#,
            r#""\ude00""#,
            r#""\u12""#,
            r#""\u12g4""#,
            r#""\""#,
            r#""\u""#,
        ] {
            assert_eq!(unescaped(bad), None, "{bad}");
            assert!(serde_json::from_str::<String>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn agrees_with_serde_json_on_every_short_string_of_escape_pieces() {
        // Every sequence of up to four pieces: plain text, escapes, halves of surrogate pairs, `\u`
        // cut short. Either both refuse it or both read the same text. (No lone backslash: it
        // would escape the closing quote, which callers have already found.)
        let pieces = [
            "a", "é", "\\\\", "\\\"", "\\/", "\\n", "\\u", "\\u00e9", "\\u0041", "\\ud83d", "\\ude00",
            "\\uDBFF", "\\udfff", "\\u12", "\\x", "u",
        ];
        let mut texts = vec![String::new()];
        let mut last = texts.clone();
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}")))
                .collect();
            texts.extend_from_slice(&last);
        }
        for t in texts {
            let lit = format!("\"{t}\"");
            assert_eq!(
                unescaped(&lit),
                serde_json::from_str::<String>(&lit).ok(),
                "{lit}"
            );
        }
    }

    #[test]
    fn hex4_reads_either_case_and_nothing_else() {
        assert_eq!(hex4(b"00e9"), Some(0xe9));
        assert_eq!(hex4(b"FFff"), Some(0xffff));
        for bad in [&b"12g4"[..], b"+123", b" 123", b"\xc3\xa9ab"] {
            assert_eq!(hex4(bad), None, "{bad:?}");
        }
    }
}
