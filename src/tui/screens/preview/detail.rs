//! The detail of the selected line: every flag with its explanation, where the statement is
//! written, the statement itself as JSON, and for a wildcard the actions it stands for; for a
//! resource, which networks may reach it and each scanner check its template sets aside on
//! purpose, with the reason.

use ratatui::text::{Line, Span};
use serde_json::{json, Map, Value};

use super::permissions::{action_text, level_words, service_title};
use super::rows::{field, hanging, severity_style, Item};
use super::trust::{kind_words, role_label};
use crate::model::{Cloud, Effect, Permission, PermissionKind, Plan, Resource};
use crate::permissions::{describe_principal, is_wildcard, Context, PrincipalKind, Review, Risk, SourceLocation};
use crate::tui::theme::Theme;
use crate::tui::widgets::{count, wrap};

/// The statement as an AWS policy document holds it; other clouds' grants (a role binding, a
/// role assignment) in the same terms, lower case: effect, principal, actions, resources,
/// conditions.
pub fn statement_json(cloud: Cloud, p: &Permission, kind: PrincipalKind) -> String {
    if cloud != Cloud::Aws {
        let mut m = Map::new();
        m.insert("effect".into(), json!(if p.effect == Effect::Deny { "deny" } else { "allow" }));
        m.insert("principal".into(), json!(p.principal));
        m.insert("role".into(), json!(p.policy));
        m.insert("actions".into(), json!(p.actions));
        m.insert("resources".into(), json!(p.resources));
        if !no_conditions(p) {
            m.insert("conditions".into(), p.conditions.clone());
        }
        let v = Value::Object(m);
        return serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string());
    }
    let mut m = Map::new();
    if let Some(sid) = &p.sid {
        m.insert("Sid".into(), json!(sid));
    }
    let effect = match p.effect {
        Effect::Allow => "Allow",
        Effect::Deny => "Deny",
    };
    m.insert("Effect".into(), json!(effect));
    if p.kind != PermissionKind::Identity {
        let principal = match kind {
            PrincipalKind::Anyone => json!("*"),
            PrincipalKind::Service => json!({ "Service": p.principal }),
            PrincipalKind::Federated => json!({ "Federated": p.principal }),
            _ => json!({ "AWS": p.principal }),
        };
        m.insert("Principal".into(), principal);
    }
    m.insert("Action".into(), json!(p.actions));
    if !p.resources.is_empty() {
        m.insert("Resource".into(), json!(p.resources));
    }
    if !no_conditions(p) {
        m.insert("Condition".into(), p.conditions.clone());
    }
    let v = Value::Object(m);
    serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
}

fn no_conditions(p: &Permission) -> bool {
    p.conditions.is_null() || p.conditions.as_object().is_some_and(|o| o.is_empty())
}

/// JSON lines wrapped to `width`, continuations indented under their line.
fn json_lines(json: &str, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for line in json.lines() {
        let indent = line.len() - line.trim_start().len();
        let pad = 2 + indent;
        for (i, part) in
            wrap(line.trim_start(), width.saturating_sub(pad + 2 * usize::from(indent > 0))).into_iter().enumerate()
        {
            let lead = if i == 0 { " ".repeat(pad) } else { " ".repeat(pad + 2) };
            out.push(Line::from(vec![Span::raw(lead), Span::styled(part, t.text)]));
        }
    }
    out
}

fn source_line(src: Option<&SourceLocation>, cloud: Cloud, width: usize, t: &Theme) -> Vec<Line<'static>> {
    match src {
        Some(s) => field(0, "written at", &[(format!("assets/{s}"), t.text)], width, t),
        // Not in a template: the Azure service principal is made through Microsoft Graph.
        None if cloud == Cloud::Azure => field(
            0,
            "made by",
            &[("cloudgrant, through Microsoft Graph, before the stacks".to_string(), t.muted)],
            width,
            t,
        ),
        None => field(0, "made by", &[("cloudgrant itself (not read from a template)".to_string(), t.muted)], width, t),
    }
}

