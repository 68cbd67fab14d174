//! A non-linear surrogate of the game for the regression-adjusted estimator: the odd part of
//! `v` in the ±1 coding `x_j = 2z_j − 1`, up to third order,
//! `g(z) = Σ_i a_i x_i + Σ_{i<j<k} a_ijk x_i x_j x_k`.
//!
//! Only the odd part matters: with complementary pairs and a size-symmetric kernel, the even
//! part `(v(z) + v(1 − z))/2` adds the same amount to every feature's term and cancels in the
//! centred solution, and its Shapley values are zero. A second-order term's odd part is linear,
//! so the first non-linear odd terms are the third-order ones. A boosted ensemble of depth-3
//! trees is a sum of functions of at most three features each, so its interventional game is
//! exactly of this form.
//!
//! The surrogate is fitted by weighted least squares (a small ridge on the third-order terms)
//! to the pairs' odd parts `(v(z) − v(1 − z))/2`; its Shapley values are closed form,
//! `φ_i(x_T) = 2/|T|` for `i ∈ T` and odd `|T|`. The estimator then samples only the
//! residual game `v − g`. The leverages `h` of the fit give each pair's leave-one-out
//! residual `e/(1 − h)`, which the standard errors use, so an over-fitted surrogate does not
//! make the intervals narrower than its real error.

use std::collections::HashMap;

use ndarray::Array2;

use super::super::Attribution;
use super::Surrogate;
use super::design::{binomial, complement};
use super::estimate::Estimator;

/// The odd third-order surrogate is fitted once the pairs (enumerated and sampled) reach this
/// multiple of its parameters; below it, the linear control variate alone. Measured on the
/// breast-cancer MLPs and boosted trees (BENCHMARKS.md): at 1.06–1.1 pairs a parameter the
/// surrogate's error was up to 30× the linear one's; from 1.8 it was 2.4–25× lower.
pub const SURROGATE_RATIO: f64 = 1.5;

/// Above this many parameters (20 features and more) the fit's O(pairs · p²) cost outgrows the
/// model calls it saves; the linear control variate alone is used.
pub const MAX_PARAMETERS: usize = 1000;

