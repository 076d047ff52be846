//! Step 5, Preview: the whole Plan before anything is created, in tabs — every resource (type,
//! name, what revoke does, why), every permission statement, every trust entry, every parameter.
//!
//! Policy: nothing of the Plan is summarised away; long values wrap rather than being cut, so
//! every id, action and principal is on screen somewhere (the exactness test scrolls through).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::{content_area, error_lines, waiting_lines, Screen};
use crate::cloud::CloudError;
use crate::model::{Effect, OnRevoke, ParameterSource, Permission, PermissionKind, Plan};
use crate::plan::Choices;
use crate::tui::action::{Action, Command};
use crate::tui::app::App;
use crate::tui::theme::Theme;
use crate::tui::widgets::{field_lines, wrap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Resources,
    Permissions,
    Trust,
    Parameters,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Resources, Tab::Permissions, Tab::Trust, Tab::Parameters];

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn title(self, plan: &Plan) -> String {
        match self {
            Tab::Resources => format!("Resources ({})", plan.resource_count()),
            Tab::Permissions => format!("Permissions ({})", plan.permission_count()),
            Tab::Trust => format!("Trust ({})", plan.trust().count()),
            Tab::Parameters => {
                format!("Parameters ({})", plan.groups.iter().map(|g| g.parameters.len()).sum::<usize>())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreviewState {
    pub plan: Option<Plan>,
    pub loading: bool,
    pub error: Option<CloudError>,
    /// The choices of the plan being built; answers for other choices are stale.
    pub pending: Option<Choices>,
    pub tab: Tab,
    /// First visible line, per tab.
    pub scroll: [usize; 4],
    /// What applying would change where stacks exist already; `None` until known.
    pub changes: Option<Result<Vec<crate::model::GroupChanges>, CloudError>>,
}

impl PreviewState {
    pub(crate) fn start_loading(&mut self, choices: &Choices) {
        *self = PreviewState { loading: true, pending: Some(choices.clone()), ..PreviewState::default() };
    }

    pub(crate) fn receive(&mut self, res: Result<Box<Plan>, CloudError>) {
        let Some(pending) = &self.pending else { return };
        match res {
            Ok(plan) if plan.org == pending.org && plan.region == pending.region => {
                self.plan = Some(*plan);
                self.loading = false;
            }
            Ok(_) => {}
            Err(e) => {
                self.error = Some(e);
                self.loading = false;
            }
        }
    }
}

/// Summary line, tab bar, content.
fn layout(area: Rect) -> [Rect; 3] {
    Layout::vertical([Constraint::Length(2), Constraint::Length(1), Constraint::Min(3)]).areas(area)
}

/// Content lines visible at this terminal size.
fn content_height(size: (u16, u16)) -> usize {
    let [_, _, content] = layout(content_area(size));
    content.height.saturating_sub(2) as usize
}

/// Text width inside the content box, one column kept free on the right.
fn content_width(size: (u16, u16)) -> usize {
    content_area(size).width.saturating_sub(3) as usize
}

impl App {
    pub(crate) fn update_preview(&mut self, action: Action) -> Vec<Command> {
        let h = content_height(self.size).max(1);
        let width = content_width(self.size);
        let p = &mut self.preview;
        let Some(plan) = &p.plan else {
            // Enter after a failed build tries again.
            if action == Action::Select && p.error.is_some() {
                if let Some(choices) = p.pending.clone() {
                    p.start_loading(&choices);
                    return vec![Command::BuildPlan(choices)];
                }
            }
            return Vec::new();
        };
        let i = p.tab.index();
        let max = tab_lines(plan, p.tab, width, &self.theme).len().saturating_sub(h);
        let s = &mut p.scroll[i];
        match action {
            Action::NextTab | Action::Right => p.tab = Tab::ALL[(i + 1) % Tab::ALL.len()],
            Action::PrevTab | Action::Left => p.tab = Tab::ALL[(i + Tab::ALL.len() - 1) % Tab::ALL.len()],
            Action::Up => *s = s.saturating_sub(1),
            Action::Down => *s = (*s + 1).min(max),
            Action::PageUp => *s = s.saturating_sub(h.saturating_sub(1).max(1)),
            Action::PageDown => *s = (*s + h.saturating_sub(1).max(1)).min(max),
            Action::Home => *s = 0,
            Action::End => *s = max,
            Action::Select => {
                self.confirm = Default::default();
                self.go(Screen::Confirm);
            }
            _ => {}
        }
        Vec::new()
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let p = &app.preview;
    let [summary, tabs, content] = layout(area);
    let Some(plan) = &p.plan else {
        let lines = match &p.error {
            Some(e) => {
                let mut l = error_lines(app, e, area.width);
                l.push(Line::styled("Enter tries again; Esc goes back to change the values.", t.muted));
                l
            }
            None => waiting_lines(app, "Reading the templates and building the plan…"),
        };
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    let account = plan.account.as_deref().unwrap_or("<account>");
    let sum = vec![
        Line::from(vec![
            Span::styled("This is everything that will be created. ", t.heading),
            Span::styled("Nothing exists yet.", t.text),
        ]),
        Line::styled(
            format!("account {account} · region {} · org {} · {} stacks", plan.region, plan.org, plan.groups.len()),
            t.muted,
        ),
    ];
    frame.render_widget(Paragraph::new(sum), summary);
    let mut spans = Vec::new();
    for tab in Tab::ALL {
        // Brackets mark the open tab without colour too.
        let (text, style) = if tab == p.tab {
            (format!("[{}]", tab.title(plan)), t.selected)
        } else {
            (format!(" {} ", tab.title(plan)), t.muted)
        };
        spans.push(Span::styled(text, style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), tabs);

    let h = content.height.saturating_sub(2) as usize;
    let lines = tab_lines(plan, p.tab, content_width(app.size).min(content.width.saturating_sub(3) as usize), t);
    let top = p.scroll[p.tab.index()].min(lines.len().saturating_sub(h));
    let end = (top + h).min(lines.len());
    let title = format!(" lines {}-{} of {} ", top + 1, end, lines.len());
    let block = Block::bordered().title_bottom(Span::styled(title, t.muted)).border_style(t.border);
    let visible: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
    frame.render_widget(Paragraph::new(visible).block(block), content);
}

/// Every line of one tab, wrapped to `width`.
pub fn tab_lines(plan: &Plan, tab: Tab, width: usize, t: &Theme) -> Vec<Line<'static>> {
    match tab {
        Tab::Resources => resource_lines(plan, width, t),
        Tab::Permissions => permission_lines(plan, width, t),
        Tab::Trust => trust_lines(plan, width, t),
        Tab::Parameters => parameter_lines(plan, width, t),
    }
}

fn on_revoke_text(on: OnRevoke, days: Option<u32>) -> (String, fn(&Theme) -> Style) {
    match on {
        OnRevoke::Delete => ("on revoke: deleted".into(), |t| t.muted),
        OnRevoke::Keep => ("on revoke: KEPT (retained, with your data)".into(), |t| t.kept),
        OnRevoke::ScheduledDeletion => (format!("on revoke: deleted after {} days", days.unwrap_or(30)), |t| t.warn),
        OnRevoke::SoftDelete => ("on revoke: soft-deleted".into(), |t| t.warn),
    }
}

fn resource_lines(plan: &Plan, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for g in &plan.groups {
        out.push(Line::styled(
            format!("{} · {} ({})", g.name, g.title, plural(g.resources.len(), "resource")),
            t.heading,
        ));
        for r in &g.resources {
            let (revoke, style) = on_revoke_text(r.on_revoke, r.pending_window_days);
            out.push(Line::from(vec![
                Span::styled(format!("  {:<22} ", r.id), t.text),
                Span::styled(format!("{:<38} ", r.type_), t.muted),
                Span::styled(revoke, style(t)),
            ]));
            if let Some(n) = &r.name {
                out.extend(field_lines("      name ", 11, n, width, t.muted, t.text));
            }
            out.extend(field_lines("      why  ", 11, &r.why, width, t.muted, t.muted));
        }
        out.push(Line::raw(""));
    }
    out
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn compact(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| v.to_string())
}

fn has_conditions(p: &Permission) -> bool {
    !(p.conditions.is_null() || p.conditions.as_object().is_some_and(|o| o.is_empty()))
}

fn permission_lines(plan: &Plan, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for g in plan.groups.iter().filter(|g| !g.permissions.is_empty()) {
        out.push(Line::styled(
            format!("{} · {} ({})", g.name, g.title, plural(g.permissions.len(), "statement")),
            t.heading,
        ));
        for p in &g.permissions {
            let sid = p.sid.as_deref().map(|s| format!(" · {s}")).unwrap_or_default();
            let kind = match p.kind {
                PermissionKind::Trust => "trust",
                PermissionKind::Identity => "identity",
                PermissionKind::Resource => "resource",
            };
            out.push(Line::styled(format!("  {} · {}{sid} ({kind} policy)", p.holder, p.policy), t.text));
            let effect_style = if p.effect == Effect::Deny { t.warn } else { t.ok };
            out.extend(field_lines("    principal  ", 15, &p.principal, width, t.muted, t.text));
            out.extend(field_lines("    effect     ", 15, &format!("{:?}", p.effect), width, t.muted, effect_style));
            for (i, a) in p.actions.iter().enumerate() {
                let label = if i == 0 { "    actions    " } else { "" };
                out.extend(field_lines(label, 15, a, width, t.muted, t.text));
            }
            for (i, r) in p.resources.iter().enumerate() {
                let label = if i == 0 { "    resources  " } else { "" };
                out.extend(field_lines(label, 15, r, width, t.muted, t.text));
            }
            if has_conditions(p) {
                out.extend(field_lines("    conditions ", 15, &compact(&p.conditions), width, t.muted, t.warn));
            }
            out.extend(analysis_lines(p, width, t));
        }
        out.push(Line::raw(""));
    }
    out
}

/// The permission analysis of one statement: its access level, where it is written, and each
/// risk flag with its plain explanation (high in the danger colour, medium as a warning).
fn analysis_lines(p: &crate::model::Permission, width: usize, t: &Theme) -> Vec<Line<'static>> {
    use crate::permissions::Severity;
    let mut out = Vec::new();
    if let Some(level) = p.access_level {
        out.extend(field_lines("    access     ", 15, level.title(), width, t.muted, t.text));
    }
    if let Some(src) = &p.source {
        out.extend(field_lines("    written at ", 15, &src.to_string(), width, t.muted, t.muted));
    }
    for r in &p.risks {
        let style = match r.severity {
            Severity::High => t.danger,
            Severity::Medium => t.warn,
            Severity::Low | Severity::Info => t.muted,
        };
        let text = format!("{} · {}: {}", r.severity.as_str(), r.kind.label(), r.explanation);
        out.extend(field_lines("    ! flag     ", 15, &text, width, t.muted, style));
    }
    out
}

fn trust_lines(plan: &Plan, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![
        Line::styled("Who can act as the roles cloudgrant creates (assume-role trust):", t.heading),
        Line::raw(""),
    ];
    for (g, p) in plan.trust() {
        let role = g
            .resources
            .iter()
            .find(|r| r.id == p.holder)
            .and_then(|r| r.name.clone())
            .unwrap_or_else(|| p.holder.clone());
        let sid = p.sid.as_deref().map(|s| format!(" · {s}")).unwrap_or_default();
        out.push(Line::styled(format!("{} ({role}) in {}{sid}", p.holder, g.name), t.text));
        out.extend(field_lines("    who        ", 15, &p.principal, width, t.muted, t.heading));
        out.extend(field_lines(
            "    may        ",
            15,
            &format!("{:?} {}", p.effect, p.actions.join(", ")),
            width,
            t.muted,
            t.text,
        ));
        let cond = if has_conditions(p) { compact(&p.conditions) } else { "no condition".into() };
        out.extend(field_lines("    only when  ", 15, &cond, width, t.muted, t.warn));
        out.extend(analysis_lines(p, width, t));
        out.push(Line::raw(""));
    }
    out
}

fn parameter_lines(plan: &Plan, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for g in &plan.groups {
        out.push(Line::styled(
            format!("{} · {} ({})", g.name, g.title, plural(g.parameters.len(), "parameter")),
            t.heading,
        ));
        for p in &g.parameters {
            let source = match &p.source {
                ParameterSource::Tool => "set by cloudgrant".to_string(),
                ParameterSource::Default => "template default".to_string(),
                ParameterSource::Output { group, output } => format!("output {output} of {group}"),
            };
            let value = format!("{}  ({source})", p.value);
            for (i, part) in wrap(&value, width.saturating_sub(26)).into_iter().enumerate() {
                let label = if i == 0 { format!("  {:<24}", p.name) } else { " ".repeat(26) };
                out.push(Line::from(vec![Span::styled(label, t.muted), Span::styled(part, t.text)]));
            }
        }
        out.push(Line::raw(""));
    }
    out
}
