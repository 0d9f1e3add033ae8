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
pub(super) const ROOM: usize = 33;

pub(super) type Blocks = fn(&[u8], usize, &mut [u8], usize) -> (usize, usize, bool);

/// The fastest step this CPU has.
pub(super) fn fastest() -> Blocks {
    #[cfg(target_arch = "x86_64")]
    {
        if pulp::x86::V3::is_available() {
            return simd::avx2;
        }
        if pulp::x86::V2::is_available() {
            return simd::ssse3;
        }
    }
    words
}

/// Every step this CPU can take, the portable one first (the tests hold each to the same text).
#[cfg(test)]
pub(super) fn all() -> Vec<Blocks> {
    let mut all: Vec<Blocks> = vec![words];
    #[cfg(target_arch = "x86_64")]
    {
        if pulp::x86::V2::is_available() {
            all.push(simd::ssse3);
        }
        if pulp::x86::V3::is_available() {
            all.push(simd::avx2);
        }
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
mod simd {
    use super::ROOM;
    use core::arch::x86_64::{__m128i, __m256i};
    use pulp::x86::{V2, V3};

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

    /// The shuffle that packs eight bytes without those in `drop`, taken from bytes `8 * half`
    /// on of a 16-byte lane.
    #[inline(always)]
    fn packing(drop: u32, half: u64) -> i64 {
        (KEPT[(drop & 0xff) as usize] + half * 0x0808_0808_0808_0808) as i64
    }

    /// Writes the packed eight-byte pieces of `packed`, each without its `drops`' bytes, at `o`.
    #[inline(always)]
    fn write(out: &mut [u8], mut o: usize, packed: &[u8], drops: u32) -> usize {
        for (k, piece) in packed.chunks_exact(8).enumerate() {
            out[o..o + 8].copy_from_slice(piece);
            o += 8 - ((drops >> (8 * k)) & 0xff).count_ones() as usize;
        }
        o
    }

    /// Whether a block may be taken whole: no control character, no quote but escaped ones,
    /// and every backslash followed by `"` or `/` (`escapable`: where those are, one byte on).
    #[inline(always)]
    fn whole(backslashes: u32, quotes: u32, escapable: u32, controls: u32, carry: u32) -> bool {
        let closing_quote = quotes & !(backslashes << 1 | carry);
        controls | closing_quote | (backslashes & !escapable) == 0
    }

    /// Sixteen bytes a step with SSE2's compares and SSSE3's byte shuffle, which packs each half
    /// of the block without its backslashes.
    pub(super) fn ssse3(b: &[u8], i: usize, out: &mut [u8], o: usize) -> (usize, usize, bool) {
        match V2::try_new() {
            Some(simd) => simd.vectorize(
                #[inline(always)]
                move || ssse3_steps(simd, b, i, out, o),
            ),
            None => super::words(b, i, out, o),
        }
    }

    #[inline(always)]
    fn ssse3_steps(simd: V2, b: &[u8], mut i: usize, out: &mut [u8], mut o: usize) -> (usize, usize, bool) {
        let (sse2, ssse3) = (simd.sse2, simd.ssse3);
        let splat = |c: u8| sse2._mm_set1_epi8(c as i8);
        let (backslash, quote, slash, control) = (splat(b'\\'), splat(b'"'), splat(b'/'), splat(0x1f));
        let mask = |v: __m128i| sse2._mm_movemask_epi8(v) as u32;
        // Bit 0: the last step dropped the backslash that escapes byte 0.
        let mut carry = 0;
        while i + ROOM <= b.len() && o + ROOM <= out.len() {
            let bytes: [u8; 16] = b[i..i + 16].try_into().expect("sixteen bytes");
            let x: __m128i = pulp::cast(bytes);
            let quotes = sse2._mm_cmpeq_epi8(x, quote);
            let backslashes = mask(sse2._mm_cmpeq_epi8(x, backslash));
            let escapable = mask(sse2._mm_or_si128(quotes, sse2._mm_cmpeq_epi8(x, slash))) >> 1
                | u32::from(matches!(b[i + 16], b'"' | b'/')) << 15;
            let controls = mask(sse2._mm_cmpeq_epi8(sse2._mm_max_epu8(x, control), control));
            if !whole(backslashes, mask(quotes), escapable, controls, carry) {
                break;
            }
            let shuffle = sse2._mm_set_epi64x(packing(backslashes >> 8, 1), packing(backslashes, 0));
            let packed: [u8; 16] = pulp::cast(ssse3._mm_shuffle_epi8(x, shuffle));
            o = write(out, o, &packed, backslashes);
            carry = backslashes >> 15;
            i += 16;
        }
        (i, o, carry != 0)
    }

    /// Thirty-two bytes a step with AVX2: the same, the shuffle packing each quarter.
    pub(super) fn avx2(b: &[u8], i: usize, out: &mut [u8], o: usize) -> (usize, usize, bool) {
        match V3::try_new() {
            Some(simd) => simd.vectorize(
                #[inline(always)]
                move || avx2_steps(simd, b, i, out, o),
            ),
            None => ssse3(b, i, out, o),
        }
    }

    #[inline(always)]
    fn avx2_steps(simd: V3, b: &[u8], mut i: usize, out: &mut [u8], mut o: usize) -> (usize, usize, bool) {
        const STEP: usize = 32;
        let (avx, avx2) = (simd.avx, simd.avx2);
        let splat = |c: u8| avx._mm256_set1_epi8(c as i8);
        let (backslash, quote, slash, control) = (splat(b'\\'), splat(b'"'), splat(b'/'), splat(0x1f));
        let mask = |v: __m256i| avx2._mm256_movemask_epi8(v) as u32;
        let mut carry = 0;
        while i + STEP < b.len() && o + STEP <= out.len() {
            let bytes: [u8; STEP] = b[i..i + STEP].try_into().expect("thirty-two bytes");
            let x: __m256i = pulp::cast(bytes);
            let quotes = avx2._mm256_cmpeq_epi8(x, quote);
            let backslashes = mask(avx2._mm256_cmpeq_epi8(x, backslash));
            let escapable = mask(avx2._mm256_or_si256(quotes, avx2._mm256_cmpeq_epi8(x, slash))) >> 1
                | u32::from(matches!(b[i + STEP], b'"' | b'/')) << 31;
            let controls = mask(avx2._mm256_cmpeq_epi8(avx2._mm256_max_epu8(x, control), control));
            if !whole(backslashes, mask(quotes), escapable, controls, carry) {
                break;
            }
            // The shuffle works within each 16-byte lane: two halves of eight in each.
            let shuffle = avx._mm256_set_epi64x(
                packing(backslashes >> 24, 1),
                packing(backslashes >> 16, 0),
                packing(backslashes >> 8, 1),
                packing(backslashes, 0),
            );
            let packed: [u8; STEP] = pulp::cast(avx2._mm256_shuffle_epi8(x, shuffle));
            o = write(out, o, &packed, backslashes);
            carry = backslashes >> 31;
            i += STEP;
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
