//! Findings in images: a terminal screenshot (`dlp-extract`'s fixture
//! `tests/fixtures/ocr/terminal.png`, rendered by its OCR test) scanned through the isolated
//! workers and a real Tesseract. Findings carry `location: image` and `ocr: true`, one step less
//! confidence than the same values in text, and the minimum confidence holds after that step.
//! Needs Tesseract with its English data (`apt-get install tesseract-ocr tesseract-ocr-eng`);
//! fails, naming that command, without it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod engine_support;

use std::path::Path;
use std::process::Command;

use dlp_engine::{Collect, Confidence, Engine, EngineBuilder, Isolation, Limits, Request};

/// Serves as an extraction worker when this test binary is re-run as one.
#[test]
fn extract_worker_entry() {
    engine_support::worker_entry();
}

fn engine(limits: Limits, min: Option<Confidence>) -> Engine {
    let command = engine_support::worker_command();
    let mut builder = EngineBuilder::new();
    builder.limits(limits).isolation(Isolation::Workers {
        command,
        workers: 1,
    });
    if let Some(min) = min {
        builder.min_confidence(min);
    }
    builder.build().unwrap()
}

fn screenshot() -> Vec<u8> {
    let listed = Command::new("tesseract").arg("--list-langs").output();
    assert!(
        listed.is_ok_and(|out| String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l == "eng")),
        "this test needs Tesseract with its English data on PATH: \
         `apt-get install tesseract-ocr tesseract-ocr-eng`"
    );
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../extract/tests/fixtures/ocr/terminal.png");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn scan(engine: &Engine, data: &[u8]) -> Collect {
    let mut found = Collect::default();
    engine
        .scan(Request::bytes(data).name("terminal.png"), &mut found)
        .unwrap();
    found
}

/// `(detector, confidence, location, ocr)` of each finding, sorted.
fn summary(found: &Collect) -> Vec<(String, Confidence, Option<String>, bool)> {
    let mut out: Vec<_> = found
        .findings
        .iter()
        .map(|(_, f)| (f.detector.clone(), f.confidence, f.location.clone(), f.ocr))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn findings_in_an_image_are_ocr_and_one_step_less_sure() {
    let data = screenshot();
    let found = scan(&engine(Limits::default(), None), &data);
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    let image = Some("image".to_string());
    assert_eq!(
        summary(&found),
        [
            // high in text
            (
                "aws_access_key_id".into(),
                Confidence::Medium,
                image.clone(),
                true
            ),
            // high in text
            (
                "credit_card".into(),
                Confidence::Medium,
                image.clone(),
                true
            ),
            // medium in text
            ("email".into(), Confidence::Low, image.clone(), true),
        ]
    );
    // The same values as text, for comparison.
    let text = engine(Limits::default(), None).scan_text(
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE 4111 1111 1111 1111 jane.doe@example.com",
    );
    let confidences: Vec<_> = text.iter().map(|f| (f.confidence, f.ocr)).collect();
    assert_eq!(
        confidences,
        [
            (Confidence::High, false),
            (Confidence::High, false),
            (Confidence::Medium, false)
        ]
    );
    assert_eq!(found.reports.len(), 1);
    assert_eq!(found.reports[0].items_scanned, 1);
}

#[test]
fn the_minimum_confidence_holds_after_the_step_down() {
    let data = screenshot();
    let medium = scan(&engine(Limits::default(), Some(Confidence::Medium)), &data);
    let detectors: Vec<String> = summary(&medium).into_iter().map(|f| f.0).collect();
    assert_eq!(detectors, ["aws_access_key_id", "credit_card"]);
    let high = scan(&engine(Limits::default(), Some(Confidence::High)), &data);
    assert!(high.findings.is_empty(), "{:?}", summary(&high));
    assert_eq!(high.reports[0].findings, 0);
}

#[test]
fn with_ocr_off_an_image_is_skipped_unread() {
    let off = Limits {
        ocr: false,
        ..Limits::default()
    };
    let found = scan(&engine(off, None), &screenshot());
    assert!(found.findings.is_empty());
    let reasons: Vec<&str> = found
        .skipped
        .iter()
        .map(|(_, s)| s.reason.as_str())
        .collect();
    assert_eq!(reasons, ["unsupported_format"]);
}
