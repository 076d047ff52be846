//! Revoke: bindings first (the vendor's access ends before anything else is touched), then the
//! service accounts, the custom roles (soft-deleted by Google), the key's versions (scheduled for
//! destruction); the key ring, the bucket and the APIs stay, each with the reason. Then the
//! project is read again to verify that the vendor holds nothing any more.

use std::collections::BTreeMap;

use chrono::{Duration as Days, NaiveDate, Utc};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::iam_policy::{roles_of, Change, Outcome};
use super::run::Run;
use super::survey::{self, account_path, binding_parts, role_path};
use super::transport::{ApiRequest, Method, Service};
use super::{Gcp, Notes};
use crate::cloud::{common, CloudError};
use crate::model::{
    Check, Cloud, Installation, Residue, ResidueItem, RevokeGroup, RevokeItem, RevokeOutcome, RevokePlan, Status,
    Update,
};
use crate::plan::gcp::{
    Spec, Target, TYPE_API, TYPE_BINDING, TYPE_BUCKET, TYPE_CRYPTO_KEY, TYPE_KEY_RING, TYPE_ROLE, TYPE_SERVICE_ACCOUNT,
};

/// Google keeps a deleted custom role restorable this long, and its id blocked up to 37 days.
const ROLE_UNDELETE_DAYS: i64 = 7;
const ROLE_ID_BLOCKED_DAYS: i64 = 37;

/// The order revoke goes in, by type.
const ORDER: [&str; 7] =
    [TYPE_BINDING, TYPE_SERVICE_ACCOUNT, TYPE_ROLE, TYPE_CRYPTO_KEY, TYPE_KEY_RING, TYPE_BUCKET, TYPE_API];

fn days_of(duration: &str) -> Option<u32> {
    let secs: f64 = duration.strip_suffix('s')?.parse().ok()?;
    Some((secs / 86_400.0).ceil() as u32)
}

/// Members `members` (or what Google turns them into once deleted) hold in `policy`.
fn held(policy: &Value, members: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for b in policy["bindings"].as_array().into_iter().flatten() {
        for m in b["members"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let hit = members.iter().any(|x| m == x || m.starts_with(&format!("deleted:{x}?uid=")));
            if hit {
                out.push(format!("{} → {m}", b["role"].as_str().unwrap_or("?")));
            }
        }
    }
    out
}

/// What Google does with a deleted bucket's objects, said in events, the residue and the plan.
const BUCKET_SOFT_DELETE: &str =
    "Google keeps deleted objects restorable for the bucket's soft-delete period (7 days by default)";

fn restore_hint(bucket: &str) -> String {
    format!("`gcloud storage buckets list --soft-deleted --filter=name:{bucket}` for its generation, `gcloud storage restore gs://{bucket}#GENERATION`, then `gcloud storage restore 'gs://{bucket}/**' --all-versions`")
}

/// An object name as one URL path segment: every byte but the unreserved ones as `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A data bucket revoke was asked to empty and delete, with what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct DataBucket {
    pub name: String,
    /// "3 objects, 1.1 GiB", as read when the revoke plan was made.
    pub usage: String,
}

/// Ask a Google Cloud revoke to empty and delete the install's data bucket instead of keeping it:
/// the bucket's item in `plan` goes from `Kept` to `Deleted`, and the plan's warning about it says
/// so. Returns the buckets switched (none when the plan has no kept bucket). Only for Google Cloud
/// plans: an AWS install's bucket has `DeletionPolicy: Retain` in its template and is not covered.
pub fn delete_data(plan: &mut RevokePlan) -> Vec<DataBucket> {
    let mut out = Vec::new();
    if plan.installation.cloud != Cloud::Gcp {
        return out;
    }
    for g in &mut plan.groups {
        for item in g.resources.iter_mut().filter(|i| i.type_ == TYPE_BUCKET) {
            let RevokeOutcome::Kept { reason } = &item.outcome else { continue };
            // The reason starts "your data stays (N objects, SIZE)", written by revoke_plan.
            let usage = reason
                .split_once('(')
                .and_then(|(_, rest)| rest.split_once(')'))
                .map_or_else(|| "objects unknown".to_string(), |(u, _)| u.to_string());
            let name = item.physical_id.clone().unwrap_or_default();
            item.outcome = RevokeOutcome::Deleted;
            out.push(DataBucket { name, usage });
        }
    }
    for b in &out {
        let kept = format!("The data bucket {} is kept", b.name);
        plan.warnings.retain(|w| !w.starts_with(&kept));
        // The key's warning speaks of the kept bucket; it is not kept any more.
        for w in &mut plan.warnings {
            *w = w.replace("wrote to the kept bucket", "wrote to the bucket");
        }
        plan.warnings.push(format!(
            "The data bucket {} will be emptied and deleted ({}), as asked. {BUCKET_SOFT_DELETE}, then they are gone; to restore: {}.",
            b.name,
            b.usage,
            restore_hint(&b.name)
        ));
    }
    out
}

