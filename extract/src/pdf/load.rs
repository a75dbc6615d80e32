//! Loading a PDF with `lopdf`, and repairing what it cannot load: bytes before `%PDF-` are
//! dropped, and when the cross-reference data is broken (a wrong `startxref`, a damaged table
//! or stream, a bad `/Prev` chain) the file is scanned for `N G obj` headers and a new
//! cross-reference table with a trailer is appended, which `lopdf` then reads. The trailer's
//! `/Root`, `/Info`, `/Encrypt` and `/ID` come from the file's last trailer or cross-reference
//! stream dictionary that names them; a catalog found among the objects stands in when none
//! does.
//!
//! `lopdf` can panic on hostile input: every call is under `catch_unwind`.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use lopdf::{Document, Object};

/// Why a PDF could not be loaded at all.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// Encrypted, and the empty user password does not open it.
    Encrypted(String),
    /// Not loadable, even after repair.
    Broken(String),
}

/// A loaded document and whether it needed the repair.
pub(crate) struct Loaded {
    pub(crate) doc: Document,
    pub(crate) repaired: bool,
}

fn lopdf_load(data: &[u8]) -> Result<Document, String> {
    match catch_unwind(AssertUnwindSafe(|| Document::load_mem(data))) {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("parser panicked while loading".into()),
    }
}

fn has_catalog_with_pages(doc: &Document) -> bool {
    catch_unwind(AssertUnwindSafe(|| {
        doc.catalog()
            .ok()
            .and_then(|c| c.get(b"Pages").ok())
            .and_then(|p| p.as_reference().ok())
            .is_some_and(|id| doc.get_object(id).is_ok())
    }))
    .unwrap_or(false)
}

/// Loads `data`, repairing its cross-reference data when needed.
pub(crate) fn load(data: &[u8]) -> Result<Loaded, LoadError> {
    let start = memchr::memmem::find(data, b"%PDF-").unwrap_or(0);
    let body = data.get(start..).unwrap_or(data);
    let first = lopdf_load(body);
    let scanned = scan_objects(body);
    if let Ok(doc) = &first {
        // A table that lost objects the file holds is repaired too (wrong offsets).
        let complete = doc.objects.len() * 5 >= scanned.len() * 4;
        if has_catalog_with_pages(doc) && complete {
            return finish(first.map_err(LoadError::Broken)?, false, body, &scanned);
        }
    }
    let repaired = repair(body, &scanned).and_then(|rebuilt| {
        let mut doc = lopdf_load(&rebuilt).ok()?;
        adopt_catalog(&mut doc);
        Some(doc)
    });
    match (first, repaired) {
        (Ok(original), Some(doc)) => {
            let original_usable = has_catalog_with_pages(&original);
            let repaired_usable = has_catalog_with_pages(&doc);
            if repaired_usable && (!original_usable || doc.objects.len() > original.objects.len()) {
                finish(doc, true, body, &scanned)
            } else {
                finish(original, false, body, &scanned)
            }
        }
        (Ok(original), None) => finish(original, false, body, &scanned),
        (Err(_), Some(doc)) => finish(doc, true, body, &scanned),
        (Err(e), None) => Err(broken_or_encrypted(body, e)),
    }
}

fn broken_or_encrypted(body: &[u8], detail: String) -> LoadError {
    if memchr::memmem::find(body, b"/Encrypt").is_some() {
        LoadError::Encrypted(format!("encrypted PDF that could not be opened ({detail})"))
    } else {
        LoadError::Broken(detail)
    }
}

/// Streams whose `/Length` is wrong come out of `lopdf` as bare dictionaries (or empty streams
/// when it is missing): their data is taken again from the file, from `stream` to the next
/// `endstream`, as readers do.
fn restore_streams(doc: &mut Document, body: &[u8]) {
    if doc.was_encrypted() {
        return;
    }
    let mut fixes = Vec::new();
    for (id, object) in &doc.objects {
        // Also streams left empty (no usable /Length at all).
        let dict = match object {
            Object::Dictionary(dict) => dict,
            Object::Stream(stream) if stream.content.is_empty() => &stream.dict,
            _ => continue,
        };
        let Some(lopdf::xref::XrefEntry::Normal { offset, .. }) = doc.reference_table.get(id.0)
        else {
            continue;
        };
        let Some(from) = body.get(*offset as usize..) else {
            continue;
        };
        let end = memchr::memmem::find(from, b"endobj").unwrap_or(from.len());
        let Some(object_text) = from.get(..end) else {
            continue;
        };
        let Some(at) = memchr::memmem::find(object_text, b"stream") else {
            continue;
        };
        if at >= 3 && object_text.get(at - 3..at) == Some(b"end") {
            continue;
        }
        let mut start = at + 6;
        if from.get(start) == Some(&b'\r') {
            start += 1;
        }
        if from.get(start) == Some(&b'\n') {
            start += 1;
        }
        let Some(rest) = from.get(start..) else {
            continue;
        };
        let Some(stop) = memchr::memmem::find(rest, b"endstream") else {
            continue;
        };
        let mut data = rest.get(..stop).unwrap_or_default();
        while let Some(stripped) = data
            .strip_suffix(b"\n")
            .or_else(|| data.strip_suffix(b"\r"))
        {
            data = stripped;
        }
        fixes.push((*id, lopdf::Stream::new(dict.clone(), data.to_vec())));
    }
    for (id, stream) in fixes {
        doc.objects.insert(id, Object::Stream(stream));
    }
}

