//! The PDF reader: the text layer of every page, one segment per page (`page N`), then the
//! text of annotations (`page N annotations`: their `/Contents`) and the values of form fields
//! (`form fields`).
//!
//! Objects are parsed by `lopdf` ([`load`]: bytes before `%PDF-` tolerated, broken
//! cross-reference data rebuilt by scanning for objects, the empty user password tried); the
//! text layer is our own: a content-stream interpreter ([`content`]) over a tolerant tokenizer
//! ([`lexer`]) with fonts decoded through `/ToUnicode`, encodings and CMaps ([`font`],
//! [`cmap`]), and a layout step ([`layout`]) that forms words and lines from glyph positions.
//! Annotation appearances (filled form fields, free text) are drawn like page content. Text
//! is NFKC-normalised (ligatures such as U+FB01 become their letters).
//!
//! A page without text (nor annotation text) is read by OCR once the text layer of every page
//! has been read: the largest image it draws ([`image`]) goes to Tesseract through
//! [`Visit::ocr`] at `page N`, under the walk's page cap and deadline; an image drawn on
//! several such pages is read once.
//!
//! Outcomes: a document that needs a user password is `encrypted`; one that cannot be loaded
//! even after repair, or whose pages all fail, is `broken_file`; one with pages but no text at
//! all, nor a page OCR read, is `no_text` (scanned or image-only; the detail says when OCR is
//! off), or `ocr_unavailable` when OCR could have read its images but Tesseract is missing; never
//! silently read. OCR timing out ends the item at once; an OCR limit (an image over the pixel
//! limit, the page cap) ends it after the other pages have been OCR'd.
//!
//! `lopdf` is a third-party parser that can panic (caught here, per page and for loading) and
//! could overflow the stack or loop on crafted files, which only process isolation stops: PDFs
//! are therefore never read in-process by [`crate::isolate::WorkerPool`]. Our own code is
//! bounded: recursion depth and counts are capped in every walk (page tree, forms, fields,
//! content nesting), and streams are inflated up to a cap.

mod cmap;
mod content;
mod font;
mod image;
mod layout;
mod lexer;
mod load;
mod objects;
mod tables;
mod truetype;

use std::collections::HashSet;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};
use unicode_normalization::UnicodeNormalization;

use crate::types::{Outcome, Skip, SkipReason};
use crate::visit::Visit;

use content::{FontCache, Interpreter, Matrix};

/// Deepest page tree or field tree walked.
const MAX_TREE_DEPTH: usize = 64;
/// Most pages read from one document.
const MAX_PAGES: usize = 100_000;
/// Most form fields read from one document.
const MAX_FIELDS: usize = 20_000;
/// Most annotations drawn on one page.
const MAX_ANNOTATIONS: usize = 2_000;

/// Follows references (a few hops at most: a chain or a cycle of references is nothing).
pub(crate) fn resolve<'a>(doc: &'a Document, mut object: &'a Object) -> Option<&'a Object> {
    for _ in 0..8 {
        match object {
            Object::Reference(id) => object = doc.objects.get(id)?,
            other => return Some(other),
        }
    }
    None
}

fn dict_of<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Dictionary> {
    match resolve(doc, object)? {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

fn get<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    dict.get(key).ok().and_then(|o| resolve(doc, o))
}

fn inflate(input: &[u8], cap: usize) -> Vec<u8> {
    fn read_capped(mut reader: impl Read, cap: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 16 << 10];
        while out.len() < cap {
            match reader.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
        out.truncate(cap);
        out
    }
    let out = read_capped(flate2::read::ZlibDecoder::new(input), cap);
    if out.is_empty() && input.len() > 2 {
        // A damaged zlib header: try the raw deflate data after it, then the whole as raw.
        let raw = read_capped(
            flate2::read::DeflateDecoder::new(input.get(2..).unwrap_or_default()),
            cap,
        );
        if !raw.is_empty() {
            return raw;
        }
        return read_capped(flate2::read::DeflateDecoder::new(input), cap);
    }
    out
}

fn ascii_hex(input: &[u8]) -> Vec<u8> {
    lexer::hex_bytes(input).0
}

fn ascii85(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 4 / 5);
    let mut group = [0u8; 5];
    let mut n = 0;
    let data = input.strip_prefix(b"<~").unwrap_or(input);
    for &b in data {
        match b {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0, 0, 0, 0]),
            b'!'..=b'u' => {
                if let Some(slot) = group.get_mut(n) {
                    *slot = b - b'!';
                }
                n += 1;
                if n == 5 {
                    let v = group.iter().fold(0u64, |v, &d| v * 85 + u64::from(d));
                    out.extend_from_slice(&(v as u32).to_be_bytes());
                    n = 0;
                }
            }
            _ => {}
        }
    }
    if n > 1 {
        for slot in group.iter_mut().skip(n) {
            *slot = 84;
        }
        let v = group.iter().fold(0u64, |v, &d| v * 85 + u64::from(d));
        let bytes = (v as u32).to_be_bytes();
        out.extend_from_slice(bytes.get(..n - 1).unwrap_or_default());
    }
    out
}

