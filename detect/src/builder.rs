//! Building a [`DetectorSet`]: which definitions (built-in, custom rule files, a selection of
//! ids), compiled by `compile`, then each custom rule held to its own examples and negatives by
//! scanning them. This module owns the choice of definitions; it neither compiles patterns nor
//! scans beyond those examples.

use std::path::Path;

use crate::compile::{compile, DetectorSet};
use crate::error::{Error, ErrorKind};
use crate::finding::{Category, Confidence};
use crate::fingerprint::Fingerprints;
use crate::rules::{self, PatternDef};

/// Configures and builds an [`DetectorSet`].
///
/// ```
/// let mut builder = dlp_detect::DetectorSetBuilder::new();
/// builder.rules_toml("[[rule]]\nid = \"project_code\"\npattern = 'PRJ-[0-9]{6}'\n", "inline");
/// let set = builder.build()?;
/// let findings = set.scan_text("see PRJ-123456 and 4111 1111 1111 1111");
/// assert_eq!(findings.len(), 2);
/// # Ok::<(), dlp_detect::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct DetectorSetBuilder {
    no_builtins: bool,
    skip_invalid: bool,
    only: Option<Vec<String>>,
    exclude: Vec<String>,
    min_confidence: Option<Confidence>,
    fingerprints: Fingerprints,
    baseline: Vec<String>,
    rule_sources: Vec<(String, String)>,
}

impl DetectorSetBuilder {
    /// A builder with every built-in detector and no custom rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to include the built-in detectors (default `true`).
    pub fn builtins(&mut self, yes: bool) -> &mut Self {
        self.no_builtins = !yes;
        self
    }

    /// Whether a custom rule that does not compile is left out (and listed by
    /// [`DetectorSet::rule_errors`]) instead of failing the build. Default `false`: a user's rule
    /// file should be right; loading large third-party rule sets is the use for `true`.
    pub fn skip_invalid_rules(&mut self, yes: bool) -> &mut Self {
        self.skip_invalid = yes;
        self
    }

    /// Keeps only the detectors these selectors name: `all` (every built-in detector and custom
    /// rule), `default` (what runs when no selection is given: every built-in but the few marked
    /// off by default, and custom rules), `core` (the original built-ins, which keep the engine
    /// at its full speed), an id (`credit_card`, or a custom rule's), a category (`pii`, `financial`,
    /// `health`, `secret`, `custom`) or a country (`country:DE`). A selector that names nothing makes [`DetectorSetBuilder::build`] fail
    /// with [`ErrorKind::UnknownDetector`].
    pub fn detectors<I, S>(&mut self, selectors: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.only = Some(selectors.into_iter().map(Into::into).collect());
        self
    }

    /// Leaves out the detectors these selectors name (as for
    /// [`DetectorSetBuilder::detectors`]); applied after it.
    pub fn exclude<I, S>(&mut self, selectors: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude = selectors.into_iter().map(Into::into).collect();
        self
    }

    /// How findings are fingerprinted (default [`Fingerprints::Sha256`]; `dlp-engine` gives a
    /// keyed one).
    pub fn fingerprints(&mut self, fingerprints: Fingerprints) -> &mut Self {
        self.fingerprints = fingerprints;
        self
    }

    /// Marks as allowed the findings with these fingerprints (a baseline of accepted findings,
    /// as `dlp scan --write-baseline` writes it). Fingerprints depend on the key: a baseline
    /// holds only under the key it was written with.
    pub fn baseline<I, S>(&mut self, fingerprints: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.baseline.extend(
            fingerprints
                .into_iter()
                .map(|f| f.into().to_ascii_lowercase()),
        );
        self
    }

    /// Reports only findings of at least this confidence (default: all).
    pub fn min_confidence(&mut self, confidence: Confidence) -> &mut Self {
        self.min_confidence = Some(confidence);
        self
    }

    /// Adds the rules of a TOML rule file given as text; `origin` names it in errors.
    pub fn rules_toml(&mut self, text: &str, origin: &str) -> &mut Self {
        self.rule_sources
            .push((origin.to_string(), text.to_string()));
        self
    }

