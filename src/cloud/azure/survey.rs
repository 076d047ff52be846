//! Before any change: the caller's permissions (#3, read at a resource group: Azure publishes
//! that call for resource groups only), the two resource groups (#7) and the two stacks (#12),
//! each refused unless [`crate::cloud::ownership::judge`] finds it this install's, the global
//! names the install does not own yet (#8; a data account an earlier revoke kept is re-attached,
//! not refused), and a soft-deleted Key Vault of the same name (#9). Every refusal happens here,
//! so that nothing is half-created.

use std::collections::BTreeMap;

use futures::future::try_join_all;
use serde_json::{json, Value};

use super::{ApiRequest, Method};
use super::{Azure, Notes, API_AUTHORIZATION, API_KEYVAULT, API_REGISTRY, API_RESOURCES, API_STACKS, API_STORAGE};
use crate::cloud::CloudError;
use crate::model::{ChangeKind, ResourceChange};
use crate::model::{Cloud, GroupChanges, Plan};
use crate::plan::azure::{spec_for, Spec, StackSpec, MAIN, SERVICE_PRINCIPAL_ID, SERVICE_PRINCIPAL_TYPE, STORAGE};

/// What cloudgrant needs on the subscription (#3), each with the role that grants it.
pub const REQUIRED_ACTIONS: [(&str, &str); 4] = [
    ("Microsoft.Resources/deploymentStacks/write", "Contributor (or Owner)"),
    ("Microsoft.Resources/subscriptions/resourceGroups/write", "Contributor (or Owner)"),
    ("Microsoft.Authorization/roleAssignments/write", "User Access Administrator (or Owner)"),
    ("Microsoft.Authorization/roleDefinitions/write", "User Access Administrator (or Owner)"),
];

/// Stack provisioning states that are still running. Deployment stacks answer their states in
/// lowercase (`succeeded`, `deploying`: the 2025-07-01 API's `DeploymentStackProvisioningState`),
/// other ARM operations capitalised: every state is compared without case.
pub fn stack_running(state: &str) -> bool {
    !["succeeded", "failed", "canceled", ""].iter().any(|s| s.eq_ignore_ascii_case(state))
}

/// A stack or operation state is `want`, whatever its case.
pub fn state_is(found: &str, want: &str) -> bool {
    crate::cloud::common::state_is(found, want)
}

pub(crate) fn stack_path(sub: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.Resources/deploymentStacks/{name}")
}

pub(crate) fn group_path(sub: &str, group: &str) -> String {
    format!("/subscriptions/{sub}/resourcegroups/{group}")
}

/// `*` matches any run of characters; case-insensitive (Azure's action wildcards).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match p.split_first() {
            None => a.is_empty(),
            Some((b'*', rest)) => (0..=a.len()).any(|i| go(rest, &a[i..])),
            Some((c, rest)) => a.first().is_some_and(|x| x.eq_ignore_ascii_case(c)) && go(rest, &a[1..]),
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// Whether the permissions answer (#3) allows `action`: some entry's `actions` match it and none
/// of that entry's `notActions` do.
pub fn allowed(permissions: &Value, action: &str) -> bool {
    let list = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(Value::as_str).map(String::from).collect()
    };
    permissions["value"].as_array().into_iter().flatten().any(|p| {
        list(&p["actions"]).iter().any(|a| action_matches(a, action))
            && !list(&p["notActions"]).iter().any(|a| action_matches(a, action))
    })
}

/// The resource ids a stack manages (`properties.resources[].id`).
pub fn managed_ids(stack: &Value) -> Vec<String> {
    stack["properties"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str())
        .map(String::from)
        .collect()
}

/// What was found before anything was changed.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    /// Resource group name → the group, where it exists.
    pub groups: BTreeMap<String, Value>,
    /// Stack key ([`MAIN`], [`STORAGE`]) → the stack, where it exists.
    pub stacks: BTreeMap<String, Value>,
    /// The data account an earlier revoke kept in the storage group, which this run re-attaches.
    pub kept_data: Option<String>,
}

impl Survey {
    pub fn stack(&self, key: &str) -> Option<&Value> {
        self.stacks.get(key)
    }

    /// Anything of the install there (a re-run rather than a first run).
    pub fn anything(&self) -> bool {
        !self.stacks.is_empty()
    }

    /// Whether a stack of the install manages a resource named `name` (its id ends in `/name`).
    pub fn owns(&self, name: &str) -> bool {
        let tail = format!("/{}", name.to_ascii_lowercase());
        self.stacks.values().flat_map(managed_ids).any(|id| id.to_ascii_lowercase().ends_with(&tail))
    }
}

