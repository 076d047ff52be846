//! Every screen at 120x40, 80x24 and 60x15 (snapshots), with what must hold at every size: the
//! footer's way to help, the vendor's values whole on one line (copying them is safe), the fate
//! words whole, nothing of a value split across lines.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is the failure report

mod tui_support;

use cloudgrant::tui::{Action, App, Screen};
use tui_support::*;

const SIZES: [(u16, u16); 3] = [(120, 40), (80, 24), (60, 15)];

#[test]
fn every_screen_at_three_sizes() {
    for (name, app) in screens() {
        for (w, h) in SIZES {
            let mut a = app.clone();
            a.update(Action::Resize(w, h));
            let text = screen_text(&a);
            let footer = text.lines().last().unwrap_or_default();
            assert!(footer.contains("? help") || footer.contains("close help"), "{name} {w}x{h}: footer `{footer}`");
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), without_pack_digest(&text));
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
    let p = plan();
    let inst = installation(&p);
    let values: Vec<String> = inst.for_vendor(&p.send_to_vendor).into_iter().filter_map(|(_, v)| v).collect();
    assert_eq!(values.len(), 2, "the role ARN and the ExternalId");
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
    let vpc = plan().groups.iter().find(|g| g.key == "vpc").map(|g| g.resources.len()).unwrap();
    assert!(text.contains(&format!("{vpc}/{vpc}")) && text.contains("CREATE_COMPLETE"), "{text}");
}

#[test]
fn at_60x15_the_chosen_target_and_who_cloudgrant_acts_as_stay_in_view() {
    for (w, h) in SIZES {
        // The Account screen, connected: the chosen account, the principal whole, what Enter does.
        let mut app = app_connected();
        app.update(Action::Resize(w, h));
        let text = screen_text(&app);
        let principal = identity().principal;
        assert!(text.lines().any(|l| l.contains(&principal)), "{w}x{h}: the principal whole on one line\n{text}");
        assert!(text.contains("> ") && text.contains("✓ connected"), "{w}x{h}: the connected choice\n{text}");
        assert!(text.contains("Enter: continue to Configure"), "{w}x{h}: what Enter does\n{text}");
        // The Cloud screen with the last target focused: it is in view, and the list says more is above.
        let mut cloud = new_app();
        cloud.start();
        feed(&mut cloud, [Action::Targets(targets()), Action::Select]);
        assert_eq!(cloud.screen, Screen::Cloud);
        let last = targets().len() - 1;
        for _ in 0..last {
            cloud.update(Action::Down);
        }
        cloud.update(Action::Resize(w, h));
        let text = screen_text(&cloud);
        let title = &targets()[cloud.cloud.selected].title;
        let head: String = title.chars().take(20).collect();
        assert!(
            text.lines().any(|l| l.starts_with(" > ") && l.contains(&head)),
            "{w}x{h}: the focused target `{title}` is in view\n{text}"
        );
        if (w, h) == (60, 15) {
            assert!(text.contains("↑ more above"), "{w}x{h}: the list says what is out of view\n{text}");
        }
    }
}

#[test]
fn what_to_type_and_what_cannot_be_undone_stay_on_the_revoke_confirmation_at_every_size() {
    let (_, app) = screens().into_iter().find(|(name, _)| *name == "type_confirm").expect("type_confirm");
    for (w, h) in SIZES {
        let mut a = app.clone();
        a.update(Action::Resize(w, h));
        let text = screen_text(&a).split_whitespace().collect::<Vec<_>>().join(" ");
        for words in [
            "Revoke Acme ML's access",
            "It cannot be undone.",
            "Type the org name (demo) to confirm:",
            "Nothing has been deleted.",
        ] {
            assert!(text.contains(words), "{w}x{h}: `{words}` missing: {text}");
        }
    }
}

#[test]
fn the_configure_fields_help_and_the_next_step_stay_whole_at_60x15() {
    let (_, app) = screens().into_iter().find(|(name, _)| *name == "configure").expect("configure");
    for (w, h) in SIZES {
        let mut a = app.clone();
        a.update(Action::Resize(w, h));
        let text = screen_text(&a).split_whitespace().collect::<Vec<_>>().join(" ");
        for words in [
            "lowercase letters, digits and hyphens, e.g. acme-research",
            "(nothing is created yet).",
            "creates (acmeml-<org>-…).",
        ] {
            assert!(text.contains(words), "{w}x{h}: `{words}` missing: {text}");
        }
    }
}

#[test]
fn an_install_and_its_status_share_one_row_at_every_size() {
    let (_, app) = screens().into_iter().find(|(name, _)| *name == "installs").expect("installs");
    for (w, h) in SIZES {
        let mut a = app.clone();
        a.update(Action::Resize(w, h));
        let text = screen_text(&a);
        let row = text.lines().find(|l| l.contains("> demo")).unwrap_or_default();
        assert!(row.contains("eu-west-1") && row.trim_end().ends_with("complete"), "{w}x{h}: `{row}`\n{text}");
        assert!(text.contains("123456789012"), "{w}x{h}: the account is named: {text}");
    }
}
