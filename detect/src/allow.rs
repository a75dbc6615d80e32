//! Allow-listing: findings that are real but known (a test card in the docs, a key already
//! rotated, last quarter's accepted findings) are marked `allowed` rather than reported. Entries
//! come from `[[allow]]` tables of rule files and from baselines (fingerprints of accepted
//! findings). This module owns matching a finding's value against them; the paths of entries
//! are matched by whoever knows paths (`dlp-engine`).

use std::collections::HashSet;

use regex_automata::meta;
use regex_automata::{Anchored, Input};

use crate::compile::Pattern;
use crate::rules::AllowDef;

/// One entry, ready to match.
#[derive(Debug)]
struct Allow {
    /// Only for these detector ids; empty: any.
    detectors: Vec<String>,
    /// Exact values, as written (compared after the detector's normalization).
    values: Vec<Vec<u8>>,
    /// Whole-value patterns.
    regexes: Vec<meta::Regex>,
    /// Fingerprints.
    fingerprints: HashSet<String>,
}

/// Every allow entry of a detector set.
#[derive(Debug, Default)]
pub(crate) struct Allowlist {
    entries: Vec<Allow>,
    /// The path globs of the entries, with their detectors, for the caller to apply.
    paths: Vec<(Vec<String>, String)>,
}

impl Allowlist {
    /// Compiles the entries; a bad pattern is an error naming it.
    pub(crate) fn build(defs: &[AllowDef]) -> Result<Allowlist, String> {
        let mut list = Allowlist::default();
        for def in defs {
            let regexes = def
                .patterns
                .iter()
                .map(|p| {
                    meta::Regex::new(&format!("^(?:{p})$"))
                        .map_err(|e| format!("allow pattern `{p}`: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            for path in &def.paths {
                list.paths.push((def.detectors.clone(), path.clone()));
            }
            if def.values.is_empty() && regexes.is_empty() && def.fingerprints.is_empty() {
                continue;
            }
            list.entries.push(Allow {
                detectors: def.detectors.clone(),
                values: def.values.iter().map(|v| v.as_bytes().to_vec()).collect(),
                regexes,
                fingerprints: def
                    .fingerprints
                    .iter()
                    .map(|f| f.to_ascii_lowercase())
                    .collect(),
            });
        }
        Ok(list)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The path globs of the entries, each with the detector ids it is limited to (empty: any).
    pub(crate) fn paths(&self) -> &[(Vec<String>, String)] {
        &self.paths
    }

    /// Whether a finding of `pattern` with this value and fingerprint is allowed.
    pub(crate) fn allows(&self, pattern: &Pattern, value: &[u8], fingerprint: &str) -> bool {
        self.entries.iter().any(|entry| {
            if !entry.detectors.is_empty() && !entry.detectors.iter().any(|d| **d == *pattern.id) {
                return false;
            }
            if entry.fingerprints.contains(fingerprint) {
                return true;
            }
            if !entry.values.is_empty() {
                let norm = pattern.normalize.apply(value);
                if entry
                    .values
                    .iter()
                    .any(|v| v == value || pattern.normalize.apply(v) == norm)
                {
                    return true;
                }
            }
            entry
                .regexes
                .iter()
                .any(|r| r.is_match(Input::new(value).anchored(Anchored::Yes)))
        })
    }
}
