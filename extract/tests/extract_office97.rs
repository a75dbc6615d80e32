//! Legacy Office and Outlook: Word 97-2003 `.doc`, BIFF8 `.xls`, `.xlsb`, PowerPoint 97-2003
//! `.ppt` and Outlook `.msg`. Planted values come out of fixtures written by LibreOffice
//! (`tests/fixtures/office97/`, see its README) with their locations (headers, footnotes,
//! comments, sheets, slides, notes); Outlook messages are written here with the `cfb` crate
//! (headers, recipients, body, an attachment, an embedded message with its own attachment, an
//! RTF-only body); the public samples of `../shared/corpus/legacy/textract` give at least 95%
//! of the words their authors expect. Encrypted files are `encrypted`; truncated, bit-flipped
//! and hostile compound files (FAT loops, huge counts) end as a skip or as text, never as a
//! panic or a hang, in-process and through the worker pool.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod extract_support;

use std::collections::HashSet;
use std::io::{Cursor, Read, Write};

use dlp_extract::{detect, Event, FileType, Filter, Limits};
use extract_support::{events, outcome, pool, pool_events, repo_path};

#[test]
fn extract_worker_entry() {
    extract_support::worker_entry();
}

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/office97")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A file of the shared corpus, or `None` (with a message) when the corpus is absent.
fn corpus(rel: &str) -> Option<Vec<u8>> {
    let path = repo_path("../shared/corpus").join(rel);
    match std::fs::read(&path) {
        Ok(data) => Some(data),
        Err(e) => {
            eprintln!("{}: {e}: skipped", path.display());
            None
        }
    }
}

/// The text of each `(member, location)`, in order of first appearance.
fn segments(data: &[u8]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    dlp_extract::walk(data, &Limits::default(), &Filter::default(), &mut |event| {
        if let Event::Text {
            member,
            location,
            text,
        } = event
        {
            out.push((
                member.unwrap_or("").to_string(),
                location.unwrap_or("").to_string(),
                text.to_string(),
            ));
        }
    });
    out
}

/// The text of the segment at `(member, location)`, panicking with all segments if absent.
fn segment<'s>(all: &'s [(String, String, String)], member: &str, location: &str) -> &'s str {
    all.iter()
        .find(|(m, l, _)| m == member && l == location)
        .map(|(_, _, t)| t.as_str())
        .unwrap_or_else(|| panic!("no segment [{member}] ({location}) in {all:#?}"))
}

fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The share of the distinct words of `expected` found in `got`.
fn recall(expected: &str, got: &str) -> f64 {
    let expected = words(expected);
    let got = words(got);
    expected.intersection(&got).count() as f64 / expected.len().max(1) as f64
}

/// A compound file being written, for Outlook messages.
struct Compound(cfb::CompoundFile<Cursor<Vec<u8>>>);

impl Compound {
    fn new() -> Compound {
        Compound(cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap())
    }

    fn storage(&mut self, path: &str) {
        self.0.create_storage(path).unwrap();
    }

    fn stream(&mut self, path: &str, data: &[u8]) {
        self.0.create_stream(path).unwrap().write_all(data).unwrap();
    }

    /// The `__properties_version1.0` stream of `storage`: a header of `header` bytes, then
    /// one 16-byte entry per fixed-size property `(id, type, value)`.
    fn properties(&mut self, storage: &str, header: usize, values: &[(u16, u16, u64)]) {
        let mut data = vec![0u8; header];
        for &(id, kind, value) in values {
            data.extend(((u32::from(id) << 16) | u32::from(kind)).to_le_bytes());
            data.extend(6u32.to_le_bytes());
            data.extend(value.to_le_bytes());
        }
        self.stream(&format!("{storage}/__properties_version1.0"), &data);
    }

    fn unicode(&mut self, storage: &str, id: u16, value: &str) {
        let data: Vec<u8> = value.encode_utf16().flat_map(u16::to_le_bytes).collect();
        self.stream(&format!("{storage}/__substg1.0_{id:04X}001F"), &data);
    }

