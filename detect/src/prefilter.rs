//! The first pass: one Aho-Corasick automaton over the literals of every pattern.
//!
//! The automaton is case-sensitive and searched leftmost-longest, which lets `aho-corasick` use
//! its SIMD (Teddy) searcher when the set is small: that is what makes text without candidates
//! cheap. Two transformations keep it exact:
//! - a literal enters by its rarest three-byte window (by a byte-frequency heuristic: the
//!   searcher tells candidates by their first bytes, and `BEG` is rarer than the `---` of
//!   `-----BEGIN `, which every dashed rule and table starts); a case-sensitive literal as its
//!   suffix from that window, a case-insensitive one as every ASCII-case variant of the window;
//!   the whole literal is compared at each hit;
//! - the search restarts one byte after each hit's start rather than after its end, and a hit
//!   also fires the literals that are prefixes of the one found, so every (position, literal)
//!   occurrence is reported, as an overlapping search would.

use std::collections::HashMap;

use aho_corasick::{packed, AhoCorasick, AhoCorasickBuilder, Input, MatchKind, Span};

use crate::error::{Error, ErrorKind};

mod word_start;
use word_start::WordStartFilter;

/// How a literal hit turns into a candidate region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HitKind {
    /// The pattern must match starting at the literal.
    Anchored,
    /// The pattern runs over the region around the literal.
    Region,
    /// The literal is a keyword and the keyword is the match.
    Keyword,
    /// The literal is one of the pattern's context words: the pattern runs over the text within
    /// its context window (and a match's length) on either side, across lines.
    Context,
    /// The literal is a context word of the digit-run gate (`run_context`), numbered by the
    /// target's `pattern`: its hits are recorded, not confirmed.
    Gate,
}

/// One pattern a literal of the shared automaton serves.
#[derive(Clone, Debug)]
pub(crate) struct LiteralTarget {
    pub pattern: usize,
    pub kind: HitKind,
}

/// After this many hits in one search, if they came on average every [`DENSE_SPACING`] bytes or
/// closer, the rest of the text is searched in one overlapping pass.
const DENSE_HITS: usize = 256;
const DENSE_SPACING: usize = 16;

/// Up to this many keys, the automaton is searched leftmost-longest with restarts, which lets
/// `aho-corasick` use its SIMD searcher (Teddy) to skip text without candidates; beyond it,
/// Teddy is not available and one overlapping pass is faster.
const PACKED_KEYS: usize = 64;

/// The width of the window a literal enters the automaton by (and of the case variants of a
/// case-insensitive one).
const KEY_WINDOW: usize = 3;

/// The width of the keys of Teddy over folded text: Teddy tells candidates by as many bytes
/// as its shortest key has (four at most), and in text most three-byte windows of words recur
/// (`iza` of `AIza` in every `serialize`) where four-byte ones rarely do. Shorter literals are
/// searched by a Teddy of their own.
const FOLDED_KEY_WINDOW: usize = 4;

/// Up to this many keys (the case variants of two three-letter literals), one Teddy searches
/// them at every position even when they are mostly case variants: the folded search would
/// cost more than it saves (see [`PrefilterBuilder::build_all_positions`]).
const FOLD_ABOVE_KEYS: usize = 16;

/// How much a window already used as a key is favoured over rarer ones, in [`byte_rank`]
/// units (ten places in its order of letters).
const SHARED_KEY_BONUS: u32 = 40;

/// The rank of a window of one byte repeated: above that of any other window.
const REPEATED_RANK: u32 = 1 << 16;

/// A literal and the pattern it serves.
#[derive(Clone)]
struct Entry {
    /// The full literal (lower-cased when `case_insensitive`).
    literal: Box<[u8]>,
    case_insensitive: bool,
    target: LiteralTarget,
    /// Where the automaton's key begins in the literal.
    key_offset: usize,
    /// The literal counts only where a word starts (see [`PrefilterBuilder::add_at_word_start`]).
    word_start: bool,
    /// The literal's first eight bytes, compared with the text's in one step.
    head: Head,
}

impl Entry {
    fn new(
        literal: Box<[u8]>,
        case_insensitive: bool,
        target: LiteralTarget,
        key_offset: usize,
        word_start: bool,
    ) -> Self {
        Entry {
            head: Head::of(&literal, case_insensitive),
            literal,
            case_insensitive,
            target,
            key_offset,
            word_start,
        }
    }
}

/// The first (up to) eight bytes of a literal as a little-endian word, so that the eight bytes
/// of text where it may occur are compared with them in one step, without a call: most literals
/// are that short (context words, `+1`, `FR`, `ghp_`), and a hit that is no occurrence (`from`
/// at `FR`, the digit of `+4` at `+1`) costs a load and a comparison.
#[derive(Clone, Copy, Debug)]
struct Head {
    /// The literal's bytes (lower case where it is case-insensitive).
    word: u64,
    /// The literal's bytes of the eight.
    mask: u64,
    /// `0x20` at each lower-case letter of a case-insensitive literal: ORed into the text, it
    /// makes that byte's two cases one, while every other byte is compared exactly (as
    /// `eq_ignore_ascii_case` does).
    letters: u64,
}

impl Head {
    fn of(literal: &[u8], case_insensitive: bool) -> Head {
        let n = literal.len().min(8);
        let mut letters = 0u64;
        if case_insensitive {
            for (i, b) in literal[..n].iter().enumerate() {
                if b.is_ascii_lowercase() {
                    letters |= 0x20 << (8 * i);
                }
            }
        }
        Head {
            word: window_u64(literal),
            mask: low_bytes(u64::MAX, n),
            letters,
        }
    }

    /// Whether the eight bytes of text `raw` (as a little-endian word) begin with the literal's
    /// first eight.
    #[inline(always)]
    fn matches(self, raw: u64) -> bool {
        (raw | self.letters) & self.mask == self.word
    }
}

