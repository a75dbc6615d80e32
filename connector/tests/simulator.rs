//! The connector against the simulator: ground truth, rate limits, faults, crash safety.
//! Every test runs on a virtual clock: rate limits and backoff never really sleep.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use dlp_connector::sim::{SimConfig, Workspace, WorkspaceSpec};
use dlp_connector::{Clock, CrashHooks, Endpoint, ErrorKind, ItemKind};
use time::OffsetDateTime;

/// What a scan of `(after, until]` must report, for uploads fetched at `fetched_at`.
struct Expected {
    findings: BTreeSet<Key>,
    skipped: BTreeSet<(String, String)>,
}

fn expected(
    ws: &Workspace,
    after: OffsetDateTime,
    until: OffsetDateTime,
    fetched_at: OffsetDateTime,
) -> Expected {
    let events = ws.events_in_files(after, until);
    let mut findings = BTreeSet::new();
    let mut skipped = BTreeSet::new();
    for p in &ws.planted {
        if p.item != ItemKind::GptFile && !events.contains(p.event_id.as_ref().unwrap()) {
            continue;
        }
        let uploaded = p.timestamp.unwrap_or(fetched_at);
        let file_id = p.file_id.clone().unwrap_or_default();
        if p.item == ItemKind::ConversationFile
            && fetched_at.max(uploaded) - uploaded > time::Duration::hours(48)
        {
            skipped.insert((file_id, "expired".to_string()));
        } else if p.format == "docx" {
            // Extraction: the byte-level inspector cannot read DOCX yet.
            skipped.insert((file_id, "unsupported_format".to_string()));
        } else {
            findings.insert(planted_key(p));
        }
    }
    Expected { findings, skipped }
}

/// Every value planted in the 30 days before the anchor is found, as a scan at the anchor sees it.
fn assert_found_last_30_days(env: &Env) {
    assert_found(
        env,
        &expected(
            env.sim.workspace(),
            ANCHOR - time::Duration::days(30),
            ANCHOR,
            ANCHOR,
        ),
    );
}

fn assert_found(env: &Env, want: &Expected) {
    let found = unique_findings(&env.findings());
    let got: BTreeSet<Key> = found.keys().cloned().collect();
    let missing: Vec<_> = want.findings.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want.findings).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    let skipped: BTreeSet<(String, String)> = env
        .skipped()
        .into_iter()
        .filter(|s| s.meta.file_id.is_some())
        .map(|s| (s.meta.file_id.unwrap(), s.reason.to_string()))
        .collect();
    for want in &want.skipped {
        assert!(
            skipped.contains(want),
            "expected skip {want:?}; got {skipped:?}"
        );
    }
}

