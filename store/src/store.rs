//! An open bucket: listing, bounded reads, streamed reads, writes and deletes, for async callers
//! ([`AsyncStore`]) and blocking ones ([`Store`], which owns a small runtime). Errors from
//! object_store are classified here (not found, access denied, other) and scrubbed of secrets
//! before anyone sees them.

use std::io::Read;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3;
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, PutPayload};

use crate::config::{Config, Secrets};
use crate::error::{Error, ErrorKind, ReadError, ReadErrorKind};
use crate::url::{check_key, is_object_url, ObjectUrl};

/// One object, as a listing or a read found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its URL, `s3://bucket/key`: what reports name it by.
    pub url: String,
    /// Its key in the bucket.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written.
    pub modified: SystemTime,
    /// Its entity tag, when the server gave one.
    pub etag: Option<String>,
}

/// An open bucket, for callers inside a Tokio runtime (with I/O and time enabled); [`Store`]
/// is the same for blocking callers. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct AsyncStore {
    inner: Arc<Inner>,
}

struct Inner {
    s3: AmazonS3,
    bucket: String,
    /// Where requests go, for messages.
    endpoint: String,
    page_size: usize,
    secrets: Secrets,
}

impl std::fmt::Debug for AsyncStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // object_store's own Debug shows the credentials: only these fields are shown.
        f.debug_struct("AsyncStore")
            .field("bucket", &self.inner.bucket)
            .field("endpoint", &self.inner.endpoint)
            .finish()
    }
}

/// What a failed request was doing, for messages.
#[derive(Clone, Copy)]
enum Doing {
    List,
    Write,
    Delete,
}

impl AsyncStore {
    /// Opens the bucket of `url` with the settings of the environment ([`Config::from_env`]).
    pub fn open(url: &ObjectUrl) -> Result<AsyncStore, Error> {
        Self::open_with(url, &Config::from_env())
    }

