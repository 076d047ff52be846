//! Timelines of simulated CloudFormation operations: which events happen when. Resources start
//! as soon as what they reference is complete (as CloudFormation does), take seconds by type
//! (divided by the speed factor), and a failure cancels what is in flight and rolls back. The
//! whole timeline is worked out when the operation is asked for and stored; requests see the
//! part of it that has happened by then.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use std::collections::BTreeMap;

use super::state::{Event, Resource};

pub const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// Seconds a resource takes to create at speed 1, by type (roughly what AWS takes, shortened
/// where AWS is slow for no reason the user can act on).
fn create_seconds(type_: &str) -> f64 {
    match type_ {
        "AWS::EC2::VPC" => 4.0,
        "AWS::EC2::Subnet" => 3.0,
        "AWS::EC2::InternetGateway" => 2.0,
        "AWS::EC2::VPCGatewayAttachment" => 12.0,
        "AWS::EC2::RouteTable" | "AWS::EC2::Route" | "AWS::EC2::SubnetRouteTableAssociation" => 2.0,
        "AWS::EC2::SecurityGroup" => 5.0,
        "AWS::S3::Bucket" => 14.0,
        "AWS::IAM::Role" => 8.0,
        "AWS::IAM::InstanceProfile" => 18.0,
        "AWS::IAM::RolePolicy" | "AWS::IAM::Policy" => 10.0,
        "AWS::KMS::Key" => 6.0,
        _ => 2.0,
    }
}

fn delete_seconds(type_: &str) -> f64 {
    match type_ {
        "AWS::EC2::VPCGatewayAttachment" => 8.0,
        "AWS::IAM::InstanceProfile" => 6.0,
        _ => (create_seconds(type_) / 2.0).max(1.0),
    }
}

/// The message AWS gives when this kind of resource fails, for injected faults. They read like
/// the real ones so support staff can rehearse, and say where they come from.
pub fn failure_reason(type_: &str, physical: &str, deleting: bool, account: &str) -> String {
    let (msg, code) = match (deleting, type_) {
        (false, "AWS::EC2::VPC") => ("The maximum number of VPCs has been reached.".to_string(), "ServiceLimitExceeded"),
        (false, "AWS::EC2::InternetGateway") => ("The maximum number of internet gateways has been reached.".to_string(), "ServiceLimitExceeded"),
        (false, "AWS::S3::Bucket") => (format!("{physical} already exists"), "AlreadyExists"),
        (false, t) if t.starts_with("AWS::IAM::") => (
            format!("User: arn:aws:iam::{account}:user/sandbox is not authorized to perform: iam:CreateRole on resource: {physical} because no identity-based policy allows the iam:CreateRole action"),
            "AccessDenied",
        ),
        (false, "AWS::KMS::Key") => (
            format!("User: arn:aws:iam::{account}:user/sandbox is not authorized to perform: kms:CreateKey because no identity-based policy allows the kms:CreateKey action"),
            "AccessDenied",
        ),
        (true, "AWS::EC2::Subnet" | "AWS::EC2::SecurityGroup" | "AWS::EC2::VPC" | "AWS::EC2::InternetGateway" | "AWS::EC2::VPCGatewayAttachment") => (
            format!("The {physical} has dependencies and cannot be deleted: instances are still running in it."),
            "DependencyViolation",
        ),
        (true, "AWS::S3::Bucket") => ("The bucket you tried to delete is not empty".to_string(), "GeneralServiceException"),
        (true, t) if t.starts_with("AWS::IAM::") => ("Cannot delete entity, must remove roles from instance profile first.".to_string(), "GeneralServiceException"),
        _ => ("Internal failure.".to_string(), "InternalFailure"),
    };
    format!(
        "Resource handler returned message: \"{msg}\" (HandlerErrorCode: {code}) [sandbox: injected by --sandbox-fail]"
    )
}

