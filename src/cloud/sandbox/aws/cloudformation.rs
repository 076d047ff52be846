//! CloudFormation's query API, as far as cloudgrant calls it: stacks (create, update, delete with
//! RetainResources, describe by name or id, deleted ones included), ListStacks, stack resources,
//! events newest first in pages, and change sets. The XML of each answer is in [`super::cfn_xml`].

use std::collections::BTreeMap;

use super::cfn_xml::{self, XMLNS};
use super::render::{self, Rendered};
use super::state::{ChangeSet, Resource, Stack};
use super::timeline::{self, uuid};
use super::wire::{query_error, query_ok, Reply, Request};
use super::Ctx;

type Answer = Result<Reply, Reply>;

fn invalid(message: &str) -> Reply {
    query_error(400, "ValidationError", message, XMLNS)
}

pub fn handle(ctx: &mut Ctx, req: &Request, region: &str) -> Reply {
    let action = req.param("Action").unwrap_or_default().to_string();
    let answer = match action.as_str() {
        "CreateStack" => create_stack(ctx, req, region),
        "UpdateStack" => update_stack(ctx, req, region),
        "DeleteStack" => delete_stack(ctx, req, region),
        "DescribeStacks" => describe_stacks(ctx, req, region),
        "ListStacks" => list_stacks(ctx, req, region),
        "DescribeStackResources" => describe_stack_resources(ctx, req, region),
        "DescribeStackEvents" => describe_stack_events(ctx, req, region),
        "CreateChangeSet" => create_change_set(ctx, req, region),
        "DescribeChangeSet" => describe_change_set(ctx, req, region),
        "ExecuteChangeSet" => execute_change_set(ctx, req, region),
        "DeleteChangeSet" => delete_change_set(ctx, req, region),
        other => Err(query_error(
            400,
            "InvalidAction",
            &format!("sandbox: the simulated CloudFormation does not answer {other}"),
            XMLNS,
        )),
    };
    answer.unwrap_or_else(|e| e)
}

/// The stack `name_or_id` names: by id any stack (deleted ones too, as AWS keeps them readable),
/// by name only one that is not deleted.
fn find(ctx: &Ctx, name_or_id: &str, region: &str) -> Option<usize> {
    let stacks = &ctx.acct_ref()?.stacks;
    if name_or_id.starts_with("arn:") {
        return stacks.iter().position(|s| s.id == name_or_id);
    }
    stacks.iter().position(|s| s.name == name_or_id && s.region == region && s.deleted_at(ctx.now).is_none())
}

fn find_or_fail(ctx: &Ctx, name_or_id: &str, region: &str) -> Result<usize, Reply> {
    find(ctx, name_or_id, region).ok_or_else(|| invalid(&format!("Stack with id {name_or_id} does not exist")))
}

