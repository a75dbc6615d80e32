//! Precision on what real files are full of: the decoy corpus (timestamps, order numbers, CSV
//! of 9-11 digit numbers, UUIDs, hashes, versions, barcodes, coordinates, IPs of logs, product
//! codes, placeholders) plants nothing, so every finding on it is a false positive. The rate is
//! printed per category and confidence, and held under a bound per category.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use dlp_detect::{Confidence, DetectorSetBuilder};

/// Findings of medium or high confidence allowed per MB of decoys, per category. Low-confidence
/// findings are shapes that need a look by design (a test key, a bare shape next to a word).
const MAX_PER_MB: f64 = 0.5;

#[test]
fn false_positive_rate_on_decoys_per_category() {
    let set = DetectorSetBuilder::new()
        .detectors(["all"])
        .build()
        .unwrap();
    let text = dlp_detect::decoys::generate(8 << 20, 2024);
    let mb = text.len() as f64 / 1e6;
    let found = set.scan_bytes(&text);
    let mut by: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for f in &found {
        by.entry((
            f.category.as_str().to_string(),
            f.confidence.as_str().to_string(),
        ))
        .or_default()
        .push(format!("{} {}", f.detector, f.masked));
    }
    println!("decoy corpus: {:.1} MB, {} findings", mb, found.len());
    for ((category, confidence), list) in &by {
        println!(
            "  {category:<9} {confidence:<6} {:>6} ({:.3}/MB) e.g. {:?}",
            list.len(),
            list.len() as f64 / mb,
            &list[..list.len().min(3)]
        );
    }
    let mut over = Vec::new();
    for category in ["pii", "financial", "health", "secret"] {
        let n: usize = found
            .iter()
            .filter(|f| f.category.as_str() == category && f.confidence >= Confidence::Medium)
            .count();
        let rate = n as f64 / mb;
        if rate > MAX_PER_MB {
            over.push(format!("{category}: {rate:.3}/MB"));
        }
    }
    assert!(
        over.is_empty(),
        "false positives over {MAX_PER_MB}/MB on decoys: {}",
        over.join(", ")
    );
}
