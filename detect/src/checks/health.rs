//! Checks of the health detectors (see `detectors/health.toml`): provider and patient
//! identifiers (US NPI, DEA, MBI; UK NHS; AU Medicare; NZ NHI; DE Krankenversichertennummer) and
//! code systems (ICD-10, NDC).

use super::algo::{digits, luhn};
use super::Check;

/// This area's named checks.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        name: "us_npi",
        doc: "US national provider identifier: 10 digits starting 1 or 2, Luhn over 80840 and \
              the digits",
        run: us_npi,
    },
    Check {
        name: "us_dea",
        doc: "US DEA registration number: registrant-type letter, a letter, 7 digits; (d1 + d3 + \
              d5) + 2 (d2 + d4 + d6) ends in d7",
        run: us_dea,
    },
    Check {
        name: "us_mbi",
        doc: "US Medicare beneficiary identifier: 11 characters in the CMS position classes \
              (no S, L, O, I, B, Z), dashes 4-3-4 allowed",
        run: us_mbi,
    },
    Check {
        name: "uk_nhs_number",
        doc: "NHS number: 10 digits, mod 11 with weights 10 to 2 (a check of 10 is never issued)",
        run: uk_nhs_number,
    },
    Check {
        name: "au_medicare",
        doc: "Australian Medicare card number: first digit 2-6, weights 1,3,7,9 mod 10 in the \
              9th digit, issue number 1-9 (10 or 11 digits)",
        run: au_medicare,
    },
    Check {
        name: "nz_nhi",
        doc: "New Zealand NHI: AAANNNN with a mod 11 check digit, or AAANNAA with a mod 23 check \
              letter (letters without I and O)",
        run: nz_nhi,
    },
    Check {
        name: "de_health_insurance_number",
        doc: "Krankenversichertennummer: a letter (as 01-26) and 8 digits, weights 1,2 with digit \
              sums, mod 10 check digit",
        run: de_health_insurance_number,
    },
    Check {
        name: "icd10_code",
        doc: "ICD-10 code shape: a chapter letter (not U), two characters, optional subcode",
        run: icd10_code,
    },
    Check {
        name: "ndc_code",
        doc: "US national drug code: 4-4-2, 5-3-2, 5-4-1 or 5-4-2 digit groups, not all zero",
        run: ndc_code,
    },
];

fn us_npi(value: &[u8]) -> bool {
    let Some(d) = digits(value) else {
        return false;
    };
    if d.len() != 10 || !matches!(d[0], 1 | 2) {
        return false;
    }
    // The ISO prefix 80840 of US health identifiers, then the ten digits.
    let mut all = [8u8, 0, 8, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    all[5..].copy_from_slice(&d);
    luhn(&all)
}

fn us_dea(value: &[u8]) -> bool {
    let [kind, second, rest @ ..] = value else {
        return false;
    };
    // Registrant types of the DEA (practitioners A, B, F, G; mid-levels M; distributors and
    // others), then the registrant's initial or 9 for a business.
    if !b"ABCDEFGHJKLMPRSTUX".contains(kind)
        || !(second.is_ascii_uppercase() || *second == b'9')
        || rest.len() != 7
        || !rest.iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let d = |i: usize| u32::from(rest[i] - b'0');
    let sum = d(0) + d(2) + d(4) + 2 * (d(1) + d(3) + d(5));
    sum % 10 == d(6)
}

fn us_mbi(value: &[u8]) -> bool {
    // Position classes: C (1-9), A (letters but S, L, O, I, B, Z), N (digit), AN (A or N).
    const CLASSES: &[u8; 11] = b"CAPNAPNAANN";
    let alpha = |b: u8| b.is_ascii_uppercase() && !b"SLOIBZ".contains(&b);
    let mut k = 0;
    for (i, &b) in value.iter().enumerate() {
        if b == b'-' {
            // Only as 4-3-4 groups.
            if !(i == 4 || i == 8) {
                return false;
            }
            continue;
        }
        let Some(&class) = CLASSES.get(k) else {
            return false;
        };
        let ok = match class {
            b'C' => (b'1'..=b'9').contains(&b),
            b'A' => alpha(b),
            b'N' => b.is_ascii_digit(),
            _ => alpha(b) || b.is_ascii_digit(),
        };
        if !ok {
            return false;
        }
        k += 1;
    }
    k == 11
}

fn uk_nhs_number(value: &[u8]) -> bool {
    let Some(d) = digits(value) else {
        return false;
    };
    if d.len() != 10 || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(&x, w)| u32::from(x) * w)
        .sum();
    match 11 - sum % 11 {
        11 => d[9] == 0,
        10 => false,
        c => u32::from(d[9]) == c,
    }
}

fn au_medicare(value: &[u8]) -> bool {
    let Some(d) = digits(value) else {
        return false;
    };
    if !matches!(d.len(), 10 | 11) || !(2..=6).contains(&d[0]) || d[9] == 0 {
        return false;
    }
    let sum: u32 = d[..8]
        .iter()
        .zip([1u32, 3, 7, 9].iter().cycle())
        .map(|(&x, &w)| u32::from(x) * w)
        .sum();
    sum % 10 == u32::from(d[8])
}

