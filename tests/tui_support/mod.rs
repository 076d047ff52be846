//! Fixtures for the TUI tests: a fixed plan, installation, revoke plan, residue and events (fixed
//! timestamps and clock, so snapshots are stable), an app driven to any screen through `update`,
//! and a plain-text rendering of a frame (no styles, so NO_COLOR does not matter).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use cloudgrant::cloud::{AccountChoice, Identity, Target};
use cloudgrant::model::{
    Check, Cloud, Event, Installation, InstalledGroup, InstalledResource, Plan, Residue, ResidueItem, RevokeGroup,
    RevokeItem, RevokeOutcome, RevokePlan, Status, Update,
};
use cloudgrant::plan::{aws, Choices};
use cloudgrant::tui::{render, Action, App, Command, Screen, Theme};
use cloudgrant::vendor::VendorProfile;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

pub const ACCOUNT: &str = "123456789012";
pub const EXTERNAL_ID: &str = "fixed-external-id-0123456789abcdef";

pub fn vendor() -> VendorProfile {
    VendorProfile::bundled().expect("bundled vendor profile")
}

pub fn choices() -> Choices {
    Choices {
        org: "demo".into(),
        region: "eu-west-1".into(),
        account: Some(ACCOUNT.into()),
        external_id: Some(EXTERNAL_ID.into()),
    }
}

pub fn plan() -> Plan {
    aws::build(&vendor(), &choices()).expect("plan builds")
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).single().expect("valid time")
}

pub fn at(seconds: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(seconds)
}

pub fn targets() -> Vec<Target> {
    vec![
        Target {
            cloud: Cloud::Aws,
            sandbox: true,
            available: true,
            title: "AWS sandbox (simulated, nothing real is created)".into(),
            detail: "A built-in simulated AWS account: try the whole flow, rehearse with a customer, or demo.".into(),
        },
        Target {
            cloud: Cloud::Aws,
            sandbox: false,
            available: false,
            title: "AWS (your account)".into(),
            detail: "no credentials found (environment, ~/.aws/config, ~/.aws/credentials)".into(),
        },
        Target {
            cloud: Cloud::Gcp,
            sandbox: false,
            available: false,
            title: "Google Cloud".into(),
            detail: "coming: use the sandbox to see the flow".into(),
        },
        Target {
            cloud: Cloud::Azure,
            sandbox: false,
            available: false,
            title: "Azure".into(),
            detail: "coming: use the sandbox to see the flow".into(),
        },
    ]
}

pub fn accounts() -> Vec<AccountChoice> {
    vec![
        AccountChoice {
            key: "sandbox-dev".into(),
            label: format!("sandbox-dev ({ACCOUNT})"),
            detail: "Simulated: a development account. Nothing real is created.".into(),
            sandbox: true,
        },
        AccountChoice {
            key: "sandbox-prod".into(),
            label: "sandbox-prod (310987654321)".into(),
            detail: "Simulated: a production account. Nothing real is created.".into(),
            sandbox: true,
        },
    ]
}

pub fn identity() -> Identity {
    Identity {
        cloud: Cloud::Aws,
        account: ACCOUNT.into(),
        principal: format!("arn:aws:sts::{ACCOUNT}:assumed-role/SandboxAdmin/you"),
        source: "sandbox account sandbox-dev".into(),
        tenant: None,
    }
}

pub fn installation(plan: &Plan) -> Installation {
    let groups = plan
        .groups
        .iter()
        .map(|g| InstalledGroup {
            key: g.key.clone(),
            name: g.name.clone(),
            id: format!("arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/{}/0f0f", g.name),
            status: Status::CreateComplete,
            status_reason: None,
            resources: g
                .resources
                .iter()
                .map(|r| InstalledResource {
                    id: r.id.clone(),
                    type_: r.type_.clone(),
                    physical_id: Some(r.name.clone().unwrap_or_else(|| format!("{}-phys", r.id.to_lowercase()))),
                    status: Status::CreateComplete,
                })
                .collect(),
            outputs: BTreeMap::new(),
            parameters: BTreeMap::new(),
        })
        .collect();
    let mut outputs = BTreeMap::new();
    outputs.insert("VendorRoleArn".to_string(), format!("arn:aws:iam::{ACCOUNT}:role/acmeml-demo-vendor"));
    outputs.insert("ExternalId".to_string(), EXTERNAL_ID.to_string());
    outputs.insert("BucketName".to_string(), format!("acmeml-demo-data-{ACCOUNT}"));
    outputs.insert("DataKeyArn".to_string(), format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/1111-2222"));
    Installation {
        cloud: Cloud::Aws,
        vendor_id: "acmeml".into(),
        org: "demo".into(),
        account: ACCOUNT.into(),
        region: "eu-west-1".into(),
        created: Some(t0()),
        groups,
        outputs,
        install_id: None,
        health: Default::default(),
        leftovers: Vec::new(),
        strangers: Vec::new(),
    }
}

pub fn key_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 2, 14).expect("valid date")
}

