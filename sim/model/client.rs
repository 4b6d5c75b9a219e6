//! The device side of renewal (MODEL.md §5): when the client wakes up
//! (triggers), from when it wants to renew (renewal rule), whether it may try
//! now (retry gate), and what it does once the certificate has expired.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::dist::{deserialize_dist, DurationDist, TimeOfDay};
use super::power::{Availability, DeviceClock, OnOffCursor, OnlineSpan};
use super::purpose;
use crate::engine::{SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientProfile {
    /// When the client wakes up. A trigger only acts while the device is online.
    pub triggers: Vec<Trigger>,
    /// From when the client wants to renew.
    pub renewal: RenewalRule,
    /// Retry gate: after a failed try, no new try before this much time has
    /// passed since that try (Intune's `RetryInterval` measured from
    /// `RenewTimeStamp`). `0s`: try at every trigger.
    #[serde(default)]
    pub retry_interval: SimDuration,
    /// What the client does once its certificate has expired.
    #[serde(default)]
    pub on_expiry: OnExpiry,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Fires `delay` (plus up to `jitter`) after each boot or resume.
    Boot {
        #[serde(default)]
        delay: SimDuration,
        #[serde(default)]
        jitter: SimDuration,
    },
    /// Fires every `every` on the wall clock, at a per-device random phase or
    /// at a fixed UTC time of day, each firing delayed by up to `jitter`.
    Periodic {
        every: SimDuration,
        #[serde(default)]
        phase: Phase,
        #[serde(default)]
        jitter: SimDuration,
    },
}

/// Where a periodic trigger's grid sits on the wall clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// Each device draws its own offset in [0, every).
    #[default]
    Random,
    /// Ticks at this UTC time of day (and every `every` from it).
    At(TimeOfDay),
}

impl Serialize for Phase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Phase::Random => s.serialize_str("random"),
            Phase::At(t) => s.collect_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Phase {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Phase;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"random\" or a UTC time of day such as \"00:00\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Phase, E> {
                if v == "random" {
                    Ok(Phase::Random)
                } else {
                    TimeOfDay::parse(v)
                        .map(Phase::At)
                        .map_err(|e| E::custom(format!("{e}, or \"random\"")))
                }
            }
        }
        d.deserialize_str(V)
    }
}

/// From when a certificate is due for renewal, given its issuance and expiry.
/// Used by clients (when to start trying) and servers (when to accept).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum RenewalRule {
    /// A fixed time before expiry (Intune's `RenewalPeriod`, certbot legacy's 30 days).
    BeforeExpiry { window: SimDuration },
    /// When this share of the lifetime remains (Intune SCEP's threshold,
    /// certbot's 1/3).
    FractionRemaining { fraction: f64 },
    /// ADCS autoenrollment: at max(issued + 80 %·L, expiry − renewal period),
    /// whichever leaves the shorter remaining time (seed 004).
    Adcs {
        renewal_period: SimDuration,
        #[serde(default = "default_adcs_elapsed")]
        elapsed_fraction: f64,
    },
    /// No restriction: due at any time (a server that accepts any renewal).
    Anytime,
}

fn default_adcs_elapsed() -> f64 {
    0.8
}

impl RenewalRule {
    /// The instant from which renewal is due.
    pub fn opens_at(&self, issued: SimTime, expiry: SimTime) -> SimTime {
        let lifetime = expiry.since(issued);
        match *self {
            RenewalRule::BeforeExpiry { window } => expiry - window,
            RenewalRule::FractionRemaining { fraction } => expiry - lifetime.mul_f64(fraction),
            RenewalRule::Adcs {
                renewal_period,
                elapsed_fraction,
            } => (issued + lifetime.mul_f64(elapsed_fraction)).max(expiry - renewal_period),
            RenewalRule::Anytime => issued,
        }
    }

    /// How long before expiry the window opens for a certificate of `lifetime`.
    pub fn lead(&self, lifetime: SimDuration) -> SimDuration {
        let issued = SimTime::ZERO;
        let expiry = issued + lifetime;
        expiry.since(self.opens_at(issued, expiry))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum OnExpiry {
    /// The client cannot renew an expired certificate (Intune MDM, seed 000):
    /// only the server's `accept_expired_for` can save it.
    #[default]
    Stranded,
    /// The client enrolls anew at its next trigger (ADCS autoenrollment).
    NewRequest,
    /// Stranded, then re-enrolled by hand: `delay` (help-desk time) after the
    /// device is next online, at the first moment it is online again.
    ManualRecovery {
        #[serde(deserialize_with = "deserialize_dist")]
        delay: DurationDist,
    },
}

impl ClientProfile {
    /// The first trigger firing at or after `t` while the device is online,
    /// before `limit`.
    pub fn next_firing(
        &self,
        clock: &DeviceClock,
        availability: &Availability,
        cursor: &mut OnOffCursor,
        t: SimTime,
        limit: SimTime,
    ) -> Option<SimTime> {
        let mut from = t;
        loop {
            let span = availability.next_span(clock, cursor, from, limit)?;
            let best = self
                .triggers
                .iter()
                .enumerate()
                .filter_map(|(i, trig)| trig.first_firing(clock, i as u64, &span, t))
                .min();
            if let Some(fire) = best {
                return (fire < limit).then_some(fire);
            }
            if span.until >= limit {
                return None;
            }
            from = span.until;
        }
    }
}

impl Trigger {
    /// The first firing inside `span` at or after `t`, if any.
    fn first_firing(
        &self,
        clock: &DeviceClock,
        index: u64,
        span: &OnlineSpan,
        t: SimTime,
    ) -> Option<SimTime> {
        let lo = span.from.max(t);
        match *self {
            Trigger::Boot { delay, jitter } => {
                let boot = span.booted_at?;
                let extra = draw_jitter(clock, index, boot.0, jitter);
                let fire = boot + delay + extra;
                (fire >= lo && fire < span.until).then_some(fire)
            }
            Trigger::Periodic {
                every,
                phase,
                jitter,
            } => {
                let every = every.ms().max(1);
                let offset = match phase {
                    Phase::Random => {
                        (clock
                            .streams
                            .unit(clock.device, purpose::TRIGGER_PHASE, index)
                            * every as f64) as i64
                    }
                    Phase::At(tod) => tod.0.ms(),
                };
                // Ticks sit at unix time k·every + offset. Jitter never
                // exceeds `every` (validated), so firings stay in order.
                let to_unix = clock.calendar.start_unix_ms();
                let lo_unix = lo.0 + to_unix;
                let mut k = (lo_unix - jitter.ms() - offset).div_euclid(every);
                loop {
                    let tick = k * every + offset - to_unix;
                    let fire = SimTime(tick) + draw_jitter(clock, index, k, jitter);
                    if fire >= span.until {
                        return None;
                    }
                    if fire >= lo {
                        return Some(fire);
                    }
                    k += 1;
                }
            }
        }
    }
}

fn draw_jitter(clock: &DeviceClock, trigger: u64, firing: i64, jitter: SimDuration) -> SimDuration {
    if jitter.is_zero() {
        return SimDuration::ZERO;
    }
    let u = clock.streams.unit(
        clock.device,
        purpose::TRIGGER_JITTER,
        (trigger << 48) ^ firing as u64,
    );
    SimDuration((u * jitter.ms() as f64) as i64)
}
