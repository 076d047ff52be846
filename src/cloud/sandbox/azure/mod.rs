//! The sandbox's simulated Azure: a tenant with two subscriptions that answers the Azure Resource
//! Manager and Microsoft Graph calls of `docs/azure-calls.md` as Azure does, so the sandbox runs
//! the Azure provider's own code through the [`Transport`] trait.
//!
//! - State persists in `azure.json` in the sandbox directory; every call reads it and every call
//!   that changes something writes it back atomically, under a lock shared with other processes
//!   (`StateFile::update`), so `init` then a later `revoke` works across processes and two
//!   processes at once never lose each other's changes. A file that cannot be read is never
//!   overwritten.
//! - Deployment stacks deploy the template they are sent with the same evaluator the preview
//!   uses ([`crate::plan::azure::arm`]): resource groups and resources are created one after
//!   another, each step's times divided by the sandbox speed and stored as timestamps; every call
//!   first applies what has finished by now.
//! - `--sandbox-fail <logical id>` (the templates' `metadata.cloudgrant.id`, or
//!   `VendorServicePrincipal`) makes that resource fail with the error Azure would give.
//! - Calls the simulation does not know answer 404 in ARM's (or Graph's) format, naming the call.

// Handlers answer a finished `ApiResponse` on either side of their `Result` (an error answer is as
// much an answer as a success), once per call: boxing it would only add noise.
#![allow(clippy::result_large_err)]

mod deploy;
mod faults;
mod graph;
mod reply;
mod resources;
mod stacks;
pub mod state;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;

use super::SandboxConfig;
use crate::cloud::azure::transport::{ApiRequest, ApiResponse, Endpoints, Service, Transport, TransportError};
use crate::cloud::CloudError;
use faults::Faults;
use reply::Answer;
use state::{Store, World};

pub use faults::known_ids;
pub use state::{CALLER, FILE_NAME, SUBSCRIPTIONS, TENANT_ID, TENANT_NAME};

/// What both services' base URL is in the sandbox: the URLs it hands out (async operations,
/// next pages) start with it.
pub const BASE: &str = "sandbox://azure";

/// The simulated Azure, answering [`ApiRequest`]s.
#[derive(Debug, Clone)]
pub struct SimulatedAzure {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    speed: f64,
    faults: Faults,
    endpoints: Endpoints,
    /// Application id → display name, for the service principals Graph creates from them.
    apps: BTreeMap<String, String>,
    /// One call at a time in this process: load, change, save.
    lock: Mutex<()>,
}

impl SimulatedAzure {
    /// The simulated Azure whose state lives in `config.dir`. `apps` names the multi-tenant
    /// applications the tenant can meet ((app id, display name)); any other well-formed app id
    /// gets a generic name. Fails on a state file that cannot be read, or on a `--sandbox-fail`
    /// id the templates do not define.
    pub fn open(config: &SandboxConfig, apps: &[(&str, &str)]) -> Result<SimulatedAzure, CloudError> {
        SimulatedAzure::open_with_pack(config, apps, &crate::pack::Pack::bundled())
    }

    /// [`SimulatedAzure::open`] for the templates of `pack` (the pack in use): `--sandbox-fail`
    /// takes its logical ids.
    pub fn open_with_pack(
        config: &SandboxConfig,
        apps: &[(&str, &str)],
        pack: &crate::pack::Pack,
    ) -> Result<SimulatedAzure, CloudError> {
        let faults = Faults::new(&config.fail, pack)?;
        let store = Store::new(&config.dir);
        // Read it once now, so a corrupt file stops us before anything else happens.
        store.load()?;
        Ok(SimulatedAzure {
            inner: Arc::new(Inner {
                store,
                speed: config.speed,
                faults,
                endpoints: Endpoints::all_at(BASE),
                apps: apps.iter().map(|(id, name)| (id.to_ascii_lowercase(), (*name).to_string())).collect(),
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

    /// Answer one call as if it were `now` (tests look ahead in time this way).
    pub fn answer_at(&self, request: &ApiRequest, now: DateTime<Utc>) -> Result<ApiResponse, TransportError> {
        let inner = &self.inner;
        // A panic elsewhere cannot leave the state half-written (saves are atomic), so a
        // poisoned lock is safe to take over.
        let _guard = inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        let as_transport = |e: CloudError| TransportError { message: e.to_string(), next_step: e.next_step() };
        inner
            .store
            .update(|world| {
                let mut ctx = Ctx {
                    world,
                    now,
                    speed: inner.speed,
                    faults: &inner.faults,
                    apps: &inner.apps,
                    base: BASE,
                    dirty: false,
                };
                // Whatever has finished by now happens first, so every answer sees the present.
                stacks::advance(&mut ctx);
                let response = route(&mut ctx, request);
                (response, ctx.dirty)
            })
            .map_err(as_transport)
    }
}

impl Transport for SimulatedAzure {
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
    pub apps: &'a BTreeMap<String, String>,
    /// The base of the absolute URLs handed out.
    pub base: &'a str,
    /// Set by handlers that change the world: it is saved after the call.
    pub dirty: bool,
}

impl Ctx<'_> {
    /// `seconds` of simulated time after `from`.
    pub fn after(&self, from: DateTime<Utc>, seconds: f64) -> DateTime<Utc> {
        from + Duration::milliseconds((seconds * 1000.0 / self.speed).max(1.0) as i64)
    }

    /// `Retry-After` for long-running operations: ARM's usual 5 seconds, at the sandbox's speed.
    pub fn retry_after(&self) -> StdDuration {
        StdDuration::from_secs_f64((5.0 / self.speed).clamp(0.005, 5.0))
    }

    /// The subscription id as the simulation knows it, or ARM's 404.
    pub fn subscription(&self, sub: &str) -> Result<&'static str, ApiResponse> {
        SUBSCRIPTIONS
            .iter()
            .find(|(id, _, _)| id.eq_ignore_ascii_case(sub))
            .map(|(id, _, _)| *id)
            .ok_or_else(|| reply::subscription_not_found(sub))
    }
}

/// The principal and client ids of the user-assigned identity `id`: derived from its id, so the
/// templates' `reference()` and the identity itself agree in every process.
pub(crate) fn guid_for_identity(id: &str) -> (String, String) {
    let id = id.to_ascii_lowercase();
    (state::guid_from(&format!("principal:{id}")), state::guid_from(&format!("client:{id}")))
}

/// One path segment: as sent (decoded) and lowercased for matching, since ARM paths are
/// case-insensitive.
pub(crate) struct Seg {
    pub text: String,
    pub lower: String,
}

fn route(ctx: &mut Ctx, req: &ApiRequest) -> ApiResponse {
    // A query written into the path counts as query parameters.
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
    let segs: Vec<Seg> = req
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let text = reply::percent_decode(s);
            Seg { lower: text.to_ascii_lowercase(), text }
        })
        .collect();
    let answer: Option<Answer> = match req.service {
        Service::Arm => {
            if req.query_value("api-version").is_none_or(str::is_empty) {
                return reply::arm(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                );
            }
            resources::route(ctx, req, &segs).or_else(|| stacks::route(ctx, req, &segs))
        }
        Service::Graph => graph::route(ctx, req, &segs),
    };
    match answer {
        Some(Ok(r)) | Some(Err(r)) => r,
        None => reply::unknown_call(req),
    }
}
