//! The chosen-terms surrogate of the game's odd part: the linear terms and the odd
//! interactions (third order, and fifth) that an orthogonal matching pursuit over the pairs
//! picks, as many as the fit's leave-one-out error (PRESS) asks for, or every triple.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};

use super::design::{binomial, combinations};
use super::gram::Gram;

/// Leverages are capped below one, so a pair the fit passes through still counts.
pub(super) const MAX_LEVERAGE: f64 = 0.95;

/// Fifth-order candidates are offered while there are at most this many of them: chosen by
/// PRESS ([`Terms::Chosen`]), or by cross-validation ([`Surrogate::Selected`]).
const MAX_FIFTH_ORDER: usize = 256;
const MAX_FIFTH_ORDER_SELECTED: usize = 800;

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
    /// leave-one-out error of the fit (PRESS) asks for, from the triples or (while the
    /// fifth-order terms are few) from the triples and those, whichever PRESS prefers.
    Chosen,
    /// As `Chosen`, from the triples only.
    Triples,
    /// As `Chosen`, from the triples and the fifth-order terms: all of them while they are at
    /// most `MAX_FIFTH_ORDER_SELECTED` (twelve features), else those among the ten features
    /// with the largest linear terms.
    Fifths,
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
    /// The terms were chosen by a search.
    pub greedy: bool,
}

/// The chosen terms stop once the fit's leave-one-out error has not improved for this many
/// blocks.
const PATIENCE: usize = 3;

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
        let with_fifths = |mut terms: Vec<Vec<usize>>| {
            terms.extend(combinations(m, 5));
            terms
        };
        match terms {
            Terms::AllTriples => {
                return Self::fit_terms(m, pairs, odd, triples, false).map(|(g, _)| g);
            }
            Terms::Triples => return Self::fit_terms(m, pairs, odd, triples, true).map(|(g, _)| g),
            Terms::Fifths if m >= 5 && binomial(m, 5) <= MAX_FIFTH_ORDER_SELECTED as f64 => {
                return Self::fit_terms(m, pairs, odd, with_fifths(triples), true).map(|(g, _)| g);
            }
            Terms::Fifths if m >= 5 => {
                // Too many fifth-order terms to search: those of the features with the largest
                // linear terms, as many as make MAX_FIFTH_ORDER candidates.
                let (linear, _) = Self::fit_terms(m, pairs, odd, Vec::new(), false)?;
                let strength: Vec<f64> = (0..m)
                    .map(|j| linear.coef.iter().map(|c| c[j] * c[j]).sum())
                    .collect();
                let mut strongest: Vec<usize> = (0..m).collect();
                strongest.sort_by(|&a, &b| strength[b].total_cmp(&strength[a]).then(a.cmp(&b)));
                let k = (5..=m)
                    .take_while(|&k| binomial(k, 5) <= MAX_FIFTH_ORDER as f64)
                    .last()
                    .unwrap_or(5);
                strongest.truncate(k);
                strongest.sort_unstable();
                let mut terms = triples;
                terms.extend(
                    combinations(k, 5)
                        .into_iter()
                        .map(|t| t.iter().map(|&i| strongest[i]).collect()),
                );
                return Self::fit_terms(m, pairs, odd, terms, true).map(|(g, _)| g);
            }
            Terms::Fifths => return None,
            Terms::Chosen => {}
        }
        let (g, press) = Self::fit_terms(m, pairs, odd, triples.clone(), true)?;
        if m < 5 || binomial(m, 5) > MAX_FIFTH_ORDER as f64 {
            return Some(g);
        }
        match Self::fit_terms(m, pairs, odd, with_fifths(triples), true) {
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
        let mut gram = Gram::new(yw, n, (m + candidates.len()).min(n).max(m));
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
                let mut pool = Mat::<f64>::zeros(n, candidates.len());
                for (c, t) in candidates.iter().enumerate() {
                    pool.col_as_slice_mut(c).copy_from_slice(&column(t));
                }
                let mut open = vec![true; candidates.len()];
                // At most three quarters of the pairs as parameters.
                let cap = (3 * n / 4).max(m);
                let mut stale = 0;
                while m + chosen.len() < cap && stale < PATIENCE {
                    // Each block adds an eighth more terms, those most correlated with the
                    // residual (highest score first, ties by order).
                    let block = ((m + chosen.len()) / 8).max(2).min(cap - m - chosen.len());
                    let residual = Mat::from_fn(n, gram.residual.len(), |i, t| gram.residual[t][i]);
                    let mut correlation = Mat::<f64>::zeros(pool.ncols(), residual.ncols());
                    matmul(
                        correlation.as_mut(),
                        Accum::Replace,
                        pool.transpose(),
                        residual.as_ref(),
                        1.0,
                        Par::Seq,
                    );
                    let mut scored: Vec<(f64, usize)> = (0..pool.ncols())
                        .filter(|&c| open[c])
                        .map(|c| {
                            let s: f64 = (0..residual.ncols())
                                .map(|t| correlation[(c, t)].powi(2))
                                .sum();
                            (s, c)
                        })
                        .collect();
                    if scored.is_empty() {
                        break;
                    }
                    let by_score = |a: &(f64, usize), b: &(f64, usize)| {
                        b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
                    };
                    if scored.len() > block {
                        scored.select_nth_unstable_by(block, by_score);
                        scored.truncate(block);
                    }
                    scored.sort_by(by_score);
                    let picked: Vec<usize> = scored.iter().take(block).map(|&(_, c)| c).collect();
                    let columns: Vec<Vec<f64>> = picked
                        .iter()
                        .map(|&c| pool.col_as_slice(c).to_vec())
                        .collect();
                    for (&c, added) in picked.iter().zip(gram.push_block(&columns)) {
                        open[c] = false;
                        if added {
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
            greedy,
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
