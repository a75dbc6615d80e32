//! Little-endian integers read from untrusted bytes: `None` past the end (or where the offset
//! itself overflows), never a panic. A leaf: the binary formats (ZIP, OLE compound files, Word,
//! PowerPoint, image headers) all read their fields through it.

/// The `u16` at `pos`.
pub(crate) fn le16(data: &[u8], pos: usize) -> Option<u16> {
    let b = data.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// The `u32` at `pos`.
pub(crate) fn le32(data: &[u8], pos: usize) -> Option<u32> {
    let b = data.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The `u64` at `pos`.
pub(crate) fn le64(data: &[u8], pos: usize) -> Option<u64> {
    let b = data.get(pos..pos.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_bounds_and_refuses_past_the_end() {
        let data = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(le16(&data, 0), Some(0x0201));
        assert_eq!(le32(&data, 5), Some(0x0908_0706));
        assert_eq!(le64(&data, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(le16(&data, 8), None);
        assert_eq!(le32(&data, 6), None);
        assert_eq!(le64(&data, 2), None);
        assert_eq!(le32(&data, usize::MAX - 1), None);
    }
}
