//! `App::update` driven by keys and worker results: the state it reaches and the commands it
//! emits, screen by screen.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is the failure report

mod tui_support;

use cloudgrant::model::{Status, Update};
use cloudgrant::tui::keymap::{bindings, KeyContext};
use cloudgrant::tui::screens::configure::Field;
use cloudgrant::tui::{Action, Command, Flow, Screen, Theme};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Modifier;
use tui_support::*;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl_c() -> KeyEvent {
    KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
}

fn press(app: &mut cloudgrant::tui::App, codes: &[KeyCode]) -> Vec<Command> {
    codes.iter().flat_map(|c| app.handle_key(key(*c))).collect()
}

#[test]
fn start_loads_targets_and_defaults_to_the_sandbox() {
    let mut app = new_app();
    assert_eq!(app.start(), vec![Command::LoadTargets]);
    let mut list = targets();
    list.rotate_left(1); // the sandbox is not first: the default still picks it
    app.update(Action::Targets(list));
    assert!(app.cloud.targets[app.cloud.selected].sandbox);
}

#[test]
fn unavailable_targets_cannot_be_chosen() {
    let mut app = new_app();
    feed(&mut app, [Action::Targets(targets()), Action::Select]);
    assert_eq!(app.screen, Screen::Cloud);
    let cmds = press(&mut app, &[KeyCode::Char('j'), KeyCode::Enter]);
    assert!(cmds.is_empty());
    assert_eq!(app.screen, Screen::Cloud);
    assert!(app.cloud.message.as_deref().unwrap_or("").contains("cannot be chosen yet"));
    let cmds = press(&mut app, &[KeyCode::Up, KeyCode::Enter]);
    assert_eq!(cmds, vec![Command::LoadAccounts(targets()[0].clone())]);
    assert_eq!(app.screen, Screen::Account);
}

#[test]
fn choosing_an_account_connects_then_shows_who_we_are_before_going_on() {
    let mut app = new_app();
    feed(&mut app, [Action::Targets(targets()), Action::Select, Action::Select, Action::Accounts(accounts())]);
    let cmds = press(&mut app, &[KeyCode::Enter]);
    assert_eq!(cmds, vec![Command::ConnectAccount { target: targets()[0].clone(), account: accounts()[0].clone() }]);
    assert!(app.account.waiting());
    // Enter while connecting does nothing more.
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    app.update(Action::Connected(Ok(identity())));
    assert_eq!(app.screen, Screen::Account, "identity is shown before going on");
    assert!(screen_text(&app).contains(&identity().principal));
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    assert_eq!(app.screen, Screen::Configure);
}

#[test]
fn connect_errors_show_the_next_step_and_enter_retries() {
    let mut app = new_app();
    feed(
        &mut app,
        [Action::Targets(targets()), Action::Select, Action::Select, Action::Accounts(accounts()), Action::Select],
    );
    let err = cloudgrant::cloud::CloudError::failed("state unreadable", "Set CLOUDGRANT_SANDBOX_DIR.");
    app.update(Action::Connected(Err(err)));
    let text = screen_text(&app);
    assert!(text.contains("state unreadable") && text.contains("Next step: Set CLOUDGRANT_SANDBOX_DIR."), "{text}");
    let cmds = press(&mut app, &[KeyCode::Enter]);
    assert!(matches!(cmds.as_slice(), [Command::ConnectAccount { .. }]));
}

#[test]
fn configure_refuses_an_invalid_org_and_shows_why() {
    let mut app = app_connected();
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen, Screen::Configure);
    // Empty org: Enter emits nothing and the error appears.
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    assert_eq!(app.screen, Screen::Configure);
    assert!(screen_text(&app).contains("it is empty"));
    // `q` types into the field rather than quitting.
    press(&mut app, &[KeyCode::Char('A'), KeyCode::Char('q')]);
    assert_eq!(app.configure.org.value, "Aq");
    assert!(!app.quit);
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    let text = screen_text(&app);
    assert!(text.contains("`A` is uppercase"), "{text}");
    // Fix it: Enter builds the plan with the typed values.
    press(&mut app, &[KeyCode::Backspace, KeyCode::Backspace]);
    type_text(&mut app, "acme-research");
    let cmds = press(&mut app, &[KeyCode::Enter]);
    assert_eq!(
        cmds,
        vec![Command::BuildPlan(cloudgrant::plan::Choices {
            org: "acme-research".into(),
            region: "eu-west-1".into(),
            account: None,
            external_id: None
        })]
    );
    assert_eq!(app.screen, Screen::Preview);
}

