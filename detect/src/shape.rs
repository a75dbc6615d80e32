//! Word shapes: patterns whose every match is one whole ASCII word, matched without a regex.
//!
//! A pattern such as `(?-u:\b)[13][1-9A-HJ-NP-Za-km-z]{25,34}(?-u:\b)` (a Bitcoin address) or
//! `(?-u:\b)[0-9A-Z]{18}[0-9]{2}(?-u:\b)` (an LEI) is a sequence of byte classes, each repeated
//! a bounded number of times, between two ASCII word boundaries, and every byte it can match
//! is a word byte (`[A-Za-z0-9_]`). A match then starts where a word starts and ends where it
//! ends: it is a whole word. So the matches in a region are exactly its whole words that the
//! sequence of classes accepts, and checking a word is a few table lookups, where a regex
//! search costs a call, its start-up and a pass over the region (on dense text, the larger
//! part of confirming such a pattern).
//!
//! A word is accepted when some split of it fits the sequence; which split the regex would
//! choose does not matter, since every split spans the same whole word. A pattern with a
//! capture group is not a word shape (the group's span would depend on the split).

use crate::classes::is_word_byte;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Word bytes (`[A-Za-z0-9_]`) as a table: one load a byte on the words' walk.
static WORD: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_word_byte(b as u8);
        b += 1;
    }
    table
};

/// The longest word a shape checks with its bit sets (positions `0..=128`).
const MAX_WORD: usize = 127;

/// One element of the sequence: a byte class repeated `min..=max` times.
#[derive(Clone, Debug)]
struct Item {
    class: [bool; 256],
    min: usize,
    max: usize,
}

/// A pattern that matches whole words only, as a sequence of classes.
#[derive(Clone, Debug)]
pub(crate) struct WordShape {
    items: Vec<Item>,
    min_len: usize,
    max_len: usize,
    /// The bytes any item accepts: a word with another byte is rejected at once.
    any: [bool; 256],
    /// The bytes a match can begin with.
    first: [bool; 256],
}

impl WordShape {
    /// The shape of `hir`, when it is `(?-u:\b)`, a sequence of word-byte classes and literals
    /// (each with a bounded repetition), and `(?-u:\b)`, with no capture group; else `None`.
    pub(crate) fn of(hir: &Hir) -> Option<WordShape> {
        let HirKind::Concat(parts) = hir.kind() else {
            return None;
        };
        let (first, rest) = parts.split_first()?;
        let (last, middle) = rest.split_last()?;
        let boundary = |h: &Hir| matches!(h.kind(), HirKind::Look(Look::WordAscii));
        if !boundary(first) || !boundary(last) || middle.is_empty() {
            return None;
        }
        let mut items = Vec::new();
        for part in middle {
            push_items(part, 1, 1, &mut items)?;
        }
        let min_len: usize = items.iter().map(|i| i.min).sum();
        let max_len: usize = items.iter().map(|i| i.max).sum();
        if min_len == 0 || max_len > MAX_WORD {
            return None;
        }
        let mut any = [false; 256];
        for item in &items {
            for (a, &c) in any.iter_mut().zip(&item.class) {
                *a |= c;
            }
        }
        // The first bytes: those of the items up to the first required one.
        let mut first = [false; 256];
        for item in &items {
            for (f, &c) in first.iter_mut().zip(&item.class) {
                *f |= c;
            }
            if item.min > 0 {
                break;
            }
        }
        Some(WordShape {
            items,
            min_len,
            max_len,
            any,
            first,
        })
    }

    /// Calls `found(start, end)` for every whole word in `win[from..to]` (a word's ends judged
    /// against all of `win`) that the shape accepts, in order; stops early when `found` returns
    /// `false`.
    pub(crate) fn for_each_match(
        &self,
        win: &[u8],
        from: usize,
        to: usize,
        mut found: impl FnMut(usize, usize) -> bool,
    ) {
        let word = |b: u8| WORD[usize::from(b)];
        let mut pos = from;
        // A word that began before `from` is not whole inside the region: skip its rest.
        if pos > 0 && pos < to && word(win[pos - 1]) {
            while pos < to && word(win[pos]) {
                pos += 1;
            }
        }
        loop {
            while pos < to && !word(win[pos]) {
                pos += 1;
            }
            if pos >= to {
                return;
            }
            let start = pos;
            while pos < win.len() && word(win[pos]) {
                pos += 1;
            }
            if pos > to {
                return; // the word runs past the region's end
            }
            if self.accepts(&win[start..pos]) && !found(start, pos) {
                return;
            }
        }
    }