    /// Reads a TOML rule file and adds its rules.
    pub fn rules_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("cannot read rule file {}", path.display()), e))?;
        Ok(self.rules_toml(&text, &path.display().to_string()))
    }

    /// Compiles the detectors.
    pub fn build(&self) -> Result<DetectorSet, Error> {
        let mut defs = Vec::new();
        if !self.no_builtins {
            defs.extend(rules::builtin()?.into_iter().map(|d| (d, true)));
        }
        let mut ids: std::collections::HashSet<String> =
            defs.iter().map(|(d, _)| d.id.clone()).collect();
        // Custom rules that state what they must and must not find, to check once compiled.
        let mut with_examples: Vec<PatternDef> = Vec::new();
        let mut allows = Vec::new();
        if !self.baseline.is_empty() {
            allows.push(rules::AllowDef {
                fingerprints: self.baseline.clone(),
                ..rules::AllowDef::default()
            });
        }
        for (origin, text) in &self.rule_sources {
            let (file_defs, file_allows) = rules::parse_rule_file(text, origin)?;
            allows.extend(file_allows);
            for def in file_defs {
                if !ids.insert(def.id.clone()) {
                    return Err(Error::new(
                        ErrorKind::Rules,
                        format!(
                            "{origin}: rule `{}`: a detector with this id already exists; pick \
                             another id",
                            def.id
                        ),
                    ));
                }
                if !def.examples.is_empty() || !def.negatives.is_empty() {
                    with_examples.push(def.clone());
                }
                defs.push((def, false));
            }
        }
        match &self.only {
            Some(only) => {
                // `core` keeps the core file's patterns alone (not the library's patterns of
                // the same ids: the context-only cards, lower-case IBANs...), as it ran before
                // the library was on by default.
                let (keep, core) = select(&defs, only)?;
                defs.retain(|(d, _)| keep.contains(&d.id) || (core && d.core));
            }
            // No selection: the default set and the user's rules.
            None => defs.retain(|(d, _)| d.default_on),
        }
        if !self.exclude.is_empty() {
            let (mut drop, core) = select(&defs, &self.exclude)?;
            if core {
                drop.extend(
                    defs.iter()
                        .filter(|(d, _)| d.core)
                        .map(|(d, _)| d.id.clone()),
                );
            }
            defs.retain(|(d, _)| !drop.contains(&d.id));
        }
        let mut set = compile(defs, self.skip_invalid)?;
        if let Some(min) = self.min_confidence {
            set.min_confidence = min;
        }
        set.fingerprints = crate::fingerprint::Fingerprinter::new(&self.fingerprints);
        set.allow =
            crate::allow::Allowlist::build(&allows).map_err(|e| Error::new(ErrorKind::Rules, e))?;
        // Hold a user's rule to its examples now rather than let a wrong rule run silently.
        for def in &with_examples {
            if !set.detectors.iter().any(|d| d.id == def.id) {
                continue; // left out by `detectors` or `skip_invalid_rules`
            }
            if let Some(problem) = example_problem(&set, def) {
                return Err(Error::new(
                    ErrorKind::Rules,
                    format!("{}: rule `{}`: {problem}", def.origin, def.id),
                ));
            }
        }
        Ok(set)
    }
}

