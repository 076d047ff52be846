//! IAM v1: custom roles (soft delete, undelete, ids blocked while deleted) and service accounts
//! (eventually consistent reads, their own IAM policy).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::faults::Target;
use super::policy::{self, Flavor};
use super::reply::{self, injected, Answer};
use super::state::{self, Policy, Project, Role, ServiceAccount};
use super::Ctx;
use crate::cloud::gcp::transport::{ApiRequest, Method};

const IAM: &str = "iam.googleapis.com";
/// A deleted role can be undeleted for this long…
const UNDELETE_DAYS: i64 = 7;
/// …and its id stays taken for this long.
const PURGE_DAYS: i64 = 37;
/// Seconds before a new service account can be read, at speed 1.
pub(super) const SA_VISIBLE_SECONDS: f64 = 0.3;
const SA_ETAG: &str = "MDEwMjE5MjA=";

pub fn route(ctx: &mut Ctx, req: &ApiRequest, s: &[&str], verb: Option<&str>) -> Option<Answer> {
    let (p, rest) = match s {
        ["v1", "projects", p, rest @ ..] if !rest.is_empty() => (*p, rest),
        _ => return None,
    };
    let known = matches!(
        (req.method, rest, verb),
        (Method::Get | Method::Post, ["roles"], None)
            | (Method::Get | Method::Patch | Method::Delete, ["roles", _], None)
            | (Method::Post, ["roles", _], Some("undelete"))
            | (Method::Get | Method::Post, ["serviceAccounts"], None)
            | (Method::Get | Method::Delete, ["serviceAccounts", _], None)
            | (Method::Post, ["serviceAccounts", _], Some("getIamPolicy" | "setIamPolicy"))
    );
    if !known {
        return None;
    }
    Some(project(ctx, req, p, rest).and_then(|id| match (req.method, rest, verb) {
        (Method::Get, ["roles"], None) => list_roles(ctx, req, &id),
        (Method::Post, ["roles"], None) => create_role(ctx, req, &id),
        (Method::Get, ["roles", r], None) => get_role(ctx, &id, r),
        (Method::Patch, ["roles", r], None) => patch_role(ctx, req, &id, r),
        (Method::Delete, ["roles", r], None) => delete_role(ctx, &id, r),
        (Method::Post, ["roles", r], Some(_)) => undelete_role(ctx, req, &id, r),
        (Method::Get, ["serviceAccounts"], None) => list_accounts(ctx, req, &id),
        (Method::Post, ["serviceAccounts"], None) => create_account(ctx, req, &id),
        (Method::Get, ["serviceAccounts", e], None) => get_account(ctx, &id, e),
        (Method::Delete, ["serviceAccounts", e], None) => delete_account(ctx, &id, e),
        (Method::Post, ["serviceAccounts", e], Some("getIamPolicy")) => {
            let (_, sa) = find_account(ctx, &id, e)?;
            Ok(policy::to_json(&sa.policy))
        }
        (_, ["serviceAccounts", e], _) => set_account_policy(ctx, req, &id, e),
        _ => Err(reply::unknown_call(req)),
    }))
}

/// The project of the call (`-` for a service account: the one its e-mail names), with IAM
/// enabled.
fn project(ctx: &Ctx, req: &ApiRequest, p: &str, rest: &[&str]) -> Result<String, reply::ApiResponse> {
    let p = match (p, rest) {
        ("-", ["serviceAccounts", e, ..]) => {
            e.strip_suffix(".iam.gserviceaccount.com").and_then(|d| d.split('@').nth(1)).unwrap_or(p)
        }
        _ => p,
    };
    let permission = match (req.method, rest.first()) {
        (Method::Post, Some(&"roles")) => "iam.roles.create",
        (_, Some(&"roles")) => "iam.roles.get",
        (Method::Post, _) => "iam.serviceAccounts.create",
        _ => "iam.serviceAccounts.get",
    };
    let id = ctx.project_id(p, permission, IAM)?;
    ctx.require_api(&id, IAM)?;
    Ok(id)
}

fn role_name(project: &str, id: &str) -> String {
    format!("projects/{project}/roles/{id}")
}

