//! Rule sets for `dlp bench --rules`: a TOML rule file as `dlp scan` takes it, or a
//! secrets-patterns-db YAML file (`patterns: - pattern: {name, regex, confidence}`) converted to
//! rules.
//!
//! The conversion is the only thing this module does; it never compiles anything. Third-party
//! sets carry duplicates and regexes our engine rejects, so a converted set is loaded with
//! `skip_invalid_rules` and what was dropped (and why) is reported, not hidden.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

/// A rule file ready for [`dlp_engine::EngineBuilder::rules_toml`].
#[derive(Debug)]
pub struct RuleSet {
    /// TOML text in the engine's rule format.
    pub toml: String,
    /// The file's format: `toml` or `secrets-patterns-db yaml`.
    pub format: &'static str,
    /// Entries in the file (for YAML, before de-duplication).
    pub entries: usize,
    /// Entries dropped before compilation, with the reason: `duplicate regex of <id>`.
    pub dropped: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
struct SecretsDb {
    patterns: Vec<SecretsEntry>,
}

#[derive(Debug, Deserialize)]
struct SecretsEntry {
    pattern: SecretsPattern,
}

#[derive(Debug, Deserialize)]
struct SecretsPattern {
    name: String,
    regex: String,
    #[serde(default)]
    confidence: Option<String>,
}

#[derive(Debug, Serialize)]
struct RuleFile {
    rule: Vec<Rule>,
}

#[derive(Debug, Serialize)]
struct Rule {
    id: String,
    description: String,
    pattern: String,
    confidence: &'static str,
}

/// Reads a rule file, telling TOML from YAML by extension, then by content.
pub fn load(path: &Path) -> anyhow::Result<RuleSet> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read rule file {}", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let yaml = match ext.as_deref() {
        Some("yml" | "yaml") => true,
        Some("toml") => false,
        _ => text.trim_start().starts_with("patterns:"),
    };
    if yaml {
        from_secrets_db(&text).with_context(|| {
            format!(
                "{}: not a secrets-patterns-db rule file (expected `patterns:` with \
                 `- pattern: {{name, regex, confidence}}` entries)",
                path.display()
            )
        })
    } else {
        let entries = text
            .lines()
            .filter(|l| l.trim_start().starts_with("[[rule]]"))
            .count();
        Ok(RuleSet {
            toml: text,
            format: "toml",
            entries,
            dropped: Vec::new(),
        })
    }
}

/// Converts secrets-patterns-db YAML to the engine's TOML rules: ids are slugs of the names
/// (`AWS API Key` → `aws_api_key`, made unique with a numeric suffix); an entry whose regex
/// repeats an earlier one is dropped, since it could only report the same matches twice.
pub fn from_secrets_db(text: &str) -> anyhow::Result<RuleSet> {
    let db: SecretsDb = serde_norway::from_str(text)?;
    if db.patterns.is_empty() {
        bail!("the file has no patterns");
    }
    let mut ids: HashSet<String> = HashSet::new();
    let mut by_regex: BTreeMap<&str, String> = BTreeMap::new();
    let mut rules = Vec::new();
    let mut dropped = Vec::new();
    for entry in &db.patterns {
        let p = &entry.pattern;
        let base = slug(&p.name);
        if let Some(first) = by_regex.get(p.regex.as_str()) {
            dropped.push((base, format!("duplicate regex of `{first}`")));
            continue;
        }
        let mut id = base.clone();
        let mut n = 2;
        while !ids.insert(id.clone()) {
            id = format!("{base}_{n}");
            n += 1;
        }
        by_regex.insert(&p.regex, id.clone());
        let confidence = match p
            .confidence
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("high") => "high",
            Some("low") => "low",
            _ => "medium",
        };
        rules.push(Rule {
            id,
            description: p.name.clone(),
            pattern: p.regex.clone(),
            confidence,
        });
    }
    let toml = toml::to_string(&RuleFile { rule: rules }).context("cannot write rules as TOML")?;
    Ok(RuleSet {
        toml,
        format: "secrets-patterns-db yaml",
        entries: db.patterns.len(),
        dropped,
    })
}

/// `AWS API Key` → `aws_api_key`; never empty.
fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("rule");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for (name, want) in [
            ("AWS API Key", "aws_api_key"),
            ("  Slack Webhook (legacy) ", "slack_webhook_legacy"),
            ("日本", "rule"),
            ("a--b", "a_b"),
        ] {
            assert_eq!(slug(name), want, "{name}");
        }
    }

    #[test]
    fn secrets_db_conversion() {
        let yaml = "patterns:\n  - pattern:\n      name: AWS API Key\n      regex: AKIA[0-9A-Z]{16}\n      confidence: high\n  - pattern:\n      name: AWS API Key\n      regex: 'ASIA[0-9A-Z]{16}'\n      confidence: low\n  - pattern:\n      name: Copy\n      regex: AKIA[0-9A-Z]{16}\n      confidence: high\n  - pattern:\n      name: Folded\n      regex:\n        'abc[\n        0-9]'\n      confidence: weird\n";
        let set = from_secrets_db(yaml).unwrap();
        assert_eq!(set.entries, 4);
        assert_eq!(
            set.dropped,
            [(
                "copy".to_string(),
                "duplicate regex of `aws_api_key`".to_string()
            )]
        );
        assert!(set.toml.contains("id = \"aws_api_key_2\""), "{}", set.toml);
        assert!(set.toml.contains("pattern = \"abc[ 0-9]\""), "{}", set.toml);
        assert!(set.toml.contains("confidence = \"medium\""), "{}", set.toml);
        assert!(from_secrets_db("patterns: []\n").is_err());
        assert!(from_secrets_db("rule: 3\n").is_err());
    }
}
