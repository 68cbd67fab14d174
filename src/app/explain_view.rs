//! The Explain tab for tabular data: the selected row's waterfall and per-feature table, the
//! method settings beside them ([`super::explain_settings`]), exports. Explanations run on a
//! worker through the session's Explain use case, with progress and Cancel, and are cached per
//! (row, settings).

use std::sync::Arc;
use std::time::Instant;

use crate::export::attributions::{AttributionsFile, BackgroundSource};
use crate::plot::render;
use crate::session::Session;
use crate::session::row::{RowRequest, RowResult};

use super::dialogs::Export;
use super::jobs::{Keyed, Unit};
use super::notices::Notices;
use super::panel::{Panel, PanelCtx};
use super::{Command, widgets};

/// Explanations kept for revisiting rows.
const CACHE_SIZE: usize = 256;
/// Bars in the waterfall before the rest are pooled.
pub const MAX_BARS: usize = 12;
/// The notices' topic of this tab.
const TOPIC: &str = "explain";

/// Values of the selected row being edited ("what if this were 0.11?").
#[derive(Clone, Debug)]
pub struct WhatIf {
    pub row: usize,
    pub values: Vec<f32>,
    changed: Instant,
}

/// Edits are explained once they have rested this long.
const WHAT_IF_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(350);

/// Export formats offered in the view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    Png,
    Svg,
    Csv,
    Json,
}

impl ExportKind {
    pub const ALL: [ExportKind; 4] = [
        ExportKind::Png,
        ExportKind::Svg,
        ExportKind::Csv,
        ExportKind::Json,
    ];

    pub fn extension(self) -> &'static str {
        match self {
            ExportKind::Png => "png",
            ExportKind::Svg => "svg",
            ExportKind::Csv => "csv",
            ExportKind::Json => "json",
        }
    }
}

/// State of the Explain tab.
pub struct ExplainView {
    /// `None`: explain each row's predicted class.
    pub target: Option<usize>,
    jobs: Keyed<RowResult>,
    /// For a misclassified row: explain "why the predicted class and not the true one".
    pub versus: bool,
    /// The what-if editor, when open.
    pub what_if: Option<WhatIf>,
    /// Bars in the waterfall before the rest are pooled.
    pub max_bars: usize,
    /// A row kept to compare others with (its explanation as it was when pinned).
    pub pinned: Option<Arc<RowResult>>,
}

impl Default for ExplainView {
    fn default() -> Self {
        ExplainView {
            target: None,
            jobs: Keyed::new("Explaining…", CACHE_SIZE),
            versus: false,
            what_if: None,
            max_bars: MAX_BARS,
            pinned: None,
        }
    }
}

impl Panel for ExplainView {
    fn title(&self) -> &'static str {
        "Explain"
    }

    fn unavailable(&self, session: &Session) -> Option<String> {
        match &session.data {
            Some(d) if d.images.is_some() => Some("images are explained by the image view".into()),
            None => Some("open a dataset to explain its rows".into()),
            Some(_) => None,
        }
    }

    fn on_session(&mut self, session: &Session, _notices: &mut Notices) {
        self.jobs.clear();
        self.target = session.valid_class(self.target);
        self.what_if = None;
        self.pinned = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx) {
        self.draw(ui, cx);
    }
}

impl ExplainView {
    /// The most recent finished explanation.
    pub fn latest(&self) -> Option<&Arc<RowResult>> {
        self.jobs.latest()
    }

    /// True while an explanation runs.
    pub fn is_running(&self) -> bool {
        self.jobs.is_running()
    }

    /// Opens the what-if editor on `row`'s values (or closes it).
    pub fn toggle_what_if(&mut self, session: &Session, row: usize) {
        self.what_if = match (&self.what_if, &session.data) {
            (Some(_), _) | (None, None) => None,
            (None, Some(data)) => Some(WhatIf {
                row,
                values: data.x.row(row).to_vec(),
                changed: Instant::now(),
            }),
        };
    }

    /// Sets feature `j` of the what-if to `value`.
    pub fn edit(&mut self, j: usize, value: f32) {
        if let Some(w) = &mut self.what_if
            && w.values.get(j).is_some_and(|v| *v != value)
        {
            w.values[j] = value;
            w.changed = Instant::now();
        }
    }

