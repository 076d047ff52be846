//! Azure: the plan read from the pack's ARM templates (`azure/*.json`, subscription scope, one
//! deployment stack each: [`layout`]), which are also exactly what the deployment stacks receive. Names, role assignments and role
//! definitions are found by evaluating the templates with [`arm`], the same evaluator the sandbox's
//! simulated Azure deploys them with.

pub mod arm;
pub mod layout;
mod plan;

pub use layout::{stack_name, Fate};

use plan::plan_of;
pub use plan::{builtin_role, RoleContent};

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The bundled pack's main stack key (`azure/main.json`): the vendor's group, its role, the
/// machines' access. Only the bundled pack's tests name it; the code goes by each stack's fate.
pub const MAIN: &str = "main";
/// The bundled pack's storage stack key (`azure/storage.json`): the data account, detached.
pub const STORAGE: &str = "storage";
/// The main template's parameter that receives the vendor's service principal object id, known
/// only once Microsoft Graph has created or found it.
pub const VENDOR_PRINCIPAL_PARAM: &str = "vendorPrincipalId";
/// The parameter holding the install's random name suffix.
pub const SUFFIX_PARAM: &str = "suffix";
/// The plan resource standing for the vendor's service principal (made through Graph, not a stack).
pub const SERVICE_PRINCIPAL_ID: &str = "VendorServicePrincipal";
pub const SERVICE_PRINCIPAL_TYPE: &str = "Microsoft.Graph/servicePrincipals";

/// Everything the provider needs to create one install, rendered from the templates.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The subscription the plan was rendered for.
    pub subscription: Option<String>,
    pub location: String,
    pub org: String,
    /// The install's random name suffix (Key Vault, registry, images account).
    pub suffix: String,
    /// The data account's suffix: the install's own, or that of the data account an earlier
    /// install kept, when a re-install re-attaches it.
    pub data_suffix: String,
    /// The vendor's multi-tenant application (client) id.
    pub app_id: String,
    /// `<vendor id>-<org>`: the vendor's resource group (deleted on revoke).
    pub main_group: String,
    /// `<vendor id>-<org>-storage`: the data's resource group (kept on revoke).
    pub storage_group: String,
    pub vault: String,
    pub registry: String,
    pub images_account: String,
    pub data_account: String,
    /// The machines' user-assigned identity.
    pub identity: String,
    /// In creation order: storage, then main.
    pub stacks: Vec<StackSpec>,
}

/// One deployment stack at subscription scope.
#[derive(Debug, Clone, PartialEq)]
pub struct StackSpec {
    /// The template file's stem (`storage`, `main`): see [`layout`].
    pub key: String,
    /// The pack file (`azure/storage.json`) and its text.
    pub file: &'static str,
    pub text: &'static str,
    /// The stack's name (the same as its resource group's).
    pub name: String,
    pub title: String,
    pub description: String,
    /// The template file's JSON, as is.
    pub template: Value,
    /// `{"name": {"value": …}}` for every parameter but [`VENDOR_PRINCIPAL_PARAM`].
    pub parameters: Map<String, Value>,
    /// `actionOnUnmanage` delete or detach: the template's `metadata.cloudgrant.fate`.
    pub delete_on_revoke: bool,
    /// The stacks created before it.
    pub after: Vec<String>,
    /// (parameter, stack key, output): values passed on from earlier stacks.
    pub wired: Vec<(String, String, String)>,
    /// (install value name, output): what status and the receipt show under the install's names.
    pub publish: Vec<(String, String)>,
    /// On the stack itself: managed-by, cloudgrant-vendor, cloudgrant-org, cloudgrant-stack.
    pub tags: BTreeMap<String, String>,
    /// Whether the template takes [`VENDOR_PRINCIPAL_PARAM`].
    pub needs_principal: bool,
    /// (resource type, name) → the template's id for it, for naming operations' targets.
    pub names: Vec<(String, String, String)>,
    /// Role assignments, whose names are Azure's GUIDs: (the id of what they sit on, the
    /// template's id). Each sits on a different resource, so the scope names it.
    pub scoped: Vec<(String, String)>,
    /// Resources whose names only Azure computes (custom roles): (type, the template's id).
    pub unnamed: Vec<(String, String)>,
}

use rand::distr::{Distribution, Uniform};
use rand::TryRngCore;