    /// Opens the bucket of `url` with `config`. No request is sent; when no credentials are
    /// configured, the instance metadata service is tried (a TCP connect of at most a second)
    /// and its absence is an [`ErrorKind::NoCredentials`] error.
    pub fn open_with(url: &ObjectUrl, config: &Config) -> Result<AsyncStore, Error> {
        let s3 = config.build(url)?;
        Ok(AsyncStore {
            inner: Arc::new(Inner {
                s3,
                bucket: url.bucket().to_string(),
                endpoint: config.describe_endpoint(),
                page_size: config.page_keys(),
                secrets: config.secrets(),
            }),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.inner.bucket
    }

    /// Every object at or under `url`: the object it names exactly, if there is one, then every
    /// object under it as a folder (`key/...`), recursively, page by page in key order. A URL
    /// that ends with `/` (or names the bucket) lists the folder alone. A folder marker (the
    /// empty object `dir/` that S3's console makes) comes back as an empty object named `dir`:
    /// object_store drops the final slash of keys (the listed folder's own marker is left
    /// out).
    ///
    /// A missing bucket is an [`ErrorKind::NotFound`] error; an error ends the listing. A key
    /// that object_store cannot address (an empty, `.` or `..` segment, a control character)
    /// fails the page that holds it.
    pub fn list(&self, url: &ObjectUrl) -> BoxStream<'static, Result<ObjectInfo, Error>> {
        if let Err(e) = self.check_bucket(url) {
            return stream::once(async move { Err(e) }).boxed();
        }
        let key = url.key().to_string();
        let exact = (!key.is_empty() && !key.ends_with('/')).then(|| key.clone());
        let prefix = match (&exact, key.is_empty()) {
            (_, true) => None,
            (Some(key), false) => Some(format!("{key}/")),
            (None, false) => Some(key),
        };
        let store = self.clone();
        let url = url.clone();
        enum Step {
            Exact,
            Page(Option<String>),
            Done,
        }
        let pages = stream::unfold(Step::Exact, move |step| {
            let store = store.clone();
            let url = url.clone();
            let exact = exact.clone();
            let prefix = prefix.clone();
            async move {
                match step {
                    Step::Done => None,
                    Step::Exact => {
                        let Some(key) = exact else {
                            return Some((Ok(Vec::new()), Step::Page(None)));
                        };
                        match store.head_meta(&key).await {
                            Ok(meta) => Some((Ok(vec![store.info(meta)]), Step::Page(None))),
                            Err(object_store::Error::NotFound { .. }) => {
                                Some((Ok(Vec::new()), Step::Page(None)))
                            }
                            Err(e) => Some((Err(store.error(Doing::List, &url, e)), Step::Done)),
                        }
                    }
                    Step::Page(token) => {
                        let options = PaginatedListOptions {
                            max_keys: Some(store.inner.page_size),
                            page_token: token,
                            ..PaginatedListOptions::default()
                        };
                        match store
                            .inner
                            .s3
                            .list_paginated(prefix.as_deref(), options)
                            .await
                        {
                            Ok(page) => {
                                let infos = page
                                    .result
                                    .objects
                                    .into_iter()
                                    // The exact object came first; the folder's own marker
                                    // (`key/`) reads back as it.
                                    .filter(|m| {
                                        Some(m.location.as_ref())
                                            != prefix.as_deref().map(|p| p.trim_end_matches('/'))
                                    })
                                    .map(|m| store.info(m))
                                    .collect();
                                let next =
                                    page.page_token.map_or(Step::Done, |t| Step::Page(Some(t)));
                                Some((Ok(infos), next))
                            }
                            Err(e) => Some((Err(store.error(Doing::List, &url, e)), Step::Done)),
                        }
                    }
                }
            }
        });
        pages
            .map_ok(|infos: Vec<ObjectInfo>| stream::iter(infos.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// The object `key_or_url` (a key in this bucket, or its `s3://` URL), read whole if it is
    /// at most `max_bytes` long. A larger object is [`ReadErrorKind::TooLarge`] as soon as the
    /// response's headers give its size: its body is not read.
    pub async fn read(&self, key_or_url: &str, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
        let (info, mut body) = self.read_stream(key_or_url).await?;
        if info.size > max_bytes {
            return Err(too_large(&info.url, info.size, max_bytes));
        }
        let mut data = Vec::with_capacity(usize::try_from(info.size).unwrap_or(0));
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if (data.len() + chunk.len()) as u64 > max_bytes {
                // The server sends more than it said: still, never past the maximum.
                return Err(too_large(
                    &info.url,
                    (data.len() + chunk.len()) as u64,
                    max_bytes,
                ));
            }
            data.extend_from_slice(&chunk);
        }
        Ok(data)
    }

    /// The object `key_or_url` as a stream of chunks, with what the response said of it. A
    /// download cut short resumes where it stopped (within the retries).
    pub async fn read_stream(
        &self,
        key_or_url: &str,
    ) -> Result<(ObjectInfo, BoxStream<'static, Result<Bytes, ReadError>>), ReadError> {
        let (url, path) = self.locate(key_or_url)?;
        let result = match self.inner.s3.get(&path).await {
            Ok(result) => result,
            Err(e) => return Err(self.read_error(&url, e)),
        };
        let info = self.info(result.meta.clone());
        let store = self.clone();
        let body = result
            .into_stream()
            .map(move |chunk| chunk.map_err(|e| store.read_error(&url, e)))
            .boxed();
        Ok((info, body))
    }

    /// What the server says of the object `key_or_url`, without reading it.
    pub async fn head(&self, key_or_url: &str) -> Result<ObjectInfo, ReadError> {
        let (url, path) = self.locate(key_or_url)?;
        match self.inner.s3.head(&path).await {
            Ok(meta) => Ok(self.info(meta)),
            Err(e) => Err(self.read_error(&url, e)),
        }
    }

    /// Writes `data` as the object `key_or_url`, replacing any object of that key. One request:
    /// up to 5 GB, S3's limit for a single write.
    pub async fn put(&self, key_or_url: &str, data: Vec<u8>) -> Result<(), Error> {
        let (url, path) = self
            .locate(key_or_url)
            .map_err(|e| Error::new(ErrorKind::InvalidUrl, e.to_string()))?;
        match self.inner.s3.put(&path, PutPayload::from(data)).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.error(Doing::Write, &url, e)),
        }
    }

    /// Deletes the object `key_or_url`. Deleting an object that does not exist succeeds, as
    /// S3 does; a missing bucket is an [`ErrorKind::NotFound`] error.
    pub async fn delete(&self, key_or_url: &str) -> Result<(), Error> {
        let (url, path) = self
            .locate(key_or_url)
            .map_err(|e| Error::new(ErrorKind::InvalidUrl, e.to_string()))?;
        match self.inner.s3.delete(&path).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.error(Doing::Delete, &url, e)),
        }
    }

    async fn head_meta(&self, key: &str) -> Result<ObjectMeta, object_store::Error> {
        let path = Path::parse(key)?;
        self.inner.s3.head(&path).await
    }

    fn check_bucket(&self, url: &ObjectUrl) -> Result<(), Error> {
        if url.bucket() == self.inner.bucket {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidUrl,
                format!(
                    "{url} is in bucket `{}`; this store was opened for `{}`",
                    url.bucket(),
                    self.inner.bucket
                ),
            ))
        }
    }

    /// The URL and object_store path of a key or URL of this bucket.
    fn locate(&self, key_or_url: &str) -> Result<(ObjectUrl, Path), ReadError> {
        let url = if is_object_url(key_or_url) {
            ObjectUrl::parse(key_or_url)
                .and_then(|url| self.check_bucket(&url).map(|()| url))
                .map_err(|e| ReadError::new(ReadErrorKind::Other, e.to_string()))?
        } else {
            let url = ObjectUrl::parse(&format!("s3://{}/", self.inner.bucket))
                .map_err(|e| ReadError::new(ReadErrorKind::Other, e.to_string()))?;
            url.object(key_or_url)
        };
        let key = url.key();
        if let Err(why) = check_key(key) {
            return Err(ReadError::new(
                ReadErrorKind::Other,
                format!("{url} cannot be addressed: {why}"),
            ));
        }
        if key.is_empty() || key.ends_with('/') {
            return Err(ReadError::new(
                ReadErrorKind::Other,
                format!("{url} names a folder, not an object"),
            ));
        }
        // `parse`, not `from`: the key as it is, never percent-encoded.
        let path = Path::parse(key).map_err(|e| {
            ReadError::new(
                ReadErrorKind::Other,
                format!("{url} cannot be addressed: {e}"),
            )
        })?;
        Ok((url, path))
    }

    fn info(&self, meta: ObjectMeta) -> ObjectInfo {
        let key = meta.location.as_ref().to_string();
        ObjectInfo {
            url: format!("s3://{}/{key}", self.inner.bucket),
            key,
            size: meta.size,
            modified: meta.last_modified.into(),
            etag: meta.e_tag,
        }
    }

    /// What object_store said, as one line without secrets: its message and its causes'.
    fn detail(&self, e: &object_store::Error) -> String {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            let line = cause.to_string();
            if !text.contains(&line) {
                text.push_str(": ");
                text.push_str(&line);
            }
            source = cause.source();
        }
        self.inner.secrets.scrub(&one_line(&text))
    }

    fn error(&self, doing: Doing, url: &ObjectUrl, e: object_store::Error) -> Error {
        let detail = self.detail(&e);
        let verb = match doing {
            Doing::List => "list",
            Doing::Write => "write",
            Doing::Delete => "delete",
        };
        let endpoint = &self.inner.endpoint;
        match classify(&e, &detail) {
            ErrorKind::NotFound => Error::new(
                ErrorKind::NotFound,
                format!(
                    "cannot {verb} {url}: bucket `{}` does not exist at {endpoint}",
                    self.inner.bucket
                ),
            ),
            ErrorKind::AccessDenied => Error::new(
                ErrorKind::AccessDenied,
                format!(
                    "cannot {verb} {url}: access denied; check the credentials \
                     (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and that they \
                     may {verb} this bucket ({detail})"
                ),
            ),
            kind => Error::new(kind, format!("cannot {verb} {url} at {endpoint}: {detail}")),
        }
    }

    fn read_error(&self, url: &ObjectUrl, e: object_store::Error) -> ReadError {
        let detail = self.detail(&e);
        let endpoint = &self.inner.endpoint;
        match classify(&e, &detail) {
            ErrorKind::NotFound => ReadError::new(
                ReadErrorKind::NotFound,
                format!("{url}: no such object (or bucket) at {endpoint}"),
            ),
            ErrorKind::AccessDenied => ReadError::new(
                ReadErrorKind::AccessDenied,
                format!(
                    "{url}: access denied; check the credentials and that they may read this \
                     object ({detail})"
                ),
            ),
            _ => ReadError::new(
                ReadErrorKind::Other,
                format!("{url}: cannot read it at {endpoint}: {detail}"),
            ),
        }
    }
}

