//! A stateful stand-in for the ARM and Microsoft Graph calls of docs/azure-calls.md, served by
//! wiremock: one responder holds a small subscription behind a Mutex and answers each call in the
//! shapes of the REST references and the Python packages' models (deployment stacks 2025-07-01):
//! stacks PUT answer 201/200 with `Azure-AsyncOperation`, their deployment's operations list grows
//! with every poll (nested deployments' too), failures carry ARM error details. Faults can be
//! queued per call. A deployment stack's `provisioningState` is lowercase (`initializing`,
//! `deploying`, `succeeded`, `failed`, `deleting`), as the 2025-07-01 API documents it
//! (`DeploymentStackProvisioningState` in azure-mgmt-resource-deploymentstacks 1.0.0); deployment
//! operations, resource groups and async operations answer capitalised states, as theirs do. The
//! caller's permissions are answered at a resource group only (`Permissions - List For Resource
//! Group`): Azure publishes no subscription form of that call.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use wiremock::{Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "test-token";
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// One queued answer: the next `times` calls whose method is `method` and whose path contains
/// `path` get `status`/`body`.
pub struct Fault {
    pub method: &'static str,
    pub path: String,
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u64>,
    pub times: u32,
}

impl Fault {
    pub fn new(method: &'static str, path: &str, status: u16, body: Value) -> Fault {
        Fault { method, path: path.into(), status, body, retry_after: None, times: 1 }
    }
}

pub fn arm_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "details": []}})
}

pub fn graph_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "innerError": {"date": "2026-01-01T00:00:00", "request-id": "r1"}}})
}

