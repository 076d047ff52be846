//! How an install stands, derived from the cloud: one vocabulary for `status`, `init`, the revoke
//! review and the wizard, so that a half-done state is named the same way everywhere. Also what
//! an install leaves outside its groups (keys of earlier attempts) and the groups that carry
//! cloudgrant's marks but are not this install (reported, never touched).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Status;

/// The state of one install, as the cloud shows it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Health {
    /// Every group finished creating or updating.
    #[default]
    Complete,
    /// A create or update is running in the cloud.
    Creating { groups: Vec<String> },
    /// A create or update failed or rolled back; the groups named are left in that state.
    Failed { groups: Vec<String> },
    /// A delete is running in the cloud.
    RevokeInProgress { groups: Vec<String> },
    /// A revoke stopped half-way: `gone` was removed (or is scheduled for destruction) while
    /// `standing` is still there.
    RevokeIncomplete { gone: Vec<String>, standing: Vec<String> },
    /// Parts of the install are absent and nothing says a revoke removed them (a create that
    /// stopped early, or a deletion by hand).
    Missing { parts: Vec<String> },
}

/// What [`Health::derive`] reads.
#[derive(Debug, Clone, Default)]
pub struct HealthFacts {
    /// Every part (group, or resource where the cloud has one group) the plan has, in order.
    pub planned: Vec<String>,
    /// The parts found, with their status.
    pub present: Vec<(String, Status)>,
    /// Parts the cloud records as deleted after the present ones were made (a revoke's work).
    pub deleted: Vec<String>,
    /// Parts still standing whose essential piece is scheduled for destruction (a data key
    /// pending deletion inside a stack that still grants access).
    pub doomed: Vec<String>,
}

impl Health {
    /// The state these facts amount to. The order of the checks is the order of urgency: work in
    /// progress first, then a revoke that stopped half-way, then failures, then gaps.
    pub fn derive(f: &HealthFacts) -> Health {
        let names = |pred: &dyn Fn(Status) -> bool| -> Vec<String> {
            f.present.iter().filter(|(_, s)| pred(*s)).map(|(n, _)| n.clone()).collect()
        };
        let deleting = names(&|s| s == Status::DeleteInProgress);
        if !deleting.is_empty() {
            return Health::RevokeInProgress { groups: deleting };
        }
        let running = names(&|s| s.is_in_progress());
        if !running.is_empty() {
            return Health::Creating { groups: running };
        }
        let missing: Vec<String> =
            f.planned.iter().filter(|p| !f.present.iter().any(|(n, _)| n == *p)).cloned().collect();
        let revoked: Vec<String> = missing.iter().filter(|m| f.deleted.contains(m)).cloned().collect();
        let delete_failed = names(&|s| s == Status::DeleteFailed);
        if !f.present.is_empty() && (!revoked.is_empty() || !delete_failed.is_empty() || !f.doomed.is_empty()) {
            let mut gone = revoked;
            gone.extend(f.doomed.iter().cloned());
            gone.extend(delete_failed.iter().map(|n| format!("{n} (delete failed)")));
            let standing = f.present.iter().map(|(n, _)| n.clone()).collect();
            return Health::RevokeIncomplete { gone, standing };
        }
        let failed = names(&|s| s.is_failure());
        if !failed.is_empty() {
            return Health::Failed { groups: failed };
        }
        if !missing.is_empty() && !f.present.is_empty() {
            return Health::Missing { parts: missing };
        }
        Health::Complete
    }

    /// The state in one or two words, as every screen and output prints it.
    pub fn word(&self) -> &'static str {
        match self {
            Health::Complete => "complete",
            Health::Creating { .. } => "creating",
            Health::Failed { .. } => "failed",
            Health::RevokeInProgress { .. } => "revoke in progress",
            Health::RevokeIncomplete { .. } => "revoke incomplete",
            Health::Missing { .. } => "incomplete",
        }
    }

    /// One plain sentence: the state and the parts it names.
    pub fn sentence(&self) -> String {
        match self {
            Health::Complete => "complete: every part finished creating".into(),
            Health::Creating { groups } => format!("creating: {} still running in the cloud", groups.join(", ")),
            Health::Failed { groups } => {
                format!("failed: {} did not complete (rolled back or failed)", groups.join(", "))
            }
            Health::RevokeInProgress { groups } => format!("revoke in progress: {} being deleted", groups.join(", ")),
            Health::RevokeIncomplete { gone, standing } => format!(
                "revoke incomplete: {} removed or scheduled for deletion, while {} still stand(s)",
                gone.join(", "),
                standing.join(", ")
            ),
            Health::Missing { parts } => format!("incomplete: {} missing", parts.join(", ")),
        }
    }

    /// Whether `init` must stop and ask which way to go (finish the revoke, or restore).
    pub fn is_partly_revoked(&self) -> bool {
        matches!(self, Health::RevokeIncomplete { .. })
    }

    /// Whether the cloud is still working on the install (nothing may start meanwhile).
    pub fn is_running(&self) -> bool {
        matches!(self, Health::Creating { .. } | Health::RevokeInProgress { .. })
    }
}

