//! `dlp scan --format sarif`: the run as one SARIF 2.1.0 log, for code-scanning tools.
//!
//! - One rule per detector of the run (id, description, confidence rule, category, country),
//!   with a default level from the detector's confidence; one result per finding, its level
//!   from the finding's own confidence (high: `error`, medium: `warning`, low: `note`).
//! - Results locate their file by a URI relative to the working directory (`%SRCROOT%`), or
//!   an absolute `file://` URI, or the object URL. A finding in a file scanned as it lies (text,
//!   CSV) has a region: line, column (in Unicode code points: the run's `columnKind`), and the
//!   byte offset and length in the file. A finding in extracted text (a document, an archive
//!   member, a decompressed stream) has no region, since its offsets are in the extracted text,
//!   not in the file: its member, location and line in the extracted text are in its message
//!   and its properties.
//! - Each result carries the finding's keyed fingerprint as a partial fingerprint, so that a
//!   code-scanning service recognises the same value across runs, and the masked preview only:
//!   never the value.
//! - Items not inspected are tool notifications of the invocation (level `warning`; `note` for
//!   paths left out on purpose, which are listed only with `--report-skipped`).
//!
//! The log is written when the run ends, results sorted by path and position.

use std::collections::HashSet;
use std::io::Write;

use dlp_engine::{Confidence, DetectorInfo, FileType, Finding, ItemReport, SkipReason, Skipped};
use serde_json::{json, Value};

/// The URI base of relative paths: the directory `dlp` ran in.
const SRCROOT: &str = "%SRCROOT%";

/// The findings and skips of a run, kept until it ends.
#[derive(Debug, Default)]
pub struct SarifLog {
    findings: Vec<(String, Finding)>,
    skips: Vec<(String, Skipped)>,
    /// Items scanned as they lie, whose findings' offsets are the file's.
    as_it_lies: HashSet<String>,
}

impl SarifLog {
    pub fn finding(&mut self, path: String, finding: Finding) {
        self.findings.push((path, finding));
    }

    pub fn skipped(&mut self, path: String, skipped: Skipped) {
        self.skips.push((path, skipped));
    }

    pub fn finished(&mut self, path: String, report: &ItemReport) {
        if matches!(report.file_type, Some(FileType::Text | FileType::Csv)) {
            self.as_it_lies.insert(path);
        }
    }

