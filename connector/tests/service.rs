//! The service (`dlp_connector::service`) over a registry of simulated workspaces: webhook
//! delivery through an outage, and the JSONL sink equal to what the state keeps.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use dlp_connector::service::{Service, ServiceOptions, SinkConfig};
use dlp_connector::sim::{SimConfig, Simulator, WorkspaceSpec};
use dlp_connector::{ApiKey, KeyInput, NewConnector, Registry, StateStore, SystemClock};

const KEY: &str = "sim-compliance-key";

/// A webhook receiver that answers 503 to its first `fail` POSTs, then keeps what it gets.
#[derive(Clone, Default)]
struct Receiver {
    fail: Arc<Mutex<u32>>,
    posts: Arc<Mutex<u32>>,
    records: Arc<Mutex<Vec<serde_json::Value>>>,
    auth: Arc<Mutex<Vec<Option<String>>>>,
}

async fn receive(
    State(r): State<Receiver>,
    headers: axum::http::HeaderMap,
    body: String,
) -> StatusCode {
    *r.posts.lock().unwrap() += 1;
    r.auth.lock().unwrap().push(
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    );
    {
        let mut fail = r.fail.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    let batch: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    r.records.lock().unwrap().extend(batch);
    StatusCode::OK
}

async fn start_receiver(receiver: Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/collector", post(receive))
        .with_state(receiver);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/collector")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_outage_loses_nothing_and_jsonl_equals_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new(&dir.path().join("home"));
    let mut sims = Vec::new();
    for (i, name) in ["alpha", "beta"].iter().enumerate() {
        let config = SimConfig {
            spec: WorkspaceSpec {
                seed: 40 + i as u64,
                users: 3,
                ..Default::default()
            },
            ..Default::default()
        };
        let sim = Simulator::start(config, SystemClock::shared())
            .await
            .unwrap();
        registry
            .add(NewConnector {
                name: name.to_string(),
                workspace_id: sim.workspace_id().to_string(),
                base_url: Some(sim.base_url()),
                key: KeyInput::Copy(ApiKey::new(KEY).unwrap()),
                config: None,
            })
            .unwrap();
        sims.push(sim);
    }
    let receiver = Receiver {
        fail: Arc::new(Mutex::new(3)),
        ..Default::default()
    };
    let url = start_receiver(receiver.clone()).await;
    let token = dir.path().join("token");
    std::fs::write(&token, "siem-token-123\n").unwrap();
    let out = dir.path().join("out");
    let options = ServiceOptions {
        once: true,
        sinks: vec![
            SinkConfig::Webhook {
                url: url.clone(),
                token_file: Some(token),
                batch_size: 7,
                timeout_secs: 5,
            },
            SinkConfig::Jsonl {
                path: format!("{}/{{connector}}.jsonl", out.display()),
                max_bytes: 1 << 20,
                keep: 2,
            },
        ],
        ..Default::default()
    };
    let service = Service::new(registry.clone(), options).unwrap();
    let report = tokio::time::timeout(
        Duration::from_secs(120),
        service.run(std::future::pending()),
    )
    .await
    .expect("one cycle of each ends")
    .unwrap();
    assert_eq!(report.completed.len(), 2, "{report:?}");
    assert!(report.failed.is_empty(), "{report:?}");

    let delivered = receiver.records.lock().unwrap().clone();
    assert!(
        *receiver.posts.lock().unwrap() > 3,
        "the failed POSTs were retried"
    );
    assert!(receiver
        .auth
        .lock()
        .unwrap()
        .iter()
        .all(|a| a.as_deref() == Some("Bearer siem-token-123")));
    for (name, sim) in ["alpha", "beta"].iter().zip(&sims) {
        let state = StateStore::open(&registry.state_path(name), sim.workspace_id()).unwrap();
        let kept = state.records_since(0, true).unwrap();
        assert!(kept.len() > 10, "{name}: {} records", kept.len());
        let mine: Vec<&serde_json::Value> = delivered
            .iter()
            .filter(|r| r["connector"] == *name)
            .collect();
        // Every record the state keeps, once each, in commit order, despite the outage.
        assert_eq!(mine.len(), kept.len(), "{name}");
        for (got, want) in mine.iter().zip(&kept) {
            let mut got = (*got).clone();
            let obj = got.as_object_mut().unwrap();
            assert_eq!(obj.remove("connector").unwrap(), *name);
            assert_eq!(obj.remove("record_id").unwrap().as_str().unwrap().len(), 32);
            assert_eq!(got, serde_json::to_value(&want.record).unwrap());
        }
        // The cursor reached the end: nothing pending.
        let last = kept.last().unwrap().seq;
        assert_eq!(
            state
                .sink_cursor(&format!("webhook:{}", {
                    use sha2::Digest;
                    let d = sha2::Sha256::digest(url.as_bytes());
                    d.iter().map(|b| format!("{b:02x}")).collect::<String>()[..16].to_string()
                }))
                .unwrap(),
            last
        );
        // The JSONL file holds the same records.
        let file = std::fs::read_to_string(out.join(format!("{name}.jsonl"))).unwrap();
        let lines: Vec<serde_json::Value> = file
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), kept.len());
        let ids: Vec<&serde_json::Value> = mine.iter().map(|r| &r["record_id"]).collect();
        let file_ids: Vec<&serde_json::Value> = lines.iter().map(|r| &r["record_id"]).collect();
        assert_eq!(ids, file_ids);
    }
    let metrics = service.metrics_text();
    assert!(
        metrics.contains("dlp_webhook_failures_total{connector=\"alpha\"")
            || metrics.contains("dlp_webhook_failures_total{connector=\"beta\""),
        "{metrics}"
    );
    assert!(!metrics.contains("siem-token-123"));
}

