//! Creating and updating the stacks: a change set per stack (CREATE for new, UPDATE for
//! existing; an empty one means "no changes"), falling back to CreateStack/UpdateStack when the
//! endpoint refuses change sets. VPC and S3 run in parallel; AUTH waits for both and gets their
//! outputs as parameters (never exports, which would block deleting in revoke's order).

mod keys;
mod preview;

pub(crate) use keys::KeySchedule;

use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetError;
use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter, Stack, Tag};
use chrono::Utc;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::poller::{self, Cursor, EventSource, PageError, RawEvent};
use super::standing::marks_of;
use super::{errors, Aws, Clients};
use crate::cloud::ownership::{self, new_install_id, Verdict};
use crate::cloud::CloudError;
use crate::model::{
    ChangeKind, Group, GroupChanges, Installation, ParameterSource, Plan, ResourceChange, Status, Update,
};

/// CloudFormation's events through the SDK.
pub struct CfnEvents<'a>(pub &'a aws_sdk_cloudformation::Client);

impl EventSource for CfnEvents<'_> {
    async fn page(&self, stack_id: &str, token: Option<String>) -> Result<(Vec<RawEvent>, Option<String>), PageError> {
        let out =
            self.0.describe_stack_events().stack_name(stack_id).set_next_token(token).send().await.map_err(|e| {
                use super::errors::AsSdkError;
                if errors::is_throttling(e.error_code().as_deref()) {
                    PageError::Throttled
                } else {
                    PageError::Failed(e.error_message())
                }
            })?;
        let events = out
            .stack_events()
            .iter()
            .map(|e| RawEvent {
                id: e.event_id().unwrap_or_default().to_string(),
                time: e.timestamp().map(to_chrono).unwrap_or_else(Utc::now),
                stack_name: e.stack_name().unwrap_or_default().to_string(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: e.resource_type().unwrap_or_default().to_string(),
                status: e.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                reason: e.resource_status_reason().map(String::from),
                physical_id: e.physical_resource_id().map(String::from),
            })
            .collect();
        Ok((events, out.next_token().map(String::from)))
    }
}

pub fn to_chrono(t: &aws_smithy_types::DateTime) -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_else(Utc::now)
}

/// A stack as found before applying.
pub(super) enum Existing {
    None,
    Settled(Box<Stack>),
    /// Left by an earlier failed create: delete, then create again.
    RolledBack(Box<Stack>),
}

fn stack_status(s: &Stack) -> Option<Status> {
    s.stack_status().and_then(|st| Status::parse(st.as_str()))
}

/// A fresh idempotency token for one mutation: the SDK's own retries resend it, so CloudFormation
/// answers a retried request with the first one's result instead of failing on its own work.
pub(super) fn token() -> String {
    format!("cloudgrant-{}", new_install_id())
}

/// Every tag of the plan is on the stack with its value (a stack from before install ids is not).
fn tags_recorded(s: &Stack, plan: &Plan) -> bool {
    plan.tags.iter().all(|(k, v)| s.tags().iter().any(|t| t.key() == Some(k.as_str()) && t.value() == Some(v.as_str())))
}

/// Outcome of one group's apply.
struct GroupResult {
    ok: bool,
    outputs: BTreeMap<String, String>,
    root_cause: Option<String>,
}

impl Aws {
    /// The stack called `name`, if any (a deleted stack does not resolve by name).
    pub(super) async fn find_stack(&self, c: &Clients, name: &str) -> Result<Option<Stack>, CloudError> {
        match c.cfn.describe_stacks().stack_name(name).send().await {
            Ok(out) => Ok(out.stacks().first().cloned()),
            Err(e) => {
                use super::errors::AsSdkError;
                if e.error_message().contains("does not exist") {
                    Ok(None)
                } else {
                    Err(self.err("cloudformation:DescribeStacks", e))
                }
            }
        }
    }

