//! Creating or updating the install: the vendor's service principal through Microsoft Graph (#4,
//! #5), then the storage stack and the main stack (#13), each polled through its
//! `Azure-AsyncOperation` (#14) and its deployment's operations, nested deployments' included
//! (#15): one event per new operation state, named by the template's logical id. A re-run PUTs the
//! same stacks again: ARM updates them in place and nothing is duplicated.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::errors::{AzureError, Step};
use super::survey::{stack_path, stack_running, state_is, Survey};
use super::{ApiRequest, Method, Service};
use super::{Azure, Notes, API_RESOURCES, API_STACKS};
use crate::cloud::CloudError;
use crate::model::{Event, Installation, Plan, Status, Update};
use crate::plan::azure::{Spec, StackSpec, MAIN, SERVICE_PRINCIPAL_ID, SERVICE_PRINCIPAL_TYPE};

/// The type group-level events carry.
pub const TYPE_STACK: &str = "Microsoft.Resources/deploymentStacks";
const TYPE_DEPLOYMENT: &str = "Microsoft.Resources/deployments";
/// Nested deployments are followed this deep.
const MAX_NESTING: usize = 4;

/// `(type, name)` of an ARM resource id: `…/providers/Microsoft.KeyVault/vaults/kv` →
/// (`Microsoft.KeyVault/vaults`, `kv`); child resources join their names with `/`; a resource
/// group id gives `Microsoft.Resources/resourceGroups`.
pub fn type_and_name(id: &str) -> Option<(String, String)> {
    let lower = id.to_ascii_lowercase();
    if let Some(at) = lower.rfind("/providers/") {
        let rest = &id[at + "/providers/".len()..];
        let mut parts = rest.split('/').filter(|p| !p.is_empty());
        let namespace = parts.next()?;
        let segs: Vec<&str> = parts.collect();
        if segs.len() < 2 || !segs.len().is_multiple_of(2) {
            return None;
        }
        let types: Vec<&str> = segs.iter().step_by(2).copied().collect();
        let names: Vec<&str> = segs.iter().skip(1).step_by(2).copied().collect();
        return Some((format!("{namespace}/{}", types.join("/")), names.join("/")));
    }
    let segs: Vec<&str> = id.split('/').filter(|p| !p.is_empty()).collect();
    match segs.as_slice() {
        [s, _, g, name] if s.eq_ignore_ascii_case("subscriptions") && g.eq_ignore_ascii_case("resourceGroups") => {
            Some(("Microsoft.Resources/resourceGroups".into(), (*name).to_string()))
        }
        _ => None,
    }
}

/// An operation's state as an event status; `None` for operations that change nothing (Read,
/// EvaluateDeploymentOutput) or have no target.
pub fn operation_status(op: &Value, rerun: bool) -> Option<Status> {
    let p = &op["properties"];
    p["targetResource"]["resourceType"].as_str()?;
    let state = p["provisioningState"].as_str().unwrap_or_default().to_ascii_lowercase();
    let operation = p["provisioningOperation"].as_str().unwrap_or_default().to_ascii_lowercase();
    let (running, done, failed) = match operation.as_str() {
        "create" | "action" if rerun => (Status::UpdateInProgress, Status::UpdateComplete, Status::UpdateFailed),
        "create" | "action" => (Status::CreateInProgress, Status::CreateComplete, Status::CreateFailed),
        "delete" => (Status::DeleteInProgress, Status::DeleteComplete, Status::DeleteFailed),
        _ => return None,
    };
    Some(match state.as_str() {
        "succeeded" => done,
        "failed" | "canceled" => failed,
        _ => running,
    })
}

/// One running apply: events, notes, and the operations seen so far.
pub(crate) struct Run {
    pub notes: Notes,
    pub cancel: CancellationToken,
    pub rerun: bool,
    /// operation id → the last status sent.
    seen: BTreeMap<String, Status>,
    /// Failed operations' errors, as (logical id, resource type, error), in the order seen.
    failures: Vec<(String, String, AzureError)>,
    /// Deployments whose operations could not be listed (said once each).
    unlisted: std::collections::BTreeSet<String>,
}

impl Run {
    pub fn new(tx: &mpsc::Sender<Update>, cancel: CancellationToken) -> Run {
        Run {
            notes: Notes::to(tx),
            cancel,
            rerun: false,
            seen: BTreeMap::new(),
            failures: Vec::new(),
            unlisted: Default::default(),
        }
    }

