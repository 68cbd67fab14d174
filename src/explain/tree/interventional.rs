//! Interventional TreeSHAP (Lundberg et al. 2020, "Independent TreeSHAP"): for each background
//! row `z`, one walk down each tree tracks the features at which the path follows `x` but not
//! `z` and the reverse, and each reached leaf shares its value among them in closed form.
//! Background rows that go the same way at every node of a tree play the same game, so they
//! are walked once, with their total weight.

use std::sync::Arc;

use rayon::prelude::*;

use super::{State, TreeShap, check_width};
use crate::explain::{Background, ExplainError, Link};
use crate::model::trees::{Node, TreeEnsemble};

impl TreeShap {
    /// Interventional TreeSHAP against `background`.
    pub fn interventional(
        trees: Arc<TreeEnsemble>,
        background: &Background,
        link: Link,
    ) -> Result<TreeShap, ExplainError> {
        Self::check(&trees, link)?;
        check_width(&trees, background.rows.ncols())?;
        let n_bg = background.len();
        let mut directions = vec![false; trees.nodes.len() * n_bg];
        directions
            .par_chunks_mut(n_bg)
            .zip(trees.nodes.par_iter())
            .for_each(|(dirs, node)| {
                if !node.is_leaf() {
                    for (d, z) in dirs.iter_mut().zip(background.rows.rows()) {
                        *d = node.goes_true(z[node.feature as usize]);
                    }
                }
            });
        let mut mean_raw = vec![0f64; trees.n_targets];
        for (z, &w) in background.rows.rows().into_iter().zip(&background.weights) {
            let z = z.to_vec();
            for (m, r) in mean_raw.iter_mut().zip(trees.raw(&z)) {
                *m += w * r;
            }
        }
        let groups = (0..trees.n_trees())
            .into_par_iter()
            .map(|tree| {
                let start = trees.roots[tree] as usize;
                let end = trees
                    .roots
                    .get(tree + 1)
                    .map_or(trees.nodes.len(), |&r| r as usize);
                let mut index: std::collections::HashMap<Vec<bool>, usize> = Default::default();
                let mut groups: Vec<(usize, f64)> = Vec::new();
                for (b, &w) in background.weights.iter().enumerate() {
                    let key: Vec<bool> = (start..end).map(|i| directions[i * n_bg + b]).collect();
                    let g = *index.entry(key).or_insert_with(|| {
                        groups.push((b, 0.0));
                        groups.len() - 1
                    });
                    groups[g].1 += w;
                }
                groups
            })
            .collect();
        Ok(TreeShap {
            trees,
            link,
            state: State::Interventional {
                directions,
                weights: background.weights.clone(),
                groups,
                mean_raw,
            },
        })
    }
}

/// Adds the attributions of row `x` to `phi` (features × targets, row-major): one walk per tree
/// and group of background rows, with `directions` and `weights` as prepared.
pub(super) fn attribute(
    t: &TreeEnsemble,
    x: &[f32],
    directions: &[bool],
    weights: &[f64],
    groups: &[Vec<(usize, f64)>],
    phi: &mut [f64],
) {
    let xdir: Vec<bool> = t
        .nodes
        .iter()
        .map(|n| !n.is_leaf() && n.goes_true(x[n.feature as usize]))
        .collect();
    let mut walk = Interventional {
        trees: t,
        xdir: &xdir,
        directions,
        n_bg: weights.len(),
        b: 0,
        weight: 0.0,
        state: vec![0u8; x.len()],
        xs: Vec::with_capacity(t.max_depth),
        zs: Vec::with_capacity(t.max_depth),
        coef: coefficients(t.max_depth + 1),
        phi,
    };
    let scale = t.leaf_scale();
    for (&root, groups) in t.roots.iter().zip(groups) {
        for &(b, w) in groups {
            walk.b = b;
            walk.weight = w * scale;
            walk.walk(root);
        }
    }
}

/// `coef[a][b] = (a−1)!·b!/(a+b)!` for a ≥ 1: the Shapley value of each of the `a` features a
/// leaf needs present, in a game where it also needs `b` features absent.
fn coefficients(n: usize) -> Vec<Vec<f64>> {
    let fact = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
    (0..=n)
        .map(|a| {
            (0..=n)
                .map(|b| {
                    if a == 0 {
                        0.0
                    } else {
                        fact(a - 1) * fact(b) / fact(a + b)
                    }
                })
                .collect()
        })
        .collect()
}

