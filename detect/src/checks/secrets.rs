//! Checks of the secrets detectors (see `detectors/secrets.toml`): the checksums that some token
//! formats carry (GitHub's and npm's CRC32 in base62, Grafana's and Atlassian's CRC32 in hex,
//! age's bech32, OpenPGP armour's CRC-24), and the structure of encoded credentials (Basic
//! `user:password` pairs, Azure keys and signatures, base64-wrapped PEM, PuTTY key files).
//!
//! A check sees the matched value only (the pattern's `secret` group when it has one). It rejects
//! documentation placeholders (`<your-token>`, `${TOKEN}`, `xxxx`, `changeme`) where a pattern
//! cannot, and it never panics: values are sliced with `get`, never indexed past their length.

use super::algo::{base64_decode, bech32_polymod, BECH32_CHARSET};
use super::Check;
use crate::validate::entropy;

/// This area's named checks.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        name: "github_token",
        doc: "GitHub token: a classic ghp_/gho_/ghu_/ghs_/ghr_ token's last 6 base62 characters are the CRC32 of the 30 before them; other forms need entropy",
        run: github_token,
    },
    Check {
        name: "github_crc32_mismatch",
        doc: "GitHub-shaped token (high entropy) whose CRC32 does not match: a dummy or a mangled token",
        run: base62_crc32_mismatch,
    },
    Check {
        name: "npm_crc32",
        doc: "npm_ token whose last 6 base62 characters are the CRC32 of the 30 before them",
        run: npm_crc32,
    },
    Check {
        name: "npm_crc32_mismatch",
        doc: "npm-shaped token (high entropy) whose CRC32 does not match: a dummy or a mangled token",
        run: base62_crc32_mismatch,
    },
    Check {
        name: "grafana_token",
        doc: "Grafana token: glsa_ service-account token with its CRC32, glc_ cloud token or eyJrIjoi API key decoding to JSON",
        run: grafana_token,
    },
    Check {
        name: "atlassian_token",
        doc: "Atlassian ATATT token whose last 8 hex digits are the CRC32 of everything before them",
        run: atlassian_token,
    },
    Check {
        name: "age_bech32",
        doc: "age secret key (AGE-SECRET-KEY-1...) with a valid bech32 checksum and a 32-byte key",
        run: age_bech32,
    },
    Check {
        name: "pgp_private_key",
        doc: "OpenPGP armoured private key block with a real body and, when present, a matching CRC-24",
        run: pgp_private_key,
    },
    Check {
        name: "base64_pem_private_key",
        doc: "base64 that decodes to a PEM private key block with a real body",
        run: base64_pem_private_key,
    },
    Check {
        name: "kubeconfig_key_data",
        doc: "kubeconfig client-key-data entry whose base64 value decodes to a PEM private key",
        run: kubeconfig_key_data,
    },
    Check {
        name: "putty_private_key",
        doc: "PuTTY key file with a real Private-Lines body",
        run: putty_private_key,
    },
    Check {
        name: "basic_auth",
        doc: "base64 that decodes to a printable user:password pair whose password is not a placeholder",
        run: basic_auth,
    },
    Check {
        name: "url_password",
        doc: "URL or connection string whose password (user:password@, Password=, password=) is not a placeholder",
        run: url_password,
    },
    Check {
        name: "azure_key",
        doc: "Azure connection string or key whose AccountKey/SharedAccessKey decodes to 32 or 64 random bytes",
        run: azure_key,
    },
    Check {
        name: "azure_sas_signature",
        doc: "Azure SAS query string whose sig decodes to a 32-byte HMAC-SHA256",
        run: azure_sas_signature,
    },
    Check {
        name: "discord_bot_token",
        doc: "Discord bot token whose first part decodes to a numeric user id (snowflake)",
        run: discord_bot_token,
    },
    Check {
        name: "json_token",
        doc: "token whose part after its prefix is base64 of a JSON object (1Password ops_, Sentry sntrys_)",
        run: json_token,
    },
    Check {
        name: "random_secret",
        doc: "secret value: 3.5 bits of entropy per character or more, letters and digits, not a placeholder",
        run: random_secret,
    },
    Check {
        name: "generic_secret",
        doc: "value assigned to a key/token/secret name: random_secret, and not a token another detector names",
        run: generic_secret,
    },
    Check {
        name: "npmrc_token",
        doc: ".npmrc credential that is not a vendor token (npm_token, github_token... report those), a variable or a placeholder",
        run: npmrc_token,
    },
];

