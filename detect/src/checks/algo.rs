//! The arithmetic that identifier checks share: Luhn, Verhoeff, the ISO 7064 systems, weighted
//! sums, ICAO 9303 check digits and calendar dates. Each function takes values already mapped
//! (digits 0-9, letters 10-35 where the scheme says so) and never panics.

use super::Check;

/// Generic checks any rule can name.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        name: "verhoeff",
        doc: "Verhoeff check digit over the digits",
        run: |v| digits(v).is_some_and(|d| d.len() > 1 && verhoeff(&d)),
    },
    Check {
        name: "iso7064_mod97_10",
        doc: "ISO 7064 MOD 97-10 over digits and letters (as IBAN and LEI use it)",
        run: |v| alnum_values(v).is_some_and(|a| a.len() > 2 && mod97_10(&a)),
    },
    Check {
        name: "iso7064_mod11_10",
        doc: "ISO 7064 MOD 11,10 over the digits",
        run: |v| digits(v).is_some_and(|d| d.len() > 1 && mod11_10(&d)),
    },
    Check {
        name: "iso7064_mod11_2",
        doc: "ISO 7064 MOD 11-2 over the digits, X standing for 10 in the last place",
        run: |v| mod11_2_values(v).is_some_and(|d| d.len() > 1 && mod11_2(&d)),
    },
    Check {
        name: "iso7064_mod37_36",
        doc: "ISO 7064 MOD 37,36 over digits and letters",
        run: |v| alnum_values(v).is_some_and(|a| a.len() > 1 && mod37_36(&a)),
    },
];

