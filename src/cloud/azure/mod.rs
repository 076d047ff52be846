//! Azure: the two deployment stacks of `assets/azure/` (subscription scope), the vendor's service
//! principal through Microsoft Graph, and revoke that deletes the vendor's group and keeps the data.
//! Every call is an [`transport::ApiRequest`] answered by a [`transport::Transport`]: Azure over
//! HTTPS, a wiremock server in tests, or the sandbox's simulated Azure (docs/azure-calls.md).

pub mod apply;
pub mod discover;
pub mod errors;
mod follow;
pub mod http;
pub mod revoke;
mod standing;
pub mod survey;
pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{AccountChoice, CloudError, Identity};
use crate::model::{Cloud, Update};
use crate::vendor::VendorProfile;
use errors::{AzureError, Step};
pub use http::{CredentialKind, HttpTransport, TokenSource};
pub use revoke::delete_service_principal;
pub use transport::{ApiRequest, ApiResponse, Endpoints, Method, Service, SharedTransport, Transport, TransportError};

/// Transient answers (429, 502, 503, 504) are retried this many times.
const RETRIES: u32 = 5;
/// Never wait longer than this on one `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// api-versions, as docs/azure-calls.md lists them.
pub const API_SUBSCRIPTIONS: &str = "2022-12-01";
pub const API_AUTHORIZATION: &str = "2022-04-01";
pub const API_RESOURCES: &str = "2024-03-01";
pub const API_STACKS: &str = "2025-07-01";
pub const API_KEYVAULT: &str = "2023-07-01";
pub const API_STORAGE: &str = "2023-05-01";
pub const API_REGISTRY: &str = "2023-07-01";

/// `CLOUDGRANT_POLL_MS` (shared with Google Cloud): the interval between polls (tests: 10).
pub const ENV_POLL_MS: &str = "CLOUDGRANT_POLL_MS";
/// `CLOUDGRANT_AZURE_TOKEN`: a fixed bearer token, honoured only together with
/// `CLOUDGRANT_AZURE_ENDPOINT` (runs against a local double, which needs no real credentials).
pub const ENV_TOKEN: &str = "CLOUDGRANT_AZURE_TOKEN";

/// How an [`Azure`] runs besides the subscription and credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct AzureOptions {
    /// Between polls of a long-running operation; also the base of retry backoff.
    pub poll_interval: Duration,
    /// Talking to the sandbox's simulated Azure.
    pub sandbox: bool,
}

impl Default for AzureOptions {
    /// 2 s polls, or `CLOUDGRANT_POLL_MS`.
    fn default() -> Self {
        let ms = std::env::var(ENV_POLL_MS).ok().and_then(|v| v.trim().parse::<u64>().ok());
        AzureOptions { poll_interval: Duration::from_millis(ms.map_or(2000, |m| m.clamp(1, 10_000))), sandbox: false }
    }
}

/// A subscription the signed-in identity can see (the Account screen).
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionInfo {
    pub subscription_id: String,
    pub display_name: String,
    pub tenant_id: String,
    /// `Enabled`, `Disabled`, `Warned`, `PastDue`, `Deleted`.
    pub state: String,
}

impl SubscriptionInfo {
    pub fn account_choice(&self) -> AccountChoice {
        AccountChoice {
            key: self.subscription_id.clone(),
            label: if self.display_name.is_empty() {
                self.subscription_id.clone()
            } else {
                format!("{} ({})", self.display_name, self.subscription_id)
            },
            detail: format!("tenant {}, {}", self.tenant_id, self.state.to_lowercase()),
            sandbox: false,
        }
    }
}

/// One connected Azure subscription.
#[derive(Debug, Clone)]
pub struct Azure {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    transport: SharedTransport,
    subscription: SubscriptionInfo,
    /// The signed-in user's name or the service principal's app id.
    principal: String,
    /// Where the credentials came from (Azure CLI, environment, sandbox).
    source: String,
    vendor: VendorProfile,
    options: AzureOptions,
    /// The last preview's survey, for the apply that follows it (crate::cloud::fresh).
    surveyed: crate::cloud::fresh::Kept<survey::Survey>,
}

