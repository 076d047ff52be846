//! Signals from outside while the wizard runs in a pseudo-terminal (issue 13): SIGTERM, SIGHUP
//! and SIGINT each leave the terminal as it was (alternate screen left, cursor shown), read
//! through a terminal emulator (vt100), and the process exits with 128 + the signal's number.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Term {
    screen: Arc<Mutex<vt100::Parser>>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn std::io::Write + Send>,
}

impl Term {
    fn start(dir: &std::path::Path) -> Term {
        let pty =
            native_pty_system().openpty(PtySize { rows: 30, cols: 100, pixel_width: 0, pixel_height: 0 }).expect("pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_cloudgrant"));
        cmd.arg("--sandbox");
        cmd.env("CLOUDGRANT_SANDBOX_DIR", dir);
        cmd.env("CLOUDGRANT_RECEIPTS_DIR", dir.join("receipts"));
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).expect("spawn");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(30, 100, 0)));
        let feed = screen.clone();
        std::thread::spawn(move || {
            let _keep_master = pty.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        Term { screen, child, writer }
    }

    fn keys(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }

    fn wait_for(&self, needle: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.screen.lock().unwrap().screen().contents().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "waited for `{needle}`:\n{}",
                self.screen.lock().unwrap().screen().contents()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_exit(&mut self, secs: u64) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take in the last bytes written before the exit.
                std::thread::sleep(Duration::from_millis(300));
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the wizard did not exit:\n{}", self.screen.lock().unwrap().screen().contents());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn sigterm_sighup_and_sigint_from_outside_restore_the_terminal() {
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129), (libc::SIGINT, 130)] {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Term::start(dir.path());
        t.wait_for("Welcome", 20);
        {
            let p = t.screen.lock().unwrap();
            assert!(p.screen().alternate_screen() && p.screen().hide_cursor(), "the wizard is on the alternate screen");
        }
        let pid = t.child.process_id().expect("pid") as i32;
        // SAFETY: a signal to our own child, by its pid.
        unsafe { libc::kill(pid, signal) };
        let status = t.wait_exit(10);
        let p = t.screen.lock().unwrap();
        let s = p.screen();
        assert!(!s.alternate_screen(), "signal {signal}: the alternate screen is left:\n{}", s.contents());
        assert!(!s.hide_cursor(), "signal {signal}: the cursor is shown again");
        assert_eq!(status.exit_code(), code as u32, "signal {signal}: exits with 128 + its number:\n{}", s.contents());
        assert!(s.contents().contains("stopped by"), "it says why it stopped:\n{}", s.contents());
    }
}

/// A signal while the wizard deploys: the run is told to stop watching, and the receipt of what
/// happened so far is written before the wizard leaves, its path printed on the normal screen.
#[test]
fn a_signal_during_a_deploy_keeps_the_receipt_of_the_run_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Term::start(dir.path());
    t.wait_for("Step 1 of 8 · Welcome", 20);
    t.keys("\r");
    t.wait_for("Step 2 of 8 · Cloud", 10);
    t.keys("\r");
    t.wait_for("210987654321", 10);
    t.keys("\r");
    t.wait_for("Connected", 20);
    t.keys("\r");
    t.wait_for("Step 4 of 8 · Configure", 10);
    t.keys("sig\r");
    t.wait_for("Resources (", 20);
    t.keys("\r");
    t.wait_for("Step 6 of 8 · Confirm", 10);
    t.keys("\t\r");
    // The sandbox runs at its real pace here: the stacks are still being created.
    t.wait_for("CREATE_IN_PROGRESS", 30);
    let pid = t.child.process_id().expect("pid") as i32;
    // SAFETY: a signal to our own child, by its pid.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = t.wait_exit(15);
    let text = t.screen.lock().unwrap().screen().contents();
    assert_eq!(status.exit_code(), 143, "{text}");
    assert!(text.contains("stopped by SIGTERM: the install was stopped before it finished"), "{text}");
    assert!(text.contains("Receipt: "), "the receipt's path is printed:\n{text}");
    let receipts: Vec<_> = std::fs::read_dir(dir.path().join("receipts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(receipts.len(), 1, "one receipt for the one run: {receipts:?}");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&receipts[0]).unwrap()).unwrap();
    assert_eq!(r["outcome"]["ok"], false, "{r}");
    assert_eq!(r["outcome"]["summary"], "stopped watching (Ctrl-C or a signal): the cloud carries on", "{r}");
    let events = r["events"].to_string();
    assert!(events.contains("CREATE_IN_PROGRESS"), "the events seen so far are kept: {events}");
}
