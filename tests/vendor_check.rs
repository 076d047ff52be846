//! `cloudgrant vendor check DIR`: each refusal on a pack made to break one rule (an IAM user, a
//! trust without ExternalId, a resource without `why`, a malformed template, a DeletionPolicy with
//! no fate), the flag on writes to `*`, the JSON output, and loading packs with `--vendor DIR` and
//! `--vendor-sha256`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cloudgrant::pack::check::{check, Level};

fn fleet() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fleet-manager")
}

/// A copy of the fleet-manager pack with `edit` applied to its template.
fn broken(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(dir.path().join("aws")).expect("aws");
    for f in ["vendor.toml", "aws/stacks.toml"] {
        std::fs::copy(fleet().join(f), dir.path().join(f)).expect("copy");
    }
    let text = std::fs::read_to_string(fleet().join("aws/access.yaml")).expect("template");
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changed nothing");
    std::fs::write(dir.path().join("aws/access.yaml"), edited).expect("write");
    dir
}

fn refused(dir: &Path) -> Vec<(String, Option<String>, String)> {
    let r = check(dir, false);
    assert_eq!(r.ok, r.refusals() == 0);
    r.findings
        .into_iter()
        .filter(|f| f.level == Level::Refused)
        .map(|f| (f.rule.to_string(), f.resource, f.message))
        .collect()
}

fn rules(found: &[(String, Option<String>, String)]) -> Vec<&str> {
    found.iter().map(|(r, _, _)| r.as_str()).collect()
}

const IAM_USER: &str = r#"  FleetUser:
    Type: AWS::IAM::User
    Metadata:
      cloudgrant:
        why: A user for the vendor.
  FleetUserKey:
    Type: AWS::IAM::AccessKey
    Metadata:
      cloudgrant:
        why: Keys for the vendor's user.
    Properties:
      UserName: !Ref FleetUser
"#;

#[test]
fn the_example_packs_pass() {
    for dir in [fleet(), Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")] {
        let r = check(&dir, false);
        assert!(r.ok, "{}: {:?}", dir.display(), r.findings);
        assert!(!r.plans.is_empty());
        assert_eq!(r.sha256.as_ref().map(String::len), Some(64));
    }
    let r = check(&fleet(), false);
    assert_eq!(r.clouds, [cloudgrant::model::Cloud::Aws]);
    // Describe and metric reads on `*` are not writes: nothing is flagged.
    assert!(r.findings.iter().all(|f| f.level != Level::Flagged), "{:?}", r.findings);
}

#[test]
fn an_iam_user_with_access_keys_is_refused() {
    let dir = broken(|t| t.replacen("Resources:\n", &format!("Resources:\n{IAM_USER}"), 1));
    let found = refused(dir.path());
    let creds: Vec<_> = found.iter().filter(|(r, _, _)| r == "static-credentials").collect();
    assert_eq!(creds.len(), 2, "{found:?}");
    assert_eq!(creds[0].1.as_deref(), Some("FleetUser"), "{found:?}");
    assert_eq!(creds[1].1.as_deref(), Some("FleetUserKey"), "{found:?}");
    assert!(creds[0].2.contains("role the vendor assumes with an ExternalId"), "{}", creds[0].2);
}

#[test]
fn a_trust_without_external_id_is_refused() {
    let dir = broken(|t| {
        t.replace("            Condition:\n              StringEquals:\n                \"sts:ExternalId\": !Ref ExternalId\n", "")
    });
    let found = refused(dir.path());
    assert_eq!(rules(&found), ["external-id"], "{found:?}");
    assert_eq!(found[0].1.as_deref(), Some("FleetRole"));
    assert!(found[0].2.contains("arn:aws:iam::444455556666:root"), "{}", found[0].2);
}

#[test]
fn a_resource_without_why_is_refused() {
    let dir = broken(|t| {
        t.replacen(
            "    Metadata:\n      cloudgrant:\n        why: The role the vendor assumes to watch your machines and start, stop or terminate the ones tagged as its own; only with your ExternalId.\n",
            "",
            1,
        )
    });
    let found = refused(dir.path());
    assert!(rules(&found).contains(&"why"), "{found:?}");
    assert!(found.iter().all(|(_, r, _)| r.as_deref() == Some("FleetRole") || r.is_none()), "{found:?}");
}

#[test]
fn a_malformed_template_is_refused_with_its_file() {
    let dir = broken(|t| t.replacen("Resources:\n", "Resources: [\n", 1));
    let found = refused(dir.path());
    assert_eq!(rules(&found), ["template"], "{found:?}");
    assert!(found[0].2.contains("aws/access.yaml"), "{}", found[0].2);
}

#[test]
fn a_deletion_policy_without_a_known_fate_is_refused() {
    let dir = broken(|t| {
        t.replacen("    Type: AWS::IAM::Role\n", "    Type: AWS::IAM::Role\n    DeletionPolicy: Snapshot\n", 1)
    });
    let found = refused(dir.path());
    assert_eq!(rules(&found), ["fate"], "{found:?}");
}

