//! Bulk scans of files and directories: enumeration, reading, scanning, in parallel and in
//! bounded memory.
//!
//! One thread walks the inputs and feeds a bounded channel; a pool of workers, each with its own
//! [`Scanner`](crate::Scanner), reads and scans files; reports come back through a second bounded
//! channel to the caller's thread, in the order files finish. Memory stays flat on any number of
//! files. This module never prints: the caller decides what a report becomes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::bounded;

use crate::engine::Engine;
use crate::extract::isolate::WorkerPool;
use crate::extract::{self, Event, FileType, Filter, Limits, SkipReason};
use crate::finding::Finding;
use crate::scan::Scanner;

/// An item that was not scanned, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Path inside containers, `None` for the file itself.
    pub member: Option<String>,
    /// Why.
    pub reason: SkipReason,
    /// What happened, for a person.
    pub detail: String,
}

/// What scanning one input file produced.
#[derive(Clone, Debug, Default)]
pub struct FileReport {
    /// The file, as given or as found under a directory that was given.
    pub path: PathBuf,
    /// Bytes of content read.
    pub bytes: u64,
    /// Items scanned: the file itself and any members inside it.
    pub items_scanned: u64,
    /// Findings, in order of position within each item.
    pub findings: Vec<Finding>,
    /// Items that were not scanned.
    pub skipped: Vec<Skipped>,
    /// A part of the findings of a large file whose scan goes on: only `path` and `findings`
    /// are set, and the file's last report (not partial) follows. Large files report their
    /// findings as they go, so that memory does not grow with them.
    pub partial: bool,
}

/// How documents are opened: limits against hostile input, the scan filter, and optionally a
/// pool of isolated worker processes for the parsers that may crash, loop or balloon.
#[derive(Clone, Default)]
pub struct Extraction {
    /// Limits of the extraction (depth, sizes, ratio, text, time).
    pub limits: Limits,
    /// Which items are inspected (file-type allow-list, maximum size).
    pub filter: Filter,
    /// Parse untrusted formats in these worker processes rather than in this one.
    pub isolation: Option<std::sync::Arc<WorkerPool>>,
}

impl std::fmt::Debug for Extraction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extraction")
            .field("limits", &self.limits)
            .field("filter", &self.filter)
            .field("isolated", &self.isolation.is_some())
            .finish()
    }
}

/// What scanning one document (and everything inside it) produced.
#[derive(Clone, Debug, Default)]
pub struct DocumentReport {
    /// Items scanned: the document itself and any members inside it.
    pub items_scanned: u64,
    /// Findings, each with its member and location; spans are offsets in the extracted text of
    /// their item (its text segments joined by line feeds).
    pub findings: Vec<Finding>,
    /// Items that were not scanned.
    pub skipped: Vec<Skipped>,
    /// The detected type of the document.
    pub file_type: Option<FileType>,
}

/// Settings of a bulk scan.
#[derive(Clone, Debug)]
pub struct Batch {
    threads: usize,
    /// Plain files at least this large are scanned by all threads together.
    large_item: u64,
    follow_links: bool,
    extraction: Extraction,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            large_item: LARGE_ITEM,
            follow_links: false,
            extraction: Extraction::default(),
        }
    }
}

/// Plain files at least this large are read chunk by chunk by all threads together.
const LARGE_ITEM: u64 = 64 << 20;

/// How many paths may wait for a worker, and reports for the caller.
const QUEUE: usize = 256;

/// How many partial reports (each the findings of one chunk) may wait for the caller.
const PARTS_IN_FLIGHT: i64 = 2;

/// A count that threads can wait on until it falls below a bound.
#[derive(Default)]
struct Gauge {
    /// The count, and whether the counting is over (waiters are released).
    state: std::sync::Mutex<(i64, bool)>,
    changed: std::sync::Condvar,
}

impl Gauge {
    fn add(&self, n: i64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 += n;
        self.changed.notify_all();
    }

    fn wait_below(&self, bound: i64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.0 >= bound && !state.1 {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 = true;
        self.changed.notify_all();
    }
}

impl Batch {
    /// Defaults: one worker per core, no size limit, symbolic links not followed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of worker threads (at least 1).
    pub fn threads(&mut self, n: usize) -> &mut Self {
        self.threads = n.max(1);
        self
    }

    /// How documents are opened (limits, filter, isolation).
    pub fn extraction(&mut self, extraction: Extraction) -> &mut Self {
        self.extraction = extraction;
        self
    }

    /// The size from which a plain file is scanned by all threads together, its findings
    /// sent in partial reports (default 64 MiB). For tests.
    #[doc(hidden)]
    pub fn large_item(&mut self, bytes: u64) -> &mut Self {
        self.large_item = bytes;
        self
    }

