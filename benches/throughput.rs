//! Throughput beyond the built-ins on the mixed corpus (that is `detection.rs`): the 1,610-rule
//! secrets set (compile and scan), adversarial inputs, and a two-thread scan.
//!
//! Every benchmark checks its answer before it times anything. The secrets set is read from
//! `../shared/bench/secrets-patterns-db-rules-stable.yml` relative to the repository root (set
//! `DLP_SECRETS_RULES` to use another path); without it, those benchmarks are skipped with a
//! message. Run: `cargo bench --bench throughput`.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dlp_engine::corpus;
use dlp_engine::detect::DetectorSetBuilder as EngineBuilder;

// The same conversion and inputs as `dlp bench`, so that both measure the same thing.
#[allow(dead_code, unused_imports)]
#[path = "../src/bench/adversarial.rs"]
mod adversarial;
#[allow(dead_code, unused_imports)]
#[path = "../src/bench/rules.rs"]
mod rules;

/// Size of each adversarial input here (`dlp bench --adversarial` uses 100 MB).
const ADVERSARIAL_SIZE: usize = 16 << 20;

/// The number of findings of a two-thread scan of `text`.
fn parallel_count(engine: &dlp_engine::DetectorSet, text: &[u8]) -> usize {
    let mut found = Vec::new();
    engine
        .scan_parallel(text, 2, &mut found)
        .expect("the scanning threads finish");
    found.len()
}

fn secrets_rules_path() -> PathBuf {
    match std::env::var_os("DLP_SECRETS_RULES") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/bench/secrets-patterns-db-rules-stable.yml"),
    }
}

/// The secrets set as a builder, or `None` (with a message) when the file is absent.
fn secrets_builder() -> Option<EngineBuilder> {
    let path = secrets_rules_path();
    if !path.exists() {
        eprintln!(
            "skipping the secrets-set benchmarks: {} not found (set DLP_SECRETS_RULES)",
            path.display()
        );
        return None;
    }
    let set = rules::load(&path).expect("the secrets set converts");
    let mut builder = EngineBuilder::new();
    builder
        .builtins(false)
        .skip_invalid_rules(true)
        .rules_toml(&set.toml, &path.display().to_string());
    Some(builder)
}

fn secrets_set(c: &mut Criterion) {
    let Some(builder) = secrets_builder() else {
        return;
    };
    let engine = builder.build().expect("the secrets set compiles");
    let corpus = corpus::generate(8 << 20, 8192, 1);
    // The answer: the fast path agrees with the reference path, finding for finding.
    let sample = &corpus.text[..1 << 20];
    let mut scanner = engine.scanner();
    let fast = scanner.scan(sample);
    assert_eq!(
        fast,
        engine.scan_reference(sample),
        "fast path and reference path must agree"
    );
    let expected = scanner.scan(&corpus.text).len();
    assert!(expected > 0, "the secrets set finds the planted keys");

    let mut group = c.benchmark_group("secrets_set");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(corpus.text.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("scan", "mixed-8MiB"),
        &corpus.text,
        |b, text| b.iter(|| assert_eq!(scanner.scan(text).len(), expected)),
    );
    group.finish();

    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.bench_function("secrets_set", |b| {
        b.iter(|| builder.build().expect("compiles"))
    });
    group.finish();
}

fn adversarial_inputs(c: &mut Criterion) {
    let engine = EngineBuilder::new().build().expect("built-ins compile");
    let mut scanner = engine.scanner();
    let mut group = c.benchmark_group("adversarial");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(ADVERSARIAL_SIZE as u64));
    for input in adversarial::INPUTS {
        let data = input.generate(ADVERSARIAL_SIZE);
        assert_eq!(scanner.scan(&data).len(), 0, "{}: no findings", input.name);
        group.bench_with_input(BenchmarkId::new("builtins", input.name), &data, |b, d| {
            b.iter(|| scanner.scan(d).len())
        });
    }
    group.finish();
}

fn two_threads(c: &mut Criterion) {
    let engine = EngineBuilder::new().build().expect("built-ins compile");
    let corpus = corpus::generate(32 << 20, 8192, 1);
    assert_eq!(
        parallel_count(&engine, &corpus.text),
        corpus.planted_total()
    );
    let mut group = c.benchmark_group("detection");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(corpus.text.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("builtins-2-threads", "mixed-32MiB"),
        &corpus.text,
        |b, text| b.iter(|| parallel_count(&engine, text)),
    );
    group.finish();
}

criterion_group!(benches, secrets_set, adversarial_inputs, two_threads);
criterion_main!(benches);
