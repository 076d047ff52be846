//! Issue 11 on Azure, against the wiremock double (tests/support/fake_azure.rs, answering with
//! the documented shapes and casing): deployment-stack states in lowercase (case 6), the
//! permissions preflight through a published call only (case 7), a re-install after revoke that
//! re-attaches the kept data account (case 5), and look-alike stacks left alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/azure_env.rs"]
mod azure_env;
#[path = "support/fake_azure.rs"]
mod fake_azure;

use azure_env::*;
use cloudgrant::cloud::{CloudError, Provider};
use cloudgrant::model::{ChangeKind, Status};
use cloudgrant::plan::Choices;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn choices() -> Choices {
    Choices { org: ORG.into(), region: LOCATION.into(), account: None, external_id: None }
}

async fn revoke_all(env: &Env) {
    let found = env.azure.discover(Some(ORG)).await.unwrap();
    let rplan = env.azure.revoke_plan(&found[0]).await.unwrap();
    let (tx, _rx) = mpsc::channel(8192);
    env.azure.revoke(&rplan, &[], tx, CancellationToken::new()).await.unwrap();
}

#[tokio::test]
async fn case6_lowercase_stack_states_are_read_as_documented() {
    let env = env().await;
    let (r, _) = apply(&env).await;
    r.unwrap();
    // The double answers as the 2025-07-01 API documents deployment stacks: lowercase states.
    let raw = env.fake.with(|s| s.stacks[STORAGE]["properties"]["provisioningState"].clone());
    assert_eq!(raw, json!("succeeded"));
    let found = env.azure.discover(Some(ORG)).await.unwrap();
    assert!(found[0].is_complete(), "{:?}", found[0].groups.iter().map(|g| g.status).collect::<Vec<_>>());
    assert_eq!(found[0].health.word(), "complete");
    // A second init is an update in place, not refused as "still succeeded".
    let preview = env.azure.preview_changes(&plan(&env.vendor)).await.unwrap();
    assert!(preview.iter().all(|g| g.kind == ChangeKind::Update), "{preview:?}");
    let (again, updates) = apply(&env).await;
    assert!(again.unwrap().is_complete());
    assert_eq!(statuses(&updates, MAIN), [Status::UpdateInProgress, Status::UpdateComplete]);
}

#[tokio::test]
async fn case7_the_preflight_uses_a_published_call_or_says_it_could_not_check() {
    // No resource group in the subscription: nothing Azure publishes can answer; said, not guessed.
    let env = env().await;
    env.fake.with(|s| s.contributor_only());
    let (r, updates) = apply(&env).await;
    assert!(
        logs(&updates).iter().any(|l| l.contains("could not check in advance") && l.contains("resource group only")),
        "{:?}",
        logs(&updates)
    );
    // The deployment then names the permission ARM refused.
    let e = r.expect_err("the role assignment is refused by ARM");
    assert!(
        e.to_string().contains("AuthorizationFailed") && e.to_string().contains("Microsoft.Authorization/role"),
        "{e}"
    );
    let subscription_form = format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/permissions");
    let asked = requests(&env.server).await;
    assert!(
        !asked.iter().any(|r| r.url.path() == subscription_form),
        "the unpublished subscription form is never called"
    );

    // With the install's own group there, the permissions are read there, and all is well.
    let second = azure_env::env().await;
    let (r, _) = apply(&second).await;
    r.unwrap();
    let (r, updates) = apply(&second).await;
    r.unwrap();
    assert_eq!(
        second.fake.with(|s| s.permission_reads.clone()),
        [MAIN],
        "read at the install's own group on the re-run"
    );
    assert!(
        logs(&updates).iter().any(|l| l.contains(&format!("read at resource group {MAIN}"))),
        "{:?}",
        logs(&updates)
    );
}

