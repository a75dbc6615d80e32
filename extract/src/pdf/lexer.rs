//! A tolerant tokenizer of PDF content streams and CMaps: operands (numbers, strings, names,
//! arrays, dictionaries) and operators, never failing. Damaged input is skipped a byte at a
//! time; inline image data (`BI ... ID <bytes> EI`) is stepped over. Arrays and dictionaries
//! nest at most [`MAX_NESTING`] deep and hold at most [`MAX_ITEMS`] items, so that no input can
//! recurse deeply or grow without bound.

/// Deepest array/dictionary nesting parsed; deeper levels are skipped as a whole.
const MAX_NESTING: usize = 32;
/// Most items kept in one array or dictionary (the rest are parsed and dropped).
const MAX_ITEMS: usize = 1 << 16;
/// Most operands kept before an operator (a real operator takes at most a handful).
const MAX_OPERANDS: usize = 64;

/// One operand of a content-stream operator.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    Number(f64),
    String(Vec<u8>),
    Name(Vec<u8>),
    Array(Vec<Operand>),
    Dict(Vec<(Vec<u8>, Operand)>),
    Bool(bool),
    Null,
    /// An indirect reference `N G R` (inside arrays and dictionaries).
    Ref(u32, u16),
    Other,
}

impl Operand {
    pub(crate) fn number(&self) -> Option<f64> {
        match self {
            Operand::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub(crate) fn name(&self) -> Option<&[u8]> {
        match self {
            Operand::Name(n) => Some(n),
            _ => None,
        }
    }
}

/// A PDF token stream over one buffer.
pub(crate) struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
    /// Set when nesting past [`MAX_NESTING`] was skipped: hostile input.
    pub(crate) too_deep: bool,
}

pub(crate) fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_whitespace(b) && !is_delimiter(b)
}

