//! Answers as Google gives them: `{"error": {"code", "message", "status", "details"}}` for the
//! Google APIs, `{"error": {"code", "message", "errors": [{"reason"}]}}` for Cloud Storage's JSON
//! API, and page tokens that only this simulation understands.

use serde_json::{json, Value};

pub use crate::cloud::gcp::transport::ApiResponse;
use crate::cloud::gcp::transport::{ApiRequest, Service};

/// What a handler answers: the 200 body, or a finished error answer.
pub type Answer = Result<Value, ApiResponse>;

/// Appended to the messages of injected faults, as the AWS sandbox does.
pub fn injected(id: &str) -> String {
    format!(" [sandbox: injected by --sandbox-fail {id}]")
}

pub fn ok(body: Value) -> ApiResponse {
    ApiResponse { status: 200, retry_after: None, body }
}

/// 204 with no body, as Cloud Storage answers a delete. Handlers return it as a finished answer
/// (the `Err` side of [`Answer`]), since it carries no 200 body.
pub fn no_content() -> ApiResponse {
    ApiResponse { status: 204, retry_after: None, body: Value::Null }
}

/// A Google API error (`google.rpc.Status` in JSON).
pub fn google(code: u16, status: &str, message: impl Into<String>, details: Vec<Value>) -> ApiResponse {
    let mut error = json!({"code": code, "message": message.into(), "status": status});
    if !details.is_empty() {
        error["details"] = Value::Array(details);
    }
    ApiResponse { status: code, retry_after: None, body: json!({ "error": error }) }
}

pub fn invalid(message: impl Into<String>) -> ApiResponse {
    google(400, "INVALID_ARGUMENT", message, Vec::new())
}

pub fn not_found(message: impl Into<String>) -> ApiResponse {
    google(404, "NOT_FOUND", message, Vec::new())
}

pub fn already_exists(message: impl Into<String>) -> ApiResponse {
    google(409, "ALREADY_EXISTS", message, Vec::new())
}

pub fn failed_precondition(message: impl Into<String>) -> ApiResponse {
    google(400, "FAILED_PRECONDITION", message, Vec::new())
}

pub fn aborted() -> ApiResponse {
    google(
        409,
        "ABORTED",
        "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
        Vec::new(),
    )
}

/// 403 for a missing permission, with the `ErrorInfo` Google attaches. `resource` is what the
/// message names (`//iam.googleapis.com/projects/p`, `projects/p/locations/l`).
pub fn denied(permission: &str, resource: &str, domain: &str, suffix: &str) -> ApiResponse {
    google(
        403,
        "PERMISSION_DENIED",
        format!("Permission '{permission}' denied on resource '{resource}' (or it may not exist).{suffix}"),
        vec![json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "IAM_PERMISSION_DENIED",
            "domain": domain,
            "metadata": {"permission": permission, "resource": resource}
        })],
    )
}

/// The API is not enabled in the project (`api`: `iam.googleapis.com`).
pub fn service_disabled(api: &str, number: &str) -> ApiResponse {
    let title = match api {
        "iam.googleapis.com" => "Identity and Access Management (IAM) API",
        "cloudkms.googleapis.com" => "Cloud Key Management Service (KMS) API",
        "storage.googleapis.com" => "Cloud Storage API",
        "compute.googleapis.com" => "Compute Engine API",
        _ => api,
    };
    let url = format!("https://console.developers.google.com/apis/api/{api}/overview?project={number}");
    google(
        403,
        "PERMISSION_DENIED",
        format!("{title} has not been used in project {number} before or it is disabled. Enable it by visiting {url} then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry."),
        vec![
            json!({
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {
                    "service": api,
                    "consumer": format!("projects/{number}"),
                    "serviceTitle": title,
                    "containerInfo": number,
                    "activationUrl": url,
                }
            }),
            json!({
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Google developers console API activation", "url": url}]
            }),
        ],
    )
}

