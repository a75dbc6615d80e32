//! The scan through every code path: in memory, in small chunks, from a stream with short
//! reads, split between threads; custom rules; the chunking property.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;

use dlp_detect::{DetectorSet, DetectorSetBuilder, Finding};
use proptest::prelude::*;

/// Planted values with the detector that must find them.
const PLANTS: &[(&str, &str)] = &[
    ("4111 1111 1111 1111", "credit_card"),
    ("5555-5555-5555-4444", "credit_card"),
    ("536-22-8813", "us_ssn"),
    ("SSN 536228813", "us_ssn"),
    ("DE89 3704 0044 0532 0130 00", "iban"),
    ("jane.doe@example.com", "email"),
    ("AKIAIOSFODNN7EXAMPLE", "aws_access_key_id"),
    ("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", "github_token"),
    ("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", "openai_api_key"),
    ("xoxb-395486205798-6828288072902-ljENUhJduRHHJEYXg4Jdpmrc", "slack_token"),
    ("sk_live_h6Yo4gfqrc5XlrWi0B26R08q", "stripe_secret_key"),
    ("AIzaAL5wIScGebcy8F5n3-YNBDRzrZSgqbjG3uh", "google_api_key"),
    ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "jwt"),
    ("-----BEGIN RSA PRIVATE KEY-----\nr5CYgoXPepr3yT1VUiZq/nDnqubaR2J8LlmvLqN6vIRnCtPE02vAiq0f/464QG4v\nin/EzOTdnwtBENny+gAlyO/lfzdyT0036isUAEB3E5tBgN85MiSZYsaFcgAFmuuO\n-----END RSA PRIVATE KEY-----", "private_key"),
];

/// Filler that looks like real text and holds near-misses.
const FILLER: &[&str] = &[
    "the quick brown fox ",
    "order 12345 shipped on 2024-05-01 ",
    "id=4111111111111112 ",
    "user@localhost ",
    "task-based ",
    "\n",
    "AKIA ",
    "sk- ",
    "-----BEGIN PUBLIC KEY----- ",
    "eyJ ",
    "1234 5678 ",
    "@@ ",
    "GB12 ",
    "password=changeme ",
    "0000000000000 ",
];

fn engine() -> DetectorSet {
    DetectorSetBuilder::new().build().unwrap()
}

/// The findings of a parallel scan of `data` on `threads` threads.
fn parallel(engine: &DetectorSet, data: &[u8], threads: usize) -> Vec<Finding> {
    let mut found = Vec::new();
    engine.scan_parallel(data, threads, &mut found).unwrap();
    found
}

fn summary(findings: &[Finding]) -> Vec<(String, usize, usize, u64, u64)> {
    findings
        .iter()
        .map(|f| (f.detector.clone(), f.start, f.end, f.line, f.column))
        .collect()
}

/// A reader that returns at most `step` bytes per read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn build_text(parts: &[(bool, usize)], repeat: usize) -> (Vec<u8>, Vec<&'static str>) {
    let mut text = Vec::new();
    let mut planted = Vec::new();
    for _ in 0..repeat {
        for &(plant, i) in parts {
            if plant {
                let (value, id) = PLANTS[i % PLANTS.len()];
                text.extend_from_slice(b" ");
                text.extend_from_slice(value.as_bytes());
                text.extend_from_slice(b" ");
                planted.push(id);
            } else {
                text.extend_from_slice(FILLER[i % FILLER.len()].as_bytes());
            }
        }
    }
    (text, planted)
}

#[test]
fn every_plant_is_found_through_every_path() {
    let engine = engine();
    let parts: Vec<(bool, usize)> = (0..PLANTS.len() * 2).map(|i| (i % 2 == 0, i / 2)).collect();
    let (text, planted) = build_text(&parts, 1);
    let whole = engine.scan_bytes(&text);
    let found: Vec<&str> = whole.iter().map(|f| f.detector.as_str()).collect();
    assert_eq!(found, planted, "{}", String::from_utf8_lossy(&text));
    for f in &whole {
        assert!(!String::from_utf8_lossy(&text[f.start..f.end]).is_empty());
        assert_eq!(f.fingerprint.len(), 64);
        // The preview never holds the whole value.
        let value = String::from_utf8_lossy(&text[f.start..f.end]).to_string();
        assert!(!f.masked.contains(&value), "{} shows its value", f.masked);
    }

    let mut scanner = engine.scanner();
    scanner.set_chunk_size(7);
    assert_eq!(summary(&scanner.scan(&text)), summary(&whole));

    let mut streamed = Vec::new();
    let read = scanner
        .scan_reader(
            Trickle {
                data: &text,
                step: 13,
            },
            &mut streamed,
        )
        .unwrap();
    assert_eq!(read, text.len() as u64);
    assert_eq!(summary(&streamed), summary(&whole));
}

