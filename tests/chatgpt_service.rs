//! `dlp chatgpt run` (the connector service) and `dlp chatgpt findings`, through the binary,
//! against simulators started in this process.
//!
//! The fleet test is the service's proof: 20 simulated workspaces whose activity arrives over
//! three simulated days (an hour a second), some with faults, one whose key is rotated and
//! re-authenticated mid-way, one whose key loses its scope; the service is killed with SIGKILL
//! several times at random moments. Every planted value must be found once, no workspace may
//! see more requests in a minute than its limits, and `list` must tell each connector's status.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dlp_connector::sim::{SimConfig, Simulator, WorkspaceSpec};
use dlp_connector::{ItemKind, ScaledClock, SystemClock};

use crate::chatgpt_connectors::ok;
use crate::util::{temp_dir, test_home, write, Run};

const KEY: &str = "sim-compliance-key";

/// `dlp chatgpt ARGS --home HOME` with no key in the environment (the connectors' key files
/// are used); no output may contain a key.
fn chatgpt(home: &Path, args: &[&str]) -> Run {
    crate::chatgpt_connectors::chatgpt(home, args, None)
}

/// Registers connector `name` for `sim` with a key file holding `key`.
fn connect(home: &Path, dir: &Path, name: &str, sim: &Simulator, key: &str, config: &str) {
    let key_file = write(dir, &format!("{name}.key"), key.as_bytes());
    let config_file = write(dir, &format!("{name}.toml"), config.as_bytes());
    ok(chatgpt(
        home,
        &[
            "connect",
            name,
            "--workspace-id",
            sim.workspace_id(),
            "--base-url",
            &sim.base_url(),
            "--api-key-file",
            key_file.to_str().unwrap(),
            "--config",
            config_file.to_str().unwrap(),
        ],
    ));
}

/// The (item, detector) pairs a workspace's planted values must be found as, for the activity
/// published by `until`; whole-file skips excuse their files.
fn expected(
    sim: &Simulator,
    until: time::OffsetDateTime,
    skipped_files: &BTreeSet<String>,
) -> BTreeSet<(String, String)> {
    let ws = sim.workspace();
    let events = ws.events_in_files(until - time::Duration::days(30), until);
    ws.planted
        .iter()
        .filter(|p| {
            p.item == ItemKind::GptFile || p.event_id.as_ref().is_some_and(|e| events.contains(e))
        })
        .filter(|p| {
            !p.file_id
                .as_ref()
                .is_some_and(|f| skipped_files.contains(f))
        })
        .map(|p| {
            let item = match p.item {
                ItemKind::Message | ItemKind::AppLog => p.event_id.clone(),
                _ => p.file_id.clone(),
            };
            (item.unwrap_or_default(), p.detector.clone())
        })
        .collect()
}

/// The (item, detector) pairs of findings, and the files skipped whole.
fn found(records: &[serde_json::Value]) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let mut found = BTreeSet::new();
    let mut skipped = BTreeSet::new();
    for r in records {
        match r["record"].as_str() {
            Some("finding") => {
                let item = match r["item"].as_str() {
                    Some("message" | "app_log") => r["event_id"].as_str(),
                    _ => r["file_id"].as_str(),
                };
                found.insert((
                    item.unwrap_or_default().to_string(),
                    r["detector"].as_str().unwrap_or_default().to_string(),
                ));
            }
            Some("skipped") if r["member"].is_null() => {
                if let Some(id) = r["file_id"].as_str() {
                    skipped.insert(id.to_string());
                }
            }
            _ => {}
        }
    }
    (found, skipped)
}

/// Every record the JSONL sink wrote for connector `name`, oldest file first. `lenient` skips
/// a line being written.
fn output_records(out: &Path, name: &str, lenient: bool) -> Vec<serde_json::Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("{name}.jsonl")))
    });
    files.sort_by_key(|p| {
        let n = p
            .extension()
            .and_then(|e| e.to_str())
            .and_then(|e| e.parse::<u32>().ok());
        std::cmp::Reverse(n.unwrap_or(0))
    });
    if lenient {
        files
            .iter()
            .flat_map(|f| {
                std::fs::read_to_string(f)
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect::<Vec<_>>()
            })
            .collect()
    } else {
        files.iter().flat_map(|f| json_lines(f)).collect()
    }
}

