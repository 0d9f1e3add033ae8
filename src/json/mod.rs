//! JSON string escapes, decoded in one place: for the fast decoder ([`crate::event`]) and for the
//! records that envelopes carry as strings ([`crate::input::envelope`]).

mod blocks;

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
        if e == b'u' {
            let Some((ch, used)) = unicode_escape(&s[i - 2..]) else {
                return false;
            };
            i += used - 2;
            let mut buf = [0u8; 4];
            dst.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(simple) = simple_escape(e) else {
            return false;
        };
        dst.push(simple);
    }
    true
}

/// The byte a one-character escape stands for (`n` of `\n`: a newline); `None` for `u` and for
/// what is no escape.
#[inline]
fn simple_escape(e: u8) -> Option<u8> {
    Some(match e {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 8,
        b'f' => 12,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        _ => return None,
    })
}

/// A `\u` escape at the start of `s` (a surrogate pair takes two): the character and how many
/// bytes it took. `None` for bad hex digits or a surrogate that is not half of a pair, which
/// serde_json refuses too.
fn unicode_escape(s: &[u8]) -> Option<(char, usize)> {
    let hi = s.get(2..6).and_then(hex4)?;
    if !(0xD800..0xDC00).contains(&hi) {
        return Some((char::from_u32(hi)?, 6));
    }
    // A surrogate pair: the low half must follow as another \u escape.
    match (s.get(6..8), s.get(8..12).and_then(hex4)) {
        (Some(b"\\u"), Some(lo)) if (0xDC00..0xE000).contains(&lo) => Some((
            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?,
            12,
        )),
        _ => None,
    }
}

/// Where the bytes of `w` (eight of a string's bytes, little-endian) end or interrupt a string's
/// plain text: the high bit of each byte that is a quote, a backslash or a control character,
/// and possibly of bytes after such a byte, never before. So the lowest set bit is the first.
#[inline(always)]
pub(crate) fn specials(w: u64) -> u64 {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    ((w.wrapping_sub(ONES * 0x20) & !w)
        | (quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash))
        & HIGH
}

/// Reads the JSON string whose text starts at `b[start]` (just after its opening quote), its
/// escapes decoded into `out[..len]`. Returns where the string ends (just after its closing
/// quote) and `len`; `None` where serde_json refuses the string (a raw control character, a
/// malformed escape, a lone surrogate) or it does not end.
///
/// Written for a record carried as a string, where every quote of the record is an escape (one
/// every dozen bytes): stopping at each escape would be a chain of dependent loads and
/// mispredicted branches. [`blocks`] takes the bytes a block at a time instead, as long as they
/// hold only plain bytes and escapes of `"` or `/`; anything else (the closing quote, another
/// escape, a control character, the last bytes) takes the careful step here, one escape at a
/// time. `out` is scratch that keeps its length: grown, and zeroed, only as strings get longer.
pub(crate) fn unescape_string(b: &[u8], start: usize, out: &mut Vec<u8>) -> Option<(usize, usize)> {
    unescape_string_with(b, start, out, blocks::fastest())
}

fn unescape_string_with(
    b: &[u8],
    start: usize,
    out: &mut Vec<u8>,
    blocks: blocks::Blocks,
) -> Option<(usize, usize)> {
    let (mut i, mut o) = (start, 0);
    loop {
        if out.len() < o + blocks::ROOM {
            grow(out, o + blocks::ROOM);
        }
        let escaped;
        (i, o, escaped) = blocks(b, i, out, o);
        if out.len() < o + 4 {
            grow(out, o + 4);
        }
        if escaped {
            // The `"` or `/` that the last block's final backslash escapes.
            out[o] = b[i];
            o += 1;
            i += 1;
            continue;
        }
        // The careful step: one byte, and if it is a backslash, its escape.
        match *b.get(i)? {
            b'"' => return Some((i + 1, o)),
            b'\\' => {
                let e = *b.get(i + 1)?;
                if e == b'u' {
                    let (ch, used) = unicode_escape(&b[i..])?;
                    o += ch.encode_utf8(&mut out[o..o + 4]).len();
                    i += used;
                    continue;
                }
                out[o] = simple_escape(e)?;
                o += 1;
                i += 2;
            }
            c if c < 0x20 => return None,
            c => {
                out[o] = c;
                o += 1;
                i += 1;
            }
        }
    }
}

/// Makes `out` at least `need` long, doubling, so a long string costs few reallocations.
#[cold]
fn grow(out: &mut Vec<u8>, need: usize) {
    out.resize(need.max(out.len() * 2).max(256), 0);
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

    /// What `unescape_string` makes of the string literal starting at `text[at]`, with `step`:
    /// its end and its text, or `None` where it refuses it.
    fn read_string(text: &[u8], at: usize, step: blocks::Blocks) -> Option<(usize, String)> {
        let mut out = Vec::new();
        let (end, len) = unescape_string_with(text, at + 1, &mut out, step)?;
        Some((
            end,
            String::from_utf8(out[..len].to_vec()).expect("UTF-8 out of UTF-8 in"),
        ))
    }

    /// Every step `unescape_string` may take on this machine, the portable one first.
    fn steps() -> Vec<blocks::Blocks> {
        blocks::all()
    }

    #[test]
    fn reads_strings_as_serde_json_does_in_blocks_and_at_their_edges() {
        // Long strings of escape pieces, at every offset from the start of the text and with text
        // after them, so that every piece falls at every place in a block: the reading ends just
        // after the closing quote with serde_json's text, or both refuse the string.
        let pieces = [
            "a",
            "é",
            "\\\\",
            "\\\"",
            "\\/",
            "\\n",
            "\\u00e9",
            "\\ud83d\\ude00",
            "\\ud83d",
            "\\x",
            "plain text ",
            "\\\"\\\"",
            "\\\\\\\"",
            "\u{1}",
            "\\",
            "😀",
        ];
        let mut seed = 1u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for case in 0..6000 {
            let mut body = String::new();
            let n = 1 + next() % 40;
            for _ in 0..n {
                // Mostly the common escapes, as in a record carried as a string.
                let p = next() % 40;
                body.push_str(if p < pieces.len() {
                    pieces[p]
                } else if p % 2 == 0 {
                    "\\\""
                } else {
                    "ab"
                });
            }
            let pad = " ".repeat(case % 17);
            let text = format!("{pad}\"{body}\",\"next\":1}}");
            let mut values = serde_json::Deserializer::from_str(&text[pad.len()..]).into_iter::<String>();
            let want = values.next().and_then(Result::ok);
            let want_end = pad.len() + values.byte_offset();
            for step in steps() {
                let got = read_string(text.as_bytes(), pad.len(), step);
                match (&got, &want) {
                    (Some((end, s)), Some(w)) => {
                        assert_eq!(s, w, "{text}");
                        assert_eq!(*end, want_end, "{text}");
                    }
                    (None, None) => {}
                    _ => panic!("{text}: {got:?} against serde_json's {want:?}"),
                }
            }
        }
    }

    #[test]
    fn a_string_that_does_not_end_is_refused() {
        for step in steps() {
            for text in [
                "\"abc",
                "\"abcdefghijklmnopqrstuvwxyz\\\"",
                "\"abcdefghijklmnopqrstuvwxyz\\",
            ] {
                assert_eq!(read_string(text.as_bytes(), 0, step), None, "{text}");
            }
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
