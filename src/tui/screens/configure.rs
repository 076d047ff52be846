//! Step 4, Configure: org name and region, validated as they are typed (`validate::org`,
//! `validate::aws_region`). Enter refuses to go on while a field is invalid.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::Screen;
use crate::plan::Choices;
use crate::tui::action::{Action, Command};
use crate::tui::app::App;
use crate::tui::widgets::input::{field_rows, render_field, FieldView, TextInput};
use crate::validate::{self, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Field {
    #[default]
    Org,
    Region,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigureState {
    pub org: TextInput,
    pub region: TextInput,
    pub focus: Field,
    /// Enter was pressed: show every error, even on untouched fields.
    pub submitted: bool,
    /// The cloud chosen: region names and their checks differ.
    pub cloud: crate::model::Cloud,
}

impl ConfigureState {
    /// Configure for `cloud`, offering its default region (the one `for_cloud` later compares
    /// with, so a switch of cloud replaces it unless the user typed their own).
    pub fn new(cloud: crate::model::Cloud, vendor: &crate::vendor::VendorProfile) -> Self {
        ConfigureState {
            org: TextInput::default(),
            region: TextInput::with_value(&crate::plan::default_region(cloud, vendor)),
            focus: Field::Org,
            submitted: false,
            cloud,
        }
    }

    /// Switch to `cloud`, offering its default region unless the user typed one of their own.
    pub fn for_cloud(&mut self, cloud: crate::model::Cloud, vendor: &crate::vendor::VendorProfile) {
        if cloud != self.cloud {
            let old_default = crate::plan::default_region(self.cloud, vendor);
            if self.region.value.is_empty() || self.region.value == old_default {
                self.region = TextInput::with_value(&crate::plan::default_region(cloud, vendor));
            }
            self.cloud = cloud;
        }
    }

    pub fn org_error(&self) -> Option<FieldError> {
        validate::org(&self.org.value).err()
    }

    pub fn region_error(&self) -> Option<FieldError> {
        match self.cloud {
            crate::model::Cloud::Gcp => validate::gcp_region(&self.region.value).err(),
            crate::model::Cloud::Azure => validate::azure_location(&self.region.value).err(),
            crate::model::Cloud::Aws => validate::aws_region(&self.region.value).err(),
        }
    }

    /// The error to show under a field now (untouched fields stay quiet until Enter).
    pub fn shown_error(&self, field: Field) -> Option<String> {
        let (input, err) = match field {
            Field::Org => (&self.org, self.org_error()),
            Field::Region => (&self.region, self.region_error()),
        };
        err.filter(|_| input.touched || self.submitted).map(|e| e.to_string())
    }

    fn focused(&mut self) -> &mut TextInput {
        match self.focus {
            Field::Org => &mut self.org,
            Field::Region => &mut self.region,
        }
    }
}

impl App {
    pub(crate) fn update_configure(&mut self, action: Action) -> Vec<Command> {
        let c = &mut self.configure;
        match action {
            Action::Input(ch) => c.focused().push(ch),
            Action::Backspace => c.focused().backspace(),
            Action::ClearInput => c.focused().clear(),
            Action::NextTab | Action::PrevTab | Action::Up | Action::Down => {
                c.focus = match c.focus {
                    Field::Org => Field::Region,
                    Field::Region => Field::Org,
                }
            }
            Action::Select => {
                c.submitted = true;
                if let Some(bad) =
                    [(Field::Org, c.org_error()), (Field::Region, c.region_error())].iter().find(|(_, e)| e.is_some())
                {
                    c.focus = bad.0;
                    return Vec::new();
                }
                let choices = Choices {
                    org: c.org.value.clone(),
                    region: c.region.value.clone(),
                    account: None,
                    external_id: None,
                };
                self.go(Screen::Preview);
                // The same choices as the plan on screen: nothing to rebuild.
                let same =
                    self.preview.plan.as_ref().is_some_and(|p| p.org == choices.org && p.region == choices.region);
                if same && self.preview.error.is_none() {
                    return Vec::new();
                }
                self.preview.start_loading(&choices);
                return vec![Command::BuildPlan(choices)];
            }
            _ => {}
        }
        Vec::new()
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let c = &app.configure;
    let sentence = match c.cloud {
        crate::model::Cloud::Gcp => format!(
            "The org name is part of every name cloudgrant creates (the labelled resource set {}-<org>, …).",
            app.vendor.vendor.id
        ),
        crate::model::Cloud::Azure => format!(
            "The org name is part of every name cloudgrant creates ({0}-<org> and {0}-<org>-storage resource groups, …).",
            app.vendor.vendor.id
        ),
        crate::model::Cloud::Aws => {
            format!("The org name is part of every stack name cloudgrant creates ({}-<org>-…).", app.vendor.vendor.id)
        }
    };
    // As tall as the sentence wraps to: at 80 columns it takes two lines.
    let sentence = crate::tui::widgets::wrap(&sentence, area.width as usize);
    let sentence_lines = sentence.len().max(1) as u16;
    let mut intro_lines = vec![Line::raw(""), Line::styled("Name this install and choose its region.", t.heading)];
    intro_lines.extend(sentence.into_iter().map(|l| Line::styled(l, t.muted)));
    let org_view = FieldView {
        label: "Org name",
        input: &c.org,
        focused: c.focus == Field::Org,
        error: c.shown_error(Field::Org),
        help: "lowercase letters, digits and hyphens, e.g. acme-research",
    };
    let region_view = FieldView {
        label: "Region",
        input: &c.region,
        focused: c.focus == Field::Region,
        error: c.shown_error(Field::Region),
        help: match c.cloud {
            crate::model::Cloud::Gcp => {
                "the Google Cloud region for what has one (buckets, key rings; e.g. europe-west1)"
            }
            crate::model::Cloud::Azure => {
                "the Azure region for both resource groups and everything in them (e.g. westeurope, eastus2)"
            }
            crate::model::Cloud::Aws => "the AWS region of the stacks",
        },
    };
    let ready = c.org_error().is_none() && c.region_error().is_none();
    let (msg, style) = if ready {
        ("Enter: preview everything that will be created (nothing is created yet).", t.heading)
    } else if c.org.value.is_empty() || c.region.value.is_empty() {
        ("Fill in both fields to continue.", t.muted)
    } else {
        ("Fix the field marked above to continue.", t.warn)
    };
    let msg = crate::tui::widgets::wrap(msg, area.width as usize);
    // Each part as tall as its text wraps to; a blank row after each field where all of it
    // still fits (at 60x15 it does not: the words come first).
    let (org_rows, region_rows) = (field_rows(&org_view, area.width), field_rows(&region_view, area.width));
    let needed = 2 + sentence_lines + org_rows + region_rows + msg.len() as u16;
    let gap = u16::from(needed + 2 <= area.height);
    let [intro, org, region, note] = Layout::vertical([
        Constraint::Length(2 + sentence_lines),
        Constraint::Length(org_rows + gap),
        Constraint::Length(region_rows + gap),
        Constraint::Min(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(intro_lines), intro);
    render_field(frame, org, &org_view, t);
    render_field(frame, region, &region_view, t);
    let msg: Vec<Line> = msg.into_iter().map(|l| Line::styled(l, style)).collect();
    frame.render_widget(Paragraph::new(msg), note);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Cloud;

    #[test]
    fn switching_cloud_offers_the_new_clouds_default_region() {
        // A pack for Google Cloud and Azure: the wizard starts on Google Cloud's default; choosing
        // Azure offers Azure's, not Google's.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/automl");
        let vendor = crate::vendor::VendorProfile::load(&dir).expect("examples/automl loads");
        let mut c = ConfigureState::new(Cloud::Gcp, &vendor);
        assert_eq!(c.region.value, vendor.gcp.default_region);
        c.for_cloud(Cloud::Azure, &vendor);
        assert_eq!(c.region.value, vendor.azure.default_region);
        assert_ne!(vendor.azure.default_region, vendor.gcp.default_region);
    }
}
