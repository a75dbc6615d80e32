//! Checks of the contact, device and document detectors (see `detectors/contact.toml`): phone
//! numbers (libphonenumber's metadata through the `phonenumber` crate), IP and MAC addresses,
//! IMEI, VIN, dates of birth and ICAO 9303 machine-readable zones.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[cfg(feature = "phone")]
use phonenumber::country::Id;

use super::algo::{digits, icao_check, luhn, valid_date};
use super::Check;

/// This area's named checks.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        name: "phone_number",
        doc: "an international phone number (+ and country code) that libphonenumber's metadata \
              says is valid",
        run: phone_number,
    },
    Check {
        name: "phone_number_national",
        doc: "a phone number in national format, valid in one of the regions its shape points \
              to (NANP for ten digits, a trunk-0 region for a leading 0)",
        run: phone_number_national,
    },
    Check {
        name: "ip_address",
        doc: "an IPv4 or IPv6 address that is public and not shaped like a version number \
              (loopback, unspecified, documentation, multicast, private and reserved ranges are \
              not; IPv4 whose first part is one digit is `ip_address_weak`'s)",
        run: ip_address,
    },
    Check {
        name: "ip_address_weak",
        doc: "an IPv4 address that is private, shared or link-local, or shaped like a version \
              number (first part one digit): for the context-only pattern",
        run: ip_address_weak,
    },
    Check {
        name: "mac_address",
        doc: "a MAC address (':' or '-' pairs, or '.' quads), not all zero, broadcast or one \
              repeated byte",
        run: mac_address,
    },
    Check {
        name: "imei",
        doc: "IMEI: 15 digits passing Luhn, not one repeated digit",
        run: imei,
    },
    Check {
        name: "vin",
        doc: "vehicle identification number: 17 characters of the ISO 3779 alphabet (no I, O, Q) \
              with a valid position-9 check digit",
        run: vin,
    },
    Check {
        name: "vin_unchecked",
        doc: "vehicle identification number in the ISO 3779 alphabet whose position 9 is not a \
              North American check digit (European VINs): for the context-only pattern",
        run: vin_unchecked,
    },
    Check {
        name: "date_of_birth",
        doc: "a real calendar date (numeric, ISO or with an English, German, French or Spanish \
              month name) in the past 120 years",
        run: date_of_birth,
    },
    Check {
        name: "passport_mrz",
        doc: "an ICAO 9303 machine-readable zone (TD1, TD2, TD3) whose 7-3-1 check digits hold",
        run: passport_mrz,
    },
];

// ---------------------------------------------------------------------------------------------
// Phone numbers

/// The digits in a phone number candidate, if it has between 7 and 15 (E.164's most).
fn phone_digit_count(value: &[u8]) -> Option<usize> {
    let n = value.iter().filter(|b| b.is_ascii_digit()).count();
    (7..=15).contains(&n).then_some(n)
}

/// A `+`, then a number that libphonenumber calls valid. Its own lengths decide (national
/// significant numbers of 2 to 17 digits), not E.164's 15 digits: German numbers may have 17.
#[cfg(feature = "phone")]
fn phone_number(value: &[u8]) -> bool {
    let Some(rest) = value.strip_prefix(b"+") else {
        return false;
    };
    std::str::from_utf8(rest)
        .ok()
        .and_then(libphone::digits)
        .is_some_and(|digits| libphone::international_is_valid(&digits))
}

/// Without the `phone` feature (libphonenumber's metadata), an international number is checked
/// by its shape alone: `+`, a country code that does not start with 0, 8 to 15 digits.
#[cfg(not(feature = "phone"))]
fn phone_number(value: &[u8]) -> bool {
    value.first() == Some(&b'+')
        && value.get(1).is_some_and(|b| (b'1'..=b'9').contains(b))
        && phone_digit_count(value).is_some_and(|n| (8..=15).contains(&n))
}

/// Without the `phone` feature: ten digits of the North American plan (area code and exchange
/// not starting with 0 or 1), or a trunk 0 and 10 or 11 digits.
#[cfg(not(feature = "phone"))]
fn phone_number_national(value: &[u8]) -> bool {
    let digits: Vec<u8> = value
        .iter()
        .filter(|b| b.is_ascii_digit())
        .copied()
        .collect();
    match digits.first() {
        Some(b'0') => (10..=11).contains(&digits.len()),
        Some(b'2'..=b'9') => digits.len() == 10 && digits.get(3).is_some_and(|d| *d >= b'2'),
        _ => false,
    }
}

