//! dlp-store against moto's S3 server (`DLP_TEST_MOTO_SERVER`; `bash .ci/test` installs it):
//! listing across pages, bounded and streamed reads, the errors and the skips they become, and
//! secrets kept out of every message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dlp_store::{
    Config, Encryption, ErrorKind, MotoServer, ObjectUrl, ReadErrorKind, SkipReason, Store,
};

fn moto() -> MotoServer {
    MotoServer::start().unwrap_or_else(|e| panic!("{e}"))
}

fn url(s: &str) -> ObjectUrl {
    ObjectUrl::parse(s).unwrap()
}

fn keys(store: &Store, at: &str) -> Vec<String> {
    store
        .list(&url(at))
        .map(|o| o.unwrap_or_else(|e| panic!("{at}: {e}")).key)
        .collect()
}

#[test]
fn lists_every_object_under_a_prefix_across_pages() {
    let moto = moto();
    moto.create_bucket("listing").unwrap();
    let mut config = moto.config();
    // Small pages, so that 250 objects take three of them.
    config.page_size(100);
    let store = Store::open_with(&url("s3://listing/"), &config).unwrap();
    let mut want = Vec::new();
    for i in 0..250 {
        let key = format!("docs/{}/file-{i:03}.txt", i % 3);
        store.put(&key, format!("object {i}")).unwrap();
        want.push(key);
    }
    for key in ["docs", "docs-2024.txt", "other/a.txt", "top.txt"] {
        store.put(key, "x").unwrap();
    }
    // A folder marker, as S3's console makes them (object_store cannot write one).
    moto.put_unsigned("listing/docs/0/", b"").unwrap();

    // The marker reads back as an empty object without its slash.
    want.push("docs/0".into());
    want.sort();
    // A folder, with or without the final slash: every object under it, in key order;
    // `docs` itself is an object too, and comes first.
    let mut docs = keys(&store, "s3://listing/docs/");
    assert_eq!(docs, want);
    docs.insert(0, "docs".into());
    assert_eq!(keys(&store, "s3://listing/docs"), docs);
    assert_eq!(keys(&store, "s3://listing/docs/1/").len(), 83);
    // One object, exactly.
    assert_eq!(keys(&store, "s3://listing/top.txt"), ["top.txt"]);
    assert_eq!(
        keys(&store, "s3://listing/docs-2024.txt"),
        ["docs-2024.txt"]
    );
    // Nothing there.
    assert!(keys(&store, "s3://listing/nothing").is_empty());
    assert!(keys(&store, "s3://listing/top").is_empty());
    // The whole bucket.
    assert_eq!(keys(&store, "s3://listing").len(), 250 + 4 + 1);

    let first = store
        .list(&url("s3://listing/docs/0/"))
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(first.url, "s3://listing/docs/0/file-000.txt");
    assert_eq!(first.size, "object 0".len() as u64);
    assert!(first.etag.is_some());
    assert!(first.modified.elapsed().unwrap() < Duration::from_secs(3600));
}

#[test]
fn reads_objects_whole_and_streamed() {
    let moto = moto();
    moto.create_bucket("reading").unwrap();
    let store = Store::open_with(&url("s3://reading"), &moto.config()).unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    // Keys as S3 has them: spaces, non-ASCII, a backslash and a percent sign, not encoded.
    for key in ["big.bin", "a dir/naïve \\ 100%.txt"] {
        store.put(key, data.clone()).unwrap();
        assert_eq!(store.read(key, data.len() as u64).unwrap(), data, "{key}");
        let as_url = format!("s3://reading/{key}");
        assert_eq!(store.read(&as_url, u64::MAX).unwrap(), data, "{key}");
        let mut reader = store.reader(key).unwrap();
        assert_eq!(reader.info().size, data.len() as u64);
        assert_eq!(reader.info().url, as_url);
        let mut read = Vec::new();
        reader.read_to_end(&mut read).unwrap();
        assert_eq!(read, data, "{key}");
        assert_eq!(store.head(key).unwrap().size, data.len() as u64);
    }
    let listed = keys(&store, "s3://reading/a dir/");
    assert_eq!(listed, ["a dir/naïve \\ 100%.txt"]);
    store.put("empty", Vec::new()).unwrap();
    assert_eq!(store.read("empty", 0).unwrap(), b"");
}

