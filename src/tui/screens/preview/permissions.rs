//! The Permissions tab: who can do what, principal → service → access level, one line per grant
//! (an action as written, a wildcard with the number of actions it stands for), its flags and
//! what it is on; then the Deny statements, one line per action they refuse.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::rows::{flag_segments, hanging, item_head, severity_style, Entry, Item};
use super::trust::worst;
use crate::model::Plan;
use crate::permissions::resources::phrases;
use crate::permissions::{is_wildcard, AccessLevel, Grant, PrincipalAccess, Review, Severity};
use crate::tui::theme::Theme;
use crate::tui::widgets::count;

/// An access level's name and what it means, for a non-expert.
pub fn level_words(level: Option<AccessLevel>) -> (&'static str, &'static str) {
    match level {
        Some(AccessLevel::List) => ("List", "see which resources exist"),
        Some(AccessLevel::Read) => ("Read", "read contents and settings"),
        Some(AccessLevel::Tagging) => ("Tagging", "add or remove tags"),
        Some(AccessLevel::Write) => ("Write", "create, change, delete, start, stop"),
        Some(AccessLevel::PermissionsManagement) => ("Permissions management", "change who may do what"),
        None => ("Unknown", "not in the bundled reference: the preview cannot say what these allow"),
    }
}

/// The action as written; a wildcard with how many actions of its level it stands for.
pub fn action_text(g: &Grant) -> String {
    if !is_wildcard(&g.action) {
        return g.action.clone();
    }
    match g.count {
        Some(1) => format!("{} → 1 action", g.action),
        Some(n) => format!("{} → {} actions", g.action, count(n)),
        None => format!("{} → ? actions", g.action),
    }
}

/// "Amazon EC2 (ec2)"; just "compute" where the service has no other name.
pub fn service_title(name: &str, prefix: &str) -> String {
    if name == prefix {
        prefix.to_string()
    } else {
        format!("{name} ({prefix})")
    }
}

/// Every grant of the review with its place: (principal, service, level, grant).
pub fn grants(review: &Review) -> impl Iterator<Item = ((usize, usize, usize, usize), &Grant)> {
    review.principals.iter().enumerate().flat_map(|(pi, pa)| {
        pa.services.iter().enumerate().flat_map(move |(si, s)| {
            s.levels
                .iter()
                .enumerate()
                .flat_map(move |(li, l)| l.grants.iter().enumerate().map(move |(gi, g)| ((pi, si, li, gi), g)))
        })
    })
}

/// The principal as written in its statements, unless its label already says it.
fn written_as(pa: &PrincipalAccess, plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in pa.services.iter().flat_map(|s| &s.levels).flat_map(|l| &l.grants) {
        if let Some(p) = g.at.get(plan) {
            if !out.contains(&p.principal) {
                out.push(p.principal.clone());
            }
        }
    }
    if out.iter().all(|w| pa.label.contains(w.as_str())) {
        out.clear();
    }
    out
}

/// An action too long for `room` columns, cut after a `/` (Azure operations are long paths),
/// else hard: every piece but the last ends where it was cut.
fn break_action(action: &str, room: usize) -> Vec<String> {
    let room = room.max(8);
    let mut out = Vec::new();
    let mut rest: Vec<char> = action.chars().collect();
    while rest.len() > room {
        let cut = rest[..room].iter().rposition(|c| *c == '/').map_or(room, |i| i + 1);
        out.push(rest[..cut].iter().collect());
        rest.drain(..cut);
    }
    out.push(rest.into_iter().collect());
    out
}

/// One item line: marker, the action in a column `aw` wide, then `rest` wrapped beside it. An
/// action longer than the column has its own line; one longer than the line goes on, indented,
/// on the next lines.
fn grant_lines(
    action: &str,
    action_style: Style,
    aw: usize,
    rest: &[(String, Style)],
    width: usize,
) -> Vec<Line<'static>> {
    let mut head = item_head(4);
    let n = action.chars().count();
    if n <= aw {
        head.push(Span::styled(format!("{action:<aw$}  "), action_style));
        return hanging(head, rest, width);
    }
    let pieces = break_action(action, width.saturating_sub(6));
    head.push(Span::styled(pieces[0].clone(), action_style));
    let mut out = vec![Line::from(head)];
    for p in &pieces[1..] {
        out.push(Line::from(vec![Span::raw(" ".repeat(8)), Span::styled(p.clone(), action_style)]));
    }
    if !rest.is_empty() {
        out.extend(hanging(vec![Span::raw(" ".repeat(6 + aw + 2))], rest, width));
    }
    out
}