    fn binary(&mut self, storage: &str, id: u16, data: &[u8]) {
        self.stream(&format!("{storage}/__substg1.0_{id:04X}0102"), data);
    }

    fn finish(mut self) -> Vec<u8> {
        self.0.flush().unwrap();
        self.0.into_inner().into_inner()
    }
}

const PT_LONG: u16 = 0x0003;
const PT_SYSTIME: u16 = 0x0040;

/// [MS-OXRTFCP]'s example of a compressed RTF body: `{\rtf1\ansi\ansicpg1252\pard hello
/// world}` and a line break.
const RTF_HELLO: [u8; 49] = [
    0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7,
    0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20,
    0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f,
    0xa0,
];

/// An Outlook message as Outlook lays it out: a sender, two recipients, a plain-text body,
/// a file attachment, and an embedded message (attach method 5) whose body is compressed RTF
/// only and which has an attachment of its own.
fn outlook_message() -> Vec<u8> {
    let mut m = Compound::new();
    // 2024-02-29T12:34:56Z as a FILETIME.
    let sent = (1_709_210_096u64 + 11_644_473_600) * 10_000_000;
    m.properties("", 32, &[(0x0039, PT_SYSTIME, sent)]);
    m.unicode("", 0x0037, "Quarterly numbers");
    m.unicode("", 0x0C1A, "Jane Doe");
    m.unicode("", 0x0C1F, "/O=EXCHANGE/OU=FIRST/CN=RECIPIENTS/CN=JANE");
    m.unicode("", 0x5D01, "jane.doe@example.com");
    m.unicode("", 0x1000, "Please pay with card 4111 1111 1111 1111.\r\n");
    for (i, (kind, name, address)) in [
        (1u64, "Bob Smith", "bob@example.com"),
        (2, "Carol", "carol@example.com"),
    ]
    .into_iter()
    .enumerate()
    {
        let recipient = format!("/__recip_version1.0_#{i:08X}");
        m.storage(&recipient);
        m.properties(&recipient, 8, &[(0x0C15, PT_LONG, kind)]);
        m.unicode(&recipient, 0x3001, name);
        m.unicode(&recipient, 0x39FE, address);
    }
    let file = "/__attach_version1.0_#00000000";
    m.storage(file);
    m.properties(file, 8, &[(0x3705, PT_LONG, 1)]);
    m.unicode(file, 0x3704, "KEYS~1.TXT");
    m.unicode(file, 0x3707, "keys.txt");
    m.binary(file, 0x3701, b"aws AKIAIOSFODNN7EXAMPLE\n");

    let attached = "/__attach_version1.0_#00000001";
    m.storage(attached);
    m.properties(attached, 8, &[(0x3705, PT_LONG, 5)]);
    m.unicode(attached, 0x3001, "Forwarded note");
    let inner = format!("{attached}/__substg1.0_3701000D");
    m.storage(&inner);
    m.properties(&inner, 24, &[]);
    m.unicode(&inner, 0x0037, "Inner subject");
    m.binary(&inner, 0x1009, &RTF_HELLO);
    let inner_file = format!("{inner}/__attach_version1.0_#00000000");
    m.storage(&inner_file);
    m.properties(&inner_file, 8, &[(0x3705, PT_LONG, 1)]);
    m.unicode(&inner_file, 0x3707, "inner.txt");
    m.binary(&inner_file, 0x3701, b"SSN 536-22-8917\n");
    m.finish()
}

/// A message with only an HTML body (stored as binary, as Outlook does).
fn html_message() -> Vec<u8> {
    let mut m = Compound::new();
    m.properties("", 32, &[]);
    m.unicode("", 0x0037, "HTML only");
    m.binary(
        "",
        0x1013,
        b"<html><body><p>IBAN <b>DE89 3704 0044 0532 0130 00</b></p></body></html>",
    );
    m.finish()
}

