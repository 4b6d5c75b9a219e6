//! The event loop: a fleet of devices, one pending event each at most, and
//! the CA they share.
//!
//! A device costs nothing until it nears its renewal window: its next event
//! is the first online trigger at or after the moment it may try, computed
//! directly from its schedule. The CA decides each request's fate when it
//! arrives, so the loop has only device events. Ties at the same millisecond
//! go by (event kind, device id).

mod device;
mod invariants;

use std::time::Instant;

use rayon::prelude::*;

use crate::engine::{EventQueue, Scheduled, SimDuration, SimTime, Streams};
use crate::metrics::{CaMetrics, CohortCounters};
use crate::model::ca::{CaStage, Outcome};
use crate::model::events::ScheduledEvent;
use crate::model::power::OnOffCursor;
use crate::model::Scenario;

pub use device::Device;
use device::{CohortPlan, Next};

/// Options that change how a run is computed, never what it computes.
#[derive(Default)]
pub struct RunOptions {
    /// Worker threads for the parallel phases (`None`: rayon's default).
    pub threads: Option<usize>,
    /// Check runtime invariants (always on in debug builds).
    pub check_invariants: bool,
    /// Called now and then with the progress of simulated time.
    pub progress: Option<Box<dyn FnMut(Progress) + Send>>,
}

#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub now: SimTime,
    pub horizon: SimTime,
    pub events: u64,
}

/// Everything a run produced; reports are computed from it.
pub struct RunResult {
    pub scenario: Scenario,
    pub cohorts: Vec<CohortCounters>,
    pub ca: CaMetrics,
    pub ca_workers: u32,
    pub events: u64,
    pub wall_time: std::time::Duration,
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A bug in certfleet, caught by a runtime check: the device (if one
    /// is involved), the simulated time, what went wrong.
    #[error(
        "invariant violated at simulated {at}{}: {what}",
        device.map(|d| format!(" for device {d}")).unwrap_or_default()
    )]
    Invariant {
        device: Option<u64>,
        at: String,
        what: String,
    },
    #[error("could not start {threads} worker threads: {source}")]
    Threads {
        threads: usize,
        source: rayon::ThreadPoolBuildError,
    },
    #[error("interrupted at simulated time {at}")]
    Interrupted { at: String },
}

pub struct Simulation<'s> {
    scenario: &'s Scenario,
    plans: Vec<CohortPlan<'s>>,
    devices: Vec<Device>,
    cursors: Vec<OnOffCursor>,
    queue: EventQueue,
    ca: CaStage,
    ca_metrics: CaMetrics,
    counters: Vec<CohortCounters>,
    horizon: SimTime,
    check_invariants: bool,
    /// With invariant checks: when each device's last CA request was
    /// answered (a device has at most one request in flight).
    answered: Vec<SimTime>,
    /// With invariant checks: the time of the last event processed.
    last_event: SimTime,
}

/// How many minutes the CA's per-minute series may cover: the horizon, the
/// client timeout (answers to the last requests) and a day of margin for
/// answers that come late without a timeout.
pub fn series_minutes(scenario: &Scenario) -> usize {
    use crate::engine::time::{MS_PER_DAY, MS_PER_MINUTE};
    let timeout = scenario.ca.timeout.map_or(0, |t| t.ms());
    let ms = scenario
        .horizon
        .ms()
        .saturating_add(timeout)
        .saturating_add(MS_PER_DAY);
    usize::try_from(ms / MS_PER_MINUTE + 1).unwrap_or(usize::MAX)
}

const KIND_TRY: u64 = 0;
const KIND_RECOVER: u64 = 1;

fn event_key(kind: u64, device: u64) -> u64 {
    (kind << 48) | device
}

impl<'s> Simulation<'s> {
    /// Runs a scenario to its horizon.
    pub fn run(scenario: &Scenario, options: RunOptions) -> Result<RunResult, RunError> {
        Self::run_until(scenario, options, &|| false)
    }