#[test]
fn parallel_scan_of_a_large_item_equals_the_serial_scan() {
    let engine = engine();
    let corpus = dlp_detect::corpus::generate(20 << 20, 4096, 9);
    let serial = engine.scan_bytes(&corpus.text);
    assert_eq!(serial.len(), corpus.planted_total());
    assert_eq!(parallel(&engine, &corpus.text, 2), serial);
    assert_eq!(parallel(&engine, &corpus.text, 5), serial);
    assert_eq!(parallel(&engine, &corpus.text, 1), serial);
    let counted = DetectorSetBuilder::new()
        .builtins(false)
        .rules_toml(
            "[[rule]]\nid = \"cards\"\npattern = '4111 1111 1111 1111'\nmin_count = 3\n",
            "r.toml",
        )
        .build()
        .unwrap();
    let n = counted.scan_bytes(&corpus.text).len();
    assert!(n >= 3);
    assert_eq!(parallel(&counted, &corpus.text, 2).len(), n);
    for len in [10_000, 100_000, 5_000_000] {
        let part = &corpus.text[..len];
        assert_eq!(
            parallel(&counted, part, 2),
            counted.scan_bytes(part),
            "{len}"
        );
    }
}

#[test]
fn lines_are_counted_across_chunks() {
    let engine = engine();
    let mut text = String::new();
    for i in 0..20_000 {
        if i % 5000 == 4999 {
            text.push_str("key AKIAIOSFODNN7EXAMPLE\n");
        } else {
            text.push_str("nothing to see here\n");
        }
    }
    let lines: Vec<u64> = engine.scan_text(&text).iter().map(|f| f.line).collect();
    assert_eq!(lines, vec![5000, 10000, 15000, 20000]);
    let mut scanner = engine.scanner();
    scanner.set_chunk_size(1000);
    let lines2: Vec<u64> = scanner
        .scan(text.as_bytes())
        .iter()
        .map(|f| f.line)
        .collect();
    assert_eq!(lines2, lines);
}

