//! The connector's output: a [`Record`] per finding or skipped item, written as JSON lines to a
//! [`RecordSink`].

use std::io::Write;
use std::sync::{Arc, Mutex};

use dlp_engine::{Category, Confidence, Finding, Skipped};
use serde::{Deserialize, Serialize};

use crate::sync::lock;

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
    /// The GPT configuration version the knowledge file was found in (`gzm_cnf_...`).
    pub gpt_config_id: Option<String>,
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

/// Why an item, or a member inside it, was not (fully) inspected: the engine's reasons
/// ([`dlp_engine::SkipReason`], as `dlp scan` reports them) and the two that only the connector
/// knows. Written in records as one flat snake_case string (`image_only`, `expired`,
/// `limit_exceeded`, `timeout`, `too_large`, `filtered_type`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// A message with no text (an image, or empty): `image_only`.
    ImageOnly,
    /// A conversation upload that expired (48 hours) before it could be downloaded (`410`):
    /// `expired`.
    Expired,
    /// A reason of the inspection engine: `broken_file`, `timeout`, `limit_exceeded`,
    /// `encrypted`, `unsupported_format`, `filtered_type`, `too_large`, `not_found`,
    /// `unreadable`, `not_a_file`.
    Engine(dlp_engine::SkipReason),
}

impl SkipReason {
    /// The reason as written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::ImageOnly => "image_only",
            SkipReason::Expired => "expired",
            SkipReason::Engine(reason) => reason.as_str(),
        }
    }

    /// Parses a reason as written by [`SkipReason::as_str`]. `file_type`, the name of
    /// `filtered_type` in records of earlier versions, is accepted too.
    pub fn from_name(name: &str) -> Option<SkipReason> {
        match name {
            "image_only" => Some(SkipReason::ImageOnly),
            "expired" => Some(SkipReason::Expired),
            "file_type" => Some(SkipReason::Engine(dlp_engine::SkipReason::FilteredType)),
            _ => dlp_engine::SkipReason::from_name(name).map(SkipReason::Engine),
        }
    }
}

impl From<dlp_engine::SkipReason> for SkipReason {
    fn from(reason: dlp_engine::SkipReason) -> Self {
        SkipReason::Engine(reason)
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SkipReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SkipReason {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        SkipReason::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown skip reason {name:?}")))
    }
}

/// A sensitive value found in an item: the engine's [`Finding`] with the item's provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    /// Detector id.
    pub detector: String,
    /// `pii`, `secret` or `custom`.
    pub category: Category,
    /// `high`, `medium` or `low`.
    pub confidence: Confidence,
    /// Provenance.
    #[serde(flatten)]
    pub meta: ItemMeta,
    /// Path inside the file when the value is in an archive member or an embedded document
    /// (`inner/b.zip/c.docx`); `null` otherwise.
    #[serde(default)]
    pub member: Option<String>,
    /// Where within the item or member: `page 3`, `sheet Q2`, or the JSON path of a tool call's
    /// string (`input.query`); `null` when the format has no such notion.
    pub location: Option<String>,
    /// Byte span in the inspected text (of the member, for a member).
    pub start: usize,
    /// End of the span.
    pub end: usize,
    /// 1-based line of `start` in the inspected text (0 in records of earlier versions).
    #[serde(default)]
    pub line: u64,
    /// 1-based column of `start` on its line, in characters (0 in records of earlier versions).
    #[serde(default)]
    pub column: u64,
    /// Masked preview.
    pub masked: String,
    /// Fingerprint of the normalized value: HMAC-SHA-256 under the installation's key (see
    /// `dlp_engine::FingerprintKey`), or plain SHA-256 when so configured.
    pub fingerprint: String,
    /// Found in text recognised by OCR (an uploaded image, an image-only PDF page): its
    /// confidence is one step lower. Left out of the JSON when `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ocr: bool,
}

impl FindingRecord {
    /// The record of `finding`, found in the item described by `meta`.
    pub fn new(finding: Finding, meta: ItemMeta) -> Self {
        FindingRecord {
            detector: finding.detector,
            category: finding.category,
            confidence: finding.confidence,
            meta,
            member: finding.member,
            location: finding.location,
            start: finding.start,
            end: finding.end,
            line: finding.line,
            column: finding.column,
            masked: finding.masked,
            fingerprint: finding.fingerprint,
            ocr: finding.ocr,
        }
    }
}

/// An item, or a member inside it, that was not (fully) inspected, and why. A skip inside an
/// item (an archive member over a limit, a time limit after part of the text) is reported even
/// when the item also had findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// Why.
    pub reason: SkipReason,
    /// Provenance.
    #[serde(flatten)]
    pub meta: ItemMeta,
    /// The member of the file that was skipped (`inner/bomb.zip`); `null` for the whole item.
    #[serde(default)]
    pub member: Option<String>,
    /// What happened, for a person (`null` when the reason says it all).
    #[serde(default)]
    pub detail: Option<String>,
}

