//! KernelSHAP: Shapley values as the solution of a weighted least-squares problem over
//! coalitions, `min E_p[(v(z) − v(0) − zᵀφ)²]` subject to `Σφ = v(1) − v(0)`, with shap's
//! coalition weighting `p(z) ∝ (M − 1) / (C(M,|z|) |z| (M − |z|))`.
//!
//! As shap does, the subset sizes the budget covers are enumerated completely (smallest and
//! largest first, where the weight is); the other sizes are sampled in complementary pairs.
//! The estimator is Covert & Lee's (2021) unbiased one: `A = E_p[zzᵀ]` is known exactly, so
//! `φ = (b − mean(b)·1) / (a − c) + Δ/M` where `a` and `c` are A's diagonal and off-diagonal and
//! `b = E_p[z (v(z) − v(0))]` — exact on the enumerated sizes, a sample mean on the rest. The
//! efficiency constraint then holds exactly, and because `φ` is linear in `b`, the standard
//! error follows from the sample covariance of the paired terms (their CLT variance estimate).
//! A linear control variate — the solution from the enumerated sizes alone — is subtracted from
//! `v` before averaging, which keeps the estimate unbiased and shrinks its variance. With at
//! least 2·M sampled pairs the control variate is then refined with the estimate itself; the
//! fixed point is the regression (shap-style) estimator, whose variance is lower still, and the
//! standard error becomes its delta-method (linearised) variance.

use ndarray::Array2;
use rand::Rng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

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
    fn cost(&self, _fit: &Fit, _params: &ParamValues, budget: usize, background: usize) -> u64 {
        (budget as u64 + 2) * background as u64
    }
    fn tabular(&self, build: &TabularBuild) -> Result<Box<dyn Explainer>, ExplainError> {
        Ok(Box::new(KernelShap {
            budget: build.budget,
            tolerance: build.tolerance,
        }))
    }
}

/// KernelSHAP within a budget of coalition evaluations.
pub struct KernelShap {
    /// Coalitions evaluated besides the empty and full ones.
    pub budget: usize,
    /// Stop sampling once max std err / value range falls below this.
    pub tolerance: Option<f64>,
}

/// Complementary pairs sampled per round between convergence checks.
const PAIRS_PER_ROUND: usize = 128;

impl Explainer for KernelShap {
    fn explain(&self, game: &Game, rng: &mut ChaCha8Rng) -> Result<Vec<Attribution>, ExplainError> {
        let (m, k) = (game.n_features(), game.n_targets());
        if m <= 1 {
            let (base, output) = game.endpoints()?;
            return Ok(super::trivial(&base, &output, m));
        }
        let sizes = SizeWeights::new(m);
        let plan = enumeration_plan(m, self.budget);
        let enumerated: Vec<Vec<usize>> = plan
            .sizes
            .iter()
            .flat_map(|&s| combinations(m, s))
            .collect();
        let p_rest: f64 = plan.rest.iter().map(|&s| sizes.p[s]).sum();
        let max_pairs = if plan.rest.is_empty() {
            0
        } else {
            (plan.remaining_budget / 2).max(1)
        };
        // Without a convergence check there is no reason to stop between rounds.
        let round = if self.tolerance.is_some() {
            PAIRS_PER_ROUND
        } else {
            max_pairs
        };
        let mut draw = |pairs: usize| -> Vec<Vec<usize>> {
            (0..pairs)
                .map(|_| {
                    let s = draw_size(&plan.rest, &sizes.p, p_rest, rng);
                    sample(rng, m, s).into_vec()
                })
                .collect()
        };

        // One model call for the endpoints, every enumerated coalition and the first round of
        // sampled pairs, so the batches stay full.
        let mut drawn = draw(round.min(max_pairs));
        let mut coalitions: Vec<Vec<usize>> = vec![Vec::new(), (0..m).collect()];
        coalitions.extend(enumerated.iter().cloned());
        coalitions.extend(drawn.iter().flat_map(|z| [z.clone(), complement(m, z)]));
        let v = game.values(masks_of(m, &coalitions).view())?;
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
        if plan.rest.is_empty() {
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
        let p_enum: f64 = plan.sizes.iter().map(|&s| sizes.p[s]).sum();
        let pilot: Vec<Vec<f64>> = (0..k)
            .map(|t| {
                if p_enum > 0.0 {
                    let (ae, ce) = sizes.moments_of(&plan.sizes);
                    let b: Vec<f64> = b_enum.column(t).iter().map(|x| x / p_enum).collect();
                    solve(&b, ae / p_enum, ce / p_enum, delta[t], 0.0, 0.0, None).values
                } else {
                    vec![0.0; m]
                }
            })
            .collect();

        // Sampled sizes: pairs (z, 1 − z) with |z| drawn from p restricted to the rest.
        let (a_rest, c_rest) = sizes.moments_of(&plan.rest);
        let first = 2 + enumerated.len();
        let mut pair_values: Vec<[Vec<f64>; 2]> = (0..drawn.len())
            .map(|i| {
                [
                    v.row(first + 2 * i).to_vec(),
                    v.row(first + 2 * i + 1).to_vec(),
                ]
            })
            .collect();
        let mut pairs_drawn: Vec<Vec<usize>> = std::mem::take(&mut drawn);
        loop {
            let rest = RestSample {
                members: &pairs_drawn,
                values: &pair_values,
                p_rest,
                a_rest,
                c_rest,
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
            let more = draw(round.min(max_pairs - pairs_drawn.len()));
            let coalitions: Vec<Vec<usize>> = more
                .iter()
                .flat_map(|z| [z.clone(), complement(m, z)])
                .collect();
            let v = game.values(masks_of(m, &coalitions).view())?;
            pair_values.extend(
                (0..more.len()).map(|i| [v.row(2 * i).to_vec(), v.row(2 * i + 1).to_vec()]),
            );
            pairs_drawn.extend(more);
        }
    }
}

/// Refinements of the control variate (each costs O(pairs · M), no model calls).
const MAX_REFINEMENTS: usize = 30;

/// The sampled pairs of the sizes left to sampling, and the moments of those sizes.
struct RestSample<'a> {
    members: &'a [Vec<usize>],
    values: &'a [[Vec<f64>; 2]],
    p_rest: f64,
    a_rest: f64,
    c_rest: f64,
}

impl RestSample<'_> {
    /// Each pair's residuals (r_in for members of z, r_out for the rest), halved: the pair's term
    /// is the vector with r_in at z's members and r_out elsewhere.
    fn residuals(&self, control: &[f64], t: usize, base: f64) -> Vec<(f64, f64)> {
        let control_sum: f64 = control.iter().sum();
        self.members
            .iter()
            .zip(self.values)
            .map(|(members, v)| {
                let inside: f64 = members.iter().map(|&j| control[j]).sum();
                (
                    (v[0][t] - base - inside) / 2.0,
                    (v[1][t] - base - (control_sum - inside)) / 2.0,
                )
            })
            .collect()
    }

