//! `dlp-detect` finds sensitive data (card numbers, national ids, IBANs, API keys, private keys,
//! and whatever custom rules describe) in text, fast. It scans bytes, text and readers; it knows
//! nothing of files, document formats or processes (that is `dlp-extract`, and `dlp-engine`
//! composes the two).
//!
//! Build a [`DetectorSet`] once with a [`DetectorSetBuilder`]; it is immutable and
//! `Send + Sync`. Scan with the one-shot helpers, or with a [`Scanner`] per thread, which keeps
//! scratch space between scans and hands findings to a [`FindingSink`]:
//!
//! ```
//! use dlp_detect::DetectorSetBuilder;
//!
//! let detectors = DetectorSetBuilder::new().build()?;
//! for finding in detectors.scan_text("card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE") {
//!     println!("{} {} at {}..{}", finding.detector, finding.masked, finding.start, finding.end);
//! }
//! let mut scanner = detectors.scanner();
//! let mut findings = Vec::new();
//! scanner.scan_reader(&b"ssn: 536-22-8813"[..], &mut findings).map_err(|e| e.into_scan_error())?;
//! assert_eq!(findings[0].detector, "us_ssn");
//! assert_eq!(findings[0].masked, "***-**-8813");
//! # Ok::<(), dlp_detect::Error>(())
//! ```
//!
//! How it works: every detector is compiled into a cheap trigger (a literal in one shared first
//! pass, a run of token bytes, a digit-run scan, or an `@` scan) and a `regex-automata` regex
//! that only runs in a bounded region around each trigger, followed by the detector's validator
//! (Luhn, mod-97, SSN rules, JWT header, PEM body, entropy) and context-word check. Text in
//! which no trigger fires costs one pass of each trigger scan. Findings never hold the value:
//! they carry a masked preview and a fingerprint of the normalized value (SHA-256, or
//! HMAC-SHA-256 under a key: see [`Fingerprints`]).
//!
//! Modules, each using only those before it (no import circle): `error`, `finding`, `sink`,
//! `literals` and `digits`; `validate`; `rules` (definitions as data); `prefilter` (the literal
//! first pass, with its own target type); `compile` (the [`DetectorSet`]); `confirm` (what a
//! confirmed match becomes: validation, context, the finding, `min_count`); `scan`
//! (confirmation, validation, chunking, the [`Scanner`]); `parallel` (one item over several
//! threads) and `builder` (which definitions; each custom rule's examples are scanned).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod allow;
mod builder;
mod checks;
mod classes;
mod compile;
mod confirm;
#[cfg(feature = "bench")]
pub mod corpus;
#[cfg(feature = "bench")]
pub mod decoys;
mod digits;
mod error;
mod finding;
mod fingerprint;
mod literals;
mod parallel;
mod prefilter;
#[cfg(feature = "bench")]
mod reference;
mod rules;
mod run_context;
mod run_shape;
mod scan;
mod shape;
mod sink;
#[cfg(test)]
mod test_rng;
mod validate;

pub use crate::builder::DetectorSetBuilder;
pub use crate::compile::{DetectorInfo, DetectorSet};
pub use crate::error::{Error, ErrorKind};
pub use crate::finding::{Category, Confidence, Finding};
pub use crate::fingerprint::{Fingerprints, KEY_LEN};
pub use crate::parallel::ChunkSource;
pub use crate::scan::{Scanner, DEFAULT_CHUNK_SIZE};
pub use crate::sink::{FindingSink, Flow, ScanError};
pub use crate::validate::Validator;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_are_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<DetectorSet>();
        assert::<DetectorSetBuilder>();
        assert::<Error>();
        assert::<Finding>();
    }
}
