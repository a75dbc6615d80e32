//! Type detection from content ([`detect`]): magic bytes first, then container structure (the
//! names inside a ZIP, through `zip`; the names under the root of an OLE directory, through
//! `ole`; the header checksum of a tar without magic), then a look at the text itself (its
//! encoding told and decoded through `decode`). Also [`is_plain_text`], the streaming shortcut
//! built on it.

use memchr::memmem;

use crate::decode::{decode, encoding};
use crate::ole::{root_names, SIGNATURE};
use crate::types::FileType;
use crate::zip::Archive;

/// How much of a text-like file is looked at to classify it.
const SNIFF: usize = 8 * 1024;

/// Detects the type of `data` from its content. Cheap (reads the head of the data and, for
/// ZIP and OLE files, their directory), never fails and never panics.
pub fn detect(data: &[u8]) -> FileType {
    if let Some(t) = detect_magic(data) {
        return t;
    }
    detect_text(data)
}

/// Whether content, judged by its first bytes, is plain text that the detectors can read as it
/// lies (UTF-8, ASCII or Latin-1 text or CSV): no NUL byte, not UTF-16 or UTF-32, and no
/// markup or container that [`walk`](crate::walk) would read better. Such content can be
/// streamed.
pub fn is_plain_text(head: &[u8]) -> bool {
    matches!(detect(head), FileType::Text | FileType::Csv) && !encoding(head).0.is_wide()
}

fn detect_magic(data: &[u8]) -> Option<FileType> {
    let head = &data[..data.len().min(1024)];
    let starts = |m: &[u8]| data.starts_with(m);
    // Before the PDF marker, which is searched in the whole head: a tar's first member may be
    // a PDF.
    if data.get(257..262) == Some(b"ustar") || is_v7_tar(data) {
        return Some(FileType::Tar);
    }
    if memmem::find(head, b"%PDF-").is_some() {
        return Some(FileType::Pdf);
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        return Some(zip_kind(data));
    }
    if starts(b"\x1f\x8b") {
        return Some(FileType::Gzip);
    }
    if starts(b"7z\xBC\xAF\x27\x1C") {
        return Some(FileType::SevenZip);
    }
    if starts(b"\xFD7zXZ\0") {
        return Some(FileType::Xz);
    }
    if starts(b"\x28\xB5\x2F\xFD") {
        return Some(FileType::Zstd);
    }
    // `BZh` and the block size, 1 to 9 (hundreds of kilobytes).
    if starts(b"BZh") && data.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)) {
        return Some(FileType::Bzip2);
    }
    if starts(SIGNATURE) {
        return Some(ole_kind(data));
    }
    if starts(b"{\\rtf") {
        return Some(FileType::Rtf);
    }
    if starts(b"\x89PNG\r\n\x1a\n")
        || starts(b"\xFF\xD8\xFF")
        || starts(b"GIF87a")
        || starts(b"GIF89a")
        || starts(b"II*\0")
        || starts(b"MM\0*")
        || (starts(b"RIFF") && data.get(8..12) == Some(b"WEBP"))
        || (starts(b"BM") && data.len() > 26 && data.get(6..10) == Some(&[0, 0, 0, 0]))
    {
        return Some(FileType::Image);
    }
    const BINARY_MAGIC: [&[u8]; 4] = [b"Rar!\x1a\x07", b"\x7fELF", b"MZ", b"\0\0\0"];
    if BINARY_MAGIC.iter().any(|m| starts(m)) {
        return Some(FileType::Binary);
    }
    // A ZIP with data before it (self-extractors, damaged heads): its directory is at the end.
    let tail = &data[data.len().saturating_sub(65_557)..];
    if memmem::rfind(tail, b"PK\x05\x06").is_some() && Archive::parse(data, 1 << 20).is_ok() {
        return Some(zip_kind(data));
    }
    None
}

