//! Azure: the plan read from the two ARM templates of `assets/azure/` (subscription scope), which
//! are also exactly what the deployment stacks receive. Names, role assignments and role
//! definitions are found by evaluating the templates with [`arm`], the same evaluator the sandbox's
//! simulated Azure deploys them with.

pub mod arm;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The main stack's key: the vendor's group, its role, the machines' access. Deleted on revoke.
pub const MAIN: &str = "main";
/// The storage stack's key: the data storage account. Detached (kept) on revoke.
pub const STORAGE: &str = "storage";
/// The main template's parameter that receives the vendor's service principal object id, known
/// only once Microsoft Graph has created or found it.
pub const VENDOR_PRINCIPAL_PARAM: &str = "vendorPrincipalId";
/// The parameter holding the install's random name suffix.
pub const SUFFIX_PARAM: &str = "suffix";
/// The plan resource standing for the vendor's service principal (made through Graph, not a stack).
pub const SERVICE_PRINCIPAL_ID: &str = "VendorServicePrincipal";
pub const SERVICE_PRINCIPAL_TYPE: &str = "Microsoft.Graph/servicePrincipals";

/// Everything the provider needs to create one install, rendered from the templates.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The subscription the plan was rendered for.
    pub subscription: Option<String>,
    pub location: String,
    pub org: String,
    pub suffix: String,
    /// The vendor's multi-tenant application (client) id.
    pub app_id: String,
    /// `<vendor id>-<org>`: the vendor's resource group (deleted on revoke).
    pub main_group: String,
    /// `<vendor id>-<org>-storage`: the data's resource group (kept on revoke).
    pub storage_group: String,
    pub vault: String,
    pub registry: String,
    pub images_account: String,
    pub data_account: String,
    /// The machines' user-assigned identity.
    pub identity: String,
    /// In creation order: storage, then main.
    pub stacks: Vec<StackSpec>,
}

/// One deployment stack at subscription scope.
#[derive(Debug, Clone, PartialEq)]
pub struct StackSpec {
    /// [`MAIN`] or [`STORAGE`].
    pub key: String,
    /// The stack's name (the same as its resource group's).
    pub name: String,
    pub title: String,
    pub description: String,
    /// The template file's JSON, as is.
    pub template: Value,
    /// `{"name": {"value": …}}` for every parameter but [`VENDOR_PRINCIPAL_PARAM`].
    pub parameters: Map<String, Value>,
    /// `actionOnUnmanage` delete (main) or detach (storage).
    pub delete_on_revoke: bool,
    /// On the stack itself: managed-by, cloudgrant-vendor, cloudgrant-org, cloudgrant-stack.
    pub tags: BTreeMap<String, String>,
    /// Whether the template takes [`VENDOR_PRINCIPAL_PARAM`].
    pub needs_principal: bool,
    /// (resource type, name) → the template's id for it, for naming operations' targets.
    pub names: Vec<(String, String, String)>,
}
