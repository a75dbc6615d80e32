//! Checks of the financial detectors (see `detectors/financial.toml`): magnetic-stripe track
//! data, bank and securities identifiers (ABA, SWIFT/BIC, ISIN, CUSIP, LEI), cryptocurrency
//! addresses and keys (base58check, bech32/bech32m, EIP-55) and BIP-39 seed phrases.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::algo::{alnum_values, bech32_polymod, iso_country, luhn, mod97_10, BECH32_CHARSET};
use super::Check;

/// This area's named checks.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        name: "card_number_unlisted",
        doc: "13-19 digits, consistently grouped, passing Luhn, outside every known card issuer \
              range (the low-confidence card pattern; listed issuers are `credit_card`'s)",
        run: card_number_unlisted,
    },
    Check {
        name: "card_track_data",
        doc: "magnetic-stripe track 1 (%B...^NAME^YYMM...) or track 2 (;PAN=YYMM...): Luhn on \
              the PAN, a real expiry month, a known service-code first digit",
        run: card_track_data,
    },
    Check {
        name: "aba_routing",
        doc: "US ABA routing number: 3-7-1 weighted checksum, Federal Reserve prefix 00-12, \
              21-32, 61-72 or 80",
        run: aba_routing,
    },
    Check {
        name: "swift_bic",
        doc: "SWIFT/BIC: 4 letters, an ISO 3166 country, 2 location characters, optional branch",
        run: swift_bic,
    },
    Check {
        name: "isin",
        doc: "ISIN: ISO country (or XS, EU), 9 characters, Luhn check digit over letters as \
              two digits",
        run: isin,
    },
    Check {
        name: "cusip",
        doc: "CUSIP: 8 characters and the mod-10 double-add-double check digit",
        run: cusip,
    },
    Check {
        name: "lei",
        doc: "Legal entity identifier: 18 characters with a letter, 2 check digits (ISO 7064 \
              MOD 97-10)",
        run: lei,
    },
    Check {
        name: "bitcoin_address",
        doc: "Bitcoin mainnet address: base58check P2PKH/P2SH, or bech32 (witness v0) / bech32m \
              (v1+) `bc1` with a valid witness program",
        run: bitcoin_address,
    },
    Check {
        name: "eip55",
        doc: "Ethereum address in mixed case whose case is its EIP-55 (Keccak-256) checksum",
        run: eip55,
    },
    Check {
        name: "ethereum_address_uncased",
        doc: "Ethereum address in one case (no EIP-55 checksum to check), not all zeros",
        run: ethereum_address_uncased,
    },
    Check {
        name: "crypto_private_key",
        doc: "Bitcoin WIF private key (base58check, version 0x80/0xEF, 32-byte key) or BIP32 \
              extended private key (xprv, tprv, yprv, zprv...: base58check, known version, \
              private-key marker)",
        run: crypto_private_key,
    },
    Check {
        name: "bip39_mnemonic",
        doc: "12, 15, 18, 21 or 24 words of the BIP-39 English list whose checksum bits match \
              SHA-256 of the entropy",
        run: bip39_mnemonic,
    },
];

// ---------------------------------------------------------------------------------------------
// Payment cards

/// Digits of a card number grouped by one kind of separator (or none), into `d`; the count.
fn card_digits(value: &[u8], d: &mut [u8; 19]) -> Option<usize> {
    let mut n = 0;
    let mut sep: Option<u8> = None;
    let mut seps = 0;
    for &b in value {
        if b.is_ascii_digit() {
            *d.get_mut(n)? = b - b'0';
            n += 1;
        } else {
            if sep.is_some_and(|s| s != b) {
                return None;
            }
            sep = Some(b);
            seps += 1;
        }
    }
    (seps <= 4).then_some(n)
}

fn card_number_unlisted(value: &[u8]) -> bool {
    let mut d = [0u8; 19];
    let Some(n) = card_digits(value, &mut d) else {
        return false;
    };
    let d = &d[..n];
    (13..=19).contains(&n)
        && luhn(d)
        && !crate::validate::issuer_accepts(d)
        && d.iter().any(|&x| x != d[0])
}

