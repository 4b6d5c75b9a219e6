//! Tidy CSV tables.

use std::io::{self, Write};

use crate::engine::calendar::MinuteFormatter;
use crate::engine::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE};
use crate::engine::SimTime;
use crate::metrics::{Counter, StageMetrics};
use crate::simulation::RunResult;

use super::summary::{CohortSummary, Summary};

fn csv_err(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// The stages of a run in report order: the CA (`ca`), then the
/// `[stages]` in order, with their metrics.
pub(crate) fn stages_of(result: &RunResult) -> Vec<(&str, &StageMetrics)> {
    std::iter::once(("ca", &result.ca))
        .chain(
            result
                .stages
                .iter()
                .map(|st| (st.name.as_str(), &st.metrics)),
        )
        .collect()
}

/// Tidy long format: one row per stage and simulated minute with any
/// activity or a non-empty queue. Every field is a number, a name or a
/// timestamp, so rows are formatted directly (this table has up to a row
/// per simulated minute and stage).
pub fn write_timeseries(result: &RunResult, w: &mut dyn Write) -> io::Result<()> {
    use std::fmt::Write as _;
    let calendar = result.scenario.calendar();
    writeln!(
        w,
        "stage,minute,time,arrivals,served,refused,timed_out,failed_outage,queue_length,longest_queue"
    )?;
    let mut times = MinuteFormatter::default();
    let mut line = String::with_capacity(112);
    for (stage, metrics) in stages_of(result) {
        let m = &metrics.minutes;
        let queue = m.queue_lengths();
        let longest = m.longest_queue();
        for (i, &queued) in queue.iter().enumerate() {
            let row = [
                m.arrivals[i],
                m.served[i],
                m.refused[i],
                m.timed_out[i],
                m.failed_outage[i],
            ];
            if row.iter().all(|&x| x == 0) && queued == 0 && longest[i] == 0 {
                continue;
            }
            line.clear();
            let _ = write!(line, "{stage},{i},");
            times.format(&calendar, SimTime(i as i64 * MS_PER_MINUTE), &mut line);
            for x in row {
                let _ = write!(line, ",{x}");
            }
            let _ = writeln!(line, ",{queued},{}", longest[i]);
            w.write_all(line.as_bytes())?;
        }
    }
    Ok(())
}

/// Queue waits per stage and simulated hour of arrival, for every hour in
/// which a request entered service: how many, and the p50/p95/p99 and
/// longest wait in seconds (from log bins 19 % wide: ±10 %).
pub fn write_waits(result: &RunResult, w: &mut dyn Write) -> io::Result<()> {
    use std::fmt::Write as _;
    let calendar = result.scenario.calendar();
    writeln!(
        w,
        "stage,hour,time,started,wait_p50_s,wait_p95_s,wait_p99_s,wait_max_s"
    )?;
    let mut line = String::with_capacity(96);
    for (stage, m) in stages_of(result) {
        for hour in 0..m.hourly_waits.len() {
            let bins = m.hourly_waits.merged(hour, hour + 1);
            if bins.started == 0 {
                continue;
            }
            let q = |p: f64| {
                bins.quantile_s(p)
                    .map_or(0.0, |v| (v * 1000.0).round() / 1000.0)
            };
            line.clear();
            let _ = writeln!(
                line,
                "{stage},{hour},{},{},{},{},{},{}",
                calendar.format(SimTime(hour as i64 * MS_PER_HOUR)),
                bins.started,
                q(0.5),
                q(0.95),
                q(0.99),
                q(1.0)
            );
            w.write_all(line.as_bytes())?;
        }
    }
    Ok(())
}

/// The columns of cohorts.csv: the derived figures, then every counter.
pub fn cohort_columns() -> Vec<&'static str> {
    let mut columns = vec![
        "cohort",
        "devices",
        "expiry_rate",
        "expiry_rate_ci95_low",
        "expiry_rate_ci95_high",
        "expired_device_days",
    ];
    columns.extend(Counter::ALL.iter().map(|c| c.name()));
    columns
}

fn cohort_row(name: &str, c: &CohortSummary) -> Vec<String> {
    let mut row = vec![
        name.to_string(),
        c.devices.to_string(),
        c.expiry_rate.to_string(),
        c.expiry_rate_ci95[0].to_string(),
        c.expiry_rate_ci95[1].to_string(),
        c.expired_device_days.to_string(),
    ];
    row.extend(Counter::ALL.iter().map(|&k| c.get(k).to_string()));
    row
}

