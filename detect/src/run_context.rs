//! The context words of the digit-run patterns that need one, found once for all of them.
//!
//! A bare number (`123456789`) fits a dozen national ids, each of which counts only near one of
//! its own context words (`BSN`, `TFN`, `IRD`...). Running each pattern's regex on every run,
//! then searching its context words, costs one regex and one search per pattern and run. This
//! gate instead finds the union of the words once: by the first pass when it searches many
//! literals anyway, else by searching around the runs as they come. Moving forward with the
//! runs, it tells which patterns have one of their words near a run: only those get the run as
//! a candidate. A word near the run is necessary for a word near a match inside it (or within
//! the pattern's reach of it), so no finding is lost; the pattern's own check still decides.

use std::collections::VecDeque;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};

use crate::compile::Pattern;
use crate::confirm::is_whole_context_word;

/// Where runs come so close that their surroundings overlap, the gate searches this many bytes
/// ahead at once.
const AHEAD: usize = 2048;

/// The union of the context words of the gated digit-run patterns.
#[derive(Debug)]
pub(crate) struct RunContext {
    /// The words, lower-cased, numbered as `words` numbers them.
    pub(crate) list: Vec<String>,
    /// The words, for an overlapping search (every occurrence).
    words: AhoCorasick,
    /// Finds where a word may start (see [`scout`]).
    scout: Option<aho_corasick::packed::Searcher>,
    /// Per word, the digit-run patterns (by index in `DetectorSet::digit_runs`) it serves, as a
    /// bit set.
    serves: Vec<Vec<u64>>,
    /// Per digit-run pattern, whether it needs a context word.
    pub(crate) gated: Vec<bool>,
    /// How far from a run a word may stand and still count for a match in the run: the largest
    /// context window plus reach beyond the run.
    reach: usize,
    /// The longest word, in bytes.
    longest: usize,
}

impl RunContext {
    /// The gate for `digit_runs` (pattern, least and most digits, reach beyond the run), or
    /// `None` when none of them needs a context word.
    pub(crate) fn build(
        digit_runs: &[(usize, usize, usize, usize)],
        patterns: &[Pattern],
        words_of: impl Fn(usize) -> Vec<String>,
    ) -> Option<RunContext> {
        let mut words: Vec<String> = Vec::new();
        let mut serves: Vec<Vec<u64>> = Vec::new();
        let mut gated = vec![false; digit_runs.len()];
        let mut reach = 0;
        let chunks = digit_runs.len().div_ceil(64);
        for (k, &(p, _, _, run_reach)) in digit_runs.iter().enumerate() {
            let Some(ctx) = &patterns[p].context else {
                continue;
            };
            let own = words_of(p);
            if own.iter().any(|w| w.trim().len() < 2) {
                continue; // a one-letter word is not searched for: the pattern takes every run
            }
            gated[k] = true;
            reach = reach.max(ctx.window + run_reach);
            for word in own {
                let word = word.trim().to_ascii_lowercase();
                let i = match words.iter().position(|w| *w == word) {
                    Some(i) => i,
                    None => {
                        words.push(word);
                        serves.push(vec![0; chunks]);
                        words.len() - 1
                    }
                };
                serves[i][k / 64] |= 1 << (k % 64);
            }
        }
        if words.is_empty() {
            return None;
        }
        let list = words.clone();
        let longest = words.iter().map(String::len).max().unwrap_or(0);
        let scout = scout(&words);
        let words = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&words)
            .ok()?;
        Some(RunContext {
            list,
            words,
            scout,
            serves,
            gated,
            reach,
            longest,
        })
    }
}

/// Teddy over every case of each word's first three bytes, which finds where a word may start
/// far faster than the automaton skips text without any; `None` where Teddy does not run (too
/// many words, or no SIMD), and then the automaton searches alone.
fn scout(words: &[String]) -> Option<aho_corasick::packed::Searcher> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for word in words {
        for variant in crate::prefilter::case_variants(&word.as_bytes()[..word.len().min(3)]) {
            if !keys.contains(&variant) {
                keys.push(variant);
            }
        }
    }
    if !crate::prefilter::teddy_available(&keys) {
        return None;
    }
    aho_corasick::packed::Config::new()
        .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(&keys)
        .build()
}

