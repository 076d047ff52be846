//! Cloud KMS v1: key rings (never deletable), symmetric keys with labels, a scheduled-destroy
//! window and version 1 as primary, their versions, `:destroy`, and the key's IAM policy.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::faults::Target;
use super::policy::{self, Flavor};
use super::reply::{self, injected, Answer, ApiResponse};
use super::state::{CryptoKey, KeyRing, KeyVersion, Policy};
use super::Ctx;
use crate::cloud::gcp::transport::{ApiRequest, Method};

const KMS: &str = "cloudkms.googleapis.com";
/// Google's default and bounds for `destroyScheduledDuration`.
const DEFAULT_DESTROY_SECONDS: u64 = 30 * 86_400;
const MIN_DESTROY_SECONDS: u64 = 86_400;
const MAX_DESTROY_SECONDS: u64 = 120 * 86_400;

pub fn route(ctx: &mut Ctx, req: &ApiRequest, s: &[&str], verb: Option<&str>) -> Option<Answer> {
    let ["v1", "projects", p, "locations", l, "keyRings", rest @ ..] = s else { return None };
    let call = match (req.method, rest, verb) {
        (Method::Post, [], None) => Call::CreateRing,
        (Method::Get, [r], None) => Call::GetRing(r),
        (Method::Get, [r], Some("getIamPolicy")) => Call::GetRingPolicy(r),
        (Method::Post, [r], Some("setIamPolicy")) => Call::SetRingPolicy(r),
        (Method::Get, [r, "cryptoKeys"], None) => Call::ListKeys(r),
        (Method::Post, [r, "cryptoKeys"], None) => Call::CreateKey(r),
        (Method::Get, [r, "cryptoKeys", k], None) => Call::GetKey(r, k),
        (Method::Patch, [r, "cryptoKeys", k], None) => Call::PatchKey(r, k),
        (Method::Get, [r, "cryptoKeys", k], Some("getIamPolicy")) => Call::GetPolicy(r, k),
        (Method::Post, [r, "cryptoKeys", k], Some("setIamPolicy")) => Call::SetPolicy(r, k),
        (Method::Get, [r, "cryptoKeys", k, "cryptoKeyVersions"], None) => Call::ListVersions(r, k),
        (Method::Post, [r, "cryptoKeys", k, "cryptoKeyVersions", v], Some("destroy")) => Call::Destroy(r, k, v),
        _ => return None,
    };
    Some(answer(ctx, req, p, l, call))
}

