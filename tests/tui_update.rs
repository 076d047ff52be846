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
    feed(&mut app, [Action::Targets(targets()), Action::Select, Action::Select, Action::Accounts(Ok(accounts()))]);
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
        [Action::Targets(targets()), Action::Select, Action::Select, Action::Accounts(Ok(accounts())), Action::Select],
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
    assert!(screen_text(&app).contains("[Trust (2)]"), "the Preview opens on Trust");
    press(&mut app, &[KeyCode::Tab, KeyCode::Tab]);
    assert!(screen_text(&app).contains("[Resources (20)]"));
    let r = 2; // Resources: End selects the last resource and scrolls the list to its end
    press(&mut app, &[KeyCode::End]);
    let end = app.preview.scroll[r];
    assert!(end > 0);
    press(&mut app, &[KeyCode::Down, KeyCode::PageDown]);
    assert_eq!(app.preview.scroll[r], end, "no scrolling past the end");
    press(&mut app, &[KeyCode::Home]);
    assert_eq!(app.preview.scroll[r], 0);
    press(&mut app, &[KeyCode::Left]);
    assert!(screen_text(&app).contains("[Permissions (32 actions · 6 medium)]"));
    press(&mut app, &[KeyCode::Tab, KeyCode::Tab, KeyCode::Tab]);
    assert!(screen_text(&app).contains("[Trust (2)]"), "Tab wraps round");
}

/// The rows of the list box (inside its border), for key tests.
fn list_rows(app: &cloudgrant::tui::App) -> Vec<String> {
    let area = cloudgrant::tui::screens::preview::list_area(app).expect("the list shows");
    let text = screen_text(app);
    text.lines()
        .skip(area.top() as usize + 1)
        .take(area.height.saturating_sub(2) as usize)
        .map(|l| l.chars().skip(area.left() as usize + 1).take(area.width.saturating_sub(2) as usize).collect())
        .collect()
}

#[test]
fn arrows_move_the_selection_and_scroll_reaches_every_line() {
    let mut app = app_preview();
    app.update(Action::Resize(80, 24));
    press(&mut app, &[KeyCode::Tab]);
    assert_eq!(app.preview.selected[1], 0);
    assert!(list_rows(&app).iter().any(|l| l.starts_with("    > ec2:DescribeInstances ")), "{:?}", list_rows(&app));
    press(&mut app, &[KeyCode::Down, KeyCode::Char('j')]);
    assert_eq!(app.preview.selected[1], 2);
    assert!(list_rows(&app).iter().any(|l| l.starts_with("    > ec2:DescribeInstanceTypes ")));
    press(&mut app, &[KeyCode::Up]);
    assert_eq!(app.preview.selected[1], 1);
    // Down to the last line: the view follows, and the last line of the tab shows.
    for _ in 0..40 {
        press(&mut app, &[KeyCode::Down]);
        let rows = list_rows(&app);
        assert!(rows.iter().any(|l| l.starts_with("    > ")), "the selection stays in view: {rows:?}");
    }
    assert_eq!(app.preview.selected[1], 31, "32 lines, the last one selected");
    let text = screen_text(&app);
    let title = text.lines().find(|l| l.contains(" lines ")).unwrap();
    let (shown, total) = title.split_once(" of ").unwrap();
    assert!(shown.ends_with(total.split_whitespace().next().unwrap()), "the last line is on screen: {title}");
    assert!(text.contains("> s3:*"), "the refused action is the last line: {text}");
    // Up to the first: the headings above it show again.
    for _ in 0..40 {
        press(&mut app, &[KeyCode::Up]);
    }
    assert_eq!(app.preview.selected[1], 0);
    assert!(list_rows(&app)[0].starts_with("role acmeml-demo-vendor"), "{:?}", list_rows(&app));
    press(&mut app, &[KeyCode::End]);
    assert_eq!(app.preview.selected[1], 31);
    press(&mut app, &[KeyCode::Char('g')]);
    assert_eq!((app.preview.selected[1], app.preview.scroll[1]), (0, 0));
}

#[test]
fn filter_types_every_key_and_esc_clears_it_before_going_back() {
    let mut app = app_preview();
    press(&mut app, &[KeyCode::Tab, KeyCode::Char('/')]);
    assert!(app.preview.filter.editing);
    assert!(app.text_focus(), "characters go into the filter");
    // q, d and ? type rather than quit, open the detail or the help.
    press(&mut app, &[KeyCode::Char('q'), KeyCode::Char('d'), KeyCode::Char('?')]);
    assert_eq!(app.preview.filter.text, "qd?");
    assert!(!app.quit && !app.help && !app.preview.detail);
    press(&mut app, &[KeyCode::Backspace, KeyCode::Backspace, KeyCode::Backspace]);
    for c in "s3".chars() {
        press(&mut app, &[KeyCode::Char(c)]);
    }
    let text = screen_text(&app);
    assert!(text.contains("/ s3_ · 5 of 32"), "{text}");
    let footer = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(footer.contains("Enter done") && footer.contains("Esc clear filter"), "{footer}");
    let rows = list_rows(&app);
    let grants: Vec<&String> = rows.iter().filter(|l| l.starts_with("    > ") || l.starts_with("      s3:")).collect();
    assert_eq!(grants.len(), 5, "{rows:?}");
    assert!(!text.contains("ec2:") && !text.contains("kms:"), "{text}");
    // Enter keeps the filter; the keys are the list's again.
    press(&mut app, &[KeyCode::Enter]);
    assert!(!app.preview.filter.editing);
    assert_eq!(app.screen, Screen::Preview);
    assert!(screen_text(&app).contains("/ s3 · 5 of 32"));
    // The filter holds on the other tabs too.
    press(&mut app, &[KeyCode::Tab]);
    assert!(screen_text(&app).contains("/ s3 · 2 of 20"), "{}", screen_text(&app));
    // Esc clears it; a second Esc goes back.
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.preview.filter.text, "");
    assert_eq!(app.screen, Screen::Preview);
    assert!(!screen_text(&app).contains(" of 20 "));
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen, Screen::Configure);
}

