//! `vendor check`'s Azure rules (docs/vendor-packs.md). On the templates as written: no static
//! credentials, a `why` on every resource, a known fate on every stack. On the plan they give: a
//! role that lets anyone write through a `*` action, a grant or a custom role at the subscription,
//! and Azure's all-powerful built-in roles given to the vendor are flagged for the vendor to weigh.

use serde_json::Value;

use super::{Findings, Level};
use crate::model::{Cloud, Effect, PermissionKind, Plan};
use crate::pack::Pack;

const AZ: Option<Cloud> = Some(Cloud::Azure);

/// Built-in roles that manage everything in their scope, or who may do so: never the vendor's.
/// By their ids, which Azure fixes for every tenant (Microsoft's built-in roles reference): the
/// plan cannot preview them (cloudgrant bundles only the roles it can show action by action),
/// so the rule reads the template.
const PRIVILEGED: [(&str, &str); 3] = [
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator"),
];

/// The rules read from the templates themselves (they hold even when no plan can be built).
pub(super) fn template_rules(pack: &Pack, f: &mut Findings) {
    for file in pack.files_under("azure").into_iter().filter(|x| x.path.ends_with(".json")) {
        let Ok(v) = serde_json::from_str::<Value>(file.text) else { continue };
        let mut hits = Vec::new();
        static_credentials(&v, &mut Vec::new(), &mut hits);
        for h in hits {
            f.add(Level::Refused, "static-credentials", AZ, Some(file.path), None, format!("{h}: client secrets and certificates are long-lived secrets; the vendor signs in as its own multi-tenant application"));
        }
        match v.pointer("/metadata/cloudgrant/fate").and_then(Value::as_str) {
            Some("detach" | "delete") => {}
            Some(other) => f.add(Level::Refused, "fate", AZ, Some(file.path), None, format!("metadata.cloudgrant.fate `{other}` has no outcome cloudgrant can state on revoke: use \"detach\" (kept with its data) or \"delete\" (removed)")),
            None => f.add(Level::Refused, "fate", AZ, Some(file.path), None, "the stack has no metadata.cloudgrant.fate: say what revoke does to it, \"detach\" (kept with its data) or \"delete\" (removed)"),
        }
        resource_rules(&v, file.path, f);
    }
}

/// Client secrets and certificates, wherever they sit (Graph applications, `addPassword` calls).
fn static_credentials(v: &Value, path: &mut Vec<String>, hits: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let lower = k.to_ascii_lowercase();
                if ["passwordcredentials", "keycredentials", "clientsecret"].contains(&lower.as_str()) {
                    hits.push(format!("{}.{k}", path.join(".")));
                }
                path.push(k.clone());
                static_credentials(x, path, hits);
                path.pop();
            }
        }
        Value::Array(a) => a.iter().for_each(|x| static_credentials(x, path, hits)),
        Value::String(s) if s.to_ascii_lowercase().contains("/addpassword") => hits.push(path.join(".")),
        _ => {}
    }
}

