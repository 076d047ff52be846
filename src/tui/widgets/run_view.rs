//! The live view of an apply or revoke (Deploy and Revoke-run screens): status line, root cause
//! first when something failed, per-group progress with per-resource statuses, and the event log.
//!
//! Policy: only the visible slice of the log is formatted, so a frame costs the same with ten
//! events or ten thousand. Nothing is cut: on narrow terminals the tree goes above the log, a
//! long reason continues on the rows under its event, and on revoke a settled resource shows the
//! review's word for it (the model's [`Fate`]), never a status of its own.

use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::run::{GroupRun, LogEntry, Row, RunKind, RunState};
use super::{count, fate_icon, fate_style, format_elapsed, spinner, wrap};
use crate::model::{Fate, Status};
use crate::tui::screens::preview::rows::styled_wrap;
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

/// Tree columns: icon, id, words; the resource type too on wide terminals.
const ID_W: usize = 22;
const TYPE_W: usize = 30;
/// Terminal width from which the tree sits beside the log (else above it).
const SIDE_BY_SIDE: u16 = 130;
/// Terminal width from which the tree also shows resource types.
const WIDE: u16 = 170;

/// A resource type in its column, always followed by a space: without its `AWS::` or
/// `Microsoft.` prefix, and where still too long, its last part (the most specific) after "…".
fn type_column(type_: &str) -> String {
    let short = type_.trim_start_matches("AWS::").trim_start_matches("Microsoft.");
    let n = short.chars().count();
    if n < TYPE_W {
        return format!("{short:<TYPE_W$}");
    }
    let tail: String = short.chars().skip(n + 2 - TYPE_W).collect();
    format!("…{tail} ")
}

/// The widest word a row can show (a fate with its date), so no word is cut.
fn words_width(run: &RunState) -> usize {
    run.groups
        .iter()
        .flat_map(|g| g.rows.iter())
        .map(|r| row_words(r, None).0.chars().count())
        .max()
        .unwrap_or(8)
        .max(13)
}

fn id_width(run: &RunState) -> usize {
    run.groups.iter().flat_map(|g| g.rows.iter()).map(|r| r.id.chars().count()).max().unwrap_or(8).min(ID_W)
}

/// Lines the tree needs to show every row (settled groups folded when they do not fit).
fn tree_lines(run: &RunState) -> usize {
    run.groups.iter().map(|g| 1 + g.rows.len()).sum()
}

/// Lines of the tree with settled groups folded to their summary line.
fn folded_lines(run: &RunState) -> usize {
    run.groups.iter().map(|g| if folds(g) { 1 + lasting(g).count() } else { 1 + g.rows.len() }).sum()
}

/// A settled group folds to its summary line (when the tree does not fit)...
fn folds(g: &GroupRun) -> bool {
    g.finished() && !g.failed()
}

/// ...keeping the rows whose fate outlives revoke (kept, scheduled, soft-deleted, detached).
fn lasting(g: &GroupRun) -> impl Iterator<Item = &Row> {
    g.rows.iter().filter(|r| r.fate.is_some_and(|f| f.stays()))
}

pub fn layout(run: &RunState, area: Rect) -> RunLayout {
    let [status, cause, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(cause_height(run, area.width)),
        Constraint::Min(3),
    ])
    .areas(area);
    if area.width >= SIDE_BY_SIDE {
        let mut w = 4 + id_width(run) + words_width(run) + 2;
        if area.width >= WIDE {
            w += TYPE_W;
        }
        let w = (w as u16).min(area.width / 2);
        let [tree, log] = Layout::horizontal([Constraint::Length(w), Constraint::Min(10)]).areas(body);
        return RunLayout { status, cause, tree, log };
    }
    // Narrow: the tree above the log, as tall as it needs (folded when it must) up to a little
    // over half.
    let most = (body.height * 3 / 5).max(4);
    let full = tree_lines(run);
    let shown = if full + 2 <= most as usize { full } else { folded_lines(run) };
    let want = shown as u16 + 2;
    let tree_h = want.min(most).min(body.height.saturating_sub(4)).max(3);
    let [tree, log] = Layout::vertical([Constraint::Length(tree_h), Constraint::Min(3)]).areas(body);
    RunLayout { status, cause, tree, log }
}

/// Visible log rows for a view of `area`.
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
    frame.render_widget(Paragraph::new(status_line(run, clock, area.width, theme)), l.status);
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

