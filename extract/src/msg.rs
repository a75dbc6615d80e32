//! The Outlook message reader (`.msg`, [MS-OXMSG]), on the `cfb` crate through `ole`.
//!
//! A message is a compound file of MAPI properties: fixed-size ones in the
//! `__properties_version1.0` stream, the others in `__substg1.0_IIIITTTT` streams (property
//! id, then type: `001F` UTF-16, `001E` 8-bit in the message's code page, `0102` binary).
//! Read from it:
//!
//! - the headers (location `headers`): `Subject`, `From` (sender name and SMTP address),
//!   `To`, `Cc`, `Bcc` (from the recipient storages, else the display lists), `Date` (the
//!   submit time);
//! - the body: the plain-text body, else the text of the HTML body, else the compressed RTF
//!   body, decompressed here ([MS-OXRTFCP] LZFu) and stripped to text;
//! - every attachment (`__attach_version1.0_#N`) as a nested item named by its long file name,
//!   file name or display name: its binary data, or, for an embedded message or OLE object
//!   (a `__substg1.0_3701000D` storage), the storage re-packed as a compound file of its own,
//!   which the walk reads recursively like any file (an embedded message is named `NAME.msg`).
//!
//! [MS-OXMSG]: https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxmsg/
//! [MS-OXRTFCP]: https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxrtfcp/

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::decode::{decode, html_to_text, rtf_to_text};
use crate::ole::Compound;
use crate::types::{attachment_name, member_path, Outcome, Skip};
use crate::visit::Visit;

const PROPERTIES: &str = "__properties_version1.0";
const ATTACHMENT_PREFIX: &str = "__attach_version1.0_#";
const RECIPIENT_PREFIX: &str = "__recip_version1.0_#";

// Property ids.
const SUBJECT: u16 = 0x0037;
const CLIENT_SUBMIT_TIME: u16 = 0x0039;
const SENT_REPRESENTING_NAME: u16 = 0x0042;
const SENT_REPRESENTING_EMAIL: u16 = 0x0065;
const RECIPIENT_TYPE: u16 = 0x0C15;
const SENDER_NAME: u16 = 0x0C1A;
const SENDER_EMAIL: u16 = 0x0C1F;
const DISPLAY_BCC: u16 = 0x0E02;
const DISPLAY_CC: u16 = 0x0E03;
const DISPLAY_TO: u16 = 0x0E04;
const DELIVERY_TIME: u16 = 0x0E06;
const BODY: u16 = 0x1000;
const RTF_COMPRESSED: u16 = 0x1009;
const HTML: u16 = 0x1013;
const DISPLAY_NAME: u16 = 0x3001;
const EMAIL_ADDRESS: u16 = 0x3003;
const ATTACH_DATA: u16 = 0x3701;
const ATTACH_FILENAME: u16 = 0x3704;
const ATTACH_METHOD: u16 = 0x3705;
const ATTACH_LONG_FILENAME: u16 = 0x3707;
const SMTP_ADDRESS: u16 = 0x39FE;
const INTERNET_CODEPAGE: u16 = 0x3FDE;
const MESSAGE_CODEPAGE: u16 = 0x3FFD;
const SENDER_SMTP_ADDRESS: u16 = 0x5D01;
const SENT_REPRESENTING_SMTP_ADDRESS: u16 = 0x5D02;

/// Attach method of an embedded message.
const ATTACH_EMBEDDED_MESSAGE: u32 = 5;

