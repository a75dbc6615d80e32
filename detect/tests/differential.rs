//! The differential test of dlp's identifier checks against the reference implementations
//! (python-stdnum, phonenumbers). `.ci/differential` writes the cases, each labelled by the
//! reference library (phonenumbers at the libphonenumber release whose metadata the
//! `phonenumber` crate embeds), and runs this test on them:
//!
//! ```text
//! DLP_DIFFERENTIAL_CASES=cases.jsonl cargo test -p dlp-detect --test differential -- --ignored --nocapture
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::str::FromStr;

use dlp_detect::Validator;

/// Checks whose dlp side may not exist yet; their cases are skipped (and listed) until it does.
/// Every other check, phone numbers included, must agree with its reference on every case.
const MAY_BE_MISSING: &[&str] = &[];

/// Disagreements printed per check (all are counted).
const SHOWN: usize = 40;

#[derive(Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    /// (value, reference's verdict, source)
    disagreements: Vec<(String, bool, String)>,
}

#[test]
#[ignore = "needs the cases file from .ci/differential"]
fn checks_agree_with_reference_implementations() {
    let path = std::env::var("DLP_DIFFERENTIAL_CASES").unwrap_or_default();
    assert!(
        !path.is_empty(),
        "set DLP_DIFFERENTIAL_CASES to the JSON-lines file that .ci/differential.py writes"
    );
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read DLP_DIFFERENTIAL_CASES={path}: {e}"));
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown: BTreeMap<String, usize> = BTreeMap::new();
    let mut cases = 0;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{path}:{}: not JSON: {e}", n + 1));
        let field = |name: &str| {
            case.get(name)
                .unwrap_or_else(|| panic!("{path}:{}: no `{name}`", n + 1))
        };
        let check = field("check")
            .as_str()
            .expect("check is a string")
            .to_string();
        let value = field("value")
            .as_str()
            .expect("value is a string")
            .to_string();
        let valid = field("valid").as_bool().expect("valid is a boolean");
        let source = case
            .get("source")
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string();
        cases += 1;
        let Ok(validator) = Validator::from_str(&check) else {
            let list = if MAY_BE_MISSING.contains(&check.as_str()) {
                &mut skipped
            } else {
                &mut unknown
            };
            *list.entry(check).or_default() += 1;
            continue;
        };
        let tally = tallies.entry(check).or_default();
        if valid {
            tally.valid += 1;
        } else {
            tally.invalid += 1;
        }
        if validator.accepts(value.as_bytes()) != valid {
            tally.disagreements.push((value, valid, source));
        }
    }
    assert!(cases > 0, "{path} holds no cases");

    let mut failed = 0;
    println!(
        "{:<26} {:>6} {:>8} {:>9}",
        "check", "valid", "invalid", "disagree"
    );
    for (check, tally) in &tallies {
        println!(
            "{check:<26} {:>6} {:>8} {:>9}",
            tally.valid,
            tally.invalid,
            tally.disagreements.len()
        );
        for (value, valid, source) in tally.disagreements.iter().take(SHOWN) {
            let (reference, dlp) = if *valid {
                ("valid", "rejects")
            } else {
                ("invalid", "accepts")
            };
            println!("    {value:?}: {source} says {reference}, dlp {dlp}");
        }
        if tally.disagreements.len() > SHOWN {
            println!("    ... and {} more", tally.disagreements.len() - SHOWN);
        }
        failed += tally.disagreements.len();
    }
    for (check, n) in &skipped {
        println!("skipped {n} cases of `{check}`: dlp has no such check yet");
    }
    assert!(
        unknown.is_empty(),
        "cases name checks dlp does not know: {unknown:?}"
    );
    assert_eq!(
        failed, 0,
        "{failed} disagreements with the reference implementations"
    );
}