/// One row per cohort, then `(all)` for the whole fleet.
pub fn write_cohorts(summary: &Summary, w: &mut dyn Write) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(cohort_columns()).map_err(csv_err)?;
    for (name, c) in &summary.cohorts {
        out.write_record(cohort_row(name, c)).map_err(csv_err)?;
    }
    out.write_record(cohort_row("(all)", &summary.totals))
        .map_err(csv_err)?;
    out.flush()
}

/// Days within the horizon (the last one may be partial).
fn horizon_days(result: &RunResult) -> usize {
    ((result.scenario.horizon.ms() + MS_PER_DAY - 1) / MS_PER_DAY).max(0) as usize
}

/// Tidy long format, one row per day, scope (`cohort` or `stage`), name
/// and measure: per cohort the daily counters and `invalid` (devices
/// without a valid certificate at the end of the day); per stage (`ca` and
/// each stage) arrivals and how requests ended.
pub fn write_daily(result: &RunResult, w: &mut dyn Write) -> io::Result<()> {
    use std::fmt::Write as _;
    let calendar = result.scenario.calendar();
    let days = horizon_days(result);
    writeln!(w, "day,date,scope,name,measure,value")?;
    let daily: Vec<Counter> = Counter::ALL
        .iter()
        .copied()
        .filter(|c| c.info().daily)
        .collect();
    let levels: Vec<Vec<i64>> = result.cohorts.iter().map(|c| c.invalid_per_day()).collect();
    let stage_days: Vec<(&str, [Vec<u64>; 5])> = stages_of(result)
        .into_iter()
        .map(|(name, m)| {
            let per_day = |col: &[u32]| {
                let mut v = vec![0u64; days];
                for (i, &x) in col.iter().enumerate() {
                    if let Some(slot) = v.get_mut(i / 1440) {
                        *slot += x as u64;
                    }
                }
                v
            };
            let mm = &m.minutes;
            (
                name,
                [
                    per_day(&mm.arrivals),
                    per_day(&mm.served),
                    per_day(&mm.refused),
                    per_day(&mm.timed_out),
                    per_day(&mm.failed_outage),
                ],
            )
        })
        .collect();
    let mut line = String::with_capacity(96);
    for day in 0..days {
        let date = &calendar.format(SimTime(day as i64 * MS_PER_DAY))[..10];
        let mut row = |scope: &str, name: &str, measure: &str, value: i64| {
            line.clear();
            let _ = writeln!(
                line,
                "{day},{date},{scope},{},{measure},{value}",
                csv_field(name)
            );
            w.write_all(line.as_bytes())
        };
        for ((spec, c), level) in result
            .scenario
            .cohorts
            .iter()
            .zip(&result.cohorts)
            .zip(&levels)
        {
            let counts = c.per_day.get(day).copied().unwrap_or_default();
            for &k in &daily {
                row("cohort", &spec.name, k.name(), counts.get(k) as i64)?;
            }
            let invalid = level.get(day).or(level.last()).copied().unwrap_or(0);
            row("cohort", &spec.name, "invalid", invalid)?;
        }
        for (name, cols) in &stage_days {
            for (measure, col) in [
                "arrivals",
                "served",
                "refused",
                "timed_out",
                "failed_outage",
            ]
            .iter()
            .zip(cols)
            {
                row("stage", name, measure, col[day] as i64)?;
            }
        }
    }
    Ok(())
}

/// A name as a CSV field (quoted when it holds a comma, quote or newline).
fn csv_field(name: &str) -> String {
    if name.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

/// Devices without a valid certificate at the end of each simulated day,
/// one column per cohort.
pub fn write_invalid_daily(result: &RunResult, w: &mut dyn Write) -> io::Result<()> {
    let calendar = result.scenario.calendar();
    let days = (result.scenario.horizon.ms() + MS_PER_DAY - 1) / MS_PER_DAY;
    let levels: Vec<Vec<i64>> = result.cohorts.iter().map(|c| c.invalid_per_day()).collect();
    let mut out = csv::Writer::from_writer(w);
    let mut header = vec!["day".to_string(), "date".to_string()];
    header.extend(result.scenario.cohorts.iter().map(|c| c.name.clone()));
    out.write_record(&header).map_err(csv_err)?;
    for day in 0..days as usize {
        let mut record = vec![
            day.to_string(),
            calendar.format(SimTime(day as i64 * MS_PER_DAY))[..10].to_string(),
        ];
        record.extend(
            levels
                .iter()
                .map(|l| l.get(day).or(l.last()).copied().unwrap_or(0).to_string()),
        );
        out.write_record(&record).map_err(csv_err)?;
    }
    out.flush()
}
