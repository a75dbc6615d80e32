//! Evidence in S3, against moto's server (`DLP_TEST_MOTO_SERVER`; `bash .ci/test` installs it)
//! and the simulator on a virtual clock: objects for the items with findings only, at their
//! documented keys, with the items' content and the encryption asked for; and, while the
//! store fails (no bucket, or no server), evidence kept in the state database, the scan
//! completing, and every item written once the store is back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;

use common::*;
use dlp_connector::sim::WorkspaceSpec;
use dlp_connector::{
    parse_log, ApiKey, Connector, Evidence, EvidenceConfig, EvidenceMode, ItemKind,
    ServerSideEncryption, StateStore,
};
use dlp_store::{AsyncStore, MotoServer, ObjectUrl};
use futures::TryStreamExt;

const PREFIX: &str = "dlp/run-1";

fn moto() -> MotoServer {
    MotoServer::start().unwrap_or_else(|e| panic!("{e}"))
}

async fn small_env() -> Env {
    env(WorkspaceSpec {
        users: 3,
        ..Default::default()
    })
    .await
}

fn s3_evidence(store: &dlp_store::Config, sse: Option<ServerSideEncryption>) -> Evidence {
    let config = EvidenceConfig {
        mode: EvidenceMode::ObjectStore,
        url: Some(format!("s3://evidence/{PREFIX}/")),
        sse,
        ..Default::default()
    };
    Evidence::from_config_with(&config, store).unwrap()
}

fn connector(env: &Env, evidence: Evidence) -> Connector {
    Connector::builder(
        env.sim.workspace_id(),
        ApiKey::new(env.sim.api_key()).unwrap(),
    )
    .inspector(PlantedFormats::shared())
    .config(env.config())
    .clock(env.clock.shared())
    .state_path(Path::new(&env.state_path()))
    .unwrap()
    .sink(Box::new(env.sink.clone()))
    .evidence(evidence)
    .build()
    .unwrap()
}

/// The evidence every item with a finding must have: its object key, and its content as the
/// API served it (a message's text, a tool call's input and output, a file's bytes).
fn expected_evidence(env: &Env) -> BTreeMap<String, Vec<u8>> {
    let ws = env.sim.workspace();
    let mut events = BTreeMap::new();
    for file in &ws.log_files {
        for event in parse_log(&file.content).events {
            events.insert(event.event_id.clone(), event);
        }
    }
    let mut want = BTreeMap::new();
    for finding in env.findings() {
        let item = finding.meta.item.unwrap();
        let (id, content) = match item {
            ItemKind::Message => {
                let id = finding.meta.event_id.clone().unwrap();
                let message = events[&id].message.as_ref().unwrap();
                let text = message.content.as_ref().unwrap().text().unwrap();
                (id, text.as_bytes().to_vec())
            }
            ItemKind::AppLog => {
                let id = finding.meta.event_id.clone().unwrap();
                let event = &events[&id];
                let json = serde_json::json!({"input": event.input, "output": event.output});
                (id, json.to_string().into_bytes())
            }
            _ => {
                let id = finding.meta.file_id.clone().unwrap();
                (id.clone(), ws.files[&id].content.to_vec())
            }
        };
        let key = Evidence::key(ws.id.as_str(), item.as_str(), &id);
        want.insert(format!("{PREFIX}/{key}"), content);
    }
    want
}

/// Every object in the bucket, with its content.
async fn objects(moto: &MotoServer) -> BTreeMap<String, Vec<u8>> {
    let url = ObjectUrl::parse("s3://evidence/").unwrap();
    let store = AsyncStore::open_with(&url, &moto.config()).unwrap();
    let listed: Vec<_> = store.list(&url).try_collect().await.unwrap();
    let mut got = BTreeMap::new();
    for object in listed {
        let content = store.read(&object.key, u64::MAX).await.unwrap();
        got.insert(object.key, content);
    }
    got
}

fn pending_in_state(env: &Env) -> u64 {
    StateStore::open(&env.state_path(), env.sim.workspace_id())
        .unwrap()
        .pending_evidence_count()
        .unwrap()
}

