//! The PowerPoint 97-2003 reader (`.ppt`, [MS-PPT]), on the `cfb` crate through `ole`.
//!
//! The `PowerPoint Document` stream is a tree of records. The live version of each slide is
//! found as PowerPoint finds it: the `Current User` stream points at the last user edit, whose
//! persist directories (newest first, down the chain of edits) map persist ids to offsets;
//! the document container's slide lists give the slides and notes in order, with the outline
//! text of their placeholders; each slide's and notes page's own container holds the text of
//! its other shapes and its comments. The text atoms read are `TextCharsAtom` (UTF-16),
//! `TextBytesAtom` (8-bit, Latin-1) and, inside comments, `CString`. Segments: `slide N`,
//! `notes slide N` (N in presentation order), and `notes` for notes pages no slide refers to.
//!
//! When that structure cannot be followed (a damaged file), every text atom of the stream is
//! read in stream order as one segment, so that the text is not lost.
//!
//! An encrypted presentation (the `Current User` atom's encrypted token, an
//! `EncryptedSummary` stream, or a cryptographic session container) is `encrypted`.
//!
//! [MS-PPT]: https://learn.microsoft.com/en-us/openspecs/office_file_formats/ms-ppt/

use crate::bytes::le32;
use std::collections::{HashMap, HashSet};

use crate::ole::Compound;
use crate::types::{Outcome, Skip, SkipReason};
use crate::visit::Visit;

const DOCUMENT_CONTAINER: u16 = 0x03E8;
const SLIDE_ATOM: u16 = 0x03EF;
const SLIDE_PERSIST_ATOM: u16 = 0x03F3;
const TEXT_CHARS_ATOM: u16 = 0x0FA0;
const TEXT_BYTES_ATOM: u16 = 0x0FA8;
const CSTRING: u16 = 0x0FBA;
const SLIDE_LIST_WITH_TEXT: u16 = 0x0FF0;
const USER_EDIT_ATOM: u16 = 0x0FF5;
const CURRENT_USER_ATOM: u16 = 0x0FF6;
const PERSIST_DIRECTORY_ATOM: u16 = 0x1772;
const COMMENT_CONTAINER: u16 = 0x2EE0;
const CRYPT_SESSION_CONTAINER: u16 = 0x2F14;
/// The `Current User` header token of an encrypted presentation.
const ENCRYPTED_TOKEN: u32 = 0xF3D1_C4DF;
/// How deep containers are followed (real files nest a dozen levels at most).
const MAX_NESTING: usize = 64;
/// How many user edits are followed back (real files have a few).
const MAX_EDITS: usize = 4096;

pub(crate) fn read(walker: &mut dyn Visit, data: &[u8], member: Option<&str>) -> Outcome {
    let mut file = Compound::open(data, "PowerPoint presentation")?;
    let encrypted = || {
        Skip::new(
            SkipReason::Encrypted,
            "password-protected PowerPoint presentation",
        )
    };
    if file.is_stream("/EncryptedSummary") {
        return Err(encrypted());
    }
    let document = file
        .stream(walker, "/PowerPoint Document")?
        .ok_or_else(|| Skip::broken("PowerPoint presentation: no PowerPoint Document stream"))?;
    let current_user = file.stream(walker, "/Current User")?.unwrap_or_default();
    if current_user_token(&current_user) == Some(ENCRYPTED_TOKEN) {
        return Err(encrypted());
    }
    let persist = Persist::read(&document, &current_user);
    if let Some(persist) = &persist {
        if persist.encrypted {
            return Err(encrypted());
        }
    }
    let Some(pages) = persist.and_then(|p| p.pages(&document)) else {
        // The structure cannot be followed: every text atom, in stream order.
        let mut texts = Vec::new();
        collect(&document, 0, 0, &mut texts);
        return walker.text(member, None, &join(&texts));
    };
    for (location, texts) in pages {
        walker.check_time()?;
        walker.text(member, Some(&location), &join(&texts))?;
    }
    Ok(())
}

/// One record: its header fields and body.
struct Record<'a> {
    version: u16,
    instance: u16,
    kind: u16,
    body: &'a [u8],
}

impl Record<'_> {
    fn is_container(&self) -> bool {
        self.version == 0xF
    }
}

/// The records laid one after another in `data`; a record that runs past the end is cut to
/// what is there, and iteration stops at a header that does not fit.
fn records(data: &[u8]) -> impl Iterator<Item = Record<'_>> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let header = data.get(pos..pos.checked_add(8)?)?;
        let ver_instance = u16::from_le_bytes([header[0], header[1]]);
        let kind = u16::from_le_bytes([header[2], header[3]]);
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let start = pos + 8;
        let end = start
            .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
            .min(data.len());
        pos = end;
        Some(Record {
            version: ver_instance & 0xF,
            instance: ver_instance >> 4,
            kind,
            body: &data[start..end],
        })
    })
}

