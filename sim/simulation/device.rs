//! A device's state and the per-cohort rules that move it: when it next
//! tries, what the server says, when it is stranded.

use crate::engine::{Calendar, SimDuration, SimTime, Streams};
use crate::model::certificate::Certificate;
use crate::model::client::{Delivery, OnExpiry};
use crate::model::power::{Availability, DeviceClock, OnOffCursor, PowerSchedule};
use crate::model::server::{EligibilityPolicy, Verdict};
use crate::model::{purpose, Cohort, Scenario};

use super::network::CA;

/// One device: 24 bytes, so that tens of millions fit in memory.
#[derive(Clone, Copy, Debug)]
pub struct Device {
    pub cert: Certificate,
    pub cohort: u16,
    /// Bumped when the device's pending event is replaced (template bump,
    /// revocation): events carrying an older generation are stale.
    pub generation: u16,
    /// The certificate expired at least once within the horizon.
    pub expired_ever: bool,
    /// Stranded and being re-enrolled by hand: the next try is a new request.
    pub recovering: bool,
    /// The service asked for a re-enrolment (template bump, ARI after a
    /// revocation): due now, accepted whatever the window.
    pub forced: bool,
}

/// What the device does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// A try at this instant (a trigger firing, plus any request delay).
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
    pub scenario: &'s Scenario,
    pub spec: &'s Cohort,
    pub server: &'s EligibilityPolicy,
    pub index: u16,
    pub first: u64,
    pub count: u64,
    /// Stage indices a request passes through, ending with the CA.
    pub route: Vec<usize>,
    streams: Streams,
    calendar: Calendar,
    horizon: SimTime,
}

impl<'s> CohortPlan<'s> {
    pub fn new(scenario: &'s Scenario, index: usize, streams: Streams, first: u64) -> Self {
        let spec = &scenario.cohorts[index];
        let route = spec
            .route
            .iter()
            .map(|name| {
                1 + scenario
                    .stages
                    .get_index_of(name)
                    .expect("routes are validated")
            })
            .chain(std::iter::once(CA))
            .collect();
        CohortPlan {
            scenario,
            spec,
            server: scenario.server_for(spec),
            index: index as u16,
            first,
            count: spec.count,
            route,
            streams,
            calendar: scenario.calendar(),
            horizon: scenario.horizon_end(),
        }
    }

    /// Whether devices of this cohort carry on/off schedule state.
    pub fn needs_cursor(&self) -> bool {
        matches!(self.spec.power, PowerSchedule::OnOff(_))
    }

    pub fn retry_interval(&self) -> SimDuration {
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

    pub fn delivers_at_checkin(&self) -> bool {
        self.spec.client.delivery == Delivery::NextCheckin
    }

    /// A certificate issued at `at`, with the lifetime in force then.
    pub fn new_certificate(&self, at: SimTime) -> Certificate {
        Certificate::new(at, self.scenario.lifetime_at(self.spec, at))
    }

    /// The device's initial certificate and its first step.
    pub fn initial(&self, local: u64, cursor: &mut OnOffCursor) -> (Device, Next) {
        let lead = self.spec.renewal_lead(self.server);
        let mut rng = self.streams.rng(self.first + local, purpose::ENROLLMENT, 0);
        let lifetime = self.scenario.lifetime_at(self.spec, SimTime::ZERO);
        let issued = self
            .spec
            .enrollment
            .draw_issued(&mut rng, self.calendar, lifetime, lead);
        let device = Device {
            cert: self.new_certificate(issued),
            cohort: self.index,
            generation: 0,
            expired_ever: false,
            recovering: false,
            forced: false,
        };
        let next = self.next_after(local, cursor, &device, SimTime::ZERO.max(issued));
        (device, next)
    }

    /// What the server says to a try at `now`.
    pub fn judge(&self, device: &Device, now: SimTime) -> Judgement {
        let expired = now >= device.cert.expiry;
        if device.recovering || (expired && self.makes_new_requests()) {
            // A new enrolment, not a renewal: no window applies.
            return Judgement::Submit;
        }
        match self.server.judge_renewal(&device.cert, now, device.forced) {
            Verdict::Accept => Judgement::Submit,
            Verdict::NotEligible => Judgement::NotEligible,
            Verdict::Expired => Judgement::Expired,
        }
    }

    /// When the client considers `cert` due.
    pub fn due(&self, local: u64, cert: &Certificate) -> SimTime {
        let pick = self.streams.unit(
            self.first + local,
            purpose::RENEWAL_PICK,
            cert.issued.0 as u64,
        );
        self.spec
            .client
            .renewal
            .opens_at(cert.issued, cert.expiry, pick)
    }

    /// The first trigger firing at or after `t`, online, before the horizon.
    pub fn next_checkin(
        &self,
        local: u64,
        cursor: &mut OnOffCursor,
        device: &Device,
        t: SimTime,
    ) -> Option<SimTime> {
        let due = self.due(local, &device.cert);
        self.spec.client.next_firing(
            &self.clock(local),
            &self.availability(),
            cursor,
            t,
            due,
            self.horizon,
        )
    }

    /// The device's next step, trying no earlier than `earliest`.
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
        // A `window_open` trigger is a timer the client set for the renewal
        // instant it knows. A forced renewal (template bump, ARI window moved
        // by a revocation) is only learnt at a poll, a refresh or a boot, so
        // it does not move the timer: only those triggers can act on it.
        let timer = self.due(local, &device.cert);
        let due = if device.forced { earliest } else { timer };
        let wants = due.max(earliest);
        let fire = if device.recovering || self.makes_new_requests() {
            let from = if device.recovering || earliest >= cert.expiry {
                earliest
            } else {
                wants
            };
            client.next_firing(&clock, &availability, cursor, from, timer, self.horizon)
        } else {
            // After this the service no longer talks to the device.
            let cutoff = cert.expiry + self.server.accept_expired_for;
            let found = if wants < cutoff {
                client.next_firing(
                    &clock,
                    &availability,
                    cursor,
                    wants,
                    timer,
                    cutoff.min(self.horizon),
                )
            } else {
                None
            };
            if found.is_none() {
                return self.strand(local, cursor, device, cutoff.max(earliest));
            }
            found
        };
        match fire {
            Some(at) => Next::Try(at + self.request_delay(local, at)),
            None => Next::Nothing,
        }
    }

    /// Delay between a trigger firing at `at` and its request.
    fn request_delay(&self, local: u64, at: SimTime) -> SimDuration {
        match &self.spec.client.request_delay {
            Some(dist) => dist.sample(&mut self.streams.rng(
                self.first + local,
                purpose::REQUEST_DELAY,
                at.0 as u64,
            )),
            None => SimDuration::ZERO,
        }
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

    /// Whether a served request is held for approval, and until when; or
    /// `Err(dropped_at)` when it would wait past `drop_after`.
    pub fn approval(&self, local: u64, served_at: SimTime) -> Option<Result<SimTime, SimTime>> {
        let a = self.server.approval.as_ref()?;
        let device = self.first + local;
        if self
            .streams
            .unit(device, purpose::APPROVAL, served_at.0 as u64)
            >= a.share
        {
            return None;
        }
        let wait = a.delay.sample(&mut self.streams.rng(
            device,
            purpose::APPROVAL_DELAY,
            served_at.0 as u64,
        ));
        Some(if wait > a.drop_after {
            Err(served_at + a.drop_after)
        } else {
            Ok(served_at + wait)
        })
    }

    pub fn is_ari(&self) -> bool {
        self.spec.client.ari
    }

    pub fn forget_after(&self) -> Option<SimDuration> {
        self.server.forget_after_expired
    }
}