fn required<'a>(req: &'a Request, name: &str) -> Result<&'a str, Reply> {
    req.param(name).filter(|v| !v.is_empty()).ok_or_else(|| {
        invalid(&format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    })
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

fn parameters(req: &Request) -> BTreeMap<String, String> {
    req.structs("Parameters")
        .into_iter()
        .filter_map(|p| Some((p.get("ParameterKey")?.clone(), p.get("ParameterValue").cloned().unwrap_or_default())))
        .collect()
}

fn tags(req: &Request) -> Vec<(String, String)> {
    req.structs("Tags")
        .into_iter()
        .filter_map(|t| Some((t.get("Key")?.clone(), t.get("Value").cloned().unwrap_or_default())))
        .collect()
}

/// IAM resources need the caller to acknowledge them, as CloudFormation insists.
fn check_capabilities(req: &Request, rendered: &Rendered) -> Result<(), Reply> {
    let named_iam = rendered.resources.iter().any(|r| {
        r.type_.starts_with("AWS::IAM::")
            && ["RoleName", "InstanceProfileName", "PolicyName", "ManagedPolicyName"]
                .iter()
                .any(|k| r.properties.get(k).is_some())
    });
    let caps = req.list("Capabilities");
    if named_iam && !caps.iter().any(|c| c == "CAPABILITY_NAMED_IAM") {
        return Err(query_error(
            400,
            "InsufficientCapabilitiesException",
            "Requires capabilities : [CAPABILITY_NAMED_IAM]",
            XMLNS,
        ));
    }
    Ok(())
}

/// Render the request's template for stack `name`.
fn rendered(ctx: &Ctx, req: &Request, name: &str, region: &str, existing: &[Resource]) -> Result<Rendered, Reply> {
    let body = required(req, "TemplateBody")?;
    let template = render::parse(body).map_err(|m| invalid(&m))?;
    let r =
        render::render(&template, name, &parameters(req), &ctx.account, region, existing).map_err(|m| invalid(&m))?;
    check_capabilities(req, &r)?;
    Ok(r)
}

/// Why each resource fails to create: `--sandbox-fail`, or a bucket whose name is taken.
fn create_faults(ctx: &Ctx, resources: &[Resource]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in resources {
        if ctx.fail.contains(&r.id) {
            out.insert(r.id.clone(), timeline::failure_reason(&r.type_, &r.physical_id, false, &ctx.account));
        } else if r.type_ == "AWS::S3::Bucket" && bucket_taken(ctx, &r.physical_id) {
            out.insert(r.id.clone(), timeline::bucket_exists_reason(&r.physical_id));
        }
    }
    out
}

/// A bucket of that name exists in any account (bucket names are global).
pub fn bucket_taken(ctx: &Ctx, name: &str) -> bool {
    ctx.world.accounts.values().any(|a| a.alive("AWS::S3::Bucket", ctx.now).any(|(_, r)| r.physical_id == name))
}

fn create_stack(ctx: &mut Ctx, req: &Request, region: &str) -> Answer {
    let name = required(req, "StackName")?.to_string();
    let token = req.param("ClientRequestToken").map(String::from);
    if let Some(i) = find(ctx, &name, region) {
        let stack = &ctx.acct().stacks[i];
        if token.as_ref().is_some_and(|t| stack.tokens.contains(t)) {
            return Ok(query_ok("CreateStack", XMLNS, Some(cfn_xml::el("StackId", &stack.id))));
        }
        return Err(query_error(400, "AlreadyExistsException", &format!("Stack [{name}] already exists"), XMLNS));
    }
    let r = rendered(ctx, req, &name, region, &[])?;
    let id = format!("arn:aws:cloudformation:{region}:{}:stack/{name}/{}", ctx.account, uuid());
    let faults = create_faults(ctx, &r.resources);
    let t = timeline::create(&name, &id, &r.resources, ctx.now, ctx.clock, &faults);
    let stack = Stack {
        name,
        id: id.clone(),
        region: region.to_string(),
        description: r.description,
        created: ctx.now,
        updated: None,
        tags: tags(req),
        parameters: r.parameters,
        outputs: r.outputs,
        resources: r.resources,
        events: t.events,
        tokens: token.into_iter().collect(),
    };
    ctx.acct().stacks.push(stack);
    Ok(query_ok("CreateStack", XMLNS, Some(cfn_xml::el("StackId", &id))))
}

/// What changes between a stack's resources and `new`: (action, resource, replacement).
fn diff(old: &[Resource], new: &[Resource]) -> Vec<(String, String, String, Option<String>)> {
    let mut out = Vec::new();
    for r in new {
        match old.iter().find(|o| o.id == r.id) {
            None => out.push(("Add".into(), r.id.clone(), r.type_.clone(), None)),
            Some(o) if o.type_ != r.type_ => {
                out.push(("Modify".into(), r.id.clone(), r.type_.clone(), Some("True".into())))
            }
            Some(o) if o.properties != r.properties => {
                out.push(("Modify".into(), r.id.clone(), r.type_.clone(), Some("False".into())))
            }
            Some(_) => {}
        }
    }
    for o in old.iter().filter(|o| !new.iter().any(|r| r.id == o.id)) {
        out.push(("Remove".into(), o.id.clone(), o.type_.clone(), None));
    }
    out
}

/// A settled stack that can be updated, or the error CloudFormation gives.
fn updatable(ctx: &Ctx, name: &str, region: &str) -> Result<usize, Reply> {
    let i = find(ctx, name, region).ok_or_else(|| invalid(&format!("Stack [{name}] does not exist")))?;
    let stack = &ctx.acct_ref().map(|a| &a.stacks[i]).ok_or_else(|| invalid("Stack does not exist"))?;
    let status = stack.status_at(ctx.now);
    if !matches!(status.as_str(), "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE") {
        return Err(invalid(&format!("Stack:{} is in {status} state and can not be updated.", stack.id)));
    }
    Ok(i)
}

/// Run an update of stack `i` to `r` now: changed resources are updated, new ones created,
/// removed ones deleted in the cleanup.
fn run_update(ctx: &mut Ctx, i: usize, r: Rendered, tags: Vec<(String, String)>) {
    let (now, clock) = (ctx.now, ctx.clock);
    let stack = &mut ctx.acct().stacks[i];
    let changes = diff(&stack.resources, &r.resources);
    let changed: Vec<(&Resource, bool)> = timeline::topological(&r.resources)
        .into_iter()
        .filter_map(|res| changes.iter().find(|c| c.1 == res.id).map(|c| (res, c.0 == "Add")))
        .collect();
    let mut t = timeline::update(&stack.name, &stack.id, &changed, now, clock);
    let removed: Vec<&Resource> =
        stack.resources.iter().filter(|o| !r.resources.iter().any(|n| n.id == o.id)).collect();
    if !removed.is_empty() {
        let removal = timeline::delete(&stack.name, &stack.id, &removed, t.end, clock, &BTreeMap::new(), &[]);
        // Only the resources' events: the stack itself is in its cleanup, not deleted.
        let last = t.events.pop();
        t.events.extend(removal.events.into_iter().filter(|e| e.type_ != timeline::STACK_TYPE));
        if let Some(mut done) = last {
            done.time = clock.gap(removal.end);
            t.events.push(done);
        }
    }
    stack.events.extend(t.events);
    stack.resources = r.resources;
    stack.outputs = r.outputs;
    stack.parameters = r.parameters;
    if !tags.is_empty() {
        stack.tags = tags;
    }
    stack.updated = Some(now);
}

fn update_stack(ctx: &mut Ctx, req: &Request, region: &str) -> Answer {
    let name = required(req, "StackName")?.to_string();
    let i = updatable(ctx, &name, region)?;
    let stack = ctx.acct().stacks[i].clone();
    let r = rendered(ctx, req, &stack.name, region, &stack.resources)?;
    let new_tags = tags(req);
    let changes = diff(&stack.resources, &r.resources);
    let same_tags = new_tags.is_empty() || new_tags == stack.tags;
    if changes.is_empty() && same_tags && r.parameters == stack.parameters {
        return Err(invalid("No updates are to be performed."));
    }
    run_update(ctx, i, r, new_tags);
    Ok(query_ok("UpdateStack", XMLNS, Some(cfn_xml::el("StackId", &stack.id))))
}

fn delete_stack(ctx: &mut Ctx, req: &Request, region: &str) -> Answer {
    let name = required(req, "StackName")?.to_string();
    // Deleting a stack that does not exist succeeds, as on AWS.
    let Some(i) = find(ctx, &name, region) else { return Ok(query_ok("DeleteStack", XMLNS, None)) };
    let (now, clock) = (ctx.now, ctx.clock);
    let retain = req.list("RetainResources");
    let token = req.param("ClientRequestToken").map(String::from);
    let stack = ctx.acct().stacks[i].clone();
    let status = stack.status_at(now);
    if token.as_ref().is_some_and(|t| stack.tokens.contains(t))
        || status == "DELETE_COMPLETE"
        || status == "DELETE_IN_PROGRESS"
    {
        return Ok(query_ok("DeleteStack", XMLNS, None));
    }
    if status.ends_with("_IN_PROGRESS") {
        return Err(invalid(&format!("Stack [{}] cannot be deleted while in status {status}", stack.name)));
    }
    if !retain.is_empty() && status != "DELETE_FAILED" {
        return Err(invalid(&format!(
            "Invalid operation on stack [{}]. RetainResources can only be specified when the stack is in the DELETE_FAILED state",
            stack.id
        )));
    }
    // What still stands: made, and neither deleted nor skipped since.
    let present: Vec<&Resource> = stack
        .resources
        .iter()
        .filter(|r| {
            stack.resource_created(&r.id, now).is_some()
                && stack
                    .resource_event(&r.id, now)
                    .is_some_and(|e| !matches!(e.status.as_str(), "DELETE_COMPLETE" | "DELETE_SKIPPED"))
        })
        .collect();
    let mut faults = BTreeMap::new();
    for r in present.iter().filter(|r| !retain.contains(&r.id) && !r.retain) {
        if ctx.fail.contains(&r.id) {
            faults.insert(r.id.clone(), timeline::failure_reason(&r.type_, &r.physical_id, true, &ctx.account));
        } else if r.type_ == "AWS::S3::Bucket"
            && ctx.acct_ref().and_then(|a| a.objects.get(&r.physical_id)).is_some_and(|o| !o.is_empty())
        {
            faults.insert(r.id.clone(), timeline::not_empty_reason(&r.physical_id));
        }
    }
    let t = timeline::delete(&stack.name, &stack.id, &present, now, clock, &faults, &retain);
    let s = &mut ctx.acct().stacks[i];
    s.events.extend(t.events);
    s.tokens.extend(token);
    Ok(query_ok("DeleteStack", XMLNS, None))
}

fn describe_stacks(ctx: &mut Ctx, req: &Request, region: &str) -> Answer {
    let now = ctx.now;
    let stacks: Vec<String> = match req.param("StackName").filter(|n| !n.is_empty()) {
        Some(name) => {
            let i = find_or_fail(ctx, name, region)?;
            vec![cfn_xml::stack(&ctx.acct().stacks[i], now)]
        }
        None => ctx
            .acct()
            .stacks
            .iter()
            .filter(|s| s.region == region && s.deleted_at(now).is_none())
            .map(|s| cfn_xml::stack(s, now))
            .collect(),
    };
    Ok(query_ok("DescribeStacks", XMLNS, Some(cfn_xml::members_of("Stacks", stacks))))
}

fn list_stacks(ctx: &mut Ctx, req: &Request, region: &str) -> Answer {
    let now = ctx.now;
    let filter = req.list("StackStatusFilter");
    let summaries: Vec<String> = ctx
        .acct()
        .stacks
        .iter()
        .filter(|s| s.region == region && s.events_until(now).next().is_some())
        .filter(|s| filter.is_empty() || filter.contains(&s.status_at(now)))
        .rev()
        .map(|s| cfn_xml::summary(s, now))
        .collect();
    Ok(query_ok("ListStacks", XMLNS, Some(cfn_xml::members_of("StackSummaries", summaries))))
}

fn describe_stack_resources(ctx: &mut Ctx, req: &Request, region: &str) -> Answer {
    let name = required(req, "StackName")?.to_string();
    let i = find_or_fail(ctx, &name, region)?;
    let now = ctx.now;
    let stack = &ctx.acct().stacks[i];
    let items: Vec<String> = stack.resources.iter().filter_map(|r| cfn_xml::resource(stack, r, now)).collect();
    Ok(query_ok("DescribeStackResources", XMLNS, Some(cfn_xml::members_of("StackResources", items))))
}

/// Newest first, `page_size` at a time; the token names the last event of the page before, so
/// events that happen between two pages shift nothing.
fn describe_stack_events(ctx: &mut Ctx, req: &Request, region: &str) -> Answer {
    let name = required(req, "StackName")?.to_string();
    let i = find_or_fail(ctx, &name, region)?;
    let (now, size) = (ctx.now, ctx.page_size);
    let stack = &ctx.acct().stacks[i];
    let newest_first: Vec<_> = stack.events_until(now).rev().collect();
    let start = match req.param("NextToken") {
        Some(token) => match newest_first.iter().position(|e| e.id == token) {
            Some(p) => p + 1,
            None => return Err(invalid("Invalid NextToken")),
        },
        None => 0,
    };
    let page: Vec<_> = newest_first.iter().skip(start).take(size).collect();
    let next = (start + page.len() < newest_first.len()).then(|| page.last().map(|e| e.id.clone())).flatten();
    let items: Vec<String> = page.iter().map(|e| cfn_xml::event(stack, e)).collect();
    let mut body = cfn_xml::members_of("StackEvents", items);
    if let Some(t) = next {
        body.push_str(&cfn_xml::el("NextToken", &t));
    }
    Ok(query_ok("DescribeStackEvents", XMLNS, Some(body)))
}

/// The change set `name` (or its ARN) names for `stack`.
fn find_change_set(ctx: &Ctx, name: &str, stack: Option<&str>) -> Option<usize> {
    ctx.acct_ref()?
        .change_sets
        .iter()
        .position(|c| c.id == name || (c.name == name && stack.is_some_and(|s| s == c.stack_name || s == c.stack_id)))
}

fn change_set_missing(name: &str) -> Reply {
    query_error(404, "ChangeSetNotFound", &format!("ChangeSet [{name}] does not exist"), XMLNS)
}

fn create_change_set(ctx: &mut Ctx, req: &Request, region: &str) -> Answer {
    let stack_name = required(req, "StackName")?.to_string();
    let name = required(req, "ChangeSetName")?.to_string();
    let kind = req.param("ChangeSetType").unwrap_or("UPDATE").to_string();
    let now = ctx.now;
    let (i, old) = match kind.as_str() {
        "CREATE" => {
            if find(ctx, &stack_name, region).is_some() {
                return Err(query_error(
                    400,
                    "AlreadyExistsException",
                    &format!(
                        "Stack [{stack_name}] already exists and cannot be created again with the changeSet [{name}]."
                    ),
                    XMLNS,
                ));
            }
            let id = format!("arn:aws:cloudformation:{region}:{}:stack/{stack_name}/{}", ctx.account, uuid());
            let ev = super::state::Event {
                id: uuid(),
                time: now,
                logical_id: stack_name.clone(),
                type_: timeline::STACK_TYPE.into(),
                status: "REVIEW_IN_PROGRESS".into(),
                reason: Some("User Initiated".into()),
                physical_id: Some(id.clone()),
            };
            let stack = Stack {
                name: stack_name.clone(),
                id,
                region: region.into(),
                description: String::new(),
                created: now,
                updated: None,
                tags: tags(req),
                parameters: Vec::new(),
                outputs: Vec::new(),
                resources: Vec::new(),
                events: vec![ev],
                tokens: Vec::new(),
            };
            ctx.acct().stacks.push(stack);
            (ctx.acct().stacks.len() - 1, Vec::new())
        }
        _ => {
            let i = updatable(ctx, &stack_name, region)?;
            (i, ctx.acct().stacks[i].resources.clone())
        }
    };
    let r = rendered(ctx, req, &stack_name, region, &old)?;
    let (stack_id, stack_name) = (ctx.acct().stacks[i].id.clone(), ctx.acct().stacks[i].name.clone());
    let changes = diff(&old, &r.resources);
    let (status, reason) = if changes.is_empty() {
        ("FAILED", Some("The submitted information didn't contain changes. Submit different information to create a change set.".to_string()))
    } else {
        ("CREATE_COMPLETE", None)
    };
    let id = format!("arn:aws:cloudformation:{region}:{}:changeSet/{name}/{}", ctx.account, uuid());
    let cs = ChangeSet {
        name,
        id: id.clone(),
        stack_id,
        stack_name,
        created: now,
        ready: ctx.clock.after(now, 2.0),
        status: status.into(),
        reason,
        execution: if changes.is_empty() { "UNAVAILABLE".into() } else { "AVAILABLE".into() },
        changes,
        resources: r.resources,
        outputs: r.outputs,
        parameters: r.parameters,
        tags: tags(req),
        description: r.description,
    };
    let stack_id = cs.stack_id.clone();
    ctx.acct().change_sets.push(cs);
    let body = format!("{}{}", cfn_xml::el("Id", &id), cfn_xml::el("StackId", &stack_id));
    Ok(query_ok("CreateChangeSet", XMLNS, Some(body)))
}

fn describe_change_set(ctx: &mut Ctx, req: &Request, _region: &str) -> Answer {
    let name = required(req, "ChangeSetName")?.to_string();
    let i = find_change_set(ctx, &name, req.param("StackName")).ok_or_else(|| change_set_missing(&name))?;
    let now = ctx.now;
    let cs = &ctx.acct().change_sets[i];
    Ok(query_ok("DescribeChangeSet", XMLNS, Some(cfn_xml::change_set(cs, now))))
}

fn execute_change_set(ctx: &mut Ctx, req: &Request, region: &str) -> Answer {
    let name = required(req, "ChangeSetName")?.to_string();
    let c = find_change_set(ctx, &name, req.param("StackName")).ok_or_else(|| change_set_missing(&name))?;
    let now = ctx.now;
    let cs = ctx.acct().change_sets[c].clone();
    if cs.ready > now || cs.status != "CREATE_COMPLETE" || cs.execution != "AVAILABLE" {
        return Err(query_error(
            400,
            "InvalidChangeSetStatus",
            &format!("ChangeSet [{}] cannot be executed in its current status of [{}]", cs.id, cs.status),
            XMLNS,
        ));
    }
    let i = find_or_fail(ctx, &cs.stack_id, region)?;
    let rendered = Rendered {
        description: cs.description.clone(),
        resources: cs.resources.clone(),
        outputs: cs.outputs.clone(),
        parameters: cs.parameters.clone(),
    };
    let stack = &ctx.acct().stacks[i];
    if stack.status_at(now) == "REVIEW_IN_PROGRESS" {
        let faults = create_faults(ctx, &rendered.resources);
        let clock = ctx.clock;
        let stack = &mut ctx.acct().stacks[i];
        let t = timeline::create(&stack.name, &stack.id, &rendered.resources, now, clock, &faults);
        stack.events.extend(t.events);
        stack.resources = rendered.resources;
        stack.outputs = rendered.outputs;
        stack.parameters = rendered.parameters;
        stack.description = rendered.description;
    } else {
        run_update(ctx, i, rendered, cs.tags.clone());
    }
    let acct = ctx.acct();
    acct.change_sets[c].execution = "EXECUTE_COMPLETE".into();
    // Executing one change set deletes the stack's others, as CloudFormation does.
    let id = cs.id.clone();
    acct.change_sets.retain(|x| x.stack_id != cs.stack_id || x.id == id);
    Ok(query_ok("ExecuteChangeSet", XMLNS, Some(String::new())))
}

fn delete_change_set(ctx: &mut Ctx, req: &Request, _region: &str) -> Answer {
    let name = required(req, "ChangeSetName")?.to_string();
    let i = find_change_set(ctx, &name, req.param("StackName")).ok_or_else(|| change_set_missing(&name))?;
    ctx.acct().change_sets.remove(i);
    Ok(query_ok("DeleteChangeSet", XMLNS, Some(String::new())))
}
