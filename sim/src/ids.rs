//! Realistic identifiers (keys, principal ids, event ids, tokens) and CloudTrail's two time formats.

use crate::rng::Rng;

/// Access keys and unique ids use this alphabet after their 4-letter prefix.
pub const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &[u8] = b"0123456789abcdef";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const UPPER_NUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

pub fn push_chars(rng: &mut Rng, alphabet: &[u8], n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(alphabet[rng.below(alphabet.len())] as char);
    }
}

pub fn chars(rng: &mut Rng, alphabet: &[u8], n: usize) -> String {
    let mut s = String::with_capacity(n);
    push_chars(rng, alphabet, n, &mut s);
    s
}

pub fn hex(rng: &mut Rng, n: usize) -> String {
    chars(rng, HEX, n)
}

pub fn b64(rng: &mut Rng, n: usize) -> String {
    chars(rng, B64, n)
}

/// Random v4 UUID, the shape of eventID, requestID and sharedEventID.
pub fn uuid(rng: &mut Rng) -> String {
    // Hand-rolled: one is made per event, and `format!` with hex widths is comparatively slow.
    let (a, b) = (rng.u64(), rng.u64());
    let a = (a & !0xf000) | 0x4000; // version 4 in the third group
    let b = (b & !(0xc000 << 48)) | (0x8000 << 48); // RFC 4122 variant in the fourth group
    let mut s = String::with_capacity(36);
    for (i, x) in [a, b].into_iter().enumerate() {
        for j in (0..16).rev() {
            s.push(HEX[((x >> (j * 4)) & 0xf) as usize] as char);
            let pos = i * 16 + (15 - j);
            if pos == 7 || pos == 11 || pos == 15 || pos == 19 {
                s.push('-');
            }
        }
    }
    s
}

/// 20-character access key: `AKIA`/`ASIA` + the account's 8-char infix + 8 random characters.
/// Real keys of one account share their middle characters, as in the public data sets.
pub fn access_key(rng: &mut Rng, prefix: &str, infix: &str) -> String {
    let mut s = String::with_capacity(20);
    s.push_str(prefix);
    s.push_str(infix);
    push_chars(rng, B32, 8, &mut s);
    s
}

/// 21-character unique id: `AIDA` (user) or `AROA` (role) + infix + 9 random characters.
pub fn principal_id(rng: &mut Rng, prefix: &str, infix: &str) -> String {
    let mut s = String::with_capacity(21);
    s.push_str(prefix);
    s.push_str(infix);
    push_chars(rng, B32, 9, &mut s);
    s
}

/// A session token blob. Real ones are 400-1200 base64 characters; their length dominates the
/// size of creating events, so keep it in that range.
pub fn session_token(rng: &mut Rng) -> String {
    let n = rng.range(420, 760) as usize;
    let mut s = String::with_capacity(n + 16);
    s.push_str("IQoJb3JpZ2luX2Vj");
    push_chars(rng, B64, n, &mut s);
    s.push('=');
    s
}

/// S3's 16-character request id (other services use a UUID).
pub fn s3_request_id(rng: &mut Rng) -> String {
    chars(rng, UPPER_NUM, 16)
}

pub fn amz_id2(rng: &mut Rng) -> String {
    let mut s = b64(rng, 75);
    s.push('=');
    s
}

pub fn instance_id(rng: &mut Rng) -> String {
    format!("i-0{}", hex(rng, 16))
}

/// 12-digit account id, never starting with 0.
pub fn account_id(rng: &mut Rng) -> String {
    format!("{}{:011}", rng.range(1, 9), rng.below(100_000_000_000))
}

/// (year, month, day, hour, minute, second) of a unix time, proleptic Gregorian, UTC.
pub fn civil(t: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (secs / 3600) as u32,
        (secs / 60 % 60) as u32,
        (secs % 60) as u32,
    )
}

/// `2024-05-01T00:00:00Z`, the eventTime / creationDate form.
pub fn iso(t: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    let mut out = String::with_capacity(20);
    // Digit pushes instead of `format!`: this runs for every event.
    let y = y.clamp(0, 9999) as u32;
    for (v, width, sep) in [
        (y, 4, '-'),
        (mo, 2, '-'),
        (d, 2, 'T'),
        (h, 2, ':'),
        (mi, 2, ':'),
        (s, 2, 'Z'),
    ] {
        for k in (0..width).rev() {
            out.push(char::from(b'0' + (v / 10u32.pow(k) % 10) as u8));
        }
        out.push(sep);
    }
    out
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `May 1, 2024, 1:00:00 AM`: the non-ISO form of `credentials.expiration`.
pub fn aws_date(t: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    let (h12, ampm) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!(
        "{} {d}, {y}, {h12}:{mi:02}:{s:02} {ampm}",
        MONTHS[mo as usize - 1]
    )
}

/// Parses the `YYYY-MM-DDTHH:MM:SSZ` this crate writes (used by delivery, which only has the JSON).
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Inverse of `civil` (days-from-civil).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats() {
        assert_eq!(iso(1_714_521_600), "2024-05-01T00:00:00Z");
        assert_eq!(aws_date(1_714_521_600 + 3600), "May 1, 2024, 1:00:00 AM");
        assert_eq!(aws_date(1_689_005_287), "Jul 10, 2023, 4:08:07 PM");
        assert_eq!(aws_date(1_709_164_800), "Feb 29, 2024, 12:00:00 AM");
        for t in [0, 951_782_400, 1_714_521_600, 1_735_689_599, 4_102_444_800] {
            assert_eq!(parse_iso(&iso(t)), Some(t));
        }
    }

    #[test]
    fn id_shapes() {
        let mut r = Rng::new(3);
        let u = uuid(&mut r);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(access_key(&mut r, "ASIA", "TFQR7NSC").len(), 20);
        assert_eq!(principal_id(&mut r, "AROA", "TFQR7NSC").len(), 21);
        assert_eq!(account_id(&mut r).len(), 12);
    }
}
