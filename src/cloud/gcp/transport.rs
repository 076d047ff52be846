//! How GCP calls travel. Every call of the GCP provider is one [`ApiRequest`] to a service's REST
//! URL; a [`Transport`] answers it. [`HttpTransport`] sends it with reqwest (to Google, or to a test
//! server); the sandbox answers the same requests from a simulated project, so the sandbox runs
//! the very code that talks to Google.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

/// A Google REST service cloudgrant calls, with its production base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    ServiceUsage,
    ResourceManager,
    Iam,
    Kms,
    Storage,
}

impl Service {
    pub const ALL: [Service; 5] =
        [Service::ServiceUsage, Service::ResourceManager, Service::Iam, Service::Kms, Service::Storage];

    pub fn default_base(self) -> &'static str {
        match self {
            Service::ServiceUsage => "https://serviceusage.googleapis.com",
            Service::ResourceManager => "https://cloudresourcemanager.googleapis.com",
            Service::Iam => "https://iam.googleapis.com",
            Service::Kms => "https://cloudkms.googleapis.com",
            Service::Storage => "https://storage.googleapis.com",
        }
    }

    /// The API name, as Google's errors and `services:batchEnable` name it.
    pub fn api(self) -> &'static str {
        match self {
            Service::ServiceUsage => "serviceusage.googleapis.com",
            Service::ResourceManager => "cloudresourcemanager.googleapis.com",
            Service::Iam => "iam.googleapis.com",
            Service::Kms => "cloudkms.googleapis.com",
            Service::Storage => "storage.googleapis.com",
        }
    }
}

/// Base URLs per service. `CLOUDGRANT_GCP_ENDPOINT` points every service at one server (tests:
/// a wiremock server); without it, Google's production URLs.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoints {
    bases: Vec<(Service, String)>,
}

pub const ENV_ENDPOINT: &str = "CLOUDGRANT_GCP_ENDPOINT";

impl Endpoints {
    pub fn google() -> Endpoints {
        Endpoints { bases: Service::ALL.iter().map(|s| (*s, s.default_base().to_string())).collect() }
    }

    /// Every service at `base` (no trailing slash needed).
    pub fn all_at(base: &str) -> Endpoints {
        let base = base.trim_end_matches('/').to_string();
        Endpoints { bases: Service::ALL.iter().map(|s| (*s, base.clone())).collect() }
    }

    pub fn from_env() -> Endpoints {
        match std::env::var(ENV_ENDPOINT) {
            Ok(b) if !b.trim().is_empty() => Endpoints::all_at(b.trim()),
            _ => Endpoints::google(),
        }
    }

    pub fn base(&self, service: Service) -> &str {
        self.bases.iter().find(|(s, _)| *s == service).map(|(_, b)| b.as_str()).unwrap_or(service.default_base())
    }
}

/// The HTTP methods the REST calls use (shared by the Google and Azure transports).
pub use crate::cloud::common::Method;

/// One REST call: `path` is relative to the service's base URL and starts with `/`
/// (`/v1/projects/p/serviceAccounts`).
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

    pub fn query(mut self, key: &str, value: impl Into<String>) -> ApiRequest {
        self.query.push((key.to_string(), value.into()));
        self
    }

    pub fn body(mut self, body: Value) -> ApiRequest {
        self.body = Some(body);
        self
    }

    /// `GET https://iam.googleapis.com/v1/…`, for logs and errors (no credentials in it).
    pub fn describe(&self, endpoints: &Endpoints) -> String {
        format!("{} {}{}", self.method.as_str(), endpoints.base(self.service), self.path)
    }
}

/// The answer: HTTP status, the `Retry-After` header where sent, and the JSON body (`Null` when
/// empty or not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Value,
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

    /// Where calls go, for messages.
    fn endpoints(&self) -> &Endpoints;
}

pub type SharedTransport = Arc<dyn Transport>;

/// The HTTPS transport (reqwest) and its token sources live in `http.rs`.
pub use super::http::{HttpTransport, TokenSource};
