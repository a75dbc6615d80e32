//! Text in wide encodings: UTF-16 (little- and big-endian) without a byte-order mark, told by
//! the pattern of NULs in its head, and UTF-32 with a BOM. Each must come out of the walk as
//! exactly the original text, keep its text type (plain, CSV, JSON), and never be streamed as
//! bytes (`is_plain_text`). The heuristic's negative cases (noise, structured binary, the
//! corpus's real binaries) are unit tests of `decode`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod extract_support;

use dlp_extract::{detect, is_plain_text, FileType, Filter, Limits};
use extract_support::events;

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn utf16be(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn utf32le_bom(text: &str) -> Vec<u8> {
    let mut out = b"\xFF\xFE\0\0".to_vec();
    out.extend(text.chars().flat_map(|c| u32::from(c).to_le_bytes()));
    out
}

fn utf32be_bom(text: &str) -> Vec<u8> {
    let mut out = b"\0\0\xFE\xFF".to_vec();
    out.extend(text.chars().flat_map(|c| u32::from(c).to_be_bytes()));
    out
}

/// Every wide encoding under test, by name.
type Encode = fn(&str) -> Vec<u8>;
const ENCODINGS: [(&str, Encode); 4] = [
    ("UTF-16 LE without BOM", utf16le),
    ("UTF-16 BE without BOM", utf16be),
    ("UTF-32 LE with BOM", utf32le_bom),
    ("UTF-32 BE with BOM", utf32be_bom),
];

/// The tests proper, in a module so that `cargo test extract` selects them.
mod extract {
    #![allow(clippy::wildcard_imports)]
    use super::*;

    #[test]
    fn wide_text_is_decoded_to_the_original() {
        let texts = [
            "card 4111 1111 1111 1111\r\nSSN 536-22-8917\r\n".to_string(),
            "Kundin: Zoë Müller, Straße 5\nIBAN DE89 3704 0044 0532 0130 00\nΑθήνα · Київ · 😀\n"
                .to_string(),
            // Long enough that the head is only a sample of it.
            "line with card 4111 1111 1111 1111 and café\n".repeat(2000),
        ];
        for text in &texts {
            for (name, encode) in ENCODINGS {
                let data = encode(text);
                assert_eq!(detect(&data), FileType::Text, "{name}");
                assert!(
                    !is_plain_text(&data),
                    "{name}: must not be streamed as bytes"
                );
                assert_eq!(
                    events(&data, &Limits::default(), &Filter::default()),
                    [format!("text [] (): {text}"), "done [] text".to_string()],
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn wide_text_keeps_its_text_type() {
        let csv = "name,card\nJane,4111 1111 1111 1111\nJohn,5555 5555 5555 4444\n";
        let json = "{\"user\": {\"card\": \"4111 1111 1111 1111\"}}\n";
        for (name, encode) in ENCODINGS {
            assert_eq!(detect(&encode(csv)), FileType::Csv, "{name}");
            assert_eq!(detect(&encode(json)), FileType::Json, "{name}");
            assert_eq!(
                events(&encode(json), &Limits::default(), &Filter::default()),
                [
                    "text [] (): user.card: 4111 1111 1111 1111\n",
                    "done [] json"
                ],
                "{name}"
            );
        }
    }

    #[test]
    fn wide_text_inside_an_archive_is_decoded() {
        let text = "card 4111 1111 1111 1111\n";
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut e, &utf16le(text)).unwrap();
        let data = e.finish().unwrap();
        assert_eq!(
            events(&data, &Limits::default(), &Filter::default()),
            [
                format!("text [content] (): {text}"),
                "done [content] text".into(),
                "done [] gzip".into(),
            ]
        );
    }

    #[test]
    fn byte_text_is_unchanged() {
        // UTF-8 and Latin-1 text are still read as they lie, and streamable.
        for data in [
            &b"card 4111 1111 1111 1111\n"[..],
            b"caf\xE9 4111 1111 1111 1111\n",
        ] {
            assert!(is_plain_text(data));
        }
        // Binary with NULs is still binary: control bytes, 16- and 32-bit counters.
        let controls = b"\x01\x02\x03\x00\x05".repeat(100);
        let u16s: Vec<u8> = (0u16..2000).flat_map(u16::to_le_bytes).collect();
        let u32s: Vec<u8> = (0u32..2000).flat_map(u32::to_le_bytes).collect();
        for data in [controls, u16s, u32s] {
            assert_eq!(detect(&data), FileType::Binary);
        }
    }
}
