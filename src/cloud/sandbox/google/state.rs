//! The simulated Google Cloud's persisted state: one JSON file, `google.json`, next to the
//! simulated AWS's `aws.json`. Every call loads it and every call that changes something writes it
//! back atomically, so a second process sees the first one's changes. Times that matter (an
//! operation finishing, a service account becoming visible, objects appearing in a bucket, a key
//! version being destroyed) are stored as absolute timestamps: any process, at any speed, sees the
//! same cloud at the same moment.
//!
//! A file that cannot be read is never overwritten: the error names it and how to move it aside.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cloud::CloudError;

pub const FORMAT: u32 = 1;
pub const FILE_NAME: &str = "google.json";

/// The signed-in user of the simulated organisation.
pub const CALLER: &str = "you@example.com";

/// The simulated projects: (project id, number, display name).
pub const PROJECTS: [(&str, &str, &str); 2] =
    [("cg-sandbox-dev", "210987654321", "Sandbox dev"), ("cg-sandbox-prod", "310987654321", "Sandbox prod")];

/// What Google enables in every new project, and IAM, which these already use. Cloud KMS is
/// off: cloudgrant enables it (and must not trip over reading a key before it has).
const DEFAULT_SERVICES: [&str; 15] = [
    "iam.googleapis.com",
    "bigquery.googleapis.com",
    "bigquerystorage.googleapis.com",
    "cloudapis.googleapis.com",
    "cloudtrace.googleapis.com",
    "datastore.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "servicemanagement.googleapis.com",
    "serviceusage.googleapis.com",
    "sql-component.googleapis.com",
    "storage-api.googleapis.com",
    "storage-component.googleapis.com",
    "storage.googleapis.com",
    "cloudresourcemanager.googleapis.com",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct World {
    pub format: u32,
    /// Bumped for every etag, unique id and operation name.
    pub serial: u64,
    /// Project id → what is in it.
    pub projects: BTreeMap<String, Project>,
    /// Bucket names are global: name → bucket (which names its project).
    pub buckets: BTreeMap<String, Bucket>,
    /// Long-running operations by name (`operations/acf.p2-…`).
    pub operations: BTreeMap<String, Operation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub number: String,
    pub display_name: String,
    pub create_time: DateTime<Utc>,
    pub policy: Policy,
    /// Service name → when it is (or becomes) enabled.
    pub services: BTreeMap<String, DateTime<Utc>>,
    /// Custom role id → role.
    pub roles: BTreeMap<String, Role>,
    /// E-mail → service account.
    pub service_accounts: BTreeMap<String, ServiceAccount>,
    /// Full key ring name (`projects/p/locations/l/keyRings/r`) → key ring.
    pub key_rings: BTreeMap<String, KeyRing>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub etag: String,
    pub bindings: Vec<Binding>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    pub role: String,
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
}

impl Policy {
    /// What Google answers for a resource nobody has granted anything on.
    pub fn empty() -> Policy {
        Policy { etag: "ACAB".into(), bindings: Vec::new() }
    }

    /// 3 when any binding has a condition, as Google reports it.
    pub fn version(&self) -> u32 {
        if self.bindings.iter().any(|b| b.condition.is_some()) {
            3
        } else {
            1
        }
    }

    /// Every (role, member) pair, conditions ignored.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.bindings.iter().flat_map(|b| b.members.iter().map(|m| (b.role.clone(), m.clone()))).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub title: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub stage: String,
    pub etag: String,
    /// Soft-deleted at: undeletable for 7 days, purged (id free again) after 37.
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceAccount {
    pub unique_id: String,
    pub display_name: String,
    pub description: String,
    pub created: DateTime<Utc>,
    /// IAM is eventually consistent: GET answers 404 until then.
    pub visible_at: DateTime<Utc>,
    pub policy: Policy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRing {
    pub create_time: DateTime<Utc>,
    #[serde(default = "Policy::empty")]
    pub policy: Policy,
    /// Key id → key.
    pub keys: BTreeMap<String, CryptoKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CryptoKey {
    pub create_time: DateTime<Utc>,
    pub purpose: String,
    pub labels: BTreeMap<String, String>,
    pub destroy_scheduled_seconds: u64,
    /// Version n is `versions[n - 1]`.
    pub versions: Vec<KeyVersion>,
    pub policy: Policy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyVersion {
    pub create_time: DateTime<Utc>,
    /// Set by `:destroy`: scheduled until then, destroyed after.
    pub destroy_time: Option<DateTime<Utc>>,
}

impl KeyVersion {
    pub fn state_at(&self, now: DateTime<Utc>) -> &'static str {
        match self.destroy_time {
            None => "ENABLED",
            Some(t) if now < t => "DESTROY_SCHEDULED",
            Some(_) => "DESTROYED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub project: String,
    pub location: String,
    pub labels: BTreeMap<String, String>,
    pub uniform_access: bool,
    pub time_created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub metageneration: u64,
    pub policy: Policy,
    /// What the vendor's machines write, each visible from its time.
    pub objects: Vec<StoredObject>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredObject {
    pub name: String,
    pub size: u64,
    pub appears_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub project: String,
    pub services: Vec<String>,
    pub done_at: DateTime<Utc>,
    /// The `google.rpc.Status` it ends with, if it fails.
    pub error: Option<Value>,
}

impl World {
    /// The two projects as a new sandbox has them: an owner, the default compute service account
    /// as editor, Google's default APIs, IAM and Cloud KMS; prod also has Compute Engine, dev
    /// has it still to enable.
    pub fn seed() -> World {
        let created = Utc.with_ymd_and_hms(2024, 3, 14, 9, 26, 53).single().unwrap_or(DateTime::UNIX_EPOCH);
        let mut world = World {
            format: FORMAT,
            serial: 0,
            projects: BTreeMap::new(),
            buckets: BTreeMap::new(),
            operations: BTreeMap::new(),
        };
        for (id, number, display) in PROJECTS {
            let compute_sa = format!("{number}-compute@developer.gserviceaccount.com");
            let mut bindings = vec![
                Binding {
                    role: "roles/editor".into(),
                    members: vec![format!("serviceAccount:{compute_sa}")],
                    condition: None,
                },
                Binding { role: "roles/owner".into(), members: vec![format!("user:{CALLER}")], condition: None },
            ];
            let mut services: BTreeMap<String, DateTime<Utc>> =
                DEFAULT_SERVICES.iter().map(|s| (s.to_string(), created)).collect();
            if id.ends_with("prod") {
                // A conditional binding: the policy is version 3, which a read-modify-write keeps.
                bindings.push(Binding {
                    role: "roles/viewer".into(),
                    members: vec!["group:auditors@example.com".into()],
                    condition: Some(serde_json::json!({
                        "title": "audit-2025",
                        "description": "Auditors until the end of the 2025 audit",
                        "expression": "request.time < timestamp(\"2026-01-01T00:00:00Z\")"
                    })),
                });
                for s in ["compute.googleapis.com", "oslogin.googleapis.com"] {
                    services.insert(s.into(), created);
                }
            }
            bindings.sort_by(|a, b| a.role.cmp(&b.role));
            let policy = Policy { etag: world.next_etag(), bindings };
            let compute = ServiceAccount {
                unique_id: format!("1{number}00000000"),
                display_name: "Compute Engine default service account".into(),
                description: String::new(),
                created,
                visible_at: created,
                policy: Policy::empty(),
            };
            world.projects.insert(
                id.into(),
                Project {
                    number: number.into(),
                    display_name: display.into(),
                    create_time: created,
                    policy,
                    services,
                    roles: BTreeMap::new(),
                    service_accounts: BTreeMap::from([(compute_sa, compute)]),
                    key_rings: BTreeMap::new(),
                },
            );
        }
        world
    }

    pub fn bump(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// A new etag.
    pub fn next_etag(&mut self) -> String {
        etag_for(self.bump())
    }

    /// The project by id or number.
    pub fn project_key(&self, id_or_number: &str) -> Option<String> {
        self.projects.iter().find(|(id, p)| *id == id_or_number || p.number == id_or_number).map(|(id, _)| id.clone())
    }
}

/// The etag for serial `n`: base64 like Google's (`BwY…`).
pub fn etag_for(n: u64) -> String {
    let mut bytes = vec![0x07, 0x06];
    bytes.extend_from_slice(&n.to_be_bytes()[2..]);
    base64(&bytes)
}

pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The state file; `load` answers the seeded world while there is none yet.
#[derive(Debug)]
pub struct Store {
    file: crate::cloud::sandbox::file::StateFile,
}

impl Store {
    pub fn new(dir: &Path) -> Store {
        Store {
            file: crate::cloud::sandbox::file::StateFile::new(
                dir.join(FILE_NAME),
                "simulated Google Cloud state",
                FORMAT,
            ),
        }
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
}
