//! The demo end to end with the real detection engine: every planted value in a readable item
//! is found by `dlp-engine`'s detectors, and the rate limits hold.
#![cfg(feature = "engine")]

use std::sync::Arc;

use dlp_connector::{run_demo, DemoOptions, MemorySink};

#[tokio::test]
async fn demo_with_the_engine_finds_every_planted_value() {
    let engine = dlp_engine::EngineBuilder::new().build().unwrap();
    let options = DemoOptions::default();
    let report = run_demo(Arc::new(engine), &options, Box::new(MemorySink::new()))
        .await
        .unwrap();
    let missed: Vec<String> = report
        .missed
        .iter()
        .map(|p| format!("{} in {:?}: {}", p.detector, p.item, p.value))
        .collect();
    assert!(missed.is_empty(), "missed {missed:#?}");
    assert!(report.expected > 100, "{}", report.expected);
    assert_eq!(report.rate_limit_violations, 0);
    for (endpoint, max) in &report.max_per_minute {
        assert!(*max <= 100, "{endpoint}: {max}");
    }
    println!(
        "demo: {} planted found, {} other findings, {:.1} min of API time, {:?} real",
        report.found,
        report.unplanted_findings,
        report.api_time.as_secs_f64() / 60.0,
        report.real_time
    );
}
