//! The AWS plan: the stack manifest (`assets/aws/stacks.toml`) and the three CloudFormation
//! templates, parsed into groups, resources and every IAM statement.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

use super::policy::{self, DocumentSite};
use super::template::{partition, scalar_string, Context, ResourceIds, Template};
use super::{Choices, PlanError};
use crate::model::{Cloud, Group, OnRevoke, Parameter, ParameterSource, PermissionKind, Plan, Resource};
use crate::permissions::{self, source::Anchor};
use crate::validate;
use crate::vendor::VendorProfile;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    stack: Vec<ManifestStack>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestStack {
    key: String,
    template: String,
    title: String,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
}

/// The parsed stacks, ready to be rendered for any org/account/region.
#[derive(Debug, Clone)]
pub struct Blueprint {
    pub stacks: Vec<StackSpec>,
}

#[derive(Debug, Clone)]
pub struct StackSpec {
    pub key: String,
    pub title: String,
    pub template: Template,
    pub depends_on: Vec<String>,
    /// Parameter → (group key, output name): values cloudgrant passes between stacks.
    pub wiring: BTreeMap<String, (String, String)>,
}

/// Tags on every stack: how installs are found again, in the account, without local files.
pub const TAG_MANAGED_BY: &str = super::MARK_MANAGED_BY;
pub const TAG_ORG: &str = super::MARK_ORG;
pub const TAG_VENDOR: &str = super::MARK_VENDOR;

/// The stack manifest's path in a pack.
pub const MANIFEST: &str = "aws/stacks.toml";

impl Blueprint {
    /// The bundled pack's stacks.
    pub fn bundled() -> Result<Blueprint, PlanError> {
        Blueprint::of(&crate::pack::Pack::bundled())
    }

    /// The stacks of `pack`: its `aws/stacks.toml` and the templates it names.
    pub fn of(pack: &crate::pack::Pack) -> Result<Blueprint, PlanError> {
        let manifest_path = pack.display_path(MANIFEST);
        let manifest_file = pack
            .file(MANIFEST)
            .ok_or_else(|| PlanError::Invalid(format!("{manifest_path}: the pack has no AWS stack manifest")))?;
        let manifest: Manifest = toml::from_str(manifest_file.text)
            .map_err(|e| PlanError::Invalid(format!("{manifest_path}: {}", e.to_string().trim())))?;
        let mut stacks = Vec::new();
        for s in manifest.stack {
            let path = format!("aws/{}", s.template);
            let file = pack.file(&path).ok_or_else(|| {
                PlanError::Invalid(format!("{manifest_path}: stack {} names {path}, which is not in the pack", s.key))
            })?;
            let template = Template::parse(file.path, file.text)?;
            let mut wiring = BTreeMap::new();
            for (param, source) in s.parameters {
                let (group, output) = source.split_once('.').ok_or_else(|| {
                    PlanError::Invalid(format!(
                        "{manifest_path}: stack {}: parameter {param} = `{source}` is not `<stack key>.<output>`",
                        s.key
                    ))
                })?;
                wiring.insert(param, (group.to_string(), output.to_string()));
            }
            stacks.push(StackSpec { key: s.key, title: s.title, template, depends_on: s.depends_on, wiring });
        }
        if stacks.is_empty() {
            return Err(PlanError::Invalid(format!("{manifest_path}: it lists no [[stack]]")));
        }
        for s in &stacks {
            if stacks.iter().filter(|o| o.key == s.key).count() > 1 {
                return Err(PlanError::Invalid(format!("{manifest_path}: stack key `{}` is used twice", s.key)));
            }
            for d in s.depends_on.iter().chain(s.wiring.values().map(|(g, _)| g)) {
                if !stacks.iter().any(|o| &o.key == d) {
                    return Err(PlanError::Invalid(format!(
                        "{manifest_path}: stack {} depends on unknown stack `{d}`",
                        s.key
                    )));
                }
            }
        }
        Ok(Blueprint { stacks })
    }

    /// The template text of a group's `template` (its path in the pack).
    pub fn template_text(&self, path: &str) -> Option<&'static str> {
        self.stacks.iter().find(|s| s.template.file == path).map(|s| s.template.text)
    }

    pub fn stack(&self, key: &str) -> Option<&StackSpec> {
        self.stacks.iter().find(|s| s.key == key)
    }
}

/// The stack name for a group: `<vendor id>-<org>-<key>`.
pub fn stack_name(vendor: &VendorProfile, org: &str, key: &str) -> String {
    format!("{}-{org}-{key}", vendor.vendor.id)
}

