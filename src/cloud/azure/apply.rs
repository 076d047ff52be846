//! Creating or updating the install: the vendor's service principal through Microsoft Graph (#4,
//! #5), then the storage stack and the main stack (#13), each polled through its
//! `Azure-AsyncOperation` (#14) and its deployment's operations, nested deployments' included
//! (#15): one event per new operation state, named by the template's logical id. A re-run PUTs the
//! same stacks again: ARM updates them in place and nothing is duplicated.

use futures::future::try_join_all;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::errors::{AzureError, Step};
use super::follow::Followed;
pub(crate) use super::follow::Run;
pub use super::follow::{operation_status, TYPE_STACK};
use super::survey::{stack_path, stack_running, state_is, Survey};
use super::{ApiRequest, Method, Service};
use super::{Azure, Notes, API_STACKS};
use crate::cloud::CloudError;
use crate::model::{Installation, Plan, Status, Update};
use crate::plan::azure::{Spec, StackSpec, MAIN, SERVICE_PRINCIPAL_ID, SERVICE_PRINCIPAL_TYPE};

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
        let found = self.survey_for_apply(&notes, plan, &spec).await?;
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
        let result = self.apply_all(&run, &spec, &found).await;
        match result {
            // The stacks as their deployments settled: not read again.
            Ok((principal, stacks)) => {
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

    /// The stacks of `spec` as they are now, in creation order (read side by side).
    pub(crate) async fn current_stacks(&self, notes: &Notes, spec: &Spec) -> Result<Vec<(String, Value)>, CloudError> {
        let found = try_join_all(spec.stacks.iter().map(|s| self.read_stack(notes, &s.name))).await?;
        Ok(spec.stacks.iter().zip(found).filter_map(|(s, v)| Some((s.key.clone(), v?))).collect())
    }

    /// Returns the service principal as Graph answered it, and the stacks as they settled. The
    /// service principal is made beside the stacks that do not name it (storage); the stacks
    /// that do (main) follow, in the definitions' order, as soon as the operations of the first
    /// say Succeeded: their last reads run beside the next PUT.
    async fn apply_all(
        &self,
        run: &Run,
        spec: &Spec,
        found: &Survey,
    ) -> Result<(Value, Vec<(String, Value)>), CloudError> {
        let main = spec.stacks.iter().find(|s| s.key == MAIN).map_or(spec.main_group.as_str(), |s| s.name.as_str());
        // Sent once every independent stack's operation said Succeeded; dropped unsent otherwise.
        let (ready, started) = futures::channel::oneshot::channel::<()>();
        let independent = async move {
            let mut done = Vec::new();
            let mut all_succeeded = true;
            for stack in spec.stacks.iter().filter(|s| !s.needs_principal) {
                if run.cancel.is_cancelled() {
                    return Err(CloudError::Cancelled);
                }
                let s = self.start_stack(run, spec, stack, None, found.stack(&stack.key).is_some()).await?;
                all_succeeded = s.followed.succeeded();
                done.push(s);
                if !all_succeeded {
                    break;
                }
            }
            if all_succeeded {
                // The receiver is gone only when the principal failed: that error is reported.
                let _ = ready.send(());
            } else {
                drop(ready);
            }
            let settled = try_join_all(done.into_iter().map(|s| {
                let key = s.stack.key.clone();
                async move { Ok::<_, CloudError>((key, self.finish_stack(run, s).await?)) }
            }))
            .await?;
            Ok::<_, CloudError>(settled)
        };
        let dependent = async {
            let principal = self.ensure_service_principal(run, main).await?;
            let object_id = principal["id"].as_str().map(String::from).ok_or_else(|| {
                CloudError::failed(
                    format!("Microsoft Graph answered the vendor's service principal without an `id`: {principal}"),
                    "This is not the answer Graph documents; run again, and report it if it repeats.",
                )
            })?;
            if started.await.is_err() {
                // An independent stack failed: its error is the answer; nothing more is made.
                return Ok((principal, Vec::new()));
            }
            let mut out = Vec::new();
            for stack in spec.stacks.iter().filter(|s| s.needs_principal) {
                if run.cancel.is_cancelled() {
                    return Err(CloudError::Cancelled);
                }
                let s = self
                    .deploy_stack(run, spec, stack, Some(object_id.as_str()), found.stack(&stack.key).is_some())
                    .await?;
                out.push((stack.key.clone(), s));
            }
            Ok::<_, CloudError>((principal, out))
        };
        let (independent, dependent) = futures::join!(independent, dependent);
        let (principal, dependents) = dependent?;
        let mut settled = independent?;
        settled.extend(dependents);
        // In creation order, as `current_stacks` gives them.
        settled.sort_by_key(|(key, _)| spec.stacks.iter().position(|s| &s.key == key));
        Ok((principal, settled))
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

    /// PUT one stack (#13) and follow it until it settles; returns the stack as it settled.
    async fn deploy_stack(
        &self,
        run: &Run,
        spec: &Spec,
        stack: &StackSpec,
        principal: Option<&str>,
        existed: bool,
    ) -> Result<Value, CloudError> {
        let started = self.start_stack(run, spec, stack, principal, existed).await?;
        self.finish_stack(run, started).await
    }

    /// PUT one stack (#13) and follow it until its operation says it is done.
    async fn start_stack<'a>(
        &self,
        run: &Run,
        spec: &Spec,
        stack: &'a StackSpec,
        principal: Option<&str>,
        existed: bool,
    ) -> Result<Started<'a>, CloudError> {
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
        match self.follow_stack(run, stack, operation.as_deref(), r.body, r.retry_after).await {
            Ok(followed) => Ok(Started { stack, followed, step, path, ok, failed }),
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
                Err(CloudError::Cancelled)
            }
            Err(e) => {
                run.group_event(name, Some(&path), failed, format!("{e}. Fix: {}", e.next_step())).await;
                Err(e)
            }
        }
    }

    /// Settle a stack whose operation is done (its last read and operations lists) and say how
    /// it ended; returns the stack as it settled.
    async fn finish_stack(&self, run: &Run, started: Started<'_>) -> Result<Value, CloudError> {
        let Started { stack, followed, step, path, ok, failed } = started;
        let name = &stack.name;
        let (op, settled) = match self.settle_stack(run, stack, followed).await {
            Ok(x) => x,
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
            return Ok(settled);
        }
        let e = self.root_cause(run, stack, &settled, op.as_ref(), &step);
        run.group_event(name, Some(&path), failed, format!("{e}. Fix: {}", e.next_step())).await;
        Err(e)
    }
}

/// A stack whose PUT was answered and whose operation is done, before its last read.
struct Started<'a> {
    stack: &'a StackSpec,
    followed: Followed,
    step: Step,
    path: String,
    ok: Status,
    failed: Status,
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
