//! The estimator behind KernelSHAP: Covert & Lee's (2021) unbiased form of the constrained
//! regression, stratified by coalition size. `A = E_p[zzᵀ]` is known exactly, so
//! `φ = (b − mean(b)·1)/(a − c) + Δ/M` with `b = E_p[z (v(z) − v(0))]`, exact on the enumerated
//! sizes and, on each sampled stratum, its kernel mass times the mean of its pair terms. A
//! linear surrogate `control·z` of the game is subtracted before averaging and its exact part
//! `A_R·control` added back (a regression-adjusted Monte-Carlo estimate: only the surrogate's
//! residuals are sampled). Because `φ` is linear in `b`, the standard error follows from the
//! within-stratum variances of the pair terms, with the finite-population correction of strata
//! drawn without replacement.

use super::super::Attribution;
use super::design::Stratum;

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
pub(super) fn solve(
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
