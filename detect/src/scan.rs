//! The scan: first pass for candidates, confirmation in bounded regions, validation.
//!
//! A [`Scanner`] holds one thread's scratch space (regex caches, candidate buffers). Input of any
//! size is scanned in chunks: each chunk is searched together with an overlap on both sides, and
//! a finding belongs to the chunk in which it starts, so that a match across a chunk border is
//! found once and the findings do not depend on the chunk size. Memory stays bounded by the chunk
//! size, however long the input.

use std::io::Read;
use std::ops::Range;

use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};

use crate::compile::{
    ipv4_match, ipv6_gap_may_start, DetectorSet, Native, Pattern, MAX_MATCH_LEN, REGION_REACH,
};
use crate::confirm::is_whole_context_word;
use crate::confirm::{
    accept, is_boundary, is_word_byte, make_finding, resolve_overlaps, value_span, Hit,
    MinCountGate,
};
use crate::digits::{above, digits_in, scan_digit_runs, DigitEvent, DigitRun};
use crate::error::Error;
use crate::finding::Finding;
#[cfg(test)]
use crate::literals::is_token_byte;
use crate::prefilter::HitKind;
use crate::rules::MAX_CONTEXT_WINDOW;
use crate::shape::WordShape;
use crate::sink::{FindingSink, Flow, Relay, ScanError};
use crate::validate::Validator;

/// Default number of bytes each chunk owns.
pub const DEFAULT_CHUNK_SIZE: usize = 4 << 20;

/// Bytes of text kept on each side of a chunk. Any match (at most `MAX_MATCH_LEN` bytes), its
/// region and its context window fit inside.
pub(crate) const OVERLAP: usize =
    MAX_MATCH_LEN + 2 * crate::compile::REGION_REACH + MAX_CONTEXT_WINDOW;

/// The longest local part of an e-mail address.
const EMAIL_LOCAL_MAX: usize = 64;
/// The longest domain of an e-mail address.
const EMAIL_DOMAIN_MAX: usize = 255;

/// A candidate region for one pattern, relative to the window being scanned.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    start: usize,
    end: usize,
    kind: HitKind,
}

/// Per-thread scratch space for scanning with a [`DetectorSet`].
///
/// ```
/// let detectors = dlp_detect::DetectorSetBuilder::new().build()?;
/// let mut scanner = detectors.scanner();
/// let findings = scanner.scan(b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE");
/// assert_eq!(findings[0].detector, "aws_access_key_id");
/// assert_eq!(findings[0].masked, "AKIA************MPLE");
/// # Ok::<(), dlp_detect::Error>(())
/// ```
pub struct Scanner<'e> {
    engine: &'e DetectorSet,
    caches: Vec<Option<meta::Cache>>,
    captures: Vec<Option<Captures>>,
    /// Per pattern with a `secret` group, the cache and captures of its regex restricted to
    /// ASCII (see `LazyRegex::ascii`).
    ascii_captures: Vec<Option<(meta::Cache, Captures)>>,
    /// Candidates per pattern. Each source produces them in order of start, and each pattern
    /// has one source, so every bucket is sorted without sorting.
    buckets: Vec<Vec<Candidate>>,
    /// Patterns whose bucket is not empty.
    touched: Vec<usize>,
    chunk_size: usize,
    /// Findings of `min_count` patterns, held until their pattern reaches its count.
    gate: MinCountGate,
    /// Line number at the start of the current chunk.
    line: u64,
    /// Characters (UTF-8 code points) between the start of the current line and the start of
    /// the current chunk.
    column: u64,
    /// Per run-triggered pattern, the stamp of the last run whose line holds its literal.
    run_marks: Vec<u32>,
    /// The runs of token bytes found in the current window.
    token_runs: Vec<Range<usize>>,
    /// The token and word masks of the current window's 64-byte blocks, when the first pass
    /// over literals made them (see `Prefilter::for_each_with_tokens`).
    block_masks: Vec<BlockMasks>,
    /// The words found in the current run of token bytes.
    run_words: Vec<Range<usize>>,
    /// Where the run filter's literals are on the current line: (start, end, literal).
    line_literals: Vec<(usize, usize, usize)>,
    /// The folded copy of the line the run filter searches.
    folded_line: Vec<u8>,
    /// The context words found near digit runs (see `run_context`).
    run_context: crate::run_context::RunContextState,
    /// The gate's words the first pass found: (start, end, word), whole words, by end.
    gate_hits: Vec<(usize, usize, usize)>,
    /// The groups of the current digit run (see `run_shape`).
    run_groups: Vec<crate::run_shape::Group>,
    run_stamp: u32,
    /// Report findings of `min_count` patterns at once (a caller that splits one item between
    /// scanners applies `min_count` itself).
    defer_min_count: bool,
}

impl std::fmt::Debug for Scanner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("chunk_size", &self.chunk_size)
            .finish_non_exhaustive()
    }
}

impl DetectorSet {
    /// A scanner: per-thread scratch space for scanning with these detectors. Make one per
    /// thread and reuse it.
    pub fn scanner(&self) -> Scanner<'_> {
        Scanner::new(self)
    }

    /// Scans a string and returns its findings in order of position.
    pub fn scan_text(&self, text: &str) -> Vec<Finding> {
        self.scan_bytes(text.as_bytes())
    }

    /// Scans bytes as text (UTF-8 expected, other bytes tolerated) and returns the findings in
    /// order of position.
    pub fn scan_bytes(&self, data: &[u8]) -> Vec<Finding> {
        self.scanner().scan(data)
    }
}

impl<'e> Scanner<'e> {
    pub(crate) fn new(engine: &'e DetectorSet) -> Self {
        let n = engine.patterns.len();
        Scanner {
            engine,
            caches: (0..n).map(|_| None).collect(),
            captures: (0..n).map(|_| None).collect(),
            ascii_captures: (0..n).map(|_| None).collect(),
            buckets: (0..n).map(|_| Vec::new()).collect(),
            touched: Vec::new(),
            chunk_size: DEFAULT_CHUNK_SIZE,
            gate: MinCountGate::new(n),
            line: 1,
            column: 0,
            run_marks: Vec::new(),
            token_runs: Vec::new(),
            block_masks: Vec::new(),
            run_words: Vec::new(),
            line_literals: Vec::new(),
            folded_line: Vec::new(),
            run_context: Default::default(),
            gate_hits: Vec::new(),
            run_groups: Vec::new(),
            run_stamp: 0,
            defer_min_count: false,
        }
    }

