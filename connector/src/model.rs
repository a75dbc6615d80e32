//! The Compliance API's data, as the connector reads it. Every field that the API may omit is
//! optional and unknown fields are ignored, so that a new API version does not break a scan.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The event types the connector inspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// A user or assistant message in a conversation.
    ConversationMessage,
    /// A tool call through an app or MCP server (request or response).
    AppLog,
}

impl EventType {
    /// Both inspected event types.
    pub const ALL: [EventType; 2] = [EventType::ConversationMessage, EventType::AppLog];

    /// The API's name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ConversationMessage => "CONVERSATION_MESSAGE",
            EventType::AppLog => "APP_LOG",
        }
    }

    /// Parses the API's name.
    pub fn parse(name: &str) -> Option<EventType> {
        match name {
            "CONVERSATION_MESSAGE" => Some(EventType::ConversationMessage),
            "APP_LOG" => Some(EventType::AppLog),
            _ => None,
        }
    }
}

/// One log file in a `/logs` listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogFile {
    /// Its id (`eclf_...`).
    pub id: String,
    /// Event type of its events (as sent; may be a type the connector does not know).
    pub event_type: String,
    /// The time of the last event it covers (ISO 8601).
    pub end_time: String,
    /// File name.
    #[serde(default)]
    pub file_name: Option<String>,
    /// Size in bytes, when given; checked after download.
    #[serde(default)]
    pub file_size: Option<u64>,
    /// SHA-256 of the content (hex), when given; checked after download.
    #[serde(default)]
    pub file_sha256: Option<String>,
}

/// A page of `/logs`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogPage {
    /// Log files, by `end_time` ascending.
    #[serde(default)]
    pub data: Vec<LogFile>,
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// The cursor for the next call; null on an empty page.
    #[serde(default)]
    pub last_end_time: Option<String>,
}

/// A page of a stateful list endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListPage<T> {
    /// Items of the page.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// The id to pass as `after` for the next page.
    #[serde(default)]
    pub last_id: Option<String>,
}

/// A workspace user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// `user-...`.
    pub id: String,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Workspace role.
    #[serde(default)]
    pub role: Option<String>,
    /// `active` or `inactive`.
    #[serde(default)]
    pub status: Option<String>,
}

/// A custom GPT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gpt {
    /// `g-...`.
    pub id: String,
    /// Owner's user id.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Owner's (creator's) email.
    #[serde(default)]
    pub owner_email: Option<String>,
    /// Builder name.
    #[serde(default)]
    pub builder_name: Option<String>,
    /// Sharing configuration, kept as sent.
    #[serde(default)]
    pub sharing: Option<Value>,
    /// The latest configuration (a list with one entry).
    #[serde(default)]
    pub latest_config: Option<ListPage<GptConfig>>,
}

impl Gpt {
    /// The latest configuration, if any.
    pub fn config(&self) -> Option<&GptConfig> {
        self.latest_config.as_ref().and_then(|c| c.data.first())
    }

    /// The GPT's name, from its latest configuration.
    pub fn name(&self) -> Option<&str> {
        self.config().and_then(|c| c.name.as_deref())
    }

    /// The sharing visibility (`invite-only`, `workspace`, ...).
    pub fn visibility(&self) -> Option<&str> {
        self.sharing
            .as_ref()
            .and_then(|s| s.get("visibility"))
            .and_then(Value::as_str)
    }
}

/// One version of a GPT's (or project's) configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GptConfig {
    /// `gzm_cnf_...`.
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Instructions.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Knowledge files.
    #[serde(default)]
    pub files: Option<ListPage<KnowledgeFile>>,
}

impl GptConfig {
    /// The knowledge files of this configuration.
    pub fn knowledge_files(&self) -> &[KnowledgeFile] {
        self.files
            .as_ref()
            .map(|f| f.data.as_slice())
            .unwrap_or(&[])
    }
}

/// A knowledge file of a GPT or project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeFile {
    /// `file-...`.
    pub id: String,
    /// File name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A project (shaped like a GPT).
pub type Project = Gpt;

/// The actor of an event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// `ACCOUNT_USER`, `API_KEY`, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `user-...`.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Email.
    #[serde(default)]
    pub user_email: Option<String>,
}

