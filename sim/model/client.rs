//! The device side of renewal (docs/model.md, "Renewal clients"): when the client wakes up
//! (triggers), from when it wants to renew (renewal rule), whether it may try
//! now (retry gate), and what it does once the certificate has expired.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::clock::TimeOfDay;
use super::dist::{deserialize_dist, DurationDist};
use super::power::{Availability, DeviceClock, OnOffCursor, OnlineSpan};
use super::purpose;
use crate::engine::{SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// Delay between a trigger and the request it sends (certbot sleeps a
    /// uniform 1–480 s before renewing). Absent: none.
    #[serde(
        default,
        deserialize_with = "deserialize_opt_dist",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "crate::model::dist::dist_as_written")]
    pub request_delay: Option<DurationDist>,
    /// Requests sent per try before giving up until the next trigger
    /// (Intune's dmcertinst task: 3 attempts, 1 minute apart).
    #[serde(default = "one")]
    pub attempts: u32,
    /// Time from a failed attempt to the next one.
    #[serde(default)]
    pub attempt_spacing: SimDuration,
    /// When the device holds a certificate the CA has issued.
    #[serde(default)]
    pub delivery: Delivery,
    /// The client polls ACME Renewal Information (RFC 9773) at its
    /// triggers: a window the CA moves into the past (mass revocation) is
    /// seen at the next trigger.
    #[serde(default)]
    pub ari: bool,
}

fn one() -> u32 {
    1
}

/// When a device holds a certificate the CA has issued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// In the CA's response (SCEP, MDM, ACME, ADCS).
    #[default]
    Immediate,
    /// At the device's next check-in after issuance (Intune PKCS: the
    /// connector requests on the device's behalf: Microsoft, "Intune –
    /// Enrollment Options for End-Entity Certificates").
    NextCheckin,
}

