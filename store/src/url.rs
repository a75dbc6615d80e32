//! Object URLs (`s3://bucket/key`): parsing, checking and printing. This module never talks to
//! a server.

use crate::error::{Error, ErrorKind};

/// The scheme of object URLs.
const SCHEME: &str = "s3://";

/// An object, or a prefix of objects, in a bucket: `s3://bucket/key`.
///
/// The key is everything after the bucket's slash, as S3 stores it (not percent-decoded); it
/// names one object, a "folder" of objects (`reports/2024`, with or without the final slash),
/// or, when empty, the whole bucket.
///
/// ```
/// use dlp_store::ObjectUrl;
///
/// let url = ObjectUrl::parse("s3://exports/2024/q1/")?;
/// assert_eq!(url.bucket(), "exports");
/// assert_eq!(url.key(), "2024/q1/");
/// assert_eq!(url.object("2024/q1/a.pdf").to_string(), "s3://exports/2024/q1/a.pdf");
/// assert!(ObjectUrl::parse("s3:/exports").is_err());
/// # Ok::<(), dlp_store::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectUrl {
    bucket: String,
    key: String,
}

/// Whether `input` is meant as an object URL (it starts with `s3:`, in any case), so that a
/// front door sends it to [`ObjectUrl::parse`] rather than to the file system. `s3:/x` is
/// meant as one too, and its parse error says what is wrong; a local file whose name starts
/// with `s3:` is reached as `./s3:...`.
pub fn is_object_url(input: &str) -> bool {
    input
        .get(..3)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("s3:"))
}

impl ObjectUrl {
    /// Parses `s3://BUCKET`, `s3://BUCKET/` or `s3://BUCKET/KEY-OR-PREFIX`.
    ///
    /// The bucket is letters, digits, dots, hyphens and underscores (S3's rules and its
    /// legacy names), 3 to 255 of them; the key may be anything but control characters and
    /// empty, `.` or `..` segments, which no object store addresses alike.
    pub fn parse(input: &str) -> Result<ObjectUrl, Error> {
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::InvalidUrl,
                format!("`{input}` is not an object URL: {why}"),
            )
        };
        let rest = match input.get(..SCHEME.len()) {
            Some(scheme) if scheme.eq_ignore_ascii_case(SCHEME) => &input[SCHEME.len()..],
            _ => return Err(invalid("use s3://BUCKET/PREFIX")),
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("the bucket is missing; use s3://BUCKET/PREFIX"));
        }
        if let Some(c) = bucket
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        {
            return Err(invalid(&format!(
                "`{}` cannot be in a bucket name (letters, digits, dots, hyphens and \
                 underscores can)",
                c.escape_default()
            )));
        }
        if !(3..=255).contains(&bucket.len()) {
            return Err(invalid("a bucket name has 3 to 255 characters"));
        }
        check_key(key).map_err(|why| invalid(&why))?;
        Ok(ObjectUrl {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key or prefix after the bucket, as given (`""` for the whole bucket).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The URL of the object `key` in the same bucket.
    pub fn object(&self, key: &str) -> ObjectUrl {
        ObjectUrl {
            bucket: self.bucket.clone(),
            key: key.to_string(),
        }
    }
}

/// Why `key` cannot be addressed, if it cannot: object_store's paths have no empty, `.` or `..`
/// segment and no control character. A final slash is allowed (`reports/`).
pub(crate) fn check_key(key: &str) -> Result<(), String> {
    if let Some(c) = key.chars().find(char::is_ascii_control) {
        return Err(format!(
            "the key has a control character (`{}`)",
            c.escape_default()
        ));
    }
    let trimmed = key.strip_suffix('/').unwrap_or(key);
    if !trimmed.is_empty()
        && trimmed
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err("the key has an empty, `.` or `..` segment (`//`, `/./`, `/../`)".into());
    }
    Ok(())
}

impl std::fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.bucket, self.key)
    }
}

impl std::str::FromStr for ObjectUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        ObjectUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_that_parse() {
        let cases: &[(&str, &str, &str, &str)] = &[
            // input, bucket, key, printed
            ("s3://bucket", "bucket", "", "s3://bucket/"),
            ("s3://bucket/", "bucket", "", "s3://bucket/"),
            ("S3://bucket/a", "bucket", "a", "s3://bucket/a"),
            (
                "s3://my.bucket-1/dir/sub/",
                "my.bucket-1",
                "dir/sub/",
                "s3://my.bucket-1/dir/sub/",
            ),
            (
                "s3://b_b/a file (1).pdf",
                "b_b",
                "a file (1).pdf",
                "s3://b_b/a file (1).pdf",
            ),
            ("s3://bkt/ключ/%41", "bkt", "ключ/%41", "s3://bkt/ключ/%41"),
        ];
        for &(input, bucket, key, printed) in cases {
            let url = ObjectUrl::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(url.bucket(), bucket, "{input}");
            assert_eq!(url.key(), key, "{input}");
            assert_eq!(url.to_string(), printed, "{input}");
            assert!(is_object_url(input), "{input}");
        }
    }

    #[test]
    fn urls_that_do_not_parse_say_why() {
        let cases: &[(&str, &str)] = &[
            (
                "s3:/x",
                "`s3:/x` is not an object URL: use s3://BUCKET/PREFIX",
            ),
            ("s3:x", "use s3://BUCKET/PREFIX"),
            ("gs://bucket/a", "use s3://BUCKET/PREFIX"),
            ("/tmp/file", "use s3://BUCKET/PREFIX"),
            ("s3://", "the bucket is missing"),
            ("s3:///key", "the bucket is missing"),
            ("s3://ab/key", "3 to 255 characters"),
            ("s3://my bucket/key", "` ` cannot be in a bucket name"),
            ("s3://bucket:9000/key", "`:` cannot be in a bucket name"),
            ("s3://bucket/a//b", "empty, `.` or `..` segment"),
            ("s3://bucket/a/../b", "empty, `.` or `..` segment"),
            ("s3://bucket/a\nb", "control character (`\\n`)"),
        ];
        for &(input, want) in cases {
            let err = ObjectUrl::parse(input).expect_err(input);
            assert_eq!(err.kind(), ErrorKind::InvalidUrl, "{input}");
            assert!(
                err.to_string().contains(want),
                "{input}: `{err}` does not say `{want}`"
            );
        }
    }

    #[test]
    fn routing() {
        assert!(is_object_url("s3:/x"));
        assert!(is_object_url("S3://b/k"));
        assert!(!is_object_url("./s3:/x"));
        assert!(!is_object_url("s"));
        assert!(!is_object_url("docs/a.pdf"));
        assert!(!is_object_url("-"));
    }
}
