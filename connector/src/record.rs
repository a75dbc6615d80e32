//! The connector's output: a [`Record`] per finding or skipped item, written as JSON lines to a
//! [`RecordSink`].

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// The kind of item a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A user or assistant message.
    Message,
    /// A file attached to a conversation.
    ConversationFile,
    /// A custom GPT's knowledge file.
    GptFile,
    /// A tool call's input or output.
    AppLog,
}

impl ItemKind {
    /// The name written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Message => "message",
            ItemKind::ConversationFile => "conversation_file",
            ItemKind::GptFile => "gpt_file",
            ItemKind::AppLog => "app_log",
        }
    }
}

/// The provenance of an item; `null` where not applicable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemMeta {
    /// The kind of item.
    pub item: Option<ItemKind>,
    /// Workspace (or organization) id.
    pub workspace_id: Option<String>,
    /// Conversation id.
    pub conversation_id: Option<String>,
    /// Conversation title.
    pub conversation_title: Option<String>,
    /// Message id.
    pub message_id: Option<String>,
    /// Compliance log event id.
    pub event_id: Option<String>,
    /// File id.
    pub file_id: Option<String>,
    /// File name.
    pub file_name: Option<String>,
    /// GPT id (of the conversation, or owning the knowledge file).
    pub gpt_id: Option<String>,
    /// GPT name.
    pub gpt_name: Option<String>,
    /// GPT creator's email (knowledge files).
    pub gpt_owner_email: Option<String>,
    /// GPT sharing visibility (knowledge files).
    pub gpt_visibility: Option<String>,
    /// Names of the GPT's knowledge files (knowledge files).
    pub gpt_knowledge_files: Option<Vec<String>>,
    /// Email of the user who wrote the message, uploaded the file or made the tool call.
    pub user_email: Option<String>,
    /// Message author role (`user`, `assistant`, ...).
    pub author_role: Option<String>,
    /// Model of the message.
    pub model: Option<String>,
    /// Tools invoked by the message.
    pub tools: Option<Vec<String>>,
    /// App of a tool call.
    pub app_name: Option<String>,
    /// Whether the conversation is a temporary chat.
    pub is_temporary_chat: Option<bool>,
    /// Event time (ISO 8601).
    pub timestamp: Option<String>,
}

/// A sensitive value found in an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    /// Detector id.
    pub detector: String,
    /// `pii`, `secret` or `custom`.
    pub category: String,
    /// `high`, `medium` or `low`.
    pub confidence: String,
    /// Provenance.
    #[serde(flatten)]
    pub meta: ItemMeta,
    /// Where within the item (JSON path of a tool call, archive member, page), if known.
    pub location: Option<String>,
    /// Byte span in the inspected text.
    pub start: usize,
    /// End of the span.
    pub end: usize,
    /// Masked preview.
    pub masked: String,
    /// SHA-256 of the normalized value.
    pub fingerprint: String,
}

/// An item that was not inspected, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// `image_only`, `expired`, `too_large`, `file_type`, `unsupported_format`, ...
    pub reason: String,
    /// Provenance.
    #[serde(flatten)]
    pub meta: ItemMeta,
}

/// One output record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// A finding.
    Finding(FindingRecord),
    /// A skipped item.
    Skipped(SkippedRecord),
}

impl Record {
    /// The record as one JSON line (without the newline).
    pub fn to_json(&self) -> String {
        // Serializing these plain structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Where records go. Called only after the records are committed to the state database.
pub trait RecordSink: Send {
    /// Writes one record.
    fn write(&mut self, record: &Record) -> std::io::Result<()>;
    /// Makes written records durable (flushes the writer).
    fn flush(&mut self) -> std::io::Result<()>;
}

/// Writes records as JSON lines.
#[derive(Debug)]
pub struct JsonlSink<W: Write + Send> {
    writer: W,
}

impl<W: Write + Send> JsonlSink<W> {
    /// A sink writing to `writer`.
    pub fn new(writer: W) -> Self {
        JsonlSink { writer }
    }
}

impl<W: Write + Send> RecordSink for JsonlSink<W> {
    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        self.writer.write_all(record.to_json().as_bytes())?;
        self.writer.write_all(b"\n")
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

/// Keeps records in memory; clones share the same list (tests, the demo's summary).
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    records: Arc<Mutex<Vec<Record>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        MemorySink::default()
    }

    /// The records written so far.
    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl RecordSink for MemorySink {
    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record.clone());
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends each record to two sinks.
pub struct TeeSink<A: RecordSink, B: RecordSink>(pub A, pub B);

impl<A: RecordSink, B: RecordSink> RecordSink for TeeSink<A, B> {
    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        self.0.write(record)?;
        self.1.write(record)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_json_has_every_field_and_round_trips() {
        let record = Record::Finding(FindingRecord {
            detector: "credit_card".into(),
            category: "pii".into(),
            confidence: "high".into(),
            meta: ItemMeta {
                item: Some(ItemKind::Message),
                ..Default::default()
            },
            location: None,
            start: 1,
            end: 2,
            masked: "4111 **** **** 1111".into(),
            fingerprint: "ab".into(),
        });
        let json: serde_json::Value = serde_json::from_str(&record.to_json()).unwrap();
        assert_eq!(json["record"], "finding");
        assert_eq!(json["item"], "message");
        for field in [
            "detector",
            "workspace_id",
            "conversation_id",
            "conversation_title",
            "message_id",
            "event_id",
            "file_id",
            "file_name",
            "gpt_id",
            "gpt_name",
            "user_email",
            "author_role",
            "model",
            "tools",
            "is_temporary_chat",
            "timestamp",
            "masked",
            "fingerprint",
        ] {
            assert!(json.get(field).is_some(), "missing {field}");
        }
        let back: Record = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
    }
}
