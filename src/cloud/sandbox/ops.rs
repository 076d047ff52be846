//! Apply and revoke on the sandbox. Each operation is worked out in full up front (the state
//! file then holds its whole timeline), saved, and streamed: events are sent as their time
//! comes. Leaving early (Ctrl-C) does not stop the "cloud", exactly like CloudFormation.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::sim::{self, Clock, Timeline};
use super::state::{AccountState, Leftover, Stack, StackResource};
use super::Sandbox;
use crate::cloud::{common, CloudError};
use crate::model::{
    ChangeKind, Check, GroupChanges, Installation, Plan, Residue, ResidueItem, ResourceChange, RevokeGroup, RevokeItem,
    RevokeOutcome, RevokePlan, Status, Update,
};
use crate::plan::aws::{known_ids, StackSpec};
use crate::plan::template::{scalar_string, Context, ResourceIds};

/// One thing to send, at its time.
type Scheduled = (DateTime<Utc>, Update);

/// A group once scheduled: when it settles, whether it succeeds, and its outputs.
type Finished = (DateTime<Utc>, bool, BTreeMap<String, String>);

fn log(t: DateTime<Utc>, text: impl Into<String>) -> Scheduled {
    (t, Update::Log { text: text.into() })
}

fn hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0')).collect()
}

fn uuid() -> String {
    format!("{}-{}-{}-{}-{}", hex(8), hex(4), hex(4), hex(4), hex(12))
}

/// A made-up physical id, shaped like AWS's for the type.
fn physical_id(type_: &str, stack: &str, id: &str) -> String {
    match type_ {
        "AWS::EC2::VPC" => format!("vpc-{}", hex(17)),
        "AWS::EC2::Subnet" => format!("subnet-{}", hex(17)),
        "AWS::EC2::InternetGateway" => format!("igw-{}", hex(17)),
        "AWS::EC2::RouteTable" => format!("rtb-{}", hex(17)),
        "AWS::EC2::SubnetRouteTableAssociation" => format!("rtbassoc-{}", hex(17)),
        "AWS::EC2::SecurityGroup" => format!("sg-{}", hex(17)),
        "AWS::EC2::SecurityGroupIngress" => format!("sgr-{}", hex(17)),
        "AWS::KMS::Key" => uuid(),
        _ => format!("{stack}-{id}-{}", hex(12).to_uppercase()),
    }
}

