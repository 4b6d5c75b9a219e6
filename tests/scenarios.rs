//! The scenario library (`scenarios/*.toml`): every file loads and runs, and
//! each file's headline EXPECTATION (written in its header) holds.
//!
//! Each check runs its scenario at the scale noted beside it: small where the
//! statistics allow, full where the question is about a fleet's absolute
//! size against a fixed CA (a CA's queue does not shrink with the fleet).
//! Tolerances come from the sample size (4 standard errors, as in
//! `closed_forms.rs`), never from what a run happened to give.

use std::path::{Path, PathBuf};

use certfleet::engine::calendar::parse_instant;
use certfleet::model::Scenario;
use certfleet::report::Summary;
use certfleet::simulation::RunResult;

use crate::common::{assert_binomial, run, MINUTES_PER_DAY};

fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn load(name: &str) -> Scenario {
    let path = library().join(format!("{name}.toml"));
    certfleet::scenario::load(&path).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()))
}

/// Runs `name` at `scale` (with invariant checks and request conservation).
fn run_scaled(name: &str, scale: f64) -> (RunResult, Summary) {
    let s = load(name).scaled(scale);
    let result = run(&s);
    let summary = Summary::new(&result);
    (result, summary)
}

/// The simulated minute of a UTC instant in `s`.
fn minute_of(s: &Scenario, instant: &str) -> usize {
    let unix = parse_instant(instant).expect("a valid instant");
    s.calendar().sim_time(unix).minute() as usize
}

/// Arrivals in minutes [from, to) of a per-minute series.
fn sum(series: &[u32], from: usize, to: usize) -> u64 {
    series[from.min(series.len())..to.min(series.len())]
        .iter()
        .map(|&n| n as u64)
        .sum()
}

/// The files this module checks by name; any other file in `scenarios/`
/// is only run (below).
const CHECKED: [&str; 9] = [
    "intune-mdm-office",
    "covid-office-closure",
    "scep-ndes-outage",
    "adcs-template-bump",
    "adcs-template-bump-troubled-ca",
    "logon-storm",
    "tls-lifetime-reduction",
    "mass-revocation-24h",
    "bench-1m",
];

/// Every `scenarios/*.toml`, new ones included, loads and runs at a small
/// scale with the engine's invariant checks on. The library's own files
/// open with their QUESTION, SOURCES, HOW TO READ and EXPECTATION.
#[test]
fn every_scenario_in_the_library_runs() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(library())
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= CHECKED.len(), "files: {files:?}");
    for path in &files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let s =
            certfleet::scenario::load(path).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
        // bench-1m is a million devices: a thousandth is plenty to run it.
        let scale = if stem == "bench-1m" { 0.001 } else { 0.01 };
        let result = run(&s.scaled(scale));
        assert!(result.events > 0, "{stem}: nothing happened");
        if CHECKED.contains(&stem.as_str()) && stem != "bench-1m" {
            let text = std::fs::read_to_string(path).unwrap();
            for part in ["QUESTION", "SOURCES", "HOW TO READ", "EXPECTATION", "Run:"] {
                assert!(text.contains(part), "{stem}: header lacks {part}");
            }
        }
    }
    for name in CHECKED {
        assert!(
            files.iter().any(|p| p.file_stem().unwrap() == name),
            "scenarios/{name}.toml is missing"
        );
    }
}

/// intune-mdm-office, full scale (20,000 devices, well under a second): the
/// laptops' 1.25 % needs thousands of laptops to be pinned to ±0.5 %.
#[test]
fn intune_mdm_office_strands_the_laptops_left_in_a_drawer() {
    let (_, s) = run_scaled("intune-mdm-office", 1.0);
    let office = &s.cohorts["office-pcs"];
    let laptops = &s.cohorts["laptops"];
    assert_eq!(office.devices_expired, 0, "office PCs never miss 41 days");
    // 5 % of laptops dark for U(30, 240) days starting U(0, 724 d): P(a
    // whole 41-day window, one every 324 days, falls inside the dark
    // stretch and ends before the horizon) — 0.0125 by numerical
    // integration (Monte Carlo, 2·10⁶ draws; its own error is negligible).
    assert_binomial(
        laptops.expiry_rate,
        0.0125,
        laptops.devices,
        "laptop expiry rate",
    );
    assert_eq!(laptops.stranded_at_end, laptops.devices_expired);
    // Far below the CA's capacity (8 workers at 0.5 s: 960 a minute).
    assert!(
        s.ca.max_queue <= 8 && s.ca.peak_minute.arrivals < 50,
        "{:?}",
        s.ca
    );
}