use super::{Choices, PlanError};
use crate::model::{
    Cloud, Effect, Group, OnRevoke, Parameter, ParameterSource, Permission, PermissionKind, Plan, Resource,
};
use crate::permissions::SourceLocation;
use crate::validate;
use crate::vendor::VendorProfile;
use arm::{Expanded, Expansion, NoReferences, Scope};

/// Placeholder for the subscription before one is chosen (`plan` without an account).
pub const NO_SUBSCRIPTION: &str = "<subscription>";
/// Placeholder for the tenant in a plan (the tenant is the subscription's; no name depends on it).
const NO_TENANT: &str = "<tenant>";
/// What the preview passes for [`VENDOR_PRINCIPAL_PARAM`]: Graph gives the object id at creation.
pub const PRINCIPAL_PLACEHOLDER: &str = "<object id of the vendor's service principal>";
pub const SUFFIX_LEN: usize = 8;

pub const TAG_MANAGED_BY: &str = crate::plan::MARK_MANAGED_BY;
pub const TAG_VENDOR: &str = crate::plan::MARK_VENDOR;
pub const TAG_ORG: &str = crate::plan::MARK_ORG;
pub const TAG_STACK: &str = "cloudgrant-stack";

pub const TYPE_ROLE_ASSIGNMENT: &str = "Microsoft.Authorization/roleAssignments";
pub const TYPE_ROLE_DEFINITION: &str = "Microsoft.Authorization/roleDefinitions";
pub const TYPE_VAULT: &str = "Microsoft.KeyVault/vaults";
pub const TYPE_STORAGE_ACCOUNT: &str = "Microsoft.Storage/storageAccounts";
pub const TYPE_IDENTITY: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";
pub const TYPE_DEPLOYMENT: &str = "Microsoft.Resources/deployments";
pub const TYPE_RESOURCE_GROUP: &str = "Microsoft.Resources/resourceGroups";

/// A new random name suffix: 8 lowercase letters and digits from the operating system's CSPRNG.
pub fn new_suffix() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let pick = Uniform::new(0, CHARS.len()).unwrap_or_else(|_| unreachable!("the range is non-empty"));
    let mut rng = rand::rngs::OsRng.unwrap_err();
    (0..SUFFIX_LEN).map(|_| char::from(CHARS[pick.sample(&mut rng)])).collect()
}

fn check_suffix(suffix: &str) -> Result<(), PlanError> {
    if suffix.len() != SUFFIX_LEN || !suffix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Err(PlanError::Invalid(format!(
            "the install's name suffix `{suffix}` must be {SUFFIX_LEN} lowercase letters or digits (the `suffix` parameter of the stacks)"
        )));
    }
    Ok(())
}

