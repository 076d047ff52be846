//! Creating or updating the install, in the order of the definitions: APIs, custom roles,
//! service accounts, key ring, key, bucket, bindings. One event per call; a re-run changes only
//! what differs and says "exists, unchanged" for the rest. The manifest is written after every
//! step.

use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::errors::{self, GoogleError};
use super::iam_policy::{Change, Outcome};
use super::run::{first_error, planned, Run, Shared};
use super::survey::{self, account_path, binding_name, binding_parts, role_path, Survey};
use super::transport::{ApiRequest, Method, Service};
use super::{Gcp, Notes};
use crate::cloud::{fresh, CloudError};
use crate::model::{Installation, Plan, Status, Update};
use crate::plan::gcp::{
    Binding, Bucket, CryptoKey, CustomRole, KeyRing, ServiceAccount, Target, TYPE_API, TYPE_BINDING, TYPE_BUCKET,
    TYPE_CRYPTO_KEY, TYPE_KEY_RING, TYPE_ROLE, TYPE_SERVICE_ACCOUNT,
};

/// Tries of a GET that may 404 right after a create (IAM is eventually consistent).
const VISIBLE_TRIES: u32 = 6;
/// The first wait before reading a just-created service account again.
const FIRST_WAIT: Duration = Duration::from_millis(200);
/// The first two waits of an operation's polls.
const EARLY_WAIT: Duration = Duration::from_secs(1);

/// The wait before poll `n` (from 1) of an operation: the first two polls 1 s and 2 s after
/// the call (enabling APIs takes seconds: an operation of 2 s is seen done by the second poll,
/// an earlier one would only answer "not yet"), then every `interval`; never more than `interval`.
pub(crate) fn poll_wait(interval: Duration, n: u32) -> Duration {
    if n <= 2 {
        EARLY_WAIT.min(interval)
    } else {
        interval
    }
}

