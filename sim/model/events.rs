//! Scheduled scenario events: outages and degraded periods of the CA.

use serde::{Deserialize, Serialize};

use super::ca::Window;
use super::dist::UtcInstant;
use crate::engine::{Calendar, SimDuration};

/// An event ends at an instant (`to = "..."`) or after a duration
/// (`duration = "3d"`): exactly one of the two (checked when loading).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub from: UtcInstant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<UtcInstant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<SimDuration>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduledEvent {
    /// The CA is down: requests fail at once, those waiting or in service
    /// when it goes down fail at that moment.
    Outage {
        from: UtcInstant,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<UtcInstant>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<SimDuration>,
    },
    /// The CA works at `capacity` (0–1) of its normal speed: service times
    /// of requests starting in the period are divided by it.
    Degraded {
        from: UtcInstant,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<UtcInstant>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<SimDuration>,
        capacity: f64,
    },
}

impl ScheduledEvent {
    pub fn period(&self) -> Period {
        match self {
            ScheduledEvent::Outage { from, to, duration }
            | ScheduledEvent::Degraded {
                from, to, duration, ..
            } => Period {
                from: *from,
                to: *to,
                duration: *duration,
            },
        }
    }

    pub fn window(&self, calendar: Calendar) -> Window {
        let p = self.period();
        let from = calendar.sim_time(p.from.0);
        let to = match (p.to, p.duration) {
            (Some(to), _) => calendar.sim_time(to.0),
            (None, Some(d)) => from + d,
            (None, None) => from,
        };
        Window { from, to }
    }
}