/// Revoke order auth, vpc, s3; the bucket kept, the key scheduled, the VPC will fail.
pub fn revoke_plan(inst: &Installation) -> RevokePlan {
    let order = ["auth", "vpc", "s3"];
    let groups = order
        .iter()
        .filter_map(|k| inst.group(k))
        .map(|g| RevokeGroup {
            key: g.key.clone(),
            name: g.name.clone(),
            id: g.id.clone(),
            resources: g
                .resources
                .iter()
                .map(|r| {
                    let outcome = match r.id.as_str() {
                        "DataBucket" => RevokeOutcome::Kept {
                            reason: format!("DeletionPolicy: Retain. Bucket acmeml-demo-data-{ACCOUNT} stays with your data (12 objects, 3.4 MB)"),
                        },
                        "DataKey" => RevokeOutcome::ScheduledDeletion {
                            date: key_date(),
                            days: 30,
                            way_back: "aws kms cancel-key-deletion --key-id datakey-phys".into(),
                        },
                        "Vpc" => RevokeOutcome::WillFail {
                            reason: "2 instances still run in the VPC".into(),
                            fix: "stop the vendor's instances first (tag managed-by=acmeml)".into(),
                        },
                        _ => RevokeOutcome::Deleted,
                    };
                    RevokeItem { id: r.id.clone(), type_: r.type_.clone(), physical_id: r.physical_id.clone(), outcome }
                })
                .collect(),
        })
        .collect();
    RevokePlan {
        installation: inst.clone(),
        groups,
        warnings: vec![
            format!("The data key datakey-phys is scheduled for deletion on {} (30 days). Anything encrypted with it, including objects in the kept bucket, becomes unreadable then. To keep it: aws kms cancel-key-deletion --key-id datakey-phys", key_date()),
            format!("The data bucket acmeml-demo-data-{ACCOUNT} is kept (12 objects, 3.4 MB). Delete it yourself when you no longer need the data."),
        ],
        leftovers: Vec::new(),
    }
}

pub fn residue() -> Residue {
    Residue {
        cloud: Cloud::Aws,
        org: "demo".into(),
        account: ACCOUNT.into(),
        finished: at(600),
        items: vec![
            ResidueItem {
                type_: "AWS::KMS::Key".into(),
                physical_id: "datakey-phys".into(),
                state: "pending_deletion".into(),
                note: format!(
                    "deleted by AWS on {}; to keep it: aws kms cancel-key-deletion --key-id datakey-phys",
                    key_date()
                ),
            },
            ResidueItem {
                type_: "AWS::S3::Bucket".into(),
                physical_id: format!("acmeml-demo-data-{ACCOUNT}"),
                state: "kept".into(),
                note: "kept with your data (12 objects, 3.4 MB); delete it yourself when no longer needed".into(),
            },
        ],
        checks: vec![
            Check {
                what: "role acmeml-demo-vendor no longer exists".into(),
                ok: true,
                detail: "GetRole: NoSuchEntity".into(),
            },
            Check {
                what: "role acmeml-demo-instance no longer exists".into(),
                ok: true,
                detail: "GetRole: NoSuchEntity".into(),
            },
            Check {
                what: "key datakey-phys is pending deletion".into(),
                ok: false,
                detail: "KeyState Enabled: the key was not scheduled".into(),
            },
        ],
    }
}

pub fn event(second: i64, group: &str, resource: &str, type_: &str, status: Status, reason: Option<&str>) -> Update {
    Update::Event(Event {
        time: at(second),
        group: group.into(),
        resource: resource.into(),
        resource_type: type_.into(),
        status,
        reason: reason.map(String::from),
        physical_id: None,
    })
}

/// A CloudFormation-like create sequence for every resource of `plan` (group start, each
/// resource in progress then complete, group complete), with fixed timestamps.
pub fn create_events(plan: &Plan) -> Vec<Update> {
    let mut out = Vec::new();
    let mut s = 0;
    for g in &plan.groups {
        out.push(event(
            s,
            &g.name,
            &g.name,
            "AWS::CloudFormation::Stack",
            Status::CreateInProgress,
            Some("User Initiated"),
        ));
        for r in &g.resources {
            s += 1;
            out.push(event(s, &g.name, &r.id, &r.type_, Status::CreateInProgress, None));
            out.push(event(s, &g.name, &r.id, &r.type_, Status::CreateComplete, None));
        }
        out.push(event(s, &g.name, &g.name, "AWS::CloudFormation::Stack", Status::CreateComplete, None));
    }
    out
}

