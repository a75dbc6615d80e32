//! Bulk scans of files and directories: enumeration, reading, inspection, in parallel and in
//! bounded memory.
//!
//! One thread walks the inputs and feeds a bounded channel; a pool of workers, each with its own
//! [`Scanner`](crate::Scanner), inspects files; results come back through a second bounded
//! channel to the caller's thread, which gives them to the caller's [`Sink`], file by file in the
//! order files finish. A large text file is scanned by all threads together and its findings
//! arrive in parts as they are found. Memory stays flat on any number of files. This module never
//! prints: the sink decides what a result becomes, and can stop the batch.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{bounded, Sender};
use dlp_detect::{Error, ErrorKind, Finding, Flow, ScanError};
use dlp_extract::SkipReason;

use crate::engine::Engine;
use crate::request::Request;
use crate::sink::{ItemReport, Sink, Skipped};

/// Settings of a bulk scan.
///
/// ```no_run
/// use dlp_engine::{Batch, Collect, EngineBuilder};
///
/// let engine = EngineBuilder::new().build()?;
/// let mut found = Collect::default();
/// Batch::new().threads(4).run(&engine, &["docs/".into()], &mut found)
///     .map_err(|e| e.into_scan_error())?;
/// for (path, f) in &found.findings {
///     println!("{}: {} {}", path.display(), f.detector, f.masked);
/// }
/// # Ok::<(), dlp_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Batch {
    threads: usize,
    follow_links: bool,
    select: Option<std::sync::Arc<Select>>,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            follow_links: false,
            select: None,
        }
    }
}

/// Which paths under a directory a [`Batch`] inspects. Everything left out is reported as a
/// skip with reason [`SkipReason::Excluded`] (a directory left out is one skip), so nothing is
/// dropped without a count. Inputs given directly are always inspected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Honour ignore files (`.gitignore`, `.ignore`, `.dlpignore`, with git's pattern syntax;
    /// in each directory, later files win) in the directories walked, and leave out
    /// version-control directories (`.git`, `.hg`, `.svn`).
    pub ignore_files: bool,
    /// Leave out hidden files and directories (names starting with `.`).
    pub skip_hidden: bool,
    /// Leave out paths matching one of these globs (`*.log`, `node_modules`, `build/**`),
    /// matched against the path relative to the input directory and against the name.
    pub exclude: Vec<String>,
    /// When not empty, inspect only files matching one of these globs (directories are
    /// still walked).
    pub include: Vec<String>,
}

/// A compiled [`Selection`].
#[derive(Debug)]
struct Select {
    ignore_files: bool,
    skip_hidden: bool,
    exclude: globset::GlobSet,
    include: Option<globset::GlobSet>,
}

const IGNORE_FILES: [&str; 3] = [".gitignore", ".ignore", ".dlpignore"];
const VCS_DIRS: [&str; 3] = [".git", ".hg", ".svn"];

fn glob_set(patterns: &[String], flag: &str) -> Result<globset::GlobSet, Error> {
    let mut set = globset::GlobSetBuilder::new();
    for pattern in patterns {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(false)
            .backslash_escape(true)
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("{flag} {pattern:?} is not a glob pattern: {e}"),
                )
            })?;
        set.add(glob);
    }
    set.build()
        .map_err(|e| Error::new(ErrorKind::Config, format!("{flag}: {e}")))
}

impl Select {
    fn new(selection: &Selection) -> Result<Select, Error> {
        Ok(Select {
            ignore_files: selection.ignore_files,
            skip_hidden: selection.skip_hidden,
            exclude: glob_set(&selection.exclude, "exclude")?,
            include: if selection.include.is_empty() {
                None
            } else {
                Some(glob_set(&selection.include, "include")?)
            },
        })
    }

