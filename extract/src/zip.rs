//! ZIP access ([`Archive`], [`sanitize`]) written for hostile input, shared by the archive,
//! OOXML and OpenDocument readers and by type detection; not a reader itself (the ZIP reader is
//! `archive::read_zip`). It parses the central directory itself, refuses overlapping entries
//! (the "better zip bomb" trick), never trusts declared sizes (inflation is capped by what is
//! actually produced), and never allocates from a declared size.
//!
//! Members are returned as bytes; nothing is ever written to disk, so a member name such as
//! `../../etc/passwd` cannot escape anywhere. Names are still normalised (see [`sanitize`])
//! so that reports show a clean path, and the member is inspected: skipping it would let
//! anyone hide data from the scanner by naming it oddly.

use crate::bytes::{le16, le32, le64};
use std::borrow::Cow;
use std::io::Read;

use crate::types::{Outcome, Skip, SkipReason};
use crate::visit::Visit;

const EOCD_SIG: &[u8] = b"PK\x05\x06";
const ZIP64_LOCATOR_SIG: &[u8] = b"PK\x06\x07";
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;

/// One entry of the central directory, with its data located through its local header.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The name as stored (decoded as UTF-8, or Latin-1 when it is not UTF-8).
    pub(crate) raw_name: String,
    flags: u16,
    method: u16,
    declared_size: u64,
    /// Byte range of the local header plus data, when the local header is valid.
    span: Result<(usize, usize, usize), String>,
}

impl Entry {
    /// Whether the entry is a directory (no content).
    pub(crate) fn is_dir(&self) -> bool {
        self.raw_name.ends_with('/') || self.raw_name.ends_with('\\')
    }
}

/// A parsed ZIP archive over borrowed bytes.
pub(crate) struct Archive<'a> {
    data: &'a [u8],
    pub(crate) entries: Vec<Entry>,
}

fn decode_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => raw.iter().map(|&b| b as char).collect(),
    }
}

