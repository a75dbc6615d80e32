//! A bounded pull over the XML parts of office documents, shared by the OOXML and OpenDocument
//! readers (this module is not a reader itself): element depth is limited, DTDs are
//! refused (no entity expansion, so no "billion laughs"), and only the five predefined and
//! numeric character references are decoded.

use quick_xml::events::{BytesStart, Event as XmlEvent};
use quick_xml::Reader;

use crate::decode::push_decoded;
use crate::types::{Outcome, Skip};
use crate::visit::Visit;

/// What the caller sees of an XML part.
pub(crate) enum Node<'x, 'e> {
    /// An opening tag (an empty element gives an `Open` then a `Close`).
    Open(&'e BytesStart<'x>),
    /// A closing tag, by local name.
    Close(&'e [u8]),
    /// Text content, references decoded.
    Text(&'e str),
}

/// The local name (without namespace prefix) of a tag.
pub(crate) fn local<'a>(start: &'a BytesStart<'_>) -> &'a [u8] {
    let name = start.name().into_inner();
    match memchr::memchr(b':', name) {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

/// The value of an attribute, by local name, with references decoded.
pub(crate) fn attr(start: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    start.attributes().flatten().find_map(|a| {
        let key = a.key.into_inner();
        let key_local = match memchr::memchr(b':', key) {
            Some(colon) => &key[colon + 1..],
            None => key,
        };
        if key_local != name {
            return None;
        }
        let raw = String::from_utf8_lossy(&a.value).into_owned();
        let mut out = String::new();
        push_decoded(&mut out, &raw);
        Some(out)
    })
}

/// The value of an attribute by its full (prefixed) name, e.g. `r:id`.
pub(crate) fn attr_exact(start: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.into_inner() == name)
        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
}

/// Walks one XML part, calling `f` for every node. Fails with `limit_exceeded` past
/// [`Limits::max_xml_depth`](crate::types::Limits::max_xml_depth) or on a DTD, and with
/// `broken_file` on malformed XML.
pub(crate) fn pull(
    walker: &dyn Visit,
    part: &str,
    data: &[u8],
    mut f: impl FnMut(Node<'_, '_>) -> Outcome,
) -> Outcome {
    let mut reader = Reader::from_reader(data);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    let max_depth = walker.limits().max_xml_depth;
    let mut depth: u32 = 0;
    let mut events: u32 = 0;
    loop {
        events = events.wrapping_add(1);
        if events % 4096 == 0 {
            walker.check_time()?;
        }
        let event = reader
            .read_event()
            .map_err(|e| Skip::broken(format!("{part}: malformed XML: {e}")))?;
        match event {
            XmlEvent::Start(start) => {
                depth += 1;
                if depth > max_depth {
                    return Err(Skip::limit(format!(
                        "{part}: XML nested deeper than {max_depth} elements"
                    )));
                }
                f(Node::Open(&start))?;
            }
            XmlEvent::Empty(start) => {
                f(Node::Open(&start))?;
                f(Node::Close(local(&start)))?;
            }
            XmlEvent::End(end) => {
                depth = depth.saturating_sub(1);
                let name = end.name().into_inner();
                let name = match memchr::memchr(b':', name) {
                    Some(colon) => &name[colon + 1..],
                    None => name,
                };
                f(Node::Close(name))?;
            }
            XmlEvent::Text(text) => {
                let s = text
                    .xml10_content()
                    .map_err(|e| Skip::broken(format!("{part}: {e}")))?;
                f(Node::Text(&s))?;
            }
            XmlEvent::CData(cdata) => {
                let s = String::from_utf8_lossy(&cdata);
                f(Node::Text(&s))?;
            }
            XmlEvent::GeneralRef(reference) => {
                let c = match reference.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match &*reference as &[u8] {
                        b"amp" => Some('&'),
                        b"lt" => Some('<'),
                        b"gt" => Some('>'),
                        b"quot" => Some('"'),
                        b"apos" => Some('\''),
                        // Undeclared entities: a DTD would have been refused, so drop them.
                        _ => None,
                    },
                };
                if let Some(c) = c {
                    let mut buf = [0u8; 4];
                    f(Node::Text(c.encode_utf8(&mut buf)))?;
                }
            }
            XmlEvent::DocType(_) => {
                return Err(Skip::limit(format!(
                    "{part}: XML with a DTD is refused (entity expansion)"
                )));
            }
            XmlEvent::Eof => return Ok(()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Limits, SkipReason};

    /// Just enough of a walk for `pull`: the limits, and a deadline that never passes.
    struct Stub(Limits);

    impl Visit for Stub {
        fn limits(&self) -> &Limits {
            &self.0
        }
        fn text(&mut self, _: Option<&str>, _: Option<&str>, _: &str) -> Outcome {
            Ok(())
        }
        fn check_time(&self) -> Outcome {
            Ok(())
        }
        fn child(&mut self, _: &[u8], _: &str, _: u32) {}
        fn skip_child(&mut self, _: &str, _: Skip) {}
        fn inflate_cap(&self) -> u64 {
            0
        }
        fn add_inflated(&mut self, _: u64) {}
    }

    fn run(xml: &str, limits: &Limits) -> Outcome<String> {
        let walker = Stub(limits.clone());
        let mut out = String::new();
        pull(&walker, "part", xml.as_bytes(), |node| {
            if let Node::Text(t) = node {
                out.push_str(t);
            }
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn decodes_references() {
        let got = run(
            "<a>x &amp; &#65;<b>y</b><![CDATA[<z>]]></a>",
            &Limits::default(),
        );
        assert_eq!(got.unwrap(), "x & Ay<z>");
    }

    #[test]
    fn refuses_dtd_and_depth() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><a>&lol;</a>";
        let err = run(bomb, &Limits::default()).unwrap_err();
        assert_eq!(err.reason, SkipReason::LimitExceeded);
        let deep = "<a>".repeat(300);
        let err = run(&deep, &Limits::default()).unwrap_err();
        assert_eq!(err.reason, SkipReason::LimitExceeded);
    }
}
