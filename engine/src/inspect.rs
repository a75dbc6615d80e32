//! Inspecting one item: the single path every front door takes (`dlp scan`, the connector, an
//! embedder). The item's type is detected from its content; plain text is scanned as it lies
//! (streamed, memory-mapped, or split between threads when large), and everything else goes
//! through extraction, in the isolated workers unless the engine says otherwise. The size and
//! type filter is applied here, once, for text; extraction applies it to documents and members.
//!
//! A top-level compressed stream (gzip, bzip2, xz, Zstandard) is decompressed as it is read
//! (in a worker, unless the engine parses in-process): when its content starts as plain text,
//! that text streams into the scanner in bounded memory, whatever its size; otherwise (a
//! `.tar.gz`, a gzipped PDF) the whole compressed item is extracted as a document.

use std::cell::{Cell, RefCell};
use std::io::{Cursor, Read};
use std::path::Path;

use dlp_detect::{Confidence, FindingSink, Flow, ScanError};
use dlp_extract::{Event, FileType, SkipReason};

use crate::engine::{Engine, PathAllow};
use crate::request::{Request, Source};
use crate::sink::{ItemReport, Sink, Skipped};
use crate::source::FileSource;

/// How many bytes of an item decide whether it is plain text.
const HEAD: usize = 8192;

/// Per-thread scratch space for inspecting items with an [`Engine`].
///
/// ```
/// use dlp_engine::{Collect, EngineBuilder, Request};
///
/// let engine = EngineBuilder::new().build()?;
/// let mut scanner = engine.scanner();
/// let mut found = Collect::default();
/// scanner.scan(Request::text("key AKIAIOSFODNN7EXAMPLE").name("note.txt"), &mut found)
///     .map_err(|e| e.into_scan_error())?;
/// assert_eq!(found.findings[0].1.masked, "AKIA************MPLE");
/// # Ok::<(), dlp_engine::Error>(())
/// ```
#[derive(Debug)]
pub struct Scanner<'e> {
    engine: &'e Engine,
    detect: dlp_detect::Scanner<'e>,
}

/// Hands the findings of one text (a whole item, or one segment of a document) to the sink,
/// placed in the item: offsets and lines after the segments before it, member and location.
struct Place<'a, S: Sink + ?Sized> {
    sink: &'a mut S,
    item: &'a Path,
    offset: usize,
    lines: u64,
    member: Option<&'a str>,
    location: Option<&'a str>,
    count: &'a mut u64,
    allowed: &'a mut u64,
    paths: &'a PathAllow,
    /// For text recognised by OCR: the engine's minimum confidence, which a finding must still
    /// meet once lowered.
    ocr: Option<Confidence>,
    /// The sink said stop.
    stopped: bool,
}

impl<S: Sink + ?Sized> FindingSink for Place<'_, S> {
    type Error = S::Error;

    fn finding(&mut self, mut f: dlp_detect::Finding) -> Result<Flow, S::Error> {
        if let Some(min) = self.ocr {
            // A character may have been misread: one step less sure.
            f.confidence = match f.confidence {
                Confidence::High => Confidence::Medium,
                _ => Confidence::Low,
            };
            if f.confidence < min {
                return Ok(Flow::Continue);
            }
            f.ocr = true;
        }
        if f.allowed || self.paths.allows(self.item, self.member, &f.detector) {
            // Known and accepted: counted, not reported.
            *self.allowed += 1;
            return Ok(Flow::Continue);
        }
        f.start += self.offset;
        f.end += self.offset;
        f.line += self.lines;
        f.member = self.member.map(str::to_string);
        f.location = self.location.map(str::to_string);
        *self.count += 1;
        let flow = self.sink.finding(self.item, f)?;
        self.stopped |= flow == Flow::Stop;
        Ok(flow)
    }
}

impl<'e> Scanner<'e> {
    pub(crate) fn new(engine: &'e Engine) -> Self {
        Scanner {
            engine,
            detect: engine.detectors.scanner(),
        }
    }

