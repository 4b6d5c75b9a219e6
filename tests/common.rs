//! Helpers shared by the integration tests.

use std::path::Path;

use certfleet::model::Scenario;
use certfleet::report::Summary;
use certfleet::simulation::{RunOptions, RunResult, Simulation};

/// Parses scenario text through the real loader (so tests exercise the
/// file format users write).
pub fn scenario(text: &str) -> Scenario {
    certfleet::scenario::parse(text, Path::new("test.toml"))
        .unwrap_or_else(|e| panic!("test scenario is invalid:\n{e}"))
}

/// Runs with invariant checks on, and checks that every CA request ended
/// exactly once or is still in the CA at the end — in every test run.
pub fn run(s: &Scenario) -> RunResult {
    let result = Simulation::run(
        s,
        RunOptions {
            check_invariants: true,
            ..Default::default()
        },
    )
    .expect("run succeeds");
    let c = result.ca.counts;
    assert_eq!(
        c.arrivals,
        c.served + c.refused + c.timed_out + c.failed_outage + c.in_system_at_end,
        "request conservation: {c:?}"
    );
    result
}

pub fn summary(s: &Scenario) -> Summary {
    Summary::new(&run(s))
}

/// Minutes (from the start) in which the CA saw arrivals, with the counts.
pub fn arrival_minutes(result: &RunResult) -> Vec<(usize, u32)> {
    result
        .ca
        .minutes
        .arrivals
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(m, &n)| (m, n))
        .collect()
}

pub const MINUTES_PER_DAY: usize = 24 * 60;

/// A check that `observed` is within `z` standard errors of `expected` for a
/// binomial proportion over `n` trials. z = 4 gives a false alarm about once
/// in 16,000 runs for a correct engine, while a wrong model (a few standard
/// errors off) fails reliably.
pub fn assert_binomial(observed: f64, expected: f64, n: u64, what: &str) {
    let se = (expected * (1.0 - expected) / n as f64).sqrt();
    let z = 4.0;
    assert!(
        (observed - expected).abs() <= z * se,
        "{what}: observed {observed:.5}, expected {expected:.5} ± {:.5} (4 standard errors, n = {n})",
        z * se
    );
}

/// A CA fast enough never to queue: the closed forms assume unlimited capacity.
pub const UNLIMITED_CA: &str = r#"
[ca]
workers = 1000
service_time = "0s"
"#;