    pub async fn event(
        &self,
        group: &str,
        resource: &str,
        type_: &str,
        status: Status,
        reason: Option<String>,
        physical: Option<String>,
    ) {
        self.notes
            .send(Update::Event(Event {
                time: Utc::now(),
                group: group.to_string(),
                resource: resource.to_string(),
                resource_type: type_.to_string(),
                status,
                reason,
                physical_id: physical,
            }))
            .await;
    }

    pub async fn group_event(&self, group: &str, id: Option<&str>, status: Status, reason: String) {
        self.event(group, group, TYPE_STACK, status, Some(reason), id.map(String::from)).await;
    }

    /// Wait one interval, or stop on cancel.
    pub async fn pause(&self, interval: std::time::Duration) -> Result<(), CloudError> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(CloudError::Cancelled),
            _ = tokio::time::sleep(interval) => Ok(()),
        }
    }
}

impl Azure {
    /// Create or update everything in `plan`; sends events and a final [`Update::Applied`].
    pub async fn apply(
        &self,
        plan: &Plan,
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<Installation, CloudError> {
        let spec = self.spec_for_plan(plan)?;
        let notes = Notes::to(&tx);
        let found = self.survey(&notes, &spec).await?;
        let mut run = Run::new(&tx, cancel);
        run.rerun = found.anything();
        if run.rerun {
            notes
                .log(format!(
                    "the install of {} exists: its stacks are updated in place (suffix {})",
                    plan.org, spec.suffix
                ))
                .await;
        }
        let result = self.apply_all(&mut run, &spec, &found).await;
        match result {
            Ok(principal) => {
                let stacks = self.current_stacks(&notes, &spec).await?;
                let mut inst = self.installation_of(&spec.org, &spec.location, &stacks, Some(&principal), None);
                inst.install_id = spec.install_id();
                self.assess(&mut inst);
                notes.send(Update::Applied { installation: inst.clone(), ok: true, root_cause: None }).await;
                Ok(inst)
            }
            Err(CloudError::Cancelled) => Err(CloudError::Cancelled),
            Err(e) => {
                let cause = format!("{e}. Fix: {}", e.next_step());
                let stacks = self.current_stacks(&Notes::default(), &spec).await.unwrap_or_default();
                let principal = self.find_service_principal(&Notes::default()).await.ok().flatten();
                let mut inst =
                    self.installation_of(&spec.org, &spec.location, &stacks, principal.as_ref(), Some(&cause));
                inst.install_id = spec.install_id();
                self.assess(&mut inst);
                if inst.groups.is_empty() {
                    inst.outputs.retain(|k, _| k == "SubscriptionId" || k == "TenantId");
                }
                notes.send(Update::Applied { installation: inst, ok: false, root_cause: Some(cause) }).await;
                Err(e)
            }
        }
    }

    /// The stacks of `spec` as they are now, in creation order.
    pub(crate) async fn current_stacks(&self, notes: &Notes, spec: &Spec) -> Result<Vec<(String, Value)>, CloudError> {
        let mut out = Vec::new();
        for s in &spec.stacks {
            if let Some(v) = self.read_stack(notes, &s.name).await? {
                out.push((s.key.clone(), v));
            }
        }
        Ok(out)
    }

    /// Returns the service principal as Graph answered it.
    async fn apply_all(&self, run: &mut Run, spec: &Spec, found: &Survey) -> Result<Value, CloudError> {
        let main = spec.stacks.iter().find(|s| s.key == MAIN).map_or(spec.main_group.as_str(), |s| s.name.as_str());
        let principal = self.ensure_service_principal(run, main).await?;
        let object_id = principal["id"].as_str().map(String::from).ok_or_else(|| {
            CloudError::failed(
                format!("Microsoft Graph answered the vendor's service principal without an `id`: {principal}"),
                "This is not the answer Graph documents; run again, and report it if it repeats.",
            )
        })?;
        for stack in &spec.stacks {
            if run.cancel.is_cancelled() {
                return Err(CloudError::Cancelled);
            }
            let id = stack.needs_principal.then_some(object_id.as_str());
            self.deploy_stack(run, spec, stack, id, found.stack(&stack.key).is_some()).await?;
        }
        Ok(principal)
    }

    /// #4: the vendor's service principal in this tenant, where it exists.
    pub(crate) async fn find_service_principal(&self, notes: &Notes) -> Result<Option<Value>, CloudError> {
        let app = &self.inner.vendor.azure.app_id;
        let req = ApiRequest::new(Service::Graph, Method::Get, format!("/v1.0/servicePrincipals(appId='{app}')"));
        self.get_opt(notes, &format!("read the vendor's service principal (app id {app})"), req).await
    }

    /// #4, else #5 (409: made meanwhile: read and reuse).
    async fn ensure_service_principal(&self, run: &Run, group: &str) -> Result<Value, CloudError> {
        let app = self.inner.vendor.azure.app_id.clone();
        let event = |status: Status, reason: String, physical: Option<String>| {
            run.event(group, SERVICE_PRINCIPAL_ID, SERVICE_PRINCIPAL_TYPE, status, Some(reason), physical)
        };
        if let Some(sp) = self.find_service_principal(&run.notes).await? {
            let id = sp["id"].as_str().map(String::from);
            let status = if run.rerun { Status::UpdateComplete } else { Status::CreateComplete };
            event(status, format!("exists in your tenant (object id {}): reused", id.as_deref().unwrap_or("?")), id)
                .await;
            return Ok(sp);
        }
        event(
            Status::CreateInProgress,
            format!("creating the vendor's service principal for app id {app} in your tenant"),
            None,
        )
        .await;
        let req = ApiRequest::new(Service::Graph, Method::Post, "/v1.0/servicePrincipals").body(json!({"appId": app}));
        let step = self.step(&format!("create the vendor's service principal (app id {app})"), &req);
        let r = self.call(&run.notes, &step, req).await?;
        let (sp, reason) = if r.status == 409 {
            match self.find_service_principal(&run.notes).await? {
                Some(sp) => (sp, "exists already (made meanwhile): reused"),
                None => {
                    let e = CloudError::failed(
                        format!("{}: Graph answered 409 (exists) but reading it answers 404", step.what),
                        "Microsoft Entra ID is eventually consistent: wait a minute and run again (it reuses what exists).",
                    );
                    event(Status::CreateFailed, format!("{e}"), None).await;
                    return Err(e);
                }
            }
        } else if r.is_success() {
            (r.body, "created")
        } else {
            let mut e = self.error(&step, &r);
            if r.status == 400 && AzureError::parse(&r).has_code("Request_BadRequest") {
                e = CloudError::failed(
                    e.to_string(),
                    format!("The vendor's app id {app} names no multi-tenant application Microsoft Entra ID knows; ask the vendor for the right app id (vendor profile: azure.app_id)."),
                );
            }
            event(Status::CreateFailed, format!("{e}. Fix: {}", e.next_step()), None).await;
            return Err(e);
        };
        let id = sp["id"].as_str().map(String::from);
        event(Status::CreateComplete, format!("{reason} (object id {})", id.as_deref().unwrap_or("?")), id).await;
        Ok(sp)
    }

    /// PUT one stack (#13) and follow it until it settles.
    async fn deploy_stack(
        &self,
        run: &mut Run,
        spec: &Spec,
        stack: &StackSpec,
        principal: Option<&str>,
        existed: bool,
    ) -> Result<(), CloudError> {
        let name = &stack.name;
        let (start, ok, failed) = if existed {
            (Status::UpdateInProgress, Status::UpdateComplete, Status::UpdateFailed)
        } else {
            (Status::CreateInProgress, Status::CreateComplete, Status::CreateFailed)
        };
        let path = stack_path(self.sub(), name);
        let what = if existed { "updating in place" } else { "creating" };
        run.group_event(name, Some(&path), start, format!("{what}: deployment stack {name} ({})", stack.title)).await;
        let req =
            ApiRequest::arm(Method::Put, path.clone(), API_STACKS).body(stack.request_body(&spec.location, principal));
        let step = self.step(&format!("deploy stack {name}"), &req);
        let r = self.call(&run.notes, &step, req).await?;
        if !r.is_success() {
            let e = self.error(&step, &r);
            run.group_event(name, Some(&path), failed, format!("{e}. Fix: {}", e.next_step())).await;
            return Err(e);
        }
        run.notes
            .log(format!(
                "PUT {name}: Azure answered {} ({})",
                r.status,
                if r.status == 201 { "a new stack" } else { "the stack is updated" }
            ))
            .await;
        let operation = r.async_operation.clone().or_else(|| r.location.clone());
        let (op, settled) = match self.follow_stack(run, stack, operation.as_deref(), r.body).await {
            Ok(x) => x,
            Err(CloudError::Cancelled) => {
                let state = self
                    .read_stack(&Notes::default(), name)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|s| s["properties"]["provisioningState"].as_str().map(String::from))
                    .unwrap_or_else(|| "unknown".into());
                run.notes
                    .log(format!("stopped watching: deployment stack {name} is still {state} in Azure and carries on without cloudgrant; follow it with `az stack sub show --name {name}` or `cloudgrant status`, then run init again to finish"))
                    .await;
                return Err(CloudError::Cancelled);
            }
            Err(e) => {
                run.group_event(name, Some(&path), failed, format!("{e}. Fix: {}", e.next_step())).await;
                return Err(e);
            }
        };
        let state = settled["properties"]["provisioningState"].as_str().unwrap_or_default().to_string();
        let op_status = op.as_ref().and_then(|o| o["status"].as_str()).unwrap_or_default().to_string();
        let succeeded = match op_status.to_ascii_lowercase().as_str() {
            "failed" | "canceled" => false,
            "succeeded" => state_is(&state, "succeeded") || stack_running(&state),
            _ => state_is(&state, "succeeded"),
        };
        if succeeded {
            let n = super::survey::managed_ids(&settled).len();
            run.group_event(name, Some(&path), ok, format!("{n} resources managed by the stack")).await;
            return Ok(());
        }
        let e = self.root_cause(run, stack, &settled, op.as_ref(), &step);
        run.group_event(name, Some(&path), failed, format!("{e}. Fix: {}", e.next_step())).await;
        Err(e)
    }

