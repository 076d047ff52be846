//! The runtime: the main loop (`select!` over terminal input, worker messages and a frame tick)
//! and the executor that turns `Command`s into spawned tasks.
//!
//! Policy: the network is never awaited in the draw loop. Worker messages are drained in batches
//! of at most [`BATCH`] per turn and every one reaches `update` (nothing is dropped); only
//! drawing is coalesced, at most one frame per [`FRAME`]. Tasks share a cancellation token and
//! are joined on exit.

use std::future::Future;
use std::time::{Duration, Instant};

use color_eyre::eyre::eyre;
use crossterm::event::Event as TermEvent;
use futures::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::sync::mpsc::{self, Receiver, Sender};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::action::{Action, Command, Msg};
use super::app::App;
use super::screens;
use crate::cloud::{self, CloudError, ConnectOptions, Provider};
use crate::model::Update;

/// Most worker messages taken per loop turn, so input and drawing stay responsive under a burst.
pub const BATCH: usize = 1024;
/// Channel capacity; senders wait when it is full (back-pressure, never loss).
pub const CAPACITY: usize = 4096;
/// The clock tick (spinner, elapsed time).
pub const TICK: Duration = Duration::from_millis(100);
/// Shortest time between two frames.
pub const FRAME: Duration = Duration::from_millis(16);
/// How long exit waits for a task to notice the cancellation.
const JOIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long leaving waits for a stopped run's last answer and its receipt.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

pub fn channel() -> (Sender<Msg>, Receiver<Msg>) {
    mpsc::channel(CAPACITY)
}

/// Wait for the next worker messages and take up to [`BATCH`] of them; 0 when the channel closed.
pub async fn recv_batch(rx: &mut Receiver<Msg>, buf: &mut Vec<Msg>) -> usize {
    rx.recv_many(buf, BATCH).await
}

/// Give a batch to the app, in order. Providers are kept by the runtime, not the app.
pub fn apply_batch(app: &mut App, provider: &mut Option<Provider>, buf: &mut Vec<Msg>) -> Vec<Command> {
    let mut commands = Vec::new();
    for msg in buf.drain(..) {
        match msg {
            Msg::Action(a) => commands.extend(app.update(a)),
            Msg::Provider(p) => *provider = Some(*p),
        }
    }
    commands
}

/// Pass a provider's updates on, in order, until its sender is dropped (the call returned).
pub async fn forward_updates(mut rx: Receiver<Update>, tx: Sender<Msg>) {
    while let Some(u) = rx.recv().await {
        if tx.send(Msg::Action(Action::Update(u))).await.is_err() {
            break;
        }
    }
}

/// Runs commands as tasks; owns the connected provider.
pub struct Executor {
    tx: Sender<Msg>,
    cancel: CancellationToken,
    /// Child of `cancel`, for the running apply/revoke only.
    run_cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    pub provider: Option<Provider>,
    connect: ConnectOptions,
    sandbox_only: bool,
}

fn not_connected() -> CloudError {
    CloudError::failed("no account is connected", "Go back to the Account step (Esc) and choose an account.")
}

impl Executor {
    pub fn new(tx: Sender<Msg>, connect: ConnectOptions, sandbox_only: bool) -> Self {
        let cancel = CancellationToken::new();
        let run_cancel = cancel.child_token();
        Executor { tx, cancel, run_cancel, tasks: Vec::new(), provider: None, connect, sandbox_only }
    }

