//! One test per risk rule, on hand-written statements.

use super::*;
use serde_json::{json, Value};

const VENDOR: &str = "111122223333";
const OWN: &str = "123456789012";

fn ctx() -> Context {
    let instance = RoleSummary {
        name: "acme-instance".into(),
        arn: format!("arn:aws:iam::{OWN}:role/acme-instance"),
        holder: "InstanceRole".into(),
        actions: vec!["s3:GetObject".into(), "kms:Decrypt".into()],
    };
    let vendor_role = RoleSummary {
        name: "acme-vendor".into(),
        arn: format!("arn:aws:iam::{OWN}:role/acme-vendor"),
        holder: "VendorRole".into(),
        actions: vec!["ec2:RunInstances".into(), "iam:PassRole".into()],
    };
    let grant = |action: &str, sid: &str, resources: &[&str]| GrantSummary {
        principal: "acme-vendor".into(),
        action: action.into(),
        sid: Some(sid.into()),
        resources: resources.iter().map(|r| r.to_string()).collect(),
    };
    Context {
        cloud: Cloud::Aws,
        vendor_name: "Acme ML".into(),
        vendor_aws_account: Some(VENDOR.into()),
        vendor_gcp_service_account: None,
        vendor_azure_app_id: None,
        account: Some(OWN.into()),
        roles: vec![vendor_role, instance],
        grants: vec![
            grant("ec2:RunInstances", "Launch", &["*"]),
            grant("iam:PassRole", "Pass", &[&format!("arn:aws:iam::{OWN}:role/acme-instance")]),
        ],
    }
}

fn perm(kind: PermissionKind, principal: &str, actions: &[&str], resources: &[&str], conditions: Value) -> Permission {
    Permission {
        principal: principal.into(),
        kind,
        holder: "VendorRole".into(),
        policy: match kind {
            PermissionKind::Trust => "trust policy".into(),
            PermissionKind::Identity => "P".into(),
            PermissionKind::Resource => "key policy".into(),
        },
        sid: Some("S".into()),
        effect: Effect::Allow,
        actions: actions.iter().map(|a| a.to_string()).collect(),
        resources: resources.iter().map(|r| r.to_string()).collect(),
        conditions,
        access_level: None,
        access: Vec::new(),
        risks: Vec::new(),
        source: None,
    }
}

fn identity(actions: &[&str], resources: &[&str]) -> Permission {
    perm(PermissionKind::Identity, "acme-vendor", actions, resources, json!({}))
}

fn risks(p: &Permission) -> Vec<Risk> {
    analyze(p, &ctx()).1
}

fn find(rs: &[Risk], kind: RiskKind) -> Risk {
    rs.iter().find(|r| r.kind == kind).cloned().unwrap_or_else(|| panic!("no {kind:?} in {rs:#?}"))
}

fn kinds(rs: &[Risk]) -> Vec<RiskKind> {
    rs.iter().map(|r| r.kind).collect()
}

#[test]
fn read_only_describe_on_star_is_only_informed() {
    let rs = risks(&identity(&["ec2:DescribeInstances", "ec2:DescribeVpcs"], &["*"]));
    assert_eq!(kinds(&rs), [RiskKind::WildcardResource]);
    assert_eq!(rs[0].severity, Severity::Info);
    assert!(
        rs[0].explanation.contains("AWS does not let ec2:DescribeInstances, ec2:DescribeVpcs be limited"),
        "{}",
        rs[0].explanation
    );
    assert!(rs[0].explanation.contains("List only"));
}

