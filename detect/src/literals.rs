//! Literal analysis of a rule's regular expression: which literals every match must contain.
//!
//! The first pass of a scan looks only for these literals, so a rule whose literal this module
//! finds costs almost nothing on text that lacks it. The analysis must be sound: if it returns a
//! set, every match of the pattern contains at least one of its literals. When in doubt it
//! returns `None` and the rule is scanned in full.

use regex_syntax::hir::{Class, Hir, HirKind};

/// A literal that a match must contain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Literal {
    /// The bytes, lower-cased where `case_insensitive`.
    pub bytes: Vec<u8>,
    /// Whether the pattern matches these bytes in any ASCII case.
    pub case_insensitive: bool,
}

/// The most literals a rule may contribute; an alternation of more is scanned in full.
const MAX_LITERALS: usize = 64;

/// The most literals a run of glued pieces may expand to.
const MAX_GLUED: usize = 16;

/// The length from which a literal is rare enough not to be glued to a choice of next pieces.
const GLUE_ENOUGH: usize = 8;

/// The most characters a class may have to be expanded into literals (`[_-]`, `[ \r\n]`).
const MAX_CLASS_EXPANSION: usize = 4;

/// The longest bounded repetition expanded into literals (`x?`, `x{1,3}`).
const MAX_REPEAT_EXPANSION: u32 = 3;

/// A set of literals that triggers a pattern: every match contains one of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Required {
    pub literals: Vec<Literal>,
    /// Every match also starts with one of them (zero-width assertions aside), so a match can
    /// be searched anchored at each occurrence.
    pub prefix: bool,
}

/// A set of literals, one of which occurs in every match of `hir`, or `None`.
///
/// Small finite pieces are expanded and glued to their neighbours, so that
/// `database[_-]?port` is triggered by `database_port`, `database-port` and `databaseport`
/// rather than by the common word `database`.
pub(crate) fn required(hir: &Hir) -> Option<Required> {
    match hir.kind() {
        HirKind::Literal(_) | HirKind::Class(_) => {
            let literals = finite(hir)?;
            Some(Required {
                literals,
                prefix: true,
            })
        }
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => match finite(hir) {
            Some(literals) => Some(Required {
                literals,
                prefix: true,
            }),
            None => required(&rep.sub),
        },
        HirKind::Alternation(branches) => {
            if let Some(literals) = finite(hir) {
                return Some(Required {
                    literals,
                    prefix: true,
                });
            }
            let mut all = Vec::new();
            let mut prefix = true;
            for branch in branches {
                let set = required(branch)?;
                prefix &= set.prefix;
                all.extend(set.literals);
                if all.len() > MAX_LITERALS {
                    return None;
                }
            }
            dedup(&mut all);
            Some(Required {
                literals: all,
                prefix,
            })
        }
        HirKind::Concat(items) => {
            let mut best: Option<Required> = None;
            let mut consider = |set: Required| {
                if best.as_ref().is_none_or(|b| score(&set) > score(b)) {
                    best = Some(set);
                }
            };
            // The current run of glued finite pieces, and whether it starts the match.
            let mut run: Vec<Literal> = vec![empty()];
            let mut run_is_prefix = true;
            for (i, item) in items.iter().enumerate() {
                if let Some(set) = finite(item) {
                    // Gluing stops once every literal is long enough to be rare: more
                    // alternatives would only multiply the keys of the first pass.
                    let long_enough = set.len() > 1
                        && run
                            .iter()
                            .all(|l| l.bytes.len() >= GLUE_ENOUGH && !is_common(&l.bytes));
                    if !long_enough {
                        if let Some(glued) = cross(&run, &set).filter(|g| g.len() <= MAX_GLUED) {
                            run = glued;
                            continue;
                        }
                    }
                    // The run ends here and a new one starts with this piece.
                    consider(Required {
                        literals: std::mem::take(&mut run),
                        prefix: run_is_prefix,
                    });
                    run = set;
                    run_is_prefix = false;
                    continue;
                }
                if run.iter().any(|l| !l.bytes.is_empty()) {
                    consider(Required {
                        literals: std::mem::replace(&mut run, vec![empty()]),
                        prefix: run_is_prefix,
                    });
                } else {
                    run = vec![empty()];
                }
                let starts = run_is_prefix && i == leading_zero_width(items);
                run_is_prefix = false;
                if let Some(mut set) = required(item) {
                    set.prefix &= starts;
                    consider(set);
                }
            }
            if run.iter().any(|l| !l.bytes.is_empty()) {
                consider(Required {
                    literals: run,
                    prefix: run_is_prefix,
                });
            }
            best
        }
        _ => None,
    }
}