/// A tar header without the `ustar` magic (the old v7 format): recognised by its checksum, the
/// octal number at offset 148 that is the sum of the header's 512 bytes with the checksum field
/// counted as spaces (old implementations summed signed bytes: both are accepted), and by
/// numeric fields that hold octal digits. A named first entry is required, so that a block of
/// zeros is not a tar.
fn is_v7_tar(data: &[u8]) -> bool {
    let Some(header) = data.get(..512) else {
        return false;
    };
    if header[0] == 0 {
        return false;
    }
    let Some(stored) = octal(&header[148..156]) else {
        return false;
    };
    // mode, uid, gid, size, mtime: octal numbers, or left blank.
    let blank = |field: &[u8]| field.iter().all(|&b| b == b' ' || b == 0);
    let numeric = [100..108, 108..116, 116..124, 124..136, 136..148];
    if !numeric
        .into_iter()
        .all(|range| octal(&header[range.clone()]).is_some() || blank(&header[range]))
    {
        return false;
    }
    let field = 148..156;
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &b) in header.iter().enumerate() {
        let b = if field.contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// An octal number as tar writes it: optional leading spaces, at least one octal digit, then
/// only spaces or NULs.
fn octal(field: &[u8]) -> Option<u64> {
    let text = field.trim_ascii_start();
    let digits = text
        .iter()
        .take_while(|b| (b'0'..=b'7').contains(b))
        .count();
    if digits == 0 || digits > 21 || !text[digits..].iter().all(|&b| b == b' ' || b == 0) {
        return None;
    }
    text[..digits].iter().try_fold(0u64, |n, &b| {
        n.checked_mul(8)?.checked_add(u64::from(b - b'0'))
    })
}

/// Tells the OOXML and ODF formats from a plain ZIP by the names inside.
fn zip_kind(data: &[u8]) -> FileType {
    let Ok(archive) = Archive::parse(data, 1 << 20) else {
        return FileType::Zip;
    };
    if archive.has("[Content_Types].xml") {
        for (part, kind) in [
            ("word/document.xml", FileType::Docx),
            ("xl/workbook.xml", FileType::Xlsx),
            ("ppt/presentation.xml", FileType::Pptx),
            ("xl/workbook.bin", FileType::Xlsb),
        ] {
            if archive.has(part) {
                return kind;
            }
        }
    }
    if archive.has("mimetype") && archive.has("content.xml") {
        // The ODF specification puts the media type, stored, at the very start of the file.
        let head = &data[..data.len().min(200)];
        for (media, kind) in [
            (
                &b"application/vnd.oasis.opendocument.text"[..],
                FileType::Odt,
            ),
            (
                b"application/vnd.oasis.opendocument.spreadsheet",
                FileType::Ods,
            ),
            (
                b"application/vnd.oasis.opendocument.presentation",
                FileType::Odp,
            ),
        ] {
            if memmem::find(head, media).is_some() {
                return kind;
            }
        }
    }
    FileType::Zip
}

/// Tells legacy Office formats and Outlook messages apart by the names of the streams and
/// storages under the root of their OLE directory (compared case-insensitively, as the format
/// does). A directory that cannot be read falls back to looking for the names anywhere in the
/// file, so that a damaged document still reaches its reader (and ends there as
/// `broken_file`) rather than passing for an unknown binary.
fn ole_kind(data: &[u8]) -> FileType {
    match root_names(data) {
        Some(names) => {
            let has = |wanted: &str| names.iter().any(|n| n.eq_ignore_ascii_case(wanted));
            let has_prefix = |prefix: &str| {
                names.iter().any(|n| {
                    n.get(..prefix.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
                })
            };
            ole_kind_by(has, has_prefix("__substg1.0_"))
        }
        None => {
            let has = |name: &str| {
                let utf16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
                memmem::find(data, &utf16).is_some()
            };
            ole_kind_by(has, false)
        }
    }
}

fn ole_kind_by(has: impl Fn(&str) -> bool, has_properties: bool) -> FileType {
    if has("EncryptionInfo") || has("EncryptedPackage") {
        FileType::EncryptedOffice
    } else if has("WordDocument") {
        FileType::Doc
    } else if has("Workbook") || has("Book") {
        FileType::Xls
    } else if has("PowerPoint Document") {
        FileType::Ppt
    } else if has("__properties_version1.0") || has_properties {
        FileType::Msg
    } else {
        FileType::Binary
    }
}

fn detect_text(data: &[u8]) -> FileType {
    let sample = &data[..data.len().min(SNIFF)];
    if !encoding(sample).0.is_wide() && looks_binary(sample) {
        return FileType::Binary;
    }
    let text = decode(sample);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let lower_head: String = trimmed
        .chars()
        .take(2048)
        .collect::<String>()
        .to_lowercase();
    if lower_head.starts_with('<') {
        let html = [
            "<!doctype html",
            "<html",
            "<head",
            "<body",
            "<div",
            "<p>",
            "<table",
        ]
        .iter()
        .any(|m| lower_head.contains(m));
        return if html { FileType::Html } else { FileType::Xml };
    }
    if (trimmed.starts_with('{') || trimmed.starts_with('[')) && is_json_end(data) {
        return FileType::Json;
    }
    if looks_like_email(trimmed) {
        return FileType::Eml;
    }
    if looks_like_csv(trimmed) {
        return FileType::Csv;
    }
    FileType::Text
}

/// NUL bytes or many control characters mean binary.
fn looks_binary(sample: &[u8]) -> bool {
    if sample.contains(&0) {
        return true;
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c | 0x1b))
        .count();
    controls * 20 > sample.len()
}

fn is_json_end(data: &[u8]) -> bool {
    let tail = &data[data.len().saturating_sub(64)..];
    // NULs are the high bytes of UTF-16 and UTF-32 text.
    matches!(
        tail.iter()
            .rev()
            .find(|&&b| !b.is_ascii_whitespace() && b != 0),
        Some(b'}' | b']')
    )
}

/// A header block of `Name: value` lines with at least two well-known e-mail headers.
fn looks_like_email(text: &str) -> bool {
    const KNOWN: [&str; 12] = [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "received",
        "return-path",
        "content-type",
        "delivered-to",
        "reply-to",
        "cc",
    ];
    let mut known = 0;
    for (i, line) in text.lines().take(60).enumerate() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            // Only the very first line may be an mbox "From " separator.
            if i == 0 && line.starts_with("From ") {
                continue;
            }
            return false;
        }
        if KNOWN.contains(&name.to_ascii_lowercase().as_str()) {
            known += 1;
        }
    }
    known >= 2
}

