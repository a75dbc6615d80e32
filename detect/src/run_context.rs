//! The context words of the digit-run patterns that need one, found once for all of them.
//!
//! A bare number (`123456789`) fits a dozen national ids, each of which counts only near one of
//! its own context words (`BSN`, `TFN`, `IRD`...). Running each pattern's regex on every run,
//! then searching its context words, costs one regex and one search per pattern and run. This
//! gate instead finds the union of the words once per window: by the first pass when it searches
//! many literals anyway, else by one search of the window when a run first needs them. Moving
//! forward with the runs, it tells which patterns have one of their words near a run: only those
//! get the run as a candidate. A word near the run is necessary for a word near a match inside
//! it (or within the pattern's reach of it), so no finding is lost; the pattern's own check
//! still decides.

use std::collections::VecDeque;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::compile::Pattern;
use crate::confirm::is_whole_context_word;

/// The union of the context words of the gated digit-run patterns.
#[derive(Debug)]
pub(crate) struct RunContext {
    /// The words, lower-cased, numbered as `words` numbers them.
    pub(crate) list: Vec<String>,
    words: AhoCorasick,
    /// Per word, the digit-run patterns (by index in `DetectorSet::digit_runs`) it serves, as a
    /// bit set.
    serves: Vec<Vec<u64>>,
    /// Per digit-run pattern, whether it needs a context word.
    pub(crate) gated: Vec<bool>,
    /// How far from a run a word may stand and still count for a match in the run: the largest
    /// context window plus reach beyond the run.
    reach: usize,
}

impl RunContext {
    /// Replaces `out` with every whole word of the gate in `win`: (start, end, word), in order
    /// of end.
    pub(crate) fn find_words(&self, win: &[u8], out: &mut Vec<(usize, usize, usize)>) {
        out.clear();
        for m in self.words.find_overlapping_iter(win) {
            if is_whole_context_word(win, m.start(), m.end()) {
                out.push((m.start(), m.end(), m.pattern().as_usize()));
            }
        }
    }

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
            gated[k] = true;
            reach = reach.max(ctx.window + run_reach);
            for word in words_of(p) {
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
        let words = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&words)
            .ok()?;
        Some(RunContext {
            list,
            words,
            serves,
            gated,
            reach,
        })
    }
}

/// Where the gate stands in one window of text: the words found so far that may still be near
/// a run to come.
#[derive(Debug, Default)]
pub(crate) struct RunContextState {
    /// (start, end, word) of each whole word found, in order of end.
    found: VecDeque<(usize, usize, usize)>,
    /// How many of the window's words have been moved into `found`.
    taken: usize,
    /// The patterns with a word near the current run.
    near: Vec<u64>,
}

impl RunContextState {
    /// Starts over for a new window.
    pub(crate) fn reset(&mut self) {
        self.found.clear();
        self.taken = 0;
    }

    /// Finds the patterns with one of their words near the run `start..end` of a window
    /// `len` bytes long, given the window's `words` (whole, in order of end: see
    /// [`RunContext::find_words`]); runs must come in order of position. Then
    /// [`RunContextState::near`] tells them.
    pub(crate) fn at_run(
        &mut self,
        gate: &RunContext,
        len: usize,
        words: &[(usize, usize, usize)],
        start: usize,
        end: usize,
    ) {
        let lo = start.saturating_sub(gate.reach);
        let hi = len.min(end + gate.reach);
        // `taken` counts the words moved into `found` so far.
        while let Some(&word) = words.get(self.taken).filter(|w| w.1 <= hi) {
            self.found.push_back(word);
            self.taken += 1;
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

    /// Whether digit-run pattern `k` had one of its words near the last run.
    #[inline]
    pub(crate) fn near(&self, k: usize) -> bool {
        self.near
            .get(k / 64)
            .is_some_and(|n| n & (1 << (k % 64)) != 0)
    }
}
