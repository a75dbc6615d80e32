//! The simulated workspace: users, conversations, tool calls, uploads and GPTs generated from a
//! seed, with sensitive values planted in every kind of item and recorded as ground truth.
//!
//! Generation is deterministic for a seed and an anchor time; it uses its own small PRNG so
//! that a seed reproduces the same workspace whatever the versions of the dependencies.

use std::collections::BTreeMap;
use std::io::Write;

use bytes::Bytes;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::record::ItemKind;
use crate::state::format_time;

/// What to generate.
#[derive(Debug, Clone)]
pub struct WorkspaceSpec {
    /// Seed of the generator.
    pub seed: u64,
    /// Number of users.
    pub users: usize,
    /// Conversations per user.
    pub conversations_per_user: usize,
    /// Messages per conversation (alternating user and assistant).
    pub messages_per_conversation: usize,
    /// Tool calls (request + response pairs) per user.
    pub app_calls_per_user: usize,
    /// Custom GPTs.
    pub gpts: usize,
    /// Days of history before the anchor (older than 30 days is past retention).
    pub days: u32,
    /// Hours of activity after the anchor, published as time passes (forward scans).
    pub future_hours: u32,
    /// Width of one log file, in minutes.
    pub log_file_minutes: u32,
    /// Repeat some events in the next log file (at-least-once delivery).
    pub duplicate_events: bool,
    /// Deliver some events in a later log file, up to 25 minutes after they happened.
    pub late_events: bool,
    /// Publish some log files 20 minutes after their end time.
    pub late_files: bool,
    /// Put malformed lines and unknown event types in some log files.
    pub noise_lines: bool,
    /// Add a custom GPT whose knowledge files are hostile ([`super::HOSTILE_FILES`]: a PDF that
    /// crashes its parser, a nested zip bomb beside a planted value, an XML entity expansion in
    /// a DOCX, a file over the default size limit).
    pub hostile_files: bool,
    /// Custom GPTs created after the anchor, within `future_hours` (not listed before), each
    /// with two knowledge files holding planted values.
    pub new_gpts: usize,
    /// Updates of the GPTs within `future_hours`, round robin: each adds a configuration
    /// version (listed from its time, newest first) renamed `<name> v<N>`, with the previous
    /// version's knowledge files and one more holding a planted value.
    pub gpt_updates: usize,
}

impl Default for WorkspaceSpec {
    fn default() -> Self {
        WorkspaceSpec {
            seed: 7,
            users: 20,
            conversations_per_user: 5,
            messages_per_conversation: 6,
            app_calls_per_user: 3,
            gpts: 3,
            days: 35,
            future_hours: 0,
            log_file_minutes: 60,
            duplicate_events: false,
            late_events: false,
            late_files: false,
            noise_lines: false,
            hostile_files: false,
            new_gpts: 0,
            gpt_updates: 0,
        }
    }
}

/// One planted sensitive value: the ground truth a scan must find.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Planted {
    /// The detector that must report it.
    pub detector: String,
    /// The value itself (for the tests' fingerprinting).
    pub value: String,
    /// The kind of item.
    pub item: ItemKind,
    /// Event id (messages, tool calls, and the message an upload came with).
    pub event_id: Option<String>,
    /// Message id.
    pub message_id: Option<String>,
    /// Conversation id.
    pub conversation_id: Option<String>,
    /// Conversation title.
    pub conversation_title: Option<String>,
    /// File id.
    pub file_id: Option<String>,
    /// File name.
    pub file_name: Option<String>,
    /// GPT id.
    pub gpt_id: Option<String>,
    /// GPT name.
    pub gpt_name: Option<String>,
    /// Email of the acting user (GPT owner for knowledge files).
    pub user_email: Option<String>,
    /// Author role of a message.
    pub author_role: Option<String>,
    /// Time of the event (uploads: of the message).
    pub timestamp: Option<OffsetDateTime>,
    /// File format: `txt`, `csv`, `json`, `docx`, or `text` for messages and tool calls.
    pub format: String,
}

/// A user.
#[derive(Debug, Clone)]
pub struct SimUser {
    /// Id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
}

/// An uploaded or knowledge file.
#[derive(Debug, Clone)]
pub struct SimFile {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Content (shared: serving it copies nothing).
    pub content: Bytes,
    /// Upload time (uploads expire 48 hours later).
    pub uploaded_at: OffsetDateTime,
    /// Uploader (conversation uploads).
    pub user_id: Option<String>,
}

