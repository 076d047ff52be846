//! Google Cloud: the labelled resource set of `assets/gcp/install.yaml`, created and revoked over
//! Google's REST APIs (docs/gcp-calls.md lists every call). Deployment Manager is gone, so there is
//! no Google-side group: labels (keys, buckets) and a description mark (roles, service accounts)
//! let [`Gcp::discover`] find an install again from the project alone.
//!
//! Every call is an [`transport::ApiRequest`] answered by a [`transport::Transport`]: Google over
//! HTTPS ([`HttpTransport`]), a wiremock server in tests, or the sandbox's simulated project.

mod apply;
mod discover;
pub mod errors;
mod http;
pub mod iam_policy;
pub mod manifest;
mod revoke;
mod run;
mod survey;
pub mod transport;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{AccountChoice, CloudError, Identity};
use crate::model::{Cloud, Update};
use crate::plan::gcp::Spec;
use crate::plan::Choices;
use crate::vendor::VendorProfile;
use errors::{GoogleError, Step};
pub use http::{credentials_info, CredentialsInfo, TokenSource};
pub use revoke::{delete_data, DataBucket};
pub use transport::{ApiRequest, ApiResponse, Endpoints, HttpTransport, Method, Service, SharedTransport};

/// `CLOUDGRANT_POLL_MS`: the interval between polls of a long-running operation (tests: 10).
pub const ENV_POLL_MS: &str = "CLOUDGRANT_POLL_MS";
/// `CLOUDGRANT_GCP_TOKEN`: a fixed bearer token, honoured only together with
/// `CLOUDGRANT_GCP_ENDPOINT` (runs against a local double, which needs no real credentials).
pub const ENV_TOKEN: &str = "CLOUDGRANT_GCP_TOKEN";

/// Transient answers (429, 5xx) are retried this many times.
const RETRIES: u32 = 5;
/// Never wait longer than this on one `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How a [`Gcp`] runs besides the project and credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct GcpOptions {
    /// Where manifests go; default `<data dir>/cloudgrant/gcp/<project>`.
    pub manifest_dir: Option<PathBuf>,
    /// Between polls of a long-running operation; also the base of retry backoff.
    pub poll_interval: Duration,
    /// Talking to the sandbox's simulated project.
    pub sandbox: bool,
}

impl Default for GcpOptions {
    /// 1.5 s polls, or `CLOUDGRANT_POLL_MS`.
    fn default() -> Self {
        let ms = std::env::var(ENV_POLL_MS).ok().and_then(|v| v.trim().parse::<u64>().ok());
        GcpOptions {
            manifest_dir: None,
            poll_interval: Duration::from_millis(ms.map_or(1500, |m| m.clamp(1, 10_000))),
            sandbox: false,
        }
    }
}

/// A project the signed-in account can see (the Account screen).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectInfo {
    pub project_id: String,
    /// `projects/123456789012`.
    pub name: String,
    pub display_name: String,
    pub state: String,
}

impl ProjectInfo {
    pub fn account_choice(&self) -> AccountChoice {
        AccountChoice {
            key: self.project_id.clone(),
            label: if self.display_name.is_empty() {
                self.project_id.clone()
            } else {
                format!("{} ({})", self.project_id, self.display_name)
            },
            detail: format!("{}, {}", self.name, self.state.to_lowercase()),
            sandbox: false,
        }
    }
}

/// One connected Google Cloud project.
#[derive(Debug, Clone)]
pub struct Gcp {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    transport: SharedTransport,
    project: String,
    principal: String,
    source: String,
    vendor: VendorProfile,
    options: GcpOptions,
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

fn no_credentials(detail: &str) -> CloudError {
    CloudError::failed(
        format!("no Google Cloud credentials found ({detail}); cloudgrant looked at GOOGLE_APPLICATION_CREDENTIALS, ~/.config/gcloud/application_default_credentials.json, the metadata server and the gcloud CLI"),
        "Run `gcloud auth application-default login` (then `gcloud auth application-default set-quota-project PROJECT`), or try the whole flow without an account: `cloudgrant --sandbox`.",
    )
}

/// A transport signed in through gcp_auth's provider chain (or `CLOUDGRANT_GCP_TOKEN` with
/// `CLOUDGRANT_GCP_ENDPOINT`), for the Account screen's [`projects`] and for [`Gcp::connect`].
/// With user credentials, calls carry `x-goog-user-project`: ADC's quota project, else `project`.
pub async fn signed_in_transport(project: Option<&str>) -> Result<(SharedTransport, CredentialsInfo), CloudError> {
    let endpoints = Endpoints::from_env();
    let fixed = std::env::var(ENV_TOKEN).ok().filter(|t| !t.is_empty());
    if let (Some(token), true) = (fixed, std::env::var(transport::ENV_ENDPOINT).is_ok_and(|e| !e.trim().is_empty())) {
        let info = CredentialsInfo {
            user: false,
            principal: None,
            source: format!("{ENV_TOKEN} (against {})", endpoints.base(Service::Iam)),
            quota_project: None,
        };
        return Ok((Arc::new(HttpTransport::new(endpoints, TokenSource::fixed(token))), info));
    }
    let provider = gcp_auth::provider().await.map_err(|e| no_credentials(&e.to_string()))?;
    let info = credentials_info();
    let user_project = if info.user { info.quota_project.clone().or_else(|| project.map(String::from)) } else { None };
    let t = HttpTransport::new(endpoints, TokenSource::Provider(provider)).with_user_project(user_project);
    Ok((Arc::new(t), info))
}

/// Send `request`, retrying 429 and 5xx answers (honouring `Retry-After`) with backoff.
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
        if matches!(r.status, 429 | 500 | 502 | 503 | 504) && attempt < RETRIES {
            attempt += 1;
            let wait = r.retry_after.map_or_else(|| backoff(base, attempt), |d| d.min(MAX_RETRY_AFTER));
            let g = GoogleError::parse(&r);
            notes
                .log(format!(
                    "{}: Google answered {} ({}); retrying in {} ms ({attempt}/{RETRIES})",
                    step.call,
                    r.status,
                    g.message,
                    wait.as_millis()
                ))
                .await;
            tokio::time::sleep(wait).await;
            continue;
        }
        return Ok(r);
    }
}

