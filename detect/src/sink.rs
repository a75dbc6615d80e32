//! Where findings go: a [`FindingSink`] receives each finding of a scan and may stop the scan
//! ([`Flow::Stop`]) or fail it (its own error type, which reaches the caller), in the manner of
//! ripgrep's `Sink`. This module owns the trait and its plain implementations; it never scans.

use std::convert::Infallible;

use crate::error::Error;
use crate::finding::Finding;

/// Whether a scan goes on after its sink was given something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on scanning.
    Continue,
    /// End the scan: nothing more is given to the sink, and the scan returns normally.
    Stop,
}

/// Receives the findings of a scan, in order of position within each item (findings of rules
/// with a `min_count` come when their rule reaches it).
pub trait FindingSink {
    /// What the sink can fail with (an output that cannot be written, say). The scan stops and
    /// returns it as [`ScanError::Sink`].
    type Error;

    /// Takes one finding.
    fn finding(&mut self, finding: Finding) -> Result<Flow, Self::Error>;
}

/// Collects every finding.
impl FindingSink for Vec<Finding> {
    type Error = Infallible;

    fn finding(&mut self, finding: Finding) -> Result<Flow, Infallible> {
        self.push(finding);
        Ok(Flow::Continue)
    }
}

impl<S: FindingSink + ?Sized> FindingSink for &mut S {
    type Error = S::Error;

    fn finding(&mut self, finding: Finding) -> Result<Flow, S::Error> {
        (**self).finding(finding)
    }
}

/// Why a scan ended early: the scan itself failed (reading its input, a scanning thread), or the
/// sink did.
#[derive(Debug)]
pub enum ScanError<E> {
    /// Reading the input failed, or a scanning thread died.
    Scan(Error),
    /// The sink failed; its error, untouched.
    Sink(E),
}

impl<E: std::fmt::Display> std::fmt::Display for ScanError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::Scan(e) => e.fmt(f),
            ScanError::Sink(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ScanError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScanError::Scan(e) => Some(e),
            ScanError::Sink(e) => Some(e),
        }
    }
}

impl ScanError<Infallible> {
    /// The scan's own error, for sinks that cannot fail.
    pub fn into_scan_error(self) -> Error {
        match self {
            ScanError::Scan(e) => e,
            ScanError::Sink(never) => match never {},
        }
    }
}

/// Relays the scanner's findings to a sink until it says stop or fails; after that, nothing
/// more reaches it, and the chunk loops end at the next chunk.
pub(crate) struct Relay<'s, S: FindingSink + ?Sized> {
    sink: &'s mut S,
    outcome: Result<Flow, S::Error>,
}

impl<'s, S: FindingSink + ?Sized> Relay<'s, S> {
    pub(crate) fn new(sink: &'s mut S) -> Self {
        Relay {
            sink,
            outcome: Ok(Flow::Continue),
        }
    }

    pub(crate) fn give(&mut self, finding: Finding) {
        if self.running() {
            self.outcome = self.sink.finding(finding);
        }
    }

    pub(crate) fn running(&self) -> bool {
        matches!(self.outcome, Ok(Flow::Continue))
    }

    pub(crate) fn finish(self) -> Result<Flow, S::Error> {
        self.outcome
    }
}
