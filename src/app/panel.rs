//! The centre tabs behind one small trait, registered in one list ([`super::LoupeApp::panels`]).
//! A panel says whether it applies to the open session (and why not), is told when a new
//! session is installed — the place where model-bound state such as class indices is
//! validated or reset — and draws itself from a [`PanelCtx`].

use std::sync::Arc;

use crate::data::Dataset;
use crate::explain::ExplainSettings;
use crate::session::Session;

use super::Command;
use super::notices::Notices;

/// What the Explain, Global and Report tabs share: the explanation settings and the
/// background file, persisted with the window.
#[derive(Default)]
pub struct Shared {
    pub explain: ExplainSettings,
    /// A CSV whose every row is the background, instead of the reference rows.
    pub background_file: Option<Arc<Dataset>>,
}

/// Everything a panel draws from and acts through.
pub struct PanelCtx<'a> {
    pub session: &'a Session,
    /// The row selected in the browser.
    pub row: usize,
    pub shared: &'a mut Shared,
    pub notices: &'a mut Notices,
    pub commands: &'a mut Vec<Command>,
}

impl PanelCtx<'_> {
    /// The model's file name without `.onnx`, to begin export file names with.
    pub fn model_stem(&self) -> String {
        self.session
            .model
            .name()
            .trim_end_matches(".onnx")
            .to_string()
    }
}

/// A centre tab.
pub trait Panel {
    /// The tab's name, shown and persisted (`Explain`). Two panels may share one (tabular and
    /// image Explain): the one that applies is shown.
    fn title(&self) -> &'static str;

    /// Why the panel has nothing to show for `session`, if so (the tab is then disabled with
    /// this reason).
    fn unavailable(&self, _session: &Session) -> Option<String> {
        None
    }

    /// A new session was installed: forget results, and validate or reset everything that
    /// belongs to the previous model.
    fn on_session(&mut self, session: &Session, notices: &mut Notices);

    /// Draws the panel.
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx);
}

/// The tab strip: one tab per title, disabled with its reason when no panel of that title
/// applies. Returns the title of the panel to draw.
pub fn tabs_ui(ui: &mut egui::Ui, panels: &[&dyn Panel], session: &Session, tab: &mut String) {
    let mut titles: Vec<(&'static str, Option<String>)> = Vec::new();
    for p in panels {
        let why = p.unavailable(session);
        match titles.iter_mut().find(|(t, _)| *t == p.title()) {
            Some((_, reason)) => {
                if why.is_none() {
                    *reason = None;
                }
            }
            None => titles.push((p.title(), why)),
        }
    }
    if titles
        .iter()
        .all(|(t, why)| *t != tab.as_str() || why.is_some())
        && let Some((t, _)) = titles.iter().find(|(_, why)| why.is_none())
    {
        *tab = t.to_string();
    }
    ui.horizontal(|ui| {
        for (title, why) in &titles {
            let selected = tab.as_str() == *title;
            let response = ui
                .add_enabled_ui(why.is_none(), |ui| ui.selectable_label(selected, *title))
                .inner;
            if let Some(why) = why {
                response.on_disabled_hover_text(why.as_str());
            } else if response.clicked() {
                *tab = title.to_string();
            }
        }
    });
}
