//! The kriging surrogate's prior over the odd part of the game (`kriging`): each odd set's
//! coefficient variance, a sum of three product priors over the features' relevances, and the
//! covariance it gives two coalitions.

use faer::prelude::*;
use faer::{Mat, Side};

use super::kriging::targets;
use crate::explain::image::ig::quadrature;

/// A relevance is at least this (relative to the mean one), so that every odd set keeps some
/// prior variance and the posterior still interpolates every observed pair (from 1e-3 the
/// likelihood could choose a prior too narrow for the jitter, and the fit stopped
/// interpolating).
const MIN_RELEVANCE: f64 = 0.05;

/// The prior: the decay from one odd order to the next, the values' noise variance relative
/// to one value's prior variance, and each feature's relevance.
#[derive(Clone, Debug)]
pub(super) struct Prior {
    pub rho: f64,
    pub noise: f64,
    pub relevance: Vec<f64>,
}

/// The product priors summed: the points of a Gauss–Legendre rule on [0, 1].
const PRIORS: usize = 3;

impl Prior {
    /// The product priors it sums: each one's weight and its `β_q w_j` per feature.
    pub(super) fn nodes(&self) -> Vec<(f64, Vec<f64>)> {
        let m = self.relevance.len() as i32;
        quadrature(PRIORS, true)
            .into_iter()
            .map(|(t, w)| {
                let beta = self.rho.sqrt() * t / (1.0 - t);
                let scales = self.relevance.iter().map(|r| beta * r).collect();
                (w * (1.0 - t).powi(m), scales)
            })
            .collect()
    }
}

/// The products a pattern of one byte of features contributes, side by side for the three
/// product priors: `Π (1 + s_j)` for each, then `Π (1 − s_j)` for each, then padding to a
/// cache line, so that one load and one vector multiply serve them all.
type Products = [f64; 8];
const _: () = assert!(2 * PRIORS <= 8);

/// The prior covariance of `g` at two coalitions as a function of the features they differ
/// in, by tables of the products over each byte of features.
pub(super) struct Covariance {
    /// Each product prior's weight.
    weights: [f64; PRIORS],
    /// Per byte of features and per pattern of differing ones among them, the products of
    /// `1 + s_j` and of `1 − s_j` with the signs of the differing features flipped.
    tables: Vec<[Products; 256]>,
}

impl Covariance {
    pub(super) fn new(prior: &Prior) -> Self {
        let nodes = prior.nodes();
        let mut weights = [0.0; PRIORS];
        for (w, (weight, _)) in weights.iter_mut().zip(&nodes) {
            *w = *weight;
        }
        let m = prior.relevance.len();
        let tables = (0..m.div_ceil(8))
            .map(|c| {
                let mut t = [[1.0; 8]; 256];
                for (pattern, p) in t.iter_mut().enumerate() {
                    for (q, (_, scales)) in nodes.iter().enumerate() {
                        for (j, &s) in scales.iter().enumerate().skip(8 * c).take(8) {
                            let s = if pattern >> (j - 8 * c) & 1 == 1 {
                                -s
                            } else {
                                s
                            };
                            p[q] *= 1.0 + s;
                            p[PRIORS + q] *= 1.0 - s;
                        }
                    }
                }
                t
            })
            .collect();
        Covariance { weights, tables }
    }

    /// What is added to the covariance matrix's diagonal: the jitter and the noise variance,
    /// both relative to one value's prior variance.
    pub(super) fn shift(&self, jitter: f64, noise: f64) -> f64 {
        (jitter + noise) * self.at(0)
    }

    /// The prior covariance of `g` at two coalitions that differ in the features of `differ`.
    #[inline]
    pub(super) fn at(&self, differ: u64) -> f64 {
        let mut acc = [1.0; 8];
        for (c, table) in self.tables.iter().enumerate() {
            let p = &table[(differ >> (8 * c) & 0xff) as usize];
            for (a, p) in acc.iter_mut().zip(p) {
                *a *= p;
            }
        }
        let q = PRIORS;
        (0..q)
            .map(|i| self.weights[i] * (acc[i] - acc[q + i]) / 2.0)
            .sum()
    }
}

