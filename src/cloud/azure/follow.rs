//! Following a stack while ARM deploys it: each poll asks the async operation (#14, the
//! authority on when it is done), then, side by side, the operations lists (#15) of the
//! deployments still running, nested ones included (a nested deployment is listed once more after
//! its parent says it finished, then no more). The stack itself (#12) is read until its
//! deployment is known, and once when the operation is done ([`Azure::settle_stack`]). A poll
//! comes one `poll_interval` after the last one was sent, or later when ARM's answer asks so
//! (`Retry-After`). One event per new operation state, named by the template's logical id.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::errors::{AzureError, Step};
use super::survey::stack_running;
use super::{ApiRequest, Method};
use super::{Azure, Notes, API_RESOURCES};
use crate::cloud::CloudError;
use crate::model::{Event, Status, Update};
use crate::plan::azure::StackSpec;

/// The type group-level events carry.
pub const TYPE_STACK: &str = "Microsoft.Resources/deploymentStacks";
pub(crate) const TYPE_DEPLOYMENT: &str = "Microsoft.Resources/deployments";
/// Nested deployments are followed this deep.
const MAX_NESTING: usize = 4;

/// The wait before the next poll of a stack's deployment or deletion: the poll interval, or the
/// `Retry-After` of ARM's last answer when that is longer (ARM's async-operation pattern: wait at
/// least that long before asking again; capped at [`super::MAX_RETRY_AFTER`]). No shorter first
/// wait: a stack's deployment or deletion takes seconds at least, and each early poll costs a
/// request (with the operations lists it brings) that can only answer "still running".
pub(crate) fn poll_wait(interval: Duration, retry_after: Option<Duration>) -> Duration {
    retry_after.map_or(interval, |r| r.min(super::MAX_RETRY_AFTER).max(interval))
}

/// An operation's state as an event status; `None` for operations that change nothing (Read,
/// EvaluateDeploymentOutput) or have no target.
pub fn operation_status(op: &Value, rerun: bool) -> Option<Status> {
    let p = &op["properties"];
    p["targetResource"]["resourceType"].as_str()?;
    let state = p["provisioningState"].as_str().unwrap_or_default().to_ascii_lowercase();
    let operation = p["provisioningOperation"].as_str().unwrap_or_default().to_ascii_lowercase();
    let (running, done, failed) = match operation.as_str() {
        "create" | "action" if rerun => (Status::UpdateInProgress, Status::UpdateComplete, Status::UpdateFailed),
        "create" | "action" => (Status::CreateInProgress, Status::CreateComplete, Status::CreateFailed),
        "delete" => (Status::DeleteInProgress, Status::DeleteComplete, Status::DeleteFailed),
        _ => return None,
    };
    Some(match state.as_str() {
        "succeeded" => done,
        "failed" | "canceled" => failed,
        _ => running,
    })
}

/// One running apply or revoke: events, notes, and the operations seen so far (shared by the
/// calls that run side by side; each lock is held for a moment, never across a call).
pub(crate) struct Run {
    pub notes: Notes,
    pub cancel: CancellationToken,
    pub rerun: bool,
    /// operation id → the last status sent.
    seen: Mutex<BTreeMap<String, Status>>,
    /// Failed operations' errors, as (logical id, resource type, error), in the order seen.
    failures: Mutex<Vec<(String, String, AzureError)>>,
    /// Deployments whose operations could not be listed (said once each).
    unlisted: Mutex<BTreeSet<String>>,
}

impl Run {
    pub fn new(tx: &mpsc::Sender<Update>, cancel: CancellationToken) -> Run {
        Run {
            notes: Notes::to(tx),
            cancel,
            rerun: false,
            seen: Mutex::default(),
            failures: Mutex::default(),
            unlisted: Mutex::default(),
        }
    }

    pub async fn event(
        &self,
        group: &str,
        resource: &str,
        type_: &str,
        status: Status,
        reason: Option<String>,
        physical: Option<String>,
    ) {
        self.notes
            .send(Update::Event(Event {
                time: Utc::now(),
                group: group.to_string(),
                resource: resource.to_string(),
                resource_type: type_.to_string(),
                status,
                reason,
                physical_id: physical,
            }))
            .await;
    }