/// `data` with the stream at `path` replaced by `f` of its content (through the `cfb` crate).
fn with_stream(data: &[u8], path: &str, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut file = cfb::CompoundFile::open(Cursor::new(data.to_vec())).unwrap();
    let mut content = Vec::new();
    file.open_stream(path)
        .unwrap()
        .read_to_end(&mut content)
        .unwrap();
    f(&mut content);
    let mut stream = file.create_stream(path).unwrap();
    stream.write_all(&content).unwrap();
    drop(stream);
    file.flush().unwrap();
    file.into_inner().into_inner()
}

/// The tests proper, in a module so that `cargo test extract` selects them.
mod extract {
    #![allow(clippy::wildcard_imports)]
    use super::*;

    #[test]
    fn doc_stories_come_out_with_their_locations() {
        let data = fixture("planted.doc");
        assert_eq!(detect(&data), FileType::Doc);
        let all = segments(&data);
        let body = segment(&all, "", "");
        for want in [
            "Card number 4111 1111 1111 1111 in the body.",
            "Commented paragraph.",
            // A hyperlink field: its result, not its code.
            "Visit the example site now.",
            "Müller Straße naïve café €5.",
            // A table row: cells tab-separated.
            "Alice\t3782 822463 10005",
        ] {
            assert!(body.contains(want), "{want:?} not in {body:?}");
        }
        assert!(!body.contains("HYPERLINK"), "{body:?}");
        let header = segment(&all, "", "header/footer");
        assert!(
            header.contains("Header secret AKIAIOSFODNN7EXAMPLE"),
            "{header:?}"
        );
        assert!(header.contains("Footer SSN 536-22-8917"), "{header:?}");
        assert!(segment(&all, "", "footnotes").contains("Footnote mail jane.doe@example.com"));
        assert!(segment(&all, "", "endnotes").contains("IBAN DE89 3704 0044 0532 0130 00"));
        assert!(segment(&all, "", "comments").contains("Comment card 5555 5555 5555 4444"));
        let events = events(&data, &Limits::default(), &Filter::default());
        assert_eq!(events.last().unwrap(), "done [] doc");
    }

    #[test]
    fn xls_sheets_come_out_with_numbers_as_shown() {
        let data = fixture("planted.xls");
        assert_eq!(detect(&data), FileType::Xls);
        let all = segments(&data);
        assert_eq!(
            segment(&all, "", "sheet Cards"),
            "Name\tCard\tAmount\nAlice\t4111 1111 1111 1111\t1.5\nBob\t5555555555554444\t42\n1\tStraße Müller"
        );
        assert_eq!(
            segment(&all, "", "sheet Keys"),
            "AWS key\tAKIAIOSFODNN7EXAMPLE\nSSN\t536-22-8917"
        );
    }

    #[test]
    fn ppt_slides_and_notes_come_out_in_order() {
        let data = fixture("planted.ppt");
        assert_eq!(detect(&data), FileType::Ppt);
        let all = segments(&data);
        let locations: Vec<&str> = all.iter().map(|(_, l, _)| l.as_str()).collect();
        assert_eq!(
            locations,
            ["slide 1", "notes slide 1", "slide 2", "notes slide 2"]
        );
        let slide = segment(&all, "", "slide 1");
        for want in [
            "Quarterly card review",
            "Card 4111 1111 1111 1111",
            "Owner Müller",
            "Free text box SSN 536-22-8917",
        ] {
            assert!(slide.contains(want), "{want:?} not in {slide:?}");
        }
        assert!(segment(&all, "", "notes slide 1").contains("key AKIAIOSFODNN7EXAMPLE"));
        assert!(segment(&all, "", "slide 2").contains("jane.doe@example.com"));
        assert!(segment(&all, "", "notes slide 2").contains("DE89 3704 0044 0532 0130 00"));
    }

