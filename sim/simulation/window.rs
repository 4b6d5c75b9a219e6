//! The event loop, in parallel: devices are split into shards that run
//! side by side through windows of simulated time, and the stages they
//! share see every request of a window in one fixed order.
//!
//! A window `[start, end)` runs in up to three passes:
//! 1. **Devices** (parallel): each shard handles its events due before
//!    `end`. A device that sends a request waits for its answer and has no
//!    other event, so nothing a shard does depends on the stages yet.
//! 2. **Stages** (sequential): the window's requests, from every shard,
//!    reach their stages in (time, event key) order — the order of a
//!    sequential run. An answer due before `end` that could lead the device
//!    to send another request before `end` (the next hop of a route, an
//!    attempt a minute later, a retry with no gate) is acted on here, in
//!    the same order; one whose device cannot ask again before `end` (a
//!    certificate issued for a year) is handed back to its shard.
//! 3. **Catch-up** (parallel): shards act on the answers handed back. By
//!    the bound above none of them sends a request before `end`, so the
//!    stages never see a request out of order.
//!
//! Template bumps and mass revocations happen between windows, so every
//! device has acted on everything before them. Nothing here depends on the
//! number of shards or on where windows end: a device's events run in time
//! order whichever pass handles them, and each stage sees its requests in
//! (time, key) order. Outputs are the same at any thread count.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::engine::time::{MS_PER_DAY, MS_PER_HOUR};
use crate::engine::{Scheduled, SimDuration, SimTime, Streams};
use crate::model::events::ScheduledEvent;
use crate::model::Scenario;

use super::accounting::finish;
use super::device::CohortPlan;
use super::events::{decode, event_key, Kind};
use super::network::StageNetwork;
use super::shard::{Answer, Arrival, InFlight, Shard};
use super::{invariants, Progress, RunError, RunResult};

/// Windows hold about this many events (they widen and narrow to it).
const TARGET_EVENTS: u64 = 1 << 17;
const FIRST_WIDTH: SimDuration = SimDuration(MS_PER_HOUR);
const MAX_WIDTH: SimDuration = SimDuration(30 * MS_PER_DAY);

/// Runs a scenario on the current rayon pool.
pub(super) fn run(
    scenario: &Scenario,
    check_invariants: bool,
    mut progress: Option<Box<dyn FnMut(Progress) + Send>>,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<RunResult, RunError> {
    let streams = Streams::new(scenario.seed);
    let mut plans = Vec::with_capacity(scenario.cohorts.len());
    let mut total = 0u64;
    for index in 0..scenario.cohorts.len() {
        let plan = CohortPlan::new(scenario, index, streams, total);
        total += plan.count;
        plans.push(plan);
    }
    // One shard per thread: results do not depend on it.
    let shards_wanted = rayon::current_num_threads().max(1) as u64;
    let shard_size = total.div_ceil(shards_wanted).max(1);
    let shard_count = total.div_ceil(shard_size).max(1);
    let mut shards: Vec<Shard> = (0..shard_count)
        .into_par_iter()
        .map(|i| {
            let first = i * shard_size;
            let count = shard_size.min(total - first.min(total));
            Shard::new(scenario, &plans, first, count, check_invariants, stop)
        })
        .collect();
    if stop() {
        // During set-up: simulated time has not started.
        return Err(RunError::Interrupted {
            at: scenario.calendar().format(SimTime::ZERO),
        });
    }
    let mut windows = Windows {
        shards: &mut shards,
        network: StageNetwork::new(scenario),
        shard_size,
        loop_events: 0,
    };
    let horizon = scenario.horizon_end();
    let fleet_events = fleet_events(scenario);
    let mut next_fleet = 0;
    let mut start = SimTime::ZERO;
    let mut width = FIRST_WIDTH;
    let interrupted = |at: SimTime| RunError::Interrupted {
        at: scenario.calendar().format(at),
    };
    loop {
        if stop() {
            return Err(interrupted(start));
        }
        let fleet_at = fleet_events.get(next_fleet).map_or(horizon, |&(at, _)| at);
        let from = start;
        let end = (from + width).min(fleet_at).min(horizon);
        let before = windows.events();
        windows.devices(end, stop);
        if stop() {
            return Err(interrupted(from));
        }
        windows.check()?;
        if windows.stages(end)? {
            windows.devices(end, stop);
            if stop() {
                return Err(interrupted(from));
            }
            windows.check_caught_up(end)?;
        }
        while let Some(&(at, index)) = fleet_events.get(next_fleet).filter(|&&(at, _)| at == end) {
            windows
                .shards
                .par_iter_mut()
                .for_each(|s| s.on_fleet_event(index, at));
            windows.loop_events += 1;
            next_fleet += 1;
        }
        windows.check()?;
        let handled = windows.events() - before;
        if let Some(report) = progress.as_mut() {
            report(Progress {
                now: end,
                horizon,
                events: windows.events(),
            });
        }
        if end >= horizon {
            break;
        }
        start = end;
        width = if handled < TARGET_EVENTS / 4 {
            SimDuration(width.ms().saturating_mul(2)).min(MAX_WIDTH)
        } else if handled > TARGET_EVENTS * 4 {
            SimDuration((width.ms() / 2).max(1))
        } else {
            width
        };
    }
    let events = windows.events();
    let network = windows.network;
    finish(&shards, network, events)
}

/// Template bumps and mass revocations before the horizon, in the order
/// they happen (ties by their order in the scenario, like their event keys).
fn fleet_events(scenario: &Scenario) -> Vec<(SimTime, usize)> {
    let calendar = scenario.calendar();
    let horizon = scenario.horizon_end();
    let mut out: Vec<(SimTime, usize)> = scenario
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(
                e,
                ScheduledEvent::TemplateBump { .. } | ScheduledEvent::MassRevocation { .. }
            )
        })
        .map(|(i, e)| (e.instant(calendar).max(SimTime::ZERO), i))
        .filter(|&(at, _)| at < horizon)
        .collect();
    out.sort_unstable();
    out
}

