//! Finding installs again from the subscription itself: the deployment stacks (#11) tagged
//! `managed-by=cloudgrant` and `cloudgrant-vendor=<vendor id>`, grouped by `cloudgrant-org`. Each
//! stack becomes one group: its status, the resources it manages, its outputs and parameters.
//! Which stacks an install has, and which of their outputs it publishes, are the pack's
//! templates' (`metadata.cloudgrant`, [`crate::plan::azure::layout`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::apply::type_and_name;
use super::standing::marks_of;
use super::{ApiRequest, Azure, Method, Notes, API_STACKS};
use crate::cloud::ownership::{self, InstallIdentity, Marks, Verdict};
use crate::cloud::CloudError;
use crate::model::{Cloud, Installation, InstalledGroup, InstalledResource, Status};
use crate::plan::azure::{
    Fate, Spec, SERVICE_PRINCIPAL_ID, SERVICE_PRINCIPAL_TYPE, SUFFIX_PARAM, VENDOR_PRINCIPAL_PARAM,
};
use crate::plan::Choices;

/// A JSON value as the string shown to the user (strings without quotes).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `{"name": {"value": …}}` (a stack's outputs or parameters) → name → value.
fn values(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .filter(|(_, x)| !x["value"].is_null())
        .map(|(k, x)| (k.clone(), text(&x["value"])))
        .collect()
}

/// A stack's state as a group status.
pub fn stack_status(stack: &Value) -> Status {
    let state = stack["properties"]["provisioningState"].as_str().unwrap_or_default().to_ascii_lowercase();
    match state.as_str() {
        "succeeded" => Status::CreateComplete,
        "failed" | "canceled" => Status::CreateFailed,
        "deleting" | "deletingresources" => Status::DeleteInProgress,
        _ => Status::CreateInProgress,
    }
}

impl Azure {
    /// The definitions of an install, where this version can render them (for logical ids).
    pub(crate) fn spec_of(&self, org: &str, location: &str, suffix: &str, data_suffix: &str) -> Option<Spec> {
        let choices = Choices {
            org: org.to_string(),
            region: location.to_string(),
            account: Some(self.sub().to_string()),
            external_id: None,
        };
        let plan = crate::plan::azure::build_reattaching(&self.inner.vendor, &choices, suffix, data_suffix).ok()?;
        crate::plan::azure::spec_for(&plan, &self.inner.vendor).ok()
    }

