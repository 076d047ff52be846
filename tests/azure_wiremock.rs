//! The Azure provider against a wiremock server that answers like ARM and Microsoft Graph (shapes
//! from docs/azure-calls.md: the REST references and the Python packages' models): init, re-run,
//! revoke with verification, and the failures a real subscription gives (a failed deployment,
//! an existing service principal, throttling, a foreign resource group, missing permissions,
//! taken names).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/azure_env.rs"]
mod azure_env;
#[path = "support/fake_azure.rs"]
mod fake_azure;

use std::time::{Duration, Instant};

use azure_env::*;
use cloudgrant::cloud::azure;
use cloudgrant::cloud::CloudError;
use cloudgrant::model::{ChangeKind, RevokeOutcome, Status, Update};
use fake_azure::{arm_error, Fault, TENANT};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wiremock::Request;

#[tokio::test]
async fn init_then_rerun_then_revoke_with_verification() {
    let env = env().await;
    let preview = env.azure.preview_changes(&plan(&env.vendor)).await.expect("preview");
    assert_eq!(preview.len(), 2, "{preview:?}");
    assert_eq!(preview[0].group, STORAGE, "storage first");
    assert!(preview.iter().all(|g| g.kind == ChangeKind::Create && !g.changes.is_empty()), "{preview:?}");

    // First run: everything is created.
    let (inst, updates) = apply(&env).await;
    let inst = inst.expect("apply");
    assert!(inst.is_complete(), "{inst:?}");
    assert_eq!(inst.account, SUB);
    assert_eq!(inst.region, LOCATION);
    let keys: Vec<&str> = inst.groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, ["storage", "main"]);
    let sp = env.fake.with(|s| s.principals.values().next().cloned()).expect("service principal made");
    let sp_id = sp["id"].as_str().unwrap().to_string();
    assert_eq!(inst.outputs["ServicePrincipalObjectId"], sp_id);
    assert_eq!(inst.outputs["VaultName"], VAULT);
    assert_eq!(inst.outputs["DataAccount"], DATA);
    assert_eq!(inst.outputs["RegistryName"], "acmemlregk3x9q2ab");
    assert_eq!(inst.outputs["ResourceGroup"], MAIN);
    assert_eq!(inst.outputs["TenantId"], TENANT);
    assert!(inst.outputs.contains_key("IdentityClientId") && inst.outputs.contains_key("IdentityId"));
    let for_vendor = inst.for_vendor(&plan(&env.vendor).send_to_vendor);
    assert_eq!(for_vendor.len(), 7, "{for_vendor:?}");
    assert!(for_vendor.contains(&("SubscriptionId".into(), Some(SUB.to_string()))), "{for_vendor:?}");
    assert!(for_vendor.contains(&("TenantId".into(), Some(TENANT.to_string()))), "{for_vendor:?}");
    assert!(for_vendor.iter().all(|(_, v)| v.is_some()), "{for_vendor:?}");
    let main = inst.group("main").expect("main group");
    assert_eq!(main.parameters["suffix"], SUFFIX);
    assert!(main.resources.iter().any(|r| r.id == "Vault"), "{:?}", main.resources);
    assert!(main.resources.iter().any(|r| r.id == "VendorServicePrincipal"));

    // One event per operation state, named by the template's logical id; storage before main.
    let ev = events(&updates);
    for id in ["StorageGroup", "DataAccount", "VendorGroup", "Vault", "Registry", "MachinesIdentity", "Network"] {
        assert_eq!(statuses(&updates, id), [Status::CreateInProgress, Status::CreateComplete], "{id}: {ev:#?}");
    }
    assert_eq!(statuses(&updates, "VendorServicePrincipal"), [Status::CreateInProgress, Status::CreateComplete]);
    assert_eq!(statuses(&updates, STORAGE), [Status::CreateInProgress, Status::CreateComplete]);
    assert_eq!(statuses(&updates, MAIN), [Status::CreateInProgress, Status::CreateComplete]);
    let pos = |r: &str, st: Status| ev.iter().position(|e| e.1 == r && e.2 == st).unwrap();
    // The main stack is PUT once the storage stack's operation said Succeeded: after its last
    // poll (the storage stack's last read may run beside the main PUT).
    let all = requests(&env.server).await;
    let at =
        |f: &dyn Fn(&Request) -> bool| all.iter().enumerate().filter(|(_, r)| f(r)).map(|(i, _)| i).collect::<Vec<_>>();
    let storage_op = all
        .iter()
        .find(|r| r.url.path().contains("/deploymentStackOperationStatus/"))
        .map(|r| r.url.path().to_string())
        .expect("the storage stack's operation was polled");
    let storage_polls = at(&|r| r.url.path() == storage_op);
    let main_put = at(&|r| r.method.as_str() == "PUT" && r.url.path().ends_with(MAIN));
    assert!(storage_polls.last() < main_put.first(), "{storage_polls:?} {main_put:?}");
    assert!(pos(STORAGE, Status::CreateComplete) > pos(STORAGE, Status::CreateInProgress));
    assert!(pos("DataAccount", Status::CreateComplete) < pos("Vault", Status::CreateInProgress));
    // Nested deployments' operations were followed: the data account lives in one.
    assert!(ev.iter().any(|e| e.1 == "DataContainer"), "{ev:#?}");
    assert!(matches!(updates.last(), Some(Update::Applied { ok: true, .. })));
    assert!(env.fake.with(|s| s.async_polls) > 10, "the operations list grew over many polls");

    // What was sent: the storage stack first, then main with the principal; exactly the templates.
    let all = requests(&env.server).await;
    assert!(all
        .iter()
        .all(|r| r.headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer test-token")));
    let puts: Vec<&Request> = all.iter().filter(|r| r.method.as_str() == "PUT").collect();
    assert_eq!(puts.len(), 2);
    assert!(puts[0].url.path().ends_with(STORAGE) && puts[1].url.path().ends_with(MAIN));
    assert_eq!(puts[0].url.query_pairs().find(|(k, _)| k == "api-version").unwrap().1, "2025-07-01");
    let storage_body: Value = puts[0].body_json().unwrap();
    assert_eq!(storage_body["properties"]["actionOnUnmanage"]["resources"], "detach");
    assert_eq!(storage_body["tags"]["cloudgrant-stack"], "storage");
    let main_body: Value = puts[1].body_json().unwrap();
    assert_eq!(main_body["properties"]["actionOnUnmanage"]["resources"], "delete");
    assert_eq!(main_body["properties"]["parameters"]["vendorPrincipalId"]["value"], sp_id);
    let template: Value = serde_json::from_str(&std::fs::read_to_string("assets/azure/main.json").unwrap()).unwrap();
    assert_eq!(main_body["properties"]["template"], template, "the template is sent as is");

    // Re-run: the same stacks are PUT again (200: updated in place), nothing duplicated.
    let preview = env.azure.preview_changes(&plan(&env.vendor)).await.expect("preview");
    assert!(preview.iter().all(|g| g.kind == ChangeKind::Update), "{preview:?}");
    let before = requests(&env.server).await.len();
    let (again, updates) = apply(&env).await;
    let again = again.expect("re-run");
    assert!(again.is_complete());
    assert_eq!(again.outputs["ServicePrincipalObjectId"], sp_id);
    let later = requests(&env.server).await;
    let new: Vec<&Request> = later[before..].iter().collect();
    assert!(!new.iter().any(|r| r.method.as_str() == "POST" && r.url.path() == "/v1.0/servicePrincipals"));
    assert_eq!(new.iter().filter(|r| r.method.as_str() == "PUT").count(), 2);
    assert!(logs(&updates).iter().any(|l| l.contains("answered 200")), "{:?}", logs(&updates));
    assert_eq!(statuses(&updates, "Vault"), [Status::UpdateInProgress, Status::UpdateComplete]);
    assert_eq!(statuses(&updates, MAIN), [Status::UpdateInProgress, Status::UpdateComplete]);
    env.fake.with(|s| {
        assert_eq!(s.stacks.len(), 2);
        assert_eq!(s.principals.len(), 1);
        assert_eq!(s.assignments_of(&sp_id).len(), 1);
    });

    // Found again from the subscription alone.
    let found = env.azure.discover(Some(ORG)).await.expect("discover");
    assert_eq!(found.len(), 1);
    let found = &found[0];
    assert!(found.is_complete());
    assert_eq!(found.outputs["ServicePrincipalObjectId"], sp_id);
    assert_eq!(found.outputs["DataAccount"], DATA);
    assert!(env.azure.discover(Some("other-org")).await.unwrap().is_empty());

    // The revoke plan: access first, the vault soft-deleted, the data and the principal kept.
    let rplan = env.azure.revoke_plan(found).await.expect("revoke plan");
    assert_eq!(rplan.groups[0].name, MAIN, "main goes first");
    let first = &rplan.groups[0].resources[0];
    assert_eq!(first.type_, "Microsoft.Authorization/roleAssignments", "{:?}", rplan.groups[0].resources);
    let item = |id: &str| rplan.items().find(|i| i.id == id).unwrap_or_else(|| panic!("{id}: {rplan:#?}")).clone();
    match item("Vault").outcome {
        RevokeOutcome::SoftDeleted { until, note } => {
            assert_eq!(until, Some(chrono::Utc::now().date_naive() + chrono::Duration::days(7)));
            assert!(note.contains("az keyvault purge --name acmeml-kv-k3x9q2ab"), "{note}");
        }
        other => panic!("vault: {other:?}"),
    }
    match item("DataAccount").outcome {
        RevokeOutcome::Kept { reason } => assert!(reason.contains(DATA) && reason.contains("detaches"), "{reason}"),
        other => panic!("data account: {other:?}"),
    }
    assert!(matches!(item("VendorServicePrincipal").outcome, RevokeOutcome::Kept { .. }));
    assert!(matches!(item("Registry").outcome, RevokeOutcome::Deleted));
    assert!(rplan.warnings.iter().any(|w| w.contains(DATA)), "{:?}", rplan.warnings);

    let before = requests(&env.server).await.len();
    let (tx, mut rx) = mpsc::channel(8192);
    let residue = env.azure.revoke(&rplan, &[], tx, CancellationToken::new()).await.expect("revoke");
    let updates = drain(&mut rx);
    assert!(matches!(updates.last(), Some(Update::Revoked { ok: true, .. })), "{:#?}", updates.last());
    let later = requests(&env.server).await;
    let deletes: Vec<&Request> = later[before..].iter().filter(|r| r.method.as_str() == "DELETE").collect();
    assert_eq!(deletes.len(), 2, "main and storage stacks; the principal is kept");
    let q = |r: &Request, k: &str| r.url.query_pairs().find(|(x, _)| x == k).map(|(_, v)| v.into_owned());
    assert!(deletes[0].url.path().ends_with(MAIN));
    assert_eq!(q(deletes[0], "unmanageAction.Resources").as_deref(), Some("delete"));
    assert_eq!(q(deletes[0], "unmanageAction.ResourceGroups").as_deref(), Some("delete"));
    assert!(deletes[1].url.path().ends_with(STORAGE));
    assert_eq!(q(deletes[1], "unmanageAction.Resources").as_deref(), Some("detach"));
    // The role assignment check was made with the principal's filter.
    assert!(later[before..].iter().any(|r| r.url.path().ends_with("/roleAssignments")
        && q(r, "$filter").as_deref() == Some(&format!("principalId eq '{sp_id}'"))));
    assert!(residue.checks.iter().all(|c| c.ok), "{:#?}", residue.checks);
    assert!(residue.checks.iter().any(|c| c.what.contains("holds no role assignment")));
    let vault = residue.items.iter().find(|i| i.physical_id == VAULT).expect("vault in residue");
    assert_eq!(vault.state, "soft_deleted");
    assert!(vault.note.contains("2026-01-09"), "{}", vault.note);
    assert!(residue.items.iter().any(|i| i.physical_id == DATA && i.state == "kept"));
    assert!(residue.items.iter().any(|i| i.physical_id == sp_id && i.state == "kept"));
    assert_eq!(statuses(&updates, "VendorServicePrincipal"), [Status::DeleteSkipped]);
    assert_eq!(statuses(&updates, "Vault"), [Status::DeleteInProgress, Status::DeleteComplete]);
    env.fake.with(|s| {
        assert!(s.stacks.is_empty());
        assert!(s.assignments.is_empty());
        assert!(s.accounts.contains_key(DATA), "the data account stays");
        assert!(s.deleted_vaults.contains_key(VAULT));
        assert!(s.groups.contains_key(STORAGE) && !s.groups.contains_key(MAIN));
    });
    // What remains is the kept data account, found from the subscription: a re-install re-attaches it.
    let left = env.azure.discover(Some(ORG)).await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].groups.is_empty(), "no stack of the install stands");
    assert_eq!(
        left[0].leftovers.iter().map(|l| (l.physical_id.as_str(), l.state.as_str())).collect::<Vec<_>>(),
        [(DATA, "kept")]
    );
}

