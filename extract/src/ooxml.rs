//! The Office Open XML reader: DOCX, XLSX and PPTX, read with this crate's ZIP access (`zip`)
//! and the bounded XML pull (`xml`). Parts are found through the package relationships, as
//! Office does, so that documents whose parts have unusual names are still read.
//!
//! - DOCX: body (with tables and text boxes, tracked deletions included), then headers,
//!   footers, footnotes, endnotes and comments. The runs of a paragraph are joined without
//!   separators, so a value split across formatting runs comes out whole.
//! - XLSX: every sheet in workbook order (location `sheet NAME`), cells tab-separated, rows on
//!   lines; shared and inline strings; numbers written without exponent when integral, so a
//!   card number stored as a float comes out as its digits; cell comments.
//! - PPTX: slides in presentation order (`slide N`), tables, speaker notes (`notes slide N`),
//!   comments (`comments slide N`).
//! - Embedded files (`*/embeddings/*`) become nested items.

use std::borrow::Cow;

use crate::number::number_display;
use crate::types::{member_path, FileType, Outcome, Skip};
use crate::visit::Visit;
use crate::xml::{self, Node};
use crate::zip::Archive;

/// A package relationship: its type (last path segment of the Type URI) and resolved target.
struct Rel {
    id: String,
    kind: String,
    target: String,
}

pub(crate) fn read(
    walker: &mut dyn Visit,
    file_type: FileType,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    let archive = Archive::parse(data, walker.limits().max_entries)?;
    let pkg = Package {
        archive: &archive,
        member,
    };
    match file_type {
        FileType::Docx => pkg.docx(walker)?,
        FileType::Xlsx => pkg.xlsx(walker)?,
        _ => pkg.pptx(walker)?,
    }
    // Embedded objects are items of their own.
    for entry in archive.entries.iter().filter(|e| !e.is_dir()) {
        let name = &entry.raw_name;
        let embedded = ["word/embeddings/", "xl/embeddings/", "ppt/embeddings/"]
            .iter()
            .any(|dir| name.starts_with(dir));
        if !embedded {
            continue;
        }
        walker.check_time()?;
        let path = member_path(member, name);
        match archive.read(walker, entry) {
            Ok(bytes) => walker.child(&bytes, &path, depth + 1),
            Err(skip) => walker.skip_child(&path, skip),
        }
    }
    Ok(())
}

struct Package<'p, 'a> {
    archive: &'p Archive<'a>,
    member: Option<&'p str>,
}

