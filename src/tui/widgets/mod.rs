//! Widgets shared by several screens: the live run view, text inputs, buttons, overlays and small
//! layout and text helpers. Renderers here only draw; they never change state.

pub mod input;
pub mod overlay;
pub mod run;
pub mod run_view;

use std::time::Duration;

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::theme::Theme;
use crate::model::Fate;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The spinner frame for this moment (advances every 100 ms tick).
pub fn spinner(clock: Duration) -> &'static str {
    SPINNER[(clock.as_millis() / 100) as usize % SPINNER.len()]
}

/// `mm:ss`, or `h:mm:ss` past an hour.
pub fn format_elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// A `width` × `height` rectangle centred in `area` (clipped to it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width.min(area.width))]).flex(Flex::Center).areas(row);
    rect
}

/// A row of buttons, the chosen one highlighted: `[ No ]  [ Create ]`.
pub fn buttons<'a>(labels: &[&'a str], chosen: usize, theme: &Theme, danger: Option<usize>) -> Line<'a> {
    let mut spans = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("   "));
        }
        let base = if danger == Some(i) { theme.danger } else { theme.text };
        let style = if i == chosen { base.patch(theme.selected) } else { base };
        let marker = if i == chosen { ">" } else { " " };
        spans.push(Span::styled(format!("{marker} {label} "), style));
    }
    Line::from(spans)
}

/// Split `text` into lines of at most `width` characters, at spaces where possible. Words longer
/// than a line (ARNs, JSON) are cut after punctuation (`,` `:` `/` `{`) where possible.
/// Every character is kept.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut len = 0;
        for word in para.split(' ') {
            let wlen = word.chars().count();
            if len > 0 && len + 1 + wlen > width {
                out.push(std::mem::take(&mut line));
                len = 0;
            }
            if len > 0 {
                line.push(' ');
                len += 1;
            }
            let mut rest = word;
            while len + rest.chars().count() > width {
                let cut = long_word_cut(rest, width - len);
                line.push_str(&rest[..cut]);
                out.push(std::mem::take(&mut line));
                len = 0;
                rest = &rest[cut..];
            }
            line.push_str(rest);
            len += rest.chars().count();
        }
        out.push(line);
    }
    out
}

/// Byte index at which to cut `word` to fit `room` characters: after the last punctuation in
/// that room, else at the room's end.
fn long_word_cut(word: &str, room: usize) -> usize {
    let end = word.char_indices().nth(room).map_or(word.len(), |(i, _)| i);
    word[..end]
        .char_indices()
        .rev()
        .find(|(i, c)| *i > 0 && matches!(c, ',' | ':' | '/' | '{'))
        .map(|(i, c)| i + c.len_utf8())
        .filter(|&i| i >= end / 3)
        .unwrap_or(end.max(1))
}

/// `label  value` lines, the value wrapped under itself.
pub fn field_lines(
    label: &str,
    label_width: usize,
    value: &str,
    width: usize,
    label_style: Style,
    value_style: Style,
) -> Vec<Line<'static>> {
    let pad = " ".repeat(label_width);
    wrap(value, width.saturating_sub(label_width))
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let head = if i == 0 { format!("{label:<label_width$}") } else { pad.clone() };
            Line::from(vec![Span::styled(head, label_style), Span::styled(part, value_style)])
        })
        .collect()
}

/// A scroll position moved by a key, within `0..=max`, for a view `h` lines high.
pub fn scrolled(action: &crate::tui::action::Action, s: usize, h: usize, max: usize) -> usize {
    use crate::tui::action::Action;
    let page = h.saturating_sub(1).max(1);
    match action {
        Action::Up => s.saturating_sub(1),
        Action::Down => (s + 1).min(max),
        Action::PageUp => s.saturating_sub(page),
        Action::PageDown => (s + page).min(max),
        Action::Home => 0,
        Action::End => max,
        _ => s,
    }
}