fn status_line<'a>(run: &RunState, clock: Duration, width: u16, theme: &Theme) -> Line<'a> {
    let (done, total) = run.resources_done();
    let verb = match run.kind {
        RunKind::Deploy => "Creating",
        RunKind::Revoke => "Revoking",
    };
    let cloud = run.cloud;
    let (head, style) = match &run.finish {
        None => (format!("{} {verb} {}", spinner(clock), cloud.groups(run.groups.len())), theme.warn),
        Some(f) if f.ok => match run.kind {
            RunKind::Deploy if run.groups.iter().all(|g| g.unchanged) => {
                ("✓ Nothing had to change".to_string(), theme.ok)
            }
            RunKind::Deploy => ("✓ Everything is in place".to_string(), theme.ok),
            RunKind::Revoke => ("✓ Revoke finished".to_string(), theme.ok),
        },
        Some(_) => ("✗ Stopped with a failure".to_string(), theme.danger),
    };
    let mut parts = vec![
        (head, style),
        (format!("   {done}/{total} resources settled"), theme.text),
        (format!("   elapsed {}", format_elapsed(run.elapsed(clock))), theme.text),
        (format!("   {} events", count(run.events)), theme.muted),
    ];
    if run.attempt > 1 {
        parts.push((format!("   attempt {}", run.attempt), theme.muted));
    }
    if let Some(w) = run.waiting.as_ref().filter(|_| run.finish.is_none()) {
        // Said second, so a narrow terminal drops the counts before it.
        parts.insert(1, (format!("   {w}"), theme.warn));
    }
    // Narrow terminals drop the least needed parts (events, then elapsed) rather than cut one.
    while parts.len() > 2 && parts.iter().map(|(t, _)| t.chars().count()).sum::<usize>() > width as usize {
        let drop = if parts.len() > 4 { 4 } else { parts.len() - 1 };
        parts.remove(drop);
    }
    Line::from(parts.into_iter().map(|(t, st)| Span::styled(t, st)).collect::<Vec<_>>())
}

