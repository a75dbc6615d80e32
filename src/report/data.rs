//! What a report says, computed from the records: totals, the charts' series, the top lists,
//! the table's rows. [`Collector`] takes the input lines one at a time and keeps counters (and
//! the table's rows up to a cap), so that a large input costs its table, not its size.
//!
//! It never writes anything and never fails: a line that is not a record is counted, with its
//! place, and left out.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::timeline::{timeline, Timeline};

/// Bars shown in the detector and file-type charts; the rest are summed as one "other" bar.
const CHART_BARS: usize = 15;
/// Entries of each top list.
const TOP: usize = 10;
/// Skipped items listed in the report (all are counted).
const SKIP_ROWS: usize = 1_000;
/// Places of lines not understood that are named (all are counted).
const EXAMPLES: usize = 5;

/// One line of any record type `dlp` writes, as far as a report needs it. Fields that a record
/// type does not have are `None`; fields a report does not use are ignored.
#[derive(Debug, Default, Deserialize)]
struct Line {
    record: Option<String>,
    // dlp scan's findings and skips.
    path: Option<String>,
    member: Option<String>,
    detector: Option<String>,
    category: Option<String>,
    confidence: Option<String>,
    line: Option<u64>,
    location: Option<String>,
    masked: Option<String>,
    fingerprint: Option<String>,
    reason: Option<String>,
    detail: Option<String>,
    // The connector's provenance (dlp_connector::ItemMeta), and the service's tag.
    item: Option<String>,
    connector: Option<String>,
    workspace_id: Option<String>,
    conversation_id: Option<String>,
    conversation_title: Option<String>,
    message_id: Option<String>,
    event_id: Option<String>,
    file_id: Option<String>,
    file_name: Option<String>,
    gpt_id: Option<String>,
    gpt_name: Option<String>,
    user_email: Option<String>,
    app_name: Option<String>,
    timestamp: Option<String>,
    // dlp scan's summary (`--summary FILE`).
    files: Option<u64>,
    items_scanned: Option<u64>,
    items_skipped: Option<BTreeMap<String, u64>>,
    bytes: Option<u64>,
    findings_total: Option<u64>,
    findings_allowed: Option<u64>,
}

impl Line {
    fn is_summary(&self) -> bool {
        self.record.is_none() && self.items_scanned.is_some() && self.findings_total.is_some()
    }

    fn is_connectors(&self) -> bool {
        self.item.is_some() || self.workspace_id.is_some() || self.connector.is_some()
    }

    /// What a person calls the item: the path for `dlp scan`; for the connector the file's
    /// name, else the conversation's title (or id), else the GPT or app.
    fn source_label(&self) -> String {
        if let Some(path) = &self.path {
            return path.clone();
        }
        let conversation = self
            .conversation_title
            .as_deref()
            .filter(|t| !t.is_empty())
            .or(self.conversation_id.as_deref());
        let label = self
            .file_name
            .as_deref()
            .or(conversation)
            .or(self.gpt_name.as_deref())
            .or(self.app_name.as_deref());
        label.unwrap_or("(unknown)").to_string()
    }

    /// The connector's id of the item [`Line::source_label`] names: the file's, else the
    /// conversation's; empty for `dlp scan`.
    fn source_id(&self) -> &str {
        if self.path.is_some() {
            return "";
        }
        self.file_id
            .as_deref()
            .or(self.conversation_id.as_deref())
            .or(self.message_id.as_deref())
            .or(self.event_id.as_deref())
            .or(self.gpt_id.as_deref())
            .unwrap_or("")
    }

    /// What tells one item from another, for counting items with findings and the top list.
    fn source_key(&self) -> String {
        if let Some(path) = &self.path {
            return format!("path\0{path}");
        }
        format!(
            "{}\0{}\0{}\0{}",
            self.workspace_id.as_deref().unwrap_or(""),
            self.item.as_deref().unwrap_or(""),
            self.source_id(),
            self.source_label()
        )
    }

