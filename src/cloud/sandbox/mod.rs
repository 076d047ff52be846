//! The sandbox: a simulated AWS account that executes the real Plan (the same templates, the
//! same evaluator) with CloudFormation's event sequences and realistic timings. It is the
//! embedded default for first runs, demos, training and most tests.
//!
//! - State persists in `state.json` under the user's data directory (or `CLOUDGRANT_SANDBOX_DIR`),
//!   so `init` then a later `revoke` works across processes.
//! - `CLOUDGRANT_SANDBOX_SPEED` divides every duration (`50` for tests).
//! - `--sandbox-fail <logical id>` makes that resource fail (create: the stack rolls back;
//!   revoke: DELETE_FAILED), for tests and support rehearsals.

pub mod azure;
pub mod file;
pub mod google;
mod ops;
pub mod sim;
pub mod state;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{AccountChoice, CloudError, Identity};
use crate::model::{Cloud, Installation, InstalledGroup, InstalledResource, Status};
use crate::plan::aws::{Blueprint, TAG_MANAGED_BY, TAG_ORG, TAG_VENDOR};
use crate::vendor::VendorProfile;
use state::{Stack, Store};

pub const ENV_DIR: &str = "CLOUDGRANT_SANDBOX_DIR";
pub const ENV_SPEED: &str = "CLOUDGRANT_SANDBOX_SPEED";

/// The simulated accounts: (name, account id, what it stands for).
pub const ACCOUNTS: [(&str, &str, &str); 2] = [
    ("sandbox-dev", "210987654321", "a development account"),
    ("sandbox-prod", "310987654321", "a production account"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct SandboxConfig {
    pub dir: PathBuf,
    pub speed: f64,
    /// Logical ids to fail (`--sandbox-fail`).
    pub fail: Vec<String>,
}

impl SandboxConfig {
    /// From `CLOUDGRANT_SANDBOX_DIR` (default: `<data dir>/cloudgrant/sandbox`) and
    /// `CLOUDGRANT_SANDBOX_SPEED` (default 1).
    pub fn from_env(fail: Vec<String>) -> Result<Self, CloudError> {
        let dir = match std::env::var_os(ENV_DIR) {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => dirs::data_dir().map(|d| d.join("cloudgrant").join("sandbox")).ok_or_else(|| {
                CloudError::failed(
                    "no data directory found for the sandbox state",
                    format!("Set {ENV_DIR} to a writable directory."),
                )
            })?,
        };
        let speed = match std::env::var(ENV_SPEED) {
            Ok(s) => parse_speed(&s)?,
            Err(_) => 1.0,
        };
        Ok(SandboxConfig { dir, speed, fail })
    }
}

pub fn parse_speed(s: &str) -> Result<f64, CloudError> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 10_000.0 => Ok(v),
        _ => Err(CloudError::failed(
            format!("{ENV_SPEED} `{s}` is not a speed factor"),
            format!("Set {ENV_SPEED} to a number from 0.1 to 10000 (e.g. 50 runs fifty times faster), or unset it."),
        )),
    }
}

pub fn accounts() -> Vec<AccountChoice> {
    ACCOUNTS
        .iter()
        .map(|(name, id, what)| AccountChoice {
            key: (*name).into(),
            label: format!("{name} ({id})"),
            detail: format!("Simulated: {what}. Nothing real is created."),
            sandbox: true,
        })
        .collect()
}

/// One simulated account.
#[derive(Debug, Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: SandboxConfig,
    account: String,
    account_name: String,
    vendor: VendorProfile,
    blueprint: Blueprint,
    store: Store,
}

impl Sandbox {
    pub fn connect(config: SandboxConfig, account: &str, vendor: &VendorProfile) -> Result<Sandbox, CloudError> {
        let (name, id, _) = ACCOUNTS.iter().find(|(n, id, _)| *n == account || *id == account).ok_or_else(|| {
            let names: Vec<&str> = ACCOUNTS.iter().map(|a| a.0).collect();
            CloudError::failed(
                format!("there is no sandbox account `{account}`"),
                format!("Use one of: {}.", names.join(", ")),
            )
        })?;
        let blueprint = Blueprint::of(&vendor.pack)?;
        for f in &config.fail {
            if !blueprint.stacks.iter().any(|s| s.template.resource(f).is_some()) {
                let ids: Vec<&str> =
                    blueprint.stacks.iter().flat_map(|s| s.template.resources.iter().map(|r| r.id.as_str())).collect();
                return Err(CloudError::failed(
                    format!("--sandbox-fail `{f}` is not a resource of the templates"),
                    format!("Use a logical id: {}.", ids.join(", ")),
                ));
            }
        }
        let store = Store::new(&config.dir);
        // Read it once now, so a corrupt file stops us before anything else happens.
        store.load()?;
        Ok(Sandbox {
            inner: Arc::new(Inner {
                config,
                account: (*id).into(),
                account_name: (*name).into(),
                vendor: vendor.clone(),
                blueprint,
                store,
            }),
        })
    }

