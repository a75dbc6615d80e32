//! Our own reading of the objects `lopdf` rejects (a stray token in a dictionary, an object
//! stream member it cannot parse): objects found in the file by their `N G obj` headers, and
//! members of object streams, that are missing from the loaded document are parsed with the
//! tolerant [`Lexer`] and added. Never for encrypted documents (their strings and streams
//! would need decrypting).

use std::collections::BTreeMap;

use lopdf::{Dictionary, Document, Object, Stream, StringFormat};

use super::decode_stream;
use super::lexer::{Lexer, Operand};

/// Most objects recovered from one document.
const MAX_RECOVERED: usize = 1 << 20;
/// Largest object stream decoded for recovery.
const MAX_OBJECT_STREAM: usize = 64 << 20;

fn to_object(operand: Operand) -> Object {
    match operand {
        Operand::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Object::Integer(n as i64),
        Operand::Number(n) => Object::Real(n as f32),
        Operand::String(s) => Object::String(s, StringFormat::Literal),
        Operand::Name(n) => Object::Name(n),
        Operand::Array(items) => Object::Array(items.into_iter().map(to_object).collect()),
        Operand::Dict(entries) => {
            let mut dict = Dictionary::new();
            for (k, v) in entries {
                dict.set(k, to_object(v));
            }
            Object::Dictionary(dict)
        }
        Operand::Bool(b) => Object::Boolean(b),
        Operand::Ref(n, g) => Object::Reference((n, g)),
        Operand::Null | Operand::Other => Object::Null,
    }
}

/// Parses one object at the start of `data` (after its `N G obj` header, or an object stream
/// member); a dictionary followed by `stream` takes the data up to `endstream`.
fn parse_object(data: &[u8]) -> Option<Object> {
    let mut lexer = Lexer::new(data);
    let first = lexer.next_item()?.ok()?;
    // What lopdf refused for its nesting we refuse too.
    if lexer.too_deep {
        return None;
    }
    let object = to_object(first);
    let Object::Dictionary(dict) = object else {
        return Some(object);
    };
    if let Some(Err(b"stream")) = lexer.next_item() {
        let mut start = lexer.position();
        if data.get(start) == Some(&b'\r') {
            start += 1;
        }
        if data.get(start) == Some(&b'\n') {
            start += 1;
        }
        let rest = data.get(start..)?;
        let stop = memchr::memmem::find(rest, b"endstream").unwrap_or(rest.len());
        let mut content = rest.get(..stop)?;
        while let Some(s) = content
            .strip_suffix(b"\n")
            .or_else(|| content.strip_suffix(b"\r"))
        {
            content = s;
        }
        return Some(Object::Stream(Stream::new(dict, content.to_vec())));
    }
    Some(Object::Dictionary(dict))
}

/// The bytes after the `obj` keyword of the header at `offset`.
fn after_header(body: &[u8], offset: usize) -> Option<&[u8]> {
    let from = body.get(offset..)?;
    let at = memchr::memmem::find(from.get(..from.len().min(64))?, b"obj")?;
    from.get(at + 3..)
}

/// Adds the objects of the file and of its object streams that the document lacks.
pub(crate) fn recover(doc: &mut Document, body: &[u8], scanned: &BTreeMap<u32, (usize, u16)>) {
    if doc.was_encrypted() || doc.is_encrypted() {
        return;
    }
    let mut found: Vec<((u32, u16), Object)> = Vec::new();
    for (&number, &(offset, generation)) in scanned {
        if found.len() >= MAX_RECOVERED {
            break;
        }
        if doc.objects.contains_key(&(number, generation)) {
            continue;
        }
        if let Some(object) = after_header(body, offset).and_then(parse_object) {
            found.push(((number, generation), object));
        }
    }
    for (id, object) in found.drain(..) {
        doc.objects.insert(id, object);
    }
    for object in doc.objects.values() {
        let Object::Stream(stream) = object else {
            continue;
        };
        if stream.dict.get(b"Type").ok().and_then(|t| t.as_name().ok()) != Some(b"ObjStm") {
            continue;
        }
        let int = |key: &[u8]| stream.dict.get(key).ok().and_then(|v| v.as_i64().ok());
        let (Some(count), Some(first)) = (int(b"N"), int(b"First")) else {
            continue;
        };
        let Ok(first) = usize::try_from(first) else {
            continue;
        };
        let Some(data) = decode_stream(stream, MAX_OBJECT_STREAM) else {
            continue;
        };
        let mut header = Lexer::new(data.get(..first.min(data.len())).unwrap_or_default());
        let mut numbers = Vec::new();
        while let Some(Ok(Operand::Number(n))) = header.next_item() {
            numbers.push(n);
            if numbers.len() as i64 >= count.saturating_mul(2) || numbers.len() > MAX_RECOVERED {
                break;
            }
        }
        for pair in numbers.chunks(2) {
            let [number, offset] = pair else {
                break;
            };
            if *number < 1.0 || *offset < 0.0 || found.len() >= MAX_RECOVERED {
                continue;
            }
            let id = (*number as u32, 0u16);
            if doc.objects.contains_key(&id) {
                continue;
            }
            let start = first.saturating_add(*offset as usize);
            if let Some(object) = data.get(start..).and_then(parse_object) {
                if !matches!(object, Object::Stream(_)) {
                    found.push((id, object));
                }
            }
        }
    }
    for (id, object) in found {
        doc.objects.entry(id).or_insert(object);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_with_references_and_streams() {
        let object = parse_object(b" << /Kids [4 0 R 5 0 R] /Weird foo /Count 2 /F true >> endobj");
        let Some(Object::Dictionary(dict)) = object else {
            panic!("{object:?}");
        };
        assert_eq!(
            dict.get(b"Kids").ok(),
            Some(&Object::Array(vec![
                Object::Reference((4, 0)),
                Object::Reference((5, 0))
            ]))
        );
        assert_eq!(dict.get(b"Count").ok(), Some(&Object::Integer(2)));
        let stream = parse_object(b"<< /Length 99 >>\nstream\nBT (x) Tj ET\nendstream\nendobj");
        let Some(Object::Stream(stream)) = stream else {
            panic!("{stream:?}");
        };
        assert_eq!(stream.content, b"BT (x) Tj ET");
    }
}
