//! certfleet: a deterministic discrete-event simulator of certificate fleets.
//!
//! Layers, each depending only on those below it:
//! - [`engine`]: simulated time, the calendar, the event queue, random streams;
//! - [`model`]: devices, power schedules, certificates, renewal clients, the
//!   server's eligibility policy, the CA (docs/model.md);
//! - [`metrics`]: counters and time series collected during a run;
//! - [`simulation`]: the event loop tying model and metrics together;
//! - [`presets`]: the real renewal systems as data over the model;
//! - [`scenario`]: TOML scenario files, presets expanded, validation, clear errors;
//! - [`report`]: `summary.json`, CSV time series, the printed summary;
//! - [`sweep`]: parameter grids, replications, shards, merge, recommendation;
//! - [`host`]: what the machine offers (the memory a run may use);
//! - the `certfleet` binary (`cli`): commands, progress, output folders.

pub mod engine;
pub mod host;
pub mod metrics;
pub mod model;
pub mod presets;
pub mod report;
pub mod scenario;
pub mod simulation;
pub mod sweep;

/// The version written into every output, so results can be traced.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
