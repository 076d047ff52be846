//! Who may act: the rules on trust statements (who may assume a role: the vendor by name, another
//! account, anyone, a service; ExternalId present or missing; on GCP who may act as a service
//! account; on Azure the vendor's application signing in to your tenant) and on the principals a
//! resource policy names (your own account's root only delegates to your IAM policies).

use super::conditions;
use super::principal::{PrincipalInfo, PrincipalKind};
use super::risk::{is_key_policy, list, on_phrase, risk, when, Context};
use super::{glob_match, ActionAccess, Risk, RiskKind, Severity};
use crate::model::{Cloud, Permission};

pub(super) fn trust_risks(p: &Permission, who: &PrincipalInfo, ctx: &Context, risks: &mut Vec<Risk>) {
    let role = on_phrase(p, ctx);
    let vendor = &ctx.vendor_name;
    let cond = when(p);
    if ctx.cloud == Cloud::Gcp {
        gcp_trust_risks(p, who, ctx, &role, &cond, risks);
        return;
    }
    if ctx.cloud == Cloud::Azure {
        azure_trust_risks(who, ctx, &cond, risks);
        return;
    }
    match who.kind {
        PrincipalKind::Anyone => risks.push(risk(
            RiskKind::PublicPrincipal,
            Severity::High,
            Vec::new(),
            format!("Anyone, in any AWS account, may assume {role}{cond}; check that a condition really narrows it."),
        )),
        PrincipalKind::Vendor => risks.push(risk(
            RiskKind::CrossAccount,
            Severity::Medium,
            Vec::new(),
            format!(
                "{} may assume {role}{cond}: whoever {vendor} allows in its account then acts in yours with this role's permissions (listed under the role). This is the access you are granting.",
                who.label
            ),
        )),
        PrincipalKind::OtherAccount | PrincipalKind::Other => risks.push(risk(
            RiskKind::CrossAccount,
            Severity::High,
            Vec::new(),
            format!(
                "{} may assume {role}{cond}: it is not {vendor}'s account{}; check who this is.",
                who.label,
                ctx.vendor_aws_account.as_deref().map(|a| format!(" ({a})")).unwrap_or_default()
            ),
        )),
        PrincipalKind::OwnAccount | PrincipalKind::Role => risks.push(risk(
            RiskKind::SameAccount,
            Severity::Info,
            Vec::new(),
            format!(
                "{}: identities of your own account whose IAM policies allow it may assume {role}{cond}.",
                who.label
            ),
        )),
        PrincipalKind::Service => {
            let passers: Vec<String> = ctx
                .roles
                .iter()
                .filter(|r| r.holder == p.holder)
                .flat_map(|r| {
                    ctx.grants.iter().filter(move |g| {
                        glob_match(&g.action, "iam:PassRole") && g.resources.iter().any(|res| glob_match(res, &r.arn))
                    })
                })
                .map(|g| match &g.sid {
                    Some(sid) => format!("{} ({sid})", g.principal),
                    None => g.principal.clone(),
                })
                .collect();
            let by = if passers.is_empty() {
                "no principal in this plan may pass it to the service".to_string()
            } else {
                format!("who may hand it over (iam:PassRole): {}", passers.join(", "))
            };
            risks.push(risk(
                RiskKind::ServicePrincipal,
                Severity::Info,
                Vec::new(),
                format!("{} may take {role} for the resources it runs{cond}; {by}.", who.label),
            ));
        }
        PrincipalKind::Federated => risks.push(risk(
            RiskKind::FederatedPrincipal,
            Severity::Medium,
            Vec::new(),
            format!("{} may assume {role}{cond}.", who.label),
        )),
    }
    if matches!(
        who.kind,
        PrincipalKind::Vendor | PrincipalKind::OtherAccount | PrincipalKind::Other | PrincipalKind::Anyone
    ) {
        match conditions::values_of(&p.conditions, "sts:ExternalId") {
            Some(ids) => risks.push(risk(
                RiskKind::ExternalIdPresent,
                Severity::Info,
                Vec::new(),
                format!(
                    "Assuming {role} requires the ExternalId {}: {} cannot be tricked into using this access on behalf of another of its customers (the confused-deputy problem).",
                    ids.join(" or "),
                    if who.kind == PrincipalKind::Vendor { vendor.as_str() } else { "the other party" }
                ),
            )),
            None => risks.push(risk(
                RiskKind::ExternalIdMissing,
                Severity::High,
                Vec::new(),
                format!(
                    "No sts:ExternalId condition: anyone able to make {} act for them could have it assume {role} in your account (confused deputy); AWS asks for an ExternalId on every third-party role.",
                    who.label
                ),
            )),
        }
    }
}

