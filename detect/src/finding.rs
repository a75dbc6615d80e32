//! Findings: what a detector reports, with a masked preview and a fingerprint.
//!
//! This module owns the only code that turns a matched value into something that leaves the engine.
//! It must never let the whole value out: previews are masked, and correlation uses a
//! fingerprint of the normalized value (see `fingerprint`).

use serde::{Deserialize, Serialize};

/// The kind of data a detector looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Personal data: people, contact details, national and tax ids.
    Pii,
    /// Financial data: payment cards, bank accounts, securities, crypto-currency keys.
    Financial,
    /// Health data: health ids and codes.
    Health,
    /// Credentials: API keys, tokens, private keys, passwords.
    Secret,
    /// Anything a user's own rule looks for.
    Custom,
}

impl Category {
    /// Every category, in the order of their names in rule files.
    pub const ALL: [Category; 5] = [
        Category::Pii,
        Category::Financial,
        Category::Health,
        Category::Secret,
        Category::Custom,
    ];

    /// The category named `name` (`pii`, `financial`, `health`, `secret`, `custom`).
    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The lower-case name used in output and rule files.
    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Pii => "pii",
            Category::Financial => "financial",
            Category::Health => "health",
            Category::Secret => "secret",
            Category::Custom => "custom",
        }
    }
}

/// How sure a detector is that a finding is real.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Shape matched, little else is known.
    Low,
    /// Shape and a weak check (context, entropy) matched.
    Medium,
    /// Shape and a strong check (checksum, structure, unique prefix) matched.
    High,
}

impl Confidence {
    /// The confidence named `name` (`low`, `medium`, `high`).
    pub fn from_name(name: &str) -> Option<Confidence> {
        [Confidence::Low, Confidence::Medium, Confidence::High]
            .into_iter()
            .find(|c| c.as_str() == name)
    }

    /// The lower-case name used in output and rule files.
    pub fn as_str(&self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// One piece of sensitive data found in an item.
///
/// `start` and `end` are byte offsets into the text the detectors saw (for a plain file, the file
/// itself; for a document, its extracted text). The value itself is never stored: `masked` shows
/// a few characters of it, `fingerprint` identifies it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The detector's stable id, e.g. `credit_card`.
    pub detector: String,
    /// The detector's category.
    pub category: Category,
    /// How sure the detector is.
    pub confidence: Confidence,
    /// Byte offset of the first byte of the value.
    pub start: usize,
    /// Byte offset one past the last byte of the value.
    pub end: usize,
    /// 1-based line of `start` in the scanned text.
    pub line: u64,
    /// 1-based column of `start` on its line, in characters (Unicode code points; a byte of
    /// invalid UTF-8 counts as one), as SARIF's `unicodeCodePoints` column kind counts.
    #[serde(default)]
    pub column: u64,
    /// Path inside containers (archive member, attachment), `None` at the top level.
    pub member: Option<String>,
    /// Where in the item, when the format has such a notion: `page 3`, `sheet Q2`, `slide 4`.
    pub location: Option<String>,
    /// A preview of the value that never contains all of it.
    pub masked: String,
    /// Fingerprint (lower-case hex) of the normalized value, to correlate the same value across
    /// items: HMAC-SHA-256 under a key, or SHA-256 (see `Fingerprints`).
    pub fingerprint: String,
    /// Accepted by an allow-list entry (a known value, pattern, fingerprint or baseline): the
    /// finding is real but known. `dlp-engine` counts such findings instead of reporting them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
    /// Found in text recognised by OCR (an image, an image-only PDF page): set by `dlp-engine`,
    /// which also lowers the confidence one step, since a character may have been misread.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ocr: bool,
}

/// How a value is normalized before it is fingerprinted, so that `4111-1111-1111-1111` and
/// `4111111111111111` correlate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// The value as found.
    #[default]
    None,
    /// Only the ASCII digits.
    Digits,
    /// ASCII alphanumerics, upper-cased (IBANs).
    AlnumUpper,
    /// ASCII lower case (e-mail addresses, keywords).
    Lower,
    /// All ASCII white space removed (PEM blocks whose line endings differ).
    NoSpace,
}

impl Normalize {
    pub(crate) fn apply(self, value: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        use std::borrow::Cow;
        match self {
            Normalize::None => Cow::Borrowed(value),
            Normalize::Digits => {
                Cow::Owned(value.iter().copied().filter(u8::is_ascii_digit).collect())
            }
            Normalize::AlnumUpper => Cow::Owned(
                value
                    .iter()
                    .filter(|b| b.is_ascii_alphanumeric())
                    .map(u8::to_ascii_uppercase)
                    .collect(),
            ),
            Normalize::Lower => Cow::Owned(value.to_ascii_lowercase()),
            Normalize::NoSpace => Cow::Owned(
                value
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect(),
            ),
        }
    }
}

/// How a value is masked for its preview.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mask {
    /// Keep a few characters at both ends, in proportion to the length.
    #[default]
    Ends,
    /// Keep the first 4 and last 4 digits, separators kept: `4111 **** **** 1111`.
    Card,
    /// Keep the last 4 digits only: `***-**-6789`.
    LastFour,
    /// Keep the first character of the local part and the domain: `j***@example.com`.
    Email,
    /// Keep only the PEM header (`-----BEGIN RSA PRIVATE KEY-----`), never the body.
    PemHeader,
    /// Keep the first 2 and last 2 characters of a value that the rule marks as a secret group.
    Tight,
}

/// Masks `value` for display. The result never contains the whole value: at least half of the
/// characters (and never fewer than four, unless the value is that short) are replaced by `*`.
pub(crate) fn mask(style: Mask, value: &[u8]) -> String {
    // Most values are ASCII: their bytes are their characters, with no copy to make.
    if value.is_ascii() {
        return mask_units(style, value, value);
    }
    let text = String::from_utf8_lossy(value);
    let chars: Vec<char> = text.chars().collect();
    mask_units(style, value, &chars)
}

