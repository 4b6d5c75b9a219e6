//! A device's state and the per-cohort rules that move it: when it next
//! tries, what the server says, when it is stranded.

use crate::engine::{Calendar, Scheduled, SimTime, Streams};
use crate::model::certificate::Certificate;
use crate::model::client::OnExpiry;
use crate::model::power::{Availability, DeviceClock, OnOffCursor, PowerSchedule};
use crate::model::server::{EligibilityPolicy, Verdict};
use crate::model::{purpose, Cohort, Scenario};

/// One device: 24 bytes, so that tens of millions fit in memory.
#[derive(Clone, Copy, Debug)]
pub struct Device {
    pub cert: Certificate,
    pub cohort: u16,
    /// The certificate expired at least once within the horizon.
    pub expired_ever: bool,
    /// Stranded and being re-enrolled by hand: the next try is a new request.
    pub recovering: bool,
}

/// What the device does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// A try at this trigger firing.
    Try(SimTime),
    /// A manual re-enrolment at this instant.
    Recover(SimTime),
    /// Nothing more before the horizon.
    Nothing,
}

/// What the enrollment service makes of a try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judgement {
    Submit,
    NotEligible,
    Expired,
}

/// A cohort's rules, bound to the run's randomness and calendar.
pub struct CohortPlan<'s> {
    pub spec: &'s Cohort,
    pub server: &'s EligibilityPolicy,
    pub index: u16,
    pub first: u64,
    pub count: u64,
    cursor_base: usize,
    streams: Streams,
    calendar: Calendar,
    horizon: SimTime,
}

impl<'s> CohortPlan<'s> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scenario: &'s Scenario,
        index: usize,
        spec: &'s Cohort,
        streams: Streams,
        calendar: Calendar,
        horizon: SimTime,
        first: u64,
        cursor_base: usize,
    ) -> Self {
        CohortPlan {
            spec,
            server: scenario.server_for(spec),
            index: index as u16,
            first,
            count: spec.count,
            cursor_base,
            streams,
            calendar,
            horizon,
        }
    }

    /// Whether devices of this cohort carry on/off schedule state.
    pub fn needs_cursor(&self) -> bool {
        matches!(self.spec.power, PowerSchedule::OnOff(_))
    }

    pub fn cursor(&self, cursors: &mut [OnOffCursor], local: u64) -> OnOffCursor {
        if self.needs_cursor() {
            cursors[self.cursor_base + local as usize]
        } else {
            OnOffCursor::default()
        }
    }

    pub fn store_cursor(&self, cursors: &mut [OnOffCursor], local: u64, cursor: OnOffCursor) {
        if self.needs_cursor() {
            cursors[self.cursor_base + local as usize] = cursor;
        }
    }

    pub fn retry_interval(&self) -> crate::engine::SimDuration {
        self.spec.client.retry_interval
    }

    fn clock(&self, local: u64) -> DeviceClock<'_> {
        DeviceClock {
            streams: &self.streams,
            calendar: self.calendar,
            device: self.first + local,
        }
    }

    fn availability(&self) -> Availability<'s> {
        Availability {
            schedule: &self.spec.power,
            episodes: &self.spec.offline_episodes,
        }
    }

    fn makes_new_requests(&self) -> bool {
        self.spec.client.on_expiry == OnExpiry::NewRequest
    }

    pub fn new_certificate(&self, at: SimTime) -> Certificate {
        Certificate::new(at, self.spec.lifetime)
    }

    /// The device's initial certificate and its first event.
    pub fn initial(&self, local: u64, cursor: &mut OnOffCursor) -> (Device, Option<Scheduled>) {
        let lead = self.spec.renewal_lead(self.server);
        let mut rng = self.streams.rng(self.first + local, purpose::ENROLLMENT, 0);
        let issued =
            self.spec
                .enrollment
                .draw_issued(&mut rng, self.calendar, self.spec.lifetime, lead);
        let device = Device {
            cert: self.new_certificate(issued),
            cohort: self.index,
            expired_ever: false,
            recovering: false,
        };
        let event = match self.next_after(local, cursor, &device, SimTime::ZERO.max(issued)) {
            Next::Try(at) => Some(Scheduled {
                at,
                key: super::event_key(super::KIND_TRY, self.first + local),
            }),
            Next::Recover(at) => Some(Scheduled {
                at,
                key: super::event_key(super::KIND_RECOVER, self.first + local),
            }),
            Next::Nothing => None,
        };
        (device, event)
    }

    /// What the server says to a try at `now`.
    pub fn judge(&self, device: &Device, now: SimTime) -> Judgement {
        let expired = now >= device.cert.expiry;
        if device.recovering || (expired && self.makes_new_requests()) {
            // A new enrolment, not a renewal: no window applies.
            return Judgement::Submit;
        }
        match self.server.judge_renewal(&device.cert, now) {
            Verdict::Accept => Judgement::Submit,
            Verdict::NotEligible => Judgement::NotEligible,
            Verdict::Expired => Judgement::Expired,
        }
    }

    /// The device's next event, trying no earlier than `earliest`.
    pub fn next_after(
        &self,
        local: u64,
        cursor: &mut OnOffCursor,
        device: &Device,
        earliest: SimTime,
    ) -> Next {
        let clock = self.clock(local);
        let availability = self.availability();
        let client = &self.spec.client;
        let cert = &device.cert;
        let wants = client
            .renewal
            .opens_at(cert.issued, cert.expiry)
            .max(earliest);
        if device.recovering || self.makes_new_requests() {
            let from = if device.recovering || earliest >= cert.expiry {
                earliest
            } else {
                wants
            };
            return client
                .next_firing(&clock, &availability, cursor, from, self.horizon)
                .map_or(Next::Nothing, Next::Try);
        }
        // After this the service no longer talks to the device.
        let cutoff = cert.expiry + self.server.accept_expired_for;
        if wants < cutoff {
            if let Some(fire) = client.next_firing(
                &clock,
                &availability,
                cursor,
                wants,
                cutoff.min(self.horizon),
            ) {
                return Next::Try(fire);
            }
        }
        self.strand(local, cursor, device, cutoff.max(earliest))
    }

    /// The device is stranded from `at` on: only a manual fix brings it back.
    pub fn strand(
        &self,
        local: u64,
        cursor: &mut OnOffCursor,
        device: &Device,
        at: SimTime,
    ) -> Next {
        let OnExpiry::ManualRecovery { delay } = &self.spec.client.on_expiry else {
            return Next::Nothing;
        };
        if at >= self.horizon {
            return Next::Nothing;
        }
        let clock = self.clock(local);
        let availability = self.availability();
        // The user notices when next online; the fix needs the device online.
        let Some(noticed) = availability.next_span(&clock, cursor, at, self.horizon) else {
            return Next::Nothing;
        };
        let wait = delay.sample(&mut self.streams.rng(
            clock.device,
            purpose::RECOVERY_DELAY,
            device.cert.expiry.0 as u64,
        ));
        availability
            .next_span(&clock, cursor, noticed.from + wait, self.horizon)
            .map_or(Next::Nothing, |span| Next::Recover(span.from))
    }

    /// Without a valid certificate at `t` and no automatic way back.
    pub fn is_stranded_at(&self, device: &Device, t: SimTime) -> bool {
        t >= device.cert.expiry
            && !self.makes_new_requests()
            && t >= device.cert.expiry + self.server.accept_expired_for
    }
}