#[tokio::test]
async fn case5_a_reinstall_after_revoke_reattaches_the_kept_data_account() {
    let env = env().await;
    let (r, _) = apply(&env).await;
    r.unwrap();
    revoke_all(&env).await;
    assert!(env.fake.with(|s| s.accounts.contains_key(DATA) && s.deleted_vaults.contains_key(VAULT)));

    let provider = Provider::Azure(env.azure.clone());
    let plan = provider.plan(&env.vendor, &choices()).await.unwrap();
    let spec = cloudgrant::plan::azure::spec_for(&plan, &env.vendor).unwrap();
    assert_eq!(spec.data_account, DATA, "the kept account is the install's data account again");
    assert_ne!(spec.vault, VAULT, "a new suffix for the rest: the soft-deleted vault keeps its name");
    let preview = provider.preview_changes(&plan).await.unwrap();
    let storage = preview.iter().find(|g| g.group == STORAGE).unwrap();
    assert!(
        storage.note.as_deref().unwrap_or_default().contains(&format!("reuses the kept data account {DATA}")),
        "{preview:?}"
    );

    let (tx, _rx) = mpsc::channel(8192);
    let inst = provider.apply(&plan, tx, CancellationToken::new()).await.unwrap();
    assert!(inst.is_complete());
    assert_eq!(inst.outputs["DataAccount"], DATA);
    let data_accounts: Vec<String> =
        env.fake.with(|s| s.accounts.keys().filter(|k| k.starts_with("acmemldata")).cloned().collect());
    assert_eq!(data_accounts, [DATA], "no second data account beside the kept one");
    assert!(inst.install_id.is_some(), "the re-install records its install id");
}

#[tokio::test]
async fn stacks_named_or_marked_like_the_install_are_refused_and_left_alone() {
    let env = env().await;
    // The install's main name with another org's marks: init refuses before any change.
    env.fake.with(|s| {
        s.stacks.insert(MAIN.into(), json!({"id": format!("/subscriptions/{SUB}/providers/Microsoft.Resources/deploymentStacks/{MAIN}"), "name": MAIN,
            "tags": {"managed-by": "cloudgrant", "cloudgrant-vendor": "acmeml", "cloudgrant-org": "other"},
            "properties": {"provisioningState": "succeeded", "resources": []}}));
    });
    let (r, _) = apply(&env).await;
    match r.expect_err("refused") {
        CloudError::NotThisInstall(s) => {
            assert_eq!(s.name, MAIN);
            assert!(s.why.iter().any(|w| w == "cloudgrant-org is other, not acme-research"), "{:?}", s.why);
            assert!(s.remove.contains("az stack sub delete"), "{}", s.remove);
        }
        other => panic!("{other:?}"),
    }
    assert!(changes(&env).is_empty(), "{:?}", changes(&env));

    // A stack of another name with the install's marks: reported by discover, never deleted.
    let env = azure_env::env().await;
    let look = "acmeml-acme-research-extra";
    env.fake.with(|s| {
        s.stacks.insert(look.into(), json!({"id": format!("/subscriptions/{SUB}/providers/Microsoft.Resources/deploymentStacks/{look}"), "name": look,
            "tags": {"managed-by": "cloudgrant", "cloudgrant-vendor": "acmeml", "cloudgrant-org": ORG},
            "properties": {"provisioningState": "succeeded", "resources": []}}));
    });
    let (r, _) = apply(&env).await;
    r.unwrap();
    let found = env.azure.discover(Some(ORG)).await.unwrap();
    assert_eq!(found[0].groups.len(), 2);
    assert_eq!(found[0].strangers.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), [look]);
    let rplan = env.azure.revoke_plan(&found[0]).await.unwrap();
    assert!(rplan.warnings.iter().any(|w| w.contains(look) && w.contains("left alone")), "{:?}", rplan.warnings);
    let (tx, _rx) = mpsc::channel(8192);
    env.azure.revoke(&rplan, &[], tx, CancellationToken::new()).await.unwrap();
    assert_eq!(env.fake.with(|s| s.stacks.keys().cloned().collect::<Vec<_>>()), [look], "only the look-alike stays");
}
