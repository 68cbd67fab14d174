//! The score Loupe explains, read from the graph's raw output the way predictions are (see
//! [`ScoreKind`]): a class's probability (through a softmax or sigmoid when the output holds
//! logits) or a regression value; and its gradient with respect to the raw output, the seed
//! of the backward pass.

use ndarray::{ArrayD, IxDyn};

use super::tensor::Real;
use crate::model::ScoreKind;

/// How the explained score is read from the raw output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub kind: ScoreKind,
}

impl Head {
    /// For each row of `raw` (rows × columns), the score of class (or output) `target`, and
    /// the gradient of `Σ weights[r] · score[r]` with respect to `raw`.
    pub fn score<T: Real>(
        &self,
        raw: &ArrayD<T>,
        target: usize,
        weights: &[T],
    ) -> Result<(Vec<f64>, ArrayD<T>), String> {
        let rows = raw.shape().first().copied().unwrap_or(1);
        let cols = raw.len() / rows.max(1);
        let flat = raw
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((rows, cols))
            .map_err(|e| e.to_string())?;
        let mut seed = ndarray::Array2::<T>::zeros((rows, cols));
        let mut scores = Vec::with_capacity(rows);
        let classes = match self.kind {
            ScoreKind::PositiveProbability | ScoreKind::PositiveLogit => 2,
            _ => cols,
        };
        if target >= classes {
            return Err(format!(
                "class {target} is not an output of the model ({classes} outputs)"
            ));
        }
        for r in 0..rows {
            let row = flat.row(r);
            let w = weights.get(r).copied().unwrap_or(T::one());
            let sign = if target == 1 { T::one() } else { -T::one() };
            match self.kind {
                ScoreKind::Probabilities | ScoreKind::Regression => {
                    scores.push(row[target].as_f64());
                    seed[[r, target]] = w;
                }
                ScoreKind::PositiveProbability => {
                    let p = row[0];
                    scores.push(if target == 1 { p } else { T::one() - p }.as_f64());
                    seed[[r, 0]] = w * sign;
                }
                ScoreKind::PositiveLogit => {
                    let p = T::one() / (T::one() + (-row[0]).exp());
                    scores.push(if target == 1 { p } else { T::one() - p }.as_f64());
                    seed[[r, 0]] = w * sign * p * (T::one() - p);
                }
                ScoreKind::Logits => {
                    let max = row.iter().copied().fold(T::neg_infinity(), T::max);
                    let e: Vec<T> = row.iter().map(|&v| (v - max).exp()).collect();
                    let sum: T = e.iter().copied().sum();
                    let p: Vec<T> = e.iter().map(|&v| v / sum).collect();
                    scores.push(p[target].as_f64());
                    for (j, &pj) in p.iter().enumerate() {
                        let delta = if j == target { T::one() } else { T::zero() };
                        seed[[r, j]] = w * p[target] * (delta - pj);
                    }
                }
            }
        }
        let seed = seed
            .into_shape_with_order(IxDyn(raw.shape()))
            .map_err(|e| e.to_string())?;
        Ok((scores, seed))
    }
}
