//! Process isolation for extraction: a pool of warm, reused worker processes that run
//! [`walk`] on untrusted bytes under a memory cap and a wall-clock limit, so that
//! what `catch_unwind` cannot stop (a stack overflow, an abort, an endless loop, a runaway
//! allocation inside a third-party parser) ends as a skip of that one item instead of taking
//! the process down.
//!
//! The worker is the embedding binary itself, re-executed with an argument that makes it call
//! [`worker_main`]; the pool is given the [`Command`] that does so:
//!
//! ```no_run
//! use dlp_extract::isolate::WorkerPool;
//! use dlp_extract::{Event, Filter, Limits};
//!
//! # fn main() -> std::io::Result<()> {
//! // In `main`: if the first argument is `__extract-worker`, run
//! // `std::process::exit(dlp_extract::isolate::worker_main())`.
//! let mut command = std::process::Command::new(std::env::current_exe()?);
//! command.arg("__extract-worker");
//! let pool = WorkerPool::new(command, 2, Limits::default())?;
//! pool.walk(b"%PDF-1.4 ...", &Filter::default(), &mut |event| println!("{event:?}"));
//! # Ok(())
//! # }
//! ```
//!
//! Which items cross the process boundary: everything whose detected type is read by a
//! third-party parser or may contain one (PDF, e-mail, OOXML, ODF, legacy Office and Outlook
//! files, archives) or by another program (images: OCR runs only in the workers, Tesseract
//! being a child process of the worker under limits of its own). Plain text, CSV, JSON, HTML,
//! XML and RTF are read by this crate's own linear, bounded code and stay in-process
//! ([`FileType::is_in_process_safe`]), as do items that a filter or size limit skips without
//! reading them (and images when OCR is off): shipping them to a worker would only cost a
//! copy.
//!
//! Protocol, over the worker's stdin/stdout: the worker first writes [`MAGIC`] (anything
//! written before it, such as a test harness banner, is ignored). A request is a `u32` LE
//! length and a JSON header (limits and filter), then a `u64` LE length and the bytes. The
//! worker answers with frames (`u32` LE length + JSON event) ending with an `end` frame. The
//! worker points its own file descriptor 1 at `/dev/null`, so that a library printing to
//! stdout cannot corrupt the protocol.
//!
//! A stream request ([`WorkerPool::inflate`]: a compressed stream decompressed as it is read)
//! names the stream's type in its header, and its input follows as frames (`u32` LE length +
//! compressed bytes) up to a frame of length 0. The worker answers as it decompresses: a JSON
//! `member` frame (the content's name), data frames (a `0` byte, then up to 64 KiB of
//! decompressed bytes; a JSON frame starts with `{`), a JSON `skipped` frame if the content
//! ends early, and `end` once it has read the input's end frame. The pool writes the input from
//! a thread of its own while its reader thread drains the answer, so that neither pipe can fill
//! up against a side that waits on the other.