/// Names Azure requires to be globally unique or of a given form, checked before anything is sent.
fn check_name(type_: &str, name: &str, id: &str, file: &str) -> Result<(), PlanError> {
    let (ok, rule) = match type_ {
        "Microsoft.Storage/storageAccounts" => (
            (3..=24).contains(&name.len()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "3-24 lowercase letters and digits",
        ),
        TYPE_VAULT => (
            (3..=24).contains(&name.len())
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
                && !name.ends_with('-')
                && !name.contains("--")
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "3-24 letters, digits and single hyphens, starting with a letter",
        ),
        "Microsoft.ContainerRegistry/registries" => (
            (5..=50).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "5-50 letters and digits",
        ),
        TYPE_RESOURCE_GROUP => (
            (1..=90).contains(&name.len())
                && !name.ends_with('.')
                && name.chars().all(|c| c.is_alphanumeric() || "-_.()".contains(c)),
            "1-90 letters, digits, `-_.()`, not ending in `.`",
        ),
        _ => (true, ""),
    };
    if ok {
        Ok(())
    } else {
        Err(PlanError::Invalid(format!(
            "{file}: {id} would be named `{name}`, which Azure refuses for {type_} ({rule}). Choose a shorter org name."
        )))
    }
}

/// The plan for `choices` (`account` = the subscription id, `region` = the location) with the
/// install's name `suffix`.
pub fn build(vendor: &VendorProfile, choices: &Choices, suffix: &str) -> Result<Plan, PlanError> {
    build_reattaching(vendor, choices, suffix, suffix)
}

/// [`build`], with the data account named by `data_suffix`: the account an earlier install of
/// this org kept, re-attached to the new install's storage stack instead of a second one.
pub fn build_reattaching(
    vendor: &VendorProfile,
    choices: &Choices,
    suffix: &str,
    data_suffix: &str,
) -> Result<Plan, PlanError> {
    let spec = spec_with(vendor, choices, suffix, data_suffix)?;
    let mut plan = plan_of(vendor, choices, &spec)?;
    crate::permissions::annotate(&mut plan, vendor);
    Ok(plan)
}

/// The suffix a group of the plan passes to its stack.
fn group_suffix(plan: &Plan, key: &str) -> Option<String> {
    plan.group(key)?.parameters.iter().find(|p| p.name == SUFFIX_PARAM).map(|p| p.value.clone())
}

/// Whether revoke deletes a group of the plan (its resources are deleted), or detaches it.
fn deleted_on_revoke(g: &Group) -> bool {
    g.resources.iter().any(|r| matches!(r.on_revoke, OnRevoke::Delete | OnRevoke::SoftDelete))
}

/// The suffix the plan's first group of that kind passes to its stack.
fn first_suffix(plan: &Plan, deleted: bool) -> Option<String> {
    plan.groups.iter().filter(|g| deleted_on_revoke(g) == deleted).find_map(|g| group_suffix(plan, &g.key))
}

/// The install's suffix: the one a deleted stack passes, else a detached one's.
pub fn suffix_of(plan: &Plan) -> Option<String> {
    first_suffix(plan, true).or_else(|| first_suffix(plan, false))
}

/// What the provider creates for a plan, after checking that the templates give exactly that plan.
pub fn spec_for(plan: &Plan, vendor: &VendorProfile) -> Result<Spec, PlanError> {
    if plan.cloud != Cloud::Azure {
        return Err(PlanError::Invalid(format!("this is a plan for {}, not Azure", plan.cloud.title())));
    }
    let suffix = suffix_of(plan).ok_or_else(|| PlanError::Invalid("the plan has no `suffix` parameter".into()))?;
    let data_suffix = first_suffix(plan, false).unwrap_or_else(|| suffix.clone());
    let choices = Choices {
        org: plan.org.clone(),
        region: plan.region.clone(),
        account: plan.account.clone(),
        external_id: None,
    };
    let again = build_reattaching(vendor, &choices, &suffix, &data_suffix)?;
    // The install id is the one mark the templates cannot give: it is the plan's, put on every stack.
    let install_id = plan.tags.iter().find(|(k, _)| k == crate::plan::MARK_INSTALL_ID).map(|(_, v)| v.clone());
    let tags: Vec<(String, String)> =
        plan.tags.iter().filter(|(k, _)| k != crate::plan::MARK_INSTALL_ID).cloned().collect();
    if again.groups != plan.groups || again.tags != tags {
        return Err(PlanError::Invalid(
            "the plan differs from what the pack's Azure templates give for it (built by another version of cloudgrant, or from another pack?)"
                .into(),
        ));
    }
    let mut spec = spec_with(vendor, &choices, &suffix, &data_suffix)?;
    if let Some(id) = install_id {
        for s in &mut spec.stacks {
            s.tags.insert(crate::plan::MARK_INSTALL_ID.to_string(), id.clone());
        }
    }
    Ok(spec)
}

fn value_params(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), serde_json::json!({ "value": v }))).collect()
}

/// The stacks for these choices, rendered from the templates.
pub fn spec(vendor: &VendorProfile, choices: &Choices, suffix: &str) -> Result<Spec, PlanError> {
    spec_with(vendor, choices, suffix, suffix)
}

