//! Profiling aid: `cargo run --release -p dlp-detect --example rules -- RULES.toml [MB]`.

#![allow(clippy::unwrap_used, clippy::expect_used)]
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("a rule file");
    let mb: usize = args.next().map_or(64, |s| s.parse().expect("MB"));
    let text = std::fs::read_to_string(&path).expect("readable");
    let t = std::time::Instant::now();
    let engine = dlp_detect::DetectorSetBuilder::new()
        .builtins(false)
        .skip_invalid_rules(true)
        .rules_toml(&text, &path)
        .build()
        .expect("builds");
    eprintln!(
        "build: {:?}, {} patterns, {} left out",
        t.elapsed(),
        engine.pattern_sources().len(),
        engine.rule_errors().len()
    );
    eprintln!("{}", engine.plan());
    for e in engine.rule_errors().iter().take(5) {
        eprintln!("  {e}");
    }
    let corpus = dlp_detect::corpus::generate(mb << 20, 8192, 1);
    let mut scanner = engine.scanner();
    if std::env::var("DLP_CHECK_REFERENCE").is_ok() {
        let sample = &corpus.text[..corpus.text.len().min(2 << 20)];
        let fast = scanner.scan(sample);
        let slow = engine.scan_reference(sample);
        eprintln!(
            "reference check on {} bytes: fast {} slow {} equal {}",
            sample.len(),
            fast.len(),
            slow.len(),
            fast == slow
        );
        if fast != slow {
            for f in slow.iter().filter(|f| !fast.contains(f)).take(5) {
                eprintln!(
                    "  only in reference: {} {}..{} {}",
                    f.detector, f.start, f.end, f.masked
                );
            }
            for f in fast.iter().filter(|f| !slow.contains(f)).take(5) {
                eprintln!(
                    "  only in fast: {} {}..{} {}",
                    f.detector, f.start, f.end, f.masked
                );
            }
        }
    }
    for _ in 0..2 {
        let t = std::time::Instant::now();
        let mut n = 0;
        for chunk in corpus.text.chunks(4 << 20) {
            n += scanner.first_pass_candidates(chunk);
        }
        eprintln!(
            "first pass alone: {n} candidates, {:.0} MB/s",
            corpus.text.len() as f64 / 1e6 / t.elapsed().as_secs_f64()
        );
    }
    for round in 0..3 {
        let t = std::time::Instant::now();
        let n = scanner.scan(&corpus.text).len();
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "round {round}: {n} findings, {:.0} MB/s",
            corpus.text.len() as f64 / 1e6 / secs
        );
    }
}
