//! Fonts as the text layer needs them: how a string splits into codes, the Unicode text of
//! each code, and each code's advance width.
//!
//! Text comes, in order of preference, from the font's `/ToUnicode` CMap; for simple fonts
//! (Type1, TrueType, Type3) from the encoding (a base encoding, the embedded Type1 program's
//! own, or the PDF's `/Differences`) through glyph names and the Adobe Glyph List; for
//! composite fonts (Type0) from a predefined CMap whose codes are text in a known encoding
//! (`UniGB-UCS2-H`, `90ms-RKSJ-H`, ...), or, for `Identity` CMaps over an embedded TrueType
//! program, from the program's own `cmap` table read backwards (glyph id to character).
//! Widths come from `/Widths`, `/W` and `/DW`, else from the standard 14 fonts' metrics.

use std::collections::HashMap;

use lopdf::{Dictionary, Document, Object};

use super::cmap::{predefined, CMap, Code, Predefined};
use super::lexer::{Lexer, Operand};
use super::tables;
use super::{decode_stream, dict_of, get, resolve};

/// Most CID width entries kept from a `/W` array.
const MAX_WIDTH_ENTRIES: usize = 1 << 16;

#[derive(Debug)]
enum Widths {
    Simple {
        first: u32,
        widths: Vec<f64>,
        fallback: f64,
    },
    Cid {
        ranges: Vec<(u32, u32, f64)>,
        default: f64,
    },
}

/// A font, ready to decode strings.
#[derive(Debug)]
pub(crate) struct Font {
    composite: bool,
    to_unicode: Option<CMap>,
    /// Simple fonts: the text of each code from the encoding.
    simple_text: Vec<Option<String>>,
    /// Composite fonts: the embedded encoding CMap (code to CID and code lengths).
    encoding_cmap: Option<CMap>,
    predefined: Predefined,
    /// Composite fonts over TrueType: CID to glyph id (`/CIDToGIDMap` stream), when not identity.
    cid_to_gid: Option<Vec<u16>>,
    /// Glyph id to character, from the embedded TrueType program's `cmap`.
    gid_text: Option<HashMap<u16, char>>,
    /// The CIDs are of an Adobe CJK collection (Japan1, GB1, CNS1, Korea1), whose CIDs 1 to
    /// 95 are the printable ASCII characters.
    adobe_cjk: bool,
    widths: Widths,
    /// Glyph units to text space: 1/1000, or a Type3 font's `/FontMatrix`.
    scale: f64,
    /// Vertical writing (`-V` CMaps): glyphs advance downwards.
    pub(crate) vertical: bool,
    /// `/ToUnicode /Identity-H`: codes are Unicode code points.
    identity_unicode: bool,
}

/// Glyph name to Unicode text: the Adobe Glyph List, `uniXXXX`, `uXXXX`, ligature names
/// (`f_f_i`) and suffixed variants (`a.sc`).
pub(crate) fn glyph_name_to_unicode(name: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(name).ok()?;
    if let Ok(i) = tables::GLYPH_LIST.binary_search_by(|(n, _)| n.cmp(&name)) {
        return tables::GLYPH_LIST.get(i).map(|(_, t)| (*t).to_string());
    }
    let base = match name.find('.') {
        Some(0) => return None,
        Some(i) => name.get(..i)?,
        None => name,
    };
    if base != name {
        return glyph_name_to_unicode(base.as_bytes());
    }
    if base.contains('_') {
        let parts: Option<String> = base
            .split('_')
            .map(|p| glyph_name_to_unicode(p.as_bytes()))
            .collect();
        return parts.filter(|p| !p.is_empty());
    }
    let hex_chars = |digits: &str| -> Option<String> {
        digits
            .as_bytes()
            .chunks(4)
            .map(|c| {
                let s = std::str::from_utf8(c).ok()?;
                u32::from_str_radix(s, 16).ok().and_then(char::from_u32)
            })
            .collect()
    };
    if let Some(digits) = base.strip_prefix("uni") {
        if !digits.is_empty()
            && digits.len() % 4 == 0
            && digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return hex_chars(digits);
        }
    }
    if let Some(digits) = base.strip_prefix('u') {
        if (4..=6).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return u32::from_str_radix(digits, 16)
                .ok()
                .and_then(char::from_u32)
                .map(String::from);
        }
    }
    None
}

