//! `certfleet compare`: several runs' output folders side by side — a
//! table (`compare.csv`), overlaid charts and `compare.html`.
//!
//! Only complete folders of this output format are read: summary.json is
//! written last by every run, so a folder without it is unfinished or not
//! ours, and a different `format` tag means fields may not mean the same.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::charts::{self, Bar, BarChart, Bucketing, Figure, Panel, Series, TimeAxis, TimeChart};
use super::html::{self, escape, num, Show};
use super::units;
use super::{StagedDir, CHARTS_DIR, FORMAT};
use crate::engine::calendar::parse_instant;
use crate::engine::time::parse_duration;

/// Why folders cannot be compared. Each reads as the problem and its fix.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("{dir}: no such folder\n  hint: pass output folders of `certfleet run`, e.g. outputs/<scenario>")]
    Missing { dir: PathBuf },
    #[error("{dir}: incomplete output folder, {file} is missing\n  hint: the run did not finish, or this is not a certfleet output folder; run it again")]
    Incomplete { dir: PathBuf, file: &'static str },
    #[error("{path}: cannot be read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{dir}: output format `{found}`, this certfleet reads `{expected}`\n  hint: run the scenario again with this version")]
    Unsupported {
        dir: PathBuf,
        found: String,
        expected: &'static str,
    },
    #[error("the folders have different output formats ({0}); they cannot be compared\n  hint: run every variant with the same certfleet version")]
    MixedFormats(String),
    #[error("compare needs at least two output folders, got {0}")]
    TooFew(usize),
    #[error("could not write the comparison to {dir}: {source}")]
    Write { dir: PathBuf, source: io::Error },
}

impl CompareError {
    /// Bad input (the folders given) rather than a failure to write.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, CompareError::Write { .. })
    }
}

/// One run's outputs, as read back from its folder.
#[derive(Debug)]
pub struct RunOutputs {
    pub dir: PathBuf,
    /// How the run is named in tables and legends (its folder name).
    pub label: String,
    pub summary: Value,
    pub start_unix_ms: i64,
    pub horizon_minutes: usize,
    /// CA arrivals per minute (dense; timeseries.csv omits quiet minutes).
    pub arrivals: Vec<u32>,
    /// The CA's longest queue within each minute (dense).
    pub longest_queue: Vec<u32>,
    /// The CA's p99 queue wait per hour of arrival, in seconds (hours in
    /// which a request entered service).
    pub wait_p99: Vec<(usize, f64)>,
    /// Devices without a valid certificate at the end of each day, all cohorts.
    pub invalid_per_day: Vec<f64>,
}

const REQUIRED: [&str; 4] = [
    "summary.json",
    "timeseries.csv",
    "waits.csv",
    "invalid_daily.csv",
];

fn unreadable(path: &Path, reason: impl ToString) -> CompareError {
    CompareError::Unreadable {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Reads a CSV file as a header and rows of strings.
fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), CompareError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| unreadable(path, e))?;
    let header = reader
        .headers()
        .map_err(|e| unreadable(path, e))?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(path, e))?;
        rows.push(record.iter().map(String::from).collect());
    }
    Ok((header, rows))
}

fn column(header: &[String], name: &str, path: &Path) -> Result<usize, CompareError> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| unreadable(path, format!("no `{name}` column")))
}