/// Regions tried for a national number with a trunk prefix 0, most populous and most likely in
/// text first.
#[cfg(feature = "phone")]
const TRUNK_ZERO_REGIONS: [Id; 10] = [
    Id::GB,
    Id::DE,
    Id::FR,
    Id::IN,
    Id::AU,
    Id::NL,
    Id::BE,
    Id::AT,
    Id::CH,
    Id::JP,
];

#[cfg(feature = "phone")]
fn phone_number_national(value: &[u8]) -> bool {
    let Some(n) = phone_digit_count(value) else {
        return false;
    };
    let Some(digits) = std::str::from_utf8(value).ok().and_then(libphone::digits) else {
        return false;
    };
    let valid_in = |id: Id| libphone::national_is_valid(id, &digits);
    match digits.as_bytes().first() {
        Some(b'0') => TRUNK_ZERO_REGIONS.into_iter().any(valid_in),
        // Ten digits, no trunk prefix: the North American numbering plan.
        Some(b'2'..=b'9') if n == 10 => valid_in(Id::US) || valid_in(Id::CA),
        _ => false,
    }
}

/// libphonenumber's parsing and validity rules (`parse`, `isValidNumber`), applied to the
/// metadata of the `phonenumber` crate (its patterns, possible lengths and prefixes).
///
/// The crate's own `parse` and `is_valid` depart from libphonenumber in ways that change
/// verdicts; the differential test against the phonenumbers port (`.ci/differential`, with the
/// metadata version of the crate) found them:
///
/// - A descriptor accepts a national number when its pattern matches a *prefix* of it (a `find`
///   that starts at 0), where libphonenumber requires the whole number to match: `+20 3 3406
///   7890` has one digit more than Alexandria's numbers (`3` and seven digits), and nine digits
///   is a possible length of Egyptian fixed lines (Cairo's), so it passed.
/// - Its parser takes a national prefix off whenever the number starts with one.
///   libphonenumber keeps the number whole when it fits the region's general pattern and the
///   rest would not, or when the rest has no possible length: `+7 800 123 4567` (toll free in
///   Russia, whose national prefix is 8) became `001234567` and failed.
///
/// Besides, the crate's patterns are compiled behind one global lock into a 100-entry cache that
/// recompiles evicted ones; these rules compile each pattern they use once.
#[cfg(feature = "phone")]
mod libphone {
    use std::collections::HashMap;
    use std::ops::Range;
    use std::sync::{OnceLock, PoisonError, RwLock};

    use phonenumber::country::Id;
    use phonenumber::metadata::{Database, Descriptor, Descriptors, Metadata, DATABASE};
    use regex_automata::meta::Regex;
    use regex_automata::util::captures::Captures;
    use regex_automata::util::syntax;
    use regex_automata::{Anchored, Input};

    /// Lengths of the national significant numbers libphonenumber parses.
    const NSN_LENGTHS: Range<usize> = 2..18;