    /// The item's file type (from the member's name, else the path's) for `dlp scan`, or the
    /// kind of item for the connector.
    fn kind(&self) -> String {
        if let Some(item) = &self.item {
            return match item.as_str() {
                "message" => "chat message",
                "conversation_file" => "file upload",
                "gpt_file" => "GPT knowledge file",
                "app_log" => "tool call (app log)",
                other => other,
            }
            .to_string();
        }
        match (&self.path, &self.member) {
            (_, Some(member)) => file_type(member),
            (Some(path), None) if path == "-" => "standard input".to_string(),
            (Some(path), None) => file_type(path),
            (None, None) => "(unknown)".to_string(),
        }
    }
}

/// The type of a file by its name's extension, lower case: `pdf`, `tar.gz`, `(none)`.
pub fn file_type(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut parts = base.trim_start_matches('.').rsplit('.');
    let (Some(last), Some(before)) = (parts.next(), parts.next()) else {
        return "(none)".to_string();
    };
    let last = last.to_ascii_lowercase();
    if last.is_empty() || last.len() > 12 || !last.chars().all(|c| c.is_ascii_alphanumeric()) {
        return "(none)".to_string();
    }
    let compressed = ["gz", "bz2", "xz", "zst", "lz4"].contains(&last.as_str());
    if compressed && before.eq_ignore_ascii_case("tar") {
        return format!("tar.{last}");
    }
    last
}

/// Per input: what it held.
#[derive(Debug, Default, Clone, Serialize)]
pub struct InputStats {
    /// The path as given (`-` for standard input).
    pub name: String,
    /// Lines that were not blank.
    pub lines: u64,
    /// Finding records.
    pub findings: u64,
    /// Skipped records.
    pub skipped: u64,
    /// Scan summaries (`--summary` files).
    pub summaries: u64,
    /// Records of a type a report does not use.
    pub unknown: u64,
    /// Lines that are not records.
    pub not_understood: u64,
}

/// A label and its count: one bar of a chart, one entry of a top list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bar {
    /// What is counted.
    pub label: String,
    /// How many.
    pub count: u64,
}

/// The totals at the top of the report.
#[derive(Debug, Default, Serialize)]
pub struct Totals {
    /// Finding records.
    pub findings: u64,
    /// Of which from `dlp scan`.
    pub scan_findings: u64,
    /// Of which from the connector.
    pub connector_findings: u64,
    /// Distinct files (`dlp scan`) and items (connector) with at least one finding.
    pub sources_with_findings: u64,
    /// Skipped records.
    pub skipped: u64,
    /// Distinct values, by fingerprint.
    pub distinct_values: u64,
    /// Findings by confidence: high, medium, low, then any other.
    pub by_confidence: Vec<Bar>,
}

/// The totals of `dlp scan --summary` files, added up.
#[derive(Debug, Default, Serialize)]
pub struct ScanSummary {
    /// Files read.
    pub files: u64,
    /// Items (files and archive members) scanned.
    pub items_scanned: u64,
    /// Items skipped, by reason.
    pub items_skipped: BTreeMap<String, u64>,
    /// Bytes read.
    pub bytes: u64,
    /// Findings reported.
    pub findings_total: u64,
    /// Findings accepted by an allow-list or baseline (not reported).
    pub findings_allowed: u64,
}

/// The charts' series.
#[derive(Debug, Serialize)]
pub struct Charts {
    /// Findings by category, largest first.
    pub category: Vec<Bar>,
    /// Findings by detector: the largest, then "other".
    pub detector: Vec<Bar>,
    /// Findings by file type (`dlp scan`) or item kind (connector): the largest, then "other".
    pub file_type: Vec<Bar>,
    /// Findings over time; `None` when no finding has a timestamp.
    pub time: Option<Timeline>,
    /// Findings whose timestamp is missing or not RFC 3339.
    pub without_timestamp: u64,
    /// Skipped items by reason.
    pub skip_reason: Vec<Bar>,
}