/// One resource operation of a stack's deployment (or of a nested deployment).
#[derive(Debug, Clone)]
pub struct Op {
    /// The deployment id the operation is listed under.
    pub deployment: String,
    pub target: String,
    pub type_: String,
    pub name: String,
    pub failure: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Run {
    pub stack: String,
    pub ops: Vec<Op>,
    /// Operations revealed so far (grows by one per poll of the async operation).
    pub progress: usize,
    pub update: bool,
    pub failed: Option<Value>,
    pub done: bool,
    /// Later runs replace earlier ones' nested deployments (same names), as in ARM.
    pub seq: u64,
}

#[derive(Default)]
pub struct State {
    pub base: String,
    pub sub: String,
    pub subscription_pages: Vec<Vec<Value>>,
    /// The caller's effective actions (#3).
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub groups: BTreeMap<String, Value>,
    pub stacks: BTreeMap<String, Value>,
    /// Async operation id → the run it reports, or ("delete", stack, polls left).
    pub runs: BTreeMap<String, Run>,
    pub deletes: BTreeMap<String, (String, u32)>,
    /// appId → service principal.
    pub principals: BTreeMap<String, Value>,
    /// GETs of a service principal still answering 404 (made meanwhile by someone else).
    pub hide_principal: u32,
    pub vaults: BTreeMap<String, Value>,
    pub deleted_vaults: BTreeMap<String, Value>,
    pub accounts: BTreeMap<String, Value>,
    /// (principal id, scope, role assignment id).
    pub assignments: Vec<(String, String, String)>,
    /// Global names taken elsewhere.
    pub taken: BTreeSet<String>,
    /// Resource names whose creation fails, with the error.
    pub fail_on: BTreeMap<String, Value>,
    pub faults: Vec<Fault>,
    /// Resource groups the caller's permissions were read at (#3).
    pub permission_reads: Vec<String>,
    /// Nested deployments whose operations were listed when they had finished: id → times.
    pub listed_finished: BTreeMap<String, u32>,
    pub counter: u64,
    pub unauthorized: u32,
    pub async_polls: u32,
    pub writes: Vec<String>,
    /// When set, a stack operation (PUT or DELETE) takes this long: its resource operations are
    /// revealed in proportion to the time passed, not one per poll.
    pub operation_time: Option<std::time::Duration>,
    /// Async operation id → when it started (with `operation_time`).
    pub started: BTreeMap<String, std::time::Instant>,
}

impl State {
    pub fn new(sub: &str) -> State {
        let sub_json = |id: &str, name: &str| json!({"id": format!("/subscriptions/{id}"), "subscriptionId": id, "displayName": name, "state": "Enabled", "tenantId": TENANT});
        State {
            sub: sub.into(),
            subscription_pages: vec![
                vec![sub_json(sub, "Acme production")],
                vec![sub_json("11111111-2222-3333-4444-555555555555", "Acme sandbox")],
            ],
            actions: vec!["*".into()],
            ..State::default()
        }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn allow(&mut self, actions: &[&str], not_actions: &[&str]) {
        self.actions = actions.iter().map(|a| a.to_string()).collect();
        self.not_actions = not_actions.iter().map(|a| a.to_string()).collect();
    }

    /// Contributor only: no role assignments or role definitions.
    pub fn contributor_only(&mut self) {
        self.allow(
            &["*"],
            &[
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
            ],
        );
    }

    pub fn assignments_of(&self, principal: &str) -> Vec<&(String, String, String)> {
        self.assignments.iter().filter(|a| a.0 == principal).collect()
    }
}

#[derive(Clone)]
pub struct FakeAzure {
    pub state: Arc<Mutex<State>>,
}

impl FakeAzure {
    pub fn new(sub: &str) -> FakeAzure {
        FakeAzure { state: Arc::new(Mutex::new(State::new(sub))) }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }
}

fn reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

fn body(req: &Request) -> Value {
    req.body_json::<Value>().unwrap_or(Value::Null)
}

fn param(stack_body: &Value, name: &str) -> String {
    stack_body["properties"]["parameters"][name]["value"].as_str().unwrap_or_default().to_string()
}

impl Respond for FakeAzure {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.state.lock().unwrap();
        let auth = req.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if auth != format!("Bearer {TOKEN}") {
            s.unauthorized += 1;
            return reply(401, arm_error("InvalidAuthenticationToken", "The access token is invalid."));
        }
        let method = req.method.as_str().to_string();
        let path = req.url.path().to_string();
        if method != "GET" {
            s.writes.push(format!("{method} {path}"));
        }
        if let Some(i) = s.faults.iter().position(|f| f.method == method && path.contains(&f.path) && f.times > 0) {
            s.faults[i].times -= 1;
            let (status, b, retry) = (s.faults[i].status, s.faults[i].body.clone(), s.faults[i].retry_after);
            let mut r = reply(status, b);
            if let Some(secs) = retry {
                r = r.insert_header("Retry-After", secs.to_string().as_str());
            }
            return r;
        }
        route(&mut s, &method, &path, req)
    }
}

fn not_found(code: &str, what: &str) -> ResponseTemplate {
    reply(404, arm_error(code, &format!("{what} could not be found.")))
}

fn route(s: &mut State, method: &str, path: &str, req: &Request) -> ResponseTemplate {
    let sub = s.sub.clone();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segs.as_slice()) {
        // #1, #2
        ("GET", ["subscriptions"]) => {
            let i = query(req, "$skiptoken").and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
            let mut b = json!({"value": s.subscription_pages.get(i).cloned().unwrap_or_default()});
            if i + 1 < s.subscription_pages.len() {
                b["nextLink"] =
                    json!(format!("{}/subscriptions?api-version=2022-12-01&%24skiptoken={}", s.base, i + 1));
            }
            reply(200, b)
        }
        ("GET", ["subscriptions", id]) => {
            match s.subscription_pages.iter().flatten().find(|x| x["subscriptionId"].as_str() == Some(id)) {
                Some(x) => reply(200, x.clone()),
                None => not_found("SubscriptionNotFound", &format!("The subscription '{id}'")),
            }
        }
        // #3, at a resource group that exists.
        ("GET", ["subscriptions", _, "resourceGroups", g, "providers", "Microsoft.Authorization", "permissions"]) => {
            if !s.groups.contains_key(*g) {
                return not_found("ResourceGroupNotFound", &format!("Resource group '{g}'"));
            }
            s.permission_reads.push(g.to_string());
            reply(
                200,
                json!({"value": [{"actions": s.actions, "notActions": s.not_actions, "dataActions": [], "notDataActions": []}]}),
            )
        }
        // #3b: the resource groups of the subscription (one page, `$top` honoured).
        ("GET", ["subscriptions", _, g]) if g.eq_ignore_ascii_case("resourcegroups") => {
            let top = query(req, "$top").and_then(|t| t.parse::<usize>().ok()).unwrap_or(usize::MAX);
            reply(200, json!({"value": s.groups.values().take(top).cloned().collect::<Vec<_>>()}))
        }
        // #18b: the storage accounts of a resource group.
        ("GET", ["subscriptions", _, "resourceGroups", g, "providers", "Microsoft.Storage", "storageAccounts"]) => {
            let within = format!("/resourcegroups/{}/", g.to_ascii_lowercase());
            let items: Vec<Value> = s
                .accounts
                .values()
                .filter(|a| a["id"].as_str().is_some_and(|id| id.to_ascii_lowercase().contains(&within)))
                .cloned()
                .collect();
            reply(200, json!({"value": items}))
        }
        // #17
        ("GET", ["subscriptions", _, "providers", "Microsoft.Authorization", "roleAssignments"]) => {
            let filter = query(req, "$filter").unwrap_or_default();
            let principal = filter.split('\'').nth(1).unwrap_or_default().to_string();
            let items: Vec<Value> = s
                .assignments_of(&principal)
                .iter()
                .map(|(p, scope, id)| json!({"id": id, "name": id.rsplit('/').next(), "properties": {"roleDefinitionId": "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/r", "principalId": p, "principalType": "ServicePrincipal", "scope": scope}}))
                .collect();
            reply(200, json!({"value": items}))
        }
        // #8
        ("POST", ["subscriptions", _, "providers", _, "checkNameAvailability"]) => {
            let name = body(req)["name"].as_str().unwrap_or_default().to_string();
            if s.taken.contains(&name) {
                reply(
                    200,
                    json!({"nameAvailable": false, "reason": "AlreadyExists", "message": format!("The name {name} is already taken.")}),
                )
            } else {
                reply(200, json!({"nameAvailable": true}))
            }
        }
        // #9
        ("GET", ["subscriptions", _, "providers", "Microsoft.KeyVault", "locations", _, "deletedVaults", name]) => {
            match s.deleted_vaults.get(*name) {
                Some(v) => reply(200, v.clone()),
                None => not_found("ResourceNotFound", &format!("Deleted vault {name}")),
            }
        }
        // #7
        ("GET", ["subscriptions", _, g, name]) if g.eq_ignore_ascii_case("resourcegroups") => match s.groups.get(*name)
        {
            Some(v) => reply(200, v.clone()),
            None => not_found("ResourceGroupNotFound", &format!("Resource group '{name}'")),
        },
        // #10
        ("GET", ["subscriptions", _, "resourceGroups", _, "providers", "Microsoft.KeyVault", "vaults", name]) => {
            match s.vaults.get(*name) {
                Some(v) => reply(200, v.clone()),
                None => not_found("ResourceNotFound", &format!("The Resource 'Microsoft.KeyVault/vaults/{name}'")),
            }
        }
        // #18
        (
            "GET",
            ["subscriptions", _, "resourceGroups", _, "providers", "Microsoft.Storage", "storageAccounts", name],
        ) => match s.accounts.get(*name) {
            Some(v) => reply(200, v.clone()),
            None => not_found("ResourceNotFound", &format!("The Resource 'Microsoft.Storage/storageAccounts/{name}'")),
        },
        // #11
        ("GET", ["subscriptions", _, "providers", "Microsoft.Resources", "deploymentStacks"]) => {
            reply(200, json!({"value": s.stacks.values().cloned().collect::<Vec<_>>()}))
        }
        // #12
        ("GET", ["subscriptions", _, "providers", "Microsoft.Resources", "deploymentStacks", name]) => {
            match s.stacks.get(*name) {
                Some(v) => reply(200, v.clone()),
                None => not_found("DeploymentStackNotFound", &format!("Deployment stack '{name}'")),
            }
        }
        // #13
        ("PUT", ["subscriptions", _, "providers", "Microsoft.Resources", "deploymentStacks", name]) => {
            put_stack(s, name, body(req))
        }
        // #16
        ("DELETE", ["subscriptions", _, "providers", "Microsoft.Resources", "deploymentStacks", name]) => {
            if !s.stacks.contains_key(*name) {
                return not_found("DeploymentStackNotFound", &format!("Deployment stack '{name}'"));
            }
            let action = query(req, "unmanageAction.Resources").unwrap_or_default();
            let id = format!("del{}", s.next());
            s.deletes.insert(id.clone(), (format!("{name}|{action}"), 1));
            s.started.insert(id.clone(), std::time::Instant::now());
            if let Some(st) = s.stacks.get_mut(*name) {
                st["properties"]["provisioningState"] = json!("deleting");
            }
            ResponseTemplate::new(202)
                .insert_header("Azure-AsyncOperation", op_url(&s.base, &sub, &id).as_str())
                .insert_header("Retry-After", "0")
        }
        // #14
        (
            "GET",
            ["subscriptions", _, "providers", "Microsoft.Resources", "locations", _, "deploymentStackOperationStatus", id],
        ) => {
            s.async_polls += 1;
            poll(s, id)
        }
        // #15
        ("GET", rest) if rest.last() == Some(&"operations") && rest.contains(&"Microsoft.Resources") => {
            let deployment = format!("/{}", rest[..rest.len() - 1].join("/"));
            operations(s, &deployment)
        }
        // #4
        ("GET", ["v1.0", sp]) if sp.starts_with("servicePrincipals(appId=") => {
            let app = sp.split('\'').nth(1).unwrap_or_default().to_string();
            if s.hide_principal > 0 {
                s.hide_principal -= 1;
                return reply(
                    404,
                    graph_error("Request_ResourceNotFound", &format!("Resource '{app}' does not exist.")),
                );
            }
            match s.principals.get(&app) {
                Some(p) => reply(200, p.clone()),
                None => {
                    reply(404, graph_error("Request_ResourceNotFound", &format!("Resource '{app}' does not exist.")))
                }
            }
        }
        // #5
        ("POST", ["v1.0", "servicePrincipals"]) => {
            let app = body(req)["appId"].as_str().unwrap_or_default().to_string();
            if s.principals.contains_key(&app) {
                return reply(
                    409,
                    graph_error(
                        "Request_MultipleObjectsWithSameKeyValue",
                        "Another object with the same value for property servicePrincipalNames already exists.",
                    ),
                );
            }
            let id = format!("5e1f0000-0000-4000-8000-{:012}", s.next());
            let p = json!({"id": id, "appId": app, "displayName": "AcmeML", "appOwnerOrganizationId": "a0000000-0000-0000-0000-000000000001"});
            s.principals.insert(app, p.clone());
            reply(201, p)
        }
        // #6
        ("DELETE", ["v1.0", "servicePrincipals", id]) => {
            let before = s.principals.len();
            s.principals.retain(|_, p| p["id"].as_str() != Some(id));
            if s.principals.len() == before {
                reply(404, graph_error("Request_ResourceNotFound", "gone"))
            } else {
                ResponseTemplate::new(204)
            }
        }
        _ => reply(400, arm_error("UnknownCall", &format!("the double does not know {method} {path}"))),
    }
}

