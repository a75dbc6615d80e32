//! The reference path: every pattern's regex run alone over the whole text, then validated.
//!
//! It exists to prove the fast path right: the same findings must come out of both on any
//! corpus (a test and `dlp bench` check it). It is slow by design (one full pass per pattern)
//! and shares nothing with the fast path but the compiled regexes, validators and context
//! checks, which are the definition of a detector.

use regex_automata::Input;

use crate::compile::DetectorSet;
use crate::confirm::{accept, is_boundary, make_finding, resolve_overlaps, value_span, Hit};
use crate::finding::Finding;

impl DetectorSet {
    /// Scans `data` the slow, obvious way (each pattern alone, over the whole text) and returns
    /// the findings in the order [`DetectorSet::scan_bytes`] gives them. For tests and benchmarks.
    ///
    /// Where the fast path bounds a search (a match is at most 32 KiB; a custom rule's match
    /// lies within 4 KiB of its literal or of its run of token bytes, on that line when it
    /// cannot span lines; an e-mail local part is at most 64 bytes) the two can differ;
    /// nowhere else.
    pub fn scan_reference(&self, data: &[u8]) -> Vec<Finding> {
        let mut found: Vec<Hit> = Vec::new();
        for (p, pattern) in self.patterns.iter().enumerate() {
            let Some(lazy) = &pattern.regex else {
                self.reference_keywords(p, data, &mut found);
                continue;
            };
            let Some(regex) = lazy.get() else {
                continue;
            };
            let mut cache = regex.create_cache();
            let mut caps = regex.create_captures();
            let mut captures = pattern.secret_group.map(|_| &mut caps);
            let mut pos = 0;
            let mut accepted: Vec<Hit> = Vec::new();
            while pos <= data.len() {
                let input = Input::new(data).span(pos..data.len());
                let Some(m) = regex.search_with(&mut cache, &input) else {
                    break;
                };
                let (vs, ve) = value_span(
                    regex,
                    &mut cache,
                    &mut captures,
                    &mut None,
                    pattern,
                    &input,
                    m,
                );
                match accept(pattern, data, m.start(), m.end(), vs, ve) {
                    Some(conf) => {
                        accepted.push((p, vs, ve, conf, true));
                        pos = m.end().max(m.start() + 1);
                    }
                    None => pos = m.start() + 1,
                }
            }
            found.extend(accepted);
        }
        found.sort_unstable_by_key(|&(p, s, e, _, _)| (s, e, p));
        resolve_overlaps(&mut found, &self.patterns);
        found.retain(|&(_, _, _, c, _)| c >= self.min_confidence);
        let mut counts = vec![0usize; self.patterns.len()];
        for &(p, ..) in &found {
            counts[p] += 1;
        }
        found.retain(|&(p, ..)| counts[p] >= self.patterns[p].min_count);
        let mut line = 1u64;
        let mut at = 0;
        found
            .into_iter()
            .map(|(p, s, e, conf, _)| {
                line += bytecount::count(&data[at..s], b'\n') as u64;
                at = s;
                // Characters since the line's start, counted the simple way.
                let line_start = data[..s]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let column = data[line_start..s]
                    .iter()
                    .filter(|&&b| !(0x80..0xC0).contains(&b))
                    .count() as u64;
                let mut f = make_finding(
                    &self.patterns[p],
                    &data[s..e],
                    s,
                    conf,
                    (line, column + 1),
                    &self.fingerprints,
                );
                f.allowed = self
                    .allow
                    .allows(&self.patterns[p], &data[s..e], &f.fingerprint);
                f
            })
            .collect()
    }

    fn reference_keywords(&self, p: usize, data: &[u8], found: &mut Vec<Hit>) {
        let pattern = &self.patterns[p];
        let mut hits: Vec<(usize, usize)> = Vec::new();
        for word in &pattern.keywords {
            let w = word.as_bytes();
            if w.is_empty() || w.len() > data.len() {
                continue;
            }
            for s in 0..=data.len() - w.len() {
                let text = &data[s..s + w.len()];
                let same = if pattern.keywords_case_sensitive {
                    text == w
                } else {
                    text.eq_ignore_ascii_case(w)
                };
                let e = s + w.len();
                if same && (!pattern.whole_word || (is_boundary(data, s) && is_boundary(data, e))) {
                    hits.push((s, e));
                }
            }
        }
        hits.sort_unstable_by_key(|&(s, e)| (s, std::cmp::Reverse(e)));
        let mut accepted = Vec::new();
        let mut last_end = 0;
        for (s, e) in hits {
            if s < last_end {
                continue;
            }
            if let Some(conf) = accept(pattern, data, s, e, s, e) {
                last_end = e;
                accepted.push((p, s, e, conf, true));
            }
        }
        found.extend(accepted);
    }
}
