//! Revoke step 6, Confirm: the user types the org name exactly before revoke starts. The safe
//! default is to do nothing: an empty or different name never starts anything.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::action::{Action, Command};
use crate::tui::app::App;
use crate::tui::widgets::input::{render_field, FieldView, TextInput, FIELD_HEIGHT};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TypeConfirmState {
    pub input: TextInput,
    pub error: Option<String>,
}

impl App {
    pub(crate) fn update_type_confirm(&mut self, action: Action) -> Vec<Command> {
        let Some(org) = self.review.plan.as_ref().map(|p| p.installation.org.clone()) else { return Vec::new() };
        let s = &mut self.type_confirm;
        match action {
            Action::Input(c) => {
                s.input.push(c);
                s.error = None;
            }
            Action::Backspace => {
                s.input.backspace();
                s.error = None;
            }
            Action::ClearInput => s.input.clear(),
            Action::Select if s.input.value == org => return self.start_revoke(),
            Action::Select => {
                s.error = Some(if s.input.value.is_empty() {
                    format!("Type {org} to confirm, or Esc to go back. Nothing has been deleted.")
                } else {
                    format!(
                        "`{}` is not `{org}`. Type the org name exactly, or Esc to go back. Nothing has been deleted.",
                        s.input.value
                    )
                });
            }
            _ => {}
        }
        Vec::new()
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(plan) = &app.review.plan else { return };
    let inst = &plan.installation;
    let [intro, field, rest] =
        Layout::vertical([Constraint::Length(8), Constraint::Length(FIELD_HEIGHT), Constraint::Min(1)]).areas(area);
    let kept = plan.items().filter(|i| matches!(i.outcome, crate::model::RevokeOutcome::Kept { .. })).count();
    let mut lines = vec![
        Line::raw(""),
        Line::styled(format!("Revoke {}'s access to account {}?", app.vendor.vendor.name, inst.account), t.danger),
        Line::raw(""),
        Line::styled(
            format!(
                "This deletes {} stacks of org {} ({} resources); {} kept, as the review showed. It cannot be undone.",
                plan.groups.len(),
                inst.org,
                plan.items().count(),
                kept
            ),
            t.text,
        ),
    ];
    if plan.will_fail() {
        lines.push(Line::styled(
            "Some resources will fail to delete (see the review); you can retry and leave them in place.",
            t.warn,
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(format!("Type the org name ({}) to confirm:", inst.org), t.heading));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), intro);
    let view = FieldView {
        label: "Org name",
        input: &app.type_confirm.input,
        focused: true,
        error: app.type_confirm.error.clone(),
        help: "Enter revokes once the name matches; Esc goes back",
    };
    render_field(frame, field, &view, t);
    let ready = app.type_confirm.input.value == inst.org;
    let msg = if ready {
        Line::styled("Enter starts the revoke.", t.danger)
    } else {
        Line::styled("Nothing has been deleted.", t.muted)
    };
    frame.render_widget(Paragraph::new(msg), rest);
}
