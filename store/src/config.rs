//! How to reach object storage: the `AWS_*` settings (from the environment, or given), the
//! timeouts and retries, the check that some credentials exist, and the secrets that errors
//! must never show. This module builds object_store's client; it never sends a request to the
//! store itself (only, when no credentials are set, a TCP connect to the instance metadata
//! service).

use std::collections::BTreeMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};

use crate::error::{Error, ErrorKind};
use crate::url::ObjectUrl;

/// The variables whose values are secrets: never shown by `Debug`, scrubbed out of errors.
const SECRET_VARS: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_TOKEN",
    "AWS_SSE_CUSTOMER_KEY_BASE64",
];

/// The variables whose values `Debug` shows; every other value is redacted.
const PLAIN_VARS: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT",
    "AWS_ALLOW_HTTP",
    "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
    "AWS_SKIP_SIGNATURE",
    "AWS_TIMEOUT",
    "AWS_CONNECT_TIMEOUT",
    "AWS_SERVER_SIDE_ENCRYPTION",
];

/// The endpoint variables, the first one set winning: the AWS SDKs' S3-only variable, then the
/// all-services one, then object_store's older name.
const ENDPOINT_VARS: &[&str] = &["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"];

/// The variables of server-side encryption that [`Config::encryption`] sets.
const SSE_VAR: &str = "AWS_SERVER_SIDE_ENCRYPTION";
const SSE_KMS_KEY_VAR: &str = "AWS_SSE_KMS_KEY_ID";

/// Server-side encryption that every write asks S3 for (the `x-amz-server-side-encryption`
/// header); see [`Config::encryption`]. Without it, the bucket's default encryption applies.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encryption {
    /// SSE-S3 (`AES256`): keys managed by S3.
    S3Managed,
    /// SSE-KMS (`aws:kms`): keys in AWS KMS, `key_id` (an id, ARN or alias) or, when `None`,
    /// the bucket's default KMS key (else the account's AWS-managed `aws/s3` key).
    Kms {
        /// The KMS key to encrypt with.
        key_id: Option<String>,
    },
}

/// Where EC2 serves instance credentials, unless `AWS_METADATA_ENDPOINT` says otherwise.
const METADATA_ENDPOINT: &str = "http://169.254.169.254";

/// How to reach object storage: the `AWS_*` settings, and the timeouts and retries of every
/// request.
///
/// [`Config::from_env`] takes the process's `AWS_*` variables, as the AWS tools do; a caller
/// that must not depend on the environment (a test, a service with its own settings) starts
/// from [`Config::new`] and sets [`Config::var`]. Empty values count as unset. `Debug` shows
/// the region and endpoint settings and redacts every other value.
///
/// ```
/// use std::time::Duration;
///
/// let mut config = dlp_store::Config::new();
/// config
///     .var("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
///     .var("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
///     .var("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
///     .retries(2)
///     .timeout(Duration::from_secs(10));
/// assert_eq!(config.endpoint(), Some("http://127.0.0.1:9000"));
/// assert!(!format!("{config:?}").contains("EXAMPLEKEY"));
/// ```
#[derive(Clone)]
pub struct Config {
    vars: BTreeMap<String, String>,
    connect_timeout: Duration,
    timeout: Duration,
    retries: usize,
    retry_timeout: Duration,
    page_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            vars: BTreeMap::new(),
            // An unreachable endpoint fails within about half a minute (five attempts of five
            // seconds), a refused connection within two seconds.
            connect_timeout: Duration::from_secs(5),
            // Whole requests, bodies included: a download stalled this long is resumed from
            // where it stopped, as a retry.
            timeout: Duration::from_secs(60),
            retries: 4,
            retry_timeout: Duration::from_secs(180),
            page_size: 1000,
        }
    }
}

impl Config {
    /// No variables, default timeouts and retries.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every `AWS_*` variable of the process's environment (upper case, non-empty, UTF-8), as
    /// object_store's `AmazonS3Builder::from_env` reads them, and default timeouts and retries.
    pub fn from_env() -> Self {
        let mut config = Self::new();
        for (name, value) in std::env::vars_os() {
            if let (Some(name), Some(value)) = (name.to_str(), value.to_str()) {
                if name.starts_with("AWS_") {
                    config.var(name, value);
                }
            }
        }
        config
    }

