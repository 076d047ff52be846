//! The AWS sandbox through the same Provider API the wizard and CLI use (the real AWS provider
//! over the simulated AWS): parallel stacks, dependent ones waiting, rollback on an injected
//! fault, retained bucket, key deletion date, state that persists across "processes", and a
//! corrupt state file left untouched.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use chrono::{Duration, Utc};
use cloudgrant::cloud::sandbox::{self, SandboxConfig};
use cloudgrant::cloud::{CloudError, Provider};
use cloudgrant::model::{Event, Installation, Residue, Status, Update};
use cloudgrant::plan::Choices;
use cloudgrant::vendor::VendorProfile;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

async fn provider(dir: &std::path::Path, fail: &[&str]) -> Provider {
    let config =
        SandboxConfig { dir: dir.to_path_buf(), speed: 50.0, fail: fail.iter().map(|s| s.to_string()).collect() };
    let vendor = VendorProfile::bundled().expect("vendor");
    Provider::Aws(sandbox::connect_aws(&config, "sandbox-dev", None, &vendor).await.expect("connect"))
}

fn choices(org: &str) -> Choices {
    Choices { org: org.into(), region: "eu-west-1".into(), account: None, external_id: None }
}

/// Apply and collect every update.
async fn apply(p: &Provider, org: &str) -> (Result<Installation, CloudError>, Vec<Update>) {
    let vendor = VendorProfile::bundled().expect("vendor");
    let plan = p.plan(&vendor, &choices(org)).await.expect("plan");
    let (tx, mut rx) = mpsc::channel(64);
    let collector = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(u) = rx.recv().await {
            all.push(u);
        }
        all
    });
    let result = p.apply(&plan, tx, CancellationToken::new()).await;
    (result, collector.await.expect("collector"))
}

async fn revoke(p: &Provider, org: &str, retain: &[String]) -> (Result<Residue, CloudError>, Vec<Update>) {
    let inst = p.discover(Some(org)).await.expect("discover").pop().expect("an install");
    let rplan = p.revoke_plan(&inst).await.expect("revoke plan");
    let (tx, mut rx) = mpsc::channel(64);
    let collector = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(u) = rx.recv().await {
            all.push(u);
        }
        all
    });
    let result = p.revoke(&rplan, retain, tx, CancellationToken::new()).await;
    (result, collector.await.expect("collector"))
}

fn events(updates: &[Update]) -> Vec<&Event> {
    updates.iter().filter_map(|u| if let Update::Event(e) = u { Some(e) } else { None }).collect()
}

fn find<'a>(ev: &[&'a Event], group_suffix: &str, resource: &str, status: Status) -> Option<&'a Event> {
    ev.iter().copied().find(|e| {
        e.group.ends_with(group_suffix)
            && (e.resource == resource || (resource == "*" && e.is_group_event()))
            && e.status == status
    })
}

#[tokio::test]
async fn independent_stacks_run_in_parallel_and_auth_waits_for_both() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = provider(dir.path(), &[]).await;
    let (result, updates) = apply(&p, "par").await;
    let inst = result.expect("apply");
    assert!(inst.is_complete(), "{inst:?}");
    let ev = events(&updates);
    let t = |g, s| find(&ev, g, "*", s).unwrap_or_else(|| panic!("{g} {s:?}")).time;
    // VPC and S3 overlap; AUTH starts only after both are complete.
    assert!(t("-s3", Status::CreateInProgress) < t("-vpc", Status::CreateComplete));
    assert!(t("-vpc", Status::CreateInProgress) < t("-s3", Status::CreateComplete));
    assert!(t("-auth", Status::CreateInProgress) >= t("-vpc", Status::CreateComplete));
    assert!(t("-auth", Status::CreateInProgress) >= t("-s3", Status::CreateComplete));
    // Each stack's events arrive in time order, and every resource of the plan completes.
    for g in ["-vpc", "-s3", "-auth"] {
        let mine: Vec<&&Event> = ev.iter().filter(|e| e.group.ends_with(g)).collect();
        assert!(mine.windows(2).all(|w| w[0].time <= w[1].time), "{g}");
    }
    assert_eq!(ev.iter().filter(|e| e.status == Status::CreateComplete && !e.is_group_event()).count(), 20);
    // The AUTH stack received the real ids of the others as parameters.
    let auth = inst.group("auth").expect("auth");
    assert_eq!(auth.parameters["VpcId"], inst.outputs["VpcId"]);
    assert!(auth.parameters["VpcId"].starts_with("vpc-"));
    assert_eq!(auth.parameters["DataBucketName"], "acmeml-par-data-210987654321");
    assert_eq!(inst.outputs["VendorRoleArn"], "arn:aws:iam::210987654321:role/acmeml-par-vendor");
    assert!(inst.outputs["ExternalId"].len() >= 32);
    match updates.last() {
        Some(Update::Applied { ok: true, root_cause: None, .. }) => {}
        other => panic!("last update: {other:?}"),
    }
}

