//! After a revoke, the project is read again, every read side by side: the vendor holds no role,
//! our service accounts are gone, the roles are deleted, the key has no usable version; what
//! stays is listed with its reason.

use std::collections::BTreeMap;

use chrono::{Duration as Days, NaiveDate, Utc};
use futures::future::{join_all, BoxFuture};
use futures::FutureExt;
use serde_json::Value;

use super::{held, restore_hint, BUCKET_SOFT_DELETE, ROLE_ID_BLOCKED_DAYS, ROLE_UNDELETE_DAYS};
use crate::cloud::gcp::iam_policy::roles_of;
use crate::cloud::gcp::run::Run;
use crate::cloud::gcp::survey::{account_path, role_path};
use crate::cloud::gcp::transport::{ApiRequest, Method, Service};
use crate::cloud::gcp::{Gcp, Notes};
use crate::cloud::{common, CloudError};
use crate::model::{Check, Cloud, Residue, ResidueItem, RevokeItem, RevokeOutcome, RevokePlan};
use crate::plan::gcp::{
    Spec, Target, TYPE_API, TYPE_BUCKET, TYPE_CRYPTO_KEY, TYPE_KEY_RING, TYPE_ROLE, TYPE_SERVICE_ACCOUNT,
};

/// What one item's verification found: its checks and what stays of it.
type Found = (Vec<Check>, Vec<ResidueItem>);

fn failed(what: String, e: CloudError) -> Check {
    Check { what, ok: false, detail: format!("could not check: {e}") }
}

fn residue(item: &RevokeItem, name: &str, state: &str, note: String) -> ResidueItem {
    ResidueItem { type_: item.type_.clone(), physical_id: name.to_string(), state: state.into(), note }
}