/// Each feature's relevance: the size of its coefficient in a least-squares fit of the
/// linear terms to the points, summed over the targets, relative to the mean feature's. All
/// ones when the fit fails or every coefficient is zero.
pub(super) fn relevance(m: usize, masks: &[u64], y: &[Vec<f64>]) -> Vec<f64> {
    let k = y.first().map_or(0, Vec::len);
    let x = Mat::from_fn(masks.len(), m, |i, j| match masks[i] >> j & 1 {
        1 => 1.0,
        _ => -1.0,
    });
    let all: Vec<usize> = (0..masks.len()).collect();
    let yt = targets(y, &all);
    let normal = x.transpose() * &x;
    let size: Vec<f64> = match normal.llt(Side::Lower) {
        Ok(llt) => {
            let coef = llt.solve(x.transpose() * &yt);
            (0..m)
                .map(|j| (0..k).map(|t| coef[(j, t)].abs()).sum())
                .collect()
        }
        Err(_) => vec![1.0; m],
    };
    let mean = size.iter().sum::<f64>() / m as f64;
    if !(mean.is_finite() && mean > 0.0) {
        return vec![1.0; m];
    }
    size.iter().map(|s| s / mean + MIN_RELEVANCE).collect()
}

/// For each `i`, `Σ_{S ⊆ others, |S| even} Π_{l∈S} u_l / (|S| + 1)`: the integral over
/// `t ∈ [0, 1]` of the even part of `Π_{l≠i} (1 + u_l t)`, a polynomial of degree below
/// `u.len()`, by `rule` (Gauss–Legendre, exact with `⌈len/2⌉` points; with one point, for
/// at most two features, the even part is constant and any rule is exact) and products
/// before and after `i`.
pub(super) fn even_sums(u: &[f64], rule: &[(f64, f64)]) -> Vec<f64> {
    let n = u.len();
    let mut out = vec![0.0; n];
    let (mut plus, mut minus) = (vec![1.0; n + 1], vec![1.0; n + 1]);
    for &(t, w) in rule {
        // Products of the features after each one.
        for l in (0..n).rev() {
            plus[l] = plus[l + 1] * (1.0 + u[l] * t);
            minus[l] = minus[l + 1] * (1.0 - u[l] * t);
        }
        let (mut before_plus, mut before_minus) = (1.0, 1.0);
        for (l, o) in out.iter_mut().enumerate() {
            *o += w * (before_plus * plus[l + 1] + before_minus * minus[l + 1]) / 2.0;
            before_plus *= 1.0 + u[l] * t;
            before_minus *= 1.0 - u[l] * t;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_even_sums_match_the_elementary_symmetric_polynomials() {
        // By the elementary symmetric polynomials of the others, e_k, as Σ_{k even} e_k/(k+1).
        for m in [1usize, 2, 5, 12, 30] {
            let u: Vec<f64> = (0..m)
                .map(|l| ((l * 7 % 5) as f64 - 2.0) * 0.4 + 0.05)
                .collect();
            let got = even_sums(&u, &quadrature(m.div_ceil(2), true));
            for (i, got) in got.iter().enumerate() {
                let mut e = vec![0.0; m + 1];
                e[0] = 1.0;
                for (l, &a) in u.iter().enumerate().filter(|&(l, _)| l != i) {
                    for q in (1..=l + 1).rev() {
                        e[q] += a * e[q - 1];
                    }
                }
                let want: f64 = (0..m).step_by(2).map(|q| e[q] / (q + 1) as f64).sum();
                assert!(
                    (got - want).abs() < 1e-10 * want.abs().max(1.0),
                    "m {m}, i {i}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn the_covariance_is_the_prior_sum_over_odd_sets() {
        // Σ over odd sets T of τ_T χ_T(x) χ_T(x'), τ_T = Σ_q ω_q (1 − t_q)^M Π_{j∈T} β_q w_j,
        // by brute force, over ten features (two bytes of the tables).
        let m = 10;
        let prior = Prior {
            rho: 0.3,
            noise: 0.0,
            relevance: (0..m).map(|j| 0.2 + 0.15 * j as f64).collect(),
        };
        let nodes = prior.nodes();
        let tau = |set: u64| -> f64 {
            nodes
                .iter()
                .map(|(w, s)| {
                    let p: f64 = (0..m).filter(|j| set >> j & 1 == 1).map(|j| s[j]).product();
                    w * p
                })
                .sum()
        };
        let cov = Covariance::new(&prior);
        for differ in [0u64, 1, 0b1000000001, 0b0110110100, (1 << m) - 1] {
            let mut brute = 0.0;
            for set in 1u64..1 << m {
                if set.count_ones() % 2 == 1 {
                    let sign = if (set & differ).count_ones() % 2 == 1 {
                        -1.0
                    } else {
                        1.0
                    };
                    brute += tau(set) * sign;
                }
            }
            let got = cov.at(differ);
            assert!(
                (got - brute).abs() < 1e-9 * brute.abs().max(1.0),
                "{differ:b}: {got} vs {brute}"
            );
        }
    }
}