/// Where notes (`Update::Log`) go while a run lasts; nowhere for discover and previews.
#[derive(Debug, Clone, Default)]
pub(crate) struct Notes {
    tx: Option<mpsc::Sender<Update>>,
}

impl Notes {
    pub(crate) fn to(tx: &mpsc::Sender<Update>) -> Notes {
        Notes { tx: Some(tx.clone()) }
    }

    pub(crate) async fn send(&self, update: Update) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(update).await;
        }
    }

    pub(crate) async fn log(&self, text: String) {
        self.send(Update::Log { text }).await;
    }
}

/// Exponential backoff from `base`, with jitter, capped at 30 s.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let full = base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(10))).min(Duration::from_secs(30));
    let ms = full.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms.max(1)))
}

fn step_for(endpoints: &Endpoints, what: &str, request: &ApiRequest) -> Step {
    Step { what: what.to_string(), call: request.describe(endpoints) }
}

/// Send `request`, retrying 429 and 502/503/504 answers (honouring `Retry-After`, capped at 60 s)
/// up to 5 times with backoff from `base`.
async fn send_retrying(
    transport: &SharedTransport,
    notes: &Notes,
    step: &Step,
    request: ApiRequest,
    base: Duration,
) -> Result<ApiResponse, CloudError> {
    let mut attempt = 0;
    loop {
        let r = transport.send(request.clone()).await.map_err(|e| errors::transport_error(step, &e))?;
        if matches!(r.status, 429 | 502 | 503 | 504) && attempt < RETRIES {
            attempt += 1;
            let wait = r.retry_after.map_or_else(|| backoff(base, attempt), |d| d.min(MAX_RETRY_AFTER));
            let why = if r.status == 429 { "throttled" } else { "busy" };
            notes
                .log(format!(
                    "{}: Azure answered {} ({why}: {}); retrying in {} ms ({attempt}/{RETRIES})",
                    step.call,
                    r.status,
                    AzureError::parse(&r).message,
                    wait.as_millis()
                ))
                .await;
            tokio::time::sleep(wait).await;
            continue;
        }
        return Ok(r);
    }
}

/// Every item of a paged ARM list (`value`, following `nextLink`).
async fn list_pages(
    transport: &SharedTransport,
    notes: &Notes,
    what: &str,
    request: ApiRequest,
    base: Duration,
    subscription: &str,
) -> Result<Vec<Value>, CloudError> {
    let mut out = Vec::new();
    let mut req = request;
    // A bound on pages, so that a double or proxy answering the same nextLink forever cannot
    // keep cloudgrant looping.
    for _ in 0..1000 {
        let step = step_for(transport.endpoints(), what, &req);
        let r = send_retrying(transport, notes, &step, req.clone(), base).await?;
        if !r.is_success() {
            return Err(errors::azure_error(&step, &AzureError::parse(&r), subscription));
        }
        match r.body["value"].as_array() {
            Some(items) => out.extend(items.iter().cloned()),
            None => return Err(errors::unexpected(&step, "`value`", &r.body)),
        }
        match r.body["nextLink"].as_str().filter(|l| !l.is_empty()) {
            Some(link) => {
                req = ApiRequest::follow(req.service, link, transport.endpoints())
                    .map_err(|e| errors::transport_error(&step, &e))?
            }
            None => return Ok(out),
        }
    }
    Err(CloudError::failed(
        format!("{what}: Azure kept answering with more pages (1000 pages read)"),
        "This is unexpected from Azure; run again, and report it if it repeats.",
    ))
}

fn subscription_of(v: &Value) -> SubscriptionInfo {
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    SubscriptionInfo {
        subscription_id: text("subscriptionId"),
        display_name: text("displayName"),
        tenant_id: text("tenantId"),
        state: text("state"),
    }
}

