//! A stateful stand-in for the Google REST calls of docs/gcp-calls.md, served by wiremock: one
//! responder holds a small project behind a Mutex and answers each call in the shapes of Google's
//! discovery documents (iam.v1, cloudkms.v1, storage.v1, serviceusage.v1,
//! cloudresourcemanager.v3), errors in Google's format. Faults can be queued per call.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use wiremock::{Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "test-token";

type Mutation = Box<dyn Fn(&mut State) + Send + Sync>;

/// One queued answer: the next `times` calls whose method is `method` and whose path contains
/// `path` get `status`/`body` (and `then` runs on the state first).
pub struct Fault {
    pub method: &'static str,
    pub path: String,
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u64>,
    pub times: u32,
    pub then: Option<Mutation>,
}

impl Fault {
    pub fn new(method: &'static str, path: &str, status: u16, body: Value) -> Fault {
        Fault { method, path: path.into(), status, body, retry_after: None, times: 1, then: None }
    }
}

pub fn google_error(code: u16, status: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "status": status}})
}

pub fn storage_error(code: u16, reason: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "errors": [{"domain": "global", "reason": reason, "message": message}]}})
}

#[derive(Default)]
pub struct State {
    pub project: String,
    pub number: String,
    pub enabled: BTreeSet<String>,
    /// Operation name → (polls still answering done:false, services it enables).
    pub operations: BTreeMap<String, (u32, Vec<String>)>,
    pub roles: BTreeMap<String, Value>,
    pub accounts: BTreeMap<String, Value>,
    /// Service account e-mail → GETs still answering 404 (IAM's eventual consistency).
    pub hidden: BTreeMap<String, u32>,
    pub key_rings: BTreeMap<String, Value>,
    pub keys: BTreeMap<String, Value>,
    pub versions: BTreeMap<String, Vec<Value>>,
    pub buckets: BTreeMap<String, Value>,
    /// Bucket names that belong to other projects.
    pub taken: BTreeSet<String>,
    pub objects: BTreeMap<String, Vec<Value>>,
    /// "project", "sa:<email>", "bucket:<name>", "key:<name>" → policy.
    pub policies: BTreeMap<String, Value>,
    pub faults: Vec<Fault>,
    pub project_pages: Vec<Vec<Value>>,
    pub counter: u64,
    pub unauthorized: u32,
    /// Polls answered for operations (done:false and done:true).
    pub polls: u32,
    /// When set, an operation is done this long after it started (not after a number of polls).
    pub operation_time: Option<std::time::Duration>,
    /// Operation name → when it started (with `operation_time`).
    pub started: BTreeMap<String, std::time::Instant>,
}

