//! The first pass: one Aho-Corasick automaton over the literals of every pattern.
//!
//! The automaton is case-sensitive and searched leftmost-longest, which lets `aho-corasick` use
//! its SIMD (Teddy) searcher when the set is small: that is what makes text without candidates
//! cheap. Two transformations keep it exact:
//! - a case-insensitive literal enters as every ASCII-case variant of its first three bytes,
//!   and the rest is compared at each hit;
//! - the search restarts one byte after each hit's start rather than after its end, and a hit
//!   also fires the literals that are prefixes of the one found, so every (position, literal)
//!   occurrence is reported, as an overlapping search would.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};

use crate::engine::LiteralTarget;
use crate::error::{Error, ErrorKind};

/// How many leading bytes of a case-insensitive literal are expanded into case variants.
const CASE_PREFIX: usize = 3;

/// A literal and the pattern it serves.
#[derive(Clone)]
struct Entry {
    /// The full literal (lower-cased when `case_insensitive`).
    literal: Box<[u8]>,
    case_insensitive: bool,
    target: LiteralTarget,
}

/// Collects literals, then builds a [`Prefilter`].
#[derive(Default)]
pub(crate) struct PrefilterBuilder {
    keys: Vec<Vec<u8>>,
    key_ids: HashMap<Vec<u8>, usize>,
    entries: Vec<Vec<Entry>>,
}

impl PrefilterBuilder {
    /// Adds a literal for `target`.
    pub(crate) fn add(&mut self, literal: &[u8], case_insensitive: bool, target: LiteralTarget) {
        if literal.is_empty() {
            return;
        }
        let literal_stored: Box<[u8]> = if case_insensitive {
            literal.to_ascii_lowercase().into()
        } else {
            literal.into()
        };
        let keys = if case_insensitive {
            case_variants(&literal[..literal.len().min(CASE_PREFIX)])
        } else {
            vec![literal.to_vec()]
        };
        for key in keys {
            let next = self.keys.len();
            let id = *self.key_ids.entry(key.clone()).or_insert(next);
            if id == next {
                self.keys.push(key);
                self.entries.push(Vec::new());
            }
            self.entries[id].push(Entry {
                literal: literal_stored.clone(),
                case_insensitive,
                target: target.clone(),
            });
        }
    }

    pub(crate) fn build(self) -> Result<Option<Prefilter>, Error> {
        if self.keys.is_empty() {
            return Ok(None);
        }
        // Each key also fires the entries of every key that is a prefix of it: at one position
        // the leftmost-longest search reports only the longest key.
        let mut entries = self.entries.clone();
        for (i, key) in self.keys.iter().enumerate() {
            for len in 1..key.len() {
                if let Some(&j) = self.key_ids.get(&key[..len]) {
                    let extra = self.entries[j].clone();
                    entries[i].extend(extra);
                }
            }
        }
        // Longest literal first at one position, so keyword rules prefer the longest keyword.
        for list in &mut entries {
            list.sort_by_key(|e| std::cmp::Reverse(e.literal.len()));
        }
        // A full DFA searches large literal sets several times faster than the NFAs the
        // builder picks for them by default; its memory is bounded by the builder's limits.
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&self.keys)
            .or_else(|_| {
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&self.keys)
            })
            .map_err(|e| Error::new(ErrorKind::Rules, format!("literal automaton: {e}")))?;
        Ok(Some(Prefilter { ac, entries }))
    }
}

/// Every ASCII-case variant of `bytes` (letters only vary).
fn case_variants(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::with_capacity(bytes.len())];
    for &b in bytes {
        if b.is_ascii_alphabetic() {
            let mut next = Vec::with_capacity(out.len() * 2);
            for v in &out {
                let mut lower = v.clone();
                lower.push(b.to_ascii_lowercase());
                let mut upper = v.clone();
                upper.push(b.to_ascii_uppercase());
                next.push(lower);
                next.push(upper);
            }
            out = next;
        } else {
            out.iter_mut().for_each(|v| v.push(b));
        }
    }
    out
}

/// The compiled first pass.
#[derive(Debug)]
pub(crate) struct Prefilter {
    ac: AhoCorasick,
    entries: Vec<Vec<Entry>>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("literal", &String::from_utf8_lossy(&self.literal))
            .field("case_insensitive", &self.case_insensitive)
            .finish()
    }
}

impl Prefilter {
    /// Number of keys in the automaton.
    pub(crate) fn keys(&self) -> usize {
        self.entries.len()
    }

    /// Calls `hit(start, end, target)` for every occurrence of every literal in `hay`, in order
    /// of start.
    pub(crate) fn for_each(&self, hay: &[u8], mut hit: impl FnMut(usize, usize, &LiteralTarget)) {
        let mut pos = 0;
        while pos < hay.len() {
            let Some(m) = self.ac.find(Input::new(hay).span(pos..hay.len())) else {
                return;
            };
            let start = m.start();
            for entry in &self.entries[m.pattern().as_usize()] {
                let end = start + entry.literal.len();
                let Some(text) = hay.get(start..end) else {
                    continue;
                };
                let same = if entry.case_insensitive {
                    text.eq_ignore_ascii_case(&entry.literal)
                } else {
                    *text == *entry.literal
                };
                if same {
                    hit(start, end, &entry.target);
                }
            }
            pos = start + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::HitKind;

    fn target(pattern: usize) -> LiteralTarget {
        LiteralTarget {
            pattern,
            kind: HitKind::Anchored,
        }
    }

    #[test]
    fn reports_every_occurrence_like_an_overlapping_search() {
        let mut b = PrefilterBuilder::default();
        b.add(b"sk-", false, target(0));
        b.add(b"sk-ant-", false, target(1));
        b.add(b"password", true, target(2));
        b.add(b"ss", false, target(3));
        let p = b.build().unwrap().unwrap();
        let hay = b"sk-ant-x PassWord sss SK-";
        let mut hits = Vec::new();
        p.for_each(hay, |s, e, t| hits.push((s, e, t.pattern)));
        hits.sort();
        assert_eq!(
            hits,
            vec![
                (0, 3, 0),
                (0, 7, 1),
                (9, 17, 2),
                (11, 13, 3),
                (18, 20, 3),
                (19, 21, 3)
            ]
        );
    }

    #[test]
    fn variants() {
        assert_eq!(case_variants(b"a-b").len(), 4);
        assert!(case_variants(b"pw").contains(&b"pW".to_vec()));
    }
}
