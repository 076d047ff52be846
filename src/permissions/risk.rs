//! The risk rules: one statement, with what the plan knows around it (the vendor, your account,
//! the roles it creates and what they may do), → access levels and risk flags with explanations.
//!
//! Conditions matter: a Deny is protective; `iam:PassRole` limited to one role and one service
//! (`iam:PassedToService`) is lower than PassRole on `*`; in a KMS key policy `Resource: "*"` means
//! the key itself; your own account's root in a resource policy delegates to your IAM policies.

use std::collections::BTreeMap;

use super::actions::{classify, expand, sensitivity, Sensitivity};
use super::conditions;
use super::principal::{describe_principal, PrincipalInfo, MANAGED_IDENTITY};
use super::resources::{self, Scope};
use super::table;
use super::trust;
use super::{glob_match, is_wildcard, strongest, AccessLevel, ActionAccess, Risk, RiskKind, Severity};
use crate::model::{Cloud, Effect, ParameterSource, Permission, PermissionKind, Plan};
use crate::vendor::VendorProfile;

/// A role the plan creates, and what the plan lets it do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleSummary {
    pub name: String,
    pub arn: String,
    /// Logical id of the role resource.
    pub holder: String,
    /// Actions the plan allows the role (its own policies and resource policies naming it).
    pub actions: Vec<String>,
}

/// One allowed action of one principal in the plan (for cross-references between statements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSummary {
    /// The principal's grouping key (a plan role by name).
    pub principal: String,
    pub action: String,
    pub sid: Option<String>,
    pub resources: Vec<String>,
}

/// What the rules know around a statement.
#[derive(Debug, Clone)]
pub struct Context {
    pub cloud: Cloud,
    pub vendor_name: String,
    pub vendor_aws_account: Option<String>,
    pub vendor_gcp_service_account: Option<String>,
    pub vendor_azure_app_id: Option<String>,
    /// The customer's account, when chosen.
    pub account: Option<String>,
    pub roles: Vec<RoleSummary>,
    pub grants: Vec<GrantSummary>,
}

impl Context {
    /// The context of a plan, with the vendor's ids from its profile.
    pub fn new(plan: &Plan, vendor: &VendorProfile) -> Context {
        Context {
            vendor_name: vendor.vendor.name.clone(),
            vendor_aws_account: Some(vendor.aws.account_id.clone()),
            vendor_gcp_service_account: Some(vendor.gcp.service_account.clone()),
            vendor_azure_app_id: Some(vendor.azure.app_id.clone()),
            ..Context::from_plan(plan)
        }
    }

    /// The context of a plan alone: the vendor's account is the one cloudgrant passed to the
    /// templates (the `VendorAccountId` parameter, set from the vendor profile).
    pub fn from_plan(plan: &Plan) -> Context {
        let partition = crate::plan::template::partition(&plan.region);
        let account = plan.account.clone().unwrap_or_else(|| "<account>".into());
        let mut roles: Vec<RoleSummary> = plan
            .groups
            .iter()
            .flat_map(|g| &g.resources)
            .filter_map(|r| {
                let name = r.name.clone()?;
                // The identities the plan creates: IAM roles on AWS, service accounts on GCP
                // (bindings name them as `serviceAccount:<e-mail>`).
                let arn = match r.type_.as_str() {
                    "AWS::IAM::Role" => format!("arn:{partition}:iam::{account}:role/{name}"),
                    crate::plan::gcp::TYPE_SERVICE_ACCOUNT => format!("serviceAccount:{name}"),
                    // Azure: the machines' identity; its role assignments name it by its name.
                    t if t.eq_ignore_ascii_case(AZURE_IDENTITY_TYPE) => format!("{MANAGED_IDENTITY}{name}"),
                    _ => return None,
                };
                Some(RoleSummary { name, arn, holder: r.id.clone(), actions: Vec::new() })
            })
            .collect();
        let mut grants = Vec::new();
        for (_, p) in plan.permissions().filter(|(_, p)| p.effect == Effect::Allow && p.kind != PermissionKind::Trust) {
            let principal = roles
                .iter()
                .find(|r| r.arn == p.principal || r.name == p.principal)
                .map(|r| r.name.clone())
                .unwrap_or_else(|| p.principal.clone());
            for a in &p.actions {
                grants.push(GrantSummary {
                    principal: principal.clone(),
                    action: a.clone(),
                    sid: p.sid.clone(),
                    resources: p.resources.clone(),
                });
            }
        }
        for r in &mut roles {
            for g in grants.iter().filter(|g| g.principal == r.name) {
                if !r.actions.contains(&g.action) {
                    r.actions.push(g.action.clone());
                }
            }
        }
        let tool_parameter = |name: &str| {
            plan.groups
                .iter()
                .flat_map(|g| &g.parameters)
                .find(|p| p.name == name && p.source == ParameterSource::Tool)
                .map(|p| p.value.clone())
        };
        let vendor_aws_account = tool_parameter("VendorAccountId");
        // Azure: the vendor's app id, from a parameter cloudgrant set or the trust entry that
        // names the vendor's service principal.
        let vendor_azure_app_id = (plan.cloud == Cloud::Azure)
            .then(|| {
                ["VendorAppId", "vendorAppId", "appId"]
                    .into_iter()
                    .find_map(tool_parameter)
                    .or_else(|| plan.trust().find_map(|(_, p)| find_guid(&p.principal)).map(|g| g.to_ascii_lowercase()))
            })
            .flatten();
        Context {
            cloud: plan.cloud,
            vendor_name: plan.vendor.clone(),
            vendor_aws_account,
            vendor_gcp_service_account: tool_parameter("VendorServiceAccount"),
            vendor_azure_app_id,
            account: plan.account.clone(),
            roles,
            grants,
        }
    }

