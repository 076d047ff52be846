//! Vendor packs other than the bundled one on Google Cloud, against the wiremock double of
//! tests/support/fake_google.rs: examples/automl (one bucket, one custom role bound on it, no key
//! ring, no service account of its own) from preview to revoke, and what every GCP pack sends
//! the vendor: exactly its `send_to_vendor`, in order, each with its value.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fake_google.rs"]
mod fake_google;
#[path = "support/gcp_env.rs"]
mod gcp_env;
#[path = "support/gcp_walk.rs"]
mod gcp_walk;

use std::path::PathBuf;

use cloudgrant::model::{ChangeKind, Cloud, RevokeOutcome, Update};
use cloudgrant::vendor::VendorProfile;
use gcp_env::*;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const TABULAR_SA: &str = "serviceAccount:tabular-runner@tabular-prod.iam.gserviceaccount.com";
const TABULAR_BUCKET: &str = "acme-prod-123-acme-research-tabular";
const TABULAR_ROLE: &str = "projects/acme-prod-123/roles/tabular_acme_research_objects";

fn pack(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn automl() -> VendorProfile {
    VendorProfile::load(&pack("examples/automl")).expect("examples/automl loads")
}

fn walk(dir: &str, vendor: &VendorProfile) -> gcp_walk::Walk {
    let text = std::fs::read_to_string(pack(dir).join("gcp/install.yaml")).expect("install.yaml");
    gcp_walk::Walk::new(&text, vendor, PROJECT, "europe-west1", ORG)
}

#[tokio::test]
async fn automl_pack_previews_applies_and_revokes_exactly_its_definitions() {
    let env = env_with(automl()).await;
    assert!(env.vendor.clouds().contains(&Cloud::Gcp), "the pack covers Google Cloud");
    let plan = plan(&env.vendor);
    let expected = walk("examples/automl", &env.vendor);

    // Preview: every resource of the file is an Add, and only those.
    let fresh = env.gcp.preview_changes(&plan).await.expect("preview");
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].kind, ChangeKind::Create);
    let added: Vec<&str> = fresh[0].changes.iter().map(|c| c.id.as_str()).collect();
    let ids: Vec<&str> = expected.resources.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(added, ids);

    // Apply: the bucket, the role and its binding on the bucket; no KMS, no service account.
    let (inst, updates) = apply(&env).await;
    let inst = inst.expect("apply");
    assert!(inst.is_complete(), "{inst:?}");
    assert!(matches!(updates.last(), Some(Update::Applied { ok: true, .. })));
    let all = requests(&env.server).await;
    let writes: Vec<String> = all.iter().filter(|r| is_write(r)).map(line).collect();
    assert!(!writes.iter().any(|w| w.contains("cloudkms") || w.contains("/keyRings")), "{writes:?}");
    assert!(!writes.iter().any(|w| w.ends_with("/serviceAccounts")), "{writes:?}");
    assert!(
        !writes.iter().any(|w| w.contains("projects/acme-prod-123:setIamPolicy")),
        "nothing on the project: {writes:?}"
    );
    env.fake.with(|s| {
        assert!(s.key_rings.is_empty() && s.keys.is_empty() && s.accounts.is_empty());
        assert_eq!(s.buckets[TABULAR_BUCKET]["labels"]["cloudgrant-install"], "tabular-acme-research");
        let perms = s.roles[TABULAR_ROLE]["includedPermissions"].clone();
        assert_eq!(perms, json!(["storage.objects.list", "storage.objects.get", "storage.objects.create"]));
        let bucket_policy = s.policy(&format!("bucket:{TABULAR_BUCKET}"));
        let bindings = bucket_policy["bindings"].as_array().cloned().unwrap_or_default();
        assert!(
            bindings.iter().any(|b| b["role"] == TABULAR_ROLE && b["members"] == json!([TABULAR_SA])),
            "{bucket_policy}"
        );
        assert!(!s.policy("project").to_string().contains(TABULAR_SA));
    });
    // What the vendor is sent: exactly the file's list, in order, each with its value.
    let sent = inst.for_vendor(&plan.send_to_vendor);
    let want: Vec<(String, Option<String>)> =
        expected.send_to_vendor.iter().map(|k| (k.clone(), Some(expected.values[k].clone()))).collect();
    assert_eq!(sent, want);
    assert_eq!(sent[1].1.as_deref(), Some(TABULAR_BUCKET));

    // Found again from the project alone, complete.
    let found = env.gcp.discover(Some(ORG)).await.expect("discover");
    assert_eq!(found.len(), 1);
    assert!(found[0].is_complete(), "{:?}", found[0].groups[0].status_reason);
    let found_ids: Vec<&str> = found[0].groups[0].resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(found_ids, ids);
    assert_eq!(found[0].for_vendor(&plan.send_to_vendor), want);

    // Revoke: the binding first, the role soft-deleted, the bucket and the APIs kept.
    env.fake.with(|s| {
        s.objects.insert(TABULAR_BUCKET.into(), vec![json!({"name": "train.csv", "size": "4096"})]);
    });
    let rplan = env.gcp.revoke_plan(&found[0]).await.expect("revoke plan");
    let order: Vec<&str> = rplan.items().map(|i| i.id.as_str()).collect();
    assert_eq!(order[0], "VendorObjectsBinding");
    let outcome = |id: &str| rplan.items().find(|i| i.id == id).map(|i| i.outcome.clone()).expect(id);
    assert!(matches!(outcome("ObjectsRole"), RevokeOutcome::SoftDeleted { .. }));
    assert!(
        matches!(outcome("DataBucket"), RevokeOutcome::Kept { ref reason } if reason.contains("1 objects") || reason.contains("1 object"))
    );
    assert!(!rplan.warnings.iter().any(|w| w.contains("data key")), "no key, no key warning: {:?}", rplan.warnings);
    let (tx, mut rx) = mpsc::channel(4096);
    let residue = env.gcp.revoke(&rplan, &[], tx, CancellationToken::new()).await.expect("revoke");
    let updates = drain(&mut rx);
    assert!(matches!(updates.last(), Some(Update::Revoked { ok: true, .. })), "{:?}", updates.last());
    assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    env.fake.with(|s| {
        assert_eq!(s.roles[TABULAR_ROLE]["deleted"], true);
        assert!(s.buckets.contains_key(TABULAR_BUCKET), "the bucket is kept");
        assert!(!s.policy(&format!("bucket:{TABULAR_BUCKET}")).to_string().contains(TABULAR_SA));
    });
    assert!(env.gcp.discover(Some(ORG)).await.expect("discover").is_empty());
}