    /// The stack a group would be, judged by [`ownership::judge`] before anything is changed: only
    /// this install's own stack (its name and every mark, the install id included) is updated.
    async fn classify(&self, c: &Clients, g: &Group, plan: &Plan) -> Result<Existing, CloudError> {
        let org = &plan.org;
        let Some(stack) = self.find_stack(c, &g.name).await? else { return Ok(Existing::None) };
        let who = self.identity_for(org, ownership::install_id_of(plan).map(String::from));
        match ownership::judge(&who, &g.name, &marks_of(&stack)) {
            Verdict::NotThisInstall(why) => {
                return Err(CloudError::NotThisInstall(Box::new(self.stack_stranger(&g.name, &plan.region, why))))
            }
            Verdict::Foreign | Verdict::Unrelated => return Err(CloudError::NotOurs { name: g.name.clone() }),
            Verdict::Ours | Verdict::OursWithoutId => {}
        }
        match stack_status(&stack) {
            Some(st) if st.is_in_progress() => Err(CloudError::failed(
                format!("stack {} is still {st}", g.name),
                format!("Wait for it to settle (`cloudgrant status --org {org}`), then run again."),
            )),
            Some(Status::RollbackComplete | Status::RollbackFailed | Status::DeleteFailed) => {
                Ok(Existing::RolledBack(Box::new(stack)))
            }
            Some(Status::ReviewInProgress) => Ok(Existing::RolledBack(Box::new(stack))),
            _ => Ok(Existing::Settled(Box::new(stack))),
        }
    }

