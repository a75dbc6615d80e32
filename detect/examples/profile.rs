//! Profiling aid: scans the generated corpus repeatedly. `cargo run --release --example profile`.

#![allow(clippy::unwrap_used, clippy::expect_used)]
fn main() {
    let t = std::time::Instant::now();
    let engine = dlp_detect::DetectorSetBuilder::new()
        .build()
        .expect("compiles");
    eprintln!("build: {:?}", t.elapsed());
    let corpus = dlp_detect::corpus::generate(64 << 20, 8192, 1);
    let mut scanner = engine.scanner();
    let t = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..4 {
        n += scanner.scan(&corpus.text).len();
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "{n} findings, {:.0} MB/s",
        4.0 * corpus.text.len() as f64 / 1e6 / secs
    );
}
