//! The charts of one run.

use crate::engine::time::{MS_PER_DAY, MS_PER_MINUTE};
use crate::metrics::stats::peak_window;
use crate::simulation::RunResult;

use super::super::summary::Summary;
use super::events::event_marks;
use super::time::{Bucketing, TimeAxis};
use super::timeline::{format_number, EventMark, Series, TimeChart};
use super::{Bar, BarChart, Figure, Panel};
use crate::report::units;

const WIDTH: u32 = 1200;
const PANEL_HEIGHT: u32 = 430;

/// The names of the charts every run writes, in report order.
pub const RUN_CHARTS: [&str; 5] = [
    "ca-arrivals",
    "ca-queue",
    "invalid-devices",
    "expiry-rate",
    "ca-outcomes",
];

/// Requests per minute the CA can serve: workers × 60 s / mean service
/// time (`None` when the mean is zero: no meaningful limit).
pub fn capacity_per_minute(result: &RunResult) -> Option<f64> {
    let mean_s = result.scenario.ca.service_time.mean().as_secs_f64();
    (mean_s > 0.0).then(|| result.ca_workers as f64 * 60.0 / mean_s)
}

/// Minutes inside the horizon (the series may hold one more, the closing minute).
fn horizon_minutes(result: &RunResult) -> usize {
    (result.scenario.horizon.ms() / MS_PER_MINUTE).max(1) as usize
}

/// Sums over `window` minutes starting at each minute, then the maximum of
/// those sums in each bucket, without materialising the rolling series
/// (5 years of minutes would be 21 MB).
pub(crate) fn rolling_max_per_bucket(
    series: &[u32],
    window: usize,
    bucket: Bucketing,
) -> Vec<(f64, f64)> {
    let per = bucket.minutes.max(1);
    let mut out = Vec::with_capacity(series.len() / per + 1);
    let mut sum: u64 = series.iter().take(window).map(|&x| x as u64).sum();
    let mut best = 0u64;
    for i in 0..series.len() {
        if i > 0 {
            sum -= series[i - 1] as u64;
            if let Some(&x) = series.get(i + window - 1) {
                sum += x as u64;
            }
        }
        best = best.max(sum);
        if (i + 1) % per == 0 || i + 1 == series.len() {
            out.push(((i / per * per) as f64, best as f64));
            best = 0;
        }
    }
    out
}

fn arrivals_figure(
    result: &RunResult,
    summary: &Summary,
    axis: TimeAxis,
    marks: &[EventMark],
) -> Figure {
    let span = horizon_minutes(result);
    let arrivals = &result.ca.minutes.arrivals[..result.ca.minutes.arrivals.len().min(span)];
    let bucket = Bucketing::for_span(span, 1);
    let capacity = capacity_per_minute(result);
    let cap_label = |per: &str, factor: f64| {
        capacity.map(|c| {
            (
                format!(
                    "capacity {} {per} ({} worker{})",
                    units::number((c * factor).round()),
                    result.ca_workers,
                    if result.ca_workers == 1 { "" } else { "s" }
                ),
                c * factor,
            )
        })
    };
    let (peak_m_at, peak_m) = peak_window(arrivals, 1);
    let (peak_h_at, peak_h) = peak_window(arrivals, 60);
    let per_minute = if bucket.minutes == 1 {
        "requests per minute".to_string()
    } else {
        format!("busiest minute of each {}", bucket.describe())
    };
    let per_hour = format!("busiest 60 min of each {}", bucket.describe());
    let mark = |at: usize, v: u64, unit: &str| {
        (v > 0).then(|| {
            (
                at as f64,
                v as f64,
                format!(
                    "peak {} {unit} at {}",
                    units::count(v),
                    axis.instant(at as f64)
                ),
            )
        })
    };
    Figure {
        name: "ca-arrivals",
        title: "CA arrivals over time".into(),
        caption: format!(
            "Requests reaching the CA. Top: per minute (peak minute {} at {}); bottom: per 60 \
             consecutive minutes (peak hour {} from {}). Each point is the busiest minute or hour \
             in its {}; the dashed line is the capacity, workers × 60 s / mean service time. \
             Shaded periods and dotted lines are the scenario's scheduled events.",
            units::count(summary.ca.peak_minute.arrivals),
            summary.ca.peak_minute.at,
            units::count(summary.ca.peak_hour.arrivals),
            summary.ca.peak_hour.at,
            bucket.describe()
        ),
        panels: vec![
            Panel::Time(TimeChart {
                title: "CA arrivals per minute".into(),
                y_label: "requests / minute".into(),
                axis,
                series: vec![Series {
                    name: per_minute,
                    points: bucket.max_per_bucket(arrivals, 1),
                    color: 0,
                }],
                limit: cap_label("/min", 1.0),
                mark: mark(peak_m_at, peak_m, "/min"),
                events: marks.to_vec(),
            }),
            Panel::Time(TimeChart {
                title: "CA arrivals per hour".into(),
                y_label: "requests / hour".into(),
                axis,
                series: vec![Series {
                    name: per_hour,
                    points: rolling_max_per_bucket(arrivals, 60, bucket),
                    color: 0,
                }],
                limit: cap_label("/h", 60.0),
                mark: mark(peak_h_at, peak_h, "/h"),
                events: marks.to_vec(),
            }),
        ],
        width: WIDTH,
        panel_height: PANEL_HEIGHT,
    }
}

