//! The end of a run and of the wizard: the receipt asked for once a run has its result, what q
//! does on a finished run screen, the lines printed on the normal screen after the wizard closes
//! (the vendor's values and the receipt's path: never lost), mouse input, and the scroll of the
//! screens that scroll as a whole.

use crossterm::event::{MouseEvent, MouseEventKind};

use super::action::{Action, Command};
use super::app::{App, Flow};
use super::screens::Screen;
use super::widgets::run::RunKind;
use crate::receipts::{self, EventSummary, Outcome, Who};
use crate::tui::widgets::run::LogEntry;

impl App {
    /// Once per run, when its result is known: the receipt of what was approved and what
    /// happened. Written by the runtime; `None` receipts directory: not written.
    pub(crate) fn ask_receipt(&mut self) -> Vec<Command> {
        let Some(dir) = self.receipts_dir.clone() else { return Vec::new() };
        let Some(run) = self.run().filter(|r| !r.running()) else { return Vec::new() };
        if self.receipt_asked {
            return Vec::new();
        }
        let events = EventSummary::of(run.log.iter().filter_map(|e| match e {
            LogEntry::Event(e) => Some(e),
            LogEntry::Note(_) => None,
        }));
        let finish = run.finish.clone();
        let ok = finish.as_ref().is_some_and(|f| f.ok);
        let cancelled = finish.as_ref().is_some_and(|f| matches!(f.error, Some(crate::cloud::CloudError::Cancelled)));
        let root_cause = run
            .root_cause
            .as_ref()
            .map(|c| format!("{} in {} is {}: {}", c.resource, c.group, c.status, c.reason))
            .or_else(|| finish.as_ref().and_then(|f| f.root_cause.clone()))
            .or_else(|| finish.as_ref().and_then(|f| f.error.as_ref().map(|e| e.to_string())));
        let who = self.account.identity().map(Who::from);
        let now = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let receipt = match (self.flow, run.kind) {
            (Flow::Onboard, RunKind::Deploy) => {
                let Some(plan) = &self.preview.plan else { return Vec::new() };
                let outcome = Outcome::of(receipts::Flow::Init, ok, cancelled, root_cause);
                receipts::for_init(plan, &self.vendor, who, self.installation.as_ref(), events, outcome, now)
            }
            (Flow::Revoke, RunKind::Revoke) => {
                let Some(plan) = &self.review.plan else { return Vec::new() };
                let outcome = Outcome::of(receipts::Flow::Revoke, ok, cancelled, root_cause);
                receipts::for_revoke(plan, &self.vendor, who, self.residue.residue.as_ref(), events, outcome, now)
            }
            _ => return Vec::new(),
        };
        self.receipt_asked = true;
        vec![Command::WriteReceipt { receipt: Box::new(receipt), dir }]
    }

    /// q on Deploy or Revoke: ask while it runs; once finished, go on to Done (what to send the
    /// vendor) or the report, and quit only from a run that has nothing to show.
    pub(crate) fn quit_run(&mut self) -> Vec<Command> {
        if self.running() {
            return self.update(Action::Interrupt);
        }
        let succeeded = self.run().is_some_and(|r| r.succeeded());
        match self.screen {
            Screen::Deploy if succeeded && self.installation.is_some() => self.go(Screen::Done),
            Screen::RevokeRun if self.residue.residue.is_some() => self.go(Screen::Residue),
            _ => {
                self.quit = true;
                return vec![Command::Quit];
            }
        }
        Vec::new()
    }

    /// Move `self.scroll` for a key, within what `lines` leaves at `height`.
    pub(crate) fn scroll_page(&mut self, action: &Action, lines: usize, height: usize) {
        let max = lines.saturating_sub(height);
        self.scroll = crate::tui::widgets::scrolled(action, self.scroll.min(max), height, max);
    }

    /// The wheel scrolls like ↑/↓ (three lines a notch); a click on a Preview tab opens it.
    pub fn handle_mouse(&mut self, m: MouseEvent) -> Vec<Command> {
        let (action, times) = match m.kind {
            MouseEventKind::ScrollUp => (Action::Up, 3),
            MouseEventKind::ScrollDown => (Action::Down, 3),
            MouseEventKind::Down(_) => (Action::Click(m.column, m.row), 1),
            _ => return Vec::new(),
        };
        // Text fields and the help overlay keep their own keys; the wheel does not type.
        (0..times).flat_map(|_| self.update(action.clone())).collect()
    }

    /// What to print on the normal screen once the wizard has closed: what to send the vendor
    /// (an install that completed), what the revoke left, and where the receipt is.
    pub fn exit_report(&self) -> Vec<String> {
        let mut out = Vec::new();
        let name = &self.vendor.vendor.name;
        match self.flow {
            Flow::Onboard => {
                let done = self.deploy.as_ref().is_some_and(|r| r.succeeded());
                if let (true, Some(inst)) = (done, &self.installation) {
                    out.push(format!(
                        "Access for {name} is in place in {} {} ({}), org {}.",
                        inst.cloud.account_word(),
                        inst.account,
                        inst.region,
                        inst.org
                    ));
                    out.push(format!("Send these values to {name}:"));
                    let sent = self.preview.plan.as_ref().map(|p| p.send_to_vendor.clone()).unwrap_or_default();
                    for (k, v) in inst.for_vendor(&sent) {
                        out.push(format!(
                            "  {k}: {}",
                            v.as_deref().unwrap_or("(missing: `cloudgrant status` reads it)")
                        ));
                    }
                    out.push(format!(
                        "Revoke later with: cloudgrant revoke --cloud {} --org {}{}",
                        inst.cloud,
                        inst.org,
                        self.cli_flags(&inst.region)
                    ));
                }
            }
            Flow::Revoke => {
                if let Some(r) = &self.residue.residue {
                    let failed = r.checks.iter().filter(|c| !c.ok).count();
                    out.push(if failed == 0 {
                        format!(
                            "{name}'s access to {} {} is revoked (org {}).",
                            r.cloud.account_word(),
                            r.account,
                            r.org
                        )
                    } else {
                        format!("{failed} check(s) failed: {name}'s access may not be fully gone (org {}).", r.org)
                    });
                    for i in &r.items {
                        out.push(format!(
                            "  {}: {} {}",
                            i.fate(self.review.plan.as_ref()).phrase(),
                            i.type_,
                            i.physical_id
                        ));
                    }
                }
            }
        }
        match &self.receipt {
            Some(Ok(path)) => out.push(format!("Receipt: {} (`cloudgrant receipts` lists them)", path.display())),
            Some(Err(e)) => out.push(format!("The receipt was not written: {e}")),
            None => {}
        }
        out
    }
}