/// The style of a fate, wherever it is said.
pub fn fate_style(f: &Fate, t: &Theme) -> Style {
    match f {
        Fate::Deleted => t.text,
        Fate::Kept | Fate::KeptWithData | Fate::Detached => t.kept,
        Fate::ScheduledDeletion { .. } | Fate::SoftDeleted { .. } => t.warn,
        Fate::WillFail | Fate::DeleteFailed => t.danger,
    }
}

/// The mark before a resource with this fate: ✓ only once it `happened`; before that, a mark of
/// what will happen (the review promises nothing is done yet).
pub fn fate_icon(f: &Fate, happened: bool) -> &'static str {
    match f {
        Fate::WillFail | Fate::DeleteFailed => "✗",
        _ if happened => "✓",
        Fate::Deleted => "-",
        Fate::Kept | Fate::KeptWithData => "◆",
        Fate::ScheduledDeletion { .. } => "◷",
        Fate::SoftDeleted { .. } => "◌",
        Fate::Detached => "◇",
    }
}

/// `label value` with the value never split across lines (copying it must be safe): beside the
/// label when it fits, else alone on the next line (indented when that fits), else cut with `…`
/// at the edge; the caller says where the whole value is (the exit lines, the receipt).
pub fn value_lines(
    label: &str,
    value: &str,
    width: usize,
    label_style: Style,
    value_style: Style,
) -> Vec<Line<'static>> {
    let (lw, vw) = (label.chars().count(), value.chars().count());
    if lw + vw <= width {
        return vec![Line::from(vec![
            Span::styled(label.to_string(), label_style),
            Span::styled(value.to_string(), value_style),
        ])];
    }
    let head = Line::styled(label.trim_end().to_string(), label_style);
    let indent = label.len() - label.trim_start().len() + 2;
    let value_line = if indent + vw <= width {
        Line::from(vec![Span::raw(" ".repeat(indent)), Span::styled(value.to_string(), value_style)])
    } else if vw <= width {
        Line::styled(value.to_string(), value_style)
    } else {
        let cut: String = value.chars().take(width.saturating_sub(1)).collect();
        Line::styled(format!("{cut}…"), value_style)
    };
    vec![head, value_line]
}

