//! The sandbox's simulated Google Cloud: two projects that answer the REST calls of
//! `docs/gcp-calls.md` as Google does, so the sandbox runs the GCP provider's own code through the
//! [`Transport`] trait.
//!
//! - State persists in `google.json` in the sandbox directory; every call reads it and every call
//!   that changes something writes it back atomically, under a lock shared with other processes
//!   (`StateFile::update`), so `init` then a later `revoke` works across processes and two
//!   processes at once never lose each other's changes. A file that cannot be read is never
//!   overwritten.
//! - Durations (an API being enabled, a service account becoming visible, the vendor's objects
//!   appearing in the bucket) are divided by the sandbox speed and stored as timestamps.
//! - `--sandbox-fail <logical id>` (ids of the pack's `gcp/install.yaml`) makes the call that creates
//!   that resource answer the error Google would give.
//! - Calls the simulation does not know answer 404 in Google's format, naming the call.

mod faults;
mod iam;
mod kms;
mod policy;
mod projects;
mod reply;
pub mod state;
mod storage;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;

use super::SandboxConfig;
use crate::cloud::gcp::transport::{ApiRequest, ApiResponse, Endpoints, Service, Transport, TransportError};
use crate::cloud::CloudError;
use crate::pack::PackFile;
use faults::Faults;
use reply::Answer;
use state::{Project, Store, World};

pub use state::{CALLER, FILE_NAME, PROJECTS};

/// What every service's base URL is in the sandbox (for messages).
pub const BASE: &str = "sandbox://google";

/// The simulated projects for the Account screen: (project id, project number, display name).
pub fn projects() -> Vec<(&'static str, &'static str, &'static str)> {
    PROJECTS.to_vec()
}

/// The simulated Google Cloud, answering [`ApiRequest`]s.
#[derive(Debug, Clone)]
pub struct SimulatedGoogle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    speed: f64,
    faults: Faults,
    endpoints: Endpoints,
    /// One call at a time in this process: load, change, save.
    lock: Mutex<()>,
}

impl SimulatedGoogle {
    /// The simulated cloud whose state lives in `config.dir`. Fails on a state file that cannot be
    /// read, or on a `--sandbox-fail` id that `definitions` (the pack's `gcp/install.yaml`) does
    /// not define.
    pub fn open(config: &SandboxConfig, definitions: PackFile) -> Result<SimulatedGoogle, CloudError> {
        let faults = Faults::new(&config.fail, definitions)?;
        let store = Store::new(&config.dir);
        // Read it once now, so a corrupt file stops us before anything else happens.
        store.load()?;
        Ok(SimulatedGoogle {
            inner: Arc::new(Inner {
                store,
                speed: config.speed,
                faults,
                endpoints: Endpoints::all_at(BASE),
                lock: Mutex::new(()),
            }),
        })
    }

    pub fn state_path(&self) -> &Path {
        self.inner.store.path()
    }

    /// Answer one call now (what [`Transport::send`] does).
    pub fn answer(&self, request: &ApiRequest) -> Result<ApiResponse, TransportError> {
        self.answer_at(request, Utc::now())
    }

    /// Answer one call as if it were `now` (tests step through time this way instead of sleeping).
    pub fn answer_at(&self, request: &ApiRequest, now: DateTime<Utc>) -> Result<ApiResponse, TransportError> {
        let inner = &self.inner;
        // A panic elsewhere cannot leave the state half-written (saves are atomic), so a
        // poisoned lock is safe to take over.
        let _guard = inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        let as_transport = |e: CloudError| TransportError { message: e.to_string(), next_step: e.next_step() };
        inner
            .store
            .update(|world| {
                let mut ctx = Ctx { world, now, speed: inner.speed, faults: &inner.faults, dirty: false };
                let response = route(&mut ctx, request);
                (response, ctx.dirty)
            })
            .map_err(as_transport)
    }
}

impl Transport for SimulatedGoogle {
    fn send(&self, request: ApiRequest) -> BoxFuture<'_, Result<ApiResponse, TransportError>> {
        Box::pin(async move { self.answer(&request) })
    }

    fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }
}