enum Call<'a> {
    CreateRing,
    GetRing(&'a str),
    GetRingPolicy(&'a str),
    SetRingPolicy(&'a str),
    ListKeys(&'a str),
    CreateKey(&'a str),
    GetKey(&'a str, &'a str),
    PatchKey(&'a str, &'a str),
    GetPolicy(&'a str, &'a str),
    SetPolicy(&'a str, &'a str),
    ListVersions(&'a str, &'a str),
    Destroy(&'a str, &'a str, &'a str),
}

fn answer(ctx: &mut Ctx, req: &ApiRequest, p: &str, l: &str, call: Call) -> Answer {
    let permission = match call {
        Call::CreateRing => "cloudkms.keyRings.create",
        Call::CreateKey(_) => "cloudkms.cryptoKeys.create",
        Call::GetRing(_) => "cloudkms.keyRings.get",
        _ => "cloudkms.cryptoKeys.get",
    };
    let project = ctx.project_id(p, permission, KMS)?;
    ctx.require_api(&project, KMS)?;
    if !valid_location(l) {
        return Err(reply::invalid(format!("Location {l} is not a valid Cloud KMS location.")));
    }
    let parent = format!("projects/{project}/locations/{l}");
    match call {
        Call::CreateRing => create_ring(ctx, req, &project, &parent),
        Call::GetRing(r) => {
            let name = format!("{parent}/keyRings/{r}");
            let ring = ring(ctx, &project, &name)?;
            Ok(json!({"name": name, "createTime": reply::time(ring.create_time)}))
        }
        Call::GetRingPolicy(r) => Ok(policy::to_json(&ring(ctx, &project, &format!("{parent}/keyRings/{r}"))?.policy)),
        Call::SetRingPolicy(r) => set_ring_policy(ctx, req, &project, &format!("{parent}/keyRings/{r}"), r),
        Call::ListKeys(r) => {
            let ring_name = format!("{parent}/keyRings/{r}");
            let ring = ring(ctx, &project, &ring_name)?;
            let items: Vec<Value> = ring
                .keys
                .iter()
                .map(|(k, key)| key_json(&format!("{ring_name}/cryptoKeys/{k}"), key, ctx.now))
                .collect();
            listing(req, "cryptoKeys", items)
        }
        Call::CreateKey(r) => create_key(ctx, req, &project, &format!("{parent}/keyRings/{r}"), r),
        Call::GetKey(r, k) => {
            let (name, key) = key(ctx, &project, &parent, r, k)?;
            Ok(key_json(&name, &key, ctx.now))
        }
        Call::PatchKey(r, k) => patch_key(ctx, req, &project, &parent, r, k),
        Call::GetPolicy(r, k) => Ok(policy::to_json(&key(ctx, &project, &parent, r, k)?.1.policy)),
        Call::SetPolicy(r, k) => set_policy(ctx, req, &project, &parent, r, k),
        Call::ListVersions(r, k) => {
            let (name, key) = key(ctx, &project, &parent, r, k)?;
            let items: Vec<Value> =
                key.versions.iter().enumerate().map(|(i, v)| version_json(&name, i + 1, v, ctx.now)).collect();
            listing(req, "cryptoKeyVersions", items)
        }
        Call::Destroy(r, k, v) => destroy(ctx, &project, &parent, r, k, v),
    }
}

/// `global`, a multi-region (`us`, `eur4`) or a region (`us-central1`).
fn valid_location(l: &str) -> bool {
    let multi = ["global", "us", "eu", "asia", "nam4", "eur4", "nam-eur-asia1"].contains(&l);
    let mut parts = l.split('-');
    let region = match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), None) => {
            !a.is_empty()
                && a.chars().all(|c| c.is_ascii_lowercase())
                && b.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && b.ends_with(|c: char| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }
        _ => false,
    };
    multi || region
}

fn valid_id(id: &str) -> bool {
    (1..=63).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn listing(req: &ApiRequest, key: &str, items: Vec<Value>) -> Answer {
    let total = items.len();
    let (items, next) =
        reply::page(items, reply::query(req, "pageSize"), 1000, 1000, reply::query(req, "pageToken"), false)?;
    let mut out = reply::listing(key, items, next);
    if total > 0 {
        out["totalSize"] = json!(total);
    }
    Ok(out)
}

fn ring<'a>(ctx: &'a Ctx, project: &str, name: &str) -> Result<&'a KeyRing, ApiResponse> {
    ctx.project(project)?.key_rings.get(name).ok_or_else(|| reply::not_found(format!("KeyRing {name} not found.")))
}

/// The key's full name and a copy of it.
fn key(ctx: &Ctx, project: &str, parent: &str, r: &str, k: &str) -> Result<(String, CryptoKey), ApiResponse> {
    let ring_name = format!("{parent}/keyRings/{r}");
    let name = format!("{ring_name}/cryptoKeys/{k}");
    let ring = ctx.project(project)?.key_rings.get(&ring_name);
    let key = ring
        .and_then(|ring| ring.keys.get(k))
        .ok_or_else(|| reply::not_found(format!("CryptoKey {name} not found.")))?;
    Ok((name, key.clone()))
}

fn key_mut<'a>(
    ctx: &'a mut Ctx,
    project: &str,
    parent: &str,
    r: &str,
    k: &str,
) -> Result<&'a mut CryptoKey, ApiResponse> {
    let ring_name = format!("{parent}/keyRings/{r}");
    let ring = ctx.project_mut(project)?.key_rings.get_mut(&ring_name);
    ring.and_then(|ring| ring.keys.get_mut(k))
        .ok_or_else(|| reply::not_found(format!("CryptoKey {ring_name}/cryptoKeys/{k} not found.")))
}

