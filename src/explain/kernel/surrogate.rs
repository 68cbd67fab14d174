//! A non-linear surrogate of the game for the regression-adjusted estimator: the odd part of
//! `v` in the ±1 coding `x_j = 2z_j − 1`, `g(z) = Σ_i a_i x_i + Σ_T a_T Π_{j∈T} x_j` over odd
//! sets `T` of three or more features.
//!
//! Only the odd part matters: with complementary pairs and a size-symmetric kernel, the even
//! part `(v(z) + v(1 − z))/2` adds the same amount to every feature's term and cancels in the
//! centred solution, and its Shapley values are zero. A second-order term's odd part is linear,
//! so the first non-linear odd terms are the third-order ones. A boosted ensemble of depth-3
//! trees is a sum of functions of at most three features each, so its interventional game
//! (before the link) is exactly of this form, with one term per triple its trees use.
//!
//! The surrogate is fitted by weighted least squares to the pairs' odd parts
//! `(v(z) − v(1 − z))/2`, by modified Gram–Schmidt. Which terms: every triple
//! ([`Terms::AllTriples`], once the pairs reach 1.5 times their number), or by default
//! ([`Terms::Chosen`]) those an orthogonal matching pursuit picks block by block from the
//! triples (and, up to ten features, the fifth-order terms), as many as minimise the fit's
//! leave-one-out error (PRESS). The chosen terms need only as many pairs as the game has
//! interactions, not as many as it could have. Its Shapley values are closed form,
//! `φ_i(x_T) = 2/|T|` for `i ∈ T` and odd `|T|`. The estimator then samples only the residual
//! game `v − g`. The leverages `h` of the fit give each pair's leave-one-out residual
//! `e/(1 − h)`, which the standard errors use, so an over-fitted surrogate does not make the
//! intervals narrower than its real error.

use std::collections::HashMap;

use ndarray::Array2;

use super::super::Attribution;
use super::Surrogate;
use super::design::{binomial, combinations, complement};
use super::estimate::Estimator;

/// Every triple ([`Terms::AllTriples`]) is fitted once the pairs (enumerated and sampled) reach this
/// multiple of its parameters; below it, the linear control variate alone. Measured on the
/// breast-cancer MLPs and boosted trees (BENCHMARKS.md): at 1.06–1.1 pairs a parameter the
/// surrogate's error was up to 30× the linear one's; from 1.8 it was 2.4–25× lower.
pub const SURROGATE_RATIO: f64 = 1.5;

/// The chosen terms are fitted once the pairs exceed the linear terms by this many.
const MIN_SPARE_PAIRS: usize = 4;

/// Above this many parameters (20 features and more) the fit's O(pairs · p²) cost outgrows the
/// model calls it saves; the linear control variate alone is used.
pub const MAX_PARAMETERS: usize = 1000;

/// The attributions with an odd surrogate: its exact Shapley values plus the estimator's on
/// the residual game. `None` when the linear control variate is asked for, when the pairs are
/// too few for the surrogate's parameters, or when its fit fails.
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
    // With a sampled background the pairs' values are noisy, and a search among the terms
    // fits the noise (95% intervals covered 79% at 200 coalitions): every triple, as before.
    let surrogate = match surrogate {
        Surrogate::Sparse if est.background_sampled => Surrogate::OddCubic,
        other => other,
    };
    let terms = match surrogate {
        Surrogate::Linear => return None,
        Surrogate::OddCubic => {
            if (sides.len() as f64) < SURROGATE_RATIO * parameters(m) as f64 {
                return None;
            }
            Terms::AllTriples
        }
        Surrogate::Sparse => {
            if sides.len() < m + MIN_SPARE_PAIRS {
                return None;
            }
            Terms::Chosen
        }
    };
    let g = OddFit::fit(m, &sides, &odd, terms)?;
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
    if terms == Terms::Chosen {
        // Leave-one-out residuals do not see the search that chose the terms, so a fit that
        // nearly interpolates the pairs would claim too little error: the intervals are never
        // narrower than the linear control variate's.
        let plain = est.attributions(v, members, values, values);
        for (a, p) in out.iter_mut().zip(plain) {
            if let (Some(err), Some(wide)) = (a.std_err.as_mut(), p.std_err) {
                err.iter_mut().zip(wide).for_each(|(e, w)| *e = e.max(w));
            }
        }
    }
    Some(out)
}

/// Leverages are capped below one, so a pair the fit passes through still counts.
const MAX_LEVERAGE: f64 = 0.95;

/// Fifth-order candidates are offered while there are at most this many of them.
const MAX_FIFTH_ORDER: usize = 256;

/// Parameters of the dense third-order surrogate of `m` features.
pub(super) fn parameters(m: usize) -> usize {
    m + m * (m - 1) * (m.saturating_sub(2)) / 6
}

/// ±1 codes of the coalition with `members`.
fn codes(m: usize, members: &[usize]) -> Vec<f64> {
    let mut x = vec![-1.0; m];
    for &j in members {
        x[j] = 1.0;
    }
    x
}