fn card_track_data(value: &[u8]) -> bool {
    // Track 1: [%]B PAN ^ NAME ^ YYMM SSS ...; track 2: ; PAN = YYMM SSS ...
    let (body, field_sep) = match value {
        [b'%', b'B', rest @ ..] | [b'B', rest @ ..] => (rest, b'^'),
        [b';', rest @ ..] => (rest, b'='),
        _ => return false,
    };
    let Some(pan_len) = body.iter().position(|&b| b == field_sep) else {
        return false;
    };
    let pan = &body[..pan_len];
    let mut d = [0u8; 19];
    if !(13..=19).contains(&pan.len()) || !pan.iter().all(u8::is_ascii_digit) {
        return false;
    }
    for (slot, &b) in d.iter_mut().zip(pan) {
        *slot = b - b'0';
    }
    let d = &d[..pan.len()];
    if !luhn(d) || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let mut rest = &body[pan_len + 1..];
    if field_sep == b'^' {
        // The name: 2 to 26 characters of letters, spaces, '/', '.', '-' and apostrophes.
        let Some(name_len) = rest.iter().position(|&b| b == b'^') else {
            return false;
        };
        let name = &rest[..name_len];
        if !(2..=26).contains(&name.len())
            || !name
                .iter()
                .all(|&b| b.is_ascii_alphabetic() || b" /.-'".contains(&b))
            || !name.iter().any(u8::is_ascii_alphabetic)
        {
            return false;
        }
        rest = &rest[name_len + 1..];
    }
    // Expiry YYMM and the service code, whose first digit says where the card is valid (ISO/IEC
    // 7813: 1, 2 international; 5, 6 national; 7 private).
    let [_, _, m1, m2, s, ..] = rest else {
        return false;
    };
    let month = m1.wrapping_sub(b'0') * 10 + m2.wrapping_sub(b'0');
    rest[..7].iter().all(u8::is_ascii_digit)
        && (1..=12).contains(&month)
        && matches!(s, b'1' | b'2' | b'5' | b'6' | b'7')
}

// ---------------------------------------------------------------------------------------------
// Bank and securities identifiers

fn aba_routing(value: &[u8]) -> bool {
    let Some(d) = fixed_digits::<9>(value) else {
        return false;
    };
    let prefix = d[0] * 10 + d[1];
    let fed = matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80);
    let sum: u32 = d
        .iter()
        .zip([3u32, 7, 1].iter().cycle())
        .map(|(&x, &w)| u32::from(x) * w)
        .sum();
    fed && sum % 10 == 0 && d.iter().any(|&x| x != 0)
}

/// Exactly `N` digits (separators skipped), or `None`.
fn fixed_digits<const N: usize>(value: &[u8]) -> Option<[u8; N]> {
    let mut d = [0u8; N];
    let mut n = 0;
    for &b in value {
        match b {
            b'0'..=b'9' => {
                *d.get_mut(n)? = b - b'0';
                n += 1;
            }
            b' ' | b'-' => {}
            _ => return None,
        }
    }
    (n == N).then_some(d)
}

fn swift_bic(value: &[u8]) -> bool {
    let upper_alnum = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    matches!(value.len(), 8 | 11)
        && value[..4].iter().all(u8::is_ascii_uppercase)
        && (iso_country(&value[4..6]) || &value[4..6] == b"XK")
        && value[6..].iter().all(upper_alnum)
}

fn isin(value: &[u8]) -> bool {
    if value.len() != 12
        || !value[..2].iter().all(u8::is_ascii_uppercase)
        || !value[2..11]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        || !value[11].is_ascii_digit()
    {
        return false;
    }
    let cc = &value[..2];
    if !(iso_country(cc) || matches!(cc, b"XS" | b"EU" | b"XA" | b"XB" | b"XC" | b"XD")) {
        return false;
    }
    // Letters become two digits (A = 10), then Luhn over the digit string.
    let mut d = [0u8; 24];
    let mut n = 0;
    for &b in value {
        if b.is_ascii_digit() {
            d[n] = b - b'0';
            n += 1;
        } else {
            let v = b - b'A' + 10;
            d[n] = v / 10;
            d[n + 1] = v % 10;
            n += 2;
        }
    }
    luhn(&d[..n])
}