pub(crate) fn read(
    walker: &mut dyn Visit,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    let mut file = Compound::open(data, "Outlook message")?;
    let root = Path::new("/");
    let properties = Properties::read(walker, &mut file, root, Header::Message)?;
    let mut message = Storage {
        walker,
        file: &mut file,
        path: root.to_path_buf(),
        properties,
    };
    let codepage = message
        .long(MESSAGE_CODEPAGE)
        .or_else(|| message.long(INTERNET_CODEPAGE));
    message.properties.codepage = codepage;
    let headers = message.headers()?;
    message.walker.text(member, Some("headers"), &headers)?;
    let body = message.body()?;
    message.walker.text(member, None, &body)?;

    // Attachments, in the order of their storages.
    let mut attachments: Vec<PathBuf> = message
        .file
        .children(root)
        .into_iter()
        .filter(|c| c.is_storage && starts_with_ignore_case(&c.name, ATTACHMENT_PREFIX))
        .map(|c| c.path)
        .collect();
    attachments.sort();
    let max_entries = walker.limits().max_entries;
    if attachments.len() as u64 > max_entries {
        return Err(Skip::limit(format!(
            "Outlook message: {} attachments, over the limit of {max_entries} entries",
            attachments.len()
        )));
    }
    let mut names = HashMap::new();
    for (index, path) in attachments.into_iter().enumerate() {
        walker.check_time()?;
        attachment(
            walker, &mut file, &path, codepage, member, depth, index, &mut names,
        )?;
    }
    Ok(())
}

/// Reads one attachment storage and hands its content to the walk as a nested item.
#[allow(clippy::too_many_arguments)]
fn attachment(
    walker: &mut dyn Visit,
    file: &mut Compound<'_>,
    path: &Path,
    codepage: Option<u32>,
    member: Option<&str>,
    depth: u32,
    index: usize,
    names: &mut HashMap<String, usize>,
) -> Outcome {
    let mut properties = Properties::read(walker, file, path, Header::Other)?;
    properties.codepage = codepage;
    let mut storage = Storage {
        walker,
        file,
        path: path.to_path_buf(),
        properties,
    };
    let name = [ATTACH_LONG_FILENAME, ATTACH_FILENAME, DISPLAY_NAME]
        .into_iter()
        .find_map(|id| storage.string(id).transpose())
        .transpose()?
        .filter(|n| !n.trim().is_empty());
    let method = storage.long(ATTACH_METHOD);
    let object = path.join(substg(ATTACH_DATA, "000D"));
    let (name, content) = if storage.file.children(&object).is_empty() {
        let data = storage
            .file
            .stream(storage.walker, path.join(substg(ATTACH_DATA, "0102")))?;
        (name, data)
    } else {
        // An embedded message or OLE object: its storage, re-packed.
        let bytes = storage.file.repack(storage.walker, &object)?;
        let name = if method == Some(ATTACH_EMBEDDED_MESSAGE) {
            let base = name.unwrap_or_else(|| format!("message-{index}"));
            let msg = if base.to_ascii_lowercase().ends_with(".msg") {
                base
            } else {
                format!("{base}.msg")
            };
            Some(msg)
        } else {
            name
        };
        (name, Some(bytes))
    };
    // An attachment by reference holds no data to read.
    let Some(content) = content else {
        return Ok(());
    };
    let name = attachment_name(name.as_deref(), index, names);
    walker.child(&content, &member_path(member, &name), depth + 1);
    Ok(())
}

/// The name of the stream or storage of property `id` with type `kind`.
fn substg(id: u16, kind: &str) -> String {
    format!("__substg1.0_{id:04X}{kind}")
}

