//! `dlp report`: the HTML report of JSONL records from `dlp scan` and from the connector,
//! read back from the JSON document the page embeds. (The page in a browser: `.ci/browser`.)

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use dlp_connector::sim::WorkspaceSpec;

use crate::chatgpt_connectors::ok;
use crate::util::{dlp, dlp_with_stdin, temp_dir, write, Run};

const DATA_OPEN: &str = "<script type=\"application/json\" id=\"report-data\">";

/// The report's data, parsed back from the page.
fn embedded(html: &str) -> serde_json::Value {
    let start = html.find(DATA_OPEN).expect("the data element") + DATA_OPEN.len();
    let end = start + html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..end]).expect("the data is JSON")
}

/// `dlp report ARGS`, its page read back.
fn report(args: &[&str], out: &Path) -> (Run, serde_json::Value) {
    let mut all = vec!["report", "-o", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = ok(dlp(&all));
    let html = std::fs::read_to_string(out).unwrap();
    (run, embedded(&html))
}

fn records(jsonl: &str) -> Vec<serde_json::Value> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A chart's or top list's bars as (label, count).
fn bars(value: &serde_json::Value) -> BTreeMap<String, u64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["label"].as_str().unwrap().to_string(),
                b["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn count_by(records: &[&serde_json::Value], field: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for r in records {
        if let Some(v) = r[field].as_str() {
            *counts.entry(v.to_string()).or_default() += 1;
        }
    }
    counts
}

