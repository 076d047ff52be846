//! The simulated AWS's answers read through the real SDK clients: every shape parses, errors
//! carry the codes the SDK's error types and retry classifier know, paging holds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use super::*;
use crate::cloud::sandbox::{aws_sdk_config, SandboxConfig};

const ACCOUNT: &str = "210987654321";

const TEMPLATE: &str = r#"
Description: a test stack
Parameters:
  Name:
    Type: String
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${Name}-bucket"
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "${Name}-role"
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: { Service: ec2.amazonaws.com }
            Action: sts:AssumeRole
      Tags:
        - Key: bucket
          Value: !Ref Bucket
  Key:
    Type: AWS::KMS::Key
    DeletionPolicy: Retain
    Properties:
      PendingWindowInDays: 7
Outputs:
  BucketName:
    Value: !Ref Bucket
"#;

struct World {
    _dir: tempfile::TempDir,
    config: aws_config::SdkConfig,
}

fn world(knobs: Knobs, fail: &[&str]) -> World {
    let dir = tempfile::tempdir().expect("tmp");
    let config = SandboxConfig {
        dir: dir.path().to_path_buf(),
        speed: 5000.0,
        fail: fail.iter().map(|s| s.to_string()).collect(),
    };
    let sim = SimulatedAws::open(&config, &[ACCOUNT], knobs).expect("open");
    World { _dir: dir, config: aws_sdk_config(sim, ACCOUNT, "eu-west-1", config.speed) }
}

fn cfn(w: &World) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&w.config)
}

async fn create(w: &World, name: &str) -> String {
    cfn(w)
        .create_stack()
        .stack_name(name)
        .template_body(TEMPLATE)
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder().parameter_key("Name").parameter_value(name).build(),
        )
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .tags(aws_sdk_cloudformation::types::Tag::builder().key("managed-by").value("test").build())
        .send()
        .await
        .expect("create")
        .stack_id()
        .expect("id")
        .to_string()
}

async fn status(w: &World, id: &str) -> String {
    let out = cfn(w).describe_stacks().stack_name(id).send().await.expect("describe");
    out.stacks()[0].stack_status().expect("status").as_str().to_string()
}