/// Collects literals, then builds a [`Prefilter`].
#[derive(Default)]
pub(crate) struct PrefilterBuilder {
    keys: Vec<Vec<u8>>,
    key_ids: HashMap<Vec<u8>, usize>,
    entries: Vec<Vec<Entry>>,
    /// Every literal added, once.
    all: Vec<Entry>,
    /// The context words of the digit-run gate, each with its number there: searched with the
    /// other literals when they are many (see [`Prefilter::gates`]).
    gate_words: Vec<(String, usize)>,
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
        // The rarest window, but one another literal already entered by is nearly as good:
        // a shared key costs the automaton nothing (`passwd` enters by the `ssw` of `password`).
        let key_offset = (0..=literal.len().saturating_sub(KEY_WINDOW))
            .min_by_key(|&i| {
                let end = literal.len().min(i + KEY_WINDOW);
                let known = if case_insensitive {
                    self.key_ids
                        .contains_key(&literal[i..end].to_ascii_lowercase())
                } else {
                    self.key_ids.contains_key(&literal[i..])
                };
                window_rank(&literal[i..end], case_insensitive).saturating_sub(if known {
                    SHARED_KEY_BONUS
                } else {
                    0
                })
            })
            .unwrap_or(0);
        let keys = if case_insensitive {
            case_variants(&literal[key_offset..literal.len().min(key_offset + KEY_WINDOW)])
        } else {
            vec![literal[key_offset..].to_vec()]
        };
        let entry = Entry::new(literal_stored, case_insensitive, target, key_offset, false);
        for key in keys {
            let next = self.keys.len();
            let id = *self.key_ids.entry(key.clone()).or_insert(next);
            if id == next {
                self.keys.push(key);
                self.entries.push(Vec::new());
            }
            self.entries[id].push(entry.clone());
        }
        self.all.push(entry);
    }

    /// Adds a context word of the digit-run gate, numbered `id` there.
    pub(crate) fn add_gate_word(&mut self, word: &str, id: usize) {
        if word.len() >= 2 {
            self.gate_words.push((word.to_ascii_lowercase(), id));
        }
    }

    /// Adds a literal for `target` that counts only where a word starts: where it is not
    /// preceded by a word byte (`[A-Za-z0-9_]`). Such hits may be left out elsewhere, which
    /// lets a large set be searched at word starts only.
    pub(crate) fn add_at_word_start(
        &mut self,
        literal: &[u8],
        case_insensitive: bool,
        target: LiteralTarget,
    ) {
        let before = self.all.len();
        let context = matches!(target.kind, HitKind::Context | HitKind::Gate);
        self.add(literal, case_insensitive, target);
        if let Some(entry) = self.all.get_mut(before) {
            entry.word_start = word_start::eligible(literal, context);
        }
    }

    pub(crate) fn build(self) -> Result<Option<Prefilter>, Error> {
        if self.keys.len() <= PACKED_KEYS {
            // Few keys: one Teddy searches them all, at every position.
            return self.build_all_positions();
        }
        // Many keys: the literals that count only at word starts are searched there; the rest
        // as a set of their own. The gate's words join them: among so many, they cost little
        // more, while searched apart they would cost a pass of their own.
        let gates = !self.gate_words.is_empty();
        let mut all = self.all;
        for (word, id) in self.gate_words {
            let word_start = word_start::eligible(word.as_bytes(), true);
            let target = LiteralTarget {
                pattern: id,
                kind: HitKind::Gate,
            };
            all.push(Entry::new(
                word.into_bytes().into(),
                true,
                target,
                0,
                word_start,
            ));
        }
        let (words, rest): (Vec<Entry>, Vec<Entry>) = all.into_iter().partition(|e| e.word_start);
        let words = (!words.is_empty()).then(|| WordStartFilter::new(words));
        let mut others = PrefilterBuilder::default();
        for entry in rest {
            others.add(&entry.literal, entry.case_insensitive, entry.target);
        }
        let Some(mut prefilter) = others.build_all_positions()? else {
            return Ok(words.map(|words| Prefilter {
                short: None,
                long: None,
                words: Some(words),
                pairs: None,
                gates,
            }));
        };
        prefilter.words = words;
        prefilter.gates = gates;
        Ok(Some(prefilter))
    }

    /// The prefilter of literals that count at every position.
    fn build_all_positions(self) -> Result<Option<Prefilter>, Error> {
        if self.keys.is_empty() {
            return Ok(None);
        }
        // A case-insensitive literal enters Teddy as one key per case variant. With more
        // than a few literals, those keys make Teddy's candidates many times more frequent:
        // on the bench corpus, the 32 variant keys of four context words (`pan`, `gst`...)
        // ran at 400 to 650 MB/s where the eight of one ran at 8 GB/s. So keys that are mostly
        // variants (three or more per literal), past `FOLD_ABOVE_KEYS`, are searched folded:
        // one key per literal, for the cost of a pass that folds the text.
        let variants = self.keys.len() > FOLD_ABOVE_KEYS
            && self.keys.len() >= 3 * self.all.len()
            && teddy_available(&self.keys);
        if self.keys.len() <= PACKED_KEYS && !variants {
            // Teddy tells keys apart by as many bytes as the shortest has: two-byte keys
            // (`+1`) among longer ones would let every pair of bytes of those through (`pa`
            // of `password`), so they get a Teddy of their own.
            let short = |e: &Entry| e.literal.len() < KEY_WINDOW;
            if self.all.iter().any(short) && !self.all.iter().all(short) {
                let (mut two, mut longer) = (Self::default(), Self::default());
                for entry in &self.all {
                    let part = if short(entry) { &mut two } else { &mut longer };
                    part.add(&entry.literal, entry.case_insensitive, entry.target.clone());
                }
                return Ok(Some(Prefilter {
                    short: Some(longer.build_ac(true)?),
                    long: None,
                    words: None,
                    pairs: Some(two.build_ac(true)?),
                    gates: false,
                }));
            }
            return Ok(Some(Prefilter {
                short: Some(self.build_ac(true)?),
                long: None,
                words: None,
                pairs: None,
                gates: false,
            }));
        }
        // Many keys, but perhaps few once case is folded: Teddy over a folded copy of the text.
        // Literals shorter than four bytes get their own: Teddy tells keys apart by as many
        // bytes as the shortest has, and four tell far better than two or three.
        let (two, longer): (Vec<Entry>, Vec<Entry>) = self
            .all
            .iter()
            .cloned()
            .partition(|e| e.literal.len() < FOLDED_KEY_WINDOW);
        let main = Self::folded(&longer, FOLDED_KEY_WINDOW)?;
        let pairs = Self::folded(&two, KEY_WINDOW)?;
        if (main.is_some() || longer.is_empty()) && (pairs.is_some() || two.is_empty()) {
            return Ok(Some(Prefilter {
                short: main,
                long: None,
                words: None,
                pairs,
                gates: false,
            }));
        }
        // Many keys: the hashed filter, but for two-byte literals, which would cost it a third
        // test at every position: those few are searched by an automaton (SIMD Teddy).
        let (two, rest): (Vec<Entry>, Vec<Entry>) =
            self.all.into_iter().partition(|e| e.literal.len() <= 2);
        let mut short = PrefilterBuilder::default();
        for entry in two {
            short.add(&entry.literal, entry.case_insensitive, entry.target);
        }
        Ok(Some(Prefilter {
            short: if short.keys.is_empty() {
                None
            } else {
                Some(short.build_ac(true)?)
            },
            long: Some(HashedFilter::new(rest)),
            words: None,
            pairs: None,
            gates: false,
        }))
    }

    /// Teddy over folded keys (see [`fold_byte`]), searched in a folded copy of the text, when
    /// the folded keys are few enough for it; `None` otherwise. A case-insensitive literal
    /// then costs one key instead of one per case variant, and `+1` to `+9` one key. The text
    /// is folded as the keys are, so a literal's occurrence is always a folded key's; each
    /// literal is then compared with the text itself.
    fn folded(all: &[Entry], window: usize) -> Result<Option<Automaton>, Error> {
        if all.is_empty() {
            return Ok(None);
        }
        // Each literal's few rarest windows are its candidate keys; keys are then chosen
        // greedily, the one that serves the most literals first, so that literals share keys
        // (Teddy holds 64) without entering by a common window.
        const CANDIDATES: usize = 3;
        let candidates: Vec<Vec<(Vec<u8>, usize)>> = all
            .iter()
            .map(|entry| {
                let literal = &entry.literal;
                let width = literal.len().min(window);
                let mut windows: Vec<(u32, Vec<u8>, usize)> = (0..=literal.len() - width)
                    .map(|i| {
                        let window = &literal[i..i + width];
                        let rank = window_rank(&window.to_ascii_lowercase(), false);
                        (rank, fold_bytes(window), i)
                    })
                    .collect();
                windows.sort();
                let mut out: Vec<(Vec<u8>, usize)> = Vec::new();
                for (_, key, offset) in windows {
                    if out.len() < CANDIDATES && !out.iter().any(|(k, _)| *k == key) {
                        out.push((key, offset));
                    }
                }
                out
            })
            .collect();
        let mut chosen: Vec<Option<(Vec<u8>, usize)>> = vec![None; all.len()];
        let mut left = all.len();
        let mut keys = 0;
        while left > 0 {
            keys += 1;
            if keys > PACKED_KEYS {
                return Ok(None); // more keys than Teddy holds: the hashed filter takes them
            }
            // The key that serves the most literals not yet served (the rarer on a tie: each
            // literal's candidates come rarest first).
            let mut count: HashMap<&[u8], (usize, usize)> = HashMap::new();
            for (i, list) in candidates.iter().enumerate() {
                if chosen[i].is_some() {
                    continue;
                }
                for (rank, (key, _)) in list.iter().enumerate() {
                    let c = count.entry(key.as_slice()).or_insert((0, 0));
                    c.0 += 1;
                    c.1 += rank;
                }
            }
            let Some((best, _)) = count
                .into_iter()
                .max_by_key(|&(key, (n, ranks))| (n, std::cmp::Reverse(ranks), key.to_vec()))
            else {
                break;
            };
            let best = best.to_vec();
            for (i, list) in candidates.iter().enumerate() {
                if chosen[i].is_none() {
                    if let Some((key, offset)) = list.iter().find(|(k, _)| *k == best) {
                        chosen[i] = Some((key.clone(), *offset));
                        left -= 1;
                    }
                }
            }
        }
        let mut folded = PrefilterBuilder::default();
        for (entry, choice) in all.iter().zip(chosen) {
            let Some((key, key_offset)) = choice else {
                return Ok(None);
            };
            let next = folded.keys.len();
            let id = *folded.key_ids.entry(key.clone()).or_insert(next);
            if id == next {
                if next == PACKED_KEYS {
                    return Ok(None);
                }
                folded.keys.push(key);
                folded.entries.push(Vec::new());
            }
            let entry = Entry {
                key_offset,
                ..entry.clone()
            };
            folded.entries[id].push(entry.clone());
            folded.all.push(entry);
        }
        if !teddy_available(&folded.keys) {
            return Ok(None);
        }
        let mut automaton = folded.build_ac(true)?;
        automaton.folded = true;
        Ok(Some(automaton))
    }

    /// The automaton over the keys; `teddy`: searched by Teddy directly where it runs.
    fn build_ac(self, teddy: bool) -> Result<Automaton, Error> {
        // Where hits come every few bytes, restarting the search after each costs more than
        // the search: one overlapping pass of a DFA, each key firing its own entries, takes
        // over (see `Prefilter::for_each`).
        let mut dense_entries = self.entries.clone();
        for list in &mut dense_entries {
            list.sort_by_key(|e| std::cmp::Reverse(e.literal.len()));
        }
        let dense = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .prefilter(false)
            .build(&self.keys)
            .ok()
            .map(|ac| (ac, dense_entries));
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
        let shifted = self.all.iter().any(|e| e.key_offset > 0);
        let teddy = teddy && teddy_available(&self.keys);
        let search = match teddy
            .then(|| {
                packed::Config::new()
                    .match_kind(packed::MatchKind::LeftmostLongest)
                    .builder()
                    .extend(&self.keys)
                    .build()
            })
            .flatten()
        {
            Some(packed) => KeySearch::Teddy(packed),
            // A full DFA searches large literal sets several times faster than the NFAs the
            // builder picks for them by default; its memory is bounded by the builder's limits.
            None => KeySearch::Automaton(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .build(&self.keys)
                    .or_else(|_| {
                        AhoCorasickBuilder::new()
                            .match_kind(MatchKind::LeftmostLongest)
                            .build(&self.keys)
                    })
                    .map_err(|e| Error::new(ErrorKind::Rules, format!("literal automaton: {e}")))?,
            ),
        };
        let longest_key = self.keys.iter().map(Vec::len).max().unwrap_or(0);
        Ok(Automaton {
            search,
            entries,
            dense,
            shifted,
            folded: false,
            longest_key,
        })
    }
}

