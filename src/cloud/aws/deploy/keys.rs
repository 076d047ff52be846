//! The KMS keys CloudFormation retains: their deletion scheduled once the stack that made them
//! is gone (or rolled back), with the window the vendor profile gives.

use super::*;

impl Aws {
    /// Keys CloudFormation retained (DELETE_SKIPPED) in this stack: schedule their deletion, so
    /// no key is left enabled and forgotten.
    pub(crate) async fn schedule_retained_keys(
        &self,
        c: &Clients,
        stack_id: &str,
        why: &str,
        tx: &mpsc::Sender<Update>,
    ) {
        let Ok(out) = c.cfn.describe_stack_resources().stack_name(stack_id).send().await else { return };
        for r in out.stack_resources() {
            let skipped = r.resource_status().map(|s| s.as_str()) == Some("DELETE_SKIPPED");
            if r.resource_type() == Some("AWS::KMS::Key") && skipped {
                if let Some(key) = r.physical_resource_id() {
                    let text = match self.schedule_key(c, key).await {
                        Ok(k) => format!("key {key} ({why}): deletion scheduled, AWS deletes it on {}", k.date),
                        Err(e) => format!("key {key} ({why}): could not schedule its deletion: {e}. Run: aws kms schedule-key-deletion --key-id {key}"),
                    };
                    let _ = tx.send(Update::Log { text }).await;
                }
            }
        }
    }

    /// ScheduleKeyDeletion with the template's pending window; returns the date and key state
    /// AWS answers with (kept as evidence for the checks after revoke).
    pub(crate) async fn schedule_key(&self, c: &Clients, key: &str) -> Result<KeySchedule, CloudError> {
        let days = self.key_window_days();
        let out = c
            .kms
            .schedule_key_deletion()
            .key_id(key)
            .pending_window_in_days(days as i32)
            .send()
            .await
            .map_err(|e| self.err("kms:ScheduleKeyDeletion", e))?;
        let date =
            out.deletion_date().map(to_chrono).unwrap_or_else(|| Utc::now() + chrono::Duration::days(i64::from(days)));
        // A successful ScheduleKeyDeletion leaves the key PendingDeletion; older answers omit KeyState.
        let state = out.key_state().map(|s| s.as_str().to_string()).unwrap_or_else(|| "PendingDeletion".into());
        Ok(KeySchedule { date: date.date_naive(), state })
    }

    pub(crate) fn key_window_days(&self) -> u32 {
        self.inner
            .blueprint
            .stacks
            .iter()
            .flat_map(|s| s.template.resources.iter())
            .find(|r| r.type_ == "AWS::KMS::Key")
            .and_then(|r| r.properties.get("PendingWindowInDays").and_then(serde_json::Value::as_u64))
            .map(|d| d as u32)
            .unwrap_or(30)
    }
}

/// What ScheduleKeyDeletion answered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeySchedule {
    pub date: chrono::NaiveDate,
    pub state: String,
}
