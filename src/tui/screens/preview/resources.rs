//! The Resources and Parameters tabs: every resource (type, name, what revoke does in the model's words, why) and
//! every parameter (value and where it comes from), by group.

use ratatui::text::{Line, Span};

use super::rows::{item_head, Entry, Item};
use crate::model::{ParameterSource, Plan};
use crate::tui::theme::Theme;
use crate::tui::widgets::{fate_style, field_lines, wrap};

pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
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
            let fate = r.fate();
            let revoke = fate.phrase();
            let style = fate_style(&fate, t);
            let id_w = 22.min(width / 3);
            // The marker slot first: a resource line can be selected (its detail pane).
            let mut first = item_head(0);
            let mut lines = if 2 + id_w + 1 + r.type_.chars().count() <= width {
                first.extend([
                    Span::styled(format!("{:<id_w$} ", r.id), t.text),
                    Span::styled(r.type_.clone(), t.muted),
                ]);
                vec![Line::from(first)]
            } else {
                first.push(Span::styled(r.id.clone(), t.text));
                vec![Line::from(first), Line::styled(format!("    {}", r.type_), t.muted)]
            };
            if let Some(n) = &r.name {
                lines.extend(field_lines("  name      ", 12, n, width, t.muted, t.text));
            }
            lines.extend(field_lines("  on revoke ", 12, &revoke, width, t.muted, style));
            lines.extend(field_lines("  why       ", 12, &r.why, width, t.muted, t.muted));
            let search = [g.name.as_str(), r.id.as_str(), r.type_.as_str(), r.name.as_deref().unwrap_or(""), &revoke];
            out.push(Entry::item(1, Item::Resource { group: gi, index: ri }, lines, &search, None));
        }
    }
    out
}

pub fn parameter_entries(plan: &Plan, width: usize, t: &Theme) -> Vec<Entry> {
    // The pack everything here comes from: the customer compares it with the vendor's published digest.
    let mut out = vec![group_heading(true, format!("Vendor pack of {}", plan.vendor), t)];
    // The digest on a line of its own, whole where the width allows: it is compared by eye.
    let mut lines = vec![Line::styled("  sha256 of its files:", t.muted)];
    for part in wrap(&plan.pack_sha256, width.saturating_sub(4)) {
        lines.push(Line::styled(format!("    {part}"), t.text));
    }
    out.push(Entry::heading(1, lines));
    for (gi, g) in plan.groups.iter().enumerate() {
        let title = format!("{} · {} ({})", g.name, g.title, plural(g.parameters.len(), "parameter"));
        out.push(group_heading(false, title, t));
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
