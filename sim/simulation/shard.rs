//! The devices' half of a run, a shard at a time: their state, their
//! pending events, the requests they have under way, and what happened to
//! them (per cohort).

use rustc_hash::FxHashMap;

use crate::engine::{EventQueue, Scheduled, SimTime};
use crate::metrics::CohortCounters;
use crate::model::power::OnOffCursor;
use crate::model::stage::{Outcome, Ticket};
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

/// A request on its way to a stage. Stages see arrivals in (time, key)
/// order, `key` being that of the event that sent the request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Arrival {
    pub at: SimTime,
    pub key: u64,
    pub stage: usize,
    pub device: u64,
    /// The device's cohort, and its generation (which cannot change while
    /// the device waits): the stage pass never reads device state.
    pub cohort: u16,
    pub generation: u16,
    pub ticket: Ticket,
    /// The try it belongs to, to act on the answer.
    pub flight: InFlight,
}

/// An answer handed back to the device's shard, with its request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Answer {
    pub at: SimTime,
    pub device: u64,
    pub key: u64,
    pub flight: InFlight,
}

/// A contiguous range of the fleet's devices with everything they own:
/// their state, their pending events, the requests they have under way,
/// their revocations and what happened to them. Shards share nothing
/// mutable, so they run in parallel; they meet the stages only through
/// their outboxes and the answers the stage phase hands back.
pub(super) struct Shard<'a> {
    pub scenario: &'a Scenario,
    pub plans: &'a [CohortPlan<'a>],
    /// The first device of the shard (a fleet-wide id) and how many.
    pub first: u64,
    pub count: u64,
    devices: Vec<Device>,
    /// On/off schedule state of the shard's devices in `on_off` cohorts.
    cursors: Vec<OnOffCursor>,
    /// Per cohort: where its devices' cursors start in `cursors`, counted
    /// from the cohort's first device in this shard.
    cursor_base: Vec<Option<usize>>,
    pub queue: EventQueue,
    /// Per cohort, what happened to the shard's devices.
    pub counters: Vec<CohortCounters>,
    /// Sparse: only devices with a request under way. Keyed by device id
    /// with a fast non-cryptographic hash (ids are not adversarial, and
    /// nothing iterates these maps in an order that reaches an output).
    pub in_flight: FxHashMap<u64, InFlight>,
    /// Devices whose current certificate is revoked, and from when.
    pub revoked: FxHashMap<u64, SimTime>,
    /// Answers due before the window's end that the stage pass handed back
    /// for the catch-up pass, in (time, key) order.
    pub handed_back: Vec<Answer>,
    /// Handed-back answers handled so far (events outside the queue).
    pub handed_back_events: u64,
    /// Requests sent by the events being handled, for the stages.
    pub outbox: Vec<Arrival>,
    /// The key of the event being handled (requests it sends carry it).
    current_key: u64,
    /// While the stage phase works through a window ending here, events
    /// the shard schedules before it are held for the stage phase instead
    /// of going into the queue.
    pub hold_before: Option<SimTime>,
    pub held: Vec<Scheduled>,
    pub horizon: SimTime,
    pub check_invariants: bool,
    /// The first invariant violation found (the loop stops on it).
    pub violation: Option<RunError>,
    /// With invariant checks: the time of the last event handled in the
    /// current pass over the queue.
    pub last_event: SimTime,
}

/// How many handed-back answers ahead the catch-up pass prefetches.
const PREFETCH_AHEAD: usize = 8;

impl<'a> Shard<'a> {
    /// Devices `first..first + count` with their initial certificates and
    /// first events, which go straight into the shard's queue (no second
    /// copy of the fleet is built). Stops early, with the shard incomplete,
    /// when `stop` says so (the caller then abandons the run).
    pub fn new(
        scenario: &'a Scenario,
        plans: &'a [CohortPlan<'a>],
        first: u64,
        count: u64,
        check_invariants: bool,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Self {
        const CHECK_STOP_EVERY: u64 = 1 << 14;
        let horizon = scenario.horizon_end();
        let end = first + count;
        let mut cursor_base = Vec::with_capacity(plans.len());
        let mut cursors_len = 0usize;
        for plan in plans {
            let overlap = plan.first.max(first)..(plan.first + plan.count).min(end);
            if plan.needs_cursor() && !overlap.is_empty() {
                cursor_base.push(Some(cursors_len));
                cursors_len += (overlap.end - overlap.start) as usize;
            } else {
                cursor_base.push(None);
            }
        }
        let mut shard = Shard {
            scenario,
            plans,
            first,
            count,
            devices: Vec::with_capacity(count as usize),
            cursors: vec![OnOffCursor::default(); cursors_len],
            cursor_base,
            queue: EventQueue::for_events(horizon, count),
            counters: scenario
                .cohorts
                .iter()
                .map(|_| CohortCounters::default())
                .collect(),
            in_flight: FxHashMap::default(),
            revoked: FxHashMap::default(),
            handed_back: Vec::new(),
            handed_back_events: 0,
            outbox: Vec::new(),
            current_key: 0,
            hold_before: None,
            held: Vec::new(),
            horizon,
            check_invariants,
            violation: None,
            last_event: SimTime(i64::MIN),
        };
        for plan in plans {
            let overlap = plan.first.max(first)..(plan.first + plan.count).min(end);
            shard.counters[plan.index as usize].devices = overlap.end.saturating_sub(overlap.start);
            for device in overlap {
                if device % CHECK_STOP_EVERY == 0 && stop() {
                    return shard;
                }
                let local = device - plan.first;
                let mut cursor = OnOffCursor::default();
                let (state, next) = plan.initial(local, &mut cursor);
                shard.devices.push(state);
                if let Some(slot) = shard.cursor_slot(device) {
                    shard.cursors[slot] = cursor;
                }
                if let Some(ev) = scheduled(device, 0, next) {
                    shard.queue.push(ev.at, ev.key);
                }
            }
        }
        shard
    }

