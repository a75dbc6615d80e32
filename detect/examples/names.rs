//! Lists the compiled patterns of a selection with their indexes (`--example names -- all`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
fn main() {
    let sel: Vec<String> = std::env::args().skip(1).collect();
    let mut b = dlp_detect::DetectorSetBuilder::new();
    if !sel.is_empty() {
        b.detectors(sel);
    }
    for (i, (id, src)) in b.build().unwrap().pattern_sources().iter().enumerate() {
        println!("{i} {id} {}", &src[..src.len().min(90)]);
    }
}
