//! How a try travels: the server's verdict, attempts, stages in series,
//! issuance, delivery, and what a failure does to the next try.

use crate::engine::{SimDuration, SimTime};
use crate::metrics::Counter;
use crate::model::stage::Outcome;

use super::device::Judgement;
use super::{InFlight, Kind, Simulation};

impl Simulation<'_> {
    /// A trigger fires: the client tries.
    pub(super) fn on_try(&mut self, device: u64, now: SimTime) {
        let p = self.plan_index(device);
        self.counters[p].count(Counter::Tries, now);
        let state = self.devices[device as usize];
        match self.plans[p].judge(&state, now) {
            Judgement::NotEligible => {
                self.counters[p].count(Counter::NotEligible, now);
                self.after_failure(device, now, now);
            }
            Judgement::Expired => {
                self.counters[p].count(Counter::RefusedExpired, now);
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

    pub(super) fn on_attempt(&mut self, device: u64, now: SimTime) {
        if let Some(flight) = self.in_flight.remove(&device) {
            self.start_attempt(device, now, InFlight { hop: 0, ..flight });
        }
    }

    pub(super) fn on_hop(&mut self, device: u64, now: SimTime) {
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
            self.counters[p].count(Counter::ChallengeExpired, now);
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
                let counter = match failure {
                    Outcome::Refused => Counter::CaRefused,
                    Outcome::TimedOut => Counter::CaTimedOut,
                    Outcome::ChallengeExpired => Counter::ChallengeExpired,
                    _ => Counter::CaFailedOutage,
                };
                self.counters[p].count(counter, response.at);
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

    pub(super) fn on_deliver(&mut self, device: u64, now: SimTime) {
        if let Some(flight) = self.in_flight.remove(&device) {
            self.issue(device, now, flight.issued);
        }
    }

    /// The help desk re-enrolls a stranded device.
    pub(super) fn on_recover(&mut self, device: u64, now: SimTime) {
        let p = self.plan_index(device);
        self.counters[p].count(Counter::ManualRecoveries, now);
        self.devices[device as usize].recovering = true;
        self.on_try(device, now);
    }

    /// A failed try: the retry gate holds the next one back.
    pub(super) fn after_failure(&mut self, device: u64, tried_at: SimTime, answered_at: SimTime) {
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
        counters.count(Counter::Renewals, at);
        if revoked_at.is_some() {
            counters.revoked_replaced(at);
        }
        if at > invalid_from && invalid_from < horizon {
            // The device went without a valid certificate for a while.
            let from = invalid_from.max(SimTime::ZERO);
            let to = at.min(horizon);
            counters.expired_time = counters.expired_time + to.since(from);
            counters.mark_invalid(from, Some(to));
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
}