/// Columns count characters (not bytes) from the line's start, and come out the same from a
/// whole-text scan, small chunks, a trickled stream and a parallel scan, also on lines far
/// longer than a chunk that hold multi-byte characters.
#[test]
fn columns_count_characters_across_chunks_and_threads() {
    let engine = engine();
    let key = "AKIAIOSFODNN7EXAMPLE";
    let mut text = String::new();
    let mut want = Vec::new();
    for (line, i) in (1u64..).zip(0..12) {
        // Short lines, then one line of several megabytes.
        let (filler, repeats) = if i % 4 == 3 {
            ("Grüße, 東京 — ", 120_000)
        } else {
            ("plain words ", 3)
        };
        let mut chars = 0u64;
        for _ in 0..repeats {
            text.push_str(filler);
            chars += filler.chars().count() as u64;
        }
        text.push_str("id ");
        want.push((line, chars + 4));
        text.push_str(key);
        text.push_str(" ünïcode tail\n");
    }
    let whole = engine.scan_text(&text);
    let got: Vec<(u64, u64)> = whole.iter().map(|f| (f.line, f.column)).collect();
    assert_eq!(got, want);
    assert_eq!(whole, engine.scan_reference(text.as_bytes()));
    let mut scanner = engine.scanner();
    scanner.set_chunk_size(4099);
    assert_eq!(summary(&scanner.scan(text.as_bytes())), summary(&whole));
    let mut streamed = Vec::new();
    scanner
        .scan_reader(
            Trickle {
                data: text.as_bytes(),
                step: 7001,
            },
            &mut streamed,
        )
        .unwrap();
    assert_eq!(summary(&streamed), summary(&whole));
    for threads in [1, 2, 3] {
        assert_eq!(
            summary(&parallel(&engine, text.as_bytes(), threads)),
            summary(&whole),
            "{threads} threads"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// The same findings, whatever the chunk size and however the stream is cut, on inputs long
    /// enough to span many chunks and their overlaps.
    #[test]
    fn findings_do_not_depend_on_chunking(
        parts in prop::collection::vec((prop::bool::weighted(0.2), 0usize..64), 20..60),
        repeat in 200usize..400,
        chunk in 512usize..200_000,
        step in 1usize..70_000,
    ) {
        let engine = engine();
        let (text, planted) = build_text(&parts, repeat);
        let whole = engine.scan_bytes(&text);
        prop_assert_eq!(whole.len(), planted.len());
        let mut scanner = engine.scanner();
        scanner.set_chunk_size(chunk);
        prop_assert_eq!(summary(&scanner.scan(&text)), summary(&whole));
        let mut streamed = Vec::new();
        scanner.scan_reader(Trickle { data: &text, step }, &mut streamed).unwrap();
        prop_assert_eq!(summary(&streamed), summary(&whole));
    }

    /// No input makes the scan panic, and every span is inside the input.
    #[test]
    fn arbitrary_bytes_are_safe(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        let engine = engine();
        for f in engine.scan_bytes(&data) {
            prop_assert!(f.start < f.end && f.end <= data.len());
        }
    }
}

#[test]
fn custom_rules_keywords_regex_context_min_count() {
    let rules = r#"
[[rule]]
id = "project_falcon"
keywords = ["Project Falcon", "falcon-x"]
confidence = "high"
examples = ["about project falcon today"]
negatives = ["projectfalcon", "Project Falconry"]

[[rule]]
id = "employee_id"
pattern = 'EMP-[0-9]{6}'
context = ["employee", "staff"]
context_window = 20
examples = ["employee EMP-123456"]
negatives = ["EMP-123456 was the part number"]

[[rule]]
id = "case_sensitive_word"
keywords = ["TopSecret"]
case_sensitive = true
whole_word = false

[[rule]]
id = "acct"
pattern = '(?i)acct[-_ ]?no[: ]+(?P<secret>[0-9]{8})'
min_count = 2
"#;
    let engine = DetectorSetBuilder::new()
        .builtins(false)
        .rules_toml(rules, "rules.toml")
        .build()
        .unwrap();
    let ids = |text: &str| -> Vec<String> {
        engine
            .scan_text(text)
            .into_iter()
            .map(|f| f.detector)
            .collect()
    };
    assert_eq!(
        ids("PROJECT FALCON and falcon-x"),
        ["project_falcon", "project_falcon"]
    );
    assert_eq!(ids("staff: EMP-000042"), ["employee_id"]);
    assert_eq!(
        ids("EMP-000042 far away from any word that would count"),
        Vec::<String>::new()
    );
    assert_eq!(ids("xTopSecretx topsecret"), ["case_sensitive_word"]);
    // min_count: one account number is not enough, two are.
    assert_eq!(ids("acct no: 12345678"), Vec::<String>::new());
    let two = engine.scan_text("ACCT-NO 12345678 and acct_no: 87654321");
    assert_eq!(two.len(), 2);
    // The secret group is the reported span.
    assert_eq!(two[0].end - two[0].start, 8);
}

#[test]
fn a_rule_whose_examples_fail_is_refused() {
    let err = DetectorSetBuilder::new()
        .rules_toml(
            "[[rule]]\nid = \"x\"\npattern = 'ABC-[0-9]+'\nexamples = [\"abc-12\"]\n",
            "r.toml",
        )
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("r.toml: rule `x`: example \"abc-12\" gives 0 findings"),
        "{err}"
    );
    let err = DetectorSetBuilder::new()
        .rules_toml("[[rule]]\nid = \"x\"\npattern = 'ABC-[0-9'\n", "r.toml")
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("rule `x`: invalid pattern"),
        "{err}"
    );
    let err = DetectorSetBuilder::new()
        .rules_toml("[[rule]]\nid = \"email\"\npattern = 'abc'\n", "r.toml")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    let err = DetectorSetBuilder::new()
        .rules_toml("[[rule]]\nid = \"x\"\npattern = 'a*'\n", "r.toml")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("empty string"), "{err}");
}

#[test]
fn adversarial_inputs_finish_and_find_nothing_false() {
    let engine = engine();
    let inputs: Vec<Vec<u8>> = vec![
        vec![b'7'; 300_000],
        vec![b'@'; 300_000],
        b"AKIA".repeat(75_000),
        b"-----BEGIN ".repeat(30_000),
        b"4111 1111 1111 1112 ".repeat(15_000),
        b"eyJ".repeat(100_000),
    ];
    for input in inputs {
        assert!(engine.scan_bytes(&input).is_empty());
    }
}

#[test]
fn fast_path_equals_reference_path_on_generated_corpora() {
    let engine = engine();
    for seed in 0..4 {
        let corpus = dlp_detect::corpus::generate(400_000, 1500, seed);
        let fast = engine.scan_bytes(&corpus.text);
        let slow = engine.scan_reference(&corpus.text);
        assert_eq!(fast, slow, "seed {seed}");
        assert_eq!(fast.len(), corpus.planted_total());
    }
    // Digit runs where the card matcher's word boundaries and greediness matter.
    for tricky in [
        "4111 1111 1111 1111 1111",
        "ab4111111111111111 x",
        "4111-1111-1111-1111-4111 1111 1111 1111",
        "12 4111 1111 1111 1111",
        "4111111111111111_x 4111111111111111",
        "5555555555554444-5555555555554444",
        "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 4111 1111 1111 1111",
        "378282246310005 378282246310005378282246310005",
    ] {
        assert_eq!(
            engine.scan_bytes(tricky.as_bytes()),
            engine.scan_reference(tricky.as_bytes()),
            "{tricky}"
        );
    }
    // Near misses and adversarial text too, and custom rules of every kind.
    let (text, _) = build_text(
        &(0..200).map(|i| (i % 3 == 0, i * 7)).collect::<Vec<_>>(),
        20,
    );
    assert_eq!(engine.scan_bytes(&text), engine.scan_reference(&text));
    let custom = DetectorSetBuilder::new()
        .rules_toml(
            "[[rule]]\nid = \"kw\"\nkeywords = [\"order 12345\", \"Shipped\", \"order\"]\n\
             [[rule]]\nid = \"re\"\npattern = '(?i)shipped on [0-9-]+'\n\
             [[rule]]\nid = \"free\"\npattern = '[0-9]{5} shipped'\n",
            "r.toml",
        )
        .build()
        .unwrap();
    let fast = custom.scan_bytes(&text);
    assert!(fast.iter().any(|f| f.detector == "kw"));
    assert!(fast.iter().any(|f| f.detector == "re"));
    assert!(fast.iter().any(|f| f.detector == "free"));
    assert_eq!(fast, custom.scan_reference(&text));
}

