//! The permission preview of the AWS plan, checked against the template files walked here
//! independently (plain YAML): every action has an access level or an explicit unknown flag, the
//! flags are the ones the templates deserve (and no others), every statement points at its line,
//! and `plan --output json|markdown` carries it all.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

#[path = "support/template_walk.rs"]
mod template_walk;
use cloudgrant::model::{Effect, Permission, PermissionKind, Plan};
use cloudgrant::permissions::{self, AccessLevel, RiskKind, Severity};
use cloudgrant::plan::aws::{self, Blueprint};
use cloudgrant::plan::template::Template;
use cloudgrant::plan::Choices;
use cloudgrant::vendor::VendorProfile;
use serde_yaml::Value;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use template_walk::actions;

const EXTERNAL_ID: &str = "0123456789abcdefghij0123456789abcdefghij";

fn choices() -> Choices {
    Choices {
        org: "demo".into(),
        region: "eu-west-1".into(),
        account: Some("123456789012".into()),
        external_id: Some(EXTERNAL_ID.into()),
    }
}

fn plan() -> Plan {
    aws::build(&VendorProfile::bundled().expect("vendor"), &choices()).expect("plan")
}

fn template_text(name: &str) -> String {
    std::fs::read_to_string(format!("{}/assets/aws/{name}", env!("CARGO_MANIFEST_DIR"))).expect("read")
}

fn by_sid<'p>(plan: &'p Plan, sid: &str) -> &'p Permission {
    plan.permissions().map(|(_, p)| p).find(|p| p.sid.as_deref() == Some(sid)).unwrap_or_else(|| panic!("no {sid}"))
}

#[test]
fn every_action_of_the_templates_has_an_access_level_or_an_unknown_flag() {
    let plan = plan();
    let mut seen = 0;
    for file in ["vpc.yaml", "s3.yaml", "auth.yaml"] {
        let yaml: Value = serde_yaml::from_str(&template_text(file)).expect("yaml");
        let mut file_actions = BTreeSet::new();
        actions(&yaml, &mut file_actions);
        for action in &file_actions {
            let holders: Vec<&Permission> =
                plan.permissions().map(|(_, p)| p).filter(|p| p.actions.contains(action)).collect();
            assert!(!holders.is_empty(), "{file}: {action} is in no permission");
            for p in holders {
                let a = p.access.iter().find(|a| &a.action == action).expect("an access entry per action");
                let flagged = p.risks.iter().any(|r| r.kind == RiskKind::UnknownAction && r.actions.contains(action));
                assert!(a.level.is_some() || (a.unknown && flagged), "{file}: {action}: {a:?}");
                seen += 1;
            }
        }
    }
    assert!(seen >= 30, "{seen} action uses checked");
    // The bundled templates use only actions of the reference: a typo would show up here.
    let unknown: Vec<&str> =
        plan.permissions().flat_map(|(_, p)| &p.access).filter(|a| a.unknown).map(|a| a.action.as_str()).collect();
    assert!(unknown.is_empty(), "{unknown:?}");
    // Levels the reference gives.
    let level = |sid: &str| by_sid(&plan, sid).access_level;
    assert_eq!(level("ReadOnlyEc2"), Some(AccessLevel::List));
    assert_eq!(level("TagOnlyAtLaunch"), Some(AccessLevel::Tagging));
    assert_eq!(level("ManageOwnInstancesOnly"), Some(AccessLevel::Write));
    assert_eq!(level("AccountAdministersKey"), Some(AccessLevel::PermissionsManagement));
    let rw = by_sid(&plan, "ReadWriteDataObjects");
    let get = rw.access.iter().find(|a| a.action == "s3:GetObject").expect("get");
    assert_eq!(get.level, Some(AccessLevel::Read));
}

