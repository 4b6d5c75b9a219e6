//! The machine-readable summary of a run (`summary.json`).

use indexmap::IndexMap;
use serde::Serialize;

use std::ops::Deref;

use crate::engine::time::{MS_PER_DAY, MS_PER_MINUTE};
use crate::engine::SimTime;
use crate::metrics::stats::{clopper_pearson, peak_window};
use crate::metrics::{CohortCounters, Counts, StageMetrics};
use crate::model::stage::StageConfig;
use crate::model::Scenario;
use crate::simulation::RunResult;

use super::after_events::{self, LoadPeriod, Recovery};
use super::headline::{self, HeadlineItem};

/// Output format tag: bumped whenever a field changes meaning or goes away.
pub const FORMAT: &str = "certfleet-run/2";

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub format: &'static str,
    pub scenario: String,
    pub seed: u64,
    pub certfleet_version: &'static str,
    pub start: String,
    pub end: String,
    pub parameters: Scenario,
    /// The figures that answer the scenario's question (JSON pointers into
    /// this file), as the printed summary and report.html show them.
    pub headline: Vec<HeadlineItem>,
    pub totals: CohortSummary,
    pub cohorts: IndexMap<String, CohortSummary>,
    pub ca: StageSummary,
    /// Stages before the CA (proxy, NDES, connector), by name.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub stages: IndexMap<String, StageSummary>,
    /// CA load in each period between lifetime changes (when there are any).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<LoadPeriod>,
    /// Recovery after each template bump and offline episode.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recoveries: Vec<Recovery>,
    /// Events the engine processed (deterministic; wall time is not here).
    pub events: u64,
}

/// One cohort's figures: the derived ones, then every counter of
/// [`crate::metrics::Counter`] under its own name.
#[derive(Debug, Clone, Serialize)]
pub struct CohortSummary {
    pub devices: u64,
    /// Share of devices whose certificate expired at least once.
    pub expiry_rate: f64,
    /// Exact (Clopper–Pearson) 95 % interval of the expiry rate, devices
    /// as Bernoulli trials.
    pub expiry_rate_ci95: [f64; 2],
    /// Time without a valid certificate, summed over devices, in days.
    pub expired_device_days: f64,
    #[serde(flatten)]
    pub counts: Counts,
    /// When the last revoked certificate was replaced (absent: none was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_revoked_replaced_at: Option<String>,
}

