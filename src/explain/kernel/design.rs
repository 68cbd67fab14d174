//! Which coalitions KernelSHAP evaluates: the sizes it enumerates completely, and how the rest
//! of the budget is split between the sizes it samples.
//!
//! Coalitions are evaluated in complementary pairs `(z, 1 − z)`, so a *stratum* is a pair size
//! `s ≤ M/2` (the coalitions of sizes `s` and `M − s`). Each stratum gets a share of the pairs
//! in proportion to its allocation weight; a stratum whose share would reach its number of
//! pairs is enumerated instead and the rest of the budget is shared again ("water filling").
//! Singletons and their complements are always enumerated when the budget allows: they carry
//! the kernel's largest weight and give the control variate its first fit (without them, the
//! error at 3–4·M coalitions was 5× larger on an 8-feature MLP).
//! With leverage allocation (Musco & Witter 2025) every coalition size gets the same number of
//! samples — the leverage scores of the constrained Kernel regression are equal across sizes —
//! and within a size the pairs are drawn without replacement. With kernel allocation, as shap
//! does, sizes are enumerated smallest first while they fit and the remaining sizes share one
//! stratum whose pair sizes are drawn with the kernel's probabilities, with replacement.

use std::collections::HashSet;

use rand::Rng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

/// How the sampled pairs are shared between coalition sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allocation {
    /// Equal samples per coalition size, each size drawn without replacement (Leverage SHAP).
    Leverage,
    /// Pairs per size in proportion to the kernel's weight of the size, without replacement.
    Proportional,
    /// shap's design: sizes enumerated smallest first, the others drawn at random with the
    /// kernel's probabilities, coalitions with replacement.
    Kernel,
}

/// The kernel's distribution over coalition sizes: p[s] ∝ 1/(s(M − s)), s = 1..M−1.
pub(super) struct SizeWeights {
    pub m: usize,
    pub p: Vec<f64>,
}

