//! Byte classes of 64-byte blocks as bit masks, for the first passes that look for word starts
//! and runs of token bytes: SSE2 on x86-64 (always there), a byte loop elsewhere.

/// Bit `i` of each mask stands for byte `i` of a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Masks {
    /// Word bytes: `[A-Za-z0-9_]`.
    pub word: u64,
    /// Bytes from 0x80 (parts of non-ASCII characters).
    pub high: u64,
    /// Token bytes: word bytes and `+/=.-` (keys, base64, URLs' paths).
    pub token: u64,
}

/// Whether `b` is a word byte (`\w` in ASCII).
#[inline]
pub(crate) const fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `b` is a token byte.
#[inline]
pub(crate) fn is_token_byte(b: u8) -> bool {
    is_word_byte(b) || matches!(b, b'+' | b'/' | b'=' | b'.' | b'-')
}

/// The masks of the 64 bytes of `hay` from `base` (bytes past its end are in no class), for
/// tests; a pass over many blocks chooses its [`classifier`] once and calls [`masks_with`].
#[cfg(test)]
pub(crate) fn masks(hay: &[u8], base: usize) -> Masks {
    masks_with(hay, base, classifier())
}

/// [`masks`] with the blocks classified by `classify` (from [`classifier`], chosen once for
/// a loop over many blocks).
#[inline(always)]
pub(crate) fn masks_with(hay: &[u8], base: usize, classify: impl Fn(&[u8; 64]) -> Masks) -> Masks {
    match hay
        .get(base..base + 64)
        .and_then(|b| <&[u8; 64]>::try_from(b).ok())
    {
        Some(block) => classify(block),
        None => {
            let mut padded = [0u8; 64];
            let rest = &hay[base.min(hay.len())..];
            padded[..rest.len()].copy_from_slice(rest);
            classify(&padded)
        }
    }
}

/// The best way this CPU classifies a block: AVX2 where it has it (a call, since the
/// callers' loops are compiled for any x86-64; it costs less than the two SSE2 steps it
/// saves), else SSE2.
pub(crate) fn classifier() -> fn(&[u8; 64]) -> Masks {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY (of the call it makes): the CPU has AVX2.
        return |block| unsafe { avx2::block_masks_call(block) };
    }
    block_masks
}

/// The masks of a block with AVX2: 32 bytes a step, where SSE2 takes 16.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use super::Masks;
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi8, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256,
        _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8,
    };

    /// [`block_masks`], not inlined: callable from code compiled without AVX2.
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    pub(crate) fn block_masks_call(block: &[u8; 64]) -> Masks {
        block_masks(block)
    }

    /// The masks of `block`; the caller must have checked that the CPU has AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) fn block_masks(block: &[u8; 64]) -> Masks {
        let mut m = Masks::default();
        for i in 0..2 {
            // SAFETY: `block` holds 64 bytes, so the 32 bytes at `32 * i` are in bounds; the
            // load needs no alignment.
            let x = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * i).cast::<__m256i>()) };
            let is = |b: u8| _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b as i8));
            // As in the SSE2 version: a range becomes the bottom of the signed range.
            let digit = _mm256_cmpgt_epi8(
                _mm256_set1_epi8(0x80u8.wrapping_add(10) as i8),
                _mm256_add_epi8(x, _mm256_set1_epi8(0x80u8.wrapping_sub(b'0') as i8)),
            );
            let letter = _mm256_cmpgt_epi8(
                _mm256_set1_epi8(0x80u8.wrapping_add(26) as i8),
                _mm256_add_epi8(
                    _mm256_or_si256(x, _mm256_set1_epi8(0x20)),
                    _mm256_set1_epi8(0x80u8.wrapping_sub(b'a') as i8),
                ),
            );
            let word = _mm256_or_si256(_mm256_or_si256(digit, letter), is(b'_'));
            let punctuation = _mm256_or_si256(
                _mm256_or_si256(
                    _mm256_or_si256(is(b'+'), is(b'/')),
                    _mm256_or_si256(is(b'='), is(b'.')),
                ),
                is(b'-'),
            );
            let token = _mm256_or_si256(word, punctuation);
            m.word |= u64::from(_mm256_movemask_epi8(word) as u32) << (32 * i);
            m.high |= u64::from(_mm256_movemask_epi8(x) as u32) << (32 * i);
            m.token |= u64::from(_mm256_movemask_epi8(token) as u32) << (32 * i);
        }
        m
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn block_masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };
    let mut m = Masks::default();
    for i in 0..4 {
        // SAFETY: SSE2 is part of x86-64; `block` holds 64 bytes, so the 16 bytes at `16 * i`
        // are in bounds, and the load needs no alignment.
        let (word, high, token) = unsafe {
            let x = _mm_loadu_si128(block.as_ptr().add(16 * i).cast::<__m128i>());
            let is = |b: u8| _mm_cmpeq_epi8(x, _mm_set1_epi8(b as i8));
            // A byte in `lo..lo + n` is moved to the bottom of the signed range, so one signed
            // compare tests it; OR 0x20 folds upper-case letters onto lower-case ones.
            let digit = _mm_cmplt_epi8(
                _mm_add_epi8(x, _mm_set1_epi8(0x80u8.wrapping_sub(b'0') as i8)),
                _mm_set1_epi8(0x80u8.wrapping_add(10) as i8),
            );
            let letter = _mm_cmplt_epi8(
                _mm_add_epi8(
                    _mm_or_si128(x, _mm_set1_epi8(0x20)),
                    _mm_set1_epi8(0x80u8.wrapping_sub(b'a') as i8),
                ),
                _mm_set1_epi8(0x80u8.wrapping_add(26) as i8),
            );
            let word = _mm_or_si128(_mm_or_si128(digit, letter), is(b'_'));
            let punctuation = _mm_or_si128(
                _mm_or_si128(
                    _mm_or_si128(is(b'+'), is(b'/')),
                    _mm_or_si128(is(b'='), is(b'.')),
                ),
                is(b'-'),
            );
            (
                _mm_movemask_epi8(word),
                _mm_movemask_epi8(x),
                _mm_movemask_epi8(_mm_or_si128(word, punctuation)),
            )
        };
        m.word |= u64::from(word as u16) << (16 * i);
        m.high |= u64::from(high as u16) << (16 * i);
        m.token |= u64::from(token as u16) << (16 * i);
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn block_masks(block: &[u8; 64]) -> Masks {
    bytewise_masks(block)
}

/// The byte loop: the reference for the vector version, and the fallback off x86-64.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn bytewise_masks(block: &[u8; 64]) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in block.iter().enumerate() {
        m.word |= u64::from(is_word_byte(b)) << i;
        m.high |= u64::from(b >= 0x80) << i;
        m.token |= u64::from(is_token_byte(b)) << i;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_masks_match_the_byte_loop_for_every_byte() {
        for first in (0..=255u16).step_by(64) {
            let mut block = [0u8; 64];
            for (i, b) in block.iter_mut().enumerate() {
                *b = (first + i as u16) as u8;
            }
            assert_eq!(block_masks(&block), bytewise_masks(&block), "{first}");
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                let got = unsafe { avx2::block_masks(&block) };
                assert_eq!(got, bytewise_masks(&block), "{first}");
            }
        }
    }

    #[test]
    fn a_short_tail_is_padded_with_no_class() {
        let m = masks(b"ab+ \xc3\xa9", 0);
        assert_eq!(m.word, 0b11);
        assert_eq!(m.token, 0b111);
        assert_eq!(m.high, 0b11_0000);
        assert_eq!(masks(b"ab", 64), Masks::default());
    }
}