/// covid-office-closure at 0.25 (2,500 PCs a cohort): the strict and
/// lenient stranded shares (9.6 % and 4.5 %) have standard errors of 0.59
/// and 0.41 points, so their 5-point gap is about 7 standard errors.
#[test]
fn covid_office_closure_accepting_expired_certificates_strands_fewer() {
    let (_, s) = run_scaled("covid-office-closure", 0.25);
    let strict = &s.cohorts["strict"];
    let lenient = &s.cohorts["accepts-expired"];
    // Closed form (numerical integration, as the header explains): 13 % dark
    // from U(2020-03-16, +4 d) for D ~ U(90, 540) days; the window [w, w +
    // 41 d), w uniform over the 324-day cycle, is missed if it lies inside
    // the dark stretch: P = 0.0962. A lenient server saves those back within
    // 180 days of expiry: stranded 0.0453.
    let (expired, stranded_lenient) = (0.0962, 0.0453);
    let rate = |n: u64, c: &certfleet::report::summary::CohortSummary| n as f64 / c.devices as f64;
    assert_binomial(strict.expiry_rate, expired, strict.devices, "strict expiry");
    assert_binomial(
        lenient.expiry_rate,
        expired,
        lenient.devices,
        "lenient expiry",
    );
    assert_eq!(strict.stranded_at_end, strict.devices_expired);
    assert_binomial(
        rate(lenient.stranded_at_end, lenient),
        stranded_lenient,
        lenient.devices,
        "lenient stranded",
    );
    // Strictly lower, by at least 4 standard errors of the difference.
    let (p1, p2) = (
        rate(strict.stranded_at_end, strict),
        rate(lenient.stranded_at_end, lenient),
    );
    let se =
        (p1 * (1.0 - p1) / strict.devices as f64 + p2 * (1.0 - p2) / lenient.devices as f64).sqrt();
    assert!(
        p1 - p2 > 4.0 * se,
        "stranded strict {p1:.4} vs lenient {p2:.4} (se of difference {se:.4})"
    );
    assert!(lenient.expired_device_days < strict.expired_device_days);
}

/// scep-ndes-outage at 0.1 (3,000 PCs): about 2,000 devices' windows open
/// during the outage, so the Thursday backlog (~770 in an hour) dwarfs a
/// normal morning (~300).
#[test]
fn scep_ndes_outage_fails_at_ndes_then_the_backlog_peaks_and_nothing_expires() {
    let (result, s) = run_scaled("scep-ndes-outage", 0.1);
    let scenario = &result.scenario;
    let outage = scenario.events[0].window(scenario.calendar());
    let (from, to) = (outage.from.minute() as usize, outage.to.minute() as usize);
    let ndes = result
        .stages
        .iter()
        .find(|st| st.name == "ndes")
        .expect("an ndes stage");
    let failed = &ndes.metrics.minutes.failed_outage;
    assert!(sum(failed, from, to) > 0, "NDES fails requests while down");
    assert_eq!(
        sum(failed, 0, from) + sum(failed, to, failed.len()),
        0,
        "NDES fails requests only while down"
    );
    let ca = &result.ca.minutes.arrivals;
    assert_eq!(
        sum(ca, from, to),
        0,
        "nothing reaches the CA during the outage"
    );
    let peak_hour = minute_of(scenario, &s.ca.peak_hour.at);
    assert!(
        (to..to + MINUTES_PER_DAY).contains(&peak_hour),
        "the CA's busiest hour ({}) starts within a day after NDES returns",
        s.ca.peak_hour.at
    );
    let pcs = &s.cohorts["windows-pcs"];
    assert_eq!(pcs.devices_expired, 0, "73 days of window absorb 3 days");
    assert_eq!(pcs.renewals, pcs.devices, "every device renews once");
    assert!(pcs.ca_failed_outage > 0 && pcs.tries > pcs.renewals);
}

