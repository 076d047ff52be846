//! Step 6, Confirm: a summary of what will be created and where, with the ExternalId, and a
//! confirm whose safe default is "No". Only Enter on "Create" starts the deploy.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::Screen;
use crate::tui::action::{Action, Command};
use crate::tui::app::App;
use crate::tui::widgets::{buttons, centered};

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
            Action::Select if self.confirm.create => return self.start_deploy(),
            Action::Select => self.go(Screen::Preview),
            _ => {}
        }
        Vec::new()
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(plan) = &app.preview.plan else { return };
    let kv =
        |k: &str, v: String| Line::from(vec![Span::styled(format!("  {k:<14}"), t.muted), Span::styled(v, t.text)]);
    let external = plan
        .groups
        .iter()
        .flat_map(|g| g.parameters.iter())
        .find(|p| p.name == "ExternalId")
        .map_or_else(|| "(generated at install)".to_string(), |p| p.value.clone());
    let cloud = plan.cloud;
    let account_word = cloud.account_word();
    let group_word = match cloud {
        crate::model::Cloud::Gcp => "resource set",
        _ => "stacks",
    };
    let mut lines = vec![
        Line::styled(format!("Create access for {} in this {account_word}?", plan.vendor), t.heading),
        Line::raw(""),
        kv(account_word, plan.account.clone().unwrap_or_else(|| "<account>".into())),
        kv("region", plan.region.clone()),
        kv("org", plan.org.clone()),
        kv(group_word, plan.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(", ")),
        kv("creates", crate::model::PlanCounts::of(plan).summary()),
    ];
    if cloud == crate::model::Cloud::Aws {
        lines.push(kv("ExternalId", external));
    }
    // The change sets, once known: new stacks, updates (with replacements), or nothing to do.
    match &app.preview.changes {
        Some(Ok(changes)) => {
            lines.push(Line::raw(""));
            lines.push(Line::styled(format!("  What changes in the {account_word}:"), t.heading));
            for c in changes {
                lines.push(Line::styled(format!("    {}", c.summary(cloud)), t.text));
                if let Some(note) = &c.note {
                    lines.push(Line::styled(format!("      {note}"), t.warn));
                }
                for ch in c.changes.iter().filter(|ch| ch.action != "Add") {
                    let replace = if ch.replacement.as_deref() == Some("True") { " (replaced)" } else { "" };
                    let style = if replace.is_empty() { t.muted } else { t.warn };
                    lines.push(Line::styled(format!("      {} {} {}{replace}", ch.action, ch.id, ch.type_), style));
                }
            }
            if changes.iter().all(|c| c.kind == crate::model::ChangeKind::NoChanges) {
                lines.push(Line::styled("    Nothing to change: the install is up to date.", t.ok));
            }
        }
        Some(Err(e)) => {
            lines.push(Line::raw(""));
            lines.push(Line::styled(format!("  Could not preview the changes: {e}"), t.warn));
        }
        None => {}
    }
    let next: &[&str] = match cloud {
        crate::model::Cloud::Gcp => &["The next screens show what to tell the vendor. Revoke takes it all back."],
        crate::model::Cloud::Azure => &[
            "The vendor's application gets a service principal in your tenant. The next screens show",
            "what to tell the vendor: tenant, subscription, the machines' identity (client id), Key Vault,",
            "registry and data account. Revoke takes it back.",
        ],
        crate::model::Cloud::Aws => {
            &["The vendor gets the role ARN and the ExternalId on the next screens. Revoke takes it all back."]
        }
    };
    lines.push(Line::raw(""));
    lines.extend(next.iter().map(|l| Line::styled(*l, t.muted)));
    lines.extend([Line::raw(""), buttons(&["No, go back", "Create"], usize::from(app.confirm.create), t, None)]);
    if app.confirm.create {
        lines.push(Line::styled(
            match cloud {
                crate::model::Cloud::Aws => "Enter creates the stacks now.".to_string(),
                _ => format!("Enter creates the {} now.", cloud.groups(plan.groups.len())),
            },
            t.warn,
        ));
    } else {
        lines.push(Line::styled("Nothing has been created. ←/→ to choose, Enter to confirm.", t.muted));
    }
    let width = area.width.min(100);
    let height = (lines.len() as u16 + 2).min(area.height);
    let [_, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let rect = centered(rest, width, height);
    let block = Block::bordered()
        .title(Span::styled(" Confirm ", t.title))
        .border_style(t.border)
        .padding(ratatui::widgets::Padding::horizontal(1));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