    /// Heap bytes this scanner's scratch space holds now: regex caches (which grow as they
    /// meet new text, up to their capacity), capture slots and candidate buffers. The text
    /// itself is borrowed, and findings belong to the caller, so neither counts.
    pub fn scratch_bytes(&self) -> usize {
        let caches: usize = self
            .caches
            .iter()
            .flatten()
            .map(meta::Cache::memory_usage)
            .sum();
        let slots =
            |c: &Captures| c.group_info().memory_usage() + 2 * c.group_len() * size_of::<usize>();
        let captures: usize = self.captures.iter().flatten().map(slots).sum();
        let ascii: usize = self
            .ascii_captures
            .iter()
            .flatten()
            .map(|(cache, c)| cache.memory_usage() + slots(c))
            .sum();
        let buckets: usize = self
            .buckets
            .iter()
            .map(|b| b.capacity() * std::mem::size_of::<Candidate>())
            .sum::<usize>()
            + self.buckets.capacity() * std::mem::size_of::<Vec<Candidate>>();
        caches
            + captures
            + ascii
            + buckets
            + self.caches.capacity() * std::mem::size_of::<Option<meta::Cache>>()
            + self.ascii_captures.capacity() * size_of::<Option<(meta::Cache, Captures)>>()
            + self.gate.memory_usage()
            + self.touched.capacity() * std::mem::size_of::<usize>()
            + self.token_runs.capacity() * std::mem::size_of::<Range<usize>>()
            + self.block_masks.capacity() * std::mem::size_of::<BlockMasks>()
            + self.run_words.capacity() * std::mem::size_of::<Range<usize>>()
            + self.line_literals.capacity() * std::mem::size_of::<(usize, usize, usize)>()
            + self.folded_line.capacity()
            + self.gate_hits.capacity() * std::mem::size_of::<(usize, usize, usize)>()
            + self.run_groups.capacity() * std::mem::size_of::<crate::run_shape::Group>()
    }

    /// Runs only the first pass over `data` (literals, digit runs, `@`) and returns the number
    /// of candidate regions it leaves for confirmation. For benchmarks of the stages.
    #[cfg(feature = "bench")]
    pub fn first_pass_candidates(&mut self, data: &[u8]) -> usize {
        self.collect_candidates(data);
        let mut n = 0;
        for p in std::mem::take(&mut self.touched) {
            n += self.buckets[p].len();
            self.buckets[p].clear();
        }
        n
    }

