//! The GCP plan against `assets/gcp/install.yaml`, walked here independently with a plain YAML walk:
//! every resource, every role, every permission and every member written there is in the Plan (and
//! in the rendered review a support person pastes), and nothing else is.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use cloudgrant::model::{OnRevoke, PermissionKind};
use cloudgrant::plan::{gcp, Choices};
use cloudgrant::vendor::VendorProfile;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

fn plan() -> cloudgrant::model::Plan {
    let vendor = VendorProfile::bundled().expect("vendor");
    let choices = Choices {
        org: "demo".into(),
        region: "europe-west4".into(),
        account: Some("acme-prod-123".into()),
        external_id: None,
    };
    gcp::build(&vendor, &choices).expect("plan")
}

fn definitions() -> Value {
    let path = format!("{}/assets/gcp/install.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("read")).expect("yaml")
}

fn list<'v>(v: &'v Value, key: &str) -> Vec<&'v Value> {
    v.get(key).and_then(Value::as_sequence).map(|s| s.iter().collect()).unwrap_or_default()
}

fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("no {key} in {v:?}"))
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    list(v, key).iter().map(|x| x.as_str().expect("string").to_string()).collect()
}

/// Role id or `roles/…` → its permissions, as written.
fn role_permissions(d: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for r in list(d, "roles") {
        out.insert(str_of(r, "id").to_string(), strings(r, "permissions"));
    }
    for r in list(d, "predefined_roles") {
        out.insert(str_of(r, "role").to_string(), strings(r, "permissions"));
    }
    out
}

#[test]
fn every_resource_and_permission_of_the_definitions_is_in_the_plan_and_nothing_else() {
    let d = definitions();
    let plan = plan();
    assert_eq!(plan.groups.len(), 1, "one labelled set");
    let g = &plan.groups[0];

    let mut written_ids = BTreeSet::new();
    for section in ["apis", "roles", "service_accounts", "key_rings", "crypto_keys", "buckets", "bindings"] {
        for e in list(&d, section) {
            written_ids.insert(str_of(e, "id").to_string());
        }
    }
    let plan_ids: BTreeSet<String> = g.resources.iter().map(|r| r.id.clone()).collect();
    assert_eq!(plan_ids, written_ids);
    assert_eq!(g.resources.len(), written_ids.len(), "no resource twice");

    let roles = role_permissions(&d);
    let bindings = list(&d, "bindings");
    assert_eq!(g.permissions.len(), bindings.len(), "one permission entry per binding");
    for b in bindings {
        let id = str_of(b, "id");
        let p = g.permissions.iter().find(|p| p.holder == id).unwrap_or_else(|| panic!("binding {id} not in the plan"));
        assert_eq!(p.actions, roles[str_of(b, "role")], "{id}: exactly the role's permissions, in order");
        let member = str_of(b, "member");
        if member.contains(':') {
            assert_eq!(
                p.principal,
                member.replace("${vendor_sa}", "acmeml-control@acmeml-prod.iam.gserviceaccount.com")
            );
        } else {
            assert_eq!(p.principal, "serviceAccount:cg-demo-vm@acme-prod-123.iam.gserviceaccount.com", "{id}");
        }
        assert_eq!(p.resources.len(), 1, "{id}: set on one resource");
        assert!(p.source.as_ref().is_some_and(|s| s.file == "gcp/install.yaml"), "{id}: says where it is written");
    }
    let written: usize = list(&d, "bindings").iter().map(|b| roles[str_of(b, "role")].len()).sum();
    let planned: usize = g.permissions.iter().map(|p| p.actions.len()).sum();
    assert_eq!(planned, written);
}

#[test]
fn the_review_a_support_person_pastes_shows_every_permission_and_member() {
    let d = definitions();
    let plan = plan();
    let md = cloudgrant::cli::render::plan_markdown(&plan);
    let text = cloudgrant::cli::render::plan_text(&plan);
    for perms in role_permissions(&d).values() {
        for p in perms {
            assert!(md.contains(p), "markdown misses {p}");
            assert!(text.contains(p), "text misses {p}");
        }
    }
    for p in plan.permissions().map(|(_, p)| &p.principal) {
        let email = p.trim_start_matches("serviceAccount:");
        assert!(md.contains(email), "markdown misses {email}");
    }
}

