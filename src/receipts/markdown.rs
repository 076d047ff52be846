//! A receipt as Markdown, ready to paste into a ticket: who, when, where, what was approved,
//! what the vendor received, what happened, and for a revoke what stayed and what was checked.

use std::fmt::Write;

use super::{Flow, Left, Receipt};
use crate::model::Check;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(r: &Receipt) -> String {
    let mut s = String::new();
    let what = match r.flow {
        Flow::Init => "access granted",
        Flow::Revoke => "access revoked",
    };
    let verdict = if r.outcome.ok { "" } else { " (did not complete)" };
    let _ = writeln!(s, "# cloudgrant receipt: {} {what}{verdict}\n", r.vendor.name);
    let account = r.cloud.account_word();
    let _ = writeln!(s, "- Receipt: `{}`", r.id);
    let _ = writeln!(s, "- When: {}", r.created.format("%Y-%m-%d %H:%M:%S UTC"));
    if let Some(w) = &r.who {
        let tenant = w.tenant.as_deref().map(|t| format!(", tenant `{t}`")).unwrap_or_default();
        let _ = writeln!(s, "- Who: `{}` ({}{tenant})", w.principal, w.source);
    }
    let _ = writeln!(
        s,
        "- Cloud: {} · {account} `{}` · region `{}` · org `{}`",
        r.cloud.title(),
        r.account,
        r.region,
        r.org
    );
    let _ = writeln!(s, "- Tool: cloudgrant {}", r.tool_version);
    let _ =
        writeln!(s, "- Vendor profile: {} (`{}`), sha256 `{}`", r.vendor.name, r.vendor.id, r.vendor.profile_sha256);
    if !r.vendor.pack_sha256.is_empty() {
        let _ = writeln!(s, "- Vendor pack sha256: `{}`", r.vendor.pack_sha256);
    }
    if let Some(a) = &r.approved {
        let _ = writeln!(s, "- Plan sha256: `{}`", a.plan_sha256);
    }
    let _ = writeln!(s, "- Outcome: {}", r.outcome.summary);
    if let Some(c) = &r.outcome.root_cause {
        let _ = writeln!(s, "- Root cause: {}", c.replace('\n', " "));
    }
    if !r.vendor_received.is_empty() {
        let _ = writeln!(s, "\n## What {} received\n\n| Value | |\n|---|---|", r.vendor.name);
        for (k, v) in &r.vendor_received {
            let _ = writeln!(s, "| {k} | `{}` |", cell(v.as_deref().unwrap_or("(not known)")));
        }
    }
    if let Some(a) = &r.approved {
        let _ = writeln!(s, "\n## What was approved\n\n{}\n", a.counts.summary());
        let _ = writeln!(s, "| Group | Resource | Type | Name | On revoke |\n|---|---|---|---|---|");
        for x in &a.resources {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                x.group,
                x.id,
                x.type_,
                cell(x.name.as_deref().unwrap_or("")),
                x.on_revoke
            );
        }
        let _ = writeln!(
            s,
            "\n| Group | Kind | Effect | Principal | Actions | On | Conditions |\n|---|---|---|---|---|---|---|"
        );
        for p in &a.permissions {
            let cond = if p.conditions.is_null() || p.conditions.as_object().is_some_and(|o| o.is_empty()) {
                String::new()
            } else {
                format!("`{}`", p.conditions)
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | `{}` | {} | {} | {} |",
                p.group,
                p.kind,
                p.effect,
                cell(&p.principal),
                cell(&p.actions.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" ")),
                cell(&p.resources.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" ")),
                cell(&cond)
            );
        }
    }
    if let Some(v) = &r.revoke {
        if !v.warnings.is_empty() {
            let _ = writeln!(s, "\n## Read before confirming (as shown)\n");
            for w in &v.warnings {
                let _ = writeln!(s, "- {}", w.replace('\n', " "));
            }
        }
        let _ = writeln!(s, "\n## What revoke did, resource by resource\n\n| Group | Resource | Type | Fate | Why | Id |\n|---|---|---|---|---|---|");
        for x in &v.resources {
            let _ = writeln!(
                s,
                "| {} | {} | {} | **{}** | {} | `{}` |",
                x.group,
                x.id,
                x.type_,
                x.fate_words,
                cell(&x.reason),
                cell(x.physical_id.as_deref().unwrap_or(""))
            );
        }
        let _ = writeln!(s, "\n## What stays in the {account}\n");
        left_and_checks(&mut s, &v.left, &v.checks);
    }
    let e = &r.events;
    let _ = writeln!(s, "\n## Events\n\n{} events", e.total);
    if let (Some(a), Some(b)) = (e.first, e.last) {
        let _ = writeln!(s, "from {} to {}", a.format("%H:%M:%S"), b.format("%H:%M:%S UTC"));
    }
    s.push('\n');
    for (status, n) in &e.by_status {
        let _ = writeln!(s, "- {status}: {n}");
    }
    for f in &e.failures {
        let _ = writeln!(s, "- failed: {}", f.replace('\n', " "));
    }
    s
}

/// The "what stays" table and the checks: a receipt's, and `revoke --output markdown`'s.
pub fn left_and_checks(s: &mut String, left: &[Left], checks: &[Check]) {
    if left.is_empty() {
        let _ = writeln!(s, "Nothing stays behind.");
    } else {
        let _ = writeln!(s, "| Fate | Type | Id | Note |\n|---|---|---|---|");
        for x in left {
            let _ =
                writeln!(s, "| **{}** | {} | `{}` | {} |", x.fate_words, x.type_, cell(&x.physical_id), cell(&x.note));
        }
    }
    let _ = writeln!(s, "\n## Checks\n");
    for c in checks {
        let _ = writeln!(s, "- {} {}: {}", if c.ok { "ok:" } else { "**FAILED**:" }, c.what, c.detail);
    }
}
