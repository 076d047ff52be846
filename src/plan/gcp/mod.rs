//! The Google Cloud install, read from `assets/gcp/install.yaml`: the definitions are parsed, their
//! `${…}` placeholders filled in for this install, names checked against Google's rules, and the
//! result — a [`Spec`] — is both what the preview shows (through [`build`]) and what the GCP
//! provider creates. There is no second list.

mod plan;
#[cfg(test)]
mod tests;

pub use plan::{build, build_from, spec_for};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_yaml::Value;

use crate::assets::{self, Asset};
use crate::model::Resource;
use crate::model::{Cloud, Effect, Group, OnRevoke, Parameter, ParameterSource, Permission, PermissionKind, Plan};
use crate::pack::PackFile;
use crate::permissions::SourceLocation;
use crate::plan::{Choices, PlanError};
use crate::validate;
use crate::vendor::VendorProfile;

pub const LABEL_MANAGED_BY: &str = crate::plan::MARK_MANAGED_BY;
pub const LABEL_INSTALL: &str = "cloudgrant-install";
/// What role and service-account descriptions start with (they have no labels).
pub const DESCRIPTION_MARK: &str = "managed-by=cloudgrant";

pub const TYPE_API: &str = "serviceusage.googleapis.com/Service";
pub const TYPE_ROLE: &str = "iam.googleapis.com/Role";
pub const TYPE_SERVICE_ACCOUNT: &str = "iam.googleapis.com/ServiceAccount";
pub const TYPE_KEY_RING: &str = "cloudkms.googleapis.com/KeyRing";
pub const TYPE_CRYPTO_KEY: &str = "cloudkms.googleapis.com/CryptoKey";
pub const TYPE_BUCKET: &str = "storage.googleapis.com/Bucket";
pub const TYPE_BINDING: &str = "IAM binding";

/// The definitions' path in a pack.
pub const FILE: &str = "gcp/install.yaml";

/// The `send_to_vendor` entry that stands for the project id.
pub const PROJECT_VALUE: &str = "Project";

/// Members that stand for everyone (on the internet, or with a Google account).
pub const PUBLIC_MEMBERS: [&str; 2] = ["allUsers", "allAuthenticatedUsers"];

/// Placeholder for the project before one is chosen (`plan` without an account).
pub const NO_PROJECT: &str = "<project>";