/// The ids of the definitions that `selectors` name: ids, categories, `country:XX`, and whether
/// `core` is named (its patterns are not all of their ids'). A selector that names nothing is an
/// error listing what exists.
fn select(
    defs: &[(PatternDef, bool)],
    selectors: &[String],
) -> Result<(std::collections::HashSet<String>, bool), Error> {
    let mut ids = std::collections::HashSet::new();
    let mut core = false;
    let mut unknown = Vec::new();
    for selector in selectors {
        let selector = selector.trim();
        if selector == "core" {
            // Patterns, not ids: the caller keeps the core file's patterns.
            core = true;
            continue;
        }
        let before = ids.len();
        let mut named = false;
        for (d, _) in defs {
            let hit = if selector == "all" {
                named = true;
                true
            } else if selector == "default" {
                named = true;
                d.default_on
            } else if let Some(country) = selector.strip_prefix("country:") {
                named = true;
                d.country
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(country))
            } else if let Some(category) = Category::from_name(selector) {
                named = true;
                d.category == category
            } else {
                d.id == selector
            };
            if hit {
                ids.insert(d.id.clone());
            }
        }
        let found = ids.len() > before || defs.iter().any(|(d, _)| d.id == selector);
        if !found && !named {
            unknown.push(selector.to_string());
        }
    }
    if !unknown.is_empty() {
        let mut known: Vec<&str> = defs.iter().map(|(d, _)| d.id.as_str()).collect();
        known.dedup();
        return Err(Error::new(
            ErrorKind::UnknownDetector,
            format!(
                "unknown detector id(s): {}; give ids, categories (pii, financial, health, \
                 secret, custom) or countries (country:DE); known ids: {}",
                unknown.join(", "),
                known.join(", ")
            ),
        ));
    }
    Ok((ids, core))
}