/// The top lists.
#[derive(Debug, Serialize)]
pub struct Top {
    /// Files and items with the most findings.
    pub sources: Vec<Bar>,
    /// Users (connector) with the most findings.
    pub users: Vec<Bar>,
    /// Custom GPTs (connector) with the most findings.
    pub gpts: Vec<Bar>,
    /// Connectors (or workspaces) with the most findings, when records name them.
    pub connectors: Vec<Bar>,
    /// The values found most often, by fingerprint.
    pub values: Vec<TopValue>,
}

/// A value found more than once.
#[derive(Debug, Serialize)]
pub struct TopValue {
    /// Its number in the table's value column.
    pub value: u32,
    /// Its masked preview, as first seen.
    pub masked: String,
    /// The detector that found it first.
    pub detector: String,
    /// Findings of it.
    pub count: u64,
}

/// A column of the findings table.
#[derive(Debug, Serialize)]
pub struct Column {
    /// Its name in the page's code.
    pub key: &'static str,
    /// Its heading.
    pub label: &'static str,
    /// `text` (an index into [`Table::strings`]) or `number`.
    pub kind: &'static str,
    /// Whether any row has a value in it (empty columns are not shown).
    pub present: bool,
}

/// The findings table: each row an array with one number per column, a string column's number
/// an index into `strings` (0 is the empty string), so that repeated paths, detectors and users
/// are written once.
#[derive(Debug, Serialize)]
pub struct Table {
    /// The columns, in row order.
    pub columns: Vec<Column>,
    /// The strings rows refer to.
    pub strings: Vec<String>,
    /// The rows, in input order.
    pub rows: Vec<Vec<u64>>,
    /// Findings in the input; more than `rows.len()` when the table was capped.
    pub total: u64,
    /// How many findings of each value (by its number; index 0 unused).
    pub value_counts: Vec<u64>,
}

/// A skipped item.
#[derive(Debug, Serialize)]
pub struct SkipRow {
    /// Its file or item.
    pub source: String,
    /// The archive member, if it concerns one.
    pub member: String,
    /// The file type or item kind.
    pub kind: String,
    /// Why it was skipped.
    pub reason: String,
    /// What happened, for a person.
    pub detail: String,
}

/// What could not be used.
#[derive(Debug, Default, Serialize)]
pub struct Problems {
    /// Lines that are not records: not JSON, not an object, fields of the wrong type, a finding
    /// without a detector, longer than the limit.
    pub not_understood: u64,
    /// Where the first of them are (`input line 7: not JSON`).
    pub examples: Vec<String>,
    /// Records of a type a report does not use, by type.
    pub unknown_records: BTreeMap<String, u64>,
}

/// Everything the page shows.
#[derive(Debug, Serialize)]
pub struct ReportData {
    /// The report's title.
    pub title: String,
    /// When it was made (RFC 3339, UTC).
    pub generated_at: String,
    /// The version of `dlp` that made it.
    pub version: &'static str,
    /// The inputs, in order.
    pub inputs: Vec<InputStats>,
    /// The totals.
    pub totals: Totals,
    /// The scan summaries given as inputs, added up.
    pub scan_summary: Option<ScanSummary>,
    /// Lines and records left out.
    pub problems: Problems,
    /// The charts' series.
    pub charts: Charts,
    /// The top lists.
    pub top: Top,
    /// The findings table.
    pub table: Table,
    /// Skipped items (the first [`SKIP_ROWS`]).
    pub skipped: Vec<SkipRow>,
}

/// Something counted under a name that need not be unique (a conversation's title, a GPT's
/// name), with the id that is.
#[derive(Debug)]
struct Named {
    label: String,
    id: String,
    count: u64,
}

