//! The time formats CloudTrail and its carriers use, read to whole UTC seconds.
//!
//! Lineage needs one-second resolution only: AssumeRole's child `creationDate` is its `eventTime`
//! to the second. The common `2023-07-10T11:42:18Z` is read by hand on the hot path; everything
//! else (fractions, offsets, a space instead of `T`, ISO basic `20131102T010628Z`, STS's
//! `"Jul 18, 2023, 4:07:39 PM"`) goes through the slower general readers.

use chrono::{DateTime, NaiveDateTime};

/// Seconds since the Unix epoch, UTC.
pub type Epoch = i64;

/// Reads an event time or creation date. `None` for anything unrecognised or impossible.
pub fn parse_time(s: &str) -> Option<Epoch> {
    let b = s.as_bytes();
    if b.len() == 20 && b[19] == b'Z' && b[10] == b'T' {
        if let Some(t) = parse_iso_prefix(b) {
            return Some(t);
        }
    }
    parse_time_slow(s.trim())
}

fn parse_time_slow(s: &str) -> Option<Epoch> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    let b = s.as_bytes();
    // ISO basic: 20131102T010628Z
    if b.len() == 16 && b[8] == b'T' && b[15] == b'Z' {
        let num = |r: std::ops::Range<usize>| digits(&b[r]);
        return civil_to_epoch(
            num(0..4)?,
            num(4..6)?,
            num(6..8)?,
            num(9..11)?,
            num(11..13)?,
            num(13..15)?,
        );
    }
    // `YYYY-MM-DD HH:MM:SS[.frac][Z]` and `YYYY-MM-DDTHH:MM:SS[.frac]` without a zone: taken as UTC.
    if b.len() >= 19 && (b[10] == b' ' || b[10] == b'T') {
        let rest = &b[19..];
        let frac_ok = rest.is_empty()
            || (rest[0] == b'.'
                && rest[1..]
                    .iter()
                    .enumerate()
                    .all(|(i, c)| c.is_ascii_digit() || (*c == b'Z' && i == rest.len() - 2)));
        let zulu = rest == b"Z";
        if frac_ok || zulu {
            return parse_iso_prefix(b);
        }
    }
    parse_sts_expiration(s)
}

/// Reads `YYYY-MM-DDxHH:MM:SS` from the first 19 bytes.
fn parse_iso_prefix(b: &[u8]) -> Option<Epoch> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    civil_to_epoch(
        digits(&b[0..4])?,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    )
}

/// Reads STS's `credentials.expiration`: `Jul 18, 2023, 4:07:39 PM`, with or without the second comma.
pub fn parse_sts_expiration(s: &str) -> Option<Epoch> {
    const FORMATS: [&str; 2] = ["%b %d, %Y, %I:%M:%S %p", "%b %d, %Y %I:%M:%S %p"];
    FORMATS.iter().find_map(|f| {
        NaiveDateTime::parse_from_str(s.trim(), f)
            .ok()
            .map(|t| t.and_utc().timestamp())
    })
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut n = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(n)
}

/// Days from civil (Howard Hinnant's algorithm), with range checks so an impossible date is `None`.
fn civil_to_epoch(y: i64, m: i64, d: i64, hh: i64, mm: i64, ss: i64) -> Option<Epoch> {
    if !(1..=12).contains(&m) || d < 1 || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d > month_days[(m - 1) as usize] {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Formats whole seconds as `2023-07-10T11:42:18Z` into `out` without allocating.
pub fn write_iso(out: &mut Vec<u8>, t: Epoch) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil from days (inverse of the above).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let push2 = |out: &mut Vec<u8>, n: i64| {
        out.push(b'0' + (n / 10) as u8);
        out.push(b'0' + (n % 10) as u8);
    };
    if (0..10_000).contains(&y) {
        push2(out, y / 100);
        push2(out, y % 100);
    } else {
        out.extend_from_slice(b"0000");
    }
    out.push(b'-');
    push2(out, m);
    out.push(b'-');
    push2(out, d);
    out.push(b'T');
    push2(out, secs / 3600);
    out.push(b':');
    push2(out, secs / 60 % 60);
    out.push(b':');
    push2(out, secs % 60);
    out.push(b'Z');
}

/// Reads a duration such as `15m`, `90s`, `2h`, `1d` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try 90s, 15m, 2h)"))?;
    let mult = match unit {
        "ms" => return Ok(std::time::Duration::from_millis(n)),
        "s" | "sec" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ms, s, m, h or d)")),
    };
    Ok(std::time::Duration::from_secs(n.saturating_mul(mult)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_format_seen_in_real_data() {
        let t = 1_688_989_338; // 2023-07-10T11:42:18Z
        for s in [
            "2023-07-10T11:42:18Z",
            "2023-07-10T11:42:18.123Z",
            "2023-07-10 11:42:18",
            "2023-07-10 11:42:18.123",
            "2023-07-10 11:42:18.123456789",
            "2023-07-10 11:42:18Z",
            "2023-07-10T13:42:18+02:00",
            "20230710T114218Z",
        ] {
            assert_eq!(parse_time(s), Some(t), "{s}");
        }
        assert_eq!(parse_time("Jul 10, 2023, 11:42:18 AM"), Some(t));
        assert_eq!(parse_time("Jul 10, 2023 11:42:18 AM"), Some(t));
        assert_eq!(parse_time("Jul 10, 2023, 1:42:18 PM"), Some(t + 7200));
    }

    #[test]
    fn impossible_dates_are_none() {
        for s in [
            "2023-02-30T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "redacted",
            "",
            "...",
            "2023-07-10T25:00:00Z",
        ] {
            assert_eq!(parse_time(s), None, "{s}");
        }
    }

    #[test]
    fn iso_round_trip() {
        for t in [0, 1_688_989_338, 951_782_400 /* 2000-02-29 */, 4_102_444_799] {
            let mut out = Vec::new();
            write_iso(&mut out, t);
            assert_eq!(parse_time(std::str::from_utf8(&out).unwrap()), Some(t));
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m").unwrap().as_secs(), 900);
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("2h").unwrap().as_secs(), 7200);
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
    }
}
