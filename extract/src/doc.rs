//! The Word 97-2003 reader (`.doc`, [MS-DOC]), on the `cfb` crate through `ole`.
//!
//! A Word document keeps all of its text in one character stream, addressed by character
//! positions (CPs): the main text, then the footnotes, the headers and footers, the comments,
//! the endnotes, the text boxes and the header text boxes, each as long as the File Information
//! Block (FIB) says. The piece table (the CLX in the table stream) maps CP ranges to places in
//! the `WordDocument` stream, each piece either 8-bit (Windows-1252, "compressed") or UTF-16.
//! Each story becomes one segment (location `None` for the main text, then `footnotes`,
//! `header/footer`, `comments`, `endnotes`, `text boxes`).
//!
//! Word's special characters are cleaned to readable text: paragraph, line, page and section
//! marks become line feeds, table cell marks tabs (a row's end a line feed), field codes are
//! dropped and their results kept (a hyperlink reads as its text), and anchors of pictures,
//! footnote references and comments vanish.
//!
//! Encrypted (or XOR-obfuscated) documents are `encrypted`; Word 6 and Word 95 files, whose
//! FIB differs, are `unsupported_format`.
//!
//! [MS-DOC]: https://learn.microsoft.com/en-us/openspecs/office_file_formats/ms-doc/

use crate::bytes::{le16, le32};
use crate::ole::Compound;
use crate::types::{Outcome, Skip, SkipReason};
use crate::visit::Visit;

/// The FIB's magic number.
const WORD_IDENT: u16 = 0xA5EC;
/// The first `nFib` of Word 97; earlier versions (Word 6: 101, Word 95: 104) lay out their
/// FIB differently.
const WORD_97: u16 = 0x00C1;
/// Index of `fcClx` among the FIB's (fc, lcb) pairs.
const CLX_PAIR: usize = 33;
/// The story of `ccpMcr`, unused since Word 97: skipped, but its length still counts.
const MACRO_STORY: usize = 3;

/// The stories of the character stream, in order, with their locations. The FIB stores the
/// length of each in `FibRgLw97`, from its fourth field on.
const STORIES: [Option<&str>; 8] = [
    None,
    Some("footnotes"),
    Some("header/footer"),
    None,
    Some("comments"),
    Some("endnotes"),
    Some("text boxes"),
    Some("text boxes"),
];

pub(crate) fn read(walker: &mut dyn Visit, data: &[u8], member: Option<&str>) -> Outcome {
    let mut file = Compound::open(data, "Word document")?;
    let word = file
        .stream(walker, "/WordDocument")?
        .ok_or_else(|| Skip::broken("Word document: no WordDocument stream"))?;
    let fib = Fib::parse(&word)?;
    let table_name = if fib.table_one { "/1Table" } else { "/0Table" };
    let table = file
        .stream(walker, table_name)?
        .ok_or_else(|| Skip::broken(format!("Word document: no {} stream", &table_name[1..])))?;
    let clx = usize::try_from(fib.clx.0)
        .ok()
        .zip(usize::try_from(fib.clx.1).ok())
        .and_then(|(start, len)| table.get(start..start.checked_add(len)?))
        .ok_or_else(|| Skip::broken("Word document: piece table outside the table stream"))?;
    let pieces = pieces(clx)?;
    // Never more characters than the stories hold, nor than the text budget allows: a piece
    // table can point many pieces at the same bytes.
    let total: u64 = fib.stories.iter().map(|&n| u64::from(n)).sum();
    let cap = total.min(walker.limits().max_text_per_item);
    let units = characters(
        walker,
        &word,
        &pieces,
        usize::try_from(cap).unwrap_or(usize::MAX),
    )?;
    let mut start = 0usize;
    for (i, (length, location)) in fib.stories.iter().zip(STORIES).enumerate() {
        let length = usize::try_from(*length).unwrap_or(usize::MAX);
        let end = start.saturating_add(length).min(units.len());
        if i != MACRO_STORY {
            if let Some(story) = units.get(start..end) {
                walker.text(member, location, &story_text(story))?;
            }
        }
        start = end;
    }
    Ok(())
}

/// What the reader needs of the File Information Block.
struct Fib {
    /// Whether the table stream is `1Table` (else `0Table`).
    table_one: bool,
    /// Offset and size of the CLX in the table stream.
    clx: (u32, u32),
    /// The CP count of each story, in stream order (see [`STORIES`]).
    stories: [u32; 8],
}

