//! Subscriptions, the caller's permissions, resource groups, name availability, Key Vaults (and
//! soft-deleted ones), storage accounts and role assignments: what the provider reads.

use serde_json::{json, Value};

use super::reply::{self, Answer};
use super::state::{
    DeletedVault, Resource, GROUP_TYPE, REGISTRY_TYPE, ROLE_ASSIGNMENT_TYPE, STORAGE_TYPE, SUBSCRIPTIONS, TENANT_ID,
    VAULT_TYPE,
};
use super::{stacks, Ctx, Seg};
use crate::cloud::azure::transport::{ApiRequest, Method};

pub fn route(ctx: &mut Ctx, req: &ApiRequest, s: &[Seg]) -> Option<Answer> {
    let l: Vec<&str> = s.iter().map(|x| x.lower.as_str()).collect();
    let t = |i: usize| s[i].text.as_str();
    Some(match (req.method, l.as_slice()) {
        (Method::Get, ["subscriptions"]) => list_subscriptions(ctx, req),
        (Method::Get, ["subscriptions", _]) => get_subscription(ctx, t(1)),
        // Azure publishes the caller's permissions for a resource group (and a resource) only.
        (
            Method::Get,
            ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.authorization", "permissions"],
        ) => permissions(ctx, t(1), t(3)),
        (Method::Get, ["subscriptions", _, "resourcegroups"]) => list_groups(ctx, req, t(1)),
        (Method::Get, ["subscriptions", _, "resourcegroups", _]) => get_group(ctx, t(1), t(3)),
        (
            Method::Get,
            ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts"],
        ) => list_in_group(ctx, t(1), t(3), STORAGE_TYPE),
        (Method::Post, ["subscriptions", _, "providers", ns, "checknameavailability"]) => {
            check_name(ctx, req, t(1), ns)
        }
        (Method::Get, ["subscriptions", _, "providers", "microsoft.keyvault", "locations", _, "deletedvaults", _]) => {
            deleted_vault(ctx, t(1), t(5), t(7))
        }
        (Method::Get, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.keyvault", "vaults", _]) => {
            get_in_group(ctx, t(1), t(3), VAULT_TYPE, t(7))
        }
        (
            Method::Get,
            ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _],
        ) => get_in_group(ctx, t(1), t(3), STORAGE_TYPE, t(7)),
        (Method::Get, ["subscriptions", _, "providers", "microsoft.authorization", "roleassignments"]) => {
            role_assignments(ctx, req, t(1))
        }
        _ => return None,
    })
}

fn subscription_json(id: &str, name: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{id}"),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": id,
        "tenantId": TENANT_ID,
        "displayName": name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}

/// One subscription a page, so callers follow `nextLink`.
fn list_subscriptions(ctx: &Ctx, req: &ApiRequest) -> Answer {
    let page = match req.query_value("$skiptoken") {
        None => 0,
        Some(t) => match t.strip_prefix("sandbox-page-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n < SUBSCRIPTIONS.len() => n,
            _ => return Err(reply::arm(400, "InvalidSkipToken", format!("The skip token '{t}' is not valid."))),
        },
    };
    let (id, name, _) = SUBSCRIPTIONS[page];
    let mut body = json!({"value": [subscription_json(id, name)]});
    if page + 1 < SUBSCRIPTIONS.len() {
        let api = req.query_value("api-version").unwrap_or("2022-12-01");
        body["nextLink"] = Value::String(format!(
            "{}/subscriptions?api-version={api}&%24skiptoken=sandbox-page-{}",
            ctx.base,
            page + 1
        ));
    }
    Ok(reply::ok(body))
}

fn get_subscription(ctx: &Ctx, sub: &str) -> Answer {
    let id = ctx.subscription(sub)?;
    let name = SUBSCRIPTIONS.iter().find(|s| s.0 == id).map(|s| s.1).unwrap_or_default();
    Ok(reply::ok(subscription_json(id, name)))
}

/// The signed-in user owns both subscriptions.
fn permissions(ctx: &Ctx, sub: &str, group: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    ctx.world.resource(&group_id(sub, group)).filter(|r| r.is_group()).ok_or_else(|| reply::group_not_found(group))?;
    Ok(reply::ok(json!({"value": [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}]})))
}

