//! The PDF reader's fixes, one test each: PDFs written in the test (small, hand-built, with a
//! correct cross-reference table unless the test breaks it), and a few files of the public
//! corpus (`../shared/corpus/pdf`, read in place; those tests skip when it is absent).
//! Hostile ones go through the isolating worker pool, the others through an in-process walk.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod extract_support;

use std::time::Duration;

use dlp_extract::{Filter, Limits};
use extract_support::{events, outcome, pool, pool_events, repo_path};

#[test]
fn extract_worker_entry() {
    extract_support::worker_entry();
}

/// A PDF from numbered objects (object 1 is the catalog), with a correct cross-reference
/// table; `stream` objects are written as given.
fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    out
}

fn stream(dict: &str, content: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dict} /Length {} >>\nstream\n", content.len()).into_bytes();
    out.extend(content);
    out.extend(b"\nendstream");
    out
}

/// A one-page document drawing `content` with Helvetica as /F1 (object 4) and `extra` objects
/// from number 6 on; `page_extra` goes into the page dictionary, `catalog_extra` into the
/// catalog's.
fn one_page(content: &[u8], page_extra: &str, catalog_extra: &str, extra: &[Vec<u8>]) -> Vec<u8> {
    let mut objects = vec![
        format!("<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>").into_bytes(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R {page_extra} >>"
        )
        .into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
        stream("", content),
    ];
    objects.extend(extra.iter().cloned());
    pdf(&objects)
}

/// The text segments of an in-process walk, as `location: text` lines.
fn texts(data: &[u8]) -> Vec<String> {
    events(data, &Limits::default(), &Filter::default())
        .into_iter()
        .filter_map(|e| e.strip_prefix("text [] ").map(str::to_string))
        .collect()
}

fn corpus(name: &str) -> Option<Vec<u8>> {
    let path = repo_path("../shared/corpus/pdf").join(name);
    match std::fs::read(&path) {
        Ok(data) => Some(data),
        Err(_) => {
            eprintln!("{} not found: skipped", path.display());
            None
        }
    }
}

const HELLO: &[u8] = b"BT /F1 12 Tf 72 700 Td (Card 4111 1111 1111 1111) Tj ET";

#[test]
fn a_plain_page_is_read() {
    let data = one_page(HELLO, "", "", &[]);
    assert_eq!(texts(&data), ["(page 1): Card 4111 1111 1111 1111"]);
    assert_eq!(outcome(&data, &Limits::default()).0, "done");
}

#[test]
fn bytes_before_the_header_are_tolerated() {
    let mut data = b"From: a mail gateway\r\nContent-Type: application/pdf\r\n\r\n".to_vec();
    data.extend(one_page(HELLO, "", "", &[]));
    assert_eq!(texts(&data), ["(page 1): Card 4111 1111 1111 1111"]);
}