// ---------------------------------------------------------------------------------------------
// Checksums.

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib and PKZIP compute it.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |crc, &b| {
        CRC32_TABLE[usize::from((crc as u8) ^ b)] ^ (crc >> 8)
    })
}

static CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-24 of OpenPGP ASCII armour (RFC 4880 section 6.1).
pub(crate) fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00B7_04CE;
    for &b in data {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4CFB;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// The value of base62 digits `0-9A-Za-z` (GitHub's alphabet), most significant first.
fn base62(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        acc.checked_mul(62)?.checked_add(u64::from(d))
    })
}

fn hex_u32(digits: &[u8]) -> Option<u32> {
    if digits.len() != 8 {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &b| {
        let d = char::from(b).to_digit(16)?;
        Some(acc << 4 | d)
    })
}

/// A 4-byte prefix, 30 random base62 characters and 6 characters of CRC32 (GitHub's classic
/// tokens and npm's): whether the checksum matches, `None` if the value has another shape.
fn base62_crc32(value: &[u8]) -> Option<bool> {
    if value.len() != 40 {
        return None;
    }
    let body = value.get(4..34)?;
    let sum = base62(value.get(34..)?)?;
    Some(sum == u64::from(crc32(body)))
}

fn github_token(value: &[u8]) -> bool {
    match base62_crc32(value) {
        Some(ok) => ok,
        // Fine-grained (github_pat_) and long refresh tokens carry no checksum we know of.
        None => value.len() > 40 && entropy(value) >= 3.0,
    }
}

fn npm_crc32(value: &[u8]) -> bool {
    value.starts_with(b"npm_") && base62_crc32(value) == Some(true)
}

/// Random-looking, but the checksum fails: not a token the vendor issued (a dummy, a token
/// typed by hand or cut and pasted wrong). Reported at low confidence by the rules using it.
fn base62_crc32_mismatch(value: &[u8]) -> bool {
    base62_crc32(value) == Some(false) && entropy(value.get(4..).unwrap_or_default()) >= 3.0
}

fn grafana_token(value: &[u8]) -> bool {
    if value.starts_with(b"glsa_") {
        // glsa_<32 alphanumerics>_<CRC32 of "glsa_" and them, as little-endian hex>
        if value.len() != 46 || value.get(37) != Some(&b'_') {
            return false;
        }
        let (Some(head), Some(sum)) = (value.get(..37), value.get(38..)) else {
            return false;
        };
        return hex_u32(sum).map(u32::swap_bytes) == Some(crc32(head));
    }
    if let Some(b64) = value.strip_prefix(b"glc_") {
        return json_object(b64);
    }
    // Legacy API key: base64 of {"k":"...","n":"...","id":N}.
    value.starts_with(b"eyJrIjoi") && json_object(value)
}

fn atlassian_token(value: &[u8]) -> bool {
    // ATATT3...=<8 hex>: the CRC32 covers everything up to and including the last `=`.
    let Some(eq) = value.iter().rposition(|b| *b == b'=') else {
        return false;
    };
    let (Some(head), Some(sum)) = (value.get(..=eq), value.get(eq + 1..)) else {
        return false;
    };
    hex_u32(sum) == Some(crc32(head)) && entropy(head) >= 4.0
}

