//! A kriging (Gaussian-process) surrogate of the game's odd part, with a prior over every odd
//! order of interaction at once, stronger among the features that matter.
//!
//! In the ±1 coding `x_j = 2z_j − 1` the odd part is `g(x) = Σ_T a_T Π_{j∈T} x_j` over odd
//! sets `T`. The prior makes the coefficients independent, `a_T ~ N(0, c_|T| Π_{j∈T} w_j)`:
//! each feature has a relevance `w_j`, its linear term's size in a least-squares fit of the
//! pairs relative to the mean one's, and the variance of order `k` falls geometrically,
//! `c_k ≈ ρ^((k−1)/2) / C(M, k)`. That `1/C(M, k)` is a Beta integral,
//! `(M + 1) ∫ t^k (1 − t)^(M−k) dt`, so a three-point Gauss–Legendre rule makes the prior a
//! sum of three product priors `a_T ~ N(0, Π_{j∈T} β_q w_j)`, `β_q = √ρ t_q / (1 − t_q)`, each
//! weighted by `ω_q (1 − t_q)^M`. The rule is not exact (past ten features some orders' `c_k`
//! are a few times off), but every weight is positive, so it is a prior of the same shape: on
//! the benchmark's 12-feature MLP it did as well as the exact sum, and 1.1–1.4 times better
//! than one product prior. The covariance of `g` at two coalitions under a product prior
//! is a product, `[Π_j (1 + β w_j x_j x'_j) − Π_j (1 − β w_j x_j x'_j)]/2` (the odd part of
//! `Π_j (1 + β w_j x_j x'_j)`), read from tables over bytes of features. The Shapley values are
//! linear in the coefficients, `φ_i = Σ_{T∋i} 2 a_T/|T|`, so their posterior mean given the
//! sampled pairs is closed form: `φ = C K⁻¹ y`, with `C` the covariance of `φ` with `g` at the
//! pairs. Unlike a fit of chosen terms it needs no more pairs than the game's smooth part asks
//! for: a network's game has interactions of every order, each small, and a boosted
//! ensemble's are concentrated among its strongest features, which the relevances favour.
//!
//! `ρ` is the one free choice besides the relevances (the overall scale cancels from the
//! mean); it maximises the marginal likelihood of the pairs, searched on a grid and refined by
//! golden section, on at most [`SEARCH_POINTS`] of them. The left-out residual of each pair is
//! closed form, `[K⁻¹y]_i / [K⁻¹]_ii`, for the standard errors and for comparing with other
//! fits.

use std::collections::HashMap;

use faer::prelude::*;
use faer::{Mat, Side};

use super::prior::{Covariance, Prior, even_sums, relevance};
use crate::explain::image::ig::quadrature;

/// The likelihood is searched on a grid over at most this many pairs (spread over all of
/// them), and refined on at most `REFINE_POINTS`: on the 16-feature MLP of the benchmark, at
/// 1,024 coalitions, the decay the likelihood of 160 pairs chose gave 1.4 times the error of
/// the one chosen on all 513, and 384 pairs came within 5% of it.
const SEARCH_POINTS: usize = 160;
const REFINE_POINTS: usize = 384;

/// Above this many pairs the chosen terms did as well on the benchmark's networks (16-feature
/// MLP, 2,048 coalitions: 1.12e-6 against 1.09e-6) for a fraction of the O(pairs³) solve.
pub(super) const MAX_PAIRS: usize = 600;

/// Measured up to this many features (the benchmark's 30); past it, the linear control
/// variate.
pub(super) const MAX_FEATURES: usize = 30;

/// Added to the covariance's diagonal, relative to the prior variance of one value, so the
/// factorisation stays stable when pairs nearly repeat the information of others.
const JITTER: f64 = 1e-10;

/// The noise variances (relative to one value's prior variance) searched when the values are
/// noisy (each coalition evaluated against its own sample of the background).
const NOISE_GRID: [f64; 7] = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0];

/// `log10 ρ` searched: a grid over this range, then golden-section steps around its best.
const LOG_RHO: (f64, f64) = (-6.0, 0.75);
const GRID_STEP: f64 = 0.75;
const GOLDEN_STEPS: usize = 5;