/// Render a stack's resources with real ids, reusing `existing` ids where the stack exists.
fn render(
    spec: &StackSpec,
    stack_name: &str,
    params: &BTreeMap<String, Value>,
    account: &str,
    region: &str,
    existing: Option<&Stack>,
) -> Result<(Vec<StackResource>, BTreeMap<String, String>), CloudError> {
    let file = &spec.template.file;
    let mut ctx = Context {
        params: params.clone(),
        account: Some(account.to_string()),
        region: region.to_string(),
        stack_name: stack_name.to_string(),
        resources: spec.template.resources.iter().map(|r| (r.id.clone(), ResourceIds::default())).collect(),
    };
    let mut out = Vec::new();
    let pending: Vec<_> = spec.template.resources.iter().collect();
    let mut done: Vec<String> = Vec::new();
    // Dependency order, so references resolve to real ids.
    while done.len() < pending.len() {
        let before = done.len();
        for r in &pending {
            if done.contains(&r.id) || !r.depends_on.iter().all(|d| done.contains(d)) {
                continue;
            }
            let props = ctx.resolve(&r.properties).map_err(|m| {
                CloudError::failed(format!("{file}: resource {}: {m}", r.id), "Report this as a bug in the template.")
            })?;
            let mut ids = known_ids(&r.type_, &props, account, region);
            let old = existing.and_then(|s| s.resources.iter().find(|x| x.id == r.id));
            let physical = match (old, ids.reference.clone()) {
                (Some(o), _) => o.physical_id.clone(),
                (None, Some(name)) => name,
                (None, None) => physical_id(&r.type_, stack_name, &r.id),
            };
            ids.reference = Some(physical.clone());
            if r.type_ == "AWS::KMS::Key" {
                ids.attrs.insert(
                    "Arn".into(),
                    format!("arn:{}:kms:{region}:{account}:key/{physical}", crate::plan::template::partition(region)),
                );
                ids.attrs.insert("KeyId".into(), physical.clone());
            }
            ctx.resources.insert(r.id.clone(), ids.clone());
            out.push(StackResource {
                id: r.id.clone(),
                type_: r.type_.clone(),
                physical_id: physical,
                attrs: ids.attrs,
                properties: props.clone(),
                retain: r.deletion_policy.as_deref() == Some("Retain"),
                pending_window_days: props.get("PendingWindowInDays").and_then(Value::as_u64).map(|d| d as u32),
                depends_on: r.depends_on.clone(),
                objects: old.map(|o| o.objects).unwrap_or(0),
                bytes: old.map(|o| o.bytes).unwrap_or(0),
            });
            done.push(r.id.clone());
        }
        if done.len() == before {
            return Err(CloudError::failed(
                format!("{file}: the resources reference each other in a cycle"),
                "Report this as a bug in the template.",
            ));
        }
    }
    // Keep template order for display.
    out.sort_by_key(|r| spec.template.resources.iter().position(|t| t.id == r.id));
    let mut outputs = BTreeMap::new();
    for (name, v) in &spec.template.outputs {
        let value = ctx.resolve(v).map_err(|m| {
            CloudError::failed(format!("{file}: output {name}: {m}"), "Report this as a bug in the template.")
        })?;
        outputs.insert(name.clone(), scalar_string(&value));
    }
    Ok((out, outputs))
}

/// Leftovers a timeline leaves: retained resources, and keys now pending deletion (a key is
/// retained by its stack and its deletion scheduled, as cloudgrant does on AWS) unless the user
/// asked to keep it (`retain`).
fn leftovers_of(
    stack: &Stack,
    resources: &[StackResource],
    timeline: &Timeline,
    org: &str,
    retain: &[String],
) -> Vec<Leftover> {
    let mut out = Vec::new();
    for e in &timeline.events {
        let Some(r) = resources.iter().find(|r| r.id == e.resource) else { continue };
        let deletion_date = match (e.status, r.type_.as_str()) {
            (Status::DeleteSkipped | Status::DeleteComplete, "AWS::KMS::Key")
                if timeline_created(stack, r) && !retain.contains(&r.id) =>
            {
                Some((e.time + Duration::days(i64::from(r.pending_window_days.unwrap_or(30)))).date_naive())
            }
            (Status::DeleteSkipped, _) => None,
            _ => continue,
        };
        out.push(Leftover {
            type_: r.type_.clone(),
            physical_id: r.physical_id.clone(),
            org: org.to_string(),
            stack: stack.name.clone(),
            since: e.time,
            deletion_date,
            objects: r.objects,
            bytes: r.bytes,
        });
    }
    out
}

/// A key that was really created (not one whose creation was cancelled) goes to pending deletion.
fn timeline_created(stack: &Stack, r: &StackResource) -> bool {
    stack.events.iter().any(|e| e.resource == r.id && e.status == Status::CreateComplete)
}

fn key_log(l: &Leftover, why: &str) -> String {
    format!(
        "key {} ({why}): deletion scheduled, AWS deletes it on {}",
        l.physical_id,
        l.deletion_date.map(|d| d.to_string()).unwrap_or_default()
    )
}

impl Sandbox {
    fn clock(&self) -> Clock {
        Clock { speed: self.inner.config.speed }
    }

    fn faults(&self, resources: &[StackResource], deleting: bool) -> BTreeMap<String, String> {
        resources
            .iter()
            .filter(|r| self.inner.config.fail.contains(&r.id))
            .map(|r| (r.id.clone(), sim::failure_reason(&r.type_, &r.physical_id, deleting, &self.inner.account)))
            .collect()
    }

