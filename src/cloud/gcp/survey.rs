//! What exists now for one install's definitions: read before anything is changed, so apply can
//! refuse resources that are not ours before touching anything, and the preview can say what a
//! re-run adds or changes.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;
use serde_json::{json, Value};

use super::iam_policy::has_member;
use super::transport::{ApiRequest, Method, Service};
use super::{Gcp, Notes};
use crate::cloud::ownership::{self, InstallIdentity, Marks, Verdict};
use crate::cloud::CloudError;
use crate::model::{ChangeKind, Cloud, GroupChanges, Plan, ResourceChange, Stranger};
use crate::plan::gcp::{
    spec_for, Binding, CryptoKey, CustomRole, Spec, Target, DESCRIPTION_MARK, LABEL_INSTALL, TYPE_API, TYPE_BINDING,
    TYPE_BUCKET, TYPE_CRYPTO_KEY, TYPE_KEY_RING, TYPE_ROLE, TYPE_SERVICE_ACCOUNT,
};

/// The identity marks of a Google resource: its labels, or, for roles and service accounts
/// (which have none), the `k=v` words of its description before ` | `; and the install-name mark
/// `cloudgrant-install=<vendor>-<org>`, which stands for the vendor and org marks where those are
/// not written out (vendor ids have no `-`).
pub(crate) fn marks_of(found: &Value) -> (Marks, Option<String>) {
    let mut pairs: Vec<(String, String)> = Vec::new();
    match found["labels"].as_object() {
        Some(labels) => pairs.extend(labels.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))),
        None => {
            let description = found["description"].as_str().unwrap_or_default();
            if description.starts_with(DESCRIPTION_MARK) {
                let head = description.split(" | ").next().unwrap_or_default();
                pairs.extend(
                    head.split_whitespace()
                        .filter_map(|w| w.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.to_string())),
                );
            }
        }
    }
    let install = pairs.iter().find(|(k, _)| k == LABEL_INSTALL).map(|(_, v)| v.clone());
    let mut marks = Marks::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let Some((vendor, org)) = install.as_deref().and_then(|i| i.split_once('-')) {
        marks.vendor.get_or_insert_with(|| vendor.to_string());
        marks.org.get_or_insert_with(|| org.to_string());
    }
    (marks, install)
}

/// Whether `found` (named `name`, the name the definitions give it) is this install's:
/// [`ownership::judge`] on its marks, and its install-name mark, where it has one, is this
/// install's.
pub(crate) fn verdict(spec: &Spec, name: &str, found: &Value) -> Verdict {
    let (marks, install) = marks_of(found);
    let who = InstallIdentity {
        vendor: spec.vendor_id.clone(),
        org: spec.org.clone(),
        names: vec![name.to_string()],
        install_id: spec.install_id.clone(),
        ignore_case: false,
    };
    match (ownership::judge(&who, name, &marks), install) {
        (v, Some(i)) if v.is_ours() && i != spec.install => {
            Verdict::NotThisInstall(vec![format!("{LABEL_INSTALL} is {i}, not {}", spec.install)])
        }
        (v, _) => v,
    }
}

/// A look-alike, with the commands that show and remove it.
pub(crate) fn stranger(spec: &Spec, type_: &str, name: &str, why: Vec<String>) -> Stranger {
    let p = &spec.project;
    let (kind, inspect, remove) = match type_ {
        TYPE_ROLE => {
            let id = name.rsplit('/').next().unwrap_or(name);
            (
                "custom role",
                format!("gcloud iam roles describe {id} --project {p}"),
                format!("gcloud iam roles delete {id} --project {p}"),
            )
        }
        TYPE_SERVICE_ACCOUNT => (
            "service account",
            format!("gcloud iam service-accounts describe {name} --project {p}"),
            format!("gcloud iam service-accounts delete {name} --project {p}"),
        ),
        TYPE_BUCKET => (
            "bucket",
            format!("gcloud storage buckets describe gs://{name}"),
            format!("gcloud storage rm -r gs://{name}"),
        ),
        _ => (
            "key",
            format!("gcloud kms keys describe {name}"),
            "keys cannot be deleted on Google Cloud: leave it, or disable its versions".into(),
        ),
    };
    ownership::stranger(kind, name, why, inspect, remove)
}

