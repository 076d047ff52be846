//! ARM template expressions, evaluated the way Azure Resource Manager does for the subset the
//! bundled templates use: `parameters`, `variables`, `concat`, `format`, `resourceGroup`,
//! `subscription`, `tenant`, `deployment`, `resourceId`, `subscriptionResourceId`,
//! `extensionResourceId`, `reference`, `guid`, `toLower`, `toUpper`, `string`, `createArray`,
//! `union`, `equals`, `not`, `if`, `empty`, `length`, `replace`. Anything else (`copy` loops,
//! `condition`, `uniqueString`, outer-scope nested templates) is refused with the place it was
//! found, so the preview never shows a guess.
//!
//! Values only Azure knows at deployment time (a managed identity's principal id, a GUID built
//! from one) evaluate to *unknown* strings written `<…>`: ARM names and ids cannot contain `<`, so
//! [`is_unknown`] tells them apart. The plan shows them as "set by Azure"; the sandbox's simulated
//! Azure answers [`References`] and so evaluates everything.

mod eval;
mod parse;
#[cfg(test)]
mod tests;

pub use eval::guid;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Where a template is deployed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub subscription_id: String,
    pub tenant_id: String,
    /// The deployment's location (the stack's, for subscription scope).
    pub location: String,
    /// `None` at subscription scope.
    pub resource_group: Option<String>,
    /// The deployment's name.
    pub deployment: String,
}

impl Scope {
    pub fn subscription_path(&self) -> String {
        format!("/subscriptions/{}", self.subscription_id)
    }

    /// The id of the scope itself: the resource group or the subscription.
    pub fn id(&self) -> String {
        match &self.resource_group {
            Some(rg) => format!("/subscriptions/{}/resourceGroups/{rg}", self.subscription_id),
            None => self.subscription_path(),
        }
    }
}

/// Runtime properties of resources, as `reference()` returns them.
pub trait References {
    /// The resource's properties (`full`: the whole resource), or `None` when not known yet.
    fn reference(&self, resource_id: &str, full: bool) -> Option<Value>;

    /// `guid(…)` over these strings, where this deployer can compute it (Azure's hash is its own:
    /// `None`, the default, leaves it unknown).
    fn guid(&self, _parts: &[String]) -> Option<String> {
        None
    }
}

/// Knows nothing: every `reference()` is unknown (the preview).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReferences;

impl References for NoReferences {
    fn reference(&self, _: &str, _: bool) -> Option<Value> {
        None
    }
}

/// One resource of a template, evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Expanded {
    /// `metadata.cloudgrant.id`: the template's logical id.
    pub id: Option<String>,
    pub type_: String,
    /// `None` when the name depends on something only Azure knows.
    pub name: Option<String>,
    /// The name as evaluated, unknown parts written `<…>` (two equal texts stand for one value).
    pub raw_name: String,
    /// The resource group it is deployed into (`None` at subscription scope).
    pub resource_group: Option<String>,
    /// The full ARM id (unknown parts written `<…>`; `None` is not produced today but kept for
    /// callers to treat an id as optional).
    pub resource_id: Option<String>,
    /// For extension resources (role assignments): the id of the resource they sit on; the
    /// resource group or subscription when none is named.
    pub scope: Option<String>,
    pub location: Option<String>,
    /// Evaluated properties (a nested deployment's inner template is left as written).
    pub properties: Value,
    pub tags: Value,
    pub depends_on: Vec<String>,
    /// The deployment that creates it.
    pub deployment: String,
    /// `metadata.description`: why the vendor needs it.
    pub why: String,
    /// Scanner checks set aside on purpose (`metadata.checkov`).
    pub exceptions: Vec<crate::model::Exception>,
    /// Where in the file it is (`resources[1].properties.template.resources[3]`).
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expansion {
    /// Every resource in template order; a nested deployment is followed by its own resources.
    pub resources: Vec<Expanded>,
    /// The template's outputs, evaluated.
    pub outputs: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ArmError {
    /// Where in the template (`resources[2].name`).
    pub at: String,
    pub message: String,
}

/// An unknown value (`<…>`): ARM names and ids never contain `<`.
pub fn is_unknown(s: &str) -> bool {
    s.contains('<')
}

fn unknown(what: &str) -> Value {
    Value::String(format!("<{what}>"))
}

/// Evaluate `template` with `parameters` (`{"name": {"value": …}}`) at `scope`.
pub fn expand(
    template: &Value,
    parameters: &Map<String, Value>,
    scope: &Scope,
    refs: &dyn References,
) -> Result<Expansion, ArmError> {
    let mut deployments = BTreeMap::new();
    expand_at(template, parameters, scope, refs, "", &mut deployments)
}

fn err(at: &str, message: impl Into<String>) -> ArmError {
    ArmError { at: if at.is_empty() { "template".into() } else { at.to_string() }, message: message.into() }
}

/// A template's evaluation context.
struct Ctx<'a> {
    template: &'a Value,
    params: Map<String, Value>,
    scope: &'a Scope,
    refs: &'a dyn References,
    /// Nested deployments already expanded: lower-cased id → their outputs.
    deployments: &'a BTreeMap<String, Map<String, Value>>,
    /// Variables being evaluated (cycle guard).
    stack: std::cell::RefCell<Vec<String>>,
}

