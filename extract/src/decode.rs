//! Text decoding shared by the readers and by type detection: bytes to text ([`decode`]:
//! UTF-8, UTF-16 with or without BOM, UTF-32 with BOM, Latin-1 fallback; [`encoding`] tells
//! which), HTML/XML markup to text ([`html_to_text`]), RTF to text ([`rtf_to_text`], for RTF
//! files and Outlook's RTF bodies), and character references ([`push_decoded`]).
//!
//! A leaf: it imports no other module of this crate.

use std::borrow::Cow;

/// How many bytes of the head are looked at to recognise UTF-16 without a byte-order mark.
const UTF16_SNIFF: usize = 4096;

/// The encoding of a text, as [`encoding`] tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Bytes read as UTF-8 (with or without BOM), else as Latin-1.
    Bytes,
    /// UTF-16, little-endian.
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
    /// UTF-32, little-endian (recognised by its BOM only).
    Utf32Le,
    /// UTF-32, big-endian (recognised by its BOM only).
    Utf32Be,
}

impl Encoding {
    /// Whether text in this encoding is made of units wider than a byte (so that its bytes
    /// cannot be searched as they lie).
    pub(crate) fn is_wide(self) -> bool {
        self != Encoding::Bytes
    }
}

/// Tells the encoding of `data` and returns it with the text after any byte-order mark: a BOM
/// decides (UTF-8, UTF-32 LE/BE, UTF-16 LE/BE); without one, UTF-16 is recognised by its head
/// ([`guess_utf16`]); anything else is [`Encoding::Bytes`].
pub(crate) fn encoding(data: &[u8]) -> (Encoding, &[u8]) {
    if let Some(rest) = data.strip_prefix(b"\xEF\xBB\xBF") {
        return (Encoding::Bytes, rest);
    }
    // `FF FE 00 00` is also UTF-16 LE's BOM before a NUL character: UTF-32 only if what
    // follows is made of valid UTF-32 code points.
    if let Some(rest) = data.strip_prefix(b"\xFF\xFE\0\0") {
        if valid_utf32(rest, u32::from_le_bytes) {
            return (Encoding::Utf32Le, rest);
        }
    }
    if let Some(rest) = data.strip_prefix(b"\0\0\xFE\xFF") {
        return (Encoding::Utf32Be, rest);
    }
    if let Some(rest) = data.strip_prefix(b"\xFF\xFE") {
        return (Encoding::Utf16Le, rest);
    }
    if let Some(rest) = data.strip_prefix(b"\xFE\xFF") {
        return (Encoding::Utf16Be, rest);
    }
    (guess_utf16(data).unwrap_or(Encoding::Bytes), data)
}

/// Decodes text in the encoding [`encoding`] tells. Borrows when the input is already UTF-8.
pub(crate) fn decode(data: &[u8]) -> Cow<'_, str> {
    match encoding(data) {
        (Encoding::Bytes, rest) => decode_utf8_or_latin1(rest),
        (Encoding::Utf16Le, rest) => Cow::Owned(decode_utf16(rest, u16::from_le_bytes)),
        (Encoding::Utf16Be, rest) => Cow::Owned(decode_utf16(rest, u16::from_be_bytes)),
        (Encoding::Utf32Le, rest) => Cow::Owned(decode_utf32(rest, u32::from_le_bytes)),
        (Encoding::Utf32Be, rest) => Cow::Owned(decode_utf32(rest, u32::from_be_bytes)),
    }
}

