//! After a revoke the subscription is read again, every read side by side: no role assignment
//! left for the vendor or the machines' identity, the stacks gone (not read again where the
//! deletion already saw them gone), the Key Vault soft-deleted with its purge date, the data
//! account there.

use chrono::Utc;
use futures::future::{join_all, BoxFuture};
use futures::FutureExt;

use super::{Gone, SP_KEPT, TYPE_STORAGE_ACCOUNT, TYPE_VAULT};
use crate::cloud::azure::apply::type_and_name;
use crate::cloud::azure::{Azure, Notes};
use crate::cloud::CloudError;
use crate::model::{Check, Cloud, Residue, ResidueItem, RevokeItem, RevokeOutcome, RevokePlan};
use crate::plan::azure::{Fate, SERVICE_PRINCIPAL_TYPE};

/// One read's checks and what stays.
type Found = (Vec<Check>, Vec<ResidueItem>);

fn failed(what: String, e: CloudError) -> Check {
    Check { what, ok: false, detail: format!("could not check: {e}") }
}

fn only(check: Check) -> Found {
    (vec![check], Vec::new())
}

impl Azure {
    /// Read the subscription again and list what stays.
    pub(super) async fn verify(&self, plan: &RevokePlan, mut items: Vec<ResidueItem>, gone: &Gone) -> Residue {
        let inst = &plan.installation;
        let notes = Notes::default();
        let notes = &notes;
        let mut reads: Vec<BoxFuture<'_, Found>> = Vec::new();
        let principals = [
            ("the vendor's service principal", inst.outputs.get("ServicePrincipalObjectId")),
            ("the machines' identity", inst.outputs.get("IdentityPrincipalId")),
        ];
        for (who, id) in principals {
            let Some(id) = id else { continue };
            reads.push(
                async move {
                    let what = format!("{who} ({id}) holds no role assignment in subscription {}", self.sub());
                    only(match self.assignments_of(notes, id).await {
                        Ok(list) if list.is_empty() => Check { what, ok: true, detail: "roleAssignments ($filter principalId): none".into() },
                        Ok(list) => {
                            let ids: Vec<&str> = list.iter().filter_map(|a| a["id"].as_str()).collect();
                            Check { what, ok: false, detail: format!("still assigned: {} (not made by this install, or re-added since); remove with `az role assignment delete --ids {}`", ids.join(", "), ids.join(" ")) }
                        }
                        Err(e) => failed(what, e),
                    })
                }
                .boxed(),
            );
        }
        for g in &plan.groups {
            let what = format!("deployment stack {} is gone", g.name);
            if let Some(how) = gone.seen(&g.name) {
                let detail = how.into();
                reads.push(futures::future::ready(only(Check { what, ok: true, detail })).boxed());
                continue;
            }
            reads.push(
                async move {
                    only(match self.read_stack(notes, &g.name).await {
                        Ok(None) => Check { what, ok: true, detail: "deploymentStacks GET: 404".into() },
                        Ok(Some(s)) => Check {
                            what,
                            ok: false,
                            detail: format!(
                                "still there ({})",
                                s["properties"]["provisioningState"].as_str().unwrap_or("?")
                            ),
                        },
                        Err(e) => failed(what, e),
                    })
                }
                .boxed(),
            );
        }
        for i in plan.items() {
            reads.push(self.verify_item(plan, i, notes).boxed());
        }
        let mut checks = Vec::new();
        for (c, i) in join_all(reads).await {
            checks.extend(c);
            items.extend(i);
        }
        Residue {
            cloud: Cloud::Azure,
            org: inst.org.clone(),
            account: inst.account.clone(),
            finished: Utc::now(),
            items,
            checks,
        }
    }