/// A rule set in the style of the public secrets sets (many rules, a service name near a
/// token, spellings with optional separators), large enough for the hashed first pass and the
/// run triggers: the fast path must still equal the reference path, rule family by family.
#[test]
fn large_rule_sets_take_every_trigger_and_equal_the_reference_path() {
    let services = [
        "graph",
        "line",
        "report",
        "acmecloud",
        "zorbix",
        "quillpay",
        "nimbusdb",
        "vexatel",
        "plorkit",
        "brimstone",
        "cargoship",
        "dunetrack",
        "embermail",
        "fjordsync",
        "glintapi",
        "harborci",
        "ironvault",
        "jadequeue",
        "kiteflow",
        "lumenlog",
        "mossgate",
        "novaship",
        "orbitpay",
        "pinecone",
        "quartzid",
        "rivetcms",
        "sableauth",
        "tundrakv",
        "umbranet",
        "velvetops",
        "wispcdn",
        "xenonbill",
    ];
    let mut rules = String::new();
    for name in services {
        // A service name near a token: a run trigger filtered by the name.
        rules.push_str(&format!(
            "[[rule]]\nid = \"{name}_token\"\npattern = '''(?:{name}).{{0,40}}\\b([a-z0-9]{{32}})\\b'''\n"
        ));
        // Spellings with optional separators: expanded literals, searched anchored.
        rules.push_str(&format!(
            "[[rule]]\nid = \"{name}_secret\"\npattern = '''{name}[_-]?(?:key|secret)(=| =|:| :)'''\n"
        ));
    }
    rules.push_str(
        "[[rule]]\nid = \"dotted\"\npattern = '''\\b([A-Za-z0-9_\\.]{7}-[A-Za-z0-9_\\.]{30})\\b'''\n\
         [[rule]]\nid = \"apigw\"\npattern = '''[0-9a-z]+\\.execute-api\\.[0-9a-z-]+\\.amazonaws\\.com'''\n\
         [[rule]]\nid = \"pem\"\npattern = '''-----BEGIN[ A-Z]*PRIVATE KEY-----[\\s\\S]*?-----END'''\n\
         [[rule]]\nid = \"pwsecret\"\npattern = '''(?i)pw[_-]?secret\\s*=\\s*\\S+'''\n\
         [[rule]]\nid = \"twilio_sid\"\npattern = '''AC[a-f0-9]{32}'''\n\
         [[rule]]\nid = \"bitly\"\npattern = '''R_[0-9a-f]{32}'''\n\
         [[rule]]\nid = \"cross_line\"\npattern = '''vexatel\\s+[A-Z]{20}'''\n",
    );
    let engine = DetectorSetBuilder::new()
        .builtins(false)
        .rules_toml(&rules, "large.toml")
        .build()
        .unwrap();
    let plan = engine.plan();
    assert!(plan.contains("on runs of token bytes"), "{plan}");
    assert!(plan.contains("0 over the whole text"), "{plan}");

    let token = |seed: usize| -> String {
        (0..32)
            .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[(seed * 7 + i * 13) % 36] as char)
            .collect()
    };
    let mut text = String::new();
    for (i, name) in services.iter().enumerate() {
        text.push_str(&format!(
            "the {name} client uses token {} today\n",
            token(i)
        ));
        text.push_str(&format!(
            "{name}_secret = hunter{i}\n{name}-key:x {name}key =y\n"
        ));
        // Near misses: the name far from the token, a token too short, another line.
        text.push_str(&format!(
            "{name} {}\n{}\nshort {name} {}\n",
            "padding ".repeat(8),
            token(i + 1),
            &token(i)[..20]
        ));
    }
    text.push_str(
        "id AbCdEfG-0123456789abcdefghij0123456789 and foo_bar.baz-quxquuxcorgegraultgarply\n",
    );
    text.push_str("https://a1b2c3.execute-api.us-east-1.amazonaws.com/prod\n");
    text.push_str("-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----\n");
    text.push_str("PW_Secret = s3cr3t and pwsecret=x\n");
    text.push_str("sid AC0123456789abcdef0123456789abcdef R_0123456789abcdef0123456789abcdef\n");
    text.push_str("vexatel\n  ABCDEFGHIJKLMNOPQRST\n");
    // Repeat with shifts so that literals and runs fall across every chunk boundary.
    let mut big = Vec::new();
    for shift in 0..40 {
        big.extend(std::iter::repeat_n(b'.', shift));
        big.extend_from_slice(text.as_bytes());
    }
    let fast = engine.scanner().set_chunk_size(4096).scan(&big);
    let slow = engine.scan_reference(&big);
    assert_eq!(summary(&fast), summary(&slow));
    assert_eq!(fast, slow);
    for id in [
        "graph_token",
        "line_token",
        "zorbix_token",
        "xenonbill_secret",
        "dotted",
        "apigw",
        "pem",
        "pwsecret",
        "twilio_sid",
        "bitly",
        "cross_line",
    ] {
        assert!(fast.iter().any(|f| f.detector == id), "{id} found nothing");
    }
    // Each service's token is found once per copy of the text, and its far one never.
    let per_copy = fast
        .iter()
        .filter(|f| f.detector == "quillpay_token")
        .count();
    assert_eq!(per_copy, 40);
}