/// A TCP proxy in front of `port` that counts the bytes the server sends through it.
fn counting_proxy(port: u16) -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&count);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let server = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut s_out);
            });
            let counted = Arc::clone(&counted);
            std::thread::spawn(move || {
                let (mut server, mut client) = (server, client);
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = server.read(&mut buf) {
                    if n == 0 || client.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    counted.fetch_add(n as u64, Ordering::Relaxed);
                }
                let _ = client.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (proxy_port, count)
}

#[test]
fn too_large_is_refused_without_downloading() {
    let moto = moto();
    moto.create_bucket("large").unwrap();
    let store = Store::open_with(&url("s3://large"), &moto.config()).unwrap();
    let size = 32u64 << 20;
    store.put("huge.txt", vec![b'a'; size as usize]).unwrap();

    let port: u16 = moto.endpoint().rsplit(':').next().unwrap().parse().unwrap();
    let (proxy, received) = counting_proxy(port);
    let mut config = moto.config();
    config.var("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{proxy}"));
    let through_proxy = Store::open_with(&url("s3://large"), &config).unwrap();
    let err = through_proxy.read("huge.txt", 1000).unwrap_err();
    assert_eq!(
        err.kind(),
        ReadErrorKind::TooLarge { size, max: 1000 },
        "{err}"
    );
    assert_eq!(err.skip_reason(), SkipReason::TooLarge);
    assert!(err.to_string().contains("s3://large/huge.txt"), "{err}");
    assert!(err.to_string().contains("not downloaded"), "{err}");
    std::thread::sleep(Duration::from_millis(200));
    let got = received.load(Ordering::Relaxed);
    // The response's headers, and what the sockets buffered before the connection closed.
    assert!(got < size / 4, "{got} of {size} bytes came through");
}

#[test]
fn missing_objects_and_buckets() {
    let moto = moto();
    moto.create_bucket("present").unwrap();
    let store = Store::open_with(&url("s3://present"), &moto.config()).unwrap();
    let err = store.read("no/such.pdf", 100).unwrap_err();
    assert_eq!(err.kind(), ReadErrorKind::NotFound, "{err}");
    assert_eq!(err.skip_reason(), SkipReason::NotFound);
    assert!(
        err.to_string().contains("s3://present/no/such.pdf"),
        "{err}"
    );
    assert_eq!(
        store.reader("no/such.pdf").unwrap_err().kind(),
        ReadErrorKind::NotFound
    );

    let missing = Store::open_with(&url("s3://absent/x/"), &moto.config()).unwrap();
    let listed: Vec<_> = missing.list(&url("s3://absent/x/")).collect();
    assert_eq!(listed.len(), 1, "an error ends the listing");
    let err = listed.into_iter().next().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.to_string().contains("bucket `absent` does not exist"),
        "{err}"
    );
    let err = missing.read("x/a.txt", 100).unwrap_err();
    assert_eq!(err.kind(), ReadErrorKind::NotFound, "{err}");
    // Listing an object's exact name in a missing bucket fails the same way.
    let err = missing
        .list(&url("s3://absent/x/a.txt"))
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[test]
fn writes_ask_for_server_side_encryption() {
    let moto = moto();
    moto.create_bucket("sealed").unwrap();
    let sse = |path: &str| {
        let headers = moto.head(path).unwrap();
        headers
            .into_iter()
            .find(|(name, _)| name == "x-amz-server-side-encryption")
            .map(|(_, value)| value)
    };
    let plain = Store::open_with(&url("s3://sealed"), &moto.config()).unwrap();
    plain.put("plain.txt", "x").unwrap();
    assert_eq!(sse("sealed/plain.txt"), None);

    let mut config = moto.config();
    config.encryption(Encryption::S3Managed);
    let store = Store::open_with(&url("s3://sealed"), &config).unwrap();
    store.put("aes.txt", "x").unwrap();
    assert_eq!(sse("sealed/aes.txt").as_deref(), Some("AES256"));

    config.encryption(Encryption::Kms { key_id: None });
    let store = Store::open_with(&url("s3://sealed"), &config).unwrap();
    store.put("kms.txt", "x").unwrap();
    assert_eq!(sse("sealed/kms.txt").as_deref(), Some("aws:kms"));
    assert_eq!(store.read("kms.txt", 10).unwrap(), b"x");
}

