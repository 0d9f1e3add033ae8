//! The fast steps of [`super::unescape_string`]: a block of a string's bytes at a time, as long
//! as the block holds only plain bytes and escapes of `"` or `/` (the escapes that make up a
//! record carried as a string). In such a block every backslash is followed by one of those two,
//! so none is itself escaped, and unescaping is dropping the backslashes.
//!
//! Each function takes the text `b`, where to read (`i`) and write (`o`), and returns where it
//! stopped: at the first block it cannot take whole, or when fewer than [`ROOM`] bytes are left
//! to read or to write. The third value says the last block ended with a backslash whose escaped
//! byte (`b[i]`) is still to be written.

/// What every step needs: bytes left in the input past the block (one to see what a final
/// backslash escapes), and room in the output for a whole block.
pub(super) const ROOM: usize = 17;

pub(super) type Blocks = fn(&[u8], usize, &mut [u8], usize) -> (usize, usize, bool);

/// The fastest step this CPU has.
pub(super) fn fastest() -> Blocks {
    #[cfg(target_arch = "x86_64")]
    if pulp::x86::V2::is_available() {
        return ssse3::blocks;
    }
    words
}

/// Every step this CPU can take, the portable one first (the tests hold each to the same text).
#[cfg(test)]
pub(super) fn all() -> Vec<Blocks> {
    let mut all: Vec<Blocks> = vec![words];
    #[cfg(target_arch = "x86_64")]
    if pulp::x86::V2::is_available() {
        all.push(ssse3::blocks);
    }
    all
}

const ONES: u64 = u64::MAX / 255;
const HIGH: u64 = ONES << 7;

/// The high bit of each byte of `x` that is zero, exactly (no borrow runs between bytes).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    let low = ONES * 0x7f;
    !(((x & low).wrapping_add(low)) | x | low)
}

/// The high bit of each byte of `x` that is `c`.
#[inline(always)]
fn bytes_equal(x: u64, c: u8) -> u64 {
    zero_bytes(x ^ (ONES * u64::from(c)))
}

/// Eight bytes a step, in a `u64` (any CPU): each byte is stored where the backslashes before it
/// in the word leave it, and the backslashes are overwritten.
pub(super) fn words(b: &[u8], mut i: usize, out: &mut [u8], mut o: usize) -> (usize, usize, bool) {
    // High bit of byte 0: the last step dropped the backslash that escapes it.
    let mut carry = 0;
    while i + ROOM <= b.len() && o + ROOM <= out.len() {
        let word: [u8; 8] = b[i..i + 8].try_into().expect("eight bytes");
        let w = u64::from_le_bytes(word);
        let next = (w >> 8) | (u64::from(b[i + 8]) << 56);
        let backslash = bytes_equal(w, b'\\');
        let closing_quote = bytes_equal(w, b'"') & !(backslash << 8 | carry);
        let other_escape = backslash & !(bytes_equal(next, b'"') | bytes_equal(next, b'/'));
        if zero_bytes(w & (ONES * 0xe0)) | closing_quote | other_escape != 0 {
            break;
        }
        // Byte j goes after the bytes kept before it: an exclusive prefix sum, in bytes.
        let keep = (!backslash & HIGH) >> 7;
        let kept = keep.wrapping_mul(ONES);
        let at = (kept - keep).to_le_bytes();
        let dst = &mut out[o..o + 8];
        for j in 0..8 {
            dst[usize::from(at[j]) & 7] = word[j];
        }
        o += (kept >> 56) as usize;
        carry = backslash >> 63 << 7;
        i += 8;
    }
    (i, o, carry != 0)
}

#[cfg(target_arch = "x86_64")]
mod ssse3 {
    use super::ROOM;
    use core::arch::x86_64::__m128i;
    use pulp::x86::V2;

    /// For each mask of bytes to drop among eight, the positions of the bytes kept, in order
    /// (a byte shuffle; 0x80 makes a zero, past the kept ones).
    static KEPT: [u64; 256] = {
        let mut t = [0u64; 256];
        let mut m = 0;
        while m < 256 {
            let (mut shuffle, mut k) = ([0x80u8; 8], 0);
            let mut j = 0;
            while j < 8 {
                if m & (1 << j) == 0 {
                    shuffle[k] = j as u8;
                    k += 1;
                }
                j += 1;
            }
            t[m] = u64::from_le_bytes(shuffle);
            m += 1;
        }
        t
    };