/// A source that fails (or panics) when asked for the chunk at `bad`.
struct Faulty {
    data: Vec<u8>,
    bad: usize,
    panic: bool,
}

impl dlp_detect::ChunkSource for Faulty {
    fn len(&self) -> usize {
        self.data.len()
    }

    fn with_range(
        &self,
        range: std::ops::Range<usize>,
        scan: &mut dyn FnMut(&[u8]),
    ) -> std::io::Result<()> {
        if range.contains(&self.bad) {
            if self.panic {
                panic!("a source that dies");
            }
            return Err(std::io::Error::other("disk gone"));
        }
        scan(&self.data[range]);
        Ok(())
    }
}

/// A thread that cannot read its chunk, or dies, makes the scan an error: never an empty or
/// partial result that looks complete.
#[test]
fn a_failing_or_dying_scan_thread_is_an_error() {
    let engine = engine();
    let corpus = dlp_detect::corpus::generate(20 << 20, 4096, 3);
    for panic in [false, true] {
        let source = Faulty {
            data: corpus.text.clone(),
            bad: 13 << 20,
            panic,
        };
        let mut found = Vec::new();
        let err = engine
            .scan_parallel(&source, 2, &mut found)
            .map_err(|e| e.into_scan_error())
            .unwrap_err();
        let want = if panic {
            dlp_detect::ErrorKind::Internal
        } else {
            dlp_detect::ErrorKind::Io
        };
        assert_eq!(err.kind(), want, "{err}");
        assert!(found.len() < corpus.planted_total());
    }
}

/// Where findings of two detectors overlap, the more specific (longer) one wins: the digits of
/// a German IBAN are also a Luhn-valid card-like number, and only the IBAN is reported; however
/// the text is cut into chunks, and as the reference path says.
#[test]
fn the_more_specific_of_overlapping_findings_wins() {
    let engine = engine();
    let alone = engine.scan_text("number 3019 9750 5617 4894 84 here");
    assert_eq!(
        alone
            .iter()
            .map(|f| f.detector.as_str())
            .collect::<Vec<_>>(),
        ["credit_card"],
        "the digits alone pass the card checks"
    );
    let text = "pay to DE87 3019 9750 5617 4894 84 today, card 4111 1111 1111 1111";
    let found = engine.scan_text(text);
    let ids: Vec<&str> = found.iter().map(|f| f.detector.as_str()).collect();
    assert_eq!(ids, ["iban", "credit_card"]);
    assert_eq!(found, engine.scan_reference(text.as_bytes()));
    for chunk in 1..text.len() {
        let mut scanner = engine.scanner();
        scanner.set_chunk_size(chunk);
        assert_eq!(scanner.scan(text.as_bytes()), found, "chunk size {chunk}");
    }
}

/// Every example and negative of every built-in detector, in the order the detector files give
/// them, each on its own line or run together, so that context words, prefixes and values of
/// different detectors meet as they do in real text.
fn library_examples(joined_by: &str) -> String {
    let mut out = String::new();
    for file in [
        include_str!("../src/detectors/builtin.toml"),
        include_str!("../src/detectors/contact.toml"),
        include_str!("../src/detectors/national.toml"),
        include_str!("../src/detectors/financial.toml"),
        include_str!("../src/detectors/health.toml"),
        include_str!("../src/detectors/secrets.toml"),
    ] {
        let value: toml::Value = toml::from_str(file).unwrap();
        for detector in value["detector"].as_array().unwrap() {
            for key in ["examples", "negatives"] {
                for text in detector
                    .get(key)
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                {
                    out.push_str(text.as_str().unwrap());
                    out.push_str(joined_by);
                }
            }
        }
    }
    out
}

