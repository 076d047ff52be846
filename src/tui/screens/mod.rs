//! The wizard's screens: a `Screen` enum that routes keys and rendering, the step numbering of
//! both flows, and the chrome every screen shares (header with step and vendor, footer hints from
//! the keymap, help overlay, leave modal). Each screen module holds its state type, its part of
//! `update`, and its renderer.

pub mod account;
pub mod cloud;
pub mod configure;
pub mod confirm;
pub mod deploy;
pub mod done;
pub mod installs;
pub mod preview;
pub mod residue;
pub mod review;
pub mod type_confirm;
pub mod welcome;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::action::Action;
use super::app::{App, Flow};
use super::keymap::{bindings, notes};
use super::widgets::overlay;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    Welcome,
    Cloud,
    Account,
    Configure,
    Preview,
    Confirm,
    Deploy,
    Done,
    Installs,
    Review,
    TypeConfirm,
    RevokeRun,
    Residue,
}

pub const ONBOARD_STEPS: [&str; 8] =
    ["Welcome", "Cloud", "Account", "Configure", "Preview", "Confirm", "Deploy", "Done"];
pub const REVOKE_STEPS: [&str; 8] =
    ["Welcome", "Cloud", "Account", "Installs", "Review", "Confirm", "Revoke", "Report"];

impl Screen {
    pub const ALL: [Screen; 13] = [
        Screen::Welcome,
        Screen::Cloud,
        Screen::Account,
        Screen::Configure,
        Screen::Preview,
        Screen::Confirm,
        Screen::Deploy,
        Screen::Done,
        Screen::Installs,
        Screen::Review,
        Screen::TypeConfirm,
        Screen::RevokeRun,
        Screen::Residue,
    ];

    /// 1-based position in its flow.
    pub fn step(self) -> usize {
        match self {
            Screen::Welcome => 1,
            Screen::Cloud => 2,
            Screen::Account => 3,
            Screen::Configure | Screen::Installs => 4,
            Screen::Preview | Screen::Review => 5,
            Screen::Confirm | Screen::TypeConfirm => 6,
            Screen::Deploy | Screen::RevokeRun => 7,
            Screen::Done | Screen::Residue => 8,
        }
    }

    pub fn name(self, flow: Flow) -> &'static str {
        steps(flow)[self.step() - 1]
    }

    /// The screen Esc goes back to, if any.
    pub fn back(self) -> Option<Screen> {
        Some(match self {
            Screen::Cloud => Screen::Welcome,
            Screen::Account => Screen::Cloud,
            Screen::Configure | Screen::Installs => Screen::Account,
            Screen::Preview => Screen::Configure,
            Screen::Confirm => Screen::Preview,
            Screen::Review => Screen::Installs,
            Screen::TypeConfirm => Screen::Review,
            Screen::Welcome | Screen::Deploy | Screen::Done | Screen::RevokeRun | Screen::Residue => return None,
        })
    }
}

pub fn steps(flow: Flow) -> &'static [&'static str; 8] {
    match flow {
        Flow::Onboard => &ONBOARD_STEPS,
        Flow::Revoke => &REVOKE_STEPS,
    }
}

/// The screen body for a terminal of this size (below the header, above the footer, inside the
/// side margins): the area each screen renderer gets.
pub fn body_area(area: Rect) -> Rect {
    let [_, body, _] = chrome(area);
    body.inner(ratatui::layout::Margin::new(1, 0))
}

/// [`body_area`] of a terminal of `size` (for scroll limits in `update`).
pub fn content_area(size: (u16, u16)) -> Rect {
    body_area(Rect::new(0, 0, size.0, size.1))
}

fn chrome(area: Rect) -> [Rect; 3] {
    Layout::vertical([Constraint::Length(2), Constraint::Min(1), Constraint::Length(1)]).areas(area)
}

/// Draw the whole UI for this state. No side effects.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let [header, _, footer] = chrome(area);
    render_header(app, frame, header);
    let body = body_area(area);
    match app.screen {
        Screen::Welcome => welcome::render(app, frame, body),
        Screen::Cloud => cloud::render(app, frame, body),
        Screen::Account => account::render(app, frame, body),
        Screen::Configure => configure::render(app, frame, body),
        Screen::Preview => preview::render(app, frame, body),
        Screen::Confirm => confirm::render(app, frame, body),
        Screen::Deploy | Screen::RevokeRun => deploy::render(app, frame, body),
        Screen::Done => done::render(app, frame, body),
        Screen::Installs => installs::render(app, frame, body),
        Screen::Review => review::render(app, frame, body),
        Screen::TypeConfirm => type_confirm::render(app, frame, body),
        Screen::Residue => residue::render(app, frame, body),
    }
    render_footer(app, frame, footer);
    if app.modal.is_some() {
        deploy::render_leave_modal(app, frame, area);
    }
    if app.help {
        let title = format!("Help · {}", app.screen.name(app.flow));
        // Above the footer, which says how to close it.
        let above = Rect { height: area.height.saturating_sub(1), ..area };
        overlay::render_help(frame, above, &title, help_lines(app, area.width as usize), app.help_scroll, &app.theme);
    }
}

