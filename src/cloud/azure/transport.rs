//! How Azure calls travel. Every call of the Azure provider is one [`ApiRequest`] to Azure Resource
//! Manager or Microsoft Graph; a [`Transport`] answers it: Azure over HTTPS, a wiremock server in
//! tests, or the sandbox's simulated Azure, so the sandbox runs the very code that talks to Azure.
//! docs/azure-calls.md lists every call with its request and answer shapes.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

/// The two REST services cloudgrant calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Azure Resource Manager: subscriptions, deployment stacks, role assignments, Key Vault.
    Arm,
    /// Microsoft Graph: the vendor's service principal.
    Graph,
}

impl Service {
    pub const ALL: [Service; 2] = [Service::Arm, Service::Graph];

    pub fn default_base(self) -> &'static str {
        match self {
            Service::Arm => "https://management.azure.com",
            Service::Graph => "https://graph.microsoft.com",
        }
    }

    /// The OAuth scope a token for this service is asked with.
    pub fn scope(self) -> &'static str {
        match self {
            Service::Arm => "https://management.azure.com/.default",
            Service::Graph => "https://graph.microsoft.com/.default",
        }
    }
}

/// `CLOUDGRANT_AZURE_ENDPOINT`: both services at one server (tests: a wiremock server). ARM paths
/// start with `/subscriptions` or `/providers`, Graph paths with `/v1.0`, so one server answers both.
pub const ENV_ENDPOINT: &str = "CLOUDGRANT_AZURE_ENDPOINT";

/// Base URLs per service.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoints {
    pub arm: String,
    pub graph: String,
}

impl Endpoints {
    pub fn azure() -> Endpoints {
        Endpoints { arm: Service::Arm.default_base().into(), graph: Service::Graph.default_base().into() }
    }

    /// Both services at `base` (no trailing slash needed).
    pub fn all_at(base: &str) -> Endpoints {
        let base = base.trim_end_matches('/').to_string();
        Endpoints { arm: base.clone(), graph: base }
    }

    pub fn from_env() -> Endpoints {
        match std::env::var(ENV_ENDPOINT) {
            Ok(b) if !b.trim().is_empty() => Endpoints::all_at(b.trim()),
            _ => Endpoints::azure(),
        }
    }

    pub fn base(&self, service: Service) -> &str {
        match service {
            Service::Arm => &self.arm,
            Service::Graph => &self.graph,
        }
    }
}

/// The HTTP methods the REST calls use (shared by the Google and Azure transports).
pub use crate::cloud::common::Method;

/// One REST call: `path` is relative to the service's base URL and starts with `/`
/// (`/subscriptions/…/providers/Microsoft.Resources/deploymentStacks/x`); `query` holds every
/// query parameter, `api-version` included.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    pub service: Service,
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl ApiRequest {
    pub fn new(service: Service, method: Method, path: impl Into<String>) -> ApiRequest {
        ApiRequest { service, method, path: path.into(), query: Vec::new(), body: None }
    }

    /// An ARM call with its `api-version`.
    pub fn arm(method: Method, path: impl Into<String>, api_version: &str) -> ApiRequest {
        ApiRequest::new(Service::Arm, method, path).query("api-version", api_version)
    }

    pub fn query(mut self, key: &str, value: impl Into<String>) -> ApiRequest {
        self.query.push((key.to_string(), value.into()));
        self
    }

    pub fn body(mut self, body: Value) -> ApiRequest {
        self.body = Some(body);
        self
    }

    /// A GET of an absolute URL that Azure handed out (`nextLink`, `Azure-AsyncOperation`,
    /// `Location`): its path and query are kept, its host must be the service's base (a URL
    /// pointing anywhere else is refused rather than sent a token).
    pub fn follow(service: Service, url: &str, endpoints: &Endpoints) -> Result<ApiRequest, TransportError> {
        let base = endpoints.base(service).trim_end_matches('/');
        let rest = url.strip_prefix(base).filter(|r| r.starts_with('/')).ok_or_else(|| TransportError {
            message: format!("Azure answered with a link outside {base}: {url}"),
            next_step: "This is unexpected from Azure; run again, and report it if it repeats.".into(),
        })?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut request = ApiRequest::new(service, Method::Get, path);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            request.query.push((percent_decode(k), percent_decode(v)));
        }
        Ok(request)
    }

    /// `GET https://management.azure.com/subscriptions/…`, for logs and errors (no credentials in it).
    pub fn describe(&self, endpoints: &Endpoints) -> String {
        format!("{} {}{}", self.method.as_str(), endpoints.base(self.service), self.path)
    }

    /// The value of one query parameter.
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }
}

/// Decodes `%XX` escapes and `+`; anything malformed is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The answer: HTTP status, the headers cloudgrant reads, and the JSON body (`Null` when empty or
/// not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    /// `Retry-After` (seconds), on 429, 202 and long-running operations.
    pub retry_after: Option<Duration>,
    /// `Azure-AsyncOperation`: the URL to poll for a long-running operation's status.
    pub async_operation: Option<String>,
    /// `Location`: the URL to poll when no `Azure-AsyncOperation` is given.
    pub location: Option<String>,
    pub body: Value,
}

impl ApiResponse {
    pub fn json(status: u16, body: Value) -> ApiResponse {
        ApiResponse { status, retry_after: None, async_operation: None, location: None, body }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The call could not be made (no connection, no token); answers with an error status are
/// [`ApiResponse`]s, not this.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    pub message: String,
    pub next_step: String,
}

pub trait Transport: Send + Sync + std::fmt::Debug {
    fn send(&self, request: ApiRequest) -> BoxFuture<'_, Result<ApiResponse, TransportError>>;

    /// Where calls go, for messages and for following absolute links.
    fn endpoints(&self) -> &Endpoints;
}

pub type SharedTransport = Arc<dyn Transport>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_links_on_the_same_base_only() {
        let e = Endpoints::all_at("http://127.0.0.1:9/");
        let r = ApiRequest::follow(
            Service::Arm,
            "http://127.0.0.1:9/subscriptions/s/providers/Microsoft.Resources/locations/westeurope/deploymentStackOperationStatus/op1?api-version=2025-07-01&%24skiptoken=a%2Bb",
            &e,
        )
        .unwrap();
        assert_eq!(
            r.path,
            "/subscriptions/s/providers/Microsoft.Resources/locations/westeurope/deploymentStackOperationStatus/op1"
        );
        assert_eq!(r.query_value("api-version"), Some("2025-07-01"));
        assert_eq!(r.query_value("$skiptoken"), Some("a+b"));
        assert!(ApiRequest::follow(Service::Arm, "https://evil.example/subscriptions", &e).is_err());
    }
}
