//! From the expanded stacks to the [`Plan`] the preview shows: resources with their fates, and
//! every role assignment as permissions (the role's actions, custom or built-in).

use super::*;
use crate::assets::Asset;

/// The install's values cloudgrant itself knows (beside the stacks' published outputs).
pub const INSTALL_VALUES: [&str; 3] = ["TenantId", "SubscriptionId", "ServicePrincipalObjectId"];

/// The line of `"id": "<id>"` in a template, for "written at".
fn line_of(text: &str, id: &str) -> Option<usize> {
    let needle = format!("\"id\": \"{id}\"");
    text.lines().position(|l| l.contains(&needle)).map(|i| i + 1)
}

/// A built-in role: name and what it allows (Azure's definition, bundled).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleContent {
    pub name: String,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
    /// Azure's own role (content bundled from Azure's definitions), or the template's custom role.
    pub built_in: bool,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The role a `roleDefinitionId` names: a custom role defined in the expansion, or a built-in.
fn role_for(definition_id: &str, x: &Expansion, subscription: &str) -> Option<RoleContent> {
    for r in x.resources.iter().filter(|r| r.type_.eq_ignore_ascii_case(TYPE_ROLE_DEFINITION)) {
        let id = format!("/subscriptions/{subscription}/providers/{TYPE_ROLE_DEFINITION}/{}", r.raw_name);
        if id.eq_ignore_ascii_case(definition_id) {
            let p = &r.properties;
            let perms = p.get("permissions").and_then(Value::as_array).cloned().unwrap_or_default();
            let all = |k: &str| perms.iter().flat_map(|e| strings(e.get(k))).collect::<Vec<_>>();
            return Some(RoleContent {
                name: p.get("roleName").and_then(Value::as_str).unwrap_or(&r.raw_name).to_string(),
                actions: all("actions"),
                not_actions: all("notActions"),
                data_actions: all("dataActions"),
                not_data_actions: all("notDataActions"),
                built_in: false,
            });
        }
    }
    let guid = definition_id.rsplit('/').next().unwrap_or_default();
    builtin_role(guid)
}

/// Azure's built-in roles the templates use, from the bundled table
/// (`assets/permissions/azure-roles.json`, copied from Microsoft's built-in roles reference).
pub fn builtin_role(guid: &str) -> Option<RoleContent> {
    use crate::permissions::azure_roles::{azure, RoleLookup};
    match azure().lookup(guid) {
        RoleLookup::Known(r) => Some(RoleContent {
            name: r.role_name.clone(),
            actions: r.actions.clone(),
            not_actions: r.not_actions.clone(),
            data_actions: r.data_actions.clone(),
            not_data_actions: r.not_data_actions.clone(),
            built_in: true,
        }),
        RoleLookup::Unknown => None,
    }
}

