//! The event loop: a fleet of devices, one pending event each at most, and
//! the stages (CA, and any proxy or connector before it) they share.
//!
//! A device costs nothing until it nears its renewal window: its next event
//! is the first online trigger at or after the moment it may try, computed
//! directly from its schedule. Each stage decides a request's fate when it
//! arrives, so stages need no events of their own; a request moving on to
//! the next stage is an event at the time it leaves the previous one.
//! Ties at the same millisecond go by (event kind, generation, device id).

mod device;
mod invariants;

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;

use crate::engine::time::MS_PER_MINUTE;
use crate::engine::{EventQueue, Scheduled, SimDuration, SimTime, Streams};
use crate::metrics::{CaMetrics, CohortCounters};
use crate::model::ca::{CaConfig, CaStage, Outcome};
use crate::model::events::ScheduledEvent;
use crate::model::power::OnOffCursor;
use crate::model::{purpose, Scenario};

pub use device::Device;
use device::{CohortPlan, Judgement, Next};

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
    pub metrics: CaMetrics,
}

/// Everything a run produced; reports are computed from it.
pub struct RunResult {
    pub scenario: Scenario,
    pub cohorts: Vec<CohortCounters>,
    /// The CA (the last stage of every route).
    pub ca: CaMetrics,
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
    stages: Vec<CaStage>,
    stage_metrics: Vec<CaMetrics>,
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