    /// The whole word starting at `start`, when it ends at or before `to` and the shape
    /// accepts it (an anchored search from `start` bounded by `to`).
    pub(crate) fn match_at(&self, win: &[u8], start: usize, to: usize) -> Option<usize> {
        if start >= to || (start > 0 && is_word_byte(win[start - 1])) || !is_word_byte(win[start]) {
            return None;
        }
        // Two bytes that often rule the word out before it is walked: its last byte at the
        // least length, and (for one length) the byte after it, which must end it.
        let last = start + self.min_len.max(1) - 1;
        if !win.get(last).is_some_and(|&b| is_word_byte(b))
            || (self.min_len == self.max_len
                && win
                    .get(start + self.max_len)
                    .is_some_and(|&b| is_word_byte(b)))
        {
            return None;
        }
        let mut end = start;
        while end < win.len() && is_word_byte(win[end]) {
            end += 1;
        }
        (end <= to && self.accepts(&win[start..end])).then_some(end)
    }

    /// The shortest and longest match.
    pub(crate) fn len_bounds(&self) -> (usize, usize) {
        (self.min_len, self.max_len)
    }

    /// Whether `word` (all word bytes) splits into the sequence.
    fn accepts(&self, word: &[u8]) -> bool {
        let len = word.len();
        if len < self.min_len
            || len > self.max_len
            || !self.first[usize::from(word[0])]
            || !word.iter().all(|&b| self.any[usize::from(b)])
        {
            return false;
        }
        // Bit `i` of `reach`: the items so far can span exactly the first `i` bytes.
        let mut reach: u128 = 1;
        for item in &self.items {
            let mut fits: u128 = 0;
            for (i, &b) in word.iter().enumerate() {
                fits |= u128::from(item.class[usize::from(b)]) << i;
            }
            let mut step = reach;
            let mut next = if item.min == 0 { reach } else { 0 };
            for k in 1..=item.max {
                step = (step & fits) << 1;
                if step == 0 {
                    break;
                }
                if k >= item.min {
                    next |= step;
                }
            }
            reach = next;
            if reach == 0 {
                return false;
            }
        }
        reach >> len & 1 == 1
    }
}

/// Appends the items of `hir` repeated `min..=max` times; `None` when `hir` is not a sequence
/// of word-byte classes and literals.
fn push_items(hir: &Hir, min: usize, max: usize, items: &mut Vec<Item>) -> Option<()> {
    match hir.kind() {
        HirKind::Literal(lit) => {
            if min != 1 || max != 1 {
                // A repeated literal of one byte is a class; longer ones are left to the regex.
                let [b] = lit.0[..] else {
                    return None;
                };
                let mut class = [false; 256];
                class[usize::from(b)] = true;
                return word_class(class).map(|class| items.push(Item { class, min, max }));
            }
            for &b in lit.0.iter() {
                let mut class = [false; 256];
                class[usize::from(b)] = true;
                items.push(Item {
                    class: word_class(class)?,
                    min: 1,
                    max: 1,
                });
            }
            Some(())
        }
        HirKind::Class(class) => {
            let mut set = [false; 256];
            match class {
                Class::Bytes(c) => {
                    for r in c.ranges() {
                        for b in r.start()..=r.end() {
                            set[usize::from(b)] = true;
                        }
                    }
                }
                Class::Unicode(c) => {
                    for r in c.ranges() {
                        if u32::from(r.end()) > 0x7F {
                            return None;
                        }
                        for b in u32::from(r.start())..=u32::from(r.end()) {
                            set[b as usize] = true;
                        }
                    }
                }
            }
            items.push(Item {
                class: word_class(set)?,
                min,
                max,
            });
            Some(())
        }
        HirKind::Repetition(rep) if min == 1 && max == 1 => {
            let rep_max = rep.max? as usize;
            push_items(&rep.sub, rep.min as usize, rep_max, items)
        }
        HirKind::Concat(parts) if min == 1 && max == 1 => {
            for part in parts {
                push_items(part, 1, 1, items)?;
            }
            Some(())
        }
        _ => None,
    }
}

