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