use std::borrow::Cow;
use std::io::{self, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::archive::{StreamInflater, CHUNK};
use crate::detect::detect;
use crate::stream::{Inflate, InflateError, Inflating};
use crate::types::{Event, FileType, Filter, Limits, SkipReason};
use crate::walker::{walk, walk_isolated};

/// The bytes a worker writes when it is ready to serve requests.
pub const MAGIC: &[u8; 8] = b"DLPXW\x01\r\n";

/// The environment variable through which the pool passes the memory cap to a worker.
pub const MEMORY_ENV: &str = "DLP_EXTRACT_WORKER_MEMORY";

/// Largest frame accepted from a worker (a text segment is at most
/// [`Limits::max_text_per_item`]; JSON escaping can at most multiply it by six).
const MAX_FRAME: u64 = 1 << 31;

/// Extra wall-clock time granted over [`Limits::time_per_item`] before a worker is killed,
/// so that its own cooperative timeout can report first.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// The first byte of a frame of decompressed bytes from a worker (the rest of the frame); a
/// JSON frame starts with `{`.
const DATA_TAG: u8 = 0;

/// Largest frame of compressed input a worker accepts (the pool sends [`CHUNK`]s).
const MAX_INPUT_FRAME: u32 = 1 << 20;

/// How many chunks of compressed input may be on their way to a worker at once: enough to
/// keep it busy, few enough that memory stays bounded.
const INPUT_IN_FLIGHT: usize = 4;

#[derive(Serialize, Deserialize)]
struct Request {
    max_depth: u32,
    max_entries: u64,
    max_total_inflated: u64,
    max_entry_inflated: u64,
    max_ratio: u64,
    ratio_threshold: u64,
    max_text_per_item: u64,
    max_xml_depth: u32,
    time_per_item_ms: u64,
    max_file_size: u64,
    file_types: Option<Vec<String>>,
    filter_max_file_size: Option<u64>,
    ocr: bool,
    ocr_languages: Vec<String>,
    ocr_timeout_ms: u64,
    ocr_max_pages: u32,
    ocr_max_pixels: u64,
    ocr_max_memory: u64,
    /// Set for a stream request: the type of the compressed stream that follows as input
    /// frames, whose decompressed content the worker answers with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream: Option<String>,
}

impl Request {
    fn new(limits: &Limits, filter: &Filter) -> Request {
        Request {
            max_depth: limits.max_depth,
            max_entries: limits.max_entries,
            max_total_inflated: limits.max_total_inflated,
            max_entry_inflated: limits.max_entry_inflated,
            max_ratio: limits.max_ratio,
            ratio_threshold: limits.ratio_threshold,
            max_text_per_item: limits.max_text_per_item,
            max_xml_depth: limits.max_xml_depth,
            time_per_item_ms: u64::try_from(limits.time_per_item.as_millis()).unwrap_or(u64::MAX),
            max_file_size: limits.max_file_size,
            file_types: filter
                .file_types
                .as_ref()
                .map(|types| types.iter().map(|t| t.name().to_string()).collect()),
            filter_max_file_size: filter.max_file_size,
            ocr: limits.ocr,
            ocr_languages: limits.ocr_languages.clone(),
            ocr_timeout_ms: u64::try_from(limits.ocr_timeout.as_millis()).unwrap_or(u64::MAX),
            ocr_max_pages: limits.ocr_max_pages,
            ocr_max_pixels: limits.ocr_max_pixels,
            ocr_max_memory: limits.ocr_max_memory,
            stream: None,
        }
    }

    fn split(self) -> (Limits, Filter) {
        let limits = Limits {
            max_depth: self.max_depth,
            max_entries: self.max_entries,
            max_total_inflated: self.max_total_inflated,
            max_entry_inflated: self.max_entry_inflated,
            max_ratio: self.max_ratio,
            ratio_threshold: self.ratio_threshold,
            max_text_per_item: self.max_text_per_item,
            max_xml_depth: self.max_xml_depth,
            time_per_item: Duration::from_millis(self.time_per_item_ms),
            max_file_size: self.max_file_size,
            ocr: self.ocr,
            ocr_languages: self.ocr_languages,
            ocr_timeout: Duration::from_millis(self.ocr_timeout_ms),
            ocr_max_pages: self.ocr_max_pages,
            ocr_max_pixels: self.ocr_max_pixels,
            ocr_max_memory: self.ocr_max_memory,
            ..Limits::default()
        };
        let filter = Filter {
            file_types: self
                .file_types
                .map(|names| names.iter().filter_map(|n| n.parse().ok()).collect()),
            max_file_size: self.filter_max_file_size,
        };
        (limits, filter)
    }
}

/// One event on the wire.
#[derive(Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
enum Wire<'a> {
    Text {
        #[serde(borrow)]
        member: Option<Cow<'a, str>>,
        #[serde(borrow)]
        location: Option<Cow<'a, str>>,
        #[serde(borrow)]
        text: Cow<'a, str>,
        /// Recognised by OCR ([`Event::OcrText`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ocr: bool,
    },
    Skipped {
        #[serde(borrow)]
        member: Option<Cow<'a, str>>,
        #[serde(borrow)]
        reason: Cow<'a, str>,
        #[serde(borrow)]
        detail: Cow<'a, str>,
    },
    Done {
        #[serde(borrow)]
        member: Option<Cow<'a, str>>,
        #[serde(borrow)]
        file_type: Cow<'a, str>,
    },
    End,
}

