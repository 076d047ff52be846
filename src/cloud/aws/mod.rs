//! The real AWS account, through the official SDK: the aws-config default chain (environment,
//! `~/.aws/config` and `credentials` profiles, SSO, `AWS_PROFILE`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`), CloudFormation change sets and stacks, and IAM/KMS/S3/EC2 where revoke
//! checks or verifies something.

pub mod bounds;
mod deploy;
pub mod errors;
pub mod poller;
pub mod profiles;
mod revoke;
mod standing;

use aws_config::{Region, SdkConfig};
use std::sync::Arc;

use super::{CloudError, Identity};
use crate::model::Cloud;
use crate::plan::aws::Blueprint;
use crate::vendor::VendorProfile;
use errors::sdk_error;
use poller::Cadence;

/// The SDK clients for one region.
#[derive(Debug, Clone)]
pub struct Clients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub iam: aws_sdk_iam::Client,
    pub kms: aws_sdk_kms::Client,
    pub s3: aws_sdk_s3::Client,
    pub ec2: aws_sdk_ec2::Client,
}

/// One connected AWS account.
#[derive(Debug, Clone)]
pub struct Aws {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: SdkConfig,
    profile: Option<String>,
    region: String,
    identity: Identity,
    vendor: VendorProfile,
    blueprint: Blueprint,
    cadence: Cadence,
    options: AwsOptions,
}

/// How an [`Aws`] built over a given SDK config ([`Aws::with_config`]) presents itself.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Where the credentials come from, for messages (`Identity::source`).
    pub source: String,
    /// The event poll cadence; `None`: [`Cadence::from_env`].
    pub cadence: Option<Cadence>,
    /// A simulated account (the sandbox): the same code, nothing real.
    pub sandbox: bool,
}

impl Aws {
    /// Load credentials the way the AWS CLI does and ask STS who we are.
    pub async fn connect(
        profile: Option<&str>,
        region: Option<&str>,
        vendor: &VendorProfile,
    ) -> Result<Aws, CloudError> {
        let mut loader = bounds::defaults(profile)?;
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = region {
            loader = loader.region(Region::new(r.to_string()));
        }
        let mut config = loader.load().await;
        if config.region().is_none() {
            // No region anywhere: use the vendor's default, as the wizard proposes it anyway.
            config = config.into_builder().region(Region::new(vendor.aws.default_region.clone())).build();
        }
        let region = config.region().map(|r| r.to_string()).unwrap_or_else(|| vendor.aws.default_region.clone());
        let sts = aws_sdk_sts::Client::new(&config);
        let who = sts.get_caller_identity().send().await.map_err(|e| sdk_error("sts:GetCallerIdentity", profile, e))?;
        let source = match profile {
            Some(p) => format!("profile {p}"),
            None => match std::env::var("AWS_PROFILE") {
                Ok(p) if !p.is_empty() => format!("profile {p} (AWS_PROFILE)"),
                _ => "default credential chain".into(),
            },
        };
        let identity = Identity {
            cloud: Cloud::Aws,
            account: who.account().unwrap_or_default().to_string(),
            principal: who.arn().unwrap_or_default().to_string(),
            source,
            tenant: None,
        };
        Ok(Aws {
            inner: Arc::new(Inner {
                config,
                profile: profile.map(String::from),
                region,
                identity,
                vendor: vendor.clone(),
                blueprint: Blueprint::of(&vendor.pack)?,
                cadence: Cadence::from_env(),
                options: AwsOptions::default(),
            }),
        })
    }

    /// The provider over a given SDK config (its HTTP client, credentials and region): the
    /// sandbox's simulated AWS, or any endpoint a caller has set up. Asks STS who we are.
    pub async fn with_config(
        config: SdkConfig,
        vendor: &VendorProfile,
        options: AwsOptions,
    ) -> Result<Aws, CloudError> {
        let region = config.region().map(|r| r.to_string()).unwrap_or_else(|| vendor.aws.default_region.clone());
        let config = bounds::watch(config.into_builder().region(Region::new(region.clone())).build());
        let who = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk_error("sts:GetCallerIdentity", None, e))?;
        let identity = Identity {
            cloud: Cloud::Aws,
            account: who.account().unwrap_or_default().to_string(),
            principal: who.arn().unwrap_or_default().to_string(),
            source: options.source.clone(),
            tenant: None,
        };
        Ok(Aws {
            inner: Arc::new(Inner {
                config,
                profile: None,
                region,
                identity,
                vendor: vendor.clone(),
                blueprint: Blueprint::of(&vendor.pack)?,
                cadence: options.cadence.unwrap_or_else(Cadence::from_env),
                options,
            }),
        })
    }

    pub fn options(&self) -> &AwsOptions {
        &self.inner.options
    }

    pub fn identity(&self) -> Identity {
        self.inner.identity.clone()
    }

    pub fn region(&self) -> &str {
        &self.inner.region
    }

    pub fn profile(&self) -> Option<&str> {
        self.inner.profile.as_deref()
    }

    /// Clients for `region`. S3 uses path-style addressing when an endpoint is overridden
    /// (`AWS_ENDPOINT_URL`): a loopback double has no per-bucket host names.
    pub fn clients(&self, region: &str) -> Clients {
        let config = self.inner.config.clone().into_builder().region(Region::new(region.to_string())).build();
        let overridden = config.endpoint_url().is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(&config).force_path_style(overridden).build();
        Clients {
            cfn: aws_sdk_cloudformation::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            kms: aws_sdk_kms::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            ec2: aws_sdk_ec2::Client::new(&config),
        }
    }

    fn err<E>(&self, action: &str, e: E) -> CloudError
    where
        E: errors::AsSdkError,
    {
        sdk_error(action, self.profile(), e)
    }
}