/// Which interaction terms the fit uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Terms {
    /// Every third-order term, in order.
    AllTriples,
    /// Greedily chosen odd terms (orthogonal matching pursuit in blocks), as many as the
    /// leave-one-out error of the fit (PRESS) asks for.
    Chosen,
}

/// One fitted surrogate per target: the linear terms and the chosen odd interactions, and
/// each fitted pair's leverage.
pub(super) struct OddFit {
    m: usize,
    /// The interaction terms beyond the linear ones, each an odd set of three or more features.
    terms: Vec<Vec<usize>>,
    /// Coefficients per target: the m linear terms, then `terms`.
    coef: Vec<Vec<f64>>,
    /// The leverage of each pair passed to [`OddFit::fit`], in order.
    pub leverage: Vec<f64>,
}

/// A column whose part orthogonal to those already chosen is below this share of its norm is
/// (numerically) spanned by them and is skipped.
const COLLINEAR: f64 = 1e-8;

/// The chosen terms stop once the fit's leave-one-out error has not improved for this many
/// blocks.
const PATIENCE: usize = 3;

/// An incremental weighted least-squares fit by modified Gram–Schmidt: orthonormal columns
/// `q`, the triangular factor `r` (column by column), the residual of every target and the
/// leverages so far.
struct Gram {
    q: Vec<Vec<f64>>,
    r: Vec<Vec<f64>>,
    /// Qᵀy per target, one entry per column.
    qty: Vec<Vec<f64>>,
    residual: Vec<Vec<f64>>,
    leverage: Vec<f64>,
}

impl Gram {
    fn new(yw: Vec<Vec<f64>>, n: usize) -> Self {
        Gram {
            q: Vec::new(),
            r: Vec::new(),
            qty: vec![Vec::new(); yw.len()],
            residual: yw,
            leverage: vec![0.0; n],
        }
    }

    /// Adds the (weighted) column `u`; false when it is spanned by the columns already in.
    fn push(&mut self, mut u: Vec<f64>) -> bool {
        let norm0 = dot(&u, &u);
        let mut r = Vec::with_capacity(self.q.len() + 1);
        for q in &self.q {
            let c = dot(q, &u);
            u.iter_mut().zip(q).for_each(|(u, q)| *u -= c * q);
            r.push(c);
        }
        let norm = dot(&u, &u);
        if norm.is_nan() || norm <= COLLINEAR * norm0 {
            return false;
        }
        let norm = norm.sqrt();
        u.iter_mut().for_each(|u| *u /= norm);
        r.push(norm);
        for (res, qty) in self.residual.iter_mut().zip(&mut self.qty) {
            let c = dot(&u, res);
            res.iter_mut().zip(&u).for_each(|(e, q)| *e -= c * q);
            qty.push(c);
        }
        self.leverage
            .iter_mut()
            .zip(&u)
            .for_each(|(h, q)| *h += q * q);
        self.q.push(u);
        self.r.push(r);
        true
    }

    /// The weighted leave-one-out error of the fit so far, Σ (e/(1 − h))².
    fn press(&self) -> f64 {
        self.residual
            .iter()
            .map(|res| {
                res.iter()
                    .zip(&self.leverage)
                    .map(|(e, h)| (e / (1.0 - h.min(1.0 - 1e-12))).powi(2))
                    .sum::<f64>()
            })
            .sum()
    }

    /// The coefficients of the first `k` columns for every target: R⁻¹ Qᵀy.
    fn coefficients(&self, k: usize) -> Vec<Vec<f64>> {
        self.qty
            .iter()
            .map(|qty| {
                let mut a = qty[..k].to_vec();
                for i in (0..k).rev() {
                    a[i] /= self.r[i][i];
                    let ai = a[i];
                    for (l, x) in a[..i].iter_mut().enumerate() {
                        *x -= self.r[i][l] * ai;
                    }
                }
                a
            })
            .collect()
    }
}

impl OddFit {
    /// Fits the surrogate to pairs given by the members of one side, a weight, and the odd
    /// part of the game at that side for every target. `None` when the linear terms alone are
    /// not identified by the pairs. The chosen terms come from the triples, or from the triples
    /// and fifth-order terms where those are few, whichever fit leaves out less (PRESS).
    pub fn fit(
        m: usize,
        pairs: &[(&[usize], f64)],
        odd: &[Vec<f64>],
        terms: Terms,
    ) -> Option<OddFit> {
        let triples = if m >= 3 {
            combinations(m, 3)
        } else {
            Vec::new()
        };
        if terms == Terms::AllTriples {
            return Self::fit_terms(m, pairs, odd, triples, false).map(|(g, _)| g);
        }
        let (g, press) = Self::fit_terms(m, pairs, odd, triples.clone(), true)?;
        if m < 5 || binomial(m, 5) > MAX_FIFTH_ORDER as f64 {
            return Some(g);
        }
        let mut wider = triples;
        wider.extend(combinations(m, 5));
        match Self::fit_terms(m, pairs, odd, wider, true) {
            Some((h, p)) if p < press => Some(h),
            _ => Some(g),
        }
    }

