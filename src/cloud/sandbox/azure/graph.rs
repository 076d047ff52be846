//! Microsoft Graph: the vendor's service principal in the simulated tenant, made from the
//! vendor's multi-tenant application id.

use serde_json::{json, Value};

use super::reply::{self, Answer};
use super::state::{ServicePrincipal, VENDOR_TENANT_ID};
use super::{Ctx, Seg};
use crate::cloud::azure::transport::{ApiRequest, Method};
use crate::plan::azure::SERVICE_PRINCIPAL_ID;

pub fn route(ctx: &mut Ctx, req: &ApiRequest, s: &[Seg]) -> Option<Answer> {
    let lower: Vec<&str> = s.iter().map(|x| x.lower.as_str()).collect();
    Some(match (req.method, lower.as_slice()) {
        (Method::Get, ["v1.0", one]) => {
            let app_id = by_app_id(one, &s[1].text)?;
            get(ctx, &app_id)
        }
        (Method::Post, ["v1.0", "serviceprincipals"]) => create(ctx, req),
        (Method::Delete, ["v1.0", "serviceprincipals", _]) => delete(ctx, &s[2].text),
        _ => return None,
    })
}

/// The app id in `servicePrincipals(appId='…')`.
fn by_app_id(lower: &str, text: &str) -> Option<String> {
    let prefix = "serviceprincipals(appid=";
    if !lower.starts_with(prefix) || !lower.ends_with(')') {
        return None;
    }
    let inner = &text[prefix.len()..text.len() - 1];
    Some(inner.trim_matches('\'').to_string())
}

fn to_json(sp: &ServicePrincipal) -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity",
        "id": sp.id,
        "appId": sp.app_id,
        "displayName": sp.display_name,
        "appOwnerOrganizationId": VENDOR_TENANT_ID,
        "servicePrincipalType": "Application",
        "accountEnabled": true,
    })
}

fn find<'a>(ctx: &'a Ctx, app_id: &str) -> Option<&'a ServicePrincipal> {
    ctx.world.service_principals.values().find(|sp| sp.app_id.eq_ignore_ascii_case(app_id))
}

fn get(ctx: &Ctx, app_id: &str) -> Answer {
    match find(ctx, app_id) {
        Some(sp) => Ok(reply::ok(to_json(sp))),
        None => Err(reply::graph(
            404,
            "Request_ResourceNotFound",
            format!(
                "Resource '{app_id}' does not exist or one of its queried reference-property objects are not present."
            ),
            ctx.now,
        )),
    }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn create(ctx: &mut Ctx, req: &ApiRequest) -> Answer {
    let body = reply::body(req);
    let app_id = body["appId"].as_str().unwrap_or_default().to_string();
    // The all-zero id stands for an app id that names no multi-tenant application.
    if !is_guid(&app_id) || app_id.chars().all(|c| c == '0' || c == '-') {
        return Err(reply::graph(
            400,
            "Request_BadRequest",
            format!("The appId '{app_id}' of the service principal does not reference a valid application object."),
            ctx.now,
        ));
    }
    if ctx.faults.service_principal() {
        return Err(reply::graph(
            403,
            "Authorization_RequestDenied",
            format!("Insufficient privileges to complete the operation.{}", reply::injected(SERVICE_PRINCIPAL_ID)),
            ctx.now,
        ));
    }
    if find(ctx, &app_id).is_some() {
        return Err(reply::graph(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "Another object with the same value for property servicePrincipalNames already exists.",
            ctx.now,
        ));
    }
    let display_name =
        ctx.apps.get(&app_id.to_ascii_lowercase()).cloned().unwrap_or_else(|| format!("Application {app_id}"));
    let id = ctx.world.new_guid(&format!("servicePrincipal:{app_id}"));
    let sp = ServicePrincipal { id: id.clone(), app_id, display_name };
    let out = to_json(&sp);
    ctx.world.service_principals.insert(id, sp);
    ctx.dirty = true;
    Ok(reply::status(201, out))
}

fn delete(ctx: &mut Ctx, id: &str) -> Answer {
    let key = ctx.world.service_principals.keys().find(|k| k.eq_ignore_ascii_case(id)).cloned();
    match key {
        Some(k) => {
            ctx.world.service_principals.remove(&k);
            ctx.dirty = true;
            Ok(reply::status(204, Value::Null))
        }
        None => Err(reply::graph(
            404,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
            ctx.now,
        )),
    }
}
