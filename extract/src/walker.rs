//! The walk: [`walk`] and the [`Walker`] that carries one top-level walk's state (limits,
//! filter, deadline, inflation and text budgets, the sink). It checks each item against the
//! limits and the filter, detects its type, dispatches to the format reader, turns a reader's
//! panic into a `broken_file` skip, and emits every item's terminal event. Readers call back
//! through [`Visit`], which the walker implements.
//!
//! This is the only module that imports the format readers.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use crate::detect::detect;
use crate::types::{panic_message, Event, FileType, Filter, Limits, Outcome, Skip, SkipReason};
use crate::visit::Visit;
use crate::{archive, doc, email, msg, ocr, odf, ooxml, pdf, ppt, text, xls};

/// Extracts the text of `data` and of everything nested in it, pushing [`Event`]s into `sink`.
///
/// Never panics and never fails: every problem becomes a [`Event::Skipped`] of the item
/// concerned. Runs in the calling thread; for untrusted input prefer
/// [`isolate::WorkerPool::walk`](crate::isolate::WorkerPool::walk), which runs this in a
/// killable, memory-capped process. Images are not OCR'd here (they end as `ocr_unavailable`
/// skips): OCR runs only in the isolated workers.
pub fn walk(data: &[u8], limits: &Limits, filter: &Filter, sink: &mut dyn FnMut(Event<'_>)) {
    Walker::new(limits, filter, sink).item(data, None, 0);
}

/// [`walk`] as an isolated worker runs it: with OCR.
pub(crate) fn walk_isolated(
    data: &[u8],
    limits: &Limits,
    filter: &Filter,
    sink: &mut dyn FnMut(Event<'_>),
) {
    let mut walker = Walker::new(limits, filter, sink);
    walker.isolated = true;
    walker.item(data, None, 0);
}

/// The state of one top-level walk: limits, shared budgets, and the sink.
struct Walker<'w> {
    limits: &'w Limits,
    filter: &'w Filter,
    sink: &'w mut dyn FnMut(Event<'_>),
    deadline: Instant,
    /// Bytes inflated so far over the whole walk (all members).
    inflated: u64,
    /// Bytes of text emitted so far for the item being read.
    text_used: u64,
    /// Whether this walk runs in an isolated worker, the only place OCR may run.
    isolated: bool,
    /// Images and pages OCR'd so far over the whole walk.
    ocr_pages: u32,
}

impl<'w> Walker<'w> {
    fn new(
        limits: &'w Limits,
        filter: &'w Filter,
        sink: &'w mut dyn FnMut(Event<'_>),
    ) -> Walker<'w> {
        Walker {
            limits,
            filter,
            sink,
            deadline: Instant::now() + limits.time_per_item,
            inflated: 0,
            text_used: 0,
            isolated: false,
            ocr_pages: 0,
        }
    }

    /// Reads one item and emits its terminal event. `depth` is its nesting depth.
    fn item(&mut self, data: &[u8], member: Option<&str>, depth: u32) {
        let outcome = self.item_inner(data, member, depth);
        match outcome {
            Ok(file_type) => (self.sink)(Event::ItemDone { member, file_type }),
            Err(skip) => (self.sink)(Event::Skipped {
                member,
                reason: skip.reason,
                detail: &skip.detail,
            }),
        }
    }

    fn item_inner(&mut self, data: &[u8], member: Option<&str>, depth: u32) -> Outcome<FileType> {
        if depth > self.limits.max_depth {
            return Err(Skip::limit(format!(
                "nested deeper than {} levels",
                self.limits.max_depth
            )));
        }
        let size = data.len() as u64;
        if size > self.limits.max_file_size {
            return Err(Skip::limit(format!(
                "{size} bytes, over the {}-byte limit",
                self.limits.max_file_size
            )));
        }
        if let Some(max) = self.filter.max_file_size {
            if size > max {
                return Err(Skip::new(
                    SkipReason::TooLarge,
                    format!("{size} bytes, over the {max}-byte maximum"),
                ));
            }
        }
        self.check_time()?;
        let file_type = detect(data);
        if !self.filter.allows(file_type) {
            return Err(Skip::new(
                SkipReason::FilteredType,
                format!("type {file_type} is not in the allow-list"),
            ));
        }
        // Each item has its own text budget; restore the parent's when done.
        let parent_text = std::mem::replace(&mut self.text_used, 0);
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.read(file_type, data, member, depth)
        }));
        self.text_used = parent_text;
        match result {
            Ok(Ok(())) => Ok(file_type),
            Ok(Err(skip)) => Err(skip),
            Err(panic) => Err(Skip::broken(format!(
                "{file_type} parser panicked: {}",
                panic_message(&panic)
            ))),
        }
    }

    fn read(
        &mut self,
        file_type: FileType,
        data: &[u8],
        member: Option<&str>,
        depth: u32,
    ) -> Outcome {
        match file_type {
            FileType::Text => text::read_text(self, data, member),
            FileType::Csv => text::read_text(self, data, member),
            FileType::Json => text::read_json(self, data, member),
            FileType::Html => text::read_html(self, data, member),
            FileType::Xml => text::read_xml(self, data, member),
            FileType::Rtf => text::read_rtf(self, data, member),
            FileType::Eml => email::read(self, data, member, depth),
            FileType::Pdf => pdf::read(self, data, member),
            FileType::Docx | FileType::Xlsx | FileType::Pptx => {
                ooxml::read(self, file_type, data, member, depth)
            }
            FileType::Odt | FileType::Ods | FileType::Odp => {
                odf::read(self, file_type, data, member, depth)
            }
            FileType::Zip => archive::read_zip(self, data, member, depth),
            FileType::Gzip => archive::read_gzip(self, data, member, depth),
            FileType::Tar => archive::read_tar(self, data, member, depth),
            FileType::SevenZip => archive::read_7z(self, data, member, depth),
            FileType::Bzip2 => archive::read_bzip2(self, data, member, depth),
            FileType::Xz => archive::read_xz(self, data, member, depth),
            FileType::Zstd => archive::read_zstd(self, data, member, depth),
            FileType::EncryptedOffice => Err(Skip::new(
                SkipReason::Encrypted,
                "password-protected Office document",
            )),
            FileType::Doc => doc::read(self, data, member),
            FileType::Xls => xls::read_xls(self, data, member),
            FileType::Xlsb => xls::read_xlsb(self, data, member, depth),
            FileType::Ppt => ppt::read(self, data, member),
            FileType::Msg => msg::read(self, data, member, depth),
            FileType::Image => self.ocr(data, member, "image"),
            FileType::Binary => Err(Skip::new(
                SkipReason::UnsupportedFormat,
                "unrecognised binary content",
            )),
        }
    }
}

