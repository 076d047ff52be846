//! The cloudgrant binary on the built-in sandbox whose state lives in one directory, with every
//! variable that would point it at a real (or test) endpoint removed and no terminal on stdin.

#![allow(dead_code, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The command, before its arguments; the sandbox runs at 400 times its speed.
pub fn cloudgrant(state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cloudgrant"));
    c.env("CLOUDGRANT_SANDBOX_DIR", state)
        .env("CLOUDGRANT_SANDBOX_SPEED", "400")
        .env_remove("CLOUDGRANT_AZURE_ENDPOINT")
        .env_remove("CLOUDGRANT_AZURE_TOKEN")
        .env_remove("CLOUDGRANT_GCP_ENDPOINT")
        .stdin(Stdio::null());
    c
}

/// Run it to the end.
pub fn output(c: &mut Command) -> Output {
    c.output().expect("run cloudgrant")
}