fn cusip(value: &[u8]) -> bool {
    if value.len() != 9 || !value[8].is_ascii_digit() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &b) in value[..8].iter().enumerate() {
        let mut v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            b'*' => 36,
            b'@' => 37,
            b'#' => 38,
            _ => return false,
        };
        if i % 2 == 1 {
            v *= 2;
        }
        sum += v / 10 + v % 10;
    }
    // An issuer number is digits in its first three places for every US and Canadian issuer
    // (letters there are rare foreign ranges); it keeps words like `ABCDEFGH1` out.
    value[..3].iter().all(u8::is_ascii_digit) && u32::from(value[8] - b'0') == (10 - sum % 10) % 10
}

fn lei(value: &[u8]) -> bool {
    value.len() == 20
        && value
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && value[18..].iter().all(u8::is_ascii_digit)
        && value[..18].iter().any(u8::is_ascii_uppercase)
        && alnum_values(value).is_some_and(|v| mod97_10(&v))
}

// ---------------------------------------------------------------------------------------------
// Cryptocurrency

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// The value of a base58 character, or `None`.
fn base58_value(b: u8) -> Option<u32> {
    BASE58.iter().position(|&c| c == b).map(|i| i as u32)
}

/// Decodes base58 `s` into `out` (big-endian, leading '1's as zero bytes) and checks its last
/// four bytes are the double SHA-256 checksum of the rest; the payload's length.
fn base58check(s: &[u8], out: &mut [u8; 96]) -> Option<usize> {
    let zeros = s.iter().take_while(|&&b| b == b'1').count();
    // Big number in `out`, least significant byte last; `used` bytes at the end are in use.
    *out = [0u8; 96];
    let mut used = 0usize;
    for &b in &s[zeros..] {
        let mut carry = base58_value(b)?;
        let mut i = out.len();
        let mut k = 0;
        while (k < used || carry != 0) && i > 0 {
            i -= 1;
            carry += 58 * u32::from(out[i]);
            out[i] = (carry & 0xff) as u8;
            carry >>= 8;
            k += 1;
        }
        if carry != 0 {
            return None;
        }
        used = used.max(k);
    }
    let len = zeros + used;
    if len < 5 || len > out.len() {
        return None;
    }
    let size = out.len();
    out.copy_within(size - used.., 0);
    // The zeros that leading '1's stand for, in front (copy_within moved the number up front).
    out.copy_within(0..used, zeros);
    out[..zeros].iter_mut().for_each(|b| *b = 0);
    let (payload, check) = out[..len].split_at(len - 4);
    let hash = Sha256::digest(Sha256::digest(payload));
    (hash[..4] == *check).then_some(len - 4)
}

fn bitcoin_address(value: &[u8]) -> bool {
    if value.len() > 3 && value[..3].eq_ignore_ascii_case(b"bc1") {
        return segwit_address(value);
    }
    let mut buf = [0u8; 96];
    if !(26..=35).contains(&value.len()) {
        return false;
    }
    // Version 0x00 (P2PKH, '1...') or 0x05 (P2SH, '3...'), then a 20-byte hash.
    base58check(value, &mut buf) == Some(21) && matches!(buf[0], 0x00 | 0x05)
}

/// A `bc1` segwit address (BIP 173 / BIP 350): one case, bech32 for witness v0 with a 20- or
/// 32-byte program, bech32m for v1 to v16 with 2 to 40 bytes.
fn segwit_address(value: &[u8]) -> bool {
    let lower = value.iter().any(u8::is_ascii_lowercase);
    let upper = value.iter().any(u8::is_ascii_uppercase);
    if (lower && upper) || value.len() < 14 || value.len() > 90 {
        return false;
    }
    let mut data = [0u8; 90];
    let body = &value[3..];
    for (slot, &b) in data.iter_mut().zip(body) {
        let Some(v) = BECH32_CHARSET
            .iter()
            .position(|&c| c == b.to_ascii_lowercase())
        else {
            return false;
        };
        *slot = v as u8;
    }
    let data = &data[..body.len()];
    // The human-readable part "bc" expanded: high bits, 0, low bits.
    let hrp = [3u8, 3, 0, 2, 3];
    let residue = bech32_polymod(hrp.iter().copied().chain(data.iter().copied()));
    let Some((&version, rest)) = data.split_first() else {
        return false;
    };
    let want = if version == 0 { 1 } else { 0x2bc8_30a3 };
    if residue != want || version > 16 || rest.len() < 6 {
        return false;
    }
    // The program: 5-bit groups to bytes, padding of at most 4 zero bits.
    let groups = &rest[..rest.len() - 6];
    let bits = groups.len() * 5;
    let bytes = bits / 8;
    let pad = bits % 8;
    if pad > 4 {
        return false;
    }
    let last = groups.last().copied().unwrap_or(0);
    if pad > 0 && last & ((1 << pad) - 1) != 0 {
        return false;
    }
    match version {
        0 => bytes == 20 || bytes == 32,
        _ => (2..=40).contains(&bytes),
    }
}

