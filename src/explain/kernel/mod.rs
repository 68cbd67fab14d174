//! KernelSHAP: Shapley values as the solution of a weighted least-squares problem over
//! coalitions, `min E_p[(v(z) − v(0) − zᵀφ)²]` subject to `Σφ = v(1) − v(0)`, with shap's
//! coalition weighting `p(z) ∝ (M − 1) / (C(M,|z|) |z| (M − |z|))`.
//!
//! Coalitions are evaluated in complementary pairs `(z, 1 − z)`. By default the budget is
//! shared equally between coalition sizes (the leverage scores of this regression are equal
//! across sizes: Leverage SHAP, Musco & Witter 2025); sizes whose share covers all their
//! coalitions are enumerated, and the others are sampled without replacement, each size its own
//! stratum (`design`), each pair the best balanced of sixteen random candidates of its size
//! (still uniform over the size, but spread out like a designed experiment's). shap's design —
//! smallest sizes enumerated first, the rest drawn at random with the kernel's probabilities —
//! stays available as [`Allocation::Kernel`]. On the 12-feature MLP the stratified design
//! halves the mean squared error at the default budget (BENCHMARKS.md).
//!
//! The estimator (`estimate`) is Covert & Lee's (2021) unbiased form with a linear surrogate
//! of the game as control variate, refined to the regression fixed point once at least 2·M
//! pairs are sampled; efficiency holds exactly, and the standard errors come from the
//! within-stratum variances of the paired terms. A non-linear surrogate of the game's odd part
//! is subtracted first (`surrogate`): its Shapley values are exact and only its residual is
//! sampled, with leave-one-out residuals in the standard errors. By default it is whichever of
//! two fits predicts held-out pairs better (two-fold cross-validation): the third-order (and
//! fifth-order: all of them up to twelve features, those of the ten strongest features past
//! that) interactions that a greedy least-squares search over the pairs picks, as many as
//! their leave-one-out error asks for, or the kriging posterior under a prior over every odd
//! order that favours the interactions among the features with large linear terms (`kriging`,
//! fitted on at most 600 pairs). The chosen terms run up to 19 features, kriging up to 30, the
//! linear control variate past that. The first suits games with few exact interactions; the
//! second the games of networks, with interactions of every order, each small, and those of
//! boosted trees behind a link, whose interactions gather among the strongest features. On
//! the breast-cancer benchmark the default needs 0.08–0.44 times the coalitions shap
//! KernelExplainer needs for its error (BENCHMARKS.md).
//!
//! A background of more rows than `background_rows` is not evaluated whole for every sampled
//! coalition: each draws its own systematic sample of that many rows along the background
//! sorted by the rows' own outputs (stratified by output, with probabilities proportional to
//! the weights), which estimates `v(z)` without bias. The endpoints and the enumerated
//! coalitions still use the whole background, so efficiency stays exact; the pair terms now
//! carry the background's noise as well, and their within-stratum variances measure both
//! (without the finite-population correction, which would wrongly shrink the background's
//! part). A background of at most `background_rows` rows gives the same results as before.

mod design;
mod estimate;
mod gram;
mod kriging;
mod prior;
mod surrogate;
mod terms;

use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

pub use design::Allocation;
use design::{Design, Drawer, SizeWeights, binomial, combinations, complement};
use estimate::Estimator;

use super::game::RowSampler;
use super::registry::{Fit, Kind, Method, MethodSpec, ParamValues, TabularBuild};
use super::{Attribution, ExplainError, Explainer, Game};

/// The registry's handle on this method.
pub const KERNEL: Method = Method::new(&Spec);

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "kernel"
    }
    fn summary(&self) -> &'static str {
        "KernelSHAP: weighted least squares over sampled coalitions, with standard errors"
    }
    fn kind(&self) -> Kind {
        Kind::Tabular
    }
    fn sampled(&self) -> bool {
        true
    }
    fn cost(&self, fit: &Fit, _params: &ParamValues, budget: usize, background: usize) -> u64 {
        kernel_cost(fit.players, budget, background, DEFAULT_BACKGROUND_ROWS)
    }
    fn tabular(&self, build: &TabularBuild) -> Result<Box<dyn Explainer>, ExplainError> {
        Ok(Box::new(KernelShap {
            budget: build.budget,
            tolerance: build.tolerance,
        }))
    }
}

/// KernelSHAP within a budget of coalition evaluations, with the default design.
pub struct KernelShap {
    /// Coalitions evaluated besides the empty and full ones.
    pub budget: usize,
    /// Stop sampling once max std err / value range falls below this.
    pub tolerance: Option<f64>,
}

