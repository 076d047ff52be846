//! Azure's error answers → what the user should do. Every error names the call that failed and
//! what Azure answered; the next step names the role to ask for, the command to run, or the name
//! to change.

use serde_json::Value;

use super::transport::{ApiResponse, TransportError};
use crate::cloud::CloudError;

/// One call as the user reads about it: what cloudgrant was doing and the request line.
#[derive(Debug, Clone)]
pub struct Step {
    pub what: String,
    pub call: String,
}

/// The parts of an error body cloudgrant uses: ARM's `{"error": {"code", "message", "details"}}`
/// and Graph's `{"error": {"code", "message", "innerError"}}` (also the `error` of an async
/// operation, a deployment operation or a stack).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AzureError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// `details[]` as (code, message), depth first.
    pub details: Vec<(String, String)>,
}

impl AzureError {
    pub fn parse(response: &ApiResponse) -> AzureError {
        let e = &response.body["error"];
        if e.is_object() {
            return AzureError::from_error(response.status, e);
        }
        AzureError {
            status: response.status,
            code: String::new(),
            message: if response.body.is_null() {
                format!("HTTP {} with no JSON body", response.status)
            } else {
                format!("HTTP {}: {}", response.status, clip(&response.body.to_string(), 300))
            },
            details: Vec::new(),
        }
    }

    /// An `error` object as found in operations and stacks (`{"code", "message", "details"}`).
    pub fn from_error(status: u16, e: &Value) -> AzureError {
        let mut details = Vec::new();
        collect_details(e, &mut details, 0);
        AzureError {
            status,
            code: e["code"].as_str().unwrap_or_default().to_string(),
            message: e["message"].as_str().unwrap_or_default().to_string(),
            details,
        }
    }

    /// This code, or any detail's.
    pub fn has_code(&self, code: &str) -> bool {
        self.code.eq_ignore_ascii_case(code) || self.details.iter().any(|(c, _)| c.eq_ignore_ascii_case(code))
    }

    /// The innermost detail: usually the real cause (a deployment's `DeploymentFailed` wraps the
    /// resource's error).
    pub fn root(&self) -> (String, String) {
        self.details
            .iter()
            .rev()
            .find(|(c, m)| !c.is_empty() || !m.is_empty())
            .cloned()
            .unwrap_or_else(|| (self.code.clone(), self.message.clone()))
    }

    /// `403 AuthorizationFailed: message`.
    pub fn summary(&self) -> String {
        let mut out = match (self.status, self.code.is_empty()) {
            (0, true) => self.message.clone(),
            (0, false) => format!("{}: {}", self.code, self.message),
            (s, true) => format!("{s}: {}", self.message),
            (s, false) => format!("{s} {}: {}", self.code, self.message),
        };
        let (rc, rm) = self.root();
        if (rc != self.code || rm != self.message) && !(rc.is_empty() && rm.is_empty()) {
            out.push_str(&format!(" (cause: {rc}: {rm})"));
        }
        out
    }

    fn all_text(&self) -> String {
        let mut t = format!("{} {}", self.code, self.message);
        for (c, m) in &self.details {
            t.push(' ');
            t.push_str(c);
            t.push(' ');
            t.push_str(m);
        }
        t
    }
}

fn collect_details(e: &Value, out: &mut Vec<(String, String)>, depth: usize) {
    if depth > 8 {
        return;
    }
    for d in e["details"].as_array().into_iter().flatten() {
        out.push((
            d["code"].as_str().unwrap_or_default().to_string(),
            d["message"].as_str().unwrap_or_default().to_string(),
        ));
        collect_details(d, out, depth + 1);
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let cut = (0..=n).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
    format!("{}…", &s[..cut])
}

/// The resource provider named in a MissingSubscriptionRegistration message
/// ("… is not registered to use namespace 'Microsoft.KeyVault'").
fn namespace_in(text: &str) -> Option<String> {
    text.split(['\'', '"', ' '])
        .map(|w| w.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '.')))
        .find(|w| w.starts_with("Microsoft.") && w.len() > "Microsoft.".len() && !w.contains('/'))
        .map(String::from)
}

