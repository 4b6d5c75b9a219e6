//! Hand-worked single-device timelines. Each scenario starts at midnight
//! UTC on 2025-01-01 (day 0; 2025-01-25 is day 24); a periodic trigger with phase "00:00" fires at every
//! whole multiple of its period from then on.

use crate::common::{arrival_minutes, run, scenario, MINUTES_PER_DAY, UNLIMITED_CA};

const DAY: usize = MINUTES_PER_DAY;
const HOUR: usize = 60;

/// One always-on server, certificate issued at the start (L = 30d).
fn one_device(extra_cohort: &str, client: &str, rest: &str) -> String {
    format!(
        r#"
name = "timeline"
start = "2025-01-01"
horizon = "35d"
[[cohorts]]
name = "device"
count = 1
lifetime = "30d"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {{ schedule = "always_on" }}
{extra_cohort}
[cohorts.client]
{client}
{rest}"#
    )
}

#[test]
fn a_device_offline_through_its_whole_window_expires_exactly_at_issued_plus_lifetime() {
    // Window opens at 25d; the device is dark from day 24 to day 40.
    let s = scenario(&one_device(
        r#"offline_episodes = [{ share = 1.0, start = "2025-01-25", duration = "16d" }]"#,
        r#"triggers = [{ kind = "boot", delay = "5m" }, { kind = "periodic", every = "4h", phase = "00:00" }]
renewal = { rule = "before_expiry", window = "5d" }"#,
        UNLIMITED_CA,
    ));
    let result = run(&s);
    let c = &result.cohorts[0];
    assert_eq!(
        (c.tries, c.renewals, c.devices_expired, c.stranded_at_end),
        (0, 0, 1, 1)
    );
    // Expired at 30d exactly, horizon 35d: exactly 5 device-days.
    assert_eq!(c.expired_time.ms(), 5 * 86_400_000);
}

#[test]
fn the_first_try_lands_at_the_first_online_trigger_after_the_window_opens() {
    // Window opens at 25d 00:00 while the device is dark; it comes back at
    // 26d 03:00. With a boot trigger (5 min) the try is at 26d 03:05;
    // without, at the next 4-hourly tick, 26d 04:00.
    let back = r#"offline_episodes = [{ share = 1.0, start = "2025-01-25", duration = "2d3h" }]"#;
    let with_boot = scenario(&one_device(
        back,
        r#"triggers = [{ kind = "boot", delay = "5m" }, { kind = "periodic", every = "4h", phase = "00:00" }]
renewal = { rule = "before_expiry", window = "5d" }"#,
        UNLIMITED_CA,
    ));
    assert_eq!(
        arrival_minutes(&run(&with_boot)),
        vec![(26 * DAY + 3 * HOUR + 5, 1)]
    );
    let periodic_only = scenario(&one_device(
        back,
        r#"triggers = [{ kind = "periodic", every = "4h", phase = "00:00" }]
renewal = { rule = "before_expiry", window = "5d" }"#,
        UNLIMITED_CA,
    ));
    assert_eq!(
        arrival_minutes(&run(&periodic_only)),
        vec![(26 * DAY + 4 * HOUR, 1)]
    );
    // Online all along: the tick at the very moment the window opens.
    let online = scenario(&one_device(
        "",
        r#"triggers = [{ kind = "periodic", every = "4h", phase = "00:00" }]
renewal = { rule = "before_expiry", window = "5d" }"#,
        UNLIMITED_CA,
    ));
    assert_eq!(arrival_minutes(&run(&online)), vec![(25 * DAY, 1)]);
}

#[test]
fn a_client_window_wider_than_the_servers_is_refused_until_the_server_window_opens() {
    // Client window 20d (opens at 10d), server window 5d (opens at 25d),
    // retry gate 2d: tries at 10, 12, …, 24d are refused NotEligibleToRenew
    // (8 tries, none reaches the CA); the try at 26d is accepted.
    let s = scenario(&one_device(
        "",
        r#"triggers = [{ kind = "periodic", every = "4h", phase = "00:00" }]
renewal = { rule = "before_expiry", window = "20d" }
retry_interval = "2d""#,
        &format!(
            r#"
[server]
renewal = {{ rule = "before_expiry", window = "5d" }}
{UNLIMITED_CA}"#
        ),
    ));
    let result = run(&s);
    let c = &result.cohorts[0];
    assert_eq!(
        (c.not_eligible, c.tries, c.renewals, c.devices_expired),
        (8, 9, 1, 0)
    );
    assert_eq!(arrival_minutes(&result), vec![(26 * DAY, 1)]);
}