/// A bech32 string (BIP 173, not bech32m) in one case: its human-readable part and 5-bit data
/// (checksum removed), if the checksum holds.
fn bech32_decode(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let lower: Vec<u8> = value.iter().map(u8::to_ascii_lowercase).collect();
    let upper = value.iter().any(u8::is_ascii_uppercase);
    if upper && value.iter().any(u8::is_ascii_lowercase) {
        return None;
    }
    let sep = lower.iter().rposition(|b| *b == b'1')?;
    let (hrp, rest) = (lower.get(..sep)?, lower.get(sep + 1..)?);
    if hrp.is_empty() || rest.len() < 6 {
        return None;
    }
    let data: Vec<u8> = rest
        .iter()
        .map(|c| BECH32_CHARSET.iter().position(|x| x == c).map(|p| p as u8))
        .collect::<Option<_>>()?;
    let expanded = hrp
        .iter()
        .map(|c| c >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.iter().map(|c| c & 31))
        .chain(data.iter().copied());
    if bech32_polymod(expanded) != 1 {
        return None;
    }
    let payload = data.get(..data.len() - 6)?.to_vec();
    Some((hrp.to_vec(), payload))
}

fn age_bech32(value: &[u8]) -> bool {
    let Some((hrp, data)) = bech32_decode(value) else {
        return false;
    };
    // 52 groups of 5 bits: a 32-byte X25519 key and 4 bits of zero padding.
    hrp == b"age-secret-key-" && data.len() == 52 && data.last().is_some_and(|d| d & 0x0f == 0)
}

// ---------------------------------------------------------------------------------------------
// Keys in files.

fn json_object(b64: &[u8]) -> bool {
    base64_decode(b64)
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|v| v.is_object())
}

/// What a PEM body must have: plenty of base64, and the randomness of a key rather than of
/// `...` or `<your key here>`.
fn real_key_body(body: &[u8]) -> bool {
    let base64 = body
        .iter()
        .filter(|b| b.is_ascii_alphanumeric() || **b == b'+' || **b == b'/')
        .count();
    base64 >= 64 && entropy(body) >= 4.0
}

fn pgp_private_key(value: &[u8]) -> bool {
    let Some(header_end) = memchr::memmem::find(value, b"BLOCK-----").map(|i| i + 10) else {
        return false;
    };
    let end = memchr::memmem::find(value, b"-----END").unwrap_or(value.len());
    let Some(armour) = value.get(header_end..end.max(header_end)) else {
        return false;
    };
    if !real_key_body(armour) {
        return false;
    }
    pgp_crc24_matches(armour).unwrap_or(true)
}

/// The armour between the header and the END line: optional `Key: value` headers, a blank line,
/// base64 lines, and an optional `=XXXX` CRC-24 line. Lines may end in `\n` escapes (JSON).
/// `None` when there is no checksum line to check.
fn pgp_crc24_matches(armour: &[u8]) -> Option<bool> {
    let text = String::from_utf8_lossy(armour)
        .replace("\\r", "")
        .replace("\\n", "\n");
    let mut body = Vec::new();
    let mut sum = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.contains(": ") {
            continue;
        }
        if let Some(crc) = line.strip_prefix('=') {
            sum = Some(crc.to_string());
            break;
        }
        body.extend_from_slice(line.as_bytes());
    }
    let sum = base64_decode(sum?.as_bytes())?;
    let data = base64_decode(&body)?;
    let want = sum
        .iter()
        .take(3)
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    Some(sum.len() == 3 && crc24(&data) == want)
}

fn base64_pem_private_key(value: &[u8]) -> bool {
    // The header first (a certificate or public key is rejected without decoding the rest).
    let Some(head) = value.get(..64).and_then(base64_decode) else {
        return false;
    };
    let head_text = String::from_utf8_lossy(&head);
    let Some(header) = head_text.strip_prefix("-----BEGIN ") else {
        return false;
    };
    let header = header.split("-----").next().unwrap_or_default();
    if !header.ends_with("PRIVATE KEY") {
        return false;
    }
    let Some(pem) = base64_decode(value) else {
        return false;
    };
    let body_start = crate::finding::pem_header_len(&pem).unwrap_or(pem.len());
    real_key_body(pem.get(body_start..).unwrap_or_default())
}

