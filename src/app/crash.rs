//! The crash report: on a panic on the window's thread, the open session is saved (to reopen
//! on the next start) and a report is written beside it, in the cache folder, before the
//! process ends. Workers' panics are caught by their jobs and shown as errors instead.

use std::path::PathBuf;

use crate::session::Source;

/// What is open, as last known, for the crash report (files are hashed only when it is written).
pub(super) struct Snapshot {
    pub source: Source,
    pub explain: crate::explain::ExplainSettings,
    pub tab: String,
    pub row: Option<usize>,
}

pub(super) static CURRENT: std::sync::Mutex<Option<Snapshot>> = std::sync::Mutex::new(None);

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
        let Some(dir) = crate::session::dataset::cache_dir() else {
            return;
        };
        let _ = std::fs::create_dir_all(&dir);
        if let (Ok(current), Some(path)) = (CURRENT.try_lock(), last_session_path())
            && let Some(s) = current.as_ref()
            && let Ok(saved) =
                crate::saved::SavedSession::of(&s.source, &s.explain, &s.tab, s.row, None)
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
    Some(crate::session::dataset::cache_dir()?.join("last_session.json"))
}
