//! What a confirmed match becomes: the span of its value, the validator's and the context
//! words' verdict, the finding itself (masked, fingerprinted), and the `min_count` gate. Shared
//! by the fast path (`scan`) and the reference path, which must agree on every finding; this
//! module never searches text for candidates.

use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};

use crate::compile::Pattern;
use crate::finding::{self, Confidence, Finding};
use crate::fingerprint::Fingerprinter;
use crate::validate::Verdict;

/// A match accepted by its pattern: (pattern, value start, value end, confidence, whether it
/// starts in the range the current chunk owns).
pub(crate) type Hit = (usize, usize, usize, Confidence, bool);

/// Where the findings of two different built-in detectors overlap, the more specific one wins
/// (users' rules all report, each for itself): the one
/// with the longer value (an IBAN over the card-like digits inside it, a connection string over
/// the password in it), then the one of higher confidence; at equal length and confidence both
/// stay. `hits` is sorted by start.
pub(crate) fn resolve_overlaps(hits: &mut Vec<Hit>, patterns: &[Pattern]) {
    if hits.len() < 2 {
        return;
    }
    let mut beaten = vec![false; hits.len()];
    for i in 0..hits.len() {
        let (pi, si, ei, ci, _) = hits[i];
        for j in i + 1..hits.len() {
            let (pj, sj, ej, cj, _) = hits[j];
            if sj >= ei {
                break;
            }
            if patterns[pi].id == patterns[pj].id || !patterns[pi].builtin || !patterns[pj].builtin
            {
                continue;
            }
            let (a, b) = ((ei - si, ci), (ej - sj, cj));
            if a > b {
                beaten[j] = true;
            } else if b > a {
                beaten[i] = true;
            }
        }
    }
    let mut k = 0;
    hits.retain(|_| {
        k += 1;
        !beaten[k - 1]
    });
}

/// Holds the findings of patterns with a `min_count` until the pattern reaches it in the item,
/// then lets them and every later one through; [`MinCountGate::reset`] drops what is still held.
#[derive(Debug)]
pub(crate) struct MinCountGate {
    /// Findings per pattern in the current item.
    counts: Vec<usize>,
    held: Vec<(usize, Finding)>,
}

impl MinCountGate {
    pub(crate) fn new(patterns: usize) -> Self {
        MinCountGate {
            counts: vec![0; patterns],
            held: Vec::new(),
        }
    }

    /// Starts a new item: counts at zero, nothing held.
    pub(crate) fn reset(&mut self) {
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.held.clear();
    }

    /// Gives `finding` of pattern `p`, which needs `min` findings in the item, to `out` if the
    /// pattern has reached `min` (with the ones held before it, the first time), else holds it.
    pub(crate) fn offer(
        &mut self,
        p: usize,
        min: usize,
        finding: Finding,
        out: &mut dyn FnMut(Finding),
    ) {
        self.counts[p] += 1;
        if self.counts[p] < min {
            self.held.push((p, finding));
            return;
        }
        if self.counts[p] == min {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
                .into_iter()
                .partition(|(q, _)| *q == p);
            self.held = rest;
            mine.into_iter().for_each(|(_, f)| out(f));
        }
        out(finding);
    }

    /// Heap bytes of the counts (held findings belong to the caller's findings).
    pub(crate) fn memory_usage(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<usize>()
    }
}

/// The finding for `value`, found at absolute offset `start`.
pub(crate) fn make_finding(
    pattern: &Pattern,
    value: &[u8],
    start: usize,
    confidence: Confidence,
    (line, column): (u64, u64),
    fingerprints: &Fingerprinter,
) -> Finding {
    Finding {
        detector: String::from(&*pattern.id),
        category: pattern.category,
        confidence,
        start,
        end: start + value.len(),
        line,
        column,
        member: None,
        location: None,
        masked: finding::mask(pattern.mask, value),
        fingerprint: fingerprints.of(&pattern.normalize.apply(value)),
        allowed: false,
        ocr: false,
    }
}

/// The regex restricted to ASCII ([`crate::compile::LazyRegex::ascii`]) with its cache and
/// captures: it resolves the captures of matches in ASCII text.
pub(crate) type AsciiCaptures<'a> = Option<(&'a meta::Regex, &'a mut (meta::Cache, Captures))>;

