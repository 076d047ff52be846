//! Plain-text and Markdown renderings of plans, installs, revoke plans and residue reports,
//! for the non-interactive commands (support scripts, tickets, CI).

use std::fmt::Write;

use crate::model::{Installation, Plan, PlanCounts, Residue, RevokePlan};
use crate::permissions::{self, Risk, Severity};

fn conditions(c: &serde_json::Value) -> String {
    match c.as_object() {
        Some(m) if m.is_empty() => String::new(),
        None if c.is_null() => String::new(),
        _ => c.to_string(),
    }
}

/// "Account", "Project", "Subscription".
fn capitalized(word: &str) -> String {
    let mut c = word.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

pub fn plan_text(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "cloudgrant plan: {} access for {} ({})", plan.cloud.title(), plan.vendor, plan.vendor_id);
    let _ = writeln!(
        s,
        "org {} · region {} · {} {}",
        plan.org,
        plan.region,
        plan.cloud.account_word(),
        plan.account.as_deref().unwrap_or("<chosen at install>")
    );
    let _ = writeln!(s, "vendor pack sha256 {}", plan.pack_sha256);
    let _ = writeln!(s, "{} · {}", plan.cloud.groups(plan.groups.len()), PlanCounts::of(plan).summary());
    let _ = writeln!(s, "actions by worst flag: {}", PlanCounts::of(plan).flags());
    let tags: Vec<String> = plan.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let on_every = match plan.cloud {
        crate::model::Cloud::Gcp => "labels on every resource (roles and service accounts: in their description)",
        crate::model::Cloud::Azure => "tags on every deployment stack, resource group and resource",
        crate::model::Cloud::Aws => "tags on every stack",
    };
    let _ = writeln!(s, "{on_every}: {}", tags.join(", "));
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
            let _ = writeln!(s, "   + {} {}{} [on revoke: {}]", r.id, r.type_, name, r.fate().phrase());
            let _ = writeln!(s, "       why: {}", r.why);
            if let Some(n) = &r.network {
                let _ = writeln!(s, "       network: {n}");
            }
            for e in &r.exceptions {
                let _ = writeln!(s, "       not done, on purpose: {} (checkov {})", e.reason, e.check);
            }
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
            let level = p.access_level.map(|l| l.title()).unwrap_or("unknown");
            let _ = writeln!(s, "       access level: {level}");
            for a in p.access.iter().filter(|a| a.wildcard || a.unknown) {
                let what = match (a.unknown, a.matches) {
                    (true, _) => "unknown".to_string(),
                    (false, Some(n)) => format!("{n} actions"),
                    (false, None) => "an unknown number of actions".to_string(),
                };
                let _ = writeln!(
                    s,
                    "       {} = {what}{}",
                    a.action,
                    a.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
                );
            }
            for r in &p.risks {
                let _ = writeln!(s, "       ! {} {}: {}", r.severity, r.kind, r.explanation);
            }
            if let Some(src) = &p.source {
                let _ = writeln!(s, "       at: {src}");
            }
        }
    }
    s
}

