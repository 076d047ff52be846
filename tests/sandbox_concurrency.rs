//! Several processes on one sandbox directory (issue 13): four inits of different orgs at once,
//! on the simulated Google Cloud and the simulated Azure, all complete and all survive: the
//! state file's lock keeps one process from writing back a state read before another's change.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::process::{Command, Stdio};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn four_inits_at_once_all_survive(scope: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let orgs = ["alpha", "bravo", "charlie", "delta"];
    let run = |args: Vec<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cloudgrant"));
        c.args(args)
            .args(scope)
            .env("CLOUDGRANT_SANDBOX_DIR", dir.path())
            .env("CLOUDGRANT_RECEIPTS_DIR", dir.path().join("receipts"))
            .env("CLOUDGRANT_SANDBOX_SPEED", "400")
            .env_remove("CLOUDGRANT_GCP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    let children: Vec<_> =
        orgs.iter().map(|org| (org, run(vec!["init", "--org", org, "--yes"]).spawn().expect("spawn"))).collect();
    for (org, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{org}: {}\n{}", text(&out.stdout), text(&out.stderr));
    }
    let out = run(vec!["status", "--output", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let installs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for org in orgs {
        let inst = installs.as_array().unwrap().iter().find(|i| i["org"] == org);
        let inst = inst.unwrap_or_else(|| panic!("{org} survived the others: {installs:#}"));
        assert_eq!(inst["health"]["state"], "complete", "{org}: {inst:#}");
    }
}

#[test]
fn four_concurrent_inits_on_the_simulated_google_cloud_all_survive() {
    four_inits_at_once_all_survive(&["--cloud", "gcp", "--sandbox", "--project", "cg-sandbox-dev"]);
}

#[test]
fn four_concurrent_inits_on_the_simulated_azure_all_survive() {
    four_inits_at_once_all_survive(&["--cloud", "azure", "--sandbox", "--subscription", "sandbox-dev"]);
}
