//! The Google Cloud provider against a wiremock server that answers like Google (shapes from the
//! discovery documents, see docs/gcp.md): init, re-run, revoke with verification, and the failures
//! a real project gives (stale etags, disabled APIs, taken bucket names, soft-deleted roles).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fake_google.rs"]
mod fake_google;
#[path = "support/gcp_env.rs"]
mod gcp_env;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudgrant::cloud::gcp::{self, Endpoints, Gcp, GcpOptions, HttpTransport, SharedTransport, TokenSource};
use cloudgrant::cloud::CloudError;
use cloudgrant::model::{ChangeKind, RevokeOutcome, Status, Update};
use fake_google::{google_error, storage_error, Fault, TOKEN};
use gcp_env::*;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wiremock::Request;

#[tokio::test]
async fn init_then_rerun_then_revoke_with_verification() {
    let env = env().await;
    // Someone else's service account holds a role the vendor install must never disturb.
    env.fake.with(|s| {
        s.foreign_change("project", "roles/compute.viewer", "serviceAccount:ci@acme-prod-123.iam.gserviceaccount.com")
    });
    let fresh = env.gcp.preview_changes(&plan(&env.vendor)).await.expect("preview");
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].kind, cloudgrant::model::ChangeKind::Create, "nothing exists yet");
    assert_eq!(fresh[0].changes.len(), plan(&env.vendor).resource_count(), "every resource is an Add");
    assert!(fresh[0].changes.iter().all(|c| c.action == "Add"));

    // First run: everything is created.
    let (inst, updates) = apply(&env).await;
    let inst = inst.expect("apply");
    assert!(inst.is_complete(), "{inst:?}");
    assert_eq!(inst.account, PROJECT);
    assert_eq!(inst.region, "europe-west1");
    let g = inst.group("install").expect("group");
    assert_eq!(g.name, INSTALL);
    assert_eq!(inst.outputs["InstanceServiceAccount"], VM_SA);
    assert_eq!(inst.outputs["DataBucket"], BUCKET);
    assert_eq!(inst.outputs["DataKey"], KEY);
    assert_eq!(inst.outputs["ManagerRole"], ROLE);
    // The vendor's own account is a parameter of the install, not something it made.
    assert!(!inst.outputs.values().any(|v| VENDOR_SA.ends_with(v.as_str())), "{:?}", inst.outputs);
    assert_eq!(g.parameters["VendorServiceAccount"], VENDOR_SA.trim_start_matches("serviceAccount:"));
    let ev = events(&updates);
    assert_eq!(ev.first().map(|e| (e.0.as_str(), e.1)), Some((INSTALL, Status::CreateInProgress)));
    assert_eq!(ev.last().map(|e| (e.0.as_str(), e.1)), Some((INSTALL, Status::CreateComplete)));
    for id in [
        "IamApi",
        "ManagerRole",
        "InstanceServiceAccount",
        "DataKeyRing",
        "DataKey",
        "DataBucket",
        "VendorManagerBinding",
        "InstanceKeyBinding",
    ] {
        let seq: Vec<Status> = ev.iter().filter(|e| e.0 == id).map(|e| e.1).collect();
        assert_eq!(seq, [Status::CreateInProgress, Status::CreateComplete], "{id}: {ev:?}");
    }
    assert!(matches!(updates.last(), Some(Update::Applied { ok: true, .. })));
    // The LRO was polled until done: one done:false answer, then done:true.
    assert_eq!(env.fake.with(|s| s.polls), 2);
    // The service account was not visible right after creation: read again.
    assert!(logs(&updates).iter().any(|l| l.contains("not visible yet")), "{:?}", logs(&updates));
    let all = requests(&env.server).await;
    assert!(all
        .iter()
        .all(|r| r.headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer test-token")));
    assert_eq!(env.fake.with(|s| s.unauthorized), 0);
    // Bodies as documented.
    let create_key =
        all.iter().find(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/cryptoKeys")).expect("key create");
    let body: Value = create_key.body_json().expect("json");
    assert_eq!(body["destroyScheduledDuration"], "2592000s");
    assert_eq!(body["labels"]["cloudgrant-install"], INSTALL);
    let create_bucket =
        all.iter().find(|r| r.method.as_str() == "POST" && r.url.path() == "/storage/v1/b").expect("bucket create");
    let body: Value = create_bucket.body_json().expect("json");
    assert_eq!(body["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"], true);
    assert_eq!(body["location"], "europe-west1");
    // The project policy kept every foreign binding, the conditional one included, at version 3.
    let policy = env.fake.with(|s| s.policy("project"));
    assert_eq!(policy["version"], 3);
    let text = policy.to_string();
    for m in [
        "user:owner@example.com",
        "group:auditors@example.com",
        "weekdays",
        "serviceAccount:ci@acme-prod-123",
        VENDOR_SA,
    ] {
        assert!(text.contains(m), "{m} missing from {policy}");
    }
    // A manifest was written, with names and statuses only.
    let manifest = std::fs::read_to_string(env._dir.path().join(format!("{INSTALL}.json"))).expect("manifest");
    assert!(manifest.contains("\"DataBucket\"") && manifest.contains("CREATE_COMPLETE") && !manifest.contains(TOKEN));

    // The vendor's machines wrote some data meanwhile.
    env.fake.with(|s| {
        s.objects.insert(
            BUCKET.into(),
            vec![json!({"name": "a.parquet", "size": "1024"}), json!({"name": "b.parquet", "size": "2048"})],
        );
    });
    // Found again from the project alone.
    let found = env.gcp.discover(Some(ORG)).await.expect("discover");
    assert_eq!(found.len(), 1);
    assert!(found[0].is_complete(), "{:?}", found[0].groups[0].status_reason);
    assert_eq!(found[0].groups[0].resources.len(), g.resources.len());

    // Second run: nothing to create, nothing written.
    let changes = env.gcp.preview_changes(&plan(&env.vendor)).await.expect("preview");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, ChangeKind::NoChanges, "{changes:?}");
    let before = requests(&env.server).await.len();
    let (again, updates) = apply(&env).await;
    assert!(again.expect("re-run").is_complete());
    let rerun: Vec<Request> = requests(&env.server).await.into_iter().skip(before).collect();
    let writes: Vec<String> = rerun.iter().filter(|r| is_write(r)).map(line).collect();
    assert!(writes.is_empty(), "a re-run wrote: {writes:?}");
    let ev = events(&updates);
    assert!(ev.iter().all(|e| matches!(e.1, Status::UpdateInProgress | Status::UpdateComplete)), "{ev:?}");
    assert!(ev.iter().filter(|e| e.0 == "ManagerRole").all(|e| e.2 == "exists, unchanged"));

    // Revoke: bindings first, then accounts and roles; the key's versions are scheduled.
    let rplan = env.gcp.revoke_plan(&found[0]).await.expect("revoke plan");
    let order: Vec<&str> = rplan.items().map(|i| i.id.as_str()).collect();
    assert_eq!(
        &order[..4],
        ["VendorManagerBinding", "VendorActAsBinding", "InstanceBucketBinding", "InstanceKeyBinding"]
    );
    let outcome = |id: &str| rplan.items().find(|i| i.id == id).map(|i| i.outcome.clone()).expect(id);
    assert!(matches!(outcome("ManagerRole"), RevokeOutcome::SoftDeleted { .. }));
    assert!(matches!(outcome("DataKey"), RevokeOutcome::ScheduledDeletion { days: 30, .. }));
    assert!(
        matches!(outcome("DataBucket"), RevokeOutcome::Kept { ref reason } if reason.contains("2 objects")),
        "{:?}",
        outcome("DataBucket")
    );
    assert!(matches!(outcome("DataKeyRing"), RevokeOutcome::Kept { .. }));
    assert!(matches!(outcome("IamApi"), RevokeOutcome::Kept { .. }));
    assert!(rplan.warnings.iter().any(|w| w.contains("can be deleted only after that")));
    let before = requests(&env.server).await.len();
    let (tx, mut rx) = mpsc::channel(4096);
    let residue = env.gcp.revoke(&rplan, &[], tx, CancellationToken::new()).await.expect("revoke");
    let updates = drain(&mut rx);
    assert!(matches!(updates.last(), Some(Update::Revoked { ok: true, .. })), "{:?}", updates.last());
    assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    assert!(residue.checks.iter().any(|c| c.what.contains("holds no role on project")));
    let state = |t: &str| residue.items.iter().find(|i| i.type_ == t).map(|i| i.state.clone());
    assert_eq!(state("cloudkms.googleapis.com/CryptoKey").as_deref(), Some("pending_deletion"));
    assert_eq!(state("storage.googleapis.com/Bucket").as_deref(), Some("kept"));
    assert_eq!(state("iam.googleapis.com/Role").as_deref(), Some("soft_deleted"));
    // The bindings (the vendor's among them) were the first writes of the revoke, side by side.
    let revoke_writes: Vec<String> =
        requests(&env.server).await.into_iter().skip(before).filter(is_write).map(|r| line(&r)).collect();
    let policy_write = |w: &String| w.ends_with(":setIamPolicy") || (w.starts_with("PUT ") && w.ends_with("/iam"));
    assert!(revoke_writes[..4].iter().all(policy_write), "{revoke_writes:?}");
    assert!(revoke_writes[..4].contains(&"POST /v3/projects/acme-prod-123:setIamPolicy".to_string()));
    // Without delete-data the bucket and its objects are untouched.
    assert!(!revoke_writes.iter().any(|w| w.starts_with("DELETE /storage/v1/b/")), "{revoke_writes:?}");
    let policy = env.fake.with(|s| s.policy("project"));
    assert!(!policy.to_string().contains(VENDOR_SA));
    assert!(policy.to_string().contains("weekdays") && policy.to_string().contains("user:owner@example.com"));
    env.fake.with(|s| {
        assert!(s.accounts.is_empty());
        assert_eq!(s.roles[ROLE]["deleted"], true);
        assert_eq!(s.versions[KEY][0]["state"], "DESTROY_SCHEDULED");
        assert!(s.buckets.contains_key(BUCKET));
    });
    // Only what revoke deliberately leaves remains: no install is listed any more.
    assert!(env.gcp.discover(Some(ORG)).await.expect("discover").is_empty());
}

#[tokio::test]
async fn revoke_with_delete_data_empties_then_deletes_the_bucket() {
    let env = env().await;
    apply(&env).await.0.expect("init");
    let names = ["exports/2025-06-01/part 0.parquet", "exports/2025-06-01/part-1.parquet", "models/forecast.bin"];
    env.fake.with(|s| {
        let objects = names.iter().map(|n| json!({"name": n, "size": "1048576"})).collect();
        s.objects.insert(BUCKET.into(), objects);
    });
    let found = env.gcp.discover(Some(ORG)).await.expect("discover");
    let mut rplan = env.gcp.revoke_plan(&found[0]).await.expect("plan");
    let asked = cloudgrant::cloud::gcp::delete_data(&mut rplan);
    assert_eq!(asked.len(), 1);
    assert_eq!((asked[0].name.as_str(), asked[0].usage.as_str()), (BUCKET, "3 objects, 3.0 MiB"));
    let bucket = rplan.items().find(|i| i.id == "DataBucket").expect("bucket item");
    assert_eq!(bucket.outcome, RevokeOutcome::Deleted);
    assert!(rplan.warnings.iter().any(|w| w.contains("emptied and deleted") && w.contains("7 days")));

    let before = requests(&env.server).await.len();
    let (tx, mut rx) = mpsc::channel(4096);
    let residue = env.gcp.revoke(&rplan, &[], tx, CancellationToken::new()).await.expect("revoke");
    let updates = drain(&mut rx);
    assert!(matches!(updates.last(), Some(Update::Revoked { ok: true, .. })), "{:?}", updates.last());
    assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    let check = residue.checks.iter().find(|c| c.what == format!("bucket {BUCKET} is deleted")).expect("check");
    assert_eq!(check.detail, "buckets.get: 404");

    // Every object (both pages), then the bucket, after the vendor's access went.
    let calls: Vec<String> = requests(&env.server).await.into_iter().skip(before).map(|r| line(&r)).collect();
    let writes: Vec<&String> =
        calls.iter().filter(|c| !c.starts_with("GET ") && !c.contains(":getIamPolicy")).collect();
    let deletes: Vec<&str> = writes.iter().filter(|w| w.starts_with("DELETE /storage/")).map(|w| w.as_str()).collect();
    // The objects side by side (any order), the bucket last.
    let mut objects: Vec<&str> = deletes[..deletes.len() - 1].to_vec();
    objects.sort_unstable();
    assert_eq!(
        objects,
        [
            format!("DELETE /storage/v1/b/{BUCKET}/o/exports%2F2025-06-01%2Fpart%200.parquet"),
            format!("DELETE /storage/v1/b/{BUCKET}/o/exports%2F2025-06-01%2Fpart-1.parquet"),
            format!("DELETE /storage/v1/b/{BUCKET}/o/models%2Fforecast.bin"),
        ]
    );
    assert_eq!(deletes.last().copied(), Some(format!("DELETE /storage/v1/b/{BUCKET}").as_str()));
    // The bindings first (side by side), the vendor's project binding among them.
    let binding = |w: &&String| w.ends_with(":setIamPolicy") || (w.starts_with("PUT ") && w.ends_with("/iam"));
    assert!(writes[..4].iter().all(binding), "{writes:?}");
    assert!(writes[..4].iter().any(|w| w.as_str() == "POST /v3/projects/acme-prod-123:setIamPolicy"));
    let first_delete = writes.iter().position(|w| w.starts_with("DELETE /storage/")).expect("a delete");
    assert!(
        writes[..first_delete].iter().any(|w| w.contains(":destroy")),
        "the key went before the bucket: {writes:?}"
    );
    let last = calls.iter().rposition(|c| *c == format!("DELETE /storage/v1/b/{BUCKET}")).expect("bucket delete");
    assert!(calls[last..].contains(&format!("GET /storage/v1/b/{BUCKET}")), "verified after: {calls:?}");
    let listed = requests(&env.server).await.into_iter().skip(before).filter(|r| r.url.path().ends_with("/o")).count();
    assert!(listed >= 2, "the object listing follows nextPageToken");

    let ev: Vec<(String, Status, String)> = events(&updates).into_iter().filter(|e| e.0 == "DataBucket").collect();
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!((ev[0].1, ev[0].2.as_str()), (Status::DeleteInProgress, "emptying: 3 objects, 3.0 MiB"));
    assert_eq!(ev[1].1, Status::DeleteComplete);
    assert!(ev[1].2.starts_with("deleted; Google keeps deleted objects restorable") && ev[1].2.contains("7 days"));
    let item = residue.items.iter().find(|i| i.physical_id == BUCKET).expect("residue item");
    assert_eq!(item.state, "deleted");
    assert!(item.note.contains("7 days") && item.note.contains("gcloud storage restore"), "{}", item.note);
    env.fake.with(|s| {
        assert!(!s.buckets.contains_key(BUCKET));
        assert!(s.objects[BUCKET].is_empty());
    });
    assert!(env.gcp.discover(Some(ORG)).await.expect("discover").is_empty());
}

#[tokio::test]
async fn stale_etag_is_retried_without_dropping_foreign_bindings() {
    let env = env().await;
    env.fake.with(|s| {
        let mut f = Fault::new(
            "POST",
            ":setIamPolicy",
            409,
            google_error(409, "ABORTED", "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."),
        );
        // While cloudgrant writes, another admin adds a binding (new etag).
        f.then = Some(Box::new(|s| s.foreign_change("project", "roles/logging.viewer", "user:late@example.com")));
        s.faults.push(f);
    });
    let (inst, updates) = apply(&env).await;
    assert!(inst.expect("apply").is_complete());
    assert!(logs(&updates).iter().any(|l| l.contains("stale etag") && l.contains("(1/4)")), "{:?}", logs(&updates));
    let sets: Vec<Value> = requests(&env.server)
        .await
        .iter()
        .filter(|r| r.url.path() == "/v3/projects/acme-prod-123:setIamPolicy")
        .map(|r| r.body_json::<Value>().expect("json"))
        .collect();
    assert_eq!(sets.len(), 2, "one refused write, one retried");
    let retried = sets[1]["policy"].to_string();
    for m in ["user:owner@example.com", "group:auditors@example.com", "weekdays", "user:late@example.com", VENDOR_SA] {
        assert!(retried.contains(m), "{m} missing from the retried policy {retried}");
    }
    assert_ne!(sets[0]["policy"]["etag"], sets[1]["policy"]["etag"], "the retry carries the etag read again");
    assert_eq!(sets[1]["policy"]["version"], 3);
    let binding = events(&updates).into_iter().rfind(|e| e.0 == "VendorManagerBinding").expect("event");
    assert!(binding.2.contains("after 1 retries"), "{binding:?}");
}

#[tokio::test]
async fn disabled_api_error_names_the_api_and_the_command() {
    let env = env().await;
    env.fake.with(|s| {
        s.faults.push(Fault::new(
            "POST",
            "/v1/projects/acme-prod-123/roles",
            403,
            json!({"error": {"code": 403, "status": "PERMISSION_DENIED",
                "message": "Identity and Access Management (IAM) API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/iam.googleapis.com/overview?project=123456789012 then retry.",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED", "domain": "googleapis.com",
                    "metadata": {"service": "iam.googleapis.com", "consumer": "projects/123456789012"}}]}}),
        ))
    });
    let (r, updates) = apply(&env).await;
    let e = r.expect_err("must fail");
    assert!(e.to_string().contains("iam.googleapis.com") && e.to_string().contains("POST http://"), "{e}");
    assert!(
        e.next_step().contains("gcloud services enable iam.googleapis.com --project 123456789012"),
        "{}",
        e.next_step()
    );
    let failed = events(&updates).into_iter().find(|e| e.1 == Status::CreateFailed).expect("failed event");
    assert_eq!(failed.0, "ManagerRole");
    assert!(failed.2.contains("gcloud services enable iam.googleapis.com"), "{failed:?}");
    match updates.last() {
        Some(Update::Applied { ok: false, root_cause: Some(c), .. }) => {
            assert!(c.contains("SERVICE_DISABLED") || c.contains("not enabled"), "{c}")
        }
        other => panic!("wanted a failed Applied, got {other:?}"),
    }
}

