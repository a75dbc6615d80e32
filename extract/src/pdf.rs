//! The PDF reader: every page's text through `pdf-extract` (on `lopdf`), one segment per page
//! (`page N`). Documents encrypted with an empty user password (owner restrictions only) are
//! decrypted and read; others are `encrypted` skips.
//!
//! `lopdf` and `pdf-extract` are third-party parsers that can panic (caught here, per page and
//! for loading) and can also overflow the stack or loop on crafted files, which only process
//! isolation stops: PDFs are therefore never read in-process by [`crate::isolate::WorkerPool`].

use std::panic::{catch_unwind, AssertUnwindSafe};

use lopdf::Document;

use crate::types::{Outcome, Skip, SkipReason};
use crate::visit::Visit;

pub(crate) fn read(walker: &mut dyn Visit, data: &[u8], member: Option<&str>) -> Outcome {
    let loaded = catch_unwind(AssertUnwindSafe(|| Document::load_mem(data)))
        .map_err(|_| Skip::broken("pdf: parser panicked while loading"))?;
    let mut doc = loaded.map_err(|e| Skip::broken(format!("pdf: {e}")))?;
    if doc.is_encrypted() {
        let decrypted = catch_unwind(AssertUnwindSafe(|| doc.decrypt("")))
            .map_err(|_| Skip::broken("pdf: parser panicked while decrypting"))?;
        if decrypted.is_err() {
            return Err(Skip::new(SkipReason::Encrypted, "password-protected PDF"));
        }
    }
    let pages: Vec<u32> = catch_unwind(AssertUnwindSafe(|| doc.get_pages().into_keys().collect()))
        .map_err(|_| Skip::broken("pdf: parser panicked reading the page tree"))?;
    if pages.is_empty() {
        return Err(Skip::broken("pdf: no readable page"));
    }
    let mut failed = 0usize;
    let mut first_error = String::new();
    for &page in &pages {
        walker.check_time()?;
        let mut text = String::new();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut output = pdf_extract::PlainTextOutput::new(&mut text);
            pdf_extract::output_doc_page(&doc, &mut output, page)
        }));
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failed += 1;
                if first_error.is_empty() {
                    first_error = format!("page {page}: {e}");
                }
            }
            Err(_) => {
                failed += 1;
                if first_error.is_empty() {
                    first_error = format!("page {page}: parser panicked");
                }
            }
        }
        // What a page produced before failing is still worth inspecting.
        let trimmed = text.trim();
        if !trimmed.is_empty() {
            walker.text(member, Some(&format!("page {page}")), trimmed)?;
        }
    }
    if failed > 0 && failed == pages.len() {
        return Err(Skip::broken(format!(
            "pdf: no page could be read ({first_error})"
        )));
    }
    Ok(())
}