#[test]
fn configure_checks_the_region_and_tab_switches_field() {
    let mut app = app_connected();
    press(&mut app, &[KeyCode::Enter]);
    type_text(&mut app, "demo");
    press(&mut app, &[KeyCode::Tab]);
    assert_eq!(app.configure.focus, Field::Region);
    app.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    type_text(&mut app, "europe");
    assert!(screen_text(&app).contains("it is not a region name"));
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    assert_eq!(app.screen, Screen::Configure);
}

#[test]
fn stale_plans_are_ignored() {
    let mut app = app_connected();
    press(&mut app, &[KeyCode::Enter]);
    type_text(&mut app, "other");
    press(&mut app, &[KeyCode::Enter]);
    app.update(Action::Planned(Ok(Box::new(plan())))); // built for org "demo"
    assert!(app.preview.plan.is_none());
    assert!(app.preview.loading);
}

#[test]
fn preview_tabs_and_scrolling_stay_in_bounds() {
    let mut app = app_preview();
    press(&mut app, &[KeyCode::End]);
    let end = app.preview.scroll[0];
    assert!(end > 0);
    press(&mut app, &[KeyCode::Down, KeyCode::PageDown]);
    assert_eq!(app.preview.scroll[0], end, "no scrolling past the end");
    press(&mut app, &[KeyCode::Home]);
    assert_eq!(app.preview.scroll[0], 0);
    press(&mut app, &[KeyCode::Tab, KeyCode::Tab]);
    assert!(screen_text(&app).contains("[Trust (2)]"));
    press(&mut app, &[KeyCode::Left]);
    assert!(screen_text(&app).contains("[Permissions (16)]"));
}

#[test]
fn confirm_defaults_to_no_and_only_create_deploys() {
    let mut app = app_preview();
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen, Screen::Confirm);
    assert!(!app.confirm.create, "safe default");
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    assert_eq!(app.screen, Screen::Preview, "Enter on No goes back");
    press(&mut app, &[KeyCode::Enter, KeyCode::Right]);
    let cmds = press(&mut app, &[KeyCode::Enter]);
    assert_eq!(cmds, vec![Command::Deploy(Box::new(plan()))]);
    assert_eq!(app.screen, Screen::Deploy);
    assert!(app.running());
}

#[test]
fn q_during_deploy_opens_the_modal_and_stay_is_the_default() {
    let mut app = app_deploying();
    for e in create_events(&plan()).into_iter().take(10) {
        app.update(Action::Update(e));
    }
    assert!(press(&mut app, &[KeyCode::Char('q')]).is_empty());
    assert!(app.modal.is_some());
    assert!(!app.quit);
    let text = screen_text(&app);
    assert!(text.contains("Still running: acmeml-demo-vpc"), "{text}");
    assert!(text.contains("cloudgrant status --cloud aws --org demo"), "{text}");
    // Enter on the default button stays.
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    assert!(app.modal.is_none() && !app.quit);
    // Ctrl-C opens it again; choosing Leave cancels the run and quits.
    assert!(app.handle_key(ctrl_c()).is_empty());
    let cmds = press(&mut app, &[KeyCode::Right, KeyCode::Enter]);
    assert_eq!(cmds, vec![Command::CancelRun, Command::Quit]);
    assert!(app.quit);
}