#[test]
fn esc_while_typing_a_filter_clears_it() {
    let mut app = app_preview();
    press(&mut app, &[KeyCode::Char('/'), KeyCode::Char('k'), KeyCode::Char('m'), KeyCode::Char('s')]);
    assert!(screen_text(&app).contains("/ kms_ · 0 of 2"), "{}", screen_text(&app));
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.preview.filter, Default::default());
    assert_eq!(app.screen, Screen::Preview);
}

#[test]
fn r_cycles_the_risk_filter_and_typed_risk_words_do_the_same() {
    let mut app = app_preview();
    press(&mut app, &[KeyCode::Tab, KeyCode::Char('r')]);
    assert_eq!(app.preview.filter.text, "risk:high");
    assert!(screen_text(&app).contains("/ risk:high · 0 of 32"), "{}", screen_text(&app));
    press(&mut app, &[KeyCode::Char('r')]);
    assert_eq!(app.preview.filter.text, "risk:medium");
    assert!(screen_text(&app).contains("/ risk:medium · 6 of 32"));
    let rows = list_rows(&app);
    let grants: Vec<&String> = rows.iter().filter(|l| l.starts_with("    > ") || l.starts_with("      ")).collect();
    assert!(grants.iter().filter(|l| l.contains(':')).all(|l| l.contains("medium")), "{rows:?}");
    press(&mut app, &[KeyCode::Char('r')]);
    assert!(screen_text(&app).contains("/ risk:low · 11 of 32"), "{}", screen_text(&app));
    press(&mut app, &[KeyCode::Char('r')]);
    assert_eq!(app.preview.filter.text, "");
    // Typed: words and a risk level together.
    press(&mut app, &[KeyCode::Char('/')]);
    for c in "risk:med decrypt".chars() {
        press(&mut app, &[KeyCode::Char(c)]);
    }
    press(&mut app, &[KeyCode::Enter]);
    let text = screen_text(&app);
    assert!(text.contains("· 2 of 32"), "{text}");
    let footer = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(footer.contains("r risk filter"), "the footer names the key: {footer}");
}

#[test]
fn d_opens_the_detail_and_esc_closes_it_before_anything_else() {
    let mut app = app_preview();
    press(&mut app, &[KeyCode::Tab, KeyCode::Char('/')]);
    for c in "passrole".chars() {
        press(&mut app, &[KeyCode::Char(c)]);
    }
    press(&mut app, &[KeyCode::Enter, KeyCode::Char('d')]);
    assert!(app.preview.detail);
    let text = screen_text(&app);
    assert!(text.contains("Detail · ↑/↓ scroll · d/Esc closes"), "{text}");
    assert!(text.contains("written at  assets/aws/auth.yaml:127"), "{text}");
    assert!(text.contains("medium · privilege escalation: role acmeml-demo-vendor can give"), "{text}");
    let footer = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(footer.contains("d/Esc close detail"), "{footer}");
    // The arrows scroll the detail now, not the list.
    press(&mut app, &[KeyCode::Down, KeyCode::Down]);
    assert_eq!(app.preview.detail_scroll, 2);
    assert_eq!(app.preview.selected[1], 0);
    // Esc: the detail closes, then the filter clears, then back to Configure.
    press(&mut app, &[KeyCode::Esc]);
    assert!(!app.preview.detail);
    assert_eq!(app.preview.filter.text, "passrole");
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.preview.filter.text, "");
    assert_eq!(app.screen, Screen::Preview);
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen, Screen::Configure);
}

