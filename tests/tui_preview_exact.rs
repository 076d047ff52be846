//! Exactness of the Preview: every resource id, every action and every trust principal of the
//! Plan appears in the rendered tabs (all pages scrolled through), at several terminal sizes, and
//! the Permissions list shows no action the templates do not grant. The detail pane of every
//! line shows its statement whole (actions, resources, where it is written) and what a wildcard
//! stands for.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is the failure report

mod tui_support;

use std::collections::BTreeSet;

use cloudgrant::model::{PermissionKind, Plan};
use cloudgrant::permissions::{expand, AccessLevel};
use cloudgrant::tui::screens::preview::{self, Tab};
use cloudgrant::tui::{Action, App};
use ratatui::layout::Rect;
use tui_support::*;

/// The text inside a box of the current frame, one row per line.
fn pane_text(app: &App, area: Rect) -> String {
    let buf = draw(app, app.size.0, app.size.1);
    let mut out = String::new();
    for y in area.top() + 1..area.bottom().saturating_sub(1) {
        let mut line = String::new();
        for x in area.left() + 1..area.right().saturating_sub(1) {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The list box of the current tab, every page, scrolling with PageDown until the end.
fn all_pages(app: &mut App) -> String {
    app.update(Action::Home);
    let mut text = String::new();
    loop {
        let before = app.preview.scroll;
        text.push_str(&pane_text(app, preview::list_area(app).expect("the list shows")));
        app.update(Action::PageDown);
        if app.preview.scroll == before {
            break;
        }
    }
    text
}

/// The detail pane of the selected line, every page (opened with `d`, scrolled, closed).
fn detail_pages(app: &mut App) -> String {
    app.update(Action::Detail);
    assert!(app.preview.detail);
    let mut text = String::new();
    loop {
        let before = app.preview.detail_scroll;
        text.push_str(&pane_text(app, preview::detail_area(app).expect("the detail shows")));
        app.update(Action::PageDown);
        if app.preview.detail_scroll == before {
            break;
        }
    }
    app.update(Action::Detail);
    assert!(!app.preview.detail);
    text
}

/// Rendered list text per tab at this size.
fn tabs_at(width: u16, height: u16) -> Vec<(Tab, String)> {
    tabs_of(app_preview(), width, height)
}

/// Rendered list text per tab of this app's preview at this size.
fn tabs_of(mut app: App, width: u16, height: u16) -> Vec<(Tab, String)> {
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

/// The action of each grant line of the Permissions list: the word after the four-column indent
/// and the two-column selection marker (headings and continuation lines do not have that shape).
fn grant_rows(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let c: Vec<char> = l.chars().collect();
            let shaped = c.len() > 6
                && c[..4].iter().all(|x| *x == ' ')
                && (c[4..6] == [' ', ' '] || c[4..6] == ['>', ' '])
                && c[6] != ' ';
            shaped.then(|| c[6..].iter().collect::<String>().split_whitespace().next().unwrap_or("").to_string())
        })
        .collect()
}

/// The actions the Permissions tab must list: those of every statement but trust.
fn granted_actions(plan: &Plan) -> BTreeSet<String> {
    plan.permissions().filter(|(_, p)| p.kind != PermissionKind::Trust).flat_map(|(_, p)| p.actions.clone()).collect()
}

fn check(width: u16, height: u16) {
    let plan = plan();
    assert!(granted_actions(&plan).len() > 20, "the plan has many distinct actions");
    assert_eq!(plan.trust().count(), 2);
    check_plan(&plan, tabs_at(width, height), width, height);
}

/// Every pack of the repository with AWS templates (the bundled `assets/` and each `examples/*`),
/// as the preview shows it.
fn pack_plans() -> Vec<Plan> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("assets")];
    let mut examples: Vec<_> =
        std::fs::read_dir(root.join("examples")).expect("examples/").map(|e| e.expect("entry").path()).collect();
    examples.sort();
    dirs.extend(examples);
    dirs.iter()
        .filter(|d| d.join("aws/stacks.toml").is_file())
        .map(|d| {
            let vendor = cloudgrant::vendor::VendorProfile::load(d).expect("pack");
            cloudgrant::plan::aws::build(&vendor, &choices()).expect("plan")
        })
        .collect()
}

