//! OCR of PDF pages without a text layer, through the isolated worker pool and a real
//! Tesseract: PDFs written in the test with `lopdf`, each page drawing one picture of text
//! with planted values (rendered with Debian's DejaVu Sans by `ab_glyph`): a JPEG
//! (`/DCTDecode`), deflated 8-bit gray samples drawn through a form XObject, a one-bit image
//! mask; a PDF with a text page and an image-only page; then the outcomes without OCR (off, no
//! Tesseract, in-process) and an image declaring 100,000 x 100,000 pixels.
//!
//! Tests that need Tesseract fail (never pass silently) when it is missing, naming the
//! install command.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod extract_support;

use std::io::{Cursor, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use dlp_extract::isolate::WorkerPool;
use dlp_extract::{walk, Event, Filter, Limits};
use image::codecs::jpeg::JpegEncoder;
use image::GrayImage;
use lopdf::{dictionary, Document, Object, Stream};

use extract_support::OCR_INSTALL as INSTALL;
const CARD: &str = "4111 1111 1111 1111";
const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

#[test]
fn extract_worker_entry() {
    extract_support::worker_entry();
}

/// What a walk gave: OCR segments `(location, text)`, plain text segments `(location, text)`,
/// and the top-level outcome (`done` or the skip reason, and its detail).
#[derive(Debug, Default)]
struct Walked {
    ocr: Vec<(String, String)>,
    text: Vec<(String, String)>,
    outcome: (String, String),
}

impl Walked {
    fn ocr_at(&self, location: &str) -> String {
        self.ocr
            .iter()
            .filter(|(at, _)| at == location)
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn record(walked: &mut Walked, event: Event<'_>) {
    match event {
        Event::OcrText { location, text, .. } => walked
            .ocr
            .push((location.unwrap_or("").into(), text.into())),
        Event::Text { location, text, .. } => walked
            .text
            .push((location.unwrap_or("").into(), text.into())),
        Event::ItemDone { member: None, .. } => walked.outcome = ("done".into(), String::new()),
        Event::Skipped {
            member: None,
            reason,
            detail,
        } => walked.outcome = (reason.as_str().into(), detail.into()),
        _ => {}
    }
}

fn walk_pool(pool: &WorkerPool, data: &[u8]) -> Walked {
    let mut walked = Walked::default();
    pool.walk(data, &Filter::default(), &mut |e| record(&mut walked, e));
    walked
}

/// Whether `text` holds `value`; a card number's groups may come out regrouped.
fn recognised(text: &str, value: &str) -> bool {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    if value == CARD {
        return squeeze(text).contains(&squeeze(CARD));
    }
    text.contains(value)
}

// ---------------------------------------------------------------------------------------
// Pictures and PDFs

/// Black text in DejaVu Sans at `px` pixels on white, with a margin.
fn render(lines: &[&str], px: f32) -> GrayImage {
    let path = Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: these tests render text with Debian's DejaVu fonts: `{INSTALL}`",
            path.display()
        )
    });
    let font = FontVec::try_from_vec(bytes).unwrap();
    let scaled = font.as_scaled(PxScale::from(px));
    let line_height = (scaled.height() + scaled.line_gap()).max(px * 1.2);
    let advance = |line: &str| -> f32 {
        line.chars()
            .map(|c| scaled.h_advance(scaled.glyph_id(c)))
            .sum()
    };
    let margin = (px * 1.5) as u32;
    let width = lines.iter().map(|l| advance(l)).fold(0.0, f32::max).ceil() as u32 + 2 * margin;
    let height = (line_height * lines.len() as f32).ceil() as u32 + 2 * margin;
    let mut image = GrayImage::from_pixel(width, height, image::Luma([255]));
    for (row, line) in lines.iter().enumerate() {
        let baseline = margin as f32 + scaled.ascent() + line_height * row as f32;
        let mut x = margin as f32;
        for c in line.chars() {
            let id = scaled.glyph_id(c);
            let glyph = id.with_scale_and_position(px, ab_glyph::point(x, baseline));
            x += scaled.h_advance(id);
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let (px_x, px_y) = (
                    bounds.min.x as i64 + gx as i64,
                    bounds.min.y as i64 + gy as i64,
                );
                if px_x >= 0 && px_y >= 0 && px_x < width as i64 && px_y < height as i64 {
                    let pixel = image.get_pixel_mut(px_x as u32, px_y as u32);
                    pixel.0[0] = (f32::from(pixel.0[0]) * (1.0 - coverage)).round() as u8;
                }
            });
        }
    }
    image
}

