//! The live view of an apply or revoke (Deploy and Revoke-run screens): status line, root cause
//! first when something failed, per-group progress with per-resource statuses, and the event log.
//!
//! Policy: only the visible slice of the log is formatted, so a frame costs the same with ten
//! events or ten thousand.

use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::run::{GroupRun, LogEntry, RunKind, RunState};
use super::{count, format_elapsed, spinner, wrap};
use crate::model::Status;
use crate::tui::theme::Theme;

const BAR: usize = 12;

/// The rectangles of the view; also used by `update` to know how many log lines are visible.
pub struct RunLayout {
    pub status: Rect,
    pub cause: Rect,
    pub tree: Rect,
    pub log: Rect,
}

/// Height of the root-cause box for this state at this width.
fn cause_height(run: &RunState, width: u16) -> u16 {
    if !run.failed() {
        return 0;
    }
    let inner = width.saturating_sub(2) as usize;
    let lines = wrap(&cause_text(run), inner).len() + wrap(&format!("Next step: {}", run.next_step()), inner).len();
    (lines as u16 + 2).min(8)
}

/// Tree columns: icon, id, plain status; the resource type too on wide terminals.
const ID_W: usize = 22;
const STATUS_W: usize = 15;
const TYPE_W: usize = 30;
/// Terminal width from which the tree also shows resource types.
const WIDE: u16 = 150;

fn tree_width(area: Rect) -> u16 {
    let mut w = 4 + ID_W + STATUS_W + 2;
    if area.width >= WIDE {
        w += TYPE_W;
    }
    (w as u16).min(area.width / 2)
}

pub fn layout(run: &RunState, area: Rect) -> RunLayout {
    let [status, cause, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(cause_height(run, area.width)),
        Constraint::Min(3),
    ])
    .areas(area);
    let [tree, log] = Layout::horizontal([Constraint::Length(tree_width(area)), Constraint::Min(10)]).areas(body);
    RunLayout { status, cause, tree, log }
}

/// Visible log lines for a view of `area`.
pub fn log_height(run: &RunState, area: Rect) -> usize {
    layout(run, area).log.height.saturating_sub(2) as usize
}

fn cause_text(run: &RunState) -> String {
    match (&run.root_cause, run.finish.as_ref()) {
        (Some(c), _) => format!("Root cause: {} in {} is {}: {}", c.resource, c.group, c.status, c.reason),
        (None, Some(f)) => match (&f.root_cause, &f.error) {
            (Some(r), _) => format!("Root cause: {r}"),
            (None, Some(e)) => format!("Stopped: {e}"),
            (None, None) => "Stopped before finishing.".into(),
        },
        (None, None) => String::new(),
    }
}

pub fn render(frame: &mut Frame, area: Rect, run: &RunState, clock: Duration, theme: &Theme) {
    let l = layout(run, area);
    frame.render_widget(Paragraph::new(status_line(run, clock, theme)), l.status);
    if l.cause.height > 0 {
        let inner = l.cause.width.saturating_sub(2) as usize;
        let mut lines: Vec<Line> =
            wrap(&cause_text(run), inner).into_iter().map(|s| Line::styled(s, theme.danger)).collect();
        lines.extend(
            wrap(&format!("Next step: {}", run.next_step()), inner).into_iter().map(|s| Line::styled(s, theme.text)),
        );
        let block = Block::bordered().title(Span::styled(" What went wrong ", theme.danger)).border_style(theme.danger);
        frame.render_widget(Paragraph::new(lines).block(block), l.cause);
    }
    render_tree(frame, l.tree, run, theme);
    render_log(frame, l.log, run, theme);
}

fn status_line<'a>(run: &RunState, clock: Duration, theme: &Theme) -> Line<'a> {
    let (done, total) = run.resources_done();
    let verb = match run.kind {
        RunKind::Deploy => "Creating",
        RunKind::Revoke => "Revoking",
    };
    let (head, style) = match &run.finish {
        None => (format!("{} {verb} {} stacks", spinner(clock), run.groups.len()), theme.warn),
        Some(f) if f.ok => match run.kind {
            RunKind::Deploy => ("✓ Everything is created".to_string(), theme.ok),
            RunKind::Revoke => ("✓ Revoke finished".to_string(), theme.ok),
        },
        Some(_) => ("✗ Stopped with a failure".to_string(), theme.danger),
    };
    let mut spans = vec![
        Span::styled(head, style),
        Span::styled(format!("   {done}/{total} resources settled"), theme.text),
        Span::styled(format!("   elapsed {}", format_elapsed(run.elapsed(clock))), theme.text),
        Span::styled(format!("   {} events", count(run.events)), theme.muted),
    ];
    if run.attempt > 1 {
        spans.push(Span::styled(format!("   attempt {}", run.attempt), theme.muted));
    }
    Line::from(spans)
}

/// A status in plain words, short enough for the tree (the log keeps the cloud's own words).
pub fn status_words(status: Option<Status>) -> &'static str {
    let Some(s) = status else { return "waiting" };
    match s.as_str() {
        "CREATE_IN_PROGRESS" => "creating",
        "CREATE_COMPLETE" => "created",
        "CREATE_FAILED" => "create failed",
        "UPDATE_IN_PROGRESS" => "updating",
        "UPDATE_COMPLETE" => "updated",
        "UPDATE_FAILED" => "update failed",
        "ROLLBACK_IN_PROGRESS" | "UPDATE_ROLLBACK_IN_PROGRESS" => "rolling back",
        "ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" => "rolled back",
        "ROLLBACK_FAILED" => "rollback failed",
        "DELETE_IN_PROGRESS" => "deleting",
        "DELETE_COMPLETE" => "deleted",
        "DELETE_FAILED" => "delete failed",
        "DELETE_SKIPPED" => "kept",
        other => other,
    }
}

