//! The sandbox's simulated AWS: two accounts that answer, in-process and in AWS's own wire
//! protocols, the calls `cloud::aws` makes (docs/sandbox.md lists them), so the sandbox runs the
//! AWS provider's own code: the SDK's serializers, its retries, change sets, the event poller,
//! preflight, ordered revoke, the DELETE_FAILED retry and the checks afterwards.
//!
//! - It is an HTTP client for the SDK ([`HttpClient`]): every request is answered here, nothing
//!   leaves the process. The signing credentials name the account; their scope names the service
//!   and region.
//! - State persists in `aws.json` in the sandbox directory; every request reads it and every
//!   request that changes something writes it back atomically ([`SimulatedAws::with_world`]),
//!   so `init` then a later `revoke` works across processes. A file that cannot be read is never
//!   overwritten.
//! - Stack operations are worked out in full when asked for ([`timeline`]), each step's time
//!   divided by the sandbox speed; a later request sees later events.
//! - `--sandbox-fail <logical id>` makes that resource fail: on create the stack rolls back, on
//!   delete it is DELETE_FAILED. `CLOUDGRANT_SANDBOX_THROTTLE` answers that fraction of requests
//!   with the service's throttling error; `CLOUDGRANT_SANDBOX_PAGE_SIZE` sets how many events a
//!   DescribeStackEvents page holds.

mod cfn_xml;
mod cloudformation;
mod render;
mod services;
pub mod state;
#[cfg(test)]
mod tests;
pub mod timeline;
pub mod timing;
mod wire;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use chrono::{DateTime, Utc};
use rand::Rng;

use super::SandboxConfig;
use crate::cloud::CloudError;
use state::{Account, Store, World};
use timeline::Clock;
pub use timing::{Logged, Timing};
pub use wire::Reply;
use wire::Request;

pub use state::FILE_NAME;

pub const ENV_THROTTLE: &str = "CLOUDGRANT_SANDBOX_THROTTLE";
pub const ENV_PAGE_SIZE: &str = "CLOUDGRANT_SANDBOX_PAGE_SIZE";

/// How many events a DescribeStackEvents page holds unless `CLOUDGRANT_SANDBOX_PAGE_SIZE` says.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The signing key id of an account's credentials (the secret is not checked).
pub fn access_key_id(account: &str) -> String {
    format!("ASIASANDBOX{account}")
}

/// The simulated AWS, answering the SDK's requests.
#[derive(Debug, Clone)]
pub struct SimulatedAws {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    speed: f64,
    fail: Vec<String>,
    throttle: f64,
    page_size: usize,
    accounts: Vec<String>,
    /// One request at a time in this process: load, change, save.
    lock: Mutex<()>,
    /// Requests answered with a throttling error so far (for tests and the debug log).
    throttled: AtomicU64,
    timing: Timing,
    log: timing::Log,
}

/// The knobs besides the sandbox config, read from the environment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knobs {
    /// Fraction of requests answered with the service's throttling error.
    pub throttle: f64,
    pub page_size: usize,
}

impl Knobs {
    pub fn from_env() -> Result<Knobs, CloudError> {
        let throttle = match std::env::var(ENV_THROTTLE) {
            Ok(s) if !s.trim().is_empty() => match s.trim().parse::<f64>() {
                Ok(v) if (0.0..=0.9).contains(&v) => v,
                _ => {
                    return Err(CloudError::failed(
                        format!("{ENV_THROTTLE} `{s}` is not a fraction of requests"),
                        format!("Set {ENV_THROTTLE} to a number from 0 to 0.9 (0.3 throttles three requests in ten), or unset it."),
                    ))
                }
            },
            _ => 0.0,
        };
        let page_size = match std::env::var(ENV_PAGE_SIZE) {
            Ok(s) if !s.trim().is_empty() => match s.trim().parse::<usize>() {
                Ok(v) if (1..=100).contains(&v) => v,
                _ => {
                    return Err(CloudError::failed(
                        format!("{ENV_PAGE_SIZE} `{s}` is not a page size"),
                        format!("Set {ENV_PAGE_SIZE} to a number of events from 1 to 100, or unset it."),
                    ))
                }
            },
            _ => DEFAULT_PAGE_SIZE,
        };
        Ok(Knobs { throttle, page_size })
    }
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs { throttle: 0.0, page_size: DEFAULT_PAGE_SIZE }
    }
}

impl SimulatedAws {
    /// The simulated AWS whose state lives in `config.dir`, serving `accounts`. Fails on a state
    /// file that cannot be read.
    pub fn open(config: &SandboxConfig, accounts: &[&str], knobs: Knobs) -> Result<SimulatedAws, CloudError> {
        SimulatedAws::open_timed(config, accounts, knobs, Timing::default())
    }

    /// [`SimulatedAws::open`], spending time as `timing` says (the latency bench, the ordering
    /// tests).
    pub fn open_timed(
        config: &SandboxConfig,
        accounts: &[&str],
        knobs: Knobs,
        timing: Timing,
    ) -> Result<SimulatedAws, CloudError> {
        let store = Store::new(&config.dir);
        // Read it once now, so a corrupt file stops us before anything else happens.
        store.load()?;
        Ok(SimulatedAws {
            inner: Arc::new(Inner {
                store,
                speed: config.speed,
                fail: config.fail.clone(),
                throttle: knobs.throttle,
                page_size: knobs.page_size,
                accounts: accounts.iter().map(|a| a.to_string()).collect(),
                lock: Mutex::new(()),
                throttled: AtomicU64::new(0),
                timing,
                log: timing::Log::default(),
            }),
        })
    }