fn create_ring(ctx: &mut Ctx, req: &ApiRequest, project: &str, parent: &str) -> Answer {
    let id = reply::query(req, "keyRingId").unwrap_or_default();
    if !valid_id(id) {
        return Err(reply::invalid(format!("Invalid key ring id `{id}`: use 1 to 63 letters, digits, `_` or `-`.")));
    }
    if let Some(fault) = ctx.faults.key_ring(id, project) {
        return Err(reply::denied("cloudkms.keyRings.create", parent, KMS, &injected(fault)));
    }
    let name = format!("{parent}/keyRings/{id}");
    if ctx.project(project)?.key_rings.contains_key(&name) {
        return Err(reply::already_exists(format!("KeyRing {name} already exists.")));
    }
    let ring = KeyRing { create_time: ctx.now, policy: Policy::empty(), keys: BTreeMap::new() };
    ctx.project_mut(project)?.key_rings.insert(name.clone(), ring);
    ctx.dirty = true;
    Ok(json!({"name": name, "createTime": reply::time(ctx.now)}))
}

fn version_json(key_name: &str, n: usize, v: &KeyVersion, now: DateTime<Utc>) -> Value {
    let state = v.state_at(now);
    let mut out = json!({
        "name": format!("{key_name}/cryptoKeyVersions/{n}"),
        "state": state,
        "createTime": reply::time(v.create_time),
        "generateTime": reply::time(v.create_time),
        "protectionLevel": "SOFTWARE",
        "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
    });
    if let Some(t) = v.destroy_time {
        out["destroyTime"] = json!(reply::time(t));
        if state == "DESTROYED" {
            out["destroyEventTime"] = json!(reply::time(t));
        }
    }
    out
}

fn key_json(name: &str, key: &CryptoKey, now: DateTime<Utc>) -> Value {
    let mut out = json!({
        "name": name,
        "purpose": key.purpose,
        "createTime": reply::time(key.create_time),
        "versionTemplate": {"protectionLevel": "SOFTWARE", "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION"},
        "destroyScheduledDuration": format!("{}s", key.destroy_scheduled_seconds),
    });
    if let Some(v) = key.versions.first() {
        out["primary"] = version_json(name, 1, v, now);
    }
    if !key.labels.is_empty() {
        out["labels"] = json!(key.labels);
    }
    out
}

fn labels(v: Option<&Value>) -> Result<BTreeMap<String, String>, ApiResponse> {
    reply::labels(v).map_err(reply::invalid)
}

fn create_key(ctx: &mut Ctx, req: &ApiRequest, project: &str, ring_name: &str, r: &str) -> Answer {
    ring(ctx, project, ring_name)?;
    let id = reply::query(req, "cryptoKeyId").unwrap_or_default();
    if !valid_id(id) {
        return Err(reply::invalid(format!("Invalid crypto key id `{id}`: use 1 to 63 letters, digits, `_` or `-`.")));
    }
    let body = reply::body(req);
    let purpose = reply::str_field(&body, "purpose").unwrap_or_default();
    if purpose != "ENCRYPT_DECRYPT" {
        return Err(reply::invalid(format!(
            "crypto_key.purpose `{purpose}`: the simulated Cloud KMS makes ENCRYPT_DECRYPT keys only."
        )));
    }
    let destroy = match reply::str_field(&body, "destroyScheduledDuration") {
        None => DEFAULT_DESTROY_SECONDS,
        Some(d) => match d.strip_suffix('s').and_then(|n| n.parse::<f64>().ok()) {
            Some(n) if (MIN_DESTROY_SECONDS as f64..=MAX_DESTROY_SECONDS as f64).contains(&n) => n as u64,
            _ => {
                return Err(reply::invalid(format!(
                    "crypto_key.destroy_scheduled_duration `{d}` must be between 24 hours and 120 days."
                )))
            }
        },
    };
    let labels = labels(body.get("labels"))?;
    let name = format!("{ring_name}/cryptoKeys/{id}");
    if let Some(fault) = ctx.faults.crypto_key(r, id, project) {
        return Err(reply::denied("cloudkms.cryptoKeys.create", ring_name, KMS, &injected(fault)));
    }
    if ring(ctx, project, ring_name)?.keys.contains_key(id) {
        return Err(reply::already_exists(format!("CryptoKey {name} already exists.")));
    }
    let key = CryptoKey {
        create_time: ctx.now,
        purpose: purpose.into(),
        labels,
        destroy_scheduled_seconds: destroy,
        versions: vec![KeyVersion { create_time: ctx.now, destroy_time: None }],
        policy: Policy::empty(),
    };
    let out = key_json(&name, &key, ctx.now);
    if let Some(ring) = ctx.project_mut(project)?.key_rings.get_mut(ring_name) {
        ring.keys.insert(id.to_string(), key);
    }
    ctx.dirty = true;
    Ok(out)
}