impl State {
    pub fn new(project: &str) -> State {
        let mut s = State { project: project.into(), number: "123456789012".into(), ..State::default() };
        s.enabled.insert("serviceusage.googleapis.com".into());
        s.enabled.insert("cloudresourcemanager.googleapis.com".into());
        s.policies.insert(
            "project".into(),
            json!({"version": 1, "etag": "BwX0", "bindings": [
                {"role": "roles/owner", "members": ["user:owner@example.com"]},
                {"role": "roles/viewer", "members": ["group:auditors@example.com"], "condition": {"title": "weekdays", "expression": "request.time.getDayOfWeek() < 5"}}
            ]}),
        );
        s
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn etag(&mut self) -> String {
        format!("BwX{}", self.next())
    }

    pub fn policy(&self, key: &str) -> Value {
        self.policies.get(key).cloned().unwrap_or_else(|| json!({"version": 1, "etag": "ACAB", "bindings": []}))
    }

    /// Someone else changes a policy (new etag).
    pub fn foreign_change(&mut self, key: &str, role: &str, member: &str) {
        let mut p = self.policy(key);
        let mut b = p["bindings"].as_array().cloned().unwrap_or_default();
        b.push(json!({"role": role, "members": [member]}));
        p["bindings"] = Value::Array(b);
        p["etag"] = json!(self.etag());
        self.policies.insert(key.into(), p);
    }
}

#[derive(Clone)]
pub struct FakeGoogle {
    pub state: Arc<Mutex<State>>,
}

impl FakeGoogle {
    pub fn new(project: &str) -> FakeGoogle {
        FakeGoogle { state: Arc::new(Mutex::new(State::new(project))) }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }
}

fn reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

fn not_found(what: &str) -> ResponseTemplate {
    reply(404, google_error(404, "NOT_FOUND", &format!("{what} not found.")))
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

fn body(req: &Request) -> Value {
    req.body_json::<Value>().unwrap_or(Value::Null)
}

fn page(items: Vec<Value>, key: &str) -> ResponseTemplate {
    reply(200, json!({ key: items }))
}

impl Respond for FakeGoogle {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.state.lock().unwrap();
        let auth = req.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if auth != format!("Bearer {TOKEN}") {
            s.unauthorized += 1;
            return reply(
                401,
                google_error(401, "UNAUTHENTICATED", "Request is missing required authentication credential."),
            );
        }
        let method = req.method.as_str().to_string();
        let path = req.url.path().to_string();
        if let Some(i) = s.faults.iter().position(|f| f.method == method && path.contains(&f.path) && f.times > 0) {
            s.faults[i].times -= 1;
            let (status, b, retry) = (s.faults[i].status, s.faults[i].body.clone(), s.faults[i].retry_after);
            if let Some(then) = s.faults[i].then.take() {
                then(&mut s);
                s.faults[i].then = Some(then);
            }
            let mut r = reply(status, b);
            if let Some(secs) = retry {
                r = r.insert_header("Retry-After", secs.to_string().as_str());
            }
            return r;
        }
        route(&mut s, &method, &path, req)
    }
}

fn route(s: &mut State, method: &str, path: &str, req: &Request) -> ResponseTemplate {
    let p = s.project.clone();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segs.as_slice()) {
        ("GET", ["v3", "projects:search"]) => {
            let i = query(req, "pageToken")
                .and_then(|t| t.strip_prefix("page").and_then(|n| n.parse::<usize>().ok()))
                .unwrap_or(0);
            let items = s.project_pages.get(i).cloned().unwrap_or_default();
            let mut b = json!({"projects": items});
            if i + 1 < s.project_pages.len() {
                b["nextPageToken"] = json!(format!("page{}", i + 1));
            }
            reply(200, b)
        }
        ("GET", ["v3", "projects", id]) if *id == p => reply(
            200,
            json!({"name": format!("projects/{}", s.number), "projectId": p, "displayName": "Acme prod", "state": "ACTIVE"}),
        ),
        ("POST", ["v3", "projects", x]) if *x == format!("{p}:getIamPolicy") => reply(200, s.policy("project")),
        ("POST", ["v3", "projects", x]) if *x == format!("{p}:setIamPolicy") => {
            set_policy(s, "project", body(req)["policy"].clone(), 409)
        }
        ("GET", ["v1", "projects", _, "services"]) => {
            let items = s.enabled.iter().map(|e| json!({"name": format!("projects/{}/services/{e}", s.number), "config": {"name": e}, "state": "ENABLED"})).collect();
            page(items, "services")
        }
        ("POST", ["v1", "projects", _, "services:batchEnable"]) => {
            let ids: Vec<String> = body(req)["serviceIds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            let name = format!("operations/acf.p2-{}", s.next());
            s.operations.insert(name.clone(), (1, ids));
            s.started.insert(name.clone(), std::time::Instant::now());
            reply(200, json!({"name": name, "done": false}))
        }
        ("GET", ["v1", "operations", id]) => {
            let name = format!("operations/{id}");
            s.polls += 1;
            let Some((left, ids)) = s.operations.get(&name).cloned() else { return not_found(&name) };
            let running = match (s.operation_time, s.started.get(&name)) {
                (Some(t), Some(at)) => at.elapsed() < t,
                _ => left > 0,
            };
            if running {
                s.operations.insert(name.clone(), (left.saturating_sub(1), ids));
                return reply(200, json!({"name": name, "done": false}));
            }
            s.enabled.extend(ids);
            reply(
                200,
                json!({"name": name, "done": true, "response": {"@type": "type.googleapis.com/google.api.serviceusage.v1.BatchEnableServicesResponse"}}),
            )
        }
        // Custom roles.
        ("GET", ["v1", "projects", _, "roles"]) => page(s.roles.values().cloned().collect(), "roles"),
        ("POST", ["v1", "projects", _, "roles"]) => {
            let b = body(req);
            let name = format!("projects/{p}/roles/{}", b["roleId"].as_str().unwrap_or_default());
            if s.roles.contains_key(&name) {
                return reply(
                    409,
                    google_error(
                        409,
                        "ALREADY_EXISTS",
                        &format!(
                            "A role named {} in projects/{p} already exists.",
                            b["roleId"].as_str().unwrap_or_default()
                        ),
                    ),
                );
            }
            let mut role = b["role"].clone();
            role["name"] = json!(name);
            role["etag"] = json!(s.etag());
            s.roles.insert(name, role.clone());
            reply(200, role)
        }
        (_, ["v1", "projects", _, "roles", id]) => {
            let (id, verb) = id.split_once(':').map_or((*id, ""), |(a, b)| (a, b));
            let name = format!("projects/{p}/roles/{id}");
            let etag = s.etag();
            let Some(role) = s.roles.get_mut(&name) else { return not_found(&format!("Role {name}")) };
            match (method, verb) {
                ("GET", "") => {}
                ("POST", "undelete") => {
                    role.as_object_mut().unwrap().remove("deleted");
                    role["etag"] = json!(etag);
                }
                ("PATCH", "") => {
                    let b = body(req);
                    // roles.patch: an etag that is not the role's current one is refused.
                    if b["etag"].is_string() && b["etag"] != role["etag"] {
                        return reply(409, google_error(409, "ABORTED", "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."));
                    }
                    for field in query(req, "updateMask").unwrap_or_default().split(',').filter(|f| !f.is_empty()) {
                        role[field] = b[field].clone();
                    }
                    role["etag"] = json!(etag);
                }
                ("DELETE", "") => {
                    role["deleted"] = json!(true);
                    role["etag"] = json!(etag);
                }
                _ => return reply(400, google_error(400, "INVALID_ARGUMENT", "unexpected role call")),
            }
            reply(200, role.clone())
        }
        // Service accounts.
        ("GET", ["v1", "projects", _, "serviceAccounts"]) => page(s.accounts.values().cloned().collect(), "accounts"),
        ("POST", ["v1", "projects", _, "serviceAccounts"]) => {
            let b = body(req);
            let email = format!("{}@{p}.iam.gserviceaccount.com", b["accountId"].as_str().unwrap_or_default());
            if s.accounts.contains_key(&email) {
                return reply(
                    409,
                    google_error(
                        409,
                        "ALREADY_EXISTS",
                        &format!(
                            "Service account {} already exists within project projects/{p}.",
                            b["accountId"].as_str().unwrap_or_default()
                        ),
                    ),
                );
            }
            let uid = s.next();
            let sa = json!({"name": format!("projects/{p}/serviceAccounts/{email}"), "projectId": p, "uniqueId": format!("1{uid:020}"), "email": email,
                "displayName": b["serviceAccount"]["displayName"], "description": b["serviceAccount"]["description"], "etag": "MDEwMjE5MjA=", "oauth2ClientId": "1"});
            s.accounts.insert(email.clone(), sa.clone());
            // Right after creation, one GET does not find it yet.
            s.hidden.insert(email, 1);
            reply(200, sa)
        }
        (_, ["v1", "projects", _, "serviceAccounts", e]) => {
            let (email, verb) = e.split_once(':').map_or((*e, ""), |(a, b)| (a, b));
            let key = format!("sa:{email}");
            if !s.accounts.contains_key(email) {
                return not_found(&format!("Service account projects/{p}/serviceAccounts/{email}"));
            }
            match (method, verb) {
                ("GET", "") => {
                    if let Some(n) = s.hidden.get_mut(email).filter(|n| **n > 0) {
                        *n -= 1;
                        return not_found(&format!("Service account projects/{p}/serviceAccounts/{email}"));
                    }
                    reply(200, s.accounts[email].clone())
                }
                ("DELETE", "") => {
                    let uid = s.accounts[email]["uniqueId"].as_str().unwrap_or_default().to_string();
                    s.accounts.remove(email);
                    s.policies.remove(&key);
                    // Google shows a deleted account's remaining bindings as deleted:…?uid=.
                    let member = format!("serviceAccount:{email}");
                    for pol in s.policies.values_mut() {
                        for b in pol["bindings"].as_array_mut().into_iter().flatten() {
                            for m in b["members"].as_array_mut().into_iter().flatten() {
                                if m.as_str() == Some(member.as_str()) {
                                    *m = json!(format!("deleted:{member}?uid={uid}"));
                                }
                            }
                        }
                    }
                    reply(200, json!({}))
                }
                ("POST", "getIamPolicy") => reply(200, s.policy(&key)),
                ("POST", "setIamPolicy") => set_policy(s, &key, body(req)["policy"].clone(), 409),
                _ => reply(400, google_error(400, "INVALID_ARGUMENT", "unexpected service account call")),
            }
        }
        // Cloud KMS.
        ("POST", ["v1", "projects", _, "locations", l, "keyRings"]) => {
            let name = format!("projects/{p}/locations/{l}/keyRings/{}", query(req, "keyRingId").unwrap_or_default());
            if s.key_rings.contains_key(&name) {
                return reply(409, google_error(409, "ALREADY_EXISTS", &format!("KeyRing {name} already exists.")));
            }
            let ring = json!({"name": name, "createTime": "2026-11-23T10:00:00.000000Z"});
            s.key_rings.insert(name, ring.clone());
            reply(200, ring)
        }
        ("GET", ["v1", "projects", _, "locations", _, "keyRings", _]) => {
            let name = path.trim_start_matches("/v1/").to_string();
            s.key_rings.get(&name).cloned().map_or_else(|| not_found(&format!("KeyRing {name}")), |r| reply(200, r))
        }
        ("POST", ["v1", "projects", _, "locations", _, "keyRings", _, "cryptoKeys"]) => {
            let ring = path.trim_start_matches("/v1/").trim_end_matches("/cryptoKeys").to_string();
            if !s.key_rings.contains_key(&ring) {
                return not_found(&format!("KeyRing {ring}"));
            }
            let name = format!("{ring}/cryptoKeys/{}", query(req, "cryptoKeyId").unwrap_or_default());
            if s.keys.contains_key(&name) {
                return reply(409, google_error(409, "ALREADY_EXISTS", &format!("CryptoKey {name} already exists.")));
            }
            let b = body(req);
            let version = json!({"name": format!("{name}/cryptoKeyVersions/1"), "state": "ENABLED", "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protectionLevel": "SOFTWARE"});
            let key = json!({"name": name, "purpose": b["purpose"], "labels": b["labels"], "createTime": "2026-11-23T10:00:01.000000Z",
                "destroyScheduledDuration": b["destroyScheduledDuration"].as_str().unwrap_or("2592000s"), "versionTemplate": {"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protectionLevel": "SOFTWARE"}});
            s.keys.insert(name.clone(), key);
            s.versions.insert(name.clone(), vec![version]);
            reply(200, key_json(s, &name))
        }
        ("GET", ["v1", "projects", _, "locations", _, "keyRings", _, "cryptoKeys"]) => {
            let ring = path.trim_start_matches("/v1/").trim_end_matches("/cryptoKeys").to_string();
            let names: Vec<String> = s.keys.keys().filter(|k| k.starts_with(&format!("{ring}/"))).cloned().collect();
            page(names.iter().map(|n| key_json(s, n)).collect(), "cryptoKeys")
        }
        (_, ["v1", "projects", _, "locations", _, "keyRings", _, "cryptoKeys", k]) => {
            let (_, verb) = k.split_once(':').map_or((*k, ""), |(a, b)| (a, b));
            let full = path.trim_start_matches("/v1/");
            let name = full.split_once(':').map_or(full, |(a, _)| a).to_string();
            if !s.keys.contains_key(&name) {
                return not_found(&format!("CryptoKey {name}"));
            }
            let key = format!("key:{name}");
            match (method, verb) {
                ("GET", "") => reply(200, key_json(s, &name)),
                ("PATCH", "") => {
                    if query(req, "updateMask").as_deref() == Some("labels") {
                        s.keys.get_mut(&name).unwrap()["labels"] = body(req)["labels"].clone();
                    }
                    reply(200, key_json(s, &name))
                }
                ("GET", "getIamPolicy") => reply(200, s.policy(&key)),
                ("POST", "setIamPolicy") => set_policy(s, &key, body(req)["policy"].clone(), 409),
                _ => reply(400, google_error(400, "INVALID_ARGUMENT", "unexpected key call")),
            }
        }
        ("GET", ["v1", "projects", _, "locations", _, "keyRings", _, "cryptoKeys", _, "cryptoKeyVersions"]) => {
            let name = path.trim_start_matches("/v1/").trim_end_matches("/cryptoKeyVersions").to_string();
            page(s.versions.get(&name).cloned().unwrap_or_default(), "cryptoKeyVersions")
        }
        ("POST", ["v1", "projects", _, "locations", _, "keyRings", _, "cryptoKeys", _, "cryptoKeyVersions", v])
            if v.ends_with(":destroy") =>
        {
            let vname = path.trim_start_matches("/v1/").trim_end_matches(":destroy").to_string();
            let key = vname.split("/cryptoKeyVersions/").next().unwrap_or_default().to_string();
            let days = s
                .keys
                .get(&key)
                .and_then(|k| k["destroyScheduledDuration"].as_str())
                .and_then(|d| d.trim_end_matches('s').parse::<i64>().ok())
                .unwrap_or(2_592_000);
            let when = (chrono::Utc::now() + chrono::Duration::seconds(days))
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let Some(v) = s
                .versions
                .get_mut(&key)
                .and_then(|vs| vs.iter_mut().find(|v| v["name"].as_str() == Some(vname.as_str())))
            else {
                return not_found(&format!("CryptoKeyVersion {vname}"));
            };
            if !matches!(v["state"].as_str(), Some("ENABLED" | "DISABLED")) {
                return reply(
                    400,
                    google_error(
                        400,
                        "FAILED_PRECONDITION",
                        &format!(
                            "The request cannot be fulfilled. Resource {vname} has value state in [DESTROY_SCHEDULED]."
                        ),
                    ),
                );
            }
            v["state"] = json!("DESTROY_SCHEDULED");
            v["destroyTime"] = json!(when);
            reply(200, v.clone())
        }
        // Cloud Storage.
        ("POST", ["storage", "v1", "b"]) => {
            let b = body(req);
            let name = b["name"].as_str().unwrap_or_default().to_string();
            if s.taken.contains(&name) {
                return reply(409, storage_error(409, "conflict", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."));
            }
            if s.buckets.contains_key(&name) {
                return reply(
                    409,
                    storage_error(
                        409,
                        "conflict",
                        "Your previous request to create the named bucket succeeded and you already own it.",
                    ),
                );
            }
            let bucket = json!({"kind": "storage#bucket", "id": name, "name": name, "projectNumber": s.number, "metageneration": "1",
                "location": b["location"].as_str().unwrap_or("US").to_uppercase(), "locationType": "region", "storageClass": "STANDARD",
                "labels": b["labels"], "iamConfiguration": b["iamConfiguration"], "timeCreated": "2026-11-23T10:00:02.000Z",
                "softDeletePolicy": {"retentionDurationSeconds": "604800", "effectiveTime": "2026-11-23T10:00:02.000Z"}});
            s.buckets.insert(name, bucket.clone());
            reply(200, bucket)
        }
        ("GET", ["storage", "v1", "b"]) => page(s.buckets.values().cloned().collect(), "items"),
        (_, ["storage", "v1", "b", name, rest @ ..]) => {
            let name = name.to_string();
            if !s.buckets.contains_key(&name) {
                return reply(404, storage_error(404, "notFound", "The specified bucket does not exist."));
            }
            let key = format!("bucket:{name}");
            match (method, rest) {
                ("GET", []) => reply(200, s.buckets[&name].clone()),
                ("PATCH", []) => {
                    let labels = body(req)["labels"].clone();
                    let bucket = s.buckets.get_mut(&name).unwrap();
                    let generation = bucket["metageneration"].as_str().unwrap_or("1").to_string();
                    if query(req, "ifMetagenerationMatch").is_some_and(|m| m != generation) {
                        return reply(
                            412,
                            storage_error(
                                412,
                                "conditionNotMet",
                                "At least one of the pre-conditions you specified did not hold.",
                            ),
                        );
                    }
                    for (k, v) in labels.as_object().into_iter().flatten() {
                        bucket["labels"][k] = v.clone();
                    }
                    let next = generation.parse::<u64>().unwrap_or(1) + 1;
                    bucket["metageneration"] = json!(next.to_string());
                    reply(200, bucket.clone())
                }
                ("GET", ["iam"]) => {
                    let mut pol = s.policy(&key);
                    pol["kind"] = json!("storage#policy");
                    pol["resourceId"] = json!(format!("projects/_/buckets/{name}"));
                    reply(200, pol)
                }
                ("PUT", ["iam"]) => set_policy(s, &key, body(req), 412),
                // Two objects a page, so listing follows nextPageToken.
                ("GET", ["o"]) => {
                    let all = s.objects.get(&name).cloned().unwrap_or_default();
                    let from: usize = query(req, "pageToken").and_then(|t| t.parse().ok()).unwrap_or(0);
                    let items: Vec<Value> = all.iter().skip(from).take(2).cloned().collect();
                    let mut out = json!({ "items": items });
                    if from + 2 < all.len() {
                        out["nextPageToken"] = json!((from + 2).to_string());
                    }
                    reply(200, out)
                }
                ("DELETE", ["o", object]) => {
                    // The object name is one path segment, URL-encoded.
                    let object = percent_decode(object);
                    let objects = s.objects.entry(name.clone()).or_default();
                    match objects.iter().position(|o| o["name"] == object.as_str()) {
                        Some(i) => {
                            objects.remove(i);
                            ResponseTemplate::new(204)
                        }
                        None => reply(404, storage_error(404, "notFound", &format!("No such object: {name}/{object}"))),
                    }
                }
                ("DELETE", []) => {
                    if s.objects.get(&name).is_some_and(|o| !o.is_empty()) {
                        return reply(
                            409,
                            storage_error(409, "conflict", "The bucket you tried to delete is not empty."),
                        );
                    }
                    s.buckets.remove(&name);
                    s.policies.remove(&key);
                    ResponseTemplate::new(204)
                }
                _ => reply(400, storage_error(400, "invalid", "unexpected bucket call")),
            }
        }
        _ => reply(404, google_error(404, "NOT_FOUND", &format!("the fake has no route for {method} {path}"))),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn key_json(s: &State, name: &str) -> Value {
    let mut k = s.keys[name].clone();
    if let Some(v) = s.versions.get(name).and_then(|v| v.first()) {
        k["primary"] = v.clone();
    }
    k
}

/// setIamPolicy: the etag must be the current one (else 409 ABORTED; storage: 412).
fn set_policy(s: &mut State, key: &str, mut policy: Value, conflict: u16) -> ResponseTemplate {
    let current = s.policy(key);
    if policy["etag"] != current["etag"] {
        return if conflict == 412 {
            reply(
                412,
                storage_error(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold."),
            )
        } else {
            reply(409, google_error(409, "ABORTED", "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."))
        };
    }
    for b in policy["bindings"].as_array().into_iter().flatten() {
        if b["members"].as_array().is_none_or(|m| m.is_empty()) {
            return reply(400, google_error(400, "INVALID_ARGUMENT", "Policy bindings must have at least one member."));
        }
    }
    policy["etag"] = json!(s.etag());
    if let Some(o) = policy.as_object_mut() {
        o.remove("kind");
        o.remove("resourceId");
    }
    s.policies.insert(key.into(), policy.clone());
    reply(200, policy)
}
