//! The vendor profile (TOML): who the customer grants access to. Every field is validated and
//! every error names the file, the field, the bad value and the form expected.

use serde::Deserialize;
use std::path::{Path, PathBuf};

use crate::assets;
use crate::validate::{self, FieldError};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorProfile {
    pub vendor: VendorInfo,
    pub aws: AwsVendor,
    pub gcp: GcpVendor,
    pub azure: AzureVendor,
    /// sha256 of the profile's text, as loaded (hex): what the receipt records.
    #[serde(skip)]
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorInfo {
    pub name: String,
    pub id: String,
    #[serde(default)]
    pub support: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsVendor {
    pub account_id: String,
    #[serde(default)]
    pub external_id: Option<String>,
    pub instance_types: Vec<String>,
    #[serde(default = "default_region")]
    pub default_region: String,
}

fn default_region() -> String {
    "us-east-1".to_string()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcpVendor {
    pub service_account: String,
    /// Region offered for the key ring and the bucket.
    #[serde(default = "default_gcp_region")]
    pub default_region: String,
}

fn default_gcp_region() -> String {
    "us-central1".to_string()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureVendor {
    pub app_id: String,
    /// Region offered for both resource groups and everything in them.
    #[serde(default = "default_azure_region")]
    pub default_region: String,
}

fn default_azure_region() -> String {
    crate::plan::DEFAULT_AZURE_LOCATION.to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    #[error("cannot read the vendor profile {path}: {source}. Check the path given to --vendor.")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the vendor profile {path} is not valid TOML or misses a field: {message}")]
    Parse { path: String, message: String },
    #[error("the vendor profile {path} has a bad value: {error}")]
    Field { path: String, error: FieldError },
}

impl VendorProfile {
    /// The profile bundled with cloudgrant (`assets/vendor.toml`).
    pub fn bundled() -> Result<Self, VendorError> {
        Self::parse(assets::VENDOR_TOML.text, assets::VENDOR_TOML.path)
    }

    pub fn load(path: &Path) -> Result<Self, VendorError> {
        let text = validate::read_text_limited(path, validate::PROFILE_MAX_BYTES)
            .map_err(|source| VendorError::Read { path: path.to_path_buf(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parse and validate; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, VendorError> {
        let mut profile: VendorProfile = toml::from_str(text).map_err(|e| VendorError::Parse {
            path: origin.to_string(),
            message: validate::clip(&e.to_string().trim().replace('\n', " "), 400),
        })?;
        profile.digest = crate::receipts::sha256_hex(text.as_bytes());
        profile.validate().map_err(|error| VendorError::Field { path: origin.to_string(), error })?;
        Ok(profile)
    }

    fn validate(&self) -> Result<(), FieldError> {
        let bad = |field: &str, value: &str, problem: &str, expected: &str| FieldError {
            field: field.into(),
            value: value.into(),
            problem: problem.into(),
            expected: expected.into(),
        };
        validate::vendor_text(&self.vendor.name, self.vendor.support.as_deref(), &self.gcp.service_account)?;
        let name = self.vendor.name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(bad(
                "vendor.name",
                &self.vendor.name,
                "it is empty or too long",
                "a display name of 1-64 characters",
            ));
        }
        let id = &self.vendor.id;
        let id_ok = (2..=12).contains(&id.len())
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !id_ok {
            return Err(bad(
                "vendor.id",
                id,
                "it cannot prefix resource names",
                "2-12 lowercase letters or digits, starting with a letter (e.g. `acmeml`)",
            ));
        }
        validate::aws_account_id("aws.account_id", &self.aws.account_id)?;
        if let Some(x) = &self.aws.external_id {
            validate::external_id("aws.external_id", x)?;
        }
        if self.aws.instance_types.is_empty() {
            return Err(bad(
                "aws.instance_types",
                "[]",
                "it is empty",
                "a list of EC2 instance types such as [\"m6i.large\"]",
            ));
        }
        for t in &self.aws.instance_types {
            let ok = t.split_once('.').is_some_and(|(family, size)| {
                !family.is_empty()
                    && !size.is_empty()
                    && family.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && size.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
            if !ok {
                return Err(bad(
                    "aws.instance_types",
                    t,
                    "it is not an instance type",
                    "`family.size`, e.g. `m6i.large`",
                ));
            }
        }
        validate::aws_region(&self.aws.default_region).map_err(|mut e| {
            e.field = "aws.default_region".into();
            e
        })?;
        let sa = &self.gcp.service_account;
        let sa_ok = sa.split_once('@').is_some_and(|(local, domain)| {
            (6..=30).contains(&local.len())
                && local.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && domain.ends_with(".iam.gserviceaccount.com")
        });
        if !sa_ok {
            return Err(bad(
                "gcp.service_account",
                sa,
                "it is not a service-account e-mail",
                "`NAME@PROJECT.iam.gserviceaccount.com` (NAME: 6-30 lowercase letters, digits, hyphens)",
            ));
        }
        validate::gcp_region(&self.gcp.default_region).map_err(|mut e| {
            e.field = "gcp.default_region".into();
            e
        })?;
        validate::azure_app_id("azure.app_id", &self.azure.app_id)?;
        validate::azure_location(&self.azure.default_region).map_err(|mut e| {
            e.field = "azure.default_region".into();
            e
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_profile_is_valid() {
        let p = VendorProfile::bundled().expect("bundled profile");
        assert_eq!(p.vendor.id, "acmeml");
        assert_eq!(p.aws.account_id, "111122223333");
        assert_eq!(p.aws.external_id, None);
        assert_eq!(p.azure.default_region, "westeurope");
    }

    #[test]
    fn azure_region_defaults_to_westeurope() {
        let text = with("default_region = \"westeurope\"\n", "");
        assert!(!text.contains("default_region = \"westeurope\""));
        let p = VendorProfile::parse(&text, "v.toml").expect("no region: the default");
        assert_eq!(p.azure.default_region, "westeurope");
    }

    fn with(from: &str, to: &str) -> String {
        let text = assets::VENDOR_TOML.text;
        assert!(text.contains(from), "{from}");
        text.replacen(from, to, 1)
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (with("\"111122223333\"", "\"1111\""), "aws.account_id `1111`"),
            (with("id = \"acmeml\"", "id = \"Acme ML\""), "vendor.id `Acme ML`"),
            (with("\"m6i.large\"", "\"large\""), "aws.instance_types `large`"),
            (with("\"eu-west-1\"", "\"europe\""), "aws.default_region `europe`"),
            (
                with("acmeml-control@acmeml-prod.iam.gserviceaccount.com", "me@example.com"),
                "gcp.service_account `me@example.com`",
            ),
            (with("0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f40", "not-a-guid"), "azure.app_id `not-a-guid`"),
            (with("\"westeurope\"", "\"West Europe\""), "azure.default_region `West Europe`"),
        ];
        for (text, needle) in cases {
            let e = VendorProfile::parse(&text, "v.toml").expect_err(needle).to_string();
            assert!(e.contains(needle), "{e}");
            assert!(e.contains("v.toml"), "{e}");
            assert!(e.contains("expected"), "{e}");
        }
    }

    #[test]
    fn malformed_toml_names_the_line_and_key() {
        let e = VendorProfile::parse("[vendor]\nname = \"x\"\nid = 3\n", "v.toml").expect_err("type");
        let s = e.to_string();
        assert!(s.contains("v.toml") && s.contains("line 3"), "{s}");
        let e = VendorProfile::parse(&with("[gcp]", "[gcp]\ncolour = 1"), "v.toml").expect_err("unknown");
        assert!(e.to_string().contains("colour"), "{e}");
        let e = VendorProfile::parse("[vendor", "v.toml").expect_err("syntax");
        assert!(e.to_string().contains("v.toml"));
    }
}