/// The fitted surrogate for every target.
pub(super) struct OddKriging {
    m: usize,
    /// The fitted coalitions as bit masks: the full one, then one side of each pair.
    masks: Vec<u64>,
    /// The posterior mean at each fitted point, per target, by its mask (`K α`, which is the
    /// point's value less the jitter and noise times its `α`).
    at_points: HashMap<u64, Vec<f64>>,
    /// The prior covariance.
    cov: Covariance,
    /// `K⁻¹y` per target.
    alpha: Vec<Vec<f64>>,
    /// The posterior mean's Shapley values per target.
    phi: Vec<Vec<f64>>,
    /// Per target, each pair's odd residual when it is left out of the fit.
    left_out: Vec<Vec<f64>>,
    pub prior: Prior,
}

/// At most `cap` of the indices `0..n`, evenly spread.
pub(super) fn spread(n: usize, cap: usize) -> Vec<usize> {
    match n <= cap {
        true => (0..n).collect(),
        false => (0..cap).map(|i| i * n / cap).collect(),
    }
}

fn mask_of(members: &[usize]) -> u64 {
    members.iter().fold(0u64, |acc, &j| acc | (1u64 << j))
}

/// The Cholesky factor of the covariance matrix of the points `masks` (with the jitter, and
/// the noise variance relative to one value's prior variance).
fn factor(masks: &[u64], cov: &Covariance, noise: f64) -> Option<faer::linalg::solvers::Llt<f64>> {
    let n = masks.len();
    let diagonal = cov.at(0) + cov.shift(JITTER, noise);
    let mut k = Mat::<f64>::zeros(n, n);
    for i in 0..n {
        k[(i, i)] = diagonal;
        for j in 0..i {
            let c = cov.at(masks[i] ^ masks[j]);
            k[(i, j)] = c;
            k[(j, i)] = c;
        }
    }
    k.llt(Side::Lower).ok()
}

/// The targets' values as an `n × targets` matrix.
pub(super) fn targets(y: &[Vec<f64>], rows: &[usize]) -> Mat<f64> {
    let k = y.first().map_or(0, Vec::len);
    Mat::from_fn(rows.len(), k, |i, t| y[rows[i]][t])
}

/// The log marginal likelihood with each target's scale profiled out, up to a constant.
fn log_likelihood(masks: &[u64], y: &Mat<f64>, prior: &Prior) -> f64 {
    let n = y.nrows();
    let Some(llt) = factor(masks, &Covariance::new(prior), prior.noise) else {
        return f64::NEG_INFINITY;
    };
    let alpha = llt.solve(y);
    let log_det: f64 = (0..n).map(|i| 2.0 * llt.L()[(i, i)].ln()).sum();
    let fit: f64 = (0..y.ncols())
        .map(|t| {
            let q: f64 = (0..n).map(|i| y[(i, t)] * alpha[(i, t)]).sum();
            (q / n as f64).max(f64::MIN_POSITIVE).ln()
        })
        .sum();
    -0.5 * n as f64 * fit - 0.5 * y.ncols() as f64 * log_det
}

/// The Shapley values of the posterior mean per target, `Σ_i α_i Cov(φ, g(x_i))`.
fn shapley_values(m: usize, masks: &[u64], prior: &Prior, alpha: &[Vec<f64>]) -> Vec<Vec<f64>> {
    // Cov(φ_i, g(x)) = Σ_{T∋i, odd} (2/|T|) τ_T χ_T(x): per product prior, with
    // u_l = β_q w_l x_l, 2 u_i Σ over even sets S of the others of Π_{l∈S} u_l / (|S| + 1).
    let nodes = prior.nodes();
    let rule = quadrature(m.div_ceil(2), true);
    let psi: Vec<Vec<f64>> = masks
        .iter()
        .map(|&mask| {
            let mut psi = vec![0.0; m];
            for (weight, scales) in &nodes {
                let u: Vec<f64> = scales
                    .iter()
                    .enumerate()
                    .map(|(l, &s)| if mask >> l & 1 == 1 { s } else { -s })
                    .collect();
                for ((p, e), u) in psi.iter_mut().zip(even_sums(&u, &rule)).zip(&u) {
                    *p += weight * 2.0 * u * e;
                }
            }
            psi
        })
        .collect();
    alpha
        .iter()
        .map(|a| {
            let mut phi = vec![0.0; m];
            for (p, &w) in psi.iter().zip(a) {
                for (f, q) in phi.iter_mut().zip(p) {
                    *f += w * q;
                }
            }
            phi
        })
        .collect()
}