#[test]
fn wildcard_actions_are_counted_and_graded() {
    let rs = risks(&identity(&["ec2:Describe*"], &["*"]));
    let w = find(&rs, RiskKind::WildcardAction);
    let n = expand(Cloud::Aws, "ec2:Describe*").actions.len();
    assert!(w.explanation.contains(&format!("stands for {n} ec2 actions")), "{}", w.explanation);
    assert_eq!(w.severity, Severity::Low, "Describe* is List/Read only");
    let all = risks(&identity(&["*"], &["*"]));
    let w = find(&all, RiskKind::WildcardAction);
    assert_eq!(w.severity, Severity::High);
    assert!(
        w.explanation.contains("every action of every service (18397 actions in 421 services in the reference)"),
        "{}",
        w.explanation
    );
    assert_eq!(find(&all, RiskKind::WildcardResource).severity, Severity::High);
    for k in
        [RiskKind::PrivilegeEscalation, RiskKind::DataAccess, RiskKind::CredentialsExposure, RiskKind::ResourceExposure]
    {
        assert_eq!(find(&all, k).severity, Severity::High, "{k:?}");
    }
    let s3 = risks(&identity(&["s3:*"], &["arn:aws:s3:::data", "arn:aws:s3:::data/*"]));
    assert_eq!(find(&s3, RiskKind::WildcardAction).severity, Severity::High, "s3:* includes permissions management");
    let data = find(&s3, RiskKind::DataAccess);
    assert!(data.explanation.contains("s3:GetObject (through s3:*)"), "{}", data.explanation);
    assert_eq!(data.severity, Severity::Medium, "one bucket");
    assert!(!kinds(&s3).contains(&RiskKind::WildcardResource));
}

#[test]
fn wildcard_resource_is_graded_by_what_could_have_been_limited() {
    let rs = risks(&identity(&["s3:GetObject"], &["*"]));
    let w = find(&rs, RiskKind::WildcardResource);
    assert_eq!(w.severity, Severity::Low);
    assert!(w.explanation.contains("not only those this plan creates"));
    assert_eq!(find(&rs, RiskKind::DataAccess).severity, Severity::High, "every bucket's objects");
    let rs = risks(&identity(&["ec2:TerminateInstances"], &["*"]));
    assert_eq!(find(&rs, RiskKind::WildcardResource).severity, Severity::Medium);
}