/// What S3 answers CloudFormation when it deletes a bucket that still holds objects.
pub fn not_empty_reason(bucket: &str) -> String {
    format!("Resource handler returned message: \"The bucket you tried to delete is not empty (Service: S3, Status Code: 409)\" (HandlerErrorCode: GeneralServiceException) [bucket {bucket}]")
}

/// What CloudFormation says when a bucket's name is taken.
pub fn bucket_exists_reason(bucket: &str) -> String {
    format!("Resource handler returned message: \"{bucket} already exists\" (HandlerErrorCode: AlreadyExists)")
}

/// Turns simulated seconds into wall-clock times.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub speed: f64,
    /// Every operation takes this long, whatever its resources ([`super::timing::Timing`]).
    pub operation: Option<std::time::Duration>,
}

impl Clock {
    pub fn after(&self, t: DateTime<Utc>, seconds: f64) -> DateTime<Utc> {
        let jitter = rand::rng().random_range(0.85..1.15);
        let millis = (seconds * jitter * 1000.0 / self.speed).max(1.0);
        t + Duration::milliseconds(millis as i64)
    }

    /// The operation's timeline, fitted to [`Clock::operation`] when one is set.
    fn timeline(&self, t0: DateTime<Utc>, mut events: Vec<Event>, end: DateTime<Utc>, ok: bool) -> Timeline {
        let end = match self.operation {
            Some(op) => super::timing::fit(&mut events, t0, end, op),
            None => end,
        };
        Timeline { events, end, ok }
    }

    /// A short, fixed gap between two events that follow each other.
    pub fn gap(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        t + Duration::milliseconds(((300.0 / self.speed) as i64).max(1))
    }
}

/// What one stack operation produces.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub events: Vec<Event>,
    pub end: DateTime<Utc>,
    pub ok: bool,
}

pub fn uuid() -> String {
    let mut rng = rand::rng();
    let hex = |n: usize, rng: &mut rand::rngs::ThreadRng| -> String {
        (0..n).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0')).collect()
    };
    format!("{}-{}-{}-{}-{}", hex(8, &mut rng), hex(4, &mut rng), hex(4, &mut rng), hex(4, &mut rng), hex(12, &mut rng))
}

struct Ev<'a> {
    stack: &'a str,
    stack_id: &'a str,
}

impl Ev<'_> {
    fn stack(&self, t: DateTime<Utc>, status: &str, reason: Option<String>) -> Event {
        Event {
            id: uuid(),
            time: t,
            logical_id: self.stack.to_string(),
            type_: STACK_TYPE.into(),
            status: status.into(),
            reason,
            physical_id: Some(self.stack_id.to_string()),
        }
    }

    fn res(&self, t: DateTime<Utc>, r: &Resource, status: &str, reason: Option<&str>) -> Event {
        Event {
            id: format!("{}-{}", r.id, uuid()),
            time: t,
            logical_id: r.id.clone(),
            type_: r.type_.clone(),
            status: status.into(),
            reason: reason.map(String::from),
            // CloudFormation knows no physical id before the handler has made the resource.
            physical_id: (!(status == "CREATE_IN_PROGRESS" && reason.is_none())).then(|| r.physical_id.clone()),
        }
    }
}