#[test]
fn grants_sit_on_the_bucket_and_key_not_the_project_except_the_vendor_role() {
    let plan = plan();
    let g = &plan.groups[0];
    let on = |holder: &str| g.permissions.iter().find(|p| p.holder == holder).map(|p| (p.kind, p.resources[0].clone()));
    assert_eq!(
        on("InstanceBucketBinding"),
        Some((PermissionKind::Resource, "//storage.googleapis.com/projects/_/buckets/acme-prod-123-demo-data".into()))
    );
    assert_eq!(
        on("InstanceKeyBinding").map(|x| x.1),
        Some(
            "//cloudkms.googleapis.com/projects/acme-prod-123/locations/europe-west4/keyRings/acmeml-demo/cryptoKeys/data"
                .into()
        )
    );
    // Acting as the machines' account is trust, on that account only.
    let (kind, res) = on("VendorActAsBinding").expect("act-as binding");
    assert_eq!(kind, PermissionKind::Trust);
    assert!(res.ends_with("/serviceAccounts/cg-demo-vm@acme-prod-123.iam.gserviceaccount.com"), "{res}");
    assert!(plan.trust().count() == 1);
    // No binding gives a predefined project-wide role.
    for (_, p) in plan.permissions() {
        assert!(!(p.policy.starts_with("roles/") && p.resources[0].contains("cloudresourcemanager")), "{}", p.holder);
    }
}

#[test]
fn revoke_outcomes_say_what_stays() {
    let plan = plan();
    let outcome = |id: &str| plan.groups[0].resources.iter().find(|r| r.id == id).map(|r| r.on_revoke);
    assert_eq!(outcome("DataBucket"), Some(OnRevoke::Keep));
    assert_eq!(outcome("DataKeyRing"), Some(OnRevoke::Keep));
    assert_eq!(outcome("DataKey"), Some(OnRevoke::ScheduledDeletion));
    assert_eq!(outcome("ManagerRole"), Some(OnRevoke::SoftDelete));
    assert_eq!(outcome("InstanceServiceAccount"), Some(OnRevoke::Delete));
    assert_eq!(outcome("VendorManagerBinding"), Some(OnRevoke::Delete));
    assert_eq!(outcome("IamApi"), Some(OnRevoke::Keep));
    let key = plan.groups[0].resources.iter().find(|r| r.id == "DataKey").expect("key");
    assert_eq!(key.pending_window_days, Some(30));
}

#[test]
fn the_preview_flags_what_a_reviewer_must_see() {
    let plan = plan();
    let g = &plan.groups[0];
    let vendor = g.permissions.iter().find(|p| p.holder == "VendorManagerBinding").expect("vendor binding");
    assert!(
        vendor.risks.iter().any(|r| r.explanation.contains("compute.instances.setMetadata")),
        "SSH keys / startup scripts through setMetadata must be flagged: {:?}",
        vendor.risks
    );
    let act_as = g.permissions.iter().find(|p| p.holder == "VendorActAsBinding").expect("act as");
    assert!(act_as.risks.iter().any(|r| r.explanation.contains("may act as service account cg-demo-vm@")));
    assert!(
        act_as.risks.iter().all(|r| !r.explanation.contains("ExternalId")),
        "GCP has no ExternalId: {:?}",
        act_as.risks
    );
    // The machines' account is this plan's own: not an unknown outsider.
    let bucket = g.permissions.iter().find(|p| p.holder == "InstanceBucketBinding").expect("bucket");
    assert!(bucket.risks.iter().all(|r| !r.explanation.contains("check who this is")), "{:?}", bucket.risks);
    assert!(bucket.risks.iter().any(|r| r.explanation.contains("read objects")));
}
