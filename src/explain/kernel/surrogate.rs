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
//! `(v(z) − v(1 − z))/2`, by block Gram–Schmidt. Which terms: every triple
//! ([`Terms::AllTriples`], once the pairs reach 1.5 times their number), or those an
//! orthogonal matching pursuit picks block by block from the triples (and the fifth-order
//! terms where those are few), as many as minimise the fit's leave-one-out error (PRESS). The
//! chosen terms need only as many pairs as the game has interactions, not as many as it could
//! have. Its Shapley values are closed form, `φ_i(x_T) = 2/|T|` for `i ∈ T` and odd `|T|`. The
//! estimator then samples only the residual game `v − g`. The leverages `h` of the fit give
//! each pair's leave-one-out residual `e/(1 − h)`, which the standard errors use, so an
//! over-fitted surrogate does not make the intervals narrower than its real error.
//!
//! The default ([`Surrogate::Selected`]) cross-validates the chosen terms against the kriging
//! surrogate (`kriging`), which has a prior over every odd order instead of a choice of terms,
//! and keeps the one that predicts held-out pairs better.

use std::collections::HashMap;

use ndarray::Array2;

use super::super::Attribution;
use super::Surrogate;
use super::design::{binomial, complement};
use super::estimate::Estimator;
use super::kriging::{self, OddKriging};
use super::prior::Prior;
use super::terms::{MAX_LEVERAGE, OddFit, Terms, parameters};

/// Every triple ([`Terms::AllTriples`]) is fitted once the pairs (enumerated and sampled) reach this
/// multiple of its parameters; below it, the linear control variate alone. Measured on the
/// breast-cancer MLPs and boosted trees (BENCHMARKS.md): at 1.06–1.1 pairs a parameter the
/// surrogate's error was up to 30× the linear one's; from 1.8 it was 2.4–25× lower.
pub const SURROGATE_RATIO: f64 = 1.5;

/// The default's cross-validation uses at most this many pairs (two halves of 300).
const CV_PAIRS: usize = 600;

/// Below this many pairs a feature, the kriging fit's intervals are never narrower than the
/// linear control variate's.
const FEW_PAIRS_PER_FEATURE: usize = 8;

/// The chosen terms are fitted once the pairs exceed the linear terms by this many.
const MIN_SPARE_PAIRS: usize = 4;

