//! The content-stream interpreter: runs a page's (or an appearance's) operators with the
//! graphics and text state that positions text (`cm`, `q`/`Q`, `BT`, `Tf`, `Tc`, `Tw`, `Tz`,
//! `TL`, `Ts`, `Td`, `TD`, `Tm`, `T*`, `Tj`, `TJ`, `'`, `"`, `Do` of form XObjects) and records
//! every glyph with its Unicode text, origin and advance in device space, for [`super::layout`].
//! The image XObjects a page draws (`Do`, in its forms too) are noted for OCR ([`super::image`]).
//!
//! Bounded: forms nest at most [`MAX_FORM_DEPTH`] deep and run at most [`MAX_FORMS`] times per
//! page (a form that draws itself stops at the depth cap), the state stack holds at most
//! [`MAX_STACK`] entries, and a page runs at most [`MAX_OPS`] operators and keeps at most
//! [`MAX_GLYPHS`] glyphs and [`MAX_PAGE_TEXT`] bytes of their text.

use std::collections::HashMap;
use std::rc::Rc;

use lopdf::{Dictionary, Document, Object, ObjectId};

use super::cmap::Code;
use super::font::Font;
use super::lexer::{Lexer, Operand};
use super::{decode_stream, resolve};

const MAX_FORM_DEPTH: usize = 12;
const MAX_FORMS: usize = 4000;
/// Most distinct image XObjects noted per page.
const MAX_IMAGES: usize = 256;
const MAX_STACK: usize = 256;
const MAX_OPS: usize = 8_000_000;
const MAX_GLYPHS: usize = 2_000_000;
/// Most bytes of glyph text kept for one page (a CMap can map one code to a long string).
const MAX_PAGE_TEXT: usize = 64 << 20;
/// Largest decoded content stream read.
pub(crate) const MAX_CONTENT: usize = 128 << 20;

/// An affine matrix `[a b c d e f]`: (x, y) -> (a x + c y + e, b x + d y + f).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Matrix([f64; 6]);

impl Matrix {
    pub(crate) const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn translate(x: f64, y: f64) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, x, y])
    }

    /// `self` then `other`: the product self × other.
    pub(crate) fn then(&self, other: &Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }

    pub(crate) fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let [a, b, c, d, e, f] = self.0;
        (a * x + c * y + e, b * x + d * y + f)
    }

    fn apply_vector(&self, x: f64, y: f64) -> (f64, f64) {
        let [a, b, c, d, _, _] = self.0;
        (a * x + c * y, b * x + d * y)
    }

    pub(crate) fn from_object(doc: &Document, object: Option<&Object>) -> Option<Matrix> {
        let Some(Object::Array(items)) = object.and_then(|o| resolve(doc, o)) else {
            return None;
        };
        let mut m = [0.0; 6];
        for (slot, item) in m.iter_mut().zip(items.iter()) {
            *slot = match resolve(doc, item)? {
                Object::Integer(i) => *i as f64,
                Object::Real(r) => f64::from(*r),
                _ => return None,
            };
        }
        (items.len() == 6 && m.iter().all(|v| v.is_finite())).then_some(Matrix(m))
    }
}

/// One glyph drawn: its text (a range of [`Glyphs::text`]), origin, advance and size, in
/// device space.
#[derive(Clone, Debug)]
pub(crate) struct Glyph {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) x: f64,
    pub(crate) y: f64,
    /// The glyph's extent along the text: its width (without character or word spacing).
    pub(crate) dx: f64,
    pub(crate) dy: f64,
    /// The text direction (unit vector of the text space x axis, or of the advance for
    /// vertical fonts).
    pub(crate) ux: f64,
    pub(crate) uy: f64,
    /// The font size in device space.
    pub(crate) size: f64,
}

/// The glyphs of one page, in drawing order.
#[derive(Debug, Default)]
pub(crate) struct Glyphs {
    pub(crate) text: String,
    pub(crate) glyphs: Vec<Glyph>,
    /// The page box glyphs must start in (device space), when known.
    pub(crate) clip: Option<[f64; 4]>,
}

#[derive(Clone)]
struct State {
    ctm: Matrix,
    font: Option<Rc<Font>>,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    scale: f64,
    leading: f64,
    rise: f64,
}

impl State {
    /// The graphics and text state a content stream starts with, under `ctm`.
    fn initial(ctm: Matrix) -> State {
        State {
            ctm,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
            leading: 0.0,
            rise: 0.0,
        }
    }
}

/// Fonts by the address of their dictionary in the (immutable) document, so that a font is
/// built once per document however often it is selected.
pub(crate) type FontCache = HashMap<usize, Rc<Font>>;

