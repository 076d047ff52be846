//! Finding installs in the account (by tags, not local files), the per-resource preflight, the
//! ordered delete (AUTH first: the vendor's access ends first), and the checks afterwards.

mod verify;

use aws_sdk_ec2::types::Filter;
use chrono::Utc;
use std::collections::BTreeMap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::deploy::{stack_outputs, to_chrono, token, KeySchedule};
use super::errors::AsSdkError;
use super::poller;
use super::standing::{marks_of, TYPE_KEY};
use super::{deploy::CfnEvents, Aws, Clients};
use crate::cloud::ownership::{self, Verdict};
use crate::cloud::{common, CloudError};
use crate::model::{
    Check, Installation, InstalledGroup, InstalledResource, Residue, ResidueItem, RevokeGroup, RevokeItem,
    RevokeOutcome, RevokePlan, Status, Update,
};

impl Aws {
    pub async fn discover(&self, org: Option<&str>) -> Result<Vec<Installation>, CloudError> {
        self.discover_in(&self.inner.region.clone(), org).await
    }

    /// This vendor's installs in `region`: the stacks [`ownership::judge`] finds to be each org's
    /// install (name and every mark), with the stacks that only look like it reported beside it.
    /// With `org`, an install whose stacks are all gone is still returned when something of it
    /// remains (a kept bucket, a key pending deletion) or a stranger carries its marks.
    pub async fn discover_in(&self, region: &str, org: Option<&str>) -> Result<Vec<Installation>, CloudError> {
        let c = self.clients(region);
        let vendor_id = self.inner.vendor.vendor.id.clone();
        let mut stacks = Vec::new();
        let mut token = None;
        loop {
            let out = c
                .cfn
                .describe_stacks()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.err("cloudformation:DescribeStacks", e))?;
            stacks.extend(out.stacks().iter().cloned());
            match out.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        let orgs = match org {
            Some(o) => [o.to_string()].into_iter().collect(),
            None => self.orgs_in(&stacks),
        };
        let mut out: Vec<Installation> = Vec::new();
        for stack_org in orgs {
            let sorted = self.sort_stacks(&stack_org, region, &stacks);
            if sorted.ours.is_empty() && org.is_none() {
                continue;
            }
            let mut inst = Installation {
                cloud: crate::model::Cloud::Aws,
                vendor_id: vendor_id.clone(),
                org: stack_org.clone(),
                account: self.inner.identity.account.clone(),
                region: region.to_string(),
                created: None,
                groups: Vec::new(),
                outputs: BTreeMap::new(),
                install_id: sorted.who.install_id.clone(),
                health: Default::default(),
                leftovers: Vec::new(),
                strangers: sorted.strangers.clone(),
            };
            // Every stack's resources side by side.
            let listed = futures::future::join_all(sorted.ours.iter().map(|s| {
                let id = s.stack_id().or(s.stack_name()).unwrap_or_default().to_string();
                let cfn = c.cfn.clone();
                async move { cfn.describe_stack_resources().stack_name(id).send().await }
            }))
            .await;
            for (s, listed) in sorted.ours.iter().zip(listed) {
                let Some(status) = s.stack_status().and_then(|st| Status::parse(st.as_str())) else { continue };
                let name = s.stack_name().unwrap_or_default().to_string();
                let id = s.stack_id().unwrap_or(&name).to_string();
                let resources = listed
                    .map_err(|e| self.err("cloudformation:DescribeStackResources", e))?
                    .stack_resources()
                    .iter()
                    .map(|r| InstalledResource {
                        id: r.logical_resource_id().unwrap_or_default().to_string(),
                        type_: r.resource_type().unwrap_or_default().to_string(),
                        physical_id: r.physical_resource_id().map(String::from),
                        status: r.resource_status().and_then(|st| Status::parse(st.as_str())).unwrap_or(status),
                    })
                    .collect();
                let settled =
                    matches!(status, Status::CreateComplete | Status::UpdateComplete | Status::UpdateRollbackComplete);
                let group = InstalledGroup {
                    key: name.strip_prefix(&format!("{vendor_id}-{stack_org}-")).unwrap_or(&name).to_string(),
                    name,
                    id,
                    status,
                    status_reason: s.stack_status_reason().map(String::from),
                    resources,
                    outputs: if settled { stack_outputs(s) } else { BTreeMap::new() },
                    parameters: s
                        .parameters()
                        .iter()
                        .filter_map(|p| Some((p.parameter_key()?.to_string(), p.parameter_value()?.to_string())))
                        .collect(),
                };
                let created = s.creation_time().map(to_chrono);
                inst.created = match (inst.created, created) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                inst.outputs.extend(group.outputs.clone());
                inst.groups.push(group);
            }
            let order = |k: &str| self.inner.blueprint.stacks.iter().position(|s| s.key == k).unwrap_or(usize::MAX);
            inst.groups.sort_by_key(|g| order(&g.key));
            self.assess(&c, &sorted.who, &sorted.ours, &mut inst).await?;
            if inst.groups.is_empty() && inst.leftovers.is_empty() && inst.strangers.is_empty() {
                continue;
            }
            out.push(inst);
        }
        Ok(out)
    }

