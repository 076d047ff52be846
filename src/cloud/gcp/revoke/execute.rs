//! Running a revoke, in rounds whose calls go side by side: first the vendor's access ends (every
//! binding removed, one read-modify-write chain per policy; meanwhile only reads: the key's
//! versions, and each service account, role and key read again to check it is still this
//! install's); then, and only then, the service accounts and roles are deleted and the key's
//! versions scheduled for destruction; then the project is read again (verify.rs).

use std::collections::BTreeMap;

use chrono::{Duration as Days, NaiveDate, Utc};
use futures::future::join_all;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ROLE_ID_BLOCKED_DAYS, ROLE_UNDELETE_DAYS};
use crate::cloud::gcp::iam_policy::{Change, Outcome};
use crate::cloud::gcp::run::{Run, Shared};
use crate::cloud::gcp::survey::{self, account_path, binding_parts, role_path};
use crate::cloud::gcp::transport::{ApiRequest, Method, Service};
use crate::cloud::gcp::Gcp;
use crate::cloud::ownership::Verdict;
use crate::cloud::CloudError;
use crate::model::{Residue, ResidueItem, RevokeItem, RevokeOutcome, RevokePlan, Status, Update};
use crate::plan::gcp::{
    Spec, Target, TYPE_BINDING, TYPE_BUCKET, TYPE_CRYPTO_KEY, TYPE_KEY_RING, TYPE_ROLE, TYPE_SERVICE_ACCOUNT,
};

/// How one item of the revoke ended.
type Done<'p> = (&'p RevokeItem, Result<(), CloudError>);

