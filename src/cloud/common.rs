//! What every provider says the same way: revoke order, the plain sentences about what stays,
//! and sizes in human units.

use chrono::NaiveDate;

use crate::model::{Installation, InstalledGroup, RevokeOutcome};
use crate::plan::aws::Blueprint;

/// `CLOUDGRANT_DEADLINE_SECS`: how long cloudgrant follows one stack or operation before it stops
/// watching (the cloud carries on) and says what was still running and how to check it.
pub const ENV_DEADLINE: &str = "CLOUDGRANT_DEADLINE_SECS";
/// One hour by default: longer than any stack of the bundled templates takes.
pub const DEFAULT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The overall deadline on following one stack or operation (`CLOUDGRANT_DEADLINE_SECS`).
pub fn deadline() -> std::time::Duration {
    std::env::var(ENV_DEADLINE)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_DEADLINE, std::time::Duration::from_secs)
}

/// The message when the deadline passed: what was still running, and how to look at it.
pub fn deadline_passed(what: &str, state: &str, check: &str) -> crate::cloud::CloudError {
    let limit = deadline().as_secs();
    crate::cloud::CloudError::failed(
        format!("stopped following {what} after {limit} s ({ENV_DEADLINE}): it is still {state} in the cloud, which carries on without cloudgrant"),
        format!("Check it with `{check}` or `cloudgrant status`; once it has settled, run the same command again. To wait longer, set {ENV_DEADLINE}."),
    )
}

/// Whether a state a cloud reports is `want`, whatever the casing (Azure documents deployment
/// stacks' states in lowercase and other states capitalised; both are honoured).
pub fn state_is(found: &str, want: &str) -> bool {
    found.eq_ignore_ascii_case(want)
}

/// Groups in the order revoke deletes them: groups others depend on go last, so the vendor's
/// access (the group that depends on the rest) ends first; ties keep the blueprint's order.
pub fn revoke_order<'a>(installation: &'a Installation, blueprint: &Blueprint) -> Vec<&'a InstalledGroup> {
    let deps = |k: &str| blueprint.stack(k).map(|s| s.depends_on.clone()).unwrap_or_default();
    let mut order: Vec<&InstalledGroup> = installation.groups.iter().collect();
    order.sort_by_key(|g| {
        let dependents = installation.groups.iter().filter(|o| deps(&o.key).contains(&g.key)).count();
        let pos = blueprint.stacks.iter().position(|s| s.key == g.key).unwrap_or(usize::MAX);
        (dependents, pos)
    });
    order
}

/// Revoke of an org where none of this install's groups stands: nothing to delete, and what is
/// there (look-alikes, what an earlier revoke left) named and left alone.
pub fn nothing_to_revoke(installation: &Installation) -> crate::cloud::CloudError {
    let mut seen: Vec<String> = installation.strangers.iter().map(|s| s.line()).collect();
    seen.extend(installation.leftovers.iter().map(|l| l.line()));
    let what = if seen.is_empty() { String::new() } else { format!(". Found and left alone: {}", seen.join(" | ")) };
    crate::cloud::CloudError::failed(
        format!(
            "no install of org {} found in this {}: none of its groups stands{what}",
            installation.org,
            installation.cloud.account_word()
        ),
        "Nothing was changed. Check the org name and account with `cloudgrant status`.",
    )
}

/// A retained bucket: the outcome and the warning shown before confirming.
pub fn kept_bucket(name: &str, objects: u64, bytes: u64) -> (RevokeOutcome, String) {
    let size = human_bytes(bytes);
    (
        RevokeOutcome::Kept {
            reason: format!("DeletionPolicy: Retain. Bucket {name} stays with your data ({objects} objects, {size})"),
        },
        format!(
            "The data bucket {name} is kept ({objects} objects, {size}). Delete it yourself when you no longer need the data: aws s3 rb s3://{name} --force"
        ),
    )
}

/// A key whose deletion will be scheduled: the outcome and the warning.
pub fn scheduled_key(key_id: &str, date: NaiveDate, days: u32) -> (RevokeOutcome, String) {
    let way_back = format!("aws kms cancel-key-deletion --key-id {key_id}");
    (
        RevokeOutcome::ScheduledDeletion { date, days, way_back: way_back.clone() },
        format!(
            "The data key {key_id} is scheduled for deletion on {date} ({days} days). Anything encrypted with it, including objects the vendor's machines wrote to the kept bucket, becomes unreadable then. To keep it: {way_back}"
        ),
    )
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::human_bytes(0), "0 B");
        assert_eq!(super::human_bytes(1536), "1.5 KiB");
        assert_eq!(super::human_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}

/// The HTTP methods the REST providers (Google Cloud, Azure) call with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// reqwest's error text without the URL (the message names the call already): its innermost cause.
pub fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut text = e.to_string();
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    text
}
