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

impl Ctx<'_> {
    /// Evaluate every expression string inside `v`.
    fn eval_value(&self, v: &Value, at: &str) -> Result<Value, ArmError> {
        match v {
            Value::String(s) => self.eval_string(s, at),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, x)| self.eval_value(x, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, x) in o {
                    out.insert(k.clone(), self.eval_value(x, &format!("{at}.{k}"))?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn eval_string(&self, s: &str, at: &str) -> Result<Value, ArmError> {
        if let Some(rest) = s.strip_prefix("[[") {
            return Ok(Value::String(format!("[{rest}")));
        }
        match s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            Some(expr) => {
                let mut p = Parser { src: expr, pos: 0, at };
                let e = p.expr()?;
                p.skip_ws();
                if p.pos != expr.len() {
                    return Err(p.fail("unexpected text after the expression"));
                }
                self.eval(&e, at)
            }
            None => Ok(Value::String(s.to_string())),
        }
    }

    fn eval(&self, e: &Expr, at: &str) -> Result<Value, ArmError> {
        match e {
            Expr::Str(s) => Ok(Value::String(s.clone())),
            Expr::Num(n) => Ok(Value::from(*n)),
            Expr::Ident(i) => match i.as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                "null" => Ok(Value::Null),
                other => Err(err(at, format!("`{other}` is not a value; functions are called as `{other}(…)`"))),
            },
            Expr::Member(base, key) => {
                let b = self.eval(base, at)?;
                Ok(member(&b, key, at)?)
            }
            Expr::Index(base, index) => {
                let b = self.eval(base, at)?;
                let i = self.eval(index, at)?;
                match (&b, &i) {
                    (Value::String(s), _) if is_unknown(s) => Ok(b.clone()),
                    (Value::Array(a), Value::Number(n)) => {
                        let n = n.as_u64().unwrap_or(u64::MAX) as usize;
                        a.get(n).cloned().ok_or_else(|| err(at, format!("index {n} is outside the array")))
                    }
                    (Value::Object(_), Value::String(k)) => member(&b, k, at),
                    _ => Err(err(at, "cannot index this value")),
                }
            }
            Expr::Call(name, args) => self.call(name, args, at),
        }
    }

    fn strings(&self, args: &[Expr], at: &str) -> Result<Vec<String>, ArmError> {
        args.iter()
            .map(|a| match self.eval(a, at)? {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(err(at, format!("expected a string, got {other}"))),
            })
            .collect()
    }

    fn call(&self, name: &str, args: &[Expr], at: &str) -> Result<Value, ArmError> {
        let arity = |min: usize, max: usize| {
            if args.len() < min || args.len() > max {
                Err(err(at, format!("`{name}` takes {min}-{max} arguments, not {}", args.len())))
            } else {
                Ok(())
            }
        };
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "parameters" => {
                arity(1, 1)?;
                let n = self.strings(args, at)?.remove(0);
                self.params.get(&n).cloned().ok_or_else(|| err(at, format!("no parameter `{n}` is declared")))
            }
            "variables" => {
                arity(1, 1)?;
                let n = self.strings(args, at)?.remove(0);
                let raw = self
                    .template
                    .get("variables")
                    .and_then(|v| v.get(&n))
                    .ok_or_else(|| err(at, format!("no variable `{n}` is declared")))?;
                if self.stack.borrow().contains(&n) {
                    return Err(err(at, format!("variable `{n}` refers to itself")));
                }
                self.stack.borrow_mut().push(n.clone());
                let v = self.eval_value(raw, &format!("variables.{n}"));
                self.stack.borrow_mut().pop();
                v
            }
            "concat" => {
                let vals: Vec<Value> = args.iter().map(|a| self.eval(a, at)).collect::<Result<_, _>>()?;
                if vals.iter().all(Value::is_array) && !vals.is_empty() {
                    Ok(Value::Array(vals.into_iter().flat_map(|v| v.as_array().cloned().unwrap_or_default()).collect()))
                } else {
                    Ok(Value::String(self.strings(args, at)?.concat()))
                }
            }
            "format" => {
                if args.is_empty() {
                    return Err(err(at, "`format` needs a format string"));
                }
                let parts = self.strings(args, at)?;
                Ok(Value::String(format_args_arm(&parts[0], &parts[1..], at)?))
            }
            "tolower" => {
                arity(1, 1)?;
                Ok(Value::String(self.strings(args, at)?.remove(0).to_lowercase()))
            }
            "toupper" => {
                arity(1, 1)?;
                Ok(Value::String(self.strings(args, at)?.remove(0).to_uppercase()))
            }
            "string" => {
                arity(1, 1)?;
                Ok(match self.eval(&args[0], at)? {
                    Value::String(s) => Value::String(s),
                    other => Value::String(other.to_string()),
                })
            }
            "replace" => {
                arity(3, 3)?;
                let s = self.strings(args, at)?;
                Ok(Value::String(s[0].replace(&s[1], &s[2])))
            }
            "createarray" => Ok(Value::Array(args.iter().map(|a| self.eval(a, at)).collect::<Result<_, _>>()?)),
            "union" => {
                let vals: Vec<Value> = args.iter().map(|a| self.eval(a, at)).collect::<Result<_, _>>()?;
                if vals.iter().all(Value::is_object) {
                    let mut out = Map::new();
                    for v in vals {
                        if let Value::Object(o) = v {
                            out.extend(o);
                        }
                    }
                    Ok(Value::Object(out))
                } else {
                    Err(err(at, "`union` is supported for objects only"))
                }
            }
            "equals" => {
                arity(2, 2)?;
                Ok(Value::Bool(self.eval(&args[0], at)? == self.eval(&args[1], at)?))
            }
            "not" => {
                arity(1, 1)?;
                match self.eval(&args[0], at)? {
                    Value::Bool(b) => Ok(Value::Bool(!b)),
                    _ => Err(err(at, "`not` needs a boolean")),
                }
            }
            "if" => {
                arity(3, 3)?;
                match self.eval(&args[0], at)? {
                    Value::Bool(true) => self.eval(&args[1], at),
                    Value::Bool(false) => self.eval(&args[2], at),
                    _ => Err(err(at, "`if` needs a boolean condition")),
                }
            }
            "empty" => {
                arity(1, 1)?;
                Ok(Value::Bool(match self.eval(&args[0], at)? {
                    Value::Null => true,
                    Value::String(s) => s.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    Value::Object(o) => o.is_empty(),
                    _ => false,
                }))
            }
            "length" => {
                arity(1, 1)?;
                Ok(Value::from(match self.eval(&args[0], at)? {
                    Value::String(s) => s.chars().count(),
                    Value::Array(a) => a.len(),
                    Value::Object(o) => o.len(),
                    _ => return Err(err(at, "`length` needs a string, array or object")),
                }))
            }
            "resourcegroup" => {
                arity(0, 0)?;
                let rg = self
                    .scope
                    .resource_group
                    .clone()
                    .ok_or_else(|| err(at, "`resourceGroup()` is not available at subscription scope"))?;
                Ok(serde_json::json!({
                    "id": self.scope.id(),
                    "name": rg,
                    "type": "Microsoft.Resources/resourceGroups",
                    "location": self.scope.location,
                }))
            }
            "subscription" => {
                arity(0, 0)?;
                Ok(serde_json::json!({
                    "id": self.scope.subscription_path(),
                    "subscriptionId": self.scope.subscription_id,
                    "tenantId": self.scope.tenant_id,
                }))
            }
            "tenant" => {
                arity(0, 0)?;
                Ok(serde_json::json!({ "tenantId": self.scope.tenant_id }))
            }
            "deployment" => {
                arity(0, 0)?;
                Ok(serde_json::json!({ "name": self.scope.deployment }))
            }
            "resourceid" => {
                let s = self.strings(args, at)?;
                let (lead, type_, names) = split_resource_args(&s, at)?;
                let (sub, rg) = match lead {
                    [] => (self.scope.subscription_id.clone(), self.scope.resource_group.clone()),
                    [rg] => (self.scope.subscription_id.clone(), Some(rg.clone())),
                    [sub, rg] => (sub.clone(), Some(rg.clone())),
                    _ => {
                        return Err(err(at, "`resourceId` takes at most a subscription id and a group before the type"))
                    }
                };
                let owner = match rg {
                    Some(rg) => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
                    None => format!("/subscriptions/{sub}"),
                };
                Ok(Value::String(provider_id(&owner, type_, &names.join("/"))))
            }
            "subscriptionresourceid" => {
                let s = self.strings(args, at)?;
                let (lead, type_, names) = split_resource_args(&s, at)?;
                let sub = match lead {
                    [] => self.scope.subscription_id.clone(),
                    [sub] => sub.clone(),
                    _ => {
                        return Err(err(at, "`subscriptionResourceId` takes at most a subscription id before the type"))
                    }
                };
                Ok(Value::String(provider_id(&format!("/subscriptions/{sub}"), type_, &names.join("/"))))
            }
            "extensionresourceid" => {
                let s = self.strings(args, at)?;
                if s.len() < 3 {
                    return Err(err(at, "`extensionResourceId` needs a scope id, a type and a name"));
                }
                Ok(Value::String(provider_id(s[0].trim_end_matches('/'), &s[1], &s[2..].join("/"))))
            }
            "guid" => {
                if args.is_empty() {
                    return Err(err(at, "`guid` needs at least one argument"));
                }
                let s = self.strings(args, at)?;
                match self.refs.guid(&s) {
                    Some(g) if !s.iter().any(|x| is_unknown(x)) => Ok(Value::String(g)),
                    // Azure's own hash: the preview cannot know it. Equal inputs give equal
                    // texts (no `/` in them, so ids built from them keep their shape).
                    _ => Ok(unknown(&format!("GUID set by Azure #{}", &guid(&s)[..8]))),
                }
            }
            "reference" => {
                arity(1, 3)?;
                let s = self.strings(args, at)?;
                let id = &s[0];
                let full = s.get(2).is_some_and(|f| f.eq_ignore_ascii_case("full"));
                if !id.starts_with('/') {
                    return Err(err(at, "`reference` needs a full resource id (use resourceId(…))"));
                }
                if let Some(outputs) = self.deployments.get(&id.to_ascii_lowercase()) {
                    let outputs: Map<String, Value> = outputs
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::json!({ "type": json_type(v), "value": v })))
                        .collect();
                    return Ok(serde_json::json!({ "outputs": outputs }));
                }
                if is_unknown(id) {
                    return Ok(unknown(&format!("set by Azure for {}", id.rsplit('/').next().unwrap_or(id))));
                }
                match self.refs.reference(id, full) {
                    Some(v) => Ok(v),
                    None => Ok(unknown(&format!("set by Azure for {}", id.rsplit('/').next().unwrap_or(id)))),
                }
            }
            "uniquestring" => Err(err(
                at,
                "`uniqueString` is not evaluated by cloudgrant: its hash is Azure's; pass the name as a parameter",
            )),
            _ => Err(err(at, format!("the function `{name}` is not supported by cloudgrant's evaluator"))),
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "String",
        Value::Bool(_) => "Bool",
        Value::Number(_) => "Int",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
        Value::Null => "String",
    }
}