/// The help overlay's lines: the keys that do something on this screen (its keymap, with the
/// cloud's labels), its notes, and the glossary's terms for this screen and cloud.
pub fn help_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let ctx = app.screen_context();
    let keys: Vec<(String, String)> = bindings(ctx)
        .iter()
        .filter(|b| app.binding_applies(&b.action))
        .map(|b| (b.keys_label(), app.binding_label(b)))
        .collect();
    let mut notes: Vec<String> = notes(ctx).iter().map(|n| n.to_string()).collect();
    if app.flow == Flow::Onboard && app.screen.step() <= Screen::Confirm.step() {
        notes.push("Nothing is created before the Confirm step.".into());
    }
    notes.push("?/Esc closes this help.".into());
    let cloud = app.cloud.chosen().map(|t| t.cloud);
    let terms: Vec<(&str, &str)> = super::glossary::terms(app.screen, cloud).map(|t| (t.name, t.text)).collect();
    overlay::help_lines(&keys, &notes, &terms, width, &app.theme)
}

fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let left = format!(" Step {} of {} · {}", app.screen.step(), steps(app.flow).len(), app.screen.name(app.flow));
    let mut right = format!("cloudgrant for {}", app.vendor.vendor.name);
    if let Some(target) = app.cloud.chosen() {
        right = format!("{right} · {}", short_target(&target.title));
    }
    right.push(' ');
    let pad = (area.width as usize).saturating_sub(left.chars().count() + right.chars().count());
    let line = Line::from(vec![Span::styled(left, t.title), Span::raw(" ".repeat(pad)), Span::styled(right, t.muted)]);
    let rule = Line::styled("─".repeat(area.width as usize), t.border);
    frame.render_widget(Paragraph::new(vec![line, rule]), area);
}

/// "AWS sandbox (simulated, …)" → "AWS sandbox".
fn short_target(title: &str) -> &str {
    title.split(" (").next().unwrap_or(title)
}

fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut spans = vec![Span::raw(" ")];
    let hints: Vec<_> = bindings(app.key_context())
        .iter()
        .filter(|b| b.hint && app.hint_enabled(&b.action))
        .map(|b| (b, app.binding_label(b)))
        .collect();
    let w = |(b, label): &(&crate::tui::keymap::Binding, String)| {
        b.keys_label().chars().count() + label.chars().count() + 3
    };
    // The way to the help overlay always shows; hints that do not fit are left to it.
    let help = hints.iter().find(|(b, _)| b.action == Action::ToggleHelp).map_or(0, w);
    let mut width = 1 + help;
    for h in hints {
        let is_help = h.0.action == Action::ToggleHelp;
        if !is_help && width + w(&h) > area.width as usize {
            continue;
        }
        if !is_help {
            width += w(&h);
        }
        spans.push(Span::styled(h.0.keys_label(), t.key));
        spans.push(Span::styled(format!(" {}  ", h.1), t.muted));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A "loading…" or error paragraph for screens waiting on a worker.
pub fn waiting_lines<'a>(app: &App, what: &str) -> Vec<Line<'a>> {
    vec![Line::from(vec![
        Span::styled(format!("{} ", super::widgets::spinner(app.clock)), app.theme.warn),
        Span::styled(what.to_string(), app.theme.text),
    ])]
}

/// The message and next step of a failed worker call.
pub fn error_lines<'a>(app: &App, e: &crate::cloud::CloudError, width: u16) -> Vec<Line<'a>> {
    let w = width as usize;
    let mut out: Vec<Line> =
        super::widgets::wrap(&format!("✗ {e}"), w).into_iter().map(|s| Line::styled(s, app.theme.danger)).collect();
    out.extend(
        super::widgets::wrap(&format!("Next step: {}", e.next_step()), w)
            .into_iter()
            .map(|s| Line::styled(s, app.theme.text)),
    );
    out
}
