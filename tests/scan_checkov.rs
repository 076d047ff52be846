//! The IaC scan in CI: checkov (the pinned version, from tests/run.sh's venv) over every bundled
//! template finds nothing it does not also find explained, and what it sets aside is exactly what
//! the preview shows as "Not done, on purpose", reason for reason. A new finding fails here; an
//! inline skip is proven honoured by checkov on a throw-away template. Needs checkov: without it
//! these tests fail with the way to install it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cloudgrant::model::{Cloud, Plan};
use cloudgrant::plan::exceptions::{self, Dialect};
use cloudgrant::plan::{self, Choices};
use cloudgrant::scan::{self, Report};
use cloudgrant::vendor::VendorProfile;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

fn scan(files: &[PathBuf]) -> Report {
    let report = scan::run(files).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.version.as_deref(), Some(scan::CHECKOV_VERSION), "the pinned checkov runs");
    assert!(report.parse_errors.is_empty(), "checkov could not read {:?}", report.parse_errors);
    // checkov has no check for role assignments: a template holding nothing else (an Azure access
    // stack) is read without a finding; every other template must have had checks run on it.
    let unscanned: Vec<PathBuf> =
        report.unscanned(files).into_iter().filter(|f| !only_role_assignments(f)).cloned().collect();
    assert!(unscanned.is_empty(), "checkov ran no check on {unscanned:?}");
    report
}

/// An ARM template whose resources (nested ones included) are all `Microsoft.Authorization/roleAssignments`.
fn only_role_assignments(file: &Path) -> bool {
    fn types(v: &serde_json::Value, out: &mut Vec<String>) {
        if let Some(rs) = v.get("resources").and_then(|r| r.as_array()) {
            for r in rs {
                if let Some(t) = r.get("type").and_then(|t| t.as_str()) {
                    out.push(t.to_string());
                }
                types(r, out);
                if let Some(inner) = r.pointer("/properties/template") {
                    types(inner, out);
                }
            }
        }
    }
    let Ok(text) = std::fs::read_to_string(file) else { return false };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { return false };
    let mut found = Vec::new();
    types(&v, &mut found);
    let assignment =
        |t: &String| t == "Microsoft.Authorization/roleAssignments" || t == "Microsoft.Resources/deployments";
    found.iter().any(|t| t == "Microsoft.Authorization/roleAssignments") && found.iter().all(assignment)
}

fn plans() -> Vec<Plan> {
    let vendor = VendorProfile::bundled().unwrap();
    [(Cloud::Aws, "eu-west-1"), (Cloud::Azure, "westeurope")]
        .into_iter()
        .map(|(cloud, region)| {
            let choices = Choices { org: "demo".into(), region: region.into(), account: None, external_id: None };
            plan::build(cloud, &vendor, &choices).unwrap()
        })
        .collect()
}

#[test]
fn every_bundled_template_passes_and_every_exception_is_the_previews() {
    let templates = cloudgrant::assets::scanned_templates();
    let files: Vec<PathBuf> = templates.iter().map(|a| assets().join(a.path)).collect();
    let report = scan(&files);
    let unexplained: Vec<String> = report
        .failed
        .iter()
        .map(|f| format!("{} {} on {} ({}:{})", f.check, f.title, f.resource, f.file.display(), f.lines.0))
        .collect();
    assert!(
        unexplained.is_empty(),
        "checkov {} finds what no template explains: fix it, or skip it in the template with its reason (docs/hardening.md):\n{}",
        scan::CHECKOV_VERSION,
        unexplained.join("\n")
    );

    // (template file, logical id, check, reason) as checkov read them …
    let mut scanned = BTreeSet::new();
    for f in &report.skipped {
        let asset = templates.iter().find(|a| assets().join(a.path) == f.file).expect("a bundled file");
        let id = f.logical_id(asset.text).unwrap_or_else(|| panic!("no logical id for {}", f.resource));
        let reason = f.reason.clone().expect("a skip has a reason");
        scanned.insert((format!("assets/{}", asset.path), id, f.check.clone(), reason));
    }
    // … and as the plans (hence the preview and `plan --output`) carry them.
    let mut previewed = BTreeSet::new();
    for p in plans() {
        for g in &p.groups {
            let file =
                if g.template.starts_with("assets/") { g.template.clone() } else { format!("assets/{}", g.template) };
            for r in &g.resources {
                for e in &r.exceptions {
                    previewed.insert((file.clone(), r.id.clone(), e.check.clone(), e.reason.clone()));
                }
            }
        }
    }
    assert_eq!(scanned, previewed, "checkov's skips and the preview's exceptions differ");
    assert!(report.passed > 0);
}

const CFN: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Plain:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: plain-bucket
  Excused:
    Type: AWS::S3::Bucket
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_18
            comment: No access logging - a second bucket nobody asked for.
    Properties:
      BucketName: excused-bucket
"#;

