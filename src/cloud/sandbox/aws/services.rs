//! The services besides CloudFormation, as far as cloudgrant calls them: STS GetCallerIdentity;
//! IAM GetRole on the roles the stacks made; KMS DescribeKey, ScheduleKeyDeletion,
//! CancelKeyDeletion and EnableKey on the stacks' keys; S3 HeadBucket, ListObjectsV2 and
//! PutObject on the stacks' buckets; EC2 DescribeInstances. Each answers in its own protocol,
//! errors and throttling included.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::state::{Account, KeyChange, Object, Stack};
use super::wire::{self, el, esc, iso, Reply, Request};
use super::Ctx;

const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The principal the sandbox's credentials stand for.
pub fn caller_arn(account: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/SandboxAdmin/you")
}

/// The service's answer to a request signed with a key it does not know.
pub fn invalid_key(service: &str) -> Reply {
    let msg = "The security token included in the request is invalid.";
    match service {
        "kms" => wire::json_error(400, "UnrecognizedClientException", msg),
        "s3" => wire::s3_error(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            "/",
            false,
        ),
        "ec2" => wire::ec2_error(401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
        _ => wire::query_error(403, "InvalidClientTokenId", msg, ""),
    }
}

/// The service's throttling error (the codes the SDK's retry classifier knows).
pub fn throttled(service: &str) -> Reply {
    match service {
        "kms" => wire::json_error(400, "ThrottlingException", "Rate exceeded"),
        "s3" => wire::s3_error(503, "SlowDown", "Please reduce your request rate.", "/", false),
        "ec2" => wire::ec2_error(503, "RequestLimitExceeded", "Request limit exceeded."),
        "cloudformation" => wire::query_error(400, "Throttling", "Rate exceeded", super::cfn_xml::XMLNS),
        "iam" => wire::query_error(400, "Throttling", "Rate exceeded", IAM_XMLNS),
        _ => wire::query_error(400, "Throttling", "Rate exceeded", STS_XMLNS),
    }
}

pub fn sts(ctx: &mut Ctx, req: &Request) -> Reply {
    match req.param("Action") {
        Some("GetCallerIdentity") => {
            let a = &ctx.account;
            let body = format!(
                "{}{}{}",
                el("Arn", &caller_arn(a)),
                el("UserId", "AROASANDBOXADMIN0001:you"),
                el("Account", a)
            );
            wire::query_ok("GetCallerIdentity", STS_XMLNS, Some(body))
        }
        other => unknown_query("STS", other, STS_XMLNS),
    }
}

fn unknown_query(service: &str, action: Option<&str>, xmlns: &str) -> Reply {
    let action = action.unwrap_or("(no Action)");
    wire::query_error(
        400,
        "InvalidAction",
        &format!("sandbox: the simulated {service} does not answer {action}"),
        xmlns,
    )
}

pub fn iam(ctx: &mut Ctx, req: &Request) -> Reply {
    match req.param("Action") {
        Some("GetRole") => {
            let name = req.param("RoleName").unwrap_or_default();
            let now = ctx.now;
            let found = ctx.acct_ref().and_then(|a| {
                a.alive("AWS::IAM::Role", now).find(|(_, r)| r.physical_id == name).map(|(s, r)| (s.clone(), r.clone()))
            });
            let Some((stack, r)) = found else {
                return wire::query_error(
                    404,
                    "NoSuchEntity",
                    &format!("The role with name {name} cannot be found."),
                    IAM_XMLNS,
                );
            };
            let created = stack.resource_created(&r.id, now).unwrap_or(stack.created);
            let trust = r.properties.get("AssumeRolePolicyDocument").map(Value::to_string).unwrap_or_default();
            let path = r.properties.get("Path").and_then(Value::as_str).unwrap_or("/");
            let tags: String = stack
                .tags
                .iter()
                .map(|(k, v)| format!("<member>{}{}</member>", el("Key", k), el("Value", v)))
                .collect();
            let body = format!(
                "<Role>{}{}{}{}{}{}<MaxSessionDuration>3600</MaxSessionDuration><Tags>{tags}</Tags></Role>",
                el("Path", path),
                el("RoleName", name),
                el("RoleId", &format!("AROA{}", role_id(name))),
                el("Arn", &format!("arn:aws:iam::{}:role{path}{name}", ctx.account)),
                el("CreateDate", &iso(created)),
                el("AssumeRolePolicyDocument", &wire::percent_encode(&trust)),
            );
            wire::query_ok("GetRole", IAM_XMLNS, Some(body))
        }
        other => unknown_query("IAM", other, IAM_XMLNS),
    }
}

/// A stable 17-character id for a role name.
fn role_id(name: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    digest.iter().take(9).map(|b| format!("{b:02X}")).collect::<String>()[..17].to_string()
}

/// A key as KMS sees it at `now`: its stack, when it was made, its state and deletion date.
struct KeyView {
    id: String,
    arn: String,
    created: DateTime<Utc>,
    description: String,
    state: String,
    deletion: Option<DateTime<Utc>>,
    window: Option<u32>,
}

fn key_view(acct: &Account, wanted: &str, now: DateTime<Utc>) -> Option<KeyView> {
    let id = wanted.rsplit('/').next().unwrap_or(wanted);
    let (stack, r): (&Stack, _) = acct
        .stacks
        .iter()
        .find_map(|s| s.resources.iter().find(|r| r.type_ == "AWS::KMS::Key" && r.physical_id == id).map(|r| (s, r)))?;
    let created = stack.resource_created(&r.id, now)?;
    let window = r.properties.get("PendingWindowInDays").and_then(Value::as_u64).map(|d| d as u32);
    let (state, deletion) = match acct.keys.get(id) {
        Some(c) => (c.state.clone(), c.deletion_date),
        // CloudFormation schedules the deletion of a key it deletes.
        None if !stack.resource_alive(&r.id, now) => {
            let at = stack.resource_event(&r.id, now).map_or(now, |e| e.time);
            ("PendingDeletion".to_string(), Some(at + Duration::days(i64::from(window.unwrap_or(30)))))
        }
        None => ("Enabled".to_string(), None),
    };
    if state == "PendingDeletion" && deletion.is_some_and(|d| d <= now) {
        return None; // deleted by AWS
    }
    let region = stack.region.clone();
    Some(KeyView {
        id: id.to_string(),
        arn: format!("arn:aws:kms:{region}:{}:key/{id}", arn_account(&stack.id)),
        created,
        description: r.properties.get("Description").and_then(Value::as_str).unwrap_or_default().to_string(),
        state,
        deletion,
        window,
    })
}

fn arn_account(stack_id: &str) -> &str {
    stack_id.split(':').nth(4).unwrap_or_default()
}

fn key_metadata(k: &KeyView, account: &str) -> Value {
    let mut m = json!({
        "AWSAccountId": account,
        "KeyId": k.id,
        "Arn": k.arn,
        "CreationDate": wire::epoch(k.created),
        "Enabled": k.state == "Enabled",
        "Description": k.description,
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": k.state,
        "Origin": "AWS_KMS",
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
        "MultiRegion": false,
    });
    if let Some(d) = k.deletion {
        m["DeletionDate"] = json!(wire::epoch(d));
    }
    if let (Some(w), "PendingDeletion") = (k.window, k.state.as_str()) {
        m["PendingDeletionWindowInDays"] = json!(w);
    }
    m
}

pub fn kms(ctx: &mut Ctx, req: &Request, _region: &str) -> Reply {
    let target = req.headers.get("x-amz-target").cloned().unwrap_or_default();
    let action = target.strip_prefix("TrentService.").unwrap_or(&target).to_string();
    let body = req.json();
    let wanted = body.get("KeyId").and_then(Value::as_str).unwrap_or_default().to_string();
    let now = ctx.now;
    let account = ctx.account.clone();
    let Some(key) = ctx.acct_ref().and_then(|a| key_view(a, &wanted, now)) else {
        if !matches!(action.as_str(), "DescribeKey" | "ScheduleKeyDeletion" | "CancelKeyDeletion" | "EnableKey") {
            return wire::json_error(
                400,
                "UnknownOperationException",
                &format!("sandbox: the simulated KMS does not answer {action}"),
            );
        }
        let arn = if wanted.starts_with("arn:") {
            wanted.clone()
        } else {
            format!("arn:aws:kms:{_region}:{account}:key/{wanted}")
        };
        return wire::json_error(400, "NotFoundException", &format!("Key '{arn}' does not exist"));
    };
    let pending = key.state == "PendingDeletion";
    let invalid_state =
        |what: &str| wire::json_error(400, "KMSInvalidStateException", &format!("{} is {what}.", key.arn));
    match action.as_str() {
        "DescribeKey" => wire::json_ok(json!({ "KeyMetadata": key_metadata(&key, &account) })),
        "ScheduleKeyDeletion" => {
            if pending {
                return invalid_state("pending deletion");
            }
            let days = body.get("PendingWindowInDays").and_then(Value::as_u64).unwrap_or(30);
            if !(7..=30).contains(&days) {
                return wire::json_error(400, "ValidationException", "1 validation error detected: Value at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 30 and greater than or equal to 7");
            }
            let date = now + Duration::days(days as i64);
            ctx.acct().keys.insert(
                key.id.clone(),
                KeyChange {
                    state: "PendingDeletion".into(),
                    deletion_date: Some(date),
                    window_days: Some(days as u32),
                },
            );
            wire::json_ok(json!({
                "KeyId": key.arn,
                "DeletionDate": wire::epoch(date),
                "KeyState": "PendingDeletion",
                "PendingWindowInDays": days,
            }))
        }
        "CancelKeyDeletion" => {
            if !pending {
                return invalid_state(&format!("{} (not pending deletion)", key.state.to_lowercase()));
            }
            ctx.acct()
                .keys
                .insert(key.id.clone(), KeyChange { state: "Disabled".into(), deletion_date: None, window_days: None });
            wire::json_ok(json!({ "KeyId": key.arn }))
        }
        "EnableKey" => {
            if pending {
                return invalid_state("pending deletion");
            }
            ctx.acct()
                .keys
                .insert(key.id.clone(), KeyChange { state: "Enabled".into(), deletion_date: None, window_days: None });
            wire::json_ok(json!({}))
        }
        other => wire::json_error(
            400,
            "UnknownOperationException",
            &format!("sandbox: the simulated KMS does not answer {other}"),
        ),
    }
}

pub fn ec2(_ctx: &mut Ctx, req: &Request) -> Reply {
    match req.param("Action") {
        // The sandbox runs no instances: the vendor's machines are not simulated.
        Some("DescribeInstances") => {
            let _filters = req.ec2_filters();
            wire::ec2_ok("DescribeInstances", "<reservationSet/>")
        }
        other => wire::ec2_error(
            400,
            "InvalidAction",
            &format!("sandbox: the simulated EC2 does not answer {}", other.unwrap_or("(no Action)")),
        ),
    }
}

/// The bucket and key of an S3 request: virtual-hosted (`bucket.s3.region.amazonaws.com/key`)
/// or path-style (`s3.region.amazonaws.com/bucket/key`).
pub(super) fn bucket_and_key(req: &Request) -> (String, String) {
    let path = req.path.trim_start_matches('/');
    match req.host.split_once(".s3.").or_else(|| req.host.split_once(".s3-")) {
        Some((bucket, _)) => (bucket.to_string(), path.to_string()),
        None => {
            let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
            (bucket.to_string(), key.to_string())
        }
    }
}

pub fn s3(ctx: &mut Ctx, req: &Request) -> Reply {
    let (bucket, key) = bucket_and_key(req);
    let now = ctx.now;
    let head = req.method == "HEAD";
    let mine = ctx.acct_ref().is_some_and(|a| a.alive("AWS::S3::Bucket", now).any(|(_, r)| r.physical_id == bucket));
    if !mine {
        if super::cloudformation::bucket_taken(ctx, &bucket) {
            return wire::s3_error(403, "AccessDenied", "Access Denied", &format!("/{bucket}"), head);
        }
        return wire::s3_error(404, "NoSuchBucket", "The specified bucket does not exist", &format!("/{bucket}"), head);
    }
    let region = ctx
        .acct_ref()
        .and_then(|a| {
            a.stacks.iter().find(|s| s.resources.iter().any(|r| r.physical_id == bucket)).map(|s| s.region.clone())
        })
        .unwrap_or_default();
    match (req.method.as_str(), key.as_str()) {
        ("HEAD", "") => {
            wire::Reply { status: 200, headers: vec![("x-amz-bucket-region".into(), region)], body: String::new() }
        }
        ("GET", "") if req.query_param("list-type") == Some("2") => list_objects(ctx, req, &bucket),
        ("PUT", k) if !k.is_empty() => {
            let size = req
                .headers
                .get("x-amz-decoded-content-length")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(req.body.len() as u64);
            let objects = ctx.acct().objects.entry(bucket).or_default();
            objects.retain(|o| o.key != k);
            objects.push(Object { key: k.to_string(), size, modified: now });
            wire::Reply {
                status: 200,
                headers: vec![("etag".into(), format!("\"{}\"", super::timeline::uuid().replace('-', "")))],
                body: String::new(),
            }
        }
        (m, _) => wire::s3_error(
            405,
            "MethodNotAllowed",
            &format!("sandbox: the simulated S3 does not answer {m} {}", req.path),
            &req.path,
            head,
        ),
    }
}

fn list_objects(ctx: &mut Ctx, req: &Request, bucket: &str) -> Reply {
    let max = req.query_param("max-keys").and_then(|m| m.parse::<usize>().ok()).unwrap_or(1000).min(1000);
    let start = req.query_param("continuation-token").and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
    let mut objects = ctx.acct_ref().and_then(|a| a.objects.get(bucket)).cloned().unwrap_or_default();
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    let page: Vec<&Object> = objects.iter().skip(start).take(max).collect();
    let truncated = start + page.len() < objects.len();
    let mut x = format!("<ListBucketResult xmlns=\"{}\">{}<Prefix></Prefix>", wire::S3_XMLNS, el("Name", bucket));
    x.push_str(&el("KeyCount", &page.len().to_string()));
    x.push_str(&el("MaxKeys", &max.to_string()));
    x.push_str(&el("IsTruncated", if truncated { "true" } else { "false" }));
    if let Some(t) = req.query_param("continuation-token") {
        x.push_str(&el("ContinuationToken", t));
    }
    if truncated {
        x.push_str(&el("NextContinuationToken", &(start + page.len()).to_string()));
    }
    for o in page {
        x.push_str(&format!(
            "<Contents>{}{}<ETag>&quot;{}&quot;</ETag>{}<StorageClass>STANDARD</StorageClass></Contents>",
            el("Key", &o.key),
            el("LastModified", &iso(o.modified)),
            esc(&o.key.len().to_string()),
            el("Size", &o.size.to_string())
        ));
    }
    x.push_str("</ListBucketResult>");
    wire::s3_ok(x, Vec::new())
}