    #[test]
    fn ppt_without_its_edit_chain_still_gives_its_text() {
        // No Current User stream: the live slides cannot be found, every text atom is read.
        let mut file = cfb::CompoundFile::open(Cursor::new(fixture("planted.ppt"))).unwrap();
        file.remove_stream("/Current User").unwrap();
        file.flush().unwrap();
        let data = file.into_inner().into_inner();
        let all = segments(&data);
        let text = segment(&all, "", "");
        for want in ["4111 1111 1111 1111", "AKIAIOSFODNN7EXAMPLE", "DE89 3704"] {
            assert!(text.contains(want), "{want:?} not in {text:?}");
        }
        assert_eq!(outcome(&data, &Limits::default()).0, "done");
    }

    #[test]
    fn msg_headers_body_attachments_and_embedded_messages() {
        let data = outlook_message();
        assert_eq!(detect(&data), FileType::Msg);
        assert_eq!(
            events(&data, &Limits::default(), &Filter::default()),
            [
                "text [] (headers): Subject: Quarterly numbers\nFrom: Jane Doe <jane.doe@example.com>\nTo: Bob Smith <bob@example.com>\nCc: Carol <carol@example.com>\nDate: 2024-02-29T12:34:56Z\n",
                "text [] (): Please pay with card 4111 1111 1111 1111.\r\n",
                "text [keys.txt] (): aws AKIAIOSFODNN7EXAMPLE\n",
                "done [keys.txt] text",
                "text [Forwarded note.msg] (headers): Subject: Inner subject\n",
                "text [Forwarded note.msg] (): hello world",
                "text [Forwarded note.msg/inner.txt] (): SSN 536-22-8917\n",
                "done [Forwarded note.msg/inner.txt] text",
                "done [Forwarded note.msg] msg",
                "done [] msg",
            ]
        );
        let html = html_message();
        let all = segments(&html);
        assert!(segment(&all, "", "").contains("IBAN DE89 3704 0044 0532 0130 00"));
    }

    #[test]
    fn nesting_depth_holds_for_embedded_messages() {
        let limits = Limits {
            max_depth: 0,
            ..Limits::default()
        };
        let events = events(&outlook_message(), &limits, &Filter::default());
        assert!(
            events.contains(&"skip [keys.txt] limit_exceeded".to_string()),
            "{events:?}"
        );
        assert!(
            events.contains(&"skip [Forwarded note.msg] limit_exceeded".to_string()),
            "{events:?}"
        );
        assert_eq!(events.last().unwrap(), "done [] msg");
    }

    #[test]
    fn encrypted_files_are_encrypted() {
        for name in ["planted-encrypted.doc", "planted-encrypted.xls"] {
            let (reason, detail) = outcome(&fixture(name), &Limits::default());
            assert_eq!(reason, "encrypted", "{name}: {detail}");
        }
        // PowerPoint marks an encrypted presentation in its Current User atom (LibreOffice
        // cannot write one: see the fixtures' README).
        let ppt = with_stream(&fixture("planted.ppt"), "/Current User", |atom| {
            atom[12..16].copy_from_slice(&0xF3D1_C4DFu32.to_le_bytes());
        });
        let (reason, detail) = outcome(&ppt, &Limits::default());
        assert_eq!(reason, "encrypted", "{detail}");
        // A Word document with fEncrypted set in its FIB.
        let doc = with_stream(&fixture("planted.doc"), "/WordDocument", |fib| {
            fib[0x0B] |= 0x01;
        });
        assert_eq!(outcome(&doc, &Limits::default()).0, "encrypted");
        if let Some(xlsb) = corpus("office/calamine/pass_protected.xlsb") {
            assert_eq!(outcome(&xlsb, &Limits::default()).0, "encrypted");
        }
    }

