//! The enrollment service's eligibility policy (docs/model.md, "The
//! enrollment service and the CA").

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::certificate::Certificate;
use super::client::RenewalRule;
use crate::engine::{SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EligibilityPolicy {
    /// The server's own renewal window: a renewal before it is refused with
    /// `NotEligibleToRenew` (Intune), whatever the client thinks.
    pub renewal: RenewalRule,
    /// How long after expiry the server still accepts a renewal signed with
    /// the expired certificate (0 = never; Intune's temporary workaround).
    pub accept_expired_for: SimDuration,
    /// The service forgets a device whose certificate has been expired this
    /// long (Intune deletes the record after 180 days); reported
    /// as `records_deleted`. Absent: never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forget_after_expired: Option<SimDuration>,
    /// A challenge handed out at each try, valid this long (Intune SCEP: 1
    /// hour). A stage with `validates_challenge` rejects a
    /// request it starts after that. Absent: no challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_validity: Option<SimDuration>,
    /// Requests held for CA manager approval (ADCS autoenrollment). Absent: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

/// A share of issued requests wait for a CA manager's approval; the client
/// picks the certificate up at its first trigger after approval, and a
/// request pending longer than `drop_after` is dropped (ADCS: 60 days).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Share of issued requests held for approval (0–1).
    pub share: f64,
    /// Time from the request to the manager's approval.
    #[serde(deserialize_with = "crate::model::dist::deserialize_dist")]
    #[schemars(schema_with = "crate::model::dist::dist_as_written")]
    pub delay: crate::model::dist::DurationDist,
    /// A request pending this long is dropped; the client starts over.
    pub drop_after: SimDuration,
}

impl Default for EligibilityPolicy {
    fn default() -> Self {
        EligibilityPolicy {
            renewal: RenewalRule::Anytime,
            accept_expired_for: SimDuration::ZERO,
            forget_after_expired: None,
            challenge_validity: None,
            approval: None,
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
    /// `forced`: a re-enrolment the service asked for (template bump,
    /// revocation), accepted whatever the window says.
    pub fn judge_renewal(&self, cert: &Certificate, now: SimTime, forced: bool) -> Verdict {
        if now >= cert.expiry {
            if now < cert.expiry + self.accept_expired_for {
                Verdict::Accept
            } else {
                Verdict::Expired
            }
        } else if !forced && now < self.renewal.opens_at(cert.issued, cert.expiry, 0.5) {
            Verdict::NotEligible
        } else {
            Verdict::Accept
        }
    }
}
