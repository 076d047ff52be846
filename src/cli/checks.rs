//! The command line checked before anything runs: every value has the form its field needs, and
//! a flag that belongs to another cloud is refused rather than ignored. Each refusal names the
//! flag, the value and the fix (exit status 2, as for any bad input).

use super::{bad_input, Cli, Command, Failure, Global};
use crate::model::{Cloud, Installation};
use crate::validate::{self, FieldError};

fn refuse(flag: &str, e: FieldError, fix: &str) -> Failure {
    bad_input(format!("{flag}: {e}"), fix)
}

/// The cloud a command works on, and its org (for the wizard and the offline commands: none).
fn scope(command: &Option<Command>) -> Option<(Cloud, Option<&str>)> {
    match command.as_ref()? {
        Command::Plan { target, .. } | Command::Init { target, .. } => Some((target.cloud, Some(&target.org))),
        Command::Status { cloud, org, .. } => Some((*cloud, org.as_deref())),
        Command::Revoke { cloud, org, .. } => Some((*cloud, Some(org))),
        Command::Receipts { .. } | Command::Vendor { .. } | Command::Completions { .. } | Command::Man => None,
    }
}

/// Every check that needs nothing but the command line.
pub fn flags(cli: &Cli) -> Result<(), Failure> {
    let Some((cloud, org)) = scope(&cli.command) else { return Ok(()) };
    let g = &cli.global;
    other_clouds(g, cloud)?;
    if let Some(org) = org {
        validate::org(org).map_err(|e| {
            refuse("--org", e, "Pass the org name of the install (`cloudgrant status` lists them), of that form.")
        })?;
    }
    // The sandbox also takes its subscriptions' short names (`sandbox-dev`).
    if let (Some(s), false) = (&g.subscription, g.sandbox) {
        validate::azure_subscription_id(s).map_err(|e| {
            refuse("--subscription", e, "Pass the subscription's id (`az account list --output table` shows it).")
        })?;
    }
    if let (Some(p), false) = (&g.project, g.sandbox) {
        validate::gcp_project_id(p)
            .map_err(|e| refuse("--project", e, "Pass the project's id (`gcloud projects list` shows it)."))?;
    }
    if let Some(Command::Plan { account_id: Some(id), .. }) = &cli.command {
        let checked = match cloud {
            Cloud::Aws => validate::aws_account_id("account id", id),
            Cloud::Gcp => validate::gcp_project_id(id),
            Cloud::Azure => validate::azure_subscription_id(id),
        };
        checked
            .map_err(|e| refuse("--account-id", e, "Pass the id of the account the plan is for, or leave it out."))?;
    }
    Ok(())
}

/// `--project` is Google Cloud's, `--subscription` Azure's, `--profile` AWS's: given with another
/// cloud they would be silently ignored.
fn other_clouds(g: &Global, cloud: Cloud) -> Result<(), Failure> {
    let owners = [
        ("--project", g.project.is_some(), Cloud::Gcp),
        ("--subscription", g.subscription.is_some(), Cloud::Azure),
        ("--profile", g.profile.is_some(), Cloud::Aws),
    ];
    for (flag, given, owner) in owners {
        if given && owner != cloud {
            return Err(bad_input(
                format!("{flag} is for {} (--cloud {owner}), and this command is for {}", owner.title(), cloud.title()),
                format!("Leave out {flag}, or pass --cloud {owner} if you meant {}.", owner.title()),
            ));
        }
    }
    Ok(())
}

/// `init --external-id X` on an install whose ExternalId is another: refused, saying what
/// changing it would mean, instead of keeping the old one and answering "Nothing to change".
pub fn external_id(found: &[Installation], given: Option<&str>, org: &str, flags: &str) -> Result<(), Failure> {
    let Some(given) = given else { return Ok(()) };
    let current = found.iter().filter(|i| !i.groups.is_empty()).find_map(|i| i.outputs.get("ExternalId").cloned());
    match current {
        Some(current) if current != given => Err(bad_input(
            format!(
                "--external-id {} differs from the ExternalId of the install of org {org} ({}); cloudgrant keeps an install's ExternalId",
                validate::shown(given),
                validate::shown(&current)
            ),
            format!(
                "Leave out --external-id to keep the current one. Rotating it means the vendor's role can then only be assumed with the new value: the vendor's access stops until they switch to it. To rotate, agree a time with the vendor, run `cloudgrant revoke --org {org}{flags}`, then `cloudgrant init --org {org}{flags} --external-id NEW`, and send them the new value."
            ),
        )),
        _ => Ok(()),
    }
}

/// The lines that give the vendor what it needs from `inst`: the values the templates name
/// (`names`: `Plan::send_to_vendor`; role ARN and ExternalId on AWS).
pub fn vendor_lines(inst: &Installation, names: &[String]) -> Vec<String> {
    inst.for_vendor(names)
        .into_iter()
        .map(|(key, value)| {
            let value = value.map(|v| crate::redact::escape_controls(&v).into_owned());
            format!("  {key}: {}", value.as_deref().unwrap_or("?"))
        })
        .collect()
}

/// An init whose apply returned `e`: when the install nevertheless stands complete (the changes
/// all went through and a read at the end failed), say so and give the vendor's values instead
/// of only the error; otherwise the error.
pub async fn complete_after_all(
    p: &crate::cloud::Provider,
    plan: &crate::model::Plan,
    e: crate::cloud::CloudError,
) -> Result<(), Failure> {
    let org = plan.org.as_str();
    if e == crate::cloud::CloudError::Cancelled {
        return Err(e.into());
    }
    let complete = match p.discover(Some(org)).await {
        Ok(found) => found.into_iter().find(|i| !i.groups.is_empty() && i.health == crate::model::Health::Complete),
        Err(_) => None,
    };
    let Some(inst) = complete else { return Err(e.into()) };
    eprintln!("warning: {e}");
    println!("\nThe install is complete: every part finished creating; only a step after that failed (above).");
    println!("Send the vendor:");
    vendor_lines(&inst, &plan.send_to_vendor).iter().for_each(|l| println!("{l}"));
    println!("Revoke later with: cloudgrant revoke --org {org}{}", p.cli_flags());
    Ok(())
}

/// How a provider's log line starts when it says what carries on in the cloud after a stop.
pub const STILL_GOING: &str = "stopped watching: ";

/// The message of a run stopped by Ctrl-C or a signal: what the provider said still goes on;
/// on AWS, where every stack that was started goes on, `aws_default`; on the other clouds,
/// when the provider named nothing, that every request sent was answered.
pub fn stopped(cloud: Cloud, still: &[String], aws_default: &str) -> String {
    match (still.is_empty(), cloud) {
        (false, _) => format!("stopped watching: {}", still.join("; ")),
        (true, Cloud::Aws) => format!("stopped watching: {aws_default}"),
        (true, _) => "stopped: every request cloudgrant sent was answered, and nothing it asked for is still going on in the cloud".into(),
    }
}
