//! Exact Shapley values by enumerating all 2^M coalitions: the ground truth the sampled methods
//! are tested against. Refused above [`MAX_FEATURES`] features.

use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

use super::{Attribution, ExplainError, Explainer, Game, shapley_weight};

/// Largest number of features enumerated (2^20 coalitions).
pub const MAX_FEATURES: usize = 20;
/// Coalitions evaluated per call of the game, bounding memory.
const MASKS_PER_CALL: usize = 1 << 14;

/// Enumerates every coalition.
pub struct Exact;

impl Explainer for Exact {
    fn name(&self) -> &'static str {
        "exact"
    }

    fn explain(
        &self,
        game: &Game,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Attribution>, ExplainError> {
        let m = game.n_features();
        if m > MAX_FEATURES {
            return Err(ExplainError::Invalid(format!(
                "exact enumeration takes at most {MAX_FEATURES} features (2^{MAX_FEATURES} coalitions), \
                 this model has {m}; use --method kernel or permutation"
            )));
        }
        let n = 1usize << m;
        // v[S] for every coalition S, as a bitmask (bit j set: feature j from the row).
        let mut v = Array2::<f64>::zeros((n, game.n_targets()));
        for start in (0..n).step_by(MASKS_PER_CALL) {
            let end = (start + MASKS_PER_CALL).min(n);
            let masks = Array2::from_shape_fn((end - start, m), |(i, j)| (start + i) >> j & 1 == 1);
            v.slice_mut(ndarray::s![start..end, ..])
                .assign(&game.values(masks.view())?);
        }
        let weights: Vec<f64> = (0..m).map(|s| shapley_weight(m, s)).collect();
        Ok((0..game.n_targets())
            .map(|t| {
                let values = (0..m)
                    .map(|i| {
                        let bit = 1usize << i;
                        (0..n)
                            .filter(|s| s & bit == 0)
                            .map(|s| {
                                weights[s.count_ones() as usize] * (v[[s | bit, t]] - v[[s, t]])
                            })
                            .sum()
                    })
                    .collect();
                Attribution {
                    base_value: v[[0, t]],
                    output_value: v[[n - 1, t]],
                    values,
                    std_err: None,
                }
            })
            .collect())
    }
}