/// Runs a definition's examples and negatives; says what is wrong, if anything.
pub(crate) fn example_problem(set: &DetectorSet, def: &PatternDef) -> Option<String> {
    for example in &def.examples {
        let n = set
            .scan_text(example)
            .iter()
            .filter(|f| f.detector == def.id)
            .count();
        if n != 1 {
            return Some(format!(
                "example {example:?} gives {n} findings of this rule, expected 1"
            ));
        }
    }
    for negative in &def.negatives {
        if set.scan_text(negative).iter().any(|f| f.detector == def.id) {
            return Some(format!(
                "negative example {negative:?} gives a finding of this rule, expected none"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;

    #[test]
    fn every_builtin_pattern_compiles() {
        let set = DetectorSetBuilder::new()
            .detectors(["all"])
            .build()
            .unwrap();
        set.compile_all().unwrap();
    }

    #[test]
    fn builtin_examples() {
        let engine = DetectorSetBuilder::new()
            .detectors(["all"])
            .build()
            .unwrap();
        let defs = rules::builtin().unwrap();
        let mut failures = Vec::new();
        for def in &defs {
            assert!(
                !def.examples.is_empty() && !def.negatives.is_empty(),
                "{} needs examples and negatives",
                def.id
            );
            if let Some(problem) = example_problem(&engine, def) {
                failures.push(format!("{}: {problem}", def.id));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // At least three examples and three negatives per detector id, over its patterns.
        let mut per_id: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
        for def in &defs {
            let e = per_id.entry(def.id.as_str()).or_default();
            e.0 += def.examples.len();
            e.1 += def.negatives.len();
        }
        let thin: Vec<String> = per_id
            .iter()
            .filter(|(_, &(e, n))| e < 3 || n < 3)
            .map(|(id, (e, n))| format!("{id} ({e} examples, {n} negatives)"))
            .collect();
        assert!(
            thin.is_empty(),
            "fewer than 3 examples or negatives: {}",
            thin.join(", ")
        );
        for id in crate::corpus::ORIGINAL_TWELVE {
            assert!(engine.detectors().iter().any(|d| d.id == id), "{id}");
        }
    }

    /// `core` is the core file's patterns alone; naming an id of it takes every pattern of
    /// the id; the default set is every pattern of every id not marked off.
    #[test]
    fn core_is_the_core_files_patterns_and_default_every_pattern_of_its_ids() {
        let defs = rules::builtin().unwrap();
        let patterns = |selectors: &[&str]| {
            DetectorSetBuilder::new()
                .detectors(selectors.iter().copied())
                .build()
                .unwrap()
                .pattern_sources()
                .len()
        };
        let core = defs.iter().filter(|d| d.core).count();
        assert_eq!(patterns(&["core"]), core);
        let card = defs.iter().filter(|d| d.id == "credit_card").count();
        let core_card = defs
            .iter()
            .filter(|d| d.id == "credit_card" && d.core)
            .count();
        assert!(card > core_card);
        assert_eq!(patterns(&["core", "credit_card"]), core + card - core_card);
        let on = defs.iter().filter(|d| d.default_on).count();
        assert_eq!(
            DetectorSetBuilder::new()
                .build()
                .unwrap()
                .pattern_sources()
                .len(),
            on
        );
        assert!(defs
            .iter()
            .filter(|d| d.id == "ip_address")
            .all(|d| !d.default_on));
        // Excluding `core` drops its ids whole.
        let left = DetectorSetBuilder::new()
            .detectors(["all"])
            .exclude(["core"])
            .build()
            .unwrap();
        assert!(left.detectors().iter().all(|d| d.id != "credit_card"));
    }

    #[test]
    fn unknown_detector_is_an_error() {
        let err = DetectorSetBuilder::new()
            .detectors(["credit_card", "nope"])
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownDetector);
        assert!(err.to_string().contains("nope"));
        assert!(err.to_string().contains("known ids: credit_card"));
    }

    /// Each category and each country selected alone gets a first pass laid out for its own
    /// literals (one Teddy, a folded one, two-byte keys apart, word starts): each must still
    /// give exactly what the patterns' regexes give, on every example and negative.
    #[test]
    fn every_category_and_country_alone_fast_path_equals_reference() {
        let defs = rules::builtin().unwrap();
        let separators = [" ", "\n", ", ", " and then ", "\t"];
        let mut text = String::new();
        for (k, s) in defs
            .iter()
            .flat_map(|d| d.examples.iter().chain(&d.negatives))
            .enumerate()
        {
            text.push_str(s);
            text.push_str(separators[k % separators.len()]);
        }
        let mut selectors: Vec<String> =
            ["pii", "financial", "health", "secret", "default", "core"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let mut countries: Vec<&str> = defs.iter().filter_map(|d| d.country.as_deref()).collect();
        countries.sort_unstable();
        countries.dedup();
        selectors.extend(countries.iter().map(|c| format!("country:{c}")));
        selectors.push("core,phone_number".to_string());
        let mut layouts = std::collections::BTreeSet::new();
        for selector in &selectors {
            let set = DetectorSetBuilder::new()
                .detectors(selector.split(','))
                .build()
                .unwrap();
            layouts.insert(set.plan().split(" in the first pass (").nth(1).map(|l| {
                // The kinds of searcher, without their counts.
                l.split(')')
                    .next()
                    .unwrap_or("")
                    .replace(char::is_numeric, "")
            }));
            let fast = set.scan_text(&text);
            assert!(!fast.is_empty(), "{selector} finds its examples");
            assert_eq!(fast, set.scan_reference(text.as_bytes()), "{selector}");
        }
        // The selections cover several first-pass layouts.
        assert!(layouts.len() >= 4, "{layouts:?}");
    }

    /// Every example and negative of every built-in, run together into one text with varied
    /// separators: context words of one sit near values of another, values cross lines. The fast
    /// path (literal, digit-run and context-word triggers) must give exactly what each pattern's
    /// regex alone over the whole text gives.
    #[test]
    fn all_examples_together_fast_path_equals_reference() {
        let set = DetectorSetBuilder::new()
            .detectors(["all"])
            .build()
            .unwrap();
        let defs = rules::builtin().unwrap();
        let separators = [" ", "\n", ", ", " and then ", "\n\n", "\t", "; "];
        let mut text = String::new();
        let mut k = 0usize;
        for round in 0..3 {
            for def in &defs {
                for s in def.examples.iter().chain(&def.negatives) {
                    text.push_str(s);
                    k = k.wrapping_mul(31).wrapping_add(7 + round);
                    text.push_str(separators[k % separators.len()]);
                }
            }
        }
        let fast = set.scan_text(&text);
        let slow = set.scan_reference(text.as_bytes());
        assert!(fast.len() > 20);
        assert_eq!(fast, slow);
    }
}
