//! The `cloudgrant` binary: the wizard on a terminal, or one of the plain commands.

use clap::Parser;
use cloudgrant::cli::{self, Cli};
use cloudgrant::cloud::aws::bounds;
use cloudgrant::signals;

fn main() {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let plain = cli.command.is_some();
    let result = runtime.block_on(async {
        if plain {
            signals::listen(signals::Mode::Plain, || {});
        } else {
            signals::listen(signals::Mode::Wizard, ratatui::restore);
        }
        // In plain mode nothing else moves while AWS is slow to answer: say so on stderr.
        let waits = plain.then(|| tokio::spawn(bounds::report_waits(|line| eprintln!("{line}"))));
        let result = cli::run(cli).await;
        if let Some(w) = waits {
            w.abort();
        }
        result
    });
    if plain {
        if let Some(line) = bounds::tally().line() {
            eprintln!("{line}");
        }
    }
    let stopped = signals::received().map(signals::exit_code);
    match result {
        Err(f) => {
            eprintln!("error: {}", cloudgrant::redact::escape_controls_keep_lines(&f.message));
            if !f.next_step.is_empty() {
                eprintln!("next: {}", cloudgrant::redact::escape_controls_keep_lines(&f.next_step));
            }
            std::process::exit(stopped.unwrap_or(f.code));
        }
        Ok(()) => {
            if let Some(code) = stopped {
                std::process::exit(code);
            }
        }
    }
}

/// Writing to a closed pipe (`cloudgrant plan --output json | head -1`) ends the process the
/// conventional way: quietly, killed by SIGPIPE (status 141 in a shell), as `cat` or `grep` do.
/// Rust ignores SIGPIPE so that sockets report EPIPE instead of killing the process, and
/// `println!` then panics; the HTTP clients need that (a peer that closes must not kill the
/// process), so the signal stays ignored and a print that failed on a closed pipe turns into the
/// default SIGPIPE death here, before any panic message is written.
fn quiet_on_closed_pipe() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to std") && text.contains("Broken pipe") {
            // SAFETY: resetting a signal to its default action and raising it is
            // async-signal-safe and touches no Rust state; the process ends here.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                libc::raise(libc::SIGPIPE);
            }
            std::process::exit(141);
        }
        previous(info);
    }));
}
