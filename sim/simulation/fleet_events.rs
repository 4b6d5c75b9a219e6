//! Scenario events that reach the whole fleet: template bumps and mass
//! revocations.

use crate::engine::{SimTime, Streams};
use crate::model::events::ScheduledEvent;
use crate::model::purpose;

use super::Simulation;

impl Simulation<'_> {
    /// A template bump or mass revocation reaches the fleet.
    pub(super) fn on_fleet_event(&mut self, index: usize, now: SimTime) {
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
                        self.counters[p].count(crate::metrics::Counter::Revoked, now);
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
}
