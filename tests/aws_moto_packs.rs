//! The example fleet-manager pack end to end with the real binary and the real AWS SDK against
//! moto_server (tests/run.sh exports CLOUDGRANT_TEST_MOTO): `init` creates its one stack and the
//! role it grants equals the plan's statements, `status` finds it with what the vendor receives,
//! `revoke` removes it all.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

#[path = "support/moto.rs"]
mod moto;

use cloudgrant::plan::{aws, Choices};
use cloudgrant::vendor::VendorProfile;
use moto::{cloudgrant, sdk, text, unique, REGION};

fn pack() -> String {
    format!("{}/examples/fleet-manager", env!("CARGO_MANIFEST_DIR"))
}

/// IAM's policy text: URL-encoded JSON (moto: a Python dict repr for `Policies` of a role).
fn document(doc: &str) -> serde_json::Value {
    let mut s = String::new();
    let b = doc.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(x) = u8::from_str_radix(&doc[i + 1..i + 3], 16) {
                s.push(x as char);
                i += 3;
                continue;
            }
        }
        s.push(b[i] as char);
        i += 1;
    }
    if s.starts_with("{'") {
        s = s.replace('\'', "\"").replace("True", "true").replace("False", "false");
    }
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("policy json {e}: {s}"))
}

fn as_list(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Array(_) => v.clone(),
        serde_json::Value::Null => serde_json::json!([]),
        other => serde_json::json!([other]),
    }
}

#[tokio::test]
async fn the_fleet_manager_pack_inits_reports_and_revokes() {
    let org = &unique("fleet");
    let p = pack();
    let out = cloudgrant(&["--vendor", &p, "init", "--cloud", "aws", "--org", org, "--yes"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains(&format!("fleetwise-{org}-access AWS::CloudFormation::Stack CREATE_COMPLETE")), "{stdout}");
    // What the template's send_to_vendor names, and nothing of the bundled pack's.
    assert!(stdout.contains("VendorRoleArn") && stdout.contains("ExternalId"), "{stdout}");
    assert!(!stdout.contains("InstanceProfileName"), "{stdout}");

    let status = cloudgrant(&["--vendor", &p, "status", "--org", org, "--output", "json"]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    let installs: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(installs.as_array().map(Vec::len), Some(1), "{installs}");
    let o = &installs[0]["outputs"];
    let role_name = format!("fleetwise-{org}-fleet");
    assert_eq!(o["VendorRoleArn"], format!("arn:aws:iam::123456789012:role/{role_name}"));
    let external_id = o["ExternalId"].as_str().expect("external id").to_string();
    assert!(external_id.len() >= 32);

    // The role in the account is the plan's: trust and every statement.
    let vendor = VendorProfile::load(std::path::Path::new(&p)).expect("pack");
    let choices = Choices {
        org: org.clone(),
        region: REGION.into(),
        account: Some("123456789012".into()),
        external_id: Some(external_id.clone()),
    };
    let plan = aws::build(&vendor, &choices).expect("plan");
    let iam = aws_sdk_iam::Client::new(&sdk().await);
    let role = iam.get_role().role_name(&role_name).send().await.expect("role");
    let trust = document(role.role().and_then(|r| r.assume_role_policy_document()).expect("trust"));
    let trust = as_list(&trust["Statement"]);
    assert_eq!(trust.as_array().map(Vec::len), Some(1));
    assert_eq!(trust[0]["Principal"]["AWS"], "arn:aws:iam::444455556666:root");
    assert_eq!(trust[0]["Condition"]["StringEquals"]["sts:ExternalId"], external_id.as_str());
    let got = iam.get_role_policy().role_name(&role_name).policy_name("FleetManagement").send().await.expect("policy");
    let granted = as_list(&document(got.policy_document())["Statement"]);
    let want: Vec<_> = plan.permissions().filter(|(_, p)| p.principal == role_name).map(|(_, p)| p).collect();
    assert_eq!(granted.as_array().map(Vec::len), Some(want.len()));
    for (g, w) in granted.as_array().unwrap().iter().zip(&want) {
        assert_eq!(g["Sid"].as_str(), w.sid.as_deref());
        assert_eq!(as_list(&g["Action"]), serde_json::json!(w.actions));
        assert_eq!(as_list(&g["Resource"]), serde_json::json!(w.resources));
        assert_eq!(g.get("Condition").cloned().unwrap_or(serde_json::json!({})), w.conditions);
    }

    let out = cloudgrant(&["--vendor", &p, "revoke", "--org", org, "--yes", "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let residue: serde_json::Value = serde_json::from_slice(&out.stdout).expect("residue");
    assert!(residue["checks"].as_array().unwrap().iter().all(|c| c["ok"] == true), "{residue}");
    assert!(
        residue["items"].as_array().unwrap().iter().all(|i| i["state"] != "kept" && i["state"] != "pending_deletion"),
        "the pack keeps nothing: {residue}"
    );
    let gone = iam.get_role().role_name(&role_name).send().await;
    assert!(gone.err().and_then(|e| e.into_service_error().is_no_such_entity_exception().then_some(())).is_some());
    let after = cloudgrant(&["--vendor", &p, "status", "--org", org]);
    assert!(text(&after.stdout).contains("No cloudgrant install"), "{}", text(&after.stdout));
}
