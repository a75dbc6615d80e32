//! The archive readers: ZIP (on this crate's ZIP access, `zip`), 7z (on `sevenz-rust2`), tar
//! archives (with or without the `ustar` magic), and the single compressed streams gzip, bzip2,
//! xz and Zstandard. Every file entry of a ZIP, 7z or tar archive is one nested item, named by
//! its sanitised path; a compressed stream's content is one nested item (named by the name a
//! gzip header stores, or `content`).
//!
//! Every decompressor is read through [`inflate`], which holds the output to the walk's
//! inflation budget and the compression-ratio limit as it grows, so that a bomb stops within
//! one chunk of a limit instead of after it has been held in memory.

use std::io::{Cursor, ErrorKind, Read};

use sevenz_rust2::{BlockDecoder, EncoderMethod, Password};

use crate::types::{member_path, read_capped, Outcome, Skip, SkipReason};
use crate::visit::Visit;
use crate::zip::{sanitize, Archive};

/// How much a decompressor is asked for at a time (and so how far past a limit it may get).
const CHUNK: usize = 64 * 1024;

/// Reads a ZIP archive: every file entry becomes a nested item.
pub(crate) fn read_zip(
    walker: &mut dyn Visit,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    let archive = Archive::parse(data, walker.limits().max_entries)?;
    for entry in archive.entries.iter().filter(|e| !e.is_dir()) {
        walker.check_time()?;
        let path = member_path(member, &sanitize(&entry.raw_name));
        match archive.read(walker, entry) {
            Ok(bytes) => walker.child(&bytes, &path, depth + 1),
            Err(skip) => walker.skip_child(&path, skip),
        }
    }
    Ok(())
}

/// The compressed bytes an output comes from, for the compression-ratio check.
#[derive(Clone, Copy)]
struct Packed {
    /// Size of the compressed data.
    bytes: u64,
    /// What the same compressed data already produced before this output (earlier entries of a
    /// solid 7z block).
    produced_before: u64,
}

impl Packed {
    fn whole(data: &[u8]) -> Packed {
        Packed {
            bytes: data.len() as u64,
            produced_before: 0,
        }
    }
}

/// Reads a decompressor to its end in chunks: at most [`Visit::inflate_cap`] bytes, the ratio
/// of everything `packed` produced to its size checked past the ratio threshold of the limits,
/// and the deadline checked per chunk. The output never reserves past the cap. What was
/// inflated counts against the walk's budget even when a limit strikes.
fn inflate(
    walker: &mut dyn Visit,
    decoder: &mut dyn Read,
    packed: Packed,
    what: &str,
) -> Outcome<Vec<u8>> {
    let cap = usize::try_from(walker.inflate_cap()).unwrap_or(usize::MAX);
    let (threshold, max_ratio) = (walker.limits().ratio_threshold, walker.limits().max_ratio);
    let mut out = Vec::new();
    let mut chunk = vec![0u8; CHUNK];
    let result = loop {
        if let Err(skip) = walker.check_time() {
            break Err(skip);
        }
        let n = match decoder.read(&mut chunk) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::OutOfMemory => {
                break Err(Skip::limit(format!("{what}: out of memory ({e})")));
            }
            Err(e) => break Err(Skip::broken(format!("{what}: {e}"))),
        };
        let len = out.len().saturating_add(n);
        if len > cap {
            walker.add_inflated(len as u64);
            return Err(Skip::limit(format!("{what}: inflates past {cap} bytes")));
        }
        if len > out.capacity() {
            // Grow by doubling, but never past the cap.
            let want = len.max(out.len().saturating_mul(2)).max(CHUNK).min(cap);
            if out.try_reserve_exact(want - out.len()).is_err() {
                break Err(Skip::limit(format!("{what}: out of memory")));
            }
        }
        out.extend_from_slice(&chunk[..n]);
        let produced = packed.produced_before + out.len() as u64;
        if produced > threshold && produced / packed.bytes.max(1) > max_ratio {
            break Err(Skip::limit(format!(
                "{what}: compression ratio over {max_ratio}:1"
            )));
        }
    };
    walker.add_inflated(out.len() as u64);
    result.map(|()| out)
}

