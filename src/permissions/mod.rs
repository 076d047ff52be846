//! What each permission statement of a plan allows, in words a non-expert can check: the access
//! level of every action (List, Read, Write, Permissions management, Tagging — the levels of the
//! AWS Service Authorization Reference), wildcards expanded against a bundled action table, and
//! risk flags with a severity and one plain line of explanation.
//!
//! AWS actions are looked up in `assets/permissions/aws-actions.tsv` (derived from the reference;
//! see `assets/permissions/generate.py` and docs/permissions.md). GCP permissions
//! (`service.resource.verb`) and Azure actions (`Provider/resource/verb`) are classified by their
//! verb; Azure's built-in roles and the operations whose verb misleads are in
//! `assets/permissions/azure-roles.json` ([`azure_roles`]). No terminal code here: the TUI and the
//! plain renderers call [`review`] and read the fields [`annotate`] fills in on every
//! [`Permission`](crate::model::Permission).

mod actions;
pub mod azure_roles;
pub mod conditions;
pub mod principal;
pub mod resources;
mod review;
mod risk;
pub mod source;
pub mod table;
mod trust;
pub mod verbs;

pub use actions::{classify, expand, sensitivity, Expansion, Sensitivity};
pub use principal::{describe_principal, PrincipalInfo, PrincipalKind};
pub use review::{
    review, Grant, LevelAccess, PermissionRef, PrincipalAccess, Protection, Review, ServiceAccess, TrustEntry,
};
pub use risk::{analyze, annotate, Context, GrantSummary, RoleSummary};

use serde::{Deserialize, Serialize};
use std::fmt;

/// The access levels of the AWS Service Authorization Reference, in increasing power; GCP and
/// Azure verbs are mapped onto the same scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// See which resources exist (`ec2:DescribeInstances`, `s3:ListBucket`).
    List,
    /// Read contents and attributes (`s3:GetObject`).
    Read,
    /// Add or remove tags only.
    Tagging,
    /// Create, change, delete, start, stop (`ec2:RunInstances`, `kms:Decrypt`).
    Write,
    /// Change who may do what (`iam:PutRolePolicy`, `s3:PutBucketPolicy`).
    PermissionsManagement,
}

impl AccessLevel {
    pub const ALL: [AccessLevel; 5] = [
        AccessLevel::List,
        AccessLevel::Read,
        AccessLevel::Tagging,
        AccessLevel::Write,
        AccessLevel::PermissionsManagement,
    ];

    /// The reference's own name for the level.
    pub fn title(self) -> &'static str {
        match self {
            AccessLevel::List => "List",
            AccessLevel::Read => "Read",
            AccessLevel::Tagging => "Tagging",
            AccessLevel::Write => "Write",
            AccessLevel::PermissionsManagement => "Permissions management",
        }
    }

    /// Parse the reference's name (as in the bundled table).
    pub fn from_title(s: &str) -> Option<AccessLevel> {
        AccessLevel::ALL.into_iter().find(|l| l.title() == s)
    }
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// How much a flag matters, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A fact worth knowing, not a risk (an ExternalId is required; a Deny protects).
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    /// `*`, `s3:*`, `ec2:Describe*`: more actions than written, including ones the cloud adds later.
    WildcardAction,
    /// `Resource: "*"`: every resource of that kind in the account.
    WildcardResource,
    /// Can gain more permissions than granted (`iam:PassRole`, `iam:PutRolePolicy`, `actAs`).
    PrivilegeEscalation,
    /// Can read, change or delete your data, or decrypt it.
    DataAccess,
    /// Can open a resource to others (bucket policy, key policy, `setIamPolicy`).
    ResourceExposure,
    /// Can obtain long-lived or new credentials (`iam:CreateAccessKey`, `sts:GetFederationToken`).
    CredentialsExposure,
    /// Other actions of the Permissions management level.
    PermissionsManagement,
    /// Not in the bundled reference: the preview cannot say what it allows.
    UnknownAction,
    /// Trust: a principal in another account may act as the role.
    CrossAccount,
    /// Trust: assuming the role requires the ExternalId.
    ExternalIdPresent,
    /// Trust: another account may assume the role without an ExternalId.
    ExternalIdMissing,
    /// Principal `*`: anyone.
    PublicPrincipal,
    /// Trust: a cloud service (EC2) takes the role for resources it runs.
    ServicePrincipal,
    /// Trust: principals of your own account may assume the role.
    SameAccount,
    /// Trust: identities from an identity provider (SAML, OIDC).
    FederatedPrincipal,
    /// A Deny statement: it takes access away, it grants nothing.
    Protective,
}