const ARM: &str = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {
      "type": "Microsoft.Storage/storageAccounts",
      "apiVersion": "2023-05-01",
      "name": "plainaccount",
      "location": "westeurope",
      "sku": { "name": "Standard_GRS" },
      "kind": "StorageV2",
      "metadata": { "cloudgrant": { "id": "Plain" } },
      "properties": { "minimumTlsVersion": "TLS1_2" }
    },
    {
      "type": "Microsoft.Storage/storageAccounts",
      "apiVersion": "2023-05-01",
      "name": "excusedaccount",
      "location": "westeurope",
      "sku": { "name": "Standard_GRS" },
      "kind": "StorageV2",
      "metadata": { "cloudgrant": { "id": "Excused" }, "checkov": ["CKV_AZURE_35: No firewall - the owner reads it from anywhere."] },
      "properties": { "minimumTlsVersion": "TLS1_2" }
    }
  ]
}
"#;

#[test]
fn a_new_finding_fails_and_an_inline_skip_with_its_reason_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let cfn = dir.path().join("bucket.yaml");
    let arm = dir.path().join("account.json");
    std::fs::write(&cfn, CFN).unwrap();
    std::fs::write(&arm, ARM).unwrap();
    let report = scan(&[cfn.clone(), arm.clone()]);
    let has = |list: &[scan::Finding], check: &str, text: &str, id: &str| {
        list.iter().find(|f| f.check == check && f.logical_id(text).as_deref() == Some(id)).cloned()
    };
    // Without a skip, the finding is a failure …
    assert!(has(&report.failed, "CKV_AWS_18", CFN, "Plain").is_some(), "{:?}", report.failed);
    assert!(has(&report.failed, "CKV_AZURE_35", ARM, "Plain").is_some(), "{:?}", report.failed);
    // … with one, checkov sets it aside with the template's reason, and only that check.
    let cfn_skip = has(&report.skipped, "CKV_AWS_18", CFN, "Excused").expect("CloudFormation skip honoured");
    let arm_skip = has(&report.skipped, "CKV_AZURE_35", ARM, "Excused").expect("ARM skip honoured");
    assert!(has(&report.failed, "CKV_AWS_18", CFN, "Excused").is_none());
    assert!(has(&report.failed, "CKV_AZURE_35", ARM, "Excused").is_none());
    assert_eq!(report.skipped.len(), 2, "{:?}", report.skipped);
    // The plan's one parser reads the same reasons from the same metadata.
    let yaml: serde_json::Value = serde_yaml::from_str(CFN).unwrap();
    let ours = exceptions::read(yaml.pointer("/Resources/Excused/Metadata"), Dialect::CloudFormation).unwrap();
    assert_eq!((ours[0].check.as_str(), Some(ours[0].reason.as_str())), ("CKV_AWS_18", cfn_skip.reason.as_deref()));
    let json: serde_json::Value = serde_json::from_str(ARM).unwrap();
    let ours = exceptions::read(json.pointer("/resources/1/metadata"), Dialect::Arm).unwrap();
    assert_eq!((ours[0].check.as_str(), Some(ours[0].reason.as_str())), ("CKV_AZURE_35", arm_skip.reason.as_deref()));
}

#[test]
fn the_hardening_guide_lists_every_exception_with_its_reason() {
    let guide = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/hardening.md")).unwrap();
    let mut count = 0;
    for p in plans() {
        for g in &p.groups {
            let file = g.template.trim_start_matches("assets/");
            for r in &g.resources {
                for e in &r.exceptions {
                    let row = format!("| {file} | {} | {} | {} |", r.id, e.check, e.reason);
                    assert!(guide.contains(&row), "docs/hardening.md lacks the row `{row}`");
                    count += 1;
                }
            }
        }
    }
    assert!(guide.contains(&format!("## The {count} exceptions")), "docs/hardening.md counts {count} exceptions");
}

#[test]
fn every_example_pack_passes_with_no_finding() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    for dir in dirs {
        let pack = cloudgrant::pack::Pack::load(&dir).unwrap();
        let files: Vec<PathBuf> = pack.scanned().iter().map(|f| dir.join(f.path)).collect();
        assert!(!files.is_empty(), "{}", dir.display());
        let report = scan(&files);
        let failed: Vec<String> = report.failed.iter().map(|f| format!("{} on {}", f.check, f.resource)).collect();
        assert!(failed.is_empty(), "{}: {failed:?}", dir.display());
        assert!(report.passed > 0);
    }
}

#[test]
fn vendor_check_scans_a_pack_named_by_a_relative_path() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cloudgrant"))
        .args(["vendor", "check", "examples/fleet-manager", "--output", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["scan"]["state"], "ran", "{}", v["scan"]);
    assert_eq!(v["scan"]["version"], scan::CHECKOV_VERSION);
    assert!(v["scan"]["passed"].as_u64().unwrap() > 0, "{}", v["scan"]);
    assert_eq!(v["scan"]["failed"], 0);
    let checkov: Vec<&serde_json::Value> =
        v["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "checkov").collect();
    assert!(checkov.is_empty(), "{checkov:?}");
}