impl Package<'_, '_> {
    fn part(&self, walker: &mut dyn Visit, name: &str) -> Outcome<Option<Cow<'_, [u8]>>> {
        match self.archive.find(name) {
            Some(entry) => self.archive.read(walker, entry).map(Some),
            None => Ok(None),
        }
    }

    /// The relationships of a part (`""` for the package itself).
    fn rels(&self, walker: &mut dyn Visit, part: &str) -> Outcome<Vec<Rel>> {
        let (dir, file) = match part.rfind('/') {
            Some(slash) => (&part[..slash], &part[slash + 1..]),
            None => ("", part),
        };
        let rels_name = if dir.is_empty() {
            format!("_rels/{file}.rels")
        } else {
            format!("{dir}/_rels/{file}.rels")
        };
        let Some(data) = self.part(walker, &rels_name)? else {
            return Ok(Vec::new());
        };
        let mut rels = Vec::new();
        xml::pull(walker, &rels_name, &data, |node| {
            if let Node::Open(start) = node {
                if xml::local(start) == b"Relationship"
                    && xml::attr(start, b"TargetMode").as_deref() != Some("External")
                {
                    let kind = xml::attr(start, b"Type").unwrap_or_default();
                    let kind = kind.rsplit('/').next().unwrap_or_default().to_string();
                    let target = xml::attr(start, b"Target").unwrap_or_default();
                    rels.push(Rel {
                        id: xml::attr(start, b"Id").unwrap_or_default(),
                        kind,
                        target: resolve(dir, &target),
                    });
                }
            }
            Ok(())
        })?;
        Ok(rels)
    }

    /// The main part of the package, through `_rels/.rels`, or the conventional name.
    fn main_part(&self, walker: &mut dyn Visit, fallback: &str) -> Outcome<String> {
        let rels = self.rels(walker, "")?;
        Ok(rels
            .into_iter()
            .find(|r| r.kind == "officeDocument" && self.archive.has(&r.target))
            .map_or_else(|| fallback.to_string(), |r| r.target))
    }

    /// Extracts the text of a part and emits it as one segment.
    fn emit(
        &self,
        walker: &mut dyn Visit,
        name: &str,
        location: Option<&str>,
        spec: &Spec,
    ) -> Outcome {
        let Some(data) = self.part(walker, name)? else {
            return Ok(());
        };
        let text = part_text(walker, name, &data, spec)?;
        walker.text(self.member, location, &text)
    }

    fn docx(&self, walker: &mut dyn Visit) -> Outcome {
        let main = self.main_part(walker, "word/document.xml")?;
        if !self.archive.has(&main) {
            return Err(Skip::broken("docx without a document part"));
        }
        self.emit(walker, &main, None, &WORD)?;
        for rel in self.rels(walker, &main)? {
            let location = match rel.kind.as_str() {
                "header" => "header",
                "footer" => "footer",
                "footnotes" => "footnotes",
                "endnotes" => "endnotes",
                "comments" | "commentsExtended" => "comments",
                _ => continue,
            };
            self.emit(walker, &rel.target, Some(location), &WORD)?;
        }
        Ok(())
    }

    fn pptx(&self, walker: &mut dyn Visit) -> Outcome {
        let main = self.main_part(walker, "ppt/presentation.xml")?;
        let rels = self.rels(walker, &main)?;
        // Slide order is the order of sldIdLst, not the order of the files.
        let mut order = Vec::new();
        if let Some(data) = self.part(walker, &main)? {
            xml::pull(walker, &main, &data, |node| {
                if let Node::Open(start) = node {
                    if xml::local(start) == b"sldId" {
                        if let Some(id) =
                            xml::attr_exact(start, b"r:id").or_else(|| xml::attr(start, b"id"))
                        {
                            order.push(id);
                        }
                    }
                }
                Ok(())
            })?;
        }
        let slides: Vec<&Rel> = order
            .iter()
            .filter_map(|id| rels.iter().find(|r| &r.id == id && r.kind == "slide"))
            .collect();
        for (index, slide) in slides.iter().enumerate() {
            walker.check_time()?;
            let n = index + 1;
            self.emit(walker, &slide.target, Some(&format!("slide {n}")), &DRAWING)?;
            for rel in self.rels(walker, &slide.target)? {
                match rel.kind.as_str() {
                    "notesSlide" => self.emit(
                        walker,
                        &rel.target,
                        Some(&format!("notes slide {n}")),
                        &DRAWING,
                    )?,
                    "comments" => self.emit(
                        walker,
                        &rel.target,
                        Some(&format!("comments slide {n}")),
                        &COMMENTS,
                    )?,
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn xlsx(&self, walker: &mut dyn Visit) -> Outcome {
        let main = self.main_part(walker, "xl/workbook.xml")?;
        let rels = self.rels(walker, &main)?;
        let shared = match rels.iter().find(|r| r.kind == "sharedStrings") {
            Some(rel) => self.shared_strings(walker, &rel.target)?,
            None => self.shared_strings(walker, "xl/sharedStrings.xml")?,
        };
        let Some(data) = self.part(walker, &main)? else {
            return Err(Skip::broken("xlsx without a workbook part"));
        };
        let mut sheets = Vec::new();
        xml::pull(walker, &main, &data, |node| {
            if let Node::Open(start) = node {
                if xml::local(start) == b"sheet" {
                    let name = xml::attr(start, b"name").unwrap_or_default();
                    let id = xml::attr_exact(start, b"r:id").or_else(|| xml::attr(start, b"id"));
                    sheets.push((name, id.unwrap_or_default()));
                }
            }
            Ok(())
        })?;
        for (name, id) in sheets {
            walker.check_time()?;
            let Some(rel) = rels.iter().find(|r| r.id == id) else {
                continue;
            };
            let location = format!("sheet {name}");
            if let Some(data) = self.part(walker, &rel.target)? {
                let text = sheet_text(walker, &rel.target, &data, &shared)?;
                walker.text(self.member, Some(&location), &text)?;
            }
            for sheet_rel in self.rels(walker, &rel.target)? {
                if matches!(sheet_rel.kind.as_str(), "comments" | "threadedComment") {
                    let location = format!("sheet {name} comments");
                    self.emit(walker, &sheet_rel.target, Some(&location), &COMMENTS)?;
                }
            }
        }
        Ok(())
    }

    fn shared_strings(&self, walker: &mut dyn Visit, name: &str) -> Outcome<Vec<String>> {
        let Some(data) = self.part(walker, name)? else {
            return Ok(Vec::new());
        };
        let max_text = walker.limits().max_text_per_item;
        let mut strings = Vec::new();
        let mut current = String::new();
        let mut total = 0u64;
        let mut in_t = false;
        let mut phonetic = 0u32;
        xml::pull(walker, name, &data, |node| {
            match node {
                Node::Open(start) => match xml::local(start) {
                    b"t" => in_t = true,
                    b"rPh" => phonetic += 1,
                    _ => {}
                },
                Node::Close(b"t") => in_t = false,
                Node::Close(b"rPh") => phonetic = phonetic.saturating_sub(1),
                Node::Close(b"si") => {
                    total += current.len() as u64;
                    strings.push(std::mem::take(&mut current));
                    if total > max_text {
                        return Err(Skip::limit(format!(
                            "{name}: shared strings exceed {max_text} bytes"
                        )));
                    }
                }
                Node::Text(t) if in_t && phonetic == 0 => current.push_str(t),
                _ => {}
            }
            Ok(())
        })?;
        Ok(strings)
    }
}

/// Which elements of a part hold text and which end paragraphs.
struct Spec {
    text: &'static [&'static [u8]],
    paragraph: &'static [&'static [u8]],
}

const WORD: Spec = Spec {
    text: &[b"t", b"delText"],
    paragraph: &[b"p"],
};
const DRAWING: Spec = Spec {
    text: &[b"t"],
    paragraph: &[b"p"],
};
const COMMENTS: Spec = Spec {
    text: &[b"t", b"text"],
    paragraph: &[b"p", b"comment", b"cm", b"threadedComment"],
};

fn part_text(walker: &dyn Visit, name: &str, data: &[u8], spec: &Spec) -> Outcome<String> {
    let max_text = walker.limits().max_text_per_item;
    let mut out = String::new();
    let mut in_text = 0u32;
    xml::pull(walker, name, data, |node| {
        match node {
            Node::Open(start) => {
                let tag = xml::local(start);
                if spec.text.contains(&tag) {
                    in_text += 1;
                } else if tag == b"tab" && in_text == 0 {
                    out.push('\t');
                } else if matches!(tag, b"br" | b"cr") {
                    out.push('\n');
                }
            }
            Node::Close(tag) => {
                if spec.text.contains(&tag) {
                    in_text = in_text.saturating_sub(1);
                } else if spec.paragraph.contains(&tag) && !out.ends_with('\n') && !out.is_empty() {
                    out.push('\n');
                }
            }
            Node::Text(t) if in_text > 0 => {
                out.push_str(t);
                if out.len() as u64 > max_text {
                    return Err(Skip::limit(format!(
                        "{name}: text exceeds {max_text} bytes"
                    )));
                }
            }
            Node::Text(_) => {}
        }
        Ok(())
    })?;
    Ok(out)
}

fn sheet_text(walker: &dyn Visit, name: &str, data: &[u8], shared: &[String]) -> Outcome<String> {
    let max_text = walker.limits().max_text_per_item;
    let mut out = String::new();
    let mut row = String::new();
    let mut cell_type = String::new();
    let mut value = String::new();
    let mut in_value = false;
    let mut in_inline = false;
    xml::pull(walker, name, data, |node| {
        match node {
            Node::Open(start) => match xml::local(start) {
                b"c" => {
                    cell_type = xml::attr(start, b"t").unwrap_or_default();
                    value.clear();
                }
                b"v" => in_value = true,
                b"is" => in_inline = true,
                _ => {}
            },
            Node::Close(tag) => match tag {
                b"v" => in_value = false,
                b"is" => in_inline = false,
                b"c" => {
                    let shown: Cow<'_, str> = match cell_type.as_str() {
                        "s" => value
                            .trim()
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| shared.get(i))
                            .map_or(Cow::Borrowed(""), |s| Cow::Borrowed(s.as_str())),
                        "b" => Cow::Borrowed(if value.trim() == "1" { "TRUE" } else { "FALSE" }),
                        "inlineStr" | "str" | "e" => Cow::Borrowed(value.as_str()),
                        _ => number_display(&value),
                    };
                    if !shown.is_empty() {
                        if !row.is_empty() {
                            row.push('\t');
                        }
                        row.push_str(&shown);
                    }
                    value.clear();
                }
                b"row" => {
                    if !row.is_empty() {
                        out.push_str(&row);
                        out.push('\n');
                        row.clear();
                    }
                    if out.len() as u64 > max_text {
                        return Err(Skip::limit(format!(
                            "{name}: text exceeds {max_text} bytes"
                        )));
                    }
                }
                _ => {}
            },
            // Inline strings keep their text in <is><t>; values in <v>. Formulas (<f>) are
            // not text the user sees.
            Node::Text(t) if in_value || in_inline => value.push_str(t),
            Node::Text(_) => {}
        }
        Ok(())
    })?;
    out.push_str(&row);
    Ok(out)
}

/// Resolves a relationship target against the directory of its source part.
fn resolve(dir: &str, target: &str) -> String {
    if let Some(absolute) = target.strip_prefix('/') {
        return absolute.to_string();
    }
    let mut parts: Vec<&str> = if dir.is_empty() {
        Vec::new()
    } else {
        dir.split('/').collect()
    };
    for segment in target.split('/') {
        match segment {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_targets() {
        assert_eq!(
            resolve("ppt/slides", "../notesSlides/n1.xml"),
            "ppt/notesSlides/n1.xml"
        );
        assert_eq!(resolve("word", "header1.xml"), "word/header1.xml");
        assert_eq!(resolve("", "/xl/workbook.xml"), "xl/workbook.xml");
        assert_eq!(resolve("", "word/document.xml"), "word/document.xml");
    }
}