    /// Why `entry` (below `input`) is left out, if it is. `ignores` are the ignore files of
    /// its ancestors, outermost first.
    fn excluded(
        &self,
        entry: &walkdir::DirEntry,
        input: &Path,
        ignores: &[(usize, ignore::gitignore::Gitignore)],
    ) -> Option<String> {
        let name = entry.file_name().to_string_lossy();
        let is_dir = entry.file_type().is_dir();
        if self.ignore_files && is_dir && VCS_DIRS.contains(&name.as_ref()) {
            return Some("a version-control directory (--no-ignore scans it)".into());
        }
        if self.skip_hidden && name.starts_with('.') {
            return Some("hidden (scanned unless hidden files are left out)".into());
        }
        let relative = entry.path().strip_prefix(input).unwrap_or(entry.path());
        if self.exclude.is_match(relative) || self.exclude.is_match(name.as_ref()) {
            return Some("matches an exclude pattern".into());
        }
        if self.ignore_files {
            for (_, ignore) in ignores.iter().rev() {
                match ignore.matched(entry.path(), is_dir) {
                    ignore::Match::Ignore(glob) => {
                        let from = glob
                            .from()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| "an ignore file".into());
                        return Some(format!(
                            "ignored by {from} ({}) (--no-ignore scans it)",
                            glob.original()
                        ));
                    }
                    ignore::Match::Whitelist(_) => break,
                    ignore::Match::None => {}
                }
            }
        }
        if let Some(include) = &self.include {
            if !is_dir && !include.is_match(relative) && !include.is_match(name.as_ref()) {
                return Some("matches no include pattern".into());
            }
        }
        None
    }

    /// The ignore files of directory `dir`, if it has any.
    fn ignores_of(&self, dir: &Path) -> Option<ignore::gitignore::Gitignore> {
        if !self.ignore_files {
            return None;
        }
        let mut builder = ignore::gitignore::GitignoreBuilder::new(dir);
        let mut any = false;
        for name in IGNORE_FILES {
            let path = dir.join(name);
            if path.is_file() {
                // A line that is not a valid pattern is left out; the others apply.
                let _ = builder.add(path);
                any = true;
            }
        }
        if !any {
            return None;
        }
        builder.build().ok()
    }
}

/// How many paths may wait for a worker, and results for the caller.
const QUEUE: usize = 256;

/// How many findings a worker holds before it hands them on in a part of their file.
const PART: usize = 4096;

/// How many parts may wait for the caller.
const PARTS_IN_FLIGHT: i64 = 2;

/// What a worker sends the caller's thread.
enum Message {
    /// Findings and skips of a file whose inspection goes on.
    Part {
        path: PathBuf,
        findings: Vec<Finding>,
        skipped: Vec<Skipped>,
    },
    /// The rest of a file's findings and skips, and its report.
    Done {
        findings: Vec<Finding>,
        skipped: Vec<Skipped>,
        report: ItemReport,
    },
}

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

/// A worker's sink: buffers one file's results, handing findings on in parts when they pile up.
struct Buffer<'a> {
    findings: Vec<Finding>,
    skipped: Vec<Skipped>,
    tx: &'a Sender<Message>,
    in_flight: &'a Gauge,
    stop: &'a AtomicBool,
}

impl Buffer<'_> {
    fn flow(&self) -> Flow {
        if self.stop.load(Ordering::Relaxed) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

impl Sink for Buffer<'_> {
    type Error = std::convert::Infallible;

    fn finding(&mut self, item: &Path, finding: Finding) -> Result<Flow, Self::Error> {
        self.findings.push(finding);
        if self.findings.len() >= PART {
            // Wait while the caller has not taken the earlier parts: a fast scan must not pile
            // findings up faster than they are written.
            self.in_flight.wait_below(PARTS_IN_FLIGHT);
            let part = Message::Part {
                path: item.to_path_buf(),
                findings: std::mem::take(&mut self.findings),
                skipped: std::mem::take(&mut self.skipped),
            };
            if self.tx.send(part).is_ok() {
                self.in_flight.add(1);
            }
        }
        Ok(self.flow())
    }

    fn skipped(&mut self, _item: &Path, skipped: Skipped) -> Result<Flow, Self::Error> {
        self.skipped.push(skipped);
        Ok(self.flow())
    }
}