/// Source code and configuration as the first passes' shortcuts meet them: `::` paths after
/// words of every length, hex or not (`std::io`, `dead::beef`, `12345::1`) beside compressed
/// IPv6 addresses; assignments to key names of token runs with and without digits; long words
/// of capitals and digits, of base58 and with underscores; hex after `0x`.
fn code_like(size: usize, next: &mut impl FnMut(usize) -> usize) -> Vec<u8> {
    const HEX: &[u8] = b"0123456789abcdefABCDEF";
    const WORDISH: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    const TOKEN: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.+/=";
    const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::new();
    let pick = |from: &[u8], n: usize, next: &mut dyn FnMut(usize) -> usize| -> String {
        (0..n).map(|_| char::from(from[next(from.len())])).collect()
    };
    while out.len() < size {
        let fragment = match next(12) {
            0 => "use std::io::{Read, Write}; let v = Vec::new();".to_string(),
            1 => {
                // A word of 0 to 6 bytes, hex or not, before `::`, then hex groups or a word.
                let before = pick(if next(2) == 0 { HEX } else { WORDISH }, next(7), next);
                let after = pick(HEX, next(5), next);
                format!("{before}::{after}")
            }
            2 => {
                let groups: Vec<String> = (0..1 + next(4))
                    .map(|_| pick(HEX, 1 + next(4), next))
                    .collect();
                let tail: Vec<String> =
                    (0..next(4)).map(|_| pick(HEX, 1 + next(4), next)).collect();
                format!("addr {}::{}", groups.join(":"), tail.join(":"))
            }
            3 => [
                "fe80::1ff:fe23:4567:890a",
                "2a00:1450:4001:82b::200e",
                "x2a00::1",
                "a::b::c",
                // Real values whose words stand inside paths and dashed lines.
                "https://lei.example/5493001KJTIIGC8Y1R12/record",
                "wallets/1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa.txt",
                "----5493001KJTIIGC8Y1R12----",
                "x_5493001KJTIIGC8Y1R12",
            ][next(8)]
            .to_string(),
            4 | 5 => {
                let name = [
                    "api_key",
                    "secret",
                    "token",
                    "client_secret",
                    "AUTH_TOKEN",
                    "password",
                ][next(6)];
                let pool: &[u8] = if next(2) == 0 { TOKEN } else { &TOKEN[..52] };
                let value = pick(pool, 12 + next(30), next);
                let quote = ["", "\"", "'"][next(3)];
                format!("{name} = {quote}{value}{quote}")
            }
            6 => pick(UPPER_DIGITS, 17 + next(6), next),
            7 => format!(
                "{}{}",
                ["1", "3", "5", "K", "L"][next(5)],
                pick(BASE58, 24 + next(30), next)
            ),
            8 => match next(3) {
                0 => pick(WORDISH, 15 + next(40), next),
                // Words of capitals and digits or of base58 inside paths, URLs and dashed lines.
                1 => format!(
                    "https://x.example/{}/{}.{}",
                    pick(TOKEN, 3 + next(20), next),
                    pick(UPPER_DIGITS, 18 + next(4), next),
                    pick(BASE58, 24 + next(30), next)
                ),
                _ => format!(
                    "{}-{}",
                    "-".repeat(next(60)),
                    pick(UPPER_DIGITS, 19 + next(3), next)
                ),
            },
            9 => format!("0x{}", pick(HEX, 38 + next(4), next)),
            10 => format!(
                "{}_{}",
                pick(UPPER_DIGITS, 10, next),
                pick(UPPER_DIGITS, 10, next)
            ),
            _ => pick(TOKEN, 10 + next(50), next),
        };
        out.push_str(&fragment);
        out.push_str([" ", "\n", "; ", ", ", "(", ")\n"][next(6)]);
    }
    out.into_bytes()
}