/// The review a support person pastes into a ticket: trust first, then who can do what (principal
/// → service → access level) with every risk flag explained, then the protections (Deny), then
/// what gets created.
pub fn plan_markdown(plan: &Plan) -> String {
    let review = permissions::review(plan);
    let mut s = String::new();
    let _ = writeln!(s, "# cloudgrant plan: {} access for {}\n", plan.cloud.title(), plan.vendor);
    let _ = writeln!(
        s,
        "- Org: `{}`\n- Region: `{}`\n- {}: `{}`",
        plan.org,
        plan.region,
        capitalized(plan.cloud.account_word()),
        plan.account.as_deref().unwrap_or("chosen at install")
    );
    let _ = writeln!(s, "- Vendor pack sha256: `{}`", plan.pack_sha256);
    let counts = PlanCounts::of_review(plan, &review);
    let _ = writeln!(s, "- {} · {}", plan.cloud.groups(plan.groups.len()), counts.summary());
    let _ = writeln!(s, "- Actions by worst flag: {}\n", counts.flags());
    let _ = writeln!(s, "## Trust: who can act in your {}\n", plan.cloud.account_word());
    if review.trust.is_empty() {
        let _ = writeln!(s, "Nobody: no role can be assumed.\n");
    }
    for t in &review.trust {
        if plan.cloud == crate::model::Cloud::Azure {
            let _ = writeln!(s, "### {} signs in to your tenant as a service principal\n", t.label);
        } else {
            let _ = writeln!(s, "### {} → role `{}`\n", t.label, t.role);
        }
        let _ = writeln!(s, "- Principal: `{}`", t.principal);
        if !t.actions.is_empty() || plan.cloud != crate::model::Cloud::Azure {
            let _ = writeln!(s, "- May: {}", code_list(&t.actions));
        }
        if let Some(c) = &t.conditions {
            let _ = writeln!(s, "- Only when: {c}");
        }
        if let Some(src) = &t.source {
            let _ = writeln!(s, "- Written at: `{src}`");
        }
        for r in &t.risks {
            let _ = writeln!(s, "- {}", flag(r));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## Permissions: who can do what\n");
    for pa in &review.principals {
        let by = if pa.assumed_by.is_empty() {
            String::new()
        } else {
            format!(" — assumed by {}", pa.assumed_by.join(", "))
        };
        let _ = writeln!(s, "### {}{by}\n", pa.label);
        for svc in &pa.services {
            let _ = writeln!(s, "#### {} (`{}`)\n", svc.name, svc.service);
            let _ = writeln!(s, "| Access level | Actions | On | Only when | Statement |\n|---|---|---|---|---|");
            for l in &svc.levels {
                let level = l.level.map(|l| l.title()).unwrap_or("Unknown");
                // One row per statement at this level.
                let mut seen: Vec<permissions::PermissionRef> = Vec::new();
                for g in &l.grants {
                    if seen.contains(&g.at) {
                        continue;
                    }
                    seen.push(g.at);
                    let actions: Vec<String> = l
                        .grants
                        .iter()
                        .filter(|x| x.at == g.at)
                        .map(|x| match x.count {
                            Some(n) if x.action.contains('*') || x.action.contains('?') => {
                                format!("`{}` ({n} {level} actions)", x.action)
                            }
                            _ => format!("`{}`", x.action),
                        })
                        .collect();
                    let on = match g.resources.as_slice() {
                        [] => String::new(),
                        // In a key policy `*` is the key itself: say so.
                        [star] if star == "*" && g.on.starts_with("this key") => format!("`*` = {}", g.on),
                        r => code_list(r),
                    };
                    let at = match (&g.sid, &g.source) {
                        (Some(sid), Some(src)) => format!("{sid} (`{src}`)"),
                        (None, Some(src)) => format!("`{src}`"),
                        (Some(sid), None) => sid.clone(),
                        (None, None) => String::new(),
                    };
                    let _ = writeln!(
                        s,
                        "| {level} | {} | {} | {} | {} |",
                        cell(&actions.join(" ")),
                        cell(&on),
                        cell(g.conditions.as_deref().unwrap_or("")),
                        cell(&at)
                    );
                }
            }
            let risks = svc.risks();
            if !risks.is_empty() {
                s.push('\n');
                for (at, r) in risks {
                    let sid = at.get(plan).and_then(|p| p.sid.clone()).map(|x| format!(" ({x})")).unwrap_or_default();
                    let _ = writeln!(s, "- {}{sid}", flag(r));
                }
            }
            s.push('\n');
        }
    }
    if !review.protections.is_empty() {
        let _ = writeln!(s, "## Protections: what is refused\n");
        for d in &review.protections {
            let src = d.source.as_ref().map(|x| format!(" (`{x}`)")).unwrap_or_default();
            let _ = writeln!(s, "- Deny {} to {} on {}{src}", code_list(&d.actions), d.label, code_list(&d.resources));
            for r in &d.risks {
                let _ = writeln!(s, "  - {}", flag(r));
            }
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## What gets created");
    for g in &plan.groups {
        let _ = writeln!(s, "\n### {} — {}\n", g.name, g.title);
        let _ = writeln!(s, "| Resource | Type | Name | On revoke | Why |\n|---|---|---|---|---|");
        for r in &g.resources {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                r.id,
                r.type_,
                r.name.as_deref().unwrap_or(""),
                r.fate().phrase(),
                cell(&r.why)
            );
        }
        let networked: Vec<_> = g.resources.iter().filter_map(|r| r.network.as_ref().map(|n| (r, n))).collect();
        if !networked.is_empty() {
            let _ = writeln!(s, "\nNetworks:\n");
            for (r, n) in networked {
                let _ = writeln!(s, "- {}: {n}", r.id);
            }
        }
        let exceptions: Vec<_> = g.resources.iter().flat_map(|r| r.exceptions.iter().map(move |e| (r, e))).collect();
        if !exceptions.is_empty() {
            let _ = writeln!(s, "\nNot done, on purpose (scanner checks the templates set aside):\n");
            for (r, e) in exceptions {
                let _ = writeln!(s, "- {} — {} (checkov {})", r.id, e.reason, e.check);
            }
        }
    }
    s
}

fn code_list(items: &[String]) -> String {
    items.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
}

/// A table cell: no line breaks, no column separators.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn flag(r: &Risk) -> String {
    let sev = match r.severity {
        Severity::High | Severity::Medium => format!("**{}**", r.severity),
        _ => r.severity.to_string(),
    };
    format!("{sev} · {}: {}", r.kind, r.explanation)
}

pub fn installs_text(installs: &[Installation]) -> String {
    let mut s = String::new();
    if installs.is_empty() {
        s.push_str("No cloudgrant install of this vendor found in this account.\n");
    }
    for i in installs {
        if i.groups.is_empty() {
            let _ = writeln!(
                s,
                "No cloudgrant install for org {} in {} {}: none of its {}s stands.",
                i.org,
                i.cloud.account_word(),
                i.account,
                i.cloud.group_word()
            );
        } else {
            let _ = writeln!(
                s,
                "org {} · {} {} · region {} · {}",
                i.org,
                i.cloud.account_word(),
                i.account,
                i.region,
                i.health.word()
            );
            let _ = writeln!(s, "  state: {}", i.health.sentence());
            if let Some(id) = &i.install_id {
                let _ = writeln!(s, "  install id: {id}");
            }
        }
        for g in &i.groups {
            let done = g.resources.iter().filter(|r| r.status.is_terminal()).count();
            let _ = writeln!(s, "  {} {} ({done}/{} resources settled)", g.name, g.status, g.resources.len());
            if let Some(r) = &g.status_reason {
                let _ = writeln!(s, "    {r}");
            }
        }
        // An install none of whose groups stands has nothing to send the vendor.
        for (k, v) in i.outputs.iter().filter(|_| !i.groups.is_empty()) {
            let _ = writeln!(s, "  {k}: {v}");
        }
        if !i.leftovers.is_empty() {
            let _ = writeln!(s, "  left outside the {}s:", i.cloud.group_word());
            for l in &i.leftovers {
                let _ = writeln!(s, "    {}", l.line());
            }
        }
        if !i.strangers.is_empty() {
            let _ = writeln!(s, "  not this install (left alone):");
            for x in &i.strangers {
                let _ = writeln!(s, "    {}", x.line());
            }
        }
    }
    s
}

/// `status --output markdown`: each install as a section a support ticket can hold.
pub fn installs_markdown(installs: &[Installation]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# cloudgrant status\n");
    if installs.is_empty() {
        let _ = writeln!(s, "No cloudgrant install of this vendor found.");
    }
    for i in installs {
        let _ = writeln!(s, "## org `{}`\n", i.org);
        let _ = writeln!(
            s,
            "- Cloud: {}\n- {}: `{}`\n- Region: `{}`",
            i.cloud.title(),
            capitalized(i.cloud.account_word()),
            i.account,
            i.region
        );
        if let Some(c) = i.created {
            let _ = writeln!(s, "- Created: {}", c.format("%Y-%m-%d %H:%M UTC"));
        }
        let _ = writeln!(s, "\n| {} | Status | Resources settled |\n|---|---|---|", capitalized(i.cloud.group_word()));
        for g in &i.groups {
            let done = g.resources.iter().filter(|r| r.status.is_terminal()).count();
            let _ = writeln!(s, "| `{}` | {} | {done}/{} |", g.name, g.status, g.resources.len());
        }
        if !i.outputs.is_empty() {
            let _ = writeln!(s, "\n| Output | Value |\n|---|---|");
            for (k, v) in &i.outputs {
                let _ = writeln!(s, "| {k} | `{}` |", cell(v));
            }
        }
        s.push('\n');
    }
    s
}

/// One revoke item as plain lines: id and fate, type and physical id, then why.
fn item(s: &mut String, r: &crate::model::RevokeItem) {
    let _ = writeln!(s, "   {:<22} {}", r.id, r.fate().phrase());
    let id = r.physical_id.as_deref().unwrap_or("");
    let _ = writeln!(s, "       {} {id}", r.type_);
    let reason = r.outcome.reason();
    if !reason.is_empty() {
        let _ = writeln!(s, "       {reason}");
    }
}

pub fn revoke_plan_text(plan: &RevokePlan) -> String {
    let mut s = String::new();
    let inst = &plan.installation;
    let _ = writeln!(
        s,
        "Revoke {} access for org {} in {} {}:",
        inst.cloud.title(),
        inst.org,
        inst.cloud.account_word(),
        inst.account
    );
    for (n, g) in plan.groups.iter().enumerate() {
        let _ = writeln!(s, "{}. {}", n + 1, g.name);
        for r in &g.resources {
            item(&mut s, r);
        }
    }
    if !plan.leftovers.is_empty() {
        let _ = writeln!(s, "{}. left by earlier attempts", plan.groups.len() + 1);
        for r in &plan.leftovers {
            item(&mut s, r);
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

/// `revoke --output markdown`: the review, as a ticket holds it.
pub fn revoke_plan_markdown(plan: &RevokePlan) -> String {
    let mut s = String::new();
    let inst = &plan.installation;
    let _ = writeln!(s, "# cloudgrant revoke: org `{}`\n", inst.org);
    let _ = writeln!(
        s,
        "- Cloud: {}\n- {}: `{}`\n- Region: `{}`\n",
        inst.cloud.title(),
        capitalized(inst.cloud.account_word()),
        inst.account,
        inst.region
    );
    if !plan.warnings.is_empty() {
        let _ = writeln!(s, "## Read before confirming\n");
        for w in &plan.warnings {
            let _ = writeln!(s, "- {}", w.replace('\n', " "));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## What revoke does, resource by resource\n");
    for (n, g) in plan.groups.iter().enumerate() {
        let _ = writeln!(s, "### {}. `{}`\n", n + 1, g.name);
        let _ = writeln!(s, "| Resource | Type | On revoke | Why | Id |\n|---|---|---|---|---|");
        for r in &g.resources {
            let _ = writeln!(
                s,
                "| {} | {} | **{}** | {} | `{}` |",
                r.id,
                r.type_,
                r.fate().phrase(),
                cell(&r.outcome.reason()),
                cell(r.physical_id.as_deref().unwrap_or(""))
            );
        }
        s.push('\n');
    }
    s
}

/// What stays after revoke and what was checked; each item named with the review's word for it.
pub fn residue_text(r: &Residue, plan: Option<&RevokePlan>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Residue report: org {} in {} {}", r.org, r.cloud.account_word(), r.account);
    if r.items.is_empty() {
        let _ = writeln!(s, "  nothing stays behind");
    }
    for i in &r.items {
        let _ = writeln!(s, "  {}: {} {}", i.fate(plan).phrase(), i.type_, i.physical_id);
        let _ = writeln!(s, "      {}", i.note);
    }
    let _ = writeln!(s, "Checks:");
    for c in &r.checks {
        let _ = writeln!(s, "  [{}] {}: {}", if c.ok { "ok" } else { "FAILED" }, c.what, c.detail);
    }
    s
}

pub fn residue_markdown(r: &Residue, plan: Option<&RevokePlan>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## What stays in {} `{}` (org `{}`)\n", r.cloud.account_word(), r.account, r.org);
    crate::receipts::left_and_checks(&mut s, &crate::receipts::left_of(r, plan), &r.checks);
    s
}