pub fn entries(review: &Review, plan: &Plan, width: usize, t: &Theme) -> Vec<Entry> {
    let longest = grants(review)
        .map(|(_, g)| action_text(g).chars().count())
        .chain(review.protections.iter().flat_map(|d| d.actions.iter().map(|a| a.chars().count())))
        .max()
        .unwrap_or(10);
    let aw = longest.min(width * 2 / 5);
    let mut out = Vec::new();
    if review.principals.is_empty() {
        out.push(Entry::heading(0, vec![Line::styled("Nothing is granted.", t.muted)]));
    }
    for (pi, pa) in review.principals.iter().enumerate() {
        let mut lines = Vec::new();
        if pi > 0 {
            lines.push(Line::raw(""));
        }
        let mut title = vec![(pa.label.clone(), t.heading)];
        if !pa.assumed_by.is_empty() {
            title.push((format!(" · assumed by {}", pa.assumed_by.join(", ")), t.muted));
        }
        lines.extend(hanging(vec![], &title, width));
        let written = written_as(pa, plan);
        if !written.is_empty() {
            lines.extend(hanging(
                vec![Span::raw("  ")],
                &[(format!("written as {}", written.join(", ")), t.muted)],
                width,
            ));
        }
        out.push(Entry::heading(0, lines));
        for (si, svc) in pa.services.iter().enumerate() {
            out.push(Entry::heading(
                1,
                vec![Line::from(vec![
                    Span::styled(format!("  {}", svc.name), t.text.patch(t.heading)),
                    Span::styled(
                        if svc.name == svc.service { String::new() } else { format!(" ({})", svc.service) },
                        t.muted,
                    ),
                ])],
            ));
            for (li, level) in svc.levels.iter().enumerate() {
                let (name, words) = level_words(level.level);
                out.push(Entry::heading(
                    2,
                    vec![Line::from(vec![
                        Span::styled(format!("    {name}"), t.text),
                        Span::styled(format!(" · {words}"), t.muted),
                    ])],
                ));
                for (gi, g) in level.grants.iter().enumerate() {
                    // Info flags are facts, not risks: the detail explains them.
                    let risky: Vec<_> = g.risks.iter().filter(|r| r.severity > Severity::Info).cloned().collect();
                    let mut rest = flag_segments(&risky, t);
                    let mut add = |text: String, style: Style| {
                        if !rest.is_empty() {
                            rest.push((" · ".into(), t.muted));
                        }
                        rest.push((text, style));
                    };
                    add(g.on.clone(), t.muted);
                    if g.conditions.is_some() {
                        add("with conditions".into(), t.warn);
                    }
                    let style = severity_style(t, worst(&g.risks).filter(|s| *s >= Severity::Medium)).patch(t.text);
                    let lines = grant_lines(&action_text(g), style, aw, &rest, width);
                    let written = g.at.get(plan).map(|p| p.principal.as_str()).unwrap_or("");
                    let search = [
                        pa.key.as_str(),
                        pa.label.as_str(),
                        written,
                        svc.service.as_str(),
                        svc.name.as_str(),
                        name,
                        g.action.as_str(),
                        &g.matched.join(" "),
                        &g.resources.join(" "),
                        g.on.as_str(),
                        g.sid.as_deref().unwrap_or(""),
                        g.conditions.as_deref().unwrap_or(""),
                    ];
                    let item = Item::Grant { principal: pi, service: si, level: li, grant: gi };
                    out.push(Entry::item(3, item, lines, &search, worst(&g.risks)));
                }
            }
        }
    }
    if !review.protections.is_empty() {
        out.push(Entry::heading(
            0,
            vec![
                Line::raw(""),
                Line::from(vec![
                    Span::styled("Refused", t.heading),
                    Span::styled(" · Deny statements take access away and grant nothing", t.muted),
                ]),
            ],
        ));
        for (di, d) in review.protections.iter().enumerate() {
            for (ai, action) in d.actions.iter().enumerate() {
                let on = phrases(&d.resources);
                let mut rest = vec![(format!("refused to {}", d.label), t.ok), (format!(" · on {on}"), t.muted)];
                if let Some(c) = &d.conditions {
                    rest.push((format!(" · only when {c}"), t.warn));
                }
                let lines = grant_lines(action, t.text, aw, &rest, width);
                let search = [
                    "deny refused",
                    d.label.as_str(),
                    action.as_str(),
                    &d.resources.join(" "),
                    &on,
                    d.conditions.as_deref().unwrap_or(""),
                ];
                out.push(Entry::item(1, Item::Protection { index: di, action: ai }, lines, &search, worst(&d.risks)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::break_action;

    #[test]
    fn long_actions_break_after_a_slash() {
        let a = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action";
        let pieces = break_action(a, 40);
        assert_eq!(pieces, ["Microsoft.Storage/storageAccounts/", "blobServices/containers/blobs/move/", "action"]);
        assert_eq!(pieces.concat(), a);
        assert_eq!(break_action("s3:GetObject", 40), ["s3:GetObject"]);
        let hard = break_action("abcdefghijklmnopqrstuvwxyz", 10);
        assert!(hard.iter().all(|p| p.chars().count() <= 10) && hard.concat() == "abcdefghijklmnopqrstuvwxyz");
    }
}
