//! Revoke step 5, Review: what revoke will do to each resource — deleted, kept (and why),
//! scheduled for deletion (date and the way back), soft-deleted, or will fail (and the fix) —
//! with the warnings first, before anything is asked. On Google Cloud, `x` asks revoke to also
//! empty and delete the data bucket (kept by default); the Confirm step then wants its name typed.
//! On Azure, the facts that outlive revoke come first (the Key Vault soft-deleted and its name
//! reserved, the storage resource group kept), and `x` asks revoke to also delete the vendor's
//! service principal from the tenant (kept by default).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::{content_area, error_lines, waiting_lines, Screen};
use crate::cloud::gcp::{delete_data, DataBucket};
use crate::cloud::CloudError;
use crate::model::{Cloud, Fate, RevokeOutcome, RevokePlan};
use crate::tui::action::{Action, Command};
use crate::tui::app::App;
use crate::tui::theme::Theme;
use crate::tui::widgets::{fate_icon, fate_style, wrap};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviewState {
    pub plan: Option<RevokePlan>,
    pub loading: bool,
    pub error: Option<CloudError>,
    /// The org whose plan is being built; answers for another org are stale.
    pub pending_org: Option<String>,
    pub scroll: usize,
    /// The plan as built (the data bucket kept); `plan` is it, or it with the bucket deleted.
    pub kept_plan: Option<RevokePlan>,
    /// The data buckets revoke will empty and delete (`x`); empty: kept.
    pub delete_data: Vec<DataBucket>,
    /// Why `x` did nothing (AWS, no bucket left).
    pub notice: Option<String>,
    /// Azure: `x` also deletes the vendor's service principal from the tenant (`plan` is then
    /// `kept_plan` switched by `cloud::azure::delete_service_principal`).
    pub delete_service_principal: bool,
}

impl ReviewState {
    pub(crate) fn start_loading(&mut self, org: &str) {
        *self = ReviewState { loading: true, pending_org: Some(org.into()), ..ReviewState::default() };
    }

    pub(crate) fn receive(&mut self, res: Result<Box<RevokePlan>, CloudError>) {
        match res {
            Ok(plan) if self.pending_org.as_deref() == Some(plan.installation.org.as_str()) => {
                self.kept_plan = Some((*plan).clone());
                self.plan = Some(*plan);
                self.delete_data.clear();
                self.delete_service_principal = false;
                self.notice = None;
                self.loading = false;
            }
            Ok(_) => {}
            Err(e) => {
                self.error = Some(e);
                self.loading = false;
            }
        }
    }

    /// `x`: switch between keeping the data bucket and emptying and deleting it.
    pub(crate) fn toggle_delete_data(&mut self) {
        let Some(base) = self.kept_plan.clone() else { return };
        if base.installation.cloud == Cloud::Azure {
            if self.delete_service_principal {
                self.plan = Some(base);
                self.delete_service_principal = false;
                self.notice = None;
                return;
            }
            // The provider's switch: the service principal's item goes from kept to deleted, and
            // the plan's warning says so; the revoke started from here carries it.
            let mut plan = base;
            if crate::cloud::azure::delete_service_principal(&mut plan).is_none() {
                self.notice = Some("This install has no service principal left to delete.".into());
                return;
            }
            self.plan = Some(plan);
            self.delete_service_principal = true;
            self.notice = None;
            return;
        }
        if base.installation.cloud != Cloud::Gcp {
            self.notice = Some(format!(
                "The {} data bucket is retained by its template; revoke never deletes it. Delete it yourself when you no longer need the data.",
                base.installation.cloud.title()
            ));
            return;
        }
        if !self.delete_data.is_empty() {
            self.plan = Some(base);
            self.delete_data.clear();
            self.notice = None;
            return;
        }
        let mut plan = base;
        let buckets = delete_data(&mut plan);
        if buckets.is_empty() {
            self.notice = Some("This install has no data bucket left to delete.".into());
            return;
        }
        self.plan = Some(plan);
        self.delete_data = buckets;
        self.notice = None;
    }
}