    /// Sets the variable `name` (`AWS_REGION`, `AWS_ENDPOINT_URL`...); an empty value unsets it.
    pub fn var(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        if value.is_empty() {
            self.vars.remove(name);
        } else {
            self.vars.insert(name.to_string(), value);
        }
        self
    }

    /// How long to wait for a connection (default 5 s). `AWS_CONNECT_TIMEOUT` wins when set.
    pub fn connect_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one request may take, its body included (default 60 s); a download cut by it
    /// resumes where it stopped, as one of the retries. `AWS_TIMEOUT` wins when set.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = timeout;
        self
    }

    /// How many times a failed request (connection, timeout, 5xx, throttling) is retried, with
    /// exponential backoff and jitter (default 4).
    pub fn retries(&mut self, retries: usize) -> &mut Self {
        self.retries = retries;
        self
    }

    /// No retry starts later than this after a request's first attempt (default 180 s).
    pub fn retry_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.retry_timeout = timeout;
        self
    }

    /// Asks for server-side encryption of every object written (default: none asked, the
    /// bucket's default applies). It sets `AWS_SERVER_SIDE_ENCRYPTION` (and
    /// `AWS_SSE_KMS_KEY_ID`), replacing what the environment said.
    ///
    /// ```
    /// use dlp_store::{Config, Encryption};
    ///
    /// let mut config = Config::new();
    /// config.encryption(Encryption::Kms { key_id: Some("alias/dlp-evidence".into()) });
    /// assert!(format!("{config:?}").contains("aws:kms"));
    /// ```
    pub fn encryption(&mut self, encryption: Encryption) -> &mut Self {
        let (sse, key_id) = match encryption {
            Encryption::S3Managed => ("AES256", None),
            Encryption::Kms { key_id } => ("aws:kms", key_id),
        };
        self.var(SSE_VAR, sse);
        self.var(SSE_KMS_KEY_VAR, key_id.unwrap_or_default());
        self
    }

    /// How many keys one listing request asks for (default 1000, S3's maximum).
    pub fn page_size(&mut self, keys: usize) -> &mut Self {
        self.page_size = keys.clamp(1, 1000);
        self
    }

    /// The endpoint of an S3-compatible server, when one is set (`AWS_ENDPOINT_URL_S3`, else
    /// `AWS_ENDPOINT_URL`, else `AWS_ENDPOINT`); `None` is AWS itself.
    pub fn endpoint(&self) -> Option<&str> {
        ENDPOINT_VARS
            .iter()
            .find_map(|name| self.vars.get(*name))
            .map(String::as_str)
    }

    /// The region (`AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub fn region(&self) -> &str {
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|name| self.vars.get(*name))
            .map_or("us-east-1", String::as_str)
    }

    pub(crate) fn page_keys(&self) -> usize {
        self.page_size
    }

    /// Where requests for `url`'s bucket go, for messages.
    pub(crate) fn describe_endpoint(&self) -> String {
        match self.endpoint() {
            Some(endpoint) => endpoint.to_string(),
            None => format!("AWS S3 in {}", self.region()),
        }
    }

    /// The secrets set, to scrub out of messages.
    pub(crate) fn secrets(&self) -> Secrets {
        Secrets(
            SECRET_VARS
                .iter()
                .filter_map(|name| self.vars.get(*name))
                .filter(|value| value.len() >= 4)
                .cloned()
                .collect(),
        )
    }

    /// object_store's client for the bucket of `url`.
    pub(crate) fn build(&self, url: &ObjectUrl) -> Result<AmazonS3, Error> {
        let config_error = |message: String| Error::new(ErrorKind::Config, message);
        self.check_credentials(url)?;
        let mut options = ClientOptions::new()
            .with_connect_timeout(self.connect_timeout)
            .with_timeout(self.timeout);
        let endpoint = self.endpoint();
        if let Some(endpoint) = endpoint {
            let lower = endpoint.to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                return Err(config_error(format!(
                    "the endpoint `{endpoint}` is not a URL: set AWS_ENDPOINT_URL to \
                     http://HOST:PORT or https://HOST"
                )));
            }
            // An endpoint given as http:// is meant to be reached over plain HTTP (a local
            // S3-compatible server); object_store otherwise refuses it.
            options = options.with_allow_http(lower.starts_with("http://"));
        }
        let mut builder = AmazonS3Builder::new()
            .with_client_options(options)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: self.retries,
                retry_timeout: self.retry_timeout,
            });
        // Set after the client options so that the environment's AWS_ALLOW_HTTP, AWS_TIMEOUT
        // and the like win, as they do with object_store's own `from_env`.
        for (name, value) in &self.vars {
            if ENDPOINT_VARS.contains(&name.as_str()) {
                continue;
            }
            if let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, value);
            }
        }
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        builder.with_bucket_name(url.bucket()).build().map_err(|e| {
            config_error(format!(
                "cannot open {url}: {}",
                self.secrets().scrub(&e.to_string())
            ))
        })
    }

    /// Fails unless some credentials can be had: a key pair, a web identity or container
    /// credentials, unsigned requests, or an instance metadata service that answers. Without
    /// this check object_store would ask the metadata service of a machine that has none, and
    /// fail a minute later with a message about tokens.
    fn check_credentials(&self, url: &ObjectUrl) -> Result<(), Error> {
        let set = |name: &str| self.vars.contains_key(name);
        let yes = |name: &str| {
            self.vars
                .get(name)
                .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
        };
        match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
            (true, true) => return Ok(()),
            (true, false) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "cannot open {url}: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY \
                         is not; set both"
                    ),
                ))
            }
            (false, true) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "cannot open {url}: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID \
                         is not; set both"
                    ),
                ))
            }
            (false, false) => {}
        }
        if yes("AWS_SKIP_SIGNATURE")
            || (set("AWS_WEB_IDENTITY_TOKEN_FILE") && set("AWS_ROLE_ARN"))
            || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            || set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        {
            return Ok(());
        }
        let metadata = self
            .vars
            .get("AWS_METADATA_ENDPOINT")
            .map_or(METADATA_ENDPOINT, String::as_str);
        let disabled = yes("AWS_EC2_METADATA_DISABLED");
        if !disabled && answers(metadata) {
            return Ok(());
        }
        let metadata = if disabled {
            "the instance metadata service is not asked (AWS_EC2_METADATA_DISABLED)".to_string()
        } else {
            format!("no instance metadata service answered at {metadata}")
        };
        Err(Error::new(
            ErrorKind::NoCredentials,
            format!(
                "cannot open {url}: no credentials: set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), or \
                 AWS_SKIP_SIGNATURE=true for a public bucket; profiles in ~/.aws are not read \
                 (`eval \"$(aws configure export-credentials --format env)\"` exports one), and \
                 {metadata}"
            ),
        ))
    }
}