struct Windows<'w, 'a> {
    shards: &'w mut [Shard<'a>],
    network: StageNetwork,
    shard_size: u64,
    /// Events handled outside the shards' queues: in the stage pass, and
    /// the fleet events between windows.
    loop_events: u64,
}

impl<'a> Windows<'_, 'a> {
    fn events(&self) -> u64 {
        self.loop_events
            + self
                .shards
                .iter()
                .map(|s| s.queue.processed() + s.handed_back_events)
                .sum::<u64>()
    }

    fn shard_of(&mut self, device: u64) -> &mut Shard<'a> {
        &mut self.shards[(device / self.shard_size) as usize]
    }

    /// Pass 1 and 3: every shard handles its events due before `end`.
    fn devices(&mut self, end: SimTime, stop: &(dyn Fn() -> bool + Sync)) {
        self.shards
            .par_iter_mut()
            .for_each(|s| s.run_before(end, stop));
    }

    /// The first invariant violation any shard found, in shard order.
    fn check(&mut self) -> Result<(), RunError> {
        match self.shards.iter_mut().find_map(|s| s.violation.take()) {
            Some(violation) => Err(violation),
            None => Ok(()),
        }
    }

    /// After the catch-up pass no request may be left for the stages: the
    /// answers handed back were those that cannot lead to one before `end`.
    fn check_caught_up(&mut self, end: SimTime) -> Result<(), RunError> {
        self.check()?;
        let stray = self.shards.iter().find_map(|s| s.outbox.first().copied());
        match stray {
            Some(a) if a.at < end => Err(invariants::violation(
                Some(a.device),
                self.shards[0].scenario.calendar().format(a.at),
                "a request sent before the end of its window by an answer handed back \
                 to the device's shard (the bound in next_request_from is wrong)",
            )),
            _ => Ok(()),
        }
    }

    /// Pass 2: the window's requests reach their stages in (time, key)
    /// order, with the answers that may lead to more requests before `end`
    /// acted on in the same order. Returns whether answers were handed back
    /// to shards for the catch-up pass.
    fn stages(&mut self, end: SimTime) -> Result<bool, RunError> {
        let mut arrivals: Vec<Arrival> = Vec::new();
        for s in self.shards.iter_mut() {
            arrivals.append(&mut s.outbox);
            s.hold_before = Some(end);
            s.last_event = SimTime(i64::MIN);
        }
        // Each shard's requests are already in order: a stable sort merges
        // the runs.
        arrivals.sort_by_key(|a| (a.at, a.key));
        let mut held: BinaryHeap<Reverse<Scheduled>> = BinaryHeap::new();
        let mut handed_back = false;
        let mut next = 0;
        loop {
            let arrival_first = match (arrivals.get(next), held.peek()) {
                (Some(a), Some(Reverse(e))) => (a.at, a.key) < (e.at, e.key),
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if arrival_first {
                handed_back |= self.submit(arrivals[next], end, &mut held);
                next += 1;
                continue;
            }
            let Reverse(ev) = held.pop().expect("peeked above");
            self.loop_events += 1;
            let (_, _, device) = decode(ev.key);
            let shard = self.shard_of(device);
            shard.handle(ev);
            let sent = shard.outbox.pop();
            held.extend(shard.held.drain(..).map(Reverse));
            // Sent now, with this event's key: nothing before it is left.
            if let Some(a) = sent {
                handed_back |= self.submit(a, end, &mut held);
            }
        }
        for s in self.shards.iter_mut() {
            s.hold_before = None;
        }
        self.check()?;
        Ok(handed_back)
    }

    /// One request reaches its stage; its answer goes to the stage pass
    /// (`held`) or to the device's shard. Returns whether it was handed back
    /// for the catch-up pass.
    fn submit(
        &mut self,
        a: Arrival,
        end: SimTime,
        held: &mut BinaryHeap<Reverse<Scheduled>>,
    ) -> bool {
        let response = self.network.submit(a.stage, a.at, a.ticket);
        let flight = InFlight {
            outcome: response.outcome,
            ..a.flight
        };
        let key = event_key(Kind::Respond, a.generation, a.device);
        let shard = self.shard_of(a.device);
        if response.at >= end {
            shard.await_answer(a.device, flight);
            shard.queue.push(response.at, key);
            false
        } else if shard.next_request_from(&a, response) < end {
            shard.await_answer(a.device, flight);
            held.push(Reverse(Scheduled {
                at: response.at,
                key,
            }));
            false
        } else {
            shard.handed_back.push(Answer {
                at: response.at,
                device: a.device,
                key,
                flight,
            });
            true
        }
    }
}
