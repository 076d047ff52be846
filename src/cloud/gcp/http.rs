//! [`HttpTransport`]: every [`ApiRequest`] over HTTPS with reqwest, a bearer token from a
//! [`TokenSource`] fetched per call (gcp_auth caches it), and `x-goog-user-project` where user
//! credentials need a quota project. Tokens never reach a log, an error or a file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use super::transport::{ApiRequest, ApiResponse, Endpoints, Method, Service, Transport, TransportError};

pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Where bearer tokens come from.
#[derive(Clone)]
pub enum TokenSource {
    /// A fixed token (tests against a local double).
    Fixed(String),
    /// gcp_auth's provider chain; it caches tokens until they expire.
    Provider(Arc<dyn gcp_auth::TokenProvider>),
}

impl TokenSource {
    pub fn fixed(token: impl Into<String>) -> TokenSource {
        TokenSource::Fixed(token.into())
    }

    async fn token(&self) -> Result<String, TransportError> {
        match self {
            TokenSource::Fixed(t) => Ok(t.clone()),
            TokenSource::Provider(p) => match p.token(&[SCOPE]).await {
                Ok(t) => Ok(t.as_str().to_string()),
                Err(e) => Err(TransportError {
                    message: format!("could not get a Google access token ({e})"),
                    next_step: "Sign in again with `gcloud auth application-default login`, then run again (or try the flow with `cloudgrant --sandbox`).".into(),
                }),
            },
        }
    }
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Fixed(_) => f.write_str("TokenSource::Fixed(<redacted>)"),
            TokenSource::Provider(_) => f.write_str("TokenSource::Provider(gcp_auth)"),
        }
    }
}

/// Sends requests to Google (or wherever [`Endpoints`] point).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    endpoints: Endpoints,
    token: TokenSource,
    user_project: Option<String>,
}

impl HttpTransport {
    pub fn new(endpoints: Endpoints, token: TokenSource) -> HttpTransport {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("cloudgrant/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building fails only when TLS cannot initialise; the default client then reports the
            // same problem on the first call, with the call named.
            .unwrap_or_default();
        HttpTransport { client, endpoints, token, user_project: None }
    }

    /// Send `x-goog-user-project: project` (user credentials: the project quota is billed to).
    /// Not sent to Cloud Storage, which would then require requester-pays permissions.
    pub fn with_user_project(mut self, project: Option<String>) -> HttpTransport {
        self.user_project = project.filter(|p| !p.is_empty());
        self
    }

    pub fn user_project(&self) -> Option<&str> {
        self.user_project.as_deref()
    }

    async fn send_now(&self, request: ApiRequest) -> Result<ApiResponse, TransportError> {
        let url = format!("{}{}", self.endpoints.base(request.service), request.path);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let token = self.token.token().await?;
        let mut req = self.client.request(method, &url).bearer_auth(token).query(&request.query);
        if let (Some(p), false) = (&self.user_project, request.service == Service::Storage) {
            req = req.header("x-goog-user-project", p);
        }
        if let Some(body) = &request.body {
            req = req.json(body);
        } else if request.method == Method::Post {
            // Google wants a body on POST (an empty JSON object where the call takes none).
            req = req.json(&serde_json::json!({}));
        }
        let response = req.send().await.map_err(|e| TransportError {
            message: format!("{} failed: {}", request.describe(&self.endpoints), crate::cloud::common::without_url(&e)),
            next_step: if e.is_timeout() {
                "Google did not answer in time; check the network connection and run again.".into()
            } else {
                format!(
                    "Check the network connection, proxy settings and {} (now {}), then run again.",
                    super::transport::ENV_ENDPOINT,
                    self.endpoints.base(request.service)
                )
            },
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await.map_err(|e| TransportError {
            message: format!(
                "{}: the answer could not be read: {}",
                request.describe(&self.endpoints),
                crate::cloud::common::without_url(&e)
            ),
            next_step: "Check the network connection and run again.".into(),
        })?;
        let body = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
        Ok(ApiResponse { status, retry_after, body })
    }
}

impl Transport for HttpTransport {
    fn send(&self, request: ApiRequest) -> BoxFuture<'_, Result<ApiResponse, TransportError>> {
        Box::pin(self.send_now(request))
    }

    fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }
}

/// What kind of credentials gcp_auth's chain will find, read from the same files it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsInfo {
    /// User credentials (ADC from `gcloud auth application-default login`, or the gcloud CLI):
    /// these need a quota project.
    pub user: bool,
    /// The signed-in e-mail where a file names it.
    pub principal: Option<String>,
    /// Where they came from, for messages.
    pub source: String,
    /// ADC's `quota_project_id`.
    pub quota_project: Option<String>,
}

fn gcloud_dir() -> Option<PathBuf> {
    match std::env::var_os("CLOUDSDK_CONFIG") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::home_dir().map(|h| h.join(".config").join("gcloud")),
    }
}

/// The account gcloud is signed in as (`[core] account` of the active configuration).
fn gcloud_account() -> Option<String> {
    let dir = gcloud_dir()?;
    let active = std::fs::read_to_string(dir.join("active_config")).unwrap_or_else(|_| "default".into());
    let text = std::fs::read_to_string(dir.join("configurations").join(format!("config_{}", active.trim()))).ok()?;
    let mut in_core = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_core = line == "[core]";
        } else if let Some((k, v)) = line.split_once('=') {
            if in_core && k.trim() == "account" && !v.trim().is_empty() {
                return Some(v.trim().to_string());
            }
        }
    }
    None
}

/// Read the credential files in gcp_auth's order (GOOGLE_APPLICATION_CREDENTIALS, then ADC);
/// otherwise the metadata server or the gcloud CLI answers. No secret is kept.
pub fn credentials_info() -> CredentialsInfo {
    let read =
        |p: &std::path::Path| std::fs::read_to_string(p).ok().and_then(|t| serde_json::from_str::<Value>(&t).ok());
    if let Some(path) = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        let v = read(&path).unwrap_or(Value::Null);
        return CredentialsInfo {
            user: v["type"].as_str() == Some("authorized_user"),
            principal: v["client_email"].as_str().map(String::from),
            source: format!("GOOGLE_APPLICATION_CREDENTIALS ({})", path.display()),
            quota_project: v["quota_project_id"].as_str().map(String::from),
        };
    }
    if let Some(adc) = dirs::home_dir().map(|h| h.join(".config/gcloud/application_default_credentials.json")) {
        if let Some(v) = read(&adc) {
            let user = v["type"].as_str() == Some("authorized_user");
            return CredentialsInfo {
                user,
                principal: v["client_email"].as_str().map(String::from).or_else(|| {
                    if user {
                        gcloud_account()
                    } else {
                        None
                    }
                }),
                source: format!("application default credentials ({})", adc.display()),
                quota_project: v["quota_project_id"].as_str().map(String::from),
            };
        }
    }
    CredentialsInfo {
        user: false,
        principal: gcloud_account(),
        source: "the metadata server or the gcloud CLI".into(),
        quota_project: None,
    }
}