/// A gzip stream (concatenated members read as one): its content is one nested item, named by
/// the file name its header stores, else `content`.
pub(crate) fn read_gzip(
    walker: &mut dyn Visit,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    let mut decoder = flate2::read::MultiGzDecoder::new(data);
    let inflated = inflate(walker, &mut decoder, Packed::whole(data), "gzip stream")?;
    let name = decoder
        .header()
        .and_then(|h| h.filename())
        .map(|n| sanitize(&String::from_utf8_lossy(n)))
        .unwrap_or_else(|| "content".to_string());
    walker.child(&inflated, &member_path(member, &name), depth + 1);
    Ok(())
}

/// A bzip2 stream (concatenated streams read as one): its content is the nested item `content`.
pub(crate) fn read_bzip2(
    walker: &mut dyn Visit,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    let mut decoder = bzip2::read::MultiBzDecoder::new(data);
    read_stream(walker, &mut decoder, data, member, depth, "bzip2 stream")
}

/// An xz stream (concatenated streams read as one, integrity checks verified): its content is
/// the nested item `content`.
pub(crate) fn read_xz(
    walker: &mut dyn Visit,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    let mut decoder = lzma_rust2::XzReader::new(data, true);
    read_stream(walker, &mut decoder, data, member, depth, "xz stream")
}

/// A Zstandard stream (all its frames, skippable frames passed over, checksums verified): its
/// content is the nested item `content`.
pub(crate) fn read_zstd(
    walker: &mut dyn Visit,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    let mut decoder = ZstdFrames::new(data);
    read_stream(walker, &mut decoder, data, member, depth, "zstd stream")
}

/// A stream that stores no name: its content is the nested item `content`.
fn read_stream(
    walker: &mut dyn Visit,
    decoder: &mut dyn Read,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
    what: &str,
) -> Outcome {
    let inflated = inflate(walker, decoder, Packed::whole(data), what)?;
    walker.child(&inflated, &member_path(member, "content"), depth + 1);
    Ok(())
}

/// Every frame of a Zstandard stream as one reader (`ruzstd`'s own streaming decoder reads one
/// frame only). Skippable frames are passed over; a frame's checksum, when it has one, is
/// verified once the frame is drained.
struct ZstdFrames<'a> {
    rest: &'a [u8],
    frame: ruzstd::decoding::FrameDecoder,
    in_frame: bool,
}

impl<'a> ZstdFrames<'a> {
    fn new(data: &'a [u8]) -> ZstdFrames<'a> {
        ZstdFrames {
            rest: data,
            frame: ruzstd::decoding::FrameDecoder::new(),
            in_frame: false,
        }
    }

    /// Starts the next frame; false at the end of the input.
    fn next_frame(&mut self) -> std::io::Result<bool> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            if self.rest.is_empty() {
                return Ok(false);
            }
            match self.frame.reset(&mut self.rest) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let length = usize::try_from(length).unwrap_or(usize::MAX);
                    self.rest = self.rest.get(length..).ok_or_else(|| {
                        std::io::Error::new(ErrorKind::UnexpectedEof, "truncated skippable frame")
                    })?;
                }
                Err(e) => return Err(std::io::Error::new(ErrorKind::InvalidData, e)),
            }
        }
    }
}

impl Read for ZstdFrames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if !self.next_frame()? {
                    return Ok(0);
                }
                self.in_frame = true;
            }
            let frame = &mut self.frame;
            // As ruzstd's StreamingDecoder does: decode blocks until enough can be collected.
            while frame.can_collect() < buf.len() && !frame.is_finished() {
                let wanted = buf.len() - frame.can_collect();
                frame
                    .decode_blocks(&mut self.rest, BlockDecodingStrategy::UptoBytes(wanted))
                    .map_err(|e| std::io::Error::new(ErrorKind::InvalidData, e))?;
            }
            let n = frame.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if !frame.is_finished() {
                // Cannot happen by ruzstd's contract; refuse rather than loop.
                return Err(std::io::Error::new(
                    ErrorKind::InvalidData,
                    "zstd frame makes no progress",
                ));
            }
            if frame.can_collect() == 0 {
                if let (Some(stored), Some(computed)) = (
                    frame.get_checksum_from_data(),
                    frame.get_calculated_checksum(),
                ) {
                    if stored != computed {
                        return Err(std::io::Error::new(
                            ErrorKind::InvalidData,
                            "frame checksum mismatch",
                        ));
                    }
                }
                self.in_frame = false;
            }
        }
    }
}