impl Azure {
    /// The definitions `plan` was built from, checked to be for this subscription.
    pub(crate) fn spec_for_plan(&self, plan: &Plan) -> Result<Spec, CloudError> {
        if plan.cloud != Cloud::Azure {
            return Err(CloudError::failed(
                format!("this plan is for {}, not Azure", plan.cloud.title()),
                "Build the plan again with --cloud azure.",
            ));
        }
        let spec = spec_for(plan, &self.inner.vendor)?;
        if spec.subscription.as_deref() != Some(self.sub()) {
            return Err(CloudError::failed(
                format!(
                    "this plan was made for subscription {}, not {}",
                    spec.subscription.as_deref().unwrap_or("<none>"),
                    self.sub()
                ),
                "Build the plan again for this subscription.",
            ));
        }
        Ok(spec)
    }

    /// #3: refuse before any change when the caller provably lacks a permission cloudgrant needs.
    /// Azure publishes the effective-permissions call for resource groups and resources only
    /// (`Permissions - List For Resource Group`), not for a subscription. What is granted on the
    /// subscription is inherited by every resource group in it, so an action missing at a
    /// resource group is missing on the subscription too: the check asks at the install's own
    /// resource group, else at any resource group of the subscription, and refuses only on that
    /// proof. Where no group answers, it says so and goes on (the deployment then names any
    /// missing permission).
    /// `found`: the install's resource groups the survey found.
    pub(crate) async fn preflight(
        &self,
        notes: &Notes,
        spec: &Spec,
        found: &BTreeMap<String, Value>,
    ) -> Result<(), CloudError> {
        let sub = self.sub().to_string();
        let mut group = [&spec.main_group, &spec.storage_group].into_iter().find(|g| found.contains_key(*g)).cloned();
        if group.is_none() {
            let req = ApiRequest::arm(Method::Get, format!("/subscriptions/{sub}/resourcegroups"), API_RESOURCES)
                .query("$top", "1");
            let step = self.step("list a resource group to read your permissions at", &req);
            let r = self.call(notes, &step, req).await?;
            if r.is_success() {
                group = r.body["value"][0]["name"].as_str().map(String::from);
            }
        }
        let Some(group) = group else {
            notes.log(format!("could not check in advance what {} may do: Azure answers that for a resource group only, and subscription {sub} has none yet; the deployment names any missing permission", self.inner.principal)).await;
            return Ok(());
        };
        let req = ApiRequest::arm(
            Method::Get,
            format!("/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Authorization/permissions"),
            API_AUTHORIZATION,
        );
        let step = self.step(&format!("read your permissions (at resource group {group})"), &req);
        let r = self.call(notes, &step, req).await?;
        if !r.is_success() {
            let e = self.error(&step, &r);
            notes.log(format!("could not check in advance what {} may do ({e}); going on: the deployment names any missing permission", self.inner.principal)).await;
            return Ok(());
        }
        let body = r.body;
        let missing: Vec<(&str, &str)> = REQUIRED_ACTIONS.iter().copied().filter(|(a, _)| !allowed(&body, a)).collect();
        if missing.is_empty() {
            notes.log(format!("{} may create deployment stacks, resource groups, roles and role assignments (read at resource group {group}, which inherits subscription {sub}'s)", self.inner.principal)).await;
            return Ok(());
        }
        let actions: Vec<&str> = missing.iter().map(|(a, _)| *a).collect();
        let mut roles: Vec<&str> = missing.iter().map(|(_, r)| *r).collect();
        roles.dedup();
        let role_cmd = if missing.iter().any(|(a, _)| a.starts_with("Microsoft.Authorization/")) {
            "User Access Administrator"
        } else {
            "Contributor"
        };
        Err(CloudError::failed(
            format!("{} lacks {} on subscription {sub} (even at resource group {group}, which inherits it); nothing was created", self.inner.principal, actions.join(", ")),
            format!("Ask a subscription owner to give you {} (`az role assignment create --assignee YOU@EXAMPLE.COM --role \"{role_cmd}\" --scope /subscriptions/{sub}`), or sign in as an identity with Owner on the subscription; then run again.", roles.join(" and ")),
        ))
    }

    pub(crate) async fn read_group(&self, notes: &Notes, group: &str) -> Result<Option<Value>, CloudError> {
        let req = ApiRequest::arm(Method::Get, group_path(self.sub(), group), API_RESOURCES);
        self.get_opt(notes, &format!("read resource group {group}"), req).await
    }

