//! Scanning objects (with the `engine` feature): every object under some URLs, listed, read
//! and inspected in parallel by a `dlp-engine` [`Engine`], for `dlp scan s3://bucket/prefix`
//! and the Python package.
//!
//! One thread lists the URLs given and feeds a bounded channel; the given number of workers, each with
//! a store (its own connections) and a scanner of its own, read and inspect objects; each
//! object's results come back through a second bounded channel to the caller's thread, which
//! gives them to the sink, object by object, as they finish (as `Batch` does for files). An
//! object over `--max-file-size` is skipped as `too_large` without being downloaded; one that
//! cannot be read (gone, access denied, network) is a skip with its reason; a URL that lists
//! nothing, or whose listing fails, is a skip of its own. Nothing is dropped silently.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Config, ObjectInfo, ObjectUrl, Store};
use crossbeam_channel::{bounded, Sender};
use dlp_engine::{
    Collect, Engine, Error, ErrorKind, Flow, ItemReport, Request, ScanError, Scanner, Sink,
    SkipReason, Skipped,
};

/// How many objects may wait for a worker, and results for the caller.
const QUEUE: usize = 64;

/// How much of an object's start tells text from a document (as the engine reads it).
const HEAD: u64 = 8192;

/// The object URLs of one scan, parsed, with the settings to reach them.
#[derive(Debug)]
pub struct Objects {
    urls: Vec<ObjectUrl>,
    config: Config,
}

impl Objects {
    /// Parses `inputs` (each an object URL) and opens their buckets, so that a bad URL or
    /// missing credentials stop the run before anything is scanned. Settings come from the
    /// `AWS_*` environment variables.
    pub fn open(inputs: &[&str]) -> Result<Objects, crate::Error> {
        let urls = inputs
            .iter()
            .map(|input| ObjectUrl::parse(input))
            .collect::<Result<Vec<_>, _>>()?;
        let config = Config::from_env();
        let mut opened: Vec<&str> = Vec::new();
        for url in &urls {
            if !opened.contains(&url.bucket()) {
                Store::open_with(url, &config)?;
                opened.push(url.bucket());
            }
        }
        Ok(Objects { urls, config })
    }

