//! The Explain tab: the selected row's waterfall and per-feature table (value, percentile in
//! the data, attribution ± error), the method settings beside them, exports. Explanations run
//! on a worker with progress and Cancel, and are cached per (row, settings).

use std::sync::Arc;
use std::time::Instant;

use crate::data::Dataset;
use crate::explain::run::RowExplanation;
use crate::explain::{BackgroundMethod, ExplainSettings, Link, Method, Targets, TreeMode};
use crate::export::attributions::{AttributionsFile, BackgroundSource};
use crate::plot::{WaterfallSpec, render};
use crate::session::Session;

use super::jobs::{Export, Job, JobProgress, Unit, poll_export};
use super::waterfall::waterfall_ui;

/// Explanations kept for revisiting rows.
const CACHE_SIZE: usize = 256;
/// Bars in the waterfall before the rest are pooled.
const MAX_BARS: usize = 12;

/// One row's finished explanation, ready to draw.
pub struct Explained {
    pub row: usize,
    pub explanation: RowExplanation,
    pub spec: WaterfallSpec,
    /// Each feature's percentile in the data.
    pub percentiles: Vec<f64>,
    pub method: Method,
    pub background_rows: usize,
    /// The CSV the background came from, when not the training split.
    pub background_file: Option<String>,
    pub seconds: f64,
    settings: ExplainSettings,
    /// The values explained: the row's, or the edited ones of a what-if.
    pub values: Vec<f32>,
    /// For a what-if: the model's outputs for the edited values.
    pub what_if: Option<Vec<f32>>,
    /// Where each value stands in the reference data, overall and per class.
    pub ranges: Vec<crate::report::reference::Range>,
}

/// Values of the selected row being edited ("what if this were 0.11?").
#[derive(Clone, Debug)]
pub struct WhatIf {
    pub row: usize,
    pub values: Vec<f32>,
    changed: Instant,
}

/// Edits are explained once they have rested this long.
const WHAT_IF_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(350);

struct Running {
    key: String,
    job: Job<Explained>,
    progress: Arc<JobProgress>,
}

/// Export formats offered in the view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    Png,
    Svg,
    Csv,
    Json,
}

impl ExportKind {
    fn extension(self) -> &'static str {
        match self {
            ExportKind::Png => "png",
            ExportKind::Svg => "svg",
            ExportKind::Csv => "csv",
            ExportKind::Json => "json",
        }
    }
}

/// State of the Explain tab.
#[derive(Default)]
pub struct ExplainView {
    pub settings: ExplainSettings,
    /// `None`: explain each row's predicted class.
    pub target: Option<usize>,
    cache: Vec<(String, Arc<Explained>)>,
    running: Option<Running>,
    /// A cancelled key is not restarted until the settings or row change.
    cancelled: Option<String>,
    exporting: Option<Export>,
    /// A CSV whose every row is the background, instead of rows of the training split.
    background_file: Option<Arc<Dataset>>,
    picking_background: Option<Job<Option<Dataset>>>,
    pub message: Option<String>,
    /// For a misclassified row: explain "why the predicted class and not the true one".
    pub versus: bool,
    /// The what-if editor, when open.
    pub what_if: Option<WhatIf>,
}

/// Says which space a tree model is explained in, and offers the exact one.
fn tree_space_note(
    ui: &mut egui::Ui,
    trees: &crate::model::trees::TreeEnsemble,
    s: &mut crate::explain::ExplainSettings,
) {
    let Some(margin) = trees.margin_link() else {
        ui.small("This ensemble's scores are not a sum over its trees: explained by sampling.");
        return;
    };
    let space = |l: Link| match (l, trees.is_classifier()) {
        (Link::Identity, true) => "probability",
        (Link::Identity, false) => "value",
        (Link::Logit, _) => "log-odds",
    };
    if s.link == margin {
        if s.method == Method::Tree || s.method == Method::Auto {
            ui.small(format!(
                "Exact TreeSHAP, in the trees' own {} scale.",
                space(margin)
            ));
        }
    } else {
        ui.horizontal_wrapped(|ui| {
            ui.small(format!(
                "The {} of a tree model is explained by sampling; TreeSHAP is exact in {}.",
                space(s.link),
                space(margin)
            ));
            if ui.small_button(format!("Use {}", space(margin))).clicked() {
                s.link = margin;
            }
        });
    }
}

