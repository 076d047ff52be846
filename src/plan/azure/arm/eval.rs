//! Evaluating ARM expressions: the functions of the subset (see the parent module).

use serde_json::{Map, Value};

use super::parse::{Expr, Parser};
use super::*;

impl Ctx<'_> {
    /// Evaluate every expression string inside `v`.
    pub(super) fn eval_value(&self, v: &Value, at: &str) -> Result<Value, ArmError> {
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

    pub(super) fn eval_string(&self, s: &str, at: &str) -> Result<Value, ArmError> {
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

    pub(super) fn eval(&self, e: &Expr, at: &str) -> Result<Value, ArmError> {
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

    pub(super) fn strings(&self, args: &[Expr], at: &str) -> Result<Vec<String>, ArmError> {
        args.iter()
            .map(|a| match self.eval(a, at)? {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(err(at, format!("expected a string, got {other}"))),
            })
            .collect()
    }

    pub(super) fn call(&self, name: &str, args: &[Expr], at: &str) -> Result<Value, ArmError> {
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

pub(super) fn json_type(v: &Value) -> &'static str {
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
pub(super) fn member(b: &Value, key: &str, at: &str) -> Result<Value, ArmError> {
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
pub(super) fn split_resource_args<'a>(
    s: &'a [String],
    at: &str,
) -> Result<(&'a [String], &'a str, &'a [String]), ArmError> {
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
pub(super) fn format_args_arm(fmt: &str, args: &[String], at: &str) -> Result<String, ArmError> {
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