    /// The Installation made of `stacks` (key, stack), in creation order. `failure` is the root
    /// cause of a failed apply, put on the groups that did not succeed.
    pub(crate) fn installation_of(
        &self,
        org: &str,
        location: &str,
        stacks: &[(String, Value)],
        principal: Option<&Value>,
        failure: Option<&str>,
    ) -> Installation {
        let suffix_of = |key: &str| {
            stacks
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, s)| s["properties"]["parameters"][SUFFIX_PARAM]["value"].as_str())
        };
        let defs = crate::plan::azure::layout::stacks(&self.inner.vendor).unwrap_or_default();
        let first = |fate: Fate| defs.iter().filter(|d| d.fate == fate).find_map(|d| suffix_of(&d.key));
        let suffix = first(Fate::Delete).or_else(|| first(Fate::Detach));
        let data_suffix = first(Fate::Detach).or(suffix);
        let spec = suffix.zip(data_suffix).and_then(|(x, d)| self.spec_of(org, location, x, d));
        let principal_id = principal.and_then(|p| p["id"].as_str().map(String::from)).or_else(|| {
            stacks
                .iter()
                .find_map(|(_, s)| s["properties"]["parameters"][VENDOR_PRINCIPAL_PARAM]["value"].as_str())
                .map(String::from)
        });
        let mut groups = Vec::new();
        let mut created: Vec<DateTime<Utc>> = Vec::new();
        for (key, stack) in stacks {
            let p = &stack["properties"];
            let stack_spec = spec.as_ref().and_then(|s| s.stacks.iter().find(|x| &x.key == key));
            let logical = |id: &str| -> (String, String) {
                match type_and_name(id) {
                    Some((t, n)) => {
                        let l = stack_spec
                            .and_then(|s| s.logical_id_of(id).or_else(|| s.logical_id(&t, &n)))
                            .map_or_else(|| n.clone(), String::from);
                        (l, t)
                    }
                    None => (id.to_string(), String::new()),
                }
            };
            let mut resources = Vec::new();
            for (list, status) in [("resources", Status::CreateComplete), ("failedResources", Status::CreateFailed)] {
                for r in p[list].as_array().into_iter().flatten() {
                    let Some(id) = r["id"].as_str() else { continue };
                    let (l, t) = logical(id);
                    resources.push(InstalledResource { id: l, type_: t, physical_id: Some(id.to_string()), status });
                }
            }
            // The service principal stands in the first stack that takes it, as in the plan.
            if defs.iter().find(|d| d.needs_principal).is_some_and(|d| &d.key == key) {
                if let Some(pid) = &principal_id {
                    resources.insert(
                        0,
                        InstalledResource {
                            id: SERVICE_PRINCIPAL_ID.into(),
                            type_: SERVICE_PRINCIPAL_TYPE.into(),
                            physical_id: Some(pid.clone()),
                            status: Status::CreateComplete,
                        },
                    );
                }
            }
            let status = stack_status(stack);
            let status_reason = match (status.is_failure(), failure) {
                (false, _) => None,
                (true, Some(f)) => Some(f.to_string()),
                (true, None) => Some(
                    p["error"]
                        .as_object()
                        .map(|_| super::errors::AzureError::from_error(0, &p["error"]).summary())
                        .unwrap_or_else(|| {
                            format!("the stack ended {}", p["provisioningState"].as_str().unwrap_or("Failed"))
                        }),
                ),
            };
            created.extend(
                stack["systemData"]["createdAt"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc)),
            );
            groups.push(InstalledGroup {
                key: key.clone(),
                name: stack["name"].as_str().unwrap_or_default().to_string(),
                id: stack["id"].as_str().unwrap_or_default().to_string(),
                status,
                status_reason,
                resources,
                outputs: values(&p["outputs"]),
                parameters: values(&p["parameters"]),
            });
        }
        // A stack that failed before ARM made it still counts: the apply's cause goes on the
        // install, so that the user reads it in status too.
        let mut outputs = BTreeMap::new();
        let sub = &self.inner.subscription;
        outputs.insert("SubscriptionId".to_string(), sub.subscription_id.clone());
        if !sub.tenant_id.is_empty() {
            outputs.insert("TenantId".to_string(), sub.tenant_id.clone());
        }
        if let Some(pid) = &principal_id {
            outputs.insert("ServicePrincipalObjectId".into(), pid.clone());
        }
        // Each stack's published outputs, under the install's names its template gives them.
        for d in &defs {
            let Some(g) = groups.iter().find(|g| g.key == d.key) else { continue };
            for (name, output) in &d.publish {
                if let Some(v) = g.outputs.get(output) {
                    outputs.insert(name.clone(), v.clone());
                }
            }
        }
        Installation {
            cloud: Cloud::Azure,
            vendor_id: self.inner.vendor.vendor.id.clone(),
            org: org.to_string(),
            account: sub.subscription_id.clone(),
            region: location.to_string(),
            created: created.into_iter().min(),
            groups,
            outputs,
            install_id: None,
            health: Default::default(),
            leftovers: Vec::new(),
            strangers: Vec::new(),
        }
    }

    /// This vendor's installs in the subscription (optionally only `org`'s), rebuilt from the
    /// deployment stacks [`ownership::judge`] finds to be each org's (name and every mark); the
    /// stacks that only look like it are reported beside it. With `org`, an install whose stacks
    /// are gone is still returned when an earlier revoke kept its data account, or a look-alike
    /// carries its marks.
    pub async fn discover(&self, org: Option<&str>) -> Result<Vec<Installation>, CloudError> {
        let notes = Notes::default();
        let req = ApiRequest::arm(
            Method::Get,
            format!("/subscriptions/{}/providers/Microsoft.Resources/deploymentStacks", self.sub()),
            API_STACKS,
        );
        let stacks = self.list_all(&notes, "list the deployment stacks", req).await?;
        let vendor = self.inner.vendor.vendor.id.clone();
        let orgs: std::collections::BTreeSet<String> = match org {
            Some(o) => [o.to_string()].into_iter().collect(),
            None => stacks
                .iter()
                .map(marks_of)
                .filter(|m| m.vendor.as_deref() == Some(vendor.as_str()))
                .filter_map(|m| m.org)
                .collect(),
        };
        let keys = self.stack_keys();
        let mut out = Vec::new();
        for o in orgs {
            let anyone = self.identity_for(&o, None);
            let marks: Vec<Marks> = stacks.iter().map(marks_of).collect();
            let named = stacks.iter().zip(&marks).map(|(s, m)| (s["name"].as_str().unwrap_or_default(), m));
            let (install_id, conflict) = match ownership::recorded_install_id(&anyone, named) {
                Ok(id) => (id, None),
                Err(e) => (None, Some(e)),
            };
            let who = InstallIdentity { install_id: install_id.clone(), ..anyone };
            let mut ours: BTreeMap<String, Value> = BTreeMap::new();
            let mut strangers = Vec::new();
            for (s, m) in stacks.iter().zip(&marks) {
                let name = s["name"].as_str().unwrap_or_default();
                match ownership::judge(&who, name, m) {
                    v if v.is_ours() => match &conflict {
                        Some(c) => strangers.push(self.stranger("deployment stack", name, vec![c.clone()])),
                        None => {
                            // `who.names` are the pack's stack names, in the order of `keys`.
                            let at = who.names.iter().position(|n| name.eq_ignore_ascii_case(n));
                            if let Some((key, _)) = at.and_then(|i| keys.get(i)) {
                                ours.insert(key.clone(), s.clone());
                            }
                        }
                    },
                    Verdict::NotThisInstall(why) => strangers.push(self.stranger("deployment stack", name, why)),
                    _ => {}
                }
            }
            if ours.is_empty() && org.is_none() {
                continue;
            }
            // Creation order.
            let ordered: Vec<(String, Value)> =
                keys.iter().filter_map(|(k, _)| ours.remove(k).map(|s| (k.clone(), s))).collect();
            let location = ordered.iter().find_map(|(_, s)| s["location"].as_str()).unwrap_or_default().to_string();
            let principal = ordered
                .iter()
                .find_map(|(_, s)| s["properties"]["parameters"][VENDOR_PRINCIPAL_PARAM]["value"].as_str())
                .map(|id| json!({"id": id}));
            let mut inst = self.installation_of(&o, &location, &ordered, principal.as_ref(), None);
            inst.install_id = install_id;
            inst.strangers = strangers;
            let detached = |k: &String| keys.iter().any(|(x, f)| x == k && *f == Fate::Detach);
            if !ordered.iter().any(|(k, _)| detached(k)) {
                inst.leftovers = self.kept_data(&notes, &o).await?;
            }
            self.assess(&mut inst);
            if inst.groups.is_empty() && inst.leftovers.is_empty() && inst.strangers.is_empty() {
                continue;
            }
            out.push(inst);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_and_parameters_read_as_text() {
        let v = json!({"a": {"type": "String", "value": "x"}, "n": {"value": 3}, "none": {"type": "String"}});
        let m = values(&v);
        assert_eq!(m["a"], "x");
        assert_eq!(m["n"], "3");
        assert!(!m.contains_key("none"));
        // As the 2025-07-01 API documents them (lowercase), and as older answers capitalised them.
        for (state, status) in [
            ("deploying", Status::CreateInProgress),
            ("succeeded", Status::CreateComplete),
            ("Succeeded", Status::CreateComplete),
            ("failed", Status::CreateFailed),
            ("canceled", Status::CreateFailed),
            ("deletingResources", Status::DeleteInProgress),
            ("Deleting", Status::DeleteInProgress),
        ] {
            assert_eq!(stack_status(&json!({"properties": {"provisioningState": state}})), status, "{state}");
        }
    }
}
