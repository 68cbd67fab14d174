//! The Global tab: the whole dataset (or a seeded sample) explained for one class on a worker,
//! then a beeswarm with mean |attribution| bars and a dependence plot. Every dot leads back to
//! its row; a box drawn on a chart filters the browser. Batches are cached on disk, so opening
//! the same model and data again shows them at once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::analysis::global::{GlobalExplanation, explain_dataset, sample_rows};
use crate::data::Dataset;
use crate::explain::{ExplainSettings, Method, Targets};
use crate::export::attributions::BackgroundSource;
use crate::plot::global::{BeeswarmSpec, DependenceSpec, ImportanceSpec};
use crate::plot::render;
use crate::session::Session;

use super::browser::Subset;
use super::jobs::{Export, Job, JobProgress, Unit, poll_export};
use super::plots::{beeswarm_ui, dependence_ui};
use super::{Command, Tab};

/// Features shown in the beeswarm.
const MAX_FEATURES: usize = 20;

/// A finished batch, ready to draw.
pub struct GlobalData {
    pub key: String,
    pub explanation: GlobalExplanation,
    pub beeswarm: BeeswarmSpec,
    pub method: Method,
    pub from_cache: bool,
    pub seconds: f64,
    pub measure: String,
}

struct Running {
    key: String,
    job: Job<GlobalData>,
    progress: Arc<JobProgress>,
}

/// What can be exported from the tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobalExport {
    BeeswarmPng,
    BeeswarmSvg,
    ImportancePng,
    ImportanceSvg,
    DependencePng,
    DependenceSvg,
    Json,
    Csv,
}

impl GlobalExport {
    fn name(self) -> (&'static str, &'static str) {
        match self {
            GlobalExport::BeeswarmPng => ("beeswarm", "png"),
            GlobalExport::BeeswarmSvg => ("beeswarm", "svg"),
            GlobalExport::ImportancePng => ("importance", "png"),
            GlobalExport::ImportanceSvg => ("importance", "svg"),
            GlobalExport::DependencePng => ("dependence", "png"),
            GlobalExport::DependenceSvg => ("dependence", "svg"),
            GlobalExport::Json => ("attributions", "json"),
            GlobalExport::Csv => ("attributions", "csv"),
        }
    }
}

/// State of the Global tab.
pub struct GlobalView {
    /// Where batches are cached (`None`: not cached).
    pub cache_dir: Option<PathBuf>,
    /// The explained class; `None` for the default (the card's positive class, else the last).
    pub target: Option<usize>,
    /// Rows explained; 0 for all.
    pub sample: usize,
    /// The dependence plot's feature (a data column).
    pub feature: Option<usize>,
    /// The dependence plot shown: (batch key, feature, spec), made once per batch and feature.
    dependence: Option<(String, usize, Arc<DependenceSpec>)>,
    running: Option<Running>,
    pub result: Option<Arc<GlobalData>>,
    cancelled: Option<String>,
    exporting: Option<Export>,
    pub message: Option<String>,
}

impl Default for GlobalView {
    fn default() -> Self {
        GlobalView {
            cache_dir: crate::analysis::global::cache_dir(),
            target: None,
            sample: 0,
            feature: None,
            dependence: None,
            running: None,
            result: None,
            cancelled: None,
            exporting: None,
            message: None,
        }
    }
}

/// The class explained when none is chosen.
pub fn default_target(session: &Session) -> usize {
    match session.model.task() {
        crate::model::Task::Classification {
            class_names,
            positive_class,
        } => positive_class.unwrap_or(class_names.len().saturating_sub(1)),
        crate::model::Task::Regression { .. } => 0,
    }
}

impl GlobalView {
    /// Forgets results (a new model or dataset was opened).
    pub fn clear(&mut self) {
        if let Some(r) = self.running.take() {
            r.progress.stop();
        }
        self.result = None;
        self.cancelled = None;
        self.feature = None;
        self.dependence = None;
    }

