//! One running apply or revoke: its events (one per call, with the logical id, Google's name and
//! a reason), its notes, the manifest written after every finished step, and what exists so far.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::manifest::{Manifest, PlannedItem};
use super::survey::binding_name;
use super::{Gcp, Notes};
use crate::cloud::CloudError;
use crate::model::{Event, InstalledResource, Status, Update};
use crate::plan::gcp::{
    Spec, TYPE_API, TYPE_BINDING, TYPE_BUCKET, TYPE_CRYPTO_KEY, TYPE_KEY_RING, TYPE_ROLE, TYPE_SERVICE_ACCOUNT,
};

/// The type group-level events carry.
pub const TYPE_GROUP: &str = "cloudgrant/LabelledSet";

/// One running apply or revoke: events, notes, the manifest, and what exists so far.
pub(crate) struct Run<'a> {
    pub spec: &'a Spec,
    pub notes: Notes,
    pub cancel: CancellationToken,
    pub rerun: bool,
    manifest: Manifest,
    dir: Option<PathBuf>,
    saved_error: bool,
    /// Each step's status as the manifest on disk has it: a terminal event writes the manifest
    /// only when it changes one.
    written: BTreeMap<String, Status>,
    /// Logical id → (Google name, latest status).
    pub state: BTreeMap<String, (String, String, Status)>,
    /// The resources whose call is under way: on an error they get the failed status.
    current: Vec<(String, String, String, Status)>,
}

impl<'a> Run<'a> {
    pub fn new(gcp: &Gcp, spec: &'a Spec, org: &str, tx: &mpsc::Sender<Update>, cancel: CancellationToken) -> Run<'a> {
        let dir = gcp.manifest_dir();
        let plan = planned(spec);
        let manifest = dir
            .as_deref()
            .and_then(|d| Manifest::load(d, &spec.install))
            .map(|mut m| {
                m.plan.clone_from(&plan);
                m.location.clone_from(&spec.location);
                m
            })
            .unwrap_or_else(|| Manifest::new(spec, org, &gcp.inner.vendor.vendor.id, plan));
        let written = manifest.steps.iter().map(|s| (s.id.clone(), s.status)).collect();
        Run {
            written,
            spec,
            notes: Notes::to(tx),
            cancel,
            rerun: false,
            manifest,
            dir,
            saved_error: false,
            state: BTreeMap::new(),
            current: Vec::new(),
        }
    }

    pub async fn save(&mut self) {
        let Some(dir) = self.dir.clone() else { return };
        match self.manifest.save(&dir) {
            Ok(_) => self.written = self.manifest.steps.iter().map(|s| (s.id.clone(), s.status)).collect(),
            Err(e) => {
                if !self.saved_error {
                    self.saved_error = true;
                    self.notes
                        .log(format!("the local manifest was not written ({e}); the install itself is not affected"))
                        .await;
                }
            }
        }
    }

    /// One event, recorded in the manifest; the manifest is written when a terminal status
    /// changes what it has on disk.
    pub async fn event(&mut self, id: &str, type_: &str, name: &str, status: Status, reason: Option<String>) {
        self.event_recorded(id, type_, name, status, reason, true).await;
    }

    async fn event_recorded(
        &mut self,
        id: &str,
        type_: &str,
        name: &str,
        status: Status,
        reason: Option<String>,
        record: bool,
    ) {
        let group = self.spec.install.clone();
        self.notes
            .send(Update::Event(Event {
                time: Utc::now(),
                group: group.clone(),
                resource: id.to_string(),
                resource_type: type_.to_string(),
                status,
                reason: reason.clone(),
                physical_id: (!name.is_empty()).then(|| name.to_string()),
            }))
            .await;
        if record {
            self.manifest.record(id, name, status, reason);
        }
        if status.is_terminal() {
            self.current.retain(|c| c.0 != id);
        }
        if id != group {
            self.state.insert(id.to_string(), (type_.to_string(), name.to_string(), status));
        }
        if record && status.is_terminal() && self.written.get(id) != Some(&status) {
            self.save().await;
        }
    }

    pub async fn group_event(&mut self, status: Status, reason: Option<String>) {
        let group = self.spec.install.clone();
        self.event(&group, TYPE_GROUP, &group, status, reason).await;
    }

    /// A call starts for this resource.
    pub async fn begin(&mut self, id: &str, type_: &str, name: &str, status: Status, reason: &str) {
        let failed = match status {
            Status::CreateInProgress => Status::CreateFailed,
            Status::UpdateInProgress => Status::UpdateFailed,
            _ => Status::DeleteFailed,
        };
        self.current.retain(|c| c.0 != id);
        self.current.push((id.to_string(), type_.to_string(), name.to_string(), failed));
        self.event(id, type_, name, status, Some(reason.to_string())).await;
    }

    /// The call for `id` alone is done.
    pub async fn finish(&mut self, id: &str, status: Status, reason: &str) {
        let Some(i) = self.current.iter().position(|c| c.0 == id) else { return };
        let (id, type_, name, _) = self.current.remove(i);
        self.event(&id, &type_, &name, status, Some(reason.to_string())).await;
    }

    /// The call for `id` alone failed with `e`.
    pub async fn fail_one(&mut self, id: &str, e: &CloudError) {
        let Some(i) = self.current.iter().position(|c| c.0 == id) else { return };
        let (id, type_, name, failed) = self.current.remove(i);
        self.event(&id, &type_, &name, failed, Some(format!("{e}. Fix: {}", e.next_step()))).await;
    }

    /// The current resources failed with `e`.
    pub async fn fail_current(&mut self, e: &CloudError) {
        let reason = format!("{e}. Fix: {}", e.next_step());
        for (id, type_, name, failed) in std::mem::take(&mut self.current) {
            self.event(&id, &type_, &name, failed, Some(reason.clone())).await;
        }
    }

    pub fn settled(&self) -> Status {
        if self.rerun {
            Status::UpdateComplete
        } else {
            Status::CreateComplete
        }
    }

    /// An existing resource that needs nothing: no call changed it, so a manifest that has it
    /// complete keeps its record and is not written.
    pub async fn unchanged(&mut self, id: &str, type_: &str, name: &str, reason: &str) {
        let st = self.settled();
        let known = matches!(self.written.get(id), Some(Status::CreateComplete | Status::UpdateComplete));
        self.event_recorded(id, type_, name, st, Some(reason.to_string()), !known).await;
    }

    pub fn resources(&self) -> Vec<InstalledResource> {
        planned(self.spec)
            .into_iter()
            .filter_map(|p| {
                let (type_, name, status) = self.state.get(&p.id)?.clone();
                Some(InstalledResource { id: p.id, type_, physical_id: Some(name), status })
            })
            .collect()
    }
}

/// Every resource of the definitions, in order, with its Google name.
pub(crate) fn planned(spec: &Spec) -> Vec<PlannedItem> {
    let item = |id: &str, type_: &str, name: String| PlannedItem { id: id.into(), type_: type_.into(), name };
    let mut out = Vec::new();
    out.extend(spec.apis.iter().map(|a| item(&a.id, TYPE_API, a.service.clone())));
    out.extend(spec.roles.iter().map(|r| item(&r.id, TYPE_ROLE, spec.role_name(r))));
    out.extend(spec.service_accounts.iter().map(|s| item(&s.id, TYPE_SERVICE_ACCOUNT, spec.service_account_email(s))));
    out.extend(spec.key_rings.iter().map(|k| item(&k.id, TYPE_KEY_RING, spec.key_ring_name(k))));
    out.extend(spec.crypto_keys.iter().map(|k| item(&k.id, TYPE_CRYPTO_KEY, spec.crypto_key_name(k))));
    out.extend(spec.buckets.iter().map(|b| item(&b.id, TYPE_BUCKET, b.name.clone())));
    out.extend(spec.bindings.iter().map(|b| item(&b.id, TYPE_BINDING, binding_name(spec, b))));
    out
}

/// A [`Run`] the calls of one phase share while they overlap: each event takes the run for as
/// long as it is sent and recorded, never across a call to Google.
pub(crate) struct Shared<'a> {
    run: tokio::sync::Mutex<Run<'a>>,
    pub spec: &'a Spec,
    pub notes: Notes,
    cancel: CancellationToken,
}

