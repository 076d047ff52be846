//! Issue 13 offline, on the real binary: bad input is refused with the field and the fix (a
//! table of every case, none panicking, none echoing megabytes), a closed pipe ends the process
//! quietly the conventional way, and a signal in plain mode stops a run with the resume hint
//! and a non-zero status. docs/reliability.md holds the figures.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn cloudgrant(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cloudgrant"));
    c.args(args)
        .env("CLOUDGRANT_SANDBOX_DIR", dir)
        .env("CLOUDGRANT_RECEIPTS_DIR", dir.join("receipts"))
        .env("CLOUDGRANT_SANDBOX_SPEED", "200")
        .env_remove("CLOUDGRANT_GCP_ENDPOINT")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null());
    c
}

fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    cloudgrant(dir, args).output().expect("run cloudgrant")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn vendor_with(from: &str, to: &str) -> String {
    let text = include_str!("../assets/vendor.toml");
    assert!(text.contains(from), "{from}");
    text.replacen(from, to, 1)
}

const SA: &str = "acmeml-control@acmeml-prod.iam.gserviceaccount.com";
const SUB: &str = "0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f40";

/// One bad input: the arguments (`VENDOR` stands for a profile file with `profile` as text),
/// and what the error must name.
struct Case {
    args: Vec<String>,
    profile: Option<String>,
    needles: Vec<&'static str>,
}

