//! The closed forms of docs/model.md ("Closed forms the tests check"),
//! checked statistically with tolerances derived from the sample size.

use certfleet::engine::{Purpose, SimDuration, SimTime, Streams};
use certfleet::metrics::StageMetrics;
use certfleet::model::dist::DurationDist;
use certfleet::model::stage::{Stage, StageConfig, Ticket};

use crate::common::{
    arrival_minutes, assert_binomial, run, scenario, summary, MINUTES_PER_DAY, UNLIMITED_CA,
};

/// Closed form 1: always online, periodic trigger every P, window W, unlimited CA:
/// nobody expires, and each device renews once per cycle, at the first
/// trigger after expiry − W.
#[test]
fn always_online_devices_renew_once_per_cycle_at_the_first_trigger() {
    let n = 2_000;
    // L = 90d, W = 30d: the window opens 60 days after issuance. All enrol at
    // the start; a 4-hourly trigger with a random phase fires within 4 h of
    // the window opening. 60 days are a whole number of 4-hour periods, so
    // every later renewal falls exactly 60 days after the previous one.
    let s = scenario(&format!(
        r#"
name = "8.1"
start = "2025-01-01"
horizon = "200d"
[[cohorts]]
name = "servers"
count = {n}
lifetime = "90d"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {{ schedule = "always_on" }}
client = {{ triggers = [{{ kind = "periodic", every = "4h" }}], renewal = {{ rule = "before_expiry", window = "30d" }} }}
{UNLIMITED_CA}"#
    ));
    let result = run(&s);
    let c = &result.cohorts[0];
    assert_eq!(c.devices_expired, 0);
    assert_eq!(c.renewals, 3 * n, "renewals at ~60, ~120 and ~180 days");
    assert_eq!(c.tries, c.renewals, "no failed tries");
    for cycle in 1..=3 {
        let open = cycle * 60 * MINUTES_PER_DAY;
        let in_first_trigger: u32 = arrival_minutes(&result)
            .iter()
            .filter(|(m, _)| *m >= open && *m < open + 4 * 60)
            .map(|(_, k)| k)
            .sum();
        assert_eq!(
            in_first_trigger as u64, n,
            "cycle {cycle}: every renewal within one trigger period of the window opening"
        );
    }
}

/// The scenario of closed form 2: everyone enrolled at the start, one periodic
/// trigger every 4 h with a random phase and no boot trigger, a window of
/// exactly k periods, a stranding client and an unlimited CA.
fn section_8_2(n: u64, k: u32, power: &str) -> String {
    format!(
        r#"
name = "8.2"
start = "2025-01-01"
horizon = "31d"
[[cohorts]]
name = "devices"
count = {n}
lifetime = "30d"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {power}
client = {{ triggers = [{{ kind = "periodic", every = "4h" }}], renewal = {{ rule = "before_expiry", window = "{hours}h" }}, on_expiry = {{ action = "stranded" }} }}
{UNLIMITED_CA}"#,
        hours = 4 * k
    )
}

