//! The data every other module speaks: the public types of the API ([`FileType`] and its
//! [`UnknownFileType`] parse error, [`Limits`], [`Filter`], [`SkipReason`], [`Event`]) and the
//! crate-internal result of reading an item or part ([`Skip`], [`Outcome`]) with the helpers
//! that name members and build such results ([`member_path`], [`attachment_name`],
//! [`read_capped`]).
//!
//! A leaf: it imports no other module of this crate.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A file type, detected from content (magic bytes and container structure), never from a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileType {
    /// Plain text (UTF-8, UTF-16 with or without BOM, UTF-32 with BOM, or Latin-1).
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
    /// A tar archive (POSIX/GNU, or old v7 without the `ustar` magic).
    Tar,
    /// A 7z archive.
    SevenZip,
    /// A bzip2 stream.
    Bzip2,
    /// An xz stream.
    Xz,
    /// A Zstandard stream.
    Zstd,
    /// A Rich Text Format document.
    Rtf,
    /// A legacy Word document (Word 97-2003 `.doc`, an OLE compound file).
    Doc,
    /// A legacy Excel workbook (BIFF8 `.xls`, an OLE compound file).
    Xls,
    /// A legacy PowerPoint presentation (PowerPoint 97-2003 `.ppt`, an OLE compound file).
    Ppt,
    /// An Excel binary workbook (`.xlsb`).
    Xlsb,
    /// An Outlook message (`.msg`, an OLE compound file).
    Msg,
    /// An OOXML document encrypted with a password (an OLE file holding `EncryptionInfo`).
    EncryptedOffice,
    /// An image (PNG, JPEG, GIF, BMP, TIFF, WebP): its text is recognised by OCR (Tesseract), in
    /// the isolated workers only.
    Image,
    /// Anything else.
    Binary,
}

/// Every file type, in the order of [`FileType::name`]'s documentation.
const ALL_TYPES: [FileType; 29] = [
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
    FileType::SevenZip,
    FileType::Bzip2,
    FileType::Xz,
    FileType::Zstd,
    FileType::Rtf,
    FileType::Doc,
    FileType::Xls,
    FileType::Ppt,
    FileType::Xlsb,
    FileType::Msg,
    FileType::EncryptedOffice,
    FileType::Image,
    FileType::Binary,
];

impl FileType {
    /// The stable lower-case name used in filters and reports: `text`, `csv`, `json`, `html`,
    /// `xml`, `eml`, `pdf`, `docx`, `xlsx`, `pptx`, `odt`, `ods`, `odp`, `zip`, `gzip`, `tar`,
    /// `7z`, `bzip2`, `xz`, `zstd`, `rtf`, `doc`, `xls`, `ppt`, `xlsb`, `msg`,
    /// `encrypted_office`, `image`, `binary`.
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
            FileType::SevenZip => "7z",
            FileType::Bzip2 => "bzip2",
            FileType::Xz => "xz",
            FileType::Zstd => "zstd",
            FileType::Rtf => "rtf",
            FileType::Doc => "doc",
            FileType::Xls => "xls",
            FileType::Ppt => "ppt",
            FileType::Xlsb => "xlsb",
            FileType::Msg => "msg",
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
        matches!(
            self,
            FileType::Zip
                | FileType::Gzip
                | FileType::Tar
                | FileType::SevenZip
                | FileType::Bzip2
                | FileType::Xz
                | FileType::Zstd
        )
    }

    /// Whether this type is a single compressed stream (gzip, bzip2, xz, Zstandard), whose
    /// content can be decompressed as it is read: see [`inflate`](crate::inflate()).
    pub fn is_compressed_stream(self) -> bool {
        matches!(
            self,
            FileType::Gzip | FileType::Bzip2 | FileType::Xz | FileType::Zstd
        )
    }

    /// Whether reading this type involves only this crate's own bounded code (no third-party
    /// parser), so that it is safe to read in-process; see [`isolate`](crate::isolate).
    pub fn is_in_process_safe(self) -> bool {
        matches!(
            self,
            FileType::Text
                | FileType::Csv
                | FileType::Json
                | FileType::Html
                | FileType::Xml
                | FileType::Rtf
                | FileType::Binary
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
    /// (`txt`, `email`, `htm`, `gz`, `tgz`, `bz2`, `tbz2`, `txz`, `zst`, `tzst`, `7zip`) are
    /// accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "txt" | "plain" => Some(FileType::Text),
            "email" | "mail" => Some(FileType::Eml),
            "htm" | "xhtml" => Some(FileType::Html),
            "gz" | "tgz" => Some(FileType::Gzip),
            "bz2" | "tbz" | "tbz2" => Some(FileType::Bzip2),
            "txz" => Some(FileType::Xz),
            "zst" | "tzst" => Some(FileType::Zstd),
            "7zip" | "sevenzip" => Some(FileType::SevenZip),
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
    /// `limit_exceeded`. Default 1 GiB. A top-level compressed stream whose text content
    /// `dlp-engine` scans as it is decompressed is never held, and not bounded by it.
    pub max_file_size: u64,
    /// Address-space cap (RLIMIT_AS) of an isolated worker process, in bytes. Only used by
    /// [`WorkerPool`](crate::isolate::WorkerPool). Default 2 GiB.
    pub max_worker_memory: u64,
    /// Whether images (and image-only PDF pages) are read by OCR (Tesseract). OCR runs only in
    /// the isolated workers: an in-process walk skips images as `ocr_unavailable`. When off,
    /// images are `unsupported_format` skips. Default `true`.
    pub ocr: bool,
    /// Tesseract's languages (traineddata names such as `eng`, `deu`, `chi_sim`), tried
    /// together. Default `["eng"]`.
    pub ocr_languages: Vec<String>,
    /// Wall-clock budget of OCR for one image or page (the Tesseract process is killed past
    /// it, and never runs past the item's own [`Limits::time_per_item`]). Default 20 s.
    pub ocr_timeout: Duration,
    /// Most images and pages OCR'd in one top-level item (a TIFF's pages, image-only PDF
    /// pages, the images of an archive); the item ends as `limit_exceeded` past it. Default 20.
    pub ocr_max_pages: u32,
    /// Most pixels (width x height) of an image given to OCR; larger ones are `limit_exceeded`
    /// skips before Tesseract starts. Default 40 million.
    pub ocr_max_pixels: u64,
    /// Address-space cap (RLIMIT_AS) of the Tesseract process, in bytes (never above the
    /// worker's own). Default 1 GiB.
    pub ocr_max_memory: u64,
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
            ocr: true,
            ocr_languages: vec!["eng".to_string()],
            ocr_timeout: Duration::from_secs(20),
            ocr_max_pages: 20,
            ocr_max_pixels: 40_000_000,
            ocr_max_memory: 1024 * MIB,
        }
    }
}

