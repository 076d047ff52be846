//! Events: what the cloud reports while a plan is applied or revoked.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use super::{Installation, Residue};

/// CloudFormation-style resource and stack statuses; GCP and Azure operations map onto them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    CreateInProgress,
    CreateComplete,
    CreateFailed,
    UpdateInProgress,
    UpdateComplete,
    UpdateFailed,
    UpdateRollbackInProgress,
    UpdateRollbackComplete,
    RollbackInProgress,
    RollbackComplete,
    RollbackFailed,
    DeleteInProgress,
    DeleteComplete,
    DeleteFailed,
    DeleteSkipped,
    ReviewInProgress,
    UpdateCompleteCleanupInProgress,
    UpdateRollbackFailed,
    UpdateRollbackCompleteCleanupInProgress,
    ImportInProgress,
    ImportComplete,
    ImportRollbackInProgress,
    ImportRollbackComplete,
    ImportRollbackFailed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::CreateInProgress => "CREATE_IN_PROGRESS",
            Status::CreateComplete => "CREATE_COMPLETE",
            Status::CreateFailed => "CREATE_FAILED",
            Status::UpdateInProgress => "UPDATE_IN_PROGRESS",
            Status::UpdateComplete => "UPDATE_COMPLETE",
            Status::UpdateFailed => "UPDATE_FAILED",
            Status::UpdateRollbackInProgress => "UPDATE_ROLLBACK_IN_PROGRESS",
            Status::UpdateRollbackComplete => "UPDATE_ROLLBACK_COMPLETE",
            Status::RollbackInProgress => "ROLLBACK_IN_PROGRESS",
            Status::RollbackComplete => "ROLLBACK_COMPLETE",
            Status::RollbackFailed => "ROLLBACK_FAILED",
            Status::DeleteInProgress => "DELETE_IN_PROGRESS",
            Status::DeleteComplete => "DELETE_COMPLETE",
            Status::DeleteFailed => "DELETE_FAILED",
            Status::DeleteSkipped => "DELETE_SKIPPED",
            Status::ReviewInProgress => "REVIEW_IN_PROGRESS",
            Status::UpdateCompleteCleanupInProgress => "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            Status::UpdateRollbackFailed => "UPDATE_ROLLBACK_FAILED",
            Status::UpdateRollbackCompleteCleanupInProgress => "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            Status::ImportInProgress => "IMPORT_IN_PROGRESS",
            Status::ImportComplete => "IMPORT_COMPLETE",
            Status::ImportRollbackInProgress => "IMPORT_ROLLBACK_IN_PROGRESS",
            Status::ImportRollbackComplete => "IMPORT_ROLLBACK_COMPLETE",
            Status::ImportRollbackFailed => "IMPORT_ROLLBACK_FAILED",
        }
    }

    /// The status a cloud names, whatever its casing (clouds document their states in one case
    /// and are not bound to keep to it).
    pub fn parse(s: &str) -> Option<Status> {
        ALL_STATUSES.iter().copied().find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::CreateFailed
                | Status::UpdateFailed
                | Status::UpdateRollbackInProgress
                | Status::UpdateRollbackComplete
                | Status::RollbackInProgress
                | Status::RollbackComplete
                | Status::RollbackFailed
                | Status::DeleteFailed
                | Status::UpdateRollbackFailed
                | Status::UpdateRollbackCompleteCleanupInProgress
                | Status::ImportRollbackInProgress
                | Status::ImportRollbackComplete
                | Status::ImportRollbackFailed
        )
    }

    pub fn is_in_progress(self) -> bool {
        matches!(
            self,
            Status::CreateInProgress
                | Status::UpdateInProgress
                | Status::UpdateRollbackInProgress
                | Status::RollbackInProgress
                | Status::DeleteInProgress
                | Status::ReviewInProgress
                | Status::UpdateCompleteCleanupInProgress
                | Status::UpdateRollbackCompleteCleanupInProgress
                | Status::ImportInProgress
                | Status::ImportRollbackInProgress
        )
    }

    /// A status a stack operation ends in (the poller stops on these stack-level statuses).
    pub fn ends_operation(self) -> bool {
        matches!(
            self,
            Status::CreateComplete
                | Status::CreateFailed
                | Status::RollbackComplete
                | Status::RollbackFailed
                | Status::UpdateComplete
                | Status::UpdateFailed
                | Status::UpdateRollbackComplete
                | Status::UpdateRollbackFailed
                | Status::DeleteComplete
                | Status::DeleteFailed
                | Status::ImportComplete
                | Status::ImportRollbackComplete
                | Status::ImportRollbackFailed
        )
    }

    /// A resource in this status counts as finished for a progress bar.
    pub fn is_terminal(self) -> bool {
        !self.is_in_progress()
    }
}

const ALL_STATUSES: [Status; 24] = [
    Status::CreateInProgress,
    Status::CreateComplete,
    Status::CreateFailed,
    Status::UpdateInProgress,
    Status::UpdateComplete,
    Status::UpdateFailed,
    Status::UpdateRollbackInProgress,
    Status::UpdateRollbackComplete,
    Status::RollbackInProgress,
    Status::RollbackComplete,
    Status::RollbackFailed,
    Status::DeleteInProgress,
    Status::DeleteComplete,
    Status::DeleteFailed,
    Status::DeleteSkipped,
    Status::ReviewInProgress,
    Status::UpdateCompleteCleanupInProgress,
    Status::UpdateRollbackFailed,
    Status::UpdateRollbackCompleteCleanupInProgress,
    Status::ImportInProgress,
    Status::ImportComplete,
    Status::ImportRollbackInProgress,
    Status::ImportRollbackComplete,
    Status::ImportRollbackFailed,
];

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing that happened to one resource (or to the group itself, when `resource == group`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub time: DateTime<Utc>,
    /// The group (stack) name.
    pub group: String,
    /// Logical id; the group name for group-level events.
    pub resource: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub status: Status,
    pub reason: Option<String>,
    pub physical_id: Option<String>,
}

impl Event {
    pub fn is_group_event(&self) -> bool {
        self.resource == self.group
    }

    /// One plain line, as printed by `init`/`revoke` when not on a terminal.
    pub fn plain_line(&self) -> String {
        let mut line = format!(
            "{} {} {} {} {}",
            self.time.format("%H:%M:%S"),
            self.group,
            self.resource,
            self.resource_type,
            self.status
        );
        if let Some(r) = &self.reason {
            line.push_str(" - ");
            line.push_str(r);
        }
        line
    }
}

/// What a running apply or revoke sends back, in order, over one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Update {
    Event(Event),
    /// A note from cloudgrant itself (a fallback taken, a step started).
    Log {
        text: String,
    },
    /// Apply finished; the installation as it now stands (complete or not).
    Applied {
        installation: Installation,
        ok: bool,
        root_cause: Option<String>,
    },
    /// Revoke finished, with what stays behind and what was checked.
    Revoked {
        residue: Residue,
        ok: bool,
        root_cause: Option<String>,
    },
}
