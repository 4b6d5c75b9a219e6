//! The enrollment service's eligibility policy (MODEL.md §6).

use serde::{Deserialize, Serialize};

use super::certificate::Certificate;
use super::client::RenewalRule;
use crate::engine::{SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EligibilityPolicy {
    /// The server's own renewal window: a renewal before it is refused with
    /// `NotEligibleToRenew` (Intune, seed 000), whatever the client thinks.
    pub renewal: RenewalRule,
    /// How long after expiry the server still accepts a renewal signed with
    /// the expired certificate (0 = never; Intune's temporary workaround).
    pub accept_expired_for: SimDuration,
}

impl Default for EligibilityPolicy {
    fn default() -> Self {
        EligibilityPolicy {
            renewal: RenewalRule::Anytime,
            accept_expired_for: SimDuration::ZERO,
        }
    }
}

/// What the server says to a renewal attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Forward to the CA.
    Accept,
    /// `NotEligibleToRenew`: too early by the server's window.
    NotEligible,
    /// Expired and past `accept_expired_for`: the device cannot authenticate.
    Expired,
}

impl EligibilityPolicy {
    pub fn judge_renewal(&self, cert: &Certificate, now: SimTime) -> Verdict {
        if now >= cert.expiry {
            if now < cert.expiry + self.accept_expired_for {
                Verdict::Accept
            } else {
                Verdict::Expired
            }
        } else if now < self.renewal.opens_at(cert.issued, cert.expiry) {
            Verdict::NotEligible
        } else {
            Verdict::Accept
        }
    }
}
