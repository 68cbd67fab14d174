//! Choosing files, handled once for every button that opens or saves one. The system's file
//! dialog runs on a worker when there is one; when none can be shown (no XDG portal and no
//! zenity — the dialog then comes back at once), the window says so and asks for the path in
//! a small window where it can be typed or pasted.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::jobs::Job;

/// What the chosen file is for.
pub enum Purpose {
    Model,
    Data,
    /// A CSV whose every row is the background.
    Background,
    OpenSession,
    SaveSession(Box<crate::saved::SavedSession>),
    Export(Export),
}

impl Purpose {
    fn title(&self) -> &'static str {
        match self {
            Purpose::Model => "Open a model (.onnx)",
            Purpose::Data => "Open data (CSV, image folder or list)",
            Purpose::Background => "Background rows (CSV)",
            Purpose::OpenSession => "Open a session (.json)",
            Purpose::SaveSession(_) => "Save the session as",
            Purpose::Export(_) => "Export as",
        }
    }

    /// The file name suggested when saving.
    fn suggested(&self) -> Option<&str> {
        match self {
            Purpose::SaveSession(_) => Some("session.loupe.json"),
            Purpose::Export(e) => Some(&e.name),
            _ => None,
        }
    }

    fn filter(&self) -> (&'static str, Vec<String>) {
        match self {
            Purpose::Model => ("ONNX model", vec!["onnx".into()]),
            Purpose::Data | Purpose::Background => {
                ("CSV data", vec!["csv".into(), "tsv".into(), "txt".into()])
            }
            Purpose::OpenSession | Purpose::SaveSession(_) => {
                ("Loupe session", vec!["json".into()])
            }
            Purpose::Export(e) => (
                "export",
                vec![e.name.rsplit('.').next().unwrap_or_default().to_string()],
            ),
        }
    }
}

/// A file to write: its suggested name and how to make its bytes (run on a worker).
pub struct Export {
    pub name: String,
    pub bytes: Box<dyn FnOnce() -> anyhow::Result<Vec<u8>> + Send>,
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Export({})", self.name)
    }
}

impl std::fmt::Debug for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title())
    }
}

/// A dialog that returns sooner than this did not open.
const NO_DIALOG: Duration = Duration::from_millis(250);

/// The path being typed when no dialog can be shown.
struct Prompt {
    purpose: Purpose,
    text: String,
    /// Why the prompt is shown.
    note: &'static str,
}

/// The file choice in progress, if any.
#[derive(Default)]
pub struct Dialogs {
    picking: Option<(Purpose, Instant, Job<Option<PathBuf>>)>,
    prompt: Option<Prompt>,
    /// Set once a dialog failed to open: ask for paths directly from then on.
    unavailable: bool,
}

/// True when dialogs are switched off (`LOUPE_NO_FILE_DIALOG=1`): paths are typed.
fn switched_off() -> bool {
    std::env::var_os("LOUPE_NO_FILE_DIALOG").is_some_and(|v| v != "0")
}

impl Dialogs {
    /// True while a file is being chosen.
    pub fn is_open(&self) -> bool {
        self.picking.is_some() || self.prompt.is_some()
    }

    /// Starts choosing a file for `purpose`.
    pub fn choose(&mut self, ctx: &egui::Context, purpose: Purpose) {
        if self.is_open() {
            return;
        }
        if self.unavailable || switched_off() {
            self.prompt(purpose, "Type or paste the path.");
            return;
        }
        let (filter, extensions) = purpose.filter();
        let suggested = purpose.suggested().map(str::to_string);
        let title = purpose.title();
        let job = Job::spawn("Choosing a file…", ctx, move || {
            let dialog = rfd::FileDialog::new()
                .set_title(title)
                .add_filter(filter, &extensions);
            Ok(match suggested {
                Some(name) => dialog.set_file_name(name).save_file(),
                None => dialog.pick_file(),
            })
        });
        self.picking = Some((purpose, Instant::now(), job));
    }

    fn prompt(&mut self, purpose: Purpose, note: &'static str) {
        let text = purpose.suggested().map(|name| {
            std::env::current_dir()
                .map(|d| d.join(name).display().to_string())
                .unwrap_or_else(|_| name.to_string())
        });
        self.prompt = Some(Prompt {
            purpose,
            text: text.unwrap_or_default(),
            note,
        });
    }

    /// Polls the dialog and draws the path prompt; returns the file chosen and what for.
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<(Purpose, PathBuf)> {
        if let Some((_, started, job)) = &self.picking
            && let Some(result) = job.poll()
        {
            let quick = started.elapsed() < NO_DIALOG;
            let (purpose, _, _) = self.picking.take()?;
            match result {
                Ok(Some(path)) => return Some((purpose, path)),
                Ok(None) if quick => {
                    self.unavailable = true;
                    self.prompt(
                        purpose,
                        "No file dialog could be shown here (no XDG desktop portal or zenity): \
                         type or paste the path.",
                    );
                }
                Ok(None) => {}
                Err(_) => {
                    self.unavailable = true;
                    self.prompt(purpose, "The file dialog failed: type or paste the path.");
                }
            }
        }
        let prompt = self.prompt.as_mut()?;
        let (mut done, mut cancel) = (false, false);
        egui::Window::new(prompt.purpose.title())
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| {
                ui.set_max_width(480.0);
                ui.add(egui::Label::new(prompt.note).wrap());
                let label = ui.label("Path");
                let edit = ui.add(
                    egui::TextEdit::singleline(&mut prompt.text)
                        .desired_width(460.0)
                        .hint_text("/path/to/file"),
                );
                let edit = edit.labelled_by(label.id);
                if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    done = true;
                }
                ui.horizontal(|ui| {
                    done |= ui
                        .add_enabled(!prompt.text.trim().is_empty(), egui::Button::new("OK"))
                        .clicked();
                    cancel = ui.button("Cancel").clicked();
                });
            });
        if cancel {
            self.prompt = None;
            return None;
        }
        if done && !prompt.text.trim().is_empty() {
            let prompt = self.prompt.take()?;
            let path = PathBuf::from(prompt.text.trim());
            return Some((prompt.purpose, path));
        }
        None
    }
}
