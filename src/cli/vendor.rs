//! `cloudgrant vendor check DIR`: the pack check a vendor runs before shipping (src/pack/check.rs
//! has the rules). Text for a person, JSON for CI, Markdown for a review ticket; exits 1 on any
//! refusal.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Subcommand;

use super::{render, Failure, Output};
use crate::pack::check::{self, Level, Report, Scan};

#[derive(Debug, Subcommand)]
pub enum VendorCommand {
    /// Check a vendor pack: every template parses, every resource says why, no static
    /// credentials, cross-account trust needs an ExternalId, writes on `*` are flagged, every
    /// resource has a known fate on revoke; then checkov (when installed) and the permission
    /// review. Exits 1 on any refusal.
    Check {
        /// The pack directory (vendor.toml, aws/, gcp/, azure/).
        dir: PathBuf,
        /// How to print it: text, json (for CI), or markdown.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
        /// Do not run checkov even when it is installed.
        #[arg(long = "no-scan")]
        no_scan: bool,
    },
}

pub fn run(command: VendorCommand) -> Result<(), Failure> {
    let VendorCommand::Check { dir, output, no_scan } = command;
    let report = check::check(&dir, !no_scan);
    match output {
        Output::Json => println!("{}", super::to_json(&report)?),
        Output::Text => print!("{}", text(&report)),
        Output::Markdown => print!("{}", markdown(&report)),
    }
    if report.ok {
        return Ok(());
    }
    Err(Failure {
        message: format!("the vendor pack {} is refused: {} refusal(s)", report.pack, report.refusals()),
        next_step: "Fix what is marked REFUSED above and run `cloudgrant vendor check` again.".into(),
        code: 1,
    })
}

fn scan_line(scan: &Scan) -> String {
    match scan {
        Scan::NothingToScan => "checkov: not run (no CloudFormation or ARM template, or --no-scan)".into(),
        Scan::NotInstalled { message } => format!("checkov: {message}"),
        Scan::Failed { message } => format!("checkov: did not run to the end: {message}"),
        Scan::Ran { version, passed, failed, set_aside } => format!(
            "checkov {}: {passed} passed, {failed} failed, {set_aside} set aside by the templates",
            version.as_deref().unwrap_or("(version unknown)")
        ),
    }
}

fn where_(f: &check::Finding) -> String {
    let mut at: Vec<String> = Vec::new();
    if let Some(file) = &f.file {
        at.push(file.clone());
    }
    if let Some(r) = &f.resource {
        at.push(r.clone());
    }
    if at.is_empty() {
        String::new()
    } else {
        format!("{}: ", at.join(" "))
    }
}

pub fn text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "cloudgrant vendor check {}", r.pack);
    if let Some(v) = &r.vendor {
        let clouds: Vec<&str> = r.clouds.iter().map(|c| c.as_str()).collect();
        let _ = writeln!(s, "vendor {v} · clouds {}", clouds.join(", "));
    }
    if let Some(d) = &r.sha256 {
        let _ = writeln!(s, "pack sha256 {d}");
    }
    let _ = writeln!(s, "{}", scan_line(&r.scan));
    let _ = writeln!(s);
    for f in &r.findings {
        let _ = writeln!(s, "{:<8} [{}] {}{}", f.level.word(), f.rule, where_(f), f.message);
    }
    let flagged = r.findings.iter().filter(|f| f.level == Level::Flagged).count();
    let _ = writeln!(
        s,
        "\n{}: {} refused, {flagged} flagged",
        if r.ok { "pack accepted" } else { "pack REFUSED" },
        r.refusals()
    );
    for p in &r.plans {
        let _ = writeln!(s, "\n--- permission review ({}, org {}) ---", p.cloud.title(), p.org);
        s.push_str(&render::plan_text(p));
    }
    s
}

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# cloudgrant vendor check: `{}`\n", r.pack);
    if let Some(v) = &r.vendor {
        let _ = writeln!(s, "- Vendor: {v}");
    }
    if let Some(d) = &r.sha256 {
        let _ = writeln!(s, "- Pack sha256: `{d}`");
    }
    let _ = writeln!(s, "- {}", scan_line(&r.scan));
    let _ = writeln!(s, "- Result: **{}** ({} refused)\n", if r.ok { "accepted" } else { "refused" }, r.refusals());
    if !r.findings.is_empty() {
        let _ = writeln!(s, "| Level | Rule | Where | What |\n|---|---|---|---|");
        for f in &r.findings {
            let at = where_(f);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                f.level.word(),
                f.rule,
                at.trim_end_matches(": ").replace('|', "\\|"),
                f.message.replace('|', "\\|")
            );
        }
        let _ = writeln!(s);
    }
    for p in &r.plans {
        s.push_str(&render::plan_markdown(p));
        let _ = writeln!(s);
    }
    s
}