/// How many items a concatenation starts with that match only the empty string (`\b`, `^`).
fn leading_zero_width(items: &[Hir]) -> usize {
    items
        .iter()
        .take_while(|h| matches!(h.kind(), HirKind::Look(_) | HirKind::Empty))
        .count()
}

/// Every string `hir` matches, as literals, when there are few and each is short: literals,
/// small classes, alternations and short bounded repetitions of them. Zero-width assertions
/// count as the empty string, which makes the result a superset (sound for a prefilter).
fn finite(hir: &Hir) -> Option<Vec<Literal>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![empty()]),
        HirKind::Literal(lit) => Some(vec![one(lit.0.to_vec(), false)]),
        HirKind::Class(class) => class_members(class),
        HirKind::Capture(cap) => finite(&cap.sub),
        HirKind::Concat(items) => {
            let mut out = vec![empty()];
            for item in items {
                out = cross(&out, &finite(item)?)?;
            }
            Some(out)
        }
        HirKind::Alternation(branches) => {
            let mut out = Vec::new();
            for branch in branches {
                out.extend(finite(branch)?);
                if out.len() > MAX_LITERALS {
                    return None;
                }
            }
            dedup(&mut out);
            Some(out)
        }
        HirKind::Repetition(rep) => {
            let max = rep.max.filter(|&m| m <= MAX_REPEAT_EXPANSION)?;
            let sub = finite(&rep.sub)?;
            let mut power = vec![empty()];
            for _ in 0..rep.min {
                power = cross(&power, &sub)?;
            }
            let mut out = power.clone();
            for _ in rep.min..max {
                power = cross(&power, &sub)?;
                out.extend(power.iter().cloned());
                if out.len() > MAX_LITERALS {
                    return None;
                }
            }
            dedup(&mut out);
            Some(out)
        }
    }
}

/// Every concatenation of a literal of `a` with one of `b`, or `None` if there are too many.
fn cross(a: &[Literal], b: &[Literal]) -> Option<Vec<Literal>> {
    if a.len() * b.len() > MAX_LITERALS {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let case_insensitive = x.case_insensitive || y.case_insensitive;
            let mut bytes = Vec::with_capacity(x.bytes.len() + y.bytes.len());
            bytes.extend_from_slice(&x.bytes);
            bytes.extend_from_slice(&y.bytes);
            if case_insensitive {
                bytes.make_ascii_lowercase();
            }
            out.push(Literal {
                bytes,
                case_insensitive,
            });
        }
    }
    dedup(&mut out);
    Some(out)
}

/// Sorts and removes duplicates; a case-sensitive literal equal to a case-insensitive one goes.
fn dedup(set: &mut Vec<Literal>) {
    set.sort_by(|a, b| (&a.bytes, a.case_insensitive).cmp(&(&b.bytes, b.case_insensitive)));
    set.dedup();
    let insensitive: Vec<Vec<u8>> = set
        .iter()
        .filter(|l| l.case_insensitive)
        .map(|l| l.bytes.clone())
        .collect();
    set.retain(|l| l.case_insensitive || !insensitive.contains(&l.bytes.to_ascii_lowercase()));
}

