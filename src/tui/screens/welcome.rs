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
            Action::Select => {
                self.flow = if self.welcome.selected == 0 { Flow::Onboard } else { Flow::Revoke };
                self.go(Screen::Cloud);
            }
            _ => {}
        }
        Vec::new()
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let v = &app.vendor;
    let name = v.vendor.name.as_str();
    let width = area.width as usize;
    let mut lines = vec![
        Line::raw(""),
        Line::styled(format!("{name} asks for access to your cloud account."), t.title),
        Line::raw(""),
        Line::styled("cloudgrant will create, in the account you choose:", t.text),
    ];
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
    lines.extend([
        Line::raw(""),
        Line::from(vec![
            Span::styled("Nothing is created before the Confirm step: ", t.heading),
            Span::styled("you first see every resource and every permission.", t.text),
        ]),
        Line::from(vec![
            Span::styled("Revoke takes it back: ", t.heading),
            Span::styled(
                "the vendor's access ends first, then everything is deleted, except your data storage, which is kept.",
                t.text,
            ),
        ]),
    ]);
    if let Some(s) = &v.vendor.support {
        lines.push(Line::styled(format!("Questions for {name}: {s}"), t.muted));
    }
    lines.push(Line::raw(""));
    lines.push(steps_line("Grant:  ", &ONBOARD_STEPS, app));
    lines.push(steps_line("Revoke: ", &REVOKE_STEPS, app));
    let text_h = lines.len() as u16 + 3;
    let [text, menu] = Layout::vertical([Constraint::Max(text_h), Constraint::Min(3)]).areas(area);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);

    let mut menu_lines = vec![Line::styled("What would you like to do?", t.heading)];
    for (i, entry) in ENTRIES.iter().enumerate() {
        let chosen = i == app.welcome.selected;
        let marker = if chosen { "> " } else { "  " };
        let style = if chosen { t.selected } else { t.text };
        menu_lines.push(Line::from(vec![Span::styled(marker, t.key), Span::styled(format!(" {entry} "), style)]));
    }
    frame.render_widget(Paragraph::new(menu_lines), menu);
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
