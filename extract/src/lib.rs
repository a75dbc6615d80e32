//! `dlp-extract`: turns the bytes of one item (a file, an attachment, an archive member) into
//! text segments for the detectors, recursively and within limits.
//!
//! This crate owns type detection ([`detect`]), the format readers (one file per family), the
//! limits ([`Limits`]) and filters ([`Filter`]) applied while walking, and process isolation
//! ([`isolate`]). It never runs detectors and never touches the file system or the network: it
//! receives bytes and pushes [`Event`]s into a sink.
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
//! # Safety against hostile input
//!
//! Every reader is bounded by [`Limits`]; declared sizes are never trusted (inflation is capped
//! by what was actually produced); a panic inside a third-party parser is caught and becomes a
//! [`SkipReason::BrokenFile`] skip. What `catch_unwind` cannot stop (stack overflow, abort,
//! endless loops inside a parser, huge allocations) is handled by running [`walk`] in worker
//! processes: see [`isolate`].

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod archive;
mod detect;
mod email;
pub mod isolate;
mod odf;
mod ooxml;
mod pdf;
mod text;
mod xml;
mod zip;

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;
use std::time::{Duration, Instant};

pub use detect::detect;

/// A file type, detected from content (magic bytes and container structure), never from a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileType {
    /// Plain text (UTF-8, UTF-16 with BOM, or Latin-1).
    Text,
    /// Comma-, semicolon- or tab-separated values.
    Csv,
    /// A JSON document.
    Json,
    /// An HTML page.
    Html,
    /// An XML document that is not one of the office formats.
    Xml,
    /// An RFC 5322 e-mail message.
    Eml,
    /// A PDF document.
    Pdf,
    /// A Word (OOXML) document.
    Docx,
    /// An Excel (OOXML) workbook.
    Xlsx,
    /// A PowerPoint (OOXML) presentation.
    Pptx,
    /// An OpenDocument text.
    Odt,
    /// An OpenDocument spreadsheet.
    Ods,
    /// An OpenDocument presentation.
    Odp,
    /// A ZIP archive.
    Zip,
    /// A gzip stream.
    Gzip,
    /// A tar archive.
    Tar,
    /// A Rich Text Format document.
    Rtf,
    /// A legacy Word document (OLE compound file).
    Doc,
    /// A legacy Excel workbook (OLE compound file).
    Xls,
    /// A legacy PowerPoint presentation (OLE compound file).
    Ppt,
    /// An Excel binary workbook (`.xlsb`).
    Xlsb,
    /// An OOXML document encrypted with a password (an OLE file holding `EncryptionInfo`).
    EncryptedOffice,
    /// An image (PNG, JPEG, GIF, BMP, TIFF, WebP); not inspected (no OCR).
    Image,
    /// Anything else.
    Binary,
}

/// Every file type, in the order of [`FileType::name`]'s documentation.
const ALL_TYPES: [FileType; 24] = [
    FileType::Text,
    FileType::Csv,
    FileType::Json,
    FileType::Html,
    FileType::Xml,
    FileType::Eml,
    FileType::Pdf,
    FileType::Docx,
    FileType::Xlsx,
    FileType::Pptx,
    FileType::Odt,
    FileType::Ods,
    FileType::Odp,
    FileType::Zip,
    FileType::Gzip,
    FileType::Tar,
    FileType::Rtf,
    FileType::Doc,
    FileType::Xls,
    FileType::Ppt,
    FileType::Xlsb,
    FileType::EncryptedOffice,
    FileType::Image,
    FileType::Binary,
];

