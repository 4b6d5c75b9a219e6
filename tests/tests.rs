//! certfleet's integration tests, in one binary (modules below).

mod common;

mod cli;
mod closed_forms;
mod determinism;
mod errors;
mod events;
mod fuzz;
mod outputs;
mod presets;
mod readme;
mod report;
mod scenarios;
mod schema;
mod sweep;
mod timelines;
