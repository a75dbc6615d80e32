//! One item scanned by several threads: the item is cut into chunks that the threads take in
//! turn, each with its own [`Scanner`], reading its chunk (with the overlap on both sides) from a
//! [`ChunkSource`]. The caller's thread gives the findings to the sink in order of position as
//! chunks finish; threads scan at most a few chunks ahead of the oldest one not yet given out,
//! so memory stays at a few chunks per thread and their findings, however large the item.
//!
//! This module owns the chunk driver; it knows nothing of files (the engine crate implements
//! [`ChunkSource`] for them) and never prints.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use crate::compile::DetectorSet;
use crate::confirm::MinCountGate;
use crate::error::{Error, ErrorKind};
use crate::finding::Finding;
use crate::scan::{ChunkEnd, Scanner, DEFAULT_CHUNK_SIZE, OVERLAP};
use crate::sink::{FindingSink, Flow, Relay, ScanError};

/// An item that can be read at any offset by several threads at once: bytes in memory, or a
/// file read by positioned reads.
pub trait ChunkSource: Sync {
    /// The item's length in bytes.
    fn len(&self) -> usize;

    /// Whether the item is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `scan` with the bytes `range` of the item (which lies within `0..len()`).
    fn with_range(&self, range: Range<usize>, scan: &mut dyn FnMut(&[u8])) -> std::io::Result<()>;
}

impl ChunkSource for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn with_range(&self, range: Range<usize>, scan: &mut dyn FnMut(&[u8])) -> std::io::Result<()> {
        scan(&self[range]);
        Ok(())
    }
}

impl ChunkSource for Vec<u8> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn with_range(&self, range: Range<usize>, scan: &mut dyn FnMut(&[u8])) -> std::io::Result<()> {
        scan(&self[range]);
        Ok(())
    }
}

/// How many chunks past the oldest one not yet given out a thread may scan: the findings
/// waiting to be given out are those of this many chunks at most.
const AHEAD_PER_THREAD: usize = 2;

/// What a scanning thread hands the caller's thread: a chunk's findings (lines counted from
/// its start) and line count, or the error that ended it.
type ChunkResult = (usize, Result<(Vec<Finding>, ChunkEnd), Error>);

/// The index of the oldest chunk not yet given out, which threads wait on to scan ahead.
struct Front {
    next: Mutex<(usize, bool)>,
    moved: Condvar,
}