/// Closed form 2: online at each trigger independently with probability p, k
/// triggers in the window: P(expiry) = (1 − p)^k.
#[test]
fn independent_availability_expires_with_probability_one_minus_p_to_the_k() {
    let n = 20_000;
    for (p, k) in [(0.3, 6), (0.6, 2)] {
        let s = scenario(&section_8_2(
            n,
            k,
            &format!(r#"{{ schedule = "random_slots", p_online = {p}, slot = "4h" }}"#),
        ));
        let rate = summary(&s).totals.expiry_rate;
        assert_binomial(
            rate,
            (1.0f64 - p).powi(k as i32),
            n,
            &format!("p = {p}, k = {k}"),
        );
    }
}

/// Closed form 2 with an exponential on/off schedule (a two-state Markov chain with
/// rates a off→on and b on→off, π = a/(a+b)):
/// P(all k offline) = (1 − π)·(1 − π + π·e^{−(a+b)P})^{k−1}.
#[test]
fn markov_on_off_expiry_matches_the_closed_form() {
    let n = 20_000;
    let (mean_on_h, mean_off_h, k, period_h) = (8.0f64, 16.0f64, 6, 4.0f64);
    let (a, b) = (1.0 / mean_off_h, 1.0 / mean_on_h);
    let pi = a / (a + b);
    let expected = (1.0 - pi) * (1.0 - pi + pi * (-(a + b) * period_h).exp()).powi(k - 1);
    let s = scenario(&section_8_2(
        n,
        k as u32,
        &format!(
            r#"{{ schedule = "on_off", mean_on = "{mean_on_h}h", mean_off = "{mean_off_h}h" }}"#
        ),
    ));
    let rate = summary(&s).totals.expiry_rate;
    assert_binomial(rate, expected, n, "exponential on/off");
    // The naive independent-trigger formula (1 − π)^k is far off: the test
    // would catch an engine that ignores the chain's memory.
    assert!((rate - (1.0 - pi).powi(k)).abs() > 0.1);
}

/// Closed form 3: a steady-state fleet of N devices with lifetime L renewing R
/// before expiry makes about N / (L − R) renewals per unit of time.
#[test]
fn steady_fleet_renews_at_n_over_l_minus_r() {
    let n: u64 = 20_000;
    let (l_days, r_days, h_days) = (90.0, 30.0, 30.0);
    // Steady enrolment draws ages over [0, L − R): window openings are
    // uniform over the first L − R days; a renewal follows within one
    // trigger period (1 min, random phase: 30 s on average).
    let s = scenario(&format!(
        r#"
name = "8.3"
start = "2025-01-01"
horizon = "{h_days}d"
[[cohorts]]
name = "servers"
count = {n}
lifetime = "{l_days}d"
power = {{ schedule = "always_on" }}
client = {{ triggers = [{{ kind = "periodic", every = "1m" }}], renewal = {{ rule = "before_expiry", window = "{r_days}d" }} }}
{UNLIMITED_CA}"#
    ));
    let renewals = summary(&s).totals.renewals;
    let p = (h_days - 30.0 / 86_400.0) / (l_days - r_days);
    assert_binomial(
        renewals as f64 / n as f64,
        p,
        n,
        "share of the fleet renewing within the horizon",
    );
}

/// Erlang C: mean queue wait of an M/M/c queue with arrival rate λ and
/// service rate μ per worker.
fn erlang_c_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let top = term * a / c as f64 * (c as f64 / (c as f64 - a));
    let prob_wait = top / (sum + top);
    prob_wait / (c as f64 * mu - lambda)
}

/// A stage of `c` workers with exponential service of mean 1 s.
fn exponential_workers(c: u32, queue_limit: Option<u64>) -> StageConfig {
    StageConfig {
        workers: c,
        service_time: DurationDist::Exponential {
            mean: SimDuration::from_secs(1),
        },
        queue_limit,
        timeout: None,
        work_on_abandoned: true,
        validates_challenge: false,
    }
}

/// 30 independent replications of 20,000 Poisson arrivals at rate `lambda`
/// per second into a stage; the metrics of each after 1,000 warm-up arrivals.
fn poisson_into_stage(config: StageConfig, lambda: f64) -> Vec<StageMetrics> {
    let (replications, arrivals, warmup) = (30, 20_000, 1_000);
    (0..replications)
        .map(|r| {
            let streams = Streams::new(1000 + r);
            let mut stage = Stage::new(config.clone(), streams, Vec::new(), Vec::new());
            // 20,000 arrivals at 3/s take under 2 hours: all within a day.
            let day = SimTime(86_400_000);
            let mut metrics = StageMetrics::new(day);
            let mut warm = StageMetrics::new(day);
            let mut rng = streams.rng(0, Purpose(99), 0);
            let gaps = DurationDist::Exponential {
                mean: SimDuration::from_secs_f64(1.0 / lambda),
            };
            let mut t = SimTime(0);
            for i in 0..arrivals {
                t += gaps.sample(&mut rng);
                let ticket = Ticket {
                    device: 0,
                    index: i,
                    challenge_deadline: None,
                };
                let into = if i < warmup { &mut warm } else { &mut metrics };
                stage.submit(t, ticket, into);
            }
            metrics
        })
        .collect()
}