    /// Objects and bytes in a bucket (ListObjectsV2, all pages).
    async fn bucket_usage(&self, c: &Clients, bucket: &str) -> Result<(u64, u64), CloudError> {
        let (mut objects, mut bytes) = (0u64, 0u64);
        let mut token = None;
        loop {
            let out =
                c.s3.list_objects_v2()
                    .bucket(bucket)
                    .set_continuation_token(token)
                    .send()
                    .await
                    .map_err(|e| self.err("s3:ListBucket", e))?;
            for o in out.contents() {
                objects += 1;
                bytes += o.size().unwrap_or(0).max(0) as u64;
            }
            match out.next_continuation_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        Ok((objects, bytes))
    }

    /// Instances still in a VPC (they block deleting it).
    async fn instances_in(&self, c: &Clients, vpc: &str) -> Result<Vec<String>, CloudError> {
        let out = c
            .ec2
            .describe_instances()
            .filters(Filter::builder().name("vpc-id").values(vpc).build())
            .filters(
                Filter::builder()
                    .name("instance-state-name")
                    .values("pending")
                    .values("running")
                    .values("stopping")
                    .values("stopped")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.err("ec2:DescribeInstances", e))?;
        Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter_map(|i| i.instance_id().map(String::from))
            .collect())
    }

    pub async fn revoke_plan(&self, installation: &Installation) -> Result<RevokePlan, CloudError> {
        let c = self.clients(&installation.region);
        let today = Utc::now().date_naive();
        let mut groups = Vec::new();
        let mut warnings: Vec<String> = installation.strangers.iter().map(|s| s.line()).collect();
        if installation.groups.is_empty() {
            return Err(common::nothing_to_revoke(installation));
        }
        for g in common::revoke_order(installation, &self.inner.blueprint) {
            if g.status.is_in_progress() {
                return Err(CloudError::failed(
                    format!("stack {} is still {}", g.name, g.status),
                    format!("Wait for it to settle (`cloudgrant status --org {}`), then revoke.", installation.org),
                ));
            }
            let spec = self.inner.blueprint.stack(&g.key);
            let mut items = Vec::new();
            for r in &g.resources {
                if matches!(r.status, Status::DeleteComplete | Status::DeleteSkipped) {
                    continue;
                }
                let physical = r.physical_id.clone().unwrap_or_default();
                let retained = spec
                    .and_then(|s| s.template.resource(&r.id))
                    .is_some_and(|t| t.deletion_policy.as_deref() == Some("Retain"));
                let outcome = match r.type_.as_str() {
                    "AWS::KMS::Key" => {
                        let meta = c
                            .kms
                            .describe_key()
                            .key_id(&physical)
                            .send()
                            .await
                            .ok()
                            .and_then(|d| d.key_metadata().cloned());
                        let days = self.key_window_days();
                        let date = match meta.as_ref().and_then(|m| m.deletion_date()) {
                            Some(d) => to_chrono(d).date_naive(),
                            None => today + chrono::Duration::days(i64::from(days)),
                        };
                        let (outcome, warning) = common::scheduled_key(&physical, date, days);
                        warnings.push(warning);
                        outcome
                    }
                    "AWS::S3::Bucket" => {
                        let (objects, bytes) = self.bucket_usage(&c, &physical).await?;
                        if retained {
                            let (outcome, warning) = common::kept_bucket(&physical, objects, bytes);
                            warnings.push(warning);
                            outcome
                        } else if objects > 0 {
                            RevokeOutcome::WillFail {
                                reason: format!("bucket {physical} holds {objects} objects and is not retained"),
                                fix: format!(
                                    "Copy what you need, then empty it: aws s3 rm s3://{physical} --recursive"
                                ),
                            }
                        } else {
                            RevokeOutcome::Deleted
                        }
                    }
                    "AWS::EC2::VPC" => {
                        let running = self.instances_in(&c, &physical).await?;
                        if running.is_empty() {
                            RevokeOutcome::Deleted
                        } else {
                            RevokeOutcome::WillFail {
                                reason: format!("{} instance(s) are still in VPC {physical}: {}", running.len(), running.join(", ")),
                                fix: format!("Ask the vendor to stop its work, then terminate them: aws ec2 terminate-instances --instance-ids {}", running.join(" ")),
                            }
                        }
                    }
                    _ if retained => RevokeOutcome::Kept { reason: "DeletionPolicy: Retain".into() },
                    _ => RevokeOutcome::Deleted,
                };
                items.push(RevokeItem {
                    id: r.id.clone(),
                    type_: r.type_.clone(),
                    physical_id: r.physical_id.clone(),
                    outcome,
                });
            }
            groups.push(RevokeGroup { key: g.key.clone(), name: g.name.clone(), id: g.id.clone(), resources: items });
        }
        // What earlier attempts left, each with its fate: a key already pending deletion keeps its
        // date; any other key is scheduled once the stacks are gone; a kept bucket stays.
        let in_plan = |id: &str| {
            groups.iter().flat_map(|g: &RevokeGroup| g.resources.iter()).any(|i| i.physical_id.as_deref() == Some(id))
        };
        let mut leftovers = Vec::new();
        for l in installation.leftovers.iter().filter(|l| !in_plan(&l.physical_id)) {
            let days = self.key_window_days();
            let outcome = match (l.type_.as_str(), l.state.as_str()) {
                (TYPE_KEY, "pending_deletion") => RevokeOutcome::ScheduledDeletion {
                    date: l.date.unwrap_or(today),
                    days,
                    way_back: format!("aws kms cancel-key-deletion --key-id {}", l.physical_id),
                },
                (TYPE_KEY, _) => {
                    common::scheduled_key(&l.physical_id, today + chrono::Duration::days(i64::from(days)), days).0
                }
                _ => RevokeOutcome::Kept { reason: l.origin.clone() },
            };
            let fate = crate::model::Fate::of_outcome(&outcome, &l.type_);
            warnings.push(format!("Left by an earlier attempt, {}: {}; {}", l.origin, fate.phrase(), outcome.reason()));
            leftovers.push(RevokeItem {
                id: format!("{} ({})", l.type_.rsplit("::").next().unwrap_or("leftover"), l.origin),
                type_: l.type_.clone(),
                physical_id: Some(l.physical_id.clone()),
                outcome,
            });
        }
        Ok(RevokePlan { installation: installation.clone(), groups, warnings, leftovers })
    }