#[tokio::test]
async fn injected_fault_rolls_back_and_dependents_never_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = provider(dir.path(), &["SubnetB"]).await;
    let (result, updates) = apply(&p, "boom").await;
    let inst = result.expect("apply returns the installation as it stands");
    let ev = events(&updates);
    let failed = find(&ev, "-vpc", "SubnetB", Status::CreateFailed).expect("SubnetB failed");
    assert!(failed.reason.as_deref().is_some_and(|r| r.contains("injected")));
    let rollback = find(&ev, "-vpc", "*", Status::RollbackInProgress).expect("rollback");
    assert!(rollback.reason.as_deref().is_some_and(|r| r.contains("SubnetB")));
    assert!(find(&ev, "-vpc", "*", Status::RollbackComplete).is_some());
    // What had been created is deleted during rollback.
    assert!(find(&ev, "-vpc", "Vpc", Status::DeleteComplete).is_some());
    assert!(ev.iter().all(|e| !e.group.ends_with("-auth")), "auth must not start");
    assert!(updates.iter().any(|u| matches!(u, Update::Log { text } if text.contains("not started"))));
    assert_eq!(inst.group("vpc").map(|g| g.status), Some(Status::RollbackComplete));
    assert_eq!(inst.group("s3").map(|g| g.status), Some(Status::CreateComplete));
    match updates.last() {
        Some(Update::Applied { ok: false, root_cause: Some(rc), .. }) => {
            assert_eq!(Some(rc.as_str()), failed.reason.as_deref())
        }
        other => panic!("last update: {other:?}"),
    }
    // The preview says so before anything is done.
    let p = provider(dir.path(), &[]).await;
    let vendor = VendorProfile::bundled().expect("vendor");
    let plan = p.plan(&vendor, &choices("boom")).await.expect("plan");
    let changes = p.preview_changes(&plan).await.expect("changes");
    let vpc = changes.iter().find(|c| c.group.ends_with("-vpc")).expect("vpc");
    assert!(
        vpc.note.as_deref().is_some_and(|n| n.contains("ROLLBACK_COMPLETE") && n.contains("deleted first")),
        "{vpc:?}"
    );
    let s3 = changes.iter().find(|c| c.group.ends_with("-s3")).expect("s3");
    assert_eq!(s3.kind, cloudgrant::model::ChangeKind::NoChanges);
    // A re-run without the fault deletes the rolled-back stack first and then completes.
    let (result, updates) = apply(&p, "boom").await;
    assert!(result.expect("rerun").is_complete());
    assert!(updates.iter().any(|u| matches!(u, Update::Log { text } if text.contains("ROLLBACK_COMPLETE"))));
    let ev = events(&updates);
    assert!(find(&ev, "-s3", "*", Status::CreateInProgress).is_none(), "the complete S3 stack is left alone");
}

