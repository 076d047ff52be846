//! Steps 7, Deploy and Revoke: the live run view (shared widget), what Enter does once it has
//! finished, and the modal that asks before leaving while it runs.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::widgets::overlay::render_modal;
use crate::tui::widgets::run::{RunKind, RunState};
use crate::tui::widgets::{buttons, run_view};

/// The run view and the hint line under it.
pub fn split(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Min(5), Constraint::Length(1)]).areas(area)
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(run) = app.run() else { return };
    let [view, hint] = split(area);
    run_view::render(frame, view, run, app.clock, &app.theme);
    let t = &app.theme;
    let line = match (&run.finish, run.kind) {
        (None, RunKind::Deploy) => {
            Line::styled("Creating. This takes a few minutes; you can watch or leave (q asks first).", t.muted)
        }
        (None, RunKind::Revoke) => {
            Line::styled("Revoking. The vendor's access goes first; q asks before leaving.", t.muted)
        }
        (Some(f), RunKind::Deploy) if f.ok => {
            Line::styled(format!("Enter: what to send {} and how to revoke later.", app.vendor.vendor.name), t.ok)
        }
        (Some(f), RunKind::Revoke) if f.ok => Line::styled("Enter: what is left behind and what was checked.", t.ok),
        (Some(_), RunKind::Revoke) if app.residue.residue.is_some() => {
            Line::styled("r: retry as described above · Enter: what is left behind now.", t.warn)
        }
        (Some(_), _) => Line::styled("r: try again · q: quit (what exists stays; the next run resumes).", t.warn),
    };
    frame.render_widget(Paragraph::new(line), hint);
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// Groups still being worked on, and groups not started, as `name (done/total)`.
fn group_lists(run: &RunState) -> (Vec<String>, Vec<String>) {
    let mut running = Vec::new();
    let mut waiting = Vec::new();
    for g in &run.groups {
        let label = format!("{} ({}/{})", g.name, g.done, g.total());
        if g.in_progress() {
            running.push(label);
        } else if !g.finished() && !g.failed() {
            waiting.push(label);
        }
    }
    (running, waiting)
}

/// "Leave while it runs?" with what is still running and how to pick up later.
pub fn render_leave_modal(app: &App, frame: &mut Frame, area: Rect) {
    let (Some(run), Some(modal)) = (app.run(), app.modal) else { return };
    let t = &app.theme;
    let (org, scope) = (&run.org, &run.scope);
    let (what, title, resume) = match run.kind {
        RunKind::Deploy => (
            "the deploy",
            "Leave while the deploy is running?",
            format!("To pick up later: `cloudgrant status {scope}` shows what exists; then run cloudgrant again with org {org}: it resumes and finishes the rest."),
        ),
        RunKind::Revoke => (
            "the revoke",
            "Leave while the revoke is running?",
            format!("To pick up later: `cloudgrant status {scope}` shows what is left; then run `cloudgrant revoke {scope}` again."),
        ),
    };
    let (running, waiting) = group_lists(run);
    let mut body: Vec<(String, Style)> = Vec::new();
    // The run may end while the question is open; the modal stays (a key meant for it must
    // not land on the screen below) and says so.
    if !run.running() {
        body.push((format!("{} has finished: leaving now stops nothing.", capitalize(what)), t.ok));
        body.push((resume, t.text));
        let chosen = usize::from(modal.leave);
        render_modal(frame, area, "Leave?", &body, buttons(&["Stay", "Leave"], chosen, t, None), t);
        return;
    }
    let running_text = if running.is_empty() { "nothing at this moment".to_string() } else { running.join(", ") };
    body.push((format!("Still running: {running_text}"), t.warn));
    if !waiting.is_empty() {
        body.push((format!("Not started yet: {}", waiting.join(", ")), t.text));
    }
    body.push((
        format!("If you leave, cloudgrant stops watching {what}, but the cloud finishes what it has started (as CloudFormation does)."),
        t.text,
    ));
    body.push((resume, t.text));
    let chosen = usize::from(modal.leave);
    render_modal(frame, area, title, &body, buttons(&["Stay and watch", "Leave"], chosen, t, Some(1)), t);
}