impl Gcp {
    fn spec_of_install(&self, installation: &Installation) -> Result<Spec, CloudError> {
        if installation.cloud != Cloud::Gcp || installation.account != self.inner.project {
            return Err(CloudError::failed(
                format!(
                    "this install is in {} {}, not Google Cloud project {}",
                    installation.cloud.title(),
                    installation.account,
                    self.inner.project
                ),
                "Connect to the project the install is in and run revoke again.",
            ));
        }
        self.spec_of(&installation.org, &installation.region)
    }

    pub(crate) fn key_flags(spec: &Spec, key_id: &str) -> String {
        let Some(k) = spec.crypto_keys.iter().find(|k| k.id == key_id) else { return String::new() };
        let ring = spec.key_rings.iter().find(|r| r.id == k.key_ring);
        format!(
            "--key {} --keyring {} --location {} --project {}",
            k.name,
            ring.map_or("", |r| r.name.as_str()),
            ring.map_or("", |r| r.location.as_str()),
            spec.project
        )
    }

    /// Every object in a bucket (every page): name and bytes.
    async fn bucket_objects(&self, notes: &Notes, bucket: &str) -> Result<Vec<(String, u64)>, CloudError> {
        let req = ApiRequest::new(Service::Storage, Method::Get, format!("/storage/v1/b/{bucket}/o"))
            .query("maxResults", "1000")
            .query("fields", "items(name,size),nextPageToken");
        let items = self
            .list_all(notes, &format!("list the objects of bucket {bucket}"), req, "items", "storage.objects.list")
            .await?;
        Ok(items
            .iter()
            .map(|o| {
                let size = o["size"].as_str().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
                (o["name"].as_str().unwrap_or_default().to_string(), size)
            })
            .collect())
    }

    /// Objects and bytes in a bucket (every page).
    async fn bucket_usage(&self, notes: &Notes, bucket: &str) -> Result<(u64, u64), CloudError> {
        let objects = self.bucket_objects(notes, bucket).await?;
        Ok((objects.len() as u64, objects.iter().map(|(_, b)| b).sum()))
    }

    /// Empty the bucket (every object, one DELETE each), then delete it.
    async fn empty_and_delete(&self, run: &mut Run<'_>, id: &str, name: &str) -> Result<(), CloudError> {
        let objects = self.bucket_objects(&run.notes, name).await?;
        let bytes: u64 = objects.iter().map(|(_, b)| b).sum();
        let usage = format!("{} objects, {}", objects.len(), common::human_bytes(bytes));
        run.begin(id, TYPE_BUCKET, name, Status::DeleteInProgress, &format!("emptying: {usage}")).await;
        for (object, _) in &objects {
            run.cancelled()?;
            let path = format!("/storage/v1/b/{name}/o/{}", percent_encode(object));
            let req = ApiRequest::new(Service::Storage, Method::Delete, path);
            let step = self.step(&format!("delete object {object} of bucket {name}"), &req, "storage.objects.delete");
            let r = self.call(&run.notes, &step, req).await?;
            if r.status != 404 {
                self.ok(&step, r)?;
            }
        }
        let req = ApiRequest::new(Service::Storage, Method::Delete, format!("/storage/v1/b/{name}"));
        let step = self.step(&format!("delete bucket {name}"), &req, "storage.buckets.delete");
        let r = self.call(&run.notes, &step, req).await?;
        let gone = r.status == 404;
        if !gone {
            self.ok(&step, r)?;
        }
        run.done(
            Status::DeleteComplete,
            &format!("{}; {BUCKET_SOFT_DELETE}", if gone { "already gone" } else { "deleted" }),
        )
        .await;
        Ok(())
    }

