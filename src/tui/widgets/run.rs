//! The live state of a running apply or revoke: per-resource status, per-group progress and the
//! event log. Shared by the Deploy and Revoke-run screens (rendered by `run_view`).
//!
//! Policy: every event is kept in the log (nothing is dropped or coalesced); statuses are
//! updated in place through name → index maps, so each event costs O(1) whatever the log size.

use std::collections::HashMap;
use std::time::Duration;

use crate::cloud::CloudError;
use crate::model::{ChangeKind, Event, Fate, GroupChanges, Plan, RevokePlan, Status};

/// Which pipeline the run belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Deploy,
    Revoke,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub type_: String,
    /// `None` until the first event for it.
    pub status: Option<Status>,
    pub reason: Option<String>,
    /// Revoke: what the review said becomes of it (the word shown once it settles).
    pub fate: Option<Fate>,
    /// Deploy of an existing install: nothing changes for it (settled from the start).
    pub unchanged: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupRun {
    pub key: String,
    /// The name events carry (the stack name).
    pub name: String,
    pub title: String,
    pub status: Option<Status>,
    pub reason: Option<String>,
    pub rows: Vec<Row>,
    row_index: HashMap<String, usize>,
    /// Rows in a terminal status, kept up to date per event.
    pub done: usize,
    /// Deploy of an existing install: the group has nothing to change.
    pub unchanged: bool,
}

impl GroupRun {
    fn new(key: &str, name: &str, title: &str, rows: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut g = GroupRun {
            key: key.into(),
            name: name.into(),
            title: title.into(),
            status: None,
            reason: None,
            rows: Vec::new(),
            row_index: HashMap::new(),
            done: 0,
            unchanged: false,
        };
        for (id, type_) in rows {
            g.row(&id, &type_);
        }
        g
    }

    /// The index of a row, added on first sight (events may name resources the plan did not).
    fn row(&mut self, id: &str, type_: &str) -> usize {
        if let Some(&i) = self.row_index.get(id) {
            return i;
        }
        self.rows.push(Row {
            id: id.into(),
            type_: type_.into(),
            status: None,
            reason: None,
            fate: None,
            unchanged: false,
        });
        self.row_index.insert(id.into(), self.rows.len() - 1);
        self.rows.len() - 1
    }

    pub fn total(&self) -> usize {
        self.rows.len()
    }

    pub fn failed(&self) -> bool {
        self.status.is_some_and(Status::is_failure)
            || self.rows.iter().any(|r| r.status.is_some_and(Status::is_failure))
    }

    /// Work started and not settled.
    pub fn in_progress(&self) -> bool {
        self.status.is_some_and(Status::is_in_progress)
            || (self.status.is_none() && self.rows.iter().any(|r| r.status.is_some()) && self.done < self.total())
    }

    pub fn finished(&self) -> bool {
        (self.status.is_some_and(Status::is_terminal) || self.unchanged) && self.done == self.total()
    }
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEntry {
    Event(Event),
    Note(String),
}

/// The first `*_FAILED` event: what to show above everything else.
#[derive(Debug, Clone, PartialEq)]
pub struct RootCause {
    pub group: String,
    pub resource: String,
    pub status: Status,
    pub reason: String,
}

/// How the run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Finish {
    pub ok: bool,
    /// The provider's summary of why it failed, when no event said.
    pub root_cause: Option<String>,
    /// The provider call itself failed (cancelled, unreachable).
    pub error: Option<CloudError>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    pub kind: RunKind,
    pub cloud: crate::model::Cloud,
    pub org: String,
    /// Command-line arguments naming this install (`--cloud aws --org demo`), for the hints.
    pub scope: String,
    pub groups: Vec<GroupRun>,
    group_index: HashMap<String, usize>,
    pub log: Vec<LogEntry>,
    pub events: usize,
    /// Column widths of the log: longest group key and resource id seen.
    pub key_width: usize,
    pub id_width: usize,
    /// First log line shown; `None` follows the newest.
    pub log_top: Option<usize>,
    pub root_cause: Option<RootCause>,
    pub finish: Option<Finish>,
    pub started: Duration,
    pub ended: Option<Duration>,
    /// 1 for the first run, +1 per retry.
    pub attempt: u32,
    /// A cloud call that has been waiting long, said in the status line while the run goes on.
    pub waiting: Option<String>,
}

