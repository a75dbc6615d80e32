//! Where the results of an inspection go: a [`Sink`] receives findings and skipped items, each
//! with the item it belongs to, and an [`ItemReport`] when an item is done. Any call can stop the
//! scan ([`Flow::Stop`]) or fail it with the sink's own error, which reaches the caller as
//! [`ScanError::Sink`]. This module owns the trait, the report types and [`Collect`]; it never
//! scans.

use std::convert::Infallible;
use std::path::{Path, PathBuf};

use dlp_detect::{Finding, Flow};
use dlp_extract::{FileType, SkipReason};

/// An item (or a member inside it) that was not, or not fully, inspected, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Path inside containers (`inner/b.zip/c.docx`), `None` for the item itself.
    pub member: Option<String>,
    /// Why.
    pub reason: SkipReason,
    /// What happened, for a person.
    pub detail: String,
}

/// What inspecting one item (a file, a buffer, a stream) produced, once it is done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemReport {
    /// The item: its path, or the name given to the request.
    pub path: PathBuf,
    /// Bytes of content read.
    pub bytes: u64,
    /// Items inspected: the item itself and any members inside it.
    pub items_scanned: u64,
    /// Findings given to the sink.
    pub findings: u64,
    /// Findings accepted by the allow-list or the baseline: counted, not given to the sink.
    pub allowed: u64,
    /// Skips given to the sink (the item's own and its members').
    pub skipped: u64,
    /// The item's detected type, when it was read.
    pub file_type: Option<FileType>,
}

/// Receives what an inspection finds, in the manner of ripgrep's `Sink`.
///
/// Within one item, findings come in order of position within each member (findings of rules
/// with a `min_count` when their rule reaches it); in a [batch](crate::Batch), items come in the
/// order they finish. Every item ends with exactly one [`Sink::finished`] call.
pub trait Sink {
    /// What the sink can fail with (an output that cannot be written, say).
    type Error;

    /// A finding in the item `item`.
    fn finding(&mut self, item: &Path, finding: Finding) -> Result<Flow, Self::Error>;

    /// An item, or a member inside it, that was not (fully) inspected. Nothing is dropped
    /// silently: a skip inside an item with findings is reported too.
    fn skipped(&mut self, item: &Path, skipped: Skipped) -> Result<Flow, Self::Error>;

    /// The item is done: its totals.
    fn finished(&mut self, report: &ItemReport) -> Result<Flow, Self::Error> {
        let _ = report;
        Ok(Flow::Continue)
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    type Error = S::Error;

    fn finding(&mut self, item: &Path, finding: Finding) -> Result<Flow, S::Error> {
        (**self).finding(item, finding)
    }

    fn skipped(&mut self, item: &Path, skipped: Skipped) -> Result<Flow, S::Error> {
        (**self).skipped(item, skipped)
    }

    fn finished(&mut self, report: &ItemReport) -> Result<Flow, S::Error> {
        (**self).finished(report)
    }
}

/// Keeps everything, for callers that want the results of a few items in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collect {
    /// Every finding, with its item.
    pub findings: Vec<(PathBuf, Finding)>,
    /// Every skip, with its item.
    pub skipped: Vec<(PathBuf, Skipped)>,
    /// One report per finished item.
    pub reports: Vec<ItemReport>,
}

impl Collect {
    /// The findings alone, without their items.
    pub fn into_findings(self) -> Vec<Finding> {
        self.findings.into_iter().map(|(_, f)| f).collect()
    }

    /// Whether a skip of `reason` was reported.
    pub fn skipped_for(&self, reason: SkipReason) -> bool {
        self.skipped.iter().any(|(_, s)| s.reason == reason)
    }
}

impl Sink for Collect {
    type Error = Infallible;

    fn finding(&mut self, item: &Path, finding: Finding) -> Result<Flow, Infallible> {
        self.findings.push((item.to_path_buf(), finding));
        Ok(Flow::Continue)
    }

    fn skipped(&mut self, item: &Path, skipped: Skipped) -> Result<Flow, Infallible> {
        self.skipped.push((item.to_path_buf(), skipped));
        Ok(Flow::Continue)
    }

    fn finished(&mut self, report: &ItemReport) -> Result<Flow, Infallible> {
        self.reports.push(report.clone());
        Ok(Flow::Continue)
    }
}

/// The counters every front door keeps of a run (`dlp scan`'s summary, the connector's): one
/// definition, so that their figures mean the same.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Top-level items finished (files, uploads, messages), scanned or skipped.
    pub files: u64,
    /// Items scanned: top-level items and the members inside them.
    pub items_scanned: u64,
    /// Items (or members) not inspected, by reason.
    pub items_skipped: std::collections::BTreeMap<String, u64>,
    /// Bytes of content read.
    pub bytes: u64,
    /// Findings by detector id.
    pub findings: std::collections::BTreeMap<String, u64>,
    /// All findings reported.
    pub findings_total: u64,
    /// Findings accepted by the allow-list or the baseline, not reported.
    pub findings_allowed: u64,
}

impl Tally {
    /// Counts a finding.
    pub fn finding(&mut self, finding: &Finding) {
        *self.findings.entry(finding.detector.clone()).or_default() += 1;
        self.findings_total += 1;
    }

    /// Counts a skip, under its reason as written in records.
    pub fn skipped(&mut self, reason: &str) {
        *self.items_skipped.entry(reason.to_string()).or_default() += 1;
    }

    /// Counts a finished item.
    pub fn finished(&mut self, report: &ItemReport) {
        self.files += 1;
        self.items_scanned += report.items_scanned;
        self.bytes += report.bytes;
        self.findings_allowed += report.allowed;
    }

    /// All skips.
    pub fn skipped_total(&self) -> u64 {
        self.items_skipped.values().sum()
    }
}