/// A GPT.
#[derive(Debug, Clone)]
pub struct SimGpt {
    /// Its JSON as `/gpts` returns it when created (its first version as the latest).
    pub json: Value,
    /// Id.
    pub id: String,
    /// Knowledge file ids, of every version.
    pub files: Vec<String>,
    /// When it was created: it is not listed before.
    pub created_at: OffsetDateTime,
    /// Its configuration versions, oldest first.
    pub configs: Vec<SimGptConfig>,
}

/// One configuration version of a GPT.
#[derive(Debug, Clone)]
pub struct SimGptConfig {
    /// Id (`gzm_cnf_...`).
    pub id: String,
    /// The GPT's name in this version.
    pub name: String,
    /// When it was made: it is not listed before.
    pub created_at: OffsetDateTime,
    /// Knowledge file ids of this version.
    pub files: Vec<String>,
    /// Its JSON as `/gpts/{id}/configs` returns it.
    pub json: Value,
}

impl SimGptConfig {
    /// A version from its JSON (id, name and files read from it).
    pub fn new(json: Value, created_at: OffsetDateTime) -> SimGptConfig {
        let text = |key: &str| json[key].as_str().unwrap_or_default().to_string();
        let files = json["files"]["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["id"].as_str().map(str::to_string))
            .collect();
        SimGptConfig {
            id: text("id"),
            name: text("name"),
            created_at,
            files,
            json,
        }
    }
}

impl SimGpt {
    /// A GPT created at `created_at` with one version, from its JSON (as `/gpts` lists it, with
    /// that version as the latest).
    pub fn new(json: Value, created_at: OffsetDateTime) -> SimGpt {
        let first = json["latest_config"]["data"]
            .get(0)
            .map(|c| SimGptConfig::new(c.clone(), created_at));
        SimGpt {
            id: json["id"].as_str().unwrap_or_default().to_string(),
            files: first.iter().flat_map(|c| c.files.clone()).collect(),
            created_at,
            configs: first.into_iter().collect(),
            json,
        }
    }

    /// The versions made by `now`, newest first.
    pub fn configs_at(&self, now: OffsetDateTime) -> impl Iterator<Item = &SimGptConfig> {
        self.configs
            .iter()
            .rev()
            .filter(move |c| c.created_at <= now)
    }

    /// The GPT as `/gpts` lists it at `now` (its newest version as the latest), or `None`
    /// before it was created.
    pub fn json_at(&self, now: OffsetDateTime) -> Option<Value> {
        if self.created_at > now {
            return None;
        }
        let latest: Vec<Value> = self
            .configs_at(now)
            .take(1)
            .map(|c| c.json.clone())
            .collect();
        let mut json = self.json.clone();
        json["latest_config"] =
            json!({"object": "list", "data": latest, "has_more": false, "last_id": null});
        Some(json)
    }
}

/// One event and when it is delivered.
#[derive(Debug, Clone)]
pub struct SimEvent {
    /// Event type.
    pub event_type: &'static str,
    /// Event time.
    pub time: OffsetDateTime,
    /// When it is delivered (equal to `time` unless late).
    pub delivered: OffsetDateTime,
    /// The JSON line.
    pub json: Value,
}

/// A log file.
#[derive(Debug, Clone)]
pub struct SimLogFile {
    /// Id.
    pub id: String,
    /// Event type.
    pub event_type: &'static str,
    /// Exact end time.
    pub end_time: OffsetDateTime,
    /// When it appears in listings.
    pub visible_at: OffsetDateTime,
    /// JSONL content.
    pub content: Vec<u8>,
    /// Ids of the events it holds.
    pub event_ids: Vec<String>,
}

/// The generated workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Workspace id.
    pub id: String,
    /// Users.
    pub users: Vec<SimUser>,
    /// Conversation uploads and knowledge files by id.
    pub files: BTreeMap<String, SimFile>,
    /// GPTs.
    pub gpts: Vec<SimGpt>,
    /// Projects (as `/projects` returns them).
    pub projects: Vec<Value>,
    /// Log files by end time.
    pub log_files: Vec<SimLogFile>,
    /// Ground truth.
    pub planted: Vec<Planted>,
    /// Number of image-only messages, by event id.
    pub image_only: Vec<String>,
}

/// SplitMix64: tiny, fast, and stable forever.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| *self.pick(alphabet) as char).collect()
    }
    fn digits(&mut self, n: usize) -> String {
        self.chars(b"0123456789", n)
    }
    pub(crate) fn id(&mut self, prefix: &str) -> String {
        format!(
            "{prefix}{}",
            self.chars(b"abcdefghijklmnopqrstuvwxyz0123456789", 16)
        )
    }
}