    /// Poll the async operation (#14), the stack (#12) and its deployment's operations (#15) until
    /// the operation (or, without one, the stack) settles. Returns the operation's last answer and
    /// the stack.
    async fn follow_stack(
        &self,
        run: &mut Run,
        stack: &StackSpec,
        operation: Option<&str>,
        first: Value,
    ) -> Result<(Option<Value>, Value), CloudError> {
        let mut current = first;
        let started = std::time::Instant::now();
        loop {
            if started.elapsed() >= crate::cloud::common::deadline() {
                let state = current["properties"]["provisioningState"].as_str().unwrap_or("running");
                return Err(crate::cloud::common::deadline_passed(
                    &format!("deployment stack {}", stack.name),
                    state,
                    &format!("az stack sub show --name {} --query properties.provisioningState", stack.name),
                ));
            }
            run.pause(self.inner.options.poll_interval).await?;
            let mut op = None;
            if let Some(url) = operation {
                let probe = Step { what: format!("follow stack {}", stack.name), call: format!("GET {url}") };
                let req = self.follow(&probe, url)?;
                let step = self.step(&format!("follow the operation of stack {}", stack.name), &req);
                let r = self.call(&run.notes, &step, req).await?;
                op = Some(self.ok(&step, r)?);
            }
            if let Some(s) = self.read_stack(&run.notes, &stack.name).await? {
                current = s;
            }
            if let Some(dep) = current["properties"]["deploymentId"].as_str().map(String::from) {
                self.report_operations(run, stack, &dep, 0).await?;
            }
            let state = current["properties"]["provisioningState"].as_str().unwrap_or_default();
            // The async operation is the authority where there is one; the stack otherwise.
            let done = match op.as_ref().and_then(|o| o["status"].as_str()) {
                Some(s) => !s.is_empty() && !stack_running(s),
                None => !stack_running(state),
            };
            if done {
                return Ok((op, current));
            }
        }
    }

