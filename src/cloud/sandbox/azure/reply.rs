//! Answers as Azure gives them: ARM's `{"error": {"code", "message", "details"}}`, Microsoft
//! Graph's `{"error": {"code", "message", "innerError"}}`, and times and durations as ARM writes
//! them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::cloud::azure::transport::{ApiRequest, ApiResponse, Service};

/// What a handler answers: a finished answer either way (ARM answers 200, 201, 202 and 204).
pub type Answer = Result<ApiResponse, ApiResponse>;

/// Appended to the messages of injected faults, as the other sandboxes do.
pub fn injected(id: &str) -> String {
    format!(" [sandbox: injected by --sandbox-fail {id}]")
}

pub fn ok(body: Value) -> ApiResponse {
    ApiResponse::json(200, body)
}

pub fn status(code: u16, body: Value) -> ApiResponse {
    ApiResponse::json(code, body)
}

/// A long-running operation's first answer: the status URL in `Azure-AsyncOperation` (and
/// `Location` for a delete, as ARM sends both there) and when to look again.
pub fn long_running(code: u16, body: Value, status_url: String, location: bool, retry: Duration) -> ApiResponse {
    ApiResponse {
        status: code,
        retry_after: Some(retry),
        location: location.then(|| status_url.clone()),
        async_operation: Some(status_url),
        body,
    }
}

/// An ARM error.
pub fn arm(code: u16, error: &str, message: impl Into<String>) -> ApiResponse {
    ApiResponse::json(code, json!({"error": {"code": error, "message": message.into(), "details": []}}))
}

/// `{"code", "message"}` for details and operations.
pub fn error_body(code: &str, message: impl Into<String>) -> Value {
    json!({"code": code, "message": message.into()})
}

pub fn subscription_not_found(sub: &str) -> ApiResponse {
    arm(404, "SubscriptionNotFound", format!("The subscription '{sub}' could not be found."))
}

pub fn group_not_found(group: &str) -> ApiResponse {
    arm(404, "ResourceGroupNotFound", format!("Resource group '{group}' could not be found."))
}

/// 404 for a resource that does not exist in an existing group.
pub fn resource_not_found(type_: &str, name: &str, group: &str) -> ApiResponse {
    arm(
        404,
        "ResourceNotFound",
        format!("The Resource '{type_}/{name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
    )
}

pub fn invalid_request(message: impl Into<String>) -> ApiResponse {
    arm(400, "InvalidRequestContent", message)
}

/// A Microsoft Graph error.
pub fn graph(code: u16, error: &str, message: impl Into<String>, now: DateTime<Utc>) -> ApiResponse {
    ApiResponse::json(
        code,
        json!({"error": {
            "code": error,
            "message": message.into(),
            "innerError": {
                "date": now.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": "00000000-0000-0000-0000-000000000000",
                "client-request-id": "00000000-0000-0000-0000-000000000000"
            }
        }}),
    )
}

/// A call that is not in docs/azure-calls.md: 404 naming it, never a panic.
pub fn unknown_call(req: &ApiRequest) -> ApiResponse {
    let (host, doc) = match req.service {
        Service::Arm => ("management.azure.com", "docs/azure-calls.md"),
        Service::Graph => ("graph.microsoft.com", "docs/azure-calls.md"),
    };
    let message = format!(
        "No HTTP resource was found that matches the request URI '{}'. [sandbox: {} {host}{} is not a call the simulated Azure answers; see {doc}]",
        req.path,
        req.method.as_str(),
        req.path
    );
    match req.service {
        Service::Arm => arm(404, "NotFound", message),
        Service::Graph => {
            ApiResponse::json(404, json!({"error": {"code": "Request_ResourceNotFound", "message": message}}))
        }
    }
}

/// The request body, or `{}`.
pub fn body(req: &ApiRequest) -> Value {
    req.body.clone().unwrap_or_else(|| json!({}))
}

/// An RFC 3339 time as ARM writes it.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// An ISO 8601 duration (`PT1M5.25S`), as ARM reports operations' durations.
pub fn duration(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let ms = (to - from).num_milliseconds().max(0);
    let (minutes, rest) = (ms / 60_000, ms % 60_000);
    let seconds = format!("{}.{:03}", rest / 1000, rest % 1000);
    let seconds = seconds.trim_end_matches('0').trim_end_matches('.');
    match (minutes, seconds.is_empty() || seconds == "0") {
        (0, _) => format!("PT{}S", if seconds.is_empty() { "0" } else { seconds }),
        (m, true) => format!("PT{m}M"),
        (m, false) => format!("PT{m}M{seconds}S"),
    }
}

/// `%27` → `'` and so on; invalid escapes are kept as written.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn durations_as_arm_writes_them() {
        let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let at = |ms: i64| t0 + chrono::Duration::milliseconds(ms);
        assert_eq!(duration(t0, at(0)), "PT0S");
        assert_eq!(duration(t0, at(1500)), "PT1.5S");
        assert_eq!(duration(t0, at(12_000)), "PT12S");
        assert_eq!(duration(t0, at(65_250)), "PT1M5.25S");
        assert_eq!(duration(t0, at(120_000)), "PT2M");
    }
}
