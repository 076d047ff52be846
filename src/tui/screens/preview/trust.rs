//! The Trust tab: who may act as which role, on what condition, and what that role may then do.

use ratatui::text::Line;

use super::rows::{field, flag_segments, hanging, item_head, Entry, Item};
use crate::permissions::{PrincipalKind, Review, Risk, RiskKind, Severity, TrustEntry};
use crate::tui::theme::Theme;

/// What kind of principal it is, in words.
pub fn kind_words(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Anyone => "anyone at all",
        PrincipalKind::Vendor => "the vendor's own account",
        PrincipalKind::OwnAccount => "your own account",
        PrincipalKind::OtherAccount => "another account, not the vendor's",
        PrincipalKind::Role => "a role this plan creates",
        PrincipalKind::Service => "a cloud service",
        PrincipalKind::Federated => "identities from an identity provider",
        PrincipalKind::Other => "another principal",
    }
}

pub fn worst(risks: &[Risk]) -> Option<Severity> {
    risks.iter().map(|r| r.severity).max()
}

/// The ExternalId line of a trust entry, where one applies.
fn external_id(e: &TrustEntry, t: &Theme) -> Option<Vec<(String, ratatui::style::Style)>> {
    if e.risks.iter().any(|r| r.kind == RiskKind::ExternalIdMissing) {
        return Some(vec![
            ("MISSING".into(), t.danger),
            (": anyone that account lets act may use this role".into(), t.text),
        ]);
    }
    if e.risks.iter().any(|r| r.kind == RiskKind::ExternalIdPresent) {
        return Some(vec![
            ("required".into(), t.ok),
            (": only with the ExternalId you give the vendor".into(), t.muted),
        ]);
    }
    None
}

/// The grants a role has, for the "then" line.
fn then_line(review: &Review, role: &str) -> Option<(usize, Option<Severity>)> {
    let pa = review.principals.iter().find(|p| p.key == role)?;
    let grants = pa.services.iter().flat_map(|s| &s.levels).map(|l| l.grants.len()).sum();
    Some((grants, pa.worst))
}

/// "role acmeml-demo-vendor" (or "service account …" on GCP): the Permissions tab's name for
/// the role the entry lets its principal act as.
pub fn role_label(review: &Review, role: &str) -> String {
    review.principals.iter().find(|p| p.key == role).map_or_else(|| format!("role {role}"), |p| p.label.clone())
}

pub fn entries(review: &Review, width: usize, t: &Theme) -> Vec<Entry> {
    let azure = review.cloud == crate::model::Cloud::Azure;
    let title = Line::styled(
        match review.cloud {
            crate::model::Cloud::Aws => "Who can act in your account, and as whom",
            crate::model::Cloud::Gcp => "Who can act in your project, and as whom",
            crate::model::Cloud::Azure => "Who can sign in to your tenant, and what it may then do",
        },
        t.heading,
    );
    let mut out = vec![Entry::heading(0, vec![title, Line::raw("")])];
    if review.trust.is_empty() {
        out.push(Entry::heading(0, vec![Line::styled("Nobody: no role of this plan can be assumed.", t.muted)]));
    }
    for (i, e) in review.trust.iter().enumerate() {
        let title: Vec<(String, ratatui::style::Style)> = if azure {
            vec![(e.label.clone(), t.heading), (" signs in to your tenant as a service principal".to_string(), t.text)]
        } else {
            vec![
                (e.label.clone(), t.heading),
                (" may act as ".to_string(), t.text),
                (role_label(review, &e.role), t.heading),
            ]
        };
        let mut lines = hanging(item_head(0), &title, width);
        let mut body = Vec::new();
        let kind = match e.kind {
            PrincipalKind::Vendor if azure => "the vendor's own application",
            k => kind_words(k),
        };
        body.extend(field(4, "principal", &[(e.principal.clone(), t.text), (format!(" · {kind}"), t.muted)], width, t));
        if !e.actions.is_empty() || !azure {
            body.extend(field(4, "may", &[(e.actions.join(", "), t.text)], width, t));
        }
        let cond = match &e.conditions {
            Some(c) => (c.clone(), t.warn),
            None => ("no condition".to_string(), t.muted),
        };
        body.extend(field(4, "only when", &[cond], width, t));
        if let Some(x) = external_id(e, t) {
            body.extend(field(4, "ExternalId", &x, width, t));
        }
        let mut flags = flag_segments(&e.risks, t);
        if flags.is_empty() {
            flags.push(("none".into(), t.muted));
        }
        body.extend(field(4, "flags", &flags, width, t));
        if let Some((n, w)) = then_line(review, &e.role) {
            let worst = w.map(|w| format!("; worst flag: {w}")).unwrap_or_default();
            let text = format!("acts with the {n} grants of {} (Permissions tab{worst})", role_label(review, &e.role));
            body.extend(field(4, "then", &[(text, t.muted)], width, t));
        }
        lines.extend(body);
        lines.push(Line::raw(""));
        let search = [
            e.principal.as_str(),
            e.label.as_str(),
            e.role.as_str(),
            &e.actions.join(" "),
            e.conditions.as_deref().unwrap_or(""),
        ];
        out.push(Entry::item(1, Item::Trust(i), lines, &search, worst(&e.risks)));
    }
    out
}