/// Normalises a stored name into a relative path without `.`/`..`/empty components, drive
/// letters or backslashes.
pub(crate) fn sanitize(name: &str) -> String {
    // Control characters would garble reports; they are never meaningful in a path.
    let unified: String = name
        .chars()
        .map(|c| match c {
            '\\' => '/',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let parts: Vec<&str> = unified
        .split('/')
        .enumerate()
        .filter(|&(i, part)| {
            !(part.is_empty()
                || part == "."
                || part == ".."
                || (i == 0 && part.len() == 2 && part.ends_with(':')))
        })
        .map(|(_, part)| part)
        .collect();
    if parts.is_empty() {
        "(unnamed)".to_string()
    } else {
        parts.join("/")
    }
}

impl<'a> Archive<'a> {
    /// Parses the central directory. More than `max_entries` entries is a `limit_exceeded`
    /// skip; overlapping entries are refused as a zip bomb.
    pub(crate) fn parse(data: &'a [u8], max_entries: u64) -> Outcome<Archive<'a>> {
        let search_from = data.len().saturating_sub(65_557);
        let eocd = memchr::memmem::rfind(&data[search_from..], EOCD_SIG)
            .map(|p| p + search_from)
            .ok_or_else(|| Skip::broken("zip: no end-of-central-directory record"))?;
        let short = || Skip::broken("zip: truncated end-of-central-directory record");
        let mut count = u64::from(le16(data, eocd + 10).ok_or_else(short)?);
        let mut cd_size = u64::from(le32(data, eocd + 12).ok_or_else(short)?);
        let mut cd_offset = u64::from(le32(data, eocd + 16).ok_or_else(short)?);
        let mut cd_end_pos = eocd as u64;
        if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
            if let Some(loc) = eocd.checked_sub(20) {
                if data.get(loc..loc + 4) == Some(ZIP64_LOCATOR_SIG) {
                    let z = le64(data, loc + 8).ok_or_else(short)?;
                    let z = usize::try_from(z).map_err(|_| short())?;
                    if le32(data, z) == Some(ZIP64_EOCD_SIG) {
                        count = le64(data, z + 32).ok_or_else(short)?;
                        cd_size = le64(data, z + 40).ok_or_else(short)?;
                        cd_offset = le64(data, z + 48).ok_or_else(short)?;
                        cd_end_pos = z as u64;
                    }
                }
            }
        }
        if count > max_entries {
            return Err(Skip::limit(format!(
                "zip: {count} entries, over the {max_entries}-entry limit"
            )));
        }
        // Data prepended to the archive (self-extractors) shifts every offset.
        let shift = cd_end_pos.saturating_sub(cd_offset.saturating_add(cd_size));
        let at = |offset: u64| -> Option<usize> {
            let direct = usize::try_from(offset).ok()?;
            if le32(data, direct) == Some(CENTRAL_SIG) || shift == 0 {
                return Some(direct);
            }
            usize::try_from(offset.checked_add(shift)?).ok()
        };
        let mut pos = at(cd_offset).ok_or_else(|| Skip::broken("zip: bad directory offset"))?;
        let delta = (pos as u64).saturating_sub(cd_offset);
        let mut entries = Vec::new();
        for _ in 0..count {
            if le32(data, pos) != Some(CENTRAL_SIG) {
                if entries.is_empty() && count > 0 {
                    return Err(Skip::broken("zip: central directory not found"));
                }
                break;
            }
            let bad = || Skip::broken("zip: truncated central directory");
            let flags = le16(data, pos + 8).ok_or_else(bad)?;
            let method = le16(data, pos + 10).ok_or_else(bad)?;
            let mut compressed_size = u64::from(le32(data, pos + 20).ok_or_else(bad)?);
            let mut declared_size = u64::from(le32(data, pos + 24).ok_or_else(bad)?);
            let name_len = usize::from(le16(data, pos + 28).ok_or_else(bad)?);
            let extra_len = usize::from(le16(data, pos + 30).ok_or_else(bad)?);
            let comment_len = usize::from(le16(data, pos + 32).ok_or_else(bad)?);
            let mut local = u64::from(le32(data, pos + 42).ok_or_else(bad)?);
            let name_start = pos + 46;
            let raw = data
                .get(name_start..name_start + name_len)
                .ok_or_else(bad)?;
            let extra = data
                .get(name_start + name_len..name_start + name_len + extra_len)
                .ok_or_else(bad)?;
            parse_zip64_extra(extra, &mut declared_size, &mut compressed_size, &mut local);
            let span = locate(data, local.saturating_add(delta), compressed_size);
            entries.push(Entry {
                raw_name: decode_name(raw),
                flags,
                method,
                declared_size,
                span,
            });
            pos = name_start + name_len + extra_len + comment_len;
        }
        check_overlaps(&entries)?;
        Ok(Archive { data, entries })
    }

    /// The first entry with exactly this stored name.
    pub(crate) fn find(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.raw_name == name)
    }

    /// Whether an entry of this name exists.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Reads the content of an entry within the walk's limits.
    pub(crate) fn read(&self, walker: &mut dyn Visit, entry: &Entry) -> Outcome<Cow<'a, [u8]>> {
        if entry.flags & 1 != 0 || entry.method == 99 {
            return Err(Skip::new(SkipReason::Encrypted, "encrypted zip entry"));
        }
        let (_, start, end) = entry.span.clone().map_err(Skip::broken)?;
        let raw = &self.data[start..end];
        match entry.method {
            0 => {
                if entry.declared_size != raw.len() as u64 {
                    return Err(Skip::broken(format!(
                        "stored entry declares {} bytes but holds {}",
                        entry.declared_size,
                        raw.len()
                    )));
                }
                Ok(Cow::Borrowed(raw))
            }
            8 => self.inflate(walker, entry, raw).map(Cow::Owned),
            other => Err(Skip::new(
                SkipReason::UnsupportedFormat,
                format!("zip compression method {other} is not supported"),
            )),
        }
    }

    fn inflate(&self, walker: &mut dyn Visit, entry: &Entry, raw: &[u8]) -> Outcome<Vec<u8>> {
        let (ratio_threshold, max_ratio) =
            (walker.limits().ratio_threshold, walker.limits().max_ratio);
        let cap = walker.inflate_cap();
        // Declared sizes are only ever used to refuse early, never to allocate.
        if entry.declared_size > cap {
            return Err(Skip::limit(format!(
                "entry declares {} bytes, over the inflation budget of {cap}",
                entry.declared_size
            )));
        }
        let ratio_limit = |produced: u64| {
            produced > ratio_threshold && produced / (raw.len() as u64).max(1) > max_ratio
        };
        if ratio_limit(entry.declared_size) {
            return Err(Skip::limit(format!("compression ratio over {max_ratio}:1")));
        }
        let mut decoder = flate2::read::DeflateDecoder::new(raw);
        let mut out = Vec::with_capacity(raw.len().min(1 << 20) * 2);
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match decoder.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => return Err(Skip::broken(format!("zip entry: {e}"))),
            };
            out.extend_from_slice(&chunk[..n]);
            let produced = out.len() as u64;
            if produced > cap {
                walker.add_inflated(produced);
                return Err(Skip::limit(format!("entry inflates past {cap} bytes")));
            }
            if produced > entry.declared_size {
                walker.add_inflated(produced);
                return Err(Skip::broken(format!(
                    "entry inflates past its declared size of {} bytes",
                    entry.declared_size
                )));
            }
            if ratio_limit(produced) {
                walker.add_inflated(produced);
                return Err(Skip::limit(format!("compression ratio over {max_ratio}:1")));
            }
            walker.check_time()?;
        }
        walker.add_inflated(out.len() as u64);
        Ok(out)
    }
}