/// `Resource Groups - List`: one page (`$top` honoured), in name order.
fn list_groups(ctx: &Ctx, req: &ApiRequest, sub: &str) -> Answer {
    let sub = ctx.subscription(sub)?.to_string();
    let top =
        req.query.iter().find(|(k, _)| k == "$top").and_then(|(_, v)| v.parse::<usize>().ok()).unwrap_or(usize::MAX);
    let prefix = format!("/subscriptions/{sub}/resourcegroups/");
    let mut groups: Vec<Value> = Vec::new();
    for r in ctx.world.resources.values().filter(|r| r.is_group() && r.id.to_ascii_lowercase().starts_with(&prefix)) {
        if groups.len() == top {
            break;
        }
        if let Ok(g) = get_group(ctx, &sub, &r.name) {
            groups.push(g.body);
        }
    }
    Ok(reply::ok(json!({"value": groups})))
}

/// `… - List By Resource Group` for `type_`.
fn list_in_group(ctx: &Ctx, sub: &str, group: &str, type_: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    let gid = group_id(sub, group);
    ctx.world.resource(&gid).filter(|r| r.is_group()).ok_or_else(|| reply::group_not_found(group))?;
    let prefix = format!("{}/providers/{}/", gid.to_ascii_lowercase(), type_.to_ascii_lowercase());
    let items: Vec<Value> = ctx
        .world
        .resources
        .values()
        .filter(|r| r.id.to_ascii_lowercase().starts_with(&prefix) && !r.id[prefix.len()..].contains('/'))
        .map(resource_json)
        .collect();
    Ok(reply::ok(json!({"value": items})))
}

fn group_id(sub: &str, group: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{group}")
}

fn get_group(ctx: &Ctx, sub: &str, group: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    let id = group_id(sub, group);
    let r = ctx.world.resource(&id).filter(|r| r.is_group()).ok_or_else(|| reply::group_not_found(group))?;
    let state = if stacks::being_deleted(ctx, &r.id) { "Deleting" } else { "Succeeded" };
    Ok(reply::ok(json!({
        "id": r.id,
        "name": r.name,
        "type": GROUP_TYPE,
        "location": r.location,
        "tags": if r.tags.is_object() { r.tags.clone() } else { json!({}) },
        "properties": {"provisioningState": state},
    })))
}