        let stage_of = |name: &str, config: &CaConfig| {
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
            CaStage::new(
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
                let mut m = CaMetrics::new(minutes).until(horizon);
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

    /// A trigger fires: the client tries.
    fn on_try(&mut self, device: u64, now: SimTime) {
        let p = self.plan_index(device);
        self.counters[p].tries += 1;
        let state = self.devices[device as usize];
        match self.plans[p].judge(&state, now) {
            Judgement::NotEligible => {
                self.counters[p].not_eligible += 1;
                self.after_failure(device, now, now);
            }
            Judgement::Expired => {
                self.counters[p].refused_expired += 1;
                let plan = &self.plans[p];
                let local = device - plan.first;
                let mut cursor = plan.cursor(&self.cursors, local);
                let next = plan.strand(local, &mut cursor, &state, now);
                plan.store_cursor(&mut self.cursors, local, cursor);
                self.push(device, now, next);
            }
            Judgement::Submit => {
                if self.check_invariants && self.in_flight.contains_key(&device) {
                    self.fail(Some(device), now, "a second request while one is in flight");
                }
                let flight = InFlight {
                    try_at: now,
                    attempt: 1,
                    hop: 0,
                    issued: now,
                };
                self.start_attempt(device, now, flight);
            }
        }
    }

    fn on_attempt(&mut self, device: u64, now: SimTime) {
        if let Some(flight) = self.in_flight.remove(&device) {
            self.start_attempt(device, now, InFlight { hop: 0, ..flight });
        }
    }

    fn on_hop(&mut self, device: u64, now: SimTime) {
        if let Some(flight) = self.in_flight.remove(&device) {
            self.arrive(device, now, flight);
        }
    }

    fn challenge_deadline(&self, device: u64, flight: &InFlight) -> Option<SimTime> {
        let plan = &self.plans[self.plan_index(device)];
        plan.server.challenge_validity.map(|v| flight.try_at + v)
    }

    /// One attempt of a try leaves the device.
    fn start_attempt(&mut self, device: u64, now: SimTime, flight: InFlight) {
        if self
            .challenge_deadline(device, &flight)
            .is_some_and(|deadline| now > deadline)
        {
            // The challenge expired before this attempt: it is wasted.
            let p = self.plan_index(device);
            self.counters[p].challenge_expired += 1;
            self.attempt_failed(device, now, flight);
            return;
        }
        self.arrive(device, now, flight);
    }

    /// The request reaches the stage at `flight.hop` of its route.
    fn arrive(&mut self, device: u64, now: SimTime, mut flight: InFlight) {
        let p = self.plan_index(device);
        let route_len = self.plans[p].route.len();
        let stage = self.plans[p].route[flight.hop];
        let deadline = self.challenge_deadline(device, &flight);
        let response = self.stages[stage].submit(now, deadline, &mut self.stage_metrics[stage]);
        match response.outcome {
            Outcome::Served if flight.hop + 1 < route_len => {
                flight.hop += 1;
                self.in_flight.insert(device, flight);
                self.push_kind(Kind::Hop, device, response.at);
            }
            Outcome::Served => self.served(device, response.at, flight),
            failure => {
                let c = &mut self.counters[p];
                match failure {
                    Outcome::Refused => c.ca_refused += 1,
                    Outcome::TimedOut => c.ca_timed_out += 1,
                    Outcome::ChallengeExpired => c.challenge_expired += 1,
                    _ => c.ca_failed_outage += 1,
                }
                self.attempt_failed(device, response.at, flight);
            }
        }
    }

    /// An attempt failed at `at`: another attempt, or the try has failed.
    fn attempt_failed(&mut self, device: u64, at: SimTime, flight: InFlight) {
        let plan = &self.plans[self.plan_index(device)];
        if flight.attempt < plan.spec.client.attempts {
            let next_at = at + plan.spec.client.attempt_spacing;
            self.in_flight.insert(
                device,
                InFlight {
                    attempt: flight.attempt + 1,
                    ..flight
                },
            );
            self.push_kind(Kind::Attempt, device, next_at);
        } else {
            self.after_failure(device, flight.try_at, at);
        }
    }

    /// The CA issued the certificate at `at`; the device may get it later.
    fn served(&mut self, device: u64, at: SimTime, flight: InFlight) {
        let p = self.plan_index(device);
        let plan = &self.plans[p];
        let local = device - plan.first;
        let (issued, pickup_from) = match plan.approval(local, at) {
            None => (at, None),
            Some(Ok(approved)) => (approved, Some(approved)),
            Some(Err(dropped)) => {
                // Pending too long: the request is dropped, the client starts over.
                self.after_failure(device, flight.try_at, dropped);
                return;
            }
        };
        let pickup_from = pickup_from.or(plan.delivers_at_checkin().then_some(at));
        let Some(from) = pickup_from else {
            self.issue(device, at, issued);
            return;
        };
        // Picked up at the device's next check-in.
        let state = self.devices[device as usize];
        let mut cursor = plan.cursor(&self.cursors, local);
        let checkin = plan.next_checkin(local, &mut cursor, &state, from);
        plan.store_cursor(&mut self.cursors, local, cursor);
        if let Some(checkin) = checkin {
            self.in_flight.insert(device, InFlight { issued, ..flight });
            self.push_kind(Kind::Deliver, device, checkin);
        }
    }

    fn on_deliver(&mut self, device: u64, now: SimTime) {
        if let Some(flight) = self.in_flight.remove(&device) {
            self.issue(device, now, flight.issued);
        }
    }

    /// The help desk re-enrolls a stranded device.
    fn on_recover(&mut self, device: u64, now: SimTime) {
        let p = self.plan_index(device);
        self.counters[p].manual_recoveries += 1;
        self.devices[device as usize].recovering = true;
        self.on_try(device, now);
    }

    /// A failed try: the retry gate holds the next one back.
    fn after_failure(&mut self, device: u64, tried_at: SimTime, answered_at: SimTime) {
        let retry = self.plans[self.plan_index(device)].retry_interval();
        let earliest = answered_at
            .max(tried_at + retry)
            .max(tried_at + SimDuration(1));
        let next = self.plan_next(device, earliest);
        self.push(device, tried_at, next);
    }

    /// When the device's current certificate stops being valid.
    fn invalid_from(&self, device: u64) -> SimTime {
        let expiry = self.devices[device as usize].cert.expiry;
        self.revoked.get(&device).map_or(expiry, |&r| r.min(expiry))
    }

    /// The device holds a new certificate (issued at `issued`) from `at`.
    fn issue(&mut self, device: u64, at: SimTime, issued: SimTime) {
        let p = self.plan_index(device);
        let old = self.devices[device as usize];
        if self.check_invariants && (issued < old.cert.issued || at < issued) {
            let calendar = self.scenario.calendar();
            let what = format!(
                "new certificate (issued {}) overlaps or precedes the current one (issued {})",
                calendar.format(issued),
                calendar.format(old.cert.issued)
            );
            self.fail(Some(device), at, what);
            return;
        }
        let invalid_from = self.invalid_from(device);
        let revoked_at = self.revoked.remove(&device);
        let horizon = self.horizon;
        let forget_after = self.plans[p].forget_after();
        let counters = &mut self.counters[p];
        counters.renewals += 1;
        if at > invalid_from && invalid_from < horizon {
            // The device went without a valid certificate for a while.
            let from = invalid_from.max(SimTime::ZERO);
            let to = at.min(horizon);
            counters.expired_time = counters.expired_time + to.since(from);
            counters.mark_invalid(from.day(), Some(to.day()));
            if old.cert.expiry < at {
                counters.devices_expired += u64::from(!old.expired_ever);
            }
            if revoked_at.is_some_and(|r| r < at) {
                counters.revoked_unreplaced += 1;
            }
            if forget_after.is_some_and(|f| at >= old.cert.expiry + f) {
                counters.records_deleted += 1;
            }
        }
        let plan = &self.plans[p];
        let d = &mut self.devices[device as usize];
        d.expired_ever |= old.cert.expiry < at && old.cert.expiry < horizon;
        d.cert = plan.new_certificate(issued);
        d.recovering = false;
        d.forced = false;
        let next = self.plan_next(device, at);
        self.push(device, at, next);
    }

    /// A template bump or mass revocation reaches the fleet.
    fn on_fleet_event(&mut self, index: usize, now: SimTime) {
        let event = &self.scenario.events[index];
        let streams = Streams::new(self.scenario.seed);
        for p in 0..self.plans.len() {
            if !event.applies_to(&self.plans[p].spec.name) {
                continue;
            }
            let (first, count) = (self.plans[p].first, self.plans[p].count);
            for device in first..first + count {
                let force = match *event {
                    ScheduledEvent::TemplateBump { .. } => true,
                    ScheduledEvent::MassRevocation {
                        share, deadline, ..
                    } => {
                        let chosen =
                            streams.unit(device, purpose::REVOCATION, index as u64) < share;
                        if !chosen || self.devices[device as usize].cert.issued >= now {
                            continue;
                        }
                        let revoke_at = now + deadline;
                        let current = self.revoked.get(&device).copied().unwrap_or(SimTime::MAX);
                        self.revoked.insert(device, current.min(revoke_at));
                        self.counters[p].revoked += 1;
                        // Only ARI clients learn of it before their normal renewal.
                        self.plans[p].is_ari()
                    }
                    _ => false,
                };
                if force {
                    self.force_renewal(device, now);
                }
            }
        }
    }

    /// The device should renew at its next trigger, whatever its window.
    fn force_renewal(&mut self, device: u64, now: SimTime) {
        let d = &mut self.devices[device as usize];
        d.forced = true;
        if self.in_flight.contains_key(&device) {
            // A request is under way; its outcome reschedules the device.
            return;
        }
        d.generation = d.generation.wrapping_add(1);
        let next = self.plan_next(device, now);
        self.push(device, now, next);
    }

    /// Closes the books at the horizon.
    fn finish(mut self, events: u64) -> Result<RunResult, RunError> {
        let horizon = self.horizon;
        let revoked = &self.revoked;
        let devices = &self.devices;
        let per_cohort: Vec<CohortCounters> = self
            .plans
            .par_iter()
            .map(|plan| {
                let mut end = CohortCounters::default();
                for (i, d) in devices[plan.first as usize..(plan.first + plan.count) as usize]
                    .iter()
                    .enumerate()
                {
                    let id = plan.first + i as u64;
                    let revoked_at = revoked.get(&id).copied();
                    let invalid_from = revoked_at.map_or(d.cert.expiry, |r| r.min(d.cert.expiry));
                    if invalid_from >= horizon {
                        continue;
                    }
                    let from = invalid_from.max(SimTime::ZERO);
                    end.invalid_at_end += 1;
                    end.expired_time = end.expired_time + horizon.since(from);
                    end.mark_invalid(from.day(), None);
                    if d.cert.expiry < horizon {
                        end.devices_expired += u64::from(!d.expired_ever);
                        if plan.is_stranded_at(d, horizon) {
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
        for m in &mut self.stage_metrics {
            m.minutes.equalise();
        }
        if self.check_invariants {
            let at = self.scenario.calendar().format(horizon);
            invariants::check_totals(self.scenario, &self.counters, &self.stage_metrics, &at)?;
        }
        let mut metrics = std::mem::take(&mut self.stage_metrics).into_iter();
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
            ca_workers: self.stages[0].workers(),
            ca,
            stages,
            events,
            wall_time: std::time::Duration::ZERO,
        })
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
