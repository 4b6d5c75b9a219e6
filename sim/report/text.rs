//! The short summary printed after a run.

use std::io::{self, Write};

use super::summary::Summary;

fn pct(x: f64) -> String {
    format!("{:.3} %", x * 100.0)
}

pub fn print_summary(s: &Summary, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "{} (seed {}), {} → {}",
        s.scenario, s.seed, s.start, s.end
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "  {:<24} {:>11} {:>10} {:>22} {:>9} {:>10}",
        "cohort", "devices", "expired", "expiry rate (95% CI)", "stranded", "renewals"
    )?;
    let row = |w: &mut dyn Write, name: &str, c: &super::summary::CohortSummary| {
        writeln!(
            w,
            "  {:<24} {:>11} {:>10} {:>9} [{:.3}–{:.3} %] {:>9} {:>10}",
            name,
            c.devices,
            c.devices_expired,
            pct(c.expiry_rate),
            c.expiry_rate_ci95[0] * 100.0,
            c.expiry_rate_ci95[1] * 100.0,
            c.stranded_at_end,
            c.renewals
        )
    };
    for (name, c) in &s.cohorts {
        row(w, name, c)?;
    }
    if s.cohorts.len() > 1 {
        row(w, "(all)", &s.totals)?;
    }
    let ca = &s.ca;
    writeln!(w)?;
    writeln!(
        w,
        "  CA: {} requests — {} served, {} refused, {} timed out, {} failed by outage",
        ca.arrivals, ca.served, ca.refused, ca.timed_out, ca.failed_outage
    )?;
    writeln!(
        w,
        "  peak minute {} requests at {}; peak hour {} from {}; mean {:.2}/min",
        ca.peak_minute.arrivals,
        ca.peak_minute.at,
        ca.peak_hour.arrivals,
        ca.peak_hour.at,
        ca.mean_arrivals_per_minute
    )?;
    writeln!(
        w,
        "  queue wait p50 {:.3} s, p95 {:.3} s, p99 {:.3} s; longest queue {}; utilisation {}",
        ca.wait_p50_s,
        ca.wait_p95_s,
        ca.wait_p99_s,
        ca.max_queue,
        pct(ca.utilisation)
    )?;
    Ok(())
}
