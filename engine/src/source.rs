//! Files as [`ChunkSource`]s: a large text file is scanned by several threads at once, each
//! reading its own chunks by positioned reads, so that resident memory stays a few chunks per
//! thread however large the file.

use std::ops::Range;
use std::os::unix::fs::FileExt;

use dlp_detect::ChunkSource;

/// A file read by positioned reads.
pub(crate) struct FileSource<'f> {
    file: &'f std::fs::File,
    len: usize,
}

impl<'f> FileSource<'f> {
    pub(crate) fn new(file: &'f std::fs::File, len: u64) -> Self {
        FileSource {
            file,
            len: usize::try_from(len).unwrap_or(usize::MAX),
        }
    }
}

impl ChunkSource for FileSource<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn with_range(&self, range: Range<usize>, scan: &mut dyn FnMut(&[u8])) -> std::io::Result<()> {
        let mut buf = vec![0u8; range.len()];
        self.file.read_exact_at(&mut buf, range.start as u64)?;
        scan(&buf);
        Ok(())
    }
}
