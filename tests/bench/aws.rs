//! Latency benchmark for AWS: init (apply) and revoke against the simulated AWS
//! (`cloud::sandbox::aws`: the SDK's own requests, answered in each service's wire format), every
//! answer sent a fixed latency after its request came (0, 100 and 300 ms; requests are answered
//! side by side, so overlapping calls really overlap) and every stack operation taking
//! [`OPERATION`]. Prints, per command: the wall time (median of [`RUNS`]), the requests, the most
//! requests in flight at once, and wall ÷ critical path (ROUNDS_*, a round trip each, plus the
//! operations on that chain). `cargo bench --bench aws`; under `cargo test` it runs each command
//! once without latency, as a check that the bench still works.
#![allow(clippy::expect_used, clippy::unwrap_used)] // benches: a panic is the failure report

#[path = "common.rs"]
mod common;

use std::time::Duration;

use cloudgrant::cloud::aws::{poller::Cadence, Aws, AwsOptions};
use cloudgrant::cloud::sandbox::aws::{Knobs, Logged, SimulatedAws, Timing};
use cloudgrant::cloud::sandbox::{aws_sdk_config, SandboxConfig};
use cloudgrant::cloud::Provider;
use cloudgrant::plan::Choices;
use cloudgrant::vendor::VendorProfile;
use common::{drain, max_in_flight, median, row, Sample, OPERATION, RUNS};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The critical paths, in round trips. A call that starts an operation reaches the double at
/// once (only its answer is delayed), so the operation runs during that call's round trip: a
/// started operation costs its time plus the round trip of the poll that sees it done.
/// AWS init (every refusal before any write): the stacks read (none is there yet); the kept
/// bucket a new stack would meet (HeadBucket); the poll that sees the VPC and S3 stacks created;
/// their outputs read (AUTH takes them as parameters); the poll that sees AUTH created; the
/// install read back (the stacks); their resources (the key's id is among them); the key's
/// state. Plus two operations (VPC and S3 side by side, then AUTH).
const ROUNDS_INIT: u32 = 8;
/// AWS revoke (the vendor's access, the AUTH stack, first): AUTH read again (is it still this
/// install's?); the poll that sees it deleted; the poll that sees the VPC and S3 stacks deleted;
/// the retained key's deletion scheduled (its answer is the check); the kept bucket's objects
/// counted. Plus two operations (AUTH, then VPC and S3 side by side).
const ROUNDS_REVOKE: u32 = 5;

const ACCOUNT: &str = "210987654321";
const REGION: &str = "eu-west-1";
const ORG: &str = "acme-research";

fn sample(wall: Duration, log: &[Logged], delay: Duration) -> Sample {
    let arrivals: Vec<_> = log.iter().map(|l| l.at).collect();
    Sample { wall, requests: log.len(), in_flight: max_in_flight(&arrivals, delay) }
}

/// Per action, how many requests (for `--verbose`).
fn tally(log: &[Logged]) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for l in log {
        *counts.entry(l.action.as_str()).or_default() += 1;
    }
    counts.iter().map(|(a, n)| format!("{a} {n}")).collect::<Vec<_>>().join(", ")
}

async fn aws(delay: Duration, operation: Duration, verbose: bool) -> (Sample, Sample) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = SandboxConfig { dir: dir.path().to_path_buf(), speed: 1.0, fail: Vec::new() };
    let timing = Timing { latency: delay, operation: Some(operation), record: true };
    let sim = SimulatedAws::open_timed(&config, &[ACCOUNT], Knobs::default(), timing).expect("simulated AWS");
    let sdk = aws_sdk_config(sim.clone(), ACCOUNT, REGION, 1.0);
    // The production poll cadence.
    let options = AwsOptions { source: "bench".into(), cadence: Some(Cadence::default()), sandbox: false };
    let vendor = VendorProfile::bundled().expect("vendor");
    let p = Provider::Aws(Aws::with_config(sdk, &vendor, options).await.expect("connect"));
    let choices = Choices { org: ORG.into(), region: REGION.into(), account: None, external_id: None };
    let plan = p.plan(&vendor, &choices).await.expect("plan");
    sim.requests();
    let (tx, rx) = mpsc::channel(8192);
    drain(rx);
    let start = std::time::Instant::now();
    let inst = p.apply(&plan, tx, CancellationToken::new()).await.expect("aws apply");
    let wall = start.elapsed();
    let log = sim.requests();
    if verbose {
        eprintln!("init: {}", tally(&log));
    }
    let init = sample(wall, &log, delay);
    let rp = p.revoke_plan(&inst).await.expect("aws revoke plan");
    sim.requests();
    let (tx, rx) = mpsc::channel(8192);
    drain(rx);
    let start = std::time::Instant::now();
    let residue = p.revoke(&rp, &[], tx, CancellationToken::new()).await.expect("aws revoke");
    let wall = start.elapsed();
    assert!(residue.checks.iter().all(|c| c.ok), "{:?}", residue.checks);
    let log = sim.requests();
    if verbose {
        eprintln!("revoke: {}", tally(&log));
    }
    (init, sample(wall, &log, delay))
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let verbose = std::env::args().any(|a| a == "--verbose");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    if !bench {
        // `cargo test`: each command once, without latency, short operations.
        let (i, r) = rt.block_on(aws(Duration::ZERO, Duration::from_millis(50), false));
        assert!(i.requests > 0 && r.requests > 0);
        return;
    }
    common::header();
    for ms in [0u64, 100, 300] {
        let delay = Duration::from_millis(ms);
        let (mut inits, mut revokes) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let (i, r) = rt.block_on(aws(delay, OPERATION, verbose));
            inits.push(i);
            revokes.push(r);
        }
        row("AWS init", delay, ROUNDS_INIT, 2, &median(inits));
        row("AWS revoke", delay, ROUNDS_REVOKE, 2, &median(revokes));
    }
}
