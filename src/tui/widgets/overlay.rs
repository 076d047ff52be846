//! Overlays drawn on top of a screen: the `?` help (from the keymap table) and confirm modals.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::{centered, wrap};
use crate::tui::keymap::Binding;
use crate::tui::theme::Theme;

/// The help overlay: every binding of the current screen, keys then what they do, then the
/// screen's notes (wrapped to the terminal).
pub fn render_help(frame: &mut Frame, area: Rect, title: &str, bindings: &[Binding], notes: &[&str], theme: &Theme) {
    let key_w = bindings.iter().map(|b| b.keys_label().chars().count()).max().unwrap_or(0) + 2;
    let mut lines: Vec<Line> = bindings
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!("  {:<key_w$}", b.keys_label()), theme.key),
                Span::styled(b.label, theme.text),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    let note_width = (area.width as usize).saturating_sub(8);
    for note in notes {
        lines.extend(wrap(note, note_width).into_iter().map(|l| Line::styled(format!("  {l}"), theme.text)));
    }
    lines.push(Line::styled("  Nothing is created before the Confirm step.", theme.muted));
    lines.push(Line::styled("  ?/Esc closes this help.", theme.muted));
    let width = (lines.iter().map(Line::width).max().unwrap_or(20) as u16 + 4).max(title.len() as u16 + 6);
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(Span::styled(format!(" {title} "), theme.title)).border_style(theme.border);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
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
