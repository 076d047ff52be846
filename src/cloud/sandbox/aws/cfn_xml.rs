//! CloudFormation's answers in its query-protocol XML: the `Stack`, `StackSummary`,
//! `StackResource`, `StackEvent` and `DescribeChangeSet` shapes of the API reference, with the
//! field names and casing of the SDK's deserializers.

use chrono::{DateTime, Utc};

use super::state::{ChangeSet, Event, Resource, Stack};
use super::wire::{iso, members, opt};

pub use super::wire::el;

pub const XMLNS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

pub fn members_of(name: &str, items: Vec<String>) -> String {
    members(name, items)
}

fn pairs(name: &str, key: &str, value: &str, items: &[(String, String)]) -> String {
    members(name, items.iter().map(|(k, v)| format!("{}{}", el(key, k), el(value, v))))
}

fn settled(status: &str) -> bool {
    matches!(status, "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE")
        || status == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
}

/// One `Stack` of DescribeStacks, as it stands at `now`.
pub fn stack(s: &Stack, now: DateTime<Utc>) -> String {
    let status = s.status_at(now);
    let mut x = String::new();
    x.push_str(&el("StackId", &s.id));
    x.push_str(&el("StackName", &s.name));
    if !s.description.is_empty() {
        x.push_str(&el("Description", &s.description));
    }
    x.push_str(&pairs("Parameters", "ParameterKey", "ParameterValue", &s.parameters));
    x.push_str(&el("CreationTime", &iso(s.created)));
    if let Some(u) = s.updated.filter(|u| *u <= now) {
        x.push_str(&el("LastUpdatedTime", &iso(u)));
    }
    if let Some(d) = s.deleted_at(now) {
        x.push_str(&el("DeletionTime", &iso(d)));
    }
    x.push_str(&el("StackStatus", &status));
    x.push_str(&opt("StackStatusReason", s.reason_at(now).as_deref()));
    x.push_str("<DisableRollback>false</DisableRollback><NotificationARNs/>");
    x.push_str("<Capabilities><member>CAPABILITY_NAMED_IAM</member></Capabilities>");
    if settled(&status) && !s.outputs.is_empty() {
        x.push_str(&members(
            "Outputs",
            s.outputs.iter().map(|(k, v)| format!("{}{}", el("OutputKey", k), el("OutputValue", v))),
        ));
    }
    x.push_str(&pairs("Tags", "Key", "Value", &s.tags));
    x.push_str("<EnableTerminationProtection>false</EnableTerminationProtection>");
    x.push_str("<DriftInformation><StackDriftStatus>NOT_CHECKED</StackDriftStatus></DriftInformation>");
    x
}

/// One `StackSummary` of ListStacks.
pub fn summary(s: &Stack, now: DateTime<Utc>) -> String {
    let mut x = String::new();
    x.push_str(&el("StackId", &s.id));
    x.push_str(&el("StackName", &s.name));
    if !s.description.is_empty() {
        x.push_str(&el("TemplateDescription", &s.description));
    }
    x.push_str(&el("CreationTime", &iso(s.created)));
    if let Some(u) = s.updated.filter(|u| *u <= now) {
        x.push_str(&el("LastUpdatedTime", &iso(u)));
    }
    if let Some(d) = s.deleted_at(now) {
        x.push_str(&el("DeletionTime", &iso(d)));
    }
    x.push_str(&el("StackStatus", &s.status_at(now)));
    x.push_str(&opt("StackStatusReason", s.reason_at(now).as_deref()));
    x.push_str("<DriftInformation><StackDriftStatus>NOT_CHECKED</StackDriftStatus></DriftInformation>");
    x
}

/// One `StackResource` of DescribeStackResources; `None` before CloudFormation has started it.
pub fn resource(s: &Stack, r: &Resource, now: DateTime<Utc>) -> Option<String> {
    let last = s.resource_event(&r.id, now)?;
    let physical = s.events_until(now).filter(|e| e.logical_id == r.id).find_map(|e| e.physical_id.clone());
    let mut x = String::new();
    x.push_str(&el("StackName", &s.name));
    x.push_str(&el("StackId", &s.id));
    x.push_str(&el("LogicalResourceId", &r.id));
    x.push_str(&opt("PhysicalResourceId", physical.as_deref()));
    x.push_str(&el("ResourceType", &r.type_));
    x.push_str(&el("Timestamp", &iso(last.time)));
    x.push_str(&el("ResourceStatus", &last.status));
    x.push_str(&opt("ResourceStatusReason", last.reason.as_deref()));
    x.push_str("<DriftInformation><StackResourceDriftStatus>NOT_CHECKED</StackResourceDriftStatus></DriftInformation>");
    Some(x)
}

/// One `StackEvent` of DescribeStackEvents.
pub fn event(s: &Stack, e: &Event) -> String {
    let mut x = String::new();
    x.push_str(&el("StackId", &s.id));
    x.push_str(&el("EventId", &e.id));
    x.push_str(&el("StackName", &s.name));
    x.push_str(&el("LogicalResourceId", &e.logical_id));
    x.push_str(&opt("PhysicalResourceId", e.physical_id.as_deref()));
    x.push_str(&el("ResourceType", &e.type_));
    x.push_str(&el("Timestamp", &iso(e.time)));
    x.push_str(&el("ResourceStatus", &e.status));
    x.push_str(&opt("ResourceStatusReason", e.reason.as_deref()));
    x
}

/// DescribeChangeSet's result, as the change set stands at `now`.
pub fn change_set(c: &ChangeSet, now: DateTime<Utc>) -> String {
    let pending = now < c.ready;
    let (status, execution) =
        if pending { ("CREATE_IN_PROGRESS", "UNAVAILABLE") } else { (c.status.as_str(), c.execution.as_str()) };
    let mut x = String::new();
    x.push_str(&el("ChangeSetName", &c.name));
    x.push_str(&el("ChangeSetId", &c.id));
    x.push_str(&el("StackId", &c.stack_id));
    x.push_str(&el("StackName", &c.stack_name));
    x.push_str(&pairs("Parameters", "ParameterKey", "ParameterValue", &c.parameters));
    x.push_str(&el("CreationTime", &iso(c.created)));
    x.push_str(&el("ExecutionStatus", execution));
    x.push_str(&el("Status", status));
    if !pending {
        x.push_str(&opt("StatusReason", c.reason.as_deref()));
    }
    x.push_str("<NotificationARNs/><Capabilities><member>CAPABILITY_NAMED_IAM</member></Capabilities>");
    x.push_str(&pairs("Tags", "Key", "Value", &c.tags));
    let changes = if pending { Vec::new() } else { c.changes.clone() };
    x.push_str(&members(
        "Changes",
        changes.iter().map(|(action, id, type_, replacement)| {
            let physical = c.resources.iter().find(|r| &r.id == id && action != "Add").map(|r| r.physical_id.as_str());
            format!(
                "<Type>Resource</Type><ResourceChange>{}{}{}{}{}<Scope>{}</Scope><Details/></ResourceChange>",
                el("Action", action),
                el("LogicalResourceId", id),
                opt("PhysicalResourceId", physical),
                el("ResourceType", type_),
                opt("Replacement", replacement.as_deref()),
                if action == "Modify" { "<member>Properties</member>" } else { "" },
            )
        }),
    ));
    x.push_str("<IncludeNestedStacks>false</IncludeNestedStacks>");
    x
}
