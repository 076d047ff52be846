//! What applying a plan would change in stacks that already exist (a CloudFormation change set,
//! or the sandbox's equivalent), shown beside the plan before anything is done; and how each
//! cloud names the groups it tracks.

use serde::{Deserialize, Serialize};

use super::Cloud;

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

/// How each cloud names what cloudgrant tracks, for every text that speaks of it.
impl Cloud {
    /// What the user picks an install in: "account", "project", "subscription".
    pub fn account_word(self) -> &'static str {
        match self {
            Cloud::Aws => "account",
            Cloud::Gcp => "project",
            Cloud::Azure => "subscription",
        }
    }

    /// One tracked group: "stack" (CloudFormation), "resource set" (GCP resources found by their
    /// labels), "deployment stack" (Azure).
    pub fn group_word(self) -> &'static str {
        match self {
            Cloud::Aws => "stack",
            Cloud::Gcp => "resource set",
            Cloud::Azure => "deployment stack",
        }
    }

    /// "3 stacks", "1 resource set", "2 deployment stacks".
    pub fn groups(self, n: usize) -> String {
        let word = self.group_word();
        if n == 1 {
            format!("1 {word}")
        } else {
            format!("{n} {word}s")
        }
    }
}

impl GroupChanges {
    /// [`Self::summary`], and for a new group whose plan lists more than it adds, how many of the
    /// planned resources exist already ("12 resources to add, 2 there already").
    pub fn summary_with(&self, cloud: Cloud, planned: Option<usize>) -> String {
        match (self.kind, planned) {
            (ChangeKind::Create, Some(n)) if n > self.changes.len() => {
                format!("{}; {} of the {n} planned there already", self.summary(cloud), n - self.changes.len())
            }
            _ => self.summary(cloud),
        }
    }

    /// One line: what applying changes in this group ("auth: new stack, 4 resources to add").
    pub fn summary(&self, cloud: Cloud) -> String {
        match self.kind {
            ChangeKind::Create => {
                format!("{}: new {}, {} resources to add", self.group, cloud.group_word(), self.changes.len())
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cloud_names_its_groups() {
        let new = GroupChanges { group: "main".into(), kind: ChangeKind::Create, changes: Vec::new(), note: None };
        assert_eq!(new.summary(Cloud::Aws), "main: new stack, 0 resources to add");
        assert_eq!(new.summary(Cloud::Gcp), "main: new resource set, 0 resources to add");
        assert_eq!(new.summary(Cloud::Azure), "main: new deployment stack, 0 resources to add");
        assert_eq!(Cloud::Aws.groups(3), "3 stacks");
        assert_eq!(Cloud::Gcp.groups(1), "1 resource set");
        assert_eq!(Cloud::Azure.groups(2), "2 deployment stacks");
        assert_eq!(Cloud::Azure.account_word(), "subscription");
    }
}