/// The definitions file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// What the vendor receives when the install is done (install values, in order).
    #[serde(default)]
    pub send_to_vendor: Vec<String>,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub apis: Vec<Api>,
    #[serde(default)]
    pub roles: Vec<CustomRole>,
    #[serde(default)]
    pub predefined_roles: Vec<PredefinedRole>,
    #[serde(default)]
    pub service_accounts: Vec<ServiceAccount>,
    #[serde(default)]
    pub key_rings: Vec<KeyRing>,
    #[serde(default)]
    pub crypto_keys: Vec<CryptoKey>,
    #[serde(default)]
    pub buckets: Vec<Bucket>,
    #[serde(default)]
    pub bindings: Vec<Binding>,
    /// Filled in by [`Spec::render`]: the project and location the names were rendered for.
    #[serde(skip)]
    pub project: String,
    #[serde(skip)]
    pub location: String,
    #[serde(skip)]
    pub install: String,
    /// The vendor and org the names were rendered for (the marks every resource must carry).
    #[serde(skip)]
    pub vendor_id: String,
    #[serde(skip)]
    pub org: String,
    /// The install id of the plan (`cloudgrant-install-id`), put in every label set and
    /// description; `None` when rendered without a plan (discovery reads it from the project).
    #[serde(skip)]
    pub install_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub id: String,
    pub service: String,
    #[serde(default)]
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRole {
    pub id: String,
    pub role_id: String,
    pub title: String,
    #[serde(default)]
    pub why: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredefinedRole {
    pub role: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccount {
    pub id: String,
    pub account_id: String,
    pub display_name: String,
    #[serde(default)]
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRing {
    pub id: String,
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoKey {
    pub id: String,
    pub key_ring: String,
    pub name: String,
    pub purpose: String,
    pub destroy_scheduled_days: u32,
    #[serde(default)]
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    pub id: String,
    pub name: String,
    pub location: String,
    pub uniform_bucket_level_access: bool,
    #[serde(default)]
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    pub id: String,
    /// A custom role's logical id, or a predefined `roles/…` listed under `predefined_roles`.
    pub role: String,
    /// `serviceAccount:…` / `user:…` / `group:…`, or a service account's logical id.
    pub member: String,
    /// `project`, or the logical id of a service account, bucket, key ring or key.
    pub on: String,
    #[serde(default)]
    pub why: String,
}

/// What a binding is set on: the resource whose IAM policy holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Project,
    ServiceAccount { email: String },
    Bucket { name: String },
    KeyRing { name: String },
    CryptoKey { name: String },
}

impl Target {
    /// Google's full resource name (`//storage.googleapis.com/projects/_/buckets/b`).
    pub fn full_name(&self, project: &str) -> String {
        match self {
            Target::Project => format!("//cloudresourcemanager.googleapis.com/projects/{project}"),
            Target::ServiceAccount { email } => {
                format!("//iam.googleapis.com/projects/{project}/serviceAccounts/{email}")
            }
            Target::Bucket { name } => format!("//storage.googleapis.com/projects/_/buckets/{name}"),
            Target::KeyRing { name } | Target::CryptoKey { name } => format!("//cloudkms.googleapis.com/{name}"),
        }
    }
}

/// The values the placeholders stand for.
#[derive(Debug, Clone)]
pub struct Vars {
    pub project: String,
    pub location: String,
    pub org: String,
    pub vendor_id: String,
    pub vendor_name: String,
    pub vendor_sa: String,
}

impl Vars {
    pub fn new(vendor: &VendorProfile, choices: &Choices) -> Vars {
        Vars {
            project: choices.account.clone().unwrap_or_else(|| NO_PROJECT.into()),
            location: choices.region.clone(),
            org: choices.org.clone(),
            vendor_id: vendor.vendor.id.clone(),
            vendor_name: vendor.vendor.name.clone(),
            vendor_sa: vendor.gcp.service_account.clone(),
        }
    }

    pub fn install(&self) -> String {
        install_id(&self.vendor_id, &self.org)
    }

    fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "project" => self.project.clone(),
            "location" => self.location.clone(),
            "org" => self.org.clone(),
            "org_" => self.org.replace('-', "_"),
            "vendor_id" => self.vendor_id.clone(),
            "vendor_name" => self.vendor_name.clone(),
            "vendor_sa" => self.vendor_sa.clone(),
            "install" => self.install(),
            _ => return None,
        })
    }
}

/// The install id: labels `cloudgrant-install=<id>` and names the key ring.
pub fn install_id(vendor_id: &str, org: &str) -> String {
    format!("{vendor_id}-{org}")
}

fn bad(file: &str, what: &str, message: impl std::fmt::Display) -> PlanError {
    PlanError::Invalid(format!("{file}: {what}: {message}"))
}

/// Fill `${name}` placeholders in every string of `v`; `path` names the place in errors.
fn fill(v: &mut Value, vars: &Vars, file: &str, path: &str) -> Result<(), PlanError> {
    match v {
        Value::String(s) => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(at) = rest.find("${") {
                out.push_str(&rest[..at]);
                let after = &rest[at + 2..];
                let end = after.find('}').ok_or_else(|| bad(file, path, format!("`{s}` has an unclosed `${{`")))?;
                let name = &after[..end];
                let value = vars.get(name).ok_or_else(|| {
                    bad(
                        file,
                        path,
                        format!("unknown placeholder `${{{name}}}`; use project, location, org, org_, vendor_id, vendor_name, vendor_sa or install"),
                    )
                })?;
                out.push_str(&value);
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                fill(item, vars, file, &format!("{path}[{i}]"))?;
            }
        }
        Value::Mapping(m) => {
            for (k, item) in m.iter_mut() {
                let key = k.as_str().unwrap_or("?");
                let sub = if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
                fill(item, vars, file, &sub)?;
            }
        }
        _ => {}
    }
    Ok(())
}

