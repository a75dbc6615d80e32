//! The detector compiler: built-in and custom definitions in, one immutable [`DetectorSet`] out.
//!
//! Compilation turns every pattern into (a) the cheap trigger that finds its candidates (literals
//! for one shared Aho-Corasick automaton, or a byte-class scan) and (b) a `regex-automata` regex
//! that confirms a candidate within a bounded region, plus its validator and context words. This
//! module owns that translation and the compiled [`DetectorSet`]; it never scans text (that is
//! `scan`'s job) and never chooses which definitions to compile (that is `builder`'s).

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use regex_automata::meta;

use crate::error::{Error, ErrorKind};
use crate::finding::{Category, Confidence, Mask, Normalize};
use crate::literals;
use crate::prefilter::{HitKind, LiteralTarget, Prefilter, PrefilterBuilder};
use crate::rules::{PatternDef, Trigger};
use crate::run_context::RunContext;
use crate::run_shape::{RunShapes, MAX_SHAPED};
use crate::shape::WordShape;
use crate::validate::Validator;

/// The shortest run of token bytes that triggers a pattern: runs this long are rare in prose
/// and code (but for hashes, keys and encoded data).
const RUN_TRIGGER: usize = 20;

/// The shortest run a built-in may ask to be triggered by (`trigger = "token_run"`).
const MIN_TOKEN_RUN: usize = 12;

/// How far from its literal a custom rule's match may reach, in bytes, and so how much of a long
/// line around the literal the confirming regex sees.
pub(crate) const REGION_REACH: usize = 4096;

/// The longest match any pattern may produce. Matches are cut at this length, and the scanner's
/// chunk overlap is sized from it so that no match is lost at a chunk border.
pub(crate) const MAX_MATCH_LEN: usize = 32 * 1024;

/// A public description of a detector.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DetectorInfo {
    /// Stable id, e.g. `credit_card`.
    pub id: String,
    /// Category of what it finds.
    pub category: Category,
    /// ISO 3166-1 alpha-2 code of the issuing country (`EU` for the union's), if any.
    pub country: Option<String>,
    /// Confidence of its findings (some patterns or validators may report lower).
    pub confidence: Confidence,
    /// How each of its patterns earns its confidence, e.g. `high: luhn; medium: luhn + context`.
    pub confidence_rule: String,
    /// What it finds and how it checks it.
    pub description: String,
    /// Whether it ships with the engine (`false` for rules from a rule file).
    pub builtin: bool,
    /// Whether it runs when no selection is given (every built-in but those marked off by
    /// default, and custom rules).
    pub default: bool,
}

/// Hand-written matchers for built-in patterns on hot paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Native {
    /// `(?-u:\b)(?:\d[ -]?){12,18}\d(?-u:\b)` over a digit run.
    CardDigits,
    /// A compressed IPv6 address (`fe80::1`), confirmed by its regex, whose `::` hits open a
    /// region only where the word right before them is empty or one to four hex digits (a
    /// group): `std::io` and `Vec::new` in code open none (see [`ipv6_gap_may_start`]).
    Ipv6Compressed,
    /// The public IPv4 pattern
    /// `(?-u:\b)(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?-u:\b)`
    /// at its anchored candidates (see [`ipv4_match`]): every number and version at a word
    /// start (`12.5`, `25.00`) is one, and a regex search costs many times this parse.
    Ipv4,
}

/// The match of the public IPv4 pattern (see [`Native::Ipv4`]) starting at `p`, as its regex
/// finds it. Its groups are separated by dots, so a group shorter than the digits there is
/// followed by a digit where the regex needs a dot (or, for the last, a word boundary): the
/// regex matches only where every group is all the digits up to the next dot, and each of
/// those reads as one of its alternatives (one to three digits, at most 255, no leading zero;
/// the first of two or three). One pass reads them.
pub(crate) fn ipv4_match(win: &[u8], p: usize) -> Option<usize> {
    if p >= win.len() || (p > 0 && crate::classes::is_word_byte(win[p - 1])) {
        return None;
    }
    let mut i = p;
    for group in 0..4 {
        let start = i;
        let mut value = 0u32;
        while i - start < 4 && win.get(i).is_some_and(u8::is_ascii_digit) {
            value = value * 10 + u32::from(win[i] - b'0');
            i += 1;
        }
        let len = i - start;
        if len == 0 || len > 3 || value > 255 || (len > 1 && win[start] == b'0') {
            return None;
        }
        if group == 0 && len < 2 {
            return None;
        }
        if group < 3 {
            if win.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        } else if win.get(i).is_some_and(|&b| crate::classes::is_word_byte(b)) {
            return None;
        }
    }
    Some(i)
}

/// Whether `::` at `s` may be the gap of a compressed IPv6 address: in one, what precedes the
/// gap is a group of one to four hex digits after `:` or a non-word byte, or nothing after a
/// byte that is no word byte (or the line's start). So the word bytes right before it are none,
/// or one to four hex digits.
#[inline]
pub(crate) fn ipv6_gap_may_start(win: &[u8], s: usize) -> bool {
    let mut n = 0;
    let mut i = s;
    while i > 0 && crate::classes::is_word_byte(win[i - 1]) {
        if n == 4 || !win[i - 1].is_ascii_hexdigit() {
            return false;
        }
        n += 1;
        i -= 1;
    }
    true
}

/// A literal that every match of a pattern contains, with a searcher built once.
#[derive(Debug)]
pub(crate) struct Must {
    finder: memchr::memmem::Finder<'static>,
    literal: literals::Literal,
    /// Which byte of a case-insensitive literal is looked for first (in both cases).
    anchor: usize,
}

impl Must {
    fn new(literal: literals::Literal) -> Self {
        Must {
            finder: memchr::memmem::Finder::new(&literal.bytes).into_owned(),
            literal,
            anchor: 0,
        }
    }

    /// The same literal, searched in text around digit runs: by its first byte that is no
    /// digit, where it has one (the `a` of Corsica's `2a` is rare there, its `2` everywhere).
    fn around_digits(mut self) -> Self {
        self.anchor = self
            .literal
            .bytes
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(0);
        self
    }

    /// Whether `hay` contains the literal.
    pub(crate) fn is_in(&self, hay: &[u8]) -> bool {
        if !self.literal.case_insensitive {
            return self.finder.find(hay).is_some();
        }
        let bytes = &self.literal.bytes;
        let Some(&key) = bytes.get(self.anchor) else {
            return true;
        };
        let anchor = self.anchor;
        memchr::memchr2_iter(key.to_ascii_lowercase(), key.to_ascii_uppercase(), hay).any(|i| {
            i.checked_sub(anchor)
                .and_then(|start| hay.get(start..start + bytes.len()))
                .is_some_and(|w| w.eq_ignore_ascii_case(bytes))
        })
    }
}

/// Which run-triggered patterns a run concerns. Many such rules name a service next to a token
/// (`graph.{0,40}[a-z0-9]{32}`): a run only concerns those whose required literal is on its
/// line. One search of the line for all those literals replaces a search per rule.
#[derive(Debug)]
pub(crate) struct RunFilter {
    /// The search of a line for the first required literal of each line-bounded run pattern
    /// that has one (its "keys", numbered as `targets` numbers them), in any case (`None` when
    /// no pattern has one).
    pub search: Option<LineSearch>,
    /// Per key, the indexes in `class_runs` of the patterns that require it.
    pub targets: Vec<Vec<usize>>,
    /// The indexes in `class_runs` of the patterns that are not filtered (they take every run
    /// long enough), by increasing run length; but word shapes.
    pub unfiltered: Vec<usize>,
    /// The indexes in `class_runs` of the unfiltered word shapes: their matches are whole words,
    /// so they take runs of word bytes (words) of a length they accept, not runs of token bytes
    /// (a URL's path or a line of dashes holds no 26-byte word for a Bitcoin address).
    pub shapes: Vec<usize>,
    /// The shortest word a shape of `shapes` accepts.
    pub shortest_shape: Option<usize>,
    /// The shortest run of token bytes a pattern that is no word shape takes.
    pub shortest_token_run: Option<usize>,
    /// Per index in `class_runs`: only runs holding a digit concern the pattern
    /// ([`Pattern::run_needs_digit`]).
    pub needs_digit: Vec<bool>,
    /// The shortest run a filtered pattern that needs no digit takes: the line of a shorter
    /// run without a digit is not searched.
    pub shortest_without_digit: usize,
}