/// Values cloudgrant sets itself, by parameter name.
fn tool_parameters(vendor: &VendorProfile, choices: &Choices) -> BTreeMap<String, Value> {
    let mut p = BTreeMap::new();
    p.insert("VendorId".into(), Value::String(vendor.vendor.id.clone()));
    p.insert("Org".into(), Value::String(choices.org.clone()));
    p.insert("VendorAccountId".into(), Value::String(vendor.aws.account_id.clone()));
    let external = choices
        .external_id
        .clone()
        .or_else(|| vendor.aws.external_id.clone())
        .unwrap_or_else(|| "<generated at install: 40 random characters>".into());
    p.insert("ExternalId".into(), Value::String(external));
    if !vendor.aws.instance_types.is_empty() {
        p.insert(
            "AllowedInstanceTypes".into(),
            Value::Array(vendor.aws.instance_types.iter().cloned().map(Value::String).collect()),
        );
    }
    p
}

/// The `Ref` value and attributes AWS will give a resource, where its properties fix them.
/// Everything else stays a placeholder until the cloud (or the sandbox) assigns it.
pub fn known_ids(type_: &str, props: &Value, account: &str, region: &str) -> ResourceIds {
    let part = partition(region);
    let prop = |k: &str| props.get(k).and_then(Value::as_str).map(String::from);
    let mut ids = ResourceIds::default();
    match type_ {
        "AWS::IAM::Role" => {
            if let Some(n) = prop("RoleName") {
                ids.attrs.insert("Arn".into(), format!("arn:{part}:iam::{account}:role/{n}"));
                ids.reference = Some(n);
            }
        }
        "AWS::IAM::InstanceProfile" => {
            if let Some(n) = prop("InstanceProfileName") {
                ids.attrs.insert("Arn".into(), format!("arn:{part}:iam::{account}:instance-profile/{n}"));
                ids.reference = Some(n);
            }
        }
        "AWS::S3::Bucket" => {
            if let Some(n) = prop("BucketName") {
                ids.attrs.insert("Arn".into(), format!("arn:{part}:s3:::{n}"));
                ids.reference = Some(n);
            }
        }
        "AWS::KMS::Alias" => ids.reference = prop("AliasName"),
        _ => {}
    }
    ids
}

/// Build the plan for these choices by rendering every template.
pub fn build(vendor: &VendorProfile, choices: &Choices) -> Result<Plan, PlanError> {
    let blueprint = Blueprint::of(&vendor.pack)?;
    build_from(&blueprint, vendor, choices)
}