fn planted() -> GrayImage {
    render(
        &[
            &format!("Card number: {CARD}"),
            &format!("Access key: {AWS_KEY}"),
        ],
        32.0,
    )
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// How a page's picture is stored.
#[derive(Clone, Copy, Debug)]
enum Stored {
    /// `/DCTDecode`, RGB.
    Jpeg,
    /// `/FlateDecode`, 8-bit `/DeviceGray`, drawn by a form XObject that the page draws.
    FlateGrayInForm,
    /// A one-bit `/ImageMask` (bits 0 paint), uncompressed.
    Mask,
}

/// What a page holds.
enum Content {
    /// A line of text in Helvetica.
    Text(&'static str),
    /// A picture and nothing else.
    Picture(Stored, GrayImage),
    /// An image declaring `width` x `height` pixels with only a few bytes of data.
    Claimed(u32, u32),
}

fn image_stream(stored: Stored, picture: &GrayImage) -> Stream {
    let (w, h) = (i64::from(picture.width()), i64::from(picture.height()));
    match stored {
        Stored::Jpeg => {
            let rgb = image::DynamicImage::ImageLuma8(picture.clone()).to_rgb8();
            let mut jpeg = Cursor::new(Vec::new());
            JpegEncoder::new_with_quality(&mut jpeg, 90)
                .encode_image(&rgb)
                .unwrap();
            Stream::new(
                dictionary! {
                    "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
                    "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
                },
                jpeg.into_inner(),
            )
        }
        Stored::FlateGrayInForm => Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "FlateDecode",
            },
            deflate(picture.as_raw()),
        ),
        Stored::Mask => {
            let row = picture.width().div_ceil(8) as usize;
            let mut bits = vec![0xFFu8; row * picture.height() as usize];
            for (x, y, pixel) in picture.enumerate_pixels() {
                if pixel.0[0] < 128 {
                    bits[y as usize * row + x as usize / 8] &= !(0x80 >> (x % 8));
                }
            }
            Stream::new(
                dictionary! {
                    "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
                    "ImageMask" => true,
                },
                bits,
            )
        }
    }
}

