//! [`HttpTransport`]: every [`ApiRequest`] over HTTPS with reqwest and a bearer token for the
//! service's scope from a [`TokenSource`]: a service principal from the environment, the Azure CLI
//! (`az login`), or a fixed token against a local double. Tokens are kept in memory only, until
//! shortly before they expire; they never reach a log, an error or a file.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use futures::future::BoxFuture;
use serde_json::Value;

use super::transport::{ApiRequest, ApiResponse, Endpoints, Method, Service, Transport, TransportError};

/// Environment variables of a service principal sign-in (automation).
pub const ENV_TENANT_ID: &str = "AZURE_TENANT_ID";
pub const ENV_CLIENT_ID: &str = "AZURE_CLIENT_ID";
pub const ENV_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";

/// A token is fetched again this long before it expires.
const REFRESH_MARGIN_SECS: i64 = 300;

/// How cloudgrant signs in, for messages and for the next step when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// `CLOUDGRANT_AZURE_TOKEN` against `CLOUDGRANT_AZURE_ENDPOINT`.
    Fixed,
    /// AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET.
    ServicePrincipal,
    /// The Azure CLI's signed-in account (`az login`).
    AzureCli,
}

impl CredentialKind {
    pub fn source(self) -> String {
        match self {
            CredentialKind::Fixed => format!("{} (a local double)", super::ENV_TOKEN),
            CredentialKind::ServicePrincipal => {
                format!("service principal from {ENV_TENANT_ID}, {ENV_CLIENT_ID}, {ENV_CLIENT_SECRET}")
            }
            CredentialKind::AzureCli => "Azure CLI (az login)".into(),
        }
    }

    /// What to do when no token can be had.
    pub fn sign_in_hint(self) -> String {
        match self {
            CredentialKind::Fixed => format!("Check {} and {}.", super::ENV_TOKEN, super::transport::ENV_ENDPOINT),
            CredentialKind::ServicePrincipal => format!("Check {ENV_TENANT_ID}, {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} (the secret may have expired), or unset them to use `az login`; or try the whole flow with `cloudgrant --sandbox`."),
            CredentialKind::AzureCli => "Sign in with `az login` (install the Azure CLI first if `az` is missing), or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal; or try the whole flow with `cloudgrant --sandbox`.".into(),
        }
    }
}

/// Where bearer tokens come from.
#[derive(Clone)]
pub enum TokenSource {
    /// A fixed token (tests against a local double).
    Fixed(String),
    /// An azure_identity credential; tokens are cached per scope in memory until shortly before
    /// they expire (the Azure CLI credential itself caches nothing).
    Credential {
        kind: CredentialKind,
        credential: Arc<dyn TokenCredential>,
        /// scope → (token, expiry as Unix seconds).
        cache: Arc<Mutex<HashMap<&'static str, (String, i64)>>>,
    },
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Fixed(_) => f.write_str("TokenSource::Fixed(<redacted>)"),
            TokenSource::Credential { kind, .. } => write!(f, "TokenSource::Credential({kind:?})"),
        }
    }
}

impl TokenSource {
    pub fn fixed(token: impl Into<String>) -> TokenSource {
        TokenSource::Fixed(token.into())
    }

    pub fn credential(kind: CredentialKind, credential: Arc<dyn TokenCredential>) -> TokenSource {
        TokenSource::Credential { kind, credential, cache: Arc::new(Mutex::new(HashMap::new())) }
    }

    pub fn kind(&self) -> CredentialKind {
        match self {
            TokenSource::Fixed(_) => CredentialKind::Fixed,
            TokenSource::Credential { kind, .. } => *kind,
        }
    }

    /// A bearer token for `service`.
    pub async fn token(&self, service: Service) -> Result<String, TransportError> {
        let (kind, credential, cache) = match self {
            TokenSource::Fixed(t) => return Ok(t.clone()),
            TokenSource::Credential { kind, credential, cache } => (*kind, credential, cache),
        };
        let scope = service.scope();
        let now = chrono::Utc::now().timestamp();
        // A poisoned lock only means another task panicked while holding it: the cache is then
        // skipped, and a fresh token is fetched.
        if let Ok(c) = cache.lock() {
            if let Some((t, exp)) = c.get(scope) {
                if *exp - REFRESH_MARGIN_SECS > now {
                    return Ok(t.clone());
                }
            }
        }
        let got = credential.get_token(&[scope], None).await.map_err(|e| TransportError {
            message: format!(
                "could not get an Azure access token for {scope} from the {} ({})",
                kind.source(),
                first_line(&e.to_string())
            ),
            next_step: kind.sign_in_hint(),
        })?;
        let token = got.token.secret().to_string();
        if let Ok(mut c) = cache.lock() {
            c.insert(scope, (token.clone(), got.expires_on.unix_timestamp()));
        }
        Ok(token)
    }
}

