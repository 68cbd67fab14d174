//! What the panels ask for, applied between frames: opening files and sessions, choosing
//! files (one path for every dialog), exports, selections; and installing a loaded session,
//! which is where every panel validates or resets what belonged to the previous model.

use std::path::PathBuf;

use super::dialogs::{Export, Purpose};
use super::jobs::Job;
use super::{LoupeApp, MAX_RECENT, Recent, Subset, crash};
use crate::session::{Origin, Session, Source};

/// What a panel asks the app to do.
#[derive(Debug)]
pub enum Command {
    /// Choose a file for this purpose (a dialog, or a typed path).
    Choose(Purpose),
    OpenSample,
    OpenRecent(Recent),
    Open(Source),
    CancelJob,
    SaveSession,
    /// Write a file (asks where first).
    Export(Export),
    /// Select a row in the browser (clearing filters that hide it), then show a tab.
    Select(usize, Option<&'static str>),
    /// Show only these rows in the browser.
    ShowRows(Subset),
    /// Use every row of this CSV as the background (`None`: the reference rows again).
    SetBackground(Option<PathBuf>),
}

/// A session file read or written.
pub enum SessionDone {
    Opened(Box<crate::saved::SavedSession>, Source, Vec<String>),
    Saved(PathBuf),
}

impl LoupeApp {
    pub(super) fn apply_commands(&mut self, ctx: &egui::Context) {
        for command in std::mem::take(&mut self.commands) {
            match command {
                Command::Choose(purpose) => self.dialogs.choose(ctx, purpose),
                Command::OpenSample => self.open(ctx, Source::sample()),
                Command::OpenRecent(r) => self.open(ctx, Source::files(r.model, r.data, None)),
                Command::Open(source) => self.open(ctx, source),
                Command::CancelJob => self.loading = None,
                Command::SaveSession => {
                    if let Some(saved) = self.saved_session() {
                        self.dialogs
                            .choose(ctx, Purpose::SaveSession(Box::new(saved)));
                    }
                }
                Command::Export(export) => self.dialogs.choose(ctx, Purpose::Export(export)),
                Command::Select(row, tab) => {
                    if let Some(session) = &self.session
                        && let (Some(d), Some(p)) = (&session.data, &session.predictions)
                    {
                        self.browser.select(row, d, p);
                    }
                    if let Some(tab) = tab {
                        self.tab = tab.to_string();
                    }
                }
                Command::ShowRows(subset) => {
                    if let Some(session) = &self.session
                        && let (Some(d), Some(p)) = (&session.data, &session.predictions)
                    {
                        self.browser.show_subset(subset, d, p);
                    }
                }
                Command::SetBackground(None) => self.shared.background_file = None,
                Command::SetBackground(Some(path)) => self.chosen(ctx, Purpose::Background, path),
            }
        }
    }

    /// A file was chosen for `purpose`.
    pub(super) fn chosen(&mut self, ctx: &egui::Context, purpose: Purpose, path: PathBuf) {
        match purpose {
            Purpose::Model => {
                if let Some(source) = self.source_with(Some(path), None) {
                    self.open(ctx, source);
                }
            }
            Purpose::Data => {
                if let Some(source) = self.source_with(None, Some(path)) {
                    self.open(ctx, source);
                }
            }
            Purpose::Background => {
                let Some(session) = &self.session else {
                    return;
                };
                let model = session.model.clone();
                self.background_job =
                    Some(Job::spawn("Reading the background…", ctx, move || {
                        crate::session::load_data(&model, &Origin::File(path), None)
                    }));
            }
            Purpose::OpenSession => {
                self.session_job = Some(Job::spawn("Opening a session…", ctx, move || {
                    let (saved, source, warnings) = crate::saved::SavedSession::load(&path)?;
                    Ok(SessionDone::Opened(Box::new(saved), source, warnings))
                }));
            }
            Purpose::SaveSession(saved) => {
                self.session_job = Some(Job::spawn("Saving the session…", ctx, move || {
                    saved.save(&path)?;
                    Ok(SessionDone::Saved(path))
                }));
            }
            Purpose::Export(export) => {
                self.exports.push(Job::spawn("Exporting…", ctx, move || {
                    let bytes = (export.bytes)()?;
                    crate::export::atomic_write(&path, |w| w.write_all(&bytes))?;
                    Ok(path)
                }));
            }
        }
    }

