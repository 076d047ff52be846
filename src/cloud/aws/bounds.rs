//! Bounds on every AWS call: the SDK's timeouts (connect, per attempt, per operation) and its
//! standard retry mode with more attempts and jittered exponential backoff, instead of the
//! defaults (no attempt or operation timeout: a stalled endpoint waits forever). Every request
//! also goes through [`Watched`], an HTTP client wrapper that keeps a process-wide record of
//! what is in flight (so the UI can say "waiting for AWS (CreateStack) 45 s…"), which endpoint
//! each service was last sent to (for error messages), and how many attempts were retries and
//! why (the SDK's own `amz-sdk-request: attempt=N` header tells a retry from a first attempt).
//!
//! The wrapper sits on the `SdkConfig`'s HTTP client because the config is what every client,
//! credential provider and region lookup is built from; interceptors would have to be added to
//! each service's client config one by one.
//!
//! Tests shorten the bounds through the environment (`CLOUDGRANT_AWS_*`, see [`Bounds::from_env`]).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use crate::cloud::CloudError;

/// The limits every AWS call runs under.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Establishing the TCP (and TLS) connection.
    pub connect: Duration,
    /// One attempt, from sending the request to the last byte of the answer.
    pub attempt: Duration,
    /// The whole operation, every retry and backoff included.
    pub operation: Duration,
    /// Attempts per operation, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry (doubled per retry, times a random factor in 0..1).
    pub backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// A call that has waited this long is reported ("waiting for AWS (CreateStack) 12 s…").
    pub slow: Duration,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            connect: Duration::from_secs(5),
            attempt: Duration::from_secs(30),
            operation: Duration::from_secs(120),
            max_attempts: 10,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            slow: Duration::from_secs(10),
        }
    }
}

/// The environment variables that override the bounds (seconds, or a count).
pub const ENV: [(&str, &str); 7] = [
    ("CLOUDGRANT_AWS_CONNECT_SECS", "connect timeout"),
    ("CLOUDGRANT_AWS_ATTEMPT_SECS", "per-attempt timeout"),
    ("CLOUDGRANT_AWS_OPERATION_SECS", "per-operation timeout"),
    ("CLOUDGRANT_AWS_MAX_ATTEMPTS", "attempts per call"),
    ("CLOUDGRANT_AWS_BACKOFF_SECS", "first retry backoff"),
    ("CLOUDGRANT_AWS_MAX_BACKOFF_SECS", "longest retry backoff"),
    ("CLOUDGRANT_AWS_SLOW_SECS", "wait before a slow call is reported"),
];

impl Bounds {
    /// The defaults, with any `CLOUDGRANT_AWS_*` override; a bad value is refused by name.
    pub fn from_env() -> Result<Bounds, CloudError> {
        Bounds::from_vars(|k| std::env::var(k).ok())
    }

    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Bounds, CloudError> {
        let mut b = Bounds::default();
        for (key, what) in ENV {
            let Some(text) = var(key).filter(|v| !v.trim().is_empty()) else { continue };
            let bad = || {
                CloudError::failed(
                    format!("{key} `{}` is not a valid {what}", crate::redact::escape_controls(&text)),
                    format!("Set {key} to a positive number (seconds; attempts: a whole number 1-50), or unset it."),
                )
            };
            if key == "CLOUDGRANT_AWS_MAX_ATTEMPTS" {
                b.max_attempts = text.trim().parse::<u32>().ok().filter(|n| (1..=50).contains(n)).ok_or_else(bad)?;
                continue;
            }
            let secs = text.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0);
            let d = Duration::from_secs_f64(secs.ok_or_else(bad)?);
            match key {
                "CLOUDGRANT_AWS_CONNECT_SECS" => b.connect = d,
                "CLOUDGRANT_AWS_ATTEMPT_SECS" => b.attempt = d,
                "CLOUDGRANT_AWS_OPERATION_SECS" => b.operation = d,
                "CLOUDGRANT_AWS_BACKOFF_SECS" => b.backoff = d,
                "CLOUDGRANT_AWS_MAX_BACKOFF_SECS" => b.max_backoff = d,
                _ => b.slow = d,
            }
        }
        Ok(b)
    }

    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    /// The SDK's standard mode: exponential backoff with full jitter, throttling and transient
    /// errors (5xx, connection errors, timeouts) retried.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.backoff)
            .with_max_backoff(self.max_backoff)
    }
}

static CURRENT: OnceLock<Bounds> = OnceLock::new();

/// The bounds in effect (the first ones applied in this process; the defaults before).
pub fn current() -> Bounds {
    CURRENT.get().copied().unwrap_or_default()
}

