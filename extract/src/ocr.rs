//! OCR: the text of pictures (images, and PDF image XObjects turned into pictures by
//! [`pdf_picture`]) as recognised by Tesseract's command-line program, run as a child of the
//! isolated worker under limits of its own: a wall-clock timeout (then a kill), an address-space
//! cap and a CPU-time cap set before it starts, a page cap, a pixel cap checked on the picture's
//! header before it starts, standard input carrying the picture and nothing else, and death with
//! the worker (`PR_SET_PDEATHSIG`).
//!
//! The walker calls [`read`] only inside an isolated worker: an in-process walk never starts
//! Tesseract. This module must never hand Tesseract anything but a picture whose header it has
//! read itself (Tesseract takes input it cannot decode for a list of file names or URLs to open),
//! nor let it inherit the worker's protocol pipes.
//!
//! Imports only `types`.

use crate::bytes::{le16, le32};
use std::borrow::Cow;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::types::{Limits, Outcome, Skip, SkipReason};

/// The environment variable naming the Tesseract program (default: `tesseract` on `PATH`).
pub(crate) const TESSERACT_ENV: &str = "DLP_TESSERACT";

/// How to install Tesseract with its English data on Debian and Ubuntu.
pub(crate) const INSTALL_HINT: &str = "apt-get install tesseract-ocr tesseract-ocr-eng";

/// Most TIFF directories (pages) followed; more is a hostile file.
const MAX_TIFF_PAGES: u32 = 10_000;

/// What [`sniff`] reads from a picture's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Picture {
    /// `png`, `jpeg`, `gif`, `bmp`, `tiff`, `webp` or `pnm`.
    pub(crate) format: &'static str,
    /// Width and height of the largest page, in pixels.
    pub(crate) width: u64,
    pub(crate) height: u64,
    /// Pages (TIFF directories); 1 for the other formats.
    pub(crate) pages: u32,
}

/// Reads the format, size and page count of a picture from its header, without decoding it.
/// Anything else than a picture of a format Tesseract reads is a `broken_file` skip.
pub(crate) fn sniff(data: &[u8]) -> Outcome<Picture> {
    let picture = |format, width: u64, height: u64| Picture {
        format,
        width,
        height,
        pages: 1,
    };
    let short = || Skip::broken("image: header truncated");
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        if data.get(12..16) != Some(b"IHDR") {
            return Err(Skip::broken("png: no IHDR chunk first"));
        }
        let width = be32(data, 16).ok_or_else(short)?;
        let height = be32(data, 20).ok_or_else(short)?;
        return Ok(picture("png", width.into(), height.into()));
    }
    if data.starts_with(b"\xFF\xD8\xFF") {
        let (width, height) = jpeg_size(data)?;
        return Ok(picture("jpeg", width.into(), height.into()));
    }
    if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        let width = le16(data, 6).ok_or_else(short)?;
        let height = le16(data, 8).ok_or_else(short)?;
        return Ok(picture("gif", width.into(), height.into()));
    }
    if data.starts_with(b"BM") {
        let header = le32(data, 14).ok_or_else(short)?;
        let (width, height) = if header == 12 {
            let w = le16(data, 18).ok_or_else(short)?;
            let h = le16(data, 20).ok_or_else(short)?;
            (u64::from(w), u64::from(h))
        } else {
            let w = le32(data, 18).ok_or_else(short)? as i32;
            let h = le32(data, 22).ok_or_else(short)? as i32;
            (u64::from(w.unsigned_abs()), u64::from(h.unsigned_abs()))
        };
        return Ok(picture("bmp", width, height));
    }
    if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") {
        return tiff(data);
    }
    if data.starts_with(b"RIFF") && data.get(8..12) == Some(b"WEBP") {
        let (width, height) = webp_size(data)?;
        return Ok(picture("webp", width, height));
    }
    if data.starts_with(b"P5") || data.starts_with(b"P6") {
        let (width, height) = pnm_size(data).ok_or_else(|| Skip::broken("pnm: bad header"))?;
        return Ok(picture("pnm", width, height));
    }
    Err(Skip::new(
        SkipReason::UnsupportedFormat,
        "not a picture format OCR reads",
    ))
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// The size in a JPEG's frame header (SOF0 to SOF15 but DHT, JPG and DAC), found by walking
/// the marker segments from the start.
fn jpeg_size(data: &[u8]) -> Outcome<(u16, u16)> {
    let broken = |what: &str| Skip::broken(format!("jpeg: {what}"));
    let mut at = 2;
    loop {
        // Markers may be padded with any number of 0xFF fill bytes.
        while data.get(at) == Some(&0xFF) && data.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if data.get(at) != Some(&0xFF) {
            return Err(broken("no frame header"));
        }
        let marker = *data.get(at + 1).ok_or_else(|| broken("no frame header"))?;
        if marker == 0x01 || (0xD0..=0xD8).contains(&marker) {
            at += 2;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return Err(broken("no frame header before the image data"));
        }
        let len = usize::from(be16(data, at + 2).ok_or_else(|| broken("truncated"))?);
        if len < 2 {
            return Err(broken("bad segment length"));
        }
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let height = be16(data, at + 5).ok_or_else(|| broken("truncated"))?;
            let width = be16(data, at + 7).ok_or_else(|| broken("truncated"))?;
            return Ok((width, height));
        }
        at += 2 + len;
    }
}

