//! The archive readers: ZIP (on this crate's ZIP access, `zip`), gzip streams and tar
//! archives. Every file entry of a ZIP or tar archive is one nested item, named by its
//! sanitised path; a gzip stream's content is one nested item (named by the name stored in its
//! header, or `content`).

use crate::types::{member_path, read_capped, Outcome, Skip};
use crate::visit::Visit;
use crate::zip::{sanitize, Archive};

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

pub(crate) fn read_gzip(
    walker: &mut dyn Visit,
    data: &[u8],
    member: Option<&str>,
    depth: u32,
) -> Outcome {
    let cap = walker.inflate_cap();
    let mut decoder = flate2::read::MultiGzDecoder::new(data);
    let inflated = read_capped(&mut decoder, cap, "gzip stream");
    let name = decoder
        .header()
        .and_then(|h| h.filename())
        .map(|n| sanitize(&String::from_utf8_lossy(n)))
        .unwrap_or_else(|| "content".to_string());
    let inflated = inflated?;
    walker.add_inflated(inflated.len() as u64);
    let limits = walker.limits();
    if inflated.len() as u64 > limits.ratio_threshold
        && inflated.len() as u64 / (data.len() as u64).max(1) > limits.max_ratio
    {
        return Err(Skip::limit(format!(
            "compression ratio over {}:1",
            limits.max_ratio
        )));
    }
    walker.child(&inflated, &member_path(member, &name), depth + 1);
    Ok(())
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