    pub async fn group_event(&self, group: &str, id: Option<&str>, status: Status, reason: String) {
        self.event(group, group, TYPE_STACK, status, Some(reason), id.map(String::from)).await;
    }

    /// Wait until `at`, or stop on cancel.
    pub async fn pause_until(&self, at: tokio::time::Instant) -> Result<(), CloudError> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(CloudError::Cancelled),
            _ = tokio::time::sleep_until(at) => Ok(()),
        }
    }

    /// Whether `status` is new for operation `key` (and remember it).
    fn is_new(&self, key: &str, status: Status) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.insert(key.to_string(), status) != Some(status)
    }

    fn failed(&self, logical: String, type_: String, e: AzureError) {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((logical, type_, e));
    }

    fn first_unlisted(&self, deployment: &str) -> bool {
        self.unlisted.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(deployment.to_string())
    }
}

/// The deployments whose operations are still listed on each poll, with their depth.
#[derive(Default)]
pub(crate) struct Lists {
    active: Vec<(String, usize)>,
    /// Nested deployments their parent says finished: listed on the next poll, then dropped.
    finishing: BTreeSet<String>,
    /// Dropped ones (lowercase): their parent's list still names them on every poll, and they
    /// are not listed again.
    done: BTreeSet<String>,
}

impl Lists {
    fn add(&mut self, deployment: &str, depth: usize) -> bool {
        if self.done.contains(&deployment.to_ascii_lowercase())
            || self.active.iter().any(|(d, _)| d.eq_ignore_ascii_case(deployment))
        {
            return false;
        }
        self.active.push((deployment.to_string(), depth));
        true
    }
}

/// A stack whose operation said it is done, not yet settled.
pub(crate) struct Followed {
    /// The operation's last answer (`None` without an operation).
    pub op: Option<Value>,
    /// The stack as last read (the PUT's answer when there is an operation).
    pub current: Value,
    lists: Lists,
    operation: bool,
}

impl Followed {
    /// Whether the deployment succeeded, as far as the operation (or, without one, the stack) says.
    pub fn succeeded(&self) -> bool {
        match self.op.as_ref().and_then(|o| o["status"].as_str()) {
            Some(s) => s.eq_ignore_ascii_case("succeeded"),
            None => self.current["properties"]["provisioningState"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("succeeded")),
        }
    }
}

impl Azure {
    /// Poll the async operation (#14) and the operations (#15) until the operation (or, without
    /// one, the stack) says it is done; `retry_after` is the PUT's. The stack is not read again
    /// here when there is an operation: [`Azure::settle_stack`] does, once.
    pub(crate) async fn follow_stack(
        &self,
        run: &Run,
        stack: &StackSpec,
        operation: Option<&str>,
        first: Value,
        mut retry_after: Option<Duration>,
    ) -> Result<Followed, CloudError> {
        let mut current = first;
        let mut lists = Lists::default();
        let started = std::time::Instant::now();
        // Each wait runs from when the last poll was sent: slow answers shorten the next wait.
        let mut sent = tokio::time::Instant::now();
        loop {
            if started.elapsed() >= crate::cloud::common::deadline() {
                let state = current["properties"]["provisioningState"].as_str().unwrap_or("running");
                return Err(crate::cloud::common::deadline_passed(
                    &format!("deployment stack {}", stack.name),
                    state,
                    &format!("az stack sub show --name {} --query properties.provisioningState", stack.name),
                ));
            }
            run.pause_until(sent + poll_wait(self.inner.options.poll_interval, retry_after)).await?;
            sent = tokio::time::Instant::now();
            if let Some(dep) = current["properties"]["deploymentId"].as_str() {
                lists.add(dep, 0);
            }
            let known = !lists.active.is_empty();
            let op = async {
                let Some(url) = operation else { return Ok(None) };
                let probe = Step { what: format!("follow stack {}", stack.name), call: format!("GET {url}") };
                let req = self.follow(&probe, url)?;
                let step = self.step(&format!("follow the operation of stack {}", stack.name), &req);
                let r = self.call(&run.notes, &step, req).await?;
                let wait = r.retry_after;
                Ok::<_, CloudError>(Some((self.ok(&step, r)?, wait)))
            };
            // Without an operation the stack says when it is done; without a deployment id yet,
            // it names the deployment.
            let read = async {
                if operation.is_none() || !known {
                    self.read_stack(&run.notes, &stack.name).await
                } else {
                    Ok(None)
                }
            };
            let (op, read) = futures::join!(op, read);
            let op = match op? {
                Some((body, wait)) => {
                    retry_after = wait;
                    Some(body)
                }
                None => None,
            };
            if let Some(s) = read? {
                current = s;
            }
            let done = match op.as_ref().and_then(|o| o["status"].as_str()) {
                Some(s) => !s.is_empty() && !stack_running(s),
                None => !stack_running(current["properties"]["provisioningState"].as_str().unwrap_or_default()),
            };
            if !done {
                // After the operation's answer, so that the lists show at least what it said.
                self.report_operations(run, stack, &mut lists).await;
                continue;
            }
            return Ok(Followed { op, current, lists, operation: operation.is_some() });
        }
    }