fn eth_hex(value: &[u8]) -> Option<&[u8]> {
    let hex = value.strip_prefix(b"0x")?;
    (hex.len() == 40 && hex.iter().all(u8::is_ascii_hexdigit)).then_some(hex)
}

fn eip55(value: &[u8]) -> bool {
    let Some(hex) = eth_hex(value) else {
        return false;
    };
    let upper = hex.iter().any(u8::is_ascii_uppercase);
    let lower = hex.iter().any(u8::is_ascii_lowercase);
    if !(upper && lower) {
        return false;
    }
    let mut lowered = [0u8; 40];
    for (slot, &b) in lowered.iter_mut().zip(hex) {
        *slot = b.to_ascii_lowercase();
    }
    let hash = sha3::Keccak256::digest(lowered);
    hex.iter().enumerate().all(|(i, &b)| {
        let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0xf;
        !b.is_ascii_alphabetic() || b.is_ascii_uppercase() == (nibble >= 8)
    })
}

fn ethereum_address_uncased(value: &[u8]) -> bool {
    let Some(hex) = eth_hex(value) else {
        return false;
    };
    let upper = hex.iter().any(u8::is_ascii_uppercase);
    let lower = hex.iter().any(u8::is_ascii_lowercase);
    !(upper && lower) && hex.iter().any(|&b| b != b'0')
}

/// Version bytes of BIP32 extended private keys (xprv, tprv, yprv, zprv, Yprv, Zprv, uprv,
/// vprv).
const XPRV_VERSIONS: [[u8; 4]; 8] = [
    [0x04, 0x88, 0xAD, 0xE4],
    [0x04, 0x35, 0x83, 0x94],
    [0x04, 0x9D, 0x78, 0x78],
    [0x04, 0xB2, 0x43, 0x0C],
    [0x02, 0x95, 0xB0, 0x05],
    [0x02, 0xAA, 0x7A, 0x99],
    [0x04, 0x4A, 0x4E, 0x28],
    [0x04, 0x5F, 0x18, 0xBC],
];

fn crypto_private_key(value: &[u8]) -> bool {
    let mut buf = [0u8; 96];
    match value.len() {
        // WIF: 0x80 (mainnet) or 0xEF (testnet), a 32-byte key, 0x01 when compressed.
        51 | 52 => match base58check(value, &mut buf) {
            Some(33) => matches!(buf[0], 0x80 | 0xEF) && buf[1..33].iter().any(|&b| b != 0),
            Some(34) => {
                matches!(buf[0], 0x80 | 0xEF)
                    && buf[33] == 0x01
                    && buf[1..33].iter().any(|&b| b != 0)
            }
            _ => false,
        },
        // BIP32: version, depth, parent fingerprint, child number, chain code, 0x00 + key.
        111 | 112 => {
            base58check(value, &mut buf) == Some(78)
                && XPRV_VERSIONS.iter().any(|v| buf[..4] == *v)
                && buf[45] == 0
        }
        _ => false,
    }
}

/// The BIP-39 English word list, from the `mnemonic` package (the Python reference
/// implementation of BIP-39 by Trezor/SatoshiLabs, MIT licence), file `wordlist/english.txt`:
/// identical to `bip-0039/english.txt` of the BIPs repository (SHA-256
/// 2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda). 2048 words, sorted.
const BIP39_ENGLISH: &str = include_str!("bip39_english.txt");

fn bip39_words() -> &'static [&'static str] {
    static WORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| BIP39_ENGLISH.split_ascii_whitespace().collect())
}

