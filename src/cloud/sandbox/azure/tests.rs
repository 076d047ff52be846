//! The simulated Azure driven with `ApiRequest`s exactly as docs/azure-calls.md lists them, at
//! chosen moments (`answer_at`), so every step of a deployment is seen without waiting for it.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::*;
use crate::cloud::azure::transport::Method;

const DEV: &str = SUBSCRIPTIONS[0].0;
const PROD: &str = SUBSCRIPTIONS[1].0;
const APP: &str = "0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f40";
const STACKS: &str = "providers/Microsoft.Resources/deploymentStacks";

fn config(dir: &tempfile::TempDir, fail: &[&str]) -> SandboxConfig {
    SandboxConfig { dir: dir.path().to_path_buf(), speed: 1.0, fail: fail.iter().map(|s| s.to_string()).collect() }
}

fn open(dir: &tempfile::TempDir, fail: &[&str]) -> SimulatedAzure {
    SimulatedAzure::open(&config(dir, fail), &[(APP, "Acme Compute")]).unwrap()
}

fn sim() -> (tempfile::TempDir, SimulatedAzure) {
    let dir = tempfile::tempdir().unwrap();
    let az = open(&dir, &[]);
    (dir, az)
}

/// A clock the test moves forward.
struct Clock(DateTime<Utc>);

impl Clock {
    fn new() -> Clock {
        Clock(Utc::now())
    }

    fn at(&self, seconds: f64) -> DateTime<Utc> {
        self.0 + Duration::milliseconds((seconds * 1000.0) as i64)
    }
}

fn send(az: &SimulatedAzure, req: ApiRequest, at: DateTime<Utc>) -> ApiResponse {
    az.answer_at(&req, at).unwrap()
}

fn arm(method: Method, path: &str, api: &str) -> ApiRequest {
    ApiRequest::arm(method, path, api)
}

fn get(az: &SimulatedAzure, path: &str, at: DateTime<Utc>) -> ApiResponse {
    send(az, arm(Method::Get, path, "2024-03-01"), at)
}

fn follow(az: &SimulatedAzure, url: &str, at: DateTime<Utc>) -> ApiResponse {
    let req = ApiRequest::follow(Service::Arm, url, &Endpoints::all_at(BASE)).unwrap();
    send(az, req, at)
}

fn code(r: &ApiResponse) -> &str {
    r.body["error"]["code"].as_str().unwrap_or_default()
}

fn message(r: &ApiResponse) -> &str {
    r.body["error"]["message"].as_str().unwrap_or_default()
}

/// The stacks as the provider renders them for org `demo` in dev (`plan::azure::spec`).
fn spec(suffix: &str) -> crate::plan::azure::Spec {
    let vendor = crate::vendor::VendorProfile::bundled().unwrap();
    let choices = crate::plan::Choices {
        org: "demo".into(),
        region: "westeurope".into(),
        account: Some(DEV.into()),
        external_id: None,
    };
    crate::plan::azure::spec(&vendor, &choices, suffix).unwrap()
}

/// The storage stack's PUT body, exactly as the provider sends it.
fn storage_body() -> Value {
    spec("k3x9q2ab").stack(crate::plan::azure::STORAGE).unwrap().request_body("westeurope", None)
}

fn main_body(principal: &str) -> Value {
    main_body_with(principal, "k3x9q2ab")
}

fn main_body_with(principal: &str, suffix: &str) -> Value {
    spec(suffix).stack(crate::plan::azure::MAIN).unwrap().request_body("westeurope", Some(principal))
}

fn stack_path(sub: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/{STACKS}/{name}")
}

fn put_stack(az: &SimulatedAzure, name: &str, body: Value, at: DateTime<Utc>) -> ApiResponse {
    send(az, arm(Method::Put, &stack_path(DEV, name), "2025-07-01").body(body), at)
}

fn get_stack(az: &SimulatedAzure, name: &str, at: DateTime<Utc>) -> ApiResponse {
    send(az, arm(Method::Get, &stack_path(DEV, name), "2025-07-01"), at)
}

fn delete_stack(az: &SimulatedAzure, name: &str, action: &str, at: DateTime<Utc>) -> ApiResponse {
    let req = arm(Method::Delete, &stack_path(DEV, name), "2025-07-01")
        .query("unmanageAction.Resources", action)
        .query("unmanageAction.ResourceGroups", action)
        .query("unmanageAction.ManagementGroups", "detach");
    send(az, req, at)
}

fn operations(az: &SimulatedAzure, deployment_id: &str, at: DateTime<Utc>) -> Vec<Value> {
    let r = get(az, &format!("{deployment_id}/operations"), at);
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["value"].as_array().unwrap().clone()
}