    pub fn state_path(&self) -> &Path {
        self.inner.store.path()
    }

    /// The requests logged since the last call, in the order they came (empty unless
    /// [`Timing::record`]).
    pub fn requests(&self) -> Vec<Logged> {
        self.inner.log.take()
    }

    /// How many requests this process answered with a throttling error.
    pub fn throttled(&self) -> u64 {
        self.inner.throttled.load(Ordering::Relaxed)
    }

    /// Every access to the state: load, let `f` read or change one account, save if it changed.
    /// (The one place a cross-process lock of the state file goes.)
    fn with_world<T>(&self, account: &str, f: impl FnOnce(&mut Ctx) -> T) -> Result<T, CloudError> {
        let inner = &self.inner;
        // A panic elsewhere cannot leave the state half-written (saves are atomic), so a
        // poisoned lock is safe to take over.
        let _guard = inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        inner.store.update(|world| {
            let now = Utc::now();
            // CloudFormation describes a deleted stack for 90 days, then forgets it.
            for acct in world.accounts.values_mut() {
                acct.stacks.retain(|s| s.deleted_at(now).is_none_or(|d| now - d < chrono::Duration::days(90)));
            }
            let mut ctx = Ctx {
                account: account.to_string(),
                world,
                now,
                clock: Clock { speed: inner.speed, operation: inner.timing.operation },
                fail: &inner.fail,
                page_size: inner.page_size,
            };
            f(&mut ctx)
        })
    }

    /// Answer one request now.
    pub fn answer(&self, req: &Request) -> Reply {
        let Some(scope) = Scope::of(req) else {
            return wire::query_error(403, "MissingAuthenticationToken", "Request is missing Authentication Token", "");
        };
        if self.inner.timing.record {
            self.inner.log.push(&scope.service, req);
        }
        if !self.inner.accounts.contains(&scope.account) {
            return services::invalid_key(&scope.service);
        }
        if self.inner.throttle > 0.0 && rand::rng().random_bool(self.inner.throttle) {
            self.inner.throttled.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(service = %scope.service, "sandbox: throttled");
            return services::throttled(&scope.service);
        }
        let answered = self.with_world(&scope.account, |ctx| match scope.service.as_str() {
            "cloudformation" => cloudformation::handle(ctx, req, &scope.region),
            "iam" => services::iam(ctx, req),
            "sts" => services::sts(ctx, req),
            "kms" => services::kms(ctx, req, &scope.region),
            "ec2" => services::ec2(ctx, req),
            "s3" => services::s3(ctx, req),
            other => wire::query_error(
                400,
                "UnknownService",
                &format!("sandbox: the simulated AWS has no service `{other}`"),
                "",
            ),
        });
        answered.unwrap_or_else(|e| {
            wire::query_error(500, "InternalFailure", &format!("sandbox: {e}. {}", e.next_step()), "")
        })
    }

    fn call(&self, request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let headers = request.headers().iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect();
        let body = request.body().bytes().map(<[u8]>::to_vec).unwrap_or_default();
        let req = Request::new(request.method(), request.uri(), headers, body);
        let reply = self.answer(&req);
        let status = StatusCode::try_from(reply.status).map_err(|e| ConnectorError::other(e.into(), None))?;
        let mut response = HttpResponse::new(status, SdkBody::from(reply.body));
        for (k, v) in reply.headers {
            response.headers_mut().insert(k, v);
        }
        Ok(response)
    }
}

impl HttpConnector for SimulatedAws {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        // Answered now, as the request arrives; the answer travels back for the latency.
        let answer = SimulatedAws::call(self, request);
        let latency = self.inner.timing.latency;
        if latency.is_zero() {
            return HttpConnectorFuture::ready(answer);
        }
        HttpConnectorFuture::new(async move {
            tokio::time::sleep(latency).await;
            answer
        })
    }
}

impl HttpClient for SimulatedAws {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// Who signed the request, for which service and region (SigV4's credential scope:
/// `Credential=KEY/DATE/REGION/SERVICE/aws4_request`).
struct Scope {
    account: String,
    region: String,
    service: String,
}

impl Scope {
    fn of(req: &Request) -> Option<Scope> {
        let auth = req.headers.get("authorization")?;
        let credential = auth.split("Credential=").nth(1)?.split([',', ' ']).next()?;
        let mut parts = credential.split('/');
        let key = parts.next()?;
        let _date = parts.next()?;
        let region = parts.next()?.to_string();
        let service = parts.next()?.to_string();
        let account = key.strip_prefix("ASIASANDBOX")?.to_string();
        Some(Scope { account, region, service })
    }
}

/// One request's view of the world: the account it is signed for, the time, the knobs.
pub(crate) struct Ctx<'a> {
    pub account: String,
    pub world: &'a mut World,
    pub now: DateTime<Utc>,
    pub clock: Clock,
    pub fail: &'a [String],
    pub page_size: usize,
}

impl Ctx<'_> {
    pub fn acct(&mut self) -> &mut Account {
        self.world.accounts.entry(self.account.clone()).or_default()
    }

    pub fn acct_ref(&self) -> Option<&Account> {
        self.world.accounts.get(&self.account)
    }
}