/// `x.key` on a value: unknown stays unknown (with the key named).
fn member(b: &Value, key: &str, at: &str) -> Result<Value, ArmError> {
    match b {
        Value::String(s) if is_unknown(s) => {
            Ok(Value::String(format!("<{} {key}>", s.trim_start_matches('<').trim_end_matches('>'))))
        }
        Value::Object(o) => o
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| err(at, format!("the value has no property `{key}`"))),
        _ => Err(err(at, format!("cannot read `.{key}` of {b}"))),
    }
}

/// Splits `resourceId`-style arguments: leading scope values, the type, then one name per type
/// segment after the namespace.
fn split_resource_args<'a>(s: &'a [String], at: &str) -> Result<(&'a [String], &'a str, &'a [String]), ArmError> {
    let t =
        s.iter().position(|x| x.contains('/')).ok_or_else(|| err(at, "no resource type (`Namespace/type`) given"))?;
    let type_ = s[t].as_str();
    let names = &s[t + 1..];
    let segments = type_.split('/').count() - 1;
    if names.len() != segments {
        return Err(err(at, format!("`{type_}` needs {segments} name(s), {} given", names.len())));
    }
    Ok((&s[..t], type_, names))
}

/// `format('{0}-{1}', a, b)`; `{{` and `}}` are literal braces.
fn format_args_arm(fmt: &str, args: &[String], at: &str) -> Result<String, ArmError> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut n = String::new();
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    n.push(d);
                }
                let i: usize = n.trim().parse().map_err(|_| err(at, format!("`{{{n}}}` is not a placeholder")))?;
                out.push_str(args.get(i).ok_or_else(|| err(at, format!("`{{{i}}}` has no argument")))?);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A deterministic GUID-shaped value from strings (FNV mixing). Not Azure's `guid()` hash: the