fn run_length(input: &[u8], cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&len) = input.get(i) {
        if len == 128 || out.len() >= cap {
            break;
        }
        if len < 128 {
            let n = usize::from(len) + 1;
            out.extend_from_slice(
                input
                    .get(i + 1..(i + 1 + n).min(input.len()))
                    .unwrap_or_default(),
            );
            i += 1 + n;
        } else if let Some(&b) = input.get(i + 1) {
            out.extend(std::iter::repeat_n(b, 257 - usize::from(len)));
            i += 2;
        } else {
            break;
        }
    }
    out.truncate(cap);
    out
}

/// PNG predictors (`/Predictor` 10 to 15) undone, row by row.
fn png_unpredict(data: &[u8], params: &Dictionary) -> Option<Vec<u8>> {
    let int = |key: &[u8], default: i64| {
        params
            .get(key)
            .ok()
            .and_then(|o| o.as_i64().ok())
            .unwrap_or(default)
    };
    if int(b"Predictor", 1) < 10 {
        return Some(data.to_vec());
    }
    let colors = int(b"Colors", 1).clamp(1, 32) as usize;
    let bits = int(b"BitsPerComponent", 8).clamp(1, 16) as usize;
    let columns = int(b"Columns", 1).clamp(1, 1 << 20) as usize;
    let bpp = (colors * bits).div_ceil(8).max(1);
    let row = (colors * bits * columns).div_ceil(8);
    let mut out = Vec::with_capacity(data.len());
    let mut previous = vec![0u8; row];
    for chunk in data.chunks(row + 1) {
        let (&kind, line) = chunk.split_first()?;
        let mut current = line.to_vec();
        current.resize(row, 0);
        for i in 0..row {
            let left = if i >= bpp {
                current.get(i - bpp).copied().unwrap_or(0)
            } else {
                0
            };
            let up = previous.get(i).copied().unwrap_or(0);
            let up_left = if i >= bpp {
                previous.get(i - bpp).copied().unwrap_or(0)
            } else {
                0
            };
            let add = match kind {
                1 => left,
                2 => up,
                3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                4 => {
                    let p = i16::from(left) + i16::from(up) - i16::from(up_left);
                    let (pa, pb, pc) = (
                        (p - i16::from(left)).abs(),
                        (p - i16::from(up)).abs(),
                        (p - i16::from(up_left)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        left
                    } else if pb <= pc {
                        up
                    } else {
                        up_left
                    }
                }
                _ => 0,
            };
            if let Some(v) = current.get_mut(i) {
                *v = v.wrapping_add(add);
            }
        }
        out.extend_from_slice(current.get(..line.len().min(row)).unwrap_or_default());
        previous = current;
    }
    Some(out)
}

/// A stream's filter names and their `/DecodeParms`, in order.
type Filters<'a> = (Vec<Vec<u8>>, Vec<Option<&'a Dictionary>>);

/// A stream's filters; `None` when `/Filter` is neither a name nor an array.
fn filters_of(stream: &Stream) -> Option<Filters<'_>> {
    let filters: Vec<Vec<u8>> = match stream.dict.get(b"Filter").ok() {
        None => Vec::new(),
        Some(Object::Name(n)) => vec![n.clone()],
        Some(Object::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_name().ok().map(<[u8]>::to_vec))
            .collect(),
        Some(_) => return None,
    };
    let params: Vec<Option<&Dictionary>> = match stream.dict.get(b"DecodeParms").ok() {
        Some(Object::Dictionary(d)) => vec![Some(d)],
        Some(Object::Array(items)) => items.iter().map(|i| i.as_dict().ok()).collect(),
        _ => Vec::new(),
    };
    Some((filters, params))
}