impl RunFilter {
    fn build(
        class_runs: &[(usize, usize)],
        patterns: &[Pattern],
    ) -> Result<Option<RunFilter>, Error> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut targets: Vec<Vec<usize>> = Vec::new();
        let mut unfiltered = Vec::new();
        for (k, &(p, _)) in class_runs.iter().enumerate() {
            let pattern = &patterns[p];
            // One literal every match holds, or else one of a set.
            let required: Vec<Vec<u8>> = match pattern.must.first() {
                Some(must) => vec![must.literal.bytes.to_ascii_lowercase()],
                None => pattern
                    .any_of
                    .iter()
                    .map(|m| m.literal.bytes.to_ascii_lowercase())
                    .collect(),
            };
            if required.is_empty() || !pattern.line_bounded {
                unfiltered.push(k);
                continue;
            }
            for key in required {
                match keys.iter().position(|x| *x == key) {
                    Some(i) if !targets[i].contains(&k) => targets[i].push(k),
                    Some(_) => {}
                    None => {
                        keys.push(key);
                        targets.push(vec![k]);
                    }
                }
            }
        }
        unfiltered.sort_by_key(|&k| class_runs[k].1);
        if class_runs.is_empty() {
            return Ok(None);
        }
        let shape_of = |k: usize| patterns[class_runs[k].0].shape.as_ref();
        let shapes: Vec<usize> = unfiltered
            .iter()
            .copied()
            .filter(|&k| shape_of(k).is_some())
            .collect();
        unfiltered.retain(|&k| shape_of(k).is_none());
        let shortest_shape = shapes
            .iter()
            .filter_map(|&k| shape_of(k).map(|s| s.len_bounds().0))
            .min();
        let shortest_token_run = (0..class_runs.len())
            .filter(|k| !shapes.contains(k))
            .map(|k| class_runs[k].1)
            .min();
        let search = if keys.is_empty() {
            None
        } else {
            match LineSearch::teddy(&keys) {
                Some(teddy) => Some(teddy),
                None => Some(LineSearch::automaton(&keys)?),
            }
        };
        let needs_digit: Vec<bool> = class_runs
            .iter()
            .map(|&(p, _)| patterns[p].run_needs_digit)
            .collect();
        let shortest_without_digit = targets
            .iter()
            .flatten()
            .filter(|&&k| !needs_digit[k])
            .map(|&k| class_runs[k].1)
            .min()
            .unwrap_or(usize::MAX);
        Ok(Some(RunFilter {
            search,
            targets,
            unfiltered,
            needs_digit,
            shortest_without_digit,
            shapes,
            shortest_shape,
            shortest_token_run,
        }))
    }
}

/// How the run filter searches a line for its keys.
#[derive(Debug)]
pub(crate) enum LineSearch {
    /// Teddy over the keys folded as [`fold_byte`] folds text: a line is folded, then searched
    /// with one restart per hit, at a fraction of the cost of an overlapping automaton search.
    Teddy {
        searcher: aho_corasick::packed::Searcher,
        /// Per folded key, the keys it holds as a prefix (itself among them), which occur
        /// where it does.
        holds: Vec<Vec<usize>>,
        /// The length of each key.
        key_lens: Vec<usize>,
    },
    /// An overlapping, ASCII-case-insensitive automaton, where Teddy does not run.
    Automaton(AhoCorasick),
}

impl LineSearch {
    /// Teddy over the folded `keys`, if it runs here.
    fn teddy(keys: &[Vec<u8>]) -> Option<LineSearch> {
        let mut folded: Vec<Vec<u8>> = Vec::new();
        for key in keys {
            let key: Vec<u8> = key.iter().map(|&b| fold_byte(b)).collect();
            if !key.is_empty() && !folded.contains(&key) {
                folded.push(key);
            }
        }
        if folded.is_empty() {
            return None;
        }
        let holds: Vec<Vec<usize>> = folded
            .iter()
            .map(|f| {
                (0..keys.len())
                    .filter(|&k| {
                        let key = &keys[k];
                        !key.is_empty()
                            && key.len() <= f.len()
                            && key.iter().zip(f).all(|(&a, &b)| fold_byte(a) == b)
                    })
                    .collect()
            })
            .collect();
        // Teddy itself, not its fallback (Rabin-Karp, slower than the automaton).
        if !crate::prefilter::teddy_available(&folded) {
            return None;
        }
        let mut builder = aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostLongest)
            .builder();
        builder.extend(&folded);
        Some(LineSearch::Teddy {
            searcher: builder.build()?,
            holds,
            key_lens: keys.iter().map(Vec::len).collect(),
        })
    }

    /// The automaton over `keys`.
    fn automaton(keys: &[Vec<u8>]) -> Result<LineSearch, Error> {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(keys)
            .map(LineSearch::Automaton)
            .map_err(|e| Error::new(ErrorKind::Rules, format!("run filter automaton: {e}")))
    }

    /// Appends to `out` every occurrence of a key in `line` (whose first byte is at `offset`
    /// in the window) as (start, end, key), ordered by start; `folded` is scratch space.
    pub(crate) fn literals_in(
        &self,
        line: &[u8],
        offset: usize,
        folded: &mut Vec<u8>,
        out: &mut Vec<(usize, usize, usize)>,
    ) {
        match self {
            LineSearch::Teddy {
                searcher,
                holds,
                key_lens,
            } => {
                folded.clear();
                folded.extend(line.iter().map(|&b| fold_byte(b)));
                let mut at = 0;
                while let Some(m) =
                    searcher.find_in(&folded[..], aho_corasick::Span::from(at..line.len()))
                {
                    for &k in &holds[m.pattern().as_usize()] {
                        out.push((offset + m.start(), offset + m.start() + key_lens[k], k));
                    }
                    at = m.start() + 1;
                }
            }
            LineSearch::Automaton(ac) => out.extend(
                ac.find_overlapping_iter(line)
                    .map(|m| (offset + m.start(), offset + m.end(), m.pattern().as_usize())),
            ),
        }
        out.sort_unstable();
    }
}

/// A byte folded for the run filter's search: `A`-`Z` to `a`-`z`, every other byte ORed with
/// 0x20 as well, text and literals alike (a folded match is necessary for a match in any case).
#[inline(always)]
fn fold_byte(b: u8) -> u8 {
    b | 0x20
}

/// Readies a pattern triggered by a literal anywhere in its match: the region around each hit
/// must hold every literal the pattern requires, and reach far enough to see a match whole
/// (the line around the hit, when the pattern cannot cross lines).
fn searched_in_regions(pattern: &mut Pattern, hir: &regex_syntax::hir::Hir) {
    pattern.must = literals::all_required(hir)
        .into_iter()
        .map(Must::new)
        .collect();
    pattern.reach = if pattern.line_bounded {
        REGION_REACH
    } else {
        pattern.max_len.min(REGION_REACH)
    };
}

/// Readies a pattern triggered by runs of token bytes: the literals it requires (all of them,
/// or one of a set) must be on a run's line, and the region around the run reaches as far as
/// a match can.
fn searched_on_runs(pattern: &mut Pattern, hir: &regex_syntax::hir::Hir) {
    pattern.must = literals::all_required(hir)
        .into_iter()
        .map(Must::new)
        .collect();
    pattern.reach = pattern.max_len.min(REGION_REACH);
    pattern.any_of = any_of(hir);
    // A value its validator rejects without a digit, made of token bytes only, lies inside one
    // run of them: runs without a digit need not be searched for it.
    let value = capture_hir(hir, "secret").unwrap_or(hir);
    pattern.run_needs_digit = pattern.validator.is_some_and(|v| v.value_needs_digit())
        && literals::only_token_bytes(value);
}

/// A short text (one to eight bytes) that must end right before a digit run, compared in one
/// step with the eight bytes there.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tail {
    /// The text's bytes in the high bytes of a word (its last byte the highest).
    word: u64,
    /// The high bytes the text fills.
    mask: u64,
    len: usize,
}

impl Tail {
    /// `None` unless `text` is one to eight bytes long (as `rules` checks).
    pub(crate) fn new(text: &[u8]) -> Option<Tail> {
        if text.is_empty() || text.len() > 8 {
            return None;
        }
        let mut bytes = [0u8; 8];
        bytes[8 - text.len()..].copy_from_slice(text);
        Some(Tail {
            word: u64::from_le_bytes(bytes),
            mask: u64::MAX << (8 * (8 - text.len())),
            len: text.len(),
        })
    }

