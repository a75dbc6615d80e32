//! Running the built `dlp` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The result of one run of `dlp`.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON lines of standard output.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }
}

/// A `dlp` home for this test process.
pub fn test_home() -> PathBuf {
    std::env::temp_dir().join(format!("dlp-test-home-{}", std::process::id()))
}

pub fn dlp(args: &[&str]) -> Run {
    dlp_with_stdin(args, None)
}

pub fn dlp_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    dlp_with(args, stdin, &[])
}

/// `dlp` with `env` set and no other `AWS_*` variable of the test's environment.
pub fn dlp_with_env(args: &[&str], env: &[(&str, String)]) -> Run {
    dlp_with(args, None, env)
}

fn dlp_with(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, String)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dlp"));
    if !env.is_empty() {
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(name);
            }
        }
        cmd.envs(env.iter().map(|(name, value)| (name, value)));
    }
    // dlp's home (the fingerprint key) in a directory of the tests, not the user's.
    cmd.env("DLP_HOME", test_home())
        .env_remove("DLP_FINGERPRINT_KEY");
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("dlp starts");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input).expect("write stdin");
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("dlp runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlp-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write");
    path
}
