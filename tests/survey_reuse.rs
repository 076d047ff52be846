//! The preview's survey serves the apply that follows it (src/cloud/fresh.rs): on the wiremock
//! doubles of tests/support, what that apply no longer reads, and what it still checks at write
//! time so that nothing it was not shown is touched: a name taken between the preview and the
//! apply is refused, an update made on a stale read is refused, and a plan other than the one
//! previewed is surveyed afresh.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/azure_env.rs"]
mod azure_env;
#[path = "support/fake_azure.rs"]
mod fake_azure;
#[path = "support/fake_google.rs"]
mod fake_google;
#[path = "support/gcp_env.rs"]
mod gcp_env;

use cloudgrant::cloud::CloudError;
use cloudgrant::model::{Installation, Plan, Update};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wiremock::Request;

const REUSED: &str = "using what the preview read";

async fn gcp_apply(env: &gcp_env::Env, plan: &Plan) -> (Result<Installation, CloudError>, Vec<Update>) {
    let (tx, mut rx) = mpsc::channel(4096);
    let r = env.gcp.apply(plan, tx, CancellationToken::new()).await;
    (r, gcp_env::drain(&mut rx))
}

async fn azure_apply(env: &azure_env::Env, plan: &Plan) -> (Result<Installation, CloudError>, Vec<Update>) {
    let (tx, mut rx) = mpsc::channel(8192);
    let r = env.azure.apply(plan, tx, CancellationToken::new()).await;
    (r, azure_env::drain(&mut rx))
}

/// The requests after the first `skip`.
async fn sent_after(server: &wiremock::MockServer, skip: usize) -> Vec<Request> {
    server.received_requests().await.expect("recording is on").into_iter().skip(skip).collect()
}

#[tokio::test]
async fn gcp_an_apply_right_after_its_preview_reads_nothing_the_preview_read() {
    use gcp_env::*;
    // An apply on its own: it surveys first (every read before its first write).
    let alone = env().await;
    apply(&alone).await.0.expect("init");
    let alone_sent = requests(&alone.server).await;
    let survey: Vec<String> = alone_sent.iter().take_while(|r| !is_write(r)).map(line).collect();
    assert!(survey.len() >= 8, "{survey:?}");

    let env = env().await;
    let plan = plan(&env.vendor);
    env.gcp.preview_changes(&plan).await.expect("preview");
    let previewed = requests(&env.server).await.len();
    assert_eq!(previewed, survey.len(), "the preview reads what the apply's survey reads");
    let (r, updates) = gcp_apply(&env, &plan).await;
    r.expect("apply");
    let sent = sent_after(&env.server, previewed).await;
    let lines: Vec<String> = sent.iter().map(line).collect();
    // Its first call is its first write, and it sends exactly the survey's reads fewer.
    assert!(is_write(&sent[0]), "{lines:?}");
    assert_eq!(sent.len() + survey.len(), alone_sent.len(), "{lines:?}");
    assert!(logs(&updates).iter().any(|l| l.contains(REUSED)), "{:?}", logs(&updates));
    // The install is whole all the same.
    let found = env.gcp.discover(Some(ORG)).await.expect("discover");
    assert_eq!(found.len(), 1);
    assert!(found[0].health.sentence().contains("complete"), "{}", found[0].health.sentence());
}