/// Reads a 7z archive: every file entry becomes a nested item. Blocks are decoded one after the
/// other on the calling thread; in a solid block (several files compressed as one stream) an
/// entry that cannot be read ends the block, and its remaining entries are reported with the
/// same reason. Encrypted blocks are `encrypted` skips of their entries; an archive whose
/// headers are encrypted is an `encrypted` skip as a whole.
pub(crate) fn read_7z(
    walker: &mut dyn Visit,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    if !check_7z_start_header(data)? {
        return Ok(());
    }
    let password = Password::empty();
    let mut source = Cursor::new(data);
    let archive =
        sevenz_rust2::Archive::read(&mut source, &password).map_err(|e| sevenz_skip(&e))?;
    if archive.files.len() as u64 > walker.limits().max_entries {
        return Err(Skip::limit(format!(
            "7z: more than {} entries",
            walker.limits().max_entries
        )));
    }
    let path_of = |index: usize| -> String {
        let name = archive.files.get(index).map_or("", |f| f.name());
        let name = sanitize(name);
        if name.is_empty() {
            member_path(member, &format!("entry-{}", index + 1))
        } else {
            member_path(member, &name)
        }
    };
    for (block_index, block) in archive.blocks.iter().enumerate() {
        walker.check_time()?;
        let first = archive
            .stream_map
            .block_first_file_index
            .get(block_index)
            .copied()
            .unwrap_or(usize::MAX);
        let mut decoder = BlockDecoder::new(1, block_index, &archive, &password, &mut source);
        decoder.set_thread_count(1);
        let files = first..first.saturating_add(decoder.entry_count());
        if archive.files.get(files.clone()).is_none() {
            return Err(Skip::broken("7z: a block lists entries that do not exist"));
        }
        let encrypted = block
            .coders
            .iter()
            .any(|c| c.encoder_method_id() == EncoderMethod::ID_AES256_SHA256);
        if encrypted {
            for index in files.filter(|&i| !archive.files[i].is_directory()) {
                walker.skip_child(
                    &path_of(index),
                    Skip::new(SkipReason::Encrypted, "encrypted 7z entry"),
                );
            }
            continue;
        }
        let packed_bytes = block_packed_size(&archive, block_index);
        let mut next = files.start;
        let mut produced = 0u64;
        // Why the block stopped before its end: the skip of the entry that could not be read.
        let mut failed: Option<Skip> = None;
        let result = decoder.for_each_entries(&mut |entry, reader| {
            let index = next;
            next += 1;
            if entry.is_directory() {
                return Ok(true);
            }
            let path = path_of(index);
            let packed = Packed {
                bytes: packed_bytes,
                produced_before: produced,
            };
            match inflate(walker, reader, packed, "7z entry") {
                Ok(bytes) => {
                    produced += bytes.len() as u64;
                    walker.child(&bytes, &path, depth + 1);
                    Ok(true)
                }
                Err(skip) => {
                    walker.skip_child(&path, skip.clone());
                    failed = Some(skip);
                    Ok(false)
                }
            }
        });
        let rest = match (result, &failed) {
            (_, Some(skip)) => Some(Skip::new(
                skip.reason,
                format!(
                    "not read: an earlier entry of its solid 7z block failed ({})",
                    skip.detail
                ),
            )),
            (Err(e), None) => Some(sevenz_skip(&e)),
            (Ok(_), None) => None,
        };
        if let Some(rest) = rest {
            for index in (next..files.end).filter(|&i| !archive.files[i].is_directory()) {
                walker.skip_child(&path_of(index), rest.clone());
            }
        }
        if let Some(skip) = failed.filter(|s| s.reason == SkipReason::Timeout) {
            return Err(skip);
        }
    }
    // Files without data (empty files) belong to no block. Anti-items (deletion markers of
    // update archives) are among them: `sevenz-rust2`'s writer marks every empty file so.
    for (index, file) in archive.files.iter().enumerate() {
        let in_block = archive
            .stream_map
            .file_block_index
            .get(index)
            .is_some_and(Option::is_some);
        if !in_block && !file.is_directory() {
            walker.check_time()?;
            walker.child(b"", &path_of(index), depth + 1);
        }
    }
    Ok(())
}

