//! Explaining many rows: one game per row with its own random stream (seed, row), rows in
//! parallel, so a row's result never depends on which other rows are explained with it — the
//! property that makes sharded runs merge into exactly the unsharded output.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::game::{Predict, Progress};
use super::{Attribution, Background, ExplainError, Explainer, Game, Link, row_rng};

/// One row's explanation of one output.
#[derive(Clone, Debug, PartialEq)]
pub struct RowExplanation {
    pub row: usize,
    /// Index of the explained output (class) in the model's outputs.
    pub target: usize,
    pub attribution: Attribution,
    /// Model rows evaluated for this row (all its targets together).
    pub model_calls: u64,
}

/// Explains `rows` of `x`, each for the outputs `targets_of(row)`.
#[allow(clippy::too_many_arguments)]
pub fn explain_rows(
    model: &dyn Predict,
    x: ArrayView2<f32>,
    rows: &[usize],
    targets_of: &(dyn Fn(usize) -> Vec<usize> + Sync),
    explainer: &dyn Explainer,
    background: &Background,
    link: Link,
    seed: u64,
    progress: &dyn Progress,
) -> Result<Vec<RowExplanation>, ExplainError> {
    if let Some(&bad) = rows.iter().find(|&&r| r >= x.nrows()) {
        return Err(ExplainError::Invalid(format!(
            "row {bad} is out of range: the data has {} rows",
            x.nrows()
        )));
    }
    if background.rows.ncols() != x.ncols() {
        return Err(ExplainError::Invalid(format!(
            "the background has {} features, the data {}",
            background.rows.ncols(),
            x.ncols()
        )));
    }
    let per_row = rows
        .par_iter()
        .map(|&row| {
            let targets = targets_of(row);
            let game = Game::new(
                model,
                x.row(row),
                background,
                targets.clone(),
                link,
                progress,
            );
            let attributions = explainer.explain(&game, &mut row_rng(seed, row))?;
            progress.row_done();
            let model_calls = game.model_calls();
            Ok(targets
                .into_iter()
                .zip(attributions)
                .map(|(target, attribution)| RowExplanation {
                    row,
                    target,
                    attribution,
                    model_calls,
                })
                .collect::<Vec<_>>())
        })
        .collect::<Result<Vec<_>, ExplainError>>()?;
    Ok(per_row.into_iter().flatten().collect())
}
