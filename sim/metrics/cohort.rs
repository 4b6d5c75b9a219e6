//! What happened to the devices of one cohort.
//!
//! Every cohort counter is defined once, in the `cohort_counters!` list
//! below: its field, its doc (which the README's field table repeats), the
//! label reports show, and whether it is counted per day. Accumulation,
//! summary.json, cohorts.csv, daily.csv and the report tables all follow the
//! list, so adding a counter is one line there.

use std::ops::{Deref, DerefMut};

use serde::Serialize;

use crate::engine::time::{MS_PER_DAY, MS_PER_HOUR};
use crate::engine::{SimDuration, SimTime};

/// One entry of the counter list, for writers that iterate over it.
#[derive(Clone, Copy, Debug)]
pub struct CounterInfo {
    /// Field name, JSON key and CSV column.
    pub name: &'static str,
    /// What it counts (the doc comment).
    pub doc: &'static str,
    /// How reports label it.
    pub label: &'static str,
    /// Counted per day too (an event with a time); `false` for outcomes
    /// known only at a replacement or at the end of the run.
    pub daily: bool,
}

macro_rules! cohort_counters {
    ($( $(#[doc = $doc:literal])+ $variant:ident $field:ident, daily: $daily:literal, $label:literal; )+) => {
        /// A cohort counter (see [`Counts`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Counter {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl Counter {
            pub const ALL: &'static [Counter] = &[$( Counter::$variant ),+];

            pub fn info(self) -> CounterInfo {
                match self {
                    $( Counter::$variant => CounterInfo {
                        name: stringify!($field),
                        doc: concat!($($doc),+),
                        label: $label,
                        daily: $daily,
                    }, )+
                }
            }

            pub fn name(self) -> &'static str {
                self.info().name
            }
        }

        /// The counters of a cohort, one field each (JSON keys and CSV
        /// columns are the field names).
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
        pub struct Counts {
            $( $(#[doc = $doc])+ pub $field: u64, )+
        }

        impl Counts {
            pub fn get(&self, c: Counter) -> u64 {
                match c {
                    $( Counter::$variant => self.$field, )+
                }
            }

            fn get_mut(&mut self, c: Counter) -> &mut u64 {
                match c {
                    $( Counter::$variant => &mut self.$field, )+
                }
            }

            pub fn add(&mut self, other: &Counts) {
                $( self.$field += other.$field; )+
            }
        }
    };
}

cohort_counters! {
    /// Devices whose certificate expired at least once within the horizon.
    DevicesExpired devices_expired, daily: false, "devices whose certificate expired";
    /// Devices without a valid certificate at the end and no automatic way back.
    StrandedAtEnd stranded_at_end, daily: false, "stranded at the end";
    /// Devices without a valid certificate at the end, for any reason.
    InvalidAtEnd invalid_at_end, daily: false, "without a valid certificate at the end";
    /// Certificates obtained (renewals and re-enrolments).
    Renewals renewals, daily: true, "certificates obtained";
    /// Client attempts that reached the enrollment service.
    Tries tries, daily: true, "tries";
    /// Tries refused `NotEligibleToRenew` (before the server's renewal window).
    NotEligible not_eligible, daily: true, "refused NotEligibleToRenew";
    /// Tries refused because the certificate had expired.
    RefusedExpired refused_expired, daily: true, "refused: certificate expired";
    /// Requests refused at a full queue (CA or any stage).
    CaRefused ca_refused, daily: true, "refused (queue full, any stage)";
    /// Requests not answered within the client's timeout (CA or any stage).
    CaTimedOut ca_timed_out, daily: true, "timed out (any stage)";
    /// Requests failed by an outage (CA or any stage).
    CaFailedOutage ca_failed_outage, daily: true, "failed by outage (any stage)";
    /// Attempts that failed because their SCEP challenge had expired.
    ChallengeExpired challenge_expired, daily: true, "SCEP challenge expired";
    /// Manual re-enrolments started by the help desk.
    ManualRecoveries manual_recoveries, daily: true, "manual re-enrolments";
    /// Certificates chosen by a mass revocation (still held when it was announced).
    Revoked revoked, daily: true, "revoked (mass revocation)";
    /// Of those, certificates not replaced by the time the revocation took effect.
    RevokedUnreplaced revoked_unreplaced, daily: false, "revoked before replaced";
    /// Devices the service forgot (expired longer than `forget_after_expired`).
    RecordsDeleted records_deleted, daily: false, "records deleted by the service";
    /// Issued requests dropped after waiting longer than the approval's
    /// `drop_after` for a CA manager (ADCS: 60 days); the client starts over.
    ApprovalsDropped approvals_dropped, daily: true, "dropped waiting for approval";
    /// Certificates issued but not yet received at the end (waiting for the
    /// device's next check-in, or for approval).
    UndeliveredAtEnd undelivered_at_end, daily: false, "issued, not yet received at the end";
}

/// Counters of one cohort over a run, with the series reports need.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CohortCounters {
    pub devices: u64,
    /// Time without a valid certificate, summed over devices, within the horizon.
    pub expired_time: SimDuration,
    pub counts: Counts,
    /// The daily counters ([`CounterInfo::daily`]) per simulated day.
    pub per_day: Vec<Counts>,
    /// Certificates obtained per simulated hour (recovery after an event).
    pub renewals_per_hour: Vec<u32>,
    /// Per hour: devices losing (`lost`) and regaining a valid certificate.
    pub lost_per_hour: Vec<u32>,
    pub regained_per_hour: Vec<u32>,
    /// When the last revoked certificate was replaced.
    pub last_revoked_replaced: Option<SimTime>,
}

impl Deref for CohortCounters {
    type Target = Counts;
    fn deref(&self) -> &Counts {
        &self.counts
    }
}

impl DerefMut for CohortCounters {
    fn deref_mut(&mut self) -> &mut Counts {
        &mut self.counts
    }
}

fn bump(v: &mut Vec<u32>, i: usize) {
    if i >= v.len() {
        v.resize(i + 1, 0);
    }
    v[i] = v[i].saturating_add(1);
}

fn add_series(a: &mut Vec<u32>, b: &[u32]) {
    if a.len() < b.len() {
        a.resize(b.len(), 0);
    }
    for (x, y) in a.iter_mut().zip(b) {
        *x = x.saturating_add(*y);
    }
}

fn hour_of(t: SimTime) -> usize {
    (t.ms().max(0) / MS_PER_HOUR) as usize
}

impl CohortCounters {
    /// Counts one `counter` event at `at` (and in its day, for daily counters).
    pub fn count(&mut self, counter: Counter, at: SimTime) {
        *self.counts.get_mut(counter) += 1;
        if counter.info().daily {
            let day = (at.ms().max(0) / MS_PER_DAY) as usize;
            if day >= self.per_day.len() {
                self.per_day.resize(day + 1, Counts::default());
            }
            *self.per_day[day].get_mut(counter) += 1;
        }
        if counter == Counter::Renewals {
            bump(&mut self.renewals_per_hour, hour_of(at));
        }
    }

    /// A revoked certificate was replaced at `at`.
    pub fn revoked_replaced(&mut self, at: SimTime) {
        self.last_revoked_replaced = self.last_revoked_replaced.max(Some(at));
    }

    pub fn add(&mut self, other: &CohortCounters) {
        self.devices += other.devices;
        self.expired_time = self.expired_time + other.expired_time;
        self.counts.add(&other.counts);
        if self.per_day.len() < other.per_day.len() {
            self.per_day.resize(other.per_day.len(), Counts::default());
        }
        for (a, b) in self.per_day.iter_mut().zip(&other.per_day) {
            a.add(b);
        }
        add_series(&mut self.renewals_per_hour, &other.renewals_per_hour);
        add_series(&mut self.lost_per_hour, &other.lost_per_hour);
        add_series(&mut self.regained_per_hour, &other.regained_per_hour);
        self.last_revoked_replaced = self.last_revoked_replaced.max(other.last_revoked_replaced);
    }

    pub fn expiry_rate(&self) -> f64 {
        if self.devices == 0 {
            0.0
        } else {
            self.devices_expired as f64 / self.devices as f64
        }
    }

    /// Devices without a valid certificate at the end of each hour.
    pub fn invalid_per_hour(&self) -> Vec<i64> {
        let n = self.lost_per_hour.len().max(self.regained_per_hour.len());
        let mut level = 0i64;
        (0..n)
            .map(|h| {
                level += i64::from(self.lost_per_hour.get(h).copied().unwrap_or(0));
                level -= i64::from(self.regained_per_hour.get(h).copied().unwrap_or(0));
                level
            })
            .collect()
    }

    /// Devices without a valid certificate at the end of each day.
    pub fn invalid_per_day(&self) -> Vec<i64> {
        let hourly = self.invalid_per_hour();
        hourly
            .chunks(24)
            .map(|day| day.last().copied().unwrap_or(0))
            .collect()
    }

    /// The device lost its valid certificate at `from` and regained one at
    /// `to` (`None`: not within the run).
    pub(crate) fn mark_invalid(&mut self, from: SimTime, to: Option<SimTime>) {
        bump(&mut self.lost_per_hour, hour_of(from));
        if let Some(to) = to {
            bump(&mut self.regained_per_hour, hour_of(to));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_has_a_distinct_name_and_a_doc() {
        let mut names: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Counter::ALL.len());
        assert!(Counter::ALL.iter().all(|c| !c.info().doc.trim().is_empty()));
    }

    #[test]
    fn count_adds_to_the_total_and_to_its_day() {
        let mut c = CohortCounters::default();
        let day2 = SimTime(2 * MS_PER_DAY + 5);
        c.count(Counter::Tries, day2);
        c.count(Counter::Renewals, day2);
        c.count(Counter::DevicesExpired, day2);
        assert_eq!((c.tries, c.renewals, c.devices_expired), (1, 1, 1));
        assert_eq!(c.per_day.len(), 3);
        assert_eq!(c.per_day[2].tries, 1);
        assert_eq!(c.per_day[2].devices_expired, 0, "not a daily counter");
        assert_eq!(c.renewals_per_hour[48], 1);
        let mut sum = CohortCounters::default();
        sum.add(&c);
        sum.add(&c);
        assert_eq!((sum.tries, sum.per_day[2].tries), (2, 2));
    }

    #[test]
    fn invalid_levels_follow_losses_and_gains() {
        let mut c = CohortCounters::default();
        let h = |n: i64| SimTime(n * MS_PER_HOUR);
        c.mark_invalid(h(1), Some(h(30)));
        c.mark_invalid(h(2), None);
        assert_eq!(c.invalid_per_day(), vec![2, 1]);
        assert_eq!(c.invalid_per_hour()[29], 2);
        assert_eq!(c.invalid_per_hour()[30], 1);
    }
}