    pub fn cloud(&self) -> Cloud {
        Cloud::Aws
    }

    pub fn account(&self) -> &str {
        &self.inner.account
    }

    pub fn state_path(&self) -> PathBuf {
        self.with_store(|s| s.path().to_path_buf())
    }

    fn with_store<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.inner.store)
    }

    pub fn identity(&self) -> Result<Identity, CloudError> {
        Ok(Identity {
            cloud: Cloud::Aws,
            account: self.inner.account.clone(),
            principal: format!("arn:aws:sts::{}:assumed-role/SandboxAdmin/you", self.inner.account),
            source: format!("sandbox account {}", self.inner.account_name),
            tenant: None,
        })
    }

    /// This vendor's installs in the account, found by their tags.
    pub fn discover(&self, org: Option<&str>) -> Result<Vec<Installation>, CloudError> {
        let state = self.with_store(Store::load)?;
        let now = Utc::now();
        let stacks = state.accounts.get(&self.inner.account).map(|a| a.stacks.as_slice()).unwrap_or_default();
        Ok(self.installations(stacks, org, now))
    }

    fn installations(&self, stacks: &[Stack], org: Option<&str>, now: DateTime<Utc>) -> Vec<Installation> {
        let vendor_id = &self.inner.vendor.vendor.id;
        let mut out: Vec<Installation> = Vec::new();
        for s in stacks {
            let ours = s.tags.get(TAG_MANAGED_BY).map(String::as_str) == Some("cloudgrant")
                && s.tags.get(TAG_VENDOR) == Some(vendor_id);
            let Some(stack_org) = s.tags.get(TAG_ORG) else { continue };
            let Some(status) = s.status_at(now) else { continue };
            if !ours || status == Status::DeleteComplete || org.is_some_and(|o| o != stack_org) {
                continue;
            }
            let key = s.name.strip_prefix(&format!("{vendor_id}-{stack_org}-")).unwrap_or(&s.name).to_string();
            let resources = s
                .resources
                .iter()
                .filter_map(|r| {
                    s.resource_status_at(&r.id, now).map(|st| InstalledResource {
                        id: r.id.clone(),
                        type_: r.type_.clone(),
                        physical_id: Some(r.physical_id.clone()),
                        status: st,
                    })
                })
                .collect();
            let settled =
                matches!(status, Status::CreateComplete | Status::UpdateComplete | Status::UpdateRollbackComplete);
            let group = InstalledGroup {
                key,
                name: s.name.clone(),
                id: s.id.clone(),
                status,
                status_reason: s.status_reason_at(now),
                resources,
                outputs: if settled { s.outputs.clone() } else { Default::default() },
                parameters: s.parameters.clone(),
            };
            let created = s.events.first().map(|e| e.time);
            match out.iter_mut().find(|i| &i.org == stack_org) {
                Some(inst) => {
                    inst.outputs.extend(group.outputs.clone());
                    inst.created = inst.created.min(created);
                    inst.groups.push(group);
                }
                None => out.push(Installation {
                    cloud: Cloud::Aws,
                    vendor_id: vendor_id.clone(),
                    org: stack_org.clone(),
                    account: self.inner.account.clone(),
                    region: s.region.clone(),
                    created,
                    outputs: group.outputs.clone(),
                    groups: vec![group],
                    install_id: None,
                    health: Default::default(),
                    leftovers: Vec::new(),
                    strangers: Vec::new(),
                }),
            }
        }
        // Groups in blueprint order, so every screen lists them the same way.
        let order = |k: &str| self.inner.blueprint.stacks.iter().position(|s| s.key == k).unwrap_or(usize::MAX);
        for inst in &mut out {
            inst.groups.sort_by_key(|g| order(&g.key));
            // The same vocabulary as every provider; this simulator keeps no record of deletions.
            inst.health = crate::model::Health::derive(&crate::model::HealthFacts {
                planned: self
                    .inner
                    .blueprint
                    .stacks
                    .iter()
                    .map(|s| crate::plan::aws::stack_name(&self.inner.vendor, &inst.org, &s.key))
                    .collect(),
                present: inst.groups.iter().map(|g| (g.name.clone(), g.status)).collect(),
                ..Default::default()
            });
        }
        out
    }
}

