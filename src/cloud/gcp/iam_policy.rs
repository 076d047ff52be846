//! IAM policies, read-modify-write: read with `requestedPolicyVersion: 3`, add or remove one
//! member in one role's unconditional binding, write back with the etag as read and `version: 3`.
//! Everything else (other bindings, other members, conditions, audit configs, storage's `kind` and
//! `resourceId`) goes back exactly as read. A stale etag (409 ABORTED; storage: 412) means someone
//! else wrote in between: read again, apply the change again, up to [`ATTEMPTS`] times.

use serde_json::{json, Value};

use super::errors;
use super::transport::{ApiRequest, Method, Service};
use super::{Gcp, Notes};
use crate::cloud::CloudError;
use crate::plan::gcp::Target;

pub const ATTEMPTS: u32 = 5;

/// Add or remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Add,
    Remove,
}

/// Does `policy` give `member` the role `role` (unconditionally)?
pub fn has_member(policy: &Value, role: &str, member: &str) -> bool {
    bindings(policy).iter().any(|b| {
        b["role"].as_str() == Some(role)
            && b.get("condition").is_none_or(Value::is_null)
            && b["members"].as_array().is_some_and(|m| m.iter().any(|x| x.as_str() == Some(member)))
    })
}

fn bindings(policy: &Value) -> Vec<Value> {
    policy["bindings"].as_array().cloned().unwrap_or_default()
}

/// The roles `member` holds in `policy`, conditional or not (for the checks after revoke).
pub fn roles_of(policy: &Value, member: &str) -> Vec<String> {
    bindings(policy)
        .iter()
        .filter(|b| b["members"].as_array().is_some_and(|m| m.iter().any(|x| x.as_str() == Some(member))))
        .filter_map(|b| b["role"].as_str().map(String::from))
        .collect()
}

/// Apply the change to a copy of `policy`; `None` when it already holds (nothing to write).
pub fn changed(policy: &Value, role: &str, member: &str, change: Change) -> Option<Value> {
    let present = has_member(policy, role, member);
    if (change == Change::Add) == present {
        return None;
    }
    let mut out = policy.clone();
    if !out.is_object() {
        out = json!({});
    }
    let mut list = bindings(&out);
    let unconditional = |b: &Value| b["role"].as_str() == Some(role) && b.get("condition").is_none_or(Value::is_null);
    match change {
        Change::Add => match list.iter_mut().find(|b| unconditional(b)) {
            Some(b) => {
                let mut members = b["members"].as_array().cloned().unwrap_or_default();
                members.push(json!(member));
                b["members"] = Value::Array(members);
            }
            None => list.push(json!({"role": role, "members": [member]})),
        },
        Change::Remove => {
            for b in list.iter_mut().filter(|b| unconditional(b)) {
                let members: Vec<Value> = b["members"]
                    .as_array()
                    .map(|m| m.iter().filter(|x| x.as_str() != Some(member)).cloned().collect())
                    .unwrap_or_default();
                b["members"] = Value::Array(members);
            }
            // A binding without members is not a binding: Google refuses it.
            list.retain(|b| b["members"].as_array().is_some_and(|m| !m.is_empty()));
        }
    }
    out["bindings"] = Value::Array(list);
    out["version"] = json!(3);
    Some(out)
}

/// Where a target's policy is read and written, and what the calls need.
struct Calls {
    read: ApiRequest,
    write: fn(Value) -> (Method, Option<Value>),
    write_path: String,
    service: Service,
    read_permission: &'static str,
    write_permission: &'static str,
    /// The answer to a write with a stale etag.
    conflict: u16,
}

fn calls(project: &str, target: &Target) -> Calls {
    let wrap = |p: Value| (Method::Post, Some(json!({"policy": p})));
    match target {
        Target::Project => Calls {
            read: ApiRequest::new(
                Service::ResourceManager,
                Method::Post,
                format!("/v3/projects/{project}:getIamPolicy"),
            )
            .body(json!({"options": {"requestedPolicyVersion": 3}})),
            write: wrap,
            write_path: format!("/v3/projects/{project}:setIamPolicy"),
            service: Service::ResourceManager,
            read_permission: "resourcemanager.projects.getIamPolicy",
            write_permission: "resourcemanager.projects.setIamPolicy",
            conflict: 409,
        },
        Target::ServiceAccount { email } => Calls {
            read: ApiRequest::new(
                Service::Iam,
                Method::Post,
                format!("/v1/projects/{project}/serviceAccounts/{email}:getIamPolicy"),
            )
            .query("options.requestedPolicyVersion", "3"),
            write: wrap,
            write_path: format!("/v1/projects/{project}/serviceAccounts/{email}:setIamPolicy"),
            service: Service::Iam,
            read_permission: "iam.serviceAccounts.getIamPolicy",
            write_permission: "iam.serviceAccounts.setIamPolicy",
            conflict: 409,
        },
        Target::Bucket { name } => Calls {
            read: ApiRequest::new(Service::Storage, Method::Get, format!("/storage/v1/b/{name}/iam"))
                .query("optionsRequestedPolicyVersion", "3"),
            write: |p| (Method::Put, Some(p)),
            write_path: format!("/storage/v1/b/{name}/iam"),
            service: Service::Storage,
            read_permission: "storage.buckets.getIamPolicy",
            write_permission: "storage.buckets.setIamPolicy",
            conflict: 412,
        },
        Target::KeyRing { name } | Target::CryptoKey { name } => Calls {
            read: ApiRequest::new(Service::Kms, Method::Get, format!("/v1/{name}:getIamPolicy"))
                .query("options.requestedPolicyVersion", "3"),
            write: wrap,
            write_path: format!("/v1/{name}:setIamPolicy"),
            service: Service::Kms,
            read_permission: "cloudkms.cryptoKeys.getIamPolicy",
            write_permission: "cloudkms.cryptoKeys.setIamPolicy",
            conflict: 409,
        },
    }
}

