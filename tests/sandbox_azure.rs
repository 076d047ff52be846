//! The Azure flow end to end on the real binary, against the sandbox's simulated Azure: the Azure
//! provider's own code (the ARM and Graph calls it makes) answered by the simulation, which
//! deploys the very templates the preview shows. Init, a re-run that duplicates nothing, status,
//! revoke with the vault soft-deleted and the data kept, and a failed init that revoke can still
//! clean up.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

#[path = "support/sandbox_cli.rs"]
mod sandbox_cli;

use std::process::Output;

use serde_json::{json, Value};

const DEV: &str = "1d7e2f90-3c4b-4a5d-8e6f-7a8b9c0d1e2f";

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox { dir: tempfile::tempdir().expect("tmp") }
    }

    fn run(&self, args: &[&str]) -> Output {
        sandbox_cli::output(sandbox_cli::cloudgrant(self.dir.path()).args(args))
    }

    /// The simulated Azure's state, as the next process will read it.
    fn world(&self) -> Value {
        let text = std::fs::read_to_string(self.dir.path().join("azure.json")).expect("azure.json");
        serde_json::from_str(&text).expect("azure.json is JSON")
    }

    /// Resources of the simulated world of `type_`, by id.
    fn resources_of(&self, type_: &str) -> Vec<Value> {
        self.world()["resources"]
            .as_object()
            .expect("resources")
            .values()
            .filter(|r| r["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(type_)))
            .cloned()
            .collect()
    }

    /// Role assignments held by anyone but the signed-in user (the seeded Owner).
    fn granted(&self) -> Vec<Value> {
        self.resources_of("Microsoft.Authorization/roleAssignments")
            .into_iter()
            .filter(|r| r["properties"]["principalType"] != "User")
            .collect()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// `sandbox-dev` is the short name; the subscription id and display name work too.
const AZURE: [&str; 5] = ["--cloud", "azure", "--sandbox", "--subscription", "sandbox-dev"];

fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = args.to_vec();
    v.extend(AZURE);
    v
}

fn status(sb: &Sandbox) -> Value {
    let out = sb.run(&with(&["status", "--org", "demo", "--output", "json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("status json")
}

#[test]
fn init_rerun_status_revoke_on_the_simulated_subscription() {
    let sb = Sandbox::new();
    let out = sb.run(&with(&["init", "--org", "demo", "--yes"]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    // Every resource of both templates reported done, from the deployments' operations, and the
    // service principal made through Graph, each under its template id: the role and its
    // assignments too, though Azure names them by GUIDs (an assignment by what it sits on).
    for id in [
        "StorageGroup",
        "DataAccount",
        "DataContainer",
        "VendorServicePrincipal",
        "VendorGroup",
        "Network",
        "MachinesIdentity",
        "Vault",
        "Registry",
        "ImagesAccount",
        "MachineOperatorRole",
        "VendorRoleAssignment",
        "MachinesVaultAccess",
        "MachinesRegistryAccess",
        "MachinesImagesAccess",
        "MachinesDataAccess",
    ] {
        assert!(
            stdout.lines().any(|l| l.contains(&format!(" {id} ")) && l.contains("CREATE_COMPLETE")),
            "no completed event for {id}:\n{stdout}"
        );
    }
    assert!(stdout.contains(DEV), "the vendor is told the subscription: {stdout}");

    let installs = status(&sb);
    assert_eq!(installs[0]["cloud"], "azure", "{installs}");
    assert_eq!(installs[0]["org"], "demo");
    assert_eq!(installs[0]["account"], DEV);
    let granted = sb.granted();
    // The vendor's role on its group, and the machines' four grants.
    assert_eq!(granted.len(), 5, "{granted:#?}");
    // Hardened as the preview says (docs/hardening.md): the data access works only from the
    // machines' subnet, and the vault and image storage accept that subnet alone.
    let subnet = format!(
        "/subscriptions/{DEV}/resourceGroups/acmeml-demo/providers/Microsoft.Network/virtualNetworks/acmeml-demo-vnet/subnets/machines"
    );
    let conditioned: Vec<&Value> = granted.iter().filter(|g| g["properties"]["condition"].is_string()).collect();
    assert_eq!(conditioned.len(), 1, "only the data access is conditioned: {granted:#?}");
    let condition = conditioned[0]["properties"]["condition"].as_str().unwrap();
    assert!(conditioned[0]["id"].as_str().unwrap().contains("acmeml-demo-storage"), "{conditioned:#?}");
    assert!(condition.ends_with(&format!("StringEqualsIgnoreCase '{subnet}'))")), "{condition}");
    assert_eq!(conditioned[0]["properties"]["conditionVersion"], "2.0");
    for type_ in ["Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts"] {
        let ours =
            sb.resources_of(type_).into_iter().filter(|r| r["resource_group"] == "acmeml-demo").collect::<Vec<_>>();
        assert_eq!(ours.len(), 1, "{type_} in the vendor's group: {ours:#?}");
        for r in &ours {
            let acls = &r["properties"]["networkAcls"];
            assert_eq!(acls["defaultAction"], "Deny", "{r:#}");
            assert_eq!(acls["virtualNetworkRules"][0]["id"], subnet.as_str(), "{r:#}");
        }
    }
    let resources = sb.world()["resources"].as_object().unwrap().len();

    // A second run updates the same stacks in place: nothing new, nothing duplicated.
    let out = sb.run(&with(&["init", "--org", "demo", "--yes"]));
    let again = text(&out.stdout);
    assert!(out.status.success(), "{again}\n{}", text(&out.stderr));
    assert!(!again.contains("CREATE_IN_PROGRESS"), "{again}");
    assert_eq!(sb.world()["resources"].as_object().unwrap().len(), resources, "nothing duplicated");
    assert_eq!(sb.granted().len(), 5);
    assert_eq!(sb.world()["service_principals"].as_object().unwrap().len(), 1);
    assert_eq!(status(&sb)[0]["groups"].as_array().map(Vec::len), Some(2));

    let out = sb.run(&with(&["revoke", "--org", "demo", "--yes", "--output", "json"]));
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let residue: Value = serde_json::from_slice(&out.stdout).expect("residue json");
    let items = residue["items"].as_array().expect("items");
    let state_of = |needle: &str| {
        items
            .iter()
            .find(|i| i["physical_id"].as_str().is_some_and(|p| p.contains(needle)))
            .and_then(|i| i["state"].as_str())
            .map(String::from)
    };
    assert_eq!(state_of("acmeml-kv-").as_deref(), Some("soft_deleted"), "the vault is soft-deleted: {residue}");
    assert_eq!(state_of("acmemldata").as_deref(), Some("kept"), "the data account is kept: {residue}");
    let checks = residue["checks"].as_array().expect("checks");
    assert!(!checks.is_empty() && checks.iter().all(|c| c["ok"] == true), "verification: {residue}");

    // In the simulated world: no grant left, the vault soft-deleted, the data where it was.
    assert!(sb.granted().is_empty(), "{:#?}", sb.granted());
    let deleted = sb.world()["deleted_vaults"].as_array().unwrap().clone();
    assert!(deleted.iter().any(|v| v["name"].as_str().is_some_and(|n| n.starts_with("acmeml-kv-"))), "{deleted:#?}");
    assert_eq!(sb.resources_of("Microsoft.Storage/storageAccounts").len(), 1, "only the data account is left");
    assert!(sb.resources_of("Microsoft.Resources/resourceGroups").iter().any(|g| g["name"] == "acmeml-demo-storage"));
    assert!(!sb.resources_of("Microsoft.Resources/resourceGroups").iter().any(|g| g["name"] == "acmeml-demo"));
    // No stack is left; status names what the revoke kept, which a re-install re-attaches.
    let after = status(&sb);
    assert_eq!(after[0]["groups"], json!([]), "no stack of the install is left: {after}");
    let kept = &after[0]["leftovers"][0];
    assert!(
        kept["physical_id"].as_str().is_some_and(|n| n.starts_with("acmemldata")) && kept["state"] == "kept",
        "{after}"
    );
}

#[test]
fn a_failed_init_names_the_cause_and_revoke_still_cleans_up() {
    let sb = Sandbox::new();
    let out = sb.run(&with(&["init", "--org", "demo", "--yes", "--sandbox-fail", "Vault"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("Vault") && err.contains("already in use") && err.contains("next:"), "{err}");

    // What was made before the failure is found again from the subscription, and revoked.
    let installs = status(&sb);
    assert_eq!(installs[0]["org"], "demo", "{installs}");
    let identities = sb.resources_of("Microsoft.ManagedIdentity/userAssignedIdentities");
    assert_eq!(identities.len(), 1, "the identity was made before the vault failed");
    let out = sb.run(&with(&["revoke", "--org", "demo", "--yes"]));
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(sb.granted().is_empty(), "{:#?}", sb.granted());
    assert!(!sb.resources_of("Microsoft.Resources/resourceGroups").iter().any(|g| g["name"] == "acmeml-demo"));
    assert_eq!(sb.world()["stacks"].as_object().map(|s| s.len()), Some(0));
}