impl Spec {
    /// The bundled definitions.
    pub fn asset() -> Asset {
        assets::GCP_INSTALL
    }

    /// The definitions of `vendor`'s pack (`gcp/install.yaml`).
    pub fn of(vendor: &VendorProfile) -> Result<PackFile, PlanError> {
        vendor.pack.file(FILE).ok_or_else(|| {
            PlanError::Invalid(format!(
                "{}: the vendor pack has no Google Cloud definitions",
                vendor.pack.display_path(FILE)
            ))
        })
    }

    /// Parse `text` (named `file` in errors) and fill in the placeholders.
    pub fn render(text: &str, file: &str, vars: &Vars) -> Result<Spec, PlanError> {
        let mut value: Value = serde_yaml::from_str(text).map_err(|e| bad(file, "not valid YAML", e.to_string()))?;
        fill(&mut value, vars, file, "")?;
        let mut spec: Spec = serde_yaml::from_value(value).map_err(|e| {
            bad(file, "does not match the expected shape", format!("{e}; see assets/gcp/install.yaml for the fields"))
        })?;
        spec.project = vars.project.clone();
        spec.location = vars.location.clone();
        spec.install = vars.install();
        spec.vendor_id = vars.vendor_id.clone();
        spec.org = vars.org.clone();
        spec.check(file)?;
        Ok(spec)
    }

    /// The pack's definitions rendered for these choices.
    pub fn bundled(vendor: &VendorProfile, choices: &Choices) -> Result<Spec, PlanError> {
        let a = Self::of(vendor)?;
        Spec::render(a.text, a.path, &Vars::new(vendor, choices))
    }

