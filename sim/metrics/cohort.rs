//! What happened to the devices of one cohort.

use crate::engine::SimDuration;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CohortCounters {
    pub devices: u64,
    /// Devices whose certificate expired at least once within the horizon.
    pub devices_expired: u64,
    /// Time without a valid certificate, summed over devices, within the horizon.
    pub expired_time: SimDuration,
    /// No valid certificate at the end and no automatic way back.
    pub stranded_at_end: u64,
    /// No valid certificate at the end, for whatever reason.
    pub invalid_at_end: u64,
    /// Certificates obtained (renewals and re-enrolments).
    pub renewals: u64,
    /// Client attempts that reached the enrollment service.
    pub tries: u64,
    /// Tries refused `NotEligibleToRenew` (too early for the server).
    pub not_eligible: u64,
    /// Tries refused because the certificate had expired.
    pub refused_expired: u64,
    /// CA requests of this cohort by how they failed.
    pub ca_refused: u64,
    pub ca_timed_out: u64,
    pub ca_failed_outage: u64,
    /// Manual re-enrolments started by the help desk.
    pub manual_recoveries: u64,
    /// Attempts that failed because the SCEP challenge had expired.
    pub challenge_expired: u64,
    /// Certificates chosen by a mass revocation (still held when it was announced).
    pub revoked: u64,
    /// Of those, certificates not replaced by the time the revocation took effect.
    pub revoked_unreplaced: u64,
    /// Devices the service forgot (expired longer than `forget_after_expired`).
    pub records_deleted: u64,
    /// Issued requests dropped after waiting longer than the approval's
    /// `drop_after` for a CA manager (ADCS: 60 days); the client starts over.
    pub approvals_dropped: u64,
    /// Certificates issued but not yet received at the end (waiting for the
    /// device's next check-in, or for approval).
    pub undelivered_at_end: u64,
    /// Per day: devices losing (+) and regaining (−) a valid certificate.
    pub invalid_delta_per_day: Vec<i64>,
}

impl CohortCounters {
    pub fn add(&mut self, other: &CohortCounters) {
        self.devices += other.devices;
        self.devices_expired += other.devices_expired;
        self.expired_time = self.expired_time + other.expired_time;
        self.stranded_at_end += other.stranded_at_end;
        self.invalid_at_end += other.invalid_at_end;
        self.renewals += other.renewals;
        self.tries += other.tries;
        self.not_eligible += other.not_eligible;
        self.refused_expired += other.refused_expired;
        self.ca_refused += other.ca_refused;
        self.ca_timed_out += other.ca_timed_out;
        self.ca_failed_outage += other.ca_failed_outage;
        self.manual_recoveries += other.manual_recoveries;
        self.challenge_expired += other.challenge_expired;
        self.revoked += other.revoked;
        self.revoked_unreplaced += other.revoked_unreplaced;
        self.records_deleted += other.records_deleted;
        self.approvals_dropped += other.approvals_dropped;
        self.undelivered_at_end += other.undelivered_at_end;
        if self.invalid_delta_per_day.len() < other.invalid_delta_per_day.len() {
            self.invalid_delta_per_day
                .resize(other.invalid_delta_per_day.len(), 0);
        }
        for (a, b) in self
            .invalid_delta_per_day
            .iter_mut()
            .zip(&other.invalid_delta_per_day)
        {
            *a += b;
        }
    }

    pub fn expiry_rate(&self) -> f64 {
        if self.devices == 0 {
            0.0
        } else {
            self.devices_expired as f64 / self.devices as f64
        }
    }

    /// Devices without a valid certificate at the end of each day.
    pub fn invalid_per_day(&self) -> Vec<i64> {
        let mut level = 0;
        self.invalid_delta_per_day
            .iter()
            .map(|d| {
                level += d;
                level
            })
            .collect()
    }

    pub(crate) fn mark_invalid(&mut self, day_from: i64, day_to: Option<i64>) {
        let bump = |v: &mut Vec<i64>, day: i64, by: i64| {
            let d = day.max(0) as usize;
            if d >= v.len() {
                v.resize(d + 1, 0);
            }
            v[d] += by;
        };
        bump(&mut self.invalid_delta_per_day, day_from, 1);
        if let Some(to) = day_to {
            bump(&mut self.invalid_delta_per_day, to, -1);
        }
    }
}
