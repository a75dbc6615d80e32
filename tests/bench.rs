//! `dlp bench` end to end: it must check its own answers and report every field the README
//! table is filled from. Only correctness is asserted here, never a timing.

use serde_json::Value;

use crate::util::{dlp, temp_dir, write};

/// Runs `dlp bench` with small, quick settings and the given arguments; returns the exit code
/// and the JSON report.
fn bench(args: &[&str]) -> (i32, Value) {
    let mut all = vec![
        "bench", "--format", "json", "--repeat", "1", "--sample", "4MiB",
    ];
    all.extend_from_slice(args);
    let run = dlp(&all);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", run.stdout, run.stderr));
    (run.code, report)
}

fn number(v: &Value, path: &str) -> f64 {
    let mut at = v;
    for key in path.split('.') {
        at = &at[key];
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("`{path}` is not a number: {at}"))
}

#[test]
fn generated_corpus_findings_are_the_planted_values() {
    let (code, r) = bench(&["--size", "4MiB", "--threads", "2"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["ok"], true);
    assert_eq!(r["checks"]["findings_equal_planted"], true, "{r:#}");
    let planted: f64 = r["corpus"]["planted"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!(planted > 100.0);
    assert_eq!(number(&r, "single_thread.findings"), planted);
    assert_eq!(number(&r, "parallel.findings"), planted);
    assert_eq!(r["parallel"]["same_as_single_thread"], true);
    assert_eq!(number(&r, "parallel.threads"), 2.0);
    // Fast path = reference path, on the whole corpus (the sample is as large).
    let reference = &r["checks"]["reference"];
    assert_eq!(reference["identical"], true, "{reference:#}");
    assert_eq!(number(reference, "fast_findings"), planted);
    assert_eq!(number(reference, "reference_findings"), planted);
    assert!(number(&r, "corpus.bytes") >= (4 << 20) as f64);
    for field in [
        "single_thread.mb_per_s",
        "parallel.mb_per_s",
        "parallel.mb_per_s_per_core",
        "parallel.speedup",
        "engine.compile_ms",
        "engine.compile_ms_first",
        "engine.patterns",
        "engine.detectors",
        "engine.scratch_bytes_per_thread",
        "baseline.mb_per_s",
        "baseline.matches",
        "peak_rss_bytes",
    ] {
        assert!(number(&r, field) > 0.0, "{field}");
    }
    assert!(r["machine"]["cpu"].is_string());
    assert!(r["hyperscan"].is_null());
    assert_eq!(r["adversarial"].as_array().map(Vec::len), Some(0));
}

#[test]
fn adversarial_inputs_have_no_findings() {
    let (code, r) = bench(&[
        "--size",
        "1MiB",
        "--adversarial",
        "--adversarial-size",
        "1MB",
    ]);
    assert_eq!(code, 0, "{r:#}");
    let runs = r["adversarial"].as_array().unwrap();
    let names: Vec<&str> = runs.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "digits",
            "at-signs",
            "akia",
            "base64-line",
            "pem-begin",
            "luhn-failing-cards",
            "csv-of-ids",
            "log-timestamps-ips",
            "hex-hashes",
            "upper-case-words"
        ]
    );
    for a in runs {
        // Nothing sensitive is in them. A page of random upper-case words may spell `BIC`
        // beside a word of a BIC's shape (a medium finding of the default set's `swift_bic`);
        // nothing else is found, and nothing at high confidence anywhere.
        assert_eq!(a["findings_high"], 0, "{a}");
        let by = a["findings_by_detector"].as_object().unwrap();
        if a["name"] == "upper-case-words" {
            assert!(by.keys().all(|d| d == "swift_bic"), "{a}");
            assert!(number(a, "findings") < 20.0, "{a}");
        } else {
            assert_eq!(a["findings"], 0, "{a}");
        }
        assert_eq!(a["bytes"], 1_000_000, "{a}");
        // The whole library runs on the same input too.
        let library = &a["library"];
        assert_eq!(library["bytes"], 1_000_000, "{a}");
        assert!(number(library, "mb_per_s") > 0.0, "{a}");
    }
    // The library reports the log's IPv4 addresses (low confidence), one per line.
    let log = &runs[7]["library"];
    assert!(number(log, "findings") > 5_000.0, "{log}");
    assert!(r["hyperscan_library"].is_null());
}

#[test]
fn secrets_db_yaml_rules_with_invalid_ones_left_out() {
    let dir = temp_dir("bench-yaml");
    let rules = write(
        &dir,
        "rules.yml",
        "patterns:\n\
         \x20 - pattern:\n      name: AWS API Key\n      regex: AKIA[0-9A-Z]{16}\n      confidence: high\n\
         \x20 - pattern:\n      name: Look behind\n      regex: '(?<=key=)[a-z]{8}'\n      confidence: low\n\
         \x20 - pattern:\n      name: Empty\n      regex: 'x*'\n      confidence: low\n"
            .as_bytes(),
    );
    let (code, r) = bench(&["--size", "1MiB", "--rules", rules.to_str().unwrap()]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["engine"]["rules_format"], "secrets-patterns-db yaml");
    assert_eq!(r["engine"]["rule_entries"], 3);
    assert_eq!(r["engine"]["detectors"], 1);
    assert_eq!(r["engine"]["rules_left_out"], 2, "{:#}", r["engine"]);
    let left: Vec<&str> = r["engine"]["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rule"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["look_behind", "empty"]);
    // Custom rules only: there is no planted answer, but the reference path still must agree.
    assert!(r["checks"]["findings_equal_planted"].is_null());
    assert_eq!(r["checks"]["reference"]["identical"], true);
    assert!(number(&r, "single_thread.findings") > 0.0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn corpus_from_a_directory() {
    let dir = temp_dir("bench-corpus");
    write(&dir, "a.txt", b"key AKIAZ3MSJV4FTQ6UE2PB here\n");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    write(&dir, "sub/b.log", b"card 4111 1111 1111 1111\n");
    let (code, r) = bench(&["--corpus", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["single_thread"]["findings"], 2);
    assert_eq!(r["checks"]["reference"]["identical"], true);
    assert!(r["corpus"]["planted"].is_null());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = temp_dir("bench-bad");
    let bad_yaml = write(&dir, "bad.yaml", b"patterns:\n  - nope: 1\n");
    let bad_toml = write(&dir, "bad.toml", b"[[rule]]\nid = \"x y\"\npattern = 'a'\n");
    let missing = dir.join("missing");
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["--rules", bad_yaml.to_str().unwrap()],
            "not a secrets-patterns-db rule file",
        ),
        (vec!["--rules", bad_toml.to_str().unwrap()], "x y"),
        (
            vec!["--corpus", missing.to_str().unwrap()],
            "cannot read the corpus",
        ),
        (vec!["--size", "12 parsecs"], "size"),
    ];
    for (args, want) in cases {
        let mut all = vec!["bench"];
        all.extend_from_slice(&args);
        let run = dlp(&all);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
    std::fs::remove_dir_all(dir).unwrap();
}