impl FileType {
    /// The stable lower-case name used in filters and reports: `text`, `csv`, `json`, `html`,
    /// `xml`, `eml`, `pdf`, `docx`, `xlsx`, `pptx`, `odt`, `ods`, `odp`, `zip`, `gzip`, `tar`,
    /// `rtf`, `doc`, `xls`, `ppt`, `xlsb`, `encrypted_office`, `image`, `binary`.
    pub fn name(self) -> &'static str {
        match self {
            FileType::Text => "text",
            FileType::Csv => "csv",
            FileType::Json => "json",
            FileType::Html => "html",
            FileType::Xml => "xml",
            FileType::Eml => "eml",
            FileType::Pdf => "pdf",
            FileType::Docx => "docx",
            FileType::Xlsx => "xlsx",
            FileType::Pptx => "pptx",
            FileType::Odt => "odt",
            FileType::Ods => "ods",
            FileType::Odp => "odp",
            FileType::Zip => "zip",
            FileType::Gzip => "gzip",
            FileType::Tar => "tar",
            FileType::Rtf => "rtf",
            FileType::Doc => "doc",
            FileType::Xls => "xls",
            FileType::Ppt => "ppt",
            FileType::Xlsb => "xlsb",
            FileType::EncryptedOffice => "encrypted_office",
            FileType::Image => "image",
            FileType::Binary => "binary",
        }
    }

    /// All file types.
    pub fn all() -> &'static [FileType] {
        &ALL_TYPES
    }

    /// Whether this type is a pure container (archive) whose members are items of their own.
    ///
    /// Containers are always opened, whatever the file-type filter says: the filter applies to
    /// their members, so that `--file-types pdf` finds the PDFs inside a ZIP.
    pub fn is_archive(self) -> bool {
        matches!(self, FileType::Zip | FileType::Gzip | FileType::Tar)
    }

    /// Whether reading this type involves only this crate's own bounded code (no third-party
    /// parser), so that it is safe to read in-process; see [`isolate`].
    pub fn is_in_process_safe(self) -> bool {
        matches!(
            self,
            FileType::Text
                | FileType::Csv
                | FileType::Json
                | FileType::Html
                | FileType::Xml
                | FileType::Rtf
                | FileType::Image
                | FileType::Binary
                | FileType::Doc
                | FileType::Xls
                | FileType::Ppt
                | FileType::Xlsb
                | FileType::EncryptedOffice
        )
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an unknown file-type name; its message lists the valid names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFileType(String);

impl fmt::Display for UnknownFileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = ALL_TYPES.iter().map(|t| t.name()).collect();
        write!(
            f,
            "unknown file type {:?} (valid: {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownFileType {}

impl FromStr for FileType {
    type Err = UnknownFileType;

    /// Parses a name as given by [`FileType::name`], case-insensitively; a few common aliases
    /// (`txt`, `email`, `htm`, `gz`, `tgz`) are accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "txt" | "plain" => Some(FileType::Text),
            "email" | "mail" | "msg" => Some(FileType::Eml),
            "htm" | "xhtml" => Some(FileType::Html),
            "gz" | "tgz" => Some(FileType::Gzip),
            _ => None,
        };
        alias
            .or_else(|| ALL_TYPES.iter().copied().find(|t| t.name() == lower))
            .ok_or_else(|| UnknownFileType(s.to_string()))
    }
}

