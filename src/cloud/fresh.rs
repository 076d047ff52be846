//! The preview's survey, kept for the apply that follows it. The rule: an apply uses what the
//! preview read when it is for the very same plan (the same definitions, account, org and
//! install id: compared whole) and the preview read it under [`FRESH_FOR`] ago; it is used once
//! (taken, not copied), and a revoke forgets it. Each cloud then re-checks, at write time, what
//! could have changed in between: on Google Cloud every create is refused by Google when the
//! name was taken meanwhile (then that resource is read and judged again), and every policy write
//! carries the etag of the read it modifies; on Azure, whose deployment stacks take no
//! precondition, the install's resource groups and stacks are read again just before the first
//! write and the whole survey runs again when any answer differs.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::Plan;

/// How long a preview's survey serves the apply after it.
pub const FRESH_FOR: Duration = Duration::from_secs(60);

/// One survey, with the plan it was made for and when.
pub(crate) struct Kept<T> {
    slot: Mutex<Option<Entry<T>>>,
}

struct Entry<T> {
    plan: Plan,
    at: Instant,
    value: T,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept { slot: Mutex::new(None) }
    }
}

impl<T> std::fmt::Debug for Kept<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kept { .. }")
    }
}

impl<T> Kept<T> {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Entry<T>>> {
        // A panic while the lock was held leaves at worst an old entry, which `take` judges by
        // its plan and age like any other.
        self.slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keep `value`, read just now for `plan` (replacing what was kept before).
    pub(crate) fn keep(&self, plan: &Plan, value: T) {
        self.keep_at(plan, value, Instant::now());
    }

    fn keep_at(&self, plan: &Plan, value: T, at: Instant) {
        *self.slot() = Some(Entry { plan: plan.clone(), at, value });
    }

    /// What was kept for `plan`, with its age, when it is fresh; nothing is kept afterwards
    /// either way.
    pub(crate) fn take(&self, plan: &Plan) -> Option<(T, Duration)> {
        self.take_at(plan, Instant::now())
    }

    fn take_at(&self, plan: &Plan, now: Instant) -> Option<(T, Duration)> {
        let entry = self.slot().take()?;
        let age = now.saturating_duration_since(entry.at);
        (entry.plan == *plan && age < FRESH_FOR).then_some((entry.value, age))
    }

    /// Drop what was kept (something was changed: a revoke).
    pub(crate) fn forget(&self) {
        *self.slot() = None;
    }
}

/// The note an apply logs when it uses the preview's survey.
pub(crate) fn reused_note(age: Duration, recheck: &str) -> String {
    format!(
        "using what the preview read {:.1} s ago (the same plan, under {} s old) instead of reading it all again; {recheck}",
        age.as_secs_f64(),
        FRESH_FOR.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Cloud;

    fn plan(org: &str) -> Plan {
        Plan {
            cloud: Cloud::Gcp,
            vendor: "AcmeML".into(),
            vendor_id: "acmeml".into(),
            org: org.into(),
            region: "europe-west1".into(),
            account: Some("acme-prod-123".into()),
            tags: vec![("cloudgrant-install-id".into(), "x0".into())],
            groups: Vec::new(),
            pack_sha256: "0f".repeat(32),
            send_to_vendor: vec!["Project".into()],
        }
    }

    #[test]
    fn a_survey_serves_the_same_plan_once_while_fresh() {
        let kept = Kept::default();
        let at = Instant::now();
        kept.keep_at(&plan("acme"), 7, at);
        assert_eq!(kept.take_at(&plan("acme"), at + Duration::from_secs(59)), Some((7, Duration::from_secs(59))));
        assert_eq!(kept.take_at(&plan("acme"), at + Duration::from_secs(1)), None, "taken: used once");
    }

    #[test]
    fn an_old_survey_or_one_for_another_plan_is_not_used() {
        let kept = Kept::default();
        let at = Instant::now();
        kept.keep_at(&plan("acme"), 1, at);
        assert_eq!(kept.take_at(&plan("acme"), at + FRESH_FOR), None, "60 s old");
        kept.keep_at(&plan("acme"), 2, at);
        assert_eq!(kept.take_at(&plan("acme-2"), at), None, "another org");
        assert_eq!(kept.take_at(&plan("acme"), at), None, "a miss drops it too");
        let mut other = plan("acme");
        other.tags[0].1 = "x1".into();
        kept.keep_at(&plan("acme"), 3, at);
        assert_eq!(kept.take_at(&other, at), None, "another install id");
        kept.keep_at(&plan("acme"), 4, at);
        kept.forget();
        assert_eq!(kept.take_at(&plan("acme"), at), None, "forgotten after a revoke");
    }
}
