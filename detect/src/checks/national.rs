//! Checks of the national detectors (see `detectors/national.toml`): the check digits, letter
//! tables, date and structure rules of national and tax identifiers, and the VAT number rules of
//! each member state (and GB). Each check takes the matched bytes with whatever separators the
//! pattern allows, compacts them on the stack (no allocation) and never panics.

use super::algo::{luhn, mod11_10, mod11_2, valid_date, verhoeff};
use super::Check;

/// This area's named checks.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        name: "us_itin",
        doc: "US ITIN: 9xx, group 50-65, 70-88, 90-92 or 94-99",
        run: us_itin,
    },
    Check {
        name: "us_ein",
        doc: "US EIN: 9 digits with an IRS campus prefix",
        run: us_ein,
    },
    Check {
        name: "us_passport",
        doc: "US passport number: 9 digits (or a letter and 8), not one repeated digit",
        run: us_passport,
    },
    Check {
        name: "us_drivers_license",
        doc: "US driver's licence number: 7-13 letters and digits, digits not all one",
        run: us_drivers_license,
    },
    Check {
        name: "uk_nino",
        doc: "UK national insurance number: allowed prefix letters, 6 digits, suffix A-D",
        run: uk_nino,
    },
    Check {
        name: "uk_utr",
        doc: "UK unique taxpayer reference: 10 digits, mod 11 check digit first",
        run: uk_utr,
    },
    Check {
        name: "uk_passport",
        doc: "UK passport number: 9 digits, not one repeated digit",
        run: uk_passport,
    },
    Check {
        name: "uk_driving_licence",
        doc: "UK driving licence number: surname, birth date (month + 50 for women), initials",
        run: uk_driving_licence,
    },
    Check {
        name: "ca_sin",
        doc: "Canadian SIN: 9 digits, Luhn, first digit not 0 or 8",
        run: ca_sin,
    },
    Check {
        name: "ca_business_number",
        doc: "Canadian business number: 9 digits Luhn, optionally a program account (RT0001)",
        run: ca_business_number,
    },
    Check {
        name: "au_tfn",
        doc: "Australian TFN: 8 or 9 digits, weighted mod 11",
        run: au_tfn,
    },
    Check {
        name: "au_abn",
        doc: "Australian ABN: 11 digits, mod 89",
        run: au_abn,
    },
    Check {
        name: "au_acn",
        doc: "Australian ACN: 9 digits, weighted mod 10",
        run: au_acn,
    },
    Check {
        name: "nz_ird",
        doc: "New Zealand IRD number: 8 or 9 digits in range, mod 11 with two weight sets",
        run: nz_ird,
    },
    Check {
        name: "in_aadhaar",
        doc: "Aadhaar: 12 digits, first 2-9, Verhoeff, not a palindrome",
        run: in_aadhaar,
    },
    Check {
        name: "in_pan",
        doc: "Indian PAN: 5 letters (4th the holder type), 4 digits not 0000, a letter",
        run: in_pan,
    },
    Check {
        name: "in_gstin",
        doc: "Indian GSTIN: state code, PAN, entity, mod 36 check character",
        run: in_gstin,
    },
    Check {
        name: "es_dni",
        doc: "Spanish DNI: 8 digits and the mod 23 letter",
        run: es_dni,
    },
    Check {
        name: "es_nie",
        doc: "Spanish NIE: X, Y or Z, 7 digits and the mod 23 letter",
        run: es_nie,
    },
    Check {
        name: "fr_nir",
        doc: "French NIR: sex, year, month, department (2A/2B), key 97 - n mod 97",
        run: fr_nir,
    },
    Check {
        name: "fr_nif",
        doc: "French tax number (SPI): 13 digits, first 0-3, last three n mod 511",
        run: fr_nif,
    },
    Check {
        name: "fr_siren",
        doc: "French SIREN: 9 digits, Luhn",
        run: fr_siren,
    },
    Check {
        name: "fr_siret",
        doc: "French SIRET: 14 digits, Luhn (La Poste: digit sum mod 5)",
        run: fr_siret,
    },
    Check {
        name: "de_tax_id",
        doc: "German Steuer-IdNr: 11 digits, ISO 7064 mod 11,10, one digit repeated",
        run: de_tax_id,
    },
    Check {
        name: "de_pension_insurance_number",
        doc: "German pension insurance number: area, birth date, initial, serial, check digit",
        run: de_pension_insurance_number,
    },
    Check {
        name: "de_id_card",
        doc: "German identity card number: 9 characters and an ICAO 7-3-1 check digit",
        run: de_id_card,
    },
    Check {
        name: "de_passport",
        doc: "German passport number: C and 8 characters, ICAO 7-3-1 check digit",
        run: de_passport,
    },
    Check {
        name: "it_fiscal_code",
        doc: "Italian codice fiscale: structure, birth date (omocodia letters), check letter",
        run: it_fiscal_code,
    },
    Check {
        name: "nl_bsn",
        doc: "Dutch BSN: 8 or 9 digits, 11-proef",
        run: nl_bsn,
    },
    Check {
        name: "be_national_number",
        doc: "Belgian national number: birth date, serial, 97 - mod 97 (2000+ variant)",
        run: be_national_number,
    },
    Check {
        name: "pl_pesel",
        doc: "Polish PESEL: birth date with century in the month, weights 1,3,7,9",
        run: pl_pesel,
    },
    Check {
        name: "pl_nip",
        doc: "Polish NIP: 10 digits, weighted mod 11",
        run: pl_nip,
    },
    Check {
        name: "se_personnummer",
        doc: "Swedish personnummer: birth date (or coordination number), Luhn",
        run: se_personnummer,
    },
    Check {
        name: "no_fodselsnummer",
        doc: "Norwegian fødselsnummer: birth date (D and H numbers), two mod 11 digits",
        run: no_fodselsnummer,
    },
    Check {
        name: "dk_cpr",
        doc: "Danish CPR number: birth date with the century from the serial",
        run: dk_cpr,
    },
    Check {
        name: "fi_hetu",
        doc: "Finnish henkilötunnus: birth date, century sign, mod 31 check character",
        run: fi_hetu,
    },
    Check {
        name: "pt_nif",
        doc: "Portuguese NIF: 9 digits, weighted mod 11",
        run: pt_nif,
    },
    Check {
        name: "ie_ppsn",
        doc: "Irish PPS number: 7 digits, mod 23 check letter, optional second letter",
        run: ie_ppsn,
    },
    Check {
        name: "at_svnr",
        doc: "Austrian social insurance number: serial, weighted mod 11 check, birth date",
        run: at_svnr,
    },
    Check {
        name: "ch_ahv",
        doc: "Swiss AHV/AVS number: 756 and 10 digits, EAN-13 check digit",
        run: ch_ahv,
    },
    Check {
        name: "cz_birth_number",
        doc: "Czech/Slovak rodné číslo: birth date (month + 50/20/70), mod 11",
        run: cz_birth_number,
    },
    Check {
        name: "ro_cnp",
        doc: "Romanian CNP: sex and century, birth date, county, weights 279146358279",
        run: ro_cnp,
    },
    Check {
        name: "hr_oib",
        doc: "Croatian OIB: 11 digits, ISO 7064 mod 11,10",
        run: hr_oib,
    },
    Check {
        name: "gr_amka",
        doc: "Greek AMKA: birth date, Luhn",
        run: gr_amka,
    },
    Check {
        name: "eu_vat_number",
        doc: "EU (and GB) VAT number with its country prefix, checked by that country's rules",
        run: eu_vat,
    },
    Check {
        name: "br_cpf",
        doc: "Brazilian CPF: two mod 11 digits, not one repeated digit",
        run: br_cpf,
    },
    Check {
        name: "br_cnpj",
        doc: "Brazilian CNPJ: two mod 11 digits",
        run: br_cnpj,
    },
    Check {
        name: "mx_curp",
        doc: "Mexican CURP: structure, birth date, sex, state, check digit",
        run: mx_curp,
    },
    Check {
        name: "mx_rfc",
        doc: "Mexican RFC: letters, date, homoclave and its check character",
        run: mx_rfc,
    },
    Check {
        name: "ar_cuit",
        doc: "Argentine CUIT/CUIL: 11 digits, mod 11",
        run: ar_cuit,
    },
    Check {
        name: "cl_rut",
        doc: "Chilean RUT/RUN: mod 11 check digit (K for 10)",
        run: cl_rut,
    },
    Check {
        name: "kr_rrn",
        doc: "Korean resident registration number: birth date, century/sex digit, mod 11",
        run: kr_rrn,
    },
    Check {
        name: "jp_my_number",
        doc: "Japanese individual number: 12 digits, mod 11",
        run: jp_my_number,
    },
    Check {
        name: "cn_resident_id",
        doc: "Chinese resident identity number: area, birth date, ISO 7064 mod 11-2 (X)",
        run: cn_resident_id,
    },
    Check {
        name: "hk_hkid",
        doc: "Hong Kong identity card number: 1-2 letters, 6 digits, mod 11 check (A for 10)",
        run: hk_hkid,
    },
    Check {
        name: "tw_national_id",
        doc: "Taiwanese national id: letter as two digits, sex digit, weighted mod 10",
        run: tw_national_id,
    },
    Check {
        name: "sg_nric",
        doc: "Singapore NRIC/FIN: S, T, F, G or M, 7 digits, weights 2765432 and letter tables",
        run: sg_nric,
    },
    Check {
        name: "my_mykad",
        doc: "Malaysian MyKad: birth date and place-of-birth code",
        run: my_mykad,
    },
    Check {
        name: "th_national_id",
        doc: "Thai national id: 13 digits, mod 11",
        run: th_national_id,
    },
    Check {
        name: "il_id",
        doc: "Israeli Teudat Zehut: 9 digits (zero-padded), Luhn",
        run: il_id,
    },
    Check {
        name: "tr_tckn",
        doc: "Turkish T.C. Kimlik No: 11 digits, first not 0, two check digits",
        run: tr_tckn,
    },
    Check {
        name: "za_id",
        doc: "South African ID: birth date, citizenship digit, Luhn",
        run: za_id,
    },
    Check {
        name: "ae_emirates_id",
        doc: "Emirates ID: 784, birth year, serial, Luhn",
        run: ae_emirates_id,
    },
];