#[test]
fn the_leave_modal_stays_open_when_the_run_ends_under_it() {
    let mut app = app_deploying();
    press(&mut app, &[KeyCode::Char('q')]);
    app.update(Action::Update(Update::Applied { installation: installation(&plan()), ok: true, root_cause: None }));
    app.update(Action::ApplyDone(Ok(())));
    assert!(app.modal.is_some(), "a key meant for the modal must not reach the screen");
    assert!(screen_text(&app).contains("The deploy has finished: leaving now stops nothing."));
    press(&mut app, &[KeyCode::Esc]);
    assert!(app.modal.is_none());
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen, Screen::Done);
}

#[test]
fn a_second_ctrl_c_leaves_and_esc_stays() {
    let mut app = app_deploying();
    app.handle_key(ctrl_c());
    press(&mut app, &[KeyCode::Esc]);
    assert!(app.modal.is_none());
    app.handle_key(ctrl_c());
    assert_eq!(app.handle_key(ctrl_c()), vec![Command::CancelRun, Command::Quit]);
}

#[test]
fn quitting_when_nothing_runs_needs_no_modal() {
    let mut app = new_app();
    assert_eq!(press(&mut app, &[KeyCode::Char('q')]), vec![Command::Quit]);
    let mut app = app_deploying();
    app.update(Action::ApplyDone(Err(cloudgrant::cloud::CloudError::Cancelled)));
    assert_eq!(press(&mut app, &[KeyCode::Char('q')]), vec![Command::Quit]);
}

#[test]
fn deploy_tracks_every_event_and_continues_when_done() {
    let mut app = app_deploying();
    let p = plan();
    let events = create_events(&p);
    let n = events.len();
    for e in events {
        app.update(Action::Update(e));
    }
    let run = app.deploy.as_ref().unwrap();
    assert_eq!(run.events, n);
    assert_eq!(run.resources_done(), (p.resource_count(), p.resource_count()));
    assert!(run.groups.iter().all(|g| g.status == Some(Status::CreateComplete)));
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    assert_eq!(app.screen, Screen::Deploy, "not finished until Applied arrives");
    app.update(Action::Update(Update::Applied { installation: installation(&p), ok: true, root_cause: None }));
    app.update(Action::ApplyDone(Ok(())));
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen, Screen::Done);
    assert!(screen_text(&app).contains(EXTERNAL_ID));
}

#[test]
fn failed_deploy_shows_the_first_failure_and_retries() {
    let mut app = app_deploying();
    let auth = "acmeml-demo-auth";
    app.update(Action::Update(event(1, auth, "DataKey", "AWS::KMS::Key", Status::CreateFailed, Some("denied"))));
    app.update(Action::Update(event(
        2,
        auth,
        "VendorRole",
        "AWS::IAM::Role",
        Status::CreateFailed,
        Some("Resource creation cancelled"),
    )));
    app.update(Action::ApplyDone(Err(cloudgrant::cloud::CloudError::failed("stack failed", "Fix it."))));
    let run = app.deploy.as_ref().unwrap();
    assert_eq!(run.root_cause.as_ref().unwrap().resource, "DataKey");
    assert!(run.failed());
    let cmds = press(&mut app, &[KeyCode::Char('r')]);
    assert_eq!(cmds, vec![Command::Deploy(Box::new(plan()))]);
    assert!(app.running());
    assert_eq!(app.deploy.as_ref().unwrap().attempt, 2);
}

#[test]
fn worker_results_are_taken_under_the_help_overlay() {
    let mut app = app_deploying();
    press(&mut app, &[KeyCode::Char('?')]);
    assert!(app.help);
    app.update(Action::Update(event(1, "acmeml-demo-vpc", "Vpc", "AWS::EC2::VPC", Status::CreateInProgress, None)));
    assert_eq!(app.deploy.as_ref().unwrap().events, 1);
    // Keys go to the overlay, not the screen, until it closes.
    press(&mut app, &[KeyCode::Char('r')]);
    assert!(app.help);
    press(&mut app, &[KeyCode::Esc]);
    assert!(!app.help);
}

#[test]
fn revoke_flow_discovers_then_reviews() {
    let app = app_installs();
    assert_eq!(app.flow, Flow::Revoke);
    assert_eq!(app.installs.list.len(), 1);
    let text = screen_text(&app);
    assert!(text.contains("Step 4 of 8 · Installs"), "{text}");
}

