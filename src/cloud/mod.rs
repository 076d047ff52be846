//! Cloud providers behind one interface: the same Plan → events → Installation → RevokePlan →
//! events → Residue pipeline for every cloud and for the sandbox. No terminal code here: the
//! TUI and the CLI call these from spawned tasks and read [`Update`]s from a channel.

pub mod sandbox;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::model::{Cloud, Installation, Plan, RevokePlan, Update};
use crate::plan::{self, Choices, PlanError};
use crate::vendor::VendorProfile;

/// Who the tool is acting as.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Identity {
    pub cloud: Cloud,
    pub account: String,
    /// ARN or e-mail of the signed-in principal.
    pub principal: String,
    /// Where the credentials came from (profile name, environment, sandbox).
    pub source: String,
}

/// An account the user can pick on the Account screen.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountChoice {
    /// What to pass to [`connect`]: a profile name, or a sandbox account name.
    pub key: String,
    pub label: String,
    pub detail: String,
    pub sandbox: bool,
}

/// Errors from a cloud, each with the next step for the user.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CloudError {
    #[error("{message}")]
    Failed { message: String, next_step: String },
    #[error("a stack named {name} exists but was not made by cloudgrant (no managed-by=cloudgrant tag)")]
    NotOurs { name: String },
    #[error("cancelled")]
    Cancelled,
}

impl CloudError {
    pub fn failed(message: impl Into<String>, next_step: impl Into<String>) -> Self {
        CloudError::Failed { message: message.into(), next_step: next_step.into() }
    }

    /// What the user should do now.
    pub fn next_step(&self) -> String {
        match self {
            CloudError::Failed { next_step, .. } => next_step.clone(),
            CloudError::NotOurs { name } => format!(
                "cloudgrant never touches stacks it did not make. Choose another org name, or remove {name} yourself if it is a leftover."
            ),
            CloudError::Cancelled => "Nothing else was started. Run the same command again to continue.".into(),
        }
    }
}

impl From<PlanError> for CloudError {
    fn from(e: PlanError) -> Self {
        CloudError::failed(e.to_string(), "Fix the value named above and run again.")
    }
}

/// One connected cloud account.
#[derive(Debug, Clone)]
pub enum Provider {
    Sandbox(sandbox::Sandbox),
}

impl Provider {
    pub fn cloud(&self) -> Cloud {
        match self {
            Provider::Sandbox(s) => s.cloud(),
        }
    }

    pub fn is_sandbox(&self) -> bool {
        matches!(self, Provider::Sandbox(_))
    }

    pub async fn identity(&self) -> Result<Identity, CloudError> {
        match self {
            Provider::Sandbox(s) => s.identity(),
        }
    }

    /// Installs of this vendor found in the account (from tags and names, not local files),
    /// optionally only the one for `org`.
    pub async fn discover(&self, org: Option<&str>) -> Result<Vec<Installation>, CloudError> {
        match self {
            Provider::Sandbox(s) => s.discover(org),
        }
    }

    /// The plan to apply for these choices, rendered for this account. An existing install's
    /// ExternalId is kept (the vendor already has it); otherwise the vendor profile's, or a new
    /// random one.
    pub async fn plan(&self, vendor: &VendorProfile, choices: &Choices) -> Result<Plan, CloudError> {
        let identity = self.identity().await?;
        let existing = self.discover(Some(&choices.org)).await?;
        let external_id = choices
            .external_id
            .clone()
            .or_else(|| vendor.aws.external_id.clone())
            .or_else(|| existing.iter().find_map(|i| i.outputs.get("ExternalId").cloned()))
            .unwrap_or_else(plan::new_external_id);
        let choices = Choices { account: Some(identity.account), external_id: Some(external_id), ..choices.clone() };
        Ok(plan::aws::build(vendor, &choices)?)
    }

