//! Whether a key can read a workspace: the local check of a workspace id's shape, and the one
//! cheap request that tells a working key from a wrong one, one without the Compliance API
//! scope, or a wrong workspace id, each with what to do about it.
//!
//! It must never print the key, and never retry for long: the answer is for a person waiting
//! at a terminal (`dlp chatgpt connect`) or for a status column.

use crate::clock::SystemClock;
use crate::config::{ApiConfig, RateLimitConfig, RetryConfig};
use crate::credentials::ApiKey;
use crate::error::{Error, ErrorKind};
use crate::model::EventType;
use crate::ComplianceClient;

/// Checks the shape of a workspace id without asking the API: a UUID
/// (`1a2b3c4d-0000-4000-8000-00000000abcd`, any case), or an organization id (`org-` and
/// letters or digits).
pub fn validate_workspace_id(id: &str) -> Result<(), Error> {
    let hint = "expected the workspace id from the workspace's admin settings, a UUID such as \
                1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d, or an organization id org-...";
    let bad = |why: &str| {
        Err(Error::new(
            ErrorKind::Config,
            format!("invalid workspace id {id:?}: {why}; {hint}"),
        ))
    };
    if let Some(org) = id.strip_prefix("org-") {
        if org.is_empty() || org.len() > 64 || !org.chars().all(|c| c.is_ascii_alphanumeric()) {
            return bad("an organization id is org- followed by letters and digits");
        }
        return Ok(());
    }
    let groups: Vec<&str> = id.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lengths != [8, 4, 4, 4, 12] {
        return bad("not a UUID (8-4-4-4-12 hexadecimal digits)");
    }
    if !groups
        .iter()
        .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return bad("a UUID has only hexadecimal digits (0-9, a-f)");
    }
    Ok(())
}

/// What a successful check learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The time of the newest conversation event the API knows of (`max_event_time`), if any.
    pub newest_event: Option<String>,
}

/// Asks the API once (`GET /max_event_time`, a list route of one tiny answer) whether `key`
/// can read `workspace_id`. Errors keep their [`ErrorKind`] (`Unauthorized`, `Forbidden`,
/// `NotFound`, or a transient kind when the API cannot be reached) and say what to fix.
pub async fn check_access(
    api: &ApiConfig,
    workspace_id: &str,
    key: &ApiKey,
) -> Result<Access, Error> {
    validate_workspace_id(workspace_id)?;
    let mut api = api.clone();
    api.request_timeout_secs = api.request_timeout_secs.min(20);
    // One retry at most, soon: a person is waiting.
    let retry = RetryConfig {
        max_attempts: 2,
        budget: 2,
        base_delay_ms: 250,
        max_delay_secs: 2,
    };
    let client = ComplianceClient::new(
        &api,
        RateLimitConfig::default(),
        retry,
        workspace_id,
        key.clone(),
        SystemClock::shared(),
    )?;
    let base = api.base_url.trim_end_matches('/');
    match client.max_event_time(EventType::ConversationMessage).await {
        Ok(newest_event) => Ok(Access { newest_event }),
        Err(e) => Err(explain(e, workspace_id, base)),
    }
}

/// The error of a failed check, reworded for the person who must fix it.
fn explain(e: Error, workspace_id: &str, base: &str) -> Error {
    let status = e.status();
    let message = match e.kind() {
        ErrorKind::Unauthorized => format!(
            "the API key was refused (401 Unauthorized): it is wrong or revoked. Check that the \
             key file holds the whole key; if the key was rotated or revoked, create a new one \
             and give it with --api-key-file ({e})"
        ),
        ErrorKind::Forbidden => format!(
            "403 Forbidden for workspace {workspace_id}: the API key was accepted, but either it \
             lacks the Compliance API read scope, or it is not authorized for this workspace \
             (the workspace id is wrong, or the key belongs to another workspace). To fix: \
             (1) check the workspace id (copy it from the workspace's admin settings); (2) if \
             it is right, ask OpenAI (your account team, or support) to grant the compliance \
             read scope (api.compliance.read) to a key of this workspace, and give that key \
             with --api-key-file ({e})"
        ),
        ErrorKind::NotFound => format!(
            "404 Not Found for workspace {workspace_id}: either the workspace id is wrong (copy \
             it from the workspace's admin settings; an organization id starts with org-), or \
             the API key lacks the Compliance API read scope (ask OpenAI to grant \
             api.compliance.read to the key); the Compliance API also answers 404 for a \
             workspace that is not on an Enterprise or Edu plan ({e})"
        ),
        kind if kind.is_retryable() => format!(
            "cannot reach the Compliance API at {base}: {e}. Check the network, a proxy, or \
             --base-url"
        ),
        _ => format!("the Compliance API at {base} gave an unexpected answer: {e}"),
    };
    let error = Error::new(e.kind(), message);
    match status {
        Some(code) => error.with_status(code),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_ids_are_checked_locally() {
        for ok in [
            "ec779c36-93f8-4501-8ed9-eeb4936de39d",
            "EC779C36-93F8-4501-8ED9-EEB4936DE39D",
            "org-ec779c36",
            "org-AbC123xyz",
        ] {
            validate_workspace_id(ok).unwrap();
        }
        for (bad, why) in [
            ("", "not a UUID"),
            ("ws", "not a UUID"),
            ("ec779c36-93f8-4501-8ed9-eeb4936de39", "not a UUID"),
            ("ec779c36-93f8-4501-8ed9-eeb4936de39z", "hexadecimal"),
            ("ec779c36 93f8-4501-8ed9-eeb4936de39d", "not a UUID"),
            ("org-", "organization id"),
            ("org-a/b", "organization id"),
            ("../etc", "not a UUID"),
        ] {
            let err = validate_workspace_id(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains(why), "{bad}: {err}");
            assert!(err.to_string().contains("admin settings"), "{err}");
        }
    }
}