fn bip39_mnemonic(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let words = bip39_words();
    if words.len() != 2048 {
        return false;
    }
    // The words' 11-bit indexes, concatenated: entropy then checksum.
    let mut bits = [0u8; 33];
    let mut n = 0usize;
    for word in text.split_ascii_whitespace() {
        if n == 24 {
            return false;
        }
        let Ok(index) = words.binary_search(&word) else {
            return false;
        };
        for k in 0..11 {
            if (index >> (10 - k)) & 1 == 1 {
                let bit = n * 11 + k;
                bits[bit / 8] |= 0x80 >> (bit % 8);
            }
        }
        n += 1;
    }
    if !matches!(n, 12 | 15 | 18 | 21 | 24) {
        return false;
    }
    let entropy_bits = n * 11 * 32 / 33;
    let checksum_bits = entropy_bits / 32;
    let entropy = &bits[..entropy_bits / 8];
    let hash = Sha256::digest(entropy);
    (0..checksum_bits).all(|k| {
        let bit = entropy_bits + k;
        let have = bits[bit / 8] & (0x80 >> (bit % 8)) != 0;
        let want = hash[k / 8] & (0x80 >> (k % 8)) != 0;
        have == want
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{assert_cases, Case};

    #[test]
    fn published_examples() {
        let cases: &[Case] = &[
            // Track data: the test card 4111... with expiry 2512, service code 101.
            (card_track_data, "%B4111111111111111^DOE/JANE^2512101000000000000?", true),
            (card_track_data, ";4111111111111111=25121010000000000?", true),
            (card_track_data, ";4111111111111112=25121010000000000?", false),
            (card_track_data, ";4111111111111111=25131010000000000?", false),
            (card_track_data, "%B4111111111111111^DOE/JANE^2512301?", false),
            // ABA: a Federal Reserve Bank routing number, and near misses.
            (aba_routing, "011000015", true),
            (aba_routing, "011000016", false),
            (aba_routing, "991000015", false),
            (swift_bic, "DEUTDEFF", true),
            (swift_bic, "DEUTDEFF500", true),
            (swift_bic, "DEUTXXFF", false),
            // ISIN: Apple and a near miss.
            (isin, "US0378331005", true),
            (isin, "US0378331006", false),
            (isin, "AU0000XVGZA3", true),
            (cusip, "037833100", true),
            (cusip, "38259P508", true),
            (cusip, "037833101", false),
            (lei, "5493001KJTIIGC8Y1R12", true),
            (lei, "5493001KJTIIGC8Y1R13", false),
            // Bitcoin: the genesis block address, the BIP 16 example, BIP 173 and BIP 350 vectors.
            (bitcoin_address, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", true),
            (bitcoin_address, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", false),
            (bitcoin_address, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", true),
            (bitcoin_address, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", true),
            (bitcoin_address, "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", true),
            (bitcoin_address, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp", false),
            (bitcoin_address, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5md", false),
            (
                bitcoin_address,
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
                true,
            ),
            (bitcoin_address, "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDq", false),
            // EIP-55 test vectors.
            (eip55, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", true),
            (eip55, "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", true),
            (eip55, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", false),
            (eip55, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", false),
            (ethereum_address_uncased, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", true),
            (ethereum_address_uncased, "0x0000000000000000000000000000000000000000", false),
            // WIF: the Bitcoin wiki's example key, uncompressed and compressed; BIP32 vector 1.
            (crypto_private_key, "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ", true),
            (crypto_private_key, "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTK", false),
            (crypto_private_key, "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617", true),
            (
                crypto_private_key,
                "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
                true,
            ),
            (
                crypto_private_key,
                "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
                false,
            ),
            // BIP-39 test vectors (Trezor's vectors.json) and near misses.
            (
                bip39_mnemonic,
                "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
                true,
            ),
            (
                bip39_mnemonic,
                "legal winner thank year wave sausage worth useful legal winner thank yellow",
                true,
            ),
            (
                bip39_mnemonic,
                "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon",
                false,
            ),
            (
                bip39_mnemonic,
                "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote",
                true,
            ),
            (
                bip39_mnemonic,
                "letter advice cage absurd amount doctor acoustic avoid letter advice cage",
                false,
            ),
        ];
        assert_cases(cases);
    }

    #[test]
    fn bip39_list_is_whole_and_sorted() {
        let words = bip39_words();
        assert_eq!(words.len(), 2048);
        assert!(words.windows(2).all(|w| w[0] < w[1]));
        assert_eq!((words[0], words[2047]), ("abandon", "zoo"));
    }
}
