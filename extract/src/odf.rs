//! The OpenDocument reader (ODT, ODS, ODP), on this crate's ZIP access (`zip`) and bounded XML
//! pull (`xml`): the text of `content.xml` (paragraphs, headings, lists, tables, annotations)
//! and the headers and footers of `styles.xml`.
//!
//! Spreadsheet cells with a numeric value are written from `office:value` (integral values
//! without exponent), not from their formatted display, so that numbers stay findable. Each
//! sheet is a segment `sheet NAME`; each slide `slide N`, its speaker notes `notes slide N`.

use crate::number::number_display;
use crate::types::{FileType, Outcome, Skip, SkipReason};
use crate::visit::Visit;
use crate::xml::{self, Node};
use crate::zip::Archive;

pub(crate) fn read(
    walker: &mut dyn Visit,
    file_type: FileType,
    data: &[u8],
    member: Option<&str>,
    _depth: u32,
) -> Outcome {
    let archive = Archive::parse(data, walker.limits().max_entries)?;
    if let Some(manifest) = archive.find("META-INF/manifest.xml") {
        let manifest = archive.read(walker, manifest)?;
        if memchr::memmem::find(&manifest, b"encryption-data").is_some() {
            return Err(Skip::new(
                SkipReason::Encrypted,
                "password-protected OpenDocument",
            ));
        }
    }
    let Some(content) = archive.find("content.xml") else {
        return Err(Skip::broken("OpenDocument without content.xml"));
    };
    let content = archive.read(walker, content)?;
    let body = segments(walker, "content.xml", &content, file_type)?;
    for (location, text) in &body {
        walker.text(member, location.as_deref(), text)?;
    }
    if let Some(styles) = archive.find("styles.xml") {
        let styles = archive.read(walker, styles)?;
        let styled = segments(walker, "styles.xml", &styles, FileType::Odt)?;
        for (_, text) in &styled {
            walker.text(member, Some("header/footer"), text)?;
        }
    }
    Ok(())
}

type Segment = (Option<String>, String);

fn segments(
    walker: &dyn Visit,
    part: &str,
    data: &[u8],
    file_type: FileType,
) -> Outcome<Vec<Segment>> {
    let max_text = walker.limits().max_text_per_item;
    let mut done: Vec<Segment> = Vec::new();
    let mut location: Option<String> = None;
    let mut out = String::new();
    let mut total = 0u64;
    let mut in_para = 0u32;
    // Inside a numeric cell whose value was already written.
    let mut numeric_cell = false;
    let mut slide = 0usize;
    let mut saved_location: Option<String> = None;
    xml::pull(walker, part, data, |node| {
        match node {
            Node::Open(start) => match xml::local(start) {
                b"p" | b"h" => in_para += 1,
                b"s" if in_para > 0 => {
                    let n = xml::attr(start, b"c")
                        .and_then(|c| c.parse::<usize>().ok())
                        .unwrap_or(1)
                        .min(64);
                    out.extend(std::iter::repeat_n(' ', n));
                }
                b"tab" if in_para > 0 => out.push('\t'),
                b"line-break" if in_para > 0 => out.push('\n'),
                b"table" if file_type == FileType::Ods => {
                    flush(&mut done, &mut location, &mut out, &mut total);
                    location = xml::attr(start, b"name").map(|n| format!("sheet {n}"));
                }
                b"page" if file_type == FileType::Odp => {
                    flush(&mut done, &mut location, &mut out, &mut total);
                    slide += 1;
                    location = Some(format!("slide {slide}"));
                }
                b"notes" if file_type == FileType::Odp => {
                    flush(&mut done, &mut location, &mut out, &mut total);
                    saved_location = location.take();
                    location = Some(format!("notes slide {slide}"));
                }
                b"table-cell" => {
                    let kind = xml::attr(start, b"value-type").unwrap_or_default();
                    numeric_cell = false;
                    if matches!(kind.as_str(), "float" | "percentage" | "currency") {
                        if let Some(value) = xml::attr(start, b"value") {
                            out.push_str(&number_display(&value));
                            numeric_cell = true;
                        }
                    }
                }
                _ => {}
            },
            Node::Close(tag) => match tag {
                b"p" | b"h" => {
                    in_para = in_para.saturating_sub(1);
                    if in_para == 0
                        && !numeric_cell
                        && !out.is_empty()
                        && !out.ends_with(['\n', '\t'])
                    {
                        out.push('\n');
                    }
                }
                b"table-cell" => {
                    numeric_cell = false;
                    if out.ends_with('\n') {
                        out.pop();
                    }
                    out.push('\t');
                }
                b"table-row" => {
                    if out.ends_with('\t') {
                        out.pop();
                    }
                    out.push('\n');
                }
                b"notes" if file_type == FileType::Odp => {
                    flush(&mut done, &mut location, &mut out, &mut total);
                    location = saved_location.take();
                }
                _ => {}
            },
            Node::Text(t) if in_para > 0 && !numeric_cell => {
                out.push_str(t);
            }
            Node::Text(_) => {}
        }
        if total + out.len() as u64 > max_text {
            return Err(Skip::limit(format!(
                "{part}: text exceeds {max_text} bytes"
            )));
        }
        Ok(())
    })?;
    flush(&mut done, &mut location, &mut out, &mut total);
    Ok(done)
}

fn flush(
    done: &mut Vec<Segment>,
    location: &mut Option<String>,
    out: &mut String,
    total: &mut u64,
) {
    // Empty rows and cells leave only separators behind.
    let trimmed = out.trim_matches(['\t', '\n']);
    if !trimmed.is_empty() {
        *total += trimmed.len() as u64;
        done.push((location.clone(), trimmed.to_string()));
    }
    out.clear();
}
