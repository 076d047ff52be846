//! The plain commands, one function each (`plan`, `init`, `status`, `revoke`); the two that change
//! the cloud in their steps: what is checked and shown first, what is asked, then the run and its
//! outcome.

use std::collections::HashMap;
use std::io::IsTerminal;
use tokio::sync::mpsc;

use super::{
    bad_input, cancel_on_ctrl_c, checks, confirm, confirm_typed, follow, keep_receipt, provider, render, to_json,
    Failure, Global, Output, Target,
};
use crate::cloud::{self, CloudError, Provider};
use crate::model::{Cloud, Installation, Plan, Update};
use crate::plan::{self, Choices};
use crate::receipts;
use crate::vendor::VendorProfile;

/// `plan`: everything that would be created and granted, offline.
pub(super) fn plan(
    global: &Global,
    vendor: &VendorProfile,
    target: Target,
    account_id: Option<String>,
    output: Output,
) -> Result<(), Failure> {
    let choices = Choices {
        org: target.org.clone(),
        region: global.region.clone().unwrap_or_else(|| plan::default_region(target.cloud, vendor)),
        account: account_id
            .or_else(|| global.project.clone().filter(|_| target.cloud == Cloud::Gcp))
            .or_else(|| global.subscription.clone().filter(|_| target.cloud == Cloud::Azure)),
        external_id: None,
    };
    let plan = plan::build(target.cloud, vendor, &choices)
        .map_err(|e| bad_input(e.to_string(), "Fix the value named above and run again."))?;
    match output {
        Output::Text => print!("{}", render::plan_text(&plan)),
        Output::Markdown => print!("{}", render::plan_markdown(&plan)),
        Output::Json => println!("{}", to_json(&plan)?),
    }
    Ok(())
}

/// `status`: the installs found in the account.
pub(super) async fn status(
    global: &Global,
    vendor: &VendorProfile,
    org: Option<String>,
    cloud: Cloud,
    output: Output,
) -> Result<(), Failure> {
    let p = provider(global, cloud, vendor).await?;
    let installs = p.discover(org.as_deref()).await?;
    match output {
        Output::Json => println!("{}", to_json(&installs)?),
        Output::Markdown => print!("{}", render::installs_markdown(&installs)),
        Output::Text => print!("{}", render::installs_text(&installs)),
    }
    Ok(())
}

/// `init`: the choices checked, what a half-done revoke scheduled restored (`--restore`), the
/// changes shown, asked, applied.
pub(super) async fn init(
    global: &Global,
    vendor: &VendorProfile,
    target: Target,
    yes: bool,
    external_id: Option<String>,
    restore: bool,
) -> Result<(), Failure> {
    let p = provider(global, target.cloud, vendor).await?;
    let region = match (&global.region, &p) {
        (Some(r), _) => r.clone(),
        (None, Provider::Aws(a)) => a.region().to_string(),
        (None, p) => plan::default_region(p.cloud(), vendor),
    };
    let choices = Choices { org: target.org.clone(), region, account: None, external_id };
    crate::validate::org(&choices.org).map_err(|e| bad_input(e.to_string(), "Choose an org name of that form."))?;
    let region_check = match p.cloud() {
        Cloud::Gcp => crate::validate::gcp_region(&choices.region),
        Cloud::Azure => crate::validate::azure_location(&choices.region),
        Cloud::Aws => crate::validate::aws_region(&choices.region),
    };
    region_check.map_err(|e| bad_input(e.to_string(), "Pass --region with a region name."))?;
    if restore {
        let done = p.restore(&choices.org).await?;
        if done.is_empty() {
            println!("Nothing to restore: no key of org {} is scheduled for deletion.", choices.org);
        }
        for line in done {
            println!("Restored: {line}");
        }
    }
    let found = p.discover(Some(&choices.org)).await?;
    checks::external_id(&found, choices.external_id.as_deref(), &choices.org, &p.cli_flags())?;
    let plan = p.plan_for(vendor, &choices, restore).await?;
    if !preview_init(&p, &plan, &found).await? {
        return Ok(());
    }
    if !yes && !confirm("Create them?", "--yes")? {
        return Err(Failure {
            message: "not confirmed; nothing was created".into(),
            next_step: String::new(),
            code: 1,
        });
    }
    apply_init(&p, vendor, &plan).await
}

