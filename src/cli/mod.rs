//! The command line: the wizard by default, and non-interactive `plan`, `init`, `status` and
//! `revoke` for support scripts, CI and tests. Without a terminal, `init` and `revoke` print one
//! plain line per event and exit non-zero on failure.

mod checks;
mod commands;
mod extra;
pub mod render;
mod vendor;

pub use extra::{ReceiptsCommand, Shell};
pub use vendor::VendorCommand;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cloud::{self, sandbox::SandboxConfig, AccountChoice, CloudError, ConnectOptions, Provider};
use crate::model::{Cloud, Fate, Update};

use crate::receipts;
use crate::vendor::VendorProfile;

#[derive(Debug, Parser)]
#[command(
    name = "cloudgrant",
    version,
    about = "Grant a SaaS vendor least-privilege access to your cloud account, and take it back."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub global: Global,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Vendor pack to use instead of the bundled one: a pack directory (vendor.toml and its
    /// templates), or a lone vendor.toml used with the bundled templates.
    #[arg(long, global = true, value_name = "DIR|FILE")]
    pub vendor: Option<PathBuf>,
    /// Refuse the vendor pack unless its digest (sha256 over its files, shown by `plan` and the
    /// preview) is this one.
    #[arg(long = "vendor-sha256", global = true, value_name = "HEX")]
    pub vendor_sha256: Option<String>,
    /// Use the built-in sandbox cloud (simulated; nothing real is created).
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// AWS profile to use (default: the AWS CLI's chain: AWS_PROFILE, environment, default profile).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Google Cloud project id (with --cloud gcp; in the sandbox: cg-sandbox-dev or cg-sandbox-prod).
    #[arg(long, global = true, value_name = "PROJECT_ID")]
    pub project: Option<String>,
    /// Azure subscription id (with --cloud azure; `az account list` shows yours).
    #[arg(long, global = true, value_name = "SUBSCRIPTION_ID")]
    pub subscription: Option<String>,
    /// Sandbox account (sandbox-dev or sandbox-prod).
    #[arg(long, global = true, value_name = "NAME", default_value = "sandbox-dev")]
    pub account: String,
    /// Region (default: the profile's or AWS_REGION; for plans, the vendor profile's).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Sandbox: make this resource (logical id) fail, to rehearse failures. Repeatable.
    #[arg(long = "sandbox-fail", global = true, value_name = "LOGICAL_ID")]
    pub sandbox_fail: Vec<String>,
    /// Wizard: do not capture the mouse (the terminal's own selection and scrolling then work).
    #[arg(long = "no-mouse", global = true)]
    pub no_mouse: bool,
    /// Write a debug log for support to FILE (appended; RUST_LOG filters it, default
    /// `warn,cloudgrant=debug`). Tokens and secrets are never written.
    #[arg(long = "log-file", global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args, Clone)]
pub struct Target {
    /// The cloud: aws, gcp or azure.
    #[arg(long, default_value = "aws")]
    pub cloud: Cloud,
    /// Your organisation's name; part of every resource name.
    #[arg(long, allow_hyphen_values = true)]
    pub org: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show everything that would be created and granted (offline; no credentials needed).
    Plan {
        #[command(flatten)]
        target: Target,
        /// Render names for this account: AWS: the 12-digit account id; Google Cloud: the project id;
        /// Azure: the subscription id (or pass --subscription).
        #[arg(long = "account-id")]
        account_id: Option<String>,
        /// How to print it: text, json, or markdown for a ticket.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Create the install (asks first unless --yes).
    Init {
        #[command(flatten)]
        target: Target,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// ExternalId to require (default: the vendor profile's, or 40 random characters).
        #[arg(long = "external-id")]
        external_id: Option<String>,
        /// On an install a revoke left half-done: undo what it scheduled for destruction (AWS:
        /// cancel the keys' deletion and enable them again), then create again what it removed.
        #[arg(long)]
        restore: bool,
    },
    /// Show installs found in the account.
    Status {
        /// Only this org.
        #[arg(long, allow_hyphen_values = true)]
        org: Option<String>,
        /// The cloud: aws, gcp or azure.
        #[arg(long, default_value = "aws")]
        cloud: Cloud,
        /// How to print it: text, json, or markdown for a ticket.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Remove the install (asks first unless --yes) and report what stays.
    Revoke {
        /// The cloud: aws, gcp or azure.
        #[arg(long, default_value = "aws")]
        cloud: Cloud,
        /// The org of the install to revoke (`cloudgrant status` lists them).
        #[arg(long, allow_hyphen_values = true)]
        org: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Leave these resources (logical ids) in place: the retry after a DELETE_FAILED.
        #[arg(long = "retain", value_name = "LOGICAL_ID")]
        retain: Vec<String>,
        /// Google Cloud only: also empty and delete the data bucket (kept by default). Asks you to
        /// type the bucket's name; without a terminal it needs --yes too. Google keeps the deleted
        /// objects restorable for 7 days (the bucket's soft-delete period), then they are gone.
        #[arg(long)]
        delete_data: bool,
        /// Azure only: also delete the vendor's service principal from your tenant (kept by
        /// default: it holds no role once the install is revoked, and other installs of the vendor
        /// may use it).
        #[arg(long)]
        delete_service_principal: bool,
        /// How to print the review and the report: text, json (the report on stdout), or markdown.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// For vendors: check a vendor pack before shipping it (`cloudgrant vendor check DIR`).
    Vendor {
        #[command(subcommand)]
        command: VendorCommand,
    },
    /// List the receipts of past inits and revokes, or print one.
    Receipts {
        #[command(subcommand)]
        command: Option<ReceiptsCommand>,
    },
    /// Print a shell completion script (e.g. `cloudgrant completions bash > /etc/bash_completion.d/cloudgrant`).
    Completions {
        /// The shell: bash, zsh, fish or powershell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page (roff: `cloudgrant man | man -l -`).
    Man,
}

/// A failure shown to the user: what happened and what to do next.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub next_step: String,
    pub code: i32,
}

impl From<CloudError> for Failure {
    fn from(e: CloudError) -> Self {
        let code = if e == CloudError::Cancelled { 130 } else { 1 };
        Failure { message: e.to_string(), next_step: e.next_step(), code }
    }
}

fn bad_input(message: impl Into<String>, next_step: impl Into<String>) -> Failure {
    Failure { message: message.into(), next_step: next_step.into(), code: 2 }
}

pub fn load_vendor(global: &Global) -> Result<VendorProfile, Failure> {
    let vendor = match &global.vendor {
        Some(p) => VendorProfile::load(p),
        None => VendorProfile::bundled(),
    }
    .map_err(|e| {
        bad_input(
            e.to_string(),
            "Fix the vendor pack (docs/vendor-packs.md; assets/vendor.toml shows every field) and run again.",
        )
    })?;
    if let Some(expected) = &global.vendor_sha256 {
        let expected = expected.trim().to_ascii_lowercase();
        if expected != vendor.pack.digest {
            return Err(bad_input(
                format!(
                    "the vendor pack {} is not the one expected: its sha256 is {}, --vendor-sha256 asks for {expected}",
                    global.vendor.as_ref().map_or("(bundled)".to_string(), |p| p.display().to_string()),
                    vendor.pack.digest
                ),
                "Get the pack again from the vendor and compare the digest they publish; do not go on with this one.",
            ));
        }
    }
    Ok(vendor)
}

pub fn connect_options(global: &Global, vendor: &VendorProfile) -> Result<ConnectOptions, Failure> {
    Ok(ConnectOptions {
        vendor: vendor.clone(),
        sandbox: SandboxConfig::from_env(global.sandbox_fail.clone())?,
        region: global.region.clone(),
    })
}

async fn provider(global: &Global, cloud: Cloud, vendor: &VendorProfile) -> Result<Provider, Failure> {
    vendor.supports(cloud).map_err(|m| bad_input(m, "Choose a cloud the vendor pack covers with --cloud."))?;
    let options = connect_options(global, vendor)?;
    let target = cloud::targets(global.sandbox)
        .into_iter()
        .find(|t| t.cloud == cloud && t.sandbox == global.sandbox)
        .ok_or_else(|| bad_input("no such target", "Report this as a bug."))?;
    let key = match (cloud, global.sandbox) {
        (Cloud::Gcp, sandbox) => match (&global.project, sandbox) {
            (Some(p), _) => p.clone(),
            (None, true) => global.account.clone(),
            (None, false) => {
                return Err(bad_input(
                    "no Google Cloud project given",
                    "Pass --project PROJECT_ID (`gcloud projects list` shows them).",
                ))
            }
        },
        (Cloud::Azure, sandbox) => match (&global.subscription, sandbox) {
            (Some(s), _) => s.clone(),
            (None, true) => global.account.clone(),
            (None, false) => {
                return Err(bad_input(
                    "no Azure subscription given",
                    "Pass --subscription SUBSCRIPTION_ID (`az account list --output table` shows yours).",
                ))
            }
        },
        (_, true) => global.account.clone(),
        (_, false) => global.profile.clone().unwrap_or_default(),
    };
    let account = AccountChoice { key: key.clone(), label: key, detail: String::new(), sandbox: global.sandbox };
    Ok(cloud::connect(&target, &account, &options).await?)
}

/// Ask a yes/no question on the terminal; without a terminal, refuse with how to confirm.
fn confirm(question: &str, flag: &str) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(bad_input("not confirmed, and there is no terminal to ask on", format!("Pass {flag} to confirm.")));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| bad_input(format!("cannot read the answer: {e}"), format!("Pass {flag} to confirm.")))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// Ask for `expected` to be typed back (the second confirmation of `--delete-data`).
fn confirm_typed(question: &str, expected: &str) -> Result<bool, Failure> {
    let retry = "Run revoke again and type the name exactly, or leave out --delete-data to keep the bucket.";
    if !std::io::stdin().is_terminal() {
        return Err(bad_input(
            "not confirmed, and there is no terminal to ask on",
            "Pass --yes --delete-data together.",
        ));
    }
    eprint!("{question}\nType the bucket name to confirm: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| bad_input(format!("cannot read the answer: {e}"), retry))?;
    Ok(line.trim() == expected)
}

/// Print updates as plain lines until the final one; events go to stderr when stdout carries JSON.
/// On revoke, a resource that settles is followed by the review's word for it (`fates`, by
/// logical id), so the plain lines say what the review said. Returns the final update and the
/// events seen, for the receipt.
async fn follow(
    mut rx: mpsc::Receiver<Update>,
    json: bool,
    fates: HashMap<String, Fate>,
) -> (Option<Update>, receipts::EventSummary, Vec<String>) {
    let mut last = None;
    let mut events = receipts::EventSummary::default();
    // What the provider says still goes on in the cloud after a stop ("stopped watching: …").
    let mut still = Vec::new();
    while let Some(u) = rx.recv().await {
        let line = match &u {
            Update::Event(e) => {
                events.add(e);
                let mut line = e.plain_line();
                if let Some(f) = fates.get(&e.resource).filter(|_| e.status.is_terminal() && !e.status.is_failure()) {
                    line.push_str(&format!(" => {}", f.phrase()));
                }
                Some(line)
            }
            Update::Log { text } => {
                if let Some(what) = text.strip_prefix(checks::STILL_GOING) {
                    still.push(what.to_string());
                }
                Some(format!("-- {text}"))
            }
            _ => None,
        };
        if let Some(line) = line {
            tracing::debug!(target: "cloudgrant::run", "{line}");
            if json {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        }
        if matches!(u, Update::Applied { .. } | Update::Revoked { .. }) {
            last = Some(u);
        }
    }
    (last, events, still)
}

/// Write a receipt and say where; a receipt that cannot be written is said, not fatal (the
/// cloud work is done either way).
fn keep_receipt(receipt: &receipts::Receipt) -> Option<PathBuf> {
    match receipts::store::write(receipt) {
        Ok(path) => {
            eprintln!("Receipt: {}", path.display());
            Some(path)
        }
        Err(e) => {
            eprintln!("warning: the receipt was not written: {e}. {}", e.next_step);
            None
        }
    }
}

/// Cancel on Ctrl-C, SIGTERM or SIGHUP: the cloud carries on; we stop watching.
fn cancel_on_ctrl_c() -> CancellationToken {
    crate::signals::on_stop()
}

pub async fn run(cli: Cli) -> Result<(), Failure> {
    if let Some(path) = &cli.global.log_file {
        extra::start_log(path)?;
    }
    checks::flags(&cli)?;
    let command = match cli.command {
        Some(Command::Receipts { command }) => return extra::receipts(command),
        Some(Command::Vendor { command }) => return vendor::run(command),
        Some(Command::Completions { shell }) => {
            extra::completions(shell);
            return Ok(());
        }
        Some(Command::Man) => return extra::man(),
        other => other,
    };
    tracing::debug!(command = ?command, "command");
    let Some(command) = command else {
        return wizard(&cli.global).await;
    };
    let global = cli.global;
    let vendor = load_vendor(&global)?;
    match command {
        Command::Plan { target, account_id, output } => commands::plan(&global, &vendor, target, account_id, output),
        Command::Init { target, yes, external_id, restore } => {
            commands::init(&global, &vendor, target, yes, external_id, restore).await
        }
        Command::Status { org, cloud, output } => commands::status(&global, &vendor, org, cloud, output).await,
        Command::Revoke { cloud, org, yes, retain, delete_data, delete_service_principal, output } => {
            let args = commands::RevokeArgs { cloud, org, yes, retain, delete_data, delete_service_principal, output };
            commands::revoke(&global, &vendor, args).await
        }
        // Answered above, before the vendor profile is read.
        Command::Receipts { .. } | Command::Vendor { .. } | Command::Completions { .. } | Command::Man => Ok(()),
    }
}

/// The full-screen wizard (no subcommand). It needs a terminal; scripts use the plain commands.
async fn wizard(global: &Global) -> Result<(), Failure> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(bad_input(
            "the wizard needs a terminal",
            "Run `cloudgrant` in a terminal, or use the plain commands: cloudgrant plan | init | status | revoke (see --help).",
        ));
    }
    let vendor = load_vendor(global)?;
    let connect = connect_options(global, &vendor)?;
    // The panic and error hooks go in before the terminal is switched, so a panic restores it first.
    let _ = color_eyre::install();
    let options = crate::tui::TuiOptions { vendor, sandbox_only: global.sandbox, connect, mouse: !global.no_mouse };
    let report = crate::tui::run(options).await.map_err(|e| Failure {
        message: format!("{e}"),
        next_step: "The terminal was restored. Run `cloudgrant status` to see what exists.".into(),
        code: 1,
    })?;
    // On the normal screen, after the wizard closed: what must not be lost (the vendor's values,
    // where the receipt is).
    for line in &report.report {
        println!("{line}");
    }
    if let Some(by) = report.stopped_by {
        return Err(Failure {
            message: format!("stopped by {by}: {}", report.unfinished.unwrap_or("nothing was being changed")),
            next_step: match report.unfinished {
                Some(_) => "Run `cloudgrant status` to see what exists, then run cloudgrant again to finish or revoke.",
                None => "Run cloudgrant again to continue.",
            }
            .into(),
            code: 1,
        });
    }
    match report.unfinished {
        Some(why) => Err(Failure {
            message: why.into(),
            next_step: "Run `cloudgrant status` to see what exists, then run cloudgrant again to finish or revoke."
                .into(),
            code: 1,
        }),
        None => Ok(()),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(v).map_err(|e| bad_input(format!("cannot encode JSON: {e}"), "Report this as a bug."))
}
