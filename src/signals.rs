//! SIGINT, SIGTERM and SIGHUP from outside (a `kill`, a closed terminal, a CI job cancelled).
//!
//! One listener per process ([`listen`]) turns the first signal into a cancellation that the
//! running apply or revoke sees ([`on_stop`]): it stops watching the way Ctrl-C does, says what
//! keeps going in the cloud and how to resume, and the process exits non-zero (128 + the signal
//! number, as a shell reports a process killed by it). In plain mode, a signal while no apply or
//! revoke runs ends the process at once: nothing was being changed. The wizard watches
//! [`token`] in its loop and leaves the same way as on quit, so the terminal is restored. A
//! second signal ends the process at once in every mode (the wizard restores the terminal
//! first).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::OnceLock;

use tokio_util::sync::CancellationToken;

/// How the process is being run: it decides what a signal outside a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Wizard,
}

struct Shared {
    token: CancellationToken,
    received: AtomicI32,
    /// An apply or revoke has asked for the token: it will stop on it.
    run: AtomicBool,
}

fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| Shared {
        token: CancellationToken::new(),
        received: AtomicI32::new(0),
        run: AtomicBool::new(false),
    })
}

/// The name of a signal number, for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// The first signal received, if any.
pub fn received() -> Option<i32> {
    Some(shared().received.load(Ordering::SeqCst)).filter(|s| *s != 0)
}

/// The exit status for a process stopped by `signal`: 128 + its number.
pub fn exit_code(signal: i32) -> i32 {
    128 + signal
}

/// Cancelled by the first signal.
pub fn token() -> CancellationToken {
    shared().token.clone()
}

/// For an apply or revoke: cancelled by the first signal. From now on a signal stops the run
/// (the caller says what goes on) instead of ending the process.
pub fn on_stop() -> CancellationToken {
    shared().run.store(true, Ordering::SeqCst);
    shared().token.child_token()
}

/// Start listening (once per process; needs the tokio runtime). `restore` runs before the
/// process ends on a second signal (the wizard leaves the alternate screen there).
pub fn listen(mode: Mode, restore: fn()) {
    static STARTED: AtomicBool = AtomicBool::new(false);
    if STARTED.swap(true, Ordering::SeqCst) {
        return;
    }
    use tokio::signal::unix::{signal, SignalKind};
    let kinds = [
        (SignalKind::interrupt(), libc::SIGINT),
        (SignalKind::terminate(), libc::SIGTERM),
        (SignalKind::hangup(), libc::SIGHUP),
    ];
    let mut streams = Vec::new();
    for (kind, number) in kinds {
        match signal(kind) {
            Ok(s) => streams.push((s, number)),
            // Without the handler the signal keeps its default action (the process ends), which
            // is what it did before; nothing better can be done about it here.
            Err(e) => tracing::warn!("cannot listen for {}: {e}", name(number)),
        }
    }
    tokio::spawn(async move {
        loop {
            let waits = streams.iter_mut().map(|(s, n)| {
                let n = *n;
                Box::pin(async move {
                    s.recv().await;
                    n
                })
            });
            let (number, _, _) = futures::future::select_all(waits).await;
            got(number, mode, restore);
        }
    });
}

fn got(number: i32, mode: Mode, restore: fn()) {
    let s = shared();
    let first = s.received.compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst).is_ok();
    if !first {
        restore();
        eprintln!("\nstopped by {} (a second signal): the process ends now.", name(number));
        std::process::exit(exit_code(number));
    }
    if mode == Mode::Plain && !s.run.load(Ordering::SeqCst) {
        eprintln!("\nstopped by {}: nothing was being changed. Run the same command again to continue.", name(number));
        std::process::exit(exit_code(number));
    }
    s.token.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_names_follow_the_shell_convention() {
        assert_eq!(exit_code(libc::SIGINT), 130);
        assert_eq!(exit_code(libc::SIGTERM), 143);
        assert_eq!(exit_code(libc::SIGHUP), 129);
        assert_eq!(name(libc::SIGHUP), "SIGHUP");
    }
}