/// Whether `aho-corasick`'s packed searcher runs Teddy (its SIMD algorithm) for `keys` on this
/// processor, by the conditions it states: x86-64 with SSSE3 or aarch64, at most 64 keys, and
/// keys of two bytes or more unless there are at most 16. Elsewhere it falls back to
/// Rabin-Karp, slower than the automaton, which is then searched instead.
pub(crate) fn teddy_available(keys: &[Vec<u8>]) -> bool {
    let shortest = keys.iter().map(Vec::len).min().unwrap_or(0);
    if keys.is_empty() || keys.len() > PACKED_KEYS || (shortest < 2 && keys.len() > 16) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("ssse3");
    #[cfg(target_arch = "aarch64")]
    return true;
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    return false;
}

/// Every ASCII-case variant of `bytes` (letters only vary).
pub(crate) fn case_variants(bytes: &[u8]) -> Vec<Vec<u8>> {
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
    /// The automaton, for a few literals.
    short: Option<Automaton>,
    /// The hashed filter, for many.
    long: Option<HashedFilter>,
    /// The literals that count only at word starts, when there are many literals.
    words: Option<WordStartFilter>,
    /// The two-byte literals, apart from `short` when it is folded.
    pairs: Option<Automaton>,
    /// Whether the gate's words are searched here ([`HitKind::Gate`] hits), or left to the gate.
    pub(crate) gates: bool,
}

