//! Background work for the window. A [`Job`] runs a closure on a worker thread and hands its
//! result back to the UI thread; [`Keyed`] is the one state machine every view uses on top of
//! it: one job per key (row + settings), its progress and cancel flag, a small cache of
//! results, and a key that stopped (cancelled or failed) is not restarted until the key
//! changes. Dropping a job discards its result; the UI never waits on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::Instant;

use crate::session::SessionError;

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
    pub done: AtomicU64,
    /// Work expected, in `unit`s (0 when unknown).
    pub total: u64,
    pub cancel: AtomicBool,
    unit: Unit,
    started: Instant,
    ctx: egui::Context,
}

impl JobProgress {
    pub fn new(ctx: &egui::Context, total: u64, unit: Unit) -> Arc<JobProgress> {
        Arc::new(JobProgress {
            done: Default::default(),
            total,
            cancel: Default::default(),
            unit,
            started: Instant::now(),
            ctx: ctx.clone(),
        })
    }

    /// Asks the worker to stop.
    pub fn stop(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Work done so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Seconds since the job started.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn count(&self, n: u64, unit: Unit) {
        if self.unit == unit {
            self.done.fetch_add(n, Ordering::Relaxed);
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
        self.cancel.load(Ordering::Relaxed)
    }
}

struct Running<T> {
    key: String,
    job: Job<T>,
    progress: Arc<JobProgress>,
}

impl<T> Drop for Keyed<T> {
    /// A view that goes away stops its work.
    fn drop(&mut self) {
        if let Some(r) = &self.running {
            r.progress.stop();
        }
    }
}

/// Why a key stopped without a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stopped {
    Cancelled,
    /// Failed; the reason was handed to the caller of [`Keyed::poll`].
    Failed,
}

/// One job at a time per view, keyed by what it computes, with a cache of finished results.
pub struct Keyed<T> {
    label: &'static str,
    capacity: usize,
    running: Option<Running<T>>,
    cache: Vec<(String, Arc<T>)>,
    stopped: Option<(String, Stopped)>,
}

impl<T: Send + Sync + 'static> Keyed<T> {
    /// A job slot whose worker is labelled `label`, keeping `capacity` results.
    pub fn new(label: &'static str, capacity: usize) -> Self {
        Keyed {
            label,
            capacity: capacity.max(1),
            running: None,
            cache: Vec::new(),
            stopped: None,
        }
    }

    /// Takes a finished result into the cache; returns the key and the failure's reason
    /// (worded for the window) when the job failed — a cancellation is not a failure.
    pub fn poll(&mut self) -> Option<(String, String)> {
        let done = self.running.as_ref()?.job.poll()?;
        let running = self.running.take()?;
        match done {
            Ok(value) => {
                self.cache.retain(|(k, _)| *k != running.key);
                self.cache.push((running.key, Arc::new(value)));
                if self.cache.len() > self.capacity {
                    self.cache.remove(0);
                }
                None
            }
            Err(e) if SessionError::is_cancelled(&e) => {
                self.stopped = Some((running.key, Stopped::Cancelled));
                None
            }
            Err(e) => {
                self.stopped = Some((running.key.clone(), Stopped::Failed));
                Some((
                    running.key,
                    SessionError::render(&e, super::notices::word_setting),
                ))
            }
        }
    }

    /// The cached result for `key`.
    pub fn get(&self, key: &str) -> Option<Arc<T>> {
        self.cache
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// The most recent result whose key satisfies `pick`.
    pub fn latest_where(&self, pick: impl Fn(&T) -> bool) -> Option<Arc<T>> {
        self.cache
            .iter()
            .rev()
            .find(|(_, v)| pick(v))
            .map(|(_, v)| v.clone())
    }

    /// The most recent result.
    pub fn latest(&self) -> Option<&Arc<T>> {
        self.cache.last().map(|(_, v)| v)
    }

    /// Why `key` stopped without a result, if it did.
    pub fn stopped(&self, key: &str) -> Option<&Stopped> {
        self.stopped
            .as_ref()
            .filter(|(k, _)| k == key)
            .map(|(_, s)| s)
    }

    /// Lets a stopped key run again.
    pub fn retry(&mut self) {
        self.stopped = None;
    }

    /// True while a job runs.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The running job's progress.
    pub fn progress(&self) -> Option<&Arc<JobProgress>> {
        self.running.as_ref().map(|r| &r.progress)
    }

    /// Stops the running job; its key is not restarted until it changes.
    pub fn cancel(&mut self) {
        if let Some(r) = self.running.take() {
            r.progress.stop();
            self.stopped = Some((r.key, Stopped::Cancelled));
        }
    }

    /// Makes sure `key` is computed: a job for another key is stopped, and unless `key` is
    /// cached, running or stopped, `work` starts on a worker with a fresh progress of `total`
    /// `unit`s.
    pub fn ensure(
        &mut self,
        ctx: &egui::Context,
        key: &str,
        total: u64,
        unit: Unit,
        work: impl FnOnce(Arc<JobProgress>) -> anyhow::Result<T> + Send + 'static,
    ) {
        if self.running.as_ref().is_some_and(|r| r.key != key)
            && let Some(r) = self.running.take()
        {
            r.progress.stop();
        }
        if self.running.is_some() || self.get(key).is_some() || self.stopped(key).is_some() {
            return;
        }
        let progress = JobProgress::new(ctx, total, unit);
        let worker = progress.clone();
        self.running = Some(Running {
            key: key.to_string(),
            job: Job::spawn(self.label, ctx, move || work(worker)),
            progress,
        });
    }

    /// Forgets every result and stops the running job (another model or dataset was opened).
    pub fn clear(&mut self) {
        if let Some(r) = self.running.take() {
            r.progress.stop();
        }
        self.cache.clear();
        self.stopped = None;
    }
}