// ---------------------------------------------------------------------------------------------
// Shared helpers.

/// Longer than any identifier here, compacted.
const MAX_LEN: usize = 24;

/// A value without its separators, letters in capitals, on the stack.
struct Compact {
    buf: [u8; MAX_LEN],
    len: usize,
}

impl Compact {
    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// `value` without spaces, dashes, dots, slashes and parentheses, letters upper-cased (`+` and `*`
/// kept: old Irish VAT numbers hold them); `None` if another byte is there or it is longer than
/// any identifier.
fn compact(value: &[u8]) -> Option<Compact> {
    let mut c = Compact {
        buf: [0; MAX_LEN],
        len: 0,
    };
    for &b in value {
        match b {
            b' ' | b'-' | b'.' | b'/' | b'(' | b')' => {}
            b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b'+' | b'*' => {
                *c.buf.get_mut(c.len)? = b.to_ascii_uppercase();
                c.len += 1;
            }
            _ => return None,
        }
    }
    Some(c)
}

/// Exactly `N` digits (separators skipped), as values 0-9.
fn digits<const N: usize>(value: &[u8]) -> Option<[u8; N]> {
    let c = compact(value)?;
    to_digits(c.bytes())
}

/// The digit values of `s`, which must be exactly `N` ASCII digits.
fn to_digits<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    left_padded::<N>(s, N)
}

/// The digit values of `s`, `min` to `N` ASCII digits, with zeros before them up to `N`.
fn left_padded<const N: usize>(s: &[u8], min: usize) -> Option<[u8; N]> {
    if !(min..=N).contains(&s.len()) {
        return None;
    }
    let mut out = [0u8; N];
    for (o, &b) in out[N - s.len()..].iter_mut().zip(s) {
        if !b.is_ascii_digit() {
            return None;
        }
        *o = b - b'0';
    }
    Some(out)
}

fn all_digits(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_digit)
}

fn all_letters(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_uppercase)
}

/// The number written by digit values (at most 38 digits fit).
fn num(d: &[u8]) -> u128 {
    d.iter().fold(0u128, |n, &x| n * 10 + u128::from(x))
}

/// The number written by ASCII digits.
fn num_ascii(s: &[u8]) -> u128 {
    s.iter().fold(0u128, |n, &b| {
        n * 10 + u128::from(b.wrapping_sub(b'0') % 10)
    })
}

/// Σ digit × weight, over the shorter of the two.
fn wsum(d: &[u8], w: &[u32]) -> u32 {
    d.iter().zip(w).map(|(&x, &w)| u32::from(x) * w).sum()
}

fn two(d: &[u8], i: usize) -> u32 {
    let a = d.get(i).copied().unwrap_or(0);
    let b = d.get(i + 1).copied().unwrap_or(0);
    u32::from(a) * 10 + u32::from(b)
}

fn same_digit(d: &[u8]) -> bool {
    d.windows(2).all(|w| w[0] == w[1])
}

/// Today's date (UTC) as (year, month, day), from the system clock.
fn today() -> (u32, u32, u32) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as u32, month as u32, day as u32)
}

/// A real date, not after today.
fn past_date(year: u32, month: u32, day: u32) -> bool {
    valid_date(year, month, day) && (year, month, day) <= today()
}

/// A real date with a two-digit year in either the 1900s or the 2000s.
fn date_any_century(yy: u32, month: u32, day: u32) -> bool {
    valid_date(1900 + yy, month, day) || valid_date(2000 + yy, month, day)
}

