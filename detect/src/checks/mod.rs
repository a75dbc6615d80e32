//! Named checks that detectors (and users' rules) refer to by name in their data, such as
//! `validator = "in_aadhaar"`: checksums, letter tables, structure and date rules of national
//! ids, financial and health identifiers, contact data and tokens.
//!
//! Each area keeps its checks in its own module as a table of [`Check`]s; [`by_name`] looks a
//! name up in all of them. The arithmetic they share (Luhn, Verhoeff, ISO 7064, weighted sums,
//! ICAO 9303, calendar dates) is in `algo`. A check is a pure function of the matched bytes,
//! which may hold separators (spaces, dashes, dots, slashes) as the pattern allows them; it never
//! panics on any input.

pub(crate) mod algo;
mod contact;
mod financial;
mod health;
mod national;
mod secrets;

/// A check a detector can name.
#[derive(Debug)]
pub struct Check {
    /// The name used in detector data and rule files.
    pub name: &'static str,
    /// What it checks, for people (listed by `dlp detectors`).
    pub doc: &'static str,
    /// Whether a value passes.
    pub run: fn(&[u8]) -> bool,
}

impl PartialEq for Check {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// Every area's table.
const TABLES: [&[Check]; 6] = [
    algo::CHECKS,
    national::CHECKS,
    financial::CHECKS,
    health::CHECKS,
    contact::CHECKS,
    secrets::CHECKS,
];

/// The check named `name`, if there is one.
pub(crate) fn by_name(name: &str) -> Option<&'static Check> {
    TABLES
        .iter()
        .flat_map(|t| t.iter())
        .find(|c| c.name == name)
}

/// Every named check, for error messages and listings.
pub(crate) fn names() -> Vec<&'static str> {
    TABLES
        .iter()
        .flat_map(|t| t.iter())
        .map(|c| c.name)
        .collect()
}

/// A check, a value, and whether the check must accept it: the rows of the areas' tests.
#[cfg(test)]
pub(crate) type Case = (fn(&[u8]) -> bool, &'static str, bool);

/// Runs a table of [`Case`]s.
#[cfg(test)]
pub(crate) fn assert_cases(cases: &[Case]) {
    for &(check, value, want) in cases {
        assert_eq!(check(value.as_bytes()), want, "{value}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique() {
        let mut names = super::names();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a check name is used twice");
    }

    #[test]
    fn no_check_panics_on_odd_input() {
        let inputs: [&[u8]; 8] = [
            b"",
            b"0",
            b"-",
            b"\xff\xfe",
            b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            b"99999999999999999999999999999999999999999999999999",
            b"12-34 56.78/90",
            "é€𝄞".as_bytes(),
        ];
        for check in super::TABLES.iter().flat_map(|t| t.iter()) {
            for input in inputs {
                let _ = (check.run)(input);
            }
        }
    }
}