    /// Whether `hay[..end]` ends with this text.
    #[inline]
    pub(crate) fn ends(&self, hay: &[u8], end: usize) -> bool {
        let word = match hay.get(end.wrapping_sub(8)..end) {
            Some(eight) => {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(eight);
                u64::from_le_bytes(bytes)
            }
            None if end >= self.len && end <= hay.len() => {
                // Fewer than eight bytes before `end`: those there, in the high bytes.
                let mut bytes = [0u8; 8];
                bytes[8 - end..].copy_from_slice(&hay[..end]);
                u64::from_le_bytes(bytes)
            }
            None => return false,
        };
        word & self.mask == self.word
    }
}

/// The digit-run patterns a run fits, looked up rather than tested one by one (a library has
/// dozens, and number-dense text a run every few bytes).
#[derive(Debug, Default)]
pub(crate) struct DigitFits {
    /// Per number of digits: the patterns a run without separators fits, by its first digit,
    /// then those a run with separators may fit (its shapes tell: see [`RunShapes`]). The last
    /// entry stands for every longer run too: it is past every pattern's finite bounds.
    by_digits: Vec<[Fits; 11]>,
}

/// The digit-run patterns one kind of run fits.
#[derive(Debug, Default)]
pub(crate) struct Fits {
    /// The indexes in `digit_runs` of those that take every run they fit.
    pub(crate) open: Vec<usize>,
    /// `open` as a bit set of its indexes below [`MAX_SHAPED`] (those a run's shapes can
    /// allow or not: see [`RunShapes::fitting`]), so that a run with separators pushes the
    /// allowed ones without testing each.
    pub(crate) open_shaped: u128,
    /// The indexes of `open` from [`MAX_SHAPED`] on (every run allows them).
    pub(crate) open_rest: Vec<usize>,
    /// Those that need a context word near the run (see `run_context`), as a bit set of their
    /// indexes in `digit_runs`: intersected with the patterns whose words are near, it leaves
    /// the few to push, where testing each would cost a branch per pattern and run.
    pub(crate) gated: Vec<u64>,
    /// Whether `gated` has a pattern.
    pub(crate) any_gated: bool,
    /// Whether a pattern here has shapes, which a run with separators must then be held to.
    pub(crate) shaped: bool,
}

impl DigitFits {
    /// `gated`: per pattern of `digit_runs`, whether it needs a context word near the run;
    /// `shapes`: the shapes of those that have them.
    fn build(
        digit_runs: &[(usize, usize, usize, usize)],
        gated: &[bool],
        shapes: &RunShapes,
    ) -> Self {
        let past_bounds = digit_runs
            .iter()
            .flat_map(|&(_, min, max, _)| [min, if max == usize::MAX { 0 } else { max }])
            .max()
            .unwrap_or(0)
            + 1;
        let by_digits = (0..=past_bounds)
            .map(|digits| {
                std::array::from_fn(|kind| {
                    let separated = kind == 10;
                    let mut fit = Fits {
                        open: Vec::new(),
                        open_shaped: 0,
                        open_rest: Vec::new(),
                        gated: vec![0; digit_runs.len().div_ceil(64)],
                        any_gated: false,
                        shaped: false,
                    };
                    let fitting = (0..digit_runs.len()).filter(|&k| {
                        if !fits(digit_runs[k], separated, digits) {
                            false
                        } else if separated || !shapes.is_constrained(k) {
                            true
                        } else {
                            // One group: its length and first digit say it all.
                            shapes.fits_whole(k, digits, kind)
                        }
                    });
                    for k in fitting {
                        fit.shaped |= separated && shapes.is_constrained(k);
                        if gated.get(k).copied().unwrap_or(false) {
                            fit.gated[k / 64] |= 1 << (k % 64);
                            fit.any_gated = true;
                        } else {
                            fit.open.push(k);
                            if k < MAX_SHAPED {
                                fit.open_shaped |= 1 << k;
                            } else {
                                fit.open_rest.push(k);
                            }
                        }
                    }
                    fit
                })
            })
            .collect();
        DigitFits { by_digits }
    }

    /// The patterns a run fits: with separators, those its shapes may allow; without, by its
    /// first digit (`first`, 0 to 9).
    pub(crate) fn get(&self, separated: bool, digits: usize, first: usize) -> Option<&Fits> {
        let last = self.by_digits.len().saturating_sub(1);
        self.by_digits
            .get(digits.min(last))
            .map(|lists| &lists[if separated { 10 } else { first.min(9) }])
    }
}

/// Whether a digit run fits a digit-run pattern (pattern, least and most digits, reach): a
/// pattern bounded by word boundaries matches a run without separators whole, or not at all.
fn fits(run: (usize, usize, usize, usize), separated: bool, digits: usize) -> bool {
    let (_, min, max, _) = run;
    if separated {
        digits >= min
    } else {
        (min..=max).contains(&digits)
    }
}