/// Reads one output folder, checking that it is complete and of our format.
pub fn load(dir: &Path) -> Result<RunOutputs, CompareError> {
    if !dir.is_dir() {
        return Err(CompareError::Missing {
            dir: dir.to_path_buf(),
        });
    }
    for file in REQUIRED {
        if !dir.join(file).is_file() {
            return Err(CompareError::Incomplete {
                dir: dir.to_path_buf(),
                file,
            });
        }
    }
    let path = dir.join("summary.json");
    let text = fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
    let summary: Value = serde_json::from_str(&text).map_err(|e| unreadable(&path, e))?;
    let text_at = |key: &str| {
        summary
            .pointer(key)
            .and_then(Value::as_str)
            .ok_or_else(|| unreadable(&path, format!("no `{key}` string")))
    };
    let format = text_at("/format")?;
    if format != FORMAT {
        return Err(CompareError::Unsupported {
            dir: dir.to_path_buf(),
            found: format.to_string(),
            expected: FORMAT,
        });
    }
    let start_unix_ms = parse_instant(text_at("/start")?).map_err(|e| unreadable(&path, e))?;
    let horizon = parse_duration(text_at("/parameters/horizon")?)
        .map_err(|e| unreadable(&path, e.to_string()))?;
    let horizon_minutes = (horizon.ms() / 60_000).max(1) as usize;

    let ts = dir.join("timeseries.csv");
    let (header, rows) = read_csv(&ts)?;
    let (stage_col, minute_col, arrivals_col, queue_col) = (
        column(&header, "stage", &ts)?,
        column(&header, "minute", &ts)?,
        column(&header, "arrivals", &ts)?,
        column(&header, "longest_queue", &ts)?,
    );
    let mut arrivals = vec![0u32; horizon_minutes];
    let mut longest_queue = vec![0u32; horizon_minutes];
    for row in rows
        .iter()
        .filter(|r| r.get(stage_col).is_some_and(|s| s == "ca"))
    {
        let parse = |i: usize| row.get(i).and_then(|v| v.parse::<u64>().ok());
        match (parse(minute_col), parse(arrivals_col), parse(queue_col)) {
            (Some(m), Some(a), Some(q)) => {
                if let Some(slot) = arrivals.get_mut(m as usize) {
                    *slot = a.min(u32::MAX as u64) as u32;
                }
                if let Some(slot) = longest_queue.get_mut(m as usize) {
                    *slot = q.min(u32::MAX as u64) as u32;
                }
            }
            _ => {
                return Err(unreadable(
                    &ts,
                    "a row without a minute, arrivals or longest_queue number",
                ))
            }
        }
    }

    let wp = dir.join("waits.csv");
    let (header, rows) = read_csv(&wp)?;
    let (stage_col, hour_col, p99_col) = (
        column(&header, "stage", &wp)?,
        column(&header, "hour", &wp)?,
        column(&header, "wait_p99_s", &wp)?,
    );
    let mut wait_p99 = Vec::new();
    for row in rows
        .iter()
        .filter(|r| r.get(stage_col).is_some_and(|s| s == "ca"))
    {
        let hour = row.get(hour_col).and_then(|v| v.parse::<usize>().ok());
        let p99 = row.get(p99_col).and_then(|v| v.parse::<f64>().ok());
        match (hour, p99) {
            (Some(h), Some(p)) => wait_p99.push((h, p)),
            _ => {
                return Err(unreadable(
                    &wp,
                    "a row without an hour or wait_p99_s number",
                ))
            }
        }
    }

    let inv = dir.join("invalid_daily.csv");
    let (header, rows) = read_csv(&inv)?;
    // Columns after `day` and `date` are the cohorts.
    let invalid_per_day = rows
        .iter()
        .map(|row| {
            row.iter()
                .skip(2)
                .take(header.len().saturating_sub(2))
                .filter_map(|v| v.parse::<f64>().ok())
                .sum()
        })
        .collect();

    let label = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    Ok(RunOutputs {
        dir: dir.to_path_buf(),
        label,
        summary,
        start_unix_ms,
        horizon_minutes,
        arrivals,
        longest_queue,
        wait_p99,
        invalid_per_day,
    })
}

/// Reads every folder; refuses a mix of formats before anything else.
pub fn load_all(dirs: &[PathBuf]) -> Result<Vec<RunOutputs>, CompareError> {
    if dirs.len() < 2 {
        return Err(CompareError::TooFew(dirs.len()));
    }
    // Format tags first, so that a mix is reported as such rather than as
    // the first folder this version cannot read.
    let mut tags: Vec<(String, String)> = Vec::new();
    for dir in dirs {
        let text = fs::read_to_string(dir.join("summary.json")).unwrap_or_default();
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            let tag = v["format"].as_str().unwrap_or("(none)").to_string();
            tags.push((dir.display().to_string(), tag));
        }
    }
    if tags.iter().any(|t| t.1 != tags[0].1) {
        let list: Vec<String> = tags.iter().map(|(d, t)| format!("{d}: {t}")).collect();
        return Err(CompareError::MixedFormats(list.join(", ")));
    }
    let mut runs: Vec<RunOutputs> = dirs.iter().map(|d| load(d)).collect::<Result<_, _>>()?;
    // Two folders with the same name (a/out, b/out) are told apart by path.
    for i in 0..runs.len() {
        if runs.iter().filter(|r| r.label == runs[i].label).count() > 1 {
            runs[i].label = runs[i].dir.display().to_string();
        }
    }
    Ok(runs)
}