impl Fib {
    fn parse(word: &[u8]) -> Outcome<Fib> {
        let broken = || Skip::broken("Word document: truncated File Information Block");
        if le16(word, 0) != Some(WORD_IDENT) {
            return Err(Skip::broken("Word document: no File Information Block"));
        }
        let n_fib = le16(word, 2).ok_or_else(broken)?;
        let flags = le16(word, 0x0A).ok_or_else(broken)?;
        // fEncrypted, or fObfuscated (which sets fEncrypted too, but be sure).
        if flags & 0x0100 != 0 || flags & 0x8000 != 0 {
            return Err(Skip::new(
                SkipReason::Encrypted,
                "password-protected Word document",
            ));
        }
        if n_fib < WORD_97 {
            return Err(Skip::new(
                SkipReason::UnsupportedFormat,
                format!("Word 6/95 document (nFib {n_fib}) is not read"),
            ));
        }
        // FibBase (32 bytes), then csw and FibRgW, cslw and FibRgLw, cbRgFcLcb and the pairs.
        let csw = usize::from(le16(word, 32).ok_or_else(broken)?);
        let lw = 34 + 2 * csw + 2;
        let cslw = usize::from(le16(word, lw - 2).ok_or_else(broken)?);
        if cslw < 11 {
            return Err(broken());
        }
        let mut stories = [0u32; 8];
        for (i, story) in stories.iter_mut().enumerate() {
            *story = le32(word, lw + 4 * (3 + i)).ok_or_else(broken)?;
        }
        let pairs = lw + 4 * cslw + 2;
        let count = usize::from(le16(word, pairs - 2).ok_or_else(broken)?);
        if count <= CLX_PAIR {
            return Err(broken());
        }
        let clx = (
            le32(word, pairs + 8 * CLX_PAIR).ok_or_else(broken)?,
            le32(word, pairs + 8 * CLX_PAIR + 4).ok_or_else(broken)?,
        );
        Ok(Fib {
            table_one: flags & 0x0200 != 0,
            clx,
            stories,
        })
    }
}

/// One piece: the CPs it covers and where its characters are.
#[derive(Debug, PartialEq)]
struct Piece {
    cp_start: u32,
    cp_end: u32,
    /// Byte offset in the `WordDocument` stream.
    offset: usize,
    /// Whether the characters are 8-bit (else UTF-16).
    compressed: bool,
}

/// The pieces of a CLX: any number of property modifiers (`Prc`, 0x01) followed by the piece
/// table (`Pcdt`, 0x02): n+1 CPs then n 8-byte piece descriptors.
fn pieces(clx: &[u8]) -> Outcome<Vec<Piece>> {
    let broken = |what: &str| Skip::broken(format!("Word document: {what}"));
    let mut pos = 0usize;
    loop {
        match clx.get(pos) {
            Some(0x01) => {
                let size = le16(clx, pos + 1).ok_or_else(|| broken("truncated CLX"))?;
                pos += 3 + usize::from(size);
            }
            Some(0x02) => break,
            _ => return Err(broken("no piece table in the CLX")),
        }
    }
    let size = le32(clx, pos + 1).ok_or_else(|| broken("truncated piece table"))?;
    let table = usize::try_from(size)
        .ok()
        .and_then(|size| clx.get(pos + 5..(pos + 5).checked_add(size)?))
        .ok_or_else(|| broken("truncated piece table"))?;
    // 4 bytes per CP and 8 per descriptor: n + 1 CPs and n descriptors.
    if table.len() < 4 || (table.len() - 4) % 12 != 0 {
        return Err(broken("piece table of a bad size"));
    }
    let n = (table.len() - 4) / 12;
    let descriptors = 4 * (n + 1);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(cp_start), Some(cp_end), Some(fc)) = (
            le32(table, 4 * i),
            le32(table, 4 * (i + 1)),
            le32(table, descriptors + 8 * i + 2),
        ) else {
            break;
        };
        let compressed = fc & 0x4000_0000 != 0;
        let fc = (fc & 0x3FFF_FFFF) as usize;
        out.push(Piece {
            cp_start,
            cp_end,
            offset: if compressed { fc / 2 } else { fc },
            compressed,
        });
    }
    Ok(out)
}

/// The character stream as UTF-16 units, one per CP, at most `cap` of them. Pieces out of
/// order are placed at their CP (a gap reads as spaces); bytes past the end of the stream (a
/// truncated file) are simply missing. A hostile table whose pieces overlap or jump back and
/// forth costs at most twice `cap` in all: past that, the rest is not read.
fn characters(walker: &dyn Visit, word: &[u8], pieces: &[Piece], cap: usize) -> Outcome<Vec<u16>> {
    let mut units: Vec<u16> = Vec::new();
    let mut work = cap.saturating_mul(2);
    for piece in pieces {
        walker.check_time()?;
        let start = piece.cp_start as usize;
        if start >= cap || piece.cp_end <= piece.cp_start {
            continue;
        }
        let count = (piece.cp_end - piece.cp_start) as usize;
        let count = count.min(cap - start);
        let cost = count + start.saturating_sub(units.len());
        if cost > work {
            break;
        }
        work -= cost;
        if units.len() > start {
            units.truncate(start);
        } else {
            units.resize(start, u16::from(b' '));
        }
        let Some(available) = word.get(piece.offset..) else {
            continue;
        };
        if piece.compressed {
            units.extend(
                available
                    .iter()
                    .take(count)
                    // Every Windows-1252 character is in the Basic Multilingual Plane.
                    .map(|&b| u16::try_from(u32::from(windows_1252(b))).unwrap_or(0xFFFD)),
            );
        } else {
            units.extend(
                available
                    .chunks_exact(2)
                    .take(count)
                    .map(|c| u16::from_le_bytes([c[0], c[1]])),
            );
        }
    }
    Ok(units)
}