/// Something of the install outside its groups, or left inside a group by a failure: a key
/// retained by a rolled-back or deleted stack, with its state and date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leftover {
    #[serde(rename = "type")]
    pub type_: String,
    pub physical_id: String,
    /// `pending_deletion`, `enabled`, `disabled`.
    pub state: String,
    /// When the cloud destroys it, where it is scheduled.
    pub date: Option<NaiveDate>,
    /// Where it comes from, in words ("retained by acmeml-acme-auth, deleted 2025-05-01").
    pub origin: String,
    /// The group it still belongs to, when that group stands.
    pub group: Option<String>,
    /// How to keep it, or how to remove it, as a command.
    pub way: String,
    /// Left by a revoke (restorable by `init --restore`), not by a failed create.
    #[serde(default)]
    pub by_revoke: bool,
}

impl Leftover {
    /// One plain line, as status and the revoke review print it.
    pub fn line(&self) -> String {
        let state = match (&self.state[..], self.date) {
            ("pending_deletion", Some(d)) => format!("pending deletion, deleted by the cloud on {d}"),
            (s, _) => s.replace('_', " "),
        };
        format!("{} {}: {state}; {}. {}", self.type_, self.physical_id, self.origin, self.way)
    }
}

/// A group named or marked like one of this install's that is not this install's: reported by
/// name and never changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stranger {
    /// "stack", "deployment stack", "resource group", "custom role", …
    pub kind: String,
    pub name: String,
    /// Which check it fails ("named like no group of this install", "cloudgrant-org is other").
    pub why: Vec<String>,
    /// A command that shows it, and one that removes it (for the owner to run, if it is a leftover).
    pub inspect: String,
    pub remove: String,
}

impl Stranger {
    pub fn line(&self) -> String {
        format!(
            "{} {} carries cloudgrant tags but is not this install ({}): left alone. Inspect it: {}; if it is a leftover, remove it yourself: {}",
            self.kind,
            self.name,
            self.why.join("; "),
            self.inspect,
            self.remove
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(present: &[(&str, Status)], deleted: &[&str], doomed: &[&str]) -> HealthFacts {
        HealthFacts {
            planned: ["vpc", "s3", "auth"].map(String::from).to_vec(),
            present: present.iter().map(|(n, s)| (n.to_string(), *s)).collect(),
            deleted: deleted.iter().map(|s| s.to_string()).collect(),
            doomed: doomed.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn every_partial_state_has_its_name() {
        use Status::*;
        let all = [("vpc", CreateComplete), ("s3", CreateComplete), ("auth", CreateComplete)];
        assert_eq!(Health::derive(&facts(&all, &[], &[])), Health::Complete);
        assert_eq!(
            Health::derive(&facts(&all, &[], &["auth (key pending deletion)"])),
            Health::RevokeIncomplete {
                gone: vec!["auth (key pending deletion)".into()],
                standing: vec!["vpc".into(), "s3".into(), "auth".into()]
            }
        );
        let two = [("vpc", CreateComplete), ("s3", CreateComplete)];
        assert_eq!(Health::derive(&facts(&two, &["auth"], &[])).word(), "revoke incomplete");
        assert_eq!(Health::derive(&facts(&two, &[], &[])), Health::Missing { parts: vec!["auth".into()] });
        let rolled = [("vpc", CreateComplete), ("s3", RollbackComplete), ("auth", CreateComplete)];
        assert_eq!(Health::derive(&facts(&rolled, &[], &[])), Health::Failed { groups: vec!["s3".into()] });
        let busy = [("vpc", DeleteInProgress), ("s3", CreateComplete)];
        assert_eq!(Health::derive(&facts(&busy, &["auth"], &[])).word(), "revoke in progress");
        let creating = [("vpc", CreateInProgress)];
        assert_eq!(Health::derive(&facts(&creating, &[], &[])).word(), "creating");
        let stuck = [("vpc", DeleteFailed), ("s3", CreateComplete)];
        assert!(Health::derive(&facts(&stuck, &["auth"], &[])).is_partly_revoked());
        // A group deleted and made again (a rolled-back create cleaned up) is not a revoke.
        assert_eq!(Health::derive(&facts(&all, &["vpc"], &[])), Health::Complete);
    }
}
