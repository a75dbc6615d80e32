//! Validators: the checks that run on a candidate after its pattern matched.
//!
//! They run only on candidates, never on the whole text, so they may be thorough. Each one is a
//! pure function of the matched bytes: no allocation on the common rejecting path where it can
//! be avoided.

use std::str::FromStr;

use crate::checks::algo::luhn;
use crate::finding::Confidence;

/// What a validator says of a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not a finding.
    Reject,
    /// A finding, at the detector's confidence.
    Accept,
    /// A finding, at this confidence instead.
    AcceptAs(Confidence),
}

/// A named check that a rule can ask for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Validator {
    /// A payment card number: 13 to 19 digits, a known issuer prefix whose length fits, the Luhn
    /// checksum, and consistent grouping.
    CreditCard,
    /// The Luhn checksum over the digits, nothing else.
    Luhn,
    /// A US social security number: area not 000, 666 or 9xx; group not 00; serial not 0000.
    UsSsn,
    /// An IBAN: known country, its length, and the ISO 7064 mod-97 check.
    Iban,
    /// A JSON Web Token whose header decodes to a JSON object with `alg`.
    Jwt,
    /// A PEM private-key block with a real body (not a placeholder).
    PemPrivateKey,
    /// An e-mail address whose top-level domain is not a file extension.
    Email,
    /// Shannon entropy of the value of at least this many bits per character.
    Entropy(f64),
    /// A Stripe key: live keys at the rule's confidence, test keys at low confidence.
    StripeKey,
    /// A named check of the detector library (checksums, letter tables, dates of national ids,
    /// financial and health identifiers, tokens), by its name in the data.
    Named(&'static crate::checks::Check),
}

impl FromStr for Validator {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("entropy") {
            let rest = rest.trim_start_matches([':', '>', '=', ' ']);
            return match rest.parse::<f64>() {
                Ok(bits) if (0.0..=8.0).contains(&bits) => Ok(Validator::Entropy(bits)),
                _ => Err(format!(
                    "`{s}`: entropy takes bits per character between 0 and 8, e.g. `entropy:3.5`"
                )),
            };
        }
        Ok(match s {
            "credit_card" => Validator::CreditCard,
            "luhn" => Validator::Luhn,
            "us_ssn" | "ssn" => Validator::UsSsn,
            "iban" | "mod97" => Validator::Iban,
            "jwt" => Validator::Jwt,
            "pem_private_key" => Validator::PemPrivateKey,
            "email" => Validator::Email,
            "stripe_key" => Validator::StripeKey,
            other => match crate::checks::by_name(other) {
                Some(check) => Validator::Named(check),
                None => {
                    return Err(format!(
                        "unknown validator `{s}`; known: luhn, credit_card, us_ssn, iban (mod97), \
                         jwt, pem_private_key, email, stripe_key, entropy:<bits>, {}",
                        crate::checks::names().join(", ")
                    ))
                }
            },
        })
    }
}

impl Validator {
    /// The name rule files use for this check.
    pub fn name(&self) -> String {
        match self {
            Validator::CreditCard => "credit_card".into(),
            Validator::Luhn => "luhn".into(),
            Validator::UsSsn => "us_ssn".into(),
            Validator::Iban => "iban".into(),
            Validator::Jwt => "jwt".into(),
            Validator::PemPrivateKey => "pem_private_key".into(),
            Validator::Email => "email".into(),
            Validator::Entropy(bits) => format!("entropy:{bits}"),
            Validator::StripeKey => "stripe_key".into(),
            Validator::Named(check) => check.name.into(),
        }
    }

    /// Whether `value` passes this check (at any confidence).
    pub fn accepts(self, value: &[u8]) -> bool {
        self.check(value) != Verdict::Reject
    }

    /// Whether this check rejects every value without an ASCII digit (the first pass then
    /// leaves out runs without one; tested in `checks_that_need_a_digit_reject_values_without`).
    pub(crate) fn value_needs_digit(self) -> bool {
        matches!(self, Validator::Named(c) if matches!(c.name, "random_secret" | "generic_secret"))
    }