/// A letter or digit as 0-35.
fn alnum(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        b'A'..=b'Z' => Some(u32::from(b - b'A') + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// North America, UK, Oceania.

fn us_itin(v: &[u8]) -> bool {
    digits::<9>(v).is_some_and(|d| {
        let group = two(&d, 3);
        d[0] == 9 && matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99)
    })
}

/// The EIN prefixes the IRS campuses assign.
const EIN_PREFIXES: &[u8] = &[
    1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31, 32, 33,
    34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 50, 51, 52, 53, 54, 55, 56, 57, 58,
    59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 71, 72, 73, 74, 75, 76, 77, 80, 81, 82, 83, 84, 85, 86,
    87, 88, 90, 91, 92, 93, 94, 95, 98, 99,
];

fn us_ein(v: &[u8]) -> bool {
    digits::<9>(v).is_some_and(|d| EIN_PREFIXES.contains(&(d[0] * 10 + d[1])))
}

fn us_passport(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    let body = match s {
        [first, rest @ ..] if first.is_ascii_uppercase() && rest.len() == 8 => rest,
        _ if s.len() == 9 => s,
        _ => return false,
    };
    all_digits(body) && !same_digit(body)
}

fn us_drivers_license(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    let first_digit = s.iter().position(u8::is_ascii_digit).unwrap_or(s.len());
    let digits = s.get(first_digit..).unwrap_or_default();
    (7..=13).contains(&s.len()) && digits.len() >= 5 && all_digits(digits) && !same_digit(digits)
}

fn uk_nino(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let [a, b, rest @ .., suffix] = c.bytes() else {
        return false;
    };
    rest.len() == 6
        && all_digits(rest)
        && a.is_ascii_uppercase()
        && b.is_ascii_uppercase()
        && !b"DFIQUV".contains(a)
        && !b"DFIOQUV".contains(b)
        && !matches!(
            [*a, *b],
            [b'B', b'G']
                | [b'G', b'B']
                | [b'K', b'N']
                | [b'N', b'K']
                | [b'N', b'T']
                | [b'T', b'N']
                | [b'Z', b'Z']
        )
        && (b'A'..=b'D').contains(suffix)
}

fn uk_utr(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let mut s = c.bytes();
    // Written with a trailing K by some forms, and with a 3-digit prefix on others.
    if let [rest @ .., b'K'] = s {
        s = rest;
    }
    if s.len() == 13 {
        s = s.get(3..).unwrap_or_default();
    }
    to_digits::<10>(s).is_some_and(|d| {
        let sum = wsum(&d[1..], &[6, 7, 8, 9, 10, 5, 4, 3, 2]);
        b"21987654321"[(sum % 11) as usize] - b'0' == d[0]
    })
}

fn uk_passport(v: &[u8]) -> bool {
    digits::<9>(v).is_some_and(|d| !same_digit(&d))
}

fn uk_driving_licence(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    let Some(s) = s.get(..16).filter(|_| s.len() == 16 || s.len() == 18) else {
        return false;
    };
    let surname = &s[..5];
    // The surname's letters, padded with 9s.
    let letters = surname
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    if letters == 0 || !surname[letters..].iter().all(|&b| b == b'9') {
        return false;
    }
    let Some(d) = to_digits::<6>(&s[5..11]) else {
        return false;
    };
    let month = match two(&d, 1) {
        m @ 1..=12 => m,
        m @ 51..=62 => m - 50,
        _ => return false,
    };
    let year = u32::from(d[0]) * 10 + u32::from(d[5]);
    date_any_century(year, month, two(&d, 3))
        && s[11..13]
            .iter()
            .all(|b| b.is_ascii_uppercase() || *b == b'9')
        && s[11] != b'9'
        && s[13].is_ascii_digit()
        && s[14..16].iter().all(u8::is_ascii_alphanumeric)
}

fn ca_sin(v: &[u8]) -> bool {
    digits::<9>(v).is_some_and(|d| d[0] != 0 && d[0] != 8 && luhn(&d))
}

fn ca_business_number(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    let (bn, program) = match s.len() {
        9 => (s, None),
        15 => (&s[..9], Some(&s[9..])),
        _ => return false,
    };
    let Some(d) = to_digits::<9>(bn) else {
        return false;
    };
    luhn(&d)
        && program
            .is_none_or(|p| matches!(&p[..2], b"RC" | b"RM" | b"RP" | b"RT") && all_digits(&p[2..]))
}

fn au_tfn(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    if !(s.len() == 8 || s.len() == 9) || !all_digits(s) {
        return false;
    }
    let sum: u32 = s
        .iter()
        .zip([1, 4, 3, 7, 5, 8, 6, 9, 10])
        .map(|(&b, w)| u32::from(b - b'0') * w)
        .sum();
    sum % 11 == 0
}

fn au_abn(v: &[u8]) -> bool {
    digits::<11>(v).is_some_and(|d| {
        let mut d = d;
        if d[0] == 0 {
            return false;
        }
        d[0] -= 1;
        wsum(&d, &[10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]) % 89 == 0
    })
}

fn au_acn(v: &[u8]) -> bool {
    digits::<9>(v).is_some_and(|d| {
        let sum = wsum(&d[..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
        (10 - sum % 10) % 10 == u32::from(d[8])
    })
}

fn nz_ird(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let Some(d) = left_padded::<9>(c.bytes(), 8) else {
        return false;
    };
    if !(10_000_000..=150_000_000).contains(&num(&d)) {
        return false;
    }
    let check = |w: &[u32]| (11 - wsum(&d[..8], w) % 11) % 11;
    let mut c = check(&[3, 2, 7, 6, 5, 4, 3, 2]);
    if c == 10 {
        c = check(&[7, 4, 3, 2, 5, 2, 7, 6]);
    }
    c == u32::from(d[8])
}

// ---------------------------------------------------------------------------------------------
// India.

fn in_aadhaar(v: &[u8]) -> bool {
    digits::<12>(v).is_some_and(|d| {
        let palindrome = d.iter().eq(d.iter().rev());
        d[0] >= 2 && !palindrome && verhoeff(&d)
    })
}

fn pan(s: &[u8]) -> bool {
    s.len() == 10
        && all_letters(&s[..5])
        && b"ABCFGHLJPTK".contains(&s[3])
        && all_digits(&s[5..9])
        && &s[5..9] != b"0000"
        && s[9].is_ascii_uppercase()
}

fn in_pan(v: &[u8]) -> bool {
    compact(v).is_some_and(|c| pan(c.bytes()))
}

fn in_gstin(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    if s.len() != 15 || !all_digits(&s[..2]) || !pan(&s[2..12]) {
        return false;
    }
    // Luhn mod 36 over the whole value, the check character last.
    let mut sum = 0u32;
    for (i, &b) in s.iter().rev().enumerate() {
        let Some(x) = alnum(b) else { return false };
        let p = if i % 2 == 1 { x * 2 } else { x };
        sum += p / 36 + p % 36;
    }
    sum % 36 == 0
}

// ---------------------------------------------------------------------------------------------
// Europe.

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

fn dni_letter(n: u128) -> u8 {
    DNI_LETTERS[(n % 23) as usize]
}

fn es_dni(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    s.len() == 9 && all_digits(&s[..8]) && dni_letter(num_ascii(&s[..8])) == s[8]
}

fn es_nie(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    if s.len() != 9 || !all_digits(&s[1..8]) {
        return false;
    }
    let lead = match s[0] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        _ => return false,
    };
    dni_letter(lead * 10_000_000 + num_ascii(&s[1..8])) == s[8]
}

fn fr_nir(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    if s.len() != 15 {
        return false;
    }
    // Corsica's departments 2A and 2B count as 19 and 18 in the key.
    let mut body = [0u8; 13];
    body.copy_from_slice(&s[..13]);
    match &s[5..7] {
        b"2A" => body[5..7].copy_from_slice(b"19"),
        b"2B" => body[5..7].copy_from_slice(b"18"),
        _ => {}
    }
    if !all_digits(&body) || !all_digits(&s[13..]) || !b"1234578".contains(&s[0]) {
        return false;
    }
    let n = num_ascii(&body);
    97 - n % 97 == num_ascii(&s[13..])
}

fn fr_nif(v: &[u8]) -> bool {
    digits::<13>(v).is_some_and(|d| d[0] <= 3 && num(&d[..10]) % 511 == num(&d[10..]))
}

fn fr_siren(v: &[u8]) -> bool {
    digits::<9>(v).is_some_and(|d| luhn(&d))
}

fn fr_siret(v: &[u8]) -> bool {
    digits::<14>(v).is_some_and(|d| {
        // La Poste's establishments share one SIREN and use a digit-sum rule instead.
        if d[..9] == [3, 5, 6, 0, 0, 0, 0, 0, 0]
            && d[..] != [3, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        {
            return d.iter().map(|&x| u32::from(x)).sum::<u32>() % 5 == 0;
        }
        luhn(&d[..9]) && luhn(&d)
    })
}

fn de_tax_id(v: &[u8]) -> bool {
    digits::<11>(v).is_some_and(|d| {
        let mut counts = [0u8; 10];
        for &x in &d[..10] {
            counts[usize::from(x)] += 1;
        }
        // One digit appears twice or three times, each other at most once.
        let repeated = counts.iter().filter(|&&n| n > 1).count();
        let most = counts.iter().copied().max().unwrap_or(0);
        d[0] != 0 && repeated == 1 && most <= 3 && mod11_10(&d)
    })
}

fn de_pension_insurance_number(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    if s.len() != 12 || !all_digits(&s[..8]) || !s[8].is_ascii_uppercase() || !all_digits(&s[9..]) {
        return false;
    }
    let Some(d) = to_digits::<8>(&s[..8]) else {
        return false;
    };
    let area = two(&d, 0);
    let day = two(&d, 2);
    let month = two(&d, 4);
    // The area codes of the pension insurers; a day may be raised by 50 or more for
    // numbers issued twice, 32 for unknown birth days.
    if !matches!(area, 2..=4 | 8..=21 | 23..=26 | 28..=30 | 38..=40 | 42..=82 | 89) {
        return false;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&(day % 50)) && day != 32 {
        return false;
    }
    let letter = u32::from(s[8] - b'A') + 1;
    let mut values = [0u32; 12];
    for (o, &x) in values.iter_mut().zip(&d) {
        *o = u32::from(x);
    }
    values[8] = letter / 10;
    values[9] = letter % 10;
    values[10] = u32::from(s[9] - b'0');
    values[11] = u32::from(s[10] - b'0');
    let sum: u32 = values
        .iter()
        .zip([2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1])
        .map(|(&x, w)| {
            let p = x * w;
            p / 10 + p % 10
        })
        .sum();
    sum % 10 == u32::from(s[11] - b'0')
}

/// The characters of German document numbers (no vowels, no B, D, Q, S).
fn de_document_char(b: u8) -> bool {
    b.is_ascii_digit() || b"CFGHJKLMNPRTVWXYZ".contains(&b)
}

fn de_id_card(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    s.len() == 10
        && s[..9].iter().all(|&b| de_document_char(b))
        && b"LMNPRTVWXY".contains(&s[0])
        && super::algo::icao_check(&s[..9]).is_some_and(|c| b'0' + c == s[9])
}

fn de_passport(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    s.len() == 10
        && s[0] == b'C'
        && s[..9].iter().all(|&b| de_document_char(b))
        && super::algo::icao_check(&s[..9]).is_some_and(|c| b'0' + c == s[9])
}

/// Letters standing for digits in codici fiscali issued twice (omocodia).
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";

fn omocodia_digit(b: u8) -> Option<u32> {
    if b.is_ascii_digit() {
        return Some(u32::from(b - b'0'));
    }
    OMOCODIA.iter().position(|&x| x == b).map(|i| i as u32)
}

fn it_fiscal_code(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    if s.len() != 16 || !all_letters(&s[..6]) || !s[8].is_ascii_uppercase() {
        return false;
    }
    let mut n = [0u32; 7];
    for (o, &i) in n.iter_mut().zip(&[6usize, 7, 9, 10, 12, 13, 14]) {
        match omocodia_digit(s[i]) {
            Some(x) => *o = x,
            None => return false,
        }
    }
    if !s[11].is_ascii_uppercase() || !s[15].is_ascii_uppercase() {
        return false;
    }
    let Some(month) = b"ABCDEHLMPRST".iter().position(|&x| x == s[8]) else {
        return false;
    };
    let day = (n[2] * 10 + n[3]) % 40;
    if !date_any_century(n[0] * 10 + n[1], month as u32 + 1, day) {
        return false;
    }
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let mut sum = 0u32;
    for (i, &b) in s[..15].iter().enumerate() {
        let Some(x) = alnum(b) else { return false };
        // Digits and letters share one table: digit k as the k-th letter.
        let k = if x < 10 { x } else { x - 10 };
        sum += if i % 2 == 0 { ODD[k as usize] } else { k };
    }
    u32::from(s[15] - b'A') == sum % 26
}

fn nl_bsn(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    let mut d = [0u8; 9];
    match s.len() {
        8 => d[1..].copy_from_slice(s),
        9 => d.copy_from_slice(s),
        _ => return false,
    }
    bsn_digits(&d)
}

/// The 11-proef over nine ASCII digits.
fn bsn_digits(d: &[u8; 9]) -> bool {
    if !all_digits(d) {
        return false;
    }
    let sum: i32 = d
        .iter()
        .zip([9, 8, 7, 6, 5, 4, 3, 2, -1])
        .map(|(&b, w)| i32::from(b - b'0') * w)
        .sum();
    sum % 11 == 0 && d.iter().any(|&b| b != b'0')
}

fn be_national_number(v: &[u8]) -> bool {
    digits::<11>(v).is_some_and(|d| {
        let body = num(&d[..9]);
        let check = num(&d[9..]);
        let (yy, month, day) = (two(&d, 0), two(&d, 2), two(&d, 4));
        // Unknown birth dates are written with month or day 00.
        let date_ok = |year: u32| (day == 0 && month <= 12) || valid_date(year, month, day);
        (97 - body % 97 == check && date_ok(1900 + yy))
            || (97 - (2_000_000_000 + body) % 97 == check
                && date_ok(2000 + yy)
                && 2000 + yy <= today().0)
    })
}

fn pl_pesel(v: &[u8]) -> bool {
    digits::<11>(v).is_some_and(|d| {
        let sum = wsum(&d[..10], &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]);
        let (yy, mm) = (two(&d, 0), two(&d, 2));
        let (century, month) = match mm {
            81..=92 => (1800, mm - 80),
            1..=12 => (1900, mm),
            21..=32 => (2000, mm - 20),
            41..=52 => (2100, mm - 40),
            61..=72 => (2200, mm - 60),
            _ => return false,
        };
        (10 - sum % 10) % 10 == u32::from(d[10]) && past_date(century + yy, month, two(&d, 4))
    })
}

fn pl_nip(v: &[u8]) -> bool {
    digits::<10>(v).is_some_and(|d| wsum(&d, &[6, 5, 7, 2, 3, 4, 5, 6, 7]) % 11 == u32::from(d[9]))
}

fn se_personnummer(v: &[u8]) -> bool {
    // `+` separates the serial of people 100 or older.
    let plus = v.contains(&b'+');
    let mut buf = [0u8; MAX_LEN];
    let mut n = 0;
    for &b in v {
        if b == b'+' {
            continue;
        }
        let Some(slot) = buf.get_mut(n) else {
            return false;
        };
        *slot = b;
        n += 1;
    }
    let Some(c) = compact(&buf[..n]) else {
        return false;
    };
    let s = c.bytes();
    let (century, ten) = match s.len() {
        10 => (None, s),
        12 => (Some(num_ascii(&s[..2]) as u32), &s[2..]),
        _ => return false,
    };
    let Some(d) = to_digits::<10>(ten) else {
        return false;
    };
    let (yy, month, day) = (two(&d, 0), two(&d, 2), two(&d, 4));
    // Coordination numbers add 60 to the day.
    let day = if day > 60 { day - 60 } else { day };
    let (ty, tm, td) = today();
    let year = match century {
        Some(c) => c * 100 + yy,
        None => {
            let mut y = ty / 100 * 100 + yy;
            if (y, month, day) > (ty, tm, td) {
                y -= 100;
            }
            if plus {
                y -= 100;
            }
            y
        }
    };
    luhn(&d) && past_date(year, month, day)
}

fn no_fodselsnummer(v: &[u8]) -> bool {
    digits::<11>(v).is_some_and(|d| {
        let k1 = (11 - wsum(&d[..9], &[3, 7, 6, 1, 8, 9, 4, 5, 2]) % 11) % 11;
        let k2 = (11 - wsum(&d[..10], &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) % 11) % 11;
        if k1 != u32::from(d[9]) || k2 != u32::from(d[10]) {
            return false;
        }
        let (mut day, mut month, yy) = (two(&d, 0), two(&d, 2), two(&d, 4));
        // D numbers add 40 to the day, H numbers 40 to the month.
        if day > 40 {
            day -= 40;
        }
        if month > 40 {
            month -= 40;
        }
        let individual = num(&d[6..9]) as u32;
        let year = match individual {
            0..=499 => 1900 + yy,
            500..=749 if yy >= 54 => 1800 + yy,
            500..=999 if yy < 40 => 2000 + yy,
            900..=999 if yy >= 40 => 1900 + yy,
            _ => return false,
        };
        past_date(year, month, day)
    })
}

fn dk_cpr(v: &[u8]) -> bool {
    digits::<10>(v).is_some_and(|d| {
        let (day, month, yy) = (two(&d, 0), two(&d, 2), two(&d, 4));
        let year = match d[6] {
            0..=3 => 1900 + yy,
            4 | 9 if yy <= 36 => 2000 + yy,
            4 | 9 => 1900 + yy,
            _ if yy <= 57 => 2000 + yy,
            _ => 1800 + yy,
        };
        past_date(year, month, day)
    })
}

fn fi_hetu(v: &[u8]) -> bool {
    // Compacted by hand: the century sign may be `-` or `+`.
    let s = v;
    if s.len() != 11 {
        return false;
    }
    let Some(d) = to_digits::<6>(&s[..6]) else {
        return false;
    };
    let century = match s[6] {
        b'+' => 1800,
        b'-' | b'Y' | b'X' | b'W' | b'V' | b'U' => 1900,
        b'A' | b'B' | b'C' | b'D' | b'E' | b'F' => 2000,
        _ => return false,
    };
    let Some(serial) = to_digits::<3>(&s[7..10]) else {
        return false;
    };
    let individual = num(&serial);
    if !(2..=899).contains(&individual) {
        return false;
    }
    let n = num(&d) * 1000 + individual;
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(n % 31) as usize];
    check == s[10].to_ascii_uppercase() && valid_date(century + two(&d, 4), two(&d, 2), two(&d, 0))
}

fn pt_nif(v: &[u8]) -> bool {
    digits::<9>(v).is_some_and(|d| {
        let c = 11 - wsum(&d[..8], &[9, 8, 7, 6, 5, 4, 3, 2]) % 11;
        (if c >= 10 { 0 } else { c }) == u32::from(d[8])
    })
}

fn ie_ppsn(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    ie_check(c.bytes(), true)
}

/// Irish PPS and VAT numbers: 7 digits, the mod 23 letter, maybe a second letter that counts
/// (A-I) or not (W, T, X: older numbers).
fn ie_check(s: &[u8], pps: bool) -> bool {
    if !(s.len() == 8 || s.len() == 9) {
        return false;
    }
    let Some(d) = to_digits::<7>(&s[..7]) else {
        return false;
    };
    let mut sum = wsum(&d, &[8, 7, 6, 5, 4, 3, 2]);
    if let Some(&second) = s.get(8) {
        match second {
            b'A'..=b'I' => sum += 9 * u32::from(second - b'A' + 1),
            b'W' | b'T' | b'X' if pps => {}
            b'W' => {}
            _ => return false,
        }
    }
    b"WABCDEFGHIJKLMNOPQRSTUV"[(sum % 23) as usize] == s[7]
}

fn at_svnr(v: &[u8]) -> bool {
    digits::<10>(v).is_some_and(|d| {
        let sum = wsum(&d, &[3, 7, 9, 0, 5, 8, 4, 2, 1, 6]);
        d[0] != 0 && sum % 11 == u32::from(d[3]) && sum % 11 != 10
    })
}

fn ch_ahv(v: &[u8]) -> bool {
    digits::<13>(v).is_some_and(|d| {
        // EAN-13: weights 1 and 3 from the left, the check making the sum a multiple of 10.
        let sum: u32 = d
            .iter()
            .enumerate()
            .map(|(i, &x)| u32::from(x) * if i % 2 == 0 { 1 } else { 3 })
            .sum();
        d[..3] == [7, 5, 6] && sum % 10 == 0
    })
}

fn cz_birth_number(v: &[u8]) -> bool {
    compact(v).is_some_and(|c| birth_number(c.bytes()))
}

/// A Czech or Slovak birth number of 9 or 10 ASCII digits.
fn birth_number(s: &[u8]) -> bool {
    if !(s.len() == 9 || s.len() == 10) || !all_digits(s) {
        return false;
    }
    let n = num_ascii(s);
    let yy = num_ascii(&s[..2]) as u32;
    let mut month = num_ascii(&s[2..4]) as u32;
    let day = num_ascii(&s[4..6]) as u32;
    // Women add 50 to the month; from 2004 either may add 20 more (law 133/2000 Sb.).
    month = match month {
        1..=12 => month,
        21..=32 => month - 20,
        51..=62 => month - 50,
        71..=82 => month - 70,
        _ => return false,
    };
    let year = if s.len() == 9 {
        if yy >= 54 {
            return false;
        }
        1900 + yy
    } else {
        let body = n / 10;
        let last = (n % 10) as u32;
        if !(n % 11 == 0 || (body % 11 == 10 && last == 0)) {
            return false;
        }
        if yy < 54 {
            2000 + yy
        } else {
            1900 + yy
        }
    };
    past_date(year, month, day)
}

fn ro_cnp(v: &[u8]) -> bool {
    digits::<13>(v).is_some_and(|d| {
        let sum = wsum(&d[..12], &[2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9]);
        let c = if sum % 11 == 10 { 1 } else { sum % 11 };
        let (yy, month, day) = (two(&d, 1), two(&d, 3), two(&d, 5));
        let date_ok = match d[0] {
            1 | 2 => valid_date(1900 + yy, month, day),
            3 | 4 => valid_date(1800 + yy, month, day),
            5 | 6 => past_date(2000 + yy, month, day),
            // Residents: the century is not coded.
            7..=9 => date_any_century(yy, month, day) || valid_date(1800 + yy, month, day),
            _ => false,
        };
        let county = two(&d, 7);
        c == u32::from(d[12]) && date_ok && matches!(county, 1..=48 | 51 | 52 | 70 | 80..=83)
    })
}

fn hr_oib(v: &[u8]) -> bool {
    digits::<11>(v).is_some_and(|d| mod11_10(&d))
}

fn gr_amka(v: &[u8]) -> bool {
    digits::<11>(v)
        .is_some_and(|d| date_any_century(two(&d, 4), two(&d, 2), two(&d, 0)) && luhn(&d))
}

// ---------------------------------------------------------------------------------------------
// VAT numbers of the member states and GB.

fn eu_vat(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let [a, b, s @ ..] = c.bytes() else {
        return false;
    };
    match [*a, *b] {
        [b'A', b'T'] => vat_at(s),
        [b'B', b'E'] => vat_be(s),
        [b'B', b'G'] => vat_bg(s),
        [b'C', b'Y'] => vat_cy(s),
        [b'C', b'Z'] => vat_cz(s),
        [b'D', b'E'] => to_digits::<9>(s).is_some_and(|d| d[0] != 0 && mod11_10(&d)),
        [b'D', b'K'] => to_digits::<8>(s)
            .is_some_and(|d| d[0] != 0 && wsum(&d, &[2, 7, 6, 5, 4, 3, 2, 1]) % 11 == 0),
        [b'E', b'E'] => to_digits::<9>(s)
            .is_some_and(|d| d[..2] == [1, 0] && wsum(&d, &[3, 7, 1, 3, 7, 1, 3, 7, 1]) % 10 == 0),
        [b'E', b'L'] | [b'G', b'R'] => vat_el(s),
        [b'E', b'S'] => vat_es(s),
        [b'F', b'I'] => to_digits::<8>(s).is_some_and(|d| {
            let c = 11 - wsum(&d, &[7, 9, 10, 5, 8, 4, 2]) % 11;
            c != 10 && c % 11 == u32::from(d[7])
        }),
        [b'F', b'R'] => vat_fr(s),
        [b'G', b'B'] | [b'X', b'I'] => vat_gb(s),
        [b'H', b'R'] => to_digits::<11>(s).is_some_and(|d| mod11_10(&d)),
        [b'H', b'U'] => {
            to_digits::<8>(s).is_some_and(|d| wsum(&d, &[9, 7, 3, 1, 9, 7, 3, 1]) % 10 == 0)
        }
        [b'I', b'E'] => vat_ie(s),
        [b'I', b'T'] => to_digits::<11>(s).is_some_and(|d| {
            let office = num(&d[7..10]);
            d[..7].iter().any(|&x| x != 0)
                && (matches!(office, 1..=100 | 120 | 121 | 888 | 999))
                && luhn(&d)
        }),
        [b'L', b'T'] => vat_lt(s),
        [b'L', b'U'] => to_digits::<8>(s).is_some_and(|d| num(&d[..6]) % 89 == num(&d[6..])),
        [b'L', b'V'] => vat_lv(s),
        [b'M', b'T'] => to_digits::<8>(s)
            .is_some_and(|d| d[0] != 0 && wsum(&d, &[3, 4, 6, 7, 8, 9, 10, 1]) % 37 == 0),
        [b'N', b'L'] => vat_nl(s),
        [b'P', b'L'] => pl_nip(s),
        [b'P', b'T'] => pt_nif(s),
        [b'R', b'O'] => vat_ro(s),
        [b'S', b'E'] => to_digits::<12>(s).is_some_and(|d| d[10..] == [0, 1] && luhn(&d[..10])),
        [b'S', b'I'] => to_digits::<8>(s).is_some_and(|d| {
            let c = 11 - wsum(&d, &[8, 7, 6, 5, 4, 3, 2]) % 11;
            d[0] != 0 && c != 11 && c % 10 == u32::from(d[7])
        }),
        [b'S', b'K'] => vat_sk(s),
        _ => false,
    }
}

fn vat_at(s: &[u8]) -> bool {
    let [b'U', rest @ ..] = s else { return false };
    to_digits::<8>(rest).is_some_and(|d| {
        let sum: u32 = d[..7]
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let x = u32::from(x);
                if i % 2 == 1 {
                    x * 2 / 10 + x * 2 % 10
                } else {
                    x
                }
            })
            .sum();
        (10 - (sum + 4) % 10) % 10 == u32::from(d[7])
    })
}

