//! The AWS plan against the template files, walked here independently with a plain YAML walk:
//! every resource, every action and every principal written there is in the Plan, and nothing
//! else is.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

#[path = "support/template_walk.rs"]
mod template_walk;
use cloudgrant::model::{OnRevoke, PermissionKind};
use cloudgrant::plan::{aws, Choices};
use cloudgrant::vendor::VendorProfile;
use serde_yaml::Value;
use std::collections::BTreeSet;
use template_walk::{actions, statements};

fn plan() -> cloudgrant::model::Plan {
    let vendor = VendorProfile::bundled().expect("vendor");
    let choices = Choices {
        org: "demo".into(),
        region: "eu-west-1".into(),
        account: Some("123456789012".into()),
        external_id: Some("x".repeat(40)),
    };
    aws::build(&vendor, &choices).expect("plan")
}

fn template(name: &str) -> Value {
    let path = format!("{}/assets/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("read")).expect("yaml")
}

#[test]
fn every_resource_and_action_of_the_templates_is_in_the_plan_and_nothing_else() {
    let plan = plan();
    for (key, file) in [("vpc", "vpc.yaml"), ("s3", "s3.yaml"), ("auth", "auth.yaml")] {
        let t = template(file);
        let group = plan.group(key).expect(key);
        assert_eq!(group.name, format!("acmeml-demo-{key}"));
        let from_file: Vec<(String, String)> = t["Resources"]
            .as_mapping()
            .expect("resources")
            .iter()
            .map(|(k, v)| (k.as_str().expect("id").to_string(), v["Type"].as_str().expect("type").to_string()))
            .collect();
        let in_plan: Vec<(String, String)> = group.resources.iter().map(|r| (r.id.clone(), r.type_.clone())).collect();
        assert_eq!(in_plan, from_file, "{file}");
        let mut file_actions = BTreeSet::new();
        actions(&t, &mut file_actions);
        let plan_actions: BTreeSet<String> = group.permissions.iter().flat_map(|p| p.actions.iter().cloned()).collect();
        assert_eq!(plan_actions, file_actions, "{file}");
        // One permission per statement (every statement here names one principal).
        assert_eq!(group.permissions.len(), statements(&t), "{file}");
        for r in &group.resources {
            assert!(!r.why.is_empty(), "{} has a reason", r.id);
        }
    }
}

#[test]
fn trust_names_the_vendor_account_and_requires_the_external_id() {
    let plan = plan();
    let trust: Vec<_> = plan.trust().map(|(_, p)| p).collect();
    assert_eq!(trust.len(), 2, "vendor role and instance role");
    let vendor = trust.iter().find(|p| p.holder == "VendorRole").expect("vendor trust");
    assert_eq!(vendor.principal, "arn:aws:iam::111122223333:root");
    assert_eq!(vendor.actions, ["sts:AssumeRole"]);
    assert_eq!(vendor.conditions["StringEquals"]["sts:ExternalId"], "x".repeat(40));
    let machines = trust.iter().find(|p| p.holder == "InstanceRole").expect("instance trust");
    assert_eq!(machines.principal, "ec2.amazonaws.com");
}

#[test]
fn least_privilege_shape_of_the_vendor_role() {
    let plan = plan();
    let vendor_perms: Vec<_> = plan
        .permissions()
        .map(|(_, p)| p)
        .filter(|p| p.kind == PermissionKind::Identity && p.principal == "acmeml-demo-vendor")
        .collect();
    assert!(!vendor_perms.is_empty());
    for p in &vendor_perms {
        // Only read-only Describe calls may use Resource "*".
        if p.resources.iter().any(|r| r == "*") {
            assert!(p.actions.iter().all(|a| a.starts_with("ec2:Describe")), "{p:?}");
        }
    }
    let manage = vendor_perms.iter().find(|p| p.sid.as_deref() == Some("ManageOwnInstancesOnly")).expect("manage");
    assert_eq!(manage.conditions["StringEquals"]["aws:ResourceTag/managed-by"], "acmeml");
    let pass = vendor_perms.iter().find(|p| p.actions == ["iam:PassRole"]).expect("passrole");
    assert_eq!(pass.resources, ["arn:aws:iam::123456789012:role/acmeml-demo-instance"]);
    assert_eq!(pass.conditions["StringEquals"]["iam:PassedToService"], "ec2.amazonaws.com");
    let launch = vendor_perms.iter().find(|p| p.sid.as_deref() == Some("LaunchTaggedInstances")).expect("launch");
    assert_eq!(
        launch.conditions["StringEquals"]["ec2:InstanceType"],
        serde_json::json!(["m6i.large", "m6i.xlarge", "g5.xlarge"])
    );
    assert_eq!(launch.conditions["StringEquals"]["aws:RequestedRegion"], "eu-west-1");
    // The machine role reaches the data bucket and nothing else in S3.
    let data =
        plan.permissions().map(|(_, p)| p).find(|p| p.sid.as_deref() == Some("ReadWriteDataObjects")).expect("data");
    assert_eq!(data.resources, ["arn:aws:s3:::acmeml-demo-data-123456789012/*"]);
}

#[test]
fn revoke_outcomes_come_from_the_templates() {
    let plan = plan();
    let get = |id: &str| plan.groups.iter().flat_map(|g| &g.resources).find(|r| r.id == id).expect(id);
    assert_eq!(get("DataBucket").on_revoke, OnRevoke::Keep);
    assert_eq!(get("DataKey").on_revoke, OnRevoke::ScheduledDeletion);
    assert_eq!(get("DataKey").pending_window_days, Some(30));
    assert_eq!(get("VendorRole").on_revoke, OnRevoke::Delete);
    let order: Vec<&str> = plan.revoke_order().iter().map(|g| g.key.as_str()).collect();
    assert_eq!(order, ["auth", "vpc", "s3"]);
    let creation: Vec<&str> = plan.groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(creation, ["vpc", "s3", "auth"]);
    assert_eq!(plan.group("auth").expect("auth").depends_on, ["vpc", "s3"]);
}

#[test]
fn values_unknown_before_creation_are_placeholders_not_guesses() {
    let vendor = VendorProfile::bundled().expect("vendor");
    let offline = aws::build(
        &vendor,
        &Choices { org: "demo".into(), region: "eu-west-1".into(), account: None, external_id: None },
    )
    .expect("plan");
    let auth = offline.group("auth").expect("auth");
    let param = |n: &str| auth.parameters.iter().find(|p| p.name == n).expect(n).value.clone();
    assert_eq!(param("VpcId"), "<acmeml-demo-vpc output VpcId>");
    assert_eq!(param("DataBucketName"), "acmeml-demo-data-<account>");
    assert!(param("ExternalId").starts_with("<generated at install"));
    let key_use = offline.permissions().map(|(_, p)| p).find(|p| p.sid.as_deref() == Some("UseDataKey")).expect("key");
    assert_eq!(key_use.resources, ["<DataKey.Arn>"]);
}

#[test]
fn bad_choices_name_the_field() {
    let vendor = VendorProfile::bundled().expect("vendor");
    for (org, region, needle) in [
        ("Demo", "eu-west-1", "org name `Demo`"),
        ("demo", "mars-1", "region `mars-1`"),
        ("", "eu-west-1", "org name ``"),
    ] {
        let e =
            aws::build(&vendor, &Choices { org: org.into(), region: region.into(), account: None, external_id: None })
                .expect_err(needle);
        assert!(e.to_string().contains(needle), "{e}");
    }
}

#[test]
fn the_aws_guide_lists_every_resource_of_the_templates() {
    let doc = std::fs::read_to_string(format!("{}/docs/aws.md", env!("CARGO_MANIFEST_DIR"))).expect("docs/aws.md");
    let plan = plan();
    for g in &plan.groups {
        for r in &g.resources {
            let row = format!("| {} | {} | {} |", g.key, r.id, r.type_);
            assert!(doc.contains(&row), "docs/aws.md lacks the row `{row}`");
        }
    }
}
