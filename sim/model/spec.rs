//! A scenario as the model sees it: cohorts, server policy, CA and events,
//! all resolved (defaults filled in), independent of the file format.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::certificate::Enrollment;
use super::client::{ClientProfile, RenewalRule};
use super::clock::UtcInstant;
use super::events::ScheduledEvent;
use super::power::{OfflineEpisode, PowerSchedule};
use super::server::EligibilityPolicy;
use super::stage::StageConfig;
use crate::engine::{Calendar, SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The scenario's name, written into every output.
    pub name: String,
    /// The question the scenario answers, shown in reports.
    #[serde(default)]
    pub description: String,
    /// Simulated time 0, a UTC instant.
    pub start: UtcInstant,
    /// How much simulated time to cover.
    pub horizon: SimDuration,
    /// Root of all randomness: same scenario and seed, same results.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The groups of devices.
    pub cohorts: Vec<Cohort>,
    /// The default eligibility policy; a cohort may bring its own.
    #[serde(default)]
    pub server: EligibilityPolicy,
    /// The certificate authority: workers, service time, queue, timeout.
    pub ca: StageConfig,
    /// Stages a request may pass through before the CA (reverse proxy,
    /// NDES, Intune Certificate Connector), by name; a cohort's `route`
    /// lists those its requests take, in order.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub stages: IndexMap<String, StageConfig>,
    /// Outages, degraded periods, template bumps, mass revocations and
    /// lifetime changes, at their dates.
    #[serde(default)]
    pub events: Vec<ScheduledEvent>,
    /// How the printed summary and report.html present the run.
    #[serde(default, skip_serializing_if = "ReportSpec::is_automatic")]
    pub report: ReportSpec,
}

/// The `[report]` table: which headline figures answer the scenario's
/// question. Absent: chosen from what the scenario contains.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// The headline figures, in order (replaces the automatic choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<Vec<HeadlineFigure>>,
}

impl ReportSpec {
    pub fn is_automatic(&self) -> bool {
        self.headline.is_none()
    }
}

/// A group of headline figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HeadlineFigure {
    /// Expiry rate with its interval, per cohort when there are several.
    Expiry,
    /// Devices without a valid certificate at the end (and stranded).
    InvalidAtEnd,
    /// Failures at each stage and the CA, by cause.
    StageFailures,
    /// Revoked certificates, those not replaced in time, the last replacement.
    Revocation,
    /// CA requests per day in each period between lifetime changes.
    LoadPeriods,
    /// After a template bump or offline episode: time until 50/90/99 % of
    /// the affected devices hold a valid certificate again; queue drained.
    Recovery,
    /// CA peak minute and hour, waits, longest queue, backlog at the end.
    CaLoad,
}

