//! The first pass for literals that only count at the start of a word.
//!
//! A context word counts as a whole word, and a vendor prefix of a pattern that begins with
//! `\b` can only start a match where a word starts. Such a literal, when its first byte is a
//! word byte (`[A-Za-z0-9_]`), needs looking up only at word starts: a word byte after a
//! non-word byte. Text has a word start every five or six bytes, so testing there alone costs a
//! fraction of testing every position, and the literal's window is its first bytes, which stand
//! at the word start itself.
//!
//! A context word that begins with a non-ASCII letter (`आधार`, `numéro`'s kin) counts where it
//! follows a byte that is no letter at all (neither a word byte nor part of a non-ASCII
//! character), so the starts of such characters after one are tested too. One in a script
//! written without spaces (`身份证`, `マイナンバー`) counts anywhere, and is searched elsewhere.
//!
//! The text is classified 64 bytes at a time into masks of word bytes and of bytes from 0x80
//! (SSE2 on x86-64, a byte loop elsewhere), whose word starts are the set bits of
//! `word & !(word << 1)`, and those of the letters `word | high` that fall on a high byte. At each, the
//! first two, three and four bytes (folded to lower case) are hashed into one bit table that
//! stays in the L1 cache; only where a bit is set are the literals of that window compared
//! (where only literals of four bytes or more can begin there, after a second bit table of
//! their first four bytes has let the start through), each by its first eight bytes in one
//! step.

use std::collections::HashMap;

use super::{eight_at, fold, low_bytes, window_u64, Entry, LiteralTarget, WindowHasher};
pub(super) use crate::classes::is_word_byte;
use crate::classes::{classifier, masks_with, Masks};

/// Words of the table: 2^12, 32 KiB, one per hash of a word's first two bytes.
const TABLE_BITS: u32 = 12;
const TABLE_WORDS: usize = 1 << TABLE_BITS;

/// Bits of the second table, of four-byte windows: 2^16, 8 KiB.
const FOURS_BITS: u32 = 16;

/// The bit of the second table for the first four (folded) bytes of `x`.
#[inline(always)]
fn four(x: u64) -> usize {
    ((x & 0xFFFF_FFFF).wrapping_mul(0xD6E8_FEB8_6659_FD93) >> (64 - FOURS_BITS)) as usize
}

/// The little-endian `u64` of the eight bytes of `block` from `i` (below 64).
#[inline(always)]
fn eight_in(block: &[u8; 72], i: usize) -> u64 {
    let i = i & 63;
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&block[i..i + 8]);
    u64::from_le_bytes(eight)
}

/// Widths of the windows, longest first: a literal of four bytes or more is found by its first
/// four, shorter ones by all of theirs.
const WIDTHS: [usize; 3] = [4, 3, 2];

/// The table's word for the first two (folded) bytes of `x`.
#[inline(always)]
fn slot(x: u64) -> usize {
    ((x & 0xFFFF).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - TABLE_BITS)) as usize
}

/// The bit, in the low half of a word, of a third byte (the low five bits of `x >> 16`).
#[inline(always)]
fn third(x: u64) -> u64 {
    1 << ((x >> 16) & 31)
}

/// The bit, in the high half of a word, of a third and fourth byte.
#[inline(always)]
fn third_and_fourth(x: u64) -> u64 {
    1 << (32 + (((x >> 16) & 0xFFFF).wrapping_mul(0xC2B2_AE3D_27D4_EB4F) >> 59))
}

/// The literals of one window, longest first. Each is compared by its first eight bytes
/// ([`Entry::head`]) with the text's in one step, which rules out most literals that share the
/// window (`passport` at `password`) and settles those of eight bytes or fewer.
type KeyedMap = HashMap<u64, Vec<Entry>, std::hash::BuildHasherDefault<WindowHasher>>;

/// The literals that count only at word starts, each found by its first bytes.
pub(super) struct WordStartFilter {
    /// Per hash of two first bytes, the literals that begin with them: bit `third` of their
    /// third byte for those of three bytes, bit `third_and_fourth` of their next two for
    /// longer ones, every bit for one of two bytes.
    bits: Box<[u64; TABLE_WORDS]>,
    /// A bit per hash of the first four bytes of a literal of four bytes or more
    /// ([`four`]): where the first table lets a word start through for such literals (their
    /// five bits of the next two bytes are few, and a common two-byte start such as `re` fills
    /// them), this one turns most starts away before the windows are looked up.
    fours: Box<[u64]>,
    /// The windows of each width of [`WIDTHS`], folded, as little-endian integers.
    windows: [KeyedMap; 3],
}