/// Above this many parameters (20 features and more) the fit's O(pairs · p²) cost outgrows the
/// model calls it saves: no terms are chosen or fitted there (the kriging surrogate still
/// runs).
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
    if surrogate == Surrogate::Linear || members.is_empty() {
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
    // Past 19 features, where no terms are fitted, kriging with a noise variance of its own.
    let terms_fit = parameters(m) <= MAX_PARAMETERS;
    let surrogate = match surrogate {
        Surrogate::Sparse | Surrogate::Kriging | Surrogate::Selected
            if est.background_sampled && terms_fit =>
        {
            Surrogate::OddCubic
        }
        other => other,
    };
    let full: Vec<f64> = (0..k).map(|t| (v[[1, t]] - v[[0, t]]) / 2.0).collect();
    // A fit on the pairs `rows` (indices into `sides`); given a prior, for its predictions
    // alone.
    let kriging = |rows: &[usize], prior: Option<Prior>| -> Option<OddKriging> {
        if m > kriging::MAX_FEATURES
            || rows.len() < m + MIN_SPARE_PAIRS
            || rows.len() > kriging::MAX_PAIRS
        {
            return None;
        }
        let zs: Vec<&[usize]> = rows.iter().map(|&i| sides[i].0).collect();
        let y: Vec<Vec<f64>> = rows.iter().map(|&i| odd[i].clone()).collect();
        let explain = prior.is_none();
        OddKriging::fit(m, &zs, &y, &full, prior, est.background_sampled, explain)
    };
    let chosen = |rows: &[usize], terms: Terms| -> Option<Fitted> {
        if !terms_fit || rows.len() < m + MIN_SPARE_PAIRS {
            return None;
        }
        let pairs: Vec<(&[usize], f64)> = rows.iter().map(|&i| sides[i]).collect();
        let y: Vec<Vec<f64>> = rows.iter().map(|&i| odd[i].clone()).collect();
        OddFit::fit(m, &pairs, &y, terms).map(Fitted::Terms)
    };
    let all: Vec<usize> = (0..sides.len()).collect();
    let g = match surrogate {
        Surrogate::Linear => return None,
        Surrogate::OddCubic => {
            if !terms_fit || (sides.len() as f64) < SURROGATE_RATIO * parameters(m) as f64 {
                return None;
            }
            Fitted::Terms(OddFit::fit(m, &sides, &odd, Terms::AllTriples)?)
        }
        Surrogate::Sparse => chosen(&all, Terms::Chosen)?,
        Surrogate::Kriging => Fitted::kriging(kriging(&all, None)?, &all, sides.len()),
        // Past 19 features no terms are fitted: kriging alone, on at most its number of pairs
        // (evenly spread); the pairs it leaves out are held out already, and the residual
        // game still samples every pair.
        Surrogate::Selected if !terms_fit => {
            let part = kriging::spread(sides.len(), kriging::MAX_PAIRS);
            Fitted::kriging(kriging(&part, None)?, &part, sides.len())
        }
        Surrogate::Selected => {
            // Two-fold cross-validation on alternate pairs (so every stratum is split): each
            // fit on one half predicts the other. Leave-one-out errors would not do: those of
            // the chosen terms do not see the search that chose them. The kriging fits on the
            // halves keep the prior the whole fit chose.
            let fitted = kriging::spread(sides.len(), kriging::MAX_PAIRS);
            let whole = kriging(&fitted, None);
            let prior = whole.as_ref().map(|g| g.prior.clone());
            // At most CV_PAIRS pairs, evenly spread, take part: the choice does not need every
            // pair, and the fits on the halves would cost twice the final one.
            let part = kriging::spread(sides.len(), CV_PAIRS);
            let halves: [Vec<usize>; 2] = [0, 1].map(|h| {
                part.iter()
                    .enumerate()
                    .filter(|(i, _)| i % 2 == h)
                    .map(|(_, &p)| p)
                    .collect()
            });
            let held_out = |fit: &dyn Fn(&[usize]) -> Option<Fitted>| -> f64 {
                let mut error = 0.0;
                for h in 0..2 {
                    let Some(f) = fit(&halves[h]) else {
                        return f64::INFINITY;
                    };
                    for &i in &halves[1 - h] {
                        let (z, w) = sides[i];
                        let gz = f.values(z);
                        error += w * (0..k).map(|t| (odd[i][t] - gz[t]).powi(2)).sum::<f64>();
                    }
                }
                error
            };
            // The terms chosen from the triples, and from the triples and fifth-order terms
            // (those of the strongest features, when all would be too many to search).
            let mut candidates = vec![Terms::Triples];
            if m >= 5 {
                candidates.push(Terms::Fifths);
            }
            let kriging_error = match prior {
                Some(prior) => held_out(&|rows| {
                    kriging(rows, Some(prior.clone()))
                        .map(|g| Fitted::kriging(g, rows, sides.len()))
                }),
                None => f64::INFINITY,
            };
            let (terms, terms_error) = candidates
                .iter()
                .map(|&t| (t, held_out(&|rows| chosen(rows, t))))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((Terms::Triples, f64::INFINITY));
            let whole = whole.map(|g| Fitted::kriging(g, &fitted, sides.len()));
            match (whole, terms_error < kriging_error) {
                (Some(g), false) => g,
                (whole, _) => chosen(&all, terms).or(whole)?,
            }
        }
    };
    // The residual game v − g at the endpoints, the enumerated coalitions and the pairs.
    let mut r = v.clone();
    for t in 0..k {
        let full = g.full(t);
        r[[0, t]] += full;
        r[[1, t]] -= full;
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
        let res: [Vec<f64>; 2] = [
            (0..k).map(|t| pair[0][t] - gz[t]).collect(),
            (0..k).map(|t| pair[1][t] + gz[t]).collect(),
        ];
        // The pair's odd residual left out of the fit in place of its fitted one.
        let shift: Vec<f64> = (0..k)
            .map(|t| {
                let e = odd[enumerated_pairs + i][t] - gz[t];
                g.left_out(enumerated_pairs + i, t, e) - e
            })
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
    // Leave-one-out residuals do not see the search that chose the terms, so a fit that
    // nearly interpolates the pairs would claim too little error: the intervals are never
    // narrower than the linear control variate's. The same for kriging on few pairs, whose
    // relevances and decay are fitted to the pairs it leaves out (6 penguin columns at 40 of
    // 62 coalitions: 84% coverage).
    let tuned = match &g {
        Fitted::Terms(f) => f.greedy,
        Fitted::Kriging(..) => sides.len() < FEW_PAIRS_PER_FEATURE * m,
    };
    if tuned {
        let plain = est.attributions(v, members, values, values);
        for (a, p) in out.iter_mut().zip(plain) {
            if let (Some(err), Some(wide)) = (a.std_err.as_mut(), p.std_err) {
                err.iter_mut().zip(wide).for_each(|(e, w)| *e = e.max(w));
            }
        }
    }
    Some(out)
}

/// A fitted surrogate: chosen (or all) odd terms, or the kriging posterior of some of the
/// pairs (each pair's position in that fit, if it is in it).
enum Fitted {
    Terms(OddFit),
    Kriging(OddKriging, Vec<Option<usize>>),
}

impl Fitted {
    /// The kriging fit on the pairs `rows` of `pairs`.
    fn kriging(fit: OddKriging, rows: &[usize], pairs: usize) -> Self {
        let mut position = vec![None; pairs];
        for (j, &i) in rows.iter().enumerate() {
            position[i] = Some(j);
        }
        Fitted::Kriging(fit, position)
    }

    fn values(&self, members: &[usize]) -> Vec<f64> {
        match self {
            Fitted::Terms(f) => f.values(members),
            Fitted::Kriging(f, _) => f.values(members),
        }
    }

    fn full(&self, t: usize) -> f64 {
        match self {
            Fitted::Terms(f) => f.full(t),
            Fitted::Kriging(f, _) => f.full(t),
        }
    }

    fn shapley(&self, t: usize) -> Vec<f64> {
        match self {
            Fitted::Terms(f) => f.shapley(t),
            Fitted::Kriging(f, _) => f.shapley(t),
        }
    }

    /// Pair `i`'s odd residual for target `t` left out of the fit, from its fitted one `e`.
    fn left_out(&self, i: usize, t: usize, e: f64) -> f64 {
        match self {
            Fitted::Terms(f) => e / (1.0 - f.leverage[i].min(MAX_LEVERAGE)),
            Fitted::Kriging(f, position) => position[i].map_or(e, |j| f.left_out(j, t)),
        }
    }
}
