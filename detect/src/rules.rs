//! Rule definitions as data: the built-in detector file and users' rule files.
//!
//! This module owns parsing and checking definitions. It turns every problem into an error that
//! names the rule (by id, or by position when the id is missing) and says what to change; it never
//! compiles matchers (that is `compile`'s job).

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::finding::{Category, Confidence, Mask, Normalize};
use crate::validate::Validator;

/// The file of the core set (selector `core`): the original detectors, which keep the engine at
/// its full speed.
pub(crate) const CORE_FILE: &str = "builtin.toml";

/// The built-in detectors, embedded in the binary: one file per area.
pub(crate) const BUILTIN_FILES: [(&str, &str); 6] = [
    ("builtin.toml", include_str!("detectors/builtin.toml")),
    ("contact.toml", include_str!("detectors/contact.toml")),
    ("national.toml", include_str!("detectors/national.toml")),
    ("financial.toml", include_str!("detectors/financial.toml")),
    ("health.toml", include_str!("detectors/health.toml")),
    ("secrets.toml", include_str!("detectors/secrets.toml")),
];

/// Default number of bytes on each side of a match in which a context word must appear.
pub(crate) const DEFAULT_CONTEXT_WINDOW: usize = 64;

/// The longest context window a rule may ask for; the scanner keeps this much text around each
/// chunk, so it bounds memory.
pub(crate) const MAX_CONTEXT_WINDOW: usize = 1024;

/// How a pattern's candidates are found before the pattern itself runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// Where one of these literals occurs (searched case-insensitively, matched by the pattern
    /// from the literal's start).
    Prefixes(Vec<String>),
    /// Literals found in the pattern itself by the compiler; the pattern runs over the line around
    /// each (custom rules).
    Derived,
    /// Literals one of which every match contains somewhere (`://` in a URL with credentials):
    /// the pattern runs over the region around each, as for [`Trigger::Derived`] ones.
    Contains(Vec<String>),
    /// Over each maximal run of digits and single separators. A match holds between `min` and
    /// `max` digits; the pattern must begin and end with a word boundary, unless `reach`, the
    /// bytes on either side of the run the match may reach, is not zero.
    DigitRun {
        /// The fewest digits of a run.
        min: usize,
        /// The most digits of a run.
        max: usize,
        /// How far past the run a match may reach.
        reach: usize,
        /// When not empty, a run counts only right after one of these (the `%B` or `;` before
        /// card track data's number): the pattern cannot match around any other.
        after: Vec<String>,
    },
    /// From two upper-case letters before a digit run.
    CountryCode,
    /// Over the line around each run of token bytes (`[A-Za-z0-9_+/=.-]`) as long as the
    /// shortest such run every match holds: for a value after a key name common in prose or
    /// code (`token = ...`), rarer than the name.
    TokenRun,
    /// Around each `@`.
    At,
    /// Keyword rules: the keywords are the matches.
    Keywords,
}

/// One checked pattern of a detector, ready to compile.
#[derive(Clone, Debug)]
pub(crate) struct PatternDef {
    pub id: String,
    /// Where the definition comes from, for errors: a rule file's path.
    pub origin: String,
    pub description: String,
    pub category: Category,
    /// ISO 3166-1 alpha-2 code of the issuing country (`EU` for the union's), when there is one.
    pub country: Option<String>,
    pub confidence: Confidence,
    pub trigger: Trigger,
    /// The regular expression; empty for keyword rules.
    pub pattern: String,
    pub keywords: Vec<String>,
    pub case_sensitive: bool,
    pub whole_word: bool,
    pub validator: Option<Validator>,
    pub context: Vec<String>,
    pub context_window: usize,
    pub min_count: usize,
    pub normalize: Normalize,
    pub mask: Mask,
    pub examples: Vec<String>,
    pub negatives: Vec<String>,
    /// A built-in's hand-written matcher that gives exactly its pattern's matches, faster.
    pub native: Option<String>,
    /// Whether the detector runs when no selection is given: users' rules and every built-in
    /// but those marked `default = false` (the detectors that report at low confidence only, and
    /// `ip_address`), which run when selected by `all`, a category, a country or their id.
    pub default_on: bool,
    /// Whether the pattern is one of the core set's (`builtin.toml`, selector `core`).
    pub core: bool,
}

