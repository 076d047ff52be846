//! Keys → actions, per screen, as data. The footer hints and the `?` help overlay are both drawn
//! from these tables, so what the screen says is what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::Action;
use super::screens::Screen;

/// A key as the keymaps name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Backspace,
}

impl Key {
    /// The key of a terminal key press; `None` for releases and keys no screen uses.
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        Some(match ev.code {
            KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
            KeyCode::Char(c) => Key::Char(c),
            KeyCode::Enter => Key::Enter,
            KeyCode::Esc => Key::Esc,
            KeyCode::Tab => Key::Tab,
            KeyCode::BackTab => Key::BackTab,
            KeyCode::Up => Key::Up,
            KeyCode::Down => Key::Down,
            KeyCode::Left => Key::Left,
            KeyCode::Right => Key::Right,
            KeyCode::PageUp => Key::PageUp,
            KeyCode::PageDown => Key::PageDown,
            KeyCode::Home => Key::Home,
            KeyCode::End => Key::End,
            KeyCode::Backspace => Key::Backspace,
            _ => return None,
        })
    }

    pub fn label(self) -> String {
        match self {
            Key::Char(' ') => "Space".into(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()),
            Key::Enter => "Enter".into(),
            Key::Esc => "Esc".into(),
            Key::Tab => "Tab".into(),
            Key::BackTab => "Shift-Tab".into(),
            Key::Up => "↑".into(),
            Key::Down => "↓".into(),
            Key::Left => "←".into(),
            Key::Right => "→".into(),
            Key::PageUp => "PgUp".into(),
            Key::PageDown => "PgDn".into(),
            Key::Home => "Home".into(),
            Key::End => "End".into(),
            Key::Backspace => "Backspace".into(),
        }
    }
}

/// One row of a keymap.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    pub label: &'static str,
    /// Shown in the footer (everything is shown in the help overlay).
    pub hint: bool,
}

impl Binding {
    /// `↑/k` style list of the keys.
    pub fn keys_label(&self) -> String {
        self.keys.iter().map(|k| k.label()).collect::<Vec<_>>().join("/")
    }
}

const fn b(keys: &'static [Key], action: Action, label: &'static str) -> Binding {
    Binding { keys, action, label, hint: true }
}

/// Listed in the help overlay only, to keep the footer short.
const fn more(keys: &'static [Key], action: Action, label: &'static str) -> Binding {
    Binding { keys, action, label, hint: false }
}

const UP: &[Key] = &[Key::Up, Key::Char('k')];
const DOWN: &[Key] = &[Key::Down, Key::Char('j')];
const HELP: &[Key] = &[Key::Char('?')];
const CTRL_C: &[Key] = &[Key::Ctrl('c')];

static WELCOME: [Binding; 7] = [
    b(UP, Action::Up, "up"),
    b(DOWN, Action::Down, "down"),
    b(&[Key::Enter], Action::Select, "choose"),
    more(&[Key::PageUp, Key::PageDown], Action::PageDown, "scroll the text"),
    b(&[Key::Char('q'), Key::Esc], Action::Quit, "quit"),
    b(HELP, Action::ToggleHelp, "help"),
    more(CTRL_C, Action::Interrupt, "quit"),
];

static LIST: [Binding; 7] = [
    b(UP, Action::Up, "up"),
    b(DOWN, Action::Down, "down"),
    b(&[Key::Enter], Action::Select, "choose"),
    b(&[Key::Esc], Action::Back, "back"),
    b(&[Key::Char('q')], Action::Quit, "quit"),
    b(HELP, Action::ToggleHelp, "help"),
    more(CTRL_C, Action::Interrupt, "quit"),
];

static INSTALLS: [Binding; 8] = [
    b(UP, Action::Up, "up"),
    b(DOWN, Action::Down, "down"),
    b(&[Key::Enter], Action::Select, "choose"),
    b(&[Key::Char('r')], Action::Retry, "refresh"),
    b(&[Key::Esc], Action::Back, "back"),
    b(&[Key::Char('q')], Action::Quit, "quit"),
    b(HELP, Action::ToggleHelp, "help"),
    more(CTRL_C, Action::Interrupt, "quit"),
];