impl Walker<'_> {
    /// Emits one text segment (recognised by OCR when `ocr`), enforcing
    /// [`Limits::max_text_per_item`]: the part over the budget is cut (at a character boundary)
    /// and the item ends as `limit_exceeded`.
    fn emit(
        &mut self,
        member: Option<&str>,
        location: Option<&str>,
        text: &str,
        ocr: bool,
    ) -> Outcome {
        if text.is_empty() {
            return Ok(());
        }
        let room = self.limits.max_text_per_item.saturating_sub(self.text_used);
        let (part, cut) = if (text.len() as u64) > room {
            let mut end = usize::try_from(room).unwrap_or(usize::MAX).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            (&text[..end], true)
        } else {
            (text, false)
        };
        self.text_used += part.len() as u64;
        if !part.is_empty() {
            (self.sink)(if ocr {
                Event::OcrText {
                    member,
                    location,
                    text: part,
                }
            } else {
                Event::Text {
                    member,
                    location,
                    text: part,
                }
            });
        }
        if cut {
            return Err(Skip::limit(format!(
                "extracted text exceeds {} bytes; the rest was not inspected",
                self.limits.max_text_per_item
            )));
        }
        Ok(())
    }
}

impl Visit for Walker<'_> {
    fn limits(&self) -> &Limits {
        self.limits
    }

    /// Reads a nested item (archive member, attachment, embedded object) at `depth`.
    fn child(&mut self, data: &[u8], member: &str, depth: u32) {
        self.item(data, Some(member), depth);
    }

    /// Reports a nested item that could not even be read out of its container.
    fn skip_child(&mut self, member: &str, skip: Skip) {
        (self.sink)(Event::Skipped {
            member: Some(member),
            reason: skip.reason,
            detail: &skip.detail,
        });
    }

    /// Emits one text segment, enforcing [`Limits::max_text_per_item`]: the part over the
    /// budget is cut (at a character boundary) and the item ends as `limit_exceeded`.
    fn text(&mut self, member: Option<&str>, location: Option<&str>, text: &str) -> Outcome {
        self.emit(member, location, text, false)
    }

    /// Runs OCR on a picture (only in an isolated worker, and only when [`Limits::ocr`] is on)
    /// and emits its text as [`Event::OcrText`], under the walk's page cap and deadline.
    fn ocr(&mut self, picture: &[u8], member: Option<&str>, location: &str) -> Outcome {
        if !self.limits.ocr {
            return Err(Skip::new(
                SkipReason::UnsupportedFormat,
                "image: OCR is turned off",
            ));
        }
        if !self.isolated {
            return Err(Skip::new(
                SkipReason::OcrUnavailable,
                "image: OCR runs only in the isolated worker processes, not in-process",
            ));
        }
        self.check_time()?;
        let (limits, deadline) = (self.limits, self.deadline);
        let mut pages = self.ocr_pages;
        let result = ocr::read(
            picture,
            limits,
            location,
            deadline,
            &mut pages,
            &mut |at, text| self.emit(member, Some(at), text, true),
        );
        self.ocr_pages = pages;
        result
    }

    /// Fails with a timeout once the walk's deadline has passed.
    fn check_time(&self) -> Outcome {
        if Instant::now() > self.deadline {
            return Err(Skip::new(
                SkipReason::Timeout,
                format!("took longer than {:?}", self.limits.time_per_item),
            ));
        }
        Ok(())
    }

    /// Room left in the walk's inflation budget, capped by the per-entry limit.
    fn inflate_cap(&self) -> u64 {
        self.limits
            .max_total_inflated
            .saturating_sub(self.inflated)
            .min(self.limits.max_entry_inflated)
    }

    /// Records `n` bytes inflated.
    fn add_inflated(&mut self, n: u64) {
        self.inflated = self.inflated.saturating_add(n);
    }
}