impl ExplainView {
    /// Forgets every result (a new model or dataset was opened).
    pub fn clear(&mut self) {
        self.background_file = None;
        self.cache.clear();
        self.running = None;
        self.cancelled = None;
    }

    /// The CSV chosen as the background, if any.
    pub fn background_file(&self) -> Option<Arc<Dataset>> {
        self.background_file.clone()
    }

    /// The most recent finished explanation.
    pub fn latest(&self) -> Option<&Arc<Explained>> {
        self.cache.last().map(|(_, e)| e)
    }

    /// True while an explanation runs.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    fn key(&self, row: usize, versus: Option<(usize, usize)>, edited: Option<&[f32]>) -> String {
        let file = self.background_file.as_ref().map(|d| d.source.as_str());
        format!("{row}|{:?}|{file:?}|{versus:?}|{edited:?}", self.settings)
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

    /// Draws the tab for `row`, starting the explanation if it is not cached.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &Session, row: usize) {
        self.settings.targets = match self.target {
            Some(c) => Targets::Classes(vec![c]),
            None => Targets::Predicted,
        };
        self.poll();
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
        let versus = mistake.filter(|_| self.versus && edited.is_none());
        let key = self.key(row, versus, edited.as_deref());
        let cached = self
            .cache
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, e)| e.clone());
        let stale = self.running.as_ref().is_some_and(|r| r.key != key);
        if stale && let Some(r) = self.running.take() {
            r.progress.stop();
        }
        if cached.is_none()
            && self.running.is_none()
            && self.cancelled.as_deref() != Some(key.as_str())
        {
            if edited.is_some() && resting < WHAT_IF_DEBOUNCE {
                ui.ctx().request_repaint_after(WHAT_IF_DEBOUNCE - resting);
            } else {
                self.start(ui.ctx(), session, row, versus, edited.clone(), key.clone());
            }
        }
        // While a what-if is being edited, keep showing its last result.
        let cached = cached.or_else(|| {
            self.what_if.as_ref()?;
            self.cache
                .iter()
                .rev()
                .find(|(_, e)| e.row == row && e.what_if.is_some())
                .map(|(_, e)| e.clone())
        });

        egui::Panel::right("explain_settings")
            .default_size(250.0)
            .show(ui, |ui| {
                self.settings_ui(ui, session, cached.as_ref());
            });
        egui::CentralPanel::default().show(ui, |ui| {
            super::prediction_card::prediction_header(ui, session, row);
            ui.horizontal(|ui| {
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
                    if let Some(e) = cached.as_ref().filter(|e| e.what_if.is_some()) {
                        what_if_line(ui, session, row, e);
                    } else {
                        ui.weak("Edit a value in the table below.");
                    }
                }
            });
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
            if let Some(running) = &self.running {
                let done = running.progress.done() as f32;
                let fraction = (done / running.progress.total.max(1) as f32).min(1.0);
                ui.horizontal(|ui| {
                    ui.add(
                        egui::ProgressBar::new(fraction)
                            .desired_width(260.0)
                            .text("Explaining…")
                            .animate(true),
                    );
                    if ui.button("Cancel").clicked() {
                        running.progress.stop();
                        self.cancelled = Some(running.key.clone());
                    }
                });
            }
            if let Some(message) = self.message.clone() {
                ui.horizontal(|ui| {
                    ui.label(message);
                    if ui.small_button("Dismiss").clicked() {
                        self.message = None;
                    }
                });
            }
            match &cached {
                Some(explained) => result_ui(ui, session, explained, self),
                None if self.cancelled.as_deref() == Some(key.as_str()) => {
                    ui.horizontal(|ui| {
                        ui.label("Cancelled.");
                        if ui.button("Explain again").clicked() {
                            self.cancelled = None;
                        }
                    });
                }
                None => {}
            }
        });
    }

    fn poll(&mut self) {
        if let Some(running) = &self.running
            && let Some(result) = running.job.poll()
        {
            let key = running.key.clone();
            self.running = None;
            match result {
                Ok(explained) => {
                    self.cache.push((key, Arc::new(explained)));
                    if self.cache.len() > CACHE_SIZE {
                        self.cache.remove(0);
                    }
                }
                Err(e) if e.to_string().contains("cancelled") => self.cancelled = Some(key),
                Err(e) => {
                    self.message = Some(format!("Cannot explain: {e:#}"));
                    self.cancelled = Some(key);
                }
            }
        }
        if let Some(job) = &self.picking_background
            && let Some(result) = job.poll()
        {
            self.picking_background = None;
            match result {
                Ok(Some(data)) => self.background_file = Some(Arc::new(data)),
                Ok(None) => {}
                Err(e) => self.message = Some(format!("Cannot use that background: {e:#}")),
            }
        }
        poll_export(&mut self.exporting, &mut self.message);
    }

    fn start(
        &mut self,
        ctx: &egui::Context,
        session: &Session,
        row: usize,
        versus: Option<(usize, usize)>,
        edited: Option<Vec<f32>>,
        key: String,
    ) {
        let Some(data) = session.data.clone() else {
            return;
        };
        let m = session.model.n_features();
        let settings = self.settings.clone();
        let file = self.background_file.clone();
        let bg = match &file {
            Some(f) => f.len() as u64,
            None => settings.background_rows.min(data.len()) as u64,
        };
        let per_row = match settings.resolved_method(&session.model) {
            Method::Exact => 1u64 << m.min(40),
            Method::Tree => 0,
            _ => settings
                .samples
                .unwrap_or_else(|| Method::default_budget(m)) as u64,
        };
        let progress = JobProgress::new(ctx, (per_row + 2) * bg, Unit::ModelRows);
        let worker_progress = progress.clone();
        let session = session.clone();
        let job = Job::spawn("Explaining…", ctx, move || {
            let started = Instant::now();
            let background = settings.background(&data, file.as_deref())?;
            let values: Vec<f32> = edited.clone().unwrap_or_else(|| data.x.row(row).to_vec());
            let (explanation, what_if) = match (&edited, versus) {
                (Some(x), _) => {
                    let (outputs, e) = session.explain_what_if(
                        row,
                        x,
                        &settings,
                        &background,
                        &*worker_progress,
                    )?;
                    (e, Some(outputs))
                }
                (None, Some((a, b))) => (
                    session.explain_versus(row, a, b, &settings, &background, &*worker_progress)?,
                    None,
                ),
                (None, None) => (
                    session
                        .explain(&[row], &settings, &background, &*worker_progress)?
                        .pop()
                        .ok_or_else(|| anyhow::anyhow!("no explanation"))?,
                    None,
                ),
            };
            let mut spec = session.waterfall_of(&explanation, &values, settings.link, MAX_BARS);
            if what_if.is_some() {
                spec.title = format!("{} · what if (edited values)", spec.title);
            }
            let percentiles = (0..data.feature_names.len())
                .map(|j| {
                    crate::analysis::percentile_rank(data.x.column(j).iter().copied(), values[j])
                })
                .collect();
            Ok(Explained {
                row,
                explanation,
                spec,
                percentiles,
                method: settings.resolved_method(&session.model),
                background_rows: background.len(),
                background_file: file.map(|f| f.source.clone()),
                seconds: started.elapsed().as_secs_f64(),
                ranges: crate::report::ranges(
                    &data,
                    session.model.task().class_names().len(),
                    &values,
                ),
                settings,
                values,
                what_if,
            })
        });
        self.running = Some(Running { key, job, progress });
    }

    fn settings_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &Session,
        explained: Option<&Arc<Explained>>,
    ) {
        let m = session.model.n_features();
        let trees = session.model.trees().cloned();
        let s = &mut self.settings;
        ui.heading("Explanation");
        egui::Grid::new("explain_settings_grid")
            .num_columns(2)
            .spacing([8.0, 6.0])
            .show(ui, |ui| {
                let label = ui.label("Method");
                egui::ComboBox::from_id_salt("method")
                    .selected_text(match s.method {
                        Method::Auto => {
                            format!("auto ({})", s.resolved_method(&session.model).name())
                        }
                        other => other.name().to_string(),
                    })
                    .show_ui(ui, |ui| {
                        let mut methods = vec![
                            Method::Auto,
                            Method::Exact,
                            Method::Kernel,
                            Method::Permutation,
                        ];
                        if trees.is_some() {
                            methods.push(Method::Tree);
                        }
                        for method in methods {
                            ui.selectable_value(&mut s.method, method, method.name());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();

                if s.resolved_method(&session.model) == Method::Tree {
                    let label = ui.label("Absent features");
                    egui::ComboBox::from_id_salt("tree_mode")
                        .selected_text(s.tree_mode.name())
                        .show_ui(ui, |ui| {
                            for mode in [TreeMode::Interventional, TreeMode::PathDependent] {
                                ui.selectable_value(&mut s.tree_mode, mode, mode.name());
                            }
                        })
                        .response
                        .labelled_by(label.id)
                        .on_hover_text(
                            "interventional: taken from the background rows (the same values \
                             as exact); path-dependent: integrated out along the trees' \
                             splits, weighted by the training rows",
                        );
                    ui.end_row();
                }

                let label = ui.label("Budget");
                let sampled = s.resolved_method(&session.model).is_sampled();
                let mut budget = s.samples.unwrap_or_else(|| Method::default_budget(m));
                let r = ui
                    .add_enabled(
                        sampled,
                        egui::DragValue::new(&mut budget)
                            .range(16..=crate::explain::settings::MAX_SAMPLES)
                            .speed(16),
                    )
                    .labelled_by(label.id)
                    .on_hover_text("Coalitions evaluated per row (default 2·M + 2048)");
                if r.changed() {
                    s.samples = Some(budget);
                }
                ui.end_row();

                let label = ui.label("Background");
                ui.add_enabled(
                    self.background_file.is_none(),
                    egui::DragValue::new(&mut s.background_rows)
                        .range(1..=1000)
                        .suffix(" rows"),
                )
                .labelled_by(label.id)
                .on_hover_text("Reference rows from the training split");
                ui.end_row();

                ui.label("");
                ui.horizontal(|ui| match &self.background_file {
                    Some(file) => {
                        ui.label(format!("{} ({} rows)", file.source, file.len()));
                        if ui.small_button("Clear").clicked() {
                            self.background_file = None;
                        }
                    }
                    None => {
                        let button = egui::Button::new("From file…");
                        if ui
                            .add_enabled(self.picking_background.is_none(), button)
                            .on_hover_text("Use every row of a CSV as the background")
                            .clicked()
                        {
                            let model = session.model.clone();
                            self.picking_background = Some(Job::spawn(
                                "Choosing a background…",
                                ui.ctx(),
                                move || {
                                    let Some(path) = rfd::FileDialog::new()
                                        .add_filter("CSV data", &["csv", "tsv", "txt"])
                                        .pick_file()
                                    else {
                                        return Ok(None);
                                    };
                                    let origin = crate::session::Origin::File(path);
                                    Ok(Some(crate::session::load_data(&model, &origin, None)?))
                                },
                            ));
                        }
                    }
                });
                ui.end_row();

                let label = ui.label("Picked by");
                egui::ComboBox::from_id_salt("background_method")
                    .selected_text(s.background_method.name())
                    .show_ui(ui, |ui| {
                        for method in [
                            BackgroundMethod::Random,
                            BackgroundMethod::First,
                            BackgroundMethod::Kmeans,
                        ] {
                            ui.selectable_value(&mut s.background_method, method, method.name());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Seed");
                ui.add(egui::DragValue::new(&mut s.seed))
                    .labelled_by(label.id);
                ui.end_row();

                let classes = session.model.task().class_names();
                if !classes.is_empty() {
                    class_choice(ui, "target", classes, &mut self.target);
                    ui.end_row();

                    ui.label("Scale");
                    ui.horizontal(|ui| {
                        ui.selectable_value(&mut s.link, Link::Identity, "probability");
                        ui.selectable_value(&mut s.link, Link::Logit, "log-odds");
                    });
                    ui.end_row();
                }
            });
        if let Some(trees) = &trees {
            tree_space_note(ui, trees, s);
        }
        ui.separator();
        if let Some(e) = explained {
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
                for kind in [
                    ExportKind::Png,
                    ExportKind::Svg,
                    ExportKind::Csv,
                    ExportKind::Json,
                ] {
                    if ui
                        .add_enabled(
                            self.exporting.is_none(),
                            egui::Button::new(kind.extension().to_uppercase()),
                        )
                        .clicked()
                    {
                        self.export(ui.ctx(), session, e.clone(), kind);
                    }
                }
            });
        }
    }

    /// Asks where to save, then renders and writes — all on a worker.
    fn export(
        &mut self,
        ctx: &egui::Context,
        session: &Session,
        explained: Arc<Explained>,
        kind: ExportKind,
    ) {
        let name = format!("row_{}_attribution.{}", explained.row, kind.extension());
        let session = session.clone();
        self.exporting = Some(Export::spawn(ctx, name, move || {
            export_bytes(&session, &explained, kind)
        }));
    }
}

/// The bytes of an export of `explained`: the waterfall as PNG (2×) or SVG, the values as CSV
/// or JSON in the same formats as `loupe explain`.
pub fn export_bytes(
    session: &Session,
    explained: &Explained,
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
            let data = session
                .data
                .as_ref()
                .map(|d| d.source.clone())
                .unwrap_or_default();
            let file = AttributionsFile::build(
                session,
                &explained.settings,
                &source,
                &data,
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

/// A labelled choice of the explained class: each row's predicted class, or one class.
pub(super) fn class_choice(
    ui: &mut egui::Ui,
    id: &str,
    classes: &[String],
    target: &mut Option<usize>,
) {
    let label = ui.label("Explain");
    egui::ComboBox::from_id_salt(id)
        .selected_text(match *target {
            Some(c) => classes[c].clone(),
            None => "predicted class".into(),
        })
        .show_ui(ui, |ui| {
            ui.selectable_value(target, None, "predicted class");
            for (c, name) in classes.iter().enumerate() {
                ui.selectable_value(target, Some(c), name);
            }
        })
        .response
        .labelled_by(label.id);
}

/// A small bar: the reference data's 5th–95th percentile band and the row's value (red when
/// outside it); hovering gives the percentiles overall and per class.
pub(super) fn range_bar(
    ui: &mut egui::Ui,
    r: &crate::report::reference::Range,
    class_names: &[String],
) {
    use crate::report::words::number;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(100.0, 12.0), egui::Sense::hover());
    let span = (r.max - r.min).max(f32::MIN_POSITIVE);
    let x = |v: f32| rect.left() + ((v - r.min) / span).clamp(0.0, 1.0) * rect.width();
    let mid = rect.center().y;
    let p = ui.painter();
    p.rect_filled(
        egui::Rect::from_min_max(
            egui::pos2(rect.left(), mid - 2.5),
            egui::pos2(rect.right(), mid + 2.5),
        ),
        2.0,
        ui.visuals().faint_bg_color,
    );
    p.rect_filled(
        egui::Rect::from_min_max(
            egui::pos2(x(r.p5), mid - 2.5),
            egui::pos2(x(r.p95), mid + 2.5),
        ),
        2.0,
        egui::Color32::from_rgb(0x6a, 0x8c, 0xc8),
    );
    let mark = if r.is_unusual() {
        super::theme::UP
    } else {
        super::theme::DOWN
    };
    p.rect_filled(
        egui::Rect::from_center_size(egui::pos2(x(r.value), mid), egui::vec2(3.0, 12.0)),
        0.0,
        mark,
    );
    let by_class: Vec<String> = r
        .by_class
        .iter()
        .filter_map(|(c, pct)| Some(format!("{pct:.0}% of {}", class_names.get(*c)?)))
        .collect();
    response.on_hover_text(format!(
        "{} · {:.0}th percentile of the reference data{}\n5th–95th percentile: {} to {} (median {})",
        number(r.value as f64),
        r.percentile,
        if by_class.is_empty() { String::new() } else { format!(" ({})", by_class.join(", ")) },
        number(r.p5 as f64),
        number(r.p95 as f64),
        number(r.p50 as f64)
    ));
}

/// "What if: benign with probability 62% (the row as recorded: malignant, 92%)".
fn what_if_line(ui: &mut egui::Ui, session: &Session, row: usize, e: &Explained) {
    let (Some(outputs), Some(p)) = (&e.what_if, &session.predictions) else {
        return;
    };
    let names = session.model.task().class_names();
    if names.is_empty() {
        ui.label(format!(
            "What if: {} (as recorded: {})",
            super::prediction_card::format_value(outputs[0]),
            super::prediction_card::format_value(p.outputs[[row, 0]])
        ));
        return;
    }
    let best = (0..outputs.len())
        .max_by(|&a, &b| outputs[a].total_cmp(&outputs[b]))
        .unwrap_or(0);
    let was = p.predicted.get(row).copied().unwrap_or(0);
    let text = format!(
        "What if: {} with probability {:.1}% (as recorded: {}, {:.1}%)",
        names[best],
        outputs[best] * 100.0,
        names[was],
        p.outputs[[row, was]] * 100.0
    );
    if best != was {
        ui.colored_label(super::theme::BAD, egui::RichText::new(text).strong());
    } else {
        ui.label(egui::RichText::new(text).strong());
    }
}

fn result_ui(ui: &mut egui::Ui, session: &Session, explained: &Explained, view: &mut ExplainView) {
    waterfall_ui(ui, &explained.spec);
    ui.add_space(8.0);
    let Some(data) = &session.data else { return };
    let a = &explained.explanation.attribution;
    let mut order: Vec<usize> = (0..a.values.len()).collect();
    // While editing, rows keep their place so the value under the pointer does not move.
    if view.what_if.is_none() {
        order.sort_by(|&x, &y| a.values[y].abs().total_cmp(&a.values[x].abs()));
    }
    let editing: Option<Vec<f32>> = view.what_if.as_ref().map(|w| w.values.clone());
    let mut edits: Vec<(usize, f32)> = Vec::new();
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    egui_extras::TableBuilder::new(ui)
        .id_salt("attribution_table")
        .striped(true)
        .column(egui_extras::Column::auto().at_least(180.0))
        .column(egui_extras::Column::auto().at_least(80.0))
        .column(egui_extras::Column::auto().at_least(80.0))
        .column(egui_extras::Column::exact(110.0))
        .column(egui_extras::Column::remainder())
        .header(row_height, |mut h| {
            for title in [
                "Feature",
                "Value",
                "Percentile",
                "Reference range",
                "Attribution",
            ] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(row_height, order.len(), |mut r| {
                let j = order[r.index()];
                r.col(|ui| {
                    ui.label(&data.feature_names[j]);
                });
                r.col(|ui| match &editing {
                    Some(values) => {
                        let mut v = values[j];
                        // The range seen in the reference data, computed with the explanation.
                        let (lo, hi) = explained.ranges.get(j).map_or((v, v), |r| (r.min, r.max));
                        let speed = ((hi - lo) / 300.0).max(f32::EPSILON) as f64;
                        let response = ui
                            .add(egui::DragValue::new(&mut v).speed(speed))
                            .on_hover_text(format!(
                                "recorded {} · seen from {} to {} in the reference data",
                                super::prediction_card::format_value(data.x[[explained.row, j]]),
                                super::prediction_card::format_value(lo),
                                super::prediction_card::format_value(hi)
                            ));
                        response.widget_info(|| {
                            egui::WidgetInfo::labeled(
                                egui::Role::SpinButton,
                                true,
                                &data.feature_names[j],
                            )
                        });
                        if response.changed() {
                            edits.push((j, v));
                        }
                    }
                    None => {
                        ui.monospace(super::prediction_card::format_value(explained.values[j]));
                    }
                });
                r.col(|ui| {
                    ui.monospace(format!("{:.0}%", explained.percentiles[j]));
                });
                r.col(|ui| {
                    if let Some(range) = explained.ranges.get(j) {
                        range_bar(ui, range, session.model.task().class_names());
                    }
                });
                r.col(|ui| {
                    let v = a.values[j];
                    let colour = if v >= 0.0 {
                        super::theme::UP
                    } else {
                        super::theme::DOWN
                    };
                    let text = match &a.std_err {
                        Some(e) => format!("{v:+.4} ± {:.4}", 1.96 * e[j]),
                        None => format!("{v:+.4}"),
                    };
                    ui.colored_label(colour, egui::RichText::new(text).monospace());
                });
            });
        });
    for (j, v) in edits {
        view.edit(j, v);
    }
}