/// Gives a message to the caller's sink; `Ok(false)` when the sink said stop.
fn deliver<S: Sink + ?Sized>(sink: &mut S, message: Message) -> Result<bool, S::Error> {
    let (path, findings, skipped, report) = match message {
        Message::Part {
            path,
            findings,
            skipped,
        } => (path, findings, skipped, None),
        Message::Done {
            findings,
            skipped,
            report,
        } => (report.path.clone(), findings, skipped, Some(report)),
    };
    for f in findings {
        if sink.finding(&path, f)? == Flow::Stop {
            return Ok(false);
        }
    }
    for s in skipped {
        if sink.skipped(&path, s)? == Flow::Stop {
            return Ok(false);
        }
    }
    if let Some(report) = report {
        if sink.finished(&report)? == Flow::Stop {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Batch {
    /// Defaults: one worker per core, symbolic links not followed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of worker threads (at least 1).
    pub fn threads(&mut self, n: usize) -> &mut Self {
        self.threads = n.max(1);
        self
    }

    /// Whether to follow symbolic links under directories (default no; links given directly
    /// as inputs are always followed).
    pub fn follow_links(&mut self, yes: bool) -> &mut Self {
        self.follow_links = yes;
        self
    }

    /// Which paths under the input directories to inspect (default: every file). A glob that
    /// is not valid is an error naming it.
    pub fn select(&mut self, selection: &Selection) -> Result<&mut Self, Error> {
        self.select = if *selection == Selection::default() {
            None
        } else {
            Some(std::sync::Arc::new(Select::new(selection)?))
        };
        Ok(self)
    }

    /// Inspects every file under `inputs` (files or directories, recursively) with `engine`
    /// and gives the results to `sink` on the calling thread: each file's findings and skips,
    /// then its report. Inputs that do not exist or cannot be read are skips too. The batch
    /// ends early when the sink says [`Flow::Stop`] (files already inspected are not given)
    /// or fails (its error is returned); a worker thread that dies is an error.
    pub fn run<S: Sink + ?Sized>(
        &self,
        engine: &Engine,
        inputs: &[PathBuf],
        sink: &mut S,
    ) -> Result<(), ScanError<S::Error>> {
        let (path_tx, path_rx) = bounded::<PathBuf>(QUEUE);
        let (tx, rx) = bounded::<Message>(QUEUE);
        let in_flight = &Gauge::default();
        let stop = &AtomicBool::new(false);
        std::thread::scope(|scope| {
            let walker_tx = tx.clone();
            let walker = scope.spawn(move || {
                for input in inputs {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    self.walk(input, &path_tx, &walker_tx, stop);
                }
            });
            let workers: Vec<_> = (0..self.threads)
                .map(|_| {
                    let rx = path_rx.clone();
                    let tx = tx.clone();
                    scope.spawn(move || {
                        let mut scanner = engine.scanner();
                        for path in rx {
                            if stop.load(Ordering::Relaxed) {
                                continue;
                            }
                            let mut buffer = Buffer {
                                findings: Vec::new(),
                                skipped: Vec::new(),
                                tx: &tx,
                                in_flight,
                                stop,
                            };
                            let request = Request::path(&path).threads(self.threads);
                            let report = match scanner.scan(request, &mut buffer) {
                                Ok(report) => report,
                                Err(ScanError::Scan(e)) => {
                                    buffer.skipped.push(Skipped {
                                        member: None,
                                        reason: SkipReason::Unreadable,
                                        detail: e.to_string(),
                                    });
                                    ItemReport {
                                        path: path.clone(),
                                        ..ItemReport::default()
                                    }
                                }
                                Err(ScanError::Sink(never)) => match never {},
                            };
                            let done = Message::Done {
                                findings: buffer.findings,
                                skipped: buffer.skipped,
                                report,
                            };
                            if tx.send(done).is_err() {
                                break;
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            drop(path_rx);
            let mut result = Ok(());
            for message in rx {
                let part = matches!(message, Message::Part { .. });
                if result.is_ok() && !stop.load(Ordering::Relaxed) {
                    match deliver(sink, message) {
                        Ok(true) => {}
                        Ok(false) => stop.store(true, Ordering::Relaxed),
                        Err(e) => {
                            // Nobody is listening: stop reading more files.
                            stop.store(true, Ordering::Relaxed);
                            result = Err(ScanError::Sink(e));
                        }
                    }
                }
                if part {
                    in_flight.add(-1);
                }
            }
            // Nobody takes parts any more: release any scanning thread that waits.
            in_flight.close();
            let died = std::iter::once(walker.join().is_err())
                .chain(workers.into_iter().map(|w| w.join().is_err()))
                .any(|died| died);
            if died && result.is_ok() {
                result = Err(ScanError::Scan(Error::new(
                    ErrorKind::Internal,
                    "a scanning thread failed; the batch's results are incomplete",
                )));
            }
            result
        })
    }

    fn walk(
        &self,
        input: &Path,
        paths: &Sender<PathBuf>,
        results: &Sender<Message>,
        stop: &AtomicBool,
    ) {
        let skip = |path: PathBuf, reason: SkipReason, detail: String| {
            let _ = results.send(Message::Done {
                findings: Vec::new(),
                skipped: vec![Skipped {
                    member: None,
                    reason,
                    detail,
                }],
                report: ItemReport {
                    path,
                    skipped: 1,
                    ..ItemReport::default()
                },
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
        let mut walker = walkdir::WalkDir::new(input)
            .follow_links(self.follow_links)
            .sort_by_file_name()
            .into_iter();
        // The ignore files of the directories above the current entry, with their depth.
        let mut ignores: Vec<(usize, ignore::gitignore::Gitignore)> = Vec::new();
        while let Some(entry) = walker.next() {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            if let (Ok(entry), Some(select)) = (&entry, &self.select) {
                let depth = entry.depth();
                ignores.retain(|(d, _)| *d < depth);
                if depth > 0 {
                    if let Some(why) = select.excluded(entry, input, &ignores) {
                        if entry.file_type().is_dir() {
                            walker.skip_current_dir();
                        }
                        skip(entry.path().to_path_buf(), SkipReason::Excluded, why);
                        continue;
                    }
                }
                if entry.file_type().is_dir() {
                    if let Some(found) = select.ignores_of(entry.path()) {
                        ignores.push((depth, found));
                    }
                }
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
}
