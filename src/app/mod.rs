//! The window (eframe/egui). Thin: panels read state and push [`Command`]s; [`LoupeApp`] applies
//! them between frames and runs all loading on worker [`jobs`]. No maths here.
//!
//! - `top_bar`: open model/data, recent files, model and data chips, job progress, errors.
//! - `browser`: the prediction browser on the left.
//! - `prediction_card`: the selected row's prediction in the centre (Prediction tab).
//! - `explain_view` and `waterfall`: the row's attribution (Explain tab).
//! - `image_view`: the Explain tab for image data (saliency overlays, faithfulness curves).
//! - `global_view`: the dataset explained as a whole (Global tab).
//! - `failures_view`: confusion, calibration, mistakes and error slices (Failure modes tab).
//! - `plots`: the charts those tabs draw, linked back to rows.
//! - `report_view`: the clinician's one-page report on the selected row (Report tab).

mod browser;
pub mod explain_view;
pub mod failures_view;
pub mod global_view;
pub mod image_view;
pub mod jobs;
pub mod plots;
mod prediction_card;
pub mod report_view;
pub mod theme;
mod top_bar;
mod waterfall;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::session::{Origin, Session, Source};

pub use browser::{BrowserState, Outcome, SortKey, Subset};
use jobs::Job;

/// How many recent model/data pairs are remembered.
const MAX_RECENT: usize = 10;

/// What is open, as last known, for the crash report (files are hashed only when it is written).
struct Snapshot {
    source: Source,
    explain: crate::explain::ExplainSettings,
    tab: Tab,
    row: Option<usize>,
}

static CURRENT: std::sync::Mutex<Option<Snapshot>> = std::sync::Mutex::new(None);

thread_local! {
    /// Whether this thread runs the window (see [`mark_ui_thread`]).
    static UI_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the calling thread as the one running the window. A panic there ends the process, so
/// the crash report is written for it; workers' panics are caught and shown as errors instead.
pub fn mark_ui_thread() {
    UI_THREAD.with(|ui| ui.set(true));
}

/// On a panic on the window's thread, saves the session (to reopen on the next start) and
/// writes a crash report beside it, in the cache folder, before the process ends.
pub fn install_crash_report() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        if !UI_THREAD.with(std::cell::Cell::get) {
            return;
        }
        let Some(dir) = crate::analysis::global::cache_dir() else {
            return;
        };
        let _ = std::fs::create_dir_all(&dir);
        if let (Ok(current), Some(path)) = (CURRENT.try_lock(), last_session_path())
            && let Some(s) = current.as_ref()
            && let Ok(saved) = crate::saved::SavedSession::of(
                &s.source,
                &s.explain,
                &format!("{:?}", s.tab),
                s.row,
                None,
            )
        {
            let _ = saved.save(&path);
        }
        let report = format!(
            "Loupe {} crashed: {info}\n\n{}\n",
            env!("CARGO_PKG_VERSION"),
            std::backtrace::Backtrace::force_capture()
        );
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(':', "-");
        let _ = std::fs::write(dir.join(format!("crash-{stamp}.txt")), report);
    }));
}

/// Where the window keeps the session it reopens on the next start.
pub fn last_session_path() -> Option<PathBuf> {
    Some(crate::analysis::global::cache_dir()?.join("last_session.json"))
}

/// Opens the window on `source` (or, with `restore`, on the last session when there is one)
/// and runs until it is closed.
pub fn run(source: Source, restore: bool) -> anyhow::Result<()> {
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        anyhow::bail!(
            "no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset); \
             use the command line instead: `loupe info MODEL`, `loupe predict MODEL DATA`"
        );
    }
    mark_ui_thread();
    install_crash_report();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Loupe")
            .with_app_id("loupe")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([720.0, 480.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "Loupe",
        options,
        Box::new(move |cc| {
            let settings: Settings = cc
                .storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default();
            theme::install_fonts(&cc.egui_ctx);
            let mut app = LoupeApp::new(settings);
            let last = last_session_path()
                .filter(|p| restore && p.exists())
                .and_then(|p| crate::saved::SavedSession::load(&p).ok());
            match last {
                Some((saved, source, warnings)) => {
                    app.open_saved(&cc.egui_ctx, saved, source, warnings)
                }
                None => app.open(&cc.egui_ctx, source),
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| {
        anyhow::anyhow!("cannot open a window: {e}; use `loupe info` or `loupe predict` instead")
    })
}

/// A model/data pair opened before, remembered across runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recent {
    pub model: PathBuf,
    pub data: Option<PathBuf>,
}

impl fmt::Display for Recent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |p: &PathBuf| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        match &self.data {
            Some(d) => write!(f, "{} + {}", name(&self.model), name(d)),
            None => write!(f, "{}", name(&self.model)),
        }
    }
}

