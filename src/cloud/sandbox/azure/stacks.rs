//! Deployment stacks at subscription scope: PUT deploys the template it is sent (planned in
//! [`super::deploy`]), every resource one step after another; GET, the
//! list and the async-operation status report progress at the present moment; the deployment
//! operations (the stack's own deployment and its nested ones) grow as steps start and finish;
//! DELETE deletes or detaches what the stack manages, as its `unmanageAction.*` query says.
//!
//! A run's steps are fixed when it starts, with absolute times; [`advance`] applies the steps
//! that have finished by now to the world (resources appear, are deleted, Key Vaults become
//! soft-deleted) before every call is answered.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::deploy::{operation_id, put};
use super::reply::{self, Answer};
use super::state::{AsyncOp, Deployment, Resource, Run, RunKind, Stack, Step, Target, CALLER};
use super::{Ctx, Seg};
use crate::cloud::azure::transport::{ApiRequest, ApiResponse, Method};

pub const API_VERSION: &str = "2025-07-01";

/// Seconds, at speed 1.
pub(super) const INITIALIZING: f64 = 2.0;
pub(super) const NESTED_START: f64 = 1.0;
pub(super) const OUTPUTS: f64 = 0.5;
pub(super) const FINISHING: f64 = 1.0;
const DETACH: f64 = 1.0;

/// How long creating one resource of `type_` takes, at speed 1.
pub(super) fn create_seconds(type_: &str) -> f64 {
    match type_.to_ascii_lowercase().as_str() {
        "microsoft.resources/resourcegroups" => 2.0,
        "microsoft.network/virtualnetworks" => 6.0,
        "microsoft.managedidentity/userassignedidentities" => 3.0,
        "microsoft.keyvault/vaults" => 12.0,
        "microsoft.containerregistry/registries" => 9.0,
        "microsoft.storage/storageaccounts" => 14.0,
        "microsoft.authorization/roledefinitions" => 4.0,
        "microsoft.authorization/roleassignments" => 3.0,
        _ => 2.0,
    }
}

fn delete_seconds(type_: &str) -> f64 {
    match type_.to_ascii_lowercase().as_str() {
        "microsoft.resources/resourcegroups" => 10.0,
        "microsoft.authorization/roleassignments" | "microsoft.authorization/roledefinitions" => 2.0,
        _ => 4.0,
    }
}

/// Built-in roles the templates (and the seeded assignments) use: the same GUIDs in every tenant.
pub(super) const BUILT_IN_ROLES: [&str; 8] = [
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", // Owner
    "b24988ac-6180-42a0-ab88-20f7382dd24c", // Contributor
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", // User Access Administrator
    "acdd72a7-3385-48ef-bd42-f606fba81ae7", // Reader
    "4633458b-17de-408a-b874-0445c86b69e6", // Key Vault Secrets User
    "7f951dda-4ed3-4680-a7ca-43fe172d538d", // AcrPull
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", // Storage Blob Data Reader
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe", // Storage Blob Data Contributor
];

pub fn route(ctx: &mut Ctx, req: &ApiRequest, s: &[Seg]) -> Option<Answer> {
    let l: Vec<&str> = s.iter().map(|x| x.lower.as_str()).collect();
    let t = |i: usize| s[i].text.as_str();
    Some(match (req.method, l.as_slice()) {
        (Method::Get, ["subscriptions", _, "providers", "microsoft.resources", "deploymentstacks"]) => list(ctx, t(1)),
        (Method::Get, ["subscriptions", _, "providers", "microsoft.resources", "deploymentstacks", _]) => {
            get(ctx, t(1), t(5))
        }
        (Method::Put, ["subscriptions", _, "providers", "microsoft.resources", "deploymentstacks", _]) => {
            put(ctx, req, t(1), t(5))
        }
        (Method::Delete, ["subscriptions", _, "providers", "microsoft.resources", "deploymentstacks", _]) => {
            delete(ctx, req, t(1), t(5))
        }
        (
            Method::Get,
            ["subscriptions", _, "providers", "microsoft.resources", "locations", _, "deploymentstackoperationstatus", _],
        ) => operation_status(ctx, t(1), t(5), t(7)),
        (Method::Get, ["subscriptions", _, "providers", "microsoft.resources", "deployments", _, "operations"])
        | (
            Method::Get,
            ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.resources", "deployments", _, "operations"],
        ) => {
            let id: Vec<&str> = s[..s.len() - 1].iter().map(|x| x.text.as_str()).collect();
            operations(ctx, t(1), &format!("/{}", id.join("/")))
        }
        _ => return None,
    })
}

