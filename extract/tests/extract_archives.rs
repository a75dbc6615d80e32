//! The archive and stream formats 7z, bzip2, xz, Zstandard and tar without `ustar` magic: a
//! planted value is read out of each, through the walk and through the isolating worker pool;
//! bombs end as limit skips without the memory they would inflate to; truncated and garbage
//! input ends as `broken_file`, never as a panic. Archives are written at test time by the
//! formats' own encoders (`bzip2`, `lzma-rust2`, `ruzstd`, `sevenz-rust2`, `tar`); the bombs are
//! committed in `tests/fixtures/` (see its README).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod extract_support;

use std::io::{Cursor, Write};
use std::time::Duration;

use dlp_extract::{detect, Event, FileType, Filter, Limits};
use extract_support::{events, outcome, pool, pool_events};

#[test]
fn extract_worker_entry() {
    extract_support::worker_entry();
}

const CARD: &str = "card 4111 1111 1111 1111\n";

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Each compressed-stream format: its detected type, its name, and its encoder.
type Encoder = fn(&[u8]) -> Vec<u8>;
const STREAMS: [(FileType, &str, Encoder); 3] = [
    (FileType::Bzip2, "bzip2", bzip2),
    (FileType::Xz, "xz", xz),
    (FileType::Zstd, "zstd", zstd),
];

/// A 7z archive written by `sevenz-rust2`: `files` one per block (non-solid), then `solid`
/// in one block, then empty directories and files, with the given content coders.
fn seven_zip(
    files: &[(&str, &[u8])],
    solid: &[(&str, &[u8])],
    methods: Vec<sevenz_rust2::EncoderConfiguration>,
    encrypt_header: bool,
) -> Vec<u8> {
    use sevenz_rust2::{ArchiveEntry, ArchiveWriter, SourceReader};
    let mut writer = ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    writer.set_content_methods(methods);
    writer.set_encrypt_header(encrypt_header);
    for (name, data) in files {
        writer
            .push_archive_entry(ArchiveEntry::new_file(name), Some(*data))
            .unwrap();
    }
    if !solid.is_empty() {
        let entries = solid
            .iter()
            .map(|(n, _)| ArchiveEntry::new_file(n))
            .collect();
        let readers: Vec<SourceReader<&[u8]>> = solid.iter().map(|(_, d)| (*d).into()).collect();
        writer.push_archive_entries(entries, readers).unwrap();
    }
    writer
        .push_archive_entry::<&[u8]>(ArchiveEntry::new_directory("docs"), None)
        .unwrap();
    writer
        .push_archive_entry::<&[u8]>(ArchiveEntry::new_file("docs/empty.txt"), None)
        .unwrap();
    writer.finish().unwrap().into_inner()
}

fn lzma2() -> Vec<sevenz_rust2::EncoderConfiguration> {
    vec![sevenz_rust2::encoder_options::Lzma2Options::from_level(6).into()]
}