/// Every subscription the signed-in identity can see (#1, every page).
pub async fn subscriptions(transport: &SharedTransport) -> Result<Vec<SubscriptionInfo>, CloudError> {
    let req = ApiRequest::arm(Method::Get, "/subscriptions", API_SUBSCRIPTIONS);
    let items = list_pages(
        transport,
        &Notes::default(),
        "list your subscriptions",
        req,
        AzureOptions::default().poll_interval,
        "<none>",
    )
    .await?;
    Ok(items.iter().filter(|v| v["subscriptionId"].as_str().is_some()).map(subscription_of).collect())
}

/// Who is signed in, and where the credentials came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedIn {
    /// The user's name or "application <app id>"; "unknown" when the token does not say.
    pub principal: String,
    pub tenant: Option<String>,
    pub source: String,
}

/// A transport signed in through the credential chain ([`http::token_source_from_env`]): a fixed
/// token against `CLOUDGRANT_AZURE_ENDPOINT`, a service principal from the environment, or the
/// Azure CLI. A token for ARM is fetched once to check the sign-in and to name the identity.
pub async fn signed_in_transport() -> Result<(SharedTransport, SignedIn), CloudError> {
    let endpoints = Endpoints::from_env();
    let source = http::token_source_from_env().map_err(|e| CloudError::failed(e.message, e.next_step))?;
    let kind = source.kind();
    let token = source
        .token(Service::Arm)
        .await
        .map_err(|e| CloudError::failed(format!("not signed in to Azure: {}", e.message), e.next_step))?;
    let claims = http::claims(&token);
    drop(token);
    let signed_in = SignedIn {
        principal: claims.principal.unwrap_or_else(|| match kind {
            CredentialKind::Fixed => "the identity of the fixed token".into(),
            _ => "signed-in identity (name unknown)".into(),
        }),
        tenant: claims.tenant,
        source: kind.source(),
    };
    Ok((Arc::new(HttpTransport::new(endpoints, source)), signed_in))
}

/// A subscription id as Azure writes them (a GUID).
pub fn is_subscription_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

impl Azure {
    /// Sign in through the credential chain and open `subscription_id` (#2).
    pub async fn connect(subscription_id: &str, vendor: &VendorProfile) -> Result<Azure, CloudError> {
        let subscription_id = subscription_id.trim();
        if !is_subscription_id(subscription_id) {
            return Err(CloudError::failed(
                format!("`{subscription_id}` is not a subscription id (a GUID such as 00000000-0000-0000-0000-000000000000)"),
                "Pick the subscription by its id: `az account list --output table` shows yours; pass it with --subscription.",
            ));
        }
        let (transport, who) = signed_in_transport().await?;
        let req = ApiRequest::arm(Method::Get, format!("/subscriptions/{subscription_id}"), API_SUBSCRIPTIONS);
        let step = step_for(transport.endpoints(), &format!("open subscription {subscription_id}"), &req);
        let options = AzureOptions::default();
        let r = send_retrying(&transport, &Notes::default(), &step, req, options.poll_interval).await?;
        if r.status == 404 || (r.status == 403 && AzureError::parse(&r).has_code("SubscriptionNotFound")) {
            return Err(CloudError::failed(
                format!(
                    "subscription {subscription_id} does not exist or {} cannot see it ({} answered {})",
                    who.principal,
                    step.call,
                    AzureError::parse(&r).summary()
                ),
                "List the subscriptions you can use with `az account list --output table` (or on the Account screen), and pass one with --subscription; or ask its owner for access.",
            ));
        }
        if !r.is_success() {
            return Err(errors::azure_error(&step, &AzureError::parse(&r), subscription_id));
        }
        let mut info = subscription_of(&r.body);
        if info.subscription_id.is_empty() {
            info.subscription_id = subscription_id.to_string();
        }
        if matches!(info.state.as_str(), "Disabled" | "Deleted") {
            return Err(CloudError::failed(
                format!("subscription {subscription_id} is {}: nothing can be created in it", info.state.to_lowercase()),
                "Pick an enabled subscription (`az account list --output table`), or re-enable this one in the Azure portal.",
            ));
        }
        Ok(Azure::with_transport(transport, info, &who.principal, &who.source, vendor, options))
    }