/// A pack of two buckets, two roles, and a second vendor account bound on the project: no key ring
/// and no service account of its own.
const TWO_BUCKETS: &str = r#"
labels:
  managed-by: cloudgrant
  cloudgrant-install: ${install}
  cloudgrant-vendor: ${vendor_id}
  cloudgrant-org: ${org}
roles:
  - id: ObjectsRole
    role_id: ${vendor_id}_${org_}_objects
    title: objects
    why: Read and write the objects.
    permissions: [storage.objects.get, storage.objects.create]
  - id: WatchRole
    role_id: ${vendor_id}_${org_}_watch
    title: watch
    why: See the buckets.
    permissions: [storage.buckets.list]
buckets:
  - id: Inputs
    name: ${project}-${org}-in
    location: ${location}
    uniform_bucket_level_access: true
    why: Training data.
  - id: Models
    name: ${project}-${org}-models
    location: ${location}
    uniform_bucket_level_access: true
    why: Trained models.
bindings:
  - id: InputsBinding
    role: ObjectsRole
    member: serviceAccount:${vendor_sa}
    on: Inputs
    why: The vendor reads the data.
  - id: ModelsBinding
    role: ObjectsRole
    member: serviceAccount:${vendor_sa}
    on: Models
    why: The vendor writes the models.
  - id: WatchBinding
    role: WatchRole
    member: serviceAccount:tabular-watch@tabular-prod.iam.gserviceaccount.com
    on: project
    why: The vendor's monitor lists the buckets.
send_to_vendor: [Models, Project, Inputs]
"#;