pub fn new_app() -> App {
    let mut app = App::new(vendor(), false, Theme::plain());
    app.update(Action::Resize(100, 30));
    app.update(Action::Tick(Duration::from_millis(42_300)));
    app
}

/// Feed actions, returning every command emitted.
pub fn feed(app: &mut App, actions: impl IntoIterator<Item = Action>) -> Vec<Command> {
    actions.into_iter().flat_map(|a| app.update(a)).collect()
}

pub fn type_text(app: &mut App, text: &str) -> Vec<Command> {
    feed(app, text.chars().map(Action::Input))
}

/// Onboarding up to the Account screen, connected.
pub fn app_connected() -> App {
    let mut app = new_app();
    app.start();
    feed(
        &mut app,
        [Action::Targets(targets()), Action::Select, Action::Select, Action::Accounts(Ok(accounts())), Action::Select],
    );
    feed(&mut app, [Action::Connected(Ok(identity()))]);
    assert_eq!(app.screen, Screen::Account);
    app
}

/// Onboarding at the Preview screen with the fixture plan.
pub fn app_preview() -> App {
    app_preview_with(plan())
}

/// Onboarding at the Preview screen with this plan (built for org "demo").
pub fn app_preview_with(plan: Plan) -> App {
    let mut app = app_connected();
    feed(&mut app, [Action::Select]);
    type_text(&mut app, "demo");
    let cmds = feed(&mut app, [Action::Select]);
    assert!(matches!(cmds.as_slice(), [Command::BuildPlan(_)]), "{cmds:?}");
    feed(&mut app, [Action::Planned(Ok(Box::new(plan)))]);
    assert_eq!(app.screen, Screen::Preview);
    app
}

/// The fixture plan with the vendor's trust stripped of its ExternalId condition and
/// `iam:PassRole` allowed on every role without condition, analysed afresh: a plan with high
/// flags.
pub fn risky_plan() -> Plan {
    let mut plan = plan();
    for g in &mut plan.groups {
        for p in &mut g.permissions {
            if p.sid.as_deref() == Some("VendorAccountWithExternalId") {
                p.conditions = serde_json::Value::Null;
            }
            if p.actions == ["iam:PassRole"] {
                p.resources = vec!["*".into()];
                p.conditions = serde_json::Value::Null;
            }
        }
    }
    cloudgrant::permissions::annotate(&mut plan, &vendor());
    plan
}

/// Onboarding at the Deploy screen, nothing received yet.
pub fn app_deploying() -> App {
    let mut app = app_preview();
    let cmds = feed(&mut app, [Action::Select, Action::Right, Action::Select]);
    assert!(matches!(cmds.as_slice(), [Command::Deploy(_)]), "{cmds:?}");
    assert_eq!(app.screen, Screen::Deploy);
    app
}

/// Revoke flow at the Installs screen with the fixture installation listed.
pub fn app_installs() -> App {
    let mut app = new_app();
    app.start();
    feed(
        &mut app,
        [
            Action::Down,
            Action::Select,
            Action::Targets(targets()),
            Action::Select,
            Action::Accounts(Ok(accounts())),
            Action::Select,
        ],
    );
    feed(&mut app, [Action::Connected(Ok(identity()))]);
    let cmds = feed(&mut app, [Action::Select]);
    assert_eq!(cmds, vec![Command::Discover]);
    feed(&mut app, [Action::Discovered(Ok(vec![installation(&plan())]))]);
    assert_eq!(app.screen, Screen::Installs);
    app
}

/// Revoke flow at the Review screen.
pub fn app_review() -> App {
    let mut app = app_installs();
    let cmds = feed(&mut app, [Action::Select]);
    assert!(matches!(cmds.as_slice(), [Command::BuildRevokePlan(_)]), "{cmds:?}");
    feed(&mut app, [Action::RevokePlanned(Ok(Box::new(revoke_plan(&installation(&plan())))))]);
    assert_eq!(app.screen, Screen::Review);
    app
}

/// Revoke flow at the Revoke-run screen, started.
pub fn app_revoking() -> App {
    let mut app = app_review();
    feed(&mut app, [Action::Select]);
    type_text(&mut app, "demo");
    let cmds = feed(&mut app, [Action::Select]);
    assert!(matches!(cmds.as_slice(), [Command::Revoke { .. }]), "{cmds:?}");
    app
}

/// The text of a buffer, one line per row, trailing spaces removed.
pub fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn draw(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|f| render(app, f)).expect("draw");
    terminal.backend().buffer().clone()
}