fn committed(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The reason and detail of the top-level item's terminal event, from a walk in `pool`.
fn pool_outcome(pool: &dlp_extract::isolate::WorkerPool, data: &[u8]) -> (String, String) {
    let mut last = (String::new(), String::new());
    pool.walk(data, &Filter::default(), &mut |event| match event {
        Event::ItemDone { member: None, .. } => last = ("done".into(), String::new()),
        Event::Skipped {
            member: None,
            reason,
            detail,
        } => last = (reason.as_str().into(), detail.into()),
        _ => {}
    });
    last
}

/// The tests proper, in a module so that `cargo test extract` selects them.
mod extract {
    #![allow(clippy::wildcard_imports)]
    use super::*;

    #[test]
    fn a_planted_value_is_read_out_of_each_stream() {
        for (file_type, name, encode) in STREAMS {
            let data = encode(CARD.as_bytes());
            assert_eq!(detect(&data), file_type, "{name}");
            assert_eq!(
                events(&data, &Limits::default(), &Filter::default()),
                [
                    format!("text [content] (): {CARD}"),
                    "done [content] text".into(),
                    format!("done [] {name}"),
                ],
                "{name}"
            );
        }
    }

    /// Streams written by the reference tools (`bzip2`, `xz`, `zstd`; see the fixtures'
    /// README), and the same with a bit of their integrity check flipped.
    #[test]
    fn streams_of_the_reference_tools_are_read_and_checked() {
        for (file, name) in [
            ("card.bz2", "bzip2"),
            ("card.xz", "xz"),
            ("card.zst", "zstd"),
        ] {
            let data = committed(file);
            assert_eq!(
                events(&data, &Limits::default(), &Filter::default()),
                [
                    format!("text [content] (): {CARD}"),
                    "done [content] text".into(),
                    format!("done [] {name}"),
                ],
                "{file}"
            );
            // bzip2: the combined CRC closes the stream (before at most 7 bits of padding); xz:
            // the block's CRC64 sits before the 8-byte index and the 12-byte footer; zstd: the
            // XXH64 checksum is the frame's last 4 bytes.
            let at = match name {
                "bzip2" => data.len() - 3,
                "xz" => data.len() - 28,
                _ => data.len() - 1,
            };
            let mut bad = data.clone();
            bad[at] ^= 0x01;
            let (reason, detail) = outcome(&bad, &Limits::default());
            assert_eq!(reason, "broken_file", "{file}: {detail}");
        }
    }

    #[test]
    fn concatenated_streams_are_read_whole() {
        let half = |encode: Encoder| {
            let mut data = encode(b"card 4111 1111 ");
            data.extend(encode(b"1111 1111\n"));
            data
        };
        for (_, name, encode) in STREAMS {
            assert_eq!(
                events(&half(encode), &Limits::default(), &Filter::default())[0],
                format!("text [content] (): {CARD}"),
                "{name}"
            );
        }
        // Zstandard: a skippable frame (magic 0x184D2A50, length 4) between the frames.
        let mut data = zstd(b"card 4111 1111 ");
        data.extend([0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]);
        data.extend(zstd(b"1111 1111\n"));
        assert_eq!(
            events(&data, &Limits::default(), &Filter::default())[0],
            format!("text [content] (): {CARD}")
        );
    }

    #[test]
    fn a_tar_inside_each_stream_is_read() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(CARD.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "etc/card.txt", CARD.as_bytes())
            .unwrap();
        let tar = builder.into_inner().unwrap();
        for (_, name, encode) in STREAMS {
            assert_eq!(
                events(&encode(&tar), &Limits::default(), &Filter::default()),
                [
                    format!("text [content/etc/card.txt] (): {CARD}"),
                    "done [content/etc/card.txt] text".into(),
                    "done [content] tar".into(),
                    format!("done [] {name}"),
                ],
                "{name}"
            );
        }
    }

    #[test]
    fn seven_zip_entries_are_nested_items() {
        let big: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let data = seven_zip(
            &[
                ("a/card.txt", CARD.as_bytes()),
                ("../../evil.txt", b"ssn 536-22-8917\n"),
            ],
            &[
                ("solid/one.txt", b"first\n"),
                ("solid/big.txt", &big),
                ("solid/two.txt", b"second\n"),
            ],
            lzma2(),
            false,
        );
        assert_eq!(detect(&data), FileType::SevenZip);
        let got = events(&data, &Limits::default(), &Filter::default());
        let expected_head = [
            format!("text [a/card.txt] (): {CARD}"),
            "done [a/card.txt] text".into(),
            "text [evil.txt] (): ssn 536-22-8917\n".into(),
            "done [evil.txt] text".into(),
            "text [solid/one.txt] (): first\n".into(),
            "done [solid/one.txt] text".into(),
        ];
        assert_eq!(got[..6], expected_head, "{got:?}");
        assert!(
            got[6].starts_with("text [solid/big.txt] (): line 0\nline 1\n"),
            "{got:?}"
        );
        assert_eq!(
            got[7..],
            [
                "done [solid/big.txt] text",
                "text [solid/two.txt] (): second\n",
                "done [solid/two.txt] text",
                "done [docs/empty.txt] text",
                "done [] 7z",
            ],
        );
        // Other coders: BZIP2 and Deflate.
        for method in [
            sevenz_rust2::encoder_options::Bzip2Options::default().into(),
            sevenz_rust2::encoder_options::DeflateOptions::default().into(),
        ] {
            let data = seven_zip(&[("card.txt", CARD.as_bytes())], &[], vec![method], false);
            assert_eq!(
                events(&data, &Limits::default(), &Filter::default())[..2],
                [
                    format!("text [card.txt] (): {CARD}"),
                    "done [card.txt] text".into()
                ]
            );
        }
    }

    #[test]
    fn archives_made_by_7_zip_are_read() {
        let data = committed("7zip-solid.7z");
        assert_eq!(detect(&data), FileType::SevenZip);
        let mut got = events(&data, &Limits::default(), &Filter::default());
        // The order of a solid block's entries is 7-Zip's to choose.
        got.sort();
        assert_eq!(
            got,
            [
                "done [] 7z",
                "done [card.txt] text",
                "done [docs/deep/ssn.txt] text",
                "done [docs/empty.txt] text",
                "text [card.txt] (): card 4111 1111 1111 1111\n",
                "text [docs/deep/ssn.txt] (): SSN 536-22-8917\n",
            ]
        );
        let (reason, detail) = outcome(&committed("7zip-sealed.7z"), &Limits::default());
        assert_eq!(
            (reason.as_str(), detail.as_str()),
            ("encrypted", "encrypted 7z archive")
        );
    }

    #[test]
    fn new_formats_are_read_in_the_workers_with_the_same_events() {
        for t in [
            FileType::SevenZip,
            FileType::Bzip2,
            FileType::Xz,
            FileType::Zstd,
        ] {
            assert!(!t.is_in_process_safe() && t.is_archive(), "{t}");
        }
        let pool = pool(1, Limits::default());
        let seven = seven_zip(&[("card.txt", CARD.as_bytes())], &[], lzma2(), false);
        let inputs = [
            seven,
            bzip2(CARD.as_bytes()),
            xz(CARD.as_bytes()),
            zstd(CARD.as_bytes()),
        ];
        for data in inputs {
            let in_process = events(&data, &Limits::default(), &Filter::default());
            assert!(in_process[0].ends_with(CARD), "{in_process:?}");
            assert_eq!(pool_events(&pool, &data, &Filter::default()), in_process);
        }
    }

    #[test]
    fn a_type_filter_opens_the_new_containers() {
        let filter = Filter {
            file_types: Some(vec![FileType::Csv]),
            ..Filter::default()
        };
        let seven = seven_zip(&[("card.txt", CARD.as_bytes())], &[], lzma2(), false);
        assert_eq!(
            events(&seven, &Limits::default(), &filter),
            [
                "skip [card.txt] filtered_type",
                "skip [docs/empty.txt] filtered_type",
                "done [] 7z"
            ]
        );
        assert_eq!(
            events(&xz(b"a,b\n1,2\n3,4\n"), &Limits::default(), &filter),
            [
                "text [content] (): a,b\n1,2\n3,4\n",
                "done [content] csv",
                "done [] xz"
            ]
        );
    }

    #[test]
    fn encrypted_seven_zip_is_encrypted() {
        let aes = || -> Vec<sevenz_rust2::EncoderConfiguration> {
            vec![
                sevenz_rust2::encoder_options::AesEncoderOptions::new(sevenz_rust2::Password::new(
                    "secret",
                ))
                .into(),
                sevenz_rust2::encoder_options::Lzma2Options::from_level(6).into(),
            ]
        };
        // Names and content encrypted: the archive as a whole.
        let sealed = seven_zip(&[("card.txt", CARD.as_bytes())], &[], aes(), true);
        assert_eq!(detect(&sealed), FileType::SevenZip);
        let (reason, detail) = outcome(&sealed, &Limits::default());
        assert_eq!(reason, "encrypted", "{detail}");
        // Content encrypted, names readable: each entry.
        let open_names = seven_zip(&[("card.txt", CARD.as_bytes())], &[], aes(), false);
        assert_eq!(
            events(&open_names, &Limits::default(), &Filter::default()),
            [
                "skip [card.txt] encrypted",
                "done [docs/empty.txt] text",
                "done [] 7z"
            ]
        );
    }

    /// The committed bombs (1 GiB of zeros each) end as limit skips on the ratio check, in a
    /// worker whose address space (384 MiB) is far below the inflation caps (raised to 2 GiB
    /// here): had a reader held the output until a limit, the worker would have died of it
    /// instead (a different detail).
    #[test]
    fn bombs_end_as_limit_skips_without_the_memory() {
        let limits = Limits {
            max_worker_memory: 384 << 20,
            max_entry_inflated: 2 << 30,
            max_total_inflated: 2 << 30,
            time_per_item: Duration::from_secs(60),
            ..Limits::default()
        };
        let pool = pool(1, limits.clone());
        let bombs = [
            ("zeros-1g.bz2", FileType::Bzip2),
            ("zeros-1g.xz", FileType::Xz),
            ("zeros-1g.zst", FileType::Zstd),
            ("zeros-1g.7z", FileType::SevenZip),
        ];
        for (name, file_type) in bombs {
            let data = committed(name);
            assert_eq!(detect(&data), file_type, "{name}");
            let (reason, detail) = pool_outcome(&pool, &data);
            let expected = if file_type == FileType::SevenZip {
                // The bomb is an entry: the entry is skipped, the archive is read.
                "done"
            } else {
                "limit_exceeded"
            };
            assert_eq!(reason, expected, "{name}: {detail}");
            if file_type != FileType::SevenZip {
                assert!(
                    detail.contains("compression ratio over 250:1"),
                    "{name}: {detail}"
                );
            }
        }
        let got = pool_events(&pool, &committed("zeros-1g.7z"), &Filter::default());
        assert_eq!(got, ["skip [zeros.bin] limit_exceeded", "done [] 7z"]);
        // With the ratio check off, the per-entry inflation cap stops them.
        let capped = Limits {
            max_ratio: u64::MAX,
            max_entry_inflated: 8 << 20,
            ..limits
        };
        for name in ["zeros-1g.bz2", "zeros-1g.xz", "zeros-1g.zst"] {
            let (reason, detail) = outcome(&committed(name), &capped);
            assert_eq!(reason, "limit_exceeded", "{name}: {detail}");
            assert!(
                detail.contains("inflates past 8388608 bytes"),
                "{name}: {detail}"
            );
        }
    }

    /// A 7z whose (valid, checksummed) header declares 2^40 files: `sevenz-rust2` sizes an
    /// allocation by that count, which no `catch_unwind` can stop. In the pool the worker dies
    /// of it and the item is a skip; the pool goes on serving.
    #[test]
    fn a_hostile_seven_zip_header_is_contained_by_the_worker() {
        let crc = |bytes: &[u8]| {
            let mut crc = flate2::Crc::new();
            crc.update(bytes);
            crc.sum()
        };
        // K_HEADER, K_FILES_INFO, the file count as a full 8-byte number, K_END.
        let mut header = vec![0x01, 0x05, 0xFF];
        header.extend((1u64 << 40).to_le_bytes());
        header.push(0x00);
        let mut start = 0u64.to_le_bytes().to_vec();
        start.extend((header.len() as u64).to_le_bytes());
        start.extend(crc(&header).to_le_bytes());
        let mut data = b"7z\xBC\xAF\x27\x1C\x00\x04".to_vec();
        data.extend(crc(&start).to_le_bytes());
        data.extend(start);
        data.extend(header);
        assert_eq!(detect(&data), FileType::SevenZip);
        let pool = pool(1, Limits::default());
        let (reason, detail) = pool_outcome(&pool, &data);
        assert!(
            ["broken_file", "limit_exceeded"].contains(&reason.as_str()),
            "{reason}: {detail}"
        );
        let seven = seven_zip(&[("card.txt", CARD.as_bytes())], &[], lzma2(), false);
        assert_eq!(
            pool_events(&pool, &seven, &Filter::default())[0],
            format!("text [card.txt] (): {CARD}")
        );
    }

    #[test]
    fn truncated_streams_are_broken_files() {
        let text: Vec<u8> = (0..4000u32)
            .flat_map(|i| format!("{i} {CARD}").into_bytes())
            .collect();
        let seven = seven_zip(&[("card.txt", &text)], &[], lzma2(), false);
        let mut inputs: Vec<(&str, Vec<u8>)> = STREAMS
            .iter()
            .map(|&(_, name, encode)| (name, encode(&text)))
            .collect();
        inputs.push(("7z", seven));
        for (name, data) in inputs {
            // From just past the magic to one byte short of the end.
            for cut in (6..data.len()).step_by((data.len() / 60).max(1)) {
                let (reason, detail) = outcome(&data[..cut], &Limits::default());
                assert_eq!(reason, "broken_file", "{name} cut at {cut}: {detail}");
                assert!(
                    !detail.contains("panicked"),
                    "{name} cut at {cut}: {detail}"
                );
            }
            let (reason, detail) = outcome(&data[..data.len() - 1], &Limits::default());
            assert_eq!(reason, "broken_file", "{name} less its last byte: {detail}");
        }
    }

    #[test]
    fn garbage_after_the_magic_never_panics() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut random = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect()
        };
        let magics: [&[u8]; 4] = [
            b"BZh9",
            b"\xFD7zXZ\0",
            b"\x28\xB5\x2F\xFD",
            b"7z\xBC\xAF\x27\x1C",
        ];
        for magic in magics {
            for len in [0, 1, 10, 100, 1000, 20_000] {
                let mut data = magic.to_vec();
                data.extend(random(len));
                let (reason, detail) = outcome(&data, &Limits::default());
                assert_eq!(reason, "broken_file", "{magic:?} + {len}: {detail}");
                assert!(!detail.contains("panicked"), "{magic:?} + {len}: {detail}");
            }
        }
        // Flipped bytes inside valid streams: whatever the outcome, an outcome and no panic.
        let text = CARD.repeat(300);
        let seven = seven_zip(&[("card.txt", text.as_bytes())], &[], lzma2(), false);
        let mut inputs: Vec<Vec<u8>> = STREAMS
            .iter()
            .map(|&(_, _, e)| e(text.as_bytes()))
            .collect();
        inputs.push(seven);
        for data in inputs {
            for at in (4..data.len()).step_by(7) {
                let mut bad = data.clone();
                bad[at] ^= 0x5A;
                let (reason, detail) = outcome(&bad, &Limits::default());
                assert!(
                    !reason.is_empty() && !detail.contains("panicked"),
                    "at {at}: {detail}"
                );
            }
        }
    }

    /// A v7 tar (no `ustar` magic) written by the `tar` crate's old-style headers.
    fn v7_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_old();
        dir.set_size(0);
        dir.set_mode(0o755);
        dir.set_entry_type(tar::EntryType::Regular);
        dir.set_cksum();
        builder.append_data(&mut dir, "etc/", &[][..]).unwrap();
        for (name, data) in files {
            let mut header = tar::Header::new_old();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(1_000_000_000);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn a_tar_without_ustar_magic_is_read() {
        let data = v7_tar(&[
            ("etc/card.txt", CARD.as_bytes()),
            ("etc/ssn.txt", b"SSN 536-22-8917\n"),
        ]);
        assert_ne!(&data[257..262], b"ustar");
        assert_eq!(detect(&data), FileType::Tar);
        assert_eq!(
            events(&data, &Limits::default(), &Filter::default()),
            [
                format!("text [etc/card.txt] (): {CARD}"),
                "done [etc/card.txt] text".into(),
                "text [etc/ssn.txt] (): SSN 536-22-8917\n".into(),
                "done [etc/ssn.txt] text".into(),
                "done [] tar".into(),
            ]
        );
        // Inside a gzip stream, as old `.tar.gz` files are.
        assert_eq!(detect(&gzip(&data)), FileType::Gzip);
        assert!(events(&gzip(&data), &Limits::default(), &Filter::default())
            .contains(&"done [content/etc/ssn.txt] text".to_string()));
    }

    #[test]
    fn a_v7_tar_checksum_is_what_recognises_it() {
        let data = v7_tar(&[("card.txt", CARD.as_bytes())]);
        // A checksum one off: not a tar (and binary, for its NULs).
        let mut bad = data.clone();
        let sum = std::str::from_utf8(&bad[148..154]).unwrap().to_string();
        let off = format!("{:06o}", u32::from_str_radix(&sum, 8).unwrap() + 1);
        bad[148..154].copy_from_slice(off.as_bytes());
        assert_eq!(detect(&bad), FileType::Binary);
        // Old implementations summed signed bytes: a name with high bytes, checksum as such.
        let mut signed = data.clone();
        signed[1] = 0xE9;
        let sum: i64 = signed[..512]
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    i64::from(b as i8)
                }
            })
            .sum();
        signed[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        assert_eq!(detect(&signed), FileType::Tar);
        // A tar whose first member is a PDF is a tar (the PDF marker is in its head).
        let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
        for mut header in [tar::Header::new_old(), tar::Header::new_ustar()] {
            let mut builder = tar::Builder::new(Vec::new());
            header.set_size(pdf.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, "a.pdf", &pdf[..]).unwrap();
            let data = builder.into_inner().unwrap();
            assert_eq!(&data[512..517], b"%PDF-");
            assert_eq!(detect(&data), FileType::Tar);
        }
        // Text that happens to be 512 bytes long is not a tar.
        assert_eq!(detect(CARD.repeat(40).as_bytes()), FileType::Text);
        assert_eq!(detect(&[0u8; 1024]), FileType::Binary);
    }

    /// Writes `tests/fixtures/zeros-1g.7z`: 1 GiB of zeros as one 7z entry `zeros.bin`, coded
    /// with BZIP2 by `sevenz-rust2`'s writer. Run with `-- --ignored make_seven_zip_bomb`.
    #[test]
    #[ignore = "writes the committed 7z bomb fixture"]
    fn make_seven_zip_bomb() {
        use std::io::Read;
        let zeros = std::io::repeat(0).take(1 << 30);
        let mut writer = sevenz_rust2::ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
        writer.set_content_methods(vec![
            sevenz_rust2::encoder_options::Bzip2Options::default().into()
        ]);
        writer
            .push_archive_entry(
                sevenz_rust2::ArchiveEntry::new_file("zeros.bin"),
                Some(zeros),
            )
            .unwrap();
        let data = writer.finish().unwrap().into_inner();
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zeros-1g.7z");
        std::fs::write(path, data).unwrap();
    }

    #[test]
    fn the_committed_bombs_hold_a_gibibyte_of_zeros() {
        // What the fixtures README says they are: checked on their first 4 MiB (the whole
        // stream would take seconds to inflate in a test).
        use std::io::Read;
        let head = |mut reader: Box<dyn Read>| {
            let mut buf = vec![1u8; 4 << 20];
            reader.read_exact(&mut buf).unwrap();
            assert!(buf.iter().all(|&b| b == 0));
        };
        head(Box::new(bzip2::read::BzDecoder::new(Cursor::new(
            committed("zeros-1g.bz2"),
        ))));
        head(Box::new(lzma_rust2::XzReader::new(
            Cursor::new(committed("zeros-1g.xz")),
            false,
        )));
        head(Box::new(
            ruzstd::decoding::StreamingDecoder::new(Cursor::new(committed("zeros-1g.zst")))
                .unwrap(),
        ));
        let archive = sevenz_rust2::Archive::read(
            &mut Cursor::new(committed("zeros-1g.7z")),
            &sevenz_rust2::Password::empty(),
        )
        .unwrap();
        assert_eq!(archive.files.len(), 1);
        assert_eq!(archive.files[0].size(), 1 << 30);
    }

    #[test]
    fn new_type_names_and_aliases_parse() {
        for (name, t) in [
            ("7z", FileType::SevenZip),
            ("bzip2", FileType::Bzip2),
            ("bz2", FileType::Bzip2),
            ("xz", FileType::Xz),
            ("txz", FileType::Xz),
            ("zstd", FileType::Zstd),
            ("zst", FileType::Zstd),
        ] {
            assert_eq!(name.parse::<FileType>(), Ok(t), "{name}");
        }
    }
}