fn starts_with_ignore_case(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// The size of the header of a property stream: 32 bytes in a message, 24 in an embedded
/// message, 8 in a recipient or attachment storage.
#[derive(Clone, Copy)]
enum Header {
    Message,
    Other,
}

/// The fixed-size properties of a storage, by property id: their 8-byte values.
struct Properties {
    values: HashMap<u16, [u8; 8]>,
    /// The code page of 8-bit strings (`001E`).
    codepage: Option<u32>,
}

impl Properties {
    fn read(
        walker: &dyn Visit,
        file: &mut Compound<'_>,
        storage: &Path,
        header: Header,
    ) -> Outcome<Properties> {
        let stream = file
            .stream(walker, storage.join(PROPERTIES))?
            .unwrap_or_default();
        let skip = match header {
            // A top-level message's header is 32 bytes, an embedded one's 24 (and a message
            // re-packed out of an attachment keeps its 24): entries are 16 bytes, so the
            // stream's length tells them apart.
            Header::Message if stream.len() % 16 == 8 => 24,
            Header::Message => 32,
            Header::Other => 8,
        };
        let mut values = HashMap::new();
        for entry in stream.get(skip..).unwrap_or_default().chunks_exact(16) {
            let tag = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let mut value = [0u8; 8];
            value.copy_from_slice(&entry[8..16]);
            values.insert((tag >> 16) as u16, value);
        }
        Ok(Properties {
            values,
            codepage: None,
        })
    }
}

/// A storage being read: a message, a recipient or an attachment.
struct Storage<'s, 'f> {
    walker: &'s mut dyn Visit,
    file: &'s mut Compound<'f>,
    path: PathBuf,
    properties: Properties,
}

impl Storage<'_, '_> {
    /// A 32-bit integer property.
    fn long(&self, id: u16) -> Option<u32> {
        let v = self.properties.values.get(&id)?;
        Some(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
    }

    /// A 64-bit property (a time).
    fn long_long(&self, id: u16) -> Option<u64> {
        self.properties
            .values
            .get(&id)
            .map(|v| u64::from_le_bytes(*v))
    }

    /// A string property, UTF-16 or 8-bit.
    fn string(&mut self, id: u16) -> Outcome<Option<String>> {
        if let Some(bytes) = self.stream(&substg(id, "001F"))? {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            return Ok(Some(trim_nul(String::from_utf16_lossy(&units))));
        }
        if let Some(bytes) = self.stream(&substg(id, "001E"))? {
            let encoding = self
                .properties
                .codepage
                .and_then(|cp| u16::try_from(cp).ok())
                .and_then(codepage::to_encoding)
                .unwrap_or(encoding_rs::WINDOWS_1252);
            let (text, _) = encoding.decode_without_bom_handling(&bytes);
            return Ok(Some(trim_nul(text.into_owned())));
        }
        Ok(None)
    }

    fn stream(&mut self, name: &str) -> Outcome<Option<Vec<u8>>> {
        let path = self.path.join(name);
        self.file.stream(&*self.walker, path)
    }

    fn headers(&mut self) -> Outcome<String> {
        let mut out = String::new();
        let mut line = |name: &str, value: &str| {
            if !value.trim().is_empty() {
                out.push_str(name);
                out.push_str(": ");
                out.push_str(value.trim());
                out.push('\n');
            }
        };
        if let Some(subject) = self.string(SUBJECT)? {
            line("Subject", &subject);
        }
        let name = first(self, &[SENDER_NAME, SENT_REPRESENTING_NAME])?;
        let email = first_address(
            self,
            &[
                SENDER_SMTP_ADDRESS,
                SENDER_EMAIL,
                SENT_REPRESENTING_SMTP_ADDRESS,
                SENT_REPRESENTING_EMAIL,
            ],
        )?;
        line("From", &mailbox(name, email));
        let recipients = self.recipients()?;
        for (kind, header, display) in [
            (1, "To", DISPLAY_TO),
            (2, "Cc", DISPLAY_CC),
            (3, "Bcc", DISPLAY_BCC),
        ] {
            let listed: Vec<&str> = recipients
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, r)| r.as_str())
                .collect();
            if listed.is_empty() {
                if let Some(names) = self.string(display)? {
                    line(header, &names);
                }
            } else {
                line(header, &listed.join(", "));
            }
        }
        if let Some(time) = self
            .long_long(CLIENT_SUBMIT_TIME)
            .or_else(|| self.long_long(DELIVERY_TIME))
            .and_then(filetime_to_rfc3339)
        {
            line("Date", &time);
        }
        Ok(out)
    }

    /// The recipients as `(type, "Name <address>")`, type 1 To, 2 Cc, 3 Bcc.
    fn recipients(&mut self) -> Outcome<Vec<(u32, String)>> {
        let mut paths: Vec<PathBuf> = self
            .file
            .children(&self.path)
            .into_iter()
            .filter(|c| c.is_storage && starts_with_ignore_case(&c.name, RECIPIENT_PREFIX))
            .map(|c| c.path)
            .collect();
        paths.sort();
        let mut out = Vec::new();
        for path in paths {
            self.walker.check_time()?;
            let mut properties = Properties::read(&*self.walker, self.file, &path, Header::Other)?;
            properties.codepage = self.properties.codepage;
            let mut recipient = Storage {
                walker: &mut *self.walker,
                file: &mut *self.file,
                path,
                properties,
            };
            let kind = recipient.long(RECIPIENT_TYPE).unwrap_or(1) & 0xF;
            let name = recipient.string(DISPLAY_NAME)?;
            let email = first_address(&mut recipient, &[SMTP_ADDRESS, EMAIL_ADDRESS])?;
            let text = mailbox(name, email);
            if !text.is_empty() {
                out.push((kind, text));
            }
        }
        Ok(out)
    }

    /// The plain-text body, else the text of the HTML body, else of the RTF body.
    fn body(&mut self) -> Outcome<String> {
        if let Some(text) = self.string(BODY)? {
            if !text.trim().is_empty() {
                return Ok(text);
            }
        }
        let html = match self.stream(&substg(HTML, "0102"))? {
            Some(bytes) => Some(decode(&bytes).into_owned()),
            None => self.string(HTML)?,
        };
        if let Some(html) = html {
            return Ok(html_to_text(&html));
        }
        if let Some(compressed) = self.stream(&substg(RTF_COMPRESSED, "0102"))? {
            let cap = self.walker.inflate_cap();
            let rtf = decompress_rtf(&compressed, cap)?;
            self.walker.add_inflated(rtf.len() as u64);
            return Ok(rtf_to_text(&rtf));
        }
        Ok(String::new())
    }
}