/// A stream's data with its filters undone, at most `cap` bytes (a damaged deflate stream
/// gives what inflated before the damage). `None` for image codecs and unknown filters.
pub(crate) fn decode_stream(stream: &Stream, cap: usize) -> Option<Vec<u8>> {
    let (filters, params) = filters_of(stream)?;
    decode_filters(stream, &filters, &params, true, cap)
}

/// A stream's data with only its first `n` filters undone (those before an image codec such
/// as `/DCTDecode`), at most `cap` bytes.
pub(crate) fn decode_stream_prefix(stream: &Stream, n: usize, cap: usize) -> Option<Vec<u8>> {
    let (filters, params) = filters_of(stream)?;
    let whole = n >= filters.len();
    decode_filters(
        stream,
        filters.get(..n).unwrap_or(&filters),
        &params,
        whole,
        cap,
    )
}

/// Undoes `filters` (the stream's whole chain when `whole`) on the stream's data.
fn decode_filters(
    stream: &Stream,
    filters: &[Vec<u8>],
    params: &[Option<&Dictionary>],
    whole: bool,
    cap: usize,
) -> Option<Vec<u8>> {
    let mut data: Vec<u8> = stream
        .content
        .get(..stream.content.len().min(cap))?
        .to_vec();
    if filters.is_empty() {
        return Some(data);
    }
    for (i, filter) in filters.iter().enumerate() {
        data = match filter.as_slice() {
            b"FlateDecode" | b"Fl" => {
                let input: &[u8] = if i == 0 { &stream.content } else { &data };
                let inflated = inflate(input, cap);
                match params.get(i).copied().flatten() {
                    Some(p) => png_unpredict(&inflated, p)?,
                    None => inflated,
                }
            }
            b"ASCIIHexDecode" | b"AHx" => ascii_hex(&data),
            b"ASCII85Decode" | b"A85" => ascii85(&data),
            b"RunLengthDecode" | b"RL" => run_length(&data, cap),
            // lopdf knows LZW; it decodes the whole chain itself.
            b"LZWDecode" | b"LZW" if whole => {
                return catch_unwind(AssertUnwindSafe(|| stream.decompressed_content()))
                    .ok()?
                    .ok()
                    .map(|mut d| {
                        d.truncate(cap);
                        d
                    });
            }
            b"Crypt" => data,
            _ => return None,
        };
        data.truncate(cap);
    }
    Some(data)
}

/// A page with what it inherits from the page tree.
struct Page<'a> {
    dict: &'a Dictionary,
    resources: Option<&'a Dictionary>,
    clip: Option<[f64; 4]>,
}

fn rect(doc: &Document, object: Option<&Object>) -> Option<[f64; 4]> {
    let Some(Object::Array(items)) = object.and_then(|o| resolve(doc, o)) else {
        return None;
    };
    let mut r = [0.0; 4];
    for (slot, item) in r.iter_mut().zip(items) {
        *slot = match resolve(doc, item)? {
            Object::Integer(i) => *i as f64,
            Object::Real(v) => f64::from(*v),
            _ => return None,
        };
    }
    (items.len() >= 4 && r.iter().all(|v| v.is_finite())).then_some([
        r[0].min(r[2]),
        r[1].min(r[3]),
        r[0].max(r[2]),
        r[1].max(r[3]),
    ])
}

#[derive(Clone, Copy, Default)]
struct Inherited<'a> {
    resources: Option<&'a Dictionary>,
    media_box: Option<&'a Object>,
    crop_box: Option<&'a Object>,
}

