//! The order of the AWS writes that must be ordered, read from the request log of the simulated
//! AWS (`cloud::sandbox::aws`, with a latency and stack operations that take time, so calls sent
//! side by side really overlap): no write before every refusal check of an init; on revoke the
//! AUTH stack (the vendor's access) deleted before the VPC and S3 stacks begin; an update's change
//! set made and described before it is executed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::time::Duration;

use cloudgrant::cloud::aws::{poller::Cadence, Aws, AwsOptions};
use cloudgrant::cloud::sandbox::aws::{Knobs, Logged, SimulatedAws, Timing};
use cloudgrant::cloud::sandbox::{aws_sdk_config, SandboxConfig};
use cloudgrant::cloud::Provider;
use cloudgrant::model::{Installation, Plan};
use cloudgrant::plan::Choices;
use cloudgrant::vendor::VendorProfile;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const ACCOUNT: &str = "210987654321";
const REGION: &str = "eu-west-1";
const ORG: &str = "acme-research";
const LATENCY: Duration = Duration::from_millis(20);
const OPERATION: Duration = Duration::from_millis(300);

struct Cloud {
    _dir: tempfile::TempDir,
    sim: SimulatedAws,
    p: Provider,
}

async fn cloud() -> Cloud {
    let dir = tempfile::tempdir().expect("tmp");
    let config = SandboxConfig { dir: dir.path().to_path_buf(), speed: 50.0, fail: Vec::new() };
    let timing = Timing { latency: LATENCY, operation: Some(OPERATION), record: true };
    let sim = SimulatedAws::open_timed(&config, &[ACCOUNT], Knobs::default(), timing).expect("open");
    let sdk = aws_sdk_config(sim.clone(), ACCOUNT, REGION, 50.0);
    let cadence = Cadence {
        interval: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        limit: Duration::from_secs(60),
    };
    let options = AwsOptions { source: "test".into(), cadence: Some(cadence), sandbox: true };
    let vendor = VendorProfile::bundled().expect("vendor");
    let p = Provider::Aws(Aws::with_config(sdk, &vendor, options).await.expect("connect"));
    Cloud { _dir: dir, sim, p }
}

async fn plan(c: &Cloud) -> Plan {
    let vendor = VendorProfile::bundled().expect("vendor");
    let choices = Choices { org: ORG.into(), region: REGION.into(), account: None, external_id: None };
    c.p.plan(&vendor, &choices).await.expect("plan")
}

async fn apply(c: &Cloud, plan: &Plan) -> Vec<Logged> {
    c.sim.requests();
    let (tx, mut rx) = mpsc::channel(4096);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    c.p.apply(plan, tx, CancellationToken::new()).await.expect("apply");
    c.sim.requests()
}

fn stack(key: &str) -> String {
    let vendor = VendorProfile::bundled().expect("vendor");
    format!("{}-{ORG}-{key}", vendor.vendor.id)
}

/// The log entry's stack, whether it is named or given by id (`arn:…:stack/NAME/uuid`).
fn names(l: &Logged, key: &str) -> bool {
    let name = stack(key);
    l.target == name || l.target.contains(&format!(":stack/{name}/"))
}

fn first(log: &[Logged], f: impl Fn(&Logged) -> bool) -> usize {
    log.iter().position(f).expect("the request is in the log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_write_of_an_init_before_every_refusal_check() {
    let c = cloud().await;
    let plan = plan(&c).await;
    let log = apply(&c, &plan).await;
    let first_write = first(&log, Logged::is_write);
    assert_eq!(log[first_write].action, "CreateStack", "{:?}", log[first_write]);
    for key in ["vpc", "s3", "auth"] {
        let read = first(&log, |l| l.action == "DescribeStacks" && names(l, key));
        assert!(read < first_write, "{key} read at {read}, after the first write at {first_write}");
    }
    // The kept-bucket refusal: the bucket a new S3 stack would create is looked for first.
    let head = first(&log, |l| l.action == "HeadBucket");
    assert!(head < first_write, "HeadBucket at {head}, after the first write at {first_write}");
    // AUTH takes the outputs of VPC and S3: it is created only after both were.
    let auth = first(&log, |l| l.action == "CreateStack" && names(l, "auth"));
    for key in ["vpc", "s3"] {
        let created = &log[first(&log, |l| l.action == "CreateStack" && names(l, key))];
        assert!(log[auth].at >= created.at + OPERATION, "AUTH created before {key} was done");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_deletes_auth_before_vpc_and_s3_begin() {
    let c = cloud().await;
    let plan = plan(&c).await;
    apply(&c, &plan).await;
    let inst: Installation = c.p.discover(Some(ORG)).await.expect("discover").pop().expect("install");
    let rp = c.p.revoke_plan(&inst).await.expect("revoke plan");
    c.sim.requests();
    let (tx, mut rx) = mpsc::channel(4096);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let residue = c.p.revoke(&rp, &[], tx, CancellationToken::new()).await.expect("revoke");
    assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    let log = c.sim.requests();
    let first_write = first(&log, Logged::is_write);
    let auth = first(&log, |l| l.action == "DeleteStack" && names(l, "auth"));
    assert_eq!(first_write, auth, "the first write of a revoke is AUTH's DeleteStack: {:?}", log[first_write]);
    // The poll that saw AUTH gone came before anything else was deleted.
    let gone_seen =
        first(&log, |l| l.action == "DescribeStackEvents" && names(l, "auth") && l.at >= log[auth].at + OPERATION);
    for key in ["vpc", "s3"] {
        let deleted = first(&log, |l| l.action == "DeleteStack" && names(l, key));
        assert!(deleted > gone_seen, "{key} deleted at {deleted}, before AUTH was seen gone at {gone_seen}");
        assert!(log[deleted].at >= log[auth].at + OPERATION, "{key} deleted while AUTH was still deleting");
    }
    // The data key is scheduled for deletion only once AUTH, its stack, is gone.
    let key = first(&log, |l| l.action == "ScheduleKeyDeletion");
    assert!(key > gone_seen, "ScheduleKeyDeletion at {key}, before AUTH was seen gone at {gone_seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_makes_and_reads_its_change_set_before_executing_it() {
    let c = cloud().await;
    let mut plan = plan(&c).await;
    apply(&c, &plan).await;
    // A new ExternalId: the AUTH stack has something to change.
    let p = plan
        .groups
        .iter_mut()
        .flat_map(|g| g.parameters.iter_mut())
        .find(|p| p.name == "ExternalId")
        .expect("ExternalId");
    p.value = "a-new-external-id-0123456789".into();
    let log = apply(&c, &plan).await;
    let made = first(&log, |l| l.action == "CreateChangeSet" && names(l, "auth"));
    let read = made + first(&log[made..], |l| l.action == "DescribeChangeSet" && names(l, "auth"));
    let executed = first(&log, |l| l.action == "ExecuteChangeSet" && names(l, "auth"));
    assert!(
        made < read && read < executed,
        "CreateChangeSet {made}, DescribeChangeSet {read}, ExecuteChangeSet {executed}"
    );
    assert!(!log.iter().any(|l| l.action == "UpdateStack"), "an update goes through its change set");
    let first_write = first(&log, Logged::is_write);
    assert_eq!(
        log[first_write].action, "CreateChangeSet",
        "nothing is written before a change set: {:?}",
        log[first_write]
    );
    assert!(!log.iter().any(|l| l.action == "ExecuteChangeSet" && !names(l, "auth")), "only AUTH has changes");
}