#[tokio::test]
async fn gcp_a_service_account_made_by_someone_else_after_the_preview_is_refused_at_its_create() {
    use gcp_env::*;
    let env = env().await;
    let plan = plan(&env.vendor);
    env.gcp.preview_changes(&plan).await.expect("preview");
    // Between the preview and the apply, someone makes a service account of the install's name.
    let foreign = json!({"name": format!("projects/{PROJECT}/serviceAccounts/{VM_SA}"), "projectId": PROJECT,
        "uniqueId": "109876543210987654321", "email": VM_SA, "displayName": "batch jobs",
        "description": "the data team's batch runner", "etag": "MDEwMjE5MjA=", "oauth2ClientId": "2"});
    env.fake.with(|s| s.accounts.insert(VM_SA.into(), foreign.clone()));
    let previewed = requests(&env.server).await.len();
    let (r, updates) = gcp_apply(&env, &plan).await;
    let e = r.expect_err("refused");
    assert!(e.to_string().contains(&format!("service account {VM_SA} exists but was not made by cloudgrant")), "{e}");
    assert!(logs(&updates).iter().any(|l| l.contains(REUSED)), "the preview's survey was used");
    let sent = sent_after(&env.server, previewed).await;
    let lines: Vec<String> = sent.iter().map(line).collect();
    // Its create was refused by Google (409), it was read and judged, and nothing touched it:
    // no policy was written at all, its own least of all.
    assert!(lines.iter().any(|l| l == &format!("POST /v1/projects/{PROJECT}/serviceAccounts")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.ends_with(":setIamPolicy") || l.ends_with("/iam")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains(VM_SA) && !l.starts_with("GET")), "{lines:?}");
    assert_eq!(env.fake.with(|s| s.accounts[VM_SA].clone()), foreign, "left as it was");
}

#[tokio::test]
async fn gcp_a_role_changed_after_the_preview_read_it_is_not_overwritten() {
    use gcp_env::*;
    let env = env().await;
    let plan = plan(&env.vendor);
    apply(&env).await.0.expect("init");
    // Someone narrows the install's role: the preview shows it to be updated.
    env.fake.with(|s| {
        let role = s.roles.get_mut(ROLE).expect("the role");
        role["includedPermissions"] = json!(["compute.instances.get"]);
        role["etag"] = json!("BwYnarrowed1");
    });
    let changes = env.gcp.preview_changes(&plan).await.expect("preview");
    let modify: Vec<&str> = changes[0].changes.iter().filter(|c| c.action == "Modify").map(|c| c.id.as_str()).collect();
    assert!(!modify.is_empty(), "{:?}", changes[0].changes);
    // Then changes it again before the apply: the update made on the preview's read is refused.
    env.fake.with(|s| {
        let role = s.roles.get_mut(ROLE).expect("the role");
        role["includedPermissions"] = json!(["compute.instances.list"]);
        role["etag"] = json!("BwYnarrowed2");
    });
    let (r, _) = gcp_apply(&env, &plan).await;
    let e = r.expect_err("refused");
    let text = format!("{e} {}", e.next_step());
    assert!(
        text.contains(&format!("custom role {ROLE} was changed by someone else after cloudgrant read it")),
        "{text}"
    );
    assert!(text.contains("Run init again"), "{text}");
    let now = env.fake.with(|s| s.roles[ROLE]["includedPermissions"].clone());
    assert_eq!(now, json!(["compute.instances.list"]), "the later change is kept");
    // Run again, it reads the role as it is now and updates it to the definitions.
    apply(&env).await.0.expect("re-run");
    let now = env.fake.with(|s| s.roles[ROLE]["includedPermissions"].clone());
    assert!(now.as_array().is_some_and(|p| p.len() > 1), "{now}");
}

#[tokio::test]
async fn gcp_an_apply_of_another_plan_than_the_previewed_one_surveys_afresh() {
    use gcp_env::*;
    let env = env().await;
    let previewed_plan = plan(&env.vendor);
    env.gcp.preview_changes(&previewed_plan).await.expect("preview");
    // The same pack and project, another org: another plan.
    let choices = cloudgrant::plan::Choices {
        org: "acme-lab".into(),
        region: "europe-west1".into(),
        account: Some(PROJECT.into()),
        external_id: None,
    };
    let other = cloudgrant::plan::gcp::build(&env.vendor, &choices).expect("plan");
    assert_ne!(other, previewed_plan);
    let previewed = requests(&env.server).await.len();
    let (r, updates) = gcp_apply(&env, &other).await;
    r.expect("apply");
    let sent = sent_after(&env.server, previewed).await;
    assert!(!is_write(&sent[0]), "surveyed first: {}", line(&sent[0]));
    assert!(!logs(&updates).iter().any(|l| l.contains(REUSED)), "{:?}", logs(&updates));
}

