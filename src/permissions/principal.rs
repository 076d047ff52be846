//! Who a principal string is, in words: the vendor's account by name, your own account, a role this
//! plan creates, a cloud service, anyone.

use super::risk::Context;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalKind {
    /// `*`.
    Anyone,
    /// The vendor (its AWS account, GCP service account or Azure application).
    Vendor,
    /// The customer's own account (its root: delegates to the account's IAM policies).
    OwnAccount,
    /// An account that is neither the vendor's nor yours.
    OtherAccount,
    /// A role this plan creates (identity statements name it; resource policies give its ARN).
    Role,
    /// A cloud service (`ec2.amazonaws.com`).
    Service,
    /// An identity provider (SAML, OIDC).
    Federated,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalInfo {
    pub kind: PrincipalKind,
    /// One plain name: "Acme ML's account (111122223333)", "role acmeml-demo-vendor".
    pub label: String,
    /// The AWS account the principal is in, where it names one.
    pub account: Option<String>,
    /// The key principals are grouped by: a role of this plan is the same principal whether a
    /// statement names it or gives its ARN.
    pub key: String,
}

/// The account of an IAM ARN (`arn:aws:iam::111122223333:root`) or a bare account id.
pub fn aws_account(principal: &str) -> Option<&str> {
    if principal.len() == 12 && principal.chars().all(|c| c.is_ascii_digit()) {
        return Some(principal);
    }
    let mut parts = principal.splitn(6, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some("iam" | "sts"), Some(_), Some(account)) if !account.is_empty() => Some(account),
        _ => None,
    }
}

fn service_name(service: &str) -> String {
    let short = service.split('.').next().unwrap_or(service);
    match short {
        "ec2" => "the EC2 service (virtual machines)".into(),
        "lambda" => "the Lambda service (functions)".into(),
        "ecs-tasks" => "the ECS service (containers)".into(),
        "cloudformation" => "the CloudFormation service".into(),
        other => format!("the AWS service {other}"),
    }
}

/// The prefix of an Azure managed identity of the plan, as its role assignments name it
/// (`managed identity acmeml-demo-machines`) and as [`super::RoleSummary::arn`] keeps it.
pub const MANAGED_IDENTITY: &str = "managed identity ";

fn contains_ignore_case(text: &str, part: &str) -> bool {
    !part.is_empty() && text.to_ascii_lowercase().contains(&part.to_ascii_lowercase())
}

