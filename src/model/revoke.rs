//! What revoke will do to each resource, and what stays afterwards.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Cloud, Installation};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokePlan {
    pub installation: Installation,
    /// In the order they are deleted.
    pub groups: Vec<RevokeGroup>,
    /// Plain warnings shown before the user confirms (kept data, keys going away).
    pub warnings: Vec<String>,
    /// What earlier attempts or an earlier revoke left outside the groups (keys retained by
    /// rolled-back or deleted stacks), each with what this revoke does to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<RevokeItem>,
}

impl RevokePlan {
    pub fn items(&self) -> impl Iterator<Item = &RevokeItem> {
        self.groups.iter().flat_map(|g| g.resources.iter())
    }

    pub fn will_fail(&self) -> bool {
        self.items().any(|i| matches!(i.outcome, RevokeOutcome::WillFail { .. }))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokeGroup {
    pub key: String,
    pub name: String,
    pub id: String,
    pub resources: Vec<RevokeItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokeItem {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub physical_id: Option<String>,
    pub outcome: RevokeOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RevokeOutcome {
    Deleted,
    Kept {
        reason: String,
    },
    ScheduledDeletion {
        date: NaiveDate,
        days: u32,
        way_back: String,
    },
    SoftDeleted {
        until: Option<NaiveDate>,
        note: String,
    },
    /// No longer managed by its stack and left as it is (an Azure stack that detaches).
    Detached {
        reason: String,
    },
    WillFail {
        reason: String,
        fix: String,
    },
}

impl RevokeOutcome {
    /// Why, and the way back, in a plain sentence (the word itself is [`super::Fate`]'s).
    pub fn reason(&self) -> String {
        match self {
            RevokeOutcome::Deleted => String::new(),
            RevokeOutcome::Kept { reason } | RevokeOutcome::Detached { reason } => reason.clone(),
            RevokeOutcome::ScheduledDeletion { days, way_back, .. } => {
                format!("the cloud deletes it after {days} days; until then: {way_back}")
            }
            RevokeOutcome::SoftDeleted { note, .. } => note.clone(),
            RevokeOutcome::WillFail { reason, fix } => format!("{reason}. Fix: {fix}"),
        }
    }
}

/// What is left after revoke, and what was checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Residue {
    pub cloud: Cloud,
    pub org: String,
    pub account: String,
    pub finished: DateTime<Utc>,
    pub items: Vec<ResidueItem>,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResidueItem {
    #[serde(rename = "type")]
    pub type_: String,
    pub physical_id: String,
    /// `kept`, `pending_deletion`, `soft_deleted`, `delete_failed`.
    pub state: String,
    pub note: String,
}

/// A verification made after revoke (e.g. "the vendor role no longer exists").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}
