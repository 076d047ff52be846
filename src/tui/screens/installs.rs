//! Revoke step 4, Installs: the installs of this vendor found in the account (from tags and
//! names, via `Provider::discover`), to choose the one to revoke.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{error_lines, waiting_lines, Screen};
use crate::cloud::CloudError;
use crate::model::Installation;
use crate::tui::action::{Action, Command};
use crate::tui::app::App;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstallsState {
    pub list: Vec<Installation>,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<CloudError>,
}

impl InstallsState {
    pub(crate) fn start_loading(&mut self) {
        *self = InstallsState { loading: true, ..InstallsState::default() };
    }

    pub(crate) fn receive(&mut self, res: Result<Vec<Installation>, CloudError>) {
        self.loading = false;
        match res {
            Ok(list) => {
                self.list = list;
                self.selected = 0;
            }
            Err(e) => self.error = Some(e),
        }
    }
}

impl App {
    pub(crate) fn update_installs(&mut self, action: Action) -> Vec<Command> {
        let s = &mut self.installs;
        match action {
            Action::Up => s.selected = s.selected.saturating_sub(1),
            Action::Down => s.selected = (s.selected + 1).min(s.list.len().saturating_sub(1)),
            Action::Retry if !s.loading => {
                s.start_loading();
                return vec![Command::Discover];
            }
            Action::Select if !s.loading => {
                let Some(inst) = s.list.get(s.selected).cloned() else { return Vec::new() };
                self.review.start_loading(&inst.org);
                self.go(Screen::Review);
                return vec![Command::BuildRevokePlan(Box::new(inst))];
            }
            _ => {}
        }
        Vec::new()
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let s = &app.installs;
    let cloud = app.cloud.chosen().map_or(crate::model::Cloud::Aws, |t| t.cloud);
    let what = cloud.account_word();
    let found_from = match cloud {
        crate::model::Cloud::Aws => "Found from the stacks' tags in the account, not from files on this computer.",
        crate::model::Cloud::Gcp => "Found from the labels in the project, not from files on this computer.",
        crate::model::Cloud::Azure => {
            "Found from the deployment stacks' tags in the subscription, not from files on this computer."
        }
    };
    let mut lines = vec![
        Line::raw(""),
        Line::styled(format!("Installs of {} found in this {what}", app.vendor.vendor.name), t.heading),
        Line::styled(found_from, t.muted),
        Line::raw(""),
    ];
    if s.loading {
        lines.extend(waiting_lines(app, "Looking for installs…"));
    } else if let Some(e) = &s.error {
        lines.extend(error_lines(app, e, area.width));
        lines.push(Line::styled("r tries again.", t.muted));
    } else if s.list.is_empty() {
        lines.push(Line::styled(
            format!(
                "No install of {} was found in this {what}: there is nothing to revoke here.",
                app.vendor.vendor.name
            ),
            t.warn,
        ));
        lines.push(Line::styled(format!("Esc goes back to choose another {what}; r looks again."), t.muted));
    }
    // Column widths from the values: AWS account ids are 12 digits, GCP project ids up to 30.
    let width = |f: &dyn Fn(&crate::model::Installation) -> usize, min: usize| {
        s.list.iter().map(f).max().unwrap_or(0).max(min) + 2
    };
    let (org_w, acc_w, reg_w) =
        (width(&|i| i.org.len(), 16), width(&|i| i.account.len(), 12), width(&|i| i.region.len(), 10));
    // Where a row would wrap (an Azure subscription id is 36 characters), the account column
    // goes: every install listed is in the account chosen on the previous screen, and it is named
    // under each row instead.
    let status_w = s.list.iter().map(|i| i.health.word().len()).max().unwrap_or(0);
    let show_acc = 4 + org_w + acc_w + reg_w + 8 + status_w <= area.width as usize;
    let acc_w = if show_acc { acc_w } else { 0 };
    if !s.list.is_empty() {
        let acc_head = if show_acc { what } else { "" };
        lines.push(Line::styled(
            format!("  {:<4}{:<org_w$}{:<acc_w$}{:<reg_w$}{:<8}{}", "", "org", acc_head, "region", "groups", "status"),
            t.muted,
        ));
    }
    for (i, inst) in s.list.iter().enumerate() {
        let chosen = i == s.selected;
        let style = if chosen { t.selected } else { t.text };
        // The health every output names the same way (status, init, revoke).
        let status = inst.health.word().to_string();
        let status_style = if inst.health == crate::model::Health::Complete { t.ok } else { t.warn };
        lines.push(Line::from(vec![
            Span::styled(if chosen { "  > " } else { "    " }, t.key),
            Span::styled(format!("{:<org_w$}", inst.org), style),
            Span::styled(
                format!(
                    "{:<acc_w$}{:<reg_w$}{:<8}",
                    if show_acc { inst.account.as_str() } else { "" },
                    inst.region,
                    inst.groups.len()
                ),
                t.text,
            ),
            Span::styled(status, status_style),
        ]));
        let names: Vec<&str> = inst.groups.iter().map(|g| g.name.as_str()).collect();
        let created =
            inst.created.map(|c| format!("created {} · ", c.format("%Y-%m-%d %H:%M UTC"))).unwrap_or_default();
        let account = if show_acc { String::new() } else { format!("{what} {} · ", inst.account) };
        lines.push(Line::styled(format!("      {account}{created}{}", names.join(", ")), t.muted));
        if inst.health != crate::model::Health::Complete {
            lines.push(Line::styled(format!("      {}", inst.health.sentence()), t.warn));
        }
        for l in &inst.leftovers {
            lines.push(Line::styled(format!("      left outside the {}s: {}", cloud.group_word(), l.line()), t.warn));
        }
        for x in &inst.strangers {
            lines.push(Line::styled(format!("      ! {}", x.line()), t.warn));
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