#[tokio::test]
async fn historical_scan_finds_every_planted_value_with_its_metadata() {
    let env = env(WorkspaceSpec::default()).await;
    let real = Instant::now();
    let connector = env.connector(env.config(), CrashHooks::default());
    let summary = connector.historical_scan(Some(30)).await.unwrap();
    let now = env.clock.wall();
    let ws = env.sim.workspace();
    let want = expected(ws, ANCHOR - time::Duration::days(30), ANCHOR, ANCHOR);
    assert!(
        want.findings.len() > 40,
        "the workspace plants enough values ({})",
        want.findings.len()
    );
    assert_found(&env, &want);

    // Metadata travels with every finding.
    let found = unique_findings(&env.findings());
    let mut kinds = BTreeSet::new();
    for p in &ws.planted {
        let Some(f) = found.get(&planted_key(p)) else {
            continue;
        };
        kinds.insert(p.item);
        assert_eq!(f.meta.item, Some(p.item));
        assert_eq!(f.meta.workspace_id.as_deref(), Some(ws.id.as_str()));
        assert_eq!(f.meta.user_email, p.user_email, "{p:?}");
        assert_eq!(f.meta.conversation_id, p.conversation_id);
        assert_eq!(f.meta.conversation_title, p.conversation_title);
        assert_eq!(f.meta.message_id, p.message_id);
        assert_eq!(f.meta.file_name, p.file_name);
        assert_eq!(f.meta.gpt_id, p.gpt_id);
        assert_eq!(f.meta.gpt_name, p.gpt_name);
        assert_eq!(f.meta.author_role, p.author_role);
        if p.item == ItemKind::Message {
            assert!(f.meta.is_temporary_chat.is_some() && f.meta.tools.is_some());
            assert_eq!(
                f.meta.model.is_some(),
                p.author_role.as_deref() == Some("assistant")
            );
        }
        if p.item == ItemKind::GptFile {
            assert!(f.meta.gpt_visibility.is_some());
            assert_eq!(f.meta.gpt_knowledge_files.as_ref().map(Vec::len), Some(2));
        }
        if p.item == ItemKind::AppLog {
            assert!(f
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with("input.") || l.starts_with("output")));
            assert!(f.meta.app_name.is_some());
        }
    }
    assert_eq!(kinds.len(), 4, "findings in every item type: {kinds:?}");

    // Image-only messages are counted as skips.
    let image_only = env
        .skipped()
        .iter()
        .filter(|s| s.reason.as_str() == "image_only")
        .count();
    let in_window = ws.events_in_files(ANCHOR - time::Duration::days(30), ANCHOR);
    assert_eq!(
        image_only,
        ws.image_only
            .iter()
            .filter(|e| in_window.contains(*e))
            .count()
    );
    assert!(summary.skipped.get("expired").copied().unwrap_or(0) > 0);
    assert_eq!(summary.findings as usize, want.findings.len());

    env.assert_limits_kept(50, 100);
    assert_eq!(summary.throttled, 0);
    // The rate limits, not the machine, bound the scan; it never really slept.
    assert!(now - ANCHOR > time::Duration::minutes(1));
    assert!(real.elapsed() < Duration::from_secs(30));
    println!(
        "30-day scan: {} log files, {:?} requests, {:.0} s of API time, {:?} real; peak per minute {:?}",
        summary.log_files,
        summary.requests,
        summary.elapsed_secs,
        real.elapsed(),
        env.sim.max_per_minute()
    );

    // A second scan reports nothing new.
    let again = connector.historical_scan(Some(30)).await.unwrap();
    assert_eq!(again.findings, 0);
    assert!(again.events == 0 && again.log_files == 0, "{again:?}");
}

#[tokio::test]
async fn storms_server_errors_and_broken_downloads_lose_nothing_and_keep_limits() {
    let spec = WorkspaceSpec {
        users: 8,
        ..Default::default()
    };
    let env = env_with(SimConfig {
        spec,
        list_per_minute: 10,
        get_per_minute: 20,
        ..Default::default()
    })
    .await;
    env.sim.faults(|f| {
        f.throttle_next = 12;
        f.retry_after_mixed = true;
        f.server_errors_next = 6;
    });
    let mut config = env.config();
    config.rate_limits.list_per_minute = 10;
    config.rate_limits.get_per_minute = 20;
    let connector = env.connector(config, CrashHooks::default());
    // Faults strike while the scan runs: downloads cut short and corrupted.
    env.sim.faults(|f| {
        f.truncate_next = 4;
        f.corrupt_next = 3;
    });
    let summary = connector.historical_scan(Some(30)).await.unwrap();
    assert_found_last_30_days(&env);
    assert_eq!(summary.throttled, 12);
    assert!(summary.retries >= 12 + 6 + 4 + 3, "{summary:?}");
    env.assert_limits_kept(10, 20);
}

#[tokio::test]
async fn slow_responses_time_out_and_are_retried() {
    let spec = WorkspaceSpec {
        users: 2,
        conversations_per_user: 2,
        gpts: 1,
        ..Default::default()
    };
    let env = env(spec).await;
    env.sim.faults(|f| {
        f.slow_next = 1;
        f.slow_delay = Duration::from_millis(1500);
    });
    let mut config = env.config();
    config.api.request_timeout_secs = 1;
    let connector = env.connector(config, CrashHooks::default());
    let summary = connector.historical_scan(Some(30)).await.unwrap();
    assert!(summary.retries >= 1);
    assert_found_last_30_days(&env);
}

