//! Counters and time series collected during a run, and the statistics
//! computed from them afterwards.

mod cohort;
mod stage;
pub mod stats;
mod waits;

pub use cohort::{CohortCounters, Counter, CounterInfo, Counts};
pub use stage::{MinuteSeries, StageCounts, StageMetrics};
pub use waits::{HourlyWaits, WaitBins, WAIT_BINS};
