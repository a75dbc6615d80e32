//! Prints how the built-in detectors are triggered and what each one costs on the generated
//! corpus and on decoys (`cargo run --release -p dlp-detect --example plan [--only=SELECTORS] [ids to leave out]`;
//! `DLP_PLAN_FILE=PATH` measures that file instead, for text no generator wrote).
#![allow(clippy::unwrap_used, clippy::expect_used)]
fn main() {
    let mut exclude: Vec<String> = std::env::args().skip(1).collect();
    let mut b = dlp_detect::DetectorSetBuilder::new();
    if let Some(only) = exclude.first().and_then(|a| a.strip_prefix("--only=")) {
        b.detectors(only.split(',').map(str::to_string));
        exclude.remove(0);
    }
    if !exclude.is_empty() {
        b.exclude(exclude.iter().cloned());
    }
    let t = std::time::Instant::now();
    let set = b.build().expect("compiles");
    println!("build {:?}\n{}", t.elapsed(), set.plan());
    let corpus = dlp_detect::corpus::generate(16 << 20, 8192, 1).text;
    let decoys = dlp_detect::decoys::generate(16 << 20, 7);
    let file = std::env::var_os("DLP_PLAN_FILE").map(|path| std::fs::read(path).expect("readable"));
    let inputs = match &file {
        Some(text) => vec![("file", text)],
        None => vec![("corpus", &corpus), ("decoys", &decoys)],
    };
    for (name, text) in inputs {
        let mut scanner = set.scanner();
        let t = std::time::Instant::now();
        let n = scanner.scan(text).len();
        let s = t.elapsed().as_secs_f64();
        println!(
            "{name}: {:.1} MB/s, {n} findings",
            text.len() as f64 / 1e6 / s
        );
        let t = std::time::Instant::now();
        let by = scanner.first_pass_by_pattern(text);
        println!(
            "  first pass {:.1} MB/s",
            text.len() as f64 / 1e6 / t.elapsed().as_secs_f64()
        );
        for (stage, secs) in scanner.first_pass_stages(text) {
            println!("  {stage:<12} {:.1} MB/s", text.len() as f64 / 1e6 / secs);
        }
        let confirm = scanner.confirm_by_pattern(text);
        let total: f64 = confirm.iter().map(|c| c.2).sum();
        println!(
            "  confirmation {:.1} MB/s; slowest:",
            text.len() as f64 / 1e6 / total
        );
        let sources = set.pattern_sources();
        for (id, n, secs) in confirm.iter().take(15) {
            let p: usize = id
                .rsplit('#')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let source: String = sources[p].1.chars().take(60).collect();
            println!(
                "    {id:<28} {n:>8} candidates {:>8.1} ms  {source}",
                secs * 1e3
            );
        }
        let mut by = by;
        by.sort_by_key(|&(_, n, _)| std::cmp::Reverse(n));
        println!("  most candidates:");
        for (id, n, bytes) in by.iter().take(12) {
            println!("    {id:<28} {n:>8} candidates {bytes:>12} bytes");
        }
    }
}
