//! What stands of an install in the account, every stack judged by [`ownership::judge`]: which
//! stacks are this install's, which carry its marks but are not (reported, never touched), what
//! keys and buckets earlier attempts and a half-done revoke left, and the health it all amounts
//! to. Deleted stacks are read too: CloudFormation lists them (`ListStacks`) and describes them by
//! id, resources included, for 90 days, so a key retained by a deleted or rolled-back stack is
//! found from the account itself.

use std::collections::BTreeSet;

use aws_sdk_cloudformation::types::{Stack, StackStatus};
use chrono::{DateTime, NaiveDate, Utc};

use super::deploy::to_chrono;
use super::errors::AsSdkError;
use super::{Aws, Clients};
use crate::cloud::ownership::{self, InstallIdentity, Marks, Verdict};
use crate::cloud::CloudError;
use crate::model::{Health, HealthFacts, Installation, Leftover, Status, Stranger};
use crate::plan::aws::stack_name;

pub(super) const TYPE_KEY: &str = "AWS::KMS::Key";
const TYPE_BUCKET: &str = "AWS::S3::Bucket";

/// The stacks of one org, judged.
pub(super) struct Sorted {
    pub who: InstallIdentity,
    pub ours: Vec<Stack>,
    pub strangers: Vec<Stranger>,
}

/// The identity marks on a stack (its tags).
pub(super) fn marks_of(s: &Stack) -> Marks {
    Marks::from_pairs(s.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))))
}

fn name_of(s: &Stack) -> &str {
    s.stack_name().unwrap_or_default()
}

/// A key as DescribeKey tells it: its state and deletion date (`None`: no such key any more).
#[derive(Clone)]
pub(super) struct KeyState {
    pub state: String,
    pub date: Option<NaiveDate>,
}

impl Aws {
    /// Who the install of `org` is: the three stack names the blueprint derives, and its id.
    pub(super) fn identity_for(&self, org: &str, install_id: Option<String>) -> InstallIdentity {
        InstallIdentity {
            vendor: self.inner.vendor.vendor.id.clone(),
            org: org.to_string(),
            names: self.inner.blueprint.stacks.iter().map(|s| stack_name(&self.inner.vendor, org, &s.key)).collect(),
            install_id,
            ignore_case: false,
        }
    }

    /// The orgs the stacks speak of: marked with this vendor's id, or named like its groups.
    pub(super) fn orgs_in(&self, stacks: &[Stack]) -> BTreeSet<String> {
        let vendor = &self.inner.vendor.vendor.id;
        let mut out = BTreeSet::new();
        for s in stacks {
            let m = marks_of(s);
            if m.vendor.as_deref() == Some(vendor.as_str()) {
                out.extend(m.org.clone());
            }
            let rest = name_of(s).strip_prefix(&format!("{vendor}-")).unwrap_or_default();
            for spec in &self.inner.blueprint.stacks {
                if let Some(org) = rest.strip_suffix(&format!("-{}", spec.key)) {
                    if crate::validate::org(org).is_ok() {
                        out.insert(org.to_string());
                    }
                }
            }
        }
        out
    }

    /// Judge every stack for `org`. When the stacks named like the install disagree on its id,
    /// none is provably this install's: all are reported and none is touched.
    pub(super) fn sort_stacks(&self, org: &str, region: &str, stacks: &[Stack]) -> Sorted {
        let anyone = self.identity_for(org, None);
        let marks: Vec<Marks> = stacks.iter().map(marks_of).collect();
        let named = stacks.iter().zip(&marks).map(|(s, m)| (name_of(s), m));
        let (install_id, conflict) = match ownership::recorded_install_id(&anyone, named) {
            Ok(id) => (id, None),
            Err(e) => (None, Some(e)),
        };
        let who = InstallIdentity { install_id, ..anyone };
        let mut sorted = Sorted { who: who.clone(), ours: Vec::new(), strangers: Vec::new() };
        for (s, m) in stacks.iter().zip(&marks) {
            if s.stack_status() == Some(&StackStatus::DeleteComplete) {
                continue;
            }
            match ownership::judge(&who, name_of(s), m) {
                v if v.is_ours() => match &conflict {
                    None => sorted.ours.push(s.clone()),
                    Some(c) => sorted.strangers.push(self.stack_stranger(name_of(s), region, vec![c.clone()])),
                },
                Verdict::NotThisInstall(why) => sorted.strangers.push(self.stack_stranger(name_of(s), region, why)),
                _ => {}
            }
        }
        sorted
    }