#[tokio::test]
async fn permission_denied_names_the_permission_and_a_role() {
    let env = env().await;
    env.fake.with(|s| {
        s.faults.push(Fault::new(
            "POST",
            ":setIamPolicy",
            403,
            google_error(403, "PERMISSION_DENIED", "Policy update access denied."),
        ))
    });
    let e = apply(&env).await.0.expect_err("must fail");
    assert!(e.next_step().contains("resourcemanager.projects.setIamPolicy"), "{}", e.next_step());
    assert!(e.next_step().contains("roles/resourcemanager.projectIamAdmin"), "{}", e.next_step());
}

#[tokio::test]
async fn soft_deleted_role_is_undeleted_then_patched() {
    let env = env().await;
    env.fake.with(|s| {
        s.roles.insert(
            ROLE.into(),
            json!({"name": ROLE, "title": "old", "description": format!("managed-by=cloudgrant cloudgrant-install={INSTALL} | old"),
                "includedPermissions": ["compute.instances.get"], "stage": "GA", "etag": "BwOld", "deleted": true}),
        );
    });
    let (inst, updates) = apply(&env).await;
    assert!(inst.expect("apply").is_complete());
    let calls: Vec<String> = requests(&env.server).await.iter().map(line).filter(|l| l.contains("_manager")).collect();
    let undelete = calls.iter().position(|c| c == &format!("POST /v1/{ROLE}:undelete")).expect("undelete");
    let patch = calls.iter().position(|c| c == &format!("PATCH /v1/{ROLE}")).expect("patch");
    assert!(undelete < patch, "{calls:?}");
    assert!(!calls.contains(&"POST /v1/projects/acme-prod-123/roles".to_string()));
    env.fake.with(|s| {
        let role = &s.roles[ROLE];
        assert!(role.get("deleted").is_none(), "{role}");
        assert!(role["includedPermissions"].as_array().expect("list").len() > 10);
    });
    let ev: Vec<String> = events(&updates).into_iter().filter(|e| e.0 == "ManagerRole").map(|e| e.2).collect();
    assert!(ev.iter().any(|r| r.contains("restored")), "{ev:?}");
}

