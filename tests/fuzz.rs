//! Property tests: mutated scenarios (keys deleted, values replaced by
//! other types, junk keys inserted, numbers pushed to negative, huge or NaN,
//! units swapped, raw characters inserted) never make certfleet panic, from
//! loading through validation and the memory estimate to a run of a tiny
//! fleet with every runtime invariant checked. A valid mutant is shrunk to
//! a handful of devices and a short horizon, and its run is cut off after a
//! fixed number of events, so each case is cheap.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use proptest::prelude::*;
use proptest::sample::Index;
use toml::Value;

use certfleet::engine::SimDuration;
use certfleet::report::Summary;
use certfleet::scenario;
use certfleet::simulation::{RunError, RunOptions, Simulation};

const BASE: &str = include_str!("data/small.toml");

/// Cases per test function; four functions run in parallel.
const CASES: u32 = 2_500;

#[derive(Clone, Debug)]
enum Mutation {
    /// Remove the n-th key (any depth).
    Delete(Index),
    /// Replace the n-th leaf value.
    Replace(Index, Value),
    /// Add a key to the n-th table.
    Insert(Index, String, Value),
    /// Scale and shift the n-th number (or the number in a duration).
    Perturb(Index, f64),
    /// Rewrite the unit of the n-th duration string.
    SwapUnit(Index, &'static str),
    /// Insert raw text at a position of the file.
    Raw(Index, &'static str),
}

const UNITS: [&str; 12] = [
    "ms", "s", "m", "h", "d", "w", "y", "dayz", "", " d", "min", "yr",
];
const STRINGS: [&str; 30] = [
    "0",
    "1ms",
    "1s",
    "41d",
    "1000000y",
    "-3h",
    "41 dayz",
    "",
    "1e3d",
    "99999999999999999d",
    "2025-13-01",
    "0000-01-01",
    "9999-12-31T23:59:59Z",
    "2025-02-29",
    "24:00",
    "-14:00",
    "+14:00",
    "office",
    "laptop",
    "always_on",
    "on_off",
    "random_slots",
    "anytime",
    "manual_recovery",
    "new_request",
    "steady",
    "ramp",
    "exponential",
    "weibull",
    "random",
];
const RAW: [&str; 10] = [
    "\"",
    "[",
    "]",
    "{",
    "=",
    ",",
    "\n",
    "#",
    "x = 1\n",
    "[[cohorts]]\n",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Integer),
        (-5i64..50).prop_map(Value::Integer),
        proptest::num::f64::ANY.prop_map(Value::Float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-1.0),
            Just(1.3),
            Just(0.0),
            Just(1e300),
            Just(1e-300)
        ]
        .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
        proptest::sample::select(&STRINGS[..]).prop_map(|s| Value::String(s.into())),
        "[a-z0-9 .:+-]{0,8}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::vec(("[a-z_]{1,8}", inner), 0..3)
                .prop_map(|kv| Value::Table(kv.into_iter().collect())),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let keys = prop_oneof![
        proptest::sample::select(
            &[
                "junk", "count", "window", "kind", "dist", "rule", "schedule", "action", "pattern",
                "delay", "every", "mean", "share", "from", "to", "duration",
            ][..]
        )
        .prop_map(String::from),
        "[a-z_]{1,12}",
    ];
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::Delete),
        4 => (any::<Index>(), value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => (any::<Index>(), keys, value()).prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
        3 => (any::<Index>(), prop_oneof![
            Just(-1.0), Just(0.0), Just(1e6), Just(1e12), Just(1e18), Just(f64::NAN),
            Just(0.5), Just(-1e18), -10.0..10.0f64
        ]).prop_map(|(i, f)| Mutation::Perturb(i, f)),
        2 => (any::<Index>(), proptest::sample::select(&UNITS[..]))
            .prop_map(|(i, u)| Mutation::SwapUnit(i, u)),
        1 => (any::<Index>(), proptest::sample::select(&RAW[..]))
            .prop_map(|(i, r)| Mutation::Raw(i, r)),
    ]
}

/// Calls `f` on every leaf value (depth first) until it returns true.
fn leaves(v: &mut Value, f: &mut dyn FnMut(&mut Value) -> bool) -> bool {
    match v {
        Value::Table(t) => t.iter_mut().any(|(_, v)| leaves(v, f)),
        Value::Array(a) => a.iter_mut().any(|v| leaves(v, f)),
        leaf => f(leaf),
    }
}

/// Calls `f` on every table (depth first) until it returns true.
fn tables(v: &mut Value, f: &mut dyn FnMut(&mut toml::Table) -> bool) -> bool {
    match v {
        Value::Table(t) => f(t) || t.iter_mut().any(|(_, v)| tables(v, f)),
        Value::Array(a) => a.iter_mut().any(|v| tables(v, f)),
        _ => false,
    }
}

fn count_leaves(v: &mut Value) -> usize {
    let mut n = 0;
    leaves(v, &mut |_| {
        n += 1;
        false
    });
    n
}

fn count_tables(v: &mut Value) -> usize {
    let mut n = 0;
    tables(v, &mut |_| {
        n += 1;
        false
    });
    n
}