fn patch_key(ctx: &mut Ctx, req: &ApiRequest, project: &str, parent: &str, r: &str, k: &str) -> Answer {
    let mask: Vec<&str> =
        reply::query(req, "updateMask").unwrap_or_default().split(',').filter(|f| !f.is_empty()).collect();
    if mask.is_empty() {
        return Err(reply::invalid("update_mask: at least one field is required."));
    }
    if let Some(bad) = mask.iter().find(|f| **f != "labels") {
        return Err(reply::invalid(format!(
            "update_mask: the simulated Cloud KMS updates `labels` only, not `{bad}`."
        )));
    }
    let labels = labels(reply::body(req).get("labels"))?;
    let now = ctx.now;
    let name = format!("{parent}/keyRings/{r}/cryptoKeys/{k}");
    let key = key_mut(ctx, project, parent, r, k)?;
    key.labels = labels;
    let out = key_json(&name, key, now);
    ctx.dirty = true;
    Ok(out)
}

fn set_policy(ctx: &mut Ctx, req: &ApiRequest, project: &str, parent: &str, r: &str, k: &str) -> Answer {
    let (name, key) = key(ctx, project, parent, r, k)?;
    let body = reply::body(req);
    let incoming = body.get("policy").ok_or_else(|| reply::invalid("policy: a policy is required"))?;
    let target = Target::CryptoKey { ring: r, key: k, name: &name };
    let new = policy::set(ctx, project, &key.policy, incoming, target, Flavor::Google)?;
    let out = policy::to_json(&new);
    key_mut(ctx, project, parent, r, k)?.policy = new;
    ctx.dirty = true;
    Ok(out)
}

fn set_ring_policy(ctx: &mut Ctx, req: &ApiRequest, project: &str, name: &str, r: &str) -> Answer {
    let current = ring(ctx, project, name)?.policy.clone();
    let body = reply::body(req);
    let incoming = body.get("policy").ok_or_else(|| reply::invalid("policy: a policy is required"))?;
    let new = policy::set(ctx, project, &current, incoming, Target::KeyRing { ring: r, name }, Flavor::Google)?;
    let out = policy::to_json(&new);
    if let Some(stored) = ctx.project_mut(project)?.key_rings.get_mut(name) {
        stored.policy = new;
    }
    ctx.dirty = true;
    Ok(out)
}

fn destroy(ctx: &mut Ctx, project: &str, parent: &str, r: &str, k: &str, v: &str) -> Answer {
    let (name, key) = key(ctx, project, parent, r, k)?;
    let version_name = format!("{name}/cryptoKeyVersions/{v}");
    let n = v.parse::<usize>().ok().filter(|n| (1..=key.versions.len()).contains(n));
    let Some(n) = n else { return Err(reply::not_found(format!("CryptoKeyVersion {version_name} not found."))) };
    let now = ctx.now;
    let window = key.destroy_scheduled_seconds;
    let version = key_mut(ctx, project, parent, r, k)?
        .versions
        .get_mut(n - 1)
        .ok_or_else(|| reply::not_found(format!("CryptoKeyVersion {version_name} not found.")))?;
    let state = version.state_at(now);
    if state != "ENABLED" {
        return Err(reply::failed_precondition(format!(
            "The request cannot be fulfilled. Resource {version_name} has value {state} in field crypto_key_version.state."
        )));
    }
    version.destroy_time = Some(now + Duration::seconds(window as i64));
    let out = version_json(&name, n, version, now);
    ctx.dirty = true;
    Ok(out)
}