/// One row of the comparison: how people read it, its name in
/// compare.csv, where it is in each summary.json and how it is shown.
pub struct Row {
    pub label: String,
    pub name: String,
    pub pointer: String,
    pub show: Show,
}

fn row(label: impl Into<String>, name: impl Into<String>, pointer: &str, show: Show) -> Row {
    Row {
        label: label.into(),
        name: name.into(),
        pointer: pointer.to_string(),
        show,
    }
}

/// Names in the order they first appear across the runs' summaries.
fn union_of_keys(runs: &[RunOutputs], object: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in runs {
        if let Some(map) = r.summary.get(object).and_then(Value::as_object) {
            for name in map.keys() {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
    }
    names
}

fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The rows of the comparison: the fleet, each cohort, each stage and the CA.
pub fn rows(runs: &[RunOutputs]) -> Vec<Row> {
    let mut out = vec![
        row("scenario", "scenario", "/scenario", Show::Text),
        row("seed", "seed", "/seed", Show::Text),
        row("devices", "totals.devices", "/totals/devices", Show::Int),
        row(
            "expiry rate",
            "totals.expiry_rate",
            "/totals/expiry_rate",
            Show::Pct,
        ),
        row(
            "expiry rate, 95 % CI low",
            "totals.expiry_rate_ci95_low",
            "/totals/expiry_rate_ci95/0",
            Show::Pct,
        ),
        row(
            "expiry rate, 95 % CI high",
            "totals.expiry_rate_ci95_high",
            "/totals/expiry_rate_ci95/1",
            Show::Pct,
        ),
        row(
            "devices whose certificate expired",
            "totals.devices_expired",
            "/totals/devices_expired",
            Show::Int,
        ),
        row(
            "without a valid certificate at the end",
            "totals.invalid_at_end",
            "/totals/invalid_at_end",
            Show::Int,
        ),
        row(
            "stranded at the end",
            "totals.stranded_at_end",
            "/totals/stranded_at_end",
            Show::Int,
        ),
        row(
            "device-days without a valid certificate",
            "totals.expired_device_days",
            "/totals/expired_device_days",
            Show::Number,
        ),
        row(
            "certificates obtained",
            "totals.renewals",
            "/totals/renewals",
            Show::Int,
        ),
    ];
    for cohort in union_of_keys(runs, "cohorts") {
        let p = format!("/cohorts/{}", escape_pointer(&cohort));
        for (what, field, show) in [
            ("expiry rate", "expiry_rate", Show::Pct),
            ("stranded at the end", "stranded_at_end", Show::Int),
            (
                "without a valid certificate at the end",
                "invalid_at_end",
                Show::Int,
            ),
            ("certificates obtained", "renewals", Show::Int),
        ] {
            out.push(row(
                format!("{cohort}: {what}"),
                format!("cohorts.{cohort}.{field}"),
                &format!("{p}/{field}"),
                show,
            ));
        }
    }
    let stages = union_of_keys(runs, "stages")
        .into_iter()
        .map(|n| {
            (
                n.clone(),
                format!("stages.{n}"),
                format!("/stages/{}", escape_pointer(&n)),
            )
        })
        .chain(std::iter::once((
            "CA".to_string(),
            "ca".to_string(),
            "/ca".to_string(),
        )));
    for (name, csv, p) in stages {
        for (what, field, show) in [
            ("requests", "arrivals", Show::Int),
            ("requests failed", "failed", Show::Int),
            ("refused (queue full)", "refused", Show::Int),
            ("timed out", "timed_out", Show::Int),
            ("failed by outage", "failed_outage", Show::Int),
            ("peak minute (requests)", "peak_minute/arrivals", Show::Int),
            ("peak hour (requests)", "peak_hour/arrivals", Show::Int),
            ("queue wait p50", "wait_p50_s", Show::Duration),
            ("queue wait p99", "wait_p99_s", Show::Duration),
            ("longest queue", "max_queue", Show::Int),
            ("utilisation", "utilisation", Show::Pct),
            (
                "waiting or in service at the end",
                "in_system_at_end",
                Show::Int,
            ),
        ] {
            out.push(row(
                format!("{name}: {what}"),
                format!("{csv}.{}", field.replace('/', ".")),
                &format!("{p}/{field}"),
                show,
            ));
        }
    }
    out
}

fn path_parts(pointer: &str) -> Vec<&str> {
    pointer.split('/').skip(1).collect()
}

fn write_table(runs: &[RunOutputs], w: &mut dyn Write) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    let mut header = vec!["metric".to_string()];
    header.extend(runs.iter().map(|r| r.label.clone()));
    out.write_record(&header).map_err(io::Error::other)?;
    for row in rows(runs) {
        let mut record = vec![row.name.clone()];
        record.extend(runs.iter().map(|r| match r.summary.pointer(&row.pointer) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        }));
        out.write_record(&record).map_err(io::Error::other)?;
    }
    out.flush()
}