/// Literals one of which every match of `hir` contains, each searched in any case (empty when
/// there is no such set, or one with a literal too short to search for).
fn any_of(hir: &regex_syntax::hir::Hir) -> Vec<Must> {
    literals::required(hir)
        .filter(|set| set.literals.iter().all(literals::usable))
        .map(|set| {
            // In the case the pattern gives them when it gives every one a case (`2[AB]`),
            // else in any case.
            let case_insensitive = set.literals.iter().any(|l| l.case_insensitive);
            let mut keys: Vec<Vec<u8>> = set
                .literals
                .iter()
                .map(|l| {
                    if case_insensitive {
                        l.bytes.to_ascii_lowercase()
                    } else {
                        l.bytes.clone()
                    }
                })
                .collect();
            keys.sort();
            keys.dedup();
            // A literal that holds another of the set adds nothing (` 2a` holds `2a`).
            let all = keys.clone();
            keys.retain(|k| {
                !all.iter().any(|other| {
                    other.len() < k.len() && k.windows(other.len()).any(|w| w == other)
                })
            });
            keys.into_iter()
                .map(|bytes| {
                    Must::new(literals::Literal {
                        bytes,
                        case_insensitive,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Context words that must appear near a match.
#[derive(Debug)]
pub(crate) struct Context {
    pub words: AhoCorasick,
    pub window: usize,
}

/// One compiled pattern.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub id: Box<str>,
    pub category: Category,
    pub confidence: Confidence,
    /// `None` for keyword rules.
    pub regex: Option<LazyRegex>,
    /// The capture group whose span is the finding (a group named `secret`).
    pub secret_group: Option<usize>,
    pub validator: Option<Validator>,
    pub context: Option<Context>,
    pub min_count: usize,
    pub normalize: Normalize,
    pub mask: Mask,
    /// Upper bound of a match's length, used to bound anchored searches.
    pub max_len: usize,
    /// Regions of a derived-literal rule stop at line ends.
    pub line_bounded: bool,
    /// A hand-written matcher giving exactly the regex's matches (built-ins only).
    pub native: Option<Native>,
    /// Whole-word matches checked without the regex (see [`WordShape`]).
    pub shape: Option<WordShape>,
    /// A built-in pattern (overlaps between built-ins are settled; users' rules all report).
    pub builtin: bool,
    /// The regex begins with an ASCII word boundary (`(?-u:\b)`).
    pub starts_with_boundary: bool,
    /// How far a region reaches from its literal.
    pub reach: usize,
    /// Keyword rules only: keywords must stand as whole words.
    pub whole_word: bool,
    /// Literals every match contains: a region without one of them is not searched.
    pub must: Vec<Must>,
    /// Run-triggered patterns only: the value lies inside one run of token bytes and its
    /// validator rejects it without a digit, so only runs holding a digit concern it.
    pub run_needs_digit: bool,
    /// Literals one of which every match contains (lower-cased): for a pattern triggered by
    /// runs of token bytes without `must`, a run concerns it only when one is on its line; for
    /// one whose digit-run region reaches past the run, the region must hold one.
    pub any_of: Vec<Must>,
    /// A `contains`-triggered pattern whose literal stands in the top-level sequence of its
    /// regex: what must match right after each occurrence of the literal for a match to hold it
    /// there (see [`AfterLiteral`]).
    pub after_literal: Option<AfterLiteral>,
    /// The regular expression as written (empty for keyword rules).
    pub source: String,
    /// Keyword rules only: the keywords (for the reference path).
    pub keywords: Vec<String>,
    /// Keyword rules only: whether keywords match in their exact case.
    #[cfg_attr(not(feature = "bench"), allow(dead_code))]
    pub keywords_case_sensitive: bool,
}

/// A compiled, immutable set of detectors. Build it once with
/// [`DetectorSetBuilder`](crate::DetectorSetBuilder), share it between
/// threads (it is `Send + Sync`), and scan with a per-thread [`Scanner`](crate::Scanner) from
/// [`DetectorSet::scanner`]
/// or with the one-shot helpers.
#[derive(Debug)]
pub struct DetectorSet {
    pub(crate) patterns: Vec<Pattern>,
    pub(crate) detectors: Vec<DetectorInfo>,
    /// The first pass over every literal of every pattern.
    pub(crate) literals: Option<Prefilter>,
    /// Patterns over digit runs, with the least and most digits a match has.
    pub(crate) digit_runs: Vec<(usize, usize, usize, usize)>,
    /// Per pattern of `digit_runs`, what must end right before a run for it to count (empty:
    /// anything).
    pub(crate) digit_run_after: Vec<Vec<Tail>>,
    /// Which of `digit_runs` a run fits, by its kind and number of digits.
    pub(crate) digit_fits: DigitFits,
    /// The shapes of the digit-run patterns' matches, which a run with separators must have.
    pub(crate) run_shapes: RunShapes,
    /// Patterns that start two letters before a digit run.
    pub(crate) country_codes: Vec<usize>,
    /// Patterns around `@`.
    pub(crate) at_signs: Vec<usize>,
    /// Patterns triggered by a run of token bytes: (pattern, least run length).
    pub(crate) class_runs: Vec<(usize, usize)>,
    /// Which run-triggered patterns have their required literal near a run.
    pub(crate) run_filter: Option<RunFilter>,
    /// Which digit-run patterns that need a context word have one near a run.
    pub(crate) run_context: Option<RunContext>,
    /// Patterns without a usable literal: their regex runs over all text.
    pub(crate) full_scans: Vec<usize>,
    /// The smallest digit count any digit-run pattern needs.
    pub(crate) min_run_digits: usize,
    /// Whether any pattern needs `min_count` bookkeeping.
    pub(crate) has_min_count: bool,
    /// Custom rules left out because they did not compile (with `skip_invalid_rules`).
    pub(crate) rule_errors: Vec<Error>,
    /// Findings below this confidence are not reported.
    pub(crate) min_confidence: Confidence,
    /// How findings are fingerprinted.
    pub(crate) fingerprints: crate::fingerprint::Fingerprinter,
    /// Findings known and accepted.
    pub(crate) allow: crate::allow::Allowlist,
}

/// The longest match a context-triggered pattern may have: its region is the context window
/// plus this on either side of each context word.
const CONTEXT_MATCH_MAX: usize = 256;

/// When a pattern is triggered by its context words rather than by its own shape, how far from a
/// context word its region reaches: for built-in patterns that need context, whose matches are
/// short, and that have no literal of their own (they would otherwise run over all text).
fn context_trigger(
    def: &PatternDef,
    pattern: &Pattern,
    hir: &regex_syntax::hir::Hir,
) -> Option<usize> {
    let ctx = pattern.context.as_ref()?;
    if pattern.max_len > CONTEXT_MATCH_MAX || def.context.iter().any(|w| w.trim().len() < 2) {
        return None;
    }
    // Digit runs and country codes stay their own triggers: cheaper than context words,
    // which enter the literal first pass and, common or short (`ss #`), slow it for all text.
    let weak = match def.trigger {
        Trigger::DigitRun { .. } | Trigger::CountryCode => false,
        Trigger::Derived => literals::required(hir)
            .filter(|set| set.literals.iter().all(literals::usable))
            .is_none_or(|set| literals::word_like(&set)),
        Trigger::Prefixes(_)
        | Trigger::Contains(_)
        | Trigger::TokenRun
        | Trigger::At
        | Trigger::Keywords => false,
    };
    weak.then_some(ctx.window + pattern.max_len)
}

/// How a pattern earns its confidence, for people: `high: luhn + context`, `medium: shape`.
fn confidence_rule(def: &PatternDef) -> String {
    let mut parts = Vec::new();
    if let Some(v) = &def.validator {
        parts.push(v.name());
    }
    if !def.context.is_empty() {
        parts.push("context".to_string());
    }
    if parts.is_empty() {
        parts.push(match def.trigger {
            Trigger::Prefixes(_) => "prefix and shape".to_string(),
            Trigger::Keywords => "keyword".to_string(),
            _ => "shape".to_string(),
        });
    }
    format!("{}: {}", def.confidence.as_str(), parts.join(" + "))
}

pub(crate) fn compile(
    defs: Vec<(PatternDef, bool)>,
    skip_invalid: bool,
) -> Result<DetectorSet, Error> {
    let mut engine = DetectorSet {
        patterns: Vec::with_capacity(defs.len()),
        detectors: Vec::new(),
        literals: None,
        digit_runs: Vec::new(),
        digit_run_after: Vec::new(),
        country_codes: Vec::new(),
        at_signs: Vec::new(),
        class_runs: Vec::new(),
        run_filter: None,
        run_context: None,
        digit_fits: DigitFits::default(),
        run_shapes: RunShapes::default(),
        full_scans: Vec::new(),
        min_run_digits: usize::MAX,
        has_min_count: false,
        rule_errors: Vec::new(),
        min_confidence: Confidence::Low,
        fingerprints: crate::fingerprint::Fingerprinter::new(
            &crate::fingerprint::Fingerprints::Sha256,
        ),
        allow: crate::allow::Allowlist::default(),
    };
    let mut prefilter = PrefilterBuilder::default();
    let mut seen_ids: std::collections::HashSet<String> = std::collections::HashSet::new();

    // Each pattern's context words, for the gate of digit-run patterns.
    let mut context_words: Vec<Vec<String>> = Vec::new();
    // The shapes of each digit-run pattern (of `engine.digit_runs`), if it has them.
    let mut run_shapes = Vec::new();
    for (def, builtin) in defs {
        let fail = |msg: String| {
            Error::new(
                ErrorKind::Rules,
                format!("{}: rule `{}`: {msg}", def.origin, def.id),
            )
        };
        // A user's rule is compiled now, so that a mistake is an error at build; a built-in
        // on first use.
        let prepared = prepare(&def, !builtin).map_err(fail);
        let (context, compiled) = match prepared {
            Ok(p) => p,
            Err(e) if skip_invalid && !builtin => {
                engine.rule_errors.push(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let rule = confidence_rule(&def);
        if seen_ids.insert(def.id.clone()) {
            engine.detectors.push(DetectorInfo {
                id: def.id.clone(),
                category: def.category,
                country: def.country.clone(),
                confidence: def.confidence,
                confidence_rule: rule,
                description: def.description.clone(),
                builtin,
                default: def.default_on,
            });
        } else if let Some(info) = engine.detectors.iter_mut().find(|d| d.id == def.id) {
            if !info.confidence_rule.split("; ").any(|r| r == rule) {
                info.confidence_rule = format!("{}; {rule}", info.confidence_rule);
            }
            info.confidence = info.confidence.max(def.confidence);
        }
        let index = engine.patterns.len();
        context_words.push(def.context.clone());
        let mut pattern = Pattern {
            id: def.id.clone().into_boxed_str(),
            category: def.category,
            confidence: def.confidence,
            regex: None,
            secret_group: None,
            validator: def.validator,
            run_needs_digit: false,
            context,
            min_count: def.min_count,
            normalize: def.normalize,
            mask: def.mask,
            max_len: MAX_MATCH_LEN,
            line_bounded: false,
            native: None,
            shape: None,
            builtin,
            starts_with_boundary: false,
            reach: REGION_REACH,
            whole_word: def.whole_word,
            must: Vec::new(),
            any_of: Vec::new(),
            after_literal: None,
            source: def.pattern.clone(),
            keywords: def.keywords.iter().map(|k| k.trim().to_string()).collect(),
            keywords_case_sensitive: def.case_sensitive,
        };
        engine.has_min_count |= def.min_count > 1;

        if def.trigger == Trigger::Keywords {
            for word in &def.keywords {
                // A whole-word keyword counts only where a word starts.
                let add = if def.whole_word {
                    PrefilterBuilder::add_at_word_start
                } else {
                    PrefilterBuilder::add
                };
                add(
                    &mut prefilter,
                    word.trim().as_bytes(),
                    !def.case_sensitive,
                    LiteralTarget {
                        pattern: index,
                        kind: HitKind::Keyword,
                    },
                );
            }
            if pattern.normalize == Normalize::None && !def.case_sensitive {
                pattern.normalize = Normalize::Lower;
            }
            engine.patterns.push(pattern);
            continue;
        }

        let Some((hir, regex)) = compiled else {
            // Keyword rules are handled above; a pattern rule always compiles a regex.
            continue;
        };
        pattern.secret_group = capture_index(&hir, "secret");
        pattern.max_len = hir
            .properties()
            .maximum_len()
            .map_or(MAX_MATCH_LEN, |n| n.min(MAX_MATCH_LEN));
        pattern.line_bounded = !literals::can_match_newline(&hir);
        pattern.starts_with_boundary = literals::starts_with_ascii_boundary(&hir);
        pattern.native = match def.native.as_deref() {
            None => None,
            Some("card_digits") => Some(Native::CardDigits),
            // Its pre-check holds for the built-in's regex only.
            Some("ipv6_compressed") if builtin => Some(Native::Ipv6Compressed),
            Some("ipv4") if builtin => Some(Native::Ipv4),
            Some(other) => return Err(fail(format!("unknown native matcher `{other}`"))),
        };
        if pattern.native.is_none() {
            pattern.shape = WordShape::of(&hir);
        }
        pattern.reach = pattern.max_len.min(REGION_REACH);
        pattern.regex = Some(regex);

        if let Some(reach) = context_trigger(&def, &pattern, &hir) {
            // A shape too common to trigger on (a bare number) that needs a context word anyway:
            // the context words are its trigger, so text without them costs nothing.
            pattern.reach = reach;
            for word in &def.context {
                // Context words count as whole words only.
                prefilter.add_at_word_start(
                    word.trim().as_bytes(),
                    true,
                    LiteralTarget {
                        pattern: index,
                        kind: HitKind::Context,
                    },
                );
            }
            engine.patterns.push(pattern);
            continue;
        }

        match &def.trigger {
            Trigger::Prefixes(prefixes) => {
                // A built-in's prefixes have the case its pattern gives them.
                let case_insensitive = def.pattern.starts_with("(?i)");
                // After a `\b`, a prefix that begins with a word byte begins a word.
                let add = if pattern.starts_with_boundary {
                    PrefilterBuilder::add_at_word_start
                } else {
                    PrefilterBuilder::add
                };
                for prefix in prefixes {
                    add(
                        &mut prefilter,
                        prefix.as_bytes(),
                        case_insensitive,
                        LiteralTarget {
                            pattern: index,
                            kind: HitKind::Anchored,
                        },
                    );
                }
            }
            Trigger::Derived => {
                let set = literals::required(&hir)
                    .filter(|set| set.literals.iter().all(literals::usable));
                // A run of token bytes (`[a-z0-9]{32}`) is the better trigger when the literal
                // is a word of prose, or when there is none.
                let run = Some(literals::token_run(&hir)).filter(|&n| n >= RUN_TRIGGER);
                match (set, run) {
                    (set, Some(n)) if set.as_ref().is_none_or(literals::word_like) => {
                        searched_on_runs(&mut pattern, &hir);
                        engine.class_runs.push((index, n));
                    }
                    (Some(set), _) => {
                        let kind = if set.prefix {
                            // Every match starts at an occurrence: search anchored there, as
                            // far as a region search would reach from it.
                            pattern.max_len = pattern.max_len.min(REGION_REACH);
                            HitKind::Anchored
                        } else {
                            searched_in_regions(&mut pattern, &hir);
                            HitKind::Region
                        };
                        let add = if kind == HitKind::Anchored && pattern.starts_with_boundary {
                            PrefilterBuilder::add_at_word_start
                        } else {
                            PrefilterBuilder::add
                        };
                        for lit in set.literals {
                            add(
                                &mut prefilter,
                                &lit.bytes,
                                lit.case_insensitive,
                                LiteralTarget {
                                    pattern: index,
                                    kind,
                                },
                            );
                        }
                    }
                    (None, _) => engine.full_scans.push(index),
                }
            }
            Trigger::Contains(literals) => {
                searched_in_regions(&mut pattern, &hir);
                if let [literal] = &literals[..] {
                    pattern.after_literal = AfterLiteral::of(&hir, literal.as_bytes());
                }
                let case_insensitive = def.pattern.starts_with("(?i)");
                for literal in literals {
                    prefilter.add(
                        literal.as_bytes(),
                        case_insensitive,
                        LiteralTarget {
                            pattern: index,
                            kind: HitKind::Region,
                        },
                    );
                }
            }
            Trigger::DigitRun {
                min,
                max,
                reach,
                after,
            } => {
                if *reach > 0 {
                    // The region reaches past the run: a literal the match holds (`2A` of a
                    // Corsican NIR) spares the regex most runs.
                    pattern.any_of = any_of(&hir).into_iter().map(Must::around_digits).collect();
                }
                engine.digit_runs.push((index, *min, *max, *reach));
                engine.digit_run_after.push(
                    after
                        .iter()
                        .filter_map(|a| Tail::new(a.as_bytes()))
                        .collect(),
                );
                // A region past the run holds other bytes than the run's: no shapes then.
                run_shapes.push(
                    (*reach == 0)
                        .then(|| crate::run_shape::shapes(&hir))
                        .flatten(),
                );
                engine.min_run_digits = engine.min_run_digits.min(*min);
            }
            Trigger::CountryCode => engine.country_codes.push(index),
            Trigger::TokenRun => {
                let n = literals::token_run(&hir);
                if n < MIN_TOKEN_RUN {
                    return Err(fail(format!(
                        "`trigger = \"token_run\"` needs every match to hold a run of at least \
                         {MIN_TOKEN_RUN} token bytes; this pattern's shortest is {n}"
                    )));
                }
                searched_on_runs(&mut pattern, &hir);
                engine.class_runs.push((index, n));
            }
            Trigger::At => engine.at_signs.push(index),
            Trigger::Keywords => {}
        }
        engine.patterns.push(pattern);
    }

    engine.run_context = RunContext::build(&engine.digit_runs, &engine.patterns, |p| {
        context_words[p].clone()
    });
    if let Some(gate) = &engine.run_context {
        for (id, word) in gate.list.iter().enumerate() {
            prefilter.add_gate_word(word, id);
        }
    }
    let gated = engine
        .run_context
        .as_ref()
        .map_or(&[][..], |gate| &gate.gated[..]);
    engine.run_shapes = RunShapes::build(&run_shapes);
    engine.digit_fits = DigitFits::build(&engine.digit_runs, gated, &engine.run_shapes);
    engine.literals = prefilter.build()?;
    engine.run_filter = RunFilter::build(&engine.class_runs, &engine.patterns)?;
    Ok(engine)
}

/// The fallible part of compiling one definition: context words, and the pattern's syntax tree
/// and regex (none for keyword rules).
#[allow(clippy::type_complexity)]
fn prepare(
    def: &PatternDef,
    eager: bool,
) -> Result<(Option<Context>, Option<(regex_syntax::hir::Hir, LazyRegex)>), String> {
    let context = if def.context.is_empty() {
        None
    } else {
        let words = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(&def.context)
            .map_err(|e| format!("context words: {e}"))?;
        Some(Context {
            words,
            window: def.context_window,
        })
    };
    if def.trigger == Trigger::Keywords {
        return Ok((context, None));
    }
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(&def.pattern)
        .map_err(|e| format!("invalid pattern: {e}"))?;
    if hir.properties().minimum_len() == Some(0) {
        return Err("pattern matches the empty string; make at least one part required".into());
    }
    let regex = if eager {
        let regex = build_regex(&hir).map_err(|e| format!("pattern cannot be compiled: {e}"))?;
        LazyRegex::new(hir.clone(), OnceLock::from(Some(regex)))
    } else {
        LazyRegex::new(hir.clone(), OnceLock::new())
    };
    Ok((context, Some((hir, regex))))
}

fn build_regex(hir: &regex_syntax::hir::Hir) -> Result<meta::Regex, String> {
    meta::Builder::new()
        .configure(meta::Config::new().utf8_empty(false))
        .build_from_hir(hir)
        .map_err(|e| e.to_string())
}

/// The part of a regex that follows its literal, when the regex is a sequence one of whose
/// items is that literal (`scheme://user:password@host`, `://`): every match holds the literal
/// there, followed by a match of the items after it. A hit of the literal after which they do
/// not match (`https://example.com/`, the common case, fails at its first `/`) is no candidate,
/// and the whole regex, which must look back for the scheme, is not run around it.
pub(crate) struct AfterLiteral {
    /// The items after the literal, anchored at its end; compiled on first use.
    hir: regex_syntax::hir::Hir,
    regex: OnceLock<Option<meta::Regex>>,
}

impl std::fmt::Debug for AfterLiteral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AfterLiteral").finish_non_exhaustive()
    }
}

impl AfterLiteral {
    /// The items of `hir` after the first item that is `literal` (or a literal beginning with
    /// it), if the regex is such a sequence (its capture groups looked through).
    pub(crate) fn of(hir: &regex_syntax::hir::Hir, literal: &[u8]) -> Option<AfterLiteral> {
        use regex_syntax::hir::{Hir, HirKind, Literal};
        let mut top = hir;
        while let HirKind::Capture(c) = top.kind() {
            top = &c.sub;
        }
        let HirKind::Concat(items) = top.kind() else {
            return None;
        };
        let at = items.iter().position(
            |item| matches!(item.kind(), HirKind::Literal(Literal(l)) if l.starts_with(literal)),
        )?;
        let HirKind::Literal(Literal(first)) = items[at].kind() else {
            return None;
        };
        let mut after = Vec::new();
        if first.len() > literal.len() {
            after.push(Hir::literal(first[literal.len()..].to_vec()));
        }
        after.extend(items[at + 1..].iter().cloned());
        if after.is_empty() {
            return None; // the literal ends the regex: nothing to check
        }
        Some(AfterLiteral {
            hir: Hir::concat(after),
            regex: OnceLock::new(),
        })
    }

    /// Whether the items after the literal match from `at` (where an occurrence of the literal
    /// ends) in `win`, within `max_len` bytes. A regex that cannot be compiled rules nothing out.
    pub(crate) fn matches(&self, win: &[u8], at: usize, max_len: usize) -> bool {
        let Some(regex) = self.regex.get_or_init(|| build_regex(&self.hir).ok()) else {
            return true;
        };
        let end = win.len().min(at.saturating_add(max_len));
        if at > end {
            return false;
        }
        let input = regex_automata::Input::new(win)
            .span(at..end)
            .anchored(regex_automata::Anchored::Yes);
        regex.search_half(&input).is_some()
    }
}

/// A pattern's regex, compiled on first use. Most patterns of a large set see no candidate in
/// a given text, and compiling every one up front was most of the whole library's build time.
/// Users' rules are compiled at build, so that their mistakes are errors there; a built-in is
/// compiled (and its examples checked) by the tests.
pub(crate) struct LazyRegex {
    hir: regex_syntax::hir::Hir,
    regex: OnceLock<Option<meta::Regex>>,
    /// The regex restricted to ASCII, for the captures of matches in ASCII text (see
    /// [`LazyRegex::ascii`]), compiled on first use.
    ascii: OnceLock<Option<meta::Regex>>,
}

impl LazyRegex {
    fn new(hir: regex_syntax::hir::Hir, regex: OnceLock<Option<meta::Regex>>) -> Self {
        LazyRegex {
            hir,
            regex,
            ascii: OnceLock::new(),
        }
    }

    /// The regex, compiled now if it is the first use; `None` if it cannot be compiled (then
    /// the pattern finds nothing).
    pub(crate) fn get(&self) -> Option<&meta::Regex> {
        self.regex
            .get_or_init(|| build_regex(&self.hir).ok())
            .as_ref()
    }

    /// The regex with its Unicode classes cut to their ASCII part and its Unicode word
    /// boundaries made ASCII ones, when that changes it (`None` otherwise). On text that is
    /// ASCII, the two match alike and capture alike, since there every Unicode class matches
    /// just its ASCII part; but a class such as `[^\s"']` in Unicode is a large automaton of
    /// UTF-8 sequences, and the bounded backtracker that resolves captures clears a bit per
    /// state and byte on every search. Callers use it only where the match and the bytes on
    /// either side of it are ASCII.
    pub(crate) fn ascii(&self) -> Option<&meta::Regex> {
        self.ascii
            .get_or_init(|| {
                let (twin, changed) = ascii_twin(&self.hir);
                changed.then(|| build_regex(&twin).ok()).flatten()
            })
            .as_ref()
    }
}

/// `hir` with its Unicode classes restricted to ASCII (as byte classes) and its Unicode word
/// assertions made ASCII ones, and whether anything changed. The capture groups keep their
/// indexes and names.
fn ascii_twin(hir: &regex_syntax::hir::Hir) -> (regex_syntax::hir::Hir, bool) {
    use regex_syntax::hir::{
        Capture, Class, ClassBytes, ClassBytesRange, Hir, HirKind, Look, Repetition,
    };
    let all = |subs: &[Hir]| -> (Vec<Hir>, bool) {
        let mut changed = false;
        let subs = subs
            .iter()
            .map(|sub| {
                let (twin, c) = ascii_twin(sub);
                changed |= c;
                twin
            })
            .collect();
        (subs, changed)
    };
    match hir.kind() {
        HirKind::Class(Class::Unicode(class)) => {
            let ascii: Vec<ClassBytesRange> = class
                .ranges()
                .iter()
                .filter(|r| r.start().is_ascii())
                .map(|r| ClassBytesRange::new(r.start() as u8, r.end().min('\x7f') as u8))
                .collect();
            let changed = class.ranges().iter().any(|r| !r.end().is_ascii());
            (Hir::class(Class::Bytes(ClassBytes::new(ascii))), changed)
        }
        HirKind::Look(look) => {
            let ascii = match look {
                Look::WordUnicode => Look::WordAscii,
                Look::WordUnicodeNegate => Look::WordAsciiNegate,
                Look::WordStartUnicode => Look::WordStartAscii,
                Look::WordEndUnicode => Look::WordEndAscii,
                Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
                Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
                other => *other,
            };
            (Hir::look(ascii), ascii != *look)
        }
        HirKind::Repetition(rep) => {
            let (sub, changed) = ascii_twin(&rep.sub);
            let rep = Repetition {
                min: rep.min,
                max: rep.max,
                greedy: rep.greedy,
                sub: Box::new(sub),
            };
            (Hir::repetition(rep), changed)
        }
        HirKind::Capture(capture) => {
            let (sub, changed) = ascii_twin(&capture.sub);
            let capture = Capture {
                index: capture.index,
                name: capture.name.clone(),
                sub: Box::new(sub),
            };
            (Hir::capture(capture), changed)
        }
        HirKind::Concat(subs) => {
            let (subs, changed) = all(subs);
            (Hir::concat(subs), changed)
        }
        HirKind::Alternation(subs) => {
            let (subs, changed) = all(subs);
            (Hir::alternation(subs), changed)
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(Class::Bytes(_)) => {
            (hir.clone(), false)
        }
    }
}

impl std::fmt::Debug for LazyRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyRegex")
            .field("compiled", &self.regex.get().is_some())
            .finish_non_exhaustive()
    }
}

/// The index of the capture group named `name` in `hir`, as the compiled regex numbers it.
/// The sub-expression of the capture group named `name`.
fn capture_hir<'h>(
    hir: &'h regex_syntax::hir::Hir,
    name: &str,
) -> Option<&'h regex_syntax::hir::Hir> {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Capture(c) if c.name.as_deref() == Some(name) => Some(&c.sub),
        HirKind::Capture(c) => capture_hir(&c.sub, name),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().find_map(|s| capture_hir(s, name))
        }
        HirKind::Repetition(r) => capture_hir(&r.sub, name),
        _ => None,
    }
}

fn capture_index(hir: &regex_syntax::hir::Hir, name: &str) -> Option<usize> {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Capture(c) => {
            if c.name.as_deref() == Some(name) {
                Some(c.index as usize)
            } else {
                capture_index(&c.sub, name)
            }
        }
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().find_map(|s| capture_index(s, name))
        }
        HirKind::Repetition(r) => capture_index(&r.sub, name),
        _ => None,
    }
}