#[tokio::test]
async fn a_role_not_made_by_cloudgrant_is_refused_before_any_change() {
    let env = env().await;
    env.fake.with(|s| {
        s.roles.insert(ROLE.into(), json!({"name": ROLE, "title": "theirs", "description": "hand-made", "includedPermissions": ["compute.instances.get"], "stage": "GA", "etag": "x"}));
    });
    let e = apply(&env).await.0.expect_err("refused");
    assert!(
        e.to_string().contains("not made by cloudgrant") && e.next_step().contains("gcloud iam roles delete"),
        "{e}"
    );
    let writes: Vec<String> = requests(&env.server).await.iter().filter(|r| is_write(r)).map(line).collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn taken_bucket_name_fails_clearly_and_discover_finds_the_rest() {
    let env = env().await;
    env.fake.with(|s| {
        s.taken.insert(BUCKET.into());
    });
    let (r, updates) = apply(&env).await;
    let e = r.expect_err("bucket name taken");
    assert!(e.to_string().contains("taken by a bucket in another project"), "{e}");
    assert!(e.next_step().contains("acme-research-2"), "{}", e.next_step());
    let failed: Vec<_> = events(&updates).into_iter().filter(|e| e.1 == Status::CreateFailed).map(|e| e.0).collect();
    assert_eq!(failed, ["DataBucket", INSTALL]);
    // What was made before the failure is found from the project alone.
    let found = env.gcp.discover(None).await.expect("discover");
    assert_eq!(found.len(), 1);
    let g = &found[0].groups[0];
    assert_eq!(g.status, Status::CreateFailed);
    assert!(g.status_reason.as_deref().is_some_and(|r| r.contains("DataBucket")), "{:?}", g.status_reason);
    let ids: Vec<&str> = g.resources.iter().map(|r| r.id.as_str()).collect();
    for id in ["ManagerRole", "InstanceRole", "InstanceServiceAccount", "DataKeyRing", "DataKey"] {
        assert!(ids.contains(&id), "{id} not found: {ids:?}");
    }
    // The bindings come after the bucket: the vendor was granted nothing.
    assert!(!ids.iter().any(|id| id.ends_with("Binding")), "{ids:?}");
    // And revoke removes it.
    let rplan = env.gcp.revoke_plan(&found[0]).await.expect("plan");
    let (tx, _rx) = mpsc::channel(4096);
    let residue = env.gcp.revoke(&rplan, &[], tx, CancellationToken::new()).await.expect("revoke");
    assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    assert!(env.fake.with(|s| s.accounts.is_empty()));
}

#[tokio::test]
async fn throttled_calls_honour_retry_after() {
    let env = env().await;
    env.fake.with(|s| {
        let mut f = Fault::new(
            "GET",
            "/services",
            429,
            google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Read requests'."),
        );
        f.retry_after = Some(1);
        s.faults.push(f);
    });
    let started = Instant::now();
    let changes = env.gcp.preview_changes(&plan(&env.vendor)).await.expect("preview after a retry");
    assert_eq!(changes[0].kind, cloudgrant::model::ChangeKind::Create, "the survey got through after the 429");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was not honoured");
}

#[tokio::test]
async fn projects_search_follows_every_page() {
    let env = env().await;
    env.fake.with(|s| {
        s.project_pages = vec![
            vec![json!({"name": "projects/1", "projectId": "acme-prod-123", "displayName": "Acme prod", "state": "ACTIVE"})],
            vec![json!({"name": "projects/2", "projectId": "acme-dev-456", "displayName": "Acme dev", "state": "ACTIVE"})],
        ];
    });
    let projects = gcp::projects(&transport(&env.server)).await.expect("projects");
    let ids: Vec<&str> = projects.iter().map(|p| p.project_id.as_str()).collect();
    assert_eq!(ids, ["acme-prod-123", "acme-dev-456"]);
    let tokens: Vec<Option<String>> = requests(&env.server)
        .await
        .iter()
        .map(|r| r.url.query_pairs().find(|(k, _)| k == "pageToken").map(|(_, v)| v.into_owned()))
        .collect();
    assert_eq!(tokens, [None, Some("page1".to_string())]);
    assert_eq!(projects[1].account_choice().label, "acme-dev-456 (Acme dev)");
}

#[tokio::test]
async fn bucket_policy_conflict_is_412_and_retried() {
    let env = env().await;
    env.fake.with(|s| {
        let mut f = Fault::new(
            "PUT",
            "/iam",
            412,
            storage_error(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold."),
        );
        f.then = Some(Box::new(|s| {
            s.foreign_change(&format!("bucket:{BUCKET}"), "roles/storage.objectViewer", "group:readers@example.com")
        }));
        s.faults.push(f);
    });
    let (inst, _) = apply(&env).await;
    assert!(inst.expect("apply").is_complete());
    let policy = env.fake.with(|s| s.policy(&format!("bucket:{BUCKET}")));
    assert!(policy.to_string().contains("group:readers@example.com") && policy.to_string().contains(VM_SA), "{policy}");
}

#[tokio::test]
async fn cancelled_before_the_first_change_writes_nothing() {
    let env = env().await;
    let cancel = CancellationToken::new();
    cancel.cancel();
    let (tx, _rx) = mpsc::channel(4096);
    let r = env.gcp.apply(&plan(&env.vendor), tx, cancel).await;
    assert_eq!(r.expect_err("cancelled"), CloudError::Cancelled);
    let writes: Vec<String> = requests(&env.server).await.iter().filter(|r| is_write(r)).map(line).collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn init_again_after_revoke_says_how_to_restore_the_key_before_changing_anything() {
    let env = env().await;
    apply(&env).await.0.expect("first init");
    let found = env.gcp.discover(Some(ORG)).await.expect("discover");
    let rplan = env.gcp.revoke_plan(&found[0]).await.expect("plan");
    let (tx, _rx) = mpsc::channel(4096);
    env.gcp.revoke(&rplan, &[], tx, CancellationToken::new()).await.expect("revoke");
    // A preview names what comes back and what cannot.
    let changes = env.gcp.preview_changes(&plan(&env.vendor)).await.expect("preview");
    let note = changes[0].note.clone().unwrap_or_default();
    assert!(
        note.contains("ManagerRole: soft-deleted") && note.contains("DataKey: has no enabled primary version"),
        "{note}"
    );
    assert!(note.contains(&format!("reuses the kept bucket {BUCKET} with your data")), "{note}");
    let (r, updates) = apply(&env).await;
    let e = r.expect_err("the key has no usable version");
    assert!(
        e.next_step().contains(
            "gcloud kms keys versions restore 1 --key data --keyring acmeml-acme-research --location europe-west1 --project acme-prod-123"
        ),
        "{}",
        e.next_step()
    );
    // Refused before any change: the roles stay deleted until the key is usable again.
    assert!(events(&updates).is_empty(), "{updates:?}");
    assert!(env.fake.with(|s| s.roles.values().all(|r| r["deleted"] == true)));
    assert!(env.fake.with(|s| s.accounts.is_empty()));
}

#[tokio::test]
async fn user_project_header_goes_to_google_apis_but_not_to_storage() {
    let env = env().await;
    let t: SharedTransport = Arc::new(
        HttpTransport::new(Endpoints::all_at(&env.server.uri()), TokenSource::fixed(TOKEN))
            .with_user_project(Some("quota-proj".into())),
    );
    let gcp = Gcp::with_transport(t, PROJECT, "me@acme.example", "adc", &env.vendor, GcpOptions::default());
    let fresh = gcp.preview_changes(&plan(&env.vendor)).await.expect("preview");
    assert_eq!(fresh[0].kind, cloudgrant::model::ChangeKind::Create);
    for r in requests(&env.server).await {
        let header = r.headers.get("x-goog-user-project").and_then(|v| v.to_str().ok()).map(String::from);
        let want = if r.url.path().starts_with("/storage/") { None } else { Some("quota-proj".to_string()) };
        assert_eq!(header, want, "{}", line(&r));
    }
}
