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
    Input {
        name: "csv-of-ids",
        description: "a CSV of 9 to 11 digit numbers, the shape of many national ids",
        generate: csv_of_ids,
    },
    Input {
        name: "log-timestamps-ips",
        description: "log lines of timestamps and IPv4 addresses",
        generate: log_lines,
    },
    Input {
        name: "hex-hashes",
        description: "a file of hex hashes (SHA-256, SHA-1, MD5)",
        generate: hex_hashes,
    },
    Input {
        name: "upper-case-words",
        description: "a page of upper-case words (the shape of codes and ids of letters)",
        generate: upper_case_words,
    },
];

/// Lines of comma-separated numbers of 9 to 11 digits.
fn csv_of_ids(n: usize) -> Vec<u8> {
    let mut rng = SplitMix(17);
    let mut out = Vec::with_capacity(n + 64);
    while out.len() < n {
        for col in 0..6 {
            let len = 9 + (rng.next() % 3) as usize;
            for _ in 0..len {
                out.push(b'0' + (rng.next() % 10) as u8);
            }
            out.push(if col == 5 { b'\n' } else { b',' });
        }
    }
    out
}

/// Access-log lines: an ISO timestamp, an IPv4 address, a status and a size.
fn log_lines(n: usize) -> Vec<u8> {
    let mut rng = SplitMix(23);
    let mut out = Vec::with_capacity(n + 128);
    while out.len() < n {
        let r = rng.next();
        let line = format!(
            "2024-{:02}-{:02}T{:02}:{:02}:{:02}Z {}.{}.{}.{} GET /api/v1/items 200 {}\n",
            1 + r % 12,
            1 + (r >> 8) % 28,
            (r >> 16) % 24,
            (r >> 24) % 60,
            (r >> 32) % 60,
            10 + (r >> 40) % 200,
            (r >> 48) % 256,
            (r >> 56) % 256,
            1 + r % 254,
            r % 100_000
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

/// Hex hashes of three lengths, one per line.
fn hex_hashes(n: usize) -> Vec<u8> {
    let mut rng = SplitMix(29);
    let mut out = Vec::with_capacity(n + 80);
    let mut k = 0;
    while out.len() < n {
        let len = [64, 40, 32][k % 3];
        k += 1;
        for _ in 0..len {
            out.push(b"0123456789abcdef"[(rng.next() % 16) as usize]);
        }
        out.push(b'\n');
    }
    out
}

/// Upper-case words of 2 to 12 letters, separated by spaces.
fn upper_case_words(n: usize) -> Vec<u8> {
    let mut rng = SplitMix(31);
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        let len = 2 + (rng.next() % 11) as usize;
        for _ in 0..len {
            out.push(b'A' + (rng.next() % 26) as u8);
        }
        out.push(if rng.next() % 12 == 0 { b'\n' } else { b' ' });
    }
    out
}

fn repeat(unit: &[u8], n: usize) -> Vec<u8> {
    unit.iter().copied().cycle().take(n).collect()
}

/// A SplitMix64 state, for the generators that hold one.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        next(&mut self.0)
    }
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
