//! The simulated Azure's persisted state: one JSON file, `azure.json`, next to the other
//! sandboxes' files. Every call loads it, brings it up to the present (deployments and deletions
//! whose steps have finished by now are applied) and writes it back atomically when anything
//! changed, so a second process sees the first one's changes. Every step of a deployment stack is
//! stored with absolute start and end times: any process, at any speed, sees the same cloud at the
//! same moment.
//!
//! A file that cannot be read is never overwritten: the error names it and how to move it aside.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cloud::sandbox::file::StateFile;
use crate::cloud::CloudError;

pub const FORMAT: u32 = 1;
pub const FILE_NAME: &str = "azure.json";

/// The simulated tenant (directory).
pub const TENANT_ID: &str = "5a0d9e3c-7b21-4c6f-9e8a-1d2c3b4a5f60";
pub const TENANT_NAME: &str = "sandbox";
/// The signed-in user and its object id.
pub const CALLER: &str = "you@sandbox.example";
pub const CALLER_OBJECT_ID: &str = "7c1e4b2a-90d3-4f6e-8a5b-3c2d1e0f9a8b";
/// The tenant that owns every multi-tenant vendor application (where the vendor registered it).
pub const VENDOR_TENANT_ID: &str = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";

/// The simulated subscriptions: (subscription id, display name, short name for the command line).
pub const SUBSCRIPTIONS: [(&str, &str, &str); 2] = [
    ("1d7e2f90-3c4b-4a5d-8e6f-7a8b9c0d1e2f", "cloudgrant sandbox dev", "sandbox-dev"),
    ("2e8f3a01-4d5c-4b6e-9f70-8b9c0d1e2f30", "cloudgrant sandbox prod", "sandbox-prod"),
];

/// Owner's role definition id (a built-in role, the same GUID in every tenant).
pub const OWNER_ROLE: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct World {
    pub format: u32,
    /// Bumped for every generated id.
    pub serial: u64,
    /// Lowercased resource id → resource. Resource groups are resources too.
    pub resources: BTreeMap<String, Resource>,
    /// Lowercased stack id → deployment stack.
    pub stacks: BTreeMap<String, Stack>,
    /// Key Vaults deleted and kept for their retention period (names stay taken).
    pub deleted_vaults: Vec<DeletedVault>,
    /// Object id → service principal in the simulated tenant.
    pub service_principals: BTreeMap<String, ServicePrincipal>,
    /// Long-running operation id → what `Azure-AsyncOperation` reports.
    pub operations: BTreeMap<String, AsyncOp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// As ARM writes it.
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub name: String,
    pub subscription: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    #[serde(default)]
    pub tags: Value,
    #[serde(default)]
    pub properties: Value,
    /// `sku` and `kind`, when the template gives them.
    #[serde(default)]
    pub sku: Value,
    #[serde(default)]
    pub kind: Value,
    pub created: DateTime<Utc>,
}

impl Resource {
    pub fn is_group(&self) -> bool {
        self.type_.eq_ignore_ascii_case(GROUP_TYPE)
    }
}

