//! Scenario events that reach the whole fleet: template bumps and mass
//! revocations.

use crate::engine::random::mix64;
use crate::engine::{SimTime, Streams};
use crate::metrics::Counter;
use crate::model::events::ScheduledEvent;
use crate::model::purpose;

use super::shard::Shard;

impl Shard<'_> {
    /// A template bump or mass revocation reaches the fleet.
    pub(super) fn on_fleet_event(&mut self, index: usize, now: SimTime) {
        let event = &self.scenario.events[index];
        for p in 0..self.plans.len() {
            if !event.applies_to(&self.plans[p].spec.name) {
                continue;
            }
            let plan = &self.plans[p];
            let from = plan.first.max(self.first);
            let to = (plan.first + plan.count).min(self.first + self.count);
            for device in from..to {
                match *event {
                    ScheduledEvent::TemplateBump { .. } => self.force_renewal(device, now),
                    ScheduledEvent::MassRevocation {
                        share, deadline, ..
                    } => {
                        let issued = self.device(device).cert.issued;
                        if issued >= now || !self.chosen(index, device, issued, share) {
                            continue;
                        }
                        self.revoke(device, now + deadline);
                        // Only ARI clients learn of it before their normal renewal.
                        if self.plans[p].is_ari() {
                            self.force_renewal(device, now);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Whether mass revocation `index` picks the device's certificate
    /// issued at `issued`: one draw per certificate, so a certificate still
    /// on its way to the device when the revocation is announced gets its
    /// own chance of being picked.
    fn chosen(&self, index: usize, device: u64, issued: SimTime, share: f64) -> bool {
        let draw = mix64(index as u64 ^ mix64(issued.ms() as u64));
        Streams::new(self.scenario.seed).unit(device, purpose::REVOCATION, draw) < share
    }

    /// The device's current certificate stops being valid at `at` (or
    /// earlier, if an earlier revocation already picked it: a certificate
    /// is counted as revoked once).
    fn revoke(&mut self, device: u64, at: SimTime) {
        let p = self.plan_index(device);
        match self.revoked.get_mut(&device) {
            Some(when) => *when = (*when).min(at),
            None => {
                self.revoked.insert(device, at);
                self.counters[p].count(Counter::Revoked, at);
            }
        }
    }

    /// A certificate issued at `issued` reached the device at `received`:
    /// revocations announced in between picked it like every certificate
    /// that existed then (it was issued, just not delivered yet).
    pub(super) fn revoke_if_announced_since(
        &mut self,
        device: u64,
        issued: SimTime,
        received: SimTime,
    ) {
        let p = self.plan_index(device);
        let calendar = self.scenario.calendar();
        for (index, event) in self.scenario.events.iter().enumerate() {
            let ScheduledEvent::MassRevocation {
                share, deadline, ..
            } = *event
            else {
                continue;
            };
            let announced = event.instant(calendar).max(SimTime::ZERO);
            if issued >= announced
                || announced > received
                || !event.applies_to(&self.plans[p].spec.name)
                || !self.chosen(index, device, issued, share)
            {
                continue;
            }
            // Not invalid before the device holds it.
            self.revoke(device, (announced + deadline).max(received));
            if self.plans[p].is_ari() {
                // Seen at the next ARI poll, like the rest of the fleet.
                self.update(device, |d| d.forced = true);
            }
        }
    }

    /// The device should renew at its next trigger, whatever its window.
    fn force_renewal(&mut self, device: u64, now: SimTime) {
        let in_flight = self.in_flight.contains_key(&device);
        self.update(device, |d| {
            d.forced = true;
            // With a request under way, its outcome reschedules the device;
            // otherwise the pending event is replaced.
            if !in_flight {
                d.generation = d.generation.wrapping_add(1);
            }
        });
        if in_flight {
            return;
        }
        let next = self.plan_next(device, now);
        self.push(device, now, next);
    }
}
