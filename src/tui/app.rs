//! The application state and `update`, the only function that changes it.
//!
//! Policy: `update` is pure (no I/O, no clock reads): keys arrive as actions through the keymap,
//! time as `Tick`, cloud results as worker actions; side effects leave as `Command`s for the
//! runtime. Worker results are taken whatever screen or overlay is showing, so nothing is lost.

use std::time::Duration;

use crossterm::event::KeyEvent;

use super::action::{Action, Command};
use super::keymap::{action_for, Key, KeyContext};
use super::screens::account::AccountState;
use super::screens::cloud::CloudState;
use super::screens::configure::ConfigureState;
use super::screens::confirm::ConfirmState;
use super::screens::installs::InstallsState;
use super::screens::preview::PreviewState;
use super::screens::residue::ResidueState;
use super::screens::review::ReviewState;
use super::screens::type_confirm::TypeConfirmState;
use super::screens::welcome::WelcomeState;
use super::screens::{content_area, Screen};
use super::theme::Theme;
use super::widgets::run::{RunKind, RunState};
use super::widgets::run_view;
use crate::model::{Cloud, Installation, Update};
use crate::vendor::VendorProfile;

/// Which way through the wizard the user chose on the Welcome screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Onboard,
    Revoke,
}

/// "Leave while it runs?" — shown on Ctrl-C or q during a deploy or revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaveModal {
    /// The highlighted button; the safe default is "Stay".
    pub leave: bool,
}

#[derive(Debug, Clone)]
pub struct App {
    pub vendor: VendorProfile,
    pub theme: Theme,
    pub sandbox_only: bool,
    pub flow: Flow,
    pub screen: Screen,
    pub help: bool,
    pub modal: Option<LeaveModal>,
    /// Terminal size, for scroll limits.
    pub size: (u16, u16),
    /// Time since start, from the runtime's ticks.
    pub clock: Duration,
    pub quit: bool,
    pub welcome: WelcomeState,
    pub cloud: CloudState,
    pub account: AccountState,
    pub configure: ConfigureState,
    pub preview: PreviewState,
    pub confirm: ConfirmState,
    pub deploy: Option<RunState>,
    /// The installation as the apply reported it (Done screen).
    pub installation: Option<Installation>,
    pub installs: InstallsState,
    pub review: ReviewState,
    pub type_confirm: TypeConfirmState,
    pub revoke_run: Option<RunState>,
    pub residue: ResidueState,
    /// Where receipts are written (`None`: not written, as in tests without a directory).
    pub receipts_dir: Option<std::path::PathBuf>,
    /// The receipt of the last run: its JSON file, or why it was not written.
    pub receipt: Option<Result<std::path::PathBuf, String>>,
    /// A receipt was asked for the current run (one per run, on its first result).
    pub receipt_asked: bool,
    /// The signal (SIGINT, SIGTERM, SIGHUP) from outside that ended the wizard, if one did.
    pub stopped_by: Option<&'static str>,
    /// First line shown of the screens that scroll as a whole (Welcome, Confirm, Done) and of
    /// the help overlay.
    pub scroll: usize,
    pub help_scroll: usize,
}

impl App {
    pub fn new(vendor: VendorProfile, sandbox_only: bool, theme: Theme) -> App {
        let first = vendor.clouds().first().copied().unwrap_or(crate::model::Cloud::Aws);
        let configure = ConfigureState::new(first, &vendor);
        App {
            vendor,
            theme,
            sandbox_only,
            flow: Flow::Onboard,
            screen: Screen::Welcome,
            help: false,
            modal: None,
            size: (100, 30),
            clock: Duration::ZERO,
            quit: false,
            welcome: WelcomeState::default(),
            cloud: CloudState::default(),
            account: AccountState::default(),
            configure,
            preview: PreviewState::default(),
            confirm: ConfirmState::default(),
            deploy: None,
            installation: None,
            installs: InstallsState::default(),
            review: ReviewState::default(),
            type_confirm: TypeConfirmState::default(),
            revoke_run: None,
            residue: ResidueState::default(),
            receipts_dir: None,
            receipt: None,
            receipt_asked: false,
            stopped_by: None,
            scroll: 0,
            help_scroll: 0,
        }
    }

    /// Commands to run at start-up.
    pub fn start(&mut self) -> Vec<Command> {
        self.cloud.loading = true;
        vec![Command::LoadTargets]
    }

