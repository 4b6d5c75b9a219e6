//! Each preset reproduces its seed's observations on hand-worked timelines.
//! Scenarios start at midnight UTC on 2025-01-01 (day 0); triggers are
//! pinned to phase "00:00" where a timeline needs exact instants.

use certfleet::engine::{SimDuration, SimTime};
use certfleet::model::client::RenewalRule;

use crate::common::{arrival_minutes, run, scenario, MINUTES_PER_DAY, UNLIMITED_CA};

const DAY: usize = MINUTES_PER_DAY;
const HOUR: usize = 60;

fn one_device(lifetime: &str, client: &str, rest: &str) -> String {
    one_device_for("400d", lifetime, client, rest)
}

fn one_device_for(horizon: &str, lifetime: &str, client: &str, rest: &str) -> String {
    format!(
        r#"
name = "preset-timeline"
start = "2025-01-01"
horizon = "{horizon}"
[[cohorts]]
name = "device"
count = 1
lifetime = "{lifetime}"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {{ schedule = "always_on" }}
client = {client}
{rest}"#
    )
}

#[test]
fn intune_mdm_refuses_a_wider_client_window_until_the_servers_and_waits_7_days_between_tries() {
    // Ooms, "Fullmetal Certificate": RenewalPeriod set to 130 days on the client; the server
    // keeps its 41 days. The client's window opens at 365 − 130 = 235d; each
    // refused try is a failed try, so the next waits 7 days (RetryInterval):
    // 235, 242, …, 319d are refused (13 tries); the server's window opens at
    // 324d and the try at 326d is accepted.
    let s = scenario(&one_device(
        "365d",
        r#"{ preset = "intune-mdm", renewal = { window = "130d" }, triggers = [{ kind = "periodic", every = "4h", phase = "00:00" }] }"#,
        UNLIMITED_CA,
    ));
    let result = run(&s);
    let c = &result.cohorts[0];
    assert_eq!(c.not_eligible, 13);
    assert_eq!(c.tries, 14);
    assert_eq!(arrival_minutes(&result), vec![(326 * DAY, 1)]);
    assert_eq!(c.devices_expired, 0);
}

#[test]
fn intune_scep_wastes_a_challenge_not_used_within_its_hour_and_the_next_sync_brings_a_new_one() {
    // 30-day certificate, 20 % threshold: due at 24d. The sync at 24d 00:00
    // gets a challenge valid until 01:00. The proxy crawls that morning
    // (service 20 ms at capacity 5e-6: 4000 s), so the request reaches NDES
    // at 01:06:40 and NDES rejects the expired challenge; the 2nd and 3rd
    // dmcertinst attempts (1 minute apart) carry the same dead challenge and
    // fail at once. The sync at 08:00 brings a new challenge and succeeds.
    let s = scenario(&one_device_for(
        "30d",
        "30d",
        r#"{ preset = "intune-scep", triggers = [{ kind = "periodic", every = "8h", phase = "00:00" }] }"#,
        &format!(
            r#"
[stages.proxy]
timeout = "2h"
[[events]]
kind = "degraded"
target = "proxy"
from = "2025-01-25T00:00:00Z"
duration = "2h"
capacity = 0.000005
{UNLIMITED_CA}"#
        ),
    ));
    let result = run(&s);
    let ndes = &result
        .stages
        .iter()
        .find(|st| st.name == "ndes")
        .expect("ndes stage")
        .metrics;
    assert_eq!(
        ndes.counts.challenge_expired, 1,
        "NDES rejected the first attempt's challenge"
    );
    assert_eq!(ndes.counts.served, 1, "the next sync's request passed NDES");
    let c = &result.cohorts[0];
    assert_eq!(
        c.challenge_expired, 3,
        "one rejected at NDES, two attempts with a dead challenge"
    );
    assert_eq!(c.tries, 2);
    assert_eq!(
        arrival_minutes(&result),
        vec![(24 * DAY + 8 * HOUR, 1)],
        "only the second sync reached the CA"
    );
}

#[test]
fn adcs_window_opens_at_the_later_of_80_percent_and_the_renewal_period() {
    // ADCS autoenrollment (Podāns, part 2): max(issued + 0.8·L, expiry − 6 weeks).
    let rule = RenewalRule::Adcs {
        renewal_period: SimDuration::from_days(42),
        elapsed_fraction: 0.8,
    };
    let day = |d: f64| SimTime((d * 86_400_000.0).round() as i64);
    // 1 year: 0.8·365 = 292d, 365 − 42 = 323d → 323d (the shorter remaining time).
    assert_eq!(rule.opens_at(SimTime::ZERO, day(365.0), 0.0), day(323.0));
    // 2 weeks: 0.8·14 = 11.2d, 14 − 42 < 0 → 11.2d.
    assert_eq!(rule.opens_at(SimTime::ZERO, day(14.0), 0.0), day(11.2));
    // Through the engine with an hourly trigger: the first tick at or after.
    for (lifetime, minute) in [("365d", 323 * DAY), ("14d", 11 * DAY + 5 * HOUR)] {
        let s = scenario(&one_device(
            lifetime,
            r#"{ preset = "adcs-autoenroll", triggers = [{ kind = "periodic", every = "1h", phase = "00:00" }] }"#,
            UNLIMITED_CA,
        ));
        let first = arrival_minutes(&run(&s))[0].0;
        assert_eq!(first, minute, "lifetime {lifetime}");
    }
}