fn is_failed_status(s: Status) -> bool {
    s.as_str().ends_with("_FAILED")
}

impl RunState {
    fn new(kind: RunKind, org: &str, groups: Vec<GroupRun>, started: Duration) -> Self {
        let group_index = groups.iter().enumerate().map(|(i, g)| (g.name.clone(), i)).collect();
        let key_width = groups.iter().map(|g| g.key.chars().count()).max().unwrap_or(0);
        let id_width = groups.iter().flat_map(|g| g.rows.iter()).map(|r| r.id.chars().count()).max().unwrap_or(0);
        RunState {
            kind,
            cloud: crate::model::Cloud::Aws,
            org: org.into(),
            scope: format!("--cloud aws --org {org}"),
            groups,
            group_index,
            log: Vec::new(),
            events: 0,
            key_width,
            id_width: id_width.min(24),
            log_top: None,
            root_cause: None,
            finish: None,
            started,
            ended: None,
            attempt: 1,
            waiting: None,
        }
    }

    /// A deploy of `plan`, groups in creation order.
    pub fn for_plan(plan: &Plan, started: Duration) -> Self {
        let groups = plan
            .groups
            .iter()
            .map(|g| {
                GroupRun::new(&g.key, &g.name, &g.title, g.resources.iter().map(|r| (r.id.clone(), r.type_.clone())))
            })
            .collect();
        let mut run = Self::new(RunKind::Deploy, &plan.org, groups, started);
        run.cloud = plan.cloud;
        run.scope = format!("--cloud {} --org {}", plan.cloud, plan.org);
        run
    }

    /// A revoke of `plan`, groups in deletion order.
    pub fn for_revoke(plan: &RevokePlan, started: Duration) -> Self {
        let groups = plan
            .groups
            .iter()
            .map(|g| {
                let mut run =
                    GroupRun::new(&g.key, &g.name, "", g.resources.iter().map(|r| (r.id.clone(), r.type_.clone())));
                for (row, item) in run.rows.iter_mut().zip(&g.resources) {
                    row.fate = Some(item.fate());
                }
                run
            })
            .collect();
        let inst = &plan.installation;
        let mut run = Self::new(RunKind::Revoke, &inst.org, groups, started);
        run.cloud = inst.cloud;
        run.scope = format!("--cloud {} --org {}", inst.cloud, inst.org);
        run
    }

    /// An apply over an install that exists: groups with no changes are settled from the start,
    /// and in an updated group only the resources the change set names are waited for.
    pub fn with_changes(mut self, changes: &[GroupChanges]) -> Self {
        for c in changes {
            let Some(&gi) = self.group_index.get(c.group.as_str()) else { continue };
            let g = &mut self.groups[gi];
            match c.kind {
                ChangeKind::Create => {}
                ChangeKind::NoChanges | ChangeKind::Update => {
                    for row in &mut g.rows {
                        let named = c.changes.iter().any(|ch| ch.id == row.id);
                        if c.kind == ChangeKind::NoChanges || !named {
                            row.unchanged = true;
                        }
                    }
                    g.done = g.rows.iter().filter(|r| r.unchanged).count();
                    g.unchanged = c.kind == ChangeKind::NoChanges;
                }
            }
        }
        self
    }

    /// The short key of a group (`auth`) from the name events carry.
    pub fn group_key<'a>(&'a self, name: &'a str) -> &'a str {
        self.group_index.get(name).map_or(name, |&i| self.groups[i].key.as_str())
    }