impl SizeWeights {
    pub fn new(m: usize) -> Self {
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
    pub fn moments_of(&self, sizes: &[usize]) -> (f64, f64) {
        let m = self.m as f64;
        sizes.iter().fold((0.0, 0.0), |(a, c), &s| {
            let s_f = s as f64;
            (
                a + self.p[s] * s_f / m,
                c + self.p[s] * s_f * (s_f - 1.0) / (m * (m - 1.0)),
            )
        })
    }

    pub fn moments(&self, sizes: std::ops::Range<usize>) -> (f64, f64) {
        self.moments_of(&sizes.collect::<Vec<_>>())
    }

    /// The sizes of pair stratum `s`: `s` and `M − s` (one size when `2s = M`).
    fn sizes_of(&self, s: usize) -> Vec<usize> {
        if 2 * s == self.m {
            vec![s]
        } else {
            vec![s, self.m - s]
        }
    }
}

/// One sampled stratum: pairs whose smaller side has one of `sizes`.
#[derive(Clone, Debug)]
pub(super) struct Stratum {
    /// Smaller-side sizes `s ≤ M/2` and the probability of drawing each (they sum to 1).
    pub sizes: Vec<(usize, f64)>,
    /// The kernel's total weight of the stratum's coalition sizes.
    pub mass: f64,
    /// Number of distinct pairs when the stratum is one size and drawn without replacement;
    /// `None` for draws with replacement.
    pub population: Option<f64>,
    /// Pairs the whole budget gives this stratum.
    pub target: usize,
}

/// The design of one explanation: enumerated sizes, sampled strata, and the order in which the
/// sampled pairs are drawn (a stratum index per pair, every prefix about proportional).
pub(super) struct Design {
    pub enumerated: Vec<usize>,
    pub strata: Vec<Stratum>,
    pub order: Vec<usize>,
    /// Candidates per sampled pair ([`Drawer`]): [`CANDIDATES`], or one for shap's design.
    pub candidates: usize,
}

/// Candidates a sampled pair is chosen from. On the benchmark's 8-16-feature networks and
/// boosted trees (BENCHMARKS.md) sixteen cut the error 1.1-2.2 times at equal coalitions
/// against one (plain random draws); thirty-two did little better for twice the cost.
pub const CANDIDATES: usize = 16;

/// The first this many sampled pairs are balanced; the rest are drawn plainly, so the cost of
/// the choice (quadratic in the pairs) stays below a fraction of their model calls.
const BALANCED_PAIRS: usize = 1024;

/// Balanced draws up to this many features (their scores are sums of `(x·x_j)⁴ ≤ M⁴`).
const MAX_BALANCED_FEATURES: usize = 1024;

impl Design {
    /// The design for `m` features and `budget` coalitions besides the endpoints.
    pub fn new(sizes: &SizeWeights, budget: usize, allocation: Allocation) -> Design {
        let m = sizes.m;
        let pairs_of = |s: usize| -> f64 {
            let n: f64 = sizes.sizes_of(s).iter().map(|&x| binomial(m, x)).sum();
            n / 2.0
        };
        let mass_of = |s: usize| -> f64 { sizes.sizes_of(s).iter().map(|&x| sizes.p[x]).sum() };
        let mut enumerated = Vec::new();
        let mut strata = Vec::new();
        match allocation {
            Allocation::Kernel => {
                let mut remaining = budget as f64;
                let mut s = 1;
                while s <= m / 2 && 2.0 * pairs_of(s) <= remaining {
                    remaining -= 2.0 * pairs_of(s);
                    enumerated.extend(sizes.sizes_of(s));
                    s += 1;
                }
                if s <= m / 2 {
                    let rest: Vec<usize> = (s..=m / 2).collect();
                    let mass: f64 = rest.iter().map(|&x| mass_of(x)).sum();
                    strata.push(Stratum {
                        sizes: rest.iter().map(|&x| (x, mass_of(x) / mass)).collect(),
                        mass,
                        population: None,
                        target: ((remaining / 2.0) as usize).max(1),
                    });
                }
            }
            Allocation::Leverage | Allocation::Proportional => {
                let weight = |s: usize| match allocation {
                    // Equal coalitions per size: a middle stratum is one size, others two.
                    Allocation::Leverage => {
                        if 2 * s == m {
                            0.5
                        } else {
                            1.0
                        }
                    }
                    _ => mass_of(s),
                };
                let mut open: Vec<usize> = (1..=m / 2).collect();
                let mut pairs = (budget / 2) as f64;
                // Singletons and their complements carry the most weight and give the control
                // variate its first fit: enumerated whenever the budget allows.
                if pairs_of(1) <= pairs {
                    pairs -= pairs_of(1);
                    enumerated.extend(sizes.sizes_of(1));
                    open.retain(|&x| x != 1);
                }
                // Enumerate the stratum that its share overflows most, one at a time.
                loop {
                    let total: f64 = open.iter().map(|&s| weight(s)).sum();
                    let full = open
                        .iter()
                        .copied()
                        .filter(|&s| pairs_of(s) <= pairs * weight(s) / total)
                        .min_by(|&a, &b| {
                            (pairs_of(a) / weight(a)).total_cmp(&(pairs_of(b) / weight(b)))
                        });
                    let Some(s) = full else { break };
                    pairs -= pairs_of(s);
                    enumerated.extend(sizes.sizes_of(s));
                    open.retain(|&x| x != s);
                }
                let pairs = pairs as usize;
                if !open.is_empty() && pairs < 2 * open.len() {
                    // Too few pairs for two in every size: one stratum drawn at random.
                    let mass: f64 = open.iter().map(|&x| mass_of(x)).sum();
                    strata.push(Stratum {
                        sizes: open.iter().map(|&x| (x, mass_of(x) / mass)).collect(),
                        mass,
                        population: None,
                        target: pairs.max(1),
                    });
                } else if !open.is_empty() {
                    let total: f64 = open.iter().map(|&s| weight(s)).sum();
                    let spare = pairs - 2 * open.len();
                    let shares: Vec<f64> = open
                        .iter()
                        .map(|&s| spare as f64 * weight(s) / total)
                        .collect();
                    let targets = largest_remainder(&shares, spare);
                    for (&s, t) in open.iter().zip(targets) {
                        // Never more than the stratum holds (a full one would be enumerated).
                        let cap = (pairs_of(s) as usize).saturating_sub(1).max(2);
                        strata.push(Stratum {
                            sizes: vec![(s, 1.0)],
                            mass: mass_of(s),
                            population: Some(pairs_of(s)),
                            target: (t + 2).min(cap),
                        });
                    }
                }
            }
        }
        enumerated.sort_unstable();
        let order = interleave(&strata.iter().map(|s| s.target).collect::<Vec<_>>());
        Design {
            enumerated,
            strata,
            order,
            candidates: match allocation {
                Allocation::Kernel => 1,
                Allocation::Leverage | Allocation::Proportional => CANDIDATES,
            },
        }
    }