/// Each resource, nested templates included: its `why`, and a custom role's assignable scopes.
fn resource_rules(template: &Value, file: &str, f: &mut Findings) {
    for r in template["resources"].as_array().into_iter().flatten() {
        let id = r.pointer("/metadata/cloudgrant/id").and_then(Value::as_str);
        let label = id.or(r["name"].as_str()).unwrap_or("a resource");
        if r.pointer("/metadata/description").and_then(Value::as_str).is_none_or(|w| w.trim().is_empty()) {
            // The plan's own `why` rule words it the same way, so one cause gives one finding.
            f.add(
                Level::Refused,
                "why",
                AZ,
                Some(file),
                Some(label),
                "its `why` is empty: one plain line on why the vendor needs it",
            );
        }
        let type_ = r["type"].as_str().unwrap_or_default();
        if type_.eq_ignore_ascii_case(crate::plan::azure::TYPE_ROLE_DEFINITION) {
            let scopes = r.pointer("/properties/assignableScopes").and_then(Value::as_array);
            if scopes.into_iter().flatten().filter_map(Value::as_str).any(names_the_subscription) {
                f.add(Level::Flagged, "subscription-scope", AZ, Some(file), Some(label), "the custom role may be assigned anywhere in the subscription (assignableScopes): list the vendor's resource group instead, unless the vendor's work needs the whole subscription");
            }
        }
        if type_.eq_ignore_ascii_case(crate::plan::azure::TYPE_ROLE_ASSIGNMENT) {
            let role = r.pointer("/properties/roleDefinitionId").and_then(Value::as_str).unwrap_or_default();
            let to = r.pointer("/properties/principalId").and_then(Value::as_str).unwrap_or_default();
            let role = with_variables(template, role).to_ascii_lowercase();
            if let Some((_, name)) = PRIVILEGED.iter().find(|(guid, _)| role.contains(guid)) {
                if to.contains(crate::plan::azure::VENDOR_PRINCIPAL_PARAM) {
                    f.add(Level::Flagged, "privileged-role", AZ, Some(file), Some(label), format!("the vendor gets the built-in role {name}, which manages everything in its scope{}: give a role listing only the actions it needs", if *name == "Contributor" { "" } else { " and hands out access to it" }));
                }
            }
        }
        if r.pointer("/properties/template").is_some_and(Value::is_object) {
            resource_rules(&r["properties"]["template"], file, f);
        }
    }
}

/// `text` with each `variables('name')` it names followed by that variable's text (one level:
/// how templates name a built-in role's id).
fn with_variables(template: &Value, text: &str) -> String {
    let mut out = text.to_string();
    for part in text.split("variables('").skip(1) {
        if let Some(v) = part.split_once('\'').and_then(|(name, _)| template["variables"][name].as_str()) {
            out.push(' ');
            out.push_str(v);
        }
    }
    out
}

/// `[subscription().id]`, or a literal `/subscriptions/<id>` with nothing below it.
fn names_the_subscription(scope: &str) -> bool {
    let s = scope.trim().to_ascii_lowercase();
    s.replace(' ', "") == "[subscription().id]" || is_subscription(&s)
}

fn is_subscription(scope: &str) -> bool {
    let s = scope.trim_end_matches('/');
    s.strip_prefix("/subscriptions/").is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// An action that reaches more than reading through a wildcard (`*`, `Microsoft.Compute/*`,
/// `…/write*`); `*/read` and `…/*/read` only read.
fn wildcard_write(action: &str) -> bool {
    action.contains('*') && !action.to_ascii_lowercase().ends_with("/read")
}

/// The rules on what the plan grants.
pub(super) fn plan_rules(plan: &Plan, f: &mut Findings) {
    for g in &plan.groups {
        let file = Some(g.template.as_str());
        for p in g.permissions.iter().filter(|p| p.effect == Effect::Allow && p.kind == PermissionKind::Identity) {
            let holder = Some(p.holder.as_str());
            let wild: Vec<&str> = p.actions.iter().map(String::as_str).filter(|a| wildcard_write(a)).collect();
            if !wild.is_empty() {
                f.add(Level::Flagged, "wildcard-write", AZ, file, holder, format!("{} gets {} through `{}`, which allows writing whatever the wildcard covers: list the write actions the vendor needs", p.principal, wild.join(", "), p.policy));
            }
            if p.resources.iter().any(|r| is_subscription(r)) {
                f.add(Level::Flagged, "subscription-scope", AZ, file, holder, format!("{} gets `{}` on the whole subscription: scope the role assignment to the vendor's resource group or to the one resource it needs", p.principal, p.policy));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_wildcards_read_as_azure_writes_them() {
        assert!(is_subscription("/subscriptions/<subscription>"));
        assert!(!is_subscription("/subscriptions/s/resourceGroups/g"));
        assert!(names_the_subscription("[subscription().id]"));
        assert!(wildcard_write("*") && wildcard_write("Microsoft.Compute/*"));
        assert!(!wildcard_write("*/read") && !wildcard_write("Microsoft.Compute/*/read"));
        assert!(!wildcard_write("Microsoft.Compute/virtualMachines/start/action"));
    }
}
