//! The wizard says what `status` and `init` say about an install's state (issue 11): the Installs
//! screen names the health, what is left outside the groups and the look-alikes in the words of
//! the plain output, and onboarding an install a revoke left half-done stops on a screen naming
//! both ways on, with their commands.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tui_support;

use cloudgrant::cli::render;
use cloudgrant::cloud::{init_refusal, ownership};
use cloudgrant::model::{Health, Leftover, Status};
use cloudgrant::tui::action::{Action, Command};
use cloudgrant::tui::screens::Screen;
use tui_support::*;

/// The fixture install after a revoke that stopped once the auth stack was gone.
fn half_revoked() -> cloudgrant::model::Installation {
    let mut inst = installation(&plan());
    inst.groups.retain(|g| g.key != "auth");
    for g in &mut inst.groups {
        g.status = Status::CreateComplete;
    }
    inst.health = Health::RevokeIncomplete {
        gone: vec!["acmeml-demo-auth".into()],
        standing: vec!["acmeml-demo-vpc".into(), "acmeml-demo-s3".into()],
    };
    inst.leftovers = vec![Leftover {
        type_: "AWS::KMS::Key".into(),
        physical_id: "datakey-phys".into(),
        state: "pending_deletion".into(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 12, 31),
        origin: "retained by acmeml-demo-auth, deleted 2026-12-01 10:00 UTC".into(),
        group: None,
        way: "To keep it: `cloudgrant init --org demo --restore`".into(),
        by_revoke: true,
    }];
    inst.strangers = vec![ownership::stranger(
        "stack",
        "prod-database",
        vec!["its name is none of this install's".into()],
        "aws cloudformation describe-stacks --stack-name prod-database".into(),
        "aws cloudformation delete-stack --stack-name prod-database".into(),
    )];
    inst
}

/// Text as it wraps on screen: words joined, so a sentence split over rows still matches.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_installs_screen_says_what_status_says() {
    let mut app = app_installs();
    let inst = half_revoked();
    feed(&mut app, [Action::Discovered(Ok(vec![inst.clone()]))]);
    app.size = (200, 40);
    let screen = words(&screen_text(&app));
    let plain = words(&render::installs_text(std::slice::from_ref(&inst)));
    for said in
        [inst.health.word().to_string(), inst.health.sentence(), inst.leftovers[0].line(), inst.strangers[0].line()]
    {
        let said = words(&said);
        assert!(plain.contains(&said), "status says {said:?}: {plain}");
        assert!(screen.contains(&said), "the screen says {said:?}: {screen}");
    }
}

#[test]
fn onboarding_a_half_revoked_install_stops_with_both_commands() {
    let mut app = app_connected();
    feed(&mut app, [Action::Select]);
    type_text(&mut app, "demo");
    let cmds = feed(&mut app, [Action::Select]);
    assert!(matches!(cmds.as_slice(), [Command::BuildPlan(_)]), "{cmds:?}");
    let refusal = init_refusal(&half_revoked(), false, "").expect("refused");
    feed(&mut app, [Action::Planned(Err(refusal))]);
    assert_eq!(app.screen, Screen::Preview);
    app.size = (160, 40);
    let screen = words(&screen_text(&app));
    assert!(screen.contains("half revoked") && screen.contains("datakey-phys"), "{screen}");
    assert!(screen.contains("cloudgrant revoke --org demo"), "finish the revoke: {screen}");
    assert!(screen.contains("cloudgrant init --org demo --restore"), "or restore: {screen}");
}