/// NHI letters as numbers: A = 1 ... Z = 24, without I and O.
fn nhi_letter(b: u8) -> Option<u32> {
    const LETTERS: &[u8; 24] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    LETTERS.iter().position(|&c| c == b).map(|i| i as u32 + 1)
}

fn nz_nhi(value: &[u8]) -> bool {
    let [a, b, c, d1, d2, x, check] = value else {
        return false;
    };
    let (Some(a), Some(b), Some(c)) = (nhi_letter(*a), nhi_letter(*b), nhi_letter(*c)) else {
        return false;
    };
    if !d1.is_ascii_digit() || !d2.is_ascii_digit() {
        return false;
    }
    let head = 7 * a + 6 * b + 5 * c + 4 * u32::from(d1 - b'0') + 3 * u32::from(d2 - b'0');
    if x.is_ascii_digit() && check.is_ascii_digit() {
        // The original format: a check digit, mod 11 (a remainder of 0 is never issued).
        let r = (head + 2 * u32::from(x - b'0')) % 11;
        return r != 0 && (11 - r) % 10 == u32::from(check - b'0');
    }
    // The 2022 format: a letter in the sixth place and a check letter, mod 23.
    let (Some(x), Some(check)) = (nhi_letter(*x), nhi_letter(*check)) else {
        return false;
    };
    23 - (head + 2 * x) % 23 == check
}

fn de_health_insurance_number(value: &[u8]) -> bool {
    let [letter, rest @ ..] = value else {
        return false;
    };
    if !letter.is_ascii_uppercase() || rest.len() != 9 || !rest.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = letter - b'A' + 1;
    let mut d = [0u8; 10];
    d[0] = n / 10;
    d[1] = n % 10;
    for (slot, &b) in d[2..].iter_mut().zip(&rest[..8]) {
        *slot = b - b'0';
    }
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let p = u32::from(x) * if i % 2 == 0 { 1 } else { 2 };
            p / 10 + p % 10
        })
        .sum();
    sum % 10 == u32::from(rest[8] - b'0')
}

fn icd10_code(value: &[u8]) -> bool {
    let (code, sub) = match value.iter().position(|&b| b == b'.') {
        Some(dot) => (&value[..dot], Some(&value[dot + 1..])),
        None => (value, None),
    };
    let [letter, d1, x] = code else {
        return false;
    };
    // U is reserved for special purposes (WHO) and provisional codes: not a diagnosis shape.
    letter.is_ascii_uppercase()
        && *letter != b'U'
        && d1.is_ascii_digit()
        && (x.is_ascii_digit() || *x == b'A' || *x == b'B')
        && sub.is_none_or(|s| {
            (1..=4).contains(&s.len())
                && s.iter()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        })
}

fn ndc_code(value: &[u8]) -> bool {
    let mut groups = [0usize; 3];
    let mut k = 0;
    for &b in value {
        match b {
            b'0'..=b'9' => {
                let Some(g) = groups.get_mut(k) else {
                    return false;
                };
                *g += 1;
            }
            b'-' => k += 1,
            _ => return false,
        }
    }
    k == 2
        && matches!(groups, [4, 4, 2] | [5, 3, 2] | [5, 4, 1] | [5, 4, 2])
        && value.iter().any(|&b| (b'1'..=b'9').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{assert_cases, Case};

    #[test]
    fn published_examples() {
        let cases: &[Case] = &[
            // NPI: the CMS check-digit example.
            (us_npi, "1234567893", true),
            (us_npi, "1234567894", false),
            (us_npi, "3234567893", false),
            (us_dea, "AB1234563", true),
            (us_dea, "AB1234564", false),
            (us_dea, "ZB1234563", false),
            // MBI: the CMS format example.
            (us_mbi, "1EG4-TE5-MK73", true),
            (us_mbi, "1EG4TE5MK73", true),
            (us_mbi, "1SG4TE5MK73", false),
            (us_mbi, "0EG4TE5MK73", false),
            (uk_nhs_number, "943 476 5919", true),
            (uk_nhs_number, "9434765918", false),
            (au_medicare, "2123456701", true),
            (au_medicare, "2123456711", false),
            (au_medicare, "7123456701", false),
            // NHI: old and new formats from the Ministry's validation routine.
            (nz_nhi, "WLD9413", true),
            (nz_nhi, "ZAC5361", true),
            (nz_nhi, "ZBN77VL", true),
            (nz_nhi, "ZSC21TN", true),
            (nz_nhi, "ZZZ0044", false),
            (nz_nhi, "ZZZ00AA", false),
            (de_health_insurance_number, "A123456780", true),
            (de_health_insurance_number, "A123456781", false),
            (icd10_code, "E11.9", true),
            (icd10_code, "J45.909", true),
            (icd10_code, "U07.1", false),
            (icd10_code, "E1.9", false),
            (ndc_code, "0002-3227-30", true),
            (ndc_code, "50090-2875-1", true),
            (ndc_code, "0000-0000-00", false),
            (ndc_code, "000-3227-30", false),
        ];
        assert_cases(cases);
    }
}
