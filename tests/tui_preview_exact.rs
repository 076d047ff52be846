//! Exactness of the Preview: every resource id, every action and every trust principal of the
//! Plan appears in the rendered tabs (all pages scrolled through), at several terminal sizes.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is the failure report

mod tui_support;

use std::collections::BTreeSet;

use cloudgrant::tui::screens::preview::Tab;
use cloudgrant::tui::{Action, App};
use tui_support::*;

/// The text of every page of the current tab, scrolling with PageDown until the end.
fn all_pages(app: &mut App) -> String {
    app.update(Action::Home);
    let mut text = String::new();
    loop {
        let before = app.preview.scroll;
        text.push_str(&screen_text(app));
        app.update(Action::PageDown);
        if app.preview.scroll == before {
            break;
        }
    }
    text
}

/// Rendered text per tab at this size.
fn tabs_at(width: u16, height: u16) -> Vec<(Tab, String)> {
    let mut app = app_preview();
    app.update(Action::Resize(width, height));
    let mut out = Vec::new();
    for tab in Tab::ALL {
        assert_eq!(app.preview.tab, tab);
        out.push((tab, all_pages(&mut app)));
        app.update(Action::NextTab);
    }
    out
}

fn tab_text(tabs: &[(Tab, String)], tab: Tab) -> &str {
    &tabs.iter().find(|(t, _)| *t == tab).unwrap().1
}

fn check(width: u16, height: u16) {
    let plan = plan();
    let tabs = tabs_at(width, height);
    let resources = tab_text(&tabs, Tab::Resources);
    for g in &plan.groups {
        for r in &g.resources {
            assert!(resources.contains(&r.id), "{width}x{height}: resource {} missing", r.id);
            assert!(resources.contains(&r.type_), "{width}x{height}: type {} missing", r.type_);
        }
    }
    let permissions = tab_text(&tabs, Tab::Permissions);
    let mut actions = BTreeSet::new();
    for (_, p) in plan.permissions() {
        for a in &p.actions {
            actions.insert(a.as_str());
        }
        assert!(permissions.contains(&p.principal), "{width}x{height}: principal {} missing", p.principal);
    }
    assert!(actions.len() > 20, "the plan has many distinct actions");
    for a in &actions {
        // Each action on its own line: the line holds exactly this action.
        let found = permissions.lines().any(|l| l.trim_matches(|c| c == '│' || c == ' ').ends_with(a));
        assert!(found, "{width}x{height}: action {a} missing");
    }
    let trust = tab_text(&tabs, Tab::Trust);
    let mut principals = 0;
    for (_, p) in plan.trust() {
        assert!(trust.contains(&p.principal), "{width}x{height}: trust principal {} missing", p.principal);
        for a in &p.actions {
            assert!(trust.contains(a.as_str()), "{width}x{height}: trust action {a} missing");
        }
        principals += 1;
    }
    assert_eq!(principals, 2);
    assert!(trust.contains("sts:ExternalId") && trust.contains(EXTERNAL_ID), "the ExternalId condition is shown");
    let parameters = tab_text(&tabs, Tab::Parameters);
    for g in &plan.groups {
        for p in &g.parameters {
            assert!(parameters.contains(&p.name), "{width}x{height}: parameter {} missing", p.name);
        }
    }
}

#[test]
fn every_item_of_the_plan_is_on_screen_at_100x30() {
    check(100, 30);
}

#[test]
fn every_item_of_the_plan_is_on_screen_at_80x24() {
    check(80, 24);
}

#[test]
fn every_item_of_the_plan_is_on_screen_at_160x50() {
    check(160, 50);
}

#[test]
fn tab_titles_carry_the_counts() {
    let app = app_preview();
    let text = screen_text(&app);
    let p = plan();
    assert!(text.contains(&format!("Resources ({})", p.resource_count())));
    assert!(text.contains(&format!("Permissions ({})", p.permission_count())));
    assert!(text.contains(&format!("Trust ({})", p.trust().count())));
}
