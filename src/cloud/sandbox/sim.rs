//! Timelines of simulated CloudFormation operations: which events happen when. Resources start
//! as soon as what they reference is complete (as CloudFormation does), take seconds by type
//! (divided by the speed factor), and a failure cancels what is in flight and rolls back.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use std::collections::BTreeMap;

use super::state::StackResource;
use crate::model::{Event, Status};

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

/// Turns simulated seconds into wall-clock times.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub speed: f64,
}

impl Clock {
    pub fn after(&self, t: DateTime<Utc>, seconds: f64) -> DateTime<Utc> {
        let jitter = rand::rng().random_range(0.85..1.15);
        let millis = (seconds * jitter * 1000.0 / self.speed).max(1.0);
        t + Duration::milliseconds(millis as i64)
    }

    /// A short, fixed gap between two events that follow each other.
    pub fn gap(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        t + Duration::milliseconds(((300.0 / self.speed) as i64).max(1))
    }
}

/// What one stack operation produced.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub events: Vec<Event>,
    pub end: DateTime<Utc>,
    /// The first failure's reason, when the operation failed.
    pub root_cause: Option<String>,
    /// Resources left in place (retained on rollback or delete).
    pub retained: Vec<String>,
}

struct Ev<'a> {
    stack: &'a str,
}

impl Ev<'_> {
    fn stack(&self, t: DateTime<Utc>, status: Status, reason: Option<String>, stack_id: &str) -> Event {
        Event {
            time: t,
            group: self.stack.to_string(),
            resource: self.stack.to_string(),
            resource_type: STACK_TYPE.into(),
            status,
            reason,
            physical_id: Some(stack_id.to_string()),
        }
    }

    fn res(&self, t: DateTime<Utc>, r: &StackResource, status: Status, reason: Option<&str>) -> Event {
        Event {
            time: t,
            group: self.stack.to_string(),
            resource: r.id.clone(),
            resource_type: r.type_.clone(),
            status,
            reason: reason.map(String::from),
            physical_id: if status == Status::CreateInProgress && reason.is_none() {
                None
            } else {
                Some(r.physical_id.clone())
            },
        }
    }
}

/// Create `resources` as stack `stack` from `t0`. `failing` maps logical ids to the reason they
/// fail with.
pub fn create(
    stack: &str,
    stack_id: &str,
    resources: &[StackResource],
    t0: DateTime<Utc>,
    clock: Clock,
    failing: &BTreeMap<String, String>,
) -> Timeline {
    let ev = Ev { stack };
    let mut events = vec![ev.stack(t0, Status::CreateInProgress, Some("User Initiated".into()), stack_id)];
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
        let (start, end) = times[r.id.as_str()];
        let cut = failure.map(|(tf, _)| tf);
        if cut.is_some_and(|tf| start >= tf) {
            continue; // never started
        }
        events.push(ev.res(start, r, Status::CreateInProgress, None));
        events.push(ev.res(
            start + Duration::milliseconds(1),
            r,
            Status::CreateInProgress,
            Some("Resource creation Initiated"),
        ));
        match failure {
            Some((tf, f)) if f.id == r.id => {
                events.push(ev.res(tf, r, Status::CreateFailed, failing.get(&r.id).map(String::as_str)));
                cancelled.push(r);
            }
            Some((tf, _)) if end > tf => {
                events.push(ev.res(
                    tf + Duration::milliseconds(2),
                    r,
                    Status::CreateFailed,
                    Some("Resource creation cancelled"),
                ));
                cancelled.push(r);
            }
            _ => {
                events.push(ev.res(end, r, Status::CreateComplete, None));
                done.push(r);
            }
        }
    }
    let Some((tf, f)) = failure else {
        let end = clock.gap(times.values().map(|(_, e)| *e).max().unwrap_or(t0));
        events.push(ev.stack(end, Status::CreateComplete, None, stack_id));
        sort(&mut events);
        return Timeline { events, end, root_cause: None, retained: Vec::new() };
    };
    let mut failed_ids: Vec<&str> = cancelled.iter().map(|r| r.id.as_str()).collect();
    failed_ids.sort_unstable();
    let rollback_at = clock.gap(tf);
    let root_cause = failing.get(&f.id).cloned();
    events.push(ev.stack(
        rollback_at,
        Status::RollbackInProgress,
        Some(format!(
            "The following resource(s) failed to create: [{}]. Rollback requested by user.",
            failed_ids.join(", ")
        )),
        stack_id,
    ));
    for r in &cancelled {
        events.push(ev.res(clock.gap(rollback_at), r, Status::DeleteComplete, None));
    }
    let removal = delete_resources(&ev, &done, clock.gap(rollback_at), clock, &BTreeMap::new(), &[]);
    events.extend(removal.events);
    let end = clock.gap(removal.end);
    events.push(ev.stack(end, Status::RollbackComplete, None, stack_id));
    sort(&mut events);
    Timeline { events, end, root_cause, retained: removal.retained }
}