    /// b = b_E + A_R·control + P_R·mean(pair terms) for target `t`, without building the
    /// terms: a pair adds r_out to every feature and r_in − r_out to its members.
    fn b(&self, b_enum: &[f64], control: &[f64], t: usize, base: f64) -> Vec<f64> {
        let m = control.len();
        let control_sum: f64 = control.iter().sum();
        let mut sums = vec![0.0; m];
        let mut all = 0.0;
        for (members, v) in self.members.iter().zip(self.values) {
            let inside: f64 = members.iter().map(|&j| control[j]).sum();
            let r_in = (v[0][t] - base - inside) / 2.0;
            let r_out = (v[1][t] - base - (control_sum - inside)) / 2.0;
            all += r_out;
            for &j in members {
                sums[j] += r_in - r_out;
            }
        }
        let n = self.members.len() as f64;
        (0..m)
            .map(|j| {
                let mean = (all + sums[j]) / n;
                let a_control =
                    (self.a_rest - self.c_rest) * control[j] + self.c_rest * control_sum;
                b_enum[j] + a_control + self.p_rest * mean
            })
            .collect()
    }

    /// Standard error of each value: Cov(b) = P_R²·Cov(terms)/n, centred and scaled by 1/(a − c).
    /// Only the variance of each centred component is needed, so no M×M covariance is built:
    /// Var(term_j − mean_k term_k), in two passes over the pairs.
    fn std_err(&self, control: &[f64], t: usize, base: f64, a: f64, c: f64) -> Vec<f64> {
        let m = control.len();
        let residuals = self.residuals(control, t, base);
        let n = residuals.len();
        let centred = |members: &[usize], (r_in, r_out): (f64, f64), j_is_member: bool| {
            let mean =
                (members.len() as f64 * r_in + (m - members.len()) as f64 * r_out) / m as f64;
            if j_is_member {
                r_in - mean
            } else {
                r_out - mean
            }
        };
        let mut is_member = vec![false; m];
        let mut sum = vec![0.0; m];
        let mut sum_sq = vec![0.0; m];
        for (members, &r) in self.members.iter().zip(&residuals) {
            for &j in members {
                is_member[j] = true;
            }
            for j in 0..m {
                let u = centred(members, r, is_member[j]);
                sum[j] += u;
                sum_sq[j] += u * u;
            }
            for &j in members {
                is_member[j] = false;
            }
        }
        let scale = self.p_rest * self.p_rest / n as f64 / (a - c).powi(2);
        (0..m)
            .map(|j| {
                let mean = sum[j] / n as f64;
                let var = if n > 1 {
                    (sum_sq[j] - n as f64 * mean * mean) / (n - 1) as f64
                } else {
                    0.0
                };
                (var.max(0.0) * scale).sqrt()
            })
            .collect()
    }
}

