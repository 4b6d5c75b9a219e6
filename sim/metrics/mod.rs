//! Counters and time series collected during a run, and the statistics
//! computed from them afterwards.

mod ca;
mod cohort;
pub mod stats;
mod waits;

pub use ca::{CaCounts, CaMetrics, MinuteSeries};
pub use cohort::CohortCounters;
pub use waits::{HourlyWaits, WaitBins, WAIT_BINS};
