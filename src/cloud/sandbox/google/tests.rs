//! The simulated Google Cloud driven with `ApiRequest`s, as the GCP provider drives it.

use std::time::Duration;

use serde_json::{json, Value};

use super::iam::SA_VISIBLE_SECONDS;
use super::*;
use crate::cloud::gcp::transport::Method;
use crate::plan::gcp::Spec;
use crate::plan::Choices;
use crate::vendor::VendorProfile;

const DEV: &str = "cg-sandbox-dev";
const PROD: &str = "cg-sandbox-prod";

fn config(dir: &tempfile::TempDir, speed: f64, fail: &[&str]) -> SandboxConfig {
    SandboxConfig { dir: dir.path().to_path_buf(), speed, fail: fail.iter().map(|s| s.to_string()).collect() }
}

fn bundled() -> crate::pack::PackFile {
    let a = Spec::asset();
    crate::pack::PackFile { path: a.path, text: a.text }
}

fn sim(speed: f64) -> (tempfile::TempDir, SimulatedGoogle) {
    let dir = tempfile::tempdir().unwrap();
    let g = SimulatedGoogle::open(&config(&dir, speed, &[]), bundled()).unwrap();
    (dir, g)
}

fn call(
    g: &SimulatedGoogle,
    service: Service,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
) -> ApiResponse {
    let mut req = ApiRequest::new(service, method, path);
    for (k, v) in query {
        req = req.query(k, *v);
    }
    req.body = body;
    g.answer(&req).unwrap()
}

fn get(g: &SimulatedGoogle, service: Service, path: &str) -> ApiResponse {
    call(g, service, Method::Get, path, &[], None)
}

fn post(g: &SimulatedGoogle, service: Service, path: &str, body: Value) -> ApiResponse {
    call(g, service, Method::Post, path, &[], Some(body))
}

fn status(r: &ApiResponse) -> &str {
    r.body["error"]["status"].as_str().unwrap_or_default()
}

fn message(r: &ApiResponse) -> &str {
    r.body["error"]["message"].as_str().unwrap_or_default()
}

