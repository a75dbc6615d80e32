//! The inspection engine end to end: one item through every kind of request, documents in the
//! isolated workers, large files split between threads, batches, and sinks that stop or fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod engine_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dlp_engine::{
    Batch, Collect, Engine, EngineBuilder, Finding, Flow, Isolation, ItemReport, Limits, Request,
    ScanError, Sink, SkipReason, Skipped,
};

/// Serves as an extraction worker when this test binary is re-run as one (see `isolated`).
#[test]
fn extract_worker_entry() {
    engine_support::worker_entry();
}

/// An engine whose documents are parsed by this test binary re-run as a worker.
fn isolated(limits: Limits) -> Engine {
    let command = engine_support::worker_command();
    EngineBuilder::new()
        .limits(limits)
        .isolation(Isolation::Workers {
            command,
            workers: 1,
        })
        .build()
        .unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/docs")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlp-engine-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn spans(findings: &[Finding]) -> Vec<(String, usize, usize, u64)> {
    findings
        .iter()
        .map(|f| (f.detector.clone(), f.start, f.end, f.line))
        .collect()
}

fn text_with_plants(lines: usize) -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..lines {
        match i % 7 {
            0 => text.extend_from_slice(b"card 4111 1111 1111 1111 on file\n"),
            3 => text.extend_from_slice(b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"),
            5 => text.extend_from_slice(b"ssn: 536-22-8813\n"),
            _ => text.extend_from_slice(b"nothing sensitive on this line at all\n"),
        }
    }
    text
}

#[test]
fn every_kind_of_request_gives_the_same_findings() {
    let engine = EngineBuilder::new().large_item(1 << 20).build().unwrap();
    let text = text_with_plants(60_000); // about 2.3 MB: over `large_item`
    let expected = engine.detector_set().scan_bytes(&text);
    assert!(expected.len() > 20_000);

    let through = |request: Request<'_>| {
        let mut found = Collect::default();
        let report = engine.scan(request, &mut found).unwrap();
        assert!(found.skipped.is_empty(), "{:?}", found.skipped);
        assert_eq!(report.items_scanned, 1);
        assert_eq!(report.bytes, text.len() as u64);
        assert_eq!(report.findings, expected.len() as u64);
        assert_eq!(found.reports, vec![report]);
        found.into_findings()
    };
    assert_eq!(spans(&through(Request::text(&text))), spans(&expected));
    assert_eq!(spans(&through(Request::bytes(&text))), spans(&expected));
    let mut reader = &text[..];
    assert_eq!(
        spans(&through(Request::reader(&mut reader))),
        spans(&expected)
    );
    let dir = temp_dir("kinds");
    let path = dir.join("plants.txt");
    std::fs::write(&path, &text).unwrap();
    // Over `large_item`: split between threads, read by positioned reads.
    for threads in [1, 2, 3] {
        let found = through(Request::path(&path).threads(threads));
        assert_eq!(spans(&found), spans(&expected), "{threads} threads");
    }
    let small = dir.join("small.txt");
    std::fs::write(&small, &text[..5000]).unwrap();
    let mut found = Collect::default();
    engine.scan(Request::path(&small), &mut found).unwrap();
    assert_eq!(
        spans(&found.into_findings()),
        spans(&engine.detector_set().scan_bytes(&text[..5000]))
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn problems_with_an_item_are_skips_with_their_reason() {
    let engine = EngineBuilder::new()
        .filter(dlp_engine::Filter {
            file_types: None,
            max_file_size: Some(100),
        })
        .build()
        .unwrap();
    let mut found = Collect::default();
    let report = engine
        .scan(Request::path(Path::new("/nonexistent/x.txt")), &mut found)
        .unwrap();
    assert_eq!(report.skipped, 1);
    assert!(found.skipped_for(SkipReason::NotFound));

    let mut found = Collect::default();
    engine
        .scan(Request::bytes(&[b'a'; 500]).name("big.txt"), &mut found)
        .unwrap();
    assert_eq!(found.skipped[0].0, PathBuf::from("big.txt"));
    assert_eq!(found.skipped[0].1.reason, SkipReason::TooLarge);

    // A stream has no size to check first: what the maximum allows is scanned, the rest is
    // refused, and said so.
    let long = format!(
        "4111 1111 1111 1111 and then a long tail{}",
        ".".repeat(200)
    );
    let mut stream = long.as_bytes();
    let mut found = Collect::default();
    engine
        .scan(Request::reader(&mut stream), &mut found)
        .unwrap();
    assert_eq!(found.findings.len(), 1);
    assert!(found.skipped_for(SkipReason::TooLarge));
}

#[test]
fn documents_are_extracted_in_the_isolated_workers() {
    let engine = isolated(Limits::default());
    assert!(engine.is_isolated());
    for name in ["sample.docx", "sample.pdf", "sample.zip", "sample.xlsx"] {
        let data = fixture(name);
        let mut found = Collect::default();
        let report = engine
            .scan(Request::bytes(&data).name(name), &mut found)
            .unwrap();
        assert!(!found.findings.is_empty(), "{name}: no findings");
        assert!(found.skipped.is_empty(), "{name}: {:?}", found.skipped);
        assert!(report.items_scanned >= 1);
        assert!(report.file_type.is_some());
        assert!(found.findings.iter().all(|(p, _)| p == Path::new(name)));
    }
    // The zip's members are named.
    let mut found = Collect::default();
    engine
        .scan(Request::bytes(&fixture("sample.zip")), &mut found)
        .unwrap();
    assert!(found.findings.iter().any(|(_, f)| f.member.is_some()));
}

/// A PDF from numbered objects, with a correct cross-reference table.
fn pdf(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{}\nendobj\n", i + 1, body).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    out
}

#[test]
fn a_hostile_document_costs_its_item_not_the_engine() {
    let engine = isolated(Limits {
        time_per_item: Duration::from_secs(2),
        ..Limits::default()
    });
    // Nesting deep enough to overflow a parser's stack: in-process this aborts the process.
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let hostile = pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        format!("<< /Type /Page /Parent 2 0 R /Deep {deep} >>"),
    ]);
    let started = Instant::now();
    let mut found = Collect::default();
    let report = engine
        .scan(Request::bytes(&hostile).name("hostile.pdf"), &mut found)
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(report.skipped, 1);
    let (item, skip) = &found.skipped[0];
    assert_eq!(item, Path::new("hostile.pdf"));
    assert!(
        [
            SkipReason::BrokenFile,
            SkipReason::LimitExceeded,
            SkipReason::Timeout
        ]
        .contains(&skip.reason),
        "{skip:?}"
    );
    // The engine goes on with a fresh worker.
    let mut found = Collect::default();
    engine
        .scan(Request::bytes(&fixture("sample.pdf")), &mut found)
        .unwrap();
    assert!(!found.findings.is_empty());
}

