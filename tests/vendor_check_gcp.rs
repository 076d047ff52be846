//! `cloudgrant vendor check` on Google Cloud packs: each refusal and each flag of
//! src/pack/check/gcp.rs on a copy of examples/automl made to break one rule, the example and the
//! bundled pack passing, and the JSON output carrying the Google Cloud findings.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cloudgrant::model::Cloud;
use cloudgrant::pack::check::{check, Finding, Level};

fn automl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/automl")
}

/// A copy of the automl pack with `edit` applied to its `gcp/install.yaml`.
fn broken(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(dir.path().join("gcp")).expect("gcp");
    // Only the [vendor] and [gcp] sections: this test is about Google Cloud alone.
    let toml = std::fs::read_to_string(automl().join("vendor.toml")).expect("vendor.toml");
    let gcp_only: String = match toml.find("\n[azure]") {
        Some(at) => toml[..at].to_string(),
        None => toml,
    };
    std::fs::write(dir.path().join("vendor.toml"), gcp_only).expect("write");
    let text = std::fs::read_to_string(automl().join("gcp/install.yaml")).expect("install.yaml");
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changed nothing");
    std::fs::write(dir.path().join("gcp/install.yaml"), edited).expect("write");
    dir
}

fn gcp_findings(dir: &Path, level: Level) -> Vec<Finding> {
    let r = check(dir, false);
    assert_eq!(r.ok, r.refusals() == 0);
    r.findings.into_iter().filter(|f| f.level == level && f.cloud == Some(Cloud::Gcp)).collect()
}

/// The one finding of `rule` at `level`, on `resource`.
fn one(dir: &Path, level: Level, rule: &str, resource: Option<&str>) -> Finding {
    let found = gcp_findings(dir, level);
    let hits: Vec<&Finding> = found.iter().filter(|f| f.rule == rule).collect();
    assert_eq!(hits.len(), 1, "one {rule} finding: {found:?}");
    assert_eq!(hits[0].resource.as_deref(), resource, "{:?}", hits[0]);
    assert_eq!(hits[0].file.as_deref(), Some("gcp/install.yaml"));
    hits[0].clone()
}

/// A binding of `role` to `member` on `on`, added to the file's bindings (with the role's
/// permissions listed when it is one of Google's).
fn with_binding(text: &str, role: &str, permissions: &[&str], member: &str, on: &str) -> String {
    let mut out = text.replacen(
        "bindings:\n",
        &format!("bindings:\n  - id: ExtraBinding\n    role: {role}\n    member: {member}\n    on: {on}\n    why: A test binding.\n"),
        1,
    );
    if role.starts_with("roles/") {
        let perms: String = permissions.iter().map(|p| format!("      - {p}\n")).collect();
        out = out.replacen(
            "bindings:\n",
            &format!("predefined_roles:\n  - role: {role}\n    permissions:\n{perms}\nbindings:\n"),
            1,
        );
    }
    out
}

#[test]
fn the_automl_and_bundled_packs_pass() {
    let r = check(&automl(), false);
    assert!(r.ok, "{:?}", r.findings);
    assert!(r.clouds.contains(&Cloud::Gcp));
    assert!(r.plans.iter().any(|p| p.cloud == Cloud::Gcp));
    let flagged = gcp_findings(&automl(), Level::Flagged);
    assert!(flagged.is_empty(), "one bucket-scoped binding of object permissions flags nothing: {flagged:?}");
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let r = check(&bundled, false);
    assert!(r.ok, "{:?}", r.findings);
}

#[test]
fn service_account_keys_are_refused() {
    let dir = broken(|t| format!("{t}\nservice_account_keys:\n  - id: VendorKey\n    service_account: vendor\n"));
    let f = one(dir.path(), Level::Refused, "static-credentials", None);
    assert!(f.message.contains("service_account_keys") && f.message.contains("long-lived"), "{}", f.message);
    assert!(gcp_findings(dir.path(), Level::Refused).iter().all(|f| f.rule != "fate"), "one cause, one finding");
}

#[test]
fn a_role_that_makes_service_account_keys_is_refused() {
    let dir = broken(|t| {
        t.replacen(
            "      - storage.objects.create\n",
            "      - storage.objects.create\n      - iam.serviceAccountKeys.create\n",
            1,
        )
    });
    let f = one(dir.path(), Level::Refused, "static-credentials", Some("ObjectsRole"));
    assert!(f.message.contains("iam.serviceAccountKeys.create"), "{}", f.message);
}