/// Enable an API and wait for the operation.
fn enable(g: &SimulatedGoogle, project: &str, api: &str) {
    let body = json!({"serviceIds": [api]});
    let op = post(g, Service::ServiceUsage, &format!("/v1/projects/{project}/services:batchEnable"), body);
    assert_eq!(op.status, 200, "{:?}", op.body);
    let name = op.body["name"].as_str().unwrap().to_string();
    for _ in 0..200 {
        if get(g, Service::ServiceUsage, &format!("/v1/{name}")).body["done"] == json!(true) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("operation {name} never finished");
}

fn create_bucket(g: &SimulatedGoogle, project: &str, name: &str) -> ApiResponse {
    let body = json!({"name": name, "location": "us-central1", "labels": {"managed-by": "cloudgrant"},
        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": true}}});
    call(g, Service::Storage, Method::Post, "/storage/v1/b", &[("project", project)], Some(body))
}

fn create_role(g: &SimulatedGoogle, project: &str, id: &str) -> ApiResponse {
    let body = json!({"roleId": id, "role": {"title": "T", "description": "managed-by=cloudgrant", "includedPermissions": ["compute.instances.get"], "stage": "GA"}});
    post(g, Service::Iam, &format!("/v1/projects/{project}/roles"), body)
}

#[test]
fn projects_search_pages_with_page_size_one() {
    let (_d, g) = sim(1.0);
    let first = call(&g, Service::ResourceManager, Method::Get, "/v3/projects:search", &[("pageSize", "1")], None);
    assert_eq!(first.status, 200);
    assert_eq!(first.body["projects"].as_array().unwrap().len(), 1);
    assert_eq!(first.body["projects"][0]["projectId"], DEV);
    assert_eq!(first.body["projects"][0]["name"], "projects/210987654321");
    let token = first.body["nextPageToken"].as_str().unwrap();
    let second = call(
        &g,
        Service::ResourceManager,
        Method::Get,
        "/v3/projects:search",
        &[("pageSize", "1"), ("pageToken", token)],
        None,
    );
    assert_eq!(second.body["projects"][0]["projectId"], PROD);
    assert_eq!(second.body["projects"][0]["displayName"], "Sandbox prod");
    assert!(second.body.get("nextPageToken").is_none(), "{:?}", second.body);
    let bad = call(&g, Service::ResourceManager, Method::Get, "/v3/projects:search", &[("pageToken", "nope")], None);
    assert_eq!((bad.status, status(&bad)), (400, "INVALID_ARGUMENT"));
    assert_eq!(projects()[1], (PROD, "310987654321", "Sandbox prod"));
}

#[test]
fn projects_by_id_or_number_and_unknown_is_denied() {
    let (_d, g) = sim(1.0);
    assert_eq!(get(&g, Service::ResourceManager, "/v3/projects/310987654321").body["projectId"], PROD);
    let r = get(&g, Service::ResourceManager, "/v3/projects/someone-else");
    assert_eq!((r.status, status(&r)), (403, "PERMISSION_DENIED"));
    assert!(message(&r).contains("resourcemanager.projects.get"), "{}", message(&r));
}

#[test]
fn enabling_an_api_is_a_long_running_operation() {
    let (_d, g) = sim(1000.0);
    let body = json!({"serviceIds": ["compute.googleapis.com", "storage.googleapis.com"]});
    let op = post(&g, Service::ServiceUsage, "/v1/projects/cg-sandbox-dev/services:batchEnable", body);
    assert_eq!(op.body["done"], false);
    let name = op.body["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("operations/acf.p2-210987654321-"), "{name}");
    std::thread::sleep(Duration::from_millis(20));
    let done = get(&g, Service::ServiceUsage, &format!("/v1/{name}"));
    assert_eq!(done.body["done"], true, "{:?}", done.body);
    assert_eq!(done.body["response"]["services"][0]["state"], "ENABLED");

    let list = call(
        &g,
        Service::ServiceUsage,
        Method::Get,
        "/v1/projects/cg-sandbox-dev/services",
        &[("filter", "state:ENABLED"), ("pageSize", "200")],
        None,
    );
    let names: Vec<&str> =
        list.body["services"].as_array().unwrap().iter().filter_map(|s| s["config"]["name"].as_str()).collect();
    assert!(names.contains(&"compute.googleapis.com") && names.contains(&"iam.googleapis.com"), "{names:?}");
    let prod = call(
        &g,
        Service::ServiceUsage,
        Method::Get,
        "/v1/projects/310987654321/services",
        &[("filter", "state:DISABLED")],
        None,
    );
    assert!(!prod.body.to_string().contains("compute.googleapis.com"), "{:?}", prod.body);

    // Everything asked for is enabled: done at once, as Google answers.
    let again = post(
        &g,
        Service::ServiceUsage,
        "/v1/projects/cg-sandbox-dev/services:batchEnable",
        json!({"serviceIds": ["storage.googleapis.com"]}),
    );
    assert_eq!(again.body["done"], true);
}

#[test]
fn project_policy_etag_conflict_and_conditions() {
    let (_d, g) = sim(1.0);
    let read = post(
        &g,
        Service::ResourceManager,
        "/v3/projects/cg-sandbox-dev:getIamPolicy",
        json!({"options": {"requestedPolicyVersion": 3}}),
    );
    let mut policy = read.body.clone();
    let roles: Vec<&str> = policy["bindings"].as_array().unwrap().iter().filter_map(|b| b["role"].as_str()).collect();
    assert_eq!(roles, ["roles/editor", "roles/owner"]);
    assert_eq!(
        policy["bindings"][0]["members"][0],
        "serviceAccount:210987654321-compute@developer.gserviceaccount.com"
    );
    policy["bindings"].as_array_mut().unwrap().push(json!({"role": "roles/viewer", "members": ["user:a@example.com"]}));
    let set = post(&g, Service::ResourceManager, "/v3/projects/cg-sandbox-dev:setIamPolicy", json!({"policy": policy}));
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_ne!(set.body["etag"], read.body["etag"]);
    assert_eq!(set.body["bindings"].as_array().unwrap().len(), 3);
    // The same write again carries the old etag: someone else wrote in between.
    let stale =
        post(&g, Service::ResourceManager, "/v3/projects/cg-sandbox-dev:setIamPolicy", json!({"policy": policy}));
    assert_eq!((stale.status, status(&stale)), (409, "ABORTED"));

    let prod = post(&g, Service::ResourceManager, "/v3/projects/cg-sandbox-prod:getIamPolicy", json!({}));
    assert_eq!(prod.body["version"], 3);
    let mut downgraded = prod.body.clone();
    downgraded["version"] = json!(1);
    let r =
        post(&g, Service::ResourceManager, "/v3/projects/cg-sandbox-prod:setIamPolicy", json!({"policy": downgraded}));
    assert_eq!((r.status, status(&r)), (400, "INVALID_ARGUMENT"));
    // A custom role that does not exist cannot be granted.
    let mut p = prod.body.clone();
    p["bindings"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "projects/cg-sandbox-prod/roles/nope", "members": ["user:a@example.com"]}));
    let r = post(&g, Service::ResourceManager, "/v3/projects/cg-sandbox-prod:setIamPolicy", json!({"policy": p}));
    assert!(message(&r).contains("does not exist in the resource's hierarchy"), "{:?}", r.body);
}

#[test]
fn deleted_roles_stay_visible_and_block_their_id() {
    let (_d, g) = sim(1.0);
    let made = create_role(&g, DEV, "acme_prod_manager");
    assert_eq!(made.status, 200, "{:?}", made.body);
    assert_eq!(made.body["name"], "projects/cg-sandbox-dev/roles/acme_prod_manager");
    assert_eq!(create_role(&g, DEV, "acme_prod_manager").status, 409);
    let path = "/v1/projects/cg-sandbox-dev/roles/acme_prod_manager";
    let patched =
        call(&g, Service::Iam, Method::Patch, path, &[("updateMask", "title")], Some(json!({"title": "New"})));
    assert_eq!(patched.body["title"], "New");
    assert_ne!(patched.body["etag"], made.body["etag"]);

    let deleted = call(&g, Service::Iam, Method::Delete, path, &[], None);
    assert_eq!(deleted.body["deleted"], true);
    assert_eq!(get(&g, Service::Iam, path).body["deleted"], true);
    let again = create_role(&g, DEV, "acme_prod_manager");
    assert_eq!((again.status, status(&again)), (409, "ALREADY_EXISTS"));
    assert!(message(&again).contains("deleted state") && message(&again).contains("Undelete"), "{}", message(&again));

    let list = |show: &str| {
        let q = [("view", "FULL"), ("showDeleted", show), ("pageSize", "300")];
        call(&g, Service::Iam, Method::Get, "/v1/projects/cg-sandbox-dev/roles", &q, None).body
    };
    assert_eq!(list("false"), json!({}));
    assert_eq!(list("true")["roles"][0]["includedPermissions"][0], "compute.instances.get");

    let back = post(&g, Service::Iam, &format!("{path}:undelete"), json!({"etag": deleted.body["etag"]}));
    assert_eq!(back.status, 200, "{:?}", back.body);
    assert!(back.body.get("deleted").is_none());
    let twice = post(&g, Service::Iam, &format!("{path}:undelete"), json!({}));
    assert_eq!(status(&twice), "FAILED_PRECONDITION");
}

#[test]
fn service_accounts_are_eventually_consistent_and_leave_deleted_members() {
    let dir = tempfile::tempdir().unwrap();
    let slow = SimulatedGoogle::open(&config(&dir, 1.0, &[]), bundled()).unwrap();
    // The clock is the test's: a loaded machine cannot move a call past the visibility window.
    let t0 = chrono::Utc::now();
    let at = |ms: i64, method: Method, service: Service, path: &str, body: Option<Value>| {
        let mut req = ApiRequest::new(service, method, path);
        req.body = body;
        slow.answer_at(&req, t0 + chrono::Duration::milliseconds(ms)).unwrap()
    };
    let body = json!({"accountId": "cg-prod-vm", "serviceAccount": {"displayName": "VMs", "description": "managed-by=cloudgrant"}});
    let accounts = "/v1/projects/cg-sandbox-dev/serviceAccounts";
    let made = at(0, Method::Post, Service::Iam, accounts, Some(body.clone()));
    let email = "cg-prod-vm@cg-sandbox-dev.iam.gserviceaccount.com";
    assert_eq!(made.body["email"], email);
    assert_eq!(made.body["uniqueId"].as_str().unwrap().len(), 21);
    let path = format!("/v1/projects/cg-sandbox-dev/serviceAccounts/{email}");
    let early = at(1, Method::Get, Service::Iam, &path, None);
    assert_eq!((early.status, message(&early)), (404, "Unknown service account"));
    assert_eq!(at(2, Method::Post, Service::Iam, accounts, Some(body)).status, 409);
    let visible = (SA_VISIBLE_SECONDS * 1000.0) as i64 + 50;
    assert_eq!(at(visible, Method::Get, Service::Iam, &path.replace('@', "%40"), None).body["displayName"], "VMs");

    let later = visible + 10;
    let rm = Service::ResourceManager;
    let mut policy = at(later, Method::Post, rm, "/v3/projects/cg-sandbox-dev:getIamPolicy", Some(json!({}))).body;
    policy["bindings"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "roles/viewer", "members": [format!("serviceAccount:{email}")]}));
    let set = at(later, Method::Post, rm, "/v3/projects/cg-sandbox-dev:setIamPolicy", Some(json!({"policy": policy})));
    assert_eq!(set.status, 200);
    assert_eq!(at(later, Method::Delete, Service::Iam, &path, None).body, json!({}));
    assert_eq!(at(later, Method::Get, Service::Iam, &path, None).status, 404);
    let after = at(later, Method::Post, rm, "/v3/projects/cg-sandbox-dev:getIamPolicy", Some(json!({}))).body;
    let text = after.to_string();
    assert!(text.contains(&format!("deleted:serviceAccount:{email}?uid=")), "{text}");
}

