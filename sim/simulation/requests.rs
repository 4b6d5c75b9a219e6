//! How a try travels: the server's verdict, attempts, stages in series, and
//! what a failure does to the next try.

use crate::engine::{SimDuration, SimTime};
use crate::metrics::Counter;
use crate::model::stage::{Outcome, Response, Ticket};

use super::device::Judgement;
use super::events::Kind;
use super::network::request_index;
use super::shard::{Arrival, InFlight, Shard};

impl Shard<'_> {
    /// A trigger fires: the client tries.
    pub(super) fn on_try(&mut self, device: u64, now: SimTime) {
        let p = self.plan_index(device);
        self.counters[p].count(Counter::Tries, now);
        let state = self.device(device);
        match self.plans[p].judge(&state, now) {
            Judgement::NotEligible => {
                self.counters[p].count(Counter::NotEligible, now);
                self.after_failure(device, now, now);
            }
            Judgement::Expired => {
                self.counters[p].count(Counter::RefusedExpired, now);
                let next = self.with_plan(device, |plan, local, cursor| {
                    plan.strand(local, cursor, &state, now)
                });
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
                    outcome: Outcome::Served,
                    issued: None,
                };
                self.start_attempt(device, now, flight);
            }
        }
    }

    pub(super) fn on_attempt(&mut self, device: u64, now: SimTime) {
        if let Some(flight) = self.in_flight.remove(&device) {
            self.start_attempt(device, now, InFlight { hop: 0, ..flight });
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
            self.counters[p].count(Counter::ChallengeExpired, now);
            self.attempt_failed(device, now, flight);
            return;
        }
        self.arrive(device, now, flight);
    }

    /// The request sets off for the stage at `flight.hop` of its route; the
    /// device waits for the answer. The request carries what the device
    /// needs to act on the answer, so the stages never touch device state.
    fn arrive(&mut self, device: u64, now: SimTime, flight: InFlight) {
        let state = self.device(device);
        let stage = self.plans[state.cohort as usize].route[flight.hop];
        let ticket = Ticket {
            device,
            index: request_index(flight.try_at, flight.attempt, flight.hop),
            challenge_deadline: self.challenge_deadline(device, &flight),
        };
        let arrival = Arrival {
            at: now,
            key: self.current_key(),
            stage,
            device,
            cohort: state.cohort,
            generation: state.generation,
            ticket,
            flight,
        };
        self.outbox.push(arrival);
    }

    /// A stage's answer (noted on the request under way) reaches the device.
    pub(super) fn on_respond(&mut self, device: u64, now: SimTime) {
        match self.in_flight.remove(&device) {
            Some(flight) => self.act_on_answer(device, now, flight),
            None => self.fail(Some(device), now, "an answer without a request under way"),
        }
    }

    /// The device acts on its request's answer (`flight.outcome`): the
    /// request moves on along its route, the certificate is issued, or the
    /// attempt has failed.
    pub(super) fn act_on_answer(&mut self, device: u64, now: SimTime, mut flight: InFlight) {
        let p = self.plan_index(device);
        let route_len = self.plans[p].route.len();
        match flight.outcome {
            Outcome::Served if flight.hop + 1 < route_len => {
                flight.hop += 1;
                self.arrive(device, now, flight);
            }
            Outcome::Served => self.served(device, now, flight),
            failure => {
                let counter = match failure {
                    Outcome::Refused => Counter::CaRefused,
                    Outcome::TimedOut => Counter::CaTimedOut,
                    Outcome::ChallengeExpired => Counter::ChallengeExpired,
                    _ => Counter::CaFailedOutage,
                };
                self.counters[p].count(counter, now);
                self.attempt_failed(device, now, flight);
            }
        }
    }

    /// The earliest time the device can send its next request once it
    /// acts on `response` (already noted on its request under way): a lower
    /// bound the parallel loop uses to let the device act on it later, in
    /// parallel, when the bound lies past the current window. It follows
    /// the paths of `on_respond`, `served`, `attempt_failed` and
    /// `after_failure`; a request delay only adds to it.
    pub(super) fn next_request_from(&self, a: &Arrival, response: Response) -> SimTime {
        let (device, flight) = (a.device, &a.flight);
        let r = response.at;
        let plan = &self.plans[a.cohort as usize];
        let local = device - plan.first;
        match response.outcome {
            // The next hop is a request at once.
            Outcome::Served if flight.hop + 1 < plan.route.len() => r,
            Outcome::Served => {
                let issued = match plan.approval(local, r) {
                    None => r,
                    Some(Ok(approved)) => approved,
                    Some(Err(dropped)) => return dropped,
                };
                // Delivered at once or at a later check-in, the new
                // certificate is not tried for before it is due.
                plan.due(local, &plan.new_certificate(issued)).max(r)
            }
            _ if flight.attempt < plan.spec.client.attempts => r + plan.spec.client.attempt_spacing,
            _ => r
                .max(flight.try_at + plan.retry_interval())
                .max(flight.try_at + SimDuration(1)),
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

    /// A failed try: the retry gate holds the next one back.
    pub(super) fn after_failure(&mut self, device: u64, tried_at: SimTime, answered_at: SimTime) {
        let retry = self.plans[self.plan_index(device)].retry_interval();
        let earliest = answered_at
            .max(tried_at + retry)
            .max(tried_at + SimDuration(1));
        let next = self.plan_next(device, earliest);
        self.push(device, answered_at, next);
    }
}
