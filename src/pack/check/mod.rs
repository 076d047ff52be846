//! `cloudgrant vendor check DIR`: what a vendor runs in its own CI before shipping a pack. Every
//! template is parsed by the code the plan uses; then the rules of docs/vendor-packs.md: every
//! resource says why, no static credentials, cross-account trust requires an ExternalId, writes
//! on `*` without a condition are flagged, every resource has a known fate on revoke. A refusal
//! makes the check fail; a flag is printed for the vendor to weigh.

use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

mod azure;
mod gcp;

use super::Pack;
use crate::model::{Cloud, Effect, PermissionKind, Plan};
use crate::permissions::AccessLevel;
use crate::plan::{self, Choices};
use crate::vendor::VendorProfile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The pack must not ship like this: the check fails.
    Refused,
    /// Worth a look; the check still passes.
    Flagged,
    /// Information (a scanner not installed, a check a template sets aside with its reason).
    Note,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Refused => "REFUSED",
            Level::Flagged => "flagged",
            Level::Note => "note",
        }
    }
}

/// One result of the check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// Which rule: `pack`, `template`, `why`, `static-credentials`, `external-id`,
    /// `write-on-any`, `fate`, `checkov`.
    pub rule: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Cloud>,
    /// The pack file, relative to the pack root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The resource's logical id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub message: String,
}

/// What checkov said, or why it did not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Scan {
    /// The pack has no CloudFormation or ARM template.
    NothingToScan,
    NotInstalled {
        message: String,
    },
    Failed {
        message: String,
    },
    Ran {
        version: Option<String>,
        passed: usize,
        failed: usize,
        set_aside: usize,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub pack: String,
    /// sha256 over the pack's files (docs/vendor-packs.md): what the customer sees.
    pub sha256: Option<String>,
    pub vendor: Option<String>,
    pub clouds: Vec<Cloud>,
    pub findings: Vec<Finding>,
    pub scan: Scan,
    /// The plans the templates give (placeholder org and account): the permission review.
    pub plans: Vec<Plan>,
    pub ok: bool,
}

impl Report {
    pub fn refusals(&self) -> usize {
        self.findings.iter().filter(|f| f.level == Level::Refused).count()
    }
}

/// The org the check renders plans for.
pub const CHECK_ORG: &str = "example";

struct Findings(Vec<Finding>);

impl Findings {
    fn add(
        &mut self,
        level: Level,
        rule: &'static str,
        cloud: Option<Cloud>,
        file: Option<&str>,
        resource: Option<&str>,
        message: impl Into<String>,
    ) {
        self.0.push(Finding {
            level,
            rule,
            cloud,
            file: file.map(String::from),
            resource: resource.map(String::from),
            message: message.into(),
        });
    }
}

/// Check the pack at `dir`; `scan` says whether to run checkov (when it is installed).
pub fn check(dir: &Path, scan: bool) -> Report {
    let mut f = Findings(Vec::new());
    let mut report = Report {
        pack: dir.display().to_string(),
        sha256: None,
        vendor: None,
        clouds: Vec::new(),
        findings: Vec::new(),
        scan: Scan::NothingToScan,
        plans: Vec::new(),
        ok: false,
    };
    let pack = match Pack::load(dir) {
        Ok(p) => p,
        Err(e) => {
            f.add(Level::Refused, "pack", None, None, None, e.to_string());
            report.findings = f.0;
            return report;
        }
    };
    report.sha256 = Some(pack.digest.clone());
    let vendor = match VendorProfile::with_pack(pack.clone()) {
        Ok(v) => v,
        Err(e) => {
            f.add(Level::Refused, "pack", None, Some("vendor.toml"), None, e.to_string());
            report.findings = f.0;
            return report;
        }
    };
    report.vendor = Some(format!("{} ({})", vendor.vendor.name, vendor.vendor.id));
    report.clouds = vendor.clouds();
    for cloud in vendor.clouds() {
        match cloud {
            Cloud::Aws => aws_rules(&pack, &mut f),
            Cloud::Gcp => gcp::rules(&pack, &vendor, &mut f),
            Cloud::Azure => azure::template_rules(&pack, &mut f),
        }
        let choices = Choices {
            org: CHECK_ORG.into(),
            region: plan::default_region(cloud, &vendor),
            account: None,
            external_id: None,
        };
        match plan::build(cloud, &vendor, &choices) {
            Ok(p) => {
                plan_rules(&p, &mut f);
                if cloud == Cloud::Azure {
                    azure::plan_rules(&p, &mut f);
                }
                report.plans.push(p);
            }
            Err(e) => f.add(Level::Refused, "template", Some(cloud), None, None, e.to_string()),
        }
    }
    report.scan = if scan { checkov(&pack, dir, &mut f) } else { Scan::NothingToScan };
    // One finding per cause: the plan's own refusal of a resource repeats a rule's.
    let mut seen = std::collections::BTreeSet::new();
    f.0.retain(|x| seen.insert((x.rule, x.file.clone(), x.resource.clone(), x.message.clone())));
    f.0.sort_by_key(|a| a.level);
    report.findings = f.0;
    report.ok = report.refusals() == 0;
    report
}

/// Resource types that are, or make, long-lived secrets: cloudgrant grants through roles only.
const AWS_STATIC: [&str; 4] =
    ["AWS::IAM::User", "AWS::IAM::AccessKey", "AWS::IAM::UserToGroupAddition", "AWS::IAM::Group"];