    fn db() -> &'static Database {
        &DATABASE
    }

    /// The digits of a number written with the usual separators (spaces, dashes, dots, slashes,
    /// brackets), or `None` if it holds anything else.
    pub(super) fn digits(text: &str) -> Option<String> {
        let mut digits = String::with_capacity(text.len());
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else if !is_separator(c) {
                return None;
            }
        }
        Some(digits)
    }

    fn is_separator(c: char) -> bool {
        c.is_whitespace()
            || matches!(
                c,
                '-' | '.'
                    | '/'
                    | '('
                    | ')'
                    | '['
                    | ']'
                    | '~'
                    | '\u{2010}'..='\u{2015}'
                    | '\u{2212}'
                    | '\u{FF08}'
                    | '\u{FF09}'
                    | '\u{FF0D}'..='\u{FF0F}'
            )
    }

    /// Whether `digits`, what follows a `+`, is a valid number: a calling code, then a national
    /// significant number that the metadata of the code's region for it gives a type.
    pub(super) fn international_is_valid(digits: &str) -> bool {
        international(digits).is_some_and(|(code, nsn)| is_valid(code, &nsn))
    }

    /// Whether `digits`, dialled in `region` (a national number, or the region's international
    /// prefix and an international one), is a valid number.
    ///
    /// libphonenumber also takes the region's calling code off a national number that starts
    /// with it when that makes it fit; `phone_number_national` never asks about such a number
    /// (a trunk 0, or ten NANP digits from 2 to 9, where no calling code starts).
    pub(super) fn national_is_valid(region: Id, digits: &str) -> bool {
        let Some(meta) = db().by_id(region.as_ref()) else {
            return false;
        };
        if let Some(end) = meta
            .international_prefix()
            .and_then(|idd| match_at_start(idd.as_str(), digits))
            .and_then(|caps| caps.get_match())
            .map(|m| m.end())
        {
            let rest = &digits[end..];
            // A calling code does not start with 0: then it was no international prefix.
            if !rest.starts_with('0') {
                return international_is_valid(rest);
            }
        }
        is_valid(meta.country_code(), &national_significant(meta, digits))
    }

    /// The calling code and national significant number of the digits after a `+`.
    fn international(digits: &str) -> Option<(u16, String)> {
        // Three digits at least, and calling codes do not start with 0.
        if digits.len() <= 2 || digits.starts_with('0') {
            return None;
        }
        let db = db();
        let (code, rest) = (1..=3).find_map(|n| {
            let code = digits.get(..n)?.parse::<u16>().ok()?;
            db.region(&code).map(|_| (code, &digits[n..]))
        })?;
        // The national prefix is read with the metadata of the code's main region.
        let main = db.by_code(&code)?.into_iter().next()?;
        Some((code, national_significant(main, rest)))
    }

    /// Whether the national significant number `nsn` under calling code `code` is valid: the
    /// region it belongs to (see [`region_for`]) gives it a type.
    fn is_valid(code: u16, nsn: &str) -> bool {
        NSN_LENGTHS.contains(&nsn.len()) && region_for(code, nsn).is_some_and(|m| has_type(m, nsn))
    }

    /// The metadata that judges `nsn` under `code`: the code's only region (or its
    /// non-geographic entity), else the first of its regions whose leading digits start `nsn`,
    /// or, for a region without leading digits, that gives `nsn` a type.
    fn region_for(code: u16, nsn: &str) -> Option<&'static Metadata> {
        let db = db();
        let regions = db.region(&code)?;
        match regions[..] {
            ["001"] => db.by_code(&code)?.into_iter().next(),
            [region] => db.by_id(region),
            _ => regions
                .into_iter()
                .filter_map(|region| db.by_id(region))
                .find(|meta| match meta.leading_digits() {
                    Some(leading) => match_at_start(leading.as_str(), nsn).is_some(),
                    None => has_type(meta, nsn),
                }),
        }
    }

    /// Whether `nsn` has a type in `meta` (libphonenumber's number type is not `UNKNOWN`): the
    /// whole of it matches the general pattern and one type's pattern, at one of that type's
    /// possible lengths. Every type lists its lengths, all among the general ones, so the
    /// general lengths need no check of their own.
    fn has_type(meta: &'static Metadata, nsn: &str) -> bool {
        let d = meta.descriptors();
        if !matches_whole(d.general().national_number().as_str(), nsn) {
            return false;
        }
        let other_types = [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ];
        if other_types.into_iter().any(|desc| is_of(desc, nsn)) || is_of(d.fixed_line(), nsn) {
            return true;
        }
        // A mobile pattern that is the fixed-line one is not tried again (with its own lengths).
        let pattern =
            |desc: Option<&'static Descriptor>| desc.map(|d| d.national_number().as_str());
        pattern(d.fixed_line()) != pattern(d.mobile()) && is_of(d.mobile(), nsn)
    }

    /// Whether `nsn` is of the type `desc` describes: one of its possible lengths, and the
    /// whole of it matching its pattern.
    fn is_of(desc: Option<&'static Descriptor>, nsn: &str) -> bool {
        desc.is_some_and(|desc| {
            let lengths = desc.possible_length();
            (lengths.is_empty() || u16::try_from(nsn.len()).is_ok_and(|n| lengths.contains(&n)))
                && matches_whole(desc.national_number().as_str(), nsn)
        })
    }

    /// The national significant number in `number`, a national number of `meta`'s region: without
    /// its national prefix (see [`strip_national_prefix`]) if what remains has a possible length
    /// of the region, or is longer than all of them; else `number` itself.
    fn national_significant(meta: &'static Metadata, number: &str) -> String {
        match strip_national_prefix(meta, number) {
            Some(rest) if length_kept(meta, &rest) => rest,
            _ => number.to_owned(),
        }
    }

    /// `number` without the national prefix it starts with (`nationalPrefixForParsing`, else the
    /// national prefix), rewritten by `nationalPrefixTransformRule` if the region has one and the
    /// prefix pattern's last group took part. `None` if it has no prefix, or if it fits the
    /// region's general pattern and the rest would not.
    fn strip_national_prefix(meta: &'static Metadata, number: &str) -> Option<String> {
        if number.is_empty() {
            return None;
        }
        // Group 0, the whole prefix, then the pattern's groups.
        let groups: Vec<Option<Range<usize>>> = match meta.national_prefix_for_parsing() {
            Some(pattern) => {
                let caps = match_at_start(pattern.as_str(), number)?;
                (0..caps.group_len())
                    .map(|i| caps.get_group(i).map(|span| span.range()))
                    .collect()
            }
            None => {
                let prefix = meta.national_prefix().filter(|p| !p.is_empty())?;
                vec![Some(0..number.strip_prefix(prefix).map(|_| prefix.len())?)]
            }
        };
        let end = groups.first()?.as_ref()?.end;
        let rest = match meta.national_prefix_transform_rule() {
            Some(rule) if !rule.is_empty() && groups.last().is_some_and(Option::is_some) => {
                expand(rule, &groups, number) + &number[end..]
            }
            _ => number[end..].to_owned(),
        };
        let general = meta.descriptors().general().national_number().as_str();
        if matches_whole(general, number) && !matches_whole(general, &rest) {
            return None;
        }
        Some(rest)
    }

    /// A transform rule with each `$n` replaced by group n of the prefix match (the metadata's
    /// replacement syntax: the longest run of digits that names a group, `\` quotes).
    fn expand(rule: &str, groups: &[Option<Range<usize>>], number: &str) -> String {
        let mut out = String::new();
        let mut chars = rule.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.extend(chars.next()),
                '$' => {
                    let mut group = None::<usize>;
                    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                        let longer = group.unwrap_or(0) * 10 + d as usize;
                        if group.is_some() && longer >= groups.len() {
                            break;
                        }
                        group = Some(longer);
                        chars.next();
                    }
                    match group {
                        Some(i) => {
                            if let Some(Some(span)) = groups.get(i) {
                                out.push_str(&number[span.clone()]);
                            }
                        }
                        None => out.push('$'),
                    }
                }
                c => out.push(c),
            }
        }
        out
    }

    /// The descriptors of each number type of a region (those it has).
    fn number_types(d: &Descriptors) -> [Option<&Descriptor>; 10] {
        [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
    }

    /// Whether libphonenumber's parser keeps `number` as the national significant number for
    /// `meta`'s region: not a local-only length, and a possible length or longer than all
    /// (libphonenumber's length test, on the general lengths: all its types' lengths).
    fn length_kept(meta: &'static Metadata, number: &str) -> bool {
        let types = number_types(meta.descriptors());
        let types = types.iter().flatten();
        let Ok(n) = u16::try_from(number.len()) else {
            return false;
        };
        let possible = types.clone().any(|t| t.possible_length().contains(&n));
        let local_only = !possible
            && types
                .clone()
                .any(|t| t.possible_local_length().contains(&n));
        let longest = types.flat_map(|t| t.possible_length()).max();
        !local_only && (possible || longest.is_some_and(|&max| n > max))
    }

    /// How a metadata pattern is matched: against the whole number (libphonenumber's
    /// `matches`), or from its start (`lookingAt`).
    #[derive(Clone, Copy, PartialEq, Eq, Hash)]
    enum Anchor {
        Whole,
        Start,
    }

    fn matches_whole(pattern: &'static str, number: &str) -> bool {
        compiled(pattern, Anchor::Whole).is_some_and(|re| re.is_match(number))
    }

    /// The match of `pattern` at the start of `number`, with its groups.
    fn match_at_start(pattern: &'static str, number: &str) -> Option<Captures> {
        let re = compiled(pattern, Anchor::Start)?;
        let mut caps = re.create_captures();
        re.search_captures(&Input::new(number).anchored(Anchored::Yes), &mut caps);
        caps.is_match().then_some(caps)
    }

    /// A metadata pattern, compiled once per anchoring. The metadata lives as long as the
    /// program, so a pattern's address and length identify it; its whitespace is layout (as in
    /// the crate, which compiles with `x`), and numbers are ASCII digits.
    fn compiled(pattern: &'static str, anchor: Anchor) -> Option<Regex> {
        type Cache = RwLock<HashMap<(usize, usize, Anchor), Option<Regex>>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(Cache::default);
        let key = (pattern.as_ptr() as usize, pattern.len(), anchor);
        if let Some(re) = cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return re.clone();
        }
        let source = match anchor {
            Anchor::Whole => format!("^(?:{pattern})$"),
            Anchor::Start => pattern.to_owned(),
        };
        let re = Regex::builder()
            .syntax(
                syntax::Config::new()
                    .ignore_whitespace(true)
                    .unicode(false)
                    .utf8(false),
            )
            .build(&source)
            .ok();
        cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, re.clone());
        re
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// A pattern that did not compile would match nothing, silently: every pattern these
        /// rules use compiles, in every region and non-geographic entity.
        #[test]
        fn metadata_patterns_compile() {
            let mut n = 0;
            for code in 1..1000 {
                for meta in db().by_code(&code).unwrap_or_default() {
                    let d = meta.descriptors();
                    let whole =
                        std::iter::once(d.general()).chain(number_types(d).into_iter().flatten());
                    for desc in whole {
                        let pattern = desc.national_number().as_str();
                        assert!(compiled(pattern, Anchor::Whole).is_some(), "{pattern}");
                    }
                    let start = [
                        meta.leading_digits(),
                        meta.national_prefix_for_parsing(),
                        meta.international_prefix(),
                    ];
                    for pattern in start.into_iter().flatten() {
                        let pattern = pattern.as_str();
                        assert!(compiled(pattern, Anchor::Start).is_some(), "{pattern}");
                    }
                    n += 1;
                }
            }
            assert!(n > 240, "{n} regions");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Network and device addresses

fn parse_ip(value: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4(value) {
        return Some(IpAddr::V4(v4));
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A dotted-quad IPv4 address as the standard library reads one (four decimal groups of one
/// to three digits, each at most 255, no leading zero), without its general parser: the IPv4
/// addresses of a log are many. `None` for anything else, which the general parser then reads.
fn parse_ipv4(value: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut groups = value.split(|&b| b == b'.');
    for octet in &mut octets {
        let group = groups.next()?;
        if group.is_empty()
            || group.len() > 3
            || (group.len() > 1 && group[0] == b'0')
            || !group.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        let n = group
            .iter()
            .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
        *octet = u8::try_from(n).ok()?;
    }
    if groups.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// How an IPv4 address counts: `None` if never a finding, `Some(true)` if a finding on its
/// own, `Some(false)` only with context.
fn ipv4_class(ip: Ipv4Addr) -> Option<bool> {
    let [a, b, c, _] = ip.octets();
    let never = a == 0
        || a == 127
        || a >= 224
        || (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b & 0xfe) == 18);
    if never {
        return None;
    }
    let internal = a == 10
        || (a == 172 && (16..=31).contains(&b))
        || (a == 192 && b == 168)
        || (a == 100 && (64..=127).contains(&b))
        || (a == 169 && b == 254);
    // `1.2.3.4` in `version 1.2.3.4`: versions have a one-digit major number far more often
    // than addresses do.
    let version_like = a < 10;
    Some(!internal && !version_like)
}

fn ipv6_ok(ip: Ipv6Addr, text: &[u8]) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return ipv4_class(v4) == Some(true);
    }
    let s = ip.segments();
    let never = ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] == 0x2001 && s[1] == 0x0db8);
    // `a::b`, `f32::` and `dead::beef` are paths and words in code, `12:30::45` a time: an
    // address has a digit and a group of three or more characters.
    let long_group = text.split(|&b| b == b':').any(|group| group.len() >= 3);
    !never && long_group && text.iter().any(u8::is_ascii_digit)
}

