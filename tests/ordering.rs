//! The order of the writes that must be ordered, now that independent calls overlap, and the
//! reads that must not repeat: on the wiremock doubles of tests/support, in the order the
//! requests reached the server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/azure_env.rs"]
mod azure_env;
#[path = "support/fake_azure.rs"]
mod fake_azure;
#[path = "support/fake_google.rs"]
mod fake_google;
#[path = "support/gcp_env.rs"]
mod gcp_env;

use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wiremock::Request;

fn path(r: &Request) -> String {
    r.url.path().to_string()
}

/// A policy write of GCP (project, service account, key: `:setIamPolicy`; bucket: `PUT …/iam`).
fn gcp_policy_write(r: &Request) -> bool {
    path(r).ends_with(":setIamPolicy") || (r.method.as_str() == "PUT" && path(r).ends_with("/iam"))
}

/// A policy read of GCP, by the policy's resource.
fn gcp_policy_read(r: &Request) -> Option<String> {
    let p = path(r);
    if let Some(x) = p.strip_suffix(":getIamPolicy") {
        return Some(x.to_string());
    }
    (r.method.as_str() == "GET" && p.ends_with("/iam")).then(|| p.trim_end_matches("/iam").to_string())
}

fn count_reads(requests: &[Request]) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for r in requests {
        if let Some(p) = gcp_policy_read(r) {
            *out.entry(p).or_insert(0) += 1;
        }
    }
    out
}

#[tokio::test]
async fn gcp_revoke_removes_every_binding_before_any_other_write_and_reads_each_policy_twice() {
    use gcp_env::*;
    let env = env().await;
    let (inst, _) = apply(&env).await;
    let inst = inst.expect("init");
    let plan = env.gcp.revoke_plan(&inst).await.expect("plan");
    let before = requests(&env.server).await.len();
    let (tx, mut rx) = mpsc::channel(4096);
    let residue = env.gcp.revoke(&plan, &[], tx, CancellationToken::new()).await.expect("revoke");
    drain(&mut rx);
    assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    let sent: Vec<Request> = requests(&env.server).await.into_iter().skip(before).collect();
    let writes: Vec<&Request> = sent.iter().filter(|r| is_write(r)).collect();
    let lines: Vec<String> = writes.iter().map(|r| line(r)).collect();
    // The four bindings, one per policy, are the first four writes; nothing else comes before
    // the last of them.
    assert!(writes.len() > 4, "{lines:?}");
    assert!(writes[..4].iter().all(|r| gcp_policy_write(r)), "{lines:?}");
    assert!(writes[4..].iter().all(|r| !gcp_policy_write(r)), "{lines:?}");
    let targets: std::collections::BTreeSet<String> = writes[..4].iter().map(|r| path(r)).collect();
    assert_eq!(targets.len(), 4, "one write per policy: {lines:?}");
    assert!(lines.contains(&"POST /v3/projects/acme-prod-123:setIamPolicy".to_string()), "{lines:?}");
    // Each policy read once to remove the binding and once to verify, not more.
    let reads = count_reads(&sent);
    assert_eq!(reads.get("/v3/projects/acme-prod-123"), Some(&2), "{reads:?}");
    assert!(reads.values().all(|n| *n <= 2), "{reads:?}");
}

#[tokio::test]
async fn gcp_init_reads_each_policy_once_and_reuses_the_surveys_read_of_the_project() {
    use gcp_env::*;
    let env = env().await;
    let (inst, _) = apply(&env).await;
    inst.expect("init");
    let sent = requests(&env.server).await;
    let reads = count_reads(&sent);
    // The project's policy: read by the survey only, its etag checked by the write.
    assert_eq!(reads.get("/v3/projects/acme-prod-123"), Some(&1), "{reads:?}");
    // The new resources' policies: read once each, right before their one write.
    assert_eq!(reads.len(), 4, "{reads:?}");
    assert!(reads.values().all(|n| *n == 1), "{reads:?}");
    assert_eq!(sent.iter().filter(|r| gcp_policy_write(r)).count(), 4);
    // A re-run reads every policy once (the survey) and writes none.
    let before = sent.len();
    let (again, _) = apply(&env).await;
    again.expect("re-run");
    let rerun: Vec<Request> = requests(&env.server).await.into_iter().skip(before).collect();
    let reads = count_reads(&rerun);
    assert_eq!(reads.len(), 4, "{reads:?}");
    assert!(reads.values().all(|n| *n == 1), "{reads:?}");
    assert!(!rerun.iter().any(is_write), "{:?}", rerun.iter().map(line).collect::<Vec<_>>());
}