static CONFIGURE: [Binding; 7] = [
    b(&[Key::Tab, Key::Down, Key::Up, Key::BackTab], Action::NextTab, "switch field"),
    b(&[Key::Enter], Action::Select, "continue"),
    more(&[Key::Backspace], Action::Backspace, "delete a character"),
    more(&[Key::Ctrl('u')], Action::ClearInput, "clear the field"),
    b(&[Key::Esc], Action::Back, "back"),
    b(HELP, Action::ToggleHelp, "help"),
    b(CTRL_C, Action::Interrupt, "quit"),
];

static PREVIEW: [Binding; 15] = [
    b(&[Key::Tab], Action::NextTab, "tabs"),
    more(&[Key::Right, Key::Char('l')], Action::NextTab, "next tab"),
    more(&[Key::BackTab, Key::Left, Key::Char('h')], Action::PrevTab, "previous tab"),
    b(&[Key::Up, Key::Down], Action::Down, "select"),
    more(&[Key::Char('k'), Key::Char('j')], Action::Down, "select up/down"),
    more(&[Key::PageUp, Key::PageDown, Key::Char(' ')], Action::PageDown, "page up/down"),
    more(&[Key::Home, Key::Char('g'), Key::End, Key::Char('G')], Action::End, "top/bottom"),
    b(&[Key::Char('d')], Action::Detail, "detail"),
    b(&[Key::Char('/')], Action::Filter, "filter"),
    b(&[Key::Enter], Action::Select, "continue"),
    b(&[Key::Esc], Action::Back, "back"),
    b(&[Key::Char('r')], Action::CycleRisk, "risk filter"),
    more(&[Key::Char('q')], Action::Quit, "quit"),
    b(HELP, Action::ToggleHelp, "help"),
    more(CTRL_C, Action::Interrupt, "quit"),
];

/// Preview, while a filter is typed: characters go into the filter.
static PREVIEW_FILTER: [Binding; 7] = [
    b(&[Key::Enter], Action::Select, "done"),
    b(&[Key::Esc], Action::Back, "clear filter"),
    b(&[Key::Up, Key::Down], Action::Down, "select"),
    more(&[Key::Backspace], Action::Backspace, "delete a character"),
    more(&[Key::Ctrl('u')], Action::ClearInput, "clear the text"),
    more(&[Key::Tab], Action::NextTab, "next tab"),
    b(CTRL_C, Action::Interrupt, "quit"),
];

/// Preview, with the detail pane open: the keys scroll it.
static PREVIEW_DETAIL: [Binding; 9] = [
    b(&[Key::Up, Key::Char('k'), Key::Down, Key::Char('j')], Action::Down, "scroll"),
    more(&[Key::PageUp, Key::PageDown, Key::Char(' ')], Action::PageDown, "page up/down"),
    more(&[Key::Home, Key::Char('g'), Key::End, Key::Char('G')], Action::End, "top/bottom"),
    b(&[Key::Char('d'), Key::Esc], Action::Detail, "close detail"),
    b(&[Key::Tab], Action::NextTab, "next tab"),
    b(&[Key::Enter], Action::Select, "continue"),
    b(&[Key::Char('q')], Action::Quit, "quit"),
    b(HELP, Action::ToggleHelp, "help"),
    more(CTRL_C, Action::Interrupt, "quit"),
];

/// What the help overlay says below the Preview keys.
static PREVIEW_NOTES: [&str; 3] = [
    "/ filter: words match principal, service, action, resource.",
    "risk:high (medium, low, info) keeps that or worse; r cycles it.",
    "Esc closes the detail, then clears the filter, then goes back.",
];

static CONFIRM: [Binding; 7] = [
    b(&[Key::Left, Key::Right, Key::Tab, Key::Char('h'), Key::Char('l')], Action::NextTab, "switch"),
    b(&[Key::Enter], Action::Select, "confirm"),
    more(&[Key::Up, Key::Char('k'), Key::Down, Key::Char('j')], Action::Down, "scroll the summary"),
    b(&[Key::Esc], Action::Back, "back"),
    b(&[Key::Char('q')], Action::Quit, "quit"),
    b(HELP, Action::ToggleHelp, "help"),
    more(CTRL_C, Action::Interrupt, "quit"),
];