    /// Pairs sampled with the whole budget.
    pub fn max_pairs(&self) -> usize {
        self.order.len()
    }
}

/// Integer shares summing to `total`, each the floor of its real share plus one for the largest
/// remainders.
fn largest_remainder(shares: &[f64], total: usize) -> Vec<usize> {
    let mut out: Vec<usize> = shares.iter().map(|x| x.floor() as usize).collect();
    let given: usize = out.iter().sum();
    let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        (shares[b] - shares[b].floor()).total_cmp(&(shares[a] - shares[a].floor()))
    });
    for &i in by_remainder.iter().take(total.saturating_sub(given)) {
        out[i] += 1;
    }
    out
}

/// A sequence with `counts[i]` copies of each `i` in which every prefix is about proportional
/// (smooth weighted round robin), so a convergence stop after any round keeps the allocation.
fn interleave(counts: &[usize]) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let mut credit = vec![0i64; counts.len()];
    let mut out = Vec::with_capacity(total);
    for _ in 0..total {
        for (c, &n) in credit.iter_mut().zip(counts) {
            *c += n as i64;
        }
        let best = (0..counts.len()).max_by_key(|&i| (credit[i], std::cmp::Reverse(i)));
        let Some(best) = best else { break };
        credit[best] -= total as i64;
        out.push(best);
    }
    out
}

/// Draws the pairs of each stratum, remembering those of the strata drawn without replacement.
/// With more than one candidate (the design's `candidates`), a draw keeps, of that many drawn
/// at random from its size, the one least aligned with the pairs drawn so far: the smallest
/// `Σ_j (x·x_j)^4` in the ±1 coding, a function of the Hamming distances alone. Which candidate
/// wins does not depend on the features' order, so every pair is still uniform over its size
/// (the residual game's sample mean stays unbiased), but the pairs spread out: inclusions,
/// co-occurrences and the triples' products balance, as in a designed experiment.
pub(super) struct Drawer {
    m: usize,
    seen: Vec<HashSet<Vec<usize>>>,
    candidates: usize,
    /// The pairs drawn so far as bit sets (one side of each), when candidates compete.
    drawn: Vec<u64>,
}

impl Drawer {
    pub fn new(m: usize, design: &Design) -> Self {
        Drawer {
            m,
            seen: vec![HashSet::new(); design.strata.len()],
            // Past MAX_BALANCED_FEATURES the sums of fourth powers could overflow.
            candidates: match m <= MAX_BALANCED_FEATURES {
                true => design.candidates.max(1),
                false => 1,
            },
            drawn: Vec::new(),
        }
    }

    /// One pair of `stratum`, as the members of its smaller side (for a middle size, the side
    /// with feature 0).
    pub fn draw(&mut self, index: usize, stratum: &Stratum, rng: &mut ChaCha8Rng) -> Vec<usize> {
        let s = if stratum.sizes.len() == 1 {
            stratum.sizes[0].0
        } else {
            let mut u = rng.random::<f64>();
            let mut pick = stratum.sizes[stratum.sizes.len() - 1].0;
            for &(s, p) in &stratum.sizes {
                u -= p;
                if u <= 0.0 {
                    pick = s;
                    break;
                }
            }
            pick
        };
        let mut z = self.candidate(index, stratum, s, rng);
        if self.balancing() {
            let mut score = self.alignment(&z);
            for _ in 1..self.candidates {
                let other = self.candidate(index, stratum, s, rng);
                let other_score = self.alignment(&other);
                if other_score < score {
                    (z, score) = (other, other_score);
                }
            }
            self.drawn.extend(self.bits(&z));
        }
        if stratum.population.is_some() {
            self.seen[index].insert(z.clone());
        }
        z
    }