/// A definition as written in TOML, before checking. Built-ins and users' rules share it; the
/// trigger fields are for built-ins only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Option<String>,
    #[serde(default)]
    description: String,
    category: Option<Category>,
    country: Option<String>,
    confidence: Option<Confidence>,
    pattern: Option<String>,
    keywords: Option<Vec<String>>,
    #[serde(default)]
    case_sensitive: bool,
    whole_word: Option<bool>,
    validator: Option<String>,
    #[serde(default)]
    context: Vec<String>,
    context_window: Option<usize>,
    min_count: Option<usize>,
    #[serde(default)]
    normalize: Normalize,
    #[serde(default)]
    mask: Mask,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    negatives: Vec<String>,
    // Built-ins only.
    literals: Option<Vec<String>>,
    trigger: Option<String>,
    min_digits: Option<usize>,
    max_digits: Option<usize>,
    /// With `trigger = "digit_run"`: how far beyond the run a match may reach (card track
    /// data: `%B` before the number, the name and dates after it).
    run_reach: Option<usize>,
    /// With `trigger = "digit_run"`: text one of which must end right before the run (`B` or
    /// `;` before card track data's number); a run after none is no candidate.
    #[serde(default)]
    run_after: Vec<String>,
    native: Option<String>,
    /// `false`: the detector runs only when selected (every pattern of its id says so).
    default: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuiltinFile {
    #[serde(default)]
    detector: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RawRule>,
    #[serde(default)]
    allow: Vec<RawAllow>,
}

/// An `[[allow]]` entry as written: findings it matches are known and accepted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    #[serde(default)]
    description: String,
    /// Only findings of these detectors (ids); empty: any.
    #[serde(default)]
    detectors: Vec<String>,
    /// Exact values (compared after the detector's normalization).
    #[serde(default)]
    values: Vec<String>,
    /// Regular expressions a whole value must match.
    #[serde(default)]
    patterns: Vec<String>,
    /// Fingerprints, as findings carry them.
    #[serde(default)]
    fingerprints: Vec<String>,
    /// Globs of the paths (or archive members) whose findings are accepted.
    #[serde(default)]
    paths: Vec<String>,
}

/// A checked `[[allow]]` entry.
#[derive(Clone, Debug, Default)]
pub(crate) struct AllowDef {
    pub detectors: Vec<String>,
    pub values: Vec<String>,
    pub patterns: Vec<String>,
    pub fingerprints: Vec<String>,
    pub paths: Vec<String>,
}

/// Parses the embedded built-in detectors.
pub(crate) fn builtin() -> Result<Vec<PatternDef>, Error> {
    let mut defs = Vec::new();
    for (name, text) in BUILTIN_FILES {
        let origin = format!("built-in detectors ({name})");
        let file: BuiltinFile = toml::from_str(text)
            .map_err(|e| Error::new(ErrorKind::Rules, format!("{origin}: {}", e.message())))?;
        for (i, raw) in file.detector.into_iter().enumerate() {
            let mut def = check(raw, i, &origin, true)?;
            def.core = name == CORE_FILE;
            defs.push(def);
        }
    }
    // A detector is on by default or not as a whole: one pattern marked off turns off its id.
    let off: std::collections::HashSet<String> = defs
        .iter()
        .filter(|d| !d.default_on)
        .map(|d| d.id.clone())
        .collect();
    for def in &mut defs {
        def.default_on = !off.contains(&def.id);
    }
    Ok(defs)
}