    /// Runs a scenario, stopping with `RunError::Interrupted` when `stop`
    /// says so (checked every few thousand events).
    pub fn run_until(
        scenario: &Scenario,
        mut options: RunOptions,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<RunResult, RunError> {
        let started = Instant::now();
        let pool = match options.threads {
            Some(n) => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|source| RunError::Threads { threads: n, source })?,
            ),
            None => None,
        };
        let build =
            || Simulation::new(scenario, options.check_invariants || cfg!(debug_assertions));
        let mut sim = match &pool {
            Some(pool) => pool.install(build),
            None => build(),
        };
        let progress = options.progress.take();
        sim.event_loop(progress, stop)?;
        let events = sim.queue.processed();
        let result = match &pool {
            Some(pool) => pool.install(|| sim.finish(events)),
            None => sim.finish(events),
        }?;
        Ok(RunResult {
            wall_time: started.elapsed(),
            ..result
        })
    }

    fn new(scenario: &'s Scenario, check_invariants: bool) -> Self {
        let streams = Streams::new(scenario.seed);
        let calendar = scenario.calendar();
        let horizon = scenario.horizon_end();
        let mut plans = Vec::with_capacity(scenario.cohorts.len());
        let (mut first, mut cursors_len) = (0u64, 0usize);
        for (index, cohort) in scenario.cohorts.iter().enumerate() {
            let plan = CohortPlan::new(
                scenario,
                index,
                cohort,
                streams,
                calendar,
                horizon,
                first,
                cursors_len,
            );
            first += cohort.count;
            if plan.needs_cursor() {
                cursors_len += cohort.count as usize;
            }
            plans.push(plan);
        }

        // Initial certificates and first events, in parallel: each device is
        // a pure function of (seed, device), so the thread count cannot matter.
        let mut devices: Vec<Device> = Vec::with_capacity(first as usize);
        let mut cursors = vec![OnOffCursor::default(); cursors_len];
        let mut initial: Vec<Scheduled> = Vec::with_capacity(first as usize);
        let mut cursor_rest = cursors.as_mut_slice();
        for plan in &plans {
            let count = plan.count as usize;
            let (mine, rest) = if plan.needs_cursor() {
                cursor_rest.split_at_mut(count)
            } else {
                (&mut [][..], cursor_rest)
            };
            cursor_rest = rest;
            let born: Vec<(Device, Option<Scheduled>)> = if mine.is_empty() {
                (0..count)
                    .into_par_iter()
                    .map(|i| plan.initial(i as u64, &mut OnOffCursor::default()))
                    .collect()
            } else {
                mine.par_iter_mut()
                    .enumerate()
                    .map(|(i, cur)| plan.initial(i as u64, cur))
                    .collect()
            };
            for (device, event) in born {
                devices.push(device);
                initial.extend(event);
            }
        }

        let (mut outages, mut degraded) = (Vec::new(), Vec::new());
        for event in &scenario.events {
            match event {
                ScheduledEvent::Outage { .. } => outages.push(event.window(calendar)),
                ScheduledEvent::Degraded { capacity, .. } => {
                    degraded.push((event.window(calendar), *capacity))
                }
            }
        }
        let ca = CaStage::new(scenario.ca.clone(), streams, outages, degraded);
        let minutes = (scenario.horizon.ms() / crate::engine::time::MS_PER_MINUTE + 1) as usize;
        let mut ca_metrics = CaMetrics::new(minutes);
        ca_metrics.minutes.limit = Some(series_minutes(scenario));
        let counters = scenario
            .cohorts
            .iter()
            .map(|c| CohortCounters {
                devices: c.count,
                ..Default::default()
            })
            .collect();
        Simulation {
            scenario,
            plans,
            devices,
            cursors,
            queue: EventQueue::from_events(initial),
            ca,
            ca_metrics,
            counters,
            horizon,
            check_invariants,
            last_event: SimTime(i64::MIN),
            answered: if check_invariants {
                vec![SimTime(i64::MIN); first as usize]
            } else {
                Vec::new()
            },
        }
    }

    fn violation(&self, device: Option<u64>, at: SimTime, what: impl Into<String>) -> RunError {
        invariants::violation(device, self.scenario.calendar().format(at), what)
    }

    fn event_loop(
        &mut self,
        mut progress: Option<Box<dyn FnMut(Progress) + Send>>,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), RunError> {
        const REPORT_EVERY: u64 = 1 << 14;
        while let Some(ev) = self.queue.pop() {
            if ev.at >= self.horizon {
                break;
            }
            let device = ev.key & ((1 << 48) - 1);
            if self.check_invariants {
                if ev.at < self.last_event {
                    return Err(self.violation(
                        Some(device),
                        ev.at,
                        format!(
                            "time went backwards: event after one at {}",
                            self.scenario.calendar().format(self.last_event)
                        ),
                    ));
                }
                self.last_event = ev.at;
            }
            match ev.key >> 48 {
                KIND_TRY => self.on_try(device, ev.at)?,
                KIND_RECOVER => self.on_recover(device, ev.at)?,
                other => unreachable!("unknown event kind {other}"),
            }
            if self.queue.processed() % REPORT_EVERY == 0 {
                if let Some(report) = progress.as_mut() {
                    report(Progress {
                        now: ev.at,
                        horizon: self.horizon,
                        events: self.queue.processed(),
                    });
                }
                if stop() {
                    return Err(RunError::Interrupted {
                        at: self.scenario.calendar().format(ev.at),
                    });
                }
            }
        }
        if let Some(report) = progress.as_mut() {
            report(Progress {
                now: self.horizon,
                horizon: self.horizon,
                events: self.queue.processed(),
            });
        }
        Ok(())
    }

    fn plan_of(&self, device: u64) -> usize {
        self.devices[device as usize].cohort as usize
    }

    fn schedule(&mut self, device: u64, now: SimTime, next: Next) -> Result<(), RunError> {
        if self.check_invariants {
            if let Next::Try(at) | Next::Recover(at) = next {
                if at < now {
                    return Err(self.violation(
                        Some(device),
                        now,
                        format!(
                            "next event scheduled into the past, at {}",
                            self.scenario.calendar().format(at)
                        ),
                    ));
                }
            }
        }
        match next {
            Next::Try(at) => self.queue.push(at.max(now), event_key(KIND_TRY, device)),
            Next::Recover(at) => self
                .queue
                .push(at.max(now), event_key(KIND_RECOVER, device)),
            Next::Nothing => {}
        }
        Ok(())
    }

    /// Asks the device's cohort plan for its next event after `earliest`.
    fn plan_next(&mut self, device: u64, earliest: SimTime) -> Next {
        let plan = &self.plans[self.plan_of(device)];
        let local = device - plan.first;
        let state = self.devices[device as usize];
        let mut cursor = plan.cursor(&mut self.cursors, local);
        let next = plan.next_after(local, &mut cursor, &state, earliest);
        plan.store_cursor(&mut self.cursors, local, cursor);
        next
    }

    /// The client wakes up at a trigger and tries to renew.
    fn on_try(&mut self, device: u64, now: SimTime) -> Result<(), RunError> {
        let p = self.plan_of(device);
        let plan = &self.plans[p];
        let local = device - plan.first;
        let state = self.devices[device as usize];
        self.counters[p].tries += 1;
        match plan.judge(&state, now) {
            device::Judgement::NotEligible => {
                self.counters[p].not_eligible += 1;
                self.after_failure(device, now, now)?;
            }
            device::Judgement::Expired => {
                self.counters[p].refused_expired += 1;
                let mut cursor = plan.cursor(&mut self.cursors, local);
                let next = plan.strand(local, &mut cursor, &state, now);
                plan.store_cursor(&mut self.cursors, local, cursor);
                self.schedule(device, now, next)?;
            }
            device::Judgement::Submit => {
                if self.check_invariants && now < self.answered[device as usize] {
                    return Err(self.violation(
                        Some(device),
                        now,
                        format!(
                            "a second request while the one answered at {} is in flight",
                            self.scenario
                                .calendar()
                                .format(self.answered[device as usize])
                        ),
                    ));
                }
                let response = self.ca.submit(now, &mut self.ca_metrics);
                if self.check_invariants {
                    let c = self.ca_metrics.counts;
                    if c.arrivals != c.ended() || response.at < now {
                        return Err(self.violation(
                            Some(device),
                            now,
                            format!(
                                "CA request not conserved: {response:?} for a request at this time, counts {c:?}"
                            ),
                        ));
                    }
                    self.answered[device as usize] = response.at;
                }
                match response.outcome {
                    Outcome::Served => self.issue(device, response.at)?,
                    failure => {
                        let c = &mut self.counters[p];
                        match failure {
                            Outcome::Refused => c.ca_refused += 1,
                            Outcome::TimedOut => c.ca_timed_out += 1,
                            _ => c.ca_failed_outage += 1,
                        }
                        self.after_failure(device, now, response.at)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The help desk re-enrolls a stranded device.
    fn on_recover(&mut self, device: u64, now: SimTime) -> Result<(), RunError> {
        let p = self.plan_of(device);
        self.counters[p].manual_recoveries += 1;
        self.devices[device as usize].recovering = true;
        self.on_try(device, now)
    }

    /// A failed try: the retry gate holds the next one back.
    fn after_failure(
        &mut self,
        device: u64,
        tried_at: SimTime,
        answered_at: SimTime,
    ) -> Result<(), RunError> {
        let retry = self.plans[self.plan_of(device)].retry_interval();
        let earliest = answered_at
            .max(tried_at + retry)
            .max(tried_at + SimDuration(1));
        let next = self.plan_next(device, earliest);
        self.schedule(device, tried_at, next)
    }

    /// A new certificate is issued to the device at `at`.
    fn issue(&mut self, device: u64, at: SimTime) -> Result<(), RunError> {
        let p = self.plan_of(device);
        let plan = &self.plans[p];
        let old = self.devices[device as usize];
        if self.check_invariants && at < old.cert.issued {
            return Err(self.violation(
                Some(device),
                at,
                format!(
                    "new certificate overlaps the current one, issued later at {}",
                    self.scenario.calendar().format(old.cert.issued)
                ),
            ));
        }
        let counters = &mut self.counters[p];
        counters.renewals += 1;
        if at > old.cert.expiry {
            // The device went without a valid certificate for a while.
            let from = old.cert.expiry.max(SimTime::ZERO);
            let to = at.min(self.horizon);
            if from < self.horizon {
                counters.devices_expired += u64::from(!old.expired_ever);
                counters.expired_time = counters.expired_time + to.since(from);
                counters.mark_invalid(from.day(), Some(to.day()));
            }
        }
        let d = &mut self.devices[device as usize];
        d.expired_ever |= at > old.cert.expiry && old.cert.expiry < self.horizon;
        d.cert = plan.new_certificate(at);
        d.recovering = false;
        let next = self.plan_next(device, at);
        self.schedule(device, at, next)
    }

    /// Closes the books at the horizon.
    fn finish(mut self, events: u64) -> Result<RunResult, RunError> {
        let horizon = self.horizon;
        let per_cohort: Vec<CohortCounters> = self
            .plans
            .par_iter()
            .map(|plan| {
                let devices =
                    &self.devices[plan.first as usize..(plan.first + plan.count) as usize];
                let mut end = CohortCounters::default();
                for d in devices {
                    if d.cert.expiry < horizon {
                        let from = d.cert.expiry.max(SimTime::ZERO);
                        end.invalid_at_end += 1;
                        end.devices_expired += u64::from(!d.expired_ever);
                        end.expired_time = end.expired_time + horizon.since(from);
                        end.mark_invalid(from.day(), None);
                        if plan.is_stranded_at(d, horizon) {
                            end.stranded_at_end += 1;
                        }
                    }
                }
                end
            })
            .collect();
        for (counters, end) in self.counters.iter_mut().zip(&per_cohort) {
            counters.add(end);
        }
        self.ca_metrics.minutes.equalise();
        if self.check_invariants {
            invariants::check_totals(
                self.scenario,
                &self.counters,
                &self.ca_metrics,
                &self.scenario.calendar().format(horizon),
            )?;
        }
        Ok(RunResult {
            scenario: self.scenario.clone(),
            cohorts: self.counters,
            ca_workers: self.ca.workers(),
            ca: self.ca_metrics,
            events,
            wall_time: std::time::Duration::ZERO,
        })
    }
}
