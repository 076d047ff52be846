//! What applying a plan would change in stacks that already exist (a CloudFormation change set,
//! or the sandbox's equivalent), shown beside the plan before anything is done.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupChanges {
    pub group: String,
    pub kind: ChangeKind,
    pub changes: Vec<ResourceChange>,
    /// Why the changes are not known in detail (e.g. they depend on a stack not created yet).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A new group: every resource of the plan is added.
    Create,
    Update,
    NoChanges,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    /// Add, Modify, Remove (CloudFormation's words).
    pub action: String,
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    /// For Modify: True, False or Conditional.
    pub replacement: Option<String>,
}

impl GroupChanges {
    pub fn summary(&self) -> String {
        match self.kind {
            ChangeKind::Create => format!("{}: new stack, {} resources to add", self.group, self.changes.len()),
            ChangeKind::NoChanges => format!("{}: no changes", self.group),
            ChangeKind::Update => {
                let n = |a: &str| self.changes.iter().filter(|c| c.action == a).count();
                let replaced = self.changes.iter().filter(|c| c.replacement.as_deref() == Some("True")).count();
                format!(
                    "{}: {} to add, {} to modify ({replaced} replaced), {} to remove",
                    self.group,
                    n("Add"),
                    n("Modify"),
                    n("Remove")
                )
            }
        }
    }
}
