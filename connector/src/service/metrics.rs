//! The service's counters, served in the Prometheus text format (`/metrics`).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::client::ClientStats;
use crate::record::Record;
use crate::registry::Status;
use crate::scan::ScanSummary;

/// The counters of one connector since the service started.
#[derive(Debug, Clone, Default)]
pub struct ConnectorMetrics {
    /// What its last cycle (or key check) found.
    pub status: Option<Status>,
    /// Paused in the registry.
    pub paused: bool,
    /// Cycles completed.
    pub cycles_ok: u64,
    /// Cycles that failed.
    pub cycles_failed: u64,
    /// Log files processed, in completed cycles.
    pub log_files: u64,
    /// Events processed, in completed cycles.
    pub events: u64,
    /// Findings written, by detector.
    pub findings: BTreeMap<String, u64>,
    /// Skipped items written, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// API counters of connectors built earlier for this name (before a reauth or a
    /// configuration change); the live connector's are added when rendered.
    pub api_base: ClientStats,
    /// The live connector's API counters, as last read.
    pub api_live: ClientStats,
    /// Seconds behind the newest log file (from the oldest cursor), after the last cycle.
    pub lag_secs: Option<i64>,
    /// Unix time of the last completed cycle.
    pub last_cycle_unix: Option<i64>,
    /// Records not yet acknowledged by each webhook.
    pub webhook_pending: BTreeMap<String, u64>,
    /// Records delivered to each webhook.
    pub webhook_delivered: BTreeMap<String, u64>,
    /// Failed POSTs to each webhook.
    pub webhook_failures: BTreeMap<String, u64>,
}

impl ConnectorMetrics {
    /// Counts a record written to the output.
    pub fn count_record(&mut self, record: &Record) {
        match record {
            Record::Finding(f) => *self.findings.entry(f.detector.clone()).or_default() += 1,
            Record::Skipped(s) => {
                *self
                    .skipped
                    .entry(s.reason.as_str().to_string())
                    .or_default() += 1
            }
        }
    }

    /// Counts a completed cycle.
    pub fn count_cycle(&mut self, summary: &ScanSummary) {
        self.cycles_ok += 1;
        self.log_files += summary.log_files;
        self.events += summary.events;
    }

    /// Moves the live connector's counters into the base (the connector is being replaced).
    pub fn retire_live(&mut self) {
        let live = std::mem::take(&mut self.api_live);
        for (endpoint, n) in live.requests {
            *self.api_base.requests.entry(endpoint).or_default() += n;
        }
        self.api_base.throttled += live.throttled;
        self.api_base.retries += live.retries;
        self.api_base.downloaded_bytes += live.downloaded_bytes;
        self.api_base.rate_limit_waits += live.rate_limit_waits;
        self.api_base.rate_limit_wait_ms += live.rate_limit_wait_ms;
    }

    fn api(&self) -> ClientStats {
        let mut total = self.api_base.clone();
        for (endpoint, n) in &self.api_live.requests {
            *total.requests.entry(endpoint).or_default() += n;
        }
        total.throttled += self.api_live.throttled;
        total.retries += self.api_live.retries;
        total.downloaded_bytes += self.api_live.downloaded_bytes;
        total.rate_limit_waits += self.api_live.rate_limit_waits;
        total.rate_limit_wait_ms += self.api_live.rate_limit_wait_ms;
        total.waiting_now = self.api_live.waiting_now;
        total
    }
}

/// The samples of one connector: (labels, value).
type Samples = dyn Fn(&str, &ConnectorMetrics) -> Vec<(String, String)>;