/// Parses a user's rule file. `origin` names it in errors (usually its path).
pub(crate) fn parse_rule_file(
    text: &str,
    origin: &str,
) -> Result<(Vec<PatternDef>, Vec<AllowDef>), Error> {
    let file: RuleFile = toml::from_str(text).map_err(|e| {
        let place = e
            .span()
            .map(|span| {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!(" (line {line})")
            })
            .unwrap_or_default();
        Error::new(
            ErrorKind::Rules,
            format!("{origin}{place}: {}", e.message().trim_end()),
        )
    })?;
    if file.rule.is_empty() && file.allow.is_empty() {
        return Err(Error::new(
            ErrorKind::Rules,
            format!(
                "{origin}: no rules; a rule file holds [[rule]] and [[allow]] tables (see the \
                 README)"
            ),
        ));
    }
    let mut allows = Vec::with_capacity(file.allow.len());
    for (i, raw) in file.allow.into_iter().enumerate() {
        let _ = raw.description;
        if raw.values.is_empty()
            && raw.patterns.is_empty()
            && raw.fingerprints.is_empty()
            && raw.paths.is_empty()
        {
            return Err(Error::new(
                ErrorKind::Rules,
                format!(
                    "{origin}: allow #{}: says nothing to allow; give `values`, `patterns`, \
                     `fingerprints` or `paths`",
                    i + 1
                ),
            ));
        }
        if let Some(bad) = raw
            .fingerprints
            .iter()
            .find(|f| f.len() != 64 || !f.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(Error::new(
                ErrorKind::Rules,
                format!(
                    "{origin}: allow #{}: `{bad}` is not a fingerprint (64 hexadecimal digits)",
                    i + 1
                ),
            ));
        }
        allows.push(AllowDef {
            detectors: raw.detectors,
            values: raw.values,
            patterns: raw.patterns,
            fingerprints: raw.fingerprints,
            paths: raw.paths,
        });
    }
    let mut defs = Vec::with_capacity(file.rule.len());
    let mut ids = std::collections::HashSet::new();
    for (i, raw) in file.rule.into_iter().enumerate() {
        let def = check(raw, i, origin, false)?;
        if !ids.insert(def.id.clone()) {
            return Err(Error::new(
                ErrorKind::Rules,
                format!("{origin}: rule `{}`: the id is used twice", def.id),
            ));
        }
        defs.push(def);
    }
    Ok((defs, allows))
}