#[tokio::test]
async fn forward_scans_handle_duplicate_late_and_noisy_events() {
    let spec = WorkspaceSpec {
        users: 8,
        future_hours: 8,
        duplicate_events: true,
        late_events: true,
        late_files: true,
        noise_lines: true,
        ..Default::default()
    };
    let env = env(spec).await;
    let connector = env.connector(env.config(), CrashHooks::default());
    let first = connector.forward_scan().await.unwrap();
    let first_scan_at = env.clock.wall();
    let mut duplicates = first.duplicate_events;
    let mut malformed = first.malformed_lines;
    let mut ignored = first.ignored_events;
    // Poll every 15 minutes until all the activity is delivered (and late files are published).
    while env.clock.wall() < ANCHOR + time::Duration::hours(9) {
        env.clock.advance(Duration::from_secs(15 * 60));
        let s = connector.forward_scan().await.unwrap();
        duplicates += s.duplicate_events;
        malformed += s.malformed_lines;
        ignored += s.ignored_events;
        assert!(s.lost_windows.is_empty());
    }
    let ws = env.sim.workspace();
    let mut want = expected(
        ws,
        ANCHOR - time::Duration::days(30),
        ANCHOR + time::Duration::hours(9),
        first_scan_at,
    );
    // Uploads after the first scan are fetched within minutes: none expires.
    want.skipped
        .retain(|(id, reason)| reason != "expired" || ws.files[id].uploaded_at < first_scan_at);
    assert_found(&env, &want);
    assert!(
        duplicates > 0,
        "duplicate deliveries were skipped by event id"
    );
    assert!(malformed > 0 && ignored > 0);
    env.assert_limits_kept(50, 100);
}

#[tokio::test]
async fn expired_uploads_become_skipped_records() {
    let env = env(WorkspaceSpec {
        users: 8,
        ..Default::default()
    })
    .await;
    let ws = env.sim.workspace();
    // Recent uploads that would still be downloadable.
    let fresh: Vec<String> = ws
        .planted
        .iter()
        .filter(|p| p.item == ItemKind::ConversationFile && p.format != "docx")
        .filter(|p| ANCHOR - p.timestamp.unwrap() < time::Duration::hours(40))
        .filter_map(|p| p.file_id.clone())
        .collect();
    assert!(!fresh.is_empty());
    env.sim.faults(|f| f.expired_files = fresh.clone());
    let connector = env.connector(env.config(), CrashHooks::default());
    connector.historical_scan(Some(30)).await.unwrap();
    let expired: BTreeSet<String> = env
        .skipped()
        .into_iter()
        .filter(|s| s.reason.as_str() == "expired")
        .filter_map(|s| s.meta.file_id)
        .collect();
    for id in &fresh {
        assert!(expired.contains(id), "{id} reported as expired");
        assert!(env
            .findings()
            .iter()
            .all(|f| f.meta.file_id.as_ref() != Some(id)));
    }
    let record = env
        .skipped()
        .into_iter()
        .find(|s| s.meta.file_id.as_ref() == Some(&fresh[0]))
        .unwrap();
    assert_eq!(record.meta.item, Some(ItemKind::ConversationFile));
    assert!(
        record.meta.event_id.is_some()
            && record.meta.conversation_id.is_some()
            && record.meta.file_name.is_some()
    );
}

