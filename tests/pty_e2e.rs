//! The real binary in a pseudo-terminal, read through a terminal emulator (vt100): onboard on the
//! sandbox from Welcome to Done, then, in a second process, revoke down to the residue report.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS: u16 = 40;
const COLS: u16 = 120;

struct Term {
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Term {
    fn start(dir: &std::path::Path, args: &[&str]) -> Term {
        Term::start_sized(dir, args, ROWS, COLS)
    }

    fn start_sized(dir: &std::path::Path, args: &[&str], rows: u16, cols: u16) -> Term {
        let pty = native_pty_system().openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_cloudgrant"));
        cmd.args(args);
        cmd.env("CLOUDGRANT_SANDBOX_DIR", dir);
        cmd.env("CLOUDGRANT_SANDBOX_SPEED", "40");
        cmd.env("CLOUDGRANT_RECEIPTS_DIR", dir.join("receipts"));
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).expect("spawn");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
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
        Term { screen, writer, child }
    }

    fn text(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Wait until the screen shows `needle`; fail with the screen if it never does.
    fn wait_for(&self, needle: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let t = self.text();
            if t.contains(needle) {
                return t;
            }
            if Instant::now() > deadline {
                panic!("waited {secs}s for `{needle}`; the screen shows:\n{t}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }

    fn wait_exit(&mut self, secs: u64) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the wizard did not exit; the screen shows:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

const ENTER: &str = "\r";

/// Press Enter until `needle` shows (the run screens accept Enter once everything settled).
fn wait_then_enter(t: &mut Term, needle: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !t.text().contains(needle) {
        if Instant::now() > deadline {
            panic!("waited {secs}s for `{needle}`; the screen shows:\n{}", t.text());
        }
        t.keys(ENTER);
        std::thread::sleep(Duration::from_millis(300));
    }
}
const TAB: &str = "\t";

#[test]
fn onboard_then_revoke_on_the_sandbox_through_the_real_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Term::start(dir.path(), &["--sandbox"]);
    t.wait_for("Step 1 of 8 · Welcome", 20);
    t.keys(ENTER);
    t.wait_for("Step 2 of 8 · Cloud", 10);
    t.keys(ENTER);
    t.wait_for("Step 3 of 8 · Account", 10);
    t.keys(ENTER);
    t.wait_for("210987654321", 10);
    t.wait_for("Connected", 10);
    t.keys(ENTER);
    t.wait_for("Step 4 of 8 · Configure", 10);
    t.keys("Bad");
    t.wait_for("uppercase", 10);
    t.keys("\u{15}"); // Ctrl-U clears the field
    t.keys("e2e");
    t.keys(ENTER);
    // The plan is built in a task: wait for it, not just for the screen's header.
    let preview = t.wait_for("Resources (20)", 10);
    assert!(preview.contains("Step 5 of 8 · Preview"), "{preview}");
    t.keys(ENTER);
    let confirm = t.wait_for("Step 6 of 8 · Confirm", 10);
    assert!(confirm.contains("acmeml-e2e-auth"), "{confirm}");
    // The safe default is not to create: switch to the create button, then confirm.
    t.keys(TAB);
    t.keys(ENTER);
    t.wait_for("Step 7 of 8 · Deploy", 10);
    // The deploy screen stays on the finished log until the user goes on.
    t.wait_for("CREATE_COMPLETE", 60);
    wait_then_enter(&mut t, "Step 8 of 8 · Done", 60);
    let done = t.text();
    assert!(done.contains("arn:aws:iam::210987654321:role/acmeml-e2e-vendor"), "{done}");
    t.keys(ENTER);
    assert!(t.wait_exit(10).success());

    // A second process finds the install in the sandbox and revokes it.
    let mut t = Term::start(dir.path(), &["--sandbox"]);
    t.wait_for("Step 1 of 8 · Welcome", 20);
    t.keys("j");
    t.keys(ENTER);
    t.wait_for("Cloud", 10);
    t.keys(ENTER);
    t.wait_for("Account", 10);
    t.keys(ENTER);
    t.wait_for("Connected", 10);
    t.keys(ENTER);
    t.wait_for("e2e", 10);
    t.keys(ENTER);
    let review = t.wait_for("Review", 10);
    assert!(review.to_lowercase().contains("kept"), "{review}");
    t.keys(ENTER);
    t.wait_for("Confirm", 10);
    t.keys("e2e");
    t.keys(ENTER);
    t.wait_for("DELETE_SKIPPED", 60);
    wait_then_enter(&mut t, "Step 8 of 8 · Report", 60);
    let report = t.text();
    assert!(report.contains("acmeml-e2e-data-210987654321"), "{report}");
    assert!(report.contains("cancel-key-deletion"), "{report}");
    t.keys(ENTER);
    assert!(t.wait_exit(10).success());
}

/// Every page of a screen that scrolls (PgDn until it stops moving), as one text.
fn pages(t: &mut Term) -> String {
    t.keys("\u{1b}[H"); // Home
    let mut all = t.text();
    for _ in 0..30 {
        let before = t.text();
        t.keys("\u{1b}[6~"); // PgDn
        let after = t.text();
        if after == before {
            break;
        }
        all.push_str(&after);
    }
    all
}

/// Onboard, then revoke, at 80x24 on one cloud's sandbox; every screen on the way is read for
/// the fate words, whole.
fn at_80x24(cloud_downs: usize, fates: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let down = "j".repeat(cloud_downs);
    let mut t = Term::start_sized(dir.path(), &["--sandbox"], 24, 80);
    t.wait_for("Step 1 of 8 · Welcome", 20);
    t.wait_for("8 Done", 5);
    t.keys(ENTER);
    t.wait_for("Step 2 of 8 · Cloud", 10);
    t.keys(&down);
    t.keys(ENTER);
    t.wait_for("Step 3 of 8 · Account", 10);
    t.keys(ENTER);
    t.wait_for("Connected", 20);
    t.keys(ENTER);
    t.wait_for("Step 4 of 8 · Configure", 10);
    t.keys("e2e");
    t.keys(ENTER);
    t.wait_for("Resources", 20);
    t.wait_for("Nothing exists yet.", 20);
    t.keys(TAB);
    t.keys(TAB);
    let resources = t.text();
    assert!(resources.contains("on revoke "), "{resources}");
    t.keys(ENTER);
    t.wait_for("Step 6 of 8 · Confirm", 10);
    t.keys(TAB);
    t.keys(ENTER);
    t.wait_for("Step 7 of 8 · Deploy", 10);
    t.wait_for("Everything is in place", 90);
    t.keys("q"); // q on a finished Deploy goes on to Done, never skips it
    let done = t.wait_for("Step 8 of 8 · Done", 10);
    assert!(done.contains("Send these values"), "{done}");
    t.keys("q");
    assert!(t.wait_exit(10).success());
    let after = t.text();
    assert!(
        after.contains("Send these values to Acme ML:") && after.contains("Receipt: "),
        "printed after the wizard closed:\n{after}"
    );

    let mut t = Term::start_sized(dir.path(), &["--sandbox"], 24, 80);
    t.wait_for("Step 1 of 8 · Welcome", 20);
    t.keys("j");
    t.keys(ENTER);
    t.wait_for("Where is the install to revoke?", 10);
    t.keys(&down);
    t.keys(ENTER);
    t.wait_for("Account", 10);
    t.keys(ENTER);
    t.wait_for("Connected", 20);
    t.keys(ENTER);
    t.wait_for("e2e", 20);
    t.keys(ENTER);
    t.wait_for("What revoking org e2e will do", 20);
    t.wait_for("lines 1-", 20);
    let review = pages(&mut t);
    for f in fates {
        assert!(review.contains(f), "review: `{f}`\n{review}");
    }
    assert!(!review.contains('✓'), "nothing happened yet: no ✓ on the review\n{review}");
    t.keys(ENTER);
    t.wait_for("Type the org name", 10);
    t.keys("e2e");
    t.keys(ENTER);
    let progress = t.wait_for("Revoke finished", 90);
    // The live list keeps the rows that outlive revoke in view, in the review's words.
    for f in fates.iter().filter(|f| !f.starts_with("soft") && !f.starts_with("scheduled")) {
        assert!(progress.contains(f), "progress: `{f}`\n{progress}");
    }
    t.keys(ENTER);
    t.wait_for("Step 8 of 8 · Report", 10);
    let report = pages(&mut t);
    for f in fates {
        assert!(report.contains(f), "report: `{f}`\n{report}");
    }
    t.keys("q");
    assert!(t.wait_exit(10).success());
    let after = t.text();
    assert!(after.contains("is revoked") && after.contains("Receipt: "), "{after}");
    let receipts = std::fs::read_dir(dir.path().join("receipts")).unwrap().count();
    assert_eq!(receipts, 4, "JSON and Markdown of the init and of the revoke");
}

#[test]
fn aws_at_80x24_onboard_and_revoke_say_the_fates_in_full() {
    at_80x24(0, &["kept (with your data)", "scheduled for deletion (20"]);
}

#[test]
fn gcp_at_80x24_onboard_and_revoke_say_the_fates_in_full() {
    at_80x24(1, &["kept (with your data)", "scheduled for deletion (20", "soft-deleted (restorable until 20", "kept"]);
}

#[test]
fn azure_at_80x24_onboard_and_revoke_say_the_fates_in_full() {
    at_80x24(2, &["kept (with your data)", "soft-deleted (restorable until 20", "kept"]);
}
