//! The stages every device shares: the CA and any stage before it (reverse
//! proxy, NDES, connector). The fleet sees them through one narrow
//! interface: a request goes in at a stage, a response with its time comes
//! back. Nothing here knows about devices beyond the request's ticket.

use crate::engine::random::mix64;
use crate::engine::{SimTime, Streams};
use crate::metrics::StageMetrics;
use crate::model::events::ScheduledEvent;
use crate::model::stage::{Response, Stage, StageConfig, Ticket};
use crate::model::Scenario;

/// The CA's index; the `[stages]` follow in file order.
pub const CA: usize = 0;

pub struct StageNetwork {
    stages: Vec<Stage>,
    metrics: Vec<StageMetrics>,
}

impl StageNetwork {
    pub fn new(scenario: &Scenario) -> Self {
        let calendar = scenario.calendar();
        let horizon = scenario.horizon_end();
        let stage = |name: &str, config: &StageConfig| {
            let (mut outages, mut degraded) = (Vec::new(), Vec::new());
            for event in scenario.events.iter().filter(|e| e.target() == Some(name)) {
                match event {
                    ScheduledEvent::Outage { .. } => outages.push(event.window(calendar)),
                    ScheduledEvent::Degraded { capacity, .. } => {
                        degraded.push((event.window(calendar), *capacity))
                    }
                    _ => {}
                }
            }
            Stage::new(
                config.clone(),
                stage_streams(scenario.seed, name),
                outages,
                degraded,
            )
        };
        let mut stages = vec![stage("ca", &scenario.ca)];
        stages.extend(scenario.stages.iter().map(|(n, c)| stage(n, c)));
        let metrics = stages.iter().map(|_| StageMetrics::new(horizon)).collect();
        StageNetwork { stages, metrics }
    }

    /// A request reaches stage `stage` at `now`: its fate and when the
    /// client learns it. Calls for one stage come in time order.
    pub fn submit(&mut self, stage: usize, now: SimTime, ticket: Ticket) -> Response {
        self.stages[stage].submit(now, ticket, &mut self.metrics[stage])
    }

    pub fn metrics(&self) -> &[StageMetrics] {
        &self.metrics
    }

    pub fn into_metrics(self) -> Vec<StageMetrics> {
        self.metrics
    }
}

/// Each stage draws service times from its own stream family, so adding a
/// stage never changes another's draws.
fn stage_streams(seed: u64, name: &str) -> Streams {
    Streams::new(mix64(seed ^ mix64(name.len() as u64 ^ hash_name(name))))
}

/// FNV-1a: a stable hash of a stage name for its random stream family.
fn hash_name(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The stream index of one request of a device: its try (when it started),
/// its attempt within the try and its hop along the route.
pub fn request_index(try_at: SimTime, attempt: u32, hop: usize) -> u64 {
    mix64((try_at.ms() as u64) ^ mix64((u64::from(attempt) << 16) | hop as u64))
}