/// A Cloud Storage JSON API error.
pub fn storage(code: u16, reason: &str, message: impl Into<String>) -> ApiResponse {
    let message = message.into();
    ApiResponse {
        status: code,
        retry_after: None,
        body: json!({"error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}]
        }}),
    }
}

/// A call that is not in docs/gcp-calls.md: 404 naming it, never a panic.
pub fn unknown_call(req: &ApiRequest) -> ApiResponse {
    let base = match req.service {
        Service::Storage => "storage.googleapis.com",
        s => s.api(),
    };
    not_found(format!(
        "The requested URL {} was not found on this server. [sandbox: {} {}{} is not a call the simulated Google Cloud answers; see docs/gcp-calls.md]",
        req.path,
        req.method.as_str(),
        base,
        req.path
    ))
}

/// The first value of query parameter `key`.
pub fn query<'a>(req: &'a ApiRequest, key: &str) -> Option<&'a str> {
    req.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The request body, or `{}`.
pub fn body(req: &ApiRequest) -> Value {
    req.body.clone().unwrap_or_else(|| json!({}))
}

/// A string field of `v`, if present.
pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

const TOKEN_SALT: u64 = 0x5eed_c0de_0000;

/// One page of `items`: the size from `size` (or `default`, at most `max`), the start from
/// `token`. Returns the items and the next page's token.
pub fn page<T>(
    items: Vec<T>,
    size: Option<&str>,
    default: usize,
    max: usize,
    token: Option<&str>,
    storage_api: bool,
) -> Result<(Vec<T>, Option<String>), ApiResponse> {
    let bad_token = || {
        if storage_api {
            storage(400, "invalid", "Invalid page token.")
        } else {
            invalid("The page token is not valid.")
        }
    };
    let size = match size.map(str::parse::<i64>) {
        None | Some(Ok(0)) => default,
        Some(Ok(n)) if n > 0 => (n as usize).min(max),
        _ => {
            return Err(if storage_api {
                storage(400, "invalid", "Invalid value for maxResults.")
            } else {
                invalid("The page size must be a positive number.")
            })
        }
    };
    let start = match token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match u64::from_str_radix(t.trim_start_matches("CgZ"), 16) {
            Ok(n) if t.starts_with("CgZ") && n >= TOKEN_SALT => (n - TOKEN_SALT) as usize,
            _ => return Err(bad_token()),
        },
    };
    if start > items.len() {
        return Err(bad_token());
    }
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| format!("CgZ{:x}", TOKEN_SALT + end as u64));
    Ok((items.into_iter().skip(start).take(end - start).collect(), next))
}

/// `{"<key>": items, "nextPageToken": next}`, both left out when empty, as Google does.
pub fn listing(key: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut out = serde_json::Map::new();
    if !items.is_empty() {
        out.insert(key.into(), Value::Array(items));
    }
    if let Some(n) = next {
        out.insert("nextPageToken".into(), Value::String(n));
    }
    Value::Object(out)
}

/// `%40` → `@` and so on; invalid escapes are kept as written.
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

/// Labels as Google accepts them: keys and values of lowercase letters, digits, `_` and `-`, at
/// most 63 characters, keys starting with a letter. The error names the bad label.
pub fn labels(v: Option<&Value>) -> Result<std::collections::BTreeMap<String, String>, String> {
    let mut out = std::collections::BTreeMap::new();
    let ok_chars = |s: &str| s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    for (k, v) in v.and_then(Value::as_object).into_iter().flatten() {
        let value = v.as_str().unwrap_or_default();
        let ok_key = (1..=63).contains(&k.len()) && k.starts_with(|c: char| c.is_ascii_lowercase()) && ok_chars(k);
        if !ok_key || value.len() > 63 || !ok_chars(value) {
            return Err(format!(
                "Invalid label `{k}`: `{value}`: use lowercase letters, digits, `_` and `-`, at most 63 characters."
            ));
        }
        out.insert(k.clone(), value.to_string());
    }
    Ok(out)
}

/// An RFC 3339 time as Google writes it.
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
