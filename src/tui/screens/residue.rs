//! Revoke step 8, Report: what is left in the account after revoke (kept, pending deletion with
//! its date, soft-deleted, failed) and the checks that the vendor's access is really gone.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::model::Residue;
use crate::tui::app::App;
use crate::tui::theme::Theme;
use crate::tui::widgets::wrap;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResidueState {
    pub residue: Option<Residue>,
    pub scroll: usize,
}

fn state_style(state: &str, t: &Theme) -> ratatui::style::Style {
    match state {
        "kept" => t.kept,
        "delete_failed" => t.danger,
        _ => t.warn,
    }
}

pub fn residue_lines(app: &App, r: &Residue, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let failed_checks = r.checks.iter().filter(|c| !c.ok).count();
    let mut out = vec![
        if failed_checks == 0 {
            Line::styled(format!("✓ {}'s access to account {} is revoked.", app.vendor.vendor.name, r.account), t.ok)
        } else {
            Line::styled(
                format!("✗ {failed_checks} check(s) failed: the access may not be fully gone. See below."),
                t.danger,
            )
        },
        Line::styled(format!("org {} · finished {}", r.org, r.finished.format("%Y-%m-%d %H:%M UTC")), t.muted),
        Line::raw(""),
        Line::styled(format!("Left in the account ({})", r.items.len()), t.heading),
    ];
    if r.items.is_empty() {
        out.push(Line::styled("  nothing", t.muted));
    }
    for item in &r.items {
        let style = state_style(&item.state, t);
        out.push(Line::from(vec![
            Span::styled(format!("  {:<18}", item.state.replace('_', " ")), style),
            Span::styled(format!("{:<24} ", item.type_), t.muted),
            Span::styled(item.physical_id.clone(), t.text),
        ]));
        for part in wrap(&item.note, width.saturating_sub(20)) {
            out.push(Line::from(vec![Span::raw(" ".repeat(20)), Span::styled(part, t.muted)]));
        }
    }
    out.push(Line::raw(""));
    out.push(Line::styled(format!("Checks ({})", r.checks.len()), t.heading));
    for c in &r.checks {
        let (icon, style) = if c.ok { ("✓ ok    ", t.ok) } else { ("✗ failed", t.danger) };
        out.push(Line::from(vec![Span::styled(format!("  {icon}  "), style), Span::styled(c.what.clone(), t.text)]));
        for part in wrap(&c.detail, width.saturating_sub(12)) {
            out.push(Line::from(vec![Span::raw(" ".repeat(12)), Span::styled(part, t.muted)]));
        }
    }
    out
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(r) = &app.residue.residue else { return };
    let lines = residue_lines(app, r, area.width as usize);
    let h = area.height as usize;
    let top = app.residue.scroll.min(lines.len().saturating_sub(h));
    let visible: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
    frame.render_widget(Paragraph::new(visible), area);
}
