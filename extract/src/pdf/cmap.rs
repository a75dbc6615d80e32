//! CMaps: the embedded ones (a font's `/ToUnicode`, or a Type0 font's `/Encoding` stream) and
//! what we know of the predefined ones by name. A CMap splits a string into codes (its
//! codespace ranges) and maps codes to Unicode text (`bfchar`/`bfrange`) or to CIDs
//! (`cidchar`/`cidrange`). Ranges are kept as ranges, never expanded, so a hostile
//! `<0000> <FFFFFFFF>` costs one entry.

use std::collections::HashMap;

use super::lexer::{Lexer, Operand};

/// Most mappings kept from one CMap.
const MAX_ENTRIES: usize = 1 << 20;

/// A code: its value and its length in bytes (1 to 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Code {
    pub(crate) value: u32,
    pub(crate) len: u8,
}

#[derive(Clone, Debug)]
enum RangeTarget {
    /// The first code maps to these UTF-16 units; each next code adds one to the last unit.
    Start(Vec<u16>),
    /// One text per code.
    List(Vec<String>),
}

#[derive(Clone, Debug)]
struct UnicodeRange {
    len: u8,
    low: u32,
    high: u32,
    target: RangeTarget,
}

/// A parsed CMap.
#[derive(Clone, Debug, Default)]
pub(crate) struct CMap {
    /// Codespace ranges: length, low bytes, high bytes.
    codespace: Vec<(u8, [u8; 4], [u8; 4])>,
    chars: HashMap<Code, String>,
    ranges: Vec<UnicodeRange>,
    cid_chars: HashMap<Code, u32>,
    cid_ranges: Vec<(u8, u32, u32, u32)>,
    /// Code lengths seen in mappings, for CMaps without a codespace.
    lengths_seen: [bool; 5],
    /// The name of a predefined CMap this one builds on (`usecmap`).
    pub(crate) uses: Option<Vec<u8>>,
}

fn code_of(bytes: &[u8]) -> Option<Code> {
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    let value = bytes.iter().fold(0u32, |v, &b| v << 8 | u32::from(b));
    Some(Code {
        value,
        len: bytes.len() as u8,
    })
}

fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks(2)
        .map(|c| match c {
            [hi, lo] => u16::from(*hi) << 8 | u16::from(*lo),
            [b] => u16::from(*b),
            _ => 0,
        })
        .collect()
}

