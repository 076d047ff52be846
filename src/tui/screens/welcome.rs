//! Step 1, Welcome: what will happen, in plain words, and the choice between granting access and
//! revoking an existing install.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{Screen, ONBOARD_STEPS, REVOKE_STEPS};
use crate::tui::action::{Action, Command};
use crate::tui::app::{App, Flow};
use crate::tui::widgets::wrap;

pub const ENTRIES: [&str; 2] = ["Grant access (onboard)", "Revoke an existing install"];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WelcomeState {
    pub selected: usize,
}

impl App {
    pub(crate) fn update_welcome(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Up => self.welcome.selected = self.welcome.selected.saturating_sub(1),
            Action::Down => self.welcome.selected = (self.welcome.selected + 1).min(ENTRIES.len() - 1),
            Action::PageUp | Action::PageDown => {
                let area = super::content_area(self.size);
                let [text, _] = split(area);
                let n = text_lines(self, area.width as usize).len();
                self.scroll_page(&action, n, text.height as usize);
            }
            Action::Select => {
                self.flow = if self.welcome.selected == 0 { Flow::Onboard } else { Flow::Revoke };
                self.go(Screen::Cloud);
            }
            _ => {}
        }
        Vec::new()
    }
}

/// The explanation above the menu, wrapped to `width`.
fn text_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let v = &app.vendor;
    let name = v.vendor.name.as_str();
    let para = |text: &str, style| -> Vec<Line<'static>> {
        wrap(text, width).into_iter().map(|l| Line::styled(l, style)).collect()
    };
    let mut lines = vec![Line::raw("")];
    lines.extend(para(&format!("{name} asks for access to your cloud account."), t.title));
    lines.push(Line::raw(""));
    lines.extend(para("cloudgrant will create, in the account you choose:", t.text));
    for text in [
        format!(
            "access for {name} to run its machines, limited to what that needs: on AWS a role only its account ({}) can assume, with an ExternalId unique to you; on Google Cloud a role for its service account; on Azure a role for its application, on its own resource group only",
            v.aws.account_id
        ),
        format!("an identity for the machines {name} launches, limited to your data storage and the keys or secrets it needs"),
        "a network for those machines, and storage for your data".to_string(),
    ] {
        for (i, part) in wrap(&text, width.saturating_sub(4)).into_iter().enumerate() {
            let head = if i == 0 { "  • " } else { "    " };
            lines.push(Line::from(vec![Span::styled(head, t.muted), Span::styled(part, t.text)]));
        }
    }
    lines.push(Line::raw(""));
    lines.extend(para(
        "Nothing is created before the Confirm step: you first see every resource and every permission.",
        t.heading,
    ));
    lines.extend(para("Revoke takes it back: the vendor's access ends first, then everything is deleted, except your data storage, which is kept (with your data).", t.text));
    if let Some(s) = &v.vendor.support {
        lines.extend(para(&format!("Questions for {name}: {s}"), t.muted));
    }
    lines
}

/// The explanation (it scrolls when it does not fit), then the menu and the steps of the chosen
/// way, always in view.
fn split(area: Rect) -> [Rect; 2] {
    let menu_h = (ENTRIES.len() as u16 + 5).min(area.height);
    Layout::vertical([Constraint::Min(1), Constraint::Length(menu_h)]).areas(area)
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let [text, menu] = split(area);
    let lines = text_lines(app, area.width as usize);
    let h = text.height as usize;
    let top = app.scroll.min(lines.len().saturating_sub(h));
    let more = lines.len() > top + h;
    let mut visible: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
    if more && h > 1 {
        visible.truncate(h - 1);
        visible.push(Line::styled("↓ more (PgDn)", t.warn));
    }
    frame.render_widget(Paragraph::new(visible), text);

    let mut menu_lines = vec![Line::styled("What would you like to do?", t.heading)];
    for (i, entry) in ENTRIES.iter().enumerate() {
        let chosen = i == app.welcome.selected;
        let marker = if chosen { "> " } else { "  " };
        let style = if chosen { t.selected } else { t.text };
        menu_lines.push(Line::from(vec![Span::styled(marker, t.key), Span::styled(format!(" {entry} "), style)]));
    }
    menu_lines.push(Line::raw(""));
    let (label, steps) =
        if app.welcome.selected == 0 { ("Steps: ", &ONBOARD_STEPS) } else { ("Steps: ", &REVOKE_STEPS) };
    menu_lines.push(steps_line(label, steps, app));
    frame.render_widget(Paragraph::new(menu_lines).wrap(Wrap { trim: false }), menu);
}

fn steps_line<'a>(label: &'a str, steps: &[&str], app: &App) -> Line<'a> {
    let t = &app.theme;
    let mut spans = vec![Span::styled(label, t.muted)];
    for (i, s) in steps.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", t.muted));
        }
        spans.push(Span::styled(format!("{} {s}", i + 1), t.text));
    }
    Line::from(spans)
}
