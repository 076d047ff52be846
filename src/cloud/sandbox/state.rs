//! The sandbox's persisted state: one JSON file under the user's data directory. A stack keeps
//! its whole event timeline, future events included: what the "cloud" shows at any moment is
//! the timeline replayed up to now. So a deploy left by Ctrl-C goes on finishing, as
//! CloudFormation would, and any later process (`status`, `revoke`) sees it.
//!
//! The file is written atomically (temp file + rename) and never silently overwritten: one that
//! cannot be read stops the tool with the path and how to move it aside.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::cloud::CloudError;
use crate::model::{Event, Status};

pub const FORMAT: u32 = 1;
pub const FILE_NAME: &str = "state.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    /// Account id → what is in it.
    pub accounts: BTreeMap<String, AccountState>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountState {
    pub stacks: Vec<Stack>,
    /// Resources that outlive their stack: retained buckets, keys pending deletion.
    pub leftovers: Vec<Leftover>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    pub name: String,
    /// `arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`: valid after delete.
    pub id: String,
    pub region: String,
    pub tags: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    pub template: String,
    pub resources: Vec<StackResource>,
    /// Every event, in time order, including scheduled ones.
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackResource {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub physical_id: String,
    pub attrs: BTreeMap<String, String>,
    /// Resolved properties, to tell an update from a no-op.
    pub properties: serde_json::Value,
    pub retain: bool,
    pub pending_window_days: Option<u32>,
    pub depends_on: Vec<String>,
    /// For buckets: what is stored in them.
    #[serde(default)]
    pub objects: u64,
    #[serde(default)]
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leftover {
    #[serde(rename = "type")]
    pub type_: String,
    pub physical_id: String,
    pub org: String,
    pub stack: String,
    /// When it left its stack (it becomes visible then).
    pub since: DateTime<Utc>,
    /// For keys: the day AWS deletes them.
    pub deletion_date: Option<NaiveDate>,
    #[serde(default)]
    pub objects: u64,
    #[serde(default)]
    pub bytes: u64,
}

impl Leftover {
    /// Still there at `now` (a key is gone after its deletion date).
    pub fn exists_at(&self, now: DateTime<Utc>) -> bool {
        self.since <= now && self.deletion_date.is_none_or(|d| now.date_naive() < d)
    }
}

impl Stack {
    /// Events that have happened by `now`.
    pub fn events_until(&self, now: DateTime<Utc>) -> impl Iterator<Item = &Event> {
        self.events.iter().take_while(move |e| e.time <= now)
    }

    /// The stack's status at `now`; `None` before its first event.
    pub fn status_at(&self, now: DateTime<Utc>) -> Option<Status> {
        self.events_until(now).filter(|e| e.is_group_event()).last().map(|e| e.status)
    }

    pub fn status_reason_at(&self, now: DateTime<Utc>) -> Option<String> {
        self.events_until(now).filter(|e| e.is_group_event()).last().and_then(|e| e.reason.clone())
    }

    pub fn resource_status_at(&self, id: &str, now: DateTime<Utc>) -> Option<Status> {
        self.events_until(now).filter(|e| e.resource == id && !e.is_group_event()).last().map(|e| e.status)
    }

    /// Gone for good at `now`.
    pub fn is_deleted_at(&self, now: DateTime<Utc>) -> bool {
        self.status_at(now) == Some(Status::DeleteComplete)
    }

    /// The time of the last scheduled event: when the stack settles.
    pub fn settles_at(&self) -> Option<DateTime<Utc>> {
        self.events.last().map(|e| e.time)
    }
}

/// The state file, loaded; `save` writes it back atomically.
#[derive(Debug)]
pub struct Store {
    file: super::file::StateFile,
}

impl Store {
    pub fn new(dir: &Path) -> Store {
        Store { file: super::file::StateFile::new(dir.join(FILE_NAME), "sandbox state", FORMAT) }
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn load(&self) -> Result<State, CloudError> {
        self.file.load(|| State { format: FORMAT, ..Default::default() })
    }

    pub fn save(&self, state: &State) -> Result<(), CloudError> {
        self.file.save(state)
    }
}
