//! Text-like formats read by this crate's own bounded code: plain text (UTF-8, UTF-16 with BOM,
//! Latin-1 fallback), CSV, JSON, HTML, XML and RTF.

use std::borrow::Cow;

use crate::{Outcome, Walker};

/// Decodes text: UTF-8 (with or without BOM), UTF-16 LE/BE with BOM, and Latin-1 for anything
/// that is not valid UTF-8. Borrows when the input is already UTF-8.
pub(crate) fn decode(data: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = data.strip_prefix(b"\xEF\xBB\xBF") {
        return decode_utf8_or_latin1(rest);
    }
    if let Some(rest) = data.strip_prefix(b"\xFF\xFE") {
        return Cow::Owned(decode_utf16(rest, u16::from_le_bytes));
    }
    if let Some(rest) = data.strip_prefix(b"\xFE\xFF") {
        return Cow::Owned(decode_utf16(rest, u16::from_be_bytes));
    }
    decode_utf8_or_latin1(data)
}

fn decode_utf16(data: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units: Vec<u16> = data.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

fn decode_utf8_or_latin1(data: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(s) => Cow::Borrowed(s),
        // A multi-byte sequence cut at the very end of otherwise non-ASCII UTF-8 (a sample,
        // a truncated file): keep the valid UTF-8 before it.
        Err(e) if e.error_len().is_none() && !data[..e.valid_up_to()].is_ascii() => {
            Cow::Borrowed(std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or_default())
        }
        Err(_) => Cow::Owned(data.iter().map(|&b| b as char).collect()),
    }
}

/// Plain text and CSV: the decoded text as one segment.
pub(crate) fn read_text(walker: &mut Walker<'_>, data: &[u8], member: Option<&str>) -> Outcome {
    let text = decode(data);
    walker.text(member, None, &text)
}

/// JSON: one `path: value` line per scalar, so that keys stay next to their values (context
/// words) and escaped strings (`\n` in a PEM key) come out decoded. Invalid or too deeply
/// nested JSON (serde_json stops at 128 levels) is read as plain text.
pub(crate) fn read_json(walker: &mut Walker<'_>, data: &[u8], member: Option<&str>) -> Outcome {
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
pub(crate) fn read_html(walker: &mut Walker<'_>, data: &[u8], member: Option<&str>) -> Outcome {
    let text = html_to_text(&decode(data));
    walker.text(member, None, &text)
}

/// XML that is not an office format: its text nodes and attribute values of interest, like HTML.
pub(crate) fn read_xml(walker: &mut Walker<'_>, data: &[u8], member: Option<&str>) -> Outcome {
    read_html(walker, data, member)
}

/// Strips markup from HTML or XML. Linear, allocation-bounded by the input size.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_decoded(&mut out, &rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").unwrap_or(after.len());
            out.push_str(&after[..end]);
            rest = after.get(end + 3..).unwrap_or("");
            continue;
        }
        let Some(tag_end) = tag_end(rest) else {
            // A lone '<' in text.
            out.push('<');
            rest = &rest[1..];
            continue;
        };
        let tag = &rest[1..tag_end];
        rest = &rest[tag_end + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_'))
            .collect::<String>()
            .to_ascii_lowercase();
        let closing = tag.starts_with('/');
        if !closing {
            push_attributes(&mut out, tag);
        }
        match name.as_str() {
            "style" if !closing => {
                rest = skip_past_close(rest, "</style");
            }
            "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            | "table" | "ul" | "ol" | "section" | "article" | "header" | "footer" | "title"
            | "blockquote" | "pre" | "hr" | "dt" | "dd"
                if !out.ends_with('\n') && !out.is_empty() =>
            {
                out.push('\n');
            }
            "td" | "th" if closing => out.push('\t'),
            "script" if closing => out.push('\n'),
            _ => {}
        }
    }
    push_decoded(&mut out, rest);
    out
}

/// The index of the `>` that ends the tag at the start of `s`, honouring quoted attributes.
fn tag_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    match bytes.get(1) {
        Some(b) if b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?') => {}
        _ => return None,
    }
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn skip_past_close<'a>(rest: &'a str, close: &str) -> &'a str {
    let lower = rest.to_ascii_lowercase();
    match lower.find(close) {
        Some(pos) => rest[pos..]
            .find('>')
            .map_or("", |end| &rest[pos + end + 1..]),
        None => "",
    }
}

fn push_attributes(out: &mut String, tag: &str) {
    const KEPT: [&str; 5] = ["value", "href", "content", "title", "alt"];
    for name in KEPT {
        let mut search = tag;
        while let Some(pos) = find_ascii_ci(search, name) {
            let before_ok = pos == 0 || search.as_bytes()[pos - 1].is_ascii_whitespace();
            let after = search[pos + name.len()..].trim_start();
            search = &search[pos + name.len()..];
            let Some(value) = after.strip_prefix('=') else {
                continue;
            };
            if !before_ok {
                continue;
            }
            let value = value.trim_start();
            let text = match value.chars().next() {
                Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
                _ => value
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or(""),
            };
            if !text.is_empty() {
                if !out.is_empty() && !out.ends_with(char::is_whitespace) {
                    out.push(' ');
                }
                push_decoded(out, text);
                out.push(' ');
            }
            break;
        }
    }
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Appends text with HTML/XML character references decoded.
pub(crate) fn push_decoded(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|end| entity(&rest[1..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "copy" => '©',
        "reg" => '®',
        "euro" => '€',
        "pound" => '£',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "laquo" => '«',
        "raquo" => '»',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bull" => '•',
        "middot" => '·',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "ccedil" => 'ç',
        _ => return None,
    })
}

/// RTF: text with control words removed, `\'hh` (Windows-1252, read as Latin-1) and `\uN`
/// escapes decoded, and non-text destinations (font tables, pictures, objects) skipped.
pub(crate) fn read_rtf(walker: &mut Walker<'_>, data: &[u8], member: Option<&str>) -> Outcome {
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
    fn decodes_encodings() {
        assert_eq!(decode(b"plain"), "plain");
        assert_eq!(decode(b"\xEF\xBB\xBFbom"), "bom");
        assert_eq!(decode(b"\xFF\xFEh\0i\0"), "hi");
        assert_eq!(decode(b"\xFE\xFF\0h\0i"), "hi");
        assert_eq!(decode(b"caf\xE9"), "café");
    }

    #[test]
    fn strips_html() {
        let html = "<html><head><style>p{x:1}</style><title>T</title></head>\
                    <body><p>a &amp; b&#65;&#x42;</p><!-- hidden --><td>c</td>\
                    <input value=\"v1\"><script>var k='s';</script>x &unknown; 1<2</body></html>";
        assert_eq!(
            html_to_text(html),
            "T\na & bAB\nc\tv1 var k='s';\nx &unknown; 1<2"
        );
    }

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
