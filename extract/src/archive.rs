//! The archive readers: ZIP (on this crate's ZIP access, `zip`), 7z (on `sevenz-rust2`), tar
//! archives (with or without the `ustar` magic), and the single compressed streams gzip, bzip2,
//! xz and Zstandard. Every file entry of a ZIP, 7z or tar archive is one nested item, named by
//! its sanitised path; a compressed stream's content is one nested item (named by the name a
//! gzip header stores, or `content`).
//!
//! Every decompressor is read through [`inflate`], which holds the output to the walk's
//! inflation budget and the compression-ratio limit as it grows, so that a bomb stops within
//! one chunk of a limit instead of after it has been held in memory. A compressed stream read
//! as it is decompressed, never held (`stream`'s [`inflate`](crate::stream::inflate) and the
//! workers' stream requests), goes through [`StreamInflater`], with the same decompressors.

use std::cell::Cell;
use std::io::{BufRead, BufReader, Cursor, ErrorKind, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use sevenz_rust2::{BlockDecoder, EncoderMethod, Password};

use crate::types::{
    member_path, panic_message, read_capped, FileType, Limits, Outcome, Skip, SkipReason,
};
use crate::visit::Visit;
use crate::zip::{sanitize, Archive};

/// How much a decompressor is asked for at a time (and so how far past a limit it may get).
pub(crate) const CHUNK: usize = 64 * 1024;

/// The member name of a compressed stream's content when the stream stores none.
pub(crate) const STREAM_CONTENT: &str = "content";

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
    let name = gzip_member_name(decoder.header());
    walker.child(&inflated, &member_path(member, &name), depth + 1);
    Ok(())
}

/// The member name of a gzip stream's content: the file name its header stores, sanitised,
/// else `content`.
fn gzip_member_name(header: Option<&flate2::GzHeader>) -> String {
    header
        .and_then(|h| h.filename())
        .map(|n| sanitize(&String::from_utf8_lossy(n)))
        .unwrap_or_else(|| STREAM_CONTENT.to_string())
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
    walker.child(&inflated, &member_path(member, STREAM_CONTENT), depth + 1);
    Ok(())
}

/// One of the single-stream decompressors over a reader of compressed bytes (boxed: their
/// states differ in size by kilobytes).
enum StreamDecoder<R: Read> {
    Gzip(Box<flate2::read::MultiGzDecoder<R>>),
    Bzip2(Box<bzip2::read::MultiBzDecoder<R>>),
    Xz(Box<lzma_rust2::XzReader<R>>),
    Zstd(Box<ZstdFrames<BufReader<R>>>),
}

impl<R: Read> Read for StreamDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            StreamDecoder::Gzip(d) => d.read(buf),
            StreamDecoder::Bzip2(d) => d.read(buf),
            StreamDecoder::Xz(d) => d.read(buf),
            StreamDecoder::Zstd(d) => d.read(buf),
        }
    }
}

/// Counts the compressed bytes a decompressor takes from its input, for the ratio check.
struct Consumed<'a> {
    input: &'a mut dyn Read,
    count: Rc<Cell<u64>>,
}

impl Read for Consumed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        self.count.set(self.count.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// A compressed stream (gzip, bzip2, xz, Zstandard) decompressed as it is read, for content
/// too large to hold: the output is handed on chunk by chunk, never kept. The compression ratio
/// of what was produced to what was consumed so far is checked past the ratio threshold of the
/// limits after every read of the decompressor; the inflation budgets do not apply (the caller
/// bounds what it reads), nor does the walk's deadline (the caller's, or the worker pool's
/// inactivity deadline, does). A panic of the decompressor ends the stream as `broken_file`.
pub(crate) struct StreamInflater<'a> {
    decoder: Option<StreamDecoder<Consumed<'a>>>,
    kind: FileType,
    consumed: Rc<Cell<u64>>,
    produced: u64,
    threshold: u64,
    max_ratio: u64,
    name: Option<String>,
    failed: Option<Skip>,
    ended: bool,
}

