//! Integration tests of the `dlp` binary: one test binary, one module per command.

mod util;

mod chatgpt;
mod scan;