fn kubeconfig_key_data(value: &[u8]) -> bool {
    // The whole entry is the finding (it is more specific than the key inside it); the key
    // starts at the base64 of `-----BEGIN`.
    memchr::memmem::find(value, b"LS0tLS1CRUdJTi")
        .and_then(|i| value.get(i..))
        .is_some_and(base64_pem_private_key)
}

fn putty_private_key(value: &[u8]) -> bool {
    let Some(at) = memchr::memmem::find(value, b"Private-Lines:") else {
        return false;
    };
    let rest = value.get(at..).unwrap_or_default();
    // Skip the `Private-Lines: N` line itself, stop at the `Private-MAC` line.
    let start = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
    let tail = rest.get(start..).unwrap_or_default();
    let end = memchr::memmem::find(tail, b"Private-").unwrap_or(tail.len());
    let body = tail.get(..end).unwrap_or_default();
    let base64 = body
        .iter()
        .filter(|b| b.is_ascii_alphanumeric() || **b == b'+' || **b == b'/')
        .count();
    base64 >= 40 && entropy(body) >= 4.0
}

// ---------------------------------------------------------------------------------------------
// Credentials inside URLs, headers and configuration.

/// Words and shapes that documentation puts where a secret goes.
fn is_placeholder(value: &[u8]) -> bool {
    const WORDS: &[&[u8]] = &[
        b"password",
        b"passwd",
        b"pass",
        b"pwd",
        b"secret",
        b"changeme",
        b"change_me",
        b"changeit",
        b"example",
        b"sample",
        b"dummy",
        b"placeholder",
        b"redacted",
        b"your",
        b"mypassword",
        b"token",
        b"test",
        b"admin",
        b"root",
        b"user",
        b"username",
        b"guest",
        b"xxx",
        b"***",
        b"...",
        b"null",
        b"none",
        b"undefined",
        b"insert",
        b"replace",
    ];
    if value.is_empty() {
        return true;
    }
    // Variables and templates: ${X}, $X, {{x}}, %(x)s, <x>, [x], %X%.
    if matches!(value.first(), Some(b'$' | b'<' | b'{' | b'[' | b'%' | b'*'))
        || value.ends_with(b">")
        || value.ends_with(b"}")
    {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    if WORDS.iter().any(|w| lower == *w) {
        return true;
    }
    // Words that only documentation writes, anywhere in the value.
    const MARKERS: &[&[u8]] = &[
        b"your_",
        b"your-",
        b"yourpass",
        b"example",
        b"placeholder",
        b"changeme",
        b"xxxx",
        b"****",
        b"<",
        b"${",
        b"{{",
    ];
    if MARKERS
        .iter()
        .any(|m| memchr::memmem::find(&lower, m).is_some())
    {
        return true;
    }
    // One repeated character.
    value.iter().all(|b| Some(b) == value.first())
}

fn basic_auth(value: &[u8]) -> bool {
    let Some(decoded) = base64_decode(value) else {
        return false;
    };
    if decoded.len() < 3 || !decoded.iter().all(|b| (0x20..0x7f).contains(b)) {
        return false;
    }
    let Some(colon) = decoded.iter().position(|b| *b == b':') else {
        return false;
    };
    let (user, password) = (
        decoded.get(..colon).unwrap_or_default(),
        decoded.get(colon + 1..).unwrap_or_default(),
    );
    !user.is_empty() && password.len() >= 3 && !is_placeholder(password)
}

/// The password of `scheme://user:password@host`, or of a `Password=`/`pwd=`/`password=` field.
fn find_password(value: &[u8]) -> Option<&[u8]> {
    let userinfo_password = || {
        let scheme_end = memchr::memmem::find(value, b"://")?;
        let rest = value.get(scheme_end + 3..)?;
        let at = rest.iter().rposition(|b| *b == b'@')?;
        let userinfo = rest.get(..at)?;
        let colon = userinfo.iter().position(|b| *b == b':')?;
        userinfo.get(colon + 1..)
    };
    if let Some(password) = userinfo_password() {
        return Some(password);
    }
    let lower = value.to_ascii_lowercase();
    for key in [&b"password="[..], b"pwd=", b"password ="] {
        if let Some(i) = memchr::memmem::find(&lower, key) {
            let rest = value.get(i + key.len()..)?;
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            let end = rest
                .iter()
                .position(|b| matches!(b, b';' | b'&' | b'"' | b'\'' | b' '))
                .unwrap_or(rest.len());
            return rest.get(..end);
        }
    }
    None
}

fn url_password(value: &[u8]) -> bool {
    find_password(value).is_some_and(|p| p.len() >= 3 && !is_placeholder(p))
}

fn azure_key(value: &[u8]) -> bool {
    // In a connection string, the key follows its name; a bare key is the whole value.
    let key = [&b"AccountKey="[..], b"SharedAccessKey="]
        .iter()
        .find_map(|name| {
            memchr::memmem::find(value, name).and_then(|i| value.get(i + name.len()..))
        })
        .unwrap_or(value);
    let end = key
        .iter()
        .position(|b| matches!(b, b';' | b'"' | b'\'' | b' ' | b'\n'))
        .unwrap_or(key.len());
    let key = key.get(..end).unwrap_or_default();
    let decoded = base64_decode(key).unwrap_or_default();
    matches!(decoded.len(), 32 | 64) && entropy(key) >= 4.5
}

fn percent_decode(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let b = value.get(i).copied().unwrap_or_default();
        let hex = value
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn azure_sas_signature(value: &[u8]) -> bool {
    let Some(at) = memchr::memmem::find(value, b"sig=") else {
        return false;
    };
    let sig = value.get(at + 4..).unwrap_or_default();
    let end = sig.iter().position(|b| *b == b'&').unwrap_or(sig.len());
    let sig = percent_decode(sig.get(..end).unwrap_or_default());
    base64_decode(&sig).is_some_and(|mac| mac.len() == 32) && entropy(&sig) >= 4.0
}

fn discord_bot_token(value: &[u8]) -> bool {
    let Some(id) = value.split(|b| *b == b'.').next() else {
        return false;
    };
    let Some(id) = base64_decode(id) else {
        return false;
    };
    // A snowflake: 17 to 20 decimal digits, not starting with 0.
    (17..=20).contains(&id.len())
        && id.iter().all(u8::is_ascii_digit)
        && id.first() != Some(&b'0')
        && entropy(value) >= 4.0
}

fn json_token(value: &[u8]) -> bool {
    let Some(us) = value.iter().position(|b| *b == b'_') else {
        return false;
    };
    let rest = value.get(us + 1..).unwrap_or_default();
    // Sentry's org tokens end in `_<secret>` after the JSON part.
    let json = rest
        .iter()
        .rposition(|b| *b == b'_')
        .and_then(|i| rest.get(..i))
        .filter(|_| value.starts_with(b"sntrys_"))
        .unwrap_or(rest);
    json_object(json)
}

/// A value that looks generated: enough entropy, letters and digits, not a placeholder, not a
/// path, a URL, a file name or an identifier written in words.
fn random_secret(value: &[u8]) -> bool {
    if value.len() < 16 || is_placeholder(value) {
        return false;
    }
    let letters = value.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let digits = value.iter().filter(|b| b.is_ascii_digit()).count();
    if letters == 0 || digits == 0 {
        return false;
    }
    // A dotted or slashed name (`com.example.app`, `config/secrets.yml`) is not a secret.
    let separators = value
        .iter()
        .filter(|b| matches!(b, b'.' | b'/' | b'-' | b'_'))
        .count();
    if separators * 6 > value.len() {
        return false;
    }
    entropy(value) >= 3.5
}

/// Prefixes of tokens that their own detectors report.
const VENDOR_PREFIXES: &[&[u8]] = &[
    b"AKIA",
    b"ASIA",
    b"ghp_",
    b"gho_",
    b"ghu_",
    b"ghs_",
    b"ghr_",
    b"github_pat_",
    b"glpat-",
    b"sk-",
    b"sk_live_",
    b"sk_test_",
    b"rk_live_",
    b"rk_test_",
    b"xox",
    b"AIza",
    b"npm_",
    b"SG.",
    b"hf_",
    b"dapi",
    b"eyJ",
    b"GOCSPX-",
    b"shp",
    b"hvs.",
    b"hvb.",
    b"dop_v1_",
    b"doo_v1_",
    b"dp.",
    b"PMAK-",
    b"lin_api_",
    b"ntn_",
    b"sntry",
    b"HRKU-",
    b"pul-",
    b"dt0",
    b"ops_",
    b"NRAK-",
    b"LTAI",
    b"sq0",
    b"EAA",
    b"fo1_",
    b"fm2_",
    b"AKCp",
    b"sqp_",
    b"sqa_",
    b"squ_",
    b"pscale_",
    b"gsk_",
    b"pplx-",
    b"r8_",
    b"xai-",
    b"glsa_",
    b"glc_",
    b"ATATT",
    b"pypi-",
    b"AGE-SECRET-KEY-",
];

fn generic_secret(value: &[u8]) -> bool {
    random_secret(value) && !VENDOR_PREFIXES.iter().any(|p| value.starts_with(p))
}

fn npmrc_token(value: &[u8]) -> bool {
    if VENDOR_PREFIXES.iter().any(|p| value.starts_with(p)) || is_placeholder(value) {
        return false;
    }
    // `_auth` holds base64 of user:password (judged as such), `_authToken` an opaque token.
    let decoded = base64_decode(value).unwrap_or_default();
    if decoded.contains(&b':') && decoded.iter().all(|b| (0x20..0x7f).contains(b)) {
        return basic_auth(value);
    }
    value.len() >= 20 && entropy(value) >= 3.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_reference_values() {
        // The check values of the CRC catalogue ("123456789").
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc24(b"123456789"), 0x0021_CF02);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn base62_checksums() {
        // Tokens made for the tests: 30 random characters and their CRC32 in base62.
        let good = b"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";
        assert!(github_token(good), "a valid checksum");
        let mut bad = *good;
        bad[10] = b'Q';
        assert!(!github_token(&bad));
        assert!(base62_crc32_mismatch(&bad));
        assert!(!base62_crc32_mismatch(good));
        assert!(!github_token(b"ghp_short"));
        assert!(!base62_crc32_mismatch(
            b"ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        ));
    }

    #[test]
    fn bech32_bip173_vectors() {
        // Valid bech32 strings of BIP 173.
        for s in [
            "A12UEL5L",
            "a12uel5l",
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        ] {
            assert!(bech32_decode(s.as_bytes()).is_some(), "{s}");
        }
        for s in ["A12UEL5l", "a12uel5m", "1nwldj5", "abc1rzg"] {
            assert!(bech32_decode(s.as_bytes()).is_none(), "{s}");
        }
    }

    #[test]
    fn placeholders() {
        for p in [
            &b"password"[..],
            b"${DB_PASSWORD}",
            b"<password>",
            b"xxxxxxxx",
            b"changeme",
            b"{{ secret }}",
            b"your_password_here",
        ] {
            assert!(is_placeholder(p), "{}", String::from_utf8_lossy(p));
        }
        for s in [&b"h7Gq2LmZ9sPw"[..], b"Tr0ub4dor&3"] {
            assert!(!is_placeholder(s));
        }
    }

    #[test]
    fn basic_auth_decodes_a_pair() {
        assert!(basic_auth(b"YWxhZGRpbjpvcGVuc2VzYW1l")); // aladdin:opensesame
        assert!(!basic_auth(b"dXNlcjpwYXNzd29yZA==")); // user:password
        assert!(!basic_auth(b"bm9jb2xvbg==")); // nocolon
        assert!(!basic_auth(b"!!!"));
    }
}