    pub(crate) fn check(self, value: &[u8]) -> Verdict {
        let ok = match self {
            Validator::CreditCard => credit_card(value),
            Validator::Luhn => {
                let digits: Vec<u8> = digits(value);
                luhn(&digits)
            }
            Validator::UsSsn => us_ssn(value),
            Validator::Iban => iban(value),
            Validator::Jwt => jwt(value),
            Validator::PemPrivateKey => pem_private_key(value),
            Validator::Email => email(value),
            Validator::Entropy(bits) => entropy(value) >= bits,
            Validator::Named(check) => (check.run)(value),
            Validator::StripeKey => {
                if value.windows(6).any(|w| w == b"_test_") {
                    return Verdict::AcceptAs(Confidence::Low);
                }
                true
            }
        };
        if ok {
            Verdict::Accept
        } else {
            Verdict::Reject
        }
    }
}

fn digits(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|b| b - b'0')
        .collect()
}

fn credit_card(value: &[u8]) -> bool {
    // No allocation and one pass: this runs on every card-shaped number, and text can hold
    // millions.
    const DOUBLED: [u32; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    let mut n = 0usize;
    // The first six digits, as a number (what the issuer ranges are read from).
    let mut p6 = 0u32;
    let mut sep: Option<u8> = None;
    let mut seps = 0;
    // The Luhn sum of the digits so far were the last one the check digit (`plain`), and were
    // it the one before the check digit (`doubled`): a new digit turns each into the other.
    let (mut plain, mut doubled) = (0u32, 0u32);
    for &b in value {
        let x = b.wrapping_sub(b'0');
        if x < 10 {
            if n < 6 {
                p6 = p6 * 10 + u32::from(x);
            }
            n += 1;
            // Wrapping: a value of millions of digits is rejected by its length below, and
            // must not overflow on the way there.
            (plain, doubled) = (
                doubled.wrapping_add(u32::from(x)),
                plain.wrapping_add(DOUBLED[usize::from(x)]),
            );
        } else {
            // Separators must be used consistently: all spaces, all dashes, or none.
            if sep.is_some_and(|s| s != b) {
                return false;
            }
            sep = Some(b);
            seps += 1;
        }
    }
    // The issuer test first: it is the cheaper, and rejects most card-shaped numbers of text.
    if !(13..=19).contains(&n) || seps > 4 || !issuer_accepts_prefix(p6, n) || plain % 10 != 0 {
        return false;
    }
    // A number made of one repeated digit passes Luhn for some lengths; no issuer uses one.
    let mut digits = value.iter().filter(|b| b.is_ascii_digit());
    let first = digits.next();
    !digits.all(|d| Some(d) == first)
}

/// Whether a card number beginning with the ASCII digit `first` can pass the issuer test: every
/// issuer range starts with 1 to 6. Lets the card scan skip a start without parsing the number.
pub(crate) fn card_may_start_with(first: u8) -> bool {
    (b'1'..=b'6').contains(&first)
}

/// Known issuer identification number ranges and the lengths each issues, for a number of
/// digits `d` (each 0 to 9).
pub(crate) fn issuer_accepts(d: &[u8]) -> bool {
    let Some(six) = d.get(..6) else {
        return false; // no issuer issues numbers this short (and every range is read from six)
    };
    let p6 = six
        .iter()
        .fold(0u32, |acc, &x| acc * 10 + u32::from(x.min(9)));
    issuer_accepts_prefix(p6, d.len())
}

/// [`issuer_accepts`] for a number of `n` digits whose first six, as a number, are `p6`.
fn issuer_accepts_prefix(p6: u32, n: usize) -> bool {
    if n < 6 {
        return false;
    }
    let (p4, p3, p2) = (p6 / 100, p6 / 1000, p6 / 10_000);
    let any = |lo: usize, hi: usize| (lo..=hi).contains(&n);
    // By the first two digits, a jump table: the ranges of the networks, and within a few two-
    // digit prefixes the longer range that decides.
    match p2 {
        // Visa. The 13-digit numbers of old are not issued any more, and a random 13-digit
        // number (a millisecond timestamp, an id) starts with 4 one time in ten: those are left
        // to the low-confidence pattern, which needs a card word.
        40..=49 => n == 16 || n == 19,
        // Mastercard: 51-55 and 2221-2720 (Mir, 2200-2204, below it).
        51..=55 | 23..=26 => n == 16,
        22 => match p4 {
            2221..=2299 => n == 16,
            2200..=2204 => any(16, 19),
            _ => false,
        },
        27 => p4 <= 2720 && n == 16,
        // American Express
        34 | 37 => n == 15,
        // Discover: 6011, 644-649, 65 (and 622126-622925, inside UnionPay's 62)
        60 => p4 == 6011 && any(16, 19),
        64 => p3 >= 644 && any(16, 19),
        65 => any(16, 19),
        // UnionPay
        62 => any(16, 19),
        // JCB 3528-3589, and its legacy 15-digit numbers 1800 and 2131
        35 => (3528..=3589).contains(&p4) && any(16, 19),
        18 => p4 == 1800 && n == 15,
        21 => p4 == 2131 && n == 15,
        // Diners Club: 300-305, 36, 38-39
        30 => p3 <= 305 && any(14, 19),
        36 | 38 | 39 => any(14, 19),
        // Maestro: 50, 56-58, 6304, 67 (the rare 12- to 15-digit numbers, as 13-digit Visa)
        50 | 56..=58 | 67 => any(16, 19),
        63 => p4 == 6304 && any(16, 19),
        _ => false,
    }
}

fn us_ssn(value: &[u8]) -> bool {
    let d = digits(value);
    if d.len() != 9 {
        return false;
    }
    let area = u32::from(d[0]) * 100 + u32::from(d[1]) * 10 + u32::from(d[2]);
    let group = u32::from(d[3]) * 10 + u32::from(d[4]);
    let serial = d[5..].iter().fold(0u32, |acc, x| acc * 10 + u32::from(*x));
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return false;
    }
    // Numbers the SSA never issues or that are famous examples printed everywhere are still
    // valid-shaped; "123-45-6789" is explicitly reserved as invalid by the SSA.
    !(area == 123 && group == 45 && serial == 6789)
}

