//! Step 3, Account: which account of the chosen target. Choosing one connects in a worker task
//! and shows who the tool is acting as (account id and principal) before going on.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{error_lines, waiting_lines, Screen};
use crate::cloud::{AccountChoice, CloudError, Identity};
use crate::tui::action::{Action, Command};
use crate::tui::app::{App, Flow};
use crate::tui::widgets::{hanging, list_screen, value_lines, wrap};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountState {
    pub accounts: Vec<AccountChoice>,
    pub selected: usize,
    pub loading: bool,
    /// The account being connected to.
    pub connecting: Option<usize>,
    /// The connected account and who we are there.
    pub connected: Option<(usize, Identity)>,
    pub error: Option<CloudError>,
}

impl AccountState {
    pub(crate) fn reset_for_target(&mut self) {
        *self = AccountState { loading: true, ..AccountState::default() };
    }

    pub(crate) fn receive(&mut self, accounts: Result<Vec<AccountChoice>, CloudError>) {
        self.loading = false;
        self.selected = 0;
        match accounts {
            Ok(list) => self.accounts = list,
            Err(e) => {
                self.accounts = Vec::new();
                self.error = Some(e);
            }
        }
    }

    pub(crate) fn connected(&mut self, res: Result<Identity, CloudError>) {
        // A late answer for a connection the user moved away from is ignored.
        let Some(i) = self.connecting.take() else { return };
        match res {
            Ok(id) => self.connected = Some((i, id)),
            Err(e) => self.error = Some(e),
        }
    }

    pub fn waiting(&self) -> bool {
        self.loading || self.connecting.is_some()
    }

    pub fn identity(&self) -> Option<&Identity> {
        self.connected.as_ref().map(|(_, id)| id)
    }
}

impl App {
    pub(crate) fn update_account(&mut self, action: Action) -> Vec<Command> {
        let a = &mut self.account;
        let last = a.accounts.len().saturating_sub(1);
        match action {
            Action::Up if a.connecting.is_none() => a.selected = a.selected.saturating_sub(1),
            Action::Down if a.connecting.is_none() => a.selected = (a.selected + 1).min(last),
            Action::Select if a.connecting.is_none() => {
                if a.connected.as_ref().is_some_and(|(i, _)| *i == a.selected) {
                    return self.account_continue();
                }
                let (Some(target), Some(account)) = (self.cloud.chosen().cloned(), a.accounts.get(a.selected).cloned())
                else {
                    return Vec::new();
                };
                a.connecting = Some(a.selected);
                a.connected = None;
                a.error = None;
                return vec![Command::ConnectAccount { target, account }];
            }
            _ => {}
        }
        Vec::new()
    }

