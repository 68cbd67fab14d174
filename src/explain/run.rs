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
    /// When set, the explained output is `target`'s minus this class's ("why `target` and
    /// not `versus`?").
    pub versus: Option<usize>,
    pub attribution: Attribution,
    /// Model rows evaluated for this row (all its targets together).
    pub model_calls: u64,
}

impl RowExplanation {
    /// "Why `a` and not `b`": the explanation of output `a` minus that of `b`, both of the same
    /// row. Shapley values are linear in the explained output, so this is exactly the
    /// attribution of `g(a) − g(b)`, and it is additive when both are.
    pub fn versus(a: &RowExplanation, b: &RowExplanation) -> RowExplanation {
        let (x, y) = (&a.attribution, &b.attribution);
        RowExplanation {
            row: a.row,
            target: a.target,
            versus: Some(b.target),
            attribution: Attribution {
                base_value: x.base_value - y.base_value,
                output_value: x.output_value - y.output_value,
                values: x.values.iter().zip(&y.values).map(|(p, q)| p - q).collect(),
                // The two estimates share their coalitions, so this bound is conservative.
                std_err: match (&x.std_err, &y.std_err) {
                    (Some(p), Some(q)) => Some(p.iter().zip(q).map(|(p, q)| p.hypot(*q)).collect()),
                    _ => None,
                },
            },
            model_calls: a.model_calls.max(b.model_calls),
        }
    }
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
    let game = RowsGame {
        model,
        background,
        link,
        players: None,
    };
    explain_rows_of(&game, x, rows, targets_of, explainer, seed, progress)
}

/// What every row's game shares: the model, the background, the output space and the players.
pub struct RowsGame<'a> {
    pub model: &'a dyn Predict,
    pub background: &'a Background,
    pub link: Link,
    /// Groups of columns that play as one (`None`: each column alone).
    pub players: Option<&'a super::Players>,
}

/// Explains `rows` of `x` in the games `game` describes, each for the outputs `targets_of(row)`.
pub fn explain_rows_of(
    game: &RowsGame,
    x: ArrayView2<f32>,
    rows: &[usize],
    targets_of: &(dyn Fn(usize) -> Vec<usize> + Sync),
    explainer: &dyn Explainer,
    seed: u64,
    progress: &dyn Progress,
) -> Result<Vec<RowExplanation>, ExplainError> {
    let RowsGame {
        model,
        background,
        link,
        players,
    } = *game;
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
    if let Some(p) = players
        && p.n_columns() != x.ncols()
    {
        return Err(ExplainError::Invalid(format!(
            "the groups cover {} columns, the data have {}",
            p.n_columns(),
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
            )
            .with_players(players);
            let attributions = explainer.explain(&game, &mut row_rng(seed, row))?;
            progress.row_done();
            let model_calls = game.model_calls();
            Ok(targets
                .into_iter()
                .zip(attributions)
                .map(|(target, attribution)| RowExplanation {
                    row,
                    target,
                    versus: None,
                    attribution,
                    model_calls,
                })
                .collect::<Vec<_>>())
        })
        .collect::<Result<Vec<_>, ExplainError>>()?;
    Ok(per_row.into_iter().flatten().collect())
}