fn case(args: &[&str], needles: &[&'static str]) -> Case {
    Case { args: args.iter().map(|s| s.to_string()).collect(), profile: None, needles: needles.to_vec() }
}

fn profile_case(profile: String, needles: &[&'static str]) -> Case {
    Case {
        args: ["plan", "--org", "acme", "--vendor", "VENDOR"].iter().map(|s| s.to_string()).collect(),
        profile: Some(profile),
        needles: needles.to_vec(),
    }
}

fn cases() -> Vec<Case> {
    let huge = format!("# {}\n{}", "x".repeat(1024 * 1024), include_str!("../assets/vendor.toml"));
    let long_line = format!("[vendor]\nname = \"{}", "y".repeat(200_000));
    vec![
        // The service-account e-mail.
        profile_case(
            vendor_with(SA, "acmeml-control@acmeml-prod.iam.gserviceaccount.com\\nx"),
            &["gcp.service_account", "a line break"],
        ),
        profile_case(
            vendor_with(SA, "acmeml-control@.iam.gserviceaccount.com"),
            &["gcp.service_account", "project part", "is empty"],
        ),
        profile_case(
            vendor_with(SA, "acmeml-control@acmeml-prod.iam.gserviceaccount.com.evil.example"),
            &["gcp.service_account", "does not end with"],
        ),
        profile_case(
            vendor_with(SA, "acmeml-control@x@acmeml-prod.iam.gserviceaccount.com"),
            &["gcp.service_account", "2 `@` signs"],
        ),
        profile_case(
            vendor_with(SA, "acmeml-control@Acme_Prod.iam.gserviceaccount.com"),
            &["gcp.service_account", "project part"],
        ),
        profile_case(
            vendor_with(SA, "acmeml-control@acmeml prod.iam.gserviceaccount.com"),
            &["gcp.service_account", "a space"],
        ),
        profile_case(vendor_with(SA, ""), &["gcp.service_account", "empty"]),
        // Names and support text.
        profile_case(
            vendor_with("name = \"Acme ML\"", "name = \"Acme\\u001b[2J ML\""),
            &["vendor.name", "escape character", "\\x1b[2J"],
        ),
        profile_case(vendor_with("name = \"Acme ML\"", "name = \"Acme\\nML\""), &["vendor.name", "a line break"]),
        profile_case(vendor_with("name = \"Acme ML\"", "name = \"Acme \\u202eLM\""), &["vendor.name", "U+202E"]),
        profile_case(vendor_with("support@acme-ml.example", "call \\u0007 us"), &["vendor.support", "U+0007"]),
        profile_case(
            vendor_with("support@acme-ml.example", &"s".repeat(301)),
            &["vendor.support", "301 characters long", "(301 characters)"],
        ),
        profile_case(vendor_with("name = \"Acme ML\"", "name = \"   \""), &["vendor.name", "empty"]),
        // Size: refused without reading it whole, and never echoed.
        profile_case(huge, &["vendor profile", "over 1024 KiB"]),
        profile_case(long_line, &["vendor profile", "cut:"]),
        // The command line.
        case(
            &["plan", "--cloud", "azure", "--org", "acme", "--subscription", "My Subscription"],
            &["--subscription", "subscription id", "GUID"],
        ),
        case(&["plan", "--cloud", "azure", "--org", "acme", "--account-id", "not-a-guid"], &["--account-id", "GUID"]),
        case(&["plan", "--org", "acme", "--account-id", "1234"], &["--account-id", "12 digits"]),
        case(
            &["plan", "--cloud", "aws", "--org", "acme", "--project", "acme-prod-123"],
            &["--project is for Google Cloud", "--cloud gcp"],
        ),
        case(
            &["plan", "--cloud", "gcp", "--org", "acme", "--subscription", SUB],
            &["--subscription is for Azure", "--cloud azure"],
        ),
        case(&["status", "--cloud", "azure", "--profile", "prod"], &["--profile is for AWS", "--cloud aws"]),
        case(
            &["init", "--cloud", "aws", "--org", "acme", "--project", "acme-prod-123", "--yes"],
            &["--project is for Google Cloud"],
        ),
        case(&["status", "--org", "Acme"], &["--org", "org name `Acme`", "uppercase"]),
        case(&["status", "--org", "a"], &["--org", "too short"]),
        case(&["revoke", "--org", "acme_co", "--yes"], &["--org", "`_` is not allowed"]),
        case(&["init", "--org", "-acme", "--yes"], &["--org", "org name `-acme`", "start with a letter"]),
        case(&["plan", "--org", "--acme"], &["--org", "start with a letter"]),
        case(&["status", "--org", "acme\u{1b}[31m"], &["--org", "\\x1b[31m"]),
        case(
            &["plan", "--cloud", "gcp", "--org", "acme", "--project", "123456789012"],
            &["--project", "project number"],
        ),
    ]
}

#[test]
fn bad_inputs_are_refused_with_the_field_and_the_fix_and_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let all = cases();
    let mut refused = 0;
    for (i, c) in all.iter().enumerate() {
        let path = dir.path().join(format!("vendor-{i}.toml"));
        if let Some(p) = &c.profile {
            std::fs::write(&path, p).unwrap();
        }
        let args: Vec<String> =
            c.args.iter().map(|a| if a == "VENDOR" { path.display().to_string() } else { a.clone() }).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(dir.path(), &args);
        let err = text(&out.stderr);
        let shown: String = err.chars().take(600).collect();
        assert_eq!(out.status.code(), Some(2), "case {i} {:?}: refused as bad input:\n{shown}", c.args);
        assert!(!err.contains("panicked"), "case {i}: {shown}");
        assert!(err.len() < 2000, "case {i}: the error is {} bytes: it echoes the input:\n{shown}", err.len());
        assert!(err.contains("error: ") && err.contains("\nnext: "), "case {i}: a message and a next step:\n{err}");
        assert!(!err.chars().any(|c| c.is_control() && c != '\n'), "case {i}: control characters escaped:\n{err:?}");
        for n in &c.needles {
            assert!(err.contains(n), "case {i} {:?}: the error names `{n}`:\n{err}", c.args);
        }
        assert!(out.stdout.is_empty(), "case {i}: nothing planned or done:\n{}", text(&out.stdout));
        refused += 1;
    }
    eprintln!("bad inputs tried: {}, refused: {refused}, panics: 0", all.len());
}

#[test]
fn init_with_another_external_id_says_they_differ_and_what_rotating_means() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["init", "--sandbox", "--org", "rot", "--yes", "--external-id", "first-id-1234567890"]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let again = run(dir.path(), &["init", "--sandbox", "--org", "rot", "--yes"]);
    let said = text(&again.stdout);
    assert!(again.status.success() && said.contains("Nothing to change"), "{said}\n{}", text(&again.stderr));
    assert!(
        said.contains("ExternalId: first-id-1234567890"),
        "a re-run that changes nothing still gives the values:\n{said}"
    );
    assert!(said.contains("VendorRoleArn: arn:aws:iam::210987654321:role/"), "{said}");
    let other =
        run(dir.path(), &["init", "--sandbox", "--org", "rot", "--yes", "--external-id", "second-id-0987654321"]);
    let err = text(&other.stderr);
    assert_eq!(other.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--external-id second-id-0987654321 differs") && err.contains("(first-id-1234567890)"),
        "{err}"
    );
    assert!(err.contains("Rotating it means") && err.contains("cloudgrant revoke --org rot"), "{err}");
    let same = run(dir.path(), &["init", "--sandbox", "--org", "rot", "--yes", "--external-id", "first-id-1234567890"]);
    assert!(same.status.success(), "the same ExternalId is no conflict: {}", text(&same.stderr));
}

