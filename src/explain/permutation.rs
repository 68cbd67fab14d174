//! Permutation SHAP with antithetic sampling: each random order of the features is walked
//! forwards and backwards, and a feature's value is the mean of its marginal contributions.
//! Every walk sums exactly to `v(all) − v(∅)`, so the estimate is additive; the standard error
//! comes from the spread of the forward/backward pair means.

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::game::RowSampler;
use super::registry::{Fit, Kind, Method, MethodSpec, ParamValues, TabularBuild};
use super::{Attribution, ExplainError, Explainer, Game};

/// The registry's handle on this method.
pub const PERMUTATION: Method = Method::new(&Spec);

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "permutation"
    }
    fn summary(&self) -> &'static str {
        "antithetic permutation sampling, with standard errors"
    }
    fn kind(&self) -> Kind {
        Kind::Tabular
    }
    fn sampled(&self) -> bool {
        true
    }
    fn cost(&self, fit: &Fit, _params: &ParamValues, budget: usize, background: usize) -> u64 {
        let m = fit.model.n_features();
        let rows = background.min(super::kernel::DEFAULT_BACKGROUND_ROWS);
        if m <= 1 || rows == background {
            return (budget as u64 + 2) * background as u64;
        }
        let walks = 2 * (m as u64 - 1) * (budget / (2 * (m - 1))).max(2) as u64;
        3 * background as u64 + walks * rows as u64
    }
    fn tabular(&self, build: &TabularBuild) -> Result<Box<dyn Explainer>, ExplainError> {
        Ok(Box::new(PermutationShap {
            budget: build.budget,
            tolerance: build.tolerance,
            background_rows: super::kernel::DEFAULT_BACKGROUND_ROWS,
        }))
    }
}

/// Antithetic permutation sampling within a budget of coalition evaluations.
pub struct PermutationShap {
    /// Coalitions evaluated (each walk costs M − 1 besides the shared endpoints).
    pub budget: usize,
    /// Stop early once max std err / value range falls below this.
    pub tolerance: Option<f64>,
    /// With a background of more rows than this, each antithetic pair of walks is evaluated
    /// against this many of them (one stratified sample shared by all its prefixes, so a
    /// marginal contribution compares the same rows); the endpoints use the whole background.
    pub background_rows: usize,
}

/// Pairs of walks per round between convergence checks.
const PAIRS_PER_ROUND: usize = 16;

impl Explainer for PermutationShap {
    fn explain(&self, game: &Game, rng: &mut ChaCha8Rng) -> Result<Vec<Attribution>, ExplainError> {
        let (m, k) = (game.n_features(), game.n_targets());
        let (base, output) = game.endpoints()?;
        if m <= 1 {
            return Ok(super::trivial(&base, &output, m));
        }
        let rows = if game.background().len() > self.background_rows {
            let outputs = game.background_outputs()?;
            Some(RowSampler::new(
                game.background(),
                &outputs,
                self.background_rows,
            ))
        } else {
            None
        };
        let max_pairs = (self.budget / (2 * (m - 1))).max(2);
        // Per target, per feature: the pair means, one per antithetic pair.
        let mut pair_means: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); m]; k];
        let mut done = 0;
        while done < max_pairs {
            let round = if self.tolerance.is_some() {
                PAIRS_PER_ROUND
            } else {
                max_pairs
            };
            let pairs = round.min(max_pairs - done);
            let orders: Vec<Vec<usize>> = (0..pairs)
                .map(|_| {
                    let mut order: Vec<usize> = (0..m).collect();
                    order.shuffle(rng);
                    order
                })
                .collect();
            // rank[p][f]: where feature f stands in order p.
            let ranks: Vec<Vec<usize>> = orders
                .iter()
                .map(|order| {
                    let mut rank = vec![0; m];
                    for (i, &f) in order.iter().enumerate() {
                        rank[f] = i;
                    }
                    rank
                })
                .collect();
            // For each pair: the M − 1 inner prefixes of the forward order, then of the reverse.
            let walks = 2 * (m - 1);
            let masks = Array2::from_shape_fn((pairs * walks, m), |(row, j)| {
                let (p, w) = (row / walks, row % walks);
                let rank = ranks[p][j];
                if w < m - 1 {
                    rank <= w
                } else {
                    rank >= m - 1 - (w - (m - 1))
                }
            });
            let v = match &rows {
                None => game.values(masks.view())?,
                Some(rows) => {
                    let samples: Vec<Vec<u32>> = (0..pairs)
                        .flat_map(|_| {
                            let sample = rows.draw(rng);
                            std::iter::repeat_n(sample, walks)
                        })
                        .collect();
                    game.sampled_values(masks.view(), &samples)?
                }
            };
            for (p, order) in orders.iter().enumerate() {
                for t in 0..k {
                    let at = |w: usize| v[[p * walks + w, t]];
                    let mut sum = vec![0.0; m];
                    // Forward: feature order[i] joins prefix i.
                    let mut prev = base[t];
                    for (i, &f) in order.iter().enumerate() {
                        let next = if i + 1 < m { at(i) } else { output[t] };
                        sum[f] += next - prev;
                        prev = next;
                    }
                    // Reverse: feature order[m−1−i] joins prefix i of the reversed order.
                    let mut prev = base[t];
                    for i in 0..m {
                        let f = order[m - 1 - i];
                        let next = if i + 1 < m { at(m - 1 + i) } else { output[t] };
                        sum[f] += next - prev;
                        prev = next;
                    }
                    for f in 0..m {
                        pair_means[t][f].push(sum[f] / 2.0);
                    }
                }
            }
            done += pairs;
            let estimates: Vec<(Vec<f64>, Vec<f64>)> =
                pair_means.iter().map(|per| mean_and_err(per)).collect();
            if self
                .tolerance
                .is_some_and(|tol| estimates.iter().all(|(v, e)| super::converged(v, e, tol)))
            {
                break;
            }
        }
        Ok((0..k)
            .map(|t| {
                let (values, err) = mean_and_err(&pair_means[t]);
                Attribution {
                    base_value: base[t],
                    output_value: output[t],
                    values,
                    std_err: Some(err),
                }
            })
            .collect())
    }
}

/// Per feature: the mean of the samples and its standard error.
fn mean_and_err(samples: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    samples
        .iter()
        .map(|s| {
            let n = s.len() as f64;
            let mean = s.iter().sum::<f64>() / n;
            let var = if s.len() > 1 {
                s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
            } else {
                0.0
            };
            (mean, (var / n).sqrt())
        })
        .unzip()
}