/// Labels with the id added where two things share a name (`budget (conv-1)`, `budget
/// (conv-2)`), so that a top list never shows one name twice for different things.
fn distinct_labels(named: impl IntoIterator<Item = Named>) -> Vec<(String, u64)> {
    let named: Vec<Named> = named.into_iter().collect();
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for n in &named {
        *uses.entry(n.label.as_str()).or_default() += 1;
    }
    named
        .iter()
        .map(|n| {
            let shared = uses.get(n.label.as_str()).is_some_and(|&u| u > 1);
            let label = if shared && !n.id.is_empty() {
                format!("{} ({})", n.label, n.id)
            } else {
                n.label.clone()
            };
            (label, n.count)
        })
        .collect()
}

/// Strings written once each, numbered in order of first use; 0 is the empty string.
#[derive(Debug)]
struct Strings {
    index: HashMap<String, u32>,
    list: Vec<String>,
}

impl Strings {
    fn new() -> Self {
        Strings {
            index: HashMap::from([(String::new(), 0)]),
            list: vec![String::new()],
        }
    }

    fn id(&mut self, text: &str) -> u64 {
        if let Some(&id) = self.index.get(text) {
            return u64::from(id);
        }
        let id = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.index.insert(text.to_string(), id);
        self.list.push(text.to_string());
        u64::from(id)
    }
}

/// A value seen before, by fingerprint.
#[derive(Debug)]
struct Value {
    number: u32,
    count: u64,
    masked: String,
    detector: String,
}

/// The table's columns, in row order: (key, heading, is a number).
const COLUMNS: &[(&str, &str, bool)] = &[
    ("source", "File or item", false),
    ("detector", "Detector", false),
    ("category", "Category", false),
    ("confidence", "Confidence", false),
    ("masked", "Masked value", false),
    ("value", "Value #", true),
    ("member", "Member", false),
    ("line", "Line", true),
    ("location", "Location", false),
    ("kind", "Type", false),
    ("user", "User", false),
    ("gpt", "GPT", false),
    ("time", "Time (UTC)", false),
    ("connector", "Connector", false),
];

/// Takes lines, keeps counts; [`Collector::finish`] makes the report's data.
#[derive(Debug)]
pub struct Collector {
    max_rows: usize,
    inputs: Vec<InputStats>,
    problems: Problems,
    findings: u64,
    scan_findings: u64,
    connector_findings: u64,
    skipped: u64,
    by_category: HashMap<String, u64>,
    by_detector: HashMap<String, u64>,
    by_kind: HashMap<String, u64>,
    by_confidence: HashMap<String, u64>,
    by_reason: HashMap<String, u64>,
    /// Files and items with findings: key → (label, id, findings).
    sources: HashMap<String, Named>,
    users: HashMap<String, u64>,
    /// GPT id (or name) → (name, id, findings).
    gpts: HashMap<String, Named>,
    connectors: HashMap<String, u64>,
    values: HashMap<String, Value>,
    /// Findings per hour since the epoch (UTC).
    hours: BTreeMap<i64, u64>,
    without_timestamp: u64,
    summary: Option<ScanSummary>,
    strings: Strings,
    rows: Vec<Vec<u64>>,
    present: Vec<bool>,
    skip_rows: Vec<SkipRow>,
}

impl Collector {
    /// A collector whose table keeps at most `max_rows` findings (all are counted).
    pub fn new(max_rows: usize) -> Self {
        Collector {
            max_rows,
            inputs: Vec::new(),
            problems: Problems::default(),
            findings: 0,
            scan_findings: 0,
            connector_findings: 0,
            skipped: 0,
            by_category: HashMap::new(),
            by_detector: HashMap::new(),
            by_kind: HashMap::new(),
            by_confidence: HashMap::new(),
            by_reason: HashMap::new(),
            sources: HashMap::new(),
            users: HashMap::new(),
            gpts: HashMap::new(),
            connectors: HashMap::new(),
            values: HashMap::new(),
            hours: BTreeMap::new(),
            without_timestamp: 0,
            summary: None,
            strings: Strings::new(),
            rows: Vec::new(),
            present: vec![false; COLUMNS.len()],
            skip_rows: Vec::new(),
        }
    }