/// The whole library takes other first passes than the core set (literals at word starts,
/// folded literals, token runs, digit runs reaching past the run, context): its fast path must
/// still give exactly what running every pattern over the whole text gives.
#[test]
fn the_whole_library_equals_the_reference_path() {
    let engine = DetectorSetBuilder::new()
        .detectors(["all"])
        .build()
        .unwrap();
    let corpus = dlp_detect::corpus::generate(300_000, 1200, 3).text;
    let decoys = dlp_detect::decoys::generate(300_000, 11);
    let examples_lines = library_examples("\n").into_bytes();
    let examples_run = library_examples(" ").into_bytes();
    // The examples' words shuffled among numbers: context words at every distance from runs,
    // runs close together and far apart.
    let words: Vec<String> = library_examples(" ")
        .split(' ')
        .map(str::to_string)
        .collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut shuffled = String::new();
    while shuffled.len() < 400_000 {
        match next(4) {
            0 => {
                let digits = 6 + next(14);
                shuffled.extend((0..digits).map(|_| char::from(b'0' + next(10) as u8)));
            }
            _ => shuffled.push_str(&words[next(words.len())]),
        }
        shuffled.push_str([" ", " ", "\n", ", ", " - "][next(5)]);
    }
    let shuffled = shuffled.into_bytes();
    let code = code_like(400_000, &mut next);
    for (name, text) in [
        ("corpus", &corpus),
        ("decoys", &decoys),
        ("examples, one per line", &examples_lines),
        ("examples, run together", &examples_run),
        ("examples' words among numbers", &shuffled),
        ("code-like text", &code),
    ] {
        let fast = engine.scan_bytes(text);
        let slow = engine.scan_reference(text);
        if fast != slow {
            let show = |f: &dlp_detect::Finding| (f.detector.clone(), f.start, f.masked.clone());
            let only_fast: Vec<_> = fast
                .iter()
                .filter(|f| !slow.contains(f))
                .map(show)
                .collect();
            let only_slow: Vec<_> = slow
                .iter()
                .filter(|f| !fast.contains(f))
                .map(show)
                .collect();
            panic!("{name}: only the fast path: {only_fast:?}; only the reference: {only_slow:?}");
        }
        assert!(!fast.is_empty(), "{name}");
    }
    // The core set searches the gate's words itself (its first pass is small).
    let core = DetectorSetBuilder::new()
        .detectors(["core"])
        .build()
        .unwrap();
    assert_eq!(core.scan_bytes(&shuffled), core.scan_reference(&shuffled));
}

/// A context word at every distance from where the digit-run gate's searches stop, among
/// numbers close enough together that it searches ahead: the word must count wherever a
/// search boundary cuts it.
#[test]
fn a_context_word_across_a_search_boundary_still_counts() {
    let engine = DetectorSetBuilder::new().build().unwrap();
    let background = "111111111, ".repeat(500);
    for offset in 1900..2200 {
        let mut text = background[..offset].to_string();
        text.push_str(" ssn 536228813 ");
        text.push_str(&background[offset..]);
        let fast = engine.scan_bytes(text.as_bytes());
        assert!(
            fast.iter().any(|f| f.detector == "us_ssn"),
            "offset {offset}: {fast:?}"
        );
        assert_eq!(
            fast,
            engine.scan_reference(text.as_bytes()),
            "offset {offset}"
        );
    }
}

/// Chinese and Japanese put no space between words, and Korean joins particles to the word
/// before: a context word in those scripts counts inside running text, with the whole library
/// (its words in the first pass) and with the one detector (its words searched by the gate).
#[test]
fn context_words_count_inside_text_without_spaces() {
    let cases = [
        ("cn_resident_id", "我的身份证号码是31010419700816425X。"),
        (
            "cn_resident_id",
            "请核对居民身份证51010719920621927X是否正确",
        ),
        ("jp_my_number", "私のマイナンバーは636186371595です。"),
        ("jp_my_number", "個人番号：0231 6433 4813を記入"),
        ("kr_rrn", "주민등록번호는 791211-1544434입니다"),
    ];
    let library = DetectorSetBuilder::new()
        .detectors(["all"])
        .build()
        .unwrap();
    for (id, text) in cases {
        let alone = DetectorSetBuilder::new().detectors([id]).build().unwrap();
        for engine in [&library, &alone] {
            let found = engine.scan_text(text);
            assert!(
                found.iter().any(|f| f.detector == id),
                "{id} in {text}: {found:?}"
            );
            assert_eq!(found, engine.scan_reference(text.as_bytes()), "{text}");
        }
        // The same number without its context word is not reported by the context-only
        // patterns (kr_rrn and jp_my_number need one; cn_resident_id's X form too).
        let bare: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-')
            .collect();
        assert!(
            !alone.scan_text(&bare).iter().any(|f| f.detector == id),
            "{id} without context in {bare:?}"
        );
    }
    // A context word inside a longer word of a spaced script still does not count.
    let engine = DetectorSetBuilder::new()
        .detectors(["kr_rrn"])
        .build()
        .unwrap();
    assert!(engine.scan_text("xRRN 791211-1544434").is_empty());
}

