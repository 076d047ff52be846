//! Receipts: what was approved and what happened, for every init and revoke, kept as JSON and
//! Markdown under the user's data directory (`<data dir>/cloudgrant/receipts/`), listed by
//! `cloudgrant receipts` and printed by `cloudgrant receipts show ID`.
//!
//! Layout: this file holds the data (schema in docs/receipts.md) and how it is built from the
//! model; `store` writes, lists and reads them; `markdown` renders one for a ticket. No terminal
//! code: the wizard and the plain commands both build a [`Receipt`] and hand it to
//! [`store::write`].
//!
//! Policy: a receipt holds only what the model holds (plan, installation, revoke plan, residue,
//! events) and who ran it as the Account screen showed; never a credential. What is written is
//! passed through [`crate::redact::redact`] as well.

mod markdown;
pub mod store;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use markdown::{left_and_checks, markdown};

use crate::model::{Check, Cloud, Event, Fate, Installation, Plan, PlanCounts, Residue, RevokePlan};
use crate::vendor::VendorProfile;

/// The receipt format; bumped when a field changes meaning.
pub const SCHEMA: u32 = 1;

/// sha256 of `bytes`, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of the plan as JSON (the same JSON `plan --output json` prints).
pub fn plan_digest(plan: &Plan) -> String {
    sha256_hex(&serde_json::to_vec(plan).unwrap_or_default())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    Init,
    Revoke,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Init => "init",
            Flow::Revoke => "revoke",
        }
    }
}

/// Who ran it: the identity the Account screen (or the plain command) showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Who {
    pub principal: String,
    pub account: String,
    /// Where the credentials came from (a profile name, "sandbox"), never the credentials.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

impl From<&crate::cloud::Identity> for Who {
    fn from(i: &crate::cloud::Identity) -> Self {
        Who {
            principal: i.principal.clone(),
            account: i.account.clone(),
            source: i.source.clone(),
            tenant: i.tenant.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorRef {
    pub name: String,
    pub id: String,
    /// sha256 of the vendor profile's text as loaded.
    pub profile_sha256: String,
    /// sha256 over the vendor pack's files (profile and templates, docs/vendor-packs.md): the
    /// digest the preview and the Confirm screen showed. Empty in receipts of older versions.
    #[serde(default)]
    pub pack_sha256: String,
}

/// One resource as approved on the preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovedResource {
    pub group: String,
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub name: Option<String>,
    /// What the preview said revoke does to it, in the model's words.
    pub on_revoke: String,
}

/// One permission statement as approved on the preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovedPermission {
    pub group: String,
    pub principal: String,
    pub kind: String,
    pub effect: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    #[serde(default)]
    pub conditions: serde_json::Value,
}

/// What the plan asked for, as the preview showed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approved {
    pub plan_sha256: String,
    pub counts: PlanCounts,
    pub groups: Vec<String>,
    pub resources: Vec<ApprovedResource>,
    pub permissions: Vec<ApprovedPermission>,
}

/// How many events the run saw, by status, and the failures among them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventSummary {
    pub total: usize,
    pub by_status: BTreeMap<String, usize>,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// `group resource STATUS: reason` of every failed event.
    pub failures: Vec<String>,
}

impl EventSummary {
    pub fn add(&mut self, e: &Event) {
        self.total += 1;
        *self.by_status.entry(e.status.as_str().to_string()).or_default() += 1;
        self.first = Some(self.first.map_or(e.time, |f| f.min(e.time)));
        self.last = Some(self.last.map_or(e.time, |l| l.max(e.time)));
        if e.status.is_failure() && e.status.as_str().ends_with("_FAILED") {
            let reason = e.reason.as_deref().unwrap_or("no reason given");
            self.failures.push(format!("{} {} {}: {reason}", e.group, e.resource, e.status));
        }
    }

    pub fn of<'a>(events: impl IntoIterator<Item = &'a Event>) -> EventSummary {
        let mut s = EventSummary::default();
        for e in events {
            s.add(e);
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub ok: bool,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<String>,
}

impl Outcome {
    /// The one wording of a run's outcome, for the plain commands and the wizard alike: done, not
    /// done, or stopped by the user (Ctrl-C, a signal) while the cloud carries on.
    pub fn of(flow: Flow, ok: bool, cancelled: bool, root_cause: Option<String>) -> Outcome {
        let summary = match (flow, ok, cancelled) {
            (Flow::Init, true, _) => "created: the install is complete",
            (Flow::Revoke, true, _) => "revoked: the vendor's access is gone",
            (_, false, true) => "stopped watching (Ctrl-C or a signal): the cloud carries on",
            (Flow::Init, false, false) => "the install did not complete",
            (Flow::Revoke, false, false) => "revoke did not complete",
        };
        Outcome { ok, summary: summary.into(), root_cause }
    }
}

/// One resource of a revoke, with the fate the review gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokedResource {
    pub group: String,
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub physical_id: Option<String>,
    pub fate: Fate,
    /// The fate in words, with its date: "scheduled for deletion (2026-12-31)".
    pub fate_words: String,
    pub reason: String,
}