    /// True while a batch runs.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    fn settings(&self, session: &Session, base: &ExplainSettings) -> ExplainSettings {
        ExplainSettings {
            targets: Targets::Classes(vec![self.target.unwrap_or_else(|| default_target(session))]),
            ..base.clone()
        }
    }

    fn key(&self, settings: &ExplainSettings, background: Option<&Arc<Dataset>>) -> String {
        format!(
            "{settings:?}|{:?}|{}|{:?}",
            settings.targets,
            self.sample,
            background.map(|b| b.source.clone())
        )
    }

    /// Draws the tab. `base` are the Explain tab's settings (method, background, seed, scale).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &Session,
        base: &ExplainSettings,
        background_file: Option<Arc<Dataset>>,
        selected: Option<usize>,
        commands: &mut Vec<Command>,
    ) {
        let Some(data) = session.data.clone() else {
            ui.label("Open a dataset to explain it as a whole.");
            return;
        };
        self.poll();
        let settings = self.settings(session, base);
        let key = self.key(&settings, background_file.as_ref());
        let current = self.result.as_ref().filter(|r| r.key == key).cloned();
        if self.running.as_ref().is_some_and(|r| r.key != key)
            && let Some(r) = self.running.take()
        {
            r.progress.stop();
        }
        if current.is_none() && self.running.is_none() && self.cancelled.as_deref() != Some(&key) {
            self.start(
                ui.ctx(),
                session,
                &data,
                settings.clone(),
                background_file,
                key.clone(),
            );
        }

        self.controls_ui(ui, session, &data, current.as_ref());
        if let Some(r) = &self.running {
            let done = r.progress.done();
            ui.horizontal(|ui| {
                ui.add(
                    egui::ProgressBar::new(done as f32 / r.progress.total.max(1) as f32)
                        .desired_width(280.0)
                        .text(format!("Explaining {done} of {} rows…", r.progress.total))
                        .animate(true),
                );
                if ui.button("Cancel").clicked() {
                    r.progress.stop();
                    self.cancelled = Some(r.key.clone());
                }
            });
        }
        if self.cancelled.as_deref() == Some(&key) && current.is_none() {
            ui.horizontal(|ui| {
                ui.label("Cancelled.");
                if ui.button("Explain the dataset").clicked() {
                    self.cancelled = None;
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
        let Some(result) = current else {
            return;
        };
        ui.separator();
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.label(egui::RichText::new(&result.beeswarm.title).strong());
            ui.weak("Click a feature's name for its dependence plot, a dot to explain its row; drag a box to list the rows inside.");
            let events = beeswarm_ui(ui, &result.beeswarm, selected);
            self.handle(events, "in the beeswarm", commands);
            let feature = self
                .feature
                .filter(|&j| j < data.feature_names.len())
                .or_else(|| result.beeswarm.features.first().map(|f| f.index));
            if let Some(j) = feature {
                ui.add_space(8.0);
                let spec = match &self.dependence {
                    Some((key, f, spec)) if *key == result.key && *f == j => spec.clone(),
                    _ => {
                        let spec = Arc::new(self.dependence(&result, &data, j));
                        self.dependence = Some((result.key.clone(), j, spec.clone()));
                        spec
                    }
                };
                ui.horizontal(|ui| {
                    let label = ui.label(egui::RichText::new("Dependence on").strong());
                    egui::ComboBox::from_id_salt("dependence_feature")
                        .selected_text(&data.feature_names[j])
                        .show_ui(ui, |ui| {
                            for f in &result.beeswarm.features {
                                ui.selectable_value(&mut self.feature, Some(f.index), &f.name);
                            }
                        })
                        .response
                        .labelled_by(label.id);
                });
                let events = dependence_ui(ui, &spec, selected);
                self.handle(events, &format!("in the dependence plot of {}", spec.feature), commands);
            }
        });
    }

    /// The dependence plot of feature `j` in `result` (the cached one when it is that).
    fn dependence(&self, result: &GlobalData, data: &Dataset, j: usize) -> DependenceSpec {
        if let Some((key, f, spec)) = &self.dependence
            && *key == result.key
            && *f == j
        {
            return (**spec).clone();
        }
        let e = &result.explanation;
        DependenceSpec::new(
            &data.feature_names,
            &result.measure,
            j,
            &e.rows,
            e.values.view(),
            e.features.view(),
        )
    }

    fn handle(
        &mut self,
        events: super::plots::PlotEvents,
        place: &str,
        commands: &mut Vec<Command>,
    ) {
        if let Some(row) = events.clicked {
            commands.push(Command::Select(row, Some(Tab::Explain)));
        }
        if let Some(rows) = events.boxed
            && !rows.is_empty()
        {
            commands.push(Command::ShowRows(Subset {
                label: format!("{} rows boxed {place}", rows.len()),
                rows,
            }));
        }
        if let Some(j) = events.feature {
            self.feature = Some(j);
        }
    }

    fn controls_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &Session,
        data: &Dataset,
        current: Option<&Arc<GlobalData>>,
    ) {
        ui.horizontal_wrapped(|ui| {
            let classes = session.model.task().class_names();
            if !classes.is_empty() {
                let label = ui.label("Explain");
                let shown = self.target.unwrap_or_else(|| default_target(session));
                egui::ComboBox::from_id_salt("global_target")
                    .selected_text(&classes[shown])
                    .show_ui(ui, |ui| {
                        for (c, name) in classes.iter().enumerate() {
                            ui.selectable_value(&mut self.target, Some(c), name);
                        }
                    })
                    .response
                    .labelled_by(label.id);
            }
            let label = ui.label("Rows");
            let mut all = self.sample == 0 || self.sample >= data.len();
            if ui
                .checkbox(&mut all, format!("all {}", data.len()))
                .changed()
            {
                self.sample = if all { 0 } else { (data.len() / 2).max(1) };
            }
            if !all {
                ui.add(
                    egui::DragValue::new(&mut self.sample)
                        .range(1..=data.len())
                        .suffix(" sampled"),
                )
                .labelled_by(label.id);
            }
            if let Some(r) = current {
                ui.separator();
                ui.weak(format!(
                    "{} · {} rows · {}",
                    r.method.name(),
                    r.explanation.rows.len(),
                    if r.from_cache {
                        "from the cache".to_string()
                    } else {
                        format!("{:.1} s", r.seconds)
                    }
                ));
                ui.separator();
                self.export_menu(ui, session, data, r);
            }
        });
    }

    fn export_menu(
        &mut self,
        ui: &mut egui::Ui,
        session: &Session,
        data: &Dataset,
        result: &Arc<GlobalData>,
    ) {
        poll_export(&mut self.exporting, &mut self.message);
        ui.add_enabled_ui(self.exporting.is_none(), |ui| {
            ui.menu_button("Export", |ui| {
                for kind in [
                    GlobalExport::BeeswarmPng,
                    GlobalExport::BeeswarmSvg,
                    GlobalExport::ImportancePng,
                    GlobalExport::ImportanceSvg,
                    GlobalExport::DependencePng,
                    GlobalExport::DependenceSvg,
                    GlobalExport::Json,
                    GlobalExport::Csv,
                ] {
                    let (what, ext) = kind.name();
                    if ui
                        .button(format!("{what} ({})", ext.to_uppercase()))
                        .clicked()
                    {
                        let feature = self
                            .feature
                            .or_else(|| result.beeswarm.features.first().map(|f| f.index))
                            .unwrap_or(0);
                        let dependence = self.dependence(result, data, feature);
                        let result = result.clone();
                        let stem = session.model.name().trim_end_matches(".onnx").to_string();
                        self.exporting = Some(Export::spawn(
                            ui.ctx(),
                            format!("{stem}_{what}.{ext}"),
                            move || global_export_bytes(&result, &dependence, kind),
                        ));
                        ui.close();
                    }
                }
            });
        });
    }

    fn poll(&mut self) {
        if let Some(r) = &self.running
            && let Some(result) = r.job.poll()
        {
            let key = r.key.clone();
            self.running = None;
            match result {
                Ok(data) => self.result = Some(Arc::new(data)),
                Err(e) if e.to_string() == "cancelled" => self.cancelled = Some(key),
                Err(e) => {
                    self.cancelled = Some(key);
                    self.message = Some(format!("{e:#}"));
                }
            }
        }
    }

    fn start(
        &mut self,
        ctx: &egui::Context,
        session: &Session,
        data: &Arc<Dataset>,
        settings: ExplainSettings,
        background_file: Option<Arc<Dataset>>,
        key: String,
    ) {
        let rows = sample_rows(data.len(), self.sample, settings.seed);
        let progress = JobProgress::new(ctx, rows.len() as u64, Unit::Rows);
        let worker_progress = progress.clone();
        let session = session.clone();
        let data = data.clone();
        let job_key = key.clone();
        let cache = self.cache_dir.clone();
        let job = Job::spawn("Explaining the dataset…", ctx, move || {
            let started = Instant::now();
            let background = settings.background(&data, background_file.as_deref())?;
            let source = BackgroundSource {
                rows: background.len(),
                file: background_file.as_ref().map(|f| f.source.clone()),
            };
            let batch = explain_dataset(
                &session,
                &settings,
                &background,
                &source,
                background_file.as_deref(),
                &rows,
                cache.as_deref(),
                &*worker_progress,
            )?;
            let target = match &settings.targets {
                Targets::Classes(c) => c[0],
                Targets::Predicted => 0,
            };
            let measure = session.measure(target, settings.link);
            let e = &batch.explanation;
            let beeswarm = BeeswarmSpec::new(
                format!("Why the model predicts {} · {} rows", measure, e.rows.len()),
                measure.clone(),
                &data.feature_names,
                &e.rows,
                e.values.view(),
                e.features.view(),
                MAX_FEATURES,
            );
            Ok(GlobalData {
                key: job_key,
                explanation: batch.explanation,
                beeswarm,
                method: settings.resolved_method(&session.model),
                from_cache: batch.from_cache,
                seconds: started.elapsed().as_secs_f64(),
                measure,
            })
        });
        self.running = Some(Running { key, job, progress });
    }
}

/// The bytes of one export of a finished batch.
pub fn global_export_bytes(
    result: &GlobalData,
    dependence: &DependenceSpec,
    kind: GlobalExport,
) -> anyhow::Result<Vec<u8>> {
    let importance = ImportanceSpec::from_beeswarm(&result.beeswarm);
    Ok(match kind {
        GlobalExport::BeeswarmPng => render::png(&result.beeswarm, 2)?,
        GlobalExport::BeeswarmSvg => render::svg(&result.beeswarm)?.into_bytes(),
        GlobalExport::ImportancePng => render::png(&importance, 2)?,
        GlobalExport::ImportanceSvg => render::svg(&importance)?.into_bytes(),
        GlobalExport::DependencePng => render::png(dependence, 2)?,
        GlobalExport::DependenceSvg => render::svg(dependence)?.into_bytes(),
        GlobalExport::Json => {
            let mut out = Vec::new();
            result.explanation.file.write_json(&mut out)?;
            out
        }
        GlobalExport::Csv => {
            let mut out = Vec::new();
            result.explanation.file.write_csv(&mut out)?;
            out
        }
    })
}