/// A PDF of one page per entry of `pages`, written by `lopdf`.
fn pdf(pages: Vec<Content>) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let mut kids = Vec::new();
    for content in pages {
        let (ops, resources) = match content {
            Content::Text(line) => (
                format!("BT /F1 14 Tf 72 700 Td ({line}) Tj ET"),
                dictionary! { "Font" => dictionary! { "F1" => font } },
            ),
            Content::Picture(stored, picture) => {
                let image = doc.add_object(image_stream(stored, &picture));
                // Drawn 1 px to 0.5 pt, as a 144-dpi scan.
                let (w, h) = (picture.width() / 2, picture.height() / 2);
                let draw = format!("q {w} 0 0 {h} 36 400 cm /Im1 Do Q");
                match stored {
                    Stored::FlateGrayInForm => {
                        let form = doc.add_object(Stream::new(
                            dictionary! {
                                "Type" => "XObject", "Subtype" => "Form",
                                "BBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
                                "Resources" => dictionary! {
                                    "XObject" => dictionary! { "Im1" => image },
                                },
                            },
                            draw.into_bytes(),
                        ));
                        (
                            "/Fm1 Do".to_string(),
                            dictionary! { "XObject" => dictionary! { "Fm1" => form } },
                        )
                    }
                    _ => (
                        draw,
                        dictionary! { "XObject" => dictionary! { "Im1" => image } },
                    ),
                }
            }
            Content::Claimed(w, h) => {
                let image = doc.add_object(Stream::new(
                    dictionary! {
                        "Type" => "XObject", "Subtype" => "Image",
                        "Width" => i64::from(w), "Height" => i64::from(h),
                        "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
                        "Filter" => "FlateDecode",
                    },
                    deflate(&[0; 4096]),
                ));
                (
                    "q 500 0 0 700 36 36 cm /Im1 Do Q".to_string(),
                    dictionary! { "XObject" => dictionary! { "Im1" => image } },
                )
            }
        };
        let contents = doc.add_object(Stream::new(dictionary! {}, ops.into_bytes()));
        kids.push(Object::Reference(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            "Resources" => resources, "Contents" => contents,
        })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

// ---------------------------------------------------------------------------------------
// Tests that need Tesseract

#[test]
fn image_only_pages_are_read_by_ocr_at_their_page() {
    extract_support::require_tesseract();
    let pool = extract_support::pool_with_env(1, Limits::default(), &[]);
    for stored in [Stored::Jpeg, Stored::FlateGrayInForm, Stored::Mask] {
        let data = pdf(vec![Content::Picture(stored, planted())]);
        let walked = walk_pool(&pool, &data);
        let text = walked.ocr_at("page 1");
        for value in [CARD, AWS_KEY] {
            assert!(
                recognised(&text, value),
                "{stored:?}: {value:?} not recognised; OCR gave {:?} ({:?})",
                walked.ocr,
                walked.outcome
            );
        }
        assert_eq!(walked.outcome.0, "done", "{stored:?}: {:?}", walked.outcome);
        assert!(walked.text.is_empty(), "{stored:?}: {:?}", walked.text);
    }
}

#[test]
fn a_text_page_and_an_image_only_page_give_both() {
    extract_support::require_tesseract();
    let pool = extract_support::pool_with_env(1, Limits::default(), &[]);
    let data = pdf(vec![
        Content::Text("Invoice reference ZX-5521"),
        Content::Picture(Stored::Jpeg, planted()),
    ]);
    let walked = walk_pool(&pool, &data);
    assert_eq!(
        walked.text,
        [(
            "page 1".to_string(),
            "Invoice reference ZX-5521".to_string()
        )]
    );
    // The text page is not OCR'd.
    assert!(walked.ocr_at("page 1").is_empty(), "{:?}", walked.ocr);
    let text = walked.ocr_at("page 2");
    assert!(recognised(&text, CARD), "{:?}", walked.ocr);
    assert!(recognised(&text, AWS_KEY), "{:?}", walked.ocr);
    assert_eq!(walked.outcome.0, "done", "{:?}", walked.outcome);
}

// ---------------------------------------------------------------------------------------
// Outcomes without OCR (no Tesseract needed)

#[test]
fn with_ocr_off_an_image_only_pdf_is_no_text() {
    let pool = extract_support::pool_with_env(
        1,
        Limits {
            ocr: false,
            ..Limits::default()
        },
        &[],
    );
    let walked = walk_pool(&pool, &pdf(vec![Content::Picture(Stored::Jpeg, planted())]));
    assert_eq!(walked.outcome.0, "no_text", "{:?}", walked.outcome);
    assert!(
        walked.outcome.1.contains("OCR is turned off"),
        "{:?}",
        walked.outcome
    );
    assert!(walked.ocr.is_empty() && walked.text.is_empty());
}

#[test]
fn without_tesseract_an_image_only_pdf_is_ocr_unavailable() {
    let pool =
        extract_support::pool_with_env(1, Limits::default(), &[("DLP_TESSERACT", "/nonexistent")]);
    let walked = walk_pool(&pool, &pdf(vec![Content::Picture(Stored::Jpeg, planted())]));
    assert_eq!(walked.outcome.0, "ocr_unavailable", "{:?}", walked.outcome);
    assert!(
        walked.outcome.1.contains("apt-get install tesseract-ocr"),
        "{:?}",
        walked.outcome
    );
    // A page of text beside it: the PDF is read, the image-only page is not.
    let data = pdf(vec![
        Content::Text("Invoice reference ZX-5521"),
        Content::Picture(Stored::Jpeg, planted()),
    ]);
    let walked = walk_pool(&pool, &data);
    assert_eq!(walked.outcome.0, "done", "{:?}", walked.outcome);
    assert_eq!(walked.text.len(), 1);
}

#[test]
fn in_process_an_image_only_pdf_is_ocr_unavailable() {
    let data = pdf(vec![Content::Picture(Stored::FlateGrayInForm, planted())]);
    let mut walked = Walked::default();
    walk(&data, &Limits::default(), &Filter::default(), &mut |e| {
        record(&mut walked, e)
    });
    assert_eq!(walked.outcome.0, "ocr_unavailable", "{:?}", walked.outcome);
}

#[test]
fn an_image_claiming_ten_billion_pixels_ends_quickly_without_decoding() {
    let pool = extract_support::pool_with_env(1, Limits::default(), &[]);
    let data = pdf(vec![Content::Claimed(100_000, 100_000)]);
    let started = Instant::now();
    let walked = walk_pool(&pool, &data);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(walked.outcome.0, "limit_exceeded", "{:?}", walked.outcome);
    assert!(
        walked.outcome.1.contains("100000 x 100000 pixels"),
        "{:?}",
        walked.outcome
    );
    // The worker survived: it reads the next file.
    let walked = walk_pool(&pool, &pdf(vec![Content::Text("Still here")]));
    assert_eq!(walked.outcome.0, "done", "{:?}", walked.outcome);
}