    pub(super) fn poll_jobs(&mut self) {
        if let Some((_, job)) = &self.loading
            && let Some(result) = job.poll()
        {
            let Some((source, _)) = self.loading.take() else {
                return;
            };
            match result {
                Ok((session, warning)) => self.install(source, session, warning),
                Err(e) => self.notices.error("files", "", format!("{e:#}")),
            }
        }
        if let Some(job) = &self.session_job
            && let Some(result) = job.poll()
        {
            self.session_job = None;
            match result {
                Ok(SessionDone::Opened(saved, source, warnings)) => {
                    self.commands.push(Command::Open(source));
                    self.shared.explain = saved.explain.clone();
                    if !warnings.is_empty() {
                        self.notices.error("files", "", warnings.join("; "));
                    }
                    self.pending = Some(*saved);
                }
                Ok(SessionDone::Saved(path)) => self
                    .notices
                    .info("export", format!("Saved the session to {}", path.display())),
                Err(e) => self.notices.error("files", "", format!("{e:#}")),
            }
        }
        if let Some(job) = &self.background_job
            && let Some(result) = job.poll()
        {
            self.background_job = None;
            match result {
                Ok(data) => self.shared.background_file = Some(std::sync::Arc::new(data)),
                Err(e) => {
                    self.notices
                        .error("files", "", format!("Cannot use that background: {e:#}"))
                }
            }
        }
        let mut i = 0;
        while i < self.exports.len() {
            match self.exports[i].poll() {
                Some(done) => {
                    self.exports.remove(i);
                    match done {
                        Ok(path) => self
                            .notices
                            .info("export", format!("Saved {}", path.display())),
                        Err(e) => self
                            .notices
                            .error("export", "", format!("Export failed: {e:#}")),
                    }
                }
                None => i += 1,
            }
        }
    }

    /// The open source with a new model and/or data file; `None` if nothing changes.
    pub(super) fn source_with(
        &mut self,
        model: Option<PathBuf>,
        data: Option<PathBuf>,
    ) -> Option<Source> {
        if model.is_none() && data.is_none() {
            return None;
        }
        let current = self.source.clone();
        let model = match (model, &current) {
            (Some(m), _) => Origin::File(m),
            (None, Some(s)) => s.model.clone(),
            (None, None) => {
                self.notices
                    .error("files", "", "open a model first, then its data");
                return None;
            }
        };
        let data = data
            .map(Origin::File)
            .or_else(|| current.as_ref().and_then(|s| s.data.clone()));
        let label = current.and_then(|s| s.label);
        Some(Source { model, data, label })
    }

    /// Shows `session`: every panel is told, so that nothing that belonged to the previous
    /// model (class indices, methods, results) survives.
    pub(super) fn install(&mut self, source: Source, session: Session, warning: Option<String>) {
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
        self.notices.clear_all();
        if let Some(warning) = warning {
            self.notices.error("files", "", warning);
        }
        // What Loupe decided about the files (a label column found by its values, labels
        // mapped to classes, scores read as probabilities), said once.
        let data_notes = session.data.iter().flat_map(|d| d.notes.iter());
        for note in session.model.notes().iter().chain(data_notes) {
            self.notices.info("files", note.clone());
        }
        self.shared.background_file = None;
        // Groups belong to a model: the card's, until the user changes them.
        self.shared.explain.groups = crate::explain::Group::of_card(session.model.card());
        if let Some(note) = self.shared.explain.fit_to(&session.model) {
            self.notices
                .info("settings", format!("For {}: {note}.", session.model.name()));
        }
        for panel in self.panels.all() {
            panel.on_session(&session, &mut self.notices);
        }
        self.browser.on_session(&session);
        if let Some(saved) = self.pending.take() {
            if !saved.tab.is_empty() {
                self.tab = super::tab_title(&saved.tab);
            }
            if let (Some(row), Some(d), Some(p)) =
                (saved.selected_row, &session.data, &session.predictions)
                && row < d.len()
            {
                self.browser.select(row, d, p);
            }
        }
        self.source = Some(source);
        self.session = Some(session);
        if let (Ok(mut current), Some(source)) = (crash::CURRENT.lock(), &self.source) {
            *current = Some(crash::Snapshot {
                source: source.clone(),
                explain: self.shared.explain.clone(),
                tab: self.tab.clone(),
                row: self.browser.selected,
            });
        }
    }
}
