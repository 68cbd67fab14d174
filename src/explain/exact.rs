//! Exact Shapley values by enumerating all 2^M coalitions: the ground truth the sampled methods
//! are tested against. Refused above [`MAX_FEATURES`] features.

use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

use super::registry::{Fit, Kind, Method, MethodSpec, ParamValues, TabularBuild};
use super::{Attribution, ExplainError, Explainer, Game, Setting, shapley_weight};

/// The registry's handle on exact enumeration.
pub const EXACT: Method = Method::new(&Spec);

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "exact"
    }
    fn summary(&self) -> &'static str {
        "every coalition enumerated: exact Shapley values (up to 20 features)"
    }
    fn kind(&self) -> Kind {
        Kind::Tabular
    }
    fn applies(&self, fit: &Fit) -> Result<(), String> {
        if fit.images {
            return Err("explains rows of features; these data are images".into());
        }
        too_many(fit.players)
    }
    fn cost(&self, fit: &Fit, _params: &ParamValues, _budget: usize, background: usize) -> u64 {
        ((1u64 << fit.players.min(40)) + 2) * background as u64
    }
    fn tabular(&self, _build: &TabularBuild) -> Result<Box<dyn Explainer>, ExplainError> {
        Ok(Box::new(Exact))
    }
}

/// Why `m` features are too many to enumerate, if they are.
fn too_many(m: usize) -> Result<(), String> {
    if m > MAX_FEATURES {
        return Err(format!(
            "enumerates at most {MAX_FEATURES} features (2^{MAX_FEATURES} coalitions), this \
             model has {m}; kernel or permutation sample instead"
        ));
    }
    Ok(())
}

/// Largest number of features enumerated (2^20 coalitions).
pub const MAX_FEATURES: usize = 20;
/// Coalitions evaluated per call of the game, bounding memory.
const MASKS_PER_CALL: usize = 1 << 14;

/// Enumerates every coalition.
pub struct Exact;

impl Explainer for Exact {
    fn explain(
        &self,
        game: &Game,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Attribution>, ExplainError> {
        let m = game.n_features();
        too_many(m).map_err(|why| ExplainError::setting(Setting::Method, "exact", why))?;
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