/// A list that may not fit `height`: the items (each its lines) from the first one from which the
/// focused item is whole, as many as fit, with "↑ more above" / "↓ more below" where items are
/// out of view. The focused item is always shown (cut at `height` only when it alone is taller).
pub fn window(items: &[Vec<Line<'static>>], focus: usize, height: usize, theme: &Theme) -> Vec<Line<'static>> {
    let total: usize = items.iter().map(Vec::len).sum();
    if total <= height || items.is_empty() {
        return items.concat();
    }
    let focus = focus.min(items.len() - 1);
    let fits = |start: usize, end: usize| {
        let lines: usize = items[start..end].iter().map(Vec::len).sum();
        lines + usize::from(start > 0) + usize::from(end < items.len()) <= height
    };
    let mut start = 0;
    while start < focus && !fits(start, focus + 1) {
        start += 1;
    }
    let mut end = focus + 1;
    while end < items.len() && fits(start, end + 1) {
        end += 1;
    }
    let mut out = Vec::new();
    if start > 0 {
        out.push(Line::styled("  ↑ more above", theme.warn));
    }
    out.extend(items[start..end].iter().flatten().cloned());
    if end < items.len() {
        out.push(Line::styled("  ↓ more below", theme.warn));
    }
    out.truncate(height.max(1));
    out
}

/// A screen that is a list between a head (the question) and a tail (what was chosen, what Enter
/// does), in `height` lines: head and tail always whole — their blank lines go first when room is
/// short — and the list windowed around its focused item in what is left.
pub fn list_screen(
    mut head: Vec<Line<'static>>,
    items: &[Vec<Line<'static>>],
    focus: usize,
    mut tail: Vec<Line<'static>>,
    height: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let need = items.get(focus).map_or(0, Vec::len);
    if head.len() + tail.len() + need > height {
        let blank = |l: &Line| l.spans.iter().all(|s| s.content.trim().is_empty());
        head.retain(|l| !blank(l));
        tail.retain(|l| !blank(l));
    }
    let room = height.saturating_sub(head.len() + tail.len()).max(1);
    let mut lines = head;
    lines.extend(window(items, focus, room, theme));
    lines.extend(tail);
    lines
}

/// `text` wrapped to `width` with `first` before its first line and each following line
/// indented as deep, so a wrapped title or description stays under itself.
pub fn hanging(first: Vec<Span<'static>>, text: &str, width: usize, style: Style) -> Vec<Line<'static>> {
    let indent: usize = first.iter().map(|s| s.content.chars().count()).sum();
    let mut lines = Vec::new();
    for (i, part) in wrap(text, width.saturating_sub(indent)).into_iter().enumerate() {
        let head = if i == 0 { first.clone() } else { vec![Span::raw(" ".repeat(indent))] };
        let mut spans = head;
        spans.push(Span::styled(part, style));
        lines.push(Line::from(spans));
    }
    lines
}

/// Whether [`value_lines`] had to cut `value` at `width`.
pub fn value_cut(value: &str, width: usize) -> bool {
    value.chars().count() > width
}

/// Thousands separators for counts shown to people.
pub fn count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect()
    }

    fn items(n: usize) -> Vec<Vec<Line<'static>>> {
        (0..n).map(|i| vec![Line::raw(format!("item {i}")), Line::raw(format!("  about {i}"))]).collect()
    }

    #[test]
    fn a_window_keeps_the_focused_item_whole_and_says_what_is_out_of_view() {
        let t = Theme::plain();
        assert_eq!(window(&items(3), 0, 6, &t).len(), 6, "all fit: no markers");
        let top = text(&window(&items(5), 0, 5, &t));
        assert_eq!(top, ["item 0", "  about 0", "item 1", "  about 1", "  ↓ more below"]);
        let last = text(&window(&items(5), 4, 5, &t));
        assert_eq!(last, ["  ↑ more above", "item 3", "  about 3", "item 4", "  about 4"]);
        let middle = text(&window(&items(5), 2, 4, &t));
        assert_eq!(middle, ["  ↑ more above", "item 2", "  about 2", "  ↓ more below"]);
    }

    #[test]
    fn hanging_lines_stay_under_their_first_words() {
        let lines = text(&hanging(vec![Span::raw("  > ")], "one two three four five", 14, Style::default()));
        assert_eq!(lines, ["  > one two", "    three four", "    five"]);
    }

    #[test]
    fn a_short_list_screen_drops_blank_lines_before_the_head_or_the_tail() {
        let t = Theme::plain();
        let head = vec![Line::raw(""), Line::raw("Which one?"), Line::raw("")];
        let tail = vec![Line::raw(""), Line::raw("Enter: go on")];
        let out = text(&list_screen(head, &items(3), 2, tail, 5, &t));
        assert_eq!(out, ["Which one?", "  ↑ more above", "item 2", "  about 2", "Enter: go on"]);
    }

    #[test]
    fn wrap_keeps_every_character() {
        let text = "arn:aws:ec2:eu-west-1:123456789012:network-interface/* and a few words";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:?}");
        assert_eq!(lines.join("").replace(' ', ""), text.replace(' ', ""));
        assert_eq!(wrap("short", 20), vec!["short".to_string()]);
        let json = r#"{"StringEquals":{"sts:ExternalId":"fixed-external-id-0123456789"}}"#;
        let lines = wrap(json, 40);
        assert_eq!(lines.concat(), json);
        assert!(lines.iter().any(|l| l.contains("fixed-external-id-0123456789")), "{lines:?}");
    }

    #[test]
    fn helpers() {
        assert_eq!(format_elapsed(Duration::from_secs(75)), "01:15");
        assert_eq!(format_elapsed(Duration::from_secs(3725)), "1:02:05");
        assert_eq!(count(10000), "10,000");
        assert_eq!(count(999), "999");
        assert_eq!(centered(Rect::new(0, 0, 100, 30), 40, 10), Rect::new(30, 10, 40, 10));
    }
}