/// The loader `Aws::connect` starts from: the SDK defaults with the bounds applied, a profile
/// that exists (or an error listing those found), and a region looked up in the environment and
/// the profile only. The instance-metadata service is asked for the region only by the SDK's
/// credential chain when nothing else gives credentials; without a region the caller falls back
/// to the vendor's default.
pub fn defaults(profile: Option<&str>) -> Result<ConfigLoader, CloudError> {
    let b = Bounds::from_env()?;
    let _ = CURRENT.set(b);
    if let Some(p) = profile {
        super::profiles::require(p)?;
    }
    let mut regions = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(p) = profile {
        regions = regions.profile_name(p);
    }
    let region = RegionProviderChain::first_try(aws_config::environment::EnvironmentVariableRegionProvider::new())
        .or_else(regions.build());
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(b.timeout_config())
        .retry_config(b.retry_config())
        .http_client(Watched::new(None))
        .region(region))
}

/// `config` as given (its own timeouts and retries: the sandbox scales them to its speed), its
/// HTTP client watched: retries counted and slow calls reported, as on AWS.
pub fn watch(config: SdkConfig) -> SdkConfig {
    let inner = config.http_client();
    config.into_builder().http_client(Watched::new(inner)).build()
}

/// `config` with the bounds applied and its HTTP client watched (for configs built elsewhere,
/// e.g. over another HTTP client).
pub fn bound(config: SdkConfig) -> Result<SdkConfig, CloudError> {
    let b = Bounds::from_env()?;
    let _ = CURRENT.set(b);
    let inner = config.http_client();
    Ok(config
        .into_builder()
        .timeout_config(b.timeout_config())
        .retry_config(b.retry_config())
        .http_client(Watched::new(inner))
        .build())
}

/// The SDK's default HTTPS client (hyper 1 and rustls, proxies from the environment), as
/// `aws-smithy-runtime` builds it when none is given.
fn default_https_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        conn.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            conn.set_sleep_impl(c.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}

/// An HTTP client that records every request in the process-wide [`Calls`].
#[derive(Debug, Clone)]
pub struct Watched {
    inner: SharedHttpClient,
}

impl Watched {
    /// Around `inner`, or the SDK's default HTTPS client.
    pub fn new(inner: Option<SharedHttpClient>) -> Watched {
        Watched { inner: inner.unwrap_or_else(default_https_client) }
    }
}

impl HttpClient for Watched {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(WatchedConnector { inner: self.inner.http_connector(settings, components) })
    }

    fn connector_metadata(&self) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct WatchedConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for WatchedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let seen = Seen::of(&request);
        let guard = calls().begin(seen);
        let answer = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let mut guard = guard;
            let result = answer.await;
            guard.outcome = Some(match &result {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            });
            result
        })
    }
}

/// What one request says about itself.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    /// The signing service (`cloudformation`, `kms`, …) from the SigV4 credential scope.
    service: String,
    /// The operation: the query protocols' `Action`, the JSON protocols' `X-Amz-Target`, or
    /// `METHOD /path` for REST (S3).
    operation: String,
    /// `scheme://host[:port]`.
    endpoint: String,
    /// The SDK's attempt number (1 for the first).
    attempt: u32,
    invocation: String,
}

impl Seen {
    fn of(r: &HttpRequest) -> Seen {
        let h = r.headers();
        let service = h
            .get("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split(['/', ',']).nth(3))
            .unwrap_or("aws")
            .to_string();
        let uri = r.uri();
        let (path, query) = uri
            .split_once("://")
            .map(|(_, rest)| rest.find('/').map(|i| &rest[i..]).unwrap_or("/"))
            .unwrap_or(uri)
            .split_once('?')
            .unwrap_or((uri, ""));
        let endpoint = match uri.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://{}", rest.split(['/', '?']).next().unwrap_or("")),
            None => uri.to_string(),
        };
        let body = r.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
        let action = body.split('&').chain(query.split('&')).find_map(|p| p.strip_prefix("Action=")).map(String::from);
        let operation = h
            .get("x-amz-target")
            .map(|t| t.rsplit('.').next().unwrap_or(t).to_string())
            .or(action)
            .unwrap_or_else(|| format!("{} {}", r.method(), path.split('?').next().unwrap_or("/")));
        let attempt = h
            .get("amz-sdk-request")
            .and_then(|v| v.split(';').find_map(|p| p.trim().strip_prefix("attempt=")))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(1);
        let invocation = h.get("amz-sdk-invocation-id").unwrap_or("").to_string();
        Seen { service, operation, endpoint, attempt, invocation }
    }
}

/// What the process has sent to AWS.
#[derive(Debug, Default)]
pub struct Calls {
    next: u64,
    in_flight: BTreeMap<u64, (Seen, Instant)>,
    requests: u64,
    operations: u64,
    retries: u64,
    /// Why attempts were retried: "throttled", "HTTP 500", "no answer", …
    reasons: BTreeMap<String, u64>,
    /// The failure of the last attempt of an invocation still to be retried, by invocation id.
    pending: BTreeMap<String, String>,
    endpoints: BTreeMap<String, String>,
    longest: Duration,
}