/// The scan settings that choose which items are inspected, as the connector's scan
/// configuration exposes them. The default inspects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// When set, only items whose detected type is listed are inspected; others end as
    /// [`SkipReason::FilteredType`]. Archives and compressed streams (zip, gzip, tar, 7z,
    /// bzip2, xz, zstd) are always opened so that their members can be filtered.
    pub file_types: Option<Vec<FileType>>,
    /// When set, items larger than this many bytes end as [`SkipReason::TooLarge`]. For the
    /// text content of a top-level compressed stream, which `dlp-engine` scans as it is
    /// decompressed ([`inflate`](crate::inflate())), it bounds the decompressed text scanned
    /// (the first this many bytes are, then the content is a `too_large` skip), not the
    /// compressed size.
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
    /// The item is encrypted (password-protected Office document, PDF, ZIP or 7z entry, 7z
    /// archive).
    Encrypted,
    /// The format is recognised but not read (unknown binaries, Word 6/95, images when OCR is
    /// turned off).
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
    /// A document with pages but no text at all (a scanned or image-only PDF).
    NoText,
    /// An image (or image-only PDF page) that needs OCR, which is not available: Tesseract is
    /// not installed (or `DLP_TESSERACT` names no program), a language's data is missing, or
    /// the walk runs in-process.
    OcrUnavailable,
    /// A file or directory left out of a bulk scan on purpose: by an ignore file
    /// (`.gitignore`, `.ignore`, `.dlpignore`), an exclude or include pattern, as a hidden
    /// file, or as a version-control directory. Counted, never inspected.
    Excluded,
}

impl SkipReason {
    /// The stable snake_case name used in reports: `broken_file`, `timeout`, `limit_exceeded`,
    /// `encrypted`, `unsupported_format`, `filtered_type`, `too_large`, `not_found`,
    /// `unreadable`, `not_a_file`, `no_text`, `ocr_unavailable`, `excluded`.
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
            SkipReason::NoText => "no_text",
            SkipReason::OcrUnavailable => "ocr_unavailable",
            SkipReason::Excluded => "excluded",
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
            SkipReason::NoText,
            SkipReason::OcrUnavailable,
            SkipReason::Excluded,
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

/// What [`walk`](crate::walk) reports, in document order.
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
    /// A segment of text recognised by OCR in an image or an image-only PDF page: less sure
    /// than [`Event::Text`] (a character may be misread), and counted against the same text
    /// budget. A consumer that only wants text layers can ignore it.
    OcrText {
        /// As in [`Event::Text`].
        member: Option<&'a str>,
        /// The image (`image`) or page (`page 3`) the text was recognised in.
        location: Option<&'a str>,
        /// The recognised text.
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

/// The path of a member: `parent/name`, or `name` at the top level.
pub(crate) fn member_path(parent: Option<&str>, name: &str) -> String {
    match parent {
        Some(parent) => format!("{parent}/{name}"),
        None => name.to_string(),
    }
}

/// A member name for an e-mail attachment: its file name with path separators replaced, made
/// unique among its siblings (`name (2)`), or `part-N` when it has none.
pub(crate) fn attachment_name(
    name: Option<&str>,
    index: usize,
    seen: &mut std::collections::HashMap<String, usize>,
) -> String {
    let base = name
        .map(|n| n.replace(['/', '\\'], "_"))
        .filter(|n| !n.trim().is_empty() && n != "." && n != "..")
        .unwrap_or_else(|| format!("part-{index}"));
    let count = seen.entry(base.clone()).or_insert(0);
    *count += 1;
    if *count == 1 {
        base
    } else {
        format!("{base} ({count})")
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

/// The message of a caught panic, for the skip it becomes.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}