/// An 8-bit character of a compressed piece: Windows-1252, which [MS-DOC] 2.4.1 spells out.
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// The readable text of a story: marks turned into line feeds and tabs, field codes dropped
/// and their results kept, anchors and other control characters removed.
fn story_text(units: &[u16]) -> String {
    let mut out = String::with_capacity(units.len());
    // Per open field, whether it is still in its code (before its separator).
    let mut fields: Vec<bool> = Vec::new();
    let mut in_code = 0usize;
    let mut after_cell = false;
    for c in char::decode_utf16(units.iter().copied()) {
        let c = c.unwrap_or('\u{FFFD}');
        match c {
            '\u{13}' => {
                fields.push(true);
                in_code += 1;
                continue;
            }
            '\u{14}' => {
                if let Some(top) = fields.last_mut() {
                    if *top {
                        *top = false;
                        in_code -= 1;
                    }
                }
                continue;
            }
            '\u{15}' => {
                if fields.pop() == Some(true) {
                    in_code -= 1;
                }
                continue;
            }
            _ if in_code > 0 => continue,
            _ => {}
        }
        let cell = c == '\u{7}';
        match c {
            '\r' | '\u{b}' | '\u{c}' | '\u{e}' => out.push('\n'),
            // A cell mark right after another ends the row.
            '\u{7}' if after_cell => {
                if out.ends_with('\t') {
                    out.pop();
                }
                out.push('\n');
            }
            '\u{7}' | '\t' => out.push('\t'),
            // Non-breaking hyphen and space.
            '\u{1e}' => out.push('-'),
            '\u{a0}' => out.push(' '),
            // Anchors (pictures, footnote and comment references, drawn objects), the
            // optional hyphen and other controls.
            c if u32::from(c) < 0x20 => {}
            c => out.push(c),
        }
        after_cell = cell;
    }
    collapse_blank_lines(&out)
}

/// At most one empty line in a row (the header story, for one, holds a paragraph mark for
/// every header and footer kind, most of them empty).
fn collapse_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut newlines = 0;
    for c in text.chars() {
        newlines = if c == '\n' { newlines + 1 } else { 0 };
        if newlines <= 2 {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn special_characters_become_readable_text() {
        let cases = [
            ("one\rtwo\u{b}three\u{c}", "one\ntwo\nthree\n"),
            ("a\r\r\r\r\rb", "a\n\nb"),
            // A hyperlink: the code is dropped, the result kept.
            (
                "see \u{13} HYPERLINK \"https://x\" \u{14}the site\u{15} now",
                "see the site now",
            ),
            // A field without a result, and a field nested in a code.
            ("a\u{13}PAGE\u{15}b", "ab"),
            ("a\u{13}IF \u{13}X\u{14}1\u{15}\u{14}r\u{15}b", "arb"),
            // A table row: cells, then the row's end.
            ("x\u{7}y\u{7}\u{7}z", "x\ty\nz"),
            ("note\u{2} ref\u{5}\u{1}\u{8}", "note ref"),
            ("non\u{1e}breaking\u{a0}space\u{1f}", "non-breaking space"),
            // Unbalanced field marks do not underflow.
            ("\u{15}\u{14}ok", "ok"),
        ];
        for (raw, want) in cases {
            assert_eq!(story_text(&utf16(raw)), want, "{raw:?}");
        }
    }

    #[test]
    fn pieces_of_a_clx() {
        // A Prc of 2 bytes, then a Pcdt with two pieces: CPs 0, 5, 8.
        let mut clx = vec![0x01, 2, 0, 0xAA, 0xBB, 0x02];
        let mut plc = Vec::new();
        for cp in [0u32, 5, 8] {
            plc.extend(cp.to_le_bytes());
        }
        for fc in [0x4000_0000u32 | 200, 1000] {
            plc.extend([0, 0]);
            plc.extend(fc.to_le_bytes());
            plc.extend([0, 0]);
        }
        clx.extend((plc.len() as u32).to_le_bytes());
        clx.extend(plc);
        let pieces = pieces(&clx).unwrap();
        assert_eq!(
            pieces,
            [
                Piece {
                    cp_start: 0,
                    cp_end: 5,
                    offset: 100,
                    compressed: true
                },
                Piece {
                    cp_start: 5,
                    cp_end: 8,
                    offset: 1000,
                    compressed: false
                },
            ]
        );
        assert!(super::pieces(&[0x03]).is_err());
        assert!(super::pieces(&[0x02, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
    }

    #[test]
    fn compressed_pieces_are_windows_1252() {
        assert_eq!(windows_1252(0x80), '€');
        assert_eq!(windows_1252(0x93), '“');
        assert_eq!(windows_1252(0xE9), 'é');
        assert_eq!(windows_1252(b'a'), 'a');
    }
}
