//! The one set of words for what revoke does to a resource: deleted, kept, kept (with your data),
//! scheduled for deletion (date), soft-deleted (restorable until date), detached, will fail.
//!
//! Policy: every screen and output (the preview's Resources tab, the revoke review, the live
//! revoke list, the report, `status`, plain output, receipts) takes the word from here, from the
//! plan's [`OnRevoke`], the revoke plan's [`RevokeOutcome`] or the residue's state, so one
//! resource is never called two things. Whether "kept" is "with your data" is decided by the
//! resource's type ([`holds_your_data`]): enabled APIs, key rings and service principals stay,
//! but hold no data of yours.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{OnRevoke, ResidueItem, Resource, RevokeItem, RevokeOutcome, RevokePlan};

/// What becomes of one resource on revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Fate {
    Deleted,
    /// Stays, holding nothing of yours (an enabled API, a key ring, a service principal).
    Kept,
    /// Stays with your data (a bucket, a storage account, the resource group that holds it).
    KeptWithData,
    /// Deleted by the cloud on `date` (known once revoke is planned) or `days` after revoke.
    ScheduledDeletion {
        date: Option<NaiveDate>,
        days: Option<u32>,
    },
    /// Deleted but restorable until `until` (or for `days` after revoke).
    SoftDeleted {
        until: Option<NaiveDate>,
        days: Option<u32>,
    },
    /// No longer managed by its stack, left as it is (Azure deployment stacks that detach).
    Detached,
    /// The review knows it cannot be deleted as things stand.
    WillFail,
    /// Revoke tried and the cloud refused.
    DeleteFailed,
}

/// Types that hold the customer's data: kept for that reason, and said so.
pub fn holds_your_data(type_: &str) -> bool {
    matches!(
        type_.to_ascii_lowercase().as_str(),
        "aws::s3::bucket"
            | "storage.googleapis.com/bucket"
            | "microsoft.storage/storageaccounts"
            | "microsoft.storage/storageaccounts/blobservices/containers"
            // Only the storage resource group is ever kept: it holds the data account.
            | "microsoft.resources/resourcegroups"
    )
}