    /// Starts the next input; its lines follow.
    pub fn start_input(&mut self, name: &str) {
        self.inputs.push(InputStats {
            name: name.to_string(),
            ..Default::default()
        });
    }

    fn input(&mut self) -> &mut InputStats {
        if self.inputs.is_empty() {
            self.start_input("-");
        }
        let last = self.inputs.len() - 1;
        &mut self.inputs[last]
    }

    /// Counts a line that is not a record, naming its place in the first few.
    pub fn not_understood(&mut self, line_no: u64, why: &str) {
        let input = self.input();
        input.not_understood += 1;
        let place = format!("{} line {line_no}: {why}", input.name);
        self.problems.not_understood += 1;
        if self.problems.examples.len() < EXAMPLES {
            self.problems.examples.push(place);
        }
    }

    /// Takes one line of the current input (without its line feed). Blank lines are ignored.
    pub fn line(&mut self, line_no: u64, bytes: &[u8]) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        self.input().lines += 1;
        match serde_json::from_slice::<Line>(bytes) {
            Ok(line) => self.record(line_no, line),
            Err(_) => {
                // Why, without quoting the line (it may hold what it should not).
                let why = match serde_json::from_slice::<serde_json::Value>(bytes) {
                    Err(_) => "not JSON",
                    Ok(serde_json::Value::Object(_)) => "a field of the wrong type",
                    Ok(_) => "not a JSON object",
                };
                self.not_understood(line_no, why);
            }
        }
    }

    /// Takes a whole input that is one JSON document (`dlp scan --summary` writes its summary
    /// over several lines); `false` when it is not a scan summary.
    pub fn document(&mut self, bytes: &[u8]) -> bool {
        match serde_json::from_slice::<Line>(bytes) {
            Ok(line) if line.is_summary() => {
                self.input().lines += 1;
                self.add_summary(&line);
                true
            }
            _ => false,
        }
    }

    fn record(&mut self, line_no: u64, line: Line) {
        match line.record.as_deref() {
            Some("finding") => {
                if line.detector.as_deref().is_none_or(str::is_empty) {
                    self.not_understood(line_no, "a finding without a detector");
                } else {
                    self.finding(line);
                }
            }
            Some("skipped") => self.skip(line),
            None if line.is_summary() => self.add_summary(&line),
            other => {
                self.input().unknown += 1;
                let name = other.unwrap_or("(no record field)");
                // A bounded name: it is shown in the report.
                let name: String = name.chars().take(40).collect();
                *self.problems.unknown_records.entry(name).or_default() += 1;
            }
        }
    }

    fn add_summary(&mut self, line: &Line) {
        self.input().summaries += 1;
        let s = self.summary.get_or_insert_with(ScanSummary::default);
        s.files += line.files.unwrap_or(0);
        s.items_scanned += line.items_scanned.unwrap_or(0);
        s.bytes += line.bytes.unwrap_or(0);
        s.findings_total += line.findings_total.unwrap_or(0);
        s.findings_allowed += line.findings_allowed.unwrap_or(0);
        for (reason, n) in line.items_skipped.iter().flatten() {
            *s.items_skipped.entry(reason.clone()).or_default() += n;
        }
    }

    fn finding(&mut self, line: Line) {
        self.input().findings += 1;
        self.findings += 1;
        let connector = line.is_connectors();
        if connector {
            self.connector_findings += 1;
        } else {
            self.scan_findings += 1;
        }
        let detector = line.detector.clone().unwrap_or_default();
        let category = line.category.clone().unwrap_or_else(|| "(none)".into());
        let confidence = line.confidence.clone().unwrap_or_else(|| "(none)".into());
        let kind = line.kind();
        let label = line.source_label();
        *self.by_detector.entry(detector.clone()).or_default() += 1;
        *self.by_category.entry(category.clone()).or_default() += 1;
        *self.by_confidence.entry(confidence.clone()).or_default() += 1;
        *self.by_kind.entry(kind.clone()).or_default() += 1;
        self.sources
            .entry(line.source_key())
            .or_insert_with(|| Named {
                label: label.clone(),
                id: line.source_id().to_string(),
                count: 0,
            })
            .count += 1;
        if let Some(user) = line.user_email.as_deref().filter(|u| !u.is_empty()) {
            *self.users.entry(user.to_string()).or_default() += 1;
        }
        let gpt = match (&line.gpt_id, &line.gpt_name) {
            (Some(id), name) => Some((id.clone(), name.clone().unwrap_or_else(|| id.clone()))),
            (None, Some(name)) => Some((name.clone(), name.clone())),
            (None, None) => None,
        };
        if let Some((id, name)) = &gpt {
            self.gpts
                .entry(id.clone())
                .or_insert_with(|| Named {
                    label: name.clone(),
                    id: id.clone(),
                    count: 0,
                })
                .count += 1;
        }
        let tag = line.connector.as_ref().or(line.workspace_id.as_ref());
        if let Some(tag) = tag {
            *self.connectors.entry(tag.clone()).or_default() += 1;
        }
        let value = match line.fingerprint.as_deref().filter(|f| !f.is_empty()) {
            Some(fingerprint) => {
                let next = u32::try_from(self.values.len() + 1).unwrap_or(u32::MAX);
                let value = self
                    .values
                    .entry(fingerprint.to_string())
                    .or_insert_with(|| Value {
                        number: next,
                        count: 0,
                        masked: line.masked.clone().unwrap_or_default(),
                        detector: detector.clone(),
                    });
                value.count += 1;
                value.number
            }
            None => 0,
        };
        let time = if connector || line.timestamp.is_some() {
            match line
                .timestamp
                .as_deref()
                .map(|t| OffsetDateTime::parse(t, &Rfc3339))
            {
                Some(Ok(t)) => {
                    let t = t.to_offset(time::UtcOffset::UTC);
                    *self
                        .hours
                        .entry(t.unix_timestamp().div_euclid(3600))
                        .or_default() += 1;
                    format!(
                        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                        t.year(),
                        u8::from(t.month()),
                        t.day(),
                        t.hour(),
                        t.minute(),
                        t.second()
                    )
                }
                _ => {
                    self.without_timestamp += 1;
                    String::new()
                }
            }
        } else {
            String::new()
        };
        if self.rows.len() >= self.max_rows {
            return;
        }
        let user = line.user_email.clone().unwrap_or_default();
        let gpt_name = gpt.map(|(_, name)| name).unwrap_or_default();
        let s = &mut self.strings;
        let row = vec![
            s.id(&label),
            s.id(&detector),
            s.id(&category),
            s.id(&confidence),
            s.id(line.masked.as_deref().unwrap_or("")),
            u64::from(value),
            s.id(line.member.as_deref().unwrap_or("")),
            line.line.unwrap_or(0),
            s.id(line.location.as_deref().unwrap_or("")),
            s.id(&kind),
            s.id(&user),
            s.id(&gpt_name),
            s.id(&time),
            s.id(tag.map(String::as_str).unwrap_or("")),
        ];
        for (present, &cell) in self.present.iter_mut().zip(&row) {
            *present |= cell != 0;
        }
        self.rows.push(row);
    }

    fn skip(&mut self, line: Line) {
        self.input().skipped += 1;
        self.skipped += 1;
        let reason = line.reason.clone().unwrap_or_else(|| "(none)".into());
        *self.by_reason.entry(reason.clone()).or_default() += 1;
        if self.skip_rows.len() < SKIP_ROWS {
            self.skip_rows.push(SkipRow {
                source: line.source_label(),
                member: line.member.clone().unwrap_or_default(),
                kind: line.kind(),
                reason,
                detail: line.detail.clone().unwrap_or_default(),
            });
        }
    }

    /// The report's data.
    pub fn finish(self, title: &str, generated_at: OffsetDateTime) -> ReportData {
        let generated_at = generated_at
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default();
        let mut by_confidence = Vec::new();
        let mut confidence = self.by_confidence;
        for level in ["high", "medium", "low"] {
            by_confidence.push(Bar {
                label: level.to_string(),
                count: confidence.remove(level).unwrap_or(0),
            });
        }
        by_confidence.extend(sorted(confidence));
        let mut values: Vec<&Value> = self.values.values().filter(|v| v.count > 1).collect();
        values.sort_by(|a, b| b.count.cmp(&a.count).then(a.number.cmp(&b.number)));
        let top_values = values
            .into_iter()
            .take(TOP)
            .map(|v| TopValue {
                value: v.number,
                masked: v.masked.clone(),
                detector: v.detector.clone(),
                count: v.count,
            })
            .collect();
        let mut value_counts = vec![0; self.values.len() + 1];
        for v in self.values.values() {
            if let Some(slot) = value_counts.get_mut(v.number as usize) {
                *slot = v.count;
            }
        }
        let columns = COLUMNS
            .iter()
            .zip(&self.present)
            .map(|(&(key, label, number), &present)| Column {
                key,
                label,
                kind: if number { "number" } else { "text" },
                present,
            })
            .collect();
        ReportData {
            title: title.to_string(),
            generated_at,
            version: env!("CARGO_PKG_VERSION"),
            inputs: self.inputs,
            totals: Totals {
                findings: self.findings,
                scan_findings: self.scan_findings,
                connector_findings: self.connector_findings,
                sources_with_findings: self.sources.len() as u64,
                skipped: self.skipped,
                distinct_values: self.values.len() as u64,
                by_confidence,
            },
            scan_summary: self.summary,
            problems: self.problems,
            charts: Charts {
                category: sorted(self.by_category),
                detector: capped(sorted(self.by_detector), CHART_BARS),
                file_type: capped(sorted(self.by_kind), CHART_BARS),
                time: timeline(&self.hours),
                without_timestamp: self.without_timestamp,
                skip_reason: sorted(self.by_reason),
            },
            top: Top {
                sources: top(distinct_labels(self.sources.into_values())),
                users: top(self.users),
                gpts: top(distinct_labels(self.gpts.into_values())),
                connectors: top(self.connectors),
                values: top_values,
            },
            table: Table {
                columns,
                strings: self.strings.list,
                rows: self.rows,
                total: self.findings,
                value_counts,
            },
            skipped: self.skip_rows,
        }
    }
}

/// Counts as bars, largest first, then by label.
fn sorted(counts: impl IntoIterator<Item = (String, u64)>) -> Vec<Bar> {
    let mut bars: Vec<Bar> = counts
        .into_iter()
        .map(|(label, count)| Bar { label, count })
        .collect();
    bars.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
    bars
}

/// The first `keep` bars, and the rest summed as one "other (N)" bar.
fn capped(mut bars: Vec<Bar>, keep: usize) -> Vec<Bar> {
    if bars.len() <= keep + 1 {
        return bars;
    }
    let rest = bars.split_off(keep);
    bars.push(Bar {
        label: format!("other ({})", rest.len()),
        count: rest.iter().map(|b| b.count).sum(),
    });
    bars
}

fn top(counts: impl IntoIterator<Item = (String, u64)>) -> Vec<Bar> {
    let mut bars = sorted(counts);
    bars.truncate(TOP);
    bars
}