/// Per target, each pair's odd residual when it is left out of the fit, `[K⁻¹y]_i / [K⁻¹]_ii`
/// (the first point, the full coalition, is not a pair).
fn left_out_residuals(llt: &faer::linalg::solvers::Llt<f64>, alpha: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = llt.L().nrows();
    // [K⁻¹]_ii = Σ_j (L⁻¹)_ji², from the inverse of the triangular factor.
    let mut l_inv = Mat::<f64>::zeros(n, n);
    faer::linalg::triangular_inverse::invert_lower_triangular(
        l_inv.as_mut(),
        llt.L(),
        faer::Par::Seq,
    );
    let inverse_diagonal: Vec<f64> = (0..n)
        .map(|i| (i..n).map(|j| l_inv[(j, i)].powi(2)).sum())
        .collect();
    alpha
        .iter()
        .map(|a| (1..n).map(|i| a[i] / inverse_diagonal[i]).collect())
        .collect()
}

impl OddKriging {
    /// Fits the odd part `odd` of the game at one side of each pair (`sides`), together with
    /// its value at the full coalition, `(v(1) − v(0))/2` per target. `None` when the
    /// covariance cannot be factored. The prior (see [`OddKriging::prior`]) is searched for
    /// unless given; with `noisy` false the values are exact and there is no noise. With
    /// `explain` false the fit is for its values alone (the cross-validation's fits on halves
    /// of the pairs): no Shapley values and no left-out residuals.
    pub fn fit(
        m: usize,
        sides: &[&[usize]],
        odd: &[Vec<f64>],
        full: &[f64],
        prior: Option<Prior>,
        noisy: bool,
        explain: bool,
    ) -> Option<Self> {
        if m == 0 || m > 63 || sides.is_empty() {
            return None;
        }
        let mut masks = vec![(1u64 << m) - 1];
        masks.extend(sides.iter().map(|z| mask_of(z)));
        let mut y = vec![full.to_vec()];
        y.extend(odd.iter().cloned());
        let n = masks.len();

        let prior = match prior {
            Some(prior) => prior,
            None => Self::search(&masks, &y, relevance(m, &masks, &y), noisy)?,
        };
        // The posterior on every point.
        let cov = Covariance::new(&prior);
        let llt = factor(&masks, &cov, prior.noise)?;
        let all: Vec<usize> = (0..n).collect();
        let alpha = llt.solve(targets(&y, &all));
        let k = alpha.ncols();
        let alpha: Vec<Vec<f64>> = (0..k)
            .map(|t| (0..n).map(|i| alpha[(i, t)]).collect())
            .collect();
        // The Shapley values and left-out residuals, unless the fit is for its values alone.
        let (phi, left_out) = match explain {
            true => (
                shapley_values(m, &masks, &prior, &alpha),
                left_out_residuals(&llt, &alpha),
            ),
            false => (vec![vec![0.0; m]; k], Vec::new()),
        };
        let shrink = cov.shift(JITTER, prior.noise);
        let at_points = masks
            .iter()
            .enumerate()
            .map(|(i, &mask)| {
                let g = (0..k).map(|t| y[i][t] - shrink * alpha[t][i]).collect();
                (mask, g)
            })
            .collect();
        Some(OddKriging {
            m,
            masks,
            at_points,
            cov,
            alpha,
            phi,
            left_out,
            prior,
        })
    }