#[test]
fn a_resource_without_why_is_refused() {
    let dir = broken(|t| {
        let at = t.find("    why: Where you put").expect("the bucket's why");
        let end = at + t[at..].find('\n').expect("line end") + 1;
        format!("{}{}", &t[..at], &t[end..])
    });
    let f = one(dir.path(), Level::Refused, "why", Some("DataBucket"));
    assert!(f.message.contains("why"), "{}", f.message);
}

#[test]
fn a_section_without_a_known_fate_is_refused() {
    let dir = broken(|t| format!("{t}\nfirewalls:\n  - id: OpenSsh\n    why: SSH for the vendor.\n"));
    let f = one(dir.path(), Level::Refused, "fate", None);
    assert!(f.message.contains("`firewalls`") && f.message.contains("on revoke"), "{}", f.message);
}

#[test]
fn token_creator_on_the_project_is_refused() {
    let dir = broken(|t| {
        with_binding(
            t,
            "roles/iam.serviceAccountTokenCreator",
            &["iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.signBlob"],
            "serviceAccount:${vendor_sa}",
            "project",
        )
    });
    let f = one(dir.path(), Level::Refused, "impersonation", Some("ExtraBinding"));
    assert!(f.message.contains("every service account"), "{}", f.message);
}

#[test]
fn service_account_user_on_the_project_is_refused() {
    let dir = broken(|t| {
        with_binding(
            t,
            "roles/iam.serviceAccountUser",
            &["iam.serviceAccounts.actAs"],
            "serviceAccount:${vendor_sa}",
            "project",
        )
    });
    let f = one(dir.path(), Level::Refused, "impersonation", Some("ExtraBinding"));
    assert!(f.message.contains("roles/iam.serviceAccountUser"), "{}", f.message);
}

#[test]
fn write_permissions_on_the_whole_project_are_flagged() {
    let dir = broken(|t| t.replacen("    on: DataBucket\n", "    on: project\n", 1));
    let f = one(dir.path(), Level::Flagged, "write-on-project", Some("VendorObjectsBinding"));
    assert!(
        f.message.contains("storage.objects.create") && !f.message.contains("storage.objects.get"),
        "{}",
        f.message
    );
    assert!(check(dir.path(), false).ok, "a flag does not fail the check");
}

#[test]
fn broad_predefined_roles_are_flagged() {
    for role in ["roles/editor", "roles/owner", "roles/storage.admin"] {
        let dir =
            broken(|t| with_binding(t, role, &["storage.objects.get"], "serviceAccount:${vendor_sa}", "DataBucket"));
        let f = one(dir.path(), Level::Flagged, "broad-role", Some("ExtraBinding"));
        assert!(f.message.contains(role), "{}", f.message);
    }
}

#[test]
fn bindings_to_everyone_or_a_domain_are_flagged() {
    for member in ["allUsers", "allAuthenticatedUsers", "domain:tabular.example"] {
        let dir =
            broken(|t| t.replacen("    member: serviceAccount:${vendor_sa}\n", &format!("    member: {member}\n"), 1));
        let f = one(dir.path(), Level::Flagged, "public-member", Some("VendorObjectsBinding"));
        assert!(f.message.contains(member), "{}", f.message);
    }
}

#[test]
fn json_output_has_the_google_cloud_findings() {
    let dir = broken(|t| {
        with_binding(t, "roles/iam.serviceAccountUser", &["iam.serviceAccounts.actAs"], "allUsers", "project")
    });
    let out = Command::new(env!("CARGO_BIN_EXE_cloudgrant"))
        .args(["vendor", "check", dir.path().to_str().expect("path"), "--output", "json", "--no-scan"])
        .stdin(Stdio::null())
        .output()
        .expect("run cloudgrant");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["clouds"], serde_json::json!(["gcp"]));
    let findings = v["findings"].as_array().expect("findings");
    let of = |rule: &str| findings.iter().find(|f| f["rule"] == rule).unwrap_or_else(|| panic!("{rule}: {v}"));
    for (rule, level) in [("impersonation", "refused"), ("public-member", "flagged")] {
        let f = of(rule);
        assert_eq!(f["level"], level);
        assert_eq!(f["cloud"], "gcp");
        assert_eq!(f["file"], "gcp/install.yaml");
        assert_eq!(f["resource"], "ExtraBinding");
    }
}
