//! Resource Manager v3 (projects, the project IAM policy) and Service Usage v1 (APIs and their
//! long-running enable operations).

use serde_json::{json, Value};

use super::faults::Target;
use super::policy::{self, Flavor};
use super::reply::{self, injected, Answer};
use super::state::{Operation, Project, PROJECTS};
use super::Ctx;
use crate::cloud::gcp::transport::{ApiRequest, Method};

const CRM: &str = "cloudresourcemanager.googleapis.com";
const SU: &str = "serviceusage.googleapis.com";
/// The simulated organisation both projects belong to.
const ORGANIZATION: &str = "organizations/864201357900";
/// Seconds an API takes to enable, at speed 1.
const ENABLE_SECONDS: f64 = 2.0;
/// What batchEnable answers when everything asked for is enabled already.
const DONE_OPERATION: &str = "operations/finished.DONE_OPERATION";

/// Services the simulation knows besides those enabled (so `state:DISABLED` lists something).
const CATALOG: [&str; 5] = [
    "cloudkms.googleapis.com",
    "compute.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "oslogin.googleapis.com",
];

pub fn route_projects(ctx: &mut Ctx, req: &ApiRequest, s: &[&str], verb: Option<&str>) -> Option<Answer> {
    Some(match (req.method, s, verb) {
        (Method::Get, ["v3", "projects"], Some("search")) => search(ctx, req),
        (Method::Get, ["v3", "projects", p], None) => get(ctx, p),
        (Method::Post, ["v3", "projects", p], Some("getIamPolicy")) => get_policy(ctx, p),
        (Method::Post, ["v3", "projects", p], Some("setIamPolicy")) => set_policy(ctx, req, p),
        _ => return None,
    })
}

pub fn route_services(ctx: &mut Ctx, req: &ApiRequest, s: &[&str], verb: Option<&str>) -> Option<Answer> {
    Some(match (req.method, s, verb) {
        (Method::Get, ["v1", "projects", p, "services"], None) => list_services(ctx, req, p),
        (Method::Post, ["v1", "projects", p, "services"], Some("batchEnable")) => batch_enable(ctx, req, p),
        (Method::Get, ["v1", "operations", rest @ ..], None) if !rest.is_empty() => {
            get_operation(ctx, &format!("operations/{}", rest.join("/")))
        }
        _ => return None,
    })
}

fn project_json(id: &str, p: &Project) -> Value {
    json!({
        "name": format!("projects/{}", p.number),
        "parent": ORGANIZATION,
        "projectId": id,
        "state": "ACTIVE",
        "displayName": p.display_name,
        "createTime": reply::time(p.create_time),
        "updateTime": reply::time(p.create_time),
        "etag": format!("W/\"{}\"", p.number),
    })
}

fn search(ctx: &Ctx, req: &ApiRequest) -> Answer {
    let items: Vec<Value> =
        PROJECTS.iter().filter_map(|(id, _, _)| ctx.world.projects.get(*id).map(|p| project_json(id, p))).collect();
    let (items, next) =
        reply::page(items, reply::query(req, "pageSize"), 500, 500, reply::query(req, "pageToken"), false)?;
    Ok(reply::listing("projects", items, next))
}

fn get(ctx: &Ctx, p: &str) -> Answer {
    let id = ctx.project_id(p, "resourcemanager.projects.get", CRM)?;
    Ok(project_json(&id, ctx.project(&id)?))
}

fn get_policy(ctx: &Ctx, p: &str) -> Answer {
    let id = ctx.project_id(p, "resourcemanager.projects.getIamPolicy", CRM)?;
    Ok(policy::to_json(&ctx.project(&id)?.policy))
}

fn set_policy(ctx: &mut Ctx, req: &ApiRequest, p: &str) -> Answer {
    let id = ctx.project_id(p, "resourcemanager.projects.setIamPolicy", CRM)?;
    let body = reply::body(req);
    let incoming = body.get("policy").ok_or_else(|| reply::invalid("policy: a policy is required"))?;
    let current = ctx.project(&id)?.policy.clone();
    let new = policy::set(ctx, &id, &current, incoming, Target::Project, Flavor::Google)?;
    let out = policy::to_json(&new);
    ctx.project_mut(&id)?.policy = new;
    ctx.dirty = true;
    Ok(out)
}

fn service_json(number: &str, name: &str, enabled: bool) -> Value {
    json!({
        "name": format!("projects/{number}/services/{name}"),
        "config": {"name": name},
        "state": if enabled { "ENABLED" } else { "DISABLED" },
        "parent": format!("projects/{number}"),
    })
}