#[test]
fn acme_ari_renewal_times_are_uniform_over_the_window() {
    // Window [2/3·L − L/100, 2/3·L + L/100] after issuance; each device
    // renews at its own uniform pick. Kolmogorov–Smirnov against the
    // uniform law at α = 0.001: D < 1.95/√n.
    let n = 5_000;
    let s = scenario(&format!(
        r#"
name = "ari"
start = "2025-01-01"
horizon = "80d"
[[cohorts]]
name = "web"
count = {n}
lifetime = "90d"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {{ schedule = "always_on" }}
client = "acme-ari"
{UNLIMITED_CA}"#
    ));
    let result = run(&s);
    let (lo, hi) = (90.0 * (2.0 / 3.0 - 0.01), 90.0 * (2.0 / 3.0 + 0.01));
    let mut days: Vec<f64> = arrival_minutes(&result)
        .iter()
        .flat_map(|&(m, k)| std::iter::repeat_n(m as f64 / DAY as f64, k as usize))
        .collect();
    assert_eq!(days.len(), n);
    days.sort_by(f64::total_cmp);
    assert!(
        days[0] >= lo - 1e-9 && days[n - 1] < hi,
        "all renewals inside the window"
    );
    let d = days
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = (x - lo) / (hi - lo);
            (f - i as f64 / n as f64)
                .abs()
                .max(((i + 1) as f64 / n as f64 - f).abs())
        })
        .fold(0.0, f64::max);
    // Arrivals are binned to the minute: at most 1/2592 of the window.
    assert!(
        d < 1.95 / (n as f64).sqrt() + 1.0 / 2592.0,
        "KS distance {d}"
    );
}

#[test]
fn certbot_renews_with_a_third_left_at_its_twice_daily_randomised_run() {
    // 90-day certificates: due at 60d; the timer fires at 00:00/12:00 plus
    // up to 12 h, then certbot sleeps 1–480 s: every renewal lands within
    // 12 h + 12 h + 8 min of the due instant, none before.
    let s = scenario(&format!(
        r#"
name = "certbot"
start = "2025-01-01"
horizon = "80d"
[[cohorts]]
name = "web"
count = 500
lifetime = "90d"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {{ schedule = "always_on" }}
client = "acme-certbot"
{UNLIMITED_CA}"#
    ));
    let minutes = arrival_minutes(&run(&s));
    assert_eq!(minutes.iter().map(|&(_, k)| k as usize).sum::<usize>(), 500);
    assert!(minutes
        .iter()
        .all(|&(m, _)| (60 * DAY..=60 * DAY + 24 * HOUR + 8).contains(&m)));
    // And the legacy variant waits until 30 days before expiry.
    let s = scenario(&one_device(
        "90d",
        r#"{ preset = "acme-certbot", variant = "legacy" }"#,
        UNLIMITED_CA,
    ));
    let first = arrival_minutes(&run(&s))[0].0;
    assert!((60 * DAY..61 * DAY).contains(&first));
}

#[test]
fn intune_pkcs_certificates_arrive_at_the_next_check_in() {
    // The window opens 4 h before expiry (29d 20:00); the sync at 30d 00:00
    // finds the certificate expired and Intune issues a new one through the
    // connector within seconds, but the device only receives it at its next
    // check-in, 30d 08:00: exactly 8 hours without a valid certificate.
    let client = r#"{ preset = "intune-pkcs", renewal = { rule = "before_expiry", window = "4h" }, triggers = [{ kind = "periodic", every = "8h", phase = "00:00" }] }"#;
    let s = scenario(&one_device_for("35d", "30d", client, UNLIMITED_CA));
    let c = &run(&s).cohorts[0];
    assert_eq!((c.renewals, c.devices_expired), (1, 1));
    assert_eq!(c.expired_time, SimDuration::from_hours(8));
}

#[test]
fn imported_pkcs_never_renews() {
    let s = scenario(&one_device("30d", r#""imported-pkcs""#, UNLIMITED_CA));
    let c = &run(&s).cohorts[0];
    assert_eq!(
        (c.tries, c.renewals, c.devices_expired, c.stranded_at_end),
        (0, 0, 1, 1)
    );
}

#[test]
fn an_unknown_preset_is_an_error_with_a_suggestion() {
    let text = one_device("30d", r#""intune-mdn""#, UNLIMITED_CA);
    let err = certfleet::scenario::parse(&text, std::path::Path::new("t.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown preset \"intune-mdn\"") && err.contains("did you mean `intune-mdm`?"),
        "{err}"
    );
    assert!(
        err.contains("t.toml:11:"),
        "located at the client key: {err}"
    );
}

#[test]
fn explain_output_parses_back_to_the_same_scenario() {
    let s = certfleet::scenario::load(std::path::Path::new("scenarios/intune-mdm-office.toml"))
        .unwrap();
    let text = toml::to_string_pretty(&s).unwrap();
    let again = certfleet::scenario::parse(&text, std::path::Path::new("explained.toml")).unwrap();
    assert_eq!(s, again);
}