#[test]
fn an_unknown_action_in_a_template_is_flagged_not_dropped() {
    let mut blueprint = Blueprint::bundled().expect("blueprint");
    let text = template_text("auth.yaml").replace("\"ec2:DescribeVpcs\"", "\"ec2:DescribeVpcz\"");
    let stack = blueprint.stacks.iter_mut().find(|s| s.key == "auth").expect("auth");
    stack.template = Template::parse("aws/auth.yaml", Box::leak(text.into_boxed_str())).expect("parse");
    let plan = aws::build_from(&blueprint, &VendorProfile::bundled().expect("vendor"), &choices()).expect("plan");
    let p = by_sid(&plan, "ReadOnlyEc2");
    assert!(p.actions.contains(&"ec2:DescribeVpcz".to_string()), "kept in the statement");
    let a = p.access.iter().find(|a| a.action == "ec2:DescribeVpcz").expect("access");
    assert!(a.unknown && a.level.is_none());
    let r = p.risks.iter().find(|r| r.kind == RiskKind::UnknownAction).expect("flag");
    assert_eq!(r.actions, ["ec2:DescribeVpcz"]);
    assert!(r.explanation.contains("ec2 has no action `DescribeVpcz`"), "{}", r.explanation);
    assert_eq!(p.access_level, Some(AccessLevel::List), "the known actions still count");
}

#[test]
fn the_vendor_roles_pass_role_is_privilege_escalation_limited_by_its_condition() {
    let plan = plan();
    let p = by_sid(&plan, "PassInstanceRoleToEc2Only");
    assert_eq!(p.principal, "acmeml-demo-vendor");
    assert_eq!(p.risks.len(), 1, "{:#?}", p.risks);
    let r = &p.risks[0];
    assert_eq!((r.kind, r.severity), (RiskKind::PrivilegeEscalation, Severity::Medium));
    for needle in [
        "role acmeml-demo-instance to ec2.amazonaws.com only (condition iam:PassedToService)",
        "With ec2:RunInstances (LaunchTaggedInstances",
        "That role may: kms:Decrypt, kms:GenerateDataKey, s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject",
        "iam:PassRole on `*` would be high",
    ] {
        assert!(r.explanation.contains(needle), "`{needle}` in {}", r.explanation);
    }
}

#[test]
fn trust_of_the_vendor_role_is_cross_account_to_the_named_vendor_with_an_external_id() {
    let plan = plan();
    let (_, trust) = plan.trust().find(|(_, p)| p.holder == "VendorRole").expect("vendor trust");
    let kinds: Vec<(RiskKind, Severity)> = trust.risks.iter().map(|r| (r.kind, r.severity)).collect();
    assert_eq!(kinds, [(RiskKind::CrossAccount, Severity::Medium), (RiskKind::ExternalIdPresent, Severity::Info)]);
    assert!(
        trust.risks[0].explanation.starts_with("Acme ML's account (111122223333) may assume role acmeml-demo-vendor"),
        "{}",
        trust.risks[0].explanation
    );
    assert!(trust.risks[1].explanation.contains(EXTERNAL_ID));
    assert!(trust.risks[1].explanation.contains("confused-deputy"));
    // A vendor profile without ExternalId support would be flagged; cloudgrant always sets one.
    assert!(!plan.permissions().any(|(_, p)| p.risks.iter().any(|r| r.kind == RiskKind::ExternalIdMissing)));
}

#[test]
fn data_access_is_flagged_on_the_machine_role() {
    let plan = plan();
    let p = by_sid(&plan, "ReadWriteDataObjects");
    let r = p.risks.iter().find(|r| r.kind == RiskKind::DataAccess).expect("data access");
    assert!(r.actions.contains(&"s3:GetObject".to_string()));
    assert_eq!(r.severity, Severity::Medium, "one bucket only");
    assert!(r.explanation.contains("every object in bucket acmeml-demo-data-123456789012"), "{}", r.explanation);
}