/// The first string property present and not empty.
fn first(storage: &mut Storage<'_, '_>, ids: &[u16]) -> Outcome<Option<String>> {
    for &id in ids {
        if let Some(value) = storage.string(id)? {
            if !value.trim().is_empty() {
                return Ok(Some(value));
            }
        }
    }
    Ok(None)
}

/// The first address property that is an SMTP address (Exchange's X.500 addresses, such as
/// `/O=EXCHANGE/OU=...`, say less than the SMTP address stored beside them), else the first
/// present.
fn first_address(storage: &mut Storage<'_, '_>, ids: &[u16]) -> Outcome<Option<String>> {
    let mut fallback = None;
    for &id in ids {
        if let Some(value) = storage.string(id)? {
            if value.contains('@') {
                return Ok(Some(value));
            }
            if fallback.is_none() && !value.trim().is_empty() {
                fallback = Some(value);
            }
        }
    }
    Ok(fallback)
}

/// `Name <address>`, or whichever of the two is known.
fn mailbox(name: Option<String>, email: Option<String>) -> String {
    match (name, email) {
        (Some(name), Some(email)) if name.trim() != email.trim() => {
            format!("{} <{}>", name.trim(), email.trim())
        }
        (Some(name), _) => name,
        (None, Some(email)) => email,
        (None, None) => String::new(),
    }
}

fn trim_nul(mut s: String) -> String {
    while s.ends_with('\0') {
        s.pop();
    }
    s
}

/// A FILETIME (100-nanosecond intervals since 1601) as an RFC 3339 UTC time.
fn filetime_to_rfc3339(filetime: u64) -> Option<String> {
    const UNIX_EPOCH_SECONDS: i64 = 11_644_473_600;
    let seconds = i64::try_from(filetime / 10_000_000).ok()? - UNIX_EPOCH_SECONDS;
    if filetime == 0 {
        return None;
    }
    let (days, time) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time / 60 % 60,
        time % 60
    ))
}

/// The dictionary every LZFu stream starts from ([MS-OXRTFCP] 2.1.2.1).
const RTF_PREBUFFER: &[u8] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
const LZFU: u32 = 0x7546_5A4C;
const MELA: u32 = 0x414C_454D;