/// The canvas size of a WebP file: lossy (`VP8 `), lossless (`VP8L`) or extended (`VP8X`).
fn webp_size(data: &[u8]) -> Outcome<(u64, u64)> {
    let broken = || Skip::broken("webp: bad header");
    match data.get(12..16) {
        Some(b"VP8 ") => {
            let w = le16(data, 26).ok_or_else(broken)? & 0x3FFF;
            let h = le16(data, 28).ok_or_else(broken)? & 0x3FFF;
            Ok((w.into(), h.into()))
        }
        Some(b"VP8L") => {
            let bits = le32(data, 21).ok_or_else(broken)?;
            Ok((
                u64::from(bits & 0x3FFF) + 1,
                u64::from((bits >> 14) & 0x3FFF) + 1,
            ))
        }
        Some(b"VP8X") => {
            let b = data.get(24..30).ok_or_else(broken)?;
            let w = u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16;
            let h = u64::from(b[3]) | u64::from(b[4]) << 8 | u64::from(b[5]) << 16;
            Ok((w + 1, h + 1))
        }
        _ => Err(broken()),
    }
}

/// Width and height of a binary PNM (`P5`/`P6`) header; comments are not expected (only
/// [`pdf_picture`] makes these).
fn pnm_size(data: &[u8]) -> Option<(u64, u64)> {
    let mut fields = data
        .get(2..data.len().min(64))?
        .split(u8::is_ascii_whitespace)
        .filter(|field| !field.is_empty());
    let mut number = || {
        std::str::from_utf8(fields.next()?)
            .ok()?
            .parse::<u64>()
            .ok()
    };
    let width = number()?;
    let height = number()?;
    Some((width, height))
}

/// A TIFF's pages, counted by following its chain of image file directories, and the size of
/// the largest one.
fn tiff(data: &[u8]) -> Outcome<Picture> {
    let broken = |what: &str| Skip::broken(format!("tiff: {what}"));
    let little = data.starts_with(b"II");
    let u16_at = |at: usize| {
        if little {
            le16(data, at)
        } else {
            be16(data, at)
        }
    };
    let u32_at = |at: usize| {
        if little {
            le32(data, at)
        } else {
            be32(data, at)
        }
    };
    let mut offset = u32_at(4).ok_or_else(|| broken("truncated"))? as usize;
    let (mut pages, mut width, mut height) = (0u32, 0u64, 0u64);
    let mut seen = std::collections::HashSet::new();
    while offset != 0 {
        if pages >= MAX_TIFF_PAGES {
            return Err(Skip::limit(format!(
                "tiff: more than {MAX_TIFF_PAGES} pages"
            )));
        }
        if !seen.insert(offset) {
            return Err(broken("its directories loop"));
        }
        let entries = usize::from(u16_at(offset).ok_or_else(|| broken("directory truncated"))?);
        let (mut w, mut h) = (0u64, 0u64);
        for i in 0..entries {
            let entry = offset + 2 + 12 * i;
            let tag = u16_at(entry).ok_or_else(|| broken("directory truncated"))?;
            let kind = u16_at(entry + 2).ok_or_else(|| broken("directory truncated"))?;
            let value = match kind {
                3 => u16_at(entry + 8).map(u64::from),
                4 => u32_at(entry + 8).map(u64::from),
                _ => None,
            };
            match tag {
                256 => w = value.ok_or_else(|| broken("bad ImageWidth"))?,
                257 => h = value.ok_or_else(|| broken("bad ImageLength"))?,
                _ => {}
            }
        }
        pages += 1;
        if w.saturating_mul(h) > width.saturating_mul(height) {
            (width, height) = (w, h);
        }
        // A missing next-directory offset ends the chain.
        offset = u32_at(offset + 2 + 12 * entries).unwrap_or(0) as usize;
    }
    if pages == 0 {
        return Err(broken("no image directory"));
    }
    Ok(Picture {
        format: "tiff",
        width,
        height,
        pages,
    })
}