fn number(doc: &Document, object: &Object) -> Option<f64> {
    match resolve(doc, object)? {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

fn name_of<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    match get(doc, dict, key)? {
        Object::Name(n) => Some(n),
        _ => None,
    }
}

fn stream_data(doc: &Document, dict: &Dictionary, key: &[u8]) -> Option<Vec<u8>> {
    match get(doc, dict, key)? {
        Object::Stream(s) => decode_stream(s, 16 << 20),
        _ => None,
    }
}

fn base_encoding(name: &[u8]) -> Option<&'static [&'static str; 256]> {
    match name {
        b"WinAnsiEncoding" => Some(&tables::WIN_ANSI),
        b"MacRomanEncoding" => Some(&tables::MAC_ROMAN),
        b"MacExpertEncoding" => Some(&tables::MAC_EXPERT),
        b"StandardEncoding" => Some(&tables::STANDARD),
        _ => None,
    }
}

/// The standard-14 font a base font name stands for (subset prefix and common aliases
/// removed), for its widths when the PDF gives none.
fn core_font(base: &[u8]) -> Option<&'static [(&'static str, u16)]> {
    let name = String::from_utf8_lossy(base);
    let name = match name.split_once('+') {
        Some((prefix, rest)) if prefix.len() == 6 => rest.to_string(),
        _ => name.into_owned(),
    };
    let lower = name.to_ascii_lowercase();
    let bold = lower.contains("bold") || lower.contains("black") || lower.contains("heavy");
    let italic = lower.contains("italic") || lower.contains("oblique");
    let family = if lower.starts_with("symbol") {
        return lookup_core("Symbol");
    } else if lower.starts_with("zapfdingbats") || lower.starts_with("dingbats") {
        return lookup_core("ZapfDingbats");
    } else if lower.starts_with("courier") {
        "Courier"
    } else if lower.starts_with("times") || lower.contains("roman") || lower.contains("serif") {
        "Times"
    } else if lower.starts_with("helvetica") || lower.starts_with("arial") {
        "Helvetica"
    } else {
        return None;
    };
    let full = match (family, bold, italic) {
        ("Times", false, false) => "Times-Roman".to_string(),
        ("Times", true, false) => "Times-Bold".to_string(),
        ("Times", false, true) => "Times-Italic".to_string(),
        ("Times", true, true) => "Times-BoldItalic".to_string(),
        (f, false, false) => f.to_string(),
        (f, true, false) => format!("{f}-Bold"),
        (f, false, true) => format!("{f}-Oblique"),
        (f, true, true) => format!("{f}-BoldOblique"),
    };
    lookup_core(&full)
}

fn lookup_core(name: &str) -> Option<&'static [(&'static str, u16)]> {
    tables::CORE_FONTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, w)| *w)
}

fn core_width(metrics: &[(&str, u16)], glyph: &str) -> Option<f64> {
    metrics
        .binary_search_by(|(n, _)| n.cmp(&glyph))
        .ok()
        .and_then(|i| metrics.get(i))
        .map(|(_, w)| f64::from(*w))
}

/// The built-in encoding of an embedded Type1 program (`dup 65 /A put` in its clear-text
/// part), if it has its own.
fn type1_builtin_encoding(program: &[u8]) -> Option<Vec<Option<String>>> {
    let end = memchr::memmem::find(program, b"eexec").unwrap_or(program.len());
    let clear = program.get(..end.min(256 << 10))?;
    let at = memchr::memmem::find(clear, b"/Encoding")?;
    let rest = clear.get(at + 9..)?;
    if rest.trim_ascii_start().starts_with(b"StandardEncoding") {
        return None;
    }
    let mut names: Vec<Option<String>> = vec![None; 256];
    let mut lexer = Lexer::new(rest);
    let mut window: Vec<Result<Operand, Vec<u8>>> = Vec::new();
    let mut found = false;
    let mut steps = 0usize;
    while let Some(item) = lexer.next_item() {
        steps += 1;
        if steps > 8192 {
            break;
        }
        let item = item.map_err(<[u8]>::to_vec);
        if let Err(k) = &item {
            if k == b"readonly" || k == b"def" {
                break;
            }
            if k == b"put" {
                if let [.., Ok(Operand::Number(code)), Ok(Operand::Name(name))] = window.as_slice()
                {
                    let code = *code as usize;
                    if let (Some(slot), Some(text)) =
                        (names.get_mut(code), glyph_name_to_unicode(name))
                    {
                        *slot = Some(text);
                        found = true;
                    }
                }
                window.clear();
                continue;
            }
        }
        if window.len() >= 3 {
            window.drain(..1);
        }
        window.push(item);
    }
    found.then_some(names)
}

