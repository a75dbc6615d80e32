//! `dlp-engine` finds sensitive data (card numbers, national ids, IBANs, API keys, private keys,
//! and whatever custom rules describe) in text, documents, archives and files: the inspection
//! engine that embedders depend on. It composes `dlp-detect` (the detectors) and `dlp-extract`
//! (document formats, limits and isolated workers), and re-exports what an embedder needs, so
//! embedding takes this one dependency.
//!
//! Build an [`Engine`] once with an [`EngineBuilder`]; it is immutable and `Send + Sync`. Every
//! way in is one [`Request`] (bytes of any type, text, a stream, a file), and every way out a
//! [`Sink`] that receives findings and skipped items and can stop the scan; [`Collect`] keeps
//! them in memory. [`Batch`] inspects files and directories in parallel.
//!
//! ```
//! use dlp_engine::{Collect, EngineBuilder, Request};
//!
//! fn main() -> Result<(), dlp_engine::Error> {
//!     // Documents are parsed in worker processes: this executable, re-run as a worker.
//!     dlp_engine::serve_worker_if_requested();
//!     let engine = EngineBuilder::new().build()?;
//!     for finding in engine.scan_text("card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE") {
//!         println!("{} {} at {}..{}", finding.detector, finding.masked, finding.start, finding.end);
//!     }
//!     let mut found = Collect::default();
//!     let report = engine
//!         .scan(Request::bytes(b"ssn: 536-22-8813").name("notes.txt"), &mut found)
//!         .map_err(|e| e.into_scan_error())?;
//!     assert_eq!(report.items_scanned, 1);
//!     assert_eq!(found.findings[0].1.detector, "us_ssn");
//!     assert_eq!(found.findings[0].1.masked, "***-**-8813");
//!     Ok(())
//! }
//! ```
//!
//! A document's findings carry the member (inside archives) and the location (`page 3`,
//! `sheet Sales`) where they were found; their spans are offsets in the member's extracted text.
//! A file that cannot be inspected (missing, too large, encrypted, broken, hostile) is a
//! [`Skipped`] with its reason, never an error and never silently dropped.
//!
//! Modules, each using only those before it: `sink` (where results go) and `request` (what to
//! inspect); `engine` (the [`Engine`], its builder and [`Isolation`]); `source` (files read by
//! positioned reads); `inspect` (one item: type, size and type filter, text or extraction, and
//! the [`Scanner`]); `batch` (many files in parallel).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod batch;
mod engine;
mod inspect;
mod keys;
mod private_file;
mod request;
mod sink;
mod source;

pub use crate::batch::{Batch, Selection};
pub use crate::engine::{
    serve_worker_if_requested, Engine, EngineBuilder, Isolation, WorkerCommand, WORKER_ARG,
};
pub use crate::inspect::Scanner;
pub use crate::keys::{
    home_dir, installation_key, read_key_file, FingerprintKey, HOME_ENV, KEY_ENV, KEY_FILE,
};
pub use crate::private_file::write_private;
pub use crate::request::Request;
pub use crate::sink::{Collect, ItemReport, Sink, Skipped, Tally};
pub use dlp_detect::{
    Category, Confidence, DetectorInfo, DetectorSet, Error, ErrorKind, Finding, FindingSink,
    Fingerprints, Flow, ScanError, Validator,
};
pub use dlp_extract::{FileType, Filter, Limits, SkipReason};

/// Detection alone (`dlp-detect`): the compiled detector set and its text scanner, for callers
/// that need no extraction.
pub use dlp_detect as detect;
/// Extraction alone (`dlp-extract`): type detection, formats, limits and the worker pool.
pub use dlp_extract as extract;

/// The benchmark corpus generator (deterministic text with planted values), with the `bench`
/// feature: for tests, benchmarks and `dlp bench`, not product API.
#[cfg(feature = "bench")]
pub use dlp_detect::{corpus, decoys};