/// The record that starts at `offset` in the stream.
fn record_at(data: &[u8], offset: usize) -> Option<Record<'_>> {
    records(data.get(offset..)?).next()
}

/// The `Current User` atom's header token.
fn current_user_token(current_user: &[u8]) -> Option<u32> {
    let atom = records(current_user).next()?;
    (atom.kind == CURRENT_USER_ATOM).then_some(())?;
    le32(atom.body, 4)
}

/// The persist directory: where each persistent object (document, slide, notes page) is.
struct Persist {
    offsets: HashMap<u32, usize>,
    /// The persist id of the document container.
    document: u32,
    encrypted: bool,
}

impl Persist {
    /// Follows the user edits from the one `Current User` points at back to the first,
    /// newer persist entries taking precedence. `None` when the chain cannot be followed.
    fn read(document: &[u8], current_user: &[u8]) -> Option<Persist> {
        let atom = records(current_user).next()?;
        if atom.kind != CURRENT_USER_ATOM {
            return None;
        }
        let mut offset = usize::try_from(le32(atom.body, 8)?).ok()?;
        let mut offsets: HashMap<u32, usize> = HashMap::new();
        let mut newest = None;
        let mut seen = HashSet::new();
        let mut directories = HashSet::new();
        for _ in 0..MAX_EDITS {
            if !seen.insert(offset) {
                break;
            }
            let edit = record_at(document, offset)?;
            if edit.kind != USER_EDIT_ATOM {
                return None;
            }
            let body = edit.body;
            if newest.is_none() {
                // docPersistIdRef, and encryptSessionPersistIdRef when present.
                newest = Some((le32(body, 16)?, le32(body, 28)));
            }
            let at = usize::try_from(le32(body, 12)?).ok()?;
            let directory = record_at(document, at)?;
            // Each directory is read once, however many edits point at it.
            if directory.kind == PERSIST_DIRECTORY_ATOM && directories.insert(at) {
                let entries = directory.body;
                let mut pos = 0;
                while let Some(info) = le32(entries, pos) {
                    let (first, count) = (info & 0xF_FFFF, info >> 20);
                    pos += 4;
                    for i in 0..count {
                        let Some(at) = le32(entries, pos) else { break };
                        pos += 4;
                        offsets
                            .entry(first.saturating_add(i))
                            .or_insert(at as usize);
                    }
                }
            }
            match le32(body, 8)? {
                0 => break,
                last => offset = usize::try_from(last).ok()?,
            }
        }
        let (document_id, crypt_session) = newest?;
        let encrypted = crypt_session
            .and_then(|id| offsets.get(&id))
            .and_then(|&at| record_at(document, at))
            .is_some_and(|r| r.kind == CRYPT_SESSION_CONTAINER);
        Some(Persist {
            offsets,
            document: document_id,
            encrypted,
        })
    }

