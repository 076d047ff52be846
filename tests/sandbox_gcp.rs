//! The Google Cloud flow end to end on the real binary, against the sandbox's simulated project:
//! the GCP provider's own code (the calls it makes to Google) answered by the simulation. Init,
//! a re-run that changes nothing, status, revoke with what stays, and a failed init that revoke can
//! still clean up.

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
            .env("CLOUDGRANT_SANDBOX_SPEED", "200")
            .env_remove("CLOUDGRANT_GCP_ENDPOINT")
            .stdin(Stdio::null())
            .output()
            .expect("run cloudgrant")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const GCP: [&str; 5] = ["--cloud", "gcp", "--sandbox", "--project", "cg-sandbox-dev"];

fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = args.to_vec();
    v.extend(GCP);
    v
}

#[test]
fn init_rerun_status_revoke_on_the_simulated_project() {
    let sb = Sandbox::new();
    let out = sb.run(&with(&["init", "--org", "demo", "--yes"]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    // Every resource of assets/gcp/install.yaml reported done, by its logical id.
    for id in [
        "IamApi",
        "ManagerRole",
        "InstanceRole",
        "InstanceServiceAccount",
        "DataKeyRing",
        "DataKey",
        "DataBucket",
        "VendorManagerBinding",
        "VendorActAsBinding",
        "InstanceBucketBinding",
        "InstanceKeyBinding",
    ] {
        assert!(
            stdout.lines().any(|l| l.contains(&format!(" {id} ")) && l.contains("COMPLETE")),
            "no completed event for {id}:\n{stdout}"
        );
    }

    // What the vendor needs: where to run and with what; no AWS-only values.
    assert!(stdout.contains("Project: cg-sandbox-dev"), "{stdout}");
    assert!(stdout.contains("InstanceServiceAccount: cg-demo-vm@cg-sandbox-dev.iam.gserviceaccount.com"), "{stdout}");
    assert!(!stdout.contains("ExternalId"), "{stdout}");

    let out = sb.run(&with(&["status", "--org", "demo", "--output", "json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let installs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(installs[0]["cloud"], "gcp");
    assert_eq!(installs[0]["org"], "demo");
    assert_eq!(installs[0]["account"], "cg-sandbox-dev");

    // A second run finds everything and creates nothing.
    let out = sb.run(&with(&["init", "--org", "demo", "--yes"]));
    let again = text(&out.stdout);
    assert!(out.status.success(), "{again}\n{}", text(&out.stderr));
    assert!(!again.contains("CREATE_IN_PROGRESS"), "{again}");

    let out = sb.run(&with(&["revoke", "--org", "demo", "--yes", "--output", "json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let residue: serde_json::Value = serde_json::from_slice(&out.stdout).expect("residue json");
    let items = residue["items"].as_array().expect("items");
    let state_of = |needle: &str| {
        items
            .iter()
            .find(|i| i["physical_id"].as_str().is_some_and(|p| p.contains(needle)))
            .and_then(|i| i["state"].as_str())
            .map(String::from)
    };
    assert!(state_of("cg-sandbox-dev-demo-data").is_some(), "the bucket is reported as kept: {residue}");
    assert!(state_of("cryptoKeys/data").is_some(), "the key's scheduled destruction is reported: {residue}");
    let checks = residue["checks"].as_array().expect("checks");
    assert!(!checks.is_empty() && checks.iter().all(|c| c["ok"] == true), "verification: {residue}");

    let out = sb.run(&with(&["status", "--org", "demo", "--output", "json"]));
    let after: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let left = after.as_array().map(Vec::len).unwrap_or(0);
    assert!(
        left == 0
            || after[0]["groups"][0]["resources"].as_array().is_some_and(|r| r.iter().all(|x| {
                let id = x["id"].as_str().unwrap_or_default();
                !id.ends_with("Binding") && id != "InstanceServiceAccount"
            })),
        "no access is left after revoke: {after}"
    );
}

#[test]
fn a_failed_init_names_the_cause_and_revoke_still_finds_what_was_made() {
    let sb = Sandbox::new();
    let out = sb.run(&with(&["init", "--org", "demo", "--yes", "--sandbox-fail", "DataBucket"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("not available") && err.contains("next:"), "{err}");

    // What was created before the failure is found again from the project.
    let out = sb.run(&with(&["status", "--org", "demo", "--output", "json"]));
    let installs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(installs[0]["org"], "demo", "{installs}");
    let out = sb.run(&with(&["revoke", "--org", "demo", "--yes"]));
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn revoke_with_delete_data_empties_and_deletes_the_bucket() {
    let sb = Sandbox::new();
    let out = sb.run(&with(&["init", "--org", "demo", "--yes"]));
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    // The vendor's machines write 3 objects within 8 seconds at speed 1: 40 ms at speed 200.
    std::thread::sleep(std::time::Duration::from_millis(300));

    // Without a terminal, --delete-data needs --yes too; nothing is changed.
    let out = sb.run(&with(&["revoke", "--org", "demo", "--delete-data"]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--yes") && err.contains("--delete-data"), "{err}");
    let out = sb.run(&with(&["status", "--org", "demo", "--output", "json"]));
    let installs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(installs[0]["groups"][0]["resources"].to_string().contains("VendorManagerBinding"), "{installs}");

    let out = sb.run(&with(&["revoke", "--org", "demo", "--yes", "--delete-data", "--output", "json"]));
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    // The plan and the events say what happens to the data.
    assert!(err.contains("will be emptied and deleted (3 objects, 1.1 GiB)"), "{err}");
    assert!(err.contains("emptying: 3 objects, 1.1 GiB"), "{err}");
    let residue: serde_json::Value = serde_json::from_slice(&out.stdout).expect("residue json");
    let bucket = residue["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["physical_id"] == "cg-sandbox-dev-demo-data")
        .cloned()
        .expect("the bucket in the residue");
    assert_eq!(bucket["state"], "deleted", "{residue}");
    let note = bucket["note"].as_str().unwrap_or_default();
    assert!(note.contains("7 days") && note.contains("gcloud storage restore"), "{note}");
    let checks = residue["checks"].as_array().expect("checks");
    assert!(checks.iter().all(|c| c["ok"] == true), "verification: {residue}");
    assert!(checks.iter().any(|c| c["what"] == "bucket cg-sandbox-dev-demo-data is deleted"), "{residue}");

    let out = sb.run(&with(&["status", "--org", "demo", "--output", "json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = text(&out.stdout);
    assert!(!after.contains("cg-sandbox-dev-demo-data"), "the bucket is no longer listed: {after}");
}

#[test]
fn delete_data_is_refused_for_aws() {
    let sb = Sandbox::new();
    let out = sb.run(&["revoke", "--org", "demo", "--yes", "--delete-data", "--sandbox"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--delete-data is for Google Cloud only") && err.contains("Retain"), "{err}");
}