/// The comparison as text for the terminal: one line per row, one column
/// per run, in the units people read.
pub fn table_text(runs: &[RunOutputs]) -> String {
    let rows = rows(runs);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            runs.iter()
                .map(|r| {
                    let v = r
                        .summary
                        .pointer(&row.pointer)
                        .cloned()
                        .unwrap_or(Value::Null);
                    row.show.format(&v)
                })
                .collect()
        })
        .collect();
    let label_width = rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(0);
    let widths: Vec<usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain(std::iter::once(r.label.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let pad = |s: &str, w: usize| format!("{}{s}", " ".repeat(w.saturating_sub(s.chars().count())));
    let mut out = String::new();
    let _ = write!(out, "  {}", " ".repeat(label_width));
    for (r, w) in runs.iter().zip(&widths) {
        let _ = write!(out, "  {}", pad(&r.label, *w));
    }
    out.push('\n');
    for (row, cells) in rows.iter().zip(&cells) {
        let _ = write!(
            out,
            "  {}{}",
            row.label,
            " ".repeat(label_width - row.label.chars().count())
        );
        for (c, w) in cells.iter().zip(&widths) {
            let _ = write!(out, "  {}", pad(c, *w));
        }
        out.push('\n');
    }
    out
}

/// How runs are laid over each other on the time charts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// On the calendar: each run at its own dates.
    Calendar,
    /// On time since each run's start.
    Start,
}

