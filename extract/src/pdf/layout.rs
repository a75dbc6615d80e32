//! From positioned glyphs to text, as `pdftotext -layout` lays it out: glyphs are grouped by
//! text direction (four rotations), then into lines by baseline, ordered top to bottom; in a
//! line glyphs are ordered left to right and a gap wider than a fraction of the font size
//! starts a new word, so words neither run together (`DOCUMENTNO.DATE`) nor split (`Te st`)
//! whatever order or operators drew them. A glyph drawn again over itself (fake bold) is kept
//! once; words in right-to-left scripts drawn in visual order are put back in logical order.

use super::content::{Glyph, Glyphs};

/// A gap wider than this share of the font size separates words (poppler uses 0.1 for its
/// word breaks and merges closer fragments back).
const WORD_GAP: f64 = 0.15;
/// Baselines closer than this share of the font size are one line.
const LINE_TOLERANCE: f64 = 0.4;
/// A gap wider than this many font sizes is a column gap: written as several spaces.
const COLUMN_GAP: f64 = 2.0;

/// A glyph in its direction's frame: `x` along the text, `y` up across it.
struct Placed<'g> {
    glyph: &'g Glyph,
    x: f64,
    y: f64,
    advance: f64,
    size: f64,
}

fn rotation(g: &Glyph) -> usize {
    let angle = g.uy.atan2(g.ux).to_degrees();
    let a = angle.rem_euclid(360.0);
    if !(45.0..315.0).contains(&a) {
        0
    } else if a < 135.0 {
        1
    } else if a < 225.0 {
        2
    } else {
        3
    }
}

fn frame(rot: usize, x: f64, y: f64) -> (f64, f64) {
    match rot {
        1 => (y, -x),
        2 => (-x, -y),
        3 => (-y, x),
        _ => (x, y),
    }
}

fn is_rtl(c: char) -> bool {
    matches!(u32::from(c), 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

/// The text of a page's glyphs: lines separated by `\n`, words by spaces.
pub(crate) fn page_text(page: &Glyphs) -> String {
    let mut by_rotation: [Vec<Placed<'_>>; 4] = Default::default();
    for g in &page.glyphs {
        let rot = rotation(g);
        let (x, y) = frame(rot, g.x, g.y);
        let (adx, _) = frame(rot, g.dx, g.dy);
        if let Some(group) = by_rotation.get_mut(rot) {
            group.push(Placed {
                glyph: g,
                x,
                y,
                advance: adx,
                size: g.size.max(0.01),
            });
        }
    }
    let mut out = String::new();
    for mut group in by_rotation {
        if group.is_empty() {
            continue;
        }
        // Top to bottom, then left to right.
        group.sort_by(|a, b| b.y.total_cmp(&a.y).then(a.x.total_cmp(&b.x)));
        let mut lines: Vec<Vec<Placed<'_>>> = Vec::new();
        let mut line_y = f64::NAN;
        let mut line_size = 0.0f64;
        for p in group {
            let same = !lines.is_empty()
                && (line_y - p.y).abs() < LINE_TOLERANCE * line_size.max(p.size).min(p.size * 3.0);
            if !same {
                lines.push(Vec::new());
                line_y = p.y;
                line_size = p.size;
            }
            if let Some(line) = lines.last_mut() {
                line.push(p);
            }
        }
        for mut line in lines {
            line.sort_by(|a, b| a.x.total_cmp(&b.x));
            write_line(&page.text, &line, &mut out);
            out.push('\n');
        }
    }
    out
}

fn write_line(text: &str, line: &[Placed<'_>], out: &mut String) {
    let mut word = String::new();
    // Gaps in font sizes: before the word being built, and since it ended.
    let mut gap_before = 0.0f64;
    let mut gap_after = 0.0f64;
    let mut wrote_any = false;
    let mut prev: Option<&Placed<'_>> = None;
    for p in line {
        let s = text
            .get(p.glyph.start as usize..p.glyph.end as usize)
            .unwrap_or_default();
        let mut breaks = false;
        if let Some(q) = prev {
            let size = p.size.max(q.size);
            // Fake bold: the same glyph again at (almost) the same place.
            if (p.x - q.x).abs() < 0.1 * size
                && text.get(q.glyph.start as usize..q.glyph.end as usize) == Some(s)
            {
                continue;
            }
            let gap = p.x - (q.x + q.advance.max(0.0));
            if gap > WORD_GAP * size {
                breaks = true;
                gap_after = gap_after.max(gap / size);
            }
        }
        prev = Some(p);
        let blank = s.chars().all(char::is_whitespace);
        if (breaks || blank) && !word.is_empty() {
            emit_word(&mut word, gap_before, wrote_any, out);
            wrote_any = true;
            gap_before = gap_after;
            gap_after = 0.0;
        } else if breaks {
            gap_before = gap_before.max(gap_after);
            gap_after = 0.0;
        }
        if !blank {
            word.push_str(s);
        }
    }
    emit_word(&mut word, gap_before, wrote_any, out);
}

fn emit_word(word: &mut String, gap_before: f64, wrote_any: bool, out: &mut String) {
    if word.is_empty() {
        return;
    }
    if wrote_any {
        // Wide gaps keep columns apart, as pdftotext -layout does.
        let spaces = if gap_before > COLUMN_GAP { 3 } else { 1 };
        out.extend(std::iter::repeat_n(' ', spaces));
    }
    if word.chars().filter(|&c| is_rtl(c)).count() * 2 > word.chars().count() {
        out.extend(word.chars().rev());
    } else {
        out.push_str(word);
    }
    word.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyphs(items: &[(&str, f64, f64, f64)]) -> Glyphs {
        let mut page = Glyphs::default();
        for &(t, x, y, w) in items {
            let start = page.text.len() as u32;
            page.text.push_str(t);
            page.glyphs.push(Glyph {
                start,
                end: page.text.len() as u32,
                x,
                y,
                dx: w,
                dy: 0.0,
                ux: 1.0,
                uy: 0.0,
                size: 10.0,
            });
        }
        page
    }

    #[test]
    fn words_from_gaps_not_from_drawing_order() {
        // "Te" and "st" drawn apart by a kerning gap smaller than a word gap; "NO." then
        // "DATE" with a real gap; the second line drawn first.
        let page = glyphs(&[
            ("x", 0.0, 0.0, 5.0),
            ("T", 0.0, 20.0, 5.0),
            ("e", 5.0, 20.0, 5.0),
            ("s", 10.5, 20.0, 5.0),
            ("t", 15.0, 20.0, 5.0),
            ("N", 30.0, 20.0, 5.0),
            ("O", 35.0, 20.0, 5.0),
            (".", 40.0, 20.0, 2.0),
            ("D", 48.0, 20.0, 5.0),
        ]);
        assert_eq!(page_text(&page), "Test NO. D\nx\n");
    }

    #[test]
    fn fake_bold_and_right_to_left() {
        let page = glyphs(&[
            ("a", 0.0, 0.0, 5.0),
            ("a", 0.3, 0.0, 5.0),
            ("b", 5.0, 0.0, 5.0),
            ("\u{5d1}", 30.0, 0.0, 5.0),
            ("\u{5d0}", 35.0, 0.0, 5.0),
        ]);
        assert_eq!(page_text(&page), "ab \u{5d0}\u{5d1}\n");
    }
}