/// How the keys are searched, leftmost-longest.
#[derive(Debug)]
enum KeySearch {
    /// `aho-corasick`'s SIMD searcher alone, where it runs Teddy: searched directly, it saves
    /// the automaton's overhead on each of the many restarts.
    Teddy(packed::Searcher),
    /// The automaton (with its own prefilter), elsewhere.
    Automaton(AhoCorasick),
}

impl KeySearch {
    fn find(&self, hay: &[u8], from: usize) -> Option<aho_corasick::Match> {
        match self {
            KeySearch::Teddy(packed) => packed.find_in(hay, Span::from(from..hay.len())),
            KeySearch::Automaton(ac) => ac.find(Input::new(hay).span(from..hay.len())),
        }
    }
}

/// A leftmost-longest automaton searched with restarts, and the entries each key fires.
#[derive(Debug)]
struct Automaton {
    search: KeySearch,
    entries: Vec<Vec<Entry>>,
    /// The same keys for one overlapping pass where hits are dense, each firing only its own
    /// entries (`None` if the DFA could not be built within its limits).
    dense: Option<(AhoCorasick, Vec<Vec<Entry>>)>,
    /// Some key is not its literal's prefix: literals are reported in order of their key.
    shifted: bool,
    /// The keys are folded (see [`PrefilterBuilder::folded`]): the search runs over a folded
    /// copy of the text.
    folded: bool,
    /// The length of the longest key: a key that starts in a block of the text ends at most
    /// this many bytes, less one, past it.
    longest_key: usize,
}

/// The automata search the text a block at a time, each block folded right before it is
/// searched: the folded copy is read while it is still in the L1 cache, and the text's own
/// bytes at each hit are still in the L2 cache (over a whole chunk of megabytes, each hit's
/// load from the text missed both). The tests use blocks of a few bytes, so that keys, dense
/// stretches and literals straddle their borders everywhere.
const AUTOMATON_BLOCK: usize = if cfg!(test) { 61 } else { 32 << 10 };

/// Where an automaton's search through one text stands between blocks.
#[derive(Clone, Copy, Debug, Default)]
struct Cursor {
    /// The first position not yet searched.
    pos: usize,
    /// Hits so far.
    hits: usize,
    /// Hits came densely: the rest of the text is searched in one overlapping pass.
    dense: bool,
}

thread_local! {
    /// The folded copy of the text for [`Automaton::folded`] searches, kept between calls.
    static FOLDED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The folded copy of `bytes` for [`Automaton::folded`] searches: every digit becomes `0` and
/// every other byte is ORed with 0x20 (`A`-`Z` become `a`-`z`, as in [`fold`]). `+1` to `+9`
/// are one key then, and `API` and `api` another.
#[inline]
fn fold_byte(b: u8) -> u8 {
    if b.wrapping_sub(b'0') < 10 {
        b'0'
    } else {
        b | 0x20
    }
}

fn fold_bytes(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|&b| fold_byte(b)).collect()
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
    /// Number of keys in the automaton and prefixes in the hashed filter.
    pub(crate) fn keys(&self) -> usize {
        self.short.as_ref().map_or(0, |a| a.entries.len())
            + self.pairs.as_ref().map_or(0, |a| a.entries.len())
            + self.long.as_ref().map_or(0, HashedFilter::len)
            + self.words.as_ref().map_or(0, WordStartFilter::len)
    }

    /// How the keys are split between the searchers, for `DetectorSet::plan`.
    pub(crate) fn layout(&self) -> String {
        let mut parts = Vec::new();
        if let Some(words) = &self.words {
            parts.push(format!("{} at word starts", words.len()));
        }
        if let Some(long) = &self.long {
            parts.push(format!("{} hashed", long.len()));
        }
        for short in [&self.short, &self.pairs].into_iter().flatten() {
            let how = match short.search {
                KeySearch::Teddy(_) => "Teddy",
                KeySearch::Automaton(_) => "automaton",
            };
            let folded = if short.folded { " (folded)" } else { "" };
            parts.push(format!("{} by {how}{folded}", short.entries.len()));
        }
        parts.join(", ")
    }

    /// Whether hits may come out of order of start (see [`Prefilter::for_each`]).
    pub(crate) fn unordered(&self) -> bool {
        self.long.is_some()
            || self.words.is_some()
            || self.pairs.is_some()
            || self
                .short
                .as_ref()
                .is_some_and(|a| a.dense.is_some() || a.shifted)
    }

    /// Calls `hit(start, end, target)` for every occurrence of every literal in `hay`, in order
    /// of start, but for [`Prefilter::unordered`]: the hashed filter reports in order of the
    /// window each literal is found by, the automaton in order of each literal's key, and a
    /// dense stretch of hits in order of their end.
    #[cfg(test)]
    pub(crate) fn for_each(&self, hay: &[u8], hit: impl FnMut(usize, usize, &LiteralTarget)) {
        self.for_each_with_tokens(hay, None, hit);
    }

    /// [`Prefilter::for_each`], and when the literals searched at word starts classified the
    /// text, the token and word masks of each of its 64-byte blocks appended to `tokens`
    /// (which is then left empty otherwise).
    pub(crate) fn for_each_with_tokens(
        &self,
        hay: &[u8],
        tokens: Option<&mut Vec<crate::scan::BlockMasks>>,
        mut hit: impl FnMut(usize, usize, &LiteralTarget),
    ) {
        if let Some(words) = &self.words {
            words.for_each(hay, tokens, &mut hit);
        }
        if let Some(long) = &self.long {
            long.for_each(hay, &mut hit);
        }
        let automata = [&self.short, &self.pairs];
        if automata.iter().all(|a| a.is_none()) {
            return;
        }
        let present = || automata.iter().filter_map(|a| a.as_ref());
        let longest = present().map(|a| a.longest_key).max().unwrap_or(0);
        let folding = present().any(|a| a.folded);
        FOLDED.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            buffer.clear();
            let mut cursors = [Cursor::default(); 2];
            let mut block_end = 0;
            while block_end < hay.len() {
                block_end = hay.len().min(block_end + AUTOMATON_BLOCK);
                // A key starting in the block ends within the searched text.
                let searched = hay.len().min(block_end + longest.saturating_sub(1));
                if folding {
                    let done = buffer.len();
                    buffer.extend(hay[done..searched].iter().map(|&b| fold_byte(b)));
                }
                for (automaton, cursor) in present().zip(&mut cursors) {
                    let search = if automaton.folded {
                        &buffer[..searched]
                    } else {
                        &hay[..searched]
                    };
                    automaton.search_block(search, hay, block_end, cursor, &mut hit);
                }
            }
        });
    }
}