    pub(super) fn stack_stranger(&self, name: &str, region: &str, why: Vec<String>) -> Stranger {
        ownership::stranger(
            "stack",
            name,
            why,
            format!("aws cloudformation describe-stacks --stack-name {name} --region {region}"),
            format!("aws cloudformation delete-stack --stack-name {name} --region {region}"),
        )
    }

    /// This install's stacks that CloudFormation deleted (and still describes by id), with their
    /// deletion time.
    async fn deleted_of(
        &self,
        c: &Clients,
        who: &InstallIdentity,
    ) -> Result<Vec<(Stack, Option<DateTime<Utc>>)>, CloudError> {
        let mut summaries = Vec::new();
        let mut token = None;
        loop {
            let out = c
                .cfn
                .list_stacks()
                .stack_status_filter(StackStatus::DeleteComplete)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.err("cloudformation:ListStacks", e))?;
            summaries.extend(out.stack_summaries().iter().cloned());
            match out.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        let mut out = Vec::new();
        for s in summaries {
            let (Some(name), Some(id)) = (s.stack_name(), s.stack_id()) else { continue };
            if !who.names.iter().any(|n| n == name) {
                continue;
            }
            let Some(stack) = self.find_stack(c, id).await? else { continue };
            if ownership::judge(who, name, &marks_of(&stack)).is_ours() {
                out.push((stack, s.deletion_time().map(to_chrono)));
            }
        }
        Ok(out)
    }

    /// DescribeKey's answer; `None` for a key that no longer exists (or cannot be read).
    pub(super) async fn key_state(&self, c: &Clients, key: &str) -> Option<KeyState> {
        let meta = c.kms.describe_key().key_id(key).send().await.ok()?.key_metadata().cloned()?;
        Some(KeyState {
            state: meta.key_state().map(|s| s.as_str().to_string()).unwrap_or_default(),
            date: meta.deletion_date().map(|d| to_chrono(d).date_naive()),
        })
    }

    /// Keys and buckets of a stack, by logical id (deleted stacks included).
    async fn retained_of(&self, c: &Clients, stack_id: &str) -> Vec<(String, String, String)> {
        let Ok(out) = c.cfn.describe_stack_resources().stack_name(stack_id).send().await else { return Vec::new() };
        out.stack_resources()
            .iter()
            .filter(|r| matches!(r.resource_type(), Some(TYPE_KEY | TYPE_BUCKET)))
            .filter_map(|r| {
                Some((
                    r.logical_resource_id()?.to_string(),
                    r.resource_type()?.to_string(),
                    r.physical_resource_id()?.to_string(),
                ))
            })
            .collect()
    }

    /// Health and leftovers of `inst` (its groups already read), from the keys of its stacks and
    /// the stacks of it that were deleted.
    pub(super) async fn assess(
        &self,
        c: &Clients,
        who: &InstallIdentity,
        ours: &[Stack],
        inst: &mut Installation,
    ) -> Result<(), CloudError> {
        // The deleted stacks are listed beside the keys of the standing ones.
        let (deleted, states) = futures::future::join(
            self.deleted_of(c, who),
            futures::future::join_all(inst.groups.iter().flat_map(|g| {
                g.resources.iter().filter(|r| r.type_ == TYPE_KEY).filter_map(|r| r.physical_id.clone()).map(
                    |key| async move {
                        let state = self.key_state(c, &key).await;
                        (key, state)
                    },
                )
            })),
        )
        .await;
        let deleted = deleted?;
        let states: std::collections::BTreeMap<String, Option<KeyState>> = states.into_iter().collect();
        let newest = ours.iter().filter_map(|s| s.creation_time().map(to_chrono)).max();
        let mut facts = HealthFacts {
            planned: who.names.clone(),
            present: inst.groups.iter().map(|g| (g.name.clone(), g.status)).collect(),
            ..HealthFacts::default()
        };
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let org = &inst.org;
        for g in &inst.groups {
            for r in g.resources.iter().filter(|r| r.type_ == TYPE_KEY) {
                let Some(key) = r.physical_id.as_deref() else { continue };
                let Some(k) = states.get(key).cloned().flatten() else { continue };
                let rolled_back = g.status.is_failure() || r.status == Status::DeleteSkipped;
                let origin = if rolled_back {
                    format!("retained by the rollback of {}", g.name)
                } else {
                    format!("the data key of {}, which still stands and grants access", g.name)
                };
                if k.state == "PendingDeletion" && !rolled_back {
                    let date = k.date.map(|d| format!(" on {d}")).unwrap_or_default();
                    facts.doomed.push(format!("{}'s data key {key} (pending deletion{date})", g.name));
                } else if k.state != "PendingDeletion" && !rolled_back {
                    continue;
                }
                seen.insert(key.to_string());
                inst.leftovers.push(key_leftover(key, &k, origin, Some(g.name.clone()), !rolled_back, org));
            }
        }
        for (stack, when) in &deleted {
            let name = name_of(stack).to_string();
            // A deletion after the standing stacks were made is a revoke's (or a person's) work;
            // an earlier one cleaned up a failed attempt before the stack was made again.
            let by_revoke = !inst.groups.iter().any(|g| g.name == name)
                && match (when, newest) {
                    (Some(w), Some(n)) => *w > n,
                    _ => true,
                };
            if by_revoke && !facts.deleted.contains(&name) {
                facts.deleted.push(name.clone());
            }
            let id = stack.stack_id().unwrap_or(&name).to_string();
            let deleted_on = when.map(|w| format!(", deleted {}", w.format("%Y-%m-%d %H:%M UTC"))).unwrap_or_default();
            for (_, type_, physical) in self.retained_of(c, &id).await {
                if !seen.insert(physical.clone()) {
                    continue;
                }
                let origin = format!("retained by {name}{deleted_on}");
                if type_ == TYPE_KEY {
                    if let Some(k) = self.key_state(c, &physical).await {
                        inst.leftovers.push(key_leftover(&physical, &k, origin, None, by_revoke, org));
                    }
                } else if c.s3.head_bucket().bucket(&physical).send().await.is_ok() {
                    inst.leftovers.push(Leftover {
                        type_,
                        physical_id: physical.clone(),
                        state: "kept".into(),
                        date: None,
                        origin: format!("{origin}, with your data"),
                        group: None,
                        way: format!(
                            "Delete it yourself when you no longer need the data: aws s3 rb s3://{physical} --force"
                        ),
                        by_revoke,
                    });
                }
            }
        }
        inst.health = Health::derive(&facts);
        Ok(())
    }

