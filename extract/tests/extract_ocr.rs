//! OCR of images through the isolated worker pool and a real Tesseract: text with planted
//! values rendered at test time (DejaVu fonts from Debian's fonts-dejavu-core, rasterized by
//! `ab_glyph`, encoded by `image`) in several fonts and sizes, every image format, a
//! screenshot-like picture, a rotated and speckled scan, a multi-page TIFF; then what must end
//! as a skip: no Tesseract, a missing language, OCR off or in-process, hostile pictures.
//!
//! Tests that need Tesseract fail (never pass silently) when it is missing, naming the
//! install command. `cargo test -p dlp-extract --release --test extract_ocr -- --ignored
//! --nocapture ocr_throughput` prints pages per second and the accuracy on these images.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod extract_support;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use dlp_extract::isolate::WorkerPool;
use dlp_extract::{walk, Event, Filter, Limits};
use image::{DynamicImage, GrayImage, ImageFormat, Rgb, RgbImage};

use extract_support::OCR_INSTALL as INSTALL;
const CARD: &str = "4111 1111 1111 1111";
const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const EMAIL: &str = "jane.doe@example.com";

/// Serves as a worker when the pool starts this test binary so.
#[test]
fn extract_worker_entry() {
    extract_support::worker_entry();
}

fn pool(limits: Limits) -> WorkerPool {
    extract_support::require_tesseract();
    extract_support::pool_with_env(1, limits, &[])
}

/// What a walk of one picture gave: OCR segments `(member, location, text)`, plain text
/// segments, and the terminal event of the top-level item (`done` or the skip reason, and its
/// detail).
#[derive(Debug, Default)]
struct Walked {
    ocr: Vec<(String, String, String)>,
    text: Vec<String>,
    outcome: (String, String),
}

