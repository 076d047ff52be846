//! The rows of a Preview tab as data: headings and items (a trust entry, one grant, a resource),
//! each with the text the filter searches and its worst flag; the filter that keeps some of them;
//! and the lines a tab shows once filtered, with where each item is, for the selection.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::permissions::{Risk, Severity};
use crate::tui::theme::Theme;
use crate::tui::widgets::wrap;

/// What an item of a tab stands for (indices into the plan's review or the plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// `review.trust[i]`.
    Trust(usize),
    /// `review.principals[principal].services[service].levels[level].grants[grant]`.
    Grant {
        principal: usize,
        service: usize,
        level: usize,
        grant: usize,
    },
    /// One action of `review.protections[index]`.
    Protection {
        index: usize,
        action: usize,
    },
    Resource {
        group: usize,
        index: usize,
    },
    Parameter {
        group: usize,
        index: usize,
    },
}

/// A heading (kept while an item below it is kept) or an item.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Nesting: a heading covers the entries after it that are deeper.
    pub depth: u8,
    pub item: Option<Item>,
    pub lines: Vec<Line<'static>>,
    /// Lower-case text the filter's words are looked for in.
    pub search: String,
    /// The worst flag of the item.
    pub worst: Option<Severity>,
}

impl Entry {
    pub fn heading(depth: u8, lines: Vec<Line<'static>>) -> Entry {
        Entry { depth, item: None, lines, search: String::new(), worst: None }
    }

    pub fn item(depth: u8, item: Item, lines: Vec<Line<'static>>, search: &[&str], worst: Option<Severity>) -> Entry {
        Entry { depth, item: Some(item), lines, search: search.join("\n").to_lowercase(), worst }
    }
}

/// A filter as typed: every word must be found in the item; `risk:LEVEL` keeps items flagged at
/// that level or worse.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    pub words: Vec<String>,
    pub min_risk: Option<Severity>,
}

/// `high`, `medium` (`med`), `low`, `info` (`any`).
pub fn parse_severity(s: &str) -> Option<Severity> {
    match s.to_lowercase().as_str() {
        "high" => Some(Severity::High),
        "medium" | "med" => Some(Severity::Medium),
        "low" => Some(Severity::Low),
        "info" | "any" => Some(Severity::Info),
        _ => None,
    }
}

impl Query {
    pub fn parse(text: &str) -> Query {
        let mut q = Query::default();
        for word in text.split_whitespace() {
            match word.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("risk")).map(|(_, v)| parse_severity(v)) {
                Some(Some(sev)) => q.min_risk = Some(sev),
                _ => q.words.push(word.to_lowercase()),
            }
        }
        q
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.min_risk.is_none()
    }

    pub fn matches(&self, e: &Entry) -> bool {
        let risk_ok = match self.min_risk {
            None => true,
            Some(min) => e.worst.is_some_and(|w| w >= min),
        };
        risk_ok && self.words.iter().all(|w| e.search.contains(w.as_str()))
    }
}

/// The next risk filter after `text`'s: none → high → medium → low → none. Returns the text
/// with its `risk:` word replaced.
pub fn cycle_risk(text: &str) -> String {
    let current = Query::parse(text).min_risk;
    let next = match current {
        None => Some(Severity::High),
        Some(Severity::High) => Some(Severity::Medium),
        Some(Severity::Medium) => Some(Severity::Low),
        Some(Severity::Low | Severity::Info) => None,
    };
    let mut words: Vec<String> = text
        .split_whitespace()
        .filter(|w| {
            !w.split_once(':').is_some_and(|(k, v)| k.eq_ignore_ascii_case("risk") && parse_severity(v).is_some())
        })
        .map(String::from)
        .collect();
    if let Some(sev) = next {
        words.push(format!("risk:{sev}"));
    }
    words.join(" ")
}

/// A tab's lines once filtered.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub lines: Vec<Line<'static>>,
    /// The items shown, in order, each with its first line and line count.
    pub items: Vec<(Item, usize, usize)>,
    /// Items before the filter.
    pub total: usize,
}