/// Limits against hostile or merely huge input. Every field has a safe default
/// ([`Limits::default`]); a limit that strikes ends the item concerned as a
/// [`SkipReason::LimitExceeded`] (or [`SkipReason::Timeout`]) skip, never the whole walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum nesting depth of containers (ZIP in ZIP, attachment of an attached message,
    /// object embedded in an OOXML document, ...). The top-level item has depth 0. Default 10.
    pub max_depth: u32,
    /// Maximum number of entries in one archive (counted from its directory, before reading
    /// anything). Default 10 000.
    pub max_entries: u64,
    /// Maximum bytes actually inflated (decompressed) over one whole top-level walk, all
    /// containers and members together. Default 1 GiB.
    pub max_total_inflated: u64,
    /// Maximum bytes actually inflated for one archive entry or compressed stream. Default 256 MiB.
    pub max_entry_inflated: u64,
    /// Maximum compression ratio (inflated / compressed) of one entry, checked once the entry
    /// has inflated past [`Limits::ratio_threshold`] bytes. Default 250 (deflate cannot exceed
    /// about 1032).
    pub max_ratio: u64,
    /// Inflated size below which the ratio is not checked (small, very repetitive files are
    /// legitimate). Default 1 MiB.
    pub ratio_threshold: u64,
    /// Maximum bytes of extracted text per item; text beyond it is not inspected and the item
    /// ends as a `limit_exceeded` skip. Default 64 MiB.
    pub max_text_per_item: u64,
    /// Maximum element nesting depth in XML parts (OOXML, ODF). DTDs are never expanded and an
    /// OOXML/ODF part carrying one is refused. Default 256.
    pub max_xml_depth: u32,
    /// Wall-clock budget for one top-level item, all of its members included. In-process
    /// readers check it cooperatively; the isolated worker pool enforces it with a kill.
    /// Default 30 s.
    pub time_per_item: Duration,
    /// Largest input accepted at all (top level or member); larger items are skipped as
    /// `limit_exceeded`. Default 1 GiB.
    pub max_file_size: u64,
    /// Address-space cap (RLIMIT_AS) of an isolated worker process, in bytes. Only used by
    /// [`isolate::WorkerPool`]. Default 2 GiB.
    pub max_worker_memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        const MIB: u64 = 1 << 20;
        Limits {
            max_depth: 10,
            max_entries: 10_000,
            max_total_inflated: 1024 * MIB,
            max_entry_inflated: 256 * MIB,
            max_ratio: 250,
            ratio_threshold: MIB,
            max_text_per_item: 64 * MIB,
            max_xml_depth: 256,
            time_per_item: Duration::from_secs(30),
            max_file_size: 1024 * MIB,
            max_worker_memory: 2048 * MIB,
        }
    }
}

/// The scan settings that choose which items are inspected, as the connector's scan
/// configuration exposes them. The default inspects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// When set, only items whose detected type is listed are inspected; others end as
    /// [`SkipReason::FilteredType`]. Archives (zip, gzip, tar) are always opened so that their
    /// members can be filtered.
    pub file_types: Option<Vec<FileType>>,
    /// When set, items larger than this many bytes end as [`SkipReason::TooLarge`].
    pub max_file_size: Option<u64>,
}

impl Filter {
    /// Whether items of this type are inspected (archives always are, so that their members
    /// can be filtered).
    pub fn allows(&self, file_type: FileType) -> bool {
        match &self.file_types {
            None => true,
            Some(types) => file_type.is_archive() || types.contains(&file_type),
        }
    }
}

/// Whether content, judged by its first bytes, is plain text that the detectors can read as it
/// lies (UTF-8, ASCII or Latin-1 text or CSV): no NUL byte, no UTF-16 byte-order mark, and no
/// markup or container that [`walk`] would read better. Such content can be streamed.
pub fn is_plain_text(head: &[u8]) -> bool {
    matches!(detect(head), FileType::Text | FileType::Csv)
        && !head.starts_with(&[0xFF, 0xFE])
        && !head.starts_with(&[0xFE, 0xFF])
}

/// Why an item was not (fully) inspected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// The file is damaged, or its parser failed or crashed on it.
    BrokenFile,
    /// The item took longer than [`Limits::time_per_item`].
    Timeout,
    /// A limit of [`Limits`] struck (size, depth, entries, ratio, text, memory, XML depth/DTD).
    LimitExceeded,
    /// The item is encrypted (password-protected OOXML, PDF, ZIP entry).
    Encrypted,
    /// The format is recognised but not read (legacy Office, images, unknown binaries).
    UnsupportedFormat,
    /// The detected type is not in [`Filter::file_types`].
    FilteredType,
    /// The item is larger than [`Filter::max_file_size`].
    TooLarge,
    /// The path given does not exist.
    NotFound,
    /// The file or directory could not be read (permissions, I/O error).
    Unreadable,
    /// A special file (device, socket, fifo) or a symbolic link that is not followed.
    NotAFile,
}

