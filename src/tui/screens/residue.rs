//! Revoke step 8, Report: what is left after revoke, each in the review's words (the model's
//! fates: kept (with your data), scheduled for deletion, soft-deleted, delete failed), and the
//! checks that the vendor's access is really gone; it scrolls, and ids are never split.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::model::Residue;
use crate::tui::app::App;
use crate::tui::widgets::{fate_icon, fate_style, value_lines, wrap};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResidueState {
    pub residue: Option<Residue>,
}

pub fn residue_lines(app: &App, r: &Residue, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let word = r.cloud.account_word();
    let plan = app.review.plan.as_ref();
    let failed_checks = r.checks.iter().filter(|c| !c.ok).count();
    let para = |text: &str, style| -> Vec<Line<'static>> {
        wrap(text, width).into_iter().map(|l| Line::styled(l, style)).collect()
    };
    let mut out = if failed_checks == 0 {
        para(&format!("✓ {}'s access to {word} {} is revoked.", app.vendor.vendor.name, r.account), t.ok)
    } else {
        para(&format!("✗ {failed_checks} check(s) failed: the access may not be fully gone. See below."), t.danger)
    };
    out.extend(para(&format!("org {} · finished {}", r.org, r.finished.format("%Y-%m-%d %H:%M UTC")), t.muted));
    out.push(Line::raw(""));
    out.push(Line::styled(format!("Left in the {word} ({})", r.items.len()), t.heading));
    if r.items.is_empty() {
        out.push(Line::styled("  nothing", t.muted));
    }
    for item in &r.items {
        let fate = item.fate(plan);
        let style = fate_style(&fate, t);
        out.extend(
            wrap(&format!("{} {}", fate_icon(&fate, true), fate.phrase()), width.saturating_sub(2))
                .into_iter()
                .map(|l| Line::styled(format!("  {l}"), style)),
        );
        out.extend(value_lines("    ", &item.physical_id, width, t.muted, t.text));
        out.push(Line::styled(format!("    {}", item.type_), t.muted));
        for part in wrap(&item.note, width.saturating_sub(4)) {
            out.push(Line::from(vec![Span::raw("    "), Span::styled(part, t.muted)]));
        }
    }
    out.push(Line::raw(""));
    out.push(Line::styled(format!("Checks ({})", r.checks.len()), t.heading));
    for c in &r.checks {
        let (icon, style) = if c.ok { ("✓ ok    ", t.ok) } else { ("✗ failed", t.danger) };
        let what = wrap(&c.what, width.saturating_sub(12));
        for (i, part) in what.into_iter().enumerate() {
            let head = if i == 0 { format!("  {icon}  ") } else { " ".repeat(12) };
            out.push(Line::from(vec![Span::styled(head, style), Span::styled(part, t.text)]));
        }
        for part in wrap(&c.detail, width.saturating_sub(12)) {
            out.push(Line::from(vec![Span::raw(" ".repeat(12)), Span::styled(part, t.muted)]));
        }
    }
    match &app.receipt {
        Some(Ok(path)) => {
            out.push(Line::raw(""));
            out.push(Line::styled("Receipt (JSON and Markdown):", t.heading));
            out.extend(value_lines("  ", &path.display().to_string(), width, t.muted, t.text));
        }
        Some(Err(e)) => out.extend(para(&format!("The receipt was not written: {e}"), t.warn)),
        None => {}
    }
    out
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(r) = &app.residue.residue else { return };
    let lines = residue_lines(app, r, area.width as usize);
    let h = area.height as usize;
    let top = app.scroll.min(lines.len().saturating_sub(h));
    let more = lines.len() > top + h;
    let mut visible: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
    if more && h > 1 {
        visible.truncate(h - 1);
        visible.push(Line::styled("↓ more below (↓/PgDn)", app.theme.warn));
    }
    frame.render_widget(Paragraph::new(visible), area);
}