/// The whole set of flags of the bundled AWS plan: nothing flagged that is not there.
#[test]
fn nothing_is_flagged_that_is_not_there() {
    let plan = plan();
    let mut flags: Vec<(String, RiskKind, Severity)> = plan
        .permissions()
        .flat_map(|(_, p)| p.risks.iter().map(move |r| (p.sid.clone().unwrap_or_default(), r.kind, r.severity)))
        .collect();
    flags.sort();
    let mut want = vec![
        ("DenyInsecureTransport", RiskKind::Protective, Severity::Info),
        ("VendorAccountWithExternalId", RiskKind::CrossAccount, Severity::Medium),
        ("VendorAccountWithExternalId", RiskKind::ExternalIdPresent, Severity::Info),
        ("ReadOnlyEc2", RiskKind::WildcardResource, Severity::Info),
        ("PassInstanceRoleToEc2Only", RiskKind::PrivilegeEscalation, Severity::Medium),
        ("Ec2Instances", RiskKind::ServicePrincipal, Severity::Info),
        ("AccountAdministersKey", RiskKind::WildcardAction, Severity::Low),
        ("MachinesUseKey", RiskKind::DataAccess, Severity::Medium),
        ("ReadWriteDataObjects", RiskKind::DataAccess, Severity::Medium),
        ("UseDataKey", RiskKind::DataAccess, Severity::Medium),
    ]
    .into_iter()
    .map(|(s, k, v)| (s.to_string(), k, v))
    .collect::<Vec<_>>();
    want.sort();
    assert_eq!(flags, want);
    // The Deny protects; the account-root key statement is explained, not alarming.
    let deny = by_sid(&plan, "DenyInsecureTransport");
    assert_eq!(deny.effect, Effect::Deny);
    let root = &by_sid(&plan, "AccountAdministersKey").risks[0];
    assert!(root.explanation.contains("standard key-policy statement"), "{}", root.explanation);
    // Statements without a flag: tag/region/type conditions keep the vendor's writes narrow.
    for sid in ["LaunchTaggedInstances", "ManageOwnInstancesOnly", "TagOnlyAtLaunch", "ListDataBucket"] {
        assert!(by_sid(&plan, sid).risks.is_empty(), "{sid}");
    }
}

#[test]
fn every_statement_points_at_its_line_in_the_template() {
    let plan = plan();
    for (g, p) in plan.permissions() {
        let src = p.source.as_ref().unwrap_or_else(|| panic!("{:?} has no source", p.sid));
        assert_eq!(src.file, g.template);
        let text = template_text(src.file.trim_start_matches("aws/"));
        let line = text.lines().nth(src.line - 1).expect("line in file");
        let sid = p.sid.as_deref().expect("every bundled statement has a Sid");
        assert_eq!(line.trim(), format!("- Sid: {sid}"), "{src}");
        // The line sits inside the resource that holds the statement.
        let holder_line = text.lines().position(|l| l == format!("  {}:", p.holder)).expect("holder") + 1;
        assert!(holder_line < src.line, "{src}: {} starts at {holder_line}", p.holder);
    }
}

#[test]
fn the_review_groups_trust_first_then_principal_service_level() {
    let plan = plan();
    let review = permissions::review(&plan);
    let trust: Vec<(&str, &str)> = review.trust.iter().map(|t| (t.label.as_str(), t.role.as_str())).collect();
    assert_eq!(
        trust,
        [
            ("Acme ML's account (111122223333)", "acmeml-demo-vendor"),
            ("the EC2 service (virtual machines)", "acmeml-demo-instance")
        ]
    );
    let who: Vec<&str> = review.principals.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(who, ["acmeml-demo-vendor", "arn:aws:iam::123456789012:root", "acmeml-demo-instance"]);
    let vendor = &review.principals[0];
    assert_eq!(vendor.assumed_by, ["Acme ML's account (111122223333)"]);
    assert_eq!(vendor.worst, Some(Severity::Medium));
    let services: Vec<&str> = vendor.services.iter().map(|s| s.service.as_str()).collect();
    assert_eq!(services, ["ec2", "iam"]);
    let ec2_levels: Vec<Option<AccessLevel>> = vendor.services[0].levels.iter().map(|l| l.level).collect();
    assert_eq!(ec2_levels, [Some(AccessLevel::List), Some(AccessLevel::Tagging), Some(AccessLevel::Write)]);
    let pass = &vendor.services[1].levels[0].grants[0];
    assert_eq!(pass.action, "iam:PassRole");
    assert_eq!(pass.risks[0].kind, RiskKind::PrivilegeEscalation);
    // The account root's kms:* spans every level, counted from the table.
    let root = &review.principals[1];
    let kms = &root.services[0];
    assert_eq!(kms.levels.len(), 5);
    let counted: usize = kms.levels.iter().map(|l| l.grants[0].count.expect("count")).sum();
    assert_eq!(counted, permissions::expand(plan.cloud, "kms:*").actions.len());
    assert_eq!(kms.risks().len(), 1, "one flag, listed once");
    // The machine role: its identity policy and the key policy naming its ARN, together.
    let machines = &review.principals[2];
    assert_eq!(machines.assumed_by, ["the EC2 service (virtual machines)"]);
    let s3 = machines.services.iter().find(|s| s.service == "s3").expect("s3");
    let read = s3.levels.iter().find(|l| l.level == Some(AccessLevel::Read)).expect("read");
    assert_eq!(read.grants[0].action, "s3:GetObject");
    assert!(read.grants[0].risks.iter().any(|r| r.kind == RiskKind::DataAccess));
    assert_eq!(review.protections.len(), 1);
    assert_eq!(review.protections[0].label, "anyone (any account, or none)");
}

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cloudgrant")).args(args).stdin(Stdio::null()).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8")
}