/// IBAN lengths per country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

fn iban(value: &[u8]) -> bool {
    let s: Vec<u8> = value
        .iter()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(u8::to_ascii_uppercase)
        .collect();
    if s.len() < 15 || s.len() > 34 {
        return false;
    }
    let want = IBAN_LENGTHS
        .iter()
        .find(|(cc, _)| cc[..] == s[..2])
        .map(|(_, len)| *len);
    if want != Some(s.len()) {
        return false;
    }
    // The first four characters moved to the end, letters as 10..35: ISO 7064 MOD 97-10.
    let mut values = [0u8; 34];
    for (v, &b) in values.iter_mut().zip(s[4..].iter().chain(&s[..4])) {
        *v = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            _ => return false,
        };
    }
    crate::checks::algo::mod97_10(&values[..s.len()]) && bban_accepts(&s[..2], &s[4..])
}

/// The national account number inside an IBAN (upper case, no separators), checked where the
/// country's format is cheap to check: its shape, and its own check digits in FR, ES, IT and BE.
fn bban_accepts(country: &[u8], bban: &[u8]) -> bool {
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let letters = |s: &[u8]| s.iter().all(u8::is_ascii_uppercase);
    let num = |s: &[u8]| s.iter().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    match country {
        // Bankleitzahl (8 digits, never starting with 0 or 9) and a 10-digit account.
        b"DE" => digits(bban) && !matches!(bban[0], b'0' | b'9'),
        // Bank code (4 letters), sort code (6 digits), account (8 digits).
        b"GB" => letters(&bban[..4]) && digits(&bban[4..]),
        // Bank code (4 letters), account (10 digits).
        b"NL" => letters(&bban[..4]) && digits(&bban[4..]),
        // Bank (3), account (7), check: the first ten digits mod 97 (97 for 0).
        b"BE" => {
            let (body, check) = bban.split_at(10);
            digits(bban) && {
                let r = num(body) % 97;
                (if r == 0 { 97 } else { r }) == num(check)
            }
        }
        // Bank (5), branch (5), account (11, letters allowed), clé RIB (2).
        b"FR" => {
            if !digits(&bban[..10]) || !digits(&bban[21..]) {
                return false;
            }
            let mut account = 0u64;
            for &b in &bban[10..21] {
                let v = match b {
                    b'0'..=b'9' => u64::from(b - b'0'),
                    // A/J = 1, B/K/S = 2, ..., I/R/Z = 9 (S counts from 2).
                    b'A'..=b'I' => u64::from(b - b'A') + 1,
                    b'J'..=b'R' => u64::from(b - b'J') + 1,
                    b'S'..=b'Z' => u64::from(b - b'S') + 2,
                    _ => return false,
                };
                account = account * 10 + v;
            }
            let sum = 89 * num(&bban[..5]) + 15 * num(&bban[5..10]) + 3 * account;
            97 - sum % 97 == num(&bban[21..])
        }
        // Bank (4), branch (4), two check digits (bank+branch, account), account (10).
        b"ES" => {
            const W: [u64; 10] = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6];
            let dc = |ds: &[u8]| {
                let sum: u64 = ds.iter().zip(W).map(|(b, w)| u64::from(b - b'0') * w).sum();
                match 11 - sum % 11 {
                    11 => 0,
                    10 => 1,
                    d => d,
                }
            };
            let mut head = [b'0'; 10];
            head[2..].copy_from_slice(&bban[..8]);
            digits(bban)
                && dc(&head) == u64::from(bban[8] - b'0')
                && dc(&bban[10..]) == u64::from(bban[9] - b'0')
        }
        // CIN (check letter), ABI (5), CAB (5), account (12, letters allowed).
        b"IT" | b"SM" => {
            const ODD: [u8; 26] = [
                1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22,
                25, 24, 23,
            ];
            let mut sum = 0u32;
            for (i, &b) in bban[1..].iter().enumerate() {
                let k = match b {
                    b'0'..=b'9' => b - b'0',
                    b'A'..=b'Z' => b - b'A',
                    _ => return false,
                };
                sum += u32::from(if i % 2 == 0 { ODD[usize::from(k)] } else { k });
            }
            digits(&bban[1..11]) && u32::from(bban[0]) == u32::from(b'A') + sum % 26
        }
        _ => true,
    }
}