    /// CancelKeyDeletion then EnableKey on every key of the install that a revoke scheduled for
    /// deletion (`init --restore`): the key, and what was encrypted with it, stay usable. Keys
    /// left by rolled-back attempts are not restored. Returns what was done, one line per key.
    pub async fn restore(&self, org: &str) -> Result<Vec<String>, CloudError> {
        let c = self.clients(&self.inner.region.clone());
        let mut done = Vec::new();
        for inst in self.discover(Some(org)).await? {
            for l in inst.leftovers.iter().filter(|l| l.by_revoke && l.type_ == TYPE_KEY) {
                let key = &l.physical_id;
                if l.state == "pending_deletion" {
                    c.kms
                        .cancel_key_deletion()
                        .key_id(key)
                        .send()
                        .await
                        .map_err(|e| self.err("kms:CancelKeyDeletion", e))?;
                }
                match c.kms.enable_key().key_id(key).send().await {
                    Ok(_) => {}
                    // Enabled already (it was never scheduled): nothing to do.
                    Err(e) if e.error_code().as_deref() == Some("KMSInvalidStateException") => {}
                    Err(e) => return Err(self.err("kms:EnableKey", e)),
                }
                let place = match &l.group {
                    Some(g) => format!("it is the data key of {g} again"),
                    None => "it is in no stack any more: the install's new stack gets a new key, and this one stays for what was encrypted with it (schedule its deletion yourself when no longer needed: aws kms schedule-key-deletion --key-id KEY)".replace("KEY", key),
                };
                done.push(format!("key {key}: deletion cancelled and key enabled ({}); {place}", l.origin));
            }
        }
        Ok(done)
    }
}

fn key_leftover(
    key: &str,
    k: &KeyState,
    origin: String,
    group: Option<String>,
    by_revoke: bool,
    org: &str,
) -> Leftover {
    let state = match k.state.as_str() {
        "PendingDeletion" => "pending_deletion",
        "Enabled" => "enabled",
        "Disabled" => "disabled",
        other => other,
    }
    .to_string();
    let way = if state == "pending_deletion" {
        if by_revoke {
            format!("To keep it: `cloudgrant init --org {org} --restore` (or aws kms cancel-key-deletion --key-id {key} && aws kms enable-key --key-id {key})")
        } else {
            format!("It never held the install's data; to keep it anyway: aws kms cancel-key-deletion --key-id {key}")
        }
    } else {
        format!("Revoke schedules its deletion; or: aws kms schedule-key-deletion --key-id {key} --pending-window-in-days 30")
    };
    Leftover {
        type_: TYPE_KEY.into(),
        physical_id: key.to_string(),
        state,
        date: k.date,
        origin,
        group,
        way,
        by_revoke,
    }
}
