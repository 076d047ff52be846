//! The real AWS provider (`cloud::aws`: change sets, the event poller, ordered revoke, the
//! DELETE_FAILED retry, the checks) over the simulated AWS, on the paths moto cannot show:
//! per-resource events across small pages, a rollback's root cause, DELETE_FAILED then the retry
//! with retained resources, throttling, and Ctrl-C in the middle of a create.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::collections::BTreeSet;
use std::time::Duration;

use cloudgrant::cloud::aws::{poller::Cadence, Aws, AwsOptions};
use cloudgrant::cloud::sandbox::aws::{Knobs, SimulatedAws};
use cloudgrant::cloud::sandbox::{aws_sdk_config, SandboxConfig};
use cloudgrant::cloud::{CloudError, Provider};
use cloudgrant::model::{Event, Residue, Status, Update};
use cloudgrant::plan::Choices;
use cloudgrant::vendor::VendorProfile;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const ACCOUNT: &str = "210987654321";
const SPEED: f64 = 50.0;

struct Cloud {
    dir: tempfile::TempDir,
    sim: SimulatedAws,
    sdk: aws_config::SdkConfig,
    provider: Provider,
}

async fn cloud(fail: &[&str], knobs: Knobs) -> Cloud {
    let dir = tempfile::tempdir().expect("tmp");
    let config = SandboxConfig {
        dir: dir.path().to_path_buf(),
        speed: SPEED,
        fail: fail.iter().map(|s| s.to_string()).collect(),
    };
    let sim = SimulatedAws::open(&config, &[ACCOUNT], knobs).expect("open");
    let sdk = aws_sdk_config(sim.clone(), ACCOUNT, "eu-west-1", SPEED);
    let cadence = Cadence {
        interval: Duration::from_millis(30),
        max_backoff: Duration::from_millis(600),
        limit: Duration::from_secs(120),
    };
    let options = AwsOptions { source: "test".into(), cadence: Some(cadence), sandbox: true };
    let vendor = VendorProfile::bundled().expect("vendor");
    let aws = Aws::with_config(sdk.clone(), &vendor, options).await.expect("connect");
    Cloud { dir, sim, sdk, provider: Provider::Aws(aws) }
}

fn choices(org: &str) -> Choices {
    Choices { org: org.into(), region: "eu-west-1".into(), account: None, external_id: None }
}

fn collect(mut rx: mpsc::Receiver<Update>) -> tokio::task::JoinHandle<Vec<Update>> {
    tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(u) = rx.recv().await {
            all.push(u);
        }
        all
    })
}

async fn apply(p: &Provider, org: &str) -> (Result<cloudgrant::model::Installation, CloudError>, Vec<Update>) {
    let vendor = VendorProfile::bundled().expect("vendor");
    let plan = p.plan(&vendor, &choices(org)).await.expect("plan");
    let (tx, rx) = mpsc::channel(256);
    let all = collect(rx);
    let result = p.apply(&plan, tx, CancellationToken::new()).await;
    (result, all.await.expect("collector"))
}

async fn revoke(p: &Provider, org: &str, retain: &[String]) -> (Result<Residue, CloudError>, Vec<Update>) {
    let inst = p.discover(Some(org)).await.expect("discover").pop().expect("an install");
    let rplan = p.revoke_plan(&inst).await.expect("revoke plan");
    let (tx, rx) = mpsc::channel(256);
    let all = collect(rx);
    let result = p.revoke(&rplan, retain, tx, CancellationToken::new()).await;
    (result, all.await.expect("collector"))
}

fn events(updates: &[Update]) -> Vec<&Event> {
    updates.iter().filter_map(|u| if let Update::Event(e) = u { Some(e) } else { None }).collect()
}

