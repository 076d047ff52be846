//! Revoke: the main stack first, deleted with everything it manages (the vendor's role
//! assignment and role, the machines and their access: the vendor's access ends first); then the
//! storage stack, detached only, so your data account stays; the vendor's service principal only
//! when asked. Then the subscription is read again: no role assignment left for the vendor or the
//! machines' identity, the Key Vault soft-deleted with its purge date, the data account there.

use chrono::{Duration as Days, Utc};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::apply::{type_and_name, Run};
use super::errors::AzureError;
use super::follow::poll_wait;
use super::survey::{stack_path, state_is};
use super::{ApiRequest, Azure, Method, Notes, Service, API_AUTHORIZATION, API_KEYVAULT, API_STACKS, API_STORAGE};
use crate::cloud::CloudError;
use crate::model::{
    Cloud, Installation, Residue, ResidueItem, RevokeGroup, RevokeItem, RevokeOutcome, RevokePlan, Status, Update,
};
use crate::plan::azure::{Fate, SERVICE_PRINCIPAL_ID, SERVICE_PRINCIPAL_TYPE};

const TYPE_VAULT: &str = "Microsoft.KeyVault/vaults";
const TYPE_ROLE_ASSIGNMENT: &str = "Microsoft.Authorization/roleAssignments";
const TYPE_ROLE_DEFINITION: &str = "Microsoft.Authorization/roleDefinitions";
const TYPE_STORAGE_ACCOUNT: &str = "Microsoft.Storage/storageAccounts";
/// Key Vault's default soft-delete retention, when the vault cannot be read.
const DEFAULT_RETENTION_DAYS: i64 = 90;

mod verify;

const SP_KEPT: &str = "the vendor's service principal stays in your tenant: once the main stack is gone it holds no role in this subscription, and other installs of this vendor may use it. To remove it too: revoke with --delete-service-principal";

/// Ask an Azure revoke to delete the vendor's service principal too (kept by default): its item
/// goes from `Kept` to `Deleted`, and the warning says so. Returns its object id (`None` when the
/// plan has no kept service principal). Only for Azure plans.
pub fn delete_service_principal(plan: &mut RevokePlan) -> Option<String> {
    if plan.installation.cloud != Cloud::Azure {
        return None;
    }
    let mut out = None;
    for g in &mut plan.groups {
        for item in g.resources.iter_mut().filter(|i| i.type_ == SERVICE_PRINCIPAL_TYPE) {
            if matches!(item.outcome, RevokeOutcome::Kept { .. }) {
                item.outcome = RevokeOutcome::Deleted;
                out = item.physical_id.clone();
            }
        }
    }
    if let Some(id) = &out {
        plan.warnings.retain(|w| !w.starts_with("The vendor's service principal"));
        plan.warnings.push(format!(
            "The vendor's service principal (object id {id}) will be deleted from your tenant, as asked, after the main stack. Any other install of this vendor in this tenant loses its access with it; a later init creates it again."
        ));
    }
    out
}

/// Order within the main group: access first (role assignments, then roles), the service
/// principal last.
fn rank(type_: &str) -> u8 {
    match type_ {
        TYPE_ROLE_ASSIGNMENT => 0,
        TYPE_ROLE_DEFINITION => 1,
        SERVICE_PRINCIPAL_TYPE => 3,
        _ => 2,
    }
}

impl Azure {
    fn check_install(&self, installation: &Installation) -> Result<(), CloudError> {
        if installation.cloud != Cloud::Azure || installation.account != self.sub() {
            return Err(CloudError::failed(
                format!(
                    "this install is in {} {}, not Azure subscription {}",
                    installation.cloud.title(),
                    installation.account,
                    self.sub()
                ),
                "Connect to the subscription the install is in and run revoke again.",
            ));
        }
        Ok(())
    }

    /// #10: the vendor's vault, where it exists.
    async fn read_vault(&self, notes: &Notes, group: &str, name: &str) -> Result<Option<Value>, CloudError> {
        let req = ApiRequest::arm(
            Method::Get,
            format!("/subscriptions/{}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{name}", self.sub()),
            API_KEYVAULT,
        );
        self.get_opt(notes, &format!("read Key Vault {name}"), req).await
    }