pub fn build_from(blueprint: &Blueprint, vendor: &VendorProfile, choices: &Choices) -> Result<Plan, PlanError> {
    validate::org(&choices.org)?;
    validate::aws_region(&choices.region)?;
    if let Some(a) = &choices.account {
        validate::aws_account_id("account", a)?;
    }
    if let Some(x) = &choices.external_id {
        validate::external_id("external id", x)?;
    }
    let tool = tool_parameters(vendor, choices);
    let mut groups: Vec<Group> = Vec::new();
    // Outputs as far as they can be known before creation, for wiring into later stacks.
    let mut outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for spec in &blueprint.stacks {
        let name = stack_name(vendor, &choices.org, &spec.key);
        let (ctx, parameters) = stack_context(spec, &name, &tool, choices, &outputs, &groups)?;
        let file = spec.template.file.as_str();
        let mut resources = Vec::new();
        let mut permissions = Vec::new();
        for r in &spec.template.resources {
            let props = ctx
                .resolve(&r.properties)
                .map_err(|m| PlanError::Invalid(format!("{file}: resource {}: {m}", r.id)))?;
            if matches!(
                r.type_.as_str(),
                "AWS::IAM::User" | "AWS::IAM::AccessKey" | "AWS::IAM::Group" | "AWS::IAM::UserToGroupAddition"
            ) {
                return Err(PlanError::Invalid(format!(
                    "{file}: resource {} is an {}: cloudgrant grants access through roles with temporary credentials only, never IAM users or access keys",
                    r.id, r.type_
                )));
            }
            let why = r.why.clone().ok_or_else(|| {
                PlanError::Invalid(format!("{file}: resource {} has no Metadata.cloudgrant.why: every resource needs one plain line on why the vendor needs it", r.id))
            })?;
            let pending = props.get("PendingWindowInDays").and_then(Value::as_u64).map(|d| d as u32);
            // Keys are never deleted at once: AWS (or cloudgrant, for a retained key) schedules
            // the deletion after the pending window.
            let on_revoke = if r.type_ == "AWS::KMS::Key" {
                OnRevoke::ScheduledDeletion
            } else if r.deletion_policy.as_deref() == Some("Retain") {
                OnRevoke::Keep
            } else {
                OnRevoke::Delete
            };
            let name_ids = known_ids(&r.type_, &props, ctx.account.as_deref().unwrap_or("<account>"), &choices.region);
            resources.push(Resource {
                id: r.id.clone(),
                type_: r.type_.clone(),
                name: name_ids.reference.clone(),
                why,
                on_revoke,
                pending_window_days: if r.type_ == "AWS::KMS::Key" { Some(pending.unwrap_or(30)) } else { None },
                depends_on: r.depends_on.clone(),
                network: super::network::reach(&r.type_, &props),
                exceptions: r.exceptions.clone(),
            });
            permissions.extend(resource_permissions(file, spec.template.text, &r.id, &r.type_, &props)?);
        }
        let mut group_outputs = BTreeMap::new();
        for (out, v) in &spec.template.outputs {
            let value = ctx.resolve(v).map_err(|m| PlanError::Invalid(format!("{file}: output {out}: {m}")))?;
            group_outputs.insert(out.clone(), scalar_string(&value));
        }
        outputs.insert(spec.key.clone(), group_outputs);
        groups.push(Group {
            key: spec.key.clone(),
            name,
            title: spec.title.clone(),
            template: spec.template.file.clone(),
            description: spec.template.description.clone(),
            depends_on: spec.depends_on.clone(),
            parameters,
            resources,
            permissions,
        });
    }
    let mut plan = Plan {
        cloud: Cloud::Aws,
        vendor: vendor.vendor.name.clone(),
        vendor_id: vendor.vendor.id.clone(),
        org: choices.org.clone(),
        region: choices.region.clone(),
        account: choices.account.clone(),
        tags: stack_tags(vendor, &choices.org),
        groups,
        pack_sha256: vendor.pack.digest.clone(),
        send_to_vendor: blueprint.stacks.iter().flat_map(|s| s.template.send_to_vendor.iter().cloned()).collect(),
    };
    // Access levels and risk flags need the whole plan (who may pass which role, what it may do).
    permissions::annotate(&mut plan, vendor);
    Ok(plan)
}

pub fn stack_tags(vendor: &VendorProfile, org: &str) -> Vec<(String, String)> {
    vec![
        (TAG_MANAGED_BY.into(), "cloudgrant".into()),
        (TAG_ORG.into(), org.into()),
        (TAG_VENDOR.into(), vendor.vendor.id.clone()),
    ]
}

/// The evaluation context of one stack: its parameters (tool-set, wired from earlier stacks, or
/// defaults) and the ids its resources will have where the template fixes them.
fn stack_context(
    spec: &StackSpec,
    name: &str,
    tool: &BTreeMap<String, Value>,
    choices: &Choices,
    outputs: &BTreeMap<String, BTreeMap<String, String>>,
    groups: &[Group],
) -> Result<(Context, Vec<Parameter>), PlanError> {
    let file = &spec.template.file;
    let mut ctx = Context {
        account: choices.account.clone(),
        region: choices.region.clone(),
        stack_name: name.to_string(),
        ..Default::default()
    };
    let mut parameters = Vec::new();
    for p in &spec.template.parameters {
        let (value, source) = if let Some((g, out)) = spec.wiring.get(&p.name) {
            let group_name = groups.iter().find(|x| &x.key == g).map(|x| x.name.clone()).unwrap_or_else(|| g.clone());
            let v = outputs
                .get(g)
                .and_then(|o| o.get(out))
                .filter(|v| !(v.starts_with('<') && v.ends_with('>')))
                .cloned()
                .unwrap_or_else(|| format!("<{group_name} output {out}>"));
            (Value::String(v), ParameterSource::Output { group: group_name, output: out.clone() })
        } else if let Some(v) = tool.get(&p.name) {
            (v.clone(), ParameterSource::Tool)
        } else if let Some(d) = &p.default {
            (d.clone(), ParameterSource::Default)
        } else {
            return Err(PlanError::Invalid(format!(
                "{file}: parameter {} has no default and cloudgrant does not set it; give it a Default or wire it in {MANIFEST}{}",
                p.name,
                if p.name == "AllowedInstanceTypes" { " (or list aws.instance_types in vendor.toml)" } else { "" }
            )));
        };
        parameters.push(Parameter { name: p.name.clone(), value: scalar_string(&value), source });
        ctx.params.insert(p.name.clone(), value);
    }
    // Resource names can reference parameters only, so two passes settle them.
    let account = choices.account.clone().unwrap_or_else(|| "<account>".into());
    for r in &spec.template.resources {
        ctx.resources.insert(r.id.clone(), ResourceIds::default());
    }
    for r in &spec.template.resources {
        if let Ok(props) = ctx.resolve(&r.properties) {
            ctx.resources.insert(r.id.clone(), known_ids(&r.type_, &props, &account, &choices.region));
        }
    }
    Ok((ctx, parameters))
}