fn vat_be(s: &[u8]) -> bool {
    let Some(d) = left_padded::<10>(s, 9) else {
        return false;
    };
    d[0] <= 1 && 97 - num(&d[..8]) % 97 == num(&d[8..])
}

fn vat_bg(s: &[u8]) -> bool {
    if let Some(d) = to_digits::<9>(s) {
        let mut r = wsum(&d, &[1, 2, 3, 4, 5, 6, 7, 8]) % 11;
        if r == 10 {
            r = wsum(&d, &[3, 4, 5, 6, 7, 8, 9, 10]) % 11 % 10;
        }
        return r == u32::from(d[8]);
    }
    let Some(d) = to_digits::<10>(s) else {
        return false;
    };
    let last = u32::from(d[9]);
    // A person's EGN (with a birth date), a foreigner's number, or another 10-digit number.
    let egn = {
        let (yy, mut month, day) = (two(&d, 0), two(&d, 2), two(&d, 4));
        let year = match month {
            41..=52 => {
                month -= 40;
                2000 + yy
            }
            21..=32 => {
                month -= 20;
                1800 + yy
            }
            _ => 1900 + yy,
        };
        valid_date(year, month, day) && wsum(&d, &[2, 4, 8, 5, 10, 9, 7, 3, 6]) % 11 % 10 == last
    };
    let pnf = wsum(&d, &[21, 19, 17, 13, 11, 9, 7, 3, 1]) % 10 == last;
    let other = {
        let c = 11 - wsum(&d, &[4, 3, 2, 7, 6, 5, 4, 3, 2]) % 11;
        c != 10 && c % 11 == last
    };
    egn || pnf || other
}

