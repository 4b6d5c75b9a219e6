//! The event loop: a fleet of devices, one pending event each at most, and
//! the stages (CA, and any proxy or connector before it) they share.
//!
//! A device costs nothing until it nears its renewal window: its next event
//! is the first online trigger at or after the moment it may try, computed
//! directly from its schedule. Each stage decides a request's fate when it
//! arrives, so stages need no events of their own; a request moving on to
//! the next stage is an event at the time it leaves the previous one.
//! Ties at the same millisecond go by (event kind, generation, device id).

mod accounting;
mod device;
mod fleet_events;
mod invariants;
mod requests;

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;

use crate::engine::time::MS_PER_MINUTE;
use crate::engine::{EventQueue, Scheduled, SimDuration, SimTime, Streams};
use crate::metrics::{CohortCounters, StageMetrics};
use crate::model::events::ScheduledEvent;
use crate::model::power::OnOffCursor;
use crate::model::stage::{Stage, StageConfig};
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

/// What one stage saw.
pub struct StageResult {
    pub name: String,
    pub workers: u32,
    pub metrics: StageMetrics,
}

/// Everything a run produced; reports are computed from it.
pub struct RunResult {
    pub scenario: Scenario,
    pub cohorts: Vec<CohortCounters>,
    /// The CA (the last stage of every route).
    pub ca: StageMetrics,
    pub ca_workers: u32,
    /// Stages before the CA, in `[stages]` order.
    pub stages: Vec<StageResult>,
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

/// A try in progress: which attempt, which stage it is heading for, and
/// (once issued, awaiting delivery) when its certificate was issued.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    try_at: SimTime,
    attempt: u32,
    /// Position in the cohort's route.
    hop: usize,
    issued: SimTime,
}

/// Event kinds, in the order they run when they share a millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A scenario event (template bump, revocation); `device` is its index.
    Fleet = 0,
    /// A request moves on to the next stage.
    Hop = 1,
    /// An issued certificate reaches the device.
    Deliver = 2,
    /// The next attempt of a try (dmcertinst).
    Attempt = 3,
    /// A trigger fires and the client tries.
    Try = 4,
    /// The help desk re-enrolls a stranded device.
    Recover = 5,
}

const DEVICE_BITS: u32 = 40;
const DEVICE_MASK: u64 = (1 << DEVICE_BITS) - 1;

fn event_key(kind: Kind, generation: u16, device: u64) -> u64 {
    ((kind as u64) << 56) | ((generation as u64) << DEVICE_BITS) | device
}

fn decode(key: u64) -> (Kind, u16, u64) {
    let kind = match key >> 56 {
        0 => Kind::Fleet,
        1 => Kind::Hop,
        2 => Kind::Deliver,
        3 => Kind::Attempt,
        4 => Kind::Try,
        _ => Kind::Recover,
    };
    (
        kind,
        ((key >> DEVICE_BITS) & 0xffff) as u16,
        key & DEVICE_MASK,
    )
}

pub struct Simulation<'s> {
    scenario: &'s Scenario,
    plans: Vec<CohortPlan<'s>>,
    devices: Vec<Device>,
    cursors: Vec<OnOffCursor>,
    queue: EventQueue,
    /// Index 0 is the CA; then the `[stages]` in order.
    stages: Vec<Stage>,
    stage_metrics: Vec<StageMetrics>,
    counters: Vec<CohortCounters>,
    in_flight: HashMap<u64, InFlight>,
    /// Devices whose current certificate is revoked, and from when.
    revoked: HashMap<u64, SimTime>,
    horizon: SimTime,
    check_invariants: bool,
    /// The first invariant violation found (the loop stops on it).
    violation: Option<RunError>,
    /// With invariant checks: the time of the last event processed.
    last_event: SimTime,
}

