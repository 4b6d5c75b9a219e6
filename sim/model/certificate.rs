//! Certificates and how a cohort's first certificates were issued
//! (docs/model.md, "Certificates and enrolment").

use rand::RngExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clock::UtcInstant;
use crate::engine::{Calendar, SimDuration, SimTime, StreamRng};

/// The certificate a device holds: valid on [issued, expiry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Certificate {
    pub issued: SimTime,
    pub expiry: SimTime,
}

impl Certificate {
    pub fn new(issued: SimTime, lifetime: SimDuration) -> Self {
        Certificate {
            issued,
            expiry: issued + lifetime,
        }
    }
}

/// When the cohort's initial certificates were issued.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "pattern", rename_all = "snake_case", deny_unknown_fields)]
pub enum Enrollment {
    /// A fleet in steady state. Certificate ages are drawn uniformly over the
    /// part of the lifetime *before* the renewal window opens, so that no
    /// device starts inside its window: drawing over the whole lifetime would
    /// put the share W/L of the fleet in its window at t = 0 and invent a
    /// load spike (docs/model.md, "Certificates and enrolment").
    #[default]
    Steady,
    /// Everyone enrolled at one instant (the synchronised cohort).
    At {
        /// The enrolment instant.
        at: UtcInstant,
    },
    /// Enrolments spread uniformly between two instants.
    Ramp {
        /// First enrolment.
        from: UtcInstant,
        /// Last enrolment.
        to: UtcInstant,
    },
}

impl Enrollment {
    /// The initial issuance instant for one device. `renewal_lead` is how long
    /// before expiry renewal becomes possible (client and server agreeing).
    pub fn draw_issued(
        &self,
        rng: &mut StreamRng,
        calendar: Calendar,
        lifetime: SimDuration,
        renewal_lead: SimDuration,
    ) -> SimTime {
        match *self {
            Enrollment::Steady => {
                let span = (lifetime.ms() - renewal_lead.ms()).max(1);
                SimTime(-rng.random_range(0..span))
            }
            Enrollment::At { at } => calendar.sim_time(at.0),
            Enrollment::Ramp { from, to } => {
                let (a, b) = (from.0.min(to.0), from.0.max(to.0));
                calendar.sim_time(if b > a { rng.random_range(a..=b) } else { a })
            }
        }
    }
}
