//! `dlp scan s3://bucket/prefix` against moto's S3 server (`DLP_TEST_MOTO_SERVER`; `bash
//! .ci/test` installs it): the same findings as a scan of the same files on disk, skips with
//! their reasons, and clear errors for bad URLs and missing credentials.

use std::collections::BTreeSet;

use dlp_store::{MotoServer, ObjectUrl, Store};

use crate::util::{dlp, dlp_with_env, temp_dir, write};

fn moto() -> MotoServer {
    MotoServer::start().unwrap_or_else(|e| panic!("{e}"))
}

/// A finding as both scans must agree on it: file name, member, detector, span, line,
/// location, fingerprint.
type Key = (String, String, String, u64, u64, u64, String, String);

fn findings(records: &[serde_json::Value], prefix: &str) -> BTreeSet<Key> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    records
        .iter()
        .filter(|r| r["record"] == "finding")
        .map(|r| {
            let path = r["path"].as_str().unwrap();
            let name = path
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{path} is not under {prefix}"));
            (
                name.to_string(),
                s(&r["member"]),
                s(&r["detector"]),
                r["start"].as_u64().unwrap(),
                r["end"].as_u64().unwrap(),
                r["line"].as_u64().unwrap(),
                s(&r["location"]),
                s(&r["fingerprint"]),
            )
        })
        .collect()
}

fn skips(records: &[serde_json::Value], prefix: &str) -> BTreeSet<(String, String, String)> {
    records
        .iter()
        .filter(|r| r["record"] == "skipped")
        .map(|r| {
            let path = r["path"].as_str().unwrap();
            (
                path.strip_prefix(prefix).unwrap_or(path).to_string(),
                r["member"].as_str().unwrap_or("-").to_string(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn objects_have_the_findings_of_the_same_files_on_disk() {
    let moto = moto();
    moto.create_bucket("evidence").unwrap();
    let store =
        Store::open_with(&ObjectUrl::parse("s3://evidence/").unwrap(), &moto.config()).unwrap();
    let dir = temp_dir("s3-same-as-disk");
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "notes.txt",
            b"customer card 4111 1111 1111 1111, ssn 536-22-8813\n".to_vec(),
        ),
        (
            "sample.pdf",
            std::fs::read("fixtures/docs/sample.pdf").unwrap(),
        ),
        (
            "sample.zip",
            std::fs::read("fixtures/docs/sample.zip").unwrap(),
        ),
        (
            "nested/sample.docx",
            std::fs::read("fixtures/docs/sample.docx").unwrap(),
        ),
        // Over --max-file-size: skipped, not downloaded.
        ("oversize.txt", b"4111 1111 1111 1111\n".repeat(60_000)),
    ];
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    for (name, data) in &files {
        write(&dir, name, data);
        store.put(&format!("batch/{name}"), data.clone()).unwrap();
    }
    // Outside the prefix: not scanned.
    store
        .put("batch-2/other.txt", "4111 1111 1111 1111")
        .unwrap();

    let args = [
        "--format",
        "jsonl",
        "--report-skipped",
        "--max-file-size",
        "1MB",
        "--threads",
        "2",
    ];
    let local_dir = format!("{}/", dir.display());
    let mut local_args = vec!["scan", local_dir.as_str()];
    local_args.extend(args);
    let local = dlp(&local_args);
    assert_eq!(local.code, 0, "{}", local.stderr);
    let mut s3_args = vec!["scan", "s3://evidence/batch"];
    s3_args.extend(args);
    let remote = dlp_with_env(&s3_args, &moto.env());
    assert_eq!(remote.code, 0, "{}", remote.stderr);

    let (local, remote) = (local.json_lines(), remote.json_lines());
    let want = findings(&local, &local_dir);
    let got = findings(&remote, "s3://evidence/batch/");
    let files_found: BTreeSet<&str> = want.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(
        files_found,
        BTreeSet::from([
            "notes.txt",
            "nested/sample.docx",
            "sample.pdf",
            "sample.zip"
        ]),
        "the local scan finds something in every file but the oversize one"
    );
    assert!(want.len() >= 12, "{want:#?}");
    assert_eq!(got, want);
    let too_large = BTreeSet::from([(
        "oversize.txt".to_string(),
        "-".to_string(),
        "too_large".to_string(),
    )]);
    assert_eq!(skips(&local, &local_dir), too_large);
    assert_eq!(skips(&remote, "s3://evidence/batch/"), too_large);
    let skip = remote.iter().find(|r| r["record"] == "skipped").unwrap();
    assert_eq!(skip["path"], "s3://evidence/batch/oversize.txt");
    assert!(
        skip["detail"].as_str().unwrap().contains("not downloaded"),
        "{skip}"
    );
}

#[test]
fn objects_and_local_files_in_one_scan_with_skips_and_summary() {
    let moto = moto();
    moto.create_bucket("mixed").unwrap();
    let store =
        Store::open_with(&ObjectUrl::parse("s3://mixed/").unwrap(), &moto.config()).unwrap();
    store
        .put("one/card.txt", "card 4111 1111 1111 1111\n")
        .unwrap();
    store.put("one/empty.txt", "").unwrap();
    let dir = temp_dir("s3-mixed");
    let local = write(&dir, "key.txt", b"AKIAIOSFODNN7EXAMPLE\n");
    let summary = dir.join("summary.json");
    let run = dlp_with_env(
        &[
            "scan",
            local.to_str().unwrap(),
            "s3://mixed/one/",
            "s3://mixed/one/card.txt",
            "s3://mixed/none",
            "s3://missing-bucket/x",
            "--format",
            "jsonl",
            "--summary",
            summary.to_str().unwrap(),
        ],
        &moto.env(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.json_lines();
    let paths: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), r["detector"].as_str().unwrap()))
        .collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths.contains(&(local.to_str().unwrap(), "aws_access_key_id")));
    assert_eq!(
        paths
            .iter()
            .filter(|p| **p == ("s3://mixed/one/card.txt", "credit_card"))
            .count(),
        2,
        "listed twice, scanned twice: {paths:?}"
    );
    // Without --report-skipped, what could not be read is said on standard error.
    assert!(
        run.stderr
            .contains("s3://mixed/none: no object at or under this URL (not_found)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("bucket `missing-bucket` does not exist"),
        "{}",
        run.stderr
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    // The local file, two objects under one/, card.txt again, and the two skipped URLs.
    assert_eq!(summary["files"], 6, "{summary}");
    assert_eq!(summary["items_skipped"]["not_found"], 2, "{summary}");
    assert_eq!(summary["findings_total"], 3, "{summary}");
}

#[test]
fn bad_urls_and_missing_credentials_are_usage_errors() {
    let run = dlp(&["scan", "s3:/bucket/x", "fixtures/docs/sample.csv"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`s3:/bucket/x` is not an object URL: use s3://BUCKET/PREFIX"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "nothing is scanned: {}", run.stdout);

    let run = dlp_with_env(
        &["scan", "s3://bucket/x"],
        &[("AWS_EC2_METADATA_DISABLED", "true".to_string())],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{}",
        run.stderr
    );
}
