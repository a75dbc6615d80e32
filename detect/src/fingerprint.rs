//! Fingerprints: how the same value is recognised across items without being stored.
//!
//! A fingerprint is HMAC-SHA-256 of the normalized value under a secret key, so that one cannot
//! recover a low-entropy value (an SSN, a card with a few hidden digits) by trying every
//! candidate: without the key, a fingerprint says nothing. Plain SHA-256 remains for those who
//! ask for it (fingerprints comparable with other tools), knowing that a 9-digit number is found
//! back from its hash in milliseconds. This module owns the key's form and the digest; where
//! the key lives (a file, an environment variable) is the engine's business.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The length of a fingerprint key, in bytes.
pub const KEY_LEN: usize = 32;

/// How fingerprints are computed.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Fingerprints {
    /// SHA-256 of the normalized value: comparable with any other tool, and reversible by
    /// brute force for low-entropy values. The default of `dlp-detect` alone; `dlp-engine`
    /// defaults to a keyed fingerprint.
    #[default]
    Sha256,
    /// HMAC-SHA-256 of the normalized value under this key.
    Keyed(Box<[u8; KEY_LEN]>),
}

impl fmt::Debug for Fingerprints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        match self {
            Fingerprints::Sha256 => f.write_str("Sha256"),
            Fingerprints::Keyed(_) => f.write_str("Keyed(..)"),
        }
    }
}

impl Fingerprints {
    /// A keyed fingerprint from a key written as 64 hexadecimal digits (surrounding white
    /// space ignored), as key files and `DLP_FINGERPRINT_KEY` hold it.
    pub fn from_hex(text: &str) -> Result<Fingerprints, String> {
        let text = text.trim();
        if text.len() != 2 * KEY_LEN || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "a fingerprint key is {} hexadecimal digits (got {} characters)",
                2 * KEY_LEN,
                text.chars().count()
            ));
        }
        let mut key = [0u8; KEY_LEN];
        for (i, byte) in key.iter_mut().enumerate() {
            let pair = &text[2 * i..2 * i + 2];
            *byte = u8::from_str_radix(pair, 16).map_err(|e| e.to_string())?;
        }
        Ok(Fingerprints::Keyed(Box::new(key)))
    }

    /// A key as 64 hexadecimal digits.
    pub fn key_to_hex(key: &[u8; KEY_LEN]) -> String {
        hex(key)
    }

    /// The fingerprint of an already normalized value, as lower-case hex.
    #[cfg(test)]
    pub(crate) fn of(&self, normalized: &[u8]) -> String {
        Fingerprinter::new(self).of(normalized)
    }
}

/// A [`Fingerprints`] ready to use: for a keyed one, the HMAC's state after the key (its inner
/// and outer pads, one SHA-256 block each), so that a short value costs two compressions
/// instead of four.
#[derive(Clone)]
pub(crate) struct Fingerprinter {
    keyed: Option<Hmac<Sha256>>,
}

impl fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key, nor the state derived from it.
        f.write_str(if self.keyed.is_some() {
            "Keyed(..)"
        } else {
            "Sha256"
        })
    }
}

impl Fingerprinter {
    pub(crate) fn new(fingerprints: &Fingerprints) -> Fingerprinter {
        let keyed = match fingerprints {
            Fingerprints::Sha256 => None,
            // An HMAC takes a key of any length: this cannot fail.
            Fingerprints::Keyed(key) => <Hmac<Sha256> as Mac>::new_from_slice(&key[..]).ok(),
        };
        Fingerprinter { keyed }
    }

    /// The fingerprint of an already normalized value, as lower-case hex.
    pub(crate) fn of(&self, normalized: &[u8]) -> String {
        match &self.keyed {
            None => hex(&Sha256::digest(normalized)),
            Some(keyed) => {
                let mut mac = keyed.clone();
                mac.update(normalized);
                hex(&mac.finalize().into_bytes())
            }
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex(bytes: &[u8]) -> String {
    // Written in place, two digits a byte, with no check of capacity per byte (every finding
    // has a fingerprint).
    let mut out = vec![0u8; 2 * bytes.len()];
    for (pair, &byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    // Hex digits are ASCII: this never falls back.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_test_case_2_and_plain_sha256() {
        // RFC 4231, test case 2, with the key padded to 32 bytes is not that case: check the
        // construction instead against a second, independent computation.
        let key = [7u8; KEY_LEN];
        let keyed = Fingerprints::Keyed(Box::new(key));
        let got = keyed.of(b"4111111111111111");
        // HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)) with K padded to the block size.
        let mut k = [0u8; 64];
        k[..KEY_LEN].copy_from_slice(&key);
        let inner: Vec<u8> = k
            .iter()
            .map(|b| b ^ 0x36)
            .chain(*b"4111111111111111")
            .collect();
        let inner = Sha256::digest(&inner);
        let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).chain(inner).collect();
        assert_eq!(got, hex(&Sha256::digest(&outer)));
        // One fingerprinter, its keyed state reused across values, gives each value the
        // fingerprint a fresh one gives it.
        let reused = Fingerprinter::new(&keyed);
        for value in [&b"4111111111111111"[..], b"", b"078-05-1120", &[b'x'; 200]] {
            assert_eq!(reused.of(value), Fingerprinter::new(&keyed).of(value));
        }
        assert_eq!(reused.of(b"4111111111111111"), got);
        assert_ne!(got, Fingerprints::Sha256.of(b"4111111111111111"));
        assert_eq!(
            Fingerprints::Sha256.of(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn keys_parse_from_hex_and_never_print() {
        let hex_key = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let f = Fingerprints::from_hex(&format!(" {hex_key}\n")).unwrap();
        let Fingerprints::Keyed(key) = &f else {
            panic!("keyed")
        };
        assert_eq!(Fingerprints::key_to_hex(key), hex_key.to_ascii_lowercase());
        assert_eq!(format!("{f:?}"), "Keyed(..)");
        assert!(Fingerprints::from_hex("0011")
            .unwrap_err()
            .contains("64 hexadecimal"));
        assert!(Fingerprints::from_hex(&"zz".repeat(32)).is_err());
    }
}