    fn role_of_holder(&self, holder: &str) -> Option<&RoleSummary> {
        self.roles.iter().find(|r| r.holder == holder)
    }
}

/// Fill in `access`, `access_level` and `risks` on every permission of the plan.
pub fn annotate(plan: &mut Plan, vendor: &VendorProfile) {
    let ctx = Context::new(plan, vendor);
    for g in &mut plan.groups {
        for p in &mut g.permissions {
            let (access, risks) = analyze(p, &ctx);
            p.access_level = strongest(&access);
            p.access = access;
            p.risks = risks;
        }
    }
}

/// The resource type of an Azure user-assigned managed identity.
pub const AZURE_IDENTITY_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

/// The first GUID written in `text`.
pub(super) fn find_guid(text: &str) -> Option<&str> {
    (0..text.len().saturating_sub(35))
        .filter(|i| text.is_char_boundary(*i) && text.is_char_boundary(i + 36))
        .map(|i| &text[i..i + 36])
        .find(|w| super::azure_roles::is_guid(w))
}

pub(super) fn risk(kind: RiskKind, severity: Severity, actions: Vec<String>, explanation: String) -> Risk {
    Risk { kind, severity, actions, explanation }
}

/// At most `n` items, then "and N more".
pub(super) fn list(items: &[String], n: usize) -> String {
    if items.len() <= n {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..n].join(", "), items.len() - n)
    }
}

pub(super) fn when(p: &Permission) -> String {
    conditions::describe(&p.conditions).map(|c| format!(", only when {c}")).unwrap_or_default()
}

/// A KMS key policy statement (the AWS plan names the policy of `AWS::KMS::Key` "key policy"):
/// there `Resource: "*"` means the key itself.
pub(super) fn is_key_policy(p: &Permission) -> bool {
    p.kind == PermissionKind::Resource && p.policy == "key policy"
}

/// Access levels and risk flags of one statement.
pub fn analyze(p: &Permission, ctx: &Context) -> (Vec<ActionAccess>, Vec<Risk>) {
    let access: Vec<ActionAccess> = p.actions.iter().map(|a| classify(ctx.cloud, a)).collect();
    let mut risks = Vec::new();
    for a in access.iter().filter(|a| a.unknown) {
        // A service the bundled table leaves out is not a typo: the note says how to add it.
        let unbundled = ctx.cloud == Cloud::Aws && table::aws().service(&a.service).is_some_and(|s| !s.bundled);
        let remedy = if unbundled { "" } else { "; check its spelling" };
        risks.push(risk(
            RiskKind::UnknownAction,
            Severity::Medium,
            vec![a.action.clone()],
            format!(
                "`{}` is unknown: {}. The preview cannot say what it allows{remedy}.",
                a.action,
                a.note.as_deref().unwrap_or("not in the reference")
            ),
        ));
    }
    let who = describe_principal(&p.principal, ctx);
    let on = on_phrase(p, ctx);
    if p.effect == Effect::Deny {
        risks.push(risk(
            RiskKind::Protective,
            Severity::Info,
            Vec::new(),
            format!(
                "Deny: refuses {} to {} on {on}{}. It takes access away and grants nothing.",
                list(&p.actions, 4),
                who.label,
                when(p)
            ),
        ));
        return (access, risks);
    }
    match p.kind {
        PermissionKind::Trust => trust::trust_risks(p, &who, ctx, &mut risks),
        PermissionKind::Resource => {
            if trust::resource_principal_risks(p, &who, &access, ctx, &mut risks) {
                action_risks(p, &who, &access, ctx, &mut risks);
            }
        }
        PermissionKind::Identity => action_risks(p, &who, &access, ctx, &mut risks),
    }
    (access, risks)
}