/// The words of a row: what happens to it, in the model's words once it settled on revoke.
/// Returns the words and the status that styles them.
pub fn row_words(r: &Row, group: Option<&GroupRun>) -> (String, Option<Status>) {
    let settled_with_group = r.status.is_none()
        && group.is_some_and(|g| {
            matches!(g.status, Some(Status::CreateComplete | Status::UpdateComplete | Status::DeleteComplete))
        });
    if r.unchanged {
        return ("unchanged".into(), Some(Status::CreateComplete));
    }
    let status = if settled_with_group { group.and_then(|g| g.status) } else { r.status };
    match (status, r.fate) {
        (Some(Status::DeleteFailed), _) => (Fate::DeleteFailed.word().into(), status),
        (Some(s), Some(f)) if s.is_terminal() && !s.is_failure() => (f.phrase(), status),
        (None, Some(f)) if group.is_none() => (f.phrase(), None),
        (Some(s), _) if settled_with_group => {
            (status_words(Some(s)).replace("deleted", "settled").replace("created", "settled"), status)
        }
        _ => (status_words(status).into(), status),
    }
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

fn group_line<'a>(g: &GroupRun, width: usize, theme: &Theme) -> Line<'a> {
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
    let counts = format!(" {}/{}", g.done, g.total());
    // The name keeps what the bar and the count leave; the bar shrinks first on narrow panes.
    let bar = BAR.min(width.saturating_sub(g.name.chars().count() + counts.len() + 3));
    let filled = filled.min(bar);
    let name_w = width.saturating_sub(bar + counts.len() + 3).max(g.name.chars().count().min(width));
    let mut spans = vec![Span::styled(format!("{icon} {:<name_w$} ", g.name), style.patch(theme.heading))];
    if bar > 0 {
        spans.push(Span::styled("█".repeat(filled), theme.progress.patch(style)));
        spans.push(Span::styled("░".repeat(bar - filled), theme.muted));
    }
    spans.push(Span::styled(counts, theme.text));
    if g.unchanged {
        spans.push(Span::styled(" unchanged", theme.muted));
    }
    Line::from(spans)
}

fn render_tree(frame: &mut Frame, area: Rect, run: &RunState, theme: &Theme) {
    let inner_h = area.height.saturating_sub(2) as usize;
    let inner_w = area.width.saturating_sub(2) as usize;
    let id_w = id_width(run).min(inner_w.saturating_sub(18)).max(8);
    let show_type = area.width as usize >= 4 + id_w + words_width(run) + TYPE_W + 2;
    // When everything does not fit, settled groups fold to their one summary line.
    let fold = tree_lines(run) > inner_h;
    let mut lines = Vec::new();
    for g in &run.groups {
        lines.push(group_line(g, inner_w, theme));
        let rows: Vec<&Row> = if fold && folds(g) { lasting(g).collect() } else { g.rows.iter().collect() };
        for r in rows {
            let (words, status) = row_words(r, Some(g));
            let happened = status.is_some_and(|s| s.is_terminal() && !s.is_failure());
            let icon = match r.fate {
                Some(f) if happened => fate_icon(&f, true),
                _ => status_icon(status),
            };
            let mut spans = vec![Span::styled(format!("  {icon} {:<id_w$} ", r.id), theme.text)];
            if show_type {
                spans.push(Span::styled(type_column(&r.type_), theme.muted));
            }
            let style = match r.fate {
                Some(f) if happened => fate_style(&f, theme),
                _ => theme.status(status),
            };
            // Words that do not fit beside the id go on under it, whole.
            if 4 + id_w + words.chars().count() > inner_w && !show_type {
                lines.push(Line::from(spans));
                lines.push(Line::from(vec![Span::raw("      "), Span::styled(words, style)]));
            } else {
                spans.push(Span::styled(words, style));
                lines.push(Line::from(spans));
            }
        }
    }
    if lines.len() > inner_h && inner_h > 0 {
        let hidden = lines.len() - inner_h + 1;
        lines.truncate(inner_h - 1);
        lines.push(Line::styled(format!("  … {hidden} more lines (the log below has every event)"), theme.muted));
    }
    let title = match run.kind {
        RunKind::Deploy => format!(" Progress by {} ", run.cloud.group_word()),
        RunKind::Revoke => format!(" Revoke by {} ", run.cloud.group_word()),
    };
    let block = Block::bordered().title(Span::styled(title, theme.heading)).border_style(theme.border);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `time group resource STATUS reason`, like the CloudFormation console's events tab; a reason
/// too long for the row goes on under it, whole.
fn entry_lines(run: &RunState, entry: &LogEntry, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    match entry {
        LogEntry::Event(e) => {
            let resource_style = if e.is_group_event() { theme.heading } else { theme.text };
            let mut segs = vec![
                (e.time.format("%H:%M:%S").to_string(), theme.muted),
                (format!(" {:<w$} ", run.group_key(&e.group), w = run.key_width), theme.muted),
                (format!("{:<w$} ", e.resource, w = run.id_width), resource_style),
                (e.status.as_str().to_string(), theme.status(Some(e.status))),
            ];
            if let Some(r) = &e.reason {
                segs.push((format!(" {r}"), theme.muted));
            }
            let mut out = styled_wrap(&segs, width).into_iter();
            let mut lines = vec![Line::from(out.next().unwrap_or_default())];
            lines.extend(out.map(|mut spans| {
                spans.insert(0, Span::raw("  "));
                Line::from(spans)
            }));
            lines
        }
        LogEntry::Note(t) => styled_wrap(&[("  · ".to_string(), theme.muted), (t.clone(), theme.heading)], width)
            .into_iter()
            .map(Line::from)
            .collect(),
    }
}

fn render_log(frame: &mut Frame, area: Rect, run: &RunState, theme: &Theme) {
    let h = area.height.saturating_sub(2) as usize;
    let w = area.width.saturating_sub(2) as usize;
    let total = run.log.len();
    let max_top = total.saturating_sub(h);
    // Only the entries on screen are formatted: from the newest back while following, from the
    // first shown on when scrolled.
    let mut lines: Vec<Line> = Vec::new();
    let (first, last) = match run.log_top.map(|t| t.min(max_top)) {
        None => {
            let mut i = total;
            while i > 0 && lines.len() < h {
                i -= 1;
                let mut l = entry_lines(run, &run.log[i], w, theme);
                l.append(&mut lines);
                lines = l;
            }
            let skip = lines.len().saturating_sub(h);
            lines.drain(..skip);
            (i, total)
        }
        Some(top) => {
            let mut i = top;
            while i < total && lines.len() < h {
                lines.extend(entry_lines(run, &run.log[i], w, theme));
                i += 1;
            }
            lines.truncate(h);
            (top, i)
        }
    };
    let title = match run.log_top {
        None => format!(" Events ({}) · newest at the bottom ", count(run.events)),
        Some(_) => format!(" Events {}-{} of {} · End to follow ", count(first + 1), count(last), count(total)),
    };
    let block = Block::bordered().title(Span::styled(title, theme.heading)).border_style(theme.border);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_keeps_a_space_before_the_words_however_long() {
        assert_eq!(type_column("AWS::IAM::Role"), format!("{:<30}", "IAM::Role"));
        let long = type_column("Microsoft.Storage/storageAccounts/blobServices/containers");
        assert_eq!(long.chars().count(), TYPE_W);
        assert!(long.starts_with('…') && long.ends_with("blobServices/containers "), "{long}");
        assert_eq!(type_column("Microsoft.Resources/resourceGroups"), format!("{:<30}", "Resources/resourceGroups"));
    }
}