#[test]
fn bucket_names_are_global() {
    let (_d, g) = sim(1.0);
    assert_eq!(create_bucket(&g, DEV, "cg-sandbox-dev-prod-data").status, 200);
    let theirs = create_bucket(&g, PROD, "cg-sandbox-dev-prod-data");
    assert_eq!(theirs.status, 409);
    assert!(message(&theirs).starts_with("The requested bucket name is not available"), "{:?}", theirs.body);
    assert_eq!(theirs.body["error"]["errors"][0]["reason"], "conflict");
    let mine = create_bucket(&g, DEV, "cg-sandbox-dev-prod-data");
    assert!(message(&mine).starts_with("You already own this bucket"), "{:?}", mine.body);

    let b = get(&g, Service::Storage, "/storage/v1/b/cg-sandbox-dev-prod-data").body;
    assert_eq!((b["location"].as_str(), b["projectNumber"].as_str()), (Some("US-CENTRAL1"), Some("210987654321")));
    assert_eq!(b["softDeletePolicy"]["retentionDurationSeconds"], "604800");
    let patched = call(
        &g,
        Service::Storage,
        Method::Patch,
        "/storage/v1/b/cg-sandbox-dev-prod-data",
        &[],
        Some(json!({"labels": {"managed-by": null, "org": "prod"}})),
    );
    assert_eq!(patched.body["labels"], json!({"org": "prod"}));
    let listed =
        call(&g, Service::Storage, Method::Get, "/storage/v1/b", &[("project", PROD), ("maxResults", "1000")], None);
    assert_eq!(listed.body, json!({"kind": "storage#buckets"}));
    let missing = get(&g, Service::Storage, "/storage/v1/b/nobody-has-this");
    assert_eq!((missing.status, missing.body["error"]["errors"][0]["reason"].as_str()), (404, Some("notFound")));
}