impl<'a> StreamInflater<'a> {
    /// Starts decompressing `input` as a stream of `kind`; a kind that is not a compressed
    /// stream fails at the first [`StreamInflater::fill`] as `unsupported_format`.
    pub(crate) fn new(kind: FileType, input: &'a mut dyn Read, limits: &Limits) -> Self {
        let consumed = Rc::new(Cell::new(0));
        let source = Consumed {
            input,
            count: Rc::clone(&consumed),
        };
        // flate2's gzip decoder reads the header in its constructor: guarded like any read.
        let made = catch_unwind(AssertUnwindSafe(move || match kind {
            FileType::Gzip => Some(StreamDecoder::Gzip(Box::new(
                flate2::read::MultiGzDecoder::new(source),
            ))),
            FileType::Bzip2 => Some(StreamDecoder::Bzip2(Box::new(
                bzip2::read::MultiBzDecoder::new(source),
            ))),
            FileType::Xz => Some(StreamDecoder::Xz(Box::new(lzma_rust2::XzReader::new(
                source, true,
            )))),
            FileType::Zstd => Some(StreamDecoder::Zstd(Box::new(ZstdFrames::new(
                BufReader::new(source),
            )))),
            _ => None,
        }));
        let (decoder, failed) = match made {
            Ok(Some(decoder)) => (Some(decoder), None),
            Ok(None) => (
                None,
                Some(Skip::new(
                    SkipReason::UnsupportedFormat,
                    format!("{kind} is not a compressed stream"),
                )),
            ),
            Err(panic) => (
                None,
                Some(Skip::broken(format!(
                    "{kind} decoder panicked: {}",
                    panic_message(&panic)
                ))),
            ),
        };
        StreamInflater {
            decoder,
            kind,
            consumed,
            produced: 0,
            threshold: limits.ratio_threshold,
            max_ratio: limits.max_ratio,
            name: None,
            failed,
            ended: false,
        }
    }

    /// Fills `buf` with the next decompressed bytes, as far as the stream goes: fewer than
    /// `buf.len()` only at its end (or before a failure), 0 once it has ended. Fails, and goes
    /// on failing, on a damaged stream (a bad header or checksum, a truncation: `broken_file`)
    /// or a ratio over the limit (`limit_exceeded`).
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> Outcome<usize> {
        if let Some(skip) = &self.failed {
            return Err(skip.clone());
        }
        let mut filled = 0;
        while filled < buf.len() && !self.ended {
            let end = buf.len().min(filled + CHUNK);
            match self.read_some(&mut buf[filled..end]) {
                Ok(0) => self.ended = true,
                Ok(n) => filled += n,
                Err(skip) => {
                    self.failed = Some(skip.clone());
                    // What came before the failure is good content: handed on first.
                    if filled > 0 {
                        return Ok(filled);
                    }
                    return Err(skip);
                }
            }
        }
        Ok(filled)
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Outcome<usize> {
        let what = match self.kind {
            FileType::Gzip => "gzip stream",
            FileType::Bzip2 => "bzip2 stream",
            FileType::Xz => "xz stream",
            _ => "zstd stream",
        };
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(0);
        };
        let read = loop {
            match catch_unwind(AssertUnwindSafe(|| decoder.read(buf))) {
                Ok(Err(e)) if e.kind() == ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        if self.name.is_none() {
            self.name = Some(match decoder {
                StreamDecoder::Gzip(d) => gzip_member_name(d.header()),
                _ => STREAM_CONTENT.to_string(),
            });
        }
        let n = match read {
            Ok(Ok(n)) => n,
            Ok(Err(e)) if e.kind() == ErrorKind::OutOfMemory => {
                return Err(Skip::limit(format!("{what}: out of memory ({e})")));
            }
            Ok(Err(e)) => return Err(Skip::broken(format!("{what}: {e}"))),
            Err(panic) => {
                return Err(Skip::broken(format!(
                    "{what}: decoder panicked: {}",
                    panic_message(&panic)
                )))
            }
        };
        self.produced = self.produced.saturating_add(n as u64);
        let consumed = self.consumed.get().max(1);
        if self.produced > self.threshold && self.produced / consumed > self.max_ratio {
            return Err(Skip::limit(format!(
                "{what}: compression ratio over {}:1",
                self.max_ratio
            )));
        }
        Ok(n)
    }

    /// The member name of the content: the name a gzip header stores (sanitised), else
    /// `content`; known once the first bytes were read.
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// Every frame of a Zstandard stream as one reader (`ruzstd`'s own streaming decoder reads one
/// frame only). Skippable frames are passed over; a frame's checksum, when it has one, is
/// verified once the frame is drained. Reads its input as it goes (a slice, or a stream).
struct ZstdFrames<R> {
    rest: R,
    frame: ruzstd::decoding::FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(input: R) -> ZstdFrames<R> {
        ZstdFrames {
            rest: input,
            frame: ruzstd::decoding::FrameDecoder::new(),
            in_frame: false,
        }
    }

    /// Starts the next frame; false at the end of the input.
    fn next_frame(&mut self) -> std::io::Result<bool> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            if self.rest.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.frame.reset(&mut self.rest) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let length = u64::from(length);
                    let skipped =
                        std::io::copy(&mut (&mut self.rest).take(length), &mut std::io::sink())?;
                    if skipped != length {
                        return Err(std::io::Error::new(
                            ErrorKind::UnexpectedEof,
                            "truncated skippable frame",
                        ));
                    }
                }
                Err(e) => return Err(std::io::Error::new(ErrorKind::InvalidData, e)),
            }
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
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
