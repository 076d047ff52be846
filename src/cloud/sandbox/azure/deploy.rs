//! Deploying a stack: the template it is sent expanded with the same evaluator the preview uses
//! ([`arm::expand`]), `reference()` answered from the simulated tenant, and the run planned as
//! steps with absolute times ([`plan_deploy`]); PUT starts it ([`put`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::reply::{self, Answer};
use super::stacks::{
    active, create_seconds, provisioning_state, stack_id, stack_json, status_url, BUILT_IN_ROLES, FINISHING,
    INITIALIZING, NESTED_START, OUTPUTS,
};
use super::state::{
    AsyncOp, Deployment, Resource, Run, RunKind, Stack, Step, Target, CALLER_OBJECT_ID, DEPLOYMENT_TYPE, GROUP_TYPE,
    IDENTITY_TYPE, REGISTRY_TYPE, ROLE_ASSIGNMENT_TYPE, ROLE_DEFINITION_TYPE, STORAGE_TYPE, TENANT_ID, VAULT_TYPE,
};
use super::{faults, guid_for_identity, Ctx};
use crate::cloud::azure::transport::{ApiRequest, ApiResponse};
use crate::plan::azure::arm::{self, Expanded, References};

// ---------------------------------------------------------------------------------------------
// Deploying

/// `reference()` and `guid()` in the simulated tenant: a user-assigned identity's principal and
/// client ids are GUIDs derived from its id (known before it exists, as the template needs them
/// in the same deployment); other resources answer their properties once they exist.
struct SimReferences<'a, 'b> {
    ctx: &'a Ctx<'b>,
}

impl References for SimReferences<'_, '_> {
    fn reference(&self, resource_id: &str, full: bool) -> Option<Value> {
        let lower = resource_id.to_ascii_lowercase();
        let properties = if lower.contains(&format!("/providers/{}/", IDENTITY_TYPE.to_ascii_lowercase())) {
            identity_properties(resource_id)
        } else {
            self.ctx.world.resource(resource_id)?.properties.clone()
        };
        if !full {
            return Some(properties);
        }
        let mut whole = match self.ctx.world.resource(resource_id) {
            Some(r) => super::resources::resource_json(r),
            None => json!({"id": resource_id, "name": resource_id.rsplit('/').next().unwrap_or_default()}),
        };
        whole["properties"] = properties;
        Some(whole)
    }

    /// The simulated Azure names what `guid()` names with the evaluator's own deterministic GUID.
    fn guid(&self, parts: &[String]) -> Option<String> {
        Some(arm::guid(parts))
    }
}

fn identity_properties(id: &str) -> Value {
    let (principal, client) = guid_for_identity(id);
    json!({"principalId": principal, "clientId": client, "tenantId": TENANT_ID})
}

/// The first unknown (`<…>`) string in `v`, if any.
fn first_unknown(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if arm::is_unknown(s) => Some(s.clone()),
        Value::Array(a) => a.iter().find_map(first_unknown),
        Value::Object(o) => o.iter().filter(|(k, _)| *k != "template").find_map(|(_, x)| first_unknown(x)),
        _ => None,
    }
}

/// The template value at `path` (`resources[1].properties.template.resources[4]`).
fn at_path<'a>(template: &'a Value, path: &str) -> Option<&'a Value> {
    let mut v = template;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, Some(rest.trim_end_matches(']').parse::<usize>().ok()?)),
            None => (part, None),
        };
        v = v.get(key)?;
        if let Some(i) = index {
            v = v.get(i)?;
        }
    }
    Some(v)
}

/// A literal (not an expression) from the raw template.
fn literal(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) if s.starts_with('[') => Value::Null,
        Some(v) => v.clone(),
        None => Value::Null,
    }
}