/// Erlang B: the blocking probability of an M/M/c/c system (c workers, no
/// waiting room) offered a = λ/μ erlangs, by the stable recursion
/// B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)).
fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, k| a * b / (k as f64 + a * b))
}

/// `queue_limit = 0` means no waiting room, not no service: Poisson
/// arrivals into c exponential workers with nowhere to wait are refused
/// exactly when all c are busy, at the Erlang B rate. (Before the fix every
/// request was refused.) Replication means, 4 standard errors.
#[test]
fn a_stage_without_waiting_room_blocks_as_erlang_b_predicts() {
    let (c, lambda) = (4u32, 3.0);
    let expected = erlang_b(c, lambda);
    assert!(
        (expected - 3.375 / 16.375).abs() < 1e-9,
        "Erlang B by hand: (3^4/4!) / Σ 3^k/k!"
    );
    let shares: Vec<f64> = poisson_into_stage(exponential_workers(c, Some(0)), lambda)
        .iter()
        .map(|m| m.counts.refused as f64 / m.counts.arrivals as f64)
        .collect();
    let (mean, se) = mean_and_se(&shares);
    assert!(
        (mean - expected).abs() <= 4.0 * se,
        "blocked share {mean:.4} vs Erlang B {expected:.4} ± {:.4}",
        4.0 * se
    );
}

/// Mean and standard error of independent replication means.
fn mean_and_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Closed form 4 at the CA stage: Poisson arrivals, c exponential workers: the mean
/// wait matches Erlang C. Independent replications give an honest standard
/// error (waits within one run are correlated); the tolerance is 4 of them.
#[test]
fn ca_queue_mean_wait_matches_erlang_c() {
    let (c, lambda, mu) = (4u32, 3.0, 1.0);
    let expected = erlang_c_wait(c, lambda, mu);
    assert!(
        (expected - 0.509434).abs() < 1e-5,
        "Erlang C by hand: 13.5/26.5 s"
    );
    let means: Vec<f64> = poisson_into_stage(exponential_workers(c, None), lambda)
        .iter()
        .map(|m| m.wait_total.as_secs_f64() / m.waits.len() as f64)
        .collect();
    let (mean, se) = mean_and_se(&means);
    assert!(
        (mean - expected).abs() <= 4.0 * se,
        "mean wait {mean:.4} s vs Erlang C {expected:.4} s ± {:.4}",
        4.0 * se
    );
}

/// Closed form 4 through the whole engine: a steady always-on fleet whose renewals
/// arrive as a Poisson stream (uniform window openings) at λ = 3/s into a
/// CA of 4 workers of mean 1 s; the mean wait in summary.json matches
/// Erlang C across seeds.
#[test]
fn fleet_renewals_queue_at_the_ca_as_erlang_c_predicts() {
    let (c, lambda, mu) = (4u32, 3.0, 1.0);
    let expected = erlang_c_wait(c, lambda, mu);
    // L − R = 1 day = 86,400 s, so N = λ · 86,400 devices; 4 h of it.
    let n = (lambda * 86_400.0) as u64;
    let means: Vec<f64> = (0..8)
        .map(|seed| {
            let s = scenario(&format!(
                r#"
name = "8.4"
start = "2025-01-01"
horizon = "4h"
seed = {seed}
[[cohorts]]
name = "servers"
count = {n}
lifetime = "2d"
power = {{ schedule = "always_on" }}
client = {{ triggers = [{{ kind = "periodic", every = "1m" }}], renewal = {{ rule = "before_expiry", window = "1d" }} }}
[ca]
workers = {c}
service_time = {{ dist = "exponential", mean = "1s" }}
"#
            ));
            summary(&s).ca.wait_mean_s
        })
        .collect();
    let (mean, se) = mean_and_se(&means);
    assert!(
        (mean - expected).abs() <= 4.0 * se,
        "mean wait {mean:.4} s vs Erlang C {expected:.4} s ± {:.4}",
        4.0 * se
    );
}