fn page_of<'a>(doc: &'a Document, dict: &'a Dictionary, inherited: Inherited<'a>) -> Page<'a> {
    let resources = get(doc, dict, b"Resources")
        .and_then(|r| dict_of(doc, r))
        .or(inherited.resources);
    let media = rect(doc, dict.get(b"MediaBox").ok().or(inherited.media_box));
    let crop = rect(doc, dict.get(b"CropBox").ok().or(inherited.crop_box));
    let clip = match (media, crop) {
        (Some(m), Some(c)) => {
            let i = [
                m[0].max(c[0]),
                m[1].max(c[1]),
                m[2].min(c[2]),
                m[3].min(c[3]),
            ];
            Some(if i[0] < i[2] && i[1] < i[3] { i } else { m })
        }
        (m, c) => m.or(c),
    };
    // A degenerate box clips nothing rather than everything.
    let clip = clip.filter(|c| c[2] - c[0] > 1.0 && c[3] - c[1] > 1.0);
    Page {
        dict,
        resources,
        clip,
    }
}

/// The pages in order, by the page tree; when the tree is unusable, every page object in
/// object-number order. The flag tells that the tree is damaged (a cycle, a page with kids or
/// that is its own parent, a kid that is not there), which makes a document without text
/// `broken_file` rather than `no_text`.
fn pages(doc: &Document) -> (Vec<Page<'_>>, bool) {
    let mut damaged = false;
    let mut out = Vec::new();
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let root = doc.catalog().ok().and_then(|c| c.get(b"Pages").ok());
    // Depth-first with an explicit stack: (node, inherited, depth).
    let mut stack: Vec<(&Object, Inherited<'_>, usize)> = Vec::new();
    if let Some(root) = root {
        stack.push((root, Inherited::default(), 0));
    }
    while let Some((node, inherited, depth)) = stack.pop() {
        if out.len() >= MAX_PAGES || depth > MAX_TREE_DEPTH {
            break;
        }
        let own_id = match node {
            Object::Reference(id) => {
                if !seen.insert(*id) {
                    damaged = true;
                    continue;
                }
                Some(*id)
            }
            _ => None,
        };
        let Some(dict) = dict_of(doc, node) else {
            damaged = true;
            continue;
        };
        if own_id.is_some()
            && dict.get(b"Parent").ok().and_then(|p| p.as_reference().ok()) == own_id
        {
            damaged = true;
        }
        let kids = match get(doc, dict, b"Kids") {
            Some(Object::Array(kids)) => Some(kids),
            _ => None,
        };
        let is_page = dict.get(b"Type").ok().and_then(|t| t.as_name().ok()) == Some(b"Page");
        match kids {
            Some(kids) if !is_page => {
                let here = Inherited {
                    resources: get(doc, dict, b"Resources")
                        .and_then(|r| dict_of(doc, r))
                        .or(inherited.resources),
                    media_box: dict.get(b"MediaBox").ok().or(inherited.media_box),
                    crop_box: dict.get(b"CropBox").ok().or(inherited.crop_box),
                };
                for kid in kids.iter().rev() {
                    stack.push((kid, here, depth + 1));
                }
            }
            _ => {
                damaged |= is_page && kids.is_some();
                out.push(page_of(doc, dict, inherited));
            }
        }
    }
    if out.is_empty() {
        damaged = true;
        for object in doc.objects.values() {
            if out.len() >= MAX_PAGES {
                break;
            }
            let Ok(dict) = object.as_dict() else {
                continue;
            };
            if dict.get(b"Type").ok().and_then(|t| t.as_name().ok()) == Some(b"Page") {
                // Inherit resources from the parent chain, a few levels up.
                let mut inherited = Inherited::default();
                let mut parent = get(doc, dict, b"Parent").and_then(|p| dict_of(doc, p));
                for _ in 0..MAX_TREE_DEPTH {
                    let Some(p) = parent else { break };
                    if inherited.resources.is_none() {
                        inherited.resources =
                            get(doc, p, b"Resources").and_then(|r| dict_of(doc, r));
                    }
                    if inherited.media_box.is_none() {
                        inherited.media_box = p.get(b"MediaBox").ok();
                    }
                    parent = get(doc, p, b"Parent").and_then(|q| dict_of(doc, q));
                }
                out.push(page_of(doc, dict, inherited));
            }
        }
    }
    (out, damaged)
}

/// The page's content streams, decoded and joined; `None` when it has some and none decodes.
/// The page's content streams, decoded and joined, and whether they reached the content cap
/// (a compression bomb, or a page too large to read whole); `None` if none could be decoded.
fn page_content(doc: &Document, page: &Page<'_>) -> (Option<Vec<u8>>, bool) {
    let streams: Vec<&Object> = match page.dict.get(b"Contents").ok() {
        None => return (Some(Vec::new()), false),
        Some(contents) => match resolve(doc, contents) {
            Some(Object::Array(items)) => items.iter().collect(),
            Some(_) => vec![contents],
            None => return (Some(Vec::new()), false),
        },
    };
    let mut out = Vec::new();
    let mut any = streams.is_empty();
    let mut capped = false;
    for s in streams {
        if let Some(Object::Stream(stream)) = resolve(doc, s) {
            let cap = content::MAX_CONTENT.saturating_sub(out.len());
            if let Some(data) = decode_stream(stream, cap) {
                capped |= data.len() >= cap;
                out.extend_from_slice(&data);
                out.push(b'\n');
                any = true;
            }
        }
    }
    (any.then_some(out), capped)
}

/// What one page gave: its text (drawn content and annotation appearances), the text of its
/// annotations' `/Contents`, and whether its content could be decoded.
struct PageText<'a> {
    text: String,
    notes: String,
    readable: bool,
    /// A budget of the interpreter ran out on this page.
    truncated: bool,
    /// A form of this page draws itself.
    looped: bool,
    /// The image XObjects the page draws.
    images: Vec<&'a Stream>,
}