    /// A pair of size `s` at random, one not drawn before if the stratum is drawn without
    /// replacement.
    fn candidate(
        &self,
        index: usize,
        stratum: &Stratum,
        s: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<usize> {
        let m = self.m;
        loop {
            let mut z = sample(rng, m, s).into_vec();
            z.sort_unstable();
            if 2 * s == m && z.first() != Some(&0) {
                z = complement(m, &z);
            }
            if stratum.population.is_none() || !self.seen[index].contains(&z) {
                return z;
            }
        }
    }

    /// Whether candidates compete for the next pair: more than one, and fewer than
    /// [`BALANCED_PAIRS`] pairs drawn so far.
    fn balancing(&self) -> bool {
        self.candidates > 1 && self.drawn.len() < BALANCED_PAIRS * self.m.div_ceil(64)
    }

    fn bits(&self, z: &[usize]) -> Vec<u64> {
        let mut bits = vec![0u64; self.m.div_ceil(64)];
        for &j in z {
            bits[j / 64] |= 1 << (j % 64);
        }
        bits
    }

    /// `Σ_j (x·x_j)⁴` over the pairs drawn so far, in the ±1 coding: `x·x_j = M − 2d` with
    /// `d` the features the two differ in. Integer arithmetic throughout (exact, and a loop
    /// the compiler vectorises).
    fn alignment(&self, z: &[usize]) -> u64 {
        let x = self.bits(z);
        let m = self.m as i64;
        let fourth = |apart: u32| -> u64 {
            let t = m - 2 * i64::from(apart);
            (t * t * t * t) as u64
        };
        if let [x] = x[..] {
            return self
                .drawn
                .iter()
                .map(|d| fourth((d ^ x).count_ones()))
                .sum();
        }
        self.drawn
            .chunks_exact(x.len())
            .map(|d| fourth(d.iter().zip(&x).map(|(a, b)| (a ^ b).count_ones()).sum()))
            .sum()
    }
}

pub(super) fn complement(m: usize, members: &[usize]) -> Vec<usize> {
    let mut inside = vec![false; m];
    for &j in members {
        inside[j] = true;
    }
    (0..m).filter(|&j| !inside[j]).collect()
}

pub(super) fn binomial(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Every subset of 0..m of size s, in lexicographic order.
pub(super) fn combinations(m: usize, s: usize) -> Vec<Vec<usize>> {
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
    fn kernel_design_enumerates_small_sizes_first() {
        let w = SizeWeights::new(12);
        let d = Design::new(&w, 2 * 12 + 2048, Allocation::Kernel);
        assert_eq!(d.enumerated, vec![1, 2, 3, 4, 8, 9, 10, 11]);
        assert_eq!(d.strata.len(), 1);
        let sizes: Vec<usize> = d.strata[0].sizes.iter().map(|x| x.0).collect();
        assert_eq!(sizes, vec![5, 6]);
        assert_eq!(d.max_pairs(), (2072 - 24 - 132 - 440 - 990) / 2);
        assert!(
            Design::new(&SizeWeights::new(4), 100, Allocation::Kernel)
                .strata
                .is_empty()
        );
    }

    #[test]
    fn leverage_design_shares_pairs_equally_between_sizes() {
        // 12 features, 1036 pairs: sizes 1–3 (12 + 66 + 220 pairs) fit in their shares and are
        // enumerated; 738 pairs remain for sizes 4/8, 5/7 (two sizes each) and 6 (one size).
        let w = SizeWeights::new(12);
        let d = Design::new(&w, 2072, Allocation::Leverage);
        assert_eq!(d.enumerated, vec![1, 2, 3, 9, 10, 11]);
        let targets: Vec<(usize, usize)> =
            d.strata.iter().map(|s| (s.sizes[0].0, s.target)).collect();
        assert_eq!(targets, vec![(4, 295), (5, 295), (6, 148)]);
        assert_eq!(d.max_pairs(), 738);
        // Every prefix of the order is about proportional.
        let first: Vec<usize> = d.order[..10].to_vec();
        assert_eq!(first.iter().filter(|&&i| i == 2).count(), 2);
    }

    #[test]
    fn leverage_design_enumerates_singletons_first_on_a_small_budget() {
        // 8 features, 12 pairs: the 8 singleton pairs, then 4 pairs left for sizes 2, 3, 4 —
        // too few for two each, so they share one stratum drawn at random.
        let d = Design::new(&SizeWeights::new(8), 24, Allocation::Leverage);
        assert_eq!(d.enumerated, vec![1, 7]);
        assert_eq!(d.strata.len(), 1);
        assert_eq!(d.max_pairs(), 4);
        let d = Design::new(&SizeWeights::new(8), 64, Allocation::Leverage);
        assert_eq!(d.enumerated, vec![1, 7]);
        let targets: Vec<usize> = d.strata.iter().map(|s| s.target).collect();
        // Two pairs each, then 18 shared 2 : 2 : 1 (sizes 2/6 and 3/5 are two sizes, 4 one).
        assert_eq!(targets, vec![9, 9, 6]);
    }

    #[test]
    fn drawn_pairs_are_distinct_within_a_size() {
        let w = SizeWeights::new(6);
        let d = Design::new(&w, 30, Allocation::Leverage);
        let mut drawer = Drawer::new(6, &d);
        let mut rng = crate::explain::row_rng(1, 0);
        for (i, stratum) in d.strata.iter().enumerate() {
            let pairs: HashSet<Vec<usize>> = (0..stratum.target)
                .map(|_| drawer.draw(i, stratum, &mut rng))
                .collect();
            assert_eq!(pairs.len(), stratum.target);
        }
    }

    #[test]
    fn balanced_pairs_stay_uniform_and_spread_out() {
        // 10 features, 60 pairs of size 3: the balanced draws include every feature about
        // equally often (the spread of the inclusion counts well under plain draws'), yet over
        // seeds every pair, the first as the last, includes each feature with chance 3/10.
        let m = 10;
        let design = |candidates| {
            let mut d = Design::new(&SizeWeights::new(m), 160, Allocation::Leverage);
            d.candidates = candidates;
            d
        };
        let stratum = |d: &Design| d.strata.iter().position(|s| s.sizes[0].0 == 3).unwrap();
        let seeds = 400;
        let mut spread = [0.0; 2];
        let mut last = vec![0usize; m];
        for (c, candidates) in [1, CANDIDATES].into_iter().enumerate() {
            let d = design(candidates);
            let i = stratum(&d);
            let pairs = d.strata[i].target.min(60);
            for seed in 0..seeds {
                let mut drawer = Drawer::new(m, &d);
                let mut rng = crate::explain::row_rng(seed, 0);
                let mut counts = vec![0.0f64; m];
                for p in 0..pairs {
                    let z = drawer.draw(i, &d.strata[i], &mut rng);
                    z.iter().for_each(|&j| counts[j] += 1.0);
                    if c == 1 && p + 1 == pairs {
                        z.iter().for_each(|&j| last[j] += 1);
                    }
                }
                let mean = counts.iter().sum::<f64>() / m as f64;
                spread[c] += counts.iter().map(|n| (n - mean).powi(2)).sum::<f64>();
            }
        }
        assert!(spread[1] < 0.2 * spread[0], "{spread:?}");
        // Binomial(400, 0.3): standard deviation 9.2, so ±40 is over four of them.
        for n in last {
            assert!((n as f64 - 0.3 * seeds as f64).abs() < 40.0, "{n}");
        }
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
