//! KernelSHAP: Shapley values as the solution of a weighted least-squares problem over
//! coalitions, `min E_p[(v(z) − v(0) − zᵀφ)²]` subject to `Σφ = v(1) − v(0)`, with shap's
//! coalition weighting `p(z) ∝ (M − 1) / (C(M,|z|) |z| (M − |z|))`.
//!
//! Coalitions are evaluated in complementary pairs `(z, 1 − z)`. By default the budget is
//! shared equally between coalition sizes (the leverage scores of this regression are equal
//! across sizes: Leverage SHAP, Musco & Witter 2025); sizes whose share covers all their
//! coalitions are enumerated, and the others are sampled without replacement, each size its own
//! stratum (`design`). shap's design — smallest sizes enumerated first, the rest drawn at random
//! with the kernel's probabilities — stays available as [`Allocation::Kernel`]. On the 12-feature
//! MLP the stratified design halves the mean squared error at the default budget (BENCHMARKS.md).
//!
//! The estimator (`estimate`) is Covert & Lee's (2021) unbiased form with a linear surrogate
//! of the game as control variate, refined to the regression fixed point once at least 2·M
//! pairs are sampled; efficiency holds exactly, and the standard errors come from the
//! within-stratum variances of the paired terms.
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

use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

pub use design::Allocation;
use design::{Design, Drawer, SizeWeights, binomial, combinations, complement};
use estimate::{RestSample, solve};

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
        let (m, k) = (game.n_features(), game.n_targets());
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
        let mut drawer = Drawer::new(m, design.strata.len());
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
        let delta: Vec<f64> = (0..k).map(|t| output[t] - base[t]).collect();

        // Enumerated sizes: b_E exactly.
        let mut b_enum = Array2::<f64>::zeros((m, k));
        for (i, members) in enumerated.iter().enumerate() {
            let w = sizes.p[members.len()] / binomial(m, members.len());
            for &j in members {
                for t in 0..k {
                    b_enum[[j, t]] += w * (v[[2 + i, t]] - base[t]);
                }
            }
        }
        let (a, c) = sizes.moments(1..m);
        if design.strata.is_empty() {
            return Ok((0..k)
                .map(|t| {
                    solve(
                        &b_enum.column(t).to_vec(),
                        a,
                        c,
                        delta[t],
                        base[t],
                        output[t],
                        Some(vec![0.0; m]),
                    )
                })
                .collect());
        }

        // Control variate: the solution from the enumerated sizes alone (zero if none).
        let p_enum: f64 = design.enumerated.iter().map(|&s| sizes.p[s]).sum();
        let pilot: Vec<Vec<f64>> = (0..k)
            .map(|t| {
                if p_enum > 0.0 {
                    let (ae, ce) = sizes.moments_of(&design.enumerated);
                    let b: Vec<f64> = b_enum.column(t).iter().map(|x| x / p_enum).collect();
                    solve(&b, ae / p_enum, ce / p_enum, delta[t], 0.0, 0.0, None).values
                } else {
                    vec![0.0; m]
                }
            })
            .collect();

        // The sizes of the sampled strata.
        let rest_sizes: Vec<usize> = (1..m).filter(|s| !design.enumerated.contains(s)).collect();
        let (a_rest, c_rest) = sizes.moments_of(&rest_sizes);
        let mut pair_values = std::mem::take(&mut first_pairs);
        let mut pairs_drawn: Vec<Vec<usize>> = drawn;
        loop {
            let rest = RestSample {
                members: &pairs_drawn,
                values: &pair_values,
                stratum: &design.order[..pairs_drawn.len()],
                strata: &design.strata,
                a_rest,
                c_rest,
                background_sampled: rows.is_some(),
            };
            let result: Vec<Attribution> = (0..k)
                .map(|t| {
                    // The pilot from the enumerated sizes makes the estimate unbiased; feeding the
                    // estimate back as the control variate converges to the regression
                    // (shap-style) estimator, whose variance is lower. A step that does not
                    // shrink the change keeps the last stable estimate.
                    let b_enum_t = b_enum.column(t).to_vec();
                    let mut control = pilot[t].clone();
                    // Too few pairs make the regression unstable: keep the unbiased estimate.
                    let refinements = if pairs_drawn.len() >= 2 * m {
                        MAX_REFINEMENTS
                    } else {
                        0
                    };
                    let mut last_change = f64::INFINITY;
                    for _ in 0..refinements {
                        let b = rest.b(&b_enum_t, &control, t, base[t]);
                        let values = solve(&b, a, c, delta[t], 0.0, 0.0, None).values;
                        let change = values
                            .iter()
                            .zip(&control)
                            .map(|(x, y)| (x - y).abs())
                            .fold(0.0, f64::max);
                        // Stop unless the refinement still shrinks (a NaN change stops too).
                        if change.is_nan() || change >= last_change {
                            break;
                        }
                        control = values;
                        if change < 1e-9 {
                            break;
                        }
                        last_change = change;
                    }
                    let b = rest.b(&b_enum_t, &control, t, base[t]);
                    let err = rest.std_err(&control, t, base[t], a, c);
                    solve(&b, a, c, delta[t], base[t], output[t], Some(err))
                })
                .collect();
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

/// Refinements of the control variate (each costs O(pairs · M), no model calls).
const MAX_REFINEMENTS: usize = 30;

fn masks_of(m: usize, coalitions: &[Vec<usize>]) -> Array2<bool> {
    let mut masks = Array2::from_elem((coalitions.len(), m), false);
    for (row, members) in coalitions.iter().enumerate() {
        for &j in members {
            masks[[row, j]] = true;
        }
    }
    masks
}
