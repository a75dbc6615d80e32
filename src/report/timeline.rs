//! Findings over time: counts per hour re-counted in the unit that keeps a chart readable.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

use super::data::Bar;

/// Findings over time (connector records have timestamps), in UTC buckets.
#[derive(Debug, Serialize)]
pub struct Timeline {
    /// `hour`, `day`, `week` (starting on Monday), `month` or `year`: the smallest that keeps
    /// the chart readable.
    pub unit: &'static str,
    /// Every bucket from the first to the last finding, empty ones included.
    pub buckets: Vec<Bar>,
}

/// A unit of the timeline: its name, the bucket of an hour (since the epoch), the distance
/// between two buckets' numbers, and the most buckets it may make.
struct Unit {
    name: &'static str,
    bucket: fn(i64) -> i64,
    step: i64,
    limit: i64,
}

fn hour_bucket(h: i64) -> i64 {
    h
}

/// Days since the epoch.
fn day_bucket(h: i64) -> i64 {
    h.div_euclid(24)
}

/// The day (since the epoch) of the Monday that starts the week: 1970-01-01 was a Thursday, so
/// day d is (d + 3) mod 7 days after a Monday.
fn week_bucket(h: i64) -> i64 {
    let day = day_bucket(h);
    day - (day + 3).rem_euclid(7)
}

/// Months since the year 0.
fn month_bucket(h: i64) -> i64 {
    OffsetDateTime::from_unix_timestamp(h.saturating_mul(3600))
        .map(|t| i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1)
        .unwrap_or(0)
}

fn year_bucket(h: i64) -> i64 {
    month_bucket(h).div_euclid(12)
}

const UNITS: [Unit; 5] = [
    Unit {
        name: "hour",
        bucket: hour_bucket,
        step: 1,
        limit: 72,
    },
    Unit {
        name: "day",
        bucket: day_bucket,
        step: 1,
        limit: 400,
    },
    Unit {
        name: "week",
        bucket: week_bucket,
        step: 7,
        limit: 520,
    },
    Unit {
        name: "month",
        bucket: month_bucket,
        step: 1,
        limit: 240,
    },
    Unit {
        name: "year",
        bucket: year_bucket,
        step: 1,
        limit: i64::MAX,
    },
];

/// Findings per hour re-counted in the smallest unit that gives a readable number of buckets
/// (at most 72 hours, 400 days, 520 weeks, 240 months, else years), empty buckets included.
pub fn timeline(hours: &BTreeMap<i64, u64>) -> Option<Timeline> {
    let (&first, _) = hours.first_key_value()?;
    let (&last, _) = hours.last_key_value()?;
    let unit = UNITS
        .iter()
        .find(|u| ((u.bucket)(last) - (u.bucket)(first)) / u.step < u.limit)?;
    let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
    for (&h, &n) in hours {
        *counts.entry((unit.bucket)(h)).or_default() += n;
    }
    let (from, to) = ((unit.bucket)(first), (unit.bucket)(last));
    let buckets = (0..=(to - from) / unit.step)
        .map(|i| from + i * unit.step)
        .map(|at| Bar {
            label: bucket_label(unit.name, at),
            count: counts.get(&at).copied().unwrap_or(0),
        })
        .collect();
    Some(Timeline {
        unit: unit.name,
        buckets,
    })
}

/// A bucket's label: `2026-10-31 16:00`, `2026-10-31`, `2026-10`, `2026`.
fn bucket_label(unit: &str, at: i64) -> String {
    let date = |days: i64| {
        OffsetDateTime::from_unix_timestamp(days * 86_400)
            .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
            .unwrap_or_default()
    };
    match unit {
        "hour" => format!("{} {:02}:00", date(at.div_euclid(24)), at.rem_euclid(24)),
        "day" | "week" => date(at),
        "month" => format!("{:04}-{:02}", at.div_euclid(12), at.rem_euclid(12) + 1),
        _ => format!("{at:04}"),
    }
}