fn text_string(object: &Object) -> Option<String> {
    match object {
        Object::String(..) => lopdf::decode_text_string(object).ok(),
        _ => None,
    }
}

fn read_page<'a>(doc: &'a Document, page: &Page<'a>, fonts: &mut FontCache) -> PageText<'a> {
    let (content, capped) = page_content(doc, page);
    let readable = content.is_some();
    let mut interpreter = Interpreter::new(doc, fonts, page.clip);
    if let Some(content) = &content {
        interpreter.run(content, page.resources, Matrix::IDENTITY);
    }
    let mut notes = String::new();
    if let Some(Object::Array(annots)) = get(doc, page.dict, b"Annots") {
        for annot in annots.iter().take(MAX_ANNOTATIONS) {
            let Some(dict) = dict_of(doc, annot) else {
                continue;
            };
            let subtype = get(doc, dict, b"Subtype")
                .and_then(|s| s.as_name().ok())
                .unwrap_or_default();
            let flags = get(doc, dict, b"F")
                .and_then(|f| f.as_i64().ok())
                .unwrap_or(0);
            // Hidden (2) or not to be viewed (32): nobody sees it, neither do we.
            if subtype == b"Popup" || flags & (2 | 32) != 0 {
                continue;
            }
            if subtype != b"Widget" && subtype != b"FreeText" {
                if let Some(text) = get(doc, dict, b"Contents").and_then(text_string) {
                    let text = text.trim();
                    if !text.is_empty() {
                        notes.push_str(text);
                        notes.push('\n');
                    }
                }
            }
            let Some(rect) = rect(doc, dict.get(b"Rect").ok()) else {
                continue;
            };
            let normal = get(doc, dict, b"AP")
                .and_then(|ap| dict_of(doc, ap))
                .and_then(|ap| ap.get(b"N").ok());
            let (stream, id) = match normal.map(|n| (resolve(doc, n), n)) {
                Some((Some(Object::Stream(s)), n)) => (Some(s), n.as_reference().ok()),
                Some((Some(Object::Dictionary(states)), _)) => {
                    // An appearance per state: the one named by /AS.
                    let state = get(doc, dict, b"AS").and_then(|s| s.as_name().ok());
                    match state.and_then(|s| states.get(s).ok()) {
                        Some(entry) => match resolve(doc, entry) {
                            Some(Object::Stream(s)) => (Some(s), entry.as_reference().ok()),
                            _ => (None, None),
                        },
                        None => (None, None),
                    }
                }
                _ => (None, None),
            };
            if let Some(stream) = stream {
                interpreter.run_appearance(stream, id, rect);
            }
        }
    }
    let (truncated, looped) = (interpreter.truncated || capped, interpreter.looped);
    let images = std::mem::take(&mut interpreter.images);
    let glyphs = interpreter.finish();
    PageText {
        text: layout::page_text(&glyphs),
        notes,
        readable,
        truncated,
        looped,
        images,
    }
}