#[test]
fn the_retry_gate_holds_the_next_try_back() {
    // The CA is down for the first 12 h of the window (opens at 25d). The
    // hourly trigger's try at 25d fails; with a 1-day gate the next try is
    // at 26d, not at 25d 01:00.
    let outage = r#"
[[events]]
kind = "outage"
from = "2025-01-26T00:00:00Z"
duration = "12h"
"#;
    let s = scenario(&one_device(
        "",
        r#"triggers = [{ kind = "periodic", every = "1h", phase = "00:00" }]
renewal = { rule = "before_expiry", window = "5d" }
retry_interval = "1d""#,
        &format!("{UNLIMITED_CA}{outage}"),
    ));
    let result = run(&s);
    assert_eq!(arrival_minutes(&result), vec![(25 * DAY, 1), (26 * DAY, 1)]);
    assert_eq!(result.ca.counts.failed_outage, 1);
    assert_eq!(result.cohorts[0].renewals, 1);

    // Intune's 7-day gate after a failure at 25d lands past expiry (30d):
    // the device expires and, as an MDM client, is stranded.
    let s = scenario(&one_device(
        "",
        r#"triggers = [{ kind = "periodic", every = "1h", phase = "00:00" }]
renewal = { rule = "before_expiry", window = "5d" }
retry_interval = "7d""#,
        &format!("{UNLIMITED_CA}{outage}"),
    ));
    let c = &run(&s).cohorts[0];
    assert_eq!(
        (c.tries, c.renewals, c.devices_expired, c.stranded_at_end),
        (1, 0, 1, 1)
    );
}

#[test]
fn an_expired_certificate_is_accepted_within_the_servers_grace() {
    // Offline through the window until 31d (1 day after expiry). A strict
    // server strands the device; one accepting expired certificates for 7
    // days renews it at the first trigger back online.
    let client = r#"triggers = [{ kind = "boot", delay = "5m" }]
renewal = { rule = "before_expiry", window = "5d" }"#;
    let dark = r#"offline_episodes = [{ share = 1.0, start = "2025-01-25", duration = "7d" }]"#;
    let strict = scenario(&one_device(dark, client, UNLIMITED_CA));
    let c = &run(&strict).cohorts[0];
    assert_eq!((c.renewals, c.stranded_at_end), (0, 1));
    let lenient = scenario(&one_device(
        dark,
        client,
        &format!("[server]\naccept_expired_for = \"7d\"\n{UNLIMITED_CA}"),
    ));
    let result = run(&lenient);
    let c = &result.cohorts[0];
    assert_eq!(
        (c.renewals, c.stranded_at_end, c.devices_expired),
        (1, 0, 1)
    );
    assert_eq!(arrival_minutes(&result), vec![(31 * DAY + 5, 1)]);
    // Without a certificate from 30d to 31d 00:05.
    assert_eq!(c.expired_time.ms(), (86_400 + 300) * 1000);
}

#[test]
fn a_new_request_client_re_enrolls_after_expiry_and_manual_recovery_waits_for_the_help_desk() {
    let dark = r#"offline_episodes = [{ share = 1.0, start = "2025-01-25", duration = "7d" }]"#;
    // ADCS-like: an expired certificate gets a new request at the next trigger.
    let s = scenario(&one_device(
        dark,
        r#"triggers = [{ kind = "boot", delay = "5m" }]
renewal = { rule = "before_expiry", window = "5d" }
on_expiry = { action = "new_request" }"#,
        UNLIMITED_CA,
    ));
    let result = run(&s);
    assert_eq!(arrival_minutes(&result), vec![(31 * DAY + 5, 1)]);
    assert_eq!(result.cohorts[0].stranded_at_end, 0);
    // Manual recovery: noticed when back online (31d), fixed 2 days later.
    let s = scenario(&one_device(
        dark,
        r#"triggers = [{ kind = "boot", delay = "5m" }]
renewal = { rule = "before_expiry", window = "5d" }
on_expiry = { action = "manual_recovery", delay = "2d" }"#,
        UNLIMITED_CA,
    ));
    let result = run(&s);
    assert_eq!(arrival_minutes(&result), vec![(33 * DAY, 1)]);
    let c = &result.cohorts[0];
    assert_eq!(
        (c.manual_recoveries, c.renewals, c.stranded_at_end),
        (1, 1, 0)
    );
}

#[test]
fn a_full_queue_refuses_and_a_slow_ca_times_out() {
    // 50 devices try at the same instant (window opens at 25d, phase 00:00)
    // against one worker of 10 s, a queue of 4 and a 35 s timeout: 1 in
    // service + 4 waiting are admitted, 45 refused. The first is done at
    // 10 s; the waiters start at 10, 20, 30, 40 s and are done at 20, 30,
    // 40, 50 s: two within the 35 s timeout, two time out.
    let s = scenario(
        &one_device(
            "",
            r#"triggers = [{ kind = "periodic", every = "4h", phase = "00:00" }]
renewal = { rule = "before_expiry", window = "5d" }
retry_interval = "30d""#,
            r#"
[ca]
workers = 1
service_time = "10s"
queue_limit = 4
timeout = "35s"
"#,
        )
        .replace("count = 1", "count = 50"),
    );
    let result = run(&s);
    let c = result.ca.counts;
    assert_eq!(
        (c.arrivals, c.served, c.refused, c.timed_out),
        (50, 3, 45, 2)
    );
    assert_eq!(result.ca.max_queue, 4);
}