fn kinds(evidence: &BTreeMap<String, Vec<u8>>) -> Vec<&str> {
    let mut kinds: Vec<&str> = evidence
        .keys()
        .filter_map(|k| k.split('/').nth(3))
        .collect();
    kinds.dedup();
    kinds
}

#[tokio::test]
async fn evidence_of_items_with_findings_goes_to_s3_at_its_keys() {
    let moto = moto();
    moto.create_bucket("evidence").unwrap();
    let env = small_env().await;
    let evidence = s3_evidence(&moto.config(), Some(ServerSideEncryption::Aes256));
    assert_eq!(evidence.location(), format!("s3://evidence/{PREFIX}/"));
    let connector = connector(&env, evidence.clone());
    let summary = connector.historical_scan(Some(30)).await.unwrap();
    assert!(summary.findings > 0);
    assert_eq!(summary.pending_evidence, 0);

    let want = expected_evidence(&env);
    // Messages, tool calls and files: every kind of item, but not every item.
    assert!(kinds(&want).len() >= 3, "{:?}", kinds(&want));
    let inspected = summary.messages_inspected
        + summary.app_logs_inspected
        + summary.conversation_files_inspected
        + summary.gpt_files_inspected;
    assert!(
        (want.len() as u64) < inspected,
        "{} of {inspected}",
        want.len()
    );
    let got = objects(&moto).await;
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (key, content) in &want {
        assert!(got[key] == *content, "{key}: not the item's content");
    }
    // Each object was written with the encryption asked for.
    let key = want.keys().next().unwrap();
    let headers = moto.head(&format!("evidence/{key}")).unwrap();
    assert!(
        headers
            .iter()
            .any(|(name, value)| name == "x-amz-server-side-encryption" && value == "AES256"),
        "{headers:?}"
    );
    assert_eq!(pending_in_state(&env), 0);

    // Purging the workspace deletes them all.
    let purged = evidence.purge(env.sim.workspace_id()).await.unwrap();
    assert_eq!(purged, want.len() as u64);
    assert!(objects(&moto).await.is_empty());
}

#[tokio::test]
async fn evidence_waits_in_the_state_until_its_bucket_exists() {
    let moto = moto();
    let env = small_env().await;
    let connector = connector(&env, s3_evidence(&moto.config(), None));
    // No bucket yet: every write fails, the scan does not.
    let summary = connector.historical_scan(Some(30)).await.unwrap();
    let want = expected_evidence(&env);
    assert!(!want.is_empty());
    assert_eq!(summary.pending_evidence, want.len() as u64);
    assert_eq!(pending_in_state(&env), want.len() as u64);
    assert_eq!(env.findings().len() as u64, summary.findings);

    moto.create_bucket("evidence").unwrap();
    let summary = connector.forward_scan().await.unwrap();
    assert_eq!(summary.pending_evidence, 0);
    assert_eq!(pending_in_state(&env), 0);
    assert_eq!(objects(&moto).await, want);
}

#[tokio::test]
async fn evidence_waits_in_the_state_while_the_server_is_unreachable() {
    let moto = moto();
    moto.create_bucket("evidence").unwrap();
    let env = small_env().await;
    let closed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut unreachable = moto.config();
    unreachable.var("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"));
    let down = connector(&env, s3_evidence(&unreachable, None));
    let summary = down.historical_scan(Some(30)).await.unwrap();
    let want = expected_evidence(&env);
    assert_eq!(summary.pending_evidence, want.len() as u64);
    // A cycle that finds the store still down keeps (and counts) all of it.
    let summary = down.forward_scan().await.unwrap();
    assert_eq!(summary.pending_evidence, want.len() as u64);
    assert_eq!(pending_in_state(&env), want.len() as u64);
    drop(down);

    // The server is back (here: the connector restarted with its address).
    let up = connector(
        &env,
        s3_evidence(&moto.config(), Some(ServerSideEncryption::Aes256)),
    );
    let summary = up.forward_scan().await.unwrap();
    assert_eq!(summary.pending_evidence, 0);
    assert_eq!(pending_in_state(&env), 0);
    assert_eq!(objects(&moto).await, want);
    // Nothing was reported twice on the way.
    unique_findings(&env.findings());
}