    /// The engine this scanner inspects with.
    pub fn engine(&self) -> &'e Engine {
        self.engine
    }

    /// Inspects one item and gives its findings and skips to `sink`, then its report (also
    /// returned). A problem with the item (missing, unreadable, too large, a broken or
    /// hostile document) is a [`Skipped`] given to the sink, not an error; the error is for a
    /// failing sink, or a scanning thread that died.
    pub fn scan<S: Sink + ?Sized>(
        &mut self,
        request: Request<'_>,
        sink: &mut S,
    ) -> Result<ItemReport, ScanError<S::Error>> {
        let name = request.display_name();
        let mut report = ItemReport {
            path: name.to_path_buf(),
            ..ItemReport::default()
        };
        let flow = match request.source {
            Source::Text(data) => {
                report.bytes = data.len() as u64;
                report.items_scanned = 1;
                report.file_type = Some(FileType::Text);
                self.text(data, &name, &mut report, sink)?
            }
            Source::Bytes(data) => self.bytes(data, &name, &mut report, sink)?,
            Source::Reader(reader) => self.reader(reader, &name, &mut report, sink)?,
            Source::Path(path) => self.path(path, request.threads, &name, &mut report, sink)?,
        };
        if flow == Flow::Continue {
            sink.finished(&report).map_err(ScanError::Sink)?;
        }
        Ok(report)
    }

    /// Scans text held in memory.
    fn text<S: Sink + ?Sized>(
        &mut self,
        data: &[u8],
        item: &Path,
        report: &mut ItemReport,
        sink: &mut S,
    ) -> Result<Flow, ScanError<S::Error>> {
        self.detect
            .scan_into(
                data,
                &mut place(sink, item, report, &self.engine.allow_paths),
            )
            .map_err(ScanError::Sink)
    }

    /// Bytes of a detected type: text as it is, anything else extracted.
    fn bytes<S: Sink + ?Sized>(
        &mut self,
        data: &[u8],
        item: &Path,
        report: &mut ItemReport,
        sink: &mut S,
    ) -> Result<Flow, ScanError<S::Error>> {
        report.bytes = data.len() as u64;
        let head = &data[..data.len().min(HEAD)];
        if dlp_extract::is_plain_text(head) {
            let file_type = dlp_extract::detect(head);
            if let Some(skip) = self.engine.refuse_text(data.len() as u64, file_type) {
                return give_skip(sink, item, report, skip);
            }
            report.items_scanned = 1;
            report.file_type = Some(file_type);
            return self.text(data, item, report, sink);
        }
        let kind = dlp_extract::detect(head);
        if kind.is_compressed_stream() {
            let mut input = data;
            if let Some(flow) = self.compressed(kind, &mut input, None, item, report, sink)? {
                return Ok(flow);
            }
        }
        self.document(data, item, report, sink)
    }

    /// A stream: text streams through in bounded memory; anything else is read whole, up to
    /// the size limit, and extracted.
    fn reader<S: Sink + ?Sized>(
        &mut self,
        reader: &mut dyn Read,
        item: &Path,
        report: &mut ItemReport,
        sink: &mut S,
    ) -> Result<Flow, ScanError<S::Error>> {
        let mut head = Vec::with_capacity(HEAD);
        if let Err(e) = (&mut *reader).take(HEAD as u64).read_to_end(&mut head) {
            return give_skip(sink, item, report, unreadable(e));
        }
        if dlp_extract::is_plain_text(&head) {
            let file_type = dlp_extract::detect(&head);
            if let Some(skip) = self.engine.filter_type(file_type) {
                return give_skip(sink, item, report, skip);
            }
            report.file_type = Some(file_type);
            let max = self.engine.filter.max_file_size;
            let stream = std::io::Cursor::new(head).chain(reader);
            // A stream has no size to check first: read one byte past the maximum, and refuse
            // the item (after scanning what the maximum allows) when that byte came.
            let mut counted = Counted::new(stream, max);
            let mut sink_for_text = place(sink, item, report, &self.engine.allow_paths);
            let scanned = self.detect.scan_reader(&mut counted, &mut sink_for_text);
            if sink_for_text.stopped {
                return Ok(Flow::Stop);
            }
            let over = counted.over;
            match scanned {
                Ok(bytes) => {
                    report.bytes = bytes;
                    report.items_scanned = 1;
                }
                Err(ScanError::Scan(e)) => {
                    return give_skip(sink, item, report, unreadable_detail(e.to_string()))
                }
                Err(ScanError::Sink(e)) => return Err(ScanError::Sink(e)),
            }
            if over {
                let max = max.unwrap_or(u64::MAX);
                return give_skip(
                    sink,
                    item,
                    report,
                    Skipped {
                        member: None,
                        reason: SkipReason::TooLarge,
                        detail: format!(
                            "over the maximum content-inspection size of {max} bytes; only the \
                             first {max} bytes were inspected"
                        ),
                    },
                );
            }
            return Ok(Flow::Continue);
        }
        let max = self.engine.document_max();
        let kind = dlp_extract::detect(&head);
        let mut data = head;
        if kind.is_compressed_stream() {
            // What the stream reads is kept, so that content that is not text can still be
            // extracted as a whole document (as far as the document maximum allows).
            let kept = RefCell::new(Some(data.clone()));
            let streamed = {
                let mut tee = Tee {
                    inner: &mut *reader,
                    kept: &kept,
                    limit: max.saturating_add(1),
                };
                let mut input = Cursor::new(&data[..]).chain(&mut tee);
                self.compressed(kind, &mut input, Some(&kept), item, report, sink)?
            };
            if let Some(flow) = streamed {
                return Ok(flow);
            }
            match kept.into_inner() {
                Some(read) => data = read,
                None => {
                    let skip = Skipped {
                        member: None,
                        reason: SkipReason::TooLarge,
                        detail: format!(
                            "over the maximum content-inspection size of {max} bytes for a \
                             document"
                        ),
                    };
                    return give_skip(sink, item, report, skip);
                }
            }
        }
        if let Err(e) = reader
            .take(max.saturating_add(1).saturating_sub(data.len() as u64))
            .read_to_end(&mut data)
        {
            return give_skip(sink, item, report, unreadable(e));
        }
        // Extraction refuses what is over the limit, without reading it.
        self.document(&data, item, report, sink)
    }

    /// A file: text through a memory map, or by all threads in chunks when large; documents
    /// extracted.
    fn path<S: Sink + ?Sized>(
        &mut self,
        path: &Path,
        threads: usize,
        item: &Path,
        report: &mut ItemReport,
        sink: &mut S,
    ) -> Result<Flow, ScanError<S::Error>> {
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let skip = Skipped {
                    member: None,
                    reason: SkipReason::NotFound,
                    detail: "no such file or directory".into(),
                };
                return give_skip(sink, item, report, skip);
            }
            Err(e) => return give_skip(sink, item, report, unreadable(e)),
        };
        let size = match file.metadata() {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(_) => {
                let skip = Skipped {
                    member: None,
                    reason: SkipReason::NotAFile,
                    detail: "not a regular file".into(),
                };
                return give_skip(sink, item, report, skip);
            }
            Err(e) => return give_skip(sink, item, report, unreadable(e)),
        };
        let mut head = [0u8; HEAD];
        let head_len = match read_head(&file, &mut head) {
            Ok(n) => n,
            Err(e) => return give_skip(sink, item, report, unreadable(e)),
        };
        if !dlp_extract::is_plain_text(&head[..head_len]) {
            let kind = dlp_extract::detect(&head[..head_len]);
            if kind.is_compressed_stream() {
                // Never held whole: not limited by the document maximum unless its content is
                // extracted as a document below.
                let mut input = Cursor::new(&head[..head_len]).chain(&file);
                if let Some(flow) = self.compressed(kind, &mut input, None, item, report, sink)? {
                    return Ok(flow);
                }
            }
            if size > self.engine.document_max() {
                // Refused without mapping the file, by the rule extraction applies.
                return give_skip(sink, item, report, self.engine.too_large(size));
            }
            // SAFETY: a read-only private map; a file truncated underneath it by another
            // process can raise SIGBUS, the documented risk of mapping files that ripgrep also
            // accepts for local files.
            return match unsafe { memmap2::Mmap::map(&file) } {
                Ok(map) => self.document(&map, item, report, sink),
                Err(e) => give_skip(sink, item, report, unreadable(e)),
            };
        }
        let file_type = dlp_extract::detect(&head[..head_len]);
        if let Some(skip) = self.engine.refuse_text(size, file_type) {
            return give_skip(sink, item, report, skip);
        }
        report.file_type = Some(file_type);
        report.items_scanned = 1;
        report.bytes = size;
        let parallel = size >= self.engine.large_item;
        let mut out = place(sink, item, report, &self.engine.allow_paths);
        let scanned = if parallel {
            // Chunks are read by positioned reads (not mapped, so that resident memory stays a
            // few chunks per thread) and shared between the threads.
            let source = FileSource::new(&file, size);
            self.engine
                .detectors
                .scan_parallel(&source, threads, &mut out)
                .map(|_| Flow::Continue)
        } else if size == 0 {
            Ok(Flow::Continue)
        } else {
            // SAFETY: as above.
            match unsafe { memmap2::Mmap::map(&file) } {
                Ok(map) => self
                    .detect
                    .scan_into(&map, &mut out)
                    .map_err(ScanError::Sink),
                Err(_) => self
                    .detect
                    .scan_reader(&file, &mut out)
                    .map(|_| Flow::Continue),
            }
        };
        match scanned {
            Err(ScanError::Scan(e)) if e.kind() == dlp_detect::ErrorKind::Io => {
                give_skip(sink, item, report, unreadable_detail(e.to_string()))
            }
            other => other,
        }
    }

    /// A top-level compressed stream: decompressed as it is read (in a worker unless the engine
    /// parses in-process); when its content starts as plain text, that text is scanned as it
    /// comes, in bounded memory, as the stream's one member (the name a gzip header stores, else
    /// `content`), exactly as extraction would name and place it. `None` when the content is
    /// not plain text: the caller extracts the whole item as a document instead, from `kept`
    /// for a stream (the compressed bytes read so far, kept until the content is known to be
    /// text, and not after).
    ///
    /// Size: the compressed item is never held, so the document maximum does not apply to it;
    /// the filter's maximum applies to the decompressed content, as to a text stream: what it
    /// allows is scanned, then the content is a `too_large` skip saying so. A damaged or
    /// truncated stream, a compression ratio over the limit or a failed worker end the item as
    /// a skip after the findings in the content before that point.
    fn compressed<S: Sink + ?Sized>(
        &mut self,
        kind: FileType,
        input: &mut dyn Read,
        kept: Option<&RefCell<Option<Vec<u8>>>>,
        item: &Path,
        report: &mut ItemReport,
        sink: &mut S,
    ) -> Result<Option<Flow>, ScanError<S::Error>> {
        let engine = self.engine;
        let read = Cell::new(0u64);
        let mut input = CountRead {
            inner: input,
            read: &read,
        };
        let mut stream = match &engine.pool {
            Some(pool) => pool.inflate(kind, &mut input),
            None => dlp_extract::inflate(kind, &mut input, &engine.limits),
        };
        let mut head = vec![0u8; HEAD];
        let mut len = 0;
        while len < HEAD {
            match stream.read(&mut head[len..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => len += n,
            }
        }
        head.truncate(len);
        if let (true, Some(error)) = (head.is_empty(), stream.error()) {
            let skip = Skipped {
                member: None,
                reason: error.reason(),
                detail: error.detail().to_string(),
            };
            drop(stream);
            report.bytes = read.get();
            return give_skip(sink, item, report, skip).map(Some);
        }
        if !dlp_extract::is_plain_text(&head) {
            return Ok(None);
        }
        if let Some(kept) = kept {
            kept.replace(None);
        }
        let member = stream.member().unwrap_or("content").to_string();
        let file_type = dlp_extract::detect(&head);
        if let Some(mut skip) = engine.filter_type(file_type) {
            drop(stream);
            skip.member = Some(member);
            report.bytes = read.get();
            report.items_scanned = 1;
            report.file_type = Some(kind);
            return give_skip(sink, item, report, skip).map(Some);
        }
        // Extraction decodes text without its byte-order mark: offsets count from after it.
        let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
        let max = engine.filter.max_file_size;
        let mut content = Counted::new(Cursor::new(body).chain(&mut stream), max);
        let mut out = place(sink, item, report, &engine.allow_paths);
        out.member = Some(&member);
        let scanned = self.detect.scan_reader(&mut content, &mut out);
        let stopped = out.stopped;
        let over = content.over;
        match scanned {
            Ok(_) => {}
            Err(ScanError::Sink(e)) => return Err(ScanError::Sink(e)),
            // The content never fails to read: a failing stream ends, and says why below.
            Err(ScanError::Scan(e)) => {
                drop(stream);
                return give_skip(sink, item, report, unreadable_detail(e.to_string())).map(Some);
            }
        }
        if stopped {
            return Ok(Some(Flow::Stop));
        }
        let error = stream.error().cloned();
        drop(stream);
        report.bytes = read.get();
        if over {
            let max = max.unwrap_or(u64::MAX);
            report.items_scanned = 1;
            report.file_type = Some(kind);
            let skip = Skipped {
                member: Some(member),
                reason: SkipReason::TooLarge,
                detail: format!(
                    "decompressed content over the maximum content-inspection size of {max} \
                     bytes; only its first {max} bytes were inspected"
                ),
            };
            return give_skip(sink, item, report, skip).map(Some);
        }
        if let Some(error) = error {
            let skip = Skipped {
                member: None,
                reason: error.reason(),
                detail: error.detail().to_string(),
            };
            return give_skip(sink, item, report, skip).map(Some);
        }
        // The stream and its content, as extraction counts them.
        report.items_scanned = 2;
        report.file_type = Some(kind);
        Ok(Some(Flow::Continue))
    }

    /// Extracts a document (recursively, for containers) and scans its text: in the isolated
    /// workers unless the engine parses in-process. Every skip inside it reaches the sink.
    fn document<S: Sink + ?Sized>(
        &mut self,
        data: &[u8],
        item: &Path,
        report: &mut ItemReport,
        sink: &mut S,
    ) -> Result<Flow, ScanError<S::Error>> {
        report.bytes = data.len() as u64;
        // Where the next text segment of each item starts in its joined text, and on which line.
        let mut cursors: std::collections::HashMap<Option<String>, (usize, u64)> =
            std::collections::HashMap::new();
        let mut outcome: Result<Flow, S::Error> = Ok(Flow::Continue);
        let detect = &mut self.detect;
        let mut on_event = |event: Event<'_>| {
            if !matches!(outcome, Ok(Flow::Continue)) {
                return;
            }
            let ocr = matches!(event, Event::OcrText { .. });
            match event {
                Event::Text {
                    member,
                    location,
                    text,
                }
                | Event::OcrText {
                    member,
                    location,
                    text,
                } => {
                    let cursor = cursors.entry(member.map(str::to_string)).or_insert((0, 0));
                    let (offset, lines) = *cursor;
                    let mut out = Place {
                        sink: &mut *sink,
                        item,
                        offset,
                        lines,
                        member,
                        location,
                        count: &mut report.findings,
                        allowed: &mut report.allowed,
                        paths: &self.engine.allow_paths,
                        ocr: ocr.then_some(self.engine.min_confidence),
                        stopped: false,
                    };
                    outcome = detect.scan_into(text.as_bytes(), &mut out);
                    *cursor = (
                        offset + text.len() + 1,
                        lines + bytecount::count(text.as_bytes(), b'\n') as u64 + 1,
                    );
                }
                Event::Skipped {
                    member,
                    reason,
                    detail,
                } => {
                    report.skipped += 1;
                    let skip = Skipped {
                        member: member.map(str::to_string),
                        reason,
                        detail: detail.to_string(),
                    };
                    outcome = sink.skipped(item, skip);
                }
                Event::ItemDone { member, file_type } => {
                    report.items_scanned += 1;
                    if member.is_none() {
                        report.file_type = Some(file_type);
                    }
                }
            }
        };
        match &self.engine.pool {
            Some(pool) => pool.walk(data, &self.engine.filter, &mut on_event),
            None => dlp_extract::walk(
                data,
                &self.engine.limits,
                &self.engine.filter,
                &mut on_event,
            ),
        }
        outcome.map_err(ScanError::Sink)
    }
}