/// What stays of an Azure install after revoke, as (resource name, sentence): the Key Vault
/// soft-deleted (how long, its name reserved, purge protection where the review says), the storage
/// resource group and its data account kept.
pub fn azure_facts(plan: &RevokePlan, today: chrono::NaiveDate) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for item in plan.items() {
        let name = item.physical_id.as_deref().map(short_name).unwrap_or(item.id.as_str());
        match (&item.outcome, item.type_.to_ascii_lowercase().as_str()) {
            (RevokeOutcome::SoftDeleted { until, note }, "microsoft.keyvault/vaults") => {
                let when = match until {
                    Some(d) => format!(" until {d} ({} days)", (*d - today).num_days().max(0)),
                    None => String::new(),
                };
                let purge_off = format!(" Purge protection is off: you can purge it sooner (`az keyvault purge --name {name}`) to free the name.");
                let purge = {
                    let n = note.to_ascii_lowercase();
                    if n.contains("purge protection on")
                        || n.contains("purge protection is on")
                        || n.contains("purge protection enabled")
                    {
                        " Purge protection is on: nobody can purge it before then, so the name stays taken.".to_string()
                    } else if n.contains("purge protection off")
                        || n.contains("purge protection is off")
                        || n.contains("purge protection disabled")
                    {
                        purge_off
                    } else {
                        String::new()
                    }
                };
                out.push((
                    name.to_string(),
                    format!(
                        "Key Vault {name} is soft-deleted, not gone: its secrets can be recovered{when}, and its name stays reserved until then or until it is purged.{purge}"
                    ),
                ));
            }
            (RevokeOutcome::Kept { .. }, "microsoft.resources/resourcegroups") => {
                let accounts: Vec<&str> = plan
                    .items()
                    .filter(|i| i.type_.eq_ignore_ascii_case("Microsoft.Storage/storageAccounts"))
                    .filter(|i| matches!(i.outcome, RevokeOutcome::Kept { .. }))
                    .map(|i| i.physical_id.as_deref().map(short_name).unwrap_or(i.id.as_str()))
                    .collect();
                let with = if accounts.is_empty() {
                    String::new()
                } else {
                    format!(" with the data account {}", accounts.join(", "))
                };
                out.push((
                    name.to_string(),
                    format!("The resource group {name} is kept{with}: your data stays, and so does its cost."),
                ));
            }
            _ => {}
        }
    }
    out
}

/// The last segment of an Azure resource id (its name).
fn short_name(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}

/// The lines above the review: the `x` switch (Google Cloud, Azure), Azure's lasting facts, and why
/// `x` did nothing.
fn toggle_lines(r: &ReviewState, plan: &RevokePlan, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if plan.installation.cloud == Cloud::Azure {
        // What the warnings below do not already say about a resource.
        let facts = azure_facts(plan, chrono::Utc::now().date_naive());
        let unsaid = facts.into_iter().filter(|(name, _)| !plan.warnings.iter().any(|w| w.contains(name.as_str())));
        for (_, fact) in unsaid {
            for (i, part) in wrap(&fact, width.saturating_sub(2)).into_iter().enumerate() {
                out.push(Line::styled(format!("{}{part}", if i == 0 { "• " } else { "  " }), t.warn));
            }
        }
        let text = if r.delete_service_principal {
            "x  also delete the vendor's service principal from your tenant: YES. The vendor's application can no longer sign in to your tenant at all; installing again creates it anew. Deleting it needs the Application Administrator or Cloud Application Administrator role."
        } else {
            "x  also delete the vendor's service principal from your tenant: no. It stays, with no role left once revoke ends."
        };
        let style = if r.delete_service_principal { t.danger } else { t.muted };
        for part in wrap(text, width) {
            out.push(Line::styled(part, style));
        }
    }
    if plan.installation.cloud == Cloud::Gcp {
        if r.delete_data.is_empty() {
            out.push(Line::styled("x  also empty and delete the data bucket: no, it is kept with your data", t.muted));
        }
        for b in &r.delete_data {
            let text = format!(
                "x  also empty and delete the data bucket: YES. {} ({}) will be emptied and deleted; Google keeps the objects restorable for 7 days, then they are gone. You type its name to confirm.",
                b.name, b.usage
            );
            for part in wrap(&text, width) {
                out.push(Line::styled(part, t.danger));
            }
        }
    }
    if let Some(n) = &r.notice {
        for part in wrap(n, width) {
            out.push(Line::styled(part, t.warn));
        }
    }
    if !out.is_empty() {
        out.push(Line::raw(""));
    }
    out
}