/// Decompresses a compressed RTF body ([MS-OXRTFCP]): `MELA` (stored) or `LZFu` (an LZ77
/// variant over a 4 KiB ring dictionary). At most `cap` bytes come out, whatever the header
/// declares; the output is what was produced when the input, the declared size or the end
/// marker is reached.
fn decompress_rtf(data: &[u8], cap: u64) -> Outcome<Vec<u8>> {
    let field = |pos: usize| {
        data.get(pos..pos + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (Some(comp_size), Some(raw_size), Some(kind)) = (field(0), field(4), field(8)) else {
        return Err(Skip::broken("Outlook message: truncated RTF body"));
    };
    let limit = u64::from(raw_size).min(cap);
    if u64::from(raw_size) > cap {
        return Err(Skip::limit(format!(
            "Outlook message: RTF body declares {raw_size} bytes, over the inflation budget"
        )));
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let end = (comp_size as usize).saturating_add(4).min(data.len());
    let input = data.get(16..end).unwrap_or_default();
    match kind {
        MELA => Ok(input[..input.len().min(limit)].to_vec()),
        LZFU => {
            let mut dictionary = [0u8; 4096];
            dictionary[..RTF_PREBUFFER.len()].copy_from_slice(RTF_PREBUFFER);
            let mut write = RTF_PREBUFFER.len();
            let mut out = Vec::with_capacity(limit.min(input.len().saturating_mul(8)));
            let mut pos = 0;
            'stream: while let Some(&control) = input.get(pos) {
                pos += 1;
                for bit in 0..8 {
                    if out.len() >= limit {
                        break 'stream;
                    }
                    if control & (1 << bit) == 0 {
                        let Some(&byte) = input.get(pos) else {
                            break 'stream;
                        };
                        pos += 1;
                        out.push(byte);
                        dictionary[write] = byte;
                        write = (write + 1) % 4096;
                        continue;
                    }
                    let Some(pair) = input.get(pos..pos + 2) else {
                        break 'stream;
                    };
                    pos += 2;
                    let reference = u16::from_be_bytes([pair[0], pair[1]]);
                    let offset = usize::from(reference >> 4);
                    let length = usize::from(reference & 0xF) + 2;
                    if offset == write {
                        break 'stream;
                    }
                    for i in 0..length {
                        if out.len() >= limit {
                            break 'stream;
                        }
                        let byte = dictionary[(offset + i) % 4096];
                        out.push(byte);
                        dictionary[write] = byte;
                        write = (write + 1) % 4096;
                    }
                }
            }
            Ok(out)
        }
        _ => Err(Skip::broken("Outlook message: unknown RTF compression")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lzfu_decompresses_the_specification_example() {
        assert_eq!(RTF_PREBUFFER.len(), 207);
        // [MS-OXRTFCP] 3.1.1: "{\rtf1\ansi\ansicpg1252\pard hello world}\r\n".
        let compressed = [
            0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5,
            0xc7, 0xa7, 0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42,
            0x32, 0x0a, 0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0,
            0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f, 0xa0,
        ];
        let out = decompress_rtf(&compressed, 1 << 20).unwrap();
        assert_eq!(out, b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n");
        assert_eq!(rtf_to_text(&out), "hello world");
        // Cut anywhere, it ends with what it has.
        for cut in 0..compressed.len() {
            let _ = decompress_rtf(&compressed[..cut], 1 << 20);
        }
        // A declared size over the budget is refused.
        assert!(decompress_rtf(&compressed, 10).is_err());
    }

    #[test]
    fn filetimes_are_dates() {
        // 2024-02-29T12:34:56Z.
        let unix = 1_709_210_096u64;
        let filetime = (unix + 11_644_473_600) * 10_000_000;
        assert_eq!(
            filetime_to_rfc3339(filetime).as_deref(),
            Some("2024-02-29T12:34:56Z")
        );
        assert_eq!(filetime_to_rfc3339(0), None);
    }

    #[test]
    fn mailboxes() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(mailbox(s("Jane"), s("jane@x.com")), "Jane <jane@x.com>");
        assert_eq!(mailbox(s("jane@x.com"), s("jane@x.com")), "jane@x.com");
        assert_eq!(mailbox(None, s("jane@x.com")), "jane@x.com");
        assert_eq!(mailbox(None, None), "");
    }
}