/// Create `resources` as stack `stack` from `t0`. `failing` maps logical ids to the reason they
/// fail with; the first to fail rolls the stack back.
pub fn create(
    stack: &str,
    stack_id: &str,
    resources: &[Resource],
    t0: DateTime<Utc>,
    clock: Clock,
    failing: &BTreeMap<String, String>,
) -> Timeline {
    let ev = Ev { stack, stack_id };
    let mut events = vec![ev.stack(t0, "CREATE_IN_PROGRESS", Some("User Initiated".into()))];
    // Start and end of every resource, as if nothing failed.
    let mut times: BTreeMap<&str, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    for r in topological(resources) {
        let start = r
            .depends_on
            .iter()
            .filter_map(|d| times.get(d.as_str()).map(|(_, end)| *end))
            .max()
            .map(|t| clock.gap(t))
            .unwrap_or_else(|| clock.gap(t0));
        times.insert(r.id.as_str(), (start, clock.after(start, create_seconds(&r.type_))));
    }
    let failure = resources
        .iter()
        .filter(|r| failing.contains_key(&r.id))
        .filter_map(|r| times.get(r.id.as_str()).map(|(_, end)| (*end, r)))
        .min_by_key(|(end, _)| *end);
    let mut done = Vec::new();
    let mut cancelled = Vec::new();
    for r in resources {
        let Some(&(start, end)) = times.get(r.id.as_str()) else { continue };
        if failure.is_some_and(|(tf, _)| start >= tf) {
            continue; // never started
        }
        events.push(ev.res(start, r, "CREATE_IN_PROGRESS", None));
        events.push(ev.res(
            start + Duration::milliseconds(1),
            r,
            "CREATE_IN_PROGRESS",
            Some("Resource creation Initiated"),
        ));
        match failure {
            Some((tf, f)) if f.id == r.id => {
                events.push(ev.res(tf, r, "CREATE_FAILED", failing.get(&r.id).map(String::as_str)));
                cancelled.push(r);
            }
            Some((tf, _)) if end > tf => {
                events.push(ev.res(
                    tf + Duration::milliseconds(2),
                    r,
                    "CREATE_FAILED",
                    Some("Resource creation cancelled"),
                ));
                cancelled.push(r);
            }
            _ => {
                events.push(ev.res(end, r, "CREATE_COMPLETE", None));
                done.push(r);
            }
        }
    }
    let Some((tf, _)) = failure else {
        let end = clock.gap(times.values().map(|(_, e)| *e).max().unwrap_or(t0));
        events.push(ev.stack(end, "CREATE_COMPLETE", None));
        sort(&mut events);
        return clock.timeline(t0, events, end, true);
    };
    let mut failed_ids: Vec<&str> = cancelled.iter().map(|r| r.id.as_str()).collect();
    failed_ids.sort_unstable();
    let rollback_at = clock.gap(tf + Duration::milliseconds(2));
    events.push(ev.stack(
        rollback_at,
        "ROLLBACK_IN_PROGRESS",
        Some(format!(
            "The following resource(s) failed to create: [{}]. Rollback requested by user.",
            failed_ids.join(", ")
        )),
    ));
    for r in &cancelled {
        events.push(ev.res(clock.gap(rollback_at), r, "DELETE_COMPLETE", None));
    }
    let removal = delete_resources(&ev, &done, clock.gap(rollback_at), clock, &BTreeMap::new(), &[]);
    events.extend(removal.events);
    let end = clock.gap(removal.end.max(clock.gap(rollback_at)));
    events.push(ev.stack(end, "ROLLBACK_COMPLETE", None));
    sort(&mut events);
    clock.timeline(t0, events, end, false)
}

/// Delete a stack: dependents first; retained resources are skipped; a failure stops what
/// depends on it and leaves the stack DELETE_FAILED.
pub fn delete(
    stack: &str,
    stack_id: &str,
    resources: &[&Resource],
    t0: DateTime<Utc>,
    clock: Clock,
    failing: &BTreeMap<String, String>,
    retain: &[String],
) -> Timeline {
    let ev = Ev { stack, stack_id };
    let mut events = vec![ev.stack(t0, "DELETE_IN_PROGRESS", Some("User Initiated".into()))];
    let removal = delete_resources(&ev, resources, clock.gap(t0), clock, failing, retain);
    events.extend(removal.events);
    let end = clock.gap(removal.end.max(t0));
    let ok = removal.failed.is_empty();
    if ok {
        events.push(ev.stack(end, "DELETE_COMPLETE", None));
    } else {
        events.push(ev.stack(
            end,
            "DELETE_FAILED",
            Some(format!("The following resource(s) failed to delete: [{}]. ", removal.failed.join(", "))),
        ));
    }
    sort(&mut events);
    clock.timeline(t0, events, end, ok)
}