#[tokio::test]
async fn gcp_a_stale_etag_on_the_surveys_policy_is_read_again_and_kept() {
    use gcp_env::*;
    let env = env().await;
    // Someone changes the project policy after the survey read it: the write with the survey's
    // etag is refused (409 ABORTED), the policy is read again and the foreign binding kept.
    env.fake.with(|s| {
        s.faults.push(fake_google::Fault {
            then: Some(Box::new(|s: &mut fake_google::State| {
                s.foreign_change("project", "roles/browser", "user:late@example.com")
            })),
            ..fake_google::Fault::new(
                "POST",
                ":setIamPolicy",
                409,
                fake_google::google_error(409, "ABORTED", "There were concurrent policy changes."),
            )
        })
    });
    let (inst, _) = apply(&env).await;
    inst.expect("init");
    let policy = env.fake.with(|s| s.policy("project")).to_string();
    assert!(policy.contains("user:late@example.com") && policy.contains(VENDOR_SA), "{policy}");
}

#[tokio::test]
async fn gcp_every_refusal_comes_before_the_first_write() {
    use gcp_env::*;
    let env = env().await;
    // A service account of the install's name that cloudgrant did not make.
    env.fake.with(|s| {
        s.accounts.insert(
            VM_SA.into(),
            json!({"name": format!("projects/{PROJECT}/serviceAccounts/{VM_SA}"), "email": VM_SA, "description": "made by hand"}),
        );
    });
    let (r, _) = apply(&env).await;
    assert!(r.is_err());
    let sent = requests(&env.server).await;
    assert!(!sent.iter().any(is_write), "{:?}", sent.iter().map(line).collect::<Vec<_>>());
}

#[tokio::test]
async fn azure_revoke_deletes_the_main_stack_before_anything_else_and_reads_each_stack_once() {
    use azure_env::*;
    let env = env().await;
    let (inst, _) = apply(&env).await;
    let inst = inst.expect("init");
    let mut plan = env.azure.revoke_plan(&inst).await.expect("plan");
    cloudgrant::cloud::azure::delete_service_principal(&mut plan);
    let before = requests(&env.server).await.len();
    let (tx, mut rx) = mpsc::channel(8192);
    let residue = env.azure.revoke(&plan, &[], tx, CancellationToken::new()).await.expect("revoke");
    drain(&mut rx);
    assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    let sent: Vec<Request> = requests(&env.server).await.into_iter().skip(before).collect();
    let writes: Vec<String> = sent
        .iter()
        .filter(|r| r.method.as_str() != "GET" && !path(r).ends_with("checkNameAvailability"))
        .map(|r| format!("{} {}", r.method, path(r)))
        .collect();
    assert_eq!(writes.len(), 3, "{writes:?}");
    assert!(writes[0].starts_with("DELETE") && writes[0].ends_with(&format!("/deploymentStacks/{MAIN}")), "{writes:?}");
    assert!(writes[1..].iter().any(|w| w.ends_with(&format!("/deploymentStacks/{STORAGE}"))), "{writes:?}");
    assert!(writes[1..].iter().any(|w| w.contains("/servicePrincipals/")), "{writes:?}");
    // Each stack is read once, right before its deletion: the polls ask the operation, and a
    // deletion whose operation said Succeeded is gone, not read again to verify.
    for stack in [MAIN, STORAGE] {
        let reads = sent
            .iter()
            .filter(|r| r.method.as_str() == "GET" && path(r).ends_with(&format!("/deploymentStacks/{stack}")))
            .count();
        assert_eq!(reads, 1, "{stack}: {reads} reads");
        let check =
            residue.checks.iter().find(|c| c.what.contains(&format!("stack {stack} is gone"))).expect("checked");
        assert!(check.ok && check.detail.contains("Succeeded"), "{check:?}");
    }
}