    /// Writes the log: `detectors` are the run's rules; `successful` is false when the run
    /// failed as a whole (a path given that does not exist).
    pub fn write(
        mut self,
        out: &mut (impl Write + ?Sized),
        detectors: &[DetectorInfo],
        successful: bool,
    ) -> std::io::Result<()> {
        self.findings.sort_by(|(a, x), (b, y)| {
            (a, &x.member, x.start, &x.detector).cmp(&(b, &y.member, y.start, &y.detector))
        });
        self.skips
            .sort_by(|(a, x), (b, y)| (a, &x.member).cmp(&(b, &y.member)));
        let rules: Vec<Value> = detectors.iter().map(rule).collect();
        let index = |id: &str| detectors.iter().position(|d| d.id == id);
        let results: Vec<Value> = self
            .findings
            .iter()
            .map(|(path, f)| result(path, f, index(&f.detector), &self.as_it_lies))
            .collect();
        let notifications: Vec<Value> = self
            .skips
            .iter()
            .map(|(path, s)| notification(path, s))
            .collect();
        let root = std::env::current_dir()
            .ok()
            .and_then(|dir| dir.to_str().map(|d| format!("file://{}/", encode(d))));
        let mut run = json!({
            "tool": {
                "driver": {
                    "name": "dlp",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "invocations": [{
                "executionSuccessful": successful,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        });
        if let Some(root) = root {
            run["originalUriBaseIds"] = json!({ SRCROOT: { "uri": root } });
        }
        let log = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [run],
        });
        serde_json::to_writer_pretty(&mut *out, &log)?;
        writeln!(out)
    }
}

fn level(confidence: Confidence) -> &'static str {
    match confidence {
        Confidence::High => "error",
        Confidence::Medium => "warning",
        Confidence::Low => "note",
    }
}

/// A detector as a SARIF reporting descriptor.
fn rule(d: &DetectorInfo) -> Value {
    let short = d
        .description
        .split_once(". ")
        .map_or(d.description.as_str(), |(first, _)| first)
        .trim_end_matches('.');
    let mut tags = vec!["security".to_string(), d.category.as_str().to_string()];
    if let Some(country) = &d.country {
        tags.push(format!("country:{country}"));
    }
    json!({
        "id": d.id,
        "name": d.id,
        "shortDescription": { "text": format!("{short}.") },
        "fullDescription": { "text": d.description },
        "help": {
            "text": format!("{} Confidence: {}.", d.description, d.confidence_rule),
        },
        "defaultConfiguration": { "level": level(d.confidence) },
        "properties": {
            "tags": tags,
            "category": d.category.as_str(),
            "country": d.country,
            "confidence": d.confidence.as_str(),
            "confidenceRule": d.confidence_rule,
            "builtin": d.builtin,
        },
    })
}

/// Where a path is, as a SARIF artifact location.
fn artifact(path: &str) -> Value {
    if dlp_store::is_object_url(path) {
        json!({ "uri": path })
    } else if path == "-" {
        json!({ "uri": "stdin" })
    } else if let Some(absolute) = path.strip_prefix('/') {
        json!({ "uri": format!("file:///{}", encode(absolute)) })
    } else {
        json!({ "uri": encode(path.trim_start_matches("./")), "uriBaseId": SRCROOT })
    }
}

fn result(
    path: &str,
    f: &Finding,
    rule_index: Option<usize>,
    as_it_lies: &HashSet<String>,
) -> Value {
    let in_file = f.member.is_none() && f.location.is_none() && as_it_lies.contains(path);
    let mut text = format!(
        "{} ({}, {} confidence): {}",
        f.detector,
        f.category.as_str(),
        f.confidence.as_str(),
        f.masked
    );
    if let Some(member) = &f.member {
        text.push_str(&format!(" in {member}"));
    }
    if let Some(location) = &f.location {
        text.push_str(&format!(" ({location})"));
    }
    if !in_file {
        text.push_str(&format!(", line {} of the extracted text", f.line));
    }
    if f.ocr {
        text.push_str(", recognised by OCR");
    }
    let mut location = json!({ "physicalLocation": { "artifactLocation": artifact(path) } });
    if in_file {
        location["physicalLocation"]["region"] = json!({
            "startLine": f.line.max(1),
            "startColumn": f.column.max(1),
            "byteOffset": f.start,
            "byteLength": f.end - f.start,
        });
    }
    let mut result = json!({
        "ruleId": f.detector,
        "level": level(f.confidence),
        "message": { "text": text },
        "locations": [location],
        "partialFingerprints": { "dlpFingerprint/v1": f.fingerprint },
        "properties": {
            "category": f.category.as_str(),
            "confidence": f.confidence.as_str(),
            "masked": f.masked,
            "member": f.member,
            "location": f.location,
            "line": f.line,
            "column": f.column,
            "ocr": f.ocr,
        },
    });
    if let Some(i) = rule_index {
        result["ruleIndex"] = json!(i);
    }
    result
}

fn notification(path: &str, s: &Skipped) -> Value {
    let on_purpose = matches!(s.reason, SkipReason::Excluded | SkipReason::FilteredType);
    let mut text = path.to_string();
    if let Some(member) = &s.member {
        text.push_str(&format!(" (member {member})"));
    }
    text.push_str(&format!(
        " not inspected: {} ({})",
        s.detail,
        s.reason.as_str()
    ));
    json!({
        "level": if on_purpose { "note" } else { "warning" },
        "message": { "text": text },
        "descriptor": { "id": s.reason.as_str() },
        "locations": [{ "physicalLocation": { "artifactLocation": artifact(path) } }],
        "properties": { "reason": s.reason.as_str(), "member": s.member },
    })
}

/// Percent-encodes a path for a URI: unreserved characters and `/` stay.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uris() {
        assert_eq!(encode("a b/ü#1.txt"), "a%20b/%C3%BC%231.txt");
        assert_eq!(
            artifact("./dir/x y.txt"),
            json!({"uri": "dir/x%20y.txt", "uriBaseId": SRCROOT})
        );
        assert_eq!(artifact("/tmp/a%b"), json!({"uri": "file:///tmp/a%25b"}));
        assert_eq!(artifact("s3://bucket/k"), json!({"uri": "s3://bucket/k"}));
    }
}