/// Every event CloudFormation holds for the stack, read page by page: (resource, status, time).
async fn cloud_events(sdk: &aws_config::SdkConfig, stack: &str) -> Vec<(String, String, i64)> {
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let (mut out, mut token) = (Vec::new(), None);
    loop {
        let page = cfn.describe_stack_events().stack_name(stack).set_next_token(token).send().await.expect("events");
        for e in page.stack_events() {
            out.push((
                e.logical_resource_id().unwrap_or_default().to_string(),
                e.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                e.timestamp().map(|t| t.to_millis().unwrap_or_default()).unwrap_or_default(),
            ));
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    out.reverse();
    out
}

#[tokio::test]
async fn per_resource_events_stream_in_order_with_none_lost_or_repeated_across_small_pages() {
    let c = cloud(&[], Knobs { throttle: 0.0, page_size: 3 }).await;
    let (result, updates) = apply(&c.provider, "paged").await;
    let inst = result.expect("apply");
    assert!(inst.is_complete());
    let ev = events(&updates);
    for g in &inst.groups {
        let streamed: Vec<(String, String, i64)> = ev
            .iter()
            .filter(|e| e.group == g.name)
            .map(|e| (e.resource.clone(), e.status.as_str().to_string(), e.time.timestamp_millis()))
            .collect();
        // Exactly what the cloud recorded, oldest first: nothing missed between polls or pages,
        // nothing sent twice.
        assert_eq!(streamed, cloud_events(&c.sdk, &g.id).await, "{}", g.name);
        let unique: BTreeSet<_> = streamed.iter().collect();
        assert_eq!(unique.len(), streamed.len(), "{}", g.name);
        // Every resource: started, initiated, complete, in that order.
        for r in &g.resources {
            let mine: Vec<&str> = streamed.iter().filter(|e| e.0 == r.id).map(|e| e.1.as_str()).collect();
            assert_eq!(mine, ["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"], "{}", r.id);
        }
    }
    assert_eq!(ev.len(), 3 * 2 + 20 * 3);
}

#[tokio::test]
async fn a_rollback_names_its_root_cause_not_the_cancellations() {
    let c = cloud(&["DataKey"], Knobs::default()).await;
    let (result, updates) = apply(&c.provider, "boom").await;
    let inst = result.expect("the install as it stands");
    assert_eq!(inst.group("auth").map(|g| g.status), Some(Status::RollbackComplete));
    let ev = events(&updates);
    let failed = ev.iter().find(|e| e.resource == "DataKey" && e.status == Status::CreateFailed).expect("DataKey");
    assert!(ev.iter().any(|e| e.reason.as_deref() == Some("Resource creation cancelled")), "others cancelled");
    match updates.last() {
        Some(Update::Applied { ok: false, root_cause: Some(rc), .. }) => {
            assert_eq!(Some(rc.as_str()), failed.reason.as_deref());
            assert!(rc.contains("kms:CreateKey"), "{rc}");
        }
        other => panic!("last update: {other:?}"),
    }
}

#[tokio::test]
async fn delete_failed_then_the_retry_retains_what_failed() {
    let c = cloud(&[], Knobs::default()).await;
    apply(&c.provider, "stuck").await.0.expect("apply");
    // The same account, seen by a process that injects the failure.
    let faulty = {
        let config = SandboxConfig { dir: c.dir.path().to_path_buf(), speed: SPEED, fail: vec!["SubnetA".into()] };
        let vendor = VendorProfile::bundled().expect("vendor");
        Provider::Aws(
            cloudgrant::cloud::sandbox::connect_aws(&config, "sandbox-dev", None, &vendor).await.expect("connect"),
        )
    };
    let (residue, updates) = revoke(&faulty, "stuck", &[]).await;
    let residue = residue.expect("revoke runs");
    let ev = events(&updates);
    let failed = ev.iter().find(|e| e.resource == "SubnetA" && e.status == Status::DeleteFailed).expect("failed");
    assert!(failed.reason.as_deref().is_some_and(|r| r.contains("DependencyViolation")));
    assert!(residue.items.iter().any(|i| i.state == "delete_failed" && i.note.contains("SubnetA")), "{residue:?}");
    match updates.last() {
        Some(Update::Revoked { ok: false, root_cause: Some(rc), .. }) => {
            assert!(rc.contains("DependencyViolation"), "{rc}")
        }
        other => panic!("last update: {other:?}"),
    }
    let (residue, updates) = revoke(&faulty, "stuck", &["SubnetA".to_string()]).await;
    residue.expect("retry");
    assert!(matches!(updates.last(), Some(Update::Revoked { ok: true, .. })), "{:?}", updates.last());
    let vpc = events(&updates).iter().find(|e| e.group.ends_with("-vpc")).map(|e| e.group.clone()).expect("vpc events");
    let cfn = aws_sdk_cloudformation::Client::new(&c.sdk);
    let deleted = cfn
        .list_stacks()
        .stack_status_filter(aws_sdk_cloudformation::types::StackStatus::DeleteComplete)
        .send()
        .await
        .expect("list");
    let id = deleted
        .stack_summaries()
        .iter()
        .find(|s| s.stack_name() == Some(vpc.as_str()))
        .and_then(|s| s.stack_id())
        .expect("vpc deleted");
    let res = cfn.describe_stack_resources().stack_name(id).send().await.expect("resources");
    let subnet = res.stack_resources().iter().find(|r| r.logical_resource_id() == Some("SubnetA")).expect("subnet");
    assert_eq!(subnet.resource_status().map(|s| s.as_str()), Some("DELETE_SKIPPED"), "RetainResources was honoured");
}

#[tokio::test]
async fn throttled_calls_back_off_and_init_and_revoke_still_finish() {
    let c = cloud(&[], Knobs { throttle: 0.3, page_size: 5 }).await;
    let (result, updates) = apply(&c.provider, "slow").await;
    assert!(result.expect("apply").is_complete());
    assert_eq!(events(&updates).len(), 3 * 2 + 20 * 3, "no event lost to a throttled page");
    let (residue, updates) = revoke(&c.provider, "slow", &[]).await;
    residue.expect("revoke");
    assert!(matches!(updates.last(), Some(Update::Revoked { ok: true, .. })), "{:?}", updates.last());
    assert!(c.sim.throttled() > 10, "throttled {} times", c.sim.throttled());
}

#[tokio::test]
async fn ctrl_c_mid_create_leaves_only_what_was_requested_and_init_resumes() {
    let c = cloud(&[], Knobs::default()).await;
    let vendor = VendorProfile::bundled().expect("vendor");
    let plan = c.provider.plan(&vendor, &choices("halt")).await.expect("plan");
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        let _ = rx.recv().await; // the first event, then Ctrl-C
        stop.cancel();
        while rx.recv().await.is_some() {}
    });
    assert_eq!(c.provider.apply(&plan, tx, cancel).await.expect_err("cancelled"), CloudError::Cancelled);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let cfn = aws_sdk_cloudformation::Client::new(&c.sdk);
    let names: Vec<String> = cfn
        .list_stacks()
        .send()
        .await
        .expect("list")
        .stack_summaries()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s.stack_name().unwrap_or_default(),
                s.stack_status().map(|s| s.as_str()).unwrap_or_default()
            )
        })
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["acmeml-halt-s3 CREATE_COMPLETE", "acmeml-halt-vpc CREATE_COMPLETE"],
        "no AUTH stack was ever asked for"
    );
    let (result, updates) = apply(&c.provider, "halt").await;
    assert!(result.expect("resume").is_complete());
    assert!(events(&updates).iter().all(|e| e.group == "acmeml-halt-auth"), "only AUTH is created on resume");
}
