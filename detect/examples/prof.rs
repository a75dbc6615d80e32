//! Scans the bench corpus repeatedly with a selection, for profiling
//! (`cargo run --release -p dlp-detect --features bench --example prof -- SELECTORS [decoys]`;
//! `DLP_PROF_MB` and `DLP_PROF_ITERATIONS` set the size, default 32, and the passes, default 8:
//! one small pass under `valgrind --tool=cachegrind` counts instructions, which a busy machine
//! does not disturb as it does timings; `DLP_PROF_CHUNK` sets the scanner's chunk size; a second
//! argument `file:PATH` scans that file instead; `DLP_PROF_KEYED` fingerprints with a key, as
//! `dlp` does by default).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut b = dlp_detect::DetectorSetBuilder::new();
    if let Some(sel) = args.first().filter(|s| s.as_str() != "none") {
        b.detectors(sel.split(',').map(str::to_string));
    }
    if let Some(ex) = args.get(2).filter(|s| !s.is_empty()) {
        b.exclude(ex.split(',').map(str::to_string));
    }
    if std::env::var_os("DLP_PROF_KEYED").is_some() {
        // Keyed fingerprints, as `dlp` computes them by default.
        b.fingerprints(dlp_detect::Fingerprints::Keyed(Box::new([7; 32])));
    }
    let t = std::time::Instant::now();
    let set = b.build().expect("compiles");
    eprintln!("build {:?}", t.elapsed());
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let size = env("DLP_PROF_MB", 32) << 20;
    let text = if let Some(path) = args.get(1).and_then(|a| a.strip_prefix("file:")) {
        std::fs::read(path).expect("readable")
    } else if args.get(1).is_some_and(|a| a == "decoys") {
        dlp_detect::decoys::generate(size, 7)
    } else {
        dlp_detect::corpus::generate(size, 8192, 1).text
    };
    let mut scanner = set.scanner();
    if let Some(c) = std::env::var("DLP_PROF_CHUNK")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        scanner.set_chunk_size(c);
    }
    for _ in 0..env("DLP_PROF_ITERATIONS", 8) {
        let t = std::time::Instant::now();
        let n = scanner.scan(&text).len();
        let s = t.elapsed().as_secs_f64();
        eprintln!("{:.1} MB/s, {n} findings", text.len() as f64 / 1e6 / s);
    }
}
