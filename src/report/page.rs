//! The report as one HTML file: the page (`page.html`, with its style and script inline) and
//! the report's data as a JSON document inside it.
//!
//! Strings from records reach the page in two ways only: inside the JSON document, escaped so
//! that nothing in it can end its `<script>` element or be read as markup, and in `<title>`,
//! HTML-escaped. The script puts them in the page as text nodes, never as markup.

use super::data::ReportData;

const PAGE: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The page with `data` in it.
pub fn render(data: &ReportData) -> serde_json::Result<String> {
    let json = script_json(&serde_json::to_string(data)?);
    let title = html_text(&data.title);
    let mut out = String::with_capacity(PAGE.len() + STYLE.len() + SCRIPT.len() + json.len());
    // One pass over the page's placeholders; what is put in is never scanned again.
    let mut rest = PAGE;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[at..]);
            rest = "";
            break;
        };
        match &after[..end] {
            "title" => out.push_str(&title),
            "style" => out.push_str(STYLE),
            "script" => out.push_str(SCRIPT),
            "data" => out.push_str(&json),
            other => {
                out.push_str("{{");
                out.push_str(other);
                out.push_str("}}");
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// JSON made safe inside `<script type="application/json">`: `<`, `>` and `&` as `\u` escapes
/// (no `</script>`, `<!--` or `]]>` can appear), and U+2028 and U+2029 too (line terminators
/// to older JavaScript parsers). These characters occur in JSON only inside strings, where the
/// escapes mean the same characters.
pub fn script_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Text for an HTML element's content or an attribute value.
pub fn html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
