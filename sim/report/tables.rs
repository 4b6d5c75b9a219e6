//! Tidy CSV tables.

use std::io::{self, Write};

use crate::engine::calendar::MinuteFormatter;
use crate::engine::time::{MS_PER_DAY, MS_PER_MINUTE};
use crate::engine::SimTime;
use crate::simulation::RunResult;

use super::summary::{CohortSummary, Summary};

fn csv_err(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// One row per simulated minute with any CA activity or a non-empty queue.
/// Every field is a number or a timestamp, so rows are formatted directly
/// (this table has up to a row per simulated minute).
pub fn write_timeseries(result: &RunResult, w: &mut dyn Write) -> io::Result<()> {
    use std::fmt::Write as _;
    let calendar = result.scenario.calendar();
    let m = &result.ca.minutes;
    let queue = m.queue_lengths();
    writeln!(
        w,
        "minute,time,arrivals,served,refused,timed_out,failed_outage,queue_length"
    )?;
    let mut times = MinuteFormatter::default();
    let mut line = String::with_capacity(96);
    for (i, &queued) in queue.iter().enumerate() {
        let row = [
            m.arrivals[i],
            m.served[i],
            m.refused[i],
            m.timed_out[i],
            m.failed_outage[i],
        ];
        if row.iter().all(|&x| x == 0) && queued == 0 {
            continue;
        }
        line.clear();
        let _ = write!(line, "{i},");
        times.format(&calendar, SimTime(i as i64 * MS_PER_MINUTE), &mut line);
        for x in row {
            let _ = write!(line, ",{x}");
        }
        let _ = writeln!(line, ",{queued}");
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

pub const COHORT_COLUMNS: [&str; 23] = [
    "cohort",
    "devices",
    "expiry_rate",
    "expiry_rate_ci95_low",
    "expiry_rate_ci95_high",
    "devices_expired",
    "expired_device_days",
    "stranded_at_end",
    "invalid_at_end",
    "renewals",
    "tries",
    "not_eligible",
    "refused_expired",
    "ca_refused",
    "ca_timed_out",
    "ca_failed_outage",
    "manual_recoveries",
    "challenge_expired",
    "revoked",
    "revoked_unreplaced",
    "records_deleted",
    "approvals_dropped",
    "undelivered_at_end",
];

fn cohort_row(name: &str, c: &CohortSummary) -> Vec<String> {
    vec![
        name.to_string(),
        c.devices.to_string(),
        c.expiry_rate.to_string(),
        c.expiry_rate_ci95[0].to_string(),
        c.expiry_rate_ci95[1].to_string(),
        c.devices_expired.to_string(),
        c.expired_device_days.to_string(),
        c.stranded_at_end.to_string(),
        c.invalid_at_end.to_string(),
        c.renewals.to_string(),
        c.tries.to_string(),
        c.not_eligible.to_string(),
        c.refused_expired.to_string(),
        c.ca_refused.to_string(),
        c.ca_timed_out.to_string(),
        c.ca_failed_outage.to_string(),
        c.manual_recoveries.to_string(),
        c.challenge_expired.to_string(),
        c.revoked.to_string(),
        c.revoked_unreplaced.to_string(),
        c.records_deleted.to_string(),
        c.approvals_dropped.to_string(),
        c.undelivered_at_end.to_string(),
    ]
}

/// One row per cohort, then `(all)` for the whole fleet.
pub fn write_cohorts(summary: &Summary, w: &mut dyn Write) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(COHORT_COLUMNS).map_err(csv_err)?;
    for (name, c) in &summary.cohorts {
        out.write_record(cohort_row(name, c)).map_err(csv_err)?;
    }
    out.write_record(cohort_row("(all)", &summary.totals))
        .map_err(csv_err)?;
    out.flush()
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
