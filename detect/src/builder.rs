//! Building a [`DetectorSet`]: which definitions (built-in, custom rule files, a selection of
//! ids), compiled by `compile`, then each custom rule held to its own examples and negatives by
//! scanning them. This module owns the choice of definitions; it neither compiles patterns nor
//! scans beyond those examples.

use std::path::Path;

use crate::compile::{compile, DetectorSet};
use crate::error::{Error, ErrorKind};
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

    /// Keeps only the detectors with these ids (built-in or custom). Unknown ids make
    /// [`DetectorSetBuilder::build`] fail with [`ErrorKind::UnknownDetector`].
    pub fn detectors<I, S>(&mut self, ids: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.only = Some(ids.into_iter().map(Into::into).collect());
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
        for (origin, text) in &self.rule_sources {
            for def in rules::parse_rule_file(text, origin)? {
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
        if let Some(only) = &self.only {
            let unknown: Vec<&str> = only
                .iter()
                .filter(|id| !defs.iter().any(|(d, _)| &d.id == *id))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                let mut known: Vec<&str> = defs.iter().map(|(d, _)| d.id.as_str()).collect();
                known.dedup();
                return Err(Error::new(
                    ErrorKind::UnknownDetector,
                    format!(
                        "unknown detector id(s): {}; known: {}",
                        unknown.join(", "),
                        known.join(", ")
                    ),
                ));
            }
            defs.retain(|(d, _)| only.contains(&d.id));
        }
        let set = compile(defs, self.skip_invalid)?;
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
    fn builtin_examples() {
        let engine = DetectorSetBuilder::new().build().unwrap();
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
        for id in [
            "credit_card",
            "us_ssn",
            "iban",
            "email",
            "aws_access_key_id",
            "github_token",
            "openai_api_key",
            "slack_token",
            "stripe_secret_key",
            "google_api_key",
            "private_key",
            "jwt",
        ] {
            assert!(engine.detectors().iter().any(|d| d.id == id), "{id}");
        }
    }

    #[test]
    fn unknown_detector_is_an_error() {
        let err = DetectorSetBuilder::new()
            .detectors(["credit_card", "nope"])
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownDetector);
        assert!(err.to_string().contains("nope"));
        assert!(err.to_string().contains("known: credit_card"));
    }
}