/// Checks the 7z start header before the archive is handed to `sevenz-rust2`: its CRC, and that
/// the header it points to lies inside the data (so that no allocation is sized by a header
/// that is not there, and the crate's slow search for the header of an unfinished archive is
/// never started). Returns false for an archive without entries (no header at all).
fn check_7z_start_header(data: &[u8]) -> Outcome<bool> {
    let broken = |detail: &str| Skip::broken(format!("7z: {detail}"));
    let head = data
        .get(..32)
        .ok_or_else(|| broken("shorter than its start header"))?;
    let mut crc = flate2::Crc::new();
    crc.update(&head[12..32]);
    if crc.sum().to_le_bytes() != head[8..12] {
        return Err(broken(
            "start header checksum mismatch (an unfinished or damaged archive)",
        ));
    }
    if head[6] != 0 {
        return Err(Skip::new(
            SkipReason::UnsupportedFormat,
            format!("7z format version {}.{} is not supported", head[6], head[7]),
        ));
    }
    let le64 = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let (offset, size) = (le64(12), le64(20));
    if size == 0 {
        return Ok(false);
    }
    let end = offset
        .checked_add(size)
        .and_then(|n| n.checked_add(32))
        .ok_or_else(|| broken("header offset out of range"))?;
    if end > data.len() as u64 {
        return Err(broken("header lies past the end of the data (truncated?)"));
    }
    Ok(true)
}

/// Compressed bytes of one block: its pack streams, from its first to the next block's first.
fn block_packed_size(archive: &sevenz_rust2::Archive, block_index: usize) -> u64 {
    let firsts = archive.stream_map.block_first_pack_stream_index();
    let sizes = archive.pack_sizes();
    let start = firsts.get(block_index).copied().unwrap_or(sizes.len());
    let end = firsts
        .get(block_index + 1)
        .copied()
        .unwrap_or(sizes.len())
        .max(start);
    sizes
        .get(start..end)
        .map_or(0, |s| s.iter().fold(0u64, |a, &b| a.saturating_add(b)))
}

/// Classifies an error of `sevenz-rust2`.
fn sevenz_skip(error: &sevenz_rust2::Error) -> Skip {
    use sevenz_rust2::Error;
    match error {
        // Content blocks are checked for encryption before they are decoded, so these come
        // from an encrypted header: without `sevenz-rust2`'s `aes256` feature (this crate's
        // build) as an unsupported AES coder, with it (as in tests) as a missing password.
        Error::PasswordRequired | Error::MaybeBadPassword(_) => {
            Skip::new(SkipReason::Encrypted, "encrypted 7z archive")
        }
        Error::UnsupportedCompressionMethod(method) if method.contains("AES") => {
            Skip::new(SkipReason::Encrypted, "encrypted 7z archive")
        }
        Error::UnsupportedCompressionMethod(method) => Skip::new(
            SkipReason::UnsupportedFormat,
            format!("7z compression method {method} is not supported"),
        ),
        Error::Unsupported(what) => Skip::new(
            SkipReason::UnsupportedFormat,
            format!("7z: {what} is not supported"),
        ),
        Error::ExternalUnsupported => Skip::new(
            SkipReason::UnsupportedFormat,
            "7z: external streams are not supported",
        ),
        Error::MaxMemLimited { .. } => Skip::limit(format!("7z: {error}")),
        Error::Io(e, _) if e.kind() == ErrorKind::OutOfMemory => {
            Skip::limit(format!("7z: out of memory ({e})"))
        }
        other => Skip::broken(format!("7z: {other}")),
    }
}