fn ip_address(value: &[u8]) -> bool {
    match parse_ip(value) {
        Some(IpAddr::V4(ip)) => ipv4_class(ip) == Some(true),
        Some(IpAddr::V6(ip)) => ipv6_ok(ip, value),
        None => false,
    }
}

fn ip_address_weak(value: &[u8]) -> bool {
    matches!(parse_ip(value), Some(IpAddr::V4(ip)) if ipv4_class(ip) == Some(false))
}

fn mac_address(value: &[u8]) -> bool {
    let mut bytes = [0u8; 6];
    let mut nibbles = 0;
    let mut sep = None;
    for &b in value {
        let v = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            b':' | b'-' | b'.' => {
                // One separator kind only.
                if sep.replace(b).is_some_and(|s| s != b) {
                    return false;
                }
                continue;
            }
            _ => return false,
        };
        let Some(slot) = bytes.get_mut(nibbles / 2) else {
            return false;
        };
        *slot = (*slot << 4) | v;
        nibbles += 1;
    }
    // Not all zero, not broadcast, not one byte repeated (placeholders).
    nibbles == 12 && bytes.iter().any(|&b| b != bytes[0])
}

fn imei(value: &[u8]) -> bool {
    digits(value).is_some_and(|d| d.len() == 15 && luhn(&d) && d.iter().any(|&x| x != d[0]))
}

