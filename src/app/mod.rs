//! The window (eframe/egui). Thin: panels read state and push [`Command`]s; [`LoupeApp`] applies
//! them between frames ([`commands`]) and runs all work on worker [`jobs`]. No maths here.
//!
//! - `top_bar`: open model/data, recent files, model and data chips, the loading job.
//! - `browser`: the prediction browser on the left.
//! - [`panel`]: the centre tabs behind one trait, listed once in [`Panels::all`]:
//!   `prediction_card` (Prediction), [`explain_view`] (Explain, tabular), [`image_view`]
//!   (Explain, images), [`global_view`] (Global), [`failures_view`] (Failure modes),
//!   [`report_view`] (Report).
//! - [`notices`]: the one place messages appear; [`dialogs`]: choosing files (or typing a
//!   path when no dialog can be shown); [`widgets`]: what the panels share.

mod browser;
mod browser_rows;
pub mod chart;
mod commands;
mod crash;
pub mod dialogs;
mod explain_settings;
mod explain_table;
pub mod explain_view;
pub mod failures_view;
pub mod global_view;
mod image_draw;
pub mod image_view;
pub mod jobs;
pub mod notices;
pub mod panel;
pub mod plots;
mod prediction_card;
pub mod report_view;
mod row_filter;
pub mod theme;
mod top_bar;
mod waterfall;
pub mod widgets;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::session::{Session, Source};

pub use browser::{BrowserState, Outcome, SortKey, Subset};
pub use commands::Command;
pub use crash::{install_crash_report, last_session_path, mark_ui_thread};
use jobs::Job;
use panel::{Panel, PanelCtx, Shared};

/// How many recent model/data pairs are remembered.
const MAX_RECENT: usize = 10;

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
    /// The centre tab last shown, by title.
    pub tab: String,
    /// Light, dark, or following the system (the default).
    pub theme: theme::ThemeChoice,
}

/// The centre tabs' state, one field per panel; [`Panels::all`] is the list they are drawn
/// and told about new sessions from.
#[derive(Default)]
pub struct Panels {
    pub prediction: prediction_card::PredictionPanel,
    pub explain: explain_view::ExplainView,
    pub images: image_view::ImageView,
    pub global: global_view::GlobalView,
    pub failures: failures_view::FailuresView,
    pub report: report_view::ReportView,
}

impl Panels {
    /// Every panel, in tab order. One line per panel.
    pub fn all(&mut self) -> [&mut dyn Panel; 6] {
        [
            &mut self.prediction,
            &mut self.explain,
            &mut self.images,
            &mut self.global,
            &mut self.failures,
            &mut self.report,
        ]
    }
}

/// The title of a tab as saved by this or an older version ("Failures").
pub fn tab_title(saved: &str) -> String {
    match saved {
        "" => "Prediction".into(),
        "Failures" => failures_view::TITLE.into(),
        other => other.into(),
    }
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
    /// The centre tab shown, by title.
    pub tab: String,
    /// What the Explain, Global and Report tabs share (settings, background file).
    pub shared: Shared,
    pub panels: Panels,
    pub notices: notices::Notices,
    dialogs: dialogs::Dialogs,
    loading: Option<(Source, Job<Loaded>)>,
    /// A session file being read (hashes checked) or written.
    session_job: Option<Job<commands::SessionDone>>,
    /// A background CSV being read.
    background_job: Option<Job<crate::data::Dataset>>,
    /// Files being written.
    exports: Vec<Job<PathBuf>>,
    /// A saved session's tab and row, applied once its files have loaded.
    pending: Option<crate::saved::SavedSession>,
    commands: Vec<Command>,
}

impl LoupeApp {
    /// An empty window with `settings`.
    pub fn new(settings: Settings) -> Self {
        LoupeApp {
            tab: tab_title(&settings.tab),
            shared: Shared {
                explain: settings.explain.clone(),
                background_file: None,
            },
            settings,
            source: None,
            session: None,
            browser: BrowserState::default(),
            panels: Panels::default(),
            notices: Default::default(),
            dialogs: Default::default(),
            loading: None,
            session_job: None,
            background_job: None,
            exports: Vec::new(),
            pending: None,
            commands: Vec::new(),
        }
    }

    /// A window already showing `session` (tests and embedding).
    pub fn with_session(source: Source, session: Session) -> Self {
        Self::with_settings(Settings::default(), source, session)
    }

    /// A window with persisted `settings` already showing `session`, as after a restart.
    pub fn with_settings(settings: Settings, source: Source, session: Session) -> Self {
        let mut app = LoupeApp::new(settings);
        app.install(source, session, None);
        app
    }

