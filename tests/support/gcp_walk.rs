//! A plain walk of a Google Cloud `install.yaml`, independent of the plan code: placeholders
//! filled by text replacement, then each section read as docs/gcp.md describes it. What the
//! exactness tests compare the plan (and the runs) against.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use cloudgrant::model::OnRevoke;
use cloudgrant::vendor::VendorProfile;
use serde_yaml::Value;

pub struct Walk {
    /// (logical id, type, fate on revoke), in creation order.
    pub resources: Vec<(String, String, OnRevoke)>,
    /// Per binding: (id, member, its role's permissions sorted, [the holder's full name]).
    pub bindings: Vec<(String, String, Vec<String>, Vec<String>)>,
    pub send_to_vendor: Vec<String>,
    /// `Project` and every resource's logical id → what the vendor would be sent for it.
    pub values: BTreeMap<String, String>,
}

fn seq<'a>(v: &'a Value, key: &str) -> Vec<&'a Value> {
    v[key].as_sequence().map(|s| s.iter().collect()).unwrap_or_default()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("`{key}` in {v:?}"))
}

impl Walk {
    pub fn new(text: &str, vendor: &VendorProfile, project: &str, location: &str, org: &str) -> Walk {
        let id = &vendor.vendor.id;
        let filled = text
            .replace("${project}", project)
            .replace("${location}", location)
            .replace("${org_}", &org.replace('-', "_"))
            .replace("${org}", org)
            .replace("${vendor_id}", id)
            .replace("${vendor_name}", &vendor.vendor.name)
            .replace("${vendor_sa}", &vendor.gcp.service_account)
            .replace("${install}", &format!("{id}-{org}"));
        let doc: Value = serde_yaml::from_str(&filled).expect("install.yaml is YAML");
        let mut values = BTreeMap::from([("Project".to_string(), project.to_string())]);
        let mut resources = Vec::new();
        let mut push = |id: &str, type_: &str, fate: OnRevoke, value: Option<String>, values: &mut BTreeMap<_, _>| {
            resources.push((id.to_string(), type_.to_string(), fate));
            if let Some(v) = value {
                values.insert(id.to_string(), v);
            }
        };
        for a in seq(&doc, "apis") {
            let v = s(a, "service").to_string();
            push(s(a, "id"), "serviceusage.googleapis.com/Service", OnRevoke::Keep, Some(v), &mut values);
        }
        let mut roles: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        for r in seq(&doc, "roles") {
            let name = format!("projects/{project}/roles/{}", s(r, "role_id"));
            let perms = seq(r, "permissions").iter().map(|p| p.as_str().expect("permission").to_string()).collect();
            roles.insert(s(r, "id").to_string(), (name.clone(), perms));
            push(s(r, "id"), "iam.googleapis.com/Role", OnRevoke::SoftDelete, Some(name), &mut values);
        }
        for r in seq(&doc, "predefined_roles") {
            let perms = seq(r, "permissions").iter().map(|p| p.as_str().expect("permission").to_string()).collect();
            roles.insert(s(r, "role").to_string(), (s(r, "role").to_string(), perms));
        }
        let mut accounts = BTreeMap::new();
        for a in seq(&doc, "service_accounts") {
            let email = format!("{}@{project}.iam.gserviceaccount.com", s(a, "account_id"));
            accounts.insert(s(a, "id").to_string(), email.clone());
            push(s(a, "id"), "iam.googleapis.com/ServiceAccount", OnRevoke::Delete, Some(email), &mut values);
        }
        let mut rings = BTreeMap::new();
        for r in seq(&doc, "key_rings") {
            let name = format!("projects/{project}/locations/{}/keyRings/{}", s(r, "location"), s(r, "name"));
            rings.insert(s(r, "id").to_string(), name.clone());
            push(s(r, "id"), "cloudkms.googleapis.com/KeyRing", OnRevoke::Keep, Some(name), &mut values);
        }
        let mut keys = BTreeMap::new();
        for k in seq(&doc, "crypto_keys") {
            let name = format!("{}/cryptoKeys/{}", rings[s(k, "key_ring")], s(k, "name"));
            keys.insert(s(k, "id").to_string(), name.clone());
            push(s(k, "id"), "cloudkms.googleapis.com/CryptoKey", OnRevoke::ScheduledDeletion, Some(name), &mut values);
        }
        let mut buckets = BTreeMap::new();
        for b in seq(&doc, "buckets") {
            buckets.insert(s(b, "id").to_string(), s(b, "name").to_string());
            push(s(b, "id"), "storage.googleapis.com/Bucket", OnRevoke::Keep, Some(s(b, "name").into()), &mut values);
        }
        let mut bindings = Vec::new();
        for b in seq(&doc, "bindings") {
            let (_, perms) = &roles[s(b, "role")];
            let mut perms = perms.clone();
            perms.sort();
            let member = match accounts.get(s(b, "member")) {
                Some(email) => format!("serviceAccount:{email}"),
                None => s(b, "member").to_string(),
            };
            let on = s(b, "on");
            let holder = if on == "project" {
                format!("//cloudresourcemanager.googleapis.com/projects/{project}")
            } else if let Some(e) = accounts.get(on) {
                format!("//iam.googleapis.com/projects/{project}/serviceAccounts/{e}")
            } else if let Some(n) = buckets.get(on) {
                format!("//storage.googleapis.com/projects/_/buckets/{n}")
            } else {
                let n = rings.get(on).or_else(|| keys.get(on)).unwrap_or_else(|| panic!("binding on `{on}`"));
                format!("//cloudkms.googleapis.com/{n}")
            };
            bindings.push((s(b, "id").to_string(), member, perms, vec![holder]));
            push(s(b, "id"), "IAM binding", OnRevoke::Delete, None, &mut values);
        }
        let send_to_vendor =
            seq(&doc, "send_to_vendor").iter().map(|v| v.as_str().expect("a name").to_string()).collect();
        Walk { resources, bindings, send_to_vendor, values }
    }
}