impl Gcp {
    /// Remove what `plan` says, dependents first; `retain` lists logical ids to leave in place.
    pub async fn revoke(
        &self,
        plan: &RevokePlan,
        retain: &[String],
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<Residue, CloudError> {
        // What a preview read before this revoke no longer holds.
        self.inner.surveyed.forget();
        let inst = &plan.installation;
        let spec = self.spec_of_install(inst)?.with_install_id(inst.install_id.clone());
        let mut run = Run::new(self, &spec, &inst.org, &tx, cancel);
        run.group_event(Status::DeleteInProgress, Some("revoking: the vendor's bindings go first".into())).await;
        let mut items: Vec<ResidueItem> = Vec::new();
        let mut todo: Vec<&RevokeItem> = Vec::new();
        for item in plan.items() {
            if !retain.contains(&item.id) {
                todo.push(item);
                continue;
            }
            let name = item.physical_id.clone().unwrap_or_default();
            run.event(&item.id, &item.type_, &name, Status::DeleteSkipped, Some("kept as asked (--retain)".into()))
                .await;
            items.push(ResidueItem {
                type_: item.type_.clone(),
                physical_id: name,
                state: "kept".into(),
                note: "kept as asked (--retain)".into(),
            });
        }
        let run = Shared::new(run);
        let mut destroy_dates: BTreeMap<String, NaiveDate> = BTreeMap::new();
        let outcome = self.revoke_rounds(&run, &spec, &todo, &mut destroy_dates).await;
        let mut run = run.into_inner();
        let done = match outcome {
            Ok(done) => done,
            Err(e) => {
                run.save().await;
                return Err(e);
            }
        };
        let mut root_cause: Option<String> = None;
        for (item, result) in done {
            let Err(e) = result else { continue };
            root_cause.get_or_insert_with(|| format!("{e}. Fix: {}", e.next_step()));
            items.push(ResidueItem {
                type_: item.type_.clone(),
                physical_id: item.physical_id.clone().unwrap_or_default(),
                state: "delete_failed".into(),
                note: format!("{e}. Fix: {}", e.next_step()),
            });
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

    /// The rounds of a revoke; `Err` only when it was cancelled.
    async fn revoke_rounds<'p>(
        &self,
        run: &Shared<'_>,
        spec: &Spec,
        todo: &[&'p RevokeItem],
        destroy_dates: &mut BTreeMap<String, NaiveDate>,
    ) -> Result<Vec<Done<'p>>, CloudError> {
        run.cancelled()?;
        let of = |t: &str| todo.iter().copied().filter(|i| i.type_ == t).collect::<Vec<_>>();
        // Round 1: the bindings, one chain per policy; beside them, reads only.
        let mut chains: Vec<(Target, Vec<&RevokeItem>)> = Vec::new();
        let mut done: Vec<Done<'p>> = Vec::new();
        for item in of(TYPE_BINDING) {
            match self.binding_target(spec, item) {
                Ok(t) => match chains.iter_mut().find(|(x, _)| *x == t) {
                    Some((_, list)) => list.push(item),
                    None => chains.push((t, vec![item])),
                },
                Err(e) => done.push((item, Err(e))),
            }
        }
        let bindings = join_all(chains.iter().map(|(_, list)| async move {
            let mut out = Vec::new();
            let mut known = None;
            for item in list {
                let r = self.remove_binding(run, spec, item, &mut known).await;
                out.push((*item, r));
            }
            out
        }));
        let owned: Vec<&RevokeItem> = todo
            .iter()
            .copied()
            .filter(|i| [TYPE_SERVICE_ACCOUNT, TYPE_ROLE, TYPE_CRYPTO_KEY].contains(&i.type_.as_str()))
            .collect();
        let checks = join_all(owned.iter().map(|item| self.still_ours(run, spec, item)));
        let versions = join_all(of(TYPE_CRYPTO_KEY).into_iter().map(|item| async move {
            let name = item.physical_id.clone().unwrap_or_default();
            (item.id.clone(), self.key_versions(&run.notes, &name).await)
        }));
        let (bindings, checks, versions) = futures::join!(bindings, checks, versions);
        done.extend(bindings.into_iter().flatten());
        let mut versions: BTreeMap<String, Result<Vec<Value>, CloudError>> = versions.into_iter().collect();
        run.cancelled()?;
        // Round 2: what the bindings named, now that the vendor's access is gone.
        let mut deletions = Vec::new();
        for (item, check) in owned.into_iter().zip(checks) {
            if let Err(e) = check {
                done.push((item, Err(e)));
                continue;
            }
            let list = versions.remove(&item.id);
            deletions.push(async move {
                let r = match list {
                    Some(list) => self.destroy_versions(run, item, list).await,
                    None => self.delete_owned(run, spec, item).await,
                };
                (item, r)
            });
        }
        let buckets = join_all(of(TYPE_BUCKET).into_iter().filter(|i| i.outcome == RevokeOutcome::Deleted).map(
            |item| async move {
                let name = item.physical_id.clone().unwrap_or_default();
                (item, self.empty_and_delete(run, &item.id, &name).await)
            },
        ));
        // A bucket asked to go (delete-data) goes last, after the key its data was encrypted with.
        let deleted = join_all(deletions).await;
        let buckets = buckets.await;
        for (item, r) in deleted {
            let r = r.map(|date| {
                if let Some(d) = date {
                    destroy_dates.insert(item.id.clone(), d);
                }
            });
            done.push((item, r));
        }
        done.extend(buckets);
        for item in todo.iter().filter(|i| i.type_ == TYPE_KEY_RING || i.type_ == crate::plan::gcp::TYPE_API) {
            let name = item.physical_id.clone().unwrap_or_default();
            let why = if item.type_ == TYPE_KEY_RING {
                "kept: Google Cloud keeps key rings; an empty one costs nothing"
            } else {
                "stays enabled (other workloads may use it)"
            };
            run.event(&item.id, &item.type_, &name, Status::DeleteSkipped, Some(why.into())).await;
        }
        for item in of(TYPE_BUCKET).into_iter().filter(|i| i.outcome != RevokeOutcome::Deleted) {
            let name = item.physical_id.clone().unwrap_or_default();
            let why = "kept with your data; the vendor's access to it was removed with its bindings";
            run.event(&item.id, &item.type_, &name, Status::DeleteSkipped, Some(why.into())).await;
        }
        Ok(done)
    }

    fn binding_target(&self, spec: &Spec, item: &RevokeItem) -> Result<Target, CloudError> {
        let Some(b) = spec.bindings.iter().find(|b| b.id == item.id) else {
            return Err(CloudError::failed(
                format!("binding {} is not in the definitions of this version", item.id),
                "Remove it yourself (docs/gcp.md shows how), or revoke with the version that made it.",
            ));
        };
        Ok(binding_parts(spec, b)?.2)
    }

    /// Take the binding's member out of its policy; `known` carries the policy between the
    /// bindings of one chain (Google's answer to the previous write).
    async fn remove_binding(
        &self,
        run: &Shared<'_>,
        spec: &Spec,
        item: &RevokeItem,
        known: &mut Option<Value>,
    ) -> Result<(), CloudError> {
        let (id, t) = (item.id.as_str(), item.type_.as_str());
        let name = item.physical_id.clone().unwrap_or_default();
        let Some(b) = spec.bindings.iter().find(|b| b.id == id) else {
            return self.binding_target(spec, item).map(|_| ());
        };
        let (role, member, target) = binding_parts(spec, b)?;
        run.begin(id, t, &name, Status::DeleteInProgress, "removing the member from the IAM policy").await;
        let result = self.update_policy_from(&run.notes, &target, &role, &member, Change::Remove, known.take()).await;
        let (outcome, now) = match result {
            Ok(r) => r,
            Err(e) => {
                run.fail_one(id, &e).await;
                return Err(e);
            }
        };
        *known = now;
        let reason = match outcome {
            Outcome::Unchanged => "was not in the policy (removed already)".to_string(),
            Outcome::Written { retries: 0 } => "removed from the IAM policy (every other binding kept)".into(),
            Outcome::Written { retries } => format!("removed from the IAM policy after {retries} retries (the policy was changed meanwhile; every other binding kept)"),
            Outcome::NoResource => "its resource no longer exists".into(),
        };
        run.finish(id, Status::DeleteComplete, &reason).await;
        Ok(())
    }

    /// Read again right before deleting: what has this name must still be this install's.
    async fn still_ours(&self, run: &Shared<'_>, spec: &Spec, item: &RevokeItem) -> Result<(), CloudError> {
        let name = item.physical_id.clone().unwrap_or_default();
        let p = &spec.project;
        let (req, permission) = match item.type_.as_str() {
            TYPE_SERVICE_ACCOUNT => {
                (ApiRequest::new(Service::Iam, Method::Get, account_path(p, &name)), "iam.serviceAccounts.get")
            }
            TYPE_ROLE => (ApiRequest::new(Service::Iam, Method::Get, role_path(&name)), "iam.roles.get"),
            _ => (ApiRequest::new(Service::Kms, Method::Get, format!("/v1/{name}")), "cloudkms.cryptoKeys.get"),
        };
        if let Some(found) = self.get_opt(&run.notes, &format!("read {name}"), req, permission).await? {
            if let Verdict::NotThisInstall(why) = survey::verdict(spec, &name, &found) {
                return Err(CloudError::NotThisInstall(Box::new(survey::stranger(spec, &item.type_, &name, why))));
            }
        }
        Ok(())
    }

    /// Delete a service account or a custom role (soft-deleted by Google).
    async fn delete_owned(
        &self,
        run: &Shared<'_>,
        spec: &Spec,
        item: &RevokeItem,
    ) -> Result<Option<NaiveDate>, CloudError> {
        let (id, t) = (item.id.as_str(), item.type_.as_str());
        let name = item.physical_id.clone().unwrap_or_default();
        let role = t == TYPE_ROLE;
        let (req, what, permission, begin) = if role {
            (
                ApiRequest::new(Service::Iam, Method::Delete, role_path(&name)),
                format!("delete custom role {name}"),
                "iam.roles.delete",
                "deleting (Google soft-deletes custom roles)",
            )
        } else {
            (
                ApiRequest::new(Service::Iam, Method::Delete, account_path(&spec.project, &name)),
                format!("delete service account {name}"),
                "iam.serviceAccounts.delete",
                "deleting",
            )
        };
        run.begin(id, t, &name, Status::DeleteInProgress, begin).await;
        let step = self.step(&what, &req, permission);
        let result = async {
            let r = self.call(&run.notes, &step, req).await?;
            if r.status == 404 {
                return Ok("already gone".to_string());
            }
            self.ok(&step, r)?;
            Ok(if role {
                let until = Utc::now().date_naive() + Days::days(ROLE_UNDELETE_DAYS);
                format!("soft-deleted: restorable until {until}; the id stays blocked for up to {ROLE_ID_BLOCKED_DAYS} days")
            } else {
                "deleted".to_string()
            })
        }
        .await;
        match result {
            Ok(reason) => {
                run.finish(id, Status::DeleteComplete, &reason).await;
                Ok(None)
            }
            Err(e) => {
                run.fail_one(id, &e).await;
                Err(e)
            }
        }
    }

    /// Schedule the destruction of every usable version of a key (side by side).
    async fn destroy_versions(
        &self,
        run: &Shared<'_>,
        item: &RevokeItem,
        versions: Result<Vec<Value>, CloudError>,
    ) -> Result<Option<NaiveDate>, CloudError> {
        let (id, t) = (item.id.as_str(), item.type_.as_str());
        let name = item.physical_id.clone().unwrap_or_default();
        run.begin(id, t, &name, Status::DeleteInProgress, "scheduling the destruction of its versions").await;
        let versions = match versions {
            Ok(v) => v,
            Err(e) => {
                run.fail_one(id, &e).await;
                return Err(e);
            }
        };
        let mut dates = Vec::new();
        let mut usable = Vec::new();
        for v in &versions {
            let state = v["state"].as_str().unwrap_or_default();
            let Some(vname) = v["name"].as_str() else { continue };
            if matches!(state, "ENABLED" | "DISABLED") {
                usable.push(vname.to_string());
            } else if let Some(d) = v["destroyTime"].as_str().and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
            {
                dates.push(d.date_naive());
            }
        }
        let destroyed = usable.len();
        let results = join_all(usable.iter().map(|vname| async move {
            let req = ApiRequest::new(Service::Kms, Method::Post, format!("/v1/{vname}:destroy")).body(json!({}));
            let step = self.step(
                &format!("schedule the destruction of key version {vname}"),
                &req,
                "cloudkms.cryptoKeyVersions.destroy",
            );
            let r = self.call(&run.notes, &step, req).await?;
            let body = self.ok(&step, r)?;
            match body["destroyTime"].as_str().and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok()) {
                Some(d) => Ok(d.date_naive()),
                None => Err(crate::cloud::gcp::errors::unexpected(&step, "`destroyTime`", &body)),
            }
        }))
        .await;
        for r in results {
            match r {
                Ok(d) => dates.push(d),
                Err(e) => {
                    run.fail_one(id, &e).await;
                    return Err(e);
                }
            }
        }
        let date = dates.iter().max().copied();
        let when = date.map_or_else(|| "no version left to destroy".to_string(), |d| format!("destroyed on {d}"));
        run.finish(id, Status::DeleteComplete, &format!("{destroyed} version(s) scheduled for destruction now; {when}; the key itself can be deleted only after that")).await;
        Ok(date)
    }
}