fn check(raw: RawRule, index: usize, origin: &str, builtin: bool) -> Result<PatternDef, Error> {
    let name = match &raw.id {
        Some(id) => format!("rule `{id}`"),
        None => format!("rule #{}", index + 1),
    };
    let fail = |msg: String| Error::new(ErrorKind::Rules, format!("{origin}: {name}: {msg}"));

    let id = raw.id.clone().ok_or_else(|| fail("has no `id`".into()))?;
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return Err(fail(
            "`id` must be non-empty and use only letters, digits, `_`, `-` and `.`".into(),
        ));
    }
    if !builtin
        && (raw.literals.is_some()
            || raw.trigger.is_some()
            || raw.min_digits.is_some()
            || raw.max_digits.is_some()
            || raw.run_reach.is_some()
            || !raw.run_after.is_empty()
            || raw.default.is_some())
    {
        return Err(fail(
            "`literals`, `trigger`, `min_digits`, `max_digits`, `run_reach`, `run_after` and \
             `default` are for built-in detectors; a rule's literals are found in its pattern, \
             and a rule always runs unless left out by `--exclude-detectors`"
                .into(),
        ));
    }
    let (pattern, keywords, trigger) = match (raw.pattern, raw.keywords) {
        (Some(_), Some(_)) => {
            return Err(fail(
                "has both `pattern` and `keywords`; use one per rule".into(),
            ))
        }
        (None, None) => {
            return Err(fail(
                "needs a `pattern` (regular expression) or `keywords` (list)".into(),
            ))
        }
        (Some(p), None) => {
            if p.is_empty() {
                return Err(fail("`pattern` is empty".into()));
            }
            if !raw.run_after.is_empty() && raw.trigger.as_deref() != Some("digit_run") {
                return Err(fail("`run_after` is for `trigger = \"digit_run\"`".into()));
            }
            if raw.run_after.iter().any(|a| a.is_empty() || a.len() > 8) {
                return Err(fail("each of `run_after` is one to eight bytes".into()));
            }
            let trigger = match (raw.literals, raw.trigger.as_deref()) {
                (Some(lits), None) if !lits.is_empty() && lits.iter().all(|l| l.len() >= 2) => {
                    Trigger::Prefixes(lits)
                }
                (Some(lits), Some("contains"))
                    if !lits.is_empty() && lits.iter().all(|l| l.len() >= 2) =>
                {
                    Trigger::Contains(lits)
                }
                (None, Some("digit_run")) => Trigger::DigitRun {
                    min: raw.min_digits.unwrap_or(1),
                    max: raw.max_digits.unwrap_or(usize::MAX),
                    reach: raw.run_reach.unwrap_or(0),
                    after: raw.run_after,
                },
                (None, Some("country_code")) => Trigger::CountryCode,
                (None, Some("token_run")) => Trigger::TokenRun,
                (None, Some("at")) => Trigger::At,
                (None, None) => Trigger::Derived,
                _ => return Err(fail("bad `literals` or `trigger`".into())),
            };
            (p, Vec::new(), trigger)
        }
        (None, Some(words)) => {
            if words.is_empty() || words.iter().any(|w| w.trim().is_empty()) {
                return Err(fail(
                    "`keywords` must be a non-empty list of non-empty strings".into(),
                ));
            }
            (String::new(), words, Trigger::Keywords)
        }
    };
    let validator = raw
        .validator
        .as_deref()
        .map(str::parse::<Validator>)
        .transpose()
        .map_err(fail)?;
    if trigger == Trigger::Keywords && validator.is_some() {
        return Err(fail(
            "`validator` needs a `pattern`; keywords are matched as they are".into(),
        ));
    }
    if raw.context.iter().any(|w| w.trim().is_empty()) {
        return Err(fail("`context` words must not be empty".into()));
    }
    let context_window = raw.context_window.unwrap_or(DEFAULT_CONTEXT_WINDOW);
    if context_window == 0 || context_window > MAX_CONTEXT_WINDOW {
        return Err(fail(format!(
            "`context_window` must be between 1 and {MAX_CONTEXT_WINDOW} bytes"
        )));
    }
    if let Some(country) = &raw.country {
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(fail(format!(
                "`country` must be an ISO 3166-1 alpha-2 code in capitals (`GB`, `DE`), not `{country}`"
            )));
        }
    }
    let min_count = raw.min_count.unwrap_or(1);
    if min_count == 0 {
        return Err(fail("`min_count` must be at least 1".into()));
    }
    Ok(PatternDef {
        id,
        origin: origin.to_string(),
        description: raw.description,
        category: raw.category.unwrap_or(Category::Custom),
        country: raw.country,
        confidence: raw.confidence.unwrap_or(Confidence::Medium),
        trigger,
        pattern,
        keywords,
        case_sensitive: raw.case_sensitive,
        whole_word: raw.whole_word.unwrap_or(true),
        validator,
        context: raw.context,
        context_window,
        min_count,
        normalize: raw.normalize,
        mask: raw.mask,
        examples: raw.examples,
        negatives: raw.negatives,
        native: raw.native,
        default_on: raw.default != Some(false),
        core: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse() {
        let defs = builtin().unwrap();
        assert!(defs.len() >= 12);
    }

    #[test]
    fn rule_file_errors_name_the_rule_and_problem() {
        let cases: &[(&str, &str)] = &[
            ("[[rule]]\nid = \"a\"\n", "rule `a`: needs a `pattern`"),
            (
                "[[rule]]\nid = \"a\"\npattern = \"x\"\nkeywords = [\"y\"]\n",
                "rule `a`: has both",
            ),
            ("[[rule]]\npattern = \"x\"\n", "rule #1: has no `id`"),
            (
                "[[rule]]\nid = \"a\"\npattern = \"x\"\nvalidator = \"nope\"\n",
                "rule `a`: unknown validator `nope`",
            ),
            (
                "[[rule]]\nid = \"a\"\npattern = \"x\"\nbogus = 1\n",
                "unknown field `bogus`",
            ),
            (
                "[[rule]]\nid = \"a\"\npattern = \"x\"\nconfidence = \"sure\"\n",
                "unknown variant `sure`",
            ),
            (
                "[[rule]]\nid = \"a\"\npattern = \"x\"\n[[rule]]\nid = \"a\"\npattern = \"y\"\n",
                "rule `a`: the id is used twice",
            ),
            ("title = 1\n", "unknown field `title`"),
            ("", "no rules"),
            ("[[rule]\n", "(line 1)"),
        ];
        for (text, want) in cases {
            let err = parse_rule_file(text, "rules.toml").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Rules);
            let msg = err.to_string();
            assert!(msg.starts_with("rules.toml"), "{msg}");
            assert!(msg.contains(want), "{text:?}: {msg} lacks {want}");
        }
    }
}