const FIRST: &[&str] = &[
    "ada", "bo", "chen", "dara", "eli", "fatima", "gus", "hana", "ivo", "jun", "kemal", "lena",
];
const LAST: &[&str] = &[
    "stone", "rivera", "okafor", "lind", "sato", "novak", "haddad", "berg", "ito", "moreau",
];
const TOPICS: &[&str] = &[
    "quarterly planning",
    "vendor onboarding",
    "travel policy",
    "incident review",
    "hiring loop",
    "customer escalation",
    "budget draft",
    "release notes",
    "security questionnaire",
    "team offsite",
];
const WORDS: &[&str] = &[
    "please",
    "review",
    "the",
    "draft",
    "and",
    "summarize",
    "key",
    "points",
    "for",
    "our",
    "team",
    "meeting",
    "with",
    "clear",
    "next",
    "steps",
    "about",
    "this",
    "project",
    "timeline",
    "risks",
    "owners",
    "notes",
    "update",
    "customer",
    "feedback",
    "plan",
    "should",
    "include",
    "context",
];

/// The kinds of values planted, with the detector that must report each.
const PLANT_KINDS: &[&str] = &[
    "credit_card",
    "us_ssn",
    "aws_access_key_id",
    "github_token",
    "iban",
    "email",
];

fn luhn_check_digit(digits: &str) -> u32 {
    // Check digit for `digits` (the payload without it).
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let mut d = c.to_digit(10).unwrap_or(0);
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    (10 - sum % 10) % 10
}

fn plant_value(rng: &mut Rng, detector: &str) -> (String, String) {
    match detector {
        "credit_card" => {
            let payload = format!("4{}", rng.digits(14));
            let n = format!("{payload}{}", luhn_check_digit(&payload));
            let v = format!("{} {} {} {}", &n[0..4], &n[4..8], &n[8..12], &n[12..16]);
            (format!("charge it to card {v} before friday"), v)
        }
        "us_ssn" => {
            let mut area = 100 + rng.below(565);
            if area == 666 {
                area = 667;
            }
            let v = format!(
                "{area:03}-{:02}-{:04}",
                10 + rng.below(89),
                1000 + rng.below(8999)
            );
            (format!("employee SSN: {v} for the payroll form"), v)
        }
        "aws_access_key_id" => {
            let v = format!("AKIA{}", rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
            (
                format!("the deploy uses aws_access_key_id = {v} in staging"),
                v,
            )
        }
        "github_token" => {
            // 30 random characters and the base62 CRC32 of them, as GitHub issues tokens (36
            // are drawn, as before checksums, so that the rest of the workspace is unchanged).
            let mut body = rng.chars(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                36,
            );
            body.truncate(30);
            let mut crc = flate2::Crc::new();
            crc.update(body.as_bytes());
            let mut sum = u64::from(crc.sum());
            let mut check = [b'0'; 6];
            for slot in check.iter_mut().rev() {
                *slot = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    [(sum % 62) as usize];
                sum /= 62;
            }
            let v = format!("ghp_{body}{}", String::from_utf8_lossy(&check));
            (format!("use token {v} for the bot"), v)
        }
        "iban" => {
            // A Bankleitzahl starts with a clearing area 1-8, then a 10-digit account.
            let bban = format!("{}{}", 1 + rng.below(8), rng.digits(17));
            // ISO 13616: check digits make (bban + "DE00" as digits) mod 97 == 1.
            let numeric = format!("{bban}131400");
            let rem = numeric.chars().fold(0u64, |acc, c| {
                (acc * 10 + u64::from(c.to_digit(10).unwrap_or(0))) % 97
            });
            let v = format!("DE{:02}{bban}", 98 - rem);
            (format!("wire the refund to IBAN {v} today"), v)
        }
        _ => {
            let v = format!("{}.{}@contoso-mail.com", rng.pick(FIRST), rng.pick(LAST));
            (format!("forward the contract to {v} please"), v)
        }
    }
}

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s: Vec<&str> = (0..words).map(|_| *rng.pick(WORDS)).collect();
    s.push("thanks");
    s.join(" ")
}