/// What ARM adds to a resource's properties once it exists.
fn runtime_properties(
    type_: &str,
    name: &str,
    id: &str,
    properties: &Value,
    scope: Option<&str>,
    now: DateTime<Utc>,
) -> Value {
    let mut p = match properties {
        Value::Object(o) => Value::Object(o.clone()),
        _ => json!({}),
    };
    let t = type_.to_ascii_lowercase();
    if t == IDENTITY_TYPE.to_ascii_lowercase() {
        let extra = identity_properties(id);
        for k in ["principalId", "clientId", "tenantId"] {
            p[k] = extra[k].clone();
        }
        return p;
    }
    if t == ROLE_ASSIGNMENT_TYPE.to_ascii_lowercase() {
        p["scope"] = Value::String(scope.map(str::to_string).unwrap_or_default());
        p["createdBy"] = Value::String(CALLER_OBJECT_ID.into());
        return p;
    }
    if t == VAULT_TYPE.to_ascii_lowercase() {
        p["vaultUri"] = Value::String(format!("https://{name}.vault.azure.net/"));
    } else if t == STORAGE_TYPE.to_ascii_lowercase() {
        p["primaryEndpoints"] = json!({
            "blob": format!("https://{name}.blob.core.windows.net/"),
            "dfs": format!("https://{name}.dfs.core.windows.net/"),
            "queue": format!("https://{name}.queue.core.windows.net/"),
            "table": format!("https://{name}.table.core.windows.net/"),
            "file": format!("https://{name}.file.core.windows.net/"),
            "web": format!("https://{name}.z6.web.core.windows.net/"),
        });
        p["creationTime"] = Value::String(reply::time(now));
    } else if t == REGISTRY_TYPE.to_ascii_lowercase() {
        p["loginServer"] = Value::String(format!("{}.azurecr.io", name.to_ascii_lowercase()));
    }
    p["provisioningState"] = Value::String("Succeeded".into());
    p
}

/// What a run is being planned against: the world plus what earlier steps of the run create.
struct Planned<'a, 'b> {
    ctx: &'a Ctx<'b>,
    created: Vec<String>,
}

impl Planned<'_, '_> {
    fn exists(&self, id: &str) -> bool {
        self.ctx.world.resource(id).is_some() || self.created.iter().any(|c| c.eq_ignore_ascii_case(id))
    }

    /// A principal the tenant knows: a service principal, a user-assigned identity (existing or
    /// made earlier in this run) or the signed-in user.
    fn principal_known(&self, principal: &str) -> bool {
        let p = principal.to_ascii_lowercase();
        if p == CALLER_OBJECT_ID || self.ctx.world.service_principals.keys().any(|k| k.eq_ignore_ascii_case(&p)) {
            return true;
        }
        let identity = IDENTITY_TYPE.to_ascii_lowercase();
        let mut identities = self
            .ctx
            .world
            .resources
            .values()
            .filter(|r| r.type_.eq_ignore_ascii_case(IDENTITY_TYPE))
            .map(|r| r.id.clone())
            .chain(self.created.iter().filter(|c| c.to_ascii_lowercase().contains(&format!("/{identity}/"))).cloned());
        identities.any(|id| guid_for_identity(&id).0 == p)
    }

    fn role_known(&self, role: &str) -> bool {
        let lower = role.to_ascii_lowercase();
        let guid = lower.rsplit('/').next().unwrap_or_default();
        let built_in =
            lower.contains("/providers/microsoft.authorization/roledefinitions/") && BUILT_IN_ROLES.contains(&guid);
        built_in || self.exists(role)
    }

    /// Why creating `r` (with id `id`) fails, if it does: `(status code name, error)`.
    fn failure(&self, r: &Expanded, id: &str, name: &str, sub: &str) -> Option<(String, Value)> {
        if let Some(logical) = r.id.as_deref().filter(|l| self.ctx.faults.fails(l)) {
            return Some(faults::failure(&r.type_, name, id, logical));
        }
        let t = r.type_.to_ascii_lowercase();
        let is_group = t == GROUP_TYPE.to_ascii_lowercase();
        if let Some(rg) = r.resource_group.as_deref().filter(|_| !is_group) {
            if !self.exists(&format!("/subscriptions/{sub}/resourceGroups/{rg}")) {
                return Some(fail(
                    "NotFound",
                    "ResourceGroupNotFound",
                    format!("Resource group '{rg}' could not be found."),
                ));
            }
        }
        // Globally unique names.
        for (global, code) in [
            (VAULT_TYPE, "VaultAlreadyExists"),
            (STORAGE_TYPE, "StorageAccountAlreadyTaken"),
            (REGISTRY_TYPE, "AlreadyInUse"),
        ] {
            if t != global.to_ascii_lowercase() {
                continue;
            }
            let taken = self.ctx.world.resources.values().any(|x| {
                x.type_.eq_ignore_ascii_case(global)
                    && x.name.eq_ignore_ascii_case(name)
                    && !x.id.eq_ignore_ascii_case(id)
            });
            if taken {
                let (status, mut error) = faults::failure(global, name, id, "");
                // Not injected: the name is taken in the simulated world.
                let message = error["message"].as_str().unwrap_or_default().replace(&reply::injected(""), "");
                error = json!({"code": code, "message": message});
                return Some((status, error));
            }
            if global == VAULT_TYPE && !self.exists(id) && self.ctx.world.deleted_vault(name, self.ctx.now).is_some() {
                return Some(fail(
                    "Conflict",
                    "ConflictError",
                    format!("A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault. Vault name: '{name}'."),
                ));
            }
        }
        if let Some(scope) = &r.scope {
            let at_subscription = scope.eq_ignore_ascii_case(&format!("/subscriptions/{sub}"));
            if !at_subscription && !self.exists(scope) {
                return Some(fail("NotFound", "ResourceNotFound", format!("The Resource '{scope}' was not found.")));
            }
        }
        if t == ROLE_ASSIGNMENT_TYPE.to_ascii_lowercase() {
            let role = r.properties["roleDefinitionId"].as_str().unwrap_or_default();
            if !self.role_known(role) {
                return Some(fail(
                    "BadRequest",
                    "RoleDefinitionDoesNotExist",
                    format!(
                        "The specified role definition with ID '{}' does not exist.",
                        role.rsplit('/').next().unwrap_or(role)
                    ),
                ));
            }
            let principal = r.properties["principalId"].as_str().unwrap_or_default();
            if !self.principal_known(principal) {
                return Some(fail(
                    "BadRequest",
                    "PrincipalNotFound",
                    format!("Principal {principal} does not exist in the directory {TENANT_ID}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype"),
                ));
            }
        }
        None
    }
}