/// Every statement of every policy a resource carries, each with the template line it was
/// written at (`text` is the template's text).
fn resource_permissions(
    file: &str,
    text: &str,
    id: &str,
    type_: &str,
    props: &Value,
) -> Result<Vec<crate::model::Permission>, PlanError> {
    let mut out = Vec::new();
    let mut doc = |doc: &Value, policy: &str, kind: PermissionKind, identity: Option<&str>| -> Result<(), PlanError> {
        let site = DocumentSite { file, holder: id, policy, kind, identity };
        let mut perms = policy::statements(doc, &site).map_err(PlanError::Invalid)?;
        let anchor = match (type_, kind) {
            (_, PermissionKind::Trust) => Anchor::key("AssumeRolePolicyDocument"),
            ("AWS::IAM::Role", _) => Anchor::item("PolicyName", policy),
            ("AWS::KMS::Key", _) => Anchor::key("KeyPolicy"),
            _ => Anchor::key("PolicyDocument"),
        };
        permissions::source::attach(&mut perms, doc, text, file, id, anchor);
        out.extend(perms);
        Ok(())
    };
    match type_ {
        "AWS::IAM::Role" => {
            let role = props.get("RoleName").and_then(Value::as_str).unwrap_or(id).to_string();
            let trust = props.get("AssumeRolePolicyDocument").ok_or_else(|| {
                PlanError::Invalid(format!("{file}: resource {id}: a role needs an AssumeRolePolicyDocument"))
            })?;
            doc(trust, "trust policy", PermissionKind::Trust, None)?;
            for p in props.get("Policies").and_then(Value::as_array).into_iter().flatten() {
                let pname = p.get("PolicyName").and_then(Value::as_str).unwrap_or("inline");
                let d = p.get("PolicyDocument").ok_or_else(|| {
                    PlanError::Invalid(format!("{file}: resource {id}: policy {pname} has no PolicyDocument"))
                })?;
                doc(d, pname, PermissionKind::Identity, Some(&role))?;
            }
            if let Some(arns) = props.get("ManagedPolicyArns").and_then(Value::as_array) {
                if !arns.is_empty() {
                    return Err(PlanError::Invalid(format!(
                        "{file}: resource {id}: ManagedPolicyArns cannot be previewed action by action; write the statements inline"
                    )));
                }
            }
        }
        "AWS::IAM::RolePolicy" | "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
            let pname = props
                .get("PolicyName")
                .or_else(|| props.get("ManagedPolicyName"))
                .and_then(Value::as_str)
                .unwrap_or(id)
                .to_string();
            let mut roles: Vec<String> =
                props.get("RoleName").and_then(Value::as_str).map(|r| vec![r.to_string()]).unwrap_or_default();
            roles.extend(
                props
                    .get("Roles")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(String::from)),
            );
            if roles.is_empty() {
                return Err(PlanError::Invalid(format!(
                    "{file}: resource {id}: policy {pname} is attached to no role"
                )));
            }
            let d = props
                .get("PolicyDocument")
                .ok_or_else(|| PlanError::Invalid(format!("{file}: resource {id}: no PolicyDocument")))?;
            for role in roles {
                doc(d, &pname, PermissionKind::Identity, Some(&role))?;
            }
        }
        "AWS::KMS::Key" => {
            let d = props.get("KeyPolicy").ok_or_else(|| {
                PlanError::Invalid(format!("{file}: resource {id}: a key needs an explicit KeyPolicy"))
            })?;
            doc(d, "key policy", PermissionKind::Resource, None)?;
        }
        "AWS::S3::BucketPolicy" => {
            let d = props
                .get("PolicyDocument")
                .ok_or_else(|| PlanError::Invalid(format!("{file}: resource {id}: no PolicyDocument")))?;
            doc(d, "bucket policy", PermissionKind::Resource, None)?;
        }
        _ => {}
    }
    Ok(out)
}