impl Gcp {
    /// Create or update everything in `plan`; sends events and a final [`Update::Applied`].
    pub async fn apply(
        &self,
        plan: &Plan,
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<Installation, CloudError> {
        let spec = self.spec_for_plan(plan)?;
        let notes = Notes::to(&tx);
        // The preview's survey when it is fresh and for this plan (crate::cloud::fresh): every
        // write below is refused by Google where it meets something other than what was read.
        let found = match self.inner.surveyed.take(plan) {
            Some((found, age)) => {
                notes.log(fresh::reused_note(age, "each create is refused by Google where the name was taken meanwhile (then it is read and judged again), and each update carries the etag or generation of its read")).await;
                found
            }
            None => self.survey(&notes, &spec).await?,
        };
        found.refuse_foreign(&spec)?;
        found.refuse_unusable(&spec)?;
        let mut run = Run::new(self, &spec, &plan.org, &tx, cancel);
        run.rerun = found.anything(&spec);
        let (start, ok_status, failed) = if run.rerun {
            (Status::UpdateInProgress, Status::UpdateComplete, Status::UpdateFailed)
        } else {
            (Status::CreateInProgress, Status::CreateComplete, Status::CreateFailed)
        };
        let n = planned(&spec).len();
        let what = if run.rerun { "updating the existing install" } else { "creating" };
        run.group_event(start, Some(format!("{what}: {n} resources in project {}", spec.project))).await;
        let shared = Shared::new(run);
        let result = self.apply_all(&shared, &found).await;
        let mut run = shared.into_inner();
        match result {
            Ok(()) => {
                let reason = if run.rerun { "every resource is as defined" } else { "every resource was created" };
                run.group_event(ok_status, Some(reason.into())).await;
                let inst = self.installation_of(&spec, &plan.org, run.resources(), ok_status, None, Some(Utc::now()));
                notes.send(Update::Applied { installation: inst.clone(), ok: true, root_cause: None }).await;
                Ok(inst)
            }
            Err(CloudError::Cancelled) => {
                run.save().await;
                Err(CloudError::Cancelled)
            }
            Err(e) => {
                run.fail_current(&e).await;
                let cause = format!("{e}. Fix: {}", e.next_step());
                run.group_event(failed, Some(cause.clone())).await;
                let inst = self.installation_of(
                    &spec,
                    &plan.org,
                    run.resources(),
                    failed,
                    Some(cause.clone()),
                    Some(Utc::now()),
                );
                notes.send(Update::Applied { installation: inst, ok: false, root_cause: Some(cause) }).await;
                Err(e)
            }
        }
    }

    /// In rounds, each round's calls side by side: the API operation and, beside it, the bucket
    /// (storage is enabled on every project unless someone disabled it: then the bucket waits);
    /// once the APIs are on, the roles, service accounts and key rings together, each key after
    /// its ring; then the bindings, one read-modify-write chain per policy, the chains side by
    /// side (each write carries the etag of what it read, so no chain can undo another's change).
    async fn apply_all(&self, run: &Shared<'_>, found: &Survey) -> Result<(), CloudError> {
        let spec = run.spec;
        let storage_waits =
            spec.apis.iter().any(|a| a.service == "storage.googleapis.com" && !found.enabled.contains(&a.service));
        let buckets = async {
            first_error(
                join_all(spec.buckets.iter().map(|b| async {
                    run.cancelled()?;
                    self.apply_bucket(run, b, found.bucket(&b.id)).await
                }))
                .await,
            )
        };
        let rest = async {
            self.apply_apis(run, found).await?;
            run.cancelled()?;
            let roles = join_all(spec.roles.iter().map(|r| self.apply_role(run, r, found.role(&r.id))));
            let accounts =
                join_all(spec.service_accounts.iter().map(|a| self.apply_account(run, a, found.account(&a.id))));
            let keys = async {
                first_error(
                    join_all(spec.key_rings.iter().map(|k| self.apply_key_ring(run, k, found.key_ring(&k.id)))).await,
                )?;
                run.cancelled()?;
                first_error(join_all(spec.crypto_keys.iter().map(|k| self.apply_key(run, k, found.key(&k.id)))).await)
            };
            let (roles, accounts, keys) = futures::join!(roles, accounts, keys);
            first_error(roles.into_iter().chain(accounts).chain([keys]))
        };
        if storage_waits {
            rest.await?;
            buckets.await?;
        } else {
            let (b, r) = futures::join!(buckets, rest);
            first_error([r, b])?;
        }
        run.cancelled()?;
        // One chain per policy, in the definitions' order within it.
        let mut chains: Vec<(Target, Vec<&Binding>)> = Vec::new();
        for b in &spec.bindings {
            let (_, _, target) = binding_parts(spec, b)?;
            match chains.iter_mut().find(|(t, _)| *t == target) {
                Some((_, list)) => list.push(b),
                None => chains.push((target, vec![b])),
            }
        }
        let chains = chains.into_iter().map(|(target, list)| async move {
            // The survey's read of this policy serves the first write (its etag is checked then).
            let mut known = found.policies.get(&target.full_name(&spec.project)).cloned();
            for b in list {
                run.cancelled()?;
                let name = binding_name(spec, b);
                if found.binding_present(spec, b) {
                    run.unchanged(&b.id, TYPE_BINDING, &name, "exists, unchanged").await;
                    continue;
                }
                let (role, member, _) = binding_parts(spec, b)?;
                run.begin(&b.id, TYPE_BINDING, &name, Status::CreateInProgress, "adding the member to the IAM policy")
                    .await;
                let (outcome, now) =
                    self.update_policy_from(&run.notes, &target, &role, &member, Change::Add, known.take()).await?;
                known = now;
                match outcome {
                    Outcome::Unchanged => run.finish(&b.id, Status::CreateComplete, "already in the policy").await,
                    Outcome::Written { retries: 0 } => {
                        run.finish(&b.id, Status::CreateComplete, "added to the IAM policy").await
                    }
                    Outcome::Written { retries } => {
                        let why = format!("added to the IAM policy (after {retries} retries: the policy was changed meanwhile; every other binding was kept)");
                        run.finish(&b.id, Status::CreateComplete, &why).await
                    }
                    Outcome::NoResource => {
                        return Err(CloudError::failed(
                            format!("binding {}: {} does not exist (any more)", b.id, target.full_name(&spec.project)),
                            "Run init again: it creates what is missing first.",
                        ))
                    }
                }
            }
            Ok(())
        });
        first_error(join_all(chains).await)
    }

    async fn apply_apis(&self, run: &Shared<'_>, found: &Survey) -> Result<(), CloudError> {
        let spec = run.spec;
        let missing: Vec<_> = spec.apis.iter().filter(|a| !found.enabled.contains(&a.service)).collect();
        for a in spec.apis.iter().filter(|a| found.enabled.contains(&a.service)) {
            run.unchanged(&a.id, TYPE_API, &a.service, "already enabled").await;
        }
        if missing.is_empty() {
            return Ok(());
        }
        run.cancelled()?;
        for a in &missing {
            run.begin(&a.id, TYPE_API, &a.service, Status::CreateInProgress, "enabling (services:batchEnable)").await;
        }
        let ids: Vec<&str> = missing.iter().map(|a| a.service.as_str()).collect();
        let p = &spec.project;
        let req =
            ApiRequest::new(Service::ServiceUsage, Method::Post, format!("/v1/projects/{p}/services:batchEnable"))
                .body(json!({"serviceIds": ids}));
        let step = self.step(&format!("enable {}", ids.join(", ")), &req, "serviceusage.services.enable");
        let r = self.call(&run.notes, &step, req).await?;
        let mut op = self.ok(&step, r)?;
        let mut polls = 0;
        // The wait runs from when the last poll was sent: a slow answer shortens the next wait.
        let mut sent = tokio::time::Instant::now();
        while op["done"].as_bool() != Some(true) {
            let Some(name) = op["name"].as_str().map(String::from) else {
                return Err(errors::unexpected(&step, "`done` or an operation `name`", &op));
            };
            if run.cancelled().is_err() {
                let text = format!(
                    "stopped watching: enabling {} carries on in Google Cloud (operation {name}); run init again to finish",
                    ids.join(", ")
                );
                run.notes.log(text).await;
                return Err(CloudError::Cancelled);
            }
            polls += 1;
            tokio::time::sleep_until(sent + poll_wait(self.inner.options.poll_interval, polls)).await;
            sent = tokio::time::Instant::now();
            let req = ApiRequest::new(Service::ServiceUsage, Method::Get, format!("/v1/{name}"));
            let poll = self.step(&format!("wait for {}", ids.join(", ")), &req, "serviceusage.services.enable");
            let r = self.call(&run.notes, &poll, req).await?;
            op = self.ok(&poll, r)?;
        }
        if op["error"].is_object() {
            return Err(errors::google_error(&step, &GoogleError::from_operation(&op["error"]), p));
        }
        for a in &missing {
            run.finish(&a.id, Status::CreateComplete, "enabled").await;
        }
        Ok(())
    }

    async fn apply_role(&self, run: &Shared<'_>, r: &CustomRole, found: Option<Value>) -> Result<(), CloudError> {
        let spec = run.spec;
        let name = spec.role_name(r);
        let found = match found {
            Some(f) => f,
            None => {
                run.begin(&r.id, TYPE_ROLE, &name, Status::CreateInProgress, "creating").await;
                let req = ApiRequest::new(Service::Iam, Method::Post, format!("/v1/projects/{}/roles", spec.project))
                    .body(json!({"roleId": r.role_id, "role": survey::role_body(spec, r)}));
                let step = self.step(&format!("create custom role {name}"), &req, "iam.roles.create");
                let resp = self.call(&run.notes, &step, req).await?;
                if resp.status != 409 {
                    self.ok(&step, resp)?;
                    run.finish(&r.id, Status::CreateComplete, "created").await;
                    return Ok(());
                }
                // Made meanwhile, or soft-deleted (its id stays taken): see what it is.
                let req = ApiRequest::new(Service::Iam, Method::Get, role_path(&name));
                let again = self.get_opt(&run.notes, &format!("read custom role {name}"), req, "iam.roles.get").await?;
                match again {
                    Some(f) => f,
                    None => {
                        return Err(CloudError::failed(
                            format!(
                                "create custom role {name}: Google answered 409 (exists) but reading it answers 404"
                            ),
                            "Wait a minute and run again.",
                        ))
                    }
                }
            }
        };
        if !survey::verdict(spec, &name, &found).is_ours() {
            return Err(CloudError::failed(
                format!("custom role {name} exists but was not made by cloudgrant for install {}", spec.install),
                format!("Choose another org name, or delete the role yourself if it is a leftover: `gcloud iam roles delete {} --project {}`.", r.role_id, spec.project),
            ));
        }
        // Each update carries the etag of the role as read: Google refuses it (409) when the role
        // changed since.
        let patch = |etag: &Value| {
            let mut body = survey::role_body(spec, r);
            body["etag"] = etag.clone();
            ApiRequest::new(Service::Iam, Method::Patch, role_path(&name))
                .query("updateMask", "title,description,includedPermissions,stage")
                .body(body)
        };
        if found["deleted"].as_bool() == Some(true) {
            run.begin(
                &r.id,
                TYPE_ROLE,
                &name,
                Status::CreateInProgress,
                "soft-deleted by an earlier revoke: restoring it (undelete), then updating it",
            )
            .await;
            let req = ApiRequest::new(Service::Iam, Method::Post, format!("{}:undelete", role_path(&name)))
                .body(json!({"etag": found["etag"]}));
            let step = self.step(&format!("undelete custom role {name}"), &req, "iam.roles.undelete");
            let resp = self.call(&run.notes, &step, req).await?;
            let restored = self.ok(&step, resp)?;
            let req = patch(&restored["etag"]);
            let step = self.step(&format!("update custom role {name}"), &req, "iam.roles.update");
            let resp = self.call(&run.notes, &step, req).await?;
            self.ok(&step, changed_since(&step, &format!("custom role {name}"), resp)?)?;
            run.finish(&r.id, Status::CreateComplete, "restored (undeleted) and updated to the definitions").await;
            return Ok(());
        }
        let diff = survey::role_diff(spec, r, &found);
        if diff.is_empty() {
            run.unchanged(&r.id, TYPE_ROLE, &name, "exists, unchanged").await;
            return Ok(());
        }
        run.begin(&r.id, TYPE_ROLE, &name, Status::UpdateInProgress, &format!("updating: {}", diff.join("; "))).await;
        let req = patch(&found["etag"]);
        let step = self.step(&format!("update custom role {name}"), &req, "iam.roles.update");
        let resp = self.call(&run.notes, &step, req).await?;
        self.ok(&step, changed_since(&step, &format!("custom role {name}"), resp)?)?;
        run.finish(&r.id, Status::UpdateComplete, &format!("updated: {}", diff.join("; "))).await;
        Ok(())
    }

    /// GET a service account, retrying 404s for a while (right after creating it).
    async fn wait_visible(&self, notes: &Notes, email: &str) -> Result<Value, CloudError> {
        let path = account_path(&self.inner.project, email);
        for attempt in 1..=VISIBLE_TRIES {
            let req = ApiRequest::new(Service::Iam, Method::Get, path.clone());
            let what = format!("read service account {email}");
            if let Some(v) = self.get_opt(notes, &what, req, "iam.serviceAccounts.get").await? {
                return Ok(v);
            }
            if attempt < VISIBLE_TRIES {
                let wait = super::backoff(FIRST_WAIT.min(self.inner.options.poll_interval), attempt);
                notes.log(format!("service account {email}: not visible yet (IAM is eventually consistent); reading it again in {} ms ({attempt}/{})", wait.as_millis(), VISIBLE_TRIES - 1)).await;
                tokio::time::sleep(wait).await;
            }
        }
        Err(CloudError::failed(
            format!(
                "service account {email} was created, but GET {path} still answers 404 after {VISIBLE_TRIES} tries"
            ),
            "IAM is eventually consistent: wait a minute and run init again (it reuses what exists).",
        ))
    }

    async fn apply_account(
        &self,
        run: &Shared<'_>,
        a: &ServiceAccount,
        found: Option<Value>,
    ) -> Result<(), CloudError> {
        let spec = run.spec;
        let email = spec.service_account_email(a);
        if found.is_some() {
            run.unchanged(&a.id, TYPE_SERVICE_ACCOUNT, &email, "exists, unchanged").await;
            return Ok(());
        }
        run.begin(&a.id, TYPE_SERVICE_ACCOUNT, &email, Status::CreateInProgress, "creating").await;
        let req = ApiRequest::new(Service::Iam, Method::Post, format!("/v1/projects/{}/serviceAccounts", spec.project))
            .body(json!({"accountId": a.account_id, "serviceAccount": {"displayName": a.display_name, "description": spec.description(&a.why)}}));
        let step = self.step(&format!("create service account {email}"), &req, "iam.serviceAccounts.create");
        let resp = self.call(&run.notes, &step, req).await?;
        let existed = resp.status == 409;
        if !existed {
            self.ok(&step, resp)?;
        }
        let got = self.wait_visible(&run.notes, &email).await?;
        if existed && !survey::verdict(spec, &email, &got).is_ours() {
            return Err(CloudError::failed(
                format!("service account {email} exists but was not made by cloudgrant for install {}", spec.install),
                format!("Choose another org name, or delete it yourself if it is a leftover: `gcloud iam service-accounts delete {email} --project {}`.", spec.project),
            ));
        }
        run.finish(
            &a.id,
            Status::CreateComplete,
            if existed { "exists already (made meanwhile): reused" } else { "created" },
        )
        .await;
        Ok(())
    }

    async fn apply_key_ring(&self, run: &Shared<'_>, k: &KeyRing, found: Option<Value>) -> Result<(), CloudError> {
        let spec = run.spec;
        let name = spec.key_ring_name(k);
        if found.is_some() {
            run.unchanged(&k.id, TYPE_KEY_RING, &name, "exists, reused (Google never deletes key rings)").await;
            return Ok(());
        }
        run.begin(&k.id, TYPE_KEY_RING, &name, Status::CreateInProgress, "creating").await;
        let req = ApiRequest::new(
            Service::Kms,
            Method::Post,
            format!("/v1/projects/{}/locations/{}/keyRings", spec.project, k.location),
        )
        .query("keyRingId", k.name.clone())
        .body(json!({}));
        let step = self.step(&format!("create key ring {name}"), &req, "cloudkms.keyRings.create");
        let resp = self.call(&run.notes, &step, req).await?;
        if resp.status == 409 {
            run.finish(&k.id, Status::CreateComplete, "exists already: reused").await;
            return Ok(());
        }
        self.ok(&step, resp)?;
        run.finish(&k.id, Status::CreateComplete, "created").await;
        Ok(())
    }

    async fn apply_key(&self, run: &Shared<'_>, k: &CryptoKey, found: Option<Value>) -> Result<(), CloudError> {
        let spec = run.spec;
        let name = spec.crypto_key_name(k);
        let ring = name.rsplit_once("/cryptoKeys/").map_or(name.clone(), |(r, _)| r.to_string());
        let duration = format!("{}s", u64::from(k.destroy_scheduled_days) * 86_400);
        let Some(found) = found else {
            run.begin(&k.id, TYPE_CRYPTO_KEY, &name, Status::CreateInProgress, "creating").await;
            let req = ApiRequest::new(Service::Kms, Method::Post, format!("/v1/{ring}/cryptoKeys"))
                .query("cryptoKeyId", k.name.clone())
                .body(json!({"purpose": k.purpose, "labels": survey::labels_json(spec), "destroyScheduledDuration": duration}));
            let step = self.step(&format!("create key {name}"), &req, "cloudkms.cryptoKeys.create");
            let resp = self.call(&run.notes, &step, req).await?;
            if resp.status == 409 {
                return Err(CloudError::failed(
                    format!(
                        "create key {name}: Google answered 409 (exists) although reading it answered 404 a moment ago"
                    ),
                    "Something else is creating it; wait a minute and run again.",
                ));
            }
            self.ok(&step, resp)?;
            run.finish(
                &k.id,
                Status::CreateComplete,
                &format!(
                    "created; versions are destroyed {} days after a revoke schedules it",
                    k.destroy_scheduled_days
                ),
            )
            .await;
            return Ok(());
        };
        if found["destroyScheduledDuration"].as_str().is_some_and(|d| d != duration) {
            run.notes.log(format!("key {name}: destroyScheduledDuration is {} (the definitions say {duration}); Google does not allow changing it", found["destroyScheduledDuration"].as_str().unwrap_or_default())).await;
        }
        if let Some(e) = survey::key_unusable(spec, k, &found) {
            run.begin(&k.id, TYPE_CRYPTO_KEY, &name, Status::UpdateInProgress, "checking its primary version").await;
            return Err(e);
        }
        if survey::labels_cover(&found["labels"], spec) {
            run.unchanged(&k.id, TYPE_CRYPTO_KEY, &name, "exists, unchanged").await;
            return Ok(());
        }
        run.begin(&k.id, TYPE_CRYPTO_KEY, &name, Status::UpdateInProgress, "setting its labels").await;
        let req = ApiRequest::new(Service::Kms, Method::Patch, format!("/v1/{name}"))
            .query("updateMask", "labels")
            .body(json!({"labels": survey::merged_labels(&found["labels"], spec)}));
        let step = self.step(&format!("label key {name}"), &req, "cloudkms.cryptoKeys.update");
        let resp = self.call(&run.notes, &step, req).await?;
        self.ok(&step, resp)?;
        run.finish(&k.id, Status::UpdateComplete, "labels set").await;
        Ok(())
    }

    async fn apply_bucket(&self, run: &Shared<'_>, b: &Bucket, found: Option<Value>) -> Result<(), CloudError> {
        let spec = run.spec;
        let name = b.name.clone();
        let found = match found {
            Some(f) => f,
            None => {
                run.begin(&b.id, TYPE_BUCKET, &name, Status::CreateInProgress, "creating").await;
                let req = ApiRequest::new(Service::Storage, Method::Post, "/storage/v1/b")
                    .query("project", spec.project.clone())
                    .body(json!({"name": name, "location": b.location, "labels": survey::labels_json(spec),
                        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": b.uniform_bucket_level_access}}}));
                let step = self.step(&format!("create bucket {name}"), &req, "storage.buckets.create");
                let resp = self.call(&run.notes, &step, req).await?;
                if resp.status != 409 {
                    self.ok(&step, resp)?;
                    run.finish(&b.id, Status::CreateComplete, "created").await;
                    return Ok(());
                }
                let g = GoogleError::parse(&resp);
                if !g.message.to_lowercase().contains("already own") {
                    let org = spec
                        .install
                        .strip_prefix(&format!("{}-", self.inner.vendor.vendor.id))
                        .unwrap_or(&spec.install);
                    return Err(CloudError::failed(
                        format!("create bucket {name}: {} answered {}: the name is taken by a bucket in another project (bucket names are global across Google Cloud)", step.call, g.summary()),
                        format!("The bucket is named <project>-<org>-data: choose another org name (e.g. `{org}-2` instead of `{org}`) and run init again; what was created so far for `{org}` stays findable with `cloudgrant status`, and `cloudgrant revoke --org {org}` removes it."),
                    ));
                }
                let req = ApiRequest::new(Service::Storage, Method::Get, format!("/storage/v1/b/{name}"));
                let again =
                    self.get_opt(&run.notes, &format!("read bucket {name}"), req, "storage.buckets.get").await?;
                again.ok_or_else(|| {
                    CloudError::failed(
                        format!("bucket {name}: Google says you own it, but reading it answers 404"),
                        "Wait a minute and run again.",
                    )
                })?
            }
        };
        if let Some(loc) = found["location"].as_str().filter(|l| !l.eq_ignore_ascii_case(&b.location)) {
            run.notes
                .log(format!(
                    "bucket {name} is in {loc}, not {} as defined; a bucket cannot move, so it is used where it is",
                    b.location
                ))
                .await;
        }
        if survey::labels_cover(&found["labels"], spec) {
            run.unchanged(&b.id, TYPE_BUCKET, &name, "exists, unchanged").await;
            return Ok(());
        }
        if !survey::verdict(spec, &name, &found).is_ours() {
            return Err(CloudError::failed(
                format!("bucket {name} exists but was not made by cloudgrant for install {}", spec.install),
                "Choose another org name, or remove the bucket yourself if it is a leftover.",
            ));
        }
        run.begin(&b.id, TYPE_BUCKET, &name, Status::UpdateInProgress, "setting its labels").await;
        let mut req = ApiRequest::new(Service::Storage, Method::Patch, format!("/storage/v1/b/{name}"))
            .body(json!({"labels": survey::labels_json(spec)}));
        // Refused by Google (412) when the bucket changed since it was read.
        if let Some(generation) = found["metageneration"].as_str() {
            req = req.query("ifMetagenerationMatch", generation.to_string());
        }
        let step = self.step(&format!("label bucket {name}"), &req, "storage.buckets.update");
        let resp = self.call(&run.notes, &step, req).await?;
        self.ok(&step, changed_since(&step, &format!("bucket {name}"), resp)?)?;
        run.finish(&b.id, Status::UpdateComplete, "labels set").await;
        Ok(())
    }
}

/// An update refused because `what` changed after it was read (409 on a stale etag, 412 on a
/// stale generation): said as that, with the next step; any other answer is handed back.
fn changed_since(
    step: &super::errors::Step,
    what: &str,
    resp: super::transport::ApiResponse,
) -> Result<super::transport::ApiResponse, CloudError> {
    if !matches!(resp.status, 409 | 412) {
        return Ok(resp);
    }
    let g = GoogleError::parse(&resp);
    Err(CloudError::failed(
        format!(
            "{}: {what} was changed by someone else after cloudgrant read it ({}); this update was not made",
            step.call,
            g.summary()
        ),
        "Run init again: it reads what is there now, shows it, and updates only what still differs.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_come_at_one_and_two_seconds_then_every_interval() {
        let interval = Duration::from_millis(1500);
        assert_eq!(poll_wait(interval, 1), Duration::from_secs(1));
        assert_eq!(poll_wait(interval, 1) + poll_wait(interval, 2), Duration::from_secs(2));
        assert_eq!(poll_wait(interval, 3), interval);
        assert_eq!(poll_wait(interval, 40), interval);
        assert_eq!(poll_wait(Duration::from_millis(5), 1), Duration::from_millis(5));
    }
}
