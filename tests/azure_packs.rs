//! Every Azure pack in the repository (the bundled `assets/` and each `examples/*/azure/`): the
//! plan lists exactly the resources its templates hold (an independent walk of the JSON, nested
//! templates included), each stack's fate is its template's `metadata.cloudgrant.fate`; and the
//! real binary inits, reports and revokes it in the sandbox's simulated Azure: the vendor's role
//! assignments are gone after revoke, the detached stacks' storage accounts stay.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::path::{Path, PathBuf};
#[path = "support/sandbox_cli.rs"]
mod sandbox_cli;

use std::process::Output;

use serde_json::Value;

fn azure_packs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![root.join("assets")];
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("azure").is_dir())
        .collect();
    examples.sort();
    assert!(!examples.is_empty(), "no example pack has Azure templates");
    out.extend(examples);
    out
}

/// (file stem, logical ids of every resource, nested ones included) per template.
fn walk(dir: &Path) -> Vec<(String, String, Vec<String>)> {
    fn ids(t: &Value, out: &mut Vec<String>) {
        for r in t["resources"].as_array().into_iter().flatten() {
            out.push(r["metadata"]["cloudgrant"]["id"].as_str().expect("every resource has an id").to_string());
            if r["properties"]["template"].is_object() {
                ids(&r["properties"]["template"], out);
            }
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("azure")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let t: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            let mut found = Vec::new();
            ids(&t, &mut found);
            let fate = t["metadata"]["cloudgrant"]["fate"].as_str().unwrap().to_string();
            (p.file_stem().unwrap().to_str().unwrap().to_string(), fate, found)
        })
        .collect()
}

fn run(sandbox: &Path, pack: &Path, args: &[&str]) -> Output {
    sandbox_cli::output(sandbox_cli::cloudgrant(sandbox).arg("--vendor").arg(pack).args(args).args([
        "--cloud",
        "azure",
        "--sandbox",
        "--subscription",
        "sandbox-dev",
    ]))
}

fn ok(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    text
}

#[test]
fn each_plan_holds_exactly_its_templates_resources_with_their_fates() {
    for dir in azure_packs() {
        let out = run(Path::new("/nonexistent"), &dir, &["plan", "--org", "acme", "--output", "json"]);
        let plan: Value = serde_json::from_str(&ok(&out)).expect("plan json");
        let groups = plan["groups"].as_array().unwrap();
        let walked = walk(&dir);
        assert_eq!(groups.len(), walked.len(), "{}", dir.display());
        for (key, fate, ids) in walked {
            let g = groups.iter().find(|g| g["key"] == key.as_str()).unwrap_or_else(|| panic!("{key} in the plan"));
            let planned: Vec<&str> = g["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap())
                .filter(|id| *id != "VendorServicePrincipal")
                .collect();
            assert_eq!(planned, ids.iter().map(String::as_str).collect::<Vec<_>>(), "{}: {key}", dir.display());
            for r in g["resources"].as_array().unwrap().iter().filter(|r| r["id"] != "VendorServicePrincipal") {
                let outcome = r["on_revoke"].as_str().unwrap();
                let expected: &[&str] = if fate == "detach" { &["keep", "detach"] } else { &["delete", "soft_delete"] };
                assert!(expected.contains(&outcome), "{}: {key}/{} is {outcome}", dir.display(), r["id"]);
            }
        }
    }
}

#[test]
fn each_pack_inits_reports_and_revokes_in_the_sandbox() {
    for dir in azure_packs() {
        let sandbox = tempfile::tempdir().unwrap();
        let init = ok(&run(sandbox.path(), &dir, &["init", "--org", "acme", "--yes"]));
        assert!(init.contains("Done."), "{}: {init}", dir.display());
        let status = ok(&run(sandbox.path(), &dir, &["status", "--org", "acme"]));
        for (key, _, _) in walk(&dir) {
            let vendor_id = cloudgrant::vendor::VendorProfile::with_pack(cloudgrant::pack::Pack::load(&dir).unwrap())
                .unwrap()
                .vendor
                .id;
            let name = cloudgrant::plan::azure::stack_name(&vendor_id, "acme", &key);
            assert!(status.contains(&name), "{}: {name} in {status}", dir.display());
        }
        let revoke = ok(&run(sandbox.path(), &dir, &["revoke", "--org", "acme", "--yes"]));
        assert!(!revoke.contains("[FAILED]"), "{}: {revoke}", dir.display());
        let world: Value =
            serde_json::from_str(&std::fs::read_to_string(sandbox.path().join("azure.json")).unwrap()).unwrap();
        let of = |t: &str| -> Vec<Value> {
            world["resources"]
                .as_object()
                .unwrap()
                .values()
                .filter(|r| r["type"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(t)))
                .cloned()
                .collect()
        };
        let granted: Vec<Value> = of("Microsoft.Authorization/roleAssignments")
            .into_iter()
            .filter(|r| r["properties"]["principalType"] != "User")
            .collect();
        assert!(granted.is_empty(), "{}: access left after revoke: {granted:?}", dir.display());
        assert!(!of("Microsoft.Storage/storageAccounts").is_empty(), "{}: the kept data account", dir.display());
    }
}
