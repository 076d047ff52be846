//! Revoke step 6, Confirm: the user types the org name exactly before revoke starts. The safe
//! default is to do nothing: an empty or different name never starts anything. When the review
//! asked to empty and delete the data bucket, the bucket's name is typed next, as a second
//! confirmation.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::action::{Action, Command};
use crate::tui::app::App;
use crate::tui::widgets::input::{field_rows, render_field, FieldView, TextInput};
use crate::tui::widgets::wrap;

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

/// The intro (each part wrapped to the width; "" is a blank row), the field and the message, each
/// as tall as it needs. On a short screen the blank rows go first, then the intro's middle rows:
/// the question (first) and what to type (last) always stay, beside the field.
fn render_parts(
    frame: &mut Frame,
    area: Rect,
    intro: Vec<(String, Style)>,
    view: &FieldView,
    msg: (&str, Style),
    theme: &crate::tui::theme::Theme,
) {
    let width = area.width as usize;
    let mut rows: Vec<Line<'static>> = intro
        .into_iter()
        .flat_map(|(text, style)| {
            let parts = if text.is_empty() { vec![String::new()] } else { wrap(&text, width) };
            parts.into_iter().map(move |l| Line::styled(l, style))
        })
        .collect();
    let field_rows = field_rows(view, area.width);
    let msg: Vec<Line<'static>> = wrap(msg.0, width).into_iter().map(|l| Line::styled(l, msg.1)).collect();
    let room = area.height.saturating_sub(field_rows + msg.len() as u16) as usize;
    if rows.len() > room {
        rows.retain(|l| l.width() > 0);
    }
    if rows.len() > room && room >= 2 {
        let last = rows.pop();
        rows.truncate(room - 1);
        rows.extend(last);
    }
    let gap = u16::from(rows.len() + field_rows as usize + msg.len() < area.height as usize);
    let [intro, field, rest] = Layout::vertical([
        Constraint::Length(rows.len() as u16),
        Constraint::Length(field_rows + gap),
        Constraint::Min(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(rows), intro);
    render_field(frame, field, view, theme);
    frame.render_widget(Paragraph::new(msg), rest);
}

/// The second confirmation: the data bucket's name.
fn render_bucket_step(app: &App, frame: &mut Frame, area: Rect, bucket: &crate::cloud::gcp::DataBucket) {
    let t = &app.theme;
    let intro = vec![
        (String::new(), t.text),
        (format!("Also empty and delete the data bucket {}?", bucket.name), t.danger),
        (String::new(), t.text),
        (
            format!(
                "This deletes {}; Google keeps them restorable for 7 days (the bucket's soft-delete period), then they are gone.",
                bucket.usage
            ),
            t.text,
        ),
        (String::new(), t.text),
        (format!("Type the bucket name ({}) to confirm:", bucket.name), t.heading),
    ];
    let view = FieldView {
        label: "Bucket name",
        input: &app.type_confirm.input,
        focused: true,
        error: app.type_confirm.error.clone(),
        help: "Enter revokes and deletes the bucket once the name matches; Esc goes back",
    };
    let msg = if app.type_confirm.input.value == bucket.name {
        ("Enter starts the revoke, and the bucket is emptied and deleted.", t.danger)
    } else {
        ("Nothing has been deleted.", t.muted)
    };
    render_parts(frame, area, intro, &view, msg, t);
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(plan) = &app.review.plan else { return };
    if let (true, Some(bucket)) = (app.type_confirm.bucket_step, app.review.delete_data.first()) {
        return render_bucket_step(app, frame, area, bucket);
    }
    let inst = &plan.installation;
    let kept = plan.items().filter(|i| matches!(i.outcome, crate::model::RevokeOutcome::Kept { .. })).count();
    let mut intro = vec![
        (String::new(), t.text),
        (
            format!("Revoke {}'s access to {} {}?", app.vendor.vendor.name, inst.cloud.account_word(), inst.account),
            t.danger,
        ),
        (String::new(), t.text),
        (
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
        intro.push((
            "Some resources will fail to delete (see the review); you can retry and leave them in place.".into(),
            t.warn,
        ));
    }
    for b in &app.review.delete_data {
        intro.push((
            format!("The data bucket {} ({}) is emptied and deleted too: you type its name next.", b.name, b.usage),
            t.danger,
        ));
    }
    intro.push((String::new(), t.text));
    intro.push((format!("Type the org name ({}) to confirm:", inst.org), t.heading));
    let view = FieldView {
        label: "Org name",
        input: &app.type_confirm.input,
        focused: true,
        error: app.type_confirm.error.clone(),
        help: "Enter revokes once the name matches; Esc goes back",
    };
    let ready = app.type_confirm.input.value == inst.org;
    let msg = if ready && !app.review.delete_data.is_empty() {
        ("Enter asks for the bucket name next.", t.danger)
    } else if ready {
        ("Enter starts the revoke.", t.danger)
    } else {
        ("Nothing has been deleted.", t.muted)
    };
    render_parts(frame, area, intro, &view, msg, t);
}
