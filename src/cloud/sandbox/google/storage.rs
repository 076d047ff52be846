//! Cloud Storage JSON API v1: buckets (one global namespace), their labels and IAM policy, object
//! listings, and object and bucket deletes (409 while a bucket holds objects). A new bucket
//! receives the vendor's data a few seconds later, so the revoke preview has objects to count.

use std::collections::BTreeMap;

use chrono::Duration;
use serde_json::{json, Map, Value};

use super::faults::Target;
use super::policy::{self, Flavor};
use super::reply::{self, injected, Answer, ApiResponse};
use super::state::{base64, Binding, Bucket, Policy, StoredObject, CALLER};
use super::Ctx;
use crate::cloud::gcp::transport::{ApiRequest, Method};

const STORAGE: &str = "storage.googleapis.com";
const NOT_AVAILABLE: &str = "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.";
const YOURS: &str = "You already own this bucket. Please select another name.";
const SOFT_DELETE_SECONDS: &str = "604800";
const NOT_EMPTY: &str = "The bucket you tried to delete is not empty.";

/// What the vendor's machines write after the bucket is made: (name, bytes, seconds after
/// creation at speed 1). About 1.2 GB in all.
const VENDOR_OBJECTS: [(&str, u64, f64); 3] = [
    ("exports/2025-06-01/part-00000.parquet", 536_870_912, 4.0),
    ("exports/2025-06-01/part-00001.parquet", 429_916_160, 6.0),
    ("models/forecast-v3.bin", 233_016_852, 8.0),
];

pub fn route(ctx: &mut Ctx, req: &ApiRequest, s: &[&str], verb: Option<&str>) -> Option<Answer> {
    let ["storage", "v1", "b", rest @ ..] = s else { return None };
    if verb.is_some() {
        return None;
    }
    Some(match (req.method, rest) {
        (Method::Post, []) => insert(ctx, req),
        (Method::Get, []) => list(ctx, req),
        (Method::Get, [b]) => bucket(ctx, b).map(|(name, bucket, number)| bucket_json(&name, &bucket, &number)),
        (Method::Patch, [b]) => patch(ctx, req, b),
        (Method::Get, [b, "iam"]) => {
            bucket(ctx, b).map(|(name, bucket, _)| policy::storage_json(&bucket.policy, &name))
        }
        (Method::Put, [b, "iam"]) => set_policy(ctx, req, b),
        (Method::Delete, [b]) => delete_bucket(ctx, b),
        (Method::Get, [b, "o"]) => objects(ctx, req, b),
        (Method::Delete, [b, "o", object]) => delete_object(ctx, b, object),
        _ => return None,
    })
}

fn forbidden(permission: &str, what: &str, suffix: &str) -> ApiResponse {
    reply::storage(
        403,
        "forbidden",
        format!("{CALLER} does not have {permission} access to the Google Cloud {what}. Permission '{permission}' denied on resource (or it may not exist).{suffix}"),
    )
}

/// The `project` parameter's project id, with the Storage API enabled.
fn project_param(ctx: &Ctx, req: &ApiRequest, permission: &str) -> Result<String, ApiResponse> {
    let p =
        reply::query(req, "project").ok_or_else(|| reply::storage(400, "required", "Required parameter: project"))?;
    let id = ctx.world.project_key(p).ok_or_else(|| forbidden(permission, "project", ""))?;
    ctx.require_api(&id, STORAGE)?;
    Ok(id)
}

/// The bucket (a copy), with its project's number; 404 as Storage gives it.
fn bucket(ctx: &Ctx, name: &str) -> Result<(String, Bucket, String), ApiResponse> {
    let not_found = || reply::storage(404, "notFound", "The specified bucket does not exist.");
    let b = ctx.world.buckets.get(name).ok_or_else(not_found)?;
    ctx.require_api(&b.project, STORAGE)?;
    let number = ctx.project(&b.project)?.number.clone();
    Ok((name.to_string(), b.clone(), number))
}

fn valid_name(n: &str) -> bool {
    (3..=63).contains(&n.len())
        && n.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && n.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        && !n.starts_with("goog")
        && !n.contains("google")
}

fn bucket_json(name: &str, b: &Bucket, number: &str) -> Value {
    let created = reply::time(b.time_created);
    let multi = ["US", "EU", "ASIA"].contains(&b.location.as_str()) || !b.location.contains('-');
    let mut uniform = json!({"enabled": b.uniform_access});
    if b.uniform_access {
        uniform["lockedTime"] = json!(reply::time(b.time_created + Duration::days(90)));
    }
    let mut v = json!({
        "kind": "storage#bucket",
        "selfLink": format!("https://www.googleapis.com/storage/v1/b/{name}"),
        "id": name,
        "name": name,
        "projectNumber": number,
        "metageneration": b.metageneration.to_string(),
        "location": b.location,
        "storageClass": "STANDARD",
        "etag": base64(&[0x08, (b.metageneration & 0x7f) as u8]),
        "timeCreated": created,
        "updated": reply::time(b.updated),
        "softDeletePolicy": {"retentionDurationSeconds": SOFT_DELETE_SECONDS, "effectiveTime": created},
        "iamConfiguration": {
            "bucketPolicyOnly": uniform.clone(),
            "uniformBucketLevelAccess": uniform,
            "publicAccessPrevention": "inherited",
        },
        "locationType": if multi { "multi-region" } else { "region" },
        "rpo": "DEFAULT",
    });
    if !b.labels.is_empty() {
        v["labels"] = json!(b.labels);
    }
    v
}