fn decode_utf16(data: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units: Vec<u16> = data.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

fn decode_utf32(data: &[u8], unit: fn([u8; 4]) -> u32) -> String {
    data.chunks_exact(4)
        .map(|c| char::from_u32(unit([c[0], c[1], c[2], c[3]])).unwrap_or('\u{FFFD}'))
        .collect()
}

/// Whether the first code units of `data` are all Unicode scalar values.
fn valid_utf32(data: &[u8], unit: fn([u8; 4]) -> u32) -> bool {
    data.chunks_exact(4)
        .take(256)
        .all(|c| char::from_u32(unit([c[0], c[1], c[2], c[3]])).is_some())
}

/// Recognises UTF-16 without a byte-order mark from the first [`UTF16_SNIFF`] bytes. Text in
/// Latin, Greek, Cyrillic and similar scripts has a NUL byte in the high half of a large share
/// of its code units (every ASCII character, space and digit), and almost never in the low
/// half; binary data has NULs at both positions, or none. So, of the 16-bit units:
/// - at least a quarter have a zero high byte, at most one in twenty a zero low byte;
/// - of those below 256, at most one in fifty is a control code, at least three quarters are
///   ASCII text (not a run of one Latin-1 byte such as image data's `FF 00`), and no one value
///   makes more than three quarters of them, once there are sixteen (not one value over and
///   over, such as the high halves `20 00` of a table of 32-bit offsets in an executable);
/// - at most one in ten is made of two ASCII bytes (byte-oriented text read two bytes at a
///   time);
/// - the decoded sample is at least 95% printable.
///
/// Scripts with no ASCII between their letters (Chinese, Japanese) are not recognised without
/// a BOM.
fn guess_utf16(data: &[u8]) -> Option<Encoding> {
    let sample = &data[..data.len().min(UTF16_SNIFF) & !1];
    let units = sample.len() / 2;
    if units < 2 || memchr::memchr(0, sample).is_none() {
        return None;
    }
    let (mut even_nul, mut odd_nul) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        even_nul += usize::from(pair[0] == 0);
        odd_nul += usize::from(pair[1] == 0);
    }
    let (encoding, unit): (Encoding, fn([u8; 2]) -> u16) =
        if odd_nul * 4 >= units && even_nul * 20 <= units {
            (Encoding::Utf16Le, u16::from_le_bytes)
        } else if even_nul * 4 >= units && odd_nul * 20 <= units {
            (Encoding::Utf16Be, u16::from_be_bytes)
        } else {
            return None;
        };
    let ascii_text = |b: u8| matches!(b, b' '..=b'~' | b'\t' | b'\n' | b'\r');
    let (mut narrow, mut narrow_control, mut narrow_ascii, mut ascii_pairs) = (0, 0, 0, 0);
    let mut narrow_counts = [0usize; 256];
    for pair in sample.chunks_exact(2) {
        let code = unit([pair[0], pair[1]]);
        if code < 0x100 {
            narrow += 1;
            narrow_counts[usize::from(code)] += 1;
            narrow_control += usize::from(!is_text_char(char::from(code as u8)));
            narrow_ascii += usize::from(ascii_text(code as u8));
        } else if ascii_text(pair[0]) && ascii_text(pair[1]) {
            ascii_pairs += 1;
        }
    }
    let commonest = narrow_counts.iter().copied().max().unwrap_or(0);
    if narrow_control * 50 > narrow
        || narrow_ascii * 4 < narrow * 3
        || ascii_pairs * 10 > units
        || (narrow >= 16 && commonest * 4 > narrow * 3)
    {
        return None;
    }
    let (mut chars, mut printable) = (0usize, 0usize);
    // A surrogate pair cut by the sample's end decodes as one replacement character.
    for c in decode_utf16(sample, unit).chars() {
        chars += 1;
        printable += usize::from(is_text_char(c));
    }
    (printable * 100 >= chars * 95).then_some(encoding)
}