/// Encryption: `lopdf` has already tried the empty user password while loading (and then
/// decrypted everything and dropped `/Encrypt`); a document still encrypted needs a password.
fn finish(
    doc: Document,
    repaired: bool,
    body: &[u8],
    scanned: &BTreeMap<u32, (usize, u16)>,
) -> Result<Loaded, LoadError> {
    if catch_unwind(AssertUnwindSafe(|| doc.is_encrypted())).unwrap_or(true) {
        let mut doc = doc;
        let opened = catch_unwind(AssertUnwindSafe(|| doc.decrypt("")))
            .map(|r| r.is_ok())
            .unwrap_or(false);
        if !opened {
            return Err(LoadError::Encrypted("password-protected PDF".into()));
        }
        return Ok(Loaded { doc, repaired });
    }
    let mut doc = doc;
    let _ = catch_unwind(AssertUnwindSafe(|| {
        restore_streams(&mut doc, body);
        super::objects::recover(&mut doc, body, scanned);
    }));
    Ok(Loaded { doc, repaired })
}

/// When the trailer names no usable catalog, one found among the objects (with a page tree)
/// becomes the root.
fn adopt_catalog(doc: &mut Document) {
    if has_catalog_with_pages(doc) {
        return;
    }
    let found = doc.objects.iter().rev().find_map(|(id, object)| {
        let dict = object.as_dict().ok()?;
        let is_catalog = dict.get(b"Type").ok()?.as_name().ok()? == b"Catalog";
        (is_catalog && dict.get(b"Pages").is_ok()).then_some(*id)
    });
    if let Some(id) = found {
        doc.trailer.set("Root", Object::Reference(id));
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

fn is_delim_or_ws(b: u8) -> bool {
    is_ws(b) || matches!(b, b'<' | b'[' | b'/' | b'(' | b'%')
}

/// Reads decimal digits backwards ending at `end` (exclusive); returns (value, start).
fn digits_before(data: &[u8], end: usize) -> Option<(u64, usize)> {
    let mut start = end;
    while start > 0 && data.get(start - 1).is_some_and(u8::is_ascii_digit) {
        start -= 1;
        if end - start > 10 {
            return None;
        }
    }
    if start == end {
        return None;
    }
    let text = std::str::from_utf8(data.get(start..end)?).ok()?;
    Some((text.parse().ok()?, start))
}

/// Every `N G obj` header in the file: object number to (offset, generation), the last
/// occurrence winning (incremental updates append newer versions).
fn scan_objects(data: &[u8]) -> BTreeMap<u32, (usize, u16)> {
    let mut objects = BTreeMap::new();
    for at in memchr::memmem::find_iter(data, b"obj") {
        if !data.get(at + 3).is_none_or(|&b| is_delim_or_ws(b)) {
            continue;
        }
        let mut end = at;
        if !(end > 0 && data.get(end - 1).is_some_and(|&b| is_ws(b))) {
            continue;
        }
        while end > 0 && data.get(end - 1).is_some_and(|&b| is_ws(b)) {
            end -= 1;
        }
        let Some((generation, gen_start)) = digits_before(data, end) else {
            continue;
        };
        let mut end = gen_start;
        if !(end > 0 && data.get(end - 1).is_some_and(|&b| is_ws(b))) {
            continue;
        }
        while end > 0 && data.get(end - 1).is_some_and(|&b| is_ws(b)) {
            end -= 1;
        }
        let Some((number, num_start)) = digits_before(data, end) else {
            continue;
        };
        if num_start > 0
            && !data
                .get(num_start - 1)
                .is_some_and(|&b| is_ws(b) || b == b'>')
        {
            continue;
        }
        let (Ok(number), Ok(generation)) = (u32::try_from(number), u16::try_from(generation))
        else {
            continue;
        };
        if number == 0 || number > 10_000_000 {
            continue;
        }
        objects.insert(number, (num_start, generation));
    }
    objects
}

/// The text of a reference `/Key N G R` in `dict`.
fn reference_in(dict: &[u8], key: &[u8]) -> Option<String> {
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(dict.get(from..)?, key) {
        let after = from + at + key.len();
        from = after;
        if dict.get(after).is_some_and(|&b| b.is_ascii_alphanumeric()) {
            continue;
        }
        let rest = dict.get(after..)?;
        let text = String::from_utf8_lossy(rest.get(..rest.len().min(40))?);
        let mut parts = text.split_ascii_whitespace();
        let (n, g, r) = (parts.next()?, parts.next()?, parts.next()?);
        if n.bytes().all(|b| b.is_ascii_digit())
            && g.bytes().all(|b| b.is_ascii_digit())
            && r.starts_with('R')
        {
            return Some(format!("{n} {g} R"));
        }
    }
    None
}

/// The `/ID [<...> <...>]` array's text in `dict`.
fn id_in(dict: &[u8]) -> Option<String> {
    let at = memchr::memmem::find(dict, b"/ID")?;
    let rest = dict.get(at + 3..)?;
    let open = rest.iter().position(|&b| !is_ws(b))?;
    if rest.get(open) != Some(&b'[') {
        return None;
    }
    let close = rest.get(open..)?.iter().position(|&b| b == b']')?;
    let text = rest.get(open..open + close + 1)?;
    (text.len() < 1024).then(|| String::from_utf8_lossy(text).into_owned())
}

/// A rebuilt file: the original bytes, then a cross-reference table of every object found and
/// a trailer; `None` when no object is found.
fn repair(data: &[u8], objects: &BTreeMap<u32, (usize, u16)>) -> Option<Vec<u8>> {
    if objects.is_empty() {
        return None;
    }
    // Trailer keys from the last trailer (or xref stream) that names a root.
    let mut root = None;
    let mut info = None;
    let mut encrypt = None;
    let mut id = None;
    let mut sources: Vec<usize> = memchr::memmem::find_iter(data, b"trailer").collect();
    sources.extend(memchr::memmem::find_iter(data, b"/XRef"));
    sources.sort_unstable();
    for &at in sources.iter().rev() {
        let window = data.get(at..data.len().min(at + 4096))?;
        if let Some(r) = reference_in(window, b"/Root") {
            root = Some(r);
            info = reference_in(window, b"/Info");
            encrypt = reference_in(window, b"/Encrypt");
            id = id_in(window);
            break;
        }
    }
    if root.is_none() {
        // A catalog among the uncompressed objects.
        root = objects
            .iter()
            .rev()
            .find_map(|(number, &(offset, generation))| {
                let head = data.get(offset..data.len().min(offset + 512))?;
                let catalog = memchr::memmem::find(head, b"/Catalog").is_some()
                    && memchr::memmem::find(head, b"/Pages").is_some();
                catalog.then(|| format!("{number} {generation} R"))
            });
    }
    let mut out = Vec::with_capacity(data.len() + 20 * objects.len() + 256);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n");
    let xref_at = out.len();
    out.extend_from_slice(b"xref\n0 1\n0000000000 65535 f \n");
    for (number, (offset, generation)) in objects {
        out.extend_from_slice(format!("{number} 1\n{offset:010} {generation:05} n \n").as_bytes());
    }
    let size = objects.keys().next_back().map_or(1, |n| n + 1);
    let mut trailer = format!("trailer\n<< /Size {size}");
    for (key, value) in [("Root", &root), ("Info", &info), ("Encrypt", &encrypt)] {
        if let Some(v) = value {
            trailer.push_str(&format!(" /{key} {v}"));
        }
    }
    if let Some(id) = id {
        trailer.push_str(&format!(" /ID {id}"));
    }
    trailer.push_str(&format!(" >>\nstartxref\n{xref_at}\n%%EOF\n"));
    out.extend_from_slice(trailer.as_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_found_by_their_headers() {
        let data = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj <<>> endobj 12 3 obj\n(x)\nendobj\n(a 4 0 objx)";
        let found = scan_objects(data);
        assert_eq!(found.get(&1), Some(&(9, 0)));
        assert!(found.contains_key(&2));
        assert_eq!(found.get(&12).map(|f| f.1), Some(3));
        assert!(!found.contains_key(&4));
        let rebuilt = repair(data, &found).unwrap();
        let text = String::from_utf8_lossy(&rebuilt);
        assert!(text.contains("/Root 1 0 R"), "{text}");
    }

    #[test]
    fn trailer_keys() {
        let t = b"trailer << /Size 9 /Root 3 0 R /Info 1 0 R /ID [<ab> <cd>] >>";
        assert_eq!(reference_in(t, b"/Root").as_deref(), Some("3 0 R"));
        assert_eq!(id_in(t).as_deref(), Some("[<ab> <cd>]"));
        assert_eq!(reference_in(b"/RootX 1 0 R", b"/Root"), None);
    }
}