/// One walk per (tree, background row): features split differently by `x` and `z` are tracked
/// as "from x" (`xs`) or "from z" (`zs`), and each reached leaf shares its value among them.
struct Interventional<'a> {
    trees: &'a TreeEnsemble,
    xdir: &'a [bool],
    directions: &'a [bool],
    n_bg: usize,
    b: usize,
    weight: f64,
    /// Per feature: 0 not yet split on, 1 in `xs`, 2 in `zs`.
    state: Vec<u8>,
    xs: Vec<u32>,
    zs: Vec<u32>,
    coef: Vec<Vec<f64>>,
    phi: &'a mut [f64],
}

impl Interventional<'_> {
    fn walk(&mut self, i: u32) {
        let node: &Node = &self.trees.nodes[i as usize];
        if node.is_leaf() {
            let (a, b) = (self.xs.len(), self.zs.len());
            if a + b == 0 {
                return;
            }
            let k = self.trees.n_targets;
            for &(t, v) in self.trees.weights(node) {
                let v = v * self.weight;
                if a > 0 {
                    let c = v * self.coef[a][b];
                    for &f in &self.xs {
                        self.phi[f as usize * k + t as usize] += c;
                    }
                }
                if b > 0 {
                    let c = v * self.coef[b][a];
                    for &f in &self.zs {
                        self.phi[f as usize * k + t as usize] -= c;
                    }
                }
            }
            return;
        }
        let f = node.feature as usize;
        let (yes, no) = (node.yes, node.no);
        let next = |goes_true: bool| if goes_true { yes } else { no };
        let xd = self.xdir[i as usize];
        let zd = self.directions[i as usize * self.n_bg + self.b];
        match self.state[f] {
            1 => self.walk(next(xd)),
            2 => self.walk(next(zd)),
            _ if xd == zd => self.walk(next(xd)),
            _ => {
                self.state[f] = 1;
                self.xs.push(f as u32);
                self.walk(next(xd));
                self.xs.pop();
                self.state[f] = 2;
                self.zs.push(f as u32);
                self.walk(next(zd));
                self.zs.pop();
                self.state[f] = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_trees::{brute_shapley, random_ensemble, random_rows};
    use super::*;

    #[test]
    fn interventional_tree_shap_equals_enumeration() {
        let m = 10;
        let e = Arc::new(random_ensemble(m, 12, 5, 1));
        let data = random_rows(40, m, 2);
        let background =
            Background::pick(data.view(), 7, crate::explain::BackgroundMethod::First, 0).unwrap();
        let shap = TreeShap::interventional(e.clone(), &background, Link::Identity).unwrap();
        for r in [20, 27, 33] {
            let x = data.row(r).to_vec();
            let got = shap.attribution(data.row(r), &[0, 1]);
            for t in 0..2 {
                let want = brute_shapley(m, |s| {
                    background
                        .rows
                        .rows()
                        .into_iter()
                        .zip(&background.weights)
                        .map(|(z, w)| {
                            let h: Vec<f32> =
                                (0..m).map(|j| if s[j] { x[j] } else { z[j] }).collect();
                            w * e.raw(&h)[t]
                        })
                        .sum()
                });
                for (j, want_j) in want.iter().enumerate() {
                    assert!(
                        (got[t].values[j] - want_j).abs() < 1e-9,
                        "row {r} target {t} feature {j}: {} vs {}",
                        got[t].values[j],
                        want_j
                    );
                }
                let sum: f64 = got[t].values.iter().sum();
                assert!((got[t].base_value + sum - got[t].output_value).abs() < 1e-9);
                let base = [0.25, -1.0][t];
                assert!((got[t].output_value - base - e.raw(&x)[t]).abs() < 1e-12);
            }
        }
    }

    #[test]
    // `a` and `b` index the table both ways round.
    #[allow(clippy::needless_range_loop)]
    fn coefficients_are_shapley_weights_of_and_games() {
        let c = coefficients(4);
        assert_eq!(c[1][0], 1.0);
        assert_eq!(c[2][0], 0.5);
        assert_eq!(c[1][1], 0.5);
        assert!((c[2][1] - 1.0 / 6.0).abs() < 1e-15);
        // Efficiency of the AND game: a·c[a][b] − b·c[b][a] = 1 if b = 0 else 0.
        for a in 1..4 {
            for b in 1..4 {
                assert!((a as f64 * c[a][b] - b as f64 * c[b][a]).abs() < 1e-15);
            }
        }
    }
}
