//! `dlp chatgpt`: the connector against its simulator, through the binary.

use crate::util::dlp;

#[test]
fn demo_finds_every_planted_value() {
    let run = dlp(&["chatgpt", "demo", "--format", "jsonl"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(" 0 missed, 0 findings not planted"),
        "{}",
        run.stderr
    );
    let lines = run.json_lines();
    let findings: Vec<_> = lines.iter().filter(|r| r["record"] == "finding").collect();
    assert!(findings.len() > 100);
    for f in &findings {
        for field in [
            "detector",
            "item",
            "workspace_id",
            "conversation_id",
            "user_email",
            "masked",
            "fingerprint",
            "timestamp",
        ] {
            assert!(f.get(field).is_some(), "{field} missing in {f}");
        }
    }
    // API keys never appear in the output.
    assert!(
        !run.stdout.contains("sim-compliance-key") && !run.stderr.contains("sim-compliance-key")
    );
}

#[test]
fn the_key_is_never_taken_from_the_command_line() {
    let run = dlp(&[
        "chatgpt",
        "scan",
        "--workspace-id",
        "ws",
        "--api-key",
        "secret-value",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unexpected argument '--api-key'"),
        "{}",
        run.stderr
    );
}
