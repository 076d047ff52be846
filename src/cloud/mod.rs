//! Cloud providers behind one interface: the same Plan → events → Installation → RevokePlan →
//! events → Residue pipeline for every cloud and for the sandbox. No terminal code here: the
//! TUI and the CLI call these from spawned tasks and read [`Update`]s from a channel.

pub mod aws;
pub mod azure;
pub mod common;
pub mod fresh;
pub mod gcp;
pub mod ownership;
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
    /// Azure: the tenant (directory) the subscription belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
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
    /// A group with one of this install's names that is not this install (a mark differs).
    #[error("{} {} has a name this install uses but is not this install ({}); nothing was changed", .0.kind, .0.name, .0.why.join("; "))]
    NotThisInstall(Box<crate::model::Stranger>),
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
            CloudError::NotThisInstall(s) => format!(
                "cloudgrant never changes what is not provably this install's. Inspect it: {}. If it is a leftover of yours, remove it yourself ({}) and run init again; otherwise choose another org name.",
                s.inspect, s.remove
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
    /// An AWS account: AWS itself, or the sandbox's simulated account (the same code talking to
    /// a simulated AWS beneath the SDK).
    Aws(aws::Aws),
    /// A Google Cloud project: Google itself, or the sandbox's simulated project (the same code
    /// talking to a simulated API).
    Gcp(gcp::Gcp),
    /// An Azure subscription: Azure itself, or the sandbox's simulated subscription (the same
    /// code talking to a simulated API).
    Azure(azure::Azure),
}

impl Provider {
    pub fn cloud(&self) -> Cloud {
        match self {
            Provider::Aws(_) => Cloud::Aws,
            Provider::Gcp(_) => Cloud::Gcp,
            Provider::Azure(_) => Cloud::Azure,
        }
    }

    pub fn is_sandbox(&self) -> bool {
        match self {
            Provider::Gcp(g) => g.options().sandbox,
            Provider::Azure(a) => a.options().sandbox,
            Provider::Aws(a) => a.options().sandbox,
        }
    }

    pub async fn identity(&self) -> Result<Identity, CloudError> {
        match self {
            Provider::Aws(a) => Ok(a.identity()),
            Provider::Gcp(g) => Ok(g.identity()),
            Provider::Azure(a) => Ok(a.identity()),
        }
    }

    /// Installs of this vendor found in the account (from tags and names, not local files),
    /// optionally only the one for `org`.
    pub async fn discover(&self, org: Option<&str>) -> Result<Vec<Installation>, CloudError> {
        match self {
            Provider::Aws(a) => a.discover(org).await,
            Provider::Gcp(g) => g.discover(org).await,
            Provider::Azure(a) => a.discover(org).await,
        }
    }

    /// Where credentials came from, for messages ("profile prod").
    pub fn label(&self) -> String {
        match self {
            Provider::Aws(a) if a.options().sandbox => format!("sandbox account {}", a.identity().account),
            Provider::Aws(a) => {
                a.profile().map(|p| format!("profile {p}")).unwrap_or_else(|| "default credentials".into())
            }
            Provider::Gcp(g) if g.options().sandbox => format!("sandbox project {}", g.project()),
            Provider::Gcp(g) => format!("project {}", g.project()),
            Provider::Azure(a) if a.options().sandbox => {
                format!("sandbox subscription {}", a.subscription().subscription_id)
            }
            Provider::Azure(a) => format!("subscription {}", a.subscription().subscription_id),
        }
    }

    /// The flag that reaches the same account again from the command line.
    pub fn cli_flags(&self) -> String {
        match self {
            Provider::Aws(a) if a.options().sandbox => " --sandbox".into(),
            Provider::Aws(a) => a.profile().map(|p| format!(" --profile {p}")).unwrap_or_default(),
            Provider::Gcp(g) if g.options().sandbox => format!(" --cloud gcp --sandbox --project {}", g.project()),
            Provider::Gcp(g) => format!(" --cloud gcp --project {}", g.project()),
            Provider::Azure(a) if a.options().sandbox => {
                format!(" --cloud azure --sandbox --subscription {}", a.subscription().subscription_id)
            }
            Provider::Azure(a) => format!(" --cloud azure --subscription {}", a.subscription().subscription_id),
        }
    }

