//! The pictures OCR reads on pages without a text layer: of the image XObjects a page draws
//! (noted by the interpreter, in forms too), the largest, turned into what
//! [`crate::ocr::pdf_picture`] takes: a `/DCTDecode` stream as the JPEG file it is (after the
//! filters before it, if any), or decoded samples of gray, RGB, calibrated, ICC-based (1 or 3
//! components), indexed or one-ink separation colour, 1, 2, 4 or 8 bits, and image masks.
//! CCITT, JBIG2, JPEG 2000, CMYK, Lab and 16-bit images are `unsupported_format`: OCR does not
//! read them.
//!
//! Never decodes before the image's declared size has been checked against
//! [`Limits::ocr_max_pixels`](crate::types::Limits): the samples decoded are capped at what
//! that size needs, so a stream claiming 100,000 x 100,000 pixels allocates nothing.

use std::borrow::Cow;

use lopdf::{Dictionary, Document, Object, Stream};

use super::{decode_stream, decode_stream_prefix, get, resolve};
use crate::ocr::{pdf_picture, PdfImage};
use crate::types::{Limits, Outcome, Skip, SkipReason};

/// Images with fewer pixels than this (logos, rules, bullets) are not worth OCR.
const MIN_PIXELS: u64 = 100 * 100;
/// Nor are images thinner than this.
const MIN_SIDE: u64 = 16;
/// Largest lookup table of an `/Indexed` colour space (256 entries of 3 components).
const MAX_LOOKUP: usize = 256 * 3;

fn int(doc: &Document, dict: &Dictionary, key: &[u8]) -> Option<i64> {
    match get(doc, dict, key)? {
        Object::Integer(i) => Some(*i),
        Object::Real(r) if r.fract() == 0.0 => Some(*r as i64),
        _ => None,
    }
}

/// An image's declared width and height, when both are positive.
fn size(doc: &Document, stream: &Stream) -> Option<(u64, u64)> {
    let width = u64::try_from(int(doc, &stream.dict, b"Width")?).ok()?;
    let height = u64::try_from(int(doc, &stream.dict, b"Height")?).ok()?;
    (width > 0 && height > 0).then_some((width, height))
}

/// Of the images a page draws, the largest by declared pixel count, unless all are tiny.
pub(super) fn largest<'a>(doc: &Document, images: &[&'a Stream]) -> Option<&'a Stream> {
    images
        .iter()
        .filter_map(|image| {
            let (w, h) = size(doc, image)?;
            let pixels = w.saturating_mul(h);
            (pixels >= MIN_PIXELS && w >= MIN_SIDE && h >= MIN_SIDE).then_some((pixels, *image))
        })
        .max_by_key(|(pixels, _)| *pixels)
        .map(|(_, image)| image)
}

fn unsupported(what: impl std::fmt::Display) -> Skip {
    Skip::new(
        SkipReason::UnsupportedFormat,
        format!("pdf image: {what}, which OCR does not read"),
    )
}