/// Describe a principal string of a statement.
pub fn describe_principal(principal: &str, ctx: &Context) -> PrincipalInfo {
    let info = |kind, label: String, account: Option<&str>, key: &str| PrincipalInfo {
        kind,
        label,
        account: account.map(String::from),
        key: key.to_string(),
    };
    if principal == "*" || principal == "allUsers" || principal == "allAuthenticatedUsers" {
        return info(PrincipalKind::Anyone, "anyone (any account, or none)".into(), None, "*");
    }
    if let Some(role) = ctx.roles.iter().find(|r| r.name == principal || r.arn == principal) {
        let what = if role.arn.starts_with("serviceAccount:") {
            "service account"
        } else if role.arn.starts_with(MANAGED_IDENTITY) {
            "managed identity"
        } else {
            "role"
        };
        return info(PrincipalKind::Role, format!("{what} {}", role.name), ctx.account.as_deref(), &role.name);
    }
    if principal.contains(":saml-provider/")
        || principal.contains(":oidc-provider/")
        || principal == "cognito-identity.amazonaws.com"
        || principal == "accounts.google.com"
    {
        return info(PrincipalKind::Federated, format!("identities from {principal}"), None, principal);
    }
    if principal.ends_with(".amazonaws.com") || principal.ends_with(".amazonaws.com.cn") {
        return info(PrincipalKind::Service, service_name(principal), None, principal);
    }
    let gcp = ctx.vendor_gcp_service_account.as_deref();
    if gcp.is_some_and(|sa| principal == sa || principal.strip_prefix("serviceAccount:") == Some(sa)) {
        return info(
            PrincipalKind::Vendor,
            format!("{}'s service account ({principal})", ctx.vendor_name),
            None,
            principal,
        );
    }
    // Azure: the vendor's application, as the service principal it has in your tenant. The plan
    // may name it by the app id alone or in words around it.
    if let Some(app) = ctx.vendor_azure_app_id.as_deref().filter(|app| contains_ignore_case(principal, app)) {
        return info(
            PrincipalKind::Vendor,
            format!("{}'s service principal (app {app})", ctx.vendor_name),
            None,
            // However a statement words it, the vendor's grants are one principal's.
            &app.to_ascii_lowercase(),
        );
    }
    if let Some(account) = aws_account(principal) {
        let tail = principal.rsplit_once(':').map(|(_, t)| t).unwrap_or("root");
        let what = match tail.split_once('/') {
            Some((kind, name)) if principal.starts_with("arn:") => format!("{kind} {name} in "),
            _ => String::new(),
        };
        let own = ctx.account.as_deref().unwrap_or("<account>");
        if Some(account) == ctx.vendor_aws_account.as_deref() {
            let label = format!("{what}{}'s account ({account})", ctx.vendor_name);
            return info(PrincipalKind::Vendor, label, Some(account), principal);
        }
        if account == own || account == "<account>" {
            let label = match &ctx.account {
                Some(a) => format!("{what}your account ({a})"),
                None => format!("{what}your account"),
            };
            return info(PrincipalKind::OwnAccount, label, Some(account), principal);
        }
        return info(
            PrincipalKind::OtherAccount,
            format!("{what}account {account} (not {}'s)", ctx.vendor_name),
            Some(account),
            principal,
        );
    }
    info(PrincipalKind::Other, principal.to_string(), None, principal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Cloud;
    use crate::permissions::risk::RoleSummary;

    fn ctx() -> Context {
        Context {
            cloud: Cloud::Aws,
            vendor_name: "Acme ML".into(),
            vendor_aws_account: Some("111122223333".into()),
            vendor_gcp_service_account: Some("ctl@acme.iam.gserviceaccount.com".into()),
            vendor_azure_app_id: Some("0f9c".into()),
            account: Some("123456789012".into()),
            roles: vec![RoleSummary {
                name: "acmeml-demo-instance".into(),
                arn: "arn:aws:iam::123456789012:role/acmeml-demo-instance".into(),
                ..Default::default()
            }],
            grants: Vec::new(),
        }
    }

    #[test]
    fn principals_are_named_plainly() {
        let c = ctx();
        let d = |p: &str| describe_principal(p, &c);
        assert_eq!(d("arn:aws:iam::111122223333:root").label, "Acme ML's account (111122223333)");
        assert_eq!(d("arn:aws:iam::111122223333:root").kind, PrincipalKind::Vendor);
        assert_eq!(d("111122223333").label, "Acme ML's account (111122223333)");
        assert_eq!(d("arn:aws:iam::111122223333:role/ctl").label, "role ctl in Acme ML's account (111122223333)");
        assert_eq!(d("arn:aws:iam::123456789012:root").kind, PrincipalKind::OwnAccount);
        assert_eq!(d("arn:aws:iam::123456789012:root").label, "your account (123456789012)");
        let other = d("arn:aws:iam::999999999999:root");
        assert_eq!(
            (other.kind, other.label.as_str()),
            (PrincipalKind::OtherAccount, "account 999999999999 (not Acme ML's)")
        );
        let role = d("arn:aws:iam::123456789012:role/acmeml-demo-instance");
        assert_eq!((role.kind, role.key.as_str()), (PrincipalKind::Role, "acmeml-demo-instance"));
        assert_eq!(d("acmeml-demo-instance").key, "acmeml-demo-instance");
        assert_eq!(d("ec2.amazonaws.com").label, "the EC2 service (virtual machines)");
        assert_eq!(d("*").kind, PrincipalKind::Anyone);
        assert_eq!(d("serviceAccount:ctl@acme.iam.gserviceaccount.com").kind, PrincipalKind::Vendor);
        assert_eq!(d("arn:aws:iam::123456789012:saml-provider/okta").kind, PrincipalKind::Federated);
    }

    #[test]
    fn azure_principals_are_named_plainly() {
        let mut c = ctx();
        c.cloud = Cloud::Azure;
        c.vendor_azure_app_id = Some("0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f40".into());
        c.roles.push(RoleSummary {
            name: "acmeml-demo-machines".into(),
            arn: format!("{MANAGED_IDENTITY}acmeml-demo-machines"),
            ..Default::default()
        });
        for written in [
            "0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f40",
            "the vendor's service principal (app 0F9C3C1E-5D4B-4A8E-9D3F-2B7A6C1E8F40)",
        ] {
            let v = describe_principal(written, &c);
            assert_eq!(v.kind, PrincipalKind::Vendor, "{written}");
            assert_eq!(v.label, "Acme ML's service principal (app 0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f40)");
        }
        for written in ["acmeml-demo-machines", "managed identity acmeml-demo-machines"] {
            let id = describe_principal(written, &c);
            assert_eq!((id.kind, id.label.as_str()), (PrincipalKind::Role, "managed identity acmeml-demo-machines"));
            assert_eq!(id.key, "acmeml-demo-machines");
        }
        let other = describe_principal("11111111-2222-3333-4444-555555555555", &c);
        assert_eq!(other.kind, PrincipalKind::Other);
    }
}
