//! Google's error answers → what the user should do. Every error names the call that failed and
//! what Google answered; the next step names the API to enable, the permission and a role that
//! grants it, the quota project to set, or billing to link.

use serde_json::Value;

use super::transport::{ApiResponse, TransportError};
use crate::cloud::CloudError;

/// One call as the user reads about it: what cloudgrant was doing, the request line, and the
/// permission the call needs (named in errors when Google's message does not name one).
#[derive(Debug, Clone)]
pub struct Step {
    pub what: String,
    pub call: String,
    pub permission: &'static str,
}

/// The parts of Google's error body cloudgrant uses
/// (`{"error": {"code", "message", "status", "details": [ErrorInfo…]}}`, or storage's
/// `{"error": {"code", "message", "errors": [{"reason"}]}}`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GoogleError {
    pub code: u16,
    pub status: String,
    pub message: String,
    /// ErrorInfo reasons and storage `errors[].reason`s.
    pub reasons: Vec<String>,
    /// ErrorInfo `metadata.service` (the API a SERVICE_DISABLED error is about).
    pub service: Option<String>,
    /// ErrorInfo `metadata.consumer` (`projects/123`).
    pub consumer: Option<String>,
    /// ErrorInfo `metadata.permission` where Google names it.
    pub permission: Option<String>,
}

impl GoogleError {
    pub fn parse(response: &ApiResponse) -> GoogleError {
        let e = &response.body["error"];
        let mut out = GoogleError {
            code: e["code"].as_u64().and_then(|c| u16::try_from(c).ok()).unwrap_or(response.status),
            status: e["status"].as_str().unwrap_or_default().to_string(),
            message: match e["message"].as_str() {
                Some(m) => m.to_string(),
                // Not Google's format (a proxy page, an empty body): say what came back.
                None if response.body.is_null() => format!("HTTP {} with no JSON body", response.status),
                None => format!("HTTP {}: {}", response.status, response.body),
            },
            ..GoogleError::default()
        };
        for d in e["details"].as_array().into_iter().flatten() {
            if let Some(r) = d["reason"].as_str() {
                out.reasons.push(r.to_string());
            }
            let meta = &d["metadata"];
            let text = |k: &str| meta[k].as_str().map(String::from);
            out.service = out.service.or_else(|| text("service"));
            out.consumer = out.consumer.or_else(|| text("consumer"));
            out.permission = out.permission.or_else(|| text("permission"));
        }
        for x in e["errors"].as_array().into_iter().flatten() {
            if let Some(r) = x["reason"].as_str() {
                out.reasons.push(r.to_string());
            }
        }
        out
    }

    pub fn has_reason(&self, reason: &str) -> bool {
        self.reasons.iter().any(|r| r.eq_ignore_ascii_case(reason))
    }

    /// `404 NOT_FOUND: message`.
    pub fn summary(&self) -> String {
        if self.status.is_empty() {
            format!("{}: {}", self.code, self.message)
        } else {
            format!("{} {}: {}", self.code, self.status, self.message)
        }
    }
}

impl GoogleError {
    /// A long-running operation's `error` (a google.rpc.Status: gRPC code, message, details).
    pub fn from_operation(error: &Value) -> GoogleError {
        let (http, status) = match error["code"].as_u64().unwrap_or(2) {
            3 => (400, "INVALID_ARGUMENT"),
            5 => (404, "NOT_FOUND"),
            6 => (409, "ALREADY_EXISTS"),
            7 => (403, "PERMISSION_DENIED"),
            8 => (429, "RESOURCE_EXHAUSTED"),
            9 => (400, "FAILED_PRECONDITION"),
            10 => (409, "ABORTED"),
            14 => (503, "UNAVAILABLE"),
            16 => (401, "UNAUTHENTICATED"),
            _ => (500, "UNKNOWN"),
        };
        let error = if error.is_object() { error.clone() } else { serde_json::json!({"message": error.to_string()}) };
        let mut body = serde_json::json!({ "error": error });
        body["error"]["code"] = serde_json::json!(http);
        if body["error"]["status"].is_null() {
            body["error"]["status"] = serde_json::json!(status);
        }
        GoogleError::parse(&ApiResponse { status: http, retry_after: None, body })
    }
}