/// A new operation id: 16 hex digits, as ARM writes them.
pub(super) fn operation_id(ctx: &mut Ctx) -> String {
    let guid = ctx.world.new_guid("operation").replace('-', "").to_ascii_uppercase();
    guid[..16].to_string()
}

fn fail(status: &str, code: &str, message: String) -> (String, Value) {
    (status.to_string(), reply::error_body(code, message))
}

/// The id ARM gives `r`: role definitions live at the subscription, whatever deployment makes
/// them.
fn arm_id(r: &Expanded, sub: &str) -> Option<String> {
    let id = r.resource_id.clone()?;
    if r.type_.eq_ignore_ascii_case(ROLE_DEFINITION_TYPE) {
        return Some(format!("/subscriptions/{sub}/providers/{ROLE_DEFINITION_TYPE}/{}", r.name.as_deref()?));
    }
    Some(id)
}

const DEPLOYMENT_FAILED: &str = "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.";

/// The steps of deploying `template` for the stack `name`, from `start`.
#[allow(clippy::too_many_arguments)]
fn plan_deploy(
    ctx: &mut Ctx,
    sub: &str,
    name: &str,
    location: &str,
    template: &Value,
    parameters: &Map<String, Value>,
    run_id: String,
    start: DateTime<Utc>,
) -> Result<Run, ApiResponse> {
    let deployment_name = format!("{}-{}", &name[..name.len().min(48)], start.timestamp_millis());
    let scope = arm::Scope {
        subscription_id: sub.to_string(),
        tenant_id: TENANT_ID.to_string(),
        location: location.to_string(),
        resource_group: None,
        deployment: deployment_name.clone(),
    };
    let expansion = {
        let view: &Ctx = ctx;
        arm::expand(template, parameters, &scope, &SimReferences { ctx: view })
    }
    .map_err(|e| reply::arm(400, "InvalidTemplate", format!("Deployment template validation failed: '{e}'.")))?;
    for r in &expansion.resources {
        let unknown = first_unknown(&r.properties).or_else(|| r.resource_id.is_none().then(|| r.path.clone()));
        if let Some(u) = unknown {
            return Err(reply::arm(
                400,
                "InvalidTemplate",
                format!("Deployment template validation failed: '{}': the value {u} cannot be evaluated. [sandbox: only user-assigned identities and existing resources can be referenced]", r.path),
            ));
        }
    }

    let mut steps: Vec<Step> = Vec::new();
    let mut deployments = vec![Deployment {
        id: format!("/subscriptions/{sub}/providers/{DEPLOYMENT_TYPE}/{deployment_name}"),
        name: deployment_name.clone(),
    }];
    // Deployment name → its index; a nested deployment's resources follow it directly.
    let mut by_name: BTreeMap<String, usize> = BTreeMap::from([(deployment_name.clone(), 0)]);
    let mut t = ctx.after(start, INITIALIZING);
    let steps_start = t;
    let mut failed = false;
    let mut created: Vec<String> = Vec::new();
    for r in &expansion.resources {
        let deployment = by_name.get(&r.deployment).copied().unwrap_or(0);
        let (Some(id), Some(rname)) = (arm_id(r, sub), r.name.clone()) else { continue };
        let operation_id = operation_id(ctx);
        let tracking_id = ctx.world.new_guid("tracking");
        let exists_already = ctx.world.resource(&id).is_some();
        let status_code = if exists_already { "OK" } else { "Created" }.to_string();
        let target = Some(Target { id: id.clone(), type_: r.type_.clone(), name: rname.clone() });
        if r.type_.eq_ignore_ascii_case(DEPLOYMENT_TYPE) {
            let child = deployments.len();
            deployments.push(Deployment { id: id.clone(), name: rname.clone() });
            by_name.insert(rname.clone(), child);
            let planned = Planned { ctx, created: created.clone() };
            let error = planned.failure(r, &id, &rname, sub);
            let end = ctx.after(t, NESTED_START);
            steps.push(Step {
                deployment,
                operation_id,
                tracking_id,
                operation: "Create".into(),
                target,
                start: t,
                end,
                status_code: status_code.clone(),
                error: error.clone(),
                resource: None,
                child: Some(child),
            });
            t = end;
            if error.is_some() {
                failed = true;
                break;
            }
            continue;
        }
        let planned = Planned { ctx, created: created.clone() };
        let error = planned.failure(r, &id, &rname, sub);
        let end = ctx.after(t, create_seconds(&r.type_));
        let raw = at_path(template, &r.path);
        let resource = Resource {
            id: id.clone(),
            type_: r.type_.clone(),
            name: rname.clone(),
            subscription: sub.to_string(),
            resource_group: r.resource_group.clone(),
            location: r.location.clone(),
            tags: if r.tags.is_object() { r.tags.clone() } else { json!({}) },
            properties: runtime_properties(&r.type_, &rname, &id, &r.properties, r.scope.as_deref(), end),
            sku: literal(raw.and_then(|x| x.get("sku"))),
            kind: literal(raw.and_then(|x| x.get("kind"))),
            created: end,
        };
        steps.push(Step {
            deployment,
            operation_id,
            tracking_id,
            operation: "Create".into(),
            target,
            start: t,
            end,
            status_code,
            error: error.clone(),
            resource: Some(resource),
            child: None,
        });
        t = end;
        if error.is_some() {
            failed = true;
            break;
        }
        created.push(id);
    }
    // A nested deployment runs until its last resource is done, and fails with it.
    for i in (0..steps.len()).rev() {
        let Some(child) = steps[i].child else { continue };
        let inner = steps[i + 1..].iter().filter(|s| s.deployment == child);
        let last = inner.clone().map(|s| s.end).max();
        let inner_error = inner.clone().find_map(|s| s.error.clone());
        if let Some(last) = last {
            steps[i].end = steps[i].end.max(last);
        }
        if steps[i].error.is_none() {
            if let Some((_, e)) = inner_error {
                let id = steps[i].target.as_ref().map(|x| x.id.clone()).unwrap_or_default();
                steps[i].error = Some((
                    "Conflict".into(),
                    json!({"code": "DeploymentFailed", "target": id, "message": DEPLOYMENT_FAILED, "details": [e]}),
                ));
            }
        }
    }
    let root = steps
        .iter()
        .rev()
        .find(|s| s.child.is_none() && s.error.is_some())
        .or_else(|| steps.iter().find(|s| s.error.is_some()));
    let error = root.and_then(|s| s.error.as_ref()).map(|(_, e)| {
        json!({"code": "DeploymentFailed", "target": deployments[0].id, "message": DEPLOYMENT_FAILED, "details": [e]})
    });
    let mut outputs = None;
    if !failed {
        let declared = template.get("outputs").and_then(Value::as_object);
        if !expansion.outputs.is_empty() {
            let end = ctx.after(t, OUTPUTS);
            steps.push(Step {
                deployment: 0,
                operation_id: operation_id(ctx),
                tracking_id: ctx.world.new_guid("tracking"),
                operation: "EvaluateDeploymentOutput".into(),
                target: None,
                start: t,
                end,
                status_code: "OK".into(),
                error: None,
                resource: None,
                child: None,
            });
            t = end;
        }
        let mut o = Map::new();
        for (k, v) in &expansion.outputs {
            let declared_type = declared.and_then(|d| d.get(k)).and_then(|d| d["type"].as_str()).unwrap_or("string");
            let mut type_ = declared_type.to_string();
            if let Some(first) = type_.get(..1) {
                type_ = format!("{}{}", first.to_ascii_uppercase(), &type_[1..]);
            }
            o.insert(k.clone(), json!({"type": type_, "value": v}));
        }
        outputs = Some(Value::Object(o));
    }
    let end = ctx.after(t, FINISHING);
    Ok(Run {
        id: run_id,
        kind: RunKind::Deploy,
        start,
        steps_start,
        end,
        deployments,
        steps,
        applied: 0,
        finished: false,
        error,
        outputs,
        resources: created,
    })
}