fn jwt(value: &[u8]) -> bool {
    let mut parts = value.split(|b| *b == b'.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    let decode_object = |part: &[u8]| -> Option<serde_json::Map<String, serde_json::Value>> {
        let bytes = crate::checks::algo::base64_decode(part)?;
        match serde_json::from_slice::<serde_json::Value>(&bytes).ok()? {
            serde_json::Value::Object(map) => Some(map),
            _ => None,
        }
    };
    match (decode_object(header), decode_object(payload)) {
        (Some(h), Some(_)) => h.get("alg").is_some_and(|a| a.is_string()),
        _ => false,
    }
}

fn pem_private_key(value: &[u8]) -> bool {
    // The body is what follows the header; a real key has plenty of base64 in it, a
    // placeholder in documentation ("...", "<key>") does not.
    let body_start = crate::finding::pem_header_len(value).unwrap_or(value.len());
    let body = &value[body_start.min(value.len())..];
    let base64 = body
        .iter()
        .filter(|b| b.is_ascii_alphanumeric() || **b == b'+' || **b == b'/')
        .count();
    base64 >= 64 && entropy(body) >= 4.0
}

/// File extensions that look like top-level domains in `logo@2x.png`-style names.
const NOT_TLDS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css", "js", "ts", "json", "xml",
    "html", "htm", "txt", "pdf", "zip", "gz", "tar", "md", "yml", "yaml", "lock", "min", "map",
];

fn email(value: &[u8]) -> bool {
    let Some(dot) = value.iter().rposition(|b| *b == b'.') else {
        return false;
    };
    let tld = String::from_utf8_lossy(&value[dot + 1..]).to_ascii_lowercase();
    if NOT_TLDS.contains(&tld.as_str()) {
        return false;
    }
    let Some(at) = value.iter().position(|b| *b == b'@') else {
        return false;
    };
    let local = &value[..at];
    !local.is_empty() && !local.starts_with(b".") && !local.ends_with(b".")
}