/// Runs of card numbers: one to three in a run, valid or one digit off, grouped by fours or
/// not, joined by the run's separators or by none; the fast card path (which stops a run once
/// too few digits are left for a card) finds what the regex and its checks find.
#[test]
fn runs_of_card_numbers_equal_the_reference_path() {
    let engine = DetectorSetBuilder::new()
        .detectors(["financial"])
        .build()
        .unwrap();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let luhn_digit = |payload: &[u8]| -> u8 {
        let sum: u32 = payload
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| {
                let d = u32::from(d);
                if i % 2 == 0 {
                    if d * 2 > 9 {
                        d * 2 - 9
                    } else {
                        d * 2
                    }
                } else {
                    d
                }
            })
            .sum();
        ((10 - sum % 10) % 10) as u8
    };
    let mut text = String::new();
    while text.len() < 300_000 {
        let sep = [" ", "-", ""][next(3) as usize];
        for card in 0..1 + next(3) {
            if card > 0 {
                text.push_str([" ", "-", sep][next(3) as usize]);
            }
            let (prefix, len): (&[u8], usize) = [
                (&[4][..], 16),
                (&[5, 1][..], 16),
                (&[3, 7][..], 15),
                (&[6, 0, 1, 1][..], 16),
            ][next(4) as usize];
            let mut digits = prefix.to_vec();
            while digits.len() < len - 1 {
                digits.push(next(10) as u8);
            }
            let check = luhn_digit(&digits);
            digits.push(if next(2) == 0 {
                check
            } else {
                (check + 1) % 10
            });
            for (i, d) in digits.iter().enumerate() {
                if i > 0 && i % 4 == 0 {
                    text.push_str(sep);
                }
                text.push(char::from(b'0' + d));
            }
        }
        text.push_str(["\n", ", ", " x "][next(3) as usize]);
    }
    let fast = engine.scan_bytes(text.as_bytes());
    let slow = engine.scan_reference(text.as_bytes());
    assert!(fast.iter().any(|f| f.detector == "credit_card"));
    assert_eq!(fast, slow);
}

/// URLs with and without credentials, glued at random: the hits of `://` after which no
/// `user:password@` follows are dropped before the regex runs (`AfterLiteral`), and the
/// findings must still be those of each regex run over the whole text.
#[test]
fn urls_found_by_their_credentials_after_the_scheme_as_by_the_whole_regex() {
    let set = DetectorSetBuilder::new()
        .detectors([
            "url_credentials".to_string(),
            "database_connection_string".to_string(),
        ])
        .build()
        .unwrap();
    let pieces: &[&str] = &[
        "https",
        "HTTP",
        "postgres",
        "mysql",
        "ftp",
        "redis",
        "git+ssh",
        "mongodb+srv",
        "xyz",
        "://",
        "://",
        "://",
        "bob",
        "svc-reader",
        "",
        ":",
        ":",
        "rJfyBKtqWC5SlRVfmH2u",
        "K7Oepo5vWeHyBZKO",
        "password",
        "${PASS}",
        "@",
        "@",
        "db.internal",
        "example.com",
        ":5432",
        "/path",
        " ",
        "\n",
        "\"",
        "/",
        "'",
        "<",
        "x",
        "https://deploy:",
        "postgres://app:",
        "redis://:",
        "AB4p618Rsh87715TgRXA@git.acme.example",
        "otNyGUCn8js03ctcHVWSzG0C@cache.internal:6379/0",
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut found = 0;
    for _ in 0..30 {
        let mut text = String::new();
        for _ in 0..1500 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(pieces[(state % pieces.len() as u64) as usize]);
        }
        let fast = set.scan_bytes(text.as_bytes());
        assert_eq!(fast, set.scan_reference(text.as_bytes()));
        found += fast.len();
    }
    assert!(found >= 30, "{found} findings: the text should hold some");
}

/// Addresses among decimals, dates and versions: a hit of the IPv4 literals is matched when it
/// is hit and becomes a candidate only as the address; the findings must be those of the regex
/// run over the whole text.
#[test]
fn addresses_among_decimals_are_found_as_by_the_whole_regex() {
    let set = DetectorSetBuilder::new()
        .detectors(["ip_address".to_string()])
        .build()
        .unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut text = String::new();
    for _ in 0..5000 {
        let piece = match next(6) {
            0 => format!("{}.{}.{}.{}", next(300), next(300), next(300), next(300)),
            1 => format!("{}.{}", next(300), next(100)),
            2 => format!("v{}.{}.{}", next(30), next(30), next(30)),
            3 => format!("{:02}.{:02}.20{:02}", next(32), next(13), next(30)),
            4 => format!(
                "{}.{}.{}.{}.{}",
                next(256),
                next(256),
                next(256),
                next(256),
                next(256)
            ),
            _ => "ip x".to_string(),
        };
        text.push_str(&piece);
        text.push_str([" ", "\n", ", ", "/", "a"][next(5) as usize]);
    }
    let fast = set.scan_bytes(text.as_bytes());
    assert_eq!(fast, set.scan_reference(text.as_bytes()));
    assert!(fast.len() >= 100, "{} addresses found", fast.len());
}