#[test]
fn the_detail_sits_beside_the_list_on_wide_terminals() {
    let mut app = app_preview();
    app.update(Action::Resize(120, 40));
    let text = screen_text(&app);
    assert!(text.contains("Detail · d to scroll it"), "{text}");
    assert!(text.contains("\"Sid\": \"VendorAccountWithExternalId\""), "the selected trust statement: {text}");
    // The selection moves the detail with it.
    press(&mut app, &[KeyCode::Down]);
    assert!(screen_text(&app).contains("\"Sid\": \"Ec2Instances\""), "{}", screen_text(&app));
    // d gives it the keys (the vendor's entry is longer than the pane); Enter still continues.
    press(&mut app, &[KeyCode::Up, KeyCode::Char('d'), KeyCode::PageDown]);
    assert!(app.preview.detail && app.preview.detail_scroll > 0);
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen, Screen::Confirm);
    // A resource's detail: its network and what is not done on purpose.
    let mut app = app_preview();
    app.update(Action::Resize(120, 40));
    press(&mut app, &[KeyCode::Tab, KeyCode::Tab]);
    let text = screen_text(&app);
    assert!(text.contains("Detail · d to scroll it") && text.contains("Vpc · AWS::EC2::VPC"), "{text}");
    assert!(text.contains("Not done, on purpose: nothing"), "{text}");
    // Parameters have no selection, hence no detail.
    press(&mut app, &[KeyCode::Tab]);
    assert!(!screen_text(&app).contains("Detail"));
    press(&mut app, &[KeyCode::Char('d')]);
    assert!(!app.preview.detail);
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

/// The review's plan as Google Cloud gives it: the data bucket kept with its object count.
fn gcp_revoke_plan() -> cloudgrant::model::RevokePlan {
    let mut p = revoke_plan(&installation(&plan()));
    p.installation.cloud = cloudgrant::model::Cloud::Gcp;
    for item in p.groups.iter_mut().flat_map(|g| g.resources.iter_mut()) {
        if item.id == "DataBucket" {
            item.type_ = "storage.googleapis.com/Bucket".into();
            item.physical_id = Some("p-demo-data".into());
            item.outcome = cloudgrant::model::RevokeOutcome::Kept {
                reason: "your data stays (3 objects, 1.1 GiB); cloudgrant never deletes data".into(),
            };
        }
    }
    p
}

#[test]
fn x_on_review_deletes_the_gcp_data_bucket_after_its_name_is_typed() {
    let mut app = app_review();
    feed(&mut app, [Action::RevokePlanned(Ok(Box::new(gcp_revoke_plan())))]);
    let text = screen_text(&app);
    assert!(text.contains("x  also empty and delete the data bucket: no"), "{text}");
    assert!(
        text.contains("x also delete the data bucket"),
        "the footer offers it on Google Cloud, in its words: {text}"
    );

    // x switches the bucket to deleted in the plan and the list; x again keeps it.
    press(&mut app, &[KeyCode::Char('x')]);
    let bucket = |app: &cloudgrant::tui::App| {
        let plan = app.review.plan.as_ref().unwrap();
        plan.items().find(|i| i.id == "DataBucket").unwrap().outcome.clone()
    };
    assert_eq!(bucket(&app), cloudgrant::model::RevokeOutcome::Deleted);
    let text = screen_text(&app);
    assert!(text.contains("data bucket: YES. p-demo-data (3 objects, 1.1 GiB)"), "{text}");
    assert!(text.contains("7 days"), "{text}");
    press(&mut app, &[KeyCode::Char('x')]);
    assert!(matches!(bucket(&app), cloudgrant::model::RevokeOutcome::Kept { .. }));
    press(&mut app, &[KeyCode::Char('x')]);

    // Confirm: the org name, then the bucket name.
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen, Screen::TypeConfirm);
    let text = screen_text(&app);
    assert!(text.contains("p-demo-data (3 objects, 1.1 GiB) is emptied and deleted too"), "{text}");
    type_text(&mut app, "demo");
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty(), "the org name alone does not start it");
    let text = screen_text(&app);
    assert!(text.contains("Also empty and delete the data bucket p-demo-data?"), "{text}");
    assert!(text.contains("This deletes 3 objects, 1.1 GiB; Google keeps them restorable for 7 days"), "{text}");
    type_text(&mut app, "demo");
    assert!(press(&mut app, &[KeyCode::Enter]).is_empty());
    assert!(app.type_confirm.error.as_deref().unwrap().contains("is not `p-demo-data`"));
    app.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    type_text(&mut app, "p-demo-data");
    let cmds = press(&mut app, &[KeyCode::Enter]);
    let [Command::Revoke { plan, retain }] = cmds.as_slice() else { panic!("{cmds:?}") };
    assert!(retain.is_empty());
    let item = plan.items().find(|i| i.id == "DataBucket").unwrap();
    assert_eq!(item.outcome, cloudgrant::model::RevokeOutcome::Deleted);
    assert_eq!(app.screen, Screen::RevokeRun);
}

#[test]
fn x_on_review_is_refused_for_aws_and_the_plan_is_unchanged() {
    let mut app = app_review();
    assert!(!screen_text(&app).contains("also delete (the x line)"));
    press(&mut app, &[KeyCode::Char('x')]);
    assert!(app.review.delete_data.is_empty());
    assert_eq!(app.review.plan, Some(revoke_plan(&installation(&plan()))));
    assert!(screen_text(&app).contains("retained by its template"));
    // Confirm still asks for the org name only.
    press(&mut app, &[KeyCode::Enter]);
    type_text(&mut app, "demo");
    assert!(matches!(press(&mut app, &[KeyCode::Enter]).as_slice(), [Command::Revoke { .. }]));
}