/// The first line of a credential error (the Azure CLI's errors carry its whole output).
fn first_line(s: &str) -> String {
    let line = s.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    let mut out = line.to_string();
    if out.len() > 300 {
        let cut = (0..=300).rev().find(|i| out.is_char_boundary(*i)).unwrap_or(0);
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// Who a token was issued to, read from its claims in memory (the signature is not checked: this
/// only names the signed-in identity on the Account screen).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TokenClaims {
    /// `upn`, `unique_name` or `preferred_username` for a user; `appid`/`azp` for an application.
    pub principal: Option<String>,
    /// `tid`.
    pub tenant: Option<String>,
    /// `oid`: the signed-in identity's object id.
    pub object_id: Option<String>,
}

/// Decode a JWT's claims (the middle part). Nothing of the token is kept.
pub fn claims(token: &str) -> TokenClaims {
    let Some(payload) = token.split('.').nth(1) else { return TokenClaims::default() };
    let Some(bytes) = base64url_decode(payload.trim_end_matches('=')) else { return TokenClaims::default() };
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let text = |k: &str| v[k].as_str().filter(|s| !s.is_empty()).map(String::from);
    let user = text("upn").or_else(|| text("unique_name")).or_else(|| text("preferred_username"));
    let app = text("appid").or_else(|| text("azp")).map(|a| format!("application {a}"));
    TokenClaims { principal: user.or(app), tenant: text("tid"), object_id: text("oid") }
}

/// Base64url without padding (a JWT part); `None` on any other character.
fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Sends requests to Azure (or wherever [`Endpoints`] point).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    endpoints: Endpoints,
    token: TokenSource,
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
        HttpTransport { client, endpoints, token }
    }

    pub fn token_source(&self) -> &TokenSource {
        &self.token
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
        let token = self.token.token(request.service).await?;
        let mut req = self.client.request(method, &url).bearer_auth(token).query(&request.query);
        if let Some(body) = &request.body {
            req = req.json(body);
        } else if request.method == Method::Post {
            req = req.json(&serde_json::json!({}));
        }
        let response = req.send().await.map_err(|e| TransportError {
            message: format!("{} failed: {}", request.describe(&self.endpoints), crate::cloud::common::without_url(&e)),
            next_step: if e.is_timeout() {
                "Azure did not answer in time; check the network connection and run again.".into()
            } else {
                format!(
                    "Check the network connection, proxy settings and {} (now {}), then run again.",
                    super::transport::ENV_ENDPOINT,
                    self.endpoints.base(request.service)
                )
            },
        })?;
        let status = response.status().as_u16();
        let header =
            |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_string());
        let retry_after = header("retry-after").and_then(|v| v.parse::<u64>().ok()).map(Duration::from_secs);
        let async_operation = header("azure-asyncoperation");
        let location = header("location");
        let bytes = response.bytes().await.map_err(|e| TransportError {
            message: format!(
                "{}: the answer could not be read: {}",
                request.describe(&self.endpoints),
                crate::cloud::common::without_url(&e)
            ),
            next_step: "Check the network connection and run again.".into(),
        })?;
        let body = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
        Ok(ApiResponse { status, retry_after, async_operation, location, body })
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

/// The credential chain: a fixed token against `CLOUDGRANT_AZURE_ENDPOINT`, else a service
/// principal from the environment, else the Azure CLI.
pub fn token_source_from_env() -> Result<TokenSource, TransportError> {
    let var = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    if let (Some(token), Some(_)) = (var(super::ENV_TOKEN), var(super::transport::ENV_ENDPOINT)) {
        return Ok(TokenSource::fixed(token));
    }
    if let (Some(tenant), Some(client), Some(secret)) = (var(ENV_TENANT_ID), var(ENV_CLIENT_ID), var(ENV_CLIENT_SECRET))
    {
        let kind = CredentialKind::ServicePrincipal;
        let c = azure_identity::ClientSecretCredential::new(&tenant, client, secret.into(), None).map_err(|e| {
            TransportError {
                message: format!(
                    "the service principal in {ENV_TENANT_ID}/{ENV_CLIENT_ID}/{ENV_CLIENT_SECRET} cannot be used ({})",
                    first_line(&e.to_string())
                ),
                next_step: kind.sign_in_hint(),
            }
        })?;
        return Ok(TokenSource::credential(kind, c));
    }
    let kind = CredentialKind::AzureCli;
    let c = azure_identity::AzureCliCredential::new(None).map_err(|e| TransportError {
        message: format!("the Azure CLI credential cannot be used ({})", first_line(&e.to_string())),
        next_step: kind.sign_in_hint(),
    })?;
    Ok(TokenSource::credential(kind, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &Value) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let e = |v: &[u8]| {
            let mut out = String::new();
            for chunk in v.chunks(3) {
                let n = chunk.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
                for i in 0..=chunk.len() {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        };
        format!("{}.{}.sig", e(br#"{"alg":"RS256"}"#), e(claims.to_string().as_bytes()))
    }

    #[test]
    fn names_the_signed_in_identity_from_the_claims() {
        let c = claims(&jwt(&serde_json::json!({"upn": "ada@acme.example", "tid": "t1", "oid": "o1", "appid": "a"})));
        assert_eq!(c.principal.as_deref(), Some("ada@acme.example"));
        assert_eq!(c.tenant.as_deref(), Some("t1"));
        assert_eq!(c.object_id.as_deref(), Some("o1"));
        let c = claims(&jwt(&serde_json::json!({"appid": "11111111-2222-3333-4444-555555555555", "tid": "t1"})));
        assert_eq!(c.principal.as_deref(), Some("application 11111111-2222-3333-4444-555555555555"));
        assert_eq!(claims("not a token"), TokenClaims::default());
        assert_eq!(claims("a.!!!.c"), TokenClaims::default());
    }

    #[test]
    fn token_sources_never_print_the_token() {
        assert!(!format!("{:?}", TokenSource::fixed("s3cret")).contains("s3cret"));
    }
}
