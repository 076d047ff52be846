//! Step 8, Done: what to send the vendor (from the installation's outputs: role ARN and
//! ExternalId on AWS; project, service account, bucket and key on GCP; tenant, subscription, the
//! machines' identity, Key Vault, registry and data account on Azure: what the pack's
//! `send_to_vendor` names), what was created, where
//! the receipt is, and how to revoke later. It scrolls; values are never split across lines, and
//! everything to send is printed again on the normal screen when the wizard closes.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::widgets::{value_cut, value_lines, wrap};

pub fn lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let Some(inst) = &app.installation else { return Vec::new() };
    let vendor = &app.vendor.vendor;
    let para = |text: &str, style| -> Vec<Line<'static>> {
        wrap(text, width).into_iter().map(|l| Line::styled(l, style)).collect()
    };
    let mut out = vec![Line::raw("")];
    out.extend(para(&format!("✓ Access for {} is in place.", vendor.name), t.ok));
    out.push(Line::raw(""));
    let send = match &vendor.support {
        Some(s) => format!("Send these values to {} ({s}):", vendor.name),
        None => format!("Send these values to {}:", vendor.name),
    };
    out.extend(para(&send, t.heading));
    let sent = app.preview.plan.as_ref().map(|p| p.send_to_vendor.clone()).unwrap_or_default();
    let for_vendor = inst.for_vendor(&sent);
    let key_w = for_vendor.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0) + 4;
    let mut cut = false;
    for (key, value) in &for_vendor {
        let value = value.as_deref().unwrap_or("(missing: run `cloudgrant status` to read it)");
        cut |= value_cut(value, width);
        out.extend(value_lines(&format!("  {key:<key_w$}"), value, width, t.muted, t.title));
    }
    if cut {
        out.extend(para(
            "  (a value too wide for this terminal ends in …: all of them are printed in full when you quit)",
            t.warn,
        ));
    }
    let others: Vec<_> = inst.outputs.iter().filter(|(k, _)| !for_vendor.iter().any(|(f, _)| f == *k)).collect();
    if !others.is_empty() {
        out.push(Line::raw(""));
        out.extend(para("Also created (for your records):", t.heading));
        let w = others.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0) + 4;
        for (k, v) in others {
            out.extend(value_lines(&format!("  {k:<w$}"), v, width, t.muted, t.text));
        }
    }
    out.push(Line::raw(""));
    let word = inst.cloud.account_word();
    out.extend(para(
        &format!("What was created in {word} {} ({}), org {}:", inst.account, inst.region, inst.org),
        t.heading,
    ));
    for g in &inst.groups {
        // The count is the plan's (what was approved), so it matches the preview.
        let n = app
            .preview
            .plan
            .as_ref()
            .and_then(|p| p.groups.iter().find(|pg| pg.name == g.name))
            .map_or(g.resources.len(), |pg| pg.resources.len());
        out.push(Line::from(vec![
            Span::styled(format!("  {:<22}", g.name), t.text),
            Span::styled(format!("{:>3} {:<9}  ", n, if n == 1 { "resource" } else { "resources" }), t.text),
            Span::styled(g.status.as_str(), t.status(Some(g.status))),
        ]));
    }
    out.push(Line::raw(""));
    match &app.receipt {
        Some(Ok(path)) => {
            out.extend(para("Receipt of what you approved (JSON and Markdown):", t.heading));
            out.extend(value_lines("  ", &path.display().to_string(), width, t.muted, t.text));
        }
        Some(Err(e)) => out.extend(para(&format!("The receipt was not written: {e}"), t.warn)),
        None if app.receipts_dir.is_some() => out.extend(para("Writing the receipt…", t.muted)),
        None => {}
    }
    if app.receipt.is_some() || app.receipts_dir.is_some() {
        out.push(Line::raw(""));
    }
    out.extend(para("To revoke later:", t.heading));
    out.extend(
        wrap("run `cloudgrant` and choose \"Revoke an existing install\", or:", width.saturating_sub(2))
            .into_iter()
            .map(|l| Line::styled(format!("  {l}"), t.text)),
    );
    let cmd = format!("cloudgrant revoke --cloud {} --org {}{}", inst.cloud, inst.org, app.cli_flags(&inst.region));
    out.extend(value_lines("  ", &cmd, width, t.muted, t.key));
    let after = after_revoke(app.preview.plan.as_ref());
    out.extend(wrap(&after, width.saturating_sub(2)).into_iter().map(|l| Line::styled(format!("  {l}"), t.muted)));
    out
}

/// What revoke will leave, from the plan's resources (their fates come from the templates).
fn after_revoke(plan: Option<&crate::model::Plan>) -> String {
    use crate::model::OnRevoke;
    let Some(plan) = plan else { return "The vendor's access ends first.".into() };
    let mut parts = Vec::new();
    for (fate, word) in [
        (OnRevoke::Keep, "kept (with your data)"),
        (OnRevoke::ScheduledDeletion, "scheduled for deletion"),
        (OnRevoke::SoftDelete, "soft-deleted"),
        (OnRevoke::Detach, "left in place, no longer managed"),
    ] {
        let ids: Vec<&str> = plan
            .groups
            .iter()
            .flat_map(|g| &g.resources)
            .filter(|r| r.on_revoke == fate)
            .map(|r| r.id.as_str())
            .collect();
        if !ids.is_empty() {
            parts.push(format!("{} {word}", ids.join(", ")));
        }
    }
    if parts.is_empty() {
        "The vendor's access ends first; then everything cloudgrant created is deleted.".into()
    } else {
        format!("The vendor's access ends first; the rest is deleted, except: {}.", parts.join("; "))
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let all = lines(app, area.width as usize);
    let h = area.height as usize;
    let top = app.scroll.min(all.len().saturating_sub(h));
    let more = all.len() > top + h;
    let mut visible: Vec<Line> = all.into_iter().skip(top).take(h).collect();
    if more && h > 1 {
        visible.truncate(h - 1);
        visible.push(Line::styled("↓ more below (↓/PgDn)", app.theme.warn));
    }
    frame.render_widget(Paragraph::new(visible), area);
}