#[tokio::test]
async fn failed_deployment_names_the_root_cause_and_revoke_still_finds_it() {
    let env = env().await;
    env.fake.with(|s| {
        s.fail_on.insert(
            VAULT.into(),
            json!({"code": "VaultAlreadyExists", "message": "The vault name 'acmeml-kv-k3x9q2ab' is already in use. Vault names are globally unique."}),
        );
    });
    let (r, updates) = apply(&env).await;
    let e = r.expect_err("the main stack fails");
    let text = e.to_string();
    assert!(text.contains("Vault") && text.contains("VaultAlreadyExists"), "{text}");
    assert!(e.next_step().contains("az keyvault purge"), "{}", e.next_step());
    assert!(statuses(&updates, "Vault").contains(&Status::CreateFailed), "{:#?}", events(&updates));
    assert_eq!(statuses(&updates, MAIN), [Status::CreateInProgress, Status::CreateFailed]);
    assert_eq!(statuses(&updates, STORAGE), [Status::CreateInProgress, Status::CreateComplete]);
    let Some(Update::Applied { installation, ok: false, root_cause: Some(cause) }) = updates.last() else {
        panic!("{:?}", updates.last())
    };
    assert!(!installation.is_complete());
    assert!(cause.contains("VaultAlreadyExists"));
    let main = installation.group("main").expect("the failed stack is part of the install");
    assert_eq!(main.status, Status::CreateFailed);

    // Revoke finds what was made and removes it.
    let found = env.azure.discover(Some(ORG)).await.expect("discover");
    assert_eq!(found.len(), 1);
    assert!(!found[0].is_complete());
    assert!(found[0]
        .group("main")
        .unwrap()
        .status_reason
        .as_deref()
        .unwrap_or_default()
        .contains("VaultAlreadyExists"));
    let rplan = env.azure.revoke_plan(&found[0]).await.expect("revoke plan");
    let (tx, _rx) = mpsc::channel(8192);
    let residue = env.azure.revoke(&rplan, &[], tx, CancellationToken::new()).await.expect("revoke");
    assert!(residue.checks.iter().all(|c| c.ok), "{:#?}", residue.checks);
    env.fake.with(|s| {
        assert!(s.stacks.is_empty());
        assert!(s.assignments.is_empty());
    });
}

