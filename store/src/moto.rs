//! moto's S3-compatible server (PyPI's `moto[server]`) on 127.0.0.1, for tests, with the
//! `test-server` feature: started on a free port, waited for, killed when dropped. Not product
//! API.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::Config;

/// The variable that names moto's server program (`moto_server` in a venv's `bin/`).
pub const SERVER_ENV: &str = "DLP_TEST_MOTO_SERVER";

/// The credentials the tests use; moto accepts any unless it checks them.
const KEY_ID: &str = "testing";
const SECRET: &str = "testing-secret";

/// A running moto server, killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
}

impl MotoServer {
    /// Starts the server named by `DLP_TEST_MOTO_SERVER` and waits until it accepts
    /// connections. It accepts any credentials.
    pub fn start() -> Result<MotoServer, String> {
        Self::spawn(None)
    }

    /// Starts a server that checks credentials as AWS does: the test credentials are unknown
    /// to it, so every request is refused (403), except the first `free_requests`, which moto
    /// lets through unchecked (to create buckets with [`MotoServer::create_bucket`]).
    pub fn start_checking_credentials(free_requests: u32) -> Result<MotoServer, String> {
        Self::spawn(Some(free_requests))
    }

    fn spawn(free_requests: Option<u32>) -> Result<MotoServer, String> {
        let program = std::env::var_os(SERVER_ENV).ok_or_else(|| {
            format!(
                "the S3 tests need moto's server: run `bash .ci/test`, which installs it, or set \
                 {SERVER_ENV} to the path of a `moto_server` program (pip install 'moto[server]')"
            )
        })?;
        let mut last = String::new();
        // Another process can take the free port between its choice and moto's bind: try again
        // on another.
        for _ in 0..3 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free port: {e}"))?
                .port();
            let mut command = Command::new(&program);
            command
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(n) = free_requests {
                command.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
            }
            let child = command.spawn().map_err(|e| {
                format!(
                    "cannot start {} (from {SERVER_ENV}): {e}",
                    program.to_string_lossy()
                )
            })?;
            let mut server = MotoServer { child, port };
            match server.wait_ready(Duration::from_secs(60)) {
                Ok(()) => return Ok(server),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn wait_ready(&mut self, within: Duration) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("moto's server exited at start ({status})"));
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > within {
                return Err(format!(
                    "moto's server did not listen on port {} within {within:?}",
                    self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The variables that point a `dlp` process (or anything reading `AWS_*`) at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", KEY_ID.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
        ]
    }

    /// A [`Config`] of [`MotoServer::env`], with quick retries.
    pub fn config(&self) -> Config {
        let mut config = Config::new();
        for (name, value) in self.env() {
            config.var(name, value);
        }
        config.retries(1).retry_timeout(Duration::from_secs(10));
        config
    }

    /// Creates the bucket `name` (an unsigned request, which moto accepts).
    pub fn create_bucket(&self, name: &str) -> Result<(), String> {
        self.put_unsigned(name, b"")
    }

    /// Sends `PUT /{path}` with `body`, unsigned: a bucket (`name`), or an object
    /// (`bucket/key`, the key URL-safe as it is) that object_store cannot write, such as a
    /// folder marker (`bucket/dir/`).
    pub fn put_unsigned(&self, path: &str, body: &[u8]) -> Result<(), String> {
        self.request("PUT", path, "", body).map(|_| ())
    }

    /// Sends `HEAD /{path}` as the test credentials' owner, and returns the answer's headers
    /// (names in lower case): what moto keeps of an object (`bucket/key`), such as
    /// `x-amz-server-side-encryption`. The signature is a placeholder: moto checks none unless
    /// started with [`MotoServer::start_checking_credentials`] (and refuses an unsigned read of
    /// a private object).
    pub fn head(&self, path: &str) -> Result<Vec<(String, String)>, String> {
        let authorization = format!(
            "Authorization: AWS4-HMAC-SHA256 Credential={KEY_ID}/20240101/us-east-1/s3/\
             aws4_request, SignedHeaders=host, Signature=00\r\n"
        );
        self.request("HEAD", path, &authorization, b"")
    }

    /// Sends `{method} /{path}` with `headers` (each line ending in CRLF) and `body`; the
    /// headers of a 200 answer.
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &str,
        body: &[u8],
    ) -> Result<Vec<(String, String)>, String> {
        let head = format!(
            "{method} /{path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n\
             {headers}Connection: close\r\n\r\n",
            self.port,
            body.len()
        );
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
            .map_err(|e| format!("cannot reach moto: {e}"))?;
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body))
            .map_err(|e| format!("cannot send to moto: {e}"))?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .map_err(|e| format!("cannot read moto's answer: {e}"))?;
        let response = String::from_utf8_lossy(&response);
        let mut lines = response.lines();
        let status = lines.next().unwrap_or_default();
        if !status.contains(" 200 ") {
            return Err(format!("moto refused {method} /{path}: {status}"));
        }
        Ok(lines
            .take_while(|line| !line.is_empty())
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect())
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