#[tokio::test]
async fn revoked_key_and_missing_scope_are_clear_errors_and_a_rotated_key_keeps_state() {
    let env = env(WorkspaceSpec {
        users: 4,
        ..Default::default()
    })
    .await;
    let key = env.sim.api_key();
    env.sim.faults(|f| f.revoked = true);
    let connector = env.connector(env.config(), CrashHooks::default());
    let err = connector.historical_scan(Some(30)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.to_string().contains("revoked") && !err.to_string().contains(&key));
    let debug = format!("{connector:?} {:?} {err:?}", connector.client());
    assert!(
        !debug.contains(&key) && debug.contains("<redacted>"),
        "{debug}"
    );
    env.sim.faults(|f| {
        f.revoked = false;
        f.forbidden = true;
    });
    let err = connector.historical_scan(Some(30)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    assert!(
        err.to_string().contains("Compliance API read scope"),
        "{err}"
    );
    env.sim.faults(|f| f.forbidden = false);
    drop(connector);

    // Half a scan with the old key, then the key is rotated: the new key resumes the same state.
    let crashing = env.connector(
        env.config(),
        CrashHooks {
            abort_after_commits: Some(10),
            ..Default::default()
        },
    );
    assert_eq!(
        crashing.historical_scan(Some(30)).await.unwrap_err().kind(),
        ErrorKind::Aborted
    );
    drop(crashing);
    env.sim.rotate_key("sk-rotated-key");
    let old = env.connector_with_key(env.config(), CrashHooks::default(), &key);
    assert_eq!(
        old.historical_scan(Some(30)).await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
    drop(old);
    let rotated = env.connector_with_key(env.config(), CrashHooks::default(), "sk-rotated-key");
    rotated.historical_scan(Some(30)).await.unwrap();
    assert_found_last_30_days(&env);
}

#[tokio::test]
async fn state_of_another_workspace_is_refused() {
    let env = env(WorkspaceSpec {
        users: 1,
        gpts: 0,
        ..Default::default()
    })
    .await;
    env.connector(env.config(), CrashHooks::default());
    let err = dlp_connector::Connector::builder(
        "00000000-0000-4000-8000-000000000000",
        dlp_connector::ApiKey::new("k").unwrap(),
    )
    .state_path(&env.state_path())
    .err()
    .unwrap();
    assert_eq!(err.kind(), ErrorKind::State);
    assert!(err.to_string().contains(env.sim.workspace_id()));
}

#[tokio::test]
async fn killed_at_any_point_and_restarted_loses_nothing_and_repeats_nothing() {
    let spec = WorkspaceSpec {
        users: 6,
        ..Default::default()
    };
    for hooks in [
        CrashHooks {
            abort_after_commits: Some(1),
            ..Default::default()
        },
        CrashHooks {
            abort_after_commits: Some(17),
            ..Default::default()
        },
        CrashHooks {
            abort_before_commit: Some(9),
            ..Default::default()
        },
        CrashHooks {
            abort_before_commit: Some(40),
            ..Default::default()
        },
    ] {
        let env = env(spec.clone()).await;
        let crashing = env.connector(env.config(), hooks);
        let err = crashing.historical_scan(Some(30)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Aborted, "{hooks:?}");
        drop(crashing);
        // A second crash, later in the run.
        let again = env.connector(
            env.config(),
            CrashHooks {
                abort_after_commits: Some(25),
                ..Default::default()
            },
        );
        let _ = again.historical_scan(Some(30)).await;
        drop(again);
        let restarted = env.connector(env.config(), CrashHooks::default());
        restarted.historical_scan(Some(30)).await.unwrap();
        // Output of the three runs together: every value once.
        assert_found_last_30_days(&env);
        let skips = env.skipped();
        let unique: BTreeSet<String> = skips.iter().map(|s| format!("{:?}", s)).collect();
        assert_eq!(
            unique.len(),
            skips.len(),
            "a skipped record was written twice ({hooks:?})"
        );
    }
}

#[tokio::test]
async fn offline_past_retention_reports_the_lost_window() {
    let env = env(WorkspaceSpec {
        users: 2,
        gpts: 0,
        ..Default::default()
    })
    .await;
    let connector = env.connector(env.config(), CrashHooks::default());
    connector.forward_scan().await.unwrap();
    let cursor_before = ANCHOR;
    env.clock.advance(Duration::from_secs(40 * 86_400));
    let s = connector.forward_scan().await.unwrap();
    assert_eq!(s.lost_windows.len(), 2, "{s:?}");
    for w in &s.lost_windows {
        assert_eq!(w.reason, "offline");
        let from =
            time::OffsetDateTime::parse(&w.from, &time::format_description::well_known::Rfc3339)
                .unwrap();
        let to = time::OffsetDateTime::parse(&w.to, &time::format_description::well_known::Rfc3339)
            .unwrap();
        assert!(from <= cursor_before && from > cursor_before - time::Duration::days(2));
        assert_eq!(to, env.clock.wall() - time::Duration::days(30));
    }
    let h = connector.historical_scan(Some(45)).await.unwrap();
    assert!(
        h.lost_windows
            .iter()
            .any(|w| w.reason == "beyond_retention"),
        "{h:?}"
    );
}

#[tokio::test]
async fn scope_filters_users_and_gpts() {
    let env = env(WorkspaceSpec {
        users: 6,
        ..Default::default()
    })
    .await;
    let ws = env.sim.workspace();
    let target = ws.users[2].email.clone();
    let gpt_name = ws
        .planted
        .iter()
        .find(|p| p.item == ItemKind::GptFile)
        .unwrap()
        .gpt_name
        .clone()
        .unwrap();
    let mut config = env.config();
    config.scope.users.mode = dlp_connector::UserMode::EmailRegex;
    config.scope.users.email_patterns = vec![regex::escape(&target).to_uppercase()];
    config.scope.gpts.mode = dlp_connector::GptMode::NameRegex;
    config.scope.gpts.name_patterns = vec![format!("^{}$", regex::escape(&gpt_name))];
    let connector = env.connector(config, CrashHooks::default());
    let s = connector.historical_scan(Some(30)).await.unwrap();
    assert!(s.out_of_scope_events > 0);
    let findings = env.findings();
    assert!(!findings.is_empty());
    for f in &findings {
        match f.meta.item.unwrap() {
            ItemKind::GptFile => assert_eq!(f.meta.gpt_name.as_deref(), Some(gpt_name.as_str())),
            _ => assert_eq!(f.meta.user_email.as_deref(), Some(target.as_str())),
        }
    }
}

#[tokio::test]
async fn organization_ids_use_the_organization_paths() {
    let env = env(WorkspaceSpec {
        users: 2,
        ..Default::default()
    })
    .await;
    let org = env.sim.workspace().org_id();
    let connector = dlp_connector::Connector::builder(
        &org,
        dlp_connector::ApiKey::new(env.sim.api_key()).unwrap(),
    )
    .inspector(PlantedFormats::shared())
    .config(env.config())
    .clock(env.clock.shared())
    .sink(Box::new(env.sink.clone()))
    .build()
    .unwrap();
    let s = connector.historical_scan(Some(30)).await.unwrap();
    assert!(s.findings > 0 && s.log_files > 0);
    let users = connector.client().all_users().await.unwrap();
    assert_eq!(users.len(), 2);
    let projects = connector.client().list_projects(None).await.unwrap();
    assert_eq!(projects.data.len(), 1);
    let id = projects.data[0].id.clone();
    assert!(connector
        .client()
        .project_configs(&id)
        .await
        .unwrap()
        .data
        .is_empty());
    let max = connector
        .client()
        .max_event_time(dlp_connector::EventType::AppLog)
        .await
        .unwrap();
    assert!(max.is_some());
}

#[tokio::test]
async fn evidence_filters_and_limits() {
    let env = env(WorkspaceSpec {
        users: 6,
        ..Default::default()
    })
    .await;
    let store = std::sync::Arc::new(object_store::memory::InMemory::new());
    let mut config = env.config();
    config.scan.file_types = vec!["txt".into(), "csv".into()];
    config.scan.max_file_size = 100;
    // The real engine applies the type and size filter (on the detected type); the
    // simulator's files are trusted, so it may parse them in-process.
    let mut engine = dlp_engine::EngineBuilder::new();
    engine.isolation(dlp_engine::Isolation::InProcess);
    let connector = dlp_connector::Connector::builder(
        env.sim.workspace_id(),
        dlp_connector::ApiKey::new(env.sim.api_key()).unwrap(),
    )
    .engine(engine)
    .config(config)
    .clock(env.clock.shared())
    .sink(Box::new(env.sink.clone()))
    .evidence(dlp_connector::Evidence::with_store(store.clone()))
    .build()
    .unwrap();
    connector.historical_scan(Some(30)).await.unwrap();
    let reasons: BTreeSet<String> = env
        .skipped()
        .into_iter()
        .map(|s| s.reason.to_string())
        .collect();
    assert!(
        reasons.contains("filtered_type") && reasons.contains("too_large"),
        "{reasons:?}"
    );
    use futures::StreamExt;
    use object_store::ObjectStore;
    let objects: Vec<_> = store.list(None).collect().await;
    let message_findings = env
        .findings()
        .iter()
        .filter(|f| f.meta.item == Some(ItemKind::Message))
        .count();
    assert!(
        message_findings > 0 && objects.len() >= message_findings / 3,
        "{} objects",
        objects.len()
    );
}

#[tokio::test]
async fn watch_polls_until_shutdown_and_saves_state() {
    let env = env(WorkspaceSpec {
        users: 3,
        future_hours: 2,
        ..Default::default()
    })
    .await;
    let mut config = env.config();
    config.scan.poll_interval_secs = 600;
    let connector = env.connector(config, CrashHooks::default());
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let mut cycles = 0;
    let shutdown = {
        let stop = stop.clone();
        async move { stop.notified().await }
    };
    connector
        .watch(shutdown, |_| {
            cycles += 1;
            if cycles == 14 {
                stop.notify_one();
            }
        })
        .await
        .unwrap();
    assert!(cycles >= 14);
    // Two hours of future activity were followed, ten minutes apart.
    assert!(env.clock.wall() >= ANCHOR + time::Duration::minutes(130));
    let want = expected(
        env.sim.workspace(),
        ANCHOR - time::Duration::days(30),
        ANCHOR + time::Duration::hours(2),
        ANCHOR,
    );
    let found: BTreeSet<Key> = unique_findings(&env.findings()).into_keys().collect();
    assert_eq!(found, want.findings);
}

#[tokio::test]
async fn malformed_responses_are_errors_not_panics_and_a_rerun_recovers() {
    let env = env(WorkspaceSpec {
        users: 3,
        ..Default::default()
    })
    .await;
    env.sim.faults(|f| f.garbage_next = 1);
    let connector = env.connector(env.config(), CrashHooks::default());
    let err = connector.historical_scan(Some(30)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    connector.historical_scan(Some(30)).await.unwrap();
    assert_found_last_30_days(&env);
}

#[tokio::test]
async fn uploads_that_fail_stay_pending_and_are_fetched_on_the_next_run() {
    let env = env(WorkspaceSpec {
        users: 8,
        ..Default::default()
    })
    .await;
    env.sim.faults(|f| f.user_files_down = true);
    let mut config = env.config();
    config.retry.max_attempts = 2;
    let connector = env.connector(config.clone(), CrashHooks::default());
    let first = connector.historical_scan(Some(30)).await.unwrap();
    assert!(first.pending_files > 0, "{first:?}");
    assert!(env
        .findings()
        .iter()
        .all(|f| f.meta.item != Some(ItemKind::ConversationFile)));
    drop(connector);
    // The outage ends an hour later; the next run fetches what was pending.
    env.sim.faults(|f| f.user_files_down = false);
    env.clock.advance(Duration::from_secs(3600));
    let connector = env.connector(config, CrashHooks::default());
    connector.forward_scan().await.unwrap();
    assert_found_last_30_days(&env);
}

#[tokio::test]
async fn cancelled_at_arbitrary_await_points_loses_nothing_and_repeats_nothing() {
    let env = env(WorkspaceSpec {
        users: 6,
        ..Default::default()
    })
    .await;
    // Each run is dropped wherever it is after a few real milliseconds: mid-download,
    // mid-listing, or between a commit and the next request.
    for ms in [1u64, 2, 4, 8, 16, 32] {
        let connector = env.connector(env.config(), CrashHooks::default());
        let _ = tokio::time::timeout(
            Duration::from_millis(ms),
            connector.historical_scan(Some(30)),
        )
        .await;
    }
    let connector = env.connector(env.config(), CrashHooks::default());
    connector.historical_scan(Some(30)).await.unwrap();
    assert_found_last_30_days(&env);
    let skips = env.skipped();
    let unique: BTreeSet<String> = skips.iter().map(|s| format!("{s:?}")).collect();
    assert_eq!(unique.len(), skips.len());
}

/// Files that failed are retried until they download; nothing is lost or repeated, and the
/// failures never end `watch` (the issue: exit code 2 after a minute at a 50% error rate).
#[tokio::test]
async fn log_downloads_failing_half_the_time_are_retried_until_every_value_is_found() {
    let env = env(WorkspaceSpec {
        users: 10,
        future_hours: 2,
        ..Default::default()
    })
    .await;
    env.sim.faults(|f| {
        f.error_rate = 0.5;
        f.error_rate_endpoints = vec![Endpoint::GetLog];
    });
    let mut config = env.config();
    // Two attempts a request: a quarter of the files fail their first cycle.
    config.retry.max_attempts = 2;
    config.scan.poll_interval_secs = 600;
    // Uploads are not what this test is about (and a late retry could find one expired).
    config.scan.conversation_files = false;
    let connector = env.connector(config, CrashHooks::default());
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let shutdown = {
        let stop = stop.clone();
        async move { stop.notified().await }
    };
    let (mut cycles, mut failed, mut log_files) = (0, 0, 0);
    let clock = env.clock.clone();
    connector
        .watch(shutdown, |s| {
            cycles += 1;
            failed += s.pending_log_files;
            log_files += s.log_files;
            assert!(s.lost_windows.is_empty(), "{s:?}");
            let done =
                clock.wall() > ANCHOR + time::Duration::minutes(135) && s.pending_log_files == 0;
            if done || cycles == 100 {
                stop.notify_one();
            }
        })
        .await
        .unwrap();
    assert!(cycles < 100, "the pending log files never all downloaded");
    assert!(failed > 0, "some downloads failed after their retries");
    let ws = env.sim.workspace();
    let mut want = expected(
        ws,
        ANCHOR - time::Duration::days(30),
        ANCHOR + time::Duration::hours(2),
        ANCHOR,
    );
    want.findings
        .retain(|(item, _, _)| !ws.files.contains_key(item) || ws.files[item].user_id.is_none());
    want.skipped.clear();
    assert_found(&env, &want);
    let in_window = ws
        .log_files
        .iter()
        .filter(|f| f.end_time > ANCHOR - time::Duration::days(30))
        .count();
    assert_eq!(log_files, in_window as u64, "every log file processed once");
    env.assert_limits_kept(50, 100);
    println!("{cycles} cycles, {failed} failed downloads of {in_window} log files");
}

#[tokio::test]
async fn a_failed_poll_does_not_end_watch_but_a_revoked_key_does() {
    let env = env(WorkspaceSpec {
        users: 3,
        ..Default::default()
    })
    .await;
    // The first polls fail: their listings get 5xx until retries and budget are spent.
    env.sim.faults(|f| f.server_errors_next = 40);
    let mut config = env.config();
    config.retry.max_attempts = 2;
    config.retry.budget = 4;
    config.scan.poll_interval_secs = 60;
    let connector = env.connector(config.clone(), CrashHooks::default());
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let shutdown = {
        let stop = stop.clone();
        async move { stop.notified().await }
    };
    let (mut cycles, mut failed) = (0, 0);
    connector
        .watch_outcomes(shutdown, |outcome| match outcome {
            Ok(_) => {
                cycles += 1;
                if cycles == 2 {
                    stop.notify_one();
                }
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Server, "{e}");
                failed += 1;
            }
        })
        .await
        .unwrap();
    assert!(failed >= 3, "{failed} polls failed before two succeeded");
    assert!(env.clock.wall() >= ANCHOR + time::Duration::minutes(failed));
    assert_found_last_30_days(&env);
    drop(connector);

    env.sim.faults(|f| f.revoked = true);
    let connector = env.connector(config, CrashHooks::default());
    let err = connector
        .watch(std::future::pending(), |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
}

#[tokio::test]
async fn pending_log_files_past_the_retention_become_lost_windows() {
    let env = env(WorkspaceSpec {
        users: 2,
        gpts: 0,
        ..Default::default()
    })
    .await;
    env.sim.faults(|f| {
        f.error_rate = 1.0;
        f.error_rate_endpoints = vec![Endpoint::GetLog];
    });
    let mut config = env.config();
    config.retry.max_attempts = 1;
    let connector = env.connector(config, CrashHooks::default());
    let first = connector.forward_scan().await.unwrap();
    let ws = env.sim.workspace();
    let listed = |from: OffsetDateTime, to: OffsetDateTime| {
        ws.log_files
            .iter()
            .filter(|f| f.end_time > from && f.end_time <= to)
            .count()
    };
    let month = time::Duration::days(30);
    assert_eq!(
        first.pending_log_files as usize,
        listed(ANCHOR - month, ANCHOR)
    );
    assert_eq!(first.log_files, 0);
    assert!(env.findings().is_empty());

    // Ten days later the downloads work again: the files still kept are processed, the
    // others are reported lost.
    env.sim.faults(|f| f.error_rate = 0.0);
    env.clock.advance(Duration::from_secs(10 * 86_400));
    let now = env.clock.wall();
    let second = connector.forward_scan().await.unwrap();
    let lost: Vec<_> = second
        .lost_windows
        .iter()
        .filter(|w| w.reason == "download_failed")
        .collect();
    assert_eq!(
        lost.len(),
        listed(ANCHOR - month, now - month),
        "{second:?}"
    );
    assert_eq!(lost.len(), second.lost_windows.len());
    assert_eq!(second.pending_log_files, 0);
    assert_eq!(second.log_files as usize, listed(now - month, ANCHOR));
    assert_found(&env, &expected(ws, now - month, ANCHOR, now));
    let report = dlp_connector::StateStore::open(&env.state_path(), ws.id.as_str())
        .unwrap()
        .report(now)
        .unwrap();
    assert_eq!(report.pending_log_files, 0);
    assert_eq!(report.lost_windows.len(), lost.len());
    let third = connector.forward_scan().await.unwrap();
    assert!(
        third.lost_windows.is_empty() && third.log_files == 0,
        "{third:?}"
    );
}

/// The issue: six kills in a minute gave 123 `get_log` requests against a limit of 100.
#[tokio::test]
async fn a_crash_loop_does_not_exceed_the_rate_limits() {
    let env = env_with(SimConfig {
        spec: WorkspaceSpec {
            users: 6,
            ..Default::default()
        },
        list_per_minute: 10,
        get_per_minute: 20,
        ..Default::default()
    })
    .await;
    let mut config = env.config();
    config.rate_limits.list_per_minute = 10;
    config.rate_limits.get_per_minute = 20;
    for _ in 0..6 {
        let killed = env.connector(
            config.clone(),
            CrashHooks {
                abort_after_commits: Some(8),
                ..Default::default()
            },
        );
        let err = killed.historical_scan(Some(30)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Aborted);
    }
    let connector = env.connector(config, CrashHooks::default());
    connector.historical_scan(Some(30)).await.unwrap();
    assert_found_last_30_days(&env);
    println!("peak per minute {:?}", env.sim.max_per_minute());
    env.assert_limits_kept(10, 20);
}

#[tokio::test]
async fn forward_scans_inspect_new_and_updated_gpts_once() {
    let env = env(WorkspaceSpec {
        users: 2,
        gpts: 2,
        new_gpts: 1,
        gpt_updates: 4,
        future_hours: 4,
        ..Default::default()
    })
    .await;
    let ws = env.sim.workspace();
    let connector = env.connector(env.config(), CrashHooks::default());
    let configs = |s: &dlp_connector::ScanSummary| s.requests.get("gpts/{id}/configs").copied();
    let gpt_files = |s: &dlp_connector::ScanSummary| s.requests.get("gpt_files/{id}").copied();

    let first = connector.forward_scan().await.unwrap();
    assert_eq!((first.gpts_in_scope, first.gpts_changed), (2, 2));
    assert_eq!(first.gpt_files_inspected, 4);
    assert_eq!(configs(&first), None, "new GPTs are read from the listing");

    // Four hours later: one new GPT (updated once since), one GPT updated twice, one once.
    env.clock.advance(Duration::from_secs(5 * 3600));
    let second = connector.forward_scan().await.unwrap();
    assert_eq!((second.gpts_in_scope, second.gpts_changed), (3, 3));
    assert_eq!(second.gpt_files_inspected, 6, "{second:?}");
    assert_eq!(gpt_files(&second), Some(6));
    assert_eq!(
        configs(&second),
        Some(2),
        "one versions request per updated GPT"
    );

    // Nothing changed: the listing only.
    let third = connector.forward_scan().await.unwrap();
    assert_eq!((third.gpts_changed, third.gpt_files_inspected), (0, 0));
    assert_eq!(configs(&third), None);
    assert_eq!(gpt_files(&third), None);
    assert_eq!(third.requests.get("gpts").copied(), Some(1));

    // Each knowledge file once, with the newest version that had it when it was found.
    let found = unique_findings(&env.findings());
    let mut renamed = 0;
    for p in ws.planted.iter().filter(|p| p.item == ItemKind::GptFile) {
        let f = &found[&planted_key(p)];
        let gpt = ws
            .gpts
            .iter()
            .find(|g| Some(&g.id) == p.gpt_id.as_ref())
            .unwrap();
        let file_id = p.file_id.as_ref().unwrap();
        let scanned_at = if ws.files[file_id].uploaded_at <= ANCHOR {
            ANCHOR
        } else {
            ANCHOR + time::Duration::hours(5)
        };
        let config = gpt
            .configs_at(scanned_at)
            .find(|c| c.files.contains(file_id))
            .unwrap();
        assert_eq!(f.meta.gpt_name.as_ref(), Some(&config.name));
        assert_eq!(f.meta.gpt_config_id.as_ref(), Some(&config.id));
        assert_eq!(
            f.meta.gpt_knowledge_files.as_ref().map(Vec::len),
            Some(config.files.len())
        );
        assert_eq!(f.meta.gpt_owner_email, p.user_email);
        assert!(f.meta.gpt_visibility.is_some());
        if config.name.contains(" v") {
            renamed += 1;
        }
    }
    assert!(renamed >= 4, "updated files carry their version's name");
}
