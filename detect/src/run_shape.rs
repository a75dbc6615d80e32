//! Run shapes: which digit-run patterns a run can hold, told from the lengths of its groups.
//!
//! A digit run is a maximal stretch of digits with single space or dash separators; it is cut
//! by its separators into groups (`2024-01-15` has three: 4, 2 and 2 digits). A pattern that
//! begins and ends with an ASCII word boundary, and whose match begins and ends with a digit,
//! can only match whole groups of a run: the byte before a match is no word byte, so a
//! separator or no byte of the run, and so is the byte after it. Such a match, lying inside the
//! run, is made of consecutive whole groups and the separators between them.
//!
//! So a pattern's regex is read once, when the set is built, into the shapes its matches can
//! have inside a run: the lengths of their groups, the separators between them, and the digits
//! the first group may begin with (`(?-u:\b)\d{3}-\d{2}-\d{4}(?-u:\b)` has one shape: 3, dash,
//! 2, dash, 4, any first digit). A run then fits the pattern only if some of its consecutive
//! groups have one of those shapes. The shapes of all patterns are one trie, walked from each
//! group of a run. Without them, a run with separators had to be searched by every pattern with
//! as few digits as it has, and number-dense text (dates, phone-like serials, order numbers)
//! costs a regex search per pattern and run. A run without separators is one group: which
//! patterns it fits depends on its digit count and first digit only, and is looked up.
//!
//! The shapes are a necessary condition, never a sufficient one: a run that fits is still
//! searched by the pattern's regex. A pattern whose regex is not read this way (no word
//! boundary at an end, too many shapes, unbounded repetition) has no shapes, and fits every
//! run with enough digits, as before.

use std::collections::BTreeMap;

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// One symbol of a string made of the bytes a digit run holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Sym {
    /// A digit, one of those whose bits are set (bit `d` for digit `d`).
    Digit(u16),
    /// A separator: space or dash.
    Sep(u8),
    /// An ASCII (or Unicode) word boundary.
    Boundary,
}

/// The most strings a pattern's language may expand to before it is given up on (the
/// built-ins need at most 81: four optional separators of two kinds).
const MAX_STRINGS: usize = 512;

/// The longest string kept (in symbols); a pattern with a longer match is given up on.
const MAX_SYMBOLS: usize = 64;

/// A set of strings: sorted, without duplicates.
type Strings = Vec<Vec<Sym>>;

/// The shape of the matches of one pattern inside runs: its groups' lengths, the separators
/// between them, and the digits the first group may begin with (bit `d` for digit `d`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    pub lens: Vec<u8>,
    pub seps: Vec<u8>,
    pub first: u16,
}

/// The shapes of `hir`'s matches that can lie inside a digit run, or `None` when the pattern
/// cannot be read so (see the module's doc).
pub(crate) fn shapes(hir: &Hir) -> Option<Vec<Shape>> {
    let strings = language(hir)?;
    let mut merged: BTreeMap<(Vec<u8>, Vec<u8>), u16> = BTreeMap::new();
    for s in strings {
        // Both ends must be word boundaries; boundaries inside are left out (a match without
        // them is allowed too, so the shapes stay a necessary condition).
        let (Some(Sym::Boundary), Some(Sym::Boundary)) = (s.first(), s.last()) else {
            return None;
        };
        let inner: Vec<Sym> = s.into_iter().filter(|x| *x != Sym::Boundary).collect();
        if inner
            .windows(2)
            .any(|w| matches!(w, [Sym::Sep(_), Sym::Sep(_)]))
        {
            continue; // a run never has two separators in a row
        }
        let (Some(Sym::Digit(first)), Some(Sym::Digit(_))) = (inner.first(), inner.last()) else {
            return None; // a match that begins or ends with a separator is not whole groups
        };
        let first = *first;
        let (mut lens, mut seps) = (vec![0u8], Vec::new());
        for x in &inner {
            match x {
                Sym::Digit(_) => {
                    let last = lens.len() - 1;
                    lens[last] = lens[last].saturating_add(1);
                }
                Sym::Sep(b) => {
                    seps.push(*b);
                    lens.push(0);
                }
                Sym::Boundary => {}
            }
        }
        *merged.entry((lens, seps)).or_insert(0) |= first;
    }
    Some(
        merged
            .into_iter()
            .map(|((lens, seps), first)| Shape { lens, seps, first })
            .collect(),
    )
}