#[tokio::test]
async fn second_apply_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = provider(dir.path(), &[]).await;
    let (first, _) = apply(&p, "again").await;
    let first = first.expect("first");
    let (second, updates) = apply(&p, "again").await;
    let second = second.expect("second");
    assert!(events(&updates).is_empty(), "no events on a no-op re-run");
    let noops = updates.iter().filter(|u| matches!(u, Update::Log { text } if text.contains("no changes"))).count();
    assert_eq!(noops, 3);
    // The ExternalId the vendor already has is kept.
    assert_eq!(first.outputs["ExternalId"], second.outputs["ExternalId"]);
    assert_eq!(
        first.groups.iter().map(|g| &g.id).collect::<Vec<_>>(),
        second.groups.iter().map(|g| &g.id).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn revoke_keeps_the_bucket_and_schedules_the_key_across_processes() {
    let dir = tempfile::tempdir().expect("tmp");
    apply(&provider(dir.path(), &[]).await, "keep").await.0.expect("apply");
    // A new connection reads the persisted state, as a later process would.
    let p = provider(dir.path(), &[]).await;
    let inst = p.discover(Some("keep")).await.expect("discover").pop().expect("found");
    let rplan = p.revoke_plan(&inst).await.expect("revoke plan");
    let order: Vec<&str> = rplan.groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(order, ["auth", "vpc", "s3"], "the vendor's access ends first");
    let outcome = |id: &str| rplan.items().find(|i| i.id == id).map(|i| i.outcome.clone()).expect(id);
    assert!(matches!(outcome("DataBucket"), cloudgrant::model::RevokeOutcome::Kept { .. }));
    let today = Utc::now().date_naive();
    match outcome("DataKey") {
        cloudgrant::model::RevokeOutcome::ScheduledDeletion { date, days, way_back } => {
            assert_eq!(days, 30);
            assert_eq!(date, today + Duration::days(30));
            assert!(way_back.starts_with("aws kms cancel-key-deletion --key-id "));
        }
        other => panic!("{other:?}"),
    }
    assert!(rplan.warnings.iter().any(|w| w.contains("unreadable")));
    let (residue, updates) = revoke(&p, "keep", &[]).await;
    let residue = residue.expect("revoke");
    let ev = events(&updates);
    assert!(find(&ev, "-s3", "DataBucket", Status::DeleteSkipped).is_some());
    let auth_done = find(&ev, "-auth", "*", Status::DeleteComplete).expect("auth deleted").time;
    let vpc_start = find(&ev, "-vpc", "*", Status::DeleteInProgress).expect("vpc").time;
    assert!(auth_done <= vpc_start, "auth is deleted before the rest starts");
    let kept: Vec<&str> = residue.items.iter().map(|i| i.state.as_str()).collect();
    assert!(kept.contains(&"kept") && kept.contains(&"pending_deletion"), "{kept:?}");
    assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    assert!(residue.checks.iter().any(|c| c.what.contains("acmeml-keep-vendor no longer exists")));
    // No stack is left; what stays is named: the kept bucket and the key pending deletion.
    let left = p.discover(Some("keep")).await.expect("discover").pop().expect("what remains");
    assert!(left.groups.is_empty(), "{:?}", left.groups);
    let states: Vec<&str> = left.leftovers.iter().map(|l| l.state.as_str()).collect();
    assert!(states.contains(&"kept") && states.contains(&"pending_deletion"), "{states:?}");
    // The kept bucket holds its name: a new install of the same org says so before creating anything.
    let vendor = VendorProfile::bundled().expect("vendor");
    let plan = p.plan(&vendor, &choices("keep")).await.expect("plan");
    let (tx, _rx) = mpsc::channel(64);
    let err = p.apply(&plan, tx, CancellationToken::new()).await.expect_err("bucket exists");
    assert!(err.to_string().contains("is still in the account"), "{err}");
    let left = p.discover(Some("keep")).await.expect("discover").pop().expect("what remains");
    assert!(left.groups.is_empty(), "nothing half-created: {:?}", left.groups);
}

#[tokio::test]
async fn delete_failure_stops_and_retry_with_retain_finishes() {
    let dir = tempfile::tempdir().expect("tmp");
    apply(&provider(dir.path(), &[]).await, "stuck").await.0.expect("apply");
    let p = provider(dir.path(), &["MachineSecurityGroup"]).await;
    let (residue, updates) = revoke(&p, "stuck", &[]).await;
    let residue = residue.expect("revoke runs");
    let ev = events(&updates);
    let failed = find(&ev, "-vpc", "MachineSecurityGroup", Status::DeleteFailed).expect("delete failed");
    assert!(failed.reason.as_deref().is_some_and(|r| r.contains("DependencyViolation")));
    assert!(find(&ev, "-vpc", "*", Status::DeleteFailed).is_some());
    // Once AUTH is gone, VPC and S3 are deleted side by side: the S3 stack's deletion was asked
    // beside the VPC's and finishes; nothing is asked after the failed wave.
    let auth_done =
        ev.iter().position(|e| e.group.ends_with("-auth") && e.is_group_event() && e.status == Status::DeleteComplete);
    let s3_start = ev.iter().position(|e| e.group.ends_with("-s3") && e.status == Status::DeleteInProgress);
    assert!(
        auth_done.is_some() && s3_start.is_some() && auth_done < s3_start,
        "S3 after AUTH: {auth_done:?} {s3_start:?}"
    );
    assert!(find(&ev, "-s3", "*", Status::DeleteComplete).is_some());
    assert!(residue.items.iter().any(|i| i.state == "delete_failed"));
    assert!(matches!(updates.last(), Some(Update::Revoked { ok: false, root_cause: Some(_), .. })));
    // Retry, leaving the stuck group in place.
    let (residue, updates) = revoke(&p, "stuck", &["MachineSecurityGroup".to_string()]).await;
    residue.expect("retry");
    let ev = events(&updates);
    assert!(find(&ev, "-vpc", "MachineSecurityGroup", Status::DeleteSkipped).is_some());
    assert!(find(&ev, "-vpc", "*", Status::DeleteComplete).is_some());
    assert!(find(&ev, "-s3", "*", Status::DeleteInProgress).is_none(), "the S3 stack is gone already");
    let left = p.discover(Some("stuck")).await.expect("discover").pop().expect("what remains");
    assert!(left.groups.is_empty(), "{:?}", left.groups);
}

#[tokio::test]
async fn leaving_early_does_not_stop_the_cloud_and_init_again_resumes() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = provider(dir.path(), &[]).await;
    let vendor = VendorProfile::bundled().expect("vendor");
    let plan = p.plan(&vendor, &choices("ctrlc")).await.expect("plan");
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        // Leave after the first event, as Ctrl-C would.
        let _ = rx.recv().await;
        c.cancel();
        while rx.recv().await.is_some() {}
    });
    let err = p.apply(&plan, tx, cancel).await.expect_err("cancelled");
    assert_eq!(err, CloudError::Cancelled);
    let inst = p.discover(Some("ctrlc")).await.expect("discover").pop().expect("visible while running");
    assert!(inst.groups.iter().any(|g| g.status.is_in_progress()));
    // A second apply refuses while it is still running, and says how to follow it.
    let (tx, _rx) = mpsc::channel(64);
    let busy = p.apply(&plan, tx, CancellationToken::new()).await.expect_err("busy");
    assert!(busy.next_step().contains("cloudgrant status"), "{}", busy.next_step());
    // Later, a fresh look sees what was asked for finished, exactly as CloudFormation would have,
    // and nothing that was never asked for: the AUTH stack waits for its dependencies.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let inst = provider(dir.path(), &[]).await.discover(Some("ctrlc")).await.expect("discover").pop().expect("found");
    let keys: Vec<(&str, Status)> = inst.groups.iter().map(|g| (g.key.as_str(), g.status)).collect();
    assert_eq!(keys, [("vpc", Status::CreateComplete), ("s3", Status::CreateComplete)]);
    // init again goes on from there: the two stacks are left as they are, AUTH is created.
    let (result, updates) = apply(&p, "ctrlc").await;
    assert!(result.expect("resume").is_complete());
    let ev = events(&updates);
    assert!(ev.iter().all(|e| e.group.ends_with("-auth")), "only AUTH is created now");
    assert!(find(&ev, "-auth", "*", Status::CreateComplete).is_some());
}