impl SkipReason {
    /// The stable snake_case name used in reports: `broken_file`, `timeout`, `limit_exceeded`,
    /// `encrypted`, `unsupported_format`, `filtered_type`, `too_large`, `not_found`,
    /// `unreadable`, `not_a_file`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::BrokenFile => "broken_file",
            SkipReason::Timeout => "timeout",
            SkipReason::LimitExceeded => "limit_exceeded",
            SkipReason::Encrypted => "encrypted",
            SkipReason::UnsupportedFormat => "unsupported_format",
            SkipReason::FilteredType => "filtered_type",
            SkipReason::TooLarge => "too_large",
            SkipReason::NotFound => "not_found",
            SkipReason::Unreadable => "unreadable",
            SkipReason::NotAFile => "not_a_file",
        }
    }

    /// Every reason.
    pub fn all() -> &'static [SkipReason] {
        &[
            SkipReason::BrokenFile,
            SkipReason::Timeout,
            SkipReason::LimitExceeded,
            SkipReason::Encrypted,
            SkipReason::UnsupportedFormat,
            SkipReason::FilteredType,
            SkipReason::TooLarge,
            SkipReason::NotFound,
            SkipReason::Unreadable,
            SkipReason::NotAFile,
        ]
    }

    /// Parses a name as given by [`SkipReason::as_str`].
    pub fn from_name(name: &str) -> Option<SkipReason> {
        SkipReason::all()
            .iter()
            .copied()
            .find(|r| r.as_str() == name)
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`walk`] reports, in document order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A segment of extracted text.
    Text {
        /// Path of the item inside its containers (`inner/b.zip/c.docx`); `None` for the
        /// top-level item.
        member: Option<&'a str>,
        /// Where in the item the text comes from (`page 3`, `sheet Sales`, `slide 2`,
        /// `header`, `notes slide 2`, ...); `None` for the main body.
        location: Option<&'a str>,
        /// The text. Segments are independent: a value never spans two segments.
        text: &'a str,
    },
    /// An item that was not, or not fully, inspected (its terminal event).
    Skipped {
        /// As in [`Event::Text`].
        member: Option<&'a str>,
        /// Why.
        reason: SkipReason,
        /// A human-readable detail (which limit, which error).
        detail: &'a str,
    },
    /// An item that was read to its end (its terminal event).
    ItemDone {
        /// As in [`Event::Text`].
        member: Option<&'a str>,
        /// Its detected type.
        file_type: FileType,
    },
}

/// Extracts the text of `data` and of everything nested in it, pushing [`Event`]s into `sink`.
///
/// Never panics and never fails: every problem becomes a [`Event::Skipped`] of the item
/// concerned. Runs in the calling thread; for untrusted input prefer
/// [`isolate::WorkerPool::walk`], which runs this in a killable, memory-capped process.
pub fn walk(data: &[u8], limits: &Limits, filter: &Filter, sink: &mut dyn FnMut(Event<'_>)) {
    Walker::new(limits, filter, sink).item(data, None, 0);
}

/// Why an item's reading stopped early: the reason and detail of its terminal skip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skip {
    pub(crate) reason: SkipReason,
    pub(crate) detail: String,
}

impl Skip {
    pub(crate) fn new(reason: SkipReason, detail: impl Into<String>) -> Skip {
        Skip {
            reason,
            detail: detail.into(),
        }
    }

    pub(crate) fn broken(detail: impl Into<String>) -> Skip {
        Skip::new(SkipReason::BrokenFile, detail)
    }

    pub(crate) fn limit(detail: impl Into<String>) -> Skip {
        Skip::new(SkipReason::LimitExceeded, detail)
    }
}

/// The result of reading one item or part.
pub(crate) type Outcome<T = ()> = Result<T, Skip>;