    /// #18: the data account, where it exists.
    async fn read_account(&self, notes: &Notes, group: &str, name: &str) -> Result<Option<Value>, CloudError> {
        let req = ApiRequest::arm(
            Method::Get,
            format!(
                "/subscriptions/{}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{name}",
                self.sub()
            ),
            API_STORAGE,
        );
        self.get_opt(notes, &format!("read storage account {name}"), req).await
    }

    /// #17: role assignments held by `principal` in the subscription.
    async fn assignments_of(&self, notes: &Notes, principal: &str) -> Result<Vec<Value>, CloudError> {
        let req = ApiRequest::arm(
            Method::Get,
            format!("/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments", self.sub()),
            API_AUTHORIZATION,
        )
        .query("$filter", format!("principalId eq '{principal}'"));
        self.list_all(notes, &format!("list the role assignments of {principal}"), req).await
    }

    /// The key of the pack's first stack with `fate` (its templates' `metadata.cloudgrant.fate`):
    /// revoke deletes that stack first (the vendor's access), then detaches the kept one.
    fn first_of(&self, fate: Fate) -> String {
        self.stack_keys().into_iter().find(|(_, f)| *f == fate).map(|(k, _)| k).unwrap_or_default()
    }

    /// What revoke will do to each resource, read from the subscription before anything is asked.
    pub async fn revoke_plan(&self, installation: &Installation) -> Result<RevokePlan, CloudError> {
        self.check_install(installation)?;
        let notes = Notes::default();
        let today = Utc::now().date_naive();
        let mut groups = Vec::new();
        if installation.groups.is_empty() {
            return Err(crate::cloud::common::nothing_to_revoke(installation));
        }
        let mut warnings: Vec<String> = installation.strangers.iter().map(|s| s.line()).collect();
        if let Some(g) = installation.group(&self.first_of(Fate::Delete)) {
            warnings.push(format!(
                "The vendor's access ends first: the main stack {} is deleted with everything it manages, its role assignment and custom role included.",
                g.name
            ));
            let mut items = Vec::new();
            let mut resources: Vec<_> = g.resources.iter().filter(|r| r.status != Status::DeleteComplete).collect();
            resources.sort_by_key(|r| rank(&r.type_));
            for r in resources {
                let outcome = match r.type_.as_str() {
                    SERVICE_PRINCIPAL_TYPE => {
                        warnings.push(format!("The vendor's service principal (object id {}) is kept in your tenant; it holds no role here once the main stack is gone. `cloudgrant revoke --delete-service-principal` removes it too.", r.physical_id.as_deref().unwrap_or("?")));
                        RevokeOutcome::Kept { reason: SP_KEPT.into() }
                    }
                    TYPE_VAULT => {
                        let name = r.physical_id.as_deref().and_then(type_and_name).map(|(_, n)| n).unwrap_or_default();
                        let vault = self.read_vault(&notes, &g.name, &name).await?;
                        if vault.is_none() {
                            // Never made (a failed deployment) or gone already: nothing to keep.
                            items.push(RevokeItem {
                                id: r.id.clone(),
                                type_: r.type_.clone(),
                                physical_id: r.physical_id.clone(),
                                outcome: RevokeOutcome::Deleted,
                            });
                            continue;
                        }
                        let p = vault.as_ref().map(|v| &v["properties"]);
                        let days =
                            p.and_then(|p| p["softDeleteRetentionInDays"].as_i64()).unwrap_or(DEFAULT_RETENTION_DAYS);
                        let protected = p.is_some_and(|p| p["enablePurgeProtection"].as_bool() == Some(true));
                        let location = vault
                            .as_ref()
                            .and_then(|v| v["location"].as_str())
                            .unwrap_or(&installation.region)
                            .to_string();
                        let purge = if protected {
                            format!("purge protection is on: it cannot be purged before then, and its name {name} stays reserved until Azure purges it")
                        } else {
                            format!("purge protection is off; its name {name} stays reserved until it is purged: `az keyvault purge --name {name} --location {location}`")
                        };
                        warnings.push(format!(
                            "The Key Vault {name} is soft-deleted: recoverable for {days} days (`az keyvault recover --name {name}`), then purged by Azure; {purge}. Its secrets go with it."
                        ));
                        RevokeOutcome::SoftDeleted {
                            until: Some(today + Days::days(days)),
                            note: format!("recoverable for {days} days; {purge}"),
                        }
                    }
                    _ => RevokeOutcome::Deleted,
                };
                items.push(RevokeItem {
                    id: r.id.clone(),
                    type_: r.type_.clone(),
                    physical_id: r.physical_id.clone(),
                    outcome,
                });
            }
            groups.push(RevokeGroup { key: g.key.clone(), name: g.name.clone(), id: g.id.clone(), resources: items });
        }
        if let Some(g) = installation.group(&self.first_of(Fate::Detach)) {
            // The data account: the storage account the detached stack manages.
            let account = g
                .resources
                .iter()
                .find(|r| r.type_ == TYPE_STORAGE_ACCOUNT)
                .and_then(|r| r.physical_id.as_deref().and_then(type_and_name))
                .map(|(_, n)| n)
                .unwrap_or_default();
            let mut items = Vec::new();
            for r in g.resources.iter() {
                let name = r.physical_id.as_deref().and_then(type_and_name).map(|(_, n)| n).unwrap_or_default();
                let reason = match r.type_.as_str() {
                    TYPE_STORAGE_ACCOUNT => format!("your data stays: storage account {name} is kept with everything in it; revoke only detaches the stack. The machines' access to it is deleted with the main stack"),
                    "Microsoft.Resources/resourceGroups" => format!("resource group {name} stays: it holds your data account; revoke only detaches the stack"),
                    _ => format!("{name} stays with your data; revoke only detaches the stack"),
                };
                let outcome = if r.type_ == crate::plan::azure::TYPE_DEPLOYMENT {
                    RevokeOutcome::Detached {
                        reason: format!("{name}: the stack lets go of it; a deployment record holds no data"),
                    }
                } else {
                    RevokeOutcome::Kept { reason }
                };
                items.push(RevokeItem {
                    id: r.id.clone(),
                    type_: r.type_.clone(),
                    physical_id: r.physical_id.clone(),
                    outcome,
                });
            }
            if !account.is_empty() {
                warnings.push(format!(
                    "The data storage account {account} is kept with your data (resource group {}); revoke only detaches its stack {}. Delete it yourself when you no longer need the data: `az storage account delete --name {account} --resource-group {}`.",
                    g.outputs.get("resourceGroup").map_or(g.name.as_str(), String::as_str),
                    g.name,
                    g.outputs.get("resourceGroup").map_or(g.name.as_str(), String::as_str),
                ));
            }
            groups.push(RevokeGroup { key: g.key.clone(), name: g.name.clone(), id: g.id.clone(), resources: items });
        }
        if groups.is_empty() {
            return Err(CloudError::failed(
                format!("the install of {} has no stack left", installation.org),
                "Run `cloudgrant status --cloud azure` to see what exists.",
            ));
        }
        Ok(RevokePlan { installation: installation.clone(), groups, warnings, leftovers: Vec::new() })
    }