#[tokio::test]
async fn an_existing_service_principal_is_reused_after_409() {
    let env = env().await;
    let existing = json!({"id": "9d0c0000-0000-4000-8000-000000000042", "appId": env.vendor.azure.app_id, "displayName": "AcmeML"});
    env.fake.with(|s| {
        s.principals.insert(env.vendor.azure.app_id.clone(), existing.clone());
        // Made by someone else between the GET and the POST.
        s.hide_principal = 1;
    });
    let (r, updates) = apply(&env).await;
    let inst = r.expect("apply");
    assert_eq!(inst.outputs["ServicePrincipalObjectId"], "9d0c0000-0000-4000-8000-000000000042");
    let sp = events(&updates).into_iter().rfind(|e| e.1 == "VendorServicePrincipal").unwrap();
    assert_eq!(sp.2, Status::CreateComplete);
    assert!(sp.3.contains("reused"), "{}", sp.3);
    assert_eq!(env.fake.with(|s| s.principals.len()), 1);
    let all = requests(&env.server).await;
    assert!(all.iter().any(|r| r.method.as_str() == "POST" && r.url.path() == "/v1.0/servicePrincipals"));
}

#[tokio::test]
async fn throttling_is_retried_honouring_retry_after() {
    let env = env().await;
    env.fake.with(|s| {
        let mut f = Fault::new("PUT", STORAGE, 429, arm_error("TooManyRequests", "Rate limit exceeded."));
        f.retry_after = Some(1);
        s.faults.push(f);
    });
    let started = Instant::now();
    let (r, updates) = apply(&env).await;
    r.expect("apply after the retry");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    assert!(
        logs(&updates).iter().any(|l| l.contains("429") && l.contains("retrying in 1000 ms")),
        "{:?}",
        logs(&updates)
    );
}