#[tokio::test]
async fn azure_polls_wait_as_long_as_arm_asks_with_retry_after() {
    use azure_env::*;
    let env = env().await;
    // The storage stack's first poll answers InProgress with `Retry-After: 1` (as ARM's async
    // operations do): the next poll waits that second, not the 10 ms poll interval.
    env.fake.with(|s| {
        s.faults.push(fake_azure::Fault {
            retry_after: Some(1),
            ..fake_azure::Fault::new(
                "GET",
                "/deploymentStackOperationStatus/",
                200,
                json!({"id": "op1", "name": "op1", "status": "InProgress", "startTime": "2026-01-01T10:00:00Z"}),
            )
        })
    });
    let started = std::time::Instant::now();
    let (inst, _) = apply(&env).await;
    inst.expect("init");
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "{:?}", started.elapsed());
}

#[tokio::test]
async fn azure_init_reads_each_stack_twice_and_makes_the_service_principal_beside_the_storage_stack() {
    use azure_env::*;
    let env = env().await;
    let (inst, updates) = apply(&env).await;
    inst.expect("init");
    let sent = requests(&env.server).await;
    for stack in [MAIN, STORAGE] {
        // The survey's read and the settled stack's: the polls ask the async operation.
        let reads = sent
            .iter()
            .filter(|r| r.method.as_str() == "GET" && path(r).ends_with(&format!("/deploymentStacks/{stack}")))
            .count();
        assert_eq!(reads, 2, "{stack}");
    }
    // The service principal's POST went out before the storage stack settled (beside it).
    let at = |f: &dyn Fn(&Request) -> bool| sent.iter().position(f).expect("sent");
    let sp = at(&|r| r.method.as_str() == "POST" && path(r).ends_with("/servicePrincipals"));
    let storage_put = at(&|r| r.method.as_str() == "PUT" && path(r).ends_with(&format!("/deploymentStacks/{STORAGE}")));
    let main_put = at(&|r| r.method.as_str() == "PUT" && path(r).ends_with(&format!("/deploymentStacks/{MAIN}")));
    assert!(sp < main_put && storage_put < main_put);
    // Every resource still gets its start and its end.
    assert_eq!(
        statuses(&updates, "Vault"),
        [cloudgrant::model::Status::CreateInProgress, cloudgrant::model::Status::CreateComplete]
    );
}

#[tokio::test]
async fn azure_a_nested_deployment_that_finished_is_listed_once_more_and_not_again() {
    use azure_env::*;
    let env = env().await;
    let (inst, _) = apply(&env).await;
    inst.expect("init");
    let sent = requests(&env.server).await;
    let mut lists: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for r in &sent {
        let p = r.url.path();
        if let Some(dep) = p.strip_suffix("/operations").filter(|d| d.contains("/resourceGroups/")) {
            *lists.entry(dep.rsplit('/').next().unwrap_or_default().to_string()).or_insert(0) += 1;
        }
    }
    // The templates' nested deployments (data-storage, vendor-access, data-access) are listed
    // while they run; once finished, the parent's list names them on every poll until the stack
    // is done, yet each is listed at most twice more: beside the parent's list that first says
    // it finished, and once after it, for its last states.
    assert_eq!(lists.len(), 3, "{lists:?}");
    let after = env.fake.with(|s| s.listed_finished.clone());
    assert!(after.values().all(|n| *n <= 2), "listed after finishing: {after:?}; listed: {lists:?}");
    assert!(!after.is_empty(), "each final state is read: {lists:?}");
}
