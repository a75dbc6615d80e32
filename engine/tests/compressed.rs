//! Top-level compressed streams (gzip, bzip2, xz, Zstandard) through the engine: text content
//! streams into the scanner with the findings, lines and member that extraction gives; the
//! filter's maximum applies to the decompressed content, not the document maximum to the
//! compressed file; other content is extracted whole, from a stream too; and hostile or
//! failing streams (truncated, bombs, a worker killed, a sink that stops) cost their item only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod engine_support;
#[path = "../../extract/tests/extract_support/streams.rs"]
mod streams;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dlp_engine::extract::{walk, Event};
use dlp_engine::{
    Collect, Engine, EngineBuilder, FileType, Filter, Finding, Flow, Isolation, ItemReport, Limits,
    Request, Sink, SkipReason, Skipped,
};
use streams::{bzip2, gzip, gzip_named, signal, tagged_workers, xz, zstd, STREAMS};

/// Serves as an extraction worker when this test binary is re-run as one (see `isolated`).
#[test]
fn extract_worker_entry() {
    engine_support::worker_entry();
}

/// An engine whose documents and streams are read by this test binary re-run as a worker,
/// tagged `tag` in its environment so that a test can find it.
fn isolated(limits: Limits, filter: Filter, tag: &str) -> Engine {
    let mut command = engine_support::worker_command();
    command.env("DLP_STREAM_TEST_TAG", tag);
    EngineBuilder::new()
        .limits(limits)
        .filter(filter)
        .isolation(Isolation::Workers {
            command,
            workers: 1,
        })
        .build()
        .unwrap()
}

fn in_process(limits: Limits, filter: Filter) -> Engine {
    EngineBuilder::new()
        .limits(limits)
        .filter(filter)
        .isolation(Isolation::InProcess)
        .build()
        .unwrap()
}

const CARD: &[u8] = b"card 4111 1111 1111 1111";
const KEY: &[u8] = b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE";
const SSN: &[u8] = b"ssn: 536-22-8813";

/// About `len` bytes of seeded filler lines with values planted at the start, across the
/// first 64 KiB frame border, across the scanner's 4 MiB chunk border, and as the very last
/// bytes (no line feed after them).
fn planted_text(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut filler = |out: &mut Vec<u8>, until: usize| {
        while out.len() < until {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let words = [
                "report",
                "of",
                "quarterly",
                "meeting",
                "budget",
                "the",
                "notes",
            ];
            out.extend_from_slice(words[(state % 7) as usize].as_bytes());
            out.push(if state % 11 == 0 { b'\n' } else { b' ' });
        }
    };
    let mut text = Vec::new();
    text.extend_from_slice(CARD);
    text.push(b'\n');
    for border in [64 << 10, 4 << 20] {
        filler(&mut text, border - 10);
        text.extend_from_slice(b"\n");
        text.extend_from_slice(KEY);
        text.push(b'\n');
    }
    filler(&mut text, len);
    text.extend_from_slice(b"\n");
    text.extend_from_slice(SSN);
    text
}

/// (member, detector, start, end, line) of each finding.
type Spot = (Option<String>, String, usize, usize, u64);

fn spots(findings: &[(PathBuf, Finding)]) -> Vec<Spot> {
    findings
        .iter()
        .map(|(_, f)| (f.member.clone(), f.detector.clone(), f.start, f.end, f.line))
        .collect()
}

