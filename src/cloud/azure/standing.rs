//! Which deployment stacks and resource groups are this install's (every one judged by
//! [`ownership::judge`]: name and every mark), what an earlier revoke kept (the data account in
//! the storage resource group), and the plan a run applies: the install's own name suffix on a
//! re-run, and on a re-install after revoke the kept data account re-attached instead of a second
//! one made beside it.

use serde_json::Value;

use super::{ApiRequest, Azure, Method, Notes, API_STORAGE};
use crate::cloud::ownership::{self, InstallIdentity, Marks, Verdict};
use crate::cloud::CloudError;
use crate::model::{Health, HealthFacts, Installation, Leftover, Plan, Stranger};
use crate::plan::azure::{SUFFIX_LEN, SUFFIX_PARAM};
use crate::plan::Choices;
use crate::vendor::VendorProfile;

pub(crate) const TYPE_STORAGE_ACCOUNT: &str = "Microsoft.Storage/storageAccounts";

/// The identity marks of a stack, resource group or resource (its tags).
pub(crate) fn marks_of(v: &Value) -> Marks {
    Marks::from_pairs(v["tags"].as_object().into_iter().flatten().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))))
}

impl Azure {
    /// Who the install of `org` is: its two resource groups, named as its two stacks are.
    pub(crate) fn identity_for(&self, org: &str, install_id: Option<String>) -> InstallIdentity {
        let vendor = self.inner.vendor.vendor.id.clone();
        InstallIdentity {
            names: self.stack_keys().iter().map(|(k, _)| crate::plan::azure::stack_name(&vendor, org, k)).collect(),
            vendor,
            org: org.to_string(),
            install_id,
            // Azure resource group and deployment stack names are case-insensitive.
            ignore_case: true,
        }
    }

    /// The pack's stacks (key, fate) in creation order (`azure/*.json`, see
    /// [`crate::plan::azure::layout`]); none when its templates do not read (the plan says why).
    pub(crate) fn stack_keys(&self) -> Vec<(String, crate::plan::azure::Fate)> {
        crate::plan::azure::layout::stacks(&self.inner.vendor)
            .map(|defs| defs.into_iter().map(|d| (d.key, d.fate)).collect())
            .unwrap_or_default()
    }

    /// A look-alike, with the commands that show and remove it.
    pub(crate) fn stranger(&self, kind: &str, name: &str, why: Vec<String>) -> Stranger {
        let sub = self.sub();
        let (inspect, remove) = if kind == "resource group" {
            (
                format!("az group show --name {name} --subscription {sub}"),
                format!("az group delete --name {name} --subscription {sub}"),
            )
        } else {
            (
                format!("az stack sub show --name {name} --subscription {sub}"),
                format!("az stack sub delete --name {name} --subscription {sub} --action-on-unmanage detachAll"),
            )
        };
        ownership::stranger(kind, name, why, inspect, remove)
    }

    /// Refuse, before any change, a stack or resource group named like the install's that is not
    /// this install's.
    pub(crate) fn refuse_unless_ours(
        &self,
        who: &InstallIdentity,
        kind: &str,
        name: &str,
        found: &Value,
    ) -> Result<(), CloudError> {
        match ownership::judge(who, name, &marks_of(found)) {
            Verdict::Ours | Verdict::OursWithoutId => Ok(()),
            Verdict::NotThisInstall(why) => Err(CloudError::NotThisInstall(Box::new(self.stranger(kind, name, why)))),
            Verdict::Foreign | Verdict::Unrelated => Err(CloudError::NotOurs { name: name.to_string() }),
        }
    }

    /// The health the stacks of `inst` amount to (deployment stacks keep no record once deleted,
    /// so a half-done revoke shows as a missing main stack beside the storage stack).
    pub(crate) fn assess(&self, inst: &mut Installation) {
        let who = self.identity_for(&inst.org, None);
        inst.health = Health::derive(&HealthFacts {
            planned: who.names.clone(),
            present: inst.groups.iter().map(|g| (g.name.clone(), g.status)).collect(),
            ..HealthFacts::default()
        });
    }

    /// Data accounts an earlier install of `org` kept: in the install's storage resource group
    /// (itself this org's by name and marks), named `<vendor>data<suffix>` and marked as this
    /// vendor's and org's.
    pub(crate) async fn kept_data(&self, notes: &Notes, org: &str) -> Result<Vec<Leftover>, CloudError> {
        let who = self.identity_for(org, None);
        // The kept data sits in the first stack that revoke detaches (its group, by the same name).
        let detached = self.stack_keys().into_iter().find(|(_, f)| *f == crate::plan::azure::Fate::Detach);
        let Some((key, _)) = detached else { return Ok(Vec::new()) };
        let group = crate::plan::azure::stack_name(&who.vendor, org, &key);
        let Some(g) = self.read_group(notes, &group).await? else { return Ok(Vec::new()) };
        if !ownership::judge(&who, &group, &marks_of(&g)).is_ours() {
            return Ok(Vec::new());
        }
        let req = ApiRequest::arm(
            Method::Get,
            format!("/subscriptions/{}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts", self.sub()),
            API_STORAGE,
        );
        let accounts = self.list_all(notes, &format!("list the storage accounts of {group}"), req).await?;
        let prefix = format!("{}data", self.inner.vendor.vendor.id);
        let mut out = Vec::new();
        for a in accounts {
            let Some(name) = a["name"].as_str() else { continue };
            let suffix = name.strip_prefix(&prefix).unwrap_or_default();
            let shaped =
                suffix.len() == SUFFIX_LEN && suffix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            let account = InstallIdentity { names: vec![name.to_string()], ..who.clone() };
            if !shaped || !ownership::judge(&account, name, &marks_of(&a)).is_ours() {
                continue;
            }
            out.push(Leftover {
                type_: TYPE_STORAGE_ACCOUNT.into(),
                physical_id: name.to_string(),
                state: "kept".into(),
                date: None,
                origin: format!("kept with your data in resource group {group} by an earlier revoke"),
                group: None,
                way: format!("A new init re-attaches it. To delete it yourself: az storage account delete --name {name} --resource-group {group}"),
                by_revoke: true,
            });
        }
        Ok(out)
    }

    /// The plan for `choices`: the existing install's suffixes; or, on a re-install, a new suffix
    /// and the data account an earlier revoke kept, re-attached; or new suffixes.
    pub async fn plan(
        &self,
        vendor: &VendorProfile,
        choices: &Choices,
        existing: &[Installation],
    ) -> Result<Plan, CloudError> {
        let param = |key: &str| {
            existing
                .iter()
                .flat_map(|i| i.groups.iter())
                .find(|g| g.key == key)
                .and_then(|g| g.parameters.get(SUFFIX_PARAM).cloned())
        };
        let keys = self.stack_keys();
        let first = |fate| keys.iter().filter(|(_, f)| *f == fate).find_map(|(k, _)| param(k));
        let main = first(crate::plan::azure::Fate::Delete);
        let storage = first(crate::plan::azure::Fate::Detach);
        let kept = existing
            .iter()
            .flat_map(|i| i.leftovers.iter())
            .find(|l| l.type_ == TYPE_STORAGE_ACCOUNT)
            .and_then(|l| l.physical_id.strip_prefix(&format!("{}data", vendor.vendor.id)).map(String::from));
        let suffix = main.clone().or_else(|| storage.clone()).unwrap_or_else(crate::plan::azure::new_suffix);
        let data = storage.or(kept).or(main).unwrap_or_else(|| suffix.clone());
        Ok(crate::plan::azure::build_reattaching(vendor, choices, &suffix, &data)?)
    }
}