    /// The plan to apply for these choices, rendered for this account. An existing install's
    /// ExternalId is kept (the vendor already has it); otherwise the vendor profile's, or a new
    /// random one. The install's id is kept too (a new one at first init), and an install that a
    /// revoke left half-done is refused with both ways on: see [`Provider::plan_for`].
    pub async fn plan(&self, vendor: &VendorProfile, choices: &Choices) -> Result<Plan, CloudError> {
        self.plan_for(vendor, choices, false).await
    }

    /// [`Provider::plan`]; with `restoring`, a half-done revoke is not refused (the caller has run
    /// [`Provider::restore`] and means to create again what the revoke removed).
    pub async fn plan_for(
        &self,
        vendor: &VendorProfile,
        choices: &Choices,
        restoring: bool,
    ) -> Result<Plan, CloudError> {
        let identity = self.identity().await?;
        let existing = self.discover(Some(&choices.org)).await?;
        let current = existing.iter().find(|i| !i.groups.is_empty());
        if let Some(i) = current {
            if let Some(e) = init_refusal(i, restoring, &self.cli_flags()) {
                return Err(e);
            }
        }
        let install_id = current.and_then(|i| i.install_id.clone()).unwrap_or_else(ownership::new_install_id);
        let mut plan = match self.cloud() {
            // No ExternalId on Google Cloud: the vendor is named by its own service account.
            Cloud::Gcp => {
                let choices = Choices { account: Some(identity.account), external_id: None, ..choices.clone() };
                plan::gcp::build(vendor, &choices)?
            }
            // No ExternalId on Azure: the vendor is named by its own application. A re-run keeps
            // the install's name suffix (its globally unique names stay the same).
            Cloud::Azure => {
                let Provider::Azure(a) = self else { unreachable!("the cloud is Azure") };
                let choices = Choices { account: Some(identity.account), external_id: None, ..choices.clone() };
                a.plan(vendor, &choices, &existing).await?
            }
            Cloud::Aws => plan::aws::build(vendor, &aws_choices(vendor, choices, &identity, &existing))?,
        };
        ownership::set_install_id(&mut plan, &install_id);
        Ok(plan)
    }

    /// Undo what a half-done revoke scheduled for destruction, before `init --restore` creates the
    /// rest again: on AWS, CancelKeyDeletion and EnableKey on the install's keys. One line per
    /// thing restored.
    pub async fn restore(&self, org: &str) -> Result<Vec<String>, CloudError> {
        match self {
            Provider::Aws(a) => a.restore(org).await,
            Provider::Gcp(g) => g.restore(org).await,
            // Nothing on Azure is scheduled for destruction by a half-done revoke but the Key
            // Vault, which init re-creates (its soft-deleted twin is named by init's checks).
            Provider::Azure(_) => Ok(Vec::new()),
        }
    }

    /// What applying `plan` would change in groups that exist already (change sets on AWS).
    pub async fn preview_changes(&self, plan: &Plan) -> Result<Vec<crate::model::GroupChanges>, CloudError> {
        match self {
            Provider::Aws(a) => a.preview_changes(plan).await,
            Provider::Gcp(g) => g.preview_changes(plan).await,
            Provider::Azure(a) => a.preview_changes(plan).await,
        }
    }

