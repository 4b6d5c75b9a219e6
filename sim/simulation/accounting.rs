//! Closing the books at the horizon: devices still without a valid
//! certificate, the per-stage results, the end-of-run invariants.

use rayon::prelude::*;

use crate::engine::SimTime;
use crate::metrics::CohortCounters;

use super::fleet::Fleet;
use super::network::StageNetwork;
use super::{invariants, RunError, RunResult, StageResult};

impl Fleet<'_> {
    /// Closes the books at the horizon.
    pub(super) fn finish(mut self, network: StageNetwork) -> Result<RunResult, RunError> {
        let events = self.queue.processed();
        let horizon = self.horizon;
        let revoked = &self.revoked;
        let fleet = &self;
        let per_cohort: Vec<CohortCounters> = self
            .plans
            .par_iter()
            .map(|plan| {
                let mut end = CohortCounters::default();
                for (i, d) in fleet.devices_in(plan.first, plan.count).enumerate() {
                    let id = plan.first + i as u64;
                    let revoked_at = revoked.get(&id).copied();
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
                end
            })
            .collect();
        for (counters, end) in self.counters.iter_mut().zip(&per_cohort) {
            counters.add(end);
        }
        for (&device, flight) in &self.in_flight {
            if flight.issued.is_some() {
                let p = self.plan_index(device);
                self.counters[p].undelivered_at_end += 1;
            }
        }
        if self.check_invariants {
            let at = self.scenario.calendar().format(horizon);
            invariants::check_totals(self.scenario, &self.counters, network.metrics(), &at)?;
        }
        let mut metrics = network.into_metrics().into_iter();
        let ca = metrics.next().expect("the CA is stage 0");
        let stages = self
            .scenario
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
            scenario: self.scenario.clone(),
            cohorts: self.counters,
            ca_workers: self.scenario.ca.workers,
            ca,
            stages,
            events,
            wall_time: std::time::Duration::ZERO,
        })
    }
}
