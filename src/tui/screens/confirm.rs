//! Step 6, Confirm: a summary of what will be created and where, with the ExternalId, and a
//! confirm whose safe default is "No". Only Enter on "Create" starts the deploy.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::Screen;
use crate::tui::action::{Action, Command};
use crate::tui::app::App;
use crate::tui::widgets::{buttons, centered, value_lines, wrap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfirmState {
    /// The highlighted button: false = "No, go back" (the default), true = "Create".
    pub create: bool,
}

impl App {
    pub(crate) fn update_confirm(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::NextTab | Action::PrevTab | Action::Left | Action::Right => {
                self.confirm.create = !self.confirm.create
            }
            Action::Up | Action::Down => {
                let area = super::content_area(self.size);
                let (w, h) = summary_size(area);
                let n = summary_lines(self, w).len();
                self.scroll_page(&action, n, h);
            }
            Action::Select if self.confirm.create => return self.start_deploy(),
            Action::Select => self.go(Screen::Preview),
            _ => {}
        }
        Vec::new()
    }
}

/// The box's inner width and the height left for the summary above the pinned buttons.
fn summary_size(area: Rect) -> (usize, usize) {
    let width = area.width.min(100);
    (width.saturating_sub(4) as usize, area.height.saturating_sub(2 + 1 + 4) as usize)
}