/// Update the resources whose properties changed (or that are new), in dependency order.
pub fn update(stack: &str, stack_id: &str, changed: &[(&Resource, bool)], t0: DateTime<Utc>, clock: Clock) -> Timeline {
    let ev = Ev { stack, stack_id };
    let mut events = vec![ev.stack(t0, "UPDATE_IN_PROGRESS", Some("User Initiated".into()))];
    let mut t = t0;
    for (r, new) in changed {
        let start = clock.gap(t);
        let (doing, done) =
            if *new { ("CREATE_IN_PROGRESS", "CREATE_COMPLETE") } else { ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE") };
        events.push(ev.res(start, r, doing, None));
        let seconds = if *new { create_seconds(&r.type_) } else { create_seconds(&r.type_) / 2.0 };
        t = clock.after(start, seconds);
        events.push(ev.res(t, r, done, None));
    }
    let cleanup = clock.gap(t);
    events.push(ev.stack(cleanup, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None));
    let end = clock.gap(cleanup);
    events.push(ev.stack(end, "UPDATE_COMPLETE", None));
    clock.timeline(t0, events, end, true)
}

struct Removal {
    events: Vec<Event>,
    end: DateTime<Utc>,
    failed: Vec<String>,
}

/// Delete in reverse dependency order: a resource goes once everything that references it is gone.
fn delete_resources(
    ev: &Ev<'_>,
    resources: &[&Resource],
    t0: DateTime<Utc>,
    clock: Clock,
    failing: &BTreeMap<String, String>,
    retain: &[String],
) -> Removal {
    let mut events = Vec::new();
    let mut ends: BTreeMap<&str, Option<DateTime<Utc>>> = BTreeMap::new(); // None: failed
    let mut failed = Vec::new();
    let mut order: Vec<&Resource> = topological_refs(resources);
    order.reverse();
    for r in order {
        let dependents: Vec<Option<DateTime<Utc>>> = resources
            .iter()
            .filter(|o| o.depends_on.contains(&r.id))
            .filter_map(|o| ends.get(o.id.as_str()).copied())
            .collect();
        if dependents.iter().any(Option::is_none) {
            ends.insert(r.id.as_str(), None); // blocked behind a failure: not attempted
            continue;
        }
        let start = dependents.into_iter().flatten().max().map(|t| clock.gap(t)).unwrap_or(t0);
        if r.retain || retain.contains(&r.id) {
            events.push(ev.res(start, r, "DELETE_SKIPPED", None));
            ends.insert(r.id.as_str(), Some(start));
            continue;
        }
        events.push(ev.res(start, r, "DELETE_IN_PROGRESS", None));
        let end = clock.after(start, delete_seconds(&r.type_));
        if let Some(reason) = failing.get(&r.id) {
            events.push(ev.res(end, r, "DELETE_FAILED", Some(reason)));
            failed.push(r.id.clone());
            ends.insert(r.id.as_str(), None);
        } else {
            events.push(ev.res(end, r, "DELETE_COMPLETE", None));
            ends.insert(r.id.as_str(), Some(end));
        }
    }
    let end = events.iter().map(|e| e.time).max().unwrap_or(t0);
    Removal { events, end, failed }
}

/// Resources ordered so that each comes after what it depends on (template order otherwise).
pub fn topological(resources: &[Resource]) -> Vec<&Resource> {
    let refs: Vec<&Resource> = resources.iter().collect();
    topological_refs(&refs)
}

fn topological_refs<'a>(resources: &[&'a Resource]) -> Vec<&'a Resource> {
    let mut out: Vec<&Resource> = Vec::new();
    let mut left: Vec<&Resource> = resources.to_vec();
    while !left.is_empty() {
        let ready = left.iter().position(|r| {
            r.depends_on.iter().all(|d| out.iter().any(|o| &o.id == d) || !resources.iter().any(|o| &o.id == d))
        });
        // A cycle cannot come from a template CloudFormation accepts; take the first anyway.
        out.push(left.remove(ready.unwrap_or(0)));
    }
    out
}

/// Oldest first; events at the same instant keep the order they were made in.
fn sort(events: &mut [Event]) {
    events.sort_by_key(|e| e.time);
}
