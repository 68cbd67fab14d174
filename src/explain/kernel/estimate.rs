//! The estimator behind KernelSHAP: Covert & Lee's (2021) unbiased form of the constrained
//! regression, stratified by coalition size. `A = E_p[zzᵀ]` is known exactly, so
//! `φ = (b − mean(b)·1)/(a − c) + Δ/M` with `b = E_p[z (v(z) − v(0))]`, exact on the enumerated
//! sizes and, on each sampled stratum, its kernel mass times the mean of its pair terms. A
//! linear surrogate `control·z` of the game is subtracted before averaging and its exact part
//! `A_R·control` added back (a regression-adjusted Monte-Carlo estimate: only the surrogate's
//! residuals are sampled). Because `φ` is linear in `b`, the standard error follows from the
//! within-stratum variances of the pair terms, with the finite-population correction of strata
//! drawn without replacement.

use ndarray::Array2;

use super::super::Attribution;
use super::design::{Design, SizeWeights, Stratum, binomial};

/// The sampled pairs, the strata they were drawn from, and the moments of those strata's sizes.
pub(super) struct RestSample<'a> {
    pub members: &'a [Vec<usize>],
    pub values: &'a [[Vec<f64>; 2]],
    /// The stratum of each pair.
    pub stratum: &'a [usize],
    pub strata: &'a [Stratum],
    pub a_rest: f64,
    pub c_rest: f64,
    /// Each coalition was evaluated against a sample of the background: the pair terms carry
    /// that noise too, and the finite-population correction of the coalition draws is dropped
    /// (it would shrink the background's share of the variance as well).
    pub background_sampled: bool,
}

impl RestSample<'_> {
    /// Pairs drawn so far in each stratum.
    fn counts(&self) -> Vec<usize> {
        let mut n = vec![0usize; self.strata.len()];
        for &s in self.stratum {
            n[s] += 1;
        }
        n
    }

    /// The pair's residuals (r_in for members of z, r_out for the rest), halved: its term is
    /// the vector with r_in at z's members and r_out elsewhere.
    fn residual(
        &self,
        i: usize,
        control: &[f64],
        control_sum: f64,
        t: usize,
        base: f64,
    ) -> (f64, f64) {
        let inside: f64 = self.members[i].iter().map(|&j| control[j]).sum();
        let v = &self.values[i];
        (
            (v[0][t] - base - inside) / 2.0,
            (v[1][t] - base - (control_sum - inside)) / 2.0,
        )
    }

    /// b = b_E + A_R·control + Σ_strata mass·mean(pair terms) for target `t`, without building
    /// the terms: a pair adds r_out to every feature and r_in − r_out to its members.
    pub fn b(&self, b_enum: &[f64], control: &[f64], t: usize, base: f64) -> Vec<f64> {
        let m = control.len();
        let control_sum: f64 = control.iter().sum();
        let counts = self.counts();
        let mut sums = vec![0.0; m];
        let mut all = 0.0;
        for i in 0..self.members.len() {
            let s = self.stratum[i];
            let w = self.strata[s].mass / counts[s] as f64;
            let (r_in, r_out) = self.residual(i, control, control_sum, t, base);
            all += w * r_out;
            for &j in &self.members[i] {
                sums[j] += w * (r_in - r_out);
            }
        }
        (0..m)
            .map(|j| {
                let a_control =
                    (self.a_rest - self.c_rest) * control[j] + self.c_rest * control_sum;
                b_enum[j] + a_control + all + sums[j]
            })
            .collect()
    }

    /// Standard error of each value: Var(b_j − mean b) summed over strata (mass² · variance of
    /// the centred term / pairs, times the finite-population correction), scaled by 1/(a − c).
    /// A stratum with a single pair borrows the variance pooled over every pair.
    pub fn std_err(&self, control: &[f64], t: usize, base: f64, a: f64, c: f64) -> Vec<f64> {
        let m = control.len();
        let control_sum: f64 = control.iter().sum();
        let k = self.strata.len();
        let mut n = vec![0usize; k];
        let mut sum = vec![vec![0.0; m]; k];
        let mut sum_sq = vec![vec![0.0; m]; k];
        let mut is_member = vec![false; m];
        for i in 0..self.members.len() {
            let s = self.stratum[i];
            let members = &self.members[i];
            let (r_in, r_out) = self.residual(i, control, control_sum, t, base);
            let mean =
                (members.len() as f64 * r_in + (m - members.len()) as f64 * r_out) / m as f64;
            for &j in members {
                is_member[j] = true;
            }
            for j in 0..m {
                let u = if is_member[j] { r_in } else { r_out } - mean;
                sum[s][j] += u;
                sum_sq[s][j] += u * u;
            }
            for &j in members {
                is_member[j] = false;
            }
            n[s] += 1;
        }
        let variance = |n: usize, sum: f64, sum_sq: f64| {
            if n > 1 {
                let mean = sum / n as f64;
                ((sum_sq - n as f64 * mean * mean) / (n - 1) as f64).max(0.0)
            } else {
                0.0
            }
        };
        let total: usize = n.iter().sum();
        (0..m)
            .map(|j| {
                let pooled = variance(
                    total,
                    sum.iter().map(|x| x[j]).sum(),
                    sum_sq.iter().map(|x| x[j]).sum(),
                );
                let var: f64 = (0..k)
                    .filter(|&s| n[s] > 0)
                    .map(|s| {
                        let within = if n[s] > 1 {
                            variance(n[s], sum[s][j], sum_sq[s][j])
                        } else {
                            pooled
                        };
                        let fpc = match self.strata[s].population {
                            Some(pop) if !self.background_sampled => {
                                (1.0 - n[s] as f64 / pop).max(0.0)
                            }
                            _ => 1.0,
                        };
                        self.strata[s].mass.powi(2) * within / n[s] as f64 * fpc
                    })
                    .sum();
                var.sqrt() / (a - c)
            })
            .collect()
    }
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