impl Fate {
    /// The word alone: "scheduled for deletion".
    pub fn word(&self) -> &'static str {
        match self {
            Fate::Deleted => "deleted",
            Fate::Kept => "kept",
            Fate::KeptWithData => "kept (with your data)",
            Fate::ScheduledDeletion { .. } => "scheduled for deletion",
            Fate::SoftDeleted { .. } => "soft-deleted",
            Fate::Detached => "detached",
            Fate::WillFail => "will fail",
            Fate::DeleteFailed => "delete failed",
        }
    }

    /// The word with its date: "scheduled for deletion (2026-12-31)", "soft-deleted (restorable
    /// until 2026-12-08)"; before revoke is planned, "(30 days after revoke)".
    pub fn phrase(&self) -> String {
        match self {
            Fate::ScheduledDeletion { date: Some(d), .. } => format!("scheduled for deletion ({d})"),
            Fate::ScheduledDeletion { date: None, days: Some(n) } => {
                format!("scheduled for deletion ({n} days after revoke)")
            }
            Fate::SoftDeleted { until: Some(d), .. } => format!("soft-deleted (restorable until {d})"),
            Fate::SoftDeleted { until: None, days: Some(n) } => format!("soft-deleted (restorable for {n} days)"),
            other => other.word().to_string(),
        }
    }

    /// Whether the resource is still in the account after revoke (in some form).
    pub fn stays(&self) -> bool {
        !matches!(self, Fate::Deleted)
    }

    /// What the plan says revoke will do to a resource of `type_`.
    pub fn planned(on: OnRevoke, type_: &str, days: Option<u32>) -> Fate {
        match on {
            OnRevoke::Delete => Fate::Deleted,
            OnRevoke::Keep if holds_your_data(type_) => Fate::KeptWithData,
            OnRevoke::Keep => Fate::Kept,
            OnRevoke::ScheduledDeletion => Fate::ScheduledDeletion { date: None, days },
            OnRevoke::SoftDelete => Fate::SoftDeleted { until: None, days },
            OnRevoke::Detach => Fate::Detached,
        }
    }

    /// The fate of a revoke plan's item.
    pub fn of_outcome(outcome: &RevokeOutcome, type_: &str) -> Fate {
        match outcome {
            RevokeOutcome::Deleted => Fate::Deleted,
            RevokeOutcome::Kept { .. } if holds_your_data(type_) => Fate::KeptWithData,
            RevokeOutcome::Kept { .. } => Fate::Kept,
            RevokeOutcome::ScheduledDeletion { date, days, .. } => {
                Fate::ScheduledDeletion { date: Some(*date), days: Some(*days) }
            }
            RevokeOutcome::SoftDeleted { until, .. } => Fate::SoftDeleted { until: *until, days: None },
            RevokeOutcome::Detached { .. } => Fate::Detached,
            RevokeOutcome::WillFail { .. } => Fate::WillFail,
        }
    }

    /// The fate of what a revoke left behind: the revoke plan's word for the same resource (by
    /// physical id), else the residue's own state.
    pub fn of_residue(item: &ResidueItem, plan: Option<&RevokePlan>) -> Fate {
        if item.state == "delete_failed" {
            return Fate::DeleteFailed;
        }
        let planned = plan.and_then(|p| {
            p.items().find(|i| {
                i.physical_id
                    .as_deref()
                    .is_some_and(|id| id == item.physical_id || id.ends_with(&format!("/{}", item.physical_id)))
            })
        });
        let stays = |i: &&RevokeItem| !matches!(i.outcome, RevokeOutcome::Deleted | RevokeOutcome::WillFail { .. });
        if let Some(i) = planned.filter(stays) {
            return i.fate();
        }
        // Ids are not always written the same way (a name, a path): the one staying item of
        // that type is the same resource.
        if let Some(p) = plan {
            let same: Vec<&RevokeItem> =
                p.items().filter(|i| i.type_.eq_ignore_ascii_case(&item.type_)).filter(stays).collect();
            if let [one] = same.as_slice() {
                return one.fate();
            }
        }
        match item.state.as_str() {
            "kept" if holds_your_data(&item.type_) => Fate::KeptWithData,
            "kept" => Fate::Kept,
            "pending_deletion" => Fate::ScheduledDeletion { date: None, days: None },
            "soft_deleted" => Fate::SoftDeleted { until: None, days: None },
            "detached" => Fate::Detached,
            _ => Fate::Deleted,
        }
    }
}

impl RevokeItem {
    pub fn fate(&self) -> Fate {
        Fate::of_outcome(&self.outcome, &self.type_)
    }
}

impl Resource {
    /// What revoke will do to it, as the preview says it.
    pub fn fate(&self) -> Fate {
        Fate::planned(self.on_revoke, &self.type_, self.pending_window_days)
    }
}

impl ResidueItem {
    pub fn fate(&self, plan: Option<&RevokePlan>) -> Fate {
        Fate::of_residue(self, plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_says_with_your_data_only_for_data() {
        assert_eq!(Fate::planned(OnRevoke::Keep, "AWS::S3::Bucket", None).word(), "kept (with your data)");
        assert_eq!(Fate::planned(OnRevoke::Keep, "serviceusage.googleapis.com/Service", None).word(), "kept");
        assert_eq!(Fate::planned(OnRevoke::Keep, "cloudkms.googleapis.com/KeyRing", None).word(), "kept");
        assert_eq!(Fate::planned(OnRevoke::Keep, "Microsoft.Graph/servicePrincipals", None).word(), "kept");
        assert_eq!(Fate::planned(OnRevoke::Detach, "Microsoft.Resources/deployments", None).word(), "detached");
    }

    #[test]
    fn phrases_carry_the_date() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 31);
        assert_eq!(Fate::ScheduledDeletion { date: d, days: Some(30) }.phrase(), "scheduled for deletion (2026-12-31)");
        assert_eq!(
            Fate::ScheduledDeletion { date: None, days: Some(30) }.phrase(),
            "scheduled for deletion (30 days after revoke)"
        );
        assert_eq!(Fate::SoftDeleted { until: d, days: None }.phrase(), "soft-deleted (restorable until 2026-12-31)");
        assert_eq!(Fate::Deleted.phrase(), "deleted");
    }
}
