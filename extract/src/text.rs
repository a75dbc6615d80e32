//! Text-like formats read by this crate's own bounded code: plain text and CSV (decoded as one
//! segment), JSON (flattened to `path: value` lines), HTML and non-office XML (markup stripped)
//! and RTF (control words stripped). The decoding and markup stripping themselves live in
//! `decode`, shared with type detection and the e-mail reader.

use crate::decode::{decode, html_to_text, rtf_to_text};
use crate::types::Outcome;
use crate::visit::Visit;

/// Plain text and CSV: the decoded text as one segment.
pub(crate) fn read_text(walker: &mut dyn Visit, data: &[u8], member: Option<&str>) -> Outcome {
    let text = decode(data);
    walker.text(member, None, &text)
}

/// JSON: one `path: value` line per scalar, so that keys stay next to their values (context
/// words) and escaped strings (`\n` in a PEM key) come out decoded. Invalid or too deeply
/// nested JSON (serde_json stops at 128 levels) is read as plain text.
pub(crate) fn read_json(walker: &mut dyn Visit, data: &[u8], member: Option<&str>) -> Outcome {
    let text = decode(data);
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(value) => {
            let mut out = String::new();
            flatten_json(&value, &mut String::new(), &mut out);
            walker.text(member, None, &out)
        }
        Err(_) => walker.text(member, None, &text),
    }
}

fn flatten_json(value: &serde_json::Value, path: &mut String, out: &mut String) {
    use serde_json::Value;
    let leaf = |out: &mut String, path: &str, text: &str| {
        if !path.is_empty() {
            out.push_str(path);
            out.push_str(": ");
        }
        out.push_str(text);
        out.push('\n');
    };
    match value {
        Value::Null => {}
        Value::Bool(b) => leaf(out, path, if *b { "true" } else { "false" }),
        Value::Number(n) => leaf(out, path, &n.to_string()),
        Value::String(s) => leaf(out, path, s),
        Value::Array(items) => {
            for item in items {
                flatten_json(item, path, out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                flatten_json(item, path, out);
                path.truncate(len);
            }
        }
    }
}

/// HTML: text nodes with entities decoded, plus script text and a few attributes that carry
/// data (`value`, `href`, `content`, `title`, `alt`); style sheets and comments are dropped.
pub(crate) fn read_html(walker: &mut dyn Visit, data: &[u8], member: Option<&str>) -> Outcome {
    let text = html_to_text(&decode(data));
    walker.text(member, None, &text)
}

/// XML that is not an office format: its text nodes and attribute values of interest, like HTML.
pub(crate) fn read_xml(walker: &mut dyn Visit, data: &[u8], member: Option<&str>) -> Outcome {
    read_html(walker, data, member)
}

/// RTF: text with control words removed, `\'hh` (Windows-1252, read as Latin-1) and `\uN`
/// escapes decoded, and non-text destinations (font tables, pictures, objects) skipped.
pub(crate) fn read_rtf(walker: &mut dyn Visit, data: &[u8], member: Option<&str>) -> Outcome {
    let text = rtf_to_text(data);
    walker.text(member, None, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_json() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"a": {"b": "x\ny", "n": 4111111111111111}, "l": [1, true]}"#)
                .unwrap();
        let mut out = String::new();
        flatten_json(&v, &mut String::new(), &mut out);
        assert_eq!(out, "a.b: x\ny\na.n: 4111111111111111\nl: 1\nl: true\n");
    }
}