fn role_json(project: &str, id: &str, r: &Role, full: bool) -> Value {
    let mut v = json!({
        "name": role_name(project, id),
        "title": r.title,
        "description": r.description,
        "stage": r.stage,
        "etag": r.etag,
    });
    if full {
        v["includedPermissions"] = json!(r.permissions);
    }
    if r.deleted_at.is_some() {
        v["deleted"] = json!(true);
    }
    v
}

fn purged(r: &Role, now: DateTime<Utc>) -> bool {
    r.deleted_at.is_some_and(|t| now >= t + Duration::days(PURGE_DAYS))
}

/// The role, unless it was never made or has been purged.
fn live_role<'a>(ctx: &'a Ctx, project: &str, id: &str) -> Result<&'a Role, reply::ApiResponse> {
    ctx.project(project)?
        .roles
        .get(id)
        .filter(|r| !purged(r, ctx.now))
        .ok_or_else(|| reply::not_found(format!("The role named {} was not found.", role_name(project, id))))
}

fn list_roles(ctx: &Ctx, req: &ApiRequest, project: &str) -> Answer {
    let full = reply::query(req, "view") == Some("FULL");
    let deleted = reply::query(req, "showDeleted") == Some("true");
    let items: Vec<Value> = ctx
        .project(project)?
        .roles
        .iter()
        .filter(|(_, r)| !purged(r, ctx.now) && (deleted || r.deleted_at.is_none()))
        .map(|(id, r)| role_json(project, id, r, full))
        .collect();
    let (items, next) =
        reply::page(items, reply::query(req, "pageSize"), 300, 1000, reply::query(req, "pageToken"), false)?;
    Ok(reply::listing("roles", items, next))
}

/// Title, description, permissions and stage from `role`, checked.
fn apply_fields(r: &mut Role, role: &Value, mask: &[&str]) -> Result<(), reply::ApiResponse> {
    for field in mask {
        match *field {
            "title" => r.title = reply::str_field(role, "title").unwrap_or_default().to_string(),
            "description" => r.description = reply::str_field(role, "description").unwrap_or_default().to_string(),
            "stage" => r.stage = reply::str_field(role, "stage").unwrap_or("ALPHA").to_string(),
            "includedPermissions" | "included_permissions" => {
                let perms: Vec<String> = role
                    .get("includedPermissions")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default();
                if let Some(bad) = perms.iter().find(|p| p.split('.').count() != 3 || p.split('.').any(str::is_empty)) {
                    return Err(reply::invalid(format!("Permission {bad} is not valid.")));
                }
                r.permissions = perms;
            }
            other => return Err(reply::invalid(format!("updateMask: `{other}` is not a field of a role."))),
        }
    }
    if !["ALPHA", "BETA", "GA", "DEPRECATED", "DISABLED", "EAP"].contains(&r.stage.as_str()) {
        return Err(reply::invalid(format!("Invalid stage {}.", r.stage)));
    }
    Ok(())
}

const ROLE_FIELDS: [&str; 4] = ["title", "description", "includedPermissions", "stage"];