fn flag_lines(risks: &[Risk], width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![Line::styled("Flags", t.heading)];
    if risks.is_empty() {
        out.push(Line::styled("  none", t.muted));
    }
    let mut sorted: Vec<&Risk> = risks.iter().collect();
    sorted.sort_by_key(|r| std::cmp::Reverse(r.severity));
    for r in sorted {
        let style = severity_style(t, Some(r.severity));
        out.extend(hanging(
            vec![Span::raw("  ")],
            &[(format!("{} · {}", r.severity, r.kind.label()), style), (format!(": {}", r.explanation), t.text)],
            width,
        ));
    }
    out
}

fn statement_lines(cloud: Cloud, p: &Permission, kind: PrincipalKind, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![Line::raw("")];
    let head = if cloud == Cloud::Aws {
        let policy = match p.kind {
            PermissionKind::Trust => "trust policy",
            PermissionKind::Identity => "identity policy",
            PermissionKind::Resource => "resource policy",
        };
        // "trust policy" already says what it is; "VendorMachineManagement" does not.
        let name = if p.policy.to_lowercase().contains("polic") {
            p.policy.clone()
        } else {
            format!("{} ({policy})", p.policy)
        };
        let sid = p.sid.as_deref().unwrap_or("(no Sid)");
        [("Statement ".to_string(), t.heading), (format!("{sid} in {name} of {}", p.holder), t.muted)]
    } else {
        [("Grant ".to_string(), t.heading), (format!("{} of {}", p.policy, p.holder), t.muted)]
    };
    out.extend(hanging(vec![], &head, width));
    out.extend(json_lines(&statement_json(cloud, p, kind), width, t));
    out
}