fn default_seed() -> u64 {
    1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cohort {
    /// The cohort's name (unique), used in outputs and by events' `cohorts`.
    pub name: String,
    /// Number of devices.
    pub count: u64,
    /// Certificate validity.
    pub lifetime: SimDuration,
    /// When the devices' first certificates were issued.
    #[serde(default)]
    pub enrollment: Enrollment,
    /// When the devices are online.
    pub power: PowerSchedule,
    /// Shares of the cohort that go dark for a while (office closure, a
    /// device in a drawer), then resume their schedule.
    #[serde(default)]
    pub offline_episodes: Vec<OfflineEpisode>,
    pub client: ClientProfile,
    /// Overrides the scenario's `[server]` policy for this cohort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<EligibilityPolicy>,
    /// Stages (names from `[stages]`) the cohort's requests pass through
    /// before the CA, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route: Vec<String>,
    /// The preset this cohort was built from, if any (informational: the
    /// preset's values are already merged into the fields above). Set by
    /// the loader, not written in scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub preset: Option<String>,
}

impl Scenario {
    pub fn calendar(&self) -> Calendar {
        Calendar::new(self.start.0)
    }

    pub fn horizon_end(&self) -> SimTime {
        SimTime::ZERO + self.horizon
    }

    pub fn total_devices(&self) -> u64 {
        // Saturating: counts come from files and may be absurd.
        self.cohorts
            .iter()
            .fold(0u64, |sum, c| sum.saturating_add(c.count))
    }

    /// The same scenario at `factor` of its size (see [`Scenario::scaled_with_notes`]).
    pub fn scaled(self, factor: f64) -> Self {
        self.scaled_with_notes(factor).0
    }

    /// The same scenario at `factor` of its size, asking the same question:
    /// every cohort's count is multiplied by `factor` (rounded, at least one
    /// device per non-empty cohort), and so is what serves them, so that
    /// load ratios stay those of the full fleet. Each stage (the CA
    /// included) keeps its service time and gets `factor` × its workers
    /// when that is a whole number of at least one; otherwise the workers
    /// are rounded (at least one) and the service time is stretched by
    /// the rest (1 worker at `--scale 0.1`: 10 × the service time). A queue
    /// limit scales with the workers (at least 1; 0 stays 0). The notes
    /// say, per stage, what changed whenever service times had to stretch.
    pub fn scaled_with_notes(mut self, factor: f64) -> (Self, Vec<String>) {
        for c in &mut self.cohorts {
            if c.count > 0 {
                c.count = ((c.count as f64 * factor).round() as u64).max(1);
            }
        }
        let mut notes = Vec::new();
        if factor == 1.0 {
            return (self, notes);
        }
        let stages = std::iter::once(("ca", &mut self.ca))
            .chain(self.stages.iter_mut().map(|(n, c)| (n.as_str(), c)));
        for (name, config) in stages {
            let exact = config.workers as f64 * factor;
            let workers = (exact.round().max(1.0)).min(u32::MAX as f64) as u32;
            let stretch = workers as f64 / exact;
            if (stretch - 1.0).abs() > 1e-9 {
                let before = config.service_time.mean();
                config.service_time = config.service_time.scaled(stretch);
                notes.push(format!(
                    "{name}: {} worker(s) × {factor} is not a whole number, so it gets {workers} \
                     worker(s) with a mean service time of {} instead of {before}: its capacity \
                     scales with the fleet (backlogs build and drain as at full size), but \
                     each request takes {stretch:.2}× as long to serve",
                    config.workers,
                    config.service_time.mean()
                ));
            }
            config.workers = workers;
            if let Some(limit) = config.queue_limit.filter(|&l| l > 0) {
                config.queue_limit = Some(((limit as f64 * factor).round() as u64).max(1));
            }
        }
        (self, notes)
    }

    /// The lifetime of certificates issued to `cohort` at `at`, after any
    /// lifetime changes that apply.
    pub fn lifetime_at(&self, cohort: &Cohort, at: SimTime) -> SimDuration {
        let calendar = self.calendar();
        self.events
            .iter()
            .filter_map(|e| match e {
                ScheduledEvent::LifetimeChange { lifetime, .. } if e.applies_to(&cohort.name) => {
                    Some((e.instant(calendar), *lifetime))
                }
                _ => None,
            })
            .filter(|(from, _)| *from <= at)
            .max_by_key(|(from, _)| *from)
            .map_or(cohort.lifetime, |(_, lifetime)| lifetime)
    }

    pub fn server_for<'a>(&'a self, cohort: &'a Cohort) -> &'a EligibilityPolicy {
        cohort.server.as_ref().unwrap_or(&self.server)
    }
}

impl Cohort {
    /// How long before expiry a renewal can first succeed: the later of the
    /// client's and the server's windows.
    pub fn renewal_lead(&self, server: &EligibilityPolicy) -> SimDuration {
        let client = self.client.renewal.lead(self.lifetime);
        let server = match server.renewal {
            RenewalRule::Anytime | RenewalRule::Never => client,
            ref rule => rule.lead(self.lifetime),
        };
        client.min(server)
    }
}