/// What stayed after revoke, in the review's words, and what was checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Left {
    pub fate_words: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub physical_id: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokeRecord {
    pub warnings: Vec<String>,
    pub resources: Vec<RevokedResource>,
    /// Empty until the revoke reported (a run stopped early has none).
    pub left: Vec<Left>,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub schema: u32,
    pub id: String,
    pub flow: Flow,
    pub created: DateTime<Utc>,
    pub tool_version: String,
    pub cloud: Cloud,
    pub account: String,
    pub region: String,
    pub org: String,
    pub who: Option<Who>,
    pub vendor: VendorRef,
    /// Init: what was approved on the preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<Approved>,
    /// Init: what to send the vendor, in order (`None`: not known).
    #[serde(default)]
    pub vendor_received: Vec<(String, Option<String>)>,
    /// Revoke: the review and what it left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<RevokeRecord>,
    pub events: EventSummary,
    pub outcome: Outcome,
}

fn vendor_ref(vendor: &VendorProfile) -> VendorRef {
    VendorRef {
        name: vendor.vendor.name.clone(),
        id: vendor.vendor.id.clone(),
        profile_sha256: vendor.digest.clone(),
        pack_sha256: vendor.pack.digest.clone(),
    }
}

/// `20260115T100000Z-aws-demo-init`: sortable by time, readable, unique with the store's suffix.
pub fn receipt_id(created: DateTime<Utc>, cloud: Cloud, org: &str, flow: Flow) -> String {
    format!("{}-{}-{org}-{}", created.format("%Y%m%dT%H%M%SZ"), cloud.as_str(), flow.as_str())
}

/// What the plan grants, as approved on the preview.
pub fn approved(plan: &Plan) -> Approved {
    let mut resources = Vec::new();
    let mut permissions = Vec::new();
    for g in &plan.groups {
        for r in &g.resources {
            resources.push(ApprovedResource {
                group: g.name.clone(),
                id: r.id.clone(),
                type_: r.type_.clone(),
                name: r.name.clone(),
                on_revoke: r.fate().phrase(),
            });
        }
        for p in &g.permissions {
            permissions.push(ApprovedPermission {
                group: g.name.clone(),
                principal: p.principal.clone(),
                kind: format!("{:?}", p.kind).to_lowercase(),
                effect: format!("{:?}", p.effect),
                actions: p.actions.clone(),
                resources: p.resources.clone(),
                conditions: p.conditions.clone(),
            });
        }
    }
    Approved {
        plan_sha256: plan_digest(plan),
        counts: PlanCounts::of(plan),
        groups: plan.groups.iter().map(|g| g.name.clone()).collect(),
        resources,
        permissions,
    }
}

/// The receipt of an init (apply) of `plan`: `installation` is what the apply reported, if it
/// got that far.
pub fn for_init(
    plan: &Plan,
    vendor: &VendorProfile,
    who: Option<Who>,
    installation: Option<&Installation>,
    events: EventSummary,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Receipt {
    Receipt {
        schema: SCHEMA,
        id: receipt_id(now, plan.cloud, &plan.org, Flow::Init),
        flow: Flow::Init,
        created: now,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        cloud: plan.cloud,
        account: plan.account.clone().unwrap_or_default(),
        region: plan.region.clone(),
        org: plan.org.clone(),
        who,
        vendor: vendor_ref(vendor),
        approved: Some(approved(plan)),
        vendor_received: installation
            .map(|i| i.for_vendor(&plan.send_to_vendor).into_iter().collect())
            .unwrap_or_default(),
        revoke: None,
        events,
        outcome,
    }
}

/// What a revoke left, each in the review's words.
pub fn left_of(residue: &Residue, plan: Option<&RevokePlan>) -> Vec<Left> {
    residue
        .items
        .iter()
        .map(|i| Left {
            fate_words: i.fate(plan).phrase(),
            type_: i.type_.clone(),
            physical_id: i.physical_id.clone(),
            note: i.note.clone(),
        })
        .collect()
}

/// The receipt of a revoke of `plan`; `residue` is what it reported, if it got that far.
pub fn for_revoke(
    plan: &RevokePlan,
    vendor: &VendorProfile,
    who: Option<Who>,
    residue: Option<&Residue>,
    events: EventSummary,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Receipt {
    let inst = &plan.installation;
    let resources = plan
        .groups
        .iter()
        .flat_map(|g| {
            g.resources.iter().map(move |r| RevokedResource {
                group: g.name.clone(),
                id: r.id.clone(),
                type_: r.type_.clone(),
                physical_id: r.physical_id.clone(),
                fate: r.fate(),
                fate_words: r.fate().phrase(),
                reason: r.outcome.reason(),
            })
        })
        .collect();
    let left = residue.map(|r| left_of(r, Some(plan))).unwrap_or_default();
    Receipt {
        schema: SCHEMA,
        id: receipt_id(now, inst.cloud, &inst.org, Flow::Revoke),
        flow: Flow::Revoke,
        created: now,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        cloud: inst.cloud,
        account: inst.account.clone(),
        region: inst.region.clone(),
        org: inst.org.clone(),
        who,
        vendor: vendor_ref(vendor),
        approved: None,
        vendor_received: Vec::new(),
        revoke: Some(RevokeRecord {
            warnings: plan.warnings.clone(),
            resources,
            left,
            checks: residue.map(|r| r.checks.clone()).unwrap_or_default(),
        }),
        events,
        outcome,
    }
}
