//! Profiling aid: throughput on adversarial inputs. `cargo run --release -p dlp-detect --example adversarial`.

#![allow(clippy::unwrap_used, clippy::expect_used)]
fn main() {
    let engine = dlp_detect::DetectorSetBuilder::new()
        .build()
        .expect("compiles");
    let size = 64 << 20;
    let fill = |unit: &[u8]| -> Vec<u8> { unit.iter().copied().cycle().take(size).collect() };
    let base64: Vec<u8> = (0..size)
        .map(|i| {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                [(i * 7919 + i / 64) % 64]
        })
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("digits", fill(b"7")),
        ("at signs", fill(b"@")),
        ("AKIA", fill(b"AKIA")),
        ("base64 line", base64),
        ("-----BEGIN", fill(b"-----BEGIN ")),
        ("Luhn-failing cards", fill(b"4111 1111 1111 1112 ")),
        (
            "Luhn-failing cards, one per line",
            fill(b"4111111111111112\n"),
        ),
    ];
    let mut scanner = engine.scanner();
    for (name, data) in cases {
        let t = std::time::Instant::now();
        let n = scanner.scan(&data).len();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{name:34} {:8.0} MB/s  {n} findings",
            data.len() as f64 / 1e6 / secs
        );
    }
}