/// Stops after `after` findings, or fails there when `fail`.
struct Picky {
    after: usize,
    fail: bool,
    seen: usize,
    finished: usize,
}

impl Picky {
    fn new(after: usize, fail: bool) -> Self {
        Picky {
            after,
            fail,
            seen: 0,
            finished: 0,
        }
    }
}

impl Sink for Picky {
    type Error = String;

    fn finding(&mut self, _: &Path, _: Finding) -> Result<Flow, String> {
        self.seen += 1;
        if self.seen < self.after {
            Ok(Flow::Continue)
        } else if self.fail {
            Err("the output is gone".into())
        } else {
            Ok(Flow::Stop)
        }
    }

    fn skipped(&mut self, _: &Path, _: Skipped) -> Result<Flow, String> {
        Ok(Flow::Continue)
    }

    fn finished(&mut self, _: &ItemReport) -> Result<Flow, String> {
        self.finished += 1;
        Ok(Flow::Continue)
    }
}

#[test]
fn a_sink_can_stop_a_scan_or_fail_it() {
    let engine = EngineBuilder::new().build().unwrap();
    let text = text_with_plants(400_000); // 16 MB: several chunks
    let mut stop = Picky::new(3, false);
    engine.scan(Request::text(&text), &mut stop).unwrap();
    assert_eq!(stop.seen, 3, "nothing reaches the sink after it said stop");
    assert_eq!(stop.finished, 0);
    let mut fail = Picky::new(3, true);
    match engine.scan(Request::text(&text), &mut fail) {
        Err(ScanError::Sink(e)) => assert_eq!(e, "the output is gone"),
        other => panic!("{other:?}"),
    }
    assert_eq!(fail.seen, 3);

    // In a batch, a failing sink ends the batch with its error.
    let dir = temp_dir("sinkfail");
    for i in 0..20 {
        std::fs::write(dir.join(format!("{i}.txt")), &text[..20_000]).unwrap();
    }
    let mut fail = Picky::new(5, true);
    let got = Batch::new()
        .threads(2)
        .run(&engine, std::slice::from_ref(&dir), &mut fail);
    assert!(matches!(got, Err(ScanError::Sink(_))));
    assert_eq!(fail.seen, 5);
    std::fs::remove_dir_all(dir).unwrap();
}

/// What a batch gives, checking that no finding of a file comes after its report.
#[derive(Default)]
struct ByFile {
    findings: Vec<(PathBuf, Finding)>,
    finished: Vec<ItemReport>,
    skipped: Vec<(PathBuf, Skipped)>,
}

