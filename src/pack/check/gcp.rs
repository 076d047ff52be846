//! `vendor check`'s rules for Google Cloud (`gcp/install.yaml`, docs/vendor-packs.md). Refused:
//! service-account keys (static credentials), a section cloudgrant has no fate on revoke for, and
//! a binding that lets its member impersonate every service account of the project. Flagged:
//! write permissions on the whole project, Google's broad predefined roles, and bindings to
//! everyone or a whole domain. ExternalId does not apply: Google Cloud has no cross-account
//! assume; the vendor acts as its own service account, named in each binding.
//!
//! The rules read the definitions as the plan renders them (org `example`, no project); a file
//! that does not render is reported once, by the plan.

use serde_yaml::Value;

use super::{Findings, Level, CHECK_ORG};
use crate::model::Cloud;
use crate::pack::Pack;
use crate::permissions::verbs::gcp_level;
use crate::permissions::AccessLevel;
use crate::plan::gcp::{Binding, Spec, Target, FILE};
use crate::plan::{self, Choices};
use crate::vendor::VendorProfile;

/// The sections of `install.yaml`: each has a fate on revoke (docs/gcp.md) or creates nothing.
const SECTIONS: [&str; 10] = [
    "send_to_vendor",
    "labels",
    "apis",
    "roles",
    "predefined_roles",
    "service_accounts",
    "key_rings",
    "crypto_keys",
    "buckets",
    "bindings",
];

/// Predefined roles that let a member act as, or mint tokens for, a service account.
const IMPERSONATING_ROLES: [&str; 2] = ["roles/iam.serviceAccountTokenCreator", "roles/iam.serviceAccountUser"];

/// Permissions with the same effect, in a custom role or a listed predefined one.
const IMPERSONATING: [&str; 6] = [
    "iam.serviceAccounts.actAs",
    "iam.serviceAccounts.getAccessToken",
    "iam.serviceAccounts.getOpenIdToken",
    "iam.serviceAccounts.implicitDelegation",
    "iam.serviceAccounts.signBlob",
    "iam.serviceAccounts.signJwt",
];

/// Roles and permissions that make service-account keys.
const KEY_ROLES: [&str; 1] = ["roles/iam.serviceAccountKeyAdmin"];
const KEY_PERMISSIONS: [&str; 1] = ["iam.serviceAccountKeys.create"];

pub(super) fn rules(pack: &Pack, vendor: &VendorProfile, f: &mut Findings) {
    let Some(file) = pack.file(FILE) else { return };
    let path = Some(file.path);
    let mut add = |level, rule, resource: Option<&str>, message: String| {
        f.add(level, rule, Some(Cloud::Gcp), path, resource, message);
    };
    if let Ok(Value::Mapping(m)) = serde_yaml::from_str::<Value>(file.text) {
        let mut keys = Vec::new();
        key_fields(&Value::Mapping(m.clone()), "", &mut keys);
        for k in &keys {
            add(Level::Refused, "static-credentials", None, format!("`{k}`: service-account keys are long-lived secrets; the vendor acts as its own service account through a binding instead"));
        }
        for k in m.keys().filter_map(Value::as_str) {
            if !SECTIONS.contains(&k) && !keys.iter().any(|x| x == k) {
                add(Level::Refused, "fate", None, format!("section `{k}` is not one cloudgrant creates, so it has no fate cloudgrant can state on revoke; use {}", SECTIONS.join(", ")));
            }
        }
    }
    let choices = Choices {
        org: CHECK_ORG.into(),
        region: plan::default_region(Cloud::Gcp, vendor),
        account: None,
        external_id: None,
    };
    // Reported once, by the plan.
    let Ok(spec) = Spec::bundled(vendor, &choices) else { return };
    for r in &spec.roles {
        for p in r.permissions.iter().filter(|p| KEY_PERMISSIONS.contains(&p.as_str())) {
            add(Level::Refused, "static-credentials", Some(&r.id), format!("{p} makes service-account keys (long-lived secrets): grant what the vendor needs to its own service account instead"));
        }
    }
    for b in &spec.bindings {
        binding_rules(&spec, b, &mut add);
    }
}

/// Fields anywhere in the file that would hold service-account keys.
fn key_fields(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, x) in m {
                let Some(k) = k.as_str() else { continue };
                let here = if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
                let lower = k.to_ascii_lowercase();
                if lower == "keys" || lower.contains("service_account_key") || lower.contains("private_key") {
                    out.push(here.clone());
                }
                key_fields(x, &here, out);
            }
        }
        Value::Sequence(items) => {
            for (i, x) in items.iter().enumerate() {
                key_fields(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Google's roles that grant (nearly) everything in a service or the project.
fn broad(role: &str) -> bool {
    matches!(role, "roles/owner" | "roles/editor")
        || role.strip_prefix("roles/").is_some_and(|r| r.ends_with(".admin") || r.ends_with("Admin"))
}

fn binding_rules(spec: &Spec, b: &Binding, add: &mut impl FnMut(Level, &'static str, Option<&str>, String)) {
    let id = Some(b.id.as_str());
    let Some((role, permissions)) = spec.role_permissions(&b.role) else { return };
    let Some(member) = spec.member(&b.member) else { return };
    let on_project = spec.target(&b.on) == Some(Target::Project);
    if KEY_ROLES.contains(&role.as_str()) {
        add(Level::Refused, "static-credentials", id, format!("{role} lets {member} make service-account keys (long-lived secrets): grant what the vendor needs to its own service account instead"));
    }
    if on_project {
        let impersonates: Vec<&str> =
            permissions.iter().map(String::as_str).filter(|p| IMPERSONATING.contains(p)).collect();
        if IMPERSONATING_ROLES.contains(&role.as_str()) || !impersonates.is_empty() {
            let what =
                if impersonates.is_empty() { role.clone() } else { format!("{role} ({})", impersonates.join(", ")) };
            add(Level::Refused, "impersonation", id, format!("{what} on the project lets {member} act as every service account of the project, including ones with more rights: bind it on the one service account it needs (`on: <service account id>`)"));
        }
        let writes: Vec<&str> = permissions
            .iter()
            .map(String::as_str)
            .filter(|p| matches!(gcp_level(p), Some(AccessLevel::Write | AccessLevel::PermissionsManagement)))
            .collect();
        if !writes.is_empty() {
            add(Level::Flagged, "write-on-project", id, format!("{member} may {} on every resource of the project: bind the role on the bucket, key or service account it needs where Google allows it", writes.join(", ")));
        }
    }
    if broad(&role) {
        add(Level::Flagged, "broad-role", id, format!("{role} is one of Google's broad roles (it grants far more than a vendor needs, and changes when Google adds permissions): list the exact permissions in a custom role"));
    }
    let everyone = match member.as_str() {
        "allUsers" => Some("anyone on the internet"),
        "allAuthenticatedUsers" => Some("anyone signed in with a Google account"),
        m if m.starts_with("domain:") => Some("everyone in that domain"),
        _ => None,
    };
    if let Some(who) = everyone {
        add(
            Level::Flagged,
            "public-member",
            id,
            format!("{member} stands for {who}: bind the vendor's service account instead"),
        );
    }
}
