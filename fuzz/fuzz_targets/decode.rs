//! The lenient event decoder and the time readers.
//!
//! Invariants: no panic; decode fails only where serde_json refuses the text too (a wrong type
//! never costs the event) and accepts only JSON; the fast path either gives up or reads exactly
//! what serde_json reads, and never accepts what serde_json refuses; every time it reads writes
//! and reads back the same.
#![no_main]

use ctail_filter::decode::{decode, decode_fast, decode_with_serde, field_values};
use ctail_filter::decode::{parse_sts_expiration, parse_time, write_iso};
use libfuzzer_sys::fuzz_target;

fn check_time(s: &str) {
    if let Some(t) = parse_time(s) {
        let mut out = Vec::new();
        write_iso(&mut out, t);
        // Years outside 0..=9999 are written as 0000: only in-range times round-trip.
        if (-62_167_219_200..253_402_300_800).contains(&t) {
            let back = std::str::from_utf8(&out).expect("ascii");
            assert_eq!(parse_time(back), Some(t), "{s:?} -> {t} -> {back}");
        }
    }
    let _ = parse_sts_expiration(s);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_time(text);
    if let Some(fast) = decode_fast(text) {
        match decode_with_serde(text) {
            Ok(slow) => assert_eq!(field_values(&fast), field_values(&slow), "{text:?}"),
            Err(e) => panic!("fast path accepted what serde_json refuses ({e}): {text:?}"),
        }
    }
    let valid = serde_json::from_str::<serde_json::Value>(text).is_ok();
    match decode(text) {
        Ok(ev) => {
            // Raw members (`detail`, `payload`) are only skipped: a number out of f64's range
            // passes there, as the JSON grammar allows. The text is still one JSON value.
            assert!(
                serde_json::from_str::<&serde_json::value::RawValue>(text).is_ok(),
                "decode accepted what is not JSON: {text}"
            );
            let _ = ev.looks_like_cloudtrail();
            for s in [
                ev.time_str(),
                ev.user_identity.session_context.attributes.creation_date.get(),
                ev.response_elements.credentials.expiration.get(),
            ]
            .into_iter()
            .flatten()
            {
                check_time(s);
            }
        }
        Err(e) => {
            // Nesting beyond serde_json's limit is refused by both.
            assert!(!valid, "decode refused valid JSON ({e}): {text}");
        }
    }
});
