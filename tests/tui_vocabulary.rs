//! One vocabulary: for a revoke plan with every fate, the review, the live revoke list, the
//! report and the plain output say the same word (with its date) for each resource, and nothing
//! in the review carries a ✓ before it happened.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is the failure report

mod tui_support;

use chrono::NaiveDate;
use cloudgrant::cli::render;
use cloudgrant::model::{
    Check, Cloud, Installation, Residue, ResidueItem, RevokeGroup, RevokeItem, RevokeOutcome, RevokePlan, Status,
    Update,
};
use cloudgrant::tui::{Action, Screen};
use tui_support::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 2, d).unwrap()
}

/// (logical id, type, physical id, outcome, the words every output must use, the residue state
/// it leaves, the event status revoke reports for it)
type Case = (&'static str, &'static str, &'static str, RevokeOutcome, &'static str, Option<&'static str>, Status);

fn cases() -> Vec<Case> {
    vec![
        (
            "VendorRole",
            "AWS::IAM::Role",
            "acmeml-demo-vendor",
            RevokeOutcome::Deleted,
            "deleted",
            None,
            Status::DeleteComplete,
        ),
        (
            "DataBucket",
            "AWS::S3::Bucket",
            "acmeml-demo-data",
            RevokeOutcome::Kept { reason: "your data stays".into() },
            "kept (with your data)",
            Some("kept"),
            Status::DeleteSkipped,
        ),
        (
            "ComputeApi",
            "serviceusage.googleapis.com/Service",
            "compute.googleapis.com",
            RevokeOutcome::Kept { reason: "stays enabled".into() },
            "kept",
            Some("kept"),
            Status::DeleteSkipped,
        ),
        (
            "DataKey",
            "AWS::KMS::Key",
            "1111-2222",
            RevokeOutcome::ScheduledDeletion {
                date: day(14),
                days: 30,
                way_back: "aws kms cancel-key-deletion".into(),
            },
            "scheduled for deletion (2026-02-14)",
            Some("pending_deletion"),
            Status::DeleteSkipped,
        ),
        (
            "Vault",
            "Microsoft.KeyVault/vaults",
            "acmeml-kv-x1y2z3w4",
            RevokeOutcome::SoftDeleted { until: Some(day(22)), note: "recoverable".into() },
            "soft-deleted (restorable until 2026-02-22)",
            Some("soft_deleted"),
            Status::DeleteComplete,
        ),
        (
            "DataDeployment",
            "Microsoft.Resources/deployments",
            "data-storage",
            RevokeOutcome::Detached { reason: "the stack lets go of it".into() },
            "detached",
            Some("detached"),
            Status::DeleteSkipped,
        ),
    ]
}

fn plan_and_residue() -> (RevokePlan, Residue) {
    let inst = Installation { groups: Vec::new(), ..installation(&plan()) };
    let items = cases()
        .into_iter()
        .map(|(id, t, phys, outcome, ..)| RevokeItem {
            id: id.into(),
            type_: t.into(),
            physical_id: Some(phys.into()),
            outcome,
        })
        .collect();
    let plan = RevokePlan {
        installation: inst,
        groups: vec![RevokeGroup {
            key: "auth".into(),
            name: "acmeml-demo-auth".into(),
            id: "x".into(),
            resources: items,
        }],
        warnings: Vec::new(),
        leftovers: Vec::new(),
    };
    let residue = Residue {
        cloud: Cloud::Aws,
        org: "demo".into(),
        account: ACCOUNT.into(),
        finished: at(600),
        items: cases()
            .into_iter()
            .filter_map(|(_, t, phys, _, _, state, _)| {
                state.map(|s| ResidueItem {
                    type_: t.into(),
                    physical_id: phys.into(),
                    state: s.into(),
                    note: "as the cloud says".into(),
                })
            })
            .collect(),
        checks: vec![Check { what: "role gone".into(), ok: true, detail: "NoSuchEntity".into() }],
    };
    (plan, residue)
}

fn line_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

#[test]
fn the_review_the_progress_the_report_and_plain_output_say_the_same_word() {
    let (plan, residue) = plan_and_residue();
    let mut app = app_installs();
    feed(&mut app, [Action::Select, Action::RevokePlanned(Ok(Box::new(plan.clone())))]);
    app.update(Action::Resize(120, 40));
    let review = screen_text(&app);
    assert!(!review.contains('✓'), "nothing has happened yet: no ✓ in the review\n{review}");

    feed(&mut app, [Action::Select]);
    type_text(&mut app, "demo");
    feed(&mut app, [Action::Select]);
    assert_eq!(app.screen, Screen::RevokeRun);
    let g = "acmeml-demo-auth";
    app.update(Action::Update(event(0, g, g, "AWS::CloudFormation::Stack", Status::DeleteInProgress, None)));
    for (i, (id, t, _, _, _, _, status)) in cases().into_iter().enumerate() {
        app.update(Action::Update(event(i as i64, g, id, t, Status::DeleteInProgress, None)));
        app.update(Action::Update(event(i as i64, g, id, t, status, None)));
    }
    app.update(Action::Update(event(9, g, g, "AWS::CloudFormation::Stack", Status::DeleteComplete, None)));
    app.update(Action::Update(Update::Revoked { residue: residue.clone(), ok: true, root_cause: None }));
    app.update(Action::RevokeDone(Ok(())));
    let progress = screen_text(&app);
    feed(&mut app, [Action::Select]);
    assert_eq!(app.screen, Screen::Residue);
    let report = screen_text(&app);
    let plain_plan = render::revoke_plan_text(&plan);
    let plain_residue = render::residue_text(&residue, Some(&plan));

    for (id, _, phys, _, words, state, _) in cases() {
        for (name, text) in [("review", &review), ("progress", &progress), ("plain plan", &plain_plan)] {
            let lines = line_with(text, id);
            assert!(lines.iter().any(|l| l.contains(words)), "{name}: {id} should read `{words}`: {lines:?}\n{text}");
        }
        if state.is_some() {
            let at = report.find(phys).unwrap_or_else(|| panic!("report names {phys}\n{report}"));
            let before = &report[..at];
            let last_fate = before.lines().rev().find(|l| l.contains('✓')).unwrap_or_default();
            assert!(last_fate.contains(words), "report: {phys} under `{words}`, got `{last_fate}`\n{report}");
            assert!(
                line_with(&plain_residue, phys).iter().any(|l| l.contains(words)),
                "plain report: {phys} `{words}`\n{plain_residue}"
            );
        }
    }
    // The words are the model's: no screen falls back to another name for the same thing.
    for text in [&review, &progress, &report] {
        assert!(!text.contains("KEPT (retained"), "{text}");
        assert!(!text.contains("pending deletion"), "{text}");
    }
}

#[test]
fn a_resource_that_will_fail_says_so_before_and_after() {
    let (mut plan, _) = plan_and_residue();
    plan.groups[0].resources.push(RevokeItem {
        id: "Vpc".into(),
        type_: "AWS::EC2::VPC".into(),
        physical_id: Some("vpc-1".into()),
        outcome: RevokeOutcome::WillFail { reason: "2 instances run in it".into(), fix: "stop them".into() },
    });
    let review = render::revoke_plan_text(&plan);
    assert!(line_with(&review, "Vpc").iter().any(|l| l.contains("will fail")), "{review}");
}
