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

/// A mass revocation picks every certificate that exists when it is
/// announced, including one the CA has issued but the device has not yet
/// received: Intune PKCS certificates wait for the device's next check-in
/// (the connector requested them), ADCS certificates held for a CA
/// manager's approval are issued when approved and picked up at the next
/// refresh. Such a certificate used to escape the revocation.
#[test]
fn a_revocation_reaches_certificates_issued_before_it_but_received_after() {
    // One device per cohort, daily trigger at 00:00, renewal window 10 days
    // before the 100-day expiry: the try is at day 90, 00:00, served a
    // minute later.
    // - pkcs: issued at 90d 00:01, received at the next check-in, 91d 00:00;
    // - approval: approved (issued) 2 days after it was served, 92d 00:01,
    //   picked up at the next trigger after that, 93d 00:00.
    // Revocations of every certificate, deadline 1 h: at 90d 12:00 (after
    // the PKCS certificate was issued, before it arrived), at 91d 12:00
    // (before the approval: that certificate does not exist yet) and at
    // 92d 12:00 (after the approval, before the pick-up).
    let client = |extra: &str| {
        format!(
            r#"client = {{ triggers = [{{ kind = "periodic", every = "1d", phase = "00:00" }}], renewal = {{ rule = "before_expiry", window = "10d" }}{extra} }}"#
        )
    };
    let s = scenario(&format!(
        r#"
name = "late delivery"
start = "2025-01-01"
horizon = "100d"
[[cohorts]]
name = "pkcs"
count = 1
lifetime = "100d"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {{ schedule = "always_on" }}
{}
[[cohorts]]
name = "approval"
count = 1
lifetime = "100d"
enrollment = {{ pattern = "at", at = "2025-01-01" }}
power = {{ schedule = "always_on" }}
{}
server = {{ approval = {{ share = 1.0, delay = "2d", drop_after = "60d" }} }}
[[events]]
kind = "mass_revocation"
at = "2025-04-01T12:00:00Z"
share = 1.0
deadline = "1h"
[[events]]
kind = "mass_revocation"
at = "2025-04-02T12:00:00Z"
share = 1.0
deadline = "1h"
[[events]]
kind = "mass_revocation"
at = "2025-04-03T12:00:00Z"
share = 1.0
deadline = "1h"
[ca]
workers = 10
service_time = "1m"
"#,
        client(r#", delivery = "next_checkin""#),
        client("")
    ));
    let result = run(&s);
    let (pkcs, approval) = (&result.cohorts[0], &result.cohorts[1]);
    // PKCS: the first certificate, revoked from 90d 13:00 until the second
    // arrives at 91d 00:00 (11 h); the second, picked by the 90d 12:00
    // revocation, invalid from its arrival to the horizon (9 days).
    assert_eq!((pkcs.renewals, pkcs.revoked), (1, 2));
    assert_eq!((pkcs.revoked_unreplaced, pkcs.invalid_at_end), (2, 1));
    assert_eq!(
        pkcs.expired_time.as_secs_f64(),
        (11.0 + 9.0 * 24.0) * 3600.0
    );
    // Approval: the first certificate is revoked by the first revocation
    // (from 90d 13:00) until the second is picked up at 93d 00:00 (59 h);
    // the second was issued at 92d 00:00, so the 92d 12:00 revocation picks
    // it (the 91d one came before it existed): invalid from 93d 00:00.
    // Each certificate counts as revoked once, whatever picked it.
    assert_eq!((approval.renewals, approval.revoked), (1, 2));
    assert_eq!(
        (approval.revoked_unreplaced, approval.invalid_at_end),
        (2, 1)
    );
    assert_eq!(
        approval.expired_time.as_secs_f64(),
        (59.0 + 7.0 * 24.0) * 3600.0
    );
}

/// A CA whose backlog outlasts the run: an answer due after the horizon is
/// not a renewal within it. 200 devices all due at day 9 meet a CA that
/// serves one request an hour: the k-th is answered at day 9 + k hours, so
/// 71 are served within the 12 days (the 72nd at the horizon itself is
/// not), 24 of them by day 10 when the certificates expire; 129 are still
/// in the CA at the end (one in service, 128 waiting).
/// The totals, the per-minute series and the daily series must say the same
/// (they did not: every queued request counted as a renewal at once).
#[test]
fn a_backlog_past_the_horizon_is_still_waiting_in_every_output() {
    let s = scenario(
        r#"
name = "backlog"
start = "2025-01-01"
horizon = "12d"
[[cohorts]]
name = "servers"
count = 200
lifetime = "10d"
enrollment = { pattern = "at", at = "2025-01-01" }
power = { schedule = "always_on" }
client = { triggers = [{ kind = "periodic", every = "1d", phase = "00:00" }], renewal = { rule = "before_expiry", window = "1d" } }
[ca]
workers = 1
service_time = "1h"
"#,
    );
    let result = run(&s);
    let (k, ca) = (&result.cohorts[0], &result.ca.counts);
    assert_eq!(
        (ca.arrivals, ca.served, ca.in_system_at_end),
        (200, 71, 129)
    );
    assert_eq!(k.renewals, 71);
    assert_eq!((k.devices_expired, k.invalid_at_end), (47 + 129, 129));
    let served_in_series: u32 = result.ca.minutes.served.iter().sum();
    assert_eq!(served_in_series, 71);
    assert_eq!(*k.invalid_per_day().last().unwrap(), 129);
    assert_eq!(*result.ca.minutes.queue_lengths().last().unwrap(), 128);
}