/// Print what applying `plan` would change, given the installs `found` for its org; false when
/// nothing would (then the vendor's values are printed again: nothing is lost by a re-run).
async fn preview_init(p: &Provider, plan: &Plan, found: &[Installation]) -> Result<bool, Failure> {
    for i in found {
        for x in &i.strangers {
            println!("  ! {}", x.line());
        }
    }
    let (groups, account) = (plan.cloud.groups(plan.groups.len()), plan.cloud.account_word());
    println!(
        "Creating {} resources in {groups} in {account} {} ({}), org {}:",
        plan.resource_count(),
        plan.account.as_deref().unwrap_or("?"),
        plan.region,
        plan.org
    );
    let changes = p.preview_changes(plan).await?;
    for c in &changes {
        let planned = plan.groups.iter().find(|g| g.name == c.group).map(|g| g.resources.len());
        println!("  {}", c.summary_with(plan.cloud, planned));
        for ch in c.changes.iter().filter(|ch| ch.action != "Add") {
            let replace = if ch.replacement.as_deref() == Some("True") { " (replacement)" } else { "" };
            println!("    {} {} {}{replace}", ch.action, ch.id, ch.type_);
        }
        if let Some(n) = &c.note {
            println!("    note: {n}");
        }
    }
    if changes.iter().all(|c| c.kind == crate::model::ChangeKind::NoChanges) {
        println!("Nothing to change: the install is up to date.");
        if let Some(i) = found.iter().find(|i| !i.groups.is_empty()) {
            println!("Send the vendor:");
            checks::vendor_lines(i, &plan.send_to_vendor).iter().for_each(|l| println!("{l}"));
        }
        return Ok(false);
    }
    Ok(true)
}

/// Apply, following every event, keep the receipt, and say the outcome.
async fn apply_init(p: &Provider, vendor: &VendorProfile, plan: &Plan) -> Result<(), Failure> {
    let who = p.identity().await.ok().map(|i| receipts::Who::from(&i));
    let (tx, rx) = mpsc::channel(1024);
    let cancel = cancel_on_ctrl_c();
    let printer = tokio::spawn(follow(rx, false, HashMap::new()));
    let result = p.apply(plan, tx, cancel).await;
    let (last, events, still) = printer.await.unwrap_or_default();
    let (installation, ok, root_cause) = match &last {
        Some(Update::Applied { installation, ok, root_cause }) => (Some(installation), *ok, root_cause.clone()),
        _ => (None, false, result.as_ref().err().map(|e| e.to_string())),
    };
    let cancelled = matches!(result, Err(CloudError::Cancelled));
    let receipt = receipts::for_init(
        plan,
        vendor,
        who,
        installation,
        events,
        receipts::Outcome::of(receipts::Flow::Init, ok, cancelled, root_cause),
        chrono::Utc::now(),
    );
    keep_receipt(&receipt);
    if let Err(CloudError::Cancelled) = result {
        return Err(Failure {
            message: checks::stopped(p.cloud(), &still, "the stacks keep going in the cloud"),
            next_step: format!(
                "See where it stands with `cloudgrant status --org {}{}`, then run init again to finish.",
                plan.org,
                p.cli_flags()
            ),
            code: 130,
        });
    }
    if let Err(e) = result {
        return checks::complete_after_all(p, plan, e).await;
    }
    match last {
        Some(Update::Applied { installation, ok: true, .. }) => {
            println!("\nDone. Send the vendor:");
            for (key, value) in installation.for_vendor(&plan.send_to_vendor) {
                println!("  {key}: {}", value.as_deref().unwrap_or("?"));
            }
            println!("Revoke later with: cloudgrant revoke --org {}{}", plan.org, p.cli_flags());
            Ok(())
        }
        Some(Update::Applied { root_cause, .. }) => Err(Failure {
            message: format!("the install did not complete: {}", root_cause.unwrap_or_else(|| "see the events above".into())),
            next_step: format!(
                "Fix the cause, then run init again (failed stacks are cleaned up first), or remove what was made with `cloudgrant revoke --org {}{}`.",
                plan.org,
                p.cli_flags()
            ),
            code: 1,
        }),
        _ => Err(Failure { message: "the install ended without a result".into(), next_step: "Run `cloudgrant status` to see what exists.".into(), code: 1 }),
    }
}

/// What `revoke` was asked.
pub(super) struct RevokeArgs {
    pub cloud: Cloud,
    pub org: String,
    pub yes: bool,
    pub retain: Vec<String>,
    pub delete_data: bool,
    pub delete_service_principal: bool,
    pub output: Output,
}

/// The flags that belong to one cloud, or need another with them.
fn check_revoke_flags(
    cloud: Cloud,
    yes: bool,
    delete_data: bool,
    delete_service_principal: bool,
) -> Result<(), Failure> {
    if delete_data && cloud != Cloud::Gcp {
        return Err(bad_input(
            format!("--delete-data is for Google Cloud only: the {} data bucket is retained by its template (DeletionPolicy: Retain), and revoke never deletes it", cloud.title()),
            "Revoke without --delete-data, then delete the bucket yourself when you no longer need the data (the residue names it).",
        ));
    }
    if delete_service_principal && cloud != Cloud::Azure {
        return Err(bad_input(
            "--delete-service-principal is for Azure only",
            "Revoke without it: on AWS and Google Cloud the vendor's own identity lives in the vendor's account, not yours.",
        ));
    }
    if delete_data && !yes && !std::io::stdin().is_terminal() {
        return Err(bad_input(
            "--delete-data without a terminal needs --yes too: deleting the data bucket is confirmed by both flags together",
            "Pass --yes --delete-data together, or run revoke in a terminal to confirm by typing the bucket name.",
        ));
    }
    Ok(())
}

