//! Tabular attributions: how much each feature pushed the model's output for one row, against a
//! background of reference rows (interventional Shapley values, as shap's Independent masker
//! defines them).
//!
//! - [`game`]: the coalition game every method plays — `v(S)` is the mean output over the
//!   background with the features in `S` taken from the row; all model calls are batched here.
//! - [`background`]: choosing and summarising the reference rows.
//! - [`registry`]: every method declared once ([`Method`]); one file per method behind the
//!   [`Explainer`] trait: [`auto`], [`exact`], [`kernel`], [`permutation`], and [`tree`] (exact
//!   TreeSHAP on a tree ensemble, no model calls), [`integrated`] (Integrated Gradients of a
//!   network's rows); image methods in [`image`].
//! - [`run`]: explaining many rows with per-row seeds, in parallel.

pub mod auto;
pub mod background;
#[cfg(test)]
pub(crate) mod dummy;
pub mod exact;
pub mod game;
pub mod image;
pub mod integrated;
pub mod kernel;
pub mod methods;
pub mod permutation;
pub mod players;
pub mod registry;
pub mod run;
pub mod settings;
pub mod tree;
pub mod tree_method;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

pub use background::{Background, BackgroundMethod};
pub use game::{Game, Link, NoProgress, Predict, Progress};
pub use players::{Group, Players};
pub use registry::{Kind, Method, ParamValues};
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
/// Its name and parameters are declared by its [`registry::MethodSpec`].
pub trait Explainer: Send + Sync {
    /// Explains the game's row for each of its outputs. `rng` is this row's own stream.
    fn explain(&self, game: &Game, rng: &mut ChaCha8Rng) -> Result<Vec<Attribution>, ExplainError>;
}

/// A setting the user chose, named in errors so that each front end can word the fix (a flag
/// on the command line, a control in the window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    Method,
    /// A sampled method's budget.
    Samples,
    Tolerance,
    Link,
    Target,
    Background,
    /// Columns declared to play as one.
    Groups,
    /// A method's own parameter, by name.
    Param(&'static str),
}

impl Setting {
    /// The setting's name in the engine's words.
    pub fn name(self) -> &'static str {
        match self {
            Setting::Method => "method",
            Setting::Samples => "samples",
            Setting::Tolerance => "tolerance",
            Setting::Link => "link",
            Setting::Target => "target",
            Setting::Background => "background",
            Setting::Groups => "group",
            Setting::Param(name) => name,
        }
    }
}

/// Why an explanation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("{0}")]
    Model(#[from] crate::model::ModelError),
    #[error("cancelled")]
    Cancelled,
    /// A setting that cannot work: `value` (as the user gave it) and what is wrong with it.
    #[error("{} {value} {problem}", setting.name())]
    Setting {
        setting: Setting,
        value: String,
        problem: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl ExplainError {
    /// A setting error: `setting` = `value` cannot work because of `problem`.
    pub fn setting(setting: Setting, value: impl Into<String>, problem: impl Into<String>) -> Self {
        ExplainError::Setting {
            setting,
            value: value.into(),
            problem: problem.into(),
        }
    }
}

/// Features up to which `auto` enumerates every coalition.
pub const AUTO_EXACT_MAX_FEATURES: usize = 12;

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
}