    pub(crate) async fn read_stack(&self, notes: &Notes, name: &str) -> Result<Option<Value>, CloudError> {
        let req = ApiRequest::arm(Method::Get, stack_path(self.sub(), name), API_STACKS);
        self.get_opt(notes, &format!("read deployment stack {name}"), req).await
    }

    /// #9: a soft-deleted vault of this name at `location`.
    pub(crate) async fn deleted_vault(
        &self,
        notes: &Notes,
        location: &str,
        name: &str,
    ) -> Result<Option<Value>, CloudError> {
        let req = ApiRequest::arm(
            Method::Get,
            format!(
                "/subscriptions/{}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{name}",
                self.sub()
            ),
            API_KEYVAULT,
        );
        self.get_opt(notes, &format!("look for a soft-deleted Key Vault named {name}"), req).await
    }

    /// #8: whether a global name is free.
    async fn name_available(
        &self,
        notes: &Notes,
        namespace: &str,
        type_: &str,
        name: &str,
    ) -> Result<(bool, String), CloudError> {
        let api = match namespace {
            "Microsoft.KeyVault" => API_KEYVAULT,
            "Microsoft.Storage" => API_STORAGE,
            _ => API_REGISTRY,
        };
        let req = ApiRequest::arm(
            Method::Post,
            format!("/subscriptions/{}/providers/{namespace}/checkNameAvailability", self.sub()),
            api,
        )
        .body(json!({"name": name, "type": type_}));
        let step = self.step(&format!("check that the name {name} is free"), &req);
        let r = self.call(notes, &step, req).await?;
        let body = self.ok(&step, r)?;
        let Some(free) = body["nameAvailable"].as_bool() else {
            return Err(super::errors::unexpected(&step, "`nameAvailable`", &body));
        };
        let why =
            [body["reason"].as_str(), body["message"].as_str()].into_iter().flatten().collect::<Vec<_>>().join(": ");
        Ok((free, why))
    }

    /// The survey's first round, side by side: the install's resource groups (by name) and
    /// stacks (by key), where they exist.
    async fn groups_and_stacks(
        &self,
        notes: &Notes,
        spec: &Spec,
    ) -> Result<(BTreeMap<String, Value>, BTreeMap<String, Value>), CloudError> {
        let group_names = [&spec.storage_group, &spec.main_group];
        let groups = try_join_all(group_names.iter().map(|g| self.read_group(notes, g)));
        let stacks = try_join_all(spec.stacks.iter().map(|st| self.read_stack(notes, &st.name)));
        let (groups, stacks) = futures::try_join!(groups, stacks)?;
        let groups = group_names.iter().zip(groups).filter_map(|(n, g)| Some(((*n).clone(), g?))).collect();
        let stacks = spec.stacks.iter().zip(stacks).filter_map(|(st, f)| Some((st.key.clone(), f?))).collect();
        Ok((groups, stacks))
    }

    /// The survey an apply starts from: the preview's, when it is fresh and for this plan
    /// (crate::cloud::fresh) and the install's resource groups and stacks, read again now, answer
    /// exactly as they did then (deployment stacks take no precondition, so this read is the
    /// check that the stack PUTs meet only what the preview judged this install's); otherwise
    /// the whole survey, read now.
    pub(crate) async fn survey_for_apply(&self, notes: &Notes, plan: &Plan, spec: &Spec) -> Result<Survey, CloudError> {
        let Some((kept, age)) = self.inner.surveyed.take(plan) else {
            return self.survey(notes, spec).await;
        };
        let (groups, stacks) = self.groups_and_stacks(notes, spec).await?;
        if groups == kept.groups && stacks == kept.stacks {
            notes
                .log(crate::cloud::fresh::reused_note(
                    age,
                    "the install's resource groups and stacks were read again just now and answer as they did",
                ))
                .await;
            return Ok(kept);
        }
        notes
            .log(format!("the install's resource groups or stacks changed since the preview read them {:.1} s ago: every check is made again", age.as_secs_f64()))
            .await;
        self.survey(notes, spec).await
    }