impl Walked {
    fn ocr_text(&self) -> String {
        self.ocr
            .iter()
            .map(|(_, _, t)| t.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn record(walked: &mut Walked, event: Event<'_>) {
    match event {
        Event::OcrText {
            member,
            location,
            text,
        } => walked.ocr.push((
            member.unwrap_or("").into(),
            location.unwrap_or("").into(),
            text.into(),
        )),
        Event::Text { text, .. } => walked.text.push(text.into()),
        Event::ItemDone {
            member: None,
            file_type,
        } => walked.outcome = ("done".into(), file_type.name().into()),
        Event::Skipped {
            member: None,
            reason,
            detail,
        } => walked.outcome = (reason.as_str().into(), detail.into()),
        Event::Skipped { .. } | Event::ItemDone { .. } => {}
    }
}

fn walk_pool(pool: &WorkerPool, data: &[u8]) -> Walked {
    let mut walked = Walked::default();
    pool.walk(data, &Filter::default(), &mut |event| {
        record(&mut walked, event)
    });
    walked
}

// ---------------------------------------------------------------------------------------
// Rendering

fn font_path(name: &str) -> PathBuf {
    let path = Path::new("/usr/share/fonts/truetype/dejavu").join(name);
    assert!(
        path.exists(),
        "{} is missing: the OCR tests render text with Debian's DejaVu fonts: `{INSTALL}`",
        path.display()
    );
    path
}

fn font(name: &str) -> FontVec {
    FontVec::try_from_vec(std::fs::read(font_path(name)).unwrap()).unwrap()
}

/// Renders lines of text in `font` at `px` pixels, `ink` on `paper`, with a margin.
fn render(lines: &[&str], font_name: &str, px: f32, ink: [u8; 3], paper: [u8; 3]) -> RgbImage {
    let font = font(font_name);
    let scaled = font.as_scaled(PxScale::from(px));
    // Lines 1.2 em apart, as terminals and word processors set them.
    let line_height = (scaled.height() + scaled.line_gap()).max(px * 1.2);
    let width_of = |line: &str| -> f32 {
        let mut x = 0.0;
        let mut last = None;
        for c in line.chars() {
            let id = scaled.glyph_id(c);
            if let Some(prev) = last {
                x += scaled.kern(prev, id);
            }
            x += scaled.h_advance(id);
            last = Some(id);
        }
        x
    };
    let margin = (px * 1.5) as u32;
    let text_width = lines.iter().map(|l| width_of(l)).fold(0.0, f32::max);
    let width = text_width.ceil() as u32 + 2 * margin;
    let height = (line_height * lines.len() as f32).ceil() as u32 + 2 * margin;
    let mut image = RgbImage::from_pixel(width, height, Rgb(paper));
    for (row, line) in lines.iter().enumerate() {
        let baseline = margin as f32 + scaled.ascent() + line_height * row as f32;
        let mut x = margin as f32;
        let mut last = None;
        for c in line.chars() {
            let id = scaled.glyph_id(c);
            if let Some(prev) = last {
                x += scaled.kern(prev, id);
            }
            let glyph = id.with_scale_and_position(px, ab_glyph::point(x, baseline));
            x += scaled.h_advance(id);
            last = Some(id);
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let (px_x, px_y) = (
                    bounds.min.x as i64 + gx as i64,
                    bounds.min.y as i64 + gy as i64,
                );
                if px_x < 0 || px_y < 0 || px_x >= width as i64 || px_y >= height as i64 {
                    return;
                }
                let pixel = image.get_pixel_mut(px_x as u32, px_y as u32);
                for (channel, ink) in pixel.0.iter_mut().zip(ink) {
                    let blended =
                        f32::from(*channel) * (1.0 - coverage) + f32::from(ink) * coverage;
                    *channel = blended.round() as u8;
                }
            });
        }
    }
    image
}

/// Rotates by `degrees` around the centre (bilinear), on a canvas large enough for the result,
/// filled with `paper`.
fn rotate(image: &RgbImage, degrees: f32, paper: [u8; 3]) -> RgbImage {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (w, h) = (image.width() as f32, image.height() as f32);
    let out_w = (w * cos.abs() + h * sin.abs()).ceil() as u32;
    let out_h = (w * sin.abs() + h * cos.abs()).ceil() as u32;
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (ox, oy) = (out_w as f32 / 2.0, out_h as f32 / 2.0);
    RgbImage::from_fn(out_w, out_h, |x, y| {
        let (dx, dy) = (x as f32 - ox, y as f32 - oy);
        let sx = cos * dx + sin * dy + cx;
        let sy = -sin * dx + cos * dy + cy;
        let sample = |px: f32, py: f32| -> [f32; 3] {
            if px < 0.0 || py < 0.0 || px >= w - 1.0 || py >= h - 1.0 {
                return paper.map(f32::from);
            }
            image.get_pixel(px as u32, py as u32).0.map(f32::from)
        };
        let (fx, fy) = (sx.floor(), sy.floor());
        let (tx, ty) = (sx - fx, sy - fy);
        let (a, b, c, d) = (
            sample(fx, fy),
            sample(fx + 1.0, fy),
            sample(fx, fy + 1.0),
            sample(fx + 1.0, fy + 1.0),
        );
        Rgb(std::array::from_fn(|i| {
            let top = a[i] * (1.0 - tx) + b[i] * tx;
            let bottom = c[i] * (1.0 - tx) + d[i] * tx;
            (top * (1.0 - ty) + bottom * ty).round() as u8
        }))
    })
}

/// Darkens a pseudo-random one pixel in `one_in` (deterministic), as dust on a scan.
fn speckle(image: &mut RgbImage, one_in: u32) {
    let mut state = 0x2545_F491_u32;
    for pixel in image.pixels_mut() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        if state % one_in == 0 {
            pixel.0 = [60, 60, 60];
        }
    }
}

fn encode(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let dynamic = match format {
        // The GIF and TIFF encoders of `image` want these layouts.
        ImageFormat::Gif => {
            DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(image.clone()).to_rgba8())
        }
        _ => DynamicImage::ImageRgb8(image.clone()),
    };
    dynamic.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// An uncompressed 8-bit grayscale TIFF with one directory per page.