/// The attributions with the odd third-order surrogate: its exact Shapley values plus the
/// estimator's on the residual game. `None` when the linear control variate is asked for,
/// when the pairs are too few for the surrogate's parameters, or when its fit fails.
pub(super) fn adjust(
    est: &Estimator,
    v: &Array2<f64>,
    members: &[Vec<usize>],
    values: &[[Vec<f64>; 2]],
    surrogate: Surrogate,
) -> Option<Vec<Attribution>> {
    if surrogate == Surrogate::Linear || members.is_empty() || parameters(est.m) > MAX_PARAMETERS {
        return None;
    }
    let (m, k) = (est.m, v.ncols());
    let index: HashMap<&[usize], usize> = est
        .enumerated
        .iter()
        .enumerate()
        .map(|(i, z)| (z.as_slice(), i))
        .collect();
    let mut sides: Vec<(&[usize], f64)> = Vec::new();
    let mut odd: Vec<Vec<f64>> = Vec::new();
    for (i, z) in est.enumerated.iter().enumerate() {
        if 2 * z.len() > m || (2 * z.len() == m && z.first() != Some(&0)) {
            continue;
        }
        let Some(&j) = index.get(complement(m, z).as_slice()) else {
            continue;
        };
        sides.push((z, 2.0 * est.sizes.p[z.len()] / binomial(m, z.len())));
        odd.push(
            (0..k)
                .map(|t| (v[[2 + i, t]] - v[[2 + j, t]]) / 2.0)
                .collect(),
        );
    }
    let enumerated_pairs = sides.len();
    let strata = &est.design.strata;
    let order = &est.design.order[..members.len()];
    let mut counts = vec![0usize; strata.len()];
    for &s in order {
        counts[s] += 1;
    }
    for ((z, pair), &s) in members.iter().zip(values).zip(order) {
        sides.push((z, strata[s].mass / counts[s] as f64));
        odd.push((0..k).map(|t| (pair[0][t] - pair[1][t]) / 2.0).collect());
    }
    if parameters(m) > MAX_PARAMETERS
        || (sides.len() as f64) < SURROGATE_RATIO * parameters(m) as f64
    {
        return None;
    }
    let g = OddCubic::fit(m, &sides, &odd)?;
    // The residual game v − g at the endpoints, the enumerated coalitions and the pairs.
    let mut r = v.clone();
    for t in 0..k {
        r[[0, t]] += g.full(t);
        r[[1, t]] -= g.full(t);
    }
    for (i, z) in est.enumerated.iter().enumerate() {
        let gz = g.values(z);
        for t in 0..k {
            r[[2 + i, t]] -= gz[t];
        }
    }
    let mut residual = Vec::with_capacity(members.len());
    let mut left_out = Vec::with_capacity(members.len());
    for (i, (z, pair)) in members.iter().zip(values).enumerate() {
        let gz = g.values(z);
        let h = g.leverage[enumerated_pairs + i].min(MAX_LEVERAGE);
        let res: [Vec<f64>; 2] = [
            (0..k).map(|t| pair[0][t] - gz[t]).collect(),
            (0..k).map(|t| pair[1][t] + gz[t]).collect(),
        ];
        // The pair's odd residual left out of the fit: e/(1 − h) in place of e.
        let shift: Vec<f64> = (0..k)
            .map(|t| (odd[enumerated_pairs + i][t] - gz[t]) * h / (1.0 - h))
            .collect();
        left_out.push([
            (0..k).map(|t| res[0][t] + shift[t]).collect(),
            (0..k).map(|t| res[1][t] - shift[t]).collect(),
        ]);
        residual.push(res);
    }
    let mut out = est.attributions(&r, members, &residual, &left_out);
    for (t, a) in out.iter_mut().enumerate() {
        for (x, s) in a.values.iter_mut().zip(g.shapley(t)) {
            *x += s;
        }
        a.base_value = v[[0, t]];
        a.output_value = v[[1, t]];
    }
    Some(out)
}

/// Leverages are capped below one, so a pair the fit passes through still counts.
const MAX_LEVERAGE: f64 = 0.95;

/// The third-order terms of `m` features, in lexicographic order.
fn triples(m: usize) -> Vec<[usize; 3]> {
    let mut out = Vec::new();
    for a in 0..m {
        for b in a + 1..m {
            for c in b + 1..m {
                out.push([a, b, c]);
            }
        }
    }
    out
}

/// Parameters of the surrogate of `m` features.
pub(super) fn parameters(m: usize) -> usize {
    m + m * (m - 1) * (m.saturating_sub(2)) / 6
}

/// The surrogate's basis at the coalition with `members`.
fn basis(m: usize, members: &[usize], triples: &[[usize; 3]], out: &mut Vec<f64>) {
    out.clear();
    let mut x = vec![-1.0; m];
    for &j in members {
        x[j] = 1.0;
    }
    out.extend_from_slice(&x);
    out.extend(triples.iter().map(|t| x[t[0]] * x[t[1]] * x[t[2]]));
}

/// One fitted surrogate per target, and each fitted pair's leverage.
pub(super) struct OddCubic {
    m: usize,
    triples: Vec<[usize; 3]>,
    /// Coefficients per target: the m linear terms, then the triples.
    coef: Vec<Vec<f64>>,
    /// The leverage of each pair passed to [`OddCubic::fit`], in order.
    pub leverage: Vec<f64>,
}

/// Ridge on the third-order terms, relative to the mean diagonal of the normal equations.
const RIDGE: f64 = 1e-6;