fn bad_body(message: &str) -> ApiResponse {
    reply::invalid_request(format!("The request content was invalid and could not be deserialized: {message}"))
}

pub(super) fn put(ctx: &mut Ctx, req: &ApiRequest, sub: &str, name: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    let valid_name = !name.is_empty()
        && name.len() <= 90
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.()".contains(c))
        && !name.ends_with('.');
    if !valid_name {
        return Err(reply::arm(
            400,
            "InvalidDeploymentStackName",
            format!("The deployment stack name '{name}' is invalid."),
        ));
    }
    let body = reply::body(req);
    let location = body["location"]
        .as_str()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad_body("'location' is required"))?
        .to_string();
    let props = body.get("properties").filter(|p| p.is_object()).ok_or_else(|| bad_body("'properties' is required"))?;
    if props.get("templateLink").is_some() {
        return Err(reply::invalid_request("[sandbox: templateLink is not simulated; send the template inline]"));
    }
    let template =
        props.get("template").filter(|t| t.is_object()).ok_or_else(|| bad_body("'properties.template' is required"))?;
    let action = props.get("actionOnUnmanage").cloned().unwrap_or(Value::Null);
    if !matches!(action["resources"].as_str(), Some("delete" | "detach")) {
        return Err(bad_body("'properties.actionOnUnmanage.resources' must be 'delete' or 'detach'"));
    }
    let deny = props.get("denySettings").cloned().unwrap_or(Value::Null);
    if deny["mode"].as_str().is_none() {
        return Err(bad_body("'properties.denySettings.mode' is required"));
    }
    let parameters = match props.get("parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => return Err(bad_body("'properties.parameters' must be an object")),
    };
    let id = stack_id(sub, name);
    let key = id.to_ascii_lowercase();
    let existing = ctx.world.stacks.get(&key).cloned();
    if let Some(s) = &existing {
        if active(s).is_some() {
            let state = provisioning_state(s, ctx.now).to_string();
            return Err(reply::arm(
                409,
                "DeploymentStackInNonTerminalState",
                format!("The deployment stack '{name}' is in a non-terminal state '{state}'. Wait for the current operation to finish before changing it."),
            ));
        }
        if !s.location.eq_ignore_ascii_case(&location) {
            return Err(reply::arm(
                400,
                "InvalidDeploymentLocation",
                format!("Invalid deployment location '{location}'. The deployment stack '{name}' already exists in location '{}'.", s.location),
            ));
        }
    }
    let run_id = ctx.world.new_guid("stack-operation");
    let now = ctx.now;
    let run = plan_deploy(ctx, sub, name, &location, template, &parameters, run_id.clone(), now)?;
    let stack = Stack {
        id: existing.as_ref().map_or(id.clone(), |s| s.id.clone()),
        name: existing.as_ref().map_or(name.to_string(), |s| s.name.clone()),
        subscription: sub.to_string(),
        location: location.clone(),
        tags: body.get("tags").cloned().unwrap_or(json!({})),
        description: props["description"].as_str().unwrap_or_default().to_string(),
        parameters: Value::Object(parameters),
        action_on_unmanage: action,
        deny_settings: deny,
        created: existing.as_ref().map_or(now, |s| s.created),
        modified: now,
        state: existing.as_ref().map_or("succeeded".into(), |s| s.state.clone()),
        managed: existing.as_ref().map(|s| s.managed.clone()).unwrap_or_default(),
        detached: Vec::new(),
        deleted: Vec::new(),
        failed: Vec::new(),
        outputs: None,
        error: None,
        deployment_id: existing.as_ref().and_then(|s| s.deployment_id.clone()),
        duration: None,
        run: Some(run),
    };
    let out = stack_json(&stack, now);
    ctx.world.stacks.insert(key.clone(), stack);
    ctx.world.operations.insert(
        run_id.clone(),
        AsyncOp {
            subscription: sub.to_string(),
            stack: key,
            run: run_id.clone(),
            start: now,
            status: "InProgress".into(),
            end: None,
            error: None,
        },
    );
    ctx.dirty = true;
    let code = if existing.is_some() { 200 } else { 201 };
    Ok(reply::long_running(code, out, status_url(ctx, sub, &location, &run_id), false, ctx.retry_after()))
}

// ---------------------------------------------------------------------------------------------
// Deleting