    /// The fit with `candidates`: every one in order, or (`greedy`) those chosen block by
    /// block, as many as minimise PRESS. Returns the fit and its PRESS.
    fn fit_terms(
        m: usize,
        pairs: &[(&[usize], f64)],
        odd: &[Vec<f64>],
        candidates: Vec<Vec<usize>>,
        greedy: bool,
    ) -> Option<(OddFit, f64)> {
        let n = pairs.len();
        let sw: Vec<f64> = pairs.iter().map(|(_, w)| w.sqrt()).collect();
        let x: Vec<Vec<f64>> = pairs.iter().map(|(z, _)| codes(m, z)).collect();
        let k = odd.first().map_or(0, Vec::len);
        let yw: Vec<Vec<f64>> = (0..k)
            .map(|t| (0..n).map(|i| sw[i] * odd[i][t]).collect())
            .collect();
        let column = |term: &[usize]| -> Vec<f64> {
            (0..n)
                .map(|i| sw[i] * term.iter().map(|&j| x[i][j]).product::<f64>())
                .collect()
        };
        let mut gram = Gram::new(yw, n);
        for j in 0..m {
            if !gram.push(column(&[j])) {
                return None;
            }
        }
        let mut chosen: Vec<Vec<usize>> = Vec::new();
        let mut kept = m;
        let mut leverage = gram.leverage.clone();
        let mut best = gram.press();
        match greedy {
            false => {
                for t in candidates {
                    if gram.push(column(&t)) {
                        chosen.push(t);
                    }
                }
                kept = m + chosen.len();
                leverage = gram.leverage.clone();
                best = gram.press();
            }
            true => {
                // Columns of every candidate, weighted, computed once.
                let pool: Vec<Vec<f64>> = candidates.iter().map(|t| column(t)).collect();
                let mut open = vec![true; pool.len()];
                // At most three quarters of the pairs as parameters.
                let cap = (3 * n / 4).max(m);
                let mut stale = 0;
                while m + chosen.len() < cap && stale < PATIENCE {
                    // Each block adds an eighth more terms, those most correlated with the
                    // residual (highest score first, ties by order).
                    let block = ((m + chosen.len()) / 8).max(2).min(cap - m - chosen.len());
                    let mut scored: Vec<(f64, usize)> = (0..pool.len())
                        .filter(|&c| open[c])
                        .map(|c| {
                            let s: f64 =
                                gram.residual.iter().map(|r| dot(&pool[c], r).powi(2)).sum();
                            (s, c)
                        })
                        .collect();
                    if scored.is_empty() {
                        break;
                    }
                    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                    for &(_, c) in scored.iter().take(block) {
                        open[c] = false;
                        if gram.push(pool[c].clone()) {
                            chosen.push(candidates[c].clone());
                        }
                    }
                    let press = gram.press();
                    if press < best * (1.0 - 1e-9) {
                        best = press;
                        kept = m + chosen.len();
                        leverage = gram.leverage.clone();
                        stale = 0;
                    } else {
                        stale += 1;
                    }
                }
            }
        }
        chosen.truncate(kept - m);
        let fit = OddFit {
            m,
            terms: chosen,
            coef: gram.coefficients(kept),
            leverage,
        };
        Some((fit, best))
    }

    /// The number of interaction terms the fit kept.
    #[cfg(test)]
    pub fn interactions(&self) -> usize {
        self.terms.len()
    }

    /// g(z) for every target at the coalition with `members`; g(1 − z) = −g(z).
    pub fn values(&self, members: &[usize]) -> Vec<f64> {
        let x = codes(self.m, members);
        self.coef
            .iter()
            .map(|c| {
                let linear: f64 = x.iter().zip(c).map(|(x, c)| x * c).sum();
                let rest: f64 = self
                    .terms
                    .iter()
                    .zip(&c[self.m..])
                    .map(|(t, c)| c * t.iter().map(|&j| x[j]).product::<f64>())
                    .sum();
                linear + rest
            })
            .collect()
    }

    /// g at the full coalition (g at the empty one is its negative).
    pub fn full(&self, t: usize) -> f64 {
        self.coef[t].iter().sum()
    }

    /// The exact Shapley values of g for target `t`: `2/|T|` of each odd term's coefficient
    /// to each of its features.
    pub fn shapley(&self, t: usize) -> Vec<f64> {
        let coef = &self.coef[t];
        let mut phi: Vec<f64> = coef[..self.m].iter().map(|a| 2.0 * a).collect();
        for (term, a) in self.terms.iter().zip(&coef[self.m..]) {
            for &j in term {
                phi[j] += 2.0 / term.len() as f64 * a;
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
        let g = OddFit::fit(m, &pairs, &odd, Terms::AllTriples).unwrap();
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

        // The greedy search finds the two third-order terms among the 20 (and the six
        // fifth-order ones) and is exact with them.
        let g = OddFit::fit(m, &pairs, &odd, Terms::Chosen).unwrap();
        assert!(
            g.interactions() >= 2 && g.interactions() < 10,
            "{}",
            g.interactions()
        );
        for (z, y) in sides.iter().zip(&odd) {
            assert!((g.values(z)[0] - y[0]).abs() < 1e-9);
        }
        for (a, b) in g.shapley(0).iter().zip(&want) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }
}