async fn settle(w: &World, id: &str) -> String {
    for _ in 0..500 {
        let s = status(w, id).await;
        if !s.ends_with("IN_PROGRESS") {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("{id} never settled");
}

#[tokio::test]
async fn sts_names_the_signed_in_account() {
    let w = world(Knobs::default(), &[]);
    let who = aws_sdk_sts::Client::new(&w.config).get_caller_identity().send().await.expect("sts");
    assert_eq!(who.account(), Some(ACCOUNT));
    assert_eq!(who.arn(), Some("arn:aws:sts::210987654321:assumed-role/SandboxAdmin/you"));
}

#[tokio::test]
async fn a_stack_is_created_described_and_its_resources_answer_in_their_services() {
    let w = world(Knobs::default(), &[]);
    let id = create(&w, "one").await;
    assert!(id.starts_with("arn:aws:cloudformation:eu-west-1:210987654321:stack/one/"), "{id}");
    assert_eq!(settle(&w, &id).await, "CREATE_COMPLETE");
    let out = cfn(&w).describe_stacks().stack_name("one").send().await.expect("by name");
    let s = &out.stacks()[0];
    assert_eq!(s.stack_id(), Some(id.as_str()));
    assert_eq!(s.outputs()[0].output_value(), Some("one-bucket"));
    assert_eq!(s.tags()[0].key(), Some("managed-by"));
    assert_eq!(s.parameters()[0].parameter_value(), Some("one"));
    assert!(s.creation_time().is_some());
    let res = cfn(&w).describe_stack_resources().stack_name(&id).send().await.expect("resources");
    let ids: Vec<_> = res.stack_resources().iter().map(|r| r.logical_resource_id().unwrap_or_default()).collect();
    assert_eq!(ids, ["Bucket", "Role", "Key"]);
    assert!(res.stack_resources().iter().all(|r| r.resource_status().map(|s| s.as_str()) == Some("CREATE_COMPLETE")));
    // The role and bucket exist in IAM and S3 now.
    let role = aws_sdk_iam::Client::new(&w.config).get_role().role_name("one-role").send().await.expect("role");
    assert_eq!(role.role().map(|r| r.arn()), Some("arn:aws:iam::210987654321:role/one-role"));
    let s3 = aws_sdk_s3::Client::new(&w.config);
    s3.head_bucket().bucket("one-bucket").send().await.expect("bucket");
    let missing = s3.head_bucket().bucket("nobody-bucket").send().await.expect_err("missing");
    assert!(missing.as_service_error().is_some_and(|e| e.is_not_found()), "{missing:?}");
    let gone = aws_sdk_iam::Client::new(&w.config).get_role().role_name("nobody").send().await.expect_err("missing");
    assert!(gone.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()), "{gone:?}");
    // A second stack by the same name is refused as CloudFormation does.
    let again = cfn(&w).create_stack().stack_name("one").template_body(TEMPLATE).send().await.expect_err("exists");
    assert!(again.as_service_error().is_some_and(|e| e.is_already_exists_exception()), "{again:?}");
}

#[tokio::test]
async fn events_page_newest_first_and_none_is_lost_or_repeated() {
    let w = world(Knobs { throttle: 0.0, page_size: 2 }, &[]);
    let id = create(&w, "paged").await;
    settle(&w, &id).await;
    let (mut all, mut token) = (Vec::new(), None);
    loop {
        let out = cfn(&w).describe_stack_events().stack_name(&id).set_next_token(token).send().await.expect("events");
        assert!(out.stack_events().len() <= 2);
        all.extend(out.stack_events().iter().cloned());
        match out.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    // 1 stack start + 3 resources × 3 events + 1 stack end.
    assert_eq!(all.len(), 11);
    let mut ids: Vec<_> = all.iter().map(|e| e.event_id().unwrap_or_default().to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 11, "no event twice");
    assert!(all.windows(2).all(|p| p[0].timestamp() >= p[1].timestamp()), "newest first");
    assert_eq!(all[0].resource_status().map(|s| s.as_str()), Some("CREATE_COMPLETE"));
    assert_eq!(all[0].logical_resource_id(), Some("paged"));
    assert_eq!(all[10].resource_status_reason(), Some("User Initiated"));
}

#[tokio::test]
async fn a_failed_create_rolls_back_naming_the_failed_resource() {
    let w = world(Knobs::default(), &["Role"]);
    let id = create(&w, "boom").await;
    assert_eq!(settle(&w, &id).await, "ROLLBACK_COMPLETE");
    let out = cfn(&w).describe_stack_events().stack_name(&id).send().await.expect("events");
    let failed: Vec<_> = out
        .stack_events()
        .iter()
        .filter(|e| e.resource_status().map(|s| s.as_str()) == Some("CREATE_FAILED"))
        .collect();
    assert!(failed.iter().any(|e| e.logical_resource_id() == Some("Role")
        && e.resource_status_reason().is_some_and(|r| r.contains("AccessDenied"))));
    let rollback = out
        .stack_events()
        .iter()
        .find(|e| e.resource_status().map(|s| s.as_str()) == Some("ROLLBACK_IN_PROGRESS"))
        .expect("rollback");
    assert!(rollback.resource_status_reason().is_some_and(|r| r.contains("Role")));
}

#[tokio::test]
async fn an_empty_change_set_fails_with_cloudformations_reason() {
    let w = world(Knobs::default(), &[]);
    let id = create(&w, "same").await;
    settle(&w, &id).await;
    let c = cfn(&w);
    c.create_change_set()
        .stack_name("same")
        .change_set_name("cs1")
        .template_body(TEMPLATE)
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder().parameter_key("Name").parameter_value("same").build(),
        )
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .send()
        .await
        .expect("change set");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let d = c.describe_change_set().stack_name("same").change_set_name("cs1").send().await.expect("describe");
    assert_eq!(d.status().map(|s| s.as_str()), Some("FAILED"));
    assert!(d.status_reason().is_some_and(|r| r.contains("didn't contain changes")));
    c.delete_change_set().stack_name("same").change_set_name("cs1").send().await.expect("delete");
    let gone = c.describe_change_set().stack_name("same").change_set_name("cs1").send().await.expect_err("gone");
    assert!(gone.as_service_error().is_some_and(|e| e.is_change_set_not_found_exception()), "{gone:?}");
    // A different parameter is a change: Modify, executed as an update.
    c.create_change_set()
        .stack_name("same")
        .change_set_name("cs2")
        .template_body(TEMPLATE)
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder().parameter_key("Name").parameter_value("other").build(),
        )
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .send()
        .await
        .expect("change set");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let d = c.describe_change_set().stack_name("same").change_set_name("cs2").send().await.expect("describe");
    assert_eq!(d.status().map(|s| s.as_str()), Some("CREATE_COMPLETE"));
    let actions: Vec<_> = d
        .changes()
        .iter()
        .filter_map(|ch| ch.resource_change())
        .map(|r| (r.action().map(|a| a.as_str().to_string()), r.logical_resource_id().map(String::from)))
        .collect();
    assert!(actions.contains(&(Some("Modify".into()), Some("Bucket".into()))), "{actions:?}");
    c.execute_change_set().stack_name("same").change_set_name("cs2").send().await.expect("execute");
    assert_eq!(settle(&w, &id).await, "UPDATE_COMPLETE");
}