/// How the sampled pairs are shared between coalition sizes unless told otherwise.
pub const DEFAULT_ALLOCATION: Allocation = Allocation::Leverage;

/// The surrogate of the game whose residual the estimator samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surrogate {
    /// A linear one, refined to the regression fixed point.
    Linear,
    /// Every odd third-order term as well (`surrogate`), once the pairs reach 1.5 times its
    /// parameters; the linear one below that.
    OddCubic,
    /// The linear terms and the odd interactions (third order, and fifth for at most ten
    /// features) that a greedy search over the sampled pairs picks, as many as their
    /// leave-one-out error asks for.
    Sparse,
    /// The kriging posterior of the odd part under a prior over every odd order (`kriging`),
    /// each set's variance the product of its features' relevances: interactions of every
    /// order, each small, gathered among the features that matter.
    Kriging,
    /// The chosen terms (from the triples, or from the triples and fifth-order terms: all of
    /// them up to twelve features, those of the ten strongest features past that) or
    /// `Kriging`, whichever predicts held-out pairs better: two-fold cross-validation on
    /// alternate pairs (at most 600 of them).
    Selected,
}

/// The surrogate unless told otherwise.
pub const DEFAULT_SURROGATE: Surrogate = Surrogate::Selected;

/// Background rows a sampled coalition is evaluated against unless told otherwise: a larger
/// background is sampled per coalition, a smaller one used whole.
pub const DEFAULT_BACKGROUND_ROWS: usize = 64;

impl Explainer for KernelShap {
    fn explain(&self, game: &Game, rng: &mut ChaCha8Rng) -> Result<Vec<Attribution>, ExplainError> {
        KernelSampler {
            budget: self.budget,
            tolerance: self.tolerance,
            allocation: DEFAULT_ALLOCATION,
            background_rows: DEFAULT_BACKGROUND_ROWS,
            surrogate: DEFAULT_SURROGATE,
        }
        .explain(game, rng)
    }
}

/// KernelSHAP with a chosen [`Allocation`] of the sampled coalitions.
pub struct KernelSampler {
    /// Coalitions evaluated besides the empty and full ones.
    pub budget: usize,
    /// Stop sampling once max std err / value range falls below this.
    pub tolerance: Option<f64>,
    pub allocation: Allocation,
    /// With a background of more rows than this, each sampled coalition is evaluated against
    /// this many of them (a stratified sample drawn afresh for each coalition); the endpoints
    /// and the enumerated coalitions always use the whole background.
    pub background_rows: usize,
    pub surrogate: Surrogate,
}

/// Complementary pairs sampled per round between convergence checks.
const PAIRS_PER_ROUND: usize = 128;

/// Model rows one explained row costs: the endpoints and enumerated coalitions against the
/// whole background, the sampled ones against `background_rows` of it when it is larger.
pub fn kernel_cost(m: usize, budget: usize, background: usize, background_rows: usize) -> u64 {
    if background <= background_rows || m <= 1 {
        return (budget as u64 + 2) * background as u64;
    }
    let design = Design::new(&SizeWeights::new(m), budget, DEFAULT_ALLOCATION);
    let enumerated: u64 = design
        .enumerated
        .iter()
        .map(|&s| binomial(m, s) as u64)
        .sum();
    (enumerated + 3) * background as u64 + 2 * design.max_pairs() as u64 * background_rows as u64
}