    fn draw(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx) {
        let (session, row) = (cx.session, cx.row);
        self.target = session.valid_class(self.target);
        cx.shared.explain.targets =
            session.targets(crate::session::policy::Purpose::Row, self.target, Some(row));
        if let Some((failed, message)) = self.jobs.poll() {
            cx.notices
                .error(TOPIC, &failed, format!("Cannot explain: {message}"));
        }
        if self.what_if.as_ref().is_some_and(|w| w.row != row) {
            self.what_if = None;
        }
        let original: Vec<f32> = session
            .data
            .as_ref()
            .map(|d| d.x.row(row).to_vec())
            .unwrap_or_default();
        let edited = self
            .what_if
            .as_ref()
            .filter(|w| w.values != original)
            .map(|w| w.values.clone());
        let resting = self
            .what_if
            .as_ref()
            .map_or(std::time::Duration::MAX, |w| w.changed.elapsed());
        let mistake = mistake(session, row);
        let request = RowRequest {
            row,
            settings: cx.shared.explain.clone(),
            versus: mistake.filter(|_| self.versus && edited.is_none()),
            edited: edited.clone(),
            max_bars: self.max_bars,
        };
        let file = cx.shared.background_file.clone();
        let key = format!(
            "{row}|{:?}|{:?}|{:?}|{:?}|{}",
            request.settings,
            file.as_ref().map(|d| d.source.as_str()),
            request.versus,
            request.edited,
            request.max_bars
        );
        cx.notices.keep_only(TOPIC, &key);
        // A method that cannot explain this model is not started: its control says why.
        let unavailable = request
            .settings
            .method
            .unavailable(&request.settings.fit(&session.model));
        if unavailable.is_none() {
            if edited.is_some() && resting < WHAT_IF_DEBOUNCE {
                ui.ctx().request_repaint_after(WHAT_IF_DEBOUNCE - resting);
            } else {
                let rows = file
                    .as_ref()
                    .map_or(request.settings.background_rows, |f| f.len());
                let total = request.settings.cost_per_row(&session.model, rows);
                let session = session.clone();
                self.jobs
                    .ensure(ui.ctx(), &key, total, Unit::ModelRows, move |progress| {
                        Ok(session.explain_row(&request, file.as_deref(), &*progress)?)
                    });
            }
        }
        let cached = self.jobs.get(&key).or_else(|| {
            // While a what-if is being edited, keep showing its last result.
            self.what_if.as_ref()?;
            self.jobs
                .latest_where(|e| e.row == row && e.what_if.is_some())
        });

        egui::Panel::right("explain_settings")
            .default_size(260.0)
            .show(ui, |ui| {
                super::explain_settings::settings_ui(ui, cx, &mut self.target, &mut self.max_bars);
                if let Some(e) = &cached {
                    ui.separator();
                    self.result_summary_ui(ui, cx, e);
                }
            });
        egui::CentralPanel::default().show(ui, |ui| {
            widgets::prediction_header(ui, session, row);
            self.what_if_bar(ui, session, row, cached.as_deref());
            if let Some((predicted, truth)) = mistake.filter(|_| edited.is_none()) {
                let names = session.model.task().class_names();
                ui.checkbox(
                    &mut self.versus,
                    format!(
                        "Why {} and not {}? (the difference of the two classes' explanations)",
                        names[predicted], names[truth]
                    ),
                );
            }
            ui.add_space(6.0);
            if let Some(why) = &unavailable {
                ui.add(
                    egui::Label::new(format!("The method {why}. Choose another one beside."))
                        .wrap(),
                );
            }
            if let Some(progress) = self.jobs.progress().cloned()
                && widgets::progress_ui(ui, &progress, |done, total| {
                    format!("Explaining… {done} of {total} model rows")
                })
            {
                self.jobs.cancel();
            }
            match (&cached, self.jobs.stopped(&key).cloned()) {
                (Some(explained), _) => {
                    if let Some(pinned) = self.pinned.clone().filter(|p| p.row != explained.row) {
                        super::explain_table::compare_ui(ui, session, &pinned, explained);
                        ui.add_space(8.0);
                    }
                    let editing = self.what_if.as_ref().map(|w| w.values.clone());
                    let edits =
                        super::explain_table::result_ui(ui, session, explained, editing.as_deref());
                    for (j, v) in edits {
                        self.edit(j, v);
                    }
                }
                (None, Some(stopped)) => {
                    ui.horizontal(|ui| {
                        ui.label(match stopped {
                            super::jobs::Stopped::Cancelled => "Cancelled.",
                            super::jobs::Stopped::Failed => "Not explained (see the message).",
                        });
                        if ui.button("Explain again").clicked() {
                            self.jobs.retry();
                        }
                    });
                }
                (None, None) => {}
            }
        });
    }