/// A PDF image XObject's data, as `pdf.rs` finds it in the stream and its dictionary.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PdfImage<'a> {
    /// A `/DCTDecode` stream (a JPEG file), undecoded. `/JPXDecode` (JPEG 2000) streams are
    /// not pictures Tesseract is given.
    Jpeg(&'a [u8]),
    /// Decoded samples (after `/FlateDecode` and its predictor, `/LZWDecode`, ...): `width` x
    /// `height` pixels of `components` samples (1 for `/DeviceGray`, 3 for `/DeviceRGB`) of
    /// `bits` bits each (8, or 1 for gray), rows starting on a byte boundary. One-bit samples
    /// follow the PDF default decode, 0 is black (as an `/ImageMask`'s 0 bits are paint),
    /// unless `inverted` (`/Decode [1 0]`).
    Raw {
        /// Pixels per row.
        width: u32,
        /// Rows.
        height: u32,
        /// Samples per pixel: 1 or 3.
        components: u8,
        /// Bits per sample: 8, or 1 with one component.
        bits: u8,
        /// Whether sample values are inverted (`/Decode [1 0]`).
        inverted: bool,
        /// The decoded samples.
        samples: &'a [u8],
    },
}

/// Turns a PDF image into a picture for [`Visit::ocr`](crate::visit::Visit::ocr): a JPEG as it
/// is, raw samples as a binary PNM (`P5` gray, `P6` RGB) with 8-bit samples. Fails as
/// `unsupported_format` for other layouts (16-bit, CMYK, indexed colour) and as `broken_file`
/// when there are fewer samples than the size says; the pixel cap is checked here too, before
/// anything is allocated.
pub(crate) fn pdf_picture<'a>(image: PdfImage<'a>, limits: &Limits) -> Outcome<Cow<'a, [u8]>> {
    let (width, height, components, bits, inverted, samples) = match image {
        PdfImage::Jpeg(data) => {
            let picture = sniff(data)?;
            check_pixels(&picture, limits)?;
            return Ok(Cow::Borrowed(data));
        }
        PdfImage::Raw {
            width,
            height,
            components,
            bits,
            inverted,
            samples,
        } => (width, height, components, bits, inverted, samples),
    };
    let (w, h) = (u64::from(width), u64::from(height));
    check_pixels(
        &Picture {
            format: "pnm",
            width: w,
            height: h,
            pages: 1,
        },
        limits,
    )?;
    let (magic, row_bytes) = match (components, bits) {
        (1, 8) => ("P5", w),
        (3, 8) => ("P6", w * 3),
        (1, 1) => ("P5", w.div_ceil(8)),
        _ => {
            return Err(Skip::new(
                SkipReason::UnsupportedFormat,
                format!("pdf image: {components} components of {bits} bits are not read by OCR"),
            ))
        }
    };
    let row_bytes = usize::try_from(row_bytes).map_err(|_| Skip::limit("pdf image: too large"))?;
    let rows = usize::try_from(h).map_err(|_| Skip::limit("pdf image: too large"))?;
    let needed = row_bytes.saturating_mul(rows);
    if samples.len() < needed {
        return Err(Skip::broken(format!(
            "pdf image: {} bytes of samples, {needed} expected",
            samples.len()
        )));
    }
    let header = format!("{magic}\n{width} {height}\n255\n");
    let mut out = Vec::with_capacity(header.len() + needed * if bits == 1 { 8 } else { 1 });
    out.extend_from_slice(header.as_bytes());
    if bits == 1 {
        let (ink, paper) = if inverted { (255, 0) } else { (0, 255) };
        for row in samples[..needed].chunks_exact(row_bytes) {
            for x in 0..width as usize {
                let bit = row[x / 8] >> (7 - x % 8) & 1;
                out.push(if bit == 0 { ink } else { paper });
            }
        }
    } else if inverted {
        out.extend(samples[..needed].iter().map(|s| 255 - s));
    } else {
        out.extend_from_slice(&samples[..needed]);
    }
    Ok(Cow::Owned(out))
}

