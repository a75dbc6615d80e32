//! The seam between the connector and the inspection engine: an [`Inspector`] finds sensitive
//! values in a text (a message, a tool call's string) and in a downloaded file. Production
//! inspects with [`dlp_engine::Engine`], which detects a file's type from its content, extracts
//! documents and archives in isolated worker processes under its limits, and reports every skip
//! (the file's or a member's) with the same reasons as `dlp scan`. Tests may plug in a fake.
//!
//! This module never decides what to do with results; the scanner turns them into records.

use std::path::Path;

use dlp_engine::{Collect, Engine, Finding, Request, SkipReason, Skipped};

/// Finds sensitive values, in the engine's vocabulary. Shared across tasks.
///
/// [`Inspector::inspect_file`] may take as long as a document's extraction (up to the engine's
/// time limit): the connector calls it on tokio's blocking pool, never on the async runtime, so
/// that polling and downloads go on meanwhile.
pub trait Inspector: Send + Sync + std::fmt::Debug {
    /// The findings in a text, in order of position.
    fn inspect_text(&self, text: &str) -> Vec<Finding>;

    /// The findings and skips of a downloaded file named `name` (the name is only reported:
    /// the type is detected from the content). A skip with no member means the file itself was
    /// not (fully) inspected; skips with a member are about parts of it, and come along with
    /// the findings of the other parts.
    fn inspect_file(&self, name: &str, bytes: &[u8]) -> Collect;
}

impl Inspector for Engine {
    fn inspect_text(&self, text: &str) -> Vec<Finding> {
        self.scan_text(text)
    }

    fn inspect_file(&self, name: &str, bytes: &[u8]) -> Collect {
        let mut found = Collect::default();
        // `Collect` never fails; the remaining error is a scanning thread that died, which
        // costs this file, not the scan.
        if let Err(e) = self.scan(Request::bytes(bytes).name(Path::new(name)), &mut found) {
            found.skipped.push((
                name.into(),
                Skipped {
                    member: None,
                    reason: SkipReason::BrokenFile,
                    detail: format!("inspection failed: {e}"),
                },
            ));
        }
        found
    }
}