#[test]
fn bucket_policy_stale_etag_is_412_and_objects_arrive_later() {
    let (_d, g) = sim(100.0);
    create_bucket(&g, DEV, "cg-sandbox-dev-prod-data");
    let q = [("maxResults", "1000"), ("fields", "items(name,size),nextPageToken")];
    let objects = || call(&g, Service::Storage, Method::Get, "/storage/v1/b/cg-sandbox-dev-prod-data/o", &q, None).body;
    assert_eq!(objects(), json!({}));

    let path = "/storage/v1/b/cg-sandbox-dev-prod-data/iam";
    let read = call(&g, Service::Storage, Method::Get, path, &[("optionsRequestedPolicyVersion", "3")], None).body;
    assert_eq!(read["kind"], "storage#policy");
    assert_eq!(read["bindings"].as_array().unwrap().len(), 4);
    let mut p = read.clone();
    p["bindings"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "roles/storage.objectViewer", "members": ["user:a@example.com"]}));
    assert_eq!(call(&g, Service::Storage, Method::Put, path, &[], Some(p.clone())).status, 200);
    let stale = call(&g, Service::Storage, Method::Put, path, &[], Some(p));
    assert_eq!((stale.status, stale.body["error"]["errors"][0]["reason"].as_str()), (412, Some("conditionNotMet")));

    std::thread::sleep(Duration::from_millis(120));
    let items = objects()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_object().unwrap().keys().collect::<Vec<_>>(), ["name", "size"]);
    let total: u64 = items.iter().map(|o| o["size"].as_str().unwrap().parse::<u64>().unwrap()).sum();
    assert!((1_100_000_000..1_300_000_000).contains(&total), "{total}");
}

