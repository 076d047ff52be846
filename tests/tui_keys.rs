//! Key events for every footer key of every screen: each key the footer names does something
//! there (the screen, the state or a command changes), directions aside (they may already be at
//! their end, and have their own scroll tests).
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is the failure report

mod tui_support;

use cloudgrant::tui::keymap::{bindings, Key};
use cloudgrant::tui::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_support::*;

fn event_of(k: Key) -> KeyEvent {
    let code = match k {
        Key::Char(c) => KeyCode::Char(c),
        Key::Ctrl(c) => return KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
        Key::Enter => KeyCode::Enter,
        Key::Esc => KeyCode::Esc,
        Key::Tab => KeyCode::Tab,
        Key::BackTab => KeyCode::BackTab,
        Key::Up => KeyCode::Up,
        Key::Down => KeyCode::Down,
        Key::Left => KeyCode::Left,
        Key::Right => KeyCode::Right,
        Key::PageUp => KeyCode::PageUp,
        Key::PageDown => KeyCode::PageDown,
        Key::Home => KeyCode::Home,
        Key::End => KeyCode::End,
        Key::Backspace => KeyCode::Backspace,
    };
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn directional(a: &Action) -> bool {
    matches!(a, Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Home | Action::End)
}

#[test]
fn every_footer_key_of_every_screen_does_something() {
    let mut checked = 0;
    for (name, app) in screens() {
        let ctx = app.key_context();
        for b in bindings(ctx).iter().filter(|b| b.hint && app.hint_enabled(&b.action)) {
            for &k in b.keys {
                let mut a = app.clone();
                let before = (screen_text(&a), a.screen, a.help, a.modal.is_some());
                let commands = a.handle_key(event_of(k));
                let after = (screen_text(&a), a.screen, a.help, a.modal.is_some());
                checked += 1;
                if directional(&b.action) {
                    continue;
                }
                assert!(
                    before != after || !commands.is_empty() || a.quit,
                    "{name}: {} ({}) in the footer did nothing\n{}",
                    k.label(),
                    b.label,
                    before.0
                );
            }
        }
    }
    assert!(checked > 80, "{checked} footer keys checked");
}

#[test]
fn q_on_a_finished_deploy_goes_to_done_and_ctrl_c_asks_while_it_runs() {
    let mut app = deploy_done();
    app.handle_key(event_of(Key::Char('q')));
    assert_eq!(app.screen, cloudgrant::tui::Screen::Done, "Done is never skipped");
    assert!(!app.quit);
    let mut running = app_deploying();
    running.handle_key(event_of(Key::Ctrl('c')));
    assert!(running.modal.is_some(), "asks before leaving a running deploy");
}

#[test]
fn the_review_footer_has_no_x_on_aws_and_home_end_scroll() {
    let mut app = app_review();
    let text = screen_text(&app);
    assert!(!text.contains("x also delete"), "no x line on AWS, no x key: {text}");
    app.handle_key(event_of(Key::End));
    let bottom = screen_text(&app);
    assert_ne!(bottom, text, "End scrolls the review");
    app.handle_key(event_of(Key::Char('g')));
    assert_eq!(screen_text(&app), text, "g goes back to the top");
}