    /// The container record of persistent object `id`, unless `budget` (bytes of containers
    /// still to be read) is spent: many slides pointing at the same or overlapping records
    /// must not make the reading quadratic.
    fn object<'d>(&self, document: &'d [u8], id: u32, budget: &mut usize) -> Option<Record<'d>> {
        let record = record_at(document, *self.offsets.get(&id)?)?;
        *budget = budget.checked_sub(record.body.len())?;
        Some(record)
    }

    /// The text of every slide and notes page, in presentation order, with its location.
    fn pages(&self, document: &[u8]) -> Option<Vec<(String, Vec<String>)>> {
        let mut budget = document.len().saturating_mul(2);
        let container = self.object(document, self.document, &mut budget)?;
        if container.kind != DOCUMENT_CONTAINER {
            return None;
        }
        // The slide lists: instance 0 the slides, 2 the notes pages.
        let mut slides: Vec<Listed> = Vec::new();
        let mut notes: Vec<Listed> = Vec::new();
        for list in records(container.body).filter(|r| r.kind == SLIDE_LIST_WITH_TEXT) {
            let target = match list.instance {
                0 => &mut slides,
                2 => &mut notes,
                _ => continue,
            };
            for record in records(list.body) {
                match record.kind {
                    SLIDE_PERSIST_ATOM => target.push(Listed {
                        persist: le32(record.body, 0).unwrap_or(u32::MAX),
                        id: le32(record.body, 12).unwrap_or(u32::MAX),
                        texts: Vec::new(),
                    }),
                    TEXT_CHARS_ATOM | TEXT_BYTES_ATOM => {
                        if let (Some(listed), Some(text)) = (target.last_mut(), atom_text(&record))
                        {
                            listed.texts.push(text);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut pages = Vec::new();
        let mut notes_done = HashSet::new();
        for (index, slide) in slides.into_iter().enumerate() {
            let n = index + 1;
            let mut texts = slide.texts;
            let mut notes_id = None;
            if let Some(record) = self.object(document, slide.persist, &mut budget) {
                collect(record.body, 0, record.kind, &mut texts);
                notes_id = records(record.body)
                    .find(|r| r.kind == SLIDE_ATOM)
                    .and_then(|atom| le32(atom.body, 16))
                    .filter(|&id| id != 0);
            }
            pages.push((format!("slide {n}"), dedup(texts)));
            let Some(listed) = notes_id.and_then(|id| notes.iter().position(|l| l.id == id)) else {
                continue;
            };
            if notes_done.insert(listed) {
                pages.push((
                    format!("notes slide {n}"),
                    self.notes_texts(document, &notes[listed], &mut budget),
                ));
            }
        }
        for (i, listed) in notes.iter().enumerate() {
            if !notes_done.contains(&i) {
                pages.push((
                    "notes".to_string(),
                    self.notes_texts(document, listed, &mut budget),
                ));
            }
        }
        Some(pages)
    }

    fn notes_texts(&self, document: &[u8], listed: &Listed, budget: &mut usize) -> Vec<String> {
        let mut texts = listed.texts.clone();
        if let Some(record) = self.object(document, listed.persist, budget) {
            collect(record.body, 0, record.kind, &mut texts);
        }
        dedup(texts)
    }
}

/// A slide or notes page as a slide list gives it: its persist id, its id, and the outline
/// text of its placeholders.
struct Listed {
    persist: u32,
    id: u32,
    texts: Vec<String>,
}

/// Appends the text atoms under `data` (a container's body) to `out`, in stream order;
/// `parent` is the type of the container, for the strings that are text only in comments.
fn collect(data: &[u8], depth: usize, parent: u16, out: &mut Vec<String>) {
    if depth > MAX_NESTING {
        return;
    }
    for record in records(data) {
        if record.is_container() {
            collect(record.body, depth + 1, record.kind, out);
        } else if record.kind == CSTRING && parent != COMMENT_CONTAINER {
            continue;
        } else if let Some(text) = atom_text(&record) {
            out.push(text);
        }
    }
}

/// The text of a text atom (or `CString`), with PowerPoint's paragraph and line breaks as
/// line feeds and other control characters removed.
fn atom_text(record: &Record<'_>) -> Option<String> {
    let raw: String = match record.kind {
        TEXT_CHARS_ATOM | CSTRING => char::decode_utf16(
            record
                .body
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]])),
        )
        .map(|c| c.unwrap_or('\u{FFFD}'))
        .collect(),
        TEXT_BYTES_ATOM => record.body.iter().map(|&b| char::from(b)).collect(),
        _ => return None,
    };
    let text: String = raw
        .chars()
        .filter_map(|c| match c {
            '\r' | '\u{b}' => Some('\n'),
            '\t' => Some('\t'),
            c if u32::from(c) < 0x20 => None,
            c => Some(c),
        })
        .collect();
    (!text.trim().is_empty()).then_some(text)
}

/// The texts without repeats (a placeholder's text may be both in the slide list and in the
/// slide's own drawing).
fn dedup(texts: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    texts
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

fn join(texts: &[String]) -> String {
    let mut out = String::new();
    for text in texts {
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(version: u16, kind: u16, body: &[u8]) -> Vec<u8> {
        let mut out = version.to_le_bytes().to_vec();
        out.extend(kind.to_le_bytes());
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    #[test]
    fn text_atoms_are_collected_in_order() {
        let chars: Vec<u8> = "Card 4111\rnext"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut inner = record(0, TEXT_CHARS_ATOM, &chars);
        inner.extend(record(0, TEXT_BYTES_ATOM, b"caf\xE9"));
        // A CString outside a comment is not text; inside one it is.
        inner.extend(record(0, CSTRING, &[b'x', 0]));
        inner.extend(record(
            0xF,
            COMMENT_CONTAINER,
            &record(0, CSTRING, &[b'y', 0]),
        ));
        let data = record(0xF, 0x03EE, &inner);
        let mut out = Vec::new();
        collect(&data, 0, 0, &mut out);
        assert_eq!(out, ["Card 4111\nnext", "café", "y"]);
    }

    #[test]
    fn records_past_the_end_are_cut() {
        let mut data = record(0, TEXT_BYTES_ATOM, b"abc");
        data[4] = 0xFF; // declares 255 bytes
        let all: Vec<Record<'_>> = records(&data).collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].body, b"abc");
        // Deeply nested containers stop at the nesting limit.
        let mut nested = record(0, TEXT_BYTES_ATOM, b"deep");
        for _ in 0..200 {
            nested = record(0xF, 0x03EE, &nested);
        }
        let mut out = Vec::new();
        collect(&nested, 0, 0, &mut out);
        assert!(out.is_empty());
    }
}