fn deserialize_opt_dist<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DurationDist>, D::Error> {
    deserialize_dist(d).map(Some)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Fires `delay` (plus up to `jitter`) after each boot or resume.
    Boot {
        /// Time from the boot to the firing.
        #[serde(default)]
        delay: SimDuration,
        /// Up to this much more, uniformly, per firing.
        #[serde(default)]
        jitter: SimDuration,
    },
    /// Fires at the instant renewal becomes due, if the device is online then
    /// (a timer set for the renewal time: cert-manager, an ARI client's
    /// chosen instant).
    WindowOpen,
    /// Fires every `every` on the wall clock, at a per-device random phase or
    /// at a fixed UTC time of day, each firing delayed by up to `jitter`.
    Periodic {
        /// The period.
        every: SimDuration,
        /// Where the ticks sit: "random" per device, or a UTC time of day.
        #[serde(default)]
        phase: Phase,
        /// Each firing delayed by up to this much, uniformly (at most `every`).
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

impl JsonSchema for Phase {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Phase".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Where a periodic trigger's ticks sit: \"random\" (each device its own offset in [0, every)) or a UTC time of day \"HH:MM\" at which a tick falls, every `every` from it.",
            "pattern": "^(random|\\s*[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?\\s*)$",
            "examples": ["random", "00:00"]
        })
    }
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum RenewalRule {
    /// A fixed time before expiry (Intune's `RenewalPeriod`, certbot legacy's 30 days).
    BeforeExpiry {
        /// How long before expiry renewal becomes due.
        window: SimDuration,
    },
    /// When this share of the lifetime remains (Intune SCEP's threshold,
    /// certbot's 1/3). Certificates shorter than `short_lived.below` use
    /// `short_lived.fraction` instead (certbot ≥ 4.0: 1/2 below 10 days).
    FractionRemaining {
        /// Share of the lifetime left when renewal becomes due (0–1).
        fraction: f64,
        /// A different share for certificates shorter than `below`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        short_lived: Option<ShortLived>,
    },
    /// ADCS autoenrollment: at max(issued + 80 %·L, expiry − renewal period),
    /// whichever leaves the shorter remaining time (Podāns, "Certificate
    /// Autoenrollment in Windows Server 2016", part 2).
    Adcs {
        /// The template's renewal period (default in Windows: 6 weeks).
        renewal_period: SimDuration,
        /// Share of the lifetime elapsed at the latest opening (0.8).
        #[serde(default = "default_adcs_elapsed")]
        elapsed_fraction: f64,
    },
    /// ACME Renewal Information (RFC 9773): the server suggests a window
    /// centred at `centre` of the lifetime, ± `half_width` of it (Let's
    /// Encrypt: 2/3 ± 1/100); the client picks a uniform instant inside it.
    Ari {
        /// Centre of the suggested window, as a share of the lifetime.
        #[serde(default = "default_ari_centre")]
        centre: f64,
        /// Half the window's width, as a share of the lifetime.
        #[serde(default = "default_ari_half_width")]
        half_width: f64,
    },
    /// No restriction: due at any time (a server that accepts any renewal).
    Anytime,
    /// Never due: the certificate is never renewed (imported PKCS).
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShortLived {
    /// Certificates with a lifetime below this use `fraction`.
    pub below: SimDuration,
    /// Share of the lifetime left when renewal becomes due (0–1).
    pub fraction: f64,
}

fn default_ari_centre() -> f64 {
    2.0 / 3.0
}
fn default_ari_half_width() -> f64 {
    0.01
}

fn default_adcs_elapsed() -> f64 {
    0.8
}

impl RenewalRule {
    /// The instant from which renewal is due. `pick` is a uniform draw in
    /// [0, 1) for rules with a random instant (ARI); others ignore it.
    pub fn opens_at(&self, issued: SimTime, expiry: SimTime, pick: f64) -> SimTime {
        let lifetime = expiry.since(issued);
        match *self {
            RenewalRule::BeforeExpiry { window } => expiry - window,
            RenewalRule::FractionRemaining {
                fraction,
                short_lived,
            } => {
                let f = match short_lived {
                    Some(s) if lifetime < s.below => s.fraction,
                    _ => fraction,
                };
                expiry - lifetime.mul_f64(f)
            }
            RenewalRule::Ari { centre, half_width } => {
                issued + lifetime.mul_f64(centre - half_width + 2.0 * half_width * pick)
            }
            RenewalRule::Never => SimTime::MAX,
            RenewalRule::Adcs {
                renewal_period,
                elapsed_fraction,
            } => (issued + lifetime.mul_f64(elapsed_fraction)).max(expiry - renewal_period),
            RenewalRule::Anytime => issued,
        }
    }

    /// How long before expiry the window can first open for a certificate
    /// of `lifetime` (the earliest pick for random rules; zero for `never`).
    pub fn lead(&self, lifetime: SimDuration) -> SimDuration {
        let issued = SimTime::ZERO;
        let expiry = issued + lifetime;
        expiry.since(self.opens_at(issued, expiry, 0.0).min(expiry))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum OnExpiry {
    /// The client cannot renew an expired certificate (Intune MDM: Ooms, "Fullmetal Certificate"):
    /// only the server's `accept_expired_for` can save it.
    #[default]
    Stranded,
    /// The client enrolls anew at its next trigger (ADCS autoenrollment).
    NewRequest,
    /// Stranded, then re-enrolled by hand: `delay` (help-desk time) after the
    /// device is next online, at the first moment it is online again.
    ManualRecovery {
        #[serde(deserialize_with = "deserialize_dist")]
        #[schemars(schema_with = "crate::model::dist::dist_as_written")]
        delay: DurationDist,
    },
}

impl ClientProfile {
    /// The first trigger firing at or after `t` while the device is online,
    /// before `limit`. `due` is when renewal became due (for `window_open`).
    pub fn next_firing(
        &self,
        clock: &DeviceClock,
        availability: &Availability,
        cursor: &mut OnOffCursor,
        t: SimTime,
        due: SimTime,
        limit: SimTime,
    ) -> Option<SimTime> {
        let mut from = t;
        loop {
            let span = availability.next_span(clock, cursor, from, limit)?;
            let best = self
                .triggers
                .iter()
                .enumerate()
                .filter_map(|(i, trig)| trig.first_firing(clock, i as u64, &span, t, due))
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
        due: SimTime,
    ) -> Option<SimTime> {
        let lo = span.from.max(t);
        match *self {
            Trigger::WindowOpen => (due >= lo && due < span.until).then_some(due),
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