impl Gcp {
    pub(super) async fn verify(
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
        // Every service account the pack's bindings name (a vendor may use more than one) holds
        // nothing any more; on the project, each one a project binding named.
        let mut on_project = vec![vendor.clone()];
        for b in &spec.bindings {
            let Some(m) = spec.member(&b.member).filter(|m| m.starts_with("serviceAccount:")) else { continue };
            if b.on == "project" && !on_project.contains(&m) {
                on_project.push(m.clone());
            }
            if !members.contains(&m) {
                members.push(m);
            }
        }
        let mut reads: Vec<BoxFuture<'_, Found>> =
            on_project.iter().map(|m| self.verify_project(&notes, &p, m).boxed()).collect();
        for item in plan.items().filter(|i| !retain.contains(&i.id)) {
            let name = item.physical_id.clone().unwrap_or_default();
            match item.type_.as_str() {
                TYPE_SERVICE_ACCOUNT | TYPE_ROLE => reads.push(self.verify_deleted(&notes, &p, item, name).boxed()),
                TYPE_CRYPTO_KEY => {
                    reads.push(self.verify_key(&notes, spec, item, name, &members, destroy_dates).boxed())
                }
                TYPE_BUCKET => reads.push(self.verify_bucket(&notes, item, name, &members).boxed()),
                // In the plan's order with the others.
                TYPE_KEY_RING => {
                    let kept =
                        residue(item, &name, "kept", "Google Cloud keeps key rings; an empty one costs nothing".into());
                    reads.push(futures::future::ready((Vec::new(), vec![kept])).boxed())
                }
                TYPE_API => {
                    let kept = residue(item, &name, "kept", format!("stays enabled; disable it yourself if nothing else uses it: `gcloud services disable {name} --project {p}`"));
                    reads.push(futures::future::ready((Vec::new(), vec![kept])).boxed())
                }
                _ => {}
            }
        }
        let mut checks = Vec::new();
        for (c, i) in join_all(reads).await {
            checks.extend(c);
            items.extend(i);
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

    async fn verify_project(&self, notes: &Notes, p: &str, vendor: &str) -> Found {
        let what = format!("{vendor} holds no role on project {p}");
        let check = match self.read_policy(notes, &Target::Project).await {
            Ok(policy) => {
                let roles = roles_of(policy.as_ref().unwrap_or(&Value::Null), vendor);
                if roles.is_empty() {
                    Check { what, ok: true, detail: "projects.getIamPolicy: no binding names it".into() }
                } else {
                    let fix: Vec<String> = roles
                        .iter()
                        .map(|r| {
                            format!("`gcloud projects remove-iam-policy-binding {p} --member={vendor} --role={r}`")
                        })
                        .collect();
                    Check { what, ok: false, detail: format!("projects.getIamPolicy still lists it in {} (not granted by cloudgrant, or re-added since); remove with {}", roles.join(", "), fix.join(" and ")) }
                }
            }
            Err(e) => failed(what, e),
        };
        (vec![check], Vec::new())
    }

    /// A service account or custom role is gone (a role: soft-deleted).
    async fn verify_deleted(&self, notes: &Notes, p: &str, item: &RevokeItem, name: String) -> Found {
        let mut items = Vec::new();
        let check = if item.type_ == TYPE_SERVICE_ACCOUNT {
            let what = format!("service account {name} is deleted");
            let req = ApiRequest::new(Service::Iam, Method::Get, account_path(p, &name));
            match self.get_opt(notes, &format!("read service account {name}"), req, "iam.serviceAccounts.get").await {
                Ok(None) => Check { what, ok: true, detail: "serviceAccounts.get: 404".into() },
                Ok(Some(_)) => Check { what, ok: false, detail: "serviceAccounts.get still finds it".into() },
                Err(e) => failed(what, e),
            }
        } else {
            let what = format!("custom role {name} is deleted");
            let req = ApiRequest::new(Service::Iam, Method::Get, role_path(&name));
            match self.get_opt(notes, &format!("read custom role {name}"), req, "iam.roles.get").await {
                Ok(Some(r)) if r["deleted"].as_bool() == Some(true) => {
                    let until = Utc::now().date_naive() + Days::days(ROLE_UNDELETE_DAYS);
                    items.push(residue(item, &name, "soft_deleted", format!("restorable until {until}; Google purges it then; its id stays blocked for up to {ROLE_ID_BLOCKED_DAYS} days")));
                    Check { what, ok: true, detail: "roles.get: deleted: true".into() }
                }
                Ok(None) => Check { what, ok: true, detail: "roles.get: 404".into() },
                Ok(Some(_)) => Check { what, ok: false, detail: "roles.get answers it without `deleted: true`".into() },
                Err(e) => failed(what, e),
            }
        };
        (vec![check], items)
    }

    /// Nobody of the install holds a role on `target` (`None`: it is gone).
    async fn verify_policy(&self, notes: &Notes, target: &Target, name: &str, members: &[String]) -> Check {
        let what = format!("neither the vendor nor cloudgrant's service accounts hold a role on {name}");
        match self.read_policy(notes, target).await {
            Ok(None) => Check { what, ok: true, detail: "the resource is gone".into() },
            Ok(Some(policy)) => {
                let left = held(&policy, members);
                let detail = if left.is_empty() {
                    "getIamPolicy: none".into()
                } else {
                    format!("getIamPolicy still lists {}", left.join(", "))
                };
                Check { what, ok: left.is_empty(), detail }
            }
            Err(e) => failed(what, e),
        }
    }

    async fn verify_key(
        &self,
        notes: &Notes,
        spec: &Spec,
        item: &RevokeItem,
        name: String,
        members: &[String],
        destroy_dates: &BTreeMap<String, NaiveDate>,
    ) -> Found {
        let target = Target::CryptoKey { name: name.clone() };
        let (policy, versions) =
            futures::join!(self.verify_policy(notes, &target, &name, members), self.key_versions(notes, &name));
        let mut items = Vec::new();
        let what = format!("key {name} has no usable version");
        let check = match versions {
            Ok(versions) => {
                let usable: Vec<&str> = versions
                    .iter()
                    .filter(|v| matches!(v["state"].as_str(), Some("ENABLED" | "DISABLED")))
                    .filter_map(|v| v["name"].as_str())
                    .collect();
                if usable.is_empty() {
                    let date = destroy_dates
                        .get(&item.id)
                        .map_or_else(|| "the scheduled date".to_string(), ToString::to_string);
                    items.push(residue(item, &name, "pending_deletion", format!("versions destroyed by Google on {date}; to keep the key, restore them before: `gcloud kms keys versions restore VERSION {}`; the key itself can be deleted after that date", Self::key_flags(spec, &item.id))));
                    Check {
                        what,
                        ok: true,
                        detail: format!(
                            "cryptoKeyVersions.list: {} version(s), none ENABLED or DISABLED",
                            versions.len()
                        ),
                    }
                } else {
                    Check { what, ok: false, detail: format!("still usable: {}", usable.join(", ")) }
                }
            }
            Err(e) => failed(what, e),
        };
        (vec![policy, check], items)
    }

    /// A kept bucket: nobody of the install holds a role on it, and what it holds. A deleted one:
    /// `buckets.get` answers 404 (then it has no policy either).
    async fn verify_bucket(&self, notes: &Notes, item: &RevokeItem, name: String, members: &[String]) -> Found {
        let target = Target::Bucket { name: name.clone() };
        if item.outcome != RevokeOutcome::Deleted {
            let (policy, usage) =
                futures::join!(self.verify_policy(notes, &target, &name, members), self.bucket_usage(notes, &name));
            let (objects, bytes) = usage.unwrap_or((0, 0));
            let kept = residue(item, &name, "kept", format!("kept with your data ({objects} objects, {}); delete it yourself when no longer needed: `gcloud storage rm -r gs://{name}`", common::human_bytes(bytes)));
            return (vec![policy], vec![kept]);
        }
        let what = format!("bucket {name} is deleted");
        let req = ApiRequest::new(Service::Storage, Method::Get, format!("/storage/v1/b/{name}"));
        match self.get_opt(notes, &format!("read bucket {name}"), req, "storage.buckets.get").await {
            Ok(None) => {
                let policy = Check {
                    what: format!("neither the vendor nor cloudgrant's service accounts hold a role on {name}"),
                    ok: true,
                    detail: "the resource is gone".into(),
                };
                let gone = residue(
                    item,
                    &name,
                    "deleted",
                    format!("emptied and deleted as asked; {BUCKET_SOFT_DELETE}: {}", restore_hint(&name)),
                );
                (vec![policy, Check { what, ok: true, detail: "buckets.get: 404".into() }], vec![gone])
            }
            Ok(Some(_)) => {
                let policy = self.verify_policy(notes, &target, &name, members).await;
                let left = Check {
                    what,
                    ok: false,
                    detail: format!(
                        "buckets.get still finds it; empty and delete it yourself: `gcloud storage rm -r gs://{name}`"
                    ),
                };
                (vec![policy, left], Vec::new())
            }
            Err(e) => (vec![failed(what, e)], Vec::new()),
        }
    }
}
