//! The Resources and Parameters tabs: every resource (type, name, what revoke does, why) and
//! every parameter (value and where it comes from), by group.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::rows::{item_head, Entry, Item};
use crate::model::{OnRevoke, ParameterSource, Plan};
use crate::tui::theme::Theme;
use crate::tui::widgets::{field_lines, wrap};

pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn on_revoke_text(on: OnRevoke, days: Option<u32>) -> (String, fn(&Theme) -> Style) {
    match on {
        OnRevoke::Delete => ("on revoke: deleted".into(), |t| t.muted),
        OnRevoke::Keep => ("on revoke: KEPT (retained, with your data)".into(), |t| t.kept),
        OnRevoke::ScheduledDeletion => (format!("on revoke: deleted after {} days", days.unwrap_or(30)), |t| t.warn),
        OnRevoke::SoftDelete => ("on revoke: soft-deleted".into(), |t| t.warn),
    }
}

fn group_heading(first: bool, text: String, t: &Theme) -> Entry {
    let mut lines = Vec::new();
    if !first {
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(text, t.heading));
    Entry::heading(0, lines)
}

pub fn resource_entries(plan: &Plan, width: usize, t: &Theme) -> Vec<Entry> {
    let mut out = Vec::new();
    for (gi, g) in plan.groups.iter().enumerate() {
        let title = format!("{} · {} ({})", g.name, g.title, plural(g.resources.len(), "resource"));
        out.push(group_heading(gi == 0, title, t));
        for (ri, r) in g.resources.iter().enumerate() {
            let (revoke, style) = on_revoke_text(r.on_revoke, r.pending_window_days);
            // The marker slot first: a resource line can be selected (its detail pane).
            let mut first = item_head(0);
            first.extend([
                Span::styled(format!("{:<22} ", r.id), t.text),
                Span::styled(format!("{:<38} ", r.type_), t.muted),
            ]);
            // Beside the detail pane the list is narrower: what revoke does goes below, not cut.
            let fits = 2 + 23 + 39 + revoke.chars().count() <= width;
            if fits {
                first.push(Span::styled(revoke.clone(), style(t)));
            }
            let mut lines = vec![Line::from(first)];
            if !fits {
                lines.extend(field_lines("           ", 11, &revoke, width, t.muted, style(t)));
            }
            if let Some(n) = &r.name {
                lines.extend(field_lines("      name ", 11, n, width, t.muted, t.text));
            }
            lines.extend(field_lines("      why  ", 11, &r.why, width, t.muted, t.muted));
            let search = [g.name.as_str(), r.id.as_str(), r.type_.as_str(), r.name.as_deref().unwrap_or(""), &revoke];
            out.push(Entry::item(1, Item::Resource { group: gi, index: ri }, lines, &search, None));
        }
    }
    out
}

pub fn parameter_entries(plan: &Plan, width: usize, t: &Theme) -> Vec<Entry> {
    let mut out = Vec::new();
    for (gi, g) in plan.groups.iter().enumerate() {
        let title = format!("{} · {} ({})", g.name, g.title, plural(g.parameters.len(), "parameter"));
        out.push(group_heading(gi == 0, title, t));
        for (pi, p) in g.parameters.iter().enumerate() {
            let source = match &p.source {
                ParameterSource::Tool => "set by cloudgrant".to_string(),
                ParameterSource::Default => "template default".to_string(),
                ParameterSource::Output { group, output } => format!("output {output} of {group}"),
            };
            let value = format!("{}  ({source})", p.value);
            let mut lines = Vec::new();
            for (i, part) in wrap(&value, width.saturating_sub(26)).into_iter().enumerate() {
                let label = if i == 0 { format!("  {:<24}", p.name) } else { " ".repeat(26) };
                lines.push(Line::from(vec![Span::styled(label, t.muted), Span::styled(part, t.text)]));
            }
            let search = [g.name.as_str(), p.name.as_str(), &value];
            out.push(Entry::item(1, Item::Parameter { group: gi, index: pi }, lines, &search, None));
        }
    }
    out
}