pub(crate) fn labels_json(spec: &Spec) -> Value {
    Value::Object(spec.labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// `found` carries every label of the definitions with its value (others may be there too).
pub(crate) fn labels_cover(found: &Value, spec: &Spec) -> bool {
    spec.labels.iter().all(|(k, v)| found[k].as_str() == Some(v.as_str()))
}

/// The labels to write: the resource's own, with ours set (someone else's labels are kept).
pub(crate) fn merged_labels(found: &Value, spec: &Spec) -> Value {
    let mut out = found.as_object().cloned().unwrap_or_default();
    for (k, v) in &spec.labels {
        out.insert(k.clone(), json!(v));
    }
    Value::Object(out)
}

/// A role's wanted content, as POST and PATCH send it.
pub(crate) fn role_body(spec: &Spec, r: &CustomRole) -> Value {
    json!({"title": r.title, "description": spec.description(&r.why), "includedPermissions": r.permissions, "stage": "GA"})
}

/// How the role Google has differs from the definitions (empty: the same).
pub(crate) fn role_diff(spec: &Spec, r: &CustomRole, found: &Value) -> Vec<String> {
    let have: BTreeSet<&str> =
        found["includedPermissions"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let want: BTreeSet<&str> = r.permissions.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    let added: Vec<&str> = want.difference(&have).copied().collect();
    let removed: Vec<&str> = have.difference(&want).copied().collect();
    if !added.is_empty() {
        out.push(format!("adds {}", added.join(", ")));
    }
    if !removed.is_empty() {
        out.push(format!("removes {}", removed.join(", ")));
    }
    if found["title"].as_str() != Some(r.title.as_str()) {
        out.push("title".into());
    }
    if found["description"].as_str() != Some(spec.description(&r.why).as_str()) {
        out.push("description".into());
    }
    if found["stage"].as_str().is_some_and(|s| s != "GA") {
        out.push("stage".into());
    }
    out
}

/// A binding's role name, member and target (the plan builder checked they resolve).
pub(crate) fn binding_parts(spec: &Spec, b: &Binding) -> Result<(String, String, Target), CloudError> {
    let parts = (spec.role_permissions(&b.role).map(|r| r.0), spec.member(&b.member), spec.target(&b.on));
    match parts {
        (Some(role), Some(member), Some(target)) => Ok((role, member, target)),
        _ => Err(CloudError::failed(
            format!(
                "binding {}: its role `{}`, member `{}` or target `{}` does not resolve",
                b.id, b.role, b.member, b.on
            ),
            "The definitions are inconsistent; report this as a bug.",
        )),
    }
}

/// What a binding's physical id reads as (the same text as the plan's resource name).
pub(crate) fn binding_name(spec: &Spec, b: &Binding) -> String {
    match binding_parts(spec, b) {
        Ok((role, member, target)) => format!("{role} → {member} on {}", target.full_name(&spec.project)),
        Err(_) => b.id.clone(),
    }
}

/// A key that exists but has no usable primary version (a revoke scheduled its destruction):
/// the error, with the commands that restore it.
pub(crate) fn key_unusable(spec: &Spec, k: &CryptoKey, found: &Value) -> Option<CloudError> {
    let primary = &found["primary"];
    if primary["state"].as_str() == Some("ENABLED") {
        return None;
    }
    let name = spec.crypto_key_name(k);
    let version = primary["name"].as_str().and_then(|n| n.rsplit('/').next()).unwrap_or("VERSION");
    let (ring, loc) = spec
        .key_rings
        .iter()
        .find(|r| r.id == k.key_ring)
        .map_or((String::new(), String::new()), |r| (r.name.clone(), r.location.clone()));
    let flags = format!("--key {} --keyring {ring} --location {loc} --project {}", k.name, spec.project);
    Some(CloudError::failed(
        format!(
            "key {name} has no usable primary version (version {version} is {}; an earlier revoke scheduled its destruction)",
            primary["state"].as_str().unwrap_or("missing")
        ),
        format!("Restore it before the destruction date: `gcloud kms keys versions restore {version} {flags}` then `gcloud kms keys versions enable {version} {flags}`, and run init again. After that date, use another org name."),
    ))
}

/// Current state, keyed by logical id; `None` = absent (404).
#[derive(Debug, Default, Clone)]
pub(crate) struct Survey {
    pub enabled: BTreeSet<String>,
    pub roles: BTreeMap<String, Option<Value>>,
    pub accounts: BTreeMap<String, Option<Value>>,
    pub key_rings: BTreeMap<String, Option<Value>>,
    pub keys: BTreeMap<String, Option<Value>>,
    pub buckets: BTreeMap<String, Option<Value>>,
    /// Policies of targets that exist, by full resource name.
    pub policies: BTreeMap<String, Value>,
}

impl Survey {
    fn found(map: &BTreeMap<String, Option<Value>>, id: &str) -> Option<Value> {
        map.get(id).cloned().flatten()
    }

    pub fn role(&self, id: &str) -> Option<Value> {
        Self::found(&self.roles, id)
    }
    pub fn account(&self, id: &str) -> Option<Value> {
        Self::found(&self.accounts, id)
    }
    pub fn key_ring(&self, id: &str) -> Option<Value> {
        Self::found(&self.key_rings, id)
    }
    pub fn key(&self, id: &str) -> Option<Value> {
        Self::found(&self.keys, id)
    }
    pub fn bucket(&self, id: &str) -> Option<Value> {
        Self::found(&self.buckets, id)
    }

    pub fn binding_present(&self, spec: &Spec, b: &Binding) -> bool {
        let Ok((role, member, target)) = binding_parts(spec, b) else { return false };
        self.policies.get(&target.full_name(&spec.project)).is_some_and(|p| has_member(p, &role, &member))
    }

    /// Anything of the install there (a re-run rather than a first run).
    pub fn anything(&self, spec: &Spec) -> bool {
        let some = |m: &BTreeMap<String, Option<Value>>| m.values().any(Option::is_some);
        some(&self.roles)
            || some(&self.accounts)
            || some(&self.key_rings)
            || some(&self.keys)
            || some(&self.buckets)
            || spec.bindings.iter().any(|b| self.binding_present(spec, b))
    }

    /// Refuse, before changing anything, resources of these names that are not this install's
    /// ([`verdict`]: name and every mark).
    pub fn refuse_foreign(&self, spec: &Spec) -> Result<(), CloudError> {
        let p = &spec.project;
        let mut found: Vec<(&str, String, Value, String)> = Vec::new();
        for r in &spec.roles {
            if let Some(f) = self.role(&r.id) {
                let fix = format!(
                    "delete it yourself if it is a leftover: `gcloud iam roles delete {} --project {p}`.",
                    r.role_id
                );
                found.push((TYPE_ROLE, spec.role_name(r), f, fix));
            }
        }
        for s in &spec.service_accounts {
            if let Some(f) = self.account(&s.id) {
                let email = spec.service_account_email(s);
                let fix = format!("delete it yourself if it is a leftover: `gcloud iam service-accounts delete {email} --project {p}`.");
                found.push((TYPE_SERVICE_ACCOUNT, email, f, fix));
            }
        }
        for k in &spec.crypto_keys {
            if let Some(f) = self.key(&k.id) {
                found.push((
                    TYPE_CRYPTO_KEY,
                    spec.crypto_key_name(k),
                    f,
                    "use another org name: Google never deletes keys' names.".into(),
                ));
            }
        }
        for b in &spec.buckets {
            if let Some(f) = self.bucket(&b.id) {
                let fix = format!("remove it yourself if it is a leftover: `gcloud storage rm -r gs://{}`.", b.name);
                found.push((TYPE_BUCKET, b.name.clone(), f, fix));
            }
        }
        for (type_, name, f, fix) in found {
            match verdict(spec, &name, &f) {
                Verdict::Ours | Verdict::OursWithoutId => {}
                Verdict::NotThisInstall(why) => {
                    return Err(CloudError::NotThisInstall(Box::new(stranger(spec, type_, &name, why))))
                }
                Verdict::Foreign | Verdict::Unrelated => {
                    return Err(CloudError::failed(
                        format!("{name} exists but was not made by cloudgrant for install {} (it carries no cloudgrant mark)", spec.install),
                        format!("cloudgrant never changes resources it did not make. Choose another org name (the names are built from it), or {fix}"),
                    ))
                }
            }
        }
        Ok(())
    }

    /// What would stop apply half-way although the resource is ours: checked before any change.
    pub fn refuse_unusable(&self, spec: &Spec) -> Result<(), CloudError> {
        for k in &spec.crypto_keys {
            if let Some(e) = self.key(&k.id).and_then(|found| key_unusable(spec, k, &found)) {
                return Err(e);
            }
        }
        Ok(())
    }
}

pub(crate) fn role_path(name: &str) -> String {
    format!("/v1/{name}")
}

pub(crate) fn account_path(project: &str, email: &str) -> String {
    format!("/v1/projects/{project}/serviceAccounts/{email}")
}

impl Gcp {
    /// A GET that may find nothing: 404, or 403 SERVICE_DISABLED (an API that is not enabled yet
    /// holds nothing; apply enables it before creating anything in it).
    async fn read_opt(
        &self,
        notes: &Notes,
        what: &str,
        request: ApiRequest,
        permission: &'static str,
    ) -> Result<Option<Value>, CloudError> {
        self.get_opt_unless(notes, what, request, permission, |r| {
            r.status == 403 && super::errors::GoogleError::parse(r).has_reason("SERVICE_DISABLED")
        })
        .await
    }

    /// The definitions `plan` was built from, checked to be for this project.
    pub(crate) fn spec_for_plan(&self, plan: &Plan) -> Result<Spec, CloudError> {
        if plan.cloud != Cloud::Gcp {
            return Err(CloudError::failed(
                format!("this plan is for {}, not Google Cloud", plan.cloud.title()),
                "Build the plan again with --cloud gcp.",
            ));
        }
        let spec = spec_for(plan, &self.inner.vendor)?;
        if spec.project != self.inner.project {
            return Err(CloudError::failed(
                format!("this plan was made for project {}, not {}", spec.project, self.inner.project),
                "Build the plan again for this project.",
            ));
        }
        Ok(spec)
    }

    /// The services enabled in the project.
    pub(crate) async fn enabled_services(&self, notes: &Notes) -> Result<BTreeSet<String>, CloudError> {
        let p = &self.inner.project;
        let req = ApiRequest::new(Service::ServiceUsage, Method::Get, format!("/v1/projects/{p}/services"))
            .query("filter", "state:ENABLED")
            .query("pageSize", "200");
        let items =
            self.list_all(notes, "list the enabled APIs", req, "services", "serviceusage.services.list").await?;
        Ok(items
            .iter()
            .filter_map(|s| {
                s["config"]["name"].as_str().or_else(|| s["name"].as_str().and_then(|n| n.rsplit('/').next()))
            })
            .map(String::from)
            .collect())
    }

    /// Every read of the survey goes out at once (one round trip): the enabled APIs, the roles,
    /// service accounts, key rings, keys, buckets and the project's policy; then, in a second
    /// round, the policies of the other binding targets that exist.
    pub(crate) async fn survey(&self, notes: &Notes, spec: &Spec) -> Result<Survey, CloudError> {
        let p = self.inner.project.clone();
        let roles = try_join_all(spec.roles.iter().map(|r| async {
            let name = spec.role_name(r);
            let req = ApiRequest::new(Service::Iam, Method::Get, role_path(&name));
            let found = self.read_opt(notes, &format!("read custom role {name}"), req, "iam.roles.get").await?;
            Ok::<_, CloudError>((r.id.clone(), found))
        }));
        let accounts = try_join_all(spec.service_accounts.iter().map(|a| async {
            let email = spec.service_account_email(a);
            let req = ApiRequest::new(Service::Iam, Method::Get, account_path(&p, &email));
            let what = format!("read service account {email}");
            Ok::<_, CloudError>((a.id.clone(), self.read_opt(notes, &what, req, "iam.serviceAccounts.get").await?))
        }));
        let rings = try_join_all(spec.key_rings.iter().map(|k| async {
            let name = spec.key_ring_name(k);
            let req = ApiRequest::new(Service::Kms, Method::Get, format!("/v1/{name}"));
            let found = self.read_opt(notes, &format!("read key ring {name}"), req, "cloudkms.keyRings.get").await?;
            Ok::<_, CloudError>((k.id.clone(), found))
        }));
        let keys = try_join_all(spec.crypto_keys.iter().map(|k| async {
            let name = spec.crypto_key_name(k);
            let req = ApiRequest::new(Service::Kms, Method::Get, format!("/v1/{name}"));
            let found = self.read_opt(notes, &format!("read key {name}"), req, "cloudkms.cryptoKeys.get").await?;
            Ok::<_, CloudError>((k.id.clone(), found))
        }));
        let buckets = try_join_all(spec.buckets.iter().map(|b| async {
            let req = ApiRequest::new(Service::Storage, Method::Get, format!("/storage/v1/b/{}", b.name));
            let step = self.step(&format!("read bucket {}", b.name), &req, "storage.buckets.get");
            let r = self.call(notes, &step, req).await?;
            // 403: the name belongs to a bucket of another project (or we may not read it): the
            // create call says which, with the fix.
            let found = if matches!(r.status, 403 | 404) { None } else { Some(self.ok(&step, r)?) };
            Ok::<_, CloudError>((b.id.clone(), found))
        }));
        let (enabled, roles, accounts, rings, keys, buckets, project_policy) = futures::try_join!(
            self.enabled_services(notes),
            roles,
            accounts,
            rings,
            keys,
            buckets,
            self.read_policy(notes, &Target::Project)
        )?;
        let mut s = Survey {
            enabled,
            roles: roles.into_iter().collect(),
            accounts: accounts.into_iter().collect(),
            key_rings: rings.into_iter().collect(),
            keys: keys.into_iter().collect(),
            buckets: buckets.into_iter().collect(),
            ..Survey::default()
        };
        if let Some(policy) = project_policy {
            s.policies.insert(Target::Project.full_name(&p), policy);
        }
        let mut targets: Vec<Target> = Vec::new();
        for b in &spec.bindings {
            let (_, _, target) = binding_parts(spec, b)?;
            let exists = match &target {
                Target::Project => false,
                Target::ServiceAccount { email } => spec
                    .service_accounts
                    .iter()
                    .any(|a| &spec.service_account_email(a) == email && s.account(&a.id).is_some()),
                Target::Bucket { name } => spec.buckets.iter().any(|x| &x.name == name && s.bucket(&x.id).is_some()),
                Target::KeyRing { name } => {
                    spec.key_rings.iter().any(|x| &spec.key_ring_name(x) == name && s.key_ring(&x.id).is_some())
                }
                Target::CryptoKey { name } => {
                    spec.crypto_keys.iter().any(|x| &spec.crypto_key_name(x) == name && s.key(&x.id).is_some())
                }
            };
            if exists && !targets.contains(&target) {
                targets.push(target);
            }
        }
        let project = &p;
        let policies =
            try_join_all(targets.iter().map(|t| async move {
                Ok::<_, CloudError>((t.full_name(project), self.read_policy(notes, t).await?))
            }))
            .await?;
        s.policies.extend(policies.into_iter().filter_map(|(name, policy)| Some((name, policy?))));
        Ok(s)
    }

    /// What applying `plan` would add or change in an install that exists; empty when nothing of
    /// it exists yet.
    pub async fn preview_changes(&self, plan: &Plan) -> Result<Vec<GroupChanges>, CloudError> {
        let spec = self.spec_for_plan(plan)?;
        let s = self.survey(&Notes::default(), &spec).await?;
        // For the apply that follows (crate::cloud::fresh).
        self.inner.surveyed.keep(plan, s.clone());
        let fresh = !s.anything(&spec);
        let mut changes = Vec::new();
        let mut notes = Vec::new();
        let mut change = |action: &str, id: &str, type_: &str| {
            changes.push(ResourceChange {
                action: action.into(),
                id: id.into(),
                type_: type_.into(),
                replacement: None,
            })
        };
        for a in &spec.apis {
            if !s.enabled.contains(&a.service) {
                change("Add", &a.id, TYPE_API);
            }
        }
        for r in &spec.roles {
            match s.role(&r.id) {
                None => change("Add", &r.id, TYPE_ROLE),
                Some(found) if found["deleted"].as_bool() == Some(true) => {
                    change("Add", &r.id, TYPE_ROLE);
                    notes.push(format!("{}: soft-deleted; it is restored (undelete) and updated", r.id));
                }
                Some(found) => {
                    let diff = role_diff(&spec, r, &found);
                    if !diff.is_empty() {
                        change("Modify", &r.id, TYPE_ROLE);
                        notes.push(format!("{}: {}", r.id, diff.join("; ")));
                    }
                }
            }
        }
        for a in &spec.service_accounts {
            if s.account(&a.id).is_none() {
                change("Add", &a.id, TYPE_SERVICE_ACCOUNT);
            }
        }
        for k in &spec.key_rings {
            if s.key_ring(&k.id).is_none() {
                change("Add", &k.id, TYPE_KEY_RING);
            }
        }
        for k in &spec.crypto_keys {
            match s.key(&k.id) {
                None => change("Add", &k.id, TYPE_CRYPTO_KEY),
                Some(found) => {
                    if !labels_cover(&found["labels"], &spec) {
                        change("Modify", &k.id, TYPE_CRYPTO_KEY);
                        notes.push(format!("{}: labels", k.id));
                    }
                    if found["primary"]["state"].as_str() != Some("ENABLED") {
                        notes.push(format!("{}: has no enabled primary version (destroyed or scheduled for destruction by a revoke): apply refuses to start until it is restored, and says how", k.id));
                    }
                }
            }
        }
        // A re-install after revoke: the roles and service accounts are gone, the bucket stayed.
        let access_gone = spec.service_accounts.iter().all(|a| s.account(&a.id).is_none());
        for b in &spec.buckets {
            if access_gone && s.bucket(&b.id).is_some() {
                notes.push(format!(
                    "{}: reuses the kept bucket {} with your data (an earlier revoke left it); it is not made again",
                    b.id, b.name
                ));
            }
            match s.bucket(&b.id) {
                None => change("Add", &b.id, TYPE_BUCKET),
                Some(found) if !labels_cover(&found["labels"], &spec) => {
                    change("Modify", &b.id, TYPE_BUCKET);
                    notes.push(format!("{}: labels", b.id));
                }
                Some(_) => {}
            }
        }
        for b in &spec.bindings {
            if !s.binding_present(&spec, b) {
                change("Add", &b.id, TYPE_BINDING);
            }
        }
        let kind = match (fresh, changes.is_empty()) {
            // Nothing of this install exists yet: the whole plan is added.
            (true, _) => ChangeKind::Create,
            (false, true) => ChangeKind::NoChanges,
            (false, false) => ChangeKind::Update,
        };
        Ok(vec![GroupChanges {
            group: spec.install.clone(),
            kind,
            changes,
            note: (!notes.is_empty()).then(|| notes.join(". ")),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_from_labels_and_descriptions() {
        let (m, install) = marks_of(
            &json!({"description": "managed-by=cloudgrant cloudgrant-install=acmeml-acme cloudgrant-install-id=x1 | why"}),
        );
        assert_eq!(install.as_deref(), Some("acmeml-acme"));
        assert_eq!(
            (m.vendor.as_deref(), m.org.as_deref(), m.install_id.as_deref()),
            (Some("acmeml"), Some("acme"), Some("x1"))
        );
        let (m, _) = marks_of(&json!({"description": "cloudgrant-install=acmeml-acme | no mark first"}));
        assert_eq!(m, Marks::default());
        let (m, _) = marks_of(
            &json!({"labels": {"managed-by": "cloudgrant", "cloudgrant-install": "acmeml-acme-x", "cloudgrant-org": "acme-x", "cloudgrant-vendor": "acmeml"}}),
        );
        assert_eq!(m.org.as_deref(), Some("acme-x"), "written-out labels win over the install name");
    }
}
