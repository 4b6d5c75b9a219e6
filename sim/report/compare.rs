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
    /// Devices without a valid certificate at the end of each day, all cohorts.
    pub invalid_per_day: Vec<f64>,
}

const REQUIRED: [&str; 3] = ["summary.json", "timeseries.csv", "invalid_daily.csv"];

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
    let (minute_col, arrivals_col) = (
        column(&header, "minute", &ts)?,
        column(&header, "arrivals", &ts)?,
    );
    let mut arrivals = vec![0u32; horizon_minutes];
    for row in rows {
        let parse = |i: usize| row.get(i).and_then(|v| v.parse::<u64>().ok());
        match (parse(minute_col), parse(arrivals_col)) {
            (Some(m), Some(a)) => {
                if let Some(slot) = arrivals.get_mut(m as usize) {
                    *slot = a.min(u32::MAX as u64) as u32;
                }
            }
            _ => return Err(unreadable(&ts, "a row without a minute or arrivals number")),
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

/// The rows of the comparison table: (label, JSON pointer, how to show it).
const ROWS: [(&str, &str, Show); 22] = [
    ("scenario", "/scenario", Show::Text),
    ("seed", "/seed", Show::Text),
    ("devices", "/totals/devices", Show::Int),
    ("expiry rate", "/totals/expiry_rate", Show::Pct),
    (
        "expiry rate, 95 % CI low",
        "/totals/expiry_rate_ci95/0",
        Show::Pct,
    ),
    (
        "expiry rate, 95 % CI high",
        "/totals/expiry_rate_ci95/1",
        Show::Pct,
    ),
    (
        "devices whose certificate expired",
        "/totals/devices_expired",
        Show::Int,
    ),
    ("stranded at the end", "/totals/stranded_at_end", Show::Int),
    (
        "device-days without a valid certificate",
        "/totals/expired_device_days",
        Show::Number,
    ),
    ("certificates obtained", "/totals/renewals", Show::Int),
    ("CA requests", "/ca/arrivals", Show::Int),
    ("CA served", "/ca/served", Show::Int),
    ("CA refused", "/ca/refused", Show::Int),
    ("CA timed out", "/ca/timed_out", Show::Int),
    ("CA failed by outage", "/ca/failed_outage", Show::Int),
    (
        "peak minute (requests)",
        "/ca/peak_minute/arrivals",
        Show::Int,
    ),
    ("peak minute at", "/ca/peak_minute/at", Show::Text),
    ("peak hour (requests)", "/ca/peak_hour/arrivals", Show::Int),
    ("peak-to-mean", "/ca/peak_to_mean", Show::Number),
    ("queue wait p95", "/ca/wait_p95_s", Show::Duration),
    ("longest queue", "/ca/max_queue", Show::Int),
    ("CA utilisation", "/ca/utilisation", Show::Pct),
];

fn path_parts(pointer: &str) -> Vec<&str> {
    pointer.split('/').skip(1).collect()
}

fn write_table(runs: &[RunOutputs], w: &mut dyn Write) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    let mut header = vec!["metric".to_string()];
    header.extend(runs.iter().map(|r| r.label.clone()));
    out.write_record(&header).map_err(io::Error::other)?;
    for (_, pointer, _) in ROWS {
        let mut record = vec![pointer.trim_start_matches('/').replace('/', ".")];
        record.extend(runs.iter().map(|r| match r.summary.pointer(pointer) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        }));
        out.write_record(&record).map_err(io::Error::other)?;
    }
    out.flush()
}

fn figures(runs: &[RunOutputs]) -> Vec<Figure> {
    let origin = runs.iter().map(|r| r.start_unix_ms).min().unwrap_or(0);
    let offset = |r: &RunOutputs| ((r.start_unix_ms - origin) / 60_000) as f64;
    let span = runs
        .iter()
        .map(|r| offset(r) + r.horizon_minutes as f64)
        .fold(1.0, f64::max);
    let axis = TimeAxis::new(origin, span);
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
                text: format!("{v:.2} % [{lo:.2}–{hi:.2}]"),
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
                      95 % Wilson interval."
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
    for (label, pointer, show) in ROWS {
        let _ = write!(out, "<tr><th class=\"text\">{}</th>", escape(label));
        for (i, r) in runs.iter().enumerate() {
            let cell = num(&r.summary, &path_parts(pointer), show).replacen(
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
pub fn write_compare(runs: &[RunOutputs], out: &Path) -> Result<PathBuf, CompareError> {
    let write_err = |source: io::Error| CompareError::Write {
        dir: out.to_path_buf(),
        source,
    };
    let rendered = charts::render_all(&figures(runs)).map_err(|e| write_err(e.into()))?;
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