/// The characters of a small class as literals; both cases of an ASCII letter make one
/// case-insensitive literal.
fn class_members(class: &Class) -> Option<Vec<Literal>> {
    let mut chars: Vec<u32> = Vec::new();
    let ranges: Vec<(u32, u32)> = match class {
        Class::Unicode(c) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
        Class::Bytes(c) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
    };
    for (s, e) in ranges {
        if (e - s) as usize >= MAX_CLASS_EXPANSION * 2 || chars.len() > MAX_CLASS_EXPANSION * 2 {
            return None;
        }
        chars.extend(s..=e);
    }
    let mut out: Vec<Literal> = Vec::new();
    for &c in &chars {
        let lit = if matches!(class, Class::Bytes(_)) {
            one(vec![u8::try_from(c).ok()?], false)
        } else {
            let ch = char::from_u32(c)?;
            let mut buf = [0u8; 4];
            one(ch.encode_utf8(&mut buf).as_bytes().to_vec(), false)
        };
        // An upper-case ASCII letter whose lower case is also in the class: one literal.
        if let Ok(b) = u8::try_from(c) {
            if b.is_ascii_uppercase() && chars.contains(&u32::from(b.to_ascii_lowercase())) {
                continue;
            }
            if b.is_ascii_lowercase() && chars.contains(&u32::from(b.to_ascii_uppercase())) {
                out.push(one(vec![b], true));
                continue;
            }
        }
        out.push(lit);
    }
    if out.len() > MAX_CLASS_EXPANSION {
        return None;
    }
    dedup(&mut out);
    Some(out)
}

/// A piece of a concatenation: a run of simple pieces glued into one literal, or another item.
enum Part<'h> {
    Run(Literal),
    Other(&'h Hir),
}

/// Splits a concatenation into runs of simple pieces and the items between them, in order.
fn concat_parts(items: &[Hir]) -> Vec<Part<'_>> {
    let mut parts = Vec::new();
    let mut run = empty();
    for item in items {
        if let Some(piece) = simple_piece(item) {
            run.case_insensitive |= piece.case_insensitive;
            run.bytes.extend(piece.bytes);
            continue;
        }
        if !run.bytes.is_empty() {
            parts.push(Part::Run(std::mem::replace(&mut run, empty())));
        }
        parts.push(Part::Other(item));
    }
    if !run.bytes.is_empty() {
        parts.push(Part::Run(run));
    }
    parts
}

fn empty() -> Literal {
    Literal {
        bytes: Vec::new(),
        case_insensitive: false,
    }
}

fn one(byte: Vec<u8>, case_insensitive: bool) -> Literal {
    Literal {
        bytes: byte,
        case_insensitive,
    }
}

/// A piece that can be glued to its neighbours in a concatenation: a literal, or a class of one
/// character or of one ASCII letter in both cases.
fn simple_piece(hir: &Hir) -> Option<Literal> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(one(lit.0.to_vec(), false)),
        HirKind::Class(class) => single_char(class).map(|(b, ci)| one(b, ci)),
        HirKind::Capture(cap) => simple_piece(&cap.sub),
        HirKind::Concat(items) => {
            // A group of simple pieces, like `(Ii)`, is one simple piece.
            let mut joined = empty();
            for item in items {
                let piece = simple_piece(item)?;
                joined.case_insensitive |= piece.case_insensitive;
                joined.bytes.extend(piece.bytes);
            }
            Some(joined)
        }
        _ => None,
    }
}

/// Whether a literal is a usable first-pass trigger: three bytes or more, or two bytes that are
/// rare in text (no lower-case letter, no space: `AC`, `R_`, `//`).
pub(crate) fn usable(lit: &Literal) -> bool {
    match lit.bytes.len() {
        0 | 1 => false,
        2 => {
            !lit.case_insensitive
                && lit
                    .bytes
                    .iter()
                    .all(|b| !b.is_ascii_lowercase() && !b.is_ascii_whitespace())
        }
        _ => true,
    }
}

