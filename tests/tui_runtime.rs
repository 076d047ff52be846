//! The runtime end to end, in process: the real `event_loop` (select! over keys, worker messages
//! and ticks; commands run as tasks) against the sandbox cloud, drawn on a TestBackend, with keys
//! scripted over a stream. Onboard, then revoke the same install.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is the failure report

mod tui_support;

use std::time::Duration;

use cloudgrant::cloud::sandbox::SandboxConfig;
use cloudgrant::cloud::ConnectOptions;
use cloudgrant::tui::runtime::event_loop;
use cloudgrant::tui::{App, Theme};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures::channel::mpsc::{unbounded, UnboundedSender};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tui_support::{buffer_text, vendor};

type Keys = UnboundedSender<std::io::Result<Event>>;

fn send(keys: &Keys, code: KeyCode) {
    keys.unbounded_send(Ok(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))).unwrap();
}

async fn step(keys: &Keys, codes: &[KeyCode], wait_ms: u64) {
    for c in codes {
        send(keys, *c);
    }
    tokio::time::sleep(Duration::from_millis(wait_ms)).await;
}

async fn typed(keys: &Keys, text: &str) {
    for c in text.chars() {
        send(keys, KeyCode::Char(c));
    }
}

fn options(dir: &std::path::Path) -> ConnectOptions {
    ConnectOptions {
        vendor: vendor(),
        sandbox: SandboxConfig { dir: dir.to_path_buf(), speed: 1000.0, fail: Vec::new() },
        region: None,
    }
}

/// Run the loop with `script` typing into it; returns the last frame's text and how long the
/// loop ran.
async fn run_timed<F, Fut>(dir: &std::path::Path, script: F) -> (String, Duration)
where
    F: FnOnce(Keys) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = unbounded();
    let driver = tokio::spawn(script(tx));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let app = App::new(vendor(), true, Theme::plain());
    let start = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(60), event_loop(&mut terminal, app, options(dir), rx))
        .await
        .expect("the loop ends when the user quits")
        .expect("no error");
    let ran = start.elapsed();
    driver.await.unwrap();
    (buffer_text(terminal.backend().buffer()), ran)
}

async fn run_with<F, Fut>(dir: &std::path::Path, script: F) -> String
where
    F: FnOnce(Keys) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    run_timed(dir, script).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboard_then_revoke_in_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    // Connecting asks the simulated AWS who we are through the SDK: on a busy machine that can
    // take a while, so the windows that wait for the cloud are wide.
    let last = run_with(dir.path(), |keys| async move {
        step(&keys, &[], 500).await;
        step(&keys, &[KeyCode::Enter, KeyCode::Enter], 700).await; // Welcome → Cloud → Account
        step(&keys, &[KeyCode::Enter], 4000).await; // connect sandbox-dev
        step(&keys, &[KeyCode::Enter], 300).await; // → Configure
        typed(&keys, "rt").await;
        step(&keys, &[KeyCode::Enter], 4000).await; // → Preview (plan built in a task)
        step(&keys, &[KeyCode::Enter, KeyCode::Right, KeyCode::Enter], 6000).await; // Create
        step(&keys, &[KeyCode::Enter], 500).await; // → Done
        step(&keys, &[KeyCode::Char('q')], 0).await;
    })
    .await;
    assert!(last.contains("Step 8 of 8 · Done"), "{last}");
    assert!(last.contains("Access for Acme ML is in place"), "{last}");
    assert!(last.contains("VendorRoleArn") && last.contains("role/acmeml-rt-vendor"), "{last}");

    let last = run_with(dir.path(), |keys| async move {
        step(&keys, &[], 500).await;
        step(&keys, &[KeyCode::Down, KeyCode::Enter, KeyCode::Enter], 700).await; // revoke → Account
        step(&keys, &[KeyCode::Enter], 4000).await; // connect
        step(&keys, &[KeyCode::Enter], 3000).await; // → Installs (discover)
        step(&keys, &[KeyCode::Enter], 3000).await; // → Review (revoke plan)
        step(&keys, &[KeyCode::Enter], 300).await; // → type to confirm
        typed(&keys, "rt").await;
        step(&keys, &[KeyCode::Enter], 6000).await; // revoke
        step(&keys, &[KeyCode::Enter], 500).await; // → Report
        step(&keys, &[KeyCode::Char('q')], 0).await;
    })
    .await;
    assert!(last.contains("Step 8 of 8 · Report"), "{last}");
    assert!(last.contains("access to account") && last.contains("is revoked"), "{last}");
    assert!(last.contains("kept"), "the data bucket stays: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_ends_when_input_ends_and_ctrl_c_quits() {
    let dir = tempfile::tempdir().unwrap();
    // Input closed: the loop returns cleanly.
    let last = run_with(dir.path(), |keys| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(keys);
    })
    .await;
    assert!(last.contains("Step 1 of 8 · Welcome"), "{last}");
    // Ctrl-C with nothing running quits at once, while the input is still open.
    let (last, ran) = run_timed(dir.path(), |keys| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        keys.unbounded_send(Ok(Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)))).unwrap();
        tokio::time::sleep(Duration::from_millis(3000)).await;
        drop(keys);
    })
    .await;
    assert!(last.contains("Welcome"), "{last}");
    assert!(ran < Duration::from_millis(2500), "Ctrl-C ended the loop, not the closed input ({ran:?})");
}