/// What Confirm summarises, wrapped to `width` (values never split: they go on their own line).
pub fn summary_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let Some(plan) = &app.preview.plan else { return Vec::new() };
    let cloud = plan.cloud;
    let groups = format!("{}s", cloud.group_word());
    // The labels' column: wide enough for the longest ("deployment stacks" on Azure).
    let lw = 14.max(groups.chars().count() + 1);
    let kv = |k: &str, v: String| value_lines(&format!("  {k:<lw$}"), &v, width, t.muted, t.text);
    let para = |text: &str, style| -> Vec<Line<'static>> {
        wrap(text, width).into_iter().map(|l| Line::styled(l, style)).collect()
    };
    let external = plan
        .groups
        .iter()
        .flat_map(|g| g.parameters.iter())
        .find(|p| p.name == "ExternalId")
        .map_or_else(|| "(generated at install)".to_string(), |p| p.value.clone());
    let account_word = cloud.account_word();
    let mut lines = para(&format!("Create access for {} in this {account_word}?", plan.vendor), t.heading);
    lines.push(Line::raw(""));
    lines.extend(kv(account_word, plan.account.clone().unwrap_or_else(|| "<account>".into())));
    lines.extend(kv("region", plan.region.clone()));
    lines.extend(kv("org", plan.org.clone()));
    for (i, g) in plan.groups.iter().enumerate() {
        lines.extend(kv(if i == 0 { groups.as_str() } else { "" }, g.name.clone()));
    }
    for part in
        wrap(&crate::model::PlanCounts::of(plan).summary(), width.saturating_sub(lw + 2)).into_iter().enumerate()
    {
        let head = if part.0 == 0 { format!("  {:<lw$}", "creates") } else { " ".repeat(lw + 2) };
        lines.push(Line::from(vec![Span::styled(head, t.muted), Span::styled(part.1, t.text)]));
    }
    if plan.groups.iter().any(|g| g.parameters.iter().any(|p| p.name == "ExternalId")) {
        lines.extend(kv("ExternalId", external));
    }
    // The pack's digest beside its label: whole where it fits, else its two ends (the preview's
    // Parameters tab, `cloudgrant plan` and the receipt give it whole; --vendor-sha256 checks it).
    let digest = &plan.pack_sha256;
    let whole = format!("sha256 {digest}");
    let shown = match (digest.get(..16), digest.get(digest.len().saturating_sub(16)..)) {
        (Some(head), Some(tail)) if lw + 2 + whole.chars().count() > width && digest.len() > 32 => {
            format!("sha256 {head}…{tail}")
        }
        _ => whole,
    };
    lines.extend(kv("vendor pack", shown));
    // The change sets, once known: new stacks, updates (with replacements), or nothing to do.
    match &app.preview.changes {
        Some(Ok(changes)) => {
            lines.push(Line::raw(""));
            lines.extend(para(&format!("  What changes in the {account_word}:"), t.heading));
            for c in changes {
                let planned = plan.group(&c.group).or_else(|| plan.groups.iter().find(|g| g.name == c.group));
                let text = c.summary_with(cloud, planned.map(|g| g.resources.len()));
                lines.extend(
                    wrap(&text, width.saturating_sub(4)).into_iter().map(|l| Line::styled(format!("    {l}"), t.text)),
                );
                if let Some(note) = &c.note {
                    lines.extend(
                        wrap(note, width.saturating_sub(6))
                            .into_iter()
                            .map(|l| Line::styled(format!("      {l}"), t.warn)),
                    );
                }
                for ch in c.changes.iter().filter(|ch| ch.action != "Add") {
                    let replace = if ch.replacement.as_deref() == Some("True") { " (replaced)" } else { "" };
                    let style = if replace.is_empty() { t.muted } else { t.warn };
                    lines.push(Line::styled(format!("      {} {} {}{replace}", ch.action, ch.id, ch.type_), style));
                }
            }
            if changes.iter().all(|c| c.kind == crate::model::ChangeKind::NoChanges) {
                lines.extend(para("    Nothing to change: the install is up to date.", t.ok));
            }
        }
        Some(Err(e)) => {
            lines.push(Line::raw(""));
            lines.extend(para(&format!("  Could not preview the changes: {e}"), t.warn));
            // The same check runs again before the first write: the next step is the fix.
            lines.extend(para(&format!("  Next: {}", e.next_step()), t.text));
        }
        None => {
            lines.push(Line::raw(""));
            lines.extend(para(&format!("  Checking what exists in the {account_word}…"), t.muted));
        }
    }
    let next = match cloud {
        crate::model::Cloud::Gcp => "The next screens show what to tell the vendor. Revoke takes it all back.",
        crate::model::Cloud::Azure => "The vendor's application gets a service principal in your tenant. The next screens show what to tell the vendor. Revoke takes it all back.",
        crate::model::Cloud::Aws => "The vendor gets the role ARN and the ExternalId on the next screens. Revoke takes it all back.",
    };
    lines.push(Line::raw(""));
    lines.extend(para(next, t.muted));
    lines
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(plan) = &app.preview.plan else { return };
    let (w, h) = summary_size(area);
    let all = summary_lines(app, w);
    let top = app.scroll.min(all.len().saturating_sub(h));
    let more = all.len() > top + h;
    let mut lines: Vec<Line> = all.iter().skip(top).take(h).cloned().collect();
    // The buttons and what Enter does stay in view, whatever the summary's length.
    lines.push(if more { Line::styled("↓ more above the buttons (↑/↓ scroll)", t.warn) } else { Line::raw("") });
    lines.push(buttons(&["No, go back", "Create"], usize::from(app.confirm.create), t, None));
    let enter = if app.confirm.create {
        (
            match plan.cloud {
                crate::model::Cloud::Aws => "Enter creates the stacks now.".to_string(),
                _ => format!("Enter creates the {} now.", plan.cloud.groups(plan.groups.len())),
            },
            t.warn,
        )
    } else {
        ("Nothing has been created. ←/→ to choose, Enter to confirm.".to_string(), t.muted)
    };
    lines.extend(wrap(&enter.0, w).into_iter().map(|l| Line::styled(l, enter.1)));
    let width = area.width.min(100);
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = centered(area, width, height);
    let block = Block::bordered()
        .title(Span::styled(" Confirm ", t.title))
        .border_style(t.border)
        .padding(ratatui::widgets::Padding::horizontal(1));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
