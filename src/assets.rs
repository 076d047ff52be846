//! The files cloudgrant ships: the bundled vendor pack (Acme ML, an example: the profile and the
//! templates; `crate::pack` reads packs). They are compiled into the binary so the tool runs from
//! anywhere; the plan is built by parsing these exact texts, which are also what gets deployed.

/// A bundled file: its path relative to `assets/` and its text.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub path: &'static str,
    pub text: &'static str,
}

pub const VENDOR_TOML: Asset = Asset { path: "vendor.toml", text: include_str!("../assets/vendor.toml") };

pub const AWS_STACKS: Asset = Asset { path: "aws/stacks.toml", text: include_str!("../assets/aws/stacks.toml") };

pub const AWS_TEMPLATES: [Asset; 3] = [
    Asset { path: "aws/vpc.yaml", text: include_str!("../assets/aws/vpc.yaml") },
    Asset { path: "aws/s3.yaml", text: include_str!("../assets/aws/s3.yaml") },
    Asset { path: "aws/auth.yaml", text: include_str!("../assets/aws/auth.yaml") },
];

pub const GCP_INSTALL: Asset = Asset { path: "gcp/install.yaml", text: include_str!("../assets/gcp/install.yaml") };

pub const AZURE_MAIN: Asset = Asset { path: "azure/main.json", text: include_str!("../assets/azure/main.json") };
pub const AZURE_STORAGE: Asset =
    Asset { path: "azure/storage.json", text: include_str!("../assets/azure/storage.json") };

/// Every deployed template a security scanner reads: the CloudFormation and ARM files. The GCP
/// definition is cloudgrant's own format (a labelled resource set), which no scanner reads.
pub fn scanned_templates() -> Vec<Asset> {
    AWS_TEMPLATES.iter().copied().chain([AZURE_MAIN, AZURE_STORAGE]).collect()
}