pub(super) fn plan_of(vendor: &VendorProfile, choices: &Choices, spec: &Spec) -> Result<Plan, PlanError> {
    let subscription = spec.subscription.clone().unwrap_or_else(|| NO_SUBSCRIPTION.to_string());
    let vendor_principal = format!("{}'s service principal (app {})", vendor.vendor.name, spec.app_id);
    let mut groups = Vec::new();
    let mut outputs: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for stack in &spec.stacks {
        let asset = Asset { path: stack.file, text: stack.text };
        let x = stack.expand_preview(spec.subscription.as_deref(), &spec.location)?;
        outputs.insert(stack.key.clone(), x.outputs.clone());
        let identities: Vec<&Expanded> =
            x.resources.iter().filter(|r| r.type_.eq_ignore_ascii_case(TYPE_IDENTITY)).collect();
        // A dependency names a resource by id; ARM matches it by type and name, and so does this.
        let logical = |dep: &str| {
            let dep = dep.to_ascii_lowercase();
            x.resources
                .iter()
                .find(|r| {
                    let last = r.type_.rsplit('/').next().unwrap_or_default();
                    dep.ends_with(&format!("/{}/{}", last, r.raw_name).to_ascii_lowercase())
                })
                .and_then(|r| r.id.clone())
        };
        let mut resources = Vec::new();
        let mut permissions = Vec::new();
        // The service principal stands in the first stack that grants it anything.
        if stack.needs_principal && !spec.stacks.iter().take_while(|s| s.key != stack.key).any(|s| s.needs_principal) {
            resources.push(Resource {
                id: SERVICE_PRINCIPAL_ID.into(),
                type_: SERVICE_PRINCIPAL_TYPE.into(),
                name: Some(spec.app_id.clone()),
                why: format!(
                    "{}'s application (app id {}) gets a service principal in your tenant: the identity its role is given to. Made through Microsoft Graph, before the stacks.",
                    vendor.vendor.name, spec.app_id
                ),
                on_revoke: OnRevoke::Keep,
                pending_window_days: None,
                depends_on: Vec::new(),
                network: None,
                exceptions: Vec::new(),
            });
            permissions.push(Permission {
                principal: format!("app {} ({})", spec.app_id, vendor.vendor.name),
                kind: PermissionKind::Trust,
                holder: SERVICE_PRINCIPAL_ID.into(),
                policy: "service principal in your tenant".into(),
                sid: None,
                effect: Effect::Allow,
                actions: Vec::new(),
                resources: vec![format!("/subscriptions/{subscription}")],
                conditions: serde_json::json!({ "signsInAs": vendor_principal }),
                access_level: None,
                access: Vec::new(),
                risks: Vec::new(),
                source: None,
            });
        }
        for r in &x.resources {
            let id = r.id.clone().unwrap_or_default();
            let mut depends_on: Vec<String> = r.depends_on.iter().filter_map(|d| logical(d)).collect();
            depends_on.dedup();
            let on_revoke = match (stack.delete_on_revoke, r.type_.as_str()) {
                // A detaching stack leaves its deployment records as they are: nothing of yours.
                (false, TYPE_DEPLOYMENT) => OnRevoke::Detach,
                (false, _) => OnRevoke::Keep,
                (true, TYPE_VAULT) => OnRevoke::SoftDelete,
                (true, _) => OnRevoke::Delete,
            };
            let pending_window_days = (r.type_ == TYPE_VAULT)
                .then(|| r.properties.get("softDeleteRetentionInDays").and_then(Value::as_u64).unwrap_or(90) as u32);
            resources.push(Resource {
                id: id.clone(),
                type_: r.type_.clone(),
                name: r.name.clone(),
                why: r.why.clone(),
                on_revoke,
                pending_window_days,
                depends_on,
                network: crate::plan::network::reach(&r.type_, &r.properties),
                exceptions: r.exceptions.clone(),
            });
            if !r.type_.eq_ignore_ascii_case(TYPE_ROLE_ASSIGNMENT) {
                continue;
            }
            let source = line_of(asset.text, &id).map(|line| SourceLocation { file: asset.path.to_string(), line });
            let p = &r.properties;
            let definition = p.get("roleDefinitionId").and_then(Value::as_str).unwrap_or_default();
            let role = role_for(definition, &x, &subscription).ok_or_else(|| {
                PlanError::Invalid(format!(
                    "{}: {id} gives the role `{definition}`, which is neither defined in the template nor a built-in role cloudgrant knows: it cannot be previewed",
                    asset.path
                ))
            })?;
            let principal_id = p.get("principalId").and_then(Value::as_str).unwrap_or_default();
            let principal = if principal_id == PRINCIPAL_PLACEHOLDER {
                vendor_principal.clone()
            } else if let Some(i) =
                identities.iter().find_map(|i| i.name.as_ref().filter(|n| principal_id.contains(n.as_str())))
            {
                format!("managed identity {i}")
            } else if let Some(i) = spec_identity(spec, principal_id) {
                format!("managed identity {i}")
            } else {
                return Err(PlanError::Invalid(format!(
                    "{}: {id} grants to `{principal_id}`, which is neither the vendor's service principal nor an identity the templates create",
                    asset.path
                )));
            };
            let scope = r.scope.clone().unwrap_or_default();
            let mut conditions =
                serde_json::json!({ "principalType": p.get("principalType").cloned().unwrap_or(Value::Null) });
            // An ABAC condition narrows the role's data actions (docs/hardening.md): shown as written.
            if let Some(c) = p.get("condition").and_then(Value::as_str) {
                conditions["condition"] = Value::String(c.to_string());
                conditions["conditionVersion"] = p.get("conditionVersion").cloned().unwrap_or(Value::Null);
            }
            let policy = if role.built_in { format!("{} (built-in)", role.name) } else { role.name.clone() };
            let allowed: Vec<String> = role.actions.iter().chain(&role.data_actions).cloned().collect();
            let refused: Vec<String> = role.not_actions.iter().chain(&role.not_data_actions).cloned().collect();
            for (effect, actions) in [(Effect::Allow, allowed), (Effect::Deny, refused)] {
                if actions.is_empty() && effect == Effect::Deny {
                    continue;
                }
                permissions.push(Permission {
                    principal: principal.clone(),
                    kind: PermissionKind::Identity,
                    holder: id.clone(),
                    policy: policy.clone(),
                    sid: None,
                    effect,
                    actions,
                    resources: vec![scope.clone()],
                    conditions: conditions.clone(),
                    access_level: None,
                    access: Vec::new(),
                    risks: Vec::new(),
                    source: source.clone(),
                });
            }
        }
        let declared = stack.template.get("parameters").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut parameters = Vec::new();
        for (name, decl) in &declared {
            let (value, source) = if name == VENDOR_PRINCIPAL_PARAM {
                (PRINCIPAL_PLACEHOLDER.to_string(), ParameterSource::Tool)
            } else if let Some(v) = stack.parameters.get(name).and_then(|p| p.get("value")) {
                let source = match stack.wired.iter().find(|(p, _, _)| p == name) {
                    Some((_, group, output)) => {
                        ParameterSource::Output { group: group.clone(), output: output.clone() }
                    }
                    None => ParameterSource::Tool,
                };
                (v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()), source)
            } else {
                let d = decl.get("defaultValue").cloned().unwrap_or(Value::Null);
                (d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string()), ParameterSource::Default)
            };
            parameters.push(Parameter { name: name.clone(), value, source });
        }
        groups.push(Group {
            key: stack.key.clone(),
            name: stack.name.clone(),
            title: stack.title.clone(),
            template: asset.path.to_string(),
            description: stack.description.clone(),
            depends_on: stack.after.clone(),
            parameters,
            resources,
            permissions,
        });
    }
    let send_to_vendor: Vec<String> = spec
        .stacks
        .iter()
        .flat_map(|s| s.template.pointer("/metadata/cloudgrant/send_to_vendor").and_then(Value::as_array))
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    for name in &send_to_vendor {
        let published = spec.stacks.iter().flat_map(|s| s.publish.iter()).any(|(n, _)| n == name);
        if !published && !INSTALL_VALUES.contains(&name.as_str()) {
            return Err(PlanError::Invalid(format!(
                "metadata.cloudgrant.send_to_vendor names `{name}`, which no stack publishes (metadata.cloudgrant.publish) and cloudgrant does not know ({})",
                INSTALL_VALUES.join(", ")
            )));
        }
    }
    Ok(Plan {
        cloud: Cloud::Azure,
        vendor: vendor.vendor.name.clone(),
        vendor_id: vendor.vendor.id.clone(),
        org: choices.org.clone(),
        region: spec.location.clone(),
        account: spec.subscription.clone(),
        tags: spec
            .stacks
            .first()
            .map(|s| s.tags.iter().filter(|(k, _)| *k != TAG_STACK).map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        groups,
        pack_sha256: vendor.pack.digest.clone(),
        send_to_vendor,
    })
}

/// The identity an unknown principal id stands for, when it came through a nested deployment's output.
fn spec_identity<'a>(spec: &'a Spec, principal_id: &str) -> Option<&'a str> {
    (!spec.identity.is_empty() && principal_id.contains(&spec.identity)).then_some(spec.identity.as_str())
}
