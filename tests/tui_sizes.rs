//! Every screen at 120x40, 80x24 and 60x15 (snapshots), with what must hold at every size: the
//! footer's way to help, the vendor's values whole on one line (copying them is safe), the fate
//! words whole, nothing of a value split across lines.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is the failure report

mod tui_support;

use cloudgrant::model::{Status, Update};
use cloudgrant::tui::{Action, App, Screen};
use tui_support::*;

const SIZES: [(u16, u16); 3] = [(120, 40), (80, 24), (60, 15)];

fn deploy_done() -> App {
    let mut app = app_deploying();
    let p = plan();
    for e in create_events(&p) {
        app.update(Action::Update(e));
    }
    app.update(Action::Update(Update::Applied { installation: installation(&p), ok: true, root_cause: None }));
    app.update(Action::ApplyDone(Ok(())));
    app
}

fn revoke_done() -> App {
    let mut app = app_revoking();
    let inst = installation(&plan());
    let mut s = 0;
    for g in &inst.groups {
        app.update(Action::Update(event(
            s,
            &g.name,
            &g.name,
            "AWS::CloudFormation::Stack",
            Status::DeleteInProgress,
            None,
        )));
        for r in &g.resources {
            s += 1;
            let st =
                if r.id == "DataBucket" || r.id == "DataKey" { Status::DeleteSkipped } else { Status::DeleteComplete };
            app.update(Action::Update(event(s, &g.name, &r.id, &r.type_, Status::DeleteInProgress, None)));
            app.update(Action::Update(event(s, &g.name, &r.id, &r.type_, st, Some("Resource deletion skipped: the stack retains it (DeletionPolicy: Retain), cloudgrant schedules what must go"))));
        }
        app.update(Action::Update(event(
            s,
            &g.name,
            &g.name,
            "AWS::CloudFormation::Stack",
            Status::DeleteComplete,
            None,
        )));
    }
    app.update(Action::Update(Update::Revoked { residue: residue(), ok: true, root_cause: None }));
    app.update(Action::RevokeDone(Ok(())));
    app
}

/// Every screen of both flows, by name.
fn screens() -> Vec<(&'static str, App)> {
    let mut out: Vec<(&str, App)> = vec![("welcome", new_app())];
    let mut cloud = new_app();
    cloud.start();
    feed(&mut cloud, [Action::Targets(targets())]);
    out.push(("cloud", cloud));
    out.push(("account", app_connected()));
    let mut configure = app_connected();
    feed(&mut configure, [Action::Select]);
    type_text(&mut configure, "demo");
    out.push(("configure", configure));
    let mut p = app_preview();
    out.push(("preview_trust", p.clone()));
    feed(&mut p, [Action::NextTab]);
    out.push(("preview_permissions", p.clone()));
    feed(&mut p, [Action::NextTab]);
    out.push(("preview_resources", p.clone()));
    feed(&mut p, [Action::NextTab]);
    out.push(("preview_parameters", p));
    let mut confirm = app_preview();
    feed(&mut confirm, [Action::Select]);
    out.push(("confirm", confirm));
    let mut running = app_deploying();
    for e in create_events(&plan()).into_iter().take(30) {
        running.update(Action::Update(e));
    }
    out.push(("deploy_running", running));
    out.push(("deploy_finished", deploy_done()));
    let mut done = deploy_done();
    feed(&mut done, [Action::Select]);
    out.push(("done", done));
    out.push(("installs", app_installs()));
    out.push(("review", app_review()));
    let mut tc = app_review();
    feed(&mut tc, [Action::Select]);
    out.push(("type_confirm", tc));
    out.push(("revoke_finished", revoke_done()));
    let mut report = revoke_done();
    feed(&mut report, [Action::Select]);
    out.push(("report", report));
    let mut help = app_preview();
    feed(&mut help, [Action::ToggleHelp]);
    out.push(("help", help));
    out
}

#[test]
fn every_screen_at_three_sizes() {
    for (name, app) in screens() {
        for (w, h) in SIZES {
            let mut a = app.clone();
            a.update(Action::Resize(w, h));
            let text = screen_text(&a);
            let footer = text.lines().last().unwrap_or_default();
            assert!(footer.contains("? help") || footer.contains("close help"), "{name} {w}x{h}: footer `{footer}`");
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
        }
    }
}

/// Everything a screen shows, scrolled through with ↓ until it stops moving.
fn scrolled(app: &mut App) -> String {
    let mut all = screen_text(app);
    for _ in 0..60 {
        let before = screen_text(app);
        app.update(Action::Down);
        let after = screen_text(app);
        if after == before {
            break;
        }
        all.push_str(&after);
    }
    all
}

#[test]
fn the_vendors_values_are_whole_on_one_line_at_80x24_and_scroll_into_view_at_60x15() {
    let inst = installation(&plan());
    let values: Vec<String> = inst.for_vendor().into_iter().filter_map(|(_, v)| v).collect();
    for (w, h) in SIZES {
        let mut done = deploy_done();
        feed(&mut done, [Action::Select]);
        assert_eq!(done.screen, Screen::Done);
        done.update(Action::Resize(w, h));
        let text = scrolled(&mut done);
        for v in &values {
            assert!(text.lines().any(|l| l.contains(v.as_str())), "{w}x{h}: `{v}` whole on one line\n{text}");
        }
        assert!(text.contains("To revoke later"), "{w}x{h}: Done scrolls to its end\n{text}");
        let mut confirm = app_preview();
        feed(&mut confirm, [Action::Select]);
        confirm.update(Action::Resize(w, h));
        let text = scrolled(&mut confirm);
        assert!(text.lines().any(|l| l.contains(EXTERNAL_ID)), "{w}x{h}: ExternalId whole\n{text}");
        assert!(text.contains("Revoke takes it all back."), "{w}x{h}: Confirm's last sentence\n{text}");
    }
}

#[test]
fn the_welcome_steps_and_the_resources_revoke_words_show_at_80x24() {
    let mut app = new_app();
    app.update(Action::Resize(80, 24));
    let text = screen_text(&app);
    assert!(text.contains("1 Welcome") && text.contains("8 Done"), "{text}");
    let mut p = app_preview();
    p.update(Action::Resize(80, 24));
    feed(&mut p, [Action::NextTab, Action::NextTab]);
    let text = screen_text(&p);
    assert!(text.contains("on revoke deleted"), "{text}");
    assert!(!text.contains("on revoke: d\n"), "{text}");
}

#[test]
fn deploy_statuses_and_counts_are_whole_at_80x24() {
    let mut app = app_deploying();
    app.update(Action::Resize(80, 24));
    for e in create_events(&plan()).into_iter().take(30) {
        app.update(Action::Update(e));
    }
    let text = screen_text(&app);
    assert!(text.contains("11/11") && text.contains("CREATE_COMPLETE"), "{text}");
}