/// adcs-template-bump and its troubled-CA twin, full scale: the question is
/// 40,000 machines against a CA of fixed capacity (at a hundredth of the
/// fleet the troubled CA would keep up). Both run in well under a second.
#[test]
fn adcs_template_bump_troubled_ca_queues_orders_of_magnitude_longer() {
    let healthy_scenario = load("adcs-template-bump");
    let troubled_scenario = load("adcs-template-bump-troubled-ca");
    // The pair differs only in the CA (and the name).
    assert_eq!(healthy_scenario.cohorts, troubled_scenario.cohorts);
    assert_eq!(healthy_scenario.events, troubled_scenario.events);
    assert_eq!(healthy_scenario.server, troubled_scenario.server);
    assert_eq!(healthy_scenario.stages, troubled_scenario.stages);
    assert_eq!(
        (
            healthy_scenario.start,
            healthy_scenario.horizon,
            healthy_scenario.seed
        ),
        (
            troubled_scenario.start,
            troubled_scenario.horizon,
            troubled_scenario.seed
        )
    );
    let healthy = Summary::new(&run(&healthy_scenario));
    let troubled = Summary::new(&run(&troubled_scenario));
    for s in [&healthy, &troubled] {
        assert!(
            s.totals.renewals >= s.totals.devices,
            "every machine re-enrolls"
        );
        assert_eq!(s.totals.devices_expired, 0);
        let bump = minute_of(&healthy_scenario, "2025-03-04T09:00:00Z");
        let peak = minute_of(&healthy_scenario, &s.ca.peak_hour.at);
        assert!(
            (bump..bump + 8 * 60).contains(&peak),
            "peak hour {} within 8 h of the bump",
            s.ca.peak_hour.at
        );
    }
    assert!(
        troubled.ca.max_queue >= 100 * healthy.ca.max_queue.max(1),
        "queue: troubled {} vs healthy {}",
        troubled.ca.max_queue,
        healthy.ca.max_queue
    );
    assert!(troubled.ca.wait_p50_s > 3600.0, "{:?}", troubled.ca);
    assert!(healthy.ca.wait_p99_s < 1.0, "{:?}", healthy.ca);
}

/// logon-storm at 0.1 (500 PCs): ~400 log on in the bell, ~30 in its
/// busiest minute, against a day's mean of ~0.35 a minute; the threshold
/// (20 × the mean, ~7) is many Poisson standard deviations below.
#[test]
fn logon_storm_peaks_at_nine_local() {
    let (result, s) = run_scaled("logon-storm", 0.1);
    let scenario = &result.scenario;
    let peak = minute_of(scenario, &s.ca.peak_minute.at);
    let (lo, hi) = (
        minute_of(scenario, "2025-03-10T07:45:00Z"),
        minute_of(scenario, "2025-03-10T08:15:00Z"),
    );
    assert!(
        (lo..=hi).contains(&peak),
        "peak minute {} between 08:45 and 09:15 local",
        s.ca.peak_minute.at
    );
    let day = minute_of(scenario, "2025-03-10T00:00:00Z");
    let day_mean = sum(&result.ca.minutes.arrivals, day, day + MINUTES_PER_DAY) as f64
        / MINUTES_PER_DAY as f64;
    assert!(
        s.ca.peak_minute.arrivals as f64 >= 20.0 * day_mean,
        "peak minute {} vs the day's mean {day_mean:.3}",
        s.ca.peak_minute.arrivals
    );
    assert_eq!(s.totals.renewals, s.totals.devices);
}

/// tls-lifetime-reduction at 0.1 (10,000 sites): the 398-day stretch holds
/// ~13,700 arrivals, the others 6,700–91,000, so the ratios have relative
/// standard errors of 1–1.7 % (Poisson, an overestimate: each site renews
/// on a near-fixed period, so counts vary less).
#[test]
fn tls_lifetime_reduction_load_grows_as_one_over_the_lifetime() {
    let (result, s) = run_scaled("tls-lifetime-reduction", 0.1);
    let scenario = &result.scenario;
    assert_eq!(s.totals.devices_expired, 0);
    let arrivals = &result.ca.minutes.arrivals;
    let count = |from: &str, to: &str| {
        let (a, b) = (minute_of(scenario, from), minute_of(scenario, to));
        let n = sum(arrivals, a, b);
        (n, n as f64 / ((b - a) as f64 / MINUTES_PER_DAY as f64))
    };
    // Each site renews every 2/3·L (+ certbot's timer delay: its twice-daily
    // run at a random time in each 12-hour slot comes a mean 7 h after the
    // renewal is due, plus a mean 240 s sleep), so the fleet's daily rate is
    // Σ N_c / (2/3·L + δ_c) (closed form 3, docs/model.md).
    let n_of = |name: &str| s.cohorts[name].devices as f64;
    let delta_certbot = 7.0 / 24.0 + 240.0 / 86_400.0;
    let expected_rate = |lifetime: f64| {
        n_of("certbot") / (2.0 / 3.0 * lifetime + delta_certbot)
            + n_of("ari") / (2.0 / 3.0 * lifetime)
    };
    let (n0, rate0) = count("2025-03-15T00:00:00Z", "2026-03-15T00:00:00Z");
    for (from, to, lifetime) in [
        ("2026-12-15T00:00:00Z", "2027-03-15T00:00:00Z", 200.0),
        ("2027-08-01T00:00:00Z", "2029-03-15T00:00:00Z", 100.0),
        ("2029-06-01T00:00:00Z", "2030-03-15T00:00:00Z", 47.0),
    ] {
        let (n, rate) = count(from, to);
        let ratio = rate / rate0;
        let expected = expected_rate(lifetime) / expected_rate(398.0);
        let se = expected * (1.0 / n as f64 + 1.0 / n0 as f64).sqrt();
        assert!(
            (ratio - expected).abs() <= 4.0 * se,
            "{lifetime} days: arrivals/day {rate:.1} = {ratio:.3} × the 398-day rate, \
             expected {expected:.3} ± {:.3} (≈ 398/{lifetime} = {:.3})",
            4.0 * se,
            398.0 / lifetime
        );
    }
}

