//! Where a classifier fails, on one population of rows: calibration, the most confident
//! mistakes and the error slices — what the Failure modes tab shows and `loupe predict` prints.

use crate::data::{Dataset, Split};

use super::Predictions;
use super::calibration::Reliability;
use super::slices::{Slice, SliceSearch, find_slices};

/// Bins of the reliability diagrams.
pub const RELIABILITY_BINS: usize = 10;

/// Which rows an analysis covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Population {
    /// The test split when the data has one, else every row.
    #[default]
    Test,
    All,
}

impl Population {
    /// The rows of `data` in this population, and their name.
    pub fn rows(self, data: &Dataset) -> (Vec<usize>, &'static str) {
        if self == Population::Test
            && let Some(split) = &data.split
        {
            let test: Vec<usize> = (0..split.len())
                .filter(|&r| split[r] == Split::Test)
                .collect();
            if !test.is_empty() {
                return (test, "test split");
            }
        }
        ((0..data.len()).collect(), "all rows")
    }
}

/// Failure analysis of one population.
#[derive(Clone, Debug)]
pub struct Failures {
    pub rows: Vec<usize>,
    /// `test split` or `all rows`.
    pub population: &'static str,
    /// Per data row: the model is wrong on it.
    pub wrong: Vec<bool>,
    /// Top-label reliability (confidence of the predicted class against being right).
    pub reliability: Reliability,
    /// One-vs-rest reliability of each class.
    pub per_class: Vec<Reliability>,
    /// Mistakes, most confident first.
    pub confident_mistakes: Vec<usize>,
    pub slices: Vec<Slice>,
}

impl Failures {
    /// Analyses `population` of `data`; `None` without class labels.
    pub fn compute(
        data: &Dataset,
        predictions: &Predictions,
        population: Population,
    ) -> Option<Failures> {
        let truth = data.classes()?;
        if predictions.predicted.len() != truth.len() {
            return None;
        }
        let (rows, name) = population.rows(data);
        let wrong: Vec<bool> = truth
            .iter()
            .zip(&predictions.predicted)
            .map(|(t, p)| t != p)
            .collect();
        let correct: Vec<bool> = wrong.iter().map(|w| !w).collect();
        let reliability =
            Reliability::top_label(&predictions.confidence, &correct, &rows, RELIABILITY_BINS);
        let per_class = (0..predictions.outputs.ncols())
            .map(|c| {
                Reliability::for_class(
                    predictions.outputs.view(),
                    truth,
                    c,
                    &rows,
                    RELIABILITY_BINS,
                )
            })
            .collect();
        let mut confident_mistakes: Vec<usize> =
            rows.iter().copied().filter(|&r| wrong[r]).collect();
        confident_mistakes.sort_by(|&a, &b| {
            predictions.confidence[b]
                .total_cmp(&predictions.confidence[a])
                .then(a.cmp(&b))
        });
        let slices = find_slices(
            data.x.view(),
            &wrong,
            &rows,
            SliceSearch::for_rows(rows.len()),
            &data.categories,
        );
        Some(Failures {
            rows,
            population: name,
            wrong,
            reliability,
            per_class,
            confident_mistakes,
            slices,
        })
    }

    /// The slice table as CSV: rank, conditions, rows, errors, error rate, share of errors.
    pub fn slices_csv(
        &self,
        feature_names: &[String],
        categories: &[Option<crate::data::Categories>],
    ) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record([
            "rank",
            "slice",
            "rows",
            "errors",
            "error_rate",
            "share_of_errors",
        ]);
        for (i, s) in self.slices.iter().enumerate() {
            let _ = w.write_record([
                (i + 1).to_string(),
                s.describe(feature_names, categories),
                s.rows.len().to_string(),
                s.errors.to_string(),
                format!("{:.4}", s.error_rate),
                format!("{:.4}", s.share_of_errors),
            ]);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}
