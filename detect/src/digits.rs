//! Digit runs: the trigger of the card and SSN detectors (maximal runs of digits with single
//! space or dash separators) and of the IBAN detector (a digit after two upper-case letters).
//!
//! The text is classified 64 bytes at a time into bit masks of digits, separators and capitals
//! (AVX2 or SSE2 on x86-64, chosen at run time; a byte loop elsewhere). Shifts and ands of two
//! blocks' masks then find the runs long enough to matter and the digits that follow two
//! capitals, so the short numbers that fill logs, tables and code (`2024`, `404`, `:8080`) cost
//! no branch each. A run's end and digit count are read from the masks; only a run longer than
//! two blocks is walked byte by byte.

/// What [`scan_digit_runs`] finds, in order of position within each kind.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DigitEvent {
    /// A digit run at least the asked-for number of bytes long.
    Run(DigitRun),
    /// A digit run starts here, right after two upper-case letters.
    AfterCapitals(usize),
}

/// Class masks of 64 bytes: bit `i` is set when byte `i` is of the class.
#[derive(Clone, Copy, Default)]
struct Classes {
    digit: u64,
    /// Space or dash.
    sep: u64,
    upper: u64,
}

/// The byte loop: the reference for the vector versions, and the fallback off x86-64.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classes_bytewise(block: &[u8; 64]) -> Classes {
    let mut c = Classes::default();
    for (i, &b) in block.iter().enumerate() {
        c.digit |= u64::from(b.is_ascii_digit()) << i;
        c.sep |= u64::from(b == b' ' || b == b'-') << i;
        c.upper |= u64::from(b.is_ascii_uppercase()) << i;
    }
    c
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::Classes;
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };

    /// [`super::scan_digit_runs`] compiled for SSE2.
    #[target_feature(enable = "sse2")]
    pub(super) fn scan(
        win: &[u8],
        min_span: usize,
        capitals: bool,
        on: impl FnMut(super::DigitEvent),
    ) {
        super::scan_blocks(win, min_span, capitals, |block| classes(block), on);
    }

    #[target_feature(enable = "sse2")]
    #[inline]
    pub(super) fn classes(block: &[u8; 64]) -> Classes {
        let mut c = Classes::default();
        for i in 0..4 {
            // SAFETY: `block` holds 64 bytes, so the 16 bytes at `16 * i` are in bounds; the
            // load needs no alignment.
            let x = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * i).cast::<__m128i>()) };
            // A byte in `lo..lo + n` is moved to the bottom of the signed range, so one signed
            // compare tests it.
            let digit = _mm_cmplt_epi8(
                _mm_add_epi8(x, _mm_set1_epi8(0x80u8.wrapping_sub(b'0') as i8)),
                _mm_set1_epi8(0x80u8.wrapping_add(10) as i8),
            );
            let upper = _mm_cmplt_epi8(
                _mm_add_epi8(x, _mm_set1_epi8(0x80u8.wrapping_sub(b'A') as i8)),
                _mm_set1_epi8(0x80u8.wrapping_add(26) as i8),
            );
            let sep = _mm_or_si128(
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b' ' as i8)),
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b'-' as i8)),
            );
            c.digit |= u64::from(_mm_movemask_epi8(digit) as u16) << (16 * i);
            c.sep |= u64::from(_mm_movemask_epi8(sep) as u16) << (16 * i);
            c.upper |= u64::from(_mm_movemask_epi8(upper) as u16) << (16 * i);
        }
        c
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::Classes;
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi8, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256,
        _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8,
    };

    /// [`super::scan_digit_runs`] compiled for AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn scan(
        win: &[u8],
        min_span: usize,
        capitals: bool,
        on: impl FnMut(super::DigitEvent),
    ) {
        super::scan_blocks(win, min_span, capitals, |block| classes(block), on);
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn classes(block: &[u8; 64]) -> Classes {
        let mut c = Classes::default();
        for i in 0..2 {
            // SAFETY: `block` holds 64 bytes, so the 32 bytes at `32 * i` are in bounds; the
            // load needs no alignment.
            let x = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * i).cast::<__m256i>()) };
            // As in the SSE2 version: a range becomes the bottom of the signed range.
            let digit = _mm256_cmpgt_epi8(
                _mm256_set1_epi8(0x80u8.wrapping_add(10) as i8),
                _mm256_add_epi8(x, _mm256_set1_epi8(0x80u8.wrapping_sub(b'0') as i8)),
            );
            let upper = _mm256_cmpgt_epi8(
                _mm256_set1_epi8(0x80u8.wrapping_add(26) as i8),
                _mm256_add_epi8(x, _mm256_set1_epi8(0x80u8.wrapping_sub(b'A') as i8)),
            );
            let sep = _mm256_or_si256(
                _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b' ' as i8)),
                _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'-' as i8)),
            );
            c.digit |= u64::from(_mm256_movemask_epi8(digit) as u32) << (32 * i);
            c.sep |= u64::from(_mm256_movemask_epi8(sep) as u32) << (32 * i);
            c.upper |= u64::from(_mm256_movemask_epi8(upper) as u32) << (32 * i);
        }
        c
    }
}