impl SkippedRecord {
    /// The skip of a whole item, with no detail.
    pub fn item(reason: SkipReason, meta: ItemMeta) -> Self {
        SkippedRecord {
            reason,
            meta,
            member: None,
            detail: None,
        }
    }

    /// The record of an engine's `skipped`, in the item described by `meta`.
    pub fn new(skipped: Skipped, meta: ItemMeta) -> Self {
        SkippedRecord {
            reason: SkipReason::Engine(skipped.reason),
            meta,
            member: skipped.member,
            detail: Some(skipped.detail).filter(|d| !d.is_empty()),
        }
    }
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

    /// Where the sink stands after the records flushed so far (a file's name and length), or
    /// `None` when it cannot go back. The connector saves it with the records' emitted marks in
    /// one transaction, and gives it back to [`RecordSink::resume`] when it starts again.
    fn checkpoint(&mut self) -> std::io::Result<Option<String>> {
        Ok(None)
    }

    /// Called once, before the first write, with the checkpoint saved last. A sink that can go
    /// back to it (a file truncated to its saved length) drops the output of records that were
    /// written but not yet marked emitted when the process was killed: they are written again,
    /// so such a sink holds each record exactly once. A checkpoint that is not the sink's own
    /// (another file) is ignored.
    fn resume(&mut self, checkpoint: Option<&str>) -> std::io::Result<()> {
        let _ = checkpoint;
        Ok(())
    }
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
        lock(&self.records).clone()
    }
}

impl RecordSink for MemorySink {
    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        lock(&self.records).push(record.clone());
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends each record to two sinks.
#[derive(Debug)]
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
            category: Category::Pii,
            confidence: Confidence::High,
            meta: ItemMeta {
                item: Some(ItemKind::Message),
                ..Default::default()
            },
            member: None,
            location: None,
            start: 1,
            end: 2,
            line: 1,
            column: 1,
            masked: "4111 **** **** 1111".into(),
            fingerprint: "ab".into(),
            ocr: false,
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
            "gpt_config_id",
            "user_email",
            "author_role",
            "model",
            "tools",
            "is_temporary_chat",
            "timestamp",
            "masked",
            "fingerprint",
            "member",
            "location",
            "line",
        ] {
            assert!(json.get(field).is_some(), "missing {field}");
        }
        assert_eq!(json["category"], "pii");
        assert_eq!(json["confidence"], "high");
        assert!(json.get("ocr").is_none(), "ocr is left out when false");
        let back: Record = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
        // A value read by OCR says so, and round-trips.
        let Record::Finding(mut read) = record else {
            unreachable!()
        };
        read.ocr = true;
        let record = Record::Finding(read);
        let json: serde_json::Value = serde_json::from_str(&record.to_json()).unwrap();
        assert_eq!(json["ocr"], true);
        assert_eq!(serde_json::from_value::<Record>(json).unwrap(), record);
    }

    #[test]
    fn skip_reasons_are_flat_strings_and_round_trip() {
        let mut reasons = vec![SkipReason::ImageOnly, SkipReason::Expired];
        reasons.extend(
            dlp_engine::SkipReason::all()
                .iter()
                .map(|&r| SkipReason::Engine(r)),
        );
        for reason in reasons {
            let record = Record::Skipped(SkippedRecord {
                reason,
                meta: ItemMeta::default(),
                member: Some("inner/bomb.zip".into()),
                detail: Some("why".into()),
            });
            let json: serde_json::Value = serde_json::from_str(&record.to_json()).unwrap();
            assert_eq!(json["reason"], reason.as_str());
            assert_eq!(json["member"], "inner/bomb.zip");
            let back: Record = serde_json::from_value(json).unwrap();
            assert_eq!(back, record);
        }
        assert_eq!(
            SkipReason::from_name("file_type"),
            Some(SkipReason::Engine(dlp_engine::SkipReason::FilteredType))
        );
        assert_eq!(SkipReason::from_name("nonsense"), None);
    }

    #[test]
    fn records_of_earlier_versions_still_parse() {
        let old = r#"{"record":"finding","detector":"credit_card","category":"pii","confidence":"high",
            "item":"message","location":null,"start":1,"end":2,"masked":"4111","fingerprint":"ab"}"#;
        let Record::Finding(f) = serde_json::from_str::<Record>(old).unwrap() else {
            panic!("a finding");
        };
        assert_eq!((f.member, f.line), (None, 0));
        let old = r#"{"record":"skipped","reason":"file_type","item":"gpt_file"}"#;
        let Record::Skipped(s) = serde_json::from_str::<Record>(old).unwrap() else {
            panic!("a skip");
        };
        assert_eq!(s.reason.as_str(), "filtered_type");
    }
}
