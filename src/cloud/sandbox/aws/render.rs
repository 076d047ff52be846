//! A template body as CloudFormation receives it, deployed: parsed with the same parser and
//! evaluator the preview uses, each resource given an id shaped like the one AWS gives its type
//! (or the name its properties fix), outputs resolved.

use rand::Rng;
use serde_json::Value;
use std::collections::BTreeMap;

use super::state::Resource;
use crate::plan::aws::known_ids;
use crate::plan::template::{partition, scalar_string, Context, ResourceIds, Template};

/// A template rendered for one stack.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub description: String,
    pub resources: Vec<Resource>,
    pub outputs: Vec<(String, String)>,
    /// Every parameter's value, defaults filled in.
    pub parameters: Vec<(String, String)>,
}

fn hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0')).collect()
}

/// A made-up physical id, shaped like AWS's for the type.
fn physical_id(type_: &str, stack: &str, id: &str) -> String {
    match type_ {
        "AWS::EC2::VPC" => format!("vpc-{}", hex(17)),
        "AWS::EC2::Subnet" => format!("subnet-{}", hex(17)),
        "AWS::EC2::InternetGateway" => format!("igw-{}", hex(17)),
        "AWS::EC2::RouteTable" => format!("rtb-{}", hex(17)),
        "AWS::EC2::SubnetRouteTableAssociation" => format!("rtbassoc-{}", hex(17)),
        "AWS::EC2::SecurityGroup" => format!("sg-{}", hex(17)),
        "AWS::EC2::SecurityGroupIngress" => format!("sgr-{}", hex(17)),
        "AWS::EC2::VPCEndpoint" => format!("vpce-{}", hex(17)),
        "AWS::KMS::Key" => super::timeline::uuid(),
        _ => format!("{stack}-{id}-{}", hex(12).to_uppercase()),
    }
}

/// Parse a template body. The bundled templates are parsed from their own text; any other body
/// (a vendor pack's, or a test's) is kept once for the life of the process, as the parser borrows
/// it: the same body sent again reuses that copy, so repeated deploys do not grow memory.
pub fn parse(body: &str) -> Result<Template, String> {
    static SEEN: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let text: &'static str = match crate::assets::AWS_TEMPLATES.iter().find(|a| a.text == body) {
        Some(a) => a.text,
        None => {
            // A poisoned lock only means another thread panicked while pushing; the list is
            // still a valid list of leaked bodies.
            let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
            match seen.iter().find(|t| **t == body) {
                Some(t) => t,
                None => {
                    let t: &'static str = Box::leak(body.to_string().into_boxed_str());
                    seen.push(t);
                    t
                }
            }
        }
    };
    Template::parse("TemplateBody", text).map_err(|e| format!("Template format error: {}", e.message))
}

/// Render `template` as stack `stack_name`, keeping the physical ids of `existing` resources.
pub fn render(
    template: &Template,
    stack_name: &str,
    given: &BTreeMap<String, String>,
    account: &str,
    region: &str,
    existing: &[Resource],
) -> Result<Rendered, String> {
    let mut params = BTreeMap::new();
    let mut parameters = Vec::new();
    for p in &template.parameters {
        let text = match (given.get(&p.name), &p.default) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => scalar_string(d),
            (None, None) => return Err(format!("Parameters: [{}] must have values", p.name)),
        };
        let value = if p.type_.starts_with("CommaDelimitedList") || p.type_.starts_with("List<") {
            Value::Array(text.split(',').map(|s| Value::String(s.trim().into())).collect())
        } else {
            Value::String(text.clone())
        };
        params.insert(p.name.clone(), value);
        parameters.push((p.name.clone(), text));
    }
    if let Some(extra) = given.keys().find(|k| !template.parameters.iter().any(|p| &p.name == *k)) {
        return Err(format!("Parameters: [{extra}] do not exist in the template"));
    }
    let mut ctx = Context {
        params,
        account: Some(account.to_string()),
        region: region.to_string(),
        stack_name: stack_name.to_string(),
        resources: template.resources.iter().map(|r| (r.id.clone(), ResourceIds::default())).collect(),
    };
    let mut out: Vec<Resource> = Vec::new();
    // Dependency order, so references resolve to real ids.
    while out.len() < template.resources.len() {
        let before = out.len();
        for r in &template.resources {
            if out.iter().any(|o| o.id == r.id) || !r.depends_on.iter().all(|d| out.iter().any(|o| &o.id == d)) {
                continue;
            }
            let props = ctx.resolve(&r.properties).map_err(|m| format!("Template error: resource {}: {m}", r.id))?;
            let mut ids = known_ids(&r.type_, &props, account, region);
            let old = existing.iter().find(|x| x.id == r.id && x.type_ == r.type_);
            let physical = match (old, ids.reference.clone()) {
                (Some(o), _) => o.physical_id.clone(),
                (None, Some(name)) => name,
                (None, None) => physical_id(&r.type_, stack_name, &r.id),
            };
            ids.reference = Some(physical.clone());
            if r.type_ == "AWS::KMS::Key" {
                ids.attrs
                    .insert("Arn".into(), format!("arn:{}:kms:{region}:{account}:key/{physical}", partition(region)));
                ids.attrs.insert("KeyId".into(), physical.clone());
            }
            ctx.resources.insert(r.id.clone(), ids);
            out.push(Resource {
                id: r.id.clone(),
                type_: r.type_.clone(),
                physical_id: physical,
                properties: props,
                retain: r.deletion_policy.as_deref() == Some("Retain"),
                depends_on: r.depends_on.clone(),
            });
        }
        if out.len() == before {
            return Err("Template error: the resources reference each other in a cycle".into());
        }
    }
    // Template order, as DescribeStackResources lists them.
    out.sort_by_key(|r| template.resources.iter().position(|t| t.id == r.id));
    let mut outputs = Vec::new();
    for (name, v) in &template.outputs {
        let value = ctx.resolve(v).map_err(|m| format!("Template error: output {name}: {m}"))?;
        outputs.push((name.clone(), scalar_string(&value)));
    }
    Ok(Rendered { description: template.description.clone(), resources: out, outputs, parameters })
}