impl OddCubic {
    /// Fits the surrogate to pairs given by the members of one side, a weight, and the odd
    /// part of the game at that side for every target. `None` when the normal equations are
    /// not positive definite.
    pub fn fit(m: usize, pairs: &[(&[usize], f64)], odd: &[Vec<f64>]) -> Option<OddCubic> {
        let triples = triples(m);
        let p = m + triples.len();
        let n = pairs.len();
        let k = odd.first().map_or(0, Vec::len);
        // Rows of the basis scaled by √w, so the normal equations are one matrix product.
        let mut xw = Array2::<f64>::zeros((n, p));
        let mut x = Vec::with_capacity(p);
        for (row, (members, w)) in pairs.iter().enumerate() {
            basis(m, members, &triples, &mut x);
            let r = w.sqrt();
            for (a, xa) in xw.row_mut(row).iter_mut().zip(&x) {
                *a = r * xa;
            }
        }
        let yw = Array2::from_shape_fn((n, k), |(i, t)| pairs[i].1.sqrt() * odd[i][t]);
        let mut gram = xw.t().dot(&xw);
        let rhs = xw.t().dot(&yw);
        let mean_diag = gram.diag().sum() / p as f64;
        for a in m..p {
            gram[[a, a]] += RIDGE * mean_diag;
        }
        let mut gram: Vec<f64> = gram.iter().copied().collect();
        let chol = cholesky(&mut gram, p)?;
        let coef: Vec<Vec<f64>> = (0..k)
            .map(|t| chol.solve(&rhs.column(t).to_vec()))
            .collect();
        // h_i = |L⁻¹ (√w_i x_i)|²: one forward substitution with every pair as a right side.
        let mut u: Vec<f64> = xw.t().iter().copied().collect();
        for i in 0..p {
            let (done, rest) = u.split_at_mut(i * n);
            let row = &mut rest[..n];
            for q in 0..i {
                let l = chol.l[i * p + q];
                if l != 0.0 {
                    for (r, d) in row.iter_mut().zip(&done[q * n..(q + 1) * n]) {
                        *r -= l * d;
                    }
                }
            }
            let d = chol.l[i * p + i];
            row.iter_mut().for_each(|r| *r /= d);
        }
        let mut leverage = vec![0.0; n];
        for i in 0..p {
            for (h, v) in leverage.iter_mut().zip(&u[i * n..(i + 1) * n]) {
                *h += v * v;
            }
        }
        Some(OddCubic {
            m,
            triples,
            coef,
            leverage,
        })
    }

    /// g(z) for every target at the coalition with `members`; g(1 − z) = −g(z).
    pub fn values(&self, members: &[usize]) -> Vec<f64> {
        let mut x = Vec::new();
        basis(self.m, members, &self.triples, &mut x);
        self.coef
            .iter()
            .map(|c| x.iter().zip(c).map(|(x, c)| x * c).sum())
            .collect()
    }

    /// g at the full coalition (g at the empty one is its negative).
    pub fn full(&self, t: usize) -> f64 {
        self.coef[t].iter().sum()
    }

    /// The exact Shapley values of g for target `t`.
    pub fn shapley(&self, t: usize) -> Vec<f64> {
        let coef = &self.coef[t];
        let mut phi: Vec<f64> = coef[..self.m].iter().map(|a| 2.0 * a).collect();
        for (tr, a) in self.triples.iter().zip(&coef[self.m..]) {
            for &j in tr {
                phi[j] += 2.0 / 3.0 * a;
            }
        }
        phi
    }
}

/// Σ a_i b_i with four running sums (the compiler keeps a single sum in order).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for q in 0..4 {
            acc[q] += x[q] * y[q];
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// A lower-triangular Cholesky factor, row-major.
struct Cholesky {
    l: Vec<f64>,
    p: usize,
}

/// Factors the symmetric matrix whose lower triangle `a` holds, in place.
fn cholesky(a: &mut [f64], p: usize) -> Option<Cholesky> {
    for i in 0..p {
        for j in 0..=i {
            let s = a[i * p + j] - dot(&a[i * p..i * p + j], &a[j * p..j * p + j]);
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                a[i * p + i] = s.sqrt();
            } else {
                a[i * p + j] = s / a[j * p + j];
            }
        }
    }
    Some(Cholesky { l: a.to_vec(), p })
}

