//! A decoy corpus: text full of what real files hold that looks like sensitive data but is not
//! (timestamps, order and invoice numbers, phone-like serials, UUIDs, hashes, version strings,
//! ISBN/EAN barcodes that pass mod 10, GPS coordinates, IP addresses of logs, product codes,
//! placeholders, hex dumps, upper-case prose), seeded and deterministic. Tests measure the
//! false-positive rate of the detector library on it, per category; `dlp bench` measures
//! throughput on it. It plants nothing: every finding on it is a false positive, or a value
//! that is sensitive-shaped by design and reported at low confidence (a test key such as
//! `sk_test_...`).

use crate::corpus::Rng;

/// Random digits and hex for the decoy lines.
trait Draw {
    fn below64(&mut self, n: u64) -> u64;
    fn digits(&mut self, n: usize) -> String;
    fn hex(&mut self, n: usize) -> String;
}

impl Draw for Rng {
    fn below64(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16)]))
            .collect()
    }
}

const WORDS: &[&str] = &[
    "order",
    "shipped",
    "invoice",
    "total",
    "status",
    "build",
    "release",
    "the",
    "report",
    "quarterly",
    "warehouse",
    "customer",
    "ticket",
    "resolved",
    "pending",
    "device",
    "firmware",
    "version",
    "commit",
    "checksum",
    "latitude",
    "longitude",
    "barcode",
    "item",
    "price",
    "delivery",
    "meeting",
    "room",
    "floor",
    "reference",
    "batch",
    "lot",
    "serial",
    "request",
];

/// The EAN-13 check digit of 12 digits (mod 10, weights 1 and 3).
fn ean13(body: &str) -> char {
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// One decoy line.
fn line(rng: &mut Rng) -> String {
    let w = |rng: &mut Rng| rng.pick(WORDS);
    match rng.below64(20) {
        0 => format!(
            "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{}Z INFO {} {} took {} ms",
            1 + rng.below64(12),
            1 + rng.below64(28),
            rng.below64(24),
            rng.below64(60),
            rng.below64(60),
            rng.digits(3),
            w(rng),
            w(rng),
            rng.below64(5000)
        ),
        1 => format!(
            "{} order #{} invoice INV-{} total {}.{:02} EUR",
            w(rng),
            rng.digits(9),
            rng.digits(10),
            rng.below64(100_000),
            rng.below64(100)
        ),
        2 => format!(
            "{},{},{},{},{}",
            rng.digits(9),
            rng.digits(10),
            rng.digits(11),
            rng.digits(10),
            rng.digits(9)
        ),
        3 => format!(
            "id {}-{}-{}-{}-{} {}",
            rng.hex(8),
            rng.hex(4),
            rng.hex(4),
            rng.hex(4),
            rng.hex(12),
            w(rng)
        ),
        4 => format!("sha256 {} md5 {}", rng.hex(64), rng.hex(32)),
        5 => format!("commit {} {}", rng.hex(40), w(rng)),
        6 => format!(
            "version {}.{}.{}.{} build {}",
            rng.below64(20),
            rng.below64(50),
            rng.below64(100),
            rng.below64(10_000),
            rng.digits(8)
        ),
        7 => {
            let body = format!("978{}", rng.digits(9));
            let ean = format!("{}{}", body, ean13(&body));
            let upc = rng.digits(12);
            format!("ISBN {ean} barcode {upc} {}", w(rng))
        }
        8 => format!(
            "{} at {}.{:06}, {}.{:06}",
            w(rng),
            rng.below64(90),
            rng.below64(1_000_000),
            rng.below64(180),
            rng.below64(1_000_000)
        ),
        9 => format!(
            "{}.{}.{}.{} - - [10/Oct/2024:13:55:36 +0000] \"GET /{} HTTP/1.1\" 200 {}",
            10 + rng.below64(200),
            rng.below64(256),
            rng.below64(256),
            1 + rng.below64(254),
            w(rng),
            rng.below64(100_000)
        ),
        10 => format!(
            "SKU {}-{}-{} product code {}{} serial SN{}",
            rng.pick(&["AB", "XK", "ZT", "QM"]),
            rng.digits(4),
            rng.digits(3),
            rng.pick(&["PRD", "ITM", "REF"]),
            rng.digits(8),
            rng.digits(11)
        ),
        11 => format!(
            "api_key = \"{}\" token: {} secret=<your-secret-here> password: ********",
            rng.pick(&["<your-key>", "xxxxxxxxxxxxxxxx", "YOUR_API_KEY", "changeme"]),
            rng.pick(&["${TOKEN}", "{{ token }}", "REPLACE_ME", "null"])
        ),
        12 => format!(
            "call +1 ext {} or room {} floor {} ref {}",
            rng.digits(4),
            rng.digits(3),
            rng.below64(40),
            rng.digits(7)
        ),
        13 => format!(
            "0x{} 0x{} 0x{} {}",
            rng.hex(16),
            rng.hex(8),
            rng.hex(8),
            w(rng)
        ),
        14 => {
            let caps: Vec<String> = (0..8).map(|_| w(rng).to_ascii_uppercase()).collect();
            format!(
                "{} {}",
                caps.join(" "),
                rng.pick(&["NOTICE", "WARNING", "ATTENTION"])
            )
        }
        15 => format!(
            "tracking 1Z{} package {} weight {}.{} kg",
            rng.digits(16),
            rng.digits(12),
            rng.below64(50),
            rng.below64(10)
        ),
        16 => format!(
            "{} phone-like serial {}-{}-{} lot {}",
            w(rng),
            rng.digits(3),
            rng.digits(3),
            rng.digits(4),
            rng.digits(6)
        ),
        17 => format!(
            "epoch {} ms {} {}",
            1_600_000_000 + rng.below64(200_000_000),
            rng.digits(13),
            w(rng)
        ),
        18 => format!(
            "base64 {} {}",
            (0..44)
                .map(|_| char::from(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                        [rng.below64(64) as usize]
                ))
                .collect::<String>(),
            w(rng)
        ),
        _ => (0..12).map(|_| w(rng)).collect::<Vec<_>>().join(" "),
    }
}

/// About `size` bytes (never fewer) of decoy lines, the same for the same seed.
pub fn generate(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed ^ 0xDEC0_15EE_D00D_F00D);
    let mut out = String::with_capacity(size + 256);
    while out.len() < size {
        out.push_str(&line(&mut rng));
        out.push('\n');
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn deterministic() {
        assert_eq!(super::generate(50_000, 1), super::generate(50_000, 1));
        assert_ne!(super::generate(50_000, 1), super::generate(50_000, 2));
    }
}