impl Engine {
    /// A scanner: per-thread scratch space. Make one per thread and reuse it.
    pub fn scanner(&self) -> Scanner<'_> {
        Scanner::new(self)
    }

    /// Inspects one item with a scanner of its own; see [`Scanner::scan`].
    pub fn scan<S: Sink + ?Sized>(
        &self,
        request: Request<'_>,
        sink: &mut S,
    ) -> Result<ItemReport, ScanError<S::Error>> {
        self.scanner().scan(request, sink)
    }

    /// The largest document extraction accepts: the filter's maximum or the limits' own.
    pub(crate) fn document_max(&self) -> u64 {
        self.filter
            .max_file_size
            .unwrap_or(u64::MAX)
            .min(self.limits.max_file_size)
    }

    /// A skip for plain text (`file_type` is text or CSV) of `size` bytes that the filter
    /// refuses. Text is streamed, so only the filter bounds its size.
    pub(crate) fn refuse_text(&self, size: u64, file_type: FileType) -> Option<Skipped> {
        if let Some(max) = self.filter.max_file_size.filter(|&max| size > max) {
            return Some(Skipped {
                member: None,
                reason: SkipReason::TooLarge,
                detail: format!("{size} bytes, over the maximum content-inspection size of {max}"),
            });
        }
        self.filter_type(file_type)
    }

    /// A skip when the type filter leaves `file_type` out.
    fn filter_type(&self, file_type: FileType) -> Option<Skipped> {
        (!self.filter.allows(file_type)).then(|| Skipped {
            member: None,
            reason: SkipReason::FilteredType,
            detail: format!(
                "type {} is not in the file-type allow-list",
                file_type.name()
            ),
        })
    }

    /// The skip of a document of `size` bytes over [`Engine::document_max`].
    pub(crate) fn too_large(&self, size: u64) -> Skipped {
        Skipped {
            member: None,
            reason: SkipReason::TooLarge,
            detail: format!(
                "{size} bytes, over the maximum content-inspection size of {}",
                self.document_max()
            ),
        }
    }
}

