//! `dlp chatgpt connect|list|reauth|configure|pause|resume|delete`: the connector registry,
//! through the binary, against the simulator (started in this process). Every command's output
//! is searched for the API key, and so is every file of the registry but the key copy.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use dlp_connector::sim::{SimConfig, Simulator, WorkspaceSpec};
use dlp_connector::SystemClock;

use crate::util::{dlp_with_env, temp_dir, write, Run};

const KEY: &str = "sim-compliance-key";
const UNSCOPED_KEY: &str = "sim-unscoped-key";
const KEY_ENV: &str = "OPENAI_COMPLIANCE_API_KEY";

/// Runs `test` with a simulator of a small workspace on 127.0.0.1.
fn with_sim(test: impl FnOnce(&Simulator)) {
    with_sim_of(
        WorkspaceSpec {
            users: 3,
            ..Default::default()
        },
        test,
    );
}

/// Runs `test` with a simulator of the workspace `spec` on 127.0.0.1.
pub fn with_sim_of<T>(spec: WorkspaceSpec, test: impl FnOnce(&Simulator) -> T) -> T {
    let runtime = dlp_connector::runtime().unwrap();
    let config = SimConfig {
        spec,
        ..Default::default()
    };
    let sim = runtime
        .block_on(Simulator::start(config, SystemClock::shared()))
        .unwrap();
    let result = test(&sim);
    drop(sim);
    result
}

/// `dlp chatgpt ARGS --home HOME`, with the key (if any) in the environment; no output of it
/// may contain a key.
pub(crate) fn chatgpt(home: &Path, args: &[&str], env_key: Option<&str>) -> Run {
    let home = home.to_str().unwrap().to_string();
    let mut all = args.to_vec();
    all.extend_from_slice(&["--home", &home]);
    chatgpt_without_home(&all, env_key)
}