/// The hex digits of `input` up to a `>` (or its end) as bytes, other bytes skipped and an odd
/// last digit padded with 0 (a hex string's body, or an `ASCIIHexDecode` stream); and how many
/// bytes were read, the `>` included.
pub(crate) fn hex_bytes(input: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut high: Option<u8> = None;
    let mut used = input.len();
    for (i, &c) in input.iter().enumerate() {
        if c == b'>' {
            used = i + 1;
            break;
        }
        if let Some(v) = hex_value(c) {
            match high.take() {
                None => high = Some(v),
                Some(h) => out.push(h << 4 | v),
            }
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
    (out, used)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// What [`Lexer::token`] read.
enum Token<'a> {
    Operand(Operand),
    Keyword(&'a [u8]),
    ArrayStart,
    ArrayEnd,
    DictStart,
    DictEnd,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Lexer<'a> {
        Lexer {
            data,
            pos: 0,
            too_deep: false,
        }
    }

    /// The offset of the next byte to read.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The next operator and its operands (in `operands`, cleared first); `None` at the end.
    pub(crate) fn next_op(&mut self, operands: &mut Vec<Operand>) -> Option<&'a [u8]> {
        operands.clear();
        loop {
            let token = self.token(0)?;
            match token {
                Token::Operand(o) => {
                    if operands.len() < MAX_OPERANDS {
                        operands.push(o);
                    }
                }
                Token::Keyword(b"BI") => {
                    let dict = self.inline_image_dict();
                    operands.clear();
                    operands.push(dict);
                    return Some(b"BI");
                }
                Token::Keyword(k) => return Some(k),
                // Stray closers are damage: skip them.
                Token::ArrayEnd | Token::DictEnd => {}
                Token::ArrayStart => {
                    let array = self.array(1);
                    if operands.len() < MAX_OPERANDS {
                        operands.push(array);
                    }
                }
                Token::DictStart => {
                    let dict = self.dict(1);
                    if operands.len() < MAX_OPERANDS {
                        operands.push(dict);
                    }
                }
            }
        }
    }

    /// Every token up to the end, for CMap parsing: operands and keywords in order (arrays
    /// and dictionaries as operands).
    pub(crate) fn next_item(&mut self) -> Option<Result<Operand, &'a [u8]>> {
        loop {
            match self.token(0)? {
                Token::Operand(o) => return Some(Ok(o)),
                Token::Keyword(k) => return Some(Err(k)),
                Token::ArrayStart => return Some(Ok(self.array(1))),
                Token::DictStart => return Some(Ok(self.dict(1))),
                Token::ArrayEnd | Token::DictEnd => {}
            }
        }
    }

    fn skip_whitespace_and_comments(&mut self) {
        while let Some(&b) = self.data.get(self.pos) {
            if is_whitespace(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(&c) = self.data.get(self.pos) {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn token(&mut self, _depth: usize) -> Option<Token<'a>> {
        loop {
            self.skip_whitespace_and_comments();
            let b = *self.data.get(self.pos)?;
            match b {
                b'(' => {
                    self.pos += 1;
                    return Some(Token::Operand(Operand::String(self.literal_string())));
                }
                b'<' => {
                    if self.data.get(self.pos + 1) == Some(&b'<') {
                        self.pos += 2;
                        return Some(Token::DictStart);
                    }
                    self.pos += 1;
                    return Some(Token::Operand(Operand::String(self.hex_string())));
                }
                b'>' => {
                    self.pos += 1;
                    if self.data.get(self.pos) == Some(&b'>') {
                        self.pos += 1;
                        return Some(Token::DictEnd);
                    }
                }
                b'[' => {
                    self.pos += 1;
                    return Some(Token::ArrayStart);
                }
                b']' => {
                    self.pos += 1;
                    return Some(Token::ArrayEnd);
                }
                b'/' => {
                    self.pos += 1;
                    return Some(Token::Operand(Operand::Name(self.name())));
                }
                b'{' | b'}' | b')' => self.pos += 1,
                b'+' | b'-' | b'.' | b'0'..=b'9' => {
                    return Some(Token::Operand(self.number()));
                }
                _ => {
                    let start = self.pos;
                    while self.data.get(self.pos).is_some_and(|&c| is_regular(c)) {
                        self.pos += 1;
                    }
                    let word = self.data.get(start..self.pos).unwrap_or_default();
                    return Some(match word {
                        b"true" => Token::Operand(Operand::Bool(true)),
                        b"false" => Token::Operand(Operand::Bool(false)),
                        b"null" => Token::Operand(Operand::Null),
                        _ => Token::Keyword(word),
                    });
                }
            }
        }
    }

    fn number(&mut self) -> Operand {
        let start = self.pos;
        while self
            .data
            .get(self.pos)
            .is_some_and(|&c| matches!(c, b'+' | b'-' | b'.' | b'0'..=b'9'))
        {
            self.pos += 1;
        }
        let text = self.data.get(start..self.pos).unwrap_or_default();
        // Lenient: signs after the first byte and a second point are ignored, as readers do.
        let mut value = 0.0f64;
        let mut negative = false;
        let mut fraction: Option<f64> = None;
        for (i, &c) in text.iter().enumerate() {
            match c {
                b'-' if i == 0 => negative = true,
                b'.' if fraction.is_none() => fraction = Some(0.1),
                b'0'..=b'9' => {
                    let d = f64::from(c - b'0');
                    match fraction.as_mut() {
                        None => value = value * 10.0 + d,
                        Some(scale) => {
                            value += d * *scale;
                            *scale /= 10.0;
                        }
                    }
                }
                _ => {}
            }
        }
        if !value.is_finite() {
            value = 0.0;
        }
        Operand::Number(if negative { -value } else { value })
    }

    fn name(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(&c) = self.data.get(self.pos) {
            if !is_regular(c) {
                break;
            }
            self.pos += 1;
            if c == b'#' {
                let hi = self.data.get(self.pos).copied().and_then(hex_value);
                let lo = self.data.get(self.pos + 1).copied().and_then(hex_value);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    self.pos += 2;
                    continue;
                }
            }
            out.push(c);
        }
        out
    }

    fn literal_string(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut depth = 1usize;
        while let Some(&c) = self.data.get(self.pos) {
            self.pos += 1;
            match c {
                b'(' => {
                    depth += 1;
                    out.push(c);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    out.push(c);
                }
                b'\\' => {
                    let Some(&e) = self.data.get(self.pos) else {
                        break;
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.data.get(self.pos) == Some(&b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.data.get(self.pos) {
                                    Some(&d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(c),
            }
        }
        out
    }

    fn hex_string(&mut self) -> Vec<u8> {
        let (out, used) = hex_bytes(self.data.get(self.pos..).unwrap_or_default());
        self.pos += used;
        out
    }

    /// The items of an array or dictionary up to `end`, with `N G R` folded into references.
    fn items(&mut self, depth: usize, dict: bool) -> Vec<Operand> {
        let mut items: Vec<Operand> = Vec::new();
        let mut keywords = 0usize;
        while let Some(token) = self.token(depth) {
            let item = match token {
                Token::ArrayEnd if !dict => break,
                Token::DictEnd if dict => break,
                Token::ArrayEnd | Token::DictEnd => continue,
                Token::Operand(o) => o,
                Token::ArrayStart if depth < MAX_NESTING => self.array(depth + 1),
                Token::DictStart if depth < MAX_NESTING => self.dict(depth + 1),
                Token::ArrayStart | Token::DictStart => {
                    self.skip_nested();
                    Operand::Other
                }
                Token::Keyword(b"R") => {
                    if let [.., Operand::Number(n), Operand::Number(g)] = items.as_slice() {
                        let reference = if *n >= 0.0 && *g >= 0.0 {
                            Operand::Ref(*n as u32, *g as u16)
                        } else {
                            Operand::Other
                        };
                        items.truncate(items.len() - 2);
                        reference
                    } else {
                        continue;
                    }
                }
                // An operator inside an array (`[(a) 0 Tc (b)] TJ`) is damage that readers
                // skip; many of them mean a missing `]`, and the array ends.
                Token::Keyword(_) => {
                    keywords += 1;
                    if keywords > 8 {
                        break;
                    }
                    // In a dictionary a stray word stands for a value, so that the keys
                    // after it keep their values.
                    if !dict {
                        continue;
                    }
                    Operand::Other
                }
            };
            if items.len() < MAX_ITEMS {
                items.push(item);
            }
        }
        items
    }

    fn array(&mut self, depth: usize) -> Operand {
        Operand::Array(self.items(depth, false))
    }

    fn dict(&mut self, depth: usize) -> Operand {
        let mut entries = Vec::new();
        let mut key: Option<Vec<u8>> = None;
        for item in self.items(depth, true) {
            match (key.take(), item) {
                (None, Operand::Name(n)) => key = Some(n),
                (None, _) => {}
                (Some(k), value) => entries.push((k, value)),
            }
        }
        Operand::Dict(entries)
    }

    /// Skips a too-deep array or dictionary by counting brackets, without recursion.
    fn skip_nested(&mut self) {
        self.too_deep = true;
        let mut depth = 1usize;
        while depth > 0 {
            let Some(token) = self.token(0) else {
                return;
            };
            match token {
                Token::ArrayStart | Token::DictStart => depth += 1,
                Token::ArrayEnd | Token::DictEnd => depth -= 1,
                _ => {}
            }
        }
    }

    /// After `BI`: the image dictionary up to `ID`, then steps over the image data to after
    /// `EI`.
    fn inline_image_dict(&mut self) -> Operand {
        let mut entries = Vec::new();
        let mut key: Option<Vec<u8>> = None;
        loop {
            let Some(token) = self.token(1) else {
                return Operand::Dict(entries);
            };
            let value = match token {
                Token::Keyword(b"ID") => break,
                Token::Keyword(_) => continue,
                Token::Operand(Operand::Name(n)) if key.is_none() => {
                    key = Some(n);
                    continue;
                }
                Token::Operand(o) => o,
                Token::ArrayStart => self.array(2),
                Token::DictStart => self.dict(2),
                Token::ArrayEnd | Token::DictEnd => continue,
            };
            if let Some(k) = key.take() {
                if entries.len() < 64 {
                    entries.push((k, value));
                }
            }
        }
        // One whitespace byte follows `ID`; the data ends at `EI` between whitespace.
        self.pos += 1;
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let mut i = 0;
        let end = loop {
            match memchr::memmem::find(rest.get(i..).unwrap_or_default(), b"EI") {
                None => break rest.len(),
                Some(at) => {
                    let at = i + at;
                    let before_ok = at == 0 || rest.get(at - 1).is_some_and(|&c| is_whitespace(c));
                    let after_ok = rest.get(at + 2).is_none_or(|&c| is_whitespace(c));
                    if before_ok && after_ok {
                        break at + 2;
                    }
                    i = at + 2;
                }
            }
        };
        self.pos += end;
        Operand::Dict(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(data: &[u8]) -> Vec<(String, Vec<Operand>)> {
        let mut lexer = Lexer::new(data);
        let mut operands = Vec::new();
        let mut out = Vec::new();
        while let Some(op) = lexer.next_op(&mut operands) {
            out.push((String::from_utf8_lossy(op).into_owned(), operands.clone()));
        }
        out
    }

    #[test]
    fn operators_and_operands() {
        let got = ops(b"BT /F1 12 Tf (a\\(b\\)c\\101) Tj [<0041> -250 (x)] TJ ET");
        assert_eq!(got[1].0, "Tf");
        assert_eq!(
            got[1].1,
            [Operand::Name(b"F1".to_vec()), Operand::Number(12.0)]
        );
        assert_eq!(got[2].1, [Operand::String(b"a(b)cA".to_vec())]);
        assert_eq!(
            got[3].1,
            [Operand::Array(vec![
                Operand::String(vec![0, 0x41]),
                Operand::Number(-250.0),
                Operand::String(b"x".to_vec())
            ])]
        );
        assert_eq!(got.last().map(|o| o.0.as_str()), Some("ET"));
    }

    #[test]
    fn inline_images_are_stepped_over() {
        let got = ops(b"q BI /W 2 /H 1 ID \x00EI\xff EI Q (t) Tj");
        let names: Vec<&str> = got.iter().map(|o| o.0.as_str()).collect();
        assert_eq!(names, ["q", "BI", "Q", "Tj"]);
    }

    #[test]
    fn hostile_nesting_is_bounded() {
        let mut data = b"[".repeat(100_000);
        data.extend(b"]".repeat(100_000));
        data.extend(b" Tj (ok) Tj");
        let got = ops(&data);
        assert!(got.iter().any(|o| o.1 == [Operand::String(b"ok".to_vec())]));
        let numbers = ops(b"--1.5.5 1e5 .5 x");
        assert_eq!(numbers[0].1[0], Operand::Number(-1.55));
    }
}