/// Exponential backoff from `base`, with jitter, capped at 30 s.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let full = base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(10))).min(Duration::from_secs(30));
    let ms = full.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms.max(1)))
}

fn step_for(endpoints: &Endpoints, what: &str, request: &ApiRequest, permission: &'static str) -> Step {
    Step { what: what.to_string(), call: request.describe(endpoints), permission }
}

/// Every project the signed-in account can see (`projects:search`, every page).
pub async fn projects(transport: &SharedTransport) -> Result<Vec<ProjectInfo>, CloudError> {
    let notes = Notes::default();
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req =
            ApiRequest::new(Service::ResourceManager, Method::Get, "/v3/projects:search").query("pageSize", "100");
        if let Some(t) = &token {
            req = req.query("pageToken", t.clone());
        }
        let step = step_for(transport.endpoints(), "list your projects", &req, "resourcemanager.projects.get");
        let r = send_retrying(transport, &notes, &step, req, GcpOptions::default().poll_interval).await?;
        if r.status >= 400 {
            return Err(errors::google_error(&step, &GoogleError::parse(&r), "PROJECT"));
        }
        for p in r.body["projects"].as_array().into_iter().flatten() {
            let text = |k: &str| p[k].as_str().unwrap_or_default().to_string();
            if p["projectId"].as_str().is_none() {
                return Err(errors::unexpected(&step, "`projectId` in a project", p));
            }
            out.push(ProjectInfo {
                project_id: text("projectId"),
                name: text("name"),
                display_name: text("displayName"),
                state: text("state"),
            });
        }
        match r.body["nextPageToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

impl Gcp {
    /// Sign in through gcp_auth's chain (GOOGLE_APPLICATION_CREDENTIALS, ADC, metadata server,
    /// gcloud) and check that `project` is visible.
    pub async fn connect(project: &str, vendor: &VendorProfile) -> Result<Gcp, CloudError> {
        crate::validate::gcp_project_id(project).map_err(|e| {
            CloudError::failed(e.to_string(), "Pick the project by its id (`gcloud projects list` shows them).")
        })?;
        let (transport, info) = signed_in_transport(Some(project)).await?;
        let principal = info.principal.clone().unwrap_or_else(|| "signed-in account (e-mail unknown)".into());
        let gcp = Gcp::with_transport(transport, project, &principal, &info.source, vendor, GcpOptions::default());
        let req = ApiRequest::new(Service::ResourceManager, Method::Get, format!("/v3/projects/{project}"));
        let step = gcp.step(&format!("open project {project}"), &req, "resourcemanager.projects.get");
        let r = gcp.call(&Notes::default(), &step, req).await?;
        if matches!(r.status, 403 | 404) && GoogleError::parse(&r).reasons.is_empty() {
            return Err(CloudError::failed(
                format!("project {project} does not exist or {principal} cannot see it ({} answered {})", step.call, GoogleError::parse(&r).summary()),
                "Check the project id (`gcloud projects list`), or ask its owner for roles/browser and the roles docs/gcp.md lists.",
            ));
        }
        gcp.ok(&step, r)?;
        Ok(gcp)
    }

    /// A provider over any transport: a wiremock server in tests, the sandbox's simulated project.
    pub fn with_transport(
        transport: SharedTransport,
        project: &str,
        principal: &str,
        source: &str,
        vendor: &VendorProfile,
        options: GcpOptions,
    ) -> Gcp {
        Gcp {
            inner: Arc::new(Inner {
                transport,
                project: project.to_string(),
                principal: principal.to_string(),
                source: source.to_string(),
                vendor: vendor.clone(),
                options,
                surveyed: Default::default(),
            }),
        }
    }

    /// `init --restore`: cloudgrant does not restore Google Cloud key versions itself; it says
    /// which to restore, with the commands, and changes nothing.
    pub async fn restore(&self, org: &str) -> Result<Vec<String>, CloudError> {
        let mut doomed = Vec::new();
        for inst in self.discover(Some(org)).await? {
            doomed
                .extend(inst.leftovers.iter().filter(|l| l.by_revoke).map(|l| format!("{}: {}", l.physical_id, l.way)));
        }
        if doomed.is_empty() {
            return Ok(Vec::new());
        }
        Err(CloudError::failed(
            format!("the install of org {org} has key versions scheduled for destruction: {}", doomed.join(" | ")),
            format!("Restore and enable them with the gcloud commands above, then run `cloudgrant init --org {org} --cloud gcp --project {} --restore`.", self.project()),
        ))
    }

    pub fn identity(&self) -> Identity {
        Identity {
            cloud: Cloud::Gcp,
            account: self.inner.project.clone(),
            principal: self.inner.principal.clone(),
            source: self.inner.source.clone(),
            tenant: None,
        }
    }

    pub fn project(&self) -> &str {
        &self.inner.project
    }

    pub fn options(&self) -> &GcpOptions {
        &self.inner.options
    }

    pub fn transport(&self) -> &SharedTransport {
        &self.inner.transport
    }

    pub(crate) fn step(&self, what: &str, request: &ApiRequest, permission: &'static str) -> Step {
        step_for(self.inner.transport.endpoints(), what, request, permission)
    }

    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        backoff(self.inner.options.poll_interval, attempt)
    }

    /// Send with retries on 429/5xx; any other answer comes back as it is.
    pub(crate) async fn call(
        &self,
        notes: &Notes,
        step: &Step,
        request: ApiRequest,
    ) -> Result<ApiResponse, CloudError> {
        send_retrying(&self.inner.transport, notes, step, request, self.inner.options.poll_interval).await
    }

    /// The body of a 2xx answer, or the error the user reads.
    pub(crate) fn ok(&self, step: &Step, r: ApiResponse) -> Result<Value, CloudError> {
        if r.status < 300 {
            Ok(r.body)
        } else {
            Err(errors::google_error(step, &GoogleError::parse(&r), &self.inner.project))
        }
    }

    /// GET-like call where 404 means "absent".
    pub(crate) async fn get_opt(
        &self,
        notes: &Notes,
        what: &str,
        request: ApiRequest,
        permission: &'static str,
    ) -> Result<Option<Value>, CloudError> {
        self.get_opt_unless(notes, what, request, permission, |_| false).await
    }

    /// [`Self::get_opt`], also taking an answer `absent` accepts as "nothing there".
    pub(crate) async fn get_opt_unless(
        &self,
        notes: &Notes,
        what: &str,
        request: ApiRequest,
        permission: &'static str,
        absent: impl Fn(&ApiResponse) -> bool,
    ) -> Result<Option<Value>, CloudError> {
        let step = self.step(what, &request, permission);
        let r = self.call(notes, &step, request).await?;
        if r.status == 404 || absent(&r) {
            return Ok(None);
        }
        self.ok(&step, r).map(Some)
    }

    /// Every item of a paged list (`items_key` holds the page's items).
    pub(crate) async fn list_all(
        &self,
        notes: &Notes,
        what: &str,
        request: ApiRequest,
        items_key: &str,
        permission: &'static str,
    ) -> Result<Vec<Value>, CloudError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = request.clone();
            if let Some(t) = &token {
                req = req.query("pageToken", t.clone());
            }
            let step = self.step(what, &req, permission);
            let r = self.call(notes, &step, req).await?;
            let body = self.ok(&step, r)?;
            out.extend(body[items_key].as_array().cloned().unwrap_or_default());
            match body["nextPageToken"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// The rendered definitions for an install of `org` at `location` in this project.
    pub(crate) fn spec_of(&self, org: &str, location: &str) -> Result<Spec, CloudError> {
        let choices = Choices {
            org: org.to_string(),
            region: location.to_string(),
            account: Some(self.inner.project.clone()),
            external_id: None,
        };
        Ok(Spec::bundled(&self.inner.vendor, &choices)?)
    }

    pub(crate) fn manifest_dir(&self) -> Option<PathBuf> {
        if let Some(d) = &self.inner.options.manifest_dir {
            return Some(d.clone());
        }
        let sub = if self.inner.options.sandbox { "sandbox-gcp" } else { "gcp" };
        dirs::data_dir().map(|d| d.join("cloudgrant").join(sub).join(&self.inner.project))
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
    fn project_choice_reads_well() {
        let p = ProjectInfo {
            project_id: "acme-prod-123".into(),
            name: "projects/1".into(),
            display_name: "Acme prod".into(),
            state: "ACTIVE".into(),
        };
        assert_eq!(p.account_choice().label, "acme-prod-123 (Acme prod)");
    }
}
