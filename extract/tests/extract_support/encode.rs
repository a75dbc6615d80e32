//! The compressed-stream encoders of the extraction and engine tests (fast settings: the
//! tests write megabytes), and the four stream types with their encoders.

use std::io::Write;

use dlp_extract::FileType;

pub fn gzip_named(data: &[u8], name: Option<&str>) -> Vec<u8> {
    let mut builder = flate2::GzBuilder::new();
    if let Some(name) = name {
        builder = builder.filename(name);
    }
    let mut e = builder.write(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_named(data, None)
}

pub fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

pub type Encoder = fn(&[u8]) -> Vec<u8>;
pub const STREAMS: [(FileType, Encoder); 4] = [
    (FileType::Gzip, gzip),
    (FileType::Bzip2, bzip2),
    (FileType::Xz, xz),
    (FileType::Zstd, zstd),
];