    async fn key_versions(&self, notes: &Notes, key: &str) -> Result<Vec<Value>, CloudError> {
        let req =
            ApiRequest::new(Service::Kms, Method::Get, format!("/v1/{key}/cryptoKeyVersions")).query("pageSize", "100");
        self.list_all(
            notes,
            &format!("list the versions of key {key}"),
            req,
            "cryptoKeyVersions",
            "cloudkms.cryptoKeyVersions.list",
        )
        .await
    }

    /// What revoke will do to each resource, read from the project before anything is asked.
    pub async fn revoke_plan(&self, installation: &Installation) -> Result<RevokePlan, CloudError> {
        let spec = self.spec_of_install(installation)?;
        let notes = Notes::default();
        let p = &spec.project;
        let today = Utc::now().date_naive();
        let Some(g) = installation.group("install") else {
            return Err(CloudError::failed(
                "the install has no `install` group",
                "Run `cloudgrant status` and revoke the install it lists.",
            ));
        };
        let mut items = Vec::new();
        let mut warnings = vec![format!(
            "The vendor's access ends first: its bindings are removed before anything else ({}).",
            self.inner.vendor.gcp.service_account
        )];
        for type_ in ORDER {
            for r in g.resources.iter().filter(|r| r.type_ == type_ && r.status != Status::DeleteComplete) {
                let name = r.physical_id.clone().unwrap_or_default();
                let outcome = match type_ {
                    TYPE_BINDING | TYPE_SERVICE_ACCOUNT => RevokeOutcome::Deleted,
                    TYPE_ROLE => {
                        let role_id = name.rsplit('/').next().unwrap_or_default();
                        RevokeOutcome::SoftDeleted {
                            until: Some(today + Days::days(ROLE_UNDELETE_DAYS)),
                            note: format!("restorable for {ROLE_UNDELETE_DAYS} days (`gcloud iam roles undelete {role_id} --project {p}`); Google then purges it, and the id stays blocked for up to {ROLE_ID_BLOCKED_DAYS} days"),
                        }
                    }
                    TYPE_CRYPTO_KEY => {
                        let req = ApiRequest::new(Service::Kms, Method::Get, format!("/v1/{name}"));
                        let key = self.get_opt(&notes, &format!("read key {name}"), req, "cloudkms.cryptoKeys.get").await?;
                        let days = key
                            .as_ref()
                            .and_then(|k| k["destroyScheduledDuration"].as_str().and_then(days_of))
                            .or_else(|| spec.crypto_keys.iter().find(|k| k.id == r.id).map(|k| k.destroy_scheduled_days))
                            .unwrap_or(30);
                        let date = today + Days::days(i64::from(days));
                        let flags = Self::key_flags(&spec, &r.id);
                        warnings.push(format!(
                            "The data key {name}: its versions are scheduled for destruction on {date} ({days} days). Anything encrypted with it, including what the vendor's machines wrote to the kept bucket, becomes unreadable then. The key itself can be deleted only after that: `gcloud kms keys versions delete VERSION {flags}` for each version, then `gcloud kms keys delete` (a deleted key's name cannot be used again)."
                        ));
                        RevokeOutcome::ScheduledDeletion {
                            date,
                            days,
                            way_back: format!("`gcloud kms keys versions restore VERSION {flags}`, then `gcloud kms keys versions enable VERSION {flags}`"),
                        }
                    }
                    TYPE_KEY_RING => RevokeOutcome::Kept {
                        reason: "Google Cloud keeps key rings (one can be deleted only once every key in it has been deleted); an empty key ring costs nothing, and a later init reuses it".into(),
                    },
                    TYPE_BUCKET => {
                        let (objects, bytes) = self.bucket_usage(&notes, &name).await?;
                        let size = common::human_bytes(bytes);
                        warnings.push(format!(
                            "The data bucket {name} is kept ({objects} objects, {size}). Delete it yourself when you no longer need the data: `gcloud storage rm -r gs://{name}` (deleted objects stay recoverable for the bucket's soft-delete period, 7 days by default)."
                        ));
                        RevokeOutcome::Kept {
                            reason: format!("your data stays ({objects} objects, {size}); cloudgrant never deletes data. The vendor loses access with its bindings"),
                        }
                    }
                    _ => RevokeOutcome::Kept {
                        reason: format!("stays enabled: other workloads in the project may use it, and disabling it could break them; if nothing does: `gcloud services disable {name} --project {p}`"),
                    },
                };
                items.push(RevokeItem {
                    id: r.id.clone(),
                    type_: r.type_.clone(),
                    physical_id: r.physical_id.clone(),
                    outcome,
                });
            }
        }
        warnings.push(format!(
            "Custom roles are soft-deleted: restorable for {ROLE_UNDELETE_DAYS} days, and their ids stay blocked for up to {ROLE_ID_BLOCKED_DAYS} days (a new init for the same org within that time restores them)."
        ));
        Ok(RevokePlan {
            installation: installation.clone(),
            groups: vec![RevokeGroup { key: g.key.clone(), name: g.name.clone(), id: g.id.clone(), resources: items }],
            warnings,
            leftovers: Vec::new(),
        })
    }