fn vat_cy(s: &[u8]) -> bool {
    if s.len() != 9 || !s[8].is_ascii_uppercase() {
        return false;
    }
    let Some(d) = to_digits::<8>(&s[..8]) else {
        return false;
    };
    const EVEN: [u32; 10] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21];
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 0 {
                EVEN[usize::from(x)]
            } else {
                u32::from(x)
            }
        })
        .sum();
    matches!(d[0], 0 | 1 | 3 | 4 | 5 | 9) && d[..2] != [1, 2] && u32::from(s[8] - b'A') == sum % 26
}

fn vat_cz(s: &[u8]) -> bool {
    if let Some(d) = to_digits::<8>(s) {
        let r = wsum(&d, &[8, 7, 6, 5, 4, 3, 2]) % 11;
        let c = (11 - r) % 11 % 10;
        let c = if r == 0 { 1 } else { c };
        return d[0] != 9 && c == u32::from(d[7]);
    }
    if let Some(d) = to_digits::<9>(s) {
        if d[0] == 6 {
            // Individuals without a birth number.
            return special_cz(&d);
        }
    }
    birth_number(s)
}

/// The check digit of a 9-digit Czech VAT number beginning with 6.
fn special_cz(d: &[u8; 9]) -> bool {
    let r = wsum(&d[1..8], &[8, 7, 6, 5, 4, 3, 2]) % 11;
    let c = (11 - r) % 11;
    // The table maps 1..=11 onto 8, 7, ..., 0, 9, 8.
    let table = [8u32, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8];
    let idx = if c == 0 { 10 } else { (c - 1) as usize };
    table.get(idx).is_some_and(|&t| t == u32::from(d[8]))
}

