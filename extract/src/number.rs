//! How spreadsheet readers (`ooxml`, `odf`) show a stored number: [`number_display`] writes
//! integral values without exponent or decimals, so that a card number stored as a float comes
//! out as its digits.
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
}