fn check_pixels(picture: &Picture, limits: &Limits) -> Outcome {
    let pixels = picture.width.saturating_mul(picture.height);
    if pixels > limits.ocr_max_pixels {
        return Err(Skip::limit(format!(
            "{}: {} x {} pixels, over the OCR limit of {} pixels",
            picture.format, picture.width, picture.height, limits.ocr_max_pixels
        )));
    }
    if pixels == 0 {
        return Err(Skip::broken(format!("{}: no pixels", picture.format)));
    }
    Ok(())
}

/// Recognises the text of `picture` and emits it through `emit(location, text)`: at `location`,
/// or at `page N` for each page of a multi-page TIFF. `pages_done` counts the pages OCR'd in
/// the whole walk against [`Limits::ocr_max_pages`]; nothing runs past `deadline`.
///
/// Fails, without starting Tesseract, as `limit_exceeded` (pixel or page cap), `broken_file`
/// (a header that cannot be read) or `ocr_unavailable` (no Tesseract, a bad language name);
/// then as `timeout` (killed at [`Limits::ocr_timeout`] or the deadline), `limit_exceeded`
/// (out of its memory), `ocr_unavailable` (a language's data missing) or `broken_file`
/// (Tesseract could not read the picture, or crashed).
pub(crate) fn read(
    picture: &[u8],
    limits: &Limits,
    location: &str,
    deadline: Instant,
    pages_done: &mut u32,
    emit: &mut dyn FnMut(&str, &str) -> Outcome,
) -> Outcome {
    let header = sniff(picture)?;
    check_pixels(&header, limits)?;
    let languages = languages(&limits.ocr_languages)?;
    let program = program();
    let room = limits.ocr_max_pages.saturating_sub(*pages_done);
    if room == 0 {
        return Err(page_cap(limits));
    }
    let pages = header.pages.min(room);
    for page in 0..pages {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Skip::new(
                SkipReason::Timeout,
                format!("took longer than {:?}", limits.time_per_item),
            ));
        }
        let timeout = limits.ocr_timeout.min(left);
        let page_number = (header.pages > 1).then_some(page);
        let (text, missing) = run(&program, picture, &languages, page_number, limits, timeout)?;
        *pages_done += 1;
        let text = text.replace('\u{c}', "");
        let text = text.trim();
        if !text.is_empty() {
            match page_number {
                Some(n) => emit(&format!("page {}", n + 1), text)?,
                None => emit(location, text)?,
            }
        }
        // Read with the other languages: the text stands, the item says what was missing.
        if let Some(missing) = missing {
            return Err(missing);
        }
    }
    if header.pages > room {
        return Err(Skip::limit(format!(
            "{} pages; OCR stopped at its limit of {} pages per item",
            header.pages, limits.ocr_max_pages
        )));
    }
    Ok(())
}

fn page_cap(limits: &Limits) -> Skip {
    Skip::limit(format!(
        "OCR stopped at its limit of {} pages per item",
        limits.ocr_max_pages
    ))
}