impl Automaton {
    /// Searches the keys in `search` (the text, or its folded copy, up to where a key starting
    /// before `block_end` would end) from `cursor` on, and reports the literals whose key
    /// starts before `block_end` found in `hay` (the text).
    fn search_block(
        &self,
        search: &[u8],
        hay: &[u8],
        block_end: usize,
        cursor: &mut Cursor,
        hit: &mut impl FnMut(usize, usize, &LiteralTarget),
    ) {
        while !cursor.dense && cursor.pos < block_end {
            let Some(m) = self.search.find(search, cursor.pos) else {
                cursor.pos = block_end;
                return;
            };
            let start = m.start();
            if start >= block_end {
                // Found again, whole, from the next block.
                cursor.pos = block_end;
                return;
            }
            for entry in &self.entries[m.pattern().as_usize()] {
                entry.report_key(hay, start, hit);
            }
            cursor.pos = start + 1;
            cursor.hits += 1;
            if cursor.hits >= DENSE_HITS && cursor.pos < cursor.hits * DENSE_SPACING {
                // Hits are dense here (`AKIAAKIA...`): one pass over the rest.
                cursor.dense = self.dense.is_some();
            }
        }
        if let Some((dense, entries)) = self.dense.as_ref().filter(|_| cursor.dense) {
            if cursor.pos < block_end {
                let span = Input::new(search).span(cursor.pos..search.len());
                for m in dense.find_overlapping_iter(span) {
                    if m.start() < block_end {
                        for entry in &entries[m.pattern().as_usize()] {
                            entry.report_key(hay, m.start(), hit);
                        }
                    }
                }
                cursor.pos = block_end;
            }
        }
    }
}

impl Entry {
    /// Reports the literal if its automaton key, found at `key_start`, is part of it.
    #[inline]
    fn report_key(
        &self,
        hay: &[u8],
        key_start: usize,
        hit: &mut impl FnMut(usize, usize, &LiteralTarget),
    ) {
        if let Some(start) = key_start.checked_sub(self.key_offset) {
            self.report(hay, start, hit);
        }
    }

    /// Calls `hit` if the entry's literal occurs at `start`.
    #[inline]
    fn report(&self, hay: &[u8], start: usize, hit: &mut impl FnMut(usize, usize, &LiteralTarget)) {
        if start < hay.len() && self.head.matches(eight_at(hay, start)) {
            self.report_past_head(hay, start, hit);
        }
    }

    /// Calls `hit` if the entry's literal occurs at `start`, where the text's first eight bytes
    /// are known to match [`Entry::head`] (missing bytes of the text read as zero).
    #[inline]
    fn report_past_head(
        &self,
        hay: &[u8],
        start: usize,
        hit: &mut impl FnMut(usize, usize, &LiteralTarget),
    ) {
        let end = start + self.literal.len();
        let Some(text) = hay.get(start..end) else {
            return;
        };
        if self.literal.len() > 8 {
            let (text, literal) = (&text[8..], &self.literal[8..]);
            let same = if self.case_insensitive {
                text.eq_ignore_ascii_case(literal)
            } else {
                text == literal
            };
            if !same {
                return;
            }
        }
        hit(start, end, &self.target);
    }
}

/// Bits of the hashed filter's table: 2^20 bits, 128 KiB, which stays in a core's L2 cache.
const FILTER_BITS: u32 = 20;

/// Words of the bit table.
const FILTER_WORDS: usize = (1 << FILTER_BITS) / 64;

/// A hasher for the windows of the hashed filter (one multiplication).
#[derive(Default)]
struct WindowHasher(u64);

impl std::hash::Hasher for WindowHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (x ^ (x >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The literals a window can belong to, each with the offset of the window in it.
type WindowMap = HashMap<u64, Vec<(Entry, usize)>, std::hash::BuildHasherDefault<WindowHasher>>;

/// Widths of the windows literals are found by, longest first: a literal is represented by a
/// window of the first width it is at least as long as.
const WIDTHS: [usize; 3] = [8, 4, 3];

/// The first pass for many literals.
///
/// Each literal (of three bytes or more) is represented by its rarest window (by a
/// byte-frequency heuristic) of eight bytes if it is that long, else of four; a literal of
/// three bytes by every four-byte string it starts. At every position of the text, the next
/// eight bytes and the next four are hashed into one bit table: two loads and two tests per
/// byte, whatever the number of literals. Only where a bit is set are the windows looked up and
/// the literals compared. Eight-byte windows keep the common words inside long literals (`port`
/// in `databaseport`) from firing. An Aho-Corasick DFA over thousands of keys outgrows the
/// caches and runs at a third of this speed.
struct HashedFilter {
    bits: Box<[u64; FILTER_WORDS]>,
    /// The windows of each width of [`WIDTHS`], as little-endian integers.
    windows: [WindowMap; 3],
}

impl std::fmt::Debug for HashedFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashedFilter")
            .field("windows", &self.len())
            .finish_non_exhaustive()
    }
}

#[inline(always)]
fn hash8(x: u64) -> usize {
    // The high bits of the product depend on every bit of `x`.
    (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FILTER_BITS)) as usize
}

#[inline(always)]
fn hash4(x: u32) -> usize {
    // Another multiplier than `hash8`'s, so that the two kinds of bits do not coincide.
    (u64::from(x).wrapping_mul(0xC2B2_AE3D_27D4_EB4F) >> (64 - FILTER_BITS)) as usize
}

#[inline(always)]
fn test(bits: &[u64; FILTER_WORDS], i: usize) -> bool {
    bits[(i / 64) % FILTER_WORDS] & (1 << (i % 64)) != 0
}

fn set(bits: &mut [u64], i: usize) {
    bits[i / 64] |= 1 << (i % 64);
}

/// Every byte OR 0x20: `A`-`Z` become `a`-`z` (and a few symbols their neighbours). Keys and
/// text are folded alike, so a folded match is necessary for a real one; the literal is then
/// compared exactly.
#[inline(always)]
fn fold(x: u64) -> u64 {
    x | 0x2020_2020_2020_2020
}

/// The little-endian `u64` of the eight bytes of `hay` from `at` (missing ones are zero).
#[inline(always)]
fn eight_at(hay: &[u8], at: usize) -> u64 {
    match hay.get(at..at + 8) {
        Some(eight) => u64::from_le_bytes(eight.try_into().unwrap_or_default()),
        None => window_u64(hay.get(at..).unwrap_or_default()),
    }
}