fn parse_zip64_extra(extra: &[u8], declared: &mut u64, compressed: &mut u64, local: &mut u64) {
    let mut pos = 0;
    while pos + 4 <= extra.len() {
        let (Some(id), Some(len)) = (le16(extra, pos), le16(extra, pos + 2)) else {
            return;
        };
        let body_start = pos + 4;
        let body_end = body_start + usize::from(len);
        if id == 0x0001 {
            let mut field = body_start;
            for value in [declared, compressed, local] {
                if *value == 0xFFFF_FFFF && field + 8 <= body_end {
                    if let Some(v) = le64(extra, field) {
                        *value = v;
                    }
                    field += 8;
                }
            }
            return;
        }
        pos = body_end;
    }
}

/// Finds an entry's data through its local header: (header start, data start, data end).
fn locate(data: &[u8], local: u64, compressed: u64) -> Result<(usize, usize, usize), String> {
    let start = usize::try_from(local).map_err(|_| "local header offset out of range")?;
    if le32(data, start) != Some(LOCAL_SIG) {
        return Err("zip: bad local header".to_string());
    }
    let name_len = le16(data, start + 26).ok_or("zip: truncated local header")?;
    let extra_len = le16(data, start + 28).ok_or("zip: truncated local header")?;
    let data_start = start + 30 + usize::from(name_len) + usize::from(extra_len);
    let data_end = usize::try_from(compressed)
        .ok()
        .and_then(|c| data_start.checked_add(c))
        .filter(|&end| end <= data.len())
        .ok_or("zip: entry data runs past the end of the archive")?;
    Ok((start, data_start, data_end))
}

/// Refuses archives whose entries share bytes: legitimate archives never do, and overlapping
/// entries are how a small file expands into petabytes.
fn check_overlaps(entries: &[Entry]) -> Outcome {
    let mut spans: Vec<(usize, usize)> = entries
        .iter()
        .filter_map(|e| e.span.as_ref().ok().map(|&(start, _, end)| (start, end)))
        .collect();
    spans.sort_unstable();
    for pair in spans.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(Skip::limit(
                "zip: overlapping entries (a zip-bomb construction) are refused",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_traversal_and_roots() {
        for (input, want) in [
            ("a/b.txt", "a/b.txt"),
            ("../../etc/passwd", "etc/passwd"),
            ("/abs/x", "abs/x"),
            ("C:\\Windows\\x.ini", "Windows/x.ini"),
            ("./a/./b/../c", "a/b/c"),
            ("..", "(unnamed)"),
        ] {
            assert_eq!(sanitize(input), want, "{input}");
        }
    }

    #[test]
    fn garbage_is_broken_not_a_panic() {
        for data in [
            &b""[..],
            b"PK\x05\x06",
            b"PK\x03\x04garbage",
            &[0xFFu8; 100],
        ] {
            assert!(Archive::parse(data, 10).is_err());
        }
    }
}