#[test]
fn an_ari_client_learns_of_a_revocation_at_its_next_poll_not_at_once() {
    // ARI window at 2/3 of 30 d (day 20 ± 0.3 d), polls every 6 h from
    // 00:00. Revoked on day 4 at 01:00 with 24 h to replace: the client sees
    // the moved window at its 06:00 poll and renews then; its window_open
    // timer, set for day 20, does not fire at the revocation instant.
    let s = scenario(&one_device(
        "",
        r#"triggers = [{ kind = "window_open" }, { kind = "periodic", every = "6h", phase = "00:00" }]
renewal = { rule = "ari" }
ari = true
on_expiry = { action = "new_request" }"#,
        &format!(
            "{UNLIMITED_CA}\n[[events]]\nkind = \"mass_revocation\"\nat = \"2025-01-05T01:00:00Z\"\nshare = 1.0\ndeadline = \"24h\"\n"
        ),
    ));
    let result = run(&s);
    let arrivals = arrival_minutes(&result);
    assert_eq!(arrivals[0], (4 * DAY + 6 * HOUR, 1), "{arrivals:?}");
    assert_eq!(result.cohorts[0].revoked_unreplaced, 0);
}

/// One office PC in Berlin (08:30–17:30 local, no spread, never absent,
/// never left on), whose certificate issued at midnight UTC on `issued`
/// (30 days, renewed from 4 days before expiry, at boot) falls due 26 days
/// later.
fn berlin_office_pc(issued: &str) -> String {
    format!(
        r#"
name = "berlin"
start = "2025-01-01"
horizon = "200d"
[[cohorts]]
name = "pc"
count = 1
lifetime = "30d"
enrollment = {{ pattern = "at", at = "{issued}" }}
power = {{ schedule = "office", time_zone = "Europe/Berlin", start_sd = "0s", stop_sd = "0s", left_on_share = 0.0, absence = 0.0, weekend_use = 0.0 }}
[cohorts.client]
triggers = [{{ kind = "boot", delay = "0s" }}]
renewal = {{ rule = "before_expiry", window = "4d" }}
{UNLIMITED_CA}"#
    )
}

#[test]
fn a_berlin_office_pc_boots_at_0730_utc_in_winter_and_0630_in_summer() {
    // Due on Wednesday 2025-01-15 (day 14): 08:30 CET is 07:30 UTC.
    let winter = run(&scenario(&berlin_office_pc("2024-12-20")));
    assert_eq!(
        arrival_minutes(&winter).first().map(|&(m, _)| m),
        Some(14 * DAY + 7 * HOUR + 30),
        "first request at boot, 07:30 UTC on 2025-01-15"
    );
    // Due on Tuesday 2025-07-15 (day 195): 08:30 CEST is 06:30 UTC.
    let summer = run(&scenario(&berlin_office_pc("2025-06-19")));
    assert_eq!(
        arrival_minutes(&summer).first().map(|&(m, _)| m),
        Some(195 * DAY + 6 * HOUR + 30),
        "first request at boot, 06:30 UTC on 2025-07-15"
    );
}

#[test]
fn a_fleet_spread_over_zones_gets_each_zone_by_its_share() {
    // 2,000 PCs, 60 % in Berlin (08:30 CEST = 06:30 UTC) and 40 % in New
    // York (08:30 EDT = 12:30 UTC), all due on Tuesday 2025-07-15: each
    // device draws its zone independently, so the Berlin count is
    // binomial(2000, 0.6).
    let text = berlin_office_pc("2025-06-19")
        .replace("count = 1", "count = 2000")
        .replace(
            r#"time_zone = "Europe/Berlin""#,
            r#"time_zone = { "Europe/Berlin" = 0.6, "America/New_York" = 0.4 }"#,
        );
    let result = run(&scenario(&text));
    let day = 195 * DAY;
    let at = |minute: usize| {
        arrival_minutes(&result)
            .iter()
            .find(|&&(m, _)| m == minute)
            .map_or(0, |&(_, n)| n as u64)
    };
    let berlin = at(day + 6 * HOUR + 30);
    let new_york = at(day + 12 * HOUR + 30);
    assert_eq!(berlin + new_york, 2000, "every device boots at 08:30 local");
    crate::common::assert_binomial(berlin as f64 / 2000.0, 0.6, 2000, "share in Berlin");
}
