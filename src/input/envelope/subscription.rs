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

use flate2::read::MultiGzDecoder;
use std::io::Read;

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

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayloadError::Base64(at) => write!(f, "awslogs.data is not base64 (at character {at})"),
            PayloadError::Gzip => f.write_str("awslogs.data is not gzip, or its gzip stream is broken"),
            PayloadError::TooLarge => f.write_str("awslogs.data inflates past --max-record-bytes"),
        }
    }
}

/// Decodes `data` (the raw JSON string `"…"`, as written) from base64 and inflates it into `out`,
/// at most `max` bytes. `scratch` holds the compressed bytes.
pub fn open(data: &str, max: usize, scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<(), PayloadError> {
    let inner = data
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or(PayloadError::Base64(0))?;
    scratch.clear();
    base64_into(inner.as_bytes(), scratch)?;
    if !scratch.starts_with(&[0x1f, 0x8b]) {
        return Err(PayloadError::Gzip);
    }
    out.clear();
    // One byte past the limit tells "exactly max" from "more".
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    MultiGzDecoder::new(&scratch[..])
        .take(limit)
        .read_to_end(out)
        .map_err(|_| PayloadError::Gzip)?;
    if out.len() > max {
        return Err(PayloadError::TooLarge);
    }
    Ok(())
}

/// Standard base64 (with or without padding; JSON's `\/` escape of `/` accepted, as some
/// encoders write it).
fn base64_into(text: &[u8], out: &mut Vec<u8>) -> Result<(), PayloadError> {
    out.reserve(text.len() / 4 * 3 + 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut i = 0;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
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