/// The values of the document's form fields (`/AcroForm /Fields`, with their kids), one per
/// line.
fn form_values(doc: &Document) -> String {
    let mut out = String::new();
    let Some(fields) = doc
        .catalog()
        .ok()
        .and_then(|c| get(doc, c, b"AcroForm"))
        .and_then(|f| dict_of(doc, f))
        .and_then(|f| get(doc, f, b"Fields"))
    else {
        return out;
    };
    let Object::Array(fields) = fields else {
        return out;
    };
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut stack: Vec<(&Object, usize)> = fields.iter().rev().map(|f| (f, 0)).collect();
    let mut visited = 0usize;
    while let Some((field, depth)) = stack.pop() {
        visited += 1;
        if visited > MAX_FIELDS || depth > MAX_TREE_DEPTH {
            break;
        }
        if let Object::Reference(id) = field {
            if !seen.insert(*id) {
                continue;
            }
        }
        let Some(dict) = dict_of(doc, field) else {
            continue;
        };
        match get(doc, dict, b"V") {
            Some(Object::Array(values)) => {
                for v in values {
                    if let Some(text) = resolve(doc, v).and_then(text_string) {
                        push_line(&mut out, &text);
                    }
                }
            }
            Some(v) => {
                if let Some(text) = text_string(v) {
                    push_line(&mut out, &text);
                }
            }
            None => {}
        }
        if let Some(Object::Array(kids)) = get(doc, dict, b"Kids") {
            for kid in kids.iter().rev() {
                stack.push((kid, depth + 1));
            }
        }
    }
    out
}

fn push_line(out: &mut String, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        out.push_str(text);
        out.push('\n');
    }
}

/// NFKC (ligatures to letters, compatibility forms to their plain ones), control characters
/// other than line breaks and tabs dropped, trailing spaces and blank lines trimmed.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line: String = line
            .nfkc()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        let line = line.trim_end();
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// What OCR of the pages without a text layer came to.
#[derive(Default)]
struct PageOcr {
    /// Image streams already given to OCR, by address: one drawn on several pages (a
    /// background, a logo) is read once.
    seen: HashSet<usize>,
    /// Pages whose image OCR read.
    read: usize,
    /// Pages whose image OCR does not read (CCITT, JPEG 2000, CMYK, damaged...).
    unread: usize,
    /// OCR is turned off (`Limits::ocr`).
    off: bool,
    /// Tesseract (or a language's data) is missing: why. No more OCR is tried.
    unavailable: Option<Skip>,
    /// The first limit that struck (an image over the pixel limit, the page cap, Tesseract's
    /// memory); the item ends with it once the text layer of every page has been read.
    limit: Option<Skip>,
    /// No more OCR: turned off, unavailable or its page cap reached.
    stopped: bool,
}

impl PageOcr {
    /// OCRs the largest image `images` holds (the page has no text), at `page N`. Only a
    /// timeout ends the item at once.
    fn page(
        &mut self,
        walker: &mut dyn Visit,
        doc: &Document,
        images: &[&Stream],
        member: Option<&str>,
        number: usize,
    ) -> Outcome {
        if self.stopped {
            return Ok(());
        }
        let Some(largest) = image::largest(doc, images) else {
            return Ok(());
        };
        if !walker.limits().ocr {
            self.off = true;
            self.stopped = true;
            return Ok(());
        }
        if !self.seen.insert(largest as *const Stream as usize) {
            return Ok(());
        }
        let limits = walker.limits();
        let picture = catch_unwind(AssertUnwindSafe(|| image::picture(doc, largest, limits)))
            .unwrap_or_else(|_| Err(Skip::broken("pdf image: the decoder panicked")));
        let picture = match picture {
            Ok(picture) => picture,
            Err(skip) if skip.reason == SkipReason::LimitExceeded => {
                self.limit.get_or_insert(skip);
                return Ok(());
            }
            Err(_) => {
                self.unread += 1;
                return Ok(());
            }
        };
        match walker.ocr(&picture, member, &format!("page {number}")) {
            Ok(()) => self.read += 1,
            Err(skip) => match skip.reason {
                SkipReason::Timeout => return Err(skip),
                SkipReason::LimitExceeded => {
                    self.limit.get_or_insert(skip);
                    self.stopped = true;
                }
                SkipReason::OcrUnavailable => {
                    self.unavailable = Some(skip);
                    self.stopped = true;
                }
                // What the walk says when OCR is off.
                SkipReason::UnsupportedFormat => {
                    self.off = true;
                    self.stopped = true;
                }
                _ => self.unread += 1,
            },
        }
        Ok(())
    }
}