    pub async fn revoke(
        &self,
        plan: &RevokePlan,
        retain: &[String],
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<Residue, CloudError> {
        let c = self.clients(&plan.installation.region);
        let log = |text: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(Update::Log { text }).await;
            }
        };
        let inst = &plan.installation;
        let who = self.identity_for(&inst.org, inst.install_id.clone());
        let mut root_cause: Option<String> = None;
        let mut failed: Vec<ResidueItem> = Vec::new();
        let mut scheduled: BTreeMap<String, KeySchedule> = BTreeMap::new();
        // Waves: a stack is deleted once every stack that depends on it is gone (AUTH first: the
        // vendor's access ends first); the stacks of one wave (VPC and S3) side by side.
        let deps = |k: &str| self.inner.blueprint.stack(k).map(|s| s.depends_on.clone()).unwrap_or_default();
        // Every stack read again (is it still this install's?) and its newest event, side by side
        // and before the first deletion: reads only, so the vendor's access still goes first, and
        // a later wave does not wait a round trip for its own reads.
        let reads = futures::future::join_all(plan.groups.iter().map(|g| async {
            let (found, cursor) = futures::future::join(self.find_stack(&c, &g.id), self.cursor_now(&c, &g.id)).await;
            (g.key.clone(), found.map(|f| (f, cursor)))
        }))
        .await;
        let mut fresh: BTreeMap<
            String,
            Result<(Option<aws_sdk_cloudformation::types::Stack>, poller::Cursor), CloudError>,
        > = reads.into_iter().collect();
        let mut left: Vec<&RevokeGroup> = plan.groups.iter().collect();
        while !left.is_empty() {
            if root_cause.is_some() {
                for g in &left {
                    log(format!(
                        "{}: not deleted, because an earlier stack failed to delete; fix that and revoke again",
                        g.name
                    ))
                    .await;
                }
                break;
            }
            let blocked = |g: &RevokeGroup| left.iter().any(|o| o.key != g.key && deps(&o.key).contains(&g.key));
            let (wave, rest): (Vec<&RevokeGroup>, Vec<&RevokeGroup>) = left.iter().partition(|g| !blocked(g));
            // A cycle cannot come from the blueprint; should one appear, go in the plan's order.
            let (wave, rest) = if wave.is_empty() { (left[..1].to_vec(), left[1..].to_vec()) } else { (wave, rest) };
            left = rest;
            let outcomes = futures::future::join_all(
                wave.iter()
                    .map(|g| (g, fresh.remove(&g.key)))
                    .map(|(g, read)| self.delete_group(&c, plan, g, read, retain, &who, &tx, &cancel)),
            )
            .await;
            for outcome in outcomes {
                let o = outcome?;
                if root_cause.is_none() {
                    root_cause = o.root_cause;
                }
                failed.extend(o.failed);
                scheduled.extend(o.scheduled);
            }
        }
        // Keys earlier attempts left: scheduled once the install itself is gone (one of them may
        // be a restored key that still holds data).
        if root_cause.is_none() {
            for item in plan.leftovers.iter().filter(|i| i.type_ == TYPE_KEY && !retain.contains(&i.id)) {
                let Some(key) = item.physical_id.as_deref() else { continue };
                self.schedule_if_needed(&c, key, "left by an earlier attempt", &mut scheduled, &tx).await;
            }
        }
        let residue = self.verify(&c, plan, failed, &scheduled).await;
        let ok = root_cause.is_none() && residue.checks.iter().all(|c| c.ok);
        let _ = tx.send(Update::Revoked { residue: residue.clone(), ok, root_cause }).await;
        Ok(residue)
    }

    /// Delete one stack (asked again first whether it is still this install's), follow it, and
    /// schedule the keys it retained once it is gone.
    #[allow(clippy::too_many_arguments)]
    async fn delete_group(
        &self,
        c: &Clients,
        plan: &RevokePlan,
        g: &RevokeGroup,
        read: Option<Result<(Option<aws_sdk_cloudformation::types::Stack>, poller::Cursor), CloudError>>,
        retain: &[String],
        who: &ownership::InstallIdentity,
        tx: &mpsc::Sender<Update>,
        cancel: &CancellationToken,
    ) -> Result<GroupOutcome, CloudError> {
        let c = c.clone();
        let inst = &plan.installation;
        let log = |text: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(Update::Log { text }).await;
            }
        };
        let mut root_cause: Option<String> = None;
        let mut failed: Vec<ResidueItem> = Vec::new();
        let mut scheduled: BTreeMap<String, KeySchedule> = BTreeMap::new();
        let (current, cursor) = match read {
            Some(read) => read?,
            None => (self.find_stack(&c, &g.id).await?, self.cursor_now(&c, &g.id).await),
        };
        let Some(current) = current else {
            log(format!("{}: already gone", g.name)).await;
            self.schedule_group_keys(&c, g, retain, &mut scheduled, tx).await;
            return Ok(GroupOutcome { root_cause, failed, scheduled });
        };
        // Asked again right before deleting: the stack must still be this install's.
        if let Verdict::NotThisInstall(why) = ownership::judge(who, &g.name, &marks_of(&current)) {
            let why = why.join("; ");
            log(format!("{}: not deleted: it is no longer provably this install's ({why})", g.name)).await;
            root_cause = Some(format!("{} is no longer this install's ({why})", g.name));
            return Ok(GroupOutcome { root_cause, failed, scheduled });
        }
        let status = current.stack_status().map(|s| s.as_str().to_string()).unwrap_or_default();
        let retain_here: Vec<String> =
            g.resources.iter().filter(|r| retain.contains(&r.id)).map(|r| r.id.clone()).collect();
        let mut attempt = 0;
        let sent = loop {
            let mut req = c.cfn.delete_stack().stack_name(&g.id).client_request_token(token());
            // RetainResources is accepted only for a stack in DELETE_FAILED.
            if status == "DELETE_FAILED" && !retain_here.is_empty() {
                req = req.set_retain_resources(Some(retain_here.clone()));
            }
            match req.send().await {
                Err(e) if attempt < 3 && e.error_code().as_deref() == Some("DependencyViolation") => {
                    // AWS reports a blocked delete as DELETE_FAILED events; some endpoints answer
                    // at once instead, and succeed on a retry once dependents are gone.
                    attempt += 1;
                    log(format!(
                        "{}: DeleteStack answered DependencyViolation at once; retrying ({attempt}/3)",
                        g.name
                    ))
                    .await;
                    tokio::time::sleep(self.inner.cadence.interval * attempt).await;
                }
                other => break other,
            }
        };
        if let Err(e) = sent {
            let err = self.err("cloudformation:DeleteStack", e);
            log(format!("{}: {err}", g.name)).await;
            root_cause = Some(err.to_string());
            failed.push(ResidueItem {
                type_: "AWS::CloudFormation::Stack".into(),
                physical_id: g.id.clone(),
                state: "delete_failed".into(),
                note: err.to_string(),
            });
            return Ok(GroupOutcome { root_cause, failed, scheduled });
        }
        let f = match poller::follow(&CfnEvents(&c.cfn), &g.id, &g.name, cursor, self.inner.cadence, tx, cancel).await {
            Ok(f) => f,
            // AWS keeps a deleted stack readable by id for 90 days; an endpoint that forgets it
            // at once has deleted it.
            Err(poller::PageError::Failed(m)) if m.contains("does not exist") => {
                log(format!("{}: the stack no longer exists (its events cannot be read any more)", g.name)).await;
                poller::Followed { status: Some(Status::DeleteComplete), root_cause: None }
            }
            Err(e) => return Err(super::deploy::follow_error(e, &g.name, &inst.region)),
        };
        if cancel.is_cancelled() {
            return Err(CloudError::Cancelled);
        }
        if f.status == Some(Status::DeleteComplete) {
            // Only now that the stack and the access it grants are gone: a revoke that stops
            // before this point leaves a working install, never one with a doomed key.
            self.schedule_group_keys(&c, g, retain, &mut scheduled, tx).await;
        } else {
            root_cause = f.root_cause.or(Some(format!("{} did not delete", g.name)));
            if let Ok(out) = c.cfn.describe_stack_resources().stack_name(&g.id).send().await {
                for r in out
                    .stack_resources()
                    .iter()
                    .filter(|r| r.resource_status().map(|s| s.as_str()) == Some("DELETE_FAILED"))
                {
                    failed.push(ResidueItem {
                        type_: r.resource_type().unwrap_or_default().to_string(),
                        physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
                        state: "delete_failed".into(),
                        note: format!(
                            "{} in stack {}: {}",
                            r.logical_resource_id().unwrap_or_default(),
                            g.name,
                            r.resource_status_reason().unwrap_or_default()
                        ),
                    });
                }
            }
        }
        Ok(GroupOutcome { root_cause, failed, scheduled })
    }

    /// Schedule the deletion of the keys of a deleted group (CloudFormation retained them), unless
    /// asked to keep them.
    async fn schedule_group_keys(
        &self,
        c: &Clients,
        g: &RevokeGroup,
        retain: &[String],
        scheduled: &mut BTreeMap<String, KeySchedule>,
        tx: &mpsc::Sender<Update>,
    ) {
        for item in g.resources.iter().filter(|i| i.type_ == TYPE_KEY && !retain.contains(&i.id)) {
            let Some(key) = item.physical_id.as_deref() else { continue };
            self.schedule_if_needed(c, key, &format!("retained by {}", g.name), scheduled, tx).await;
        }
    }

    /// ScheduleKeyDeletion, unless a deletion is scheduled already; says which, with the date.
    async fn schedule_if_needed(
        &self,
        c: &Clients,
        key: &str,
        why: &str,
        scheduled: &mut BTreeMap<String, KeySchedule>,
        tx: &mpsc::Sender<Update>,
    ) {
        let text = match self.key_state(c, key).await {
            Some(k) if k.state == "PendingDeletion" => format!(
                "key {key} ({why}): deletion already scheduled for {}",
                k.date.map_or_else(|| "a date AWS did not give".into(), |d| d.to_string())
            ),
            None => format!("key {key} ({why}): no longer exists"),
            Some(_) => match self.schedule_key(c, key).await {
                Ok(k) => {
                    let text = format!("key {key} ({why}): deletion scheduled, AWS deletes it on {}", k.date);
                    scheduled.insert(key.to_string(), k);
                    text
                }
                Err(e) => format!("key {key} ({why}): could not schedule its deletion ({e}); run: aws kms schedule-key-deletion --key-id {key}"),
            },
        };
        let _ = tx.send(Update::Log { text }).await;
    }
}

/// How deleting one stack went.
struct GroupOutcome {
    root_cause: Option<String>,
    failed: Vec<ResidueItem>,
    scheduled: BTreeMap<String, KeySchedule>,
}

/// A key the revoke plan keeps (the user's retain list turns it into Kept).
fn retain_listed(plan: &RevokePlan, key: &str) -> bool {
    plan.items().any(|i| i.physical_id.as_deref() == Some(key) && matches!(i.outcome, RevokeOutcome::Kept { .. }))
}
