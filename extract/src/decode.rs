//! Text decoding shared by the readers and by type detection: bytes to text ([`decode`]:
//! UTF-8, UTF-16 with BOM, Latin-1 fallback), HTML/XML markup to text ([`html_to_text`]), and
//! character references ([`push_decoded`]).
//!
//! A leaf: it imports no other module of this crate.

use std::borrow::Cow;

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
}
