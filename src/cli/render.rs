//! Plain-text and Markdown renderings of plans, installs, revoke plans and residue reports,
//! for the non-interactive commands (support scripts, tickets, CI).

use std::fmt::Write;

use crate::model::{Installation, Plan, Residue, RevokePlan};

fn conditions(c: &serde_json::Value) -> String {
    match c.as_object() {
        Some(m) if m.is_empty() => String::new(),
        _ => c.to_string(),
    }
}

pub fn plan_text(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "cloudgrant plan: {} access for {} ({})", plan.cloud.title(), plan.vendor, plan.vendor_id);
    let _ = writeln!(
        s,
        "org {} · region {} · account {}",
        plan.org,
        plan.region,
        plan.account.as_deref().unwrap_or("<chosen at install>")
    );
    let _ = writeln!(
        s,
        "{} groups, {} resources, {} permission statements",
        plan.groups.len(),
        plan.resource_count(),
        plan.permission_count()
    );
    let tags: Vec<String> = plan.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(s, "tags on every stack: {}", tags.join(", "));
    for g in &plan.groups {
        let _ = writeln!(s, "\n== {} ({}) from {}", g.name, g.title, g.template);
        if !g.depends_on.is_empty() {
            let _ = writeln!(s, "   after: {}", g.depends_on.join(", "));
        }
        for p in &g.parameters {
            let _ = writeln!(s, "   parameter {} = {}", p.name, p.value);
        }
        for r in &g.resources {
            let name = r.name.as_deref().map(|n| format!(" `{n}`")).unwrap_or_default();
            let _ = writeln!(s, "   + {} {}{} [on revoke: {}]", r.id, r.type_, name, r.on_revoke.as_str());
            let _ = writeln!(s, "       why: {}", r.why);
        }
        for p in &g.permissions {
            let sid = p.sid.as_deref().unwrap_or("-");
            let _ =
                writeln!(s, "   * {:?} {:?} {} ({} / {} / {})", p.kind, p.effect, p.principal, p.holder, p.policy, sid);
            let _ = writeln!(s, "       actions: {}", p.actions.join(", "));
            if !p.resources.is_empty() {
                let _ = writeln!(s, "       on: {}", p.resources.join(", "));
            }
            let c = conditions(&p.conditions);
            if !c.is_empty() {
                let _ = writeln!(s, "       when: {c}");
            }
        }
    }
    s
}

pub fn plan_markdown(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# cloudgrant plan: {} access for {}\n", plan.cloud.title(), plan.vendor);
    let _ = writeln!(
        s,
        "- Org: `{}`\n- Region: `{}`\n- Account: `{}`",
        plan.org,
        plan.region,
        plan.account.as_deref().unwrap_or("chosen at install")
    );
    let _ = writeln!(
        s,
        "- {} groups, {} resources, {} permission statements\n",
        plan.groups.len(),
        plan.resource_count(),
        plan.permission_count()
    );
    let _ = writeln!(s, "## Trust: who can act in your account\n");
    let _ = writeln!(s, "| Principal | May assume | Condition |\n|---|---|---|");
    for (_, p) in plan.trust() {
        let _ = writeln!(
            s,
            "| `{}` | {} ({}) | `{}` |",
            p.principal,
            p.holder,
            p.actions.join(", "),
            conditions(&p.conditions)
        );
    }
    for g in &plan.groups {
        let _ = writeln!(s, "\n## {} — {}\n", g.name, g.title);
        let _ = writeln!(s, "| Resource | Type | Name | On revoke | Why |\n|---|---|---|---|---|");
        for r in &g.resources {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                r.id,
                r.type_,
                r.name.as_deref().unwrap_or(""),
                r.on_revoke.as_str(),
                r.why
            );
        }
        if !g.permissions.is_empty() {
            let _ = writeln!(s, "\n| Who | Effect | Actions | Resources | Condition |\n|---|---|---|---|---|");
            for p in &g.permissions {
                let _ = writeln!(
                    s,
                    "| `{}` | {:?} | {} | {} | `{}` |",
                    p.principal,
                    p.effect,
                    p.actions.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" "),
                    p.resources.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" "),
                    conditions(&p.conditions)
                );
            }
        }
    }
    s
}

pub fn installs_text(installs: &[Installation]) -> String {
    let mut s = String::new();
    if installs.is_empty() {
        s.push_str("No cloudgrant install of this vendor found in this account.\n");
    }
    for i in installs {
        let _ = writeln!(s, "org {} · account {} · region {}", i.org, i.account, i.region);
        for g in &i.groups {
            let done = g.resources.iter().filter(|r| r.status.is_terminal()).count();
            let _ = writeln!(s, "  {} {} ({done}/{} resources settled)", g.name, g.status, g.resources.len());
            if let Some(r) = &g.status_reason {
                let _ = writeln!(s, "    {r}");
            }
        }
        for (k, v) in &i.outputs {
            let _ = writeln!(s, "  {k}: {v}");
        }
    }
    s
}

pub fn revoke_plan_text(plan: &RevokePlan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Revoke {} access for org {} in account {}:",
        plan.installation.cloud.title(),
        plan.installation.org,
        plan.installation.account
    );
    for (n, g) in plan.groups.iter().enumerate() {
        let _ = writeln!(s, "{}. {}", n + 1, g.name);
        for r in &g.resources {
            let id = r.physical_id.as_deref().unwrap_or("");
            let _ = writeln!(s, "   {:<20} {:<30} {}  {}", r.id, r.type_, r.outcome.detail(), id);
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(s, "\nWhat stays:");
        for w in &plan.warnings {
            let _ = writeln!(s, "  ! {w}");
        }
    }
    s
}

pub fn residue_text(r: &Residue) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Residue report: org {} in account {}", r.org, r.account);
    if r.items.is_empty() {
        let _ = writeln!(s, "  nothing stays behind");
    }
    for i in &r.items {
        let _ = writeln!(s, "  {} {} [{}]: {}", i.type_, i.physical_id, i.state, i.note);
    }
    let _ = writeln!(s, "Checks:");
    for c in &r.checks {
        let _ = writeln!(s, "  [{}] {}: {}", if c.ok { "ok" } else { "FAILED" }, c.what, c.detail);
    }
    s
}