    /// Remove what `plan` says: the main stack (delete), the service principal (when asked), the
    /// storage stack (detach); then verify. `retain` may name the service principal only: a
    /// stack deletes everything it manages.
    pub async fn revoke(
        &self,
        plan: &RevokePlan,
        retain: &[String],
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<Residue, CloudError> {
        // What a preview read before this revoke no longer holds.
        self.inner.surveyed.forget();
        let inst = &plan.installation;
        self.check_install(inst)?;
        let stack_items: Vec<&str> =
            plan.items().filter(|i| i.id != SERVICE_PRINCIPAL_ID).map(|i| i.id.as_str()).collect();
        if let Some(r) = retain.iter().find(|r| stack_items.contains(&r.as_str())) {
            return Err(CloudError::failed(
                format!("--retain {r}: on Azure a deployment stack deletes everything it manages; one resource cannot be kept back"),
                "Revoke without --retain (the storage stack's data account is kept anyway), or remove the resource from the stack in the Azure portal first.",
            ));
        }
        let run = Run::new(&tx, cancel);
        let gone = Gone::default();
        let mut root_cause: Option<String> = None;
        let mut items: Vec<ResidueItem> = Vec::new();
        let mut main_ok = true;
        if let Some(g) = plan.groups.iter().find(|g| g.key == self.first_of(Fate::Delete)) {
            if let Err(e) = self.delete_stack(&run, inst, g, true, &gone).await {
                if e == CloudError::Cancelled {
                    return Err(e);
                }
                main_ok = false;
                root_cause = Some(format!("{e}. Fix: {}", e.next_step()));
                items.push(ResidueItem {
                    type_: super::apply::TYPE_STACK.into(),
                    physical_id: g.name.clone(),
                    state: "delete_failed".into(),
                    note: format!("{e}. Fix: {}", e.next_step()),
                });
            }
        }
        // Once the main stack is gone: the service principal (when asked) and the storage
        // stack's detach, side by side.
        let principal = async {
            let Some(g) = plan.groups.iter().find(|g| g.key == self.first_of(Fate::Delete)) else { return Ok(()) };
            let Some(sp) = g.resources.iter().find(|i| i.type_ == SERVICE_PRINCIPAL_TYPE).filter(|_| main_ok) else {
                return Ok(());
            };
            let retained = retain.iter().any(|r| r == &sp.id);
            if sp.outcome == RevokeOutcome::Deleted && !retained {
                return self.delete_principal(&run, &g.name, sp).await;
            }
            let why = if retained { "kept as asked (--retain)" } else { SP_KEPT };
            run.event(&g.name, &sp.id, &sp.type_, Status::DeleteSkipped, Some(why.into()), sp.physical_id.clone())
                .await;
            Ok(())
        };
        let storage = async {
            let Some(g) = plan.groups.iter().find(|g| g.key == self.first_of(Fate::Detach)) else { return Ok(()) };
            if main_ok {
                return self.delete_stack(&run, inst, g, false, &gone).await;
            }
            run.notes
                .log(format!("the storage stack {} is left as it is: the main stack must go first; revoke again once it is fixed", g.name))
                .await;
            Ok(())
        };
        let (principal, storage) = futures::join!(principal, storage);
        if let Err(e) = principal {
            root_cause.get_or_insert_with(|| format!("{e}. Fix: {}", e.next_step()));
        }
        if let Err(e) = storage {
            if e == CloudError::Cancelled {
                return Err(e);
            }
            root_cause.get_or_insert_with(|| format!("{e}. Fix: {}", e.next_step()));
        }
        let residue = self.verify(plan, items, &gone).await;
        let ok = root_cause.is_none() && residue.checks.iter().all(|c| c.ok);
        // A failure is in the Revoked update and the residue: the caller shows both.
        run.notes.send(Update::Revoked { residue: residue.clone(), ok, root_cause }).await;
        Ok(residue)
    }

    /// #6, only when asked.
    async fn delete_principal(&self, run: &Run, group: &str, sp: &RevokeItem) -> Result<(), CloudError> {
        let Some(id) = sp.physical_id.clone() else { return Ok(()) };
        run.event(
            group,
            &sp.id,
            &sp.type_,
            Status::DeleteInProgress,
            Some("deleting from your tenant, as asked".into()),
            Some(id.clone()),
        )
        .await;
        let req = ApiRequest::new(Service::Graph, Method::Delete, format!("/v1.0/servicePrincipals/{id}"));
        let step = self.step(&format!("delete the vendor's service principal {id}"), &req);
        let r = self.call(&run.notes, &step, req).await?;
        let gone = r.status == 404;
        if !gone && !r.is_success() {
            let e = self.error(&step, &r);
            run.event(
                group,
                &sp.id,
                &sp.type_,
                Status::DeleteFailed,
                Some(format!("{e}. Fix: {}", e.next_step())),
                Some(id),
            )
            .await;
            return Err(e);
        }
        run.event(
            group,
            &sp.id,
            &sp.type_,
            Status::DeleteComplete,
            Some(if gone { "already gone" } else { "deleted" }.into()),
            Some(id),
        )
        .await;
        Ok(())
    }

    /// #16 and its polling: `delete_all` deletes what the stack manages (main), otherwise the
    /// stack lets go of it (storage).
    async fn delete_stack(
        &self,
        run: &Run,
        inst: &Installation,
        group: &RevokeGroup,
        delete_all: bool,
        gone: &Gone,
    ) -> Result<(), CloudError> {
        let name = &group.name;
        let path = stack_path(self.sub(), name);
        // Asked again right before deleting: the stack must still be this install's.
        if let Some(found) = self.read_stack(&run.notes, name).await? {
            let who = self.identity_for(&inst.org, inst.install_id.clone());
            self.refuse_unless_ours(&who, "deployment stack", name, &found)?;
        }
        let action = if delete_all { "delete" } else { "detach" };
        let doing = if delete_all {
            "deleting the stack and everything it manages"
        } else {
            "deleting the stack only: what it manages is detached and stays"
        };
        run.group_event(name, Some(&path), Status::DeleteInProgress, doing.into()).await;
        for i in &group.resources {
            if i.type_ == SERVICE_PRINCIPAL_TYPE {
                continue;
            }
            match &i.outcome {
                RevokeOutcome::Kept { reason } => {
                    run.event(
                        name,
                        &i.id,
                        &i.type_,
                        Status::DeleteSkipped,
                        Some(format!("kept: {reason}")),
                        i.physical_id.clone(),
                    )
                    .await
                }
                _ => {
                    run.event(
                        name,
                        &i.id,
                        &i.type_,
                        Status::DeleteInProgress,
                        Some("deleting with the stack".into()),
                        i.physical_id.clone(),
                    )
                    .await
                }
            }
        }
        let req = ApiRequest::arm(Method::Delete, path.clone(), API_STACKS)
            .query("unmanageAction.Resources", action)
            .query("unmanageAction.ResourceGroups", action)
            .query("unmanageAction.ManagementGroups", "detach");
        let step = self.step(&format!("delete stack {name}"), &req);
        let r = self.call(&run.notes, &step, req).await?;
        let mut last: Option<Value> = None;
        let outcome: Result<(), CloudError> = if r.status == 404 {
            gone.saw(name, GONE_DELETE_404);
            Ok(())
        } else if !r.is_success() {
            Err(self.error(&step, &r))
        } else if r.status == 202 || r.async_operation.is_some() {
            let url = r.async_operation.clone().or_else(|| r.location.clone());
            self.follow_delete(run, name, (url.as_deref(), r.retry_after), &mut last, gone).await
        } else {
            Ok(())
        };
        match outcome {
            Ok(()) => {
                for i in group.resources.iter().filter(|i| i.type_ != SERVICE_PRINCIPAL_TYPE) {
                    let reason = match &i.outcome {
                        RevokeOutcome::Kept { .. } => continue,
                        RevokeOutcome::SoftDeleted { note, .. } => {
                            format!("deleted with the stack; Key Vault soft-deletes it: {note}")
                        }
                        _ => "deleted with the stack".into(),
                    };
                    run.event(name, &i.id, &i.type_, Status::DeleteComplete, Some(reason), i.physical_id.clone()).await;
                }
                let done = if delete_all {
                    "deleted with everything it managed"
                } else {
                    "deleted; what it managed is detached and stays"
                };
                run.group_event(name, Some(&path), Status::DeleteComplete, done.into()).await;
                Ok(())
            }
            Err(CloudError::Cancelled) => {
                run.notes.log(format!("stopped watching: deleting stack {name} carries on in Azure; run `cloudgrant status` to follow it, and revoke again if it fails")).await;
                Err(CloudError::Cancelled)
            }
            Err(e) => {
                // Name the resources the stack could not delete.
                let failed = last.as_ref().map(|s| s["properties"]["failedResources"].clone()).unwrap_or(Value::Null);
                for f in failed.as_array().into_iter().flatten() {
                    let id = f["id"].as_str().unwrap_or_default();
                    let item = group
                        .resources
                        .iter()
                        .find(|i| i.physical_id.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(id)));
                    let (l, t) = match item {
                        Some(i) => (i.id.clone(), i.type_.clone()),
                        None => {
                            type_and_name(id).map(|(t, n)| (n, t)).unwrap_or_else(|| (id.to_string(), String::new()))
                        }
                    };
                    let why = AzureError::from_error(0, &f["error"]).summary();
                    run.event(name, &l, &t, Status::DeleteFailed, Some(why), Some(id.to_string())).await;
                }
                run.group_event(name, Some(&path), Status::DeleteFailed, format!("{e}. Fix: {}", e.next_step())).await;
                Err(e)
            }
        }
    }