fn op_url(base: &str, sub: &str, id: &str) -> String {
    format!("{base}/subscriptions/{sub}/providers/Microsoft.Resources/locations/westeurope/deploymentStackOperationStatus/{id}?api-version=2025-07-01")
}

fn guid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// The operations a stack's templates run, in order: what assets/azure/*.json create.
fn plan_ops(s: &mut State, stack: &str, b: &Value, dep: &str) -> Vec<Op> {
    let sub = s.sub.clone();
    let (vendor, org, suffix) = (param(b, "vendorId"), param(b, "org"), param(b, "suffix"));
    let rg = |g: &str| format!("/subscriptions/{sub}/resourceGroups/{g}");
    let op = |deployment: &str, target: String, type_: &str, name: &str| Op {
        deployment: deployment.into(),
        target,
        type_: type_.into(),
        name: name.into(),
        failure: None,
    };
    let mut ops = Vec::new();
    if b["tags"]["cloudgrant-stack"] == "storage" {
        let g = format!("{vendor}-{org}-storage");
        let acct = format!("{vendor}data{suffix}");
        let nested = format!("{}/providers/Microsoft.Resources/deployments/data-storage", rg(&g));
        ops.push(op(dep, rg(&g), "Microsoft.Resources/resourceGroups", &g));
        ops.push(op(dep, nested.clone(), "Microsoft.Resources/deployments", "data-storage"));
        let acct_id = format!("{}/providers/Microsoft.Storage/storageAccounts/{acct}", rg(&g));
        ops.push(op(&nested, acct_id.clone(), "Microsoft.Storage/storageAccounts", &acct));
        ops.push(op(
            &nested,
            format!("{acct_id}/blobServices/default/containers/data"),
            "Microsoft.Storage/storageAccounts/blobServices/containers",
            &format!("{acct}/default/data"),
        ));
    } else {
        let g = format!("{vendor}-{org}");
        let nested = format!("{}/providers/Microsoft.Resources/deployments/vendor-access", rg(&g));
        let p = |t: &str, n: &str| format!("{}/providers/{t}/{n}", rg(&g));
        ops.push(op(dep, rg(&g), "Microsoft.Resources/resourceGroups", &g));
        ops.push(op(dep, nested.clone(), "Microsoft.Resources/deployments", "vendor-access"));
        for (t, n) in [
            ("Microsoft.Network/virtualNetworks", format!("{vendor}-{org}-vnet")),
            ("Microsoft.ManagedIdentity/userAssignedIdentities", format!("{vendor}-{org}-machines")),
            ("Microsoft.KeyVault/vaults", format!("{vendor}-kv-{suffix}")),
            ("Microsoft.ContainerRegistry/registries", format!("{vendor}reg{suffix}")),
            ("Microsoft.Storage/storageAccounts", format!("{vendor}img{suffix}")),
        ] {
            ops.push(op(&nested, p(t, &n), t, &n));
        }
        let role = guid(900);
        ops.push(op(
            &nested,
            format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
            "Microsoft.Authorization/roleDefinitions",
            &role,
        ));
        for i in 0..4 {
            let a = guid(910 + i);
            ops.push(op(
                &nested,
                format!("{}/providers/Microsoft.Authorization/roleAssignments/{a}", rg(&g)),
                "Microsoft.Authorization/roleAssignments",
                &a,
            ));
        }
        let data =
            format!("{}/providers/Microsoft.Resources/deployments/data-access", rg(&format!("{vendor}-{org}-storage")));
        ops.push(op(dep, data.clone(), "Microsoft.Resources/deployments", "data-access"));
        let a = guid(920);
        ops.push(op(
            &data,
            format!("{}/providers/Microsoft.Authorization/roleAssignments/{a}", rg(&format!("{vendor}-{org}-storage"))),
            "Microsoft.Authorization/roleAssignments",
            &a,
        ));
    }
    let _ = stack;
    for o in &mut ops {
        if let Some(e) = s.fail_on.get(&o.name) {
            o.failure = Some(e.clone());
        }
    }
    ops
}