#[test]
fn deletes_objects() {
    let moto = moto();
    moto.create_bucket("deleting").unwrap();
    let store = Store::open_with(&url("s3://deleting"), &moto.config()).unwrap();
    store.put("a/one.txt", "1").unwrap();
    store.put("a/two.txt", "2").unwrap();
    store.delete("a/one.txt").unwrap();
    store.delete("s3://deleting/a/one.txt").unwrap();
    assert_eq!(keys(&store, "s3://deleting/a/"), ["a/two.txt"]);
    assert_eq!(
        store.delete("a/../b").unwrap_err().kind(),
        ErrorKind::InvalidUrl
    );
    let missing = Store::open_with(&url("s3://absent"), &moto.config()).unwrap();
    let err = missing.delete("a").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.to_string().contains("cannot delete s3://absent/a"),
        "{err}"
    );
}

#[test]
fn bad_urls_and_keys_are_errors_naming_them() {
    for (input, want) in [
        (
            "s3:/x",
            "`s3:/x` is not an object URL: use s3://BUCKET/PREFIX",
        ),
        ("s3://", "the bucket is missing"),
        ("s3://bkt/a//c", "empty, `.` or `..` segment"),
    ] {
        let err = ObjectUrl::parse(input).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidUrl);
        assert!(err.to_string().contains(want), "{input}: {err}");
    }
    let mut config = Config::new();
    config.var("AWS_SKIP_SIGNATURE", "true");
    let store = Store::open_with(&url("s3://mine"), &config).unwrap();
    let err = store.read("s3://theirs/a", 1).unwrap_err();
    assert!(
        err.to_string().contains("this store was opened for `mine`"),
        "{err}"
    );
    let listed: Vec<_> = store.list(&url("s3://theirs/")).collect();
    assert_eq!(
        listed[0].as_ref().unwrap_err().kind(),
        ErrorKind::InvalidUrl
    );
    let err = store.put("a/../b", "x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidUrl, "{err}");
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSECRETKEY";
const TOKEN: &str = "FwoGZXIvYXdzEJr//////////SESSIONTOKENtoken";

fn assert_no_secret(what: &str, text: &str) {
    for secret in [SECRET, TOKEN, "SECRETKEY", "SESSIONTOKEN"] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

#[test]
fn refused_credentials_are_access_denied_and_secrets_never_shown() {
    // moto checks credentials like AWS: ours are unknown to it (the first request, which
    // creates the bucket, goes through unchecked).
    let moto = MotoServer::start_checking_credentials(1).unwrap_or_else(|e| panic!("{e}"));
    moto.create_bucket("guarded").unwrap();
    let mut config = moto.config();
    config
        .var("AWS_SECRET_ACCESS_KEY", SECRET)
        .var("AWS_SESSION_TOKEN", TOKEN);
    assert_no_secret("Config's Debug", &format!("{config:?}"));
    let store = Store::open_with(&url("s3://guarded/"), &config).unwrap();
    assert_no_secret("Store's Debug", &format!("{store:?}"));

    let err = store
        .list(&url("s3://guarded/"))
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccessDenied, "{err}");
    assert!(err.to_string().contains("access denied"), "{err}");
    assert_no_secret("a listing error", &format!("{err} {err:?}"));
    let err = store.read("a.txt", 100).unwrap_err();
    assert_eq!(err.kind(), ReadErrorKind::AccessDenied, "{err}");
    assert_eq!(err.skip_reason(), SkipReason::Unreadable);
    assert_no_secret("a read error", &format!("{err} {err:?}"));
    let err = store.put("a.txt", "x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccessDenied, "{err}");
    assert_no_secret("a write error", &format!("{err} {err:?}"));

    // Errors that carry the request (a refused connection) do not show them either.
    let closed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    config.var("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"));
    let store = Store::open_with(&url("s3://guarded/"), &config).unwrap();
    let err = store.read("a.txt", 100).unwrap_err();
    assert_no_secret("a connection error", &format!("{err} {err:?}"));
    // A secret that object_store quotes (here in a bad option's value) is scrubbed out.
    config.var("AWS_TIMEOUT", format!("{SECRET} seconds"));
    let err = Store::open_with(&url("s3://guarded/"), &config).unwrap_err();
    assert_no_secret("a configuration error", &format!("{err} {err:?}"));
}

#[test]
fn an_unreachable_endpoint_fails_in_seconds() {
    let closed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut config = Config::new();
    config
        .var("AWS_ACCESS_KEY_ID", "testing")
        .var("AWS_SECRET_ACCESS_KEY", "testing")
        .var("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"));
    // The default retries.
    let store = Store::open_with(&url("s3://nowhere/"), &config).unwrap();
    let started = Instant::now();
    let err = store
        .list(&url("s3://nowhere/"))
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other, "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let err = store.read("a", 1).unwrap_err();
    assert_eq!(err.skip_reason(), SkipReason::Unreadable, "{err}");
}