#[tokio::test]
async fn a_non_empty_bucket_fails_to_delete_and_the_retry_retains_it() {
    let w = world(Knobs::default(), &[]);
    let id = create(&w, "full").await;
    settle(&w, &id).await;
    let s3 = aws_sdk_s3::Client::new(&w.config);
    s3.put_object()
        .bucket("full-bucket")
        .key("data.csv")
        .body(b"a,b\n1,2\n".to_vec().into())
        .send()
        .await
        .expect("put");
    let listed = s3.list_objects_v2().bucket("full-bucket").send().await.expect("list");
    assert_eq!(listed.key_count(), Some(1));
    assert_eq!(listed.contents()[0].size(), Some(8));
    let c = cfn(&w);
    c.delete_stack().stack_name(&id).send().await.expect("delete");
    assert_eq!(settle(&w, &id).await, "DELETE_FAILED");
    let res = c.describe_stack_resources().stack_name(&id).send().await.expect("resources");
    let bucket = res.stack_resources().iter().find(|r| r.logical_resource_id() == Some("Bucket")).expect("bucket");
    assert_eq!(bucket.resource_status().map(|s| s.as_str()), Some("DELETE_FAILED"));
    assert!(bucket.resource_status_reason().is_some_and(|r| r.contains("not empty")));
    // RetainResources only in DELETE_FAILED: now it is.
    c.delete_stack().stack_name(&id).retain_resources("Bucket").send().await.expect("retry");
    assert_eq!(settle(&w, &id).await, "DELETE_COMPLETE");
    // Deleted: gone by name, still described by id, listed as DELETE_COMPLETE.
    let by_name = c.describe_stacks().stack_name("full").send().await.expect_err("gone");
    assert!(by_name.to_string().contains("does not exist") || format!("{by_name:?}").contains("does not exist"));
    let listed = c
        .list_stacks()
        .stack_status_filter(aws_sdk_cloudformation::types::StackStatus::DeleteComplete)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.stack_summaries().len(), 1);
    assert!(listed.stack_summaries()[0].deletion_time().is_some());
    s3.head_bucket().bucket("full-bucket").send().await.expect("the retained bucket stays");
}