/// Every line of the detail of `item`; empty when it has none (resources, parameters).
pub fn lines(plan: &Plan, review: &Review, item: Item, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let ctx = Context::from_plan(plan);
    let kind_of = |p: &Permission| describe_principal(&p.principal, &ctx).kind;
    let text = |s: &str| vec![(s.to_string(), t.text)];
    let mut out = Vec::new();
    match item {
        Item::Trust(i) => {
            let Some(e) = review.trust.get(i) else { return out };
            out.extend(hanging(
                vec![],
                &[
                    (e.label.clone(), t.heading),
                    (" may act as ".into(), t.text),
                    (role_label(review, &e.role), t.heading),
                ],
                width,
            ));
            out.extend(field(
                0,
                "principal",
                &[(e.principal.clone(), t.text), (format!(" · {}", kind_words(e.kind)), t.muted)],
                width,
                t,
            ));
            // An Azure service principal's trust names no action: no empty "may" line.
            if !e.actions.is_empty() {
                out.extend(field(0, "may", &text(&e.actions.join(", ")), width, t));
            }
            out.extend(field(0, "only when", &text(e.conditions.as_deref().unwrap_or("no condition")), width, t));
            out.extend(source_line(e.source.as_ref(), plan.cloud, width, t));
            out.push(Line::raw(""));
            out.extend(flag_lines(&e.risks, width, t));
            if let Some(p) = e.at.get(plan) {
                out.extend(statement_lines(plan.cloud, p, e.kind, width, t));
            }
        }
        Item::Grant { principal, service, level, grant } => {
            let Some(pa) = review.principals.get(principal) else { return out };
            let Some(svc) = pa.services.get(service) else { return out };
            let Some(l) = svc.levels.get(level) else { return out };
            let Some(g) = l.grants.get(grant) else { return out };
            let (level_name, level_meaning) = level_words(l.level);
            out.extend(hanging(vec![], &[(action_text(g), t.heading)], width));
            out.extend(field(0, "who", &text(&pa.label), width, t));
            out.extend(field(0, "service", &text(&service_title(&svc.name, &svc.service)), width, t));
            out.extend(field(
                0,
                "level",
                &[(level_name.to_string(), t.text), (format!(" · {level_meaning}"), t.muted)],
                width,
                t,
            ));
            out.extend(field(0, "on", &text(&g.on), width, t));
            let cond = match &g.conditions {
                Some(c) => (c.clone(), t.warn),
                None => ("no condition".to_string(), t.muted),
            };
            out.extend(field(0, "only when", &[cond], width, t));
            out.extend(source_line(g.source.as_ref(), plan.cloud, width, t));
            out.push(Line::raw(""));
            out.extend(flag_lines(&g.risks, width, t));
            if let Some(p) = g.at.get(plan) {
                out.extend(statement_lines(plan.cloud, p, kind_of(p), width, t));
            }
            if is_wildcard(&g.action) {
                out.push(Line::raw(""));
                let n = g.count.map_or("an unknown number of".to_string(), count);
                out.extend(hanging(
                    vec![],
                    &[(format!("{} stands for {n} {level_name} actions", g.action), t.heading)],
                    width,
                ));
                out.extend(g.matched.iter().map(|a| Line::styled(format!("  {a}"), t.text)));
                let listed = g.matched.len();
                if g.count.is_none_or(|c| c > listed) {
                    let more =
                        g.count.map(|c| format!("{} more", count(c - listed))).unwrap_or_else(|| "others".into());
                    out.extend(hanging(
                        vec![Span::raw("  ")],
                        &[(
                            format!("{more}: the bundled reference counts them but does not list them by name"),
                            t.muted,
                        )],
                        width,
                    ));
                }
            }
        }
        Item::Protection { index, action } => {
            let Some(d) = review.protections.get(index) else { return out };
            let a = d.actions.get(action).map(String::as_str).unwrap_or("");
            out.extend(hanging(vec![], &[(format!("{a} refused"), t.heading)], width));
            out.extend(field(0, "to", &text(&d.label), width, t));
            out.extend(field(0, "on", &text(&d.resources.join(", ")), width, t));
            out.extend(field(0, "only when", &text(d.conditions.as_deref().unwrap_or("always")), width, t));
            out.extend(source_line(d.source.as_ref(), plan.cloud, width, t));
            out.push(Line::raw(""));
            out.extend(flag_lines(&d.risks, width, t));
            if let Some(p) = d.at.get(plan) {
                out.extend(statement_lines(plan.cloud, p, kind_of(p), width, t));
            }
        }
        Item::Resource { group, index } => {
            let Some(r) = plan.groups.get(group).and_then(|g| g.resources.get(index)) else { return out };
            // No scanner reads cloudgrant's own Google Cloud format: nothing to say either way.
            out.extend(resource_lines(r, plan.cloud != Cloud::Gcp, width, t));
        }
        Item::Parameter { .. } => {}
    }
    out
}

/// A resource: what it is, which networks may reach it, and what its template leaves undone on
/// purpose (the checks a scanner would report, each with the template's reason).
fn resource_lines(r: &Resource, scanned: bool, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let text = |s: &str| vec![(s.to_string(), t.text)];
    let mut out = hanging(vec![], &[(r.id.clone(), t.heading), (format!(" · {}", r.type_), t.muted)], width);
    if let Some(n) = &r.name {
        out.extend(field(0, "name", &text(n), width, t));
    }
    out.extend(field(0, "why", &text(&r.why), width, t));
    if let Some(n) = &r.network {
        out.extend(field(0, "network", &text(n), width, t));
    }
    if !scanned {
        return out;
    }
    out.push(Line::raw(""));
    if r.exceptions.is_empty() {
        out.extend(hanging(
            vec![],
            &[
                ("Not done, on purpose: ".into(), t.heading),
                ("nothing (no scanner check is set aside)".into(), t.muted),
            ],
            width,
        ));
    }
    for e in &r.exceptions {
        out.extend(hanging(
            vec![],
            &[
                ("Not done, on purpose: ".into(), t.heading),
                (e.reason.clone(), t.text),
                (format!(" (checkov {})", e.check), t.muted),
            ],
            width,
        ));
    }
    out
}

/// The detail pane when no line is selected (the filter keeps none).
pub fn empty(t: &Theme) -> Vec<Line<'static>> {
    vec![Line::styled("No line is selected.", t.muted)]
}
