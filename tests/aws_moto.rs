//! The real binary and the real AWS SDK against moto_server on loopback (started by
//! tests/run.sh, which exports CLOUDGRANT_TEST_MOTO). What moto cannot show (per-resource events,
//! asynchronous creation, DELETE_FAILED as events) is tested with the sandbox and with the
//! poller's recorded pages; docs/aws.md lists which peer checks what.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

#[path = "support/moto.rs"]
mod moto;

use cloudgrant::model::Plan;
use cloudgrant::plan::{aws, Choices};
use cloudgrant::vendor::VendorProfile;
use moto::{cloudgrant, sdk, text, unique, REGION};

fn outputs(org: &str) -> serde_json::Value {
    let out = cloudgrant(&["status", "--org", org, "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let installs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    installs[0]["outputs"].clone()
}

/// The plan as the preview shows it for this install, with the values only known after creation
/// (the VPC id, the key ARN) filled in from the stack outputs.
fn previewed(org: &str, external_id: &str, vpc_id: &str, key_arn: &str) -> Plan {
    let vendor = VendorProfile::bundled().unwrap();
    let choices = Choices {
        org: org.into(),
        region: REGION.into(),
        account: Some("123456789012".into()),
        external_id: Some(external_id.into()),
    };
    let plan = aws::build(&vendor, &choices).unwrap();
    let text = serde_json::to_string(&plan)
        .unwrap()
        .replace(&format!("<acmeml-{org}-vpc output VpcId>"), vpc_id)
        .replace("<DataKey.Arn>", key_arn);
    serde_json::from_str(&text).unwrap()
}

/// A policy document as IAM returns it (URL-encoded JSON), with single values as lists so the
/// comparison does not depend on how either side wrote them.
fn statements(doc: &str) -> Vec<serde_json::Value> {
    let mut decoded = urlencoding_decode(doc);
    if decoded.starts_with("{'") {
        // moto returns an inline policy made by AWS::IAM::Role `Policies` as a Python dict repr;
        // AWS returns URL-encoded JSON. Our statements hold no quotes, so the repr maps 1:1.
        decoded = decoded.replace('\'', "\"").replace("True", "true").replace("False", "false");
    }
    let v: serde_json::Value = serde_json::from_str(&decoded).unwrap_or_else(|e| panic!("policy json {e}: {decoded}"));
    let list = match &v["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    list.into_iter().map(normalise).collect()
}

fn normalise(st: serde_json::Value) -> serde_json::Value {
    let as_list = |v: &serde_json::Value| match v {
        serde_json::Value::Array(a) => serde_json::Value::Array(a.clone()),
        serde_json::Value::Null => serde_json::Value::Array(vec![]),
        other => serde_json::Value::Array(vec![other.clone()]),
    };
    serde_json::json!({
        "Sid": st["Sid"],
        "Effect": st["Effect"],
        "Action": as_list(&st["Action"]),
        "Resource": as_list(&st["Resource"]),
        "Condition": st.get("Condition").cloned().unwrap_or(serde_json::json!({})),
    })
}

fn urlencoding_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn init_grants_exactly_the_plan_rerun_is_a_no_op_and_revoke_leaves_bucket_and_pending_key() {
    let org = &unique("full");
    let out = cloudgrant(&["init", "--cloud", "aws", "--org", org, "--yes"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for suffix in ["vpc", "s3", "auth"] {
        assert!(
            stdout.contains(&format!("acmeml-{org}-{suffix} AWS::CloudFormation::Stack CREATE_COMPLETE")),
            "{stdout}"
        );
    }
    let o = outputs(org);
    let external_id = o["ExternalId"].as_str().expect("external id").to_string();
    assert!(external_id.len() >= 32);
    assert_eq!(o["VendorRoleArn"], format!("arn:aws:iam::123456789012:role/acmeml-{org}-vendor"));

    let conf = sdk().await;
    // The S3 gateway endpoint the machine role's network condition relies on is in the VPC, on
    // its route table. (moto keeps it after the stack is deleted: it has no delete for this type.)
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let endpoints = ec2.describe_vpc_endpoints().send().await.expect("endpoints");
    let ours: Vec<_> = endpoints.vpc_endpoints().iter().filter(|e| e.vpc_id() == o["VpcId"].as_str()).collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(ours[0].service_name(), Some("com.amazonaws.eu-west-1.s3"));
    assert_eq!(ours[0].vpc_endpoint_type().map(|t| t.as_str()), Some("Gateway"));
    assert_eq!(ours[0].route_table_ids().len(), 1, "{ours:?}");
    let iam = aws_sdk_iam::Client::new(&conf);
    let plan = previewed(org, &external_id, o["VpcId"].as_str().expect("vpc"), o["DataKeyArn"].as_str().expect("key"));

    // Trust: the vendor account, and only with the ExternalId.
    let role = iam.get_role().role_name(format!("acmeml-{org}-vendor")).send().await.expect("vendor role");
    let trust = statements(role.role().and_then(|r| r.assume_role_policy_document()).expect("trust"));
    assert_eq!(trust.len(), 1);
    let doc = urlencoding_decode(role.role().and_then(|r| r.assume_role_policy_document()).unwrap());
    assert!(doc.contains("arn:aws:iam::111122223333:root"), "{doc}");
    assert_eq!(trust[0]["Condition"]["StringEquals"]["sts:ExternalId"], external_id);

    // Every identity policy in the account equals the plan's statements for that role.
    for (role_name, policy) in [
        (format!("acmeml-{org}-vendor"), "VendorMachineManagement"),
        (format!("acmeml-{org}-instance"), "DataBucketAndKey"),
    ] {
        let got = iam.get_role_policy().role_name(&role_name).policy_name(policy).send().await.expect(policy);
        let granted = statements(got.policy_document());
        let want: Vec<serde_json::Value> = plan
            .permissions()
            .filter(|(_, p)| p.principal == role_name && p.policy == policy)
            .map(|(_, p)| {
                normalise(serde_json::json!({
                    "Sid": p.sid, "Effect": format!("{:?}", p.effect), "Action": p.actions,
                    "Resource": p.resources, "Condition": p.conditions,
                }))
            })
            .collect();
        assert_eq!(granted.len(), want.len(), "{policy}");
        for (g, w) in granted.iter().zip(&want) {
            if w["Sid"] == "LaunchTaggedInstances" {
                // moto renders a CommaDelimitedList parameter inside a policy as a Python list
                // string; AWS substitutes the list. Compare everything else exactly.
                let mut g = g.clone();
                let mut w = w.clone();
                g["Condition"]["StringEquals"].as_object_mut().unwrap().remove("ec2:InstanceType");
                w["Condition"]["StringEquals"].as_object_mut().unwrap().remove("ec2:InstanceType");
                assert_eq!(g, w);
            } else {
                assert_eq!(g, w, "{policy}");
            }
        }
    }

    // The bucket and the key exist.
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build());
    let bucket = o["BucketName"].as_str().expect("bucket").to_string();
    s3.head_bucket().bucket(&bucket).send().await.expect("bucket exists");
    let kms = aws_sdk_kms::Client::new(&conf);
    let key_arn = o["DataKeyArn"].as_str().expect("key").to_string();
    let keys = kms.list_keys().send().await.expect("keys");
    assert!(keys.keys().iter().any(|k| k.key_arn() == Some(key_arn.as_str())));

    // A second init changes nothing.
    let out = cloudgrant(&["init", "--org", org, "--yes"]);
    let again = text(&out.stdout);
    assert!(out.status.success(), "{again}");
    assert!(again.contains("Nothing to change"), "{again}");
    assert!(!again.contains("_IN_PROGRESS"), "{again}");
    assert_eq!(outputs(org)["ExternalId"], external_id.as_str());

    // Revoke: stacks and roles gone, bucket kept, key pending deletion with its date.
    let out = cloudgrant(&["revoke", "--org", org, "--yes", "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let residue: serde_json::Value = serde_json::from_slice(&out.stdout).expect("residue");
    let state_of = |kind: &str| {
        residue["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["type"] == kind)
            .map(|i| i["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state_of("AWS::S3::Bucket").as_deref(), Some("kept"));
    assert_eq!(state_of("AWS::KMS::Key").as_deref(), Some("pending_deletion"));
    assert!(residue["checks"].as_array().unwrap().iter().all(|c| c["ok"] == true), "{residue}");
    let gone = iam.get_role().role_name(format!("acmeml-{org}-vendor")).send().await;
    assert!(gone.err().and_then(|e| e.into_service_error().is_no_such_entity_exception().then_some(())).is_some());
    s3.head_bucket().bucket(&bucket).send().await.expect("bucket kept");
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let stacks = cfn.describe_stacks().send().await.expect("stacks");
    assert!(!stacks.stacks().iter().any(|s| s.stack_name().is_some_and(|n| n.starts_with(&format!("acmeml-{org}-")))));
    let after = cloudgrant(&["status", "--org", org]);
    assert!(text(&after.stdout).contains("No cloudgrant install"));
}

#[tokio::test]
async fn a_stack_not_made_by_cloudgrant_is_never_touched() {
    let org = &unique("foreign");
    let conf = sdk().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let body = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n";
    cfn.create_stack().stack_name(format!("acmeml-{org}-vpc")).template_body(body).send().await.expect("foreign stack");
    let out = cloudgrant(&["init", "--org", org, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("was not made by cloudgrant") && err.contains("never touches"), "{err}");
    let still = cfn.describe_stacks().stack_name(format!("acmeml-{org}-vpc")).send().await.expect("still there");
    assert_eq!(still.stacks()[0].stack_status().map(|s| s.as_str()), Some("CREATE_COMPLETE"));
    for suffix in ["s3", "auth"] {
        let other = cfn.describe_stacks().stack_name(format!("acmeml-{org}-{suffix}")).send().await;
        assert!(other.is_err(), "nothing else was created");
    }
}

#[tokio::test]
async fn status_shows_the_account_and_plan_names_it() {
    let out = cloudgrant(&["status"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cloudgrant(&["init", "--org", &unique("ask")]);
    assert_eq!(out.status.code(), Some(2), "no --yes and no terminal");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("account 123456789012"), "{stdout}");
    assert!(stdout.contains("new stack, 12 resources to add"), "{stdout}");
}