fn vat_el(s: &[u8]) -> bool {
    let Some(d) = left_padded::<9>(s, 8) else {
        return false;
    };
    wsum(&d, &[256, 128, 64, 32, 16, 8, 4, 2]) % 11 % 10 == u32::from(d[8])
}

fn vat_es(s: &[u8]) -> bool {
    if s.len() != 9 {
        return false;
    }
    match s[0] {
        b'0'..=b'9' => es_dni(s),
        b'X' | b'Y' | b'Z' => es_nie(s),
        b'K' | b'L' | b'M' => all_digits(&s[1..8]) && dni_letter(num_ascii(&s[1..8])) == s[8],
        b'A'..=b'H' | b'J' | b'N' | b'P'..=b'S' | b'U' | b'V' | b'W' => {
            let Some(d) = to_digits::<7>(&s[1..8]) else {
                return false;
            };
            let sum: u32 = d
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    let x = u32::from(x);
                    if i % 2 == 0 {
                        x * 2 / 10 + x * 2 % 10
                    } else {
                        x
                    }
                })
                .sum();
            let c = (10 - sum % 10) % 10;
            s[8] == b'0' + c as u8 || s[8] == b"JABCDEFGHI"[c as usize]
        }
        _ => false,
    }
}

fn vat_fr(s: &[u8]) -> bool {
    if s.len() != 11 {
        return false;
    }
    let Some(d) = to_digits::<9>(&s[2..]) else {
        return false;
    };
    // Monaco's numbers (000 after the key) have no SIREN.
    if d[..3] != [0, 0, 0] && !luhn(&d) {
        return false;
    }
    let siren = num(&d);
    if all_digits(&s[..2]) {
        return num_ascii(&s[..2]) == (12 + 3 * (siren % 97)) % 97;
    }
    // New-style keys: a digit and a letter or two letters, from an alphabet without I and O.
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let (Some(c1), Some(c2)) = (
        ALPHABET.iter().position(|&x| x == s[0]),
        ALPHABET.iter().position(|&x| x == s[1]),
    ) else {
        return false;
    };
    let (c1, c2) = (c1 as u128, c2 as u128);
    let check = if c1 < 10 {
        c1 * 24 + c2 - 10
    } else {
        c1 * 34 + c2 - 100
    };
    let p = check / 11 + 1;
    let r = check % 11;
    (siren + p) % 11 == r
}

fn vat_gb(s: &[u8]) -> bool {
    if s.len() == 5 {
        let n = num_ascii(&s[2..]);
        return all_digits(&s[2..])
            && match &s[..2] {
                b"GD" => n < 500,
                b"HA" => n >= 500,
                _ => false,
            };
    }
    let body = match s.len() {
        9 => s,
        12 => &s[..9],
        _ => return false,
    };
    let (Some(d), true) = (to_digits::<9>(body), all_digits(s)) else {
        return false;
    };
    let sum = wsum(&d, &[8, 7, 6, 5, 4, 3, 2]) + two(&d, 7);
    // Numbers from 100 on may use the 9755 method, which adds 55 to the sum; both signs of it
    // are in use.
    if num(&d[..3]) >= 100 {
        matches!(sum % 97, 0 | 42 | 55)
    } else {
        sum % 97 == 0
    }
}

fn vat_ie(s: &[u8]) -> bool {
    if s.len() == 8 && s[0].is_ascii_digit() && !s[1].is_ascii_digit() {
        // The old form: digit, letter (or + or *), 5 digits, letter, read as the new one.
        if !(s[1].is_ascii_uppercase() || s[1] == b'+' || s[1] == b'*') {
            return false;
        }
        let mut new = [b'0'; 8];
        new[1..6].copy_from_slice(&s[2..7]);
        new[6] = s[0];
        new[7] = s[7];
        return ie_check(&new, false);
    }
    ie_check(s, false)
}

fn vat_lt(s: &[u8]) -> bool {
    let n = s.len();
    if !(n == 9 || n == 12) || !all_digits(s) || s[n - 2] != b'1' {
        return false;
    }
    let mut d = [0u8; 12];
    for (o, &b) in d.iter_mut().zip(s) {
        *o = b - b'0';
    }
    let d = &d[..n];
    let body = &d[..n - 1];
    let sum = |shift: usize| -> u32 {
        body.iter()
            .enumerate()
            .map(|(i, &x)| u32::from(x) * ((i + shift) % 9 + 1) as u32)
            .sum()
    };
    let mut r = sum(0) % 11;
    if r == 10 {
        r = sum(2) % 11;
    }
    r % 10 == u32::from(d[n - 1])
}

