//! What to inspect: one [`Request`] type for every way an item arrives (bytes whose type is
//! detected, text, a stream, a file), with the name its results are reported under.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One item to inspect, and how.
///
/// ```
/// use dlp_engine::Request;
/// let pdf = std::fs::read("../fixtures/docs/sample.pdf").unwrap_or_default();
/// let request = Request::bytes(&pdf).name("upload.pdf");
/// # let _ = request;
/// ```
pub struct Request<'a> {
    pub(crate) source: Source<'a>,
    pub(crate) name: Option<PathBuf>,
    pub(crate) threads: usize,
}

pub(crate) enum Source<'a> {
    /// Bytes whose type is detected from the content: text is scanned as it is, documents
    /// and archives are extracted.
    Bytes(&'a [u8]),
    /// Text, scanned as it is (no type detection, no extraction).
    Text(&'a [u8]),
    /// A stream: text streams through the scanner in bounded memory, and so does the text of a
    /// compressed stream (gzip, bzip2, xz, Zstandard); anything else is read whole (up to the
    /// size limit) and extracted.
    Reader(&'a mut dyn Read),
    /// A file on disk: text is read through a memory map (or, when large, by all threads in
    /// chunks); documents are extracted.
    Path(&'a Path),
}

impl<'a> Request<'a> {
    /// Bytes of any supported type, detected from the content (a PDF, a DOCX, a ZIP, text...).
    pub fn bytes(data: &'a [u8]) -> Self {
        Self::new(Source::Bytes(data))
    }

    /// Text (UTF-8 expected, other bytes tolerated), scanned as it is.
    pub fn text(text: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        Self::new(Source::Text(text.as_ref()))
    }

    /// A stream of any supported type: text is scanned as it arrives, in bounded memory, and
    /// so is the text content of a compressed stream (gzip, bzip2, xz, Zstandard), decompressed
    /// as it arrives; the filter's maximum size then applies to what is scanned.
    pub fn reader(reader: &'a mut dyn Read) -> Self {
        Self::new(Source::Reader(reader))
    }

    /// A file on disk, reported under its path unless [named](Request::name) otherwise.
    pub fn path(path: &'a Path) -> Self {
        Self::new(Source::Path(path))
    }

    /// The name the item's results are reported under (default: the path, or `-`).
    pub fn name(mut self, name: impl Into<PathBuf>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How many threads may scan one large text file together (default 1). Bulk scans of
    /// many files use [`Batch`](crate::Batch) instead, one file per thread.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    fn new(source: Source<'a>) -> Self {
        Request {
            source,
            name: None,
            threads: 1,
        }
    }

    pub(crate) fn display_name(&self) -> Cow<'a, Path> {
        match (&self.name, &self.source) {
            (Some(name), _) => Cow::Owned(name.clone()),
            (None, Source::Path(path)) => Cow::Borrowed(*path),
            (None, _) => Cow::Borrowed(Path::new("-")),
        }
    }
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, len) = match &self.source {
            Source::Bytes(b) => ("bytes", Some(b.len())),
            Source::Text(b) => ("text", Some(b.len())),
            Source::Reader(_) => ("reader", None),
            Source::Path(_) => ("path", None),
        };
        f.debug_struct("Request")
            .field("source", &kind)
            .field("len", &len)
            .field("name", &self.display_name())
            .field("threads", &self.threads)
            .finish()
    }
}