fn create_role(ctx: &mut Ctx, req: &ApiRequest, project: &str) -> Answer {
    let body = reply::body(req);
    let id = reply::str_field(&body, "roleId").unwrap_or_default().to_string();
    let valid = (3..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !valid {
        return Err(reply::invalid(format!("The role_id ({id}) is invalid. It must match [a-zA-Z0-9_\\.]{{3,64}}.")));
    }
    if let Some(fault) = ctx.faults.role(&id, project) {
        return Err(reply::denied("iam.roles.create", &format!("projects/{project}"), IAM, &injected(fault)));
    }
    match ctx.project(project)?.roles.get(&id).filter(|r| !purged(r, ctx.now)) {
        Some(r) if r.deleted_at.is_some() => {
            return Err(reply::already_exists(format!(
                "You can't create a role with role_id ({id}) where there is an existing role with that role_id in a deleted state. Undelete the role (it can be undeleted for {UNDELETE_DAYS} days after deletion) or use another role_id."
            )))
        }
        Some(_) => {
            return Err(reply::already_exists(format!("A role named {id} in projects/{project} already exists.")))
        }
        None => {}
    }
    let mut role = Role {
        title: String::new(),
        description: String::new(),
        permissions: Vec::new(),
        stage: "ALPHA".into(),
        etag: ctx.world.next_etag(),
        deleted_at: None,
    };
    apply_fields(&mut role, body.get("role").unwrap_or(&Value::Null), &ROLE_FIELDS)?;
    let out = role_json(project, &id, &role, true);
    ctx.project_mut(project)?.roles.insert(id, role);
    ctx.dirty = true;
    Ok(out)
}

fn get_role(ctx: &Ctx, project: &str, id: &str) -> Answer {
    Ok(role_json(project, id, live_role(ctx, project, id)?, true))
}

/// The role for a change: live, and the etag sent (if any) current.
fn changing(ctx: &Ctx, project: &str, id: &str, etag: Option<&str>) -> Result<Role, reply::ApiResponse> {
    let role = live_role(ctx, project, id)?.clone();
    if etag.is_some_and(|e| e != role.etag) {
        return Err(reply::google(409, "ABORTED", "The etag of the role is out of date: read it again.", Vec::new()));
    }
    Ok(role)
}

fn store_role(ctx: &mut Ctx, project: &str, id: &str, mut role: Role) -> Answer {
    role.etag = ctx.world.next_etag();
    let out = role_json(project, id, &role, true);
    ctx.project_mut(project)?.roles.insert(id.to_string(), role);
    ctx.dirty = true;
    Ok(out)
}

fn patch_role(ctx: &mut Ctx, req: &ApiRequest, project: &str, id: &str) -> Answer {
    let body = reply::body(req);
    let mut role = changing(ctx, project, id, reply::str_field(&body, "etag"))?;
    if role.deleted_at.is_some() {
        return Err(reply::failed_precondition(format!(
            "You can't update the role {} as it is deleted. Undelete it first.",
            role_name(project, id)
        )));
    }
    let mask: Vec<&str> = match reply::query(req, "updateMask") {
        Some(m) => m.split(',').map(str::trim).filter(|f| !f.is_empty()).collect(),
        None => ROLE_FIELDS.iter().copied().filter(|f| body.get(*f).is_some()).collect(),
    };
    apply_fields(&mut role, &body, &mask)?;
    store_role(ctx, project, id, role)
}

fn delete_role(ctx: &mut Ctx, project: &str, id: &str) -> Answer {
    let mut role = changing(ctx, project, id, None)?;
    if role.deleted_at.is_some() {
        return Err(reply::failed_precondition(format!("You can't delete role_id ({id}) as it is already deleted.")));
    }
    role.deleted_at = Some(ctx.now);
    store_role(ctx, project, id, role)
}

fn undelete_role(ctx: &mut Ctx, req: &ApiRequest, project: &str, id: &str) -> Answer {
    let body = reply::body(req);
    let mut role = changing(ctx, project, id, reply::str_field(&body, "etag"))?;
    match role.deleted_at {
        None => return Err(reply::failed_precondition(format!("The role {} is not deleted.", role_name(project, id)))),
        Some(t) if ctx.now >= t + Duration::days(UNDELETE_DAYS) => {
            return Err(reply::failed_precondition(format!(
                "The role {} was deleted more than {UNDELETE_DAYS} days ago and can no longer be undeleted.",
                role_name(project, id)
            )))
        }
        Some(_) => role.deleted_at = None,
    }
    store_role(ctx, project, id, role)
}

fn account_json(project: &str, email: &str, sa: &ServiceAccount) -> Value {
    let mut v = json!({
        "name": format!("projects/{project}/serviceAccounts/{email}"),
        "projectId": project,
        "uniqueId": sa.unique_id,
        "email": email,
        "displayName": sa.display_name,
        "etag": SA_ETAG,
        "oauth2ClientId": sa.unique_id,
    });
    if !sa.description.is_empty() {
        v["description"] = json!(sa.description);
    }
    v
}

/// The account by e-mail or unique id, once visible: (e-mail, account).
fn find_account(ctx: &Ctx, project: &str, e: &str) -> Result<(String, ServiceAccount), reply::ApiResponse> {
    let p: &Project = ctx.project(project)?;
    p.service_accounts
        .iter()
        .find(|(email, sa)| (*email == e || sa.unique_id == e) && sa.visible_at <= ctx.now)
        .map(|(email, sa)| (email.clone(), sa.clone()))
        .ok_or_else(|| reply::not_found("Unknown service account"))
}

fn list_accounts(ctx: &Ctx, req: &ApiRequest, project: &str) -> Answer {
    let items: Vec<Value> = ctx
        .project(project)?
        .service_accounts
        .iter()
        .filter(|(_, sa)| sa.visible_at <= ctx.now)
        .map(|(email, sa)| account_json(project, email, sa))
        .collect();
    let (items, next) =
        reply::page(items, reply::query(req, "pageSize"), 20, 100, reply::query(req, "pageToken"), false)?;
    Ok(reply::listing("accounts", items, next))
}

fn create_account(ctx: &mut Ctx, req: &ApiRequest, project: &str) -> Answer {
    let body = reply::body(req);
    let id = reply::str_field(&body, "accountId").unwrap_or_default().to_string();
    let valid = (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(reply::invalid(format!(
            "Invalid account ID `{id}`: it must be 6 to 30 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen."
        )));
    }
    if let Some(fault) = ctx.faults.service_account(&id, project) {
        return Err(reply::denied("iam.serviceAccounts.create", &format!("projects/{project}"), IAM, &injected(fault)));
    }
    let email = format!("{id}@{project}.iam.gserviceaccount.com");
    if ctx.project(project)?.service_accounts.contains_key(&email) {
        return Err(reply::already_exists(format!(
            "Service account {id} already exists within project projects/{project}."
        )));
    }
    let fields = body.get("serviceAccount").cloned().unwrap_or(Value::Null);
    let serial = ctx.world.bump();
    let sa = ServiceAccount {
        unique_id: format!("1{:08}{:012}", rand::random::<u32>() % 100_000_000, serial),
        display_name: reply::str_field(&fields, "displayName").unwrap_or_default().to_string(),
        description: reply::str_field(&fields, "description").unwrap_or_default().to_string(),
        created: ctx.now,
        visible_at: ctx.later(SA_VISIBLE_SECONDS),
        policy: Policy::empty(),
    };
    let out = account_json(project, &email, &sa);
    ctx.project_mut(project)?.service_accounts.insert(email, sa);
    ctx.dirty = true;
    Ok(out)
}

fn get_account(ctx: &Ctx, project: &str, e: &str) -> Answer {
    let (email, sa) = find_account(ctx, project, e)?;
    Ok(account_json(project, &email, &sa))
}

fn delete_account(ctx: &mut Ctx, project: &str, e: &str) -> Answer {
    let (email, sa) = find_account(ctx, project, e)?;
    let mut serial = ctx.world.serial;
    let world = &mut *ctx.world;
    let p = world.projects.get_mut(project).ok_or_else(|| reply::not_found("Unknown service account"))?;
    p.service_accounts.remove(&email);
    // Its bindings stay, shown as `deleted:serviceAccount:…`; each policy changed gets a new etag.
    let policies = std::iter::once(&mut p.policy)
        .chain(p.service_accounts.values_mut().map(|s| &mut s.policy))
        .chain(
            p.key_rings
                .values_mut()
                .flat_map(|r| std::iter::once(&mut r.policy).chain(r.keys.values_mut().map(|k| &mut k.policy))),
        )
        .chain(world.buckets.values_mut().map(|b| &mut b.policy));
    for pol in policies {
        if policy::mark_deleted(pol, &email, &sa.unique_id) {
            serial += 1;
            pol.etag = state::etag_for(serial);
        }
    }
    world.serial = serial;
    ctx.dirty = true;
    Ok(json!({}))
}

fn set_account_policy(ctx: &mut Ctx, req: &ApiRequest, project: &str, e: &str) -> Answer {
    let (email, sa) = find_account(ctx, project, e)?;
    let body = reply::body(req);
    let incoming = body.get("policy").ok_or_else(|| reply::invalid("policy: a policy is required"))?;
    let new =
        policy::set(ctx, project, &sa.policy, incoming, Target::ServiceAccount { email: &email }, Flavor::Google)?;
    let out = policy::to_json(&new);
    if let Some(s) = ctx.project_mut(project)?.service_accounts.get_mut(&email) {
        s.policy = new;
    }
    ctx.dirty = true;
    Ok(out)
}