    fn parameters(&self, g: &Group, outputs: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Parameter> {
        g.parameters
            .iter()
            .map(|p| {
                let value = match &p.source {
                    ParameterSource::Output { output, .. } => {
                        let from = self
                            .inner
                            .blueprint
                            .stack(&g.key)
                            .and_then(|s| s.wiring.get(&p.name))
                            .map(|(k, _)| k.clone());
                        from.and_then(|k| outputs.get(&k))
                            .and_then(|o| o.get(output))
                            .cloned()
                            .unwrap_or_else(|| p.value.clone())
                    }
                    _ => p.value.clone(),
                };
                Parameter::builder().parameter_key(&p.name).parameter_value(value).build()
            })
            .collect()
    }

    /// CreateChangeSet (UPDATE) of group `g`'s template with `params` and the plan's tags, named
    /// `name`: the one way cloudgrant makes a change set, for the preview and the apply alike.
    /// The outer error is the template missing from the pack; the inner one CloudFormation's.
    async fn create_change_set(
        &self,
        c: &Clients,
        plan: &Plan,
        g: &Group,
        name: &str,
        params: Vec<Parameter>,
    ) -> Result<
        Result<
            (),
            aws_sdk_cloudformation::error::SdkError<CreateChangeSetError, aws_smithy_runtime_api::http::Response>,
        >,
        CloudError,
    > {
        let sent = c
            .cfn
            .create_change_set()
            .stack_name(&g.name)
            .change_set_name(name)
            .change_set_type(ChangeSetType::Update)
            .template_body(template_text(&self.inner.blueprint, g)?)
            .set_parameters(Some(params))
            .capabilities(Capability::CapabilityNamedIam)
            .set_tags(Some(tags(plan)))
            .client_token(token())
            .send()
            .await;
        Ok(sent.map(|_| ()))
    }

    /// Wait for a change set to be computed; returns its status, reason and changes.
    async fn wait_change_set(
        &self,
        c: &Clients,
        stack: &str,
        name: &str,
    ) -> Result<(Option<ChangeSetStatus>, Option<String>, Vec<ResourceChange>), CloudError> {
        let mut delay = Duration::from_millis(100);
        loop {
            let d = c
                .cfn
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(name)
                .send()
                .await
                .map_err(|e| self.err("cloudformation:DescribeChangeSet", e))?;
            let status = d.status().cloned();
            if matches!(status, Some(ChangeSetStatus::CreateComplete | ChangeSetStatus::Failed)) {
                let changes = d
                    .changes()
                    .iter()
                    .filter_map(|ch| ch.resource_change())
                    .map(|rc| ResourceChange {
                        action: rc.action().map(|a| a.as_str().to_string()).unwrap_or_default(),
                        id: rc.logical_resource_id().unwrap_or_default().to_string(),
                        type_: rc.resource_type().unwrap_or_default().to_string(),
                        replacement: rc.replacement().map(|r| r.as_str().to_string()),
                    })
                    .collect();
                return Ok((status, d.status_reason().map(String::from), changes));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.inner.cadence.interval);
        }
    }

    pub async fn apply(
        &self,
        plan: &Plan,
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<Installation, CloudError> {
        let c = self.clients(&plan.region);
        if ownership::install_id_of(plan).is_none() {
            return Err(CloudError::failed(
                format!(
                    "this plan carries no {} tag, so what it creates could not be told apart from look-alikes",
                    ownership::MARK_INSTALL_ID
                ),
                "Build the plan for this account (`cloudgrant init` does) and apply that.",
            ));
        }
        // Refuse before changing anything: stacks that are not this install's, stacks that are
        // busy, and a kept bucket a new stack would collide with.
        // The stacks are read side by side, then the kept buckets new stacks would meet.
        let classified = futures::future::join_all(plan.groups.iter().map(|g| self.classify(&c, g, plan))).await;
        let mut existing = BTreeMap::new();
        for (g, found) in plan.groups.iter().zip(classified) {
            existing.insert(g.key.clone(), found?);
        }
        let fresh = plan.groups.iter().filter(|g| matches!(existing.get(&g.key), Some(Existing::None)));
        for refused in futures::future::join_all(fresh.map(|g| self.refuse_kept_data(&c, plan, g))).await {
            refused?;
        }
        let mut outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut done: BTreeMap<String, bool> = BTreeMap::new();
        let mut root_cause = None;
        // Waves: every group whose dependencies are done runs now, in parallel.
        while done.len() < plan.groups.len() {
            let ready: Vec<&Group> = plan
                .groups
                .iter()
                .filter(|g| !done.contains_key(&g.key) && g.depends_on.iter().all(|d| done.contains_key(d)))
                .collect();
            if ready.is_empty() {
                break;
            }
            let mut runs = Vec::new();
            for g in ready {
                if let Some(dep) = g.depends_on.iter().find(|d| done.get(*d) == Some(&false)) {
                    let dep_name = plan.group(dep).map(|x| x.name.clone()).unwrap_or_else(|| dep.clone());
                    let _ = tx
                        .send(Update::Log {
                            text: format!("{}: not started, because {dep_name} did not complete", g.name),
                        })
                        .await;
                    done.insert(g.key.clone(), false);
                    continue;
                }
                let params = self.parameters(g, &outputs);
                let ex = existing.remove(&g.key).unwrap_or(Existing::None);
                runs.push(async { (g.key.clone(), self.apply_group(&c, plan, g, params, ex, &tx, &cancel).await) });
            }
            for (key, result) in futures::future::join_all(runs).await {
                let r = result?;
                if root_cause.is_none() {
                    root_cause = r.root_cause;
                }
                done.insert(key.clone(), r.ok);
                outputs.insert(key, r.outputs);
            }
            if cancel.is_cancelled() {
                return Err(CloudError::Cancelled);
            }
        }
        let installation =
            self.discover_in(&plan.region, Some(&plan.org)).await?.into_iter().next().ok_or_else(|| {
                CloudError::failed(
                    "the install is not found after applying",
                    "Run `cloudgrant status` to see what exists.",
                )
            })?;
        let ok = root_cause.is_none() && installation.is_complete();
        let _ = tx.send(Update::Applied { installation: installation.clone(), ok, root_cause }).await;
        Ok(installation)
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_group(
        &self,
        c: &Clients,
        plan: &Plan,
        g: &Group,
        params: Vec<Parameter>,
        existing: Existing,
        tx: &mpsc::Sender<Update>,
        cancel: &CancellationToken,
    ) -> Result<GroupResult, CloudError> {
        let log = |text: String| async move {
            let _ = tx.send(Update::Log { text }).await;
        };
        let mut update_of: Option<Box<Stack>> = None;
        match existing {
            Existing::RolledBack(stack) => {
                let status = stack.stack_status().map(|s| s.as_str().to_string()).unwrap_or_default();
                log(format!(
                    "{}: left in {status} by an earlier attempt; deleting it before creating it again",
                    g.name
                ))
                .await;
                let id = stack.stack_id().unwrap_or(&g.name).to_string();
                let cursor = self.cursor_now(c, &id).await;
                c.cfn
                    .delete_stack()
                    .stack_name(&id)
                    .client_request_token(token())
                    .send()
                    .await
                    .map_err(|e| self.err("cloudformation:DeleteStack", e))?;
                let f = poller::follow(&CfnEvents(&c.cfn), &id, &g.name, cursor, self.inner.cadence, tx, cancel)
                    .await
                    .map_err(|e| follow_error(e, &g.name, &plan.region))?;
                if cancel.is_cancelled() {
                    return Err(CloudError::Cancelled);
                }
                if f.status != Some(Status::DeleteComplete) {
                    return Ok(GroupResult {
                        ok: false,
                        outputs: BTreeMap::new(),
                        root_cause: f.root_cause.or(Some(format!("{} could not be deleted", g.name))),
                    });
                }
            }
            Existing::Settled(stack) => update_of = Some(stack),
            Existing::None => {}
        }
        // Values from other stacks must be real by now: never deploy a placeholder.
        if let Some(p) =
            params.iter().find(|p| p.parameter_value().is_some_and(|v| v.starts_with('<') && v.ends_with('>')))
        {
            return Err(CloudError::failed(
                format!(
                    "{}: parameter {} has no value yet ({})",
                    g.name,
                    p.parameter_key().unwrap_or_default(),
                    p.parameter_value().unwrap_or_default()
                ),
                "The stack it comes from has no such output; run `cloudgrant status` and check that stack.",
            ));
        }
        // A new stack is created directly: its preview is the plan itself, every resource an add.
        // An existing one goes through a change set, so its update is what was previewed.
        let (stack_id, cursor) = match update_of.as_deref() {
            None => self.without_change_set(c, plan, g, params, None, tx).await?,
            Some(stack) => self.update_with_change_set(c, plan, g, params, stack, tx).await?,
        };
        if stack_id.is_empty() {
            log(format!("{}: no changes; nothing to do", g.name)).await;
            let outputs = update_of.as_deref().map(stack_outputs).unwrap_or_default();
            return Ok(GroupResult { ok: true, outputs, root_cause: None });
        }
        let f = poller::follow(&CfnEvents(&c.cfn), &stack_id, &g.name, cursor, self.inner.cadence, tx, cancel)
            .await
            .map_err(|e| follow_error(e, &g.name, &plan.region))?;
        if cancel.is_cancelled() {
            return Err(CloudError::Cancelled);
        }
        if f.status == Some(Status::RollbackComplete) {
            self.schedule_retained_keys(c, &stack_id, "left by the rollback", tx).await;
        }
        let ok = matches!(f.status, Some(Status::CreateComplete | Status::UpdateComplete));
        // The outputs feed the stacks that depend on this one; with none, the install's read-back
        // after the last wave reads the stack anyway.
        let needed = plan.groups.iter().any(|o| o.depends_on.contains(&g.key));
        let outputs = match ok && needed {
            true => self.find_stack(c, &stack_id).await?.map(|s| stack_outputs(&s)).unwrap_or_default(),
            false => BTreeMap::new(),
        };
        Ok(GroupResult {
            ok,
            outputs,
            root_cause: if ok { None } else { f.root_cause.or(Some(format!("{} did not complete", g.name))) },
        })
    }

    /// UPDATE change set, executed; falls back to UpdateStack when change sets are refused.
    /// An empty id means there was nothing to change.
    async fn update_with_change_set(
        &self,
        c: &Clients,
        plan: &Plan,
        g: &Group,
        params: Vec<Parameter>,
        stack: &Stack,
        tx: &mpsc::Sender<Update>,
    ) -> Result<(String, Cursor), CloudError> {
        let stack_id = stack.stack_id().unwrap_or(&g.name).to_string();
        let change_set = format!("cloudgrant-{}", Utc::now().timestamp_millis());
        let created = self.create_change_set(c, plan, g, &change_set, params.clone()).await?;
        if let Err(e) = created {
            use super::errors::AsSdkError;
            if e.error_code().as_deref().is_some_and(|c| c.contains("AccessDenied")) {
                return Err(self.err("cloudformation:CreateChangeSet", e));
            }
            if no_changes_reason(&e.error_message()) {
                return self.record_install_id(c, plan, g, params, stack, tx).await;
            }
            let text = format!(
                "{}: the endpoint refused a change set ({}); using UpdateStack instead",
                g.name,
                e.error_message()
            );
            let _ = tx.send(Update::Log { text }).await;
            return self.without_change_set(c, plan, g, params, Some(stack), tx).await;
        }
        let (status, reason, changes) = self.wait_change_set(c, &g.name, &change_set).await?;
        let empty = status == Some(ChangeSetStatus::CreateComplete) && changes.is_empty();
        if status == Some(ChangeSetStatus::Failed) || empty {
            let _ = c.cfn.delete_change_set().stack_name(&g.name).change_set_name(&change_set).send().await;
            if empty || reason.as_deref().is_some_and(no_changes_reason) {
                return self.record_install_id(c, plan, g, params, stack, tx).await;
            }
            let reason = reason.unwrap_or_else(|| "the change set failed".into());
            return Err(CloudError::failed(
                format!("{}: {reason}", g.name),
                "Fix the cause named by CloudFormation and run again.",
            ));
        }
        let cursor = self.cursor_now(c, &stack_id).await;
        c.cfn
            .execute_change_set()
            .stack_name(&g.name)
            .change_set_name(&change_set)
            .client_request_token(token())
            .send()
            .await
            .map_err(|e| self.err("cloudformation:ExecuteChangeSet", e))?;
        Ok((stack_id, cursor))
    }

    /// Nothing to change but a stack from before install ids: UpdateStack with the same template
    /// and parameters records the id on it. An empty id means there was nothing to do.
    async fn record_install_id(
        &self,
        c: &Clients,
        plan: &Plan,
        g: &Group,
        params: Vec<Parameter>,
        stack: &Stack,
        tx: &mpsc::Sender<Update>,
    ) -> Result<(String, Cursor), CloudError> {
        if tags_recorded(stack, plan) {
            return Ok((String::new(), Cursor::default()));
        }
        let id = ownership::install_id_of(plan).unwrap_or("?");
        let text =
            format!("{}: recording {}={id} on the stack (made before install ids)", g.name, ownership::MARK_INSTALL_ID);
        let _ = tx.send(Update::Log { text }).await;
        self.without_change_set(c, plan, g, params, Some(stack), tx).await
    }

    /// CreateStack / UpdateStack, for endpoints without change sets. An empty id means no changes.
    async fn without_change_set(
        &self,
        c: &Clients,
        plan: &Plan,
        g: &Group,
        params: Vec<Parameter>,
        update_of: Option<&Stack>,
        tx: &mpsc::Sender<Update>,
    ) -> Result<(String, Cursor), CloudError> {
        let body = template_text(&self.inner.blueprint, g)?;
        match update_of {
            None => {
                let sent = c
                    .cfn
                    .create_stack()
                    .stack_name(&g.name)
                    .template_body(body)
                    .set_parameters(Some(params))
                    .capabilities(Capability::CapabilityNamedIam)
                    .set_tags(Some(tags(plan)))
                    .client_request_token(token())
                    .send()
                    .await;
                match sent {
                    Ok(out) => Ok((out.stack_id().unwrap_or(&g.name).to_string(), Cursor::default())),
                    Err(e) => {
                        use super::errors::AsSdkError;
                        // The stack was absent a moment ago. AlreadyExists now, on a stack that
                        // carries this plan's install id, is this very request whose reply was
                        // lost and that the SDK sent again (an endpoint that ignores the token).
                        if e.error_code().as_deref() == Some("AlreadyExistsException") {
                            if let Some(stack) = self.find_stack(c, &g.name).await? {
                                let who =
                                    self.identity_for(&plan.org, ownership::install_id_of(plan).map(String::from));
                                if ownership::judge(&who, &g.name, &marks_of(&stack)) == Verdict::Ours {
                                    let _ = tx.send(Update::Log { text: format!("{}: CreateStack answered AlreadyExists for the stack this run is creating (its first reply was lost and the request was sent again); following it", g.name) }).await;
                                    return Ok((stack.stack_id().unwrap_or(&g.name).to_string(), Cursor::default()));
                                }
                            }
                        }
                        Err(self.err("cloudformation:CreateStack", e))
                    }
                }
            }
            Some(stack) => {
                let id = stack.stack_id().unwrap_or(&g.name).to_string();
                let cursor = self.cursor_now(c, &id).await;
                let sent = c
                    .cfn
                    .update_stack()
                    .stack_name(&id)
                    .template_body(body)
                    .set_parameters(Some(params))
                    .capabilities(Capability::CapabilityNamedIam)
                    .set_tags(Some(tags(plan)))
                    .client_request_token(token())
                    .send()
                    .await;
                match sent {
                    Ok(_) => Ok((id, cursor)),
                    Err(e) => {
                        use super::errors::AsSdkError;
                        if no_changes_reason(&e.error_message()) {
                            Ok((String::new(), cursor))
                        } else {
                            Err(self.err("cloudformation:UpdateStack", e))
                        }
                    }
                }
            }
        }
    }

    /// A cursor after the newest event the stack has now, so only the coming operation is shown.
    pub(super) async fn cursor_now(&self, c: &Clients, stack_id: &str) -> Cursor {
        match CfnEvents(&c.cfn).page(stack_id, None).await {
            Ok((events, _)) => Cursor::new(events.first().map(|e| e.id.clone()), None),
            Err(_) => Cursor::new(None, Some(Utc::now())),
        }
    }
}

/// The pack's template text a group is deployed from.
pub(super) fn template_text(blueprint: &crate::plan::aws::Blueprint, g: &Group) -> Result<String, CloudError> {
    blueprint.template_text(&g.template).map(str::to_string).ok_or_else(|| {
        CloudError::failed(format!("template {} is not in the vendor pack", g.template), "Report this as a bug.")
    })
}

fn tags(plan: &Plan) -> Vec<Tag> {
    plan.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

pub(super) fn stack_outputs(s: &Stack) -> BTreeMap<String, String> {
    s.outputs().iter().filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string()))).collect()
}

/// CloudFormation's ways of saying a change set or update would change nothing.
fn no_changes_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes")
        || reason.contains("No updates are to be performed")
        || reason.contains("No changes")
}

/// Why following `stack` stopped, with how to look at it.
pub(super) fn follow_error(e: PageError, stack: &str, region: &str) -> CloudError {
    match e {
        PageError::Throttled => CloudError::failed(
            "CloudFormation kept throttling the event reads",
            "Wait a minute and run `cloudgrant status`.",
        ),
        PageError::Failed(m) => CloudError::failed(
            format!("cloudformation:DescribeStackEvents on {stack}: {m}"),
            "Run `cloudgrant status` to see where the stacks stand.",
        ),
        PageError::Deadline(status) => crate::cloud::common::deadline_passed(
            &format!("stack {stack}"),
            status.map_or("running", Status::as_str),
            &format!("aws cloudformation describe-stacks --stack-name {stack} --region {region}"),
        ),
    }
}