/// A label value escaped for the text format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders every connector's counters in the Prometheus text format (version 0.0.4).
pub fn render(connectors: &BTreeMap<String, ConnectorMetrics>, uptime_secs: f64) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
    };
    family(
        "dlp_service_uptime_seconds",
        "gauge",
        "Seconds since the service started.",
        vec![(String::new(), format!("{uptime_secs:.3}"))],
    );
    family(
        "dlp_connectors",
        "gauge",
        "Connectors the service runs.",
        vec![(String::new(), connectors.len().to_string())],
    );
    let each = |f: &Samples| {
        connectors
            .iter()
            .flat_map(|(name, m)| f(&label(name), m))
            .collect::<Vec<_>>()
    };
    family(
        "dlp_connector_status",
        "gauge",
        "1 for the connector's current status (connected, auth_failed, scope_missing, unreachable, paused).",
        each(&|c, m| {
            let status = if m.paused {
                "paused"
            } else {
                m.status.map(Status::as_str).unwrap_or("starting")
            };
            vec![(format!("connector=\"{c}\",status=\"{status}\""), "1".into())]
        }),
    );
    family(
        "dlp_connector_cycles_total",
        "counter",
        "Scan cycles, by result.",
        each(&|c, m| {
            vec![
                (
                    format!("connector=\"{c}\",result=\"ok\""),
                    m.cycles_ok.to_string(),
                ),
                (
                    format!("connector=\"{c}\",result=\"failed\""),
                    m.cycles_failed.to_string(),
                ),
            ]
        }),
    );
    family(
        "dlp_connector_lag_seconds",
        "gauge",
        "Seconds between now and the oldest event-type cursor (the newest log file processed).",
        each(&|c, m| {
            m.lag_secs
                .map(|l| vec![(format!("connector=\"{c}\""), l.to_string())])
                .unwrap_or_default()
        }),
    );
    family(
        "dlp_connector_last_cycle_timestamp_seconds",
        "gauge",
        "Unix time of the last completed cycle.",
        each(&|c, m| {
            m.last_cycle_unix
                .map(|t| vec![(format!("connector=\"{c}\""), t.to_string())])
                .unwrap_or_default()
        }),
    );
    family(
        "dlp_connector_log_files_total",
        "counter",
        "Log files processed in completed cycles.",
        each(&|c, m| vec![(format!("connector=\"{c}\""), m.log_files.to_string())]),
    );
    family(
        "dlp_connector_events_total",
        "counter",
        "New events processed in completed cycles.",
        each(&|c, m| vec![(format!("connector=\"{c}\""), m.events.to_string())]),
    );
    family(
        "dlp_api_requests_total",
        "counter",
        "Compliance API requests, by endpoint (signed download URLs not included).",
        each(&|c, m| {
            m.api()
                .requests
                .iter()
                .map(|(e, n)| {
                    (
                        format!("connector=\"{c}\",endpoint=\"{}\"", label(e)),
                        n.to_string(),
                    )
                })
                .collect()
        }),
    );
    family(
        "dlp_api_throttled_total",
        "counter",
        "429 answers received.",
        each(&|c, m| vec![(format!("connector=\"{c}\""), m.api().throttled.to_string())]),
    );
    family(
        "dlp_api_retries_total",
        "counter",
        "Requests retried (all causes).",
        each(&|c, m| vec![(format!("connector=\"{c}\""), m.api().retries.to_string())]),
    );
    family(
        "dlp_api_rate_limit_waits_total",
        "counter",
        "Requests that waited for the client's own rate limit.",
        each(&|c, m| {
            vec![(
                format!("connector=\"{c}\""),
                m.api().rate_limit_waits.to_string(),
            )]
        }),
    );
    family(
        "dlp_api_rate_limit_wait_seconds_total",
        "counter",
        "Time requests spent waiting for the client's own rate limit.",
        each(&|c, m| {
            vec![(
                format!("connector=\"{c}\""),
                format!("{:.3}", m.api().rate_limit_wait_ms as f64 / 1000.0),
            )]
        }),
    );
    family(
        "dlp_api_requests_waiting",
        "gauge",
        "Requests waiting for the client's own rate limit now.",
        each(&|c, m| {
            vec![(
                format!("connector=\"{c}\""),
                m.api().waiting_now.to_string(),
            )]
        }),
    );
    family(
        "dlp_api_downloaded_bytes_total",
        "counter",
        "Bytes downloaded from signed URLs.",
        each(&|c, m| {
            vec![(
                format!("connector=\"{c}\""),
                m.api().downloaded_bytes.to_string(),
            )]
        }),
    );
    family(
        "dlp_findings_total",
        "counter",
        "Findings written, by detector.",
        each(&|c, m| {
            m.findings
                .iter()
                .map(|(d, n)| {
                    (
                        format!("connector=\"{c}\",detector=\"{}\"", label(d)),
                        n.to_string(),
                    )
                })
                .collect()
        }),
    );
    family(
        "dlp_skipped_total",
        "counter",
        "Skipped items written, by reason.",
        each(&|c, m| {
            m.skipped
                .iter()
                .map(|(r, n)| {
                    (
                        format!("connector=\"{c}\",reason=\"{}\"", label(r)),
                        n.to_string(),
                    )
                })
                .collect()
        }),
    );
    let webhook = |map: fn(&ConnectorMetrics) -> &BTreeMap<String, u64>| {
        move |c: &str, m: &ConnectorMetrics| -> Vec<(String, String)> {
            map(m)
                .iter()
                .map(|(s, n)| {
                    (
                        format!("connector=\"{c}\",sink=\"{}\"", label(s)),
                        n.to_string(),
                    )
                })
                .collect()
        }
    };
    family(
        "dlp_webhook_pending_records",
        "gauge",
        "Records committed but not yet acknowledged by the webhook.",
        each(&webhook(|m| &m.webhook_pending)),
    );
    family(
        "dlp_webhook_delivered_records_total",
        "counter",
        "Records acknowledged by the webhook.",
        each(&webhook(|m| &m.webhook_delivered)),
    );
    family(
        "dlp_webhook_failures_total",
        "counter",
        "POSTs to the webhook that failed (retried).",
        each(&webhook(|m| &m.webhook_failures)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_has_help_type_and_escaped_labels() {
        let mut m = ConnectorMetrics {
            status: Some(Status::Connected),
            cycles_ok: 2,
            ..Default::default()
        };
        m.findings.insert("credit_card".into(), 3);
        m.api_base.requests.insert("logs", 4);
        m.api_live.requests.insert("logs", 1);
        let mut all = BTreeMap::new();
        all.insert("a\"b".to_string(), m);
        let text = render(&all, 1.5);
        assert!(text.contains("# TYPE dlp_findings_total counter"));
        assert!(
            text.contains("dlp_findings_total{connector=\"a\\\"b\",detector=\"credit_card\"} 3")
        );
        assert!(text.contains("dlp_api_requests_total{connector=\"a\\\"b\",endpoint=\"logs\"} 5"));
        assert!(text.contains("dlp_connector_status{connector=\"a\\\"b\",status=\"connected\"} 1"));
        assert!(text.contains("dlp_connector_cycles_total{connector=\"a\\\"b\",result=\"ok\"} 2"));
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