fn multipage_tiff(pages: &[GrayImage]) -> Vec<u8> {
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let mut link_at = 4usize; // where the offset of the next directory goes
    for page in pages {
        let strip_at = out.len() as u32;
        out.extend_from_slice(page.as_raw());
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let dir_at = out.len() as u32;
        out[link_at..link_at + 4].copy_from_slice(&dir_at.to_le_bytes());
        let entries: [(u16, u16, u32); 9] = [
            (256, 4, page.width()),
            (257, 4, page.height()),
            (258, 3, 8), // BitsPerSample
            (259, 3, 1), // Compression: none
            (262, 3, 1), // PhotometricInterpretation: black is zero
            (273, 4, strip_at),
            (277, 3, 1), // SamplesPerPixel
            (278, 4, page.height()),
            (279, 4, page.as_raw().len() as u32),
        ];
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, kind, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            if kind == 3 {
                out.extend_from_slice(&(value as u16).to_le_bytes());
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        link_at = out.len();
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    out
}

const BLACK: [u8; 3] = [0, 0, 0];
const WHITE: [u8; 3] = [255, 255, 255];

fn planted_lines() -> [String; 3] {
    [
        format!("Card number: {CARD}"),
        format!("Access key: {AWS_KEY}"),
        format!("Contact: {EMAIL}"),
    ]
}

fn planted(font_name: &str, px: f32) -> RgbImage {
    let lines = planted_lines();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    render(&lines, font_name, px, BLACK, WHITE)
}

/// A terminal: light monospace text on a dark background.
fn screenshot() -> RgbImage {
    render(
        &[
            "user@build-01:~/deploy$ cat .env",
            &format!("AWS_ACCESS_KEY_ID={AWS_KEY}"),
            &format!("BILLING_CARD=\"{CARD}\""),
            &format!("ADMIN_EMAIL={EMAIL}"),
            "user@build-01:~/deploy$ _",
        ],
        "DejaVuSansMono.ttf",
        20.0,
        [220, 220, 210],
        [30, 32, 36],
    )
}

/// A page scanned a little askew: text at 3 degrees, off-white paper, dust.
fn rotated_scan() -> RgbImage {
    let paper = [245, 243, 238];
    let page = render(
        &[
            "Payment authorisation form",
            &format!("Card: {CARD}"),
            &format!("Reply to {EMAIL}"),
            &format!("Key {AWS_KEY}"),
        ],
        "DejaVuSans.ttf",
        40.0,
        [25, 25, 25],
        paper,
    );
    let mut scan = rotate(&page, 3.0, paper);
    speckle(&mut scan, 997);
    scan
}

/// Whether `text` holds `value`; a card number's digits may be grouped differently (OCR often
/// drops or adds a space between groups of ones, and the card detector reads any grouping).
fn recognised(text: &str, value: &str) -> bool {
    if value == CARD {
        let digits = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        return digits(text).contains(&digits(CARD));
    }
    text.contains(value)
}

fn assert_planted(walked: &Walked, what: &str) {
    let text = walked.ocr_text();
    for value in [CARD, AWS_KEY, EMAIL] {
        assert!(
            recognised(&text, value),
            "{what}: {value:?} not recognised; OCR gave {text:?} ({:?})",
            walked.outcome
        );
    }
    assert_eq!(walked.outcome.0, "done", "{what}: {:?}", walked.outcome);
    assert!(
        walked.text.is_empty(),
        "{what}: OCR text came as plain text"
    );
}

// ---------------------------------------------------------------------------------------
// Tests that need Tesseract

#[test]
fn planted_values_are_found_in_several_fonts_and_sizes() {
    let pool = pool(Limits::default());
    for (font_name, px) in [
        ("DejaVuSans.ttf", 32.0),
        ("DejaVuSans.ttf", 18.0),
        ("DejaVuSerif.ttf", 26.0),
        ("DejaVuSansMono.ttf", 22.0),
        ("DejaVuSansCondensed-Bold.ttf", 40.0),
        ("DejaVuSerif-Italic.ttf", 32.0),
    ] {
        let png = encode(&planted(font_name, px), ImageFormat::Png);
        let walked = walk_pool(&pool, &png);
        assert_planted(&walked, &format!("{font_name} at {px} px"));
        for (member, location, _) in &walked.ocr {
            assert_eq!((member.as_str(), location.as_str()), ("", "image"));
        }
        assert_eq!(walked.outcome.1, "image");
    }
}

#[test]
fn every_image_format_is_read() {
    let pool = pool(Limits::default());
    let image = planted("DejaVuSans.ttf", 28.0);
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
        ImageFormat::WebP,
    ] {
        let data = encode(&image, format);
        assert_eq!(
            dlp_extract::detect(&data),
            dlp_extract::FileType::Image,
            "{format:?}"
        );
        assert_planted(&walk_pool(&pool, &data), &format!("{format:?}"));
    }
}

#[test]
fn a_screenshot_is_read() {
    let pool = pool(Limits::default());
    let png = encode(&screenshot(), ImageFormat::Png);
    assert_planted(&walk_pool(&pool, &png), "dark terminal screenshot");
}

#[test]
fn a_rotated_scan_is_read() {
    let pool = pool(Limits::default());
    let png = encode(&rotated_scan(), ImageFormat::Png);
    assert_planted(&walk_pool(&pool, &png), "scan rotated by 3 degrees");
}

#[test]
fn an_image_inside_an_archive_is_a_member_of_its_own() {
    let pool = pool(Limits::default());
    let png = encode(&planted("DejaVuSans.ttf", 28.0), ImageFormat::Png);
    let mut gz = flate2::GzBuilder::new()
        .filename("card.png")
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(&png).unwrap();
    let gz = gz.finish().unwrap();
    let walked = walk_pool(&pool, &gz);
    assert!(recognised(&walked.ocr_text(), CARD), "{walked:?}");
    assert!(walked
        .ocr
        .iter()
        .all(|(member, location, _)| member == "card.png" && location == "image"));
    assert_eq!(walked.outcome.0, "done");
}

#[test]
fn each_page_of_a_tiff_is_read_up_to_the_page_cap() {
    let page = |value: &str| {
        DynamicImage::ImageRgb8(render(&[value], "DejaVuSans.ttf", 30.0, BLACK, WHITE)).to_luma8()
    };
    let tiff = multipage_tiff(&[page(CARD), page(AWS_KEY), page(EMAIL)]);
    let walked = walk_pool(&pool(Limits::default()), &tiff);
    let got: Vec<(&str, &str)> = walked
        .ocr
        .iter()
        .map(|(_, location, text)| (location.as_str(), text.as_str()))
        .collect();
    assert_eq!(
        got,
        [("page 1", CARD), ("page 2", AWS_KEY), ("page 3", EMAIL)],
        "{walked:?}"
    );
    assert_eq!(walked.outcome.0, "done");

    let capped = Limits {
        ocr_max_pages: 2,
        ..Limits::default()
    };
    let walked = walk_pool(&pool(capped), &tiff);
    assert_eq!(walked.ocr.len(), 2, "{walked:?}");
    assert_eq!(walked.outcome.0, "limit_exceeded", "{walked:?}");
    assert!(walked.outcome.1.contains("3 pages"), "{:?}", walked.outcome);
}

#[test]
fn a_missing_language_is_ocr_unavailable_with_its_package() {
    let limits = Limits {
        ocr_languages: vec!["eng".into(), "qaa".into()],
        ..Limits::default()
    };
    let png = encode(&planted("DejaVuSans.ttf", 28.0), ImageFormat::Png);
    let walked = walk_pool(&pool(limits), &png);
    // Read with English all the same; the item ends saying what is missing.
    assert!(recognised(&walked.ocr_text(), AWS_KEY), "{walked:?}");
    assert_eq!(walked.outcome.0, "ocr_unavailable", "{walked:?}");
    assert!(
        walked
            .outcome
            .1
            .contains("apt-get install tesseract-ocr-qaa"),
        "{:?}",
        walked.outcome
    );
    // With no language it has data for, nothing is read.
    let limits = Limits {
        ocr_languages: vec!["qaa".into()],
        ..Limits::default()
    };
    let walked = walk_pool(&pool(limits), &png);
    assert!(walked.ocr.is_empty(), "{walked:?}");
    assert_eq!(walked.outcome.0, "ocr_unavailable", "{walked:?}");
}

#[test]
fn ocr_is_killed_at_its_timeout_and_the_worker_serves_on() {
    let limits = Limits {
        ocr_timeout: Duration::from_millis(1),
        ..Limits::default()
    };
    let pool = pool(limits);
    let png = encode(&planted("DejaVuSans.ttf", 28.0), ImageFormat::Png);
    // The worker kills Tesseract and reports the timeout itself, twice: it was not killed.
    for _ in 0..2 {
        let walked = walk_pool(&pool, &png);
        assert_eq!(walked.outcome.0, "timeout", "{walked:?}");
        assert!(
            walked.outcome.1.contains("OCR killed"),
            "{:?}",
            walked.outcome
        );
    }
}

#[test]
fn hostile_pictures_end_as_skips() {
    let pool = pool(Limits {
        ocr_max_memory: 256 << 20,
        ..Limits::default()
    });
    let png = encode(&planted("DejaVuSans.ttf", 24.0), ImageFormat::Png);
    // A PNG header claiming 100000 x 100000 pixels: refused before Tesseract starts.
    let mut huge = png[..33].to_vec();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    huge.extend_from_slice(&png[33..]);
    // A PNG cut in half, and one whose image data is noise.
    let truncated = png[..png.len() / 2].to_vec();
    let mut noise = png[..41].to_vec();
    noise.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    // A JPEG with no frame header, a TIFF whose directory points to itself, a BMP of 2^31
    // rows, a WebP claiming 16384 x 16384.
    let jpeg = b"\xFF\xD8\xFF\xDA\x00\x02junk".to_vec();
    let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec();
    tiff.extend_from_slice(&[0, 1, 4, 0, 1, 0, 0, 0, 10, 0, 0, 0]);
    tiff.extend_from_slice(&8u32.to_le_bytes());
    let mut bmp = b"BM\0\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0".to_vec();
    bmp.extend_from_slice(&10i32.to_le_bytes());
    bmp.extend_from_slice(&i32::MIN.to_le_bytes());
    bmp.extend_from_slice(&[0; 40]);
    let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
    webp.extend_from_slice(&[0xFF, 0x3F, 0, 0xFF, 0x3F, 0]);
    let cases: [(&str, &[u8], &[&str]); 7] = [
        ("100000 x 100000 PNG", &huge, &["limit_exceeded"]),
        ("truncated PNG", &truncated, &["broken_file", "done"]),
        ("PNG of noise", &noise, &["broken_file"]),
        ("JPEG without a frame", &jpeg, &["broken_file"]),
        ("TIFF directory loop", &tiff, &["broken_file"]),
        ("BMP of 2^31 rows", &bmp, &["limit_exceeded"]),
        ("WebP of 16384 x 16384", &webp, &["limit_exceeded"]),
    ];
    for (what, data, allowed) in cases {
        let started = Instant::now();
        let walked = walk_pool(&pool, data);
        println!("{what}: {:?}", walked.outcome);
        assert!(
            allowed.contains(&walked.outcome.0.as_str()),
            "{what}: {:?}",
            walked.outcome
        );
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "{what}: too slow"
        );
    }
    // Everything still works after them.
    assert_planted(&walk_pool(&pool, &png), "after the hostile pictures");
}