/// The statement's resources in words (for trust: the role it guards).
pub(super) fn on_phrase(p: &Permission, ctx: &Context) -> String {
    if p.kind == PermissionKind::Trust && ctx.cloud == Cloud::Gcp {
        // A binding on a service account: whom the member may act as.
        let sa = p.resources.iter().find_map(|r| r.rsplit_once("/serviceAccounts/").map(|(_, e)| e));
        return sa.map(|e| format!("service account {e}")).unwrap_or_else(|| resources::phrases(&p.resources));
    }
    if p.kind == PermissionKind::Trust && ctx.cloud == Cloud::Azure {
        // The vendor's application signs in to the tenant; what it may then do is its grants.
        return "your tenant".to_string();
    }
    if p.kind == PermissionKind::Trust {
        return ctx.role_of_holder(&p.holder).map(|r| format!("role {}", r.name)).unwrap_or_else(|| p.holder.clone());
    }
    if is_key_policy(p) && p.resources.iter().all(|r| r == "*") {
        return format!("this key ({})", p.holder);
    }
    resources::phrases(&p.resources)
}

/// One sensitive action a written action stands for.
struct Hit {
    written: String,
    s: Sensitivity,
}

impl Hit {
    fn shown(&self) -> String {
        // A rule written as a pattern (`Microsoft.Authorization/*/write`) names what it matched.
        let within = is_wildcard(self.s.action) && glob_match(self.s.action, &self.written);
        if within || self.written.eq_ignore_ascii_case(self.s.action) {
            self.written.clone()
        } else {
            format!("{} (through {})", self.s.action, self.written)
        }
    }
}