fn put_stack(s: &mut State, name: &str, b: Value) -> ResponseTemplate {
    let sub = s.sub.clone();
    let update = s.stacks.contains_key(name);
    let n = s.next();
    let dep = format!("/subscriptions/{sub}/providers/Microsoft.Resources/deployments/{name}-{n}");
    let mut ops = plan_ops(s, name, &b, &dep);
    // A caller without Microsoft.Authorization writes gets what ARM answers: the role operations
    // fail with AuthorizationFailed.
    if s.not_actions.iter().any(|a| a.eq_ignore_ascii_case("Microsoft.Authorization/*/Write")) {
        for o in ops.iter_mut().filter(|o| o.type_.starts_with("Microsoft.Authorization/role")) {
            o.failure.get_or_insert_with(|| json!({"code": "AuthorizationFailed", "message": format!("The client 'admin@acme.example' with object id '5e1f0000-0000-4000-8000-00000000beef' does not have authorization to perform action '{}/write' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.", o.type_, o.target)}));
        }
    }
    let id = format!("op{n}");
    let mut stack = s.stacks.get(name).cloned().unwrap_or_else(|| {
        json!({"id": format!("/subscriptions/{sub}/providers/Microsoft.Resources/deploymentStacks/{name}"), "name": name,
            "type": "Microsoft.Resources/deploymentStacks", "systemData": {"createdAt": "2026-01-01T10:00:00Z"},
            "properties": {"resources": [], "detachedResources": [], "deletedResources": [], "failedResources": []}})
    });
    stack["location"] = b["location"].clone();
    stack["tags"] = b["tags"].clone();
    for k in ["description", "parameters", "actionOnUnmanage", "denySettings"] {
        stack["properties"][k] = b["properties"][k].clone();
    }
    stack["properties"]["provisioningState"] = json!("initializing");
    stack["properties"]["deploymentId"] = json!(dep);
    stack["properties"].as_object_mut().unwrap().remove("error");
    s.stacks.insert(name.to_string(), stack.clone());
    s.runs.insert(id.clone(), Run { stack: name.into(), ops, progress: 0, update, failed: None, done: false, seq: n });
    s.started.insert(id.clone(), std::time::Instant::now());
    ResponseTemplate::new(if update { 200 } else { 201 })
        .set_body_json(stack)
        .insert_header("Azure-AsyncOperation", op_url(&s.base, &sub, &id).as_str())
        .insert_header("Retry-After", "0")
}

