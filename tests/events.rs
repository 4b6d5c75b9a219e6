//! Scenario events: template bumps, mass revocations, lifetime changes.

use crate::common::{arrival_minutes, run, scenario, MINUTES_PER_DAY, UNLIMITED_CA};

const DAY: usize = MINUTES_PER_DAY;

#[test]
fn a_template_bump_makes_every_holder_re_enroll_at_its_next_trigger() {
    // 100 ADCS machines, certificates due only at ~323d; the bump at 10d
    // brings every one of them to the CA within one 8-hour refresh period.
    let s = scenario(&format!(
        r#"
name = "bump"
start = "2025-01-01"
horizon = "30d"
[[cohorts]]
name = "machines"
count = 100
lifetime = "365d"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {{ schedule = "always_on" }}
client = "adcs-autoenroll"
[[events]]
kind = "template_bump"
at = "2025-01-11"
{UNLIMITED_CA}"#
    ));
    let result = run(&s);
    let minutes = arrival_minutes(&result);
    assert_eq!(minutes.iter().map(|&(_, k)| k).sum::<u32>(), 100);
    assert!(minutes
        .iter()
        .all(|&(m, _)| (10 * DAY..10 * DAY + 8 * 60).contains(&m)));
    assert_eq!(result.cohorts[0].renewals, 100);
}

#[test]
fn a_mass_revocation_is_met_by_ari_clients_and_missed_by_fixed_threshold_ones() {
    // All certificates revoked with a 24-hour deadline at 20d. ARI clients
    // poll every 6 hours and renew within that; certbot only renews at its
    // normal time (60d), so every revoked certificate goes unreplaced.
    let s = scenario(&format!(
        r#"
name = "revocation"
start = "2025-01-01"
horizon = "40d"
[[cohorts]]
name = "ari"
count = 200
lifetime = "90d"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {{ schedule = "always_on" }}
client = "acme-ari"
[[cohorts]]
name = "certbot"
count = 200
lifetime = "90d"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {{ schedule = "always_on" }}
client = "acme-certbot"
[[events]]
kind = "mass_revocation"
at = "2025-01-21"
share = 1.0
deadline = "24h"
{UNLIMITED_CA}"#
    ));
    let result = run(&s);
    let (ari, certbot) = (&result.cohorts[0], &result.cohorts[1]);
    assert_eq!(
        (ari.renewals, ari.revoked_unreplaced, ari.invalid_at_end),
        (200, 0, 0)
    );
    assert_eq!(
        (
            certbot.renewals,
            certbot.revoked_unreplaced,
            certbot.invalid_at_end
        ),
        (0, 200, 200)
    );
    assert_eq!(
        (ari.revoked, certbot.revoked),
        (200, 200),
        "every certificate was chosen"
    );
    // Certbot's certificates are invalid from 21d to the horizon (40d).
    assert_eq!(certbot.expired_time.as_days_f64(), 200.0 * 19.0);
    assert_eq!(certbot.devices_expired, 0, "revoked is not expired");
    assert!(arrival_minutes(&result)
        .iter()
        .all(|&(m, _)| (20 * DAY..20 * DAY + 6 * 60).contains(&m)));
}

#[test]
fn certificates_issued_after_a_lifetime_change_get_the_new_lifetime() {
    // 100-day certificates renewed 10 days before expiry (hourly trigger at
    // 00:00): first renewal at 90d. From 50d on, certificates last 20 days,
    // so the next renewals are at 90 + 10 = 100d, 110d, 120d.
    let s = scenario(&format!(
        r#"
name = "lifetimes"
start = "2025-01-01"
horizon = "125d"
[[cohorts]]
name = "web"
count = 1
lifetime = "100d"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {{ schedule = "always_on" }}
client = {{ triggers = [{{ kind = "periodic", every = "1h", phase = "00:00" }}], renewal = {{ rule = "before_expiry", window = "10d" }} }}
[[events]]
kind = "lifetime_change"
at = "2025-02-20"
lifetime = "20d"
{UNLIMITED_CA}"#
    ));
    let minutes: Vec<usize> = arrival_minutes(&run(&s)).iter().map(|&(m, _)| m).collect();
    assert_eq!(minutes, vec![90 * DAY, 100 * DAY, 110 * DAY, 120 * DAY]);
}