/// `dlp chatgpt ARGS`, for the commands that take no `--home`.
fn chatgpt_without_home(args: &[&str], env_key: Option<&str>) -> Run {
    let mut all = vec!["chatgpt"];
    all.extend_from_slice(args);
    let env: Vec<(&str, String)> = env_key
        .map(|k| vec![(KEY_ENV, k.to_string())])
        .unwrap_or_else(|| vec![(KEY_ENV, String::new())]);
    let run = dlp_with_env(&all, &env);
    for key in [KEY, UNSCOPED_KEY, "sim-rotated-key", "sk-wrong-key"] {
        assert!(
            !run.stdout.contains(key) && !run.stderr.contains(key),
            "{all:?} printed a key:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

pub(crate) fn ok(run: Run) -> Run {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

fn fails(run: Run, wants: &[&str]) -> Run {
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    for want in wants {
        assert!(
            run.stderr.contains(want),
            "{want:?} not in:\n{}",
            run.stderr
        );
    }
    run
}

fn list_json(home: &Path) -> Vec<serde_json::Value> {
    let run = ok(chatgpt(home, &["list", "--format", "json"], None));
    serde_json::from_str::<Vec<serde_json::Value>>(&run.stdout).unwrap()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if dir.is_dir() {
        for e in std::fs::read_dir(dir).unwrap() {
            out.extend(files_under(&e.unwrap().path()));
        }
    }
    out
}

/// Every directory of the registry is 0700 and every file 0600; no file but a key copy holds
/// a key.
fn assert_private_and_keyless(home: &Path) {
    let registry = home.join("chatgpt");
    assert!(registry.is_dir());
    for path in files_under(&registry) {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        if path.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            continue;
        }
        assert_eq!(mode, 0o600, "{}", path.display());
        if path.file_name().unwrap() == "api-key" {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for key in [KEY, UNSCOPED_KEY, "sim-rotated-key"] {
            assert!(!text.contains(key), "{} holds a key", path.display());
        }
    }
}

#[test]
fn chatgpt_connect_list_pause_resume_and_delete() {
    with_sim(|sim| {
        let dir = temp_dir("connectors-lifecycle");
        let home = dir.join("home");
        let key_file = write(&dir, "key", format!("{KEY}\n").as_bytes());
        let ws = sim.workspace_id().to_string();
        let base = sim.base_url();
        let key_path = key_file.to_str().unwrap();

        let run = ok(chatgpt(
            &home,
            &[
                "connect",
                "acme",
                "--workspace-id",
                &ws,
                "--base-url",
                &base,
                "--api-key-file",
                key_path,
            ],
            None,
        ));
        assert!(
            run.stdout.contains("connected acme: workspace"),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains(&format!(
            "read from {}",
            std::fs::canonicalize(&key_file).unwrap().display()
        )));
        let state = home.join("chatgpt/connectors/acme/state.db");
        assert!(state.exists());
        assert!(!home.join("chatgpt/connectors/acme/api-key").exists());

        // One connector per workspace, and names are unique.
        fails(
            chatgpt(
                &home,
                &[
                    "connect",
                    "other",
                    "--workspace-id",
                    &ws,
                    "--base-url",
                    &base,
                    "--api-key-file",
                    key_path,
                ],
                None,
            ),
            &["is connected already, as connector acme"],
        );
        fails(
            chatgpt(
                &home,
                &[
                    "connect",
                    "acme",
                    "--workspace-id",
                    "0c779c36-93f8-4501-8ed9-eeb4936de39d",
                    "--base-url",
                    &base,
                    "--api-key-file",
                    key_path,
                ],
                None,
            ),
            &["a connector named acme exists already"],
        );

        let run = ok(chatgpt(&home, &["list"], None));
        let line = run.stdout.lines().find(|l| l.starts_with("acme ")).unwrap();
        assert!(line.contains(&ws) && line.contains("connected"), "{line}");
        assert!(line.contains("never"), "no cycle yet: {line}");
        let list = list_json(&home);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["name"], "acme");
        assert_eq!(list[0]["status"], "connected");
        assert_eq!(list[0]["last_cycle"], serde_json::Value::Null);
        assert_eq!(list[0]["lag_secs"], serde_json::Value::Null);
        assert_eq!(list[0]["findings_24h"], 0);
        assert_eq!(list[0]["lost_windows"], serde_json::json!([]));

        let run = ok(chatgpt(&home, &["pause", "acme"], None));
        assert!(run.stdout.contains("paused acme"), "{}", run.stdout);
        assert_eq!(list_json(&home)[0]["status"], "paused");
        let run = ok(chatgpt(&home, &["list"], None));
        assert!(run
            .stdout
            .lines()
            .any(|l| l.starts_with("acme ") && l.contains("paused")));
        ok(chatgpt(&home, &["resume", "acme"], None));
        assert_eq!(list_json(&home)[0]["status"], "connected");
        fails(
            chatgpt(&home, &["pause", "nope"], None),
            &["no connector named \"nope\""],
        );

        // A second connector, its key from the environment: copied, 0600.
        ok(chatgpt(
            &home,
            &[
                "connect",
                "org",
                "--workspace-id",
                &format!("org-{}", &ws[..8]),
                "--base-url",
                &base,
            ],
            Some(KEY),
        ));
        let copy = home.join("chatgpt/connectors/org/api-key");
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), KEY);
        assert_private_and_keyless(&home);

        // Delete without purge: the files are kept, and the command says where.
        let run = ok(chatgpt(&home, &["delete", "acme"], None));
        assert!(
            run.stdout.contains("kept its state database"),
            "{}",
            run.stdout
        );
        let kept = home.join("chatgpt/deleted");
        let kept: Vec<_> = std::fs::read_dir(&kept)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(kept.len(), 1);
        assert!(run.stdout.contains(&kept[0].display().to_string()));
        assert!(kept[0].join("state.db").exists());
        assert!(
            key_file.exists(),
            "the operator's key file is never touched"
        );
        // With --purge: state, key copy and configuration are gone.
        let run = ok(chatgpt(&home, &["delete", "org", "--purge"], None));
        assert!(run.stdout.contains("deleted org"), "{}", run.stdout);
        assert!(!home.join("chatgpt/connectors/org").exists());
        assert!(list_json(&home).is_empty());
        let run = ok(chatgpt(&home, &["list"], None));
        assert!(run.stdout.contains("no connectors"), "{}", run.stdout);
        assert_private_and_keyless(&home);
    });
}

#[test]
fn chatgpt_connect_errors_say_what_to_fix() {
    with_sim(|sim| {
        let dir = temp_dir("connectors-errors");
        let home = dir.join("home");
        let ws = sim.workspace_id().to_string();
        let base = sim.base_url();
        let connect = |ws: &str, key: &Path| {
            chatgpt(
                &home,
                &[
                    "connect",
                    "acme",
                    "--workspace-id",
                    ws,
                    "--base-url",
                    &base,
                    "--api-key-file",
                    key.to_str().unwrap(),
                ],
                None,
            )
        };
        let wrong = write(&dir, "wrong", b"sk-wrong-key\n");
        fails(connect(&ws, &wrong), &["401", "wrong or revoked"]);
        let unscoped = write(&dir, "unscoped", UNSCOPED_KEY.as_bytes());
        fails(
            connect(&ws, &unscoped),
            &[
                "403",
                "lacks the Compliance API read scope",
                "the workspace id is wrong",
                "api.compliance.read",
                "ask OpenAI",
            ],
        );
        let good = write(&dir, "good", KEY.as_bytes());
        // A malformed id is refused before any request.
        let requests = sim.requests().len();
        fails(
            connect("not-a-workspace", &good),
            &["invalid workspace id", "UUID", "admin settings"],
        );
        assert_eq!(sim.requests().len(), requests);
        // A well-formed id the key is not authorized for (a 403, as the contract says): both
        // possible causes are named.
        fails(
            connect("0c779c36-93f8-4501-8ed9-eeb4936de39d", &good),
            &[
                "403",
                "the workspace id is wrong",
                "lacks the Compliance API read scope",
            ],
        );
        // Key files that cannot hold a key: refused at once, never retried as server faults.
        let requests = sim.requests().len();
        let bom = write(&dir, "bom", format!("\u{feff}{KEY}\n").as_bytes());
        fails(connect(&ws, &bom), &["byte-order mark", "bom"]);
        let latin = write(&dir, "latin", b"sim-compliance-k\xe9y");
        fails(connect(&ws, &latin), &["non-ASCII byte at offset 16"]);
        let utf8 = write(&dir, "utf8", "sim-compliance-k\u{e9}y".as_bytes());
        fails(connect(&ws, &utf8), &["non-ASCII"]);
        let empty = write(&dir, "empty", b"\n");
        fails(connect(&ws, &empty), &["empty"]);
        let inner = write(&dir, "inner", b"sim-compliance key");
        fails(connect(&ws, &inner), &["whitespace"]);
        assert_eq!(sim.requests().len(), requests);
        // The same check for every command that reads a key.
        fails(
            chatgpt_without_home(
                &[
                    "scan",
                    "--workspace-id",
                    &ws,
                    "--base-url",
                    &base,
                    "--api-key-file",
                    bom.to_str().unwrap(),
                    "--state",
                    dir.join("s.db").to_str().unwrap(),
                ],
                None,
            ),
            &["byte-order mark"],
        );
        assert_eq!(sim.requests().len(), requests);
        fails(
            chatgpt(
                &home,
                &[
                    "connect",
                    "acme",
                    "--workspace-id",
                    &ws,
                    "--base-url",
                    &base,
                ],
                None,
            ),
            &["empty"],
        );
        fails(
            connect(&ws, &dir.join("missing")),
            &["cannot read the API key file"],
        );
        // Nothing was saved.
        assert!(list_json(&home).is_empty());
    });
}

#[test]
fn chatgpt_configure_checks_the_config_before_saving_it() {
    with_sim(|sim| {
        let dir = temp_dir("connectors-configure");
        let home = dir.join("home");
        let ws = sim.workspace_id().to_string();
        let first = write(&dir, "first.toml", b"[scan]\noverlap_minutes = 15\n");
        ok(chatgpt(
            &home,
            &[
                "connect",
                "acme",
                "--workspace-id",
                &ws,
                "--base-url",
                &sim.base_url(),
                "--config",
                first.to_str().unwrap(),
            ],
            Some(KEY),
        ));
        let saved = home.join("chatgpt/connectors/acme/config.toml");
        assert_eq!(
            std::fs::read_to_string(&saved).unwrap(),
            "[scan]\noverlap_minutes = 15\n"
        );
        for (text, field) in [
            ("[scan]\nmax_days = 3\n", "max_days"),
            (
                "[scope.users]\nmode = \"email_regex\"\nemail_patterns = [\"(\"]\n",
                "email_patterns",
            ),
            ("[scan]\nfile_types = [\"md\"]\n", "scan.file_types"),
            ("[api]\nconcurrency = 0\n", "api.concurrency"),
        ] {
            let bad = write(&dir, "bad.toml", text.as_bytes());
            fails(
                chatgpt(
                    &home,
                    &["configure", "acme", "--config", bad.to_str().unwrap()],
                    None,
                ),
                &[field, "nothing changed"],
            );
            assert_eq!(
                std::fs::read_to_string(&saved).unwrap(),
                "[scan]\noverlap_minutes = 15\n"
            );
        }
        let good_text =
            "[scope.users]\nmode = \"email_regex\"\nemail_patterns = [\".*@example\\\\.com\"]\n";
        let good = write(&dir, "good.toml", good_text.as_bytes());
        let run = ok(chatgpt(
            &home,
            &["configure", "acme", "--config", good.to_str().unwrap()],
            None,
        ));
        assert!(run.stdout.contains("configured acme"), "{}", run.stdout);
        assert_eq!(std::fs::read_to_string(&saved).unwrap(), good_text);
        fails(
            chatgpt(
                &home,
                &["configure", "nope", "--config", good.to_str().unwrap()],
                None,
            ),
            &["no connector named"],
        );
        assert_private_and_keyless(&home);
    });
}

#[test]
fn chatgpt_reauth_swaps_the_key_and_keeps_the_state() {
    with_sim(|sim| {
        let dir = temp_dir("connectors-reauth");
        let home = dir.join("home");
        let ws = sim.workspace_id().to_string();
        let base = sim.base_url();
        ok(chatgpt(
            &home,
            &[
                "connect",
                "acme",
                "--workspace-id",
                &ws,
                "--base-url",
                &base,
            ],
            Some(KEY),
        ));
        let state = home.join("chatgpt/connectors/acme/state.db");
        // A scan into the connector's state: list then reads its cycle and records.
        ok(chatgpt_without_home(
            &[
                "scan",
                "--workspace-id",
                &ws,
                "--base-url",
                &base,
                "--days",
                "2",
                "--state",
                state.to_str().unwrap(),
                "--format",
                "jsonl",
            ],
            Some(KEY),
        ));
        let before = list_json(&home);
        assert_eq!(before[0]["last_cycle"]["mode"], "historical");
        assert!(
            before[0]["findings_24h"].as_u64().unwrap() > 0,
            "{}",
            before[0]
        );
        assert!(before[0]["lag_secs"].as_i64().is_some(), "{}", before[0]);
        let run = ok(chatgpt(&home, &["list"], None));
        let line = run.stdout.lines().find(|l| l.starts_with("acme ")).unwrap();
        assert!(line.contains("ago (historical)"), "{line}");

        // The key is rotated at the API: the old one now fails.
        sim.rotate_key("sim-rotated-key");
        let run = ok(chatgpt(&home, &["list", "--check"], None));
        assert!(run.stdout.contains("auth_failed"), "{}", run.stdout);
        assert!(run.stdout.contains("wrong or revoked"), "{}", run.stdout);
        assert_eq!(list_json(&home)[0]["status"], "auth_failed");
        // A new key that does not work is refused; the old one stays.
        let wrong = write(&dir, "wrong", b"sk-wrong-key");
        fails(
            chatgpt(
                &home,
                &["reauth", "acme", "--api-key-file", wrong.to_str().unwrap()],
                None,
            ),
            &["the old one is kept", "401"],
        );
        let copy = home.join("chatgpt/connectors/acme/api-key");
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), KEY);
        // The new key, from a file: checked, referred to by path, the copy deleted.
        let new_key = write(&dir, "new", b"sim-rotated-key\n");
        let run = ok(chatgpt(
            &home,
            &[
                "reauth",
                "acme",
                "--api-key-file",
                new_key.to_str().unwrap(),
            ],
            None,
        ));
        assert!(
            run.stdout.contains("reauthenticated acme"),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("state kept"), "{}", run.stdout);
        assert!(!copy.exists());
        let after = list_json(&home);
        assert_eq!(after[0]["status"], "connected");
        assert_eq!(after[0]["last_cycle"], before[0]["last_cycle"]);
        assert_eq!(after[0]["findings_total"], before[0]["findings_total"]);
        assert_eq!(after[0]["cursors"], before[0]["cursors"]);
        ok(chatgpt(&home, &["list", "--check"], None));
        assert_eq!(list_json(&home)[0]["status"], "connected");
        // The same key copied instead (--copy-key).
        ok(chatgpt(
            &home,
            &[
                "reauth",
                "acme",
                "--api-key-file",
                new_key.to_str().unwrap(),
                "--copy-key",
            ],
            None,
        ));
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), "sim-rotated-key");
        assert_eq!(list_json(&home)[0]["key"], "copy");
        assert_private_and_keyless(&home);
    });
}