impl Front {
    /// Waits until chunk `i` is within `ahead` chunks of the front; `false` when stopped.
    fn wait_for(&self, i: usize, ahead: usize) -> bool {
        let mut state = self.next.lock().unwrap_or_else(|e| e.into_inner());
        while i >= state.0 + ahead && !state.1 {
            state = self.moved.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        !state.1
    }

    fn advance(&self, to: usize) {
        self.next.lock().unwrap_or_else(|e| e.into_inner()).0 = to;
        self.moved.notify_all();
    }

    fn stop(&self) {
        self.next.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.moved.notify_all();
    }
}

impl DetectorSet {
    /// Scans one item with up to `threads` threads and gives its findings to `sink`, in the
    /// order a serial scan gives them (findings of rules with a `min_count` come when the rule
    /// reaches it). Returns the number of bytes scanned. Threads take chunks in turn and scan at
    /// most a few chunks ahead of the oldest one not yet given out, so memory stays bounded
    /// however large the item; the caller's thread gives the findings out in order. A chunk
    /// that cannot be read is an error ([`ErrorKind::Io`]), and so is a thread that dies
    /// ([`ErrorKind::Internal`]): never a silent loss of findings.
    pub fn scan_parallel<C, S>(
        &self,
        source: &C,
        threads: usize,
        sink: &mut S,
    ) -> Result<u64, ScanError<S::Error>>
    where
        C: ChunkSource + ?Sized,
        S: FindingSink + ?Sized,
    {
        let len = source.len();
        let chunks = len.div_ceil(DEFAULT_CHUNK_SIZE).max(1);
        let threads = threads.max(1).min(chunks);
        let ahead = AHEAD_PER_THREAD * threads + 1;
        let min_count: HashMap<&str, usize> = self
            .patterns
            .iter()
            .enumerate()
            .filter(|(_, p)| p.min_count > 1)
            .map(|(i, p)| (&*p.id, i))
            .collect();
        let mut gate = MinCountGate::new(self.patterns.len());
        let mut relay = Relay::new(sink);
        let taken = AtomicUsize::new(0);
        let front = Front {
            next: Mutex::new((0, false)),
            moved: Condvar::new(),
        };
        let owned = |i: usize| i * DEFAULT_CHUNK_SIZE..len.min((i + 1) * DEFAULT_CHUNK_SIZE);
        let (tx, rx) = std::sync::mpsc::channel::<ChunkResult>();
        let mut failure: Option<Error> = None;
        let mut given = 0;
        let died = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    let tx = tx.clone();
                    let (taken, front, owned) = (&taken, &front, &owned);
                    scope.spawn(move || {
                        let mut scanner = self.scanner();
                        loop {
                            let i = taken.fetch_add(1, Ordering::Relaxed);
                            if i >= chunks || !front.wait_for(i, ahead) {
                                return;
                            }
                            let result = scan_chunk(&mut scanner, source, owned(i), len);
                            if tx.send((i, result)).is_err() {
                                return;
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut pending: BTreeMap<usize, (Vec<Finding>, ChunkEnd)> = BTreeMap::new();
            // Lines before the chunk given out next, and characters of its first line before it.
            let (mut lines_before, mut column_before) = (0u64, 0u64);
            for (i, result) in &rx {
                match result {
                    Ok(part) => {
                        pending.insert(i, part);
                    }
                    Err(e) => {
                        failure.get_or_insert(e);
                        front.stop();
                    }
                }
                while let Some((findings, end)) = pending.remove(&given) {
                    if failure.is_some() || !relay.running() {
                        break;
                    }
                    for mut f in findings {
                        if f.line == 1 {
                            // On the line the chunk starts in the middle of.
                            f.column += column_before;
                        }
                        f.line += lines_before;
                        match min_count.get(f.detector.as_str()) {
                            None => relay.give(f),
                            Some(&p) => {
                                gate.offer(p, self.patterns[p].min_count, f, &mut |f| relay.give(f))
                            }
                        }
                    }
                    lines_before += end.lines;
                    column_before = if end.lines > 0 {
                        end.column
                    } else {
                        column_before + end.column
                    };
                    given += 1;
                    front.advance(given);
                }
                if !relay.running() {
                    front.stop();
                }
            }
            // Every sender is gone: the threads have ended, normally or not.
            workers.into_iter().any(|w| w.join().is_err())
        });
        if let Some(e) = failure {
            return Err(ScanError::Scan(e));
        }
        match relay.finish() {
            Err(e) => Err(ScanError::Sink(e)),
            Ok(Flow::Stop) => Ok(len as u64),
            Ok(Flow::Continue) if died || given < chunks => Err(ScanError::Scan(Error::new(
                ErrorKind::Internal,
                "a scanning thread failed; the scan's findings are incomplete",
            ))),
            Ok(Flow::Continue) => Ok(len as u64),
        }
    }
}

/// Reads the chunk `owned` of `source` with its overlap and scans it.
fn scan_chunk<C: ChunkSource + ?Sized>(
    scanner: &mut Scanner<'_>,
    source: &C,
    owned: Range<usize>,
    len: usize,
) -> Result<(Vec<Finding>, ChunkEnd), Error> {
    let base = owned.start.saturating_sub(OVERLAP);
    let window = base..len.min(owned.end + OVERLAP);
    let mut scanned = None;
    source
        .with_range(window, &mut |win| {
            scanned = Some(scanner.scan_chunk_window(win, base, owned.clone()));
        })
        .map_err(|e| Error::io("cannot read the input", e))?;
    scanned.ok_or_else(|| Error::new(ErrorKind::Internal, "a chunk source gave no bytes"))
}
