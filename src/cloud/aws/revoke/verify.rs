//! After a revoke: the roles gone, the keys pending deletion, the kept buckets there, every read
//! side by side; and what stays, with its reason.

use super::*;

impl Aws {
    /// Check that access is really gone and say what stays.
    pub(super) async fn verify(
        &self,
        c: &Clients,
        plan: &RevokePlan,
        failed: Vec<ResidueItem>,
        scheduled: &BTreeMap<String, KeySchedule>,
    ) -> Residue {
        // Every read side by side; checks and what stays in the plan's order.
        let reads = plan.items().chain(plan.leftovers.iter()).map(|item| async move {
            let mut checks = Vec::new();
            let mut items = Vec::new();
            let Some(id) = item.physical_id.as_deref() else { return (checks, items) };
            match item.type_.as_str() {
                "AWS::IAM::Role" => {
                    let check = match c.iam.get_role().role_name(id).send().await {
                        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => Check {
                            what: format!("role {id} no longer exists"),
                            ok: true,
                            detail: "GetRole: NoSuchEntity".into(),
                        },
                        Ok(_) => Check {
                            what: format!("role {id} no longer exists"),
                            ok: false,
                            detail: "GetRole still finds it".into(),
                        },
                        Err(e) => Check {
                            what: format!("role {id} no longer exists"),
                            ok: false,
                            detail: format!("could not check: {}", self.err("iam:GetRole", e)),
                        },
                    };
                    checks.push(check);
                }
                "AWS::KMS::Key" => {
                    // A key this revoke scheduled: ScheduleKeyDeletion's answer (KMS's own, a moment
                    // ago) is the evidence, not read again. Otherwise DescribeKey says; if it cannot
                    // answer, an earlier ScheduleKeyDeletion's answer is the evidence.
                    let now_scheduled = scheduled.get(id).filter(|k| k.state == "PendingDeletion");
                    let described = match now_scheduled {
                        Some(_) => None,
                        None => Some(
                            c.kms.describe_key().key_id(id).send().await.map_err(|e| self.err("kms:DescribeKey", e)),
                        ),
                    };
                    let (state, date, source) = match (now_scheduled, described) {
                        (Some(k), _) => {
                            (k.state.clone(), k.date.to_string(), "ScheduleKeyDeletion's answer".to_string())
                        }
                        (None, Some(described)) => Self::key_evidence(id, scheduled, &described),
                        (None, None) => (String::new(), String::new(), String::new()),
                    };
                    let check = if state == "PendingDeletion" {
                        items.push(ResidueItem {
                            type_: item.type_.clone(),
                            physical_id: id.to_string(),
                            state: "pending_deletion".into(),
                            note: format!(
                                "deleted by AWS on {date}; to keep it: aws kms cancel-key-deletion --key-id {id}"
                            ),
                        });
                        Check {
                            what: format!("key {id} is pending deletion"),
                            ok: true,
                            detail: format!("KeyState PendingDeletion, deletion date {date} (from {source})"),
                        }
                    } else if retain_listed(plan, id) {
                        Check { what: format!("key {id} kept as asked"), ok: true, detail: format!("KeyState {state}") }
                    } else {
                        Check {
                            what: format!("key {id} is pending deletion"),
                            ok: false,
                            detail: format!("KeyState {state:?} (from {source})"),
                        }
                    };
                    checks.push(check);
                }
                "AWS::S3::Bucket" if matches!(item.outcome, RevokeOutcome::Kept { .. }) => {
                    // Listing the objects says both: there (and what it holds), or not.
                    let usage = self.bucket_usage(c, id).await;
                    let there = usage.is_ok();
                    if let Ok((objects, bytes)) = usage {
                        items.push(ResidueItem {
                            type_: item.type_.clone(),
                            physical_id: id.to_string(),
                            state: "kept".into(),
                            note: format!(
                                "kept with your data ({objects} objects, {}); delete it yourself when no longer needed",
                                common::human_bytes(bytes)
                            ),
                        });
                    }
                    checks.push(Check {
                        what: format!("bucket {id} is still there"),
                        ok: there,
                        detail: match &usage {
                            Ok(_) => "ListObjectsV2: found".into(),
                            Err(e) => format!("ListObjectsV2: {e}"),
                        },
                    });
                }
                _ => {}
            }
            (checks, items)
        });
        let mut items = failed;
        let mut checks = Vec::new();
        for (found, stays) in futures::future::join_all(reads).await {
            checks.extend(found);
            items.extend(stays);
        }
        Residue {
            cloud: plan.installation.cloud,
            org: plan.installation.org.clone(),
            account: plan.installation.account.clone(),
            finished: Utc::now(),
            items,
            checks,
        }
    }
}

impl Aws {
    /// A key's state, deletion date and where they come from: DescribeKey's answer, or, when it
    /// cannot answer, an earlier ScheduleKeyDeletion's.
    fn key_evidence(
        id: &str,
        scheduled: &BTreeMap<String, KeySchedule>,
        described: &Result<aws_sdk_kms::operation::describe_key::DescribeKeyOutput, CloudError>,
    ) -> (String, String, String) {
        match described.as_ref().ok().and_then(|d| d.key_metadata()) {
            Some(m) => (
                m.key_state().map(|s| s.as_str().to_string()).unwrap_or_default(),
                m.deletion_date().map(|d| to_chrono(d).date_naive().to_string()).unwrap_or_default(),
                "DescribeKey".to_string(),
            ),
            None => match (scheduled.get(id), described) {
                (Some(k), Err(e)) => {
                    (k.state.clone(), k.date.to_string(), format!("ScheduleKeyDeletion's answer ({e})"))
                }
                (_, Err(e)) => (String::new(), String::new(), e.to_string()),
                (_, Ok(_)) => (String::new(), String::new(), "DescribeKey gave no metadata".into()),
            },
        }
    }
}