fn figures(runs: &[RunOutputs], align: Align) -> Vec<Figure> {
    let origin = runs.iter().map(|r| r.start_unix_ms).min().unwrap_or(0);
    let offset = |r: &RunOutputs| match align {
        Align::Calendar => ((r.start_unix_ms - origin) / 60_000) as f64,
        Align::Start => 0.0,
    };
    let span = runs
        .iter()
        .map(|r| offset(r) + r.horizon_minutes as f64)
        .fold(1.0, f64::max);
    let axis = match align {
        Align::Calendar => TimeAxis::new(origin, span),
        Align::Start => TimeAxis::since_start(span),
    };
    let bucket = Bucketing::for_span(span as usize, 1);
    let day_bucket = Bucketing::for_span(span as usize, 1440);
    let shift = |points: Vec<(f64, f64)>, by: f64| -> Vec<(f64, f64)> {
        points.into_iter().map(|(x, y)| (x + by, y)).collect()
    };
    let arrivals = runs
        .iter()
        .enumerate()
        .map(|(i, r)| Series {
            name: r.label.clone(),
            points: shift(
                charts::rolling_max_per_bucket(&r.arrivals, 60, bucket),
                offset(r),
            ),
            color: i,
        })
        .collect();
    let queue = runs
        .iter()
        .enumerate()
        .map(|(i, r)| Series {
            name: r.label.clone(),
            points: shift(bucket.max_per_bucket(&r.longest_queue, 1), offset(r)),
            color: i,
        })
        .collect();
    // p99 waits per hour: the largest in each bucket of the chart, in the
    // unit the largest reads best in.
    let hour_bucket = Bucketing::for_span(span as usize, 60);
    let per = (hour_bucket.minutes / 60).max(1);
    let top = runs
        .iter()
        .flat_map(|r| r.wait_p99.iter().map(|w| w.1))
        .fold(0.0, f64::max);
    let (unit, unit_s) = units::duration_axis(top);
    let waits = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut points: Vec<(f64, f64)> = Vec::new();
            for &(hour, p99) in &r.wait_p99 {
                let x = (hour / per * per * 60) as f64 + offset(r);
                let step = (per * 60) as f64;
                match points.last().copied() {
                    Some(last) if last.0 == x => {
                        if let Some(l) = points.last_mut() {
                            l.1 = l.1.max(p99 / unit_s);
                        }
                    }
                    Some(last) if x - last.0 > step => {
                        // Hours without a started request: a gap.
                        points.push((last.0 + step, f64::NAN));
                        points.push((x, p99 / unit_s));
                    }
                    _ => points.push((x, p99 / unit_s)),
                }
            }
            Series {
                name: r.label.clone(),
                points,
                color: i,
            }
        })
        .collect();
    let invalid = runs
        .iter()
        .enumerate()
        .map(|(i, r)| Series {
            name: r.label.clone(),
            // End-of-day levels, plotted at the end of their bucket.
            points: shift(
                day_bucket.max_per_bucket(&r.invalid_per_day, 1440),
                offset(r) + day_bucket.minutes as f64,
            )
            .into_iter()
            .map(|(x, y)| (x.min(span), y))
            .collect(),
            color: i,
        })
        .collect();
    let pct = |r: &RunOutputs, p: &str| {
        r.summary.pointer(p).and_then(Value::as_f64).unwrap_or(0.0) * 100.0
    };
    let bars = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (v, lo, hi) = (
                pct(r, "/totals/expiry_rate"),
                pct(r, "/totals/expiry_rate_ci95/0"),
                pct(r, "/totals/expiry_rate_ci95/1"),
            );
            Bar {
                label: r.label.clone(),
                value: v,
                ci: Some((lo, hi)),
                text: format!(
                    "{} [{} – {}]",
                    units::share(v / 100.0),
                    units::share(lo / 100.0),
                    units::share(hi / 100.0)
                ),
                color: i,
            }
        })
        .collect();
    vec![
        Figure {
            name: "compare-arrivals",
            title: "CA arrivals per hour, by variant".into(),
            caption: format!(
                "Requests reaching the CA in 60 consecutive minutes (the busiest in each {}), \
                 one line per variant.",
                bucket.describe()
            ),
            panels: vec![Panel::Time(TimeChart {
                title: "CA arrivals per hour".into(),
                y_label: "requests / hour".into(),
                axis,
                series: arrivals,
                limit: None,
                mark: None,
                events: Vec::new(),
            })],
            width: 1200,
            panel_height: 430,
        },
        Figure {
            name: "compare-queue",
            title: "CA queue, by variant".into(),
            caption: format!(
                "The longest the CA's queue grew to within each {}, one line per variant.",
                bucket.describe()
            ),
            panels: vec![Panel::Time(TimeChart {
                title: "CA queue length".into(),
                y_label: "requests waiting".into(),
                axis,
                series: queue,
                limit: None,
                mark: None,
                events: Vec::new(),
            })],
            width: 1200,
            panel_height: 430,
        },
        Figure {
            name: "compare-waits",
            title: "CA queue wait (p99), by variant".into(),
            caption: format!(
                "The 99th percentile of the CA queue wait per hour of arrival (the highest in each \
                 {}; gaps: no request started), one line per variant.",
                hour_bucket.describe()
            ),
            panels: vec![Panel::Time(TimeChart {
                title: "CA queue wait, p99".into(),
                y_label: format!("wait in queue ({unit})"),
                axis,
                series: waits,
                limit: None,
                mark: None,
                events: Vec::new(),
            })],
            width: 1200,
            panel_height: 430,
        },
        Figure {
            name: "compare-invalid",
            title: "Devices without a valid certificate, by variant".into(),
            caption: format!(
                "All cohorts together, at the end of each day (highest of each {}).",
                day_bucket.describe()
            ),
            panels: vec![Panel::Time(TimeChart {
                title: "Devices without a valid certificate".into(),
                y_label: "devices".into(),
                axis,
                series: invalid,
                limit: None,
                mark: None,
                events: Vec::new(),
            })],
            width: 1200,
            panel_height: 430,
        },
        Figure {
            name: "compare-expiry",
            title: "Expiry rate by variant".into(),
            caption: "Share of all devices whose certificate expired at least once, with its \
                      exact 95 % interval."
                .into(),
            panels: vec![Panel::Bars(BarChart {
                title: "Expiry rate by variant (95 % CI)".into(),
                x_label: "variant".into(),
                y_label: "devices whose certificate expired (%)".into(),
                bars,
            })],
            width: 1200,
            panel_height: 430,
        },
    ]
}