#[test]
fn writes_on_any_resource_without_a_condition_are_flagged_not_refused() {
    let dir = broken(|t| {
        t.replacen(
            "              - Sid: ReadMetrics\n",
            "              - Sid: TerminateAnything\n                Effect: Allow\n                Action: \"ec2:TerminateInstances\"\n                Resource: \"*\"\n              - Sid: ReadMetrics\n",
            1,
        )
    });
    let r = check(dir.path(), false);
    assert!(r.ok, "{:?}", r.findings);
    let flags: Vec<_> = r.findings.iter().filter(|f| f.level == Level::Flagged).collect();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0].rule, "write-on-any");
    assert!(flags[0].message.contains("ec2:TerminateInstances"), "{}", flags[0].message);
}

#[test]
fn a_profile_without_the_clouds_templates_is_refused() {
    let dir = broken(|t| t.to_string() + "\n");
    std::fs::remove_dir_all(dir.path().join("aws")).expect("rm");
    let found = refused(dir.path());
    assert_eq!(rules(&found), ["pack"], "{found:?}");
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloudgrant")).args(args).stdin(Stdio::null()).output().expect("run cloudgrant")
}

#[test]
fn json_output_lists_every_finding_and_exits_non_zero_on_a_refusal() {
    let dir = broken(|t| t.replacen("Resources:\n", &format!("Resources:\n{IAM_USER}"), 1));
    let out = run(&["vendor", "check", dir.path().to_str().expect("path"), "--output", "json", "--no-scan"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["clouds"], serde_json::json!(["aws"]));
    assert_eq!(v["sha256"].as_str().map(str::len), Some(64));
    let findings = v["findings"].as_array().expect("findings");
    let user = findings.iter().find(|f| f["resource"] == "FleetUser").expect("the user is named");
    assert_eq!(user["level"], "refused");
    assert_eq!(user["rule"], "static-credentials");
    assert_eq!(user["cloud"], "aws");
    assert_eq!(user["file"], "aws/access.yaml");
    assert_eq!(v["scan"]["state"], "nothing_to_scan");

    let ok = run(&["vendor", "check", fleet().to_str().expect("path"), "--output", "json", "--no-scan"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(v["ok"], true);
    let actions: Vec<&str> = v["plans"][0]["groups"][0]["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .flat_map(|p| p["actions"].as_array().expect("actions").iter().filter_map(|a| a.as_str()))
        .collect();
    assert!(actions.contains(&"ec2:StartInstances") && actions.contains(&"cloudwatch:GetMetricData"), "{actions:?}");
}

#[test]
fn text_output_says_whether_checkov_ran() {
    // A checkov that does not exist: the report says so plainly, and the pack still passes.
    let out = Command::new(env!("CARGO_BIN_EXE_cloudgrant"))
        .args(["vendor", "check", fleet().to_str().expect("path")])
        .env("CLOUDGRANT_CHECKOV", "/nonexistent/checkov")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("checkov is not installed, so the templates were not scanned"), "{text}");
    assert!(text.contains("pack accepted: 0 refused"), "{text}");
    assert!(text.contains("permission review (AWS, org example)"), "{text}");
}

#[test]
fn a_pack_directory_is_used_at_run_time_and_its_digest_can_be_required() {
    let dir = fleet();
    let d = dir.to_str().expect("path");
    let out = run(&["--vendor", d, "plan", "--cloud", "aws", "--org", "demo", "--output", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(plan["vendor_id"], "fleetwise");
    assert_eq!(plan["groups"][0]["name"], "fleetwise-demo-access");
    assert_eq!(plan["send_to_vendor"], serde_json::json!(["VendorRoleArn", "ExternalId"]));
    let digest = plan["pack_sha256"].as_str().expect("digest").to_string();
    assert_eq!(digest, cloudgrant::pack::Pack::load(&dir).expect("pack").digest);

    let same = run(&["--vendor", d, "--vendor-sha256", &digest, "plan", "--cloud", "aws", "--org", "demo"]);
    assert!(same.status.success(), "{}", String::from_utf8_lossy(&same.stderr));
    let other = "0".repeat(64);
    let refused = run(&["--vendor", d, "--vendor-sha256", &other, "plan", "--cloud", "aws", "--org", "demo"]);
    assert_eq!(refused.status.code(), Some(2));
    let e = String::from_utf8_lossy(&refused.stderr);
    assert!(e.contains(&digest) && e.contains(&other), "both digests are shown: {e}");

    let gcp = run(&["--vendor", d, "plan", "--cloud", "gcp", "--org", "demo"]);
    assert_eq!(gcp.status.code(), Some(2));
    let e = String::from_utf8_lossy(&gcp.stderr);
    assert!(e.contains("does not cover Google Cloud") && e.contains("it covers: aws"), "{e}");
}