    /// Create or update everything in `plan`, sending events as they happen and a final
    /// [`Update::Applied`]. Returns once the cloud has settled (or `cancel` fired).
    pub async fn apply(
        &self,
        plan: &Plan,
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<Installation, CloudError> {
        // A plan renders ARNs for one account: applying it anywhere else would grant something
        // other than what was previewed.
        let account = self.identity().await?.account;
        if plan.account.as_deref() != Some(account.as_str()) {
            return Err(CloudError::failed(
                format!(
                    "this plan was made for account {}, not {account}",
                    plan.account.as_deref().unwrap_or("<none>")
                ),
                "Build the plan again for this account.",
            ));
        }
        match self {
            Provider::Aws(a) => a.apply(plan, tx, cancel).await,
            Provider::Gcp(g) => g.apply(plan, tx, cancel).await,
            Provider::Azure(a) => a.apply(plan, tx, cancel).await,
        }
    }

    /// What revoke would do to each resource, checked against the cloud before anything is asked.
    pub async fn revoke_plan(&self, installation: &Installation) -> Result<RevokePlan, CloudError> {
        match self {
            Provider::Aws(a) => a.revoke_plan(installation).await,
            Provider::Gcp(g) => g.revoke_plan(installation).await,
            Provider::Azure(a) => a.revoke_plan(installation).await,
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
            Provider::Aws(a) => a.revoke(plan, retain, tx, cancel).await,
            Provider::Gcp(g) => g.revoke(plan, retain, tx, cancel).await,
            Provider::Azure(a) => a.revoke(plan, retain, tx, cancel).await,
        }
    }
}

/// The AWS choices: the ExternalId of the flag, the vendor profile, the existing install, or new.
fn aws_choices(vendor: &VendorProfile, choices: &Choices, identity: &Identity, existing: &[Installation]) -> Choices {
    let external_id = choices
        .external_id
        .clone()
        .or_else(|| vendor.aws.external_id.clone())
        // The one an existing install was made with: its stacks' `ExternalId` parameter (set by
        // cloudgrant, docs/vendor-packs.md).
        .or_else(|| existing.iter().flat_map(|i| &i.groups).find_map(|g| g.parameters.get("ExternalId").cloned()))
        .or_else(|| existing.iter().find_map(|i| i.outputs.get("ExternalId").cloned()))
        .unwrap_or_else(plan::new_external_id);
    Choices { account: Some(identity.account.clone()), external_id: Some(external_id), ..choices.clone() }
}

/// Why `init` must not go on with this install as it stands: the cloud is still working on it,
/// or a revoke stopped half-way (then both ways on are named: finish the revoke, or restore).
pub fn init_refusal(inst: &Installation, restoring: bool, flags: &str) -> Option<CloudError> {
    let org = &inst.org;
    if inst.health.is_running() {
        return Some(CloudError::failed(
            format!("the install of org {org} is {}", inst.health.sentence()),
            format!("Wait for the cloud to finish (`cloudgrant status --org {org}{flags}`), then run init again."),
        ));
    }
    if !inst.health.is_partly_revoked() || restoring {
        return None;
    }
    let doomed: Vec<String> = inst.leftovers.iter().filter(|l| l.by_revoke).map(|l| l.line()).collect();
    let doomed = if doomed.is_empty() { String::new() } else { format!(" {}", doomed.join(" ")) };
    let restore = match inst.cloud {
        Cloud::Aws => "cancels the scheduled deletion of the install's keys and enables them again (kms:CancelKeyDeletion, kms:EnableKey), so what was encrypted with them stays readable, then creates again what the revoke removed and gives the vendor its access back",
        Cloud::Gcp => "first names the key versions to restore, with the gcloud commands (cloudgrant does not restore them itself), then creates again what the revoke removed and gives the vendor its access back",
        Cloud::Azure => "creates again what the revoke removed and gives the vendor its access back",
    };
    Some(CloudError::failed(
        format!("the install of org {org} is half revoked: {}.{doomed}", inst.health.sentence()),
        format!(
            "Choose one. Finish the revoke: `cloudgrant revoke --org {org}{flags}`. Or restore the install: `cloudgrant init --org {org}{flags} --restore`, which {restore}."
        ),
    ))
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
    /// `--region`: overrides the profile's region for discovery.
    pub region: Option<String>,
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
    let gcp_sandbox = Target {
        cloud: Cloud::Gcp,
        sandbox: true,
        available: true,
        title: "Google Cloud sandbox (simulated, nothing real is created)".into(),
        detail: "A built-in simulated Google Cloud project, answering the same API calls cloudgrant makes to Google."
            .into(),
    };
    let azure_sandbox = Target {
        cloud: Cloud::Azure,
        sandbox: true,
        available: true,
        title: "Azure sandbox (simulated, nothing real is created)".into(),
        detail: "A built-in simulated Azure subscription, answering the same API calls cloudgrant makes to Azure."
            .into(),
    };
    if sandbox_only {
        out.push(gcp_sandbox);
        out.push(azure_sandbox);
        return out;
    }
    let (found, detail) = aws_credentials_hint();
    let aws = Target { cloud: Cloud::Aws, sandbox: false, available: true, title: "AWS (your account)".into(), detail };
    if found {
        // Credentials found: offer the real account first.
        out.insert(0, aws);
    } else {
        out.push(aws);
    }
    let (found, detail) = gcp_credentials_hint();
    let gcp = Target {
        cloud: Cloud::Gcp,
        sandbox: false,
        available: true,
        title: "Google Cloud (your project)".into(),
        detail,
    };
    if found {
        // Credentials found: right after the AWS entries, before the sandboxes' second.
        let at = out.iter().position(|t| t.sandbox).map_or(out.len(), |i| i + 1);
        out.insert(at.min(out.len()), gcp);
        out.push(gcp_sandbox);
    } else {
        out.push(gcp_sandbox);
        out.push(gcp);
    }
    out.push(azure_sandbox);
    let (found, detail) = azure_credentials_hint();
    let azure = Target {
        cloud: Cloud::Azure,
        sandbox: false,
        available: true,
        title: "Azure (your subscription)".into(),
        detail,
    };
    if found {
        // Credentials found: before the Google Cloud sandbox, after the real accounts found.
        let at = out.iter().rposition(|t| !t.sandbox).map_or(out.len(), |i| i + 1);
        out.insert(at.min(out.len()), azure);
    } else {
        out.push(azure);
    }
    out
}

/// Where Azure credentials were looked for (the places the credential chain reads), and what was
/// found. Nothing is read from the files but their presence.
fn azure_credentials_hint() -> (bool, String) {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if set(azure::ENV_TOKEN) && set(azure::transport::ENV_ENDPOINT) {
        return (true, format!("a token in {} for {}", azure::ENV_TOKEN, azure::transport::ENV_ENDPOINT));
    }
    if set(azure::http::ENV_CLIENT_ID) && set(azure::http::ENV_TENANT_ID) && set(azure::http::ENV_CLIENT_SECRET) {
        return (true, "service principal found in the environment (AZURE_CLIENT_ID)".into());
    }
    let config = match std::env::var_os("AZURE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        Some(d) => Some(std::path::PathBuf::from(d)),
        None => dirs::home_dir().map(|h| h.join(".azure")),
    };
    if config.is_some_and(|d| d.join("azureProfile.json").exists()) {
        return (true, "Azure CLI sign-in found (~/.azure/azureProfile.json; `az login`)".into());
    }
    (
        false,
        "no credentials found (looked in AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET and the Azure CLI's ~/.azure/azureProfile.json): run `az login`, or use the sandbox".into(),
    )
}

/// Where Google Cloud credentials were looked for (the places gcp_auth reads), and what was found.
fn gcp_credentials_hint() -> (bool, String) {
    if std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").is_some() {
        return (true, "credentials found: GOOGLE_APPLICATION_CREDENTIALS".into());
    }
    if std::env::var_os(gcp::ENV_TOKEN).is_some() && std::env::var_os(gcp::transport::ENV_ENDPOINT).is_some() {
        return (true, format!("a token in {} for {}", gcp::ENV_TOKEN, gcp::transport::ENV_ENDPOINT));
    }
    let adc = dirs::config_dir().map(|d| d.join("gcloud").join("application_default_credentials.json"));
    if adc.as_ref().is_some_and(|p| p.exists()) {
        return (true, "application default credentials found (gcloud auth application-default login)".into());
    }
    (
        false,
        "no credentials found (looked in GOOGLE_APPLICATION_CREDENTIALS and gcloud's application default credentials): run `gcloud auth application-default login`, or use the sandbox".into(),
    )
}

