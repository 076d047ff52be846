//! Step 5, Preview: the whole Plan before anything is created, in tabs — Trust first (who may act
//! as which role, on what condition), then Permissions (principal → service → access level, one
//! line per grant, flags by severity), Resources and Parameters.
//!
//! The Trust, Permissions and Resources tabs have a selection; its detail (flag explanations, the
//! statement as JSON, where it is written, what a wildcard stands for; a resource's network and
//! what its template leaves undone on purpose) shows beside the list on wide terminals and on `d`
//! on narrow ones. `/` filters by words and `risk:LEVEL`; `r` cycles the
//! risk level.
//!
//! Policy: nothing of the Plan is summarised away; long values wrap rather than being cut, so
//! every id, action and principal is on screen somewhere (the exactness test scrolls through).

mod detail;
mod permissions;
mod resources;
pub(crate) mod rows;
mod trust;

use std::borrow::Cow;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::{content_area, error_lines, waiting_lines, Screen};
use crate::cloud::CloudError;
use crate::model::Plan;
use crate::permissions::{Review, Severity};
use crate::plan::Choices;
use crate::tui::action::{Action, Command};
use crate::tui::app::App;
use crate::tui::theme::Theme;
use crate::tui::widgets::scrolled;
use rows::{cycle_risk, Item, Query, View};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Trust,
    Permissions,
    Resources,
    Parameters,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Trust, Tab::Permissions, Tab::Resources, Tab::Parameters];

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// Tabs with a selection and a detail pane (a resource's: its network and what its template
    /// leaves undone on purpose).
    pub fn selectable(self) -> bool {
        matches!(self, Tab::Trust | Tab::Permissions | Tab::Resources)
    }

    /// "Trust (2)", "Permissions (32 actions · 6 medium)": how many lines, and how many carry the
    /// worst flag there is (high, else medium), from [`crate::model::PlanCounts`].
    pub fn title(self, plan: &Plan, review: &Review) -> String {
        match self {
            Tab::Trust => {
                let high = review.trust.iter().filter(|e| trust::worst(&e.risks) == Some(Severity::High)).count();
                match high {
                    0 => format!("Trust ({})", review.trust.len()),
                    h => format!("Trust ({} · {h} high)", review.trust.len()),
                }
            }
            Tab::Permissions => {
                let c = crate::model::PlanCounts::of_review(plan, review);
                match c.worst_flag() {
                    None => format!("Permissions ({} actions)", c.actions),
                    Some(w) => format!("Permissions ({} actions · {w})", c.actions),
                }
            }
            Tab::Resources => format!("Resources ({})", plan.resource_count()),
            Tab::Parameters => {
                format!("Parameters ({})", plan.groups.iter().map(|g| g.parameters.len()).sum::<usize>())
            }
        }
    }
}

/// The `/` filter, shared by every tab.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FilterState {
    pub text: String,
    /// Keys type into it.
    pub editing: bool,
}