    /// Times each stage of the first pass over `data` alone: literals, digit runs, `@` and
    /// token runs, in seconds. For tuning detector sets.
    #[cfg(feature = "bench")]
    pub fn first_pass_stages(&mut self, data: &[u8]) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        let mut stage = |name, this: &mut Self, f: fn(&mut Self, &[u8])| {
            let t = std::time::Instant::now();
            f(this, data);
            out.push((name, t.elapsed().as_secs_f64()));
            for p in std::mem::take(&mut this.touched) {
                this.buckets[p].clear();
            }
        };
        stage("literals", self, Self::collect_literal_candidates);
        stage("digit runs", self, Self::collect_digit_candidates);
        stage("@", self, Self::collect_at_candidates);
        stage("token runs", self, Self::collect_run_candidates);
        out
    }

    /// Runs the first pass over `data`, then times the confirmation of each pattern's
    /// candidates: per pattern that has any, its id, the number of candidates and the seconds.
    /// For tuning detector sets.
    #[cfg(feature = "bench")]
    pub fn confirm_by_pattern(&mut self, data: &[u8]) -> Vec<(String, usize, f64)> {
        self.collect_candidates(data);
        let mut out = Vec::new();
        let mut found = Vec::new();
        for p in std::mem::take(&mut self.touched) {
            let candidates = std::mem::take(&mut self.buckets[p]);
            let t = std::time::Instant::now();
            self.confirm(p, &candidates, data, &(0..data.len()), &mut found);
            out.push((
                format!("{}#{p}", self.engine.patterns[p].id),
                candidates.len(),
                t.elapsed().as_secs_f64(),
            ));
            found.clear();
        }
        out.sort_by(|a, b| b.2.total_cmp(&a.2));
        out
    }

    /// Runs only the first pass over `data` and returns, per pattern that has any, its id, the
    /// number of candidate regions and their total bytes. For tuning detector sets.
    #[cfg(feature = "bench")]
    pub fn first_pass_by_pattern(&mut self, data: &[u8]) -> Vec<(String, usize, usize)> {
        self.collect_candidates(data);
        let mut out = Vec::new();
        for p in std::mem::take(&mut self.touched) {
            let bytes = self.buckets[p].iter().map(|c| c.end - c.start).sum();
            out.push((
                self.engine.patterns[p].id.to_string(),
                self.buckets[p].len(),
                bytes,
            ));
            self.buckets[p].clear();
        }
        out.sort_by_key(|&(_, _, bytes)| std::cmp::Reverse(bytes));
        out
    }

    /// The detectors this scanner scans with.
    pub fn detectors(&self) -> &'e DetectorSet {
        self.engine
    }

    /// Sets how many bytes each chunk owns (at least 1). Findings do not depend on it; memory
    /// does (about the chunk size plus 80 KiB of overlap when reading a stream).
    pub fn set_chunk_size(&mut self, bytes: usize) -> &mut Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Scans one item held in memory and returns its findings in order of position (findings
    /// of rules with a `min_count` come at the end of the item).
    pub fn scan(&mut self, data: &[u8]) -> Vec<Finding> {
        let mut out = Vec::new();
        self.scan_fn(data, &mut |f| out.push(f), &|| true);
        out
    }

    /// Scans one item held in memory, giving each finding to `sink` in order of position (but
    /// for rules with `min_count`, whose findings come when their rule reaches it). Stops when
    /// the sink says [`Flow::Stop`] or fails, and says which.
    pub fn scan_into<S: FindingSink + ?Sized>(
        &mut self,
        data: &[u8],
        sink: &mut S,
    ) -> Result<Flow, S::Error> {
        let relay = std::cell::RefCell::new(Relay::new(sink));
        self.scan_fn(data, &mut |f| relay.borrow_mut().give(f), &|| {
            relay.borrow().running()
        });
        relay.into_inner().finish()
    }

    /// Scans one item in memory chunk by chunk, giving findings to `give`; `running` is asked
    /// between chunks whether to go on.
    fn scan_fn(&mut self, data: &[u8], give: &mut dyn FnMut(Finding), running: &dyn Fn() -> bool) {
        self.begin_item();
        let mut owned_start = 0;
        loop {
            let owned_end = data.len().min(owned_start + self.chunk_size);
            let win_start = owned_start.saturating_sub(OVERLAP);
            let win_end = data.len().min(owned_end + OVERLAP);
            self.scan_window(
                &data[win_start..win_end],
                win_start,
                owned_start - win_start..owned_end - win_start,
                give,
            );
            if owned_end >= data.len() || !running() {
                break;
            }
            owned_start = owned_end;
        }
        self.end_item();
    }

    /// Scans one item read from a stream, chunk by chunk, in bounded memory (about the chunk
    /// size plus 80 KiB), giving its findings to `sink`. Returns the number of bytes read; ends
    /// early, without reading the rest, when the sink says [`Flow::Stop`] or fails.
    pub fn scan_reader<R: Read, S: FindingSink + ?Sized>(
        &mut self,
        mut reader: R,
        sink: &mut S,
    ) -> Result<u64, ScanError<S::Error>> {
        let mut relay = Relay::new(sink);
        self.begin_item();
        let mut buf: Vec<u8> = Vec::with_capacity(self.chunk_size + 2 * OVERLAP);
        // Absolute offset of buf[0], and of the first byte the next chunk owns.
        let mut base = 0usize;
        let mut owned_start = 0usize;
        let mut eof = false;
        loop {
            let want = owned_start + self.chunk_size + OVERLAP - base;
            // Sized (and zeroed) once per chunk, not per read: a reader that gives 64 KiB at a
            // time (a pipe, a decompressed stream) would otherwise cost a memset of the rest
            // of the chunk for each read.
            let mut len = buf.len();
            if !eof && len < want {
                buf.resize(want, 0);
                while !eof && len < want {
                    match reader.read(&mut buf[len..]) {
                        Ok(0) => eof = true,
                        Ok(n) => len += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            self.end_item();
                            return Err(ScanError::Scan(Error::io("cannot read the input", e)));
                        }
                    }
                }
                buf.truncate(len);
            }
            let end = base + buf.len();
            let owned_end = if eof {
                end
            } else {
                owned_start + self.chunk_size
            };
            let win_start = owned_start.saturating_sub(OVERLAP).max(base);
            self.scan_window(
                &buf[win_start - base..],
                win_start,
                owned_start - win_start..owned_end - win_start,
                &mut |f| relay.give(f),
            );
            if (owned_end >= end && eof) || !relay.running() {
                break;
            }
            owned_start = owned_end;
            let keep_from = owned_start.saturating_sub(OVERLAP).max(base);
            buf.drain(..keep_from - base);
            base = keep_from;
        }
        self.end_item();
        relay
            .finish()
            .map(|_| (base + buf.len()) as u64)
            .map_err(ScanError::Sink)
    }

    /// Scans the chunk `owned` of an item, for callers that split an item between threads,
    /// given its window: `win` holds the item's bytes from `base`, at least `OVERLAP` bytes on
    /// each side of `owned` where the item has them. Returns the findings, with lines counted
    /// from the chunk's start (its first line is 1) and columns of that first line counted from
    /// the chunk's start, and where the chunk ends: its number of line feeds and the column
    /// (characters after its last line feed, or after its start when it has none).
    /// `min_count` is not applied.
    pub(crate) fn scan_chunk_window(
        &mut self,
        win: &[u8],
        base: usize,
        owned: Range<usize>,
    ) -> (Vec<Finding>, ChunkEnd) {
        self.defer_min_count = true;
        self.line = 1;
        self.column = 0;
        let mut out = Vec::new();
        self.scan_window(win, base, owned.start - base..owned.end - base, &mut |f| {
            out.push(f)
        });
        self.defer_min_count = false;
        (
            out,
            ChunkEnd {
                lines: self.line - 1,
                column: self.column,
            },
        )
    }

    fn begin_item(&mut self) {
        if self.engine.has_min_count {
            self.gate.reset();
        }
        self.line = 1;
        self.column = 0;
    }

    fn end_item(&mut self) {
        // What is still held belongs to patterns that never reached their `min_count` in this
        // item (a pattern that reached it released its findings at once).
        if self.engine.has_min_count {
            self.gate.reset();
        }
    }

    /// Scans `win` (which starts at absolute offset `base`) and reports the findings that start
    /// in `owned`.
    fn scan_window(
        &mut self,
        win: &[u8],
        base: usize,
        owned: Range<usize>,
        sink: &mut dyn FnMut(Finding),
    ) {
        let engine = self.engine;
        self.collect_candidates(win);
        for &p in &engine.full_scans {
            self.push(
                p,
                Candidate {
                    start: 0,
                    end: win.len(),
                    kind: HitKind::Region,
                },
            );
        }

        let mut found: Vec<Hit> = Vec::new();
        let touched = std::mem::take(&mut self.touched);
        for &p in &touched {
            let bucket = std::mem::take(&mut self.buckets[p]);
            self.confirm(p, &bucket, win, &owned, &mut found);
            self.buckets[p] = bucket;
            self.buckets[p].clear();
        }
        self.touched = touched;
        self.touched.clear();

        // Matches outside the chunk's own range are kept until here so that an overlap across
        // a chunk border is settled as in one pass over the whole text.
        found.sort_unstable_by_key(|&(p, s, e, _, _)| (s, e, p));
        resolve_overlaps(&mut found, &engine.patterns);
        let min = engine.min_confidence;
        found.retain(|&(_, _, _, c, mine)| mine && c >= min);
        // Count lines and columns up to each finding, then to the chunk's end, so every finding
        // knows its line and column.
        let (mut line, mut column) = (self.line, self.column);
        let mut at = owned.start;
        for (p, start, end, confidence, _) in found {
            advance(&win[at..start], &mut line, &mut column);
            at = start;
            let pattern = &engine.patterns[p];
            let mut finding = make_finding(
                pattern,
                &win[start..end],
                base + start,
                confidence,
                (line, column + 1),
                &engine.fingerprints,
            );
            if !engine.allow.is_empty() {
                finding.allowed =
                    engine
                        .allow
                        .allows(pattern, &win[start..end], &finding.fingerprint);
            }
            if pattern.min_count > 1 && !self.defer_min_count {
                self.gate.offer(p, pattern.min_count, finding, sink);
            } else {
                sink(finding);
            }
        }
        advance(&win[at..owned.end], &mut line, &mut column);
        (self.line, self.column) = (line, column);
    }

    /// The first pass: every trigger's candidates in `win`, in the buckets of their patterns.
    fn collect_candidates(&mut self, win: &[u8]) {
        let engine = self.engine;
        self.collect_literal_candidates(win);
        if !engine.digit_runs.is_empty() || !engine.country_codes.is_empty() {
            self.collect_digit_candidates(win);
        }
        if !engine.at_signs.is_empty() {
            self.collect_at_candidates(win);
        }
        if !engine.class_runs.is_empty() {
            self.collect_run_candidates(win);
        }
    }

    fn collect_literal_candidates(&mut self, win: &[u8]) {
        let engine = self.engine;
        let Some(prefilter) = &engine.literals else {
            return;
        };
        let buckets = &mut self.buckets;
        let touched = &mut self.touched;
        let gate_hits = &mut self.gate_hits;
        gate_hits.clear();
        // The line around the last hit: hits come in order, and many share a line.
        let mut line = 0..0;
        self.block_masks.clear();
        let tokens = (!engine.class_runs.is_empty()).then_some(&mut self.block_masks);
        prefilter.for_each_with_tokens(win, tokens, |s, e, target| {
            if target.kind == HitKind::Gate {
                if is_whole_context_word(win, s, e) {
                    gate_hits.push((s, e, target.pattern));
                }
                return;
            }
            let pattern = &engine.patterns[target.pattern];
            let (start, end) = match target.kind {
                HitKind::Anchored => {
                    // `\b` first and no boundary here: the regex cannot match, skip the call.
                    if pattern.starts_with_boundary
                        && s > 0
                        && is_word_byte(win[s - 1]) == is_word_byte(win[s])
                    {
                        return;
                    }
                    // The public IPv4 matcher is cheaper than keeping a candidate: it runs
                    // here, while the text is in the cache, and the candidate is the address
                    // (most hits are decimals, dates and versions: `12.5`, `21.03.`).
                    if pattern.native == Some(Native::Ipv4) {
                        match ipv4_match(win, s) {
                            Some(end) => (s, end),
                            None => return,
                        }
                    } else {
                        (s, win.len().min(s + pattern.max_len))
                    }
                }
                HitKind::Keyword => {
                    if pattern.whole_word && !(is_boundary(win, s) && is_boundary(win, e)) {
                        return;
                    }
                    (s, e)
                }
                HitKind::Region
                    if pattern
                        .after_literal
                        .as_ref()
                        .is_some_and(|after| !after.matches(win, e, pattern.max_len)) =>
                {
                    return;
                }
                HitKind::Region if pattern.line_bounded => {
                    if pattern.native == Some(Native::Ipv6Compressed) && !ipv6_gap_may_start(win, s)
                    {
                        return;
                    }
                    if !(line.start <= s && e <= line.end) {
                        let start = memchr::memrchr(b'\n', &win[..s]).map_or(0, |i| i + 1);
                        let end = memchr::memchr(b'\n', &win[e..]).map_or(win.len(), |i| e + i);
                        line = start..end;
                    }
                    (
                        line.start.max(s.saturating_sub(pattern.reach)),
                        line.end.min(e + pattern.reach),
                    )
                }
                HitKind::Region => region(win, s, e, pattern),
                HitKind::Gate => return,
                HitKind::Context => {
                    // Context words count as whole words only (`tin` is not in `setting`):
                    // a hit inside a word opens no region.
                    if !is_whole_context_word(win, s, e) {
                        return;
                    }
                    (
                        s.saturating_sub(pattern.reach),
                        win.len().min(e + pattern.reach),
                    )
                }
            };
            let bucket = &mut buckets[target.pattern];
            if bucket.is_empty() {
                touched.push(target.pattern);
            } else if bucket
                .last()
                .is_some_and(|last| last.start == start && last.end == end)
            {
                // Another literal of the same pattern on the same line: one region is enough.
                return;
            }
            bucket.push(Candidate {
                start,
                end,
                kind: target.kind,
            });
        });
        // The gate takes its words in order of end.
        if !self.gate_hits.is_sorted_by_key(|w| w.1) {
            self.gate_hits.sort_unstable_by_key(|w| (w.1, w.0, w.2));
        }
        if prefilter.unordered() {
            for &p in touched.iter() {
                let bucket = &mut buckets[p];
                // By start, the longest first at one start (as one ordered pass gives them).
                let key = |c: &Candidate| (c.start, std::cmp::Reverse(c.end));
                if !bucket.is_sorted_by_key(key) {
                    bucket.sort_by_key(key);
                }
            }
        }
    }

    fn collect_digit_candidates(&mut self, win: &[u8]) {
        let engine = self.engine;
        // A run of `min` digits is at least `min` bytes long.
        let min_span = engine.min_run_digits;
        let capitals = !engine.country_codes.is_empty();
        let mut gate_state = std::mem::take(&mut self.run_context);
        gate_state.reset();
        // The gate's words: found by the first pass, or else searched around the runs.
        let known = engine.literals.as_ref().is_some_and(|l| l.gates);
        let shapes = &engine.run_shapes;
        let mut groups = std::mem::take(&mut self.run_groups);
        scan_digit_runs(win, min_span, capitals, |event| match event {
            DigitEvent::Run(run) => {
                let first = usize::from(win[run.start].wrapping_sub(b'0'));
                let Some(fits) = engine.digit_fits.get(run.separated, run.digits, first) else {
                    return;
                };
                // A run with separators fits a pattern with shapes only if some of its groups
                // have one; those without fit as their digit counts say.
                let shaped = fits.shaped;
                // The patterns allowed: bit `k` for `digit_runs[k]`, every one past the bits.
                let allowed = if shaped {
                    shapes.fitting(&win[run.start..run.end], run.seps, &mut groups)
                        | !shapes.constrained
                } else {
                    u128::MAX
                };
                if shaped {
                    let mut bits = fits.open_shaped & allowed;
                    while bits != 0 {
                        let k = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        self.push_digit_run(k, &run, win);
                    }
                    for &k in &fits.open_rest {
                        self.push_digit_run(k, &run, win);
                    }
                } else {
                    for &k in &fits.open {
                        self.push_digit_run(k, &run, win);
                    }
                }
                let gated_left = |chunk: usize, fit: u64| match chunk {
                    0 => fit & allowed as u64,
                    1 => fit & (allowed >> 64) as u64,
                    _ => fit,
                };
                let any_gated = fits.any_gated
                    && (!shaped
                        || fits
                            .gated
                            .iter()
                            .enumerate()
                            .any(|(chunk, &fit)| gated_left(chunk, fit) != 0));
                if let Some(gate) = engine.run_context.as_ref().filter(|_| any_gated) {
                    // The words are searched once per run, when a gated pattern fits it.
                    let words = known.then_some(&self.gate_hits[..]);
                    gate_state.at_run(gate, win, words, run.start, run.end);
                    for (chunk, (&fit, &near)) in
                        fits.gated.iter().zip(gate_state.near_bits()).enumerate()
                    {
                        let mut bits = gated_left(chunk, fit) & near;
                        while bits != 0 {
                            let k = chunk * 64 + bits.trailing_zeros() as usize;
                            bits &= bits - 1;
                            self.push_digit_run(k, &run, win);
                        }
                    }
                }
            }
            // Two capitals that begin a word, then digits: where a country code may start.
            DigitEvent::AfterCapitals(start) => {
                if start == 2 || !is_word_byte(win[start - 3]) {
                    for &p in &engine.country_codes {
                        let pattern = &engine.patterns[p];
                        self.push(
                            p,
                            Candidate {
                                start: start - 2,
                                end: win.len().min(start - 2 + pattern.max_len),
                                kind: HitKind::Anchored,
                            },
                        );
                    }
                }
            }
        });
        self.run_context = gate_state;
        self.run_groups = groups;
    }

    /// Pushes the region of digit-run pattern `digit_runs[k]` around `run`.
    #[inline(always)]
    fn push_digit_run(&mut self, k: usize, run: &DigitRun, win: &[u8]) {
        let (p, _, _, reach) = self.engine.digit_runs[k];
        let after = &self.engine.digit_run_after[k];
        if !after.is_empty() && !after.iter().any(|tail| tail.ends(win, run.start)) {
            return;
        }
        let win_len = win.len();
        self.push(
            p,
            Candidate {
                start: run.start.saturating_sub(reach),
                end: win_len.min(run.end + reach),
                kind: HitKind::Region,
            },
        );
    }

    fn push(&mut self, p: usize, candidate: Candidate) {
        let bucket = &mut self.buckets[p];
        if bucket.is_empty() {
            self.touched.push(p);
        }
        bucket.push(candidate);
    }

    fn collect_run_candidates(&mut self, win: &[u8]) {
        let engine = self.engine;
        let runs = &engine.class_runs;
        let Some(filter) = &engine.run_filter else {
            return;
        };
        self.run_marks.resize(runs.len(), 0);
        let mut found = std::mem::take(&mut self.token_runs);
        let blocks = win.len().div_ceil(64);
        let block_masks = std::mem::take(&mut self.block_masks);
        let masks = (block_masks.len() == blocks).then_some(&block_masks[..]);
        let (shortest_shape, shortest_other) = (
            filter.shortest_shape.unwrap_or(usize::MAX),
            filter.shortest_token_run.unwrap_or(usize::MAX),
        );
        let mut literals = std::mem::take(&mut self.line_literals);
        let mut words = std::mem::take(&mut self.run_words);
        found.clear();
        find_runs(
            win,
            0..win.len(),
            shortest_shape.min(shortest_other),
            RunKind::Token,
            masks,
            &mut found,
        );
        // The line of the runs seen last, and where the filter's literals are on it: a line
        // with many runs is searched once.
        let mut line: Range<usize> = 0..0;
        let mut line_searched = false;
        for run in found.drain(..) {
            if run.len() >= shortest_shape {
                // Word shapes: the whole words in the run of a length one of them accepts (a
                // URL's path or a line of dashes holds none).
                words.clear();
                // (Word bytes are token bytes: a word in the run ends in it.)
                // A short run's words are walked one by one; a long one (a line of `-----BEGIN`
                // glued together) is searched for long enough words a block at a time.
                match masks.filter(|_| run.len() <= WALKED_RUN) {
                    Some(masks) => words_in(masks, run.clone(), shortest_shape, &mut words),
                    None => find_runs(
                        win,
                        run.clone(),
                        shortest_shape,
                        RunKind::Word,
                        masks,
                        &mut words,
                    ),
                }
                for word in &words {
                    for &k in &filter.shapes {
                        let p = runs[k].0;
                        let fits = engine.patterns[p].shape.as_ref().is_some_and(|shape| {
                            let (min, max) = shape.len_bounds();
                            (min..=max).contains(&word.len())
                        });
                        if fits {
                            self.push(
                                p,
                                Candidate {
                                    start: word.start,
                                    end: word.end,
                                    kind: HitKind::Region,
                                },
                            );
                        }
                    }
                }
            }
            if run.len() < shortest_other {
                continue;
            }
            if !(line.start <= run.start && run.end <= line.end) {
                let start = memchr::memrchr(b'\n', &win[..run.start]).map_or(0, |i| i + 1);
                let end = memchr::memchr(b'\n', &win[run.end..]).map_or(win.len(), |i| run.end + i);
                line = start..end;
                line_searched = false;
            }
            // Whether the run holds a digit, which some patterns' values need.
            let has_digit = win[run.clone()].iter().any(u8::is_ascii_digit);
            // The line around the run, as far as any region reaches.
            let line_start = line.start.max(run.start.saturating_sub(REGION_REACH));
            let line_end = line.end.min(run.end + REGION_REACH);
            for &k in &filter.unfiltered {
                if runs[k].1 > run.len() {
                    break;
                }
                if has_digit || !filter.needs_digit[k] {
                    self.push_run(k, &run, line_start..line_end, win.len());
                }
            }
            if !has_digit && run.len() < filter.shortest_without_digit {
                continue;
            }
            if !line_searched {
                // The line is searched once, for its first run that may concern a literal.
                line_searched = true;
                literals.clear();
                if let Some(search) = &filter.search {
                    search.literals_in(
                        &win[line.clone()],
                        line.start,
                        &mut self.folded_line,
                        &mut literals,
                    );
                }
            }
            if literals.is_empty() {
                continue;
            }
            self.run_stamp = self.run_stamp.wrapping_add(1);
            if self.run_stamp == 0 {
                self.run_marks.iter_mut().for_each(|m| *m = 0);
                self.run_stamp = 1;
            }
            let first = literals.partition_point(|&(s, _, _)| s < line_start);
            for &(s, e, literal) in &literals[first..] {
                if s >= line_end {
                    break;
                }
                if e > line_end {
                    continue;
                }
                for &k in &filter.targets[literal] {
                    if runs[k].1 <= run.len()
                        && (has_digit || !filter.needs_digit[k])
                        && self.run_marks[k] != self.run_stamp
                    {
                        self.run_marks[k] = self.run_stamp;
                        self.push_run(k, &run, line_start..line_end, win.len());
                    }
                }
            }
        }
        self.token_runs = found;
        self.line_literals = literals;
        self.run_words = words;
        self.block_masks = block_masks;
    }

    /// Pushes the region of run-triggered pattern `class_runs[k]` around `run`, on `line`.
    fn push_run(&mut self, k: usize, run: &Range<usize>, line: Range<usize>, win_len: usize) {
        let engine = self.engine;
        let p = engine.class_runs[k].0;
        let pattern = &engine.patterns[p];
        // A word shape's matches are whole words, and a word lies inside a run of token bytes.
        let reach = if pattern.shape.is_some() {
            0
        } else {
            pattern.reach
        };
        let mut start = run.start.saturating_sub(reach);
        let mut end = (run.end + reach).min(win_len);
        if pattern.line_bounded {
            start = start.max(line.start);
            end = end.min(line.end);
        }
        self.push(
            p,
            Candidate {
                start,
                end,
                kind: HitKind::Region,
            },
        );
    }

    fn collect_at_candidates(&mut self, win: &[u8]) {
        let local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
        let domain = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
        for at in memchr::memchr_iter(b'@', win) {
            if at == 0 || !local(win[at - 1]) {
                continue;
            }
            let lo = at.saturating_sub(EMAIL_LOCAL_MAX);
            let start = win[lo..at]
                .iter()
                .rposition(|b| !local(*b))
                .map_or(lo, |i| lo + i + 1);
            let hi = win.len().min(at + 1 + EMAIL_DOMAIN_MAX);
            let end = win[at + 1..hi]
                .iter()
                .position(|b| !domain(*b))
                .map_or(hi, |i| at + 1 + i);
            for &p in &self.engine.at_signs {
                self.push(
                    p,
                    Candidate {
                        start,
                        end,
                        kind: HitKind::Region,
                    },
                );
            }
        }
    }

    /// Confirms the candidates of pattern `p` (sorted by start) and appends the
    /// accepted matches that start in `owned`.
    fn confirm(
        &mut self,
        p: usize,
        candidates: &[Candidate],
        win: &[u8],
        owned: &Range<usize>,
        found: &mut Vec<Hit>,
    ) {
        let pattern = &self.engine.patterns[p];
        prefetch_starts(win, candidates);
        let Some(lazy) = &pattern.regex else {
            // Keywords: the hit is the match; longest first at equal starts, no overlaps.
            let mut last_end = 0;
            for c in candidates {
                if c.start < last_end {
                    continue;
                }
                if let Some(conf) = accept(pattern, win, c.start, c.end, c.start, c.end) {
                    last_end = c.end;
                    found.push((p, c.start, c.end, conf, owned.contains(&c.start)));
                }
            }
            return;
        };
        if pattern.native == Some(Native::CardDigits) {
            // A start no issuer range begins with is rejected by the validator whatever follows:
            // skip it without parsing the number (a long run of digit groups has one per group).
            let by_issuer = pattern.validator == Some(Validator::CreditCard);
            for c in candidates {
                let mut pos = c.start;
                // The digits from `pos` to the run's end: a card has at least 13, so once fewer
                // are left no later start can begin one (a 16-digit number fails at its first
                // group, not at each of four).
                let mut left = digits_in(&win[pos..c.end]);
                while pos < c.end {
                    if !win[pos].is_ascii_digit() {
                        pos += 1;
                        continue;
                    }
                    if left < CARD_MIN_DIGITS {
                        break;
                    }
                    let skip = |pos: usize, left: &mut usize| {
                        let next = next_group(win, pos, c.end);
                        *left = left.saturating_sub(digits_in(&win[pos..next]));
                        next
                    };
                    if by_issuer && !crate::validate::card_may_start_with(win[pos]) {
                        pos = skip(pos, &mut left);
                        continue;
                    }
                    let Some(end) = card_match(win, pos, c.end) else {
                        pos = skip(pos, &mut left);
                        continue;
                    };
                    if let Some(conf) = accept(pattern, win, pos, end, pos, end) {
                        found.push((p, pos, end, conf, owned.contains(&pos)));
                        left = left.saturating_sub(digits_in(&win[pos..end]));
                        pos = end;
                    } else {
                        pos = skip(pos, &mut left);
                    }
                }
            }
            return;
        }
        if let Some(shape) = &pattern.shape {
            confirm_shape(pattern, shape, p, candidates, win, owned, found);
            return;
        }
        let Some(regex) = lazy.get() else {
            return; // a built-in that does not compile finds nothing (the tests compile them all)
        };
        let cache = self.caches[p].get_or_insert_with(|| regex.create_cache());
        let captures = pattern
            .secret_group
            .map(|_| self.captures[p].get_or_insert_with(|| regex.create_captures()));
        let mut captures = captures;
        // Only a pattern with a `secret` group builds its ASCII regex (when first confirmed).
        let mut ascii = pattern.secret_group.and_then(|_| lazy.ascii()).map(|twin| {
            let scratch = self.ascii_captures[p]
                .get_or_insert_with(|| (twin.create_cache(), twin.create_captures()));
            (twin, scratch)
        });
        // Matches are searched as one leftmost-first iteration would find them: after an
        // accepted match the search resumes at its end, after a rejected one at its start + 1.
        let mut next = 0usize;
        for c in searches(candidates) {
            if c.kind == HitKind::Anchored {
                if c.start < next {
                    continue;
                }
                if pattern.native == Some(Native::Ipv4) {
                    // The address was matched when its literal was hit: the candidate is it.
                    let end = c.end;
                    if let Some(conf) = accept(pattern, win, c.start, end, c.start, end) {
                        next = end;
                        found.push((p, c.start, end, conf, owned.contains(&c.start)));
                    }
                    continue;
                }
                let input = Input::new(win).span(c.start..c.end).anchored(Anchored::Yes);
                if let Some(m) = regex.search_with(cache, &input) {
                    let (vs, ve) =
                        value_span(regex, cache, &mut captures, &mut ascii, pattern, &input, m);
                    if let Some(conf) = accept(pattern, win, m.start(), m.end(), vs, ve) {
                        next = m.end();
                        found.push((p, vs, ve, conf, owned.contains(&m.start())));
                    }
                }
                continue;
            }
            let end = c.end;
            let mut pos = c.start.max(next.min(end));
            let region = &win[pos.min(end)..end];
            if !pattern.must.is_empty() && !contains_all(region, &pattern.must) {
                continue;
            }
            if pattern.any_of.len() <= ANY_OF_CHECKED
                && !pattern.any_of.is_empty()
                && !pattern.any_of.iter().any(|m| m.is_in(region))
            {
                continue;
            }
            while pos < end {
                let input = Input::new(win).span(pos..end);
                let Some(m) = regex.search_with(cache, &input) else {
                    break;
                };
                let (vs, ve) =
                    value_span(regex, cache, &mut captures, &mut ascii, pattern, &input, m);
                if let Some(conf) = accept(pattern, win, m.start(), m.end(), vs, ve) {
                    found.push((p, vs, ve, conf, owned.contains(&m.start())));
                    pos = m.end().max(m.start() + 1);
                    next = pos;
                } else {
                    pos = m.start() + 1;
                }
            }
        }
    }
}

