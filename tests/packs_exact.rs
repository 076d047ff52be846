//! Every pack in the repository (the bundled `assets/` and each `examples/*`), walked here with a
//! plain YAML walk independent of the plan code: each AWS stack's resources, actions and
//! statements are exactly the plan's, every action has an access level, the fates on revoke are
//! the templates' (DeletionPolicy and type), and cross-account trust requires the ExternalId;
//! each Google Cloud `install.yaml`'s resources, fates, bindings and their exact permissions are
//! the plan's (tests/support/gcp_walk.rs). With the sandbox, each pack runs init, status and
//! revoke through the real binary, on every cloud it covers that has a sandbox walk here.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

#[path = "support/gcp_walk.rs"]
mod gcp_walk;
#[path = "support/sandbox_cli.rs"]
mod sandbox_cli;
#[path = "support/template_walk.rs"]
mod template_walk;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use template_walk::{actions, statements};

use cloudgrant::model::{Cloud, OnRevoke, PermissionKind};
use cloudgrant::plan::{self, Choices};
use cloudgrant::vendor::VendorProfile;
use serde_yaml::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `assets/` and every directory of `examples/`.
fn packs() -> Vec<PathBuf> {
    let mut out = vec![root().join("assets")];
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("vendor.toml").is_file())
        .collect();
    examples.sort();
    assert!(!examples.is_empty(), "examples/ has a pack");
    out.extend(examples);
    out
}

fn choices(vendor: &VendorProfile, cloud: Cloud) -> Choices {
    let account = match cloud {
        Cloud::Aws => "123456789012",
        Cloud::Gcp => "acme-prod-123",
        Cloud::Azure => "00000000-0000-4000-8000-000000000001",
    };
    Choices {
        org: "demo".into(),
        region: plan::default_region(cloud, vendor),
        account: Some(account.into()),
        external_id: Some("x".repeat(40)),
    }
}

#[test]
fn every_aws_stack_of_every_pack_is_exactly_its_plan() {
    for dir in packs() {
        let vendor = VendorProfile::load(&dir).expect("pack loads");
        if !vendor.clouds().contains(&Cloud::Aws) {
            continue;
        }
        let plan = plan::build(Cloud::Aws, &vendor, &choices(&vendor, Cloud::Aws)).expect("plan");
        assert_eq!(plan.pack_sha256, vendor.pack.digest);
        let manifest: toml::Value =
            toml::from_str(&std::fs::read_to_string(dir.join("aws/stacks.toml")).expect("stacks")).expect("toml");
        let stacks = manifest["stack"].as_array().expect("[[stack]]");
        assert_eq!(stacks.len(), plan.groups.len(), "{}", dir.display());
        for s in stacks {
            let (key, file) = (s["key"].as_str().expect("key"), s["template"].as_str().expect("template"));
            let t: Value = serde_yaml::from_str(&std::fs::read_to_string(dir.join("aws").join(file)).expect("read"))
                .expect("yaml");
            let group = plan.group(key).expect(key);
            assert_eq!(group.name, format!("{}-demo-{key}", vendor.vendor.id));
            let from_file: Vec<(String, String, Option<String>)> = t["Resources"]
                .as_mapping()
                .expect("resources")
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().expect("id").to_string(),
                        v["Type"].as_str().expect("type").to_string(),
                        v["DeletionPolicy"].as_str().map(String::from),
                    )
                })
                .collect();
            let in_plan: Vec<(&str, &str)> =
                group.resources.iter().map(|r| (r.id.as_str(), r.type_.as_str())).collect();
            let written: Vec<(&str, &str)> = from_file.iter().map(|(i, t, _)| (i.as_str(), t.as_str())).collect();
            assert_eq!(in_plan, written, "{file}");
            for ((_, type_, policy), r) in from_file.iter().zip(&group.resources) {
                let fate = match (type_.as_str(), policy.as_deref()) {
                    ("AWS::KMS::Key", _) => OnRevoke::ScheduledDeletion,
                    (_, Some("Retain")) => OnRevoke::Keep,
                    _ => OnRevoke::Delete,
                };
                assert_eq!(r.on_revoke, fate, "{file} {}", r.id);
                assert!(!r.why.is_empty(), "{file} {} has a reason", r.id);
            }
            let mut file_actions = BTreeSet::new();
            actions(&t, &mut file_actions);
            let plan_actions: BTreeSet<String> =
                group.permissions.iter().flat_map(|p| p.actions.iter().cloned()).collect();
            assert_eq!(plan_actions, file_actions, "{file}");
            assert_eq!(group.permissions.len(), statements(&t), "{file}");
            for p in &group.permissions {
                for a in &p.access {
                    assert!(!a.unknown, "{file}: {} has no access level in the bundled table", a.action);
                }
                if p.kind == PermissionKind::Trust && p.principal.contains(&vendor.aws.account_id) {
                    assert_eq!(p.conditions["StringEquals"]["sts:ExternalId"], "x".repeat(40), "{file}");
                }
            }
            let sent: Vec<String> = t["Metadata"]["cloudgrant"]["send_to_vendor"]
                .as_sequence()
                .map(|s| s.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                .unwrap_or_default();
            for name in &sent {
                assert!(plan.send_to_vendor.contains(name), "{file}: {name}");
            }
        }
        assert!(!plan.send_to_vendor.is_empty(), "{}: the vendor receives something", dir.display());
    }
}