impl View {
    /// Keep the entries the query keeps (every entry when it is empty).
    pub fn build(entries: Vec<Entry>, query: &Query) -> View {
        let total = entries.iter().filter(|e| e.item.is_some()).count();
        let keep: Vec<bool> = if query.is_empty() {
            vec![true; entries.len()]
        } else {
            let hit: Vec<bool> = entries.iter().map(|e| e.item.is_some() && query.matches(e)).collect();
            (0..entries.len())
                .map(|i| {
                    if entries[i].item.is_some() {
                        return hit[i];
                    }
                    // A heading stays while something it covers stays.
                    entries[i + 1..]
                        .iter()
                        .zip(&hit[i + 1..])
                        .take_while(|(e, _)| e.depth > entries[i].depth)
                        .any(|(_, h)| *h)
                })
                .collect()
        };
        let mut view = View { total, ..View::default() };
        for (mut e, _) in entries.into_iter().zip(keep).filter(|(_, k)| *k) {
            // A heading's blank line separates it from what is above: not at the top.
            if view.lines.is_empty() && e.item.is_none() && e.lines.first().is_some_and(|l| l.width() == 0) {
                e.lines.remove(0);
            }
            let start = view.lines.len();
            if let Some(item) = e.item {
                view.items.push((item, start, e.lines.len()));
            }
            view.lines.extend(e.lines);
        }
        view
    }

    /// Mark the item at `selected` (an index into the shown items, clamped to the last) with `>`
    /// and the selection style; returns the index marked.
    pub fn mark(&mut self, selected: usize, t: &Theme) -> Option<usize> {
        let index = selected.min(self.items.len().checked_sub(1)?);
        let (_, start, _) = self.items[index];
        if let Some(first) = self.lines.get_mut(start) {
            mark(first, t);
        }
        Some(index)
    }

    pub fn item(&self, index: usize) -> Option<Item> {
        self.items.get(index).map(|(item, _, _)| *item)
    }
}

/// The selection on an item's first line: `>` in its marker slot (the second span), the rest in
/// the selection style (reversed, so it shows without colour too).
fn mark(line: &mut Line<'static>, t: &Theme) {
    for (i, span) in line.spans.iter_mut().enumerate() {
        if i == 1 {
            span.content = "> ".into();
        }
        if i >= 1 {
            span.style = span.style.patch(t.selected);
        }
    }
}

/// The first spans of an item's first line: the indent and the two-column marker slot [`mark`]
/// fills in.
pub fn item_head(indent: usize) -> Vec<Span<'static>> {
    vec![Span::raw(" ".repeat(indent)), Span::raw("  ")]
}

/// Word-wrap styled text to `width`, keeping each character's style. Every character is kept
/// except the spaces lines break at (as [`wrap`] does).
pub fn styled_wrap(segments: &[(String, Style)], width: usize) -> Vec<Vec<Span<'static>>> {
    let chars: Vec<(char, Style)> = segments.iter().flat_map(|(s, st)| s.chars().map(move |c| (c, *st))).collect();
    let plain: String = chars.iter().map(|(c, _)| *c).collect();
    let mut at = 0;
    let mut out = Vec::new();
    for line in wrap(&plain, width) {
        let mut spans: Vec<Span<'static>> = Vec::new();
        let mut run = String::new();
        let mut run_style: Option<Style> = None;
        for c in line.chars() {
            // Spaces dropped at a break are skipped over here.
            while at < chars.len() && chars[at].0 != c && chars[at].0 == ' ' {
                at += 1;
            }
            let style = chars.get(at).map_or(Style::new(), |(_, s)| *s);
            at += 1;
            if run_style.is_some_and(|s| s != style) {
                spans.push(Span::styled(std::mem::take(&mut run), run_style.unwrap_or_default()));
            }
            run_style = Some(style);
            run.push(c);
        }
        if !run.is_empty() {
            spans.push(Span::styled(run, run_style.unwrap_or_default()));
        }
        out.push(spans);
    }
    out
}

/// `head` then `segments` wrapped in the room left of `width`; continuation lines are indented
/// by the head's width.
pub fn hanging(head: Vec<Span<'static>>, segments: &[(String, Style)], width: usize) -> Vec<Line<'static>> {
    let head_w: usize = head.iter().map(|s| s.content.chars().count()).sum();
    let mut lines = styled_wrap(segments, width.saturating_sub(head_w).max(12)).into_iter();
    let mut first = head;
    first.extend(lines.next().unwrap_or_default());
    let mut out = vec![Line::from(first)];
    for rest in lines {
        let mut spans = vec![Span::raw(" ".repeat(head_w))];
        spans.extend(rest);
        out.push(Line::from(spans));
    }
    out
}

/// `label  value` lines with the label in a fixed column, the value wrapped under itself.
pub fn field(indent: usize, label: &str, value: &[(String, Style)], width: usize, t: &Theme) -> Vec<Line<'static>> {
    let head = vec![Span::raw(" ".repeat(indent)), Span::styled(format!("{label:<12}"), t.muted)];
    hanging(head, value, width)
}

