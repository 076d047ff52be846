//! What the simulated AWS remembers, persisted in `aws.json` in the sandbox directory. A stack
//! keeps its whole event timeline, future events included: what CloudFormation shows at any
//! moment is the timeline up to now, so an operation left by Ctrl-C goes on finishing (as
//! CloudFormation would) and any later process sees it. Roles, buckets and keys are the stacks'
//! resources, alive between their CREATE_COMPLETE and DELETE_COMPLETE events; what outlives its
//! stack (a retained bucket, a scheduled key) is read from the same records.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::cloud::sandbox::file::StateFile;
use crate::cloud::CloudError;

pub const FORMAT: u32 = 1;
pub const FILE_NAME: &str = "aws.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct World {
    pub format: u32,
    /// Account id → what is in it.
    pub accounts: BTreeMap<String, Account>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub stacks: Vec<Stack>,
    pub change_sets: Vec<ChangeSet>,
    /// Key id → what KMS calls changed on it (absent: as its stack made it).
    #[serde(default)]
    pub keys: BTreeMap<String, KeyChange>,
    /// Bucket name → objects put into it.
    #[serde(default)]
    pub objects: BTreeMap<String, Vec<Object>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    pub name: String,
    /// `arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`: valid after delete.
    pub id: String,
    pub region: String,
    pub description: String,
    pub created: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    pub tags: Vec<(String, String)>,
    pub parameters: Vec<(String, String)>,
    pub outputs: Vec<(String, String)>,
    pub resources: Vec<Resource>,
    /// Every event, oldest first, including those still to come.
    pub events: Vec<Event>,
    /// Idempotency tokens already answered, so a resent request is not done twice.
    #[serde(default)]
    pub tokens: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub physical_id: String,
    /// Resolved properties, to tell an update from a no-op.
    pub properties: serde_json::Value,
    pub retain: bool,
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub time: DateTime<Utc>,
    pub logical_id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeSet {
    pub name: String,
    pub id: String,
    pub stack_id: String,
    pub stack_name: String,
    pub created: DateTime<Utc>,
    /// When its computation is done (CREATE_PENDING until then).
    pub ready: DateTime<Utc>,
    pub status: String,
    pub reason: Option<String>,
    pub execution: String,
    /// (action, logical id, type, replacement)
    pub changes: Vec<(String, String, String, Option<String>)>,
    /// What executing it deploys.
    pub resources: Vec<Resource>,
    pub outputs: Vec<(String, String)>,
    pub parameters: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyChange {
    /// `PendingDeletion`, `Disabled` or `Enabled`.
    pub state: String,
    pub deletion_date: Option<DateTime<Utc>>,
    pub window_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object {
    pub key: String,
    pub size: u64,
    pub modified: DateTime<Utc>,
}

impl Stack {
    /// Events that have happened by `now`, oldest first.
    pub fn events_until(&self, now: DateTime<Utc>) -> impl DoubleEndedIterator<Item = &Event> {
        self.events.iter().filter(move |e| e.time <= now)
    }

    fn stack_events(&self, now: DateTime<Utc>) -> impl DoubleEndedIterator<Item = &Event> {
        self.events_until(now).filter(|e| e.type_ == super::timeline::STACK_TYPE && e.logical_id == self.name)
    }

    /// The stack's status at `now` (`REVIEW_IN_PROGRESS` before its first event).
    pub fn status_at(&self, now: DateTime<Utc>) -> String {
        self.stack_events(now).last().map(|e| e.status.clone()).unwrap_or_else(|| "REVIEW_IN_PROGRESS".into())
    }

    pub fn reason_at(&self, now: DateTime<Utc>) -> Option<String> {
        self.stack_events(now).last().and_then(|e| e.reason.clone())
    }

    pub fn deleted_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.stack_events(now).last().filter(|e| e.status == "DELETE_COMPLETE").map(|e| e.time)
    }

    /// The last event of resource `id` by `now`.
    pub fn resource_event(&self, id: &str, now: DateTime<Utc>) -> Option<&Event> {
        self.events_until(now).rfind(|e| e.logical_id == id && e.type_ != super::timeline::STACK_TYPE)
    }

    /// The resource exists at `now`: created, and not deleted since (DELETE_SKIPPED leaves it).
    pub fn resource_alive(&self, id: &str, now: DateTime<Utc>) -> bool {
        let mut alive = false;
        for e in self.events_until(now).filter(|e| e.logical_id == id && e.type_ != super::timeline::STACK_TYPE) {
            match e.status.as_str() {
                "CREATE_COMPLETE" => alive = true,
                "DELETE_COMPLETE" => alive = false,
                _ => {}
            }
        }
        alive
    }

    /// The resource was created at some point (a retained one outlives its stack).
    pub fn resource_created(&self, id: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.events_until(now).find(|e| e.logical_id == id && e.status == "CREATE_COMPLETE").map(|e| e.time)
    }

    /// When every scheduled event has happened.
    pub fn settles_at(&self) -> Option<DateTime<Utc>> {
        self.events.iter().map(|e| e.time).max()
    }
}

impl Account {
    /// Live resources of `type_` across the account's stacks, with the stack they are in.
    pub fn alive<'a>(
        &'a self,
        type_: &'a str,
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = (&'a Stack, &'a Resource)> + 'a {
        self.stacks.iter().flat_map(move |s| {
            s.resources.iter().filter(move |r| r.type_ == type_ && s.resource_alive(&r.id, now)).map(move |r| (s, r))
        })
    }
}

/// A key's deletion day, the way AWS states it (a date, from the scheduled time).
pub fn deletion_day(change: &KeyChange) -> Option<NaiveDate> {
    change.deletion_date.map(|d| d.date_naive())
}

/// The state file.
#[derive(Debug)]
pub struct Store {
    file: StateFile,
}

impl Store {
    pub fn new(dir: &Path) -> Store {
        Store { file: StateFile::new(dir.join(FILE_NAME), "simulated AWS state", FORMAT) }
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn load(&self) -> Result<World, CloudError> {
        self.file.load(|| World { format: FORMAT, ..Default::default() })
    }

    pub fn save(&self, world: &World) -> Result<(), CloudError> {
        self.file.save(world)
    }
}
