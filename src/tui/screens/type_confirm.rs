//! Revoke step 6, Confirm: the user types the org name exactly before revoke starts. The safe
//! default is to do nothing: an empty or different name never starts anything. When the review
//! asked to empty and delete the data bucket, the bucket's name is typed next, as a second
//! confirmation.

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
    /// The org name matched; now the data bucket's name is asked (delete-data only).
    pub bucket_step: bool,
}

impl App {
    pub(crate) fn update_type_confirm(&mut self, action: Action) -> Vec<Command> {
        let Some(org) = self.review.plan.as_ref().map(|p| p.installation.org.clone()) else { return Vec::new() };
        let bucket = self.review.delete_data.first().map(|b| b.name.clone());
        let s = &mut self.type_confirm;
        if let (true, Some(bucket)) = (s.bucket_step, bucket.as_ref()) {
            return match action {
                Action::Select if s.input.value == *bucket => self.start_revoke(),
                Action::Select => {
                    s.error = Some(format!(
                        "`{}` is not `{bucket}`. Type the bucket name exactly, or Esc to go back (and x there to keep the bucket). Nothing has been deleted.",
                        s.input.value
                    ));
                    Vec::new()
                }
                other => {
                    s.edit(other);
                    Vec::new()
                }
            };
        }
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
            Action::Select if s.input.value == org && bucket.is_some() => {
                *s = TypeConfirmState { bucket_step: true, ..TypeConfirmState::default() };
            }
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

impl TypeConfirmState {
    fn edit(&mut self, action: Action) {
        match action {
            Action::Input(c) => self.input.push(c),
            Action::Backspace => self.input.backspace(),
            Action::ClearInput => self.input.clear(),
            _ => return,
        }
        self.error = None;
    }
}

/// The second confirmation: the data bucket's name.
fn render_bucket_step(app: &App, frame: &mut Frame, area: Rect, bucket: &crate::cloud::gcp::DataBucket) {
    let t = &app.theme;
    let [intro, field, rest] =
        Layout::vertical([Constraint::Length(8), Constraint::Length(FIELD_HEIGHT), Constraint::Min(1)]).areas(area);
    let lines = vec![
        Line::raw(""),
        Line::styled(format!("Also empty and delete the data bucket {}?", bucket.name), t.danger),
        Line::raw(""),
        Line::styled(
            format!(
                "This deletes {}; Google keeps them restorable for 7 days (the bucket's soft-delete period), then they are gone.",
                bucket.usage
            ),
            t.text,
        ),
        Line::raw(""),
        Line::styled(format!("Type the bucket name ({}) to confirm:", bucket.name), t.heading),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), intro);
    let view = FieldView {
        label: "Bucket name",
        input: &app.type_confirm.input,
        focused: true,
        error: app.type_confirm.error.clone(),
        help: "Enter revokes and deletes the bucket once the name matches; Esc goes back",
    };
    render_field(frame, field, &view, t);
    let msg = if app.type_confirm.input.value == bucket.name {
        Line::styled("Enter starts the revoke, and the bucket is emptied and deleted.", t.danger)
    } else {
        Line::styled("Nothing has been deleted.", t.muted)
    };
    frame.render_widget(Paragraph::new(msg), rest);
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(plan) = &app.review.plan else { return };
    if let (true, Some(bucket)) = (app.type_confirm.bucket_step, app.review.delete_data.first()) {
        return render_bucket_step(app, frame, area, bucket);
    }
    let inst = &plan.installation;
    let intro_height = if app.review.delete_data.is_empty() { 8 } else { 10 };
    let [intro, field, rest] =
        Layout::vertical([Constraint::Length(intro_height), Constraint::Length(FIELD_HEIGHT), Constraint::Min(1)])
            .areas(area);
    let kept = plan.items().filter(|i| matches!(i.outcome, crate::model::RevokeOutcome::Kept { .. })).count();
    let mut lines = vec![
        Line::raw(""),
        Line::styled(
            format!("Revoke {}'s access to {} {}?", app.vendor.vendor.name, inst.cloud.account_word(), inst.account),
            t.danger,
        ),
        Line::raw(""),
        Line::styled(
            format!(
                "This deletes {} of org {} ({} resources); {} kept, as the review showed. It cannot be undone.",
                inst.cloud.groups(plan.groups.len()),
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
    for b in &app.review.delete_data {
        lines.push(Line::styled(
            format!("The data bucket {} ({}) is emptied and deleted too: you type its name next.", b.name, b.usage),
            t.danger,
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
    let msg = if ready && !app.review.delete_data.is_empty() {
        Line::styled("Enter asks for the bucket name next.", t.danger)
    } else if ready {
        Line::styled("Enter starts the revoke.", t.danger)
    } else {
        Line::styled("Nothing has been deleted.", t.muted)
    };
    frame.render_widget(Paragraph::new(msg), rest);
}
