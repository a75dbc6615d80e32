//! `dlp detectors`: the list, its selection rules, and the README's generated table.

use crate::util::dlp;

/// The README's detector table is `dlp detectors --format markdown`, word for word.
#[test]
fn readme_detector_table_is_generated_from_the_data() {
    let run = dlp(&["detectors", "--format", "markdown"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = "<!-- detectors:start (generated: dlp detectors --format markdown) -->\n";
    let end = "<!-- detectors:end -->";
    let from = readme
        .find(start)
        .expect("README has the detectors:start marker")
        + start.len();
    let to = readme[from..]
        .find(end)
        .expect("README has the detectors:end marker")
        + from;
    let table = readme[from..to].trim();
    assert!(
        table == run.stdout.trim(),
        "the README's detector table is out of date: regenerate it with \
         `cargo run -q -- detectors --format markdown` between its markers"
    );
}

/// Every detector lists its id, category and (for national ones) country; selection by
/// category and country works and names what is unknown.
#[test]
fn detectors_are_listed_with_category_and_country_and_selected_by_them() {
    let run = dlp(&["detectors", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let list: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("JSON");
    let ssn = list
        .iter()
        .find(|d| d["id"] == "us_ssn")
        .expect("us_ssn listed");
    assert_eq!(ssn["category"], "pii");
    assert_eq!(ssn["country"], "US");
    let card = list
        .iter()
        .find(|d| d["id"] == "credit_card")
        .expect("credit_card");
    assert_eq!(card["category"], "financial");
    assert!(list
        .iter()
        .all(|d| d["confidence_rule"].as_str().is_some_and(|r| !r.is_empty())));

    let dir = std::env::temp_dir().join(format!("dlp-select-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mixed.txt");
    std::fs::write(
        &file,
        "card 4111 1111 1111 1111\nssn 536-22-8813\nkey AKIAIOSFODNN7EXAMPLE\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let detectors_of = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["scan", "--format", "jsonl", "-q"];
        all.extend_from_slice(args);
        all.push(path);
        let run = dlp(&all);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json_lines()
            .iter()
            .map(|f| f["detector"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(detectors_of(&["--detectors", "financial"]), ["credit_card"]);
    assert_eq!(detectors_of(&["--detectors", "country:US"]), ["us_ssn"]);
    assert_eq!(
        detectors_of(&["--exclude-detectors", "secret,financial"]),
        ["us_ssn"]
    );
    assert_eq!(
        detectors_of(&["--detectors", "secret,credit_card"]),
        ["credit_card", "aws_access_key_id"]
    );
    // The undelimited SSN form is medium: a high threshold leaves it out.
    std::fs::write(&file, "ssn 536-22-8813, SSN: 536228813\n").unwrap();
    assert_eq!(detectors_of(&[]), ["us_ssn", "us_ssn"]);
    assert_eq!(detectors_of(&["--min-confidence", "high"]), ["us_ssn"]);

    let bad = dlp(&["scan", "--detectors", "nope", path]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("unknown detector id(s): nope"),
        "{}",
        bad.stderr
    );
    let bad = dlp(&["scan", "--min-confidence", "sure", path]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("low, medium or high"), "{}", bad.stderr);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Without `--detectors`, the library runs (but the detectors that report at low confidence
/// only or mostly): a new user's scan finds the national ids and phone numbers of many
/// countries. `core` is the original set alone, which finds none of them.
#[test]
fn the_default_set_is_the_library_but_its_weakest_and_core_is_the_original_set() {
    let text = b"phone +1 (415) 555-2671, UK NINO AB123456C, Aadhaar 2345 6789 0124, \
                 BSN 111222333, codice fiscale RSSMRA85T10A562S, IP address: 8.8.4.4\n";
    let found = |args: &[&str]| -> std::collections::BTreeSet<String> {
        let run = crate::util::dlp_with_stdin(args, Some(text));
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
            .map(|v| v["detector"].as_str().expect("detector").to_string())
            .collect()
    };
    let by_default = found(&["scan", "--format", "jsonl", "-"]);
    let expected = [
        "in_aadhaar",
        "it_fiscal_code",
        "nl_bsn",
        "phone_number",
        "uk_nino",
    ];
    assert_eq!(
        by_default,
        expected.map(String::from).into(),
        "{by_default:?}"
    );
    // `ip_address` is left out of the default set (an IPv4 of a log line is a low finding)...
    let all = found(&["scan", "--format", "jsonl", "--detectors", "all", "-"]);
    assert!(all.contains("ip_address"), "{all:?}");
    // ... and the core set is the original detectors alone.
    let core = found(&["scan", "--format", "jsonl", "--detectors", "core", "-"]);
    assert!(core.is_empty(), "{core:?}");

    let run = dlp(&["detectors", "--format", "json"]);
    let list: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("JSON");
    let off: std::collections::BTreeSet<&str> = list
        .iter()
        .filter(|d| d["default"] == false)
        .map(|d| d["id"].as_str().expect("id"))
        .collect();
    let expected = [
        "generic_api_key",
        "icd10_code",
        "ip_address",
        "ndc_code",
        "uk_passport",
        "us_drivers_license",
        "us_passport",
    ];
    assert_eq!(off, expected.into(), "{off:?}");
    assert_eq!(list.len() - off.len(), 156);
}
