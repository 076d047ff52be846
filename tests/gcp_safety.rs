//! Issue 11 on Google Cloud, against the wiremock double (tests/support/fake_google.rs): the
//! ownership rule on resources named like the install's, the install id recorded on every
//! labelled resource and description, and a revoke that stops half-way named by status and
//! refused by init with both ways on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fake_google.rs"]
mod fake_google;
#[path = "support/gcp_env.rs"]
mod gcp_env;

use cloudgrant::cloud::{CloudError, Provider};
use cloudgrant::plan::Choices;
use fake_google::{google_error, Fault};
use gcp_env::*;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn choices() -> Choices {
    Choices { org: ORG.into(), region: "europe-west1".into(), account: None, external_id: None }
}

#[tokio::test]
async fn a_role_named_like_the_install_but_marked_for_another_org_is_refused() {
    let env = env().await;
    env.fake.with(|s| {
        s.roles.insert(ROLE.into(), json!({"name": ROLE, "title": "theirs", "description": "managed-by=cloudgrant cloudgrant-install=acmeml-acme-other | another install", "includedPermissions": ["compute.instances.get"], "stage": "GA", "etag": "x"}));
    });
    match apply(&env).await.0.expect_err("refused") {
        CloudError::NotThisInstall(s) => {
            assert_eq!(s.name, ROLE);
            assert!(s.why.iter().any(|w| w.contains("cloudgrant-org is acme-other")), "{:?}", s.why);
            assert!(s.inspect.starts_with("gcloud iam roles describe"), "{}", s.inspect);
        }
        other => panic!("{other:?}"),
    }
    let writes: Vec<String> = requests(&env.server).await.iter().filter(|r| is_write(r)).map(line).collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn the_install_id_is_recorded_on_labels_and_descriptions_and_kept_on_a_rerun() {
    let env = env().await;
    let provider = Provider::Gcp(env.gcp.clone());
    let plan = provider.plan(&env.vendor, &choices()).await.unwrap();
    let id = cloudgrant::cloud::ownership::install_id_of(&plan).expect("an install id").to_string();
    let (tx, _rx) = mpsc::channel(4096);
    provider.apply(&plan, tx, CancellationToken::new()).await.unwrap();
    env.fake.with(|s| {
        assert_eq!(s.buckets[BUCKET]["labels"]["cloudgrant-install-id"], id.as_str());
        assert_eq!(s.keys[KEY]["labels"]["cloudgrant-install-id"], id.as_str());
        let d = s.roles[ROLE]["description"].as_str().unwrap().to_string();
        assert!(d.contains(&format!("cloudgrant-install-id={id} |")), "{d}");
    });
    let found = env.gcp.discover(Some(ORG)).await.unwrap();
    assert_eq!(found[0].install_id.as_deref(), Some(id.as_str()));
    assert_eq!(found[0].health.word(), "complete");
    let again = provider.plan(&env.vendor, &choices()).await.unwrap();
    assert_eq!(cloudgrant::cloud::ownership::install_id_of(&again), Some(id.as_str()), "the same install, the same id");
    let changes = provider.preview_changes(&again).await.unwrap();
    assert_eq!(changes[0].kind, cloudgrant::model::ChangeKind::NoChanges, "{changes:?}");
}

#[tokio::test]
async fn a_revoke_that_stops_half_way_is_named_and_init_offers_both_ways() {
    let env = env().await;
    let provider = Provider::Gcp(env.gcp.clone());
    let plan = provider.plan(&env.vendor, &choices()).await.unwrap();
    let (tx, _rx) = mpsc::channel(4096);
    provider.apply(&plan, tx, CancellationToken::new()).await.unwrap();
    // The machines' service account cannot be deleted: revoke goes on with the rest and fails.
    env.fake.with(|s| {
        let mut f = Fault::new(
            "DELETE",
            "/serviceAccounts/",
            403,
            google_error(403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.delete' denied"),
        );
        f.times = 100;
        s.faults.push(f);
    });
    let found = provider.discover(Some(ORG)).await.unwrap();
    let rplan = provider.revoke_plan(&found[0]).await.unwrap();
    let (tx, _rx) = mpsc::channel(4096);
    provider.revoke(&rplan, &[], tx, CancellationToken::new()).await.unwrap();

    let found = provider.discover(Some(ORG)).await.unwrap();
    assert_eq!(found[0].health.word(), "revoke incomplete", "{:?}", found[0].health);
    let key = found[0].leftovers.iter().find(|l| l.physical_id == KEY).expect("the key is listed");
    assert_eq!(key.state, "pending_deletion");
    assert!(key.date.is_some() && key.way.contains("gcloud kms keys versions restore"), "{key:?}");
    let e = provider.plan(&env.vendor, &choices()).await.expect_err("init refuses");
    assert!(e.to_string().contains("half revoked"), "{e}");
    assert!(
        e.next_step().contains("cloudgrant revoke --org acme-research") && e.next_step().contains("--restore"),
        "{}",
        e.next_step()
    );
    let e = provider.restore(ORG).await.expect_err("cloudgrant names the restore commands, it does not run them");
    assert!(e.to_string().contains(KEY) && e.to_string().contains("gcloud kms keys versions restore"), "{e}");
}