/// The little-endian `u64` of up to eight bytes (missing ones are zero).
fn window_u64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = bytes.len().min(8);
    word[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(word)
}

/// The low `n` bytes of `x`.
#[inline(always)]
fn low_bytes(x: u64, n: usize) -> u64 {
    if n >= 8 {
        x
    } else {
        x & ((1u64 << (8 * n)) - 1)
    }
}

/// How common a byte is in text, code and logs (higher is more common): a rough ranking by
/// class, English letter frequency first.
fn byte_rank(b: u8) -> u32 {
    const LETTERS: &[u8] = b"etaoinsrhldcumfpgwybvkxjqz";
    match b {
        b' ' => 255,
        b'a'..=b'z' => {
            let i = LETTERS
                .iter()
                .position(|&l| l == b)
                .unwrap_or(LETTERS.len());
            220 - 4 * i as u32
        }
        b'\n' | b'\t' | b'.' | b',' | b'"' | b'=' | b'(' | b')' | b'/' | b'_' | b':' | b'-' => 130,
        b'0'..=b'9' => 120,
        b'A'..=b'Z' => 100,
        b'!'..=b'~' => 80,
        _ => 40,
    }
}

/// The offset of the rarest `width`-byte window of `literal` (at least that long).
fn rarest_window(literal: &[u8], width: usize, case_insensitive: bool) -> usize {
    (0..=literal.len() - width)
        .min_by_key(|&i| window_rank(&literal[i..i + width], case_insensitive))
        .unwrap_or(0)
}

/// How common a window of a literal is in text (lower is rarer). A window of one byte repeated
/// (`----` of `-----BEGIN`, `0000`, four spaces) comes last, whatever its bytes: a run of that
/// byte (a rule of dashes, zero padding, indentation) holds it at every position.
fn window_rank(window: &[u8], case_insensitive: bool) -> u32 {
    if window.len() > 1 && window.iter().all(|&b| b == window[0]) {
        return REPEATED_RANK + window_rank(&window[..1], case_insensitive);
    }
    let rank: u32 = window.iter().map(|&b| byte_rank(b)).sum();
    // Case variants each set a bit: fewer letters, fewer bits.
    let letters = window.iter().filter(|b| b.is_ascii_alphabetic()).count() as u32;
    rank + if case_insensitive { 20 * letters } else { 0 }
}

impl HashedFilter {
    fn new(entries: Vec<Entry>) -> Self {
        let mut windows: [WindowMap; 3] = Default::default();
        let mut bits: Box<[u64; FILTER_WORDS]> = Box::new([0; FILTER_WORDS]);
        for entry in entries {
            let len = entry.literal.len();
            let Some(slot) = WIDTHS.iter().position(|&w| w <= len) else {
                continue; // never given: shorter literals go to the automaton
            };
            let width = WIDTHS[slot];
            let offset = rarest_window(&entry.literal, width, entry.case_insensitive);
            // Windows are folded (every byte OR 0x20, which maps A-Z to a-z): one key serves
            // every case of a case-insensitive literal, instead of one per case variant, and
            // the text is folded the same way; each literal is then compared exactly.
            let key = low_bytes(
                fold(window_u64(&entry.literal[offset..offset + width])),
                width,
            );
            windows[slot]
                .entry(key)
                .or_default()
                .push((entry.clone(), offset));
            match width {
                8 => set(&mut bits[..], hash8(key)),
                4 => set(&mut bits[..], hash4(key as u32)),
                _ => (0..=255u32).for_each(|b| {
                    set(
                        &mut bits[..],
                        hash4(fold(u64::from(key as u32 | b << 24)) as u32),
                    )
                }),
            }
        }
        for map in &mut windows {
            for list in map.values_mut() {
                list.sort_by_key(|(e, _)| std::cmp::Reverse(e.literal.len()));
            }
        }
        HashedFilter { bits, windows }
    }

    fn len(&self) -> usize {
        self.windows.iter().map(HashMap::len).sum()
    }

    fn for_each(&self, hay: &[u8], hit: &mut impl FnMut(usize, usize, &LiteralTarget)) {
        let four = !self.windows[1].is_empty() || !self.windows[2].is_empty();
        let eight = !self.windows[0].is_empty();
        match (eight, four) {
            (true, true) => self.search::<true, true>(hay, hit),
            (true, false) => self.search::<true, false>(hay, hit),
            (false, true) => self.search::<false, true>(hay, hit),
            (false, false) => {}
        }
    }

    fn search<const EIGHT: bool, const FOUR: bool>(
        &self,
        hay: &[u8],
        hit: &mut impl FnMut(usize, usize, &LiteralTarget),
    ) {
        let bits = &*self.bits;
        let mut i = 0;
        // Eight positions per round, from two eight-byte loads; the tests are gathered into a
        // mask without branches, so that frequent hits cost no mispredictions.
        while i + 16 <= hay.len() {
            let mut lo = [0u8; 8];
            lo.copy_from_slice(&hay[i..i + 8]);
            let mut hi = [0u8; 8];
            hi.copy_from_slice(&hay[i + 8..i + 16]);
            let (lo, hi) = (u64::from_le_bytes(lo), u64::from_le_bytes(hi));
            // Per position, two bits: which tests passed (bit 0 the eight-byte window, 1 the
            // four-byte one, for four and three-byte literals), gathered without branches.
            let mut mask = 0u32;
            for k in 0..8 {
                let x = fold(if k == 0 {
                    lo
                } else {
                    (lo >> (8 * k)) | (hi << (64 - 8 * k))
                });
                let mut p = 0u32;
                if EIGHT {
                    p |= u32::from(test(bits, hash8(x)));
                }
                if FOUR {
                    p |= u32::from(test(bits, hash4(x as u32))) << 1;
                }
                mask |= p << (2 * k);
            }
            while mask != 0 {
                let k = mask.trailing_zeros() as usize / 2;
                let passed = (mask >> (2 * k)) as u8 & 0b11;
                mask &= !(0b11 << (2 * k));
                self.verify(hay, i + k, eight_at(hay, i + k), passed, hit);
            }
            i += 8;
        }
        // The last positions: look up directly.
        while i + 2 < hay.len() {
            self.verify(hay, i, eight_at(hay, i), 0b11, hit);
            i += 1;
        }
    }