impl<'a> Wire<'a> {
    fn from_event(event: &Event<'a>) -> Wire<'a> {
        match *event {
            Event::Text {
                member,
                location,
                text,
            }
            | Event::OcrText {
                member,
                location,
                text,
            } => Wire::Text {
                member: member.map(Cow::Borrowed),
                location: location.map(Cow::Borrowed),
                text: Cow::Borrowed(text),
                ocr: matches!(event, Event::OcrText { .. }),
            },
            Event::Skipped {
                member,
                reason,
                detail,
            } => Wire::Skipped {
                member: member.map(Cow::Borrowed),
                reason: Cow::Borrowed(reason.as_str()),
                detail: Cow::Borrowed(detail),
            },
            Event::ItemDone { member, file_type } => Wire::Done {
                member: member.map(Cow::Borrowed),
                file_type: Cow::Borrowed(file_type.name()),
            },
        }
    }

    /// Hands the event to `sink`; returns false for the end frame.
    fn deliver(&self, sink: &mut dyn FnMut(Event<'_>)) -> bool {
        match self {
            Wire::Text {
                member,
                location,
                text,
                ocr: false,
            } => sink(Event::Text {
                member: member.as_deref(),
                location: location.as_deref(),
                text,
            }),
            Wire::Text {
                member,
                location,
                text,
                ocr: true,
            } => sink(Event::OcrText {
                member: member.as_deref(),
                location: location.as_deref(),
                text,
            }),
            Wire::Skipped {
                member,
                reason,
                detail,
            } => sink(Event::Skipped {
                member: member.as_deref(),
                reason: SkipReason::from_name(reason).unwrap_or(SkipReason::BrokenFile),
                detail,
            }),
            Wire::Done { member, file_type } => sink(Event::ItemDone {
                member: member.as_deref(),
                file_type: file_type.parse().unwrap_or(FileType::Binary),
            }),
            Wire::End => return false,
        }
        true
    }
}

/// A frame of a stream answer that is not decompressed bytes.
#[derive(Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
enum StreamFrame<'a> {
    /// The content's member name, before its first bytes.
    Member {
        #[serde(borrow)]
        name: Cow<'a, str>,
    },
    /// The content ended early, and why; the answer still ends with `End`.
    Skipped {
        #[serde(borrow)]
        reason: Cow<'a, str>,
        #[serde(borrow)]
        detail: Cow<'a, str>,
    },
    /// The end of the answer: the input was read to its end frame.
    End,
}

fn write_frame(out: &mut dyn Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame too large"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(payload)
}

fn read_frame(input: &mut dyn Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u64::from(u32::from_le_bytes(len));
    read_exactly(input, len).map(Some)
}

/// Reads exactly `len` bytes without trusting `len` for the allocation.
fn read_exactly(input: &mut dyn Read, len: u64) -> io::Result<Vec<u8>> {
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    // Sized by the frame, but never more than 1 MiB ahead of what actually arrives.
    let mut buf = Vec::with_capacity(usize::try_from(len.min(1 << 20)).unwrap_or(0));
    input.take(len).read_to_end(&mut buf)?;
    if buf.len() as u64 != len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short frame"));
    }
    Ok(buf)
}

/// The body of a worker process: serves extraction requests on stdin/stdout until stdin
/// closes, then returns the exit code (0, or 2 on a protocol error). Call it from `main` when
/// the binary is started as a worker, and exit with its result.
///
/// Applies the memory cap given in [`MEMORY_ENV`] (RLIMIT_AS) and disables core dumps first.
pub fn worker_main() -> i32 {
    apply_memory_cap();
    // Panics are caught and reported as events; their default message would only be noise.
    std::panic::set_hook(Box::new(|_| {}));
    let mut out = match protocol_stdout() {
        Ok(out) => io::BufWriter::new(out),
        Err(_) => return 2,
    };
    if out.write_all(MAGIC).and_then(|()| out.flush()).is_err() {
        return 2;
    }
    let stdin = io::stdin();
    let mut input = stdin.lock();
    loop {
        let header = match read_frame(&mut input) {
            Ok(Some(header)) => header,
            Ok(None) => return 0,
            Err(_) => return 2,
        };
        let Ok(mut request) = serde_json::from_slice::<Request>(&header) else {
            return 2;
        };
        if let Some(kind) = request.stream.take() {
            let (limits, _) = request.split();
            if serve_stream(&kind, &limits, &mut input, &mut out).is_err() {
                return 2;
            }
            continue;
        }
        let mut len = [0u8; 8];
        if input.read_exact(&mut len).is_err() {
            return 2;
        }
        let (limits, filter) = request.split();
        let len = u64::from_le_bytes(len);
        if len > limits.max_file_size.saturating_add(1) {
            return 2;
        }
        let mut data = Vec::new();
        if (&mut input).take(len).read_to_end(&mut data).is_err() || data.len() as u64 != len {
            return 2;
        }
        let mut failed = false;
        walk_isolated(&data, &limits, &filter, &mut |event| {
            if failed {
                return;
            }
            let wire = Wire::from_event(&event);
            failed = serde_json::to_vec(&wire)
                .map_err(io::Error::other)
                .and_then(|payload| write_frame(&mut out, &payload))
                .is_err();
        });
        drop(data);
        let end = serde_json::to_vec(&Wire::End).unwrap_or_default();
        if failed
            || write_frame(&mut out, &end)
                .and_then(|()| out.flush())
                .is_err()
        {
            return 2;
        }
    }
}