#[tokio::test]
async fn subscriptions_follow_next_link() {
    let env = env().await;
    let subs = azure::subscriptions(&transport(&env.server)).await.expect("subscriptions");
    let ids: Vec<&str> = subs.iter().map(|s| s.subscription_id.as_str()).collect();
    assert_eq!(ids, [SUB, "11111111-2222-3333-4444-555555555555"]);
    assert_eq!(subs[0].tenant_id, TENANT);
    assert_eq!(subs[0].account_choice().label, format!("Acme production ({SUB})"));
}

#[tokio::test]
async fn a_foreign_resource_group_is_refused_before_any_change() {
    let env = env().await;
    env.fake.with(|s| {
        s.groups.insert(MAIN.into(), json!({"id": format!("/subscriptions/{SUB}/resourceGroups/{MAIN}"), "name": MAIN, "location": LOCATION, "tags": {"owner": "data-team"}}));
    });
    let (r, _) = apply(&env).await;
    assert_eq!(r.expect_err("refused"), CloudError::NotOurs { name: MAIN.into() });
    assert!(changes(&env).is_empty(), "{:?}", changes(&env));
}

#[tokio::test]
async fn missing_role_assignment_permission_names_user_access_administrator() {
    let env = env().await;
    env.fake.with(|s| {
        s.contributor_only();
        // Azure makes this group in most subscriptions; the permissions read there are the
        // subscription's, inherited.
        s.groups.insert("NetworkWatcherRG".into(), json!({"id": format!("/subscriptions/{SUB}/resourceGroups/NetworkWatcherRG"), "name": "NetworkWatcherRG", "location": LOCATION, "tags": {}}));
    });
    let (r, _) = apply(&env).await;
    let e = r.expect_err("refused");
    assert!(e.to_string().contains("Microsoft.Authorization/roleAssignments/write"), "{e}");
    assert!(e.to_string().contains("nothing was created") && e.to_string().contains("NetworkWatcherRG"), "{e}");
    assert!(e.next_step().contains("User Access Administrator"), "{}", e.next_step());
    assert!(changes(&env).is_empty(), "{:?}", changes(&env));
    assert_eq!(env.fake.with(|s| s.permission_reads.clone()), ["NetworkWatcherRG"]);
}