#[test]
fn a_broken_startxref_is_repaired_by_scanning_for_objects() {
    let data = one_page(HELLO, "", "", &[]);
    let text = String::from_utf8_lossy(&data).into_owned();
    let at = text.rfind("startxref\n").unwrap() + "startxref\n".len();
    let mut broken = data[..at].to_vec();
    broken.extend(b"999999\n%%EOF\n");
    assert_eq!(texts(&broken), ["(page 1): Card 4111 1111 1111 1111"]);
    // Every offset of the table wrong, and junk before the header too.
    let mut shifted = b"junk".to_vec();
    shifted.extend(&data);
    let xref = String::from_utf8_lossy(&shifted).find("xref\n").unwrap();
    let table: String = String::from_utf8_lossy(&shifted[xref..])
        .lines()
        .map(|l| {
            if l.ends_with(" n ") || l.ends_with(" n") {
                "0000000003 00000 n ".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut bad_offsets = shifted[..xref].to_vec();
    bad_offsets.extend(table.bytes());
    assert_eq!(texts(&bad_offsets), ["(page 1): Card 4111 1111 1111 1111"]);
}

#[test]
fn a_stream_with_a_wrong_length_is_read_to_endstream() {
    let data = one_page(HELLO, "", "", &[]);
    let broken = String::from_utf8_lossy(&data)
        .replace(&format!("/Length {} >>", HELLO.len()), "/Length 7 >>");
    assert_eq!(
        texts(broken.as_bytes()),
        ["(page 1): Card 4111 1111 1111 1111"]
    );
}

#[test]
fn form_field_values_and_annotation_text_are_read() {
    let data = one_page(
        HELLO,
        "/Annots [6 0 R 8 0 R]",
        "/AcroForm << /Fields [6 0 R 7 0 R] >>",
        &[
            // 6: a text field whose widget is on the page, without an appearance.
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (ssn) /V (123-45-6789) /Rect [72 600 300 620] /P 3 0 R >>".to_vec(),
            // 7: a field with kids: a choice with several values, one UTF-16 value.
            b"<< /T (group) /Kids [9 0 R] >>".to_vec(),
            // 8: a sticky note.
            b"<< /Type /Annot /Subtype /Text /Rect [10 10 20 20] /Contents (Call me: jane@example.com) >>".to_vec(),
            // 9: the kid of 7.
            b"<< /Parent 7 0 R /T (choice) /V [(first) <FEFF0073006500630072006500740032>] >>".to_vec(),
        ],
    );
    let got = texts(&data);
    assert!(
        got.contains(&"(page 1 annotations): Call me: jane@example.com".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"(form fields): 123-45-6789\nfirst\nsecret2".to_string()),
        "{got:?}"
    );
}

#[test]
fn filled_fields_drawn_by_their_appearance_are_page_text() {
    let appearance = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 200 20] /Resources << /Font << /F1 4 0 R >> >>",
        b"/Tx BMC BT /F1 10 Tf 2 5 Td (Jane Doe) Tj ET EMC",
    );
    let data = one_page(
        HELLO,
        "/Annots [6 0 R]",
        "",
        &[
            b"<< /Type /Annot /Subtype /Widget /Rect [72 500 272 520] /AP << /N 7 0 R >> >>"
                .to_vec(),
            appearance,
        ],
    );
    assert_eq!(
        texts(&data),
        ["(page 1): Card 4111 1111 1111 1111\nJane Doe"]
    );
}

#[test]
fn a_user_password_is_encrypted_and_an_empty_one_is_decrypted() {
    // qpdf's test files: the first needs the user password "view"; the second has only an
    // owner password, so the empty user password opens it.
    if let Some(data) = corpus("qpdf/enc-R2,V1,U=view,O=master.pdf") {
        let pool = pool(1, Limits::default());
        assert_eq!(
            pool_events(&pool, &data, &Filter::default()),
            ["skip [] encrypted"]
        );
    }
    if let Some(data) = corpus("qpdf/enc-R2,V1,O=master.pdf") {
        let (reason, detail) = outcome(&data, &Limits::default());
        assert_eq!(reason, "done", "{detail}");
        assert!(!texts(&data).is_empty());
    }
}

#[test]
fn an_image_only_page_is_no_text() {
    let data = one_page(
        b"q 200 0 0 100 72 600 cm /Im1 Do Q",
        "",
        "",
        &[stream(
            "/Type /XObject /Subtype /Image /Width 2 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8",
            b"\x00\xff",
        )],
    );
    let data = String::from_utf8_lossy(&data)
        .replace("/Font << /F1 4 0 R >>", "/XObject << /Im1 6 0 R >>")
        .into_bytes();
    let (reason, detail) = outcome(&data, &Limits::default());
    assert_eq!(reason, "no_text", "{detail}");
    assert!(detail.contains("1 page"), "{detail}");
}

#[test]
fn ligatures_are_nfkc_normalised() {
    // Font 4: code 1 is the glyph `fi` (U+FB01) by /Differences. Font 6: its ToUnicode CMap
    // (7) maps code 2 to U+FB02 (fl).
    let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <00> <FF> endcodespacerange\n1 beginbfchar <02> <FB02> endbfchar\nendcmap end end";
    let objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R /F2 6 0 R >> >> /Contents 5 0 R >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /BaseEncoding /WinAnsiEncoding /Differences [1 /fi] >> >>".to_vec(),
        stream("", b"BT /F1 12 Tf 72 700 Td (\\001nd the ) Tj /F2 12 Tf (\\002ow) Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 7 0 R >>".to_vec(),
        stream("", cmap),
    ];
    assert_eq!(texts(&pdf(&objects)), ["(page 1): find the flow"]);
}

#[test]
fn words_come_from_positions_not_from_operators() {
    // Kerning inside a word keeps it whole; a wide TJ gap, or a move, separates words; text
    // drawn glyph by glyph is one word; letter spacing wider than a word gap splits letters
    // (as pdftotext does).
    let content = b"BT /F1 12 Tf 72 700 Td [(Te) 30 (st) -20 (ing) -400 (DOCUMENT) -600 (NO.)] TJ \
        300 0 Td (DATE) Tj ET \
        BT /F1 12 Tf 72 650 Td (A) Tj 8 0 Td (B) Tj 8.004 0 Td (C) Tj ET \
        BT /F1 12 Tf 6 Tc 72 600 Td (x y) Tj ET";
    let data = one_page(content, "", "", &[]);
    assert_eq!(
        texts(&data),
        ["(page 1): Testing DOCUMENT NO.   DATE\nABC\nx y"]
    );
}

#[test]
fn identity_h_fonts_are_read_through_to_unicode() {
    let cmap = b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n1 beginbfrange <0024> <003D> <0041> endbfrange";
    let objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_vec(),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Noto /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>".to_vec(),
        stream("", b"BT /F1 10 Tf 72 700 Td <0036002C0031> Tj ET"),
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+Noto /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 600 >>".to_vec(),
        stream("", cmap),
    ];
    assert_eq!(texts(&pdf(&objects)), ["(page 1): SIN"]);
}