/// The span of the value to report: the `secret` group if the pattern has one, else the match.
pub(crate) fn value_span(
    regex: &meta::Regex,
    cache: &mut meta::Cache,
    captures: &mut Option<&mut Captures>,
    ascii: &mut AsciiCaptures<'_>,
    pattern: &Pattern,
    input: &Input<'_>,
    m: regex_automata::Match,
) -> (usize, usize) {
    if let (Some(group), Some(caps)) = (pattern.secret_group, captures.as_deref_mut()) {
        let input = input
            .clone()
            .span(m.start()..m.end())
            .anchored(Anchored::Yes);
        // The match and the bytes either side of it (which word assertions look at) in
        // ASCII: the ASCII regex captures as the full one would.
        let hay = input.haystack();
        let around = &hay[m.start().saturating_sub(1)..hay.len().min(m.end() + 1)];
        if let Some((twin, (twin_cache, twin_caps))) = ascii.as_mut().filter(|_| around.is_ascii())
        {
            twin.search_captures_with(twin_cache, &input, twin_caps);
            if let Some(span) = twin_caps.get_group(group) {
                return (span.start, span.end);
            }
        }
        regex.search_captures_with(cache, &input, caps);
        if let Some(span) = caps.get_group(group) {
            return (span.start, span.end);
        }
    }
    (m.start(), m.end())
}

/// Runs the validator and the context check on a match; the value is `win[vs..ve]`.
pub(crate) fn accept(
    pattern: &Pattern,
    win: &[u8],
    start: usize,
    end: usize,
    vs: usize,
    ve: usize,
) -> Option<Confidence> {
    if vs >= ve {
        return None;
    }
    let mut confidence = pattern.confidence;
    if let Some(validator) = pattern.validator {
        match validator.check(&win[vs..ve]) {
            Verdict::Reject => return None,
            Verdict::Accept => {}
            Verdict::AcceptAs(c) => confidence = c,
        }
    }
    if let Some(ctx) = &pattern.context {
        let from = start.saturating_sub(ctx.window);
        let to = win.len().min(end + ctx.window);
        if !has_context_word(ctx, win, from, to) {
            return None;
        }
    }
    Some(confidence)
}

#[inline]
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether position `i` of `win` is at a word boundary (ASCII).
pub(crate) fn is_boundary(win: &[u8], i: usize) -> bool {
    let before = i > 0 && is_word_byte(win[i - 1]);
    let after = i < win.len() && is_word_byte(win[i]);
    before != after || (!before && !after)
}

/// Whether a context word stands, as a whole word, in `win[from..to]`: case-insensitive, and a
/// word that begins (ends) with a letter or digit must not have one just before (after) it, so
/// that `lic` inside `public` is not context. Bytes of non-ASCII letters count as letters.
pub(crate) fn has_context_word(
    ctx: &crate::compile::Context,
    win: &[u8],
    from: usize,
    to: usize,
) -> bool {
    ctx.words
        .find_overlapping_iter(&win[from..to])
        .any(|m| is_whole_context_word(win, from + m.start(), from + m.end()))
}

/// Whether the context word found at `s..e` of `win` stands as a whole word (see
/// [`has_context_word`]). In scripts written without spaces between words (Chinese, Japanese;
/// Korean, whose particles join the word before them), a word has no boundary to look for: a
/// context word that begins (ends) with such a character counts whatever stands before (after)
/// it (`我的身份证号码是`).
#[inline]
pub(crate) fn is_whole_context_word(win: &[u8], s: usize, e: usize) -> bool {
    let letter = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let open = !letter(win[s]) || s == 0 || !letter(win[s - 1]) || unspaced_at(&win[s..e]);
    let close =
        !letter(win[e - 1]) || e == win.len() || !letter(win[e]) || unspaced_before(&win[s..e]);
    open && close
}

/// Whether `c` belongs to a script written without spaces between words: Han, Hiragana,
/// Katakana, Hangul, Thai, Lao, Khmer, Myanmar.
pub(crate) fn is_unspaced_script(c: char) -> bool {
    matches!(u32::from(c),
        0x0E00..=0x0EFF // Thai, Lao
        | 0x1000..=0x109F // Myanmar
        | 0x1100..=0x11FF // Hangul Jamo
        | 0x1780..=0x17FF // Khmer
        | 0x2E80..=0x2FDF // CJK radicals
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x3130..=0x318F // Hangul compatibility Jamo
        | 0x31F0..=0x31FF // Katakana extensions
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFF66..=0xFF9F // half-width Katakana
        | 0x20000..=0x3134F) // CJK extensions B to G
}

/// Whether the first character of `word` is of a script without spaces.
fn unspaced_at(word: &[u8]) -> bool {
    let head = &word[..word.len().min(4)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
    };
    text.chars().next().is_some_and(is_unspaced_script)
}

/// Whether the last character of `word` is of a script without spaces.
fn unspaced_before(word: &[u8]) -> bool {
    let tail = &word[word.len().saturating_sub(4)..];
    // The last character starts at the last byte that is not a continuation byte.
    let start = tail.iter().rposition(|&b| b & 0xC0 != 0x80).unwrap_or(0);
    std::str::from_utf8(&tail[start..])
        .ok()
        .and_then(|t| t.chars().next())
        .is_some_and(is_unspaced_script)
}