/// The classes of the `index`th 64-byte block of `win` (bytes past its end count as none).
#[inline(always)]
fn block_classes(win: &[u8], index: usize, classify: impl Fn(&[u8; 64]) -> Classes) -> Classes {
    let start = index * 64;
    if let Some(block) = win.get(start..start + 64).and_then(|b| b.try_into().ok()) {
        return classify(block);
    }
    if start >= win.len() {
        return Classes::default();
    }
    let mut padded = [0u8; 64];
    padded[..win.len() - start].copy_from_slice(&win[start..]);
    classify(&padded)
}

/// Reports every digit run of `win` at least `min_span` bytes long (none when `min_span` is
/// `usize::MAX`), and, when `capitals` is set, the start of every run right after two
/// upper-case letters. Each kind comes in order of position.
pub(crate) fn scan_digit_runs(
    win: &[u8],
    min_span: usize,
    capitals: bool,
    on: impl FnMut(DigitEvent),
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked just above.
            unsafe { avx2::scan(win, min_span, capitals, on) }
        } else {
            // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 processor has it.
            unsafe { sse2::scan(win, min_span, capitals, on) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    scan_blocks(win, min_span, capitals, classes_bytewise, on);
}

#[inline(always)]
fn scan_blocks(
    win: &[u8],
    min_span: usize,
    capitals: bool,
    classify: impl Fn(&[u8; 64]) -> Classes + Copy,
    on: impl FnMut(DigitEvent),
) {
    // Where runs of at least `min_span` bytes start is found with shifts (a run that starts in
    // one block has its first 64 bytes in it and the next), so the short numbers of logs and
    // tables cost no iteration each: for 9 bytes or more (the core set's least) with four
    // fixed shifts, finding runs of 9 (a longer least is checked on each run found), each
    // way compiled apart.
    if min_span >= 9 {
        scan_blocks_with::<true>(win, min_span, capitals, classify, on);
    } else {
        scan_blocks_with::<false>(win, min_span, capitals, classify, on);
    }
}

#[inline(always)]
fn scan_blocks_with<const LONG_ONLY: bool>(
    win: &[u8],
    min_span: usize,
    capitals: bool,
    classify: impl Fn(&[u8; 64]) -> Classes + Copy,
    mut on: impl FnMut(DigitEvent),
) {
    let want_runs = min_span != usize::MAX;
    let span = min_span.clamp(1, 64);
    let blocks = win.len().div_ceil(64);
    let mut done = 0usize; // bytes before this are inside runs already looked at
    let mut prev = Classes::default();
    let mut current = block_classes(win, 0, classify);
    let mut next = block_classes(win, 1, classify);
    let mut joined = run_bytes(0, &current, next.digit);
    for index in 0..blocks {
        let after_next = block_classes(win, index + 2, classify);
        let joined_next = run_bytes(current.digit, &next, after_next.digit);
        let base = index * 64;
        // Every run starts with a digit: a block without one starts none.
        if current.digit != 0 {
            if want_runs {
                // This block's and the next one's run bytes, and their digits.
                let both = u128::from(joined) | (u128::from(joined_next) << 64);
                let digits = u128::from(current.digit) | (u128::from(next.digit) << 64);
                // Bit i set where 9 (or `span`) run bytes start at i.
                let starts = if LONG_ONLY {
                    let two = both & (both >> 1);
                    let four = two & (two >> 2);
                    let eight = four & (four >> 4);
                    eight & (both >> 8)
                } else {
                    spans(both, span)
                };
                let mut bits = above(starts as u64, done.saturating_sub(base));
                while bits != 0 {
                    // Earlier bytes of the same run would have set an earlier bit (looked at
                    // already, or below `done`), so a run starts here.
                    let at = bits.trailing_zeros();
                    let len = (!(both >> at)).trailing_zeros();
                    let run = if at + len < 128 {
                        // The run ends inside the two blocks: its masks say it all.
                        let count = ((digits >> at) & ((1u128 << len) - 1)).count_ones();
                        DigitRun {
                            start: base + at as usize,
                            end: base + (at + len) as usize,
                            digits: count as usize,
                            separated: count != len,
                            seps: if count != len {
                                sep_mask(!(digits >> at), len)
                            } else {
                                0
                            },
                        }
                    } else {
                        match next_digit_run(win, base + at as usize) {
                            Some(run) => run,
                            None => break,
                        }
                    };
                    done = run.end;
                    if run.end - run.start >= min_span {
                        on(DigitEvent::Run(run));
                    }
                    bits = above(bits, done - base);
                }
            }
            if capitals {
                let one = (current.upper << 1) | (prev.upper >> 63);
                let two = (current.upper << 2) | (prev.upper >> 62);
                let mut bits = current.digit & one & two;
                while bits != 0 {
                    on(DigitEvent::AfterCapitals(
                        base + bits.trailing_zeros() as usize,
                    ));
                    bits &= bits - 1;
                }
            }
        }
        prev = current;
        current = next;
        next = after_next;
        joined = joined_next;
    }
}

/// Bit `i` set where bits `i..i + n` of `bits` are all set (`n` from 1 to 128): runs of
/// `2^k` set bits, each from the last by one shift, up to the longest `2^k` not past `n`; two
/// such runs, `n - 2^k` apart, make one of `n`.
#[inline(always)]
fn spans(bits: u128, n: usize) -> u128 {
    let (mut runs, mut width) = (bits, 1);
    while width * 2 <= n {
        runs &= runs >> width;
        width *= 2;
    }
    runs & (runs >> (n - width))
}

/// The bytes of `block` that belong to digit runs: its digits, and its separators with a digit
/// on each side (`before` and `after` are the digit masks of the blocks around it).
#[inline]
fn run_bytes(before: u64, block: &Classes, after: u64) -> u64 {
    let left = (block.digit << 1) | (before >> 63);
    let right = (block.digit >> 1) | (after << 63);
    block.digit | (block.sep & left & right)
}

/// The bits of `bits` at positions `from` and above (none when `from` is 64 or more).
#[inline]
pub(crate) fn above(bits: u64, from: usize) -> u64 {
    if from >= 64 {
        0
    } else {
        bits & (!0u64 << from)
    }
}

/// A maximal run of ASCII digits with single space or dash separators between digits.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DigitRun {
    pub start: usize,
    pub end: usize,
    pub digits: usize,
    /// Whether the run has separators between its digits.
    pub separated: bool,
    /// Where its separators are, bit `i` for byte `start + i`, in a run of at most 64 bytes
    /// (zero in a longer one).
    pub seps: u64,
}

