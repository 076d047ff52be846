//! The one `Action` enum (everything that can change the UI state: keys after the keymap, the
//! clock, worker results) and the `Command` enum (side effects the runtime performs for `update`).
//!
//! Policy: `App::update(Action) -> Vec<Command>` is the only place state changes; commands are
//! run by the runtime in spawned tasks whose results come back as actions, never awaited in the
//! draw loop.

use std::time::Duration;

use crate::cloud::{AccountChoice, CloudError, Identity, Provider, Target};
use crate::model::{Installation, Plan, RevokePlan, Update};
use crate::plan::Choices;

/// Everything `App::update` reacts to.
// Worker results (an applied install, with its health and leftovers) are larger than key actions;
// they arrive a few times per run, so boxing them would only add indirection to every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    // Keys, after the screen's keymap.
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Left,
    Right,
    NextTab,
    PrevTab,
    /// Enter: choose, continue, confirm.
    Select,
    /// Esc: one step back (or close the overlay).
    Back,
    Quit,
    /// Ctrl-C: quit, or ask first while something is running.
    Interrupt,
    ToggleHelp,
    Retry,
    /// Preview: open or close the detail of the selected line.
    Detail,
    /// Preview: start typing a filter.
    Filter,
    /// Preview: cycle the risk filter (high, medium, low, off).
    CycleRisk,
    /// Review: also empty and delete the data bucket (Google Cloud), or keep it (the default).
    ToggleDeleteData,
    /// A printable character for the focused text field.
    Input(char),
    Backspace,
    ClearInput,

    /// A mouse click at (column, row): selects a Preview tab.
    Click(u16, u16),

    // The runtime.
    /// Time since the program started (drives the spinner and elapsed clocks).
    Tick(Duration),
    Resize(u16, u16),
    /// A cloud call that has been waiting long ("waiting for AWS (CreateStack) 45 s…"), or none.
    Waiting(Option<String>),

    // Worker results.
    Targets(Vec<Target>),
    Accounts(Result<Vec<AccountChoice>, CloudError>),
    Connected(Result<Identity, CloudError>),
    Planned(Result<Box<Plan>, CloudError>),
    /// What applying the plan would change in groups that exist (change sets), after `Planned`.
    Changes(Result<Vec<crate::model::GroupChanges>, CloudError>),
    /// One message of a running apply or revoke, in order.
    Update(Update),
    /// `Provider::apply` returned (after every `Update` it sent).
    ApplyDone(Result<(), CloudError>),
    Discovered(Result<Vec<Installation>, CloudError>),
    RevokePlanned(Result<Box<RevokePlan>, CloudError>),
    /// `Provider::revoke` returned (after every `Update` it sent).
    RevokeDone(Result<(), CloudError>),
    /// The receipt of the run was written (its JSON file), or why not.
    ReceiptWritten(Result<std::path::PathBuf, String>),
}

/// Side effects requested by `update`, executed by the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    LoadTargets,
    LoadAccounts(Target),
    /// `cloud::connect`, then `Provider::identity`.
    ConnectAccount {
        target: Target,
        account: AccountChoice,
    },
    BuildPlan(Choices),
    Deploy(Box<Plan>),
    Discover,
    BuildRevokePlan(Box<Installation>),
    Revoke {
        plan: Box<RevokePlan>,
        retain: Vec<String>,
    },
    /// Stop waiting for the running apply/revoke (the cloud carries on, as CloudFormation does).
    CancelRun,
    /// Write this receipt (JSON and Markdown) into the directory.
    WriteReceipt {
        receipt: Box<crate::receipts::Receipt>,
        dir: std::path::PathBuf,
    },
    Quit,
}

/// What travels from worker tasks to the main loop, in order, over one channel.
#[allow(clippy::large_enum_variant)] // an Action, as above
#[derive(Debug)]
pub enum Msg {
    Action(Action),
    /// A connected provider, sent just before its `Action::Connected`; the runtime keeps it so
    /// the app state stays plain data.
    Provider(Box<Provider>),
}

impl From<Action> for Msg {
    fn from(a: Action) -> Msg {
        Msg::Action(a)
    }
}