fn vat_lv(s: &[u8]) -> bool {
    let Some(d) = to_digits::<11>(s) else {
        return false;
    };
    if d[0] > 3 {
        return wsum(&d, &[9, 1, 4, 8, 3, 10, 2, 5, 7, 6, 1]) % 11 == 3;
    }
    let sum = wsum(&d[..10], &[1, 6, 3, 7, 9, 10, 5, 8, 4, 2]);
    let check_ok = (1101 - sum % 1101) % 11 % 10 == u32::from(d[10]);
    if d[..2] == [3, 2] {
        // Personal codes without a birth date (from 2017).
        return check_ok;
    }
    let century = match d[6] {
        0 => 1800,
        1 => 1900,
        2 => 2000,
        _ => return false,
    };
    check_ok && valid_date(century + two(&d, 4), two(&d, 2), two(&d, 0))
}

fn vat_nl(s: &[u8]) -> bool {
    if s.len() != 12 || s[9] != b'B' || !all_digits(&s[10..]) {
        return false;
    }
    let mut nine = [0u8; 9];
    nine.copy_from_slice(&s[..9]);
    if !all_digits(&nine) || &s[10..] == b"00" {
        return false;
    }
    // The old btw-nummer (a BSN or RSIN) or the btw-id (ISO 7064 mod 97-10 over NL and it).
    let mut values = [0u8; 16];
    values[..2].copy_from_slice(&[23, 21]);
    for (o, &b) in values[2..].iter_mut().zip(s) {
        *o = alnum(b).unwrap_or(0) as u8;
    }
    bsn_digits(&nine) || super::algo::mod97_10(&values[..14])
}

fn vat_ro(s: &[u8]) -> bool {
    if s.len() == 13 {
        return ro_cnp(s);
    }
    let Some(d) = left_padded::<10>(s, 2).filter(|_| s[0] != b'0') else {
        return false;
    };
    let sum = wsum(&d[..9], &[7, 5, 3, 2, 1, 7, 5, 3, 2]);
    sum * 10 % 11 % 10 == u32::from(d[9])
}

fn vat_sk(s: &[u8]) -> bool {
    let Some(d) = to_digits::<10>(s) else {
        return false;
    };
    (d[0] != 0 && matches!(d[2], 2 | 3 | 4 | 7 | 8 | 9) && num(&d) % 11 == 0) || birth_number(s)
}

// ---------------------------------------------------------------------------------------------
// Latin America.

fn br_cpf(v: &[u8]) -> bool {
    digits::<11>(v).is_some_and(|d| {
        let check = |n: usize| {
            let sum: u32 = d[..n]
                .iter()
                .enumerate()
                .map(|(i, &x)| u32::from(x) * (n as u32 + 1 - i as u32))
                .sum();
            (sum * 10 % 11) % 10
        };
        !same_digit(&d) && check(9) == u32::from(d[9]) && check(10) == u32::from(d[10])
    })
}

fn br_cnpj(v: &[u8]) -> bool {
    digits::<14>(v).is_some_and(|d| {
        let check = |n: usize| {
            let weights: &[u32] = if n == 12 {
                &[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
            } else {
                &[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
            };
            let r = wsum(&d[..n], weights) % 11;
            if r < 2 {
                0
            } else {
                11 - r
            }
        };
        !same_digit(&d) && check(12) == u32::from(d[12]) && check(13) == u32::from(d[13])
    })
}

/// The CURP and RFC alphabet: digits, then letters with Ñ (here `&`) after N.
fn mx_value(b: u8) -> Option<u32> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ";
    ALPHABET.iter().position(|&x| x == b).map(|i| i as u32)
}

/// The Mexican states and `NE` (born abroad).
const MX_STATES: &[&[u8; 2]] = &[
    b"AS", b"BC", b"BS", b"CC", b"CH", b"CL", b"CM", b"CS", b"DF", b"DG", b"GR", b"GT", b"HG",
    b"JC", b"MC", b"MN", b"MS", b"NE", b"NL", b"NT", b"OC", b"PL", b"QR", b"QT", b"SL", b"SP",
    b"SR", b"TC", b"TL", b"TS", b"VZ", b"YN", b"ZS",
];

fn mx_curp(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    if s.len() != 18
        || !all_letters(&s[..4])
        || !b"HMX".contains(&s[10])
        || !MX_STATES.iter().any(|st| st[..] == s[11..13])
        || !all_letters(&s[13..16])
        || !s[16].is_ascii_alphanumeric()
        || !s[17].is_ascii_digit()
    {
        return false;
    }
    let Some(d) = to_digits::<6>(&s[4..10]) else {
        return false;
    };
    // The differentiator is a digit for the 1900s and a letter from 2000.
    let year = if s[16].is_ascii_digit() { 1900 } else { 2000 } + two(&d, 0);
    if !valid_date(year, two(&d, 2), two(&d, 4)) {
        return false;
    }
    let mut sum = 0u32;
    for (i, &b) in s[..17].iter().enumerate() {
        let Some(x) = mx_value(b) else { return false };
        sum += x * (18 - i as u32);
    }
    (10 - sum % 10) % 10 == u32::from(s[17] - b'0')
}

fn mx_rfc(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    // Companies have three letters, people four; the homoclave (3 characters) may be left off.
    let letters = s
        .iter()
        .take_while(|b| b.is_ascii_uppercase() || **b == b'&')
        .count();
    if !(letters == 3 || letters == 4) || !(s.len() == letters + 6 || s.len() == letters + 9) {
        return false;
    }
    let Some(d) = to_digits::<6>(&s[letters..letters + 6]) else {
        return false;
    };
    if !date_any_century(two(&d, 0), two(&d, 2), two(&d, 4)) {
        return false;
    }
    let Some(homoclave) = s.get(letters + 6..).filter(|h| !h.is_empty()) else {
        return true;
    };
    // The homoclave's two characters come from a table without 0, the first from its first 31
    // (1-9, A-V); the check character is a digit or A.
    const HOMOCLAVE: &[u8] = b"123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let position = |b: u8| HOMOCLAVE.iter().position(|&x| x == b);
    let [h1, h2, _] = homoclave else { return false };
    if position(*h1).is_none_or(|i| i >= 31) || position(*h2).is_none() {
        return false;
    }
    // The check character over the first 12 characters, a company's padded by one space (37).
    let mut sum = 0u32;
    let padded = std::iter::repeat_n(None, 13 - s.len()).chain(s[..s.len() - 1].iter().map(Some));
    for (i, b) in padded.enumerate() {
        let x = match b {
            None => 37,
            Some(&b) => match mx_value(b) {
                Some(x) => x,
                None => return false,
            },
        };
        sum += x * (13 - i as u32);
    }
    let c = (11 - sum % 11) % 11;
    let want = if c == 10 { b'A' } else { b'0' + c as u8 };
    s.last() == Some(&want)
}

fn ar_cuit(v: &[u8]) -> bool {
    digits::<11>(v).is_some_and(|d| {
        let r = wsum(&d, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) % 11;
        let c = match 11 - r {
            11 => 0,
            10 => 9,
            c => c,
        };
        // The kinds of CUIT: people (20-27), companies (30-34), international (50-55).
        let kind = two(&d, 0);
        matches!(kind, 20 | 23 | 24 | 27 | 30 | 33 | 34 | 50 | 51 | 55) && c == u32::from(d[10])
    })
}

fn cl_rut(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    let Some((&check, body)) = s.split_last() else {
        return false;
    };
    if !(7..=8).contains(&body.len()) || !all_digits(body) {
        return false;
    }
    let sum: u32 = body
        .iter()
        .rev()
        .zip([2, 3, 4, 5, 6, 7].iter().cycle())
        .map(|(&b, &w)| u32::from(b - b'0') * w)
        .sum();
    let want = match 11 - sum % 11 {
        11 => b'0',
        10 => b'K',
        c => b'0' + c as u8,
    };
    check == want
}

// ---------------------------------------------------------------------------------------------
// Asia, Middle East, Africa.

fn kr_rrn(v: &[u8]) -> bool {
    digits::<13>(v).is_some_and(|d| {
        let century = match d[6] {
            1 | 2 | 5 | 6 => 1900,
            3 | 4 | 7 | 8 => 2000,
            9 | 0 => 1800,
            _ => return false,
        };
        let (year, month, day) = (century + two(&d, 0), two(&d, 2), two(&d, 4));
        if !past_date(year, month, day) || two(&d, 7) > 96 {
            return false;
        }
        // Numbers issued from October 2020 no longer carry a check digit.
        if (year, month) >= (2020, 10) {
            return true;
        }
        let sum = wsum(&d[..12], &[2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]);
        (11 - sum % 11) % 10 == u32::from(d[12])
    })
}

fn jp_my_number(v: &[u8]) -> bool {
    digits::<12>(v).is_some_and(|d| {
        let sum: u32 = d[..11]
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &x)| {
                let n = i as u32 + 1;
                u32::from(x) * if n <= 6 { n + 1 } else { n - 5 }
            })
            .sum();
        let r = sum % 11;
        (if r <= 1 { 0 } else { 11 - r }) == u32::from(d[11])
    })
}