/// The ISO 3779 value of a VIN character (I, O and Q are not used).
fn vin_value(b: u8) -> Option<u32> {
    Some(match b {
        b'0'..=b'9' => u32::from(b - b'0'),
        b'A'..=b'H' => u32::from(b - b'A') + 1,
        b'J'..=b'N' => u32::from(b - b'J') + 1,
        b'P' => 7,
        b'R' => 9,
        b'S'..=b'Z' => u32::from(b - b'S') + 2,
        _ => return None,
    })
}

/// Whether `value` is 17 VIN characters with letters and digits (not a word, not a number),
/// and if so whether its check digit holds.
fn vin_check(value: &[u8]) -> Option<bool> {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    if value.len() != 17
        || !value.iter().any(u8::is_ascii_digit)
        || !value.iter().any(u8::is_ascii_uppercase)
        // The last four characters of the serial are digits for every manufacturer.
        || !value[13..].iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let mut sum = 0;
    for (&b, w) in value.iter().zip(WEIGHTS) {
        sum += vin_value(b)? * w;
    }
    let check = match sum % 11 {
        10 => b'X',
        r => b'0' + r as u8,
    };
    Some(value[8] == check)
}

fn vin(value: &[u8]) -> bool {
    vin_check(value) == Some(true)
}

fn vin_unchecked(value: &[u8]) -> bool {
    vin_check(value) == Some(false)
}