pub(super) fn stack_id(sub: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.Resources/deploymentStacks/{name}")
}

pub(super) fn status_url(ctx: &Ctx, sub: &str, location: &str, op: &str) -> String {
    format!(
        "{}/subscriptions/{sub}/providers/Microsoft.Resources/locations/{location}/deploymentStackOperationStatus/{op}?api-version={API_VERSION}",
        ctx.base
    )
}

fn not_found(name: &str) -> ApiResponse {
    reply::arm(404, "DeploymentStackNotFound", format!("The deployment stack '{name}' could not be found."))
}

// ---------------------------------------------------------------------------------------------
// Reading

/// The run in progress, if any.
pub(super) fn active(stack: &Stack) -> Option<&Run> {
    stack.run.as_ref().filter(|r| !r.finished)
}

/// A deployment stack's state in the casing the 2025-07-01 API documents
/// (`DeploymentStackProvisioningState`: lowercase, `deletingResources` in camel case). States
/// stored by older sandbox files (capitalised) read the same.
pub(super) fn provisioning_state(stack: &Stack, now: DateTime<Utc>) -> &'static str {
    match active(stack) {
        Some(r) if r.kind == RunKind::Deploy && now < r.steps_start => "initializing",
        Some(r) if r.kind == RunKind::Deploy => "deploying",
        Some(r) if r.steps.is_empty() => "deleting",
        Some(_) => "deletingResources",
        None if stack.state.eq_ignore_ascii_case("failed") => "failed",
        None if stack.state.eq_ignore_ascii_case("canceled") => "canceled",
        None => "succeeded",
    }
}

fn ids_json(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"id": id})).collect())
}

pub(super) fn stack_json(stack: &Stack, now: DateTime<Utc>) -> Value {
    // While a deployment runs, what it has made so far is managed already.
    let mut managed = stack.managed.clone();
    if let Some(run) = active(stack).filter(|r| r.kind == RunKind::Deploy) {
        for step in run.steps.iter().take(run.applied) {
            if let (Some(r), None) = (&step.resource, &step.error) {
                if !managed.iter().any(|m| m.eq_ignore_ascii_case(&r.id)) {
                    managed.push(r.id.clone());
                }
            }
        }
    }
    let mut properties = json!({
        "provisioningState": provisioning_state(stack, now),
        "description": stack.description,
        "parameters": stack.parameters,
        "actionOnUnmanage": stack.action_on_unmanage,
        "denySettings": stack.deny_settings,
        "bypassStackOutOfSyncError": false,
        "resources": managed.iter().map(|id| json!({"id": id, "status": "managed", "denyStatus": "none"})).collect::<Vec<_>>(),
        "detachedResources": ids_json(&stack.detached),
        "deletedResources": ids_json(&stack.deleted),
        "failedResources": stack.failed,
    });
    let deployment_id = match active(stack) {
        Some(r) if r.kind == RunKind::Deploy => (now >= r.steps_start).then(|| r.deployments[0].id.clone()),
        _ => stack.deployment_id.clone(),
    };
    if let Some(d) = deployment_id {
        properties["deploymentId"] = Value::String(d);
    }
    if active(stack).is_none() {
        if let Some(o) = &stack.outputs {
            properties["outputs"] = o.clone();
        }
        if let Some(e) = &stack.error {
            properties["error"] = e.clone();
        }
        if let Some(d) = stack.duration {
            let start = stack.modified;
            properties["duration"] =
                Value::String(reply::duration(start, start + chrono::Duration::milliseconds((d * 1000.0) as i64)));
        }
    }
    json!({
        "id": stack.id,
        "name": stack.name,
        "type": "Microsoft.Resources/deploymentStacks",
        "location": stack.location,
        "tags": if stack.tags.is_object() { stack.tags.clone() } else { json!({}) },
        "systemData": {
            "createdBy": CALLER,
            "createdByType": "User",
            "createdAt": reply::time(stack.created),
            "lastModifiedBy": CALLER,
            "lastModifiedByType": "User",
            "lastModifiedAt": reply::time(stack.modified),
        },
        "properties": properties,
    })
}