    pub fn key_context(&self) -> KeyContext {
        if self.help {
            KeyContext::Help
        } else if self.modal.is_some() {
            KeyContext::Modal
        } else {
            self.screen_context()
        }
    }

    /// The keys of the screen itself (what the help overlay lists): the Preview's filter and
    /// detail pane have their own.
    pub fn screen_context(&self) -> KeyContext {
        match self.screen {
            Screen::Preview if self.preview.filter.editing => KeyContext::PreviewFilter,
            Screen::Preview if self.preview.detail => KeyContext::PreviewDetail,
            s => KeyContext::Screen(s),
        }
    }

    /// A text field has the keyboard: unbound characters type into it.
    pub fn text_focus(&self) -> bool {
        matches!(
            self.key_context(),
            KeyContext::Screen(Screen::Configure | Screen::TypeConfirm) | KeyContext::PreviewFilter
        )
    }

    /// Map a key press through the current keymap and update.
    pub fn handle_key(&mut self, ev: KeyEvent) -> Vec<Command> {
        let Some(key) = Key::from_event(&ev) else { return Vec::new() };
        match action_for(self.key_context(), self.text_focus(), key) {
            Some(action) => self.update(action),
            None => Vec::new(),
        }
    }

    /// The run of the current flow.
    pub fn run(&self) -> Option<&RunState> {
        match self.flow {
            Flow::Onboard => self.deploy.as_ref(),
            Flow::Revoke => self.revoke_run.as_ref(),
        }
    }

    pub fn run_mut(&mut self) -> Option<&mut RunState> {
        match self.flow {
            Flow::Onboard => self.deploy.as_mut(),
            Flow::Revoke => self.revoke_run.as_mut(),
        }
    }