#[test]
fn plan_json_carries_access_level_risks_and_source_per_permission() {
    let out = run(&["plan", "--cloud", "aws", "--org", "demo", "--account-id", "123456789012", "--output", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&out).expect("json");
    let mut n = 0;
    for g in plan["groups"].as_array().expect("groups") {
        for p in g["permissions"].as_array().expect("permissions") {
            for field in ["principal", "effect", "actions", "resources", "conditions"] {
                assert!(p.get(field).is_some(), "{field} in {p}");
            }
            let level = p["access_level"].as_str().expect("access_level");
            assert!(["list", "read", "write", "permissions_management", "tagging"].contains(&level), "{level}");
            assert_eq!(p["access"].as_array().expect("access").len(), p["actions"].as_array().expect("actions").len());
            for r in p["risks"].as_array().expect("risks") {
                assert!(["high", "medium", "low", "info"].contains(&r["severity"].as_str().expect("severity")));
                assert!(r["kind"].is_string() && !r["explanation"].as_str().expect("explanation").is_empty());
            }
            assert!(p["source"]["file"].as_str().expect("file").starts_with("aws/"));
            assert!(p["source"]["line"].as_u64().expect("line") > 0);
            n += 1;
        }
    }
    assert_eq!(n, 16);
    // The JSON round-trips into the model.
    let back: Plan = serde_json::from_str(&out).expect("model");
    let pass = back.permissions().map(|(_, p)| p).find(|p| p.actions == ["iam:PassRole"]).expect("passrole");
    assert_eq!(pass.risks[0].kind, RiskKind::PrivilegeEscalation);
    assert_eq!(pass.kind, PermissionKind::Identity);
}

#[test]
fn plan_markdown_is_a_review_trust_first() {
    let md = run(&["plan", "--org", "demo", "--account-id", "123456789012", "--output", "markdown"]);
    let at = |needle: &str| md.find(needle).unwrap_or_else(|| panic!("`{needle}` not in\n{md}"));
    assert!(at("## Trust: who can act in your account") < at("## Permissions: who can do what"));
    assert!(at("## Permissions: who can do what") < at("## Protections: what is refused"));
    assert!(at("## Protections: what is refused") < at("## What gets created"));
    at("### Acme ML's account (111122223333) → role `acmeml-demo-vendor`");
    at("- Actions by worst flag: 0 high, 6 medium, 5 low");
    at("### role acmeml-demo-vendor — assumed by Acme ML's account (111122223333)");
    at("#### Amazon EC2 (`ec2`)");
    at("| List | `ec2:DescribeInstances`");
    at("**medium** · privilege escalation: role acmeml-demo-vendor can give role acmeml-demo-instance");
    at("(PassInstanceRoleToEc2Only)");
    at("`aws/auth.yaml:127`");
    at("`kms:*` (4 Permissions management actions) | `*` = this key (DataKey)");
    let text = run(&["plan", "--org", "demo"]);
    assert!(text.contains("actions by worst flag: 0 high, 6 medium, 5 low"), "the Permissions tab's numbers: {text}");
    assert!(text.contains("       ! medium privilege escalation: "));
    assert!(text.contains("       at: aws/auth.yaml:127"));
    assert!(text.contains("       kms:* = 55 actions"));
}