/// Tesseract's `-l` argument: the names joined by `+`. A name is a traineddata file's stem
/// (`eng`, `chi_sim`, `script/Latin`); anything else is refused before it reaches the program.
fn languages(names: &[String]) -> Outcome<String> {
    let valid = |n: &String| {
        !n.is_empty()
            && !n.starts_with(['/', '.'])
            && !n.contains("..")
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'/' || b == b'-')
            && !n.starts_with('-')
    };
    if names.is_empty() {
        return Err(Skip::new(
            SkipReason::OcrUnavailable,
            "no OCR language given",
        ));
    }
    if let Some(bad) = names.iter().find(|n| !valid(n)) {
        return Err(Skip::new(
            SkipReason::OcrUnavailable,
            format!("{bad:?} is not a Tesseract language name"),
        ));
    }
    Ok(names.join("+"))
}

/// The Tesseract program: `DLP_TESSERACT` when set, else `tesseract` (found on `PATH` when
/// started).
fn program() -> OsString {
    std::env::var_os(TESSERACT_ENV)
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "tesseract".into())
}

/// Runs Tesseract once on `picture` (one page of it, when `page` is given) and returns its
/// text, and an `ocr_unavailable` skip when some (not all) of the languages had no data.
fn run(
    program: &OsString,
    picture: &[u8],
    languages: &str,
    page: Option<u32>,
    limits: &Limits,
    timeout: Duration,
) -> Outcome<(String, Option<Skip>)> {
    let mut command = Command::new(program);
    command.args(["stdin", "stdout", "-l", languages]);
    if let Some(page) = page {
        command
            .arg("-c")
            .arg(format!("tessedit_page_number={page}"));
    }
    // One thread: the workers already use every core, and each thread's stack would count
    // against the address-space cap.
    command
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    confine(&mut command, limits.ocr_max_memory, timeout);
    let mut child = command.spawn().map_err(|e| {
        let named = match std::env::var_os(TESSERACT_ENV).filter(|p| !p.is_empty()) {
            Some(path) => format!("{TESSERACT_ENV}={}", path.to_string_lossy()),
            None => "tesseract (on PATH)".to_string(),
        };
        Skip::new(
            SkipReason::OcrUnavailable,
            format!(
                "OCR needs Tesseract: cannot run {named}: {e}; install it with `{INSTALL_HINT}`"
            ),
        )
    })?;
    let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Skip::broken("tesseract: pipes missing"));
    };
    let cap = usize::try_from(limits.max_text_per_item).unwrap_or(usize::MAX);
    let deadline = Instant::now() + timeout;
    let (status, text, errors) = std::thread::scope(|scope| {
        // A closed pipe (Tesseract died or was killed) ends the writer; its error is moot.
        scope.spawn(move || {
            let _ = stdin.write_all(picture);
        });
        let text = scope.spawn(move || read_capped(&mut stdout, cap));
        let errors = scope.spawn(move || read_tail(&mut stderr, 4096));
        let status = wait(&mut child, deadline);
        let text = text.join().unwrap_or_default();
        let errors = errors.join().unwrap_or_default();
        (status, text, errors)
    });
    let errors = String::from_utf8_lossy(&errors);
    let status = status.map_err(|e| Skip::broken(format!("tesseract: {e}")))?;
    let Some(status) = status else {
        return Err(Skip::new(
            SkipReason::Timeout,
            format!("OCR killed after {timeout:?}"),
        ));
    };
    if status.success() {
        let missing = errors
            .contains("Failed loading language")
            .then(|| missing_language(&errors, languages));
        return Ok((String::from_utf8_lossy(&text).into_owned(), missing));
    }
    Err(failure(status, &errors, languages, limits))
}

/// The skip for languages whose data Tesseract could not load, naming the packages to install.
fn missing_language(errors: &str, languages: &str) -> Skip {
    // Tesseract says `Failed loading language 'xyz'` for each.
    let mut missing: Vec<&str> = errors
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Failed loading language '"))
        .filter_map(|l| l.strip_suffix('\''))
        .collect();
    if missing.is_empty() {
        missing = languages.split('+').collect();
    }
    let packages: Vec<String> = missing
        .iter()
        .map(|l| format!("tesseract-ocr-{}", l.to_ascii_lowercase().replace('_', "-")))
        .collect();
    Skip::new(
        SkipReason::OcrUnavailable,
        format!(
            "Tesseract has no data for language {}: install it with `apt-get install {}`",
            missing.join("+"),
            packages.join(" ")
        ),
    )
}