impl FilterState {
    /// Being typed or filtering something: Esc clears it before going back.
    pub fn active(&self) -> bool {
        self.editing || !self.text.trim().is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreviewState {
    pub plan: Option<Plan>,
    /// The plan's permissions as a review reads them (computed once, when the plan arrives).
    pub review: Option<Review>,
    pub loading: bool,
    pub error: Option<CloudError>,
    /// The choices of the plan being built; answers for other choices are stale.
    pub pending: Option<Choices>,
    pub tab: Tab,
    /// First visible line of the list, per tab.
    pub scroll: [usize; 4],
    /// The selected item (among those the filter shows), per tab.
    pub selected: [usize; 4],
    /// The detail pane has the keys (and, on a narrow terminal, the screen).
    pub detail: bool,
    pub detail_scroll: usize,
    pub filter: FilterState,
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
                self.review = Some(crate::permissions::review(&plan));
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

    /// `d` does something: the tab has a selection.
    pub fn detail_available(&self) -> bool {
        self.plan.is_some() && self.tab.selectable()
    }

    fn review(&self, plan: &Plan) -> Cow<'_, Review> {
        match &self.review {
            Some(r) => Cow::Borrowed(r),
            None => Cow::Owned(crate::permissions::review(plan)),
        }
    }

    /// After the filter changed: back to the first line of every tab.
    fn reset_positions(&mut self) {
        self.scroll = [0; 4];
        self.selected = [0; 4];
        self.detail_scroll = 0;
    }
}

/// Content width from which the detail pane sits beside the list.
const SPLIT_MIN_WIDTH: u16 = 110;

struct Areas {
    summary: Rect,
    tabs: Rect,
    list: Option<Rect>,
    detail: Option<Rect>,
}

/// Summary lines, tab bar, then the list and (beside it, or instead of it) the detail.
fn areas(area: Rect, p: &PreviewState) -> Areas {
    let [summary, tabs, content] =
        Layout::vertical([Constraint::Length(2), Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let (list, detail) = if !p.tab.selectable() {
        (Some(content), None)
    } else if content.width >= SPLIT_MIN_WIDTH {
        let [l, d] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(content);
        (Some(l), Some(d))
    } else if p.detail {
        (None, Some(content))
    } else {
        (Some(content), None)
    };
    Areas { summary, tabs, list, detail }
}

/// Text width (one column kept free on the right) and height inside a bordered box.
fn inner(r: Rect) -> (usize, usize) {
    (r.width.saturating_sub(3) as usize, r.height.saturating_sub(2) as usize)
}

/// Where the list of the current tab is on a terminal of the app's size (`None` while the
/// detail fills a narrow screen).
pub fn list_area(app: &App) -> Option<Rect> {
    areas(content_area(app.size), &app.preview).list
}

/// Where the detail pane is, if it shows.
pub fn detail_area(app: &App) -> Option<Rect> {
    areas(content_area(app.size), &app.preview).detail
}

fn tab_view(plan: &Plan, review: &Review, p: &PreviewState, width: usize, t: &Theme) -> View {
    let entries = match p.tab {
        Tab::Trust => trust::entries(review, width, t),
        Tab::Permissions => permissions::entries(review, plan, width, t),
        Tab::Resources => resources::resource_entries(plan, width, t),
        Tab::Parameters => resources::parameter_entries(plan, width, t),
    };
    View::build(entries, &Query::parse(&p.filter.text))
}

/// The selected item of the current tab, if it has one.
fn selected_item(plan: &Plan, review: &Review, p: &PreviewState, width: usize, t: &Theme) -> Option<Item> {
    if !p.tab.selectable() {
        return None;
    }
    let view = tab_view(plan, review, p, width, t);
    let last = view.items.len().checked_sub(1)?;
    view.item(p.selected[p.tab.index()].min(last))
}

/// The first line to show so that item `s` is in view, with the headings above it when they fit.
fn follow(items: &[(Item, usize, usize)], s: usize, scroll: usize, h: usize, max: usize) -> usize {
    let (_, start, len) = items[s];
    let end = start + len;
    let context = if s == 0 { 0 } else { items[s - 1].1 + items[s - 1].2 };
    let top = if s == 0 && end <= h {
        0
    } else if s + 1 == items.len() && start >= max {
        max
    } else if start < scroll {
        if end - context <= h {
            context
        } else if len <= h {
            end - h
        } else {
            start
        }
    } else if end > scroll + h {
        if len <= h {
            end - h
        } else {
            start
        }
    } else {
        scroll
    };
    top.min(max)
}

/// The selection and first line after a key, on a tab with a selection. Paging moves the view
/// by a page and selects the first item in it, so every line is reached.
fn navigate(view: &View, sel: usize, scroll: usize, h: usize, action: &Action) -> (usize, usize) {
    let items = &view.items;
    let last = items.len().saturating_sub(1);
    let max = view.lines.len().saturating_sub(h);
    let page = h.saturating_sub(1).max(1);
    let first_from = |top: usize| items.iter().position(|(_, s, _)| *s >= top).unwrap_or(last);
    match action {
        Action::Up => {
            let s = sel.saturating_sub(1);
            (s, follow(items, s, scroll, h, max))
        }
        Action::Down => {
            let s = (sel + 1).min(last);
            (s, follow(items, s, scroll, h, max))
        }
        Action::Home => (0, 0),
        Action::End => (last, max),
        Action::PageDown if scroll >= max => (last, max),
        Action::PageDown => {
            let top = (scroll + page).min(max);
            (first_from(top), top)
        }
        Action::PageUp if scroll == 0 => (0, 0),
        Action::PageUp => {
            let top = scroll.saturating_sub(page);
            (first_from(top), top)
        }
        _ => (sel, scroll),
    }
}

impl App {
    pub(crate) fn update_preview(&mut self, action: Action) -> Vec<Command> {
        let p = &mut self.preview;
        if p.plan.is_none() {
            // Enter after a failed build tries again.
            if action == Action::Select && p.error.is_some() {
                if let Some(choices) = p.pending.clone() {
                    p.start_loading(&choices);
                    return vec![Command::BuildPlan(choices)];
                }
            }
            return Vec::new();
        }
        if p.filter.editing {
            match action {
                Action::Input(c) => p.filter.text.push(c),
                Action::Backspace => {
                    p.filter.text.pop();
                }
                Action::ClearInput => p.filter.text.clear(),
                Action::Back => p.filter = FilterState::default(),
                Action::Select => {
                    p.filter.editing = false;
                    return Vec::new();
                }
                _ => return self.preview_key(action),
            }
            p.reset_positions();
            return Vec::new();
        }
        self.preview_key(action)
    }

    fn preview_key(&mut self, action: Action) -> Vec<Command> {
        let p = &mut self.preview;
        let n = Tab::ALL.len();
        let i = p.tab.index();
        match action {
            Action::Filter => {
                p.filter.editing = true;
                p.detail = false;
            }
            Action::CycleRisk => {
                p.filter.text = cycle_risk(&p.filter.text);
                p.reset_positions();
            }
            // Only with a filter (see `App::update`): Esc clears it.
            Action::Back => {
                p.filter = FilterState::default();
                p.reset_positions();
            }
            Action::NextTab | Action::Right | Action::PrevTab | Action::Left => {
                let forward = matches!(action, Action::NextTab | Action::Right);
                p.tab = Tab::ALL[if forward { (i + 1) % n } else { (i + n - 1) % n }];
                p.detail_scroll = 0;
                p.detail &= p.tab.selectable();
            }
            Action::Detail => {
                p.detail = !p.detail && p.tab.selectable();
                p.detail_scroll = 0;
            }
            Action::Select => {
                self.confirm = Default::default();
                self.go(Screen::Confirm);
            }
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Home | Action::End => {
                self.preview_move(&action);
            }
            Action::Click(x, y) => {
                if let Some(tab) = self.tab_at(x, y) {
                    let p = &mut self.preview;
                    p.tab = tab;
                    p.detail_scroll = 0;
                    p.detail &= tab.selectable();
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// The tab whose title is at screen cell (`x`, `y`), if any.
    fn tab_at(&self, x: u16, y: u16) -> Option<Tab> {
        let (plan, review) = (self.preview.plan.as_ref()?, self.preview.review.as_ref()?);
        let a = areas(content_area(self.size), &self.preview);
        if y != a.tabs.y || x < a.tabs.x {
            return None;
        }
        let mut at = a.tabs.x as usize;
        let spans = tab_bar(plan, review, self.preview.tab, a.tabs.width as usize, &self.theme);
        for (i, span) in spans.iter().enumerate() {
            let w = span.content.chars().count();
            if (x as usize) < at + w && i % 2 == 0 {
                return Tab::ALL.get(i / 2).copied();
            }
            at += w;
        }
        None
    }

    /// Keys that move: the detail's scroll while it has the keys, else the selection (or, on
    /// tabs without one, the scroll).
    fn preview_move(&mut self, action: &Action) {
        let theme = &self.theme;
        let p = &mut self.preview;
        let Some(plan) = &p.plan else { return };
        let review = match &p.review {
            Some(r) => Cow::Borrowed(r),
            None => Cow::Owned(crate::permissions::review(plan)),
        };
        let a = areas(content_area(self.size), p);
        let i = p.tab.index();
        if p.detail {
            let Some(d) = a.detail else { return };
            let (w, h) = inner(d);
            let list_w = a.list.map_or(w, |l| inner(l).0);
            let Some(item) = selected_item(plan, &review, p, list_w, theme) else { return };
            let max = detail::lines(plan, &review, item, w, theme).len().saturating_sub(h);
            p.detail_scroll = scrolled(action, p.detail_scroll.min(max), h, max);
            return;
        }
        let Some(l) = a.list else { return };
        let (w, h) = inner(l);
        let view = tab_view(plan, &review, p, w, theme);
        let max = view.lines.len().saturating_sub(h);
        let scroll = p.scroll[i].min(max);
        if !p.tab.selectable() || view.items.is_empty() {
            p.scroll[i] = scrolled(action, scroll, h, max);
            return;
        }
        let sel = p.selected[i].min(view.items.len() - 1);
        let (s, top) = navigate(&view, sel, scroll, h, action);
        if s != sel {
            p.detail_scroll = 0;
        }
        p.selected[i] = s;
        p.scroll[i] = top;
    }
}

/// The tab titles, the open one in brackets (visible without colour too). Narrow terminals get
/// less space between them, then "Params" for "Parameters", before anything is cut.
fn tab_bar(plan: &Plan, review: &Review, open: Tab, width: usize, t: &Theme) -> Vec<Span<'static>> {
    let titles: Vec<String> = Tab::ALL.iter().map(|tab| tab.title(plan, review)).collect();
    let fits =
        |titles: &[String], gap: usize| titles.iter().map(|x| x.chars().count() + 2 + gap).sum::<usize>() <= width;
    let short: Vec<String> = titles.iter().map(|x| x.replacen("Parameters (", "Params (", 1)).collect();
    // Narrower still: the open tab keeps its title, the others their name and first number.
    let compact: Vec<String> =
        Tab::ALL.iter().zip(&short).map(|(tab, x)| if *tab == open { x.clone() } else { compact_title(x) }).collect();
    // Narrowest: short names, and the open tab without the word "actions".
    let tiny: Vec<String> = Tab::ALL
        .iter()
        .zip(&compact)
        .map(|(tab, x)| {
            let x = x.replacen("Permissions", "Perms", 1).replacen("Resources", "Res", 1);
            if *tab == open {
                x.replacen(" actions", "", 1)
            } else {
                x
            }
        })
        .collect();
    let (titles, gap) = if fits(&titles, 1) {
        (titles, 1)
    } else if fits(&titles, 0) {
        (titles, 0)
    } else if fits(&short, 0) {
        (short, 0)
    } else if fits(&compact, 0) {
        (compact, 0)
    } else {
        (tiny, 0)
    };
    let mut spans = Vec::new();
    for (tab, title) in Tab::ALL.iter().zip(titles) {
        spans.push(if *tab == open {
            Span::styled(format!("[{title}]"), t.selected)
        } else {
            Span::styled(format!(" {title} "), t.muted)
        });
        spans.push(Span::raw(" ".repeat(gap)));
    }
    spans
}

/// "Permissions (32 actions · 6 medium)" → "Permissions 32".
fn compact_title(title: &str) -> String {
    let (name, rest) = title.split_once(" (").unwrap_or((title, ""));
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    format!("{name} {n}")
}

/// The list box's top title: the filter, and how many lines it keeps.
fn filter_title<'a>(p: &PreviewState, shown: usize, total: usize, t: &Theme) -> Line<'a> {
    let f = &p.filter;
    if !f.active() {
        return Line::default();
    }
    let mut spans = vec![Span::styled(" / ", t.key)];
    if f.editing {
        spans.push(Span::styled(format!("{}_", f.text), t.text));
        if f.text.trim().is_empty() {
            spans.push(Span::styled(" words, risk:high, risk:medium…", t.muted));
        }
    } else {
        spans.push(Span::styled(f.text.clone(), t.text));
    }
    if !f.text.trim().is_empty() {
        spans.push(Span::styled(format!(" · {shown} of {total} "), t.warn));
    } else {
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

fn lines_title<'a>(top: usize, h: usize, total: usize, t: &Theme) -> Span<'a> {
    let end = (top + h).min(total);
    Span::styled(format!(" lines {}-{} of {} ", (top + 1).min(total), end, total), t.muted)
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let p = &app.preview;
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
    let review = p.review(plan);
    let a = areas(area, p);
    let account = plan.account.as_deref().unwrap_or("<account>");
    use crate::model::ChangeKind;
    // What exists already, once the cloud has answered: a re-run updates, it does not start over.
    let exists = match &p.changes {
        None => ("Checking what exists…", t.muted),
        Some(Err(_)) => ("What exists could not be read (see Confirm).", t.warn),
        Some(Ok(c)) if c.iter().all(|c| c.kind == ChangeKind::Create) => ("Nothing exists yet.", t.text),
        Some(Ok(c)) if c.iter().all(|c| c.kind == ChangeKind::NoChanges) => ("It all exists already, unchanged.", t.ok),
        Some(Ok(_)) => ("Part of it exists: Confirm shows what changes.", t.warn),
    };
    let sum = vec![
        Line::from(vec![
            Span::styled("This is everything the install has. ", t.heading),
            Span::styled(exists.0, exists.1),
        ]),
        Line::styled(
            match plan.cloud {
                // A subscription id is 36 characters: last, so that a narrow screen cuts only it.
                crate::model::Cloud::Azure => format!(
                    "{} · org {} · {} · subscription {account}",
                    plan.cloud.groups(plan.groups.len()),
                    plan.org,
                    plan.region
                ),
                _ if area.width < 70 => {
                    format!("org {} · {} · {} · {account}", plan.org, plan.cloud.groups(plan.groups.len()), plan.region)
                }
                _ => format!(
                    "{} {account} · region {} · org {} · {}",
                    plan.cloud.account_word(),
                    plan.region,
                    plan.org,
                    plan.cloud.groups(plan.groups.len())
                ),
            },
            t.muted,
        ),
    ];
    frame.render_widget(Paragraph::new(sum), a.summary);
    let spans = tab_bar(plan, &review, p.tab, a.tabs.width as usize, t);
    frame.render_widget(Paragraph::new(Line::from(spans)), a.tabs);

    let i = p.tab.index();
    let mut selected = None;
    if let Some(l) = a.list {
        let (w, h) = inner(l);
        let mut view = tab_view(plan, &review, p, w, t);
        if p.tab.selectable() {
            selected = view.mark(p.selected[i], t).and_then(|k| view.item(k));
        }
        let title = filter_title(p, view.items.len(), view.total, t);
        let mut lines = view.lines;
        if lines.is_empty() {
            let flagged = matches!(p.tab, Tab::Trust | Tab::Permissions);
            let why = if flagged || Query::parse(&p.filter.text).min_risk.is_none() {
                "Nothing here matches the filter. Esc clears it."
            } else {
                "Nothing here matches: risk flags are on the Trust and Permissions lines. Esc clears the filter."
            };
            lines.push(Line::styled(why, t.muted));
        }
        let top = p.scroll[i].min(lines.len().saturating_sub(h));
        let block =
            Block::bordered().title(title).title_bottom(lines_title(top, h, lines.len(), t)).border_style(t.border);
        let visible: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
        frame.render_widget(Paragraph::new(visible).block(block), l);
    }
    if let Some(d) = a.detail {
        let (w, h) = inner(d);
        if a.list.is_none() {
            selected = selected_item(plan, &review, p, w, t);
        }
        let lines = match selected {
            Some(item) => detail::lines(plan, &review, item, w, t),
            None => detail::empty(t),
        };
        let top = p.detail_scroll.min(lines.len().saturating_sub(h));
        let (title, border) = if p.detail {
            (" Detail · ↑/↓ scroll · d/Esc closes ", t.title)
        } else {
            (" Detail · d to scroll it ", t.border)
        };
        let mut block = Block::bordered().title(Span::styled(title, t.muted)).border_style(border);
        if lines.len() > h {
            block = block.title_bottom(lines_title(top, h, lines.len(), t));
        }
        let visible: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
        frame.render_widget(Paragraph::new(visible).block(block), d);
    }
}
