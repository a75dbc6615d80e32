//! Compressed streams read as they are decompressed: [`Inflate`], the decompressed content of
//! a gzip, bzip2, xz or Zstandard stream handed on as it comes, in bounded memory, whether the
//! decompressor runs in this process ([`inflate`]) or in an isolated worker
//! ([`WorkerPool::inflate`](crate::isolate::WorkerPool::inflate)). Never holds the content.

use std::fmt;
use std::io::Read;

use crate::archive::StreamInflater;
use crate::types::{FileType, Limits, Skip, SkipReason};

/// Why a compressed stream's content ended before the stream did: its reason as a skip of the
/// compressed item (`broken_file` for a damaged or truncated stream or a crashed worker,
/// `limit_exceeded` for a compression ratio over the limit or a worker out of memory,
/// `timeout` for a worker that stopped answering, `unreadable` for compressed input that could
/// not be read) and a detail for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InflateError {
    reason: SkipReason,
    detail: String,
}

impl InflateError {
    pub(crate) fn new(reason: SkipReason, detail: impl Into<String>) -> Self {
        InflateError {
            reason,
            detail: detail.into(),
        }
    }

    /// The skip reason the compressed item ends with.
    pub fn reason(&self) -> SkipReason {
        self.reason
    }

    /// What happened.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl From<Skip> for InflateError {
    fn from(skip: Skip) -> Self {
        InflateError::new(skip.reason, skip.detail)
    }
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.detail, self.reason)
    }
}

impl std::error::Error for InflateError {}

/// Where the decompressed bytes of an [`Inflate`] come from.
pub(crate) trait Inflating {
    /// Fills `buf` with the next decompressed bytes; 0 at the end of what can be read (the end
    /// of the stream, or an error, kept for [`Inflating::error`]).
    fn read(&mut self, buf: &mut [u8]) -> usize;

    /// The content's member name, once known.
    fn member(&self) -> Option<&str>;

    /// Why the content ended early, if it did.
    fn error(&self) -> Option<&InflateError>;
}

/// The decompressed content of a compressed stream, read as it is decompressed: memory stays
/// bounded (a few chunks of 64 KiB) whatever the content's size.
///
/// Its [`Read`] never fails: it ends (reads 0) at the end of the stream, or where the stream
/// turned out damaged, over the compression-ratio limit, or its worker died; then
/// [`Inflate::error`] says which. Everything read before an error is valid content (a
/// truncated stream gives what was decompressed up to the cut). Dropping an `Inflate` before
/// its end stops the decompression (an isolated worker is killed).
///
/// ```
/// use std::io::{Read, Write};
/// use dlp_extract::{inflate, FileType, Limits};
///
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// gz.write_all(b"card 4111 1111 1111 1111\n")?;
/// let compressed = gz.finish()?;
/// let mut input = &compressed[..];
/// let mut content = inflate(FileType::Gzip, &mut input, &Limits::default());
/// let mut text = String::new();
/// content.read_to_string(&mut text)?;
/// assert_eq!(text, "card 4111 1111 1111 1111\n");
/// assert_eq!(content.member(), Some("content"));
/// assert!(content.error().is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Inflate<'a> {
    source: Box<dyn Inflating + 'a>,
}

impl<'a> Inflate<'a> {
    pub(crate) fn new(source: Box<dyn Inflating + 'a>) -> Self {
        Inflate { source }
    }

    /// The member name its content is reported under: the file name a gzip header stores
    /// (sanitised as archive member names are), else `content`. Known once the first read
    /// returned (`None` before, or when the stream failed before its first bytes).
    pub fn member(&self) -> Option<&str> {
        self.source.member()
    }

    /// Why the content ended before the stream's end, once a read returned 0; `None` while
    /// reading and after a complete stream.
    pub fn error(&self) -> Option<&InflateError> {
        self.source.error()
    }
}

impl Read for Inflate<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Ok(self.source.read(buf))
    }
}

impl fmt::Debug for Inflate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflate")
            .field("member", &self.member())
            .field("error", &self.error())
            .finish_non_exhaustive()
    }
}

/// Decompresses `input`, a compressed stream of type `kind` (gzip, bzip2, xz or Zstandard, as
/// [`detect`](crate::detect()) tells; concatenated streams and frames read as one, checksums
/// verified), in this process, as the content is read. The compression ratio of what was
/// produced to what was consumed so far is held to [`Limits::max_ratio`] past
/// [`Limits::ratio_threshold`]; nothing else bounds the content's size (the reader does) nor
/// the time it takes.
///
/// The decompressors are third-party parsers of untrusted data: for input you do not trust,
/// use [`WorkerPool::inflate`](crate::isolate::WorkerPool::inflate), which runs them in an
/// isolated worker.
pub fn inflate<'a>(kind: FileType, input: &'a mut dyn Read, limits: &Limits) -> Inflate<'a> {
    Inflate::new(Box::new(Local {
        inflater: StreamInflater::new(kind, input, limits),
        error: None,
    }))
}

/// An [`Inflate`] whose decompressor runs in this process.
struct Local<'a> {
    inflater: StreamInflater<'a>,
    error: Option<InflateError>,
}

impl Inflating for Local<'_> {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        if self.error.is_some() {
            return 0;
        }
        match self.inflater.fill(buf) {
            Ok(n) => n,
            Err(skip) => {
                self.error = Some(skip.into());
                0
            }
        }
    }

    fn member(&self) -> Option<&str> {
        self.inflater.name()
    }

    fn error(&self) -> Option<&InflateError> {
        self.error.as_ref()
    }
}