    /// Two rounds of reads, each side by side: the install's resource groups and stacks; then
    /// the caller's permissions (at a group found), a soft-deleted vault of the vault's name, the
    /// global names the install does not own yet, and a kept data account. The refusals come
    /// after, in that order, before anything is changed.
    pub(crate) async fn survey(&self, notes: &Notes, spec: &Spec) -> Result<Survey, CloudError> {
        let mut s = Survey::default();
        let who = self.identity_for(&spec.org, spec.install_id());
        let group_names = [&spec.storage_group, &spec.main_group];
        let (found_groups, found_stacks) = self.groups_and_stacks(notes, spec).await?;
        let groups: Vec<(String, Value)> =
            group_names.iter().filter_map(|n| Some(((*n).clone(), found_groups.get(*n)?.clone()))).collect();
        let stacks: Vec<(&StackSpec, Value)> =
            spec.stacks.iter().filter_map(|st| Some((st, found_stacks.get(&st.key)?.clone()))).collect();
        // What the install owns decides the second round's reads.
        for (key, found) in stacks.iter().map(|(st, f)| (st.key.clone(), f.clone())) {
            s.stacks.insert(key, found);
        }
        let names = [
            ("Microsoft.KeyVault", "Microsoft.KeyVault/vaults", &spec.vault, "Key Vault"),
            (
                "Microsoft.ContainerRegistry",
                "Microsoft.ContainerRegistry/registries",
                &spec.registry,
                "container registry",
            ),
            ("Microsoft.Storage", "Microsoft.Storage/storageAccounts", &spec.images_account, "storage account"),
            ("Microsoft.Storage", "Microsoft.Storage/storageAccounts", &spec.data_account, "storage account"),
        ];
        let has_storage_group = groups.iter().any(|(n, _)| n == &spec.storage_group);
        // A re-install re-attaches the data account an earlier revoke kept: its name is ours.
        let kept = async {
            let detached_gone =
                spec.stacks.iter().filter(|st| !st.delete_on_revoke).all(|st| s.stack(&st.key).is_none());
            if detached_gone && has_storage_group {
                let kept = self.kept_data(notes, &spec.org).await?;
                Ok(kept.into_iter().map(|l| l.physical_id).find(|n| n.eq_ignore_ascii_case(&spec.data_account)))
            } else {
                Ok::<_, CloudError>(None)
            }
        };
        let vault = async {
            // A pack without a Key Vault has no vault name to look for.
            if spec.vault.is_empty() || s.owns(&spec.vault) {
                Ok(None)
            } else {
                self.deleted_vault(notes, &spec.location, &spec.vault).await
            }
        };
        // The data account's name is checked once the kept account is known (it may be ours).
        // A name the pack's templates do not make (empty) is not checked.
        let unowned: Vec<_> = names.iter().filter(|(_, _, name, _)| !name.is_empty() && !s.owns(name)).collect();
        let free = try_join_all(
            unowned.iter().filter(|(_, _, name, _)| *name != &spec.data_account || !has_storage_group).map(
                |(namespace, type_, name, _)| async move {
                    Ok::<_, CloudError>(((*name).clone(), self.name_available(notes, namespace, type_, name).await?))
                },
            ),
        );
        let found_groups: BTreeMap<String, Value> = groups.iter().cloned().collect();
        let (preflight, kept, vault, free) =
            futures::join!(self.preflight(notes, spec, &found_groups), kept, vault, free);
        preflight?;
        for (group, g) in &groups {
            self.refuse_unless_ours(&who, "resource group", group, g)?;
        }
        // In the survey's order: the storage group first.
        for group in group_names {
            if let Some(g) = found_groups.get(group) {
                s.groups.insert(group.clone(), g.clone());
            }
        }
        for (stack, found) in &stacks {
            self.refuse_unless_ours(&who, "deployment stack", &stack.name, found)?;
            let state = found["properties"]["provisioningState"].as_str().unwrap_or_default();
            if stack_running(state) {
                return Err(CloudError::failed(
                    format!("deployment stack {} is still {state} (an earlier run is under way in Azure)", stack.name),
                    format!("Wait for it to finish (`az stack sub show --name {} --query provisioningState`), then run again.", stack.name),
                ));
            }
        }
        // Global names: the ones the install does not own yet must be free. A soft-deleted vault
        // holds its name until purged, so it is looked for first, for a precise next step.
        if let Some(v) = vault? {
            let p = &v["properties"];
            let purge = p["scheduledPurgeDate"].as_str().unwrap_or("unknown");
            let protected = p["purgeProtectionEnabled"].as_bool() == Some(true);
            let fix = if protected {
                format!("Purge protection is on, so it cannot be purged before {purge}. Run init again for a new install (it gets a new name suffix), or recover it (`az keyvault recover --name {}`) and revoke that install first.", spec.vault)
            } else {
                format!("Purge it if it is a leftover of an earlier install: `az keyvault purge --name {} --location {}`; or run init again (a fresh install gets a new name suffix).", spec.vault, spec.location)
            };
            return Err(CloudError::failed(
                format!("a soft-deleted Key Vault named {} exists (scheduled purge {purge}): Key Vault names stay reserved until purged", spec.vault),
                fix,
            ));
        }
        s.kept_data = kept?;
        let mut free: BTreeMap<String, (bool, String)> = free?.into_iter().collect();
        for (namespace, type_, name, what) in unowned {
            if s.kept_data.as_deref() == Some(name.as_str()) {
                continue;
            }
            let (ok, why) = match free.remove(name.as_str()) {
                Some(answer) => answer,
                None => self.name_available(notes, namespace, type_, name).await?,
            };
            if !ok {
                return Err(CloudError::failed(
                    format!("the {what} name {name} is not available ({why}); these names are global across Azure; nothing was created"),
                    "Run init again: a fresh install gets a new random name suffix. If an earlier install of this org left it behind (revoked, or made by hand), delete or purge it first.",
                ));
            }
        }
        Ok(s)
    }

