//! Closing the books at the horizon: devices still without a valid
//! certificate, certificates still on their way, the per-stage results and
//! the end-of-run invariants.

use rayon::prelude::*;

use crate::engine::SimTime;
use crate::metrics::CohortCounters;

use super::network::StageNetwork;
use super::shard::Shard;
use super::{invariants, RunError, RunResult, StageResult};

impl Shard<'_> {
    /// The shard's counters, per cohort, with the state of its devices at
    /// the horizon added in.
    fn closing_counters(&self) -> Vec<CohortCounters> {
        let horizon = self.horizon;
        let mut out = self.counters.clone();
        for (id, d) in self.devices() {
            let p = d.cohort as usize;
            let (plan, end) = (&self.plans[p], &mut out[p]);
            let revoked_at = self.revoked.get(&id).copied();
            let invalid_from = revoked_at.map_or(d.cert.expiry, |r| r.min(d.cert.expiry));
            if invalid_from >= horizon {
                continue;
            }
            let from = invalid_from.max(SimTime::ZERO);
            end.invalid_at_end += 1;
            end.expired_time = end.expired_time + horizon.since(from);
            end.mark_invalid(from, None);
            if d.cert.expiry < horizon {
                end.devices_expired += u64::from(!d.expired_ever);
                if plan.is_stranded_at(&d, horizon) {
                    end.stranded_at_end += 1;
                }
                if plan
                    .forget_after()
                    .is_some_and(|f| horizon >= d.cert.expiry + f)
                {
                    end.records_deleted += 1;
                }
            }
            if revoked_at.is_some_and(|r| r < horizon) {
                end.revoked_unreplaced += 1;
            }
        }
        for (&device, flight) in &self.in_flight {
            if flight.issued.is_some() {
                out[self.plan_index(device)].undelivered_at_end += 1;
            }
        }
        out
    }
}

/// Closes the books at the horizon: every shard's counters (in parallel,
/// summed in shard order), the stages' metrics, the invariants.
pub(super) fn finish(
    shards: &[Shard],
    network: StageNetwork,
    events: u64,
) -> Result<RunResult, RunError> {
    let first = shards.first().expect("a run has at least one shard");
    let scenario = first.scenario;
    let per_shard: Vec<Vec<CohortCounters>> =
        shards.par_iter().map(Shard::closing_counters).collect();
    let mut counters: Vec<CohortCounters> = vec![CohortCounters::default(); scenario.cohorts.len()];
    for shard in &per_shard {
        for (total, part) in counters.iter_mut().zip(shard) {
            total.add(part);
        }
    }
    if first.check_invariants {
        let at = scenario.calendar().format(first.horizon);
        invariants::check_totals(scenario, &counters, network.metrics(), &at)?;
    }
    let mut metrics = network.into_metrics().into_iter();
    let ca = metrics.next().expect("the CA is stage 0");
    let stages = scenario
        .stages
        .iter()
        .zip(metrics)
        .map(|((name, config), metrics)| StageResult {
            name: name.clone(),
            workers: config.workers,
            metrics,
        })
        .collect();
    Ok(RunResult {
        scenario: scenario.clone(),
        cohorts: counters,
        ca_workers: scenario.ca.workers,
        ca,
        stages,
        events,
        wall_time: std::time::Duration::ZERO,
    })
}