/// Where the gate stands in one window of text: the words found so far that may still be near
/// a run to come.
#[derive(Debug, Default)]
pub(crate) struct RunContextState {
    /// (start, end, word) of each whole word found, in order of end.
    found: VecDeque<(usize, usize, usize)>,
    /// With known words, how many have been moved into `found`; else, how far the text has
    /// been searched.
    done: usize,
    /// The patterns with a word near the current run.
    near: Vec<u64>,
}

impl RunContextState {
    /// Starts over for a new window.
    pub(crate) fn reset(&mut self) {
        self.found.clear();
        self.done = 0;
    }

    /// Finds the patterns with one of their words near the run `start..end` of `win`; runs must
    /// come in order of position. Then [`RunContextState::near`] tells them. `known`: the
    /// window's words, whole and in order of end, when the first pass found them (see
    /// `Prefilter::gates`); otherwise the gate searches around the runs, as far ahead as
    /// [`AHEAD`] where runs come close together, so that dense numbers cost few searches.
    pub(crate) fn at_run(
        &mut self,
        gate: &RunContext,
        win: &[u8],
        known: Option<&[(usize, usize, usize)]>,
        start: usize,
        end: usize,
    ) {
        let lo = start.saturating_sub(gate.reach);
        let hi = win.len().min(end + gate.reach);
        if let Some(known) = known {
            // `done` counts the known words taken so far.
            while let Some(&word) = known.get(self.done).filter(|w| w.1 <= hi) {
                self.found.push_back(word);
                self.done += 1;
            }
        } else if hi > self.done {
            // `done`: the text before it has been searched. A word ending after it starts at
            // most `longest - 1` bytes before it.
            let from = lo.max(self.done.saturating_sub(gate.longest.saturating_sub(1)));
            let to = if self.done >= lo {
                win.len().min(hi.max(self.done + AHEAD))
            } else {
                hi
            };
            let mut push = |m: aho_corasick::Match| {
                if m.end() > self.done && is_whole_context_word(win, m.start(), m.end()) {
                    self.found
                        .push_back((m.start(), m.end(), m.pattern().as_usize()));
                }
            };
            match &gate.scout {
                // The scout finds every position where a word may start; the words starting
                // there are found by an overlapping search of the next `longest` bytes.
                Some(scout) => {
                    let mut pos = from;
                    while let Some(m) = scout.find_in(&win[..to], aho_corasick::Span::from(pos..to))
                    {
                        let at = m.start();
                        let until = to.min(at + gate.longest);
                        for m in gate
                            .words
                            .find_overlapping_iter(Input::new(win).span(at..until))
                        {
                            if m.start() == at {
                                push(m);
                            }
                        }
                        pos = at + 1;
                    }
                    // Pushed by start; the gate drops them by end.
                    self.found.make_contiguous().sort_unstable_by_key(|w| w.1);
                }
                None => {
                    for m in gate
                        .words
                        .find_overlapping_iter(Input::new(win).span(from..to))
                    {
                        push(m);
                    }
                }
            }
            self.done = to;
        }
        while self.found.front().is_some_and(|&(_, e, _)| e <= lo) {
            self.found.pop_front();
        }
        self.near.clear();
        self.near.resize(gate.gated.len().div_ceil(64), 0);
        for &(s, e, word) in &self.found {
            if s >= lo && e <= hi {
                for (near, serves) in self.near.iter_mut().zip(&gate.serves[word]) {
                    *near |= serves;
                }
            }
        }
    }

    /// The patterns with one of their words near the last run, as a bit set of their indexes
    /// in `digit_runs`.
    pub(crate) fn near_bits(&self) -> &[u64] {
        &self.near
    }
}
