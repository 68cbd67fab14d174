//! Which rows the browser shows, in which order: the filters and the sort over every row. On
//! data of [`WORKER_ROWS`] rows or more the work runs on a worker, which shares the session's
//! data and predictions (nothing is copied on the window's thread: asking for a sort of a
//! million rows costs the frame a thread spawn), and the browser keeps showing the previous
//! rows until it is done.

use std::sync::{Arc, Mutex};

use crate::analysis::Predictions;
use crate::data::Dataset;

use super::browser::{Outcome, SortKey};
use super::row_filter::Condition;

/// From this many rows, filtering and sorting run on a worker.
pub const WORKER_ROWS: usize = 100_000;

/// What the visible rows are computed from, owned so a worker can take it: the data and
/// predictions are shared, not copied.
pub struct RowQuery {
    pub data: Arc<Dataset>,
    pub predictions: Arc<Predictions>,
    pub subset: Option<Vec<usize>>,
    pub outcome: Outcome,
    pub predicted_class: Option<usize>,
    pub confidence_range: (f32, f32),
    /// Conditions on feature values, all of which must hold.
    pub filter: Vec<Condition>,
    pub sort: SortKey,
    pub descending: bool,
}

impl RowQuery {
    /// The query over `data` and `predictions` (shared).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        data: &Arc<Dataset>,
        predictions: &Arc<Predictions>,
        subset: Option<&[usize]>,
        outcome: Outcome,
        predicted_class: Option<usize>,
        confidence_range: (f32, f32),
        filter: &[Condition],
        (sort, descending): (SortKey, bool),
    ) -> Self {
        RowQuery {
            data: Arc::clone(data),
            predictions: Arc::clone(predictions),
            subset: subset.map(<[usize]>::to_vec),
            outcome,
            predicted_class,
            confidence_range,
            filter: filter.to_vec(),
            sort,
            descending,
        }
    }

    /// The rows passing every filter, in display order (equal keys in row order).
    pub fn run(&self) -> Vec<usize> {
        let truth = self.data.classes();
        let predicted = &self.predictions.predicted;
        let confidence = &self.predictions.confidence;
        let x = &self.data.x;
        let correct = |r: usize| Some(truth?.get(r)? == predicted.get(r)?);
        let (lo, hi) = self.confidence_range;
        let mut rows: Vec<usize> = (0..self.predictions.len())
            .filter(|&r| {
                self.subset
                    .as_ref()
                    .is_none_or(|s| s.binary_search(&r).is_ok())
            })
            .filter(|&r| match self.outcome {
                Outcome::All => true,
                Outcome::Errors => correct(r) == Some(false),
                Outcome::Correct => correct(r) == Some(true),
            })
            .filter(|&r| {
                self.predicted_class
                    .is_none_or(|c| predicted.get(r) == Some(&c))
            })
            .filter(|&r| {
                confidence
                    .get(r)
                    .is_none_or(|&p| p.is_nan() || (lo..=hi).contains(&p))
            })
            .filter(|&r| {
                self.filter
                    .iter()
                    .all(|c| x.get((r, c.feature)).is_some_and(|&v| c.holds(v)))
            })
            .collect();
        let key = |r: usize| -> (usize, f32) {
            match self.sort {
                SortKey::Row => (r, 0.0),
                SortKey::True => (truth.and_then(|t| t.get(r).copied()).unwrap_or(0), 0.0),
                SortKey::Predicted => (predicted.get(r).copied().unwrap_or(0), 0.0),
                SortKey::Confidence => (0, confidence.get(r).copied().unwrap_or(0.0)),
            }
        };
        // On the key, then by row; the keys are read once and sorted on the workers. Rows are
        // already in row order.
        if self.sort != SortKey::Row {
            use rayon::slice::ParallelSliceMut;
            let mut keyed: Vec<(usize, f32, usize)> = rows
                .iter()
                .map(|&r| {
                    let (a, b) = key(r);
                    (a, b, r)
                })
                .collect();
            keyed.par_sort_unstable_by(|x, y| {
                x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)).then(x.2.cmp(&y.2))
            });
            rows = keyed.into_iter().map(|k| k.2).collect();
        }
        if self.descending {
            rows.reverse();
        }
        rows
    }
}

/// A query running on a worker; its rows once done.
#[derive(Clone, Default)]
pub struct Pending(Option<Arc<Mutex<Option<Vec<usize>>>>>);

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "pending" } else { "idle" })
    }
}

impl Pending {
    /// Runs `query` on a worker (a newer query replaces an older one still running).
    pub fn start(&mut self, query: RowQuery) {
        let slot = Arc::new(Mutex::new(None));
        let out = slot.clone();
        std::thread::spawn(move || {
            let rows = query.run();
            if let Ok(mut o) = out.lock() {
                *o = Some(rows);
            }
        });
        self.0 = Some(slot);
    }

    /// True while a query runs.
    pub fn is_running(&self) -> bool {
        self.0.is_some()
    }

    /// The rows of the finished query, once.
    pub fn take(&mut self) -> Option<Vec<usize>> {
        let rows = self.0.as_ref()?.lock().ok()?.take()?;
        self.0 = None;
        Some(rows)
    }
}
