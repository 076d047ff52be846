//! IAM policies on projects, service accounts, keys and buckets: what getIamPolicy answers, and
//! setIamPolicy's checks as Google makes them (the etag, conditions needing version 3, members and
//! custom roles that must exist), with a new etag on every write.

use serde_json::{json, Value};

use super::faults::Target;
use super::reply::{self, injected, ApiResponse};
use super::state::{Binding, Policy};
use super::Ctx;

/// Which error format the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Google,
    Storage,
}

pub fn to_json(p: &Policy) -> Value {
    let mut v = json!({"version": p.version(), "etag": p.etag});
    if !p.bindings.is_empty() {
        v["bindings"] = serde_json::to_value(&p.bindings).unwrap_or(Value::Null);
    }
    v
}

pub fn storage_json(p: &Policy, bucket: &str) -> Value {
    let mut v = to_json(p);
    v["kind"] = json!("storage#policy");
    v["resourceId"] = json!(format!("projects/_/buckets/{bucket}"));
    v
}

const MEMBER_TYPES: [&str; 8] =
    ["user:", "serviceAccount:", "group:", "domain:", "principal:", "principalSet:", "deleted:", "principal://"];
const STORAGE_MEMBER_TYPES: [&str; 3] = ["projectOwner:", "projectEditor:", "projectViewer:"];

fn bad(flavor: Flavor, message: String) -> ApiResponse {
    match flavor {
        Flavor::Google => reply::invalid(message),
        Flavor::Storage => reply::storage(400, "invalid", message),
    }
}

/// The bindings of `v` (`{"bindings": […], "version", "etag"}`), checked for shape.
fn parse(v: &Value, flavor: Flavor) -> Result<(Vec<Binding>, Option<String>, u64), ApiResponse> {
    let version = v.get("version").and_then(Value::as_u64).unwrap_or(1);
    let etag = reply::str_field(v, "etag").map(str::to_string);
    let mut bindings: Vec<Binding> = Vec::new();
    for (i, b) in v.get("bindings").and_then(Value::as_array).cloned().unwrap_or_default().iter().enumerate() {
        let role = reply::str_field(b, "role")
            .ok_or_else(|| bad(flavor, format!("policy.bindings[{i}].role: a role is required")))?;
        let mut members: Vec<String> = Vec::new();
        for m in b.get("members").and_then(Value::as_array).cloned().unwrap_or_default() {
            let m = m.as_str().unwrap_or_default().to_string();
            let known = m == "allUsers"
                || m == "allAuthenticatedUsers"
                || MEMBER_TYPES.iter().any(|t| m.starts_with(t) && m.len() > t.len())
                || (flavor == Flavor::Storage && STORAGE_MEMBER_TYPES.iter().any(|t| m.starts_with(t)));
            if !known {
                return Err(bad(
                    flavor,
                    format!("Invalid member type for '{m}'. Members are 'user:', 'serviceAccount:', 'group:' or 'domain:' followed by an identity, 'allUsers' or 'allAuthenticatedUsers'."),
                ));
            }
            if !members.contains(&m) {
                members.push(m);
            }
        }
        let condition = b.get("condition").filter(|c| !c.is_null()).cloned();
        if let Some(c) = &condition {
            if reply::str_field(c, "expression").is_none() {
                return Err(bad(flavor, format!("policy.bindings[{i}].condition: an expression is required")));
            }
        }
        // Google drops bindings without members.
        if !members.is_empty() {
            members.sort();
            bindings.push(Binding { role: role.to_string(), members, condition });
        }
    }
    if bindings.iter().any(|b| b.condition.is_some()) && version < 3 {
        return Err(bad(
            flavor,
            format!(
                "Invalid policy version {version}: a policy with conditional role bindings must specify version 3."
            ),
        ));
    }
    bindings.sort_by(|a, b| a.role.cmp(&b.role));
    Ok((bindings, etag, version))
}

