//! The local record of one install: what the plan said, what exists under which name, and how far
//! each step got. Written after every step (atomically: a temporary file, then a rename) to
//! `<manifest dir>/<install id>.json`. It holds names and statuses only, never a token or a key.
//! [`super::Gcp::discover`] does not depend on it: the project is the truth; the manifest only
//! tells discover where to look for a key ring when no bucket says the location.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Status;
use crate::plan::gcp::Spec;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub cloud: String,
    pub project: String,
    pub location: String,
    pub install: String,
    pub org: String,
    pub vendor_id: String,
    /// What the plan creates, in order: (logical id, type, Google name).
    pub plan: Vec<PlannedItem>,
    /// The latest status of each step, in the order they were last touched.
    pub steps: Vec<StepRecord>,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedItem {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub reason: Option<String>,
    pub time: DateTime<Utc>,
}

impl Manifest {
    pub fn new(spec: &Spec, org: &str, vendor_id: &str, plan: Vec<PlannedItem>) -> Manifest {
        Manifest {
            format: 1,
            cloud: "gcp".into(),
            project: spec.project.clone(),
            location: spec.location.clone(),
            install: spec.install.clone(),
            org: org.to_string(),
            vendor_id: vendor_id.to_string(),
            plan,
            steps: Vec::new(),
            updated: Utc::now(),
        }
    }

    pub fn path(dir: &Path, install: &str) -> PathBuf {
        dir.join(format!("{install}.json"))
    }

    /// The manifest of `install` under `dir`, if one was written (and can still be read).
    pub fn load(dir: &Path, install: &str) -> Option<Manifest> {
        let text = std::fs::read_to_string(Self::path(dir, install)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Every manifest under `dir` (unreadable files are skipped: they are only hints).
    pub fn all(dir: &Path) -> Vec<Manifest> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect()
    }

    pub fn record(&mut self, id: &str, name: &str, status: Status, reason: Option<String>) {
        self.steps.retain(|s| s.id != id);
        self.steps.push(StepRecord { id: id.to_string(), name: name.to_string(), status, reason, time: Utc::now() });
        self.updated = Utc::now();
    }

    pub fn status_of(&self, id: &str) -> Option<Status> {
        self.steps.iter().find(|s| s.id == id).map(|s| s.status)
    }

    /// Write to `dir`; the error names the file and the fix.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {} for the install manifest: {e}", dir.display()))?;
        let path = Self::path(dir, &self.install);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| format!("cannot encode the manifest: {e}"))?;
        std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_the_latest_status_per_step() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = Spec {
            send_to_vendor: vec![],
            labels: Default::default(),
            apis: vec![],
            roles: vec![],
            predefined_roles: vec![],
            service_accounts: vec![],
            key_rings: vec![],
            crypto_keys: vec![],
            buckets: vec![],
            bindings: vec![],
            project: "acme-prod-123".into(),
            location: "europe-west1".into(),
            install: "acmeml-acme".into(),
            vendor_id: "acmeml".into(),
            org: "acme".into(),
            install_id: None,
        };
        let mut m = Manifest::new(&spec, "acme", "acmeml", vec![]);
        m.record("ManagerRole", "projects/p/roles/r", Status::CreateInProgress, None);
        m.record("ManagerRole", "projects/p/roles/r", Status::CreateComplete, Some("created".into()));
        let path = m.save(dir.path()).expect("saved");
        assert!(path.ends_with("acmeml-acme.json"));
        let back = Manifest::load(dir.path(), "acmeml-acme").expect("loaded");
        assert_eq!(back.steps.len(), 1);
        assert_eq!(back.status_of("ManagerRole"), Some(Status::CreateComplete));
        assert_eq!(Manifest::all(dir.path()).len(), 1);
    }
}
