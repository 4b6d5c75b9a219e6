//! The short summary printed after a run: the headline figures that answer
//! the scenario's question, the cohorts, and the CA.

use std::io::{self, Write};

use super::headline;
use super::summary::{CohortSummary, StageSummary, Summary};
use super::units::{count, duration, share};

fn interval(c: &CohortSummary) -> String {
    format!(
        "{} [{} – {}]",
        share(c.expiry_rate),
        share(c.expiry_rate_ci95[0]),
        share(c.expiry_rate_ci95[1])
    )
}

fn stage_line(w: &mut dyn Write, name: &str, st: &StageSummary) -> io::Result<()> {
    writeln!(
        w,
        "  {name}: {} requests — {} served, {} refused, {} timed out, {} failed by outage{}",
        count(st.arrivals),
        count(st.served),
        count(st.refused),
        count(st.timed_out),
        count(st.failed_outage),
        if st.challenge_expired > 0 {
            format!(", {} challenge expired", count(st.challenge_expired))
        } else {
            String::new()
        }
    )
}

pub fn print_summary(s: &Summary, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "{} (seed {}), {} → {}",
        s.scenario, s.seed, s.start, s.end
    )?;
    let question = s.parameters.description.trim();
    if !question.is_empty() {
        writeln!(w, "  {question}")?;
    }
    writeln!(w)?;
    writeln!(w, "  Headline")?;
    for line in headline::lines(s) {
        writeln!(w, "    {line}")?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "  {:<24} {:>11} {:>9} {:>30} {:>9} {:>10}",
        "cohort", "devices", "expired", "expiry rate [95 % CI]", "stranded", "renewals"
    )?;
    let row = |w: &mut dyn Write, name: &str, c: &CohortSummary| {
        writeln!(
            w,
            "  {:<24} {:>11} {:>9} {:>30} {:>9} {:>10}",
            name,
            count(c.devices),
            count(c.devices_expired),
            interval(c),
            count(c.stranded_at_end),
            count(c.renewals)
        )
    };
    for (name, c) in &s.cohorts {
        row(w, name, c)?;
    }
    if s.cohorts.len() > 1 {
        row(w, "(all)", &s.totals)?;
    }
    writeln!(w)?;
    for (name, st) in &s.stages {
        stage_line(w, name, st)?;
    }
    let ca = &s.ca;
    stage_line(w, "CA", ca)?;
    writeln!(
        w,
        "  peak minute {} requests at {}; peak hour {} from {}; mean {:.2}/min",
        count(ca.peak_minute.arrivals),
        ca.peak_minute.at,
        count(ca.peak_hour.arrivals),
        ca.peak_hour.at,
        ca.mean_arrivals_per_minute
    )?;
    writeln!(
        w,
        "  queue wait p50 {}, p95 {}, p99 {}; longest queue {}; utilisation {}",
        duration(ca.wait_p50_s),
        duration(ca.wait_p95_s),
        duration(ca.wait_p99_s),
        count(ca.max_queue),
        share(ca.utilisation)
    )?;
    if ca.in_system_at_end > 0 {
        writeln!(
            w,
            "  backlog at the end: {} requests waiting or in service, {} of work at full capacity",
            count(ca.in_system_at_end),
            duration(ca.drain_time_s)
        )?;
    }
    Ok(())
}
