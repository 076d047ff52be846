//! The Google Cloud provider against the wiremock double of tests/support/fake_google.rs: the
//! names of the test install, a provider connected to a fresh double, and readers of what a run sent.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use cloudgrant::cloud::gcp::{Endpoints, Gcp, GcpOptions, HttpTransport, SharedTransport, TokenSource};
use cloudgrant::cloud::CloudError;
use cloudgrant::model::{Plan, Status, Update};
use cloudgrant::plan::Choices;
use cloudgrant::vendor::VendorProfile;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request};

use super::fake_google::{FakeGoogle, TOKEN};

pub const PROJECT: &str = "acme-prod-123";
pub const ORG: &str = "acme-research";
pub const INSTALL: &str = "acmeml-acme-research";
pub const VENDOR_SA: &str = "serviceAccount:acmeml-control@acmeml-prod.iam.gserviceaccount.com";
pub const VM_SA: &str = "cg-acme-research-vm@acme-prod-123.iam.gserviceaccount.com";
pub const ROLE: &str = "projects/acme-prod-123/roles/acmeml_acme_research_manager";
pub const BUCKET: &str = "acme-prod-123-acme-research-data";
pub const KEY: &str = "projects/acme-prod-123/locations/europe-west1/keyRings/acmeml-acme-research/cryptoKeys/data";

pub struct Env {
    pub server: MockServer,
    pub fake: FakeGoogle,
    pub gcp: Gcp,
    pub vendor: VendorProfile,
    pub _dir: tempfile::TempDir,
}

pub fn transport(server: &MockServer) -> SharedTransport {
    Arc::new(HttpTransport::new(Endpoints::all_at(&server.uri()), TokenSource::fixed(TOKEN)))
}

pub async fn env() -> Env {
    env_with(VendorProfile::bundled().expect("vendor")).await
}

/// A provider for `vendor`'s pack, connected to a fresh double.
pub async fn env_with(vendor: VendorProfile) -> Env {
    let server = MockServer::start().await;
    let fake = FakeGoogle::new(PROJECT);
    Mock::given(any()).respond_with(fake.clone()).mount(&server).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let options = GcpOptions {
        manifest_dir: Some(dir.path().to_path_buf()),
        poll_interval: Duration::from_millis(5),
        sandbox: false,
    };
    let gcp = Gcp::with_transport(transport(&server), PROJECT, "admin@acme.example", "test token", &vendor, options);
    Env { server, fake, gcp, vendor, _dir: dir }
}

pub fn plan(vendor: &VendorProfile) -> Plan {
    let choices =
        Choices { org: ORG.into(), region: "europe-west1".into(), account: Some(PROJECT.into()), external_id: None };
    cloudgrant::plan::gcp::build(vendor, &choices).expect("plan")
}

pub fn drain(rx: &mut mpsc::Receiver<Update>) -> Vec<Update> {
    let mut out = Vec::new();
    while let Ok(u) = rx.try_recv() {
        out.push(u);
    }
    out
}

pub fn events(updates: &[Update]) -> Vec<(String, Status, String)> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Event(e) => Some((e.resource.clone(), e.status, e.reason.clone().unwrap_or_default())),
            _ => None,
        })
        .collect()
}

pub fn logs(updates: &[Update]) -> Vec<String> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Log { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

pub async fn apply(env: &Env) -> (Result<cloudgrant::model::Installation, CloudError>, Vec<Update>) {
    let (tx, mut rx) = mpsc::channel(4096);
    let r = env.gcp.apply(&plan(&env.vendor), tx, CancellationToken::new()).await;
    (r, drain(&mut rx))
}

pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("recording is on")
}

pub fn line(r: &Request) -> String {
    format!("{} {}", r.method, r.url.path())
}

pub fn is_write(r: &Request) -> bool {
    r.method.as_str() != "GET" && !r.url.path().ends_with(":getIamPolicy")
}