fn complement(m: usize, members: &[usize]) -> Vec<usize> {
    let mut inside = vec![false; m];
    for &j in members {
        inside[j] = true;
    }
    (0..m).filter(|&j| !inside[j]).collect()
}

/// φ = (b − mean(b)·1)/(a − c) + Δ/M: the constrained least-squares solution for a matrix
/// with diagonal `a` and off-diagonal `c`.
fn solve(
    b: &[f64],
    a: f64,
    c: f64,
    delta: f64,
    base: f64,
    output: f64,
    std_err: Option<Vec<f64>>,
) -> Attribution {
    let m = b.len() as f64;
    let mean = b.iter().sum::<f64>() / m;
    let values = b.iter().map(|x| (x - mean) / (a - c) + delta / m).collect();
    Attribution {
        base_value: base,
        output_value: output,
        values,
        std_err,
    }
}

/// The kernel's distribution over coalition sizes: p[s] ∝ 1/(s(M − s)), s = 1..M−1.
struct SizeWeights {
    m: usize,
    p: Vec<f64>,
}

impl SizeWeights {
    fn new(m: usize) -> Self {
        let raw: Vec<f64> = (0..m)
            .map(|s| {
                if s == 0 {
                    0.0
                } else {
                    1.0 / (s * (m - s)) as f64
                }
            })
            .collect();
        let total: f64 = raw.iter().sum();
        SizeWeights {
            m,
            p: raw.iter().map(|w| w / total).collect(),
        }
    }

    /// Diagonal and off-diagonal of Σ_{s ∈ sizes} p[s] E[zzᵀ | |z| = s].
    fn moments_of(&self, sizes: &[usize]) -> (f64, f64) {
        let m = self.m as f64;
        sizes.iter().fold((0.0, 0.0), |(a, c), &s| {
            let s_f = s as f64;
            (
                a + self.p[s] * s_f / m,
                c + self.p[s] * s_f * (s_f - 1.0) / (m * (m - 1.0)),
            )
        })
    }

    fn moments(&self, sizes: std::ops::Range<usize>) -> (f64, f64) {
        self.moments_of(&sizes.collect::<Vec<_>>())
    }
}

/// Which sizes the budget enumerates completely, and which are left to sampling.
struct Plan {
    sizes: Vec<usize>,
    rest: Vec<usize>,
    remaining_budget: usize,
}

/// shap's order: sizes 1 and M−1, then 2 and M−2, …, each pair enumerated while it fits.
fn enumeration_plan(m: usize, budget: usize) -> Plan {
    let mut remaining = budget;
    let mut sizes = Vec::new();
    let mut s = 1;
    while s <= m / 2 {
        let pair = if 2 * s == m { vec![s] } else { vec![s, m - s] };
        let cost: f64 = pair.iter().map(|&x| binomial(m, x)).sum();
        if cost > remaining as f64 {
            break;
        }
        remaining -= cost as usize;
        sizes.extend(pair);
        s += 1;
    }
    let rest = (1..m).filter(|x| !sizes.contains(x)).collect();
    Plan {
        sizes,
        rest,
        remaining_budget: remaining,
    }
}

fn draw_size(rest: &[usize], p: &[f64], p_rest: f64, rng: &mut ChaCha8Rng) -> usize {
    let mut u = rng.random::<f64>() * p_rest;
    for &s in rest {
        u -= p[s];
        if u <= 0.0 {
            return s;
        }
    }
    rest[rest.len() - 1]
}

fn binomial(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Every subset of 0..m of size s, in lexicographic order.
fn combinations(m: usize, s: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current: Vec<usize> = (0..s).collect();
    loop {
        out.push(current.clone());
        // Find the rightmost element that can still move right.
        let Some(i) = (0..s).rev().find(|&i| current[i] < m - s + i) else {
            return out;
        };
        current[i] += 1;
        for j in i + 1..s {
            current[j] = current[j - 1] + 1;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_count_and_order() {
        let c = combinations(5, 2);
        assert_eq!(c.len(), 10);
        assert_eq!(c[0], vec![0, 1]);
        assert_eq!(c[9], vec![3, 4]);
        assert_eq!(combinations(4, 0), vec![Vec::<usize>::new()]);
    }

    #[test]
    fn plan_enumerates_small_sizes_first() {
        let p = enumeration_plan(12, 2 * 12 + 2048);
        assert_eq!(p.sizes, vec![1, 11, 2, 10, 3, 9, 4, 8]);
        assert_eq!(p.rest, vec![5, 6, 7]);
        assert_eq!(p.remaining_budget, 2072 - 24 - 132 - 440 - 990);
        let all = enumeration_plan(4, 100);
        assert!(all.rest.is_empty());
    }

    #[test]
    fn full_moment_diagonal_is_one_half() {
        for m in [2, 3, 7, 30] {
            let w = SizeWeights::new(m);
            let (a, _) = w.moments(1..m);
            assert!((a - 0.5).abs() < 1e-12);
        }
    }
}
