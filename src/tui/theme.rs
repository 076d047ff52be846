//! Named style roles for every screen, so no renderer picks a colour inline.
//!
//! Policy: with `NO_COLOR` set (to anything non-empty, per no-color.org) every role loses its
//! colour but keeps its modifiers, so the selection stays visible (reversed) and headings and
//! dangers stay bold.

use ratatui::style::{Color, Modifier, Style};

use crate::model::Status;

/// The styles the renderers use, by role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Screen titles and the step line.
    pub title: Style,
    /// Section headings inside a screen.
    pub heading: Style,
    pub text: Style,
    /// Secondary text: details, hints, unavailable entries.
    pub muted: Style,
    /// Errors, failures, destructive choices.
    pub danger: Style,
    /// Things to read before going on: deletion dates, in-progress work.
    pub warn: Style,
    /// Finished, checked, created.
    pub ok: Style,
    /// What stays in the account after revoke (retained buckets).
    pub kept: Style,
    /// The highlighted row or button.
    pub selected: Style,
    /// Key names in the footer and the help overlay.
    pub key: Style,
    pub border: Style,
    /// The filled part of progress bars.
    pub progress: Style,
}

impl Theme {
    /// The theme for this terminal: plain when `NO_COLOR` is set.
    pub fn from_env() -> Theme {
        match std::env::var_os("NO_COLOR") {
            Some(v) if !v.is_empty() => Theme::plain(),
            _ => Theme::colored(),
        }
    }

    pub fn colored() -> Theme {
        let bold = Modifier::BOLD;
        Theme {
            title: Style::new().fg(Color::Cyan).add_modifier(bold),
            heading: Style::new().fg(Color::Blue).add_modifier(bold),
            text: Style::new(),
            muted: Style::new().fg(Color::DarkGray),
            danger: Style::new().fg(Color::Red).add_modifier(bold),
            warn: Style::new().fg(Color::Yellow),
            ok: Style::new().fg(Color::Green),
            kept: Style::new().fg(Color::Magenta),
            selected: Style::new().add_modifier(Modifier::REVERSED | bold),
            key: Style::new().fg(Color::Cyan).add_modifier(bold),
            border: Style::new().fg(Color::DarkGray),
            progress: Style::new().fg(Color::Green),
        }
    }

    /// No colours at all; modifiers only.
    pub fn plain() -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Theme {
            title: bold,
            heading: bold,
            text: Style::new(),
            muted: Style::new().add_modifier(Modifier::DIM),
            danger: bold,
            warn: Style::new(),
            ok: Style::new(),
            kept: Style::new().add_modifier(Modifier::ITALIC),
            selected: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            key: bold,
            border: Style::new(),
            progress: Style::new(),
        }
    }

    /// The style of a resource or stack status.
    pub fn status(&self, status: Option<Status>) -> Style {
        match status {
            None => self.muted,
            Some(Status::DeleteSkipped) => self.kept,
            Some(s) if s.is_failure() => self.danger,
            Some(s) if s.is_in_progress() => self.warn,
            Some(_) => self.ok,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_theme_keeps_the_selection_visible() {
        let t = Theme::plain();
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
        assert_eq!(t.danger.fg, None);
        assert_eq!(t.ok.fg, None);
    }

    #[test]
    fn statuses_map_to_roles() {
        let t = Theme::colored();
        assert_eq!(t.status(Some(Status::CreateFailed)), t.danger);
        assert_eq!(t.status(Some(Status::CreateInProgress)), t.warn);
        assert_eq!(t.status(Some(Status::CreateComplete)), t.ok);
        assert_eq!(t.status(Some(Status::DeleteSkipped)), t.kept);
        assert_eq!(t.status(None), t.muted);
    }
}