impl Explainer for KernelSampler {
    fn explain(&self, game: &Game, rng: &mut ChaCha8Rng) -> Result<Vec<Attribution>, ExplainError> {
        let m = game.n_features();
        if m <= 1 {
            let (base, output) = game.endpoints()?;
            return Ok(super::trivial(&base, &output, m));
        }
        let sizes = SizeWeights::new(m);
        let design = Design::new(&sizes, self.budget, self.allocation);
        let enumerated: Vec<Vec<usize>> = design
            .enumerated
            .iter()
            .flat_map(|&s| combinations(m, s))
            .collect();
        let max_pairs = design.max_pairs();
        // Without a convergence check there is no reason to stop between rounds.
        let round = if self.tolerance.is_some() {
            PAIRS_PER_ROUND
        } else {
            max_pairs
        };
        let mut drawer = Drawer::new(m, &design);
        let mut draw = |from: usize, pairs: usize, rng: &mut ChaCha8Rng| -> Vec<Vec<usize>> {
            design.order[from..from + pairs]
                .iter()
                .map(|&s| drawer.draw(s, &design.strata[s], rng))
                .collect()
        };
        let pair_coalitions = |pairs: &[Vec<usize>]| -> Vec<Vec<usize>> {
            pairs
                .iter()
                .flat_map(|z| [z.clone(), complement(m, z)])
                .collect()
        };

        let drawn = draw(0, round.min(max_pairs), rng);
        let mut coalitions: Vec<Vec<usize>> = vec![Vec::new(), (0..m).collect()];
        coalitions.extend(enumerated.iter().cloned());
        // The sampled pairs' values: against the whole background, or each coalition against
        // its own sample of it.
        let (v, mut first_pairs, rows) = match game.background().len() > self.background_rows {
            false => {
                // One model call for the endpoints, every enumerated coalition and the first
                // round of sampled pairs, so the batches stay full.
                coalitions.extend(pair_coalitions(&drawn));
                let v = game.values(masks_of(m, &coalitions).view())?;
                let first = 2 + enumerated.len();
                let pairs: Vec<[Vec<f64>; 2]> = (0..drawn.len())
                    .map(|i| {
                        [
                            v.row(first + 2 * i).to_vec(),
                            v.row(first + 2 * i + 1).to_vec(),
                        ]
                    })
                    .collect();
                (v, pairs, None)
            }
            true => {
                let outputs = game.background_outputs()?;
                let rows = RowSampler::new(game.background(), &outputs, self.background_rows);
                // The endpoints and the enumerated coalitions against the whole background.
                let v = game.values(masks_of(m, &coalitions).view())?;
                let pairs = sampled_pairs(game, m, &pair_coalitions(&drawn), &rows, rng)?;
                (v, pairs, Some(rows))
            }
        };
        let base: Vec<f64> = v.row(0).to_vec();
        let output: Vec<f64> = v.row(1).to_vec();
        let estimator = Estimator::new(&sizes, &design, &enumerated, rows.is_some());
        if design.strata.is_empty() {
            // Every coalition enumerated: the exact solution.
            return Ok(estimator.attributions(&v, &[], &[], &[]));
        }
        let mut pair_values = std::mem::take(&mut first_pairs);
        let mut pairs_drawn: Vec<Vec<usize>> = drawn;
        loop {
            let result =
                match surrogate::adjust(&estimator, &v, &pairs_drawn, &pair_values, self.surrogate)
                {
                    Some(result) => result,
                    None => estimator.attributions(&v, &pairs_drawn, &pair_values, &pair_values),
                };
            debug_assert!(
                result
                    .iter()
                    .enumerate()
                    .all(|(t, r)| r.base_value == base[t] && r.output_value == output[t])
            );
            let converged = self.tolerance.is_some_and(|tol| {
                result
                    .iter()
                    .all(|r| super::converged(&r.values, r.std_err.as_deref().unwrap_or(&[]), tol))
            });
            if converged || pairs_drawn.len() >= max_pairs {
                return Ok(result);
            }
            let more = draw(
                pairs_drawn.len(),
                round.min(max_pairs - pairs_drawn.len()),
                rng,
            );
            let coalitions = pair_coalitions(&more);
            match &rows {
                None => {
                    let v = game.values(masks_of(m, &coalitions).view())?;
                    pair_values.extend(
                        (0..more.len()).map(|i| [v.row(2 * i).to_vec(), v.row(2 * i + 1).to_vec()]),
                    );
                }
                Some(rows) => pair_values.extend(sampled_pairs(game, m, &coalitions, rows, rng)?),
            }
            pairs_drawn.extend(more);
        }
    }
}

/// The values of consecutive coalition pairs, each coalition against its own sample of the
/// background.
fn sampled_pairs(
    game: &Game,
    m: usize,
    coalitions: &[Vec<usize>],
    rows: &RowSampler,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<[Vec<f64>; 2]>, ExplainError> {
    let samples: Vec<Vec<u32>> = coalitions.iter().map(|_| rows.draw(rng)).collect();
    let v = game.sampled_values(masks_of(m, coalitions).view(), &samples)?;
    Ok((0..coalitions.len() / 2)
        .map(|i| [v.row(2 * i).to_vec(), v.row(2 * i + 1).to_vec()])
        .collect())
}

fn masks_of(m: usize, coalitions: &[Vec<usize>]) -> Array2<bool> {
    let mut masks = Array2::from_elem((coalitions.len(), m), false);
    for (row, members) in coalitions.iter().enumerate() {
        for &j in members {
            masks[[row, j]] = true;
        }
    }
    masks
}