#[tokio::test]
async fn taken_names_and_soft_deleted_vaults_are_refused_before_any_change() {
    let env = env().await;
    env.fake.with(|s| {
        s.taken.insert(DATA.into());
    });
    let (r, _) = apply(&env).await;
    let e = r.expect_err("refused");
    assert!(e.to_string().contains(DATA) && e.to_string().contains("not available"), "{e}");
    assert!(e.next_step().contains("new random name suffix"));
    env.fake.with(|s| {
        s.taken.clear();
        s.deleted_vaults.insert(VAULT.into(), json!({"name": VAULT, "properties": {"scheduledPurgeDate": "2026-02-01T00:00:00Z", "purgeProtectionEnabled": false}}));
    });
    let (r, _) = apply(&env).await;
    let e = r.expect_err("refused");
    assert!(e.to_string().contains("soft-deleted Key Vault") && e.to_string().contains("2026-02-01"), "{e}");
    assert!(
        e.next_step().contains(&format!("az keyvault purge --name {VAULT} --location {LOCATION}")),
        "{}",
        e.next_step()
    );
    assert!(changes(&env).is_empty(), "{:?}", changes(&env));
}

#[tokio::test]
async fn cancel_stops_polling_and_says_what_still_runs() {
    let env = env().await;
    let (tx, mut rx) = mpsc::channel(8192);
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let fake = env.fake.clone();
    tokio::spawn(async move {
        // Cancel once the storage stack is being followed.
        loop {
            if fake.with(|s| s.async_polls) >= 2 {
                c.cancel();
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let r = env.azure.apply(&plan(&env.vendor), tx, cancel).await;
    assert_eq!(r.expect_err("cancelled"), CloudError::Cancelled);
    let updates = drain(&mut rx);
    assert!(
        logs(&updates).iter().any(|l| l.contains(STORAGE) && l.contains("still") && l.contains("carries on")),
        "{:?}",
        logs(&updates)
    );
    assert_eq!(env.fake.with(|s| s.stacks.len()), 1, "main was never started");
}