    /// Keeps what the window caches on disk (the Global tab's batches) in `dir` instead of
    /// the cache folder ([`crate::session::dataset::cache_dir`]).
    pub fn set_cache_dir(&mut self, dir: PathBuf) {
        self.panels.global.cache_dir = Some(dir);
    }

    /// The open session, if any.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The newest error shown in the window, if any.
    pub fn error(&self) -> Option<&str> {
        self.notices.latest_error()
    }

    /// True while something loads.
    pub fn is_busy(&self) -> bool {
        self.loading.is_some()
    }

    /// What persists now (as saved when the window closes).
    pub fn persisted(&self) -> Settings {
        Settings {
            explain: self.shared.explain.clone(),
            tab: self.tab.clone(),
            ..self.settings.clone()
        }
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
        self.shared.explain = saved.explain.clone();
        if let Some(dir) = &saved.cache_dir {
            self.panels.global.cache_dir = Some(dir.clone());
        }
        if !warnings.is_empty() {
            self.notices.error("files", "", warnings.join("; "));
        }
        self.pending = Some(saved);
        self.open(ctx, source);
    }

    /// The open session as a session file's contents.
    fn saved_session(&self) -> Option<crate::saved::SavedSession> {
        let source = self.source.as_ref()?;
        crate::saved::SavedSession::of(
            source,
            &self.shared.explain,
            &self.tab,
            self.browser.selected,
            self.panels.global.cache_dir.clone(),
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
        let preference = self.settings.theme.preference();
        if ctx.options(|o| o.theme_preference) != preference {
            ctx.set_theme(preference);
        }
        self.poll_jobs();
        if let Some((purpose, path)) = self.dialogs.ui(&ctx) {
            self.chosen(&ctx, purpose, path);
        }
        let (dropped_model, dropped_data) = top_bar::dropped_paths(&ctx);
        if let Some(source) = self.source_with(dropped_model, dropped_data) {
            self.commands.push(Command::Open(source));
        }

        egui::Panel::top("top_bar").show(ui, |ui| {
            let bar = top_bar::TopBar {
                session: self.session.as_ref(),
                recent: &self.settings.recent,
                busy: self.loading.as_ref().map(|(_, job)| job.label.as_str()),
                theme: &mut self.settings.theme,
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
                let mut panels = self.panels.all();
                {
                    let shown: Vec<&dyn Panel> = panels.iter().map(|p| &**p).collect();
                    panel::tabs_ui(ui, &shown, session, &mut self.tab);
                }
                ui.separator();
                let tab = self.tab.clone();
                if let Some(panel) = panels
                    .iter_mut()
                    .find(|p| p.title() == tab && p.unavailable(session).is_none())
                {
                    let mut cx = PanelCtx {
                        session,
                        row,
                        shared: &mut self.shared,
                        notices: &mut self.notices,
                        commands: &mut self.commands,
                    };
                    panel.ui(ui, &mut cx);
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
        self.notices.ui(&ctx);
        self.apply_commands(&ctx);
        self.remember_for_crash_report();
    }

    /// Keeps the crash report's snapshot in step with the tab, row and settings on screen.
    fn remember_for_crash_report(&self) {
        if let Ok(mut current) = crash::CURRENT.try_lock()
            && let Some(s) = current.as_mut()
        {
            s.tab.clone_from(&self.tab);
            s.row = self.browser.selected;
            if s.explain != self.shared.explain {
                s.explain = self.shared.explain.clone();
            }
        }
    }
}

impl eframe::App for LoupeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings = self.persisted();
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
        settings.explain.method = crate::explain::permutation::PERMUTATION;
        settings.tab = "Explain".into();
        let text = serde_json::to_string(&settings).unwrap();
        let back: Settings = serde_json::from_str(&text).unwrap();
        let app = LoupeApp::new(back);
        assert_eq!(app.shared.explain.seed, 7);
        assert_eq!(
            app.shared.explain.method,
            crate::explain::permutation::PERMUTATION
        );
        assert_eq!(app.tab, "Explain");
        assert_eq!(app.settings.recent[0].to_string(), "m.onnx + d.csv");
        // Settings from an older version (missing keys) still load.
        let old: Settings = serde_json::from_str(r#"{"recent": []}"#).unwrap();
        assert_eq!(old.explain.background_rows, 50);
        // The tab as an older version wrote it.
        let old: Settings = serde_json::from_str(r#"{"tab": "Global"}"#).unwrap();
        assert_eq!(old.tab, "Global");
    }
}