fn find<'a>(ctx: &'a Ctx, sub: &str, name: &str) -> Option<&'a Stack> {
    ctx.world.stacks.get(&stack_id(sub, name).to_ascii_lowercase())
}

fn list(ctx: &Ctx, sub: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    let items: Vec<Value> =
        ctx.world.stacks.values().filter(|s| s.subscription == sub).map(|s| stack_json(s, ctx.now)).collect();
    Ok(reply::ok(json!({"value": items})))
}

fn get(ctx: &Ctx, sub: &str, name: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    find(ctx, sub, name).map(|s| reply::ok(stack_json(s, ctx.now))).ok_or_else(|| not_found(name))
}

fn operation_status(ctx: &Ctx, sub: &str, location: &str, id: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    let op = ctx
        .world
        .operations
        .get(id)
        .filter(|o| o.subscription == sub)
        .ok_or_else(|| reply::arm(404, "OperationNotFound", format!("The operation '{id}' could not be found.")))?;
    let mut body = json!({
        "id": format!("/subscriptions/{sub}/providers/Microsoft.Resources/locations/{location}/deploymentStackOperationStatus/{id}"),
        "name": id,
        "status": op.status,
        "startTime": reply::time(op.start),
    });
    if let Some(end) = op.end {
        body["endTime"] = Value::String(reply::time(end));
    }
    if let Some(e) = &op.error {
        body["error"] = e.clone();
    }
    Ok(reply::ok(body))
}

fn operation_json(deployment: &Deployment, step: &Step, now: DateTime<Utc>) -> Option<Value> {
    let state = step.state_at(now)?;
    let until = if now < step.end { now } else { step.end };
    let mut properties = json!({
        "provisioningOperation": step.operation,
        "provisioningState": state,
        "timestamp": reply::time(until),
        "duration": reply::duration(step.start, until),
        "trackingId": step.tracking_id,
    });
    if state != "Running" {
        match &step.error {
            Some((code, error)) => {
                properties["statusCode"] = Value::String(code.clone());
                properties["statusMessage"] = json!({"status": "Failed", "error": error});
            }
            None => properties["statusCode"] = Value::String(step.status_code.clone()),
        }
    }
    if let Some(t) = &step.target {
        properties["targetResource"] = json!({"id": t.id, "resourceType": t.type_, "resourceName": t.name});
    }
    Some(json!({
        "id": format!("{}/operations/{}", deployment.id, step.operation_id),
        "operationId": step.operation_id,
        "properties": properties,
    }))
}

fn operations(ctx: &Ctx, sub: &str, deployment_id: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    for stack in ctx.world.stacks.values().filter(|s| s.subscription == sub) {
        let Some(run) = stack.run.as_ref().filter(|r| r.kind == RunKind::Deploy) else { continue };
        let Some(k) = run.deployments.iter().position(|d| d.id.eq_ignore_ascii_case(deployment_id)) else {
            continue;
        };
        let items: Vec<Value> = run
            .steps
            .iter()
            .filter(|s| s.deployment == k)
            .filter_map(|s| operation_json(&run.deployments[k], s, ctx.now))
            .collect();
        return Ok(reply::ok(json!({"value": items})));
    }
    let name = deployment_id.rsplit('/').next().unwrap_or(deployment_id);
    Err(reply::arm(404, "DeploymentNotFound", format!("Deployment '{name}' could not be found.")))
}

/// Whether a delete of `id` is running now (a resource group then reads `Deleting`).
pub fn being_deleted(ctx: &Ctx, id: &str) -> bool {
    ctx.world.stacks.values().filter_map(active).filter(|r| r.kind == RunKind::Delete).any(|r| {
        r.steps.iter().any(|s| {
            s.target.as_ref().is_some_and(|t| t.id.eq_ignore_ascii_case(id)) && s.state_at(ctx.now) == Some("Running")
        })
    })
}