#[test]
fn an_image_over_tesseracts_memory_cap_ends_as_limit_exceeded() {
    // 6000 x 6000 white RGB pixels (a 36-megapixel PNG of a few hundred KiB) under a 256 MiB
    // cap: enough for Tesseract to start (it needs about 128 MiB of address space), not to
    // decode it (it needs about 450 MiB).
    let limits = Limits {
        ocr_max_memory: 256 << 20,
        ..Limits::default()
    };
    let big = RgbImage::from_pixel(6000, 6000, Rgb([255, 255, 255]));
    let mut png = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(big)
        .write_to(&mut png, ImageFormat::Png)
        .unwrap();
    let walked = walk_pool(&pool(limits), png.get_ref());
    assert_eq!(walked.outcome.0, "limit_exceeded", "{walked:?}");
}

// ---------------------------------------------------------------------------------------
// Tests that need no Tesseract

#[test]
fn without_tesseract_an_image_is_ocr_unavailable_with_the_install_hint() {
    let png = encode(&planted("DejaVuSans.ttf", 20.0), ImageFormat::Png);
    for program in ["/nonexistent/tesseract", "/"] {
        let pool =
            extract_support::pool_with_env(1, Limits::default(), &[("DLP_TESSERACT", program)]);
        let walked = walk_pool(&pool, &png);
        assert_eq!(walked.outcome.0, "ocr_unavailable", "{program}: {walked:?}");
        assert!(
            walked
                .outcome
                .1
                .contains("apt-get install tesseract-ocr tesseract-ocr-eng"),
            "{:?}",
            walked.outcome
        );
        assert!(walked.outcome.1.contains(program), "{:?}", walked.outcome);
        assert!(walked.ocr.is_empty());
    }
}