#[test]
fn a_form_that_draws_itself_ends() {
    // Form 6 draws itself and form 7, which draws 6 again: the recursion stops at the cycle
    // and the depth cap, the page's own text is kept.
    let data = one_page(
        b"BT /F1 12 Tf 72 700 Td (outside) Tj ET /X1 Do",
        "",
        "",
        &[
            stream(
                "/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X1 6 0 R /X2 7 0 R >> /Font << /F1 4 0 R >> >>",
                b"/X1 Do /X2 Do BT /F1 12 Tf 72 600 Td (inside) Tj ET",
            ),
            stream(
                "/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X1 6 0 R >> >>",
                b"/X1 Do",
            ),
        ],
    );
    let data = String::from_utf8_lossy(&data)
        .replace(
            "/Font << /F1 4 0 R >> >> /Contents",
            "/Font << /F1 4 0 R >> /XObject << /X1 6 0 R >> >> /Contents",
        )
        .into_bytes();
    let limits = Limits {
        time_per_item: Duration::from_secs(5),
        max_worker_memory: 1 << 30,
        ..Limits::default()
    };
    let pool = pool(1, limits);
    let got = pool_events(&pool, &data, &Filter::default());
    assert_eq!(got, ["text [] (page 1): outside\ninside", "done [] pdf"]);
}

#[test]
fn corpus_files_for_each_repair() {
    // pdf.js's and qpdf's test files for the same cases, where pdftotext reads them too.
    for (name, expected) in [
        (
            "pdfjs/issue6069.pdf",
            "Missing value for startxref and junk before magic header",
        ),
        ("pdfjs/issue6108.pdf", "ASCIIHexDecode filter"),
        (
            "pdfjs/issue4304.pdf",
            "Words that should have spaces between them.",
        ),
        (
            "pdfjs/operator-in-TJ-array.pdf",
            "Grandes Clientèles, Financements et Marchés",
        ),
        ("qpdf/tokens.pdf", "Potato"),
    ] {
        let Some(data) = corpus(name) else { continue };
        let got = texts(&data).join("\n");
        assert!(got.contains(expected), "{name}: {got:?}");
    }
}