fn delete(ctx: &mut Ctx, req: &ApiRequest, sub: &str, name: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    let key = stack_id(sub, name).to_ascii_lowercase();
    let stack = ctx.world.stacks.get(&key).cloned().ok_or_else(|| not_found(name))?;
    if let Some(r) = active(&stack) {
        if r.kind == RunKind::Delete {
            // Deleting already: the same operation.
            let url = status_url(ctx, sub, &stack.location, &r.id);
            return Ok(reply::long_running(202, Value::Null, url, true, ctx.retry_after()));
        }
        return Err(reply::arm(
            409,
            "DeploymentStackInNonTerminalState",
            format!("The deployment stack '{name}' is in a non-terminal state '{}'. Wait for the current operation to finish before deleting it.", provisioning_state(&stack, ctx.now)),
        ));
    }
    let action = |key: &str| -> Result<bool, ApiResponse> {
        match req.query_value(key).map(str::to_ascii_lowercase).as_deref() {
            None | Some("detach") => Ok(false),
            Some("delete") => Ok(true),
            Some(other) => Err(reply::arm(
                400,
                "InvalidQueryParameterValue",
                format!("The value '{other}' of '{key}' is invalid: use 'delete' or 'detach'."),
            )),
        }
    };
    let delete_resources = action("unmanageAction.Resources")?;
    let delete_groups = action("unmanageAction.ResourceGroups")?;
    action("unmanageAction.ManagementGroups")?;

    let is_group = |id: &str| {
        let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
        parts.len() == 4 && parts[2].eq_ignore_ascii_case("resourceGroups")
    };
    let groups: Vec<&String> = stack.managed.iter().filter(|id| is_group(id) && delete_groups).collect();
    let covered =
        |id: &str| groups.iter().any(|g| id.to_ascii_lowercase().starts_with(&format!("{}/", g.to_ascii_lowercase())));
    let mut doomed: Vec<String> = Vec::new();
    if delete_resources {
        doomed.extend(stack.managed.iter().rev().filter(|id| !is_group(id) && !covered(id)).cloned());
    }
    doomed.extend(groups.iter().rev().map(|g| (*g).clone()));

    let run_id = ctx.world.new_guid("stack-operation");
    let start = ctx.now;
    let mut t = start;
    let mut steps = Vec::new();
    for id in &doomed {
        let Some(r) = ctx.world.resource(id).cloned() else { continue };
        let end = ctx.after(t, delete_seconds(&r.type_));
        steps.push(Step {
            deployment: 0,
            operation_id: operation_id(ctx),
            tracking_id: ctx.world.new_guid("tracking"),
            operation: "Delete".into(),
            target: Some(Target { id: r.id.clone(), type_: r.type_.clone(), name: r.name.clone() }),
            start: t,
            end,
            status_code: "OK".into(),
            error: None,
            resource: None,
            child: None,
        });
        t = end;
    }
    let end = if steps.is_empty() { ctx.after(start, DETACH) } else { ctx.after(t, FINISHING) };
    let kept: Vec<String> = stack
        .managed
        .iter()
        .filter(|id| !doomed.iter().any(|d| d.eq_ignore_ascii_case(id)) && !covered(id))
        .cloned()
        .collect();
    let run = Run {
        id: run_id.clone(),
        kind: RunKind::Delete,
        start,
        steps_start: start,
        end,
        deployments: vec![Deployment { id: String::new(), name: String::new() }],
        steps,
        applied: 0,
        finished: false,
        error: None,
        outputs: None,
        resources: kept,
    };
    let location = stack.location.clone();
    if let Some(s) = ctx.world.stacks.get_mut(&key) {
        s.run = Some(run);
    }
    ctx.world.operations.insert(
        run_id.clone(),
        AsyncOp {
            subscription: sub.to_string(),
            stack: key,
            run: run_id.clone(),
            start,
            status: "InProgress".into(),
            end: None,
            error: None,
        },
    );
    ctx.dirty = true;
    Ok(reply::long_running(202, Value::Null, status_url(ctx, sub, &location, &run_id), true, ctx.retry_after()))
}