#[tokio::test]
async fn a_pack_of_two_buckets_and_a_second_vendor_account_is_found_and_revoked_exactly() {
    let dir = tempfile::tempdir().expect("tmp");
    let toml = std::fs::read_to_string(pack("examples/automl/vendor.toml")).expect("vendor.toml");
    let gcp_only = toml.find("\n[azure]").map_or(toml.clone(), |at| toml[..at].to_string());
    std::fs::write(dir.path().join("vendor.toml"), gcp_only).expect("write");
    std::fs::create_dir(dir.path().join("gcp")).expect("gcp");
    std::fs::write(dir.path().join("gcp/install.yaml"), TWO_BUCKETS).expect("write");
    let vendor = VendorProfile::load(dir.path()).expect("pack loads");
    let env = env_with(vendor).await;
    let plan = plan(&env.vendor);
    let inst = apply(&env).await.0.expect("apply");
    assert!(inst.is_complete(), "{inst:?}");
    let (inputs, models) = ("acme-prod-123-acme-research-in", "acme-prod-123-acme-research-models");
    let watch = "serviceAccount:tabular-watch@tabular-prod.iam.gserviceaccount.com";
    assert!(env.fake.with(|s| s.policy("project").to_string().contains(watch)));
    let want = vec![
        ("Models".to_string(), Some(models.to_string())),
        ("Project".to_string(), Some(PROJECT.to_string())),
        ("Inputs".to_string(), Some(inputs.to_string())),
    ];
    assert_eq!(inst.for_vendor(&plan.send_to_vendor), want);

    // Status: every resource of the file, both buckets and the second account's binding.
    let found = env.gcp.discover(Some(ORG)).await.expect("discover");
    assert_eq!(found.len(), 1);
    assert!(found[0].is_complete(), "{:?}", found[0].groups[0].status_reason);
    let ids: Vec<&str> = found[0].groups[0].resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["ObjectsRole", "WatchRole", "Inputs", "Models", "InputsBinding", "ModelsBinding", "WatchBinding"]);
    assert_eq!(found[0].for_vendor(&plan.send_to_vendor), want);

    // Revoke removes exactly the three bindings, keeps both buckets, and verifies both accounts.
    env.fake.with(|s| {
        s.foreign_change("project", "roles/viewer", "serviceAccount:ci@acme-prod-123.iam.gserviceaccount.com")
    });
    let rplan = env.gcp.revoke_plan(&found[0]).await.expect("revoke plan");
    let first: Vec<&str> = rplan.items().take(3).map(|i| i.id.as_str()).collect();
    assert_eq!(first, ["InputsBinding", "ModelsBinding", "WatchBinding"]);
    let (tx, mut rx) = mpsc::channel(4096);
    let residue = env.gcp.revoke(&rplan, &[], tx, CancellationToken::new()).await.expect("revoke");
    drain(&mut rx);
    assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    assert!(
        residue.checks.iter().any(|c| c.what.contains(watch) && c.what.contains("project")),
        "{:?}",
        residue.checks
    );
    let kept: Vec<&str> = residue.items.iter().filter(|i| i.state == "kept").map(|i| i.physical_id.as_str()).collect();
    assert_eq!(kept, [inputs, models]);
    env.fake.with(|s| {
        let project = s.policy("project").to_string();
        assert!(!project.contains(watch) && project.contains("serviceAccount:ci@acme-prod-123"), "{project}");
        for b in [inputs, models] {
            assert!(s.buckets.contains_key(b));
            assert!(!s.policy(&format!("bucket:{b}")).to_string().contains(TABULAR_SA));
        }
    });
    assert!(env.gcp.discover(Some(ORG)).await.expect("discover").is_empty());
}

#[tokio::test]
async fn the_bundled_pack_sends_exactly_its_send_to_vendor() {
    let env = env().await;
    let plan = plan(&env.vendor);
    let expected = walk("assets", &env.vendor);
    assert_eq!(plan.send_to_vendor, expected.send_to_vendor);
    let inst = apply(&env).await.0.expect("apply");
    let want: Vec<(String, Option<String>)> =
        expected.send_to_vendor.iter().map(|k| (k.clone(), Some(expected.values[k].clone()))).collect();
    assert_eq!(inst.for_vendor(&plan.send_to_vendor), want);
    assert_eq!(want.iter().map(|(_, v)| v.clone().unwrap()).collect::<Vec<_>>(), [PROJECT, VM_SA, BUCKET, KEY]);
    // The receipt records the same list, in the same order.
    let receipt = cloudgrant::receipts::for_init(
        &plan,
        &env.vendor,
        None,
        Some(&inst),
        Default::default(),
        cloudgrant::receipts::Outcome { ok: true, summary: "done".into(), root_cause: None },
        chrono::Utc::now(),
    );
    assert_eq!(receipt.vendor_received, want);
}