    /// Once the operation is done: the stack as it ended (read once; without an operation the
    /// last poll read it) and the operations' last states, side by side. Returns the operation's
    /// last answer and the stack as it settled.
    pub(crate) async fn settle_stack(
        &self,
        run: &Run,
        stack: &StackSpec,
        followed: Followed,
    ) -> Result<(Option<Value>, Value), CloudError> {
        let Followed { op, mut current, mut lists, operation } = followed;
        if operation {
            let (read, ()) = futures::join!(
                self.read_stack(&run.notes, &stack.name),
                self.report_operations(run, stack, &mut lists)
            );
            if let Some(s) = read? {
                current = s;
            }
        }
        if lists.active.is_empty() {
            if let Some(dep) = current["properties"]["deploymentId"].as_str() {
                lists.add(dep, 0);
                self.report_operations(run, stack, &mut lists).await;
            }
        }
        Ok((op, current))
    }

    /// #15 for every deployment still followed, side by side; a nested deployment seen for the
    /// first time is listed right away. One event per new operation state.
    async fn report_operations(&self, run: &Run, stack: &StackSpec, lists: &mut Lists) {
        let last: BTreeSet<String> = std::mem::take(&mut lists.finishing);
        let mut todo: Vec<(String, usize)> = lists.active.clone();
        let mut seen_done: BTreeSet<String> = BTreeSet::new();
        while !todo.is_empty() {
            let answers = join_all(todo.iter().map(|(dep, _)| async move {
                let req = ApiRequest::arm(Method::Get, format!("{dep}/operations"), API_RESOURCES);
                self.list_all(&run.notes, &format!("list the operations of {dep}"), req).await
            }))
            .await;
            let mut next = Vec::new();
            for ((dep, depth), answer) in todo.iter().zip(answers) {
                let ops = match answer {
                    Ok(ops) => ops,
                    // ARM makes a deployment a moment after naming it; the stack's own state
                    // still says how the deployment goes, so a list that cannot be read is only
                    // noted.
                    Err(e) => {
                        if *depth > 0 && run.first_unlisted(dep) {
                            run.notes
                                .log(format!("the operations of {dep} cannot be listed yet ({e}); following the stack"))
                                .await;
                        }
                        continue;
                    }
                };
                for op in &ops {
                    self.report_one(run, stack, op).await;
                    let target = &op["properties"]["targetResource"];
                    let type_ = target["resourceType"].as_str().unwrap_or_default();
                    if !type_.eq_ignore_ascii_case(TYPE_DEPLOYMENT) || *depth >= MAX_NESTING {
                        continue;
                    }
                    let Some(id) = target["id"].as_str() else { continue };
                    let fresh = lists.add(id, depth + 1);
                    if fresh {
                        next.push((id.to_string(), depth + 1));
                    }
                    let state = op["properties"]["provisioningState"].as_str().unwrap_or_default();
                    if !stack_running(state) && !last.contains(id) {
                        // Seen for the first time already finished: the listing right below
                        // shows its last states, and it is not listed again.
                        if fresh {
                            seen_done.insert(id.to_string());
                        } else {
                            lists.finishing.insert(id.to_string());
                        }
                    }
                }
            }
            todo = next;
        }
        // Listed once more after their parent said they finished: not again.
        lists.active.retain(|(d, _)| !last.contains(d) && !seen_done.contains(d));
        lists.done.extend(last.iter().chain(&seen_done).map(|d| d.to_ascii_lowercase()));
    }