fn place<'a, S: Sink + ?Sized>(
    sink: &'a mut S,
    item: &'a Path,
    report: &'a mut ItemReport,
    paths: &'a PathAllow,
) -> Place<'a, S> {
    Place {
        sink,
        item,
        offset: 0,
        lines: 0,
        member: None,
        location: None,
        count: &mut report.findings,
        allowed: &mut report.allowed,
        paths,
        ocr: None,
        stopped: false,
    }
}

fn give_skip<S: Sink + ?Sized>(
    sink: &mut S,
    item: &Path,
    report: &mut ItemReport,
    skip: Skipped,
) -> Result<Flow, ScanError<S::Error>> {
    report.skipped += 1;
    sink.skipped(item, skip).map_err(ScanError::Sink)
}

fn unreadable(e: std::io::Error) -> Skipped {
    unreadable_detail(e.to_string())
}

fn unreadable_detail(detail: String) -> Skipped {
    Skipped {
        member: None,
        reason: SkipReason::Unreadable,
        detail,
    }
}

fn read_head(mut file: &std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A reader that stops one byte past `max` and says whether it got there.
struct Counted<R> {
    inner: R,
    left: Option<u64>,
    over: bool,
}

impl<R: Read> Counted<R> {
    fn new(inner: R, max: Option<u64>) -> Self {
        Counted {
            inner,
            left: max,
            over: false,
        }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(left) = self.left else {
            return self.inner.read(buf);
        };
        if left == 0 {
            // Past the maximum: is there more?
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.over = true;
            }
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left = Some(left - n as u64);
        Ok(n)
    }
}

/// Counts the bytes read through it.
struct CountRead<'a> {
    inner: &'a mut dyn Read,
    read: &'a Cell<u64>,
}

impl Read for CountRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// Keeps a copy of what is read through it, up to `limit` bytes in all (past that the copy is
/// dropped: `None`).
struct Tee<'a> {
    inner: &'a mut dyn Read,
    kept: &'a RefCell<Option<Vec<u8>>>,
    limit: u64,
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut kept = self.kept.borrow_mut();
        if let Some(copy) = kept.as_mut() {
            if (copy.len() + n) as u64 > self.limit {
                *kept = None;
            } else {
                copy.extend_from_slice(&buf[..n]);
            }
        }
        Ok(n)
    }
}