/// Serves one stream request: decompresses the input frames that follow the header as they
/// come, answering with data frames ([`DATA_TAG`] and up to [`CHUNK`] bytes), the member name
/// before them, a skip if the stream ends early, and `End` once the input's end frame was read.
/// An error is a broken protocol (the worker then exits).
fn serve_stream(
    kind: &str,
    limits: &Limits,
    input: &mut dyn Read,
    out: &mut dyn Write,
) -> io::Result<()> {
    let kind: FileType = kind.parse().unwrap_or(FileType::Binary);
    let mut frames = InputFrames {
        input,
        left: 0,
        ended: false,
    };
    {
        let mut inflater = StreamInflater::new(kind, &mut frames, limits);
        let mut buf = vec![0u8; 1 + CHUNK];
        buf[0] = DATA_TAG;
        let mut named = false;
        loop {
            let got = inflater.fill(&mut buf[1..]);
            if !named {
                if let Some(name) = inflater.name() {
                    write_json(out, &StreamFrame::Member { name: name.into() })?;
                }
                named = true;
            }
            match got {
                Ok(0) => break,
                Ok(n) => write_frame(out, &buf[..=n])?,
                Err(skip) => {
                    let frame = StreamFrame::Skipped {
                        reason: skip.reason.as_str().into(),
                        detail: skip.detail.as_str().into(),
                    };
                    write_json(out, &frame)?;
                    break;
                }
            }
            out.flush()?;
        }
    }
    // What is left of the input, up to its end frame, keeps the protocol in step.
    io::copy(&mut frames, &mut io::sink())?;
    write_json(out, &StreamFrame::End)?;
    out.flush()
}

fn write_json(out: &mut dyn Write, frame: &StreamFrame<'_>) -> io::Result<()> {
    let payload = serde_json::to_vec(frame).map_err(io::Error::other)?;
    write_frame(out, &payload)
}

/// The compressed input of a stream request as one reader: frames of a `u32` LE length and
/// bytes, up to a frame of length 0.
struct InputFrames<'a> {
    input: &'a mut dyn Read,
    /// Bytes left in the current frame.
    left: u32,
    ended: bool,
}

impl Read for InputFrames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.left == 0 {
            if self.ended {
                return Ok(0);
            }
            let mut len = [0u8; 4];
            self.input.read_exact(&mut len)?;
            match u32::from_le_bytes(len) {
                0 => self.ended = true,
                len if len > MAX_INPUT_FRAME => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "input frame too large",
                    ))
                }
                len => self.left = len,
            }
        }
        let want = buf.len().min(self.left as usize);
        let n = self.input.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "input closed inside a frame",
            ));
        }
        self.left -= n as u32;
        Ok(n)
    }
}

fn apply_memory_cap() {
    let cap = std::env::var(MEMORY_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    // SAFETY: setrlimit only reads the struct we pass; it has no memory-safety preconditions.
    unsafe {
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        if let Some(cap) = cap {
            let limit = libc::rlimit {
                rlim_cur: cap as libc::rlim_t,
                rlim_max: cap as libc::rlim_t,
            };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
        }
    }
}

/// Moves the protocol to a private duplicate of fd 1 and points fd 1 at `/dev/null`.
fn protocol_stdout() -> io::Result<std::fs::File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    io::stdout().flush()?;
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    // SAFETY: dup and dup2 operate on descriptors this process owns; the duplicate is owned
    // by the File created from it and by nothing else.
    unsafe {
        let private = libc::dup(1);
        if private < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::dup2(null.as_raw_fd(), 1) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(std::fs::File::from_raw_fd(private))
    }
}

/// What a worker's reader thread passes on, and, during a stream, its input thread.
enum Message {
    Frame(Vec<u8>),
    Closed,
    /// The input thread wrote one frame of a stream's input.
    Written,
    /// The input thread is done and gives the worker's stdin back.
    InputDone(ChildStdin),
}

struct Worker {
    child: Child,
    /// `None` while a stream's input thread writes to it.
    stdin: Option<ChildStdin>,
    frames: Receiver<Message>,
    /// For a stream's input thread, which reports through the same channel.
    sender: SyncSender<Message>,
    stderr_tail: Arc<Mutex<Vec<u8>>>,
}

impl Worker {
    fn spawn(command: &mut Command) -> io::Result<Worker> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let missing = || io::Error::other("worker pipes missing");
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = child.stdout.take().ok_or_else(missing)?;
        let stderr = child.stderr.take().ok_or_else(missing)?;
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let tail = Arc::clone(&stderr_tail);
        std::thread::Builder::new()
            .name("dlp-worker-stderr".into())
            .spawn(move || drain_stderr(stderr, &tail))?;
        let (send, frames) = mpsc::sync_channel(64);
        let sender = send.clone();
        std::thread::Builder::new()
            .name("dlp-worker-stdout".into())
            .spawn(move || {
                let mut reader = BufReader::new(stdout);
                if skip_to_magic(&mut reader).is_err() {
                    let _ = send.send(Message::Closed);
                    return;
                }
                loop {
                    match read_frame(&mut reader) {
                        Ok(Some(frame)) => {
                            if send.send(Message::Frame(frame)).is_err() {
                                return;
                            }
                        }
                        _ => {
                            let _ = send.send(Message::Closed);
                            return;
                        }
                    }
                }
            })?;
        Ok(Worker {
            child,
            stdin: Some(stdin),
            frames,
            sender,
            stderr_tail,
        })
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Why the worker died, for the skip it becomes.
    fn post_mortem(mut self) -> (SkipReason, String) {
        let _ = self.child.kill();
        let status = self.child.wait();
        // Give the stderr thread a moment to collect the last words.
        std::thread::sleep(Duration::from_millis(20));
        let tail = lock(&self.stderr_tail).clone();
        let tail = String::from_utf8_lossy(&tail);
        let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
        if tail.contains("memory allocation") || tail.contains("out of memory") {
            (
                SkipReason::LimitExceeded,
                format!("extraction worker ran out of memory ({status})"),
            )
        } else if tail.contains("overflowed its stack") {
            (
                SkipReason::BrokenFile,
                format!("parser overflowed its stack ({status})"),
            )
        } else {
            (
                SkipReason::BrokenFile,
                format!("extraction worker crashed ({status})"),
            )
        }
    }
}