    fn load_account(&self) -> Result<(super::state::State, AccountState), CloudError> {
        let mut state = self.with_store(|s| s.load())?;
        let acct = state.accounts.remove(&self.inner.account).unwrap_or_default();
        Ok((state, acct))
    }

    fn save_account(&self, mut state: super::state::State, acct: AccountState) -> Result<(), CloudError> {
        state.accounts.insert(self.inner.account.clone(), acct);
        self.with_store(|s| s.save(&state))
    }

    pub async fn apply(
        &self,
        plan: &Plan,
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<Installation, CloudError> {
        let (state, mut acct) = self.load_account()?;
        let now = Utc::now();
        let clock = self.clock();
        let mut schedule: Vec<Scheduled> = Vec::new();
        // Group key → (end time, ok, outputs) once scheduled.
        let mut finished: BTreeMap<String, Finished> = BTreeMap::new();
        let mut root_cause: Option<String> = None;
        // Refuse early, before anything changes, on stacks we must not or cannot touch now.
        for g in &plan.groups {
            if let Some(s) = acct.stacks.iter().find(|s| s.name == g.name && !s.is_deleted_at(now)) {
                if s.tags.get("managed-by").map(String::as_str) != Some("cloudgrant") {
                    return Err(CloudError::NotOurs { name: g.name.clone() });
                }
                if let Some(st) = s.status_at(now).filter(|st| st.is_in_progress()) {
                    return Err(CloudError::failed(
                        format!("stack {} is still {st}", g.name),
                        format!("Wait for it to settle (`cloudgrant status --cloud aws --org {} --sandbox`), then run again.", plan.org),
                    ));
                }
            }
        }
        for g in &plan.groups {
            let spec = self.inner.blueprint.stack(&g.key).ok_or_else(|| {
                CloudError::failed(format!("the plan names an unknown stack `{}`", g.key), "Build the plan again.")
            })?;
            let after_deps =
                g.depends_on.iter().filter_map(|d| finished.get(d)).map(|(t, _, _)| *t).max().unwrap_or(now);
            if let Some(dep) = g.depends_on.iter().find(|d| finished.get(*d).is_some_and(|(_, ok, _)| !ok)) {
                let dep_name = plan.group(dep).map(|x| x.name.as_str()).unwrap_or(dep);
                schedule.push(log(after_deps, format!("{}: not started, because {dep_name} did not complete", g.name)));
                finished.insert(g.key.clone(), (after_deps, false, BTreeMap::new()));
                continue;
            }
            // Parameters as previewed, with values from earlier stacks filled in now they exist.
            let mut params = BTreeMap::new();
            for p in &g.parameters {
                let value = match &p.source {
                    crate::model::ParameterSource::Output { .. } => {
                        let (src_group, out) = spec.wiring.get(&p.name).cloned().unwrap_or_default();
                        let v = finished
                            .get(&src_group)
                            .and_then(|(_, _, o)| o.get(&out).cloned())
                            .unwrap_or_else(|| p.value.clone());
                        Value::String(v)
                    }
                    _ => {
                        let is_list = spec
                            .template
                            .parameters
                            .iter()
                            .any(|tp| tp.name == p.name && tp.type_.starts_with("CommaDelimitedList"));
                        if is_list {
                            Value::Array(p.value.split(',').map(|s| Value::String(s.into())).collect())
                        } else {
                            Value::String(p.value.clone())
                        }
                    }
                };
                params.insert(p.name.clone(), value);
            }
            let param_text: BTreeMap<String, String> =
                params.iter().map(|(k, v)| (k.clone(), scalar_string(v))).collect();
            let existing_pos = acct.stacks.iter().position(|s| s.name == g.name && !s.is_deleted_at(now));
            let mut start = after_deps;
            if let Some(pos) = existing_pos {
                let status = acct.stacks[pos].status_at(now);
                if matches!(
                    status,
                    Some(Status::CreateComplete | Status::UpdateComplete | Status::UpdateRollbackComplete)
                ) {
                    let (resources, outputs) =
                        render(spec, &g.name, &params, &self.inner.account, &plan.region, Some(&acct.stacks[pos]))?;
                    let stack = &mut acct.stacks[pos];
                    let changed: Vec<&StackResource> = resources
                        .iter()
                        .filter(|r| {
                            stack.resources.iter().find(|o| o.id == r.id).is_none_or(|o| o.properties != r.properties)
                        })
                        .collect();
                    if changed.is_empty() && stack.parameters == param_text {
                        schedule.push(log(start, format!("{}: no changes; nothing to do", g.name)));
                        finished.insert(g.key.clone(), (start, true, stack.outputs.clone()));
                        continue;
                    }
                    let t = sim::update(&g.name, &stack.id, &changed, start, clock);
                    schedule.extend(t.events.iter().cloned().map(|e| (e.time, Update::Event(e))));
                    stack.events.extend(t.events);
                    stack.parameters = param_text;
                    stack.resources = resources;
                    stack.outputs = outputs.clone();
                    finished.insert(g.key.clone(), (t.end, true, outputs));
                    continue;
                }
                // ROLLBACK_COMPLETE (or a failed delete): remove it, then create afresh.
                let stack = &mut acct.stacks[pos];
                schedule.push(log(
                    start,
                    format!(
                        "{}: left in {} by an earlier attempt; deleting it before creating it again",
                        g.name,
                        status.map(|s| s.as_str()).unwrap_or("an unknown state")
                    ),
                ));
                let present: Vec<StackResource> = stack
                    .resources
                    .iter()
                    .filter(|r| {
                        stack
                            .resource_status_at(&r.id, now)
                            .is_some_and(|s| s != Status::DeleteComplete && s != Status::DeleteSkipped)
                    })
                    .cloned()
                    .collect();
                let t = sim::delete(&g.name, &stack.id.clone(), &present, start, clock, &BTreeMap::new(), &[]);
                schedule.extend(t.events.iter().cloned().map(|e| (e.time, Update::Event(e))));
                stack.events.extend(t.events.clone());
                let snapshot = stack.clone();
                acct.leftovers.extend(leftovers_of(&snapshot, &present, &t, &plan.org, &[]));
                start = clock.gap(t.end);
            }
            let (resources, outputs) = render(spec, &g.name, &params, &self.inner.account, &plan.region, None)?;
            // A bucket kept from an earlier install holds the name: creating would fail, so say it now.
            for r in &resources {
                if let Some(l) = acct
                    .leftovers
                    .iter()
                    .find(|l| l.physical_id == r.physical_id && l.deletion_date.is_none() && l.exists_at(now))
                {
                    return Err(CloudError::failed(
                        format!("{} {} already exists: it was kept when an earlier install was revoked", r.type_, l.physical_id),
                        format!("Keep its data elsewhere, then delete it (`aws s3 rb s3://{} --force`), or choose another org name.", l.physical_id),
                    ));
                }
            }
            let stack_id =
                format!("arn:aws:cloudformation:{}:{}:stack/{}/{}", plan.region, self.inner.account, g.name, uuid());
            let faults = self.faults(&resources, false);
            let t = sim::create(&g.name, &stack_id, &resources, start, clock, &faults);
            let ok = t.root_cause.is_none();
            if root_cause.is_none() {
                root_cause.clone_from(&t.root_cause);
            }
            schedule.extend(t.events.iter().cloned().map(|e| (e.time, Update::Event(e))));
            let stack = Stack {
                name: g.name.clone(),
                id: stack_id,
                region: plan.region.clone(),
                tags: plan.tags.iter().cloned().collect(),
                parameters: param_text,
                outputs: if ok { outputs.clone() } else { BTreeMap::new() },
                template: spec.template.file.clone(),
                resources: resources.clone(),
                events: t.events.clone(),
            };
            let left = leftovers_of(&stack, &resources, &t, &plan.org, &[]);
            for l in left.iter().filter(|l| l.deletion_date.is_some()) {
                schedule.push(log(l.since, key_log(l, "left by the rollback")));
            }
            acct.leftovers.extend(left);
            acct.stacks.push(stack);
            finished.insert(g.key.clone(), (t.end, ok, outputs));
        }
        self.save_account(state, acct)?;
        stream(schedule, &tx, &cancel).await?;
        let installation = self.discover(Some(&plan.org))?.into_iter().next().ok_or_else(|| {
            CloudError::failed("the install is not found after applying", "Run `cloudgrant status` to see what exists.")
        })?;
        let ok = root_cause.is_none() && installation.is_complete();
        send(&tx, Update::Applied { installation: installation.clone(), ok, root_cause }).await;
        Ok(installation)
    }

    /// The sandbox's change sets: new groups add everything; existing ones are rendered with
    /// their current ids and compared resource by resource.
    pub fn preview_changes(&self, plan: &Plan) -> Result<Vec<GroupChanges>, CloudError> {
        let (_, acct) = self.load_account()?;
        let now = Utc::now();
        let mut out = Vec::new();
        for g in &plan.groups {
            let adds: Vec<ResourceChange> = g
                .resources
                .iter()
                .map(|r| ResourceChange {
                    action: "Add".into(),
                    id: r.id.clone(),
                    type_: r.type_.clone(),
                    replacement: None,
                })
                .collect();
            let settled = acct.stacks.iter().find(|s| {
                s.name == g.name
                    && matches!(
                        s.status_at(now),
                        Some(Status::CreateComplete | Status::UpdateComplete | Status::UpdateRollbackComplete)
                    )
            });
            let (Some(stack), Some(spec)) = (settled, self.inner.blueprint.stack(&g.key)) else {
                let left = acct
                    .stacks
                    .iter()
                    .find(|s| s.name == g.name && !s.is_deleted_at(now))
                    .and_then(|s| s.status_at(now));
                let note = left
                    .map(|st| format!("left in {st} by an earlier attempt: it is deleted first, then created again"));
                out.push(GroupChanges { group: g.name.clone(), kind: ChangeKind::Create, changes: adds, note });
                continue;
            };
            let mut params = BTreeMap::new();
            for p in &g.parameters {
                // Values from other stacks: as they stand now.
                let value = match &p.source {
                    crate::model::ParameterSource::Output { group, output } => acct
                        .stacks
                        .iter()
                        .find(|s| &s.name == group && !s.is_deleted_at(now))
                        .and_then(|s| s.outputs.get(output).cloned())
                        .unwrap_or_else(|| p.value.clone()),
                    _ => p.value.clone(),
                };
                let is_list = spec
                    .template
                    .parameters
                    .iter()
                    .any(|tp| tp.name == p.name && tp.type_.starts_with("CommaDelimitedList"));
                params.insert(
                    p.name.clone(),
                    if is_list {
                        Value::Array(value.split(',').map(|v| Value::String(v.into())).collect())
                    } else {
                        Value::String(value)
                    },
                );
            }
            let (resources, _) = render(spec, &g.name, &params, &self.inner.account, &plan.region, Some(stack))?;
            let changes: Vec<ResourceChange> = resources
                .iter()
                .filter_map(|r| match stack.resources.iter().find(|o| o.id == r.id) {
                    None => Some(ResourceChange {
                        action: "Add".into(),
                        id: r.id.clone(),
                        type_: r.type_.clone(),
                        replacement: None,
                    }),
                    Some(o) if o.properties != r.properties => Some(ResourceChange {
                        action: "Modify".into(),
                        id: r.id.clone(),
                        type_: r.type_.clone(),
                        replacement: Some("False".into()),
                    }),
                    _ => None,
                })
                .collect();
            let kind = if changes.is_empty() { ChangeKind::NoChanges } else { ChangeKind::Update };
            out.push(GroupChanges { group: g.name.clone(), kind, changes, note: None });
        }
        Ok(out)
    }

    pub fn revoke_plan(&self, installation: &Installation) -> Result<RevokePlan, CloudError> {
        let (_, acct) = self.load_account()?;
        let now = Utc::now();
        let today = now.date_naive();
        let mut groups = Vec::new();
        let mut warnings = Vec::new();
        // Dependents first: the vendor's access ends before anything else is touched.
        let order = common::revoke_order(installation, &self.inner.blueprint);
        for g in order {
            if let Some(st) = g.status.is_in_progress().then_some(g.status) {
                return Err(CloudError::failed(
                    format!("stack {} is still {st}", g.name),
                    format!(
                        "Wait for it to settle (`cloudgrant status --cloud aws --org {} --sandbox`), then revoke.",
                        installation.org
                    ),
                ));
            }
            let stack = acct.stacks.iter().find(|s| s.id == g.id);
            let mut items = Vec::new();
            for r in &g.resources {
                if matches!(r.status, Status::DeleteComplete | Status::DeleteSkipped) {
                    continue;
                }
                let sr = stack.and_then(|s| s.resources.iter().find(|x| x.id == r.id));
                let physical = r.physical_id.clone().unwrap_or_default();
                let outcome = match sr {
                    Some(sr) if sr.type_ == "AWS::KMS::Key" => {
                        let days = sr.pending_window_days.unwrap_or(30);
                        let (outcome, warning) =
                            common::scheduled_key(&physical, today + Duration::days(i64::from(days)), days);
                        warnings.push(warning);
                        outcome
                    }
                    Some(sr) if sr.retain => {
                        let (outcome, warning) = common::kept_bucket(&physical, sr.objects, sr.bytes);
                        warnings.push(warning);
                        outcome
                    }
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
        Ok(RevokePlan { installation: installation.clone(), groups, warnings, leftovers: Vec::new() })
    }

    pub async fn revoke(
        &self,
        plan: &RevokePlan,
        retain: &[String],
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<Residue, CloudError> {
        let (state, mut acct) = self.load_account()?;
        let now = Utc::now();
        let clock = self.clock();
        let org = plan.installation.org.clone();
        let mut schedule: Vec<Scheduled> = Vec::new();
        let mut start = now;
        let mut root_cause = None;
        for g in &plan.groups {
            let Some(pos) = acct.stacks.iter().position(|s| s.id == g.id) else {
                schedule.push(log(start, format!("{}: already gone", g.name)));
                continue;
            };
            if root_cause.is_some() {
                schedule.push(log(
                    start,
                    format!(
                        "{}: not deleted, because an earlier stack failed to delete; fix that and revoke again",
                        g.name
                    ),
                ));
                continue;
            }
            let stack = &mut acct.stacks[pos];
            if stack.is_deleted_at(now) {
                continue;
            }
            let present: Vec<StackResource> = stack
                .resources
                .iter()
                .filter(|r| {
                    stack
                        .resource_status_at(&r.id, now)
                        .is_some_and(|s| !matches!(s, Status::DeleteComplete | Status::DeleteSkipped))
                })
                .cloned()
                .collect();
            let faults = self.faults(&present, true);
            let faults: BTreeMap<String, String> = faults.into_iter().filter(|(id, _)| !retain.contains(id)).collect();
            let t = sim::delete(&g.name, &stack.id.clone(), &present, start, clock, &faults, retain);
            schedule.extend(t.events.iter().cloned().map(|e| (e.time, Update::Event(e))));
            stack.events.extend(t.events.clone());
            let snapshot = stack.clone();
            let left = leftovers_of(&snapshot, &present, &t, &org, retain);
            for l in left.iter().filter(|l| l.deletion_date.is_some()) {
                schedule.push(log(l.since, key_log(l, "retained by the stack")));
            }
            acct.leftovers.extend(left);
            root_cause = t.root_cause.clone();
            start = clock.gap(t.end);
        }
        let end = start;
        let residue = self.residue(&acct, plan, end);
        self.save_account(state, acct)?;
        stream(schedule, &tx, &cancel).await?;
        let ok = root_cause.is_none() && residue.checks.iter().all(|c| c.ok);
        send(&tx, Update::Revoked { residue: residue.clone(), ok, root_cause }).await;
        Ok(residue)
    }

    /// What stays after revoke (as of `at`), and the checks that access is really gone.
    fn residue(&self, acct: &AccountState, plan: &RevokePlan, at: DateTime<Utc>) -> Residue {
        let org = &plan.installation.org;
        let mut items: Vec<ResidueItem> = acct
            .leftovers
            .iter()
            .filter(|l| &l.org == org && l.exists_at(at))
            .map(|l| match l.deletion_date {
                Some(d) => ResidueItem {
                    type_: l.type_.clone(),
                    physical_id: l.physical_id.clone(),
                    state: "pending_deletion".into(),
                    note: format!(
                        "deleted by AWS on {d}; to keep it: aws kms cancel-key-deletion --key-id {}",
                        l.physical_id
                    ),
                },
                None if l.type_ == "AWS::S3::Bucket" => ResidueItem {
                    type_: l.type_.clone(),
                    physical_id: l.physical_id.clone(),
                    state: "kept".into(),
                    note: format!(
                        "kept with your data ({} objects, {}); delete it yourself when no longer needed",
                        l.objects,
                        common::human_bytes(l.bytes)
                    ),
                },
                None => ResidueItem {
                    type_: l.type_.clone(),
                    physical_id: l.physical_id.clone(),
                    state: "kept".into(),
                    note: format!(
                        "left in place (retained from stack {}); delete it yourself once it is free",
                        l.stack
                    ),
                },
            })
            .collect();
        let mut checks = Vec::new();
        for g in &plan.groups {
            let Some(stack) = acct.stacks.iter().find(|s| s.id == g.id) else { continue };
            for r in &stack.resources {
                if stack.resource_status_at(&r.id, at) == Some(Status::DeleteFailed) {
                    items.push(ResidueItem {
                        type_: r.type_.clone(),
                        physical_id: r.physical_id.clone(),
                        state: "delete_failed".into(),
                        note: format!("still in stack {}", stack.name),
                    });
                }
                if r.type_ == "AWS::IAM::Role" {
                    let gone = matches!(stack.resource_status_at(&r.id, at), Some(Status::DeleteComplete) | None);
                    checks.push(Check {
                        what: format!("role {} no longer exists", r.physical_id),
                        ok: gone,
                        detail: if gone { "GetRole: NoSuchEntity".into() } else { "the role still exists".into() },
                    });
                }
            }
        }
        for l in acct.leftovers.iter().filter(|l| &l.org == org && l.exists_at(at)) {
            checks.push(match l.deletion_date {
                Some(d) => Check {
                    what: format!("key {} is pending deletion", l.physical_id),
                    ok: true,
                    detail: format!("KeyState PendingDeletion, deletion date {d}"),
                },
                None if l.type_ == "AWS::S3::Bucket" => Check {
                    what: format!("bucket {} is still there", l.physical_id),
                    ok: true,
                    detail: "kept with your data".into(),
                },
                None => Check {
                    what: format!("{} {} left in place", l.type_, l.physical_id),
                    ok: true,
                    detail: "retained as asked".into(),
                },
            });
        }
        Residue {
            cloud: plan.installation.cloud,
            org: org.clone(),
            account: self.inner.account.clone(),
            finished: at,
            items,
            checks,
        }
    }
}

async fn send(tx: &mpsc::Sender<Update>, u: Update) {
    // A closed receiver means nobody is watching any more; the cloud goes on regardless.
    let _ = tx.send(u).await;
}

/// Send each update when its time comes; stop early (leaving the cloud to carry on) on cancel.
async fn stream(
    mut schedule: Vec<Scheduled>,
    tx: &mpsc::Sender<Update>,
    cancel: &CancellationToken,
) -> Result<(), CloudError> {
    schedule.sort_by_key(|(t, _)| *t);
    for (t, u) in schedule {
        let wait = (t - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = cancel.cancelled() => return Err(CloudError::Cancelled),
            _ = tokio::time::sleep(wait) => {}
        }
        send(tx, u).await;
    }
    Ok(())
}