/// The flags of an item as `severity kind`, each in its severity's style, worst first, each
/// kind once.
pub fn flag_segments(risks: &[Risk], t: &Theme) -> Vec<(String, Style)> {
    let mut sorted: Vec<&Risk> = risks.iter().collect();
    sorted.sort_by_key(|r| std::cmp::Reverse(r.severity));
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for r in sorted {
        if seen.contains(&r.kind) {
            continue;
        }
        seen.push(r.kind);
        if !out.is_empty() {
            out.push((", ".to_string(), t.muted));
        }
        out.push((format!("{} {}", r.severity, r.kind.label()), severity_style(t, Some(r.severity))));
    }
    out
}

/// The style of a flag of this severity.
pub fn severity_style(t: &Theme, s: Option<Severity>) -> Style {
    match s {
        Some(Severity::High) => t.danger,
        Some(Severity::Medium) => t.warn,
        Some(Severity::Low) => t.text,
        Some(Severity::Info) | None => t.muted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(depth: u8, item: Option<Item>, text: &str, worst: Option<Severity>) -> Entry {
        let lines = vec![Line::from(vec![Span::raw(""), Span::raw("  "), Span::raw(text.to_string())])];
        match item {
            Some(i) => Entry::item(depth, i, lines, &[text], worst),
            None => Entry::heading(depth, lines),
        }
    }

    fn texts(v: &View) -> Vec<String> {
        v.lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect()
    }

    #[test]
    fn queries_parse_words_and_risk() {
        let q = Query::parse("S3  risk:Medium get");
        assert_eq!(q.words, vec!["s3".to_string(), "get".to_string()]);
        assert_eq!(q.min_risk, Some(Severity::Medium));
        assert_eq!(Query::parse("risk:bogus").words, vec!["risk:bogus".to_string()]);
        assert!(Query::parse("  ").is_empty());
    }

    #[test]
    fn risk_cycles_high_medium_low_off_and_keeps_the_words() {
        assert_eq!(cycle_risk("s3"), "s3 risk:high");
        assert_eq!(cycle_risk("s3 risk:high"), "s3 risk:medium");
        assert_eq!(cycle_risk("risk:medium s3"), "s3 risk:low");
        assert_eq!(cycle_risk("s3 risk:low"), "s3");
        assert_eq!(cycle_risk(""), "risk:high");
    }

    #[test]
    fn headings_stay_only_over_kept_items() {
        let g = |n| Some(Item::Resource { group: 0, index: n });
        let entries = vec![
            entry(0, None, "role a", None),
            entry(1, None, "ec2", None),
            entry(2, g(0), "ec2:RunInstances", Some(Severity::Medium)),
            entry(1, None, "s3", None),
            entry(2, g(1), "s3:GetObject", Some(Severity::High)),
            entry(0, None, "role b", None),
            entry(2, g(2), "kms:Decrypt", None),
        ];
        let t = Theme::plain();
        let mut all = View::build(entries.clone(), &Query::default());
        assert_eq!(all.items.len(), 3);
        assert_eq!(all.total, 3);
        assert_eq!(all.mark(1, &t), Some(1));
        assert_eq!(texts(&all)[4], "> s3:GetObject", "the selected item is marked");
        assert_eq!(all.mark(9, &t), Some(2), "clamped to the last item");
        let high = View::build(entries.clone(), &Query::parse("risk:high"));
        assert_eq!(texts(&high), vec!["  role a", "  s3", "  s3:GetObject"]);
        assert!(View::build(entries.clone(), &Query::parse("nothing-like-this")).mark(0, &t).is_none());
        let run = View::build(entries, &Query::parse("RUN"));
        assert_eq!(texts(&run), vec!["  role a", "  ec2", "  ec2:RunInstances"]);
        assert_eq!((run.items.len(), run.total), (1, 3));
    }

    #[test]
    fn styled_wrap_keeps_styles_across_breaks() {
        let a = Style::new().add_modifier(ratatui::style::Modifier::BOLD);
        let lines = styled_wrap(&[("medium data".into(), a), (" · every object in bucket b".into(), Style::new())], 14);
        let text: Vec<String> = lines.iter().map(|l| l.iter().map(|s| s.content.as_ref()).collect()).collect();
        assert_eq!(text, vec!["medium data ·", "every object", "in bucket b"]);
        assert_eq!(lines[0][0].style, a);
        assert_eq!(lines[0][0].content, "medium data");
        assert_eq!(lines[1][0].style, Style::new());
    }
}