/// Where AWS credentials were looked for, and what was found.
fn aws_credentials_hint() -> (bool, String) {
    let env = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
    let profiles = aws::profiles::list();
    match (env, profiles.len()) {
        (true, _) => (true, "credentials found in the environment (AWS_ACCESS_KEY_ID)".into()),
        (false, 0) => (
            false,
            "no credentials found (looked in AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws/config, ~/.aws/credentials): run `aws configure` or `aws sso login`, or use the sandbox".into(),
        ),
        (false, n) => (true, format!("{n} profile(s) found in ~/.aws")),
    }
}

/// Accounts to offer for a target: AWS profiles, Google Cloud projects (listed from Google), or
/// the sandbox's simulated accounts and projects.
pub async fn accounts(target: &Target) -> Result<Vec<AccountChoice>, CloudError> {
    match (target.sandbox, target.cloud) {
        (true, Cloud::Gcp) => Ok(sandbox::gcp_accounts()),
        (true, Cloud::Azure) => Ok(sandbox::azure_accounts()),
        (true, _) => Ok(sandbox::accounts()),
        (false, Cloud::Gcp) => {
            let (transport, _) = gcp::signed_in_transport(None).await?;
            let projects = gcp::projects(&transport).await?;
            if projects.is_empty() {
                return Err(CloudError::failed(
                    "the signed-in Google account sees no project",
                    "Create one (`gcloud projects create`), or ask a project owner to grant you access; then press r to reload.",
                ));
            }
            Ok(projects.iter().map(gcp::ProjectInfo::account_choice).collect())
        }
        (false, Cloud::Azure) => {
            let (transport, who) = azure::signed_in_transport().await?;
            let subs = azure::subscriptions(&transport).await?;
            if subs.is_empty() {
                return Err(CloudError::failed(
                    format!("{} sees no Azure subscription", who.principal),
                    "Ask a subscription owner for access (or `az login --tenant TENANT` for another directory); then press r to reload.",
                ));
            }
            Ok(subs.iter().map(azure::SubscriptionInfo::account_choice).collect())
        }
        (false, _) => Ok(aws_accounts(target)),
    }
}