/// A role that grants `permission` (what to ask an administrator for).
pub fn role_for(permission: &str) -> &'static str {
    let p = permission;
    if p.starts_with("iam.roles.") {
        "roles/iam.roleAdmin"
    } else if p.starts_with("iam.serviceAccounts.") {
        "roles/iam.serviceAccountAdmin"
    } else if p == "resourcemanager.projects.getIamPolicy" || p == "resourcemanager.projects.setIamPolicy" {
        "roles/resourcemanager.projectIamAdmin"
    } else if p.starts_with("resourcemanager.projects.") {
        "roles/browser"
    } else if p.starts_with("cloudkms.") {
        "roles/cloudkms.admin"
    } else if p.starts_with("storage.") {
        "roles/storage.admin"
    } else if p == "serviceusage.services.use" {
        "roles/serviceusage.serviceUsageConsumer"
    } else if p.starts_with("serviceusage.") {
        "roles/serviceusage.serviceUsageAdmin"
    } else {
        "roles/owner"
    }
}

/// The permission named in a PERMISSION_DENIED message: "Permission 'iam.roles.create' denied",
/// "… does not have storage.buckets.create access to …".
pub fn denied_permission(message: &str) -> Option<String> {
    if let Some(rest) = message.split("Permission '").nth(1) {
        return rest.split('\'').next().map(String::from);
    }
    if let Some(rest) = message.split("does not have ").nth(1) {
        let p = rest.split_whitespace().next()?;
        if p.contains('.') {
            return Some(p.trim_end_matches([',', '.']).to_string());
        }
    }
    None
}

/// The API named in a "… API has not been used in project … or it is disabled" message.
fn api_in_message(message: &str) -> Option<String> {
    message
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')))
        .find(|w| w.ends_with(".googleapis.com"))
        .map(String::from)
}

/// Google's answer with status >= 400 → the error the user sees.
pub fn google_error(step: &Step, e: &GoogleError, project: &str) -> CloudError {
    let lower = e.message.to_lowercase();
    let head = format!("{}: {} answered {}", step.what, step.call, e.summary());
    // First: with user credentials and no quota project, Google answers SERVICE_DISABLED about
    // gcloud's own client project, and the fix is the quota project, not enabling anything.
    if e.has_reason("USER_PROJECT_DENIED")
        || lower.contains("requires a quota project")
        || lower.contains("quota project")
    {
        return CloudError::failed(
            format!("{head} (no usable quota project for your user credentials)"),
            format!("Set one: `gcloud auth application-default set-quota-project {project}` (you need serviceusage.services.use on it, e.g. through roles/serviceusage.serviceUsageConsumer), then run again."),
        );
    }
    if e.has_reason("SERVICE_DISABLED") || lower.contains("has not been used in project") {
        let api = e.service.clone().or_else(|| api_in_message(&e.message)).unwrap_or_else(|| "the API".into());
        let consumer = e
            .consumer
            .as_deref()
            .and_then(|c| c.strip_prefix("projects/"))
            .map(String::from)
            .unwrap_or_else(|| project.to_string());
        return CloudError::failed(
            format!("{head} (the {api} API is not enabled)"),
            format!("Enable it: `gcloud services enable {api} --project {consumer}`, wait a minute for it to take effect, then run again."),
        );
    }
    if e.has_reason("BILLING_DISABLED")
        || ["billing account", "billing must be enabled", "billing to be enabled", "billing is disabled"]
            .iter()
            .any(|t| lower.contains(t))
    {
        return CloudError::failed(
            format!("{head} (billing is not enabled for project {project})"),
            format!("Link a billing account to the project (`gcloud billing projects link {project} --billing-account=ACCOUNT_ID`, or Console → Billing → My projects), then run again."),
        );
    }
    if e.code == 401 || e.status == "UNAUTHENTICATED" {
        return CloudError::failed(
            format!("{head} (the credentials were refused or have expired)"),
            "Sign in again: `gcloud auth application-default login`, then run again (or use `cloudgrant --sandbox`).",
        );
    }
    if e.code == 403 || e.status == "PERMISSION_DENIED" || e.has_reason("IAM_PERMISSION_DENIED") {
        let permission =
            e.permission.clone().or_else(|| denied_permission(&e.message)).unwrap_or_else(|| step.permission.into());
        let role = role_for(&permission);
        return CloudError::failed(
            format!("{head} (you lack {permission})"),
            format!("Your account lacks `{permission}` on project {project}. Ask a project administrator to grant you {role} (`gcloud projects add-iam-policy-binding {project} --member=user:YOU@EXAMPLE.COM --role={role}`; docs/gcp.md lists every permission cloudgrant needs), or sign in as an account that has it."),
        );
    }
    if e.code == 429 || e.status == "RESOURCE_EXHAUSTED" {
        return CloudError::failed(
            format!("{head} (quota or rate limit reached, still after retries)"),
            "Wait a few minutes and run again; if it persists, check the project's quotas (Console → IAM & Admin → Quotas).",
        );
    }
    CloudError::failed(head, "Read Google's message above; fix its cause and run again.")
}