/// Render at the app's own size and return the plain text.
pub fn screen_text(app: &App) -> String {
    buffer_text(&draw(app, app.size.0, app.size.1))
}

/// `text` with the bundled pack's digest (whole, or wrapped over two lines) written as `#`s of the
/// same length: snapshots keep their layout and do not change with every template edit (the
/// exactness tests check the digest itself).
pub fn without_pack_digest(text: &str) -> String {
    let digest = vendor().pack.digest;
    let hidden = |s: &str| "#".repeat(s.len());
    let mut out = text.replace(&digest, &hidden(&digest));
    // Confirm's short form: the digest's two ends.
    let short = format!("{}…{}", &digest[..16], &digest[digest.len() - 16..]);
    out = out.replace(&short, &format!("{}…{}", hidden(&digest[..16]), hidden(&digest[..16])));
    for n in (8..digest.len() - 8).rev() {
        let (head, tail) = digest.split_at(n);
        let ends_line = out.lines().any(|l| l.trim_end_matches([' ', '│']).ends_with(head));
        let starts_line = out.lines().any(|l| l.trim_start_matches([' ', '│']).starts_with(tail));
        if ends_line && starts_line {
            out = out.replace(head, &hidden(head)).replace(tail, &hidden(tail));
            break;
        }
    }
    out
}

/// The Azure plan for org demo in westeurope, subscription [`AZURE_SUB`], name suffix
/// [`AZURE_SUFFIX`].
pub fn azure_plan() -> Plan {
    let choices =
        Choices { org: "demo".into(), region: "westeurope".into(), account: Some(AZURE_SUB.into()), external_id: None };
    cloudgrant::plan::azure::build(&vendor(), &choices, AZURE_SUFFIX).expect("azure plan")
}

pub const AZURE_SUFFIX: &str = "x1y2z3w4";
pub const AZURE_SUB: &str = "11111111-2222-3333-4444-555555555555";
pub const AZURE_TENANT: &str = "99999999-8888-7777-6666-555555555555";

/// Onboarding on the (simulated) Azure target, connected to a subscription.
pub fn app_connected_azure() -> App {
    let target = Target {
        cloud: Cloud::Azure,
        sandbox: true,
        available: true,
        title: "Azure sandbox (simulated, nothing real is created)".into(),
        detail: "A built-in simulated Azure subscription.".into(),
    };
    let account = AccountChoice {
        key: AZURE_SUB.into(),
        label: format!("sandbox-dev ({AZURE_SUB})"),
        detail: format!("Simulated subscription · tenant {AZURE_TENANT}"),
        sandbox: true,
    };
    let identity = Identity {
        cloud: Cloud::Azure,
        account: AZURE_SUB.into(),
        principal: "admin@contoso.example".into(),
        source: "sandbox".into(),
        tenant: Some(AZURE_TENANT.into()),
    };
    let mut app = new_app();
    app.start();
    feed(
        &mut app,
        [
            Action::Targets(vec![target]),
            Action::Select,
            Action::Select,
            Action::Accounts(Ok(vec![account])),
            Action::Select,
        ],
    );
    feed(&mut app, [Action::Connected(Ok(identity))]);
    assert_eq!(app.screen, Screen::Account);
    app
}

/// Onboarding at the Preview with the Azure plan (fixed subscription and name suffix).
pub fn app_preview_azure() -> App {
    let plan = azure_plan();
    let mut app = app_connected_azure();
    feed(&mut app, [Action::Select]);
    assert_eq!(app.configure.region.value, "westeurope", "the vendor profile's Azure default");
    type_text(&mut app, "demo");
    feed(&mut app, [Action::Select, Action::Planned(Ok(Box::new(plan)))]);
    assert_eq!(app.screen, Screen::Preview);
    app
}

/// Onboarding at the Deploy screen, everything created.
pub fn deploy_done() -> App {
    let mut app = app_deploying();
    let p = plan();
    for e in create_events(&p) {
        app.update(Action::Update(e));
    }
    app.update(Action::Update(Update::Applied { installation: installation(&p), ok: true, root_cause: None }));
    app.update(Action::ApplyDone(Ok(())));
    app
}

pub fn revoke_done() -> App {
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

/// Every screen of both flows, by name (for the size snapshots and the footer key tests).
pub fn screens() -> Vec<(&'static str, App)> {
    let mut out: Vec<(&str, App)> = vec![("welcome", new_app())];
    let mut cloud = new_app();
    cloud.start();
    feed(&mut cloud, [Action::Targets(targets()), Action::Select]);
    assert_eq!(cloud.screen, Screen::Cloud, "the cloud fixture is on the Cloud screen");
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
