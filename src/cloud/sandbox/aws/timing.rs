//! The simulated AWS on a real network, for the latency benchmark and the ordering tests: every
//! answer is worked out when the request arrives and sent after a fixed latency (requests answer
//! side by side, so overlapping calls really overlap), every stack operation can take a fixed
//! time, and each request is logged with when it came and what it asked.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::wire::Request;

/// How the simulated AWS spends time. The default answers at once, keeps the stack timings of
/// the sandbox speed, and logs nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    /// Every answer is sent this long after its request came.
    pub latency: Duration,
    /// Every stack operation (create, update, delete, a change set's execution) takes this long
    /// from the request that started it to its last event; `None`: by resource type and speed.
    pub operation: Option<Duration>,
    /// Keep a log of the requests ([`super::SimulatedAws::requests`]).
    pub record: bool,
}

/// One request as it came.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub at: Instant,
    /// The signing scope's service: `cloudformation`, `iam`, `kms`, `s3`, `ec2`, `sts`.
    pub service: String,
    /// The API operation: `DeleteStack`, `ScheduleKeyDeletion`, `HeadBucket`, …
    pub action: String,
    /// What it is about: the stack name or id, role name, key id, bucket; empty when none.
    pub target: String,
}

impl Logged {
    /// A call that changes something (every operation but the reads).
    pub fn is_write(&self) -> bool {
        let read = ["Describe", "List", "Get", "Head"].iter().any(|p| self.action.starts_with(p));
        !read
    }
}

/// The log, when [`Timing::record`] asks for one.
#[derive(Debug, Default)]
pub(super) struct Log {
    entries: Mutex<Vec<Logged>>,
}

impl Log {
    pub fn push(&self, service: &str, req: &Request) {
        let (action, target) = describe(service, req);
        let entry = Logged { at: Instant::now(), service: service.to_string(), action, target };
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
    }

    pub fn take(&self) -> Vec<Logged> {
        std::mem::take(&mut *self.entries.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The operation a request names, and what it is about, in each service's protocol.
fn describe(service: &str, req: &Request) -> (String, String) {
    match service {
        "kms" => {
            let target = req.headers.get("x-amz-target").map(String::as_str).unwrap_or_default();
            let action = target.strip_prefix("TrentService.").unwrap_or(target).to_string();
            let key = req.json().get("KeyId").and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
            (action, key)
        }
        "s3" => {
            let (bucket, key) = super::services::bucket_and_key(req);
            let action = match (req.method.as_str(), key.is_empty()) {
                ("HEAD", true) => "HeadBucket",
                ("GET", true) if req.query_param("list-type") == Some("2") => "ListObjectsV2",
                ("GET", true) => "GetBucket",
                ("PUT", false) => "PutObject",
                ("DELETE", false) => "DeleteObject",
                ("GET", false) => "GetObject",
                ("HEAD", false) => "HeadObject",
                _ => "Other",
            };
            (action.to_string(), bucket)
        }
        _ => {
            let action = req.param("Action").unwrap_or_default().to_string();
            let target = ["StackName", "RoleName", "ChangeSetName"]
                .iter()
                .find_map(|k| req.param(k))
                .unwrap_or_default()
                .to_string();
            (action, target)
        }
    }
}

/// `events` stretched or shrunk in time about `t0` so that the last ends `operation` after it.
pub(super) fn fit(
    events: &mut [super::state::Event],
    t0: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    operation: Duration,
) -> chrono::DateTime<chrono::Utc> {
    let span = (end - t0).num_microseconds().unwrap_or(1).max(1) as f64;
    let wanted = operation.as_micros() as f64;
    let scale = |t: chrono::DateTime<chrono::Utc>| {
        let from = (t - t0).num_microseconds().unwrap_or(0) as f64;
        t0 + chrono::Duration::microseconds((from * wanted / span) as i64)
    };
    for e in events.iter_mut() {
        e.time = scale(e.time);
    }
    scale(end)
}