/// A class that matches one character (as its UTF-8 bytes) or one ASCII letter in either case
/// (as the lower-case byte, flagged case-insensitive).
fn single_char(class: &Class) -> Option<(Vec<u8>, bool)> {
    let mut chars: Vec<u32> = Vec::new();
    match class {
        Class::Unicode(c) => {
            for r in c.ranges() {
                let (s, e) = (u32::from(r.start()), u32::from(r.end()));
                if e - s > 2 || chars.len() > 2 {
                    return None;
                }
                chars.extend(s..=e);
            }
        }
        Class::Bytes(c) => {
            for r in c.ranges() {
                let (s, e) = (u32::from(r.start()), u32::from(r.end()));
                if e - s > 2 || chars.len() > 2 {
                    return None;
                }
                chars.extend(s..=e);
            }
        }
    }
    match chars.as_slice() {
        [c] => {
            let ch = char::from_u32(*c)?;
            if matches!(class, Class::Bytes(_)) {
                return Some((vec![u8::try_from(*c).ok()?], false));
            }
            let mut buf = [0u8; 4];
            Some((ch.encode_utf8(&mut buf).as_bytes().to_vec(), false))
        }
        [a, b] => {
            let (a, b) = (u8::try_from(*a).ok()?, u8::try_from(*b).ok()?);
            if a.is_ascii_uppercase() && b == a.to_ascii_lowercase() {
                Some((vec![b], true))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Higher is a better trigger: usable, rare, long literals (a prefix set, searched anchored,
/// among equally long ones), few of them.
fn score(set: &Required) -> (bool, bool, usize, bool, usize, isize) {
    let lits = &set.literals;
    let shortest = lits.iter().map(|l| l.bytes.len()).min().unwrap_or(0);
    let rare = lits.iter().all(|l| !is_common(&l.bytes));
    (
        !lits.is_empty() && lits.iter().all(usable),
        rare,
        shortest.min(4),
        set.prefix,
        shortest.min(8),
        -(lits.len() as isize),
    )
}

/// Words so frequent in prose, code, configuration and logs that a literal made of one of them
/// (or found inside many of them) fires on most lines: a rule that also requires a rarer literal
/// is triggered by that one instead. `travis[_-]?pull[_-]?request` is triggered by `travis`.
const COMMON_WORDS: &[&str] = &[
    "access",
    "account",
    "admin",
    "api",
    "app",
    "application",
    "auth",
    "base",
    "bearer",
    "bot",
    "build",
    "client",
    "code",
    "com",
    "config",
    "connect",
    "content",
    "customer",
    "data",
    "database",
    "default",
    "deploy",
    "dev",
    "email",
    "env",
    "error",
    "file",
    "http",
    "https",
    "host",
    "index",
    "info",
    "key",
    "line",
    "list",
    "log",
    "mail",
    "name",
    "new",
    "org",
    "pass",
    "password",
    "path",
    "port",
    "private",
    "project",
    "public",
    "pull",
    "push",
    "report",
    "repo",
    "request",
    "release",
    "rev",
    "secret",
    "secure",
    "server",
    "service",
    "session",
    "sid",
    "site",
    "string",
    "test",
    "text",
    "the",
    "token",
    "type",
    "url",
    "use",
    "user",
    "value",
    "version",
    "web",
    "www",
];

fn is_common(bytes: &[u8]) -> bool {
    let lower = bytes.to_ascii_lowercase();
    lower.is_empty()
        || COMMON_WORDS.iter().any(|w| {
            w.as_bytes() == lower.as_slice()
                || (lower.len() <= 3
                    && w.as_bytes()
                        .windows(lower.len())
                        .any(|x| x == lower.as_slice()))
        })
}

/// Every literal that every match of `hir` contains (beyond the one chosen as the trigger): a
/// region without one of them cannot hold a match, so it is not searched.
pub(crate) fn all_required(hir: &Hir) -> Vec<Literal> {
    let mut out = Vec::new();
    collect_required(hir, &mut out);
    out.retain(|l| l.bytes.len() >= 2);
    out.dedup();
    out
}

fn collect_required(hir: &Hir, out: &mut Vec<Literal>) {
    match hir.kind() {
        HirKind::Capture(cap) => collect_required(&cap.sub, out),
        HirKind::Repetition(rep) if rep.min >= 1 => collect_required(&rep.sub, out),
        HirKind::Concat(items) => {
            for part in concat_parts(items) {
                match part {
                    Part::Run(run) => out.push(run),
                    Part::Other(item) => collect_required(item, out),
                }
            }
        }
        _ => {
            if let Some(piece) = simple_piece(hir) {
                out.push(piece);
            } else if let Some(set) = required(hir) {
                if let [one] = set.literals.as_slice() {
                    out.push(one.clone());
                }
            }
        }
    }
}

pub(crate) use crate::classes::is_token_byte;

/// What a piece of a pattern guarantees about runs of token bytes in every match.
#[derive(Clone, Copy, Debug)]
struct Runs {
    /// Every match is made of token bytes only, and has at least this many.
    full: Option<usize>,
    /// Every match starts with at least this many token bytes.
    prefix: usize,
    /// Every match ends with at least this many.
    suffix: usize,
    /// Every match contains a run of at least this many.
    inner: usize,
}

impl Runs {
    fn full(n: usize) -> Runs {
        Runs {
            full: Some(n),
            prefix: n,
            suffix: n,
            inner: n,
        }
    }

    const NONE: Runs = Runs {
        full: None,
        prefix: 0,
        suffix: 0,
        inner: 0,
    };

    fn then(self, next: Runs) -> Runs {
        Runs {
            full: self.full.zip(next.full).map(|(a, b)| a + b),
            prefix: match self.full {
                Some(n) => n + next.prefix,
                None => self.prefix,
            },
            suffix: match next.full {
                Some(n) => self.suffix + n,
                None => next.suffix,
            },
            inner: self.inner.max(next.inner).max(self.suffix + next.prefix),
        }
    }
}

/// The length of a run of token bytes that every match of `hir` contains (0 if none can be
/// guaranteed). `[a-z0-9]{32}` guarantees 32; `key.{0,40}[a-z0-9]{32}` too.
/// Whether every match of `hir` is made of token bytes only (a run, or part of one).
pub(crate) fn only_token_bytes(hir: &Hir) -> bool {
    runs(hir).full.is_some()
}

pub(crate) fn token_run(hir: &Hir) -> usize {
    runs(hir).inner
}

fn runs(hir: &Hir) -> Runs {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Runs::full(0),
        HirKind::Literal(lit) => {
            let bytes = &lit.0;
            if bytes.iter().all(|&b| is_token_byte(b)) {
                return Runs::full(bytes.len());
            }
            let prefix = bytes.iter().take_while(|&&b| is_token_byte(b)).count();
            let suffix = bytes
                .iter()
                .rev()
                .take_while(|&&b| is_token_byte(b))
                .count();
            let inner = bytes
                .split(|&b| !is_token_byte(b))
                .map(<[u8]>::len)
                .max()
                .unwrap_or(0);
            Runs {
                full: None,
                prefix,
                suffix,
                inner,
            }
        }
        HirKind::Class(c) => {
            let within = match c {
                Class::Unicode(u) => u.ranges().iter().all(|r| {
                    (u32::from(r.start())..=u32::from(r.end()))
                        .all(|x| u8::try_from(x).is_ok_and(is_token_byte))
                }),
                Class::Bytes(b) => b
                    .ranges()
                    .iter()
                    .all(|r| (r.start()..=r.end()).all(is_token_byte)),
            };
            if within {
                Runs::full(1)
            } else {
                Runs::NONE
            }
        }
        HirKind::Capture(cap) => runs(&cap.sub),
        HirKind::Repetition(rep) => {
            let sub = runs(&rep.sub);
            let min = rep.min as usize;
            match sub.full {
                Some(n) => Runs::full(n.saturating_mul(min)),
                None if min == 0 => Runs::NONE,
                None => Runs { full: None, ..sub },
            }
        }
        HirKind::Concat(items) => items
            .iter()
            .map(runs)
            .reduce(Runs::then)
            .unwrap_or(Runs::full(0)),
        HirKind::Alternation(branches) => branches
            .iter()
            .map(runs)
            .reduce(|a, b| Runs {
                full: a.full.zip(b.full).map(|(x, y)| x.min(y)),
                prefix: a.prefix.min(b.prefix),
                suffix: a.suffix.min(b.suffix),
                inner: a.inner.min(b.inner),
            })
            .unwrap_or(Runs::NONE),
    }
}

/// Whether a trigger set is weak: short words of prose (`graph`, `line`, `rev`), pieces of
/// numbers (`18`, `2A`), three bytes or fewer (`-us`), or the start of every URL (`https://`). Such a
/// literal fires on many lines, and a rare run of token bytes is the better trigger.
pub(crate) fn word_like(set: &Required) -> bool {
    set.literals.iter().any(|l| {
        let b = &l.bytes;
        (b.len() <= 8 && b.iter().all(u8::is_ascii_lowercase))
            || is_common(b)
            || b.len() <= 3
            || b.iter().all(|c| !c.is_ascii_alphabetic())
            || b.len() <= 3 && b.iter().filter(|c| c.is_ascii_digit()).count() >= 2
            || URL_STARTS
                .iter()
                .any(|u| b.eq_ignore_ascii_case(u.as_bytes()))
    })
}

/// The starts of URLs, each on every link of a page.
const URL_STARTS: [&str; 4] = ["http://", "https://", "www.", "://"];

/// Whether every match of `hir` starts at an ASCII word boundary (`(?-u:\b)` first).
pub(crate) fn starts_with_ascii_boundary(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Look(look) => *look == regex_syntax::hir::Look::WordAscii,
        HirKind::Capture(cap) => starts_with_ascii_boundary(&cap.sub),
        HirKind::Concat(items) => items.first().is_some_and(starts_with_ascii_boundary),
        _ => false,
    }
}

/// Whether any match of `hir` can contain a line feed.
pub(crate) fn can_match_newline(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Literal(lit) => lit.0.contains(&b'\n'),
        HirKind::Class(Class::Unicode(c)) => c
            .ranges()
            .iter()
            .any(|r| r.start() <= '\n' && '\n' <= r.end()),
        HirKind::Class(Class::Bytes(c)) => c
            .ranges()
            .iter()
            .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
        HirKind::Capture(cap) => can_match_newline(&cap.sub),
        HirKind::Repetition(rep) => rep.max != Some(0) && can_match_newline(&rep.sub),
        HirKind::Concat(items) | HirKind::Alternation(items) => items.iter().any(can_match_newline),
        HirKind::Empty | HirKind::Look(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Lits = Option<Vec<(String, bool)>>;

    fn lits(pattern: &str) -> Lits {
        let hir = regex_syntax::parse(pattern).unwrap();
        required(&hir).map(|set| {
            set.literals
                .into_iter()
                .map(|l| (String::from_utf8(l.bytes).unwrap(), l.case_insensitive))
                .collect()
        })
    }

    fn prefix(pattern: &str) -> Option<bool> {
        required(&regex_syntax::parse(pattern).unwrap()).map(|set| set.prefix)
    }

    #[test]
    fn required_literal_table() {
        let s = |x: &str| (x.to_string(), false);
        let i = |x: &str| (x.to_string(), true);
        let cases: Vec<(&str, Lits)> = vec![
            ("AKIA[0-9A-Z]{16}", Some(vec![s("AKIA")])),
            (
                "[0-9a-z]+.execute-api.[0-9a-z._-]+.amazonaws.com",
                Some(vec![s("execute-api")]),
            ),
            ("(AKIA|ASIA)[A-Z]{16}", Some(vec![s("AKIA"), s("ASIA")])),
            // Small optional pieces are expanded: every spelling is a literal.
            (
                "(?i)api[_-]?pwd",
                Some(vec![i("api-pwd"), i("api_pwd"), i("apipwd")]),
            ),
            ("[0-9a-f]{32}", None),
            ("x?abc", Some(vec![s("abc"), s("xabc")])),
            ("(abc)*def", Some(vec![s("def")])),
            ("(abc|[0-9]+)def", Some(vec![s("def")])),
            ("(abc|[0-9]+)", None),
            // Gluing stops at eight bytes rather than multiply the literals by a choice.
            (
                "database[_-]?port(=| =|:| :)",
                Some(vec![
                    s("database-port"),
                    s("database_port"),
                    s("databaseport"),
                ]),
            ),
        ];
        for (pattern, want) in cases {
            assert_eq!(lits(pattern), want, "{pattern}");
        }
        // `(?i)` folds `s` and `k` to Unicode classes too (`ſ`, the Kelvin sign): every
        // spelling is kept, all of them long.
        let folded = lits("(?i)secret_key\\s*=").unwrap();
        assert!(folded.contains(&i("secret_key")), "{folded:?}");
        assert!(folded.iter().all(|(l, _)| l.chars().count() == 10));
        // Groups of simple pieces join (case-insensitively when any piece is).
        assert_eq!(lits("(A|a)(P|p)(Ii)[0-9]+"), Some(vec![i("apii")]));
        // A class with a stray `|` expands to both; the letter pair is one case-insensitive
        // literal.
        assert_eq!(lits("[f|F]oo"), Some(vec![i("foo"), s("|oo")]));
        let usable_of = |p: &str| {
            required(&regex_syntax::parse(p).unwrap())
                .unwrap()
                .literals
                .iter()
                .all(usable)
        };
        assert!(usable_of("AC[0-9a-f]{32}"));
        assert!(!usable_of("ey[a-z]{34}"));
        assert!(usable_of("key[a-z]{34}"));
    }

    #[test]
    fn prefix_sets_are_recognised() {
        for (pattern, want) in [
            ("AKIA[0-9A-Z]{16}", Some(true)),
            ("\\bsk_live_[0-9a-z]{24}", Some(true)),
            ("(?:rev).{0,40}[a-z]{27}", Some(true)),
            ("(ghp|gho)_[a-z0-9]{36}", Some(true)),
            ("(abc[0-9]+|def[a-z]+)x", Some(true)),
            ("x?abc", Some(true)),
            ("[a-z]+execute-api", Some(false)),
            ("[0-9]{4}-secret-token", Some(false)),
            ("(abc[0-9]+|[a-z]def)x", Some(false)),
        ] {
            assert_eq!(prefix(pattern), want, "{pattern}");
        }
    }

    #[test]
    fn token_runs_are_lower_bounds() {
        let run = |p: &str| token_run(&regex_syntax::parse(p).unwrap());
        assert_eq!(run("[a-z0-9]{32}"), 32);
        assert_eq!(run("(?:graph).{0,40}\\b([a-z0-9]{32})\\b"), 32);
        assert_eq!(run("ey[a-zA-Z0-9]{34}.ey"), 36);
        // `-` and `.` are token bytes: the two parts make one run.
        let pp = "\\b([A-Za-z0-9_\\.]{7}-[A-Za-z0-9_\\.]{72})\\b";
        assert_eq!(run(pp), 80);
        assert_eq!(run("(mailgun|mg)[0-9a-z]{32}"), 34);
        assert_eq!(run("[a-z]{10}([a-z]{5}|x)"), 11);
        assert_eq!(run("[a-z]{0,40}"), 0);
        assert_eq!(run("[a-z ]{40}"), 0);
        assert_eq!(run("[a-z]{10}:[a-z]{12}"), 12);
        assert_eq!(run("(?:[a-z]{4}-){3}[a-z]{4}"), 19);
        // Every match of each pattern does contain such a run.
        for (p, text) in [
            (pp, "x AbCdEfG-0123456789012345678901234567890123456789012345678901234567890123456789ab y"),
            ("(?:graph).{0,40}\\b([a-z0-9]{32})\\b", "graph = abcdefabcdefabcdefabcdefabcdefab"),
        ] {
            let re = regex_automata::meta::Regex::new(p).unwrap();
            let m = re.find(text.as_bytes()).unwrap();
            let longest = text.as_bytes()[m.range()]
                .split(|&b| !is_token_byte(b))
                .map(<[u8]>::len)
                .max()
                .unwrap();
            assert!(longest >= run(p), "{p}: {longest} < {}", run(p));
        }
    }

    #[test]
    fn rare_literals_are_preferred_and_all_required_are_listed() {
        assert_eq!(
            lits("travis[_-]?pull[_-]?request(=| =|:| :)"),
            Some(vec![
                ("travis-pull".to_string(), false),
                ("travis_pull".to_string(), false),
                ("travispull".to_string(), false),
            ])
        );
        let hir = regex_syntax::parse("app[_-]?report[_-]?token[_-]?key(=| =|:| :)").unwrap();
        let all: Vec<String> = all_required(&hir)
            .into_iter()
            .map(|l| String::from_utf8(l.bytes).unwrap())
            .collect();
        assert_eq!(all, ["app", "report", "token", "key"]);
    }

    #[test]
    fn leading_boundary() {
        for (pattern, want) in [
            ("(?-u:\\b)AKIA[A-Z]{16}", true),
            ("\\bAKIA", false),
            ("AKIA(?-u:\\b)", false),
            ("((?-u:\\b)x|y)", false),
        ] {
            let hir = regex_syntax::parse(pattern).unwrap();
            assert_eq!(starts_with_ascii_boundary(&hir), want, "{pattern}");
        }
    }

    #[test]
    fn newline_analysis() {
        for (pattern, want) in [
            ("abc", false),
            ("a.c", false),
            ("(?s)a.c", true),
            ("a[^x]c", true),
            ("a\\sc", true),
            ("a[ \\t]c", false),
            ("a\\nc", true),
        ] {
            let hir = regex_syntax::parse(pattern).unwrap();
            assert_eq!(can_match_newline(&hir), want, "{pattern}");
        }
    }
}