fn op_json(o: &Op, state: &str, update: bool, i: usize) -> Value {
    let mut v = json!({"id": format!("{}/operations/{i:04}", o.deployment), "operationId": format!("{i:04}{}", o.deployment.len()),
        "properties": {"provisioningOperation": "Create", "provisioningState": state, "timestamp": "2026-01-01T10:00:00Z", "duration": "PT1S",
            "statusCode": if state == "Running" { "Accepted" } else if update { "OK" } else { "Created" },
            "targetResource": {"id": o.target, "resourceType": o.type_, "resourceName": o.name}}});
    if state == "Failed" {
        v["properties"]["statusCode"] = json!("Conflict");
        v["properties"]["statusMessage"] =
            json!({"status": "Failed", "error": o.failure.clone().unwrap_or(Value::Null)});
    }
    v
}

/// The operations of `deployment` as revealed so far by the run that owns it.
fn operations(s: &mut State, deployment: &str) -> ResponseTemplate {
    let Some(run) = s.runs.values().filter(|r| r.ops.iter().any(|o| o.deployment == deployment)).max_by_key(|r| r.seq)
    else {
        return not_found("DeploymentNotFound", &format!("Deployment '{deployment}'"));
    };
    // An operation is Running while it is the newest one revealed; a nested deployment's, as in
    // ARM, while any of its own operations is not revealed yet or still running, and Failed when
    // one of them failed.
    let running = |j: usize| j >= run.progress || (j + 1 == run.progress && !run.done);
    fn children<'a>(ops: &'a [Op], target: &'a str) -> impl Iterator<Item = (usize, &'a Op)> + 'a {
        ops.iter().enumerate().filter(move |(_, c)| c.deployment == target)
    }
    let mut items = Vec::new();
    for (i, o) in run.ops.iter().enumerate().take(run.progress) {
        if o.deployment != deployment {
            continue;
        }
        let nested = o.type_.eq_ignore_ascii_case("Microsoft.Resources/deployments");
        let state = if o.failure.is_some()
            || (nested && children(&run.ops, &o.target).any(|(j, c)| j < run.progress && c.failure.is_some()))
        {
            "Failed"
        } else if running(i) || (nested && children(&run.ops, &o.target).any(|(j, _)| running(j))) {
            "Running"
        } else {
            "Succeeded"
        };
        items.push(op_json(o, state, run.update, i));
    }
    // This list is itself a nested deployment's that has finished.
    let finished = run.ops.iter().enumerate().take(run.progress).any(|(i, o)| {
        o.target == deployment && !running(i) && !children(&run.ops, deployment).any(|(j, _)| running(j))
    });
    if finished {
        *s.listed_finished.entry(deployment.to_string()).or_insert(0) += 1;
    }
    reply(200, json!({"value": items}))
}

