//! Step 8, Done: what to send the vendor (from the installation's outputs: role ARN and
//! ExternalId on AWS; project, service account, bucket and key on GCP; tenant, subscription, the
//! machines' identity, Key Vault, registry and data account on Azure), what was created, and how
//! to revoke later.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::App;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(inst) = &app.installation else { return };
    let vendor = &app.vendor.vendor;
    let mut lines = vec![
        Line::raw(""),
        Line::styled(format!("✓ Access for {} is in place.", vendor.name), t.ok),
        Line::raw(""),
        Line::styled(
            match &vendor.support {
                Some(s) => format!("Send these values to {} ({s}):", vendor.name),
                None => format!("Send these values to {}:", vendor.name),
            },
            t.heading,
        ),
    ];
    let key_w = inst.outputs.keys().map(|k| k.chars().count()).max().unwrap_or(0).max(14) + 2;
    let for_vendor = inst.for_vendor();
    for (key, value) in &for_vendor {
        let value = value.as_deref().unwrap_or("(missing: run `cloudgrant status` to read it)");
        lines.push(Line::from(vec![
            Span::styled(format!("  {key:<key_w$}"), t.muted),
            Span::styled(value.to_string(), t.title),
        ]));
    }
    let others: Vec<_> = inst.outputs.iter().filter(|(k, _)| !for_vendor.iter().any(|(f, _)| f == k)).collect();
    if !others.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Also created (for your records):", t.heading));
        for (k, v) in others {
            lines.push(Line::from(vec![
                Span::styled(format!("  {k:<key_w$}"), t.muted),
                Span::styled(v.clone(), t.text),
            ]));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            "What was created in {} {} ({}), org {}:",
            inst.cloud.account_word(),
            inst.account,
            inst.region,
            inst.org
        ),
        t.heading,
    ));
    for g in &inst.groups {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<22}", g.name), t.text),
            Span::styled(format!("{:>3} resources  ", g.resources.len()), t.text),
            Span::styled(g.status.as_str(), t.status(Some(g.status))),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("To revoke later:", t.heading));
    lines.push(Line::styled("  run `cloudgrant` and choose \"Revoke an existing install\", or:", t.text));
    lines.push(Line::styled(
        format!("  cloudgrant revoke --cloud {} --org {}{}", inst.cloud, inst.org, app.cli_flags(&inst.region)),
        t.key,
    ));
    lines.push(Line::styled(
        match inst.cloud {
            crate::model::Cloud::Gcp => "  The vendor's access ends first; the data bucket and key ring are kept; the key's versions are scheduled for destruction; the custom roles are soft-deleted.",
            crate::model::Cloud::Azure => "  The vendor's access ends first: the vendor's resource group, its role and the machines' identity are deleted; the Key Vault is soft-deleted (its name stays reserved until purged); the storage resource group and your data account are kept.",
            crate::model::Cloud::Aws => "  The vendor's access ends first; the data bucket is kept; the key is scheduled for deletion.",
        },
        t.muted,
    ));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
