//! Detection throughput on the generated mixed corpus (`dlp_engine::corpus`), single thread.
//!
//! Every benchmark checks its answer (the planted finding count) before it times anything.
//! Run: `cargo bench --bench detection`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dlp_engine::corpus;
use dlp_engine::detect::DetectorSetBuilder as EngineBuilder;

fn mixed(c: &mut Criterion) {
    let engine = EngineBuilder::new().build().expect("built-ins compile");
    let corpus = corpus::generate(16 << 20, 8192, 1);
    let mut scanner = engine.scanner();
    let found = scanner.scan(&corpus.text).len();
    assert_eq!(
        found,
        corpus.planted_total(),
        "the scan must find exactly what was planted"
    );

    let mut group = c.benchmark_group("detection");
    group.throughput(Throughput::Bytes(corpus.text.len() as u64));
    group.sample_size(10);
    group.bench_with_input(
        BenchmarkId::new("builtins", "mixed-16MiB"),
        &corpus.text,
        |b, text| b.iter(|| scanner.scan(text).len()),
    );
    group.finish();

    let mut group = c.benchmark_group("compile");
    group.bench_function("builtins", |b| {
        b.iter(|| EngineBuilder::new().build().expect("compiles"))
    });
    group.finish();
}

criterion_group!(benches, mixed);
criterion_main!(benches);
