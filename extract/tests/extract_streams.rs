//! Compressed streams read as they are decompressed ([`dlp_extract::inflate`] in-process,
//! [`WorkerPool::inflate`] in a worker): the whole content of every format, whatever the read
//! sizes; truncated and corrupt streams end as `broken_file` after the content before the
//! damage; ratio bombs as `limit_exceeded` within a few megabytes; and the worker's side:
//! a consumer that stops early, a worker that dies or stops answering, a slow source, and the
//! worker reused after complete answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod extract_support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use dlp_extract::isolate::WorkerPool;
use dlp_extract::{inflate, FileType, Filter, Inflate, Limits, SkipReason};
use extract_support::streams::{
    bzip2, gzip, gzip_named, signal, tagged_workers, xz, zstd, STREAMS,
};
use extract_support::{pool, pool_events, pool_with_env};

#[test]
fn extract_worker_entry() {
    extract_support::worker_entry();
}

/// Seeded text of `len` bytes: lines of words, numbered.
fn text(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "alpha",
        "invoice",
        "meeting",
        "quarterly",
        "report",
        "the",
        "of",
        "delta",
        "shipment",
        "notes",
        "review",
        "budget",
    ];
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 80);
    let mut line = 0u64;
    while out.len() < len {
        line += 1;
        out.extend_from_slice(format!("{line:07} ").as_bytes());
        for _ in 0..8 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            out.extend_from_slice(WORDS[(state % 12) as usize].as_bytes());
            out.push(b' ');
        }
        out.push(b'\n');
    }
    out.truncate(len);
    out
}

/// What an [`Inflate`] gave: its content, member name and error.
struct Drained {
    content: Vec<u8>,
    member: Option<String>,
    error: Option<(SkipReason, String)>,
}

/// Reads `stream` to its end in reads of `step` bytes.
fn drain_by(mut stream: Inflate<'_>, step: usize) -> Drained {
    let mut content = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        content.extend_from_slice(&buf[..n]);
    }
    Drained {
        content,
        member: stream.member().map(str::to_string),
        error: stream.error().map(|e| (e.reason(), e.detail().to_string())),
    }
}

fn drain(stream: Inflate<'_>) -> Drained {
    drain_by(stream, 1 << 20)
}

fn local(kind: FileType, data: &[u8], limits: &Limits) -> Drained {
    let mut input = data;
    drain(inflate(kind, &mut input, limits))
}

fn isolated(pool: &WorkerPool, kind: FileType, data: &[u8]) -> Drained {
    let mut input = data;
    drain(pool.inflate(kind, &mut input))
}

/// 1 GiB of zeros in gzip: a member of 1 MiB of zeros, 1024 times (about 1 MiB in all; the
/// default level compresses zeros about 1000:1, the fastest only about 230:1).
fn gzip_bomb() -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&vec![0u8; 1 << 20]).unwrap();
    let one = e.finish().unwrap();
    one.iter().copied().cycle().take(one.len() * 1024).collect()
}

fn committed(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A source that pauses once, before its second read, longer than the pool's idle limit.
struct Slow<'a> {
    data: &'a [u8],
    reads: usize,
    pause: Duration,
}

impl Read for Slow<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reads += 1;
        if self.reads == 2 {
            std::thread::sleep(self.pause);
        }
        let n = buf.len().min(self.data.len()).min(16 << 10);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The tests proper, in a module so that `cargo test extract` selects them.
mod extract {
    #![allow(clippy::wildcard_imports)]
    use super::*;

    #[test]
    fn every_stream_gives_its_whole_content_in_process_and_in_a_worker() {
        let original = text(3 << 20, 7);
        let pool = pool(1, Limits::default());
        for (kind, encode) in STREAMS {
            let data = encode(&original);
            assert_eq!(dlp_extract::detect(&data), kind);
            for (how, got) in [
                ("in-process", local(kind, &data, &Limits::default())),
                ("worker", isolated(&pool, kind, &data)),
            ] {
                assert_eq!(got.error, None, "{kind} {how}");
                assert!(got.content == original, "{kind} {how}: content differs");
                assert_eq!(got.member.as_deref(), Some("content"), "{kind} {how}");
            }
            // However the content is read.
            for step in [1, 7, 4096, 65_537] {
                let mut input = &data[..];
                let got = drain_by(pool.inflate(kind, &mut input), step);
                assert!(got.content == original, "{kind}: reads of {step}");
            }
        }
        // A gzip header's file name, sanitised as archive member names are; concatenated
        // members read as one.
        let named = gzip_named(b"card 4111 1111 1111 1111\n", Some("../../etc/notes.txt"));
        for got in [
            local(FileType::Gzip, &named, &Limits::default()),
            isolated(&pool, FileType::Gzip, &named),
        ] {
            assert_eq!(got.member.as_deref(), Some("etc/notes.txt"));
        }
        let mut two = gzip(b"first\n");
        two.extend(gzip(b"second\n"));
        assert_eq!(
            isolated(&pool, FileType::Gzip, &two).content,
            b"first\nsecond\n"
        );
        assert_eq!(isolated(&pool, FileType::Gzip, &gzip(b"")).content, b"");
        // Not a stream type: refused, not guessed.
        let refused = isolated(&pool, FileType::Zip, b"PK\x03\x04");
        assert_eq!(refused.error.unwrap().0, SkipReason::UnsupportedFormat);
    }