fn page(runs: &[RunOutputs], charts: &[charts::Rendered]) -> String {
    let mut out = String::with_capacity(128 * 1024);
    html::page_start(&mut out, "certfleet — comparison");
    out.push_str("<h1>Comparison of runs</h1>\n<p class=\"meta\">");
    for (i, r) in runs.iter().enumerate() {
        if i > 0 {
            out.push_str(" · ");
        }
        let _ = write!(out, "{}", escape(&r.dir.display().to_string()));
    }
    out.push_str("</p>\n<section id=\"table\">\n<h2>Side by side</h2>\n");
    out.push_str("<table id=\"compare-table\">\n<thead><tr><th></th>");
    for r in runs {
        let _ = write!(out, "<th>{}</th>", escape(&r.label));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows(runs) {
        let _ = write!(out, "<tr><th class=\"text\">{}</th>", escape(&row.label));
        for (i, r) in runs.iter().enumerate() {
            let unescaped: Vec<String> = path_parts(&row.pointer)
                .iter()
                .map(|p| p.replace("~1", "/").replace("~0", "~"))
                .collect();
            let parts: Vec<&str> = unescaped.iter().map(String::as_str).collect();
            let cell = num(&r.summary, &parts, row.show).replacen(
                "<span ",
                &format!("<span data-run=\"{i}\" "),
                1,
            );
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
    out.push_str("<section id=\"questions\">\n<h2>The variants</h2>\n");
    for r in runs {
        let description = r.summary["parameters"]["description"]
            .as_str()
            .unwrap_or("")
            .trim()
            .to_string();
        let _ = writeln!(
            out,
            "<p><b>{}</b>: {}</p>",
            escape(&r.label),
            if description.is_empty() {
                "(no description)".to_string()
            } else {
                escape(&description)
            }
        );
    }
    out.push_str("</section>\n<section id=\"charts\">\n<h2>Charts</h2>\n");
    for chart in charts {
        html::figure(&mut out, chart);
    }
    out.push_str("</section>\n");
    html::page_end(&mut out);
    out
}

/// Writes compare.csv, charts/ and compare.html into `out`, atomically.
pub fn write_compare(
    runs: &[RunOutputs],
    out: &Path,
    align: Align,
) -> Result<PathBuf, CompareError> {
    let write_err = |source: io::Error| CompareError::Write {
        dir: out.to_path_buf(),
        source,
    };
    let rendered = charts::render_all(&figures(runs, align)).map_err(|e| write_err(e.into()))?;
    let staged = StagedDir::create(out).map_err(write_err)?;
    staged
        .write("compare.csv", |w| write_table(runs, w))
        .map_err(write_err)?;
    staged.create_dir(CHARTS_DIR).map_err(write_err)?;
    for chart in &rendered {
        staged
            .write(&format!("{CHARTS_DIR}/{}.png", chart.name), |w| {
                w.write_all(&chart.png)
            })
            .map_err(write_err)?;
        staged
            .write(&format!("{CHARTS_DIR}/{}.svg", chart.name), |w| {
                w.write_all(chart.svg.as_bytes())
            })
            .map_err(write_err)?;
    }
    let html = page(runs, &rendered);
    staged
        .write("compare.html", |w| w.write_all(html.as_bytes()))
        .map_err(write_err)?;
    staged.commit().map_err(write_err)
}