// ---------------------------------------------------------------------------------------------
// Dates of birth

/// Month names and abbreviations (English, German, French, Spanish), lower case.
const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("janvier", 1),
    ("janv", 1),
    ("enero", 1),
    ("ene", 1),
    ("february", 2),
    ("feb", 2),
    ("februar", 2),
    ("février", 2),
    ("fevrier", 2),
    ("févr", 2),
    ("febrero", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("maerz", 3),
    ("mär", 3),
    ("mars", 3),
    ("marzo", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("avr", 4),
    ("abril", 4),
    ("abr", 4),
    ("may", 5),
    ("mai", 5),
    ("mayo", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("juin", 6),
    ("junio", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("juillet", 7),
    ("juil", 7),
    ("julio", 7),
    ("august", 8),
    ("aug", 8),
    ("août", 8),
    ("aout", 8),
    ("agosto", 8),
    ("ago", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("septiembre", 9),
    ("setiembre", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("okt", 10),
    ("octobre", 10),
    ("octubre", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("december", 12),
    ("dec", 12),
    ("dezember", 12),
    ("dez", 12),
    ("décembre", 12),
    ("decembre", 12),
    ("déc", 12),
    ("diciembre", 12),
    ("dic", 12),
];

/// The current year (UTC), from the system clock.
fn current_year() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Mean Gregorian year of 365.2425 days: off by at most a day around New Year.
    1970 + (secs / 31_556_952) as u32
}

fn date_of_birth(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let mut numbers: [(u32, usize); 3] = [(0, 0); 3];
    let mut n = 0;
    let mut month_name = None;
    let lower = text.to_lowercase();
    for token in lower.split(|c: char| !c.is_alphanumeric()) {
        if token.is_empty() || token == "de" {
            continue;
        }
        let digits_end = token
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(token.len());
        if digits_end > 0 {
            // `12th`, `1st`: the ordinal suffix goes.
            if !matches!(&token[digits_end..], "" | "st" | "nd" | "rd" | "th") {
                return false;
            }
            let Some(slot) = numbers.get_mut(n) else {
                return false;
            };
            let Ok(v) = token[..digits_end].parse::<u32>() else {
                return false;
            };
            *slot = (v, digits_end);
            n += 1;
        } else {
            let Some(&(_, m)) = MONTHS.iter().find(|(name, _)| *name == token) else {
                return false;
            };
            if month_name.replace(m).is_some() {
                return false;
            }
        }
    }
    let now = current_year();
    let plausible = |y: u32, m: u32, d: u32| y <= now && y + 120 >= now && valid_date(y, m, d);
    match (month_name, n) {
        (Some(m), 2) => {
            let (day, year) = if numbers[0].1 == 4 {
                (numbers[1].0, numbers[0].0)
            } else {
                (numbers[0].0, numbers[1].0)
            };
            plausible(year, m, day)
        }
        (None, 3) => {
            let [(a, la), (b, _), (c, lc)] = numbers;
            if la == 4 {
                plausible(a, b, c)
            } else {
                // Day first (most of the world) or month first (the US).
                lc == 4 && (plausible(c, b, a) || plausible(c, a, b))
            }
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Machine-readable zones

/// Whether `field`'s ICAO 9303 check digit is `check` (a filler `<` counts as 0).
fn icao_ok(field: &[u8], check: u8) -> bool {
    let want = match check {
        b'0'..=b'9' => check - b'0',
        b'<' => 0,
        _ => return false,
    };
    icao_check(field) == Some(want)
}

fn passport_mrz(value: &[u8]) -> bool {
    let mut lines = [&[][..]; 3];
    let mut n = 0;
    for line in value.split(|&b| b == b'\n') {
        let Some(slot) = lines.get_mut(n) else {
            return false;
        };
        *slot = line.strip_suffix(b"\r").unwrap_or(line);
        n += 1;
    }
    let concat = |parts: &[&[u8]]| -> Vec<u8> { parts.concat() };
    match (n, lines[0].len()) {
        // TD3 (passports): 2 x 44.
        (2, 44) if lines[1].len() == 44 => {
            let l = lines[1];
            icao_ok(&l[0..9], l[9])
                && icao_ok(&l[13..19], l[19])
                && icao_ok(&l[21..27], l[27])
                && icao_ok(&l[28..42], l[42])
                && icao_ok(&concat(&[&l[0..10], &l[13..20], &l[21..43]]), l[43])
        }
        // TD2: 2 x 36.
        (2, 36) if lines[1].len() == 36 => {
            let l = lines[1];
            icao_ok(&l[0..9], l[9])
                && icao_ok(&l[13..19], l[19])
                && icao_ok(&l[21..27], l[27])
                && icao_ok(&concat(&[&l[0..10], &l[13..20], &l[21..35]]), l[35])
        }
        // TD1 (identity cards): 3 x 30.
        (3, 30) if lines[1].len() == 30 && lines[2].len() == 30 => {
            let (a, b) = (lines[0], lines[1]);
            icao_ok(&a[5..14], a[14])
                && icao_ok(&b[0..6], b[6])
                && icao_ok(&b[8..14], b[14])
                && icao_ok(
                    &concat(&[&a[5..30], &b[0..7], &b[8..15], &b[18..29]]),
                    b[29],
                )
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{assert_cases, Case};

    /// The IPv4 fast path reads exactly what the standard library's parser reads.
    #[test]
    fn the_ipv4_fast_path_equals_the_standard_parser() {
        let mut rng = crate::test_rng::Rng::new(0x1F4);
        let alphabet = b"0123456789....25:a";
        for _ in 0..200_000 {
            let len = 1 + (rng.next() % 18) as usize;
            let value = rng.bytes(alphabet, len);
            let std = std::str::from_utf8(&value)
                .ok()
                .and_then(|t| t.parse::<Ipv4Addr>().ok());
            assert_eq!(
                parse_ipv4(&value),
                std,
                "{}",
                String::from_utf8_lossy(&value)
            );
        }
        for value in [
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
        ] {
            let std = value.parse::<Ipv4Addr>().ok();
            assert_eq!(parse_ipv4(value.as_bytes()), std, "{value}");
        }
    }

    #[test]
    fn published_examples() {
        let cases: &[Case] = &[
            // Ofcom's drama numbers, a Berlin number, NANP fiction range (invalid area code).
            (phone_number, "+44 20 7946 0958", true),
            (phone_number, "+49 30 901820", true),
            (phone_number, "+1 555 123 4567", false),
            (phone_number, "+44 20 7946 095", false),
            (phone_number, "020 7946 0958", false),
            (phone_number_national, "020 7946 0958", true),
            (phone_number_national, "(555) 123-4567", false),
            // Toll-free numbers that start with the national prefix (8 in Russia and Belarus, 0
            // or 8 in Lithuania): it is not taken off a number that would then no longer fit.
            (phone_number, "+7 800 123-45-67", true),
            (phone_number, "+375 801 123 4567", true),
            (phone_number, "+370 800 12345", true),
            // Alexandria's numbers are 3 and seven digits; Cairo's (2 and eight) are longer, but
            // the whole number must fit one pattern.
            (phone_number, "+20 3 4067890", true),
            (phone_number, "+20 3 3406 7890", false),
            // The national prefix after the country code, as often written in Britain; an
            // international prefix before a national number.
            (phone_number, "+44 (0)20 7946 0958", true),
            (phone_number_national, "0049 30 901820", true),
            (phone_number, "+0 20 7946 0958", false),
            (ip_address, "203.0.114.7", true),
            (ip_address, "203.0.113.7", false),
            (ip_address, "1.2.3.4", false),
            (ip_address, "10.1.2.3", false),
            (ip_address, "127.0.0.1", false),
            (ip_address, "255.255.255.0", false),
            (ip_address, "2a00:1450:4001:82b::200e", true),
            (ip_address, "2001:db8::1", false),
            (ip_address, "::1", false),
            (ip_address, "a::b", false),
            (ip_address, "dead::beef", false),
            (ip_address, "12:30::45", false),
            (ip_address_weak, "1.2.3.4", true),
            (ip_address_weak, "10.1.2.3", true),
            (ip_address_weak, "203.0.114.7", false),
            (ip_address_weak, "127.0.0.1", false),
            (mac_address, "00:1A:2B:3C:4D:5E", true),
            (mac_address, "00-1a-2b-3c-4d-5e", true),
            (mac_address, "001a.2b3c.4d5e", true),
            (mac_address, "ff:ff:ff:ff:ff:ff", false),
            (mac_address, "00:00:00:00:00:00", false),
            (mac_address, "00:1A-2B:3C:4D:5E", false),
            // IMEI: the common example 49-015420-323751-8.
            (imei, "490154203237518", true),
            (imei, "49-015420-323751-8", true),
            (imei, "490154203237519", false),
            // VIN: the check-digit example of 49 CFR 565.
            (vin, "1M8GDM9AXKP042788", true),
            (vin, "1M8GDM9A1KP042788", false),
            (vin_unchecked, "1M8GDM9A1KP042788", true),
            (vin_unchecked, "1M8GDM9AXKP042788", false),
            (vin, "11111111111111111", false),
            (date_of_birth, "1985-03-12", true),
            (date_of_birth, "12/03/1985", true),
            (date_of_birth, "03/25/1985", true),
            (date_of_birth, "12. März 1985", true),
            (date_of_birth, "March 12th, 1985", true),
            (date_of_birth, "12 de marzo de 1985", true),
            (date_of_birth, "31/02/1985", false),
            (date_of_birth, "12/03/1850", false),
            (date_of_birth, "12/03/2999", false),
            (date_of_birth, "12 apples 1985", false),
            // ICAO 9303 specimens (Utopia).
            (
                passport_mrz,
                "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10",
                true,
            ),
            (
                passport_mrz,
                "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<11",
                false,
            ),
            (
                passport_mrz,
                "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\r\nD231458907UTO7408122F1204159<<<<<<<6",
                true,
            ),
            (
                passport_mrz,
                "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<",
                true,
            ),
        ];
        assert_cases(cases);
    }

    #[test]
    fn phone_check_is_fast_enough_per_candidate() {
        // The check runs once per candidate; keep it to microseconds (debug builds are slower,
        // so the bound is loose: it catches a regression to milliseconds).
        let _ = phone_number(b"+44 20 7946 0958");
        let start = std::time::Instant::now();
        for _ in 0..200 {
            assert!(phone_number(b"+44 20 7946 0958"));
        }
        let each = start.elapsed() / 200;
        assert!(each < std::time::Duration::from_millis(2), "{each:?}");
    }
}