/// Delete a stack: dependents first; retained resources are skipped; a failure stops what
/// depends on it and leaves the stack DELETE_FAILED.
pub fn delete(
    stack: &str,
    stack_id: &str,
    resources: &[StackResource],
    t0: DateTime<Utc>,
    clock: Clock,
    failing: &BTreeMap<String, String>,
    retain: &[String],
) -> Timeline {
    let ev = Ev { stack };
    let mut events = vec![ev.stack(t0, Status::DeleteInProgress, Some("User Initiated".into()), stack_id)];
    let refs: Vec<&StackResource> = resources.iter().collect();
    let removal = delete_resources(&ev, &refs, clock.gap(t0), clock, failing, retain);
    events.extend(removal.events);
    let end = clock.gap(removal.end);
    let root_cause = removal.failed.first().and_then(|id| failing.get(id)).cloned();
    if removal.failed.is_empty() {
        events.push(ev.stack(end, Status::DeleteComplete, None, stack_id));
    } else {
        events.push(ev.stack(
            end,
            Status::DeleteFailed,
            Some(format!("The following resource(s) failed to delete: [{}]. ", removal.failed.join(", "))),
            stack_id,
        ));
    }
    sort(&mut events);
    Timeline { events, end, root_cause, retained: removal.retained }
}

/// Update the resources whose properties changed, in dependency order.
pub fn update(stack: &str, stack_id: &str, changed: &[&StackResource], t0: DateTime<Utc>, clock: Clock) -> Timeline {
    let ev = Ev { stack };
    let mut events = vec![ev.stack(t0, Status::UpdateInProgress, Some("User Initiated".into()), stack_id)];
    let mut t = t0;
    for r in changed {
        let start = clock.gap(t);
        events.push(ev.res(start, r, Status::UpdateInProgress, None));
        t = clock.after(start, create_seconds(&r.type_) / 2.0);
        events.push(ev.res(t, r, Status::UpdateComplete, None));
    }
    let end = clock.gap(t);
    events.push(ev.stack(end, Status::UpdateComplete, None, stack_id));
    Timeline { events, end, root_cause: None, retained: Vec::new() }
}

struct Removal {
    events: Vec<Event>,
    end: DateTime<Utc>,
    retained: Vec<String>,
    failed: Vec<String>,
}

/// Delete in reverse dependency order: a resource goes once everything that references it is gone.
fn delete_resources(
    ev: &Ev<'_>,
    resources: &[&StackResource],
    t0: DateTime<Utc>,
    clock: Clock,
    failing: &BTreeMap<String, String>,
    retain: &[String],
) -> Removal {
    let mut events = Vec::new();
    let mut ends: BTreeMap<&str, Option<DateTime<Utc>>> = BTreeMap::new(); // None: failed
    let mut retained = Vec::new();
    let mut failed = Vec::new();
    let mut order: Vec<&StackResource> = topological_refs(resources);
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
            events.push(ev.res(start, r, Status::DeleteSkipped, None));
            retained.push(r.id.clone());
            ends.insert(r.id.as_str(), Some(start));
            continue;
        }
        events.push(ev.res(start, r, Status::DeleteInProgress, None));
        let end = clock.after(start, delete_seconds(&r.type_));
        if let Some(reason) = failing.get(&r.id) {
            events.push(ev.res(end, r, Status::DeleteFailed, Some(reason)));
            failed.push(r.id.clone());
            ends.insert(r.id.as_str(), None);
        } else {
            events.push(ev.res(end, r, Status::DeleteComplete, None));
            ends.insert(r.id.as_str(), Some(end));
        }
    }
    let end = events.iter().map(|e| e.time).max().unwrap_or(t0);
    Removal { events, end, retained, failed }
}

/// Resources ordered so that each comes after what it depends on (template order otherwise).
fn topological(resources: &[StackResource]) -> Vec<&StackResource> {
    let refs: Vec<&StackResource> = resources.iter().collect();
    topological_refs(&refs)
}

fn topological_refs<'a>(resources: &[&'a StackResource]) -> Vec<&'a StackResource> {
    let mut out: Vec<&StackResource> = Vec::new();
    let mut left: Vec<&StackResource> = resources.to_vec();
    while !left.is_empty() {
        let ready = left.iter().position(|r| {
            r.depends_on.iter().all(|d| out.iter().any(|o| &o.id == d) || !resources.iter().any(|o| &o.id == d))
        });
        // A cycle cannot come from a template CloudFormation accepts; take the first anyway.
        out.push(left.remove(ready.unwrap_or(0)));
    }
    out
}

fn sort(events: &mut [Event]) {
    events.sort_by_key(|e| e.time);
}
