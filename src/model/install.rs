//! What exists in the cloud for one install, as discovered from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{Cloud, Health, Leftover, Status, Stranger};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Installation {
    pub cloud: Cloud,
    pub vendor_id: String,
    pub org: String,
    pub account: String,
    pub region: String,
    pub created: Option<DateTime<Utc>>,
    pub groups: Vec<InstalledGroup>,
    /// What the vendor needs: role ARN, ExternalId, bucket, key (output name → value).
    pub outputs: BTreeMap<String, String>,
    /// The random id recorded on every group at first init (`cloudgrant-install-id`); `None` for
    /// an install made before install ids, until its next init records one.
    #[serde(default)]
    pub install_id: Option<String>,
    /// How it stands, derived from the cloud.
    #[serde(default)]
    pub health: Health,
    /// What earlier attempts or a half-done revoke left outside the groups (keys, with dates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<Leftover>,
    /// Groups named or marked like this install's that are not it: reported, never touched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strangers: Vec<Stranger>,
}

impl Installation {
    /// What the vendor needs from this install, in the order to send it (`None`: not known yet):
    /// the values the plan's templates name (`Plan::send_to_vendor`). `Project` (Google Cloud)
    /// and `SubscriptionId` (Azure) default to the install's account.
    pub fn for_vendor(&self, names: &[String]) -> Vec<(String, Option<String>)> {
        names
            .iter()
            .map(|k| {
                let value = self.outputs.get(k).cloned().or_else(|| match (self.cloud, k.as_str()) {
                    (super::Cloud::Gcp, "Project") | (super::Cloud::Azure, "SubscriptionId") => {
                        Some(self.account.clone())
                    }
                    _ => None,
                });
                (k.clone(), value)
            })
            .collect()
    }

    pub fn group(&self, key: &str) -> Option<&InstalledGroup> {
        self.groups.iter().find(|g| g.key == key)
    }

    /// Every group finished creating or updating.
    pub fn is_complete(&self) -> bool {
        !self.groups.is_empty()
            && self.groups.iter().all(|g| matches!(g.status, Status::CreateComplete | Status::UpdateComplete))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalledGroup {
    pub key: String,
    pub name: String,
    /// The cloud's id for the group (a stack ARN); stays valid after delete.
    pub id: String,
    pub status: Status,
    pub status_reason: Option<String>,
    pub resources: Vec<InstalledResource>,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalledResource {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub physical_id: Option<String>,
    pub status: Status,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_sends_what_the_template_names_in_order() {
        let outputs: BTreeMap<String, String> =
            [("TenantId", "t-1"), ("IdentityClientId", "c-1"), ("VaultName", "acmeml-kv-x1y2z3w4"), ("Other", "o")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let inst = Installation {
            cloud: Cloud::Azure,
            vendor_id: "acmeml".into(),
            org: "demo".into(),
            account: "sub-1".into(),
            region: "westeurope".into(),
            created: None,
            groups: Vec::new(),
            outputs,
            install_id: None,
            health: Default::default(),
            leftovers: Vec::new(),
            strangers: Vec::new(),
        };
        let names: Vec<String> = crate::plan::build(
            Cloud::Azure,
            &crate::vendor::VendorProfile::bundled().expect("bundled"),
            &crate::plan::Choices { org: "demo".into(), region: "westeurope".into(), account: None, external_id: None },
        )
        .expect("plan")
        .send_to_vendor;
        let keys: Vec<String> = inst.for_vendor(&names).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "TenantId",
                "SubscriptionId",
                "ResourceGroup",
                "IdentityClientId",
                "VaultName",
                "RegistryName",
                "DataAccount"
            ]
        );
        let v = inst.for_vendor(&names);
        assert_eq!(v[1].1.as_deref(), Some("sub-1"), "the subscription is the install's account");
        assert_eq!(v[2].1, None, "not known yet");
    }
}
