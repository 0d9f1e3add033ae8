//! Envelope unwrapping on one framed value.
//!
//! Invariants: no panic; every record is valid JSON on one line, starts with `{`, and splicing the
//! annotation at its splice point gives a JSON object (what the pipeline writes); a value that
//! is not well-formed JSON is always reported.
#![no_main]

use ctail_filter::decode::{Item, Unwrapper};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unwrapper::default();
    let mut n = 0usize;
    u.each(data, &mut |item| {
        n += 1;
        if let Item::Record(r) = item {
            assert!(r.text.starts_with('{'), "record not an object: {}", r.text);
            assert!(r.splice < r.text.len(), "splice past the end");
            assert!(r.text.is_char_boundary(r.splice));
            let spliced = format!("{},\"ctail\":{{\"session\":\"x\"}}}}", &r.text[..r.splice]);
            let v: serde_json::Value = serde_json::from_str(&spliced)
                .unwrap_or_else(|e| panic!("spliced record is not JSON ({e}): {spliced}"));
            assert!(v.is_object());
            assert!(
                v["ctail"]["session"] == "x",
                "annotation not the last ctail: {spliced}"
            );
        }
    });
    if n == 0 {
        // Only well-formed containers with nothing in them (`{"Records":[]}`, also several run
        // together on one line) yield nothing: a broken value is always reported.
        assert!(
            serde_json::Deserializer::from_slice(data)
                .into_iter::<serde_json::Value>()
                .all(|v| v.is_ok()),
            "a broken value yielded nothing"
        );
    }
    // Reusing the unwrapper (its buffers) gives the same number of items.
    let mut m = 0usize;
    u.each(data, &mut |_| m += 1);
    assert_eq!(n, m);
});
