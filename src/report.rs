//! `dlp report`: one self-contained HTML file from JSONL records, those of `dlp scan --format
//! jsonl` and of the ChatGPT connector (`dlp chatgpt scan|watch|run|demo --format jsonl`,
//! `dlp chatgpt findings`), and from `dlp scan --summary` files.
//!
//! Everything is computed here, in Rust (`data`): the totals, the charts' series, the top lists
//! and the table's rows, embedded in the page as one JSON document (`page`). The page's script
//! only draws them and filters the table; the page loads nothing and its Content-Security-Policy
//! forbids any request, so it opens offline and cannot call out. It holds what the records hold:
//! masked previews and fingerprints, never a whole value.
//!
//! A line that is not a record is counted and named (on standard error and in the report),
//! never a failure; an input that cannot be read is an error naming it.

mod data;
mod page;
mod timeline;

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use data::Collector;

/// Longest line read as a record; a longer one is counted as not understood.
const MAX_LINE: usize = 1 << 20;
/// Largest input read as one JSON document (a `--summary` file, written over several lines).
const MAX_DOCUMENT: u64 = 16 << 20;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// JSONL files of findings and skipped items (`dlp scan --format jsonl`, the connector's
    /// JSONL), or `dlp scan --summary` files; `-` reads standard input, the default when no
    /// input is given and standard input is not a terminal.
    #[arg(value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Where to write the report; `-` writes it to standard output. Created readable by its
    /// owner only; never one of the inputs.
    #[arg(long, short, value_name = "FILE", default_value = "dlp-report.html")]
    output: PathBuf,
    /// The report's title.
    #[arg(long, value_name = "TEXT", default_value = "dlp findings report")]
    title: String,
    /// Findings kept in the report's table (the totals, charts and top lists count them all).
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    max_rows: usize,
    /// Nothing on standard error but errors and lines not understood.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let mut inputs = args.inputs.clone();
    if inputs.is_empty() {
        if std::io::stdin().is_terminal() {
            anyhow::bail!(
                "no input: give JSONL files (dlp scan --format jsonl, the connector's JSONL), \
                 or - to read standard input"
            );
        }
        inputs.push(PathBuf::from("-"));
    }
    let to_stdout = args.output.as_os_str() == "-";
    if !to_stdout {
        refuse_input_as_output(&args.output, &inputs)?;
    }
    let mut collector = Collector::new(args.max_rows);
    for input in &inputs {
        let name = input.display().to_string();
        collector.start_input(&name);
        if input.as_os_str() == "-" {
            read_input(std::io::stdin().lock(), &mut collector)
                .context("cannot read standard input")?;
        } else {
            let file = std::fs::File::open(input).with_context(|| format!("cannot read {name}"))?;
            if file.metadata().is_ok_and(|m| m.is_dir()) {
                anyhow::bail!("cannot read {name}: it is a directory");
            }
            read_input(
                std::io::BufReader::with_capacity(1 << 18, file),
                &mut collector,
            )
            .with_context(|| format!("cannot read {name}"))?;
        }
    }
    let data = collector.finish(&args.title, time::OffsetDateTime::now_utc());
    let html = page::render(&data)?;
    if to_stdout {
        let mut out = std::io::stdout().lock();
        out.write_all(html.as_bytes())?;
        out.flush()?;
    } else {
        dlp_engine::write_private(&args.output, html.as_bytes())
            .with_context(|| format!("cannot write {}", args.output.display()))?;
    }
    let problems = &data.problems;
    if problems.not_understood > 0 {
        let mut err = std::io::stderr().lock();
        for place in &problems.examples {
            writeln!(err, "dlp: report: {place}")?;
        }
        writeln!(
            err,
            "dlp: report: {} lines not understood (not dlp records), left out",
            problems.not_understood
        )?;
    }
    if !args.quiet {
        let unknown: u64 = problems.unknown_records.values().sum();
        let t = &data.totals;
        eprintln!(
            "dlp: report{}: {} findings in {} files or items, {} distinct values, {} skipped{}{}",
            if to_stdout {
                String::new()
            } else {
                format!(" written to {}", args.output.display())
            },
            t.findings,
            t.sources_with_findings,
            t.distinct_values,
            t.skipped,
            if unknown > 0 {
                format!(", {unknown} records of other types ignored")
            } else {
                String::new()
            },
            if data.table.rows.len() < t.findings as usize {
                format!(
                    "; the table holds the first {} (--max-rows)",
                    data.table.rows.len()
                )
            } else {
                String::new()
            }
        );
    }
    Ok(0)
}

