//! The framer: arbitrary bytes, fed in arbitrary chunks (copied with `feed`, or adopted with
//! `feed_owned` as the reader hands them over), with an arbitrary --max-record-bytes.
//!
//! Invariants: no panic, no hang; a record frame starts with `{` or `[`, holds no newline and is
//! no longer than the limit; an oversized record is one `Bad` followed only by its `BadMore`
//! pieces; line numbers never go back; and with room enough for every record, how the input is
//! cut into chunks changes nothing.
#![no_main]

use ctail_filter::decode::{Frame, Framer};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq, Eq)]
enum Owned {
    Record(Vec<u8>, u64),
    Bad(Vec<u8>, u64, String, bool),
    More(Vec<u8>, bool),
}

/// Frames `data` fed in chunks of `chunk` bytes, through `feed`, or through `feed_owned` with
/// `headroom` bytes of room before each chunk's data (the reader's way) when it is `Some`.
fn frames(data: &[u8], chunk: usize, max: usize, headroom: Option<usize>) -> Vec<Owned> {
    let mut f = Framer::new(max);
    let mut out = Vec::new();
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    // Whether an oversized bad record is still being passed on (Bad{continues} .. BadMore{last}),
    // and the line of the last frame that had one.
    let mut continuing = false;
    let mut last_line = 0;
    let mut drain = |f: &mut Framer, out: &mut Vec<Owned>| {
        while let Some(fr) = f.next() {
            match &fr {
                Frame::BadMore { last, .. } => {
                    assert!(continuing, "BadMore outside an oversized record");
                    continuing = !last;
                }
                Frame::Bad { line, .. } | Frame::Record { line, .. } => {
                    assert!(
                        !continuing,
                        "a new frame before the oversized record ended: {fr:?}"
                    );
                    continuing = matches!(fr, Frame::Bad { continues: true, .. });
                    assert!(
                        *line >= last_line && *line <= lines,
                        "line {line} after {last_line}"
                    );
                    last_line = *line;
                }
            }
            out.push(match fr {
                Frame::Record { bytes, line } => {
                    assert!(matches!(bytes.first(), Some(b'{' | b'[')), "record {bytes:?}");
                    assert!(!bytes.contains(&b'\n'), "record spans lines: {bytes:?}");
                    assert!(bytes.len() <= max, "a record over --max-record-bytes passed");
                    Owned::Record(bytes.to_vec(), line)
                }
                Frame::Bad {
                    bytes,
                    line,
                    reason,
                    continues,
                } => Owned::Bad(bytes.to_vec(), line, format!("{reason:?}"), continues),
                Frame::BadMore { bytes, last } => Owned::More(bytes.to_vec(), last),
            });
            assert!(out.len() <= 4 * data.len() + 4, "more frames than input allows");
        }
    };
    let mut spare = Vec::new();
    for (i, c) in data.chunks(chunk.max(1)).enumerate() {
        match headroom {
            None => f.feed(c),
            Some(room) => {
                // Vary the room: sometimes less than what is pending (then it is copied).
                let room = (room + i * 13) % 97;
                let mut buf = std::mem::take(&mut spare);
                buf.clear();
                buf.resize(room, 0xAA);
                buf.extend_from_slice(c);
                spare = f.feed_owned(buf, room);
            }
        }
        drain(&mut f, &mut out);
    }
    f.finish();
    drain(&mut f, &mut out);
    assert!(!continuing, "input ended inside an oversized record");
    // Finishing twice yields nothing more.
    assert!(f.next().is_none());
    out
}

fuzz_target!(|input: &[u8]| {
    let Some((&ctl, data)) = input.split_first() else {
        return;
    };
    let chunk = 1 + (ctl & 0x0f) as usize * 7;
    let max = if ctl & 0x80 != 0 {
        2 + (ctl >> 4 & 3) as usize * 24
    } else {
        usize::MAX / 2
    };
    let headroom = (ctl & 0x40 != 0).then_some(ctl as usize);
    let chunked = frames(data, chunk, max, headroom);
    if max > data.len() + 8 {
        // Nothing too large: the framing must not depend on how reads cut the input.
        let whole = frames(data, data.len().max(1), max, None);
        assert_eq!(chunked, whole, "chunk size {chunk} changed the framing");
    }
});
