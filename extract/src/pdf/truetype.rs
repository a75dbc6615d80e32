//! The one thing the text layer reads from an embedded TrueType program: its `cmap` table,
//! turned backwards into glyph id to character, for `Identity` composite fonts that come
//! without a `/ToUnicode` CMap. Every offset is checked against the table's bounds; the map
//! holds at most [`MAX_CHARS`] characters.

use std::collections::HashMap;

const MAX_CHARS: usize = 1 << 17;

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

/// Glyph id to character from the program's best Unicode `cmap` subtable.
pub(crate) fn glyph_to_char(font: &[u8]) -> Option<HashMap<u16, char>> {
    let tables = usize::from(u16_at(font, 4)?);
    let mut cmap = None;
    for i in 0..tables.min(256) {
        let record = 12 + 16 * i;
        if font.get(record..record + 4)? == b"cmap" {
            let offset = u32_at(font, record + 8)? as usize;
            let length = u32_at(font, record + 12)? as usize;
            let end = offset.checked_add(length)?.min(font.len());
            cmap = font.get(offset..end);
        }
    }
    let cmap = cmap?;
    let count = usize::from(u16_at(cmap, 2)?);
    // Best subtable first: Unicode full repertoire, Unicode BMP, Unicode platform, symbol.
    let mut best: Option<(u8, usize)> = None;
    for i in 0..count.min(64) {
        let record = 4 + 8 * i;
        let platform = u16_at(cmap, record)?;
        let encoding = u16_at(cmap, record + 2)?;
        let offset = u32_at(cmap, record + 4)? as usize;
        let rank = match (platform, encoding) {
            (3, 10) => 0,
            (3, 1) => 1,
            (0, _) => 2,
            (3, 0) => 3,
            _ => continue,
        };
        if best.is_none_or(|(r, _)| rank < r) {
            best = Some((rank, offset));
        }
    }
    let (rank, offset) = best?;
    let table = cmap.get(offset..)?;
    let mut map = HashMap::new();
    let mut add = |code: u32, gid: u32| {
        if gid == 0 || map.len() >= MAX_CHARS {
            return;
        }
        // Symbol fonts put their characters at U+F0xx: their text is the low byte.
        let code = if rank == 3 && (0xF000..=0xF0FF).contains(&code) {
            code - 0xF000
        } else {
            code
        };
        if let (Ok(gid), Some(c)) = (u16::try_from(gid), char::from_u32(code)) {
            if !c.is_control() {
                map.entry(gid).or_insert(c);
            }
        }
    };
    match u16_at(table, 0)? {
        4 => {
            let segments = usize::from(u16_at(table, 6)? / 2);
            let ends = 14;
            let starts = ends + 2 * segments + 2;
            let deltas = starts + 2 * segments;
            let range_offsets = deltas + 2 * segments;
            for s in 0..segments {
                let end = u16_at(table, ends + 2 * s)?;
                let start = u16_at(table, starts + 2 * s)?;
                let delta = u16_at(table, deltas + 2 * s)?;
                let range_at = range_offsets + 2 * s;
                let range_offset = usize::from(u16_at(table, range_at)?);
                if start > end {
                    continue;
                }
                for c in start..=end {
                    if c == 0xFFFF {
                        break;
                    }
                    let gid = if range_offset == 0 {
                        c.wrapping_add(delta)
                    } else {
                        let at = range_at + range_offset + 2 * usize::from(c - start);
                        match u16_at(table, at) {
                            Some(0) | None => 0,
                            Some(g) => g.wrapping_add(delta),
                        }
                    };
                    add(u32::from(c), u32::from(gid));
                }
            }
        }
        12 => {
            let groups = u32_at(table, 12)? as usize;
            for g in 0..groups.min(MAX_CHARS) {
                let at = 16 + 12 * g;
                let (Some(first), Some(last), Some(gid)) = (
                    u32_at(table, at),
                    u32_at(table, at + 4),
                    u32_at(table, at + 8),
                ) else {
                    break;
                };
                if last < first || last - first > MAX_CHARS as u32 {
                    continue;
                }
                for (k, c) in (first..=last).enumerate() {
                    add(c, gid.saturating_add(k as u32));
                }
            }
        }
        6 => {
            let first = u32::from(u16_at(table, 6)?);
            let count = usize::from(u16_at(table, 8)?);
            for k in 0..count {
                let Some(gid) = u16_at(table, 10 + 2 * k) else {
                    break;
                };
                add(first + k as u32, u32::from(gid));
            }
        }
        0 => {
            for c in 0..256usize {
                let Some(&gid) = table.get(6 + c) else {
                    break;
                };
                add(c as u32, u32::from(gid));
            }
        }
        _ => return None,
    }
    (!map.is_empty()).then_some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_4_backwards() {
        // One table (cmap) holding one (3,1) format-4 subtable: 'A'..'C' -> gids 10..12.
        let mut sub = Vec::new();
        let segs: [(u16, u16, u16); 2] =
            [(0x43, 0x41, 10u16.wrapping_sub(0x41)), (0xFFFF, 0xFFFF, 1)];
        sub.extend(4u16.to_be_bytes());
        sub.extend(0u16.to_be_bytes()); // length (unused)
        sub.extend(0u16.to_be_bytes()); // language
        sub.extend(4u16.to_be_bytes()); // segCountX2
        sub.extend([0u8; 6]);
        for s in segs {
            sub.extend(s.0.to_be_bytes());
        }
        sub.extend(0u16.to_be_bytes());
        for s in segs {
            sub.extend(s.1.to_be_bytes());
        }
        for s in segs {
            sub.extend(s.2.to_be_bytes());
        }
        sub.extend([0u8; 4]);
        let mut cmap = Vec::new();
        cmap.extend(0u16.to_be_bytes());
        cmap.extend(1u16.to_be_bytes());
        cmap.extend(3u16.to_be_bytes());
        cmap.extend(1u16.to_be_bytes());
        cmap.extend(12u32.to_be_bytes());
        cmap.extend(sub);
        let mut font = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        font.extend(b"cmap");
        font.extend(0u32.to_be_bytes());
        font.extend(28u32.to_be_bytes());
        font.extend((cmap.len() as u32).to_be_bytes());
        font.extend(cmap);
        let map = glyph_to_char(&font).unwrap();
        assert_eq!(map.get(&10), Some(&'A'));
        assert_eq!(map.get(&12), Some(&'C'));
        assert_eq!(glyph_to_char(&font[..30]), None);
    }
}