impl<'a> Shared<'a> {
    pub fn new(run: Run<'a>) -> Shared<'a> {
        let (spec, notes, cancel) = (run.spec, run.notes.clone(), run.cancel.clone());
        Shared { run: tokio::sync::Mutex::new(run), spec, notes, cancel }
    }

    pub fn into_inner(self) -> Run<'a> {
        self.run.into_inner()
    }

    pub fn cancelled(&self) -> Result<(), CloudError> {
        if self.cancel.is_cancelled() {
            Err(CloudError::Cancelled)
        } else {
            Ok(())
        }
    }

    pub async fn event(&self, id: &str, type_: &str, name: &str, status: Status, reason: Option<String>) {
        self.run.lock().await.event(id, type_, name, status, reason).await;
    }

    pub async fn begin(&self, id: &str, type_: &str, name: &str, status: Status, reason: &str) {
        self.run.lock().await.begin(id, type_, name, status, reason).await;
    }

    /// The call for `id` is done (other resources under way are not).
    pub async fn finish(&self, id: &str, status: Status, reason: &str) {
        self.run.lock().await.finish(id, status, reason).await;
    }

    pub async fn unchanged(&self, id: &str, type_: &str, name: &str, reason: &str) {
        self.run.lock().await.unchanged(id, type_, name, reason).await;
    }

    pub async fn fail_one(&self, id: &str, e: &CloudError) {
        self.run.lock().await.fail_one(id, e).await;
    }
}

/// The first error of calls that ran side by side (each ran to its end).
pub(crate) fn first_error(results: impl IntoIterator<Item = Result<(), CloudError>>) -> Result<(), CloudError> {
    results.into_iter().find(Result::is_err).unwrap_or(Ok(()))
}