    #[test]
    fn public_samples_give_the_words_their_authors_expect() {
        for (file, expected) in [
            ("doc_raw_text.doc", "doc_raw_text.txt"),
            ("xls_raw_text.xls", "xls_raw_text.txt"),
            ("msg_raw_text.msg", "msg_raw_text.txt"),
        ] {
            let dir = "legacy/textract/";
            let (Some(data), Some(expected)) = (
                corpus(&format!("{dir}{file}")),
                corpus(&format!("{dir}{expected}")),
            ) else {
                continue;
            };
            let expected = String::from_utf8_lossy(&expected);
            let got: String = segments(&data)
                .into_iter()
                .map(|(_, _, t)| t + "\n")
                .collect();
            // The expected text of the workbook writes numbers as Python floats ("83.0").
            let expected = expected.replace(".0\n", "\n");
            let found = recall(&expected, &got);
            eprintln!("{file}: {:.1}% of the expected words", found * 100.0);
            assert!(found >= 0.95, "{file}: {found:.3} of the words\n{got}");
            assert_eq!(outcome(&data, &Limits::default()).0, "done", "{file}");
        }
        // The same words as the standardized samples.
        for file in ["doc", "xls", "msg"] {
            let Some(data) = corpus(&format!("legacy/textract/{file}_standardized_text.{file}"))
            else {
                continue;
            };
            let got: String = segments(&data).into_iter().map(|(_, _, t)| t).collect();
            let found = recall("the quick brown fox jumps over the lazy dog", &got);
            assert_eq!(found, 1.0, "{file}: {got:?}");
        }
    }

    #[test]
    fn calamine_samples_are_read() {
        for (file, want) in [
            ("office/calamine/issues.xls", "sheet"),
            ("office/calamine/issues.xlsb", "sheet"),
        ] {
            let Some(data) = corpus(file) else { continue };
            let all = segments(&data);
            assert!(
                all.iter()
                    .any(|(_, l, t)| l.starts_with(want) && !t.is_empty()),
                "{file}: {all:?}"
            );
            assert_eq!(outcome(&data, &Limits::default()).0, "done", "{file}");
        }
    }

    /// Every fixture of this file, with its name.
    fn all_fixtures() -> Vec<(&'static str, Vec<u8>)> {
        let mut out = vec![
            ("planted.doc", fixture("planted.doc")),
            ("planted.xls", fixture("planted.xls")),
            ("planted.ppt", fixture("planted.ppt")),
            ("outlook.msg", outlook_message()),
        ];
        if let Some(xlsb) = corpus("office/calamine/issues.xlsb") {
            out.push(("issues.xlsb", xlsb));
        }
        out
    }

    #[test]
    fn legacy_formats_are_read_in_the_workers_only() {
        let pool = pool(1, Limits::default());
        for (name, data) in all_fixtures() {
            let file_type = detect(&data);
            assert!(!file_type.is_in_process_safe(), "{name}: {file_type}");
            assert_eq!(
                pool_events(&pool, &data, &Filter::default()),
                events(&data, &Limits::default(), &Filter::default()),
                "{name}"
            );
        }
    }

    /// The outcome of a damaged input, checked: a terminal event, and no panic in this crate's
    /// readers. `calamine` does panic on some damaged workbooks (as on two of its own test
    /// files in the corpus); the walk catches that as `broken_file`, and the workers would
    /// survive a worse failure, so those panics are tolerated and counted.
    fn assert_survives(name: &str, what: &str, data: &[u8]) -> bool {
        let (reason, detail) = outcome(data, &Limits::default());
        assert!(!reason.is_empty(), "{name} {what}: no terminal event");
        let calamine =
            detail.starts_with("xls parser panicked") || detail.starts_with("xlsb parser panicked");
        assert!(
            calamine || !detail.contains("panicked"),
            "{name} {what}: {reason}: {detail}"
        );
        calamine
    }

    #[test]
    fn truncated_files_end_as_a_skip_or_text() {
        for (name, data) in all_fixtures() {
            for cut in (0..data.len()).step_by((data.len() / 50).max(1)) {
                let _ = assert_survives(name, &format!("cut at {cut}"), &data[..cut]);
            }
        }
    }