    fn what_if_bar(
        &mut self,
        ui: &mut egui::Ui,
        session: &Session,
        row: usize,
        cached: Option<&RowResult>,
    ) {
        ui.horizontal(|ui| {
            let pinned_row = self.pinned.as_ref().map(|p| p.row);
            if let Some(row) = pinned_row {
                if ui
                    .small_button(format!("Pinned: row {row} ✕"))
                    .on_hover_text("Stop comparing with the pinned row")
                    .clicked()
                {
                    self.pinned = None;
                }
            } else if let Some(e) = cached.filter(|e| e.what_if.is_none())
                && ui
                    .small_button("Pin to compare")
                    .on_hover_text("Keep this row, then select another to see both side by side")
                    .clicked()
            {
                self.pinned = Some(Arc::new(e.clone()));
            }
            let open = self.what_if.is_some();
            if ui
                .selectable_label(open, "What if…")
                .on_hover_text(
                    "Edit this row's values and see the prediction and explanation change",
                )
                .clicked()
            {
                self.toggle_what_if(session, row);
            }
            if open {
                if ui.small_button("Reset values").clicked() {
                    self.what_if = None;
                    self.toggle_what_if(session, row);
                }
                match cached.filter(|e| e.what_if.is_some()) {
                    Some(e) => super::explain_table::what_if_line(ui, session, row, e),
                    None => {
                        ui.weak("Edit a value in the table below.");
                    }
                }
            }
        });
    }

    /// What the shown explanation is made of, and its exports.
    fn result_summary_ui(&self, ui: &mut egui::Ui, cx: &mut PanelCtx, e: &Arc<RowResult>) {
        ui.label(format!(
            "{} · {} background rows · {} model rows · {:.2} s",
            e.method.name(),
            e.background_rows,
            e.explanation.model_calls,
            e.seconds
        ));
        ui.add_space(4.0);
        ui.horizontal_wrapped(|ui| {
            ui.label("Export");
            for kind in ExportKind::ALL {
                if ui.button(kind.extension().to_uppercase()).clicked() {
                    let (session, e) = (cx.session.clone(), e.clone());
                    cx.commands.push(Command::Export(Export {
                        name: format!("row_{}_attribution.{}", e.row, kind.extension()),
                        bytes: Box::new(move || export_bytes(&session, &e, kind)),
                    }));
                }
            }
        });
    }
}

/// The bytes of an export of `explained`: the waterfall as PNG (2×) or SVG, the values as CSV
/// or JSON exactly as `loupe explain` writes them for the same row and settings.
pub fn export_bytes(
    session: &Session,
    explained: &RowResult,
    kind: ExportKind,
) -> anyhow::Result<Vec<u8>> {
    Ok(match kind {
        ExportKind::Png => render::waterfall_png(&explained.spec, 2)?,
        ExportKind::Svg => render::waterfall_svg(&explained.spec)?.into_bytes(),
        ExportKind::Csv | ExportKind::Json => {
            let source = BackgroundSource {
                rows: match explained.background_file {
                    Some(_) => explained.background_rows,
                    None => explained.settings.background_rows,
                },
                file: explained.background_file.clone(),
            };
            let file = AttributionsFile::build(
                session,
                &explained.settings,
                &source,
                &session.data_name,
                std::slice::from_ref(&explained.explanation),
            );
            let mut out = Vec::new();
            if kind == ExportKind::Csv {
                file.write_csv(&mut out)?
            } else {
                file.write_json(&mut out)?
            }
            out
        }
    })
}

/// (predicted, true) class of a misclassified row.
fn mistake(session: &Session, row: usize) -> Option<(usize, usize)> {
    let truth = *session.data.as_ref()?.classes()?.get(row)?;
    let predicted = *session.predictions.as_ref()?.predicted.get(row)?;
    (truth != predicted).then_some((predicted, truth))
}