    fn account_continue(&mut self) -> Vec<Command> {
        match self.flow {
            Flow::Onboard => {
                if let Some(t) = self.cloud.chosen() {
                    let cloud = t.cloud;
                    self.configure.for_cloud(cloud, &self.vendor);
                }
                self.go(Screen::Configure);
                Vec::new()
            }
            Flow::Revoke => {
                self.go(Screen::Installs);
                self.installs.start_loading();
                vec![Command::Discover]
            }
        }
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let a = &app.account;
    let width = area.width as usize;
    let target = app.cloud.chosen().map_or("the target", |t| t.title.as_str());
    let cloud = app.cloud.chosen().map_or(crate::model::Cloud::Aws, |t| t.cloud);
    let what = cloud.account_word();
    let mut head = vec![Line::raw("")];
    head.extend(wrap(&format!("Which {what} of {target}?"), width).into_iter().map(|l| Line::styled(l, t.heading)));
    head.push(Line::raw(""));
    if a.loading {
        let waiting = match cloud {
            crate::model::Cloud::Gcp => "Listing your projects…",
            crate::model::Cloud::Azure => "Listing your subscriptions…",
            crate::model::Cloud::Aws => "Looking for accounts…",
        };
        head.extend(waiting_lines(app, waiting));
    } else if a.accounts.is_empty() {
        let why = app.cloud.chosen().map(|t| format!(": {}", t.detail)).unwrap_or_default();
        head.extend(wrap(&format!("No {what}s found{why}."), width).into_iter().map(|l| Line::styled(l, t.warn)));
        head.push(Line::styled("Esc goes back to choose another target.", t.muted));
    }
    let items: Vec<Vec<Line<'static>>> = a
        .accounts
        .iter()
        .enumerate()
        .map(|(i, acc)| {
            let chosen = i == a.selected;
            let connected = a.connected.as_ref().is_some_and(|(c, _)| *c == i);
            let style = if chosen { t.selected } else { t.text };
            let beside = connected.then_some(("  ✓ connected", t.ok));
            choice_lines(app, chosen, (&acc.label, style), beside, &acc.detail, width)
        })
        .collect();
    // What is below the list stays in view: who cloudgrant acts as, and what Enter does.
    let mut tail = vec![Line::raw("")];
    if let Some(i) = a.connecting {
        let label = a.accounts.get(i).map_or("", |x| x.label.as_str());
        tail.extend(waiting_lines(app, &format!("Connecting to {label}…")));
    } else if let Some((_, id)) = &a.connected {
        tail.push(Line::styled("Connected. cloudgrant will act as:", t.ok));
        tail.extend(kv(app, what, &id.account, width));
        if cloud == crate::model::Cloud::Azure {
            // The tenant the vendor's service principal will be made in.
            tail.extend(kv(app, "tenant", id.tenant.as_deref().unwrap_or("(not reported)"), width));
        }
        tail.extend(kv(app, "principal", &id.principal, width));
        tail.extend(kv(app, "credentials", &id.source, width));
        tail.push(Line::raw(""));
        let next = match app.flow {
            Flow::Onboard => "Enter: continue to Configure (nothing is created yet).",
            Flow::Revoke if cloud == crate::model::Cloud::Aws => "Enter: look for installs in this account.",
            Flow::Revoke if cloud == crate::model::Cloud::Gcp => "Enter: look for installs in this project.",
            Flow::Revoke => "Enter: look for installs in this subscription.",
        };
        tail.extend(wrap(next, width).into_iter().map(|l| Line::styled(l, t.heading)));
    } else if let Some(e) = &a.error {
        tail.extend(error_lines(app, e, area.width));
        tail.push(Line::styled("Enter tries again.", t.muted));
    }
    let lines = list_screen(head, &items, a.selected, tail, area.height as usize, t);
    frame.render_widget(Paragraph::new(lines), area);
}

/// One choice of a list (an account, a cloud): its marker and title, what it adds beside the
/// title, and its description under it; wrapped lines stay under themselves.
pub(crate) fn choice_lines(
    app: &App,
    chosen: bool,
    (title, style): (&str, ratatui::style::Style),
    beside: Option<(&str, ratatui::style::Style)>,
    detail: &str,
    width: usize,
) -> Vec<Line<'static>> {
    let t = &app.theme;
    let marker = Span::styled(if chosen { "> " } else { "  " }, t.key);
    let extra = beside.map_or(0, |(b, _)| b.chars().count());
    let mut lines = if 2 + title.chars().count() + 2 + extra <= width {
        let mut spans = vec![marker, Span::styled(format!(" {title} "), style)];
        if let Some((b, s)) = beside {
            spans.push(Span::styled(b.to_string(), s));
        }
        vec![Line::from(spans)]
    } else {
        let mut l = hanging(vec![marker, Span::raw(" ")], title, width, style);
        if let Some((b, s)) = beside {
            l.push(Line::from(vec![Span::raw("  "), Span::styled(b.trim_start().to_string(), s)]));
        }
        l
    };
    lines.extend(hanging(vec![Span::raw("     ")], detail, width, t.muted));
    lines
}

/// `label value`, the value whole (a principal is copied from here): beside the label when it
/// fits, else on its own line.
fn kv(app: &App, k: &str, v: &str, width: usize) -> Vec<Line<'static>> {
    value_lines(&format!("  {k:<13}"), v, width, app.theme.muted, app.theme.text)
}