pub(crate) fn read(walker: &mut dyn Visit, data: &[u8], member: Option<&str>) -> Outcome {
    let loaded = load::load(data).map_err(|e| match e {
        load::LoadError::Encrypted(detail) => Skip::new(SkipReason::Encrypted, detail),
        load::LoadError::Broken(detail) => Skip::broken(format!("pdf: {detail}")),
    })?;
    let doc = &loaded.doc;
    let (pages, damaged_tree) = catch_unwind(AssertUnwindSafe(|| pages(doc)))
        .map_err(|_| Skip::broken("pdf: parser panicked reading the page tree"))?;
    if pages.is_empty() {
        return Err(Skip::broken("pdf: no readable page"));
    }
    let mut fonts = FontCache::new();
    let mut any_text = false;
    let mut unreadable = 0usize;
    let (mut truncated, mut looped) = (0usize, 0usize);
    let mut ocr = PageOcr::default();
    // Pages without text, and the images they draw.
    let mut without_text: Vec<(usize, Vec<&Stream>)> = Vec::new();
    for (index, page) in pages.iter().enumerate() {
        walker.check_time()?;
        let number = index + 1;
        let result = catch_unwind(AssertUnwindSafe(|| read_page(doc, page, &mut fonts)));
        let Ok(page_text) = result else {
            unreadable += 1;
            fonts.clear();
            continue;
        };
        if !page_text.readable {
            unreadable += 1;
        }
        truncated += usize::from(page_text.truncated);
        looped += usize::from(page_text.looped);
        let text = normalize(&page_text.text);
        if !text.is_empty() {
            any_text = true;
            walker.text(member, Some(&format!("page {number}")), &text)?;
        }
        let notes = normalize(&page_text.notes);
        if !notes.is_empty() {
            any_text = true;
            walker.text(member, Some(&format!("page {number} annotations")), &notes)?;
        }
        if text.is_empty() && notes.is_empty() && !page_text.images.is_empty() {
            without_text.push((number, page_text.images));
        }
    }
    let fields = catch_unwind(AssertUnwindSafe(|| form_values(doc))).unwrap_or_default();
    let fields = normalize(&fields);
    if !fields.is_empty() {
        any_text = true;
        walker.text(member, Some("form fields"), &fields)?;
    }
    // OCR last, so that its time (or its timeout) never costs the text layer of a later page.
    for (number, images) in &without_text {
        ocr.page(walker, doc, images, member, *number)?;
    }
    if let Some(limit) = ocr.limit {
        return Err(limit);
    }
    if !any_text && ocr.read == 0 {
        if unreadable == pages.len() {
            return Err(Skip::broken("pdf: no page could be read"));
        }
        // Without text, say why when it is not (only) that the pages have none.
        if looped > 0 {
            return Err(Skip::broken(format!(
                "pdf: no text, and the content of {looped} page(s) draws itself (a form loop)"
            )));
        }
        if truncated > 0 {
            return Err(Skip::limit(format!(
                "pdf: no text within the content limits of {truncated} page(s)"
            )));
        }
        if damaged_tree {
            return Err(Skip::broken(
                "pdf: damaged page tree (a cycle or a missing page) and no text",
            ));
        }
        let repaired = if loaded.repaired {
            " (after repairing its cross-reference data)"
        } else {
            ""
        };
        let without = format!(
            "pdf: {} page(s) without a text layer{repaired}",
            pages.len()
        );
        // Image-only pages that OCR could read but for Tesseract: say how to install it.
        if let Some(unavailable) = ocr.unavailable {
            return Err(Skip::new(
                SkipReason::OcrUnavailable,
                format!("{without}, not OCR'd: {}", unavailable.detail),
            ));
        }
        let mut detail = format!("{without}: scanned or image-only");
        if ocr.off {
            detail.push_str("; OCR is turned off");
        }
        if ocr.unread > 0 {
            detail.push_str(&format!(
                "; the images of {} page(s) are in a form OCR does not read",
                ocr.unread
            ));
        }
        return Err(Skip::new(SkipReason::NoText, detail));
    }
    Ok(())
}
