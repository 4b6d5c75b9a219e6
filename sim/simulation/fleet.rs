//! The devices' half of a run: their state, their pending events, the
//! requests they have under way, and what happened to them (per cohort).

use std::collections::HashMap;

use rayon::prelude::*;

use crate::engine::{EventQueue, Scheduled, SimTime, Streams};
use crate::metrics::CohortCounters;
use crate::model::events::ScheduledEvent;
use crate::model::power::OnOffCursor;
use crate::model::stage::{Outcome, Response, Ticket};
use crate::model::Scenario;

use super::device::{CohortPlan, Device, Next};
use super::events::{decode, event_key, scheduled, Kind};
use super::{invariants, RunError};

/// A try in progress: which attempt, which hop of its route it is at, the
/// answer it is waiting for, and (once issued, awaiting delivery) when its
/// certificate was issued.
#[derive(Clone, Copy, Debug)]
pub(super) struct InFlight {
    pub try_at: SimTime,
    pub attempt: u32,
    /// Position in the cohort's route.
    pub hop: usize,
    /// The answer of the stage at `hop` (set when the stage has decided).
    pub outcome: Outcome,
    /// When the certificate was issued, once it has been (the device is
    /// waiting for its delivery or for the CA manager's approval).
    pub issued: Option<SimTime>,
}

/// A request on its way to a stage.
#[derive(Clone, Copy, Debug)]
pub(super) struct Arrival {
    pub stage: usize,
    pub at: SimTime,
    pub device: u64,
    pub ticket: Ticket,
}

pub(super) struct Fleet<'s> {
    pub scenario: &'s Scenario,
    pub plans: Vec<CohortPlan<'s>>,
    devices: Vec<Device>,
    /// On/off schedule state of the devices of `on_off` cohorts.
    pub cursors: Vec<OnOffCursor>,
    pub queue: EventQueue,
    pub counters: Vec<CohortCounters>,
    pub in_flight: HashMap<u64, InFlight>,
    /// Devices whose current certificate is revoked, and from when.
    pub revoked: HashMap<u64, SimTime>,
    /// Requests sent by the event being handled, for the stages.
    pub outbox: Vec<Arrival>,
    pub horizon: SimTime,
    pub check_invariants: bool,
    /// The first invariant violation found (the loop stops on it).
    pub violation: Option<RunError>,
    /// With invariant checks: the time of the last event processed.
    last_event: SimTime,
}

impl<'s> Fleet<'s> {
    /// Every device with its initial certificate and first event. Runs on
    /// the current rayon pool.
    pub fn new(scenario: &'s Scenario, check_invariants: bool) -> Self {
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
        let counters = scenario
            .cohorts
            .iter()
            .map(|c| CohortCounters {
                devices: c.count,
                ..Default::default()
            })
            .collect();
        Fleet {
            scenario,
            plans,
            devices,
            cursors,
            queue: EventQueue::from_events(horizon, initial),
            counters,
            in_flight: HashMap::new(),
            revoked: HashMap::new(),
            outbox: Vec::new(),
            horizon,
            check_invariants,
            violation: None,
            last_event: SimTime(i64::MIN),
        }
    }

    /// Handles one event; requests it sends wait in `outbox`.
    pub fn handle(&mut self, ev: Scheduled) {
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
        } else if generation == self.device(device).generation {
            match kind {
                Kind::Try => self.on_try(device, ev.at),
                Kind::Attempt => self.on_attempt(device, ev.at),
                Kind::Respond => self.on_respond(device, ev.at),
                Kind::Deliver => self.on_deliver(device, ev.at),
                Kind::Recover => self.on_recover(device, ev.at),
                Kind::Fleet => unreachable!("handled above"),
            }
        }
    }

    /// A stage has decided a request of `device`: the answer reaches the
    /// device at its time (never, if that is past the horizon).
    pub fn answer(&mut self, device: u64, response: Response) {
        if let Some(flight) = self.in_flight.get_mut(&device) {
            flight.outcome = response.outcome;
            self.push_kind(Kind::Respond, device, response.at);
        } else {
            self.fail(Some(device), response.at, "an answer to no request");
        }
    }

    /// Records an invariant violation; the event loop stops on the first.
    pub fn fail(&mut self, device: Option<u64>, at: SimTime, what: impl Into<String>) {
        if self.violation.is_none() {
            self.violation = Some(invariants::violation(
                device,
                self.scenario.calendar().format(at),
                what,
            ));
        }
    }

    /// The device's state (a copy: change it with [`Fleet::update`]).
    pub fn device(&self, id: u64) -> Device {
        self.devices[id as usize]
    }

    /// The states of devices `first..first + count`, in order.
    pub fn devices_in(&self, first: u64, count: u64) -> impl Iterator<Item = Device> + '_ {
        self.devices[first as usize..(first + count) as usize]
            .iter()
            .copied()
    }

    /// Changes the device's state.
    pub fn update(&mut self, id: u64, change: impl FnOnce(&mut Device)) {
        change(&mut self.devices[id as usize]);
    }

    pub fn plan_index(&self, device: u64) -> usize {
        self.device(device).cohort as usize
    }

    /// Schedules the device's next step (replacing none: a device has at
    /// most one pending event).
    pub fn push(&mut self, device: u64, now: SimTime, next: Next) {
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
        let generation = self.device(device).generation;
        if let Some(ev) = scheduled(device, generation, next) {
            self.queue.push(ev.at.max(now), ev.key);
        }
    }

    pub fn push_kind(&mut self, kind: Kind, device: u64, at: SimTime) {
        let generation = self.device(device).generation;
        self.queue.push(at, event_key(kind, generation, device));
    }

    /// Asks the device's cohort plan for its next step after `earliest`.
    pub fn plan_next(&mut self, device: u64, earliest: SimTime) -> Next {
        let plan = &self.plans[self.plan_index(device)];
        let local = device - plan.first;
        let state = self.device(device);
        let mut cursor = plan.cursor(&self.cursors, local);
        let next = plan.next_after(local, &mut cursor, &state, earliest);
        plan.store_cursor(&mut self.cursors, local, cursor);
        next
    }
}