/// `text` on one line, an S3 error document in it (`<Error><Code>NoSuchBucket</Code>
/// <Message>...`) shortened to its code and message.
fn one_line(text: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))?;
        Some(&text[start..start + end])
    };
    let text = match (
        text.find("<?xml").or_else(|| text.find("<Error>")),
        tag("Code"),
    ) {
        (Some(at), Some(code)) => {
            let message = tag("Message").unwrap_or_default();
            format!("{}{code}: {message}", &text[..at])
        }
        _ => text.to_string(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn too_large(url: &str, size: u64, max: u64) -> ReadError {
    ReadError::new(
        ReadErrorKind::TooLarge { size, max },
        format!("{url}: {size} bytes, over the maximum of {max}; not downloaded"),
    )
}

/// Not found, access denied or other: by object_store's variant where it has one, else by the
/// status or S3 error code in its message (a listing's errors are all `Generic`).
fn classify(e: &object_store::Error, detail: &str) -> ErrorKind {
    match e {
        object_store::Error::NotFound { .. } => ErrorKind::NotFound,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => ErrorKind::AccessDenied,
        _ if detail.contains("NoSuchBucket") || detail.contains("404 Not Found") => {
            ErrorKind::NotFound
        }
        _ if [
            "403 Forbidden",
            "401 Unauthorized",
            "AccessDenied",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
            "InvalidToken",
        ]
        .iter()
        .any(|code| detail.contains(code)) =>
        {
            ErrorKind::AccessDenied
        }
        _ => ErrorKind::Other,
    }
}

/// An open bucket, for blocking callers: [`AsyncStore`] with a Tokio runtime of its own (one
/// thread: the caller's). Each call blocks until its requests are done.
///
/// A store is `Send + Sync`; threads that read many objects at once are best given a store
/// each (opening one sends no request), so that each drives its own connections.
///
/// ```no_run
/// use dlp_store::{ObjectUrl, Store};
///
/// let url = ObjectUrl::parse("s3://exports/2024/")?;
/// let store = Store::open(&url)?; // credentials and endpoint from AWS_* variables
/// for object in store.list(&url) {
///     let object = object?;
///     match store.read(&object.key, 10 << 20) {
///         Ok(data) => println!("{}: {} bytes", object.url, data.len()),
///         Err(e) => println!("{}: skipped ({}): {e}", object.url, e.skip_reason().as_str()),
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Store {
    store: AsyncStore,
    runtime: tokio::runtime::Runtime,
}

impl Store {
    /// Opens the bucket of `url` with the settings of the environment ([`Config::from_env`]).
    pub fn open(url: &ObjectUrl) -> Result<Store, Error> {
        Self::open_with(url, &Config::from_env())
    }

    /// Opens the bucket of `url` with `config`; see [`AsyncStore::open_with`].
    pub fn open_with(url: &ObjectUrl, config: &Config) -> Result<Store, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorKind::Other, format!("cannot start a runtime: {e}")))?;
        // object_store's client starts no task until a request is made, so no runtime context
        // is needed here.
        let store = AsyncStore::open_with(url, config)?;
        Ok(Store { store, runtime })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        self.store.bucket()
    }

    /// The async interface of this store. Its futures need a Tokio runtime: await them in
    /// one, not on this store's own.
    pub fn as_async(&self) -> &AsyncStore {
        &self.store
    }

    /// Every object at or under `url`, page by page as the iterator advances; see
    /// [`AsyncStore::list`].
    pub fn list(&self, url: &ObjectUrl) -> Listing<'_> {
        Listing {
            runtime: &self.runtime,
            stream: self.store.list(url),
        }
    }

    /// The object `key_or_url`, read whole if at most `max_bytes` long; see
    /// [`AsyncStore::read`].
    pub fn read(&self, key_or_url: &str, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
        self.runtime
            .block_on(self.store.read(key_or_url, max_bytes))
    }

    /// The object `key_or_url` as a reader, whatever its size, with what the response said of
    /// it ([`ObjectReader::info`]). Its errors are [`std::io::Error`]s wrapping a
    /// [`ReadError`].
    pub fn reader(&self, key_or_url: &str) -> Result<ObjectReader<'_>, ReadError> {
        let (info, body) = self.runtime.block_on(self.store.read_stream(key_or_url))?;
        Ok(ObjectReader {
            runtime: &self.runtime,
            info,
            body,
            chunk: Bytes::new(),
        })
    }

    /// What the server says of the object `key_or_url`, without reading it.
    pub fn head(&self, key_or_url: &str) -> Result<ObjectInfo, ReadError> {
        self.runtime.block_on(self.store.head(key_or_url))
    }

    /// Writes `data` as the object `key_or_url`; see [`AsyncStore::put`].
    pub fn put(&self, key_or_url: &str, data: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.runtime
            .block_on(self.store.put(key_or_url, data.into()))
    }

    /// Deletes the object `key_or_url`; see [`AsyncStore::delete`].
    pub fn delete(&self, key_or_url: &str) -> Result<(), Error> {
        self.runtime.block_on(self.store.delete(key_or_url))
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("bucket", &self.store.inner.bucket)
            .field("endpoint", &self.store.inner.endpoint)
            .finish_non_exhaustive()
    }
}

