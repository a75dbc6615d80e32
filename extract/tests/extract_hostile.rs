//! Generated hostile inputs: each must end as a skip with the right reason, within its limits,
//! without taking the process down. Cases that can crash a parser's stack run in the pool.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod extract_support;

use std::io::Write;
use std::time::{Duration, Instant};

use dlp_extract::{Filter, Limits};
use extract_support::{events, outcome, pool, pool_events};

#[test]
fn extract_worker_entry() {
    extract_support::worker_entry();
}

/// The tests proper, in a module so that `cargo test extract` selects them.
mod extract {
    #![allow(clippy::wildcard_imports)]
    use super::*;

    /// One entry for [`zip`]: name, content, whether to deflate it, and a declared size that lies.
    struct Entry<'a> {
        name: &'a str,
        data: Vec<u8>,
        deflate: bool,
        declared: Option<u32>,
        flags: u16,
    }

    fn entry(name: &str, data: impl Into<Vec<u8>>) -> Entry<'_> {
        Entry {
            name,
            data: data.into(),
            deflate: true,
            declared: None,
            flags: 0,
        }
    }

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// A minimal ZIP writer, so that tests can build archives real tools refuse to make.
    /// `alias` makes the central directory list every entry once more, pointing at the first
    /// entry's local header (overlapping entries).
    fn zip_with(entries: &[Entry<'_>], alias: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        let mut count = 0u32;
        for e in entries {
            let offset = out.len() as u32;
            let body = if e.deflate {
                deflate(&e.data)
            } else {
                e.data.clone()
            };
            let method: u16 = if e.deflate { 8 } else { 0 };
            let size = e.declared.unwrap_or(e.data.len() as u32);
            let header = |sig: u32, extra_central: bool| {
                let mut h = Vec::new();
                h.extend_from_slice(&sig.to_le_bytes());
                if extra_central {
                    h.extend_from_slice(&20u16.to_le_bytes());
                }
                h.extend_from_slice(&20u16.to_le_bytes());
                h.extend_from_slice(&e.flags.to_le_bytes());
                h.extend_from_slice(&method.to_le_bytes());
                h.extend_from_slice(&[0; 4]); // time, date
                h.extend_from_slice(&[0; 4]); // crc (not checked)
                h.extend_from_slice(&(body.len() as u32).to_le_bytes());
                h.extend_from_slice(&size.to_le_bytes());
                h.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
                h.extend_from_slice(&0u16.to_le_bytes());
                h
            };
            out.extend(header(0x0403_4b50, false));
            out.extend_from_slice(e.name.as_bytes());
            out.extend_from_slice(&body);
            let mut c = header(0x0201_4b50, true);
            c.extend_from_slice(&[0; 6]); // comment len, disk, internal attrs
            c.extend_from_slice(&[0; 4]); // external attrs
            c.extend_from_slice(&offset.to_le_bytes());
            c.extend_from_slice(e.name.as_bytes());
            central.extend_from_slice(&c);
            count += 1;
            if alias {
                let mut c2 = c.clone();
                let at = c2.len() - e.name.len() - 4;
                c2[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
                central.extend_from_slice(&c2);
                count += 1;
            }
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
        let n = count.min(0xFFFF) as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    fn zip(entries: &[Entry<'_>]) -> Vec<u8> {
        zip_with(entries, false)
    }

    #[test]
    fn nested_zip_bomb_stops_at_the_depth_limit() {
        let mut data = zip(&[entry("secret.txt", "deepest")]);
        for level in 0..15 {
            data = zip(&[entry(&format!("level{level}.zip"), data)]);
        }
        let got = events(&data, &Limits::default(), &Filter::default());
        assert!(got.iter().any(|e| e.ends_with("limit_exceeded")), "{got:?}");
        assert!(!got.iter().any(|e| e.contains("deepest")), "{got:?}");
        assert_eq!(got.last().map(String::as_str), Some("done [] zip"));
    }

    #[test]
    fn wide_zip_bomb_stops_at_the_total_budget() {
        // Ten members of 2 MiB each (honest sizes, modest ratio thanks to random-ish content)
        // against an 8 MiB walk budget.
        let member: Vec<u8> = (0..2u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let names: Vec<String> = (0..10).map(|i| format!("m{i}.bin")).collect();
        let entries: Vec<Entry<'_>> = names.iter().map(|n| entry(n, member.clone())).collect();
        let limits = Limits {
            max_total_inflated: 8 << 20,
            ..Limits::default()
        };
        let got = events(&zip(&entries), &limits, &Filter::default());
        let over = got.iter().filter(|e| e.ends_with("limit_exceeded")).count();
        assert!(over >= 6, "{got:?}");
    }

    #[test]
    fn high_ratio_entry_is_refused() {
        let data = zip(&[entry("zeros.txt", vec![b'0'; 8 << 20])]);
        let got = events(&data, &Limits::default(), &Filter::default());
        assert_eq!(got, ["skip [zeros.txt] limit_exceeded", "done [] zip"]);
    }

    #[test]
    fn overlapping_entries_are_refused() {
        let data = zip_with(&[entry("a.txt", "aaaa"), entry("b.txt", "bbbb")], true);
        assert_eq!(outcome(&data, &Limits::default()).0, "limit_exceeded");
    }

    #[test]
    fn a_hundred_thousand_entries_are_refused_before_reading() {
        let names: Vec<String> = (0..100_000).map(|i| format!("{i}")).collect();
        let entries: Vec<Entry<'_>> = names
            .iter()
            .map(|n| Entry {
                deflate: false,
                ..entry(n, "")
            })
            .collect();
        let data = zip(&entries);
        let started = Instant::now();
        let (reason, detail) = outcome(&data, &Limits::default());
        assert_eq!(reason, "limit_exceeded", "{detail}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn lying_sizes_are_not_trusted() {
        let data = zip(&[
            Entry {
                declared: Some(10),
                ..entry("small-claim.txt", vec![b'x'; 100_000])
            },
            Entry {
                declared: Some(u32::MAX - 1),
                ..entry("huge-claim.txt", "tiny")
            },
            Entry {
                deflate: false,
                declared: Some(3),
                ..entry("stored-lie.txt", "0123456789")
            },
            entry("honest.txt", "ok"),
        ]);
        let got = events(&data, &Limits::default(), &Filter::default());
        assert_eq!(
            got,
            [
                "skip [small-claim.txt] broken_file",
                "skip [huge-claim.txt] limit_exceeded",
                "skip [stored-lie.txt] broken_file",
                "text [honest.txt] (): ok",
                "done [honest.txt] text",
                "done [] zip",
            ]
        );
    }

    #[test]
    fn truncated_entry_data_is_broken() {
        let mut data = zip(&[entry("a.txt", vec![b'a'; 1000])]);
        // Claim a compressed size past the end of the archive in the central directory.
        let cd = data.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        data[cd + 20..cd + 24].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes());
        assert_eq!(
            events(&data, &Limits::default(), &Filter::default()),
            ["skip [a.txt] broken_file", "done [] zip"]
        );
    }

    /// Nothing is written to disk, so a traversal name cannot escape; the member is reported under
    /// its normalised path and still inspected (skipping it would let a name hide data).
    #[test]
    fn path_traversal_names_are_normalised_and_inspected() {
        let data = zip(&[
            entry("../../etc/passwd", "root"),
            entry("/abs/key.txt", "abs"),
            entry("C:\\Windows\\win.ini", "ini"),
        ]);
        let got = events(&data, &Limits::default(), &Filter::default());
        assert_eq!(
            got,
            [
                "text [etc/passwd] (): root",
                "done [etc/passwd] text",
                "text [abs/key.txt] (): abs",
                "done [abs/key.txt] text",
                "text [Windows/win.ini] (): ini",
                "done [Windows/win.ini] text",
                "done [] zip",
            ]
        );
    }

    #[test]
    fn encrypted_zip_entry_is_reported() {
        let data = zip(&[Entry {
            flags: 1,
            ..entry("locked.txt", "secret")
        }]);
        assert_eq!(
            events(&data, &Limits::default(), &Filter::default()),
            ["skip [locked.txt] encrypted", "done [] zip"]
        );
    }

    const CONTENT_TYPES: &str = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#;

    fn docx_with(document: &str) -> Vec<u8> {
        zip(&[
            entry("[Content_Types].xml", CONTENT_TYPES),
            entry("word/document.xml", document),
        ])
    }

    #[test]
    fn xml_bomb_in_an_ooxml_part_is_refused() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"#;
        let (reason, detail) = outcome(&docx_with(bomb), &Limits::default());
        assert_eq!(reason, "limit_exceeded", "{detail}");
        assert!(detail.contains("DTD"), "{detail}");
    }

    #[test]
    fn deeply_nested_xml_in_an_ooxml_part_is_refused() {
        let deep = format!("<w:document>{}</w:document>", "<w:p>".repeat(100_000));
        let (reason, detail) = outcome(&docx_with(&deep), &Limits::default());
        assert_eq!(reason, "limit_exceeded", "{detail}");
    }

    #[test]
    fn encrypted_office_document_is_reported() {
        // An OLE compound file whose directory names the EncryptionInfo stream.
        let mut data = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        data.extend(vec![0u8; 504]);
        data.extend("EncryptionInfo".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(outcome(&data, &Limits::default()).0, "encrypted");
    }

    #[test]
    fn a_compound_file_without_a_readable_directory_is_broken() {
        // Only the name of a Word stream, no directory: detected as a Word document by the
        // name, and broken once read.
        let mut data = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        data.extend(vec![0u8; 504]);
        data.extend("WordDocument".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(dlp_extract::detect(&data), dlp_extract::FileType::Doc);
        assert_eq!(outcome(&data, &Limits::default()).0, "broken_file");
    }

    /// A PDF from numbered objects, with a correct cross-reference table.
    fn pdf(objects: &[String], trailer_extra: &str) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend(format!("{} 0 obj\n{}\nendobj\n", i + 1, body).bytes());
        }
        let xref = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
        for offset in offsets {
            out.extend(format!("{offset:010} 00000 n \n").bytes());
        }
        out.extend(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R {trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .bytes(),
        );
        out
    }

    fn short_limits() -> Limits {
        Limits {
            time_per_item: Duration::from_secs(1),
            max_worker_memory: 1 << 30,
            ..Limits::default()
        }
    }

    #[test]
    fn deeply_nested_pdf_objects_end_as_a_skip() {
        let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        let data = pdf(
            &[
                "<< /Type /Catalog /Pages 2 0 R >>".into(),
                "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
                format!("<< /Type /Page /Parent 2 0 R /Deep {deep} >>"),
            ],
            "",
        );
        let pool = pool(1, short_limits());
        let started = Instant::now();
        let got = pool_events(&pool, &data, &Filter::default());
        assert!(started.elapsed() < Duration::from_secs(4));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            ["skip [] broken_file", "skip [] limit_exceeded"].contains(&got[0].as_str()),
            "{got:?}"
        );
        // The pool recovers: the next item is read by a fresh worker.
        let ok = pool_events(
            &pool,
            &extract_support::fixture("sample.pdf"),
            &Filter::default(),
        );
        assert_eq!(ok.last().map(String::as_str), Some("done [] pdf"));
    }

    #[test]
    fn a_page_that_is_its_own_parent_ends_as_a_skip() {
        let data = pdf(
            &[
                "<< /Type /Catalog /Pages 2 0 R >>".into(),
                "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
                "<< /Type /Page /Parent 3 0 R /Kids [3 0 R] /Contents 4 0 R >>".into(),
                "<< /Length 22 >>\nstream\nBT /F1 12 Tf (x) Tj ET\nendstream".into(),
            ],
            "",
        );
        let pool = pool(1, short_limits());
        let started = Instant::now();
        let got = pool_events(&pool, &data, &Filter::default());
        assert!(started.elapsed() < Duration::from_secs(4));
        let last = got.last().cloned().unwrap_or_default();
        assert!(
            [
                "skip [] broken_file",
                "skip [] timeout",
                "skip [] limit_exceeded"
            ]
            .contains(&last.as_str()),
            "{got:?}"
        );
    }

    #[test]
    fn encrypted_pdf_is_reported() {
        let data = pdf(
        &[
            "<< /Type /Catalog /Pages 2 0 R >>".into(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
            "<< /Type /Page /Parent 2 0 R >>".into(),
            format!(
                "<< /Filter /Standard /V 1 /R 2 /O <{o}> /U <{u}> /P -4 >>",
                o = "11".repeat(32),
                u = "22".repeat(32)
            ),
        ],
        "/Encrypt 4 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]",
    );
        let pool = pool(1, short_limits());
        assert_eq!(
            pool_events(&pool, &data, &Filter::default()),
            ["skip [] encrypted"]
        );
    }

    #[test]
    fn a_worker_out_of_memory_is_limit_exceeded() {
        // Concatenated gzip members of zeros: 200 MiB inflated from a few hundred KiB, with the
        // ratio and size limits lifted so that only the worker's 128 MiB address-space cap stops it.
        let mut one = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        one.write_all(&vec![0u8; 1 << 20]).unwrap();
        let one = one.finish().unwrap();
        let data: Vec<u8> = one.iter().copied().cycle().take(one.len() * 200).collect();
        let limits = Limits {
            max_ratio: u64::MAX,
            max_entry_inflated: 1 << 40,
            max_total_inflated: 1 << 40,
            max_worker_memory: 128 << 20,
            time_per_item: Duration::from_secs(20),
            ..Limits::default()
        };
        let pool = pool(1, limits);
        let mut got = Vec::new();
        pool.walk(&data, &Filter::default(), &mut |event| {
            got.push(format!("{event:?}"));
        });
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("LimitExceeded"), "{got:?}");
    }

    #[test]
    fn the_walk_deadline_is_a_timeout() {
        let limits = Limits {
            time_per_item: Duration::ZERO,
            ..Limits::default()
        };
        assert_eq!(outcome(b"plain text", &limits).0, "timeout");
    }

    #[test]
    fn garbage_never_panics() {
        // Truncations of every fixture: each prefix must end with a terminal event for the top level.
        for name in [
            "sample.docx",
            "sample.xlsx",
            "sample.pptx",
            "sample.odt",
            "sample.zip",
            "sample.eml",
            "sample.tar.gz",
        ] {
            let data = extract_support::fixture(name);
            for cut in (0..data.len()).step_by((data.len() / 40).max(1)) {
                let (reason, _) = outcome(&data[..cut], &Limits::default());
                assert!(!reason.is_empty(), "{name} cut at {cut}");
            }
        }
    }
}

#[test]
fn lazy_pool_starts_no_worker_until_needed_and_names_a_bad_command() {
    use dlp_extract::isolate::WorkerPool;
    use dlp_extract::SkipReason;
    // A command that cannot start: plain text never needs it; a PDF becomes a clear skip.
    let pool = WorkerPool::new_lazy(
        std::process::Command::new("/nonexistent/dlp-worker"),
        1,
        Limits::default(),
    );
    let mut events = Vec::new();
    pool.walk(b"plain text 4111", &Filter::default(), &mut |e| {
        events.push(format!("{e:?}"))
    });
    assert!(events.iter().any(|e| e.contains("ItemDone")), "{events:?}");
    let mut skipped = None;
    pool.walk(
        &extract_support::fixture("sample.pdf"),
        &Filter::default(),
        &mut |e| {
            if let dlp_extract::Event::Skipped { reason, detail, .. } = e {
                skipped = Some((reason, detail.to_string()));
            }
        },
    );
    let (reason, detail) = skipped.expect("a skip");
    assert_eq!(reason, SkipReason::BrokenFile);
    assert!(
        detail.contains("could not start an extraction worker"),
        "{detail}"
    );
}
