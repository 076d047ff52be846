//! Finding installs again from the project itself: custom roles and service accounts whose
//! description carries `managed-by=cloudgrant cloudgrant-install=<id>`, buckets and keys with the
//! labels, the key rings and keys the definitions name, and the bindings in the IAM policies. The
//! local manifest only says where to look (a key ring's location when no bucket gives it).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::iam_policy::has_member;
use super::manifest::Manifest;
use super::run::planned;
use super::survey::{binding_parts, marks_of, stranger, verdict};
use super::transport::{ApiRequest, Method, Service};
use super::{Gcp, Notes};
use crate::cloud::ownership::Verdict;
use crate::cloud::CloudError;
use crate::model::{Cloud, Health, HealthFacts, Installation, InstalledGroup, InstalledResource, Leftover, Status};
use crate::plan::gcp::{
    Spec, Target, LABEL_INSTALL, LABEL_MANAGED_BY, TYPE_BUCKET, TYPE_CRYPTO_KEY, TYPE_ROLE, TYPE_SERVICE_ACCOUNT,
};

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc))
}

impl Gcp {
    /// The Installation for `spec`: one group `install`, resources as found, the outputs the
    /// vendor needs.
    pub(crate) fn installation_of(
        &self,
        spec: &Spec,
        org: &str,
        resources: Vec<InstalledResource>,
        status: Status,
        status_reason: Option<String>,
        created: Option<DateTime<Utc>>,
    ) -> Installation {
        let live = |id: &str| {
            resources.iter().any(|r| {
                r.id == id
                    && !r.status.is_failure()
                    && !matches!(r.status, Status::DeleteComplete | Status::DeleteSkipped)
            })
        };
        // Every resource found under its logical id (its e-mail or full name), so `send_to_vendor`
        // can name any of them; an API only when the definitions send it (they are not created).
        let outputs: BTreeMap<String, String> = spec
            .ids()
            .into_iter()
            .filter(|id| live(id))
            .filter(|id| !spec.apis.iter().any(|a| a.id == *id) || spec.send_to_vendor.iter().any(|s| s == id))
            .filter_map(|id| Some((id.to_string(), spec.value_of(id)?)))
            .collect();
        let parameters = [
            ("Project", spec.project.clone()),
            ("Location", spec.location.clone()),
            ("Org", org.to_string()),
            ("VendorServiceAccount", self.inner.vendor.gcp.service_account.clone()),
            ("InstallId", spec.install.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Installation {
            cloud: Cloud::Gcp,
            vendor_id: self.inner.vendor.vendor.id.clone(),
            org: org.to_string(),
            account: spec.project.clone(),
            region: spec.location.clone(),
            created,
            groups: vec![InstalledGroup {
                key: "install".into(),
                name: spec.install.clone(),
                id: spec.install.clone(),
                status,
                status_reason,
                resources,
                outputs: outputs.clone(),
                parameters,
            }],
            outputs,
            install_id: None,
            health: Default::default(),
            leftovers: Vec::new(),
            strangers: Vec::new(),
        }
    }

    /// This vendor's installs in the project (optionally only `org`'s), rebuilt from the project.
    /// An install whose access is gone (roles deleted, service accounts and bindings removed, key
    /// versions destroyed) is not listed: only what revoke deliberately leaves remains of it.
    pub async fn discover(&self, org: Option<&str>) -> Result<Vec<Installation>, CloudError> {
        let notes = Notes::default();
        let p = self.inner.project.clone();
        let vendor_id = self.inner.vendor.vendor.id.clone();
        let prefix = format!("{vendor_id}-");
        let roles_req = ApiRequest::new(Service::Iam, Method::Get, format!("/v1/projects/{p}/roles"))
            .query("view", "FULL")
            .query("showDeleted", "true")
            .query("pageSize", "300");
        let roles = self.list_all(&notes, "list the custom roles", roles_req, "roles", "iam.roles.list").await?;
        let sa_req = ApiRequest::new(Service::Iam, Method::Get, format!("/v1/projects/{p}/serviceAccounts"))
            .query("pageSize", "100");
        let accounts =
            self.list_all(&notes, "list the service accounts", sa_req, "accounts", "iam.serviceAccounts.list").await?;
        let b_req = ApiRequest::new(Service::Storage, Method::Get, "/storage/v1/b")
            .query("project", p.clone())
            .query("maxResults", "1000");
        let buckets = self.list_all(&notes, "list the buckets", b_req, "items", "storage.buckets.list").await?;
        let manifests = self.manifest_dir().map(|d| Manifest::all(&d)).unwrap_or_default();

        // Install id → location hint.
        let mut installs: BTreeMap<String, Option<String>> = BTreeMap::new();
        for x in roles.iter().chain(accounts.iter()) {
            if let (m, Some(id)) = marks_of(x) {
                if m.managed_by.as_deref() == Some(crate::plan::MANAGED_BY) {
                    installs.entry(id).or_default();
                }
            }
        }
        for b in &buckets {
            let labels = &b["labels"];
            if let (Some("cloudgrant"), Some(id)) = (labels[LABEL_MANAGED_BY].as_str(), labels[LABEL_INSTALL].as_str())
            {
                let loc = b["location"].as_str().map(str::to_lowercase);
                installs.insert(id.to_string(), loc);
            }
        }
        // A manifest gives the location when no bucket does, and names an install whose only
        // marked resources are keys (a pack without roles, service accounts or buckets): what it
        // names is looked for in the project, never taken from the file.
        for m in manifests.iter().filter(|m| m.project == p) {
            installs.entry(m.install.clone()).or_default().get_or_insert_with(|| m.location.clone());
        }
        let wanted = org.map(|o| crate::plan::gcp::install_id(&vendor_id, o));
        let enabled = self.enabled_services(&notes).await?;
        let project_policy = self.read_policy(&notes, &Target::Project).await?.unwrap_or(Value::Null);
        let mut out = Vec::new();
        for (install, location) in installs {
            let Some(org) = install.strip_prefix(&prefix) else { continue };
            if wanted.as_ref().is_some_and(|w| w != &install) {
                continue;
            }
            let location = location.unwrap_or_else(|| self.inner.vendor.gcp.default_region.clone());
            // An org name this version cannot render is not an install it made.
            let Ok(spec) = self.spec_of(org, &location) else { continue };
            if let Some(i) =
                self.rebuild(&notes, &spec, org, &roles, &accounts, &buckets, &enabled, &project_policy).await?
            {
                out.push(i);
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    async fn rebuild(
        &self,
        notes: &Notes,
        spec: &Spec,
        org: &str,
        roles: &[Value],
        accounts: &[Value],
        buckets: &[Value],
        enabled: &BTreeSet<String>,
        project_policy: &Value,
    ) -> Result<Option<Installation>, CloudError> {
        let mut found: BTreeMap<String, Status> = BTreeMap::new();
        let mut created: Vec<DateTime<Utc>> = Vec::new();
        let mut live = false;
        let mut strangers = Vec::new();
        let mut ids: BTreeMap<String, String> = BTreeMap::new();
        let mut leftovers = Vec::new();
        // Found under the name the definitions give it: this install's only if every mark says so.
        let key_flags = Gcp::key_flags;
        let mut ours = |type_: &str, name: &str, x: &Value, strangers: &mut Vec<_>| match verdict(spec, name, x) {
            v if v.is_ours() => {
                if let Some(id) = marks_of(x).0.install_id {
                    ids.insert(name.to_string(), id);
                }
                true
            }
            Verdict::NotThisInstall(why) => {
                strangers.push(stranger(spec, type_, name, why));
                false
            }
            _ => false,
        };
        for a in &spec.apis {
            if enabled.contains(&a.service) {
                found.insert(a.id.clone(), Status::CreateComplete);
            }
        }
        for r in &spec.roles {
            let name = spec.role_name(r);
            if let Some(x) = roles.iter().find(|x| x["name"].as_str() == Some(name.as_str())) {
                if !ours(TYPE_ROLE, &name, x, &mut strangers) {
                    continue;
                }
                let deleted = x["deleted"].as_bool() == Some(true);
                live |= !deleted;
                found.insert(r.id.clone(), if deleted { Status::DeleteComplete } else { Status::CreateComplete });
            }
        }
        for a in &spec.service_accounts {
            let email = spec.service_account_email(a);
            if let Some(x) = accounts.iter().find(|x| x["email"].as_str() == Some(email.as_str())) {
                if !ours(TYPE_SERVICE_ACCOUNT, &email, x, &mut strangers) {
                    continue;
                }
                live = true;
                found.insert(a.id.clone(), Status::CreateComplete);
            }
        }
        for k in &spec.key_rings {
            let name = spec.key_ring_name(k);
            let req = ApiRequest::new(Service::Kms, Method::Get, format!("/v1/{name}"));
            if let Some(v) = self.get_opt(notes, &format!("read key ring {name}"), req, "cloudkms.keyRings.get").await?
            {
                created.extend(time(&v["createTime"]));
                found.insert(k.id.clone(), Status::CreateComplete);
            }
        }
        for k in &spec.crypto_keys {
            let name = spec.crypto_key_name(k);
            let req = ApiRequest::new(Service::Kms, Method::Get, format!("/v1/{name}"));
            if let Some(v) = self.get_opt(notes, &format!("read key {name}"), req, "cloudkms.cryptoKeys.get").await? {
                if ours(TYPE_CRYPTO_KEY, &name, &v, &mut strangers) {
                    let state = v["primary"]["state"].as_str().unwrap_or_default();
                    let usable = state.eq_ignore_ascii_case("ENABLED");
                    if state.eq_ignore_ascii_case("DESTROY_SCHEDULED") {
                        let date = time(&v["primary"]["destroyTime"]).map(|t| t.date_naive());
                        let version = v["primary"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .rsplit('/')
                            .next()
                            .unwrap_or("VERSION")
                            .to_string();
                        let flags = key_flags(spec, &k.id);
                        leftovers.push(Leftover {
                            type_: TYPE_CRYPTO_KEY.into(),
                            physical_id: name.clone(),
                            state: "pending_deletion".into(),
                            date,
                            origin: "its primary version was scheduled for destruction by a revoke".into(),
                            group: None,
                            way: format!("To keep it: `gcloud kms keys versions restore {version} {flags}`, then `gcloud kms keys versions enable {version} {flags}`"),
                            by_revoke: true,
                        });
                    }
                    live |= usable;
                    created.extend(time(&v["createTime"]));
                    found.insert(k.id.clone(), if usable { Status::CreateComplete } else { Status::DeleteComplete });
                }
            }
        }
        for b in &spec.buckets {
            if let Some(x) = buckets.iter().find(|x| x["name"].as_str() == Some(b.name.as_str())) {
                if ours(TYPE_BUCKET, &b.name, x, &mut strangers) {
                    created.extend(time(&x["timeCreated"]));
                    found.insert(b.id.clone(), Status::CreateComplete);
                }
            }
        }
        let mut policies: BTreeMap<String, Value> = BTreeMap::new();
        policies.insert(Target::Project.full_name(&spec.project), project_policy.clone());
        for b in &spec.bindings {
            let (role, member, target) = binding_parts(spec, b)?;
            let full = target.full_name(&spec.project);
            let holder_exists = match &target {
                Target::Project => true,
                Target::ServiceAccount { email } => spec
                    .service_accounts
                    .iter()
                    .any(|a| &spec.service_account_email(a) == email && found.contains_key(&a.id)),
                Target::Bucket { name } => spec.buckets.iter().any(|x| &x.name == name && found.contains_key(&x.id)),
                Target::KeyRing { name } => {
                    spec.key_rings.iter().any(|x| &spec.key_ring_name(x) == name && found.contains_key(&x.id))
                }
                Target::CryptoKey { name } => {
                    spec.crypto_keys.iter().any(|x| &spec.crypto_key_name(x) == name && found.contains_key(&x.id))
                }
            };
            if !holder_exists {
                continue;
            }
            if !policies.contains_key(&full) {
                let policy = self.read_policy(notes, &target).await?.unwrap_or(Value::Null);
                policies.insert(full.clone(), policy);
            }
            if policies.get(&full).is_some_and(|p| has_member(p, &role, &member)) {
                live = true;
                found.insert(b.id.clone(), Status::CreateComplete);
            }
        }
        if !live {
            return Ok(None);
        }
        let mut missing = Vec::new();
        let mut resources = Vec::new();
        for item in planned(spec) {
            match found.get(&item.id) {
                Some(status) => resources.push(InstalledResource {
                    id: item.id,
                    type_: item.type_,
                    physical_id: Some(item.name),
                    status: *status,
                }),
                None => missing.push(item.id),
            }
        }
        let (status, reason) = if missing.is_empty() && resources.iter().all(|r| r.status == Status::CreateComplete) {
            (Status::CreateComplete, None)
        } else {
            let gone: Vec<&str> =
                resources.iter().filter(|r| r.status == Status::DeleteComplete).map(|r| r.id.as_str()).collect();
            let mut why = Vec::new();
            if !missing.is_empty() {
                why.push(format!("missing: {}", missing.join(", ")));
            }
            if !gone.is_empty() {
                why.push(format!("deleted or destroy-scheduled: {}", gone.join(", ")));
            }
            (
                Status::CreateFailed,
                Some(format!("incomplete ({}): run init again to finish it, or revoke to remove it", why.join("; "))),
            )
        };
        let gone: Vec<String> =
            resources.iter().filter(|r| r.status == Status::DeleteComplete).map(|r| r.id.clone()).collect();
        let health = Health::derive(&HealthFacts {
            planned: planned(spec).into_iter().map(|i| i.id).collect(),
            present: resources.iter().filter(|r| !gone.contains(&r.id)).map(|r| (r.id.clone(), r.status)).collect(),
            deleted: gone,
            doomed: Vec::new(),
        });
        let mut inst = self.installation_of(spec, org, resources, status, reason, created.into_iter().min());
        inst.health = health;
        inst.leftovers = leftovers;
        inst.strangers = strangers;
        let distinct: std::collections::BTreeSet<&String> = ids.values().collect();
        if distinct.len() > 1 {
            // Not provably one install: reported, and nothing of it is touched.
            let list: Vec<String> = ids.iter().map(|(n, id)| format!("{n} has {id}")).collect();
            inst.strangers.push(crate::cloud::ownership::stranger(
                "resource set",
                &spec.install,
                vec![format!("its resources carry different install ids ({})", list.join(", "))],
                format!("gcloud iam roles list --project {} --show-deleted", spec.project),
                "remove the ones that are not yours by hand".into(),
            ));
            inst.groups.clear();
            return Ok(Some(inst));
        }
        inst.install_id = distinct.into_iter().next().cloned();
        Ok(Some(inst))
    }
}