#[tokio::test]
async fn corrupt_state_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("aws.json");
    std::fs::write(&path, "{\"format\": 1, \"accounts\": ").expect("write");
    let config = SandboxConfig { dir: dir.path().to_path_buf(), speed: 50.0, fail: vec![] };
    let vendor = VendorProfile::bundled().expect("vendor");
    let err = sandbox::connect_aws(&config, "sandbox-dev", None, &vendor).await.expect_err("corrupt");
    let text = format!("{err} {}", err.next_step());
    assert!(text.contains("corrupt") && text.contains(&path.display().to_string()) && text.contains("mv "), "{text}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "{\"format\": 1, \"accounts\": ");
}

#[tokio::test]
async fn unknown_fault_ids_and_accounts_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let vendor = VendorProfile::bundled().expect("vendor");
    let config = SandboxConfig { dir: dir.path().to_path_buf(), speed: 50.0, fail: vec!["Nope".into()] };
    let err = sandbox::connect_aws(&config, "sandbox-dev", None, &vendor).await.expect_err("bad id");
    assert!(err.to_string().contains("`Nope`") && err.next_step().contains("VendorRole"), "{err}");
    let config = SandboxConfig { fail: vec![], ..config };
    let err = sandbox::connect_aws(&config, "prod", None, &vendor).await.expect_err("bad account");
    assert!(err.next_step().contains("sandbox-dev"), "{}", err.next_step());
}

#[tokio::test]
async fn a_plan_rendered_for_another_account_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = provider(dir.path(), &[]).await;
    let vendor = VendorProfile::bundled().expect("vendor");
    let mut plan = p.plan(&vendor, &choices("other")).await.expect("plan");
    plan.account = Some("999999999999".into());
    let (tx, _rx) = mpsc::channel(8);
    let err = p.apply(&plan, tx, CancellationToken::new()).await.expect_err("other account");
    assert!(err.to_string().contains("made for account 999999999999, not 210987654321"), "{err}");
    assert!(p.discover(Some("other")).await.expect("discover").is_empty(), "nothing created");
}