/// What persists between runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub recent: Vec<Recent>,
    /// The Explain tab's method, budget, background, seed and scale.
    pub explain: crate::explain::ExplainSettings,
    /// The centre tab last shown.
    pub tab: Tab,
}

/// What a panel asks the app to do.
#[derive(Clone, Debug)]
pub enum Command {
    PickModel,
    PickData,
    OpenSample,
    OpenRecent(Recent),
    Open(Source),
    CancelJob,
    DismissError,
    SaveSession,
    OpenSession,
    /// Select a row in the browser (clearing filters that hide it), then show a tab.
    Select(usize, Option<Tab>),
    /// Show only these rows in the browser.
    ShowRows(Subset),
}

/// The centre tabs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    #[default]
    Prediction,
    Explain,
    Global,
    Failures,
    Report,
}

/// A file chosen in a dialog.
enum Picked {
    Model(PathBuf),
    Data(PathBuf),
}

/// A session file read or written.
enum SessionDone {
    Opened(Box<crate::saved::SavedSession>, Source, Vec<String>),
    Saved(PathBuf),
}

/// A loaded session and a warning about data that did not load.
type Loaded = (Session, Option<String>);

/// The application: persisted settings, the open session, and runtime state.
pub struct LoupeApp {
    settings: Settings,
    /// What is open now (the session was loaded from it).
    source: Option<Source>,
    session: Option<Session>,
    pub browser: BrowserState,
    pub tab: Tab,
    pub explain: explain_view::ExplainView,
    pub images: image_view::ImageView,
    pub global: global_view::GlobalView,
    pub failures: failures_view::FailuresView,
    pub report: report_view::ReportView,
    loading: Option<(Source, Job<Loaded>)>,
    picking: Option<Job<Option<Picked>>>,
    /// A session file being read (picked, hashes checked) or written.
    session_job: Option<Job<Option<SessionDone>>>,
    /// A saved session's tab and row, applied once its files have loaded.
    pending: Option<crate::saved::SavedSession>,
    error: Option<String>,
    commands: Vec<Command>,
}

impl LoupeApp {
    /// An empty window with `settings`.
    pub fn new(settings: Settings) -> Self {
        let mut explain = explain_view::ExplainView::default();
        explain.settings = settings.explain.clone();
        LoupeApp {
            tab: settings.tab,
            settings,
            source: None,
            session: None,
            browser: BrowserState::default(),
            explain,
            images: Default::default(),
            global: Default::default(),
            failures: Default::default(),
            report: Default::default(),
            loading: None,
            picking: None,
            session_job: None,
            pending: None,
            error: None,
            commands: Vec::new(),
        }
    }

    /// A window already showing `session` (tests and embedding).
    pub fn with_session(source: Source, session: Session) -> Self {
        let mut app = LoupeApp::new(Settings::default());
        app.install(source, session, None);
        app
    }

    /// The open session, if any.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The error shown in the window, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// True while something loads.
    pub fn is_busy(&self) -> bool {
        self.loading.is_some()
    }

    /// Opens a saved session: its settings now, its files on a worker, its tab and row when they
    /// have loaded; `warnings` (files changed since it was saved) are shown.
    pub fn open_saved(
        &mut self,
        ctx: &egui::Context,
        saved: crate::saved::SavedSession,
        source: Source,
        warnings: Vec<String>,
    ) {
        self.explain.settings = saved.explain.clone();
        if let Some(dir) = &saved.cache_dir {
            self.global.cache_dir = Some(dir.clone());
        }
        if !warnings.is_empty() {
            self.error = Some(warnings.join("; "));
        }
        self.pending = Some(saved);
        self.open(ctx, source);
    }