fn drain_stderr(mut stderr: impl Read, tail: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf) {
        if n == 0 {
            return;
        }
        let mut tail = lock(tail);
        tail.extend_from_slice(&buf[..n]);
        let excess = tail.len().saturating_sub(8192);
        tail.drain(..excess);
    }
}

fn skip_to_magic(reader: &mut impl Read) -> io::Result<()> {
    let mut window = [0u8; 8];
    let mut seen = 0usize;
    let mut byte = [0u8; 1];
    // A harness banner is short; give up on a worker that talks too much first.
    for _ in 0..(1 << 20) {
        reader.read_exact(&mut byte)?;
        window.rotate_left(1);
        window[7] = byte[0];
        seen += 1;
        if seen >= 8 && &window == MAGIC {
            return Ok(());
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "worker never sent its greeting",
    ))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct PoolState {
    idle: Vec<Worker>,
    /// Workers alive, idle or busy.
    live: usize,
}

/// A pool of warm worker processes running [`walk`] in isolation.
///
/// `Send + Sync`: share one pool between the threads of a scan. Each call to
/// [`WorkerPool::walk`] borrows one worker (spawning it if fewer than `workers` exist,
/// waiting otherwise) and returns it when the item is done; a worker that crashed or was
/// killed is replaced by a fresh one on the next call.
pub struct WorkerPool {
    command: Mutex<Command>,
    limits: Limits,
    workers: usize,
    state: Mutex<PoolState>,
    available: Condvar,
}

impl WorkerPool {
    /// Creates a pool of at most `workers` processes (at least one), each started with
    /// `command`, which must make the process call [`worker_main`]. One worker is started at
    /// once, so that a command that does not work is an error here rather than a skip later.
    pub fn new(mut command: Command, workers: usize, limits: Limits) -> io::Result<WorkerPool> {
        command.env(MEMORY_ENV, limits.max_worker_memory.to_string());
        let first = Worker::spawn(&mut command)?;
        let pool = WorkerPool {
            command: Mutex::new(command),
            limits,
            workers: workers.max(1),
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                live: 1,
            }),
            available: Condvar::new(),
        };
        // Check the greeting by running an empty request.
        let mut worker = first;
        let mut ok = false;
        pool.run(&mut worker, b"", &Filter::default(), &mut |_| ok = true)
            .map_err(|(_, detail)| {
                io::Error::other(format!("extraction worker failed to start: {detail}"))
            })?;
        if !ok {
            return Err(io::Error::other("extraction worker answered nothing"));
        }
        lock(&pool.state).idle.push(worker);
        Ok(pool)
    }

    /// Like [`WorkerPool::new`], but starts no process until the first item that needs one:
    /// a scan of plain text then never pays for a worker. A command that does not work shows
    /// up as a `broken_file` skip of each such item, saying why.
    pub fn new_lazy(mut command: Command, workers: usize, limits: Limits) -> WorkerPool {
        command.env(MEMORY_ENV, limits.max_worker_memory.to_string());
        WorkerPool {
            command: Mutex::new(command),
            limits,
            workers: workers.max(1),
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                live: 0,
            }),
            available: Condvar::new(),
        }
    }

    /// The limits every walk of this pool runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Like [`walk`], with the pool's limits: the same events, in the same order,
    /// but a crash, a kill on timeout or an out-of-memory of the worker becomes a
    /// [`Event::Skipped`] of the top-level item (`broken_file`, `timeout`, `limit_exceeded`).
    /// Events already delivered for that item stay valid.
    pub fn walk(&self, data: &[u8], filter: &Filter, sink: &mut dyn FnMut(Event<'_>)) {
        let file_type = detect(data);
        let size = data.len() as u64;
        // An image with OCR off is skipped unread too.
        let skipped_unread = size > self.limits.max_file_size
            || filter.max_file_size.is_some_and(|max| size > max)
            || !filter.allows(file_type)
            || (file_type == FileType::Image && !self.limits.ocr);
        if file_type.is_in_process_safe() || skipped_unread {
            walk(data, &self.limits, filter, sink);
            return;
        }
        let mut worker = match self.checkout() {
            Ok(worker) => worker,
            Err(e) => {
                sink(Event::Skipped {
                    member: None,
                    reason: SkipReason::BrokenFile,
                    detail: &format!("could not start an extraction worker: {e}"),
                });
                return;
            }
        };
        match self.run(&mut worker, data, filter, sink) {
            Ok(()) => self.checkin(worker),
            Err((reason, detail)) => {
                let (reason, detail) = match reason {
                    // The worker died: find out how.
                    None => worker.post_mortem(),
                    Some(reason) => {
                        worker.kill();
                        (reason, detail)
                    }
                };
                self.retire();
                sink(Event::Skipped {
                    member: None,
                    reason,
                    detail: &detail,
                });
            }
        }
    }

    /// Decompresses `input`, a compressed stream of type `kind` (gzip, bzip2, xz or
    /// Zstandard), in a worker, as the content is read: the decompressor (a third-party parser)
    /// never runs in this process, and memory stays bounded on both sides whatever the
    /// content's size. The compressed input is read from `input` on the calling thread, a few
    /// chunks ahead of the worker, while the worker's answer is drained by the pool's reader
    /// thread, so neither side can block the other.
    ///
    /// The worker holds the compression ratio of what it produced to what it consumed so far to
    /// [`Limits::max_ratio`] past [`Limits::ratio_threshold`]; the inflation budgets and the
    /// total time of [`Limits::time_per_item`] do not apply (a large stream legitimately takes
    /// longer): the worker is killed when it sends nothing for [`Limits::time_per_item`] plus a
    /// grace of two seconds while the pool waits on it. A crash, a kill or an out-of-memory of
    /// the worker ends the content as [`Inflate::error`] says (`broken_file`, `timeout`,
    /// `limit_exceeded`). Dropping the [`Inflate`] before the end kills its worker (a fresh one
    /// replaces it on the next call); after a complete answer the worker is reused.
    pub fn inflate<'a>(&'a self, kind: FileType, input: &'a mut dyn Read) -> Inflate<'a> {
        let mut stream = WorkerStream {
            pool: self,
            worker: None,
            input,
            feed: None,
            in_flight: 0,
            input_done: false,
            frame: Vec::new(),
            at: 0,
            member: None,
            error: None,
            ended: false,
            stdin_back: None,
            idle: self.limits.time_per_item + KILL_GRACE,
        };
        if let Err(e) = stream.start(kind) {
            stream.error = Some(e);
        }
        Inflate::new(Box::new(stream))
    }

    /// Sends one request and relays its events. On failure, returns the reason when known
    /// (a timeout) or `None` when the worker died, with a detail.
    fn run(
        &self,
        worker: &mut Worker,
        data: &[u8],
        filter: &Filter,
        sink: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), (Option<SkipReason>, String)> {
        let deadline = Instant::now() + self.limits.time_per_item + KILL_GRACE;
        let header = serde_json::to_vec(&Request::new(&self.limits, filter))
            .map_err(|e| (None, e.to_string()))?;
        let Some(stdin) = worker.stdin.as_mut() else {
            return Err((None, "the worker's input is taken".to_string()));
        };
        let sent = write_frame(stdin, &header)
            .and_then(|()| stdin.write_all(&(data.len() as u64).to_le_bytes()))
            .and_then(|()| stdin.write_all(data))
            .and_then(|()| stdin.flush());
        if let Err(e) = sent {
            return Err((None, format!("sending to the worker: {e}")));
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match worker.frames.recv_timeout(left) {
                Ok(Message::Frame(frame)) => {
                    let wire: Wire<'_> = serde_json::from_slice(&frame)
                        .map_err(|e| (None, format!("bad frame from the worker: {e}")))?;
                    if !wire.deliver(sink) {
                        return Ok(());
                    }
                }
                // Only a stream's input thread sends these.
                Ok(Message::Written | Message::InputDone(_)) => {}
                Ok(Message::Closed) | Err(RecvTimeoutError::Disconnected) => {
                    return Err((None, "worker closed".to_string()));
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err((
                        Some(SkipReason::Timeout),
                        format!(
                            "extraction killed after {:?}",
                            self.limits.time_per_item + KILL_GRACE
                        ),
                    ));
                }
            }
        }
    }

    fn checkout(&self) -> io::Result<Worker> {
        let mut state = lock(&self.state);
        loop {
            if let Some(worker) = state.idle.pop() {
                return Ok(worker);
            }
            if state.live < self.workers {
                state.live += 1;
                drop(state);
                let spawned = Worker::spawn(&mut lock(&self.command));
                if spawned.is_err() {
                    self.retire();
                }
                return spawned;
            }
            state = self
                .available
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn checkin(&self, worker: Worker) {
        lock(&self.state).idle.push(worker);
        self.available.notify_one();
    }

    /// Forgets a worker that was killed or died, making room for a new one.
    fn retire(&self) {
        let mut state = lock(&self.state);
        state.live = state.live.saturating_sub(1);
        drop(state);
        self.available.notify_one();
    }
}

/// The parent's side of a stream request: feeds the compressed input to the worker's input
/// thread (at most [`INPUT_IN_FLIGHT`] chunks ahead of what it wrote) and hands on the data
/// frames of the answer.
struct WorkerStream<'a> {
    pool: &'a WorkerPool,
    /// `None` once it was killed (or never started).
    worker: Option<Worker>,
    input: &'a mut dyn Read,
    /// To the input thread; `None` once the input's end frame was sent.
    feed: Option<mpsc::Sender<Vec<u8>>>,
    /// Frames given to the input thread and not yet written.
    in_flight: usize,
    input_done: bool,
    /// The current data frame, and how far it was read (its first byte is the tag).
    frame: Vec<u8>,
    at: usize,
    member: Option<String>,
    error: Option<InflateError>,
    /// The worker's `End` frame came.
    ended: bool,
    /// The worker's stdin, given back by the input thread once it wrote the end frame.
    stdin_back: Option<ChildStdin>,
    /// How long the worker may stay silent while the stream waits on it.
    idle: Duration,
}

impl WorkerStream<'_> {
    /// Checks out a worker, starts its input thread and sends the request header.
    fn start(&mut self, kind: FileType) -> Result<(), InflateError> {
        if !kind.is_compressed_stream() {
            return Err(InflateError::new(
                SkipReason::UnsupportedFormat,
                format!("{kind} is not a compressed stream"),
            ));
        }
        let mut request = Request::new(&self.pool.limits, &Filter::default());
        request.stream = Some(kind.name().to_string());
        let header = serde_json::to_vec(&request)
            .map_err(|e| InflateError::new(SkipReason::BrokenFile, e.to_string()))?;
        let mut worker = self.pool.checkout().map_err(|e| {
            InflateError::new(
                SkipReason::BrokenFile,
                format!("could not start an extraction worker: {e}"),
            )
        })?;
        let (feed, chunks) = mpsc::channel::<Vec<u8>>();
        let events = worker.sender.clone();
        let spawned = match worker.stdin.take() {
            Some(stdin) => std::thread::Builder::new()
                .name("dlp-worker-stdin".into())
                .spawn(move || feed_worker(stdin, &chunks, &events))
                .map(drop),
            None => Err(io::Error::other("the worker's input is taken")),
        };
        if let Err(e) = spawned {
            worker.kill();
            self.pool.retire();
            return Err(InflateError::new(
                SkipReason::BrokenFile,
                format!("could not feed the extraction worker: {e}"),
            ));
        }
        // The input thread writes the header as the first frame.
        if feed.send(header).is_ok() {
            self.in_flight = 1;
        }
        self.worker = Some(worker);
        self.feed = Some(feed);
        Ok(())
    }

    /// Reads the next chunk of compressed input and gives it to the input thread; at the end
    /// of the input, the end frame.
    fn feed_input(&mut self) {
        let mut chunk = vec![0u8; CHUNK];
        let n = loop {
            match self.input.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let detail = format!("reading the compressed input: {e}");
                    self.fail(Some(SkipReason::Unreadable), detail);
                    return;
                }
            }
        };
        chunk.truncate(n);
        // A send fails only when the input thread is gone, after a write to a dead worker:
        // its reader thread reports that.
        if let Some(feed) = &self.feed {
            if feed.send(chunk).is_ok() {
                self.in_flight += 1;
            }
        }
        if n == 0 {
            self.input_done = true;
            self.feed = None;
        }
    }

    /// Takes in one message of the worker's channel.
    fn handle(&mut self, message: Message) {
        match message {
            Message::Frame(frame) if frame.first() == Some(&DATA_TAG) => {
                self.frame = frame;
                self.at = 1;
            }
            Message::Frame(frame) => match serde_json::from_slice::<StreamFrame<'_>>(&frame) {
                Ok(StreamFrame::Member { name }) => self.member = Some(name.into_owned()),
                Ok(StreamFrame::Skipped { reason, detail }) => {
                    let reason = SkipReason::from_name(&reason).unwrap_or(SkipReason::BrokenFile);
                    self.error = Some(InflateError::new(reason, detail));
                }
                Ok(StreamFrame::End) => self.ended = true,
                Err(e) => self.fail(None, format!("bad frame from the worker: {e}")),
            },
            Message::Written => self.in_flight = self.in_flight.saturating_sub(1),
            Message::InputDone(stdin) => self.stdin_back = Some(stdin),
            Message::Closed => self.fail(None, "worker closed".to_string()),
        }
    }

    /// The next message of the worker, or `None` when it stayed silent for the idle limit.
    fn next_message(&self) -> Option<Message> {
        let worker = self.worker.as_ref()?;
        match worker.frames.recv_timeout(self.idle) {
            Ok(message) => Some(message),
            Err(RecvTimeoutError::Disconnected) => Some(Message::Closed),
            Err(RecvTimeoutError::Timeout) => None,
        }
    }

    /// Ends the stream with an error: kills the worker (or, when it died, finds out how:
    /// `reason` is `None`) and retires it.
    fn fail(&mut self, reason: Option<SkipReason>, detail: String) {
        self.feed = None;
        let Some(worker) = self.worker.take() else {
            return;
        };
        let (reason, detail) = match reason {
            None => worker.post_mortem(),
            Some(reason) => {
                worker.kill();
                (reason, detail)
            }
        };
        self.pool.retire();
        if self.error.is_none() {
            self.error = Some(InflateError::new(reason, detail));
        }
    }

    /// Kills the worker, whose answer is not wanted or will not come.
    fn discard(&mut self) {
        self.feed = None;
        if let Some(worker) = self.worker.take() {
            worker.kill();
            self.pool.retire();
        }
    }

    fn timed_out(&mut self) {
        let detail = format!(
            "the extraction worker sent nothing for {:?}; killed",
            self.idle
        );
        self.fail(Some(SkipReason::Timeout), detail);
    }

    /// Gives the worker back to the pool when its answer is complete (or can be completed:
    /// after a skip it drains the input up to the end frame and ends), else kills it.
    fn finish(&mut self) {
        if self.worker.is_none() {
            return;
        }
        // A consumer that stopped before the end: the rest is not wanted.
        if !self.ended && self.error.is_none() {
            self.discard();
            return;
        }
        if !self.input_done {
            if let Some(feed) = self.feed.take() {
                if feed.send(Vec::new()).is_ok() {
                    self.in_flight += 1;
                }
            }
            self.input_done = true;
        }
        self.feed = None;
        while !(self.ended && self.stdin_back.is_some()) {
            match self.next_message() {
                Some(Message::Closed) | None => {
                    self.discard();
                    return;
                }
                Some(Message::Frame(frame)) if frame.first() == Some(&DATA_TAG) => {}
                Some(message) => self.handle(message),
            }
            if self.worker.is_none() {
                return;
            }
        }
        if let Some(mut worker) = self.worker.take() {
            worker.stdin = self.stdin_back.take();
            self.pool.checkin(worker);
        }
    }
}