#[test]
fn every_pack_plans_on_exactly_the_clouds_it_covers() {
    for dir in packs() {
        let vendor = VendorProfile::load(&dir).expect("pack loads");
        for cloud in Cloud::ALL {
            let built = plan::build(cloud, &vendor, &choices(&vendor, cloud));
            // Read from the directory itself: Azure's templates are any `azure/*.json`.
            let covered = match cloud {
                Cloud::Azure => std::fs::read_dir(dir.join("azure"))
                    .map(|d| d.filter_map(Result::ok).any(|e| e.path().extension().is_some_and(|x| x == "json")))
                    .unwrap_or(false),
                _ => dir.join(cloudgrant::pack::marker(cloud)).is_file(),
            };
            assert_eq!(built.is_ok(), covered, "{} {cloud:?}: {:?}", dir.display(), built.err());
            if let Ok(p) = built {
                assert!(p.resource_count() > 0);
                assert!(p.groups.iter().flat_map(|g| &g.resources).all(|r| !r.why.is_empty()));
            }
        }
    }
}

fn sandbox(dir: &Path, state: &Path, args: &[&str]) -> std::process::Output {
    sandbox_cli::output(
        sandbox_cli::cloudgrant(state)
            .args(["--sandbox", "--vendor", dir.to_str().expect("path")])
            .args(args)
            .env("CLOUDGRANT_SANDBOX_SPEED", "50")
            .env("CLOUDGRANT_RECEIPTS_DIR", state.join("receipts")),
    )
}