    #[test]
    fn bit_flips_end_as_a_skip_or_text() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut calamine_panics = 0;
        for (name, data) in all_fixtures() {
            for round in 0..150 {
                let mut bad = data.clone();
                // Mostly in the header, directory and FAT of small files, anywhere in others.
                for _ in 0..1 + round % 4 {
                    let at = (next() % data.len() as u64) as usize;
                    bad[at] ^= 1 << (next() % 8);
                }
                calamine_panics +=
                    usize::from(assert_survives(name, &format!("round {round}"), &bad));
            }
        }
        eprintln!("calamine panicked (caught) on {calamine_panics} bit-flipped workbooks");
    }

    #[test]
    fn damaged_files_survive_the_worker_pool() {
        let pool = pool(2, Limits::default());
        for (name, data) in all_fixtures() {
            for cut in [data.len() / 3, data.len() / 2, data.len() - 1] {
                let mut terminals = 0;
                pool.walk(&data[..cut], &Filter::default(), &mut |event| {
                    if matches!(
                        event,
                        Event::ItemDone { member: None, .. } | Event::Skipped { member: None, .. }
                    ) {
                        terminals += 1;
                    }
                });
                assert_eq!(terminals, 1, "{name} cut at {cut}");
            }
        }
    }

    /// The sector size, and the offset of the first FAT sector.
    fn fat(data: &[u8]) -> (usize, usize) {
        let size = 1usize << u16::from_le_bytes([data[0x1E], data[0x1F]]);
        let first = u32::from_le_bytes([data[0x4C], data[0x4D], data[0x4E], data[0x4F]]) as usize;
        (size, (first + 1) * size)
    }

    #[test]
    fn hostile_compound_files_are_broken_not_hangs() {
        for (name, data) in all_fixtures() {
            if !data.starts_with(b"\xD0\xCF\x11\xE0") {
                continue;
            }
            let (size, fat_start) = fat(&data);
            // Every chain loops back on itself: each sector of a chain points to itself, and so
            // does the directory's first sector (which is the whole chain in small files).
            let mut looped = data.clone();
            let directory = u32::from_le_bytes(looped[0x30..0x34].try_into().unwrap()) as usize;
            for i in 0..size / 4 {
                let at = fat_start + 4 * i;
                let entry = u32::from_le_bytes(looped[at..at + 4].try_into().unwrap());
                if entry < 0xFFFF_FFFA || i == directory {
                    looped[at..at + 4].copy_from_slice(&(i as u32).to_le_bytes());
                }
            }
            let (reason, detail) = outcome(&looped, &Limits::default());
            assert!(
                reason == "broken_file" || reason == "unsupported_format",
                "{name} with a FAT loop: {reason}: {detail}"
            );
            // Two chains that merge (a sector pointed to twice).
            let mut merged = data.clone();
            for i in 0..size / 4 {
                let at = fat_start + 4 * i;
                let entry = u32::from_le_bytes(merged[at..at + 4].try_into().unwrap());
                if entry < 0xFFFF_FFFA {
                    merged[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
                }
            }
            let _ = assert_survives(name, "merged chains", &merged);
            // A huge declared FAT, a DIFAT chain and a directory past the end.
            let mut huge = data.clone();
            huge[0x2C..0x30].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
            huge[0x44..0x48].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
            huge[0x48..0x4C].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
            let _ = assert_survives(name, "huge counts", &huge);
            let mut lost = data.clone();
            lost[0x30..0x34].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
            let _ = assert_survives(name, "directory past the end", &lost);
        }
    }

    #[test]
    fn a_stream_that_claims_more_than_the_file_is_cut() {
        // The WordDocument stream's directory entry claims 4 GiB.
        let data = fixture("planted.doc");
        let file = cfb::CompoundFile::open(Cursor::new(data.clone())).unwrap();
        let len = file.entry("/WordDocument").unwrap().len();
        drop(file);
        let mut raw = data;
        let name: Vec<u8> = "WordDocument"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let entry = raw
            .windows(name.len())
            .position(|w| w == name.as_slice())
            .unwrap();
        let size_at = entry + 120;
        assert_eq!(
            u32::from_le_bytes(raw[size_at..size_at + 4].try_into().unwrap()) as u64,
            len
        );
        raw[size_at..size_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let _ = assert_survives("planted.doc", "huge stream size", &raw);
    }
}