fn utf16_text(units: &[u16]) -> String {
    char::decode_utf16(units.iter().copied())
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

impl CMap {
    /// Parses a CMap stream's text; whatever is damaged is skipped.
    pub(crate) fn parse(data: &[u8]) -> CMap {
        let mut cmap = CMap::default();
        let mut lexer = Lexer::new(data);
        let mut pending: Vec<Operand> = Vec::new();
        let mut section: &[u8] = b"";
        while let Some(item) = lexer.next_item() {
            match item {
                Ok(operand) => {
                    if pending.len() < 3 {
                        pending.push(operand);
                    } else {
                        pending.remove(0);
                        pending.push(operand);
                    }
                    cmap.entry(section, &mut pending);
                }
                Err(keyword) => {
                    match keyword {
                        b"begincodespacerange"
                        | b"beginbfchar"
                        | b"beginbfrange"
                        | b"begincidchar"
                        | b"begincidrange"
                        | b"beginnotdefrange" => {
                            section = keyword;
                        }
                        b"usecmap" => {
                            if let Some(Operand::Name(n)) = pending.last() {
                                cmap.uses = Some(n.clone());
                            }
                        }
                        _ if keyword.starts_with(b"end") => section = b"",
                        _ => {}
                    }
                    pending.clear();
                }
            }
            if cmap.chars.len() + cmap.ranges.len() + cmap.cid_chars.len() + cmap.cid_ranges.len()
                > MAX_ENTRIES
            {
                break;
            }
        }
        cmap
    }

    fn entry(&mut self, section: &[u8], pending: &mut Vec<Operand>) {
        match (section, pending.as_slice()) {
            (b"begincodespacerange", [Operand::String(low), Operand::String(high)]) => {
                if let (Some(l), Some(h)) = (code_of(low), code_of(high)) {
                    if l.len == h.len {
                        let mut lo = [0u8; 4];
                        let mut hi = [0u8; 4];
                        lo[..low.len()].copy_from_slice(low);
                        hi[..high.len()].copy_from_slice(high);
                        self.codespace.push((l.len, lo, hi));
                    }
                }
                pending.clear();
            }
            (b"beginbfchar", [Operand::String(src), dst]) => {
                if let Some(code) = code_of(src) {
                    let text = match dst {
                        Operand::String(d) => Some(utf16_text(&utf16_units(d))),
                        Operand::Name(n) => super::font::glyph_name_to_unicode(n),
                        _ => None,
                    };
                    if let Some(text) = text {
                        self.lengths_seen[usize::from(code.len)] = true;
                        self.chars.insert(code, text);
                    }
                }
                pending.clear();
            }
            (b"beginbfrange", [Operand::String(low), Operand::String(high), dst]) => {
                if let (Some(l), Some(h)) = (code_of(low), code_of(high)) {
                    let target = match dst {
                        Operand::String(d) => Some(RangeTarget::Start(utf16_units(d))),
                        Operand::Array(items) => Some(RangeTarget::List(
                            items
                                .iter()
                                .map(|i| match i {
                                    Operand::String(d) => utf16_text(&utf16_units(d)),
                                    Operand::Name(n) => {
                                        super::font::glyph_name_to_unicode(n).unwrap_or_default()
                                    }
                                    _ => String::new(),
                                })
                                .collect(),
                        )),
                        _ => None,
                    };
                    if let Some(target) = target {
                        if l.value <= h.value {
                            self.lengths_seen[usize::from(l.len)] = true;
                            self.ranges.push(UnicodeRange {
                                len: l.len,
                                low: l.value,
                                high: h.value,
                                target,
                            });
                        }
                    }
                }
                pending.clear();
            }
            (b"begincidchar", [Operand::String(src), Operand::Number(cid)]) => {
                if let Some(code) = code_of(src) {
                    self.cid_chars.insert(code, *cid as u32);
                }
                pending.clear();
            }
            (
                b"begincidrange",
                [Operand::String(low), Operand::String(high), Operand::Number(cid)],
            ) => {
                if let (Some(l), Some(h)) = (code_of(low), code_of(high)) {
                    if l.value <= h.value {
                        self.cid_ranges.push((l.len, l.value, h.value, *cid as u32));
                    }
                }
                pending.clear();
            }
            _ => {}
        }
    }

    /// Whether this CMap says how to split codes (codespace ranges, or mappings to infer from).
    pub(crate) fn has_codespace(&self) -> bool {
        !self.codespace.is_empty()
    }

    /// The length of the code starting at `bytes`, by the codespace ranges (the shortest that
    /// matches), or `None` when no range matches.
    pub(crate) fn code_len(&self, bytes: &[u8]) -> Option<u8> {
        for len in 1..=4u8 {
            let n = usize::from(len);
            let Some(head) = bytes.get(..n) else {
                break;
            };
            let hit = self.codespace.iter().any(|(l, lo, hi)| {
                *l == len
                    && head
                        .iter()
                        .zip(lo.iter().zip(hi.iter()))
                        .all(|(b, (lo, hi))| lo <= b && b <= hi)
            });
            if hit {
                return Some(len);
            }
        }
        None
    }

    /// The shortest code length this CMap maps, for splitting without a codespace.
    pub(crate) fn typical_len(&self) -> Option<u8> {
        if let Some((len, _, _)) = self.codespace.iter().min_by_key(|(l, _, _)| *l) {
            return Some(*len);
        }
        (1..=4u8).find(|&l| self.lengths_seen[usize::from(l)])
    }

    /// The Unicode text of a code, if mapped.
    pub(crate) fn unicode(&self, code: Code) -> Option<String> {
        if let Some(text) = self.chars.get(&code) {
            return Some(text.clone());
        }
        // Later ranges override earlier ones, as in a CMap file read top to bottom.
        for range in self.ranges.iter().rev() {
            if range.len != code.len || code.value < range.low || code.value > range.high {
                continue;
            }
            let offset = code.value - range.low;
            return match &range.target {
                RangeTarget::Start(units) => {
                    let mut units = units.clone();
                    if let Some(last) = units.last_mut() {
                        *last = last.wrapping_add(offset as u16);
                    }
                    Some(utf16_text(&units))
                }
                RangeTarget::List(list) => list.get(offset as usize).cloned(),
            };
        }
        None
    }

    /// The CID of a code, if mapped.
    pub(crate) fn cid(&self, code: Code) -> Option<u32> {
        if let Some(&cid) = self.cid_chars.get(&code) {
            return Some(cid);
        }
        self.cid_ranges
            .iter()
            .rev()
            .find(|(len, lo, hi, _)| *len == code.len && *lo <= code.value && code.value <= *hi)
            .map(|(_, lo, _, cid)| cid.wrapping_add(code.value - lo))
    }

    /// Whether any code maps to text.
    pub(crate) fn is_empty(&self) -> bool {
        self.chars.is_empty() && self.ranges.is_empty()
    }
}

/// How a predefined CMap, known only by name, turns codes into text when the font has no
/// `/ToUnicode`: the code bytes are text in a known character encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Predefined {
    /// `Identity-H`/`-V`: two-byte codes that are CIDs.
    Identity,
    /// Codes are text in this encoding (UTF-16BE for the `UCS2`/`UTF16` CMaps, Shift-JIS for
    /// `RKSJ`, ...).
    Text(&'static encoding_rs::Encoding),
    /// Unknown to us: two-byte codes, no text.
    Unknown,
}

/// What a predefined CMap's name tells.
pub(crate) fn predefined(name: &[u8]) -> Predefined {
    let name = String::from_utf8_lossy(name);
    if name.starts_with("Identity") {
        return Predefined::Identity;
    }
    let encoding = if name.contains("UCS2") || name.contains("UTF16") {
        encoding_rs::UTF_16BE
    } else if name.contains("UTF8") {
        encoding_rs::UTF_8
    } else if name.contains("RKSJ") {
        encoding_rs::SHIFT_JIS
    } else if name.starts_with("EUC") || name.starts_with("UniJIS-EUC") {
        encoding_rs::EUC_JP
    } else if name.starts_with("KSC") || name.starts_with("KSCms") {
        encoding_rs::EUC_KR
    } else if name.starts_with("GB") {
        encoding_rs::GBK
    } else if name.starts_with("B5") || name.starts_with("ETen") || name.starts_with("HKscs") {
        encoding_rs::BIG5
    } else {
        return Predefined::Unknown;
    };
    Predefined::Text(encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO_UNICODE: &[u8] = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
        1 begincodespacerange <0000> <FFFF> endcodespacerange
        2 beginbfchar <0003> <0020> <0011> <FB01> endbfchar
        2 beginbfrange <0024> <0026> <0041> <0100> <0101> [<00E9> <D835DC00>] endbfrange
        endcmap CMapName currentdict /CMap defineresource pop end end";

    #[test]
    fn to_unicode_chars_and_ranges() {
        let cmap = CMap::parse(TO_UNICODE);
        let code = |value| Code { value, len: 2 };
        assert_eq!(cmap.code_len(&[0, 3]), Some(2));
        assert_eq!(cmap.unicode(code(3)).as_deref(), Some(" "));
        assert_eq!(cmap.unicode(code(0x11)).as_deref(), Some("\u{fb01}"));
        assert_eq!(cmap.unicode(code(0x25)).as_deref(), Some("B"));
        assert_eq!(cmap.unicode(code(0x101)).as_deref(), Some("\u{1d400}"));
        assert_eq!(cmap.unicode(code(0x27)), None);
    }

    #[test]
    fn cid_ranges() {
        let cmap = CMap::parse(
            b"1 begincodespacerange <00> <80> endcodespacerange
              1 begincidrange <20> <7e> 1 endcidrange",
        );
        assert_eq!(
            cmap.cid(Code {
                value: 0x41,
                len: 1
            }),
            Some(34)
        );
        assert_eq!(cmap.code_len(&[0x90]), None);
        assert_eq!(
            predefined(b"UniGB-UCS2-H"),
            Predefined::Text(encoding_rs::UTF_16BE)
        );
    }
}
