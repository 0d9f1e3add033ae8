//! The whole pipeline in process, over arbitrary input and a few flag settings.
//!
//! Invariants: no panic, the run succeeds, every output line is a JSON object ending with the
//! `"ctail"` annotation (itself JSON with a confidence), the record before it is the input record
//! unchanged, and every record the framer and unwrapper find comes out exactly once.
#![no_main]

use ctail_filter::Config;
use ctail_filter::decode::{Item, Unwrapper};
use ctail_filter::decode::{Frame, Framer};
use ctail_filter::Source;
use ctail_filter::{pipeline, Exit};
use libfuzzer_sys::fuzz_target;
use std::io::Read;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

fn base() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    C.get_or_init(|| Config {
        quiet: true,
        ..Config::default()
    })
}

/// The records (their text before the splice point) the pipeline should write, in input order.
fn expected(data: &[u8], max: usize) -> Vec<Vec<u8>> {
    let mut f = Framer::new(max);
    let mut u = Unwrapper::default();
    let mut out = Vec::new();
    f.feed(data);
    f.finish();
    while let Some(fr) = f.next() {
        if let Frame::Record { bytes, .. } = fr {
            u.each(bytes, &mut |item| {
                if let Item::Record(r) = item {
                    let mut t = r.text.as_bytes()[..r.splice].to_vec();
                    t.push(b'}');
                    out.push(t);
                }
            });
        }
    }
    out
}

fuzz_target!(|input: &[u8]| {
    let Some((&ctl, data)) = input.split_first() else {
        return;
    };
    let mut config = base().clone();
    config.sources = vec![Source::Bytes(Arc::from(data))];
    // A small table (the LRUs allocate their capacity up front): faster runs, same code paths.
    config.max_sessions = 1000;
    if ctl & 1 != 0 {
        config.hold = Duration::ZERO;
    }
    if ctl & 2 != 0 {
        config.max_sessions = 2;
    }
    if ctl & 4 != 0 {
        config.max_held = 2;
    }
    if ctl & 8 != 0 {
        config.settle = Duration::from_secs(900);
    }
    if ctl & 16 != 0 {
        config.max_record_bytes = 64;
    }
    // Everything on one thread, or decoding on a thread of its own.
    config.threads = if ctl & 32 != 0 { 1 } else { 2 };
    // Gzip is recognised by its magic bytes: what the framer sees is the inflated stream, and a
    // damaged stream is an unreadable input (status 1) whose readable part may come out.
    let (plain, readable) = if data.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        let ok = flate2::read::MultiGzDecoder::new(data)
            .read_to_end(&mut plain)
            .is_ok();
        (plain, ok)
    } else {
        (data.to_vec(), true)
    };
    let mut out = Vec::new();
    let exit = pipeline::run(&config, &mut out).expect("the run fails only on I/O errors");
    assert_eq!(exit, if readable { Exit::Success } else { Exit::Failure });
    let text = std::str::from_utf8(&out).expect("output is UTF-8");
    assert!(out.is_empty() || out.ends_with(b"\n"));
    let mut got = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("output line not JSON ({e}): {line}"));
        assert!(v.is_object());
        let at = line
            .rfind(",\"ctail\":{\"session\":")
            .unwrap_or_else(|| panic!("no annotation at the end: {line}"));
        let ann: serde_json::Value = serde_json::from_str(&line[at + 9..line.len() - 1])
            .unwrap_or_else(|e| panic!("annotation not JSON ({e}): {line}"));
        assert!(ann["confidence"].is_string(), "{line}");
        assert_eq!(
            v["ctail"], ann,
            "the annotation is not the last ctail member: {line}"
        );
        let mut rec = line.as_bytes()[..at].to_vec();
        rec.push(b'}');
        got.push(rec);
    }
    if !readable {
        return;
    }
    // Held events leave out of order; compare as multisets.
    let mut want = expected(&plain, config.max_record_bytes);
    want.sort();
    got.sort();
    assert_eq!(got.len(), want.len(), "records lost or duplicated");
    assert!(got == want, "a record came out changed");
});