    /// Where the device's on/off cursor is kept, if its cohort has one.
    fn cursor_slot(&self, device: u64) -> Option<usize> {
        let plan = &self.plans[self.plan_index(device)];
        let base = self.cursor_base[plan.index as usize]?;
        Some(base + (device - plan.first.max(self.first)) as usize)
    }

    /// Runs `f` with the device's cohort plan, its index in the cohort and
    /// its on/off cursor (stored back afterwards).
    pub fn with_plan<T>(
        &mut self,
        device: u64,
        f: impl FnOnce(&CohortPlan<'a>, u64, &mut OnOffCursor) -> T,
    ) -> T {
        let plan = &self.plans[self.plan_index(device)];
        let slot = self.cursor_slot(device);
        let mut cursor = slot.map_or_else(OnOffCursor::default, |i| self.cursors[i]);
        let out = f(plan, device - plan.first, &mut cursor);
        if let Some(i) = slot {
            self.cursors[i] = cursor;
        }
        out
    }

    /// Handles the queue's events due before `end`, in time order. Stops
    /// early on an invariant violation, or when `stop` says so (checked
    /// every few thousand events).
    pub fn run_before(&mut self, end: SimTime, stop: &(dyn Fn() -> bool + Sync)) {
        const CHECK_STOP_EVERY: u64 = 1 << 14;
        self.last_event = SimTime(i64::MIN);
        // Answers handed back come first: they are due before anything the
        // queue still holds for this window, and their devices have no
        // other event until they act on them.
        let mut handed_back = std::mem::take(&mut self.handed_back);
        // In device order, to walk the device states in memory order: each
        // device has one answer at most, and devices do not affect each other.
        handed_back.sort_unstable_by_key(|a| a.device);
        for (i, answer) in handed_back.iter().copied().enumerate() {
            if let Some(ahead) = handed_back.get(i + PREFETCH_AHEAD) {
                self.prefetch(ahead.device);
            }
            self.handed_back_events += 1;
            self.current_key = answer.key;
            self.act_on_answer(answer.device, answer.at, answer.flight);
        }
        handed_back.clear();
        self.handed_back = handed_back;
        self.last_event = SimTime(i64::MIN);
        while let Some(ev) = self.queue.pop_before(end) {
            if let Some(key) = self.queue.peek_key() {
                self.prefetch(decode(key).2);
            }
            self.handle(ev);
            if self.violation.is_some()
                || (self.queue.processed() % CHECK_STOP_EVERY == 0 && stop())
            {
                return;
            }
        }
    }

    /// Handles one event; requests it sends wait in `outbox`.
    pub fn handle(&mut self, ev: Scheduled) {
        let (kind, generation, device) = decode(ev.key);
        self.current_key = ev.key;
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

    /// The key of the event being handled.
    pub fn current_key(&self) -> u64 {
        self.current_key
    }

    /// Keeps a request's answer until its `Respond` event.
    pub fn await_answer(&mut self, device: u64, flight: InFlight) {
        if self.in_flight.insert(device, flight).is_some() {
            self.fail(
                Some(device),
                flight.try_at,
                "two requests under way at once",
            );
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

    /// Asks the CPU to start loading a device's state that will be needed
    /// soon (the catch-up pass knows its next devices in advance; their
    /// states are rarely in cache).
    #[inline]
    fn prefetch(&self, device: u64) {
        #[cfg(target_arch = "x86_64")]
        if let Some(d) = self.devices.get(device.wrapping_sub(self.first) as usize) {
            // SAFETY: a prefetch is a hint; it reads nothing and the pointer
            // is to a live element.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>((d as *const Device).cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = device;
    }

    /// The device's state (a copy: change it with [`Shard::update`]).
    pub fn device(&self, id: u64) -> Device {
        self.devices[(id - self.first) as usize]
    }

    /// The shard's devices with their fleet-wide ids, in order.
    pub fn devices(&self) -> impl Iterator<Item = (u64, Device)> + '_ {
        (self.first..).zip(self.devices.iter().copied())
    }

    /// Changes the device's state.
    pub fn update(&mut self, id: u64, change: impl FnOnce(&mut Device)) {
        change(&mut self.devices[(id - self.first) as usize]);
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
            self.schedule(ev.at.max(now), ev.key);
        }
    }

    pub fn push_kind(&mut self, kind: Kind, device: u64, at: SimTime) {
        let generation = self.device(device).generation;
        self.schedule(at, event_key(kind, generation, device));
    }

    /// Into the queue, or held for the stage phase (see `hold_before`).
    fn schedule(&mut self, at: SimTime, key: u64) {
        match self.hold_before {
            Some(end) if at < end => self.held.push(Scheduled { at, key }),
            _ => self.queue.push(at, key),
        }
    }

    /// Asks the device's cohort plan for its next step after `earliest`.
    pub fn plan_next(&mut self, device: u64, earliest: SimTime) -> Next {
        let state = self.device(device);
        self.with_plan(device, |plan, local, cursor| {
            plan.next_after(local, cursor, &state, earliest)
        })
    }
}
