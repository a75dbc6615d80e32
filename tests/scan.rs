//! `dlp scan`, `dlp detectors`, `dlp extract`.

use std::collections::BTreeMap;

use crate::util::{dlp, dlp_with_stdin, temp_dir, write};

const FINDING_FIELDS: &[&str] = &[
    "record",
    "path",
    "member",
    "detector",
    "category",
    "confidence",
    "start",
    "end",
    "line",
    "column",
    "location",
    "masked",
    "fingerprint",
];

#[test]
fn jsonl_schema_and_exact_findings_per_fixture_and_member() {
    let run = dlp(&["scan", "--format", "jsonl", "--quiet", "fixtures/docs"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut got: BTreeMap<(String, String, String, String), usize> = BTreeMap::new();
    for record in run.json_lines() {
        let obj = record.as_object().expect("an object per line");
        for field in FINDING_FIELDS {
            assert!(obj.contains_key(*field), "{field} missing in {record}");
        }
        assert_eq!(record["record"], "finding");
        let start = record["start"].as_u64().unwrap();
        assert!(record["end"].as_u64().unwrap() > start);
        assert_eq!(record["fingerprint"].as_str().unwrap().len(), 64);
        assert!(record["masked"].as_str().unwrap().contains('*'));
        let path = record["path"].as_str().unwrap();
        let file = path.rsplit('/').next().unwrap().to_string();
        if !file.starts_with("sample") {
            continue; // README.md and make.py mention the planted values too
        }
        let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
        *got.entry((
            file,
            s(&record["member"]),
            s(&record["location"]),
            s(&record["detector"]),
        ))
        .or_default() += 1;
    }
    // What each fixture holds (fixtures/docs/README.md), where it is, as the engine reports it.
    let want: &[(&str, &str, &str, &str, usize)] = &[
        ("sample-latin1.txt", "-", "-", "us_ssn", 1),
        ("sample-utf16.txt", "-", "-", "aws_access_key_id", 1),
        ("sample-utf8.txt", "-", "-", "credit_card", 1),
        ("sample.csv", "-", "-", "credit_card", 1),
        ("sample.csv", "-", "-", "us_ssn", 1),
        ("sample.docx", "-", "-", "aws_access_key_id", 1),
        ("sample.docx", "-", "-", "credit_card", 1),
        ("sample.docx", "-", "-", "us_ssn", 1),
        ("sample.docx", "-", "comments", "credit_card", 1),
        ("sample.docx", "-", "footer", "iban", 1),
        ("sample.docx", "-", "header", "email", 1),
        ("sample.eml", "-", "-", "credit_card", 1),
        ("sample.eml", "-", "-", "iban", 1),
        ("sample.eml", "-", "headers", "aws_access_key_id", 1),
        ("sample.eml", "-", "headers", "email", 2),
        ("sample.eml", "notes.txt", "-", "us_ssn", 1),
        ("sample.eml", "record.docx", "-", "aws_access_key_id", 1),
        ("sample.eml", "record.docx", "-", "credit_card", 1),
        ("sample.eml", "record.docx", "-", "us_ssn", 1),
        ("sample.eml", "record.docx", "comments", "credit_card", 1),
        ("sample.eml", "record.docx", "footer", "iban", 1),
        ("sample.eml", "record.docx", "header", "email", 1),
        ("sample.html", "-", "-", "credit_card", 1),
        ("sample.html", "-", "-", "email", 1),
        ("sample.json", "-", "-", "credit_card", 1),
        ("sample.json", "-", "-", "email", 1),
        ("sample.odp", "-", "notes slide 2", "us_ssn", 1),
        ("sample.odp", "-", "slide 1", "credit_card", 1),
        ("sample.odp", "-", "slide 2", "email", 1),
        ("sample.ods", "-", "sheet Cards", "credit_card", 1),
        ("sample.ods", "-", "sheet Cards", "us_ssn", 1),
        ("sample.odt", "-", "-", "credit_card", 1),
        ("sample.odt", "-", "-", "email", 1),
        ("sample.pdf", "-", "page 1", "email", 1),
        ("sample.pdf", "-", "page 2", "credit_card", 1),
        ("sample.pptx", "-", "notes slide 1", "us_ssn", 1),
        ("sample.pptx", "-", "slide 1", "email", 1),
        ("sample.pptx", "-", "slide 1", "iban", 1),
        ("sample.pptx", "-", "slide 2", "credit_card", 1),
        ("sample.rtf", "-", "-", "credit_card", 1),
        ("sample.rtf", "-", "-", "us_ssn", 1),
        ("sample.tar.gz", "bundle.tar/etc/mail.txt", "-", "email", 1),
        ("sample.tar.gz", "bundle.tar/etc/ssn.txt", "-", "us_ssn", 1),
        ("sample.xlsx", "-", "sheet HR", "us_ssn", 1),
        (
            "sample.xlsx",
            "-",
            "sheet HR comments",
            "aws_access_key_id",
            1,
        ),
        ("sample.xlsx", "-", "sheet Sales", "credit_card", 2),
        ("sample.zip", "docs/card.txt", "-", "credit_card", 1),
        (
            "sample.zip",
            "inner.zip/deep/key.txt",
            "-",
            "aws_access_key_id",
            1,
        ),
        ("sample.zip", "report.xlsx", "sheet HR", "us_ssn", 1),
        (
            "sample.zip",
            "report.xlsx",
            "sheet HR comments",
            "aws_access_key_id",
            1,
        ),
        ("sample.zip", "report.xlsx", "sheet Sales", "credit_card", 2),
    ];
    let want: BTreeMap<(String, String, String, String), usize> = want
        .iter()
        .map(|(f, m, l, d, n)| {
            (
                (f.to_string(), m.to_string(), l.to_string(), d.to_string()),
                *n,
            )
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn summary_file_and_exit_codes() {
    let dir = temp_dir("summary");
    write(
        &dir,
        "a.txt",
        b"card 4111 1111 1111 1111\nkey AKIAIOSFODNN7EXAMPLE\n",
    );
    write(&dir, "clean.txt", b"nothing to see here\n");
    write(&dir, "blob.bin", b"\x7fELF\0\0\0\x01\x02");
    let summary = dir.join("summary.json");
    let run = dlp(&[
        "scan",
        dir.to_str().unwrap(),
        "no-such-file.txt",
        "--summary",
        summary.to_str().unwrap(),
        "--fail-on-findings",
    ]);
    assert_eq!(
        run.code, 2,
        "a missing input path is an error, even beside findings: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "dlp: skipped no-such-file.txt: no such file or directory (not_found); check the path"
        ),
        "{}",
        run.stderr
    );
    assert!(run
        .stdout
        .contains("a.txt:1: credit_card [financial, high] 4111 **** **** 1111"));
    assert!(run
        .stdout
        .contains("a.txt:2: aws_access_key_id [secret, high] AKIA************MPLE"));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["files"], 4);
    assert_eq!(s["items_scanned"], 2);
    assert_eq!(s["items_skipped"]["not_found"], 1);
    assert_eq!(s["items_skipped"]["unsupported_format"], 1);
    assert_eq!(s["findings"]["credit_card"], 1);
    assert_eq!(s["findings"]["aws_access_key_id"], 1);
    assert_eq!(s["findings_total"], 2);
    assert!(s["bytes"].as_u64().unwrap() > 40);
    assert!(s["elapsed_s"].as_f64().is_some());
    // The per-file breakdown: files with findings or skips, and only those.
    let a = format!("{}/a.txt", dir.display());
    let blob = format!("{}/blob.bin", dir.display());
    let by_file = s["by_file"].as_object().unwrap();
    assert_eq!(by_file.len(), 3, "{by_file:?}");
    assert_eq!(by_file[&a]["findings"], 2);
    assert_eq!(by_file[&a]["file_type"], "text");
    assert_eq!(by_file[&blob]["skipped"], 1);
    assert_eq!(by_file["no-such-file.txt"]["skipped"], 1);
    assert!(
        run.stderr
            .contains(&format!("dlp: files with findings: 1; most: {a} (2)")),
        "{}",
        run.stderr
    );

    let clean = dlp(&[
        "scan",
        "-q",
        dir.join("clean.txt").to_str().unwrap(),
        "--fail-on-findings",
    ]);
    assert_eq!(clean.code, 0);
    assert!(clean.stdout.is_empty());
    // Findings without --fail-on-findings are a success.
    assert_eq!(dlp(&["scan", "-q", dir.to_str().unwrap()]).code, 0);
    // The rest of the batch was scanned, and the run fails on findings without the missing path.
    assert!(run.stdout.contains("a.txt:1: credit_card"));
    let found = dlp(&["scan", "-q", dir.to_str().unwrap(), "--fail-on-findings"]);
    assert_eq!(found.code, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn skips_are_told_on_stderr_and_can_fail_the_run() {
    let encrypted = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/extract/tests/fixtures/office97/planted-encrypted.doc"
    );
    let dir = temp_dir("fail-on-skips");
    let blob = write(&dir, "blob.bin", b"\x7fELF\0\0\0\x01\x02");
    let blob = blob.to_str().unwrap();
    // Without a flag, a line per skipped file says why and what to do; the run succeeds.
    let run = dlp(&["scan", encrypted, blob]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("dlp: skipped ")
            && run.stderr.contains("planted-encrypted.doc")
            && run.stderr.contains("(encrypted); it is password-protected"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("blob.bin") && run.stderr.contains("(unsupported_format)"));
    assert!(run.stdout.is_empty(), "skips go to stderr: {}", run.stdout);
    // --quiet says nothing.
    let quiet = dlp(&["scan", "-q", encrypted, blob]);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
    // --fail-on-skips, and the finer --fail-on skipped:REASON.
    assert_eq!(dlp(&["scan", "-q", "--fail-on-skips", encrypted]).code, 1);
    assert_eq!(dlp(&["scan", "-q", "--fail-on-skips", blob]).code, 1);
    assert_eq!(
        dlp(&["scan", "-q", "--fail-on", "skipped:encrypted", blob]).code,
        0
    );
    assert_eq!(
        dlp(&[
            "scan",
            "-q",
            "--fail-on",
            "skipped:encrypted",
            encrypted,
            blob
        ])
        .code,
        1
    );
    // A type filtered out on purpose is not a failure of --fail-on-skips.
    assert_eq!(
        dlp(&["scan", "-q", "--fail-on-skips", "--file-types", "pdf", blob]).code,
        0
    );
    let bad = dlp(&["scan", "--fail-on", "skipped:nonsense", blob]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("not a skip reason") && bad.stderr.contains("encrypted"),
        "{}",
        bad.stderr
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn skipped_items_are_listed_when_asked() {
    let dir = temp_dir("skipped");
    write(&dir, "blob.bin", b"\x7fELF\0\0\0\x01\x02");
    write(&dir, "big.txt", &vec![b'x'; 5000]);
    let run = dlp(&[
        "scan",
        "--format",
        "jsonl",
        "--report-skipped",
        "--max-file-size",
        "1KB",
        "-q",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0);
    let mut reasons: Vec<String> = run
        .json_lines()
        .iter()
        .map(|r| {
            assert_eq!(r["record"], "skipped");
            r["reason"].as_str().unwrap().to_string()
        })
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["too_large", "unsupported_format"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_rule_file_is_a_clear_usage_error() {
    let dir = temp_dir("rules");
    let rules = write(
        &dir,
        "rules.toml",
        b"[[rule]]\nid = \"emp\"\npattern = 'EMP-[0-9'\n",
    );
    let run = dlp(&["scan", "--rules", rules.to_str().unwrap(), "fixtures/docs"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("rules.toml: rule `emp`: invalid pattern"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    let missing = dlp(&["scan", "--rules", "no-such-rules.toml", "fixtures/docs"]);
    assert_eq!(missing.code, 2);
    assert!(missing
        .stderr
        .contains("cannot read rule file no-such-rules.toml"));

    let unknown = dlp(&["scan", "--detectors", "credit_card,nope", "fixtures/docs"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("unknown detector id(s): nope"));

    assert_eq!(dlp(&["scan", "--format", "xml", "fixtures/docs"]).code, 2);

    // A good rule file works, and its rules are listed by `dlp detectors`.
    let good = write(
        &dir,
        "good.toml",
        b"[[rule]]\nid = \"emp\"\npattern = 'EMP-[0-9]{6}'\nconfidence = \"high\"\n",
    );
    let run = dlp_with_stdin(
        &[
            "scan",
            "-",
            "--rules",
            good.to_str().unwrap(),
            "--format",
            "jsonl",
            "-q",
        ],
        Some(b"staff EMP-123456 and 4111111111111111"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ids: Vec<String> = run
        .json_lines()
        .iter()
        .map(|r| r["detector"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["emp", "credit_card"]);
    let listed = dlp(&[
        "detectors",
        "--format",
        "json",
        "--rules",
        good.to_str().unwrap(),
    ]);
    let list: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    for id in ["credit_card", "us_ssn", "iban", "private_key", "jwt", "emp"] {
        assert!(ids.contains(&id), "{id}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stdin_documents_are_extracted() {
    let docx = std::fs::read("fixtures/docs/sample.docx").unwrap();
    let run = dlp_with_stdin(&["scan", "-", "--format", "jsonl", "-q"], Some(&docx));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 6);
    assert!(lines.iter().all(|r| r["path"] == "-"));
}

#[test]
fn file_type_filter_applies_to_archive_members() {
    let run = dlp(&[
        "scan",
        "--format",
        "jsonl",
        "-q",
        "--report-skipped",
        "--file-types",
        "xlsx",
        "fixtures/docs/sample.zip",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.json_lines();
    let findings: Vec<_> = lines.iter().filter(|r| r["record"] == "finding").collect();
    assert_eq!(findings.len(), 4);
    assert!(findings.iter().all(|r| r["member"] == "report.xlsx"));
    let skipped: Vec<_> = lines.iter().filter(|r| r["record"] == "skipped").collect();
    assert!(!skipped.is_empty());
    assert!(skipped.iter().all(|r| r["reason"] == "filtered_type"));
    let bad = dlp(&["scan", "--file-types", "pdff", "fixtures/docs"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("pdff"), "{}", bad.stderr);
}

#[test]
fn extract_prints_what_the_detectors_see() {
    let run = dlp(&["extract", "fixtures/docs/sample.pdf"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("==> (top level) @ page 1 <=="),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("jane.doe@example.com"));
    let types = dlp(&["extract", "--list-types"]);
    assert!(types.stdout.lines().any(|l| l == "docx"));
}

/// The whole public corpus of real, often damaged documents: exit 0, and every file accounted
/// for as scanned or skipped with a reason.
#[test]
fn corpus_scan_accounts_for_every_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !root.is_dir() {
        eprintln!("{} not found: skipped", root.display());
        return;
    }
    let files = walk_files(&root);
    let dir = temp_dir("corpus");
    let summary = dir.join("summary.json");
    let run = dlp(&[
        "scan",
        "--format",
        "jsonl",
        "--report-skipped",
        "-q",
        "--summary",
        summary.to_str().unwrap(),
        root.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["files"].as_u64().unwrap(), files as u64);
    // Every top-level file is either among the scanned items or skipped at the top level.
    let top_level_skips = run
        .json_lines()
        .iter()
        .filter(|r| r["record"] == "skipped" && r["member"].is_null())
        .count() as u64;
    assert!(s["items_scanned"].as_u64().unwrap() + top_level_skips >= files as u64);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn walk_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let t = entry.file_type().unwrap();
        if t.is_dir() {
            n += walk_files(&entry.path());
        } else if t.is_file() {
            n += 1;
        }
    }
    n
}

/// A stream with many findings is written as it is read (in parts of 4,096 findings): every
/// finding arrives once, in order, and the summary counts each once and the input as one file.
#[test]
fn a_stream_with_many_findings_is_written_in_parts_and_counted_once() {
    let mut input = Vec::new();
    for i in 0..10_000 {
        input.extend_from_slice(format!("row {i} key AKIAIOSFODNN7EXAMPLE\n").as_bytes());
    }
    let dir = temp_dir("stream-parts");
    let summary = dir.join("summary.json");
    let run = dlp_with_stdin(
        &[
            "scan",
            "-",
            "-q",
            "--format",
            "jsonl",
            "--summary",
            summary.to_str().unwrap(),
        ],
        Some(&input),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<u64> = run
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["line"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(lines, (1..=10_000).collect::<Vec<u64>>());
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["files"], 1);
    assert_eq!(s["findings_total"], 10_000);
    assert_eq!(s["findings"]["aws_access_key_id"], 10_000);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Fingerprints are keyed by default: the same value gives the same fingerprint under the
/// installation's key (created 0600 on first use), another under another key, and plain SHA-256
/// only when asked.
#[test]
fn fingerprints_are_keyed_by_default() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("dlp-fp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ssn.txt");
    std::fs::write(&file, "ssn 536-22-8813\n").unwrap();
    let path = file.to_str().unwrap();
    let fingerprint = |extra: &[&str]| -> String {
        let mut args = vec!["scan", "--format", "jsonl", "-q"];
        args.extend_from_slice(extra);
        args.push(path);
        let run = dlp(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json_lines()[0]["fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let keyed = fingerprint(&[]);
    assert_eq!(fingerprint(&[]), keyed, "one installation, one key");
    let key_file = crate::util::test_home().join("fingerprint.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // SHA-256 of the digits: what anyone can compute from a guess.
    let plain = fingerprint(&["--plain-fingerprints"]);
    let sha: String = {
        use sha2::Digest;
        sha2::Sha256::digest(b"536228813")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(plain, sha);
    assert_ne!(keyed, plain);
    let other = dir.join("other.key");
    std::fs::write(&other, "ab".repeat(32)).unwrap();
    let other_fp = fingerprint(&["--fingerprint-key-file", other.to_str().unwrap()]);
    assert_ne!(other_fp, keyed);
    assert_eq!(
        fingerprint(&["--fingerprint-key-file", other.to_str().unwrap()]),
        other_fp
    );
    std::fs::write(&other, "short").unwrap();
    let bad = dlp(&[
        "scan",
        "--fingerprint-key-file",
        other.to_str().unwrap(),
        path,
    ]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("64 hexadecimal digits"),
        "{}",
        bad.stderr
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A baseline accepts the findings it records, and only those; `[[allow]]` entries accept
/// values, patterns and paths; accepted findings are counted, not reported.
#[test]
fn baselines_and_allow_entries_accept_known_findings() {
    let dir = std::env::temp_dir().join(format!("dlp-allow-{}", std::process::id()));
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("a.txt"),
        "card 4111 1111 1111 1111\nkey AKIAIOSFODNN7EXAMPLE\n",
    )
    .unwrap();
    std::fs::write(docs.join("fixtures.txt"), "ssn 536-22-8813\n").unwrap();
    let baseline = dir.join("baseline.json");
    let docs_arg = docs.to_str().unwrap();
    let summary = dir.join("summary.json");
    let run = dlp(&[
        "scan",
        "--format",
        "jsonl",
        "-q",
        "--write-baseline",
        baseline.to_str().unwrap(),
        docs_arg,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json_lines().len(), 3);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(written["findings"].as_array().unwrap().len(), 3);
    assert!(!std::fs::read_to_string(&baseline)
        .unwrap()
        .contains("4111 1111 1111 1111"));

    // A new finding beside the accepted ones is the only one reported.
    std::fs::write(docs.join("b.txt"), "card 5555 5555 5555 4444\n").unwrap();
    let run = dlp(&[
        "scan",
        "--format",
        "jsonl",
        "-q",
        "--baseline",
        baseline.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
        docs_arg,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let found = run.json_lines();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0]["path"].as_str().unwrap().ends_with("b.txt"));
    let totals: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(totals["findings_total"], 1);
    assert_eq!(totals["findings_allowed"], 3);

    // Allow entries in a rule file: a value (in any grouping), a pattern, a path.
    let rules = dir.join("allow.toml");
    std::fs::write(
        &rules,
        r#"
[[allow]]
description = "the documentation's test card"
detectors = ["credit_card"]
values = ["4111-1111-1111-1111"]

[[allow]]
patterns = ['AKIA[A-Z0-9]{9}EXAMPLE']

[[allow]]
paths = ["**/fixtures.txt"]
"#,
    )
    .unwrap();
    let run = dlp(&[
        "scan",
        "--format",
        "jsonl",
        "-q",
        "--rules",
        rules.to_str().unwrap(),
        docs_arg,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let left: Vec<String> = run
        .json_lines()
        .iter()
        .map(|f| f["masked"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["5555 **** **** 4444"]);
    std::fs::write(&rules, "[[allow]]\ndescription = \"nothing\"\n").unwrap();
    let bad = dlp(&["scan", "--rules", rules.to_str().unwrap(), docs_arg]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("says nothing to allow"),
        "{}",
        bad.stderr
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn ignore_files_and_globs_choose_what_is_scanned_and_count_the_rest() {
    let dir = temp_dir("select");
    let card = b"card 4111 1111 1111 1111\n";
    for path in [
        ".git/config",
        "secret.env",
        "keep.env",
        "src/a.txt",
        "node_modules/x/b.txt",
        "logs/c.txt",
        ".hidden.txt",
        "sub/data.csv",
        "sub/ok.txt",
        "sub/deeper/d.csv",
    ] {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, card).unwrap();
    }
    write(&dir, ".gitignore", b"secret.env\nlogs/\n*.env\n!keep.env\n");
    write(&dir.join("sub"), ".dlpignore", b"*.csv\n");
    let found = |extra: &[&str]| -> (Vec<String>, serde_json::Value) {
        // Beside the scanned directory, not in it.
        let summary = dir.with_extension("summary.json");
        let mut args = vec![
            "scan",
            "--format",
            "jsonl",
            "-q",
            "--summary",
            summary.to_str().unwrap(),
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let run = dlp(&args);
        assert_eq!(run.code, 0, "{extra:?}: {}", run.stderr);
        let mut paths: Vec<String> = run
            .json_lines()
            .iter()
            .filter(|r| r["record"] == "finding")
            .map(|r| {
                let p = r["path"].as_str().unwrap();
                p[dir.to_str().unwrap().len() + 1..].to_string()
            })
            .collect();
        paths.sort();
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        (paths, summary)
    };
    // By default: ignore files honoured (nested ones too, negations too), .git left out,
    // hidden files scanned; each left-out path counted.
    let (paths, summary) = found(&[]);
    assert_eq!(
        paths,
        [
            ".hidden.txt",
            "keep.env",
            "node_modules/x/b.txt",
            "src/a.txt",
            "sub/ok.txt"
        ]
    );
    // .git, secret.env, logs/, sub/data.csv, sub/deeper/d.csv
    assert_eq!(summary["items_skipped"]["excluded"], 5, "{summary}");
    // Each says why, with --report-skipped.
    let run = dlp(&[
        "scan",
        "--format",
        "jsonl",
        "-q",
        "--report-skipped",
        dir.to_str().unwrap(),
    ]);
    let details: Vec<String> = run
        .json_lines()
        .iter()
        .filter(|r| r["reason"] == "excluded")
        .map(|r| format!("{} {}", r["path"], r["detail"]))
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains("secret.env") && d.contains(".gitignore")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains("d.csv") && d.contains(".dlpignore")),
        "{details:?}"
    );
    assert!(details
        .iter()
        .any(|d| d.contains(".git\"") && d.contains("version-control")));
    // --no-ignore: everything.
    let (paths, summary) = found(&["--no-ignore"]);
    assert_eq!(paths.len(), 10, "{paths:?}");
    assert!(
        summary["items_skipped"].get("excluded").is_none(),
        "{summary}"
    );
    // Globs and hidden files.
    let (paths, _) = found(&["--exclude", "node_modules", "--no-hidden"]);
    assert_eq!(paths, ["keep.env", "src/a.txt", "sub/ok.txt"]);
    let (paths, _) = found(&["--include", "*.txt", "--exclude", "src/**"]);
    assert_eq!(paths, [".hidden.txt", "node_modules/x/b.txt", "sub/ok.txt"]);
    // A file given by name is scanned whatever the ignore files say.
    let direct = dlp(&["scan", "-q", dir.join("secret.env").to_str().unwrap()]);
    assert!(direct.stdout.contains("credit_card"), "{}", direct.stdout);
    // A bad glob stops the run before anything is scanned, naming it.
    let bad = dlp(&["scan", dir.to_str().unwrap(), "--exclude", "[oops"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stdout.is_empty());
    assert!(
        bad.stderr.contains("[oops") && bad.stderr.contains("glob"),
        "{}",
        bad.stderr
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sorted_csv_json_and_colour_outputs_agree() {
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/docs");
    let dir = temp_dir("formats");
    write(&dir, "a,b \"quoted\".txt", b"=card 4111 1111 1111 1111\n");
    let dir_s = dir.to_str().unwrap();
    let jsonl = |extra: &[&str]| {
        let mut args = vec!["scan", "-q", "--threads", "2", docs, dir_s];
        args.extend_from_slice(extra);
        let run = dlp(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    // --sort path: the same bytes on every run, in path order; the same records as unsorted.
    let sorted = jsonl(&["--json", "--sort", "path"]);
    assert_eq!(sorted, jsonl(&["--format", "jsonl", "--sort", "path"]));
    let records: Vec<serde_json::Value> = sorted
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records.len() > 20, "{}", records.len());
    let keys: Vec<(String, String, u64)> = records
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["member"].as_str().unwrap_or("").to_string(),
                r["start"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut in_order = keys.clone();
    in_order.sort();
    assert_eq!(keys, in_order, "sorted by path, member, position");
    let mut unsorted: Vec<String> = jsonl(&["--json"]).lines().map(str::to_string).collect();
    let mut again: Vec<String> = sorted.lines().map(str::to_string).collect();
    unsorted.sort();
    again.sort();
    assert_eq!(unsorted, again);
    // CSV, read back by a CSV reader: a header, then the same findings, field for field.
    let csv = jsonl(&["--format", "csv", "--sort", "path"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header.join(","),
        "record,path,member,line,column,location,detector,category,confidence,masked,fingerprint,ocr,start,end,reason,detail"
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), records.len());
    for (row, record) in rows.iter().zip(&records) {
        let field = |name: &str| &row[header.iter().position(|h| h == name).unwrap()];
        assert_eq!(field("record"), "finding");
        for name in [
            "member",
            "location",
            "detector",
            "category",
            "confidence",
            "masked",
            "fingerprint",
        ] {
            assert_eq!(field(name), record[name].as_str().unwrap_or(""), "{name}");
        }
        for name in ["line", "column", "start", "end"] {
            assert_eq!(field(name), record[name].to_string(), "{name}");
        }
        // Paths as they are, but a leading formula character is defused.
        let path = record["path"].as_str().unwrap();
        assert!(field("path") == path || field("path") == format!("'{path}"));
    }
    assert!(
        rows.iter().any(|r| r[1].ends_with("a,b \"quoted\".txt")),
        "a name with a comma and quotes is one field"
    );
    assert!(
        !csv.contains(",=card")
            && !csv
                .lines()
                .any(|l| l.split(',').any(|f| f.starts_with('='))),
        "no field starts a formula"
    );
    // Colours only when asked (or on a terminal).
    let plain = jsonl(&["--sort", "path"]);
    assert!(!plain.contains('\x1b'));
    let coloured = jsonl(&["--sort", "path", "--color", "always"]);
    assert!(coloured.contains("\x1b[35m") && coloured.contains("\x1b[1;31m"));
    let stripped = strip_ansi(&coloured);
    assert_eq!(stripped, plain);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The text without its ANSI colour sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn redact_masks_every_value_scan_finds_and_keeps_the_rest() {
    let dir = temp_dir("redact");
    let text = "Dear team,\ncard 4111 1111 1111 1111, mail jane.doe@example.com\n\
                key AKIAIOSFODNN7EXAMPLE, iban DE89 3704 0044 0532 0130 00.\nünïcode stays.\n";
    let input = write(&dir, "in.txt", text.as_bytes());
    let input = input.to_str().unwrap();
    let found = dlp(&["scan", "--json", "-q", input]);
    let values: Vec<(usize, usize)> = found
        .json_lines()
        .iter()
        .map(|r| {
            (
                r["start"].as_u64().unwrap() as usize,
                r["end"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert!(values.len() >= 4, "{}", found.stdout);
    for with in ["masked", "stars", "label"] {
        let out = dir.join(format!("out-{with}.txt"));
        let run = dlp(&["redact", input, "--with", with, "-o", out.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{} values masked", values.len())),
            "{}",
            run.stderr
        );
        let copy = std::fs::read_to_string(&out).unwrap();
        for &(start, end) in &values {
            assert!(!copy.contains(&text[start..end]), "{with}: {copy}");
        }
        assert!(copy.starts_with("Dear team,\ncard ") && copy.ends_with("ünïcode stays.\n"));
        // Nothing left for the scanner to find.
        let again = dlp(&["scan", "--json", "-q", out.to_str().unwrap()]);
        let left: Vec<_> = again
            .json_lines()
            .iter()
            .filter(|r| r["detector"] != "email" || with != "masked")
            .cloned()
            .collect();
        assert!(left.is_empty(), "{with}: {left:?}");
        if with == "stars" {
            assert_eq!(
                copy.chars().count(),
                text.chars().count(),
                "stars keep the layout"
            );
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Standard input to standard output.
    let piped = crate::util::dlp_with_stdin(
        &["redact", "-", "-q", "--with", "label"],
        Some(text.as_bytes()),
    );
    assert_eq!(piped.code, 0);
    assert!(
        piped.stdout.contains("card <credit_card>, mail <email>"),
        "{}",
        piped.stdout
    );
    // Not text, or the input as output: refused, saying why.
    let binary = write(&dir, "b.bin", b"\x00\x01\x02PK");
    let bad = dlp(&["redact", binary.to_str().unwrap()]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("not a UTF-8 text file"),
        "{}",
        bad.stderr
    );
    let same = dlp(&["redact", input, "-o", input]);
    assert_eq!(same.code, 2);
    assert!(same.stderr.contains("is the input"), "{}", same.stderr);
    assert_eq!(std::fs::read_to_string(input).unwrap(), text);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_configuration_file_in_the_directory_sets_options_and_flags_win() {
    let dir = temp_dir("config-file");
    let card = b"card 4111 1111 1111 1111\nmail jane.doe@example.com\n";
    write(&dir, "a.txt", card);
    write(&dir, "b.log", card);
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    write(
        &dir.join("rules"),
        "codes.toml",
        b"[[rule]]\nid = \"project_code\"\ndescription = \"project code\"\npattern = 'PRJ-[0-9]{4}'\n",
    );
    write(&dir, "c.txt", b"code PRJ-1234\n");
    write(
        &dir,
        ".dlp.toml",
        b"exclude = [\"*.log\"]\nformat = \"jsonl\"\nexclude-detectors = [\"email\"]\n\
          rules = [\"rules/codes.toml\"]\nfail-on = [\"findings\"]\nmax-file-size = \"1MB\"\n",
    );
    let path = dir.to_str().unwrap();
    let run = dlp(&["scan", path]);
    assert_eq!(
        run.code, 1,
        "fail-on findings from the file: {}",
        run.stderr
    );
    assert!(run.stderr.contains("options from"), "{}", run.stderr);
    let mut detectors: Vec<String> = run
        .json_lines()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["path"].as_str().unwrap().rsplit('/').next().unwrap(),
                r["detector"]
            )
        })
        .collect();
    detectors.sort();
    assert_eq!(
        detectors,
        ["a.txt \"credit_card\"", "c.txt \"project_code\""],
        "rules relative to the file, the log excluded, email left out"
    );
    // A flag given wins over the file; --no-config ignores it.
    let human = dlp(&["scan", path, "--format", "human"]);
    assert!(
        human.stdout.contains("a.txt:1: credit_card"),
        "{}",
        human.stdout
    );
    let plain = dlp(&["scan", "-q", path, "--no-config"]);
    assert_eq!(plain.code, 0);
    assert!(plain.stdout.contains("b.log") && plain.stdout.contains("email"));
    // A key that is not a flag, or a bad value, is an error naming the file and the key.
    write(&dir, ".dlp.toml", b"exclude-files = [\"x\"]\n");
    let bad = dlp(&["scan", path]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains(".dlp.toml") && bad.stderr.contains("exclude-files"),
        "{}",
        bad.stderr
    );
    write(&dir, ".dlp.toml", b"min-confidence = \"very\"\n");
    let bad = dlp(&["scan", path]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("min-confidence"), "{}", bad.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The SARIF 2.1.0 schema, as serde-sarif (a dev-dependency) ships it.
fn sarif_schema() -> serde_json::Value {
    // The dependency graph of this platform only: offline, cargo has the packages the build
    // downloaded, not those of other platforms' dependencies (`anstyle-wincon`).
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .unwrap();
    let version = String::from_utf8(version.stdout).unwrap();
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names its host");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "serde-sarif")
        .expect("serde-sarif in the dependency graph")["manifest_path"]
        .as_str()
        .unwrap()
        .to_string();
    let path = std::path::Path::new(&manifest).with_file_name("src/schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    );
    schema
}

#[test]
fn sarif_is_valid_against_its_schema_and_locates_findings() {
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/docs");
    let dir = temp_dir("sarif");
    let text = "first line\n  ünï key AKIAIOSFODNN7EXAMPLE\nmail bob@example.com\n";
    write(&dir, "notes with space.txt", text.as_bytes());
    write(&dir, "broken.zip", b"PK\x03\x04 this is no archive at all");
    let dir_s = dir.to_str().unwrap();
    let run = dlp(&["scan", "--format", "sarif", "-q", docs, dir_s]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let schema = sarif_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // (The validator does refuse what the schema forbids.)
    let mut bad = log.clone();
    bad["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(!validator.is_valid(&bad));
    // A typed SARIF reader takes it too.
    let typed: serde_sarif::sarif::Sarif = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(typed.runs.len(), 1);

    let run0 = &log["runs"][0];
    assert_eq!(run0["columnKind"], "unicodeCodePoints");
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run0["results"].as_array().unwrap();
    // The same findings as the JSON lines, by path, detector and fingerprint.
    let jsonl = dlp(&["scan", "--json", "-q", docs, dir_s]);
    let mut want: Vec<(String, String, String)> = jsonl
        .json_lines()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["detector"].as_str().unwrap().to_string(),
                r["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let decode = |uri: &str| uri.replace("%20", " ").replace("%C3%BC", "ü");
    let mut got: Vec<(String, String, String)> = results
        .iter()
        .map(|r| {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            (
                decode(uri.strip_prefix("file://").unwrap_or(uri)),
                r["ruleId"].as_str().unwrap().to_string(),
                r["partialFingerprints"]["dlpFingerprint/v1"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    for r in results {
        // Every result names its rule, and the rule says what it finds.
        let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"]);
        assert!(!rule["fullDescription"]["text"].as_str().unwrap().is_empty());
        let level = r["level"].as_str().unwrap();
        let confidence = r["properties"]["confidence"].as_str().unwrap();
        assert_eq!(
            level,
            match confidence {
                "high" => "error",
                "medium" => "warning",
                _ => "note",
            }
        );
        // The preview, never the value.
        assert!(!r["message"]["text"]
            .as_str()
            .unwrap()
            .contains("AKIAIOSFODNN7EXAMPLE"));
    }
    // A text file's finding has a region: line, column in characters, and the file's bytes.
    let key = results
        .iter()
        .find(|r| {
            r["ruleId"] == "aws_access_key_id"
                && r["locations"][0]
                    .to_string()
                    .contains("notes%20with%20space.txt")
        })
        .expect("the key in the text file");
    let region = &key["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 2);
    assert_eq!(region["startColumn"], 11, "{region}");
    let offset = region["byteOffset"].as_u64().unwrap() as usize;
    let length = region["byteLength"].as_u64().unwrap() as usize;
    assert_eq!(
        &text.as_bytes()[offset..offset + length],
        b"AKIAIOSFODNN7EXAMPLE"
    );
    // A finding in a document's extracted text has none: its offsets are not the file's.
    let in_pdf = results
        .iter()
        .find(|r| r["locations"][0].to_string().contains("sample.pdf"))
        .expect("a finding in the PDF");
    assert!(in_pdf["locations"][0]["physicalLocation"]
        .get("region")
        .is_none());
    assert!(in_pdf["message"]["text"]
        .as_str()
        .unwrap()
        .contains("page "));
    // The file that could not be read is a notification of the run.
    let notes = run0["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(
        notes.iter().any(|n| n["descriptor"]["id"] == "broken_file"
            && n["locations"][0].to_string().contains("broken.zip")),
        "{notes:#?}"
    );
    assert_eq!(run0["invocations"][0]["executionSuccessful"], true);
    // A missing path fails the invocation (and the exit status says so).
    let missing = dlp(&["scan", "--format", "sarif", "-q", dir_s, "/no/such/path"]);
    assert_eq!(missing.code, 2);
    let log: serde_json::Value = serde_json::from_str(&missing.stdout).unwrap();
    assert!(validator.is_valid(&log));
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