/// With `operation_time`: the share of the operation's time passed (1.0: done).
fn elapsed_share(s: &State, id: &str) -> Option<f64> {
    let (t, at) = (s.operation_time?, s.started.get(id)?);
    Some(at.elapsed().as_secs_f64() / t.as_secs_f64().max(1e-9))
}

fn poll(s: &mut State, id: &str) -> ResponseTemplate {
    let share = elapsed_share(s, id);
    if let Some((what, left)) = s.deletes.get(id).cloned() {
        let (name, action) = what.split_once('|').unwrap_or((&what, ""));
        let running = share.map_or(left > 0, |f| f < 1.0);
        if running {
            s.deletes.insert(id.into(), (what.clone(), left.saturating_sub(1)));
            return reply(
                200,
                json!({"id": id, "name": id, "status": "InProgress", "startTime": "2026-01-01T10:00:00Z"}),
            );
        }
        finish_delete(s, name, action == "delete");
        return reply(
            200,
            json!({"id": id, "name": id, "status": "Succeeded", "startTime": "2026-01-01T10:00:00Z", "endTime": "2026-01-01T10:01:00Z"}),
        );
    }
    let Some(mut run) = s.runs.get(id).cloned() else {
        return not_found("OperationNotFound", id);
    };
    if !run.done {
        run.progress = match share {
            // Every operation revealed by the end of the time; the last poll settles the run.
            Some(f) => run
                .progress
                .max(((f * run.ops.len() as f64).floor() as usize).min(run.ops.len()) + usize::from(f >= 1.0)),
            None => run.progress + 1,
        };
        let failed_now = run.ops.iter().take(run.progress).find(|o| o.failure.is_some()).cloned();
        if let Some(f) = failed_now {
            run.done = true;
            run.failed = Some(
                json!({"code": "DeploymentFailed", "message": "At least one resource deployment operation failed. Please list deployment operations for details.",
                "details": [{"code": "ResourceDeploymentFailure", "message": format!("The resource operation completed with terminal provisioning state 'Failed'."), "details": [f.failure.clone().unwrap()]}]}),
            );
            finish_stack(s, &run, Some(&f));
        } else if run.progress > run.ops.len() {
            run.done = true;
            finish_stack(s, &run, None);
        } else if let Some(st) = s.stacks.get_mut(&run.stack) {
            st["properties"]["provisioningState"] = json!("deploying");
        }
    }
    let status = match (&run.failed, run.done) {
        (Some(_), _) => "Failed",
        (None, true) => "Succeeded",
        _ => "InProgress",
    };
    let mut b = json!({"id": id, "name": id, "status": status, "startTime": "2026-01-01T10:00:00Z"});
    if let Some(e) = &run.failed {
        b["error"] = e.clone();
    }
    s.runs.insert(id.into(), run);
    reply(200, b)
}