/// Everything about one explanation's design that the estimate needs besides the values.
pub(super) struct Estimator<'a> {
    pub m: usize,
    pub sizes: &'a SizeWeights,
    pub design: &'a Design,
    /// The enumerated coalitions, in the order of rows 2.. of the values.
    pub enumerated: &'a [Vec<usize>],
    /// Each sampled coalition was evaluated against its own sample of the background.
    pub background_sampled: bool,
}

/// Refinements of the control variate (each costs O(pairs · M), no model calls).
const MAX_REFINEMENTS: usize = 30;

impl<'a> Estimator<'a> {
    pub fn new(
        sizes: &'a SizeWeights,
        design: &'a Design,
        enumerated: &'a [Vec<usize>],
        background_sampled: bool,
    ) -> Self {
        Estimator {
            m: sizes.m,
            sizes,
            design,
            enumerated,
            background_sampled,
        }
    }

    /// The attributions from the game's values at the empty and full coalitions (rows 0 and
    /// 1 of `v`) and the enumerated ones (rows 2..), and at the sampled pairs `members`:
    /// `values` for the estimate, `err_values` for its standard errors.
    pub fn attributions(
        &self,
        v: &Array2<f64>,
        members: &[Vec<usize>],
        values: &[[Vec<f64>; 2]],
        err_values: &[[Vec<f64>; 2]],
    ) -> Vec<Attribution> {
        let (m, k) = (self.m, v.ncols());
        let (sizes, design) = (self.sizes, self.design);
        let base: Vec<f64> = v.row(0).to_vec();
        let output: Vec<f64> = v.row(1).to_vec();
        let delta: Vec<f64> = (0..k).map(|t| output[t] - base[t]).collect();

        // Enumerated sizes: b_E exactly.
        let mut b_enum = Array2::<f64>::zeros((m, k));
        for (i, members) in self.enumerated.iter().enumerate() {
            let w = sizes.p[members.len()] / binomial(m, members.len());
            for &j in members {
                for t in 0..k {
                    b_enum[[j, t]] += w * (v[[2 + i, t]] - base[t]);
                }
            }
        }
        let (a, c) = sizes.moments(1..m);
        if design.strata.is_empty() {
            return (0..k)
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
                .collect();
        }

        // Control variate: the solution from the enumerated sizes alone (zero if none).
        let p_enum: f64 = design.enumerated.iter().map(|&s| sizes.p[s]).sum();
        let (ae, ce) = sizes.moments_of(&design.enumerated);
        // The sizes of the sampled strata.
        let rest_sizes: Vec<usize> = (1..m).filter(|s| !design.enumerated.contains(s)).collect();
        let (a_rest, c_rest) = sizes.moments_of(&rest_sizes);
        let rest = |values| RestSample {
            members,
            values,
            stratum: &design.order[..members.len()],
            strata: &design.strata,
            a_rest,
            c_rest,
            background_sampled: self.background_sampled,
        };
        let (rest, rest_err) = (rest(values), rest(err_values));
        (0..k)
            .map(|t| {
                let b_enum_t = b_enum.column(t).to_vec();
                let mut control = if p_enum > 0.0 {
                    let b: Vec<f64> = b_enum_t.iter().map(|x| x / p_enum).collect();
                    solve(&b, ae / p_enum, ce / p_enum, delta[t], 0.0, 0.0, None).values
                } else {
                    vec![0.0; m]
                };
                // The pilot from the enumerated sizes makes the estimate unbiased; feeding the
                // estimate back as the control variate converges to the regression
                // (shap-style) estimator, whose variance is lower. A step that does not
                // shrink the change keeps the last stable estimate.
                // Too few pairs make the regression unstable: keep the unbiased estimate.
                let refinements = if members.len() >= 2 * m {
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
                let err = rest_err.std_err(&control, t, base[t], a, c);
                solve(&b, a, c, delta[t], base[t], output[t], Some(err))
            })
            .collect()
    }
}