    /// Poll a stack deletion until the operation settles or the stack is gone: one call a poll,
    /// the async operation (the stack is read only without one, or to name what failed). The
    /// operation's Succeeded means the stack is gone: verification does not read it again.
    /// `operation` is the async operation's url and the DELETE's `Retry-After`.
    async fn follow_delete(
        &self,
        run: &Run,
        name: &str,
        operation: (Option<&str>, Option<std::time::Duration>),
        last: &mut Option<Value>,
        gone: &Gone,
    ) -> Result<(), CloudError> {
        let (url, mut retry_after) = operation;
        let started = std::time::Instant::now();
        let mut sent = tokio::time::Instant::now();
        loop {
            if started.elapsed() >= crate::cloud::common::deadline() {
                let state = last
                    .as_ref()
                    .and_then(|s| s["properties"]["provisioningState"].as_str())
                    .unwrap_or("deleting")
                    .to_string();
                return Err(crate::cloud::common::deadline_passed(
                    &format!("the deletion of deployment stack {name}"),
                    &state,
                    &format!("az stack sub show --name {name} --query properties.provisioningState"),
                ));
            }
            run.pause_until(sent + poll_wait(self.inner.options.poll_interval, retry_after)).await?;
            sent = tokio::time::Instant::now();
            let mut status = None;
            let mut op = Value::Null;
            if let Some(url) = url {
                let probe = super::errors::Step {
                    what: format!("follow the deletion of stack {name}"),
                    call: format!("GET {url}"),
                };
                let req = self.follow(&probe, url)?;
                let step = self.step(&format!("follow the deletion of stack {name}"), &req);
                let r = self.call(&run.notes, &step, req).await?;
                retry_after = r.retry_after;
                op = self.ok(&step, r)?;
                status = op["status"].as_str().map(String::from);
            }
            let is = |found: Option<&str>, want: &str| found.is_some_and(|f| state_is(f, want));
            let op_failed = is(status.as_deref(), "failed") || is(status.as_deref(), "canceled");
            if url.is_some() && !op_failed {
                if is(status.as_deref(), "succeeded") {
                    gone.saw(name, GONE_SUCCEEDED);
                    return Ok(());
                }
                continue;
            }
            let stack = self.read_stack(&run.notes, name).await?;
            if stack.is_some() {
                *last = stack.clone();
            } else {
                gone.saw(name, GONE_404);
            }
            let failed = op_failed
                || stack.as_ref().is_some_and(|s| is(s["properties"]["provisioningState"].as_str(), "failed"));
            if failed {
                let error = [
                    op["error"].clone(),
                    last.as_ref().map(|s| s["properties"]["error"].clone()).unwrap_or(Value::Null),
                ]
                .into_iter()
                .find(Value::is_object)
                .unwrap_or(Value::Null);
                let step = super::errors::Step {
                    what: format!("delete stack {name}"),
                    call: format!("DELETE {}", stack_path(self.sub(), name)),
                };
                if error.is_object() {
                    return Err(super::errors::azure_error(&step, &AzureError::from_error(0, &error), self.sub()));
                }
                return Err(CloudError::failed(
                    format!("deleting stack {name} failed without an error message"),
                    format!("Look at it with `az stack sub show --name {name}`, fix what it names, then revoke again."),
                ));
            }
            if stack.is_none() {
                return Ok(());
            }
        }
    }
}

/// The stacks a revoke saw gone (404, or their deletion's operation Succeeded) while deleting
/// them: verification does not read them again.
#[derive(Debug, Default)]
pub(crate) struct Gone(std::sync::Mutex<std::collections::BTreeMap<String, &'static str>>);

/// What said a stack is gone.
const GONE_404: &str = "deploymentStacks GET: 404 (while its deletion was followed)";
const GONE_DELETE_404: &str = "deploymentStacks DELETE: 404 (gone already)";
const GONE_SUCCEEDED: &str = "its deletion's async operation answered Succeeded";

impl Gone {
    fn saw(&self, stack: &str, how: &'static str) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(stack.to_string(), how);
    }

    /// What said `stack` is gone, when something did.
    pub(crate) fn seen(&self, stack: &str) -> Option<&'static str> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(stack).copied()
    }
}
