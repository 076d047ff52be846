//! CloudFormation templates: parsing (short-form `!Ref`/`!Sub` tags normalised to their long
//! form) and a small evaluator for the intrinsic functions the templates use. The same
//! evaluator renders the preview (unknown ids become `<Logical.Attr>` placeholders) and drives
//! the sandbox (with the ids it made up).

use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{file}: {location}: {message}")]
pub struct TemplateError {
    pub file: String,
    pub location: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub file: String,
    pub text: &'static str,
    pub description: String,
    pub parameters: Vec<TemplateParameter>,
    pub resources: Vec<TemplateResource>,
    pub outputs: Vec<(String, Value)>,
    /// The outputs the vendor receives when the install is done, in order
    /// (`Metadata.cloudgrant.send_to_vendor` at the top of the template).
    pub send_to_vendor: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateParameter {
    pub name: String,
    pub type_: String,
    pub default: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateResource {
    pub id: String,
    pub type_: String,
    pub deletion_policy: Option<String>,
    pub why: Option<String>,
    pub depends_on: Vec<String>,
    pub properties: Value,
    /// Scanner checks set aside on purpose (`Metadata.checkov.skip`).
    pub exceptions: Vec<crate::model::Exception>,
}

impl Template {
    pub fn parse(file: &str, text: &'static str) -> Result<Template, TemplateError> {
        let err = |location: &str, message: String| TemplateError {
            file: file.to_string(),
            location: location.to_string(),
            message,
        };
        let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| err("YAML", e.to_string()))?;
        let root = to_json(yaml).map_err(|m| err("YAML", m))?;
        let root = root.as_object().ok_or_else(|| err("top level", "the template is not a mapping".into()))?;
        let description = root.get("Description").and_then(Value::as_str).unwrap_or_default().trim().to_string();
        let mut parameters = Vec::new();
        if let Some(params) = root.get("Parameters").and_then(Value::as_object) {
            for (name, p) in params {
                parameters.push(TemplateParameter {
                    name: name.clone(),
                    type_: p.get("Type").and_then(Value::as_str).unwrap_or("String").to_string(),
                    default: p.get("Default").cloned(),
                });
            }
        }
        let resources_map = root
            .get("Resources")
            .and_then(Value::as_object)
            .ok_or_else(|| err("Resources", "the template has no Resources section".into()))?;
        let mut resources = Vec::new();
        for (id, r) in resources_map {
            let loc = format!("resource {id}");
            let type_ =
                r.get("Type").and_then(Value::as_str).ok_or_else(|| err(&loc, "it has no Type".into()))?.to_string();
            let why = r.pointer("/Metadata/cloudgrant/why").and_then(Value::as_str).map(|s| s.trim().to_string());
            let exceptions = super::exceptions::read(r.get("Metadata"), super::exceptions::Dialect::CloudFormation)
                .map_err(|m| err(&loc, m))?;
            let mut depends_on: Vec<String> = match r.get("DependsOn") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
                _ => Vec::new(),
            };
            let properties = r.get("Properties").cloned().unwrap_or(Value::Object(Map::new()));
            for referenced in references(&properties) {
                if resources_map.contains_key(&referenced) && !depends_on.contains(&referenced) {
                    depends_on.push(referenced);
                }
            }
            resources.push(TemplateResource {
                id: id.clone(),
                type_,
                deletion_policy: r.get("DeletionPolicy").and_then(Value::as_str).map(String::from),
                why,
                depends_on,
                properties,
                exceptions,
            });
        }
        for r in &resources {
            if let Some(missing) = r.depends_on.iter().find(|d| !resources_map.contains_key(*d)) {
                return Err(err(
                    &format!("resource {}", r.id),
                    format!("DependsOn names `{missing}`, which is not a resource here"),
                ));
            }
        }
        let outputs: Vec<(String, Value)> = root
            .get("Outputs")
            .and_then(Value::as_object)
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.get("Value").cloned().unwrap_or(Value::Null))).collect())
            .unwrap_or_default();
        let send_to_vendor: Vec<String> =
            match root.get("Metadata").and_then(|m| m.pointer("/cloudgrant/send_to_vendor")) {
                None => Vec::new(),
                Some(Value::Array(a)) => {
                    a.iter().map(|v| v.as_str().map(String::from)).collect::<Option<_>>().ok_or_else(|| {
                        err("Metadata.cloudgrant.send_to_vendor", "it must be a list of output names".into())
                    })?
                }
                Some(_) => {
                    return Err(err("Metadata.cloudgrant.send_to_vendor", "it must be a list of output names".into()))
                }
            };
        if let Some(missing) = send_to_vendor.iter().find(|n| !outputs.iter().any(|(o, _)| o == *n)) {
            return Err(err(
                "Metadata.cloudgrant.send_to_vendor",
                format!("`{missing}` is not an output of the template"),
            ));
        }
        Ok(Template { file: file.to_string(), text, description, parameters, resources, outputs, send_to_vendor })
    }

    pub fn resource(&self, id: &str) -> Option<&TemplateResource> {
        self.resources.iter().find(|r| r.id == id)
    }
}

