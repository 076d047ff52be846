//! Azure: the two deployment stacks of `assets/azure/` (subscription scope), the vendor's service
//! principal through Microsoft Graph, and revoke that deletes the vendor's group and keeps the data.
//! Every call is an [`transport::ApiRequest`] answered by a [`transport::Transport`]: Azure over
//! HTTPS, a wiremock server in tests, or the sandbox's simulated Azure (docs/azure-calls.md).

pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use super::{AccountChoice, Identity};
use crate::model::Cloud;
use crate::vendor::VendorProfile;
pub use transport::{ApiRequest, ApiResponse, Endpoints, Method, Service, SharedTransport, Transport, TransportError};

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
}

impl Azure {
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
            }),
        }
    }

    pub fn identity(&self) -> Identity {
        Identity {
            cloud: Cloud::Azure,
            account: self.inner.subscription.subscription_id.clone(),
            principal: self.inner.principal.clone(),
            source: self.inner.source.clone(),
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
}