impl Font {
    /// Builds a font from its dictionary; never fails (unknown parts decode to nothing).
    pub(crate) fn load(doc: &Document, dict: &Dictionary) -> Font {
        let subtype = name_of(doc, dict, b"Subtype").unwrap_or_default();
        let to_unicode = stream_data(doc, dict, b"ToUnicode")
            .map(|d| CMap::parse(&d))
            .filter(|c| !c.is_empty());
        let mut font = if subtype == b"Type0" {
            Font::composite(doc, dict, to_unicode)
        } else {
            Font::simple(doc, dict, subtype, to_unicode)
        };
        font.identity_unicode = font.to_unicode.is_none()
            && name_of(doc, dict, b"ToUnicode").is_some_and(|n| n.starts_with(b"Identity"));
        font
    }

    fn simple(doc: &Document, dict: &Dictionary, subtype: &[u8], to_unicode: Option<CMap>) -> Font {
        let base_font = name_of(doc, dict, b"BaseFont").unwrap_or_default();
        let descriptor = get(doc, dict, b"FontDescriptor").and_then(|d| dict_of(doc, d));
        let core = core_font(base_font);
        let is_symbol_font = String::from_utf8_lossy(base_font)
            .rsplit('+')
            .next()
            .is_some_and(|n| n.to_ascii_lowercase().starts_with("symbol"));

        // The base: the PDF's encoding name, else the embedded Type1 program's own, else the
        // standard one by font kind.
        let mut text: Vec<Option<String>> = vec![None; 256];
        let encoding = get(doc, dict, b"Encoding");
        let (base_name, differences) = match encoding {
            Some(Object::Name(n)) => (Some(n.as_slice()), None),
            Some(Object::Dictionary(d)) => (
                name_of(doc, d, b"BaseEncoding"),
                get(doc, d, b"Differences"),
            ),
            _ => (None, None),
        };
        let builtin = descriptor
            .and_then(|d| stream_data(doc, d, b"FontFile"))
            .and_then(|p| type1_builtin_encoding(&p));
        let mut names: [&str; 256] = [""; 256];
        match (base_name.and_then(base_encoding), builtin) {
            (Some(table), _) => names = *table,
            (None, Some(builtin)) => text = builtin,
            (None, None) => {
                names = if is_symbol_font {
                    tables::SYMBOL
                } else if subtype == b"TrueType" {
                    tables::WIN_ANSI
                } else {
                    tables::STANDARD
                };
            }
        }
        let mut glyph_names: Vec<Option<String>> = names
            .iter()
            .map(|n| (!n.is_empty()).then(|| (*n).to_string()))
            .collect();
        for (slot, name) in text.iter_mut().zip(names.iter()) {
            if slot.is_none() && !name.is_empty() {
                *slot = glyph_name_to_unicode(name.as_bytes());
            }
        }
        // A name nobody knows (`square`, `g12`) stands for its code, as poppler reads it.
        let unknown_name = |code: usize| {
            u8::try_from(code)
                .ok()
                .filter(|c| *c > 0x20 && *c != 0x7f)
                .map(|c| char::from(c).to_string())
        };
        if let Some(Object::Array(diffs)) = differences {
            let mut code = 0usize;
            for item in diffs {
                match resolve(doc, item) {
                    Some(Object::Integer(i)) => code = usize::try_from(*i).unwrap_or(256),
                    Some(Object::Name(n)) => {
                        if let Some(slot) = text.get_mut(code) {
                            *slot = glyph_name_to_unicode(n).or_else(|| {
                                (n.as_slice() != b".notdef")
                                    .then(|| unknown_name(code))
                                    .flatten()
                            });
                        }
                        if let Some(slot) = glyph_names.get_mut(code) {
                            *slot = Some(String::from_utf8_lossy(n).into_owned());
                        }
                        code += 1;
                    }
                    _ => {}
                }
            }
        }

        let scale = if subtype == b"Type3" {
            match get(doc, dict, b"FontMatrix") {
                Some(Object::Array(m)) => m
                    .first()
                    .and_then(|v| number(doc, v))
                    .filter(|v| v.is_finite() && *v != 0.0)
                    .map_or(0.001, f64::abs),
                _ => 0.001,
            }
        } else {
            0.001
        };
        let missing = descriptor
            .and_then(|d| get(doc, d, b"MissingWidth"))
            .and_then(|w| number(doc, w))
            .filter(|w| *w > 0.0);
        let mut first = get(doc, dict, b"FirstChar")
            .and_then(|f| number(doc, f))
            .map_or(0, |f| f.clamp(0.0, 255.0) as u32);
        let mut widths: Vec<f64> = match get(doc, dict, b"Widths") {
            Some(Object::Array(ws)) => ws
                .iter()
                .take(256)
                .map(|w| number(doc, w).unwrap_or(0.0))
                .collect(),
            _ => Vec::new(),
        };
        // Widths the font does not give: the standard 14 fonts' metrics, indexed by code from 0.
        let mut fallback = if subtype == b"Type3" { 0.0 } else { 500.0 };
        if widths.is_empty() {
            if let Some(metrics) = core {
                widths = glyph_names
                    .iter()
                    .map(|n| {
                        n.as_deref()
                            .and_then(|n| core_width(metrics, n))
                            .unwrap_or(0.0)
                    })
                    .zip(tables::STANDARD.iter())
                    .map(|(w, standard)| {
                        // A code renamed to nothing still advances like the standard glyph.
                        if w > 0.0 {
                            w
                        } else {
                            core_width(metrics, standard).unwrap_or(0.0)
                        }
                    })
                    .collect();
                first = 0;
                fallback = 500.0;
            }
        }
        Font {
            composite: false,
            to_unicode,
            simple_text: text,
            encoding_cmap: None,
            predefined: Predefined::Unknown,
            cid_to_gid: None,
            gid_text: None,
            adobe_cjk: false,
            widths: Widths::Simple {
                first,
                widths,
                fallback: missing.unwrap_or(fallback),
            },
            scale,
            vertical: false,
            identity_unicode: false,
        }
    }