fn queue_figure(result: &RunResult, axis: TimeAxis, marks: &[EventMark]) -> Figure {
    let span = horizon_minutes(result);
    let bucket = Bucketing::for_span(span, 1);
    // The longest queue within each minute, then the longest of each bucket.
    let longest = result.ca.minutes.longest_queue();
    let longest: Vec<f64> = longest.iter().take(span).map(|&q| q as f64).collect();
    let queue = bucket.max_per_bucket(&longest, 1);
    let hours = span.div_ceil(60);
    let wait_bucket = Bucketing::for_span(span, 60);
    let per = wait_bucket.minutes / 60;
    let waits = &result.ca.hourly_waits;
    let mut lines: [Vec<(f64, f64)>; 3] = Default::default();
    for start in (0..hours).step_by(per.max(1)) {
        let bins = waits.merged(start, start + per);
        for (line, q) in lines.iter_mut().zip([0.5, 0.95, 0.99]) {
            line.push(((start * 60) as f64, bins.quantile_s(q).unwrap_or(f64::NAN)));
        }
    }
    // The wait axis in the unit its largest value reads best in.
    let top = lines
        .iter()
        .flatten()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (unit, per) = units::duration_axis(top);
    for line in &mut lines {
        for p in line.iter_mut() {
            p.1 /= per;
        }
    }
    let [p50, p95, p99] = lines;
    let timeout = result.scenario.ca.timeout.map(|t| t.as_secs_f64());
    Figure {
        name: "ca-queue",
        title: "CA queue and waits over time".into(),
        caption: format!(
            "Top: requests waiting for a CA worker (the longest the queue grew to within each {}). \
             Bottom: queue-wait percentiles of the requests that entered service, per {} of \
             arrival (coarse bins, ±10 %; gaps: no request). The exact run-wide percentiles are in \
             the headline numbers.",
            bucket.describe(),
            wait_bucket.describe()
        ),
        panels: vec![
            Panel::Time(TimeChart {
                title: "CA queue length".into(),
                y_label: "requests waiting".into(),
                axis,
                series: vec![Series {
                    name: format!("longest queue within each {}", bucket.describe()),
                    points: queue,
                    color: 0,
                }],
                limit: result
                    .scenario
                    .ca
                    .queue_limit
                    .map(|l| (format!("queue limit {}", units::count(l)), l as f64)),
                mark: None,
                events: marks.to_vec(),
            }),
            Panel::Time(TimeChart {
                title: format!("Queue wait percentiles per {}", wait_bucket.describe()),
                y_label: format!("wait in queue ({unit})"),
                axis,
                series: vec![
                    Series {
                        name: "p50".into(),
                        points: p50,
                        color: 2,
                    },
                    Series {
                        name: "p95".into(),
                        points: p95,
                        color: 4,
                    },
                    Series {
                        name: "p99".into(),
                        points: p99,
                        color: 1,
                    },
                ],
                limit: timeout.map(|t| (format!("client timeout {}", units::duration(t)), t / per)),
                mark: None,
                events: marks.to_vec(),
            }),
        ],
        width: WIDTH,
        panel_height: PANEL_HEIGHT,
    }
}

