//! The machine-readable summary of a run (`summary.json`).

use indexmap::IndexMap;
use serde::Serialize;

use crate::engine::time::{MS_PER_DAY, MS_PER_MINUTE};
use crate::engine::SimTime;
use crate::metrics::stats::{peak_window, wilson_interval};
use crate::metrics::{CohortCounters, StageMetrics};
use crate::model::Scenario;
use crate::simulation::RunResult;

/// Output format tag: bumped whenever a field changes meaning or goes away.
pub const FORMAT: &str = "certfleet-run/1";

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub format: &'static str,
    pub scenario: String,
    pub seed: u64,
    pub certfleet_version: &'static str,
    pub start: String,
    pub end: String,
    pub parameters: Scenario,
    pub totals: CohortSummary,
    pub cohorts: IndexMap<String, CohortSummary>,
    pub ca: StageSummary,
    /// Stages before the CA (proxy, NDES, connector), by name.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub stages: IndexMap<String, StageSummary>,
    /// Events the engine processed (deterministic; wall time is not here).
    pub events: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CohortSummary {
    pub devices: u64,
    /// Share of devices whose certificate expired at least once.
    pub expiry_rate: f64,
    /// 95 % Wilson interval of the expiry rate (devices as Bernoulli trials).
    pub expiry_rate_ci95: [f64; 2],
    pub devices_expired: u64,
    pub expired_device_days: f64,
    pub stranded_at_end: u64,
    pub invalid_at_end: u64,
    pub renewals: u64,
    pub tries: u64,
    pub not_eligible: u64,
    pub refused_expired: u64,
    pub ca_refused: u64,
    pub ca_timed_out: u64,
    pub ca_failed_outage: u64,
    pub manual_recoveries: u64,
    pub challenge_expired: u64,
    pub revoked: u64,
    pub revoked_unreplaced: u64,
    pub records_deleted: u64,
    pub approvals_dropped: u64,
    pub undelivered_at_end: u64,
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
}

impl CohortSummary {
    pub fn from_counters(c: &CohortCounters) -> Self {
        let (lo, hi) = wilson_interval(c.devices_expired, c.devices, 1.96);
        CohortSummary {
            devices: c.devices,
            expiry_rate: c.expiry_rate(),
            expiry_rate_ci95: [lo, hi],
            devices_expired: c.devices_expired,
            expired_device_days: round6(c.expired_time.ms() as f64 / MS_PER_DAY as f64),
            stranded_at_end: c.stranded_at_end,
            invalid_at_end: c.invalid_at_end,
            renewals: c.renewals,
            tries: c.tries,
            not_eligible: c.not_eligible,
            refused_expired: c.refused_expired,
            ca_refused: c.ca_refused,
            ca_timed_out: c.ca_timed_out,
            ca_failed_outage: c.ca_failed_outage,
            manual_recoveries: c.manual_recoveries,
            challenge_expired: c.challenge_expired,
            revoked: c.revoked,
            revoked_unreplaced: c.revoked_unreplaced,
            records_deleted: c.records_deleted,
            approvals_dropped: c.approvals_dropped,
            undelivered_at_end: c.undelivered_at_end,
        }
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

impl Summary {
    pub fn new(result: &RunResult) -> Self {
        let s = &result.scenario;
        let calendar = s.calendar();
        let mut totals = CohortCounters::default();
        let mut cohorts = IndexMap::new();
        for (spec, counters) in s.cohorts.iter().zip(&result.cohorts) {
            totals.add(counters);
            cohorts.insert(spec.name.clone(), CohortSummary::from_counters(counters));
        }
        let stages = result
            .stages
            .iter()
            .map(|st| {
                (
                    st.name.clone(),
                    StageSummary::new(&st.metrics, st.workers, s),
                )
            })
            .collect();
        Summary {
            format: FORMAT,
            scenario: s.name.clone(),
            seed: s.seed,
            certfleet_version: crate::VERSION,
            start: calendar.format(SimTime::ZERO),
            end: calendar.format(s.horizon_end()),
            parameters: s.clone(),
            totals: CohortSummary::from_counters(&totals),
            cohorts,
            ca: StageSummary::new(&result.ca, result.ca_workers, s),
            stages,
            events: result.events,
        }
    }
}

impl StageSummary {
    /// The headline numbers of one stage over the scenario's horizon.
    pub fn new(m: &StageMetrics, workers: u32, s: &Scenario) -> Self {
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
        }
    }
}