    /// Inspects every object under the URLs with `engine` on `threads` workers and gives the
    /// results to `sink` on this thread: each object's findings and skips, then its report. It
    /// ends early when the sink says stop or fails (its error is returned).
    pub fn scan<S: Sink + ?Sized>(
        &self,
        engine: &Engine,
        threads: usize,
        sink: &mut S,
    ) -> Result<(), ScanError<S::Error>> {
        let (job_tx, job_rx) = bounded::<(usize, ObjectInfo)>(QUEUE);
        let (tx, rx) = bounded::<(PathBuf, Collect)>(QUEUE);
        let stop = &AtomicBool::new(false);
        std::thread::scope(|scope| {
            let lister_tx = tx.clone();
            let lister = scope.spawn(move || {
                for (at, url) in self.urls.iter().enumerate() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    self.list(at, url, &job_tx, &lister_tx, stop);
                }
            });
            let workers: Vec<_> = (0..threads.max(1))
                .map(|_| {
                    let jobs = job_rx.clone();
                    let tx = tx.clone();
                    scope.spawn(move || {
                        let mut worker = Worker {
                            scanner: engine.scanner(),
                            stores: Vec::new(),
                            config: &self.config,
                        };
                        for (at, object) in jobs {
                            if stop.load(Ordering::Relaxed) {
                                continue;
                            }
                            let found = worker.inspect(&self.urls[at], &object);
                            if tx.send((PathBuf::from(object.url), found)).is_err() {
                                break;
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            drop(job_rx);
            let mut result = Ok(());
            for (path, found) in rx {
                if result.is_ok() && !stop.load(Ordering::Relaxed) {
                    match deliver(sink, &path, found) {
                        Ok(true) => {}
                        Ok(false) => stop.store(true, Ordering::Relaxed),
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            result = Err(ScanError::Sink(e));
                        }
                    }
                }
            }
            let died = std::iter::once(lister.join().is_err())
                .chain(workers.into_iter().map(|w| w.join().is_err()))
                .any(|died| died);
            if died && result.is_ok() {
                result = Err(ScanError::Scan(Error::new(
                    ErrorKind::Internal,
                    "a scanning thread failed; the scan's results are incomplete",
                )));
            }
            result
        })
    }

    /// Lists `url` into `jobs`; a listing that fails, or finds nothing under a key, is a skip
    /// of the URL itself.
    fn list(
        &self,
        at: usize,
        url: &ObjectUrl,
        jobs: &Sender<(usize, ObjectInfo)>,
        results: &Sender<(PathBuf, Collect)>,
        stop: &AtomicBool,
    ) {
        let skip = |reason: SkipReason, detail: String| {
            let _ = results.send((
                PathBuf::from(url.to_string()),
                skipped(url.to_string(), reason, detail),
            ));
        };
        let store = match Store::open_with(url, &self.config) {
            Ok(store) => store,
            Err(e) => return skip(SkipReason::Unreadable, e.to_string()),
        };
        let mut listed = 0u64;
        for object in store.list(url) {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match object {
                Ok(object) => {
                    listed += 1;
                    if jobs.send((at, object)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let reason = match e.kind() {
                        crate::ErrorKind::NotFound => SkipReason::NotFound,
                        _ => SkipReason::Unreadable,
                    };
                    let detail = if listed == 0 {
                        e.to_string()
                    } else {
                        format!("the listing stopped after {listed} objects: {e}")
                    };
                    return skip(reason, detail);
                }
            }
        }
        if listed == 0 && !url.key().is_empty() {
            skip(
                SkipReason::NotFound,
                "no object at or under this URL".to_string(),
            );
        }
    }
}

/// One worker's scratch space: its scanner and its stores, one per bucket.
struct Worker<'a> {
    scanner: Scanner<'a>,
    stores: Vec<Store>,
    config: &'a Config,
}

impl Worker<'_> {
    /// Reads and inspects one object, listed under `listed`; its results, or the skip that
    /// says why it could not be.
    fn inspect(&mut self, listed: &ObjectUrl, object: &ObjectInfo) -> Collect {
        let url = object.url.clone();
        let engine = self.scanner.engine();
        let filter_max = engine.filter().max_file_size;
        if let Some(max) = filter_max.filter(|&max| object.size > max) {
            return skipped(url, SkipReason::TooLarge, over(object.size, max));
        }
        // Documents are read whole (up to the extraction limit); text of any size streams, and
        // so does a compressed stream's text.
        let document_max = filter_max
            .unwrap_or(u64::MAX)
            .min(engine.limits().max_file_size);
        let store = match store(&mut self.stores, listed, self.config) {
            Ok(store) => store,
            Err(e) => return skipped(url, SkipReason::Unreadable, e.to_string()),
        };
        let mut found = Collect::default();
        let scanned = if object.size <= document_max {
            match store.read(&object.key, document_max) {
                Ok(data) => self
                    .scanner
                    .scan(Request::bytes(&data).name(&url), &mut found),
                Err(e) => return skipped(url, e.skip_reason(), e.to_string()),
            }
        } else {
            let mut reader = match store.reader(&object.key) {
                Ok(reader) => reader,
                Err(e) => return skipped(url, e.skip_reason(), e.to_string()),
            };
            let mut head = Vec::new();
            if let Err(e) = (&mut reader).take(HEAD).read_to_end(&mut head) {
                return skipped(url, SkipReason::Unreadable, e.to_string());
            }
            // Text, and compressed streams (whose text content streams too), are read as
            // they come.
            let streams = dlp_engine::extract::is_plain_text(&head)
                || dlp_engine::extract::detect(&head).is_compressed_stream();
            if !streams {
                // A document this large is refused, as a local one is; dropping the reader
                // ends the download.
                return skipped(url, SkipReason::TooLarge, over(object.size, document_max));
            }
            let mut stream = std::io::Cursor::new(head).chain(reader);
            self.scanner
                .scan(Request::reader(&mut stream).name(&url), &mut found)
        };
        match scanned {
            Ok(_) => found,
            Err(ScanError::Scan(e)) => skipped(url, SkipReason::Unreadable, e.to_string()),
            Err(ScanError::Sink(never)) => match never {},
        }
    }
}

/// A worker's store for the bucket of `url`, opened on first need.
fn store<'s>(
    stores: &'s mut Vec<Store>,
    url: &ObjectUrl,
    config: &Config,
) -> Result<&'s Store, crate::Error> {
    let at = match stores.iter().position(|s| s.bucket() == url.bucket()) {
        Some(at) => at,
        None => {
            stores.push(Store::open_with(url, config)?);
            stores.len() - 1
        }
    };
    Ok(&stores[at])
}

fn over(size: u64, max: u64) -> String {
    format!("{size} bytes, over the maximum content-inspection size of {max}; not downloaded")
}

/// An object (or URL) that was not inspected: one skip and its report.
fn skipped(url: String, reason: SkipReason, detail: String) -> Collect {
    let path = PathBuf::from(url);
    Collect {
        findings: Vec::new(),
        skipped: vec![(
            path.clone(),
            Skipped {
                member: None,
                reason,
                detail,
            },
        )],
        reports: vec![ItemReport {
            path,
            skipped: 1,
            ..ItemReport::default()
        }],
    }
}

/// Gives one object's results to the caller's sink; `Ok(false)` when the sink said stop.
fn deliver<S: Sink + ?Sized>(sink: &mut S, path: &Path, found: Collect) -> Result<bool, S::Error> {
    for (_, f) in found.findings {
        if sink.finding(path, f)? == Flow::Stop {
            return Ok(false);
        }
    }
    for (_, s) in found.skipped {
        if sink.skipped(path, s)? == Flow::Stop {
            return Ok(false);
        }
    }
    for report in &found.reports {
        if sink.finished(report)? == Flow::Stop {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(all(test, feature = "test-server"))]
mod tests {
    use super::*;
    use crate::MotoServer;
    use dlp_engine::{EngineBuilder, FingerprintKey, Fingerprints, Isolation, Limits};

    /// Objects over the extraction limit: text streams through (as a local file does), a
    /// document is refused after its first bytes.
    #[test]
    fn text_over_the_document_limit_streams_and_documents_are_refused() {
        let moto = MotoServer::start().unwrap_or_else(|e| panic!("{e}"));
        moto.create_bucket("limits").unwrap();
        let url = ObjectUrl::parse("s3://limits/in/").unwrap();
        let store = Store::open_with(&url, &moto.config()).unwrap();
        let mut text = b"filler line\n".repeat(2000);
        text.extend_from_slice(b"card 4111 1111 1111 1111\n");
        store.put("in/big.txt", text.clone()).unwrap();
        let pdf = std::fs::read("../fixtures/docs/sample.pdf").unwrap();
        store.put("in/sample.pdf", pdf.clone()).unwrap();
        store.put("in/small.txt", "ssn 536-22-8813\n").unwrap();

        let limit = 1000;
        assert!(text.len() > limit && pdf.len() > limit);
        let engine = EngineBuilder::new()
            .limits(Limits {
                max_file_size: limit as u64,
                ..Limits::default()
            })
            .isolation(Isolation::InProcess)
            .fingerprint_key(FingerprintKey::Given(Fingerprints::Sha256))
            .build()
            .unwrap();
        let objects = Objects {
            urls: vec![url],
            config: moto.config(),
        };
        let mut found = Collect::default();
        objects.scan(&engine, 2, &mut found).unwrap();
        let mut got: Vec<(String, String)> = found
            .findings
            .iter()
            .map(|(p, f)| (p.display().to_string(), f.detector.clone()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("s3://limits/in/big.txt".into(), "credit_card".into()),
                ("s3://limits/in/small.txt".into(), "us_ssn".into()),
            ]
        );
        let skips: Vec<_> = found
            .skipped
            .iter()
            .map(|(p, s)| (p.display().to_string(), s.reason))
            .collect();
        assert_eq!(
            skips,
            [("s3://limits/in/sample.pdf".into(), SkipReason::TooLarge)]
        );
        let big = found
            .reports
            .iter()
            .find(|r| r.path == Path::new("s3://limits/in/big.txt"))
            .unwrap();
        assert_eq!(big.bytes, text.len() as u64);
        assert_eq!(found.reports.len(), 3);
    }
}