    /// Whether to follow symbolic links under directories (default no; links given directly
    /// as inputs are always followed).
    pub fn follow_links(&mut self, yes: bool) -> &mut Self {
        self.follow_links = yes;
        self
    }

    /// Scans every file under `inputs` (files or directories, recursively) and hands one report
    /// per file to `on_report`, on the calling thread. A large plain file also sends
    /// [partial](FileReport::partial) reports with its findings as they are found, before its
    /// last report. `stop` is checked between files: set it to end the scan early (the reports
    /// of files already scanned still arrive).
    pub fn run(
        &self,
        engine: &Engine,
        inputs: &[PathBuf],
        stop: &AtomicBool,
        on_report: &mut dyn FnMut(FileReport),
    ) {
        let (path_tx, path_rx) = bounded::<PathBuf>(QUEUE);
        let (report_tx, report_rx) = bounded::<FileReport>(QUEUE);
        let in_flight = &Gauge::default();
        std::thread::scope(|scope| {
            let walker_reports = report_tx.clone();
            scope.spawn(move || {
                for input in inputs {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    self.walk(input, &path_tx, &walker_reports, stop);
                }
            });
            for _ in 0..self.threads {
                let rx = path_rx.clone();
                let tx = report_tx.clone();
                scope.spawn(move || {
                    let mut scanner = engine.scanner();
                    for path in rx {
                        if stop.load(Ordering::Relaxed) {
                            continue;
                        }
                        let report = self.scan_file(&mut scanner, path, &mut |part| {
                            // Wait while the caller has not taken the earlier parts: a fast
                            // scan must not pile findings up faster than they are written.
                            in_flight.wait_below(PARTS_IN_FLIGHT);
                            if tx.send(part).is_ok() {
                                in_flight.add(1);
                            }
                        });
                        if tx.send(report).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(report_tx);
            drop(path_rx);
            for report in report_rx {
                let partial = report.partial;
                on_report(report);
                if partial {
                    in_flight.add(-1);
                }
            }
            // Nobody takes parts any more: release any scanning thread that waits.
            in_flight.close();
        });
    }

    fn walk(
        &self,
        input: &Path,
        paths: &crossbeam_channel::Sender<PathBuf>,
        reports: &crossbeam_channel::Sender<FileReport>,
        stop: &AtomicBool,
    ) {
        let skip = |path: PathBuf, reason: SkipReason, detail: String| {
            let _ = reports.send(FileReport {
                path,
                skipped: vec![Skipped {
                    member: None,
                    reason,
                    detail,
                }],
                ..FileReport::default()
            });
        };
        match std::fs::metadata(input) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return skip(
                    input.to_path_buf(),
                    SkipReason::NotFound,
                    "no such file or directory".into(),
                );
            }
            Err(e) => return skip(input.to_path_buf(), SkipReason::Unreadable, e.to_string()),
            Ok(meta) if meta.is_file() => {
                let _ = paths.send(input.to_path_buf());
                return;
            }
            Ok(meta) if !meta.is_dir() => {
                return skip(
                    input.to_path_buf(),
                    SkipReason::NotAFile,
                    "not a regular file".into(),
                );
            }
            Ok(_) => {}
        }
        let walker = walkdir::WalkDir::new(input)
            .follow_links(self.follow_links)
            .sort_by_file_name();
        for entry in walker {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match entry {
                Ok(entry) if entry.file_type().is_file() => {
                    if paths.send(entry.into_path()).is_err() {
                        return;
                    }
                }
                Ok(entry) if entry.file_type().is_dir() => {}
                Ok(entry) => skip(
                    entry.into_path(),
                    SkipReason::NotAFile,
                    "symbolic link or special file, not followed".into(),
                ),
                Err(e) => {
                    let path = e
                        .path()
                        .map_or_else(|| input.to_path_buf(), Path::to_path_buf);
                    let detail = e
                        .io_error()
                        .map_or_else(|| e.to_string(), std::string::ToString::to_string);
                    skip(path, SkipReason::Unreadable, detail);
                }
            }
        }
    }

    fn scan_file(
        &self,
        scanner: &mut Scanner<'_>,
        path: PathBuf,
        partial: &mut dyn FnMut(FileReport),
    ) -> FileReport {
        let mut report = FileReport {
            path,
            ..FileReport::default()
        };
        let unreadable = |report: &mut FileReport, e: std::io::Error| {
            report.skipped.push(Skipped {
                member: None,
                reason: SkipReason::Unreadable,
                detail: e.to_string(),
            });
        };
        let file = match std::fs::File::open(&report.path) {
            Ok(file) => file,
            Err(e) => {
                unreadable(&mut report, e);
                return report;
            }
        };
        let size = match file.metadata() {
            Ok(meta) => meta.len(),
            Err(e) => {
                unreadable(&mut report, e);
                return report;
            }
        };
        let mut head = [0u8; 8192];
        let head_len = match read_head(&file, &mut head) {
            Ok(n) => n,
            Err(e) => {
                unreadable(&mut report, e);
                return report;
            }
        };
        let plain = extract::is_plain_text(&head[..head_len]);
        if let Some(skip) = self.extraction.too_large(size, plain) {
            report.skipped.push(skip);
            return report;
        }
        if plain {
            if let Some(skip) = self.extraction.filtered(FileType::Text) {
                report.skipped.push(skip);
                return report;
            }
            let scanned = if size >= self.large_item {
                // One large file: its chunks are read (not mapped, so that resident memory
                // stays a few chunks per thread) and shared between the threads.
                let path = report.path.clone();
                scanner
                    .engine()
                    .scan_file_streaming(&file, self.threads, &mut |findings| {
                        partial(FileReport {
                            path: path.clone(),
                            findings,
                            partial: true,
                            ..FileReport::default()
                        })
                    })
                    .map(|bytes| (Vec::new(), bytes))
            } else {
                // Plain text is scanned as it lies on disk, in bounded memory.
                let mut findings = Vec::new();
                scanner
                    .scan_path(&report.path, &mut |f| findings.push(f))
                    .map(|bytes| (findings, bytes))
            };
            match scanned {
                Ok((findings, bytes)) => {
                    report.findings = findings;
                    report.bytes = bytes;
                    report.items_scanned = 1;
                }
                Err(e) => report.skipped.push(Skipped {
                    member: None,
                    reason: SkipReason::Unreadable,
                    detail: e.to_string(),
                }),
            }
            return report;
        }
        // SAFETY: read-only private map, as in Scanner::scan_path.
        let map = match unsafe { memmap2::Mmap::map(&file) } {
            Ok(map) => map,
            Err(e) => {
                unreadable(&mut report, e);
                return report;
            }
        };
        let doc = scanner.scan_document(&map, &self.extraction);
        report.bytes = map.len() as u64;
        report.items_scanned = doc.items_scanned;
        report.findings = doc.findings;
        report.skipped = doc.skipped;
        report
    }
}

impl Extraction {
    /// A skip for an item of `size` bytes over the filter's maximum or, for a document that
    /// extraction must hold in memory, over the limits' maximum. Plain text is streamed, so only
    /// the filter bounds it.
    fn too_large(&self, size: u64, plain_text: bool) -> Option<Skipped> {
        let limit = (!plain_text).then_some(self.limits.max_file_size);
        let max = match (self.filter.max_file_size, limit) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return None,
        };
        (size > max).then(|| Skipped {
            member: None,
            reason: SkipReason::TooLarge,
            detail: format!("{size} bytes, over the maximum content-inspection size of {max}"),
        })
    }

    /// A skip for a type the filter does not allow.
    fn filtered(&self, file_type: FileType) -> Option<Skipped> {
        let types = self.filter.file_types.as_ref()?;
        (!types.contains(&file_type)).then(|| Skipped {
            member: None,
            reason: SkipReason::FilteredType,
            detail: format!(
                "type {} is not in the file-type allow-list",
                file_type.name()
            ),
        })
    }
}

impl Scanner<'_> {
    /// Extracts the text of a document (recursively, for containers) and scans it. Formats are
    /// detected from the content; `extraction` sets the limits, the filter and the isolation.
    pub fn scan_document(&mut self, data: &[u8], extraction: &Extraction) -> DocumentReport {
        let mut doc = DocumentReport {
            file_type: Some(extract::detect(data)),
            ..DocumentReport::default()
        };
        // Where the next text segment of each item starts in its joined text, and on which line.
        let mut cursors: std::collections::HashMap<Option<String>, (usize, u64)> =
            std::collections::HashMap::new();
        let mut sink = |event: Event<'_>| match event {
            Event::Text {
                member,
                location,
                text,
            } => {
                let cursor = cursors.entry(member.map(str::to_string)).or_insert((0, 0));
                let (offset, lines) = *cursor;
                self.scan_with(text.as_bytes(), &mut |mut f| {
                    f.start += offset;
                    f.end += offset;
                    f.line += lines;
                    f.member = member.map(str::to_string);
                    f.location = location.map(str::to_string);
                    doc.findings.push(f);
                });
                *cursor = (
                    offset + text.len() + 1,
                    lines + bytecount::count(text.as_bytes(), b'\n') as u64 + 1,
                );
            }
            Event::Skipped {
                member,
                reason,
                detail,
            } => doc.skipped.push(Skipped {
                member: member.map(str::to_string),
                reason,
                detail: detail.to_string(),
            }),
            Event::ItemDone { .. } => doc.items_scanned += 1,
        };
        match &extraction.isolation {
            Some(pool) => pool.walk(data, &extraction.filter, &mut sink),
            None => extract::walk(data, &extraction.limits, &extraction.filter, &mut sink),
        }
        doc
    }
}

fn read_head(mut file: &std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
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