pub(crate) fn read_tar(
    walker: &mut dyn Visit,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    let mut archive = tar::Archive::new(data);
    let entries = archive
        .entries()
        .map_err(|e| Skip::broken(format!("tar: {e}")))?;
    let mut count = 0u64;
    for entry in entries {
        walker.check_time()?;
        let mut entry = entry.map_err(|e| Skip::broken(format!("tar: {e}")))?;
        count += 1;
        if count > walker.limits().max_entries {
            return Err(Skip::limit(format!(
                "tar: more than {} entries",
                walker.limits().max_entries
            )));
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        // Old (v7) tars mark a directory only by the slash that ends its name.
        if entry.path_bytes().ends_with(b"/") {
            continue;
        }
        let name = entry
            .path()
            .map(|p| sanitize(&p.to_string_lossy()))
            .unwrap_or_else(|_| format!("entry-{count}"));
        let path = member_path(member, &name);
        // A tar member's bytes are a slice of the input: reading them costs no inflation,
        // but the declared size is still not trusted beyond what the input holds.
        match read_capped(&mut entry, walker.limits().max_file_size, "tar entry") {
            Ok(bytes) => walker.child(&bytes, &path, depth + 1),
            Err(skip) => walker.skip_child(&path, skip),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_zip_errors_are_classified() {
        use sevenz_rust2::Error;
        let cases = [
            (Error::PasswordRequired, SkipReason::Encrypted),
            // What an encrypted header gives in a build without the `aes256` feature.
            (
                Error::UnsupportedCompressionMethod("AES256_SHA256".into()),
                SkipReason::Encrypted,
            ),
            (
                Error::UnsupportedCompressionMethod("PPMD".into()),
                SkipReason::UnsupportedFormat,
            ),
            (
                Error::MaxMemLimited {
                    max_kb: 1,
                    actaul_kb: 2,
                },
                SkipReason::LimitExceeded,
            ),
            (Error::NextHeaderCrcMismatch, SkipReason::BrokenFile),
            (Error::BadTerminatedHeader(7), SkipReason::BrokenFile),
        ];
        for (error, reason) in cases {
            assert_eq!(sevenz_skip(&error).reason, reason, "{error}");
        }
    }

    #[test]
    fn a_start_header_is_checked_before_the_archive_is_parsed() {
        let mut head = b"7z\xBC\xAF\x27\x1C\x00\x04".to_vec();
        let fields = |offset: u64, size: u64| {
            let mut f = offset.to_le_bytes().to_vec();
            f.extend(size.to_le_bytes());
            f.extend([0u8; 4]);
            f
        };
        let with_crc = |head: &[u8], fields: Vec<u8>| {
            let mut crc = flate2::Crc::new();
            crc.update(&fields);
            let mut data = head.to_vec();
            data.extend(crc.sum().to_le_bytes());
            data.extend(fields);
            data
        };
        // No header at all: an empty archive.
        assert_eq!(
            check_7z_start_header(&with_crc(&head, fields(0, 0))),
            Ok(false)
        );
        // A header that would lie past the end, or whose size overflows: broken.
        let past = with_crc(&head, fields(0, 1 << 40));
        assert_eq!(
            check_7z_start_header(&past).unwrap_err().reason,
            SkipReason::BrokenFile
        );
        let overflow = with_crc(&head, fields(u64::MAX, 2));
        assert_eq!(
            check_7z_start_header(&overflow).unwrap_err().reason,
            SkipReason::BrokenFile
        );
        // A zeroed start header (an unfinished archive) is refused, not searched for.
        let mut zeroed = head.clone();
        zeroed.extend([0u8; 24]);
        assert_eq!(
            check_7z_start_header(&zeroed).unwrap_err().reason,
            SkipReason::BrokenFile
        );
        // A well-formed start header of another major version.
        head[6] = 1;
        let future = with_crc(&head, fields(0, 0));
        assert_eq!(
            check_7z_start_header(&future).unwrap_err().reason,
            SkipReason::UnsupportedFormat
        );
    }
}