    /// The prior's decay (and noise) by the marginal likelihood of at most [`SEARCH_POINTS`]
    /// of the points, evenly spread, then at most [`REFINE_POINTS`].
    fn search(masks: &[u64], y: &[Vec<f64>], relevance: Vec<f64>, noisy: bool) -> Option<Prior> {
        let n = masks.len();
        // An evenly spread subset of the points: its masks and targets.
        let spread = |size: usize| {
            let subset = spread(n, size);
            let sub_masks: Vec<u64> = subset.iter().map(|&i| masks[i]).collect();
            (sub_masks, targets(y, &subset))
        };
        let (grid_masks, grid_y) = spread(SEARCH_POINTS);
        let (sub_masks, sub_y) = spread(REFINE_POINTS);
        let likelihood = |masks: &[u64], y: &Mat<f64>, log_rho: f64, noise: f64| {
            let prior = Prior {
                rho: 10f64.powf(log_rho),
                noise,
                relevance: relevance.clone(),
            };
            log_likelihood(masks, y, &prior)
        };
        let coarse = |log_rho: f64| likelihood(&grid_masks, &grid_y, log_rho, 0.0);
        let steps = ((LOG_RHO.1 - LOG_RHO.0) / GRID_STEP).round() as usize;
        let (mut best, mut best_score) = (LOG_RHO.0, f64::NEG_INFINITY);
        for s in 0..=steps {
            let at = LOG_RHO.0 + s as f64 * GRID_STEP;
            let value = coarse(at);
            if value > best_score {
                (best, best_score) = (at, value);
            }
        }
        if best_score == f64::NEG_INFINITY {
            return None;
        }
        // Noisy values: the noise by a grid at that decay, then the decay again with it.
        let noise = match noisy {
            false => 0.0,
            true => {
                NOISE_GRID
                    .iter()
                    .map(|&e| (e, likelihood(&grid_masks, &grid_y, best, e)))
                    .fold(
                        (0.0, f64::NEG_INFINITY),
                        |a, b| if b.1 > a.1 { b } else { a },
                    )
                    .0
            }
        };
        let score = |log_rho: f64| likelihood(&sub_masks, &sub_y, log_rho, noise);
        // The golden-section steps on the larger subset.
        let golden = (5f64.sqrt() - 1.0) / 2.0;
        // On at most SEARCH_POINTS points the two subsets are the same: the grid's best needs
        // no second factorisation.
        if n > SEARCH_POINTS || noise != 0.0 {
            best_score = score(best);
        }
        let (mut lo, mut hi) = (
            (best - GRID_STEP).max(LOG_RHO.0),
            (best + GRID_STEP).min(LOG_RHO.1),
        );
        let (mut a, mut b) = (hi - golden * (hi - lo), lo + golden * (hi - lo));
        let (mut fa, mut fb) = (score(a), score(b));
        for _ in 0..GOLDEN_STEPS {
            if fa > fb {
                (hi, b, fb) = (b, a, fa);
                a = hi - golden * (hi - lo);
                fa = score(a);
            } else {
                (lo, a, fa) = (a, b, fb);
                b = lo + golden * (hi - lo);
                fb = score(b);
            }
        }
        for (at, value) in [(a, fa), (b, fb)] {
            if value > best_score {
                (best, best_score) = (at, value);
            }
        }
        Some(Prior {
            rho: 10f64.powf(best),
            noise,
            relevance,
        })
    }

    /// The posterior mean of g at the coalition with `members`, every target.
    pub fn values(&self, members: &[usize]) -> Vec<f64> {
        let x = mask_of(members);
        if let Some(g) = self.at_points.get(&x) {
            return g.clone();
        }
        let full = (1u64 << self.m) - 1;
        if let Some(g) = self.at_points.get(&(full ^ x)) {
            return g.iter().map(|g| -g).collect();
        }
        let k: Vec<f64> = self.masks.iter().map(|&p| self.cov.at(p ^ x)).collect();
        self.alpha
            .iter()
            .map(|a| a.iter().zip(&k).map(|(a, k)| a * k).sum())
            .collect()
    }

    /// The posterior mean of g at the full coalition.
    pub fn full(&self, t: usize) -> f64 {
        self.values(&(0..self.m).collect::<Vec<_>>())[t]
    }

    /// The exact Shapley values of the posterior mean for target `t`.
    pub fn shapley(&self, t: usize) -> Vec<f64> {
        self.phi[t].clone()
    }