/// What extraction gives for `data`: its text segments, scanned as the engine scans a
/// document's (a member's first segment starts at offset 0, line 1).
fn extracted_spots(engine: &Engine, data: &[u8]) -> Vec<Spot> {
    let mut segments: Vec<(Option<String>, String)> = Vec::new();
    walk(data, &Limits::default(), &Filter::default(), &mut |event| {
        if let Event::Text { member, text, .. } = event {
            segments.push((member.map(str::to_string), text.to_string()));
        }
    });
    assert_eq!(segments.len(), 1, "one text segment");
    let (member, text) = &segments[0];
    engine
        .detector_set()
        .scan_bytes(text.as_bytes())
        .into_iter()
        .map(|f| (member.clone(), f.detector, f.start, f.end, f.line))
        .collect()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlp-compressed-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Scans one request, checking that the item ends with exactly one report.
fn scan(engine: &Engine, request: Request<'_>) -> (Collect, ItemReport) {
    let mut found = Collect::default();
    let report = engine.scan(request, &mut found).unwrap();
    assert_eq!(found.reports, vec![report.clone()]);
    (found, report)
}

/// Lines of a `Collect`'s skips: `member reason`.
fn skips(found: &Collect) -> Vec<String> {
    found
        .skipped
        .iter()
        .map(|(_, s)| format!("{} {}", s.member.as_deref().unwrap_or("-"), s.reason))
        .collect()
}

#[test]
fn compressed_text_streams_with_the_findings_lines_and_member_of_its_text() {
    let text = planted_text(6 << 20);
    let isolated = isolated(Limits::default(), Filter::default(), "plants");
    let local = in_process(Limits::default(), Filter::default());
    let plain = local.detector_set().scan_bytes(&text);
    assert_eq!(plain.len(), 4, "{plain:?}");
    let dir = temp_dir("plants");
    for (kind, encode) in STREAMS {
        let data = encode(&text);
        let member = if kind == FileType::Gzip {
            "plants.txt"
        } else {
            "content"
        };
        let data = if kind == FileType::Gzip {
            gzip_named(&text, Some("plants.txt"))
        } else {
            data
        };
        let expected: Vec<Spot> = plain
            .iter()
            .map(|f| {
                let m = Some(member.to_string());
                (m, f.detector.clone(), f.start, f.end, f.line)
            })
            .collect();
        let path = dir.join(format!("plants.{}", kind.name()));
        std::fs::write(&path, &data).unwrap();
        for (how, engine) in [("isolated", &isolated), ("in-process", &local)] {
            let mut stream = &data[..];
            for (source, request) in [
                ("bytes", Request::bytes(&data)),
                ("path", Request::path(&path)),
                ("reader", Request::reader(&mut stream)),
            ] {
                let (found, report) = scan(engine, request);
                let context = format!("{kind} {how} {source}");
                assert!(found.skipped.is_empty(), "{context}: {:?}", found.skipped);
                assert_eq!(spots(&found.findings), expected, "{context}");
                assert_eq!(report.items_scanned, 2, "{context}");
                assert_eq!(report.file_type, Some(kind), "{context}");
                assert_eq!(report.bytes, data.len() as u64, "{context}");
            }
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn small_compressed_text_gives_what_extraction_gave() {
    // The results of the whole-document path (extraction's text segment, scanned), which the
    // streamed path replaces: the same spans, lines and member, the same report.
    let local = in_process(Limits::default(), Filter::default());
    let isolated = isolated(Limits::default(), Filter::default(), "small");
    let body = b"Notes\ncard 4111 1111 1111 1111\nkey AKIAIOSFODNN7EXAMPLE\n\nssn: 536-22-8813";
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), body].concat();
    let cases = [
        gzip(body),
        gzip_named(body, Some("dir/notes.txt")),
        gzip(&with_bom),
        gzip(b"name,card\nalice,4111 1111 1111 1111\n"),
        bzip2(body),
        xz(body),
        zstd(&with_bom),
    ];
    for data in cases {
        let expected = extracted_spots(&local, &data);
        assert!(!expected.is_empty());
        for engine in [&local, &isolated] {
            let (found, report) = scan(engine, Request::bytes(&data).name("small"));
            assert!(found.skipped.is_empty(), "{:?}", found.skipped);
            assert_eq!(spots(&found.findings), expected);
            assert_eq!(report.items_scanned, 2);
            assert_eq!(report.bytes, data.len() as u64);
            assert_eq!(report.findings, expected.len() as u64);
            assert_eq!(report.file_type, Some(dlp_engine::extract::detect(&data)));
        }
    }
}

#[test]
fn content_that_is_not_text_is_extracted_whole_from_every_source() {
    let tar_gz =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/docs/sample.tar.gz"))
            .unwrap();
    let engine = isolated(Limits::default(), Filter::default(), "targz");
    let (bytes, bytes_report) = scan(&engine, Request::bytes(&tar_gz));
    assert!(!bytes.findings.is_empty());
    assert!(bytes.findings.iter().all(|(_, f)| f
        .member
        .as_deref()
        .is_some_and(|m| m.starts_with("bundle.tar/"))));
    let mut stream = &tar_gz[..];
    let (streamed, streamed_report) = scan(&engine, Request::reader(&mut stream));
    assert_eq!(spots(&streamed.findings), spots(&bytes.findings));
    assert_eq!(
        streamed_report,
        ItemReport {
            path: "-".into(),
            ..bytes_report
        }
    );
}

#[test]
fn the_size_maximum_applies_to_the_decompressed_content_not_the_compressed_file() {
    // Text whose compressed form (about 1 MiB: poorly compressible lines) is over the document
    // maximum of these limits: never held, so streamed all the same.
    let mut text = Vec::new();
    let mut state = 1u64;
    while text.len() < 3 << 20 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let letter = b'a' + ((state >> 33) % 26) as u8;
        text.push(if state >> 60 == 0 { b'\n' } else { letter });
    }
    text.push(b'\n');
    text.extend_from_slice(b"card 4111 1111 1111 1111\n");
    let data = gzip(&text);
    let limits = Limits {
        max_file_size: 512 << 10,
        ..Limits::default()
    };
    assert!(data.len() as u64 > limits.max_file_size);
    for engine in [
        isolated(limits.clone(), Filter::default(), "docmax"),
        in_process(limits.clone(), Filter::default()),
    ] {
        let (found, report) = scan(&engine, Request::bytes(&data));
        assert!(found.skipped.is_empty(), "{:?}", found.skipped);
        assert_eq!(found.findings.len(), 1);
        assert_eq!(report.items_scanned, 2);
    }
    // The filter's maximum: what it allows is scanned, then the content is too large.
    let mut text = planted_text(3 << 20);
    text.extend_from_slice(b"\ncard 5500 0000 0000 0004\n");
    let filter = Filter {
        file_types: None,
        max_file_size: Some(2 << 20),
    };
    let data = gzip(&text);
    let dir = temp_dir("max");
    let path = dir.join("big.txt.gz");
    std::fs::write(&path, &data).unwrap();
    for engine in [
        isolated(Limits::default(), filter.clone(), "filtermax"),
        in_process(Limits::default(), filter.clone()),
    ] {
        for request in [Request::bytes(&data), Request::path(&path)] {
            let (found, report) = scan(&engine, request);
            // The card at the start and the key across the 64 KiB border; not the rest.
            let detectors: Vec<&str> = found
                .findings
                .iter()
                .map(|(_, f)| f.detector.as_str())
                .collect();
            assert_eq!(detectors, ["credit_card", "aws_access_key_id"]);
            assert_eq!(skips(&found), ["content too_large"]);
            let detail = &found.skipped[0].1.detail;
            assert!(detail.contains("only its first 2097152 bytes"), "{detail}");
            assert_eq!(report.items_scanned, 1);
            assert_eq!(report.file_type, Some(FileType::Gzip));
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_damaged_stream_reports_the_findings_before_the_damage_then_a_skip() {
    let text = planted_text(6 << 20);
    let local = in_process(Limits::default(), Filter::default());
    let isolated = isolated(Limits::default(), Filter::default(), "damaged");
    let plain = local.detector_set().scan_bytes(&text);
    for (kind, encode) in STREAMS {
        let data = encode(&text);
        // Cut past the 4 MiB border's key (the text compresses evenly enough), before the end.
        let cut = &data[..data.len() * 9 / 10];
        for engine in [&local, &isolated] {
            let (found, report) = scan(engine, Request::bytes(cut));
            let got = spots(&found.findings);
            assert_eq!(got.len(), 3, "{kind}: {got:?}");
            for (spot, want) in got.iter().zip(&plain) {
                assert_eq!((spot.2, spot.4), (want.start, want.line), "{kind}");
            }
            assert_eq!(skips(&found), ["- broken_file"], "{kind}");
            assert_eq!(report.items_scanned, 0);
        }
    }
    // A gzip whose CRC does not match: every finding, then the skip.
    let mut bad = gzip(&text);
    let at = bad.len() - 8;
    bad[at] ^= 1;
    let (found, _) = scan(&isolated, Request::bytes(&bad));
    assert_eq!(found.findings.len(), 4);
    assert_eq!(skips(&found), ["- broken_file"]);
}

#[test]
fn bombs_end_as_limit_exceeded_quickly() {
    // 1 GiB of zeros in about 1 MiB (the default level compresses zeros about 1000:1).
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&vec![0u8; 1 << 20]).unwrap();
    let one = e.finish().unwrap();
    let bomb: Vec<u8> = one.iter().copied().cycle().take(one.len() * 1024).collect();
    for engine in [
        isolated(Limits::default(), Filter::default(), "bomb"),
        in_process(Limits::default(), Filter::default()),
    ] {
        let started = Instant::now();
        let (found, _) = scan(&engine, Request::bytes(&bomb));
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(skips(&found), ["- limit_exceeded"]);
    }
}

/// Stops after its first finding; kills the tagged worker there instead when `kill` is set.
struct Stopper {
    kill: Option<&'static str>,
    findings: usize,
    finished: usize,
    skipped: Vec<Skipped>,
}

impl Sink for Stopper {
    type Error = std::convert::Infallible;

    fn finding(&mut self, _: &Path, _: Finding) -> Result<Flow, Self::Error> {
        self.findings += 1;
        match self.kill {
            Some(tag) if self.findings == 1 => {
                for pid in tagged_workers(tag) {
                    signal(pid, "-KILL");
                }
                Ok(Flow::Continue)
            }
            Some(_) => Ok(Flow::Continue),
            None => Ok(Flow::Stop),
        }
    }

    fn skipped(&mut self, _: &Path, skipped: Skipped) -> Result<Flow, Self::Error> {
        self.skipped.push(skipped);
        Ok(Flow::Continue)
    }

    fn finished(&mut self, _: &ItemReport) -> Result<Flow, Self::Error> {
        self.finished += 1;
        Ok(Flow::Continue)
    }
}

/// About 1 GiB of text with a card on every line, in gzip members of 1 MiB (ratio checks off:
/// the text is that repetitive).
fn endless_cards() -> Vec<u8> {
    let line = b"card 4111 1111 1111 1111 on file\n";
    let one: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(line.len() << 15)
        .collect();
    let member = gzip(&one);
    member
        .iter()
        .copied()
        .cycle()
        .take(member.len() * 1024)
        .collect()
}

#[test]
fn a_sink_that_stops_or_a_killed_worker_ends_the_stream_promptly() {
    let limits = Limits {
        max_ratio: u64::MAX,
        ..Limits::default()
    };
    let data = endless_cards();
    let engine = isolated(limits.clone(), Filter::default(), "stopper");
    for engine in [&engine, &in_process(limits, Filter::default())] {
        let started = Instant::now();
        let mut stop = Stopper {
            kill: None,
            findings: 0,
            finished: 0,
            skipped: Vec::new(),
        };
        engine.scan(Request::bytes(&data), &mut stop).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(stop.findings, 1, "nothing after stop");
        assert_eq!(stop.finished, 0);
    }
    // The engine goes on: its worker was killed, a new one starts.
    let (found, _) = scan(&engine, Request::bytes(&gzip(b"ssn: 536-22-8813\n")));
    assert_eq!(found.findings.len(), 1);

    // The worker killed mid-stream: the item ends as a skip, the engine goes on.
    let engine = isolated(
        Limits {
            max_ratio: u64::MAX,
            ..Limits::default()
        },
        Filter::default(),
        "killed",
    );
    let mut killer = Stopper {
        kill: Some("killed"),
        findings: 0,
        finished: 0,
        skipped: Vec::new(),
    };
    let started = Instant::now();
    let report = engine.scan(Request::bytes(&data), &mut killer).unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(killer.skipped.len(), 1, "{:?}", killer.skipped);
    assert_eq!(killer.skipped[0].reason, SkipReason::BrokenFile);
    assert!(killer.skipped[0].detail.contains("crashed"));
    assert_eq!(killer.finished, 1);
    assert_eq!(report.skipped, 1);
    let (found, _) = scan(&engine, Request::bytes(&gzip(b"ssn: 536-22-8813\n")));
    assert_eq!(found.findings.len(), 1);
}
