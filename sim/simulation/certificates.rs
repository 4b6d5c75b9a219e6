//! A certificate reaches a device: issuance, approval, delivery at the next
//! check-in, manual recovery, and what the device went through without one.

use crate::engine::SimTime;
use crate::metrics::Counter;

use super::events::Kind;
use super::shard::{InFlight, Shard};

impl Shard<'_> {
    /// The CA issued the certificate at `at`; the device may get it later.
    pub(super) fn served(&mut self, device: u64, at: SimTime, flight: InFlight) {
        let p = self.plan_index(device);
        let plan = &self.plans[p];
        let local = device - plan.first;
        let (issued, pickup_from) = match plan.approval(local, at) {
            None => (at, None),
            Some(Ok(approved)) => (approved, Some(approved)),
            Some(Err(dropped)) => {
                // Pending too long: the request is dropped, the client starts over.
                self.counters[p].count(Counter::ApprovalsDropped, dropped);
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
        let state = self.device(device);
        let checkin = self.with_plan(device, |plan, local, cursor| {
            plan.next_checkin(local, cursor, &state, from)
        });
        // Kept under way (and counted as such at the end) even when the
        // device is not online again before the horizon.
        let issued = Some(issued);
        self.in_flight.insert(device, InFlight { issued, ..flight });
        if let Some(checkin) = checkin {
            self.push_kind(Kind::Deliver, device, checkin);
        }
    }

    pub(super) fn on_deliver(&mut self, device: u64, now: SimTime) {
        match self.in_flight.remove(&device) {
            Some(InFlight {
                issued: Some(issued),
                ..
            }) => self.issue(device, now, issued),
            _ => self.fail(Some(device), now, "a delivery with no certificate issued"),
        }
    }

    /// The help desk re-enrolls a stranded device.
    pub(super) fn on_recover(&mut self, device: u64, now: SimTime) {
        let p = self.plan_index(device);
        self.counters[p].count(Counter::ManualRecoveries, now);
        self.update(device, |d| d.recovering = true);
        self.on_try(device, now);
    }

    /// When the device's current certificate stops being valid.
    pub(super) fn invalid_from(&self, device: u64) -> SimTime {
        let expiry = self.device(device).cert.expiry;
        self.revoked.get(&device).map_or(expiry, |&r| r.min(expiry))
    }

    /// The device holds a new certificate (issued at `issued`) from `at`.
    fn issue(&mut self, device: u64, at: SimTime, issued: SimTime) {
        let p = self.plan_index(device);
        let old = self.device(device);
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
        let cert = self.plans[p].new_certificate(issued);
        self.update(device, |d| {
            d.expired_ever |= old.cert.expiry < at && old.cert.expiry < horizon;
            d.cert = cert;
            d.recovering = false;
            d.forced = false;
        });
        // A certificate issued before a revocation but received after it
        // (PKCS delivery at check-in, ADCS approval) was revoked with the rest.
        self.revoke_if_announced_since(device, issued, at);
        let next = self.plan_next(device, at);
        self.push(device, at, next);
    }
}
