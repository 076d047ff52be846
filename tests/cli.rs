//! The real binary's plain commands: exit codes, plain event lines, JSON shapes, and clear
//! errors for bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::process::{Command, Output, Stdio};

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox { dir: tempfile::tempdir().expect("tmp") }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cloudgrant"))
            .args(args)
            .env("CLOUDGRANT_SANDBOX_DIR", self.dir.path())
            .env("CLOUDGRANT_SANDBOX_SPEED", "50")
            .stdin(Stdio::null())
            .output()
            .expect("run cloudgrant")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn plan_json_has_the_stable_fields_and_works_offline() {
    let sb = Sandbox::new();
    let out = sb.run(&["plan", "--cloud", "aws", "--org", "demo", "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(plan["cloud"], "aws");
    let groups = plan["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 3);
    let mut on_revoke = std::collections::BTreeSet::new();
    for g in groups {
        assert!(g["name"].as_str().expect("name").starts_with("acmeml-demo-"));
        for r in g["resources"].as_array().expect("resources") {
            assert!(r["id"].is_string() && r["type"].is_string());
            on_revoke.insert(r["on_revoke"].as_str().expect("on_revoke").to_string());
        }
        for p in g["permissions"].as_array().expect("permissions") {
            for field in ["principal", "effect", "actions", "resources", "conditions"] {
                assert!(p.get(field).is_some(), "{field} in {p}");
            }
        }
    }
    assert_eq!(on_revoke.into_iter().collect::<Vec<_>>(), ["delete", "keep", "scheduled_deletion"]);
}

#[test]
fn plan_text_and_markdown_render() {
    let sb = Sandbox::new();
    let out = sb.run(&["plan", "--org", "demo", "--output", "markdown", "--account-id", "123456789012"]);
    let md = text(&out.stdout);
    assert!(out.status.success());
    assert!(md.contains("## Trust: who can act in your account"));
    assert!(md.contains("arn:aws:iam::111122223333:root"));
    assert!(md.contains("arn:aws:iam::123456789012:role/acmeml-demo-instance"));
    let out = sb.run(&["plan", "--org", "demo"]);
    assert!(text(&out.stdout).contains("why: Holds the data the vendor's machines work on"));
}

#[test]
fn bad_input_is_named_with_the_fix() {
    let sb = Sandbox::new();
    let out = sb.run(&["plan", "--org", "Bad_Org"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("org name `Bad_Org`") && err.contains("expected 2-24 characters"), "{err}");
    let out = sb.run(&["plan", "--org", "demo", "--region", "moon-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("region `moon-1`"));
    let vendor = sb.dir.path().join("vendor.toml");
    std::fs::write(&vendor, include_str!("../assets/vendor.toml").replace("111122223333", "12345")).expect("write");
    let out = sb.run(&["plan", "--org", "demo", "--vendor", vendor.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("aws.account_id `12345`"), "{}", text(&out.stderr));
    let out = Command::new(env!("CARGO_BIN_EXE_cloudgrant"))
        .args(["status", "--sandbox"])
        .env("CLOUDGRANT_SANDBOX_DIR", sb.dir.path())
        .env("CLOUDGRANT_SANDBOX_SPEED", "warp")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("CLOUDGRANT_SANDBOX_SPEED `warp`"));
}

#[test]
fn init_without_yes_and_without_a_terminal_refuses() {
    let sb = Sandbox::new();
    let out = sb.run(&["init", "--org", "demo", "--sandbox"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Pass --yes"));
    let out = sb.run(&["status", "--sandbox"]);
    assert!(text(&out.stdout).contains("No cloudgrant install"), "nothing was created");
}

#[test]
fn init_status_revoke_with_plain_lines() {
    let sb = Sandbox::new();
    let out = sb.run(&["init", "--cloud", "aws", "--org", "demo", "--sandbox", "--yes"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let event_lines: Vec<&str> = stdout.lines().filter(|l| l.contains(" CREATE_")).collect();
    // Two stack events per stack, three per resource.
    assert_eq!(event_lines.len(), 3 * 2 + 20 * 3, "{stdout}");
    assert!(stdout.contains("VendorRoleArn: arn:aws:iam::210987654321:role/acmeml-demo-vendor"));
    let external = stdout.lines().find_map(|l| l.trim().strip_prefix("ExternalId: ")).expect("external id");
    assert!(external.len() >= 32);

    let out = sb.run(&["status", "--org", "demo", "--sandbox", "--output", "json"]);
    let installs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(installs[0]["org"], "demo");
    assert_eq!(installs[0]["outputs"]["ExternalId"], external);

    let out = sb.run(&["revoke", "--org", "demo", "--sandbox", "--yes", "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let residue: serde_json::Value = serde_json::from_slice(&out.stdout).expect("residue json");
    let states: Vec<&str> =
        residue["items"].as_array().expect("items").iter().filter_map(|i| i["state"].as_str()).collect();
    assert!(states.contains(&"kept") && states.contains(&"pending_deletion"), "{states:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("DataBucket AWS::S3::Bucket DELETE_SKIPPED"), "{stderr}");
    assert!(stderr.contains("aws kms cancel-key-deletion --key-id"));
    let out = sb.run(&["revoke", "--org", "demo", "--sandbox", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    // Nothing of it stands; what it left (the kept bucket, the key pending deletion) is named.
    let err = text(&out.stderr);
    assert!(err.contains("no install of org demo found") && err.contains("left alone"), "{err}");
    assert!(err.contains("acmeml-demo-data-210987654321"), "{err}");
}

#[test]
fn failed_init_exits_non_zero_with_the_root_cause() {
    let sb = Sandbox::new();
    let out = sb.run(&["init", "--org", "demo", "--sandbox", "--yes", "--sandbox-fail", "DataKey"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("kms:CreateKey") && err.contains("next:"), "{err}");
    assert!(text(&out.stdout).contains("ROLLBACK_COMPLETE"));
}

/// Fixed secrets in the environment: none may reach a receipt or the debug log.
const TOKENS: [(&str, &str); 5] = [
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-fixed-secret-K7MDENG-bPxRfiCY"),
    ("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEfixed-session-token-0123456789"),
    ("AZURE_CLIENT_SECRET", "azure-fixed-client-secret-0123456789abcdef"),
    ("CLOUDGRANT_GCP_TOKEN", "ya29.fixed-gcp-access-token-0123456789"),
    ("CLOUDGRANT_AZURE_TOKEN", "eyJ0eXAiOiJKV1Qi.eyJzdWIiOiJmaXhlZCJ9.fixed-azure-signature"),
];

fn run_with_tokens(sb: &Sandbox, receipts: &std::path::Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudgrant"));
    cmd.args(args)
        .env("CLOUDGRANT_SANDBOX_DIR", sb.dir.path())
        .env("CLOUDGRANT_SANDBOX_SPEED", "50")
        .env("CLOUDGRANT_RECEIPTS_DIR", receipts)
        .stdin(Stdio::null());
    for (k, v) in TOKENS {
        cmd.env(k, v);
    }
    cmd.output().expect("run cloudgrant")
}

fn all_text_in(dir: &std::path::Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        out.push_str(&std::fs::read_to_string(e.expect("entry").path()).expect("text file"));
    }
    out
}

#[test]
fn every_init_and_revoke_leaves_a_receipt_that_holds_no_token_on_every_cloud() {
    for (cloud, place) in [
        ("aws", vec![]),
        ("gcp", vec!["--project", "cg-sandbox-dev"]),
        ("azure", vec!["--subscription", "sandbox-dev"]),
    ] {
        let sb = Sandbox::new();
        let receipts = sb.dir.path().join("receipts");
        let log = sb.dir.path().join("debug.log");
        let log_arg = log.to_str().expect("utf8");
        let mut args = vec!["init", "--cloud", cloud, "--org", "demo", "--sandbox", "--yes", "--log-file", log_arg];
        args.extend(place.iter().copied());
        let out = run_with_tokens(&sb, &receipts, &args);
        assert!(out.status.success(), "{cloud} init: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("Receipt: "), "{cloud}: the receipt's path is said: {}", text(&out.stderr));
        let mut args = vec!["revoke", "--cloud", cloud, "--org", "demo", "--sandbox", "--yes", "--log-file", log_arg];
        args.extend(place.iter().copied());
        let out = run_with_tokens(&sb, &receipts, &args);
        assert!(out.status.success(), "{cloud} revoke: {}", text(&out.stderr));

        let files: Vec<String> = std::fs::read_dir(&receipts)
            .expect("receipts dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), 4, "{cloud}: JSON and Markdown of init and revoke: {files:?}");
        let written = all_text_in(&receipts) + &std::fs::read_to_string(&log).expect("log written");
        for (k, v) in TOKENS {
            assert!(!written.contains(v), "{cloud}: {k}'s value is in a receipt or the log");
        }

        let list = run_with_tokens(&sb, &receipts, &["receipts"]);
        let listed = text(&list.stdout);
        assert!(
            listed.contains(&format!("{cloud}-demo-init")) && listed.contains(&format!("{cloud}-demo-revoke")),
            "{listed}"
        );
        let id =
            listed.lines().find(|l| l.contains("-demo-revoke")).and_then(|l| l.split_whitespace().next()).expect("id");
        let md = run_with_tokens(&sb, &receipts, &["receipts", "show", id, "--output", "markdown"]);
        assert!(md.status.success(), "{}", text(&md.stderr));
        let md = text(&md.stdout);
        for needle in [
            "# cloudgrant receipt: Acme ML access revoked",
            "- Who: `",
            "sha256 `",
            "## What revoke did",
            "## Checks",
            "kept (with your data)",
        ] {
            assert!(md.contains(needle), "{cloud}: `{needle}` in\n{md}");
        }
        let id =
            listed.lines().find(|l| l.contains("-demo-init")).and_then(|l| l.split_whitespace().next()).expect("id");
        let json = run_with_tokens(&sb, &receipts, &["receipts", "show", id, "--output", "json"]);
        let r: serde_json::Value = serde_json::from_slice(&json.stdout).expect("receipt json");
        assert_eq!(r["flow"], "init");
        assert_eq!(r["cloud"], cloud);
        assert_eq!(r["outcome"]["ok"], true);
        assert!(r["approved"]["plan_sha256"].as_str().is_some_and(|s| s.len() == 64), "{r}");
        assert!(r["vendor"]["profile_sha256"].as_str().is_some_and(|s| s.len() == 64), "{r}");
        assert!(r["approved"]["resources"].as_array().is_some_and(|a| !a.is_empty()));
        assert!(r["vendor_received"].as_array().is_some_and(|a| !a.is_empty()));
        assert!(r["events"]["total"].as_u64().is_some_and(|n| n > 0));
    }
}

#[test]
fn status_and_revoke_honour_markdown() {
    let sb = Sandbox::new();
    let receipts = sb.dir.path().join("receipts");
    let out = run_with_tokens(&sb, &receipts, &["init", "--org", "demo", "--sandbox", "--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run_with_tokens(&sb, &receipts, &["status", "--org", "demo", "--sandbox", "--output", "markdown"]);
    let md = text(&out.stdout);
    assert!(md.starts_with("# cloudgrant status") && md.contains("| `acmeml-demo-auth` |"), "{md}");
    let out =
        run_with_tokens(&sb, &receipts, &["revoke", "--org", "demo", "--sandbox", "--yes", "--output", "markdown"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    assert!(md.contains("## What stays in account") && md.contains("| **kept (with your data)** |"), "{md}");
    assert!(md.contains("**scheduled for deletion ("), "{md}");
    assert!(md.starts_with("# cloudgrant revoke: org `demo`"), "the review first, as Markdown: {md}");
    assert!(
        text(&out.stderr).contains("DELETE_SKIPPED => kept (with your data)"),
        "events go to stderr, in the review's words"
    );
}

#[test]
fn completions_man_page_and_a_help_line_for_every_flag() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = sb.run(&["completions", shell]);
        assert!(out.status.success() && text(&out.stdout).contains("cloudgrant"), "{shell}: {}", text(&out.stderr));
    }
    let out = sb.run(&["man"]);
    let man = text(&out.stdout);
    assert!(out.status.success() && man.contains(".TH cloudgrant") && man.contains("receipts"), "{man}");
    use clap::CommandFactory;
    fn check(cmd: &clap::Command, path: &str) {
        for a in cmd.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
            assert!(a.get_help().is_some(), "{path} --{} has no help line", a.get_id());
        }
        for sub in cmd.get_subcommands() {
            assert!(sub.get_about().is_some(), "{path} {} has no help line", sub.get_name());
            check(sub, &format!("{path} {}", sub.get_name()));
        }
    }
    check(&cloudgrant::cli::Cli::command(), "cloudgrant");
}
