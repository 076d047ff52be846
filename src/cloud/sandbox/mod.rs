//! The sandbox: simulated clouds beneath the real providers. One folder per simulated cloud
//! (`aws/`, `google/`, `azure/`), each answering its provider's transport (the AWS SDK's HTTP
//! client; the GCP and Azure providers' `Transport`) the way the cloud does, so a sandbox run
//! executes exactly the provider code a real run does. It is the embedded default for first runs,
//! demos, training and most tests.
//!
//! - State persists under the user's data directory (or `CLOUDGRANT_SANDBOX_DIR`), one file per
//!   cloud (`aws.json`, `google.json`, `azure.json`), so `init` then a later `revoke` works
//!   across processes.
//! - `CLOUDGRANT_SANDBOX_SPEED` divides every duration (`50` for tests).
//! - `--sandbox-fail <logical id>` makes that resource fail (AWS: create rolls the stack back,
//!   delete leaves it DELETE_FAILED), for tests and support rehearsals.

pub mod aws;
pub mod azure;
pub mod file;
pub mod google;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{AccountChoice, CloudError};
use crate::plan::aws::Blueprint;
use crate::vendor::VendorProfile;

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

/// The AWS provider talking to the simulated AWS: the same code that talks to AWS. `account` is
/// `sandbox-dev` or `sandbox-prod` (or its id); `region` (default: the vendor's) is where the
/// stacks go, as a profile's region is on AWS.
pub async fn connect_aws(
    config: &SandboxConfig,
    account: &str,
    region: Option<&str>,
    vendor: &VendorProfile,
) -> Result<crate::cloud::aws::Aws, CloudError> {
    use crate::cloud::aws::{poller::Cadence, Aws, AwsOptions};
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
    let ids: Vec<&str> = ACCOUNTS.iter().map(|a| a.1).collect();
    let simulated = aws::SimulatedAws::open(config, &ids, aws::Knobs::from_env()?)?;
    let region = region.unwrap_or(&vendor.aws.default_region);
    let sdk = aws_sdk_config(simulated, id, region, config.speed);
    let scaled = |secs: f64, floor: f64| Duration::from_secs_f64((secs / config.speed).clamp(floor, secs));
    let cadence = Cadence {
        interval: scaled(1.5, 0.01),
        max_backoff: scaled(30.0, 0.05),
        limit: crate::cloud::common::deadline(),
    };
    let options = AwsOptions { source: format!("sandbox account {name}"), cadence: Some(cadence), sandbox: true };
    Aws::with_config(sdk, vendor, options).await
}

/// An SDK config whose requests the simulated AWS answers, signed for `account`. Retries are
/// the SDK's own, with more attempts and shorter waits (divided by the speed), so a throttled
/// sandbox (`CLOUDGRANT_SANDBOX_THROTTLE`) still finishes.
pub fn aws_sdk_config(simulated: aws::SimulatedAws, account: &str, region: &str, speed: f64) -> aws_config::SdkConfig {
    use aws_config::{retry::RetryConfig, BehaviorVersion, Region};
    use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider, SharedHttpClient};
    let credentials = Credentials::new(aws::access_key_id(account), "sandbox-secret", None, None, "cloudgrant-sandbox");
    let retry = RetryConfig::standard()
        .with_max_attempts(10)
        .with_initial_backoff(Duration::from_secs_f64((1.0 / speed).clamp(0.005, 1.0)))
        .with_max_backoff(Duration::from_secs_f64((20.0 / speed).clamp(0.05, 20.0)));
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(SharedHttpClient::new(simulated))
        .retry_config(retry)
        .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(aws_smithy_async::rt::sleep::TokioSleep::new()))
        .time_source(aws_smithy_async::time::SharedTimeSource::new(aws_smithy_async::time::SystemTimeSource::new()))
        .build()
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
    let definitions = crate::plan::gcp::Spec::of(vendor)?;
    let google = google::SimulatedGoogle::open(config, definitions)?;
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
    let simulated =
        azure::SimulatedAzure::open_with_pack(config, &[(&vendor.azure.app_id, &vendor.vendor.name)], &vendor.pack)?;
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