/// `class`, when it holds word bytes only (and at least one).
fn word_class(class: [bool; 256]) -> Option<[bool; 256]> {
    let only_words = class
        .iter()
        .enumerate()
        .all(|(b, &in_class)| !in_class || is_word_byte(b as u8));
    (only_words && class.contains(&true)).then_some(class)
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::{meta, Input};

    fn hir(pattern: &str) -> Hir {
        regex_syntax::ParserBuilder::new()
            .build()
            .parse(pattern)
            .unwrap()
    }

    #[test]
    fn shapes_are_recognised_only_where_every_match_is_a_whole_word() {
        for yes in [
            r"(?-u:\b)[13][1-9A-HJ-NP-Za-km-z]{25,34}(?-u:\b)",
            r"(?-u:\b)[0-9A-Z]{18}[0-9]{2}(?-u:\b)",
            r"(?-u:\b)[12][0-9]{9}(?-u:\b)",
            r"(?-u:\b)ATU[0-9]{8}(?-u:\b)",
            r"(?-u:\b)[xtyzYZuv]prv[1-9A-HJ-NP-Za-km-z]{107,108}(?-u:\b)",
            r"(?-u:\b)(?-u:\d){9}(?-u:\b)",
        ] {
            assert!(WordShape::of(&hir(yes)).is_some(), "{yes}");
        }
        for no in [
            r"(?-u:\b)\d{3}-\d{2}-\d{4}(?-u:\b)", // a hyphen is no word byte
            r"\b[0-9]{9}\b",                      // Unicode boundaries
            r"(?-u:\b)\d{9}(?-u:\b)",             // Unicode digits
            r"(?-u:\b)(?:\d{9}|[A-Z]\d{8})(?-u:\b)", // an alternation
            r"(?-u:\b)(?P<secret>\d{9})(?-u:\b)", // a capture group
            r"(?-u:\b)\d{9}",                     // no boundary at the end
            r"(?-u:\b)[A-Za-z0-9]+(?-u:\b)",      // unbounded
            r"(?-u:\b)(?:ab){2}(?-u:\b)",         // a repeated literal of two bytes
        ] {
            assert!(WordShape::of(&hir(no)).is_none(), "{no}");
        }
    }

    /// Every match a regex iteration finds in random text equals the shape's.
    #[test]
    fn shapes_find_what_their_regex_finds() {
        // Each pattern with the bytes its random words are made of: mostly ones it accepts.
        let patterns: [(&str, &[u8]); 5] = [
            (
                r"(?-u:\b)[13][1-9A-HJ-NP-Za-km-z]{5,9}(?-u:\b)",
                b"13abXY0_",
            ),
            (r"(?-u:\b)[0-9A-Z]{3}[0-9]{2}(?-u:\b)", b"0123AZa"),
            (r"(?-u:\b)[a-c]{1,3}[b-d]{2,4}a?(?-u:\b)", b"abcdx"),
            (r"(?-u:\b)x(?i:y)[0-9]{2,3}(?-u:\b)", b"xyY012"),
            (r"(?-u:\b)[12][0-9]{3}(?-u:\b)", b"12034a"),
        ];
        let separators: [&[u8]; 5] = [b" ", b"-", b".", b"\n", "é".as_bytes()];
        let mut rng = crate::test_rng::Rng::new(0x2545_F491_4F6C_DD1D);
        let mut next = move || rng.next();
        let mut matches = 0;
        for (pattern, letters) in patterns {
            let shape = WordShape::of(&hir(pattern)).unwrap();
            let regex = meta::Regex::new(pattern).unwrap();
            for _ in 0..2000 {
                let mut text = Vec::new();
                for _ in 0..1 + next() % 12 {
                    let len = 1 + next() % 9;
                    text.extend(
                        (0..len).map(|_| letters[(next() % letters.len() as u64) as usize]),
                    );
                    text.extend_from_slice(separators[(next() % 5) as usize]);
                }
                let len = text.len();
                let state = next();
                let from = (state as usize >> 8) % (len + 1);
                let to = from + (state as usize >> 16) % (len - from + 1);
                let expected: Vec<(usize, usize)> = regex
                    .find_iter(Input::new(&text).span(from..to))
                    .map(|m| (m.start(), m.end()))
                    .collect();
                let mut got = Vec::new();
                shape.for_each_match(&text, from, to, |s, e| {
                    got.push((s, e));
                    true
                });
                assert_eq!(got, expected, "{pattern} on {:?} {from}..{to}", text);
                matches += got.len();
                for start in from..to {
                    let anchored = regex
                        .search(
                            &Input::new(&text)
                                .span(start..to)
                                .anchored(regex_automata::Anchored::Yes),
                        )
                        .map(|m| m.end());
                    assert_eq!(
                        shape.match_at(&text, start, to),
                        anchored,
                        "{pattern} at {start}"
                    );
                }
            }
        }
        assert!(
            matches > 200,
            "the random texts hold too few matches: {matches}"
        );
    }
}
