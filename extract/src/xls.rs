//! The Excel binary workbooks, through `calamine`: BIFF8 `.xls` (and the BIFF5 workbooks of
//! Excel 95) and `.xlsb`. Every sheet in workbook order is one segment (location
//! `sheet NAME`), cells tab-separated and rows on lines, as the XLSX reader writes them:
//! strings as stored, booleans `TRUE`/`FALSE`, errors as Excel shows them (`#DIV/0!`), numbers
//! without exponent when integral (`number::float_display`), so a card number stored as a
//! float comes out as its digits; dates as their serial number, as in XLSX.
//!
//! `calamine` never sees the file as it came: an `.xls` is opened with the `cfb` crate (which
//! validates its FAT and directory), its workbook stream read within the limits and re-packed
//! alone into a new compound file; an `.xlsb`'s parts are inflated by this crate's ZIP access
//! under the inflation, ratio and entry limits and re-packed uncompressed. So a FAT loop or a
//! ZIP bomb ends before `calamine` starts, and what it parses is bounded. Embedded objects of
//! an `.xlsb` (`xl/embeddings/`) become nested items, as in XLSX.
//!
//! Password-protected workbooks (a `FILEPASS` record, which `calamine` reports) are
//! `encrypted`.

use std::io::Cursor;

use calamine::{Data, DataRef, Reader, SheetType, Xls, XlsError, Xlsb, XlsbError};

use crate::number::float_display;
use crate::ole::{compound_of, Compound};
use crate::types::{member_path, Outcome, Skip, SkipReason};
use crate::visit::Visit;
use crate::zip::Archive;

/// The names a BIFF workbook stream goes by (names compare case-insensitively).
const WORKBOOK_STREAMS: [&str; 2] = ["/Workbook", "/Book"];

pub(crate) fn read_xls(walker: &mut dyn Visit, data: &[u8], member: Option<&str>) -> Outcome {
    let mut file = Compound::open(data, "Excel workbook")?;
    let mut stream = None;
    for name in WORKBOOK_STREAMS {
        stream = file.stream(walker, name)?;
        if stream.is_some() {
            break;
        }
    }
    let stream = stream.ok_or_else(|| Skip::broken("Excel workbook: no Workbook stream"))?;
    let clean = compound_of(&[("Workbook", &stream)], "Excel workbook")?;
    drop(stream);
    walker.check_time()?;
    let mut workbook = Xls::new(Cursor::new(clean)).map_err(xls_skip)?;
    let mut failure = None;
    for name in worksheets(&workbook) {
        walker.check_time()?;
        let mut sheet = Sheet::new(walker);
        let read = workbook
            .worksheet_range(&name)
            .map_err(xls_skip)
            .and_then(|range| {
                range
                    .used_cells()
                    .try_for_each(|(row, _, cell)| sheet.cell(row, &data_text(cell)))
            });
        walker.text(member, Some(&format!("sheet {name}")), &sheet.text)?;
        if let Err(skip) = read {
            failure = failure.or(Some(skip));
        }
    }
    failure.map_or(Ok(()), Err)
}

pub(crate) fn read_xlsb(
    walker: &mut dyn Visit,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    let archive = Archive::parse(data, walker.limits().max_entries)?;
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    let mut embedded = Vec::new();
    for entry in archive.entries.iter().filter(|e| !e.is_dir()) {
        walker.check_time()?;
        let name = &entry.raw_name;
        if name.starts_with("xl/embeddings/") {
            embedded.push(entry);
            continue;
        }
        // Pictures and printer settings are of no use to the text.
        if name.starts_with("xl/media/") || name.starts_with("xl/printerSettings/") {
            continue;
        }
        let bytes = archive.read(walker, entry)?;
        parts.push((name.clone(), bytes.into_owned()));
    }
    let clean = stored_zip(&parts)?;
    drop(parts);
    let mut workbook = Xlsb::new(Cursor::new(clean)).map_err(xlsb_skip)?;
    let mut failure = None;
    for name in worksheets(&workbook) {
        walker.check_time()?;
        let mut sheet = Sheet::new(walker);
        let read = (|| -> Outcome {
            let mut cells = workbook.worksheet_cells_reader(&name).map_err(xlsb_skip)?;
            while let Some(cell) = cells.next_cell().map_err(xlsb_skip)? {
                let (row, _) = cell.get_position();
                sheet.cell(row as usize, &data_ref_text(cell.get_value()))?;
            }
            Ok(())
        })();
        walker.text(member, Some(&format!("sheet {name}")), &sheet.text)?;
        if let Err(skip) = read {
            failure = failure.or(Some(skip));
        }
    }
    for entry in embedded {
        walker.check_time()?;
        let path = member_path(member, &entry.raw_name);
        match archive.read(walker, entry) {
            Ok(bytes) => walker.child(&bytes, &path, depth + 1),
            Err(skip) => walker.skip_child(&path, skip),
        }
    }
    failure.map_or(Ok(()), Err)
}