/// The objects under a URL, from [`Store::list`]: each page is fetched when the iterator
/// reaches it. After an error the listing ends.
pub struct Listing<'a> {
    runtime: &'a tokio::runtime::Runtime,
    stream: BoxStream<'static, Result<ObjectInfo, Error>>,
}

impl Iterator for Listing<'_> {
    type Item = Result<ObjectInfo, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.runtime.block_on(self.stream.next())
    }
}

impl std::fmt::Debug for Listing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listing").finish_non_exhaustive()
    }
}

/// An object being downloaded, from [`Store::reader`]: a [`Read`] that fetches chunks as they
/// are read. Dropping it stops the download.
pub struct ObjectReader<'a> {
    runtime: &'a tokio::runtime::Runtime,
    info: ObjectInfo,
    body: BoxStream<'static, Result<Bytes, ReadError>>,
    chunk: Bytes,
}

impl ObjectReader<'_> {
    /// The object, as the response described it.
    pub fn info(&self) -> &ObjectInfo {
        &self.info
    }
}

impl Read for ObjectReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.body.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => {
                    let kind = match e.kind() {
                        ReadErrorKind::NotFound => std::io::ErrorKind::NotFound,
                        ReadErrorKind::AccessDenied => std::io::ErrorKind::PermissionDenied,
                        _ => std::io::ErrorKind::Other,
                    };
                    return Err(std::io::Error::new(kind, e));
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

impl std::fmt::Debug for ObjectReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectReader")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_are_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<Store>();
        assert::<AsyncStore>();
        assert::<ObjectInfo>();
        assert::<Config>();
    }

    #[test]
    fn keys_and_urls_are_located_in_the_bucket() {
        let mut config = Config::new();
        config.var("AWS_SKIP_SIGNATURE", "true");
        let url = ObjectUrl::parse("s3://bucket/").unwrap();
        let store = AsyncStore::open_with(&url, &config).unwrap();
        let (url, path) = store.locate("a/b c.pdf").unwrap();
        assert_eq!(url.to_string(), "s3://bucket/a/b c.pdf");
        assert_eq!(path.as_ref(), "a/b c.pdf");
        let (_, path) = store.locate("s3://bucket/x\\y%41").unwrap();
        assert_eq!(path.as_ref(), "x\\y%41", "keys are not percent-encoded");
        for (bad, want) in [
            ("s3://other/a", "this store was opened for `bucket`"),
            ("a//b", "cannot be addressed"),
            ("dir/", "names a folder"),
            ("", "names a folder"),
        ] {
            let err = store.locate(bad).unwrap_err();
            assert!(err.to_string().contains(want), "{bad}: {err}");
            assert_eq!(err.skip_reason().as_str(), "unreadable");
        }
        assert_eq!(
            one_line(
                "Error performing GET x - Server returned 404 Not Found: <?xml version=\"1.0\"?>\n\
                 <Error><Code>NoSuchBucket</Code><Message>The specified bucket does not \
                 exist</Message><RequestId>1</RequestId></Error>"
            ),
            "Error performing GET x - Server returned 404 Not Found: NoSuchBucket: The specified \
             bucket does not exist"
        );
        let debug = format!("{store:?}");
        assert!(debug.contains("bucket"), "{debug}");
    }
}
