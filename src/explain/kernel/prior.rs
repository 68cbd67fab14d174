//! The kriging surrogate's prior over the odd part of the game (`kriging`): each odd set's
//! coefficient variance, a sum of three product priors over the features' relevances, and the
//! covariance it gives two coalitions.

use faer::prelude::*;
use faer::{Mat, Side};

use super::kriging::targets;

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

/// The three-point Gauss–Legendre rule on [0, 1]: nodes and weights.
const NODES: [(f64, f64); 3] = [
    (0.112_701_665_379_258_31, 5.0 / 18.0),
    (0.5, 8.0 / 18.0),
    (0.887_298_334_620_741_7, 5.0 / 18.0),
];

impl Prior {
    /// The product priors it sums: each one's weight and its `β_q w_j` per feature.
    pub(super) fn nodes(&self) -> Vec<(f64, Vec<f64>)> {
        let m = self.relevance.len() as i32;
        NODES
            .iter()
            .map(|&(t, w)| {
                let beta = self.rho.sqrt() * t / (1.0 - t);
                let scales = self.relevance.iter().map(|r| beta * r).collect();
                (w * (1.0 - t).powi(m), scales)
            })
            .collect()
    }
}

/// Per byte of features, a value per pattern of its bits.
type Tables = Vec<[f64; 256]>;

/// The prior covariance of `g` at two coalitions as a function of the features they differ
/// in, by tables of the two products over each byte of features, per product prior.
pub(super) struct Covariance {
    /// Per product prior: its weight, and per byte of features and per pattern of differing
    /// ones among them, the products of `1 + s_j` and of `1 − s_j` with the signs of the
    /// differing features flipped.
    nodes: Vec<(f64, Tables, Tables)>,
}

impl Covariance {
    pub(super) fn new(prior: &Prior) -> Self {
        let table = |scales: &[f64], sign: f64| -> Tables {
            scales
                .chunks(8)
                .map(|chunk| {
                    let mut t = [1.0; 256];
                    for (pattern, p) in t.iter_mut().enumerate() {
                        for (j, &s) in chunk.iter().enumerate() {
                            let s = if pattern >> j & 1 == 1 { -s } else { s };
                            *p *= 1.0 + sign * s;
                        }
                    }
                    t
                })
                .collect()
        };
        let nodes = prior
            .nodes()
            .into_iter()
            .map(|(w, scales)| (w, table(&scales, 1.0), table(&scales, -1.0)))
            .collect();
        Covariance { nodes }
    }

    /// The prior covariance of `g` at two coalitions that differ in the features of `differ`.
    pub(super) fn at(&self, differ: u64) -> f64 {
        self.nodes
            .iter()
            .map(|(w, plus, minus)| {
                let (mut p, mut q) = (1.0, 1.0);
                for (c, (a, b)) in plus.iter().zip(minus).enumerate() {
                    let pattern = (differ >> (8 * c) & 0xff) as usize;
                    p *= a[pattern];
                    q *= b[pattern];
                }
                w * (p - q) / 2.0
            })
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

#[cfg(test)]
mod tests {
    use super::*;

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