impl Deref for CohortSummary {
    type Target = Counts;
    fn deref(&self) -> &Counts {
        &self.counts
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Peak {
    /// Start of the busiest minute or hour (UTC).
    pub at: String,
    pub arrivals: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageSummary {
    pub workers: u32,
    pub arrivals: u64,
    pub served: u64,
    pub refused: u64,
    pub timed_out: u64,
    pub failed_outage: u64,
    /// Rejected because the SCEP challenge had expired (stages that validate it).
    pub challenge_expired: u64,
    /// Requests that failed within the horizon, whatever the cause.
    pub failed: u64,
    /// Waiting or in service at the end of the horizon.
    pub in_system_at_end: u64,
    pub peak_minute: Peak,
    /// The busiest 60 consecutive minutes.
    pub peak_hour: Peak,
    pub mean_arrivals_per_minute: f64,
    pub peak_to_mean: f64,
    pub wait_mean_s: f64,
    pub wait_p50_s: f64,
    pub wait_p95_s: f64,
    pub wait_p99_s: f64,
    pub max_queue: u64,
    pub utilisation: f64,
    pub abandoned_work_s: f64,
    /// How long that backlog takes at full capacity: in_system_at_end ×
    /// mean service time / workers, in seconds.
    pub drain_time_s: f64,
}

impl CohortSummary {
    pub fn from_counters(c: &CohortCounters, s: &Scenario) -> Self {
        let (lo, hi) = clopper_pearson(c.devices_expired, c.devices);
        CohortSummary {
            devices: c.devices,
            expiry_rate: c.expiry_rate(),
            expiry_rate_ci95: [round9(lo), round9(hi)],
            expired_device_days: round6(c.expired_time.ms() as f64 / MS_PER_DAY as f64),
            counts: c.counts,
            last_revoked_replaced_at: c
                .last_revoked_replaced
                .filter(|&t| t <= s.horizon_end())
                .map(|t| s.calendar().format(t)),
        }
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn round9(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

impl Summary {
    pub fn new(result: &RunResult) -> Self {
        let s = &result.scenario;
        let calendar = s.calendar();
        let mut totals = CohortCounters::default();
        let mut cohorts = IndexMap::new();
        for (spec, counters) in s.cohorts.iter().zip(&result.cohorts) {
            totals.add(counters);
            cohorts.insert(spec.name.clone(), CohortSummary::from_counters(counters, s));
        }
        let stages = result
            .stages
            .iter()
            .map(|st| {
                let config = &s.stages[&st.name];
                (
                    st.name.clone(),
                    StageSummary::new(&st.metrics, st.workers, config, s),
                )
            })
            .collect();
        let mut summary = Summary {
            format: FORMAT,
            scenario: s.name.clone(),
            seed: s.seed,
            certfleet_version: crate::VERSION,
            start: calendar.format(SimTime::ZERO),
            end: calendar.format(s.horizon_end()),
            parameters: s.clone(),
            headline: Vec::new(),
            totals: CohortSummary::from_counters(&totals, s),
            cohorts,
            ca: StageSummary::new(&result.ca, result.ca_workers, &s.ca, s),
            stages,
            periods: after_events::load_periods(result),
            recoveries: after_events::recoveries(result),
            events: result.events,
        };
        summary.headline = headline::choose(&summary);
        summary
    }
}

impl StageSummary {
    /// The headline numbers of one stage over the scenario's horizon.
    pub fn new(m: &StageMetrics, workers: u32, config: &StageConfig, s: &Scenario) -> Self {
        let calendar = s.calendar();
        let minutes_in_horizon = (s.horizon.ms() / MS_PER_MINUTE).max(1) as usize;
        let arrivals = &m.minutes.arrivals;
        let (peak_m_at, peak_m) = peak_window(arrivals, 1);
        let (peak_h_at, peak_h) = peak_window(arrivals, 60);
        let minute_start = |i: usize| calendar.format(SimTime(i as i64 * MS_PER_MINUTE));
        let mean = m.counts.arrivals as f64 / minutes_in_horizon as f64;
        let pct = |q: f64| {
            if m.waits.is_empty() {
                0.0
            } else {
                m.waits.value_at_quantile(q) as f64 / 1000.0
            }
        };
        let started = m.waits.len();
        let capacity_ms = workers.max(1) as f64 * s.horizon.ms() as f64;
        StageSummary {
            workers,
            arrivals: m.counts.arrivals,
            served: m.counts.served,
            refused: m.counts.refused,
            timed_out: m.counts.timed_out,
            failed_outage: m.counts.failed_outage,
            challenge_expired: m.counts.challenge_expired,
            failed: m.counts.refused
                + m.counts.timed_out
                + m.counts.failed_outage
                + m.counts.challenge_expired,
            in_system_at_end: m.counts.in_system_at_end,
            peak_minute: Peak {
                at: minute_start(peak_m_at),
                arrivals: peak_m,
            },
            peak_hour: Peak {
                at: minute_start(peak_h_at),
                arrivals: peak_h,
            },
            mean_arrivals_per_minute: round6(mean),
            peak_to_mean: if mean > 0.0 {
                round6(peak_m as f64 / mean)
            } else {
                0.0
            },
            wait_mean_s: if started > 0 {
                round6(m.wait_total.as_secs_f64() / started as f64)
            } else {
                0.0
            },
            wait_p50_s: pct(0.50),
            wait_p95_s: pct(0.95),
            wait_p99_s: pct(0.99),
            max_queue: m.max_queue as u64,
            utilisation: round6(m.busy.ms() as f64 / capacity_ms),
            abandoned_work_s: round6(m.abandoned_work.as_secs_f64()),
            drain_time_s: round6(
                m.counts.in_system_at_end as f64 * config.service_time.mean().as_secs_f64()
                    / workers.max(1) as f64,
            ),
        }
    }
}