/// What a failed run of Tesseract becomes.
fn failure(status: ExitStatus, errors: &str, languages: &str, limits: &Limits) -> Skip {
    use std::os::unix::process::ExitStatusExt;
    // The first error line says most (`libpng error: ...`), else the last line.
    let last = errors
        .lines()
        .find(|l| l.contains("rror"))
        .or_else(|| errors.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("")
        .trim();
    if errors.contains("Failed loading language") {
        return missing_language(errors, languages);
    }
    // `std::bad_alloc`, leptonica's `malloc fail`, or the loader unable to map a library
    // under the cap.
    let memory = [
        "alloc",
        "ut of memory",
        "Cannot allocate",
        "failed to map segment",
    ];
    if memory.iter().any(|m| errors.contains(m)) {
        return Skip::limit(format!(
            "OCR ran out of its {} MiB of memory ({last})",
            limits.ocr_max_memory >> 20
        ));
    }
    if errors.contains("error while loading shared libraries") {
        return Skip::new(
            SkipReason::OcrUnavailable,
            format!(
                "Tesseract is not installed properly ({last}): reinstall it with `{INSTALL_HINT}`"
            ),
        );
    }
    if status.signal() == Some(libc::SIGXCPU) {
        return Skip::new(SkipReason::Timeout, "OCR ran out of its CPU time");
    }
    match status.signal() {
        Some(signal) => Skip::broken(format!("tesseract crashed (signal {signal}) ({last})")),
        None => Skip::broken(format!(
            "tesseract could not read the image ({status}: {last})"
        )),
    }
}

/// Sets the child's limits before it runs: the address-space cap (at most the worker's own),
/// a CPU-time cap a little over `timeout` in case the kill never comes, no core dump, and a
/// kill when the worker dies.
fn confine(command: &mut Command, memory: u64, timeout: Duration) {
    use std::os::unix::process::CommandExt;
    let cpu = timeout.as_secs().saturating_add(2);
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: getrlimit, setrlimit and prctl are plain system
    // calls that touch no lock and allocate nothing; they only read the structs passed.
    unsafe {
        command.pre_exec(move || {
            let mut current = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            let hard = if libc::getrlimit(libc::RLIMIT_AS, &mut current) == 0 {
                current.rlim_max
            } else {
                libc::RLIM_INFINITY
            };
            let cap = (memory as libc::rlim_t).min(hard);
            let address_space = libc::rlimit {
                rlim_cur: cap,
                rlim_max: cap,
            };
            libc::setrlimit(libc::RLIMIT_AS, &address_space);
            let cpu = libc::rlimit {
                rlim_cur: cpu as libc::rlim_t,
                rlim_max: cpu.saturating_add(1) as libc::rlim_t,
            };
            libc::setrlimit(libc::RLIMIT_CPU, &cpu);
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Waits for the child until `deadline`, then kills it: `Ok(None)` when it was killed.
fn wait(child: &mut std::process::Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(Some(status)),
            Ok(None) => {}
            Err(e) => {
                // Never leave it running: the pipes' readers wait for it to end.
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reads a pipe to its end, keeping at most `cap` bytes (the rest is read and dropped, so
/// that the writer never blocks).
fn read_capped(pipe: &mut impl Read, cap: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            break;
        }
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    kept
}

/// Reads a pipe to its end, keeping its last `keep` bytes.
fn read_tail(pipe: &mut impl Read, keep: usize) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buf[..n]);
        let excess = tail.len().saturating_sub(keep);
        tail.drain(..excess);
    }
    tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_sizes_from_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&200u32.to_be_bytes());
        let got = sniff(&png).unwrap();
        assert_eq!((got.format, got.width, got.height), ("png", 100_000, 200));

        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&[0x20, 0x03, 0x58, 0x02]);
        let got = sniff(&gif).unwrap();
        assert_eq!((got.width, got.height), (800, 600));

        // SOI, an APP0 segment, then SOF0 with height 480 and width 640.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0x01, 0xE0, 0x02, 0x80,
        ];
        let got = sniff(&jpeg).unwrap();
        assert_eq!((got.format, got.width, got.height), ("jpeg", 640, 480));
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]).unwrap_err().reason,
            SkipReason::BrokenFile
        );

        // Two TIFF directories, the second larger.
        let mut tiff = b"II*\0\x08\0\0\0".to_vec();
        let dir = |w: u16, h: u32, next: u32| {
            let mut d = 2u16.to_le_bytes().to_vec();
            d.extend_from_slice(&[0, 1, 3, 0, 1, 0, 0, 0]);
            d.extend_from_slice(&u32::from(w).to_le_bytes());
            d.extend_from_slice(&[1, 1, 4, 0, 1, 0, 0, 0]);
            d.extend_from_slice(&h.to_le_bytes());
            d.extend_from_slice(&next.to_le_bytes());
            d
        };
        tiff.extend(dir(10, 10, 38));
        tiff.extend(dir(30, 20, 0));
        let got = sniff(&tiff).unwrap();
        assert_eq!((got.pages, got.width, got.height), (2, 30, 20));
        // A directory pointing to itself.
        let mut looped = b"II*\0\x08\0\0\0".to_vec();
        looped.extend(dir(10, 10, 8));
        assert_eq!(sniff(&looped).unwrap_err().reason, SkipReason::BrokenFile);

        assert_eq!(
            sniff(b"hello").unwrap_err().reason,
            SkipReason::UnsupportedFormat
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n").unwrap_err().reason,
            SkipReason::BrokenFile
        );
    }

    #[test]
    fn pdf_images_become_pictures() {
        let limits = Limits::default();
        let gray = pdf_picture(
            PdfImage::Raw {
                width: 2,
                height: 2,
                components: 1,
                bits: 8,
                inverted: false,
                samples: &[0, 255, 255, 0],
            },
            &limits,
        )
        .unwrap();
        assert_eq!(&gray[..], b"P5\n2 2\n255\n\0\xff\xff\0");
        assert_eq!(sniff(&gray).unwrap().width, 2);
        // One bit per pixel, rows padded to a byte: 0 is black.
        let bits = pdf_picture(
            PdfImage::Raw {
                width: 3,
                height: 1,
                components: 1,
                bits: 1,
                inverted: false,
                samples: &[0b0100_0000],
            },
            &limits,
        )
        .unwrap();
        assert_eq!(&bits[bits.len() - 3..], &[0, 255, 0]);
        let rgb = pdf_picture(
            PdfImage::Raw {
                width: 1,
                height: 1,
                components: 3,
                bits: 8,
                inverted: false,
                samples: &[1, 2, 3],
            },
            &limits,
        )
        .unwrap();
        assert_eq!(&rgb[..], b"P6\n1 1\n255\n\x01\x02\x03");
        let short = PdfImage::Raw {
            width: 100,
            height: 100,
            components: 3,
            bits: 8,
            inverted: false,
            samples: &[0; 10],
        };
        assert_eq!(
            pdf_picture(short, &limits).unwrap_err().reason,
            SkipReason::BrokenFile
        );
        let huge = PdfImage::Raw {
            width: 100_000,
            height: 100_000,
            components: 1,
            bits: 8,
            inverted: false,
            samples: &[],
        };
        assert_eq!(
            pdf_picture(huge, &limits).unwrap_err().reason,
            SkipReason::LimitExceeded
        );
        let cmyk = PdfImage::Raw {
            width: 1,
            height: 1,
            components: 4,
            bits: 8,
            inverted: false,
            samples: &[0; 4],
        };
        assert_eq!(
            pdf_picture(cmyk, &limits).unwrap_err().reason,
            SkipReason::UnsupportedFormat
        );
    }

    #[test]
    fn language_names_are_checked() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(languages(&names(&["eng", "deu"])).unwrap(), "eng+deu");
        assert_eq!(languages(&names(&["chi_sim"])).unwrap(), "chi_sim");
        for bad in [&[][..], &["-c"], &["../x"], &["/etc/x"], &["e ng"], &[""]] {
            assert_eq!(
                languages(&names(bad)).unwrap_err().reason,
                SkipReason::OcrUnavailable,
                "{bad:?}"
            );
        }
    }
}