/// GCP's form of trust: a binding on a service account lets its member act as it
/// (`iam.serviceAccounts.actAs`: start machines that run as it). There is no ExternalId on GCP: the
/// vendor is named by its own service account, which only the vendor can act as.
fn gcp_trust_risks(p: &Permission, who: &PrincipalInfo, ctx: &Context, sa: &str, cond: &str, risks: &mut Vec<Risk>) {
    let acts = p.actions.iter().any(|a| glob_match(a, "iam.serviceAccounts.actAs"));
    let what = if acts {
        format!("may act as {sa}{cond}: it can start machines that run as it, with everything that service account is granted (listed under it)")
    } else {
        format!("is granted {} on {sa}{cond}", list(&p.actions, 4))
    };
    let (kind, severity, tail) = match who.kind {
        PrincipalKind::Anyone => {
            (RiskKind::PublicPrincipal, Severity::High, "; check that a condition really narrows it.".to_string())
        }
        PrincipalKind::Vendor => {
            (RiskKind::CrossAccount, Severity::Medium, ". This is the access you are granting.".to_string())
        }
        PrincipalKind::Role | PrincipalKind::OwnAccount => (RiskKind::SameAccount, Severity::Info, ".".to_string()),
        _ => (
            RiskKind::CrossAccount,
            Severity::High,
            format!(": it is not {}'s service account; check who this is.", ctx.vendor_name),
        ),
    };
    risks.push(risk(kind, severity, Vec::new(), format!("{} {what}{tail}", who.label)));
}

/// Azure's form of trust: the vendor's multi-tenant application gets a service principal in your
/// tenant, and signs in as it; what it may then do is what its role assignments grant. There is no
/// ExternalId on Azure: only the vendor holds its application's credentials. The machines'
/// user-assigned identity is the plan's own, not an outsider.
fn azure_trust_risks(who: &PrincipalInfo, ctx: &Context, cond: &str, risks: &mut Vec<Risk>) {
    let vendor = &ctx.vendor_name;
    let (kind, severity, text) = match who.kind {
        PrincipalKind::Vendor => (
            RiskKind::CrossAccount,
            Severity::Medium,
            format!(
                "{vendor}'s application{} signs in to your tenant as a service principal{cond}: whoever {vendor} lets use that application then acts in your subscription with the roles assigned to it (listed under it). This is the access you are granting.",
                ctx.vendor_azure_app_id.as_deref().map(|a| format!(" {a}")).unwrap_or_default()
            ),
        ),
        PrincipalKind::Anyone => (
            RiskKind::PublicPrincipal,
            Severity::High,
            format!("Anyone may sign in to your tenant as {}{cond}; check who this is.", who.label),
        ),
        PrincipalKind::Role | PrincipalKind::OwnAccount => (
            RiskKind::SameAccount,
            Severity::Info,
            format!("{} is an identity of this plan, in your own tenant{cond}.", who.label),
        ),
        _ => (
            RiskKind::CrossAccount,
            Severity::High,
            format!(
                "{} signs in to your tenant{cond}: it is not {vendor}'s application{}; check who this is.",
                who.label,
                ctx.vendor_azure_app_id.as_deref().map(|a| format!(" ({a})")).unwrap_or_default()
            ),
        ),
    };
    risks.push(risk(kind, severity, Vec::new(), text));
}

/// Flags on who a resource policy names. Returns whether the action rules apply as well (not for
/// your own account's root, which only delegates to your IAM policies).
pub(super) fn resource_principal_risks(
    p: &Permission,
    who: &PrincipalInfo,
    access: &[ActionAccess],
    ctx: &Context,
    risks: &mut Vec<Risk>,
) -> bool {
    let on = on_phrase(p, ctx);
    let cond = when(p);
    match who.kind {
        PrincipalKind::Anyone => risks.push(risk(
            RiskKind::PublicPrincipal,
            Severity::High,
            Vec::new(),
            format!("Anyone, in any account or none, may {} on {on}{cond}.", list(&p.actions, 4)),
        )),
        PrincipalKind::Vendor => risks.push(risk(
            RiskKind::CrossAccount,
            Severity::Medium,
            Vec::new(),
            format!("{} is granted {} on {on} directly by this resource policy{cond}.", who.label, list(&p.actions, 4)),
        )),
        PrincipalKind::OtherAccount | PrincipalKind::Other => risks.push(risk(
            RiskKind::CrossAccount,
            Severity::High,
            Vec::new(),
            format!(
                "{} is granted {} on {on}{cond}: it is not {}'s account; check who this is.",
                who.label,
                list(&p.actions, 4),
                ctx.vendor_name
            ),
        )),
        PrincipalKind::OwnAccount if p.principal.ends_with(":root") || p.principal.len() == 12 => {
            let wild: Vec<String> = access.iter().filter(|a| a.wildcard).map(|a| a.action.clone()).collect();
            if !wild.is_empty() {
                let standard = if is_key_policy(p) {
                    "the standard key-policy statement AWS writes by default: it lets your account's administrators manage and use the key through IAM policies, and keeps the key from becoming unmanageable"
                } else {
                    "it delegates to IAM: principals of your account get these actions only if their own IAM policies allow them"
                };
                risks.push(risk(
                    RiskKind::WildcardAction,
                    Severity::Low,
                    wild.clone(),
                    format!(
                        "{} for {} on {on}{cond}: {standard}. It gives nothing to anyone outside your account, and nobody in it without an IAM policy allowing it.",
                        wild.join(", "),
                        who.label
                    ),
                ));
            }
            return false;
        }
        _ => {}
    }
    true
}
