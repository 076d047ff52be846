//! What cloudgrant will create, as read from the template files.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The clouds cloudgrant knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Aws,
    Gcp,
    Azure,
}

impl Cloud {
    pub const ALL: [Cloud; 3] = [Cloud::Aws, Cloud::Gcp, Cloud::Azure];

    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Cloud::Aws => "AWS",
            Cloud::Gcp => "Google Cloud",
            Cloud::Azure => "Azure",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Cloud {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "aws" => Ok(Cloud::Aws),
            "gcp" | "google" => Ok(Cloud::Gcp),
            "azure" => Ok(Cloud::Azure),
            other => Err(format!("unknown cloud `{other}`: expected aws, gcp or azure")),
        }
    }
}

/// Everything one install creates, grouped as the cloud tracks it (one group = one stack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub cloud: Cloud,
    pub vendor: String,
    pub vendor_id: String,
    pub org: String,
    pub region: String,
    /// The account the plan was rendered for; `None` renders account-specific values as `<account>`.
    pub account: Option<String>,
    /// Tags put on every group.
    pub tags: Vec<(String, String)>,
    /// In creation order; `depends_on` says which groups must finish first.
    pub groups: Vec<Group>,
    /// The vendor pack's digest (sha256 over its files, docs/vendor-packs.md) the plan was
    /// built from.
    #[serde(default)]
    pub pack_sha256: String,
    /// What the vendor receives when the install is done: the install's output names, in order,
    /// as the templates list them (docs/vendor-packs.md).
    #[serde(default)]
    pub send_to_vendor: Vec<String>,
}

impl Plan {
    pub fn group(&self, key: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.key == key)
    }

    pub fn resource_count(&self) -> usize {
        self.groups.iter().map(|g| g.resources.len()).sum()
    }

    pub fn permission_count(&self) -> usize {
        self.groups.iter().map(|g| g.permissions.len()).sum()
    }

    pub fn permissions(&self) -> impl Iterator<Item = (&Group, &Permission)> {
        self.groups.iter().flat_map(|g| g.permissions.iter().map(move |p| (g, p)))
    }

    /// Statements that say who may act as whom (assume-role trust).
    pub fn trust(&self) -> impl Iterator<Item = (&Group, &Permission)> {
        self.permissions().filter(|(_, p)| p.kind == PermissionKind::Trust)
    }

    /// Group keys in the order revoke deletes them: dependents first (the vendor's access ends
    /// first), then the rest in the order they are listed.
    pub fn revoke_order(&self) -> Vec<&Group> {
        let mut order: Vec<&Group> = Vec::new();
        let mut remaining: Vec<&Group> = self.groups.iter().collect();
        while !remaining.is_empty() {
            // A group can go once no remaining group depends on it.
            let pos =
                remaining.iter().position(|g| !remaining.iter().any(|o| o.depends_on.contains(&g.key))).unwrap_or(0);
            order.push(remaining.remove(pos));
        }
        order
    }
}

/// One tracked group: a CloudFormation stack, a labelled GCP set, an Azure deployment stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Short key from the stack manifest (`auth`, `vpc`, `s3`).
    pub key: String,
    /// The name the cloud knows it by (`acmeml-demo-auth`).
    pub name: String,
    pub title: String,
    /// The template file it is built from, relative to the assets directory.
    pub template: String,
    pub description: String,
    pub depends_on: Vec<String>,
    pub parameters: Vec<Parameter>,
    pub resources: Vec<Resource>,
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub value: String,
    pub source: ParameterSource,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ParameterSource {
    /// Set by cloudgrant from the vendor profile or the user's choices.
    Tool,
    /// The template's default.
    Default,
    /// Another group's output, passed on by cloudgrant.
    Output { group: String, output: String },
}

/// What happens to a resource when access is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRevoke {
    Delete,
    Keep,
    ScheduledDeletion,
    SoftDelete,
    /// Left in place, no longer managed (an Azure deployment stack that detaches).
    Detach,
}

impl OnRevoke {
    pub fn as_str(self) -> &'static str {
        match self {
            OnRevoke::Delete => "delete",
            OnRevoke::Keep => "keep",
            OnRevoke::ScheduledDeletion => "scheduled_deletion",
            OnRevoke::SoftDelete => "soft_delete",
            OnRevoke::Detach => "detach",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// Logical id in the template.
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    /// The name it will have, where the template fixes one.
    pub name: Option<String>,
    /// One plain line on why the vendor needs it (the template's `Metadata.cloudgrant.why`).
    pub why: String,
    pub on_revoke: OnRevoke,
    /// Days between revoke and real deletion, for keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_window_days: Option<u32>,
    /// Logical ids this resource waits for (references and `DependsOn`).
    pub depends_on: Vec<String>,
    /// Which networks may reach it, where the template restricts that (a firewall, a private
    /// route), in one line read from its properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Scanner checks the template sets aside for it on purpose, each with its reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Exception>,
}

/// A security scanner's check (checkov's id) that a template sets aside for one resource, on
/// purpose: the template's inline skip and its one-line reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    /// The check's id (`CKV_AWS_18`).
    pub check: String,
    /// Why it is not done, in one line.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// Where a permission statement lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionKind {
    /// Who may assume a role (its trust policy).
    Trust,
    /// What a role may do (inline or attached policy).
    Identity,
    /// A resource's own policy (bucket policy, key policy).
    Resource,
}

/// One policy statement, with every template expression resolved for this install.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Permission {
    /// Who is granted: the role's name for identity policies; the trusted principals for trust and
    /// resource policies.
    pub principal: String,
    pub kind: PermissionKind,
    /// The resource (logical id) that holds the statement, and the policy name where there is one.
    pub holder: String,
    pub policy: String,
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// Condition block as written, with values resolved.
    pub conditions: serde_json::Value,
    /// The strongest access level among the actions (`None` when every action is unknown);
    /// filled in by [`crate::permissions::annotate`].
    #[serde(default)]
    pub access_level: Option<crate::permissions::AccessLevel>,
    /// What each action, as written, stands for: level(s), wildcard expansion count, unknown.
    #[serde(default)]
    pub access: Vec<crate::permissions::ActionAccess>,
    /// Risk flags, each with a severity and a one-line explanation.
    #[serde(default)]
    pub risks: Vec<crate::permissions::Risk>,
    /// The template file and line the statement was written at.
    #[serde(default)]
    pub source: Option<crate::permissions::SourceLocation>,
}
