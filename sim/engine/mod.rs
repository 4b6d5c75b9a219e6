//! The simulation core. It knows nothing about certificates: simulated time
//! and the calendar, the future-event list, and deterministic random streams.

pub mod calendar;
pub mod queue;
pub mod random;
pub mod time;

pub use calendar::Calendar;
pub use queue::{EventQueue, Scheduled};
pub use random::{Purpose, StreamRng, Streams};
pub use time::{SimDuration, SimTime};