    /// The open session as a session file's contents.
    fn saved_session(&self) -> Option<crate::saved::SavedSession> {
        let source = self.source.as_ref()?;
        crate::saved::SavedSession::of(
            source,
            &self.explain.settings,
            &format!("{:?}", self.tab),
            self.browser.selected,
            self.global.cache_dir.clone(),
        )
        .ok()
    }

    /// Starts loading `source` on a worker.
    pub fn open(&mut self, ctx: &egui::Context, source: Source) {
        let job_source = source.clone();
        let job = Job::spawn("Loading…", ctx, move || {
            Session::load_keeping_model(&job_source)
        });
        self.loading = Some((source, job));
    }

    /// Draws the whole window and applies what the user asked for.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.poll_jobs();
        let (dropped_model, dropped_data) = top_bar::dropped_paths(&ctx);
        if let Some(source) = self.source_with(dropped_model, dropped_data) {
            self.commands.push(Command::Open(source));
        }

        egui::Panel::top("top_bar").show(ui, |ui| {
            let bar = top_bar::TopBar {
                session: self.session.as_ref(),
                recent: &self.settings.recent,
                busy: self.loading.as_ref().map(|(_, job)| job.label.as_str()),
                error: self.error.as_deref(),
            };
            top_bar::top_bar_ui(ui, bar, &mut self.commands);
        });
        if let Some(session) = &self.session {
            egui::Panel::left("browser")
                .default_size(400.0)
                .min_size(300.0)
                .show(ui, |ui| {
                    browser::browser_ui(ui, &mut self.browser, session);
                });
        }
        egui::CentralPanel::default().show(ui, |ui| match (&self.session, self.browser.selected) {
            (Some(session), Some(row)) => {
                let is_images = session.data.as_ref().is_some_and(|d| d.images.is_some());
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.tab, Tab::Prediction, "Prediction");
                    ui.selectable_value(&mut self.tab, Tab::Explain, "Explain");
                    ui.selectable_value(&mut self.tab, Tab::Global, "Global");
                    ui.selectable_value(&mut self.tab, Tab::Failures, "Failure modes");
                    ui.selectable_value(&mut self.tab, Tab::Report, "Report");
                });
                ui.separator();
                match self.tab {
                    Tab::Prediction => prediction_card::prediction_card_ui(ui, session, row),
                    Tab::Explain if is_images => self.images.ui(ui, session, row),
                    Tab::Explain => self.explain.ui(ui, session, row),
                    Tab::Global | Tab::Report if is_images => {
                        ui.label(
                            "This tab works on tabular data; for images, use Explain (saliency maps) and Failure modes.",
                        );
                    }
                    Tab::Global => self.global.ui(
                        ui,
                        session,
                        &self.explain.settings,
                        self.explain.background_file(),
                        Some(row),
                        &mut self.commands,
                    ),
                    Tab::Failures => self.failures.ui(ui, session, &mut self.commands),
                    Tab::Report => self.report.ui(ui, session, row, &self.explain.settings),
                }
            }
            (Some(session), None) => {
                ui.heading(session.model.name());
                ui.label(if session.data.is_some() {
                    "No row matches the filter."
                } else {
                    "Open a dataset (Open data…, or drop a CSV on the window) to see predictions."
                });
            }
            (None, _) if self.loading.is_some() => {
                ui.spinner();
            }
            (None, _) => {
                ui.heading("Open an ONNX model to begin");
                ui.label("Open model…, drop a .onnx file here, or open the bundled sample.");
            }
        });
        self.apply_commands(&ctx);
        self.remember_for_crash_report();
    }

    /// Keeps the crash report's snapshot in step with the tab, row and settings on screen.
    fn remember_for_crash_report(&self) {
        if let Ok(mut current) = CURRENT.try_lock()
            && let Some(s) = current.as_mut()
        {
            s.tab = self.tab;
            s.row = self.browser.selected;
            if s.explain != self.explain.settings {
                s.explain = self.explain.settings.clone();
            }
        }
    }

    fn poll_jobs(&mut self) {
        if let Some((_, job)) = &self.loading
            && let Some(result) = job.poll()
        {
            let Some((source, _)) = self.loading.take() else {
                return;
            };
            match result {
                Ok((session, warning)) => self.install(source, session, warning),
                Err(e) => self.error = Some(format!("{e:#}")),
            }
        }
        if let Some(job) = &self.session_job
            && let Some(result) = job.poll()
        {
            self.session_job = None;
            match result {
                Ok(Some(SessionDone::Opened(saved, source, warnings))) => {
                    self.commands.push(Command::Open(source.clone()));
                    self.explain.settings = saved.explain.clone();
                    if !warnings.is_empty() {
                        self.error = Some(warnings.join("; "));
                    }
                    self.pending = Some(*saved);
                }
                Ok(Some(SessionDone::Saved(path))) => {
                    self.error = Some(format!("Saved the session to {}", path.display()));
                }
                Ok(None) => {}
                Err(e) => self.error = Some(format!("{e:#}")),
            }
        }
        if let Some(job) = &self.picking
            && let Some(result) = job.poll()
        {
            self.picking = None;
            match result {
                Ok(Some(Picked::Model(path))) => {
                    if let Some(source) = self.source_with(Some(path), None) {
                        self.commands.push(Command::Open(source));
                    }
                }
                Ok(Some(Picked::Data(path))) => {
                    if let Some(source) = self.source_with(None, Some(path)) {
                        self.commands.push(Command::Open(source));
                    }
                }
                Ok(None) => {}
                Err(e) => self.error = Some(format!("{e:#}")),
            }
        }
    }

    /// The open source with a new model and/or data file; `None` if nothing changes.
    fn source_with(&mut self, model: Option<PathBuf>, data: Option<PathBuf>) -> Option<Source> {
        if model.is_none() && data.is_none() {
            return None;
        }
        let current = self.source.clone();
        let model = match (model, &current) {
            (Some(m), _) => Origin::File(m),
            (None, Some(s)) => s.model.clone(),
            (None, None) => {
                self.error = Some("open a model first, then its data".into());
                return None;
            }
        };
        let data = data
            .map(Origin::File)
            .or_else(|| current.as_ref().and_then(|s| s.data.clone()));
        let label = current.and_then(|s| s.label);
        Some(Source { model, data, label })
    }

    fn install(&mut self, source: Source, session: Session, warning: Option<String>) {
        if let Origin::File(model) = &source.model {
            let data = match &source.data {
                Some(Origin::File(d)) if session.data.is_some() => Some(d.clone()),
                _ => None,
            };
            let entry = Recent {
                model: model.clone(),
                data,
            };
            self.settings.recent.retain(|r| *r != entry);
            self.settings.recent.insert(0, entry);
            self.settings.recent.truncate(MAX_RECENT);
        }
        let mut source = source;
        if session.data.is_none() {
            source.data = None;
        }
        self.error = warning;
        self.explain.clear();
        self.images.clear();
        self.global.clear();
        self.failures.clear();
        self.report.clear();
        self.browser.subset = None;
        self.browser.forget_thumbnails();
        self.browser.selected = None;
        if let (Some(data), Some(predictions)) = (&session.data, &session.predictions) {
            self.browser.refresh(data, predictions);
        }
        if let Some(saved) = self.pending.take() {
            self.tab = match saved.tab.as_str() {
                "Explain" => Tab::Explain,
                "Global" => Tab::Global,
                "Failures" => Tab::Failures,
                "Report" => Tab::Report,
                _ => self.tab,
            };
            if let (Some(row), Some(d), Some(p)) =
                (saved.selected_row, &session.data, &session.predictions)
                && row < d.len()
            {
                self.browser.select(row, d, p);
            }
        }
        self.source = Some(source);
        self.session = Some(session);
        if let (Ok(mut current), Some(source)) = (CURRENT.lock(), &self.source) {
            *current = Some(Snapshot {
                source: source.clone(),
                explain: self.explain.settings.clone(),
                tab: self.tab,
                row: self.browser.selected,
            });
        }
    }

    fn apply_commands(&mut self, ctx: &egui::Context) {
        for command in std::mem::take(&mut self.commands) {
            match command {
                Command::PickModel => self.pick(ctx, true),
                Command::PickData => self.pick(ctx, false),
                Command::OpenSample => self.open(ctx, Source::sample()),
                Command::OpenRecent(r) => self.open(ctx, Source::files(r.model, r.data, None)),
                Command::Open(source) => self.open(ctx, source),
                Command::CancelJob => self.loading = None,
                Command::DismissError => self.error = None,
                Command::SaveSession => {
                    if let Some(saved) = self.saved_session() {
                        self.session_job =
                            Some(Job::spawn("Saving the session…", ctx, move || {
                                let Some(path) = rfd::FileDialog::new()
                                    .set_file_name("session.loupe.json")
                                    .add_filter("Loupe session", &["json"])
                                    .save_file()
                                else {
                                    return Ok(None);
                                };
                                saved.save(&path)?;
                                Ok(Some(SessionDone::Saved(path)))
                            }));
                    }
                }
                Command::OpenSession => {
                    self.session_job = Some(Job::spawn("Opening a session…", ctx, move || {
                        let Some(path) = rfd::FileDialog::new()
                            .add_filter("Loupe session", &["json"])
                            .pick_file()
                        else {
                            return Ok(None);
                        };
                        let (saved, source, warnings) = crate::saved::SavedSession::load(&path)?;
                        Ok(Some(SessionDone::Opened(Box::new(saved), source, warnings)))
                    }));
                }
                Command::Select(row, tab) => {
                    if let Some(session) = &self.session
                        && let (Some(d), Some(p)) = (&session.data, &session.predictions)
                    {
                        self.browser.select(row, d, p);
                    }
                    if let Some(tab) = tab {
                        self.tab = tab;
                    }
                }
                Command::ShowRows(subset) => {
                    if let Some(session) = &self.session
                        && let (Some(d), Some(p)) = (&session.data, &session.predictions)
                    {
                        self.browser.show_subset(subset, d, p);
                    }
                }
            }
        }
    }

    /// Shows a file dialog on a worker, so the window keeps drawing while it is open.
    fn pick(&mut self, ctx: &egui::Context, model: bool) {
        if self.picking.is_some() {
            return;
        }
        self.picking = Some(Job::spawn("Choosing a file…", ctx, move || {
            let dialog = rfd::FileDialog::new();
            Ok(if model {
                dialog
                    .add_filter("ONNX model", &["onnx"])
                    .pick_file()
                    .map(Picked::Model)
            } else {
                dialog
                    .add_filter("CSV data", &["csv", "tsv", "txt"])
                    .pick_file()
                    .map(Picked::Data)
            })
        }));
    }
}

impl eframe::App for LoupeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings.explain = self.explain.settings.clone();
        self.settings.tab = self.tab;
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    /// Saves the open session, to reopen it on the next start.
    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let (Some(saved), Some(path)) = (self.saved_session(), last_session_path()) {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = saved.save(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_a_restart() {
        let mut settings = Settings::default();
        settings.recent.push(Recent {
            model: "m.onnx".into(),
            data: Some("d.csv".into()),
        });
        settings.explain.seed = 7;
        settings.explain.method = crate::explain::Method::Permutation;
        settings.tab = Tab::Explain;
        let text = serde_json::to_string(&settings).unwrap();
        let back: Settings = serde_json::from_str(&text).unwrap();
        let app = LoupeApp::new(back);
        assert_eq!(app.explain.settings.seed, 7);
        assert_eq!(
            app.explain.settings.method,
            crate::explain::Method::Permutation
        );
        assert_eq!(app.tab, Tab::Explain);
        assert_eq!(app.settings.recent[0].to_string(), "m.onnx + d.csv");
        // Settings from an older version (missing keys) still load.
        let old: Settings = serde_json::from_str(r#"{"recent": []}"#).unwrap();
        assert_eq!(old.explain.background_rows, 50);
    }
}