/// The reads of the Azure survey that the re-check at write time does not make.
fn azure_survey_only(r: &Request) -> bool {
    let p = r.url.path().to_ascii_lowercase();
    p.ends_with("/checknameavailability")
        || p.ends_with("/providers/microsoft.authorization/permissions")
        || p.contains("/deletedvaults/")
        || (p.ends_with("/resourcegroups") && r.method.as_str() == "GET")
}

#[tokio::test]
async fn azure_an_apply_right_after_its_preview_only_reads_the_groups_and_stacks_again() {
    use azure_env::*;
    let alone = env().await;
    apply(&alone).await.0.expect("init");
    let alone_sent = requests(&alone.server).await;
    let alone_survey = alone_sent.iter().filter(|r| azure_survey_only(r)).count();
    assert!(alone_survey >= 4, "names, permissions, vault: {alone_survey}");

    let env = env().await;
    let plan = plan(&env.vendor);
    env.azure.preview_changes(&plan).await.expect("preview");
    let previewed = requests(&env.server).await.len();
    let (r, updates) = azure_apply(&env, &plan).await;
    r.expect("apply");
    let sent = sent_after(&env.server, previewed).await;
    let lines: Vec<String> = sent.iter().map(|r| format!("{} {}", r.method, r.url.path())).collect();
    assert!(!sent.iter().any(azure_survey_only), "{lines:?}");
    // Before its first write to ARM: the two resource groups and the two stacks, nothing else
    // (the service principal's read in Graph is the apply's own step, beside the first PUT).
    let first_write = sent.iter().position(|r| r.method.as_str() != "GET").expect("a write");
    let arm_reads: Vec<String> = sent[..first_write]
        .iter()
        .map(|r| r.url.path().to_ascii_lowercase())
        .filter(|p| p.starts_with("/subscriptions/"))
        .collect();
    let reads: std::collections::BTreeSet<String> = arm_reads.iter().cloned().collect();
    let want: std::collections::BTreeSet<String> = [
        format!("/subscriptions/{SUB}/resourcegroups/{MAIN}"),
        format!("/subscriptions/{SUB}/resourcegroups/{STORAGE}"),
        format!("/subscriptions/{SUB}/providers/microsoft.resources/deploymentstacks/{MAIN}"),
        format!("/subscriptions/{SUB}/providers/microsoft.resources/deploymentstacks/{STORAGE}"),
    ]
    .into_iter()
    .map(|p| p.to_ascii_lowercase())
    .collect();
    assert_eq!(reads, want, "{lines:?}");
    assert_eq!(arm_reads.len(), 4, "each read once: {lines:?}");
    assert!(logs(&updates).iter().any(|l| l.contains(REUSED)), "{:?}", logs(&updates));
    // Preview and apply together send no more than the apply alone did.
    assert!(previewed + sent.len() <= alone_sent.len() + 4, "{} + {} vs {}", previewed, sent.len(), alone_sent.len());
}

#[tokio::test]
async fn azure_a_stack_of_another_org_made_after_the_preview_is_refused_before_any_write() {
    use azure_env::*;
    let env = env().await;
    let plan = plan(&env.vendor);
    env.azure.preview_changes(&plan).await.expect("preview");
    // Between the preview and the apply, a stack of the install's main name appears, marked as
    // another org's: deployment stacks take no precondition, so only a read can catch it.
    env.fake.with(|s| {
        s.stacks.insert(MAIN.into(), json!({"id": format!("/subscriptions/{SUB}/providers/Microsoft.Resources/deploymentStacks/{MAIN}"), "name": MAIN,
            "tags": {"managed-by": "cloudgrant", "cloudgrant-vendor": "acmeml", "cloudgrant-org": "other"},
            "properties": {"provisioningState": "succeeded", "resources": []}}));
    });
    let (r, updates) = azure_apply(&env, &plan).await;
    match r.expect_err("refused") {
        CloudError::NotThisInstall(s) => assert_eq!(s.name, MAIN),
        e => panic!("expected NotThisInstall, got {e:?}"),
    }
    assert!(logs(&updates).iter().any(|l| l.contains("changed since the preview")), "{:?}", logs(&updates));
    assert!(changes(&env).is_empty(), "nothing was written: {:?}", changes(&env));
}