/// Shannon entropy in bits per byte.
pub(crate) fn entropy(value: &[u8]) -> f64 {
    if value.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in value {
        counts[usize::from(b)] += 1;
    }
    let n = value.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_numbers_starting_with_1_to_6_pass_the_issuer_test() {
        for first in 0u8..=9 {
            // Every prefix of six digits (the longest the issuer ranges use), at three lengths.
            let passes = (0..100_000u32).any(|rest| {
                let mut d = [7u8; 19];
                d[0] = first;
                for (i, slot) in d[1..6].iter_mut().enumerate() {
                    *slot = (rest / 10u32.pow(4 - i as u32) % 10) as u8;
                }
                [13, 15, 16, 19].iter().any(|&n| issuer_accepts(&d[..n]))
            });
            assert_eq!(
                card_may_start_with(b'0' + first),
                passes,
                "first digit {first}"
            );
        }
    }

    /// The issuer ranges as published, first match wins: (lowest prefix, highest prefix, the
    /// lengths issued), read as plainly as possible, to hold the jump table to.
    const ISSUER_RANGES: &[(&str, &str, &[usize])] = &[
        ("4", "4", &[16, 19]),
        ("51", "55", &[16]),
        ("2221", "2720", &[16]),
        ("34", "34", &[15]),
        ("37", "37", &[15]),
        ("6011", "6011", &[16, 17, 18, 19]),
        ("644", "649", &[16, 17, 18, 19]),
        ("65", "65", &[16, 17, 18, 19]),
        ("622126", "622925", &[16, 17, 18, 19]),
        ("3528", "3589", &[16, 17, 18, 19]),
        ("1800", "1800", &[15]),
        ("2131", "2131", &[15]),
        ("300", "305", &[14, 15, 16, 17, 18, 19]),
        ("36", "36", &[14, 15, 16, 17, 18, 19]),
        ("38", "39", &[14, 15, 16, 17, 18, 19]),
        ("62", "62", &[16, 17, 18, 19]),
        ("50", "50", &[16, 17, 18, 19]),
        ("56", "58", &[16, 17, 18, 19]),
        ("6304", "6304", &[16, 17, 18, 19]),
        ("67", "67", &[16, 17, 18, 19]),
        ("2200", "2204", &[16, 17, 18, 19]),
    ];

    fn issuer_by_ranges(number: &str) -> bool {
        ISSUER_RANGES.iter().find_map(|&(lo, hi, lengths)| {
            let prefix = &number[..lo.len()];
            (lo <= prefix && prefix <= hi).then(|| lengths.contains(&number.len()))
        }) == Some(true)
    }

    #[test]
    fn the_issuer_jump_table_agrees_with_the_published_ranges() {
        // The ranges are read from four digits, but for UnionPay's and Discover's 62 (read from
        // six): every four-digit prefix followed by three endings, and every prefix of 62.
        let prefixes = (0..10_000u32)
            .flat_map(|p4| [0, 26, 99].map(|end| p4 * 100 + end))
            .chain(620_000..630_000);
        for p6 in prefixes {
            let longest = format!("{p6:06}{}", "0".repeat(14));
            let digits: Vec<u8> = longest.bytes().map(|b| b - b'0').collect();
            for n in [6, 12, 13, 14, 15, 16, 17, 18, 19, 20] {
                let number = &longest[..n];
                assert_eq!(
                    issuer_accepts(&digits[..n]),
                    issuer_by_ranges(number),
                    "{number}"
                );
            }
        }
    }

    #[test]
    fn the_one_pass_card_check_is_luhn_and_the_issuer_test() {
        // Random numbers of issuer prefixes and every length, grouped in every way: the card
        // check accepts exactly those that pass Luhn and the issuer test and are not one
        // digit repeated, whatever the grouping.
        let mut rng = crate::test_rng::Rng::new(0x9E37_79B9_7F4A_7C15);
        let mut next = || rng.next();
        let mut passed = 0;
        for _ in 0..200_000 {
            let (lo, _, _) = ISSUER_RANGES[(next() % ISSUER_RANGES.len() as u64) as usize];
            let len = 12 + (next() % 9) as usize;
            let mut number = lo.to_string();
            while number.len() < len {
                number.push(char::from(b'0' + (next() % 10) as u8));
            }
            let d: Vec<u8> = number.bytes().map(|b| b - b'0').collect();
            let expected = (13..=19).contains(&len)
                && issuer_by_ranges(&number)
                && luhn(&d)
                && d.iter().any(|&x| x != d[0]);
            passed += usize::from(expected);
            let sep = ["", " ", "-"][(next() % 3) as usize];
            let grouped: Vec<&str> = number
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let text = grouped.join(sep);
            assert_eq!(credit_card(text.as_bytes()), expected, "{text}");
        }
        // A value of any length is an answer, not an overflow.
        assert!(!credit_card(&vec![b'4'; 1 << 20]));
        // About one in ten of the numbers of the right lengths passes Luhn.
        assert!(passed > 5_000, "{passed}");
    }

    #[test]
    fn luhn_table() {
        for (n, ok) in [
            ("4111111111111111", true),
            ("4111111111111112", false),
            ("79927398713", true),
            ("0", true),
        ] {
            assert_eq!(luhn(&digits(n.as_bytes())), ok, "{n}");
        }
    }

    #[test]
    fn credit_card_table() {
        for (n, ok) in [
            ("4111 1111 1111 1111", true),
            ("4111-1111-1111-1111", true),
            ("5555555555554444", true),
            ("378282246310005", true),
            ("6011111111111117", true),
            ("3530111333300000", true),
            ("180000000000002", true),      // JCB legacy 15-digit
            ("213100000000001", true),      // JCB legacy 15-digit
            ("36227206271667", true),       // Diners 14-digit
            ("6212345678901265", true),     // UnionPay
            ("6759649826438453", true),     // Maestro
            ("2200000000000004", true),     // Mir
            ("3528000000000007", true),     // JCB, first of the range
            ("1800000000000018", false),    // JCB legacy prefix, 16 digits
            ("4222222222222", false),       // 13-digit Visa: the low-confidence pattern's
            ("4111 1111-1111 1111", false), // mixed separators
            ("4111111111111112", false),    // Luhn
            ("1234567812345670", false),    // Luhn-valid, no issuer
            ("0000000000000000", false),
            ("37828224631000", false), // Amex prefix, wrong length
        ] {
            assert_eq!(credit_card(n.as_bytes()), ok, "{n}");
        }
    }

    #[test]
    fn ssn_table() {
        for (n, ok) in [
            ("078-05-1120", true),
            ("219-09-9999", true),
            ("000-12-3456", false),
            ("666-12-3456", false),
            ("912-12-3456", false),
            ("219-00-9999", false),
            ("219-09-0000", false),
            ("123-45-6789", false),
        ] {
            assert_eq!(us_ssn(n.as_bytes()), ok, "{n}");
        }
    }

    #[test]
    fn iban_table() {
        for (n, ok) in [
            ("DE89 3704 0044 0532 0130 00", true),
            ("GB82WEST12345698765432", true),
            ("NL91ABNA0417164300", true),
            ("FR1420041010050500013M02606", true),
            ("de89 3704 0044 0532 0130 00", true),
            ("ES9121000418450200051332", true),
            ("IT60X0542811101000000123456", true),
            ("BE68539007547034", true),
            ("DE89 3704 0044 0532 0130 01", false),
            // Right mod 97, wrong national check (clé RIB, DC, CIN, Belgian mod 97).
            ("FR8420041010050500013M02607", false),
            ("ES2921000418460200051332", false),
            ("IT64Y0542811101000000123456", false),
            ("BE41539007547035", false),
            ("DE44 9704 0044 0532 0130 00", false),
            ("DE89370400440532013", false),
            ("XX82WEST12345698765432", false),
        ] {
            assert_eq!(iban(n.as_bytes()), ok, "{n}");
        }
    }

    #[test]
    fn jwt_needs_alg_in_a_json_header() {
        let good = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert!(jwt(good));
        // {"typ":"JWT"} has no alg
        assert!(!jwt(b"eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2ln"));
        assert!(!jwt(b"eyJnot-base64!.eyJ.x"));
    }

    #[test]
    fn checks_that_need_a_digit_reject_values_without() {
        let needing: Vec<Validator> = crate::checks::names()
            .into_iter()
            .filter_map(|n| n.parse::<Validator>().ok())
            .filter(|v| v.value_needs_digit())
            .collect();
        assert_eq!(needing.len(), 2);
        // Random token-byte strings, with and without digits: without, always rejected; with,
        // sometimes accepted (the claim is not vacuous).
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.+/=";
        let mut rng = crate::test_rng::Rng::new(0x2545_F491_4F6C_DD1D);
        let mut accepted_with_digits = 0;
        for i in 0..20_000 {
            let len = 16 + (rng.next() % 48) as usize;
            let pool: &[u8] = if i % 2 == 0 {
                alphabet
            } else {
                &alphabet[..52]
            };
            let value = rng.bytes(pool, len);
            for v in &needing {
                let has_digit = value.iter().any(u8::is_ascii_digit);
                if !has_digit {
                    assert!(!v.accepts(&value), "{v:?} accepted {value:?}");
                } else if v.accepts(&value) {
                    accepted_with_digits += 1;
                }
            }
        }
        assert!(accepted_with_digits > 100);
    }

    #[test]
    fn entropy_and_validator_names() {
        assert!(entropy(b"aaaaaaaa") < 0.01);
        assert!((entropy(b"abcdefgh") - 3.0).abs() < 1e-9);
        assert_eq!(
            "entropy:3.5".parse::<Validator>(),
            Ok(Validator::Entropy(3.5))
        );
        assert!("entropy:9".parse::<Validator>().is_err());
        assert!("nope".parse::<Validator>().unwrap_err().contains("known:"));
    }
}