/// `revoke`: the review shown (and, with `--delete-data`, the bucket's name typed back), asked,
/// then run.
pub(super) async fn revoke(global: &Global, vendor: &VendorProfile, args: RevokeArgs) -> Result<(), Failure> {
    let RevokeArgs { cloud, org, yes, retain, delete_data, delete_service_principal, output } = args;
    check_revoke_flags(cloud, yes, delete_data, delete_service_principal)?;
    let json = output == Output::Json;
    let p = provider(global, cloud, vendor).await?;
    let installs = p.discover(Some(&org)).await?;
    let Some(inst) = installs.into_iter().next() else {
        return Err(Failure {
            message: format!("no install for org {org} found in this account"),
            next_step: "Check the org name and account with `cloudgrant status`.".into(),
            code: 1,
        });
    };
    let mut rplan = p.revoke_plan(&inst).await?;
    let buckets = if delete_data { cloud::gcp::delete_data(&mut rplan) } else { Vec::new() };
    if delete_service_principal && cloud::azure::delete_service_principal(&mut rplan).is_none() {
        eprintln!("--delete-service-principal: this install lists no service principal to delete (it is kept or gone already).");
    }
    let summary = match output {
        Output::Markdown => render::revoke_plan_markdown(&rplan),
        _ => render::revoke_plan_text(&rplan),
    };
    if json {
        eprint!("{summary}")
    } else {
        print!("{summary}")
    }
    if !yes && !confirm(&format!("Revoke {org}'s access now?"), "--yes")? {
        return Err(Failure {
            message: "not confirmed; nothing was changed".into(),
            next_step: String::new(),
            code: 1,
        });
    }
    if delete_data && buckets.is_empty() {
        eprintln!("--delete-data: this install has no data bucket left to delete.");
    }
    for b in buckets.iter().filter(|_| !yes) {
        let question = format!(
            "Also empty and delete the data bucket {}? This deletes {}; Google keeps them restorable for 7 days, then they are gone.",
            b.name, b.usage
        );
        if !confirm_typed(&question, &b.name)? {
            return Err(Failure {
                message: format!("the name typed was not {}; nothing was changed", b.name),
                next_step:
                    "Run revoke again and type the bucket name exactly, or leave out --delete-data to keep the bucket."
                        .into(),
                code: 1,
            });
        }
    }
    run_revoke(&p, vendor, &rplan, &retain, output).await
}

/// Revoke, following every event, keep the receipt, print the residue and say the outcome.
async fn run_revoke(
    p: &Provider,
    vendor: &VendorProfile,
    rplan: &crate::model::RevokePlan,
    retain: &[String],
    output: Output,
) -> Result<(), Failure> {
    let json = output == Output::Json;
    let org = &rplan.installation.org;
    let who = p.identity().await.ok().map(|i| receipts::Who::from(&i));
    let fates = rplan.items().map(|i| (i.id.clone(), i.fate())).collect();
    let (tx, rx) = mpsc::channel(1024);
    let printer = tokio::spawn(follow(rx, json || output == Output::Markdown, fates));
    let result = p.revoke(rplan, retain, tx, cancel_on_ctrl_c()).await;
    let (last, events, still) = printer.await.unwrap_or_default();
    let (residue, ok, root_cause) = match &last {
        Some(Update::Revoked { residue, ok, root_cause }) => (Some(residue), *ok, root_cause.clone()),
        _ => (None, false, result.as_ref().err().map(|e| e.to_string())),
    };
    let cancelled = matches!(result, Err(CloudError::Cancelled));
    let receipt = receipts::for_revoke(
        rplan,
        vendor,
        who,
        residue,
        events,
        receipts::Outcome::of(receipts::Flow::Revoke, ok, cancelled, root_cause),
        chrono::Utc::now(),
    );
    keep_receipt(&receipt);
    if let Err(CloudError::Cancelled) = result {
        return Err(Failure {
            message: checks::stopped(p.cloud(), &still, "the deletion keeps going in the cloud"),
            next_step: format!("Follow it with `cloudgrant status --org {org}{}`.", p.cli_flags()),
            code: 130,
        });
    }
    let residue = result?;
    match output {
        Output::Json => println!("{}", to_json(&residue)?),
        Output::Markdown => print!("\n{}", render::residue_markdown(&residue, Some(rplan))),
        Output::Text => print!("\n{}", render::residue_text(&residue, Some(rplan))),
    }
    match last {
        Some(Update::Revoked { ok: true, .. }) => Ok(()),
        Some(Update::Revoked { root_cause, .. }) => {
            let failed: Vec<String> =
                residue.items.iter().filter(|i| i.state == "delete_failed").map(|i| i.physical_id.clone()).collect();
            Err(Failure {
                message: format!("revoke did not complete: {}", root_cause.unwrap_or_else(|| "see the events above".into())),
                next_step: format!(
                    "Fix the cause and run revoke again, or leave the failed resources in place with --retain <logical id> (still there: {}).",
                    failed.join(", ")
                ),
                code: 1,
            })
        }
        _ => Err(Failure {
            message: "revoke ended without a result".into(),
            next_step: "Run `cloudgrant status`.".into(),
            code: 1,
        }),
    }
}