pub const GROUP_TYPE: &str = "Microsoft.Resources/resourceGroups";
pub const DEPLOYMENT_TYPE: &str = "Microsoft.Resources/deployments";
pub const VAULT_TYPE: &str = "Microsoft.KeyVault/vaults";
pub const STORAGE_TYPE: &str = "Microsoft.Storage/storageAccounts";
pub const REGISTRY_TYPE: &str = "Microsoft.ContainerRegistry/registries";
pub const IDENTITY_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";
pub const ROLE_ASSIGNMENT_TYPE: &str = "Microsoft.Authorization/roleAssignments";
pub const ROLE_DEFINITION_TYPE: &str = "Microsoft.Authorization/roleDefinitions";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedVault {
    pub name: String,
    pub subscription: String,
    pub location: String,
    /// The vault's id while it existed.
    pub vault_id: String,
    pub deletion_date: DateTime<Utc>,
    pub scheduled_purge_date: DateTime<Utc>,
    pub purge_protection: bool,
    #[serde(default)]
    pub tags: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AsyncOp {
    pub subscription: String,
    /// Lowercased id of the stack it runs on.
    pub stack: String,
    /// The [`Run`] it follows.
    pub run: String,
    pub start: DateTime<Utc>,
    /// `InProgress` until the run is finished, then `Succeeded`, `Failed` or `Canceled`.
    pub status: String,
    pub end: Option<DateTime<Utc>>,
    pub error: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    pub id: String,
    pub name: String,
    pub subscription: String,
    pub location: String,
    #[serde(default)]
    pub tags: Value,
    pub description: String,
    pub parameters: Value,
    pub action_on_unmanage: Value,
    pub deny_settings: Value,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    /// `Succeeded`, `Failed` or `Canceled` once a run is over.
    pub state: String,
    /// Ids (as ARM writes them) the stack manages, in creation order.
    pub managed: Vec<String>,
    pub detached: Vec<String>,
    pub deleted: Vec<String>,
    /// `[{"id", "error"}]` of the last run.
    pub failed: Vec<Value>,
    /// `{"name": {"type", "value"}}` of the last successful run.
    pub outputs: Option<Value>,
    pub error: Option<Value>,
    /// The deployment of the last run (`/subscriptions/…/deployments/<name>`).
    pub deployment_id: Option<String>,
    /// How long the last run took.
    pub duration: Option<f64>,
    /// The run in progress, or the last one (kept for its operations).
    pub run: Option<Run>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunKind {
    Deploy,
    Delete,
}

/// One deployment (or deletion) of a stack: every step with its times, fixed when it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Also the async operation's id.
    pub id: String,
    pub kind: RunKind,
    pub start: DateTime<Utc>,
    /// Until then the stack is `Initializing`.
    pub steps_start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `deployments[0]` is the stack's own deployment, the others nested ones.
    pub deployments: Vec<Deployment>,
    pub steps: Vec<Step>,
    /// How many steps have been applied to the world.
    pub applied: usize,
    pub finished: bool,
    /// What the run ends with when a step fails (`{"code", "message", "details"}`).
    pub error: Option<Value>,
    /// The stack's outputs when the run succeeds.
    pub outputs: Option<Value>,
    /// Deploy: the ids the stack manages when it succeeds, in order.
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Index into [`Run::deployments`]: whose operation this is.
    pub deployment: usize,
    pub operation_id: String,
    pub tracking_id: String,
    /// `Create`, `Delete` or `EvaluateDeploymentOutput`.
    pub operation: String,
    /// Absent for `EvaluateDeploymentOutput`.
    pub target: Option<Target>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `Created` or `OK` when it succeeds.
    pub status_code: String,
    /// `(HTTP status code name, {"code", "message", "details"?})` when it fails.
    pub error: Option<(String, Value)>,
    /// Create: what appears in the world when the step is over.
    pub resource: Option<Resource>,
    /// A nested deployment: its index in [`Run::deployments`].
    pub child: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub name: String,
}

impl Step {
    /// `Running`, `Succeeded` or `Failed` at `now`; `None` before it starts.
    pub fn state_at(&self, now: DateTime<Utc>) -> Option<&'static str> {
        if now < self.start {
            None
        } else if now < self.end {
            Some("Running")
        } else if self.error.is_some() {
            Some("Failed")
        } else {
            Some("Succeeded")
        }
    }
}