    /// Remove what `plan` says, dependents first; `retain` lists logical ids to leave in place.
    pub async fn revoke(
        &self,
        plan: &RevokePlan,
        retain: &[String],
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<Residue, CloudError> {
        let inst = &plan.installation;
        let spec = self.spec_of_install(inst)?.with_install_id(inst.install_id.clone());
        let mut run = Run::new(self, &spec, &inst.org, &tx, cancel);
        run.group_event(Status::DeleteInProgress, Some("revoking: the vendor's bindings go first".into())).await;
        let mut root_cause: Option<String> = None;
        let mut items: Vec<ResidueItem> = Vec::new();
        let mut destroy_dates: BTreeMap<String, NaiveDate> = BTreeMap::new();
        for item in plan.items() {
            if run.cancelled().is_err() {
                run.save().await;
                return Err(CloudError::Cancelled);
            }
            let name = item.physical_id.clone().unwrap_or_default();
            if retain.contains(&item.id) {
                run.event(&item.id, &item.type_, &name, Status::DeleteSkipped, Some("kept as asked (--retain)".into()))
                    .await;
                items.push(ResidueItem {
                    type_: item.type_.clone(),
                    physical_id: name,
                    state: "kept".into(),
                    note: "kept as asked (--retain)".into(),
                });
                continue;
            }
            if let Err(e) = self.revoke_one(&mut run, &spec, item, &mut destroy_dates).await {
                run.fail_current(&e).await;
                root_cause.get_or_insert_with(|| format!("{e}. Fix: {}", e.next_step()));
                items.push(ResidueItem {
                    type_: item.type_.clone(),
                    physical_id: name,
                    state: "delete_failed".into(),
                    note: format!("{e}. Fix: {}", e.next_step()),
                });
            }
        }
        let (status, reason) = match &root_cause {
            None => (
                Status::DeleteComplete,
                "the vendor's access is removed; what stays is listed with its reason".to_string(),
            ),
            Some(c) => (Status::DeleteFailed, c.clone()),
        };
        run.group_event(status, Some(reason)).await;
        let residue = self.verify(&run, plan, retain, items, &destroy_dates).await;
        let ok = root_cause.is_none() && residue.checks.iter().all(|c| c.ok);
        run.notes.send(Update::Revoked { residue: residue.clone(), ok, root_cause }).await;
        Ok(residue)
    }

    async fn revoke_one(
        &self,
        run: &mut Run<'_>,
        spec: &Spec,
        item: &RevokeItem,
        destroy_dates: &mut BTreeMap<String, NaiveDate>,
    ) -> Result<(), CloudError> {
        let name = item.physical_id.clone().unwrap_or_default();
        let (id, t) = (item.id.as_str(), item.type_.as_str());
        let p = spec.project.clone();
        // Asked again right before deleting: what has this name must still be this install's.
        let current = match t {
            TYPE_SERVICE_ACCOUNT => {
                Some((ApiRequest::new(Service::Iam, Method::Get, account_path(&p, &name)), "iam.serviceAccounts.get"))
            }
            TYPE_ROLE => Some((ApiRequest::new(Service::Iam, Method::Get, role_path(&name)), "iam.roles.get")),
            TYPE_CRYPTO_KEY => {
                Some((ApiRequest::new(Service::Kms, Method::Get, format!("/v1/{name}")), "cloudkms.cryptoKeys.get"))
            }
            _ => None,
        };
        if let Some((req, permission)) = current {
            if let Some(found) = self.get_opt(&run.notes, &format!("read {name}"), req, permission).await? {
                if let crate::cloud::ownership::Verdict::NotThisInstall(why) = survey::verdict(spec, &name, &found) {
                    return Err(CloudError::NotThisInstall(Box::new(survey::stranger(spec, t, &name, why))));
                }
            }
        }
        match t {
            TYPE_BINDING => {
                let Some(b) = spec.bindings.iter().find(|b| b.id == id) else {
                    return Err(CloudError::failed(
                        format!("binding {id} is not in the definitions of this version"),
                        "Remove it yourself (docs/gcp.md shows how), or revoke with the version that made it.",
                    ));
                };
                let (role, member, target) = binding_parts(spec, b)?;
                run.begin(id, t, &name, Status::DeleteInProgress, "removing the member from the IAM policy").await;
                let reason = match self.update_policy(&run.notes, &target, &role, &member, Change::Remove).await? {
                    Outcome::Unchanged => "was not in the policy (removed already)".to_string(),
                    Outcome::Written { retries: 0 } => "removed from the IAM policy (every other binding kept)".into(),
                    Outcome::Written { retries } => format!("removed from the IAM policy after {retries} retries (the policy was changed meanwhile; every other binding kept)"),
                    Outcome::NoResource => "its resource no longer exists".into(),
                };
                run.done(Status::DeleteComplete, &reason).await;
            }
            TYPE_SERVICE_ACCOUNT => {
                run.begin(id, t, &name, Status::DeleteInProgress, "deleting").await;
                let req = ApiRequest::new(Service::Iam, Method::Delete, account_path(&p, &name));
                let step = self.step(&format!("delete service account {name}"), &req, "iam.serviceAccounts.delete");
                let r = self.call(&run.notes, &step, req).await?;
                let gone = r.status == 404;
                if !gone {
                    self.ok(&step, r)?;
                }
                run.done(Status::DeleteComplete, if gone { "already gone" } else { "deleted" }).await;
            }
            TYPE_ROLE => {
                run.begin(id, t, &name, Status::DeleteInProgress, "deleting (Google soft-deletes custom roles)").await;
                let req = ApiRequest::new(Service::Iam, Method::Delete, role_path(&name));
                let step = self.step(&format!("delete custom role {name}"), &req, "iam.roles.delete");
                let r = self.call(&run.notes, &step, req).await?;
                if r.status == 404 {
                    run.done(Status::DeleteComplete, "already gone").await;
                    return Ok(());
                }
                self.ok(&step, r)?;
                let until = Utc::now().date_naive() + Days::days(ROLE_UNDELETE_DAYS);
                run.done(Status::DeleteComplete, &format!("soft-deleted: restorable until {until}; the id stays blocked for up to {ROLE_ID_BLOCKED_DAYS} days")).await;
            }
            TYPE_CRYPTO_KEY => {
                run.begin(id, t, &name, Status::DeleteInProgress, "scheduling the destruction of its versions").await;
                let mut dates = Vec::new();
                let mut destroyed = 0;
                for v in self.key_versions(&run.notes, &name).await? {
                    let state = v["state"].as_str().unwrap_or_default();
                    let Some(vname) = v["name"].as_str() else { continue };
                    if !matches!(state, "ENABLED" | "DISABLED") {
                        if let Some(d) =
                            v["destroyTime"].as_str().and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                        {
                            dates.push(d.date_naive());
                        }
                        continue;
                    }
                    run.cancelled()?;
                    let req =
                        ApiRequest::new(Service::Kms, Method::Post, format!("/v1/{vname}:destroy")).body(json!({}));
                    let step = self.step(
                        &format!("schedule the destruction of key version {vname}"),
                        &req,
                        "cloudkms.cryptoKeyVersions.destroy",
                    );
                    let r = self.call(&run.notes, &step, req).await?;
                    let body = self.ok(&step, r)?;
                    destroyed += 1;
                    match body["destroyTime"].as_str().and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok()) {
                        Some(d) => dates.push(d.date_naive()),
                        None => return Err(super::errors::unexpected(&step, "`destroyTime`", &body)),
                    }
                }
                let date = dates.iter().max().copied();
                if let Some(d) = date {
                    destroy_dates.insert(id.to_string(), d);
                }
                let when =
                    date.map_or_else(|| "no version left to destroy".to_string(), |d| format!("destroyed on {d}"));
                run.done(Status::DeleteComplete, &format!("{destroyed} version(s) scheduled for destruction now; {when}; the key itself can be deleted only after that")).await;
            }
            TYPE_KEY_RING => {
                run.event(
                    id,
                    t,
                    &name,
                    Status::DeleteSkipped,
                    Some("kept: Google Cloud keeps key rings; an empty one costs nothing".into()),
                )
                .await
            }
            TYPE_BUCKET if item.outcome == RevokeOutcome::Deleted => self.empty_and_delete(run, id, &name).await?,
            TYPE_BUCKET => {
                run.event(
                    id,
                    t,
                    &name,
                    Status::DeleteSkipped,
                    Some("kept with your data; the vendor's access to it was removed with its bindings".into()),
                )
                .await
            }
            _ => {
                run.event(
                    id,
                    t,
                    &name,
                    Status::DeleteSkipped,
                    Some("stays enabled (other workloads may use it)".into()),
                )
                .await
            }
        }
        Ok(())
    }