/// The separator mask of a run (see [`DigitRun::seps`]): its bytes that are no digits, when
/// `run_bytes` (bit `i` for byte `i` of the run) has at most 64.
#[inline(always)]
fn sep_mask(non_digits: u128, len: u32) -> u64 {
    if len <= 64 {
        (non_digits & ((1u128 << len) - 1)) as u64
    } else {
        0
    }
}

/// Finds the next digit run at or after `pos`.
pub(crate) fn next_digit_run(win: &[u8], pos: usize) -> Option<DigitRun> {
    let start = pos + find_digit(&win[pos.min(win.len())..])?;
    let mut i = start;
    let mut digits = 0;
    loop {
        let n = count_digits(&win[i..]);
        i += n;
        digits += n;
        if i + 1 < win.len() && (win[i] == b' ' || win[i] == b'-') && win[i + 1].is_ascii_digit() {
            i += 1;
            continue;
        }
        break;
    }
    let mut seps = 0u64;
    if i - start <= 64 {
        for (j, b) in win[start..i].iter().enumerate() {
            seps |= u64::from(!b.is_ascii_digit()) << j;
        }
    }
    Some(DigitRun {
        start,
        end: i,
        digits,
        separated: i - start != digits,
        seps,
    })
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// For eight bytes, the high bit of each byte that is an ASCII digit, exactly: no carry crosses
/// a byte, since `(b & 0x7f) + 0x76` stays below 0x100.
#[inline]
fn digit_mask(word: u64) -> u64 {
    let x = word ^ (0x30 * LO);
    !(((x & !HI).wrapping_add(0x76 * LO)) | x) & HI
}

#[inline]
fn load(hay: &[u8], i: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&hay[i..i + 8]);
    u64::from_le_bytes(word)
}

