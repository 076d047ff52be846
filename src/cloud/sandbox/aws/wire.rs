//! AWS's wire formats, both ways: the query protocol's form bodies (CloudFormation, IAM, STS, and
//! EC2's own variant), KMS's JSON 1.1 with `X-Amz-Target`, S3's REST-XML; and the answers in each,
//! errors included, as the services send them.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One request, decoded.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// The query protocol's parameters (form body), `Action` included.
    pub form: BTreeMap<String, String>,
}

impl Request {
    /// From a URI (`https://host/path?query`), headers and body.
    pub fn new(method: &str, uri: &str, headers: BTreeMap<String, String>, body: Vec<u8>) -> Request {
        let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
        let (host, path_query) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        let is_form = headers.get("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        let form = if is_form { pairs(&String::from_utf8_lossy(&body)).into_iter().collect() } else { BTreeMap::new() };
        Request {
            method: method.to_string(),
            host: host.split(':').next().unwrap_or(host).to_ascii_lowercase(),
            path: percent_decode(path, false),
            query: pairs(query),
            headers,
            body,
            form,
        }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(String::as_str)
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `Name.member.N` (the query protocol's lists), in order.
    pub fn list(&self, name: &str) -> Vec<String> {
        (1..).map_while(|i| self.form.get(&format!("{name}.member.{i}")).cloned()).collect()
    }

    /// `Name.member.N.Field` structures, each as field → value.
    pub fn structs(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let mut out = Vec::new();
        for i in 1.. {
            let prefix = format!("{name}.member.{i}.");
            let fields: BTreeMap<String, String> = self
                .form
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|f| (f.to_string(), v.clone())))
                .collect();
            if fields.is_empty() {
                break;
            }
            out.push(fields);
        }
        out
    }

    /// EC2's lists: `Filter.N.Name` with `Filter.N.Value.M`.
    pub fn ec2_filters(&self) -> Vec<(String, Vec<String>)> {
        (1..)
            .map_while(|i| {
                let name = self.form.get(&format!("Filter.{i}.Name"))?.clone();
                let values = (1..).map_while(|j| self.form.get(&format!("Filter.{i}.Value.{j}")).cloned()).collect();
                Some((name, values))
            })
            .collect()
    }

    /// The JSON body (KMS).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// `a=1&b=x%20y` → pairs; `+` is a space.
pub fn pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let hex = |b: u8| (b as char).to_digit(16);
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encode everything but RFC 3986's unreserved characters (IAM's policy documents).
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// One answer: status, headers, body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

fn request_id() -> String {
    super::timeline::uuid()
}

/// XML text with `&`, `<`, `>`, `"` and `'` escaped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<name>value</name>`, escaped.
pub fn el(name: &str, value: &str) -> String {
    format!("<{name}>{}</{name}>", esc(value))
}

/// `<name>value</name>` when there is a value.
pub fn opt(name: &str, value: Option<&str>) -> String {
    value.map(|v| el(name, v)).unwrap_or_default()
}

/// The query protocol's list of structures: `<Name><member>…</member></Name>`.
pub fn members(name: &str, items: impl IntoIterator<Item = String>) -> String {
    let inner: String = items.into_iter().map(|i| format!("<member>{i}</member>")).collect();
    format!("<{name}>{inner}</{name}>")
}

/// ISO 8601 with milliseconds, as the XML protocols send timestamps.
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Seconds since the epoch, as JSON protocols send timestamps.
pub fn epoch(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// A query-protocol answer (CloudFormation, IAM, STS): `<ActionResponse><ActionResult>`.
pub fn query_ok(action: &str, xmlns: &str, result: Option<String>) -> Reply {
    let result = result.map(|r| format!("<{action}Result>{r}</{action}Result>")).unwrap_or_default();
    let id = request_id();
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/xml".into()), ("x-amzn-requestid".into(), id.clone())],
        body: format!(
            "<{action}Response xmlns=\"{xmlns}\">{result}<ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></{action}Response>"
        ),
    }
}

/// A query-protocol error: `<ErrorResponse><Error><Type><Code><Message>`.
pub fn query_error(status: u16, code: &str, message: &str, xmlns: &str) -> Reply {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let id = request_id();
    Reply {
        status,
        headers: vec![("content-type".into(), "text/xml".into()), ("x-amzn-requestid".into(), id.clone())],
        body: format!(
            "<ErrorResponse xmlns=\"{xmlns}\"><Error><Type>{kind}</Type>{}{}</Error><RequestId>{id}</RequestId></ErrorResponse>",
            el("Code", code),
            el("Message", message)
        ),
    }
}

pub const EC2_XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// EC2's answer: `<ActionResponse><requestId>` then the fields, lower camel case.
pub fn ec2_ok(action: &str, inner: &str) -> Reply {
    let id = request_id();
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/xml;charset=UTF-8".into())],
        body: format!("<{action}Response xmlns=\"{EC2_XMLNS}\"><requestId>{id}</requestId>{inner}</{action}Response>"),
    }
}

/// EC2's errors: `<Response><Errors><Error>`.
pub fn ec2_error(status: u16, code: &str, message: &str) -> Reply {
    let id = request_id();
    Reply {
        status,
        headers: vec![("content-type".into(), "text/xml;charset=UTF-8".into())],
        body: format!(
            "<Response><Errors><Error>{}{}</Error></Errors><RequestID>{id}</RequestID></Response>",
            el("Code", code),
            el("Message", message)
        ),
    }
}

/// A JSON 1.1 answer (KMS).
pub fn json_ok(body: serde_json::Value) -> Reply {
    Reply {
        status: 200,
        headers: vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("x-amzn-requestid".into(), request_id()),
        ],
        body: body.to_string(),
    }
}

/// A JSON 1.1 error: `{"__type": code, "message": …}`.
pub fn json_error(status: u16, code: &str, message: &str) -> Reply {
    Reply {
        status,
        headers: vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("x-amzn-requestid".into(), request_id()),
        ],
        body: serde_json::json!({ "__type": code, "message": message }).to_string(),
    }
}

pub const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

fn s3_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "application/xml".into()), ("x-amz-request-id".into(), request_id())]
}

/// An S3 answer with an XML body.
pub fn s3_ok(body: String, extra: Vec<(String, String)>) -> Reply {
    let mut headers = s3_headers();
    headers.extend(extra);
    Reply { status: 200, headers, body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}") }
}

/// S3's errors: `<Error><Code><Message>`; HEAD answers carry no body.
pub fn s3_error(status: u16, code: &str, message: &str, resource: &str, head: bool) -> Reply {
    let id = request_id();
    let body = if head {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>{}{}{}<RequestId>{id}</RequestId></Error>",
            el("Code", code),
            el("Message", message),
            el("Resource", resource)
        )
    };
    Reply { status, headers: s3_headers(), body }
}
