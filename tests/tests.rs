//! Integration tests of the `dlp` binary: one test binary, one module per command.

mod util;

mod bench;
mod chatgpt;
mod chatgpt_connectors;
mod chatgpt_service;
mod connector_hostile;
mod detectors;
mod report;
mod scan;
mod scan_compressed;
mod scan_s3;
