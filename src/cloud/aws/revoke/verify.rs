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
                    let described =
                        c.kms.describe_key().key_id(id).send().await.map_err(|e| self.err("kms:DescribeKey", e));
                    // DescribeKey confirms; if it cannot answer, ScheduleKeyDeletion's own answer is the evidence.
                    let (state, date, source) = match described.as_ref().ok().and_then(|d| d.key_metadata()) {
                        Some(m) => (
                            m.key_state().map(|s| s.as_str().to_string()).unwrap_or_default(),
                            m.deletion_date().map(|d| to_chrono(d).date_naive().to_string()).unwrap_or_default(),
                            "DescribeKey".to_string(),
                        ),
                        None => match (scheduled.get(id), &described) {
                            (Some(k), Err(e)) => {
                                (k.state.clone(), k.date.to_string(), format!("ScheduleKeyDeletion's answer ({e})"))
                            }
                            (_, Err(e)) => (String::new(), String::new(), e.to_string()),
                            (_, Ok(_)) => (String::new(), String::new(), "DescribeKey gave no metadata".into()),
                        },
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
                    let there = c.s3.head_bucket().bucket(id).send().await.is_ok();
                    if there {
                        let (objects, bytes) = self.bucket_usage(c, id).await.unwrap_or((0, 0));
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
                        detail: if there { "HeadBucket: found".into() } else { "HeadBucket: not found".into() },
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
