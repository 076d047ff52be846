//! A slow cloud call is said on the run screen while it is awaited ("waiting for AWS
//! (CreateStack) 45 s…"), and gone once it answered or the run ended; leaving a failed or
//! running run is not a success (issue 13).
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is the failure report

mod tui_support;

use cloudgrant::tui::Action;
use tui_support::*;

#[test]
fn a_slow_call_is_said_in_the_status_line_while_the_run_goes_on() {
    let mut app = app_deploying();
    let line = |app: &cloudgrant::tui::App| {
        screen_text(app).lines().find(|l| l.contains("Creating")).unwrap_or("").to_string()
    };
    assert!(!line(&app).contains("waiting for AWS"), "{}", line(&app));
    app.update(Action::Waiting(Some("waiting for AWS (CreateStack) 45 s…".into())));
    assert!(line(&app).contains("waiting for AWS (CreateStack) 45 s…"), "{}", screen_text(&app));
    // Said before the counts, so a narrow terminal keeps it.
    let narrow = buffer_text(&draw(&app, 80, 24));
    assert!(narrow.contains("waiting for AWS (CreateStack) 45 s…"), "{narrow}");
    app.update(Action::Waiting(None));
    assert!(!line(&app).contains("waiting for AWS"), "{}", line(&app));
    assert!(app.unfinished_run().is_some_and(|w| w.contains("still running")), "leaving now is not a success");
}