fn cn_resident_id(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    if s.len() != 18 || !all_digits(&s[..17]) {
        return false;
    }
    let mut values = [0u8; 18];
    for (o, &b) in values.iter_mut().zip(s) {
        *o = if b == b'X' { 10 } else { b.wrapping_sub(b'0') };
    }
    if values[17] > 10 {
        return false;
    }
    let year = num(&values[6..10]) as u32;
    let province = two(&values, 0);
    matches!(province, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
        && year >= 1800
        && past_date(year, two(&values, 10), two(&values, 12))
        && mod11_2(&values)
}

fn hk_hkid(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    let letters = s.iter().take_while(|b| b.is_ascii_uppercase()).count();
    if !(1..=2).contains(&letters)
        || s.len() != letters + 7
        || !all_digits(&s[letters..letters + 6])
    {
        return false;
    }
    // A one-letter number is read with a leading space worth 36.
    let mut sum = if letters == 1 { 36 * 9 } else { 0 };
    let mut weight = if letters == 1 { 8 } else { 9 };
    for &b in &s[..letters + 6] {
        let Some(x) = alnum(b) else { return false };
        sum += x * weight;
        weight -= 1;
    }
    let c = (11 - sum % 11) % 11;
    let want = if c == 10 { b'A' } else { b'0' + c as u8 };
    s.last() == Some(&want)
}

fn tw_national_id(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    if s.len() != 10 || !s[0].is_ascii_uppercase() || !all_digits(&s[1..]) {
        return false;
    }
    if !b"1289".contains(&s[1]) {
        return false;
    }
    // The letters' two-digit codes (I, O, W, X, Y, Z were added out of order).
    const CODES: [u32; 26] = [
        10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, 22, 35, 23, 24, 25, 26, 27, 28, 29, 32,
        30, 31, 33,
    ];
    let code = CODES[usize::from(s[0] - b'A')];
    let mut sum = code / 10 + (code % 10) * 9;
    for (&b, w) in s[1..].iter().zip([8, 7, 6, 5, 4, 3, 2, 1, 1]) {
        sum += u32::from(b - b'0') * w;
    }
    sum % 10 == 0
}

fn sg_nric(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let s = c.bytes();
    if s.len() != 9 || !s[8].is_ascii_uppercase() {
        return false;
    }
    let Some(d) = to_digits::<7>(&s[1..8]) else {
        return false;
    };
    let sum = wsum(&d, &[2, 7, 6, 5, 4, 3, 2]);
    let (offset, table): (u32, &[u8; 11]) = match s[0] {
        b'S' => (0, b"JZIHGFEDCBA"),
        b'T' => (4, b"JZIHGFEDCBA"),
        b'F' => (0, b"XWUTRQPNMLK"),
        b'G' => (4, b"XWUTRQPNMLK"),
        b'M' => (3, b"KLJNPQRTUWX"),
        _ => return false,
    };
    let r = ((sum + offset) % 11) as usize;
    let want = if s[0] == b'M' {
        table[10 - r]
    } else {
        table[r]
    };
    s[8] == want
}

/// Malaysian place-of-birth codes that are not assigned.
const MY_UNASSIGNED: &[u32] = &[0, 17, 18, 19, 20, 69, 70, 73, 80, 81, 94, 95, 96, 97];

fn my_mykad(v: &[u8]) -> bool {
    digits::<12>(v).is_some_and(|d| {
        date_any_century(two(&d, 0), two(&d, 2), two(&d, 4)) && !MY_UNASSIGNED.contains(&two(&d, 6))
    })
}

fn th_national_id(v: &[u8]) -> bool {
    digits::<13>(v).is_some_and(|d| {
        let sum = wsum(&d[..12], &[13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
        d[0] != 0 && d[0] != 9 && (11 - sum % 11) % 10 == u32::from(d[12])
    })
}

fn il_id(v: &[u8]) -> bool {
    let Some(c) = compact(v) else { return false };
    let Some(d) = left_padded::<9>(c.bytes(), 1) else {
        return false;
    };
    d.iter().any(|&x| x != 0) && luhn(&d)
}

fn tr_tckn(v: &[u8]) -> bool {
    digits::<11>(v).is_some_and(|d| {
        let odd: u32 = d[..9].iter().step_by(2).map(|&x| u32::from(x)).sum();
        let even: u32 = d[1..8].iter().step_by(2).map(|&x| u32::from(x)).sum();
        let c10 = (odd * 7 + 10 * 9 - even) % 10;
        let c11 = (d[..10].iter().map(|&x| u32::from(x)).sum::<u32>()) % 10;
        d[0] != 0 && c10 == u32::from(d[9]) && c11 == u32::from(d[10])
    })
}

fn za_id(v: &[u8]) -> bool {
    digits::<13>(v).is_some_and(|d| {
        date_any_century(two(&d, 0), two(&d, 2), two(&d, 4)) && d[10] <= 2 && luhn(&d)
    })
}

fn ae_emirates_id(v: &[u8]) -> bool {
    digits::<15>(v).is_some_and(|d| d[..3] == [7, 8, 4] && luhn(&d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{assert_cases, Case};

    /// Documented example numbers (python-stdnum's docs, the issuers' specimens) and near misses.
    #[test]
    fn published_examples() {
        let cases: &[Case] = &[
            (us_itin, "912-90-3456", true),
            (us_itin, "912-69-3456", false),
            (ca_sin, "123-456-782", true),
            (ca_sin, "123-456-783", false),
            (in_aadhaar, "2341 2341 2346", true),
            (in_aadhaar, "2341 2341 2347", false),
            (in_pan, "ACUPA7085R", true),
            (in_pan, "ABMXA3211G", false),
            (es_dni, "54362315K", true),
            (es_dni, "54362315Z", false),
            (es_nie, "X2482300W", true),
            (de_tax_id, "36 574 261 809", true),
            (de_tax_id, "36 574 261 808", false),
            (nl_bsn, "1112.22.333", true),
            (nl_bsn, "1112.52.333", false),
            (hr_oib, "33392005961", true),
            (ch_ahv, "756.9217.0769.85", true),
            (ch_ahv, "756.9217.0769.86", false),
            (de_id_card, "T220001293", true),
            (de_passport, "C01X00T478", true),
            (it_fiscal_code, "RCCMNL83S18D969H", true),
            (it_fiscal_code, "RCCMNL83S18D969K", false),
            (eu_vat, "DE136695976", true),
            (eu_vat, "DE136695977", false),
            (eu_vat, "ATU13585627", true),
            (eu_vat, "NL004495445B01", true),
            (eu_vat, "FR40303265045", true),
            (eu_vat, "GB980780684", true),
            (hk_hkid, "G123456(A)", true),
            (hk_hkid, "AB987654(3)", true),
            (tw_national_id, "A123456789", true),
            (tw_national_id, "A123456788", false),
            (sg_nric, "S1234567D", true),
            (sg_nric, "S1234567A", false),
        ];
        assert_cases(cases);
    }

    #[test]
    fn today_is_plausible() {
        let (y, m, d) = today();
        assert!(y >= 2024 && (1..=12).contains(&m) && (1..=31).contains(&d));
    }
}