#[test]
fn every_aws_pack_runs_init_status_and_revoke_on_the_sandbox() {
    for dir in packs() {
        let vendor = VendorProfile::load(&dir).expect("pack loads");
        if !vendor.clouds().contains(&Cloud::Aws) {
            continue;
        }
        let state = tempfile::tempdir().expect("tmp");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let out = sandbox(&dir, state.path(), &["init", "--cloud", "aws", "--org", "demo", "--yes"]);
        assert!(out.status.success(), "{}: {}\n{}", dir.display(), text(&out.stdout), text(&out.stderr));
        let plan = plan::build(Cloud::Aws, &vendor, &choices(&vendor, Cloud::Aws)).expect("plan");
        let stdout = text(&out.stdout);
        for name in &plan.send_to_vendor {
            assert!(stdout.contains(name.as_str()), "{}: {name} is sent to the vendor:\n{stdout}", dir.display());
        }
        let out = sandbox(&dir, state.path(), &["status", "--cloud", "aws", "--org", "demo", "--output", "json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let installs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let groups: Vec<&str> =
            installs[0]["groups"].as_array().expect("groups").iter().filter_map(|g| g["key"].as_str()).collect();
        let planned: Vec<&str> = plan.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(groups.len(), planned.len(), "{}: {installs}", dir.display());
        let out =
            sandbox(&dir, state.path(), &["revoke", "--cloud", "aws", "--org", "demo", "--yes", "--output", "json"]);
        assert!(out.status.success(), "{}: {}", dir.display(), text(&out.stderr));
        let out = sandbox(&dir, state.path(), &["status", "--cloud", "aws", "--org", "demo"]);
        assert!(text(&out.stdout).contains("No cloudgrant install"), "{}", text(&out.stdout));
    }
}

#[test]
fn every_gcp_pack_is_exactly_its_install_yaml() {
    let mut seen = 0;
    for dir in packs() {
        let vendor = VendorProfile::load(&dir).expect("pack loads");
        if !vendor.clouds().contains(&Cloud::Gcp) {
            continue;
        }
        seen += 1;
        let c = choices(&vendor, Cloud::Gcp);
        let plan = plan::build(Cloud::Gcp, &vendor, &c).expect("plan");
        assert_eq!(plan.pack_sha256, vendor.pack.digest);
        let text = std::fs::read_to_string(dir.join("gcp/install.yaml")).expect("install.yaml");
        let walk = gcp_walk::Walk::new(&text, &vendor, "acme-prod-123", &c.region, "demo");
        let [group] = plan.groups.as_slice() else { panic!("{}: one resource set", dir.display()) };
        let in_plan: Vec<(&str, &str, OnRevoke)> =
            group.resources.iter().map(|r| (r.id.as_str(), r.type_.as_str(), r.on_revoke)).collect();
        let written: Vec<(&str, &str, OnRevoke)> =
            walk.resources.iter().map(|(i, t, f)| (i.as_str(), t.as_str(), *f)).collect();
        assert_eq!(in_plan, written, "{}", dir.display());
        for r in &group.resources {
            assert!(!r.why.trim().is_empty(), "{} {} has a reason", dir.display(), r.id);
        }
        let granted: Vec<(String, String, Vec<String>, Vec<String>)> = group
            .permissions
            .iter()
            .map(|p| {
                let mut actions = p.actions.clone();
                actions.sort();
                (p.holder.clone(), p.principal.clone(), actions, p.resources.clone())
            })
            .collect();
        assert_eq!(granted, walk.bindings, "{}: every binding grants exactly its role's permissions", dir.display());
        for p in &group.permissions {
            for a in &p.access {
                assert!(!a.unknown, "{}: {} has no access level", dir.display(), a.action);
            }
        }
        assert_eq!(plan.send_to_vendor, walk.send_to_vendor, "{}", dir.display());
        assert!(!plan.send_to_vendor.is_empty(), "{}: the vendor receives something", dir.display());
    }
    assert!(seen >= 2, "the bundled pack and examples/automl cover Google Cloud");
}

#[test]
fn every_gcp_pack_runs_init_status_and_revoke_on_the_sandbox() {
    for dir in packs() {
        let vendor = VendorProfile::load(&dir).expect("pack loads");
        if !vendor.clouds().contains(&Cloud::Gcp) {
            continue;
        }
        let state = tempfile::tempdir().expect("tmp");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let gcp = ["--cloud", "gcp", "--project", "cg-sandbox-dev", "--org", "demo"];
        let with = |args: &[&'static str]| -> Vec<&'static str> { args.iter().chain(gcp.iter()).copied().collect() };
        let out = sandbox(&dir, state.path(), &with(&["init", "--yes"]));
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{}: {stdout}\n{}", dir.display(), text(&out.stderr));
        let mut c = choices(&vendor, Cloud::Gcp);
        c.account = Some("cg-sandbox-dev".into());
        let plan = plan::build(Cloud::Gcp, &vendor, &c).expect("plan");
        let text_of = std::fs::read_to_string(dir.join("gcp/install.yaml")).expect("install.yaml");
        let walk = gcp_walk::Walk::new(&text_of, &vendor, "cg-sandbox-dev", &c.region, "demo");
        // What the vendor is sent: exactly the values the file names, each with its value.
        let sent: Vec<String> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("  ").and_then(|l| l.split_once(": ")))
            .filter(|(k, _)| walk.values.contains_key(*k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let expected: Vec<String> = walk.send_to_vendor.iter().map(|k| format!("{k}={}", walk.values[k])).collect();
        assert_eq!(sent, expected, "{}:\n{stdout}", dir.display());
        // The receipt records the same, in the same order.
        let receipts = state.path().join("receipts");
        let receipt = std::fs::read_dir(&receipts)
            .expect("receipts")
            .map(|e| e.expect("entry").path())
            .find(|p| p.extension().is_some_and(|x| x == "json"))
            .expect("an init receipt");
        let receipt: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(receipt).expect("read")).expect("json");
        let received: Vec<String> = receipt["vendor_received"]
            .as_array()
            .expect("vendor_received")
            .iter()
            .map(|kv| format!("{}={}", kv[0].as_str().expect("key"), kv[1].as_str().expect("a value")))
            .collect();
        assert_eq!(received, expected, "{}: {receipt}", dir.display());

        let out = sandbox(&dir, state.path(), &with(&["status", "--output", "json"]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let installs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let found: Vec<&str> = installs[0]["groups"][0]["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .filter_map(|r| r["id"].as_str())
            .collect();
        let planned: Vec<&str> = plan.groups[0].resources.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(found, planned, "{}: {installs}", dir.display());
        assert_eq!(installs[0]["health"]["state"], "complete", "{}: {installs}", dir.display());

        let out = sandbox(&dir, state.path(), &with(&["revoke", "--yes", "--output", "json"]));
        assert!(out.status.success(), "{}: {}\n{}", dir.display(), text(&out.stdout), text(&out.stderr));
        let residue: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let checks = residue["checks"].as_array().expect("checks");
        assert!(!checks.is_empty() && checks.iter().all(|c| c["ok"] == true), "{}: {residue}", dir.display());
        // What stays is exactly what the file keeps: APIs, key rings and buckets.
        let mut kept: Vec<&str> = residue["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|i| i["state"] == "kept")
            .filter_map(|i| i["physical_id"].as_str())
            .collect();
        kept.sort();
        let mut expect_kept: Vec<&str> = plan.groups[0]
            .resources
            .iter()
            .filter(|r| r.on_revoke == OnRevoke::Keep)
            .filter_map(|r| r.name.as_deref())
            .collect();
        expect_kept.sort();
        assert_eq!(kept, expect_kept, "{}: {residue}", dir.display());
        let out = sandbox(&dir, state.path(), &with(&["status"]));
        assert!(text(&out.stdout).contains("No cloudgrant install"), "{}", text(&out.stdout));
    }
}