/// Everything in the review box: the switch, then [`review_lines`].
fn all_lines(r: &ReviewState, plan: &RevokePlan, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = toggle_lines(r, plan, width, t);
    out.extend(review_lines(plan, width, t));
    out
}

fn content_rect(size: (u16, u16)) -> Rect {
    let area = content_area(size);
    let head_h = if area.width < 90 { 3 } else { 2 };
    let [_, content] = Layout::vertical([Constraint::Length(head_h), Constraint::Min(3)]).areas(area);
    content
}

impl App {
    pub(crate) fn update_review(&mut self, action: Action) -> Vec<Command> {
        let rect = content_rect(self.size);
        let h = rect.height.saturating_sub(2).max(1) as usize;
        if action == Action::ToggleDeleteData {
            self.review.toggle_delete_data();
            return Vec::new();
        }
        let Some(plan) = &self.review.plan else { return Vec::new() };
        let width = rect.width.saturating_sub(2) as usize;
        let max = all_lines(&self.review, plan, width, &self.theme).len().saturating_sub(h);
        match action {
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Home | Action::End => {
                self.review.scroll = crate::tui::widgets::scrolled(&action, self.review.scroll.min(max), h, max);
            }
            Action::Select => {
                self.type_confirm = Default::default();
                self.go(Screen::TypeConfirm);
            }
            _ => {}
        }
        Vec::new()
    }
}

/// Every line of the review, wrapped to `width`: warnings, counts, then each group's items, each
/// with its fate in the model's words. Nothing has happened yet: no item carries a ✓.
pub fn review_lines(plan: &RevokePlan, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if !plan.warnings.is_empty() {
        out.push(Line::styled("Read this before you confirm:", t.danger));
        for w in &plan.warnings {
            for (i, part) in wrap(w, width.saturating_sub(4)).into_iter().enumerate() {
                let head = if i == 0 { "  ! " } else { "    " };
                out.push(Line::from(vec![Span::styled(head, t.danger), Span::styled(part, t.warn)]));
            }
        }
        out.push(Line::raw(""));
    }
    let fates: Vec<Fate> = plan.items().chain(plan.leftovers.iter()).map(|i| i.fate()).collect();
    let summary = fate_counts(&fates);
    let failing = fates.contains(&Fate::WillFail);
    for part in wrap(&summary, width) {
        out.push(Line::styled(part, if failing { t.danger } else { t.heading }));
    }
    out.push(Line::raw(""));
    let all = || plan.items().chain(plan.leftovers.iter());
    let id_w = all().map(|i| i.id.chars().count()).max().unwrap_or(10).min(24);
    let phrase_w = all().map(|i| i.fate().phrase().chars().count()).max().unwrap_or(8);
    // What earlier attempts left outside the groups comes last, with its fate, like any item.
    let leftovers = (!plan.leftovers.is_empty()).then(|| ("left by earlier attempts".to_string(), &plan.leftovers));
    let groups = plan.groups.iter().map(|g| (g.name.clone(), &g.resources)).chain(leftovers);
    for (n, (name, resources)) in groups.enumerate() {
        let order = if n == 0 { " · deleted first: the vendor's access ends here" } else { "" };
        for part in wrap(&format!("{}. {name}{order}", n + 1), width) {
            out.push(Line::styled(part, t.heading));
        }
        for item in resources {
            let fate = item.fate();
            let style = fate_style(&fate, t);
            let head = format!("  {} {:<id_w$} ", fate_icon(&fate, false), item.id);
            let phrase = fate.phrase();
            // The type beside the fate (in a column) where it fits, else under the id.
            let wide = head.chars().count() + phrase_w + 2 + item.type_.chars().count() <= width;
            let phrase = if wide { format!("{phrase:<phrase_w$}") } else { phrase };
            if wide {
                out.push(Line::from(vec![
                    Span::styled(head, style),
                    Span::styled(phrase, style),
                    Span::styled(format!("  {}", item.type_), t.muted),
                ]));
            } else {
                out.push(Line::from(vec![Span::styled(head, style), Span::styled(phrase, style)]));
                out.push(Line::styled(format!("      {}", item.type_), t.muted));
            }
            let reason = item.outcome.reason();
            if !reason.is_empty() {
                for part in wrap(&reason, width.saturating_sub(6)) {
                    out.push(Line::from(vec![Span::raw("      "), Span::styled(part, style)]));
                }
            }
        }
        out.push(Line::raw(""));
    }
    out
}

