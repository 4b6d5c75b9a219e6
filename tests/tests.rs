//! certfleet's integration tests, in one binary (modules below).

mod common;

mod closed_forms;
mod determinism;
mod scenarios;
mod timelines;
