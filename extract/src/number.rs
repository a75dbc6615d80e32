//! How spreadsheet readers (`ooxml`, `odf`, `xls`) show a stored number: [`number_display`]
//! (for numbers stored as text) and [`float_display`] (for binary ones) write integral values
//! without exponent or decimals, so that a card number stored as a float comes out as its
//! digits.
//!
//! A leaf: it imports no other module of this crate.

use std::borrow::Cow;

/// A numeric cell as the user sees it in the common case: integral values without exponent
/// or decimals (`4.111111111111111E+15` → `4111111111111111`), others as stored.
pub(crate) fn number_display(raw: &str) -> Cow<'_, str> {
    let t = raw.trim();
    if t.contains(['E', 'e', '.']) {
        if let Ok(f) = t.parse::<f64>() {
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
                return Cow::Owned(format!("{f:.0}"));
            }
        }
    }
    Cow::Borrowed(t)
}

/// A binary floating-point cell by the same rules as [`number_display`]: integral values
/// below 10^21 as their digits, others in the shortest form that reads back the same (with an
/// exponent only past 10^21 or below 10^-9, as Excel writes them).
pub(crate) fn float_display(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e21 {
        // `{:.0}` of -0.0 is "-0".
        return format!("{:.0}", value + 0.0);
    }
    let magnitude = value.abs();
    if value.is_finite() && !(1e-9..1e21).contains(&magnitude) {
        format!("{value:E}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_shown() {
        for (raw, want) in [
            ("4111111111111111", "4111111111111111"),
            ("4.111111111111111E+15", "4111111111111111"),
            ("123456789", "123456789"),
            ("1.5", "1.5"),
            ("2.0", "2"),
            ("abc", "abc"),
        ] {
            assert_eq!(number_display(raw), want);
        }
    }

    #[test]
    fn floats_as_shown() {
        for (value, want) in [
            (4_111_111_111_111_111.0, "4111111111111111"),
            (5_555_555_555_554_444.0, "5555555555554444"),
            (1.5, "1.5"),
            (-2.0, "-2"),
            (-0.0, "0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e22, "1E22"),
            (1.5e-12, "1.5E-12"),
        ] {
            assert_eq!(float_display(value), want);
        }
    }
}
