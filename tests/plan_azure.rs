//! The Azure plan, read from assets/azure/*.json: what it contains, that the stacks the provider
//! sends are the files as written, and that bad input is refused with the place and the fix.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose
use cloudgrant::model::{Cloud, Effect, OnRevoke, ParameterSource, PermissionKind};
use cloudgrant::plan::azure::{self, MAIN, STORAGE};
use cloudgrant::plan::Choices;
use cloudgrant::vendor::VendorProfile;
use serde_json::Value;

const SUB: &str = "11111111-2222-3333-4444-555555555555";
const SUFFIX: &str = "x1y2z3w4";

fn vendor() -> VendorProfile {
    VendorProfile::bundled().unwrap()
}

fn choices(org: &str, sub: Option<&str>) -> Choices {
    Choices { org: org.into(), region: "westeurope".into(), account: sub.map(str::to_string), external_id: None }
}

fn template(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("assets/azure/{file}")).unwrap()).unwrap()
}

#[test]
fn two_stacks_storage_first_main_deleted_storage_kept() {
    let plan = azure::build(&vendor(), &choices("demo", Some(SUB)), SUFFIX).unwrap();
    assert_eq!(plan.cloud, Cloud::Azure);
    assert_eq!(plan.account.as_deref(), Some(SUB));
    let keys: Vec<&str> = plan.groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, [STORAGE, MAIN]);
    assert_eq!(plan.group(STORAGE).unwrap().name, "acmeml-demo-storage");
    assert_eq!(plan.group(MAIN).unwrap().name, "acmeml-demo");
    assert_eq!(plan.group(MAIN).unwrap().depends_on, [STORAGE]);
    let revoke: Vec<&str> = plan.revoke_order().iter().map(|g| g.key.as_str()).collect();
    assert_eq!(revoke, [MAIN, STORAGE], "access ends first");
    for r in &plan.group(STORAGE).unwrap().resources {
        // The storage stack detaches: its deployment record is detached, the rest kept.
        let expected = if r.type_ == azure::TYPE_DEPLOYMENT { OnRevoke::Detach } else { OnRevoke::Keep };
        assert_eq!(r.on_revoke, expected, "{}", r.id);
    }
    let main = plan.group(MAIN).unwrap();
    let vault = main.resources.iter().find(|r| r.id == "Vault").unwrap();
    assert_eq!(vault.on_revoke, OnRevoke::SoftDelete);
    assert_eq!(vault.pending_window_days, Some(7));
    assert_eq!(vault.name.as_deref(), Some("acmeml-kv-x1y2z3w4"));
    let sp = main.resources.iter().find(|r| r.id == azure::SERVICE_PRINCIPAL_ID).unwrap();
    assert_eq!(sp.on_revoke, OnRevoke::Keep);
    assert_eq!(sp.name.as_deref(), Some(vendor().azure.app_id.as_str()));
    let names: Vec<(&str, Option<&str>)> =
        plan.groups.iter().flat_map(|g| g.resources.iter()).map(|r| (r.id.as_str(), r.name.as_deref())).collect();
    for (id, name) in [
        ("StorageGroup", "acmeml-demo-storage"),
        ("DataAccount", "acmemldatax1y2z3w4"),
        ("DataContainer", "acmemldatax1y2z3w4/default/data"),
        ("VendorGroup", "acmeml-demo"),
        ("Network", "acmeml-demo-vnet"),
        ("MachinesIdentity", "acmeml-demo-machines"),
        ("Registry", "acmemlregx1y2z3w4"),
        ("ImagesAccount", "acmemlimgx1y2z3w4"),
    ] {
        assert!(names.contains(&(id, Some(name))), "{id} {name}: {names:?}");
    }
    // Role-assignment and role-definition names are GUIDs Azure derives with its own hash.
    for id in ["VendorRoleAssignment", "MachinesVaultAccess", "MachineOperatorRole"] {
        assert_eq!(main.resources.iter().find(|r| r.id == id).unwrap().name, None, "{id}");
    }
    let ra = main.resources.iter().find(|r| r.id == "VendorRoleAssignment").unwrap();
    assert!(ra.depends_on.contains(&"MachineOperatorRole".to_string()), "{:?}", ra.depends_on);
    let dp = main.parameters.iter().find(|p| p.name == "dataAccountName").unwrap();
    assert_eq!(dp.value, "acmemldatax1y2z3w4");
    assert_eq!(dp.source, ParameterSource::Output { group: STORAGE.into(), output: "dataAccountName".into() });
    assert_eq!(azure::suffix_of(&plan).as_deref(), Some(SUFFIX));
}

