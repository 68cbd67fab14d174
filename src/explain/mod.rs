//! Tabular attributions: how much each feature pushed the model's output for one row, against a
//! background of reference rows (interventional Shapley values, as shap's Independent masker
//! defines them).
//!
//! - [`game`]: the coalition game every method plays — `v(S)` is the mean output over the
//!   background with the features in `S` taken from the row; all model calls are batched here.
//! - [`background`]: choosing and summarising the reference rows.
//! - One file per method behind the [`Explainer`] trait: [`exact`], [`kernel`], [`permutation`],
//!   and [`tree`] (exact TreeSHAP on a tree ensemble, no model calls).
//! - [`run`]: explaining many rows with per-row seeds, in parallel.

pub mod background;
pub mod exact;
pub mod game;
pub mod image;
pub mod kernel;
pub mod permutation;
pub mod run;
pub mod settings;
pub mod tree;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

pub use background::{Background, BackgroundMethod};
pub use game::{Game, Link, NoProgress, Predict, Progress};
pub use settings::{ExplainSettings, Targets};
pub use tree::{TreeMode, TreeShap};

/// One row's attribution for one explained output.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribution {
    /// E[g] over the background, in the explained output's space.
    pub base_value: f64,
    /// g(x) for the row.
    pub output_value: f64,
    /// One value per feature; they sum to `output_value - base_value`.
    pub values: Vec<f64>,
    /// Standard error of each value, for sampled methods.
    pub std_err: Option<Vec<f64>>,
}

/// A method that explains one row: given the game, one attribution per explained output.
pub trait Explainer: Send + Sync {
    /// The name written in outputs (`exact`, `kernel`, `permutation`).
    fn name(&self) -> &'static str;

    /// Explains the game's row for each of its outputs. `rng` is this row's own stream.
    fn explain(&self, game: &Game, rng: &mut ChaCha8Rng) -> Result<Vec<Attribution>, ExplainError>;
}

/// Why an explanation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("{0}")]
    Model(#[from] crate::model::ModelError),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Invalid(String),
}

/// The method the user asked for; `Auto` picks TreeSHAP for a tree ensemble explained in its
/// margin, else exact for up to 12 features, else KernelSHAP.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    #[default]
    Auto,
    Exact,
    Kernel,
    Permutation,
    Tree,
    /// Image methods (saliency maps).
    Occlusion,
    Rise,
    Superpixel,
    Scorecam,
}

/// Features up to which `auto` enumerates every coalition.
pub const AUTO_EXACT_MAX_FEATURES: usize = 12;

impl Method {
    /// The concrete method for `model` explained through `link` (never `Auto`).
    pub fn resolve_for(self, model: &crate::model::OnnxModel, link: Link) -> Method {
        let trees_exact = model.trees().is_some_and(|t| t.margin_link() == Some(link));
        match self {
            Method::Auto if trees_exact => Method::Tree,
            m => m.resolve(model.n_features()),
        }
    }

    /// The concrete method for `n_features` features of a model that is not a tree ensemble
    /// (never `Auto`).
    pub fn resolve(self, n_features: usize) -> Method {
        match self {
            Method::Auto if n_features <= AUTO_EXACT_MAX_FEATURES => Method::Exact,
            Method::Auto => Method::Kernel,
            m => m,
        }
    }

    /// The image method this is, if it is one.
    pub fn image_method(self) -> Option<image::ImageMethod> {
        Some(match self {
            Method::Occlusion => image::ImageMethod::Occlusion,
            Method::Rise => image::ImageMethod::Rise,
            Method::Superpixel => image::ImageMethod::Superpixel,
            Method::Scorecam => image::ImageMethod::Scorecam,
            _ => return None,
        })
    }

    /// True for the methods that sample coalitions (and so have a budget and standard errors).
    pub fn is_sampled(self) -> bool {
        matches!(self, Method::Kernel | Method::Permutation)
    }

    /// The default number of coalition evaluations of a sampled method: 2·M + 2048.
    pub fn default_budget(n_features: usize) -> usize {
        2 * n_features + 2048
    }

    /// The explainer for this (resolved) method.
    pub fn explainer(
        self,
        n_features: usize,
        budget: Option<usize>,
        tolerance: Option<f64>,
    ) -> Box<dyn Explainer> {
        let budget = budget.unwrap_or_else(|| Method::default_budget(n_features));
        match self.resolve(n_features) {
            Method::Exact | Method::Auto => Box::new(exact::Exact),
            Method::Kernel => Box::new(kernel::KernelShap { budget, tolerance }),
            Method::Permutation => Box::new(permutation::PermutationShap { budget, tolerance }),
            // TreeSHAP needs the trees (see `ExplainSettings::explainer`); image methods make
            // maps, not tabular attributions (see `image`).
            Method::Tree
            | Method::Occlusion
            | Method::Rise
            | Method::Superpixel
            | Method::Scorecam => Box::new(exact::Exact),
        }
    }

    /// The name as written on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Exact => "exact",
            Method::Kernel => "kernel",
            Method::Permutation => "permutation",
            Method::Tree => "tree",
            Method::Occlusion => "occlusion",
            Method::Rise => "rise",
            Method::Superpixel => "superpixel",
            Method::Scorecam => "scorecam",
        }
    }
}

/// This row's random stream: the same (seed, row) always gives the same stream, whichever
/// process or shard explains the row.
pub fn row_rng(seed: u64, row: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(row as u64);
    rng
}

/// One feature (or none): the whole difference goes to it.
pub(crate) fn trivial(base: &[f64], output: &[f64], m: usize) -> Vec<Attribution> {
    base.iter()
        .zip(output)
        .map(|(&b, &o)| Attribution {
            base_value: b,
            output_value: o,
            values: if m == 1 { vec![o - b] } else { vec![] },
            std_err: Some(vec![0.0; m]),
        })
        .collect()
}

/// The convergence rule shared by the sampled methods: the largest standard error is below
/// `tolerance` times the range of the values.
pub(crate) fn converged(values: &[f64], std_err: &[f64], tolerance: f64) -> bool {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let worst = std_err.iter().copied().fold(0.0, f64::max);
    max > min && worst < tolerance * (max - min)
}

/// Shapley weight of a coalition of size `s` among `m` players: s!(m−s−1)!/m!.
pub(crate) fn shapley_weight(m: usize, s: usize) -> f64 {
    // 1 / (m · C(m−1, s)), with the binomial built up in floating point.
    let k = s.min(m - 1 - s);
    let mut binom = 1.0f64;
    for i in 0..k {
        binom = binom * (m - 1 - i) as f64 / (i + 1) as f64;
    }
    1.0 / (m as f64 * binom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapley_weights_sum_to_one_over_coalitions() {
        for m in [1usize, 2, 5, 12, 20] {
            // Σ_s C(m−1, s) · w(s) = 1 for each player.
            let mut total = 0.0;
            let mut binom = 1.0f64;
            for s in 0..m {
                total += binom * shapley_weight(m, s);
                binom = binom * (m - 1 - s) as f64 / (s + 1) as f64;
            }
            assert!((total - 1.0).abs() < 1e-12, "m={m}: {total}");
        }
        assert!((shapley_weight(3, 1) - 1.0 / 6.0).abs() < 1e-15);
    }

    #[test]
    fn auto_picks_exact_up_to_twelve_features() {
        assert_eq!(Method::Auto.resolve(12), Method::Exact);
        assert_eq!(Method::Auto.resolve(13), Method::Kernel);
        assert_eq!(Method::Permutation.resolve(3), Method::Permutation);
    }
}