/// Whether something accepts TCP connections at the host and port of `endpoint` within a
/// second.
fn answers(endpoint: &str) -> bool {
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let address = if authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let Ok(mut addresses) = address.to_socket_addrs() else {
        return false;
    };
    addresses.any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok())
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let vars: BTreeMap<&str, &str> = self
            .vars
            .iter()
            .map(|(name, value)| {
                let shown = if PLAIN_VARS.contains(&name.as_str()) {
                    value.as_str()
                } else {
                    "[redacted]"
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("Config")
            .field("vars", &vars)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("retry_timeout", &self.retry_timeout)
            .field("page_size", &self.page_size)
            .finish()
    }
}

/// The secret values of a configuration, to remove from anything shown.
#[derive(Clone, Default)]
pub(crate) struct Secrets(Vec<String>);

impl Secrets {
    /// `text` with every secret replaced by `[redacted]`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.0 {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "[redacted]");
            }
        }
        text
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets([redacted; {}])", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> ObjectUrl {
        ObjectUrl::parse("s3://bucket/prefix").unwrap()
    }

    #[test]
    fn endpoint_and_region_precedence() {
        let mut config = Config::new();
        assert_eq!(config.endpoint(), None);
        assert_eq!(config.region(), "us-east-1");
        config
            .var("AWS_ENDPOINT", "http://a")
            .var("AWS_DEFAULT_REGION", "eu-west-1");
        assert_eq!(config.endpoint(), Some("http://a"));
        assert_eq!(config.region(), "eu-west-1");
        config
            .var("AWS_ENDPOINT_URL", "http://b")
            .var("AWS_REGION", "eu-central-1");
        assert_eq!(config.endpoint(), Some("http://b"));
        assert_eq!(config.region(), "eu-central-1");
        config.var("AWS_ENDPOINT_URL_S3", "http://c");
        assert_eq!(config.endpoint(), Some("http://c"));
        config.var("AWS_ENDPOINT_URL_S3", "");
        assert_eq!(config.endpoint(), Some("http://b"));
    }

    #[test]
    fn half_a_key_pair_is_a_config_error() {
        for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let mut config = Config::new();
            config.var(name, "value-of-the-variable");
            let err = config.build(&url()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains("set both"), "{err}");
            assert!(err.to_string().contains("s3://bucket/prefix"), "{err}");
            assert!(!err.to_string().contains("value-of-the-variable"), "{err}");
        }
    }

    #[test]
    fn no_credentials_says_what_to_set() {
        let mut config = Config::new();
        // Some unreachable port in place of the metadata service.
        config.var("AWS_METADATA_ENDPOINT", "http://127.0.0.1:1");
        let err = config.build(&url()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoCredentials);
        assert!(
            err.to_string()
                .contains("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
            "{err}"
        );
        let mut config = Config::new();
        config.var("AWS_EC2_METADATA_DISABLED", "true");
        assert_eq!(
            config.build(&url()).unwrap_err().kind(),
            ErrorKind::NoCredentials
        );
        config.var("AWS_SKIP_SIGNATURE", "true");
        assert!(config.build(&url()).is_ok());
    }

    #[test]
    fn encryption_replaces_the_environments_setting() {
        let mut config = Config::new();
        config
            .var("AWS_SKIP_SIGNATURE", "true")
            .var(SSE_VAR, "aws:kms")
            .var(SSE_KMS_KEY_VAR, "env-key");
        config.encryption(Encryption::S3Managed);
        assert_eq!(config.vars.get(SSE_VAR).map(String::as_str), Some("AES256"));
        assert_eq!(config.vars.get(SSE_KMS_KEY_VAR), None);
        assert!(config.build(&url()).is_ok());
        config.encryption(Encryption::Kms {
            key_id: Some("arn:aws:kms:us-east-1:1:key/k".into()),
        });
        assert_eq!(
            config.vars.get(SSE_VAR).map(String::as_str),
            Some("aws:kms")
        );
        assert!(config.build(&url()).is_ok());
        // object_store checks the value when the client is built.
        config.var(SSE_VAR, "rot13");
        let err = config.build(&url()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[test]
    fn endpoints_must_be_urls() {
        let mut config = Config::new();
        config
            .var("AWS_ACCESS_KEY_ID", "id")
            .var("AWS_SECRET_ACCESS_KEY", "secret")
            .var("AWS_ENDPOINT_URL", "127.0.0.1:9000");
        let err = config.build(&url()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.to_string().contains("`127.0.0.1:9000` is not a URL"),
            "{err}"
        );
    }

    #[test]
    fn debug_redacts_all_but_the_plain_settings() {
        let mut config = Config::new();
        config
            .var("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEID")
            .var("AWS_SECRET_ACCESS_KEY", "secret-access-key")
            .var("AWS_SESSION_TOKEN", "session-token")
            .var("AWS_REGION", "eu-west-3");
        let debug = format!("{config:?}");
        for secret in ["AKIAEXAMPLEID", "secret-access-key", "session-token"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("eu-west-3"), "{debug}");
        assert!(debug.contains("AWS_SESSION_TOKEN"), "{debug}");
        let secrets = config.secrets();
        assert_eq!(
            secrets.scrub("a secret-access-key and a session-token"),
            "a [redacted] and a [redacted]"
        );
        assert!(!format!("{secrets:?}").contains("secret-access-key"));
    }
}