    /// Spawn `work`; it is dropped at its next await once the app exits.
    fn spawn(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        let cancel = self.cancel.clone();
        self.tasks.retain(|h| !h.is_finished());
        self.tasks.push(tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = work => {}
            }
        }));
    }

    /// Spawn a task whose one result becomes an action.
    fn spawn_result<F>(&mut self, work: F)
    where
        F: Future<Output = Action> + Send + 'static,
    {
        let tx = self.tx.clone();
        self.spawn(async move {
            let action = work.await;
            // The loop has gone when this fails: nobody is left to tell.
            let _ = tx.send(Msg::Action(action)).await;
        });
    }

    pub fn execute(&mut self, cmd: Command) {
        let provider = self.provider.clone();
        match cmd {
            Command::LoadTargets => {
                let sandbox_only = self.sandbox_only;
                self.spawn_result(async move { Action::Targets(cloud::targets(sandbox_only)) });
            }
            Command::LoadAccounts(target) => {
                self.spawn_result(async move { Action::Accounts(cloud::accounts(&target).await) })
            }
            Command::ConnectAccount { target, account } => {
                let tx = self.tx.clone();
                let options = self.connect.clone();
                self.spawn(async move {
                    let res = match cloud::connect(&target, &account, &options).await {
                        Ok(p) => p.identity().await.map(|id| (p, id)),
                        Err(e) => Err(e),
                    };
                    let action = match res {
                        Ok((p, id)) => {
                            // The provider first, so it is in place when the app moves on.
                            let _ = tx.send(Msg::Provider(Box::new(p))).await;
                            Action::Connected(Ok(id))
                        }
                        Err(e) => Action::Connected(Err(e)),
                    };
                    let _ = tx.send(Msg::Action(action)).await;
                });
            }
            Command::BuildPlan(choices) => {
                let vendor = self.connect.vendor.clone();
                let tx = self.tx.clone();
                self.spawn(async move {
                    let Some(p) = provider else {
                        let _ = tx.send(Msg::Action(Action::Planned(Err(not_connected())))).await;
                        return;
                    };
                    let planned = p.plan(&vendor, &choices).await;
                    let plan = planned.as_ref().ok().cloned();
                    let _ = tx.send(Msg::Action(Action::Planned(planned.map(Box::new)))).await;
                    // Then what it would change where stacks exist already (change sets on AWS).
                    if let Some(plan) = plan {
                        let _ = tx.send(Msg::Action(Action::Changes(p.preview_changes(&plan).await))).await;
                    }
                });
            }
            Command::Discover => self.spawn_result(async move {
                let Some(p) = provider else { return Action::Discovered(Err(not_connected())) };
                Action::Discovered(p.discover(None).await)
            }),
            Command::BuildRevokePlan(inst) => self.spawn_result(async move {
                let Some(p) = provider else { return Action::RevokePlanned(Err(not_connected())) };
                Action::RevokePlanned(p.revoke_plan(&inst).await.map(Box::new))
            }),
            Command::Deploy(plan) => {
                let token = self.new_run_token();
                self.spawn_run(move |utx| async move {
                    let Some(p) = provider else { return Action::ApplyDone(Err(not_connected())) };
                    Action::ApplyDone(p.apply(&plan, utx, token).await.map(|_| ()))
                });
            }
            Command::Revoke { plan, retain } => {
                let token = self.new_run_token();
                self.spawn_run(move |utx| async move {
                    let Some(p) = provider else { return Action::RevokeDone(Err(not_connected())) };
                    Action::RevokeDone(p.revoke(&plan, &retain, utx, token).await.map(|_| ()))
                });
            }
            Command::CancelRun => self.run_cancel.cancel(),
            Command::WriteReceipt { receipt, dir } => self.spawn_result(async move {
                // Stamped when written: `update` reads no clock.
                let mut r = *receipt;
                r.created = chrono::Utc::now();
                r.id = crate::receipts::receipt_id(r.created, r.cloud, &r.org, r.flow);
                let written = tokio::task::spawn_blocking(move || crate::receipts::store::write_in(&dir, &r))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|w| w.map_err(|e| format!("{e}. {}", e.next_step)));
                Action::ReceiptWritten(written)
            }),
            Command::Quit => {}
        }
    }

    fn new_run_token(&mut self) -> CancellationToken {
        self.run_cancel = self.cancel.child_token();
        self.run_cancel.clone()
    }

    /// An apply or revoke: its updates are forwarded in order, then its return value, so the
    /// "done" action always comes after the last update. The provider watches the token itself
    /// (to stop cleanly), so this task is not dropped on cancel.
    fn spawn_run<F, Fut>(&mut self, work: F)
    where
        F: FnOnce(Sender<Update>) -> Fut + Send + 'static,
        Fut: Future<Output = Action> + Send + 'static,
    {
        let tx = self.tx.clone();
        let (utx, urx) = mpsc::channel(CAPACITY);
        self.tasks.push(tokio::spawn(async move {
            let (done, ()) = tokio::join!(work(utx), forward_updates(urx, tx.clone()));
            let _ = tx.send(Msg::Action(done)).await;
        }));
    }

    /// Cancel every task and wait (briefly) for each to finish.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        for h in self.tasks {
            let _ = tokio::time::timeout(JOIN_TIMEOUT, h).await;
        }
    }
}