/// The policy a new bucket has: the project's owners, editors and viewers, by legacy role.
fn default_policy(project: &str, etag: String) -> Policy {
    let binding = |role: &str, members: &[&str]| Binding {
        role: role.into(),
        members: members.iter().map(|m| format!("{m}:{project}")).collect(),
        condition: None,
    };
    Policy {
        etag,
        bindings: vec![
            binding("roles/storage.legacyBucketOwner", &["projectEditor", "projectOwner"]),
            binding("roles/storage.legacyBucketReader", &["projectViewer"]),
            binding("roles/storage.legacyObjectOwner", &["projectEditor", "projectOwner"]),
            binding("roles/storage.legacyObjectReader", &["projectViewer"]),
        ],
    }
}

fn insert(ctx: &mut Ctx, req: &ApiRequest) -> Answer {
    let project = project_param(ctx, req, "storage.buckets.create")?;
    let body = reply::body(req);
    let name = reply::str_field(&body, "name").unwrap_or_default().to_string();
    if !valid_name(&name) {
        return Err(reply::storage(400, "invalid", format!("Invalid bucket name: '{name}'")));
    }
    if let Some(fault) = ctx.faults.bucket(&name, &project) {
        return Err(reply::storage(409, "conflict", format!("{NOT_AVAILABLE}{}", injected(fault))));
    }
    if let Some(existing) = ctx.world.buckets.get(&name) {
        let message = if existing.project == project { YOURS } else { NOT_AVAILABLE };
        return Err(reply::storage(409, "conflict", message));
    }
    let labels = reply::labels(body.get("labels")).map_err(|m| reply::storage(400, "invalid", m))?;
    let location = reply::str_field(&body, "location").unwrap_or("US").to_ascii_uppercase();
    let uniform =
        body.pointer("/iamConfiguration/uniformBucketLevelAccess/enabled").and_then(Value::as_bool).unwrap_or(false);
    let objects = VENDOR_OBJECTS
        .iter()
        .map(|(n, size, after)| StoredObject { name: (*n).into(), size: *size, appears_at: ctx.later(*after) })
        .collect();
    let etag = ctx.world.next_etag();
    let b = Bucket {
        project: project.clone(),
        location,
        labels,
        uniform_access: uniform,
        time_created: ctx.now,
        updated: ctx.now,
        metageneration: 1,
        policy: default_policy(&project, etag),
        objects,
    };
    let out = bucket_json(&name, &b, &ctx.project(&project)?.number);
    ctx.world.buckets.insert(name, b);
    ctx.dirty = true;
    Ok(out)
}

fn list(ctx: &Ctx, req: &ApiRequest) -> Answer {
    let project = project_param(ctx, req, "storage.buckets.list")?;
    let number = ctx.project(&project)?.number.clone();
    let items: Vec<Value> = ctx
        .world
        .buckets
        .iter()
        .filter(|(_, b)| b.project == project)
        .map(|(n, b)| bucket_json(n, b, &number))
        .collect();
    let (items, next) =
        reply::page(items, reply::query(req, "maxResults"), 1000, 1000, reply::query(req, "pageToken"), true)?;
    let mut out = reply::listing("items", items, next);
    out["kind"] = json!("storage#buckets");
    Ok(fields(out, reply::query(req, "fields")))
}

fn patch(ctx: &mut Ctx, req: &ApiRequest, name: &str) -> Answer {
    let (_, mut b, number) = bucket(ctx, name)?;
    // A write made on what an earlier read showed: refused when the bucket changed since.
    if reply::query(req, "ifMetagenerationMatch").is_some_and(|m| m != b.metageneration.to_string()) {
        return Err(reply::storage(
            412,
            "conditionNotMet",
            "At least one of the pre-conditions you specified did not hold.",
        ));
    }
    let body = reply::body(req);
    if let Some(changes) = body.get("labels").and_then(Value::as_object) {
        // Patch semantics: a label set to null is removed, the others are set.
        let mut labels: BTreeMap<String, String> = b.labels.clone();
        let mut set = Map::new();
        for (k, v) in changes {
            if v.is_null() {
                labels.remove(k);
            } else {
                set.insert(k.clone(), v.clone());
            }
        }
        let set = reply::labels(Some(&Value::Object(set))).map_err(|m| reply::storage(400, "invalid", m))?;
        labels.extend(set);
        b.labels = labels;
    }
    b.metageneration += 1;
    b.updated = ctx.now;
    let out = bucket_json(name, &b, &number);
    ctx.world.buckets.insert(name.to_string(), b);
    ctx.dirty = true;
    Ok(out)
}