fn name_text(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// What an image's colour space gives OCR: samples of `components` components, inverted
/// (a separation's tint: 1 is full ink), or indices into a palette.
enum Colour {
    Direct { components: u8, inverted: bool },
    Indexed { base: u8, lookup: Vec<u8> },
}

fn direct(doc: &Document, space: &Object) -> Outcome<u8> {
    match colour(doc, space, false)? {
        Colour::Direct {
            components,
            inverted: false,
        } => Ok(components),
        _ => Err(unsupported("a palette over an inverted or indexed space")),
    }
}

/// Reads a colour space (not a resource name: image XObjects give theirs directly).
fn colour(doc: &Document, space: &Object, indexed_ok: bool) -> Outcome<Colour> {
    let plain = |components| {
        Ok(Colour::Direct {
            components,
            inverted: false,
        })
    };
    let items: &[Object] = match resolve(doc, space) {
        Some(Object::Name(name)) => {
            return match name.as_slice() {
                b"DeviceGray" | b"G" | b"CalGray" => plain(1),
                b"DeviceRGB" | b"RGB" | b"CalRGB" => plain(3),
                other => Err(unsupported(format!("colour space /{}", name_text(other)))),
            }
        }
        Some(Object::Array(items)) => items,
        _ => return Err(Skip::broken("pdf image: no colour space")),
    };
    let family = items
        .first()
        .and_then(|f| resolve(doc, f))
        .and_then(|f| f.as_name().ok())
        .unwrap_or_default();
    match family {
        b"CalGray" => plain(1),
        b"CalRGB" => plain(3),
        b"ICCBased" => {
            let profile = items
                .get(1)
                .and_then(|p| resolve(doc, p))
                .and_then(|p| p.as_stream().ok())
                .ok_or_else(|| Skip::broken("pdf image: ICCBased without its profile"))?;
            match int(doc, &profile.dict, b"N") {
                Some(1) => plain(1),
                Some(3) => plain(3),
                Some(n) => Err(unsupported(format!("an ICC profile of {n} components"))),
                None => Err(Skip::broken("pdf image: ICC profile without /N")),
            }
        }
        // One ink: its tint is the amount of ink, the reverse of gray.
        b"Separation" => Ok(Colour::Direct {
            components: 1,
            inverted: true,
        }),
        b"Indexed" | b"I" if indexed_ok => {
            let base = items
                .get(1)
                .ok_or_else(|| Skip::broken("pdf image: Indexed without its base"))?;
            let base = direct(doc, base)?;
            let lookup = match items.get(3).and_then(|l| resolve(doc, l)) {
                Some(Object::String(bytes, _)) => bytes.clone(),
                Some(Object::Stream(stream)) => decode_stream(stream, MAX_LOOKUP)
                    .ok_or_else(|| unsupported("a palette in an unknown filter"))?,
                _ => return Err(Skip::broken("pdf image: Indexed without its palette")),
            };
            Ok(Colour::Indexed { base, lookup })
        }
        other => Err(unsupported(format!("colour space /{}", name_text(other)))),
    }
}

/// Turns an image XObject into a picture for OCR. Fails as `limit_exceeded` when its declared
/// size is over the OCR pixel limit (nothing decoded), `unsupported_format` for what OCR does
/// not read, `broken_file` for a damaged image.
pub(super) fn picture<'a>(
    doc: &Document,
    stream: &'a Stream,
    limits: &Limits,
) -> Outcome<Cow<'a, [u8]>> {
    let (width, height) =
        size(doc, stream).ok_or_else(|| Skip::broken("pdf image: no /Width or /Height"))?;
    if width.saturating_mul(height) > limits.ocr_max_pixels {
        return Err(Skip::limit(format!(
            "pdf image: {width} x {height} pixels, over the OCR limit of {} pixels",
            limits.ocr_max_pixels
        )));
    }
    // Both fit in u32: their product is at most the pixel limit.
    let (Ok(w32), Ok(h32)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(Skip::limit("pdf image: too large"));
    };
    let filters: Vec<&[u8]> = match get(doc, &stream.dict, b"Filter") {
        None => Vec::new(),
        Some(Object::Name(n)) => vec![n.as_slice()],
        Some(Object::Array(items)) => items
            .iter()
            .filter_map(|i| resolve(doc, i).and_then(|i| i.as_name().ok()))
            .collect(),
        Some(_) => return Err(Skip::broken("pdf image: bad /Filter")),
    };
    for filter in &filters {
        if let b"JPXDecode" | b"CCITTFaxDecode" | b"CCF" | b"JBIG2Decode" = *filter {
            return Err(unsupported(format!("/{}", name_text(filter))));
        }
    }
    let mask = matches!(
        get(doc, &stream.dict, b"ImageMask"),
        Some(Object::Boolean(true))
    );
    // `/Decode [1 0]` (or `[1 0 1 0 1 0]`) inverts the samples.
    let inverted_decode = match get(doc, &stream.dict, b"Decode") {
        Some(Object::Array(items)) => {
            let first = items
                .first()
                .and_then(|v| resolve(doc, v))
                .and_then(|v| match v {
                    Object::Integer(i) => Some(*i as f64),
                    Object::Real(r) => Some(f64::from(*r)),
                    _ => None,
                });
            first.is_some_and(|v| v > 0.5)
        }
        _ => false,
    };
    let colour = if mask {
        Colour::Direct {
            components: 1,
            inverted: false,
        }
    } else {
        match stream.dict.get(b"ColorSpace").ok() {
            Some(space) => colour(doc, space, true)?,
            // A JPEG says its own components.
            None if filters.last().is_some_and(|f| is_dct(f)) => Colour::Direct {
                components: 3,
                inverted: false,
            },
            None => return Err(Skip::broken("pdf image: no colour space")),
        }
    };

    if filters.last().is_some_and(|f| is_dct(f)) {
        if matches!(colour, Colour::Indexed { .. }) {
            return Err(Skip::broken("pdf image: an indexed JPEG"));
        }
        if filters.len() == 1 {
            return pdf_picture(PdfImage::Jpeg(&stream.content), limits);
        }
        // The JPEG's own size is bounded by that of its samples (and a little more).
        let cap = usize::try_from(width.saturating_mul(height).saturating_mul(3))
            .unwrap_or(usize::MAX)
            .saturating_add(1 << 20);
        let jpeg = decode_stream_prefix(stream, filters.len() - 1, cap)
            .ok_or_else(|| unsupported("a filter before its JPEG data"))?;
        return pdf_picture(PdfImage::Jpeg(&jpeg), limits).map(|p| Cow::Owned(p.into_owned()));
    }

    let bits = if mask {
        1
    } else {
        match int(doc, &stream.dict, b"BitsPerComponent") {
            Some(b @ (1 | 2 | 4 | 8)) => b as u8,
            Some(b) => return Err(unsupported(format!("{b}-bit samples"))),
            None => return Err(Skip::broken("pdf image: no /BitsPerComponent")),
        }
    };
    let (components, inverted) = match &colour {
        Colour::Direct {
            components,
            inverted,
        } => (*components, *inverted != inverted_decode),
        Colour::Indexed { .. } => (1, false),
    };
    let row_bytes = (width * u64::from(components) * u64::from(bits)).div_ceil(8);
    let needed = usize::try_from(row_bytes.saturating_mul(height))
        .map_err(|_| Skip::limit("pdf image: too large"))?;
    let samples = decode_stream(stream, needed).ok_or_else(|| {
        let names: Vec<String> = filters.iter().map(|f| name_text(f)).collect();
        unsupported(format!("filters {names:?}"))
    })?;
    if samples.len() < needed {
        return Err(Skip::broken(format!(
            "pdf image: {} bytes of samples, {needed} expected",
            samples.len()
        )));
    }
    let row_bytes = usize::try_from(row_bytes).map_err(|_| Skip::limit("pdf image: too large"))?;
    let raw = |components, bits, inverted, samples: &[u8]| {
        pdf_picture(
            PdfImage::Raw {
                width: w32,
                height: h32,
                components,
                bits,
                inverted,
                samples,
            },
            limits,
        )
        .map(|p| Cow::Owned(p.into_owned()))
    };
    match colour {
        Colour::Direct { components, .. } if bits == 8 || (bits == 1 && components == 1) => {
            raw(components, bits, inverted, &samples)
        }
        Colour::Direct { components, .. } => {
            let wide = widen(&samples, row_bytes, width, height, components, bits);
            raw(components, 8, inverted, &wide)
        }
        Colour::Indexed { base, lookup } => {
            let indices = unpack(&samples, row_bytes, width, height, 1, bits);
            let base_len = usize::from(base);
            let mut out = Vec::with_capacity(indices.len().saturating_mul(base_len));
            for index in indices {
                let at = usize::from(index) * base_len;
                match lookup.get(at..at + base_len) {
                    Some(entry) => out.extend_from_slice(entry),
                    // An index past the palette: paper rather than a failure.
                    None => out.extend(std::iter::repeat_n(255, base_len)),
                }
            }
            raw(base, 8, false, &out)
        }
    }
}