/// The names of the sheets that hold cells (worksheets and macro sheets, hidden or not), in
/// workbook order; chart and dialog sheets and VBA modules have none.
fn worksheets<R: std::io::Read + std::io::Seek>(workbook: &impl Reader<R>) -> Vec<String> {
    workbook
        .sheets_metadata()
        .iter()
        .filter(|s| matches!(s.typ, SheetType::WorkSheet | SheetType::MacroSheet))
        .map(|s| s.name.clone())
        .collect()
}

/// A sheet's text as it is built: cells of a row tab-separated, rows on lines, held to the
/// text budget while it grows.
struct Sheet {
    text: String,
    row: Option<usize>,
    max: u64,
}

impl Sheet {
    fn new(walker: &dyn Visit) -> Sheet {
        Sheet {
            text: String::new(),
            row: None,
            max: walker.limits().max_text_per_item,
        }
    }

    fn cell(&mut self, row: usize, value: &str) -> Outcome {
        if value.is_empty() {
            return Ok(());
        }
        match self.row {
            Some(current) if current == row => self.text.push('\t'),
            Some(_) => self.text.push('\n'),
            None => {}
        }
        self.row = Some(row);
        self.text.push_str(value);
        if self.text.len() as u64 > self.max {
            return Err(Skip::limit(format!(
                "sheet text exceeds {} bytes",
                self.max
            )));
        }
        Ok(())
    }
}

fn data_text(cell: &Data) -> String {
    match cell {
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_display(*f),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Bool(b) => bool_text(*b).to_string(),
        Data::DateTime(d) => float_display(d.as_f64()),
        Data::Error(e) => e.to_string(),
        Data::Empty => String::new(),
    }
}

fn data_ref_text(cell: &DataRef<'_>) -> String {
    match cell {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => float_display(*f),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => bool_text(*b).to_string(),
        DataRef::DateTime(d) => float_display(d.as_f64()),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

fn xls_skip(e: XlsError) -> Skip {
    match e {
        XlsError::Password => Skip::new(SkipReason::Encrypted, "password-protected Excel workbook"),
        e => Skip::broken(format!("Excel workbook: {e}")),
    }
}

fn xlsb_skip(e: XlsbError) -> Skip {
    match e {
        XlsbError::Password => {
            Skip::new(SkipReason::Encrypted, "password-protected Excel workbook")
        }
        e => Skip::broken(format!("Excel binary workbook: {e}")),
    }
}

/// A ZIP archive holding `parts` uncompressed ("stored"), as `calamine` reads it.
fn stored_zip(parts: &[(String, Vec<u8>)]) -> Outcome<Vec<u8>> {
    let too_big = || Skip::limit("Excel binary workbook: parts too large to re-pack");
    let count = u16::try_from(parts.len()).map_err(|_| too_big())?;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in parts {
        let offset = u32::try_from(out.len()).map_err(|_| too_big())?;
        let size = u32::try_from(data.len()).map_err(|_| too_big())?;
        let name_len = u16::try_from(name.len()).map_err(|_| too_big())?;
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let crc = crc.sum();
        // Version 2.0, flags: UTF-8 names, method 0 (stored), 1980-01-01 00:00.
        let common = |out: &mut Vec<u8>| {
            out.extend(20u16.to_le_bytes());
            out.extend(0x0800u16.to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(0x0021u16.to_le_bytes());
            out.extend(crc.to_le_bytes());
            out.extend(size.to_le_bytes());
            out.extend(size.to_le_bytes());
            out.extend(name_len.to_le_bytes());
            out.extend(0u16.to_le_bytes());
        };
        out.extend(0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend(name.as_bytes());
        out.extend(data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes());
        common(&mut central);
        // Comment length, disk, internal and external attributes, local header offset.
        central.extend([0u8; 10]);
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let central_offset = u32::try_from(out.len()).map_err(|_| too_big())?;
    let central_size = u32::try_from(central.len()).map_err(|_| too_big())?;
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend(count.to_le_bytes());
    out.extend(count.to_le_bytes());
    out.extend(central_size.to_le_bytes());
    out.extend(central_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_zip_reads_back() {
        let parts = vec![
            ("a.txt".to_string(), b"hello".to_vec()),
            ("dir/b.bin".to_string(), vec![0u8, 1, 2]),
        ];
        let zip = stored_zip(&parts).unwrap();
        let archive = Archive::parse(&zip, 10).unwrap();
        let names: Vec<&str> = archive
            .entries
            .iter()
            .map(|e| e.raw_name.as_str())
            .collect();
        assert_eq!(names, ["a.txt", "dir/b.bin"]);
    }
}
