//! `dlp-extract`: turns the bytes of one item (a file, an attachment, an archive member) into
//! text segments for the detectors, recursively and within limits.
//!
//! This crate owns type detection ([`detect`](fn@detect)), the format readers (one file per
//! family), the limits ([`Limits`]) and filters ([`Filter`]) applied while walking, and process
//! isolation ([`isolate`]). It never runs detectors and never touches the file system or the
//! network: it receives bytes and pushes [`Event`]s into a sink.
//!
//! # Events
//!
//! [`walk`] reports every item it meets, the top-level one and every member of a container
//! (archive entry, e-mail attachment, embedded OOXML object), with **exactly one terminal event**:
//! [`Event::ItemDone`] when the item was read, or [`Event::Skipped`] with a [`SkipReason`] when it
//! was not (or only partly: text emitted before a limit struck stays valid). [`Event::Text`]
//! segments of an item come before its terminal event. Members are named by their path inside
//! the containers, e.g. `inner/b.zip/c.docx`; the top-level item has `member: None`.
//!
//! ```
//! use dlp_extract::{walk, Event, Filter, Limits};
//!
//! let mut text = String::new();
//! walk(b"card 4111 1111 1111 1111", &Limits::default(), &Filter::default(), &mut |event| {
//!     if let Event::Text { text: t, .. } = event {
//!         text.push_str(t);
//!     }
//! });
//! assert_eq!(text, "card 4111 1111 1111 1111");
//! ```
//!
//! # Compressed streams
//!
//! [`walk`] inflates a compressed stream (gzip, bzip2, xz, Zstandard) whole, under the inflation
//! limits, and reads its content as a member. Content too large to hold is read as it is
//! decompressed instead, in bounded memory: [`inflate`] in this process, or
//! [`WorkerPool::inflate`](isolate::WorkerPool::inflate) in an isolated worker; `dlp-engine`
//! does so for a top-level stream whose content is plain text.
//!
//! # Safety against hostile input
//!
//! Every reader is bounded by [`Limits`]; declared sizes are never trusted (inflation is capped
//! by what was actually produced); a panic inside a third-party parser is caught and becomes a
//! [`SkipReason::BrokenFile`] skip. What `catch_unwind` cannot stop (stack overflow, abort,
//! endless loops inside a parser, huge allocations) is handled by running [`walk`] in worker
//! processes: see [`isolate`]. Images are read by OCR (the `tesseract` program, a child of the
//! worker under its own time, memory and page limits: see [`Limits::ocr`]) only there; [`walk`]
//! itself never starts it and reports images as [`SkipReason::OcrUnavailable`].
//!
//! # Modules
//!
//! The crate root only declares the modules and re-exports the public API. Module imports form
//! a DAG; in this line `a ← b` means that `b` imports only from `a` and the layers before it
//! (checked by `tests/extract_module_dag.rs`):
//!
//! `{types, decode, number, bytes} ← ocr ← visit ← {zip, xml, ole} ← {detect, text, email, pdf, archive, ooxml, odf, doc, xls, ppt, msg} ← {walker, stream} ← isolate ← lib`
//!
//! `types` holds the public types and the crate-internal `Skip`/`Outcome`; `decode` (text
//! decoding), `number` (spreadsheet numbers) and `bytes` (little-endian fields) are leaves too; `ocr` (Tesseract as a child
//! process, for images and image-only PDF pages) imports only `types`. Readers reach the walk only
//! through the `Visit` trait, so `walker` is the only module that imports them (but `stream`, which
//! reads compressed streams as they are decompressed, through `archive`'s decompressors).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod archive;
mod bytes;
mod decode;
mod detect;
mod doc;
mod email;
pub mod isolate;
mod msg;
mod number;
mod ocr;
mod odf;
mod ole;
mod ooxml;
mod pdf;
mod ppt;
mod stream;
mod text;
mod types;
mod visit;
mod walker;
mod xls;
mod xml;
mod zip;

pub use detect::{detect, is_plain_text};
pub use stream::{inflate, Inflate, InflateError};
pub use types::{Event, FileType, Filter, Limits, SkipReason, UnknownFileType};
pub use walker::walk;