/// Run the UI until the user quits, drawing on `terminal` and reading `events`.
pub async fn event_loop<B, S>(
    terminal: &mut Terminal<B>,
    mut app: App,
    connect: ConnectOptions,
    mut events: S,
) -> color_eyre::Result<App>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = std::io::Result<TermEvent>> + Unpin,
{
    let (tx, mut rx) = channel();
    let mut exec = Executor::new(tx, connect, app.sandbox_only);
    let start = Instant::now();
    let size = terminal.size().map_err(|e| eyre!("cannot read the terminal size: {e}"))?;
    app.update(Action::Resize(size.width, size.height));
    for c in app.start() {
        exec.execute(c);
    }
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut buf = Vec::with_capacity(BATCH);
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    // SIGINT, SIGTERM or SIGHUP from outside: leave as on quit, so the terminal is restored.
    let stop = crate::signals::token();
    let mut waiting: Option<String> = None;
    let result = loop {
        if dirty && last_draw.elapsed() >= FRAME {
            if let Err(e) = terminal.draw(|f| screens::render(&app, f)) {
                break Err(eyre!("cannot draw: {e}"));
            }
            dirty = false;
            last_draw = Instant::now();
        }
        if app.quit {
            break Ok(());
        }

        let next_frame = tokio::time::Instant::from_std(last_draw + FRAME);
        let commands = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => {
                    dirty = true;
                    match ev {
                        TermEvent::Key(k) => {
                            tracing::trace!(target: "cloudgrant::tui", key = ?k.code, "key");
                            app.handle_key(k)
                        }
                        TermEvent::Mouse(m) => app.handle_mouse(m),
                        TermEvent::Resize(w, h) => app.update(Action::Resize(w, h)),
                        _ => Vec::new(),
                    }
                }
                Some(Err(e)) => break Err(eyre!("cannot read the terminal: {e}")),
                None => break Ok(()),
            },
            n = recv_batch(&mut rx, &mut buf) => {
                if n == 0 {
                    break Ok(());
                }
                dirty = true;
                apply_batch(&mut app, &mut exec.provider, &mut buf)
            }
            _ = stop.cancelled() => {
                app.stopped_by = Some(crate::signals::received().map(crate::signals::name).unwrap_or("a signal"));
                break Ok(());
            }
            _ = tick.tick() => {
                app.update(Action::Tick(start.elapsed()));
                let now_waiting = crate::cloud::aws::bounds::waiting_line();
                if now_waiting != waiting {
                    waiting = now_waiting;
                    app.update(Action::Waiting(waiting.clone()));
                }
                dirty |= app.animating();
                Vec::new()
            }
            _ = tokio::time::sleep_until(next_frame), if dirty => Vec::new(),
        };
        for c in commands {
            tracing::debug!(target: "cloudgrant::tui", command = command_name(&c), "command");
            exec.execute(c);
        }
    };
    if result.is_ok() {
        settle_run(&mut app, &mut exec, &mut rx, &mut buf).await;
    }
    exec.shutdown().await;
    result.map(|()| app)
}

/// Leaving while a run is under way (a signal, or the user's second Ctrl-C): the run is told to
/// stop watching and its last answer — what the cloud said so far — is waited for, briefly, so
/// that its receipt is written and its path printed; a receipt still being written is waited for
/// too. Nothing else is started.
async fn settle_run(app: &mut App, exec: &mut Executor, rx: &mut Receiver<Msg>, buf: &mut Vec<Msg>) {
    if app.running() {
        exec.execute(Command::CancelRun);
    }
    let wait = tokio::time::timeout(SETTLE_TIMEOUT, async {
        while app.running() || app.receipt_pending() {
            if recv_batch(rx, buf).await == 0 {
                break;
            }
            for c in apply_batch(app, &mut exec.provider, buf) {
                if matches!(c, Command::WriteReceipt { .. }) {
                    exec.execute(c);
                }
            }
        }
    });
    let _ = wait.await;
}

/// A command's name for the debug log (never its content: plans and receipts stay out of it).
fn command_name(c: &Command) -> &'static str {
    match c {
        Command::LoadTargets => "load targets",
        Command::LoadAccounts(_) => "load accounts",
        Command::ConnectAccount { .. } => "connect",
        Command::BuildPlan(_) => "build plan",
        Command::Deploy(_) => "deploy",
        Command::Discover => "discover",
        Command::BuildRevokePlan(_) => "build revoke plan",
        Command::Revoke { .. } => "revoke",
        Command::CancelRun => "cancel run",
        Command::WriteReceipt { .. } => "write receipt",
        Command::Quit => "quit",
    }
}
