//! The preview of an apply: UPDATE change sets read (then deleted) for stacks that exist, every
//! resource an add for new ones; and the refusal of a kept bucket a new stack would collide with.

use super::*;

impl Aws {
    /// What applying would change in stacks that exist now (UPDATE change sets, deleted after
    /// reading); new stacks add every resource of the plan.
    pub async fn preview_changes(&self, plan: &Plan) -> Result<Vec<GroupChanges>, CloudError> {
        let c = self.clients(&plan.region);
        let mut out = Vec::new();
        let mut outputs = BTreeMap::new();
        for g in &plan.groups {
            let adds = || {
                g.resources
                    .iter()
                    .map(|r| ResourceChange {
                        action: "Add".into(),
                        id: r.id.clone(),
                        type_: r.type_.clone(),
                        replacement: None,
                    })
                    .collect()
            };
            let existing = self.classify(&c, g, plan).await?;
            let stack = match existing {
                Existing::Settled(stack) => stack,
                Existing::RolledBack(stack) => {
                    let status = stack.stack_status().map(|s| s.as_str().to_string()).unwrap_or_default();
                    let note =
                        format!("left in {status} by an earlier attempt: it is deleted first, then created again");
                    out.push(GroupChanges {
                        group: g.name.clone(),
                        kind: ChangeKind::Create,
                        changes: adds(),
                        note: Some(note),
                    });
                    continue;
                }
                Existing::None => {
                    self.refuse_kept_data(&c, plan, g).await?;
                    out.push(GroupChanges {
                        group: g.name.clone(),
                        kind: ChangeKind::Create,
                        changes: adds(),
                        note: None,
                    });
                    continue;
                }
            };
            // A stack from before install ids: the update records the id, even when nothing else changes.
            let records_id = (!tags_recorded(&stack, plan)).then(|| {
                format!(
                    "records {}={} on the stack (made before install ids); the template is unchanged",
                    ownership::MARK_INSTALL_ID,
                    ownership::install_id_of(plan).unwrap_or("?")
                )
            });
            let no_changes = |out: &mut Vec<GroupChanges>| {
                out.push(GroupChanges {
                    group: g.name.clone(),
                    kind: if records_id.is_some() { ChangeKind::Update } else { ChangeKind::NoChanges },
                    changes: vec![],
                    note: records_id.clone(),
                })
            };
            outputs.insert(g.key.clone(), stack_outputs(&stack));
            let name = format!("cloudgrant-preview-{}", Utc::now().timestamp_millis());
            let created = self.create_change_set(&c, plan, g, &name, self.parameters(g, &outputs)).await?;
            if let Err(e) = created {
                use super::errors::AsSdkError;
                if no_changes_reason(&e.error_message()) {
                    // Some endpoints refuse an empty change set outright instead of failing it.
                    no_changes(&mut out);
                    continue;
                }
                out.push(GroupChanges {
                    group: g.name.clone(),
                    kind: ChangeKind::Update,
                    changes: vec![],
                    note: Some(format!("change set refused: {}", e.error_message())),
                });
                continue;
            }
            let (status, reason, changes) = self.wait_change_set(&c, &g.name, &name).await?;
            let _ = c.cfn.delete_change_set().stack_name(&g.name).change_set_name(&name).send().await;
            let empty = status == Some(ChangeSetStatus::Failed) && reason.as_deref().is_some_and(no_changes_reason);
            if empty || (status == Some(ChangeSetStatus::CreateComplete) && changes.is_empty()) {
                no_changes(&mut out);
                continue;
            }
            out.push(GroupChanges { group: g.name.clone(), kind: ChangeKind::Update, changes, note: reason });
        }
        Ok(out)
    }

    /// A new stack that would create a bucket the account still has (kept by an earlier revoke:
    /// `DeletionPolicy: Retain`) fails half-way with BucketAlreadyExists, after other stacks were
    /// made. cloudgrant does not adopt the bucket into the new stack (CloudFormation resource
    /// import), so it refuses up front, naming the bucket and the choice to make.
    pub(crate) async fn refuse_kept_data(&self, c: &Clients, plan: &Plan, g: &Group) -> Result<(), CloudError> {
        for r in g.resources.iter().filter(|r| r.type_ == "AWS::S3::Bucket") {
            let Some(name) = r.name.as_deref() else { continue };
            match c.s3.head_bucket().bucket(name).send().await {
                Ok(_) => {}
                Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => continue,
                Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(403) => {
                    return Err(CloudError::failed(
                        format!("the bucket name {name} is taken by another AWS account; nothing was created"),
                        "Bucket names are global: install under another org name (`--org`).",
                    ))
                }
                Err(e) => return Err(self.err("s3:HeadBucket", e)),
            }
            let objects = match c.s3.list_objects_v2().bucket(name).max_keys(1000).send().await {
                Ok(o) => format!(
                    "{} object(s){}",
                    o.key_count().unwrap_or(0),
                    if o.is_truncated() == Some(true) { " or more" } else { "" }
                ),
                Err(_) => "its objects".into(),
            };
            let flags = self.profile().map(|p| format!(" --profile {p}")).unwrap_or_default();
            return Err(CloudError::failed(
                format!(
                    "the data bucket {name} is still in the account ({objects}), kept by an earlier revoke of org {}: stack {} cannot be created while it exists, and cloudgrant does not adopt an existing bucket into a new stack; nothing was created",
                    plan.org, g.name
                ),
                format!(
                    "Choose one. Keep the data and install under another org name: `cloudgrant init --org NEW_ORG{flags}`. Or move the data out (`aws s3 sync s3://{name} s3://OTHER_BUCKET`), empty the bucket of every object version (S3 console: Empty) and delete it (`aws s3 rb s3://{name}`), then run `cloudgrant init --org {}{flags}` again.",
                    plan.org
                ),
            ));
        }
        Ok(())
    }
}