/// [`spec`], with the data account named by `data_suffix` (see [`build_reattaching`]).
pub fn spec_with(
    vendor: &VendorProfile,
    choices: &Choices,
    suffix: &str,
    data_suffix: &str,
) -> Result<Spec, PlanError> {
    validate::org(&choices.org)?;
    validate::azure_location(&choices.region)?;
    check_suffix(suffix)?;
    check_suffix(data_suffix)?;
    let vendor_id = vendor.vendor.id.as_str();
    let org = choices.org.as_str();
    let subscription = choices.account.clone();
    let mut stacks: Vec<StackSpec> = Vec::new();
    // The outputs of the stacks rendered so far, as the preview evaluates them: what `inputs` pass on.
    let mut outputs: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for def in layout::stacks(vendor)? {
        let file = vendor.pack.display_path(def.file);
        let declared = def.template.get("parameters").and_then(Value::as_object).cloned().unwrap_or_default();
        // A detached stack keeps its resources on revoke: a re-install re-attaches them under
        // their names, so it takes the suffix they were made with.
        let stack_suffix = if def.fate == Fate::Detach { data_suffix } else { suffix };
        let tool = [
            ("vendorId", vendor_id),
            ("vendorName", vendor.vendor.name.as_str()),
            ("org", org),
            ("location", choices.region.as_str()),
            (SUFFIX_PARAM, stack_suffix),
        ];
        let mut parameters =
            value_params(&tool.into_iter().filter(|(k, _)| declared.contains_key(*k)).collect::<Vec<_>>());
        for (param, from, output) in &def.inputs {
            let value = outputs.get(from).and_then(|o| o.get(output)).ok_or_else(|| {
                PlanError::Invalid(format!("{file}: metadata.cloudgrant.inputs.{param} names `{from}.{output}`, which is not an output of the stack `{from}`"))
            })?;
            if value.as_str().is_some_and(arm::is_unknown) {
                return Err(PlanError::Invalid(format!("{file}: metadata.cloudgrant.inputs.{param} takes `{from}.{output}`, which Azure computes only once `{from}` is deployed; cloudgrant passes every value before deploying, so wire an output the template computes from its parameters")));
            }
            parameters.insert(param.clone(), serde_json::json!({ "value": value }));
        }
        let meta = def.template.pointer("/metadata/cloudgrant");
        let text = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_str).unwrap_or_default().to_string();
        let tags: BTreeMap<String, String> =
            [(TAG_MANAGED_BY, "cloudgrant"), (TAG_VENDOR, vendor_id), (TAG_ORG, org), (TAG_STACK, def.key.as_str())]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let mut stack = StackSpec {
            name: layout::stack_name(vendor_id, org, &def.key),
            key: def.key.clone(),
            file: def.file,
            text: def.text,
            title: text("title"),
            description: text("description"),
            template: def.template.clone(),
            parameters,
            delete_on_revoke: def.fate == Fate::Delete,
            after: def.after.clone(),
            wired: def.inputs.clone(),
            publish: def.publish.clone(),
            tags,
            needs_principal: def.needs_principal,
            names: Vec::new(),
            scoped: Vec::new(),
            unnamed: Vec::new(),
        };
        let x = stack.expand_preview(subscription.as_deref(), &choices.region)?;
        for r in &x.resources {
            let id =
                r.id.clone()
                    .ok_or_else(|| PlanError::Invalid(format!("{file}: {} has no `metadata.cloudgrant.id`", r.path)))?;
            if r.type_.eq_ignore_ascii_case(TYPE_ROLE_ASSIGNMENT) {
                if let Some(scope) = r.scope.as_ref().filter(|s| !arm::is_unknown(s)) {
                    stack.scoped.push((scope.to_ascii_lowercase(), id.clone()));
                }
            }
            match &r.name {
                Some(n) => {
                    check_name(&r.type_, n, &id, &file)?;
                    stack.names.push((r.type_.clone(), n.clone(), id));
                }
                None => stack.unnamed.push((r.type_.clone(), id)),
            }
        }
        outputs.insert(def.key.clone(), x.outputs);
        stacks.push(stack);
    }
    let named = |type_: &str, fate: Option<bool>| {
        stacks
            .iter()
            .filter(|s| fate.is_none_or(|d| s.delete_on_revoke == d))
            .flat_map(|s| s.names.iter())
            .filter(|(t, _, _)| t.eq_ignore_ascii_case(type_))
            .map(|(_, n, _)| n.clone())
            .collect::<Vec<_>>()
    };
    let one = |type_: &str, fate: Option<bool>| named(type_, fate).into_iter().next().unwrap_or_default();
    let first = |delete: bool| stacks.iter().find(|s| s.delete_on_revoke == delete).map(|s| s.name.clone());
    Ok(Spec {
        subscription,
        location: choices.region.clone(),
        org: org.to_string(),
        suffix: suffix.to_string(),
        data_suffix: data_suffix.to_string(),
        app_id: vendor.azure.app_id.clone(),
        vault: one(TYPE_VAULT, None),
        registry: one("Microsoft.ContainerRegistry/registries", None),
        images_account: one(TYPE_STORAGE_ACCOUNT, Some(true)),
        identity: one(TYPE_IDENTITY, None),
        data_account: one(TYPE_STORAGE_ACCOUNT, Some(false)),
        main_group: first(true).unwrap_or_else(|| layout::stack_name(vendor_id, org, "main")),
        storage_group: first(false).unwrap_or_else(|| layout::stack_name(vendor_id, org, "storage")),
        stacks,
    })
}