/// The simulated Google Cloud projects, for the Account screen.
pub fn gcp_accounts() -> Vec<AccountChoice> {
    google::projects()
        .into_iter()
        .map(|(id, number, name)| AccountChoice {
            key: id.into(),
            label: format!("{id} ({name})"),
            detail: format!("Simulated project projects/{number}. Nothing real is created."),
            sandbox: true,
        })
        .collect()
}

/// The GCP provider talking to the simulated Google Cloud: the same code that talks to Google.
pub fn connect_gcp(
    config: &SandboxConfig,
    project: &str,
    vendor: &VendorProfile,
) -> Result<crate::cloud::gcp::Gcp, CloudError> {
    use crate::cloud::gcp::{Gcp, GcpOptions};
    let projects = google::projects();
    // `--account sandbox-dev` (the AWS sandbox's names) picks the matching project too.
    let id = projects
        .iter()
        .find(|(id, _, _)| *id == project || id.strip_prefix("cg-") == Some(project))
        .map(|(id, _, _)| *id)
        .ok_or_else(|| {
            let ids: Vec<&str> = projects.iter().map(|p| p.0).collect();
            CloudError::failed(
                format!("there is no sandbox project `{project}`"),
                format!("Use one of: {}.", ids.join(", ")),
            )
        })?;
    let google = google::SimulatedGoogle::open(config)?;
    let poll = std::time::Duration::from_secs_f64((1.5 / config.speed).clamp(0.001, 1.5));
    let options = GcpOptions {
        manifest_dir: Some(config.dir.join("gcp-manifests").join(id)),
        poll_interval: poll,
        sandbox: true,
    };
    Ok(Gcp::with_transport(
        std::sync::Arc::new(google),
        id,
        google::CALLER,
        &format!("sandbox project {id}"),
        vendor,
        options,
    ))
}

/// The simulated Azure subscriptions, for the Account screen.
pub fn azure_accounts() -> Vec<AccountChoice> {
    azure::SUBSCRIPTIONS
        .iter()
        .map(|(id, name, short)| AccountChoice {
            key: (*id).into(),
            label: format!("{name} ({id})"),
            detail: format!(
                "Simulated subscription `{short}` in tenant {} ({}). Nothing real is created.",
                azure::TENANT_NAME,
                azure::TENANT_ID
            ),
            sandbox: true,
        })
        .collect()
}

/// The Azure provider talking to the simulated Azure: the same code that talks to Azure.
/// `subscription` is a subscription id, its display name, or `sandbox-dev` / `sandbox-prod`.
pub fn connect_azure(
    config: &SandboxConfig,
    subscription: &str,
    vendor: &VendorProfile,
) -> Result<crate::cloud::azure::Azure, CloudError> {
    use crate::cloud::azure::{Azure, AzureOptions, SubscriptionInfo};
    let wanted = subscription.trim();
    let (id, name, _) = azure::SUBSCRIPTIONS
        .iter()
        .find(|(id, name, short)| {
            id.eq_ignore_ascii_case(wanted) || name.eq_ignore_ascii_case(wanted) || *short == wanted
        })
        .ok_or_else(|| {
            let names: Vec<String> =
                azure::SUBSCRIPTIONS.iter().map(|(id, name, short)| format!("{short} ({name}, {id})")).collect();
            CloudError::failed(
                format!("there is no sandbox subscription `{subscription}`"),
                format!("Use one of: {}.", names.join("; ")),
            )
        })?;
    let simulated = azure::SimulatedAzure::open(config, &[(&vendor.azure.app_id, &vendor.vendor.name)])?;
    let poll = std::time::Duration::from_secs_f64((1.5 / config.speed).clamp(0.001, 1.5));
    let info = SubscriptionInfo {
        subscription_id: (*id).into(),
        display_name: (*name).into(),
        tenant_id: azure::TENANT_ID.into(),
        state: "Enabled".into(),
    };
    Ok(Azure::with_transport(
        Arc::new(simulated),
        info,
        azure::CALLER,
        &format!("sandbox subscription {name}"),
        vendor,
        AzureOptions { poll_interval: poll, sandbox: true },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_validated() {
        assert_eq!(parse_speed("50"), Ok(50.0));
        for bad in ["0", "-1", "fast", "NaN", "1e9"] {
            let e = parse_speed(bad).expect_err(bad);
            assert!(e.to_string().contains(ENV_SPEED), "{e}");
        }
    }
}