/// The output must not be an input: writing it would destroy the records.
fn refuse_input_as_output(output: &Path, inputs: &[PathBuf]) -> anyhow::Result<()> {
    let Ok(out) = std::fs::canonicalize(output) else {
        return Ok(()); // does not exist yet
    };
    for input in inputs {
        if std::fs::canonicalize(input).is_ok_and(|i| i == out) {
            anyhow::bail!(
                "--output {} is an input; write the report elsewhere",
                output.display()
            );
        }
    }
    Ok(())
}

/// Feeds one input's lines to the collector. An input whose first line is `{` alone is tried
/// as one JSON document first (`dlp scan --summary` writes its summary over several lines).
fn read_input(mut reader: impl BufRead, collector: &mut Collector) -> std::io::Result<()> {
    let mut first = Vec::new();
    let Some(long) = next_line(&mut reader, &mut first)? else {
        return Ok(());
    };
    if !long && first.trim_ascii() == b"{" {
        first.push(b'\n');
        (&mut reader).take(MAX_DOCUMENT).read_to_end(&mut first)?;
        if collector.document(&first) {
            return Ok(());
        }
        // Not a summary: its lines, one by one, as any input's.
        return read_lines(std::io::Cursor::new(first).chain(reader), collector, 1);
    }
    take_line(collector, 1, &first, long);
    read_lines(reader, collector, 2)
}

/// Feeds the lines of `reader` to the collector, numbering them from `line_no`.
fn read_lines(
    mut reader: impl BufRead,
    collector: &mut Collector,
    mut line_no: u64,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    while let Some(long) = next_line(&mut reader, &mut line)? {
        take_line(collector, line_no, &line, long);
        line_no += 1;
    }
    Ok(())
}

fn take_line(collector: &mut Collector, line_no: u64, line: &[u8], long: bool) {
    if long {
        collector.not_understood(line_no, "longer than 1 MiB");
    } else {
        collector.line(line_no, line.strip_suffix(b"\r").unwrap_or(line));
    }
}

