//! A simulator of the Compliance API, for tests and `dlp chatgpt demo`.
//!
//! [`Simulator::start`] generates a deterministic [`Workspace`] (users, conversations, tool
//! calls, uploads in several formats, GPTs with knowledge files, and sensitive values planted
//! in every kind of item) and serves `compliance-api.md` over it on 127.0.0.1, with the API's
//! rate limits and retention, signed download URLs, and [`Faults`] injected on request. It
//! reports its ground truth ([`Workspace::planted`]) and the requests it received, so that a
//! test can assert that every planted value was found and no limit was exceeded. It must never
//! listen on anything but loopback.

mod hostile;
mod server;
mod workspace;

pub use hostile::{
    entity_expansion_docx, form_xobject_loop_pdf, inflate_bomb_pdf, nested_zip_bomb, HOSTILE_FILES,
    HOSTILE_GPT_NAME,
};
pub use server::{window, Faults, RequestLog, SimConfig, Simulator};
pub use workspace::{
    docx, format_micros, sha256_hex, Planted, SimEvent, SimFile, SimGpt, SimGptConfig, SimLogFile,
    SimUser, Workspace, WorkspaceSpec, PNG_1X1,
};
