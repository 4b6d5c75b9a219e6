//! Engine benchmarks (criterion). Run with `cargo bench`; figures in the
//! README's "Performance" section.
//!
//! - `run/office-100k-2y`: scenarios/bench-1m.toml at 1/10 scale: 100,000
//!   office PCs, Intune-MDM-like client, 2 simulated years, finite CA.
//! - `run/laptops-100k-2y`: the same fleet as laptops (several sessions a
//!   day: more schedule work per event).
//! - `queue/push-pop-1m`: the calendar event queue alone.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};

use certfleet::engine::{EventQueue, SimTime, Streams};
use certfleet::model::Scenario;
use certfleet::simulation::{RunOptions, Simulation};

fn bench_scenario(scale: f64) -> Scenario {
    certfleet::scenario::load(Path::new("scenarios/bench-1m.toml"))
        .expect("bench scenario loads")
        .scaled(scale)
}

fn run_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("run");
    group.sample_size(10);
    let office = bench_scenario(0.1);
    group.bench_function("office-100k-2y", |b| {
        b.iter(|| {
            Simulation::run(
                &office,
                RunOptions {
                    threads: Some(1),
                    ..Default::default()
                },
            )
            .unwrap()
            .events
        })
    });
    let mut laptops = bench_scenario(0.1);
    laptops.cohorts[0].power = certfleet::model::power::PowerSchedule::Laptop(Default::default());
    group.bench_function("laptops-100k-2y", |b| {
        b.iter(|| {
            Simulation::run(
                &laptops,
                RunOptions {
                    threads: Some(1),
                    ..Default::default()
                },
            )
            .unwrap()
            .events
        })
    });
    group.finish();
}

fn queue_benches(c: &mut Criterion) {
    let horizon = SimTime(2 * 365 * 86_400_000);
    let streams = Streams::new(1);
    let times: Vec<SimTime> = (0..1_000_000u64)
        .map(|i| {
            SimTime((streams.unit(i, certfleet::engine::Purpose(1), 0) * horizon.0 as f64) as i64)
        })
        .collect();
    c.bench_function("queue/push-pop-1m", |b| {
        b.iter(|| {
            let mut q = EventQueue::new(horizon);
            for (key, &t) in times.iter().enumerate() {
                q.push(t, key as u64);
            }
            let mut n = 0u64;
            while q.pop().is_some() {
                n += 1;
            }
            n
        })
    });
}

criterion_group!(benches, run_benches, queue_benches);
criterion_main!(benches);