fn create_principal(az: &SimulatedAzure, at: DateTime<Utc>) -> String {
    let r = send(
        az,
        ApiRequest::new(Service::Graph, Method::Post, "/v1.0/servicePrincipals").body(json!({"appId": APP})),
        at,
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn assignments_of(az: &SimulatedAzure, principal: &str, at: DateTime<Utc>) -> Vec<Value> {
    let req = arm(
        Method::Get,
        &format!("/subscriptions/{DEV}/providers/Microsoft.Authorization/roleAssignments"),
        "2022-04-01",
    )
    .query("$filter", format!("principalId eq '{principal}'"));
    let r = send(az, req, at);
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["value"].as_array().unwrap().clone()
}

fn group(az: &SimulatedAzure, name: &str, at: DateTime<Utc>) -> ApiResponse {
    get(az, &format!("/subscriptions/{DEV}/resourcegroups/{name}"), at)
}

/// Deploys storage then main (with the vendor's principal) to completion; returns the principal.
fn install(az: &SimulatedAzure, clock: &Clock) -> String {
    assert_eq!(put_stack(az, "acmeml-demo-storage", storage_body(), clock.at(0.0)).status, 201);
    assert_eq!(
        get_stack(az, "acmeml-demo-storage", clock.at(500.0)).body["properties"]["provisioningState"],
        "succeeded"
    );
    let principal = create_principal(az, clock.at(500.0));
    let r = put_stack(az, "acmeml-demo", main_body(&principal), clock.at(501.0));
    assert_eq!(r.status, 201, "{:?}", r.body);
    let done = get_stack(az, "acmeml-demo", clock.at(1000.0));
    assert_eq!(done.body["properties"]["provisioningState"], "succeeded", "{:?}", done.body);
    principal
}

#[test]
fn subscriptions_page_through_next_link() {
    let (_d, az) = sim();
    let now = Utc::now();
    let first = send(&az, arm(Method::Get, "/subscriptions", "2022-12-01"), now);
    assert_eq!(first.status, 200);
    assert_eq!(first.body["value"][0]["subscriptionId"], DEV);
    assert_eq!(first.body["value"][0]["displayName"], "cloudgrant sandbox dev");
    assert_eq!(first.body["value"][0]["tenantId"], TENANT_ID);
    let next = first.body["nextLink"].as_str().unwrap();
    assert!(next.starts_with(BASE), "{next}");
    let second = follow(&az, next, now);
    assert_eq!(second.body["value"][0]["subscriptionId"], PROD);
    assert_eq!(second.body["value"][0]["state"], "Enabled");
    assert!(second.body.get("nextLink").is_none(), "{:?}", second.body);

    assert_eq!(
        send(&az, arm(Method::Get, &format!("/subscriptions/{PROD}"), "2022-12-01"), now).body["displayName"],
        "cloudgrant sandbox prod"
    );
    let missing = send(&az, arm(Method::Get, "/subscriptions/00000000-1111-2222-3333-444444444444", "2022-12-01"), now);
    assert_eq!((missing.status, code(&missing)), (404, "SubscriptionNotFound"));
    // The caller's permissions, as Azure publishes that call: at a resource group only.
    let perms = |group: &str| {
        let path = format!("/subscriptions/{DEV}/resourceGroups/{group}/providers/Microsoft.Authorization/permissions");
        send(&az, arm(Method::Get, &path, "2022-04-01"), now)
    };
    assert_eq!((perms("nowhere").status, code(&perms("nowhere"))), (404, "ResourceGroupNotFound"));
    let groups = send(&az, arm(Method::Get, &format!("/subscriptions/{DEV}/resourcegroups"), "2024-03-01"), now);
    let names: Vec<&str> = groups.body["value"].as_array().unwrap().iter().filter_map(|g| g["name"].as_str()).collect();
    assert_eq!(names, ["NetworkWatcherRG"], "the group Azure makes in a new subscription");
    assert_eq!(perms("NetworkWatcherRG").body["value"][0]["actions"], json!(["*"]));
    let sub_level = format!("/subscriptions/{DEV}/providers/Microsoft.Authorization/permissions");
    assert_ne!(
        send(&az, arm(Method::Get, &sub_level, "2022-04-01"), now).status,
        200,
        "no such call at a subscription"
    );
    let no_version = send(&az, ApiRequest::new(Service::Arm, Method::Get, "/subscriptions"), now);
    assert_eq!((no_version.status, code(&no_version)), (400, "MissingApiVersionParameter"));
}

#[test]
fn the_vendor_service_principal_through_graph() {
    let (_d, az) = sim();
    let now = Utc::now();
    let by_app = format!("/v1.0/servicePrincipals(appId='{APP}')");
    let missing = send(&az, ApiRequest::new(Service::Graph, Method::Get, &by_app), now);
    assert_eq!((missing.status, code(&missing)), (404, "Request_ResourceNotFound"));
    assert!(missing.body["error"]["innerError"].is_object());
    let id = create_principal(&az, now);
    let again = send(
        &az,
        ApiRequest::new(Service::Graph, Method::Post, "/v1.0/servicePrincipals").body(json!({"appId": APP})),
        now,
    );
    assert_eq!((again.status, code(&again)), (409, "Request_MultipleObjectsWithSameKeyValue"));
    // The provider percent-encodes the quotes; both forms are the same call.
    let encoded = format!("/v1.0/servicePrincipals(appId=%27{APP}%27)");
    let found = send(&az, ApiRequest::new(Service::Graph, Method::Get, &encoded), now);
    assert_eq!(found.status, 200);
    assert_eq!(
        (found.body["id"].as_str(), found.body["displayName"].as_str()),
        (Some(id.as_str()), Some("Acme Compute"))
    );
    assert_eq!(found.body["appId"], APP);
    let bad = send(
        &az,
        ApiRequest::new(Service::Graph, Method::Post, "/v1.0/servicePrincipals").body(json!({"appId": "not-an-app"})),
        now,
    );
    assert_eq!((bad.status, code(&bad)), (400, "Request_BadRequest"));
    let delete = ApiRequest::new(Service::Graph, Method::Delete, format!("/v1.0/servicePrincipals/{id}"));
    assert_eq!(send(&az, delete.clone(), now).status, 204);
    assert_eq!(send(&az, delete, now).status, 404);
    assert_eq!(send(&az, ApiRequest::new(Service::Graph, Method::Get, &by_app), now).status, 404);
}

#[test]
fn a_stack_deploys_step_by_step_with_growing_operations() {
    let (_d, az) = sim();
    let clock = Clock::new();
    let put = put_stack(&az, "acmeml-demo-storage", storage_body(), clock.at(0.0));
    assert_eq!(put.status, 201, "{:?}", put.body);
    assert_eq!(put.body["properties"]["provisioningState"], "initializing");
    let status_url = put.async_operation.clone().unwrap();
    assert!(
        status_url.starts_with(&format!("{BASE}/subscriptions/{DEV}/providers/Microsoft.Resources/locations/westeurope/deploymentStackOperationStatus/")),
        "{status_url}"
    );
    assert!(status_url.ends_with("?api-version=2025-07-01"), "{status_url}");
    assert!(put.retry_after.is_some());
    assert_eq!(follow(&az, &status_url, clock.at(0.5)).body["status"], "InProgress");

    // Initializing, then Deploying with a deployment whose operations grow.
    assert!(get_stack(&az, "acmeml-demo-storage", clock.at(0.5)).body["properties"].get("deploymentId").is_none());
    let early = get_stack(&az, "acmeml-demo-storage", clock.at(2.5));
    assert_eq!(early.body["properties"]["provisioningState"], "deploying");
    let deployment = early.body["properties"]["deploymentId"].as_str().unwrap().to_string();
    assert!(deployment
        .starts_with(&format!("/subscriptions/{DEV}/providers/Microsoft.Resources/deployments/acmeml-demo-storage-")));
    let ops = operations(&az, &deployment, clock.at(2.5));
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0]["properties"]["provisioningState"], "Running");
    assert_eq!(ops[0]["properties"]["targetResource"]["resourceType"], "Microsoft.Resources/resourceGroups");
    assert!(group(&az, "acmeml-demo-storage", clock.at(2.5)).status == 404, "not there before its step ends");
    let later = operations(&az, &deployment, clock.at(6.0));
    assert_eq!(later.len(), 2, "{later:?}");
    assert_eq!(later[0]["properties"]["provisioningState"], "Succeeded");
    assert_eq!(later[0]["properties"]["statusCode"], "Created");
    let g = group(&az, "acmeml-demo-storage", clock.at(6.0));
    assert_eq!(g.status, 200);
    assert_eq!(g.body["tags"]["managed-by"], "cloudgrant");

    // The nested deployment's own operations, under its resource-group deployment id.
    let nested = &later[1]["properties"]["targetResource"];
    assert_eq!(nested["resourceType"], "Microsoft.Resources/deployments");
    assert_eq!(nested["id"], format!("/subscriptions/{DEV}/resourceGroups/acmeml-demo-storage/providers/Microsoft.Resources/deployments/data-storage"));
    let inner = operations(&az, nested["id"].as_str().unwrap(), clock.at(6.0));
    assert_eq!(inner.len(), 1);
    assert_eq!(inner[0]["properties"]["targetResource"]["resourceName"], "acmemldatak3x9q2ab");
    assert_eq!(inner[0]["properties"]["provisioningState"], "Running");

    let done = get_stack(&az, "acmeml-demo-storage", clock.at(100.0));
    let p = &done.body["properties"];
    assert_eq!(p["provisioningState"], "succeeded", "{:?}", done.body);
    assert_eq!(p["outputs"]["dataAccountName"], json!({"type": "String", "value": "acmemldatak3x9q2ab"}));
    let managed: Vec<&str> = p["resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(managed.len(), 3, "group, account, container: {managed:?}");
    assert!(managed[1].ends_with("/providers/Microsoft.Storage/storageAccounts/acmemldatak3x9q2ab"));
    assert_eq!(p["resources"][0]["status"], "managed");
    assert_eq!(done.body["tags"]["cloudgrant-stack"], "storage");
    let finished = follow(&az, &status_url, clock.at(100.0));
    assert_eq!(finished.body["status"], "Succeeded");
    assert!(finished.body["endTime"].is_string());
    let all = operations(&az, nested["id"].as_str().unwrap(), clock.at(100.0));
    assert!(all.iter().all(|o| o["properties"]["provisioningState"] == "Succeeded"), "{all:?}");
    let account = get(&az, &format!("/subscriptions/{DEV}/resourceGroups/acmeml-demo-storage/providers/Microsoft.Storage/storageAccounts/acmemldatak3x9q2ab"), clock.at(100.0));
    assert_eq!(
        account.body["properties"]["primaryEndpoints"]["blob"],
        "https://acmemldatak3x9q2ab.blob.core.windows.net/"
    );
    assert_eq!(account.body["kind"], "StorageV2");
    let list = send(&az, arm(Method::Get, &format!("/subscriptions/{DEV}/{STACKS}"), "2025-07-01"), clock.at(100.0));
    assert_eq!(list.body["value"].as_array().unwrap().len(), 1);
}

#[test]
fn main_stack_grants_then_rerun_updates_without_duplicates() {
    let (_d, az) = sim();
    let clock = Clock::new();
    let principal = install(&az, &clock);
    let stack = get_stack(&az, "acmeml-demo", clock.at(1000.0)).body;
    let outputs = &stack["properties"]["outputs"];
    assert_eq!(outputs["resourceGroup"]["value"], "acmeml-demo");
    assert_eq!(outputs["vaultName"]["value"], "acmeml-kv-k3x9q2ab");
    let client = outputs["identityClientId"]["value"].as_str().unwrap();
    let identity_id = outputs["identityId"]["value"].as_str().unwrap().to_string();
    let (identity_principal, identity_client) = guid_for_identity(&identity_id);
    assert_eq!(client, identity_client);

    // The vendor's role on its group; the machines' four grants (vault, registry, images, data).
    let vendor = assignments_of(&az, &principal, clock.at(1000.0));
    assert_eq!(vendor.len(), 1, "{vendor:?}");
    assert_eq!(vendor[0]["properties"]["scope"], format!("/subscriptions/{DEV}/resourceGroups/acmeml-demo"));
    assert!(vendor[0]["properties"]["roleDefinitionId"]
        .as_str()
        .unwrap()
        .starts_with(&format!("/subscriptions/{DEV}/providers/Microsoft.Authorization/roleDefinitions/")));
    let machines = assignments_of(&az, &identity_principal, clock.at(1000.0));
    assert_eq!(machines.len(), 4, "{machines:?}");
    assert!(machines
        .iter()
        .any(|a| a["properties"]["scope"].as_str().unwrap().ends_with("/storageAccounts/acmemldatak3x9q2ab")));

    // Nested operations of both nested deployments are there.
    let deployment = stack["properties"]["deploymentId"].as_str().unwrap().to_string();
    let top = operations(&az, &deployment, clock.at(1000.0));
    let kinds: Vec<&str> = top.iter().map(|o| o["properties"]["provisioningOperation"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Create", "Create", "Create", "EvaluateDeploymentOutput"], "{top:?}");
    let access = top[1]["properties"]["targetResource"]["id"].as_str().unwrap();
    // Network, identity, vault, registry, images account, role, four role assignments.
    assert_eq!(operations(&az, access, clock.at(1000.0)).len(), 10);

    let resources_before = get_stack(&az, "acmeml-demo", clock.at(1000.0)).body["properties"]["resources"].clone();
    let rerun = put_stack(&az, "acmeml-demo", main_body(&principal), clock.at(1001.0));
    assert_eq!(rerun.status, 200, "{:?}", rerun.body);
    let deploying = get_stack(&az, "acmeml-demo", clock.at(1010.0));
    assert_eq!(deploying.body["properties"]["provisioningState"], "deploying");
    let second = deploying.body["properties"]["deploymentId"].as_str().unwrap().to_string();
    assert_ne!(second, deployment, "a new deployment runs");
    let again = operations(&az, access, clock.at(1500.0));
    assert_eq!(again.len(), 10);
    assert!(again.iter().all(|o| o["properties"]["statusCode"] == "OK"), "updates, not creations: {again:?}");
    let after = get_stack(&az, "acmeml-demo", clock.at(1500.0)).body;
    assert_eq!(after["properties"]["provisioningState"], "succeeded");
    assert_eq!(after["properties"]["resources"], resources_before);
    assert_eq!(assignments_of(&az, &principal, clock.at(1500.0)).len(), 1);
    assert_eq!(assignments_of(&az, &identity_principal, clock.at(1500.0)).len(), 4);
    let list = send(&az, arm(Method::Get, &format!("/subscriptions/{DEV}/{STACKS}"), "2025-07-01"), clock.at(1500.0));
    assert_eq!(list.body["value"].as_array().unwrap().len(), 2);
}

#[test]
fn deleting_main_deletes_the_group_and_soft_deletes_the_vault_detaching_storage_keeps_data() {
    let (_d, az) = sim();
    let clock = Clock::new();
    let principal = install(&az, &clock);
    let outputs = get_stack(&az, "acmeml-demo", clock.at(1000.0)).body["properties"]["outputs"].clone();
    let (identity_principal, _) = guid_for_identity(outputs["identityId"]["value"].as_str().unwrap());

    let r = delete_stack(&az, "acmeml-demo", "delete", clock.at(1001.0));
    assert_eq!(r.status, 202, "{:?}", r.body);
    let url = r.async_operation.clone().unwrap();
    assert_eq!(r.location.as_deref(), Some(url.as_str()));
    assert_eq!(
        get_stack(&az, "acmeml-demo", clock.at(1001.5)).body["properties"]["provisioningState"],
        "deletingResources"
    );
    assert_eq!(follow(&az, &url, clock.at(1001.5)).body["status"], "InProgress");
    // Role assignment (data), role definition, then the group: 2 + 2 + 10 seconds.
    assert_eq!(group(&az, "acmeml-demo", clock.at(1010.0)).body["properties"]["provisioningState"], "Deleting");

    let at = clock.at(1100.0);
    assert_eq!(follow(&az, &url, at).body["status"], "Succeeded");
    let gone = get_stack(&az, "acmeml-demo", at);
    assert_eq!((gone.status, code(&gone)), (404, "DeploymentStackNotFound"));
    assert_eq!(code(&group(&az, "acmeml-demo", at)), "ResourceGroupNotFound");
    assert!(assignments_of(&az, &principal, at).is_empty());
    assert!(assignments_of(&az, &identity_principal, at).is_empty());
    let vault = get(
        &az,
        &format!(
            "/subscriptions/{DEV}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/acmeml-kv-k3x9q2ab"
        ),
        at,
    );
    assert_eq!(vault.status, 200, "{:?}", vault.body);
    let deleted: DateTime<Utc> = vault.body["properties"]["deletionDate"].as_str().unwrap().parse().unwrap();
    let purge: DateTime<Utc> = vault.body["properties"]["scheduledPurgeDate"].as_str().unwrap().parse().unwrap();
    assert_eq!(purge - deleted, Duration::days(7));
    assert_eq!(
        vault.body["properties"]["vaultId"],
        format!(
            "/subscriptions/{DEV}/resourceGroups/acmeml-demo/providers/Microsoft.KeyVault/vaults/acmeml-kv-k3x9q2ab"
        )
    );
    let name = send(
        &az,
        arm(
            Method::Post,
            &format!("/subscriptions/{DEV}/providers/Microsoft.KeyVault/checkNameAvailability"),
            "2023-07-01",
        )
        .body(json!({"name": "acmeml-kv-k3x9q2ab", "type": "Microsoft.KeyVault/vaults"})),
        at,
    );
    assert_eq!(name.body["nameAvailable"], false);
    assert_eq!(name.body["reason"], "AlreadyExists");

    let r = delete_stack(&az, "acmeml-demo-storage", "detach", clock.at(1101.0));
    assert_eq!(r.status, 202);
    assert_eq!(
        get_stack(&az, "acmeml-demo-storage", clock.at(1101.2)).body["properties"]["provisioningState"],
        "deleting"
    );
    let at = clock.at(1200.0);
    assert_eq!(get_stack(&az, "acmeml-demo-storage", at).status, 404);
    let kept = get(&az, &format!("/subscriptions/{DEV}/resourceGroups/acmeml-demo-storage/providers/Microsoft.Storage/storageAccounts/acmemldatak3x9q2ab"), at);
    assert_eq!(kept.status, 200);
    assert_eq!(group(&az, "acmeml-demo-storage", at).body["tags"]["managed-by"], "cloudgrant");
    let missing = delete_stack(&az, "acmeml-demo-storage", "detach", at);
    assert_eq!((missing.status, code(&missing)), (404, "DeploymentStackNotFound"));
}

#[test]
fn faults_fail_the_step_with_azures_error_and_the_stack_can_still_be_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let plain = open(&dir, &[]);
    let az = open(&dir, &["Vault"]);
    let clock = Clock::new();
    assert_eq!(put_stack(&plain, "acmeml-demo-storage", storage_body(), clock.at(0.0)).status, 201);
    let principal = create_principal(&plain, clock.at(500.0));
    let put = put_stack(&az, "acmeml-demo", main_body(&principal), clock.at(501.0));
    assert_eq!(put.status, 201);
    let at = clock.at(1000.0);
    let failed = get_stack(&az, "acmeml-demo", at).body;
    let p = &failed["properties"];
    assert_eq!(p["provisioningState"], "failed", "{failed}");
    assert_eq!(p["error"]["code"], "DeploymentFailed");
    assert_eq!(p["error"]["details"][0]["code"], "VaultAlreadyExists");
    assert!(p["error"]["details"][0]["message"].as_str().unwrap().contains("--sandbox-fail Vault"));
    assert!(p["failedResources"][0]["id"].as_str().unwrap().ends_with("/vaults/acmeml-kv-k3x9q2ab"));
    assert!(p.get("outputs").is_none());
    let status = follow(&az, put.async_operation.as_deref().unwrap(), at).body;
    assert_eq!(
        (status["status"].as_str(), status["error"]["details"][0]["code"].as_str()),
        (Some("Failed"), Some("VaultAlreadyExists"))
    );

    // The operations say where: the nested deployment failed, and inside it the vault.
    let top = operations(&az, p["deploymentId"].as_str().unwrap(), at);
    let access = top.iter().find(|o| o["properties"]["provisioningState"] == "Failed").unwrap();
    assert_eq!(access["properties"]["statusMessage"]["error"]["code"], "DeploymentFailed");
    assert_eq!(top.len(), 2, "data-access never started: {top:?}");
    let inner = operations(&az, access["properties"]["targetResource"]["id"].as_str().unwrap(), at);
    let vault = inner.last().unwrap();
    assert_eq!(vault["properties"]["statusCode"], "Conflict");
    assert_eq!(vault["properties"]["statusMessage"]["error"]["code"], "VaultAlreadyExists");
    assert_eq!(inner.len(), 3, "network and identity first: {inner:?}");
    let managed = p["resources"].as_array().unwrap();
    assert_eq!(managed.len(), 3, "group, network, identity: {managed:?}");

    let r = delete_stack(&az, "acmeml-demo", "delete", clock.at(1001.0));
    assert_eq!(r.status, 202);
    assert_eq!(get_stack(&az, "acmeml-demo", clock.at(1100.0)).status, 404);
    assert_eq!(group(&az, "acmeml-demo", clock.at(1100.0)).status, 404);
}

#[test]
fn other_faults_role_assignment_storage_and_the_service_principal() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::new();
    let taken = open(&dir, &["DataAccount"]);
    assert_eq!(put_stack(&taken, "acmeml-demo-storage", storage_body(), clock.at(0.0)).status, 201);
    let p = get_stack(&taken, "acmeml-demo-storage", clock.at(100.0)).body["properties"].clone();
    assert_eq!(p["error"]["details"][0]["code"], "StorageAccountAlreadyTaken", "{p}");

    let denied = open(&dir, &["VendorServicePrincipal"]);
    let r = send(
        &denied,
        ApiRequest::new(Service::Graph, Method::Post, "/v1.0/servicePrincipals").body(json!({"appId": APP})),
        clock.at(100.0),
    );
    assert_eq!((r.status, code(&r)), (403, "Authorization_RequestDenied"));

    let plain = open(&dir, &[]);
    assert_eq!(put_stack(&plain, "acmeml-demo-storage", storage_body(), clock.at(101.0)).status, 200);
    assert_eq!(
        get_stack(&plain, "acmeml-demo-storage", clock.at(200.0)).body["properties"]["provisioningState"],
        "succeeded"
    );
    let principal = create_principal(&plain, clock.at(200.0));
    let role = open(&dir, &["VendorRoleAssignment"]);
    assert_eq!(put_stack(&role, "acmeml-demo", main_body(&principal), clock.at(201.0)).status, 201);
    let p = get_stack(&role, "acmeml-demo", clock.at(1000.0)).body["properties"].clone();
    let root = &p["error"]["details"][0];
    assert_eq!(root["code"], "AuthorizationFailed", "{p}");
    assert!(root["message"].as_str().unwrap().contains("'Microsoft.Authorization/roleAssignments/write'"));

    let e = SimulatedAzure::open(&config(&dir, &["NoSuchThing"]), &[]).unwrap_err();
    assert!(e.to_string().contains("NoSuchThing") && e.next_step().contains("Vault"), "{e}");
}

#[test]
fn a_missing_group_a_soft_deleted_vault_name_or_an_unknown_principal_fail_as_azure_does() {
    let (_d, az) = sim();
    let clock = Clock::new();
    // Main before storage: the data-access deployment's group does not exist.
    let principal = create_principal(&az, clock.at(0.0));
    assert_eq!(put_stack(&az, "acmeml-demo", main_body(&principal), clock.at(0.0)).status, 201);
    let p = get_stack(&az, "acmeml-demo", clock.at(500.0)).body["properties"].clone();
    assert_eq!(p["error"]["details"][0]["code"], "ResourceGroupNotFound", "{p}");

    let r = delete_stack(&az, "acmeml-demo", "delete", clock.at(501.0));
    assert_eq!(r.status, 202);
    assert_eq!(put_stack(&az, "acmeml-demo-storage", storage_body(), clock.at(600.0)).status, 201);
    // The first attempt's vault is soft-deleted now: its name cannot be used again.
    assert_eq!(put_stack(&az, "acmeml-demo", main_body(&principal), clock.at(700.0)).status, 201);
    let p = get_stack(&az, "acmeml-demo", clock.at(1200.0)).body["properties"].clone();
    assert_eq!(p["error"]["details"][0]["code"], "ConflictError", "{p}");
    assert!(p["error"]["details"][0]["message"].as_str().unwrap().contains("deleted state"));

    let stranger = "11111111-2222-4333-8444-555555555555";
    assert_eq!(put_stack(&az, "acmeml-demo", main_body_with(stranger, "n3w5uff1"), clock.at(1300.0)).status, 200);
    let p = get_stack(&az, "acmeml-demo", clock.at(2000.0)).body["properties"].clone();
    assert_eq!(p["error"]["details"][0]["code"], "PrincipalNotFound", "{p}");
}

#[test]
fn bad_stack_bodies_are_refused_before_anything_runs() {
    let (_d, az) = sim();
    let now = Utc::now();
    let mut body = storage_body();
    body["properties"].as_object_mut().unwrap().remove("template");
    let r = put_stack(&az, "acmeml-demo-storage", body, now);
    assert_eq!((r.status, code(&r)), (400, "InvalidRequestContent"));
    let mut body = storage_body();
    body["properties"]["parameters"]["nope"] = json!({"value": 1});
    let r = put_stack(&az, "acmeml-demo-storage", body, now);
    assert_eq!((r.status, code(&r)), (400, "InvalidTemplate"));
    assert!(message(&r).contains("nope"), "{}", message(&r));
    let mut body = storage_body();
    body["properties"]["parameters"].as_object_mut().unwrap().remove("suffix");
    assert_eq!(code(&put_stack(&az, "acmeml-demo-storage", body, now)), "InvalidTemplate");
    assert_eq!(get_stack(&az, "acmeml-demo-storage", now).status, 404);

    // A second PUT while the first runs is refused; another region for the same stack too.
    assert_eq!(put_stack(&az, "acmeml-demo-storage", storage_body(), now).status, 201);
    let busy = put_stack(&az, "acmeml-demo-storage", storage_body(), now + Duration::seconds(1));
    assert_eq!((busy.status, code(&busy)), (409, "DeploymentStackInNonTerminalState"));
    let mut moved = storage_body();
    moved["location"] = json!("northeurope");
    let r = put_stack(&az, "acmeml-demo-storage", moved, now + Duration::seconds(100));
    assert_eq!((r.status, code(&r)), (400, "InvalidDeploymentLocation"));
}

#[test]
fn names_are_checked_globally_and_soft_deleted_vaults_hold_theirs() {
    let (_d, az) = sim();
    let now = Utc::now();
    let check = |ns: &str, api: &str, name: &str, type_: &str| {
        let req = arm(Method::Post, &format!("/subscriptions/{DEV}/providers/{ns}/checkNameAvailability"), api)
            .body(json!({"name": name, "type": type_}));
        send(&az, req, now).body
    };
    let kv = |n: &str| check("Microsoft.KeyVault", "2023-07-01", n, "Microsoft.KeyVault/vaults");
    assert_eq!(kv("acmeml-kv-fresh1")["nameAvailable"], true);
    // Held by a soft-deleted vault in dev, and by a vault in the other subscription.
    assert_eq!(kv("old-experiments-kv")["reason"], "AlreadyExists");
    assert_eq!(kv("platform-secrets-kv")["nameAvailable"], false);
    assert_eq!(kv("1bad--name")["reason"], "Invalid");
    let st = check("Microsoft.Storage", "2023-05-01", "acmedatafresh1", "Microsoft.Storage/storageAccounts");
    assert_eq!(st["nameAvailable"], true);
    let st = check("Microsoft.Storage", "2023-05-01", "Has-Dashes", "Microsoft.Storage/storageAccounts");
    assert_eq!(st["reason"], "Invalid");
    let acr =
        check("Microsoft.ContainerRegistry", "2023-07-01", "acmeregfresh1", "Microsoft.ContainerRegistry/registries");
    assert_eq!(acr["nameAvailable"], true);
    let deleted = get(
        &az,
        &format!(
            "/subscriptions/{DEV}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/old-experiments-kv"
        ),
        now,
    );
    assert_eq!(deleted.status, 200);
    let none = get(
        &az,
        &format!("/subscriptions/{DEV}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/acme-kv-fresh1"),
        now,
    );
    assert_eq!(none.status, 404);
    let shared = get(&az, &format!("/subscriptions/{PROD}/resourcegroups/platform-shared"), now);
    assert_eq!(shared.body["tags"], json!({"owner": "platform-team"}));
    assert!(shared.body["tags"].get("managed-by").is_none());
    let vault = get(&az, &format!("/subscriptions/{PROD}/resourceGroups/platform-shared/providers/Microsoft.KeyVault/vaults/platform-secrets-kv"), now);
    assert_eq!(vault.body["properties"]["softDeleteRetentionInDays"], 90);
    let no_group =
        get(&az, &format!("/subscriptions/{DEV}/resourceGroups/nope/providers/Microsoft.KeyVault/vaults/x"), now);
    assert_eq!(code(&no_group), "ResourceGroupNotFound");
}

#[test]
fn state_persists_across_instances_on_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::new();
    let first = open(&dir, &[]);
    assert_eq!(put_stack(&first, "acmeml-demo-storage", storage_body(), clock.at(0.0)).status, 201);
    drop(first);
    let second = open(&dir, &[]);
    let r = get_stack(&second, "acmeml-demo-storage", clock.at(100.0));
    assert_eq!(r.body["properties"]["provisioningState"], "succeeded");
    assert_eq!(second.state_path(), dir.path().join(FILE_NAME));
    let third = open(&dir, &[]);
    assert_eq!(group(&third, "acmeml-demo-storage", clock.at(100.0)).status, 200);
}