fn set_policy(ctx: &mut Ctx, req: &ApiRequest, name: &str) -> Answer {
    let (_, b, _) = bucket(ctx, name)?;
    let incoming = reply::body(req);
    let new = policy::set(ctx, &b.project, &b.policy, &incoming, Target::Bucket { name }, Flavor::Storage)?;
    let out = policy::storage_json(&new, name);
    if let Some(stored) = ctx.world.buckets.get_mut(name) {
        stored.policy = new;
    }
    ctx.dirty = true;
    Ok(out)
}

fn objects(ctx: &Ctx, req: &ApiRequest, name: &str) -> Answer {
    let (_, b, _) = bucket(ctx, name)?;
    let mut visible: Vec<&StoredObject> = b.objects.iter().filter(|o| o.appears_at <= ctx.now).collect();
    visible.sort_by(|a, b| a.name.cmp(&b.name));
    let items: Vec<Value> = visible
        .into_iter()
        .map(|o| {
            let generation = o.appears_at.timestamp_micros().to_string();
            json!({
                "kind": "storage#object",
                "id": format!("{name}/{}/{generation}", o.name),
                "name": o.name,
                "bucket": name,
                "generation": generation,
                "metageneration": "1",
                "contentType": "application/octet-stream",
                "storageClass": "STANDARD",
                "size": o.size.to_string(),
                "timeCreated": reply::time(o.appears_at),
                "updated": reply::time(o.appears_at),
            })
        })
        .collect();
    let (items, next) =
        reply::page(items, reply::query(req, "maxResults"), 1000, 1000, reply::query(req, "pageToken"), true)?;
    let mut out = reply::listing("items", items, next);
    out["kind"] = json!("storage#objects");
    Ok(fields(out, reply::query(req, "fields")))
}

/// Delete one object (its name arrives decoded: `a/b.parquet`); 404 when it is not there yet or
/// any more.
fn delete_object(ctx: &mut Ctx, name: &str, object: &str) -> Answer {
    bucket(ctx, name)?;
    let now = ctx.now;
    let Some(b) = ctx.world.buckets.get_mut(name) else {
        return Err(reply::storage(404, "notFound", "The specified bucket does not exist."));
    };
    let Some(at) = b.objects.iter().position(|o| o.name == object && o.appears_at <= now) else {
        return Err(reply::storage(404, "notFound", format!("No such object: {name}/{object}")));
    };
    b.objects.remove(at);
    ctx.dirty = true;
    Err(reply::no_content())
}

/// Delete a bucket: 409 while it holds objects, as Google answers. What the vendor's machines
/// had not written yet is dropped with it (their writes would fail).
fn delete_bucket(ctx: &mut Ctx, name: &str) -> Answer {
    let (_, b, _) = bucket(ctx, name)?;
    if b.objects.iter().any(|o| o.appears_at <= ctx.now) {
        return Err(reply::storage(409, "conflict", NOT_EMPTY));
    }
    ctx.world.buckets.remove(name);
    ctx.dirty = true;
    Err(reply::no_content())
}

/// The `fields` partial response: `items(name,size),nextPageToken` keeps those keys only.
fn fields(v: Value, spec: Option<&str>) -> Value {
    match spec.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => select(v, &parse_fields(s)),
        None => v,
    }
}

/// Top-level keys, each with the keys kept in its items (none: all).
type FieldSpec = Vec<(String, Vec<String>)>;

/// `a(b,c),d` → [("a", ["b", "c"]), ("d", [])].
fn parse_fields(s: &str) -> FieldSpec {
    split_top(s)
        .into_iter()
        .map(|part| match part.find('(') {
            Some(at) => {
                let inner = part[at + 1..].trim_end_matches(')');
                let subs = split_top(inner).into_iter().map(|f| f.trim().to_string()).collect();
                (part[..at].trim().to_string(), subs)
            }
            None => (part.trim().to_string(), Vec::new()),
        })
        .collect()
}

fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

fn select(v: Value, spec: &FieldSpec) -> Value {
    let Value::Object(map) = v else { return v };
    let mut out = Map::new();
    for (key, subs) in spec {
        let Some(value) = map.get(key) else { continue };
        let value = if subs.is_empty() {
            value.clone()
        } else {
            let keep = |item: &Value| -> Value {
                let Value::Object(m) = item else { return item.clone() };
                Value::Object(m.iter().filter(|(k, _)| subs.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
            };
            match value {
                Value::Array(items) => Value::Array(items.iter().map(keep).collect()),
                other => keep(other),
            }
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}