    /// Create or update everything in `plan`, sending events as they happen and a final
    /// [`Update::Applied`]. Returns once the cloud has settled (or `cancel` fired).
    pub async fn apply(
        &self,
        plan: &Plan,
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<Installation, CloudError> {
        match self {
            Provider::Sandbox(s) => s.apply(plan, tx, cancel).await,
        }
    }

    /// What revoke would do to each resource, checked against the cloud before anything is asked.
    pub async fn revoke_plan(&self, installation: &Installation) -> Result<RevokePlan, CloudError> {
        match self {
            Provider::Sandbox(s) => s.revoke_plan(installation),
        }
    }

    /// Delete the install, dependents first, sending events and a final [`Update::Revoked`].
    /// `retain` lists logical ids to leave in place (the retry after a DELETE_FAILED).
    pub async fn revoke(
        &self,
        plan: &RevokePlan,
        retain: &[String],
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<crate::model::Residue, CloudError> {
        match self {
            Provider::Sandbox(s) => s.revoke(plan, retain, tx, cancel).await,
        }
    }
}

/// A place cloudgrant can install into, as offered on the Cloud screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub cloud: Cloud,
    pub sandbox: bool,
    /// False while the provider is not built yet (the screen says "coming").
    pub available: bool,
    pub title: String,
    /// What was detected: credentials found where, or why not.
    pub detail: String,
}

/// Everything a provider needs besides the account.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub vendor: VendorProfile,
    pub sandbox: sandbox::SandboxConfig,
}

/// The targets to offer, with what was detected for each. With `sandbox_only` (`--sandbox`), only
/// the sandbox is offered.
pub fn targets(sandbox_only: bool) -> Vec<Target> {
    let mut out = vec![Target {
        cloud: Cloud::Aws,
        sandbox: true,
        available: true,
        title: "AWS sandbox (simulated, nothing real is created)".into(),
        detail: "A built-in simulated AWS account: try the whole flow, rehearse with a customer, or demo.".into(),
    }];
    if sandbox_only {
        return out;
    }
    out.push(Target {
        cloud: Cloud::Aws,
        sandbox: false,
        available: false,
        title: "AWS (your account)".into(),
        detail: aws_credentials_hint(),
    });
    for cloud in [Cloud::Gcp, Cloud::Azure] {
        out.push(Target {
            cloud,
            sandbox: false,
            available: false,
            title: cloud.title().into(),
            detail: "coming: use the sandbox to see the flow".into(),
        });
    }
    out
}

/// Where AWS credentials were looked for, and what was found.
fn aws_credentials_hint() -> String {
    let env = std::env::var_os("AWS_ACCESS_KEY_ID").is_some() || std::env::var_os("AWS_PROFILE").is_some();
    let home = dirs::home_dir().unwrap_or_default();
    let files = ["config", "credentials"].iter().any(|f| home.join(".aws").join(f).exists());
    match (env, files) {
        (true, _) => "credentials found in the environment; real AWS support is coming".into(),
        (false, true) => "profiles found in ~/.aws; real AWS support is coming".into(),
        (false, false) => "no credentials found (environment, ~/.aws/config, ~/.aws/credentials)".into(),
    }
}

/// Accounts to offer for a target.
pub fn accounts(target: &Target) -> Vec<AccountChoice> {
    if target.sandbox {
        sandbox::accounts()
    } else {
        Vec::new()
    }
}

/// Connect to one account of a target.
pub async fn connect(
    target: &Target,
    account: &AccountChoice,
    options: &ConnectOptions,
) -> Result<Provider, CloudError> {
    if target.sandbox {
        return Ok(Provider::Sandbox(sandbox::Sandbox::connect(
            options.sandbox.clone(),
            &account.key,
            &options.vendor,
        )?));
    }
    Err(CloudError::failed(
        format!("{} is not supported yet", target.title),
        "Use the sandbox to walk through the flow (`cloudgrant --sandbox`).",
    ))
}