#[test]
fn a_bucket_is_deleted_only_once_empty() {
    let (_d, g) = sim(100.0);
    let b = "cg-sandbox-dev-prod-data";
    create_bucket(&g, DEV, b);
    let q = [("maxResults", "1000"), ("fields", "items(name,size),nextPageToken")];
    std::thread::sleep(Duration::from_millis(120));
    let names: Vec<String> = call(&g, Service::Storage, Method::Get, &format!("/storage/v1/b/{b}/o"), &q, None).body
        ["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 3);
    let delete_bucket = || call(&g, Service::Storage, Method::Delete, &format!("/storage/v1/b/{b}"), &[], None);
    let full = delete_bucket();
    assert_eq!(full.status, 409);
    assert_eq!(full.body["error"]["message"], "The bucket you tried to delete is not empty.");
    assert_eq!(full.body["error"]["errors"][0]["reason"], "conflict");
    // Object names travel as one encoded path segment.
    let object = |n: &str| format!("/storage/v1/b/{b}/o/{}", n.replace('/', "%2F"));
    for n in &names {
        let r = call(&g, Service::Storage, Method::Delete, &object(n), &[], None);
        assert_eq!((r.status, &r.body), (204, &Value::Null), "{n}");
    }
    let again = call(&g, Service::Storage, Method::Delete, &object(&names[0]), &[], None);
    assert_eq!(again.status, 404);
    assert!(again.body["error"]["message"].as_str().unwrap().starts_with("No such object:"));
    assert_eq!(delete_bucket().status, 204);
    assert_eq!(get(&g, Service::Storage, &format!("/storage/v1/b/{b}")).status, 404);
    assert_eq!(delete_bucket().status, 404);
    // The name is free again.
    assert_eq!(create_bucket(&g, DEV, b).status, 200);
}

#[test]
fn key_destroy_is_scheduled_for_the_window() {
    let (_d, g) = sim(1000.0);
    enable(&g, "cg-sandbox-dev", "cloudkms.googleapis.com");
    let parent = "/v1/projects/cg-sandbox-dev/locations/us-central1";
    let ring = call(
        &g,
        Service::Kms,
        Method::Post,
        &format!("{parent}/keyRings"),
        &[("keyRingId", "acme-prod")],
        Some(json!({})),
    );
    assert_eq!(ring.body["name"], "projects/cg-sandbox-dev/locations/us-central1/keyRings/acme-prod");
    let again = call(
        &g,
        Service::Kms,
        Method::Post,
        &format!("{parent}/keyRings"),
        &[("keyRingId", "acme-prod")],
        Some(json!({})),
    );
    assert_eq!((again.status, status(&again)), (409, "ALREADY_EXISTS"));

    let ring_policy = get(&g, Service::Kms, &format!("{parent}/keyRings/acme-prod:getIamPolicy"));
    assert_eq!(ring_policy.body, json!({"version": 1, "etag": "ACAB"}));

    let keys = format!("{parent}/keyRings/acme-prod/cryptoKeys");
    let body = json!({"purpose": "ENCRYPT_DECRYPT", "labels": {"managed-by": "cloudgrant"}, "destroyScheduledDuration": "2592000s"});
    let key = call(&g, Service::Kms, Method::Post, &keys, &[("cryptoKeyId", "data")], Some(body));
    assert_eq!(key.body["primary"]["state"], "ENABLED", "{:?}", key.body);
    assert_eq!(key.body["destroyScheduledDuration"], "2592000s");
    let key_policy = format!("{keys}/data");
    let p = json!({"policy": {"etag": "ACAB", "bindings": [{"role": "roles/cloudkms.cryptoKeyDecrypter", "members": ["user:a@example.com"]}]}});
    assert_eq!(post(&g, Service::Kms, &format!("{key_policy}:setIamPolicy"), p.clone()).status, 200);
    assert_eq!(status(&post(&g, Service::Kms, &format!("{key_policy}:setIamPolicy"), p)), "ABORTED");
    let before = chrono::Utc::now();
    let destroyed = post(&g, Service::Kms, &format!("{keys}/data/cryptoKeyVersions/1:destroy"), json!({}));
    assert_eq!(destroyed.body["state"], "DESTROY_SCHEDULED");
    let when: chrono::DateTime<chrono::Utc> = destroyed.body["destroyTime"].as_str().unwrap().parse().unwrap();
    let days = (when - before).num_hours() as f64 / 24.0;
    assert!((29.9..30.1).contains(&days), "{days}");
    let versions =
        call(&g, Service::Kms, Method::Get, &format!("{keys}/data/cryptoKeyVersions"), &[("pageSize", "100")], None);
    assert_eq!(versions.body["cryptoKeyVersions"][0]["state"], "DESTROY_SCHEDULED");
    let twice = post(&g, Service::Kms, &format!("{keys}/data/cryptoKeyVersions/1:destroy"), json!({}));
    assert!(message(&twice).contains("has value DESTROY_SCHEDULED"), "{:?}", twice.body);
}

#[test]
fn state_persists_across_instances_on_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = SimulatedGoogle::open(&config(&dir, 1.0, &[]), bundled()).unwrap();
    let second = SimulatedGoogle::open(&config(&dir, 1.0, &[]), bundled()).unwrap();
    assert_eq!(create_role(&first, PROD, "acme_prod_instances").status, 200);
    assert_eq!(get(&second, Service::Iam, "/v1/projects/cg-sandbox-prod/roles/acme_prod_instances").status, 200);
    assert!(dir.path().join(FILE_NAME).exists());
    assert_eq!(first.state_path(), dir.path().join(FILE_NAME));
}

