//! `dlp-store` reads and writes object storage (S3 and S3-compatible servers) for dlp's front
//! doors: `dlp scan s3://bucket/prefix` lists and reads objects through it, and evidence can be
//! written through it. It parses object URLs, lists the objects under a prefix, reads an object
//! within a size bound (or as a stream) and writes one, through the `object_store` crate. It
//! knows nothing of detectors or formats; a failed read says which [`SkipReason`] a scan
//! reports for it. With the `engine` feature, [`scan::Objects`] inspects every object under
//! some URLs with a `dlp-engine` `Engine`, in parallel (the CLI and the Python package use it).
//!
//! ```no_run
//! use dlp_store::{is_object_url, ObjectUrl, Store};
//!
//! let input = "s3://exports/2024/";
//! assert!(is_object_url(input));
//! let url = ObjectUrl::parse(input)?;
//! let store = Store::open(&url)?;
//! for object in store.list(&url) {
//!     let object = object?;
//!     match store.read(&object.key, 64 << 20) {
//!         Ok(data) => println!("{} ({} bytes)", object.url, data.len()),
//!         Err(e) => println!("{}: {} ({e})", object.url, e.skip_reason().as_str()),
//!     }
//! }
//! store.put("2024/evidence/report.json", b"{}".to_vec())?;
//! store.delete("2024/evidence/report.json")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Store`] blocks (it owns a one-thread Tokio runtime); [`AsyncStore`] is the same for
//! callers already inside a Tokio runtime.
//!
//! # Settings
//!
//! [`Store::open`] reads the `AWS_*` environment variables as object_store's
//! `AmazonS3Builder::from_env` does (see [`Config`] to give them otherwise):
//!
//! - credentials: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, with `AWS_SESSION_TOKEN`
//!   for temporary ones; or a web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`),
//!   or container credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI`), or the
//!   instance's role from the EC2 metadata service (`AWS_METADATA_ENDPOINT`, unless
//!   `AWS_EC2_METADATA_DISABLED=true`), or `AWS_SKIP_SIGNATURE=true` for a public bucket.
//!   Profiles in `~/.aws` are not read. With none of these, opening fails with
//!   [`ErrorKind::NoCredentials`], naming the variables to set.
//! - region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`.
//! - endpoint of an S3-compatible server (MinIO, Ceph, moto...): `AWS_ENDPOINT_URL_S3`, else
//!   `AWS_ENDPOINT_URL`, else `AWS_ENDPOINT`; buckets are addressed by path
//!   (`ENDPOINT/bucket/key`) unless `AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true`. An `http://`
//!   endpoint is reached over plain HTTP (object_store's `AWS_ALLOW_HTTP`, inferred).
//! - server-side encryption of what is written: `AWS_SERVER_SIDE_ENCRYPTION` (`AES256` or
//!   `aws:kms`) and `AWS_SSE_KMS_KEY_ID`, or [`Config::encryption`].
//! - the other keys of object_store's `AmazonS3ConfigKey` (`AWS_REQUEST_PAYER`, ...) and of
//!   its client options (`AWS_TIMEOUT`, `AWS_CONNECT_TIMEOUT`, `AWS_PROXY_URL`, ...).
//!
//! Requests are retried on connection errors, timeouts, throttling and server errors (4 times
//! by default, with exponential backoff and jitter, none later than 3 minutes after the first
//! attempt); a connection times out after 5 s and a request after 60 s, so an unreachable
//! endpoint fails within about half a minute. A download cut short resumes where it stopped.
//!
//! # Secrets
//!
//! Errors name the URL, the endpoint and what to do, never the secret key or the session
//! token: they are scrubbed out of what object_store reports, and the `Debug` of every type
//! here that holds them ([`Config`], [`Store`], [`AsyncStore`]) redacts them.
//!
//! Modules: `url` (object URLs), `error` (the errors and their skip reasons), `config`
//! (settings, credential check, secrets), `store` (the stores, listings and readers), and
//! `moto` (a test server, with the `test-server` feature).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod config;
mod error;
#[cfg(feature = "test-server")]
mod moto;
#[cfg(feature = "engine")]
pub mod scan;
mod store;
mod url;

pub use crate::config::{Config, Encryption};
pub use crate::error::{Error, ErrorKind, ReadError, ReadErrorKind};
#[cfg(feature = "test-server")]
pub use crate::moto::{MotoServer, SERVER_ENV};
pub use crate::store::{AsyncStore, Listing, ObjectInfo, ObjectReader, Store};
pub use crate::url::{is_object_url, ObjectUrl};
pub use dlp_extract::SkipReason;