fn check_plan(plan: &Plan, tabs: Vec<(Tab, String)>, width: u16, height: u16) {
    let resources = tab_text(&tabs, Tab::Resources);
    for g in &plan.groups {
        for r in &g.resources {
            assert!(resources.contains(&r.id), "{width}x{height}: resource {} missing", r.id);
            assert!(resources.contains(&r.type_), "{width}x{height}: type {} missing", r.type_);
        }
    }
    let permissions = tab_text(&tabs, Tab::Permissions);
    let expected = granted_actions(plan);
    let shown: BTreeSet<String> = grant_rows(permissions).into_iter().collect();
    for a in &expected {
        assert!(shown.contains(a), "{width}x{height}: action {a} missing from the Permissions list:\n{permissions}");
    }
    for a in &shown {
        assert!(expected.contains(a), "{width}x{height}: {a} is on the Permissions list but no template grants it");
    }
    for (_, p) in plan.permissions().filter(|(_, p)| p.kind != PermissionKind::Trust) {
        assert!(permissions.contains(&p.principal), "{width}x{height}: principal {} missing", p.principal);
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
    // Pages overlap at the end: count distinct lines (without the selection marker).
    let entries: BTreeSet<&str> =
        trust.lines().filter(|l| l.contains(" may act as ")).map(|l| l.trim_start_matches(['>', ' '])).collect();
    assert_eq!(entries.len(), principals, "{width}x{height}: one entry per trust statement: {entries:?}");
    if plan.trust().any(|(_, p)| p.conditions.pointer("/StringEquals/sts:ExternalId").is_some()) {
        assert!(trust.contains("sts:ExternalId") && trust.contains(EXTERNAL_ID), "the ExternalId condition is shown");
    }
    assert!(tab_text(&tabs, Tab::Parameters).contains(&plan.pack_sha256), "the pack's digest is shown");
    let parameters = tab_text(&tabs, Tab::Parameters);
    for g in &plan.groups {
        for p in &g.parameters {
            assert!(parameters.contains(&p.name), "{width}x{height}: parameter {} missing", p.name);
        }
    }
}

#[test]
fn every_item_of_every_packs_plan_is_on_screen() {
    let plans = pack_plans();
    assert!(plans.len() >= 2, "the bundled pack and the examples");
    for plan in plans {
        for (w, h) in [(80, 24), (120, 40)] {
            let tabs = tabs_of(app_preview_with(plan.clone()), w, h);
            check_plan(&plan, tabs, w, h);
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
fn every_grant_line_is_one_action_of_the_plan_once_per_level() {
    // Every grant of the review has its line: a statement's action once per access level it spans.
    let mut app = app_preview();
    app.update(Action::NextTab);
    let rows = grant_rows(&all_pages(&mut app));
    let review = cloudgrant::permissions::review(&plan());
    let grants: usize =
        review.principals.iter().flat_map(|p| &p.services).flat_map(|s| &s.levels).map(|l| l.grants.len()).sum();
    let refused: usize = review.protections.iter().map(|d| d.actions.len()).sum();
    // Pages overlap at the end; the selection walk below counts each line once.
    assert!(rows.len() >= grants + refused);
    let mut seen = 0;
    app.update(Action::Home);
    loop {
        seen += 1;
        let before = app.preview.selected;
        app.update(Action::Down);
        if app.preview.selected == before {
            break;
        }
    }
    assert_eq!(seen, grants + refused, "one selectable line per grant and per action refused");
    assert_eq!(seen, 32);
}

#[test]
fn the_detail_of_every_line_shows_its_statement_and_where_it_is_written() {
    let plan = plan();
    for (width, height) in [(80, 24), (120, 40)] {
        let mut app = app_preview();
        app.update(Action::Resize(width, height));
        for tab in [Tab::Trust, Tab::Permissions] {
            assert_eq!(app.preview.tab, tab);
            app.update(Action::Home);
            let mut statements = BTreeSet::new();
            loop {
                let text = detail_pages(&mut app);
                let flat = text.split_whitespace().collect::<String>();
                // Which statement: its Sid is in the JSON (which may wrap: compare without spaces).
                let (_, p) = plan
                    .permissions()
                    .find(|(_, p)| p.sid.as_ref().is_some_and(|s| flat.contains(&format!("\"Sid\":\"{s}\""))))
                    .unwrap_or_else(|| panic!("{width}x{height}: no statement in the detail:\n{text}"));
                statements.insert(p.sid.clone());
                let src = p.source.as_ref().expect("every statement of the fixture has a source");
                assert!(text.contains(&format!("written at  assets/{}:{}", src.file, src.line)), "{text}");
                for a in p.actions.iter().chain(&p.resources) {
                    // JSON strings may wrap: compare without whitespace.
                    assert!(
                        flat.contains(&format!("\"{a}\"")),
                        "{width}x{height}: {a} missing from the detail:\n{text}"
                    );
                }
                // The flags that concern the line's action (the first word of the detail), explained.
                let action = text.split_whitespace().next().unwrap_or("");
                for r in p
                    .risks
                    .iter()
                    .filter(|r| tab == Tab::Trust || r.actions.is_empty() || r.actions.iter().any(|a| a == action))
                {
                    let flag = format!("{} · {}: ", r.severity, r.kind.label());
                    assert!(text.contains(&flag), "{width}x{height}: flag {flag} missing:\n{text}");
                }
                let before = app.preview.selected;
                app.update(Action::Down);
                if app.preview.selected == before {
                    break;
                }
            }
            let expected = plan.permissions().filter(|(_, p)| (p.kind == PermissionKind::Trust) == (tab == Tab::Trust));
            assert_eq!(statements.len(), expected.count(), "{width}x{height}: every statement has a line on {tab:?}");
            app.update(Action::NextTab);
        }
    }
}

#[test]
fn a_wildcard_line_counts_its_actions_and_the_detail_lists_them() {
    let mut app = app_preview();
    app.update(Action::Resize(80, 24));
    app.update(Action::NextTab);
    let kms: Vec<String> = expand(cloudgrant::model::Cloud::Aws, "kms:*")
        .actions
        .into_iter()
        .filter(|(_, l)| *l == AccessLevel::Write)
        .map(|(a, _)| a)
        .collect();
    assert!(kms.len() > 20);
    let line = format!("kms:* → {} actions", kms.len());
    // Select the kms:* line of the Write level.
    loop {
        let list = pane_text(&app, preview::list_area(&app).unwrap());
        if list.lines().any(|l| l.contains(&format!("> {line}"))) {
            break;
        }
        let before = app.preview.selected;
        app.update(Action::Down);
        assert_ne!(app.preview.selected, before, "no line {line}");
    }
    let detail = detail_pages(&mut app);
    assert!(detail.contains(&format!("kms:* stands for {} Write actions", kms.len())), "{detail}");
    for a in &kms {
        assert!(detail.lines().any(|l| l.trim() == a), "{a} missing from the list of kms:*");
    }
}

#[test]
fn tab_titles_carry_the_counts() {
    let app = app_preview();
    let text = screen_text(&app);
    let p = plan();
    assert!(text.contains(&format!("Resources ({})", p.resource_count())));
    assert!(text.contains("Permissions (32 actions · 6 medium)"), "the tab names what it counts: {text}");
    assert!(text.contains(&format!("[Trust ({})]", p.trust().count())), "the Preview opens on Trust: {text}");
    let order = ["Trust (", "Permissions (", "Resources (", "Parameters ("].map(|t| text.find(t).unwrap());
    assert!(order.windows(2).all(|w| w[0] < w[1]), "Trust first, then Permissions, Resources, Parameters");
}

/// The Google Cloud plan: every permission of every binding is on the Permissions list (and nothing
/// else), the vendor's act-as binding is on the Trust tab, every resource on the Resources tab.
#[test]
fn every_gcp_permission_is_on_screen_and_nothing_else() {
    let choices = cloudgrant::plan::Choices {
        org: "demo".into(),
        region: "europe-west1".into(),
        account: Some("acme-prod-123".into()),
        external_id: None,
    };
    let mut plan = cloudgrant::plan::gcp::build(&vendor(), &choices).expect("gcp plan");
    // The harness walks the AWS-configured wizard, whose Preview takes only the plan for the
    // region typed there; the names inside the plan keep europe-west1.
    plan.region = "eu-west-1".into();
    for (w, h) in [(80, 24), (120, 40)] {
        let tabs = tabs_of(app_preview_with(plan.clone()), w, h);
        let expected = granted_actions(&plan);
        let shown: BTreeSet<String> = grant_rows(tab_text(&tabs, Tab::Permissions)).into_iter().collect();
        assert_eq!(shown, expected, "{w}x{h}: the Permissions list is exactly the bindings' permissions");
        let trust = tab_text(&tabs, Tab::Trust);
        for (_, p) in plan.trust() {
            for a in &p.actions {
                assert!(trust.contains(a.as_str()), "{w}x{h}: trust action {a} missing:\n{trust}");
            }
        }
        assert!(trust.contains("acmeml-control@acmeml-prod.iam.gserviceaccount.com"), "{w}x{h}: the vendor is named");
        let resources = tab_text(&tabs, Tab::Resources);
        for r in plan.groups.iter().flat_map(|g| &g.resources) {
            assert!(resources.contains(&r.id), "{w}x{h}: resource {} missing", r.id);
        }
    }
}

/// Every resource's detail, AWS and Azure, at two sizes: its id, its network where the template
/// restricts one, and each scanner check set aside on purpose with the template's reason.
#[test]
fn the_detail_of_every_resource_shows_its_network_and_what_is_not_done_on_purpose() {
    for make in [app_preview as fn() -> App, tui_support::app_preview_azure] {
        for (width, height) in [(80, 24), (120, 40)] {
            let mut app = make();
            let plan = app.preview.plan.clone().expect("a plan");
            app.update(Action::Resize(width, height));
            app.update(Action::NextTab);
            app.update(Action::NextTab);
            assert_eq!(app.preview.tab, Tab::Resources);
            app.update(Action::Home);
            let mut seen = BTreeSet::new();
            loop {
                let text = detail_pages(&mut app);
                let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let first = text.split_whitespace().next().unwrap_or("").to_string();
                let r = plan
                    .groups
                    .iter()
                    .flat_map(|g| &g.resources)
                    .find(|r| r.id == first)
                    .unwrap_or_else(|| panic!("{width}x{height}: no resource heads the detail:\n{text}"));
                if let Some(n) = &r.network {
                    assert!(words.contains(&format!("network {n}")), "{width}x{height}: {}'s network:\n{text}", r.id);
                }
                if r.exceptions.is_empty() {
                    assert!(words.contains("Not done, on purpose: nothing"), "{width}x{height}:\n{text}");
                }
                for e in &r.exceptions {
                    let line = format!("Not done, on purpose: {} (checkov {})", e.reason, e.check);
                    assert!(words.contains(&line), "{width}x{height}: {} lacks `{line}`:\n{text}", r.id);
                }
                seen.insert(r.id.clone());
                let before = app.preview.selected;
                app.update(Action::Down);
                if app.preview.selected == before {
                    break;
                }
            }
            assert_eq!(seen.len(), plan.resource_count(), "{width}x{height}: every resource has a line and a detail");
        }
    }
}