// ---------------------------------------------------------------------------------------------
// The clock

/// Applies every step that has finished by now, and finishes the runs that are over.
pub fn advance(ctx: &mut Ctx) {
    let now = ctx.now;
    let keys: Vec<String> = ctx.world.stacks.keys().cloned().collect();
    for key in keys {
        let Some(mut stack) = ctx.world.stacks.get(&key).cloned() else { continue };
        let Some(mut run) = stack.run.take().filter(|r| !r.finished) else { continue };
        let before = run.applied;
        while run.applied < run.steps.len() && run.steps[run.applied].end <= now {
            let step = &run.steps[run.applied];
            match (run.kind, &step.error, &step.resource, &step.target) {
                (RunKind::Deploy, None, Some(r), _) => {
                    let mut r = r.clone();
                    if let Some(old) = ctx.world.resource(&r.id) {
                        r.created = old.created;
                        if let Some(t) = old.properties.get("creationTime") {
                            r.properties["creationTime"] = t.clone();
                        }
                    }
                    ctx.world.insert(r);
                }
                (RunKind::Delete, _, _, Some(t)) => {
                    ctx.world.delete_resource(&t.id, step.end);
                }
                _ => {}
            }
            run.applied += 1;
        }
        let over = run.applied == run.steps.len() && run.end <= now;
        if run.applied != before || over {
            ctx.dirty = true;
        }
        if !over {
            stack.run = Some(run);
            ctx.world.stacks.insert(key, stack);
            continue;
        }
        run.finished = true;
        let (status, error) = match run.kind {
            RunKind::Deploy => finish_deploy(ctx, &mut stack, &run),
            RunKind::Delete => ("Succeeded", None),
        };
        for op in ctx.world.operations.values_mut().filter(|o| o.run == run.id) {
            op.status = status.to_string();
            op.end = Some(run.end);
            op.error = error.clone();
        }
        if run.kind == RunKind::Delete {
            ctx.world.stacks.remove(&key);
            continue;
        }
        stack.run = Some(run);
        ctx.world.stacks.insert(key, stack);
    }
}

/// The stack after a deployment: what it manages, its outputs or its error; resources it no
/// longer manages are deleted or detached as `actionOnUnmanage` says.
fn finish_deploy(ctx: &mut Ctx, stack: &mut Stack, run: &Run) -> (&'static str, Option<Value>) {
    stack.deployment_id = Some(run.deployments[0].id.clone());
    stack.duration = Some((run.end - run.start).num_milliseconds() as f64 / 1000.0);
    stack.detached.clear();
    stack.deleted.clear();
    if let Some(error) = &run.error {
        for id in &run.resources {
            if !stack.managed.iter().any(|m| m.eq_ignore_ascii_case(id)) {
                stack.managed.push(id.clone());
            }
        }
        stack.failed = run
            .steps
            .iter()
            .filter(|s| s.child.is_none())
            .filter_map(|s| Some(json!({"id": s.target.as_ref()?.id, "error": s.error.as_ref()?.1})))
            .collect();
        stack.state = "failed".into();
        stack.outputs = None;
        stack.error = Some(error.clone());
        return ("Failed", Some(error.clone()));
    }
    let unmanaged: Vec<String> =
        stack.managed.iter().filter(|m| !run.resources.iter().any(|r| r.eq_ignore_ascii_case(m))).cloned().collect();
    for id in unmanaged {
        let group = ctx.world.resource(&id).is_some_and(Resource::is_group);
        let key = if group { "resourceGroups" } else { "resources" };
        if stack.action_on_unmanage[key].as_str() == Some("delete") {
            ctx.world.delete_resource(&id, run.end);
            stack.deleted.push(id);
        } else {
            stack.detached.push(id);
        }
    }
    stack.managed = run.resources.clone();
    stack.failed.clear();
    stack.state = "succeeded".into();
    stack.outputs = run.outputs.clone();
    stack.error = None;
    ("Succeeded", None)
}
