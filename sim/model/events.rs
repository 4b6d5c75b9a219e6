//! Scheduled scenario events: outages and degraded periods of a stage,
//! template bumps, mass revocations, lifetime policy changes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clock::UtcInstant;
use super::stage::Window;
use crate::engine::{Calendar, SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduledEvent {
    /// A stage is down: requests fail at once, those waiting or in service
    /// when it goes down fail at that moment. Give `to` or `duration`.
    Outage {
        /// Start of the period.
        from: UtcInstant,
        /// End of the period (or give `duration`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<UtcInstant>,
        /// Length of the period (or give `to`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<SimDuration>,
        /// `"ca"` (default) or the name of a `[stages.NAME]` table.
        #[serde(default = "ca")]
        target: String,
    },
    /// A stage works at `capacity` (0–1) of its normal speed: service times
    /// of requests starting in the period are divided by it.
    Degraded {
        /// Start of the period.
        from: UtcInstant,
        /// End of the period (or give `duration`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<UtcInstant>,
        /// Length of the period (or give `to`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<SimDuration>,
        /// Share of normal speed (0–1).
        capacity: f64,
        /// `"ca"` (default) or the name of a `[stages.NAME]` table.
        #[serde(default = "ca")]
        target: String,
    },
    /// The certificate template's major version is bumped: every holder
    /// re-enrolls at its next trigger, whatever its window (ADCS autoenrollment).
    TemplateBump {
        /// When the new template version is published.
        at: UtcInstant,
        /// Cohorts affected; empty: all.
        #[serde(default)]
        cohorts: Vec<String>,
    },
    /// A share of the certificates is revoked `deadline` after `at`. ARI
    /// clients see their window moved into the past at their next trigger
    /// and renew at once; others renew only at their next normal renewal
    /// and are without a valid certificate from the revocation until then.
    MassRevocation {
        /// When the revocation is announced.
        at: UtcInstant,
        /// Share of the certificates issued before `at` that are revoked.
        share: f64,
        /// Time from the announcement to the revocation.
        deadline: SimDuration,
        /// Cohorts affected; empty: all.
        #[serde(default)]
        cohorts: Vec<String>,
    },
    /// Certificates issued from `at` on get `lifetime` (e.g. CA/B Forum
    /// ballot SC-081: 200 days from 2026-03-15, 100 from 2027-03-15, 47
    /// from 2029-03-15).
    LifetimeChange {
        /// Certificates issued from this instant on get the new lifetime.
        at: UtcInstant,
        /// The new certificate lifetime.
        lifetime: SimDuration,
        /// Cohorts affected; empty: all.
        #[serde(default)]
        cohorts: Vec<String>,
    },
}

fn ca() -> String {
    "ca".to_string()
}

/// A [from, to) period, with `to` or `duration` given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Period {
    pub from: UtcInstant,
    pub to: Option<UtcInstant>,
    pub duration: Option<SimDuration>,
}

impl ScheduledEvent {
    /// The period of an outage or degraded event.
    pub fn period(&self) -> Option<Period> {
        match self {
            ScheduledEvent::Outage {
                from, to, duration, ..
            }
            | ScheduledEvent::Degraded {
                from, to, duration, ..
            } => Some(Period {
                from: *from,
                to: *to,
                duration: *duration,
            }),
            _ => None,
        }
    }

    /// The stage an outage or degraded event applies to.
    pub fn target(&self) -> Option<&str> {
        match self {
            ScheduledEvent::Outage { target, .. } | ScheduledEvent::Degraded { target, .. } => {
                Some(target)
            }
            _ => None,
        }
    }

    /// The cohorts a fleet event applies to (empty: all).
    pub fn cohorts(&self) -> &[String] {
        match self {
            ScheduledEvent::TemplateBump { cohorts, .. }
            | ScheduledEvent::MassRevocation { cohorts, .. }
            | ScheduledEvent::LifetimeChange { cohorts, .. } => cohorts,
            _ => &[],
        }
    }

    pub fn applies_to(&self, cohort: &str) -> bool {
        let c = self.cohorts();
        c.is_empty() || c.iter().any(|n| n == cohort)
    }

    /// When a fleet event happens.
    pub fn instant(&self, calendar: Calendar) -> SimTime {
        match self {
            ScheduledEvent::TemplateBump { at, .. }
            | ScheduledEvent::MassRevocation { at, .. }
            | ScheduledEvent::LifetimeChange { at, .. } => calendar.sim_time(at.0),
            ScheduledEvent::Outage { from, .. } | ScheduledEvent::Degraded { from, .. } => {
                calendar.sim_time(from.0)
            }
        }
    }

    pub fn window(&self, calendar: Calendar) -> Window {
        let Some(p) = self.period() else {
            let at = self.instant(calendar);
            return Window { from: at, to: at };
        };
        let from = calendar.sim_time(p.from.0);
        let to = match (p.to, p.duration) {
            (Some(to), _) => calendar.sim_time(to.0),
            (None, Some(d)) => from + d,
            (None, None) => from,
        };
        Window { from, to }
    }
}