impl std::fmt::Debug for WordStartFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordStartFilter")
            .field("windows", &self.len())
            .finish_non_exhaustive()
    }
}

/// Whether the filter can find `literal`: two bytes or more, beginning with a word byte, or
/// with a byte from 0x80 for a `context` word (which counts after no letter of any script),
/// unless that word is in a script without spaces (`身份证`), which counts anywhere.
pub(super) fn eligible(literal: &[u8], context: bool) -> bool {
    let unspaced = std::str::from_utf8(literal)
        .ok()
        .and_then(|t| t.chars().next())
        .is_some_and(crate::confirm::is_unspaced_script);
    literal.len() >= 2 && (is_word_byte(literal[0]) || (context && literal[0] >= 0x80 && !unspaced))
}

impl WordStartFilter {
    /// Builds the filter; every entry's literal must be at least two bytes long and begin with
    /// a word byte, or, for a context word, with a byte from 0x80.
    pub(super) fn new(entries: Vec<Entry>) -> Self {
        let mut windows: [KeyedMap; 3] = Default::default();
        let mut bits: Box<[u64; TABLE_WORDS]> = Box::new([0; TABLE_WORDS]);
        let mut fours: Box<[u64]> = vec![0; 1 << (FOURS_BITS - 6)].into_boxed_slice();
        for entry in entries {
            let len = entry.literal.len();
            let Some(width) = WIDTHS.iter().position(|&w| w <= len) else {
                continue; // never given: see `PrefilterBuilder::build`
            };
            let folded = fold(window_u64(&entry.literal));
            let key = low_bytes(folded, WIDTHS[width]);
            windows[width].entry(key).or_default().push(entry);
            bits[slot(folded)] |= match len {
                2 => u64::MAX,
                3 => third(folded),
                _ => third_and_fourth(folded),
            };
            if len >= 4 {
                let bit = four(folded);
                fours[bit / 64] |= 1 << (bit % 64);
            }
        }
        for map in &mut windows {
            for list in map.values_mut() {
                list.sort_by_key(|e| std::cmp::Reverse(e.literal.len()));
            }
        }
        WordStartFilter {
            bits,
            fours,
            windows,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.windows
            .iter()
            .map(std::collections::HashMap::len)
            .sum()
    }

    /// Calls `hit` for every occurrence of a literal that starts a word (position 0 counts as
    /// one), in order of position.
    /// When `tokens` is given, the token and word masks of every 64-byte block of `hay` are
    /// appended to it as well (the pass over runs of token bytes, and over the words in them,
    /// then need not classify the text again).
    pub(super) fn for_each(
        &self,
        hay: &[u8],
        mut tokens: Option<&mut Vec<crate::scan::BlockMasks>>,
        hit: &mut impl FnMut(usize, usize, &LiteralTarget),
    ) {
        let classify = classifier();
        // Whether the byte before the block is a word byte, and a letter (a word byte or one
        // from 0x80).
        let (mut carry, mut carry_letter) = (0u64, 0u64);
        let mut base = 0;
        while base < hay.len() {
            let masks = masks_with(hay, base, classify);
            if let Some(tokens) = tokens.as_mut() {
                tokens.push(masks.into());
            }
            let Masks { word, high, .. } = masks;
            let letter = word | high;
            let starts = (word & !((word << 1) | carry)) | (high & !((letter << 1) | carry_letter));
            carry = word >> 63;
            carry_letter = letter >> 63;
            // Away from the end, a start's eight bytes are read without a test of the length.
            match hay
                .get(base..base + 72)
                .and_then(|b| <&[u8; 72]>::try_from(b).ok())
            {
                Some(block) => self.each_start(hay, base, starts, |i| eight_in(block, i), hit),
                None => self.each_start(hay, base, starts, |i| eight_at(hay, base + i), hit),
            }
            base += 64;
        }
    }

    /// Looks up the literals at each word start of the block from `base` whose bit is set in
    /// `starts`; `read(i)` gives the eight bytes from `base + i`.
    #[inline(always)]
    fn each_start(
        &self,
        hay: &[u8],
        base: usize,
        mut starts: u64,
        read: impl Fn(usize) -> u64,
        hit: &mut impl FnMut(usize, usize, &LiteralTarget),
    ) {
        let bits = &*self.bits;
        while starts != 0 {
            let i = starts.trailing_zeros() as usize & 63;
            starts &= starts - 1;
            let raw = read(i);
            let x = fold(raw);
            // One load: the literals that begin with these two bytes, by their next two
            // (without a branch before the one test, which text makes hard to predict).
            let w = bits[slot(x)];
            if w & (third(x) | third_and_fourth(x)) != 0 {
                self.verify(hay, base + i, raw, w, hit);
            }
        }
    }

    /// Reports the literals that begin at word start `at`, whose eight bytes are `raw` and
    /// the table's word for them `w`.
    #[inline(never)]
    fn verify(
        &self,
        hay: &[u8],
        at: usize,
        raw: u64,
        w: u64,
        hit: &mut impl FnMut(usize, usize, &LiteralTarget),
    ) {
        let x = fold(raw);
        // Which widths the tables let through.
        let bit = four(x);
        let passed = [
            w & third_and_fourth(x) != 0 && self.fours[bit / 64] & (1 << (bit % 64)) != 0,
            w & third(x) != 0,
            w == u64::MAX,
        ];
        for ((map, width), passed) in self.windows.iter().zip(WIDTHS).zip(passed) {
            if !passed {
                continue;
            }
            if let Some(list) = map.get(&low_bytes(x, width)) {
                for entry in list {
                    if entry.head.matches(raw) {
                        entry.report_past_head(hay, at, hit);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prefilter::HitKind;

    /// Every occurrence of each literal at a word start, the obvious way.
    fn naive(literals: &[(&str, bool)], hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for (p, (lit, ci)) in literals.iter().enumerate() {
            let high_first = lit.as_bytes()[0] >= 0x80;
            for s in 0..hay.len() {
                if s > 0 && (is_word_byte(hay[s - 1]) || (high_first && hay[s - 1] >= 0x80)) {
                    continue;
                }
                let Some(text) = hay.get(s..s + lit.len()) else {
                    break;
                };
                if (*ci && text.eq_ignore_ascii_case(lit.as_bytes())) || text == lit.as_bytes() {
                    out.push((s, s + lit.len(), p));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn reports_exactly_the_occurrences_at_word_starts() {
        let literals = [
            ("id", true),
            ("bsn", true),
            ("rib", true),
            ("sk_live_", false),
            ("SSN", false),
            ("number", true),
            ("numéro", true),
            ("ghp_", false),
            ("11.", false),
            ("身份证", false),
            // Literals sharing their first four bytes, differing before and after the eighth.
            ("passport", true),
            ("passport number", true),
            ("passnummer", true),
            ("Pass-Nr", false),
            ("1", false), // too short: never given, never reported
        ];
        let entries: Vec<Entry> = literals
            .iter()
            .enumerate()
            .filter(|(_, (l, _))| l.len() >= 2)
            .map(|(p, (l, ci))| {
                let literal = if *ci {
                    l.to_ascii_lowercase().into_bytes().into()
                } else {
                    l.as_bytes().into()
                };
                let target = LiteralTarget {
                    pattern: p,
                    kind: HitKind::Context,
                };
                Entry::new(literal, *ci, target, 0, true)
            })
            .collect();
        let filter = WordStartFilter::new(entries);
        let pieces: [&[u8]; 25] = [
            b"PASSPORT ",
            b"passport number ",
            b"Passport Numbers",
            b"password ",
            b"passnummer",
            b"Pass-Nr",
            b"ID ",
            b"xid ",
            b"BSN:",
            b"ribbon ",
            b"attribute ",
            b"sk_live_",
            b"ssn ",
            b"SSN ",
            b"Number",
            b"numbers ",
            b"NUM\xc3\xa9ro ",
            b"_ghp_x ",
            b"-ghp_",
            b"11.2.3.4 ",
            b"211.",
            "身份证 ".as_bytes(),
            "的身份证".as_bytes(),
            "(身份证)".as_bytes(),
            b"\n",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for len in [0, 1, 2, 63, 64, 65, 130, 1000] {
            let mut hay = Vec::new();
            while hay.len() < len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                hay.extend_from_slice(pieces[(state % pieces.len() as u64) as usize]);
            }
            hay.truncate(len);
            let mut got = Vec::new();
            let mut tokens = Vec::new();
            filter.for_each(&hay, Some(&mut tokens), &mut |s, e, t| {
                got.push((s, e, t.pattern))
            });
            // The masks handed on are those of every block.
            let blocks: Vec<crate::scan::BlockMasks> = (0..hay.len().div_ceil(64))
                .map(|b| crate::classes::masks(&hay, b * 64).into())
                .collect();
            assert_eq!(tokens, blocks);
            got.sort();
            assert_eq!(
                got,
                naive(&literals[..literals.len() - 1], &hay),
                "{}",
                String::from_utf8_lossy(&hay)
            );
        }
    }
}
