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

/// A set of literals, one of which occurs in every match of `hir`, or `None`.
pub(crate) fn required(hir: &Hir) -> Option<Vec<Literal>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(vec![Literal {
            bytes: lit.0.to_vec(),
            case_insensitive: false,
        }]),
        HirKind::Class(class) => single_char(class).map(|(b, ci)| vec![one(b, ci)]),
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(required(branch)?);
                if all.len() > MAX_LITERALS {
                    return None;
                }
            }
            all.dedup();
            Some(all)
        }
        HirKind::Concat(items) => {
            let mut best: Option<Vec<Literal>> = None;
            for part in concat_parts(items) {
                let set = match part {
                    Part::Run(run) => Some(vec![run]),
                    Part::Other(item) => required(item),
                };
                if let Some(set) = set {
                    if best.as_ref().is_none_or(|b| score(&set) > score(b)) {
                        best = Some(set);
                    }
                }
            }
            best
        }
        _ => None,
    }
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

/// Higher is a better prefilter: long literals, few of them.
fn score(set: &[Literal]) -> (bool, bool, usize, isize) {
    let shortest = set.iter().map(|l| l.bytes.len()).min().unwrap_or(0);
    let rare = set.iter().all(|l| !is_common(&l.bytes));
    (
        set.iter().all(usable),
        rare,
        shortest.min(8),
        -(set.len() as isize),
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
    COMMON_WORDS.iter().any(|w| {
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
                if let [one] = set.as_slice() {
                    out.push(one.clone());
                }
            }
        }
    }
}

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
            set.into_iter()
                .map(|l| (String::from_utf8(l.bytes).unwrap(), l.case_insensitive))
                .collect()
        })
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
            ("(?i)secret_key\\s*=", Some(vec![i("ecret_")])),
            ("(?i)api[_-]?token", Some(vec![i("api")])),
            ("[0-9a-f]{32}", None),
            ("x?abc", Some(vec![s("abc")])),
            ("(abc)*def", Some(vec![s("def")])),
            ("(abc|[0-9]+)def", Some(vec![s("def")])),
            ("(abc|[0-9]+)", None),
        ];
        for (pattern, want) in cases {
            assert_eq!(lits(pattern), want, "{pattern}");
        }
        // Groups of simple pieces join (case-insensitively when any piece is).
        assert_eq!(lits("(A|a)(P|p)(Ii)[0-9]+"), Some(vec![i("apIi")]));
        let usable_of = |p: &str| {
            required(&regex_syntax::parse(p).unwrap())
                .unwrap()
                .iter()
                .all(usable)
        };
        assert!(usable_of("AC[0-9a-f]{32}"));
        assert!(!usable_of("ey[a-z]{34}"));
        assert!(usable_of("key[a-z]{34}"));
    }

    #[test]
    fn rare_literals_are_preferred_and_all_required_are_listed() {
        assert_eq!(
            lits("travis[_-]?pull[_-]?request(=| =|:| :)"),
            Some(vec![("travis".to_string(), false)])
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