    async fn verify_item(&self, plan: &RevokePlan, i: &RevokeItem, notes: &Notes) -> Found {
        let inst = &plan.installation;
        let name = i.physical_id.as_deref().and_then(type_and_name).map(|(_, n)| n).unwrap_or_default();
        let residue = |state: &str, note: String| ResidueItem {
            type_: i.type_.clone(),
            physical_id: name.clone(),
            state: state.into(),
            note,
        };
        match (i.type_.as_str(), &i.outcome) {
            (TYPE_VAULT, _) => {
                let what = format!("Key Vault {name} is soft-deleted");
                let location = inst.region.clone();
                match self.deleted_vault(notes, &location, &name).await {
                    Ok(Some(v)) => {
                        let purge = v["properties"]["scheduledPurgeDate"].as_str().unwrap_or("unknown").to_string();
                        let protected = v["properties"]["purgeProtectionEnabled"].as_bool() == Some(true);
                        let how = if protected {
                            "purge protection is on: Azure purges it then".to_string()
                        } else {
                            format!("purge it sooner with `az keyvault purge --name {name} --location {location}`")
                        };
                        let kept = residue("soft_deleted", format!("scheduled purge {purge}; its name stays reserved until then; recover with `az keyvault recover --name {name}`; {how}"));
                        (
                            vec![Check {
                                what,
                                ok: true,
                                detail: format!("deletedVaults: found, scheduled purge {purge}"),
                            }],
                            vec![kept],
                        )
                    }
                    Ok(None) => {
                        let group = plan
                            .groups
                            .iter()
                            .find(|g| g.key == self.first_of(Fate::Delete))
                            .map(|g| g.name.clone())
                            .unwrap_or_default();
                        only(match self.read_vault(notes, &group, &name).await {
                            Ok(Some(_)) => Check { what, ok: false, detail: "the vault is still active".into() },
                            Ok(None) => Check {
                                what,
                                ok: true,
                                detail: "neither active nor in deletedVaults: purged already".into(),
                            },
                            Err(e) => failed(what, e),
                        })
                    }
                    Err(e) => only(failed(what, e)),
                }
            }
            (TYPE_STORAGE_ACCOUNT, RevokeOutcome::Kept { .. }) => {
                let what = format!("data account {name} is kept");
                let group = plan
                    .groups
                    .iter()
                    .find(|g| g.key == self.first_of(Fate::Detach))
                    .map(|g| g.name.clone())
                    .unwrap_or_default();
                match self.read_account(notes, &group, &name).await {
                    Ok(Some(_)) => {
                        let kept = residue("kept", format!("your data stays; no longer managed by a stack; delete it yourself when you no longer need it: `az storage account delete --name {name} --resource-group {group}`"));
                        (vec![Check { what, ok: true, detail: "storageAccounts GET: found".into() }], vec![kept])
                    }
                    Ok(None) => only(Check {
                        what,
                        ok: false,
                        detail: "storageAccounts GET: 404 (deleted outside cloudgrant?)".into(),
                    }),
                    Err(e) => only(failed(what, e)),
                }
            }
            (SERVICE_PRINCIPAL_TYPE, RevokeOutcome::Deleted) => {
                let what = "the vendor's service principal is deleted".to_string();
                only(match self.find_service_principal(notes).await {
                    Ok(None) => Check { what, ok: true, detail: "servicePrincipals(appId) GET: 404".into() },
                    Ok(Some(_)) => Check { what, ok: false, detail: "Graph still finds it".into() },
                    Err(e) => failed(what, e),
                })
            }
            (SERVICE_PRINCIPAL_TYPE, _) => (
                Vec::new(),
                vec![ResidueItem {
                    type_: i.type_.clone(),
                    physical_id: i.physical_id.clone().unwrap_or_default(),
                    state: "kept".into(),
                    note: SP_KEPT.into(),
                }],
            ),
            (_, RevokeOutcome::Kept { reason }) => (Vec::new(), vec![residue("kept", reason.clone())]),
            _ => (Vec::new(), Vec::new()),
        }
    }
}
