//! Text-like formats read by this crate's own bounded code: plain text and CSV (decoded as one
//! segment), JSON (flattened to `path: value` lines), HTML and non-office XML (markup stripped)
//! and RTF (control words stripped). The decoding and markup stripping themselves live in
//! `decode`, shared with type detection and the e-mail reader.

use crate::decode::{decode, html_to_text};
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

fn rtf_to_text(data: &[u8]) -> String {
    const SKIPPED: [&str; 9] = [
        "fonttbl",
        "colortbl",
        "stylesheet",
        "pict",
        "object",
        "themedata",
        "datastore",
        "latentstyles",
        "listtable",
    ];
    let mut out = String::new();
    // Per open group: whether its text is skipped.
    let mut groups: Vec<bool> = Vec::new();
    let mut skipping = false;
    let mut uc_skip = 0usize;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        match b {
            b'{' => {
                groups.push(skipping);
                i += 1;
                if data.get(i..i + 2) == Some(b"\\*") {
                    skipping = true;
                }
            }
            b'}' => {
                skipping = groups.pop().unwrap_or(false);
                i += 1;
            }
            b'\\' => {
                i += 1;
                let Some(&c) = data.get(i) else { break };
                if c.is_ascii_alphabetic() {
                    let start = i;
                    while data.get(i).is_some_and(u8::is_ascii_alphabetic) {
                        i += 1;
                    }
                    let word = std::str::from_utf8(&data[start..i]).unwrap_or("");
                    let num_start = i;
                    if data.get(i) == Some(&b'-') {
                        i += 1;
                    }
                    while data.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                    let param: Option<i64> = std::str::from_utf8(&data[num_start..i])
                        .ok()
                        .and_then(|s| s.parse().ok());
                    if data.get(i) == Some(&b' ') {
                        i += 1;
                    }
                    if SKIPPED.contains(&word) {
                        skipping = true;
                    }
                    if skipping {
                        continue;
                    }
                    match word {
                        "par" | "line" | "row" | "sect" | "page" => out.push('\n'),
                        "tab" | "cell" => out.push('\t'),
                        "u" => {
                            if let Some(p) = param {
                                let code = if p < 0 { p + 65_536 } else { p };
                                if let Some(ch) = u32::try_from(code).ok().and_then(char::from_u32)
                                {
                                    out.push(ch);
                                }
                                uc_skip = 1;
                            }
                        }
                        _ => {}
                    }
                } else if c == b'\'' {
                    let hex = data
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    i += 3;
                    if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        if uc_skip > 0 {
                            uc_skip -= 1;
                        } else if !skipping {
                            out.push(v as char);
                        }
                    }
                } else {
                    i += 1;
                    if !skipping && matches!(c, b'\\' | b'{' | b'}') {
                        out.push(c as char);
                    } else if !skipping && c == b'~' {
                        out.push(' ');
                    }
                }
            }
            b'\r' | b'\n' => i += 1,
            _ => {
                i += 1;
                if uc_skip > 0 {
                    uc_skip -= 1;
                } else if !skipping {
                    out.push(b as char);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_rtf() {
        let rtf = br"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 Hello \b world\b0\par caf\'e9 \u8364? {\*\gen x}end}";
        assert_eq!(rtf_to_text(rtf), "Hello world\ncafé € end");
    }

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