#[tokio::test]
async fn keys_are_scheduled_cancelled_and_enabled_as_kms_answers() {
    let w = world(Knobs::default(), &[]);
    let id = create(&w, "keys").await;
    settle(&w, &id).await;
    let res = cfn(&w).describe_stack_resources().stack_name(&id).send().await.expect("resources");
    let key = res.stack_resources().iter().find(|r| r.logical_resource_id() == Some("Key")).expect("key");
    let key = key.physical_resource_id().expect("physical").to_string();
    let kms = aws_sdk_kms::Client::new(&w.config);
    let meta = kms.describe_key().key_id(&key).send().await.expect("describe");
    assert_eq!(meta.key_metadata().and_then(|m| m.key_state()).map(|s| s.as_str()), Some("Enabled"));
    let out = kms.schedule_key_deletion().key_id(&key).pending_window_in_days(7).send().await.expect("schedule");
    assert_eq!(out.key_state().map(|s| s.as_str()), Some("PendingDeletion"));
    assert_eq!(out.pending_window_in_days(), Some(7));
    let date = out.deletion_date().expect("date");
    let days = (date.secs() - chrono::Utc::now().timestamp()) as f64 / 86400.0;
    assert!((6.9..=7.0).contains(&days), "{days}");
    let enable = kms.enable_key().key_id(&key).send().await.expect_err("pending");
    assert!(enable.as_service_error().is_some_and(|e| e.is_kms_invalid_state_exception()), "{enable:?}");
    kms.cancel_key_deletion().key_id(&key).send().await.expect("cancel");
    let meta = kms.describe_key().key_id(&key).send().await.expect("describe");
    assert_eq!(meta.key_metadata().and_then(|m| m.key_state()).map(|s| s.as_str()), Some("Disabled"));
    kms.enable_key().key_id(&key).send().await.expect("enable");
    let missing = kms.describe_key().key_id("00000000-0000-0000-0000-000000000000").send().await.expect_err("none");
    assert!(missing.as_service_error().is_some_and(|e| e.is_not_found_exception()), "{missing:?}");
}

#[tokio::test]
async fn throttling_answers_the_code_the_sdk_retries() {
    let w = world(Knobs { throttle: 0.9, page_size: DEFAULT_PAGE_SIZE }, &[]);
    let once = aws_config::retry::RetryConfig::standard().with_max_attempts(1);
    let config = w.config.clone().into_builder().retry_config(once).build();
    let mut codes = Vec::new();
    for _ in 0..10 {
        if let Err(e) = aws_sdk_cloudformation::Client::new(&config).describe_stacks().send().await {
            use aws_sdk_cloudformation::error::ProvideErrorMetadata;
            codes.push(e.as_service_error().and_then(|s| s.code()).map(String::from));
        }
    }
    assert!(!codes.is_empty() && codes.iter().all(|c| c.as_deref() == Some("Throttling")), "{codes:?}");
    // With the sandbox's own retries (ten attempts), three throttled requests in ten still get through.
    let w = world(Knobs { throttle: 0.3, page_size: DEFAULT_PAGE_SIZE }, &[]);
    for _ in 0..10 {
        aws_sdk_sts::Client::new(&w.config).get_caller_identity().send().await.expect("retried until answered");
    }
}

#[tokio::test]
async fn ec2_answers_in_its_own_xml() {
    let w = world(Knobs::default(), &[]);
    let out = aws_sdk_ec2::Client::new(&w.config)
        .describe_instances()
        .filters(aws_sdk_ec2::types::Filter::builder().name("vpc-id").values("vpc-1").build())
        .send()
        .await
        .expect("ec2");
    assert!(out.reservations().is_empty());
}

#[tokio::test]
async fn a_deleted_stack_is_described_for_90_days_then_forgotten() {
    let w = world(Knobs::default(), &[]);
    let id = create(&w, "old").await;
    settle(&w, &id).await;
    cfn(&w).delete_stack().stack_name(&id).send().await.expect("delete");
    assert_eq!(settle(&w, &id).await, "DELETE_COMPLETE");
    // Age the stack: every event 89 days earlier, still described; then 91, forgotten.
    let store = state::Store::new(w._dir.path());
    for (days, listed) in [(89, 1), (2, 0)] {
        let mut world = store.load().expect("load");
        for e in world.accounts.get_mut(ACCOUNT).expect("account").stacks.iter_mut().flat_map(|s| s.events.iter_mut()) {
            e.time -= chrono::Duration::days(days);
        }
        store.save(&world).expect("save");
        let out = cfn(&w).list_stacks().send().await.expect("list");
        assert_eq!(out.stack_summaries().len(), listed, "{days}");
    }
    assert!(cfn(&w).describe_stacks().stack_name(&id).send().await.is_err(), "no longer described by id");
}