    /// Read the project again: the vendor holds no role, our service accounts are gone, the
    /// roles are deleted, the key has no usable version; list what stays.
    async fn verify(
        &self,
        run: &Run<'_>,
        plan: &RevokePlan,
        retain: &[String],
        mut items: Vec<ResidueItem>,
        destroy_dates: &BTreeMap<String, NaiveDate>,
    ) -> Residue {
        let spec = run.spec;
        let notes = Notes::default();
        let p = spec.project.clone();
        let vendor = format!("serviceAccount:{}", self.inner.vendor.gcp.service_account);
        let mut members = vec![vendor.clone()];
        members
            .extend(spec.service_accounts.iter().map(|a| format!("serviceAccount:{}", spec.service_account_email(a))));
        let mut checks = Vec::new();
        let failed = |what: String, e: CloudError| Check { what, ok: false, detail: format!("could not check: {e}") };
        let what = format!("{vendor} holds no role on project {p}");
        checks.push(match self.read_policy(&notes, &Target::Project).await {
            Ok(policy) => {
                let roles = roles_of(policy.as_ref().unwrap_or(&Value::Null), &vendor);
                if roles.is_empty() {
                    Check { what, ok: true, detail: "projects.getIamPolicy: no binding names it".into() }
                } else {
                    let fix: Vec<String> = roles.iter().map(|r| format!("`gcloud projects remove-iam-policy-binding {p} --member={vendor} --role={r}`")).collect();
                    Check { what, ok: false, detail: format!("projects.getIamPolicy still lists it in {} (not granted by cloudgrant, or re-added since); remove with {}", roles.join(", "), fix.join(" and ")) }
                }
            }
            Err(e) => failed(what, e),
        });
        for item in plan.items().filter(|i| !retain.contains(&i.id)) {
            let name = item.physical_id.clone().unwrap_or_default();
            match item.type_.as_str() {
                TYPE_SERVICE_ACCOUNT => {
                    let what = format!("service account {name} is deleted");
                    let req = ApiRequest::new(Service::Iam, Method::Get, account_path(&p, &name));
                    checks.push(match self.get_opt(&notes, &format!("read service account {name}"), req, "iam.serviceAccounts.get").await {
                        Ok(None) => Check { what, ok: true, detail: "serviceAccounts.get: 404".into() },
                        Ok(Some(_)) => Check { what, ok: false, detail: "serviceAccounts.get still finds it".into() },
                        Err(e) => failed(what, e),
                    });
                }
                TYPE_ROLE => {
                    let what = format!("custom role {name} is deleted");
                    let req = ApiRequest::new(Service::Iam, Method::Get, role_path(&name));
                    checks.push(match self.get_opt(&notes, &format!("read custom role {name}"), req, "iam.roles.get").await {
                        Ok(Some(r)) if r["deleted"].as_bool() == Some(true) => {
                            let until = Utc::now().date_naive() + Days::days(ROLE_UNDELETE_DAYS);
                            items.push(ResidueItem { type_: item.type_.clone(), physical_id: name.clone(), state: "soft_deleted".into(), note: format!("restorable until {until}; Google purges it then; its id stays blocked for up to {ROLE_ID_BLOCKED_DAYS} days") });
                            Check { what, ok: true, detail: "roles.get: deleted: true".into() }
                        }
                        Ok(None) => Check { what, ok: true, detail: "roles.get: 404".into() },
                        Ok(Some(_)) => Check { what, ok: false, detail: "roles.get answers it without `deleted: true`".into() },
                        Err(e) => failed(what, e),
                    });
                }
                TYPE_CRYPTO_KEY | TYPE_BUCKET => {
                    let target = if item.type_ == TYPE_BUCKET { Target::Bucket { name: name.clone() } } else { Target::CryptoKey { name: name.clone() } };
                    let what = format!("neither the vendor nor cloudgrant's service accounts hold a role on {name}");
                    checks.push(match self.read_policy(&notes, &target).await {
                        Ok(None) => Check { what, ok: true, detail: "the resource is gone".into() },
                        Ok(Some(policy)) => {
                            let left = held(&policy, &members);
                            Check { what, ok: left.is_empty(), detail: if left.is_empty() { "getIamPolicy: none".into() } else { format!("getIamPolicy still lists {}", left.join(", ")) } }
                        }
                        Err(e) => failed(what, e),
                    });
                    if item.type_ == TYPE_BUCKET && item.outcome == RevokeOutcome::Deleted {
                        let what = format!("bucket {name} is deleted");
                        let req = ApiRequest::new(Service::Storage, Method::Get, format!("/storage/v1/b/{name}"));
                        checks.push(match self.get_opt(&notes, &format!("read bucket {name}"), req, "storage.buckets.get").await {
                            Ok(None) => {
                                items.push(ResidueItem { type_: item.type_.clone(), physical_id: name.clone(), state: "deleted".into(), note: format!("emptied and deleted as asked; {BUCKET_SOFT_DELETE}: {}", restore_hint(&name)) });
                                Check { what, ok: true, detail: "buckets.get: 404".into() }
                            }
                            Ok(Some(_)) => Check { what, ok: false, detail: format!("buckets.get still finds it; empty and delete it yourself: `gcloud storage rm -r gs://{name}`") },
                            Err(e) => failed(what, e),
                        });
                        continue;
                    }
                    if item.type_ == TYPE_BUCKET {
                        let (objects, bytes) = self.bucket_usage(&notes, &name).await.unwrap_or((0, 0));
                        items.push(ResidueItem { type_: item.type_.clone(), physical_id: name.clone(), state: "kept".into(), note: format!("kept with your data ({objects} objects, {}); delete it yourself when no longer needed: `gcloud storage rm -r gs://{name}`", common::human_bytes(bytes)) });
                        continue;
                    }
                    let what = format!("key {name} has no usable version");
                    checks.push(match self.key_versions(&notes, &name).await {
                        Ok(versions) => {
                            let usable: Vec<&str> = versions.iter().filter(|v| matches!(v["state"].as_str(), Some("ENABLED" | "DISABLED"))).filter_map(|v| v["name"].as_str()).collect();
                            if usable.is_empty() {
                                let date = destroy_dates.get(&item.id).map_or_else(|| "the scheduled date".to_string(), ToString::to_string);
                                items.push(ResidueItem { type_: item.type_.clone(), physical_id: name.clone(), state: "pending_deletion".into(), note: format!("versions destroyed by Google on {date}; to keep the key, restore them before: `gcloud kms keys versions restore VERSION {}`; the key itself can be deleted after that date", Self::key_flags(spec, &item.id)) });
                                Check { what, ok: true, detail: format!("cryptoKeyVersions.list: {} version(s), none ENABLED or DISABLED", versions.len()) }
                            } else {
                                Check { what, ok: false, detail: format!("still usable: {}", usable.join(", ")) }
                            }
                        }
                        Err(e) => failed(what, e),
                    });
                }
                TYPE_KEY_RING => items.push(ResidueItem { type_: item.type_.clone(), physical_id: name, state: "kept".into(), note: "Google Cloud keeps key rings; an empty one costs nothing".into() }),
                TYPE_API => items.push(ResidueItem { type_: item.type_.clone(), physical_id: name.clone(), state: "kept".into(), note: format!("stays enabled; disable it yourself if nothing else uses it: `gcloud services disable {name} --project {p}`") }),
                _ => {}
            }
        }
        Residue {
            cloud: Cloud::Gcp,
            org: plan.installation.org.clone(),
            account: p,
            finished: Utc::now(),
            items,
            checks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_deleted_members() {
        assert_eq!(days_of("2592000s"), Some(30));
        assert_eq!(days_of("86401s"), Some(2));
        assert_eq!(days_of("30d"), None);
        let p = json!({"bindings": [{"role": "roles/r", "members": ["deleted:serviceAccount:a@p.iam.gserviceaccount.com?uid=1", "user:x@y"]}]});
        assert_eq!(held(&p, &["serviceAccount:a@p.iam.gserviceaccount.com".into()]).len(), 1);
        assert!(held(&p, &["serviceAccount:b@p.iam.gserviceaccount.com".into()]).is_empty());
    }

    #[test]
    fn object_names_are_one_path_segment() {
        assert_eq!(percent_encode("exports/2025-06-01/part 0.parquet"), "exports%2F2025-06-01%2Fpart%200.parquet");
        assert_eq!(percent_encode("a~b_c.d-e"), "a~b_c.d-e");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn delete_data_switches_the_kept_bucket() {
        let installation = Installation {
            cloud: Cloud::Gcp,
            vendor_id: "v".into(),
            org: "acme".into(),
            account: "p".into(),
            region: "us-central1".into(),
            created: None,
            groups: Vec::new(),
            outputs: BTreeMap::new(),
            install_id: None,
            health: Default::default(),
            leftovers: Vec::new(),
            strangers: Vec::new(),
        };
        let item = |id: &str, type_: &str, outcome: RevokeOutcome| RevokeItem {
            id: id.into(),
            type_: type_.into(),
            physical_id: Some(format!("{id}-name")),
            outcome,
        };
        let kept = RevokeOutcome::Kept {
            reason: "your data stays (3 objects, 1.1 GiB); cloudgrant never deletes data".into(),
        };
        let mut plan = RevokePlan {
            installation,
            groups: vec![RevokeGroup {
                key: "install".into(),
                name: "install".into(),
                id: "g".into(),
                resources: vec![
                    item("ring", TYPE_KEY_RING, RevokeOutcome::Kept { reason: "kept".into() }),
                    item("data", TYPE_BUCKET, kept.clone()),
                ],
            }],
            warnings: vec![
                "The data key k: anything encrypted with it, including what the vendor's machines wrote to the kept bucket, becomes unreadable.".into(),
                "The data bucket data-name is kept (3 objects, 1.1 GiB).".into(),
            ],
            leftovers: Vec::new(),
        };
        let mut aws = plan.clone();
        aws.installation.cloud = Cloud::Aws;
        assert!(delete_data(&mut aws).is_empty());
        assert_eq!(aws.groups[0].resources[1].outcome, kept);
        let switched = delete_data(&mut plan);
        assert_eq!(switched, vec![DataBucket { name: "data-name".into(), usage: "3 objects, 1.1 GiB".into() }]);
        assert_eq!(plan.groups[0].resources[1].outcome, RevokeOutcome::Deleted);
        assert!(matches!(plan.groups[0].resources[0].outcome, RevokeOutcome::Kept { .. }));
        assert_eq!(plan.warnings.len(), 2);
        assert!(!plan.warnings[0].contains("kept bucket"), "{}", plan.warnings[0]);
        assert!(plan.warnings[1].contains("emptied and deleted (3 objects, 1.1 GiB)"));
        assert!(plan.warnings[1].contains("7 days"));
        assert!(delete_data(&mut plan).is_empty(), "asking twice switches nothing more");
    }
}