/// The process's stdout is a pipe whose reading end is already closed: the first write fails.
fn with_closed_stdout(mut cmd: Command) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    cmd.stdout(writer).stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    drop(cmd);
    child.wait_with_output().expect("wait")
}

#[test]
fn a_closed_pipe_ends_the_process_quietly_with_sigpipe() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["plan", "--org", "acme", "--output", "json"],
        vec!["plan", "--org", "acme"],
        vec!["status", "--sandbox"],
        vec!["init", "--sandbox", "--org", "piped", "--yes"],
    ] {
        let out = with_closed_stdout(cloudgrant(dir.path(), &args));
        let err = text(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: ended by SIGPIPE (141 in a shell): {:?}\n{err}",
            out.status
        );
        assert!(err.is_empty(), "{args:?}: quietly, no panic message: {err}");
    }
    // The shell's view: `cloudgrant plan --output json | head -1`.
    let bin = env!("CARGO_BIN_EXE_cloudgrant");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("'{bin}' plan --org acme --output json | head -1; echo \"status=${{PIPESTATUS[0]}}\""))
        .stderr(Stdio::piped())
        .output()
        .expect("bash");
    let said = text(&out.stdout);
    assert!(said.starts_with('{'), "{said}");
    let status = said.lines().last().unwrap_or("");
    assert!(status == "status=141" || status == "status=0", "SIGPIPE or all written before head closed: {said}");
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

/// Start `args`, wait for a line on stdout containing `needle`, send `signal`, and return the
/// output and how long the process took to end after it.
fn signal_during(dir: &std::path::Path, args: &[&str], needle: &str, signal: i32) -> (Output, String, Duration) {
    let mut child = cloudgrant(dir, args)
        .env("CLOUDGRANT_SANDBOX_SPEED", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(needle) {
            break;
        }
    }
    assert!(seen.contains(needle), "never saw `{needle}`:\n{seen}");
    // SAFETY: a signal to our own child, by its pid.
    unsafe { libc::kill(child.id() as i32, signal) };
    let t = Instant::now();
    for line in lines {
        seen.push_str(&line.unwrap());
        seen.push('\n');
    }
    let out = child.wait_with_output().unwrap();
    (out, seen, t.elapsed())
}

#[test]
fn a_signal_in_plain_mode_stops_the_run_with_the_resume_hint_and_a_non_zero_status() {
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129), (libc::SIGINT, 130)] {
        let dir = tempfile::tempdir().unwrap();
        let args = ["init", "--cloud", "azure", "--sandbox", "--subscription", "sandbox-dev", "--org", "sig", "--yes"];
        let (out, stdout, took) = signal_during(dir.path(), &args, "CREATE_IN_PROGRESS", signal);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "signal {signal}: 128 + its number:\n{stdout}\n{err}");
        assert!(err.contains("error: stopped"), "{err}");
        assert!(err.contains("run init again to finish"), "the resume hint: {err}");
        assert!(took < Duration::from_secs(10), "stopped promptly: {took:?}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn after_a_stop_the_simulated_clouds_go_on_only_with_what_was_asked_and_the_message_names_it() {
    // Azure: stopped while the storage stack (the first) deploys. That stack carries on and is
    // named; the main stack was never asked for and never appears.
    let dir = tempfile::tempdir().unwrap();
    let azure = ["--cloud", "azure", "--sandbox", "--subscription", "sandbox-dev"];
    let mut args = vec!["init", "--org", "half", "--yes"];
    args.extend(azure);
    let (out, stdout, _) = signal_during(dir.path(), &args, "deployment stack acmeml-half-storage (", libc::SIGINT);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{err}");
    let message = err.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
    assert!(message.contains("deployment stack acmeml-half-storage is still"), "names what carries on: {err}");
    assert!(!message.contains("acmeml-half "), "and nothing else: {err}");
    std::thread::sleep(Duration::from_secs(3));
    let mut status = vec!["status", "--org", "half", "--output", "json"];
    status.extend(azure);
    let out = run(dir.path(), &status);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let installs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let groups: Vec<&str> =
        installs[0]["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(groups, ["acmeml-half-storage"], "the storage stack goes on; the main one was never asked for");

    // Google Cloud: stopped while the APIs are being enabled: that operation is named.
    let dir = tempfile::tempdir().unwrap();
    let args = ["init", "--org", "half", "--yes", "--cloud", "gcp", "--sandbox", "--project", "cg-sandbox-dev"];
    let (out, stdout, _) = signal_during(dir.path(), &args, "services:batchEnable", libc::SIGINT);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{err}");
    let message = err.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
    assert!(message.contains("stopped watching: enabling ") && message.contains("carries on in Google Cloud"), "{err}");
}