impl Cholesky {
    /// L⁻¹ b.
    fn forward(&self, b: &[f64]) -> Vec<f64> {
        let p = self.p;
        let mut u = b.to_vec();
        for i in 0..p {
            let row = &self.l[i * p..i * p + i];
            let s: f64 = row.iter().zip(&u[..i]).map(|(l, u)| l * u).sum();
            u[i] = (u[i] - s) / self.l[i * p + i];
        }
        u
    }

    /// (L Lᵀ)⁻¹ b.
    fn solve(&self, b: &[f64]) -> Vec<f64> {
        let p = self.p;
        let mut u = self.forward(b);
        for i in (0..p).rev() {
            let s: f64 = (i + 1..p).map(|q| self.l[q * p + i] * u[q]).sum();
            u[i] = (u[i] - s) / self.l[i * p + i];
        }
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::kernel::design::combinations;

    /// Shapley values by enumeration of a game on `m` players.
    fn brute_shapley(m: usize, v: &dyn Fn(&[usize]) -> f64) -> Vec<f64> {
        let fact = |n: usize| (1..=n).map(|x| x as f64).product::<f64>();
        let mut phi = vec![0.0; m];
        for s in 0..m {
            for z in combinations(m, s) {
                let w = fact(s) * fact(m - s - 1) / fact(m);
                for i in (0..m).filter(|i| !z.contains(i)) {
                    let mut with = z.clone();
                    with.push(i);
                    with.sort_unstable();
                    phi[i] += w * (v(&with) - v(&z));
                }
            }
        }
        phi
    }

    #[test]
    fn a_cubic_game_is_fitted_exactly_and_its_shapley_values_are_closed_form() {
        // v(z) = 3 z0 + z1 z2 − 2 z0 z3 z4 + 0.5 z1 z2 z4 + z5 (degree three in 0/1).
        let m = 6;
        let v = |z: &[usize]| -> f64 {
            let on = |j: usize| f64::from(u8::from(z.contains(&j)));
            3.0 * on(0) + on(1) * on(2) - 2.0 * on(0) * on(3) * on(4)
                + 0.5 * on(1) * on(2) * on(4)
                + on(5)
        };
        let full: Vec<usize> = (0..m).collect();
        let sides: Vec<Vec<usize>> = (1..=3)
            .flat_map(|s| combinations(m, s))
            .filter(|z| 2 * z.len() < m || z.contains(&0))
            .collect();
        let odd: Vec<Vec<f64>> = sides
            .iter()
            .map(|z| {
                let rest: Vec<usize> = full.iter().copied().filter(|j| !z.contains(j)).collect();
                vec![(v(z) - v(&rest)) / 2.0]
            })
            .collect();
        let pairs: Vec<(&[usize], f64)> = sides.iter().map(|z| (z.as_slice(), 1.0)).collect();
        let g = OddCubic::fit(m, &pairs, &odd).unwrap();
        for (z, y) in sides.iter().zip(&odd) {
            assert!((g.values(z)[0] - y[0]).abs() < 1e-6);
        }
        let want = brute_shapley(m, &v);
        for (a, b) in g.shapley(0).iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // Efficiency of the surrogate: Σφ = g(1) − g(0) = 2·g(1).
        let sum: f64 = g.shapley(0).iter().sum();
        assert!((sum - 2.0 * g.full(0)).abs() < 1e-9);
        assert_eq!(parameters(m), g.coef[0].len());
        // The leverages are the hat matrix's diagonal: they sum to its rank.
        let trace: f64 = g.leverage.iter().sum();
        assert!((trace - parameters(m) as f64).abs() < 1e-3, "{trace}");
        assert!(g.leverage.iter().all(|&h| (0.0..=1.0 + 1e-9).contains(&h)));
    }
}