    /// Every logical id of the file, in creation order.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        ids.extend(self.apis.iter().map(|x| x.id.as_str()));
        ids.extend(self.roles.iter().map(|x| x.id.as_str()));
        ids.extend(self.service_accounts.iter().map(|x| x.id.as_str()));
        ids.extend(self.key_rings.iter().map(|x| x.id.as_str()));
        ids.extend(self.crypto_keys.iter().map(|x| x.id.as_str()));
        ids.extend(self.buckets.iter().map(|x| x.id.as_str()));
        ids.extend(self.bindings.iter().map(|x| x.id.as_str()));
        ids
    }

    /// Names checked against Google's rules, references checked to point somewhere.
    fn check(&self, file: &str) -> Result<(), PlanError> {
        let ids = self.ids();
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(bad(file, &format!("id `{id}`"), "is used twice; every entry needs its own id"));
            }
        }
        if ids.contains(&PROJECT_VALUE) {
            return Err(bad(
                file,
                &format!("id `{PROJECT_VALUE}`"),
                "is reserved for the project in send_to_vendor; choose another id",
            ));
        }
        for (i, name) in self.send_to_vendor.iter().enumerate() {
            if self.value_of(name).is_none() {
                let names: Vec<&str> = std::iter::once(PROJECT_VALUE)
                    .chain(ids.iter().copied().filter(|id| !self.bindings.iter().any(|b| b.id == *id)))
                    .collect();
                return Err(bad(
                    file,
                    &format!("send_to_vendor[{i}] `{name}`"),
                    format!("is neither `{PROJECT_VALUE}` nor the logical id of a resource of the file (a binding has no value to send); use one of: {}", names.join(", ")),
                ));
            }
        }
        for r in &self.roles {
            let ok = (3..=64).contains(&r.role_id.len())
                && r.role_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            if !ok {
                return Err(bad(
                    file,
                    &format!("role {} role_id `{}`", r.id, r.role_id),
                    "is not a custom role id: 3-64 letters, digits, `_` and `.`",
                ));
            }
            if r.permissions.is_empty() {
                return Err(bad(file, &format!("role {}", r.id), "lists no permissions"));
            }
            for p in &r.permissions {
                if crate::permissions::verbs::gcp_parts(p).is_none() {
                    return Err(bad(
                        file,
                        &format!("role {} permission `{p}`", r.id),
                        "is not a permission of the form `service.resource.verb`",
                    ));
                }
            }
        }
        for s in &self.service_accounts {
            let a = &s.account_id;
            let ok = (6..=30).contains(&a.len())
                && a.starts_with(|c: char| c.is_ascii_lowercase())
                && !a.ends_with('-')
                && a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !ok {
                return Err(bad(
                    file,
                    &format!("service account {} account_id `{a}`", s.id),
                    "is not a service account id: 6-30 lowercase letters, digits and hyphens, starting with a letter",
                ));
            }
        }
        for k in &self.crypto_keys {
            if !self.key_rings.iter().any(|r| r.id == k.key_ring) {
                return Err(bad(
                    file,
                    &format!("key {} key_ring `{}`", k.id, k.key_ring),
                    "names no key ring of the file",
                ));
            }
            if !(1..=120).contains(&k.destroy_scheduled_days) {
                return Err(bad(file, &format!("key {} destroy_scheduled_days", k.id), "Google accepts 1 to 120 days"));
            }
        }
        if self.project != NO_PROJECT {
            for b in &self.buckets {
                let n = &b.name;
                let ok = (3..=63).contains(&n.len())
                    && n.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
                    && !n.starts_with("goog")
                    && !n.contains("google");
                if !ok {
                    return Err(bad(
                        file,
                        &format!("bucket {} name `{n}`", b.id),
                        "is not a bucket name: 3-63 lowercase letters, digits, `-`, `_`, `.`, without `goog`/`google`",
                    ));
                }
            }
        }
        for b in &self.bindings {
            self.role_permissions(&b.role).ok_or_else(|| {
                bad(
                    file,
                    &format!("binding {} role `{}`", b.id, b.role),
                    "is neither a role of the file nor listed under predefined_roles with its permissions",
                )
            })?;
            self.member(&b.member).ok_or_else(|| {
                bad(
                    file,
                    &format!("binding {} member `{}`", b.id, b.member),
                    "is neither `serviceAccount:…`, `user:…`, `group:…`, `domain:…`, `allUsers`, `allAuthenticatedUsers` nor a service account of the file",
                )
            })?;
            self.target(&b.on).ok_or_else(|| {
                bad(
                    file,
                    &format!("binding {} on `{}`", b.id, b.on),
                    "is neither `project` nor a service account, bucket, key ring or key of the file",
                )
            })?;
        }
        Ok(())
    }

    pub fn service_account_email(&self, sa: &ServiceAccount) -> String {
        format!("{}@{}.iam.gserviceaccount.com", sa.account_id, self.project)
    }

    pub fn role_name(&self, r: &CustomRole) -> String {
        format!("projects/{}/roles/{}", self.project, r.role_id)
    }

    pub fn key_ring_name(&self, r: &KeyRing) -> String {
        format!("projects/{}/locations/{}/keyRings/{}", self.project, r.location, r.name)
    }

    pub fn crypto_key_name(&self, k: &CryptoKey) -> String {
        match self.key_rings.iter().find(|r| r.id == k.key_ring) {
            Some(r) => format!("{}/cryptoKeys/{}", self.key_ring_name(r), k.name),
            None => format!("<no key ring {}>/cryptoKeys/{}", k.key_ring, k.name),
        }
    }

    /// The role's full name and its permissions.
    pub fn role_permissions(&self, role: &str) -> Option<(String, Vec<String>)> {
        if let Some(r) = self.roles.iter().find(|r| r.id == role) {
            return Some((self.role_name(r), r.permissions.clone()));
        }
        self.predefined_roles.iter().find(|p| p.role == role).map(|p| (p.role.clone(), p.permissions.clone()))
    }

    /// The IAM member a binding names: a service account of the file, `serviceAccount:`,
    /// `user:` or `group:` with an e-mail, `domain:` with a domain, or Google's `allUsers` /
    /// `allAuthenticatedUsers` (accepted so that `vendor check` can flag them by name).
    pub fn member(&self, member: &str) -> Option<String> {
        if let Some(sa) = self.service_accounts.iter().find(|s| s.id == member) {
            return Some(format!("serviceAccount:{}", self.service_account_email(sa)));
        }
        if PUBLIC_MEMBERS.contains(&member) {
            return Some(member.to_string());
        }
        let (kind, who) = member.split_once(':')?;
        let ok = match kind {
            "serviceAccount" | "user" | "group" => who.contains('@'),
            "domain" => who.contains('.') && !who.contains('@'),
            _ => false,
        };
        ok.then(|| member.to_string())
    }

    /// What the vendor receives for one `send_to_vendor` entry: the project id for `Project`,
    /// else the e-mail or full name of the resource with that logical id (`None`: no such
    /// resource, or a binding, which has no name of its own).
    pub fn value_of(&self, id: &str) -> Option<String> {
        if id == PROJECT_VALUE {
            return Some(self.project.clone());
        }
        if let Some(a) = self.apis.iter().find(|x| x.id == id) {
            return Some(a.service.clone());
        }
        if let Some(r) = self.roles.iter().find(|x| x.id == id) {
            return Some(self.role_name(r));
        }
        if let Some(a) = self.service_accounts.iter().find(|x| x.id == id) {
            return Some(self.service_account_email(a));
        }
        if let Some(r) = self.key_rings.iter().find(|x| x.id == id) {
            return Some(self.key_ring_name(r));
        }
        if let Some(k) = self.crypto_keys.iter().find(|x| x.id == id) {
            return Some(self.crypto_key_name(k));
        }
        self.buckets.iter().find(|x| x.id == id).map(|b| b.name.clone())
    }

    pub fn target(&self, on: &str) -> Option<Target> {
        if on == "project" {
            return Some(Target::Project);
        }
        if let Some(sa) = self.service_accounts.iter().find(|s| s.id == on) {
            return Some(Target::ServiceAccount { email: self.service_account_email(sa) });
        }
        if let Some(b) = self.buckets.iter().find(|b| b.id == on) {
            return Some(Target::Bucket { name: b.name.clone() });
        }
        if let Some(r) = self.key_rings.iter().find(|r| r.id == on) {
            return Some(Target::KeyRing { name: self.key_ring_name(r) });
        }
        self.crypto_keys.iter().find(|k| k.id == on).map(|k| Target::CryptoKey { name: self.crypto_key_name(k) })
    }

    /// The description roles and service accounts carry (they have no labels).
    pub fn description(&self, why: &str) -> String {
        match &self.install_id {
            Some(id) => {
                format!(
                    "{DESCRIPTION_MARK} {LABEL_INSTALL}={} {}={id} | {why}",
                    self.install,
                    crate::plan::MARK_INSTALL_ID
                )
            }
            None => format!("{DESCRIPTION_MARK} {LABEL_INSTALL}={} | {why}", self.install),
        }
    }

    /// Put the plan's install id on everything this spec creates (labels and descriptions).
    pub fn with_install_id(mut self, id: Option<String>) -> Spec {
        if let Some(id) = &id {
            self.labels.insert(crate::plan::MARK_INSTALL_ID.to_string(), id.clone());
        }
        self.install_id = id;
        self
    }
}