/// YAML (with CloudFormation short-form tags) to JSON in the long form.
fn to_json(v: serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or_default())
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("a mapping key is not a string: {other:?}")),
                };
                out.insert(key, to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = to_json(t.value)?;
            let (key, value) = match name {
                "Ref" | "Condition" => (name.to_string(), inner),
                "GetAtt" => {
                    let value = match inner {
                        Value::String(s) => match s.split_once('.') {
                            Some((a, b)) => Value::Array(vec![a.into(), b.into()]),
                            None => return Err(format!("!GetAtt `{s}` is not Resource.Attribute")),
                        },
                        other => other,
                    };
                    ("Fn::GetAtt".to_string(), value)
                }
                other => (format!("Fn::{other}"), inner),
            };
            let mut m = Map::new();
            m.insert(key, value);
            Value::Object(m)
        }
    })
}

/// Names referenced by `Ref`, `Fn::GetAtt` and `Fn::Sub` anywhere in `v`.
pub fn references(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_refs(v, &mut out);
    out
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        Value::Object(m) => {
            if let Some(Value::String(name)) = m.get("Ref") {
                out.push(name.clone());
            }
            if let Some(Value::Array(a)) = m.get("Fn::GetAtt") {
                if let Some(Value::String(name)) = a.first() {
                    out.push(name.clone());
                }
            }
            if let Some(sub) = m.get("Fn::Sub") {
                let text = match sub {
                    Value::String(s) => Some(s.as_str()),
                    Value::Array(a) => a.first().and_then(Value::as_str),
                    _ => None,
                };
                if let Some(text) = text {
                    for var in sub_variables(text) {
                        out.push(var.split('.').next().unwrap_or(var).to_string());
                    }
                }
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        _ => {}
    }
}

/// The `${...}` variables of a `Fn::Sub` string (not the `${!literal}` escapes).
fn sub_variables(text: &str) -> Vec<&str> {
    let mut vars = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let var = &after[..end];
                if !var.starts_with('!') {
                    vars.push(var);
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    vars
}

/// What the evaluator knows: parameter values, the account and region, and resources' ids.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub params: BTreeMap<String, Value>,
    /// `None` while the account is not chosen: rendered as `<account>`.
    pub account: Option<String>,
    pub region: String,
    pub stack_name: String,
    /// Logical id → (`Ref` value, attributes). Missing entries render as placeholders.
    pub resources: BTreeMap<String, ResourceIds>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceIds {
    pub reference: Option<String>,
    pub attrs: BTreeMap<String, String>,
}

impl Context {
    fn pseudo(&self, name: &str) -> Option<String> {
        Some(match name {
            "AWS::AccountId" => self.account.clone().unwrap_or_else(|| "<account>".into()),
            "AWS::Region" => self.region.clone(),
            "AWS::Partition" => partition(&self.region).into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            "AWS::StackName" => self.stack_name.clone(),
            "AWS::NoValue" => String::new(),
            _ => return None,
        })
    }

    fn reference(&self, name: &str) -> Result<Value, String> {
        if let Some(v) = self.params.get(name) {
            return Ok(v.clone());
        }
        if let Some(p) = self.pseudo(name) {
            return Ok(Value::String(p));
        }
        match self.resources.get(name) {
            Some(ids) => Ok(Value::String(ids.reference.clone().unwrap_or_else(|| format!("<{name}>")))),
            None => Err(format!("`{name}` is neither a parameter nor a resource")),
        }
    }

    fn attribute(&self, name: &str, attr: &str) -> Result<String, String> {
        match self.resources.get(name) {
            Some(ids) => Ok(ids.attrs.get(attr).cloned().unwrap_or_else(|| format!("<{name}.{attr}>"))),
            None => Err(format!("Fn::GetAtt names `{name}`, which is not a resource")),
        }
    }

    /// Evaluate every intrinsic function in `v`.
    pub fn resolve(&self, v: &Value) -> Result<Value, String> {
        match v {
            Value::Array(a) => Ok(Value::Array(a.iter().map(|x| self.resolve(x)).collect::<Result<_, _>>()?)),
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().ok_or("empty")?;
                match k.as_str() {
                    "Ref" => self.reference(arg.as_str().ok_or("Ref takes a name")?),
                    "Fn::GetAtt" => {
                        let parts: Vec<&str> =
                            arg.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                        match parts.as_slice() {
                            [name, attr] => Ok(Value::String(self.attribute(name, attr)?)),
                            _ => Err("Fn::GetAtt takes [Resource, Attribute]".into()),
                        }
                    }
                    "Fn::Sub" => self.sub(arg).map(Value::String),
                    "Fn::Join" => {
                        let a = arg.as_array().filter(|a| a.len() == 2).ok_or("Fn::Join takes [separator, list]")?;
                        let sep = a[0].as_str().ok_or("Fn::Join separator must be a string")?;
                        let list = self.resolve(&a[1])?;
                        let items = list.as_array().ok_or("Fn::Join takes a list")?;
                        let strings: Vec<String> = items.iter().map(scalar_string).collect();
                        Ok(Value::String(strings.join(sep)))
                    }
                    "Fn::Select" => {
                        let a = arg.as_array().filter(|a| a.len() == 2).ok_or("Fn::Select takes [index, list]")?;
                        let idx = scalar_string(&self.resolve(&a[0])?)
                            .parse::<usize>()
                            .map_err(|_| "Fn::Select index is not a number")?;
                        let list = self.resolve(&a[1])?;
                        list.as_array()
                            .and_then(|l| l.get(idx).cloned())
                            .ok_or_else(|| format!("Fn::Select index {idx} is out of range"))
                    }
                    "Fn::GetAZs" => {
                        let region = match self.resolve(arg)? {
                            Value::String(s) if !s.is_empty() => s,
                            _ => self.region.clone(),
                        };
                        Ok(Value::Array(
                            ["a", "b", "c"].iter().map(|z| Value::String(format!("{region}{z}"))).collect(),
                        ))
                    }
                    "Fn::Split" => {
                        let a = arg.as_array().filter(|a| a.len() == 2).ok_or("Fn::Split takes [separator, string]")?;
                        let sep = a[0].as_str().ok_or("Fn::Split separator must be a string")?;
                        let s = scalar_string(&self.resolve(&a[1])?);
                        Ok(Value::Array(s.split(sep).map(|p| Value::String(p.into())).collect()))
                    }
                    k if k.starts_with("Fn::") => Err(format!("{k} is not supported by cloudgrant's preview")),
                    _ => Ok(Value::Object(self.resolve_map(m)?)),
                }
            }
            Value::Object(m) => Ok(Value::Object(self.resolve_map(m)?)),
            other => Ok(other.clone()),
        }
    }

    fn resolve_map(&self, m: &Map<String, Value>) -> Result<Map<String, Value>, String> {
        m.iter().map(|(k, v)| Ok((k.clone(), self.resolve(v)?))).collect()
    }

    fn sub(&self, arg: &Value) -> Result<String, String> {
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), None),
            Value::Array(a) if a.len() == 2 => (a[0].as_str().ok_or("Fn::Sub takes a string")?, a[1].as_object()),
            _ => return Err("Fn::Sub takes a string or [string, variables]".into()),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or("Fn::Sub has an unclosed ${")?;
            let var = &after[..end];
            if let Some(literal) = var.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.and_then(|m| m.get(var)) {
                out.push_str(&scalar_string(&self.resolve(v)?));
            } else if let Some((name, attr)) = var.split_once('.').filter(|_| !var.starts_with("AWS::")) {
                out.push_str(&self.attribute(name, attr)?);
            } else {
                out.push_str(&scalar_string(&self.reference(var)?));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The partition a region belongs to.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A scalar as text; lists are joined with commas (as CloudFormation does for list parameters).
pub fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(scalar_string).collect::<Vec<_>>().join(","),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context {
        let mut c = Context {
            region: "eu-west-1".into(),
            account: Some("123456789012".into()),
            stack_name: "s".into(),
            ..Default::default()
        };
        c.params.insert("Org".into(), json!("demo"));
        c.params.insert("Types".into(), json!(["a.b", "c.d"]));
        c.resources.insert(
            "Bucket".into(),
            ResourceIds {
                reference: Some("bkt".into()),
                attrs: [("Arn".to_string(), "arn:aws:s3:::bkt".to_string())].into(),
            },
        );
        c.resources.insert("Key".into(), ResourceIds::default());
        c
    }

    #[test]
    fn short_form_tags_become_long_form() {
        let t = Template::parse("t.yaml", "Resources:\n  A:\n    Type: X\n    Properties:\n      P: !Sub \"${Org}\"\n      Q: !GetAtt B.Arn\n      R: !Select [0, !GetAZs \"\"]\n  B:\n    Type: Y\n").expect("parse");
        let a = t.resource("A").expect("A");
        assert_eq!(a.properties["Q"], json!({"Fn::GetAtt": ["B", "Arn"]}));
        assert_eq!(a.properties["R"], json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]}));
        assert_eq!(a.depends_on, vec!["B"]);
    }

    #[test]
    fn evaluates_intrinsics_with_placeholders_for_unknown_ids() {
        let c = ctx();
        assert_eq!(
            c.resolve(&json!({"Fn::Sub": "${Org}-${AWS::AccountId}-${AWS::Region}"})),
            Ok(json!("demo-123456789012-eu-west-1"))
        );
        assert_eq!(c.resolve(&json!({"Fn::Sub": "${Bucket.Arn}/*"})), Ok(json!("arn:aws:s3:::bkt/*")));
        assert_eq!(c.resolve(&json!({"Fn::GetAtt": ["Key", "Arn"]})), Ok(json!("<Key.Arn>")));
        assert_eq!(c.resolve(&json!({"Ref": "Key"})), Ok(json!("<Key>")));
        assert_eq!(c.resolve(&json!({"Ref": "Types"})), Ok(json!(["a.b", "c.d"])));
        assert_eq!(c.resolve(&json!({"Fn::Join": [",", [{"Ref": "Bucket"}, "x"]]})), Ok(json!("bkt,x")));
        assert_eq!(c.resolve(&json!({"Fn::Select": [1, {"Fn::GetAZs": ""}]})), Ok(json!("eu-west-1b")));
        assert_eq!(c.resolve(&json!({"Fn::Sub": "${!Literal}"})), Ok(json!("${Literal}")));
        assert!(c.resolve(&json!({"Ref": "Nope"})).expect_err("unknown").contains("Nope"));
        assert!(c.resolve(&json!({"Fn::If": []})).expect_err("unsupported").contains("not supported"));
        let mut no_account = ctx();
        no_account.account = None;
        assert_eq!(no_account.resolve(&json!({"Fn::Sub": "${AWS::AccountId}"})), Ok(json!("<account>")));
    }

    #[test]
    fn bad_yaml_names_the_file() {
        let e = Template::parse("bad.yaml", "Resources: [").expect_err("bad");
        assert_eq!(e.file, "bad.yaml");
        let e = Template::parse("bad.yaml", "Resources:\n  A:\n    Properties: {}\n").expect_err("no type");
        assert!(e.to_string().contains("resource A: it has no Type"));
    }
}