    /// Take one event: update the row (or group) in place and append it to the log.
    pub fn apply_event(&mut self, e: Event) {
        let gi = match self.group_index.get(e.group.as_str()) {
            Some(&i) => i,
            None => {
                self.groups.push(GroupRun::new(&e.group, &e.group, "", []));
                self.group_index.insert(e.group.clone(), self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        let g = &mut self.groups[gi];
        if e.is_group_event() {
            g.status = Some(e.status);
            g.reason.clone_from(&e.reason);
            // A stack that completed has settled every resource, even those no event named
            // (some endpoints report only stack-level events).
            if matches!(e.status, Status::CreateComplete | Status::UpdateComplete | Status::DeleteComplete) {
                g.done = g.rows.len();
            }
        } else {
            let ri = g.row(&e.resource, &e.resource_type);
            let row = &mut g.rows[ri];
            let was_done = row.status.is_some_and(Status::is_terminal) || row.unchanged;
            row.unchanged = false;
            let now_done = e.status.is_terminal();
            row.status = Some(e.status);
            if e.reason.is_some() {
                row.reason.clone_from(&e.reason);
            }
            match (was_done, now_done) {
                (false, true) => g.done += 1,
                (true, false) => g.done = g.done.saturating_sub(1),
                _ => {}
            }
            // A resource's own event may arrive after its stack's completion settled every row.
            g.done = g.done.min(g.rows.len());
        }
        if self.root_cause.is_none() && is_failed_status(e.status) {
            self.root_cause = Some(RootCause {
                group: e.group.clone(),
                resource: e.resource.clone(),
                status: e.status,
                reason: e.reason.clone().unwrap_or_else(|| "no reason given".into()),
            });
        }
        self.events += 1;
        self.log.push(LogEntry::Event(e));
    }

    pub fn note(&mut self, text: String) {
        self.log.push(LogEntry::Note(text));
    }

    /// Record the final result (the first one wins: the provider's summary arrives before its
    /// return value).
    pub fn finish(&mut self, ok: bool, root_cause: Option<String>, error: Option<CloudError>, now: Duration) {
        match &mut self.finish {
            Some(f) => {
                if f.error.is_none() {
                    f.error = error;
                }
            }
            None => {
                self.finish = Some(Finish { ok: ok && error.is_none(), root_cause, error });
                self.ended = Some(now);
            }
        }
    }

    pub fn running(&self) -> bool {
        self.finish.is_none()
    }

    pub fn succeeded(&self) -> bool {
        self.finish.as_ref().is_some_and(|f| f.ok)
    }

    pub fn failed(&self) -> bool {
        self.finish.as_ref().is_some_and(|f| !f.ok)
    }

    pub fn elapsed(&self, now: Duration) -> Duration {
        self.ended.unwrap_or(now).saturating_sub(self.started)
    }

    pub fn resources_done(&self) -> (usize, usize) {
        self.groups.iter().fold((0, 0), |(d, t), g| (d + g.done, t + g.total()))
    }

    /// Logical ids now in DELETE_FAILED: what a revoke retry leaves in place.
    pub fn delete_failed_ids(&self) -> Vec<String> {
        self.groups
            .iter()
            .flat_map(|g| g.rows.iter())
            .filter(|r| r.status == Some(Status::DeleteFailed))
            .map(|r| r.id.clone())
            .collect()
    }

    /// Start again after a failure: statuses stay (they are still true), the log continues.
    pub fn restart(&mut self, now: Duration) {
        self.attempt += 1;
        self.finish = None;
        self.root_cause = None;
        self.ended = None;
        self.started = now;
        self.log_top = None;
        self.note(format!("attempt {} started", self.attempt));
    }

    /// Move the log view; `height` is the number of visible log lines.
    pub fn scroll(&mut self, delta: isize, height: usize) {
        let max_top = self.log.len().saturating_sub(height);
        let top = self.log_top.unwrap_or(max_top) as isize + delta;
        let top = top.clamp(0, max_top as isize) as usize;
        self.log_top = if top >= max_top { None } else { Some(top) };
    }

    pub fn scroll_to_top(&mut self, height: usize) {
        self.log_top = if self.log.len() > height { Some(0) } else { None };
    }

    pub fn follow(&mut self) {
        self.log_top = None;
    }

    /// What the user should do after a failure, in one or two plain sentences.
    pub fn next_step(&self) -> String {
        let scope = &self.scope;
        if let Some(e) = self.finish.as_ref().and_then(|f| f.error.as_ref()) {
            if !matches!(e, CloudError::Cancelled) {
                return e.next_step();
            }
        }
        match self.kind {
            RunKind::Deploy => format!(
                "Fix the cause above, then press r to try again: what already exists is updated, not created twice. \
                 `cloudgrant status {scope}` shows what is in the account."
            ),
            RunKind::Revoke => {
                let failed = self.delete_failed_ids();
                if failed.is_empty() {
                    format!("Press r to try again, or check with `cloudgrant status {scope}`.")
                } else {
                    format!(
                        "Press r to finish revoking and leave {} in place (listed as left behind), then remove it yourself once the cause is fixed.",
                        failed.join(", ")
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn ev(group: &str, resource: &str, status: Status, reason: Option<&str>) -> Event {
        Event {
            time: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().unwrap_or_default(),
            group: group.into(),
            resource: resource.into(),
            resource_type: "AWS::S3::Bucket".into(),
            status,
            reason: reason.map(String::from),
            physical_id: None,
        }
    }

    fn one_group() -> RunState {
        let g = GroupRun::new("s3", "x-s3", "Data", [("A".into(), "t".into()), ("B".into(), "t".into())]);
        RunState::new(RunKind::Deploy, "demo", vec![g], Duration::ZERO)
    }

    #[test]
    fn a_completed_stack_settles_resources_no_event_named() {
        // Endpoints that report only stack-level events (moto) still fill the progress bar.
        let mut r = one_group();
        r.apply_event(ev("x-s3", "x-s3", Status::CreateInProgress, Some("User Initiated")));
        assert_eq!(r.groups[0].done, 0);
        r.apply_event(ev("x-s3", "x-s3", Status::CreateComplete, None));
        assert_eq!(r.groups[0].done, r.groups[0].total());
        assert!(r.groups[0].finished());
    }

    #[test]
    fn done_counts_follow_terminal_statuses() {
        let mut r = one_group();
        r.apply_event(ev("x-s3", "A", Status::CreateInProgress, None));
        assert_eq!(r.groups[0].done, 0);
        r.apply_event(ev("x-s3", "A", Status::CreateComplete, None));
        r.apply_event(ev("x-s3", "A", Status::CreateComplete, None));
        assert_eq!(r.groups[0].done, 1);
        r.apply_event(ev("x-s3", "A", Status::DeleteInProgress, None));
        assert_eq!(r.groups[0].done, 0);
        r.apply_event(ev("x-s3", "C", Status::CreateComplete, None));
        assert_eq!((r.groups[0].done, r.groups[0].total()), (1, 3));
        assert_eq!(r.events, 5);
    }

    #[test]
    fn a_resource_event_after_its_stack_settled_never_counts_twice() {
        let mut r = one_group();
        r.apply_event(ev("x-s3", "x-s3", Status::DeleteComplete, None));
        let total = r.groups[0].total();
        assert_eq!(r.groups[0].done, total);
        r.apply_event(ev("x-s3", "A", Status::DeleteComplete, None));
        assert_eq!(r.resources_done(), (total, total), "never more settled than listed");
    }

    #[test]
    fn root_cause_is_the_first_failure() {
        let mut r = one_group();
        r.apply_event(ev("x-s3", "A", Status::CreateFailed, Some("first")));
        r.apply_event(ev("x-s3", "B", Status::CreateFailed, Some("Resource creation cancelled")));
        r.apply_event(ev("x-s3", "x-s3", Status::RollbackInProgress, Some("group")));
        assert_eq!(r.root_cause.as_ref().map(|c| c.reason.as_str()), Some("first"));
        assert!(r.groups[0].failed());
    }

    #[test]
    fn scrolling_stops_following_and_end_resumes() {
        let mut r = one_group();
        for _ in 0..50 {
            r.note("x".into());
        }
        r.scroll(-5, 10);
        assert_eq!(r.log_top, Some(35));
        r.scroll(100, 10);
        assert_eq!(r.log_top, None);
        r.scroll_to_top(10);
        assert_eq!(r.log_top, Some(0));
        r.scroll(-3, 10);
        assert_eq!(r.log_top, Some(0));
    }
}