    /// Sixteen bytes a step with SSE2's compares and SSSE3's byte shuffle, which packs each half
    /// of the block without its backslashes. The caller has checked the CPU has them.
    pub(super) fn blocks(b: &[u8], i: usize, out: &mut [u8], o: usize) -> (usize, usize, bool) {
        match V2::try_new() {
            Some(simd) => simd.vectorize(
                #[inline(always)]
                move || steps(simd, b, i, out, o),
            ),
            None => super::words(b, i, out, o),
        }
    }

    #[inline(always)]
    fn steps(simd: V2, b: &[u8], mut i: usize, out: &mut [u8], mut o: usize) -> (usize, usize, bool) {
        let (sse2, ssse3) = (simd.sse2, simd.ssse3);
        let load = |at: usize| -> __m128i {
            let bytes: [u8; 16] = b[at..at + 16].try_into().expect("sixteen bytes");
            pulp::cast(bytes)
        };
        let splat = |c: u8| sse2._mm_set1_epi8(c as i8);
        let (backslash, quote, slash, control) = (splat(b'\\'), splat(b'"'), splat(b'/'), splat(0x1f));
        let mask = |v: __m128i| sse2._mm_movemask_epi8(v) as u32;
        // Bit 0: the last step dropped the backslash that escapes byte 0.
        let mut carry = 0;
        while i + ROOM <= b.len() && o + ROOM <= out.len() {
            let (x, next) = (load(i), load(i + 1));
            let backslashes = mask(sse2._mm_cmpeq_epi8(x, backslash));
            let quotes = mask(sse2._mm_cmpeq_epi8(x, quote));
            let controls = mask(sse2._mm_cmpeq_epi8(sse2._mm_max_epu8(x, control), control));
            let escapable =
                mask(sse2._mm_or_si128(sse2._mm_cmpeq_epi8(next, quote), sse2._mm_cmpeq_epi8(next, slash)));
            let closing_quote = quotes & !(backslashes << 1 | carry);
            if controls | closing_quote | (backslashes & !escapable) != 0 {
                break;
            }
            let (low, high) = ((backslashes & 0xff) as usize, (backslashes >> 8) as usize);
            let shuffle = sse2._mm_set_epi64x(
                (KEPT[high] + 0x0808_0808_0808_0808) as i64, // the high half's bytes are 8..16
                KEPT[low] as i64,
            );
            let packed: [u8; 16] = pulp::cast(ssse3._mm_shuffle_epi8(x, shuffle));
            out[o..o + 8].copy_from_slice(&packed[..8]);
            o += 8 - low.count_ones() as usize;
            out[o..o + 8].copy_from_slice(&packed[8..]);
            o += 8 - high.count_ones() as usize;
            carry = backslashes >> 15;
            i += 16;
        }
        (i, o, carry != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both steps, on every block of escapes they take whole, agree with each other.
    #[test]
    fn the_steps_agree() {
        let pieces: [&[u8]; 6] = [b"a", b"\\\"", b"\\/", b"xyz", b"\\\\", b"\""];
        let mut seed = 7u64;
        for _ in 0..20_000 {
            let mut text = Vec::new();
            while text.len() < 60 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.extend_from_slice(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            let mut results = Vec::new();
            for step in all() {
                let mut out = vec![0; 128];
                let (i, o, escaped) = step(&text, 0, &mut out, 0);
                results.push((i, escaped, out[..o].to_vec()));
            }
            // Whatever either took, its output is the text up to there without its escaping
            // backslashes.
            for (i, _, out) in &results {
                let mut want = Vec::new();
                let mut k = 0;
                while k < *i {
                    if text[k] == b'\\' {
                        k += 1;
                    }
                    if k < *i {
                        want.push(text[k]);
                    }
                    k += 1;
                }
                assert_eq!(&want, out, "{}", String::from_utf8_lossy(&text));
            }
        }
    }
}