    #[inline(never)]
    fn verify(
        &self,
        hay: &[u8],
        at: usize,
        x: u64,
        passed: u8,
        hit: &mut impl FnMut(usize, usize, &LiteralTarget),
    ) {
        // The test each width's windows set bits for (see `search`).
        const TEST: [u8; 3] = [0b01, 0b10, 0b10];
        for ((map, width), test) in self.windows.iter().zip(WIDTHS).zip(TEST) {
            if map.is_empty() || passed & test == 0 {
                continue;
            }
            if let Some(list) = map.get(&low_bytes(fold(x), width)) {
                for (entry, offset) in list {
                    if let Some(start) = at.checked_sub(*offset) {
                        entry.report(hay, start, hit);
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

    /// Every (start, end, pattern) where a literal occurs, the obvious way.
    fn naive(literals: &[(Vec<u8>, bool)], hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for (p, (lit, ci)) in literals.iter().enumerate() {
            for s in 0..hay.len() {
                let Some(text) = hay.get(s..s + lit.len()) else {
                    break;
                };
                let same = if *ci {
                    text.eq_ignore_ascii_case(lit)
                } else {
                    text == lit.as_slice()
                };
                if same {
                    out.push((s, s + lit.len(), p));
                }
            }
        }
        out.sort();
        out
    }

    /// The literals as bytes, with whether each is case-insensitive.
    fn owned(list: &[(&str, bool)]) -> Vec<(Vec<u8>, bool)> {
        list.iter()
            .map(|(l, ci)| (l.as_bytes().to_vec(), *ci))
            .collect()
    }

    /// A builder given every literal, each for the pattern of its place in the list.
    fn builder(literals: &[(Vec<u8>, bool)]) -> PrefilterBuilder {
        let mut b = PrefilterBuilder::default();
        for (p, (lit, ci)) in literals.iter().enumerate() {
            b.add(lit, *ci, target(p));
        }
        b
    }

    /// Asserts that `filter` reports in `hay` exactly what the naive search finds.
    fn assert_like_naive(filter: &Prefilter, literals: &[(Vec<u8>, bool)], hay: &[u8]) {
        let mut hits = Vec::new();
        filter.for_each(hay, |s, e, t| hits.push((s, e, t.pattern)));
        hits.sort();
        assert_eq!(
            hits,
            naive(literals, hay),
            "{:?}",
            String::from_utf8_lossy(hay)
        );
    }

    /// At least `len` bytes of `pieces` picked at random (xorshift on `state`).
    fn from_pieces(pieces: &[&[u8]], len: usize, state: &mut u64) -> Vec<u8> {
        let mut hay = Vec::new();
        while hay.len() < len {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            hay.extend_from_slice(pieces[(*state % pieces.len() as u64) as usize]);
        }
        hay
    }

    #[test]
    fn hashed_filter_reports_exactly_what_a_naive_search_finds() {
        // Enough literals for the hashed filter, of every width (two bytes to long), some
        // case-insensitive, some sharing windows or prefixes.
        let mut literals: Vec<(Vec<u8>, bool)> = Vec::new();
        let words = [
            "token", "secret", "api", "key", "hook", "db", "pw", "auth", "id", "x",
        ];
        for (i, a) in words.iter().enumerate() {
            for (j, b) in words.iter().enumerate() {
                let lit = format!("{a}_{b}{}", if (i + j) % 3 == 0 { "=" } else { "" });
                literals.push((lit.into_bytes(), (i * j) % 4 == 1));
            }
        }
        for short in ["AC", "//", "R_", "sk-", "xox", "ghp_", "-----BEGIN "] {
            literals.push((short.as_bytes().to_vec(), false));
        }
        literals.push((b"password".to_vec(), true));
        literals.push((b"Pass".to_vec(), true));
        let filter = builder(&literals).build().unwrap().unwrap();
        assert!(filter.unordered(), "the large set uses the hashed filter");
        // Text made of the literals' pieces, in mixed case, with separators, so that there are
        // true hits, near misses and literals cut by the end.
        let pieces: Vec<&[u8]> = vec![
            b"token",
            b"TOKEN",
            b"_",
            b"secret",
            b"=",
            b" ",
            b"API",
            b"key",
            b"Key",
            b"//",
            b"AC",
            b"R",
            b"_",
            b"sk-",
            b"xo",
            b"x",
            b"ghp_",
            b"-----BEGIN ",
            b"PassWord",
            b"\n",
            b"id",
            b"db_pw=",
            b"hook_auth",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in [0usize, 1, 2, 3, 7, 8, 15, 16, 17, 100, 5000] {
            for _ in 0..20 {
                let mut hay = from_pieces(&pieces, len, &mut state);
                hay.truncate(len);
                assert_like_naive(&filter, &literals, &hay);
            }
        }
    }

    #[test]
    fn keys_from_inside_literals_report_exactly_what_a_naive_search_finds() {
        // Few literals (the automaton), several entering by a window other than their first
        // bytes, some sharing that window or its suffix key.
        let literals = owned(&[
            ("-----BEGIN ", false),
            ("BEGIN", false),
            ("password", true),
            ("passwd", true),
            ("pwd", true),
            ("github_pat_", false),
            ("ghp_", false),
            ("sk_live_", false),
            ("rk_live_", false),
            ("live_", false),
            ("https://hooks.slack.com/", false),
            ("sk-", false),
            ("ss", false),
        ]);
        let filter = builder(&literals).build().unwrap().unwrap();
        let short = filter.short.as_ref().unwrap();
        assert!(short.shifted && filter.long.is_none());
        // `ss`, two bytes, is searched apart from the longer literals.
        assert_eq!(filter.pairs.as_ref().map(|p| p.entries.len()), Some(1));
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            matches!(short.search, KeySearch::Teddy(_)),
            std::is_x86_feature_detected!("ssse3")
        );
        // The same keys searched by the automaton, as where Teddy is not available.
        let automaton_only = Prefilter {
            short: Some(builder(&literals).build_ac(false).unwrap()),
            long: None,
            words: None,
            pairs: None,
            gates: false,
        };
        assert!(matches!(
            automaton_only.short.as_ref().unwrap().search,
            KeySearch::Automaton(_)
        ));
        let pieces: Vec<&[u8]> = vec![
            b"-----",
            b"-",
            b"BEGIN ",
            b"BEG",
            b"PassWD",
            b"pass",
            b"word",
            b"p",
            b"wd",
            b"ss",
            b"github",
            b"_pat_",
            b"gh",
            b"p_",
            b"sk_",
            b"rk",
            b"_live_",
            b"https://",
            b"hooks",
            b".slack.com/",
            b" ",
            b"\n",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for len in [0usize, 1, 3, 5, 11, 16, 17, 40, 300, 5000] {
            for _ in 0..30 {
                let hay = from_pieces(&pieces, len, &mut state);
                // Cut at both ends, so literals lose their first or last bytes.
                let cut = (state % 4) as usize;
                let hay = &hay[cut.min(hay.len())..len.max(cut).min(hay.len())];
                for filter in [&filter, &automaton_only] {
                    assert_like_naive(filter, &literals, hay);
                }
            }
        }
    }

    #[test]
    fn many_case_insensitive_words_are_searched_folded_and_miss_nothing() {
        // Context words whose case variants would make 8 Teddy keys each.
        let literals = owned(&[
            ("pan", true),
            ("gst", true),
            ("gstin", true),
            ("income tax", true),
            ("aadhaar", true),
            ("permanent account number", true),
            ("PAN-", false),
        ]);
        let filter = builder(&literals).build().unwrap().unwrap();
        if teddy_available(&[b"ab".to_vec()]) {
            assert!(filter.short.as_ref().unwrap().folded, "{}", filter.layout());
        }
        let pieces: Vec<&[u8]> = vec![
            b"PAN",
            b"pAn",
            b"pa",
            b"n",
            b"-",
            b"GST",
            b"gs",
            b"tin",
            b"IN",
            b"Income",
            b" ",
            b"TAX",
            b"tax",
            b"aadh",
            b"AAR",
            b"permanent",
            b"Account",
            b"NUMBER",
            b"1",
            b"\n",
        ];
        let mut state = 0x1234_5678_9abc_def1u64;
        for len in [0usize, 2, 9, 33, 64, 65, 500, 5000] {
            for _ in 0..20 {
                let hay = from_pieces(&pieces, len, &mut state);
                assert_like_naive(&filter, &literals, &hay);
            }
        }
    }

    #[test]
    fn dense_hits_switch_to_one_pass_and_miss_nothing() {
        let literals = owned(&[
            ("AKIA", false),
            ("KIAA", false),
            ("sk-", false),
            ("sk-ant-", false),
            ("ss", false),
            ("password", true),
            ("AAAA", false),
        ]);
        let filter = builder(&literals).build().unwrap().unwrap();
        assert!(filter.short.as_ref().unwrap().dense.is_some());
        // Sparse text first (searched with restarts), then a dense stretch, then sparse again.
        let mut hay = b"a sk-ant-x PassWord b ".repeat(50);
        // A key at every position: the pass must take over exactly where the restarts stop.
        hay.extend(b"A".repeat(3000));
        hay.extend(b"AKIA".repeat(2000));
        hay.extend(b"sss sk-ant-sk- PASSWORD ".repeat(300));
        hay.extend(b"x ".repeat(5000));
        hay.extend(b"password");
        assert_like_naive(&filter, &literals, &hay);
    }

    /// Literals against text of their own bytes and the bytes that fold onto them (`_` and
    /// DEL, `1` and 0x11, a space and NUL, either case): each literal's first eight bytes are
    /// compared in one step ([`Head`]), which must be as exact as comparing them one by one,
    /// in every filter (Teddy at every position, over folded text, at word starts, hashed).
    #[test]
    fn one_step_comparisons_are_exact_on_bytes_that_fold_alike() {
        let alphabet: &[u8] = b"aA_\x7f1\x11 \x00-\rpP";
        let mut rng = crate::test_rng::Rng::new(0x9E37_79B9_7F4A_7C15);
        let mut next = |n: usize| (rng.next() % n as u64) as usize;
        for round in 0..200 {
            // Few literals (one Teddy), many case-insensitive ones (folded Teddy), or enough
            // for the word-start and hashed filters.
            let count = [3, 20, 80][round % 3];
            let literals: Vec<(Vec<u8>, bool)> = (0..count)
                .map(|_| {
                    let len = 2 + next(11);
                    let lit: Vec<u8> = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
                    let ci = next(2) == 0;
                    (if ci { lit.to_ascii_lowercase() } else { lit }, ci)
                })
                .collect();
            let b = if round % 2 == 0 {
                // As the built-ins' vendor prefixes and context words enter: at word starts.
                let mut b = PrefilterBuilder::default();
                for (p, (lit, ci)) in literals.iter().enumerate() {
                    b.add_at_word_start(lit, *ci, target(p));
                }
                b
            } else {
                builder(&literals)
            };
            let Some(filter) = b.build().unwrap() else {
                continue;
            };
            let hay: Vec<u8> = (0..300).map(|_| alphabet[next(alphabet.len())]).collect();
            let mut hits = Vec::new();
            filter.for_each(&hay, |s, e, t| hits.push((s, e, t.pattern)));
            let all = naive(&literals, &hay);
            // Every hit is an occurrence; every occurrence is a hit, but that of a word-start
            // literal inside a word, which may be left out.
            let inside_word =
                |s: usize| round % 2 == 0 && s > 0 && word_start::is_word_byte(hay[s - 1]);
            let missed: Vec<_> = all
                .iter()
                .filter(|&&(s, e, p)| !inside_word(s) && !hits.contains(&(s, e, p)))
                .collect();
            let false_hits: Vec<_> = hits.iter().filter(|h| !all.contains(h)).collect();
            assert!(
                missed.is_empty() && false_hits.is_empty(),
                "round {round}: missed {missed:?}, false {false_hits:?}: {literals:?} in {:?}",
                String::from_utf8_lossy(&hay)
            );
        }
    }

    /// A run of one byte (a rule of dashes) holds a window of that byte at every position: a
    /// literal that begins with dashes enters by a window with its letters in, in each search.
    #[test]
    fn a_window_of_one_byte_repeated_is_never_a_key() {
        let literals = [
            &b"-----BEGIN "[..],
            b"-----BEGIN PGP PRIVATE KEY BLOCK-----",
            b"0000-x",
        ];
        let entries: Vec<Entry> = literals
            .iter()
            .enumerate()
            .map(|(p, l)| Entry::new(l.to_vec().into(), false, target(p), 0, false))
            .collect();
        let folded = PrefilterBuilder::folded(&entries, FOLDED_KEY_WINDOW)
            .unwrap()
            .unwrap();
        let mut b = PrefilterBuilder::default();
        for (p, l) in literals.iter().enumerate() {
            b.add(l, false, target(p));
        }
        let folded_keys: Vec<Vec<u8>> = folded
            .entries
            .iter()
            .flatten()
            .map(|e| e.literal[e.key_offset..e.key_offset + FOLDED_KEY_WINDOW].to_vec())
            .collect();
        assert_eq!(folded_keys.len(), literals.len());
        for key in folded_keys.iter().chain(&b.keys) {
            assert!(
                key.iter().any(|&k| k != key[0]),
                "{:?}",
                String::from_utf8_lossy(key)
            );
        }
        for width in [3, 4, 8] {
            let at = rarest_window(literals[1], width, true);
            let w = &literals[1][at..at + width];
            assert!(w.iter().any(|&b| b != w[0]), "{width}");
        }
    }

    #[test]
    fn variants() {
        assert_eq!(case_variants(b"a-b").len(), 4);
        assert!(case_variants(b"pw").contains(&b"pW".to_vec()));
    }
}
