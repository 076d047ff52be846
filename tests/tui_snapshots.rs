//! Snapshots of every screen on a 100x30 TestBackend (text only, so NO_COLOR does not matter),
//! with fixed data, timestamps and clock.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is the failure report

mod tui_support;

use cloudgrant::model::Status;
use cloudgrant::tui::{Action, Screen};
use tui_support::*;

fn snap(app: &cloudgrant::tui::App) -> String {
    without_pack_digest(&screen_text(app))
}

#[test]
fn welcome() {
    let app = new_app();
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn cloud_with_unavailable_target_refused() {
    let mut app = new_app();
    app.start();
    feed(&mut app, [Action::Targets(targets()), Action::Select]);
    insta::assert_snapshot!("cloud_default", snap(&app));
    feed(&mut app, [Action::Down, Action::Select]);
    assert_eq!(app.screen, Screen::Cloud);
    insta::assert_snapshot!("cloud_refused", snap(&app));
}

#[test]
fn account_connecting_and_connected() {
    let mut app = new_app();
    app.start();
    feed(
        &mut app,
        [Action::Targets(targets()), Action::Select, Action::Select, Action::Accounts(Ok(accounts())), Action::Select],
    );
    insta::assert_snapshot!("account_connecting", snap(&app));
    feed(&mut app, [Action::Connected(Ok(identity()))]);
    insta::assert_snapshot!("account_connected", snap(&app));
}

#[test]
fn account_error_shows_next_step() {
    let mut app = new_app();
    app.start();
    feed(
        &mut app,
        [Action::Targets(targets()), Action::Select, Action::Select, Action::Accounts(Ok(accounts())), Action::Select],
    );
    let err = cloudgrant::cloud::CloudError::failed(
        "the sandbox state file /tmp/x/state.json is not readable",
        "Check the permissions of /tmp/x, or set CLOUDGRANT_SANDBOX_DIR to a writable directory.",
    );
    feed(&mut app, [Action::Connected(Err(err))]);
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn configure_invalid_org() {
    let mut app = app_connected();
    feed(&mut app, [Action::Select]);
    type_text(&mut app, "Acme");
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn preview_tabs() {
    let mut app = app_preview();
    let trust = snap(&app);
    assert!(trust.contains("[Trust (2)]") && trust.contains("ExternalId  required"), "{trust}");
    insta::assert_snapshot!("preview_trust", trust);
    feed(&mut app, [Action::NextTab]);
    let permissions = snap(&app);
    assert!(
        permissions.contains("  Amazon EC2 (ec2)") && permissions.contains("    List · "),
        "grouped: {permissions}"
    );
    insta::assert_snapshot!("preview_permissions", permissions);
    feed(&mut app, [Action::NextTab]);
    insta::assert_snapshot!("preview_resources", snap(&app));
    feed(&mut app, [Action::NextTab]);
    insta::assert_snapshot!("preview_parameters", snap(&app));
}

#[test]
fn preview_permissions_flags_and_wildcards() {
    // The second principal: your account's kms:* split by level, each with its count, flagged low.
    let mut app = app_preview();
    feed(&mut app, [Action::NextTab]);
    feed(&mut app, std::iter::repeat_n(Action::Down, 21));
    let text = snap(&app);
    assert!(text.contains("kms:* → 36 actions") && text.contains("low wildcard action"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn preview_detail() {
    let mut app = app_preview();
    feed(&mut app, [Action::NextTab, Action::Filter]);
    type_text(&mut app, "iam:");
    feed(&mut app, [Action::Select, Action::Detail]);
    let text = snap(&app);
    assert!(text.contains("written at  assets/aws/auth.yaml:127"), "{text}");
    assert!(text.contains("\"Effect\": \"Allow\""), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn preview_detail_of_a_wildcard_at_80x24() {
    let mut app = app_preview();
    app.update(Action::Resize(80, 24));
    feed(&mut app, [Action::NextTab]);
    feed(&mut app, std::iter::repeat_n(Action::Down, 21));
    feed(&mut app, [Action::Detail, Action::PageDown, Action::PageDown]);
    let text = snap(&app);
    assert!(text.contains("kms:* stands for 36 Write actions"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn preview_split_at_120x40() {
    let mut app = app_preview();
    app.update(Action::Resize(120, 40));
    feed(&mut app, [Action::NextTab]);
    feed(&mut app, std::iter::repeat_n(Action::Down, 17));
    let text = snap(&app);
    assert!(text.contains("Detail · d to scroll it") && text.contains("> iam:PassRole"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn preview_filtered() {
    let mut app = app_preview();
    feed(&mut app, [Action::NextTab, Action::Filter]);
    type_text(&mut app, "bucket");
    insta::assert_snapshot!("preview_filter_typing", snap(&app));
    feed(&mut app, [Action::Select, Action::CycleRisk, Action::CycleRisk]);
    let text = snap(&app);
    assert!(text.contains("/ bucket risk:medium · 3 of 32"), "{text}");
    insta::assert_snapshot!("preview_filtered_by_risk", text);
}

#[test]
fn preview_high_flags_at_80x24() {
    let mut app = app_preview_with(risky_plan());
    app.update(Action::Resize(80, 24));
    let trust = snap(&app);
    assert!(trust.contains("[Trust (2 · 1 high)]") && trust.contains("ExternalId  MISSING"), "{trust}");
    insta::assert_snapshot!("preview_trust_without_external_id", trust);
    feed(&mut app, [Action::NextTab, Action::CycleRisk]);
    let permissions = snap(&app);
    assert!(permissions.contains("Permissions (32 actions · 1 high)"), "{permissions}");
    assert!(
        permissions.contains("> iam:PassRole") && permissions.contains("high privilege escalation"),
        "{permissions}"
    );
    insta::assert_snapshot!("preview_permissions_high_only", permissions);
}

#[test]
fn preview_trust_at_80x24() {
    let mut app = app_preview();
    app.update(Action::Resize(80, 24));
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn preview_loading() {
    let mut app = app_connected();
    feed(&mut app, [Action::Select]);
    type_text(&mut app, "demo");
    feed(&mut app, [Action::Select]);
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn confirm() {
    let mut app = app_preview();
    feed(&mut app, [Action::Select]);
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn deploy_in_progress() {
    let mut app = app_deploying();
    let events = create_events(&plan());
    // Part-way: the network and the bucket done, the access stack under way.
    for e in events.into_iter().take(32) {
        app.update(Action::Update(e));
    }
    app.update(Action::Tick(std::time::Duration::from_millis(42_300 + 95_000)));
    insta::assert_snapshot!(snap(&app));
}

fn failed_deploy() -> cloudgrant::tui::App {
    let mut app = app_deploying();
    let p = plan();
    for e in create_events(&p).into_iter().take(30) {
        app.update(Action::Update(e));
    }
    let auth = "acmeml-demo-auth";
    for u in [
        event(40, auth, "DataKey", "AWS::KMS::Key", Status::CreateFailed, Some("Resource handler returned message: \"User is not authorized to perform: kms:CreateKey\" (HandlerErrorCode: AccessDenied)")),
        event(40, auth, "VendorRole", "AWS::IAM::Role", Status::CreateFailed, Some("Resource creation cancelled")),
        event(41, auth, auth, "AWS::CloudFormation::Stack", Status::RollbackInProgress, Some("The following resource(s) failed to create: [DataKey, VendorRole].")),
        event(42, auth, "VendorRole", "AWS::IAM::Role", Status::DeleteComplete, None),
        event(43, auth, auth, "AWS::CloudFormation::Stack", Status::RollbackComplete, None),
    ] {
        app.update(Action::Update(u));
    }
    let mut inst = installation(&p);
    inst.outputs.clear();
    app.update(Action::Update(cloudgrant::model::Update::Applied {
        installation: inst,
        ok: false,
        root_cause: Some("DataKey: not authorized".into()),
    }));
    app.update(Action::ApplyDone(Ok(())));
    app
}

#[test]
fn deploy_failed_root_cause_first() {
    let app = failed_deploy();
    let text = snap(&app);
    let cause = text.find("Root cause: DataKey").expect("root cause shown");
    let log = text.find("Events (").expect("log shown");
    assert!(cause < log, "root cause above the log");
    insta::assert_snapshot!(text);
}

#[test]
fn done() {
    let mut app = app_deploying();
    let p = plan();
    for e in create_events(&p) {
        app.update(Action::Update(e));
    }
    app.update(Action::Update(cloudgrant::model::Update::Applied {
        installation: installation(&p),
        ok: true,
        root_cause: None,
    }));
    app.update(Action::ApplyDone(Ok(())));
    insta::assert_snapshot!("deploy_succeeded", snap(&app));
    app.update(Action::Select);
    assert_eq!(app.screen, Screen::Done);
    insta::assert_snapshot!("done", snap(&app));
}

#[test]
fn installs() {
    let app = app_installs();
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn revoke_review_kept_scheduled_will_fail() {
    let mut app = app_review();
    let text = snap(&app);
    for needle in [
        "Read this before you confirm",
        "will fail",
        "kept",
        "scheduled for deletion on 2026-02-14",
        "cancel-key-deletion",
    ] {
        assert!(text.contains(needle), "{needle}");
    }
    insta::assert_snapshot!("review_top", text);
    feed(&mut app, [Action::End]);
    insta::assert_snapshot!("review_bottom", snap(&app));
}

#[test]
fn type_to_confirm_wrong_name() {
    let mut app = app_review();
    feed(&mut app, [Action::Select]);
    type_text(&mut app, "dem0");
    feed(&mut app, [Action::Select]);
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn revoke_delete_failed_offers_retry() {
    let mut app = app_revoking();
    let inst = installation(&plan());
    let vpc = "acmeml-demo-vpc";
    let auth = "acmeml-demo-auth";
    let mut s = 0;
    app.update(Action::Update(event(
        s,
        auth,
        auth,
        "AWS::CloudFormation::Stack",
        Status::DeleteInProgress,
        Some("User Initiated"),
    )));
    for r in &inst.group("auth").expect("auth").resources {
        s += 1;
        app.update(Action::Update(event(s, auth, &r.id, &r.type_, Status::DeleteInProgress, None)));
        app.update(Action::Update(event(s, auth, &r.id, &r.type_, Status::DeleteComplete, None)));
    }
    app.update(Action::Update(event(s, auth, auth, "AWS::CloudFormation::Stack", Status::DeleteComplete, None)));
    app.update(Action::Update(event(
        s,
        vpc,
        vpc,
        "AWS::CloudFormation::Stack",
        Status::DeleteInProgress,
        Some("User Initiated"),
    )));
    for r in &inst.group("vpc").expect("vpc").resources {
        s += 1;
        app.update(Action::Update(event(s, vpc, &r.id, &r.type_, Status::DeleteInProgress, None)));
        let (st, why) = if r.id == "Vpc" {
            (
                Status::DeleteFailed,
                Some("The vpc 'vpc-phys' has dependencies and cannot be deleted. (DependencyViolation)"),
            )
        } else {
            (Status::DeleteComplete, None)
        };
        app.update(Action::Update(event(s, vpc, &r.id, &r.type_, st, why)));
    }
    app.update(Action::Update(event(
        s,
        vpc,
        vpc,
        "AWS::CloudFormation::Stack",
        Status::DeleteFailed,
        Some("The following resource(s) failed to delete: [Vpc]."),
    )));
    app.update(Action::Update(cloudgrant::model::Update::Revoked {
        residue: residue(),
        ok: false,
        root_cause: Some("Vpc".into()),
    }));
    app.update(Action::RevokeDone(Ok(())));
    let text = snap(&app);
    assert!(text.contains("Press r to finish revoking and leave Vpc in place"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn residue_report() {
    let mut app = app_revoking();
    app.update(Action::Update(cloudgrant::model::Update::Revoked { residue: residue(), ok: true, root_cause: None }));
    app.update(Action::RevokeDone(Ok(())));
    app.update(Action::Select);
    assert_eq!(app.screen, Screen::Residue);
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn help_overlay() {
    let mut app = app_preview();
    feed(&mut app, [Action::ToggleHelp]);
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn ctrl_c_modal_during_deploy() {
    let mut app = app_deploying();
    for e in create_events(&plan()).into_iter().take(20) {
        app.update(Action::Update(e));
    }
    feed(&mut app, [Action::Interrupt]);
    assert!(app.modal.is_some());
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn deploy_120x40() {
    let mut app = app_deploying();
    app.update(Action::Resize(120, 40));
    for e in create_events(&plan()).into_iter().take(40) {
        app.update(Action::Update(e));
    }
    insta::assert_snapshot!(snap(&app));
}

#[test]
fn confirm_shows_the_change_sets_of_existing_stacks() {
    use cloudgrant::model::{ChangeKind, GroupChanges, ResourceChange};
    let mut app = app_preview();
    let p = plan();
    let changes = vec![
        GroupChanges { group: p.groups[0].name.clone(), kind: ChangeKind::NoChanges, changes: vec![], note: None },
        GroupChanges { group: p.groups[1].name.clone(), kind: ChangeKind::NoChanges, changes: vec![], note: None },
        GroupChanges {
            group: p.groups[2].name.clone(),
            kind: ChangeKind::Update,
            changes: vec![ResourceChange {
                action: "Modify".into(),
                id: "VendorRole".into(),
                type_: "AWS::IAM::Role".into(),
                replacement: Some("False".into()),
            }],
            note: None,
        },
    ];
    app.update(Action::Changes(Ok(changes)));
    feed(&mut app, [Action::Select]);
    let screen = snap(&app);
    assert!(screen.contains("acmeml-demo-vpc: no changes"), "{screen}");
    assert!(screen.contains("acmeml-demo-auth: 0 to add, 1 to modify (0 replaced), 0 to remove"), "{screen}");
    assert!(screen.contains("Modify VendorRole AWS::IAM::Role"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn confirm_names_a_refusal_found_by_the_preview_and_its_fix() {
    let mut app = app_preview();
    let refusal = cloudgrant::cloud::CloudError::failed(
        "the Key Vault name acmeml-kv-k3x9q2ab is not available (AlreadyExists)",
        "Run init again: a fresh install gets a new random name suffix.",
    );
    app.update(Action::Changes(Err(refusal)));
    feed(&mut app, [Action::Select]);
    let screen = snap(&app).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(screen.contains("Could not preview the changes: the Key Vault name acmeml-kv-k3x9q2ab"), "{screen}");
    assert!(screen.contains("Next: Run init again: a fresh install gets a new random name suffix."), "{screen}");
}

#[test]
fn confirm_on_azure_keeps_the_stacks_label_apart_from_their_names() {
    let mut app = app_preview_azure();
    feed(&mut app, [Action::Select]);
    let screen = snap(&app);
    let row = screen.lines().find(|l| l.contains("deployment stacks")).unwrap_or_default().to_string();
    assert!(row.contains("deployment stacks acmeml-demo"), "{screen}");
    // The values below it line up with it.
    let at = row.find("acmeml-demo").expect("the first stack");
    let next = screen.lines().skip_while(|l| !l.contains("deployment stacks")).nth(1).unwrap_or_default();
    assert_eq!(next.find("acmeml-demo"), Some(at), "{screen}");
}

#[test]
fn account_azure_names_the_subscription_and_tenant() {
    let app = app_connected_azure();
    let text = snap(&app);
    assert!(text.contains("Which subscription of Azure sandbox"), "{text}");
    assert!(text.contains(&format!("tenant       {AZURE_TENANT}")), "{text}");
    insta::assert_snapshot!("account_azure_connected", text);
}

#[test]
fn preview_azure_trust_and_permissions() {
    let mut app = app_preview_azure();
    let trust = snap(&app);
    assert!(trust.contains("signs in to your") && trust.contains("tenant as a service principal"), "{trust}");
    assert!(trust.contains("2 deployment stacks") && trust.contains(&format!("subscription {AZURE_SUB}")), "{trust}");
    insta::assert_snapshot!("preview_azure_trust", trust);
    feed(&mut app, [Action::NextTab]);
    let permissions = snap(&app);
    assert!(
        permissions.contains("Microsoft.Compute/virtualMachines/read  resource group acmeml-demo"),
        "{permissions}"
    );
    insta::assert_snapshot!("preview_azure_permissions", permissions);
    app.update(Action::Resize(120, 40));
    insta::assert_snapshot!("preview_azure_permissions_120x40", snap(&app));
}

#[test]
fn preview_resource_detail_says_what_is_not_done_on_purpose() {
    let mut app = app_preview();
    feed(&mut app, [Action::NextTab, Action::NextTab, Action::Filter]);
    type_text(&mut app, "DataBucket");
    feed(&mut app, [Action::Select, Action::Detail]);
    let text = snap(&app);
    assert!(text.contains("Not done, on purpose: No S3 access logging"), "{text}");
    assert!(text.contains("(checkov CKV_AWS_18)"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn preview_azure_vault_detail_at_120x40_shows_its_network_and_exceptions() {
    let mut app = app_preview_azure();
    app.update(Action::Resize(120, 40));
    feed(&mut app, [Action::NextTab, Action::NextTab, Action::Filter]);
    type_text(&mut app, "KeyVault/vaults");
    feed(&mut app, [Action::Select]);
    let text = snap(&app);
    assert!(text.contains("network     only from subnet machines of"), "{text}");
    assert!(text.contains("Not done, on purpose: No purge protection"), "{text}");
    assert!(text.contains("CKV_AZURE_110)"), "{text}");
    insta::assert_snapshot!(text);
}