static CALLS: OnceLock<Mutex<Calls>> = OnceLock::new();

fn calls() -> MutexGuard<'static, Calls> {
    // A panic while holding the lock cannot leave the counters inconsistent in a way that
    // matters (they are figures for messages), so a poisoned lock is taken over.
    CALLS.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner())
}

/// Ends a request's record when the answer came, or when the SDK dropped it (a timeout).
struct Guard {
    id: u64,
    /// The HTTP status, or 0 for a connection error; `None` while no answer came.
    outcome: Option<u16>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        calls().end(self.id, self.outcome);
    }
}

impl Calls {
    fn begin(&mut self, seen: Seen) -> Guard {
        self.requests += 1;
        if seen.attempt <= 1 {
            self.operations += 1;
        } else {
            self.retries += 1;
            let why = self.pending.remove(&seen.invocation).unwrap_or_else(|| "no answer".into());
            *self.reasons.entry(why).or_default() += 1;
        }
        self.endpoints.insert(seen.service.clone(), seen.endpoint.clone());
        self.next += 1;
        self.in_flight.insert(self.next, (seen, Instant::now()));
        Guard { id: self.next, outcome: None }
    }

    fn end(&mut self, id: u64, outcome: Option<u16>) {
        let Some((seen, start)) = self.in_flight.remove(&id) else { return };
        self.longest = self.longest.max(start.elapsed());
        let why = match outcome {
            Some(s) if s < 400 => None,
            // The SDK retries a 4xx only for throttling (and the few transient codes).
            Some(400 | 429) => Some("throttled".to_string()),
            Some(0) => Some("connection error".to_string()),
            Some(s) => Some(format!("HTTP {s}")),
            None => Some("no answer".to_string()),
        };
        match why {
            Some(w) if !seen.invocation.is_empty() => {
                self.pending.insert(seen.invocation, w);
            }
            _ => {
                self.pending.remove(&seen.invocation);
            }
        }
    }
}

/// The figures so far.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tally {
    pub requests: u64,
    pub operations: u64,
    pub retries: u64,
    pub reasons: BTreeMap<String, u64>,
    /// Longest single request (the SDK's attempt), answered or given up.
    pub longest: Duration,
}

pub fn tally() -> Tally {
    let c = calls();
    Tally {
        requests: c.requests,
        operations: c.operations,
        retries: c.retries,
        reasons: c.reasons.clone(),
        longest: c.longest,
    }
}

impl Tally {
    /// One line for the end of a run, when anything was retried: "AWS: 14 retries over 71
    /// requests (throttled 9, HTTP 500 5); every call was answered in the end." (the last part
    /// is for the caller, which knows whether it was).
    pub fn line(&self) -> Option<String> {
        if self.retries == 0 {
            return None;
        }
        let why: Vec<String> = self.reasons.iter().map(|(k, n)| format!("{k} {n}")).collect();
        Some(format!(
            "AWS: {} {} over {} requests ({}); longest wait {:.1} s",
            self.retries,
            if self.retries == 1 { "retry" } else { "retries" },
            self.requests,
            why.join(", "),
            self.longest.as_secs_f64()
        ))
    }
}

/// Where `service` (`cloudformation`, `sts`, …) was last sent to, for messages.
pub fn endpoint_of(service: &str) -> Option<String> {
    calls().endpoints.get(service).cloned()
}

/// The call waiting longest, if it has waited at least `at_least`: (operation, how long).
pub fn waiting(at_least: Duration) -> Option<(String, Duration)> {
    let c = calls();
    let (seen, start) = c.in_flight.values().min_by_key(|(_, start)| *start)?;
    let waited = start.elapsed();
    (waited >= at_least).then(|| (seen.operation.clone(), waited))
}

/// "waiting for AWS (CreateStack) 45 s…" while a call has waited at least the slow bound.
pub fn waiting_line() -> Option<String> {
    waiting(current().slow).map(|(op, d)| format!("waiting for AWS ({op}) {} s…", d.as_secs()))
}