fn aws_accounts(target: &Target) -> Vec<AccountChoice> {
    match target.cloud {
        Cloud::Aws => {
            let mut out = Vec::new();
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
                out.push(AccountChoice {
                    key: String::new(),
                    label: "environment credentials".into(),
                    detail: "AWS_ACCESS_KEY_ID and friends".into(),
                    sandbox: false,
                });
            }
            for p in aws::profiles::list() {
                let detail = match (&p.region, p.sso) {
                    (Some(r), true) => format!("SSO profile, region {r}"),
                    (None, true) => "SSO profile".into(),
                    (Some(r), false) => format!("region {r}"),
                    (None, false) => String::new(),
                };
                out.push(AccountChoice {
                    key: p.name.clone(),
                    label: format!("profile {}", p.name),
                    detail,
                    sandbox: false,
                });
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Connect to one account of a target.
pub async fn connect(
    target: &Target,
    account: &AccountChoice,
    options: &ConnectOptions,
) -> Result<Provider, CloudError> {
    options.vendor.supports(target.cloud).map_err(|m| {
        CloudError::failed(
            m,
            "Choose a cloud the vendor pack covers, or ask the vendor for a pack that covers this one.",
        )
    })?;
    match (target.sandbox, target.cloud) {
        (true, Cloud::Gcp) => Ok(Provider::Gcp(sandbox::connect_gcp(&options.sandbox, &account.key, &options.vendor)?)),
        (true, Cloud::Azure) => {
            Ok(Provider::Azure(sandbox::connect_azure(&options.sandbox, &account.key, &options.vendor)?))
        }
        (true, _) => Ok(Provider::Aws(
            sandbox::connect_aws(&options.sandbox, &account.key, options.region.as_deref(), &options.vendor).await?,
        )),
        (false, Cloud::Aws) => {
            let profile = Some(account.key.as_str()).filter(|k| !k.is_empty());
            Ok(Provider::Aws(aws::Aws::connect(profile, options.region.as_deref(), &options.vendor).await?))
        }
        (false, Cloud::Gcp) => Ok(Provider::Gcp(gcp::Gcp::connect(&account.key, &options.vendor).await?)),
        (false, Cloud::Azure) => Ok(Provider::Azure(azure::Azure::connect(&account.key, &options.vendor).await?)),
    }
}
