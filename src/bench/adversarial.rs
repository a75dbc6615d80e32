//! Adversarial haystacks: inputs built to defeat a literal-first design (a trigger on every byte,
//! one endless candidate, or candidates that all fail validation). None holds a finding.

/// One adversarial input: its name and a generator of `len` bytes.
pub struct Input {
    /// Short name, as reported.
    pub name: &'static str,
    /// What it is, for the reader of the report.
    pub description: &'static str,
    generate: fn(usize) -> Vec<u8>,
}

impl Input {
    /// The haystack, exactly `len` bytes.
    pub fn generate(&self, len: usize) -> Vec<u8> {
        let mut v = (self.generate)(len);
        v.truncate(len);
        v
    }
}

/// Every adversarial input, in report order.
pub const INPUTS: &[Input] = &[
    Input {
        name: "digits",
        description: "one run of digits, no separator",
        generate: |n| repeat(b"0123456789", n),
    },
    Input {
        name: "at-signs",
        description: "`@` repeated",
        generate: |n| vec![b'@'; n],
    },
    Input {
        name: "akia",
        description: "`AKIA` repeated, no separator",
        generate: |n| repeat(b"AKIA", n),
    },
    Input {
        name: "base64-line",
        description: "one line of random base64",
        generate: base64_line,
    },
    Input {
        name: "pem-begin",
        description: "`-----BEGIN` repeated",
        generate: |n| repeat(b"-----BEGIN", n),
    },
    Input {
        name: "luhn-failing-cards",
        description: "card-shaped numbers (Visa, Mastercard, Amex prefixes) that all fail Luhn",
        generate: luhn_failing_cards,
    },
];

fn repeat(unit: &[u8], n: usize) -> Vec<u8> {
    unit.iter().copied().cycle().take(n).collect()
}

/// SplitMix64: deterministic, so every run scans the same bytes.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn base64_line(n: usize) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state = 64;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        let mut r = next(&mut state);
        for _ in 0..10 {
            out.push(ALPHABET[(r & 63) as usize]);
            r >>= 6;
        }
    }
    out
}

/// Numbers of real issuer prefixes and lengths, grouped as people write them, each with its last
/// digit chosen to fail the Luhn check.
fn luhn_failing_cards(n: usize) -> Vec<u8> {
    let mut state = 16;
    let mut out = Vec::with_capacity(n + 32);
    let mut digits = Vec::with_capacity(19);
    while out.len() < n {
        let r = next(&mut state);
        let (prefix, len): (&[u8], usize) = match r % 3 {
            0 => (b"4", 16),
            1 => (b"51", 16),
            _ => (b"37", 15),
        };
        digits.clear();
        digits.extend(prefix.iter().map(|d| d - b'0'));
        let mut r = next(&mut state);
        while digits.len() < len - 1 {
            digits.push((r % 10) as u8);
            r /= 10;
        }
        let check = luhn_check_digit(&digits);
        digits.push((check + 1 + (r % 9) as u8) % 10);
        let sep: &[u8] = match (r >> 8) % 3 {
            0 => b" ",
            1 => b"-",
            _ => b"",
        };
        for (i, d) in digits.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.extend_from_slice(sep);
            }
            out.push(b'0' + d);
        }
        // Between numbers, a separator that no card number contains, so each stays one number.
        out.extend_from_slice(if r & 1 == 0 { b"\n" } else { b", " });
    }
    out
}

/// The digit that makes `payload` followed by it pass the Luhn check.
fn luhn_check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit() {
        // 4111 1111 1111 1111 and 3782 822463 10005 are valid.
        assert_eq!(
            luhn_check_digit(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
            1
        );
        assert_eq!(
            luhn_check_digit(&[3, 7, 8, 2, 8, 2, 2, 4, 6, 3, 1, 0, 0, 0]),
            5
        );
    }

    #[test]
    fn exact_lengths() {
        for input in INPUTS {
            assert_eq!(input.generate(1000).len(), 1000, "{}", input.name);
        }
    }
}
