//! A one-line text field: state (value, touched) and its renderer, with the validation message
//! drawn under it in the danger style.

use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::theme::Theme;

/// Longest value accepted; longer input is ignored (no field needs more).
const MAX_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextInput {
    pub value: String,
    /// Edited at least once: errors on an untouched empty field stay hidden until submit.
    pub touched: bool,
}

impl TextInput {
    pub fn with_value(value: &str) -> Self {
        TextInput { value: value.into(), touched: false }
    }

    pub fn push(&mut self, c: char) {
        if self.value.chars().count() < MAX_LEN {
            self.value.push(c);
        }
        self.touched = true;
    }

    pub fn backspace(&mut self) {
        self.value.pop();
        self.touched = true;
    }

    pub fn clear(&mut self) {
        self.value.clear();
        self.touched = true;
    }
}

/// What to draw for one field.
pub struct FieldView<'a> {
    pub label: &'a str,
    pub input: &'a TextInput,
    pub focused: bool,
    /// Shown under the field in the danger style.
    pub error: Option<String>,
    /// Shown under the field when there is no error.
    pub help: &'a str,
}

/// The rows a field needs in `width` columns: label and value, then its message (the error, else
/// the help) wrapped under the value, at most 3 rows (a blank row after it is the caller's).
pub fn field_rows(view: &FieldView, width: u16) -> u16 {
    let width = (width as usize).saturating_sub(14 + 2);
    let text = view.error.as_deref().unwrap_or(view.help);
    1 + super::wrap(text, width).len().clamp(1, 3) as u16
}

/// Draw a field in `area` (at least [`field_rows`] rows); puts the cursor in it when focused.
pub fn render_field(frame: &mut Frame, area: Rect, view: &FieldView, theme: &Theme) {
    let label_w = 14usize;
    let marker = if view.focused { "> " } else { "  " };
    let value_style = if view.focused { theme.selected } else { theme.text };
    let box_w = (area.width as usize).saturating_sub(label_w + 4).min(40);
    let shown = format!(" {:<w$}", view.input.value, w = box_w.saturating_sub(1));
    let mut lines = vec![Line::from(vec![
        Span::styled(marker, theme.key),
        Span::styled(format!("{:<w$}", view.label, w = label_w), theme.heading),
        Span::styled(shown, value_style),
    ])];
    let indent = " ".repeat(label_w + 2);
    let width = (area.width as usize).saturating_sub(label_w + 2);
    match &view.error {
        Some(e) => {
            for part in super::wrap(e, width).into_iter().take(3) {
                lines.push(Line::from(vec![Span::raw(indent.clone()), Span::styled(part, theme.danger)]));
            }
        }
        // Wrapped under the value, like an error: a narrow screen keeps all of it.
        None => {
            for part in super::wrap(view.help, width).into_iter().take(3) {
                lines.push(Line::from(vec![Span::raw(indent.clone()), Span::styled(part, theme.muted)]));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
    if view.focused {
        let x = area.x + (label_w + 3 + view.input.value.chars().count()) as u16;
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_marks_touched_and_caps_length() {
        let mut t = TextInput::with_value("eu-west-1");
        assert!(!t.touched);
        t.backspace();
        assert_eq!(t.value, "eu-west-");
        assert!(t.touched);
        for _ in 0..100 {
            t.push('a');
        }
        assert_eq!(t.value.chars().count(), MAX_LEN);
        t.clear();
        assert!(t.value.is_empty());
    }
}