fn expand_at(
    template: &Value,
    parameters: &Map<String, Value>,
    scope: &Scope,
    refs: &dyn References,
    path: &str,
    deployments: &mut BTreeMap<String, Map<String, Value>>,
) -> Result<Expansion, ArmError> {
    let at = |p: &str| if path.is_empty() { p.to_string() } else { format!("{path}.{p}") };
    let declared = template.get("parameters").and_then(Value::as_object).cloned().unwrap_or_default();
    for name in parameters.keys() {
        if !declared.contains_key(name) {
            return Err(err(
                &at("parameters"),
                format!("`{name}` is passed but the template declares no such parameter"),
            ));
        }
    }
    let mut out = Expansion::default();
    // Parameters: passed values, else defaults (which may be expressions over earlier ones).
    let mut params = Map::new();
    {
        let empty = BTreeMap::new();
        for (name, decl) in &declared {
            let passed = parameters.get(name).map(|p| p.get("value").cloned().unwrap_or(Value::Null));
            let value = match passed {
                Some(v) => v,
                None => match decl.get("defaultValue") {
                    Some(d) => {
                        let ctx = Ctx {
                            template,
                            params: params.clone(),
                            scope,
                            refs,
                            deployments: &empty,
                            stack: Default::default(),
                        };
                        ctx.eval_value(d, &at(&format!("parameters.{name}.defaultValue")))?
                    }
                    None => {
                        return Err(err(
                            &at(&format!("parameters.{name}")),
                            "has no value and no defaultValue: cloudgrant must pass it",
                        ))
                    }
                },
            };
            params.insert(name.clone(), value);
        }
    }
    let resources = match template.get("resources") {
        Some(Value::Array(r)) => r.clone(),
        Some(_) => return Err(err(&at("resources"), "must be an array (symbolic-name templates are not supported)")),
        None => Vec::new(),
    };
    for (i, raw) in resources.iter().enumerate() {
        let rpath = at(&format!("resources[{i}]"));
        for unsupported in ["copy", "condition", "existing"] {
            if raw.get(unsupported).is_some() {
                return Err(err(&rpath, format!("uses `{unsupported}`, which cloudgrant's preview does not evaluate")));
            }
        }
        let ctx = Ctx { template, params: params.clone(), scope, refs, deployments, stack: Default::default() };
        let field = |key: &str| raw.get(key).map(|v| ctx.eval_value(v, &format!("{rpath}.{key}"))).transpose();
        let type_ = match field("type")? {
            Some(Value::String(t)) if t.contains('/') => t,
            _ => return Err(err(&format!("{rpath}.type"), "is missing or not a resource type (`Namespace/type`)")),
        };
        let name = match field("name")? {
            Some(Value::String(n)) => n,
            _ => return Err(err(&format!("{rpath}.name"), "is missing or not a string")),
        };
        let known = !is_unknown(&name);
        let location = field("location")?.and_then(|v| v.as_str().map(str::to_string));
        let tags = field("tags")?.unwrap_or(Value::Null);
        let depends_on = match field("dependsOn")? {
            Some(Value::Array(d)) => d.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect(),
            Some(_) => return Err(err(&format!("{rpath}.dependsOn"), "must be an array")),
            None => Vec::new(),
        };
        let meta = raw.get("metadata");
        let id = meta.and_then(|m| m.pointer("/cloudgrant/id")).and_then(Value::as_str).map(str::to_string);
        let why = meta.and_then(|m| m.get("description")).and_then(Value::as_str).unwrap_or_default().to_string();
        let exceptions = crate::plan::exceptions::read(meta, crate::plan::exceptions::Dialect::Arm)
            .map_err(|m| err(&format!("{rpath}.metadata"), m))?;
        let is_deployment = type_.eq_ignore_ascii_case("Microsoft.Resources/deployments");
        let target_rg = match field("resourceGroup")? {
            Some(Value::String(rg)) => Some(rg),
            Some(_) => return Err(err(&format!("{rpath}.resourceGroup"), "must be a string")),
            None => scope.resource_group.clone(),
        };
        // Properties: a nested template is left for its own evaluation (inner scope).
        let properties = match raw.get("properties") {
            Some(Value::Object(p)) if is_deployment => {
                let mut evaluated = Map::new();
                for (k, v) in p {
                    if k == "template" {
                        evaluated.insert(k.clone(), v.clone());
                    } else {
                        evaluated.insert(k.clone(), ctx.eval_value(v, &format!("{rpath}.properties.{k}"))?);
                    }
                }
                Value::Object(evaluated)
            }
            Some(p) => ctx.eval_value(p, &format!("{rpath}.properties"))?,
            None => Value::Null,
        };
        let extension_scope = match field("scope")? {
            Some(Value::String(s)) if s.starts_with('/') => Some(s),
            Some(Value::String(s)) => Some(format!("{}/providers/{s}", scope.id())),
            Some(_) => return Err(err(&format!("{rpath}.scope"), "must be a string")),
            None => None,
        };
        let is_extension = type_.starts_with("Microsoft.Authorization/");
        let owner = if is_extension { Some(extension_scope.clone().unwrap_or_else(|| scope.id())) } else { None };
        let resource_id = Some(if type_.eq_ignore_ascii_case("Microsoft.Authorization/roleDefinitions") {
            // Role definitions live at the subscription, whichever scope deploys them.
            provider_id(&scope.subscription_path(), &type_, &name)
        } else if let Some(owner) = &owner {
            provider_id(owner, &type_, &name)
        } else if type_.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") {
            format!("/subscriptions/{}/resourceGroups/{name}", scope.subscription_id)
        } else {
            match &target_rg {
                Some(rg) => {
                    provider_id(&format!("/subscriptions/{}/resourceGroups/{rg}", scope.subscription_id), &type_, &name)
                }
                None => provider_id(&scope.subscription_path(), &type_, &name),
            }
        });
        let expanded = Expanded {
            id,
            type_: type_.clone(),
            name: known.then(|| name.clone()),
            raw_name: name.clone(),
            resource_group: if type_.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") {
                None
            } else {
                target_rg.clone()
            },
            resource_id: resource_id.clone(),
            scope: owner,
            location,
            properties: properties.clone(),
            tags,
            depends_on,
            deployment: scope.deployment.clone(),
            why,
            exceptions,
            path: rpath.clone(),
        };
        drop(ctx);
        out.resources.push(expanded);
        if is_deployment {
            let inner = properties.get("template").cloned().ok_or_else(|| {
                err(
                    &format!("{rpath}.properties"),
                    "a nested deployment needs an inline `template` (templateLink is not supported)",
                )
            })?;
            let scoped = properties.pointer("/expressionEvaluationOptions/scope").and_then(Value::as_str);
            if !scoped.is_some_and(|s| s.eq_ignore_ascii_case("inner")) {
                return Err(err(
                    &format!("{rpath}.properties.expressionEvaluationOptions"),
                    "nested templates must use `\"scope\": \"inner\"` (outer scope is not evaluated)",
                ));
            }
            let inner_params = properties.get("parameters").and_then(Value::as_object).cloned().unwrap_or_default();
            let inner_scope = Scope {
                resource_group: target_rg.clone(),
                deployment: name.clone(),
                location: scope.location.clone(),
                ..scope.clone()
            };
            let nested = expand_at(
                &inner,
                &inner_params,
                &inner_scope,
                refs,
                &format!("{rpath}.properties.template"),
                deployments,
            )?;
            if let Some(id) = &resource_id {
                deployments.insert(id.to_ascii_lowercase(), nested.outputs.clone());
            }
            out.resources.extend(nested.resources);
        }
    }
    let ctx = Ctx { template, params, scope, refs, deployments, stack: Default::default() };
    if let Some(outputs) = template.get("outputs").and_then(Value::as_object) {
        for (name, o) in outputs {
            let v = o.get("value").map(|v| ctx.eval_value(v, &at(&format!("outputs.{name}.value")))).transpose()?;
            out.outputs.insert(name.clone(), v.unwrap_or(Value::Null));
        }
    }
    Ok(out)
}

/// `{owner}/providers/{Namespace}/{t1}/{n1}/{t2}/{n2}`: a child's name is `parent/child`.
fn provider_id(owner: &str, type_: &str, name: &str) -> String {
    let mut parts = type_.split('/');
    let namespace = parts.next().unwrap_or_default();
    let types: Vec<&str> = parts.collect();
    let names: Vec<&str> = name.split('/').collect();
    let mut id = format!("{owner}/providers/{namespace}");
    for (i, t) in types.iter().enumerate() {
        id.push('/');
        id.push_str(t);
        if let Some(n) = names.get(i) {
            id.push('/');
            id.push_str(n);
        }
    }
    id
}