/// `Some(reason message)` when `name` is not a valid name for `type_`.
fn invalid_name(type_: &str, name: &str) -> Option<String> {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    match type_ {
        VAULT_TYPE => {
            let ok = (3..=24).contains(&name.len())
                && name.chars().all(|c| alnum(c) || c == '-')
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.ends_with(alnum)
                && !name.contains("--");
            (!ok).then(|| format!("Vault name '{name}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens."))
        }
        STORAGE_TYPE => {
            let ok =
                (3..=24).contains(&name.len()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            (!ok).then(|| format!("{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."))
        }
        _ => {
            let ok = (5..=50).contains(&name.len()) && name.chars().all(alnum);
            (!ok).then(|| format!("The specified resource name '{name}' is invalid: registry names may contain only alpha numeric characters and must be between 5 and 50 characters."))
        }
    }
}

fn check_name(ctx: &Ctx, req: &ApiRequest, sub: &str, namespace: &str) -> Answer {
    ctx.subscription(sub)?;
    let type_ = match namespace {
        "microsoft.keyvault" => VAULT_TYPE,
        "microsoft.storage" => STORAGE_TYPE,
        "microsoft.containerregistry" => REGISTRY_TYPE,
        _ => return Err(reply::unknown_call(req)),
    };
    let body = reply::body(req);
    let name = body["name"].as_str().unwrap_or_default();
    let asked = body["type"].as_str().unwrap_or_default();
    if name.is_empty() || !asked.eq_ignore_ascii_case(type_) {
        return Err(reply::invalid_request(format!(
            "The request body must have a 'name' and the 'type' {type_}; got {body}."
        )));
    }
    if let Some(message) = invalid_name(type_, name) {
        return Ok(reply::ok(json!({"nameAvailable": false, "reason": "Invalid", "message": message})));
    }
    // Names are global: every subscription, every tenant.
    let taken =
        ctx.world.resources.values().any(|r| r.type_.eq_ignore_ascii_case(type_) && r.name.eq_ignore_ascii_case(name));
    let message = if taken {
        Some(match type_ {
            VAULT_TYPE => format!("The vault name '{name}' is already in use."),
            STORAGE_TYPE => format!("The storage account named {name} is already taken."),
            _ => format!("The registry {name} is already in use."),
        })
    } else if type_ == VAULT_TYPE && ctx.world.deleted_vault(name, ctx.now).is_some() {
        Some(format!("The vault name '{name}' is already in use: a vault with this name is in the deleted state. Purge it or recover it to use the name."))
    } else {
        None
    };
    Ok(reply::ok(match message {
        Some(m) => json!({"nameAvailable": false, "reason": "AlreadyExists", "message": m}),
        None => json!({"nameAvailable": true}),
    }))
}

fn normalize_location(l: &str) -> String {
    l.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase()
}

fn deleted_vault_json(v: &DeletedVault) -> Value {
    json!({
        "id": format!("/subscriptions/{}/providers/Microsoft.KeyVault/locations/{}/deletedVaults/{}", v.subscription, v.location, v.name),
        "name": v.name,
        "type": "Microsoft.KeyVault/deletedVaults",
        "properties": {
            "vaultId": v.vault_id,
            "location": v.location,
            "deletionDate": reply::time(v.deletion_date),
            "scheduledPurgeDate": reply::time(v.scheduled_purge_date),
            "purgeProtectionEnabled": v.purge_protection,
            "tags": if v.tags.is_object() { v.tags.clone() } else { json!({}) },
        }
    })
}

fn deleted_vault(ctx: &Ctx, sub: &str, location: &str, name: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    ctx.world
        .deleted_vault(name, ctx.now)
        .filter(|v| v.subscription == sub && normalize_location(&v.location) == normalize_location(location))
        .map(|v| reply::ok(deleted_vault_json(v)))
        .ok_or_else(|| {
            reply::arm(
                404,
                "ResourceNotFound",
                format!("The Resource 'Microsoft.KeyVault/locations/{location}/deletedVaults/{name}' was not found: no soft-deleted vault has this name."),
            )
        })
}

pub fn resource_json(r: &Resource) -> Value {
    let mut out = json!({
        "id": r.id,
        "name": r.name,
        "type": r.type_,
        "location": r.location,
        "tags": if r.tags.is_object() { r.tags.clone() } else { json!({}) },
        "properties": r.properties,
    });
    if !r.sku.is_null() {
        out["sku"] = r.sku.clone();
    }
    if !r.kind.is_null() {
        out["kind"] = r.kind.clone();
    }
    out
}

fn get_in_group(ctx: &Ctx, sub: &str, group: &str, type_: &str, name: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    if ctx.world.resource(&group_id(sub, group)).is_none() {
        return Err(reply::group_not_found(group));
    }
    let id = format!("{}/providers/{type_}/{name}", group_id(sub, group));
    ctx.world
        .resource(&id)
        .map(|r| reply::ok(resource_json(r)))
        .ok_or_else(|| reply::resource_not_found(type_, name, group))
}

/// `principalId eq '…'` → the id; `None` for no filter.
fn principal_filter(filter: Option<&str>) -> Result<Option<String>, String> {
    let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else { return Ok(None) };
    let mut words = f.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some(k), Some(op), Some(v)) if k.eq_ignore_ascii_case("principalId") && op.eq_ignore_ascii_case("eq") => {
            let v = v.trim();
            v.strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .map(|v| Some(v.to_string()))
                .ok_or_else(|| f.to_string())
        }
        _ => Err(f.to_string()),
    }
}

fn role_assignments(ctx: &Ctx, req: &ApiRequest, sub: &str) -> Answer {
    let sub = ctx.subscription(sub)?;
    let principal = principal_filter(req.query_value("$filter")).map_err(|f| {
        reply::arm(
            400,
            "UnsupportedQuery",
            format!("The filter '{f}' is not supported. Supported filters are: principalId eq '{{value}}'."),
        )
    })?;
    let items: Vec<Value> = ctx
        .world
        .resources
        .values()
        .filter(|r| r.type_.eq_ignore_ascii_case(ROLE_ASSIGNMENT_TYPE) && r.subscription == sub)
        .filter(|r| {
            principal
                .as_deref()
                .is_none_or(|p| r.properties["principalId"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(p)))
        })
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "type": ROLE_ASSIGNMENT_TYPE,
                "properties": {
                    "roleDefinitionId": r.properties["roleDefinitionId"],
                    "principalId": r.properties["principalId"],
                    "principalType": r.properties["principalType"],
                    "scope": r.properties["scope"],
                    "description": r.properties.get("description").cloned().unwrap_or(Value::Null),
                    // As deployed: the machines' data access carries its ABAC condition.
                    "condition": r.properties.get("condition").cloned().unwrap_or(Value::Null),
                    "conditionVersion": r.properties.get("conditionVersion").cloned().unwrap_or(Value::Null),
                    "createdOn": reply::time(r.created),
                    "updatedOn": reply::time(r.created),
                }
            })
        })
        .collect();
    Ok(reply::ok(json!({"value": items})))
}