/// One event of a log file, with the fields the connector reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    /// Unique id; the key of de-duplication.
    pub event_id: String,
    /// Event type name.
    #[serde(rename = "type")]
    pub kind: String,
    /// ISO 8601 time of the event.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Who acted.
    #[serde(default)]
    pub actor: Actor,
    /// `CONVERSATION_MESSAGE`: the message.
    #[serde(default)]
    pub message: Option<Message>,
    /// `CONVERSATION_MESSAGE`: the conversation.
    #[serde(default)]
    pub conversation: Option<Conversation>,
    /// `APP_LOG`: app name.
    #[serde(default)]
    pub app_name: Option<String>,
    /// `APP_LOG`: action name, where given at top level.
    #[serde(default)]
    pub action_name: Option<String>,
    /// `APP_LOG`: the conversation, when the call was made in one.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// `APP_LOG`: `request` or `response`.
    #[serde(default)]
    pub log_type: Option<String>,
    /// `APP_LOG`: the request's arguments (any JSON).
    #[serde(default)]
    pub input: Option<Value>,
    /// `APP_LOG`: the response (any JSON).
    #[serde(default)]
    pub output: Option<Value>,
}

/// A conversation message.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Message {
    /// Message id.
    #[serde(default)]
    pub id: Option<String>,
    /// Author.
    #[serde(default)]
    pub author: Author,
    /// Content; text or something else (an image).
    #[serde(default)]
    pub content: Option<Content>,
    /// Files attached to the message.
    #[serde(default)]
    pub files: Vec<FileRef>,
}

/// A message author.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Author {
    /// `user`, `assistant`, `system`, `tool` (`role` in older objects).
    #[serde(default, rename = "type", alias = "role")]
    pub role: Option<String>,
    /// Model, usually null on user messages.
    #[serde(default)]
    pub model: Option<String>,
    /// Tools invoked.
    #[serde(default)]
    pub tools_used: Vec<String>,
}

/// Message content.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Content {
    /// `text`, or another type (an image).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The text, for `text` content.
    #[serde(default)]
    pub value: Option<Value>,
}

impl Content {
    /// The text to inspect, if this is non-empty text.
    pub fn text(&self) -> Option<&str> {
        if self.kind.as_deref().is_some_and(|k| k != "text") {
            return None;
        }
        self.value
            .as_ref()
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
    }
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    /// `file-...`.
    pub id: String,
    /// File name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The conversation of a message.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Conversation {
    /// Conversation id.
    #[serde(default)]
    pub id: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Whether it is a temporary chat.
    #[serde(default)]
    pub is_temporary_chat: Option<bool>,
    /// The GPT the conversation is with.
    #[serde(default)]
    pub gpt_id: Option<String>,
    /// Its name.
    #[serde(default)]
    pub gpt_name: Option<String>,
    /// Project id.
    #[serde(default)]
    pub project_id: Option<String>,
}

/// The result of parsing one log file.
#[derive(Debug, Default)]
pub struct ParsedLog {
    /// Events of the inspected types, in file order.
    pub events: Vec<Event>,
    /// Lines that were not valid JSON events.
    pub malformed_lines: usize,
    /// Events of types the connector does not inspect.
    pub ignored_events: usize,
}

/// Parses a JSONL log file. Never fails: bad lines are counted.
pub fn parse_log(content: &[u8]) -> ParsedLog {
    let mut parsed = ParsedLog::default();
    for line in content.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(_) => {
                parsed.malformed_lines += 1;
                continue;
            }
        };
        let known = value
            .get("type")
            .and_then(Value::as_str)
            .and_then(EventType::parse)
            .is_some();
        if !known {
            if value.get("type").and_then(Value::as_str).is_some() {
                parsed.ignored_events += 1;
            } else {
                parsed.malformed_lines += 1;
            }
            continue;
        }
        match serde_json::from_value::<Event>(value) {
            Ok(event) => parsed.events.push(event),
            Err(_) => parsed.malformed_lines += 1,
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_unknown_and_malformed_lines() {
        let log = br#"{"event_id":"e1","type":"CONVERSATION_MESSAGE","message":{"id":"m","author":{"type":"user"},"content":{"type":"text","value":"hi"},"new_field":1},"conversation":{"id":"c"}}
not json
{"event_id":"e2","type":"AUTH_LOG"}
{"type":"APP_LOG"}

{"event_id":"e3","type":"APP_LOG","input":{"q":"x"}}
"#;
        let p = parse_log(log);
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.malformed_lines, 2);
        assert_eq!(p.ignored_events, 1);
        let m = p.events[0].message.as_ref().unwrap();
        assert_eq!(m.content.as_ref().unwrap().text(), Some("hi"));
    }

    #[test]
    fn image_content_has_no_text() {
        let c = Content {
            kind: Some("image_asset_pointer".into()),
            value: None,
        };
        assert_eq!(c.text(), None);
        let c = Content {
            kind: Some("text".into()),
            value: Some(Value::Null),
        };
        assert_eq!(c.text(), None);
    }
}