/// Position of the first ASCII digit, eight bytes at a time.
#[inline]
fn find_digit(hay: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 8 <= hay.len() {
        let mask = digit_mask(load(hay, i));
        if mask != 0 {
            return Some(i + (mask.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    hay[i..].iter().position(u8::is_ascii_digit).map(|j| i + j)
}

/// How many ASCII digits `hay` starts with, eight bytes at a time.
#[inline]
fn count_digits(hay: &[u8]) -> usize {
    let mut i = 0;
    while i + 8 <= hay.len() {
        let not_digit = !digit_mask(load(hay, i)) & HI;
        if not_digit != 0 {
            return i + (not_digit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + hay[i..].iter().take_while(|b| b.is_ascii_digit()).count()
}

/// How many ASCII digits `hay` holds, eight bytes at a time.
#[inline]
pub(crate) fn digits_in(hay: &[u8]) -> usize {
    let mut chunks = hay.chunks_exact(8);
    let mut n = 0;
    for chunk in &mut chunks {
        n += digit_mask(load(chunk, 0)).count_ones() as usize;
    }
    n + chunks
        .remainder()
        .iter()
        .filter(|b| b.is_ascii_digit())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_digit_matches_naive() {
        let hay: Vec<u8> = (0u8..=255).chain(b"abc/:9".iter().copied()).collect();
        for start in 0..hay.len() {
            let want = hay[start..].iter().position(u8::is_ascii_digit);
            assert_eq!(find_digit(&hay[start..]), want, "from {start}");
        }
        assert_eq!(find_digit(b"////////::::::::0"), Some(16));
        for start in 0..hay.len() {
            let want = hay[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            assert_eq!(count_digits(&hay[start..]), want, "from {start}");
        }
        assert_eq!(count_digits(b"0123456789012345678x"), 19);
        for start in 0..hay.len() {
            for end in start..hay.len().min(start + 40) {
                let want = hay[start..end]
                    .iter()
                    .filter(|b| b.is_ascii_digit())
                    .count();
                assert_eq!(digits_in(&hay[start..end]), want, "{start}..{end}");
            }
        }
        assert_eq!(find_digit(b""), None);
    }

    #[test]
    fn digit_runs() {
        let text = b"a 4111 1111-1111 1111 b 12  34 5-";
        let r = next_digit_run(text, 0).unwrap();
        assert_eq!((r.start, r.end, r.digits), (2, 21, 16));
        let r = next_digit_run(text, r.end).unwrap();
        assert_eq!(&text[r.start..r.end], b"12");
        let r = next_digit_run(text, r.end).unwrap();
        assert_eq!(&text[r.start..r.end], b"34 5");
        assert!(next_digit_run(text, r.end).is_none());
    }
    /// Every run and every digit after two capitals, found the slow way.
    fn naive(win: &[u8], min_span: usize, capitals: bool) -> Vec<DigitEvent> {
        let mut runs = Vec::new();
        let mut after = Vec::new();
        let mut pos = 0;
        while let Some(run) = next_digit_run(win, pos) {
            pos = run.end;
            if run.start >= 2
                && capitals
                && win[run.start - 2].is_ascii_uppercase()
                && win[run.start - 1].is_ascii_uppercase()
            {
                after.push(DigitEvent::AfterCapitals(run.start));
            }
            if min_span != usize::MAX && run.end - run.start >= min_span {
                runs.push(DigitEvent::Run(run));
            }
        }
        runs.extend(after);
        runs
    }

    type Scan = fn(&[u8], usize, bool, &mut Vec<DigitEvent>);

    fn by_bytes(win: &[u8], min_span: usize, capitals: bool, out: &mut Vec<DigitEvent>) {
        scan_blocks(win, min_span, capitals, classes_bytewise, |e| out.push(e));
    }

    fn dispatched(win: &[u8], min_span: usize, capitals: bool, out: &mut Vec<DigitEvent>) {
        scan_digit_runs(win, min_span, capitals, |e| out.push(e));
    }

    #[cfg(target_arch = "x86_64")]
    fn by_sse2(win: &[u8], min_span: usize, capitals: bool, out: &mut Vec<DigitEvent>) {
        unsafe { sse2::scan(win, min_span, capitals, |e| out.push(e)) }
    }

    #[cfg(target_arch = "x86_64")]
    fn by_avx2(win: &[u8], min_span: usize, capitals: bool, out: &mut Vec<DigitEvent>) {
        if std::is_x86_feature_detected!("avx2") {
            unsafe { avx2::scan(win, min_span, capitals, |e| out.push(e)) }
        } else {
            by_sse2(win, min_span, capitals, out);
        }
    }

    fn implementations() -> Vec<(&'static str, Scan)> {
        let mut all: Vec<(&'static str, Scan)> =
            vec![("bytes", by_bytes), ("dispatched", dispatched)];
        #[cfg(target_arch = "x86_64")]
        all.extend([("sse2", by_sse2 as Scan), ("avx2", by_avx2 as Scan)]);
        all
    }

    #[test]
    fn vector_classes_match_the_byte_loop() {
        // Every byte value, at every lane of the block.
        for shift in 0..64 {
            for round in 0..4 {
                let block: [u8; 64] =
                    std::array::from_fn(|i| ((i + shift) as u8).wrapping_add(64 * round));
                let want = classes_bytewise(&block);
                #[cfg(target_arch = "x86_64")]
                {
                    let got = unsafe { sse2::classes(&block) };
                    assert_eq!(
                        (got.digit, got.sep, got.upper),
                        (want.digit, want.sep, want.upper)
                    );
                    if std::is_x86_feature_detected!("avx2") {
                        let got = unsafe { avx2::classes(&block) };
                        assert_eq!(
                            (got.digit, got.sep, got.upper),
                            (want.digit, want.sep, want.upper)
                        );
                    }
                }
                assert_eq!(
                    want.digit.count_ones() as usize,
                    block.iter().filter(|b| b.is_ascii_digit()).count()
                );
            }
        }
    }

    #[test]
    fn spans_mark_where_n_set_bits_start() {
        let mut rng = crate::test_rng::Rng::new(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            // Long stretches of set bits, as in digit runs.
            let bits =
                u128::from(rng.next() | rng.next()) << 64 | u128::from(rng.next() | rng.next());
            for n in 1..=128 {
                let naive = (0..128)
                    .filter(|&i| (i..i + n).all(|j| j < 128 && bits >> j & 1 == 1))
                    .fold(0u128, |acc, i| acc | 1 << i);
                assert_eq!(spans(bits, n), naive, "{bits:#x} {n}");
            }
        }
    }

    #[test]
    fn block_scan_matches_a_naive_search() {
        let mut rng = crate::test_rng::Rng::new(0x2545_f491_4f6c_dd1d);
        for len in [0usize, 1, 8, 9, 63, 64, 65, 127, 128, 129, 200, 4000] {
            for alphabet in [
                &b"0123456789 -"[..],
                b"09 -AZx",
                b"1 2-3  4--5a",
                b"DE89 12-3Q",
                b"0123456789",
                b"01234567890123456789 -",
                b"/:@[`0 9AZ-\x80\xb0\xff",
            ] {
                let win = rng.bytes(alphabet, len);
                for min_span in [
                    1usize,
                    2,
                    3,
                    7,
                    8,
                    9,
                    10,
                    11,
                    13,
                    31,
                    33,
                    63,
                    64,
                    65,
                    100,
                    usize::MAX,
                ] {
                    for capitals in [false, true] {
                        let want = naive(&win, min_span, capitals);
                        for (name, scan) in implementations() {
                            let mut got = Vec::new();
                            scan(&win, min_span, capitals, &mut got);
                            // Each kind in order; runs listed before starts after capitals.
                            got.sort_by_key(|e| matches!(e, DigitEvent::AfterCapitals(_)));
                            assert_eq!(
                                got,
                                want,
                                "{name}: len {len} min_span {min_span} capitals {capitals} in {:?}",
                                String::from_utf8_lossy(&win)
                            );
                        }
                    }
                }
            }
        }
    }
}