fn status_icon(status: Option<Status>) -> &'static str {
    match status {
        None => "·",
        Some(Status::DeleteSkipped) => "◆",
        Some(s) if s.is_failure() => "✗",
        Some(s) if s.is_in_progress() => "…",
        Some(_) => "✓",
    }
}

fn group_style(g: &GroupRun, theme: &Theme) -> Style {
    if g.failed() {
        theme.danger
    } else if g.finished() {
        theme.ok
    } else if g.in_progress() {
        theme.warn
    } else {
        theme.muted
    }
}

fn group_line<'a>(g: &GroupRun, theme: &Theme) -> Line<'a> {
    let total = g.total().max(1);
    let filled = g.done * BAR / total;
    let style = group_style(g, theme);
    let icon = if g.failed() {
        "✗"
    } else if g.finished() {
        "✓"
    } else if g.in_progress() {
        "…"
    } else {
        "·"
    };
    Line::from(vec![
        // Name column: what is left of the tree width after icon, bar and count.
        Span::styled(format!("{icon} {:<w$} ", g.name, w = 4 + ID_W + STATUS_W - BAR - 9), style.patch(theme.heading)),
        Span::styled("█".repeat(filled), theme.progress.patch(style)),
        Span::styled("░".repeat(BAR - filled), theme.muted),
        Span::styled(format!(" {}/{}", g.done, g.total()), theme.text),
    ])
}

fn render_tree(frame: &mut Frame, area: Rect, run: &RunState, theme: &Theme) {
    let inner_h = area.height.saturating_sub(2) as usize;
    let show_type = area.width as usize >= 4 + ID_W + STATUS_W + TYPE_W + 2;
    let total_lines: usize = run.groups.iter().map(|g| 1 + g.rows.len()).sum();
    // When everything does not fit, settled groups fold to their one summary line.
    let fold = total_lines > inner_h;
    let mut lines = Vec::new();
    for g in &run.groups {
        lines.push(group_line(g, theme));
        if fold && g.finished() && !g.failed() {
            continue;
        }
        for r in &g.rows {
            let mut spans =
                vec![Span::styled(format!("  {} {:<w$} ", status_icon(r.status), r.id, w = ID_W - 1), theme.text)];
            if show_type {
                spans.push(Span::styled(format!("{:<TYPE_W$}", r.type_.trim_start_matches("AWS::")), theme.muted));
            }
            let settled_with_stack = r.status.is_none()
                && matches!(g.status, Some(Status::CreateComplete | Status::UpdateComplete | Status::DeleteComplete));
            let words = if settled_with_stack { "settled" } else { status_words(r.status) };
            spans.push(Span::styled(words, theme.status(if settled_with_stack { g.status } else { r.status })));
            lines.push(Line::from(spans));
        }
    }
    if lines.len() > inner_h && inner_h > 0 {
        let hidden = lines.len() - inner_h + 1;
        lines.truncate(inner_h - 1);
        lines.push(Line::styled(format!("  … {hidden} more lines"), theme.muted));
    }
    let title = match run.kind {
        RunKind::Deploy => " Progress by stack ",
        RunKind::Revoke => " Revoke by stack ",
    };
    let block = Block::bordered().title(Span::styled(title, theme.heading)).border_style(theme.border);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `time stack resource STATUS reason`, like the CloudFormation console's events tab.
fn log_line<'a>(run: &'a RunState, entry: &'a LogEntry, theme: &Theme) -> Line<'a> {
    match entry {
        LogEntry::Event(e) => {
            let resource_style = if e.is_group_event() { theme.heading } else { theme.text };
            let mut spans = vec![
                Span::styled(e.time.format("%H:%M:%S").to_string(), theme.muted),
                Span::styled(format!(" {:<w$} ", run.group_key(&e.group), w = run.key_width), theme.muted),
                Span::styled(format!("{:<w$} ", e.resource, w = run.id_width), resource_style),
                Span::styled(e.status.as_str(), theme.status(Some(e.status))),
            ];
            if let Some(r) = &e.reason {
                spans.push(Span::styled(format!(" {r}"), theme.muted));
            }
            Line::from(spans)
        }
        LogEntry::Note(t) => {
            Line::from(vec![Span::styled("  · ", theme.muted), Span::styled(t.as_str(), theme.heading)])
        }
    }
}

fn render_log(frame: &mut Frame, area: Rect, run: &RunState, theme: &Theme) {
    let h = area.height.saturating_sub(2) as usize;
    let total = run.log.len();
    let max_top = total.saturating_sub(h);
    let top = run.log_top.map_or(max_top, |t| t.min(max_top));
    let end = (top + h).min(total);
    let lines: Vec<Line> = run.log[top..end].iter().map(|e| log_line(run, e, theme)).collect();
    let title = match run.log_top {
        None => format!(" Events ({}) · newest at the bottom ", count(run.events)),
        Some(_) => format!(" Events {}-{} of {} · End to follow ", count(top + 1), count(end), count(total)),
    };
    // No wrapping: one entry per row keeps the newest entry on the bottom row; long reasons are
    // cut here and shown whole in the root-cause box.
    let block = Block::bordered().title(Span::styled(title, theme.heading)).border_style(theme.border);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
