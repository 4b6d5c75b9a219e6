//! Sweeps: statistics against closed forms, sharding, resuming, and the
//! recommendation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use certfleet::sweep::output::write_shard_file;
use certfleet::sweep::recommend::{recommend, Candidate, Status};
use certfleet::sweep::stats::{t975, MetricStats};
use certfleet::sweep::{
    execute, merge, spec, write_outputs, Executed, Plan, Shard, SweepOutcome, SweepSpec, Targets,
};

/// Closed form 2 (docs/model.md): each device is online in each 4-hour slot independently
/// with probability p; one periodic trigger every 4 h at a random phase, no
/// boot trigger, so a window of k × 4 h holds exactly k triggers, each in its
/// own slot; everyone enrolled at the start; a CA far above the load; the
/// server accepts any time; an expired certificate strands the device.
/// Then P(expiry) = (1 − p)^k.
fn closed_form(count: u64, p: f64, window: &str) -> String {
    format!(
        r#"name = "closed-form"
start = "2025-01-01T00:00:00Z"
horizon = "10d1h"
seed = 42

[[cohorts]]
name = "slots"
count = {count}
lifetime = "10d"
enrollment = {{ pattern = "at", at = "2025-01-01T00:00:00Z" }}
power = {{ schedule = "random_slots", p_online = {p}, slot = "4h" }}

[cohorts.client]
triggers = [{{ kind = "periodic", every = "4h" }}]
renewal = {{ rule = "before_expiry", window = "{window}" }}
on_expiry = {{ action = "stranded" }}

[server]
renewal = {{ rule = "anytime" }}

[ca]
workers = 10000
service_time = {{ dist = "fixed", value = "1ms" }}
"#
    )
}

