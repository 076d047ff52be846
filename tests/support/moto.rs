//! What the moto tests share: the moto endpoint (tests/run.sh starts moto_server and exports
//! CLOUDGRANT_TEST_MOTO), the real binary run against an endpoint, SDK clients for checking what
//! it did, and org names no earlier run against the same moto used.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use aws_config::{BehaviorVersion, Region};
use std::process::{Command, Output, Stdio};

pub const REGION: &str = "eu-west-1";

pub fn endpoint() -> String {
    std::env::var("CLOUDGRANT_TEST_MOTO").expect(
        "CLOUDGRANT_TEST_MOTO is not set: these tests need moto_server. Run tests/run.sh (it installs and starts it), \
         or start `.venv/bin/moto_server -p 5055` and export CLOUDGRANT_TEST_MOTO=http://127.0.0.1:5055",
    )
}

/// The binary against moto.
pub fn cloudgrant(args: &[&str]) -> Output {
    cloudgrant_at(&endpoint(), args)
}

/// The binary under test: this build's, or `CLOUDGRANT_TEST_BIN` (to show that a test fails
/// against another build, such as the one before a fix).
fn binary() -> String {
    std::env::var("CLOUDGRANT_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_cloudgrant").to_string())
}

/// The binary against `url` (moto, or a fault proxy in front of it).
pub fn cloudgrant_at(url: &str, args: &[&str]) -> Output {
    cloudgrant_env(url, args, &[])
}

/// [`cloudgrant_at`] with more environment variables (the AWS bounds, a profile file).
pub fn cloudgrant_env(url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(url, args, env).output().expect("run cloudgrant")
}

/// The command [`cloudgrant_env`] runs, to spawn it instead.
pub fn command(url: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(binary());
    c.args(args)
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("CLOUDGRANT_POLL_MS", "100")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// An org name no earlier run against the same moto used.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{:x}{}", nanos, std::process::id() % 1000)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// stdout and stderr, for assertion messages.
pub fn both(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", text(&out.stdout), text(&out.stderr))
}

pub async fn sdk() -> aws_config::SdkConfig {
    let creds = aws_sdk_sts::config::Credentials::new("testing", "testing", None, None, "tests");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint())
        .credentials_provider(creds)
        .load()
        .await
}

/// `status --org ORG --output json`, parsed.
pub fn status_json(org: &str) -> serde_json::Value {
    let out = cloudgrant(&["status", "--org", org, "--output", "json"]);
    assert!(out.status.success(), "{}", both(&out));
    serde_json::from_slice(&out.stdout).expect("json")
}
