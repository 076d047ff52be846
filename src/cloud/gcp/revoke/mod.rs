//! Revoke: bindings first (the vendor's access ends before anything else is touched), then the
//! service accounts, the custom roles (soft-deleted by Google), the key's versions (scheduled for
//! destruction); the key ring, the bucket and the APIs stay, each with the reason. Then the
//! project is read again to verify that the vendor holds nothing any more.

use std::collections::BTreeMap;

use chrono::{Duration as Days, Utc};
use futures::future::try_join_all;
use futures::StreamExt;
use serde_json::Value;

use super::run::Shared;
use super::transport::{ApiRequest, Method, Service};
use super::{Gcp, Notes};
use crate::cloud::{common, CloudError};
use crate::model::{Cloud, Installation, RevokeGroup, RevokeItem, RevokeOutcome, RevokePlan, Status};
use crate::plan::gcp::{
    Spec, TYPE_API, TYPE_BINDING, TYPE_BUCKET, TYPE_CRYPTO_KEY, TYPE_KEY_RING, TYPE_ROLE, TYPE_SERVICE_ACCOUNT,
};

mod execute;
mod verify;

/// Object deletes in flight at once when revoke empties a bucket.
const OBJECT_DELETES_IN_FLIGHT: usize = 8;

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

    /// Empty the bucket (every object, one DELETE each, a few side by side), then delete it.
    async fn empty_and_delete(&self, run: &Shared<'_>, id: &str, name: &str) -> Result<(), CloudError> {
        let r = self.empty_and_delete_calls(run, id, name).await;
        if let Err(e) = &r {
            run.fail_one(id, e).await;
        }
        r
    }

    async fn empty_and_delete_calls(&self, run: &Shared<'_>, id: &str, name: &str) -> Result<(), CloudError> {
        let objects = self.bucket_objects(&run.notes, name).await?;
        let bytes: u64 = objects.iter().map(|(_, b)| b).sum();
        let usage = format!("{} objects, {}", objects.len(), common::human_bytes(bytes));
        run.begin(id, TYPE_BUCKET, name, Status::DeleteInProgress, &format!("emptying: {usage}")).await;
        let names: Vec<String> = objects.iter().map(|(object, _)| object.clone()).collect();
        let deletes = futures::stream::iter(names.into_iter().map(|object| async move {
            run.cancelled()?;
            let path = format!("/storage/v1/b/{name}/o/{}", percent_encode(&object));
            let req = ApiRequest::new(Service::Storage, Method::Delete, path);
            let step = self.step(&format!("delete object {object} of bucket {name}"), &req, "storage.objects.delete");
            let r = self.call(&run.notes, &step, req).await?;
            if r.status != 404 {
                self.ok(&step, r)?;
            }
            Ok::<_, CloudError>(())
        }));
        // Bounded: a bucket may hold many objects.
        let results: Vec<Result<(), CloudError>> = deletes.buffer_unordered(OBJECT_DELETES_IN_FLIGHT).collect().await;
        results.into_iter().collect::<Result<Vec<()>, CloudError>>()?;
        let req = ApiRequest::new(Service::Storage, Method::Delete, format!("/storage/v1/b/{name}"));
        let step = self.step(&format!("delete bucket {name}"), &req, "storage.buckets.delete");
        let r = self.call(&run.notes, &step, req).await?;
        let gone = r.status == 404;
        if !gone {
            self.ok(&step, r)?;
        }
        run.finish(
            id,
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
        // The reads the plan needs (each key, each bucket's objects), side by side.
        let live = || g.resources.iter().filter(|r| r.status != Status::DeleteComplete);
        let keys = try_join_all(live().filter(|r| r.type_ == TYPE_CRYPTO_KEY).map(|r| async {
            let name = r.physical_id.clone().unwrap_or_default();
            let req = ApiRequest::new(Service::Kms, Method::Get, format!("/v1/{name}"));
            let key = self.get_opt(&notes, &format!("read key {name}"), req, "cloudkms.cryptoKeys.get").await?;
            Ok::<_, CloudError>((r.id.clone(), key))
        }));
        let usage = try_join_all(live().filter(|r| r.type_ == TYPE_BUCKET).map(|r| async {
            let name = r.physical_id.clone().unwrap_or_default();
            Ok::<_, CloudError>((r.id.clone(), self.bucket_usage(&notes, &name).await?))
        }));
        let (keys, usage) = futures::try_join!(keys, usage)?;
        let mut keys: BTreeMap<String, Option<Value>> = keys.into_iter().collect();
        let usage: BTreeMap<String, (u64, u64)> = usage.into_iter().collect();
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
                        let key = keys.remove(&r.id).flatten();
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
                        let (objects, bytes) = usage.get(&r.id).copied().unwrap_or_default();
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