/// The strings of `hir`'s language made of digits, separators and word boundaries (strings
/// with other bytes cannot lie inside a run and are left out), or `None` if they are too many
/// or unbounded.
fn language(hir: &Hir) -> Option<Strings> {
    Some(match hir.kind() {
        HirKind::Empty => one(Vec::new()),
        HirKind::Look(Look::WordAscii | Look::WordUnicode) => one(vec![Sym::Boundary]),
        // Other assertions only narrow the matches: left out, the shapes still hold them all.
        HirKind::Look(_) => one(Vec::new()),
        HirKind::Literal(literal) => {
            let mut s = Vec::with_capacity(literal.0.len());
            for &b in literal.0.iter() {
                match sym_of(b) {
                    Some(x) => s.push(x),
                    None => return Some(Strings::new()),
                }
            }
            one(s)
        }
        HirKind::Class(class) => {
            let has = |b: u8| match class {
                Class::Unicode(c) => c
                    .ranges()
                    .iter()
                    .any(|r| r.start() <= char::from(b) && char::from(b) <= r.end()),
                Class::Bytes(c) => c.ranges().iter().any(|r| r.start() <= b && b <= r.end()),
            };
            let digits = (0..10u8)
                .filter(|&d| has(b'0' + d))
                .fold(0u16, |m, d| m | 1 << d);
            let mut out = Strings::new();
            if digits != 0 {
                out.push(vec![Sym::Digit(digits)]);
            }
            for sep in [b' ', b'-'] {
                if has(sep) {
                    out.push(vec![Sym::Sep(sep)]);
                }
            }
            out
        }
        HirKind::Capture(capture) => language(&capture.sub)?,
        HirKind::Concat(subs) => {
            let mut acc = one(Vec::new());
            for sub in subs {
                acc = concat(&acc, &language(sub)?)?;
            }
            acc
        }
        HirKind::Alternation(subs) => {
            let mut out = Strings::new();
            for sub in subs {
                out.extend(language(sub)?);
                out = tidy(out)?;
            }
            out
        }
        HirKind::Repetition(rep) => {
            let max = rep.max?;
            let sub = language(&rep.sub)?;
            let mut out = Strings::new();
            let mut acc = one(Vec::new());
            for k in 0..=max {
                if k >= rep.min {
                    out.extend(acc.iter().cloned());
                    out = tidy(out)?;
                }
                if k < max {
                    acc = concat(&acc, &sub)?;
                    if acc.is_empty() {
                        break;
                    }
                }
            }
            out
        }
    })
}

fn one(s: Vec<Sym>) -> Strings {
    vec![s]
}

/// `strings` as a set, or `None` if they are too many.
fn tidy(mut strings: Strings) -> Option<Strings> {
    strings.sort_unstable();
    strings.dedup();
    (strings.len() <= MAX_STRINGS).then_some(strings)
}

fn sym_of(b: u8) -> Option<Sym> {
    match b {
        b'0'..=b'9' => Some(Sym::Digit(1 << (b - b'0'))),
        b' ' | b'-' => Some(Sym::Sep(b)),
        _ => None,
    }
}

