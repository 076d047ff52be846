//! How much a plan grants, counted once for every screen and output (Confirm, the Permissions
//! tab's title, `plan` text and Markdown, `init`, receipts), each number naming what it counts:
//! resources, permission statements (of which trust), actions as written (one line of the
//! Permissions tab each: a wildcard is one), and how many of those carry a high, medium or low
//! flag as their worst.

use serde::{Deserialize, Serialize};

use super::Plan;
use crate::permissions::{Review, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanCounts {
    pub resources: usize,
    pub statements: usize,
    pub trust: usize,
    /// Actions as written, granted or refused (the Permissions tab's lines).
    pub actions: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
}

fn worst(risks: &[crate::permissions::Risk]) -> Option<Severity> {
    risks.iter().map(|r| r.severity).max()
}

impl PlanCounts {
    pub fn of(plan: &Plan) -> PlanCounts {
        Self::of_review(plan, &crate::permissions::review(plan))
    }

    pub fn of_review(plan: &Plan, review: &Review) -> PlanCounts {
        let mut c = PlanCounts {
            resources: plan.resource_count(),
            statements: plan.permission_count(),
            trust: plan.trust().count(),
            ..PlanCounts::default()
        };
        let mut tally = |w: Option<Severity>, n: usize| {
            c.actions += n;
            match w {
                Some(Severity::High) => c.high += n,
                Some(Severity::Medium) => c.medium += n,
                Some(Severity::Low) => c.low += n,
                _ => {}
            }
        };
        for g in review.principals.iter().flat_map(|p| &p.services).flat_map(|s| &s.levels).flat_map(|l| &l.grants) {
            tally(worst(&g.risks), 1);
        }
        for d in &review.protections {
            tally(worst(&d.risks), d.actions.len());
        }
        c
    }

    /// "0 high, 6 medium, 3 low": actions by their worst flag.
    pub fn flags(&self) -> String {
        format!("{} high, {} medium, {} low", self.high, self.medium, self.low)
    }

    /// The worst flag there is, as the tab title says it ("6 medium"); `None` when none.
    pub fn worst_flag(&self) -> Option<String> {
        match (self.high, self.medium) {
            (0, 0) => None,
            (0, m) => Some(format!("{m} medium")),
            (h, _) => Some(format!("{h} high")),
        }
    }

    /// "19 resources · 16 permission statements (2 trust), 32 actions (0 high, 6 medium, 3 low)".
    pub fn summary(&self) -> String {
        format!(
            "{} · {} ({} trust), {} ({})",
            plural(self.resources, "resource"),
            plural(self.statements, "permission statement"),
            self.trust,
            plural(self.actions, "action"),
            self.flags()
        )
    }
}

pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