/// The call could not be made at all.
pub fn transport_error(step: &Step, e: &TransportError) -> CloudError {
    CloudError::failed(format!("{}: {}: {}", step.what, step.call, e.message), e.next_step.clone())
}

/// An answer that is not what the call documents (a field missing): never a panic.
pub fn unexpected(step: &Step, what: &str, body: &Value) -> CloudError {
    let mut shown = body.to_string();
    if shown.len() > 300 {
        let cut = (0..=300).rev().find(|i| shown.is_char_boundary(*i)).unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    CloudError::failed(
        format!("{}: {} answered without {what}: {shown}", step.what, step.call),
        "This is not the answer Google documents for this call; run again, and report it if it repeats.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step() -> Step {
        Step {
            what: "create role".into(),
            call: "POST https://iam.googleapis.com/v1/projects/p/roles".into(),
            permission: "iam.roles.create",
        }
    }

    fn answer(status: u16, body: Value) -> ApiResponse {
        ApiResponse { status, retry_after: None, body }
    }

    #[test]
    fn service_disabled_names_the_api_and_the_command() {
        let r = answer(
            403,
            json!({"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "Identity and Access Management (IAM) API has not been used in project 123 before or it is disabled.",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED", "domain": "googleapis.com", "metadata": {"service": "iam.googleapis.com", "consumer": "projects/123"}}]}}),
        );
        let e = google_error(&step(), &GoogleError::parse(&r), "acme-prod-123");
        assert!(e.to_string().contains("iam.googleapis.com"), "{e}");
        assert!(e.next_step().contains("gcloud services enable iam.googleapis.com --project 123"), "{}", e.next_step());
    }

    #[test]
    fn permission_denied_names_permission_and_role() {
        let r = answer(
            403,
            json!({"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "Permission 'iam.roles.create' denied on resource (or it may not exist)."}}),
        );
        let e = google_error(&step(), &GoogleError::parse(&r), "p1");
        assert!(e.next_step().contains("`iam.roles.create`") && e.next_step().contains("roles/iam.roleAdmin"));
        let r = answer(
            403,
            json!({"error": {"code": 403, "message": "x@y does not have storage.buckets.create access to the Google Cloud project.", "errors": [{"reason": "forbidden"}]}}),
        );
        let e = google_error(&step(), &GoogleError::parse(&r), "p1");
        assert!(e.next_step().contains("roles/storage.admin"), "{}", e.next_step());
        let r = answer(403, json!({"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "denied"}}));
        assert!(google_error(&step(), &GoogleError::parse(&r), "p1").next_step().contains("iam.roles.create"));
    }

    #[test]
    fn quota_project_and_billing_and_odd_bodies() {
        let r = answer(
            403,
            json!({"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "Your application is authenticating by using local Application Default Credentials. The serviceusage.googleapis.com API requires a quota project, which is not set by default.", "details": [{"reason": "SERVICE_DISABLED"}]}}),
        );
        // Google says SERVICE_DISABLED here, but the fix is the quota project.
        let e = google_error(&step(), &GoogleError::parse(&r), "p1");
        assert!(e.next_step().contains("set-quota-project p1"), "{}", e.next_step());
        let r = answer(
            403,
            json!({"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "Caller does not have required permission to use project p1.", "details": [{"reason": "USER_PROJECT_DENIED"}]}}),
        );
        assert!(google_error(&step(), &GoogleError::parse(&r), "p1").next_step().contains("set-quota-project p1"));
        let r = answer(
            400,
            json!({"error": {"code": 400, "status": "FAILED_PRECONDITION", "message": "Billing account for project '123' is not found.", "details": [{"reason": "BILLING_DISABLED"}]}}),
        );
        assert!(google_error(&step(), &GoogleError::parse(&r), "p1")
            .next_step()
            .contains("gcloud billing projects link p1"));
        let g = GoogleError::parse(&answer(502, Value::Null));
        assert_eq!(g.code, 502);
        assert!(g.message.contains("no JSON body"));
        let e = unexpected(&step(), "`name`", &json!({"x": "y".repeat(400)}));
        assert!(e.to_string().len() < 500 && e.to_string().contains("without `name`"));
    }
}