    /// An Azure subscription reached through `transport` (HTTPS, a test double or the sandbox).
    pub fn with_transport(
        transport: SharedTransport,
        subscription: SubscriptionInfo,
        principal: &str,
        source: &str,
        vendor: &VendorProfile,
        options: AzureOptions,
    ) -> Azure {
        Azure {
            inner: Arc::new(Inner {
                transport,
                subscription,
                principal: principal.to_string(),
                source: source.to_string(),
                vendor: vendor.clone(),
                options,
                surveyed: Default::default(),
            }),
        }
    }

    pub fn identity(&self) -> Identity {
        Identity {
            cloud: Cloud::Azure,
            account: self.inner.subscription.subscription_id.clone(),
            principal: self.inner.principal.clone(),
            source: self.inner.source.clone(),
            tenant: Some(self.inner.subscription.tenant_id.clone()).filter(|t| !t.is_empty()),
        }
    }

    pub fn subscription(&self) -> &SubscriptionInfo {
        &self.inner.subscription
    }

    pub fn options(&self) -> &AzureOptions {
        &self.inner.options
    }

    pub fn vendor(&self) -> &VendorProfile {
        &self.inner.vendor
    }

    pub fn transport(&self) -> &SharedTransport {
        &self.inner.transport
    }

    pub(crate) fn sub(&self) -> &str {
        &self.inner.subscription.subscription_id
    }

    pub(crate) fn step(&self, what: &str, request: &ApiRequest) -> Step {
        step_for(self.inner.transport.endpoints(), what, request)
    }

    /// Send with retries on 429/502/503/504; any other answer comes back as it is.
    pub(crate) async fn call(
        &self,
        notes: &Notes,
        step: &Step,
        request: ApiRequest,
    ) -> Result<ApiResponse, CloudError> {
        send_retrying(&self.inner.transport, notes, step, request, self.inner.options.poll_interval).await
    }

    /// The error the user reads for an answer that is not a success.
    pub(crate) fn error(&self, step: &Step, r: &ApiResponse) -> CloudError {
        errors::azure_error(step, &AzureError::parse(r), self.sub())
    }

    /// The body of a 2xx answer, or the error the user reads.
    pub(crate) fn ok(&self, step: &Step, r: ApiResponse) -> Result<Value, CloudError> {
        if r.is_success() {
            Ok(r.body)
        } else {
            Err(self.error(step, &r))
        }
    }

    /// A GET where 404 means "absent".
    pub(crate) async fn get_opt(
        &self,
        notes: &Notes,
        what: &str,
        request: ApiRequest,
    ) -> Result<Option<Value>, CloudError> {
        let step = self.step(what, &request);
        let r = self.call(notes, &step, request).await?;
        if r.status == 404 {
            return Ok(None);
        }
        self.ok(&step, r).map(Some)
    }

    /// Every item of a paged list (`value`, following `nextLink`).
    pub(crate) async fn list_all(
        &self,
        notes: &Notes,
        what: &str,
        request: ApiRequest,
    ) -> Result<Vec<Value>, CloudError> {
        list_pages(&self.inner.transport, notes, what, request, self.inner.options.poll_interval, self.sub()).await
    }

    pub(crate) fn follow(&self, step: &Step, url: &str) -> Result<ApiRequest, CloudError> {
        ApiRequest::follow(Service::Arm, url, self.inner.transport.endpoints())
            .map_err(|e| errors::transport_error(step, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_capped() {
        let base = Duration::from_millis(100);
        assert!(backoff(base, 1) <= Duration::from_millis(100));
        assert!(backoff(base, 3) >= Duration::from_millis(200));
        assert!(backoff(base, 30) <= Duration::from_secs(30));
    }

    #[test]
    fn subscription_ids_are_guids() {
        assert!(is_subscription_id("0b1f6471-1bf0-4dda-aec3-cb9272f09590"));
        assert!(!is_subscription_id("my-subscription"));
        assert!(!is_subscription_id("0b1f6471-1bf0-4dda-aec3-cb9272f0959"));
    }
}