impl RiskKind {
    /// A short label for lists and tables.
    pub fn label(self) -> &'static str {
        match self {
            RiskKind::WildcardAction => "wildcard action",
            RiskKind::WildcardResource => "wildcard resource",
            RiskKind::PrivilegeEscalation => "privilege escalation",
            RiskKind::DataAccess => "data access",
            RiskKind::ResourceExposure => "resource exposure",
            RiskKind::CredentialsExposure => "credentials exposure",
            RiskKind::PermissionsManagement => "permissions management",
            RiskKind::UnknownAction => "unknown action",
            RiskKind::CrossAccount => "cross-account",
            RiskKind::ExternalIdPresent => "ExternalId required",
            RiskKind::ExternalIdMissing => "ExternalId missing",
            RiskKind::PublicPrincipal => "anyone",
            RiskKind::ServicePrincipal => "service",
            RiskKind::SameAccount => "same account",
            RiskKind::FederatedPrincipal => "federated",
            RiskKind::Protective => "protective",
        }
    }
}

impl fmt::Display for RiskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One flag on one permission statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    pub kind: RiskKind,
    pub severity: Severity,
    /// The statement's actions (as written) the flag is about; empty for the whole statement.
    #[serde(default)]
    pub actions: Vec<String>,
    /// One plain line: what it allows, what limits it, why it matters.
    pub explanation: String,
}

/// What one action, as written in a statement, stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionAccess {
    /// As written (`ec2:Describe*`).
    pub action: String,
    /// The service prefix (`ec2`, `storage`, `Microsoft.Compute`); `*` for every service.
    pub service: String,
    /// The strongest level it grants; `None` when unknown.
    pub level: Option<AccessLevel>,
    /// Every level it grants (a wildcard usually spans several).
    pub levels: Vec<AccessLevel>,
    /// Whether it is a wildcard (`*` or `?`).
    pub wildcard: bool,
    /// How many actions of the reference it stands for (1 for a plain action); `None` when the
    /// count is not known (a wildcard over a service the bundled table does not list).
    pub matches: Option<usize>,
    /// Not found in the reference: the preview cannot say what it allows.
    pub unknown: bool,
    /// Why it is unknown, or what the count covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where a statement was written: the template file (relative to `assets/`) and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The strongest level among a statement's actions; `None` when every action is unknown.
pub fn strongest(access: &[ActionAccess]) -> Option<AccessLevel> {
    access.iter().filter_map(|a| a.level).max()
}

/// Case-insensitive glob match with `*` (any run) and `?` (one character), as IAM matches actions.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether a written action or resource contains a wildcard.
pub fn is_wildcard(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_iam() {
        assert!(glob_match("ec2:Describe*", "ec2:DescribeInstances"));
        assert!(glob_match("EC2:describe*", "ec2:DescribeInstances"));
        assert!(glob_match("*", "kms:Decrypt"));
        assert!(glob_match("s3:Get*Acl", "s3:GetObjectAcl"));
        assert!(glob_match("s3:?etObject", "s3:GetObject"));
        assert!(!glob_match("s3:Get*Acl", "s3:GetObject"));
        assert!(!glob_match("ec2:Describe*", "ec2:RunInstances"));
        assert!(!glob_match("s3:GetObject", "s3:GetObjectAcl"));
        assert!(glob_match("a**b", "ab"));
    }

    #[test]
    fn levels_order_by_power_and_keep_the_reference_names() {
        assert!(AccessLevel::List < AccessLevel::Read);
        assert!(AccessLevel::Write < AccessLevel::PermissionsManagement);
        for l in AccessLevel::ALL {
            assert_eq!(AccessLevel::from_title(l.title()), Some(l));
        }
        assert_eq!(serde_json::json!(AccessLevel::PermissionsManagement), "permissions_management");
        assert_eq!(serde_json::json!(Severity::High), "high");
        assert_eq!(serde_json::json!(RiskKind::PrivilegeEscalation), "privilege_escalation");
    }
}