#[test]
fn report_of_the_fixtures_counts_what_the_scan_wrote() {
    let dir = temp_dir("report-fixtures");
    // A damaged PDF and a missing path add skipped records to the fixtures' findings.
    write(&dir, "broken.pdf", b"%PDF-1.4\n1 0 obj garbage");
    let missing = dir.join("missing.txt");
    let summary = dir.join("summary.json");
    let scan = dlp(&[
        "scan",
        "fixtures/docs",
        dir.join("broken.pdf").to_str().unwrap(),
        missing.to_str().unwrap(),
        "--format",
        "jsonl",
        "--report-skipped",
        "--quiet",
        "--summary",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(scan.code, 2, "the missing path: {}", scan.stderr);
    let jsonl = write(&dir, "scan.jsonl", scan.stdout.as_bytes());
    let lines = records(&scan.stdout);
    let findings: Vec<_> = lines.iter().filter(|r| r["record"] == "finding").collect();
    let skipped: Vec<_> = lines.iter().filter(|r| r["record"] == "skipped").collect();
    assert!(findings.len() > 50 && skipped.len() == 2);

    let out = dir.join("report.html");
    let (run, data) = report(&[jsonl.to_str().unwrap(), summary.to_str().unwrap()], &out);
    assert!(
        run.stderr.contains(&format!("{} findings", findings.len())),
        "{}",
        run.stderr
    );
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the report is its owner's only");

    let totals = &data["totals"];
    assert_eq!(totals["findings"], findings.len());
    assert_eq!(totals["scan_findings"], findings.len());
    assert_eq!(totals["connector_findings"], 0);
    assert_eq!(totals["skipped"], skipped.len());
    let paths: BTreeSet<_> = findings.iter().map(|f| f["path"].as_str()).collect();
    assert_eq!(totals["sources_with_findings"], paths.len());
    let values: BTreeSet<_> = findings.iter().map(|f| f["fingerprint"].as_str()).collect();
    assert_eq!(totals["distinct_values"], values.len());
    let by_confidence = bars(&totals["by_confidence"]);
    assert_eq!(by_confidence["low"], 0);
    let mut want_confidence = count_by(&findings, "confidence");
    want_confidence.insert("low".into(), 0);
    assert_eq!(by_confidence, want_confidence);

    let charts = &data["charts"];
    assert_eq!(bars(&charts["detector"]), count_by(&findings, "detector"));
    assert_eq!(bars(&charts["category"]), count_by(&findings, "category"));
    assert_eq!(bars(&charts["skip_reason"]), count_by(&skipped, "reason"));
    assert_eq!(
        bars(&charts["skip_reason"]),
        BTreeMap::from([("broken_file".into(), 1), ("not_found".into(), 1)])
    );
    let types = bars(&charts["file_type"]);
    assert_eq!(types.values().sum::<u64>(), findings.len() as u64);
    // Members name the type: the .eml's attached .docx counts as docx.
    let in_members = findings
        .iter()
        .filter(|f| f["member"].as_str().is_some_and(|m| m.ends_with(".docx")))
        .count() as u64;
    let in_files = findings
        .iter()
        .filter(|f| f["member"].is_null() && f["path"].as_str().unwrap().ends_with(".docx"))
        .count() as u64;
    assert_eq!(types["docx"], in_members + in_files);
    assert!(charts["time"].is_null(), "scan records have no timestamps");

    let top_files = bars(&data["top"]["sources"]);
    let by_path = count_by(&findings, "path");
    for (path, n) in &top_files {
        assert_eq!(by_path[path], *n, "{path}");
    }
    assert!(data["top"]["users"].as_array().unwrap().is_empty());

    let summary = &data["scan_summary"];
    assert_eq!(summary["findings_total"], findings.len());
    assert_eq!(summary["items_skipped"]["not_found"], 1);

    let table = &data["table"];
    assert_eq!(table["rows"].as_array().unwrap().len(), findings.len());
    assert_eq!(table["total"], findings.len());
    let present: BTreeSet<_> = table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["present"] == true)
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    for key in [
        "source", "member", "line", "detector", "masked", "value", "kind",
    ] {
        assert!(present.contains(key), "{key}");
    }
    for key in ["user", "gpt", "time", "connector"] {
        assert!(!present.contains(key), "{key}");
    }
    assert_eq!(data["problems"]["not_understood"], 0);
}

#[test]
fn connector_records_give_users_gpts_and_a_timeline() {
    let dir = temp_dir("report-connector");
    // The demo's records, and the same kind of records exported from a connector's state.
    let demo = ok(dlp(&["chatgpt", "demo", "--format", "jsonl"]));
    let exported = connector_state_export(&dir);
    assert!(exported
        .lines()
        .next()
        .unwrap()
        .starts_with("{\"connector\":\"ws\","));
    let stdin = format!("{}{exported}", demo.stdout);
    let out = dir.join("report.html");
    let run = ok(dlp_with_stdin(
        &[
            "report",
            "-",
            "-o",
            out.to_str().unwrap(),
            "--title",
            "ChatGPT",
        ],
        Some(stdin.as_bytes()),
    ));
    let data = embedded(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(data["title"], "ChatGPT");
    assert!(run.stderr.contains("findings"), "{}", run.stderr);

    let lines = records(&stdin);
    let findings: Vec<_> = lines.iter().filter(|r| r["record"] == "finding").collect();
    let skipped: Vec<_> = lines.iter().filter(|r| r["record"] == "skipped").collect();
    assert_eq!(data["totals"]["connector_findings"], findings.len());
    assert_eq!(data["totals"]["skipped"], skipped.len());

    let users = count_by(&findings, "user_email");
    let mut top_users: Vec<(String, u64)> = users.into_iter().collect();
    top_users.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top_users.truncate(10);
    let got_users: Vec<(String, u64)> = data["top"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["label"].as_str().unwrap().into(),
                b["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got_users, top_users);

    // GPTs by id; the two workspaces have GPTs of the same names, which then carry their ids.
    let mut gpts: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
    for f in &findings {
        if let Some(id) = f["gpt_id"].as_str() {
            gpts.entry(id)
                .or_insert((f["gpt_name"].as_str().unwrap(), 0))
                .1 += 1;
        }
    }
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, _) in gpts.values() {
        *names.entry(name).or_default() += 1;
    }
    let want_gpts: BTreeMap<String, u64> = gpts
        .iter()
        .map(|(id, (name, n))| match names[name] {
            1 => (name.to_string(), *n),
            _ => (format!("{name} ({id})"), *n),
        })
        .collect();
    assert!(want_gpts.len() >= 2 && want_gpts.len() <= 10);
    assert_eq!(bars(&data["top"]["gpts"]), want_gpts);
    let kinds = bars(&data["charts"]["file_type"]);
    let items = count_by(&findings, "item");
    assert_eq!(kinds.get("chat message"), items.get("message"));
    assert_eq!(kinds.get("file upload"), items.get("conversation_file"));
    assert_eq!(kinds.get("GPT knowledge file"), items.get("gpt_file"));
    assert_eq!(kinds.get("tool call (app log)"), items.get("app_log"));
    assert_eq!(
        bars(&data["charts"]["skip_reason"]),
        count_by(&skipped, "reason")
    );

    // Findings in messages, uploads and tool calls have the event's time, knowledge files
    // none: the days from the first to the last finding hold those that have one.
    let time = &data["charts"]["time"];
    assert_eq!(time["unit"], "day");
    let stamped: Vec<_> = findings
        .iter()
        .filter(|f| f["timestamp"].is_string())
        .collect();
    assert!(findings
        .iter()
        .all(|f| f["timestamp"].is_string() || f["item"] == "gpt_file"));
    assert_eq!(
        data["charts"]["without_timestamp"],
        findings.len() - stamped.len()
    );
    let buckets = bars(&time["buckets"]);
    assert_eq!(buckets.values().sum::<u64>(), stamped.len() as u64);
    let mut days: BTreeMap<String, u64> = BTreeMap::new();
    for f in &stamped {
        *days
            .entry(f["timestamp"].as_str().unwrap()[..10].to_string())
            .or_default() += 1;
    }
    for (day, n) in &days {
        assert_eq!(buckets[day], *n, "{day}");
    }
    assert_eq!(buckets.keys().next(), days.keys().next());
    assert_eq!(buckets.keys().last(), days.keys().last());
    // The exported records name their connector.
    assert!(bars(&data["top"]["connectors"]).contains_key("ws"));
}

/// `dlp chatgpt run --once` of one connector against a small simulated workspace, then
/// `dlp chatgpt findings NAME --skipped`: the records a connector's state keeps.
fn connector_state_export(dir: &Path) -> String {
    let spec = WorkspaceSpec {
        users: 3,
        seed: 42,
        ..Default::default()
    };
    crate::chatgpt_connectors::with_sim_of(spec, |sim| {
        let home = dir.join("home");
        let key = write(dir, "ws.key", b"sim-compliance-key");
        let chatgpt = |args: &[&str]| crate::chatgpt_connectors::chatgpt(&home, args, None);
        ok(chatgpt(&[
            "connect",
            "ws",
            "--workspace-id",
            sim.workspace_id(),
            "--base-url",
            &sim.base_url(),
            "--api-key-file",
            key.to_str().unwrap(),
        ]));
        ok(chatgpt(&["run", "--once", "--format", "jsonl"]));
        let export = ok(chatgpt(&["findings", "ws", "--skipped"]));
        assert!(!export.stdout.is_empty());
        export.stdout
    })
}

#[test]
fn lines_that_are_not_records_are_counted_and_an_empty_input_is_a_report() {
    let dir = temp_dir("report-bad-lines");
    let input = concat!(
        r#"{"record":"finding","path":"a.txt","detector":"email","category":"pii","confidence":"medium","masked":"a***@example.com","fingerprint":"ab"}"#,
        "\nnot json at all\n\n[1]\n",
        r#"{"record":"progress","done":3}"#,
        "\n{\"record\":\"finding\"}\n"
    );
    let out = dir.join("bad.html");
    let run = ok(dlp_with_stdin(
        &["report", "-o", out.to_str().unwrap()],
        Some(input.as_bytes()),
    ));
    assert!(
        run.stderr.contains("dlp: report: - line 2: not JSON")
            && run.stderr.contains("3 lines not understood"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 records of other types ignored"),
        "{}",
        run.stderr
    );
    let data = embedded(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(data["totals"]["findings"], 1);
    assert_eq!(data["problems"]["not_understood"], 3);
    assert_eq!(data["problems"]["unknown_records"]["progress"], 1);
    assert_eq!(data["inputs"][0]["name"], "-");

    // An empty input (and a blank one) is a report that says there is nothing.
    let empty = write(&dir, "empty.jsonl", b"");
    let blank = write(&dir, "blank.jsonl", b"\n\n");
    let (_, data) = report(
        &[empty.to_str().unwrap(), blank.to_str().unwrap()],
        &dir.join("empty.html"),
    );
    assert_eq!(data["totals"]["findings"], 0);
    assert_eq!(data["totals"]["skipped"], 0);
    assert_eq!(data["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(data["problems"]["not_understood"], 0);
    assert!(data["table"]["rows"].as_array().unwrap().is_empty());
    assert!(data["charts"]["time"].is_null());
}

#[test]
fn a_missing_input_or_the_input_as_output_is_an_error() {
    let dir = temp_dir("report-errors");
    let good = write(&dir, "good.jsonl", b"");
    let missing = dir.join("no-such-file.jsonl");
    let out = dir.join("report.html");
    let run = dlp(&[
        "report",
        good.to_str().unwrap(),
        missing.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("cannot read {}", missing.display())),
        "{}",
        run.stderr
    );
    assert!(!out.exists(), "no report from a missing input");

    let run = dlp(&["report", dir.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is a directory"), "{}", run.stderr);

    let input = write(
        &dir,
        "in.jsonl",
        b"{\"record\":\"finding\",\"detector\":\"x\"}\n",
    );
    let run = dlp(&[
        "report",
        input.to_str().unwrap(),
        "-o",
        input.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is an input"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(&input).unwrap(),
        b"{\"record\":\"finding\",\"detector\":\"x\"}\n"
    );
}

#[test]
fn hostile_strings_in_records_stay_text() {
    let dir = temp_dir("report-hostile");
    let hostile = "</script><img src=x onerror=alert(1)><script>alert(2)</script>";
    let finding = serde_json::json!({
        "record": "finding", "path": hostile, "member": hostile, "detector": hostile,
        "category": hostile, "confidence": hostile, "line": 3, "location": hostile,
        "masked": hostile, "fingerprint": hostile, "user_email": hostile, "gpt_id": hostile,
        "gpt_name": hostile, "timestamp": "2026-10-01T10:00:00Z", "item": "message",
        "conversation_title": hostile,
    });
    let skip = serde_json::json!({"record": "skipped", "path": hostile, "reason": hostile, "detail": hostile});
    let input = write(
        &dir,
        "hostile.jsonl",
        format!("{finding}\n{skip}\n").as_bytes(),
    );
    let out = dir.join("hostile.html");
    let (_, data) = report(&[input.to_str().unwrap(), "--title", hostile], &out);
    let html = std::fs::read_to_string(&out).unwrap();
    assert_eq!(html.matches("</script>").count(), 2, "only the page's own");
    assert_eq!(html.matches("<script").count(), 2);
    assert!(!html.contains("<img"));
    assert_eq!(data["title"], hostile);
    assert_eq!(data["charts"]["detector"][0]["label"], hostile);
    assert_eq!(data["top"]["users"][0]["label"], hostile);
    assert_eq!(data["skipped"][0]["detail"], hostile);
}

#[test]
fn a_hundred_thousand_findings_make_a_bounded_report() {
    let dir = temp_dir("report-large");
    let mut input = String::new();
    let n = 100_000;
    for i in 0..n {
        let line = if i % 2 == 0 {
            let detector = [
                "credit_card",
                "email",
                "us_ssn",
                "iban",
                "aws_access_key_id",
            ][i % 5];
            let category = ["financial", "pii", "pii", "financial", "secret"][i % 5];
            let extension = ["pdf", "docx", "txt", "csv"][i % 4];
            serde_json::json!({
                "record": "finding",
                "path": format!("/data/share/dept{}/file{}.{extension}", i % 37, i % 5000),
                "member": null, "detector": detector, "category": category,
                "confidence": (["high", "medium"][(i / 2) % 2]), "start": 10, "end": 29,
                "line": i % 400 + 1, "location": null,
                "masked": format!("4111 **** **** {:04}", i % 10_000),
                "fingerprint": format!("{:064x}", i % 30_000), "ocr": false,
            })
        } else {
            serde_json::json!({
                "record": "finding", "detector": "email", "category": "pii",
                "confidence": "medium", "item": "message", "workspace_id": "ws",
                "conversation_id": format!("conv-{}", i % 3000),
                "conversation_title": format!("thread {}", i % 3000),
                "user_email": format!("user{}@example.com", i % 200),
                "gpt_id": null, "gpt_name": null,
                "timestamp": format!("2026-10-{:02}T{:02}:00:00Z", (i / 2) % 28 + 1, i % 24),
                "location": null, "start": 1, "end": 2, "line": 1,
                "masked": "u***@example.com", "fingerprint": format!("{:064x}", i % 1000),
            })
        };
        input.push_str(&line.to_string());
        input.push('\n');
    }
    let jsonl = write(&dir, "large.jsonl", input.as_bytes());
    let out = dir.join("large.html");
    let started = std::time::Instant::now();
    let (_, data) = report(&[jsonl.to_str().unwrap()], &out);
    let elapsed = started.elapsed();
    let size = std::fs::metadata(&out).unwrap().len();
    eprintln!(
        "100,000 findings ({:.1} MB of JSONL): report of {:.1} MB in {:.2} s (debug build)",
        input.len() as f64 / 1e6,
        size as f64 / 1e6,
        elapsed.as_secs_f64()
    );
    assert_eq!(data["totals"]["findings"], n);
    assert_eq!(data["table"]["rows"].as_array().unwrap().len(), n);
    assert_eq!(data["top"]["users"].as_array().unwrap().len(), 10);
    assert_eq!(
        data["charts"]["time"]["buckets"].as_array().unwrap().len(),
        28
    );
    // The table's strings are written once each: far smaller than the JSONL.
    assert!(size < input.len() as u64 / 3, "{size} bytes");

    // Over --max-rows, the table holds the first rows and everything is still counted.
    let (run, data) = report(
        &[jsonl.to_str().unwrap(), "--max-rows", "1000"],
        &dir.join("capped.html"),
    );
    assert!(
        run.stderr.contains("the table holds the first 1000"),
        "{}",
        run.stderr
    );
    assert_eq!(data["table"]["rows"].as_array().unwrap().len(), 1000);
    assert_eq!(data["table"]["total"], n);
    assert_eq!(
        bars(&data["charts"]["detector"]).values().sum::<u64>(),
        n as u64
    );
}