/// The digits of `value` as numbers 0-9, skipping spaces, dashes, dots and slashes; `None` if
/// anything else is there.
pub(crate) fn digits(value: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        match b {
            b'0'..=b'9' => out.push(b - b'0'),
            b' ' | b'-' | b'.' | b'/' => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Digits and ASCII letters of `value` as 0-9 and 10-35 (either case), skipping separators.
pub(crate) fn alnum_values(value: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        match b {
            b'0'..=b'9' => out.push(b - b'0'),
            b'A'..=b'Z' => out.push(b - b'A' + 10),
            b'a'..=b'z' => out.push(b - b'a' + 10),
            b' ' | b'-' | b'.' | b'/' => {}
            _ => return None,
        }
    }
    Some(out)
}

fn mod11_2_values(value: &[u8]) -> Option<Vec<u8>> {
    let mut out = digits_or_x(value)?;
    // X only as the check character.
    if out[..out.len().saturating_sub(1)].contains(&10) {
        out.clear();
    }
    Some(out)
}

fn digits_or_x(value: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        match b {
            b'0'..=b'9' => out.push(b - b'0'),
            b'X' | b'x' => out.push(10),
            b' ' | b'-' | b'.' | b'/' => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Bytes of standard or URL-safe base64, whitespace skipped; `None` on any other byte. Stops at
/// the first `=`.
pub(crate) fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The Luhn check over digits (the last one is the check digit); false for none. It runs on
/// every card-shaped number, so each doubled digit's contribution comes from a table.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    const DOUBLED: [u32; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let d = usize::from(d.min(9));
        sum += if i % 2 == 1 { DOUBLED[d] } else { d as u32 };
    }
    !digits.is_empty() && sum % 10 == 0
}

const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// The Verhoeff check over digits (the last one is the check digit).
pub(crate) fn verhoeff(digits: &[u8]) -> bool {
    let mut c = 0usize;
    for (i, &d) in digits.iter().rev().enumerate() {
        if d > 9 {
            return false;
        }
        c = usize::from(VERHOEFF_D[c][usize::from(VERHOEFF_P[i % 8][usize::from(d)])]);
    }
    !digits.is_empty() && c == 0
}

/// ISO 7064 MOD 97-10 over values 0-35 (letters count as two digits): the number mod 97 is 1.
pub(crate) fn mod97_10(values: &[u8]) -> bool {
    let mut r = 0u32;
    for &v in values {
        let v = u32::from(v);
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    !values.is_empty() && r == 1
}

/// ISO 7064 MOD 11,10 (hybrid) over digits, the last one the check digit.
pub(crate) fn mod11_10(digits: &[u8]) -> bool {
    hybrid(digits, 10)
}

/// An ISO 7064 hybrid system MOD M+1,M over values 0..M, the last one the check character.
fn hybrid(values: &[u8], m: u32) -> bool {
    let Some((&check, body)) = values.split_last() else {
        return false;
    };
    let mut p = m;
    for &v in body {
        if u32::from(v) >= m {
            return false;
        }
        let mut s = (p + u32::from(v)) % m;
        if s == 0 {
            s = m;
        }
        p = (2 * s) % (m + 1);
    }
    u32::from(check) < m && (p + u32::from(check)) % m == 1
}

/// ISO 7064 MOD 11-2 (pure) over values 0-10 (10 for X), the last one the check character.
pub(crate) fn mod11_2(values: &[u8]) -> bool {
    let mut sum = 0u32;
    for &v in values {
        if v > 10 {
            return false;
        }
        sum = (sum * 2 + u32::from(v)) % 11;
    }
    !values.is_empty() && sum == 1
}

/// ISO 7064 MOD 37,36 (hybrid) over values 0-35, the last one the check character.
pub(crate) fn mod37_36(values: &[u8]) -> bool {
    hybrid(values, 36)
}

/// The ICAO 9303 check digit (weights 7, 3, 1) of MRZ characters: digits, `A`-`Z` as 10-35, `<`
/// as 0; `None` for any other byte.
pub(crate) fn icao_check(chars: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (i, &b) in chars.iter().enumerate() {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            b'<' => 0,
            _ => return None,
        };
        sum += v * [7, 3, 1][i % 3];
    }
    Some((sum % 10) as u8)
}

/// Whether `year-month-day` is a real calendar date (Gregorian).
pub(crate) fn valid_date(year: u32, month: u32, day: u32) -> bool {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// The ISO 3166-1 alpha-2 country codes (all 249, from the ISO 3166 maintenance agency's list as
/// Debian's iso-codes ships it), two capitals each, sorted.
const ISO_COUNTRIES: &[u8] = b"ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ\
CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGP\
GQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMA\
MCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQA\
RERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVC\
VEVGVIVNVUWFWSYEYTZAZMZW";

/// Whether `code` is an ISO 3166-1 alpha-2 country code (two capitals).
pub(crate) fn iso_country(code: &[u8]) -> bool {
    code.len() == 2 && ISO_COUNTRIES.chunks_exact(2).any(|c| c == code)
}

/// The 32 characters of bech32 data (BIP 173), in the order of their 5-bit values.
pub(crate) const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// The bech32 checksum's polynomial remainder (BIP 173) over 5-bit values: 1 for a valid
/// bech32 string, 0x2bc830a3 for bech32m (BIP 350).
pub(crate) fn bech32_polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk = 1u32;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(s: &str) -> Vec<u8> {
        digits(s.as_bytes()).unwrap()
    }

    #[test]
    fn published_examples() {
        // Luhn: a test card number; Verhoeff: the worked example 236 → check digit 3.
        assert!(luhn(&ds("4111 1111 1111 1111")));
        assert!(!luhn(&ds("4111 1111 1111 1112")));
        assert!(verhoeff(&ds("2363")));
        assert!(!verhoeff(&ds("2364")));
        // MOD 97-10: an IBAN rearranged (DE89 3704 0044 0532 0130 00) and a LEI.
        assert!(mod97_10(&alnum_values(b"370400440532013000DE89").unwrap()));
        assert!(mod97_10(&alnum_values(b"5493001KJTIIGC8Y1R12").unwrap()));
        // MOD 11,10: the German tax id example 36 574 261 809.
        assert!(mod11_10(&ds("36574261809")));
        assert!(!mod11_10(&ds("36574261808")));
        // MOD 11-2: the ISO 7064 example 0794 → check 0 (07940), and ISNI 0000000121032683.
        assert!(mod11_2(&ds("07940")));
        assert!(mod11_2(&digits_or_x(b"0000000121032683").unwrap()));
        assert!(!mod11_2(&ds("07941")));
        // MOD 37,36: ISO 7064 example A12425GABC1234002M.
        assert!(mod37_36(&alnum_values(b"A12425GABC1234002M").unwrap()));
        assert!(!mod37_36(&alnum_values(b"A12425GABC1234002N").unwrap()));
        // ICAO 9303 specimen passport number L898902C3, check digit 6.
        assert_eq!(icao_check(b"L898902C3"), Some(6));
        assert_eq!(icao_check(b"740812"), Some(2));
        assert!(valid_date(2024, 2, 29));
        assert!(!valid_date(2023, 2, 29));
        assert!(!valid_date(2023, 13, 1));
        assert!(valid_date(2000, 2, 29));
        assert!(!valid_date(1900, 2, 29));
        assert!(iso_country(b"DE") && iso_country(b"ZW") && iso_country(b"AD"));
        assert!(!iso_country(b"UK") && !iso_country(b"XX") && !iso_country(b"D"));
        assert_eq!(ISO_COUNTRIES.len(), 2 * 249);
    }
}
