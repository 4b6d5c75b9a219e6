//! Counters and time series collected during a run, and the statistics
//! computed from them afterwards.

mod ca;
mod cohort;
pub mod stats;

pub use ca::{CaCounts, CaMetrics, MinuteSeries};
pub use cohort::CohortCounters;