/// mass-revocation-24h at 0.2 (10,000 sites a cohort, ~260 revoked each):
/// the certbot count's binomial standard error is ~16 on ~256.
#[test]
fn mass_revocation_ari_replaces_everything_in_time_certbot_does_not() {
    let (result, s) = run_scaled("mass-revocation-24h", 0.2);
    let ari = &s.cohorts["ari"];
    let certbot = &s.cohorts["certbot"];
    assert_eq!(
        ari.revoked_unreplaced, 0,
        "ARI clients poll every 6 h < 24 h"
    );
    assert_eq!(ari.expired_device_days, 0.0);
    // A revoked certbot certificate is replaced in time only if its normal
    // renewal (every 60 days + a mean 7 h) falls in the 24 hours.
    let share = 0.026;
    for (name, c) in [("ari", ari), ("certbot", certbot)] {
        assert_binomial(
            c.revoked as f64 / c.devices as f64,
            share,
            c.devices,
            &format!("{name} revoked"),
        );
    }
    let in_time = 1.0 / (60.0 + 7.0 / 24.0);
    assert_binomial(
        certbot.revoked_unreplaced as f64 / certbot.devices as f64,
        share * (1.0 - in_time),
        certbot.devices,
        "certbot revoked and unreplaced",
    );
    // The ARI wave: the revoked ARI certificates all come within 6 hours.
    let scenario = &result.scenario;
    let at = minute_of(scenario, "2025-06-10T16:00:00Z");
    let wave = sum(&result.ca.minutes.arrivals, at, at + 6 * 60) as f64;
    let before = sum(&result.ca.minutes.arrivals, at - 6 * 60, at) as f64;
    let expected_extra = share * ari.devices as f64;
    assert!(
        (wave - before - expected_extra).abs()
            <= 4.0 * (wave + before).sqrt(),
        "6 h after the revocation: {wave} arrivals vs {before} before; expected ~{expected_extra} more"
    );
}

/// The figure a library file's header names on its `# HEADLINE.` line,
/// as a JSON pointer (`stages.ndes.failed_outage` → `/stages/ndes/failed_outage`).
fn headline_key(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with("# HEADLINE."))?;
    let start = line.find('`')? + 1;
    let end = start + line[start..].find('`')?;
    Some(
        line[start..end]
            .split('.')
            .map(|p| format!("/{p}"))
            .collect(),
    )
}

/// Every library file (but the benchmark) says in its header which headline
/// figure answers its question; the run's headline holds that figure, the
/// printed summary shows its value, and report.html shows it in "The answer"
/// with the value from summary.json. Run at 2 %: only the choice of figures
/// and their agreement are checked here, not the values.
#[test]
fn every_scenario_headline_names_the_figure_that_answers_it() {
    use certfleet::report::{html, print_summary};
    for entry in std::fs::read_dir(library()).expect("scenarios/ exists") {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_none_or(|x| x != "toml") || stem == "bench-1m" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let key = headline_key(&text).unwrap_or_else(|| panic!("{stem}: no `# HEADLINE.` line"));
        let (_, summary) = run_scaled(&stem, 0.02);
        let json = serde_json::to_value(&summary).unwrap();
        let value = json
            .pointer(&key)
            .unwrap_or_else(|| panic!("{stem}: {key} is not in summary.json"));
        let item = summary
            .headline
            .iter()
            .find(|h| h.key == key)
            .unwrap_or_else(|| panic!("{stem}: {key} is not among the headline figures"));
        let shown = item.show.format(value);
        let mut printed = Vec::new();
        print_summary(&summary, &mut printed).unwrap();
        let printed = String::from_utf8(printed).unwrap();
        assert!(
            printed
                .lines()
                .any(|l| l.contains(&item.label) && l.trim_end().ends_with(&shown)),
            "{stem}: the printed summary does not show {} = {shown}:\n{printed}",
            item.label
        );
        let page = html::run_report(&summary, &[]);
        let section = &page[page
            .find("<section id=\"headline\">")
            .expect("headline section")..];
        let section = &section[..section.find("</section>").unwrap()];
        let span = format!(
            "data-key=\"{key}\" data-value=\"{}\"",
            value.to_string().replace('"', "&quot;")
        );
        assert!(
            section.contains(&span),
            "{stem}: report.html's answer lacks {span}"
        );
    }
}