    /// The odd residual of pair `i` (in the order given to [`OddKriging::fit`]) for target
    /// `t`, left out of the fit.
    pub fn left_out(&self, i: usize, t: usize) -> f64 {
        self.left_out[t][i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::kernel::design::combinations;

    #[test]
    fn a_linear_game_is_recovered_and_the_values_add_up() {
        // g(x) = Σ w_i x_i, observed on a few pairs: the posterior mean's Shapley values are
        // 2w, and they sum to 2·g(1) whatever ρ is chosen.
        let m = 7;
        let w = [0.3, -0.2, 0.5, 0.1, 0.0, -0.4, 0.25];
        let g = |z: &[usize]| -> f64 {
            (0..m)
                .map(|j| if z.contains(&j) { w[j] } else { -w[j] })
                .sum()
        };
        let sides: Vec<Vec<usize>> = (1..=3)
            .flat_map(|s| combinations(m, s))
            .step_by(3)
            .collect();
        let odd: Vec<Vec<f64>> = sides.iter().map(|z| vec![g(z)]).collect();
        let refs: Vec<&[usize]> = sides.iter().map(Vec::as_slice).collect();
        let full = [w.iter().sum::<f64>()];
        let fit = OddKriging::fit(m, &refs, &odd, &full, None, false, true).unwrap();
        let phi = fit.shapley(0);
        for (p, w) in phi.iter().zip(w) {
            assert!((p - 2.0 * w).abs() < 1e-4, "{p} vs {}", 2.0 * w);
        }
        let sum: f64 = phi.iter().sum();
        assert!((sum - 2.0 * fit.full(0)).abs() < 1e-9);
        // Odd: g(1 − z) = −g(z).
        let z = [1, 4];
        let rest: Vec<usize> = (0..m).filter(|j| !z.contains(j)).collect();
        assert!((fit.values(&z)[0] + fit.values(&rest)[0]).abs() < 1e-12);
        assert!((fit.values(&z)[0] - g(&z)).abs() < 1e-4);
    }

    #[test]
    fn with_every_pair_observed_the_values_are_exact_for_any_game() {
        // The posterior mean interpolates the odd part at every coalition, so its Shapley
        // values are the game's, checked against the permutation definition.
        let m = 6;
        let v = |z: &[usize]| -> f64 {
            let s: f64 = z.iter().map(|&j| (j as f64 + 1.0).sqrt()).sum();
            (1.3 * s).sin()
                + if z.contains(&2) && z.contains(&5) {
                    0.7
                } else {
                    0.0
                }
        };
        let full: Vec<usize> = (0..m).collect();
        let sides: Vec<Vec<usize>> = (1..=m / 2)
            .flat_map(|s| combinations(m, s))
            .filter(|z| 2 * z.len() < m || z.contains(&0))
            .collect();
        let rest = |z: &[usize]| -> Vec<usize> { (0..m).filter(|j| !z.contains(j)).collect() };
        let odd: Vec<Vec<f64>> = sides
            .iter()
            .map(|z| vec![(v(z) - v(&rest(z))) / 2.0])
            .collect();
        let refs: Vec<&[usize]> = sides.iter().map(Vec::as_slice).collect();
        let fit = OddKriging::fit(
            m,
            &refs,
            &odd,
            &[(v(&full) - v(&[])) / 2.0],
            None,
            false,
            true,
        )
        .unwrap();
        let fact = |n: usize| (1..=n).map(|x| x as f64).product::<f64>();
        for i in 0..m {
            let mut want = 0.0;
            for s in 0..m {
                for z in combinations(m, s).into_iter().filter(|z| !z.contains(&i)) {
                    let mut with = z.clone();
                    with.push(i);
                    with.sort_unstable();
                    want += fact(s) * fact(m - s - 1) / fact(m) * (v(&with) - v(&z));
                }
            }
            let got = fit.shapley(0)[i];
            assert!((got - want).abs() < 1e-6, "feature {i}: {got} vs {want}");
        }
        // Every left-out residual is finite (each pair is predicted from the others).
        assert!((0..sides.len()).all(|i| fit.left_out(i, 0).is_finite()));
    }
}