/// preview labels such names as set by Azure; the sandbox's simulated Azure uses these as its names.
pub fn guid(parts: &[String]) -> String {
    let joined = parts.join("-");
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in joined.bytes() {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(7);
    }
    let hi = a.to_be_bytes();
    let lo = b.to_be_bytes();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi);
    bytes[8..].copy_from_slice(&lo);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Str(String),
    Num(i64),
    Ident(String),
    Call(String, Vec<Expr>),
    Member(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    at: &'a str,
}

impl Parser<'_> {
    fn fail(&self, what: &str) -> ArmError {
        err(self.at, format!("{what} at character {} of `[{}]`", self.pos + 1, self.src))
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<Expr, ArmError> {
        self.skip_ws();
        let mut e = match self.peek() {
            Some('\'') => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => return Err(self.fail("unterminated string")),
                        Some('\'') => {
                            self.pos += 1;
                            if self.peek() == Some('\'') {
                                self.pos += 1;
                                s.push('\'');
                            } else {
                                break;
                            }
                        }
                        Some(c) => {
                            self.pos += c.len_utf8();
                            s.push(c);
                        }
                    }
                }
                Expr::Str(s)
            }
            Some(c) if c.is_ascii_digit() || c == '-' => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                Expr::Num(self.src[start..self.pos].parse().map_err(|_| self.fail("bad number"))?)
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                let name = self.src[start..self.pos].to_string();
                if self.eat('(') {
                    let mut args = Vec::new();
                    if !self.eat(')') {
                        loop {
                            args.push(self.expr()?);
                            if self.eat(')') {
                                break;
                            }
                            if !self.eat(',') {
                                return Err(self.fail("expected `,` or `)`"));
                            }
                        }
                    }
                    Expr::Call(name, args)
                } else {
                    Expr::Ident(name)
                }
            }
            _ => return Err(self.fail("expected a string, number or function call")),
        };
        loop {
            if self.eat('.') {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                if start == self.pos {
                    return Err(self.fail("expected a property name after `.`"));
                }
                e = Expr::Member(Box::new(e), self.src[start..self.pos].to_string());
            } else if self.eat('[') {
                let i = self.expr()?;
                if !self.eat(']') {
                    return Err(self.fail("expected `]`"));
                }
                e = Expr::Index(Box::new(e), Box::new(i));
            } else {
                return Ok(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(rg: Option<&str>) -> Scope {
        Scope {
            subscription_id: "sub".into(),
            tenant_id: "tid".into(),
            location: "westeurope".into(),
            resource_group: rg.map(str::to_string),
            deployment: "d".into(),
        }
    }

    fn eval(expr: &str, rg: Option<&str>) -> Result<Value, ArmError> {
        let template = json!({
            "parameters": {"p": {"type": "string"}},
            "variables": {"v": "[concat(parameters('p'), '-v')]", "w": "[variables('v')]", "loop": "[variables('loop')]"},
        });
        let s = scope(rg);
        let deployments = BTreeMap::new();
        let ctx = Ctx {
            template: &template,
            params: [("p".to_string(), json!("x"))].into_iter().collect(),
            scope: &s,
            refs: &NoReferences,
            deployments: &deployments,
            stack: Default::default(),
        };
        ctx.eval_string(expr, "t")
    }

    #[test]
    fn evaluates_the_functions_the_templates_use() {
        assert_eq!(eval("[format('{0}-{1}', parameters('p'), 'y')]", None).unwrap(), json!("x-y"));
        assert_eq!(eval("[variables('w')]", None).unwrap(), json!("x-v"));
        assert_eq!(eval("[toLower('AbC')]", None).unwrap(), json!("abc"));
        assert_eq!(eval("[[not an expression]", None).unwrap(), json!("[not an expression]"));
        assert_eq!(eval("plain", None).unwrap(), json!("plain"));
        assert_eq!(eval("[concat('it''s', '!')]", None).unwrap(), json!("it's!"));
        assert_eq!(
            eval("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'n', 's')]", Some("rg")).unwrap(),
            json!("/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/n/subnets/s")
        );
        assert_eq!(
            eval("[resourceId(subscription().subscriptionId, 'g', 'Microsoft.Resources/deployments', 'x')]", None)
                .unwrap(),
            json!("/subscriptions/sub/resourceGroups/g/providers/Microsoft.Resources/deployments/x")
        );
        assert_eq!(
            eval("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'abc')]", Some("rg")).unwrap(),
            json!("/subscriptions/sub/providers/Microsoft.Authorization/roleDefinitions/abc")
        );
        assert_eq!(eval("[resourceGroup().id]", Some("rg")).unwrap(), json!("/subscriptions/sub/resourceGroups/rg"));
        assert_eq!(eval("[subscription().tenantId]", None).unwrap(), json!("tid"));
        let g = eval("[guid('a', 'b')]", None).unwrap();
        assert!(is_unknown(g.as_str().unwrap()), "Azure's hash is Azure's: {g}");
        assert_eq!(g, eval("[guid('a', 'b')]", None).unwrap(), "equal inputs, equal unknowns");
        assert_ne!(g, eval("[guid('a', 'c')]", None).unwrap());
        assert!(!g.as_str().unwrap().contains('/'));
        assert_eq!(guid(&["a".into(), "b".into()]).len(), 36);
    }

    #[test]
    fn unknown_values_stay_unknown() {
        let r = eval("[reference('/subscriptions/sub/x/y/id1', '2023-01-31').principalId]", None).unwrap();
        assert!(is_unknown(r.as_str().unwrap()), "{r}");
        let g = eval("[guid('a', reference('/subscriptions/sub/x/y/id1').principalId)]", None).unwrap();
        assert!(is_unknown(g.as_str().unwrap()));
    }

    #[test]
    fn bad_expressions_name_the_place_and_the_problem() {
        for (expr, says) in [
            ("[uniqueString('a')]", "uniqueString"),
            ("[parameters('nope')]", "no parameter `nope`"),
            ("[variables('loop')]", "refers to itself"),
            ("[concat('a']", "expected `,` or `)`"),
            ("[resourceGroup().id]", "subscription scope"),
            ("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'n')]", "needs 2 name(s)"),
            ("[frobnicate()]", "`frobnicate` is not supported"),
        ] {
            let e = eval(expr, None).unwrap_err();
            assert!(e.to_string().contains(says), "{expr}: {e}");
            assert!(e.to_string().starts_with("t:") || e.to_string().starts_with("variables.loop:"), "{e}");
        }
    }

    #[test]
    fn expands_nested_deployments_with_their_outputs() {
        let template = json!({
            "parameters": {"name": {"type": "string"}, "prefix": {"type": "string", "defaultValue": "[concat(parameters('name'), '-p')]"}},
            "resources": [
                {"type": "Microsoft.Resources/resourceGroups", "name": "[parameters('prefix')]", "location": "westeurope",
                 "metadata": {"description": "the group", "cloudgrant": {"id": "Group"}}},
                {"type": "Microsoft.Resources/deployments", "name": "inner", "resourceGroup": "[parameters('prefix')]",
                 "properties": {"expressionEvaluationOptions": {"scope": "inner"},
                   "parameters": {"n": {"value": "[parameters('name')]"}},
                   "template": {"parameters": {"n": {"type": "string"}},
                     "resources": [
                       {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "name": "[parameters('n')]",
                        "metadata": {"cloudgrant": {"id": "Identity"}}},
                       {"type": "Microsoft.Authorization/roleAssignments",
                        "name": "[guid(parameters('n'), reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('n'))).principalId)]",
                        "scope": "[format('Microsoft.KeyVault/vaults/{0}', parameters('n'))]",
                        "properties": {"principalId": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('n'))).principalId]"}}
                     ],
                     "outputs": {"rg": {"type": "string", "value": "[resourceGroup().name]"}}}}}
            ],
            "outputs": {"fromInner": {"type": "string", "value": "[reference(resourceId(subscription().subscriptionId, parameters('prefix'), 'Microsoft.Resources/deployments', 'inner')).outputs.rg.value]"}}
        });
        let params: Map<String, Value> = [("name".to_string(), json!({"value": "n1"}))].into_iter().collect();
        let x = expand(&template, &params, &scope(None), &NoReferences).unwrap();
        assert_eq!(x.resources.len(), 4);
        assert_eq!(x.resources[0].resource_id.as_deref(), Some("/subscriptions/sub/resourceGroups/n1-p"));
        assert_eq!(x.resources[0].id.as_deref(), Some("Group"));
        assert_eq!(x.resources[0].why, "the group");
        assert_eq!(
            x.resources[2].resource_id.as_deref(),
            Some(
                "/subscriptions/sub/resourceGroups/n1-p/providers/Microsoft.ManagedIdentity/userAssignedIdentities/n1"
            )
        );
        assert_eq!(x.resources[2].deployment, "inner");
        let ra = &x.resources[3];
        assert_eq!(ra.name, None, "a name built from a principal id is Azure's");
        assert_eq!(
            ra.scope.as_deref(),
            Some("/subscriptions/sub/resourceGroups/n1-p/providers/Microsoft.KeyVault/vaults/n1")
        );
        assert!(is_unknown(ra.properties["principalId"].as_str().unwrap()));
        assert_eq!(x.outputs["fromInner"], json!("n1-p"));

        struct Known;
        impl References for Known {
            fn reference(&self, id: &str, _: bool) -> Option<Value> {
                id.contains("userAssignedIdentities").then(|| json!({"principalId": "pid-1"}))
            }
            fn guid(&self, parts: &[String]) -> Option<String> {
                Some(guid(parts))
            }
        }
        let y = expand(&template, &params, &scope(None), &Known).unwrap();
        assert_eq!(y.resources[3].properties["principalId"], json!("pid-1"));
        assert!(y.resources[3].name.is_some());
    }

    #[test]
    fn refuses_what_it_cannot_evaluate() {
        let copy = json!({"resources": [{"type": "A.B/c", "name": "x", "copy": {"name": "l", "count": 2}}]});
        let e = expand(&copy, &Map::new(), &scope(None), &NoReferences).unwrap_err();
        assert!(e.to_string().contains("resources[0]") && e.to_string().contains("copy"), "{e}");
        let extra: Map<String, Value> = [("zz".to_string(), json!({"value": 1}))].into_iter().collect();
        let e = expand(&json!({"resources": []}), &extra, &scope(None), &NoReferences).unwrap_err();
        assert!(e.to_string().contains("`zz`"), "{e}");
        let missing = json!({"parameters": {"a": {"type": "string"}}, "resources": []});
        let e = expand(&missing, &Map::new(), &scope(None), &NoReferences).unwrap_err();
        assert!(e.to_string().contains("parameters.a"), "{e}");
    }
}