/// Up to this many candidates of a pattern have their text asked into the cache before they
/// are confirmed (64 KiB of cache lines: within a core's L2 cache).
const PREFETCHED: usize = 1024;

/// Asks the processor to bring the text at each candidate's start (and the byte before it,
/// which a search's start state reads) into the cache. The candidates of a chunk are
/// confirmed after the passes over the whole chunk, when their text has long left the cache;
/// without this, each confirmation began with a load from memory.
#[inline]
fn prefetch_starts(win: &[u8], candidates: &[Candidate]) {
    #[cfg(target_arch = "x86_64")]
    for c in candidates.iter().take(PREFETCHED) {
        if let Some(byte) = win.get(c.start.saturating_sub(1)) {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
            // SAFETY: SSE, which the intrinsic needs, is part of x86-64; a prefetch is a hint
            // that reads nothing and cannot fault (and the address is in `win`).
            unsafe { _mm_prefetch::<_MM_HINT_T1>(std::ptr::from_ref(byte).cast::<i8>()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (win, candidates);
}

/// The searches a pattern's candidates (sorted by start) call for, in order: an anchored
/// candidate alone, a region merged with every following candidate that overlaps it.
fn searches(candidates: &[Candidate]) -> impl Iterator<Item = Candidate> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let c = *candidates.get(i)?;
        i += 1;
        if c.kind == HitKind::Anchored {
            return Some(c);
        }
        let mut end = c.end;
        while let Some(following) = candidates.get(i).filter(|f| f.start < end) {
            end = end.max(following.end);
            i += 1;
        }
        Some(Candidate { end, ..c })
    })
}

/// Confirms the candidates of a word-shaped pattern as its regex would (see [`WordShape`]):
/// the same iteration as the regex's, over whole words instead of regex searches.
fn confirm_shape(
    pattern: &Pattern,
    shape: &WordShape,
    p: usize,
    candidates: &[Candidate],
    win: &[u8],
    owned: &Range<usize>,
    found: &mut Vec<Hit>,
) {
    let mut next = 0usize;
    for c in searches(candidates) {
        if c.kind == HitKind::Anchored {
            if c.start < next {
                continue;
            }
            if let Some(end) = shape.match_at(win, c.start, c.end) {
                if let Some(conf) = accept(pattern, win, c.start, end, c.start, end) {
                    next = end;
                    found.push((p, c.start, end, conf, owned.contains(&c.start)));
                }
            }
            continue;
        }
        // Matches are whole words, so they never overlap: a rejected word leaves the next
        // word to be tried, as the regex's resumed search would.
        shape.for_each_match(win, c.start.max(next.min(c.end)), c.end, |s, e| {
            if let Some(conf) = accept(pattern, win, s, e, s, e) {
                found.push((p, s, e, conf, owned.contains(&s)));
                next = e;
            }
            true
        });
    }
}

/// The fewest digits of a card number ([`card_match`]).
const CARD_MIN_DIGITS: usize = 13;
/// The most digits of a card number.
const CARD_MAX_DIGITS: usize = 19;

/// The match of `(?-u:\b)(?:\d[ -]?){12,18}\d(?-u:\b)` starting at `p` inside the digit run
/// ending at `run_end`, as the regex would find it (greedy: the longest of 13 to 19 digits that
/// ends at a word boundary), or `None`.
fn card_match(win: &[u8], p: usize, run_end: usize) -> Option<usize> {
    if !win[p].is_ascii_digit() || (p > 0 && is_word_byte(win[p - 1])) {
        return None;
    }
    let mut digits = 0;
    let mut i = p;
    let mut best = None;
    // A word boundary can follow a digit only where a non-digit does: tested at the bytes after
    // groups, not after every digit.
    let mut after_digit = false;
    while i < run_end {
        if win[i].is_ascii_digit() {
            digits += 1;
            i += 1;
            after_digit = true;
            if digits == CARD_MAX_DIGITS {
                break;
            }
        } else {
            if after_digit && digits >= CARD_MIN_DIGITS && !is_word_byte(win[i]) {
                best = Some(i);
            }
            after_digit = false;
            i += 1; // a single separator between digits, by construction of the run
        }
    }
    if after_digit && digits >= CARD_MIN_DIGITS && (i >= win.len() || !is_word_byte(win[i])) {
        best = Some(i);
    }
    best
}

/// The next position after `p` where a match could start in a digit run: just after the next
/// separator (inside a group of digits there is no word boundary).
fn next_group(win: &[u8], p: usize, run_end: usize) -> usize {
    win[p + 1..run_end]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(run_end, |i| p + 1 + i + 1)
}

/// The region a derived-literal hit at `s..e` confirms in: the line around it when the pattern
/// cannot cross lines, bounded by the pattern's reach either way.
fn region(win: &[u8], s: usize, e: usize, pattern: &Pattern) -> (usize, usize) {
    let lo = s.saturating_sub(pattern.reach);
    let hi = win.len().min(e + pattern.reach);
    if pattern.line_bounded {
        let start = memchr::memrchr(b'\n', &win[lo..s]).map_or(lo, |i| lo + i + 1);
        let end = memchr::memchr(b'\n', &win[e..hi]).map_or(hi, |i| e + i);
        (start, end)
    } else {
        (lo, hi)
    }
}

/// Whether `hay` contains every literal of `must`.
fn contains_all(hay: &[u8], must: &[crate::compile::Must]) -> bool {
    must.iter().all(|m| m.is_in(hay))
}

/// Up to this many literals of a pattern's `any_of` are looked for in a region before its regex
/// runs; a larger set is left to the regex (run-triggered patterns are filtered by it earlier).
const ANY_OF_CHECKED: usize = 8;

/// The bytes whose runs [`find_runs`] looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunKind {
    /// Token bytes (see `classes::is_token_byte`).
    Token,
    /// Word bytes, `[A-Za-z0-9_]`: the runs are whole words.
    Word,
}