/// "17 deleted · 1 kept (with your data) · 1 scheduled for deletion · 0 will fail": how many
/// resources get each fate, in the model's words, the failures always said.
pub fn fate_counts(fates: &[Fate]) -> String {
    let mut words: Vec<(&str, usize)> = Vec::new();
    for f in fates {
        match words.iter_mut().find(|(w, _)| *w == f.word()) {
            Some((_, n)) => *n += 1,
            None => words.push((f.word(), 1)),
        }
    }
    let order = |w: &str| FATE_ORDER.iter().position(|o| *o == w).unwrap_or(FATE_ORDER.len());
    words.sort_by_key(|(w, _)| order(w));
    if !words.iter().any(|(w, _)| *w == Fate::WillFail.word()) {
        words.push((Fate::WillFail.word(), 0));
    }
    words.iter().map(|(w, n)| format!("{n} {w}")).collect::<Vec<_>>().join(" · ")
}

const FATE_ORDER: [&str; 8] = [
    "deleted",
    "soft-deleted",
    "scheduled for deletion",
    "detached",
    "kept",
    "kept (with your data)",
    "will fail",
    "delete failed",
];

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let r = &app.review;
    let head_h = if area.width < 90 { 3 } else { 2 };
    let [head, content] = Layout::vertical([Constraint::Length(head_h), Constraint::Min(3)]).areas(area);
    let Some(plan) = &r.plan else {
        let lines = match &r.error {
            Some(e) => error_lines(app, e, area.width),
            None => waiting_lines(app, "Checking every resource against the account…"),
        };
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    let inst = &plan.installation;
    let head_lines = vec![
        Line::styled(format!("What revoking org {} will do, resource by resource", inst.org), t.heading),
        Line::styled(
            format!(
                "{} {} · region {} · checked just now · nothing deleted yet",
                inst.cloud.account_word(),
                inst.account,
                inst.region
            ),
            t.muted,
        ),
    ];
    frame.render_widget(Paragraph::new(head_lines).wrap(ratatui::widgets::Wrap { trim: false }), head);
    let h = content.height.saturating_sub(2) as usize;
    let lines = all_lines(r, plan, content.width.saturating_sub(2) as usize, t);
    let top = r.scroll.min(lines.len().saturating_sub(h));
    let end = (top + h).min(lines.len());
    let title = format!(" lines {}-{} of {} ", top + 1, end, lines.len());
    let border = if plan.will_fail() { t.danger } else { t.border };
    let block = Block::bordered().title_bottom(Span::styled(title, t.muted)).border_style(border);
    let visible: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
    frame.render_widget(Paragraph::new(visible).block(block), content);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Installation, RevokeGroup, RevokeItem};
    use chrono::NaiveDate;

    fn item(id: &str, type_: &str, physical: &str, outcome: RevokeOutcome) -> RevokeItem {
        RevokeItem { id: id.into(), type_: type_.into(), physical_id: Some(physical.into()), outcome }
    }

    fn azure_plan(note: &str) -> RevokePlan {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default();
        let sub = "/subscriptions/s/resourceGroups";
        RevokePlan {
            installation: Installation {
                cloud: Cloud::Azure,
                vendor_id: "acmeml".into(),
                org: "demo".into(),
                account: "s".into(),
                region: "westeurope".into(),
                created: None,
                groups: Vec::new(),
                outputs: Default::default(),
                install_id: None,
                health: Default::default(),
                leftovers: Vec::new(),
                strangers: Vec::new(),
            },
            groups: vec![
                RevokeGroup {
                    key: "main".into(),
                    name: "acmeml-demo".into(),
                    id: "m".into(),
                    resources: vec![
                        item(
                            "Vault",
                            "Microsoft.KeyVault/vaults",
                            &format!("{sub}/acmeml-demo/providers/Microsoft.KeyVault/vaults/acmeml-kv-x1y2z3w4"),
                            RevokeOutcome::SoftDeleted { until: Some(day(30)), note: note.into() },
                        ),
                        item(
                            "VendorServicePrincipal",
                            "Microsoft.Graph/servicePrincipals",
                            "sp-object-id",
                            RevokeOutcome::Kept { reason: "it stays in your tenant".into() },
                        ),
                    ],
                },
                RevokeGroup {
                    key: "storage".into(),
                    name: "acmeml-demo-storage".into(),
                    id: "s".into(),
                    resources: vec![
                        item(
                            "StorageGroup",
                            "Microsoft.Resources/resourceGroups",
                            &format!("{sub}/acmeml-demo-storage"),
                            RevokeOutcome::Kept { reason: "your data".into() },
                        ),
                        item(
                            "DataAccount",
                            "Microsoft.Storage/storageAccounts",
                            &format!("{sub}/acmeml-demo-storage/providers/Microsoft.Storage/storageAccounts/acmemldatax1y2z3w4"),
                            RevokeOutcome::Kept { reason: "your data".into() },
                        ),
                    ],
                },
            ],
            warnings: Vec::new(),
            leftovers: Vec::new(),
        }
    }

    #[test]
    fn azure_facts_say_what_outlives_revoke() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        let facts: Vec<String> = azure_facts(&azure_plan("recoverable; purge protection is off"), today)
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        assert_eq!(facts.len(), 2, "{facts:#?}");
        assert!(facts[0].starts_with("Key Vault acmeml-kv-x1y2z3w4 is soft-deleted"), "{}", facts[0]);
        assert!(facts[0].contains("until 2026-11-30 (7 days)"), "{}", facts[0]);
        assert!(facts[0].contains("name stays reserved"), "{}", facts[0]);
        assert!(facts[0].contains("Purge protection is off"), "{}", facts[0]);
        assert_eq!(
            facts[1],
            "The resource group acmeml-demo-storage is kept with the data account acmemldatax1y2z3w4: your data stays, and so does its cost."
        );
        let on = azure_facts(&azure_plan("purge protection is on: it cannot be purged before then"), today);
        assert!(on[0].1.contains("nobody can purge it before then"), "{}", on[0].1);
        let unsaid = azure_facts(&azure_plan(""), today);
        assert_eq!(unsaid[0].0, "acmeml-kv-x1y2z3w4");
        assert!(!unsaid[0].1.contains("Purge protection"), "not claimed when the review does not say: {}", unsaid[0].1);
    }

    #[test]
    fn x_on_azure_switches_the_service_principal_deletion() {
        let mut r = ReviewState::default();
        r.start_loading("demo");
        r.receive(Ok(Box::new(azure_plan(""))));
        assert!(!r.delete_service_principal);
        r.toggle_delete_data();
        assert!(r.delete_service_principal && r.delete_data.is_empty() && r.notice.is_none());
        let sp = |r: &ReviewState| {
            r.plan
                .as_ref()
                .and_then(|p| p.items().find(|i| i.id == "VendorServicePrincipal").map(|i| i.outcome.clone()))
        };
        assert_eq!(sp(&r), Some(RevokeOutcome::Deleted), "the provider's switch was applied");
        let t = Theme::plain();
        let text: String = toggle_lines(&r, r.plan.as_ref().expect("plan"), 200, &t)
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>() + "\n")
            .collect();
        assert!(text.contains("also delete the vendor's service principal from your tenant: YES"), "{text}");
        assert!(text.contains("Key Vault acmeml-kv-x1y2z3w4 is soft-deleted"), "{text}");
        r.toggle_delete_data();
        assert!(!r.delete_service_principal);
        assert_eq!(r.plan, r.kept_plan, "back to the plan as built");
        // A fresh plan starts with it off again.
        r.toggle_delete_data();
        r.start_loading("demo");
        r.receive(Ok(Box::new(azure_plan(""))));
        assert!(!r.delete_service_principal);
    }
}
