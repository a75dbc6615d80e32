//! Shared by the compressed-stream tests of the extraction and the engine: the encoders (fast
//! settings: the tests write megabytes), the four stream types with their encoders, and the
//! worker processes a test tags (`DLP_STREAM_TEST_TAG`) to find and signal them.

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

/// The worker processes of this test process started with `DLP_STREAM_TEST_TAG=tag`.
pub fn tagged_workers(tag: &str) -> Vec<u32> {
    let marker = format!("DLP_STREAM_TEST_TAG={tag}");
    let mut pids = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let children = std::fs::read_to_string(task.unwrap().path().join("children"));
        for pid in children.unwrap_or_default().split_whitespace() {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let tagged = environ
                .split(|&b| b == 0)
                .any(|var| var == marker.as_bytes());
            if tagged {
                pids.push(pid.parse().unwrap());
            }
        }
    }
    pids
}

/// Sends `signal` (`-KILL`, `-STOP`) to process `pid`.
pub fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