impl Spec {
    pub fn stack(&self, key: &str) -> Option<&StackSpec> {
        self.stacks.iter().find(|s| s.key == key)
    }

    /// The install id the stacks carry (the plan's), if the plan had one.
    pub fn install_id(&self) -> Option<String> {
        self.stacks.iter().find_map(|s| s.tags.get(crate::plan::MARK_INSTALL_ID).cloned())
    }
}

impl StackSpec {
    /// The template evaluated as the preview sees it: Azure-only values unknown.
    pub fn expand_preview(&self, subscription: Option<&str>, location: &str) -> Result<Expansion, PlanError> {
        let mut parameters = self.parameters.clone();
        if self.needs_principal {
            parameters.insert(VENDOR_PRINCIPAL_PARAM.into(), serde_json::json!({ "value": PRINCIPAL_PLACEHOLDER }));
        }
        let scope = Scope {
            subscription_id: subscription.unwrap_or(NO_SUBSCRIPTION).to_string(),
            tenant_id: NO_TENANT.into(),
            location: location.to_string(),
            resource_group: None,
            deployment: self.name.clone(),
        };
        arm::expand(&self.template, &parameters, &scope, &NoReferences)
            .map_err(|e| PlanError::Invalid(format!("{}: {e}", self.file)))
    }

    /// The whole body of the `PUT …/deploymentStacks/{name}` (docs/azure-calls.md #13).
    pub fn request_body(&self, location: &str, principal_id: Option<&str>) -> Value {
        let mut parameters = self.parameters.clone();
        if let (true, Some(p)) = (self.needs_principal, principal_id) {
            parameters.insert(VENDOR_PRINCIPAL_PARAM.into(), serde_json::json!({ "value": p }));
        }
        let unmanage = if self.delete_on_revoke { "delete" } else { "detach" };
        serde_json::json!({
            "location": location,
            "tags": self.tags,
            "properties": {
                "description": self.description,
                "template": self.template,
                "parameters": parameters,
                "actionOnUnmanage": {"resources": unmanage, "resourceGroups": unmanage, "managementGroups": "detach"},
                "denySettings": {"mode": "none"},
                "bypassStackOutOfSyncError": false,
            }
        })
    }

    /// The template's id for a resource Azure names by its full id: a role assignment by what it
    /// sits on (its own name is Azure's GUID), anything else by type and name.
    pub fn logical_id_of(&self, resource_id: &str) -> Option<&str> {
        const ASSIGNMENT: &str = "/providers/microsoft.authorization/roleassignments/";
        let lower = resource_id.to_ascii_lowercase();
        if let Some(at) = lower.find(ASSIGNMENT) {
            let scope = &lower[..at];
            let mut found = self.scoped.iter().filter(|(s, _)| s == scope);
            return match (found.next(), found.next()) {
                (Some((_, id)), None) => Some(id.as_str()),
                _ => None,
            };
        }
        let (_, rest) = resource_id.split_once("/providers/")?;
        let segments: Vec<&str> = rest.split('/').collect();
        let namespace = segments.first()?;
        let types: Vec<&str> = segments[1..].iter().step_by(2).copied().collect();
        let names: Vec<&str> = segments[1..].iter().skip(1).step_by(2).copied().collect();
        self.logical_id(&format!("{namespace}/{}", types.join("/")), &names.join("/"))
    }

    /// The template's id for an operation's target resource (type and name as Azure reports them).
    /// A resource of a type whose one instance has a name only Azure computes is that instance.
    pub fn logical_id(&self, resource_type: &str, name: &str) -> Option<&str> {
        let named = self
            .names
            .iter()
            .find(|(t, n, _)| t.eq_ignore_ascii_case(resource_type) && n.eq_ignore_ascii_case(name))
            .map(|(_, _, id)| id.as_str());
        named.or_else(|| {
            let known = self.names.iter().any(|(t, _, _)| t.eq_ignore_ascii_case(resource_type));
            let mut found = self.unnamed.iter().filter(|(t, _)| t.eq_ignore_ascii_case(resource_type));
            match (known, found.next(), found.next()) {
                (false, Some((_, id)), None) => Some(id.as_str()),
                _ => None,
            }
        })
    }
}