    /// Why leaving now is not a success: the last apply or revoke failed, or was left while it
    /// ran. `None` when nothing ran or the last run succeeded.
    pub fn unfinished_run(&self) -> Option<&'static str> {
        let run = self.run()?;
        let what = match self.flow {
            Flow::Onboard => "install",
            Flow::Revoke => "revoke",
        };
        let cancelled =
            run.finish.as_ref().is_some_and(|f| matches!(f.error, Some(crate::cloud::CloudError::Cancelled)));
        if cancelled {
            return Some(match what {
                "install" => {
                    "the install was stopped before it finished (what was already asked of the cloud carries on)"
                }
                _ => "the revoke was stopped before it finished (what was already asked of the cloud carries on)",
            });
        }
        match (run.running(), run.failed(), what) {
            (true, _, "install") => Some(
                "the install was still running when the wizard closed (what was already asked of the cloud carries on)",
            ),
            (true, _, _) => Some(
                "the revoke was still running when the wizard closed (what was already asked of the cloud carries on)",
            ),
            (_, true, "install") => Some("the install did not complete"),
            (_, true, _) => Some("the revoke did not complete"),
            _ => None,
        }
    }

    /// Something is being applied or revoked right now.
    pub fn running(&self) -> bool {
        self.run().is_some_and(RunState::running)
    }

    /// The screen shows something that moves with the clock (spinner, elapsed time).
    pub fn animating(&self) -> bool {
        self.running()
            || self.cloud.loading
            || self.account.waiting()
            || self.preview.loading
            || self.installs.loading
            || self.review.loading
    }

    /// Footer hints are shown only for actions that do something now.
    pub fn hint_enabled(&self, action: &Action) -> bool {
        if self.help || self.modal.is_some() {
            return true;
        }
        match (self.screen, action) {
            (Screen::Deploy | Screen::RevokeRun, Action::Retry) => self.run().is_some_and(RunState::failed),
            (Screen::Deploy, Action::Select) => self.run().is_some_and(RunState::succeeded),
            (Screen::RevokeRun, Action::Select) => {
                self.run().is_some_and(|r| !r.running()) && self.residue.residue.is_some()
            }
            (Screen::Deploy | Screen::RevokeRun, Action::End) => self.run().is_some_and(|r| r.log_top.is_some()),
            (Screen::Preview, Action::Select | Action::Filter | Action::CycleRisk | Action::NextTab | Action::Down) => {
                self.preview.plan.is_some()
            }
            (Screen::Preview, Action::Detail) => self.preview.detail || self.preview.detail_available(),
            (Screen::Review, Action::ToggleDeleteData) => self.review.plan.is_some() && self.binding_applies(action),
            _ => true,
        }
    }

    /// The action does something on this screen for this cloud (the help lists only those).
    pub fn binding_applies(&self, action: &Action) -> bool {
        match (self.screen, action) {
            (Screen::Review, Action::ToggleDeleteData) => self.review_cloud().is_some_and(|c| c != Cloud::Aws),
            _ => true,
        }
    }

    fn review_cloud(&self) -> Option<Cloud> {
        self.review.plan.as_ref().map(|p| p.installation.cloud).or_else(|| self.cloud.chosen().map(|t| t.cloud))
    }

    /// A binding's label here: the cloud's word for what `x` deletes; "scroll" where the
    /// Preview's tab has no selection.
    pub fn binding_label(&self, b: &super::keymap::Binding) -> String {
        match (self.screen, &b.action) {
            (Screen::Review, Action::ToggleDeleteData) => match self.review_cloud() {
                Some(Cloud::Gcp) => "also delete the data bucket".into(),
                Some(Cloud::Azure) => "also delete the service principal".into(),
                _ => b.label.into(),
            },
            (Screen::Preview, Action::Down) if !self.preview.tab.selectable() => b.label.replace("select", "scroll"),
            _ => b.label.into(),
        }
    }

    /// Visible log lines of the run view at the current size.
    pub fn log_height(&self) -> usize {
        let [view, _] = super::screens::deploy::split(content_area(self.size));
        self.run().map_or(10, |r| run_view::log_height(r, view))
    }

    pub fn go(&mut self, screen: Screen) {
        if self.screen != screen {
            self.scroll = 0;
        }
        self.screen = screen;
    }

    /// A receipt was asked for and its answer has not come back.
    pub fn receipt_pending(&self) -> bool {
        self.receipt_asked && self.receipt.is_none() && self.receipts_dir.is_some()
    }

    fn quit_now(&mut self) -> Vec<Command> {
        self.quit = true;
        vec![Command::Quit]
    }

    /// Ctrl-C (and q on the run screens): ask first while something runs.
    fn interrupt(&mut self) -> Vec<Command> {
        if self.running() {
            self.help = false;
            self.modal = Some(LeaveModal::default());
            Vec::new()
        } else {
            self.quit_now()
        }
    }

    fn leave(&mut self) -> Vec<Command> {
        self.modal = None;
        self.quit = true;
        vec![Command::CancelRun, Command::Quit]
    }

    fn update_modal(&mut self, action: Action) -> Vec<Command> {
        let Some(modal) = self.modal.as_mut() else { return Vec::new() };
        match action {
            Action::NextTab | Action::PrevTab | Action::Left | Action::Right => modal.leave = !modal.leave,
            Action::Select if modal.leave => return self.leave(),
            Action::Select | Action::Back => self.modal = None,
            // `y`, or a second Ctrl-C: the user means it.
            Action::Quit | Action::Interrupt => return self.leave(),
            _ => {}
        }
        Vec::new()
    }

    pub fn update(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Tick(t) => {
                self.clock = t;
                Vec::new()
            }
            Action::Resize(w, h) => {
                self.size = (w, h);
                Vec::new()
            }
            Action::Waiting(w) => {
                if let Some(run) = self.run_mut() {
                    run.waiting = w.filter(|_| run.running());
                }
                Vec::new()
            }
            Action::Targets(_)
            | Action::Accounts(_)
            | Action::Connected(_)
            | Action::Planned(_)
            | Action::Changes(_)
            | Action::Update(_)
            | Action::ApplyDone(_)
            | Action::Discovered(_)
            | Action::RevokePlanned(_)
            | Action::RevokeDone(_)
            | Action::ReceiptWritten(_) => self.on_result(action),
            Action::Interrupt if self.modal.is_none() => {
                self.help = false;
                self.interrupt()
            }
            _ if self.help => {
                match action {
                    Action::ToggleHelp => self.help = false,
                    Action::Up => self.help_scroll = self.help_scroll.saturating_sub(1),
                    Action::Down => self.help_scroll += 1,
                    Action::PageUp => self.help_scroll = self.help_scroll.saturating_sub(5),
                    Action::PageDown => self.help_scroll += 5,
                    _ => {}
                }
                Vec::new()
            }
            _ if self.modal.is_some() => self.update_modal(action),
            Action::ToggleHelp => {
                self.help = true;
                self.help_scroll = 0;
                Vec::new()
            }
            // q on a run screen: ask while it runs; once it has finished, on to what it left
            // (Done never skipped: it holds what to send the vendor).
            Action::Quit if matches!(self.screen, Screen::Deploy | Screen::RevokeRun) => self.quit_run(),
            Action::Quit => self.quit_now(),
            // Esc on the Preview clears its filter before it goes back.
            Action::Back if self.screen == Screen::Preview && self.preview.filter.active() => {
                self.update_preview(action)
            }
            Action::Back => {
                if let Some(prev) = self.screen.back() {
                    self.go(prev);
                }
                Vec::new()
            }
            _ => self.update_screen(action),
        }
    }

    fn update_screen(&mut self, action: Action) -> Vec<Command> {
        match self.screen {
            Screen::Welcome => self.update_welcome(action),
            Screen::Cloud => self.update_cloud(action),
            Screen::Account => self.update_account(action),
            Screen::Configure => self.update_configure(action),
            Screen::Preview => self.update_preview(action),
            Screen::Confirm => self.update_confirm(action),
            Screen::Deploy | Screen::RevokeRun => self.update_run(action),
            Screen::Installs => self.update_installs(action),
            Screen::Review => self.update_review(action),
            Screen::TypeConfirm => self.update_type_confirm(action),
            Screen::Done | Screen::Residue => self.update_finished(action),
        }
    }

    fn on_result(&mut self, action: Action) -> Vec<Command> {
        let now = self.clock;
        match action {
            Action::Targets(list) => {
                // Only the clouds the vendor pack covers are offered.
                let covered = self.vendor.clouds();
                self.cloud.receive(list.into_iter().filter(|t| covered.contains(&t.cloud)).collect())
            }
            Action::Accounts(list) => self.account.receive(list),
            Action::Connected(res) => self.account.connected(res),
            Action::Planned(res) => self.preview.receive(res),
            Action::Changes(res) => self.preview.changes = Some(res),
            Action::Discovered(res) => self.installs.receive(res),
            Action::RevokePlanned(res) => self.review.receive(res),
            Action::Update(u) => return self.on_update(u),
            Action::ApplyDone(res) => {
                if let Some(run) = self.deploy.as_mut() {
                    let err = res.err();
                    run.finish(err.is_none(), None, err, now);
                }
                return self.ask_receipt();
            }
            Action::RevokeDone(res) => {
                if let Some(run) = self.revoke_run.as_mut() {
                    let err = res.err();
                    run.finish(err.is_none(), None, err, now);
                }
                return self.ask_receipt();
            }
            Action::ReceiptWritten(res) => self.receipt = Some(res),
            _ => {}
        }
        Vec::new()
    }

    fn on_update(&mut self, update: Update) -> Vec<Command> {
        let now = self.clock;
        match update {
            Update::Applied { installation, ok, root_cause } => {
                if let Some(run) = self.deploy.as_mut() {
                    run.finish(ok, root_cause, None, now);
                }
                self.installation = Some(installation);
                return self.ask_receipt();
            }
            Update::Revoked { residue, ok, root_cause } => {
                if let Some(run) = self.revoke_run.as_mut() {
                    run.finish(ok, root_cause, None, now);
                }
                self.residue.residue = Some(residue);
                return self.ask_receipt();
            }
            // Events belong to the run of the current flow; a run exists before its command is
            // issued, so there is always one to take them.
            Update::Event(e) => {
                if let Some(run) = self.run_mut() {
                    run.apply_event(e);
                }
            }
            Update::Log { text } => {
                if let Some(run) = self.run_mut() {
                    run.note(text);
                }
            }
        }
        Vec::new()
    }

    /// Keys on the Deploy and Revoke-run screens.
    fn update_run(&mut self, action: Action) -> Vec<Command> {
        let height = self.log_height();
        let now = self.clock;
        let flow = self.flow;
        let Some(run) = self.run_mut() else { return Vec::new() };
        match action {
            Action::Up => run.scroll(-1, height),
            Action::Down => run.scroll(1, height),
            Action::PageUp => run.scroll(-(height as isize), height),
            Action::PageDown => run.scroll(height as isize, height),
            Action::Home => run.scroll_to_top(height),
            Action::End => run.follow(),
            Action::Retry if run.failed() => return self.retry(now),
            Action::Select if run.running() => {}
            Action::Select => match (flow, run.kind) {
                (Flow::Onboard, RunKind::Deploy) if run.succeeded() => self.go(Screen::Done),
                (Flow::Revoke, RunKind::Revoke) if self.residue.residue.is_some() => self.go(Screen::Residue),
                _ => {}
            },
            _ => {}
        }
        Vec::new()
    }

    /// Run again after a failure. A revoke retry leaves the DELETE_FAILED resources in place.
    fn retry(&mut self, now: Duration) -> Vec<Command> {
        match self.flow {
            Flow::Onboard => {
                let (Some(run), Some(plan)) = (self.deploy.as_mut(), self.preview.plan.as_ref()) else {
                    return Vec::new();
                };
                run.restart(now);
                self.receipt = None;
                self.receipt_asked = false;
                vec![Command::Deploy(Box::new(plan.clone()))]
            }
            Flow::Revoke => {
                let (Some(run), Some(plan)) = (self.revoke_run.as_mut(), self.review.plan.as_ref()) else {
                    return Vec::new();
                };
                let retain = run.delete_failed_ids();
                run.restart(now);
                if !retain.is_empty() {
                    run.note(format!("leaving in place: {}", retain.join(", ")));
                }
                self.residue.residue = None;
                self.receipt = None;
                self.receipt_asked = false;
                vec![Command::Revoke { plan: Box::new(plan.clone()), retain }]
            }
        }
    }

    /// Done and Residue: scroll (both can be longer than the screen), then quit.
    fn update_finished(&mut self, action: Action) -> Vec<Command> {
        let area = content_area(self.size);
        let lines = match self.screen {
            Screen::Residue => match self.residue.residue.as_ref() {
                Some(r) => super::screens::residue::residue_lines(self, r, area.width as usize).len(),
                None => 0,
            },
            _ => super::screens::done::lines(self, area.width as usize).len(),
        };
        self.scroll_page(&action, lines, area.height as usize);
        Vec::new()
    }

    /// The flags that reach the same account from the command line, for the hints:
    /// ` --sandbox --account NAME` in the sandbox, ` --profile NAME --region R` on AWS.
    pub fn cli_flags(&self, region: &str) -> String {
        let sandbox = self.cloud.chosen().is_some_and(|t| t.sandbox);
        let account = self.account.connected.as_ref().and_then(|(i, _)| self.account.accounts.get(*i));
        if self.cloud.chosen().is_some_and(|t| t.cloud == crate::model::Cloud::Gcp) {
            let project = account.map(|a| format!(" --project {}", a.key)).unwrap_or_default();
            return if sandbox { format!(" --sandbox{project}") } else { project };
        }
        if self.cloud.chosen().is_some_and(|t| t.cloud == crate::model::Cloud::Azure) {
            let subscription = account.map(|a| format!(" --subscription {}", a.key)).unwrap_or_default();
            return if sandbox { format!(" --sandbox{subscription}") } else { subscription };
        }
        match (sandbox, account) {
            (true, Some(a)) => format!(" --sandbox --account {}", a.key),
            (true, None) => " --sandbox".into(),
            (false, Some(a)) if !a.key.is_empty() => format!(" --profile {} --region {region}", a.key),
            (false, _) => format!(" --region {region}"),
        }
    }

    /// Start the apply of the previewed plan.
    pub(crate) fn start_deploy(&mut self) -> Vec<Command> {
        let Some(plan) = self.preview.plan.clone() else { return Vec::new() };
        let mut run = RunState::for_plan(&plan, self.clock);
        if let Some(Ok(changes)) = &self.preview.changes {
            run = run.with_changes(changes);
        }
        run.scope.push_str(&self.cli_flags(&plan.region));
        self.deploy = Some(run);
        self.installation = None;
        self.receipt = None;
        self.receipt_asked = false;
        self.go(Screen::Deploy);
        vec![Command::Deploy(Box::new(plan))]
    }

    /// Start the revoke of the reviewed plan.
    pub(crate) fn start_revoke(&mut self) -> Vec<Command> {
        let Some(plan) = self.review.plan.clone() else { return Vec::new() };
        let mut run = RunState::for_revoke(&plan, self.clock);
        run.scope.push_str(&self.cli_flags(&plan.installation.region));
        self.revoke_run = Some(run);
        self.residue = ResidueState::default();
        self.receipt = None;
        self.receipt_asked = false;
        self.go(Screen::RevokeRun);
        vec![Command::Revoke { plan: Box::new(plan), retain: Vec::new() }]
    }
}