    async fn report_one(&self, run: &Run, stack: &StackSpec, op: &Value) {
        let p = &op["properties"];
        let target = &p["targetResource"];
        let type_ = target["resourceType"].as_str().unwrap_or_default().to_string();
        let name = target["resourceName"].as_str().unwrap_or_default().to_string();
        let key = op["id"].as_str().or_else(|| op["operationId"].as_str()).unwrap_or_default().to_string();
        let Some(status) = operation_status(op, run.rerun) else { return };
        if !run.is_new(&key, status) {
            return;
        }
        let logical = target["id"]
            .as_str()
            .and_then(|id| stack.logical_id_of(id))
            .or_else(|| stack.logical_id(&type_, &name))
            .map_or_else(|| name.clone(), String::from);
        let code = p["statusCode"].as_str().unwrap_or_default();
        let reason = if status.is_failure() {
            let e = AzureError::from_error(0, &p["statusMessage"]["error"]);
            let summary = e.summary();
            run.failed(logical.clone(), type_.clone(), e);
            format!("{code}: {summary}")
        } else if status.is_in_progress() {
            format!("{} {type_} {name}", p["provisioningOperation"].as_str().unwrap_or("Create"))
        } else if code.is_empty() {
            "done".to_string()
        } else {
            format!("done ({code})")
        };
        let physical = target["id"].as_str().map(String::from);
        run.event(&stack.name, &logical, &type_, status, Some(reason), physical).await;
    }

    /// Why a stack failed: the deepest failed resource operation, else the stack's error, else
    /// the async operation's; named by logical id, with the fix for its code.
    pub(crate) fn root_cause(
        &self,
        run: &Run,
        stack: &StackSpec,
        settled: &Value,
        op: Option<&Value>,
        step: &Step,
    ) -> CloudError {
        let failures = run.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let resource = failures
            .iter()
            .rev()
            .find(|(_, t, _)| !t.eq_ignore_ascii_case(TYPE_DEPLOYMENT))
            .or_else(|| failures.last());
        let state = settled["properties"]["provisioningState"].as_str().unwrap_or("Failed");
        if let Some((logical, type_, e)) = resource {
            let at = Step {
                what: format!("deployment stack {} ({state}): {logical} ({type_})", stack.name),
                call: step.call.clone(),
            };
            return super::errors::azure_error(&at, e, self.sub());
        }
        let error = [&settled["properties"]["error"], op.map_or(&Value::Null, |o| &o["error"])]
            .into_iter()
            .find(|e| e.is_object())
            .cloned();
        match error {
            Some(e) => {
                let at = Step { what: format!("deployment stack {} ({state})", stack.name), call: step.call.clone() };
                super::errors::azure_error(&at, &AzureError::from_error(0, &e), self.sub())
            }
            None => CloudError::failed(
                format!("deployment stack {} ended {state} without an error message", stack.name),
                format!("Look at the stack in the Azure portal (Deployment stacks) or `az stack sub show --name {}`, then run init again.", stack.name),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_wait_the_interval_or_a_longer_retry_after() {
        let interval = Duration::from_secs(2);
        assert_eq!(poll_wait(interval, None), interval);
        // ARM's `Retry-After: 0` does not make polls spin; a longer one is honoured, capped.
        assert_eq!(poll_wait(interval, Some(Duration::ZERO)), interval);
        assert_eq!(poll_wait(interval, Some(Duration::from_secs(15))), Duration::from_secs(15));
        assert_eq!(poll_wait(interval, Some(Duration::from_secs(3600))), super::super::MAX_RETRY_AFTER);
    }
}
