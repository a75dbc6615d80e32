//! The [`Visit`] trait: everything a format reader may ask of the walk that called it (the
//! limits, the text budget and sink, the deadline, the inflation budget, and handing nested
//! items back). Readers take `&mut dyn Visit`, so they never name the walker that implements it
//! (`walker::Walker`) and the walker is the only module that dispatches to readers.
//!
//! Imports only `types`.

use crate::types::{Limits, Outcome, Skip, SkipReason};

/// The walk as a reader sees it. Calls happen per segment, entry, part or inflated chunk,
/// never per byte.
pub(crate) trait Visit {
    /// The limits of this walk.
    fn limits(&self) -> &Limits;

    /// Emits one text segment of the item being read, enforcing
    /// [`Limits::max_text_per_item`]: the part over the budget is cut (at a character
    /// boundary) and the item ends as `limit_exceeded`.
    fn text(&mut self, member: Option<&str>, location: Option<&str>, text: &str) -> Outcome;

    /// Fails with a timeout once the walk's deadline has passed.
    fn check_time(&self) -> Outcome;

    /// Reads a nested item (archive member, attachment, embedded object) at `depth`, emitting
    /// its events and its terminal event.
    fn child(&mut self, data: &[u8], member: &str, depth: u32);

    /// Reports a nested item that could not even be read out of its container.
    fn skip_child(&mut self, member: &str, skip: Skip);

    /// Room left in the walk's inflation budget, capped by the per-entry limit.
    fn inflate_cap(&self) -> u64;

    /// Records `n` bytes inflated.
    fn add_inflated(&mut self, n: u64);

    /// Recognises the text of a picture by OCR and emits it as [`Event::OcrText`] segments at
    /// `location` (`image`, `page 3`; a multi-page TIFF's pages as `page N`). The picture is an
    /// image file (PNG, JPEG, TIFF, BMP, GIF, WebP) or what `ocr::pdf_picture` makes of a PDF
    /// image. Only a walk in an isolated worker runs OCR; the default (and an in-process walk)
    /// fails with `ocr_unavailable`. See `ocr` for the limits and the reasons of failure.
    ///
    /// [`Event::OcrText`]: crate::Event::OcrText
    fn ocr(&mut self, picture: &[u8], member: Option<&str>, location: &str) -> Outcome {
        let _ = (picture, member, location);
        Err(Skip::new(
            SkipReason::OcrUnavailable,
            "OCR is not available in this walk",
        ))
    }
}
