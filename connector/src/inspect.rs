//! The seam between the connector and the detection engine: an [`Inspector`] turns text or a
//! file's bytes into [`Detection`]s. The engine implements it; tests may plug in their own.

use serde::Serialize;

/// One detected value, as the connector records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    /// Detector id (`credit_card`, `aws_access_key_id`, ...).
    pub detector: String,
    /// `pii`, `secret` or `custom`.
    pub category: String,
    /// `high`, `medium` or `low`.
    pub confidence: String,
    /// Byte span in the inspected text.
    pub start: usize,
    /// End of the span (exclusive).
    pub end: usize,
    /// Where in the item (archive member, page, JSON path), when known.
    pub location: Option<String>,
    /// A preview that never contains the whole value.
    pub masked: String,
    /// SHA-256 (hex) of the normalized value.
    pub fingerprint: String,
}

/// Why a file's content was not inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A message with no text (an image, or empty).
    ImageOnly,
    /// The file expired before it could be downloaded (410).
    Expired,
    /// The file no longer exists (404).
    NotFound,
    /// Larger than `max_file_size`.
    TooLarge,
    /// Excluded by the `file_types` filter.
    FileType,
    /// A format the inspector cannot read.
    UnsupportedFormat,
    /// A damaged file, or one its parser failed on.
    BrokenFile,
    /// An encrypted (password-protected) file.
    Encrypted,
    /// An extraction limit struck (size, depth, ratio, time).
    LimitExceeded,
}

impl SkipReason {
    /// The reason as written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::ImageOnly => "image_only",
            SkipReason::Expired => "expired",
            SkipReason::NotFound => "not_found",
            SkipReason::TooLarge => "too_large",
            SkipReason::FileType => "file_type",
            SkipReason::UnsupportedFormat => "unsupported_format",
            SkipReason::BrokenFile => "broken_file",
            SkipReason::Encrypted => "encrypted",
            SkipReason::LimitExceeded => "limit_exceeded",
        }
    }
}

/// Finds sensitive values. Implementations are shared across tasks.
pub trait Inspector: Send + Sync {
    /// Detections in a text.
    fn inspect_text(&self, text: &str) -> Vec<Detection>;

    /// Detections in a file's content. The default treats text-like content as text and
    /// reports binary content as unsupported.
    fn inspect_file(&self, name: &str, bytes: &[u8]) -> Result<Vec<Detection>, SkipReason> {
        let _ = name;
        // Without an extraction engine, only text-like content can be inspected.
        if looks_binary(bytes) {
            return Err(SkipReason::UnsupportedFormat);
        }
        Ok(self.inspect_text(&String::from_utf8_lossy(bytes)))
    }
}

/// Whether content is binary: a NUL byte in its first 8 KiB.
pub fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}

#[cfg(feature = "engine")]
impl Inspector for dlp_engine::Engine {
    fn inspect_text(&self, text: &str) -> Vec<Detection> {
        self.scan_text(text).into_iter().map(detection).collect()
    }

    fn inspect_file(&self, name: &str, bytes: &[u8]) -> Result<Vec<Detection>, SkipReason> {
        let _ = name;
        // The engine detects the format from the content and extracts text from documents
        // and archives (PDF, Office, ODF, ZIP, ...), within its default limits.
        let report = self
            .scanner()
            .scan_document(bytes, &dlp_engine::Extraction::default());
        let whole_file_skip = report.skipped.iter().find(|s| s.member.is_none());
        match whole_file_skip {
            Some(skip) if report.findings.is_empty() => Err(skip_reason(skip.reason)),
            _ => Ok(report.findings.into_iter().map(detection).collect()),
        }
    }
}

#[cfg(feature = "engine")]
fn skip_reason(reason: dlp_engine::SkipReason) -> SkipReason {
    use dlp_engine::SkipReason as Engine;
    match reason {
        Engine::BrokenFile => SkipReason::BrokenFile,
        Engine::Encrypted => SkipReason::Encrypted,
        Engine::Timeout | Engine::LimitExceeded => SkipReason::LimitExceeded,
        Engine::FilteredType => SkipReason::FileType,
        Engine::TooLarge => SkipReason::TooLarge,
        Engine::NotFound => SkipReason::NotFound,
        _ => SkipReason::UnsupportedFormat,
    }
}

#[cfg(feature = "engine")]
fn detection(f: dlp_engine::Finding) -> Detection {
    Detection {
        detector: f.detector,
        category: f.category.as_str().to_string(),
        confidence: f.confidence.as_str().to_string(),
        start: f.start,
        end: f.end,
        location: match (f.member, f.location) {
            (Some(m), Some(l)) => Some(format!("{m}:{l}")),
            (m, l) => m.or(l),
        },
        masked: f.masked,
        fingerprint: f.fingerprint,
    }
}