#[test]
fn bad_sinks_are_refused_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new(dir.path());
    let shared_file = ServiceOptions {
        sinks: vec![SinkConfig::Jsonl {
            path: "/tmp/all.jsonl".into(),
            max_bytes: 1 << 20,
            keep: 1,
        }],
        ..Default::default()
    };
    let e = Service::new(registry.clone(), shared_file)
        .unwrap_err()
        .to_string();
    assert!(e.contains("{connector}"), "{e}");
    let missing_token = ServiceOptions {
        sinks: vec![SinkConfig::Webhook {
            url: "https://siem.example/x".into(),
            token_file: Some(dir.path().join("nope")),
            batch_size: 10,
            timeout_secs: 5,
        }],
        ..Default::default()
    };
    let e = Service::new(registry.clone(), missing_token)
        .unwrap_err()
        .to_string();
    assert!(e.contains("token file") && e.contains("nope"), "{e}");
    // One service per registry; the next one may start when it is gone.
    let first = Service::new(registry.clone(), ServiceOptions::default()).unwrap();
    let e = Service::new(registry.clone(), ServiceOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("another `dlp chatgpt run`"), "{e}");
    assert!(e.contains(&std::process::id().to_string()), "{e}");
    drop(first);
    assert!(Service::new(registry, ServiceOptions::default()).is_ok());
}

/// Waits (at most a minute) until `events` holds an entry for which `wanted` is true.
async fn wait_for(events: &Arc<Mutex<Vec<String>>>, wanted: impl Fn(&str) -> bool) {
    for _ in 0..600 {
        if events.lock().unwrap().iter().any(|e| wanted(e)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not seen in {:?}", events.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_added_paused_and_resumed_are_picked_up_while_it_runs() {
    use dlp_connector::service::ServiceEvent;
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new(&dir.path().join("home"));
    let mut sims = Vec::new();
    for seed in [61, 62] {
        let config = SimConfig {
            spec: WorkspaceSpec {
                seed,
                users: 2,
                ..Default::default()
            },
            ..Default::default()
        };
        sims.push(
            Simulator::start(config, SystemClock::shared())
                .await
                .unwrap(),
        );
    }
    let add = |name: &str, sim: &Simulator| {
        registry
            .add(NewConnector {
                name: name.to_string(),
                workspace_id: sim.workspace_id().to_string(),
                base_url: Some(sim.base_url()),
                key: KeyInput::Copy(ApiKey::new(KEY).unwrap()),
                config: Some("[scan]\npoll_interval_secs = 1\n".into()),
            })
            .unwrap();
    };
    add("first", &sims[0]);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let options = ServiceOptions {
        reload_interval: Duration::from_millis(100),
        on_event: Some(Arc::new(move |e: &ServiceEvent| {
            let text = match e {
                ServiceEvent::Started {
                    connector,
                    historical,
                } => {
                    format!("{connector} started historical={historical}")
                }
                ServiceEvent::CycleDone { connector, summary } => {
                    format!("{connector} done {}", summary.mode)
                }
                ServiceEvent::CycleFailed {
                    connector, error, ..
                } => {
                    format!("{connector} failed {error}")
                }
                ServiceEvent::Stopped { connector, reason } => {
                    format!("{connector} stopped {reason}")
                }
            };
            seen.lock().unwrap().push(text);
        })),
        ..Default::default()
    };
    let service = Arc::new(Service::new(registry.clone(), options).unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = {
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            service
                .run(async {
                    let _ = stopped.await;
                })
                .await
        })
    };
    wait_for(&events, |e| e == "first done historical").await;
    wait_for(&events, |e| e == "first done forward").await;
    // Added while it runs: scanned, historical scan first.
    add("second", &sims[1]);
    wait_for(&events, |e| e == "second done historical").await;
    // Paused: its task ends; resumed: it starts again, with forward cycles.
    registry.set_paused("first", true).unwrap();
    wait_for(&events, |e| e == "first stopped paused or deleted").await;
    let before = events.lock().unwrap().len();
    registry.set_paused("first", false).unwrap();
    for _ in 0..600 {
        if events.lock().unwrap()[before..]
            .iter()
            .any(|e| e == "first done forward")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        events.lock().unwrap()[before..]
            .iter()
            .any(|e| e == "first done forward"),
        "{:?}",
        events.lock().unwrap()
    );
    let metrics = service.metrics_text();
    assert!(metrics.contains("dlp_connectors 2"), "{metrics}");
    stop.send(()).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
    assert!(report.completed["first"] >= 3 && report.completed["second"] >= 1);
    assert!(report.failed.is_empty(), "{report:?}");
    let log = events.lock().unwrap().clone();
    assert!(
        log.iter()
            .any(|e| e == "second stopped the service is stopping"),
        "{log:?}"
    );
    assert!(!log.iter().any(|e| e.contains("failed")), "{log:?}");
}
