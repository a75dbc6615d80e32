//! The e-mail reader (RFC 5322 / MIME), through `mail-parser`: the addressing headers and
//! subject (location `headers`, RFC 2047 decoded), every text part (charset, base64 and
//! quoted-printable decoded; HTML parts stripped to text through `decode`), and every
//! attachment or attached message as a nested item named by its file name.

use std::collections::HashMap;

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};

use crate::decode::html_to_text;
use crate::types::{attachment_name, member_path, Outcome, Skip};
use crate::visit::Visit;

pub(crate) fn read(
    walker: &mut dyn Visit,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    let message = MessageParser::default()
        .parse(data)
        .ok_or_else(|| Skip::broken("e-mail: not a parsable message"))?;

    let mut headers = String::new();
    for header in message.headers() {
        let name = header.name();
        let wanted = [
            "From", "To", "Cc", "Bcc", "Reply-To", "Sender", "Subject", "Date", "Comments",
            "Keywords",
        ]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(name));
        if wanted {
            headers.push_str(name);
            headers.push_str(": ");
            push_header_value(&mut headers, header.value());
            headers.push('\n');
        }
    }
    walker.text(member, Some("headers"), &headers)?;

    let mut names: HashMap<String, usize> = HashMap::new();
    for (index, part) in message.parts.iter().enumerate() {
        walker.check_time()?;
        let attached = message.attachments.iter().any(|&id| id as usize == index);
        match &part.body {
            // A text file sent as an attachment is an item of its own, like any attachment.
            PartType::Text(text) | PartType::Html(text) if attached => {
                let name = attachment_name(part.attachment_name(), index, &mut names);
                walker.child(text.as_bytes(), &member_path(member, &name), depth + 1);
            }
            PartType::Text(text) => walker.text(member, None, text)?,
            PartType::Html(html) => walker.text(member, None, &html_to_text(html))?,
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                let name = attachment_name(part.attachment_name(), index, &mut names);
                walker.child(bytes, &member_path(member, &name), depth + 1);
            }
            PartType::Message(nested) => {
                let name = attachment_name(part.attachment_name(), index, &mut names);
                let name = if name.ends_with(".eml") {
                    name
                } else {
                    format!("{name}.eml")
                };
                walker.child(nested.raw_message(), &member_path(member, &name), depth + 1);
            }
            PartType::Multipart(_) => {}
        }
    }
    Ok(())
}

fn push_header_value(out: &mut String, value: &HeaderValue<'_>) {
    match value {
        HeaderValue::Address(address) => push_address(out, address),
        HeaderValue::Text(text) => out.push_str(text),
        HeaderValue::TextList(list) => out.push_str(&list.join(", ")),
        HeaderValue::DateTime(date) => out.push_str(&date.to_rfc3339()),
        _ => {}
    }
}

fn push_address(out: &mut String, address: &Address<'_>) {
    let mut first = true;
    for addr in address.iter() {
        if !first {
            out.push_str(", ");
        }
        first = false;
        match (addr.name(), addr.address()) {
            (Some(name), Some(email)) => {
                out.push_str(name);
                out.push_str(" <");
                out.push_str(email);
                out.push('>');
            }
            (Some(name), None) => out.push_str(name),
            (None, Some(email)) => out.push_str(email),
            (None, None) => {}
        }
    }
}
