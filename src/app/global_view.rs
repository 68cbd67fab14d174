//! The Global tab: the whole dataset (or a seeded sample) explained for one class on a worker,
//! then a beeswarm with mean |attribution| bars and a dependence plot. Every dot leads back to
//! its row; a box drawn on a chart filters the browser. Batches are cached on disk, so opening
//! the same model and data again shows them at once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::data::Dataset;
use crate::explain::{ExplainSettings, Method};
use crate::plot::global::{BeeswarmSpec, DependenceSpec, ImportanceSpec};
use crate::plot::render;
use crate::session::Session;
use crate::session::dataset::{DatasetRequest, GlobalExplanation, sample_rows};
use crate::session::policy::Purpose;

use super::browser::Subset;
use super::dialogs::Export;
use super::jobs::{Keyed, Unit};
use super::notices::Notices;
use super::panel::{Panel, PanelCtx};
use super::plots::{beeswarm_ui, dependence_ui};
use super::{Command, widgets};

/// The notices' topic of this tab.
const TOPIC: &str = "global";

/// Features shown in the beeswarm.
const MAX_FEATURES: usize = 20;

/// Datasets with more rows than this are explained on a seeded sample by default.
pub const LARGE_ROWS: usize = 20_000;
/// Rows of that default sample.
pub const LARGE_SAMPLE: usize = 2_000;

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
    pub const ALL: [GlobalExport; 8] = [
        GlobalExport::BeeswarmPng,
        GlobalExport::BeeswarmSvg,
        GlobalExport::ImportancePng,
        GlobalExport::ImportanceSvg,
        GlobalExport::DependencePng,
        GlobalExport::DependenceSvg,
        GlobalExport::Json,
        GlobalExport::Csv,
    ];

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
    jobs: Keyed<GlobalData>,
    /// The batch shown last.
    pub result: Option<Arc<GlobalData>>,
    /// The tab's own method, budget and background (taken from the Explain tab when the tab
    /// is first shown for a model, then its own).
    pub own: Option<ExplainSettings>,
    /// A run past [`AUTO_RUN_MODEL_ROWS`] the user asked for, by key.
    confirmed: Option<String>,
    /// Features shown in the beeswarm.
    pub max_features: usize,
}

/// Runs that evaluate at most this many model rows start by themselves; longer ones wait for
/// the user, who sees the estimate first.
pub const AUTO_RUN_MODEL_ROWS: u64 = 100_000_000;

impl Default for GlobalView {
    fn default() -> Self {
        GlobalView {
            cache_dir: crate::session::dataset::cache_dir(),
            target: None,
            sample: 0,
            feature: None,
            dependence: None,
            jobs: Keyed::new("Explaining the dataset…", 4),
            result: None,
            own: None,
            confirmed: None,
            max_features: MAX_FEATURES,
        }
    }
}

impl Panel for GlobalView {
    fn title(&self) -> &'static str {
        "Global"
    }

    fn unavailable(&self, session: &Session) -> Option<String> {
        match &session.data {
            Some(d) if d.images.is_some() => {
                Some("works on tabular data; for images use Explain and Failure modes".into())
            }
            None => Some("open a dataset to explain it as a whole".into()),
            Some(_) => None,
        }
    }

    fn on_session(&mut self, session: &Session, _notices: &mut Notices) {
        self.jobs.clear();
        self.result = None;
        self.dependence = None;
        self.target = session.valid_class(self.target);
        self.own = None;
        self.confirmed = None;
        let rows = session.data.as_ref().map_or(0, |d| d.len());
        if rows > LARGE_ROWS && (self.sample == 0 || self.sample > LARGE_SAMPLE) {
            self.sample = LARGE_SAMPLE;
        }
        let features = session.data.as_ref().map_or(0, |d| d.feature_names.len());
        self.feature = self.feature.filter(|&j| j < features);
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx) {
        self.draw(ui, cx);
    }
}

impl GlobalView {
    /// True while a batch runs.
    pub fn is_running(&self) -> bool {
        self.jobs.is_running()
    }

