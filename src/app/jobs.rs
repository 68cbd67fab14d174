//! Background work for the window: a [`Job`] runs a closure on a worker thread, shows what it is
//! doing, and hands its result back to the UI thread when it is done. Dropping a job (Cancel)
//! discards its result; the UI never waits on it.

use std::sync::mpsc::{self, Receiver, TryRecvError};

/// A computation running off the UI thread.
pub struct Job<T> {
    /// What the job is doing, shown beside its spinner.
    pub label: String,
    rx: Receiver<anyhow::Result<T>>,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on a new thread; `ctx` is asked to repaint when it finishes.
    pub fn spawn(
        label: impl Into<String>,
        ctx: &egui::Context,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> Job<T> {
        let (tx, rx) = mpsc::channel();
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            // A panic in the engine is a bug, but it must not take the window with it.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                .unwrap_or_else(|_| {
                    Err(anyhow::anyhow!("internal error while working; see the log"))
                });
            let _ = tx.send(result);
            ctx.request_repaint();
        });
        Job {
            label: label.into(),
            rx,
        }
    }

    /// The result, once the job is done.
    pub fn poll(&self) -> Option<anyhow::Result<T>> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(anyhow::anyhow!("the worker stopped"))),
        }
    }
}

/// A file export: asks where to save (suggesting `name`), then writes what `bytes` makes,
/// atomically, all on a worker. The result is the path written, or `None` if the user
/// cancelled the dialog.
pub struct Export(Job<Option<std::path::PathBuf>>);

impl Export {
    pub fn spawn(
        ctx: &egui::Context,
        name: String,
        bytes: impl FnOnce() -> anyhow::Result<Vec<u8>> + Send + 'static,
    ) -> Export {
        Export(Job::spawn("Exporting…", ctx, move || {
            let ext = name.rsplit('.').next().unwrap_or_default().to_string();
            let Some(path) = rfd::FileDialog::new()
                .set_file_name(&name)
                .add_filter(ext.to_uppercase(), &[ext.as_str()])
                .save_file()
            else {
                return Ok(None);
            };
            let bytes = bytes()?;
            crate::export::atomic_write(&path, |w| w.write_all(&bytes))?;
            Ok(Some(path))
        }))
    }

    /// Once the export is over: the message to show (`Saved …`, the error, or `None` when the
    /// dialog was cancelled).
    pub fn poll(&self) -> Option<Option<String>> {
        self.0.poll().map(|done| match done {
            Ok(Some(path)) => Some(format!("Saved {}", path.display())),
            Ok(None) => None,
            Err(e) => Some(format!("Export failed: {e:#}")),
        })
    }
}

/// Polls `export`, clearing it and setting `message` when it is over.
pub fn poll_export(export: &mut Option<Export>, message: &mut Option<String>) {
    if let Some(done) = export.as_ref().and_then(Export::poll) {
        *export = None;
        if done.is_some() {
            *message = done;
        }
    }
}