fn action_risks(p: &Permission, who: &PrincipalInfo, access: &[ActionAccess], ctx: &Context, risks: &mut Vec<Risk>) {
    let key_policy = is_key_policy(p);
    let scope = resources::widest(&p.resources, key_policy);
    let broad = scope != Scope::Specific;
    let on = on_phrase(p, ctx);
    let cond = when(p);
    let mut hits: BTreeMap<RiskKind, Vec<Hit>> = BTreeMap::new();
    for a in access {
        for s in sensitivity(ctx.cloud, &a.action) {
            hits.entry(s.kind).or_default().push(Hit { written: a.action.clone(), s });
        }
    }
    let covered: Vec<&'static str> = hits.values().flatten().map(|h| h.s.action).collect();

    // Wildcard actions.
    for a in access.iter().filter(|a| a.wildcard && !a.unknown) {
        risks.push(wildcard_action(a, ctx, &cond));
    }
    // Wildcard resource (AWS: in a key policy `*` is the key itself).
    if ctx.cloud == Cloud::Aws && !key_policy && p.resources.iter().any(|r| r == "*") {
        risks.push(wildcard_resource(access, &cond));
    }
    // Azure: a role assigned at a subscription (or wider) reaches every resource in it.
    if ctx.cloud == Cloud::Azure {
        if let Some(r) = azure_wide_scope(p, access, &on, &cond) {
            risks.push(r);
        }
    }
    for (kind, list_) in &hits {
        let mut passrole: Vec<&Hit> = Vec::new();
        let mut assign: Vec<&Hit> = Vec::new();
        let mut rest: Vec<&Hit> = Vec::new();
        for h in list_ {
            if h.s.action == "iam:PassRole" {
                passrole.push(h);
            } else if h.s.action.eq_ignore_ascii_case(AZURE_ASSIGN_IDENTITY) {
                assign.push(h);
            } else {
                rest.push(h);
            }
        }
        if !passrole.is_empty() {
            risks.push(pass_role(p, who, &passrole, ctx));
        }
        if !assign.is_empty() {
            risks.push(assign_identity(p, who, &assign, ctx));
        }
        if rest.is_empty() {
            continue;
        }
        let written: Vec<String> = dedup(rest.iter().map(|h| h.written.clone()));
        let shown: Vec<String> = dedup(rest.iter().map(|h| h.shown()));
        let whats: Vec<String> = dedup(rest.iter().map(|h| h.s.what.to_string()));
        let only_assume = rest.iter().all(|h| h.s.action == "sts:AssumeRole");
        let severity = match kind {
            RiskKind::CredentialsExposure => Severity::High,
            RiskKind::PrivilegeEscalation if only_assume && !broad => Severity::Medium,
            RiskKind::PrivilegeEscalation => Severity::High,
            _ if broad => Severity::High,
            _ => Severity::Medium,
        };
        risks.push(risk(
            *kind,
            severity,
            written,
            format!("{} can {} ({}) on {on}{cond}.", who.label, list(&whats, 4), list(&shown, 6)),
        ));
    }
    // Other permissions-management actions.
    let mut pm: Vec<String> = Vec::new();
    let mut pm_written: Vec<String> = Vec::new();
    for a in access.iter().filter(|a| a.levels.contains(&AccessLevel::PermissionsManagement)) {
        let e = a.wildcard.then(|| expand(ctx.cloud, &a.action));
        let candidates: Vec<String> = match &e {
            Some(e) => e
                .actions
                .iter()
                .filter(|(_, l)| *l == AccessLevel::PermissionsManagement)
                .map(|(n, _)| n.clone())
                .collect(),
            None => vec![a.action.clone()],
        };
        let left: Vec<String> = candidates
            .into_iter()
            .filter(|c| !covered.iter().any(|s| s.eq_ignore_ascii_case(c) || (is_wildcard(s) && glob_match(s, c))))
            .collect();
        // A wildcard the table cannot list in full may stand for more of them.
        let incomplete = e.as_ref().is_some_and(|e| !e.complete);
        if !left.is_empty() || incomplete {
            pm_written.push(a.action.clone());
        }
        pm.extend(left);
    }
    if !pm_written.is_empty() {
        let what = if pm.is_empty() {
            format!("the permissions-management actions {} stands for", pm_written.join(", "))
        } else {
            list(&dedup(pm.into_iter()), 6)
        };
        risks.push(risk(
            RiskKind::PermissionsManagement,
            if broad { Severity::High } else { Severity::Medium },
            pm_written,
            format!("{} can change who may do what ({what}) on {on}{cond}.", who.label),
        ));
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn wildcard_action(a: &ActionAccess, ctx: &Context, cond: &str) -> Risk {
    let later = match ctx.cloud {
        Cloud::Aws => "AWS",
        Cloud::Gcp => "Google",
        Cloud::Azure => "Azure",
    };
    if a.action == "*" {
        return risk(
            RiskKind::WildcardAction,
            Severity::High,
            vec![a.action.clone()],
            format!(
                "`*` allows every action of every service{}{cond}, including actions {later} adds later.",
                match (ctx.cloud, a.matches) {
                    (Cloud::Aws, Some(n)) =>
                        format!(" ({n} actions in {} services in the reference)", table::aws().services.len()),
                    _ => String::new(),
                }
            ),
        );
    }
    let readonly = a.levels.iter().all(|l| matches!(l, AccessLevel::List | AccessLevel::Read));
    let severity = if a.levels.contains(&AccessLevel::PermissionsManagement) {
        Severity::High
    } else if readonly {
        Severity::Low
    } else {
        Severity::Medium
    };
    let e = expand(ctx.cloud, &a.action);
    let counts = if e.complete {
        e.per_level().iter().map(|(l, n)| format!("{n} {l}")).collect::<Vec<_>>().join(", ")
    } else {
        a.levels.iter().map(|l| l.title()).collect::<Vec<_>>().join(", ")
    };
    let how_many = match a.matches {
        Some(n) => format!("{n} {} actions", a.service),
        None => format!("every matching {} action", a.service),
    };
    risk(
        RiskKind::WildcardAction,
        severity,
        vec![a.action.clone()],
        format!(
            "`{}` stands for {how_many} ({counts}){cond}, and for any matching action {later} adds later.",
            a.action
        ),
    )
}

fn wildcard_resource(access: &[ActionAccess], cond: &str) -> Risk {
    let t = table::aws();
    // Whether AWS lets the action be limited to resources at all (it has resource types).
    let limitable = |a: &ActionAccess| -> bool {
        if a.unknown {
            return true;
        }
        if a.wildcard {
            // What the table cannot list in full may be limitable: assume so.
            return !expand(Cloud::Aws, &a.action).complete
                || t.matching(&a.action).iter().any(|i| !i.resource_types.is_empty());
        }
        t.lookup(&a.action).is_none_or(|i| !i.resource_types.is_empty())
    };
    let (can, cannot): (Vec<&ActionAccess>, Vec<&ActionAccess>) = access.iter().partition(|a| limitable(a));
    let names = |v: &[&ActionAccess]| list(&v.iter().map(|a| a.action.clone()).collect::<Vec<_>>(), 4);
    if can.is_empty() {
        let levels = dedup(cannot.iter().flat_map(|a| a.levels.iter().map(|l| l.title().to_string())));
        return risk(
            RiskKind::WildcardResource,
            Severity::Info,
            Vec::new(),
            format!(
                "Resource `*` is the only choice here: AWS does not let {} be limited to particular resources. They are {} only.",
                names(&cannot),
                levels.join(" and ")
            ),
        );
    }
    let level = can.iter().filter_map(|a| a.level).max();
    let severity = match level {
        Some(AccessLevel::PermissionsManagement) | None => Severity::High,
        Some(AccessLevel::Write | AccessLevel::Tagging) => Severity::Medium,
        Some(AccessLevel::List | AccessLevel::Read) => Severity::Low,
    };
    risk(
        RiskKind::WildcardResource,
        severity,
        can.iter().map(|a| a.action.clone()).collect(),
        format!(
            "Resource `*`: {} on every matching resource in your account, not only those this plan creates{cond}.",
            names(&can)
        ),
    )
}

/// The Azure action that attaches a user-assigned managed identity to a resource.
pub(super) const AZURE_ASSIGN_IDENTITY: &str = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";

/// Azure's form of iam:PassRole: whoever may assign a managed identity can start machines that run
/// as it, and so use everything that identity may do.
fn assign_identity(p: &Permission, who: &PrincipalInfo, hits: &[&Hit], ctx: &Context) -> Risk {
    let written = dedup(hits.iter().map(|h| h.written.clone()));
    let shown = dedup(hits.iter().map(|h| h.shown()));
    let wide = p.resources.iter().any(|r| resources::is_arm_wide_scope(r) || r == "*");
    let on = on_phrase(p, ctx);
    let identities: Vec<&RoleSummary> = ctx.roles.iter().filter(|r| r.arn.starts_with(MANAGED_IDENTITY)).collect();
    let which = if wide {
        format!("any managed identity in {on}")
    } else if identities.is_empty() {
        format!("the managed identities in {on}")
    } else {
        let names: Vec<String> = identities.iter().map(|r| r.name.clone()).collect();
        format!("the managed identity {} (in {on})", list(&names, 3))
    };
    // What the identities may do, in words, per resource: "read blobs on storage account d".
    let mut per_resource: Vec<(String, Vec<String>)> = Vec::new();
    for g in ctx.grants.iter().filter(|g| identities.iter().any(|r| r.name == g.principal)) {
        let on = resources::phrases(&g.resources);
        let whats: Vec<String> = sensitivity(ctx.cloud, &g.action)
            .into_iter()
            .filter(|s| s.kind == RiskKind::DataAccess)
            .map(|s| s.what.to_string())
            .collect();
        let pos = per_resource.iter().position(|(o, _)| *o == on).unwrap_or_else(|| {
            per_resource.push((on.clone(), Vec::new()));
            per_resource.len() - 1
        });
        for w in whats {
            if !per_resource[pos].1.contains(&w) {
                per_resource[pos].1.push(w);
            }
        }
    }
    let can: Vec<String> = per_resource
        .iter()
        .filter(|(_, whats)| !whats.is_empty())
        .map(|(on, whats)| format!("{} on {on}", list(whats, 3)))
        .collect();
    let can = if can.is_empty() || wide {
        " and so use everything that identity may do".to_string()
    } else {
        format!(" and so use everything that identity may do ({})", can.join("; "))
    };
    risk(
        RiskKind::PrivilegeEscalation,
        Severity::High,
        written,
        format!(
            "{} can attach {which} to machines it creates ({}){}: the machines then run as that identity,{can}.",
            who.label,
            list(&shown, 2),
            when(p)
        ),
    )
}

/// A flag on an Azure grant assigned at a subscription, a management group or the tenant root:
/// cloudgrant's templates scope every role to a resource group or a single resource.
fn azure_wide_scope(p: &Permission, access: &[ActionAccess], on: &str, cond: &str) -> Option<Risk> {
    if !p.resources.iter().any(|r| resources::is_arm_wide_scope(r) || r == "*") {
        return None;
    }
    let level = access.iter().filter_map(|a| a.level).max();
    let severity = match level {
        Some(AccessLevel::List | AccessLevel::Read) => Severity::Medium,
        _ => Severity::High,
    };
    let actions: Vec<String> = access.iter().map(|a| a.action.clone()).collect();
    Some(risk(
        RiskKind::WildcardResource,
        severity,
        actions.clone(),
        format!(
            "Assigned at {on}{cond}: {} on every resource in it, not only the vendor's resource group. cloudgrant's design scopes each role to the vendor's resource group or one resource; check why this one is wider.",
            list(&actions, 4)
        ),
    ))
}

fn pass_role(p: &Permission, who: &PrincipalInfo, hits: &[&Hit], ctx: &Context) -> Risk {
    let written = dedup(hits.iter().map(|h| h.written.clone()));
    let specific = p.resources.iter().all(|r| !is_wildcard(r));
    let services = conditions::values_of(&p.conditions, "iam:PassedToService");
    let passed: Vec<&RoleSummary> =
        ctx.roles.iter().filter(|r| p.resources.iter().any(|res| glob_match(res, &r.arn))).collect();
    let target = if specific {
        resources::phrases(&p.resources)
    } else if p.resources.iter().any(|r| r == "*") {
        "any role in your account".to_string()
    } else {
        format!("{} (any role it can name, not only this plan's)", resources::phrases(&p.resources))
    };
    let to = match &services {
        Some(s) => format!("{} only (condition iam:PassedToService)", s.join(", ")),
        None => "any AWS service that accepts a role (no iam:PassedToService condition)".to_string(),
    };
    let to_ec2 = services.as_ref().is_none_or(|s| s.iter().any(|x| x.starts_with("ec2.")));
    let launch: Vec<String> = ctx
        .grants
        .iter()
        .filter(|g| g.principal == who.key && to_ec2 && glob_match(&g.action, "ec2:RunInstances"))
        .map(|g| g.sid.clone().unwrap_or_else(|| g.action.clone()))
        .collect();
    let launch = if launch.is_empty() {
        String::new()
    } else {
        format!(
            " With ec2:RunInstances ({}) it can start machines that act as that role.",
            dedup(launch.into_iter()).join(", ")
        )
    };
    // What the passed role may do matters when it is one known role; "any role" is worse.
    let can: Vec<String> =
        if specific { dedup(passed.iter().flat_map(|r| r.actions.iter().cloned())) } else { Vec::new() };
    let can = if can.is_empty() { String::new() } else { format!(" That role may: {}.", list(&can, 8)) };
    let (severity, verdict) = if specific {
        let roles = if p.resources.len() == 1 { "this one role" } else { "these roles" };
        let service = match &services {
            Some(s) if s.len() == 1 => " and one service",
            Some(_) => " and these services",
            None => ", but not to a service",
        };
        (Severity::Medium, format!(" Limited to {roles}{service}: iam:PassRole on `*` would be high."))
    } else {
        (Severity::High, " Any role it can pass becomes its own: the classic privilege escalation.".to_string())
    };
    risk(
        RiskKind::PrivilegeEscalation,
        severity,
        written,
        format!("{} can give {target} to {to}.{launch}{can}{verdict}", who.label),
    )
}

#[cfg(test)]
#[path = "risk_tests.rs"]
mod tests;
