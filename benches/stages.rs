//! The scan's stages on the generated mixed corpus, single thread: the first pass alone, the
//! whole scan (first pass + confirmation + validation), and the validators on candidates.
//! Each checks its answer before timing. Run: `cargo bench --bench stages`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dlp_engine::corpus;
use dlp_engine::detect::DetectorSetBuilder as EngineBuilder;
use dlp_engine::Validator;

fn stages(c: &mut Criterion) {
    let engine = EngineBuilder::new().build().expect("built-ins compile");
    let corpus = corpus::generate(16 << 20, 8192, 3);
    let mut scanner = engine.scanner();
    let candidates = scanner.first_pass_candidates(&corpus.text);
    // Every planted value is a candidate, and the near misses of the filler are too.
    assert!(
        candidates > corpus.planted_total(),
        "{candidates} candidates"
    );
    assert_eq!(scanner.scan(&corpus.text).len(), corpus.planted_total());

    let mut group = c.benchmark_group("stages");
    group.throughput(Throughput::Bytes(corpus.text.len() as u64));
    group.sample_size(10);
    group.bench_function("first_pass", |b| {
        b.iter(|| scanner.first_pass_candidates(&corpus.text))
    });
    group.bench_function("whole_scan", |b| {
        b.iter(|| scanner.scan(&corpus.text).len())
    });
    group.finish();

    let cases: &[(&str, &[u8], bool)] = &[
        ("credit_card", b"4111 1111 1111 1111", true),
        ("credit_card", b"4111 1111 1111 1112", false),
        ("us_ssn", b"536-22-8813", true),
        ("iban", b"DE89 3704 0044 0532 0130 00", true),
        (
            "jwt",
            b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
            true,
        ),
        ("entropy:3.0", b"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", true),
    ];
    let mut group = c.benchmark_group("validators");
    for (name, value, want) in cases {
        let validator: Validator = name.parse().expect("known validator");
        assert_eq!(validator.accepts(value), *want, "{name}");
        group.bench_function(
            format!("{name}/{}", if *want { "valid" } else { "invalid" }),
            |b| b.iter(|| validator.accepts(value)),
        );
    }
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