/// Every string of `a` followed by every string of `b`.
fn concat(a: &Strings, b: &Strings) -> Option<Strings> {
    if a.len().saturating_mul(b.len()) > 4 * MAX_STRINGS {
        return None;
    }
    let mut out = Strings::new();
    for x in a {
        for y in b {
            if x.len() + y.len() > MAX_SYMBOLS {
                return None;
            }
            // Two separators in a row never lie inside a run: such strings go no further.
            let last = x.iter().rev().find(|s| **s != Sym::Boundary);
            let next = y.iter().find(|s| **s != Sym::Boundary);
            if matches!((last, next), (Some(Sym::Sep(_)), Some(Sym::Sep(_)))) {
                continue;
            }
            let mut s = Vec::with_capacity(x.len() + y.len());
            s.extend_from_slice(x);
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    tidy(out)
}

/// The code of a separator in the trie's symbols.
fn sep_code(b: u8) -> u16 {
    if b == b' ' {
        1 << 8
    } else {
        2 << 8
    }
}

/// One group of a run: its length (at most 255), the separator before it (`0` for the first)
/// and its first digit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Group {
    len: u8,
    sep: u8,
    first: u8,
}

/// The patterns that may have shapes: the first 128 (by their indexes in
/// `DetectorSet::digit_runs`), so that a bit set of them is one `u128`. The built-ins have
/// about half as many; any past them fit as their digit counts say.
pub(crate) const MAX_SHAPED: usize = 128;

/// The shapes of every pattern that has them, as a trie over groups, for runs with separators.
#[derive(Debug, Default)]
pub(crate) struct RunShapes {
    /// The root's children, by the first group's length (`0`: none).
    root: Vec<u16>,
    /// Every other edge, hashed by its node and symbol (a group's length ORed with its
    /// separator's code): `key << 16 | child`, `u64::MAX` where empty. Open addressing.
    edges: Vec<u64>,
    /// Per node and first digit, the patterns a shape of which ends at the node:
    /// `accept[node * 10 + digit]`.
    accept: Vec<u128>,
    /// The patterns with shapes, as a bit set: the others fit every run with enough digits.
    pub(crate) constrained: u128,
}

/// Where an edge's key lands in a table of `2^bits` slots.
#[inline(always)]
fn slot(key: u64, bits: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

impl RunShapes {
    /// The trie of `shapes`: per pattern, its shapes, or `None` if it has none.
    pub(crate) fn build(shapes: &[Option<Vec<Shape>>]) -> Self {
        let mut constrained = 0u128;
        // Built with a map per node, then laid out for lookups.
        let mut nodes: Vec<BTreeMap<u16, usize>> = vec![BTreeMap::new()];
        let mut accept: Vec<u128> = vec![0; 10];
        for (k, list) in shapes.iter().enumerate().take(MAX_SHAPED) {
            let Some(list) = list else {
                continue;
            };
            // Past `u16` nodes, the trie would not fit its layout: the pattern then has none.
            let most = nodes.len() + list.iter().map(|s| s.lens.len()).sum::<usize>();
            if most >= usize::from(u16::MAX) {
                continue;
            }
            constrained |= 1 << k;
            for shape in list {
                let mut node = 0usize;
                for (i, &len) in shape.lens.iter().enumerate() {
                    let symbol =
                        u16::from(len) | i.checked_sub(1).map_or(0, |j| sep_code(shape.seps[j]));
                    let next = nodes.len();
                    node = *nodes[node].entry(symbol).or_insert(next);
                    if node == next {
                        nodes.push(BTreeMap::new());
                        accept.extend([0; 10]);
                    }
                }
                for digit in 0..10 {
                    if shape.first & (1 << digit) != 0 {
                        accept[node * 10 + digit] |= 1 << k;
                    }
                }
            }
        }
        let mut root = vec![0u16; 256];
        for (&symbol, &node) in &nodes[0] {
            root[usize::from(symbol)] = node as u16;
        }
        // A quarter full at most, so that a probe rarely goes past its slot.
        let count: usize = nodes.iter().skip(1).map(BTreeMap::len).sum();
        let bits = (4 * count).next_power_of_two().max(16).trailing_zeros();
        let mut edges = vec![u64::MAX; 1 << bits];
        for (node, map) in nodes.iter().enumerate().skip(1) {
            for (&symbol, &child) in map {
                let key = (node as u64) << 16 | u64::from(symbol);
                let mut i = slot(key, bits);
                while edges[i] != u64::MAX {
                    i = (i + 1) & (edges.len() - 1);
                }
                edges[i] = key << 16 | child as u64;
            }
        }
        RunShapes {
            root,
            edges,
            accept,
            constrained,
        }
    }

    /// The child of `node` (not the root) by `symbol`, if any.
    #[inline]
    fn child(&self, node: usize, symbol: u16) -> Option<usize> {
        let key = (node as u64) << 16 | u64::from(symbol);
        let mask = self.edges.len().checked_sub(1)?;
        let mut i = slot(key, mask.count_ones());
        loop {
            let entry = *self.edges.get(i)?;
            if entry == u64::MAX {
                return None;
            }
            if entry >> 16 == key {
                return Some((entry & 0xFFFF) as usize);
            }
            i = (i + 1) & mask;
        }
    }

    /// The patterns with shapes that some consecutive groups of `run` (a digit run: digits with
    /// single space or dash separators) have, as a bit set. `seps` marks the run's separators
    /// (bit `i` for byte `i`) when it is at most 64 bytes long; `groups` is scratch space.
    pub(crate) fn fitting(&self, run: &[u8], seps: u64, groups: &mut Vec<Group>) -> u128 {
        groups.clear();
        let first_of = |i: usize| run.get(i).map_or(0, |b| b.wrapping_sub(b'0'));
        if run.len() <= 64 {
            let (mut bits, mut from, mut sep) = (seps, 0usize, 0u8);
            loop {
                let to = if bits == 0 {
                    run.len()
                } else {
                    bits.trailing_zeros() as usize
                };
                groups.push(Group {
                    len: u8::try_from(to.saturating_sub(from)).unwrap_or(u8::MAX),
                    sep,
                    first: first_of(from),
                });
                if bits == 0 {
                    break;
                }
                bits &= bits - 1;
                sep = run.get(to).copied().unwrap_or(0);
                from = to + 1;
            }
        } else {
            let mut group = Group {
                len: 0,
                sep: 0,
                first: first_of(0),
            };
            for (i, &b) in run.iter().enumerate() {
                if b.is_ascii_digit() {
                    group.len = group.len.saturating_add(1);
                } else {
                    groups.push(group);
                    group = Group {
                        len: 0,
                        sep: b,
                        first: first_of(i + 1),
                    };
                }
            }
            groups.push(group);
        }
        let accept =
            |node: usize, first: usize| self.accept.get(node * 10 + first).map_or(0, |&a| a);
        let mut fits = 0u128;
        for start in 0..groups.len() {
            let node = self
                .root
                .get(usize::from(groups[start].len))
                .map_or(0, |&n| usize::from(n));
            if node == 0 {
                continue;
            }
            let first = usize::from(groups[start].first.min(9));
            fits |= accept(node, first);
            let mut node = node;
            for g in &groups[start + 1..] {
                let Some(child) = self.child(node, u16::from(g.len) | sep_code(g.sep)) else {
                    break;
                };
                node = child;
                fits |= accept(node, first);
            }
        }
        fits
    }

    /// Whether a run without separators of `digits` digits, the first `first`, fits pattern
    /// `k`, which has shapes.
    pub(crate) fn fits_whole(&self, k: usize, digits: usize, first: usize) -> bool {
        let node = self.root.get(digits).map_or(0, |&n| usize::from(n));
        node != 0
            && k < MAX_SHAPED
            && self
                .accept
                .get(node * 10 + first.min(9))
                .is_some_and(|w| w & (1 << k) != 0)
    }

    /// Whether pattern `k` has shapes.
    pub(crate) fn is_constrained(&self, k: usize) -> bool {
        k < MAX_SHAPED && self.constrained & (1 << k) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    fn below(rng: &mut Rng, n: usize) -> usize {
        (rng.next() % n as u64) as usize
    }

    fn shapes_of(pattern: &str) -> Option<Vec<Shape>> {
        shapes(&regex_syntax::parse(pattern).unwrap())
    }

    #[test]
    fn a_pattern_is_read_into_its_groups() {
        let ssn = shapes_of(r"(?-u:\b)\d{3}-\d{2}-\d{4}(?-u:\b)").unwrap();
        assert_eq!(
            ssn,
            vec![Shape {
                lens: vec![3, 2, 4],
                seps: vec![b'-', b'-'],
                first: 0x3FF
            }]
        );
        let medicare = shapes_of(r"(?-u:\b)[2-6]\d{3} \d{5} \d(?: \d)?(?-u:\b)").unwrap();
        assert_eq!(medicare.len(), 2);
        assert!(medicare.iter().all(|s| s.first == 0b111_1100));
        // Optional separators: every way.
        assert_eq!(
            shapes_of(r"(?-u:\b)\d{3}[ -]?\d{3}(?-u:\b)").unwrap().len(),
            3
        );
        // Letters cannot lie in a run: that alternative has no shape.
        assert_eq!(
            shapes_of(r"(?-u:\b)(?:\d{9}|[A-Z]\d{8})(?-u:\b)").unwrap(),
            vec![Shape {
                lens: vec![9],
                seps: vec![],
                first: 0x3FF
            }]
        );
    }

    #[test]
    fn patterns_that_cannot_be_read_have_no_shapes() {
        for pattern in [
            r"\d{3}-\d{2}-\d{4}",                    // no word boundaries
            r"(?-u:\b)\d{3}-\d{2}-\d{4}",            // none at the end
            r"(?-u:\b)\d+(?-u:\b)",                  // unbounded
            r"(?-u:\b)(?:\d[ -]?){12,18}\d(?-u:\b)", // too many
            r"(?-u:\b)\d{3}-(?-u:\b)",               // ends with a separator
        ] {
            assert!(shapes_of(pattern).is_none(), "{pattern}");
        }
    }

    /// Whatever bytes and separator mask it is handed, the walk returns (no index past an
    /// end, no overflow), and an empty trie allows nothing.
    #[test]
    fn any_run_and_mask_is_walked_safely() {
        let shapes = [shapes_of(r"(?-u:\b)\d{3}-\d{2}-\d{4}(?-u:\b)"), None];
        let trie = RunShapes::build(&shapes);
        let empty = RunShapes::build(&[]);
        let mut rng = Rng::new(5);
        let mut groups = Vec::new();
        for _ in 0..20_000 {
            let len = below(&mut rng, 90);
            let run = rng.bytes(b"0123456789 -x\xff", len);
            let seps = rng.next() & rng.next();
            let fits = trie.fitting(&run, seps, &mut groups);
            assert_eq!(fits & !trie.constrained, 0);
            assert_eq!(empty.fitting(&run, seps, &mut groups), 0);
        }
        assert!(!trie.fits_whole(0, 9, 1) && !trie.fits_whole(1, 9, 1));
        assert!(!empty.fits_whole(0, usize::MAX, 12));
    }

    /// The digit runs of `text`: maximal digits with single space or dash separators.
    fn runs(text: &[u8]) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if !text[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let start = i;
            while i < text.len()
                && (text[i].is_ascii_digit()
                    || (matches!(text[i], b' ' | b'-')
                        && text.get(i + 1).is_some_and(u8::is_ascii_digit)
                        && text[i - 1].is_ascii_digit()))
            {
                i += 1;
            }
            out.push(start..i);
        }
        out
    }

    /// Every built-in digit-run pattern with shapes, and a few more, is never told that a run
    /// does not fit when its regex matches inside the run; and the shapes tell apart runs the
    /// regex never matches.
    #[test]
    fn a_run_the_regex_matches_in_always_fits() {
        let mut patterns: Vec<String> = crate::rules::builtin()
            .unwrap()
            .into_iter()
            .filter(|d| matches!(d.trigger, crate::rules::Trigger::DigitRun { .. }))
            .map(|d| d.pattern)
            .collect();
        patterns.extend(
            [
                r"(?-u:\b)(?:\d{2}|\d{4})(?:[ -]?\d{2}){2}(?-u:\b)",
                r"(?-u:\b)0[1-9]\d{2} ?\d{3}(?-u:\b)",
            ]
            .map(String::from),
        );
        let read: Vec<Option<Vec<Shape>>> = patterns
            .iter()
            .map(|p| shapes(&regex_syntax::parse(p).unwrap()))
            .collect();
        assert!(read.iter().filter(|s| s.is_some()).count() >= 50);
        let trie = RunShapes::build(&read);
        let regexes: Vec<regex_automata::meta::Regex> = patterns
            .iter()
            .map(|p| regex_automata::meta::Regex::new(p).unwrap())
            .collect();
        let mut rng = Rng::new(11);
        let mut groups = Vec::new();
        let (mut matched, mut fit_without_match) = (0usize, 0usize);
        for _ in 0..4000 {
            // Numbers of random groups and separators, between words and punctuation.
            let mut text = Vec::new();
            for _ in 0..1 + below(&mut rng, 4) {
                text.extend_from_slice([&b"x "[..], b" (", b"a", b": ", b"\n"][below(&mut rng, 5)]);
                for g in 0..1 + below(&mut rng, 6) {
                    if g > 0 {
                        text.push([b' ', b'-', b'-', b' '][below(&mut rng, 4)]);
                    }
                    for _ in 0..1 + below(&mut rng, 12) {
                        text.push(b'0' + below(&mut rng, 10) as u8);
                    }
                }
            }
            for run in runs(&text) {
                let seps = text[run.clone()]
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (j, b)| {
                        if b.is_ascii_digit() || j >= 64 {
                            m
                        } else {
                            m | 1 << j
                        }
                    });
                let seps = if run.len() <= 64 { seps } else { 0 };
                let fits = trie.fitting(&text[run.clone()], seps, &mut groups);
                let separated = text[run.clone()].iter().any(|b| !b.is_ascii_digit());
                let digits = text[run.clone()]
                    .iter()
                    .filter(|b| b.is_ascii_digit())
                    .count();
                let first = usize::from(text[run.start] - b'0');
                for (k, regex) in regexes.iter().enumerate() {
                    if read[k].is_none() {
                        continue;
                    }
                    let bit = fits & (1 << k) != 0;
                    let whole = trie.fits_whole(k, digits, first);
                    let input = regex_automata::Input::new(&text).span(run.clone());
                    if regex.is_match(input) {
                        matched += 1;
                        assert!(
                            bit,
                            "{} in {:?}",
                            patterns[k],
                            String::from_utf8_lossy(&text[run.clone()])
                        );
                        if !separated {
                            assert!(
                                whole,
                                "{} in {:?}",
                                patterns[k],
                                String::from_utf8_lossy(&text[run.clone()])
                            );
                        }
                    } else if bit {
                        fit_without_match += 1;
                    }
                    // Without separators, the trie and the lookup agree.
                    if !separated {
                        assert_eq!(bit, whole);
                    }
                }
            }
        }
        assert!(matched > 1000, "{matched}");
        // The shapes are no exact test (the digits past the first are not looked at), but
        // they leave out most runs.
        assert!(
            fit_without_match < matched,
            "{fit_without_match} vs {matched}"
        );
    }
}