fn aws_rules(pack: &Pack, f: &mut Findings) {
    let blueprint = match plan::aws::Blueprint::of(pack) {
        Ok(b) => b,
        // Reported once, by the plan.
        Err(_) => return,
    };
    for s in &blueprint.stacks {
        let file = Some(s.template.file.as_str());
        for r in &s.template.resources {
            let id = Some(r.id.as_str());
            if r.why.as_deref().is_none_or(str::is_empty) {
                f.add(
                    Level::Refused,
                    "why",
                    Some(Cloud::Aws),
                    file,
                    id,
                    "it has no Metadata.cloudgrant.why: one plain line on why the vendor needs it",
                );
            }
            if AWS_STATIC.contains(&r.type_.as_str()) {
                f.add(Level::Refused, "static-credentials", Some(Cloud::Aws), file, id, format!("{} is an IAM user, group or access key: grant through a role the vendor assumes with an ExternalId (temporary credentials), never long-lived keys", r.type_));
            }
            match r.deletion_policy.as_deref() {
                None | Some("Delete" | "Retain") => {}
                Some(other) => f.add(Level::Refused, "fate", Some(Cloud::Aws), file, id, format!("DeletionPolicy {other} has no fate cloudgrant can state on revoke: use Delete (removed) or Retain (kept)")),
            }
        }
    }
}

/// The rules on what the plan grants: trust and writes on `*`; fates and `why` the plan states.
fn plan_rules(plan: &Plan, f: &mut Findings) {
    let cloud = Some(plan.cloud);
    for g in &plan.groups {
        let file = Some(g.template.as_str());
        for r in &g.resources {
            if r.why.trim().is_empty() {
                f.add(
                    Level::Refused,
                    "why",
                    cloud,
                    file,
                    Some(&r.id),
                    "its `why` is empty: one plain line on why the vendor needs it",
                );
            }
        }
        for p in g.permissions.iter().filter(|p| p.effect == Effect::Allow) {
            let holder = Some(p.holder.as_str());
            if p.kind == PermissionKind::Trust && plan.cloud == Cloud::Aws {
                let foreign = p.principal == "*"
                    || crate::permissions::principal::aws_account(&p.principal)
                        .is_some_and(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()));
                if foreign && !has_condition_key(&p.conditions, "sts:ExternalId") {
                    f.add(Level::Refused, "external-id", cloud, file, holder, format!("the trust policy lets {} assume the role without an ExternalId: add Condition StringEquals sts:ExternalId: !Ref ExternalId", p.principal));
                }
            }
            let writes = matches!(p.access_level, Some(AccessLevel::Write | AccessLevel::PermissionsManagement));
            let on_any = p.resources.iter().any(|r| r == "*");
            let unconditioned = p.conditions.as_object().is_none_or(|m| m.is_empty());
            if p.kind == PermissionKind::Identity && writes && on_any && unconditioned {
                f.add(Level::Flagged, "write-on-any", cloud, file, holder, format!("{} may {} on any resource (`*`) without a condition: scope the Resource or add a Condition (e.g. aws:ResourceTag)", p.principal, p.actions.join(", ")));
            }
        }
    }
}

fn has_condition_key(conditions: &Value, key: &str) -> bool {
    conditions
        .as_object()
        .into_iter()
        .flat_map(|ops| ops.values())
        .filter_map(Value::as_object)
        .any(|m| m.keys().any(|k| k.eq_ignore_ascii_case(key)))
}

fn checkov(pack: &Pack, dir: &Path, f: &mut Findings) -> Scan {
    // checkov runs in an empty directory of its own (src/scan.rs): it needs absolute paths.
    let dir = &dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let files: Vec<PathBuf> = pack.scanned().iter().map(|x| dir.join(x.path)).collect();
    if files.is_empty() {
        return Scan::NothingToScan;
    }
    match crate::scan::run(&files) {
        Err(crate::scan::ScanError::NotInstalled { .. }) => Scan::NotInstalled {
            message: format!(
                "checkov is not installed, so the templates were not scanned: `pip install checkov=={}` (or set {}) and run the check again",
                crate::scan::CHECKOV_VERSION,
                crate::scan::CHECKOV_ENV
            ),
        },
        Err(e) => Scan::Failed { message: e.to_string() },
        Ok(r) => {
            let rel = |p: &Path| p.strip_prefix(dir).map(|x| x.display().to_string()).unwrap_or(p.display().to_string());
            for x in &r.failed {
                f.add(Level::Flagged, "checkov", None, Some(&rel(&x.file)), Some(&x.resource), format!("{} {} (lines {}-{})", x.check, x.title, x.lines.0, x.lines.1));
            }
            for x in &r.skipped {
                let reason = x.reason.clone().unwrap_or_else(|| "no reason given".into());
                f.add(Level::Note, "checkov", None, Some(&rel(&x.file)), Some(&x.resource), format!("{} set aside: {reason}", x.check));
            }
            for e in &r.parse_errors {
                f.add(Level::Flagged, "checkov", None, Some(&rel(Path::new(e))), None, "checkov could not parse it");
            }
            Scan::Ran { version: r.version.clone(), passed: r.passed, failed: r.failed.len(), set_aside: r.skipped.len() }
        }
    }
}