fn list_services(ctx: &Ctx, req: &ApiRequest, p: &str) -> Answer {
    let id = ctx.project_id(p, "serviceusage.services.list", SU)?;
    let project = ctx.project(&id)?;
    let want = match reply::query(req, "filter").map(str::trim) {
        None | Some("") => None,
        Some("state:ENABLED") => Some(true),
        Some("state:DISABLED") => Some(false),
        Some(f) => return Err(reply::invalid(format!("Invalid filter '{f}': use state:ENABLED or state:DISABLED."))),
    };
    let mut names: Vec<&str> = project.services.keys().map(String::as_str).chain(CATALOG).collect();
    names.sort_unstable();
    names.dedup();
    let items: Vec<Value> = names
        .into_iter()
        .map(|n| (n, ctx.api_enabled(project, n)))
        .filter(|(_, on)| want.is_none_or(|w| w == *on))
        .map(|(n, on)| service_json(&project.number, n, on))
        .collect();
    let (items, next) =
        reply::page(items, reply::query(req, "pageSize"), 50, 200, reply::query(req, "pageToken"), false)?;
    Ok(reply::listing("services", items, next))
}

fn batch_enable(ctx: &mut Ctx, req: &ApiRequest, p: &str) -> Answer {
    let id = ctx.project_id(p, "serviceusage.services.enable", SU)?;
    let body = reply::body(req);
    let ids: Vec<String> = body
        .get("serviceIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if ids.is_empty() || ids.len() > 20 {
        return Err(reply::invalid("serviceIds: between 1 and 20 services are required."));
    }
    let unknown: Vec<&str> = ids.iter().map(String::as_str).filter(|s| !s.ends_with(".googleapis.com")).collect();
    if !unknown.is_empty() {
        return Err(reply::google(
            403,
            "PERMISSION_DENIED",
            format!("Not found or permission denied for service(s): {}.", unknown.join(", ")),
            Vec::new(),
        ));
    }
    let project = ctx.project(&id)?;
    let number = project.number.clone();
    let failing: Vec<(&str, &str)> = ids.iter().filter_map(|s| ctx.faults.api(s).map(|f| (s.as_str(), f))).collect();
    if failing.is_empty() && ids.iter().all(|s| ctx.api_enabled(project, s)) {
        let services: Vec<Value> = ids.iter().map(|s| service_json(&number, s, true)).collect();
        return Ok(operation_json(DONE_OPERATION, Some(&services), &number, &ids, None));
    }
    let error = failing.first().map(|(service, fault)| billing_error(&number, service, fault));
    let name = format!("operations/acf.p2-{number}-{}", op_suffix(ctx.world.bump()));
    let done_at = ctx.later(ENABLE_SECONDS);
    if error.is_none() {
        let project = ctx.project_mut(&id)?;
        for s in &ids {
            let at = project.services.entry(s.clone()).or_insert(done_at);
            *at = (*at).min(done_at);
        }
    }
    ctx.world.operations.insert(name.clone(), Operation { project: id, services: ids.clone(), done_at, error });
    ctx.dirty = true;
    Ok(operation_json(&name, None, &number, &ids, None))
}

/// A uuid-looking suffix, unique in this world.
fn op_suffix(serial: u64) -> String {
    let r: u64 = rand::random();
    format!("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", r >> 32, (r >> 16) & 0xffff, r & 0xffff, serial & 0xffff, serial)
}

fn billing_error(number: &str, service: &str, fault: &str) -> Value {
    json!({
        "code": 9,
        "message": format!("Billing account for project '{number}' is disabled. Billing must be enabled for activation of service(s) '{service}' to proceed.{}", injected(fault)),
        "details": [{
            "@type": "type.googleapis.com/google.rpc.PreconditionFailure",
            "violations": [{
                "type": "googleapis.com/billing-enabled",
                "subject": format!("?error_code=390001&project={number}&services={service}"),
                "description": format!("Billing must be enabled for activation of service(s) '{service}' to proceed."),
            }]
        }]
    })
}

/// The operation as Google shows it: `done` is `Some(services)` once finished.
fn operation_json(name: &str, done: Option<&[Value]>, number: &str, ids: &[String], error: Option<&Value>) -> Value {
    let mut op = json!({
        "name": name,
        "metadata": {
            "@type": "type.googleapis.com/google.api.serviceusage.v1.OperationMetadata",
            "resourceNames": ids.iter().map(|s| format!("projects/{number}/services/{s}")).collect::<Vec<_>>(),
        },
        "done": done.is_some() || error.is_some(),
    });
    if let Some(e) = error {
        op["error"] = e.clone();
    } else if let Some(services) = done {
        op["response"] = json!({
            "@type": "type.googleapis.com/google.api.serviceusage.v1.BatchEnableServicesResponse",
            "services": services,
        });
    }
    op
}

fn get_operation(ctx: &Ctx, name: &str) -> Answer {
    if name == DONE_OPERATION {
        return Ok(json!({"name": name, "done": true}));
    }
    let op = ctx.world.operations.get(name).ok_or_else(|| reply::not_found(format!("Operation {name} not found.")))?;
    let number = ctx.project(&op.project)?.number.clone();
    if ctx.now < op.done_at {
        return Ok(operation_json(name, None, &number, &op.services, None));
    }
    if let Some(e) = &op.error {
        return Ok(operation_json(name, None, &number, &op.services, Some(e)));
    }
    let services: Vec<Value> = op.services.iter().map(|s| service_json(&number, s, true)).collect();
    Ok(operation_json(name, Some(&services), &number, &op.services, None))
}