    /// What applying `plan` would do per stack: Create where the stack does not exist (every
    /// resource added), Update where it does (the stack is updated in place).
    pub async fn preview_changes(&self, plan: &Plan) -> Result<Vec<GroupChanges>, CloudError> {
        let spec = self.spec_for_plan(plan)?;
        let notes = Notes::default();
        // The whole survey, so that every refusal is known before anything is asked; kept for
        // the apply that follows (crate::cloud::fresh).
        let found = self.survey(&notes, &spec).await?;
        self.inner.surveyed.keep(plan, found.clone());
        let mut out = Vec::new();
        for stack in &spec.stacks {
            let group = plan.groups.iter().find(|g| g.key == stack.key);
            let adds = |only: &dyn Fn(&str) -> bool| -> Vec<ResourceChange> {
                group
                    .into_iter()
                    .flat_map(|g| g.resources.iter())
                    .filter(|r| only(&r.id))
                    .map(|r| ResourceChange {
                        action: "Add".into(),
                        id: r.id.clone(),
                        type_: r.type_.clone(),
                        replacement: None,
                    })
                    .collect()
            };
            out.push(match found.stack(&stack.key) {
                None => GroupChanges {
                    group: stack.name.clone(),
                    kind: ChangeKind::Create,
                    changes: adds(&|_| true),
                    note: match (stack.key == STORAGE, &found.kept_data) {
                        (true, Some(account)) => Some(format!(
                            "reuses the kept data account {account} (resource group {}) with your data: the new storage stack re-attaches it instead of making a second one",
                            spec.storage_group
                        )),
                        _ => None,
                    },
                },
                Some(existing) => {
                    let state = existing["properties"]["provisioningState"].as_str().unwrap_or_default().to_string();
                    let mut changes = Vec::new();
                    if stack.key == MAIN {
                        let sp = self.find_service_principal(&notes).await?;
                        if sp.is_none() {
                            changes.extend(adds(&|id| id == SERVICE_PRINCIPAL_ID));
                        }
                    }
                    GroupChanges {
                        group: stack.name.clone(),
                        kind: ChangeKind::Update,
                        changes,
                        note: Some(update_note(stack, &state)),
                    }
                }
            });
        }
        Ok(out)
    }
}

fn update_note(stack: &StackSpec, state: &str) -> String {
    let last = if state_is(state, "succeeded") { String::new() } else { format!(" (its last run ended {state})") };
    let kind = if stack.key == STORAGE { "storage" } else { "main" };
    format!("the {kind} stack {} exists{last}: it is updated in place to the same template; resources that match are left as they are, nothing is duplicated", stack.name)
}

/// The plan resource type of the vendor's service principal, re-exported for the provider.
pub const SP_TYPE: &str = SERVICE_PRINCIPAL_TYPE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_not_actions() {
        assert!(action_matches("*", "Microsoft.Authorization/roleAssignments/write"));
        assert!(action_matches("Microsoft.Authorization/*/write", "microsoft.authorization/roleAssignments/write"));
        assert!(!action_matches("Microsoft.Authorization/*/read", "Microsoft.Authorization/roleAssignments/write"));
        // Contributor: everything but authorization writes.
        let contributor = json!({"value": [{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"]}]});
        assert!(allowed(&contributor, "Microsoft.Resources/deploymentStacks/write"));
        assert!(!allowed(&contributor, "Microsoft.Authorization/roleAssignments/write"));
        // Plus User Access Administrator: a second entry grants it.
        let both = json!({"value": [contributor["value"][0], {"actions": ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], "notActions": []}]});
        assert!(allowed(&both, "Microsoft.Authorization/roleAssignments/write"));
    }
}