/// At least two lines with the same non-zero count of one separator.
fn looks_like_csv(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().take(6).filter(|l| !l.is_empty()).collect();
    // The last sampled line may be cut by the sample's end.
    let lines = if lines.len() > 2 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    if lines.len() < 2 {
        return false;
    }
    [',', ';', '\t', '|'].iter().any(|&sep| {
        let first = lines[0].matches(sep).count();
        first > 0 && lines.iter().all(|l| l.matches(sep).count() == first)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content() {
        let cases: &[(&[u8], FileType)] = &[
            (b"hello world", FileType::Text),
            (b"\xEF\xBB\xBFhello", FileType::Text),
            (b"\xFF\xFEh\0i\0", FileType::Text),
            (b"caf\xE9 latin-1", FileType::Text),
            (b"a,b,c\n1,2,3\n4,5,6\n", FileType::Csv),
            (b"{\"a\": 1}\n", FileType::Json),
            (b"[1, 2]", FileType::Json),
            (
                b"<!DOCTYPE html><html><body>x</body></html>",
                FileType::Html,
            ),
            (b"<?xml version=\"1.0\"?><a>x</a>", FileType::Xml),
            (
                b"From: a@b.c\r\nTo: d@e.f\r\nSubject: hi\r\n\r\nbody",
                FileType::Eml,
            ),
            (b"%PDF-1.4\n", FileType::Pdf),
            (b"\x1f\x8b\x08\0", FileType::Gzip),
            (b"{\\rtf1 hi}", FileType::Rtf),
            (b"\x89PNG\r\n\x1a\n....", FileType::Image),
            (b"BZh91AY&SY", FileType::Bzip2),
            (b"BZhello, not bzip2", FileType::Text),
            (b"\xFD7zXZ\0\0\x04", FileType::Xz),
            (b"\x28\xB5\x2F\xFD\x04", FileType::Zstd),
            (b"7z\xBC\xAF\x27\x1C\0\x04", FileType::SevenZip),
            (b"h\0e\0l\0l\0o\0 \0w\0o\0r\0l\0d\0", FileType::Text),
            (b"\0h\0e\0l\0l\0o\0 \0w\0o\0r\0l\0d", FileType::Text),
            (b"\xFF\xFE\0\0h\0\0\0i\0\0\0", FileType::Text),
            (b"\x7fELF\x02\x01", FileType::Binary),
            (b"\x01\x02\x03\x00\x05", FileType::Binary),
            (b"", FileType::Text),
        ];
        for (data, want) in cases {
            assert_eq!(detect(data), *want, "{:?}", String::from_utf8_lossy(data));
        }
    }

    /// A compound file with the given streams at its root.
    fn compound(streams: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut file = cfb::CompoundFile::create(std::io::Cursor::new(Vec::<u8>::new())).unwrap();
        for (name, data) in streams {
            let mut stream = file.create_stream(format!("/{name}")).unwrap();
            stream.write_all(data).unwrap();
        }
        file.flush().unwrap();
        file.into_inner().into_inner()
    }

    #[test]
    fn tells_ole_files_apart_by_their_root_names() {
        let cases: &[(&[&str], FileType)] = &[
            (&["WordDocument", "1Table"], FileType::Doc),
            (&["Workbook"], FileType::Xls),
            // Names compare case-insensitively, as the format does.
            (&["BOOK"], FileType::Xls),
            (&["PowerPoint Document", "Current User"], FileType::Ppt),
            (&["__properties_version1.0"], FileType::Msg),
            (&["__substg1.0_0037001F"], FileType::Msg),
            (
                &["EncryptionInfo", "EncryptedPackage"],
                FileType::EncryptedOffice,
            ),
            (&["Contents"], FileType::Binary),
        ];
        for (names, want) in cases {
            let streams: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, &b"x"[..])).collect();
            assert_eq!(detect(&compound(&streams)), *want, "{names:?}");
        }
        // The names of other formats inside a stream's data (an attached document, a word in
        // a slide) do not change what the file is.
        let inside: Vec<u8> = ["WordDocument", "EncryptionInfo", "Workbook"]
            .iter()
            .flat_map(|n| n.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let message = compound(&[
            ("__properties_version1.0", b"x"),
            ("__substg1.0_37010102", &inside),
        ]);
        assert_eq!(detect(&message), FileType::Msg);
        let slides = compound(&[("PowerPoint Document", &inside)]);
        assert_eq!(detect(&slides), FileType::Ppt);
    }
}