/// Runs content streams of one page.
pub(crate) struct Interpreter<'a, 'f> {
    doc: &'a Document,
    fonts: &'f mut FontCache,
    out: Glyphs,
    ops: usize,
    forms: usize,
    form_stack: Vec<ObjectId>,
    /// Set when a budget ran out: the page's text is partial.
    pub(crate) truncated: bool,
    /// Set when a form draws itself (directly or through others): damaged or hostile content.
    pub(crate) looped: bool,
    /// The image XObjects drawn (each once, in drawing order, at most [`MAX_IMAGES`]).
    pub(crate) images: Vec<&'a lopdf::Stream>,
    codes: Vec<Code>,
}

fn num(operands: &[Operand], i: usize) -> f64 {
    operands
        .get(i)
        .and_then(Operand::number)
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

fn dict<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Dictionary> {
    match resolve(doc, object)? {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

impl<'a, 'f> Interpreter<'a, 'f> {
    pub(crate) fn new(doc: &'a Document, fonts: &'f mut FontCache, clip: Option<[f64; 4]>) -> Self {
        Interpreter {
            doc,
            fonts,
            out: Glyphs {
                clip,
                ..Glyphs::default()
            },
            ops: 0,
            forms: 0,
            form_stack: Vec::new(),
            truncated: false,
            looped: false,
            images: Vec::new(),
            codes: Vec::new(),
        }
    }

    pub(crate) fn finish(self) -> Glyphs {
        self.out
    }

    /// Runs one content stream (already decoded) with these resources and initial CTM.
    pub(crate) fn run(&mut self, content: &[u8], resources: Option<&'a Dictionary>, ctm: Matrix) {
        self.run_with(content, resources, State::initial(ctm));
    }

    fn run_with(&mut self, content: &[u8], resources: Option<&'a Dictionary>, initial: State) {
        let mut lexer = Lexer::new(content);
        let mut operands: Vec<Operand> = Vec::new();
        let mut state = initial;
        let mut stack: Vec<State> = Vec::new();
        let mut tm = Matrix::IDENTITY;
        let mut tlm = Matrix::IDENTITY;
        while let Some(op) = lexer.next_op(&mut operands) {
            self.ops += 1;
            if self.ops > MAX_OPS
                || self.out.glyphs.len() > MAX_GLYPHS
                || self.out.text.len() > MAX_PAGE_TEXT
            {
                self.truncated = true;
                return;
            }
            match op {
                b"q" if stack.len() < MAX_STACK => stack.push(state.clone()),
                b"Q" => {
                    if let Some(s) = stack.pop() {
                        state = s;
                    }
                }
                b"cm" => {
                    let m = Matrix([
                        num(&operands, 0),
                        num(&operands, 1),
                        num(&operands, 2),
                        num(&operands, 3),
                        num(&operands, 4),
                        num(&operands, 5),
                    ]);
                    state.ctm = m.then(&state.ctm);
                }
                b"BT" => {
                    tm = Matrix::IDENTITY;
                    tlm = Matrix::IDENTITY;
                }
                b"Tc" => state.char_spacing = num(&operands, 0),
                b"Tw" => state.word_spacing = num(&operands, 0),
                b"Tz" => state.scale = num(&operands, 0) / 100.0,
                b"TL" => state.leading = num(&operands, 0),
                b"Ts" => state.rise = num(&operands, 0),
                b"Tf" => {
                    state.size = num(&operands, 1);
                    state.font = operands
                        .first()
                        .and_then(Operand::name)
                        .and_then(|name| self.font(resources, name));
                }
                b"Td" => {
                    tlm = Matrix::translate(num(&operands, 0), num(&operands, 1)).then(&tlm);
                    tm = tlm;
                }
                b"TD" => {
                    state.leading = -num(&operands, 1);
                    tlm = Matrix::translate(num(&operands, 0), num(&operands, 1)).then(&tlm);
                    tm = tlm;
                }
                b"Tm" => {
                    tlm = Matrix([
                        num(&operands, 0),
                        num(&operands, 1),
                        num(&operands, 2),
                        num(&operands, 3),
                        num(&operands, 4),
                        num(&operands, 5),
                    ]);
                    tm = tlm;
                }
                b"T*" => {
                    tlm = Matrix::translate(0.0, -state.leading).then(&tlm);
                    tm = tlm;
                }
                b"Tj" => {
                    if let Some(Operand::String(s)) = operands.first() {
                        self.show(&state, &mut tm, s);
                    }
                }
                b"'" => {
                    tlm = Matrix::translate(0.0, -state.leading).then(&tlm);
                    tm = tlm;
                    if let Some(Operand::String(s)) = operands.first() {
                        self.show(&state, &mut tm, s);
                    }
                }
                b"\"" => {
                    state.word_spacing = num(&operands, 0);
                    state.char_spacing = num(&operands, 1);
                    tlm = Matrix::translate(0.0, -state.leading).then(&tlm);
                    tm = tlm;
                    if let Some(Operand::String(s)) = operands.get(2) {
                        self.show(&state, &mut tm, s);
                    }
                }
                b"TJ" => {
                    // Some writers put the array's items as separate operands.
                    let items: &[Operand] = match operands.first() {
                        Some(Operand::Array(items)) => items,
                        _ => &operands,
                    };
                    for item in items {
                        match item {
                            Operand::String(s) => self.show(&state, &mut tm, s),
                            Operand::Number(n) if n.is_finite() => {
                                let shift = -n / 1000.0 * state.size;
                                let vertical = state.font.as_ref().is_some_and(|f| f.vertical);
                                tm = if vertical {
                                    Matrix::translate(0.0, shift).then(&tm)
                                } else {
                                    Matrix::translate(shift * state.scale, 0.0).then(&tm)
                                };
                            }
                            _ => {}
                        }
                    }
                }
                b"Do" => {
                    if let Some(name) = operands.first().and_then(Operand::name) {
                        let name = name.to_vec();
                        self.form(resources, &name, &state);
                    }
                }
                _ => {}
            }
        }
    }

    fn resource(
        &self,
        resources: Option<&'a Dictionary>,
        kind: &[u8],
        name: &[u8],
    ) -> Option<&'a Object> {
        let doc = self.doc;
        let group = dict(doc, resources?.get(kind).ok()?)?;
        resolve(doc, group.get(name).ok()?)
    }

    fn font(&mut self, resources: Option<&'a Dictionary>, name: &[u8]) -> Option<Rc<Font>> {
        let object = self.resource(resources, b"Font", name)?;
        let font_dict = dict(self.doc, object)?;
        let key = font_dict as *const Dictionary as usize;
        if let Some(font) = self.fonts.get(&key) {
            return Some(Rc::clone(font));
        }
        let font = Rc::new(Font::load(self.doc, font_dict));
        self.fonts.insert(key, Rc::clone(&font));
        Some(font)
    }

    /// Runs a form XObject, or notes an image XObject (other XObjects are ignored).
    fn form(&mut self, resources: Option<&'a Dictionary>, name: &[u8], state: &State) {
        let doc = self.doc;
        let Some(group) = resources
            .and_then(|r| r.get(b"XObject").ok())
            .and_then(|g| dict(doc, g))
        else {
            return;
        };
        let Ok(entry) = group.get(name) else {
            return;
        };
        let id = match entry {
            Object::Reference(id) => Some(*id),
            _ => None,
        };
        let Some(Object::Stream(stream)) = resolve(doc, entry) else {
            return;
        };
        match stream
            .dict
            .get(b"Subtype")
            .ok()
            .and_then(|s| s.as_name().ok())
        {
            Some(b"Form") => {}
            Some(b"Image") => {
                if self.images.len() < MAX_IMAGES
                    && !self.images.iter().any(|seen| std::ptr::eq(*seen, stream))
                {
                    self.images.push(stream);
                }
                return;
            }
            _ => return,
        }
        self.run_form(stream, id, resources, state.clone());
    }

    /// Runs a form stream (a form XObject or an annotation appearance) under `state`.
    fn run_form(
        &mut self,
        stream: &'a lopdf::Stream,
        id: Option<ObjectId>,
        parent_resources: Option<&'a Dictionary>,
        mut state: State,
    ) {
        if self.form_stack.len() >= MAX_FORM_DEPTH || self.forms >= MAX_FORMS {
            self.truncated = true;
            return;
        }
        if let Some(id) = id {
            if self.form_stack.contains(&id) {
                self.looped = true;
                return;
            }
        }
        self.forms += 1;
        let Some(content) = decode_stream(stream, MAX_CONTENT) else {
            return;
        };
        if let Some(m) = Matrix::from_object(self.doc, stream.dict.get(b"Matrix").ok()) {
            state.ctm = m.then(&state.ctm);
        }
        let resources = stream
            .dict
            .get(b"Resources")
            .ok()
            .and_then(|r| dict(self.doc, r))
            .or(parent_resources);
        self.form_stack.push(id.unwrap_or((0, 0)));
        self.run_with(&content, resources, state);
        self.form_stack.pop();
    }

    /// Runs an annotation's appearance stream placed in its rectangle.
    pub(crate) fn run_appearance(
        &mut self,
        stream: &'a lopdf::Stream,
        id: Option<ObjectId>,
        rect: [f64; 4],
    ) {
        let doc = self.doc;
        let matrix =
            Matrix::from_object(doc, stream.dict.get(b"Matrix").ok()).unwrap_or(Matrix::IDENTITY);
        let bbox = match stream.dict.get(b"BBox").ok().and_then(|b| resolve(doc, b)) {
            Some(Object::Array(items)) if items.len() == 4 => {
                let mut b = [0.0; 4];
                for (slot, item) in b.iter_mut().zip(items) {
                    *slot = match resolve(doc, item) {
                        Some(Object::Integer(i)) => *i as f64,
                        Some(Object::Real(r)) => f64::from(*r),
                        _ => 0.0,
                    };
                }
                b
            }
            _ => rect,
        };
        // The appearance's box, transformed by its matrix, is fitted onto the rectangle.
        let corners = [
            matrix.apply(bbox[0], bbox[1]),
            matrix.apply(bbox[2], bbox[1]),
            matrix.apply(bbox[0], bbox[3]),
            matrix.apply(bbox[2], bbox[3]),
        ];
        let min_x = corners.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
        let max_x = corners
            .iter()
            .map(|c| c.0)
            .fold(f64::NEG_INFINITY, f64::max);
        let min_y = corners.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
        let max_y = corners
            .iter()
            .map(|c| c.1)
            .fold(f64::NEG_INFINITY, f64::max);
        let (rx0, rx1) = (rect[0].min(rect[2]), rect[0].max(rect[2]));
        let (ry0, ry1) = (rect[1].min(rect[3]), rect[1].max(rect[3]));
        let sx = if max_x > min_x {
            (rx1 - rx0) / (max_x - min_x)
        } else {
            1.0
        };
        let sy = if max_y > min_y {
            (ry1 - ry0) / (max_y - min_y)
        } else {
            1.0
        };
        let fit = Matrix([sx, 0.0, 0.0, sy, rx0 - min_x * sx, ry0 - min_y * sy]);
        // `run_form` applies the appearance's own matrix first.
        self.run_form(stream, id, None, State::initial(fit));
    }

    /// Shows a string: one glyph per code, advancing the text matrix.
    fn show(&mut self, state: &State, tm: &mut Matrix, bytes: &[u8]) {
        let Some(font) = state.font.clone() else {
            return;
        };
        let mut codes = std::mem::take(&mut self.codes);
        font.codes(bytes, &mut codes);
        let size = state.size;
        let h = state.scale;
        for &code in &codes {
            let width = font.width(code);
            let spacing = state.char_spacing
                + if font.is_word_space(code) {
                    state.word_spacing
                } else {
                    0.0
                };
            let trm_base = tm.then(&state.ctm);
            let render = Matrix([size * h, 0.0, 0.0, size, 0.0, state.rise]).then(&trm_base);
            let (x, y) = render.apply(0.0, 0.0);
            // The displacement includes character and word spacing; the glyph's own extent
            // does not, so that letter-spaced text keeps its gaps (as poppler measures them).
            let (tx, ty, ex, ey) = if font.vertical {
                (0.0, -size + spacing, 0.0, -size)
            } else {
                ((width * size + spacing) * h, 0.0, width * size * h, 0.0)
            };
            let (dx, dy) = trm_base.apply_vector(ex, ey);
            let (vx, vy) = render.apply_vector(0.0, 1.0);
            let glyph_size = vx.hypot(vy);
            let (ax, ay) = if font.vertical {
                let (gx, gy) = trm_base.apply_vector(0.0, -1.0);
                (gx, gy)
            } else {
                trm_base.apply_vector(1.0, 0.0)
            };
            let norm = ax.hypot(ay);
            let (ux, uy) = if norm > 0.0 {
                (ax / norm, ay / norm)
            } else {
                (1.0, 0.0)
            };
            if let Some(text) = font.text(code) {
                let inside = self.out.clip.is_none_or(|[x0, y0, x1, y1]| {
                    let margin = glyph_size.min(72.0);
                    x >= x0 - margin && x <= x1 + margin && y >= y0 - margin && y <= y1 + margin
                });
                if !text.is_empty() && inside && x.is_finite() && y.is_finite() {
                    let start = self.out.text.len() as u32;
                    self.out.text.push_str(&text);
                    self.out.glyphs.push(Glyph {
                        start,
                        end: self.out.text.len() as u32,
                        x,
                        y,
                        dx,
                        dy,
                        ux,
                        uy,
                        size: glyph_size,
                    });
                }
            }
            *tm = Matrix::translate(tx, ty).then(tm);
        }
        self.codes = codes;
    }
}