#[test]
fn ocr_off_or_in_process_never_reads_an_image() {
    let png = encode(&planted("DejaVuSans.ttf", 20.0), ImageFormat::Png);
    let off = Limits {
        ocr: false,
        ..Limits::default()
    };
    // A Tesseract that cannot start: nothing may try to.
    let pool = extract_support::pool_with_env(1, off.clone(), &[("DLP_TESSERACT", "/nonexistent")]);
    let walked = walk_pool(&pool, &png);
    assert_eq!(walked.outcome.0, "unsupported_format", "{walked:?}");
    assert!(walked.outcome.1.contains("OCR is turned off"));

    // In-process, OCR never runs, whatever the limits say.
    let mut walked = Walked::default();
    walk(&png, &Limits::default(), &Filter::default(), &mut |e| {
        record(&mut walked, e)
    });
    assert_eq!(walked.outcome.0, "ocr_unavailable", "{walked:?}");
    assert!(
        walked.outcome.1.contains("isolated"),
        "{:?}",
        walked.outcome
    );
    assert!(!dlp_extract::FileType::Image.is_in_process_safe());
}

// ---------------------------------------------------------------------------------------
// Measurement

/// The images measured: those of the tests above, and harder ones (smaller, italic, more
/// rotated, JPEG-compressed), with the file extension of their encoding.
fn test_images() -> Vec<(String, &'static str, Vec<u8>)> {
    let mut images = Vec::new();
    let png = |image: &RgbImage| encode(image, ImageFormat::Png);
    for (font_name, px) in [
        ("DejaVuSans.ttf", 32.0),
        ("DejaVuSans.ttf", 18.0),
        ("DejaVuSans.ttf", 14.0),
        ("DejaVuSerif.ttf", 26.0),
        ("DejaVuSansMono.ttf", 22.0),
        ("DejaVuSansCondensed-Bold.ttf", 40.0),
        ("DejaVuSerif-Italic.ttf", 32.0),
        ("DejaVuSerif-Italic.ttf", 28.0),
    ] {
        let name = format!("{} {px}px", font_name.trim_end_matches(".ttf"));
        images.push((name, "png", png(&planted(font_name, px))));
    }
    images.push(("terminal 20px".into(), "png", png(&screenshot())));
    for px in [16.0, 24.0] {
        let lines = [
            format!("AWS_ACCESS_KEY_ID={AWS_KEY}"),
            format!("BILLING_CARD=\"{CARD}\""),
            format!("ADMIN_EMAIL={EMAIL}"),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let image = render(
            &lines,
            "DejaVuSansMono.ttf",
            px,
            [220, 220, 210],
            [30, 32, 36],
        );
        images.push((format!("terminal {px}px"), "png", png(&image)));
    }
    images.push(("scan 3 degrees".into(), "png", png(&rotated_scan())));
    images.push((
        "scan 3 degrees, JPEG".into(),
        "jpg",
        encode(&rotated_scan(), ImageFormat::Jpeg),
    ));
    for degrees in [3.0, 5.0] {
        let paper = [245, 243, 238];
        let lines = planted_lines();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let page = render(&lines, "DejaVuSerif.ttf", 40.0, [25, 25, 25], paper);
        let image = rotate(&page, degrees, paper);
        images.push((format!("serif scan {degrees} degrees"), "png", png(&image)));
    }
    images
}

/// Lines of made-up prose, `words` words each, with the planted values in three of them.
fn prose(lines: usize, words: usize) -> Vec<String> {
    const WORDS: [&str; 24] = [
        "the", "invoice", "was", "sent", "to", "our", "customer", "after", "review", "of",
        "payment", "terms", "and", "account", "details", "for", "quarter", "report", "with",
        "signed", "approval", "by", "finance", "team",
    ];
    let mut state = 7u32;
    let mut out: Vec<String> = (0..lines)
        .map(|_| {
            (0..words)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    WORDS[(state >> 16) as usize % WORDS.len()]
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    for (i, line) in planted_lines().into_iter().enumerate() {
        out[lines / 4 * (i + 1)] = line;
    }
    out
}

/// Full pages: a page of prose as scanned at 300 dpi (10-point text) and a terminal as large as
/// a 1080p screen's.
fn full_pages() -> Vec<(String, &'static str, Vec<u8>)> {
    let page = prose(55, 11);
    let page: Vec<&str> = page.iter().map(String::as_str).collect();
    let a4 = render(&page, "DejaVuSerif.ttf", 42.0, BLACK, WHITE);
    let log = prose(44, 14);
    let log: Vec<&str> = log.iter().map(String::as_str).collect();
    let terminal = render(
        &log,
        "DejaVuSansMono.ttf",
        20.0,
        [220, 220, 210],
        [30, 32, 36],
    );
    vec![
        (
            "page of prose, 42 px serif (10 pt at 300 dpi)".into(),
            "png",
            encode(&a4, ImageFormat::Png),
        ),
        (
            "1080p terminal".into(),
            "png",
            encode(&terminal, ImageFormat::Png),
        ),
    ]
}

/// Pages (images) per second and accuracy on the test images, through one worker: the share of
/// planted values recognised (exactly; a card's digits in any grouping, as the card detector
/// reads them) and of the rendered words found in the OCR text.
#[test]
#[ignore = "measurement: cargo test -p dlp-extract --release --test extract_ocr -- --ignored --nocapture ocr_throughput"]
fn ocr_throughput() {
    let pool = pool(Limits::default());
    let images = test_images();
    let sizes: Vec<(u32, u32)> = images
        .iter()
        .map(|(_, _, data)| image::load_from_memory(data).unwrap())
        .map(|decoded| (decoded.width(), decoded.height()))
        .collect();
    let pixels: u64 = sizes
        .iter()
        .map(|&(w, h)| u64::from(w) * u64::from(h))
        .sum();
    // Warm the worker.
    walk_pool(&pool, &images[0].2);
    let rounds = 3;
    let (mut values, mut found_values) = (0, 0);
    let started = Instant::now();
    for round in 0..rounds {
        for ((name, _, data), (width, height)) in images.iter().zip(&sizes) {
            let walked = walk_pool(&pool, data);
            if round > 0 {
                continue;
            }
            let text = walked.ocr_text();
            let missed: Vec<&str> = [CARD, AWS_KEY, EMAIL]
                .into_iter()
                .filter(|v| !recognised(&text, v))
                .collect();
            values += 3;
            found_values += 3 - missed.len();
            println!(
                "{name} ({width} x {height}, {} bytes): {:?}; missed {missed:?}",
                data.len(),
                walked.outcome.0
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let pages = rounds * images.len();
    println!(
        "OCR: {pages} images ({:.2} megapixels each on average) in {seconds:.2} s: {:.2} pages/s \
         on one worker; planted values recognised: {found_values} of {values}",
        pixels as f64 / images.len() as f64 / 1e6,
        pages as f64 / seconds
    );
    for (name, _, data) in full_pages() {
        let decoded = image::load_from_memory(&data).unwrap();
        let started = Instant::now();
        let walked = walk_pool(&pool, &data);
        let seconds = started.elapsed().as_secs_f64();
        let text = walked.ocr_text();
        let missed: Vec<&str> = [CARD, AWS_KEY, EMAIL]
            .into_iter()
            .filter(|v| !recognised(&text, v))
            .collect();
        println!(
            "{name} ({} x {}, {} words): {seconds:.2} s ({:.2} pages/s), {:?}; missed \
             {missed:?}",
            decoded.width(),
            decoded.height(),
            text.split_whitespace().count(),
            1.0 / seconds,
            walked.outcome.0
        );
    }
}

/// Writes the committed fixture `tests/fixtures/ocr/terminal.png` (the screenshot, read by
/// `dlp-engine`'s OCR test) and every test image to `target/tmp/ocr-images/` to look at.
#[test]
#[ignore = "writes the OCR fixture and test images: cargo test -p dlp-extract --test extract_ocr -- --ignored write_ocr_images"]
fn write_ocr_images() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ocr");
    std::fs::create_dir_all(&fixtures).unwrap();
    std::fs::write(
        fixtures.join("terminal.png"),
        encode(&screenshot(), ImageFormat::Png),
    )
    .unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ocr-images");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, extension, data) in test_images().into_iter().chain(full_pages()) {
        let file = name.replace([' ', '.', ','], "-").to_lowercase();
        std::fs::write(dir.join(format!("{file}.{extension}")), data).unwrap();
    }
    println!("{}", dir.display());
}