#[test]
fn pass_role_on_one_role_to_one_service_is_medium_and_says_why() {
    let mut p = identity(&["iam:PassRole"], &[&format!("arn:aws:iam::{OWN}:role/acme-instance")]);
    p.conditions = json!({"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}});
    let rs = risks(&p);
    assert_eq!(kinds(&rs), [RiskKind::PrivilegeEscalation]);
    let e = &rs[0];
    assert_eq!(e.severity, Severity::Medium);
    assert_eq!(e.actions, ["iam:PassRole"]);
    for needle in [
        "role acme-vendor can give role acme-instance to ec2.amazonaws.com only (condition iam:PassedToService)",
        "With ec2:RunInstances (Launch) it can start machines that act as that role",
        "That role may: s3:GetObject, kms:Decrypt",
        "Limited to this one role and one service: iam:PassRole on `*` would be high",
    ] {
        assert!(e.explanation.contains(needle), "`{needle}` in {}", e.explanation);
    }
    let star = risks(&identity(&["iam:PassRole"], &["*"]));
    let e = find(&star, RiskKind::PrivilegeEscalation);
    assert_eq!(e.severity, Severity::High);
    assert!(e.explanation.contains("can give any role in your account to any AWS service"), "{}", e.explanation);
    assert!(e.explanation.contains("no iam:PassedToService condition"));
    assert!(e.explanation.contains("classic privilege escalation"));
}

#[test]
fn other_escalations_credentials_exposure_and_data_access() {
    let rs = risks(&identity(&["iam:PutRolePolicy"], &[&format!("arn:aws:iam::{OWN}:role/acme-vendor")]));
    let e = find(&rs, RiskKind::PrivilegeEscalation);
    assert_eq!(e.severity, Severity::High);
    assert!(e.explanation.contains("write an inline policy granting a role anything"));
    assert!(!kinds(&rs).contains(&RiskKind::PermissionsManagement), "covered by the escalation flag");
    let rs = risks(&identity(&["iam:CreateAccessKey"], &["*"]));
    assert_eq!(find(&rs, RiskKind::CredentialsExposure).severity, Severity::High);
    let rs = risks(&identity(&["sts:GetFederationToken"], &["*"]));
    assert!(find(&rs, RiskKind::CredentialsExposure).explanation.contains("temporary credentials"));
    let rs = risks(&identity(&["s3:GetObject"], &["arn:aws:s3:::data/*"]));
    assert_eq!(kinds(&rs), [RiskKind::DataAccess]);
    assert_eq!(rs[0].severity, Severity::Medium);
    assert!(
        rs[0].explanation.contains("can read objects (s3:GetObject) on every object in bucket data."),
        "{}",
        rs[0].explanation
    );
    let rs = risks(&identity(&["iam:CreatePolicy"], &["*"]));
    assert_eq!(find(&rs, RiskKind::PermissionsManagement).severity, Severity::High);
}

#[test]
fn resource_exposure() {
    let rs = risks(&identity(&["s3:PutBucketPolicy"], &["arn:aws:s3:::data"]));
    let e = find(&rs, RiskKind::ResourceExposure);
    assert_eq!(e.severity, Severity::Medium);
    assert!(e.explanation.contains("change the bucket policy"));
    let rs = risks(&identity(&["s3:PutBucketPolicy"], &["arn:aws:s3:::*"]));
    assert_eq!(find(&rs, RiskKind::ResourceExposure).severity, Severity::High);
}

#[test]
fn unknown_actions_are_flagged_never_dropped() {
    let (access, rs) = analyze(&identity(&["ec2:DescribeInstances", "ec2:LaunchRockets"], &["*"]), &ctx());
    assert_eq!(access.len(), 2);
    assert!(access[1].unknown && access[1].level.is_none());
    let u = find(&rs, RiskKind::UnknownAction);
    assert_eq!((u.severity, u.actions.as_slice()), (Severity::Medium, ["ec2:LaunchRockets".to_string()].as_slice()));
    assert!(u.explanation.contains("ec2 has no action `LaunchRockets`"), "{}", u.explanation);
    assert!(u.explanation.ends_with("check its spelling."), "{}", u.explanation);
    let rs = risks(&identity(&["lambda:InvokeFunction"], &["*"]));
    let u = find(&rs, RiskKind::UnknownAction);
    assert!(u.explanation.contains("add it to assets/permissions/generate.py") && !u.explanation.contains("spelling"));
    // Its resource could be limitable: the wildcard resource is not waved through as "only choice".
    assert_ne!(find(&rs, RiskKind::WildcardResource).severity, Severity::Info);
}

#[test]
fn deny_is_protective_not_risky() {
    let mut p = perm(
        PermissionKind::Resource,
        "*",
        &["s3:*"],
        &["arn:aws:s3:::data"],
        json!({"Bool": {"aws:SecureTransport": "false"}}),
    );
    p.policy = "bucket policy".into();
    p.effect = Effect::Deny;
    let rs = risks(&p);
    assert_eq!(kinds(&rs), [RiskKind::Protective]);
    assert_eq!(rs[0].severity, Severity::Info);
    assert!(rs[0].explanation.contains("only when aws:SecureTransport = false"), "{}", rs[0].explanation);
    assert!(rs[0].explanation.contains("grants nothing"));
}

#[test]
fn trust_names_the_vendor_and_checks_the_external_id() {
    let p = perm(
        PermissionKind::Trust,
        &format!("arn:aws:iam::{VENDOR}:root"),
        &["sts:AssumeRole"],
        &[],
        json!({"StringEquals": {"sts:ExternalId": "abc123"}}),
    );
    let rs = risks(&p);
    assert_eq!(kinds(&rs), [RiskKind::CrossAccount, RiskKind::ExternalIdPresent]);
    assert_eq!(rs[0].severity, Severity::Medium);
    assert!(
        rs[0].explanation.starts_with("Acme ML's account (111122223333) may assume role acme-vendor"),
        "{}",
        rs[0].explanation
    );
    assert!(rs[1].explanation.contains("ExternalId abc123") && rs[1].explanation.contains("confused-deputy"));
    let missing =
        perm(PermissionKind::Trust, &format!("arn:aws:iam::{VENDOR}:root"), &["sts:AssumeRole"], &[], json!({}));
    let rs = risks(&missing);
    assert_eq!(find(&rs, RiskKind::ExternalIdMissing).severity, Severity::High);
    let other = perm(
        PermissionKind::Trust,
        "arn:aws:iam::999988887777:root",
        &["sts:AssumeRole"],
        &[],
        json!({"StringEquals": {"sts:ExternalId": "x"}}),
    );
    let c = find(&risks(&other), RiskKind::CrossAccount);
    assert_eq!(c.severity, Severity::High);
    assert!(c.explanation.contains("not Acme ML's account (111122223333)"));
    let anyone = perm(PermissionKind::Trust, "*", &["sts:AssumeRole"], &[], json!({}));
    let rs = risks(&anyone);
    assert_eq!(kinds(&rs), [RiskKind::PublicPrincipal, RiskKind::ExternalIdMissing]);
    let mut service = perm(PermissionKind::Trust, "ec2.amazonaws.com", &["sts:AssumeRole"], &[], json!({}));
    service.holder = "InstanceRole".into();
    let rs = risks(&service);
    assert_eq!(kinds(&rs), [RiskKind::ServicePrincipal]);
    assert!(rs[0].explanation.contains("may take role acme-instance"), "{}", rs[0].explanation);
    assert!(
        rs[0].explanation.contains("who may hand it over (iam:PassRole): acme-vendor (Pass)"),
        "{}",
        rs[0].explanation
    );
    let own = perm(PermissionKind::Trust, &format!("arn:aws:iam::{OWN}:root"), &["sts:AssumeRole"], &[], json!({}));
    assert_eq!(kinds(&risks(&own)), [RiskKind::SameAccount]);
}

#[test]
fn account_root_kms_star_in_a_key_policy_is_flagged_low_and_explained() {
    let p = perm(PermissionKind::Resource, &format!("arn:aws:iam::{OWN}:root"), &["kms:*"], &["*"], json!({}));
    let rs = risks(&p);
    assert_eq!(kinds(&rs), [RiskKind::WildcardAction]);
    assert_eq!(rs[0].severity, Severity::Low);
    assert!(rs[0].explanation.contains("standard key-policy statement"), "{}", rs[0].explanation);
    assert!(rs[0].explanation.contains("on this key (VendorRole)"), "{}", rs[0].explanation);
    // The machines' grant in the same key policy: `*` is the key, so no wildcard-resource flag.
    let p = perm(
        PermissionKind::Resource,
        &format!("arn:aws:iam::{OWN}:role/acme-instance"),
        &["kms:Decrypt", "kms:GenerateDataKey"],
        &["*"],
        json!({}),
    );
    let rs = risks(&p);
    assert_eq!(kinds(&rs), [RiskKind::DataAccess]);
    assert_eq!(rs[0].severity, Severity::Medium);
    assert!(
        rs[0]
            .explanation
            .starts_with("role acme-instance can decrypt data encrypted with the key (kms:Decrypt) on this key"),
        "{}",
        rs[0].explanation
    );
    // The vendor's account named in a resource policy.
    let p = perm(PermissionKind::Resource, &format!("arn:aws:iam::{VENDOR}:root"), &["kms:Decrypt"], &["*"], json!({}));
    assert_eq!(find(&risks(&p), RiskKind::CrossAccount).severity, Severity::Medium);
}

#[test]
fn nothing_is_flagged_that_is_not_there() {
    let mut p =
        identity(&["ec2:StartInstances", "ec2:StopInstances"], &[&format!("arn:aws:ec2:eu-west-1:{OWN}:instance/*")]);
    p.conditions = json!({"StringEquals": {"aws:ResourceTag/managed-by": "acme"}});
    let (access, rs) = analyze(&p, &ctx());
    assert!(rs.is_empty(), "{rs:#?}");
    assert!(access.iter().all(|a| a.level == Some(AccessLevel::Write)));
    assert!(risks(&identity(&["s3:ListBucket"], &["arn:aws:s3:::data"])).is_empty());
}

#[test]
fn gcp_and_azure_statements_use_the_same_rules() {
    let mut c = ctx();
    c.cloud = Cloud::Gcp;
    let p = identity(&["iam.serviceAccounts.actAs", "storage.objects.get", "compute.instances.list"], &[]);
    let (access, rs) = analyze(&p, &c);
    assert_eq!(
        access.iter().map(|a| a.level).collect::<Vec<_>>(),
        [Some(AccessLevel::Write), Some(AccessLevel::Read), Some(AccessLevel::List)]
    );
    assert!(kinds(&rs).contains(&RiskKind::PrivilegeEscalation) && kinds(&rs).contains(&RiskKind::DataAccess));
    assert!(!kinds(&rs).contains(&RiskKind::WildcardResource));
    c.cloud = Cloud::Azure;
    let p = identity(&["Microsoft.Authorization/roleAssignments/write", "Microsoft.Compute/*"], &[]);
    let rs = analyze(&p, &c).1;
    assert_eq!(find(&rs, RiskKind::PrivilegeEscalation).severity, Severity::High);
    assert!(find(&rs, RiskKind::WildcardAction).explanation.contains("Microsoft.Compute/*"));
}

const APP: &str = "0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f40";
const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000001";
const KV: &str = "Microsoft.KeyVault/vaults/secrets/getSecret/action";
const ASSIGN: &str = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";

fn azure_ctx() -> Context {
    Context {
        cloud: Cloud::Azure,
        vendor_name: "Acme ML".into(),
        vendor_aws_account: None,
        vendor_gcp_service_account: None,
        vendor_azure_app_id: Some(APP.into()),
        account: Some("00000000-0000-0000-0000-000000000001".into()),
        roles: vec![RoleSummary {
            name: "acmeml-demo-machines".into(),
            arn: format!("{MANAGED_IDENTITY}acmeml-demo-machines"),
            holder: "MachinesIdentity".into(),
            actions: vec![KV.into(), "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read".into()],
        }],
        grants: vec![GrantSummary {
            principal: "acmeml-demo-machines".into(),
            action: KV.into(),
            sid: None,
            resources: vec![format!("{SUB}/resourceGroups/acmeml-demo/providers/Microsoft.KeyVault/vaults/kv1")],
        }],
    }
}

fn azure(principal: &str, actions: &[&str], scope: &str) -> Permission {
    perm(PermissionKind::Identity, principal, actions, &[scope], json!({"principalType": "ServicePrincipal"}))
}

#[test]
fn azure_assigning_the_machines_identity_is_high_and_says_what_the_identity_may_do() {
    let vendor = format!("the vendor's service principal (app {APP})");
    let p = azure(
        &vendor,
        &["Microsoft.Compute/virtualMachines/write", ASSIGN],
        &format!("{SUB}/resourceGroups/acmeml-demo"),
    );
    let (access, rs) = analyze(&p, &azure_ctx());
    assert_eq!(access[1].level, Some(AccessLevel::Write));
    let esc = find(&rs, RiskKind::PrivilegeEscalation);
    assert_eq!(esc.severity, Severity::High);
    assert_eq!(esc.actions, [ASSIGN]);
    for needle in [
        "Acme ML's service principal (app 0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f40)",
        "managed identity acmeml-demo-machines (in resource group acmeml-demo)",
        "machines then run as that identity",
        "everything that identity may do (read Key Vault secrets on Key Vault kv1)",
    ] {
        assert!(esc.explanation.contains(needle), "{needle}: {}", esc.explanation);
    }
    // A resource group is named: no flag for its scope.
    assert!(!kinds(&rs).contains(&RiskKind::WildcardResource), "{rs:#?}");
}

#[test]
fn azure_data_and_credentials_on_one_resource() {
    let kv = format!("{SUB}/resourceGroups/acmeml-demo/providers/Microsoft.KeyVault/vaults/acmeml-kv-x1y2z3w4");
    let rs = analyze(&azure("acmeml-demo-machines", &[KV], &kv), &azure_ctx()).1;
    let data = find(&rs, RiskKind::DataAccess);
    assert_eq!(data.severity, Severity::Medium, "one vault is not broad");
    assert!(
        data.explanation.starts_with("managed identity acmeml-demo-machines can read Key Vault secrets"),
        "{}",
        data.explanation
    );
    assert!(data.explanation.contains("on Key Vault acmeml-kv-x1y2z3w4"), "{}", data.explanation);
    assert_eq!(find(&rs, RiskKind::CredentialsExposure).severity, Severity::High);

    let acct = format!(
        "{SUB}/resourceGroups/acmeml-demo-storage/providers/Microsoft.Storage/storageAccounts/acmemldatax1y2z3w4"
    );
    let blobs = [
        "Microsoft.Storage/storageAccounts/blobServices/containers/write",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
        "Microsoft.Storage/storageAccounts/listKeys/action",
    ];
    let rs = analyze(&azure("acmeml-demo-machines", &blobs, &acct), &azure_ctx()).1;
    let data = find(&rs, RiskKind::DataAccess);
    assert!(data.explanation.contains("read blobs, write and overwrite blobs"), "{}", data.explanation);
    assert!(data.explanation.contains("storage account acmemldatax1y2z3w4"), "{}", data.explanation);
    let exp = find(&rs, RiskKind::ResourceExposure);
    assert!(exp.explanation.contains("public access"), "{}", exp.explanation);
    let cred = find(&rs, RiskKind::CredentialsExposure);
    assert_eq!(cred.actions, ["Microsoft.Storage/storageAccounts/listKeys/action"]);
    let pull = analyze(
        &azure("acmeml-demo-machines", &["Microsoft.ContainerRegistry/registries/pull/read"], &acct),
        &azure_ctx(),
    )
    .1;
    assert!(find(&pull, RiskKind::DataAccess).explanation.contains("pull container images"));
}

#[test]
fn azure_subscription_scope_and_role_writes_are_flagged() {
    let vendor = format!("the vendor's service principal (app {APP})");
    let rs = analyze(&azure(&vendor, &["Microsoft.Compute/virtualMachines/read"], SUB), &azure_ctx()).1;
    let wide = find(&rs, RiskKind::WildcardResource);
    assert_eq!(wide.severity, Severity::Medium, "read only");
    assert!(
        wide.explanation.contains("the whole subscription 00000000-0000-0000-0000-000000000001"),
        "{}",
        wide.explanation
    );
    assert!(wide.explanation.contains("not only the vendor's resource group"));
    let rs = analyze(
        &azure(
            &vendor,
            &["Microsoft.Authorization/roleAssignments/write", "Microsoft.Compute/virtualMachines/runCommand/action"],
            SUB,
        ),
        &azure_ctx(),
    )
    .1;
    assert_eq!(find(&rs, RiskKind::WildcardResource).severity, Severity::High);
    let esc = find(&rs, RiskKind::PrivilegeEscalation);
    assert!(
        esc.explanation.contains("assign any role") && esc.explanation.contains("run commands"),
        "{}",
        esc.explanation
    );
    assert_eq!(find(&rs, RiskKind::ResourceExposure).severity, Severity::High, "broad");
    assert!(!kinds(&rs).contains(&RiskKind::PermissionsManagement), "covered by the flags above: {rs:#?}");
    // `*` on Azure: every action of every provider.
    let rs = analyze(&azure(&vendor, &["*"], &format!("{SUB}/resourceGroups/g")), &azure_ctx()).1;
    let w = find(&rs, RiskKind::WildcardAction);
    assert_eq!(w.severity, Severity::High);
    assert!(w.explanation.contains("Azure adds later"));
}

#[test]
fn azure_trust_is_the_vendor_application_signing_in() {
    let c = azure_ctx();
    let t = perm(PermissionKind::Trust, &format!("the vendor's service principal (app {APP})"), &[], &[], json!({}));
    let rs = analyze(&t, &c).1;
    assert_eq!(kinds(&rs), [RiskKind::CrossAccount], "no ExternalId rules on Azure");
    assert_eq!(rs[0].severity, Severity::Medium);
    assert!(rs[0]
        .explanation
        .starts_with(&format!("Acme ML's application {APP} signs in to your tenant as a service principal")));
    let other = perm(PermissionKind::Trust, "11111111-2222-3333-4444-555555555555", &[], &[], json!({}));
    let rs = analyze(&other, &c).1;
    assert_eq!((rs[0].kind, rs[0].severity), (RiskKind::CrossAccount, Severity::High));
    assert!(rs[0].explanation.contains("not Acme ML's application"));
    let mut deny =
        azure("acmeml-demo-machines", &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"], SUB);
    deny.effect = Effect::Deny;
    assert_eq!(kinds(&analyze(&deny, &c).1), [RiskKind::Protective]);
}