/// The state of one top-level walk: limits, shared budgets, and the sink.
pub(crate) struct Walker<'w> {
    pub(crate) limits: &'w Limits,
    filter: &'w Filter,
    sink: &'w mut dyn FnMut(Event<'_>),
    deadline: Instant,
    /// Bytes inflated so far over the whole walk (all members).
    inflated: u64,
    /// Bytes of text emitted so far for the item being read.
    text_used: u64,
}

impl<'w> Walker<'w> {
    pub(crate) fn new(
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
        }
    }

    /// Reads one item and emits its terminal event. `depth` is its nesting depth.
    pub(crate) fn item(&mut self, data: &[u8], member: Option<&str>, depth: u32) {
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
            FileType::Zip => zip::read_archive(self, data, member, depth),
            FileType::Gzip => archive::read_gzip(self, data, member, depth),
            FileType::Tar => archive::read_tar(self, data, member, depth),
            FileType::EncryptedOffice => Err(Skip::new(
                SkipReason::Encrypted,
                "password-protected Office document",
            )),
            FileType::Doc | FileType::Xls | FileType::Ppt | FileType::Xlsb => Err(Skip::new(
                SkipReason::UnsupportedFormat,
                format!("legacy or binary Office format ({file_type}) is not read"),
            )),
            FileType::Image => Err(Skip::new(SkipReason::UnsupportedFormat, "image (no OCR)")),
            FileType::Binary => Err(Skip::new(
                SkipReason::UnsupportedFormat,
                "unrecognised binary content",
            )),
        }
    }

    /// Reads a nested item (archive member, attachment, embedded object) at `depth`.
    pub(crate) fn child(&mut self, data: &[u8], member: &str, depth: u32) {
        self.item(data, Some(member), depth);
    }

    /// Reports a nested item that could not even be read out of its container.
    pub(crate) fn skip_child(&mut self, member: &str, skip: Skip) {
        (self.sink)(Event::Skipped {
            member: Some(member),
            reason: skip.reason,
            detail: &skip.detail,
        });
    }

    /// Emits one text segment, enforcing [`Limits::max_text_per_item`]: the part over the
    /// budget is cut (at a character boundary) and the item ends as `limit_exceeded`.
    pub(crate) fn text(
        &mut self,
        member: Option<&str>,
        location: Option<&str>,
        text: &str,
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
            (self.sink)(Event::Text {
                member,
                location,
                text: part,
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

    /// Fails with a timeout once the walk's deadline has passed.
    pub(crate) fn check_time(&self) -> Outcome {
        if Instant::now() > self.deadline {
            return Err(Skip::new(
                SkipReason::Timeout,
                format!("took longer than {:?}", self.limits.time_per_item),
            ));
        }
        Ok(())
    }

    /// Room left in the walk's inflation budget, capped by the per-entry limit.
    pub(crate) fn inflate_cap(&self) -> u64 {
        self.limits
            .max_total_inflated
            .saturating_sub(self.inflated)
            .min(self.limits.max_entry_inflated)
    }

    /// Records `n` bytes inflated.
    pub(crate) fn add_inflated(&mut self, n: u64) {
        self.inflated = self.inflated.saturating_add(n);
    }
}

/// The path of a member: `parent/name`, or `name` at the top level.
pub(crate) fn member_path(parent: Option<&str>, name: &str) -> String {
    match parent {
        Some(parent) => format!("{parent}/{name}"),
        None => name.to_string(),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Reads a bounded stream to its end: at most `cap` bytes, failing with `limit_exceeded`
/// past that (the caller tells what the cap stands for).
pub(crate) fn read_capped(
    reader: &mut dyn std::io::Read,
    cap: u64,
    what: &str,
) -> Outcome<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut limited = reader.take(cap.saturating_add(1));
    limited.read_to_end(&mut out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::OutOfMemory {
            Skip::limit(format!("{what}: out of memory"))
        } else {
            Skip::broken(format!("{what}: {e}"))
        }
    })?;
    if out.len() as u64 > cap {
        return Err(Skip::limit(format!("{what}: inflates past {cap} bytes")));
    }
    Ok(out)
}
