//! Which rows the browser shows, in which order: the filters and the sort over every row. On
//! data of [`WORKER_ROWS`] rows or more the work runs on a worker, from copies of the columns it
//! reads (a few milliseconds of copying on the window's thread instead of a sort of a million
//! rows), and the browser keeps showing the previous rows until it is done.

use std::sync::{Arc, Mutex};

use crate::analysis::Predictions;
use crate::data::Dataset;

use super::browser::{Outcome, SortKey};
use super::row_filter::Condition;

/// From this many rows, filtering and sorting run on a worker.
pub const WORKER_ROWS: usize = 100_000;

/// What the visible rows are computed from, owned so a worker can take it.
pub struct RowQuery {
    pub rows: usize,
    pub subset: Option<Vec<usize>>,
    pub outcome: Outcome,
    pub predicted_class: Option<usize>,
    pub confidence_range: (f32, f32),
    pub predicted: Vec<usize>,
    pub confidence: Vec<f32>,
    pub truth: Option<Vec<usize>>,
    /// Each condition with the column it reads.
    pub filter: Vec<(Condition, Vec<f32>)>,
    pub sort: SortKey,
    pub descending: bool,
}

impl RowQuery {
    /// Copies what the query reads from `data` and `predictions`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        data: &Dataset,
        predictions: &Predictions,
        subset: Option<&[usize]>,
        outcome: Outcome,
        predicted_class: Option<usize>,
        confidence_range: (f32, f32),
        filter: &[Condition],
        (sort, descending): (SortKey, bool),
    ) -> Self {
        RowQuery {
            rows: predictions.len(),
            subset: subset.map(<[usize]>::to_vec),
            outcome,
            predicted_class,
            confidence_range,
            predicted: predictions.predicted.clone(),
            confidence: predictions.confidence.clone(),
            truth: data.classes().map(<[usize]>::to_vec),
            filter: filter
                .iter()
                .map(|c| (c.clone(), data.x.column(c.feature).to_vec()))
                .collect(),
            sort,
            descending,
        }
    }

    /// The rows passing every filter, in display order (equal keys in row order).
    pub fn run(&self) -> Vec<usize> {
        let truth = self.truth.as_deref();
        let correct = |r: usize| Some(truth?.get(r)? == self.predicted.get(r)?);
        let (lo, hi) = self.confidence_range;
        let mut rows: Vec<usize> = (0..self.rows)
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
                    .is_none_or(|c| self.predicted.get(r) == Some(&c))
            })
            .filter(|&r| {
                self.confidence
                    .get(r)
                    .is_none_or(|&p| p.is_nan() || (lo..=hi).contains(&p))
            })
            .filter(|&r| self.filter.iter().all(|(c, column)| c.holds(column[r])))
            .collect();
        let key = |r: usize| -> (usize, f32) {
            match self.sort {
                SortKey::Row => (r, 0.0),
                SortKey::True => (truth.and_then(|t| t.get(r).copied()).unwrap_or(0), 0.0),
                SortKey::Predicted => (self.predicted.get(r).copied().unwrap_or(0), 0.0),
                SortKey::Confidence => (0, self.confidence.get(r).copied().unwrap_or(0.0)),
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