#[test]
fn unreadable_state_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, "{ not json").unwrap();
    let e = SimulatedAzure::open(&config(&dir, &[]), &[]).unwrap_err();
    assert!(e.to_string().contains("corrupt") && e.to_string().contains(&path.display().to_string()), "{e}");
    assert!(e.next_step().contains(&format!("mv {}", path.display())), "{}", e.next_step());
    std::fs::write(&path, r#"{"format": 99}"#).unwrap();
    let e = SimulatedAzure::open(&config(&dir, &[]), &[]).unwrap_err();
    assert!(e.to_string().contains("format 99"), "{e}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), r#"{"format": 99}"#);
}

#[test]
fn unknown_calls_answer_404_naming_the_call() {
    let (_d, az) = sim();
    let now = Utc::now();
    let r = get(&az, &format!("/subscriptions/{DEV}/providers/Microsoft.Compute/virtualMachines"), now);
    assert_eq!(r.status, 404);
    assert!(
        message(&r).contains(&format!(
            "GET management.azure.com/subscriptions/{DEV}/providers/Microsoft.Compute/virtualMachines"
        )),
        "{}",
        message(&r)
    );
    assert!(r.body["error"]["details"].is_array());
    let g = send(&az, ApiRequest::new(Service::Graph, Method::Get, "/v1.0/users"), now);
    assert_eq!(g.status, 404);
    assert!(message(&g).contains("graph.microsoft.com/v1.0/users"), "{}", message(&g));
    let patch = send(&az, arm(Method::Patch, &stack_path(DEV, "x"), "2025-07-01"), now);
    assert_eq!(patch.status, 404);
}

#[tokio::test]
async fn answers_through_the_transport_trait() {
    let (_d, az) = sim();
    let t: crate::cloud::azure::SharedTransport = std::sync::Arc::new(az);
    assert_eq!(t.endpoints().base(Service::Arm), BASE);
    assert_eq!(t.endpoints().base(Service::Graph), BASE);
    let r = t.send(ApiRequest::arm(Method::Get, format!("/subscriptions/{DEV}"), "2022-12-01")).await.unwrap();
    assert_eq!(r.body["displayName"], "cloudgrant sandbox dev");
}

#[test]
fn connect_accepts_the_id_the_name_or_the_short_name() {
    let dir = tempfile::tempdir().unwrap();
    let vendor = crate::vendor::VendorProfile::bundled().unwrap();
    for key in [PROD, "cloudgrant sandbox prod", "sandbox-prod"] {
        let azure = crate::cloud::sandbox::connect_azure(&config(&dir, &[]), key, &vendor).unwrap();
        assert_eq!(azure.subscription().subscription_id, PROD);
        assert!(azure.options().sandbox);
        assert_eq!(azure.identity().principal, CALLER);
    }
    let e = crate::cloud::sandbox::connect_azure(&config(&dir, &[]), "nope", &vendor).unwrap_err();
    assert!(e.next_step().contains("sandbox-dev"), "{}", e.next_step());
    let accounts = crate::cloud::sandbox::azure_accounts();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0].key, DEV);
    assert!(accounts.iter().all(|a| a.sandbox));
}