/// The token and word bytes of a 64-byte block of the text, as the word-start pass of the
/// literals classified them (handed on so that the runs need not classify the text again).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct BlockMasks {
    token: u64,
    word: u64,
}

impl From<crate::classes::Masks> for BlockMasks {
    fn from(m: crate::classes::Masks) -> Self {
        BlockMasks {
            token: m.token,
            word: m.word,
        }
    }
}

impl BlockMasks {
    /// The mask of `kind`'s bytes.
    fn of(self, kind: RunKind) -> u64 {
        match kind {
            RunKind::Token => self.token,
            RunKind::Word => self.word,
        }
    }
}

/// Up to this length, the words of a token run are walked one by one ([`words_in`]).
const WALKED_RUN: usize = 256;

/// Appends to `out` every maximal run of word bytes at least `min` long in `range`, from the
/// blocks' masks: [`find_runs`] for a short range (a token run), walked word by word.
fn words_in(masks: &[BlockMasks], range: Range<usize>, min: usize, out: &mut Vec<Range<usize>>) {
    // The word bits from `at` on to the end of its block (none past the masks), and the
    // other bits (every bit past the masks).
    let from = |at: usize| masks.get(at / 64).map_or(0, |m| m.word >> (at % 64));
    let outside_from = |at: usize| masks.get(at / 64).map_or(!0, |m| !m.word >> (at % 64));
    let mut pos = range.start;
    while pos < range.end {
        let bits = from(pos);
        if bits == 0 {
            pos = (pos / 64 + 1) * 64;
            continue;
        }
        let start = pos + bits.trailing_zeros() as usize;
        if start >= range.end {
            break;
        }
        let mut end = start;
        while end < range.end {
            let outside = outside_from(end);
            if outside != 0 {
                end += outside.trailing_zeros() as usize;
                break;
            }
            end = (end / 64 + 1) * 64;
        }
        let end = end.min(range.end);
        if end - start >= min.max(1) {
            out.push(start..end);
        }
        pos = end;
    }
}

