//! Synthetic, deterministic text corpora for benchmarks and tests.
//!
//! [`generate`] mixes chat prose, source code, configuration files and CSV/log lines, with
//! sensitive values planted at a chosen density, and reports how many of each it planted, so a
//! benchmark can check its answer before it times anything. The same seed and size always give
//! the same bytes. The filler is written so that it holds no finding of its own but many near
//! misses (numbers, `@`, `sk-`, `-----BEGIN PUBLIC KEY-----`).

use std::collections::BTreeMap;

/// A generated corpus.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// The text.
    pub text: Vec<u8>,
    /// How many values of each built-in detector were planted.
    pub planted: BTreeMap<&'static str, usize>,
}

impl Corpus {
    /// All planted values.
    pub fn planted_total(&self) -> usize {
        self.planted.values().sum()
    }
}

/// Values planted in the corpus, by the detector that must find them. Each is found exactly once
/// by the built-in detectors, whatever surrounds it (it is planted between spaces).
pub const PLANTS: &[(&str, &str)] = &[
    ("credit_card", "4111 1111 1111 1111"),
    ("credit_card", "5555-5555-5555-4444"),
    ("credit_card", "378282246310005"),
    ("us_ssn", "536-22-8813"),
    ("iban", "DE89 3704 0044 0532 0130 00"),
    ("email", "jane.doe@example.com"),
    ("aws_access_key_id", "AKIAZ3MSJV4FTQ6UE2PB"),
    ("github_token", "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"),
    ("openai_api_key", "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"),
    ("slack_token", "xoxb-395486205798-6828288072902-ljENUhJduRHHJEYXg4Jdpmrc"),
    ("stripe_secret_key", "sk_live_h6Yo4gfqrc5XlrWi0B26R08q"),
    ("google_api_key", "AIzaAL5wIScGebcy8F5n3-YNBDRzrZSgqbjG3uh"),
    ("jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    ("private_key", "-----BEGIN RSA PRIVATE KEY-----\nr5CYgoXPepr3yT1VUiZq/nDnqubaR2J8LlmvLqN6vIRnCtPE02vAiq0f/464QG4v\nin/EzOTdnwtBENny+gAlyO/lfzdyT0036isUAEB3E5tBgN85MiSZYsaFcgAFmuuO\n-----END RSA PRIVATE KEY-----"),
];

const WORDS: &[&str] = &[
    "the", "a", "to", "of", "and", "in", "is", "for", "that", "with", "on", "as", "it", "be",
    "this", "by", "are", "from", "or", "have", "an", "they", "which", "you", "were", "her", "all",
    "would", "there", "their", "will", "when", "who", "make", "can", "report", "quarter",
    "customer", "invoice", "meeting", "please", "review", "attached", "summary", "project",
    "deadline", "budget", "account", "password", "policy", "team", "deploy", "release", "update",
    "thanks", "could", "should", "draft", "contract", "revenue", "forecast", "support", "ticket",
    "database", "server", "config", "error", "issue", "feature", "request", "question", "answer",
];

const IDENTS: &[&str] = &[
    "user_id",
    "request",
    "response",
    "config",
    "handler",
    "buffer",
    "index",
    "count",
    "result",
    "session",
    "token_count",
    "api_base",
    "timeout",
    "retries",
    "payload",
    "items",
    "cursor",
];

/// A small, fast, deterministic generator (SplitMix64), shared with `decoys`.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// The design's first twelve detectors: the ones the library's speed is measured against
/// (`dlp bench`), and that every build must keep.
pub const ORIGINAL_TWELVE: [&str; 12] = [
    "credit_card",
    "us_ssn",
    "iban",
    "email",
    "aws_access_key_id",
    "github_token",
    "openai_api_key",
    "slack_token",
    "stripe_secret_key",
    "google_api_key",
    "private_key",
    "jwt",
];

/// Generates about `size` bytes (never fewer) with one planted value per `plant_every` bytes on
/// average (`0` plants nothing).
pub fn generate(size: usize, plant_every: usize, seed: u64) -> Corpus {
    let mut rng = Rng(seed);
    let mut text = Vec::with_capacity(size + 4096);
    let mut planted: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut next_plant = if plant_every == 0 {
        usize::MAX
    } else {
        rng.below(plant_every) + 1
    };
    while text.len() < size {
        match rng.below(4) {
            0 => prose(&mut rng, &mut text),
            1 => code(&mut rng, &mut text),
            2 => config(&mut rng, &mut text),
            _ => log(&mut rng, &mut text),
        }
        if text.len() >= next_plant {
            let (id, value) = PLANTS[rng.below(PLANTS.len())];
            text.extend_from_slice(b" ");
            text.extend_from_slice(value.as_bytes());
            text.extend_from_slice(b" \n");
            *planted.entry(id).or_default() += 1;
            next_plant = text.len() + plant_every / 2 + rng.below(plant_every.max(1));
        }
    }
    Corpus { text, planted }
}

fn prose(rng: &mut Rng, out: &mut Vec<u8>) {
    let n = 8 + rng.below(24);
    for i in 0..n {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(rng.pick(WORDS).as_bytes());
    }
    match rng.below(6) {
        0 => out.extend_from_slice(b", see ticket #48213 from 2024-05-01"),
        1 => out.extend_from_slice(b" (ping @ops on the task-based channel)"),
        _ => {}
    }
    out.extend_from_slice(b".\n");
}

fn code(rng: &mut Rng, out: &mut Vec<u8>) {
    let a = rng.pick(IDENTS);
    let b = rng.pick(IDENTS);
    let line = match rng.below(5) {
        0 => format!("    let {a} = {b}.get({}).unwrap_or(0);\n", rng.below(1000)),
        1 => format!(
            "    if {a} > {} {{ return Err(Error::new(\"{b} too large\")); }}\n",
            rng.below(65536)
        ),
        2 => format!(
            "def {a}(self, {b}=None):\n        return self.{b} or {}\n",
            rng.below(100)
        ),
        3 => format!(
            "    // TODO: handle {a} when {b} is empty (see #{})\n",
            rng.below(9999)
        ),
        _ => format!(
            "    {a}.push_str(&format!(\"{{}}-{{}}\", {b}, {}));\n",
            rng.below(1 << 20)
        ),
    };
    out.extend_from_slice(line.as_bytes());
}

fn config(rng: &mut Rng, out: &mut Vec<u8>) {
    let a = rng.pick(IDENTS);
    let line = match rng.below(5) {
        0 => format!("{a} = {}\n", rng.below(100_000)),
        1 => format!("{a}: \"{}-{}\"\n", rng.pick(WORDS), rng.pick(WORDS)),
        2 => format!(
            "export {}_URL=https://{}.internal.example:{}/v1\n",
            a.to_uppercase(),
            rng.pick(WORDS),
            1024 + rng.below(60000)
        ),
        3 => "-----BEGIN PUBLIC KEY-----\n".to_string(),
        _ => format!("[{a}]\nenabled = true\nmax_{a} = {}\n", rng.below(512)),
    };
    out.extend_from_slice(line.as_bytes());
}

fn log(rng: &mut Rng, out: &mut Vec<u8>) {
    let line = match rng.below(3) {
        0 => format!(
            "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z INFO {} request_id={} took {}ms status={}\n",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.below(60),
            rng.below(1000),
            rng.pick(IDENTS),
            rng.next() % 10_000_000_000,
            rng.below(5000),
            [200, 201, 404, 500][rng.below(4)]
        ),
        1 => format!(
            "{},{},{}.{:02},{},10.{}.{}.{}\n",
            rng.below(100_000),
            rng.pick(WORDS),
            rng.below(10_000),
            rng.below(100),
            rng.next() % 1_000_000_000_000,
            rng.below(256),
            rng.below(256),
            rng.below(256)
        ),
        _ => format!(
            "{} {} {} order={} sku={}-{}\n",
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.next() % 100_000_000,
            rng.below(1000),
            rng.below(100_000)
        ),
    };
    out.extend_from_slice(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_exactly_as_planted() {
        let a = generate(300_000, 2000, 42);
        let b = generate(300_000, 2000, 42);
        assert_eq!(a.text, b.text);
        assert!(a.text.len() >= 300_000);
        let engine = crate::DetectorSetBuilder::new().build().unwrap();
        let mut found: BTreeMap<&'static str, usize> = BTreeMap::new();
        for f in engine.scan_bytes(&a.text) {
            let id = PLANTS
                .iter()
                .find(|(id, _)| *id == f.detector)
                .map(|(id, _)| *id)
                .unwrap_or("unexpected");
            *found.entry(id).or_default() += 1;
        }
        assert_eq!(found, a.planted);
        assert!(a.planted_total() > 100);
    }
}
