//! Step 2, Cloud: where to install, from `cloud::targets`. Targets not built yet are listed with
//! what was detected but cannot be chosen; the first available one is selected: your account when credentials were found, else the sandbox.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{waiting_lines, Screen};
use crate::cloud::Target;
use crate::tui::action::{Action, Command};
use crate::tui::app::App;
use crate::tui::widgets::{list_screen, wrap};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CloudState {
    pub targets: Vec<Target>,
    pub selected: usize,
    pub loading: bool,
    /// Why the highlighted target cannot be chosen (after Enter on it).
    pub message: Option<String>,
    /// The target the Account screen works with.
    pub chosen: Option<usize>,
}

impl CloudState {
    pub(crate) fn receive(&mut self, targets: Vec<Target>) {
        self.loading = false;
        // The first offered target: the real account when credentials were found, else the sandbox.
        self.selected = targets.iter().position(|t| t.available).unwrap_or(0);
        self.targets = targets;
    }

    pub fn chosen(&self) -> Option<&Target> {
        self.chosen.and_then(|i| self.targets.get(i))
    }
}

impl App {
    pub(crate) fn update_cloud(&mut self, action: Action) -> Vec<Command> {
        let c = &mut self.cloud;
        let last = c.targets.len().saturating_sub(1);
        match action {
            Action::Up => {
                c.selected = c.selected.saturating_sub(1);
                c.message = None;
            }
            Action::Down => {
                c.selected = (c.selected + 1).min(last);
                c.message = None;
            }
            Action::Select => {
                let Some(target) = c.targets.get(c.selected).cloned() else { return Vec::new() };
                if !target.available {
                    c.message = Some(format!(
                        "{} cannot be chosen yet: cloudgrant does not support it so far. Choose the sandbox to walk through the whole flow.",
                        target.title
                    ));
                    return Vec::new();
                }
                c.message = None;
                let changed = c.chosen != Some(c.selected);
                c.chosen = Some(c.selected);
                self.go(Screen::Account);
                if changed || self.account.accounts.is_empty() {
                    self.account.reset_for_target();
                    return vec![Command::LoadAccounts(target)];
                }
            }
            _ => {}
        }
        Vec::new()
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let c = &app.cloud;
    let question = match app.flow {
        crate::tui::app::Flow::Onboard => "Where should cloudgrant create the access?",
        crate::tui::app::Flow::Revoke => "Where is the install to revoke?",
    };
    let width = area.width as usize;
    let mut head = vec![Line::raw("")];
    head.extend(wrap(question, width).into_iter().map(|l| Line::styled(l, t.heading)));
    head.push(Line::raw(""));
    if c.loading && c.targets.is_empty() {
        head.extend(waiting_lines(app, "Looking for credentials…"));
    }
    let items: Vec<Vec<Line<'static>>> = c
        .targets
        .iter()
        .enumerate()
        .map(|(i, target)| {
            let chosen = i == c.selected;
            let base = if target.available { t.text } else { t.muted };
            let style = if chosen { base.patch(t.selected) } else { base };
            let coming = (!target.available).then_some(("  coming", t.warn));
            let mut lines =
                super::account::choice_lines(app, chosen, (&target.title, style), coming, &target.detail, width);
            lines.push(Line::raw(""));
            lines
        })
        .collect();
    let mut tail = Vec::new();
    let covered = app.vendor.clouds();
    if covered.len() < crate::model::Cloud::ALL.len() {
        let names: Vec<&str> = covered.iter().map(|c| c.title()).collect();
        let text = format!("{}'s vendor pack covers {} only.", app.vendor.vendor.name, names.join(" and "));
        tail.extend(wrap(&text, width).into_iter().map(|l| Line::styled(l, t.muted)));
    }
    if let Some(m) = &c.message {
        tail.extend(wrap(m, width).into_iter().map(|l| Line::styled(l, t.warn)));
    } else if app.sandbox_only {
        tail.extend(
            wrap("Started with --sandbox: only the sandbox is offered.", width)
                .into_iter()
                .map(|l| Line::styled(l, t.muted)),
        );
    }
    let lines = list_screen(head, &items, c.selected, tail, area.height as usize, t);
    frame.render_widget(Paragraph::new(lines), area);
}