    #[test]
    fn truncated_and_corrupt_streams_end_as_broken_file_after_their_good_content() {
        // Not a multiple of the worker's 64 KiB frames: the last, short one must come too.
        let original = text((1 << 20) + 12_345, 11);
        let pool = pool(1, Limits::default());
        for (kind, encode) in STREAMS {
            let data = encode(&original);
            for cut in [1, 10, data.len() / 3, data.len() / 2, data.len() - 1] {
                let cut_data = &data[..cut];
                let mut runs = vec![local(kind, cut_data, &Limits::default())];
                if cut == data.len() / 2 || cut == data.len() - 1 {
                    runs.push(isolated(&pool, kind, cut_data));
                }
                for got in runs {
                    let (reason, detail) = got.error.unwrap_or_else(|| {
                        panic!("{kind} cut at {cut} of {}: no error", data.len())
                    });
                    assert_eq!(reason, SkipReason::BrokenFile, "{kind} cut {cut}: {detail}");
                    assert!(original.starts_with(&got.content), "{kind} cut {cut}");
                }
            }
        }
        // A gzip whose CRC or length does not match: all the content comes, then the error.
        let data = gzip(&original);
        for at in [data.len() - 8, data.len() - 1] {
            let mut bad = data.clone();
            bad[at] ^= 0x55;
            for got in [
                local(FileType::Gzip, &bad, &Limits::default()),
                isolated(&pool, FileType::Gzip, &bad),
            ] {
                let (reason, detail) = got.error.expect("a checksum error");
                assert_eq!(reason, SkipReason::BrokenFile, "{detail}");
                assert!(got.content == original);
            }
        }
        // A damaged byte in the middle: the block or stream check catches it.
        for (kind, encode) in &STREAMS[..3] {
            let mut bad = encode(&original);
            let middle = bad.len() / 2;
            bad[middle] ^= 0x55;
            let got = isolated(&pool, *kind, &bad);
            let (reason, detail) = got.error.expect("damage found");
            assert_eq!(reason, SkipReason::BrokenFile, "{kind}: {detail}");
        }
    }