    fn composite(doc: &Document, dict: &Dictionary, to_unicode: Option<CMap>) -> Font {
        let (encoding_cmap, predefined, vertical) = match get(doc, dict, b"Encoding") {
            Some(Object::Name(n)) => (None, predefined(n), n.ends_with(b"-V")),
            Some(Object::Stream(s)) => {
                let cmap = decode_stream(s, 4 << 20).map(|d| CMap::parse(&d));
                let used = cmap
                    .as_ref()
                    .and_then(|c| c.uses.clone())
                    .map_or(Predefined::Unknown, |u| predefined(&u));
                let vertical = matches!(
                    s.dict.get(b"WMode").ok().and_then(|o| resolve(doc, o)),
                    Some(Object::Integer(1))
                );
                (cmap, used, vertical)
            }
            _ => (None, Predefined::Identity, false),
        };
        let descendant = match get(doc, dict, b"DescendantFonts") {
            Some(Object::Array(a)) => a.first().and_then(|d| dict_of(doc, d)),
            Some(other) => dict_of(doc, other),
            None => None,
        };
        let mut ranges: Vec<(u32, u32, f64)> = Vec::new();
        let mut default = 1000.0;
        let mut cid_to_gid = None;
        let mut gid_text = None;
        let mut adobe_cjk = false;
        if let Some(cid_font) = descendant {
            if let Some(info) = get(doc, cid_font, b"CIDSystemInfo").and_then(|i| dict_of(doc, i)) {
                let ordering = match get(doc, info, b"Ordering") {
                    Some(Object::String(o, _)) => o.as_slice(),
                    _ => b"",
                };
                adobe_cjk = matches!(ordering, b"Japan1" | b"GB1" | b"CNS1" | b"Korea1");
            }
            if let Some(dw) = get(doc, cid_font, b"DW").and_then(|w| number(doc, w)) {
                default = dw;
            }
            if let Some(Object::Array(w)) = get(doc, cid_font, b"W") {
                parse_cid_widths(doc, w, &mut ranges);
            }
            let needs_program = to_unicode.is_none() && predefined == Predefined::Identity;
            if needs_program {
                if let Some(Object::Stream(s)) = get(doc, cid_font, b"CIDToGIDMap") {
                    cid_to_gid = decode_stream(s, 1 << 20).map(|d| {
                        d.chunks(2)
                            .map(|c| match c {
                                [h, l] => u16::from(*h) << 8 | u16::from(*l),
                                _ => 0,
                            })
                            .collect()
                    });
                }
                let descriptor =
                    get(doc, cid_font, b"FontDescriptor").and_then(|d| dict_of(doc, d));
                gid_text = descriptor
                    .and_then(|d| stream_data(doc, d, b"FontFile2"))
                    .and_then(|p| super::truetype::glyph_to_char(&p));
            }
        }
        Font {
            composite: true,
            to_unicode,
            simple_text: Vec::new(),
            encoding_cmap,
            predefined,
            cid_to_gid,
            gid_text,
            adobe_cjk,
            widths: Widths::Cid { ranges, default },
            scale: 0.001,
            vertical,
            identity_unicode: false,
        }
    }