/// A character of a value being masked: a byte of an ASCII value, or a `char`.
trait Unit: Copy {
    fn ch(self) -> char;
}

impl Unit for u8 {
    fn ch(self) -> char {
        char::from(self)
    }
}

impl Unit for char {
    fn ch(self) -> char {
        self
    }
}

fn mask_units<U: Unit>(style: Mask, value: &[u8], chars: &[U]) -> String {
    match style {
        Mask::Card => mask_digits(chars, 4, 4),
        Mask::LastFour => mask_digits(chars, 0, 4),
        Mask::Email => mask_email(chars),
        Mask::PemHeader => match pem_header_len(value) {
            Some(len) if len < value.len() => {
                format!("{}****", String::from_utf8_lossy(&value[..len]))
            }
            _ => mask_ends(chars, 2),
        },
        Mask::Tight => mask_ends(chars, 2),
        Mask::Ends => mask_ends(chars, 4),
    }
}

/// The length of `-----BEGIN ... -----` at the start of a PEM block.
pub(crate) fn pem_header_len(value: &[u8]) -> Option<usize> {
    let rest = value.get(5..)?;
    let close = memchr::memmem::find(rest, b"-----")?;
    Some(5 + close + 5)
}

/// Keeps up to `keep` characters at each end, but never more than a quarter of the value on
/// each side, so that short values stay mostly hidden.
fn mask_ends<U: Unit>(chars: &[U], keep: usize) -> String {
    let n = chars.len();
    let keep = keep.min(n / 4);
    let mut out = String::with_capacity(n);
    for (i, c) in chars.iter().enumerate() {
        if i < keep || i >= n - keep {
            out.push(c.ch());
        } else {
            out.push('*');
        }
    }
    if n == 0 {
        out.push('*');
    }
    out
}

/// Keeps the first `head` and last `tail` digits, replaces the other digits by `*` and keeps
/// separators, so the shape of the number stays readable.
fn mask_digits<U: Unit>(chars: &[U], head: usize, tail: usize) -> String {
    let digits = chars.iter().filter(|c| c.ch().is_ascii_digit()).count();
    // A short number would be shown almost whole: hide more of it.
    let (head, tail) = if digits < 2 * (head + tail) {
        (0, tail.min(digits / 3))
    } else {
        (head, tail)
    };
    let mut seen = 0;
    chars
        .iter()
        .map(|c| {
            let c = c.ch();
            if c.is_ascii_digit() {
                seen += 1;
                if seen <= head || seen > digits - tail {
                    c
                } else {
                    '*'
                }
            } else if c.is_ascii_alphanumeric() {
                '*'
            } else {
                c
            }
        })
        .collect()
}

fn mask_email<U: Unit>(chars: &[U]) -> String {
    match chars.iter().rposition(|c| c.ch() == '@') {
        Some(at) if at > 0 => {
            let mut out = String::new();
            out.push(chars[0].ch());
            out.push_str("***@");
            out.extend(chars[at + 1..].iter().map(|c| c.ch()));
            out
        }
        _ => mask_ends(chars, 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_never_show_the_whole_value() {
        let cases: &[(Mask, &str, &str)] = &[
            (Mask::Card, "4111 1111 1111 1111", "4111 **** **** 1111"),
            (Mask::Card, "4111111111111111", "4111********1111"),
            (Mask::LastFour, "078-05-1120", "***-**-1120"),
            (Mask::Ends, "AKIAIOSFODNN7EXAMPLE", "AKIA************MPLE"),
            (Mask::Email, "jane.doe@example.com", "j***@example.com"),
            (Mask::Ends, "abc", "***"),
            (Mask::Ends, "", "*"),
            (
                Mask::PemHeader,
                "-----BEGIN RSA PRIVATE KEY-----\nMIIE",
                "-----BEGIN RSA PRIVATE KEY-----****",
            ),
        ];
        for (style, value, want) in cases {
            let got = mask(*style, value.as_bytes());
            assert_eq!(&got, want, "{style:?} {value}");
            if !value.is_empty() {
                assert!(!got.contains(value), "{got} shows {value}");
            }
        }
    }

    #[test]
    fn ascii_values_mask_as_their_characters_do() {
        let styles = [
            Mask::Card,
            Mask::LastFour,
            Mask::Email,
            Mask::PemHeader,
            Mask::Tight,
            Mask::Ends,
        ];
        let values = [
            "4111 1111 1111 1111",
            "jane.doe@example.com",
            "@example.com",
            "AKIAIOSFODNN7EXAMPLE",
            "",
            "a",
            "-----BEGIN X-----\nabc",
            "078-05-1120",
        ];
        for style in styles {
            for value in values {
                let chars: Vec<char> = value.chars().collect();
                assert_eq!(
                    mask(style, value.as_bytes()),
                    mask_units(style, value.as_bytes(), &chars),
                    "{style:?} {value}"
                );
            }
        }
        // Non-ASCII values are masked by characters, never cut inside one.
        assert_eq!(mask(Mask::Ends, "motdepasseé".as_bytes()), "mo*******eé");
        assert_eq!(
            mask(Mask::Email, "zoë@exämple.de".as_bytes()),
            "z***@exämple.de"
        );
    }

    #[test]
    fn normalized_values_share_a_fingerprint() {
        let f = crate::fingerprint::Fingerprints::Sha256;
        let a = f.of(&Normalize::Digits.apply(b"4111-1111-1111-1111"));
        let b = f.of(&Normalize::Digits.apply(b"4111 1111 1111 1111"));
        assert_eq!(a, b);
    }
}
