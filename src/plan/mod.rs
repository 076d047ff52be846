//! Building a [`Plan`](crate::model::Plan) from the template files that get deployed.

pub mod aws;
pub mod azure;
pub mod exceptions;
pub mod gcp;
pub mod network;
pub mod policy;
pub mod template;

use rand::distr::{Alphanumeric, SampleString};
use rand::TryRngCore;

/// The identity marks every group carries, the same keys on every cloud (AWS stack tags, Azure
/// deployment-stack tags, Google Cloud labels and the mark in role and service-account
/// descriptions). `crate::cloud::ownership` decides from them, and from the names, what is an
/// install's.
pub const MARK_MANAGED_BY: &str = "managed-by";
pub const MARK_VENDOR: &str = "cloudgrant-vendor";
pub const MARK_ORG: &str = "cloudgrant-org";
/// The random id recorded on every group at an install's first init.
pub const MARK_INSTALL_ID: &str = "cloudgrant-install-id";
/// The value of `managed-by` on everything cloudgrant makes.
pub const MANAGED_BY: &str = "cloudgrant";

/// Length of generated ExternalIds (AWS asks for a unique, unguessable value; 32+ characters).
pub const EXTERNAL_ID_LEN: usize = 40;

/// A new ExternalId from the operating system's CSPRNG.
pub fn new_external_id() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng.unwrap_err(), EXTERNAL_ID_LEN)
}

/// What the user chose, on top of the vendor profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Choices {
    pub org: String,
    pub region: String,
    /// The account, once known (renders ARNs exactly).
    pub account: Option<String>,
    /// `None` renders a placeholder: `init` generates one before building the plan it applies.
    pub external_id: Option<String>,
}

/// The plan for `cloud` from the vendor pack's definitions.
pub fn build(
    cloud: crate::model::Cloud,
    vendor: &crate::vendor::VendorProfile,
    choices: &Choices,
) -> Result<crate::model::Plan, PlanError> {
    use crate::model::Cloud;
    vendor.supports(cloud).map_err(PlanError::Invalid)?;
    match cloud {
        Cloud::Aws => aws::build(vendor, choices),
        Cloud::Gcp => gcp::build(vendor, choices),
        // Offline: a new name suffix; `init` reuses an existing install's instead.
        Cloud::Azure => azure::build(vendor, choices, &azure::new_suffix()),
    }
}

/// The Azure location offered when the vendor profile names none (`azure.default_region`).
pub const DEFAULT_AZURE_LOCATION: &str = "westeurope";

/// The region offered when the user names none: the vendor profile's for that cloud.
pub fn default_region(cloud: crate::model::Cloud, vendor: &crate::vendor::VendorProfile) -> String {
    match cloud {
        crate::model::Cloud::Gcp => vendor.gcp.default_region.clone(),
        crate::model::Cloud::Azure => vendor.azure.default_region.clone(),
        crate::model::Cloud::Aws => vendor.aws.default_region.clone(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Field(#[from] crate::validate::FieldError),
}

#[cfg(test)]
mod tests {
    #[test]
    fn external_ids_are_long_and_distinct() {
        let a = super::new_external_id();
        let b = super::new_external_id();
        assert_eq!(a.len(), super::EXTERNAL_ID_LEN);
        assert_ne!(a, b);
        assert!(crate::validate::external_id("x", &a).is_ok());
    }
}