fn nth_leaf(doc: &mut Value, i: &Index, f: impl FnOnce(&mut Value)) {
    let n = count_leaves(doc);
    if n == 0 {
        return;
    }
    let target = i.index(n);
    let mut seen = 0;
    let mut f = Some(f);
    leaves(doc, &mut |v| {
        seen += 1;
        if seen - 1 == target {
            (f.take().unwrap())(v);
            true
        } else {
            false
        }
    });
}

fn nth_table(doc: &mut Value, i: &Index, f: impl FnOnce(&mut toml::Table)) {
    let n = count_tables(doc);
    let target = i.index(n.max(1));
    let mut seen = 0;
    let mut f = Some(f);
    tables(doc, &mut |t| {
        seen += 1;
        if seen - 1 == target {
            (f.take().unwrap())(t);
            true
        } else {
            false
        }
    });
}

/// Splits "41d" into (41, "d").
fn split_number(s: &str) -> Option<(f64, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    Some((s[..end].parse().ok()?, &s[end..]))
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut doc: Value = Value::Table(toml::from_str(text).expect("the base scenario parses"));
    let mut raw = Vec::new();
    for m in mutations {
        match m {
            Mutation::Delete(i) => {
                nth_table(&mut doc, i, |t| {
                    let keys: Vec<String> = t.keys().cloned().collect();
                    if !keys.is_empty() {
                        t.remove(&keys[i.index(keys.len())]);
                    }
                });
            }
            Mutation::Replace(i, v) => nth_leaf(&mut doc, i, |leaf| *leaf = v.clone()),
            Mutation::Insert(i, k, v) => nth_table(&mut doc, i, |t| {
                t.insert(k.clone(), v.clone());
            }),
            Mutation::Perturb(i, f) => nth_leaf(&mut doc, i, |leaf| match leaf {
                Value::Integer(n) => *n = (*n as f64 * f) as i64,
                Value::Float(x) => *x *= f,
                Value::String(s) => {
                    if let Some((n, unit)) = split_number(s) {
                        *s = format!("{}{unit}", n * f);
                    }
                }
                _ => {}
            }),
            Mutation::SwapUnit(i, u) => nth_leaf(&mut doc, i, |leaf| {
                if let Value::String(s) = leaf {
                    if let Some((n, _)) = split_number(s) {
                        *s = format!("{n}{u}");
                    }
                }
            }),
            Mutation::Raw(i, r) => raw.push((*i, *r)),
        }
    }
    let mut out = toml::to_string(&doc).unwrap_or_default();
    for (i, r) in raw {
        let mut at = i.index(out.len() + 1);
        while !out.is_char_boundary(at) {
            at -= 1;
        }
        out.insert_str(at, r);
    }
    out
}

/// Load → validate → estimate → run a tiny fleet → summarise: no panic,
/// and no invariant violated.
fn check_no_panic(text: &str) -> Result<(), TestCaseError> {
    let path = Path::new("mutant.toml");
    let scenario = match scenario::parse(text, path) {
        Err(errors) => {
            let message = errors.to_string();
            prop_assert!(message.starts_with("mutant.toml"), "{message}");
            return Ok(());
        }
        Ok(s) => s,
    };
    let _ = scenario::memory::estimate(&scenario, true);
    let mut tiny = scenario;
    for c in &mut tiny.cohorts {
        c.count = c.count.min(3);
    }
    tiny.horizon = tiny.horizon.min(SimDuration::from_days(40));
    let checks = AtomicU32::new(0);
    // The run is cut off after ~130,000 events: a mutant may legitimately
    // describe a fleet that tries every second.
    let stop = || checks.fetch_add(1, Ordering::Relaxed) >= 8;
    let options = RunOptions {
        check_invariants: true,
        ..Default::default()
    };
    match Simulation::run_until(&tiny, options, &stop) {
        Ok(result) => {
            let _ = Summary::new(&result);
        }
        Err(RunError::Interrupted { .. }) => {}
        Err(e) => prop_assert!(false, "{e}\nscenario:\n{text}"),
    }
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn the_base_scenario_is_valid_and_runs() {
    check_no_panic(BASE).unwrap();
    assert!(scenario::parse(BASE, Path::new("small.toml")).is_ok());
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn one_mutation_never_panics(m in mutation()) {
        check_no_panic(&apply(BASE, &[m]))?;
    }

    #[test]
    fn two_mutations_never_panic(ms in proptest::collection::vec(mutation(), 2..=2)) {
        check_no_panic(&apply(BASE, &ms))?;
    }

    #[test]
    fn value_mutations_never_panic(
        ms in proptest::collection::vec(
            mutation().prop_filter("value changes", |m| matches!(
                m,
                Mutation::Replace(..) | Mutation::Perturb(..) | Mutation::SwapUnit(..)
            )),
            1..=3,
        )
    ) {
        check_no_panic(&apply(BASE, &ms))?;
    }

    #[test]
    fn many_mutations_never_panic(ms in proptest::collection::vec(mutation(), 3..=5)) {
        check_no_panic(&apply(BASE, &ms))?;
    }
}
