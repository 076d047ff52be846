//! Overlays drawn on top of a screen: the `?` help (the keymap table's keys and the glossary's
//! terms) and confirm modals.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::{centered, wrap};
use crate::tui::theme::Theme;

/// The help overlay: `lines` (keys, notes, glossary) in a box as large as they need and the
/// terminal allows, from line `scroll` on, with where it is when it does not all fit.
pub fn render_help(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    lines: Vec<Line<'static>>,
    scroll: usize,
    theme: &Theme,
) {
    let width = (lines.iter().map(Line::width).max().unwrap_or(20) as u16 + 4).max(title.len() as u16 + 6);
    let rect = centered(area, width, lines.len() as u16 + 2);
    let h = rect.height.saturating_sub(2) as usize;
    let top = scroll.min(lines.len().saturating_sub(h));
    let total = lines.len();
    frame.render_widget(Clear, rect);
    let mut block = Block::bordered().title(Span::styled(format!(" {title} "), theme.title)).border_style(theme.border);
    if total > h {
        let end = (top + h).min(total);
        block = block.title_bottom(Span::styled(format!(" {}-{end} of {total} · ↑/↓ scroll ", top + 1), theme.muted));
    }
    let visible: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
    frame.render_widget(Paragraph::new(visible).block(block), rect);
}

/// Lines of the help overlay for `width` columns: keys then what they do, the screen's notes,
/// then the glossary terms (name, then its sentences).
pub fn help_lines(
    keys: &[(String, String)],
    notes: &[String],
    terms: &[(&str, &str)],
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let key_w = keys.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0) + 2;
    let text_w = width.saturating_sub(8).clamp(20, 76);
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(k, label)| {
            Line::from(vec![Span::styled(format!("  {k:<key_w$}"), theme.key), Span::styled(label.clone(), theme.text)])
        })
        .collect();
    lines.push(Line::raw(""));
    for note in notes {
        lines.extend(wrap(note, text_w).into_iter().map(|l| Line::styled(format!("  {l}"), theme.muted)));
    }
    if !terms.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("  Terms on this screen", theme.heading));
        for (name, text) in terms {
            lines.push(Line::styled(format!("  {name}"), theme.title));
            lines.extend(
                wrap(text, text_w.saturating_sub(2)).into_iter().map(|l| Line::styled(format!("    {l}"), theme.text)),
            );
        }
    }
    lines
}

/// A modal box: title, body paragraphs (wrapped here, each with its style) and a last line
/// (usually buttons).
pub fn render_modal(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    body: &[(String, Style)],
    buttons: Line,
    theme: &Theme,
) {
    let width = area.width.saturating_sub(8).min(80);
    let inner_w = width.saturating_sub(4) as usize;
    let mut lines: Vec<Line> = Vec::new();
    for (text, style) in body {
        lines.extend(wrap(text, inner_w).into_iter().map(|l| Line::styled(format!(" {l}"), *style)));
    }
    lines.push(Line::raw(""));
    lines.push(buttons);
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(Span::styled(format!(" {title} "), theme.danger)).border_style(theme.danger);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