/// A character that text is made of: not a control code (other than tab, line feed, form feed,
/// carriage return), not a replacement for a broken surrogate, not private-use or a
/// non-character.
fn is_text_char(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\x0c' | '\r') {
        return true;
    }
    !(c.is_control()
        || c == '\u{FFFD}'
        || matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{FDD0}'..='\u{FDEF}' | '\u{FFFE}' | '\u{FFFF}'))
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

/// RTF to text: control words removed, `\'hh` (Windows-1252, read as Latin-1) and `\uN`
/// escapes decoded, and non-text destinations (font tables, pictures, objects) skipped.
pub(crate) fn rtf_to_text(data: &[u8]) -> String {
    const SKIPPED: [&str; 9] = [
        "fonttbl",
        "colortbl",
        "stylesheet",
        "pict",
        "object",
        "themedata",
        "datastore",
        "latentstyles",
        "listtable",
    ];
    let mut out = String::new();
    // Per open group: whether its text is skipped.
    let mut groups: Vec<bool> = Vec::new();
    let mut skipping = false;
    let mut uc_skip = 0usize;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        match b {
            b'{' => {
                groups.push(skipping);
                i += 1;
                if data.get(i..i + 2) == Some(b"\\*") {
                    skipping = true;
                }
            }
            b'}' => {
                skipping = groups.pop().unwrap_or(false);
                i += 1;
            }
            b'\\' => {
                i += 1;
                let Some(&c) = data.get(i) else { break };
                if c.is_ascii_alphabetic() {
                    let start = i;
                    while data.get(i).is_some_and(u8::is_ascii_alphabetic) {
                        i += 1;
                    }
                    let word = std::str::from_utf8(&data[start..i]).unwrap_or("");
                    let num_start = i;
                    if data.get(i) == Some(&b'-') {
                        i += 1;
                    }
                    while data.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                    let param: Option<i64> = std::str::from_utf8(&data[num_start..i])
                        .ok()
                        .and_then(|s| s.parse().ok());
                    if data.get(i) == Some(&b' ') {
                        i += 1;
                    }
                    if SKIPPED.contains(&word) {
                        skipping = true;
                    }
                    if skipping {
                        continue;
                    }
                    match word {
                        "par" | "line" | "row" | "sect" | "page" => out.push('\n'),
                        "tab" | "cell" => out.push('\t'),
                        "u" => {
                            if let Some(p) = param {
                                let code = if p < 0 { p + 65_536 } else { p };
                                if let Some(ch) = u32::try_from(code).ok().and_then(char::from_u32)
                                {
                                    out.push(ch);
                                }
                                uc_skip = 1;
                            }
                        }
                        _ => {}
                    }
                } else if c == b'\'' {
                    let hex = data
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    i += 3;
                    if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        if uc_skip > 0 {
                            uc_skip -= 1;
                        } else if !skipping {
                            out.push(v as char);
                        }
                    }
                } else {
                    i += 1;
                    if !skipping && matches!(c, b'\\' | b'{' | b'}') {
                        out.push(c as char);
                    } else if !skipping && c == b'~' {
                        out.push(' ');
                    }
                }
            }
            b'\r' | b'\n' => i += 1,
            _ => {
                i += 1;
                if uc_skip > 0 {
                    uc_skip -= 1;
                } else if !skipping {
                    out.push(b as char);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_rtf() {
        let rtf = br"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 Hello \b world\b0\par caf\'e9 \u8364? {\*\gen x}end}";
        assert_eq!(rtf_to_text(rtf), "Hello world\ncafé € end");
    }

    #[test]
    fn decodes_encodings() {
        assert_eq!(decode(b"plain"), "plain");
        assert_eq!(decode(b"\xEF\xBB\xBFbom"), "bom");
        assert_eq!(decode(b"\xFF\xFEh\0i\0"), "hi");
        assert_eq!(decode(b"\xFE\xFF\0h\0i"), "hi");
        assert_eq!(decode(b"caf\xE9"), "café");
    }

    #[test]
    fn decodes_wide_encodings_with_and_without_bom() {
        let text = "Name: Zoë Müller\r\ncard 4111 1111 1111 1111\r\nΑθήνα, Київ 😀\r\n";
        let utf16le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let utf16be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let utf32le: Vec<u8> = text
            .chars()
            .flat_map(|c| u32::from(c).to_le_bytes())
            .collect();
        let utf32be: Vec<u8> = text
            .chars()
            .flat_map(|c| u32::from(c).to_be_bytes())
            .collect();
        let bom = |bom: &[u8], body: &[u8]| [bom, body].concat();
        let cases = [
            (utf16le.clone(), Encoding::Utf16Le),
            (utf16be.clone(), Encoding::Utf16Be),
            (bom(b"\xFF\xFE", &utf16le), Encoding::Utf16Le),
            (bom(b"\xFE\xFF", &utf16be), Encoding::Utf16Be),
            (bom(b"\xFF\xFE\0\0", &utf32le), Encoding::Utf32Le),
            (bom(b"\0\0\xFE\xFF", &utf32be), Encoding::Utf32Be),
        ];
        for (data, expected) in cases {
            assert_eq!(encoding(&data).0, expected);
            assert_eq!(decode(&data), text, "{expected:?}");
        }
        // UTF-16 LE's BOM before a NUL character is not UTF-32 (here, U+110000 is no code
        // point).
        assert_eq!(encoding(b"\xFF\xFE\0\0\0\0\x11\0").0, Encoding::Utf16Le);
        // A short UTF-16 text without BOM.
        assert_eq!(decode(b"h\0i\0"), "hi");
        assert_eq!(decode(b"\0h\0i"), "hi");
    }

    /// A deterministic xorshift generator, for tests that want noise.
    fn noise(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed | 1;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn random_and_structured_binary_is_not_utf16() {
        let mut next = noise(0x2545_F491_4F6C_DD1D);
        let mut flagged = Vec::new();
        for round in 0..3000 {
            // Below a few dozen bytes, noise can be text by chance.
            let len = 64 + (next() % 6000) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Pure noise; noise in one half of each 16-bit unit (zeros in the other, like
            // UTF-16 of random Latin-1); arrays of small 16- and 32-bit integers.
            let half: Vec<u8> = bytes.iter().flat_map(|&b| [b, 0]).collect();
            let u16s: Vec<u8> = bytes
                .iter()
                .flat_map(|&b| u16::from(b % 64).to_le_bytes())
                .collect();
            let u32s: Vec<u8> = bytes
                .iter()
                .flat_map(|&b| u32::from(b).to_le_bytes())
                .collect();
            let be_u32s: Vec<u8> = bytes
                .iter()
                .flat_map(|&b| (u32::from(b) << 8).to_be_bytes())
                .collect();
            // A jump table: 32-bit offsets about 2 MiB away, whose high halves (`20 00`) are
            // all a space in UTF-16 LE.
            let offsets: Vec<u8> = bytes
                .chunks(2)
                .flat_map(|c| (0x0020_0000 | u32::from(c[0]) << 8 | 0x19).to_le_bytes())
                .collect();
            for (kind, data) in [
                ("noise", &bytes),
                ("half", &half),
                ("u16", &u16s),
                ("u32", &u32s),
                ("be_u32", &be_u32s),
                ("offsets", &offsets),
            ] {
                if guess_utf16(data).is_some() {
                    flagged.push((round, kind, len));
                }
            }
        }
        assert!(flagged.is_empty(), "{flagged:?}");
    }

    /// Real binary files are never taken for UTF-16 text: the head of every file of the public
    /// corpus (PDFs, images, OLE and ZIP-based documents, e-mails; what `detect` sees), and every
    /// 4 KiB window of its images, ZIP-based documents and of this test's own executable.
    /// Windows of PDFs are checked too, but PDFs can embed real UTF-16 text (the name tables of
    /// their fonts hold licences and copyright lines): a window of a PDF taken for UTF-16 must
    /// decode to prose (at least 20 words of three or more ASCII letters). OLE files (`.doc`,
    /// `.xls`, `.msg`) are windowed not at all: their text really is UTF-16. The corpus part is
    /// skipped when it is absent.
    #[test]
    fn real_binaries_are_not_utf16() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
        let mut files = vec![std::env::current_exe().unwrap()];
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for path in entries.map(|e| e.unwrap().path()) {
                if path.is_dir() {
                    dirs.push(path);
                } else if path.file_name().is_some_and(|n| n != "README.md") {
                    files.push(path);
                }
            }
        }
        if files.len() == 1 {
            eprintln!(
                "corpus not found at {}: only the test executable is read",
                root.display()
            );
        }
        let prose = |window: &[u8], unit: fn([u8; 2]) -> u16| {
            let text = decode_utf16(&window[..window.len().min(UTF16_SNIFF) & !1], unit);
            text.split(|c: char| !c.is_ascii_alphabetic())
                .filter(|w| w.len() >= 3)
                .count()
                >= 20
        };
        const WINDOWED: [&str; 14] = [
            "png", "jpg", "gif", "tiff", "zip", "docx", "xlsx", "pptx", "ods", "xlsb", "xlsm",
            "pptm", "odt", "pdf",
        ];
        let (mut windows, mut prose_windows, mut flagged) = (0usize, 0usize, Vec::new());
        for (i, path) in files.iter().enumerate() {
            let data = std::fs::read(path).unwrap();
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if ["txt", "md", "csv"].contains(&ext.as_str()) {
                continue;
            }
            if let Some(e) = guess_utf16(&data) {
                flagged.push(format!("{} (head): {e:?}", path.display()));
            }
            if i > 0 && !WINDOWED.contains(&ext.as_str()) {
                continue;
            }
            for start in (UTF16_SNIFF..data.len()).step_by(UTF16_SNIFF) {
                windows += 1;
                let window = &data[start..];
                match guess_utf16(window) {
                    None => {}
                    Some(Encoding::Utf16Le)
                        if ext == "pdf" && prose(window, u16::from_le_bytes) =>
                    {
                        prose_windows += 1;
                    }
                    Some(Encoding::Utf16Be)
                        if ext == "pdf" && prose(window, u16::from_be_bytes) =>
                    {
                        prose_windows += 1;
                    }
                    Some(e) => flagged.push(format!("{}@{start}: {e:?}", path.display())),
                }
            }
        }
        eprintln!(
            "{} files, {windows} windows of {UTF16_SNIFF} bytes: {} taken for UTF-16 wrongly, \
             {prose_windows} PDF windows of UTF-16 prose",
            files.len(),
            flagged.len()
        );
        assert!(flagged.is_empty(), "{flagged:#?}");
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