fn spec_of(params: &[&str], replications: u32, targets: Targets) -> SweepSpec {
    SweepSpec {
        params: params
            .iter()
            .map(|p| spec::param_from_arg(p).unwrap())
            .collect(),
        replications,
        targets,
    }
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

fn run_all(plan: &Plan, runs: &Path, threads: usize) -> Executed {
    let all: Vec<usize> = (0..plan.manifest.tasks.len()).collect();
    execute(
        plan,
        &all,
        runs,
        &pool(threads),
        &|_: usize, _: usize| {},
        &|| false,
    )
    .unwrap()
}

/// Runs a whole sweep into `out` as `certfleet sweep` does.
fn sweep(plan: &Plan, out: &Path, threads: usize) -> (Executed, SweepOutcome) {
    let executed = run_all(plan, &out.join("runs"), threads);
    let outcome = write_outputs(&plan.manifest, &executed.records, out).unwrap();
    (executed, outcome)
}

fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn sweep_matches_the_closed_form_at_every_point() {
    // 2 × 4 points, 2 replications of 10,000 devices: each point's mean
    // expiry rate is a binomial share of n = 20,000 independent devices,
    // sd = sqrt(q(1 − q)/n) ≤ 0.0036. A 4.5 sd bound is a false alarm with
    // probability 6.8e-6 per point, 5.4e-5 for all eight.
    let text = closed_form(10_000, 0.5, "4h");
    let spec = spec_of(
        &[
            "cohorts.*.power.p_online=0.3,0.6",
            "cohorts.*.client.renewal.window=4h..16h/4h",
        ],
        2,
        Targets::default(),
    );
    let plan = Plan::new(&text, Path::new("closed-form.toml"), spec, None).unwrap();
    assert_eq!(plan.manifest.points.len(), 8);
    let dir = tempfile::tempdir().unwrap();
    let (_, outcome) = sweep(&plan, &dir.path().join("out"), 2);
    for (point, stats) in plan.manifest.points.iter().zip(&outcome.points) {
        let p = point.values[0].as_number().unwrap();
        let k = (point.values[1].as_number().unwrap() * 24.0 / 4.0).round() as i32;
        let q = (1.0 - p).powi(k);
        let n = 20_000.0;
        let sd = (q * (1.0 - q) / n).sqrt();
        let got = stats.metrics["expiry_rate"].mean;
        assert!(
            (got - q).abs() <= 4.5 * sd,
            "{}: expiry rate {got}, closed form (1 − p)^k = {q} ± {}",
            point.label,
            4.5 * sd
        );
    }
}

#[test]
fn ci_half_width_shrinks_as_one_over_sqrt_r() {
    // One point, q = 0.5 (p = 0.5, k = 1), n = 400 devices per run: the
    // replications' expiry rates are independent with σ² = q(1 − q)/n.
    // The half-width is t(R−1)·s/√R, and (R − 1)s²/σ² ~ χ²(R − 1), so
    // hw·√R / t(R−1) / σ must lie within sqrt(χ²quantile/(R − 1)). With the
    // 5e-5 and 1 − 5e-5 quantiles (z = ±3.89, Wilson–Hilferty) each check
    // is a false alarm with probability 1e-4; the binomial's normality at
    // n = 400 is ample for this.
    let sigma = (0.25f64 / 400.0).sqrt();
    let dir = tempfile::tempdir().unwrap();
    let mut widths = Vec::new();
    for r in [8u32, 32, 128] {
        let text = closed_form(400, 0.5, "4h");
        let spec = spec_of(
            &["cohorts.*.client.renewal.window=4h"],
            r,
            Targets::default(),
        );
        let plan = Plan::new(&text, Path::new("closed-form.toml"), spec, None).unwrap();
        let (_, outcome) = sweep(&plan, &dir.path().join(format!("r{r}")), 2);
        let e = outcome.points[0].metrics["expiry_rate"];
        let hw = e.half_width();
        let s = hw * (r as f64).sqrt() / t975(r - 1);
        let nu = (r - 1) as f64;
        let wh = |z: f64| nu * (1.0 - 2.0 / (9.0 * nu) + z * (2.0 / (9.0 * nu)).sqrt()).powi(3);
        let (lo, hi) = (
            sigma * (wh(-3.89) / nu).sqrt(),
            sigma * (wh(3.89) / nu).sqrt(),
        );
        assert!(
            s >= lo && s <= hi,
            "R = {r}: half-width {hw} implies s = {s}, expected σ = {sigma} within [{lo}, {hi}]"
        );
        widths.push((r, hw));
    }
    // The same, read as a ratio: from R = 8 to R = 128 the half-width falls
    // by about √16 = 4 (times t(7)/t(127) = 1.19 for the t quantiles).
    let ratio = widths[0].1 / widths[2].1;
    assert!(ratio > 2.0 && ratio < 10.0, "{widths:?}");
}

fn small_plan(count: u64) -> Plan {
    let text = closed_form(count, 0.4, "8h");
    let spec = spec_of(
        &["cohorts.*.client.renewal.window=4h,8h,12h"],
        3,
        Targets {
            max_expiry_rate: Some(0.3),
            max_peak_per_hour: None,
        },
    );
    Plan::new(&text, Path::new("closed-form.toml"), spec, None).unwrap()
}

#[test]
fn merged_shards_equal_a_single_sweep_byte_for_byte() {
    let plan = small_plan(300);
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single");
    sweep(&plan, &single, 1);
    // At another thread count, the same bytes.
    let two = dir.path().join("two-threads");
    sweep(&plan, &two, 2);
    assert_eq!(files(&single), files(&two));

    let mut shard_dirs = Vec::new();
    for index in 0..4 {
        let shard = Shard { index, count: 4 };
        let d = dir.path().join(format!("shard-{index}"));
        write_shard_file(&d, shard, &plan.manifest).unwrap();
        let which = shard.tasks(plan.manifest.tasks.len());
        execute(
            &plan,
            &which,
            &d.join("runs"),
            &pool(2),
            &|_: usize, _: usize| {},
            &|| false,
        )
        .unwrap();
        shard_dirs.push(d);
    }
    // A missing shard is named, not papered over.
    let err = merge(&shard_dirs[..3], &dir.path().join("partial"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("runs are missing"), "{err}");

    let merged = dir.path().join("merged");
    merge(&shard_dirs, &merged).unwrap();
    let (a, b) = (files(&single), files(&merged));
    // 3 charts as SVG and PNG, sweep.html, 3 tables and texts, 9 runs.
    assert_eq!(a.len(), 11 + 9, "{:?}", a.keys());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(b[name] == *bytes, "{} differs", name.display());
    }
}

#[test]
fn an_interrupted_sweep_resumes_and_a_changed_scenario_does_not() {
    let plan = small_plan(200);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (first, _) = sweep(&plan, &out, 2);
    assert_eq!((first.computed, first.reused), (9, 0));
    let before = files(&out);
    // Lose two runs, as if the sweep had stopped before them.
    for task in &plan.manifest.tasks[3..5] {
        std::fs::remove_file(out.join("runs").join(format!("{}.json", task.key))).unwrap();
    }
    let (again, _) = sweep(&plan, &out, 2);
    assert_eq!((again.computed, again.reused), (2, 7));
    assert_eq!(files(&out), before);
    // A changed scenario (one device more) shares no stored result.
    let changed = small_plan(201);
    let (other, _) = sweep(&changed, &out, 2);
    assert_eq!((other.computed, other.reused), (9, 0));
    // Old records do not survive into the new outputs.
    assert_eq!(std::fs::read_dir(out.join("runs")).unwrap().count(), 9);
}

fn stats(mean: f64, lo: f64, hi: f64) -> MetricStats {
    MetricStats {
        mean,
        sd: 0.0,
        ci95: Some([lo, hi]),
    }
}

#[test]
fn recommendation_on_a_hand_built_case() {
    let c = |label: &str, e: (f64, f64, f64), p: (f64, f64, f64)| Candidate {
        label: label.into(),
        expiry_rate: stats(e.0, e.1, e.2),
        peak_hour: stats(p.0, p.1, p.2),
    };
    let points = vec![
        c("w=7d", (0.002, 0.0015, 0.0025), (100.0, 90.0, 110.0)),
        // Mean below the target, upper bound above: not accepted.
        c("w=14d", (0.0008, 0.0005, 0.0011), (120.0, 110.0, 130.0)),
        c("w=30d", (0.0005, 0.0003, 0.0007), (150.0, 140.0, 160.0)),
        c("w=60d", (0.0001, 0.0, 0.0002), (200.0, 190.0, 210.0)),
        c("w=90d", (0.0, 0.0, 0.0), (300.0, 290.0, 310.0)),
    ];
    let both = Targets {
        max_expiry_rate: Some(0.001),
        max_peak_per_hour: Some(250.0),
    };
    let r = recommend(&points, &both);
    assert_eq!(r.status, Status::Found);
    assert_eq!(r.meeting, [2, 3]);
    assert_eq!(
        r.best_point.as_deref(),
        Some("w=30d"),
        "lowest peak among those meeting both"
    );
    assert!(
        r.text.contains("upper end of the 95 % confidence interval"),
        "{}",
        r.text
    );

    // Only a load target: the lowest expiry rate among those within it.
    let load_only = Targets {
        max_expiry_rate: None,
        max_peak_per_hour: Some(250.0),
    };
    assert_eq!(
        recommend(&points, &load_only).best_point.as_deref(),
        Some("w=60d")
    );

    // Targets that conflict: each is met alone, never together.
    let tight = Targets {
        max_expiry_rate: Some(0.001),
        max_peak_per_hour: Some(135.0),
    };
    let r = recommend(&points, &tight);
    assert_eq!(r.status, Status::NoneMeets);
    assert_eq!(r.best, None);
    assert_eq!(r.misses.len(), 2);
    assert_eq!(r.misses[0].points_meeting, 3);
    assert_eq!(r.misses[1].points_meeting, 2);

    // A target no point meets: the closest and by how much.
    let strict = Targets {
        max_expiry_rate: Some(0.0001),
        max_peak_per_hour: None,
    };
    let r = recommend(&points[..4], &strict);
    assert_eq!(r.status, Status::NoneMeets);
    let miss = &r.misses[0];
    assert_eq!(miss.closest_point, "w=60d");
    assert!((miss.excess - 0.0001).abs() < 1e-12, "{miss:?}");
    assert!(r.text.contains("0.010 % too high"), "{}", r.text);

    assert_eq!(
        recommend(&points, &Targets::default()).status,
        Status::NoTargets
    );
}

#[test]
fn sweep_table_errors_point_at_the_line() {
    let text = format!(
        "{}\n[sweep]\nreplications = 2\n\n[[sweep.params]]\npath = \"cohorts.*.client.renewal.window\"\nfrom = \"4h\"\nto = \"1h\"\nstep = \"4h\"\n",
        closed_form(10, 0.5, "4h")
    );
    let e = spec::from_scenario_text(&text, Path::new("s.toml"))
        .unwrap_err()
        .to_string();
    let line = text.lines().position(|l| l.starts_with("from")).unwrap() + 1;
    assert!(
        e.starts_with(&format!("s.toml:{line}:1: `sweep.params[0].from`")),
        "{e}"
    );
    // A path the scenario does not have names the point and the missing key.
    let spec = spec_of(&["ca.nonexistent.x=1"], 1, Targets::default());
    let err = Plan::new(&closed_form(10, 0.5, "4h"), Path::new("s.toml"), spec, None)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no key `nonexistent` under `ca`"), "{err}");
}

/// `--scale` keeps the question the same: renewal-threshold at full size
/// and at 0.1 (stage capacity and the busiest-hour target scaled with the
/// fleet) reach the same recommendation, or their intervals overlap at the
/// points that decide it. Four windows around the answer (7–28 days) and
/// four replications keep it to ~20 s of CPU. Each point's expiry rate at
/// 0.1 (6,000 devices, ~5 expired) and its busiest hour (~30 requests) are
/// noisy, so the points may differ by chance; two 95 % intervals of the
/// same quantity fail to overlap with probability below 1 % (t intervals
/// of 4 replications are wider still), and the seeds are fixed, so this
/// test fails on a scaling that changes the load ratio (the CA kept at full
/// capacity, as before, or the target left at 330), not on noise.
#[test]
fn scaling_renewal_threshold_keeps_its_recommendation() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/renewal-threshold.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let targets = || Targets {
        max_expiry_rate: Some(0.001),
        max_peak_per_hour: Some(330.0),
    };
    let param = "cohorts.*.client.renewal.window,server.renewal.window=7d,14d,21d,28d";
    let run = |scale: Option<f64>, name: &str| {
        let plan = Plan::new(&text, &path, spec_of(&[param], 4, targets()), scale).unwrap();
        sweep(&plan, &dir.path().join(name), 2).1
    };
    let full = run(None, "full");
    let small = run(Some(0.1), "small");
    // What serves the fleet and the absolute target scale with it.
    let base = certfleet::scenario::parse(&text, &path).unwrap();
    let scaled = base.clone().scaled(0.1);
    let capacity = |s: &certfleet::model::Scenario| {
        s.ca.workers as f64 / s.ca.service_time.mean().as_secs_f64()
    };
    assert!((capacity(&scaled) / capacity(&base) - 0.1).abs() < 1e-9);
    let plan = Plan::new(&text, &path, spec_of(&[param], 4, targets()), Some(0.1)).unwrap();
    assert_eq!(plan.manifest.spec.targets.max_peak_per_hour, Some(33.0));

    let overlap = |a: [f64; 2], b: [f64; 2]| a[0] <= b[1] && b[0] <= a[1];
    let agree_at = |i: usize| {
        let (f, s) = (&full.points[i], &small.points[i]);
        let e = |p: &certfleet::sweep::output::PointStats| p.metrics["expiry_rate"].ci95.unwrap();
        let h = |p: &certfleet::sweep::output::PointStats, k: f64| {
            let [lo, hi] = p.metrics["peak_hour_arrivals"].ci95.unwrap();
            [lo * k, hi * k]
        };
        overlap(e(f), e(s)) && overlap(h(f, 0.1), h(s, 1.0))
    };
    let (a, b) = (full.recommendation.best, small.recommendation.best);
    assert!(
        a.is_some() && b.is_some(),
        "{full:?} / {small:?}",
        full = full.recommendation.text,
        small = small.recommendation.text
    );
    if a != b {
        for i in [a.unwrap(), b.unwrap()] {
            assert!(
                agree_at(i),
                "full size recommends {:?}, 0.1 recommends {:?}; at point {i} the intervals do not overlap",
                full.recommendation.best_point,
                small.recommendation.best_point
            );
        }
    }
}