/// Reads the next line, without its line feed, into `line`; `None` at the end of the input,
/// else whether the line was longer than [`MAX_LINE`] (then `line` is empty and the rest of it
/// was read and dropped, so that one huge line costs no memory).
fn next_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut long = false;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any.then_some(long));
        }
        any = true;
        let end = available.iter().position(|&b| b == b'\n');
        let chunk = &available[..end.unwrap_or(available.len())];
        if !long {
            if line.len() + chunk.len() > MAX_LINE {
                long = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = end.map_or(available.len(), |at| at + 1);
        reader.consume(used);
        if end.is_some() {
            return Ok(Some(long));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(input: &str) -> (data::ReportData, String) {
        let mut collector = Collector::new(1_000);
        collector.start_input("test.jsonl");
        read_input(input.as_bytes(), &mut collector).unwrap();
        let data = collector.finish("a report", time::OffsetDateTime::UNIX_EPOCH);
        let html = page::render(&data).unwrap();
        (data, html)
    }

    /// The JSON document embedded in a page, parsed back.
    fn embedded(html: &str) -> serde_json::Value {
        let start = html.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        serde_json::from_str(&html[start..end]).unwrap()
    }

    const HOSTILE: &str = "</script><img src=x onerror=alert(1)><!--\u{2028}&amp;]]>";

    #[test]
    fn hostile_strings_stay_inside_the_json_and_come_back_whole() {
        let finding = serde_json::json!({
            "record": "finding", "path": HOSTILE, "member": HOSTILE, "detector": HOSTILE,
            "category": HOSTILE, "confidence": HOSTILE, "line": 1, "location": HOSTILE,
            "masked": HOSTILE, "fingerprint": HOSTILE, "user_email": HOSTILE,
            "gpt_id": HOSTILE, "gpt_name": HOSTILE, "timestamp": HOSTILE,
        });
        let skip = serde_json::json!({
            "record": "skipped", "path": HOSTILE, "reason": HOSTILE, "detail": HOSTILE,
        });
        let unknown = serde_json::json!({"record": HOSTILE});
        let (_, html) = report(&format!("{finding}\n{skip}\n{unknown}\n"));
        // One script element of data and one of code, and no markup from the records.
        assert_eq!(html.matches("</script>").count(), 2, "{html}");
        assert_eq!(html.matches("<script").count(), 2);
        assert!(!html.contains("<img"));
        assert!(!html.contains("<!--"));
        assert!(!html.contains('\u{2028}'));
        let data = embedded(&html);
        assert_eq!(data["table"]["rows"].as_array().unwrap().len(), 1);
        let strings: Vec<&str> = data["table"]["strings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!(strings.contains(&HOSTILE), "{strings:?}");
        assert_eq!(data["skipped"][0]["detail"], HOSTILE);
        assert_eq!(data["charts"]["detector"][0]["label"], HOSTILE);
        assert_eq!(
            data["problems"]["unknown_records"]
                .as_object()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_hostile_title_is_escaped_in_the_head() {
        let mut collector = Collector::new(10);
        collector.start_input("-");
        let data = collector.finish(HOSTILE, time::OffsetDateTime::UNIX_EPOCH);
        let html = page::render(&data).unwrap();
        assert!(html.contains("<title>&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!html.contains("<img"));
        assert_eq!(embedded(&html)["title"], HOSTILE);
    }

    #[test]
    fn script_json_escapes_what_could_end_the_element() {
        assert_eq!(
            page::script_json(r#"{"a":"</script>&<!--","b":"\u2028"}"#),
            r#"{"a":"\u003c/script\u003e\u0026\u003c!--","b":"\u2028"}"#
        );
        let raw = serde_json::to_string(&serde_json::json!({"x": "a\u{2028}b\u{2029}<"})).unwrap();
        let safe = page::script_json(&raw);
        assert!(!safe.contains('\u{2028}') && !safe.contains('\u{2029}') && !safe.contains('<'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["x"], "a\u{2028}b\u{2029}<");
    }

    #[test]
    fn the_page_forbids_every_request() {
        let (_, html) = report("");
        // The one address in the page is the SVG namespace, a name, not a request.
        let html = html.replace("\"http://www.w3.org/2000/svg\"", "");
        assert!(html.contains(
            "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
             img-src data:; base-uri 'none'; form-action 'none'\""
        ));
        for outside in ["http://", "https://", "src=\"", "href=\""] {
            assert!(!html.contains(outside), "the page refers to {outside}");
        }
    }

    #[test]
    fn lines_that_are_not_records_are_counted_with_their_place() {
        let input = "\
{\"record\":\"finding\",\"path\":\"a.txt\",\"detector\":\"email\",\"category\":\"pii\",\"confidence\":\"medium\"}
not json

[1,2]
{\"record\":\"finding\",\"path\":\"a.txt\",\"line\":\"seven\",\"detector\":\"x\"}
{\"record\":\"finding\",\"path\":\"a.txt\"}
{\"record\":\"progress\"}
{\"hello\":1}
";
        let (data, _) = report(input);
        assert_eq!(data.totals.findings, 1);
        assert_eq!(data.problems.not_understood, 4);
        assert_eq!(
            data.problems.examples,
            [
                "test.jsonl line 2: not JSON",
                "test.jsonl line 4: not a JSON object",
                "test.jsonl line 5: a field of the wrong type",
                "test.jsonl line 6: a finding without a detector",
            ]
        );
        let unknown: Vec<_> = data.problems.unknown_records.iter().collect();
        assert_eq!(
            unknown,
            [
                (&"(no record field)".to_string(), &1),
                (&"progress".to_string(), &1)
            ]
        );
        assert_eq!(data.inputs[0].lines, 7);
        assert_eq!(data.inputs[0].not_understood, 4);
    }

    #[test]
    fn a_line_over_the_limit_is_dropped_not_held() {
        let long = format!(
            "{{\"record\":\"finding\",\"x\":\"{}\"}}",
            "a".repeat(MAX_LINE)
        );
        let ok = r#"{"record":"finding","path":"b","detector":"email"}"#;
        let (data, _) = report(&format!("{long}\n{ok}\n{long}"));
        assert_eq!(data.totals.findings, 1);
        assert_eq!(data.problems.not_understood, 2);
        assert_eq!(
            data.problems.examples[1],
            "test.jsonl line 3: longer than 1 MiB"
        );
    }

    #[test]
    fn a_scan_summary_file_is_read_whole() {
        let summary = r#"{
  "files": 19,
  "items_scanned": 28,
  "items_skipped": {"broken_file": 2},
  "bytes": 159209,
  "findings": {"email": 15},
  "findings_total": 68,
  "findings_allowed": 1,
  "elapsed_s": 0.01,
  "throughput_mb_s": 11.5,
  "threads": 2
}
"#;
        let (data, _) = report(summary);
        let s = data.scan_summary.unwrap();
        assert_eq!((s.files, s.items_scanned, s.findings_total), (19, 28, 68));
        assert_eq!(s.items_skipped["broken_file"], 2);
        assert_eq!(data.problems.not_understood, 0);
        // The same on one line (jq -c) is a summary too; any other document is read as lines.
        let (data, _) = report(&summary.replace('\n', ""));
        assert_eq!(data.scan_summary.unwrap().bytes, 159209);
        let (data, _) = report("{\n\"a\": 1\n}\n");
        assert!(data.scan_summary.is_none());
        assert_eq!(data.problems.not_understood, 3);
        assert_eq!(data.problems.examples[0], "test.jsonl line 1: not JSON");
    }

    #[test]
    fn connector_records_give_users_gpts_kinds_and_a_timeline() {
        let finding = |user: &str, gpt: Option<&str>, item: &str, ts: &str, fp: &str| {
            serde_json::json!({
                "connector": "acme", "record_id": "r", "record": "finding",
                "detector": "credit_card", "category": "financial", "confidence": "high",
                "item": item, "workspace_id": "ws", "conversation_id": "conv-1",
                "conversation_title": "budget", "message_id": "m", "event_id": "e",
                "file_id": null, "file_name": if item == "gpt_file" { "kb.pdf" } else { "" },
                "gpt_id": gpt, "gpt_name": gpt.map(|g| format!("{g} name")),
                "user_email": user, "timestamp": ts, "member": null, "location": null,
                "start": 1, "end": 2, "line": 1, "masked": "4111 **** **** 1111",
                "fingerprint": fp,
            })
            .to_string()
        };
        let input = [
            finding("a@x", None, "message", "2026-10-01T10:00:00Z", "f1"),
            finding(
                "a@x",
                Some("g-1"),
                "gpt_file",
                "2026-10-03T11:30:00.5Z",
                "f1",
            ),
            finding(
                "b@x",
                Some("g-1"),
                "message",
                "2026-10-05T23:59:59+02:00",
                "f2",
            ),
            finding("b@x", None, "app_log", "yesterday", "f3"),
        ]
        .join("\n");
        let (data, _) = report(&input);
        assert_eq!(data.totals.connector_findings, 4);
        assert_eq!(data.totals.distinct_values, 3);
        let bars = |b: &[data::Bar]| -> Vec<(String, u64)> {
            b.iter().map(|b| (b.label.clone(), b.count)).collect()
        };
        assert_eq!(
            bars(&data.top.users),
            [("a@x".into(), 2), ("b@x".into(), 2)]
        );
        assert_eq!(bars(&data.top.gpts), [("g-1 name".into(), 2)]);
        assert_eq!(bars(&data.top.connectors), [("acme".into(), 4)]);
        assert_eq!(
            bars(&data.charts.file_type),
            [
                ("chat message".into(), 2),
                ("GPT knowledge file".into(), 1),
                ("tool call (app log)".into(), 1)
            ]
        );
        let time = data.charts.time.unwrap();
        assert_eq!(time.unit, "day");
        // 2026-10-05T23:59:59+02:00 is the 5th at 21:59 UTC.
        assert_eq!(
            bars(&time.buckets),
            [
                ("2026-10-01".into(), 1),
                ("2026-10-02".into(), 0),
                ("2026-10-03".into(), 1),
                ("2026-10-04".into(), 0),
                ("2026-10-05".into(), 1)
            ]
        );
        assert_eq!(data.charts.without_timestamp, 1);
        assert_eq!(data.top.values[0].count, 2);
        assert_eq!(data.table.value_counts, [0, 2, 1, 1]);
    }

    #[test]
    fn the_timeline_unit_fits_the_span() {
        let at = |ts: &str| {
            format!(r#"{{"record":"finding","item":"message","detector":"d","timestamp":"{ts}"}}"#)
        };
        let cases = [
            (
                ["2026-10-01T10:00:00Z", "2026-10-01T12:10:00Z"],
                "hour",
                3,
                "2026-10-01 10:00",
            ),
            (
                ["2026-10-01T10:00:00Z", "2026-10-04T12:00:00Z"],
                "day",
                4,
                "2026-10-01",
            ),
            // 2026-01-01 is a Thursday: its week starts on Monday 2025-12-29.
            (
                ["2026-01-01T00:00:00Z", "2027-06-01T00:00:00Z"],
                "week",
                75,
                "2025-12-29",
            ),
            (
                ["2020-01-15T00:00:00Z", "2030-12-01T00:00:00Z"],
                "month",
                132,
                "2020-01",
            ),
            (
                ["1970-01-01T00:00:00Z", "2026-12-01T00:00:00Z"],
                "year",
                57,
                "1970",
            ),
        ];
        for (times, unit, buckets, first) in cases {
            let (data, _) = report(&times.map(at).join("\n"));
            let time = data.charts.time.unwrap();
            assert_eq!(time.unit, unit, "{times:?}");
            assert_eq!(time.buckets.len(), buckets, "{times:?}");
            assert_eq!(time.buckets[0].label, first, "{times:?}");
            assert_eq!(time.buckets.iter().map(|b| b.count).sum::<u64>(), 2);
        }
        let (data, _) = report(&at("2026-10-01T10:00:00Z"));
        assert_eq!(data.charts.time.unwrap().buckets.len(), 1);
    }

    #[test]
    fn file_types_come_from_the_member_else_the_path() {
        for (name, want) in [
            ("docs/a.PDF", "pdf"),
            ("a/b.tar.gz", "tar.gz"),
            ("archive.gz", "gz"),
            ("Makefile", "(none)"),
            (".env", "(none)"),
            ("dir.v2/file", "(none)"),
            ("s3://bucket/key.csv", "csv"),
            ("weird.a b", "(none)"),
        ] {
            assert_eq!(data::file_type(name), want, "{name}");
        }
        let (data, _) = report(concat!(
            r#"{"record":"finding","path":"x.zip","member":"in/y.docx","detector":"d"}"#,
            "\n",
            r#"{"record":"finding","path":"-","member":null,"detector":"d"}"#
        ));
        let kinds: Vec<&str> = data
            .charts
            .file_type
            .iter()
            .map(|b| b.label.as_str())
            .collect();
        assert_eq!(kinds, ["docx", "standard input"]);
        assert_eq!(data.totals.sources_with_findings, 2);
    }

    #[test]
    fn the_table_is_capped_but_everything_is_counted() {
        let line = |i: usize| {
            format!(
                r#"{{"record":"finding","path":"f{}.txt","detector":"d{}","fingerprint":"{i}"}}"#,
                i % 7,
                i % 20
            )
        };
        let input: Vec<String> = (0..100).map(line).collect();
        let mut collector = Collector::new(10);
        collector.start_input("-");
        read_input(input.join("\n").as_bytes(), &mut collector).unwrap();
        let data = collector.finish("t", time::OffsetDateTime::UNIX_EPOCH);
        assert_eq!(data.table.rows.len(), 10);
        assert_eq!(data.table.total, 100);
        assert_eq!(data.totals.distinct_values, 100);
        assert_eq!(data.totals.sources_with_findings, 7);
        // 15 detectors and the other 5 as one bar.
        assert_eq!(data.charts.detector.len(), 16);
        assert_eq!(data.charts.detector[15].label, "other (5)");
        assert_eq!(
            data.charts.detector.iter().map(|b| b.count).sum::<u64>(),
            100
        );
    }

    #[test]
    fn lines_are_read_whatever_their_ending() {
        let mut reader = "a\r\n\nb".as_bytes();
        let mut line = Vec::new();
        assert_eq!(next_line(&mut reader, &mut line).unwrap(), Some(false));
        assert_eq!(line, b"a\r");
        assert_eq!(next_line(&mut reader, &mut line).unwrap(), Some(false));
        assert_eq!(line, b"");
        assert_eq!(next_line(&mut reader, &mut line).unwrap(), Some(false));
        assert_eq!(line, b"b");
        assert_eq!(next_line(&mut reader, &mut line).unwrap(), None);
    }
}