/// A minimal valid DOCX with one paragraph per line of `text`.
pub fn docx(text: &str) -> Vec<u8> {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let paragraphs: String = text
        .lines()
        .map(|l| {
            format!(
                "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                escape(l)
            )
        })
        .collect();
    let parts = [
        (
            "[Content_Types].xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
<Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>\
</Types>"
                .to_string(),
        ),
        (
            "_rels/.rels",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/>\
</Relationships>"
                .to_string(),
        ),
        (
            "word/document.xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{paragraphs}</w:body></w:document>"
            ),
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in parts {
        // Writing to memory cannot fail.
        let _ = zip.start_file(name, options);
        let _ = zip.write_all(content.as_bytes());
    }
    zip.finish().map(|c| c.into_inner()).unwrap_or_default()
}

/// A tiny valid PNG (1x1 pixel): binary content the text inspector cannot read.
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

fn file_content(rng: &mut Rng, format: &str, plant_text: &str) -> Vec<u8> {
    match format {
        "csv" => format!(
            "name,team,note\n{},{},{}\nops,infra,{}\n",
            rng.pick(FIRST),
            rng.pick(TOPICS),
            sentence(rng, 4),
            plant_text
        )
        .into_bytes(),
        "json" => serde_json::to_vec_pretty(
            &json!({"summary": sentence(rng, 6), "details": {"note": plant_text}}),
        )
        .unwrap_or_default(),
        "docx" => docx(&format!("{}\n{plant_text}", sentence(rng, 8))),
        _ => format!(
            "{}\n{plant_text}\n{}\n",
            sentence(rng, 10),
            sentence(rng, 6)
        )
        .into_bytes(),
    }
}

impl Workspace {
    /// Generates a workspace whose history ends `spec.future_hours` after `anchor`.
    pub fn generate(spec: &WorkspaceSpec, anchor: OffsetDateTime) -> Workspace {
        let mut rng = Rng::new(spec.seed);
        let id = {
            let h = format!("{:016x}{:016x}", rng.next(), rng.next());
            format!(
                "{}-{}-4{}-8{}-{}",
                &h[0..8],
                &h[8..12],
                &h[13..16],
                &h[17..20],
                &h[20..32]
            )
        };
        let mut ws = Workspace {
            id: id.clone(),
            users: Vec::new(),
            files: BTreeMap::new(),
            gpts: Vec::new(),
            projects: Vec::new(),
            log_files: Vec::new(),
            planted: Vec::new(),
            image_only: Vec::new(),
        };
        for i in 0..spec.users {
            let (first, last) = (FIRST[i % FIRST.len()], LAST[(i * 7 + 3) % LAST.len()]);
            ws.users.push(SimUser {
                id: format!(
                    "user-{}",
                    rng.chars(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                        24
                    )
                ),
                email: format!("{first}.{last}{i}@example.com"),
                name: format!("{first} {last}"),
            });
        }
        let principal = json!({"id": id, "type": "CHATGPT_WORKSPACE"});
        let start = anchor - Duration::days(i64::from(spec.days));
        let span = (Duration::days(i64::from(spec.days))
            + Duration::hours(i64::from(spec.future_hours)))
        .whole_seconds()
        .max(1) as u64;
        let gpt_names = [
            "Finance Helper",
            "HR Policy Bot",
            "Sales Playbook",
            "Legal Reviewer",
            "Support Triage",
        ];
        let gpt_ids: Vec<(String, String)> = (0..spec.gpts)
            .map(|i| (rng.id("g-"), gpt_names[i % gpt_names.len()].to_string()))
            .collect();
        let mut events: Vec<SimEvent> = Vec::new();
        let mut plant_index = 0usize;
        let mut next_plant = |rng: &mut Rng| {
            let kind = PLANT_KINDS[plant_index % PLANT_KINDS.len()];
            plant_index += 1;
            let (text, value) = plant_value(rng, kind);
            (kind.to_string(), text, value)
        };
        for user in ws.users.clone() {
            let actor =
                json!({"type": "ACCOUNT_USER", "user_id": user.id, "user_email": user.email});
            for c in 0..spec.conversations_per_user {
                let conv_id = format!("conv-{}", rng.id(""));
                let title = format!("{} #{}", rng.pick(TOPICS), c + 1);
                // A quarter of the conversations happen in the last 40 hours, so that some uploads
                // are still downloadable in a 30-day scan.
                let mut t = if rng.chance(25) {
                    anchor - Duration::hours(40) + Duration::seconds(rng.below(36 * 3600) as i64)
                } else {
                    start + Duration::seconds(rng.below(span) as i64)
                };
                let temporary = rng.chance(10);
                let gpt = if rng.chance(20) && !gpt_ids.is_empty() {
                    Some(rng.pick(&gpt_ids).clone())
                } else {
                    None
                };
                let created = format_time(t);
                let mut previous: Option<String> = None;
                for m in 0..spec.messages_per_conversation {
                    t += Duration::seconds(20 + rng.below(300) as i64);
                    let role = if m % 2 == 0 { "user" } else { "assistant" };
                    let event_id = rng.id("evt_");
                    let message_id = rng.id("msg_");
                    let mut text = sentence(&mut rng, 12);
                    let mut content = json!({"type": "text", "value": text, "annotations": []});
                    let mut files = Vec::new();
                    let meta_planted =
                        |detector: String, value: String, item: ItemKind, format: &str| Planted {
                            detector,
                            value,
                            item,
                            event_id: Some(event_id.clone()),
                            message_id: Some(message_id.clone()),
                            conversation_id: Some(conv_id.clone()),
                            conversation_title: Some(title.clone()),
                            file_id: None,
                            file_name: None,
                            gpt_id: gpt.as_ref().map(|g| g.0.clone()),
                            gpt_name: gpt.as_ref().map(|g| g.1.clone()),
                            user_email: Some(user.email.clone()),
                            author_role: Some(role.to_string()),
                            timestamp: Some(t),
                            format: format.to_string(),
                        };
                    if role == "user" && rng.chance(8) {
                        content = json!({"type": "image_asset_pointer", "value": null});
                        ws.image_only.push(event_id.clone());
                    } else if rng.chance(30) {
                        let (detector, plant_text, value) = next_plant(&mut rng);
                        text = format!("{text} {plant_text}");
                        content = json!({"type": "text", "value": text, "annotations": []});
                        ws.planted
                            .push(meta_planted(detector, value, ItemKind::Message, "text"));
                    }
                    if role == "user" && rng.chance(20) {
                        let format = *rng.pick(&["txt", "csv", "json", "docx", "png"]);
                        let file_id = rng.id("file-");
                        let name = format!("{}.{format}", rng.pick(TOPICS).replace(' ', "_"));
                        let bytes = if format == "png" {
                            PNG_1X1.to_vec()
                        } else {
                            let (detector, plant_text, value) = next_plant(&mut rng);
                            let mut p =
                                meta_planted(detector, value, ItemKind::ConversationFile, format);
                            p.file_id = Some(file_id.clone());
                            p.file_name = Some(name.clone());
                            ws.planted.push(p);
                            file_content(&mut rng, format, &plant_text)
                        };
                        ws.files.insert(
                            file_id.clone(),
                            SimFile {
                                id: file_id.clone(),
                                name: name.clone(),
                                content: bytes.into(),
                                uploaded_at: t,
                                user_id: Some(user.id.clone()),
                            },
                        );
                        files.push(json!({"id": file_id, "name": name}));
                    }
                    let mut event = json!({
                        "event_id": event_id, "type": "CONVERSATION_MESSAGE", "timestamp": format_micros(t),
                        "principal": principal, "actor": actor,
                        "message": {"id": message_id, "created_at": format_micros(t),
                            "author": {"type": role, "model": if role == "assistant" { json!("gpt-4o") } else { Value::Null },
                                "tools_used": if role == "assistant" && rng.chance(30) { json!(["browser"]) } else { json!([]) },
                                "client_type": "desktop_web"},
                            "content": content, "files": files},
                        "conversation": {"id": conv_id, "title": title, "created_at": created,
                            "is_temporary_chat": temporary, "gpt_id": gpt.as_ref().map(|g| g.0.clone()),
                            "gpt_name": gpt.as_ref().map(|g| g.1.clone()), "project_id": null, "project_name": null}
                    });
                    if let (Some(prev), Some(obj)) = (&previous, event.as_object_mut()) {
                        obj.insert("previous_message_id".into(), json!(prev));
                    }
                    previous = Some(message_id.clone());
                    events.push(SimEvent {
                        event_type: "CONVERSATION_MESSAGE",
                        time: t,
                        delivered: t,
                        json: event,
                    });
                }
            }
            for _ in 0..spec.app_calls_per_user {
                let t = start + Duration::seconds(rng.below(span) as i64);
                let app = *rng.pick(&["Slack", "Google Drive", "Jira"]);
                let (request_id, response_id) = (rng.id("evt_"), rng.id("evt_"));
                let query = sentence(&mut rng, 5);
                let mut input =
                    json!({"query": query, "channel_id": "C0123", "_meta": {"source": "chat"}});
                let mut result_text = sentence(&mut rng, 9);
                let planted = |detector: String,
                               value: String,
                               event_id: &str,
                               time: OffsetDateTime| Planted {
                    detector,
                    value,
                    item: ItemKind::AppLog,
                    event_id: Some(event_id.to_string()),
                    message_id: None,
                    conversation_id: None,
                    conversation_title: None,
                    file_id: None,
                    file_name: None,
                    gpt_id: None,
                    gpt_name: None,
                    user_email: Some(user.email.clone()),
                    author_role: None,
                    timestamp: Some(time),
                    format: "text".into(),
                };
                if rng.chance(50) {
                    let (detector, plant_text, value) = next_plant(&mut rng);
                    // Nested below the top level: every string must be inspected, not only `query`.
                    input["filters"] = json!({"text": [plant_text]});
                    ws.planted.push(planted(detector, value, &request_id, t));
                }
                let t2 = t + Duration::seconds(2);
                if rng.chance(50) {
                    let (detector, plant_text, value) = next_plant(&mut rng);
                    result_text = format!("{result_text} {plant_text}");
                    ws.planted.push(planted(detector, value, &response_id, t2));
                }
                let envelope = |event_id: &str, time: OffsetDateTime| {
                    json!({"event_id": event_id, "type": "APP_LOG", "timestamp": format_micros(time),
                        "principal": principal, "actor": actor, "app_id": "asdk_app_01", "app_name": app,
                        "app_type": "MCP", "conversation_id": null})
                };
                let mut request = envelope(&request_id, t);
                request["log_type"] = json!("request");
                request["input"] = input;
                let mut response = envelope(&response_id, t2);
                response["log_type"] = json!("response");
                response["output"] = json!([{"response": {"result": {"content": [{"type": "text", "text": result_text}],
                    "isError": false}, "connector_name": app, "action_name": "search"}}]);
                events.push(SimEvent {
                    event_type: "APP_LOG",
                    time: t,
                    delivered: t,
                    json: request,
                });
                events.push(SimEvent {
                    event_type: "APP_LOG",
                    time: t2,
                    delivered: t2,
                    json: response,
                });
            }
        }
        for (i, (gpt_id, name)) in gpt_ids.iter().enumerate() {
            let owner = ws.users[i % ws.users.len().max(1)].clone();
            let mut files = Vec::new();
            let mut file_json = Vec::new();
            for k in 0..2 {
                let format = if k == 0 {
                    "txt"
                } else {
                    *rng.pick(&["csv", "json", "docx"])
                };
                let file_id = rng.id("file-");
                let file_name = format!("{}_kb{k}.{format}", name.to_lowercase().replace(' ', "_"));
                let (detector, plant_text, value) = next_plant(&mut rng);
                ws.planted.push(Planted {
                    detector,
                    value,
                    item: ItemKind::GptFile,
                    event_id: None,
                    message_id: None,
                    conversation_id: None,
                    conversation_title: None,
                    file_id: Some(file_id.clone()),
                    file_name: Some(file_name.clone()),
                    gpt_id: Some(gpt_id.clone()),
                    gpt_name: Some(name.clone()),
                    user_email: Some(owner.email.clone()),
                    author_role: None,
                    timestamp: None,
                    format: format.to_string(),
                });
                let content = file_content(&mut rng, format, &plant_text);
                ws.files.insert(
                    file_id.clone(),
                    SimFile {
                        id: file_id.clone(),
                        name: file_name.clone(),
                        content: content.into(),
                        uploaded_at: start,
                        user_id: None,
                    },
                );
                file_json.push(json!({"id": file_id, "name": file_name, "created_at": start.unix_timestamp() as f64,
                    "download_url": null}));
                files.push(file_id);
            }
            let config = json!({"id": rng.id("gzm_cnf_"), "name": name, "description": format!("{name} for the team"),
                "instructions": "Answer briefly.", "created_at": start.unix_timestamp() as f64,
                "files": {"object": "list", "data": file_json, "has_more": false, "last_id": null}, "tools": {}});
            let visibility = ["invite-only", "workspace", "workspace-with-link"][i % 3];
            let mut gpt = SimGpt::new(
                json!({"object": "compliance.workspace.gpt", "id": gpt_id, "created_at": start.unix_timestamp() as f64,
                    "owner_id": owner.id, "owner_email": owner.email, "builder_name": owner.name,
                    "sharing": {"visibility": visibility, "permissions": {}, "recipients": []},
                    "latest_config": {"object": "list", "data": [config], "has_more": false, "last_id": null}}),
                start,
            );
            gpt.files = files;
            ws.gpts.push(gpt);
        }
        ws.projects.push(json!({"object": "compliance.workspace.project", "id": rng.id("g-p-"),
            "created_at": start.unix_timestamp() as f64, "owner_email": ws.users.first().map(|u| u.email.clone()),
            "latest_config": {"object": "list", "data": [], "has_more": false, "last_id": null}}));

        if spec.late_events {
            for e in events.iter_mut() {
                if rng.chance(10) {
                    e.delivered = e.time + Duration::minutes(5 + rng.below(20) as i64);
                }
            }
        }
        ws.log_files = build_log_files(&mut rng, spec, &mut events, start);
        // GPTs made and changed after the anchor: nothing is drawn when there are none, so
        // that the rest of the workspace is the same for a seed.
        let future = |rng: &mut Rng| {
            let span = (u64::from(spec.future_hours) * 3600).max(2);
            anchor + Duration::seconds(1 + rng.below(span - 1) as i64)
        };
        for n in 0..spec.new_gpts {
            let created = future(&mut rng);
            let Some(owner) = ws.users.get(n % ws.users.len().max(1)).cloned() else {
                break;
            };
            let gpt_id = rng.id("g-");
            let name = format!("{} {}", gpt_names[(spec.gpts + n) % gpt_names.len()], n + 2);
            let mut file_json = Vec::new();
            for k in 0..2 {
                let plant = next_plant(&mut rng);
                let (_, json) = ws.add_knowledge_file(
                    &mut rng,
                    (&gpt_id, &name, &owner.email),
                    k,
                    created,
                    plant,
                );
                file_json.push(json);
            }
            let config = json!({"id": rng.id("gzm_cnf_"), "name": name, "description": format!("{name} for the team"),
                "instructions": "Answer briefly.", "created_at": created.unix_timestamp() as f64,
                "files": {"object": "list", "data": file_json, "has_more": false, "last_id": null}, "tools": {}});
            ws.gpts.push(SimGpt::new(
                json!({"object": "compliance.workspace.gpt", "id": gpt_id, "created_at": created.unix_timestamp() as f64,
                    "owner_id": owner.id, "owner_email": owner.email, "builder_name": owner.name,
                    "sharing": {"visibility": "workspace", "permissions": {}, "recipients": []},
                    "latest_config": {"object": "list", "data": [config], "has_more": false, "last_id": null}}),
                created,
            ));
        }
        if !ws.gpts.is_empty() {
            let mut times: Vec<OffsetDateTime> =
                (0..spec.gpt_updates).map(|_| future(&mut rng)).collect();
            times.sort();
            let count = ws.gpts.len();
            for (u, at) in times.into_iter().enumerate() {
                let plant = next_plant(&mut rng);
                ws.update_gpt(&mut rng, u % count, at, plant);
            }
        }
        if spec.hostile_files {
            let (detector, plant_text, value) = next_plant(&mut rng);
            super::hostile::add_hostile_gpt(
                &mut ws,
                &mut rng,
                start,
                (detector, plant_text, value),
            );
        }
        ws
    }

    /// Adds a knowledge file (text, `<gpt name>_kb<k>.txt`) holding `plant` (detector, text,
    /// value), created at `at`, to the files and the ground truth; returns its id and its JSON
    /// for a configuration's file list.
    fn add_knowledge_file(
        &mut self,
        rng: &mut Rng,
        (gpt_id, gpt_name, owner_email): (&str, &str, &str),
        k: usize,
        at: OffsetDateTime,
        (detector, plant_text, value): (String, String, String),
    ) -> (String, Value) {
        let file_id = rng.id("file-");
        let file_name = format!("{}_kb{k}.txt", gpt_name.to_lowercase().replace(' ', "_"));
        self.planted.push(Planted {
            detector,
            value,
            item: ItemKind::GptFile,
            event_id: None,
            message_id: None,
            conversation_id: None,
            conversation_title: None,
            file_id: Some(file_id.clone()),
            file_name: Some(file_name.clone()),
            gpt_id: Some(gpt_id.to_string()),
            gpt_name: Some(gpt_name.to_string()),
            user_email: Some(owner_email.to_string()),
            author_role: None,
            timestamp: Some(at),
            format: "txt".to_string(),
        });
        let content = file_content(rng, "txt", &plant_text);
        self.files.insert(
            file_id.clone(),
            SimFile {
                id: file_id.clone(),
                name: file_name.clone(),
                content: content.into(),
                uploaded_at: at,
                user_id: None,
            },
        );
        let json = json!({"id": file_id, "name": file_name, "created_at": at.unix_timestamp() as f64,
            "download_url": null});
        (file_id, json)
    }

    /// Adds a configuration version to GPT number `index` at `at` (not before its last version):
    /// renamed `<name> v<N>`, with one more knowledge file holding `plant`.
    fn update_gpt(
        &mut self,
        rng: &mut Rng,
        index: usize,
        at: OffsetDateTime,
        plant: (String, String, String),
    ) {
        let Some(gpt) = self.gpts.get(index) else {
            return;
        };
        let Some(previous) = gpt.configs.last().cloned() else {
            return;
        };
        let at = at.max(previous.created_at + Duration::minutes(1));
        let gpt_id = gpt.id.clone();
        let owner_email = gpt.json["owner_email"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let base = gpt
            .configs
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let name = format!("{base} v{}", gpt.configs.len() + 1);
        let k = previous.files.len();
        let (file_id, file_json) =
            self.add_knowledge_file(rng, (&gpt_id, &name, &owner_email), k, at, plant);
        let mut json = previous.json.clone();
        json["id"] = json!(rng.id("gzm_cnf_"));
        json["name"] = json!(name);
        json["created_at"] = json!(at.unix_timestamp() as f64);
        if let Some(files) = json["files"]["data"].as_array_mut() {
            files.push(file_json);
        }
        let config = SimGptConfig::new(json, at);
        if let Some(gpt) = self.gpts.get_mut(index) {
            gpt.files.push(file_id);
            gpt.configs.push(config);
        }
    }

    /// The organization id that addresses this workspace through `/compliance/organizations`.
    pub fn org_id(&self) -> String {
        format!("org-{}", &self.id[..8])
    }

    /// Ids of the events in log files whose end time is in `(after, until]`.
    pub fn events_in_files(
        &self,
        after: OffsetDateTime,
        until: OffsetDateTime,
    ) -> std::collections::HashSet<String> {
        self.log_files
            .iter()
            .filter(|f| f.end_time > after && f.end_time <= until)
            .flat_map(|f| f.event_ids.iter().cloned())
            .collect()
    }
}

fn build_log_files(
    rng: &mut Rng,
    spec: &WorkspaceSpec,
    events: &mut [SimEvent],
    start: OffsetDateTime,
) -> Vec<SimLogFile> {
    events.sort_by_key(|e| (e.delivered, e.time));
    let width = Duration::minutes(i64::from(spec.log_file_minutes.max(1)));
    let mut groups: BTreeMap<(&'static str, i64), Vec<&SimEvent>> = BTreeMap::new();
    for e in events.iter() {
        let slot = ((e.delivered - start).whole_seconds().max(0)) / width.whole_seconds().max(1);
        groups.entry((e.event_type, slot)).or_default().push(e);
    }
    let mut files = Vec::new();
    let mut previous_by_type: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    for ((event_type, _), group) in groups {
        let end_time = group.iter().map(|e| e.delivered).max().unwrap_or(start);
        let mut lines: Vec<String> = group.iter().map(|e| e.json.to_string()).collect();
        if spec.duplicate_events {
            // At-least-once delivery: some events of the previous file come again.
            for prev in previous_by_type.get(event_type).into_iter().flatten() {
                if rng.chance(30) {
                    lines.push(prev.to_string());
                }
            }
        }
        if spec.noise_lines && rng.chance(30) {
            lines.push("{\"event_id\": \"broken".to_string());
            lines.push(json!({"event_id": rng.id("evt_"), "type": "AUTH_LOG", "timestamp": format_micros(end_time)}).to_string());
        }
        previous_by_type.insert(event_type, group.iter().map(|e| e.json.clone()).collect());
        let mut content = lines.join("\n").into_bytes();
        content.push(b'\n');
        let visible_at = if spec.late_files && rng.chance(15) {
            end_time + Duration::minutes(20)
        } else {
            end_time
        };
        let event_ids = lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| {
                v.get("event_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        files.push(SimLogFile {
            id: rng.id("eclf_"),
            event_type,
            end_time,
            visible_at,
            content,
            event_ids,
        });
    }
    files.sort_by_key(|f| f.end_time);
    files
}

/// ISO 8601 with microseconds and `Z`, as the logs write it.
pub fn format_micros(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// SHA-256 hex of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::client::hex(&Sha256::digest(bytes))
}