impl World {
    /// A new sandbox tenant: the user owns both subscriptions; dev has a resource group of its
    /// own and a Key Vault name held by a soft-deleted vault, prod a shared group and a vault
    /// whose name is taken.
    pub fn seed() -> World {
        let created = Utc.with_ymd_and_hms(2024, 3, 14, 9, 26, 53).single().unwrap_or(DateTime::UNIX_EPOCH);
        let mut world = World {
            format: FORMAT,
            serial: 0,
            resources: BTreeMap::new(),
            stacks: BTreeMap::new(),
            deleted_vaults: Vec::new(),
            service_principals: BTreeMap::new(),
            operations: BTreeMap::new(),
        };
        let [(dev, _, _), (prod, _, _)] = SUBSCRIPTIONS;
        for (sub, _, _) in SUBSCRIPTIONS {
            let scope = format!("/subscriptions/{sub}");
            let name = guid_from(&format!("owner:{sub}"));
            world.insert(Resource {
                id: format!("{scope}/providers/{ROLE_ASSIGNMENT_TYPE}/{name}"),
                type_: ROLE_ASSIGNMENT_TYPE.into(),
                name,
                subscription: sub.into(),
                resource_group: None,
                location: None,
                tags: Value::Null,
                properties: json!({
                    "roleDefinitionId": format!("{scope}/providers/{ROLE_DEFINITION_TYPE}/{OWNER_ROLE}"),
                    "principalId": CALLER_OBJECT_ID,
                    "principalType": "User",
                    "scope": scope,
                }),
                sku: Value::Null,
                kind: Value::Null,
                created,
            });
        }
        let group = |sub: &str, name: &str, tags: Value| Resource {
            id: format!("/subscriptions/{sub}/resourceGroups/{name}"),
            type_: GROUP_TYPE.into(),
            name: name.into(),
            subscription: sub.into(),
            resource_group: None,
            location: Some("westeurope".into()),
            tags,
            properties: json!({"provisioningState": "Succeeded"}),
            sku: Value::Null,
            kind: Value::Null,
            created,
        };
        world.insert(group(dev, "NetworkWatcherRG", json!({})));
        world.insert(group(prod, "platform-shared", json!({"owner": "platform-team"})));
        let vault = "platform-secrets-kv";
        world.insert(Resource {
            id: format!("/subscriptions/{prod}/resourceGroups/platform-shared/providers/{VAULT_TYPE}/{vault}"),
            type_: VAULT_TYPE.into(),
            name: vault.into(),
            subscription: prod.into(),
            resource_group: Some("platform-shared".into()),
            location: Some("westeurope".into()),
            tags: json!({"owner": "platform-team"}),
            properties: json!({
                "tenantId": TENANT_ID,
                "sku": {"family": "A", "name": "standard"},
                "enableRbacAuthorization": true,
                "enableSoftDelete": true,
                "softDeleteRetentionInDays": 90,
                "enablePurgeProtection": true,
                "vaultUri": format!("https://{vault}.vault.azure.net/"),
                "provisioningState": "Succeeded",
            }),
            sku: Value::Null,
            kind: Value::Null,
            created,
        });
        let old = "old-experiments-kv";
        world.deleted_vaults.push(DeletedVault {
            name: old.into(),
            subscription: dev.into(),
            location: "westeurope".into(),
            vault_id: format!("/subscriptions/{dev}/resourceGroups/experiments/providers/{VAULT_TYPE}/{old}"),
            deletion_date: created,
            // Far ahead, so the name stays taken whenever the sandbox runs.
            scheduled_purge_date: Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).single().unwrap_or(created),
            purge_protection: false,
            tags: json!({}),
        });
        world
    }

    pub fn bump(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// A new GUID, different for every call (from the serial and `what`).
    pub fn new_guid(&mut self, what: &str) -> String {
        let n = self.bump();
        guid_from(&format!("{what}#{n}"))
    }

    pub fn insert(&mut self, r: Resource) {
        self.resources.insert(r.id.to_ascii_lowercase(), r);
    }

    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.get(&id.to_ascii_lowercase())
    }

    /// Soft-deleted vaults still within their retention at `now`.
    pub fn deleted_vault(&self, name: &str, now: DateTime<Utc>) -> Option<&DeletedVault> {
        self.deleted_vaults.iter().find(|v| v.name.eq_ignore_ascii_case(name) && v.scheduled_purge_date > now)
    }

    /// Deletes `id` and everything under it (a group's resources, role assignments on a
    /// resource). Key Vaults are kept as soft-deleted for their retention period. Returns the
    /// ids deleted.
    pub fn delete_resource(&mut self, id: &str, now: DateTime<Utc>) -> Vec<String> {
        let key = id.to_ascii_lowercase();
        let under = format!("{key}/");
        let doomed: Vec<String> =
            self.resources.keys().filter(|k| **k == key || k.starts_with(&under)).cloned().collect();
        let mut out = Vec::new();
        for k in doomed {
            let Some(r) = self.resources.remove(&k) else { continue };
            if r.type_.eq_ignore_ascii_case(VAULT_TYPE) && r.properties["enableSoftDelete"] != json!(false) {
                let days = r.properties["softDeleteRetentionInDays"].as_i64().unwrap_or(90).clamp(7, 90);
                self.deleted_vaults.retain(|v| !v.name.eq_ignore_ascii_case(&r.name));
                self.deleted_vaults.push(DeletedVault {
                    name: r.name.clone(),
                    subscription: r.subscription.clone(),
                    location: r.location.clone().unwrap_or_default(),
                    vault_id: r.id.clone(),
                    deletion_date: now,
                    scheduled_purge_date: now + chrono::Duration::days(days),
                    purge_protection: r.properties["enablePurgeProtection"] == json!(true),
                    tags: r.tags.clone(),
                });
            }
            out.push(r.id);
        }
        out
    }
}

/// A GUID derived from `text` (the same text, the same GUID): two FNV-1a hashes, formatted as a
/// version-4 GUID.
pub fn guid_from(text: &str) -> String {
    let fnv = |seed: u64| {
        let mut h = seed;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Spread the last bytes' influence over every bit.
        h ^= h >> 29;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^ (h >> 32)
    };
    let (a, b) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// The state file; `load` answers the seeded world while there is none yet.
#[derive(Debug)]
pub struct Store {
    file: StateFile,
}

impl Store {
    pub fn new(dir: &Path) -> Store {
        Store { file: StateFile::new(dir.join(FILE_NAME), "simulated Azure state", FORMAT) }
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn load(&self) -> Result<World, CloudError> {
        self.file.load(World::seed)
    }

    pub fn save(&self, world: &World) -> Result<(), CloudError> {
        self.file.save(world)
    }

    /// Load, change and save under the state file's lock (see [`StateFile::update`]): `change`
    /// answers and says whether it changed the world.
    ///
    /// [`StateFile::update`]: crate::cloud::sandbox::file::StateFile::update
    pub fn update<R>(&self, change: impl FnOnce(&mut World) -> (R, bool)) -> Result<R, CloudError> {
        self.file.update(World::seed, change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_guids_are_stable_and_well_formed() {
        let a = guid_from("principal:/subscriptions/x");
        assert_eq!(a, guid_from("principal:/subscriptions/x"));
        assert_ne!(a, guid_from("principal:/subscriptions/y"));
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('4'), "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{a}");
    }
}
