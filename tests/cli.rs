//! The real binary's plain commands: exit codes, plain event lines, JSON shapes, and clear
//! errors for bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::process::{Command, Output, Stdio};

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox { dir: tempfile::tempdir().expect("tmp") }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cloudgrant"))
            .args(args)
            .env("CLOUDGRANT_SANDBOX_DIR", self.dir.path())
            .env("CLOUDGRANT_SANDBOX_SPEED", "50")
            .stdin(Stdio::null())
            .output()
            .expect("run cloudgrant")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn plan_json_has_the_stable_fields_and_works_offline() {
    let sb = Sandbox::new();
    let out = sb.run(&["plan", "--cloud", "aws", "--org", "demo", "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(plan["cloud"], "aws");
    let groups = plan["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 3);
    let mut on_revoke = std::collections::BTreeSet::new();
    for g in groups {
        assert!(g["name"].as_str().expect("name").starts_with("acmeml-demo-"));
        for r in g["resources"].as_array().expect("resources") {
            assert!(r["id"].is_string() && r["type"].is_string());
            on_revoke.insert(r["on_revoke"].as_str().expect("on_revoke").to_string());
        }
        for p in g["permissions"].as_array().expect("permissions") {
            for field in ["principal", "effect", "actions", "resources", "conditions"] {
                assert!(p.get(field).is_some(), "{field} in {p}");
            }
        }
    }
    assert_eq!(on_revoke.into_iter().collect::<Vec<_>>(), ["delete", "keep", "scheduled_deletion"]);
}

#[test]
fn plan_text_and_markdown_render() {
    let sb = Sandbox::new();
    let out = sb.run(&["plan", "--org", "demo", "--output", "markdown", "--account-id", "123456789012"]);
    let md = text(&out.stdout);
    assert!(out.status.success());
    assert!(md.contains("## Trust: who can act in your account"));
    assert!(md.contains("arn:aws:iam::111122223333:root"));
    assert!(md.contains("arn:aws:iam::123456789012:role/acmeml-demo-instance"));
    let out = sb.run(&["plan", "--org", "demo"]);
    assert!(text(&out.stdout).contains("why: Holds the data the vendor's machines work on"));
}

#[test]
fn bad_input_is_named_with_the_fix() {
    let sb = Sandbox::new();
    let out = sb.run(&["plan", "--org", "Bad_Org"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("org name `Bad_Org`") && err.contains("expected 2-24 characters"), "{err}");
    let out = sb.run(&["plan", "--org", "demo", "--region", "moon-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("region `moon-1`"));
    let vendor = sb.dir.path().join("vendor.toml");
    std::fs::write(&vendor, include_str!("../assets/vendor.toml").replace("111122223333", "12345")).expect("write");
    let out = sb.run(&["plan", "--org", "demo", "--vendor", vendor.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("aws.account_id `12345`"), "{}", text(&out.stderr));
    let out = Command::new(env!("CARGO_BIN_EXE_cloudgrant"))
        .args(["status", "--sandbox"])
        .env("CLOUDGRANT_SANDBOX_DIR", sb.dir.path())
        .env("CLOUDGRANT_SANDBOX_SPEED", "warp")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("CLOUDGRANT_SANDBOX_SPEED `warp`"));
}

#[test]
fn init_without_yes_and_without_a_terminal_refuses() {
    let sb = Sandbox::new();
    let out = sb.run(&["init", "--org", "demo", "--sandbox"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Pass --yes"));
    let out = sb.run(&["status", "--sandbox"]);
    assert!(text(&out.stdout).contains("No cloudgrant install"), "nothing was created");
}

#[test]
fn init_status_revoke_with_plain_lines() {
    let sb = Sandbox::new();
    let out = sb.run(&["init", "--cloud", "aws", "--org", "demo", "--sandbox", "--yes"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let event_lines: Vec<&str> = stdout.lines().filter(|l| l.contains(" CREATE_")).collect();
    // Two stack events per stack, three per resource.
    assert_eq!(event_lines.len(), 3 * 2 + 20 * 3, "{stdout}");
    assert!(stdout.contains("VendorRoleArn: arn:aws:iam::210987654321:role/acmeml-demo-vendor"));
    let external = stdout.lines().find_map(|l| l.trim().strip_prefix("ExternalId: ")).expect("external id");
    assert!(external.len() >= 32);

    let out = sb.run(&["status", "--org", "demo", "--sandbox", "--output", "json"]);
    let installs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(installs[0]["org"], "demo");
    assert_eq!(installs[0]["outputs"]["ExternalId"], external);

    let out = sb.run(&["revoke", "--org", "demo", "--sandbox", "--yes", "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let residue: serde_json::Value = serde_json::from_slice(&out.stdout).expect("residue json");
    let states: Vec<&str> =
        residue["items"].as_array().expect("items").iter().filter_map(|i| i["state"].as_str()).collect();
    assert!(states.contains(&"kept") && states.contains(&"pending_deletion"), "{states:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("DataBucket AWS::S3::Bucket DELETE_SKIPPED"), "{stderr}");
    assert!(stderr.contains("aws kms cancel-key-deletion --key-id"));
    let out = sb.run(&["revoke", "--org", "demo", "--sandbox", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no install for org demo"));
}

#[test]
fn failed_init_exits_non_zero_with_the_root_cause() {
    let sb = Sandbox::new();
    let out = sb.run(&["init", "--org", "demo", "--sandbox", "--yes", "--sandbox-fail", "DataKey"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("kms:CreateKey") && err.contains("next:"), "{err}");
    assert!(text(&out.stdout).contains("ROLLBACK_COMPLETE"));
}