/// The planted values of `sim`'s whole activity that `records` do not report.
fn missing(sim: &Simulator, records: &[serde_json::Value]) -> Vec<(String, String)> {
    let (got, skipped) = found(records);
    let until = sim
        .workspace()
        .log_files
        .iter()
        .map(|f| f.end_time)
        .max()
        .unwrap_or_else(time::OffsetDateTime::now_utc);
    expected(sim, until, &skipped)
        .difference(&got)
        .cloned()
        .collect()
}

fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

#[test]
fn run_once_scans_every_connector_and_findings_reexports_them() {
    let runtime = dlp_connector::runtime().unwrap();
    let dir = temp_dir("service-once");
    let home = dir.join("home");
    let sims: Vec<Simulator> = (0..2)
        .map(|i| {
            let config = SimConfig {
                spec: WorkspaceSpec {
                    seed: 100 + i,
                    users: 3,
                    ..Default::default()
                },
                ..Default::default()
            };
            runtime
                .block_on(Simulator::start(config, SystemClock::shared()))
                .unwrap()
        })
        .collect();
    for (i, sim) in sims.iter().enumerate() {
        connect(&home, &dir, &format!("ws{i}"), sim, KEY, "");
    }
    let run = ok(chatgpt(&home, &["run", "--once", "--format", "jsonl"]));
    let records: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        run.stderr.contains("ws0: historical scan"),
        "{}",
        run.stderr
    );
    let now = time::OffsetDateTime::now_utc();
    for (i, sim) in sims.iter().enumerate() {
        let name = format!("ws{i}");
        let mine: Vec<serde_json::Value> = records
            .iter()
            .filter(|r| r["connector"] == name.as_str())
            .cloned()
            .collect();
        assert!(mine.iter().all(|r| r["workspace_id"] == sim.workspace_id()));
        let (got, skipped) = found(&mine);
        let want = expected(sim, now, &skipped);
        assert!(!want.is_empty());
        let missed: Vec<_> = want.difference(&got).collect();
        assert!(missed.is_empty(), "{name} missed {missed:?}");
        // The state keeps them: the export equals the output.
        let export = ok(chatgpt(&home, &["findings", &name, "--skipped"]));
        let exported: Vec<serde_json::Value> = export
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            exported, mine,
            "{name}: export differs from the run's output"
        );
        let csv = ok(chatgpt(
            &home,
            &["findings", &name, "--format", "csv", "--since", "1h"],
        ));
        let findings = mine.iter().filter(|r| r["record"] == "finding").count();
        assert_eq!(csv.stdout.lines().count(), findings + 1, "{}", csv.stdout);
        assert!(csv.stdout.starts_with("connector,record_id,detector,"));
        let future = ok(chatgpt(
            &home,
            &["findings", &name, "--since", "2999-01-01T00:00:00Z"],
        ));
        assert!(future.stdout.is_empty());
    }
    // A second run is a forward cycle that finds nothing new.
    let again = ok(chatgpt(&home, &["run", "--once", "--format", "jsonl"]));
    assert!(again.stdout.is_empty(), "{}", again.stdout);
    assert!(
        !again.stderr.contains("historical scan"),
        "{}",
        again.stderr
    );
    let bad = chatgpt(&home, &["findings", "nope"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("nope"), "{}", bad.stderr);
    let bad = chatgpt(&home, &["findings", "ws0", "--since", "yesterday"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("RFC 3339"), "{}", bad.stderr);
    drop(sims);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The service as a child process, its standard error in a file.
fn start_service(home: &Path, config: &Path, listen: u16, log: &Path) -> Child {
    let err = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_dlp"))
        .args([
            "chatgpt",
            "run",
            "--home",
            home.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--listen",
            &listen.to_string(),
            "--progress",
            "never",
        ])
        .env("DLP_HOME", test_home())
        .env_remove("OPENAI_COMPLIANCE_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("dlp chatgpt run starts")
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

fn statuses(home: &Path) -> BTreeMap<String, String> {
    let list = ok(chatgpt(home, &["list", "--format", "json"]));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&list.stdout).unwrap();
    rows.iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn peak_per_minute(times: &[f64]) -> usize {
    let mut peak = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= 60.0 {
            start += 1;
        }
        peak = peak.max(end - start + 1);
    }
    peak
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn a_fleet_of_twenty_workspaces_survives_faults_rotation_and_kills() {
    const WORKSPACES: usize = 20;
    const SCALE: u32 = 3600; // a simulated hour per second
    const FUTURE_HOURS: u32 = 60;
    const LIST_PER_MINUTE: usize = 40;
    const GET_PER_MINUTE: usize = 60;
    const FAULTY: [usize; 4] = [1, 2, 3, 4];
    const ROTATED: usize = 7;
    const UNSCOPED: usize = 9;
    let started = Instant::now();
    let runtime = dlp_connector::runtime().unwrap();
    let dir = temp_dir("service-fleet");
    let home = dir.join("home");
    let out = dir.join("out");
    let sims: Vec<Simulator> = (0..WORKSPACES)
        .map(|i| {
            let config = SimConfig {
                spec: WorkspaceSpec {
                    seed: 1000 + i as u64,
                    users: 2,
                    conversations_per_user: 3,
                    days: 2,
                    future_hours: FUTURE_HOURS,
                    log_file_minutes: 120,
                    gpts: 1,
                    // GPTs created and updated while the service runs.
                    new_gpts: 1,
                    gpt_updates: 2,
                    ..Default::default()
                },
                ..Default::default()
            };
            runtime
                .block_on(Simulator::start(config, ScaledClock::shared(SCALE)))
                .unwrap()
        })
        .collect();
    // Client-side limits below the simulator's, checked below in real time.
    let config = format!(
        "[rate_limits]\nlist_per_minute = {LIST_PER_MINUTE}\nget_per_minute = {GET_PER_MINUTE}\n\
         [scan]\npoll_interval_secs = 2\noverlap_minutes = 240\n\
         [retry]\nmax_delay_secs = 2\n"
    );
    for (i, sim) in sims.iter().enumerate() {
        connect(&home, &dir, &format!("ws{i:02}"), sim, KEY, &config);
    }
    let service_config = write(
        &dir,
        "service.toml",
        format!(
            "reload_secs = 1\n[[sinks]]\ntype = \"jsonl\"\npath = \"{}/{{connector}}.jsonl\"\nmax_bytes = 65536\nkeep = 1000\n",
            out.display()
        )
        .as_bytes(),
    );
    eprintln!("fleet: set up in {:.1} s", started.elapsed().as_secs_f64());
    let log = dir.join("service.log");
    let port = 19_000 + (std::process::id() % 1000) as u16;
    let mut service = start_service(&home, &service_config, port, &log);

    // Faults while it runs; a key rotated and re-authenticated; a key losing its scope; kills.
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(std::process::id());
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut kill_at: Vec<Duration> = (0..4)
        .map(|k| Duration::from_millis(8_000 + k * 12_000 + next(8_000)))
        .collect();
    kill_at.sort();
    let mut kills = 0;
    let mut rotated = false;
    let mut reauthed = false;
    let mut saw_auth_failed = false;
    let mut peak_memory_kib = 0;
    let t0 = Instant::now();
    let content_done = Duration::from_secs(u64::from(FUTURE_HOURS) + 4);
    let mut caught_up = false;
    while !caught_up {
        // After the last activity is published, wait (at most 90 s) until every connector that
        // can read its workspace has reported all of it.
        if t0.elapsed() > content_done + Duration::from_secs(90) {
            break;
        }
        if t0.elapsed() > content_done && kills == kill_at.len() && reauthed {
            caught_up = sims
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != UNSCOPED)
                .all(|(i, sim)| {
                    missing(sim, &output_records(&out, &format!("ws{i:02}"), true)).is_empty()
                });
        }
        std::thread::sleep(Duration::from_millis(500));
        // About one request in two fails until the last activity is published (5xx, cut
        // downloads, corrupt log files, 429 storms); then the faulty ones catch up.
        let faulting = t0.elapsed() < content_done;
        for &i in &FAULTY {
            let (error, broken, storm) = (next(2) == 0, next(4) == 0, next(8) == 0);
            sims[i].faults(|f| {
                f.server_errors_next = u32::from(faulting && error);
                f.truncate_next = u32::from(faulting && broken);
                f.corrupt_next = u32::from(faulting && broken);
                f.throttle_next = if faulting && storm { 2 } else { 0 };
            });
        }
        let elapsed = t0.elapsed();
        if !rotated && elapsed > Duration::from_secs(15) {
            sims[ROTATED].rotate_key("sim-rotated-key");
            sims[UNSCOPED].faults(|f| f.forbidden = true);
            rotated = true;
        }
        if rotated && !reauthed {
            let status = statuses(&home);
            if status[&format!("ws{ROTATED:02}")] == "auth_failed" {
                saw_auth_failed = true;
                let key = write(&dir, "rotated.key", b"sim-rotated-key");
                ok(chatgpt(
                    &home,
                    &[
                        "reauth",
                        &format!("ws{ROTATED:02}"),
                        "--api-key-file",
                        key.to_str().unwrap(),
                    ],
                ));
                reauthed = true;
            }
        }
        if let Some(hwm) = vm_hwm_kib(service.id()) {
            peak_memory_kib = peak_memory_kib.max(hwm);
        }
        if kills < kill_at.len() && elapsed >= kill_at[kills] {
            service.kill().unwrap(); // SIGKILL
            service.wait().unwrap();
            kills += 1;
            service = start_service(&home, &service_config, port, &log);
        }
    }
    assert!(
        saw_auth_failed && reauthed,
        "the rotated key was never reported as auth_failed"
    );
    // Caught up: the last simulated activity is in, and the service is healthy.
    assert_eq!(http_get(port, "/healthz").as_deref(), Some("ok\n"));
    let metrics = http_get(port, "/metrics").unwrap_or_default();
    let status = statuses(&home);
    if let Some(hwm) = vm_hwm_kib(service.id()) {
        peak_memory_kib = peak_memory_kib.max(hwm);
    }
    eprintln!("fleet: ran {:.1} s", t0.elapsed().as_secs_f64());
    // SIGTERM: a graceful stop.
    let _ = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status();
    let stopped = service.wait().unwrap();
    assert!(
        stopped.success(),
        "the service exited with {stopped:?} on SIGTERM"
    );
    let wall = started.elapsed();
    eprintln!("fleet: stopped after {:.1} s", wall.as_secs_f64());
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("stopping, finishing the current item"),
        "{log_text}"
    );
    assert!(!log_text.contains(KEY) && !log_text.contains("sim-rotated-key"));

    for (name, s) in &status {
        let want = if name == &format!("ws{UNSCOPED:02}") {
            "scope_missing"
        } else {
            "connected"
        };
        assert_eq!(s, want, "{name}: {status:?}\n{log_text}");
    }
    assert!(metrics.contains("dlp_connector_status{connector=\"ws09\",status=\"scope_missing\"} 1"));
    assert!(metrics.contains("dlp_api_requests_total{connector=\"ws00\",endpoint=\"logs\"}"));
    assert!(metrics.contains("dlp_api_rate_limit_waits_total{connector=\"ws00\"}"));

    let mut figures = Vec::new();
    let mut total_findings = 0;
    for (i, sim) in sims.iter().enumerate() {
        let name = format!("ws{i:02}");
        let records = output_records(&out, &name, false);
        // Nothing duplicated: each record once in the output, and the output equals the state.
        let mut ids = HashMap::new();
        for r in &records {
            *ids.entry(r["record_id"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
        let dups: Vec<_> = ids.iter().filter(|(_, &n)| n > 1).collect();
        assert!(dups.is_empty(), "{name}: duplicated records {dups:?}");
        let export = ok(chatgpt(&home, &["findings", &name, "--skipped"]));
        let kept: Vec<serde_json::Value> = export
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            kept, records,
            "{name}: the output is not what the state keeps"
        );
        if i == UNSCOPED {
            continue;
        }
        // Nothing lost: every planted value published by now.
        let missed = missing(sim, &records);
        let want = missing(sim, &[]);
        assert!(
            missed.is_empty(),
            "{name} missed {} of {}: {missed:?}\n{log_text}",
            missed.len(),
            want.len()
        );
        total_findings += records.iter().filter(|r| r["record"] == "finding").count();
        // Within the limits in every real minute, across restarts.
        let mut by_endpoint: BTreeMap<(&str, bool), Vec<f64>> = BTreeMap::new();
        for r in sim.requests() {
            by_endpoint
                .entry((r.endpoint.name(), r.endpoint.is_list()))
                .or_default()
                .push(r.at.as_secs_f64() / f64::from(SCALE));
        }
        for (&(endpoint, is_list), times) in &by_endpoint {
            let peak = peak_per_minute(times);
            let limit = if is_list {
                LIST_PER_MINUTE
            } else {
                GET_PER_MINUTE
            };
            assert!(
                peak <= limit,
                "{name}: {peak} {endpoint} requests in a minute (limit {limit})"
            );
            figures.push((name.clone(), endpoint, times.len(), peak));
        }
    }
    eprintln!(
        "fleet: {WORKSPACES} workspaces, {kills} SIGKILLs, {total_findings} findings, wall {:.1} s, service peak RSS {:.1} MiB",
        wall.as_secs_f64(),
        peak_memory_kib as f64 / 1024.0
    );
    let mut peaks: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, endpoint, _, peak) in &figures {
        let p = peaks.entry(endpoint).or_default();
        *p = (*p).max(*peak);
    }
    eprintln!("fleet: highest requests per minute of any workspace, by endpoint: {peaks:?}");
    assert_eq!(kills, 4);
    drop(sims);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_signal_exits_at_once_and_the_next_start_loses_nothing() {
    let runtime = dlp_connector::runtime().unwrap();
    let dir = temp_dir("service-signals");
    let home = dir.join("home");
    let out = dir.join("out");
    let config = SimConfig {
        spec: WorkspaceSpec {
            seed: 77,
            users: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    let sim = runtime
        .block_on(Simulator::start(config, SystemClock::shared()))
        .unwrap();
    connect(&home, &dir, "slow", &sim, KEY, "");
    // Every answer takes 3 s: the first signal finds the service in the middle of a cycle.
    sim.faults(|f| {
        f.slow_next = 1_000;
        f.slow_delay = Duration::from_secs(3);
    });
    let service_config = write(
        &dir,
        "service.toml",
        format!(
            "[[sinks]]\ntype = \"jsonl\"\npath = \"{}/{{connector}}.jsonl\"\n",
            out.display()
        )
        .as_bytes(),
    );
    let log = dir.join("service.log");
    let port = 20_000 + (std::process::id() % 1000) as u16;
    let mut service = start_service(&home, &service_config, port, &log);
    std::thread::sleep(Duration::from_millis(1500));
    let pid = service.id().to_string();
    let signal = |name: &str| {
        let _ = Command::new("kill").args([name, &pid]).status();
    };
    signal("-INT");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        service.try_wait().unwrap().is_none(),
        "the first signal lets the current item finish"
    );
    let asked = Instant::now();
    signal("-INT");
    let status = service.wait().unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "the second signal took {:?}",
        asked.elapsed()
    );
    assert_eq!(status.code(), Some(130));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("stopping, finishing the current item") && text.contains("exiting now"),
        "{text}"
    );
    // The next start finds a consistent state and finishes the scan: each record once.
    sim.faults(|f| f.slow_next = 0);
    let config_arg = service_config.to_str().unwrap();
    ok(chatgpt(&home, &["run", "--once", "--config", config_arg]));
    let records = output_records(&out, "slow", false);
    let export = ok(chatgpt(&home, &["findings", "slow", "--skipped"]));
    let kept: Vec<serde_json::Value> = export
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(kept, records);
    assert!(missing(&sim, &records).is_empty());
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
}
