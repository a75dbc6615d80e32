//! `dlp-engine` finds sensitive data (card numbers, national ids, IBANs, API keys, private keys,
//! and whatever custom rules describe) in text, fast.
//!
//! Build an [`Engine`] once with an [`EngineBuilder`]; it is immutable and `Send + Sync`. Scan
//! with the one-shot helpers, or with a [`Scanner`] per thread, which keeps scratch space between
//! scans:
//!
//! ```
//! use dlp_engine::EngineBuilder;
//!
//! let engine = EngineBuilder::new().build()?;
//! for finding in engine.scan_text("card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE") {
//!     println!("{} {} at {}..{}", finding.detector, finding.masked, finding.start, finding.end);
//! }
//! # let dir = std::env::temp_dir().join(format!("dlp-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let path = dir.join("notes.txt");
//! # std::fs::write(&path, "ssn: 536-22-8813").unwrap();
//! let findings = engine.scan_path(&path)?;
//! assert_eq!(findings[0].detector, "us_ssn");
//! assert_eq!(findings[0].masked, "***-**-8813");
//! # Ok::<(), dlp_engine::Error>(())
//! ```
//!
//! How it works: every detector is compiled into a cheap trigger (a literal in one shared first
//! pass, a run of token bytes, a digit-run scan, or an `@` scan) and a `regex-automata` regex
//! that only runs in a bounded region around each trigger, followed by the detector's validator
//! (Luhn, mod-97, SSN rules, JWT header, PEM body, entropy) and context-word check. Text in
//! which no trigger fires costs one pass of each trigger scan. Findings never hold the value:
//! they carry a masked preview and a SHA-256 fingerprint of the normalized value.

#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod batch;
pub mod corpus;
mod digits;
mod engine;
mod error;
pub mod extract;
mod finding;
mod literals;
mod prefilter;
mod reference;
mod rules;
mod scan;
mod validate;

pub use crate::batch::{Batch, DocumentReport, Extraction, FileReport, Skipped};
pub use crate::engine::{DetectorInfo, Engine, EngineBuilder};
pub use crate::error::{Error, ErrorKind};
pub use crate::extract::SkipReason;
pub use crate::finding::{Category, Confidence, Finding};
pub use crate::scan::{Scanner, DEFAULT_CHUNK_SIZE};
pub use crate::validate::Validator;