/// Print [`waiting_line`] with `say` each time a call has waited another multiple of the slow
/// bound (at 10 s, 20 s, …), until dropped. For plain mode, where nothing else moves.
pub async fn report_waits(say: impl Fn(&str)) {
    let mut said: Option<(String, u64)> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let slow = current().slow.as_secs_f64().max(0.001);
        let Some((op, waited)) = waiting(current().slow) else { continue };
        let step = (waited.as_secs_f64() / slow).floor() as u64;
        if said.as_ref() != Some(&(op.clone(), step)) {
            say(&format!("waiting for AWS ({op}) {} s…", waited.as_secs()));
            said = Some((op, step));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_overrides_each_bound_and_a_bad_value_is_refused_by_name() {
        let b = Bounds::from_vars(|k| match k {
            "CLOUDGRANT_AWS_ATTEMPT_SECS" => Some("2.5".into()),
            "CLOUDGRANT_AWS_MAX_ATTEMPTS" => Some("4".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(b.attempt, Duration::from_millis(2500));
        assert_eq!(b.max_attempts, 4);
        assert_eq!(b.connect, Bounds::default().connect);
        for (key, value) in [
            ("CLOUDGRANT_AWS_OPERATION_SECS", "0"),
            ("CLOUDGRANT_AWS_OPERATION_SECS", "soon"),
            ("CLOUDGRANT_AWS_MAX_ATTEMPTS", "0"),
            ("CLOUDGRANT_AWS_MAX_ATTEMPTS", "2.5"),
        ] {
            let e = Bounds::from_vars(|k| (k == key).then(|| value.to_string())).expect_err(value);
            assert!(e.to_string().contains(key) && e.to_string().contains(value), "{e}");
        }
        let d = Bounds::default();
        assert!(d.operation > d.attempt && d.attempt > d.connect, "{d:?}");
        assert!(d.max_attempts > 3, "more attempts than the SDK's default 3");
        let t = d.timeout_config();
        assert_eq!(t.operation_timeout(), Some(d.operation));
        assert_eq!(t.operation_attempt_timeout(), Some(d.attempt));
        assert_eq!(d.retry_config().max_attempts(), d.max_attempts);
    }

    fn request(headers: &[(&str, &str)], uri: &str, body: &str) -> HttpRequest {
        let mut r = HttpRequest::new(aws_smithy_types::body::SdkBody::from(body.to_string()));
        *r.uri_mut() = uri.try_into().expect("uri");
        for (k, v) in headers {
            r.headers_mut().insert(k.to_string(), v.to_string());
        }
        r
    }

    #[test]
    fn a_request_names_its_service_operation_endpoint_and_attempt() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/cloudformation/aws4_request, SignedHeaders=host, Signature=x";
        let s = Seen::of(&request(
            &[("authorization", auth), ("amz-sdk-request", "attempt=3; max=10"), ("amz-sdk-invocation-id", "i1")],
            "https://cloudformation.eu-west-1.amazonaws.com/",
            "Action=CreateStack&Version=2010-05-15",
        ));
        assert_eq!(s.service, "cloudformation");
        assert_eq!(s.operation, "CreateStack");
        assert_eq!(s.endpoint, "https://cloudformation.eu-west-1.amazonaws.com");
        assert_eq!(s.attempt, 3);
        let s =
            Seen::of(&request(&[("x-amz-target", "TrentService.ScheduleKeyDeletion")], "http://127.0.0.1:5000/", "{}"));
        assert_eq!(
            (s.operation.as_str(), s.endpoint.as_str(), s.attempt),
            ("ScheduleKeyDeletion", "http://127.0.0.1:5000", 1)
        );
        let s = Seen::of(&request(&[], "https://s3.amazonaws.com/bucket?list-type=2", ""));
        assert_eq!(s.operation, "GET /bucket");
    }

    #[test]
    fn retries_are_counted_with_the_reason_of_the_attempt_before() {
        let mut c = Calls::default();
        let seen = |attempt| Seen {
            service: "cloudformation".into(),
            operation: "ListStacks".into(),
            endpoint: "http://x".into(),
            attempt,
            invocation: "inv".into(),
        };
        let g = c.begin(seen(1));
        c.end(g.id, Some(500));
        std::mem::forget(g);
        let g = c.begin(seen(2));
        c.end(g.id, Some(400));
        std::mem::forget(g);
        let g = c.begin(seen(3));
        c.end(g.id, None);
        std::mem::forget(g);
        let g = c.begin(seen(4));
        c.end(g.id, Some(200));
        std::mem::forget(g);
        assert_eq!((c.requests, c.operations, c.retries), (4, 1, 3));
        let reasons: Vec<(&str, u64)> = c.reasons.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(reasons, [("HTTP 500", 1), ("no answer", 1), ("throttled", 1)]);
        assert!(c.pending.is_empty() && c.in_flight.is_empty());
        let t = Tally { requests: 4, operations: 1, retries: 3, reasons: c.reasons.clone(), longest: Duration::ZERO };
        let line = t.line().expect("retried");
        assert!(line.starts_with("AWS: 3 retries over 4 requests (HTTP 500 1, no answer 1, throttled 1)"), "{line}");
        assert_eq!(Tally::default().line(), None);
    }
}
