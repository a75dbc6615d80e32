//! OLE compound files ([MS-CFB]), the container of legacy Office documents (`.doc`, `.xls`,
//! `.ppt`) and Outlook messages (`.msg`). Two ways in:
//!
//! - [`root_names`]: the names directly under the root storage, read by this module's own
//!   bounded code (every chain walk capped by the file's sector count, every tree walk by the
//!   directory's size). Type detection uses it in-process, where no third-party parser may run.
//! - [`Compound`]: the `cfb` crate, for the readers, which run only in the isolated workers.
//!   It validates the FAT (a sector pointed to twice, a loop, a chain past the end are errors)
//!   before anything is read; streams are read whole, never past the file's own size, and a
//!   storage can be re-packed as a compound file of its own so that an attachment or an
//!   embedded message becomes a nested item.
//!
//! [MS-CFB]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cfb/

use crate::bytes::{le16, le32};
use std::collections::HashSet;
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};

use crate::types::{read_capped, Outcome, Skip};
use crate::visit::Visit;

/// The eight bytes every compound file starts with.
pub(crate) const SIGNATURE: &[u8; 8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Sector numbers at or above this are markers (free, end of chain, FAT, DIFAT), not sectors.
const MAX_REGULAR_SECTOR: u32 = 0xFFFF_FFFA;
/// Entries of the DIFAT held in the header itself.
const HEADER_DIFAT: usize = 109;
/// A directory longer than this many sectors is not looked at by [`root_names`] (real files
/// have a few; Office's own limit for a directory is far below).
const MAX_DIRECTORY_SECTORS: usize = 1 << 16;

/// The sectors of a compound file held in memory, as the header describes them.
struct Sectors<'a> {
    data: &'a [u8],
    /// Sector size in bytes (512 or 4096).
    size: usize,
    /// Number of sectors the file holds (the last one may be short).
    count: usize,
    /// The FAT's sector numbers, as many as can cover `count` sectors.
    difat: Vec<u32>,
}

impl<'a> Sectors<'a> {
    fn new(data: &'a [u8]) -> Option<Sectors<'a>> {
        if !data.starts_with(SIGNATURE) {
            return None;
        }
        let shift = le16(data, 0x1E)?;
        if shift != 9 && shift != 12 {
            return None;
        }
        let size = 1usize << shift;
        let count = data.len().saturating_sub(size).div_ceil(size);
        let per_sector = size / 4;
        // Only as many FAT sectors as it takes to map every sector of the file.
        let needed = count.div_ceil(per_sector);
        let mut difat: Vec<u32> = (0..HEADER_DIFAT)
            .map_while(|i| le32(data, 0x4C + 4 * i))
            .take(needed)
            .collect();
        let mut next = le32(data, 0x44)?;
        let mut hops = 0;
        while difat.len() < needed && next < MAX_REGULAR_SECTOR && hops <= count {
            hops += 1;
            let start = (next as usize + 1).checked_mul(size)?;
            for i in 0..per_sector - 1 {
                difat.push(le32(data, start + 4 * i)?);
            }
            next = le32(data, start + 4 * (per_sector - 1))?;
        }
        Some(Sectors {
            data,
            size,
            count,
            difat,
        })
    }

    /// The bytes of sector `id`, possibly short at the end of the file.
    fn sector(&self, id: u32) -> Option<&'a [u8]> {
        if id as usize >= self.count {
            return None;
        }
        let start = (id as usize + 1) * self.size;
        let end = (start + self.size).min(self.data.len());
        self.data.get(start..end)
    }

    /// The FAT entry of sector `id`: the next sector of its chain.
    fn next(&self, id: u32) -> Option<u32> {
        let per_sector = self.size / 4;
        let fat_sector = *self.difat.get(id as usize / per_sector)?;
        le32(self.sector(fat_sector)?, (id as usize % per_sector) * 4)
    }
}