static RUN: [Binding; 12] = [
    b(&[Key::Up, Key::Char('k'), Key::Down, Key::Char('j')], Action::Up, "scroll log"),
    more(UP, Action::Up, "scroll the log up"),
    more(DOWN, Action::Down, "scroll the log down"),
    more(&[Key::PageUp], Action::PageUp, "page up"),
    more(&[Key::PageDown], Action::PageDown, "page down"),
    more(&[Key::Home, Key::Char('g')], Action::Home, "oldest event"),
    b(&[Key::End, Key::Char('G')], Action::End, "follow"),
    b(&[Key::Char('r')], Action::Retry, "retry"),
    b(&[Key::Enter], Action::Select, "continue"),
    b(&[Key::Char('q')], Action::Quit, "quit (asks while it runs)"),
    b(HELP, Action::ToggleHelp, "help"),
    more(CTRL_C, Action::Interrupt, "quit (asks while it runs)"),
];

static REVIEW: [Binding; 12] = [
    b(&[Key::Up, Key::Char('k'), Key::Down, Key::Char('j')], Action::Down, "scroll"),
    more(UP, Action::Up, "scroll up"),
    more(DOWN, Action::Down, "scroll down"),
    more(&[Key::PageUp], Action::PageUp, "page up"),
    more(&[Key::PageDown, Key::Char(' ')], Action::PageDown, "page down"),
    more(&[Key::Home, Key::Char('g'), Key::End, Key::Char('G')], Action::End, "top/bottom"),
    b(&[Key::Enter], Action::Select, "continue"),
    // The label is the cloud's (App::binding_label): the data bucket, the service principal.
    b(&[Key::Char('x')], Action::ToggleDeleteData, "also delete"),
    b(&[Key::Esc], Action::Back, "back"),
    b(&[Key::Char('q')], Action::Quit, "quit"),
    b(HELP, Action::ToggleHelp, "help"),
    more(CTRL_C, Action::Interrupt, "quit"),
];

static TYPE_CONFIRM: [Binding; 6] = [
    b(&[Key::Enter], Action::Select, "revoke"),
    more(&[Key::Backspace], Action::Backspace, "delete a character"),
    more(&[Key::Ctrl('u')], Action::ClearInput, "clear"),
    b(&[Key::Esc], Action::Back, "back"),
    b(HELP, Action::ToggleHelp, "help"),
    b(CTRL_C, Action::Interrupt, "quit"),
];

static FINISHED: [Binding; 8] = [
    b(&[Key::Up, Key::Char('k'), Key::Down, Key::Char('j')], Action::Down, "scroll"),
    more(UP, Action::Up, "scroll up"),
    more(DOWN, Action::Down, "scroll down"),
    more(&[Key::PageUp, Key::PageDown, Key::Char(' ')], Action::PageDown, "page up/down"),
    more(&[Key::Home, Key::Char('g'), Key::End, Key::Char('G')], Action::End, "top/bottom"),
    b(&[Key::Enter, Key::Char('q'), Key::Esc], Action::Quit, "quit"),
    b(HELP, Action::ToggleHelp, "help"),
    more(CTRL_C, Action::Interrupt, "quit"),
];

static MODAL: [Binding; 5] = [
    b(&[Key::Left, Key::Right, Key::Tab, Key::Char('h'), Key::Char('l')], Action::NextTab, "switch"),
    b(&[Key::Enter], Action::Select, "confirm"),
    b(&[Key::Esc, Key::Char('n')], Action::Back, "stay"),
    b(&[Key::Char('y')], Action::Quit, "leave"),
    b(CTRL_C, Action::Interrupt, "leave now"),
];

static HELP_OPEN: [Binding; 4] = [
    b(&[Key::Char('?'), Key::Esc, Key::Char('q'), Key::Enter], Action::ToggleHelp, "close help"),
    b(&[Key::Up, Key::Char('k'), Key::Down, Key::Char('j')], Action::Down, "scroll"),
    more(&[Key::PageUp, Key::PageDown, Key::Char(' ')], Action::PageDown, "page up/down"),
    more(CTRL_C, Action::Interrupt, "quit"),
];

/// Which table applies: overlays first, then the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyContext {
    Help,
    Modal,
    Screen(Screen),
    /// Preview with its filter being typed.
    PreviewFilter,
    /// Preview with the detail pane open.
    PreviewDetail,
}