/// How a read-modify-write ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The policy already said so: nothing was written.
    Unchanged,
    /// Written (after `retries` stale-etag retries).
    Written { retries: u32 },
    /// The resource holding the policy does not exist (404).
    NoResource,
}

impl Gcp {
    /// The policy of `target`, or `None` when the resource is gone (404).
    pub(crate) async fn read_policy(&self, notes: &Notes, target: &Target) -> Result<Option<Value>, CloudError> {
        let c = calls(&self.inner.project, target);
        let step = self.step(
            &format!("read the IAM policy of {}", target.full_name(&self.inner.project)),
            &c.read,
            c.read_permission,
        );
        let r = self.call(notes, &step, c.read.clone()).await?;
        if r.status == 404 {
            return Ok(None);
        }
        self.ok(&step, r).map(Some)
    }

    /// Give (or take) `member` the role `role` on `target`, keeping everything else; starting
    /// from `known`, when given: the policy as read a moment ago in this
    /// phase (no second read: its etag is checked by the write, and a stale one reads it again).
    /// Also returns the policy as it stands afterwards (Google's answer to the write), for the
    /// next change to the same policy.
    pub(crate) async fn update_policy_from(
        &self,
        notes: &Notes,
        target: &Target,
        role: &str,
        member: &str,
        change: Change,
        mut known: Option<Value>,
    ) -> Result<(Outcome, Option<Value>), CloudError> {
        let project = self.inner.project.clone();
        let c = calls(&project, target);
        let full = target.full_name(&project);
        let mut retries = 0;
        loop {
            let policy = match known.take() {
                Some(p) => p,
                None => match self.read_policy(notes, target).await? {
                    Some(p) => p,
                    None => return Ok((Outcome::NoResource, None)),
                },
            };
            let Some(new) = changed(&policy, role, member, change) else {
                return Ok((Outcome::Unchanged, Some(policy)));
            };
            let (method, body) = (c.write)(new);
            let mut req = ApiRequest::new(c.service, method, c.write_path.clone());
            req.body = body;
            let step = self.step(&format!("write the IAM policy of {full}"), &req, c.write_permission);
            let r = self.call(notes, &step, req).await?;
            let stale =
                r.status == c.conflict || (r.status == 409 && errors::GoogleError::parse(&r).status == "ABORTED");
            if stale && retries + 1 < ATTEMPTS {
                retries += 1;
                let wait = self.backoff(retries);
                notes
                    .log(format!(
                        "{full}: the IAM policy changed while cloudgrant was writing it (HTTP {}: stale etag); reading it again and retrying in {} ms ({retries}/{})",
                        r.status,
                        wait.as_millis(),
                        ATTEMPTS - 1
                    ))
                    .await;
                tokio::time::sleep(wait).await;
                continue;
            }
            if r.status == 404 {
                return Ok((Outcome::NoResource, None));
            }
            if stale {
                return Err(CloudError::failed(
                    format!("{}: {} kept answering {} (stale etag) after {ATTEMPTS} attempts: something else is changing this policy right now", step.what, step.call, r.status),
                    "Wait until the other change (a deployment, another admin) is done, then run again.",
                ));
            }
            let written = self.ok(&step, r)?;
            // An answer without an etag cannot serve a later write: that one reads again.
            let now = written.get("etag").is_some().then_some(written);
            return Ok((Outcome::Written { retries }, now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_keeps_everything_else_and_remove_drops_empty_bindings() {
        let p = json!({"version": 1, "etag": "BwX1", "auditConfigs": [{"service": "allServices"}], "bindings": [
            {"role": "roles/owner", "members": ["user:a@x.com"]},
            {"role": "roles/r", "members": ["user:b@x.com"], "condition": {"title": "t", "expression": "true"}},
        ]});
        let added = changed(&p, "roles/r", "serviceAccount:v@y", Change::Add).expect("changed");
        assert_eq!(added["version"], 3);
        assert_eq!(added["etag"], "BwX1");
        assert_eq!(added["auditConfigs"], p["auditConfigs"]);
        assert_eq!(added["bindings"].as_array().map(Vec::len), Some(3), "{added}");
        assert!(has_member(&added, "roles/r", "serviceAccount:v@y"));
        assert!(changed(&added, "roles/r", "serviceAccount:v@y", Change::Add).is_none());
        let again = changed(&added, "roles/owner", "serviceAccount:v@y", Change::Add).expect("changed");
        assert_eq!(roles_of(&again, "serviceAccount:v@y"), ["roles/owner", "roles/r"]);
        let removed = changed(&added, "roles/r", "serviceAccount:v@y", Change::Remove).expect("changed");
        assert_eq!(removed["bindings"], p["bindings"]);
        assert!(changed(&p, "roles/r", "serviceAccount:v@y", Change::Remove).is_none());
        let empty = changed(&json!({"etag": "e"}), "roles/r", "user:c@x.com", Change::Add).expect("changed");
        assert_eq!(empty["bindings"], json!([{"role": "roles/r", "members": ["user:c@x.com"]}]));
    }
}