    #[test]
    fn ratio_bombs_end_as_limit_exceeded_within_a_few_megabytes() {
        let limits = Limits {
            max_worker_memory: 384 << 20,
            ..Limits::default()
        };
        let pool = pool(1, limits.clone());
        let bombs = [
            (FileType::Gzip, gzip_bomb()),
            (FileType::Bzip2, committed("zeros-1g.bz2")),
            (FileType::Xz, committed("zeros-1g.xz")),
            (FileType::Zstd, committed("zeros-1g.zst")),
        ];
        for (kind, data) in bombs {
            let started = Instant::now();
            for got in [local(kind, &data, &limits), isolated(&pool, kind, &data)] {
                let (reason, detail) = got
                    .error
                    .unwrap_or_else(|| panic!("{kind}: no limit, {} bytes", got.content.len()));
                assert_eq!(reason, SkipReason::LimitExceeded, "{kind}: {detail}");
                assert!(detail.contains("compression ratio over 250:1"), "{detail}");
                assert!(
                    got.content.len() < 64 << 20,
                    "{kind}: {}",
                    got.content.len()
                );
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{kind}");
        }
    }

    #[test]
    fn a_consumer_that_stops_early_costs_the_worker_not_a_hang() {
        let pool = tagged_pool("early", bomb_limits());
        let bomb = gzip_bomb();
        let started = Instant::now();
        for _ in 0..3 {
            let mut input = &bomb[..];
            let mut stream = pool.inflate(FileType::Gzip, &mut input);
            let mut buf = vec![0u8; 1 << 20];
            stream.read_exact(&mut buf).unwrap();
            assert!(stream.error().is_none());
            drop(stream);
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        // Each dropped stream's worker was killed and waited for; the next call has a new one.
        assert!(tagged_workers("early").len() <= 1);
        let got = pool_events(
            &pool,
            &gzip(b"card 4111 1111 1111 1111\n"),
            &Filter::default(),
        );
        assert_eq!(
            got.last().map(String::as_str),
            Some("done [] gzip"),
            "{got:?}"
        );
    }

    #[test]
    fn complete_answers_and_skips_keep_the_worker() {
        let pool = tagged_pool("reuse", Limits::default());
        let original = text(300_000, 3);
        assert!(isolated(&pool, FileType::Xz, &xz(&original)).content == original);
        let first = tagged_workers("reuse");
        assert_eq!(first.len(), 1);
        // A skip: the worker drains the input to its end frame and serves on.
        let data = gzip(&original);
        let cut = isolated(&pool, FileType::Gzip, &data[..data.len() / 2]);
        assert_eq!(cut.error.unwrap().0, SkipReason::BrokenFile);
        assert!(isolated(&pool, FileType::Zstd, &zstd(&original)).content == original);
        let got = pool_events(
            &pool,
            &gzip(b"card 4111 1111 1111 1111\n"),
            &Filter::default(),
        );
        assert_eq!(got.last().map(String::as_str), Some("done [] gzip"));
        assert_eq!(tagged_workers("reuse"), first, "the same worker throughout");
    }

    /// A pool of one worker whose process carries `tag` (see `tagged_workers`).
    fn tagged_pool(tag: &str, limits: Limits) -> WorkerPool {
        pool_with_env(1, limits, &[("DLP_STREAM_TEST_TAG", tag)])
    }

    /// Limits that let a ratio bomb inflate: the tests stop or kill its worker themselves.
    fn bomb_limits() -> Limits {
        Limits {
            max_ratio: u64::MAX,
            ..Limits::default()
        }
    }

    /// Starts inflating a ratio bomb in `pool`'s one worker tagged `tag`, reads its first MiB,
    /// sends the worker `sig`, and drains the rest: what came out, and how long the rest took.
    fn signal_mid_stream(pool: &WorkerPool, tag: &str, sig: &str) -> (Drained, Duration) {
        let bomb = gzip_bomb();
        let mut input = &bomb[..];
        let mut stream = pool.inflate(FileType::Gzip, &mut input);
        let mut buf = vec![0u8; 1 << 20];
        stream.read_exact(&mut buf).unwrap();
        let workers = tagged_workers(tag);
        assert_eq!(workers.len(), 1);
        signal(workers[0], sig);
        let started = Instant::now();
        let got = drain(stream);
        (got, started.elapsed())
    }

    #[test]
    fn a_worker_that_dies_mid_stream_ends_the_content_as_a_skip() {
        let pool = tagged_pool("dies", bomb_limits());
        let (got, waited) = signal_mid_stream(&pool, "dies", "-KILL");
        assert!(waited < Duration::from_secs(5));
        let (reason, detail) = got.error.expect("the death is reported");
        assert_eq!(reason, SkipReason::BrokenFile, "{detail}");
        assert!(detail.contains("crashed"), "{detail}");
        // The pool starts a new worker for the next request.
        let original = text(100_000, 5);
        assert!(isolated(&pool, FileType::Bzip2, &bzip2(&original)).content == original);
    }

    #[test]
    fn a_silent_worker_is_killed_after_the_idle_limit_but_a_slow_source_is_waited_for() {
        let limits = Limits {
            time_per_item: Duration::from_secs(1),
            ..bomb_limits()
        };
        let pool = tagged_pool("silent", limits);
        // The source pauses longer than the idle limit (1 s + 2 s of grace): not the worker's
        // fault, and not a timeout.
        let original = text(200_000, 9);
        let data = gzip(&original);
        let mut slow = Slow {
            data: &data,
            reads: 0,
            pause: Duration::from_millis(3500),
        };
        let got = drain(pool.inflate(FileType::Gzip, &mut slow));
        assert_eq!(got.error, None);
        assert!(got.content == original);
        // A worker that stops answering (stopped by a signal) is killed.
        let (got, waited) = signal_mid_stream(&pool, "silent", "-STOP");
        let (reason, detail) = got.error.expect("a timeout");
        assert_eq!(reason, SkipReason::Timeout, "{detail}");
        assert!(waited >= Duration::from_secs(3) && waited < Duration::from_secs(10));
        assert!(tagged_workers("silent").is_empty(), "killed and waited for");
    }
}