/// The names of the storages and streams directly under the root storage, or `None` when the
/// data is not a compound file whose directory can be read. Never follows a chain further than
/// the file's sector count or a tree further than its directory's entries, so a hostile FAT or
/// directory (loops, huge counts) costs at most one pass over the directory.
pub(crate) fn root_names(data: &[u8]) -> Option<Vec<String>> {
    let sectors = Sectors::new(data)?;
    // The directory's chain of sectors.
    let mut chain = Vec::new();
    let mut seen_sectors = HashSet::new();
    let mut id = le32(data, 0x30)?;
    while id < MAX_REGULAR_SECTOR {
        let full = chain.len() >= sectors.count.min(MAX_DIRECTORY_SECTORS);
        if full || !seen_sectors.insert(id) || sectors.sector(id).is_none() {
            break;
        }
        chain.push(id);
        id = match sectors.next(id) {
            Some(next) => next,
            None => break,
        };
    }
    let per_sector = sectors.size / 128;
    let entries = chain.len() * per_sector;
    let entry = |i: u32| -> Option<&[u8]> {
        let i = i as usize;
        let sector = sectors.sector(*chain.get(i / per_sector)?)?;
        sector.get((i % per_sector) * 128..(i % per_sector + 1) * 128)
    };
    let root = entry(0)?;
    // Object type 5: the root storage.
    if root[66] != 5 {
        return None;
    }
    let mut names = Vec::new();
    let mut seen = vec![false; entries];
    let mut stack = vec![le32(root, 76)?];
    while let Some(i) = stack.pop() {
        if i >= MAX_REGULAR_SECTOR || (i as usize) >= entries || seen[i as usize] {
            continue;
        }
        seen[i as usize] = true;
        let Some(e) = entry(i) else { continue };
        // Object types 1 (storage) and 2 (stream).
        if matches!(e[66], 1 | 2) {
            let len = usize::from(le16(e, 64).unwrap_or(0)).min(64);
            let units: Vec<u16> = e[..len]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|&u| u != 0)
                .collect();
            names.push(String::from_utf16_lossy(&units));
        }
        stack.extend([le32(e, 68), le32(e, 72)].into_iter().flatten());
    }
    Some(names)
}

/// A compound file opened with the `cfb` crate, read within the walk's limits.
pub(crate) struct Compound<'a> {
    file: cfb::CompoundFile<Cursor<&'a [u8]>>,
    /// The size of the whole file: no stream can hold more.
    size: u64,
    /// What the file is, for error details (`Word document`, `Outlook message`).
    what: &'static str,
}

/// A child of a storage.
pub(crate) struct Child {
    /// Its name.
    pub(crate) name: String,
    /// Its full path in the compound file.
    pub(crate) path: PathBuf,
    /// Whether it is a storage (else a stream).
    pub(crate) is_storage: bool,
}

