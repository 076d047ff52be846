//! `cloudgrant vendor check DIR`, Azure rules: each on a copy of the automl example pack changed
//! to break that one rule (static credentials, a resource without `why`, a stack without a known
//! fate; the flags on wildcard writes, subscription scope and the all-powerful built-in roles),
//! and the JSON output carrying the Azure findings.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cloudgrant::pack::check::{check, Finding, Level};

fn automl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/automl")
}

/// A copy of the automl pack (its vendor.toml and Azure templates) with `edit` applied to
/// `azure/<file>`.
fn broken(file: &str, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(dir.path().join("azure")).expect("azure");
    // Only the Azure part: another cloud's section of the shared example would need its templates.
    let profile = std::fs::read_to_string(automl().join("vendor.toml")).expect("profile");
    let azure_only: String = profile
        .split("\n[")
        .filter(|s| s.starts_with("vendor]") || s.starts_with("azure]") || s.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n[");
    std::fs::write(dir.path().join("vendor.toml"), azure_only).expect("profile");
    for f in ["data.json", "access.json"] {
        let text = std::fs::read_to_string(automl().join("azure").join(f)).expect("template");
        let text = if f == file {
            let edited = edit(&text);
            assert_ne!(edited, text, "the edit changed nothing");
            edited
        } else {
            text
        };
        std::fs::write(dir.path().join("azure").join(f), text).expect("write");
    }
    dir
}

fn findings(dir: &Path, level: Level, rule: &str) -> Vec<Finding> {
    let r = check(dir, false);
    assert_eq!(r.ok, r.refusals() == 0);
    r.findings.into_iter().filter(|f| f.level == level && f.rule == rule).collect()
}

const ROLE: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

#[test]
fn the_automl_pack_passes_without_flags() {
    let r = check(&automl(), false);
    assert!(r.ok, "{:?}", r.findings);
    assert!(r.findings.iter().all(|f| f.level != Level::Flagged), "{:?}", r.findings);
    assert!(r.clouds.contains(&cloudgrant::model::Cloud::Azure));
}

#[test]
fn a_client_secret_is_refused() {
    let dir = broken("access.json", |t| {
        t.replacen(
            r#""principalType": "ServicePrincipal","#,
            r#""principalType": "ServicePrincipal", "passwordCredentials": [{"displayName": "k"}],"#,
            1,
        )
    });
    let found = findings(dir.path(), Level::Refused, "static-credentials");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.contains("passwordCredentials"), "{found:?}");
    assert_eq!(found[0].file.as_deref(), Some("azure/access.json"));
}

#[test]
fn a_resource_without_why_is_refused() {
    let dir = broken("data.json", |t| {
        t.replacen(r#""description": "The one container Tabular may use: your training tables and its results. Kept on revoke.", "#, "", 1)
    });
    let found = findings(dir.path(), Level::Refused, "why");
    assert_eq!(found.len(), 1, "one cause, one finding: {found:?}");
    assert_eq!(found[0].resource.as_deref(), Some("TrainingContainer"), "{found:?}");
}

#[test]
fn a_stack_without_a_known_fate_is_refused() {
    let dir = broken("data.json", |t| t.replacen(r#""fate": "detach","#, "", 1));
    let found = findings(dir.path(), Level::Refused, "fate");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.contains("metadata.cloudgrant.fate"), "{found:?}");
    let dir = broken("data.json", |t| t.replacen(r#""fate": "detach","#, r#""fate": "keep","#, 1));
    let found = findings(dir.path(), Level::Refused, "fate");
    assert!(found.iter().any(|f| f.message.contains("`keep`")), "{found:?}");
}

/// The access template with its role assignment giving `role` (a built-in's GUID) instead.
fn grant(role: &'static str) -> impl Fn(&str) -> String {
    move |t: &str| t.replacen(ROLE, role, 1)
}

#[test]
fn the_owner_role_for_the_vendor_is_flagged() {
    let dir = broken("access.json", grant("8e3af657-a8ff-443c-a75c-2fe8c4bcb635"));
    let privileged = findings(dir.path(), Level::Flagged, "privileged-role");
    assert_eq!(privileged.len(), 1, "{privileged:?}");
    assert!(privileged[0].message.contains("Owner"), "{privileged:?}");
    assert_eq!(privileged[0].resource.as_deref(), Some("VendorContainerAccess"));
}

#[test]
fn contributor_and_user_access_administrator_are_flagged() {
    for (guid, name) in [
        ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
        ("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator"),
    ] {
        let dir = broken("access.json", grant(guid));
        let found = findings(dir.path(), Level::Flagged, "privileged-role");
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert!(found[0].message.contains(name), "{found:?}");
    }
}

#[test]
fn a_grant_at_the_subscription_is_flagged() {
    // The assignment moved out of the resource group into the subscription-scope template.
    let dir = broken("access.json", |t| {
        let v: serde_json::Value = serde_json::from_str(t).unwrap();
        let mut v = v;
        let mut assignment = v["resources"][0]["properties"]["template"]["resources"][0].clone();
        assignment.as_object_mut().unwrap().remove("scope");
        assignment["name"] = serde_json::json!("[guid(subscription().id, parameters('vendorPrincipalId'))]");
        assignment["properties"]["roleDefinitionId"] =
            serde_json::json!(format!("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{ROLE}')]"));
        v["resources"].as_array_mut().unwrap().push(assignment);
        v["resources"][1]["metadata"]["cloudgrant"]["id"] = serde_json::json!("SubscriptionAccess");
        serde_json::to_string_pretty(&v).unwrap()
    });
    let found = findings(dir.path(), Level::Flagged, "subscription-scope");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].resource.as_deref(), Some("SubscriptionAccess"));
}

#[test]
fn a_custom_role_with_wildcard_writes_assignable_at_the_subscription_is_flagged() {
    let dir = broken("access.json", |t| {
        let mut v: serde_json::Value = serde_json::from_str(t).unwrap();
        let nested = &mut v["resources"][0]["properties"]["template"];
        nested["resources"].as_array_mut().unwrap().insert(
            0,
            serde_json::json!({
                "type": "Microsoft.Authorization/roleDefinitions",
                "apiVersion": "2022-04-01",
                "name": "[guid(resourceGroup().id, 'everything')]",
                "metadata": {"description": "Anything with storage.", "cloudgrant": {"id": "StorageAnything"}},
                "properties": {
                    "roleName": "Storage anything",
                    "type": "CustomRole",
                    "assignableScopes": ["[subscription().id]"],
                    "permissions": [{"actions": ["Microsoft.Storage/*", "*/read"], "notActions": []}]
                }
            }),
        );
        nested["resources"][1]["properties"]["roleDefinitionId"] =
            serde_json::json!("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', guid(resourceGroup().id, 'everything'))]");
        serde_json::to_string_pretty(&v).unwrap()
    });
    let scope = findings(dir.path(), Level::Flagged, "subscription-scope");
    assert!(scope.iter().any(|f| f.resource.as_deref() == Some("StorageAnything")), "{scope:?}");
    let wild = findings(dir.path(), Level::Flagged, "wildcard-write");
    assert_eq!(wild.len(), 1, "{wild:?}");
    assert!(wild[0].message.contains("Microsoft.Storage/*") && !wild[0].message.contains("*/read"), "{wild:?}");
}

#[test]
fn json_output_carries_the_azure_findings() {
    let dir = broken("data.json", |t| t.replacen(r#""fate": "detach","#, "", 1));
    let out = Command::new(env!("CARGO_BIN_EXE_cloudgrant"))
        .args(["vendor", "check", dir.path().to_str().expect("path"), "--output", "json", "--no-scan"])
        .stdin(Stdio::null())
        .output()
        .expect("run cloudgrant");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["clouds"], serde_json::json!(["azure"]));
    assert_eq!(v["ok"], false);
    let azure: Vec<&serde_json::Value> =
        v["findings"].as_array().unwrap().iter().filter(|f| f["cloud"] == "azure").collect();
    assert!(
        azure.iter().any(|f| f["rule"] == "fate" && f["level"] == "refused" && f["file"] == "azure/data.json"),
        "{azure:?}"
    );
}

#[test]
fn two_stacks_of_the_same_fate_are_refused() {
    // Revoke deletes one `delete` stack, then detaches one `detach` stack: a second of either fate
    // could not be revoked in a stated order.
    let dir = broken("data.json", |t| t.replacen(r#""fate": "detach","#, r#""fate": "delete","#, 1));
    let found = findings(dir.path(), Level::Refused, "template");
    assert!(found.iter().any(|f| f.message.contains("2 Azure stacks say fate `delete`")), "{found:?}");
}