fn is_dct(filter: &[u8]) -> bool {
    filter == b"DCTDecode" || filter == b"DCT"
}

/// The samples of packed rows (`bits` of 1, 2, 4 or 8 each, rows starting on a byte), one byte
/// each, unscaled.
fn unpack(
    samples: &[u8],
    row_bytes: usize,
    width: u64,
    height: u64,
    components: u8,
    bits: u8,
) -> Vec<u8> {
    let per_row = width as usize * usize::from(components);
    let mut out = Vec::with_capacity(per_row.saturating_mul(height as usize));
    let bits = usize::from(bits.clamp(1, 8));
    let mask = ((1u16 << bits) - 1) as u8;
    for row in samples.chunks(row_bytes.max(1)).take(height as usize) {
        for i in 0..per_row {
            let bit = i * bits;
            let byte = row.get(bit / 8).copied().unwrap_or(0);
            // Samples never straddle bytes: `bits` divides 8.
            let shift = 8usize.saturating_sub(bits + bit % 8);
            out.push(byte >> shift & mask);
        }
    }
    out
}

/// Samples of 1, 2 or 4 bits as 8-bit samples (full scale).
fn widen(
    samples: &[u8],
    row_bytes: usize,
    width: u64,
    height: u64,
    components: u8,
    bits: u8,
) -> Vec<u8> {
    let max = u16::from(((1u16 << bits.clamp(1, 8)) - 1) as u8).max(1);
    let mut out = unpack(samples, row_bytes, width, height, components, bits);
    for sample in &mut out {
        *sample = (u16::from(*sample) * 255 / max) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::dictionary;

    fn image(dict: Dictionary, samples: Vec<u8>) -> Stream {
        let mut dict = dict;
        dict.set("Type", "XObject");
        dict.set("Subtype", "Image");
        Stream::new(dict, samples)
    }

    /// The reason, or the PNM picture, of each layout.
    #[test]
    fn layouts_become_pictures_or_are_refused() {
        let doc = Document::with_version("1.5");
        let limits = Limits::default();
        let picture = |stream: &Stream| picture(&doc, stream, &limits).map(|p| p.into_owned());
        let pnm = |magic: &str, w: u32, h: u32, samples: &[u8]| {
            let mut out = format!("{magic}\n{w} {h}\n255\n").into_bytes();
            out.extend_from_slice(samples);
            out
        };
        // Two-bit gray, widened: 0, 1, 2, 3 -> 0, 85, 170, 255.
        let gray2 = image(
            dictionary! { "Width" => 4, "Height" => 1, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 2 },
            vec![0b0001_1011],
        );
        assert_eq!(
            picture(&gray2).unwrap(),
            pnm("P5", 4, 1, &[0, 85, 170, 255])
        );
        // Indexed over RGB, the palette a string.
        let indexed = image(
            dictionary! {
                "Width" => 2, "Height" => 1, "BitsPerComponent" => 8,
                "ColorSpace" => vec!["Indexed".into(), "DeviceRGB".into(), 1.into(),
                    Object::string_literal(vec![1u8, 2, 3, 4, 5, 6])],
            },
            vec![1, 0],
        );
        assert_eq!(
            picture(&indexed).unwrap(),
            pnm("P6", 2, 1, &[4, 5, 6, 1, 2, 3])
        );
        // A separation's tint is ink: inverted.
        let separation = image(
            dictionary! {
                "Width" => 2, "Height" => 1, "BitsPerComponent" => 8,
                "ColorSpace" => vec!["Separation".into(), "Black".into(), "DeviceGray".into(), Object::Null],
            },
            vec![0, 255],
        );
        assert_eq!(picture(&separation).unwrap(), pnm("P5", 2, 1, &[255, 0]));
        // An image mask with /Decode [1 0]: 1 bits paint (black), 0 bits are paper.
        let mask = image(
            dictionary! { "Width" => 2, "Height" => 1, "ImageMask" => true, "Decode" => vec![1.into(), 0.into()] },
            vec![0b1000_0000],
        );
        assert_eq!(picture(&mask).unwrap(), pnm("P5", 2, 1, &[0, 255]));

        let reason = |stream: &Stream| picture(stream).unwrap_err().reason;
        for (dict, samples, expected) in [
            (
                dictionary! { "Width" => 1, "Height" => 1, "ColorSpace" => "DeviceCMYK", "BitsPerComponent" => 8 },
                vec![0; 4],
                SkipReason::UnsupportedFormat,
            ),
            (
                dictionary! { "Width" => 1, "Height" => 1, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 16 },
                vec![0; 2],
                SkipReason::UnsupportedFormat,
            ),
            (
                dictionary! { "Width" => 1, "Height" => 1, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 1, "Filter" => "CCITTFaxDecode" },
                vec![0],
                SkipReason::UnsupportedFormat,
            ),
            (
                dictionary! { "Width" => 1, "Height" => 1, "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Filter" => "JPXDecode" },
                vec![0],
                SkipReason::UnsupportedFormat,
            ),
            // Fewer samples than the size says.
            (
                dictionary! { "Width" => 10, "Height" => 10, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
                vec![0; 10],
                SkipReason::BrokenFile,
            ),
            // Over the pixel limit: refused before decoding.
            (
                dictionary! { "Width" => 100_000, "Height" => 100_000, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
                vec![0; 10],
                SkipReason::LimitExceeded,
            ),
            (
                dictionary! { "Width" => 0, "Height" => 10, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
                vec![],
                SkipReason::BrokenFile,
            ),
        ] {
            let stream = image(dict.clone(), samples);
            assert_eq!(reason(&stream), expected, "{dict:?}");
        }
    }

    #[test]
    fn the_largest_image_is_chosen_and_tiny_ones_never() {
        let doc = Document::with_version("1.5");
        let sized = |w: i64, h: i64| image(dictionary! { "Width" => w, "Height" => h }, vec![]);
        let (icon, page, strip) = (sized(64, 64), sized(1200, 1600), sized(2000, 12));
        assert!(std::ptr::eq(
            largest(&doc, &[&icon, &page, &strip]).unwrap(),
            &page
        ));
        assert!(largest(&doc, &[&icon, &strip]).is_none());
    }
}