#[test]
fn type_to_confirm_refuses_a_wrong_org() {
    let mut app = app_review();
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen, Screen::TypeConfirm);
    // Empty: refused (safe default).
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    type_text(&mut app, "Demo");
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    assert_eq!(app.screen, Screen::TypeConfirm);
    assert!(app.type_confirm.error.as_deref().unwrap().contains("is not `demo`"));
    app.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    type_text(&mut app, "demo");
    let cmds = press(&mut app, &[KeyCode::Enter]);
    let expected = revoke_plan(&installation(&plan()));
    assert_eq!(cmds, vec![Command::Revoke { plan: Box::new(expected), retain: vec![] }]);
    assert_eq!(app.screen, Screen::RevokeRun);
}

#[test]
fn revoke_retry_retains_the_delete_failed_resources() {
    let mut app = app_revoking();
    let vpc = "acmeml-demo-vpc";
    app.update(Action::Update(event(1, vpc, "SubnetA", "AWS::EC2::Subnet", Status::DeleteComplete, None)));
    app.update(Action::Update(event(2, vpc, "Vpc", "AWS::EC2::VPC", Status::DeleteFailed, Some("has dependencies"))));
    app.update(Action::Update(Update::Revoked { residue: residue(), ok: false, root_cause: None }));
    app.update(Action::RevokeDone(Ok(())));
    let cmds = press(&mut app, &[KeyCode::Char('r')]);
    let expected = revoke_plan(&installation(&plan()));
    assert_eq!(cmds, vec![Command::Revoke { plan: Box::new(expected), retain: vec!["Vpc".into()] }]);
    assert!(app.running());
    assert!(app.residue.residue.is_none(), "the old report is not shown as final");
}

#[test]
fn residue_report_after_revoke() {
    let mut app = app_revoking();
    app.update(Action::Update(Update::Revoked { residue: residue(), ok: true, root_cause: None }));
    app.update(Action::RevokeDone(Ok(())));
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen, Screen::Residue);
    let text = screen_text(&app);
    assert!(text.contains("pending deletion") && text.contains("2026-02-14") && text.contains("✗ failed"), "{text}");
    assert_eq!(press(&mut app, &[KeyCode::Enter]), vec![Command::Quit]);
}

#[test]
fn footer_hints_come_from_the_keymap() {
    let app = app_preview();
    let text = screen_text(&app);
    let footer = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    for b in bindings(KeyContext::Screen(Screen::Preview)).iter().filter(|b| b.hint) {
        assert!(footer.contains(&format!("{} {}", b.keys_label(), b.label)), "{footer} lacks {}", b.label);
    }
}

#[test]
fn help_overlay_lists_every_binding() {
    let mut app = app_preview();
    press(&mut app, &[KeyCode::Char('?')]);
    let text = screen_text(&app);
    for b in bindings(KeyContext::Screen(Screen::Preview)) {
        assert!(text.contains(b.label), "help lacks {}", b.label);
    }
}

#[test]
fn selection_is_visible_without_colour() {
    let mut app = new_app();
    app.theme = Theme::plain();
    let buf = draw(&app, 100, 30);
    let text = buffer_text(&buf);
    let y = text.lines().position(|l| l.contains("Grant access (onboard)")).unwrap() as u16;
    let x = text.lines().nth(y as usize).unwrap().find("Grant").unwrap() as u16;
    let cell = &buf[(x, y)];
    assert!(cell.modifier.contains(Modifier::REVERSED));
    assert_eq!(cell.fg, ratatui::style::Color::Reset);
}

#[test]
fn esc_goes_back_one_step() {
    let mut app = app_preview();
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen, Screen::Configure);
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen, Screen::Account);
    press(&mut app, &[KeyCode::Esc, KeyCode::Esc]);
    assert_eq!(app.screen, Screen::Welcome);
    // Back to Configure with the same values: the plan on screen is reused.
    let mut app = app_preview();
    press(&mut app, &[KeyCode::Esc]);
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    assert!(app.preview.plan.is_some());
}