    /// Splits a shown string into codes.
    pub(crate) fn codes(&self, bytes: &[u8], out: &mut Vec<Code>) {
        out.clear();
        if !self.composite {
            out.extend(bytes.iter().map(|&b| Code {
                value: u32::from(b),
                len: 1,
            }));
            return;
        }
        let mut i = 0;
        while i < bytes.len() {
            let rest = bytes.get(i..).unwrap_or_default();
            let len = self.code_len(rest).clamp(1, 4);
            let take = usize::from(len).min(rest.len());
            let value = rest
                .get(..take)
                .unwrap_or_default()
                .iter()
                .fold(0u32, |v, &b| v << 8 | u32::from(b));
            out.push(Code {
                value,
                len: take as u8,
            });
            i += take;
        }
    }

    fn code_len(&self, rest: &[u8]) -> u8 {
        if let Some(cmap) = self.encoding_cmap.as_ref().filter(|c| c.has_codespace()) {
            return cmap.code_len(rest).unwrap_or(2);
        }
        if let Predefined::Text(encoding) = self.predefined {
            let lead = rest.first().copied().unwrap_or(0);
            return text_code_len(encoding, lead, rest);
        }
        if let Some(cmap) = &self.to_unicode {
            if cmap.has_codespace() {
                if let Some(len) = cmap.code_len(rest) {
                    return len;
                }
            }
            if self.predefined != Predefined::Identity {
                if let Some(len) = cmap.typical_len() {
                    return len;
                }
            }
        }
        2
    }

    /// The Unicode text of a code (`None`: unknown).
    pub(crate) fn text(&self, code: Code) -> Option<String> {
        if let Some(text) = self.to_unicode.as_ref().and_then(|c| c.unicode(code)) {
            return Some(text);
        }
        if self.identity_unicode {
            return char::from_u32(code.value)
                .filter(|c| !c.is_control())
                .map(String::from);
        }
        if !self.composite {
            return self
                .simple_text
                .get(code.value as usize)
                .and_then(Clone::clone);
        }
        if let Predefined::Text(encoding) = self.predefined {
            let bytes = code.value.to_be_bytes();
            let bytes = bytes.get(4 - usize::from(code.len)..).unwrap_or_default();
            let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
            return (!had_errors).then(|| text.into_owned());
        }
        let cid = self.cid(code);
        if let Some(gid_text) = &self.gid_text {
            let gid = match &self.cid_to_gid {
                Some(map) => map.get(cid as usize).copied(),
                None => u16::try_from(cid).ok(),
            };
            if let Some(c) = gid.and_then(|g| gid_text.get(&g)) {
                return Some(c.to_string());
            }
        }
        if self.adobe_cjk && (1..=95).contains(&cid) {
            return char::from_u32(cid + 31).map(String::from);
        }
        None
    }

    fn cid(&self, code: Code) -> u32 {
        match &self.encoding_cmap {
            Some(cmap) => cmap.cid(code).unwrap_or(code.value),
            None => code.value,
        }
    }

    /// The advance width of a code, in text space units per unit of font size.
    pub(crate) fn width(&self, code: Code) -> f64 {
        let w = match &self.widths {
            Widths::Simple {
                first,
                widths,
                fallback,
            } => code
                .value
                .checked_sub(*first)
                .and_then(|i| widths.get(i as usize))
                .copied()
                .unwrap_or(*fallback),
            Widths::Cid { ranges, default } => {
                if matches!(self.predefined, Predefined::Text(_)) && self.encoding_cmap.is_none() {
                    // Codes are not CIDs here: a half-width guess for one-byte codes.
                    if code.len == 1 {
                        return default * 0.5 * self.scale;
                    }
                    return default * self.scale;
                }
                let cid = self.cid(code);
                match ranges.binary_search_by(|(lo, hi, _)| {
                    if cid < *lo {
                        std::cmp::Ordering::Greater
                    } else if cid > *hi {
                        std::cmp::Ordering::Less
                    } else {
                        std::cmp::Ordering::Equal
                    }
                }) {
                    Ok(i) => ranges.get(i).map_or(*default, |r| r.2),
                    Err(_) => *default,
                }
            }
        };
        w * self.scale
    }

