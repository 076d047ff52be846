//! Latency benchmark: init (its preview, then the apply) and revoke on Google Cloud and Azure against the wiremock
//! doubles of tests/support, every answer delayed by a fixed per-call latency (0, 100 and 300 ms;
//! the server answers calls side by side, so overlapping calls really overlap) and every
//! long-running operation (the APIs' enable, a stack's deployment or deletion) taking
//! [`OPERATION`]. Prints, per cloud and command: the wall time (median of [`RUNS`]), the requests,
//! the most requests in flight at once, and wall ÷ critical path, where the critical path is the
//! longest chain of calls that truly depend on each other (ROUNDS_*, a round trip each) plus the
//! operations on that chain. `cargo bench --bench clouds`; under `cargo test` it runs each
//! command once without latency, as a check that the bench still works.
#![allow(clippy::expect_used, clippy::unwrap_used)] // benches: a panic is the failure report

#[path = "common.rs"]
mod common;
#[path = "../support/fake_azure.rs"]
mod fake_azure;
#[path = "../support/fake_google.rs"]
mod fake_google;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudgrant::cloud::azure::{self, Azure, AzureOptions, SubscriptionInfo};
use cloudgrant::cloud::gcp::{self, Gcp, GcpOptions};
use cloudgrant::model::{Installation, RevokePlan};
use cloudgrant::plan::Choices;
use cloudgrant::vendor::VendorProfile;
use common::{drain, max_in_flight, median, row, Sample, OPERATION, RUNS};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The critical paths, in round trips. A call that starts an operation reaches the double at
/// once (only its answer is delayed), so the operation runs during that call's round trip: a
/// started operation costs its time plus the round trip of the poll that sees it done.
/// GCP preview: the survey's reads, side by side (no policy of a new install's resources to read).
const ROUNDS_GCP_PREVIEW: u32 = 1;
/// GCP apply, right after its preview (whose survey it uses, src/cloud/fresh.rs): the poll that
/// sees the APIs' enable done; roles, service account and key ring created; the key created and
/// the service account read back; the service account read again (IAM shows it a moment after
/// creating it: the double hides it from the first read); the new targets' policies read; the
/// policies written. Plus one operation.
const ROUNDS_GCP_INIT: u32 = 6;
/// GCP revoke: the bindings' policies read (beside the key versions and the ownership re-reads);
/// the bindings removed; the service account, role and key versions removed; the checks.
const ROUNDS_GCP_REVOKE: u32 = 4;
/// Azure preview: the groups and stacks; a resource group to read permissions at (none exists
/// yet), beside the name checks and the soft-deleted vault; the permissions.
const ROUNDS_AZURE_PREVIEW: u32 = 3;
/// Azure apply, right after its preview: the groups and stacks read again (deployment stacks take
/// no precondition); the poll that sees the storage stack done (the service principal's read and
/// POST beside it); the poll that sees the main stack done; the settled main stack. Plus two
/// operations (the stacks, one after the other: the main stack's data access lives in the
/// storage group).
const ROUNDS_AZURE_INIT: u32 = 4;
/// Azure revoke: the main stack read again; the poll that sees its deletion done; the storage
/// stack read again; the poll that sees its deletion done; the checks. Plus two operations.
const ROUNDS_AZURE_REVOKE: u32 = 5;

const PROJECT: &str = "acme-prod-123";
const SUB: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
const ORG: &str = "acme-research";

/// Delays every answer and records when each request came.
struct Delayed<R> {
    inner: R,
    delay: Duration,
    /// When each request came, with its method and path (printed with `CLOUDGRANT_BENCH_LOG=1`).
    log: Log,
}

impl<R: Respond> Respond for Delayed<R> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.log.lock().unwrap().push((Instant::now(), format!("{} {}", request.method, request.url.path())));
        self.inner.respond(request).set_delay(self.delay)
    }
}

type Log = Arc<Mutex<Vec<(Instant, String)>>>;

async fn server(delay: Duration, responder: impl Respond + 'static) -> (MockServer, Log) {
    let server = MockServer::start().await;
    let log = Log::default();
    let delayed = Delayed { inner: responder, delay, log: log.clone() };
    Mock::given(any()).respond_with(delayed).mount(&server).await;
    (server, log)
}

async fn measure<F: std::future::Future<Output = ()>>(log: &Log, delay: Duration, f: F) -> Sample {
    log.lock().unwrap().clear();
    let start = Instant::now();
    f.await;
    let wall = start.elapsed();
    let calls = log.lock().unwrap().clone();
    if std::env::var_os("CLOUDGRANT_BENCH_LOG").is_some() {
        for (at, call) in &calls {
            eprintln!("{:>6} ms {call}", at.duration_since(start).as_millis());
        }
        eprintln!("-- {} requests, {:.2} s", calls.len(), wall.as_secs_f64());
    }
    let a: Vec<Instant> = calls.iter().map(|(at, _)| *at).collect();
    Sample { wall, requests: a.len(), in_flight: max_in_flight(&a, delay) }
}