/// The action named in an AuthorizationFailed message ("does not have authorization to perform
/// action 'Microsoft.Authorization/roleAssignments/write' over scope …").
fn action_in(text: &str) -> Option<String> {
    let rest = text.split("perform action '").nth(1)?;
    rest.split('\'').next().map(String::from)
}

/// A role that grants `action` on a subscription (what to ask an administrator for).
pub fn role_for(action: &str) -> &'static str {
    let a = action.to_ascii_lowercase();
    if a.starts_with("microsoft.authorization/roleassignments/")
        || a.starts_with("microsoft.authorization/roledefinitions/")
    {
        "Owner or User Access Administrator"
    } else {
        "Owner, or Contributor together with User Access Administrator"
    }
}

/// Azure's answer with status >= 400 (or a failed operation's error) → the error the user sees.
/// `subscription` goes into the commands of the next step.
pub fn azure_error(step: &Step, e: &AzureError, subscription: &str) -> CloudError {
    let head = format!("{}: {} answered {}", step.what, step.call, e.summary());
    let text = e.all_text();
    let lower = text.to_lowercase();
    if e.has_code("SubscriptionNotFound") || e.has_code("InvalidSubscriptionId") {
        return CloudError::failed(
            format!("{head} (unknown subscription {subscription}, or the signed-in identity cannot see it)"),
            "List the subscriptions you can use with `az account list --output table` (or pick one on the Account screen), and pass its id with --subscription.",
        );
    }
    if e.has_code("MissingSubscriptionRegistration") || lower.contains("not registered to use namespace") {
        let ns = namespace_in(&text).unwrap_or_else(|| "the resource provider named above".into());
        return CloudError::failed(
            format!("{head} (the subscription is not registered for {ns})"),
            format!("Register it: `az provider register --namespace {ns} --subscription {subscription}`, wait until `az provider show --namespace {ns} --query registrationState` says Registered, then run again."),
        );
    }
    if e.has_code("Authorization_RequestDenied") {
        return CloudError::failed(
            format!("{head} (Microsoft Entra ID refused: creating the vendor's service principal needs a directory role)"),
            "Ask for the Application Administrator or Cloud Application Administrator role in Microsoft Entra ID, or ask an administrator to run `az ad sp create --id <the vendor's app id>` once (cloudgrant then finds and reuses it); then run again.",
        );
    }
    if e.has_code("VaultAlreadyExists") || e.has_code("ConflictError") && lower.contains("vault") {
        return CloudError::failed(
            format!("{head} (a Key Vault of this name exists, possibly soft-deleted; Key Vault names are global)"),
            "If it is a soft-deleted vault of an earlier install, purge it: `az keyvault purge --name <vault name>` (not possible while purge protection is on); otherwise run again: a fresh install gets a new name suffix.",
        );
    }
    if e.has_code("StorageAccountAlreadyTaken") || e.has_code("StorageAccountAlreadyExists") {
        return CloudError::failed(
            format!("{head} (storage account names are global, and this one is taken)"),
            "Run again: a fresh install gets a new name suffix. If this is a re-run of an install whose account was deleted, revoke it first.",
        );
    }
    if e.has_code("AlreadyInUse") || e.has_code("RegistryNameNotAvailable") {
        return CloudError::failed(
            format!("{head} (container registry names are global, and this one is taken)"),
            "Run again: a fresh install gets a new name suffix.",
        );
    }
    if e.status == 401 || e.has_code("InvalidAuthenticationToken") || e.has_code("ExpiredAuthenticationToken") {
        return CloudError::failed(
            format!("{head} (the credentials were refused or have expired)"),
            "Sign in again with `az login` (or check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET), then run again; or try the flow with `cloudgrant --sandbox`.",
        );
    }
    if e.has_code("AuthorizationFailed") || e.has_code("LinkedAuthorizationFailed") || e.status == 403 {
        let action = action_in(&text);
        let role = action.as_deref().map_or("Owner, or Contributor together with User Access Administrator", role_for);
        let needs = action.map(|a| format!("`{a}`")).unwrap_or_else(|| "the permission for this call".into());
        return CloudError::failed(
            format!("{head} (you lack {needs})"),
            format!("Ask a subscription owner to give you {role} on subscription {subscription} (`az role assignment create --assignee YOU@EXAMPLE.COM --role \"User Access Administrator\" --scope /subscriptions/{subscription}`; docs/azure.md lists what cloudgrant needs), or sign in as an identity that has it."),
        );
    }
    if e.status == 429 || e.has_code("TooManyRequests") || e.has_code("Throttled") || e.has_code("RequestThrottled") {
        return CloudError::failed(
            format!("{head} (Azure is throttling requests, still after retries)"),
            "Wait a few minutes and run again; the same run continues where this one stopped.",
        );
    }
    CloudError::failed(head, "Read Azure's message above; fix its cause and run again.")
}