/// How many minutes a stage's per-minute series may cover: the horizon, its
/// client timeout (answers to the last requests) and a day of margin for
/// answers that come late without a timeout.
pub fn series_minutes(scenario: &Scenario, timeout: Option<SimDuration>) -> usize {
    use crate::engine::time::MS_PER_DAY;
    let ms = scenario
        .horizon
        .ms()
        .saturating_add(timeout.map_or(0, |t| t.ms()))
        .saturating_add(MS_PER_DAY);
    usize::try_from(ms / MS_PER_MINUTE + 1).unwrap_or(usize::MAX)
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
        for index in 0..scenario.cohorts.len() {
            let plan = CohortPlan::new(scenario, index, streams, first, cursors_len);
            first += plan.count;
            if plan.needs_cursor() {
                cursors_len += plan.count as usize;
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
            let born: Vec<(Device, Next)> = if mine.is_empty() {
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
            for (i, (device, next)) in born.into_iter().enumerate() {
                devices.push(device);
                initial.extend(scheduled(plan.first + i as u64, 0, next));
            }
        }
        for (index, event) in scenario.events.iter().enumerate() {
            if matches!(
                event,
                ScheduledEvent::TemplateBump { .. } | ScheduledEvent::MassRevocation { .. }
            ) {
                let at = event.instant(calendar).max(SimTime::ZERO);
                initial.push(Scheduled {
                    at,
                    key: event_key(Kind::Fleet, 0, index as u64),
                });
            }
        }

        let stage_of = |name: &str, config: &StageConfig| {
            let (mut outages, mut degraded) = (Vec::new(), Vec::new());
            for event in scenario.events.iter().filter(|e| e.target() == Some(name)) {
                match event {
                    ScheduledEvent::Outage { .. } => outages.push(event.window(calendar)),
                    ScheduledEvent::Degraded { capacity, .. } => {
                        degraded.push((event.window(calendar), *capacity))
                    }
                    _ => {}
                }
            }
            // Each stage draws service times from its own stream family.
            let seed = crate::engine::random::mix64(
                scenario.seed ^ crate::engine::random::mix64(name.len() as u64 ^ hash_name(name)),
            );
            Stage::new(
                config.clone(),
                if name == "ca" {
                    streams
                } else {
                    Streams::new(seed)
                },
                outages,
                degraded,
            )
        };
        let mut stages = vec![stage_of("ca", &scenario.ca)];
        stages.extend(
            scenario
                .stages
                .iter()
                .map(|(name, config)| stage_of(name, config)),
        );
        let minutes = (scenario.horizon.ms() / MS_PER_MINUTE + 1) as usize;
        let configs = std::iter::once(&scenario.ca).chain(scenario.stages.values());
        let stage_metrics = configs
            .map(|config| {
                let mut m = StageMetrics::new(minutes).until(horizon);
                m.minutes.limit = Some(series_minutes(scenario, config.timeout));
                m
            })
            .collect();
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
            queue: EventQueue::from_events(horizon, initial),
            stages,
            stage_metrics,
            counters,
            in_flight: HashMap::new(),
            revoked: HashMap::new(),
            horizon,
            check_invariants,
            violation: None,
            last_event: SimTime(i64::MIN),
        }
    }

    /// Records an invariant violation; the event loop stops on the first.
    fn fail(&mut self, device: Option<u64>, at: SimTime, what: impl Into<String>) {
        if self.violation.is_none() {
            self.violation = Some(invariants::violation(
                device,
                self.scenario.calendar().format(at),
                what,
            ));
        }
    }

    fn event_loop(
        &mut self,
        mut progress: Option<Box<dyn FnMut(Progress) + Send>>,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), RunError> {
        const REPORT_EVERY: u64 = 1 << 14;
        while let Some(ev) = self.queue.pop() {
            let (kind, generation, device) = decode(ev.key);
            if self.check_invariants {
                if ev.at < self.last_event {
                    let last = self.scenario.calendar().format(self.last_event);
                    self.fail(
                        Some(device),
                        ev.at,
                        format!("time went backwards: event after one at {last}"),
                    );
                }
                self.last_event = ev.at;
            }
            if kind == Kind::Fleet {
                self.on_fleet_event(device as usize, ev.at);
            } else if generation == self.devices[device as usize].generation {
                match kind {
                    Kind::Try => self.on_try(device, ev.at),
                    Kind::Attempt => self.on_attempt(device, ev.at),
                    Kind::Hop => self.on_hop(device, ev.at),
                    Kind::Deliver => self.on_deliver(device, ev.at),
                    Kind::Recover => self.on_recover(device, ev.at),
                    Kind::Fleet => unreachable!("handled above"),
                }
            }
            if let Some(violation) = self.violation.take() {
                return Err(violation);
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

    fn plan_index(&self, device: u64) -> usize {
        self.devices[device as usize].cohort as usize
    }

    fn push(&mut self, device: u64, now: SimTime, next: Next) {
        if self.check_invariants {
            if let Next::Try(at) | Next::Recover(at) = next {
                if at < now {
                    let when = self.scenario.calendar().format(at);
                    self.fail(
                        Some(device),
                        now,
                        format!("next event scheduled into the past, at {when}"),
                    );
                }
            }
        }
        let generation = self.devices[device as usize].generation;
        if let Some(ev) = scheduled(device, generation, next) {
            self.queue.push(ev.at.max(now), ev.key);
        }
    }

    fn push_kind(&mut self, kind: Kind, device: u64, at: SimTime) {
        let generation = self.devices[device as usize].generation;
        self.queue.push(at, event_key(kind, generation, device));
    }

    /// Asks the device's cohort plan for its next step after `earliest`.
    fn plan_next(&mut self, device: u64, earliest: SimTime) -> Next {
        let plan = &self.plans[self.plan_index(device)];
        let local = device - plan.first;
        let state = self.devices[device as usize];
        let mut cursor = plan.cursor(&self.cursors, local);
        let next = plan.next_after(local, &mut cursor, &state, earliest);
        plan.store_cursor(&mut self.cursors, local, cursor);
        next
    }
}

/// The event for a device's next step.
fn scheduled(device: u64, generation: u16, next: Next) -> Option<Scheduled> {
    match next {
        Next::Try(at) => Some(Scheduled {
            at,
            key: event_key(Kind::Try, generation, device),
        }),
        Next::Recover(at) => Some(Scheduled {
            at,
            key: event_key(Kind::Recover, generation, device),
        }),
        Next::Nothing => None,
    }
}

/// FNV-1a: a stable hash of a stage name for its random stream family.
fn hash_name(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}
