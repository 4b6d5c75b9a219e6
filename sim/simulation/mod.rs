//! The event loop: a fleet of devices, one pending event each at most, and
//! the stages (CA, and any proxy or connector before it) they share.
//!
//! The two halves meet through one narrow interface: a device sends a
//! request to a stage ([`network::StageNetwork::submit`]) and gets back a
//! response and the time it arrives. The stage decides a request's fate
//! when it arrives (so stages need no events of their own); the answer
//! reaches the device as an event at its time, so an answer that would come
//! after the horizon never counts within it.
//!
//! A device costs nothing until it nears its renewal window: its next event
//! is the first online trigger at or after the moment it may try, computed
//! directly from its schedule.

mod accounting;
mod certificates;
mod device;
mod events;
mod fleet_events;
mod invariants;
mod network;
mod requests;
mod shard;
mod window;

use std::time::Instant;

use crate::engine::SimTime;
use crate::metrics::{CohortCounters, StageMetrics};
use crate::model::Scenario;

pub use device::Device;
pub use events::MAX_DEVICES;

/// Options that change how a run is computed, never what it computes.
#[derive(Default)]
pub struct RunOptions {
    /// Worker threads for the parallel phases (`None`: rayon's default).
    pub threads: Option<usize>,
    /// Check runtime invariants (always on in debug builds).
    pub check_invariants: bool,
    /// Called now and then with the progress of simulated time.
    pub progress: Option<Box<dyn FnMut(Progress) + Send>>,
}

#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub now: SimTime,
    pub horizon: SimTime,
    pub events: u64,
}

/// What one stage saw.
pub struct StageResult {
    pub name: String,
    pub workers: u32,
    pub metrics: StageMetrics,
}

/// Everything a run produced; reports are computed from it.
pub struct RunResult {
    pub scenario: Scenario,
    pub cohorts: Vec<CohortCounters>,
    /// The CA (the last stage of every route).
    pub ca: StageMetrics,
    pub ca_workers: u32,
    /// Stages before the CA, in `[stages]` order.
    pub stages: Vec<StageResult>,
    pub events: u64,
    pub wall_time: std::time::Duration,
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A bug in certfleet, caught by a runtime check: the device (if one
    /// is involved), the simulated time, what went wrong.
    #[error(
        "invariant violated at simulated {at}{}: {what}",
        device.map(|d| format!(" for device {d}")).unwrap_or_default()
    )]
    Invariant {
        device: Option<u64>,
        at: String,
        what: String,
    },
    #[error("could not start {threads} worker threads: {source}")]
    Threads {
        threads: usize,
        source: rayon::ThreadPoolBuildError,
    },
    #[error("interrupted at simulated time {at}")]
    Interrupted { at: String },
}

/// Runs scenarios.
pub struct Simulation;

impl Simulation {
    /// Runs a scenario to its horizon.
    pub fn run(scenario: &Scenario, options: RunOptions) -> Result<RunResult, RunError> {
        Self::run_until(scenario, options, &|| false)
    }

    /// Runs a scenario, stopping with `RunError::Interrupted` when `stop`
    /// says so (checked every few thousand events).
    pub fn run_until(
        scenario: &Scenario,
        mut options: RunOptions,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<RunResult, RunError> {
        let started = Instant::now();
        let pool = match options.threads {
            Some(n) => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|source| RunError::Threads { threads: n, source })?,
            ),
            None => None,
        };
        let check_invariants = options.check_invariants || cfg!(debug_assertions);
        let progress = options.progress.take();
        let run = || window::run(scenario, check_invariants, progress, stop);
        let result = match &pool {
            Some(pool) => pool.install(run),
            None => run(),
        }?;
        Ok(RunResult {
            wall_time: started.elapsed(),
            ..result
        })
    }
}