    fn settings(&mut self, session: &Session, base: &ExplainSettings) -> ExplainSettings {
        let own = self.own.get_or_insert_with(|| base.clone());
        ExplainSettings {
            targets: session.targets(Purpose::Dataset, self.target, None),
            ..own.clone()
        }
    }

    /// Model rows a run of `settings` over the tab's rows costs.
    fn cost(
        &self,
        session: &Session,
        data: &Dataset,
        settings: &ExplainSettings,
        background: Option<&Arc<Dataset>>,
    ) -> u64 {
        let rows = sample_rows(data.len(), self.sample, settings.seed).len() as u64;
        let background = background.map_or(settings.background_rows, |f| f.len());
        rows.saturating_mul(settings.cost_per_row(&session.model, background))
    }

    fn key(&self, settings: &ExplainSettings, background: Option<&Arc<Dataset>>) -> String {
        format!(
            "{settings:?}|{:?}|{}|{:?}|{}",
            settings.targets,
            self.sample,
            background.map(|b| b.source.clone()),
            self.max_features
        )
    }

    /// Draws the tab with the Explain tab's settings (method, background, seed, scale).
    fn draw(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx) {
        let session = cx.session;
        let selected = Some(cx.row);
        let Some(data) = session.data.clone() else {
            return;
        };
        self.target = session.valid_class(self.target);
        let background_file = cx.shared.background_file.clone();
        let settings = self.settings(session, &cx.shared.explain);
        let key = self.key(&settings, background_file.as_ref());
        if let Some((failed, message)) = self.jobs.poll() {
            cx.notices.error(TOPIC, &failed, message);
        }
        cx.notices.keep_only(TOPIC, &key);
        if let Some(done) = self.jobs.get(&key) {
            self.result = Some(done);
        }
        let current = self.result.as_ref().filter(|r| r.key == key).cloned();
        let cost = self.cost(session, &data, &settings, background_file.as_ref());
        let unavailable = settings.method.unavailable(&settings.fit(&session.model));
        let allowed = cost <= AUTO_RUN_MODEL_ROWS || self.confirmed.as_deref() == Some(&key);
        if current.is_none() && allowed && unavailable.is_none() {
            self.start(
                ui.ctx(),
                session,
                &data,
                settings,
                background_file,
                key.clone(),
            );
        }
        self.controls_ui(ui, cx, &data, current.as_ref());
        self.method_ui(ui, cx, cost);
        if let Some(why) = &unavailable {
            ui.add(egui::Label::new(format!("The method {why}. Choose another one above.")).wrap());
        } else if current.is_none() && !allowed && !self.jobs.is_running() {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!(
                    "This run evaluates about {} model rows; it may take a while.",
                    crate::thousands(cost)
                ));
                if ui.button("Explain the dataset").clicked() {
                    self.confirmed = Some(key.clone());
                }
            });
        }
        if let Some(progress) = self.jobs.progress().cloned()
            && widgets::progress_ui(ui, &progress, |done, total| {
                format!("Explaining {done} of {total} rows…")
            })
        {
            self.jobs.cancel();
        }
        if self.jobs.stopped(&key).is_some() && current.is_none() {
            ui.horizontal(|ui| {
                ui.label("Not explained.");
                if ui.button("Explain the dataset").clicked() {
                    self.jobs.retry();
                }
            });
        }
        let commands = &mut *cx.commands;
        let Some(result) = current else {
            return;
        };
        ui.separator();
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(egui::RichText::new(&result.beeswarm.title).strong());
                super::chart::hint_ui(ui, true);
            });
            ui.weak("Click a dot to explain its row, a feature's line or bar for its dependence plot; Shift+drag a box to list the rows inside.");
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
            &data.categories,
        )
    }

    fn handle(
        &mut self,
        events: super::plots::PlotEvents,
        place: &str,
        commands: &mut Vec<Command>,
    ) {
        if let Some(row) = events.clicked {
            commands.push(Command::Select(row, Some("Explain")));
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
        cx: &mut PanelCtx,
        data: &Dataset,
        current: Option<&Arc<GlobalData>>,
    ) {
        let session = cx.session;
        ui.horizontal_wrapped(|ui| {
            let classes = session.model.task().class_names();
            if !classes.is_empty() {
                let default = session
                    .default_class(Purpose::Dataset, None)
                    .and_then(|c| classes.get(c))
                    .map_or("default".to_string(), |c| format!("{c} (default)"));
                widgets::class_choice(ui, "global_target", classes, &mut self.target, &default);
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
                ui.weak(format!(
                    "a seeded sample (seed {}){}",
                    self.own.as_ref().map_or(0, |o| o.seed),
                    if data.len() > LARGE_ROWS {
                        ", as the dataset is large"
                    } else {
                        ""
                    }
                ));
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
                self.export_menu(ui, cx, data, r);
            }
        });
    }

    /// The tab's own method, budget and background, with the run's cost.
    fn method_ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx, cost: u64) {
        let session = cx.session;
        let Some(own) = self.own.as_mut() else {
            return;
        };
        let fit = own.fit(&session.model);
        ui.horizontal_wrapped(|ui| {
            let resolved = own.resolved_method(&session.model);
            widgets::method_choice(
                ui,
                "global_method",
                Method::all_for(crate::explain::Kind::Tabular),
                &fit,
                &mut own.method,
            );
            let label = ui.label("Budget");
            let m = session.model.n_features();
            let mut budget = own.budget(m);
            if ui
                .add_enabled(
                    resolved.is_sampled(),
                    egui::DragValue::new(&mut budget)
                        .range(16..=crate::explain::settings::MAX_SAMPLES)
                        .speed(16),
                )
                .labelled_by(label.id)
                .on_hover_text("Coalitions evaluated per row")
                .changed()
            {
                own.samples = Some(budget);
            }
            let label = ui.label("Background");
            ui.add_enabled(
                cx.shared.background_file.is_none(),
                egui::DragValue::new(&mut own.background_rows)
                    .range(1..=1000)
                    .suffix(" rows"),
            )
            .labelled_by(label.id);
            if ui
                .small_button("As in Explain")
                .on_hover_text("Use the Explain tab's method, budget and background")
                .clicked()
            {
                *own = cx.shared.explain.clone();
            }
            let label = ui.label("Show");
            let features = session.model.n_features().max(1);
            ui.add(
                egui::DragValue::new(&mut self.max_features)
                    .range(1..=features)
                    .suffix(" features"),
            )
            .labelled_by(label.id);
            ui.weak(format!("≈ {} model rows", crate::thousands(cost)));
        });
    }

    fn export_menu(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut PanelCtx,
        data: &Dataset,
        result: &Arc<GlobalData>,
    ) {
        ui.menu_button("Export", |ui| {
            for kind in GlobalExport::ALL {
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
                    let stem = cx.model_stem();
                    cx.commands.push(Command::Export(Export {
                        name: format!("{stem}_{what}.{ext}"),
                        bytes: Box::new(move || global_export_bytes(&result, &dependence, kind)),
                    }));
                    ui.close();
                }
            }
        });
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
        let total = rows.len() as u64;
        let session = session.clone();
        let data = data.clone();
        let job_key = key.clone();
        let cache = self.cache_dir.clone();
        let max_features = self.max_features;
        self.jobs
            .ensure(ctx, &key, total, Unit::Rows, move |progress| {
                let started = Instant::now();
                let batch = session.explain_dataset(
                    &DatasetRequest {
                        settings: &settings,
                        background_file: background_file.as_deref(),
                        rows: &rows,
                        cache: cache.as_deref(),
                    },
                    &*progress,
                )?;
                let target = match &settings.targets {
                    crate::explain::Targets::Classes(c) => c.first().copied().unwrap_or(0),
                    crate::explain::Targets::Predicted => 0,
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
                    max_features,
                )
                .with_categories(&data.categories, e.features.view());
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