#[cfg(test)]
impl RunKind {
    fn holds(self, b: u8) -> bool {
        match self {
            RunKind::Token => is_token_byte(b),
            RunKind::Word => is_word_byte(b),
        }
    }
}

/// Appends to `out` every maximal run of `kind`'s bytes at least `min` long (at least 1) in
/// `range` of `win` (its ends count as ends of runs), in order.
///
/// The text is classified 64 bytes at a time into bit masks (SSE2 on x86-64, see `classes`),
/// and the positions where a long enough run starts are found by shifting and masking two
/// blocks' masks together, so prose (runs of a few letters) costs no branch per word. Only
/// where a run is long enough are its bytes walked.
/// `masks`, when given, are the blocks' masks of `win`, made by an earlier pass.
pub(crate) fn find_runs(
    win: &[u8],
    range: Range<usize>,
    min: usize,
    kind: RunKind,
    masks: Option<&[BlockMasks]>,
    out: &mut Vec<Range<usize>>,
) {
    let range = range.start.min(win.len())..range.end.min(win.len());
    let min = min.max(1);
    // Runs of at least `probe` bytes are looked for in the masks; longer minimums are checked
    // on each run found.
    let probe = min.min(64);
    let classify = crate::classes::classifier();
    // The block's bytes of `kind` inside the range.
    let mask = |block: usize| -> u64 {
        let base = block * 64;
        if base >= range.end {
            return 0;
        }
        let m = match masks {
            Some(masks) => masks.get(block).map_or(0, |m| m.of(kind)),
            None => BlockMasks::from(crate::classes::masks_with(win, base, classify)).of(kind),
        };
        let m = above(m, range.start.saturating_sub(base));
        if range.end - base < 64 {
            m & ((1u64 << (range.end - base)) - 1)
        } else {
            m
        }
    };
    let first = range.start / 64;
    let blocks = range.end.div_ceil(64);
    let mut done = range.start; // bytes before this are inside runs already reported
    let mut current = mask(first);
    for block in first..blocks {
        let next = mask(block + 1);
        let both = u128::from(current) | (u128::from(next) << 64);
        // Bit i set where `probe` token bytes start at i (bits from the next block shift in).
        let mut starts = both;
        let mut have = 1;
        while have < probe {
            let step = have.min(probe - have);
            starts &= starts >> step;
            have += step;
        }
        let base = block * 64;
        let mut bits = above(starts as u64, done.saturating_sub(base));
        while bits != 0 {
            // Every earlier start in this run was reported (or is in `done`), so this is
            // where a maximal run begins.
            let start = base + bits.trailing_zeros() as usize;
            // The run's end, from the masks a block at a time (a path, a base64 blob or a line
            // of dashes is walked 64 bytes per step); bytes past the range are in no class.
            let mut end = start + probe;
            loop {
                let outside = !mask(end / 64) >> (end % 64);
                if outside != 0 {
                    end += outside.trailing_zeros() as usize;
                    break;
                }
                end = (end / 64 + 1) * 64;
            }
            let end = end.min(range.end);
            if end - start >= min {
                out.push(start..end);
            }
            done = end;
            bits = above(bits, end - base);
        }
        current = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_match_is_the_card_regex_anchored_at_each_start() {
        let regex = meta::Regex::new(r"(?-u:\b)(?:\d[ -]?){12,18}\d(?-u:\b)").unwrap();
        let mut rng = crate::test_rng::Rng::new(0x2545_F491_4F6C_DD1D);
        let mut next = || rng.next();
        let mut matched = 0;
        for _ in 0..20_000 {
            // A run of digit groups with single separators, and a byte after it.
            let mut text = Vec::new();
            let groups = 1 + next() % 7;
            for g in 0..groups {
                if g > 0 {
                    text.push([b' ', b'-'][(next() % 2) as usize]);
                }
                for _ in 0..1 + next() % 8 {
                    text.push(b'0' + (next() % 10) as u8);
                }
            }
            let run_end = text.len();
            text.push([b' ', b'x', b'_', b'.', b'-'][(next() % 5) as usize]);
            if next() % 4 == 0 {
                text.truncate(run_end);
            }
            for p in 0..run_end {
                // The regex sees the byte after the run (its boundary) but matches inside it.
                let want = regex
                    .find(
                        Input::new(&text[..])
                            .span(p..text.len())
                            .anchored(Anchored::Yes),
                    )
                    .filter(|m| m.end() <= run_end)
                    .map(|m| m.end());
                assert_eq!(
                    card_match(&text, p, run_end),
                    want,
                    "{:?} at {p}",
                    String::from_utf8_lossy(&text)
                );
                matched += usize::from(want.is_some());
            }
        }
        assert!(matched > 1_000, "{matched}");
    }

    #[test]
    fn runs_match_a_naive_search() {
        let naive = |win: &[u8], min: usize, kind: RunKind| -> Vec<Range<usize>> {
            let mut out = Vec::new();
            let mut i = 0;
            while i < win.len() {
                if !kind.holds(win[i]) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < win.len() && kind.holds(win[i]) {
                    i += 1;
                }
                if i - start >= min {
                    out.push(start..i);
                }
            }
            out
        };
        let mut rng = crate::test_rng::Rng::new(0x9e37_79b9_7f4a_7c15);
        for len in [0usize, 1, 19, 20, 63, 64, 65, 127, 128, 129, 300, 5000] {
            for density in [2u64, 8, 40, 200] {
                let win: Vec<u8> = (0..len)
                    .map(|_| {
                        let x = rng.next();
                        if x % density == 0 {
                            b' '
                        } else {
                            b"aZ9_-./+="[(x % 9) as usize]
                        }
                    })
                    .collect();
                // The masks as the word-start pass hands them on.
                let made: Vec<BlockMasks> = (0..win.len().div_ceil(64))
                    .map(|b| BlockMasks::from(crate::classes::masks(&win, b * 64)))
                    .collect();
                for kind in [RunKind::Token, RunKind::Word] {
                    for min in [1usize, 2, 5, 20, 63, 64, 65, 100] {
                        let want = naive(&win, min, kind);
                        let mut got = Vec::new();
                        find_runs(&win, 0..win.len(), min, kind, None, &mut got);
                        assert_eq!(got, want, "len {len} density {density} {kind:?} min {min}");
                        got.clear();
                        find_runs(&win, 0..win.len(), min, kind, Some(&made), &mut got);
                        assert_eq!(got, want, "from masks");
                        // Within a range, whose ends end runs: as in the range on its own.
                        let from = (rng.next() % (len as u64 + 1)) as usize;
                        let to = from + (rng.next() % (len - from + 1) as u64) as usize;
                        let want: Vec<Range<usize>> = naive(&win[from..to], min, kind)
                            .into_iter()
                            .map(|r| r.start + from..r.end + from)
                            .collect();
                        for masks in [None, Some(&made[..])] {
                            got.clear();
                            find_runs(&win, from..to, min, kind, masks, &mut got);
                            assert_eq!(got, want, "{from}..{to} {kind:?} min {min}");
                        }
                        if kind == RunKind::Word {
                            got.clear();
                            words_in(&made, from..to, min, &mut got);
                            assert_eq!(got, want, "words_in {from}..{to} min {min}");
                        }
                    }
                }
            }
        }
    }
}

/// Where a chunk scanned on its own ends, for a caller that joins chunks: the line feeds in it,
/// and the characters after the last one (after the chunk's start when it has none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChunkEnd {
    pub(crate) lines: u64,
    pub(crate) column: u64,
}

/// Moves a (line, column) position over `bytes`: lines by line feeds, columns by characters
/// (UTF-8 code points; each byte of invalid UTF-8 that is not a continuation byte counts as
/// one) since the last line feed.
pub(crate) fn advance(bytes: &[u8], line: &mut u64, column: &mut u64) {
    match memchr::memrchr(b'\n', bytes) {
        Some(last) => {
            *line += bytecount::count(&bytes[..=last], b'\n') as u64;
            *column = bytecount::num_chars(&bytes[last + 1..]) as u64;
        }
        None => *column += bytecount::num_chars(bytes) as u64,
    }
}