impl<'a> Compound<'a> {
    /// Opens a compound file; a damaged header, FAT or directory is a `broken_file` skip.
    pub(crate) fn open(data: &'a [u8], what: &'static str) -> Outcome<Compound<'a>> {
        let file = cfb::CompoundFile::open(Cursor::new(data)).map_err(|e| skip(what, &e))?;
        Ok(Compound {
            file,
            size: data.len() as u64,
            what,
        })
    }

    /// Whether `path` names a stream.
    pub(crate) fn is_stream(&self, path: impl AsRef<Path>) -> bool {
        self.file.is_stream(path)
    }

    /// The whole stream at `path`, or `None` when there is no such stream. Reading stops at
    /// the size of the file itself, whatever the stream's directory entry claims.
    pub(crate) fn stream(
        &mut self,
        walker: &dyn Visit,
        path: impl AsRef<Path>,
    ) -> Outcome<Option<Vec<u8>>> {
        walker.check_time()?;
        let path = path.as_ref();
        if !self.file.is_stream(path) {
            return Ok(None);
        }
        let mut stream = self
            .file
            .open_stream(path)
            .map_err(|e| skip(self.what, &e))?;
        let what = format!("{} stream {}", self.what, path.display());
        read_capped(&mut stream, self.size, &what).map(Some)
    }

    /// The storages and streams directly inside the storage at `path` (`/` for the root), or
    /// none when there is no such storage.
    pub(crate) fn children(&self, path: impl AsRef<Path>) -> Vec<Child> {
        match self.file.read_storage(path) {
            Ok(entries) => entries
                .map(|e| Child {
                    name: e.name().to_string(),
                    path: e.path().to_path_buf(),
                    is_storage: e.is_storage(),
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The storage at `path` and everything inside it, written as a compound file of its own
    /// (its root holds what the storage held): how an embedded message or OLE object becomes
    /// a nested item that type detection and the readers see like any file.
    pub(crate) fn repack(&mut self, walker: &dyn Visit, path: &Path) -> Outcome<Vec<u8>> {
        let failed = |e: io::Error| skip(self.what, &e);
        let mut copy =
            cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::<u8>::new()))
                .map_err(failed)?;
        let entries: Vec<(PathBuf, bool)> = match self.file.walk_storage(path) {
            Ok(walk) => walk
                .filter(|e| e.path() != path)
                .map(|e| (e.path().to_path_buf(), e.is_storage()))
                .collect(),
            Err(e) => return Err(failed(e)),
        };
        let mut copied = 0u64;
        for (source, is_storage) in entries {
            walker.check_time()?;
            let Ok(relative) = source.strip_prefix(path) else {
                continue;
            };
            let target = Path::new("/").join(relative);
            if is_storage {
                copy.create_storage(&target).map_err(failed)?;
                continue;
            }
            let data = self.stream(walker, &source)?.unwrap_or_default();
            copied += data.len() as u64;
            if copied > self.size {
                return Err(Skip::limit(format!(
                    "{}: storage {} holds more than the file",
                    self.what,
                    path.display()
                )));
            }
            let mut stream = copy.create_stream(&target).map_err(failed)?;
            stream.write_all(&data).map_err(failed)?;
        }
        copy.flush().map_err(failed)?;
        Ok(copy.into_inner().into_inner())
    }
}

/// A new compound file holding `streams` at its root: how a stream read (and so validated)
/// by the `cfb` crate is handed to a parser that reads compound files itself.
pub(crate) fn compound_of(streams: &[(&str, &[u8])], what: &str) -> Outcome<Vec<u8>> {
    let failed = |e: io::Error| skip(what, &e);
    let mut file =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::<u8>::new()))
            .map_err(failed)?;
    for (name, data) in streams {
        let mut stream = file.create_stream(format!("/{name}")).map_err(failed)?;
        stream.write_all(data).map_err(failed)?;
    }
    file.flush().map_err(failed)?;
    Ok(file.into_inner().into_inner())
}

/// The skip an I/O error of the `cfb` crate becomes.
fn skip(what: &str, e: &io::Error) -> Skip {
    if e.kind() == io::ErrorKind::OutOfMemory {
        Skip::limit(format!("{what}: out of memory ({e})"))
    } else {
        Skip::broken(format!("{what}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compound file with the given streams at its root, written by the `cfb` crate.
    fn compound(streams: &[(&str, &[u8])]) -> Vec<u8> {
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        for (name, data) in streams {
            file.create_stream(format!("/{name}"))
                .unwrap()
                .write_all(data)
                .unwrap();
        }
        file.flush().unwrap();
        file.into_inner().into_inner()
    }

    #[test]
    fn root_names_are_read_from_the_directory() {
        let data = compound(&[("WordDocument", b"x"), ("1Table", b"y")]);
        let mut names = root_names(&data).unwrap();
        names.sort();
        assert_eq!(names, ["1Table", "WordDocument"]);
        assert_eq!(root_names(b"not ole"), None);
    }

    #[test]
    fn a_directory_chain_that_loops_ends() {
        let mut data = compound(&[("Workbook", b"x")]);
        // Point every FAT entry of the first FAT sector at sector 0: every chain loops.
        let fat = le32(&data, 0x4C).unwrap() as usize;
        let size = 1usize << le16(&data, 0x1E).unwrap();
        let start = (fat + 1) * size;
        for i in 0..size / 4 {
            data[start + 4 * i..start + 4 * i + 4].copy_from_slice(&0u32.to_le_bytes());
        }
        // Whatever it finds, it returns.
        let _ = root_names(&data);
        // A huge declared DIFAT chain and sector numbers past the end.
        data[0x44..0x48].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
        data[0x30..0x34].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
        assert_eq!(root_names(&data), None);
    }
}