/// One call's view of the world.
pub(crate) struct Ctx<'a> {
    pub world: &'a mut World,
    pub now: DateTime<Utc>,
    pub speed: f64,
    pub faults: &'a Faults,
    /// Set by handlers that change the world: it is saved after the call.
    pub dirty: bool,
}

impl Ctx<'_> {
    /// `seconds` of simulated time from now.
    pub fn later(&self, seconds: f64) -> DateTime<Utc> {
        self.now + Duration::milliseconds((seconds * 1000.0 / self.speed).max(1.0) as i64)
    }

    /// The project id for `p` (id or number), or the 403 Google gives for a project the caller
    /// cannot see.
    pub fn project_id(&self, p: &str, permission: &str, domain: &str) -> Result<String, ApiResponse> {
        self.world.project_key(p).ok_or_else(|| reply::denied(permission, &format!("projects/{p}"), domain, ""))
    }

    pub fn project(&self, id: &str) -> Result<&Project, ApiResponse> {
        self.world.projects.get(id).ok_or_else(|| invariant(id))
    }

    pub fn project_mut(&mut self, id: &str) -> Result<&mut Project, ApiResponse> {
        self.world.projects.get_mut(id).ok_or_else(|| invariant(id))
    }

    /// Enabled now (an API whose enabling is set to fail stays disabled).
    pub fn api_enabled(&self, project: &Project, api: &str) -> bool {
        project.services.get(api).is_some_and(|t| *t <= self.now) && self.faults.api(api).is_none()
    }

    /// 403 SERVICE_DISABLED unless `api` is enabled in the project.
    pub fn require_api(&self, id: &str, api: &str) -> Result<(), ApiResponse> {
        let project = self.project(id)?;
        if self.api_enabled(project, api) {
            return Ok(());
        }
        let disabled = reply::service_disabled(api, &project.number);
        if api == Service::Storage.api() {
            let message = disabled.body["error"]["message"].as_str().unwrap_or_default().to_string();
            return Err(reply::storage(403, "accessNotConfigured", message));
        }
        Err(disabled)
    }
}

fn invariant(id: &str) -> ApiResponse {
    reply::google(
        500,
        "INTERNAL",
        format!("sandbox: project {id} vanished during the call; report this as a bug"),
        Vec::new(),
    )
}

/// Split `/v1/projects/p/roles/r:undelete` into decoded segments and the verb after the last `:`.
fn split(path: &str) -> (Vec<String>, Option<String>) {
    let mut segs: Vec<String> = path.trim_start_matches('/').split('/').map(reply::percent_decode).collect();
    let mut verb = None;
    if let Some(last) = segs.last_mut() {
        if let Some(at) = last.rfind(':') {
            verb = Some(last[at + 1..].to_string());
            last.truncate(at);
        }
    }
    (segs, verb)
}

fn route(ctx: &mut Ctx, req: &ApiRequest) -> ApiResponse {
    // A query written into the path (`…/services?filter=…`) counts as query parameters.
    let owned;
    let req = match req.path.split_once('?') {
        Some((path, query)) => {
            let mut r = req.clone();
            r.path = path.to_string();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                r.query.push((reply::percent_decode(k), reply::percent_decode(&v.replace('+', " "))));
            }
            owned = r;
            &owned
        }
        None => req,
    };
    let (segs, verb) = split(&req.path);
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let verb = verb.as_deref();
    let answer: Option<Answer> = match req.service {
        Service::ResourceManager => projects::route_projects(ctx, req, &s, verb),
        Service::ServiceUsage => projects::route_services(ctx, req, &s, verb),
        Service::Iam => iam::route(ctx, req, &s, verb),
        Service::Kms => kms::route(ctx, req, &s, verb),
        Service::Storage => storage::route(ctx, req, &s, verb),
    };
    match answer {
        Some(Ok(body)) => reply::ok(body),
        Some(Err(response)) => response,
        None => reply::unknown_call(req),
    }
}