impl Inflating for WorkerStream<'_> {
    /// Fills `buf` from the frames that already came, waiting only while it has nothing.
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let mut filled = 0;
        loop {
            if self.at < self.frame.len() {
                let n = (buf.len() - filled).min(self.frame.len() - self.at);
                buf[filled..filled + n].copy_from_slice(&self.frame[self.at..self.at + n]);
                self.at += n;
                filled += n;
            }
            if filled == buf.len() || self.error.is_some() || self.ended {
                return filled;
            }
            let Some(worker) = self.worker.as_ref() else {
                return filled;
            };
            let message = match worker.frames.try_recv() {
                Ok(message) => message,
                Err(TryRecvError::Disconnected) => Message::Closed,
                Err(TryRecvError::Empty) if filled > 0 => return filled,
                Err(TryRecvError::Empty) => {
                    if !self.input_done && self.in_flight < INPUT_IN_FLIGHT {
                        self.feed_input();
                        continue;
                    }
                    match self.next_message() {
                        Some(message) => message,
                        None => {
                            self.timed_out();
                            continue;
                        }
                    }
                }
            };
            self.handle(message);
        }
    }

    fn member(&self) -> Option<&str> {
        self.member.as_deref()
    }

    fn error(&self) -> Option<&InflateError> {
        self.error.as_ref()
    }
}

impl Drop for WorkerStream<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The body of a stream's input thread: writes each frame it is given to the worker, says so,
/// and gives the worker's stdin back once the stream closes its side. Ends early when the
/// worker is gone (a write fails) or the stream is (its channel is closed).
fn feed_worker(mut stdin: ChildStdin, chunks: &Receiver<Vec<u8>>, events: &SyncSender<Message>) {
    for chunk in chunks {
        if write_frame(&mut stdin, &chunk).is_err() {
            return;
        }
        if events.send(Message::Written).is_err() {
            return;
        }
    }
    let _ = events.send(Message::InputDone(stdin));
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut lock(&self.state).idle);
        for worker in idle {
            worker.kill();
        }
    }
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("WorkerPool")
            .field("workers", &self.workers)
            .field("live", &state.live)
            .field("idle", &state.idle.len())
            .field("limits", &self.limits)
            .finish()
    }
}