#[test]
fn unreadable_state_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, "{ not json").unwrap();
    let e = SimulatedGoogle::open(&config(&dir, 1.0, &[]), bundled()).unwrap_err();
    assert!(e.to_string().contains("corrupt") && e.to_string().contains(&path.display().to_string()), "{e}");
    assert!(e.next_step().contains(&format!("mv {}", path.display())), "{}", e.next_step());
    std::fs::write(&path, r#"{"format": 99}"#).unwrap();
    let e = SimulatedGoogle::open(&config(&dir, 1.0, &[]), bundled()).unwrap_err();
    assert!(e.to_string().contains("format 99"), "{e}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), r#"{"format": 99}"#);
}

#[test]
fn unknown_calls_answer_404_naming_the_path() {
    let (_d, g) = sim(1.0);
    let r = get(&g, Service::Iam, "/v1/projects/cg-sandbox-dev/workloadIdentityPools");
    assert_eq!((r.status, status(&r)), (404, "NOT_FOUND"));
    assert!(
        message(&r).contains("GET iam.googleapis.com/v1/projects/cg-sandbox-dev/workloadIdentityPools"),
        "{}",
        message(&r)
    );
    let wrong_method = call(&g, Service::Storage, Method::Put, "/storage/v1/b/x", &[], None);
    assert_eq!(wrong_method.status, 404);
}

#[test]
fn faults_fail_the_calls_that_create_the_named_resources() {
    let vendor = VendorProfile::bundled().unwrap();
    let choices =
        Choices { org: "prod".into(), region: "us-central1".into(), account: Some(DEV.into()), external_id: None };
    let spec = Spec::bundled(&vendor, &choices).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ids = ["DataBucket", "ManagerRole", "InstanceServiceAccount", "DataKey", "VendorManagerBinding", "StorageApi"];
    let g = SimulatedGoogle::open(&config(&dir, 1000.0, &ids), bundled()).unwrap();
    let plain = SimulatedGoogle::open(&config(&dir, 1000.0, &[]), bundled()).unwrap();

    let r = create_role(&g, DEV, &spec.roles[0].role_id);
    assert_eq!((r.status, status(&r)), (403, "PERMISSION_DENIED"));
    assert!(
        message(&r).contains("iam.roles.create") && message(&r).contains("--sandbox-fail ManagerRole"),
        "{}",
        message(&r)
    );
    assert_eq!(create_role(&g, DEV, &spec.roles[1].role_id).status, 200);

    let sa = json!({"accountId": spec.service_accounts[0].account_id, "serviceAccount": {}});
    let r = post(&g, Service::Iam, "/v1/projects/cg-sandbox-dev/serviceAccounts", sa);
    assert!(r.status == 403 && message(&r).contains("iam.serviceAccounts.create"), "{:?}", r.body);

    enable(&plain, DEV, "compute.googleapis.com");
    enable(&plain, DEV, "cloudkms.googleapis.com");
    let ring = &spec.key_rings[0];
    let parent = format!("/v1/projects/{DEV}/locations/{}/keyRings", ring.location);
    assert_eq!(
        call(&g, Service::Kms, Method::Post, &parent, &[("keyRingId", &ring.name)], Some(json!({}))).status,
        200
    );
    let key = json!({"purpose": "ENCRYPT_DECRYPT"});
    let r = call(
        &g,
        Service::Kms,
        Method::Post,
        &format!("{parent}/{}/cryptoKeys", ring.name),
        &[("cryptoKeyId", &spec.crypto_keys[0].name)],
        Some(key),
    );
    assert!(r.status == 403 && message(&r).contains("cloudkms.cryptoKeys.create"), "{:?}", r.body);

    // StorageApi: the API shows disabled, enabling it fails, and the bucket calls are refused.
    let op = post(
        &g,
        Service::ServiceUsage,
        "/v1/projects/cg-sandbox-dev/services:batchEnable",
        json!({"serviceIds": ["storage.googleapis.com"]}),
    );
    std::thread::sleep(Duration::from_millis(10));
    let done = get(&g, Service::ServiceUsage, &format!("/v1/{}", op.body["name"].as_str().unwrap()));
    assert_eq!(
        (done.body["done"].as_bool(), done.body["error"]["code"].as_i64()),
        (Some(true), Some(9)),
        "{:?}",
        done.body
    );
    assert!(done.body["error"]["message"].as_str().unwrap().contains("Billing"));
    let disabled = create_bucket(&g, DEV, &spec.buckets[0].name);
    assert_eq!(disabled.status, 403);
    assert_eq!(disabled.body["error"]["errors"][0]["reason"], "accessNotConfigured");
    let iam_off = SimulatedGoogle::open(&config(&dir, 1000.0, &["IamApi"]), bundled()).unwrap();
    let r = get(&iam_off, Service::Iam, "/v1/projects/cg-sandbox-dev/roles?view=FULL");
    assert_eq!((r.status, status(&r)), (403, "PERMISSION_DENIED"));
    assert_eq!(r.body["error"]["details"][0]["reason"], "SERVICE_DISABLED");
    assert_eq!(r.body["error"]["details"][0]["metadata"]["service"], "iam.googleapis.com");
    let r = create_bucket(
        &SimulatedGoogle::open(&config(&dir, 1000.0, &["DataBucket"]), bundled()).unwrap(),
        DEV,
        &spec.buckets[0].name,
    );
    assert!(r.status == 409 && message(&r).contains("not available"), "{:?}", r.body);

    // The manager role exists (made without faults): granting it to the vendor is refused.
    assert_eq!(create_role(&plain, DEV, &spec.roles[0].role_id).status, 200);
    let mut policy = post(&g, Service::ResourceManager, "/v3/projects/cg-sandbox-dev:getIamPolicy", json!({})).body;
    let binding = json!({"role": spec.role_name(&spec.roles[0]), "members": [format!("serviceAccount:{}", vendor.gcp.service_account)]});
    policy["bindings"].as_array_mut().unwrap().push(binding);
    let r = post(
        &g,
        Service::ResourceManager,
        "/v3/projects/cg-sandbox-dev:setIamPolicy",
        json!({"policy": policy.clone()}),
    );
    assert!(r.status == 403 && message(&r).contains("resourcemanager.projects.setIamPolicy"), "{:?}", r.body);
    assert_eq!(
        post(&plain, Service::ResourceManager, "/v3/projects/cg-sandbox-dev:setIamPolicy", json!({"policy": policy}))
            .status,
        200
    );

    let e = SimulatedGoogle::open(&config(&dir, 1.0, &["NoSuchThing"]), bundled()).unwrap_err();
    assert!(e.to_string().contains("NoSuchThing") && e.next_step().contains("DataBucket"), "{e}");
}

#[tokio::test]
async fn answers_through_the_transport_trait() {
    let (_d, g) = sim(1.0);
    let t: crate::cloud::gcp::transport::SharedTransport = std::sync::Arc::new(g);
    assert_eq!(t.endpoints().base(Service::Iam), BASE);
    let r =
        t.send(ApiRequest::new(Service::ResourceManager, Method::Get, "/v3/projects/cg-sandbox-dev")).await.unwrap();
    assert_eq!(r.body["displayName"], "Sandbox dev");
}
