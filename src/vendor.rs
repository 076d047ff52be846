//! The vendor profile (TOML): who the customer grants access to. Every field is validated and
//! every error names the file, the field, the bad value and the form expected.

use serde::Deserialize;
use std::path::{Path, PathBuf};

use crate::model::Cloud;
use crate::pack::{Pack, PackError};
use crate::validate::{self, FieldError};

/// The profile as written: a section per cloud the vendor supports (a pack may support a subset).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    vendor: VendorInfo,
    #[serde(default)]
    aws: Option<AwsVendor>,
    #[serde(default)]
    gcp: Option<GcpVendor>,
    #[serde(default)]
    azure: Option<AzureVendor>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VendorProfile {
    pub vendor: VendorInfo,
    /// The sections of the clouds in `sections`; the others are empty and never read: every
    /// plan and provider first checks [`VendorProfile::supports`].
    pub aws: AwsVendor,
    pub gcp: GcpVendor,
    pub azure: AzureVendor,
    /// The clouds the profile has a section for.
    pub sections: Vec<Cloud>,
    /// sha256 of the profile's text, as loaded (hex): what the receipt records.
    pub digest: String,
    /// The pack the profile came with: its templates and their digest.
    pub pack: Pack,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorInfo {
    pub name: String,
    pub id: String,
    #[serde(default)]
    pub support: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsVendor {
    pub account_id: String,
    #[serde(default)]
    pub external_id: Option<String>,
    /// Instance types the vendor may launch (the templates' `AllowedInstanceTypes`); a pack
    /// whose templates launch nothing leaves it out.
    #[serde(default)]
    pub instance_types: Vec<String>,
    #[serde(default = "default_region")]
    pub default_region: String,
}

fn default_region() -> String {
    "us-east-1".to_string()
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
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
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error("the vendor pack {path} {message}")]
    Mismatch { path: String, message: String },
}

impl VendorProfile {
    /// The profile bundled with cloudgrant (`assets/vendor.toml`) with the bundled templates.
    pub fn bundled() -> Result<Self, VendorError> {
        Self::with_pack(Pack::bundled())
    }

    /// `--vendor PATH`: a pack directory, or a lone `vendor.toml` used with the bundled templates.
    pub fn load(path: &Path) -> Result<Self, VendorError> {
        if path.is_dir() {
            return Self::with_pack(Pack::load(path)?);
        }
        let text = validate::read_text_limited(path, validate::PROFILE_MAX_BYTES)
            .map_err(|source| VendorError::Read { path: path.to_path_buf(), source })?;
        let mut profile = Self::parse(&text, &path.display().to_string())?;
        // A lone profile lives as long as the process, like a pack's files.
        profile.pack = Pack::bundled_with_profile(Box::leak(text.into_boxed_str()));
        Ok(profile)
    }

    /// The profile of `pack` (its `vendor.toml`), checked against the clouds the pack holds.
    pub fn with_pack(pack: Pack) -> Result<Self, VendorError> {
        let origin = pack.display_path("vendor.toml");
        let file = pack.file("vendor.toml").ok_or_else(|| VendorError::Mismatch {
            path: origin.clone(),
            message: "is missing: a pack needs a vendor.toml at its root".into(),
        })?;
        let mut profile = Self::parse(file.text, &origin)?;
        for cloud in Cloud::ALL {
            let (section, templates) = (profile.has_section(cloud), pack.has_templates(cloud));
            if section != templates {
                let message = if section {
                    format!(
                        "has a [{}] section but no {}: add the templates or remove the section",
                        cloud.as_str(),
                        crate::pack::marker(cloud)
                    )
                } else {
                    format!(
                        "holds {} but its vendor.toml has no [{}] section: add the vendor's {} identity there",
                        crate::pack::marker(cloud),
                        cloud.as_str(),
                        cloud.title()
                    )
                };
                return Err(VendorError::Mismatch { path: origin, message });
            }
        }
        profile.pack = pack;
        Ok(profile)
    }

    fn has_section(&self, cloud: Cloud) -> bool {
        self.sections.contains(&cloud)
    }

    /// The clouds this vendor can be granted access on: a section in the profile and templates.
    pub fn clouds(&self) -> Vec<Cloud> {
        let packed = self.pack.clouds();
        Cloud::ALL.into_iter().filter(|c| self.has_section(*c) && packed.contains(c)).collect()
    }

    /// `Err` with a message naming the clouds the vendor does support.
    pub fn supports(&self, cloud: Cloud) -> Result<(), String> {
        if self.clouds().contains(&cloud) {
            return Ok(());
        }
        let offered: Vec<&str> = self.clouds().into_iter().map(Cloud::as_str).collect();
        Err(format!(
            "{}'s vendor pack does not cover {} (no [{}] section or no {}); it covers: {}. Use --cloud {}.",
            self.vendor.name,
            cloud.title(),
            cloud.as_str(),
            crate::pack::marker(cloud),
            offered.join(", "),
            offered.first().copied().unwrap_or("aws")
        ))
    }

    /// Parse and validate; `origin` names the file in errors. The pack is the bundled one until
    /// the caller sets it.
    pub fn parse(text: &str, origin: &str) -> Result<Self, VendorError> {
        let w: Written = toml::from_str(text).map_err(|e| VendorError::Parse {
            path: origin.to_string(),
            message: validate::clip(&e.to_string().trim().replace('\n', " "), 400),
        })?;
        w.validate().map_err(|error| VendorError::Field { path: origin.to_string(), error })?;
        let sections =
            [(Cloud::Aws, w.aws.is_some()), (Cloud::Gcp, w.gcp.is_some()), (Cloud::Azure, w.azure.is_some())]
                .into_iter()
                .filter_map(|(c, present)| present.then_some(c))
                .collect();
        Ok(VendorProfile {
            vendor: w.vendor,
            aws: w.aws.unwrap_or_default(),
            gcp: w.gcp.unwrap_or_default(),
            azure: w.azure.unwrap_or_default(),
            sections,
            digest: crate::receipts::sha256_hex(text.as_bytes()),
            pack: Pack::bundled(),
        })
    }
}

impl Written {
    fn validate(&self) -> Result<(), FieldError> {
        let sa = self.gcp.as_ref().map(|g| g.service_account.as_str());
        validate::vendor_text(&self.vendor.name, self.vendor.support.as_deref(), sa)?;
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
        if let Some(aws) = &self.aws {
            aws.validate()?;
        }
        if let Some(gcp) = &self.gcp {
            gcp.validate()?;
        }
        if let Some(azure) = &self.azure {
            validate::azure_app_id("azure.app_id", &azure.app_id)?;
            validate::azure_location(&azure.default_region).map_err(|mut e| {
                e.field = "azure.default_region".into();
                e
            })?;
        }
        if self.aws.is_none() && self.gcp.is_none() && self.azure.is_none() {
            return Err(bad("[aws], [gcp], [azure]", "none", "no cloud section", "at least one of them"));
        }
        Ok(())
    }
}

fn bad(field: &str, value: &str, problem: &str, expected: &str) -> FieldError {
    FieldError { field: field.into(), value: value.into(), problem: problem.into(), expected: expected.into() }
}

impl AwsVendor {
    fn validate(&self) -> Result<(), FieldError> {
        validate::aws_account_id("aws.account_id", &self.account_id)?;
        if let Some(x) = &self.external_id {
            validate::external_id("aws.external_id", x)?;
        }
        for t in &self.instance_types {
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
        validate::aws_region(&self.default_region).map_err(|mut e| {
            e.field = "aws.default_region".into();
            e
        })
    }
}

impl GcpVendor {
    fn validate(&self) -> Result<(), FieldError> {
        let sa = &self.service_account;
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
        validate::gcp_region(&self.default_region).map_err(|mut e| {
            e.field = "gcp.default_region".into();
            e
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets;

    #[test]
    fn bundled_profile_is_valid() {
        let p = VendorProfile::bundled().expect("bundled profile");
        assert_eq!(p.vendor.id, "acmeml");
        assert_eq!(p.aws.account_id, "111122223333");
        assert_eq!(p.aws.external_id, None);
        assert_eq!(p.azure.default_region, "westeurope");
        assert_eq!(p.clouds(), Cloud::ALL.to_vec());
        assert_eq!(p.pack, Pack::bundled());
    }

    #[test]
    fn azure_region_defaults_to_westeurope() {
        let text = with("default_region = \"westeurope\"\n", "");
        assert!(!text.contains("default_region = \"westeurope\""));
        let p = VendorProfile::parse(&text, "v.toml").expect("no region: the default");
        assert_eq!(p.azure.default_region, "westeurope");
    }

    #[test]
    fn a_profile_without_a_section_does_not_offer_that_cloud() {
        let text = assets::VENDOR_TOML.text;
        let gcp_at = text.find("[gcp]").expect("gcp");
        let azure_at = text.find("[azure]").expect("azure");
        let aws_only = &text[..gcp_at];
        assert!(azure_at > gcp_at);
        let p = VendorProfile::parse(aws_only, "v.toml").expect("aws only");
        assert_eq!(p.clouds(), [Cloud::Aws]);
        let e = p.supports(Cloud::Gcp).expect_err("no gcp");
        assert!(e.contains("does not cover Google Cloud") && e.contains("it covers: aws"), "{e}");
        let none = &text[..text.find("[aws]").expect("aws")];
        let e = VendorProfile::parse(none, "v.toml").expect_err("no cloud").to_string();
        assert!(e.contains("no cloud section"), "{e}");
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