/// setIamPolicy on `target` in `project`: `incoming` is the policy sent. Returns the policy to
/// store (new etag), or Google's error.
pub fn set(
    ctx: &mut Ctx,
    project: &str,
    current: &Policy,
    incoming: &Value,
    target: Target,
    flavor: Flavor,
) -> Result<Policy, ApiResponse> {
    let (bindings, etag, _) = parse(incoming, flavor)?;
    if etag.as_deref().is_some_and(|e| e != current.etag) {
        return Err(match flavor {
            Flavor::Google => reply::aborted(),
            Flavor::Storage => reply::storage(412, "conditionNotMet", "Precondition Failed"),
        });
    }
    let before = current.pairs();
    let candidate = Policy { etag: String::new(), bindings };
    let added: Vec<(String, String)> = candidate.pairs().into_iter().filter(|p| !before.contains(p)).collect();
    for (role, member) in &added {
        check_role(ctx, role).map_err(|m| bad(flavor, m))?;
        check_member(ctx, member).map_err(|m| bad(flavor, m))?;
    }
    if let Some(id) = ctx.faults.binding(&target, &added, project) {
        return Err(denied(&target, project, flavor, id));
    }
    Ok(Policy { etag: ctx.world.next_etag(), bindings: candidate.bindings })
}

/// A custom role of a simulated project must exist and not be deleted.
fn check_role(ctx: &Ctx, role: &str) -> Result<(), String> {
    let missing = || format!("Role ({role}) does not exist in the resource's hierarchy.");
    if role.starts_with("roles/") || role.starts_with("organizations/") {
        return Ok(());
    }
    let parts: Vec<&str> = role.split('/').collect();
    let ["projects", p, "roles", id] = parts.as_slice() else { return Err(missing()) };
    let Some(key) = ctx.world.project_key(p) else { return Ok(()) };
    match ctx.world.projects.get(&key).and_then(|proj| proj.roles.get(*id)) {
        Some(r) if r.deleted_at.is_none() => Ok(()),
        _ => Err(missing()),
    }
}

/// A service account of a simulated project must exist.
fn check_member(ctx: &Ctx, member: &str) -> Result<(), String> {
    let Some(email) = member.strip_prefix("serviceAccount:") else { return Ok(()) };
    let Some(project) = email.strip_suffix(".iam.gserviceaccount.com").and_then(|d| d.split('@').nth(1)) else {
        return Ok(());
    };
    let Some(key) = ctx.world.project_key(project) else { return Ok(()) };
    let exists = ctx.world.projects.get(&key).is_some_and(|p| p.service_accounts.contains_key(email));
    if exists {
        Ok(())
    } else {
        Err(format!("Service account {email} does not exist."))
    }
}

fn denied(target: &Target, project: &str, flavor: Flavor, id: &str) -> ApiResponse {
    let suffix = injected(id);
    match (target, flavor) {
        (Target::Bucket { .. }, _) | (_, Flavor::Storage) => reply::storage(
            403,
            "forbidden",
            format!("{} does not have storage.buckets.setIamPolicy access to the Google Cloud Storage bucket. Permission 'storage.buckets.setIamPolicy' denied on resource (or it may not exist).{suffix}", super::state::CALLER),
        ),
        (Target::Project, _) => reply::denied(
            "resourcemanager.projects.setIamPolicy",
            &format!("projects/{project}"),
            "cloudresourcemanager.googleapis.com",
            &suffix,
        ),
        (Target::ServiceAccount { email }, _) => reply::denied(
            "iam.serviceAccounts.setIamPolicy",
            &format!("projects/{project}/serviceAccounts/{email}"),
            "iam.googleapis.com",
            &suffix,
        ),
        (Target::KeyRing { name, .. }, _) => reply::denied(
            "cloudkms.keyRings.setIamPolicy",
            name,
            "cloudkms.googleapis.com",
            &suffix,
        ),
        (Target::CryptoKey { name, .. }, _) => reply::denied(
            "cloudkms.cryptoKeys.setIamPolicy",
            name,
            "cloudkms.googleapis.com",
            &suffix,
        ),
    }
}

/// After a service account is deleted, Google shows it in policies as
/// `deleted:serviceAccount:<e-mail>?uid=<id>`.
pub fn mark_deleted(policy: &mut Policy, email: &str, unique_id: &str) -> bool {
    let old = format!("serviceAccount:{email}");
    let new = format!("deleted:serviceAccount:{email}?uid={unique_id}");
    let mut changed = false;
    for b in &mut policy.bindings {
        for m in &mut b.members {
            if *m == old {
                *m = new.clone();
                changed = true;
            }
        }
    }
    changed
}