fn invalid_figure(result: &RunResult, axis: TimeAxis, marks: &[EventMark]) -> Figure {
    let days = (result.scenario.horizon.ms() + MS_PER_DAY - 1) / MS_PER_DAY;
    let days = days.max(1) as usize;
    let bucket = Bucketing::for_span(days * 1440, 1440);
    let span = horizon_minutes(result) as f64;
    // Levels are counted at the end of each day: plot them there.
    let at_day_end = |points: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
        points
            .into_iter()
            .map(|(x, y)| ((x + bucket.minutes as f64).min(span), y))
            .collect()
    };
    // Levels at the end of each day; beyond the last change the level holds.
    let full = |levels: Vec<i64>| -> Vec<f64> {
        (0..days)
            .map(|d| levels.get(d).or(levels.last()).copied().unwrap_or(0) as f64)
            .collect()
    };
    let mut series: Vec<Series> = Vec::new();
    if result.cohorts.len() > 1 {
        // Drawn first, under the cohorts' lines, which it would hide where
        // one cohort holds all the invalid devices.
        let mut total = vec![0.0; days];
        for c in &result.cohorts {
            for (t, v) in total.iter_mut().zip(full(c.invalid_per_day())) {
                *t += v;
            }
        }
        series.push(Series {
            name: "all cohorts".into(),
            points: at_day_end(bucket.max_per_bucket(&total, 1440)),
            color: 6,
        });
    }
    series.extend(
        result
            .scenario
            .cohorts
            .iter()
            .zip(&result.cohorts)
            .enumerate()
            .map(|(i, (spec, c))| Series {
                name: spec.name.clone(),
                points: at_day_end(bucket.max_per_bucket(&full(c.invalid_per_day()), 1440)),
                color: i,
            }),
    );
    Figure {
        name: "invalid-devices",
        title: "Devices without a valid certificate".into(),
        caption: format!(
            "Devices without a valid certificate (expired, or revoked by a mass revocation, and \
             not yet replaced), at the end of each day (highest of each {}), per cohort.",
            bucket.describe()
        ),
        panels: vec![Panel::Time(TimeChart {
            title: "Devices without a valid certificate".into(),
            y_label: "devices".into(),
            axis,
            series,
            limit: None,
            mark: None,
            events: marks.to_vec(),
        })],
        width: WIDTH,
        panel_height: PANEL_HEIGHT,
    }
}

fn expiry_figure(summary: &Summary) -> Figure {
    let mut rows: Vec<(&str, &super::super::summary::CohortSummary)> = summary
        .cohorts
        .iter()
        .map(|(n, c)| (n.as_str(), c))
        .collect();
    if summary.cohorts.len() > 1 {
        rows.push(("(all)", &summary.totals));
    }
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, (name, c))| Bar {
            label: format!("{name} ({})", format_number(c.devices as f64)),
            value: c.expiry_rate * 100.0,
            ci: Some((c.expiry_rate_ci95[0] * 100.0, c.expiry_rate_ci95[1] * 100.0)),
            text: format!(
                "{} [{} – {}]",
                units::share(c.expiry_rate),
                units::share(c.expiry_rate_ci95[0]),
                units::share(c.expiry_rate_ci95[1])
            ),
            color: if *name == "(all)" { 6 } else { i },
        })
        .collect();
    Figure {
        name: "expiry-rate",
        title: "Expiry rate per cohort".into(),
        caption: "Share of devices whose certificate expired at least once, with its exact \
                  (Clopper–Pearson) 95 % confidence interval (devices as independent trials)."
            .into(),
        panels: vec![Panel::Bars(BarChart {
            title: "Expiry rate per cohort (95 % CI)".into(),
            x_label: "cohort (devices)".into(),
            y_label: "devices whose certificate expired (%)".into(),
            bars,
        })],
        width: WIDTH,
        panel_height: PANEL_HEIGHT,
    }
}

fn outcomes_figure(summary: &Summary) -> Figure {
    let ca = &summary.ca;
    let total = ca.arrivals.max(1) as f64;
    let bars = [
        ("served", ca.served, 2),
        ("refused (queue full)", ca.refused, 4),
        ("timed out", ca.timed_out, 1),
        ("failed by outage", ca.failed_outage, 3),
    ]
    .into_iter()
    .map(|(label, n, color)| Bar {
        label: label.into(),
        value: n as f64,
        ci: None,
        text: format!("{} ({})", units::count(n), units::share(n as f64 / total)),
        color,
    })
    .collect();
    Figure {
        name: "ca-outcomes",
        title: "Outcome of CA requests".into(),
        caption: format!(
            "How the {} requests that reached the CA ended.",
            ca.arrivals
        ),
        panels: vec![Panel::Bars(BarChart {
            title: "Outcome of CA requests".into(),
            x_label: "outcome".into(),
            y_label: "requests".into(),
            bars,
        })],
        width: WIDTH,
        panel_height: PANEL_HEIGHT,
    }
}

/// Every chart of a run, in [`RUN_CHARTS`] order.
pub fn run_charts(result: &RunResult, summary: &Summary) -> Vec<Figure> {
    let axis = TimeAxis::new(result.scenario.start.0, horizon_minutes(result) as f64);
    let marks = event_marks(&result.scenario);
    vec![
        arrivals_figure(result, summary, axis, &marks),
        queue_figure(result, axis, &marks),
        invalid_figure(result, axis, &marks),
        expiry_figure(summary),
        outcomes_figure(summary),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_max_matches_peak_window() {
        let s: Vec<u32> = (0..500).map(|i| ((i * 37) % 11) as u32).collect();
        let b = Bucketing { minutes: 30 };
        let pts = rolling_max_per_bucket(&s, 60, b);
        let best = pts.iter().map(|p| p.1).fold(0.0, f64::max);
        assert_eq!(best as u64, peak_window(&s, 60).1);
        assert_eq!(pts.len(), 500usize.div_ceil(30));
    }
}
