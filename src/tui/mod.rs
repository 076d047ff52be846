//! Terminal UI: the full-screen wizard that grants a vendor access and takes it back.
//!
//! Layout: `action` (the Action and Command enums), `app` (state and `update`, the only place
//! state changes), `keymap` (keys → actions per screen, also the source of footer hints and
//! help), `screens` (one module per step: state, update, renderer), `widgets` (shared pieces, the
//! live run view), `theme` (named styles, NO_COLOR), `runtime` (the select! loop and the task
//! executor). Cloud work happens only in spawned tasks through `crate::cloud`.

pub mod action;
pub mod app;
mod finish;
pub mod glossary;
pub mod keymap;
pub mod runtime;
pub mod screens;
pub mod theme;
pub mod widgets;

pub use action::{Action, Command, Msg};
pub use app::{App, Flow};
pub use screens::{render, Screen};
pub use theme::Theme;

use color_eyre::eyre::eyre;

use crate::cloud::ConnectOptions;
use crate::vendor::VendorProfile;

/// What `main` passes to the wizard.
#[derive(Debug, Clone)]
pub struct TuiOptions {
    pub vendor: VendorProfile,
    /// `--sandbox`: offer only the sandbox.
    pub sandbox_only: bool,
    pub connect: ConnectOptions,
    /// Capture the mouse (wheel scrolls, a click selects a tab); off with `--no-mouse`.
    pub mouse: bool,
}

/// What the wizard leaves for the normal screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    /// Lines to print once the terminal is restored (the vendor's values, the receipt).
    pub report: Vec<String>,
    /// Set when the last apply or revoke failed or was left running: the exit is not a success.
    pub unfinished: Option<&'static str>,
    /// The signal from outside that ended the wizard (its name), if one did.
    pub stopped_by: Option<&'static str>,
}

/// Run the wizard on the terminal until the user quits; returns the lines to print on the normal
/// screen once it is restored (the vendor's values, the receipt). The terminal is restored on
/// every exit path; on panic, by the hook `ratatui::try_init` installs (after
/// `color_eyre::install`, which `main` calls first).
pub async fn run(opts: TuiOptions) -> color_eyre::Result<Exit> {
    let mut terminal = ratatui::try_init()
        .map_err(|e| eyre!("cannot start the full-screen UI: {e}. Use the plain commands (`cloudgrant --help`)."))?;
    if opts.mouse {
        // Without mouse capture the wizard still works by keys; say nothing if the terminal refuses.
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
    }
    let mut app = App::new(opts.vendor, opts.sandbox_only, Theme::from_env());
    app.receipts_dir = crate::receipts::store::dir().ok();
    let events = crossterm::event::EventStream::new();
    let result = runtime::event_loop(&mut terminal, app, opts.connect, events).await;
    if opts.mouse {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    }
    ratatui::restore();
    result.map(|app| Exit { report: app.exit_report(), unfinished: app.unfinished_run(), stopped_by: app.stopped_by })
}