fn finish_stack(s: &mut State, run: &Run, failed: Option<&Op>) {
    let sub = s.sub.clone();
    let Some(mut stack) = s.stacks.get(&run.stack).cloned() else { return };
    let p = stack["properties"].clone();
    let param = |n: &str| p["parameters"][n]["value"].as_str().unwrap_or_default().to_string();
    let (vendor, org, suffix, loc) =
        (param("vendorId"), param("org"), param("suffix"), stack["location"].as_str().unwrap_or_default().to_string());
    let done: Vec<&Op> = run
        .ops
        .iter()
        .take_while(|o| o.failure.is_none())
        .filter(|o| o.type_ != "Microsoft.Resources/deployments")
        .collect();
    let tags = json!({"managed-by": "cloudgrant", "cloudgrant-vendor": vendor, "cloudgrant-org": org});
    for o in &done {
        match o.type_.as_str() {
            "Microsoft.Resources/resourceGroups" => {
                s.groups.insert(o.name.clone(), json!({"id": o.target, "name": o.name, "location": loc, "tags": tags, "properties": {"provisioningState": "Succeeded"}}));
            }
            "Microsoft.KeyVault/vaults" => {
                s.vaults.insert(o.name.clone(), json!({"id": o.target, "name": o.name, "location": loc, "properties": {"enableSoftDelete": true, "softDeleteRetentionInDays": 7, "vaultUri": format!("https://{}.vault.azure.net/", o.name)}}));
            }
            "Microsoft.Storage/storageAccounts" => {
                s.accounts.insert(o.name.clone(), json!({"id": o.target, "name": o.name, "location": loc, "tags": tags, "properties": {"primaryEndpoints": {"blob": format!("https://{}.blob.core.windows.net/", o.name)}, "creationTime": "2026-01-01T10:00:00Z"}}));
            }
            "Microsoft.Authorization/roleAssignments" => {
                // The vendor's assignment names the vendor's principal; the others the machines' identity.
                let principal = if o.name == guid(910) { param("vendorPrincipalId") } else { guid(777) };
                if !s.assignments.iter().any(|a| a.2 == o.target) {
                    s.assignments.push((
                        principal,
                        o.target
                            .rsplit_once("/providers/Microsoft.Authorization")
                            .map(|x| x.0.to_string())
                            .unwrap_or_default(),
                        o.target.clone(),
                    ));
                }
            }
            _ => {}
        }
    }
    stack["properties"]["resources"] = json!(done
        .iter()
        .map(|o| json!({"id": o.target, "status": "managed", "denyStatus": "none"}))
        .collect::<Vec<_>>());
    match failed {
        Some(f) => {
            stack["properties"]["provisioningState"] = json!("failed");
            stack["properties"]["failedResources"] = json!([{"id": f.target, "error": f.failure}]);
            stack["properties"]["error"] = run.failed.clone().unwrap_or(Value::Null);
        }
        None => {
            stack["properties"]["provisioningState"] = json!("succeeded");
            stack["properties"]["failedResources"] = json!([]);
            let out = |v: String| json!({"type": "String", "value": v});
            stack["properties"]["outputs"] = if stack["tags"]["cloudgrant-stack"] == "storage" {
                json!({"resourceGroup": out(format!("{vendor}-{org}-storage")), "dataAccountName": out(format!("{vendor}data{suffix}"))})
            } else {
                let identity = format!("/subscriptions/{sub}/resourceGroups/{vendor}-{org}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{vendor}-{org}-machines");
                json!({"resourceGroup": out(format!("{vendor}-{org}")), "identityClientId": out(guid(778)), "identityId": out(identity),
                    "identityPrincipalId": out(guid(777)), "vaultName": out(format!("{vendor}-kv-{suffix}")), "registryName": out(format!("{vendor}reg{suffix}")),
                    "subnetId": out(format!("/subscriptions/{sub}/resourceGroups/{vendor}-{org}/providers/Microsoft.Network/virtualNetworks/{vendor}-{org}-vnet/subnets/machines"))})
            };
        }
    }
    s.stacks.insert(run.stack.clone(), stack);
}

fn finish_delete(s: &mut State, name: &str, delete_all: bool) {
    let Some(stack) = s.stacks.remove(name) else { return };
    if !delete_all {
        return;
    }
    for r in stack["properties"]["resources"].as_array().into_iter().flatten() {
        let id = r["id"].as_str().unwrap_or_default().to_string();
        let last = id.rsplit('/').next().unwrap_or_default().to_string();
        if id.contains("/resourceGroups/") && id.split('/').count() == 5 {
            s.groups.remove(&last);
        }
        if id.contains("Microsoft.KeyVault/vaults/") {
            if let Some(v) = s.vaults.remove(&last) {
                s.deleted_vaults.insert(last.clone(), json!({"id": format!("/subscriptions/{}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/{last}", s.sub), "name": last,
                    "properties": {"vaultId": v["id"], "location": v["location"], "deletionDate": "2026-01-02T10:00:00Z", "scheduledPurgeDate": "2026-01-09T10:00:00Z", "purgeProtectionEnabled": false, "tags": {}}}));
            }
        }
        if id.contains("Microsoft.Storage/storageAccounts/") && !id.contains("/blobServices/") {
            s.accounts.remove(&last);
        }
        s.assignments.retain(|a| a.2 != id);
    }
}
