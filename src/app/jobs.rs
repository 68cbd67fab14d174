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
