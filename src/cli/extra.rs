//! The commands around the cloud work: `receipts` (list, show), `completions SHELL`, `man`, and
//! the `--log-file` debug log (tracing, with a RUST_LOG-style filter, every line redacted).

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use clap::{CommandFactory, Subcommand, ValueEnum};

use super::{bad_input, Cli, Failure, Output};
use crate::receipts::{self, store};
use crate::redact::redact;

#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// Print one receipt (text by default; markdown to paste into a ticket; json as written).
    Show {
        /// The receipt's id as `cloudgrant receipts` lists it (a unique prefix is enough).
        id: String,
        /// How to print it.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

fn store_failure(e: store::StoreError) -> Failure {
    Failure { message: e.message, next_step: e.next_step, code: 1 }
}

/// `cloudgrant receipts [show ID]`.
pub fn receipts(cmd: Option<ReceiptsCommand>) -> Result<(), Failure> {
    let dir = store::dir().map_err(store_failure)?;
    match cmd {
        None => {
            let (all, bad) = store::list_in(&dir);
            if all.is_empty() {
                println!("No receipts yet in {} (every init and revoke leaves one).", dir.display());
            }
            for r in &all {
                let verdict = if r.outcome.ok { "ok" } else { "did not complete" };
                println!(
                    "{}  {} {} org {} in {} {} · {verdict}",
                    r.id,
                    r.flow.as_str(),
                    r.cloud.title(),
                    r.org,
                    r.cloud.account_word(),
                    r.account
                );
            }
            for b in bad {
                eprintln!("warning: {} is not a receipt this version can read", b.display());
            }
            if !all.is_empty() {
                println!("\nIn {}. Print one with `cloudgrant receipts show ID --output markdown`.", dir.display());
            }
            Ok(())
        }
        Some(ReceiptsCommand::Show { id, output }) => {
            let r = store::load_in(&dir, &id).map_err(store_failure)?;
            match output {
                Output::Json => {
                    let json = serde_json::to_string_pretty(&r)
                        .map_err(|e| bad_input(format!("cannot encode JSON: {e}"), "Report this as a bug."))?;
                    println!("{json}");
                }
                // The Markdown reads as plain text too: it is the one rendering of a receipt.
                Output::Markdown | Output::Text => print!("{}", receipts::markdown(&r)),
            }
            Ok(())
        }
    }
}

/// `cloudgrant completions SHELL`: the completion script on stdout.
pub fn completions(shell: Shell) {
    use clap_complete::Shell as S;
    let shell = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
    };
    clap_complete::generate(shell, &mut Cli::command(), "cloudgrant", &mut std::io::stdout());
}

/// `cloudgrant man`: the manual page (roff) on stdout.
pub fn man() -> Result<(), Failure> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| bad_input(format!("cannot render the manual page: {e}"), "Report this as a bug."))?;
    std::io::stdout().write_all(&out).map_err(|e| {
        bad_input(format!("cannot print the manual page: {e}"), "Redirect it to a file: cloudgrant man > cloudgrant.1")
    })
}

/// A log file whose every line is redacted before it is written.
struct RedactingFile(Mutex<std::fs::File>);

impl Write for &RedactingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = redact(&String::from_utf8_lossy(buf));
        let mut f = self.0.lock().map_err(|_| std::io::Error::other("log file lock poisoned"))?;
        f.write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().map_err(|_| std::io::Error::other("log file lock poisoned"))?.flush()
    }
}

/// The filter when RUST_LOG is not set: cloudgrant's own debug lines, others' warnings.
pub const DEFAULT_FILTER: &str = "warn,cloudgrant=debug";

/// `--log-file FILE`: start the debug log there (appending), filtered by RUST_LOG.
pub fn start_log(path: &Path) -> Result<(), Failure> {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
        bad_input(format!("--log-file {}: cannot open it: {e}", path.display()), "Pass a file in a writable folder.")
    })?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(DEFAULT_FILTER))
        .map_err(|e| bad_input(format!("RUST_LOG: {e}"), "Use a filter such as `cloudgrant=debug` or `info`."))?;
    let writer: &'static RedactingFile = Box::leak(Box::new(RedactingFile(Mutex::new(file))));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| bad_input(format!("cannot start the log: {e}"), "Report this as a bug."))?;
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "cloudgrant started");
    Ok(())
}