/// The call could not be made at all.
pub fn transport_error(step: &Step, e: &TransportError) -> CloudError {
    CloudError::failed(format!("{}: {}: {}", step.what, step.call, e.message), e.next_step.clone())
}

/// An answer that is not what the call documents (a field missing): never a panic.
pub fn unexpected(step: &Step, what: &str, body: &Value) -> CloudError {
    CloudError::failed(
        format!("{}: {} answered without {what}: {}", step.what, step.call, clip(&body.to_string(), 300)),
        "This is not the answer Azure documents for this call; run again, and report it if it repeats.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step() -> Step {
        Step { what: "create stack".into(), call: "PUT https://management.azure.com/subscriptions/s/…".into() }
    }

    fn err(status: u16, body: Value) -> CloudError {
        azure_error(&step(), &AzureError::parse(&ApiResponse::json(status, body)), "sub-1")
    }

    #[test]
    fn authorization_failed_names_the_action_and_the_role() {
        let e = err(
            403,
            json!({"error": {"code": "AuthorizationFailed", "message": "The client 'a@b' with object id 'x' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '/subscriptions/sub-1' or the scope is invalid."}}),
        );
        assert!(e.to_string().contains("Microsoft.Authorization/roleAssignments/write"), "{e}");
        assert!(e.next_step().contains("User Access Administrator"), "{}", e.next_step());
    }

    #[test]
    fn registration_subscription_graph_and_names() {
        let e = err(
            409,
            json!({"error": {"code": "MissingSubscriptionRegistration", "message": "The subscription is not registered to use namespace 'Microsoft.KeyVault'."}}),
        );
        assert!(e.next_step().contains("az provider register --namespace Microsoft.KeyVault"), "{}", e.next_step());
        let e = err(
            404,
            json!({"error": {"code": "SubscriptionNotFound", "message": "The subscription 'x' could not be found."}}),
        );
        assert!(e.next_step().contains("az account list"));
        let e = err(
            403,
            json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation.", "innerError": {}}}),
        );
        assert!(e.next_step().contains("Cloud Application Administrator") && e.next_step().contains("az ad sp create"));
        let e = err(
            409,
            json!({"error": {"code": "VaultAlreadyExists", "message": "The vault name 'x' is already in use."}}),
        );
        assert!(e.next_step().contains("az keyvault purge"));
        let e = err(429, json!({"error": {"code": "TooManyRequests", "message": "slow down"}}));
        assert!(e.to_string().contains("throttling"));
    }

    #[test]
    fn nested_details_give_the_root_cause() {
        let e = AzureError::from_error(
            0,
            &json!({"code": "DeploymentFailed", "message": "At least one resource deployment operation failed.",
                "details": [{"code": "Conflict", "message": "{}", "details": [{"code": "StorageAccountAlreadyTaken", "message": "The storage account named x is already taken."}]}]}),
        );
        assert_eq!(e.root().0, "StorageAccountAlreadyTaken");
        assert!(e.summary().contains("cause: StorageAccountAlreadyTaken"), "{}", e.summary());
        assert!(azure_error(&step(), &e, "s").next_step().contains("new name suffix"));
        let odd = AzureError::parse(&ApiResponse::json(502, Value::Null));
        assert!(odd.message.contains("no JSON body"));
    }
}