async fn gcp(delay: Duration, operation: Duration) -> (Sample, Sample, Sample) {
    let fake = fake_google::FakeGoogle::new(PROJECT);
    fake.with(|s| {
        // Storage is on in every new project; the install enables the rest.
        s.enabled.insert("storage.googleapis.com".into());
        s.operation_time = Some(operation);
    });
    let (server, log) = server(delay, fake).await;
    let vendor = VendorProfile::bundled().expect("vendor");
    let dir = tempfile::tempdir().expect("tempdir");
    let transport: gcp::SharedTransport = Arc::new(gcp::HttpTransport::new(
        gcp::Endpoints::all_at(&server.uri()),
        gcp::TokenSource::fixed(fake_google::TOKEN),
    ));
    // The production poll interval (1.5 s).
    let options = GcpOptions { manifest_dir: Some(dir.path().to_path_buf()), ..GcpOptions::default() };
    let g = Gcp::with_transport(transport, PROJECT, "admin@acme.example", "bench", &vendor, options);
    let choices =
        Choices { org: ORG.into(), region: "europe-west1".into(), account: Some(PROJECT.into()), external_id: None };
    let plan = cloudgrant::plan::gcp::build(&vendor, &choices).expect("plan");
    let mut inst: Option<Installation> = None;
    // As `cloudgrant init` and the wizard do: the preview, then the apply it serves.
    let preview = measure(&log, delay, async {
        g.preview_changes(&plan).await.expect("gcp preview");
    })
    .await;
    let init = measure(&log, delay, async {
        let (tx, rx) = mpsc::channel(4096);
        drain(rx);
        inst = Some(g.apply(&plan, tx, CancellationToken::new()).await.expect("gcp apply"));
    })
    .await;
    let rp: RevokePlan = g.revoke_plan(inst.as_ref().expect("installed")).await.expect("gcp revoke plan");
    let revoke = measure(&log, delay, async {
        let (tx, rx) = mpsc::channel(4096);
        drain(rx);
        let residue = g.revoke(&rp, &[], tx, CancellationToken::new()).await.expect("gcp revoke");
        assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    })
    .await;
    (preview, init, revoke)
}

async fn azure(delay: Duration, operation: Duration) -> (Sample, Sample, Sample) {
    let fake = fake_azure::FakeAzure::new(SUB);
    let (server, log) = server(delay, fake.clone()).await;
    fake.with(|s| {
        s.base = server.uri();
        s.operation_time = Some(operation);
        // A subscription in use has a resource group already: the permissions are read there.
        s.groups.insert(
            "NetworkWatcherRG".into(),
            serde_json::json!({"id": format!("/subscriptions/{SUB}/resourceGroups/NetworkWatcherRG"), "name": "NetworkWatcherRG",
                "type": "Microsoft.Resources/resourceGroups", "location": "westeurope", "properties": {"provisioningState": "Succeeded"}}),
        );
    });
    let vendor = VendorProfile::bundled().expect("vendor");
    let info = SubscriptionInfo {
        subscription_id: SUB.into(),
        display_name: "Acme production".into(),
        tenant_id: fake_azure::TENANT.into(),
        state: "Enabled".into(),
    };
    let transport: azure::SharedTransport = Arc::new(azure::HttpTransport::new(
        azure::Endpoints::all_at(&server.uri()),
        azure::TokenSource::fixed(fake_azure::TOKEN),
    ));
    // The production poll interval (2 s).
    let options = AzureOptions { sandbox: false, ..AzureOptions::default() };
    let a = Azure::with_transport(transport, info, "admin@acme.example", "bench", &vendor, options);
    let choices =
        Choices { org: ORG.into(), region: "westeurope".into(), account: Some(SUB.into()), external_id: None };
    let plan = cloudgrant::plan::azure::build(&vendor, &choices, "k3x9q2ab").expect("plan");
    let mut inst: Option<Installation> = None;
    let preview = measure(&log, delay, async {
        a.preview_changes(&plan).await.expect("azure preview");
    })
    .await;
    let init = measure(&log, delay, async {
        let (tx, rx) = mpsc::channel(8192);
        drain(rx);
        inst = Some(a.apply(&plan, tx, CancellationToken::new()).await.expect("azure apply"));
    })
    .await;
    let rp = a.revoke_plan(inst.as_ref().expect("installed")).await.expect("azure revoke plan");
    let revoke = measure(&log, delay, async {
        let (tx, rx) = mpsc::channel(8192);
        drain(rx);
        let residue = a.revoke(&rp, &[], tx, CancellationToken::new()).await.expect("azure revoke");
        assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    })
    .await;
    (preview, init, revoke)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    if !bench {
        // `cargo test`: each command once, without latency, short operations.
        rt.block_on(async {
            let (p, i, r) = gcp(Duration::ZERO, Duration::from_millis(50)).await;
            assert!(p.requests > 0 && i.requests > 0 && r.requests > 0);
            let (p, i, r) = azure(Duration::ZERO, Duration::from_millis(50)).await;
            assert!(p.requests > 0 && i.requests > 0 && r.requests > 0);
        });
        return;
    }
    common::header();
    // `CLOUDGRANT_BENCH_MS=100,300` measures those latencies only.
    let latencies: Vec<u64> = std::env::var("CLOUDGRANT_BENCH_MS")
        .ok()
        .map(|v| v.split(',').filter_map(|m| m.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![0, 100, 300]);
    for ms in latencies {
        let delay = Duration::from_millis(ms);
        let (mut gp, mut gi, mut gr) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ap, mut ai, mut ar) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let (p, i, r) = rt.block_on(gcp(delay, OPERATION));
            gp.push(p);
            gi.push(i);
            gr.push(r);
            let (p, i, r) = rt.block_on(azure(delay, OPERATION));
            ap.push(p);
            ai.push(i);
            ar.push(r);
        }
        row("GCP preview", delay, ROUNDS_GCP_PREVIEW, 0, &median(gp));
        row("GCP init", delay, ROUNDS_GCP_INIT, 1, &median(gi));
        row("GCP revoke", delay, ROUNDS_GCP_REVOKE, 0, &median(gr));
        row("Azure preview", delay, ROUNDS_AZURE_PREVIEW, 0, &median(ap));
        row("Azure init", delay, ROUNDS_AZURE_INIT, 2, &median(ai));
        row("Azure revoke", delay, ROUNDS_AZURE_REVOKE, 2, &median(ar));
    }
}
