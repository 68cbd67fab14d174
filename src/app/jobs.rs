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

/// What a job's progress counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Model rows (or images) evaluated.
    ModelRows,
    /// Rows fully explained.
    Rows,
}

/// Work done and the cancel flag of a running job, shared with its worker; the window is
/// asked to repaint as work is done.
pub struct JobProgress {
    pub done: std::sync::atomic::AtomicU64,
    /// Work expected, in `unit`s (0 when unknown).
    pub total: u64,
    pub cancel: std::sync::atomic::AtomicBool,
    unit: Unit,
    ctx: egui::Context,
}

impl JobProgress {
    pub fn new(ctx: &egui::Context, total: u64, unit: Unit) -> std::sync::Arc<JobProgress> {
        std::sync::Arc::new(JobProgress {
            done: Default::default(),
            total,
            cancel: Default::default(),
            unit,
            ctx: ctx.clone(),
        })
    }

    /// Asks the worker to stop.
    pub fn stop(&self) {
        self.cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Work done so far.
    pub fn done(&self) -> u64 {
        self.done.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self, n: u64, unit: Unit) {
        if self.unit == unit {
            self.done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            self.ctx.request_repaint();
        }
    }
}

impl crate::explain::Progress for JobProgress {
    fn advance(&self, n: u64) {
        self.count(n, Unit::ModelRows);
    }
    fn row_done(&self) {
        self.count(1, Unit::Rows);
    }
    fn is_cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::Relaxed)
    }
}
