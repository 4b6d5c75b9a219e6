//! Runtime invariants (on in debug builds and tests, and with
//! `--check-invariants`): what must hold whatever the scenario says. A
//! violation is a bug in certfleet; it stops the run with
//! [`RunError::Invariant`] naming the device (where there is one) and the
//! simulated time, instead of producing a report that looks fine.

use crate::metrics::{CohortCounters, StageMetrics};
use crate::model::Scenario;

use super::RunError;

/// A violation at simulated `at` (already formatted as a date-time).
pub fn violation(device: Option<u64>, at: String, what: impl Into<String>) -> RunError {
    RunError::Invariant {
        device,
        at,
        what: what.into(),
    }
}

/// End-of-run checks on the counters: requests conserved at every stage
/// (each request ended exactly once; the cohorts' failures add up to the
/// stages'; no more certificates reached devices than the CA served), and
/// no count negative or larger than the fleet it counts. `stages[0]` is the CA.
pub fn check_totals(
    scenario: &Scenario,
    cohorts: &[CohortCounters],
    stages: &[StageMetrics],
    at: &str,
) -> Result<(), RunError> {
    let fail = |what: String| Err(violation(None, at.to_string(), what));
    for (i, m) in stages.iter().enumerate() {
        let c = m.counts;
        if c.arrivals != c.ended() {
            let stage = if i == 0 {
                "CA".to_string()
            } else {
                format!("stage {i}")
            };
            return fail(format!(
                "every {stage} request must end exactly once: {} arrived, {} ended ({c:?})",
                c.arrivals,
                c.ended()
            ));
        }
    }
    let sum = |f: fn(&CohortCounters) -> u64| cohorts.iter().map(f).sum::<u64>();
    let all = |f: fn(&StageMetrics) -> u64| stages.iter().map(f).sum::<u64>();
    // What the CA served within the horizon reached a device, was dropped
    // waiting for approval, or is still on its way.
    let served = stages.first().map_or(0, |m| m.counts.served);
    let received = sum(|k| k.renewals + k.approvals_dropped + k.undelivered_at_end);
    if received != served {
        return fail(format!(
            "the CA served {served} requests within the horizon but the cohorts account for {received} \
             ({} certificates received, {} dropped waiting for approval, {} not yet delivered)",
            sum(|k| k.renewals),
            sum(|k| k.approvals_dropped),
            sum(|k| k.undelivered_at_end)
        ));
    }
    for (i, m) in stages.iter().enumerate() {
        let total = |column: &[u32]| column.iter().map(|&v| u64::from(v)).sum::<u64>();
        let series = &m.minutes;
        let c = m.counts;
        for (what, in_series, counted) in [
            ("arrivals", total(&series.arrivals), c.arrivals),
            ("served", total(&series.served), c.served),
            ("refused", total(&series.refused), c.refused),
            ("timed out", total(&series.timed_out), c.timed_out),
            (
                "failed by outage",
                total(&series.failed_outage),
                c.failed_outage,
            ),
        ] {
            if in_series != counted {
                return fail(format!(
                    "stage {i}: the per-minute series holds {in_series} requests {what}, the totals {counted}"
                ));
            }
        }
    }
    let pairs = [
        (
            "refusals",
            sum(|k| k.ca_refused),
            "refused",
            all(|m| m.counts.refused),
        ),
        (
            "time-outs",
            sum(|k| k.ca_timed_out),
            "timed out",
            all(|m| m.counts.timed_out),
        ),
        (
            "outage failures",
            sum(|k| k.ca_failed_outage),
            "failed by outage",
            all(|m| m.counts.failed_outage),
        ),
    ];
    for (what, cohort_total, stage_what, stage_total) in pairs {
        if cohort_total != stage_total {
            return fail(format!("the cohorts count {cohort_total} {what} but the stages {stage_total} requests {stage_what}"));
        }
    }
    if sum(|k| k.challenge_expired) < all(|m| m.counts.challenge_expired) {
        return fail(
            "the stages rejected more expired challenges than the cohorts count".to_string(),
        );
    }
    for (spec, k) in scenario.cohorts.iter().zip(cohorts) {
        let n = k.devices;
        for (what, value) in [
            ("devices whose certificate expired", k.devices_expired),
            (
                "devices without a valid certificate at the end",
                k.invalid_at_end,
            ),
        ] {
            if value > n {
                return fail(format!(
                    "cohort {:?}: {value} {what}, more than its {n} devices",
                    spec.name
                ));
            }
        }
        if k.stranded_at_end > k.invalid_at_end {
            return fail(format!(
                "cohort {:?}: {} stranded but only {} without a certificate",
                spec.name, k.stranded_at_end, k.invalid_at_end
            ));
        }
        if k.expired_time.ms() < 0 {
            return fail(format!(
                "cohort {:?}: negative time without a certificate ({})",
                spec.name, k.expired_time
            ));
        }
        let levels = k.invalid_per_hour();
        for (hour, &level) in levels.iter().enumerate() {
            if level < 0 || level as u64 > n {
                return fail(format!("cohort {:?}: {level} devices without a valid certificate in hour {hour} (of {n})", spec.name));
            }
        }
        let level = levels.last().copied().unwrap_or(0);
        if level != k.invalid_at_end as i64 {
            return fail(format!(
                "cohort {:?}: the hourly series ends with {level} devices without a valid certificate, the totals say {}",
                spec.name, k.invalid_at_end
            ));
        }
    }
    for m in stages {
        let mut queue = 0i64;
        for (minute, (i, o)) in m
            .minutes
            .queue_in
            .iter()
            .zip(&m.minutes.queue_out)
            .enumerate()
        {
            queue += i64::from(*i) - i64::from(*o);
            if queue < 0 {
                return fail(format!(
                    "the CA queue would be {queue} long at the end of minute {minute}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::StageMetrics;

    fn scenario() -> Scenario {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/intune-mdm-office.toml"
        );
        crate::scenario::load(std::path::Path::new(path)).unwrap()
    }

    fn horizon() -> crate::engine::SimTime {
        crate::engine::SimTime(10 * crate::engine::time::MS_PER_MINUTE)
    }

    fn counters(s: &Scenario) -> Vec<CohortCounters> {
        s.cohorts
            .iter()
            .map(|c| CohortCounters {
                devices: c.count,
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn consistent_totals_pass() {
        let s = scenario();
        let mut k = counters(&s);
        let mut ca = StageMetrics::new(horizon());
        ca.counts.arrivals = 3;
        ca.counts.served = 2;
        ca.counts.refused = 1;
        ca.minutes.arrivals[0] = 3;
        ca.minutes.served[1] = 2;
        ca.minutes.refused[0] = 1;
        k[0].renewals = 2;
        k[1].ca_refused = 1;
        let h = |n: i64| crate::engine::SimTime(n * 3_600_000);
        k[0].mark_invalid(h(1), Some(h(3)));
        assert!(check_totals(&s, &k, std::slice::from_ref(&ca), "t").is_ok());
    }

    #[test]
    fn each_broken_total_is_caught() {
        let s = scenario();
        let ca = StageMetrics::new(horizon());
        type Break = Box<dyn Fn(&mut Vec<CohortCounters>, &mut StageMetrics)>;
        let cases: Vec<(&str, Break)> = vec![
            ("end exactly once", Box::new(|_, ca| ca.counts.arrivals = 1)),
            ("account for 1", Box::new(|k, _| k[0].renewals = 1)),
            (
                "per-minute series",
                Box::new(|_, ca| {
                    ca.counts.arrivals = 1;
                    ca.counts.in_system_at_end = 1;
                }),
            ),
            (
                "hourly series ends",
                Box::new(|k, _| k[0].lost_per_hour = vec![0, 1]),
            ),
            (
                "more than its",
                Box::new(|k, _| k[1].devices_expired = k[1].devices + 1),
            ),
            ("stranded", Box::new(|k, _| k[0].stranded_at_end = 1)),
            (
                "in hour 2",
                Box::new(|k, _| k[0].regained_per_hour = vec![0, 0, 1]),
            ),
            (
                "CA queue",
                Box::new(|_, ca| {
                    ca.minutes.queue_out[4] = 1;
                }),
            ),
        ];
        for (expected, break_it) in cases {
            let mut k = counters(&s);
            let mut broken = StageMetrics::new(horizon());
            broken.counts = ca.counts;
            break_it(&mut k, &mut broken);
            let err = check_totals(
                &s,
                &k,
                std::slice::from_ref(&broken),
                "2025-01-06T00:00:00Z",
            )
            .unwrap_err();
            assert!(err.to_string().contains(expected), "{expected}: {err}");
        }
    }
}