pub fn bindings(ctx: KeyContext) -> &'static [Binding] {
    match ctx {
        KeyContext::Help => &HELP_OPEN,
        KeyContext::Modal => &MODAL,
        KeyContext::PreviewFilter => &PREVIEW_FILTER,
        KeyContext::PreviewDetail => &PREVIEW_DETAIL,
        KeyContext::Screen(s) => match s {
            Screen::Welcome => &WELCOME,
            Screen::Cloud | Screen::Account => &LIST,
            Screen::Installs => &INSTALLS,
            Screen::Configure => &CONFIGURE,
            Screen::Preview => &PREVIEW,
            Screen::Confirm => &CONFIRM,
            Screen::Deploy | Screen::RevokeRun => &RUN,
            Screen::Review => &REVIEW,
            Screen::TypeConfirm => &TYPE_CONFIRM,
            Screen::Done | Screen::Residue => &FINISHED,
        },
    }
}

/// Lines the help overlay shows below the keys of this context (filter syntax and the like).
pub fn notes(ctx: KeyContext) -> &'static [&'static str] {
    match ctx {
        KeyContext::Screen(Screen::Preview) | KeyContext::PreviewFilter | KeyContext::PreviewDetail => &PREVIEW_NOTES,
        _ => &[],
    }
}

/// The action for a key in this context. Keys the table does not name type into the focused
/// text field, if there is one.
pub fn action_for(ctx: KeyContext, text_focus: bool, key: Key) -> Option<Action> {
    if let Some(binding) = bindings(ctx).iter().find(|b| b.keys.contains(&key)) {
        // Tables that list two directions under one footer hint resolve them here.
        return Some(match (&binding.action, key) {
            (Action::Up | Action::Down, Key::Up | Key::Char('k')) => Action::Up,
            (Action::Up | Action::Down, Key::Down | Key::Char('j')) => Action::Down,
            (Action::PageUp | Action::PageDown, Key::PageUp) => Action::PageUp,
            (Action::PageUp | Action::PageDown, Key::PageDown | Key::Char(' ')) => Action::PageDown,
            (Action::Home | Action::End, Key::Home | Key::Char('g')) => Action::Home,
            (Action::Home | Action::End, Key::End | Key::Char('G')) => Action::End,
            (a, _) => a.clone(),
        });
    }
    match key {
        Key::Char(c) if text_focus && !c.is_control() => Some(Action::Input(c)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_screen_has_help_and_a_way_out() {
        for s in Screen::ALL {
            let table = bindings(KeyContext::Screen(s));
            assert!(table.iter().any(|b| b.action == Action::ToggleHelp), "{s:?}");
            assert!(table.iter().any(|b| matches!(b.action, Action::Quit | Action::Interrupt)), "{s:?}");
        }
    }

    #[test]
    fn scroll_hint_resolves_direction() {
        let ctx = KeyContext::Screen(Screen::Preview);
        assert_eq!(action_for(ctx, false, Key::Char('k')), Some(Action::Up));
        assert_eq!(action_for(ctx, false, Key::Down), Some(Action::Down));
        assert_eq!(action_for(ctx, false, Key::Char('z')), None);
    }

    #[test]
    fn paired_keys_resolve_to_their_own_direction() {
        let ctx = KeyContext::Screen(Screen::Preview);
        assert_eq!(action_for(ctx, false, Key::PageUp), Some(Action::PageUp));
        assert_eq!(action_for(ctx, false, Key::Char(' ')), Some(Action::PageDown));
        assert_eq!(action_for(ctx, false, Key::Char('g')), Some(Action::Home));
        assert_eq!(action_for(ctx, false, Key::End), Some(Action::End));
    }

    #[test]
    fn the_preview_filter_takes_every_character() {
        for c in ['q', '?', 'd', 'r', 'j', '/', ':'] {
            assert_eq!(action_for(KeyContext::PreviewFilter, true, Key::Char(c)), Some(Action::Input(c)), "{c}");
        }
        assert_eq!(action_for(KeyContext::PreviewFilter, true, Key::Esc), Some(Action::Back));
        assert_eq!(action_for(KeyContext::PreviewDetail, false, Key::Esc), Some(Action::Detail));
    }

    #[test]
    fn text_fields_take_unbound_characters() {
        let ctx = KeyContext::Screen(Screen::Configure);
        assert_eq!(action_for(ctx, true, Key::Char('q')), Some(Action::Input('q')));
        assert_eq!(action_for(ctx, true, Key::Enter), Some(Action::Select));
    }
}
