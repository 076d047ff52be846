//! Issue 11 on AWS, against moto (and a fault-injecting proxy in front of it where a network or
//! AWS failure is needed): init and revoke touch only what is provably this install's, status
//! names every half-done state, and a lost reply does not make init fail on its own stack.
//! docs/reliability.md lists which test proves which rule.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/moto.rs"]
mod moto;

use aws_sdk_cloudformation::types::Tag;
use fault_proxy::{Fault, FaultProxy, Rule};
use moto::{both, cloudgrant, cloudgrant_at, endpoint, sdk, status_json, text, unique};

const TOPIC: &str = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n";

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

/// A stack with one SNS topic, tagged as given.
async fn stack_with_tags(cfn: &aws_sdk_cloudformation::Client, name: &str, tags: &[(&str, &str)]) {
    cfn.create_stack()
        .stack_name(name)
        .template_body(TOPIC)
        .set_tags(Some(tags.iter().map(|(k, v)| tag(k, v)).collect()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"));
}

async fn stack_status(cfn: &aws_sdk_cloudformation::Client, name: &str) -> Option<String> {
    let out = cfn.describe_stacks().stack_name(name).send().await.ok()?;
    out.stacks().first().and_then(|s| s.stack_status()).map(|s| s.as_str().to_string())
}

async fn has_topic(cfn: &aws_sdk_cloudformation::Client, name: &str) -> bool {
    let out = cfn.describe_stack_resources().stack_name(name).send().await.expect("resources");
    out.stack_resources().iter().any(|r| r.logical_resource_id() == Some("Topic"))
}

fn init(org: &str) {
    let out = cloudgrant(&["init", "--org", org, "--yes"]);
    assert!(out.status.success(), "init: {}", both(&out));
}

/// The data key of the install (the auth stack's output).
fn data_key(org: &str) -> String {
    let installs = status_json(org);
    let arn = installs[0]["outputs"]["DataKeyArn"].as_str().expect("key arn").to_string();
    arn.rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn case1_revoke_and_status_leave_look_alikes_with_the_install_tags_alone() {
    let org = &unique("look");
    init(org);
    let cfn = aws_sdk_cloudformation::Client::new(&sdk().await);
    let marks = [("managed-by", "cloudgrant"), ("cloudgrant-org", org.as_str()), ("cloudgrant-vendor", "acmeml")];
    let other = unique("other");
    let strangers =
        [format!("prod-database-{}", unique("p")), format!("acmeml-{org}-extra"), format!("acmeml-{other}-vpc")];
    for s in &strangers {
        stack_with_tags(&cfn, s, &marks).await;
    }

    let installs = status_json(org);
    let groups: Vec<&str> =
        installs[0]["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(groups, [format!("acmeml-{org}-vpc"), format!("acmeml-{org}-s3"), format!("acmeml-{org}-auth")]);
    let reported: Vec<&str> =
        installs[0]["strangers"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    for s in &strangers {
        assert!(reported.contains(&s.as_str()), "{s} is reported: {reported:?}");
    }
    let plain = text(&cloudgrant(&["status", "--org", org]).stdout);
    for s in &strangers {
        assert!(plain.contains(&format!("stack {s} carries cloudgrant tags but is not this install")), "{plain}");
    }
    assert!(plain.contains("aws cloudformation delete-stack --stack-name"), "how to remove it by hand: {plain}");

    let out = cloudgrant(&["revoke", "--org", org, "--yes"]);
    assert!(out.status.success(), "revoke: {}", both(&out));
    let said = text(&out.stdout);
    assert!(said.contains("left alone"), "the review names what it leaves alone: {said}");
    for s in &strangers {
        assert_eq!(stack_status(&cfn, s).await.as_deref(), Some("CREATE_COMPLETE"), "{s} untouched:\n{said}");
        assert!(has_topic(&cfn, s).await);
    }
    for key in ["vpc", "s3", "auth"] {
        assert_eq!(stack_status(&cfn, &format!("acmeml-{org}-{key}")).await, None, "the install's own stacks are gone");
    }
    for s in &strangers {
        cfn.delete_stack().stack_name(s).send().await.unwrap();
    }
}

#[tokio::test]
async fn case2_init_refuses_a_same_named_stack_of_another_org_or_vendor_and_changes_nothing() {
    let cfn = aws_sdk_cloudformation::Client::new(&sdk().await);
    for (mark, value) in [("cloudgrant-org", "other"), ("cloudgrant-vendor", "othervendor")] {
        let org = &unique("same");
        let name = format!("acmeml-{org}-vpc");
        let mut tags =
            vec![("managed-by", "cloudgrant"), ("cloudgrant-org", org.as_str()), ("cloudgrant-vendor", "acmeml")];
        tags.retain(|(k, _)| *k != mark);
        tags.push((mark, value));
        stack_with_tags(&cfn, &name, &tags).await;

        let out = cloudgrant(&["init", "--org", org, "--yes"]);
        assert_eq!(out.status.code(), Some(1), "{}", both(&out));
        let err = text(&out.stderr);
        assert!(err.contains(&name) && err.contains("is not this install"), "{err}");
        assert!(err.contains(&format!("{mark} is {value}")), "names the mark that differs: {err}");
        assert!(err.contains("nothing was changed"), "{err}");
        assert_eq!(stack_status(&cfn, &name).await.as_deref(), Some("CREATE_COMPLETE"));
        assert!(has_topic(&cfn, &name).await, "its topic is still there");
        for key in ["s3", "auth"] {
            assert_eq!(stack_status(&cfn, &format!("acmeml-{org}-{key}")).await, None, "nothing else was created");
        }
        cfn.delete_stack().stack_name(&name).send().await.unwrap();
    }
}

#[tokio::test]
async fn case3_a_revoke_that_stops_half_way_is_named_by_status_and_init_offers_both_ways() {
    let org = &unique("half");
    init(org);
    let key = data_key(org);
    // The auth stack goes (the vendor's access ends, the key is scheduled); every DeleteStack
    // after it is reset before it reaches AWS, the SDK's retries included.
    let proxy = FaultProxy::start(&endpoint(), vec![Rule::from_nth("DeleteStack", 2, Fault::ResetBefore)]);
    let out = cloudgrant_at(&proxy.url(), &["revoke", "--org", org, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}\n{}", both(&out), proxy.report());
    assert!(proxy.fired(0) >= 2, "the delete and its retries were reset: {}", proxy.report());
    assert_eq!(proxy.forwarded("DeleteStack"), 1, "{}", proxy.report());

    let installs = status_json(org);
    let health = &installs[0]["health"];
    assert_eq!(health["state"], "revoke_incomplete", "{installs}");
    assert!(health["gone"].to_string().contains(&format!("acmeml-{org}-auth")), "{health}");
    let leftover = installs[0]["leftovers"].as_array().unwrap().iter().find(|l| l["physical_id"] == key.as_str());
    let leftover = leftover.unwrap_or_else(|| panic!("the key is listed: {installs}"));
    assert_eq!(leftover["state"], "pending_deletion");
    assert!(leftover["date"].as_str().is_some_and(|d| d.len() == 10), "with its date: {leftover}");
    let plain = text(&cloudgrant(&["status", "--org", org]).stdout);
    assert!(
        plain.contains("revoke incomplete") && plain.contains(&key) && plain.contains("pending deletion"),
        "{plain}"
    );

    let out = cloudgrant(&["init", "--org", org, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "init refuses: {}", both(&out));
    let err = text(&out.stderr);
    assert!(err.contains("half revoked") && err.contains(&key), "{err}");
    assert!(err.contains(&format!("cloudgrant revoke --org {org}")), "finish the revoke: {err}");
    assert!(err.contains(&format!("cloudgrant init --org {org} --restore")), "or restore: {err}");
    assert!(!text(&out.stdout).contains("Nothing to change"), "{}", both(&out));

    let out = cloudgrant(&["init", "--org", org, "--yes", "--restore"]);
    assert!(out.status.success(), "restore: {}", both(&out));
    assert!(text(&out.stdout).contains(&format!("key {key}: deletion cancelled and key enabled")), "{}", both(&out));
    let kms = aws_sdk_kms::Client::new(&sdk().await);
    let meta = kms.describe_key().key_id(&key).send().await.unwrap();
    assert_eq!(meta.key_metadata().and_then(|m| m.key_state()).map(|s| s.as_str()), Some("Enabled"));
    let installs = status_json(org);
    assert_eq!(installs[0]["health"]["state"], "complete", "{installs}");

    let out = cloudgrant(&["revoke", "--org", org, "--yes"]);
    assert!(out.status.success(), "the restored install revokes: {}", both(&out));
}

#[tokio::test]
async fn case3_a_key_pending_deletion_inside_standing_stacks_is_named_and_restorable() {
    let org = &unique("doom");
    init(org);
    let key = data_key(org);
    // What an earlier version's revoke left when DeleteStack failed after ScheduleKeyDeletion.
    let kms = aws_sdk_kms::Client::new(&sdk().await);
    kms.schedule_key_deletion().key_id(&key).pending_window_in_days(30).send().await.unwrap();

    let installs = status_json(org);
    assert_eq!(installs[0]["health"]["state"], "revoke_incomplete", "{installs}");
    let plain = text(&cloudgrant(&["status", "--org", org]).stdout);
    assert!(
        plain.contains("revoke incomplete") && plain.contains(&format!("data key {key} (pending deletion on")),
        "{plain}"
    );
    let out = cloudgrant(&["init", "--org", org, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(text(&out.stderr).contains("--restore"), "{}", both(&out));

    let out = cloudgrant(&["init", "--org", org, "--yes", "--restore"]);
    assert!(out.status.success(), "{}", both(&out));
    assert!(text(&out.stdout).contains("Nothing to change"), "the stacks are whole again: {}", both(&out));
    let meta = kms.describe_key().key_id(&key).send().await.unwrap();
    assert_eq!(meta.key_metadata().and_then(|m| m.key_state()).map(|s| s.as_str()), Some("Enabled"));
    assert!(cloudgrant(&["revoke", "--org", org, "--yes"]).status.success());
}

#[tokio::test]
async fn case4_keys_left_by_earlier_attempts_are_in_status_and_in_the_revoke_review() {
    let org = &unique("left");
    let conf = sdk().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let kms = aws_sdk_kms::Client::new(&conf);
    // Two earlier attempts at the auth stack that rolled back and were deleted before the stack
    // was made again (moto does not roll back, so the sequence is built: the stack with its
    // retained key, then its deletion). One key was scheduled for deletion after the rollback,
    // the other could not be.
    let auth = format!("acmeml-{org}-auth");
    let marks = [("managed-by", "cloudgrant"), ("cloudgrant-org", org.as_str()), ("cloudgrant-vendor", "acmeml")];
    let template = "Resources:\n  DataKey:\n    Type: AWS::KMS::Key\n    DeletionPolicy: Retain\n    Properties:\n      KeyPolicy: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {AWS: '*'}, Action: 'kms:*', Resource: '*'}]}\n";
    let mut keys = Vec::new();
    for _ in 0..2 {
        cfn.create_stack()
            .stack_name(&auth)
            .template_body(template)
            .set_tags(Some(marks.iter().map(|(k, v)| tag(k, v)).collect()))
            .send()
            .await
            .unwrap();
        let r = cfn.describe_stack_resources().stack_name(&auth).send().await.unwrap();
        keys.push(r.stack_resources()[0].physical_resource_id().unwrap().to_string());
        cfn.delete_stack().stack_name(&auth).send().await.unwrap();
    }
    kms.schedule_key_deletion().key_id(&keys[0]).pending_window_in_days(7).send().await.unwrap();
    init(org);

    let installs = status_json(org);
    assert_eq!(installs[0]["health"]["state"], "complete", "{installs}");
    let left = installs[0]["leftovers"].as_array().unwrap();
    let state_of =
        |k: &str| left.iter().find(|l| l["physical_id"] == k).map(|l| l["state"].as_str().unwrap().to_string());
    assert_eq!(state_of(&keys[0]).as_deref(), Some("pending_deletion"), "{installs}");
    assert_eq!(state_of(&keys[1]).as_deref(), Some("enabled"), "{installs}");
    let plain = text(&cloudgrant(&["status", "--org", org]).stdout);
    assert!(
        plain.contains(&keys[0]) && plain.contains(&keys[1]) && plain.contains(&format!("retained by {auth}")),
        "{plain}"
    );

    let out = cloudgrant(&["revoke", "--org", org, "--yes", "--output", "json"]);
    assert!(out.status.success(), "{}", both(&out));
    let review = text(&out.stderr);
    assert!(review.contains("left by earlier attempts"), "{review}");
    for k in &keys {
        assert!(review.contains(k.as_str()), "the review lists {k}: {review}");
    }
    let residue: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pending: Vec<&str> = residue["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["state"] == "pending_deletion")
        .map(|i| i["physical_id"].as_str().unwrap())
        .collect();
    for k in &keys {
        assert!(pending.contains(&k.as_str()), "{k} is pending deletion after revoke: {residue}");
    }
    for k in &keys {
        let state = kms.describe_key().key_id(k).send().await.unwrap();
        assert_eq!(state.key_metadata().and_then(|m| m.key_state()).map(|s| s.as_str()), Some("PendingDeletion"));
    }
}

#[tokio::test]
async fn case5_reinstall_after_revoke_refuses_up_front_naming_the_kept_bucket() {
    let org = &unique("again");
    init(org);
    assert!(cloudgrant(&["revoke", "--org", org, "--yes"]).status.success());
    let bucket = format!("acmeml-{org}-data-123456789012");

    // The preview says it before anything is asked or created.
    let out = cloudgrant(&["init", "--org", org]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("the data bucket {bucket} is still in the account")), "{err}");
    assert!(
        err.contains("nothing was created")
            && err.contains("--org NEW_ORG")
            && err.contains(&format!("aws s3 rb s3://{bucket}")),
        "{err}"
    );

    let out = cloudgrant(&["init", "--org", org, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let cfn = aws_sdk_cloudformation::Client::new(&sdk().await);
    for key in ["vpc", "s3", "auth"] {
        assert_eq!(
            stack_status(&cfn, &format!("acmeml-{org}-{key}")).await,
            None,
            "no stack was created: {}",
            both(&out)
        );
    }
}

#[tokio::test]
async fn case8_a_lost_create_stack_reply_does_not_fail_init_on_its_own_stack() {
    let org = &unique("lost");
    // The first CreateStack reaches AWS, but its reply never comes back; the SDK sends it again.
    let proxy = FaultProxy::start(&endpoint(), vec![Rule::nth("CreateStack", 1, Fault::DropReply)]);
    let out = cloudgrant_at(&proxy.url(), &["init", "--org", org, "--yes"]);
    assert!(out.status.success(), "{}\n{}", both(&out), proxy.report());
    assert_eq!(proxy.fired(0), 1, "{}", proxy.report());
    assert_eq!(proxy.forwarded("CreateStack"), 4, "three stacks, one sent twice: {}", proxy.report());
    let installs = status_json(org);
    assert_eq!(installs[0]["health"]["state"], "complete", "{installs}");
    // Every mutation carried an idempotency token, so AWS itself answers the retry with the
    // first request's result.
    let creates = proxy.bodies("CreateStack");
    assert!(creates.iter().all(|b| b.contains("ClientRequestToken=cloudgrant-")), "{creates:?}");
    // The SDK's retry resent the very same request, token included.
    let tokens: std::collections::BTreeSet<&str> =
        creates.iter().filter_map(|b| b.split('&').find(|p| p.starts_with("ClientRequestToken="))).collect();
    assert_eq!(tokens.len(), 3, "one token per stack, the retry reusing its own: {creates:?}");
    let out = cloudgrant_at(&proxy.url(), &["revoke", "--org", org, "--yes"]);
    assert!(out.status.success(), "{}", both(&out));
    let deletes = proxy.bodies("DeleteStack");
    assert!(deletes.len() >= 3 && deletes.iter().all(|b| b.contains("ClientRequestToken=cloudgrant-")), "{deletes:?}");
}
