//! Times building the whole library (`--example build_time -- SELECTORS`), for profiling.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
fn main() {
    let sel: Vec<String> = std::env::args().skip(1).collect();
    for _ in 0..20 {
        let t = std::time::Instant::now();
        let mut b = dlp_detect::DetectorSetBuilder::new();
        if !sel.is_empty() {
            b.detectors(sel.clone());
        }
        let set = b.build().unwrap();
        eprintln!("{:?} {}", t.elapsed(), set.detectors().len());
    }
}