impl DetectorSet {
    /// Compiles every pattern's regex now. Built-in detectors compile theirs on first use, so
    /// that building a large set is quick; a service that would rather pay once at start, or a
    /// benchmark that times it, calls this. Fails naming the first detector whose pattern does
    /// not compile (none should: the tests compile them all).
    pub fn compile_all(&self) -> Result<(), Error> {
        for pattern in &self.patterns {
            if let Some(lazy) = &pattern.regex {
                if lazy.get().is_none() {
                    return Err(Error::new(
                        ErrorKind::Rules,
                        format!("detector `{}`: its pattern cannot be compiled", pattern.id),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Custom rules that were left out because they do not compile, when the builder was told
    /// to [skip invalid rules](DetectorSetBuilder::skip_invalid_rules). Each error names its rule.
    pub fn rule_errors(&self) -> &[Error] {
        &self.rule_errors
    }

    /// Every compiled pattern as `(detector id, regular expression)`, in compilation order;
    /// keyword rules are listed with their keywords joined by `|`. For comparisons with other
    /// engines and for inspection.
    pub fn pattern_sources(&self) -> Vec<(String, String)> {
        self.patterns
            .iter()
            .map(|p| {
                let source = if p.regex.is_some() {
                    p.source.clone()
                } else {
                    p.keywords.join("|")
                };
                (p.id.to_string(), source)
            })
            .collect()
    }

    /// How the patterns are triggered, for people tuning rule sets: counts per kind of
    /// trigger, and the ids of the patterns that run over the whole text (no usable literal).
    pub fn plan(&self) -> String {
        let full: Vec<&str> = self
            .full_scans
            .iter()
            .map(|&p| &*self.patterns[p].id)
            .collect();
        format!(
            "{} patterns: {} literal keys in the first pass ({}), {} on runs of token bytes, {} \
             on digit runs ({} with run shapes), {} on country codes, {} around @, {} over the \
             whole text{}{}; {} confirmed as word shapes",
            self.patterns.len(),
            self.literals.as_ref().map_or(0, Prefilter::keys),
            self.literals
                .as_ref()
                .map_or_else(String::new, Prefilter::layout),
            self.class_runs.len(),
            self.digit_runs.len(),
            self.run_shapes.constrained.count_ones(),
            self.country_codes.len(),
            self.at_signs.len(),
            full.len(),
            if full.is_empty() { "" } else { ": " },
            full.join(", "),
            self.patterns.iter().filter(|p| p.shape.is_some()).count()
        )
    }

    /// The path globs of the allow entries, each with the detector ids it is limited to (empty:
    /// any): findings in items whose path or archive member matches are accepted. Applied by
    /// callers that know paths (`dlp-engine`).
    pub fn allowed_paths(&self) -> &[(Vec<String>, String)] {
        self.allow.paths()
    }

    /// The detectors this engine runs, one entry per id.
    pub fn detectors(&self) -> &[DetectorInfo] {
        &self.detectors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(pattern: &str, literal: &str) -> Option<AfterLiteral> {
        let hir = regex_syntax::Parser::new().parse(pattern).unwrap();
        AfterLiteral::of(&hir, literal.as_bytes())
    }

    #[test]
    fn what_follows_a_literal_in_the_sequence_must_match_after_each_hit() {
        let url = r"(?i)(?:https?|ftp)://[^\s:@/]{1,20}:[^\s@/]{1,20}@[a-z.]{1,30}";
        let a = after(url, "://").unwrap();
        let text = b"see https://example.com/x and ftp://bob:s3cret@files.example now";
        let hits: Vec<usize> = text
            .windows(3)
            .enumerate()
            .filter(|(_, w)| w == b"://")
            .map(|(i, _)| i + 3)
            .collect();
        assert_eq!(hits.len(), 2);
        assert!(
            !a.matches(text, hits[0], 100),
            "no user:password after the first"
        );
        assert!(a.matches(text, hits[1], 100));
        // Within the bound only, and at the very end of the text.
        assert!(!a.matches(text, hits[1], 8));
        assert!(!a.matches(b"x://", 4, 100));
        // A literal merged with the bytes after it leaves them to match.
        let a = after(r"[a-z]+://host:[0-9]+", "://").unwrap();
        assert!(a.matches(b"ssh://host:22", 6, 100));
        assert!(!a.matches(b"ssh://hose:22", 6, 100));
        // Inside a capture group, the group's sequence.
        assert!(after(r"(?P<secret>[a-z]+://[a-z]+)", "://").is_some());
        // No sequence holding the literal as such: nothing to check.
        assert!(
            after(r"(?i)token=[a-z]+", "token").is_none(),
            "case-insensitive letters"
        );
        assert!(
            after(r"(?:a|b)://", "://").is_none(),
            "the literal ends the regex"
        );
        assert!(after(r"a://b|c://d", "://").is_none(), "an alternation");
    }

    #[test]
    fn a_tail_is_what_the_text_ends_with_before_a_position() {
        let hay = b"2A 12345678;4111B;x2B2A";
        let tails = [
            "B",
            ";",
            "2A",
            "2A ",
            "x2B2A",
            "12345678;",
            "8;4111B;x",
            "Z",
        ];
        for tail in tails {
            let Some(t) = Tail::new(tail.as_bytes()) else {
                assert!(tail.len() > 8, "{tail}");
                continue;
            };
            for end in 0..=hay.len() + 2 {
                let want = end <= hay.len() && hay[..end].ends_with(tail.as_bytes());
                assert_eq!(t.ends(hay, end), want, "{tail} at {end}");
            }
        }
        assert!(Tail::new(b"").is_none() && Tail::new(b"123456789").is_none());
        // Bytes before the text are not NULs.
        let nul = Tail::new(b"\0B").unwrap();
        assert!(!nul.ends(b"B", 1) && nul.ends(b"\0B", 2));
    }

    /// The regex of `source`, which the detector data must hold as a built-in pattern with
    /// this native matcher (a change there must come to the test too).
    fn builtin_native(source: &str, native: &str) -> meta::Regex {
        assert!(crate::rules::builtin()
            .unwrap()
            .iter()
            .any(|d| d.pattern == source && d.native.as_deref() == Some(native)));
        meta::Regex::new(source).unwrap()
    }

    /// A required literal is found (in any case, or in its own) wherever it is, whichever of
    /// its bytes the search looks for first.
    #[test]
    fn must_finds_its_literal_by_any_anchor() {
        let mut rng = crate::test_rng::Rng::new(0x1234_5678_9ABC_DEF1);
        for (literal, case_insensitive) in [
            ("2a", true),
            (" 2b", true),
            ("a2", true),
            ("12", true),
            ("x", true),
            ("2A", false),
            (" 2B", false),
            ("A2", false),
            ("12", false),
        ] {
            let must = || {
                Must::new(literals::Literal {
                    bytes: literal.as_bytes().to_vec(),
                    case_insensitive,
                })
            };
            let (plain, around) = (must(), must().around_digits());
            for _ in 0..2000 {
                let len = (rng.next() % 9) as usize;
                let hay = rng.bytes(b"12aAbB x", len);
                let want = hay.windows(literal.len()).any(|w| {
                    if case_insensitive {
                        w.eq_ignore_ascii_case(literal.as_bytes())
                    } else {
                        w == literal.as_bytes()
                    }
                });
                let shown = String::from_utf8_lossy(&hay);
                assert_eq!(plain.is_in(&hay), want, "{literal:?} in {shown:?}");
                assert_eq!(around.is_in(&hay), want, "{literal:?} in {shown:?}");
            }
        }
    }

    /// A pattern's set of required literals keeps the case the pattern gives them (`2[AB]`: a
    /// region holding `2a` cannot match), and is in any case where one is (`(?i)`).
    #[test]
    fn one_of_literals_keep_the_patterns_case() {
        let keys = |pattern: &str| -> Vec<(String, bool)> {
            any_of(&regex_syntax::parse(pattern).unwrap())
                .iter()
                .map(|m| {
                    let text = String::from_utf8_lossy(&m.literal.bytes).to_string();
                    (text, m.literal.case_insensitive)
                })
                .collect()
        };
        let exact = keys(r"\d{6}2[AB]\d{8}");
        assert_eq!(exact, [("2A".into(), false), ("2B".into(), false)]);
        let must = |k: usize| {
            Must::new(literals::Literal {
                bytes: exact[k].0.as_bytes().to_vec(),
                case_insensitive: false,
            })
        };
        assert!(must(0).is_in(b"12 2A 34") && !must(0).is_in(b"12 2a 34"));
        assert_eq!(
            keys(r"(?i)(?:pwd|api)=[a-z0-9]{10}"),
            [("api=".into(), true), ("pwd=".into(), true)]
        );
    }

    /// The regex restricted to ASCII captures as the full one on ASCII text: for every built-in
    /// with a `secret` group, on its examples, negatives and mutations of them, every match of
    /// the full regex gets the same groups from both. And a pattern without a Unicode class
    /// has no twin.
    #[test]
    fn the_ascii_twin_captures_alike_on_ascii_text() {
        let mut rng = crate::test_rng::Rng::new(0x2545_F491_4F6C_DD1D);
        let mut twins = 0;
        let mut compared = 0;
        for def in crate::rules::builtin().unwrap() {
            let hir = regex_syntax::parse(&def.pattern).unwrap();
            if capture_index(&hir, "secret").is_none() {
                continue;
            }
            let lazy = LazyRegex::new(hir, OnceLock::new());
            let (Some(full), Some(twin)) = (lazy.get(), lazy.ascii()) else {
                continue;
            };
            twins += 1;
            let (mut full_caps, mut twin_caps) = (full.create_captures(), twin.create_captures());
            let seeds: Vec<&String> = def.examples.iter().chain(&def.negatives).collect();
            for _ in 0..300 {
                let mut text = seeds[(rng.next() % seeds.len() as u64) as usize]
                    .as_bytes()
                    .to_vec();
                // Replace, insert or delete a few ASCII bytes.
                for _ in 0..rng.next() % 4 {
                    let at = (rng.next() % (text.len() as u64 + 1)) as usize;
                    let b = b" \t=:\"'aZ9_-./+;"[(rng.next() % 15) as usize];
                    match rng.next() % 3 {
                        0 if at < text.len() => text[at] = b,
                        1 if at < text.len() => {
                            text.remove(at);
                        }
                        _ => text.insert(at, b),
                    }
                }
                if !text.is_ascii() {
                    continue;
                }
                for m in full.find_iter(&text) {
                    let input = regex_automata::Input::new(&text)
                        .span(m.start()..m.end())
                        .anchored(regex_automata::Anchored::Yes);
                    full.search_captures(&input, &mut full_caps);
                    twin.search_captures(&input, &mut twin_caps);
                    for group in 0..full_caps.group_len() {
                        assert_eq!(
                            full_caps.get_group(group),
                            twin_caps.get_group(group),
                            "{} on {:?}",
                            def.id,
                            String::from_utf8_lossy(&text)
                        );
                    }
                    compared += 1;
                }
            }
        }
        assert!(
            twins >= 5 && compared >= 1000,
            "{twins} twins, {compared} matches"
        );
        let plain = LazyRegex::new(
            regex_syntax::parse(r"(?-u)key=(?P<secret>[a-z]+)").unwrap(),
            OnceLock::new(),
        );
        assert!(plain.ascii().is_none());
        // Where the match is not ASCII, the full regex captures: the ASCII one would stop the
        // value before `é`.
        let set = crate::DetectorSetBuilder::new().build().unwrap();
        for text in ["DB_PASSWORD=Xk9#mQ2vLp8!zRé", "password: Tr0ub4dor&3xQé"] {
            let found = set.scan_text(text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert_eq!(found[0].end, text.len(), "{text}");
        }
    }

    /// [`ipv4_match`] gives the match of the built-in public IPv4 pattern anchored at every
    /// position, as its regex does, in text of digits, dots and the bytes around addresses.
    #[test]
    fn the_ipv4_parse_matches_its_regex_everywhere() {
        let regex = builtin_native(
            r"(?-u:\b)(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?-u:\b)",
            "ipv4",
        );
        let mut rng = crate::test_rng::Rng::new(0x5851_F42D_4C95_7F2D);
        let mut matched = 0;
        let digits = b"0123455552221";
        for _ in 0..20_000 {
            // Groups of one to four digits joined mostly by dots, with what surrounds numbers.
            let mut text = Vec::new();
            while text.len() < 24 {
                let n = 1 + (rng.next() % 4) as usize;
                text.extend(rng.bytes(digits, n));
                text.push(match rng.next() % 12 {
                    0 => b' ',
                    1 => b'a',
                    2 => b'_',
                    3 => b'-',
                    4 => b'\n',
                    _ => b'.',
                });
            }
            for p in 0..=text.len() {
                let input = regex_automata::Input::new(&text)
                    .span(p..text.len().min(p + 15))
                    .anchored(regex_automata::Anchored::Yes);
                let want = regex.search(&input).map(|m| m.end());
                assert_eq!(
                    ipv4_match(&text, p),
                    want,
                    "at {p} in {:?}",
                    String::from_utf8_lossy(&text)
                );
                matched += usize::from(want.is_some());
            }
        }
        assert!(matched > 1000, "{matched}");
    }

    /// The run filter's Teddy over folded lines finds exactly what an overlapping,
    /// ASCII-case-insensitive automaton finds: every occurrence of every literal, those that
    /// overlap, share a start (`api`, `api_key`) or differ only in case among them.
    #[test]
    fn the_run_filters_line_search_finds_every_occurrence() {
        let keys: Vec<Vec<u8>> = [
            "api", "api_key", "secret", "token", "toKen", "etok", "-us", ":aa", "https://",
            "ſecret",
        ]
        .iter()
        .map(|k| k.as_bytes().to_vec())
        .collect();
        let Some(fast) = LineSearch::teddy(&keys) else {
            return; // no Teddy on this processor: the automaton alone searches
        };
        let slow = LineSearch::automaton(&keys).unwrap();
        let pieces: [&[u8]; 14] = [
            b"API",
            b"api_KEY",
            b"Secre",
            b"t",
            b"oken",
            b"TOKEN",
            b"-US",
            b":AA",
            b"HTTPS://",
            "ſecret".as_bytes(),
            b"x",
            b" ",
            b"=",
            b"9",
        ];
        let mut rng = crate::test_rng::Rng::new(0x2545_F491_4F6C_DD1D);
        let mut folded = Vec::new();
        let mut found = 0;
        for len in [0usize, 1, 3, 15, 16, 17, 31, 33, 63, 64, 65, 200, 1000] {
            for _ in 0..50 {
                let mut line = Vec::new();
                while line.len() < len {
                    line.extend_from_slice(pieces[(rng.next() % pieces.len() as u64) as usize]);
                }
                line.truncate(len);
                let (mut a, mut b) = (Vec::new(), Vec::new());
                fast.literals_in(&line, 7, &mut folded, &mut a);
                slow.literals_in(&line, 7, &mut folded, &mut b);
                assert_eq!(a, b, "{}", String::from_utf8_lossy(&line));
                found += a.len();
            }
        }
        assert!(found > 1000, "{found}");
    }

    /// The `::` of every match of the built-in compressed-IPv6 pattern passes
    /// [`ipv6_gap_may_start`], in text made of what addresses and code are made of: the check
    /// only ever turns away `::` that no match holds.
    #[test]
    fn the_ipv6_gap_check_keeps_the_gap_of_every_match() {
        let regex = builtin_native(
            r"(?:(?m:^)|[^:0-9A-Za-z_.\n])(?P<secret>(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6}(?-u:\b))?)",
            "ipv6_compressed",
        );
        let alphabet = b"0123456789abcdefABCDEFxyzS_:::: .\n-";
        let mut rng = crate::test_rng::Rng::new(0x9E37_79B9_7F4A_7C15);
        let (mut matches, mut turned_away) = (0, 0);
        for _ in 0..10_000 {
            let text = rng.bytes(alphabet, 40);
            let mut captures = regex.create_captures();
            for m in regex.find_iter(&text) {
                regex.search_captures(
                    &regex_automata::Input::new(&text).span(m.range()),
                    &mut captures,
                );
                let Some(value) = captures.get_group_by_name("secret") else {
                    continue;
                };
                let gap = value.start
                    + text[value.range()]
                        .windows(2)
                        .position(|w| w == b"::")
                        .unwrap();
                matches += 1;
                assert!(
                    ipv6_gap_may_start(&text, gap),
                    "{:?} at {gap}",
                    String::from_utf8_lossy(&text)
                );
            }
            for (s, w) in text.windows(2).enumerate() {
                if w == b"::" && !ipv6_gap_may_start(&text, s) {
                    turned_away += 1;
                }
            }
        }
        // Neither side is empty: matches were checked, and `::` were turned away.
        assert!(
            matches > 1000 && turned_away > 1000,
            "{matches} {turned_away}"
        );
    }
}