    /// Whether word spacing (`Tw`) applies to this code: the single-byte code 32.
    pub(crate) fn is_word_space(&self, code: Code) -> bool {
        code.len == 1 && code.value == 32
    }
}

/// Code length in a multi-byte text encoding, from the lead byte.
fn text_code_len(encoding: &'static encoding_rs::Encoding, lead: u8, rest: &[u8]) -> u8 {
    if encoding == encoding_rs::UTF_16BE {
        let unit = rest
            .get(..2)
            .map_or(0, |u| u16::from(lead) << 8 | u16::from(u[1]));
        return if (0xD800..0xDC00).contains(&unit) {
            4
        } else {
            2
        };
    }
    if encoding == encoding_rs::UTF_8 {
        return match lead {
            0xF0..=0xF7 => 4,
            0xE0..=0xEF => 3,
            0xC0..=0xDF => 2,
            _ => 1,
        };
    }
    if encoding == encoding_rs::SHIFT_JIS {
        return if matches!(lead, 0x81..=0x9F | 0xE0..=0xFC) {
            2
        } else {
            1
        };
    }
    if encoding == encoding_rs::EUC_JP && lead == 0x8F {
        return 3;
    }
    if lead >= 0x81 {
        2
    } else {
        1
    }
}

fn parse_cid_widths(doc: &Document, w: &[Object], out: &mut Vec<(u32, u32, f64)>) {
    let mut i = 0;
    while i < w.len() && out.len() < MAX_WIDTH_ENTRIES {
        let Some(first) = w.get(i).and_then(|o| number(doc, o)) else {
            break;
        };
        let first = first.max(0.0) as u32;
        match w.get(i + 1).and_then(|o| resolve(doc, o)) {
            Some(Object::Array(list)) => {
                for (k, width) in list.iter().enumerate().take(MAX_WIDTH_ENTRIES) {
                    let cid = first.saturating_add(k as u32);
                    out.push((cid, cid, number(doc, width).unwrap_or(0.0)));
                }
                i += 2;
            }
            Some(_) => {
                let last = w.get(i + 1).and_then(|o| number(doc, o)).unwrap_or(0.0);
                let width = w.get(i + 2).and_then(|o| number(doc, o)).unwrap_or(0.0);
                out.push((first, (last.max(0.0) as u32).max(first), width));
                i += 3;
            }
            None => break,
        }
    }
    out.sort_by_key(|r| r.0);
    // Overlapping ranges would break the binary search: keep the first of each overlap.
    let mut end = 0u32;
    let mut started = false;
    out.retain(|r| {
        let keep = !started || r.0 > end;
        if keep {
            end = r.1;
            started = true;
        }
        keep
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyph_names() {
        let t = |n: &str| glyph_name_to_unicode(n.as_bytes());
        assert_eq!(t("A").as_deref(), Some("A"));
        assert_eq!(t("fi").as_deref(), Some("\u{fb01}"));
        assert_eq!(t("uni00410042").as_deref(), Some("AB"));
        assert_eq!(t("u1D400").as_deref(), Some("\u{1d400}"));
        assert_eq!(t("T_h").as_deref(), Some("Th"));
        assert_eq!(t("a.sc").as_deref(), Some("a"));
        assert_eq!(t(".notdef"), None);
        assert_eq!(t("g123"), None);
    }

    #[test]
    fn core_font_aliases() {
        assert!(core_font(b"ABCDEF+Arial,Bold").is_some());
        assert!(core_font(b"TimesNewRomanPSMT").is_some());
        assert!(core_font(b"Calibri").is_none());
        let helvetica = lookup_core("Helvetica").unwrap_or_default();
        assert_eq!(core_width(helvetica, "space"), Some(278.0));
    }

    #[test]
    fn type1_program_encoding() {
        let program = b"%!PS-AdobeFont-1.0 /Encoding 256 array 0 1 255 {1 index exch /.notdef put} for dup 65 /B put dup 66 /fi put readonly def currentfile eexec";
        let names = type1_builtin_encoding(program).unwrap();
        assert_eq!(names[65].as_deref(), Some("B"));
        assert_eq!(names[66].as_deref(), Some("\u{fb01}"));
    }
}