impl Sink for ByFile {
    type Error = std::convert::Infallible;

    fn finding(&mut self, item: &Path, f: Finding) -> Result<Flow, Self::Error> {
        assert!(
            !self.finished.iter().any(|r| r.path == item),
            "a finding after its file finished"
        );
        self.findings.push((item.to_path_buf(), f));
        Ok(Flow::Continue)
    }

    fn skipped(&mut self, item: &Path, s: Skipped) -> Result<Flow, Self::Error> {
        self.skipped.push((item.to_path_buf(), s));
        Ok(Flow::Continue)
    }

    fn finished(&mut self, report: &ItemReport) -> Result<Flow, Self::Error> {
        self.finished.push(report.clone());
        Ok(Flow::Continue)
    }
}

#[test]
fn a_batch_reports_every_file_once_and_large_files_in_order() {
    let engine = EngineBuilder::new()
        .rules_toml(
            "[[rule]]\nid = \"often\"\nkeywords = [\"project zeta\"]\nmin_count = 3\n\
             [[rule]]\nid = \"never_enough\"\nkeywords = [\"project omega\"]\nmin_count = 1000\n",
            "count.toml",
        )
        .large_item(1 << 20)
        .isolation(Isolation::InProcess)
        .build()
        .unwrap();
    let dir = temp_dir("batch");
    // About 9.5 MiB: three chunks of 4 MiB, findings on both sides of every border and the
    // `min_count` rule reaching its count only in the second chunk.
    let block = text_with_plants(70);
    let mut large = Vec::new();
    let mut copy = 0;
    while large.len() < 9_500_000 {
        large.extend_from_slice(&block);
        if copy == 300 || copy == 1200 || copy == 1500 {
            large.extend_from_slice(b"project zeta and project omega\n");
        }
        copy += 1;
    }
    let serial = engine.detector_set().scanner().scan(&large);
    assert_eq!(serial.iter().filter(|f| f.detector == "often").count(), 3);
    assert!(!serial.iter().any(|f| f.detector == "never_enough"));
    std::fs::write(dir.join("large.txt"), &large).unwrap();
    for i in 0..30 {
        std::fs::write(dir.join(format!("small-{i:02}.txt")), &block).unwrap();
    }
    std::fs::write(dir.join("sample.docx"), fixture("sample.docx")).unwrap();
    let missing = dir.join("missing.txt");
    let mut got = ByFile::default();
    Batch::new()
        .threads(2)
        .run(&engine, &[dir.clone(), missing.clone()], &mut got)
        .unwrap();
    assert_eq!(
        got.finished.len(),
        33,
        "every input once, the missing one too"
    );
    let mut paths: Vec<&Path> = got.finished.iter().map(|r| r.path.as_path()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 33);
    assert_eq!(got.skipped.len(), 1);
    assert_eq!(got.skipped[0].0, missing);
    assert_eq!(got.skipped[0].1.reason, SkipReason::NotFound);
    let large_path = dir.join("large.txt");
    let streamed: Vec<Finding> = got
        .findings
        .iter()
        .filter(|(p, _)| *p == large_path)
        .map(|(_, f)| f.clone())
        .collect();
    assert_eq!(
        streamed, serial,
        "in the order and with the lines of a serial scan"
    );
    let small = engine.detector_set().scan_bytes(&block).len();
    for i in 0..30 {
        let p = dir.join(format!("small-{i:02}.txt"));
        assert_eq!(got.findings.iter().filter(|(q, _)| *q == p).count(), small);
    }
    assert!(got
        .findings
        .iter()
        .any(|(p, _)| *p == dir.join("sample.docx")));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn plain_text_is_filtered_by_its_own_type() {
    let only_csv = EngineBuilder::new()
        .filter(dlp_engine::Filter {
            file_types: Some(vec![dlp_engine::FileType::Csv]),
            max_file_size: None,
        })
        .build()
        .unwrap();
    let csv = b"name,card\nalice,4111 1111 1111 1111\nbob,5500 0000 0000 0004\n";
    let mut found = Collect::default();
    let report = only_csv.scan(Request::bytes(csv), &mut found).unwrap();
    assert_eq!(report.file_type, Some(dlp_engine::FileType::Csv));
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    assert_eq!(found.findings.len(), 2);
    let mut found = Collect::default();
    only_csv
        .scan(Request::bytes(b"a note: 4111 1111 1111 1111"), &mut found)
        .unwrap();
    assert!(found.findings.is_empty());
    assert!(found.skipped_for(SkipReason::FilteredType));
}
