//! The Azure provider against the wiremock double of tests/support/fake_azure.rs: the names of
//! the test install, a provider connected to a fresh double, and readers of what a run sent.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use cloudgrant::cloud::azure::{
    Azure, AzureOptions, Endpoints, HttpTransport, SharedTransport, SubscriptionInfo, TokenSource,
};
use cloudgrant::cloud::CloudError;
use cloudgrant::model::{Installation, Plan, Status, Update};
use cloudgrant::plan::Choices;
use cloudgrant::vendor::VendorProfile;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request};

use super::fake_azure::{FakeAzure, TENANT, TOKEN};

pub const SUB: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
pub const ORG: &str = "acme-research";
pub const LOCATION: &str = "westeurope";
pub const SUFFIX: &str = "k3x9q2ab";
pub const MAIN: &str = "acmeml-acme-research";
pub const STORAGE: &str = "acmeml-acme-research-storage";
pub const VAULT: &str = "acmeml-kv-k3x9q2ab";
pub const DATA: &str = "acmemldatak3x9q2ab";

pub struct Env {
    pub server: MockServer,
    pub fake: FakeAzure,
    pub azure: Azure,
    pub vendor: VendorProfile,
}

pub fn transport(server: &MockServer) -> SharedTransport {
    Arc::new(HttpTransport::new(Endpoints::all_at(&server.uri()), TokenSource::fixed(TOKEN)))
}

pub async fn env() -> Env {
    let server = MockServer::start().await;
    let fake = FakeAzure::new(SUB);
    fake.with(|s| s.base = server.uri());
    Mock::given(any()).respond_with(fake.clone()).mount(&server).await;
    let vendor = VendorProfile::bundled().expect("vendor");
    let info = SubscriptionInfo {
        subscription_id: SUB.into(),
        display_name: "Acme production".into(),
        tenant_id: TENANT.into(),
        state: "Enabled".into(),
    };
    let options = AzureOptions { poll_interval: Duration::from_millis(10), sandbox: false };
    let azure = Azure::with_transport(transport(&server), info, "admin@acme.example", "test token", &vendor, options);
    Env { server, fake, azure, vendor }
}

pub fn plan(vendor: &VendorProfile) -> Plan {
    let choices = Choices { org: ORG.into(), region: LOCATION.into(), account: Some(SUB.into()), external_id: None };
    cloudgrant::plan::azure::build(vendor, &choices, SUFFIX).expect("plan")
}

pub fn drain(rx: &mut mpsc::Receiver<Update>) -> Vec<Update> {
    let mut out = Vec::new();
    while let Ok(u) = rx.try_recv() {
        out.push(u);
    }
    out
}

/// (group, resource, status, reason)
pub fn events(updates: &[Update]) -> Vec<(String, String, Status, String)> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Event(e) => {
                Some((e.group.clone(), e.resource.clone(), e.status, e.reason.clone().unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}

pub fn statuses(updates: &[Update], resource: &str) -> Vec<Status> {
    events(updates).into_iter().filter(|e| e.1 == resource).map(|e| e.2).collect()
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

pub async fn apply(env: &Env) -> (Result<Installation, CloudError>, Vec<Update>) {
    let (tx, mut rx) = mpsc::channel(8192);
    let r = env.azure.apply(&plan(&env.vendor), tx, CancellationToken::new()).await;
    (r, drain(&mut rx))
}

pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("recording is on")
}

/// Calls that change something (checkNameAvailability is a POST that changes nothing).
pub fn changes(env: &Env) -> Vec<String> {
    env.fake.with(|s| s.writes.iter().filter(|w| !w.contains("checkNameAvailability")).cloned().collect())
}