#[test]
fn every_template_resource_is_in_the_plan_and_nothing_else() {
    fn walk(v: &Value, out: &mut Vec<(String, String)>) {
        for r in v.get("resources").and_then(Value::as_array).into_iter().flatten() {
            let id = r.pointer("/metadata/cloudgrant/id").and_then(Value::as_str).unwrap().to_string();
            out.push((id, r["type"].as_str().unwrap().to_string()));
            if let Some(t) = r.pointer("/properties/template") {
                walk(t, out);
            }
        }
    }
    let plan = azure::build(&vendor(), &choices("demo", Some(SUB)), SUFFIX).unwrap();
    for (key, file) in [(STORAGE, "storage.json"), (MAIN, "main.json")] {
        let mut want = Vec::new();
        walk(&template(file), &mut want);
        if key == MAIN {
            want.insert(0, (azure::SERVICE_PRINCIPAL_ID.to_string(), azure::SERVICE_PRINCIPAL_TYPE.to_string()));
        }
        let got: Vec<(String, String)> =
            plan.group(key).unwrap().resources.iter().map(|r| (r.id.clone(), r.type_.clone())).collect();
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn role_assignments_become_permissions_with_the_roles_actions_and_scopes() {
    let plan = azure::build(&vendor(), &choices("demo", Some(SUB)), SUFFIX).unwrap();
    let rg = format!("/subscriptions/{SUB}/resourceGroups/acmeml-demo");
    let rg_prefix = rg.clone();
    let main = plan.group(MAIN).unwrap();
    let trust: Vec<_> = plan.trust().collect();
    assert_eq!(trust.len(), 1);
    assert!(trust[0].1.principal.contains(&vendor().azure.app_id));
    let vendor_grant = main.permissions.iter().find(|p| p.holder == "VendorRoleAssignment").unwrap();
    assert_eq!(vendor_grant.kind, PermissionKind::Identity);
    assert_eq!(vendor_grant.resources, [rg], "the vendor's role reaches its own group only");
    assert!(vendor_grant.principal.contains("service principal"));
    assert_eq!(vendor_grant.policy, "Acme ML machine operator (demo)");
    let custom = template("main.json");
    let role = custom
        .pointer("/resources/1/properties/template/resources")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Microsoft.Authorization/roleDefinitions")
        .unwrap();
    let want: Vec<String> = role["properties"]["permissions"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(vendor_grant.actions, want);
    assert!(vendor_grant.source.as_ref().unwrap().to_string().starts_with("azure/main.json:"));
    let vault = main.permissions.iter().find(|p| p.holder == "MachinesVaultAccess").unwrap();
    assert_eq!(vault.principal, "managed identity acmeml-demo-machines");
    assert_eq!(vault.policy, "Key Vault Secrets User (built-in)");
    assert_eq!(vault.resources, [format!("{rg_prefix}/providers/Microsoft.KeyVault/vaults/acmeml-kv-x1y2z3w4")]);
    assert!(vault.actions.iter().any(|a| a == "Microsoft.KeyVault/vaults/secrets/getSecret/action"));
    let data = main.permissions.iter().find(|p| p.holder == "MachinesDataAccess").unwrap();
    assert_eq!(data.principal, "managed identity acmeml-demo-machines");
    assert_eq!(
        data.resources,
        [format!(
            "/subscriptions/{SUB}/resourceGroups/acmeml-demo-storage/providers/Microsoft.Storage/storageAccounts/acmemldatax1y2z3w4"
        )]
    );
    assert!(plan.permissions().all(|(_, p)| p.effect == Effect::Allow));
    assert!(
        plan.permissions().all(|(_, p)| !p.resources.iter().any(|r| r == &format!("/subscriptions/{SUB}"))
            || p.kind == PermissionKind::Trust),
        "no role at subscription scope"
    );
}

#[test]
fn the_stack_bodies_carry_the_template_files_as_written() {
    let spec = azure::spec(&vendor(), &choices("demo", Some(SUB)), SUFFIX).unwrap();
    assert_eq!(spec.vault, "acmeml-kv-x1y2z3w4");
    assert_eq!(spec.data_account, "acmemldatax1y2z3w4");
    assert_eq!(spec.images_account, "acmemlimgx1y2z3w4");
    assert_eq!(spec.identity, "acmeml-demo-machines");
    assert_eq!(spec.registry, "acmemlregx1y2z3w4");
    let main = spec.stack(MAIN).unwrap();
    let body = main.request_body("westeurope", Some("pid-1"));
    assert_eq!(body["properties"]["template"], template("main.json"));
    assert_eq!(body["properties"]["parameters"]["vendorPrincipalId"]["value"], "pid-1");
    assert_eq!(body["properties"]["actionOnUnmanage"]["resources"], "delete");
    assert_eq!(body["properties"]["actionOnUnmanage"]["resourceGroups"], "delete");
    assert_eq!(body["tags"]["managed-by"], "cloudgrant");
    assert_eq!(body["tags"]["cloudgrant-stack"], "main");
    let storage = spec.stack(STORAGE).unwrap().request_body("westeurope", None);
    assert_eq!(storage["properties"]["template"], template("storage.json"));
    assert_eq!(storage["properties"]["actionOnUnmanage"]["resources"], "detach");
    assert_eq!(storage["properties"]["actionOnUnmanage"]["resourceGroups"], "detach");
    assert!(storage["properties"]["parameters"].get("vendorPrincipalId").is_none());
    assert_eq!(main.logical_id("Microsoft.KeyVault/vaults", "acmeml-kv-x1y2z3w4"), Some("Vault"));
    assert_eq!(main.logical_id("microsoft.keyvault/VAULTS", "ACMEML-kv-x1y2z3w4"), Some("Vault"));
    assert_eq!(main.logical_id("Microsoft.KeyVault/vaults", "other"), None);
    let rg = format!("/subscriptions/{SUB}/resourceGroups/acmeml-demo");
    let vault = format!("{rg}/providers/Microsoft.KeyVault/vaults/acmeml-kv-x1y2z3w4");
    assert_eq!(main.logical_id_of(&vault), Some("Vault"));
    let on = |scope: &str| {
        format!("{scope}/providers/Microsoft.Authorization/roleAssignments/0b6e1c59-0000-4000-8000-000000000000")
    };
    assert_eq!(main.logical_id_of(&on(&vault)), Some("MachinesVaultAccess"), "named by what it sits on");
    assert_eq!(main.logical_id_of(&on(&rg)), Some("VendorRoleAssignment"));
    let data = format!(
        "/subscriptions/{SUB}/resourceGroups/acmeml-demo-storage/providers/Microsoft.Storage/storageAccounts/acmemldatax1y2z3w4"
    );
    assert_eq!(main.logical_id_of(&on(&data)), Some("MachinesDataAccess"));
    assert_eq!(
        main.logical_id_of(&format!("{rg}/providers/Microsoft.Network/virtualNetworks/acmeml-demo-vnet")),
        Some("Network")
    );
    assert_eq!(main.logical_id_of(&on("/subscriptions/x")), None);
    let role = format!(
        "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/0b6e1c59-0000-4000-8000-000000000000"
    );
    assert_eq!(main.logical_id_of(&role), Some("MachineOperatorRole"), "the one custom role");
}

#[test]
fn a_plan_is_refused_when_it_differs_from_the_templates() {
    let v = vendor();
    let plan = azure::build(&v, &choices("demo", Some(SUB)), SUFFIX).unwrap();
    assert!(azure::spec_for(&plan, &v).is_ok());
    let mut changed = plan.clone();
    changed.groups[1].permissions[1].actions.push("Microsoft.Authorization/roleAssignments/write".into());
    let e = azure::spec_for(&changed, &v).unwrap_err().to_string();
    assert!(e.contains("differs"), "{e}");
}

#[test]
fn bad_input_names_the_field_and_the_fix() {
    let v = vendor();
    let e = azure::build(&v, &Choices { region: "West Europe".into(), ..choices("demo", None) }, SUFFIX).unwrap_err();
    assert!(e.to_string().contains("location") && e.to_string().contains("westeurope"), "{e}");
    let e = azure::build(&v, &choices("demo", None), "ABC").unwrap_err();
    assert!(e.to_string().contains("suffix"), "{e}");
    let e = azure::build(&v, &choices("Demo", None), SUFFIX).unwrap_err();
    assert!(e.to_string().contains("org"), "{e}");
    // Without a subscription the plan still previews every name and grant.
    let offline = azure::build(&v, &choices("demo", None), SUFFIX).unwrap();
    assert_eq!(offline.account, None);
    assert!(offline.permissions().count() >= 6);
    let s = azure::new_suffix();
    assert_eq!(s.len(), 8);
    assert_ne!(s, azure::new_suffix());
    assert!(azure::build(&v, &choices("demo", None), &s).is_ok());
}