    /// #15 for one deployment, and for every nested deployment it runs: one event per new
    /// operation state.
    fn report_operations<'a>(
        &'a self,
        run: &'a mut Run,
        stack: &'a StackSpec,
        deployment: &'a str,
        depth: usize,
    ) -> futures::future::BoxFuture<'a, Result<(), CloudError>> {
        Box::pin(async move {
            let req = ApiRequest::arm(Method::Get, format!("{deployment}/operations"), API_RESOURCES);
            let ops = match self.list_all(&run.notes, &format!("list the operations of {deployment}"), req).await {
                Ok(ops) => ops,
                // ARM makes a deployment a moment after naming it; the stack's own state still
                // says how the deployment goes, so a list that cannot be read is only noted.
                Err(e) => {
                    if depth > 0 && run.unlisted.insert(deployment.to_string()) {
                        run.notes
                            .log(format!(
                                "the operations of {deployment} cannot be listed yet ({e}); following the stack"
                            ))
                            .await;
                    }
                    return Ok(());
                }
            };
            for op in &ops {
                let p = &op["properties"];
                let target = &p["targetResource"];
                let type_ = target["resourceType"].as_str().unwrap_or_default().to_string();
                let name = target["resourceName"].as_str().unwrap_or_default().to_string();
                let key = op["id"].as_str().or_else(|| op["operationId"].as_str()).unwrap_or_default().to_string();
                if let Some(status) = operation_status(op, run.rerun) {
                    if run.seen.get(&key) != Some(&status) {
                        run.seen.insert(key.clone(), status);
                        let logical = target["id"]
                            .as_str()
                            .and_then(|id| stack.logical_id_of(id))
                            .or_else(|| stack.logical_id(&type_, &name))
                            .map_or_else(|| name.clone(), String::from);
                        let code = p["statusCode"].as_str().unwrap_or_default();
                        let reason = if status.is_failure() {
                            let e = AzureError::from_error(0, &p["statusMessage"]["error"]);
                            run.failures.push((logical.clone(), type_.clone(), e.clone()));
                            format!("{code}: {}", e.summary())
                        } else if status.is_in_progress() {
                            format!("{} {type_} {name}", p["provisioningOperation"].as_str().unwrap_or("Create"))
                        } else if code.is_empty() {
                            "done".to_string()
                        } else {
                            format!("done ({code})")
                        };
                        let physical = target["id"].as_str().map(String::from);
                        run.event(&stack.name, &logical, &type_, status, Some(reason), physical).await;
                    }
                }
                if type_.eq_ignore_ascii_case(TYPE_DEPLOYMENT) && depth < MAX_NESTING {
                    if let Some(id) = target["id"].as_str() {
                        self.report_operations(run, stack, id, depth + 1).await?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Why a stack failed: the deepest failed resource operation, else the stack's error, else
    /// the async operation's; named by logical id, with the fix for its code.
    fn root_cause(&self, run: &Run, stack: &StackSpec, settled: &Value, op: Option<&Value>, step: &Step) -> CloudError {
        let resource = run
            .failures
            .iter()
            .rev()
            .find(|(_, t, _)| !t.eq_ignore_ascii_case(TYPE_DEPLOYMENT))
            .or_else(|| run.failures.last());
        let state = settled["properties"]["provisioningState"].as_str().unwrap_or("Failed");
        if let Some((logical, type_, e)) = resource {
            let at = Step {
                what: format!("deployment stack {} ({state}): {logical} ({type_})", stack.name),
                call: step.call.clone(),
            };
            return super::errors::azure_error(&at, e, self.sub());
        }
        let error = [&settled["properties"]["error"], op.map_or(&Value::Null, |o| &o["error"])]
            .into_iter()
            .find(|e| e.is_object())
            .cloned();
        match error {
            Some(e) => {
                let at = Step { what: format!("deployment stack {} ({state})", stack.name), call: step.call.clone() };
                super::errors::azure_error(&at, &AzureError::from_error(0, &e), self.sub())
            }
            None => CloudError::failed(
                format!("deployment stack {} ended {state} without an error message", stack.name),
                format!("Look at the stack in the Azure portal (Deployment stacks) or `az stack sub show --name {}`, then run init again.", stack.name),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_give_type_and_name() {
        let t = |id: &str| type_and_name(id).map(|(a, b)| format!("{a} {b}"));
        assert_eq!(
            t("/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv").as_deref(),
            Some("Microsoft.KeyVault/vaults kv")
        );
        assert_eq!(
            t("/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/data").as_deref(),
            Some("Microsoft.Storage/storageAccounts/blobServices/containers a/default/data")
        );
        assert_eq!(
            t("/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Authorization/roleAssignments/r1").as_deref(),
            Some("Microsoft.Authorization/roleAssignments r1")
        );
        assert_eq!(t("/subscriptions/s/resourceGroups/g").as_deref(), Some("Microsoft.Resources/resourceGroups g"));
        assert_eq!(t("nonsense"), None);
    }

    #[test]
    fn operations_map_to_statuses() {
        let op = |o: &str, s: &str| json!({"properties": {"provisioningOperation": o, "provisioningState": s, "targetResource": {"resourceType": "Microsoft.KeyVault/vaults"}}});
        assert_eq!(operation_status(&op("Create", "Running"), false), Some(Status::CreateInProgress));
        assert_eq!(operation_status(&op("Create", "Succeeded"), true), Some(Status::UpdateComplete));
        assert_eq!(operation_status(&op("Create", "Failed"), false), Some(Status::CreateFailed));
        assert_eq!(operation_status(&op("Delete", "Succeeded"), false), Some(Status::DeleteComplete));
        assert_eq!(operation_status(&op("Read", "Succeeded"), false), None);
        assert_eq!(
            operation_status(&json!({"properties": {"provisioningOperation": "EvaluateDeploymentOutput"}}), false),
            None
        );
    }
}
